//! Unstructured term patterns (`CONNECT -localhost ?WARN "a phrase"`), spec §2.
//!
//! This is the hot path: RDS audit logs run to millions of lines and most production filters
//! are term patterns. A term "occurs" when its bytes appear anywhere in the message (§2.3, a
//! case-sensitive substring test, not a token test), so every term compiles to an owned
//! `memmem::Finder` once and `matches` is nothing but finder calls over the message bytes:
//! no allocation, no UTF-8 work, no tokenising. The `?`-term rule of §2.2 (ignored as soon as
//! any plain or `-` term is present) is resolved at compile time into one of two modes.

use memchr::memmem::Finder;

use super::lex::{is_ws, Cursor};
use super::{Diagnostic, FilterError};

#[derive(Debug, Clone)]
pub(super) struct TermPattern {
    /// Plain terms, longest first: longer needles are rarer and faster to reject on.
    required: Vec<Finder<'static>>,
    excluded: Vec<Finder<'static>>,
    /// `?` terms; only consulted when `required` and `excluded` were both empty in the source.
    optional: Vec<Finder<'static>>,
    any_of_optional: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Required,
    Excluded,
    Optional,
}

impl TermPattern {
    /// Parses `src[start..end]` (already trimmed, not a JSON/delimited/regex pattern).
    pub(super) fn parse(
        src: &str,
        start: usize,
        end: usize,
        strict: bool,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<TermPattern, FilterError> {
        let mut cur = Cursor::new(src, start, end);
        let mut required: Vec<Vec<u8>> = Vec::new();
        let mut excluded = Vec::new();
        let mut optional = Vec::new();
        let mut first_optional = None;

        loop {
            cur.skip_ws();
            if cur.is_at_end() {
                break;
            }
            let item_start = cur.pos();
            let prefix = match cur.peek() {
                Some('-') => Prefix::Excluded,
                Some('?') => Prefix::Optional,
                _ => Prefix::Required,
            };
            if prefix != Prefix::Required {
                cur.bump();
                // `"ERROR" - "Exiting"` is documented, so whitespace may follow the prefix.
                cur.skip_ws();
                if cur.is_at_end() {
                    return Err(cur.error_at(item_start, "expected a term after the prefix"));
                }
            }
            let term_start = cur.pos();
            let term: Vec<u8> = match cur.peek() {
                Some('"') => {
                    let text = cur.quoted()?;
                    if cur.peek().is_some_and(|c| !is_ws(c)) {
                        return Err(cur.error("expected whitespace after the closing quote"));
                    }
                    // `" "` means "match everything" (§2.5), not "contains a space": an
                    // empty needle occurs in every message, which gives exactly that.
                    if text.chars().all(is_ws) {
                        Vec::new()
                    } else {
                        text.into_bytes()
                    }
                }
                Some(c @ ('-' | '?')) => {
                    return Err(cur.error(format!("a term cannot start with '{c}'; quote it")));
                }
                _ => {
                    let bare = cur.take_while(|c| !is_ws(c));
                    check_bare(bare, term_start, &cur, strict, diagnostics)?;
                    bare.as_bytes().to_vec()
                }
            };
            match prefix {
                Prefix::Required => required.push(term),
                Prefix::Excluded => excluded.push(term),
                Prefix::Optional => {
                    first_optional.get_or_insert(item_start);
                    optional.push(term);
                }
            }
        }

        let any_of_optional = required.is_empty() && excluded.is_empty();
        if !any_of_optional {
            if let Some(at) = first_optional {
                diagnostics.push(Diagnostic {
                    column: super::lex::column_at(src, at),
                    message: "'?' terms are ignored because the pattern also has plain or '-' \
                              terms (CloudWatch documents this; AWS CDK's anyTermGroup assumes \
                              otherwise)"
                        .into(),
                });
            }
            optional.clear();
        }
        // Empty needles (from `" "`) always occur; as required terms they test nothing.
        required.retain(|t| !t.is_empty());
        required.sort_by_key(|t| std::cmp::Reverse(t.len()));

        let finders = |v: Vec<Vec<u8>>| -> Vec<Finder<'static>> {
            v.iter().map(|t| Finder::new(t).into_owned()).collect()
        };
        Ok(TermPattern {
            required: finders(required),
            excluded: finders(excluded),
            optional: finders(optional),
            any_of_optional,
        })
    }

