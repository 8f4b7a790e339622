//! A normalised SQL token stream over raw statement text, for classification.
//!
//! What an attacker may vary without changing what the server runs is taken out here, once:
//! comments (`/* */`, `-- `, `#`) and any whitespace are separators; MySQL's executable
//! comments (`/*! … */`, `/*!50001 … */`, MariaDB's `/*M! … */`) are code, so only their
//! markers are dropped; quoted identifiers (`` `x` ``, `"x"`) are words like bare ones; string
//! literals (`'…'`, PostgreSQL `E'…'`, dollar quoting `$tag$…$tag$`) are one token each; hex
//! literals (`0x2f…`, `X'2f…'`) are one token whose bytes [`decode_literal`] recovers, as it
//! does for `CHAR(47, 101, …)`. Letter case is left to the comparisons
//! ([`Token::is`] ignores it).
//!
//! The text may be the audit log's escaped form (MySQL-family logs write `\'`, `\n`): outside
//! a literal `\n`, `\r`, `\t` are whitespace and `\'`, `\"` open a literal like `'` and `"`.
//! Tokens borrow from the input: nothing is allocated.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A keyword or identifier, bare or quoted (the text is inside the quotes).
    Word,
    /// A string literal; the text is inside the quotes, still escaped.
    Str,
    /// A number.
    Num,
    /// A hex literal; the text is the hex digits.
    Hex,
    /// One byte of punctuation or an operator.
    Punct,
}

/// One token: its kind and its text (see [`Kind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: Kind,
    pub text: &'a [u8],
}

impl<'a> Token<'a> {
    /// A word equal to `kw`, ignoring case (`kw` is upper case ASCII).
    #[inline]
    pub fn is(&self, kw: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(kw.as_bytes())
    }

    /// Punctuation `c`.
    #[inline]
    pub fn is_punct(&self, c: u8) -> bool {
        self.kind == Kind::Punct && self.text == [c]
    }

    /// A literal or word whose text (case ignored) is `s`: a setting's value written either
    /// way (`OFF`, `'off'`).
    pub fn value_is(&self, s: &str) -> bool {
        matches!(self.kind, Kind::Word | Kind::Str | Kind::Num)
            && self.text.eq_ignore_ascii_case(s.as_bytes())
    }
}

/// An identifier byte (as MySQL and PostgreSQL allow in bare names; UTF-8 bytes included).
#[inline]
pub fn is_ident(c: u8) -> bool {
    IDENT[c as usize]
}

/// [`is_ident`] as a table: one load instead of five comparisons, for the scans that step
/// back over names byte by byte.
static IDENT: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
        c += 1;
    }
    t
};

/// The token stream of a statement.
#[derive(Clone)]
pub struct Tokens<'a> {
    rest: &'a [u8],
}

impl<'a> Tokens<'a> {
    pub fn new(s: &'a [u8]) -> Self {
        Tokens { rest: s }
    }

    /// The text not yet tokenised.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Skips separators: whitespace (also escaped), comments, executable-comment markers.
    #[inline]
    pub fn skip_separators(&mut self) {
        loop {
            match self.rest {
                [c, rest @ ..] if c.is_ascii_whitespace() => self.rest = rest,
                [b'\\', b'n' | b'r' | b't', rest @ ..] => self.rest = rest,
                // Executable comment: the marker and its version go, the content is code.
                [b'/', b'*', b'!', rest @ ..] | [b'/', b'*', b'M' | b'm', b'!', rest @ ..] => {
                    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
                    self.rest = &rest[digits..];
                }
                [b'/', b'*', rest @ ..] => {
                    self.rest = match find_pair(rest, b'*', b'/') {
                        Some(end) => &rest[end + 2..],
                        None => &[],
                    }
                }
                // The end of an executable comment.
                [b'*', b'/', rest @ ..] => self.rest = rest,
                [b'-', b'-', ..] | [b'#', ..] => {
                    let s = self.rest;
                    // A line comment ends at a newline, or at an escaped `\n`.
                    let nl = memchr::memchr(b'\n', s);
                    let esc = find_pair(s, b'\\', b'n');
                    self.rest = match (nl, esc) {
                        (Some(a), Some(b)) if b < a => &s[b + 2..],
                        (Some(a), _) => &s[a + 1..],
                        (None, Some(b)) => &s[b + 2..],
                        (None, None) => &[],
                    };
                }
                _ => return,
            }
        }
    }

