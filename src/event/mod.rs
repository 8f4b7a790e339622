//! The normalized event: the one shape every log format is parsed into and every analysis pass
//! reads. The vocabulary (operations, source formats), the borrowed [`Event`], the Arrow schema
//! of `events/*.parquet` and the builder that copies a borrowed event into Arrow columns are all
//! defined here, once, so that parsers, passes and writers cannot disagree about a column.
//!
//! An [`Event`] borrows every string from the mapped or decompressed input buffer; the only copy
//! of a value is the one [`EventBatchBuilder::push`] makes into the Arrow buffers. Query text
//! that still carries the audit plugin's backslash escapes is unescaped straight into the Arrow
//! value buffer, piece by piece, without an intermediate `String`.

use std::net::IpAddr;

use arrow::array::{DictionaryArray, Int32Array, StringArray, TimestampMillisecondArray};
use arrow::datatypes::Int32Type;

use crate::classify::StatementClass;

mod builder;
pub(crate) mod columns;
mod schema;

pub use builder::EventBatchBuilder;
pub(crate) use builder::MAX_BATCH_BYTES;
pub(crate) use builder::{session_slot, SESSION_SLOTS};
pub(crate) use schema::batch_schema;
pub use schema::{schema, COLUMNS};

/// What happened, in the MySQL-family audit plugin's vocabulary (PostgreSQL maps onto it).
/// The logins and the logout come first: the session tracker tells the other events from them
/// by order (`op > ProxyConnect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    Connect,
    Disconnect,
    FailedConnect,
    ChangeUser,
    ProxyConnect,
    Query,
    Read,
    Write,
    Create,
    Drop,
    Alter,
    Rename,
}

impl Operation {
    pub const ALL: [Operation; 12] = [
        Operation::Connect,
        Operation::Disconnect,
        Operation::FailedConnect,
        Operation::ChangeUser,
        Operation::ProxyConnect,
        Operation::Query,
        Operation::Read,
        Operation::Write,
        Operation::Create,
        Operation::Drop,
        Operation::Alter,
        Operation::Rename,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Connect => "CONNECT",
            Operation::Disconnect => "DISCONNECT",
            Operation::FailedConnect => "FAILED_CONNECT",
            Operation::ChangeUser => "CHANGEUSER",
            Operation::ProxyConnect => "PROXY_CONNECT",
            Operation::Query => "QUERY",
            Operation::Read => "READ",
            Operation::Write => "WRITE",
            Operation::Create => "CREATE",
            Operation::Drop => "DROP",
            Operation::Alter => "ALTER",
            Operation::Rename => "RENAME",
        }
    }

    pub fn from_bytes(b: &[u8]) -> Option<Operation> {
        Some(match b {
            b"CONNECT" => Operation::Connect,
            b"DISCONNECT" => Operation::Disconnect,
            b"FAILED_CONNECT" => Operation::FailedConnect,
            b"CHANGEUSER" => Operation::ChangeUser,
            b"PROXY_CONNECT" => Operation::ProxyConnect,
            b"QUERY" => Operation::Query,
            b"READ" => Operation::Read,
            b"WRITE" => Operation::Write,
            b"CREATE" => Operation::Create,
            b"DROP" => Operation::Drop,
            b"ALTER" => Operation::Alter,
            b"RENAME" => Operation::Rename,
            _ => return None,
        })
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// A login that succeeded (the session now runs as `user`).
    pub(crate) fn is_successful_login(self) -> bool {
        matches!(
            self,
            Operation::Connect | Operation::ChangeUser | Operation::ProxyConnect
        )
    }
}

/// Which log family (and dialect) a record came from: the `source_format` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    MariadbAudit,
    RdsMysqlAudit,
    AuroraMysqlAudit,
    Postgres,
}

impl SourceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::MariadbAudit => "mariadb_audit",
            SourceFormat::RdsMysqlAudit => "rds_mysql_audit",
            SourceFormat::AuroraMysqlAudit => "aurora_mysql_audit",
            SourceFormat::Postgres => "postgres",
        }
    }
}

/// The `object` field as found in the log: absent, raw bytes, or bytes still carrying the audit
/// plugin's backslash escapes (unescaped when copied into Arrow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text<'a> {
    None,
    Raw(&'a [u8]),
    Escaped(&'a [u8]),
    /// The inside of a CSV field in double quotes where `""` stands for `"` (pgaudit's
    /// STATEMENT); resolved when copied into Arrow. Text without `""` is [`Text::Raw`].
    Quoted(&'a [u8]),
}

impl Text<'_> {
    pub fn is_none(&self) -> bool {
        matches!(self, Text::None)
    }

    /// The text with escapes resolved; allocates only when there were escapes (tests, rules).
    pub fn to_cow(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Text::None => std::borrow::Cow::Borrowed(""),
            Text::Raw(b) => String::from_utf8_lossy(b),
            Text::Escaped(b) => {
                let mut s = String::new();
                unescape_into(b, &mut s);
                std::borrow::Cow::Owned(s)
            }
            Text::Quoted(b) => {
                let mut s = String::new();
                undouble_quotes_into(b, &mut s, false);
                std::borrow::Cow::Owned(s)
            }
        }
    }
}

