//! `statement_class`: what kind of statement a query is, from its text alone.
//!
//! The audit plugins log every statement as `QUERY` (formats.md §1.2), so privilege changes and
//! destructive statements can only be recognised from the text. Classification skips leading
//! whitespace, `/* */` and `/*! */` comments and `--`/`#` line comments, then looks at the first
//! keywords. It works on the raw (still escaped) bytes and on prefixes, because the plugin may
//! truncate a statement at `server_audit_query_log_limit`; it never allocates.

/// The classes of CONTRACT.md, in the order of precedence used when a statement fits several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatementClass {
    Privilege,
    Destructive,
    Exfiltration,
    Ddl,
    Write,
    Read,
    Other,
}

impl StatementClass {
    pub fn as_str(self) -> &'static str {
        match self {
            StatementClass::Privilege => "privilege",
            StatementClass::Destructive => "destructive",
            StatementClass::Exfiltration => "exfiltration",
            StatementClass::Ddl => "ddl",
            StatementClass::Write => "write",
            StatementClass::Read => "read",
            StatementClass::Other => "other",
        }
    }
}

/// Classifies a statement. `escaped` text may contain `\n`-style escapes; they are treated as
/// whitespace, which is what they stand for.
pub fn classify(sql: &[u8]) -> StatementClass {
    let body = skip_leading_comments(sql);
    let mut words = Words::new(body);
    let Some(first) = words.next() else {
        return StatementClass::Other;
    };
    let kw = |w: &[u8], k: &str| w.eq_ignore_ascii_case(k.as_bytes());

    // Exfiltration is checked first: `SELECT ... INTO OUTFILE` starts like a read.
    if is_exfiltration(first, body) {
        return StatementClass::Exfiltration;
    }
    // The first keyword, upper-cased (every keyword below has at most 8 letters), decides.
    let mut upper = [0u8; 8];
    let key: &[u8] = if first.len() <= upper.len() {
        for (u, c) in upper.iter_mut().zip(first) {
            *u = c.to_ascii_uppercase();
        }
        &upper[..first.len()]
    } else {
        b""
    };
    match key {
        b"GRANT" | b"REVOKE" => StatementClass::Privilege,
        b"SET" => {
            let second = words.clone().next().unwrap_or(b"");
            if kw(second, "PASSWORD")
                || (kw(second, "DEFAULT") && {
                    let mut w = words.clone();
                    w.next();
                    kw(w.next().unwrap_or(b""), "ROLE")
                })
            {
                StatementClass::Privilege
            } else {
                StatementClass::Other
            }
        }
        b"CREATE" | b"ALTER" | b"DROP" | b"RENAME" => {
            // Skip `OR REPLACE`, `IF [NOT] EXISTS` noise before the object type.
            let mut w = words.clone();
            let mut object = w.next().unwrap_or(b"");
            if kw(object, "OR") {
                w.next();
                object = w.next().unwrap_or(b"");
            }
            let drops_data = match key {
                b"DROP" => {
                    kw(object, "DATABASE")
                        || kw(object, "SCHEMA")
                        || kw(object, "TABLE")
                        || kw(object, "TEMPORARY")
                }
                b"ALTER" => kw(object, "TABLE") && contains_word(body, b"DROP"),
                _ => false,
            };
            if kw(object, "USER") || kw(object, "ROLE") || kw(object, "GROUP") {
                StatementClass::Privilege
            } else if drops_data {
                StatementClass::Destructive
            } else {
                StatementClass::Ddl
            }
        }
        b"TRUNCATE" => StatementClass::Destructive,
        b"DELETE" | b"UPDATE" => {
            if contains_word(body, b"WHERE") {
                StatementClass::Write
            } else {
                StatementClass::Destructive
            }
        }
        b"INSERT" | b"REPLACE" | b"LOAD" | b"MERGE" | b"UPSERT" | b"COPY" => StatementClass::Write,
        b"SELECT" | b"SHOW" | b"DESCRIBE" | b"DESC" | b"EXPLAIN" | b"WITH" | b"TABLE"
        | b"VALUES" | b"HANDLER" | b"(" => StatementClass::Read,
        _ => StatementClass::Other,
    }
}