    fn take(&mut self, n: usize, kind: Kind, from: usize, to: usize) -> Token<'a> {
        let t = Token {
            kind,
            text: &self.rest[from..to],
        };
        self.rest = &self.rest[n..];
        t
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    #[inline]
    fn next(&mut self) -> Option<Token<'a>> {
        self.skip_separators();
        let s = self.rest;
        let &c = s.first()?;
        // Escaped quote (audit-log text): a literal opened by `\'` closes at `\'`.
        if c == b'\\' && matches!(s.get(1), Some(b'\'' | b'"' | b'`')) {
            let q = s[1];
            let end = find_escaped_close(&s[2..], q);
            let kind = if q == b'\'' { Kind::Str } else { Kind::Word };
            return Some(match end {
                Some(e) => self.take(2 + e + 2, kind, 2, 2 + e),
                None => self.take(s.len(), kind, 2, s.len()),
            });
        }
        match c {
            b'\'' | b'"' | b'`' => {
                let end = find_close(&s[1..], c);
                let kind = if c == b'\'' { Kind::Str } else { Kind::Word };
                Some(match end {
                    Some(e) => self.take(1 + e + 1, kind, 1, 1 + e),
                    None => self.take(s.len(), kind, 1, s.len()),
                })
            }
            b'0' if matches!(s.get(1), Some(b'x' | b'X')) => {
                let n = 2 + s[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
                Some(self.take(n, Kind::Hex, 2, n))
            }
            b'0'..=b'9' => {
                let n = s
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || **c == b'.')
                    .count();
                Some(self.take(n, Kind::Num, 0, n))
            }
            // X'2f..' (hex), E'..' / N'..' / B'..' (strings with a prefix).
            b'x' | b'X' | b'e' | b'E' | b'n' | b'N' | b'b' | b'B'
                if s.get(1) == Some(&b'\'')
                    || (s.get(1) == Some(&b'\\') && s.get(2) == Some(&b'\'')) =>
            {
                let skip = if s[1] == b'\\' { 2 } else { 1 };
                self.rest = &s[skip..];
                let mut t = self.next()?;
                if c | 0x20 == b'x' {
                    t.kind = Kind::Hex;
                }
                Some(t)
            }
            b'$' => {
                // `$tag$ … $tag$` (PostgreSQL dollar quoting), else a `$1` parameter.
                let tag_len = s[1..]
                    .iter()
                    .take_while(|&&c| is_ident(c) && c != b'$')
                    .count();
                if s.get(1 + tag_len) == Some(&b'$')
                    && !s[1..1 + tag_len].first().is_some_and(u8::is_ascii_digit)
                {
                    let tag = &s[..tag_len + 2];
                    let body = &s[tag.len()..];
                    let end = memchr::memmem::find(body, tag);
                    Some(match end {
                        Some(e) => {
                            self.take(tag.len() * 2 + e, Kind::Str, tag.len(), tag.len() + e)
                        }
                        None => self.take(s.len(), Kind::Str, tag.len(), s.len()),
                    })
                } else {
                    let n = 1 + s[1..].iter().take_while(|&&c| is_ident(c)).count();
                    Some(self.take(n, Kind::Word, 0, n))
                }
            }
            c if is_ident(c) => {
                let n = s.iter().position(|&c| !is_ident(c)).unwrap_or(s.len());
                Some(self.take(n, Kind::Word, 0, n))
            }
            _ => Some(self.take(1, Kind::Punct, 0, 1)),
        }
    }
}

/// The bytes that can open a literal, a quoted name or a comment (or an escape).
const SPECIAL: &[u8; 8] = b"'\"`\\/-#$";

