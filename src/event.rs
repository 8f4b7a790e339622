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
use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayRef, BooleanBuilder, DictionaryArray, Int32Array, Int32Builder, Int64Builder, RecordBatch,
    StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::Int32Type;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::classify::StatementClass;
use crate::sink::columns::{DictCol, StrCol};

/// What happened, in the MySQL-family audit plugin's vocabulary (PostgreSQL maps onto it).
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
    pub fn is_successful_login(self) -> bool {
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
pub fn unescape_into<W: std::fmt::Write>(b: &[u8], out: &mut W) {
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
pub fn push_lossy<W: std::fmt::Write>(mut b: &[u8], out: &mut W) {
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

/// The Arrow schema of `events/*.parquet` (CONTRACT.md, `events` columns). Defined once.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new(
                    "event_time",
                    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                    false,
                ),
                Field::new("event_time_us", DataType::Int64, false),
                Field::new("source_format", DataType::Utf8, false),
                Field::new("server_host", DataType::Utf8, false),
                Field::new("user", DataType::Utf8, false),
                Field::new("client_host", DataType::Utf8, false),
                Field::new("client_ip", DataType::Utf8, true),
                Field::new("connection_id", DataType::Int64, false),
                Field::new("query_id", DataType::Int64, false),
                Field::new("operation", DataType::Utf8, false),
                Field::new("database", DataType::Utf8, true),
                Field::new("object", DataType::Utf8, true),
                Field::new("retcode", DataType::Int32, true),
                Field::new("tls", DataType::Boolean, true),
                Field::new("statement_class", DataType::Utf8, true),
                Field::new("source_file", DataType::Utf8, false),
                Field::new("source_line", DataType::Int64, false),
            ]))
        })
        .clone()
}

/// The columns [`EventBatchBuilder`] builds as `Dictionary(Int32, Utf8)`: few distinct values
/// on many rows. Parquet sees them as plain `Utf8` (dictionary-encoded in the file).
pub const DICTIONARY_COLUMNS: [&str; 9] = [
    "source_format",
    "server_host",
    "user",
    "client_host",
    "client_ip",
    "operation",
    "database",
    "statement_class",
    "source_file",
];

/// The schema of the batches [`EventBatchBuilder`] produces: [`schema`] with the
/// [`DICTIONARY_COLUMNS`] as dictionaries.
pub fn batch_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let fields: Vec<Field> = schema()
                .fields()
                .iter()
                .map(|f| {
                    if DICTIONARY_COLUMNS.contains(&f.name().as_str()) {
                        Field::new(
                            f.name(),
                            DataType::Dictionary(
                                Box::new(DataType::Int32),
                                Box::new(DataType::Utf8),
                            ),
                            f.is_nullable(),
                        )
                    } else {
                        f.as_ref().clone()
                    }
                })
                .collect();
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// Column builders for one batch of events. Reused across batches where possible.
pub struct EventBatchBuilder {
    time_us: Vec<i64>,
    source_format: DictCol,
    server_host: DictCol,
    user: DictCol,
    client_host: DictCol,
    client_ip: DictCol,
    connection_id: Int64Builder,
    query_id: Int64Builder,
    operation: DictCol,
    database: DictCol,
    object: StrCol,
    retcode: Int32Builder,
    tls: BooleanBuilder,
    statement_class: DictCol,
    source_line: Int64Builder,
    source_path: Arc<str>,
    /// The whole input chunk is valid UTF-8, so fields cut at ASCII delimiters are too.
    utf8_checked: bool,
    /// The `client_ip` key (`-1`: no address) of each distinct host field, by its
    /// `client_host` key.
    host_ips: Vec<i32>,
    /// The user, host and database keys last pushed for a few connection ids (direct-mapped
    /// by id): a session repeats them, and interleaved sessions defeat the columns' own
    /// last-value checks. A hint only: each is compared with the value before it is used.
    sessions: Box<[Session; SESSION_SLOTS]>,
}

#[derive(Clone, Copy)]
struct Session {
    connection_id: i64,
    user: i32,
    host: i32,
    database: i32,
}

/// Per-session tables (the builder's key hints, the statistics' pending counts) are
/// direct-mapped by connection id into this many slots.
pub(crate) const SESSION_SLOTS: usize = 64;

/// The slot of `connection_id` in a table of [`SESSION_SLOTS`].
#[inline]
pub(crate) fn session_slot(connection_id: i64) -> usize {
    connection_id as u64 as usize % SESSION_SLOTS
}