/// `INTO OUTFILE`/`INTO DUMPFILE`/`LOAD_FILE(` anywhere, PostgreSQL's `COPY … TO` a file or
/// program, and the server-side file readers `pg_read_file`/`lo_export`.
fn is_exfiltration(first: &[u8], body: &[u8]) -> bool {
    if first.eq_ignore_ascii_case(b"COPY") {
        // `COPY t TO '/file'`, `COPY t TO PROGRAM 'cmd'`; `TO STDOUT` is a client dump.
        let mut w = Words::new(body);
        while let Some(word) = w.next() {
            if word.eq_ignore_ascii_case(b"TO") {
                let target = w.next().unwrap_or(b"");
                return !target.eq_ignore_ascii_case(b"STDOUT");
            }
        }
        return false;
    }
    // Every MySQL form contains "FILE", and PostgreSQL's `lo_export(oid, '/path')` an `x`
    // (rare in SQL text): look only around the `F`/`f` and `X`/`x` bytes, found in one pass,
    // so an ordinary statement costs one scan and a few byte comparisons.
    let mut found = false;
    for_each_f_or_x(body, |i| {
        found = if body[i] | 0x20 == b'f' {
            file_function_at(body, i)
        } else {
            lo_export_at(body, i)
        };
        found
    });
    found
}

/// `FILE` at `i`, as the end of `INTO OUTFILE`/`INTO DUMPFILE`, `LOAD_FILE`,
/// `PG_READ_FILE` or `PG_READ_BINARY_FILE`.
fn file_function_at(body: &[u8], i: usize) -> bool {
    let rest = &body[i..];
    if rest.len() < 4 || !rest[..4].eq_ignore_ascii_case(b"FILE") {
        return false;
    }
    let before = &body[..i];
    for prefix in [&b"OUT"[..], b"DUMP"] {
        if ends_with_ci(before, prefix)
            && ends_with_ci(trim_end(&before[..before.len() - prefix.len()]), b"INTO")
        {
            return true;
        }
    }
    ends_with_ci(before, b"LOAD_")
        || ends_with_ci(before, b"PG_READ_")
        || ends_with_ci(before, b"PG_READ_BINARY_")
}

/// The `x` at `i` is the one of `LO_EXPORT` followed by `(`.
fn lo_export_at(body: &[u8], i: usize) -> bool {
    i >= 4
        && body[i - 4..i].eq_ignore_ascii_case(b"LO_E")
        && body.len() >= i + 5
        && body[i + 1..i + 5].eq_ignore_ascii_case(b"PORT")
        && body[i + 5..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'(')
}

/// Calls `f` with the position of every `F`, `f`, `X` and `x` in `s`, in order, until it
/// returns true. One pass, 16 bytes at a time.
#[inline]
fn for_each_f_or_x(s: &[u8], mut f: impl FnMut(usize) -> bool) {
    if s.len() < 16 {
        for (i, &b) in s.iter().enumerate() {
            if matches!(b | 0x20, b'f' | b'x') && f(i) {
                return;
            }
        }
        return;
    }
    // Visits the positions from `base` in the block at `at` (`at <= base`); true once `f`
    // says stop.
    let mut block = |at: usize, base: usize| {
        let mut hits = crate::bytes::either_ci_mask16(s, at, b'f', b'x') >> (base - at);
        while hits != 0 {
            if f(base + hits.trailing_zeros() as usize) {
                return true;
            }
            hits &= hits - 1;
        }
        false
    };
    let mut base = 0;
    while base + 16 <= s.len() {
        if block(base, base) {
            return;
        }
        base += 16;
    }
    // The last partial block: the 16 bytes ending at the end, without the ones seen.
    if base < s.len() {
        block(s.len() - 16, base);
    }
}