/// The first byte of [`SPECIAL`] in `s[from..to]`, 16 bytes at a time: the text before a
/// `WHERE` is long and holds few of them.
fn next_special(s: &[u8], mut from: usize, to: usize) -> Option<usize> {
    while from < to && from + 16 <= s.len() {
        // Bytes at `to` and after are not looked at.
        let hits = special_mask16(s, from) & (u32::MAX >> (32 - (to - from).min(16)));
        if hits != 0 {
            return Some(from + hits.trailing_zeros() as usize);
        }
        from += 16;
    }
    if from >= to {
        return None;
    }
    s[from..to]
        .iter()
        .position(|&c| IS_SPECIAL[c as usize])
        .map(|p| from + p)
}

/// [`SPECIAL`] as a table, for the last bytes before `to`.
static IS_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < SPECIAL.len() {
        t[SPECIAL[i] as usize] = true;
        i += 1;
    }
    t
};

/// Bit `i` set where `s[at + i]` is one of [`SPECIAL`] (`at + 16 <= s.len()`).
#[inline]
fn special_mask16(s: &[u8], at: usize) -> u32 {
    let block = &s[at..at + 16];
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86_64; the load reads the 16 bytes of `block`.
        unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast());
            let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
            let [a, b, c, d, e, f, g, h] = *SPECIAL;
            let hits = _mm_or_si128(
                _mm_or_si128(_mm_or_si128(eq(a), eq(b)), _mm_or_si128(eq(c), eq(d))),
                _mm_or_si128(_mm_or_si128(eq(e), eq(f)), _mm_or_si128(eq(g), eq(h))),
            );
            _mm_movemask_epi8(hits) as u32
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    block
        .iter()
        .enumerate()
        .fold(0, |m, (i, c)| m | (u32::from(SPECIAL.contains(c)) << i))
}

/// Whether byte `at` of `s` is code: not inside a literal, a quoted name or a comment.
/// Plain bytes are skipped ([`next_special`]); only those that can open a literal or a
/// comment go through the tokenizer.
pub fn at_code_level(s: &[u8], at: usize) -> bool {
    if at > s.len() {
        return false;
    }
    let mut i = 0;
    while i < at {
        let Some(j) = next_special(s, i, at) else {
            return true;
        };
        // A literal (the usual special byte) is stepped over as [`Tokens::next`] does, without
        // the rest of the tokenizer.
        match s[j..] {
            [b'\\', q @ (b'\'' | b'"' | b'`'), ..] => {
                i = find_escaped_close(&s[j + 2..], q).map_or(s.len(), |e| j + 2 + e + 2);
                continue;
            }
            [q @ (b'\'' | b'"' | b'`'), ..] => {
                i = find_close(&s[j + 1..], q).map_or(s.len(), |e| j + 1 + e + 1);
                continue;
            }
            _ => {}
        }
        let mut t = Tokens::new(&s[j..]);
        t.skip_separators();
        if t.rest.len() == s.len() - j {
            t.next();
        }
        i = s.len() - t.rest.len();
    }
    i == at
}

