//! The CloudWatch regex subset (`%...%`, spec §4), translated for the `regex` crate.
//!
//! AWS accepts a small, explicit dialect: a character whitelist with no parentheses, ASCII-only
//! `\d \s \w`, `{,n}` bounds and `\xhh` escapes. Handing the text straight to `regex` would
//! both accept patterns AWS refuses (groups, lookalike escapes, Unicode) and read some accepted
//! ones differently (Unicode `\w`, `{,n}`). So the body is first checked against the whitelist,
//! then parsed into a tiny AST of the documented operators, and only that AST is printed as a
//! `regex` pattern in which every literal is spelled unambiguously. The same AST yields the
//! literal that every match must contain, for buffer prefiltering.

use std::fmt::Write as _;

use super::lex::Cursor;
use super::FilterError;

#[derive(Debug, Clone)]
pub(super) struct CwRegex {
    regex: regex::Regex,
    literal: Option<Vec<u8>>,
}

impl CwRegex {
    /// Compiles the regex body `src[start..end]` (between the two `%`).
    pub(super) fn parse(src: &str, start: usize, end: usize) -> Result<CwRegex, FilterError> {
        let cur = Cursor::new(src, start, end);
        if start == end {
            return Err(cur.error_at(start, "empty regular expression"));
        }
        check_whitelist(&cur)?;
        let branches = Parser { cur }.parse()?;
        let mut out = String::new();
        for (i, branch) in branches.iter().enumerate() {
            if i > 0 {
                out.push('|');
            }
            for piece in branch {
                piece.write(&mut out);
            }
        }
        let regex = regex::Regex::new(&out).map_err(|e| {
            let reason = match e {
                regex::Error::CompiledTooBig(_) => "regular expression is too large".to_string(),
                other => format!("regular expression rejected: {other}"),
            };
            FilterError::new(super::lex::column_at(src, start), reason)
        })?;
        let literal = if branches.len() == 1 {
            longest_literal(&branches[0])
        } else {
            None
        };
        Ok(CwRegex { regex, literal })
    }

    /// Unanchored search, as AWS documents (`%AUTHORIZED%` matches `UNAUTHORIZED`).
    #[inline]
    pub(super) fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    pub(super) fn required_literal(&self) -> Option<&[u8]> {
        self.literal.as_deref()
    }
}

/// Rejects, before any parsing, every character AWS does not list (§4 table). Space is allowed
/// because a documented example uses it.
fn check_whitelist(cur: &Cursor<'_>) -> Result<(), FilterError> {
    let base = cur.pos();
    for (i, c) in cur.rest().char_indices() {
        let ok = c.is_ascii_alphanumeric()
            || matches!(
                c,
                ':' | '_' | '#' | '=' | '@' | '/' | ';' | ',' | '-' | ' ' // symbols
                    | '^' | '$' | '?' | '[' | ']' | '{' | '}' | '|' | '\\' | '*' | '+' | '.'
            );
        if !ok {
            let msg = match c {
                '(' | ')' => "parentheses are not supported in CloudWatch regular expressions; \
                              use \\x28 and \\x29 for literal parentheses"
                    .to_string(),
                c if !c.is_ascii() => {
                    format!("multi-byte character '{c}' is not supported in a regular expression")
                }
                c => format!("character {c:?} is not allowed in a CloudWatch regular expression"),
            };
            return Err(cur.error_at(base + i, msg));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Perl {
    Digit,
    Space,
    Word,
}

impl Perl {
    /// ASCII members as `regex` class items; the crate's own `\d \s \w` are Unicode-aware.
    fn items(self) -> &'static str {
        match self {
            Perl::Digit => "0-9",
            Perl::Space => r"\t\n\x0B\x0C\r ",
            Perl::Word => "0-9A-Za-z_",
        }
    }
}

#[derive(Debug, Clone)]
enum ClassItem {
    Char(char),
    Range(char, char),
    Perl(Perl, bool),
}

#[derive(Debug, Clone)]
enum Atom {
    Char(char),
    Any,
    Start,
    End,
    Perl(Perl, bool),
    Class {
        negated: bool,
        items: Vec<ClassItem>,
    },
}

#[derive(Debug, Clone, Copy)]
struct Quant {
    min: u32,
    max: Option<u32>,
}

#[derive(Debug, Clone)]
struct Piece {
    atom: Atom,
    quants: Vec<Quant>,
}

/// Prints a literal character so no `regex` flag or context can reinterpret it.
fn write_char(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:X}}}", c as u32);
    }
}