fn ends_with_ci(s: &[u8], suffix: &[u8]) -> bool {
    s.len() >= suffix.len() && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

fn trim_end(mut s: &[u8]) -> &[u8] {
    while let Some((&last, rest)) = s.split_last() {
        if last.is_ascii_whitespace() {
            s = rest;
        } else if rest.last() == Some(&b'\\') && matches!(last, b'n' | b'r' | b't') {
            s = &rest[..rest.len() - 1];
        } else {
            break;
        }
    }
    s
}

/// A whole-word, case-insensitive search outside string literals is what a SQL parser would
/// give; a word search that ignores quoting is a cheap approximation that errs towards "has a
/// WHERE" only when the literal text contains the word.
fn contains_word(hay: &[u8], word: &[u8]) -> bool {
    let first = word[0];
    let lower = first.to_ascii_lowercase();
    for i in memchr::memchr2_iter(first, lower, hay) {
        if i + word.len() > hay.len() {
            break;
        }
        if !hay[i..i + word.len()].eq_ignore_ascii_case(word) {
            continue;
        }
        let before_ok = i == 0 || !is_ident(hay[i - 1]) || escaped_space_before(hay, i);
        let after_ok = hay.get(i + word.len()).is_none_or(|&c| !is_ident(c));
        if before_ok && after_ok {
            return true;
        }
    }
    false
}

fn escaped_space_before(hay: &[u8], i: usize) -> bool {
    i >= 2 && hay[i - 2] == b'\\' && matches!(hay[i - 1], b'n' | b'r' | b't')
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Skips whitespace (including escaped `\n`, `\r`, `\t`), block comments and line comments.
pub(crate) fn skip_leading_comments(mut s: &[u8]) -> &[u8] {
    loop {
        let before = s.len();
        s = skip_space(s);
        if s.starts_with(b"/*") {
            s = match find_pair(&s[2..], b'*', b'/') {
                Some(end) => &s[2 + end + 2..],
                None => &[],
            };
        } else if s.starts_with(b"--") || s.starts_with(b"#") {
            // A line comment ends at a newline, or at an escaped `\n` in the audit text.
            let nl = memchr::memchr(b'\n', s);
            let esc = find_pair(s, b'\\', b'n');
            s = match (nl, esc) {
                (Some(a), Some(b)) if b < a => &s[b + 2..],
                (Some(a), _) => &s[a + 1..],
                (None, Some(b)) => &s[b + 2..],
                (None, None) => &[],
            };
        }
        if s.len() == before {
            return s;
        }
    }
}

/// The first `a` followed by `b`. Comments are short: a plain byte search beats building a
/// substring searcher on every call.
fn find_pair(s: &[u8], a: u8, b: u8) -> Option<usize> {
    memchr::memchr_iter(a, s).find(|&i| s.get(i + 1) == Some(&b))
}

fn skip_space(mut s: &[u8]) -> &[u8] {
    loop {
        match s {
            [c, rest @ ..] if c.is_ascii_whitespace() || *c == b';' => s = rest,
            [b'\\', b'n' | b'r' | b't', rest @ ..] => s = rest,
            _ => return s,
        }
    }
}

/// Keyword tokens: runs of identifier bytes; punctuation other than `(` ends a word and is
/// skipped.
#[derive(Clone)]
struct Words<'a> {
    rest: &'a [u8],
}

impl<'a> Words<'a> {
    fn new(s: &'a [u8]) -> Self {
        Words { rest: s }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            self.rest = skip_space(self.rest);
            let (&c, _) = self.rest.split_first()?;
            if c == b'(' {
                let w = &self.rest[..1];
                self.rest = &self.rest[1..];
                return Some(w);
            }
            if is_ident(c) {
                let end = self
                    .rest
                    .iter()
                    .position(|&c| !is_ident(c))
                    .unwrap_or(self.rest.len());
                let w = &self.rest[..end];
                self.rest = &self.rest[end..];
                return Some(w);
            }
            self.rest = &self.rest[1..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StatementClass::*;
    use super::*;

    fn c(s: &str) -> StatementClass {
        classify(s.as_bytes())
    }

    #[test]
    fn privilege_statements_are_recognised() {
        assert_eq!(c("GRANT ALL ON sa_db TO u2 IDENTIFIED BY *****"), Privilege);
        assert_eq!(c("revoke select on t from u"), Privilege);
        assert_eq!(
            c(r"CREATE USER \'u1_empty\'@\'%\' IDENTIFIED BY <secret>"),
            Privilege
        );
        assert_eq!(c("ALTER USER 'a'@'%' IDENTIFIED BY 'x'"), Privilege);
        assert_eq!(c("DROP USER bob"), Privilege);
        assert_eq!(c("RENAME USER a TO b"), Privilege);
        assert_eq!(c("SET PASSWORD FOR u1=<secret>"), Privilege);
        assert_eq!(c("create role analyst"), Privilege);
        assert_eq!(c("CREATE OR REPLACE USER x"), Privilege);
        assert_eq!(c("SET DEFAULT ROLE ALL TO u"), Privilege);
    }

    #[test]
    fn destructive_statements_are_recognised() {
        assert_eq!(c("DROP TABLE orders.customers_backup"), Destructive);
        assert_eq!(c("drop database shop"), Destructive);
        assert_eq!(c("TRUNCATE TABLE warehouse.staging"), Destructive);
        assert_eq!(c("DELETE FROM billing.invoices"), Destructive);
        assert_eq!(c("UPDATE users SET admin=1"), Destructive);
        assert_eq!(c("ALTER TABLE t DROP COLUMN c"), Destructive);
    }

    #[test]
    fn where_clause_makes_delete_and_update_plain_writes() {
        assert_eq!(c("DELETE FROM t WHERE id = 1"), Write);
        assert_eq!(c(r"UPDATE t SET a=1\nWHERE id=2"), Write);
        assert_eq!(c("UPDATE t SET nowhere=1"), Destructive);
    }

    #[test]
    fn exfiltration_is_found_anywhere_in_the_statement() {
        assert_eq!(
            c("SELECT * FROM orders.customers INTO OUTFILE '/tmp/c.csv'"),
            Exfiltration
        );
        assert_eq!(c("select a into   dumpfile '/tmp/x'"), Exfiltration);
        assert_eq!(c("SELECT LOAD_FILE('/etc/passwd')"), Exfiltration);
        assert_eq!(c("COPY t TO PROGRAM 'curl x'"), Exfiltration);
        assert_eq!(c("COPY t TO '/tmp/t.csv'"), Exfiltration);
        assert_eq!(c("COPY t TO STDOUT"), Write);
        assert_eq!(c("select pg_read_file('/etc/passwd')"), Exfiltration);
        assert_eq!(c("SELECT outfile, profile FROM t"), Read);
        assert_eq!(c("SELECT lo_export(123, '/tmp/x')"), Exfiltration);
        assert_eq!(c("SELECT lo_export_count FROM t"), Read);
    }

    #[test]
    fn leading_comments_and_executable_comments_are_skipped() {
        assert_eq!(c("/* app=orders */ SELECT 1"), Read);
        assert_eq!(c("/*!40101 SET NAMES utf8 */ DROP TABLE x"), Destructive);
        assert_eq!(c(r"-- hi\nGRANT ALL ON *.* TO x"), Privilege);
        assert_eq!(c("# note\nTRUNCATE t"), Destructive);
        assert_eq!(c("  \n select 1"), Read);
    }

    #[test]
    fn everything_else_has_a_class() {
        assert_eq!(c("CREATE TABLE t (a int)"), Ddl);
        assert_eq!(c("DROP VIEW v"), Ddl);
        assert_eq!(c("INSERT INTO t VALUES (1)"), Write);
        assert_eq!(c("SET autocommit=1"), Other);
        assert_eq!(c("BEGIN"), Other);
        assert_eq!(c(""), Other);
        assert_eq!(c("SELEC"), Other);
        assert_eq!(c("DR"), Other);
    }

    #[test]
    fn f_and_x_positions_are_all_found_in_order() {
        for len in 0..70 {
            let body: Vec<u8> = (0..len)
                .map(|i| match i % 7 {
                    0 => b'F',
                    3 => b'x',
                    5 => 0xC3, // a non-ASCII byte (| 0x20 is not f or x)
                    _ => b'a' + (i % 5) as u8,
                })
                .collect();
            let want: Vec<usize> = (0..len)
                .filter(|&i| matches!(body[i], b'F' | b'f' | b'X' | b'x'))
                .collect();
            let mut got = Vec::new();
            for_each_f_or_x(&body, |i| {
                got.push(i);
                false
            });
            assert_eq!(got, want, "len {len}");
            // Stops at the first `true`.
            let mut calls = 0;
            for_each_f_or_x(&body, |_| {
                calls += 1;
                true
            });
            assert_eq!(calls, want.len().min(1));
        }
        assert_eq!(
            classify(b"SELECT LO_EXPORT (16409, '/tmp/x')"),
            StatementClass::Exfiltration
        );
        assert_eq!(
            classify(b"select * from t into   dumpfile '/tmp/x'"),
            StatementClass::Exfiltration
        );
        assert_eq!(classify(b"SELECT lo_exports FROM t"), StatementClass::Read);
    }
}