/// One normalized event, borrowing its strings from the input buffer.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    pub time_us: i64,
    pub format: SourceFormat,
    pub server_host: &'a [u8],
    pub user: &'a [u8],
    pub client_host: &'a [u8],
    pub connection_id: i64,
    pub query_id: i64,
    pub operation: Operation,
    /// Empty means "no default database" (null in Parquet).
    pub database: &'a [u8],
    pub object: Text<'a>,
    pub retcode: Option<i32>,
    pub tls: Option<bool>,
    pub statement_class: Option<StatementClass>,
    /// 1-based line number in the (decompressed) input.
    pub line: u64,
}

/// The canonical client address of a host field: the IP when the host is an address (a
/// MariaDB 12 `:port` or PostgreSQL `(port)` suffix stripped), `None` for names and sockets.
pub fn client_ip(host: &[u8]) -> Option<IpAddr> {
    if host.is_empty()
        || host.len() > 64
        || !(host[0].is_ascii_hexdigit() || host[0] == b'[' || host[0] == b':')
    {
        return None;
    }
    let s = std::str::from_utf8(host).ok()?;
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    // `[v6]:port` or `[v6]`
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        return rest[..end].parse::<IpAddr>().ok();
    }
    // `v4:port` (MariaDB 12). An IPv6 address with a port suffix is ambiguous without
    // brackets, so only an IPv4 prefix is accepted (formats.md checklist 21).
    if let Some((ip, port)) = s.rsplit_once(':') {
        if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(v4) = ip.parse::<std::net::Ipv4Addr>() {
                return Some(IpAddr::V4(v4));
            }
        }
    }
    None
}

/// Resolves the audit plugin's escapes (`\'`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`; an unknown
/// `\x` stays literal) while appending to `out`. Invalid UTF-8 is replaced, never rejected.
pub(crate) fn unescape_into<W: std::fmt::Write>(b: &[u8], out: &mut W) {
    unescape_with(b, out, push_lossy);
}

/// What the audit plugin's escape `\c` stands for (always one ASCII byte); `None` for an
/// unknown escape, which keeps its backslash.
#[inline]
pub(crate) fn unescaped_byte(c: u8) -> Option<u8> {
    // A table rather than a `match`: the escapes of one text vary, and the jump of a `match`
    // on them is mispredicted often. 0x100 marks an unknown escape.
    const TABLE: [u16; 256] = {
        let mut t = [0x100u16; 256];
        t[b'n' as usize] = b'\n' as u16;
        t[b'r' as usize] = b'\r' as u16;
        t[b't' as usize] = b'\t' as u16;
        t[b'b' as usize] = 0x08;
        t[b'f' as usize] = 0x0c;
        t[b'\'' as usize] = b'\'' as u16;
        t[b'\\' as usize] = b'\\' as u16;
        t[b'"' as usize] = b'"' as u16;
        t[b'0' as usize] = 0;
        t
    };
    let v = TABLE[c as usize];
    (v < 0x100).then_some(v as u8)
}

/// The escape map, with `piece` appending the text between escapes.
#[inline]
fn unescape_with<W: std::fmt::Write>(mut b: &[u8], out: &mut W, piece: impl Fn(&[u8], &mut W)) {
    while let Some(i) = crate::bytes::find_byte_near(b'\\', b) {
        piece(&b[..i], out);
        let Some(&c) = b.get(i + 1) else {
            let _ = out.write_str("\\");
            return;
        };
        let Some(r) = unescaped_byte(c) else {
            // Unknown escape: keep the backslash; what follows is copied as text (it may be
            // the start of a multi-byte character).
            let _ = out.write_str("\\");
            b = &b[i + 1..];
            continue;
        };
        let mut buf = [0u8; 4];
        let _ = out.write_str(char::from(r).encode_utf8(&mut buf));
        b = &b[i + 2..];
    }
    piece(b, out);
}