    #[inline]
    pub(super) fn matches(&self, hay: &[u8]) -> bool {
        if self.any_of_optional {
            return self.optional.iter().any(|f| f.find(hay).is_some());
        }
        self.required.iter().all(|f| f.find(hay).is_some())
            && !self.excluded.iter().any(|f| f.find(hay).is_some())
    }

    /// Longest plain term: every match contains all of them, and the longest filters best.
    pub(super) fn required_literal(&self) -> Option<&[u8]> {
        self.required.first().map(Finder::needle)
    }
}

/// Applies §2.6 to an unquoted term: AWS says such terms must be quoted, but what it does
/// without quotes is open, so the default reads them literally and warns, `strict` refuses.
fn check_bare(
    bare: &str,
    at: usize,
    cur: &Cursor<'_>,
    strict: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<(), FilterError> {
    // The docs only allow regex stand-alone or inside JSON/space-delimited patterns, so a
    // `%...%` among terms is a mistake AWS would not read as a literal either.
    if bare.len() >= 2 && bare.starts_with('%') && bare.ends_with('%') {
        return Err(cur.error_at(
            at,
            "a regular expression must be the whole pattern; it cannot be combined with terms",
        ));
    }
    if let Some(bad) = bare
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        let message = format!(
            "unquoted term `{bare}` contains '{}'; CloudWatch requires quotes here and its \
             result may differ",
            bad.1
        );
        if strict {
            return Err(cur.error_at(at, message));
        }
        diagnostics.push(Diagnostic {
            column: super::lex::column_at(cur.src(), at),
            message,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::FilterPattern;

    fn m(p: &str, msg: &str) -> bool {
        FilterPattern::parse(p).unwrap().matches(msg)
    }

    #[test]
    fn term_matches_as_case_sensitive_substring_inside_words() {
        assert!(m("CONNECT", "x,DISCONNECT,y"));
        assert!(m("CONNECT", "x,FAILED_CONNECT,y"));
        assert!(m("ERROR", "Exiting with ERRORCODE: -1"));
        assert!(m("Exception", "Caught IllegalArgumentException"));
        assert!(!m("ERROR", "error"));
    }

    #[test]
    fn plain_terms_are_anded_in_any_order() {
        assert!(m("ARGUMENTS ERROR", "[ERROR 419] MISSING ARGUMENTS"));
        assert!(!m("ARGUMENTS ERROR", "[ERROR 419] MISSING"));
    }

    #[test]
    fn exclusion_may_be_separated_from_its_term_by_space() {
        assert!(!m("\"ERROR\" - \"Exiting\"", "ERROR Exiting"));
        assert!(m("\"ERROR\" - \"Exiting\"", "ERROR staying"));
        assert!(!m("admin CONNECT - rdsadmin", "rdsadmin,CONNECT"));
    }

    #[test]
    fn exclusion_only_pattern_matches_events_without_the_term() {
        assert!(m("-ERROR", "INFO ok"));
        assert!(!m("-ERROR", "ERROR bad"));
    }

    #[test]
    fn question_terms_are_or_when_alone() {
        assert!(m("?ERROR ?WARN", "WARN x"));
        assert!(!m("?ERROR ?WARN", "INFO x"));
        assert!(m("? ERROR", "ERROR"));
    }

    #[test]
    fn question_terms_are_ignored_next_to_plain_or_excluded_terms() {
        let p = FilterPattern::parse("?ERROR ?ARGUMENTS REQUEST").unwrap();
        assert!(p.matches("REQUEST ok"));
        assert!(!p.matches("ERROR ARGUMENTS"));
        assert_eq!(p.diagnostics().len(), 1);
        assert!(m("?ERROR -DEBUG", "INFO"));
        // CDK's anyTermGroup reading would match this; the documented rule does not.
        assert!(!m(
            "?\"ERROR\" \"MainThread\" ?\"WARN\" \"Deadlock\"",
            "ERROR MainThread"
        ));
    }

    #[test]
    fn quoted_phrase_is_one_literal_with_spaces() {
        assert!(m("\"INTERNAL SERVER ERROR\"", "500 INTERNAL SERVER ERROR"));
        assert!(!m("\"INTERNAL SERVER ERROR\"", "INTERNAL ERROR: SERVER"));
        assert!(m("-\"172.31\" CONNECT", "CONNECT from 10.0.0.1"));
        assert!(!m("-\"172.31\" CONNECT", "CONNECT from 172.31.0.1"));
    }

    #[test]
    fn quoted_term_unescapes_quote_and_backslash() {
        assert!(m(r#""say \"hi\"""#, r#"they say "hi" now"#));
        assert!(m(r#""a\\b""#, r"a\b"));
    }

    #[test]
    fn whitespace_only_quoted_term_matches_everything() {
        assert!(m("\" \"", "NoSpacesHere"));
        assert!(m("\"\"", "x"));
        assert!(m("?\" \" ?zzz", "x"));
        // As a plain term it still switches off `?` terms.
        assert!(m("\" \" ?zzz", "x"));
        assert_eq!(
            FilterPattern::parse("\" \"").unwrap().required_literal(),
            None
        );
    }

    #[test]
    fn unquoted_punctuation_term_is_literal_and_warned() {
        let p = FilterPattern::parse("CONNECT -localhost -172.31").unwrap();
        assert!(!p.matches("app,172.31.4.9,CONNECT"));
        assert!(p.matches("app,10.1.2.3,CONNECT"));
        assert!(m("a-b", "x a-b y"));
        assert!(!m("a-b", "a b"));
        assert_eq!(p.diagnostics().len(), 1);
    }

    #[test]
    fn dangling_prefix_is_rejected_at_the_prefix() {
        assert_eq!(FilterPattern::parse("ERROR -").unwrap_err().column, 7);
        assert_eq!(FilterPattern::parse("ERROR ?  ").unwrap_err().column, 7);
    }

    #[test]
    fn double_prefix_is_rejected() {
        assert_eq!(FilterPattern::parse("a --b").unwrap_err().column, 4);
        assert_eq!(FilterPattern::parse("-?b").unwrap_err().column, 2);
    }

    #[test]
    fn unterminated_or_glued_quote_is_rejected() {
        assert_eq!(FilterPattern::parse("ok \"abc").unwrap_err().column, 4);
        assert_eq!(FilterPattern::parse("\"abc\"def").unwrap_err().column, 6);
    }

    #[test]
    fn regex_cannot_be_mixed_with_terms() {
        assert_eq!(FilterPattern::parse("ERROR %a.b%").unwrap_err().column, 7);
        assert!(m("ERROR \"%a.b%\"", "ERROR %a.b%"));
    }

    #[test]
    fn required_literal_is_longest_plain_term() {
        let p = FilterPattern::parse("CONNECT -localhost -\"172.31\" app").unwrap();
        assert_eq!(p.required_literal(), Some(&b"CONNECT"[..]));
        assert_eq!(
            FilterPattern::parse("?a ?b").unwrap().required_literal(),
            None
        );
        assert_eq!(FilterPattern::parse("-a").unwrap().required_literal(), None);
    }

    #[test]
    fn non_ascii_terms_match_bytewise() {
        assert!(m("überprüft", "Nutzer überprüft"));
        assert!(!m("Überprüft", "Nutzer überprüft"));
    }
}
