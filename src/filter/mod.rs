//! CloudWatch Logs filter patterns, evaluated offline.
//!
//! The forensics engine has to count exactly the events a production metric filter,
//! subscription filter, `FilterLogEvents` call or Live Tail session would count, so this module
//! follows `reference/cloudwatch-filter.md` rule by rule rather than offering a "nicer" query
//! language. The pattern kind is decided once, from the trimmed pattern text (§1.6), and each
//! kind lives in its own submodule with its own compiled form: term patterns (the hot path,
//! evaluated on millions of lines) compile to owned `memmem` finders and never allocate per
//! event; regexes are validated against the AWS subset and translated for the `regex` crate;
//! JSON and space-delimited patterns compile to small expression trees. Nothing here uses
//! `crate::` paths so the module also builds as the root of a scratch crate.

mod delimited;
mod json;
mod lex;
mod regex_subset;
mod terms;
mod value;

use std::fmt;
use std::str::FromStr;

use self::lex::{column_at, is_ws};

/// AWS rejects longer patterns (API reference: `filterPattern` length 0–1024), so we do too.
pub(crate) const MAX_PATTERN_CHARS: usize = 1024;

/// A pattern CloudWatch would refuse, with the 1-based character column of the offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter pattern at column {column}: {message}")]
pub struct FilterError {
    pub column: usize,
    pub message: String,
}

impl FilterError {
    pub(crate) fn new(column: usize, message: impl Into<String>) -> Self {
        FilterError {
            column,
            message: message.into(),
        }
    }
}

/// A warning about a pattern that parses, but whose CloudWatch result is not certain or is
/// probably not what the author meant (spec §2.2, §2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diagnostic {
    pub column: usize,
    pub message: String,
}

/// Which of the five pattern forms of spec §1.6 a pattern is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternKind {
    /// Unstructured terms: `ERROR -DEBUG ?WARN "a phrase"`.
    Terms,
    /// A stand-alone `%regex%`.
    Regex,
    /// `{ $.selector op value ... }`.
    Json,
    /// `[field, field=value, ...]`.
    SpaceDelimited,
    /// Empty or whitespace-only pattern.
    MatchAll,
}

/// What a space-delimited pattern does with a message that has more fields than the pattern has
/// slots and no `...`. The spec leaves this open (§6.3, check C5), so both readings exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum TrailingFields {
    /// Reading (b), the spec's default: the last slot takes the rest of the line.
    #[default]
    FoldIntoLast,
    /// Reading (a): the field count must equal the slot count.
    NoMatch,
}

/// Switches for the points the spec marks as open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ParseOptions {
    /// Reject unquoted terms with characters outside `[A-Za-z0-9_]` instead of reading them
    /// literally (spec §2.6, "--strict").
    pub strict_bare_terms: bool,
    pub trailing_fields: TrailingFields,
}

/// A compiled filter pattern. Cheap to clone and share between threads.
#[derive(Debug, Clone)]
pub struct FilterPattern {
    source: String,
    matcher: Matcher,
    required_literal: Option<Box<[u8]>>,
    diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone)]
enum Matcher {
    MatchAll,
    Terms(terms::TermPattern),
    Regex(regex_subset::CwRegex),
    Json(json::JsonPattern),
    Delimited(delimited::DelimitedPattern),
}

impl FilterPattern {
    /// Compiles `pattern` with the spec's default readings of its open points.
    ///
    /// # Errors
    /// A [`FilterError`] for any pattern CloudWatch would refuse.
    pub fn parse(pattern: &str) -> Result<FilterPattern, FilterError> {
        Self::parse_with(pattern, ParseOptions::default())
    }