impl Piece {
    fn write(&self, out: &mut String) {
        let mut atom = String::new();
        match &self.atom {
            Atom::Char(c) => write_char(&mut atom, *c),
            Atom::Any => atom.push('.'),
            Atom::Start => atom.push('^'),
            Atom::End => atom.push('$'),
            Atom::Perl(p, negated) => {
                atom.push_str(if *negated { "[^" } else { "[" });
                atom.push_str(p.items());
                atom.push(']');
            }
            Atom::Class { negated, items } => {
                atom.push_str(if *negated { "[^" } else { "[" });
                for item in items {
                    match item {
                        ClassItem::Char(c) => write_char(&mut atom, *c),
                        ClassItem::Range(a, b) => {
                            write_char(&mut atom, *a);
                            atom.push('-');
                            write_char(&mut atom, *b);
                        }
                        // `regex` unions nested classes, which expresses `[a\D]` exactly.
                        ClassItem::Perl(p, neg) => {
                            atom.push_str(if *neg { "[^" } else { "[" });
                            atom.push_str(p.items());
                            atom.push(']');
                        }
                    }
                }
                atom.push(']');
            }
        }
        // Stacked quantifiers (`a*?`, `a+*`) nest; `regex` would read `*?` as lazy, which
        // gives the same yes/no answer, but refuses `+*`, so nest explicitly.
        for (i, q) in self.quants.iter().enumerate() {
            if i > 0 {
                atom = format!("(?:{atom})");
            }
            match (q.min, q.max) {
                (0, Some(1)) => atom.push('?'),
                (0, None) => atom.push('*'),
                (1, None) => atom.push('+'),
                (m, None) => _ = write!(atom, "{{{m},}}"),
                (m, Some(n)) if m == n => _ = write!(atom, "{{{m}}}"),
                (m, Some(n)) => _ = write!(atom, "{{{m},{n}}}"),
            }
        }
        out.push_str(&atom);
    }
}

/// Longest run of literal characters that every match contains: adjacent unquantified
/// characters, plus one copy of a character whose quantifier demands at least one.
fn longest_literal(branch: &[Piece]) -> Option<Vec<u8>> {
    let mut best = String::new();
    let mut run = String::new();
    for piece in branch {
        match (&piece.atom, piece.quants.as_slice()) {
            (Atom::Char(c), []) => run.push(*c),
            (Atom::Char(c), qs) if qs.iter().all(|q| q.min >= 1) => {
                run.push(*c);
                if run.len() > best.len() {
                    best = std::mem::take(&mut run);
                }
                run.clear();
            }
            _ => {
                if run.len() > best.len() {
                    best = std::mem::take(&mut run);
                }
                run.clear();
            }
        }
    }
    if run.len() > best.len() {
        best = run;
    }
    (!best.is_empty()).then(|| best.into_bytes())
}

struct Parser<'a> {
    cur: Cursor<'a>,
}