const NO_SESSION: Session = Session {
    connection_id: i64::MIN,
    user: -1,
    host: -1,
    database: -1,
};

/// A batch is finished once a string column holds this much text, well below the 2 GiB that
/// 32-bit offsets allow (one more record adds at most `MAX_RECORD_BYTES`).
pub const MAX_BATCH_BYTES: usize = 1 << 30;

impl EventBatchBuilder {
    pub fn new(source_path: Arc<str>, capacity: usize) -> Self {
        let d = || DictCol::with_capacity(capacity);
        EventBatchBuilder {
            time_us: Vec::with_capacity(capacity),
            source_format: d(),
            server_host: d(),
            user: d(),
            client_host: d(),
            client_ip: d(),
            connection_id: Int64Builder::with_capacity(capacity),
            query_id: Int64Builder::with_capacity(capacity),
            operation: d(),
            database: d(),
            object: StrCol::with_capacity(capacity, capacity * 64),
            retcode: Int32Builder::with_capacity(capacity),
            tls: BooleanBuilder::with_capacity(capacity),
            statement_class: d(),
            source_line: Int64Builder::with_capacity(capacity),
            source_path,
            utf8_checked: false,
            host_ips: Vec::new(),
            sessions: Box::new([NO_SESSION; SESSION_SLOTS]),
        }
    }

    /// Declares that every byte slice pushed from now on comes from a buffer already known to
    /// be valid UTF-8 (cut at ASCII delimiters), so per-field validation can be skipped.
    pub fn set_utf8_checked(&mut self, checked: bool) {
        self.utf8_checked = checked;
    }

    pub fn len(&self) -> usize {
        self.time_us.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time_us.is_empty()
    }

    /// Bytes of text held by the largest string column: a batch is finished before any
    /// column reaches [`MAX_BATCH_BYTES`] (Arrow `Utf8` offsets are 32-bit).
    pub fn text_bytes(&self) -> usize {
        [
            &self.source_format,
            &self.server_host,
            &self.user,
            &self.client_host,
            &self.client_ip,
            &self.database,
        ]
        .iter()
        .map(|c| c.len_bytes())
        .max()
        .unwrap_or(0)
        .max(self.object.len_bytes())
    }

    /// Copies one borrowed event into the columns: the single copy of its strings.
    pub fn push(&mut self, e: &Event<'_>) {
        self.time_us.push(e.time_us);
        self.source_format
            .push_slot(e.format as usize, e.format.as_str());
        let v = self.utf8_checked;
        self.server_host.push(e.server_host, v);
        let session = session_slot(e.connection_id);
        let slot = &mut self.sessions[session];
        if slot.connection_id != e.connection_id {
            *slot = Session {
                connection_id: e.connection_id,
                ..NO_SESSION
            };
        }
        slot.user = self.user.push_hinted(e.user, v, slot.user);
        slot.host = self.client_host.push_hinted(e.client_host, v, slot.host);
        let host = self.client_host.last_key() as usize;
        if host >= self.host_ips.len() {
            // A host field not seen in this batch (keys are handed out in order).
            let ip = match client_ip(e.client_host) {
                // An IPv4 address that is the whole field prints exactly as written (the
                // parser refuses leading zeros), so no formatting is needed.
                Some(IpAddr::V4(_))
                    if e.client_host.len() <= 15 && !e.client_host.contains(&b':') =>
                {
                    Some(String::from_utf8_lossy(e.client_host).into_owned())
                }
                Some(ip) => Some(ip.to_string()),
                None => None,
            };
            let key = match ip {
                Some(ip) => {
                    self.client_ip.push_str(&ip);
                    self.client_ip.last_key()
                }
                None => {
                    self.client_ip.push_null();
                    -1
                }
            };
            self.host_ips.push(key);
        } else {
            match self.host_ips[host] {
                -1 => self.client_ip.push_null(),
                key => self.client_ip.push_key(key),
            }
        }
        self.connection_id.append_value(e.connection_id);
        self.query_id.append_value(e.query_id);
        self.operation
            .push_slot(e.operation as usize, e.operation.as_str());
        if e.database.is_empty() {
            self.database.push_null();
        } else {
            let slot = &mut self.sessions[session];
            slot.database = self.database.push_hinted(e.database, v, slot.database);
        }
        match e.object {
            Text::None => self.object.append_null(),
            Text::Raw(b) => {
                self.object.push_bytes(b, v);
                self.object.commit();
            }
            Text::Escaped(b) if v => {
                self.object.push_unescaped(b);
                self.object.commit();
            }
            Text::Escaped(b) => {
                unescape_into(b, &mut self.object);
                self.object.commit();
            }
            Text::Quoted(b) => {
                undouble_quotes_into(b, &mut self.object, v);
                self.object.commit();
            }
        }
        self.retcode.append_option(e.retcode);
        self.tls.append_option(e.tls);
        match e.statement_class {
            Some(c) => self.statement_class.push_slot(c as usize, c.as_str()),
            None => self.statement_class.push_null(),
        }
        self.source_line.append_value(e.line as i64);
    }

