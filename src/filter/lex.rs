//! Lexical helpers shared by every pattern parser.
//!
//! All parsers walk the *original* pattern string with byte offsets, never a trimmed copy or a
//! `Vec<char>`, so that an error anywhere can be reported as the 1-based character column of
//! the original text (what a user sees in a console or CLI argument). Every syntax character
//! in the language is ASCII, so byte positions of syntax are always char boundaries; non-ASCII
//! text only ever appears inside names, values and terms, which are sliced out whole.

use super::FilterError;

/// The separator set for patterns and for space-delimited messages. Only ASCII whitespace: the
/// spec never mentions Unicode spaces, and treating U+00A0 as a separator would silently split
/// terms that AWS (a byte-oriented service) most likely keeps whole.
pub(super) fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// 1-based character column of byte offset `byte` in `src`.
pub(super) fn column_at(src: &str, byte: usize) -> usize {
    src[..byte.min(src.len())].chars().count() + 1
}

/// A forward-only cursor over `src[pos..end]` that remembers the whole `src` for columns.
pub(super) struct Cursor<'a> {
    src: &'a str,
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(src: &'a str, start: usize, end: usize) -> Self {
        Cursor {
            src,
            pos: start,
            end,
        }
    }

    pub(super) fn src(&self) -> &'a str {
        self.src
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    pub(super) fn is_at_end(&self) -> bool {
        self.pos >= self.end
    }

    pub(super) fn rest(&self) -> &'a str {
        &self.src[self.pos..self.end]
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(super) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Moves forward `n` bytes; callers only pass lengths of text they just inspected.
    pub(super) fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }

    pub(super) fn starts_with(&self, s: &str) -> bool {
        self.rest().starts_with(s)
    }

    pub(super) fn eat(&mut self, s: &str) -> bool {
        if self.starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// Skips whitespace; reports whether there was any, since some grammars require it.
    pub(super) fn skip_ws(&mut self) -> bool {
        let before = self.pos;
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
        self.pos != before
    }

    pub(super) fn take_while(&mut self, mut f: impl FnMut(char) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if !f(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.src[start..self.pos]
    }

    pub(super) fn error(&self, message: impl Into<String>) -> FilterError {
        self.error_at(self.pos, message)
    }

    pub(super) fn error_at(&self, byte: usize, message: impl Into<String>) -> FilterError {
        FilterError::new(column_at(self.src, byte), message)
    }

    /// Reads a double-quoted string starting at the opening `"`.
    ///
    /// `\"` and `\\` are the only escapes: that is what AWS CDK's `quoteTerm` emits, and the
    /// spec (§2.1) keeps every other backslash literal, so `"C:\temp"` means what it says.
    pub(super) fn quoted(&mut self) -> Result<String, FilterError> {
        let open = self.pos;
        debug_assert_eq!(self.peek(), Some('"'));
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error_at(open, "unterminated quoted string")),
                Some('"') => return Ok(out),
                Some('\\') if matches!(self.peek(), Some('"' | '\\')) => {
                    out.push(self.bump().unwrap_or('\\'));
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// Reads `%body%` starting at the opening `%`; returns the byte range of the body.
    /// `%` is outside the regex whitelist, so the first `%` after the opening one closes it.
    pub(super) fn percent_delimited(&mut self) -> Result<(usize, usize), FilterError> {
        let open = self.pos;
        debug_assert_eq!(self.peek(), Some('%'));
        self.pos += 1;
        let body = self.pos;
        match self.rest().find('%') {
            Some(i) => {
                self.pos += i + 1;
                Ok((body, body + i))
            }
            None => Err(self.error_at(open, "unterminated regular expression (missing '%')")),
        }
    }
}

/// A number from a pattern or an event. Integers keep an exact `i128` next to the `f64` so
/// that comparisons of large IDs do not suffer from float rounding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Num {
    pub(super) float: f64,
    pub(super) int: Option<i128>,
}

impl Num {
    pub(super) fn cmp(self, other: Num) -> Option<std::cmp::Ordering> {
        match (self.int, other.int) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => self.float.partial_cmp(&other.float),
        }
    }

    pub(super) fn from_json(n: &serde_json::Number) -> Num {
        let int = n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from));
        Num {
            float: n.as_f64().unwrap_or(f64::NAN),
            int,
        }
    }
}

/// Parses the documented number syntax: optional sign, integer or decimal, optional exponent
/// (`10e3`, `1e-3`, `+1000`, `.5`). Anything else (`0x10`, `inf`, `1,000`) is not a number.
pub(super) fn parse_number(text: &str) -> Option<Num> {
    let b = text.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    let mut is_int = true;
    if b.get(i) == Some(&b'.') {
        is_int = false;
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        is_int = false;
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let float = text.parse::<f64>().ok()?;
    let int = if is_int {
        text.parse::<i128>().ok()
    } else {
        None
    };
    Some(Num { float, int })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_counts_chars_from_one() {
        assert_eq!(column_at("abc", 0), 1);
        assert_eq!(column_at("äbc", 2), 2);
    }

    #[test]
    fn quoted_unescapes_only_quote_and_backslash() {
        let src = r#""a\"b\\c\nd" rest"#;
        let mut c = Cursor::new(src, 0, src.len());
        assert_eq!(c.quoted().unwrap(), "a\"b\\c\\nd");
        assert_eq!(c.rest(), " rest");
    }

    #[test]
    fn unterminated_quote_points_at_opening_quote() {
        let src = r#"ab "cd"#;
        let mut c = Cursor::new(src, 3, src.len());
        assert_eq!(c.quoted().unwrap_err().column, 4);
    }

    #[test]
    fn number_syntax_accepts_documented_forms_only() {
        for ok in [
            "0", "400", "-1", "+1000", "10e3", "1e-3", "10e-3", "1.5", ".5", "5.",
        ] {
            assert!(parse_number(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "+",
            ".",
            "1e",
            "4*",
            "123.123.*",
            "0x10",
            "inf",
            "NaN",
            "1,000",
            "1 ",
        ] {
            assert!(parse_number(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn integer_comparison_is_exact_beyond_f64_precision() {
        let a = parse_number("9007199254740993").unwrap();
        let b = parse_number("9007199254740992").unwrap();
        assert_eq!(a.cmp(b), Some(std::cmp::Ordering::Greater));
    }
}