/// The first `a` followed by `b`. Comments are mostly short (`/* app=orders */`), where
/// setting up a `memchr` search costs more than the bytes it skips.
#[inline]
pub(crate) fn find_pair(s: &[u8], a: u8, b: u8) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = crate::bytes::find_byte_near(a, &s[from..]) {
        let at = from + i;
        if s.get(at + 1) == Some(&b) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The closing quote `q` of a literal (backslash escapes and doubled quotes stay inside).
fn find_close(s: &[u8], q: u8) -> Option<usize> {
    let mut i = 0;
    while let Some(j) = find2_near(q, b'\\', &s[i..]) {
        let at = i + j;
        // An escaped byte, or a doubled quote: both stay inside.
        if s[at] == b'\\' || s.get(at + 1) == Some(&q) {
            i = at + 2;
        } else {
            return Some(at);
        }
        if i >= s.len() {
            return None;
        }
    }
    None
}

/// The first `a` or `b` in `hay`: the first 16 bytes in one block, then `memchr2`. Literals
/// are mostly short (`'paid'`), where setting up a search costs more than the bytes it skips.
fn find2_near(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    let near = hay.len().min(16);
    let mut first = None;
    crate::bytes::any_hit(
        &hay[..near],
        |s, at| crate::bytes::eq_mask16(s, at, a) | crate::bytes::eq_mask16(s, at, b),
        |p| {
            first = Some(p);
            true
        },
    );
    first.or_else(|| memchr::memchr2(a, b, &hay[near..]).map(|p| near + p))
}

/// The `\q` closing a literal opened by `\q` in escaped audit text. `\\` is the log's
/// escape of one backslash, which in SQL escapes the next character (`\\\'` is SQL's `\'`,
/// a quote inside the literal).
fn find_escaped_close(s: &[u8], q: u8) -> Option<usize> {
    let mut i = 0;
    // Escapes in the log's text are often a few bytes apart (`\'paid\'`).
    while let Some(j) = crate::bytes::find_byte_near(b'\\', &s[i..]) {
        let at = i + j;
        match s.get(at + 1) {
            Some(b'\\') => {
                // SQL's backslash escape: skip the next unit too (an escape of the log, or a
                // byte).
                i = if s.get(at + 2) == Some(&b'\\') {
                    at + 4
                } else {
                    at + 3
                };
                if i >= s.len() {
                    return None;
                }
            }
            Some(&c) if c == q => {
                // `\'\'` is a doubled quote inside the literal.
                if s.get(at + 2) == Some(&b'\\') && s.get(at + 3) == Some(&q) {
                    i = at + 4;
                    continue;
                }
                return Some(at);
            }
            Some(_) => i = at + 2,
            None => return None,
        }
    }
    None
}

/// The bytes a literal stands for, into `buf` (cut at its size): a string (escapes `\\`, `\'`
/// undone), a hex literal decoded, or `CHAR(n, n, …)` when `t` is the word `CHAR` and `more`
/// follows it. Returns the length written.
pub fn decode_literal(t: Token<'_>, more: &mut Tokens<'_>, buf: &mut [u8]) -> usize {
    let mut n = 0;
    let mut push = |b: u8, n: &mut usize| {
        if *n < buf.len() {
            buf[*n] = b;
            *n += 1;
        }
    };
    match t.kind {
        Kind::Str => {
            let mut i = 0;
            while i < t.text.len() {
                let c = t.text[i];
                if c == b'\\' && i + 1 < t.text.len() {
                    i += 1;
                    let e = t.text[i];
                    // The escaped audit form doubles every escape: `\\\\` is one backslash.
                    if e == b'\\' && t.text.get(i + 1) == Some(&b'\\') {
                        i += 1;
                    }
                    push(e, &mut n);
                } else {
                    push(c, &mut n);
                }
                i += 1;
            }
        }
        Kind::Hex => {
            let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            let digits = t.text;
            let odd = digits.len() % 2;
            if odd == 1 {
                push(hex(digits[0]), &mut n);
            }
            for pair in digits[odd..].chunks_exact(2) {
                push(hex(pair[0]) << 4 | hex(pair[1]), &mut n);
            }
        }
        Kind::Word if t.is("CHAR") || t.is("CHR") => {
            if !more.next().is_some_and(|p| p.is_punct(b'(')) {
                return 0;
            }
            for tok in more.by_ref() {
                match tok.kind {
                    Kind::Num => {
                        let v = tok
                            .text
                            .iter()
                            .take_while(|c| c.is_ascii_digit())
                            .fold(0u32, |v, &c| {
                                v.saturating_mul(10).saturating_add((c - b'0') as u32)
                            });
                        push(v as u8, &mut n);
                    }
                    Kind::Punct if tok.text == b")" => break,
                    _ => {}
                }
            }
        }
        _ => {}
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(Kind, String)> {
        Tokens::new(s.as_bytes())
            .map(|t| (t.kind, String::from_utf8_lossy(t.text).into_owned()))
            .collect()
    }

    fn words(s: &str) -> Vec<String> {
        toks(s).into_iter().map(|t| t.1).collect()
    }

    #[test]
    fn comments_whitespace_and_quoting_are_normalised() {
        assert_eq!(
            words("SELECT/**/*/**/FROM/**/customers/**/INTO/**/OUTFILE '/tmp/a.csv'"),
            [
                "SELECT",
                "*",
                "FROM",
                "customers",
                "INTO",
                "OUTFILE",
                "/tmp/a.csv"
            ]
        );
        assert_eq!(
            words("select *\nfrom t into\r\n\toutfile -- c\n 'x'"),
            ["select", "*", "from", "t", "into", "outfile", "x"]
        );
        assert_eq!(
            words(r"select * from t into\noutfile \'/tmp/x\'"),
            ["select", "*", "from", "t", "into", "outfile", "/tmp/x"]
        );
        assert_eq!(
            words("/*!50001 SELECT */ a # c\nFROM `my table`"),
            ["SELECT", "a", "FROM", "my table"]
        );
        assert_eq!(
            words(r#"SET "pgaudit".log"#),
            ["SET", "pgaudit", ".", "log"]
        );
        assert_eq!(
            toks("x = 'it''s' AND y = 0x2F AND z = X'2f' AND $$a;b$$ AND $t$q$t$ AND $1"),
            [
                (Kind::Word, "x".into()),
                (Kind::Punct, "=".into()),
                (Kind::Str, "it''s".into()),
                (Kind::Word, "AND".into()),
                (Kind::Word, "y".into()),
                (Kind::Punct, "=".into()),
                (Kind::Hex, "2F".into()),
                (Kind::Word, "AND".into()),
                (Kind::Word, "z".into()),
                (Kind::Punct, "=".into()),
                (Kind::Hex, "2f".into()),
                (Kind::Word, "AND".into()),
                (Kind::Str, "a;b".into()),
                (Kind::Word, "AND".into()),
                (Kind::Str, "q".into()),
                (Kind::Word, "AND".into()),
                (Kind::Word, "$1".into()),
            ]
        );
        assert_eq!(
            words(r"SELECT \'it\\\'s\', \'a\\\\\' FROM t"),
            ["SELECT", r"it\\\'s", ",", r"a\\\\", "FROM", "t"]
        );
        assert_eq!(words("/* unterminated"), Vec::<String>::new());
        assert_eq!(words("'unterminated"), ["unterminated"]);
    }

    #[test]
    fn code_level_is_found_past_long_plain_text() {
        let pad = "x".repeat(40);
        let s = format!(
            r"UPDATE t SET a = {pad} WHERE b = '{pad} WHERE' -- WHERE\n WHERE c = \'WHERE\' /* WHERE */ WHERE `WHERE` WHERE"
        );
        let s = s.as_bytes();
        let wheres: Vec<usize> = (0..s.len())
            .filter(|&i| s[i..].starts_with(b"WHERE"))
            .collect();
        let code: Vec<bool> = wheres.iter().map(|&i| at_code_level(s, i)).collect();
        assert_eq!(
            code,
            [true, false, false, true, false, false, true, false, true]
        );
        for at in 0..=s.len() + 1 {
            // Agrees with the byte-by-byte walk.
            let mut i = 0;
            while i < at && i < s.len() {
                if SPECIAL.contains(&s[i]) {
                    let mut t = Tokens::new(&s[i..]);
                    t.skip_separators();
                    if t.rest.len() == s.len() - i {
                        t.next();
                    }
                    i = s.len() - t.rest.len();
                } else {
                    i += 1;
                }
            }
            assert_eq!(at_code_level(s, at), at <= s.len() && i == at, "at {at}");
        }
    }

    #[test]
    fn literals_decode_to_the_bytes_they_hide() {
        let dec = |s: &str| {
            let mut t = Tokens::new(s.as_bytes());
            let first = t.next().unwrap();
            let mut buf = [0u8; 64];
            let n = decode_literal(first, &mut t, &mut buf);
            String::from_utf8_lossy(&buf[..n]).into_owned()
        };
        assert_eq!(dec("0x2f746d70"), "/tmp");
        assert_eq!(dec("X'2f746d70'"), "/tmp");
        assert_eq!(dec("CHAR(47, 116, 109, 112)"), "/tmp");
        assert_eq!(dec(r"\'/usr/lib/plugin/x.so\'"), "/usr/lib/plugin/x.so");
        assert_eq!(dec("'a\\'b'"), "a'b");
    }
}