    /// Compiles `pattern`, choosing how the spec's open points are read.
    ///
    /// # Errors
    /// A [`FilterError`] for any pattern CloudWatch would refuse, and in strict mode for
    /// unquoted terms with punctuation.
    pub(crate) fn parse_with(
        pattern: &str,
        options: ParseOptions,
    ) -> Result<FilterPattern, FilterError> {
        if pattern.chars().count() > MAX_PATTERN_CHARS {
            return Err(FilterError::new(
                MAX_PATTERN_CHARS + 1,
                format!("a filter pattern may be at most {MAX_PATTERN_CHARS} characters long"),
            ));
        }
        let start = pattern.len() - pattern.trim_start_matches(is_ws).len();
        let end = pattern.trim_end_matches(is_ws).len().max(start);
        let trimmed = &pattern[start..end];
        // Unclosed `{`/`[` errors point at the last character, the one that should be the closer.
        let last_char_at = end - trimmed.chars().next_back().map_or(0, char::len_utf8);
        let mut diagnostics = Vec::new();

        let matcher = match trimmed.as_bytes().first() {
            None => Matcher::MatchAll,
            Some(b'{') => {
                if !trimmed.ends_with('}') || trimmed.len() < 2 {
                    return Err(FilterError::new(
                        column_at(pattern, last_char_at),
                        "if a filter pattern starts with '{' it must end with '}'",
                    ));
                }
                Matcher::Json(json::JsonPattern::parse(pattern, start, end)?)
            }
            Some(b'[') => {
                if !trimmed.ends_with(']') || trimmed.len() < 2 {
                    return Err(FilterError::new(
                        column_at(pattern, last_char_at),
                        "if a filter pattern starts with '[' it must end with ']'",
                    ));
                }
                Matcher::Delimited(delimited::DelimitedPattern::parse(
                    pattern,
                    start,
                    end,
                    options.trailing_fields,
                )?)
            }
            Some(b'%') if trimmed.len() >= 2 && trimmed.ends_with('%') => {
                Matcher::Regex(regex_subset::CwRegex::parse(pattern, start + 1, end - 1)?)
            }
            Some(_) => Matcher::Terms(terms::TermPattern::parse(
                pattern,
                start,
                end,
                options.strict_bare_terms,
                &mut diagnostics,
            )?),
        };

        let required_literal = match &matcher {
            Matcher::MatchAll | Matcher::Json(_) => None,
            Matcher::Terms(t) => t.required_literal().map(Box::from),
            Matcher::Regex(r) => r.required_literal().map(Box::from),
            Matcher::Delimited(d) => d.required_literal().map(Box::from),
        };

        Ok(FilterPattern {
            source: pattern.to_owned(),
            matcher,
            required_literal,
            diagnostics,
        })
    }

    /// Whether one log event's message matches, as CloudWatch would decide it.
    #[inline]
    #[must_use]
    pub fn matches(&self, message: &str) -> bool {
        match &self.matcher {
            Matcher::MatchAll => true,
            Matcher::Terms(t) => t.matches(message.as_bytes()),
            Matcher::Regex(r) => r.is_match(message),
            Matcher::Json(j) => j.matches(message),
            Matcher::Delimited(d) => d.matches(message),
        }
    }

    /// A literal every matching message contains, for `memchr::memmem` prefiltering of a large
    /// buffer. `None` when no single literal is required.
    #[must_use]
    pub fn required_literal(&self) -> Option<&[u8]> {
        self.required_literal.as_deref()
    }

    #[must_use]
    pub fn kind(&self) -> PatternKind {
        match self.matcher {
            Matcher::MatchAll => PatternKind::MatchAll,
            Matcher::Terms(_) => PatternKind::Terms,
            Matcher::Regex(_) => PatternKind::Regex,
            Matcher::Json(_) => PatternKind::Json,
            Matcher::Delimited(_) => PatternKind::SpaceDelimited,
        }
    }

    /// The pattern text exactly as given to `parse`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Warnings about points where CloudWatch's result may differ from the author's intent.
    #[must_use]
    pub(crate) fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl FromStr for FilterPattern {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FilterPattern::parse(s)
    }
}