/// Resolves CSV `""` to `"` while appending to `out`. `checked`: `b` is known to be valid
/// UTF-8 (it is cut only next to ASCII quotes, so the pieces are too); otherwise invalid
/// sequences are replaced.
fn undouble_quotes_into<W: std::fmt::Write>(mut b: &[u8], out: &mut W, checked: bool) {
    let piece = |x: &[u8], out: &mut W| {
        if checked {
            // SAFETY: see the doc comment; `x` is a valid UTF-8 piece of valid UTF-8 text.
            let _ = out.write_str(unsafe { std::str::from_utf8_unchecked(x) });
        } else {
            push_lossy(x, out);
        }
    };
    while let Some(i) = memchr::memchr(b'"', b) {
        piece(&b[..=i], out);
        b = if b.get(i + 1) == Some(&b'"') {
            &b[i + 2..]
        } else {
            &b[i + 1..]
        };
    }
    piece(b, out);
}

/// Appends bytes as UTF-8, replacing invalid sequences with U+FFFD.
pub(crate) fn push_lossy<W: std::fmt::Write>(mut b: &[u8], out: &mut W) {
    loop {
        match std::str::from_utf8(b) {
            Ok(s) => {
                let _ = out.write_str(s);
                return;
            }
            Err(e) => {
                let good = e.valid_up_to();
                // SAFETY-free: the prefix was just validated.
                let _ = out.write_str(std::str::from_utf8(&b[..good]).unwrap_or_default());
                let _ = out.write_str("\u{FFFD}");
                let skip = e.error_len().unwrap_or(b.len() - good);
                b = &b[good + skip..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_resolves_plugin_escapes_and_keeps_unknown_ones() {
        let mut s = String::new();
        unescape_into(br"select \'A\', \\x\n\q", &mut s);
        assert_eq!(s, "select 'A', \\x\n\\q");
    }

    #[test]
    fn checked_unescape_agrees_with_lossy_unescape() {
        let cases: [&[u8]; 5] = [
            b"select \\'A\\', \\\\x\\n\\q end",
            "東京 \\n\\é\\".as_bytes(),
            b"\\",
            b"",
            b"a\\\"b",
        ];
        for text in cases {
            let mut a = String::new();
            unescape_into(text, &mut a);
            // The builder's byte-level path for validated text.
            if std::str::from_utf8(text).is_ok() {
                let mut col = columns::StrCol::with_capacity(1, 16);
                col.push_unescaped(text);
                col.commit();
                assert_eq!(
                    col.finish().value(0),
                    a,
                    "{:?}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }

    #[test]
    fn block_unescape_agrees_with_lossy_unescape_at_every_offset() {
        // Escapes at every position of the 16-byte blocks, runs of backslashes, escapes
        // split across blocks and at the very end, several values in one column.
        let pieces: [&[u8]; 9] = [
            b"\\",
            b"\\'",
            b"\\\\",
            b"\\q",
            b"x",
            b"\\n",
            "é".as_bytes(),
            b"abcdefg",
            b" ",
        ];
        let mut col = columns::StrCol::with_capacity(4, 16);
        let mut want = Vec::new();
        let mut state = 0x9e37_79b9_u32;
        for n in 0..2000 {
            let mut text = Vec::new();
            for _ in 0..n % 60 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                text.extend_from_slice(pieces[state as usize % pieces.len()]);
            }
            let mut a = String::new();
            unescape_into(&text, &mut a);
            want.push(a);
            col.push_unescaped(&text);
            col.commit();
        }
        let got = col.finish();
        for (i, w) in want.iter().enumerate() {
            assert_eq!(got.value(i), w, "value {i}");
        }
    }

    #[test]
    fn doubled_csv_quotes_are_resolved_once() {
        for checked in [false, true] {
            let mut s = String::new();
            undouble_quotes_into("a \"\"b\"\" \"\"\"\" é".as_bytes(), &mut s, checked);
            assert_eq!(s, "a \"b\" \"\" é");
        }
        assert_eq!(Text::Quoted(b"x\"\"y").to_cow(), "x\"y");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_rejected() {
        let mut s = String::new();
        push_lossy(b"ab\xffcd\xe6\x9d", &mut s);
        assert_eq!(s, "ab\u{FFFD}cd\u{FFFD}");
    }

    #[test]
    fn client_ip_strips_ports_and_rejects_names() {
        assert_eq!(
            client_ip(b"192.168.1.24:54312").unwrap().to_string(),
            "192.168.1.24"
        );
        assert_eq!(
            client_ip(b"2001:db8::1").unwrap().to_string(),
            "2001:db8::1"
        );
        assert_eq!(
            client_ip(b"[2001:db8::1]:5432").unwrap().to_string(),
            "2001:db8::1"
        );
        assert!(client_ip(b"localhost").is_none());
        assert!(client_ip(b"ip-10-1-0-5").is_none());
        assert!(client_ip(b"").is_none());
        assert!(client_ip(b"deadbeef").is_none());
        assert_eq!(client_ip(b"::1").unwrap().to_string(), "::1");
    }
}