    /// Takes the rows pushed so far as a `RecordBatch`, leaving the builder empty.
    pub fn finish(&mut self) -> RecordBatch {
        let time_us = std::mem::take(&mut self.time_us);
        let rows = time_us.len();
        let ms: TimestampMillisecondArray = time_us
            .iter()
            .map(|us| Some(us.div_euclid(1000)))
            .collect::<TimestampMillisecondArray>()
            .with_timezone("UTC");
        let us = arrow::array::Int64Array::from(time_us);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(ms),
            Arc::new(us),
            Arc::new(self.source_format.finish()),
            Arc::new(self.server_host.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.client_host.finish()),
            Arc::new(self.client_ip.finish()),
            Arc::new(self.connection_id.finish()),
            Arc::new(self.query_id.finish()),
            Arc::new(self.operation.finish()),
            Arc::new(self.database.finish()),
            Arc::new(self.object.finish()),
            Arc::new(self.retcode.finish()),
            Arc::new(self.tls.finish()),
            Arc::new(self.statement_class.finish()),
            Arc::new(DictionaryArray::<Int32Type>::new(
                Int32Array::from(vec![0; rows]),
                Arc::new(StringArray::from(vec![&*self.source_path])),
            )),
            Arc::new(self.source_line.finish()),
        ];
        self.host_ips.clear();
        // Keys start over in the next batch.
        self.sessions.fill(NO_SESSION);
        RecordBatch::try_new(batch_schema(), columns).expect("event columns match the schema")
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
                let mut col = crate::sink::columns::StrCol::with_capacity(1, 16);
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
        let mut col = crate::sink::columns::StrCol::with_capacity(4, 16);
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

    /// Interleaved sessions, connection ids sharing a hint slot (1 and 65), a value changing
    /// within a session, and a second batch after `finish` (keys start over): every row holds
    /// its own values.
    #[test]
    fn session_hints_never_change_a_value() {
        use arrow::array::AsArray;
        let mut b = EventBatchBuilder::new("f".into(), 8);
        let rows: Vec<(i64, &str, &str, &str)> = vec![
            (1, "app", "10.0.0.1", "orders"),
            (65, "eve", "10.0.0.9", "billing"),
            (1, "app", "10.0.0.1", "orders"),
            (65, "eve", "10.0.0.9", ""),
            (1, "app", "10.0.0.2", "billing"),
            (2, "app", "10.0.0.1", "orders"),
            (1, "root", "10.0.0.2", "billing"),
        ];
        let strings = |batch: &RecordBatch, name: &str| -> Vec<Option<String>> {
            let c =
                arrow::compute::cast(batch.column_by_name(name).unwrap(), &DataType::Utf8).unwrap();
            c.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect()
        };
        for round in 0..2 {
            for (i, &(conn, user, host, db)) in rows.iter().enumerate() {
                b.push(&Event {
                    time_us: i as i64,
                    format: SourceFormat::RdsMysqlAudit,
                    server_host: b"db",
                    user: user.as_bytes(),
                    client_host: host.as_bytes(),
                    connection_id: conn,
                    query_id: 0,
                    operation: Operation::Connect,
                    database: db.as_bytes(),
                    object: Text::None,
                    retcode: Some(0),
                    tls: None,
                    statement_class: None,
                    line: i as u64 + 1,
                });
            }
            let batch = b.finish();
            let want = |k: usize| -> Vec<Option<String>> {
                rows.iter()
                    .map(|r| [r.1, r.2, r.3][k].to_string())
                    .map(|s| Some(s).filter(|s| !s.is_empty()))
                    .collect()
            };
            assert_eq!(strings(&batch, "user"), want(0), "round {round}");
            assert_eq!(strings(&batch, "client_host"), want(1), "round {round}");
            assert_eq!(strings(&batch, "database"), want(2), "round {round}");
        }
    }
}