impl fmt::Display for FilterPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, msg: &str) -> bool {
        FilterPattern::parse(p).unwrap().matches(msg)
    }

    #[test]
    fn filter_pattern_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<FilterPattern>();
    }

    #[test]
    fn kind_is_chosen_from_trimmed_first_char() {
        let k = |p: &str| FilterPattern::parse(p).unwrap().kind();
        assert_eq!(k(""), PatternKind::MatchAll);
        assert_eq!(k("  \t "), PatternKind::MatchAll);
        assert_eq!(k(" { $.a = 1 } "), PatternKind::Json);
        assert_eq!(k(" [a, b] "), PatternKind::SpaceDelimited);
        assert_eq!(k(" %ab% "), PatternKind::Regex);
        assert_eq!(k("ERROR"), PatternKind::Terms);
        assert_eq!(k("%"), PatternKind::Terms);
        assert_eq!(k("\" \""), PatternKind::Terms);
    }

    #[test]
    fn empty_and_whitespace_patterns_match_everything() {
        assert!(m("", ""));
        assert!(m("", "anything"));
        assert!(m("   ", "anything"));
        assert_eq!(FilterPattern::parse("").unwrap().required_literal(), None);
    }

    #[test]
    fn unclosed_json_pattern_is_rejected_with_aws_message() {
        let e = FilterPattern::parse("{ $.a = 1").unwrap_err();
        assert!(e.message.contains("must end with '}'"), "{e}");
        assert_eq!(e.column, 9);
    }

    #[test]
    fn unclosed_space_delimited_pattern_is_rejected() {
        assert!(FilterPattern::parse("[a, b").is_err());
    }

    #[test]
    fn pattern_longer_than_1024_chars_is_rejected() {
        let long = "a".repeat(1025);
        assert_eq!(FilterPattern::parse(&long).unwrap_err().column, 1025);
        assert!(FilterPattern::parse(&"a".repeat(1024)).is_ok());
    }

    #[test]
    fn error_column_counts_characters_not_bytes() {
        // "é" is two bytes but one column; the bad token `--x` starts at column 4.
        let e = FilterPattern::parse("é --x").unwrap_err();
        assert_eq!(e.column, 4, "{e}");
    }

    #[test]
    fn error_display_names_column() {
        let e = FilterPattern::parse("%(a)%").unwrap_err();
        assert_eq!(e.column, 2);
        assert!(e
            .to_string()
            .starts_with("invalid filter pattern at column 2: "));
    }

    #[test]
    fn display_and_from_str_round_trip_source() {
        let p: FilterPattern = " CONNECT -x ".parse().unwrap();
        assert_eq!(p.to_string(), " CONNECT -x ");
        assert_eq!(p.as_str(), " CONNECT -x ");
    }

    #[test]
    fn trailing_fields_option_switches_space_delimited_reading() {
        let strict = ParseOptions {
            trailing_fields: TrailingFields::NoMatch,
            ..ParseOptions::default()
        };
        let p = FilterPattern::parse_with("[w1=ERROR, w2]", strict).unwrap();
        assert!(p.matches("ERROR a"));
        assert!(!p.matches("ERROR a b c"));
        assert!(m("[w1=ERROR, w2]", "ERROR a b c"));
    }

    #[test]
    fn strict_option_rejects_unquoted_punctuation_terms() {
        let strict = ParseOptions {
            strict_bare_terms: true,
            ..ParseOptions::default()
        };
        let e = FilterPattern::parse_with("CONNECT -172.31", strict).unwrap_err();
        assert_eq!(e.column, 10);
        assert!(FilterPattern::parse_with("CONNECT -\"172.31\"", strict).is_ok());
        let lenient = FilterPattern::parse("CONNECT -172.31").unwrap();
        assert_eq!(lenient.diagnostics().len(), 1);
        assert_eq!(lenient.diagnostics()[0].column, 10);
    }
}