impl Parser<'_> {
    fn parse(mut self) -> Result<Vec<Vec<Piece>>, FilterError> {
        let mut branches: Vec<Vec<Piece>> = vec![Vec::new()];
        while let Some(c) = self.cur.peek() {
            let at = self.cur.pos();
            self.cur.bump();
            let branch = branches.last_mut().expect("at least one branch");
            let atom = match c {
                '|' => {
                    branches.push(Vec::new());
                    continue;
                }
                '?' | '*' | '+' | '{' => {
                    let q = match c {
                        '?' => Quant {
                            min: 0,
                            max: Some(1),
                        },
                        '*' => Quant { min: 0, max: None },
                        '+' => Quant { min: 1, max: None },
                        _ => self.bounds(at)?,
                    };
                    match branch.last_mut() {
                        Some(p) if !matches!(p.atom, Atom::Start | Atom::End) => p.quants.push(q),
                        _ => {
                            return Err(self
                                .cur
                                .error_at(at, format!("nothing to repeat before '{c}'")))
                        }
                    }
                    continue;
                }
                '^' => Atom::Start,
                '$' => Atom::End,
                '.' => Atom::Any,
                '[' => self.class(at)?,
                '\\' => match self.escape(at)? {
                    ClassItem::Char(c) => Atom::Char(c),
                    ClassItem::Perl(p, n) => Atom::Perl(p, n),
                    ClassItem::Range(..) => unreachable!("escape never yields a range"),
                },
                // An unmatched `]` or `}` has nothing to close; read it as itself.
                c => Atom::Char(c),
            };
            branch.push(Piece {
                atom,
                quants: Vec::new(),
            });
        }
        Ok(branches)
    }

    /// `{m}`, `{m,}`, `{,n}`, `{m,n}` after the `{` at `at`.
    fn bounds(&mut self, at: usize) -> Result<Quant, FilterError> {
        let num = |s: &str| -> Option<Option<u32>> {
            if s.is_empty() {
                Some(None)
            } else {
                s.parse::<u32>().ok().map(Some)
            }
        };
        let malformed = |cur: &Cursor<'_>| {
            cur.error_at(
                at,
                "malformed repetition; expected {m}, {m,}, {,n} or {m,n}",
            )
        };
        let Some(close) = self.cur.rest().find('}') else {
            return Err(malformed(&self.cur));
        };
        let inner = &self.cur.rest()[..close];
        let q = match inner.split_once(',') {
            None => match num(inner) {
                Some(Some(m)) => Quant {
                    min: m,
                    max: Some(m),
                },
                _ => return Err(malformed(&self.cur)),
            },
            Some((a, b)) => match (num(a), num(b)) {
                (Some(None), Some(None)) | (None, _) | (_, None) => {
                    return Err(malformed(&self.cur))
                }
                (Some(min), Some(max)) => Quant {
                    min: min.unwrap_or(0),
                    max,
                },
            },
        };
        if q.max.is_some_and(|n| n < q.min) {
            return Err(self
                .cur
                .error_at(at, "repetition minimum is larger than its maximum"));
        }
        self.cur.advance(close + 1);
        Ok(q)
    }

    /// The escape whose `\` is at `at`; the cursor is just past the backslash.
    fn escape(&mut self, at: usize) -> Result<ClassItem, FilterError> {
        let Some(c) = self.cur.bump() else {
            return Err(self.cur.error_at(at, "trailing backslash"));
        };
        Ok(match c {
            'd' => ClassItem::Perl(Perl::Digit, false),
            'D' => ClassItem::Perl(Perl::Digit, true),
            's' => ClassItem::Perl(Perl::Space, false),
            'S' => ClassItem::Perl(Perl::Space, true),
            'w' => ClassItem::Perl(Perl::Word, false),
            'W' => ClassItem::Perl(Perl::Word, true),
            'x' => {
                let hex = self
                    .cur
                    .rest()
                    .get(..2)
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                let Some(hex) = hex else {
                    return Err(self
                        .cur
                        .error_at(at, "\\x must be followed by two hex digits"));
                };
                let v = u8::from_str_radix(hex, 16).expect("checked hex");
                if !v.is_ascii() {
                    return Err(self
                        .cur
                        .error_at(at, "\\x escapes must name an ASCII character"));
                }
                self.cur.bump();
                self.cur.bump();
                ClassItem::Char(char::from(v))
            }
            // "\ escapes an operator": any listed non-alphanumeric character may be escaped.
            c if !c.is_ascii_alphanumeric() => ClassItem::Char(c),
            c => {
                return Err(self.cur.error_at(
                    at,
                    format!(
                    "unsupported escape '\\{c}'; CloudWatch supports \\d \\D \\s \\S \\w \\W \\xhh"
                ),
                ))
            }
        })
    }

    /// A bracket class whose `[` is at `at`. As in POSIX, a `]` right after `[` or `[^` is a
    /// literal member, and `-` first or last is literal.
    fn class(&mut self, at: usize) -> Result<Atom, FilterError> {
        let negated = self.cur.eat("^");
        let mut items: Vec<ClassItem> = Vec::new();
        let mut first = true;
        loop {
            let item_at = self.cur.pos();
            let item = match self.cur.bump() {
                None => return Err(self.cur.error_at(at, "unterminated character class")),
                Some(']') if !first => break,
                Some('\\') => self.escape(item_at)?,
                Some(c) => ClassItem::Char(c),
            };
            first = false;
            // A range needs a single character on both sides of `-`, and `-]` is a literal.
            if let ClassItem::Char(lo) = item {
                if self.cur.starts_with("-")
                    && !self.cur.starts_with("-]")
                    && self.cur.rest().len() > 1
                {
                    self.cur.bump();
                    let hi_at = self.cur.pos();
                    let hi = match self.cur.bump() {
                        Some('\\') => self.escape(hi_at)?,
                        Some(c) => ClassItem::Char(c),
                        None => return Err(self.cur.error_at(at, "unterminated character class")),
                    };
                    let ClassItem::Char(hi) = hi else {
                        return Err(self
                            .cur
                            .error_at(hi_at, "a range cannot end in a class escape"));
                    };
                    if hi < lo {
                        return Err(self
                            .cur
                            .error_at(item_at, format!("invalid range {lo}-{hi}")));
                    }
                    items.push(ClassItem::Range(lo, hi));
                    continue;
                }
            }
            items.push(item);
        }
        Ok(Atom::Class { negated, items })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FilterPattern, PatternKind};

    fn m(p: &str, msg: &str) -> bool {
        let p = FilterPattern::parse(p).unwrap();
        assert_eq!(p.kind(), PatternKind::Regex);
        p.matches(msg)
    }

    fn err_col(p: &str) -> usize {
        FilterPattern::parse(p).unwrap_err().column
    }

    #[test]
    fn regex_search_is_unanchored() {
        assert!(m("%AUTHORIZED%", "UNAUTHORIZED REQUEST"));
    }

    #[test]
    fn anchors_bind_to_whole_message() {
        assert!(!m("%^[hc]at%", "the cat"));
        assert!(m("%[hc]at$%", "the cat"));
        assert!(!m("%[hc]at$%", "the cat\n"));
    }

    #[test]
    fn unescaped_dot_matches_any_character() {
        assert!(m("%10.10.0.1%", "10010,051"));
        assert!(!m(r"%10\.10\.0\.1%", "10010,051"));
    }

    #[test]
    fn alternation_splits_whole_branches() {
        assert!(m("%[Ee]rror|[Ff]ail%", "Fail: x"));
        assert!(m("%gra|ey%", "grey"));
        assert!(m(
            "%^starting|^initializing|^shutting down%",
            "shutting down now"
        ));
        assert!(!m("%^starting|^shutting down%", "now shutting down"));
    }

    #[test]
    fn repetition_operators_follow_the_documented_table() {
        assert!(m("%colou?r%", "color"));
        assert!(!m("%ab+c%", "ac"));
        assert!(m("%a{3,5}%", "aaaa"));
        assert!(!m("%^a{3,5}$%", "aa"));
        assert!(m("%^a{,2}b$%", "aab"));
        assert!(!m("%^a{,2}b$%", "aaab"));
        assert!(m("%^a{2,}$%", "aaaaa"));
        assert!(m("%^a{2}$%", "aa"));
        assert!(m("%^a+*$%", "aaa"));
    }

    #[test]
    fn perl_classes_are_ascii_only() {
        assert!(m(r"%^\d+$%", "0123"));
        assert!(!m(r"%\d%", "٣"));
        assert!(!m(r"%\w%", "é"));
        assert!(m(r"%\W%", "é"));
        assert!(m(r"%a\sb%", "a\tb"));
        assert!(m(r"%^[\d\s]+$%", "1 2"));
        assert!(m(r"%^[a\D]$%", "x"));
        assert!(!m(r"%^[a\D]$%", "5"));
    }

    #[test]
    fn hex_escape_gives_literal_parenthesis() {
        assert!(m(r"%\x28%", "f(x)"));
        assert!(m(r"%f\x28x\x29%", "f(x)"));
    }

    #[test]
    fn negated_class_and_literal_class_members() {
        assert!(m("%[^c]at%", "bat"));
        assert!(!m("%^[^c]at%", "cat"));
        assert!(m("%[]]%", "a]b"));
        assert!(m("%[a-]%", "-"));
        assert!(m("%[#@/;,:=_]%", "@"));
        assert!(m(r"%[\]]%", "]"));
    }

    #[test]
    fn symbols_are_literal() {
        assert!(m("%,CONNECT,%", "a,CONNECT,b"));
        assert!(!m("%,CONNECT,%", "a,DISCONNECT,b"));
        assert!(m("%#x=@/;%", "a#x=@/;"));
        assert!(m(r"%a\*b%", "a*b"));
    }

    #[test]
    fn parentheses_are_refused_at_their_column() {
        assert_eq!(err_col("%(a)%"), 2);
        assert_eq!(err_col("%ab)%"), 4);
    }

    #[test]
    fn characters_outside_whitelist_are_refused() {
        assert_eq!(err_col("%a&b%"), 3);
        assert_eq!(err_col("%a\"b%"), 3);
        assert_eq!(err_col("%aéb%"), 3);
        assert_eq!(err_col("%a'b%"), 3);
        assert_eq!(err_col("%a%b%"), 3);
    }

    #[test]
    fn malformed_operators_are_refused() {
        assert_eq!(err_col("%*a%"), 2);
        assert_eq!(err_col("%a|+b%"), 4);
        assert_eq!(err_col("%^*%"), 3);
        assert_eq!(err_col("%a{x}%"), 3);
        assert_eq!(err_col("%a{3,1}%"), 3);
        assert_eq!(err_col("%a{,}%"), 3);
        assert_eq!(err_col("%a{2%"), 3);
        assert_eq!(err_col("%[abc%"), 2);
        assert_eq!(err_col("%[z-a]%"), 3);
        assert_eq!(err_col(r"%\q%"), 2);
        assert_eq!(err_col(r"%\x4%"), 2);
        assert_eq!(err_col(r"%\xff%"), 2);
        assert_eq!(err_col(r"%ab\%"), 4);
        assert_eq!(err_col("%%"), 2);
    }

    #[test]
    fn required_literal_is_longest_unquantified_run() {
        let lit = |p: &str| {
            FilterPattern::parse(p)
                .unwrap()
                .required_literal()
                .map(|l| String::from_utf8(l.to_vec()).unwrap())
        };
        assert_eq!(lit("%,CONNECT,%").as_deref(), Some(",CONNECT,"));
        assert_eq!(lit("%ab?cdef%").as_deref(), Some("cdef"));
        assert_eq!(lit("%xab+cd%").as_deref(), Some("xab"));
        assert_eq!(lit(r"%f\x28x%").as_deref(), Some("f(x"));
        assert_eq!(lit("%a|b%"), None);
        assert_eq!(lit("%.*%"), None);
    }
}
