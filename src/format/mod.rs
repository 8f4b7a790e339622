//! Log formats: sniffing a file's family, finding record boundaries, and dispatching each
//! record-aligned chunk to the parser of its family.
//!
//! Parsers know nothing of passes or writers: they report what each line is to a
//! [`RecordSink`] (an event, a blank, an ignored server message, or a rejected line with its
//! reason), so that every input line is accounted for exactly once. Adding a format touches
//! this folder only.

mod clock;
pub mod cloudtrail;
pub mod cloudwatch_json;
pub mod json_bounds;
pub mod mysql;
pub mod mysql_syslog;
pub mod pg_prefix;
pub mod postgres;
pub mod postgres_csv;
pub mod window;

use crate::event::{Event, SourceFormat};
use crate::time::TimeError;
pub use clock::Clock;

/// The default record limit (`--max-record-bytes`): a record longer than this stays an event
/// with its fields, but its text is cut here and it is counted as `truncated` (see
/// [`cut_record`]). The audit plugin caps query text at `server_audit_query_log_limit`
/// (1 KiB by default), PostgreSQL does not cap statements; the limit bounds the memory a
/// stream holds for one record and the text one row carries.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

/// The largest `--max-record-bytes` taken (larger values are lowered to it): one record's text
/// must fit an Arrow batch with room to spare (see `event::MAX_BATCH_BYTES`).
pub(crate) const MAX_RECORD_BYTES_CEILING: usize = 1 << 30;

/// The smallest `--max-record-bytes` taken (smaller values are raised to it): every header
/// fits well within it.
pub(crate) const MAX_RECORD_BYTES_FLOOR: usize = 256;

/// Where a record longer than `max` bytes is cut: at `max`, moved back to the start of a
/// UTF-8 character so the kept text stays valid where the record was. `None` when the record
/// is not over the limit.
pub(crate) fn cut_record(record: &[u8], max: usize) -> Option<usize> {
    if record.len() <= max {
        return None;
    }
    let mut at = max;
    // At most three continuation bytes (0b10xx_xxxx) precede a character's end.
    while at > 0 && max - at < 3 && record[at] & 0xC0 == 0x80 {
        at -= 1;
    }
    Some(at)
}

/// Longest excerpt of a rejected line kept in the summary.
pub(crate) const EXCERPT_BYTES: usize = 160;

/// The log family of a file, as sniffed (or forced with `--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// MariaDB `server_audit` and its RDS for MySQL fork: `YYYYMMDD HH:MM:SS,...`. Whether a
    /// line is MariaDB or RDS MySQL is decided per line by its trailing fields.
    MysqlAudit,
    /// Aurora MySQL advanced auditing: 16-digit epoch microseconds.
    AuroraAudit,
    /// MariaDB `server_audit_output_type=syslog`: the record, without its timestamp, as the
    /// message of a syslog line (see [`mysql_syslog`]).
    MysqlSyslog,
    /// RDS / Aurora PostgreSQL logs (`%t:%r:%u@%d:[%p]:`), with pgaudit; multi-line records.
    Postgres,
    /// PostgreSQL `csvlog` rows (`postgresql.log.*.csv`): rewritten into the stderr layout and
    /// read by its parser (see [`postgres_csv`]).
    PostgresCsv,
    /// CloudWatch Logs JSON (`filter-log-events` output, subscription / Firehose payloads):
    /// each event's message is parsed by the parser of its own family.
    CloudwatchJson,
}

/// How a file's lines are laid out: its family, and whether each line carries the CloudWatch
/// S3-export prefix (`2026-03-01T12:00:00.000Z `).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileFormat {
    pub family: Family,
    pub cloudwatch_export: bool,
    /// `--format` names a dialect: label every event with it.
    pub forced: Option<SourceFormat>,
    /// How plugin timestamps are read: the scan's UTC offset, and its custom layout when the
    /// file is written in it.
    pub clock: Clock,
}

impl FileFormat {
    pub fn name(&self) -> &'static str {
        let base = match (self.forced, self.family) {
            (Some(f), _) => f.as_str(),
            (None, Family::MysqlAudit) => "mysql_audit",
            (None, Family::AuroraAudit) => "aurora_mysql_audit",
            (None, Family::MysqlSyslog) => "mariadb_audit_syslog",
            (None, Family::Postgres) => "postgres",
            (None, Family::PostgresCsv) => "postgres_csvlog",
            (None, Family::CloudwatchJson) => "cloudwatch_json",
        };
        if self.cloudwatch_export {
            match base {
                "mysql_audit" => "cloudwatch_export+mysql_audit",
                "mariadb_audit" => "cloudwatch_export+mariadb_audit",
                "rds_mysql_audit" => "cloudwatch_export+rds_mysql_audit",
                "aurora_mysql_audit" => "cloudwatch_export+aurora_mysql_audit",
                "postgres" => "cloudwatch_export+postgres",
                other => other,
            }
        } else {
            base
        }
    }
}

/// `--format`: `auto` or a forced dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FormatChoice {
    #[default]
    Auto,
    Mariadb,
    MariadbSyslog,
    RdsMysql,
    AuroraMysql,
    Postgres,
    CloudwatchJson,
}

impl FormatChoice {
    /// The name `--format` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            FormatChoice::Auto => "auto",
            FormatChoice::Mariadb => "mariadb-audit",
            FormatChoice::MariadbSyslog => "mariadb-audit-syslog",
            FormatChoice::RdsMysql => "rds-mysql-audit",
            FormatChoice::AuroraMysql => "aurora-mysql-audit",
            FormatChoice::Postgres => "postgres",
            FormatChoice::CloudwatchJson => "cloudwatch-json",
        }
    }
}

impl std::str::FromStr for FormatChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "auto" => FormatChoice::Auto,
            "mariadb-audit" => FormatChoice::Mariadb,
            "mariadb-audit-syslog" => FormatChoice::MariadbSyslog,
            "rds-mysql-audit" => FormatChoice::RdsMysql,
            "aurora-mysql-audit" => FormatChoice::AuroraMysql,
            "postgres" => FormatChoice::Postgres,
            "cloudwatch-json" => FormatChoice::CloudwatchJson,
            _ => {
                return Err(format!(
                    "unknown format {s:?}: expected auto, mariadb-audit, mariadb-audit-syslog, rds-mysql-audit, aurora-mysql-audit, postgres, cloudwatch-json"
                ))
            }
        })
    }
}

/// Why a line was rejected. A fixed vocabulary, so the summary can count by reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    BadTimestamp,
    MissingFields,
    NoOperation,
    BadNumber,
    UnterminatedQuery,
    TooLong,
    TruncatedLastLine,
    CorruptInput,
    UnknownTimeZone,
    BadPrefix,
    OrphanContinuation,
    BadJson,
    NoMessage,
    NotAnEvent,
    /// The timestamp's month is 00 or over 12.
    BadMonth,
    /// The timestamp's day does not exist in its month (`20260231`).
    BadDay,
    /// The timestamp's hour is over 23.
    BadHour,
    /// The timestamp's minute is over 59.
    BadMinute,
    /// The timestamp's second is over 60 (60 is a leap second, see [`TimeError`]).
    BadSecond,
}

impl From<TimeError> for Reason {
    fn from(e: TimeError) -> Reason {
        match e {
            TimeError::Layout => Reason::BadTimestamp,
            TimeError::Month => Reason::BadMonth,
            TimeError::Day => Reason::BadDay,
            TimeError::Hour => Reason::BadHour,
            TimeError::Minute => Reason::BadMinute,
            TimeError::Second => Reason::BadSecond,
        }
    }
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BadTimestamp => "line does not start with a valid audit timestamp",
            Reason::MissingFields => "too few fields for an audit record",
            Reason::NoOperation => "no known operation (CONNECT, QUERY, ...) after the id fields",
            Reason::BadNumber => "a numeric field (retcode) is not a number",
            Reason::UnterminatedQuery => "query text has no closing quote",
            Reason::TooLong => "record longer than the record limit that cannot be read as a record",
            Reason::TruncatedLastLine => "truncated last line (no newline at end of input)",
            Reason::CorruptInput => "input ended in corrupt compressed data",
            Reason::UnknownTimeZone => "timestamp has a time zone abbreviation that is not known",
            Reason::BadPrefix => {
                "PostgreSQL line prefix (log_line_prefix, e.g. RDS's %t:%r:%u@%d:[%p]:, then SEVERITY:) is malformed"
            }
            Reason::OrphanContinuation => "continuation line outside any record",
            Reason::BadJson => "not valid CloudWatch Logs JSON (corrupt or truncated document)",
            Reason::NoMessage => "CloudWatch log event without a message",
            Reason::NotAnEvent => "a server message with no audit meaning (not an event)",
            Reason::BadMonth => "timestamp month does not exist (not 01 to 12)",
            Reason::BadDay => {
                "timestamp day does not exist in its month (such as February 31, or February 29 outside a leap year)"
            }
            Reason::BadHour => "timestamp hour does not exist (over 23)",
            Reason::BadMinute => "timestamp minute does not exist (over 59)",
            Reason::BadSecond => "timestamp second does not exist (over 60)",
        }
    }
}

/// What a parser reports for each line of a chunk.
pub trait RecordSink<'a> {
    fn event(&mut self, event: Event<'a>, message: &'a [u8]);
    fn blank(&mut self, line: u64);
    fn rejected(&mut self, line: u64, reason: Reason, text: &'a [u8]);
    /// `lines` lines that hold no event of their own: a recognised server message with no
    /// audit meaning (a PostgreSQL checkpoint, `connection received`, an END OF LOG marker),
    /// or the lines after the first of a multi-line record (which the record already counts
    /// once). With this, `lines = records + ignored + blank + rejected` in every format.
    fn ignored(&mut self, _lines: u64) {}
    /// The record limit (`--max-record-bytes`): a record longer than this is reported by
    /// [`RecordSink::truncated`] then [`RecordSink::event`], with its text cut at the limit.
    fn max_record(&self) -> usize {
        DEFAULT_MAX_RECORD_BYTES
    }
    /// The next event reported is a record cut at [`RecordSink::max_record`]: its header
    /// fields are whole, its text (and what followed it, such as a retcode) is cut.
    fn truncated(&mut self) {}
}

/// Sniffs the format of a file from its first bytes: the first non-blank lines, with a
/// CloudWatch export prefix stripped. `None` means "not an audit log we read".
pub fn sniff(head: &[u8]) -> Option<FileFormat> {
    if cloudwatch_json::sniff(head) {
        return Some(FileFormat {
            family: Family::CloudwatchJson,
            cloudwatch_export: false,
            forced: None,
            clock: Clock::default(),
        });
    }
    let mut seen = 0;
    for raw in head.split(|&b| b == b'\n') {
        let line = trim_cr(raw);
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        seen += 1;
        // A PostgreSQL file cut from a longer log may open with a long statement's
        // continuation lines: look past them.
        if seen > 64 {
            break;
        }
        let (body, cw) = match crate::time::parse_cloudwatch_prefix(line) {
            Some((_, n)) => (&line[n..], true),
            None => (line, false),
        };
        if let Some(family) = mysql::sniff_line(body) {
            return Some(FileFormat {
                family,
                cloudwatch_export: cw,
                forced: None,
                clock: Clock::default(),
            });
        }
        if postgres::sniff_line(body) {
            return Some(FileFormat {
                family: Family::Postgres,
                cloudwatch_export: cw,
                forced: None,
                clock: Clock::default(),
            });
        }
        // Another common `log_line_prefix`: the one that reads most of the head.
        if pg_prefix::sniff_line(body) {
            return Some(FileFormat {
                family: Family::Postgres,
                cloudwatch_export: cw,
                forced: None,
                clock: Clock {
                    pg_prefix: pg_prefix::sniff_head(head),
                    ..Clock::default()
                },
            });
        }
        if mysql_syslog::sniff_line(line) {
            return Some(FileFormat {
                family: Family::MysqlSyslog,
                cloudwatch_export: false,
                forced: None,
                clock: Clock::default(),
            });
        }
        if !cw && postgres_csv::is_row_start(body) {
            return Some(FileFormat {
                family: Family::PostgresCsv,
                cloudwatch_export: false,
                forced: None,
                clock: Clock::default(),
            });
        }
    }
    None
}

/// Sniffs a file's format, or applies `--format`, under the scan's `clock`: a file that only
/// the custom layout reads (MariaDB ≥ 12 `server_audit_timestamp_format`) is a MariaDB-family
/// log too.
///
/// A `log_line_prefix` the user gave (`clock.pg_prefix`) reads a file when it reads a line of
/// its head (or when `--format postgres` forces it); other files keep their sniffed layout.
pub(crate) fn detect(choice: FormatChoice, clock: Clock, head: &[u8]) -> Option<FileFormat> {
    if let Some(p) = clock.pg_prefix {
        let forced = choice == FormatChoice::Postgres;
        if forced || (choice == FormatChoice::Auto && pg_prefix::lines_read(p, head) > 0) {
            return Some(FileFormat {
                family: Family::Postgres,
                cloudwatch_export: pg_prefix::head_is_exported(head),
                forced: forced.then_some(SourceFormat::Postgres),
                clock: Clock {
                    layout: None,
                    ..clock
                },
            });
        }
    }
    let standard = sniff(head);
    let custom = match (clock.layout, standard) {
        (Some(layout), None)
            if matches!(
                choice,
                FormatChoice::Auto | FormatChoice::Mariadb | FormatChoice::RdsMysql
            ) =>
        {
            mysql::sniff_custom(head, layout)
        }
        _ => None,
    };
    let mut format = match (choice, custom) {
        (_, Some(cloudwatch_export)) => FileFormat {
            family: Family::MysqlAudit,
            cloudwatch_export,
            forced: forced(choice, head).and_then(|f| f.forced),
            clock,
        },
        (FormatChoice::Auto, None) => standard?,
        (c, None) => forced(c, head)?,
    };
    // The layout is tried first on every line of a MariaDB-family file: the server can
    // change `server_audit_timestamp_format` at run time, so one file may hold both.
    // A PostgreSQL file keeps the prefix it was sniffed with.
    format.clock = Clock {
        layout: clock.layout.filter(|_| format.family == Family::MysqlAudit),
        offset_us: clock.offset_us,
        pg_prefix: format
            .clock
            .pg_prefix
            .filter(|_| format.family == Family::Postgres),
    };
    Some(format)
}

/// Applies `--format`: the family follows the forced dialect; the export prefix is still
/// sniffed, since it wraps any dialect.
pub(crate) fn forced(choice: FormatChoice, head: &[u8]) -> Option<FileFormat> {
    let sniffed = sniff(head);
    let cloudwatch_export = sniffed.map(|f| f.cloudwatch_export).unwrap_or(false);
    let (family, source) = match choice {
        FormatChoice::Auto => return sniff(head),
        // A MariaDB-family dialect keeps the syslog wrapping the file has.
        FormatChoice::Mariadb | FormatChoice::MariadbSyslog | FormatChoice::RdsMysql => {
            let family = match sniffed {
                Some(f) if f.family == Family::MysqlSyslog => Family::MysqlSyslog,
                _ if choice == FormatChoice::MariadbSyslog => Family::MysqlSyslog,
                _ => Family::MysqlAudit,
            };
            let source = if choice == FormatChoice::RdsMysql {
                SourceFormat::RdsMysqlAudit
            } else {
                SourceFormat::MariadbAudit
            };
            (family, source)
        }
        FormatChoice::AuroraMysql => (Family::AuroraAudit, SourceFormat::AuroraMysqlAudit),
        // Both PostgreSQL layouts are read by one parser; keep the one the file has.
        FormatChoice::Postgres => match sniff(head) {
            Some(f) if f.family == Family::PostgresCsv => {
                (Family::PostgresCsv, SourceFormat::Postgres)
            }
            _ => (Family::Postgres, SourceFormat::Postgres),
        },
        // Each message names its own format: nothing to force below the wrapper.
        FormatChoice::CloudwatchJson => {
            return Some(FileFormat {
                family: Family::CloudwatchJson,
                cloudwatch_export: false,
                forced: None,
                clock: Clock::default(),
            })
        }
    };
    Some(FileFormat {
        family,
        cloudwatch_export,
        forced: Some(source),
        // A PostgreSQL file keeps the `log_line_prefix` it was sniffed with.
        clock: Clock {
            pg_prefix: sniffed
                .filter(|f| f.family == Family::Postgres)
                .and_then(|f| f.clock.pg_prefix),
            ..Clock::default()
        },
    })
}

/// The start of the first record at or after `pos`. Chunk boundaries are placed here so that
/// no record spans two chunks: a line in the MySQL family; a line that opens a new entry
/// (see [`postgres::is_boundary`]) in PostgreSQL logs. A mapped JSON delivery is cut by
/// [`cloudwatch_json::plan_chunks`] instead (the chunks start between events, and need the
/// walk's position there); asked here, it is never cut.
pub(crate) fn next_record_start(format: &FileFormat, buf: &[u8], pos: usize) -> usize {
    if pos == 0 || pos >= buf.len() {
        return pos.min(buf.len());
    }
    let line_start = if buf[pos - 1] == b'\n' {
        pos
    } else {
        match memchr::memchr(b'\n', &buf[pos..]) {
            Some(i) => pos + i + 1,
            None => return buf.len(),
        }
    };
    match format.family {
        Family::MysqlAudit | Family::AuroraAudit | Family::MysqlSyslog => line_start,
        Family::Postgres => match format.clock.pg_prefix {
            None => first_line_where(buf, line_start, postgres::is_boundary),
            p => first_line_where(buf, line_start, |l| postgres::is_boundary_with(p, l)),
        },
        Family::PostgresCsv => first_line_where(buf, line_start, postgres_csv::is_row_start),
        Family::CloudwatchJson => buf.len(),
    }
}

/// The end of the last complete record in `buf` (for streamed input, where the tail is kept
/// for the next block). `None` when no record is known to be complete yet.
pub fn last_record_end(format: &FileFormat, buf: &[u8]) -> Option<usize> {
    match format.family {
        Family::MysqlAudit | Family::AuroraAudit | Family::MysqlSyslog => {
            memchr::memrchr(b'\n', buf).map(|i| i + 1)
        }
        // A record ends where the next one starts; only whole lines can be judged.
        Family::Postgres => match format.clock.pg_prefix {
            None => last_line_where(buf, postgres::is_boundary),
            p => last_line_where(buf, |l| postgres::is_boundary_with(p, l)),
        },
        Family::PostgresCsv => last_line_where(buf, postgres_csv::is_row_start),
        // Between whole JSON documents (a stream is cut between events by [`RecordEnds`],
        // which carries the position from block to block). `Some(0)` (rather than `None`)
        // while the first document is incomplete asks for more input without the
        // record-length limit.
        Family::CloudwatchJson => Some(cloudwatch_json::complete_documents_end(buf)),
    }
}

/// The record ends of a stream, block after block: [`last_record_end`], except in a
/// CloudWatch JSON delivery, which is cut between its events (not only between documents),
/// so a delivery of one huge `filter-log-events` page is read in bounded blocks. The walk's
/// position at each cut is carried to the next block (see [`json_bounds::StreamCut`]); the
/// parser carries the same position in its [`cloudwatch_json::Resume`].
pub struct RecordEnds {
    format: FileFormat,
    json: json_bounds::StreamCut,
}

impl RecordEnds {
    pub fn new(format: FileFormat) -> RecordEnds {
        RecordEnds {
            format,
            json: Default::default(),
        }
    }

    /// The end of the last complete record in `buf`, which starts where the previous cut
    /// left off.
    pub fn cut(&mut self, buf: &[u8]) -> Option<usize> {
        match self.format.family {
            Family::CloudwatchJson => self.json.cut(buf),
            _ => last_record_end(&self.format, buf),
        }
    }
}

/// A chunk as its parser reads it: the mapped or decompressed bytes themselves, or, for the
/// layouts whose records are rewritten first (CloudWatch JSON deliveries, csvlog rows), the
/// arena they are rewritten into. The caller keeps it for as long as the chunk's events are
/// in use (events borrow from it as they borrow from a mapped file).
pub(crate) enum Decoded<'c> {
    Raw(&'c [u8]),
    Json(cloudwatch_json::Arena),
    Csv(postgres_csv::Arena),
}

impl<'c> Decoded<'c> {
    /// Decodes `chunk` as `format` needs (a copy only for the rewritten layouts). A chunk of
    /// a CloudWatch JSON delivery may start between two events of a document (a chunk
    /// planned by [`cloudwatch_json::plan_chunks`], a block cut by [`RecordEnds`]): `json`
    /// says where it starts (`None`: at the start of the delivery, or of a document) and is
    /// left saying where the next chunk starts.
    pub fn new(
        format: &FileFormat,
        chunk: &'c [u8],
        at_eof: bool,
        json: Option<&mut cloudwatch_json::Resume>,
    ) -> Self {
        match format.family {
            Family::CloudwatchJson => Decoded::Json(match json {
                Some(resume) => cloudwatch_json::Arena::decode_from(chunk, resume, at_eof),
                None => cloudwatch_json::Arena::decode_from(chunk, &mut Default::default(), at_eof),
            }),
            Family::PostgresCsv => Decoded::Csv(postgres_csv::Arena::decode(chunk, at_eof)),
            _ => Decoded::Raw(chunk),
        }
    }

    /// Decodes the head of one record over the record limit, of which a stream kept no more
    /// (an open csvlog field is closed at the cut).
    pub(crate) fn head(format: &FileFormat, head: &'c [u8]) -> Self {
        match format.family {
            Family::PostgresCsv => Decoded::Csv(postgres_csv::Arena::decode_head(head)),
            _ => Decoded::new(format, head, false, None),
        }
    }

    /// The text the events borrow from (for UTF-8 validation and sizing).
    pub fn text(&self) -> &[u8] {
        match self {
            Decoded::Raw(b) => b,
            Decoded::Json(a) => a.text(),
            Decoded::Csv(a) => a.text(),
        }
    }

    /// Parses the chunk into `sink`; returns the lines (units) it covered.
    pub fn parse<'a, S: RecordSink<'a>>(
        &'a self,
        format: &FileFormat,
        first_line: u64,
        at_eof: bool,
        sink: &mut S,
    ) -> u64 {
        match self {
            Decoded::Raw(b) => parse_chunk(format, b, first_line, at_eof, sink),
            Decoded::Json(a) => a.parse(format.clock, first_line, sink),
            Decoded::Csv(a) => a.parse(format.forced, first_line, sink),
        }
    }
}

/// Where the next record starts in `buf`, which starts inside a record (on its last byte
/// read, at worst; for a stream reading past a record over the limit): the start of the first
/// line after `buf`'s first line that starts a record. Only whole lines are judged, and a line
/// still continuing once [`RECORD_START_PEEK`](crate::input::blocks::RECORD_START_PEEK) bytes
/// of it are read; at the end of input (`at_eof`) every line. `None`: not known yet.
pub(crate) fn rest_of_record_end(format: &FileFormat, buf: &[u8], at_eof: bool) -> Option<usize> {
    let starts: fn(&[u8]) -> bool = match format.family {
        Family::Postgres => postgres::is_boundary,
        Family::PostgresCsv => postgres_csv::is_row_start,
        Family::MysqlAudit | Family::AuroraAudit | Family::MysqlSyslog => {
            return crate::input::blocks::rest_of_line(buf, at_eof);
        }
        // Not reached: a JSON stream is read without the limit, cut between its events by
        // [`RecordEnds`] (see `plan/stream.rs`). Were it, what is over the limit would run
        // to the end of input (events are not found by lines).
        Family::CloudwatchJson => return at_eof.then_some(buf.len()),
    };
    crate::input::blocks::rest_of_record(buf, at_eof, |line| starts(trim_cr(line)))
}

/// Parses a record-aligned chunk. `first_line` is the 1-based number of its first line;
/// `at_eof` says whether the chunk ends the input (a last line without `\n` is then a
/// truncated line if it does not parse).
///
/// A CloudWatch JSON chunk must be decoded first ([`cloudwatch_json::Arena`]): its messages
/// are owned, and events borrow from the decoded text. Given here undecoded, it is reported
/// as one rejected document.
pub fn parse_chunk<'a, S: RecordSink<'a>>(
    format: &FileFormat,
    chunk: &'a [u8],
    first_line: u64,
    at_eof: bool,
    sink: &mut S,
) -> u64 {
    match format.family {
        Family::MysqlAudit | Family::AuroraAudit => {
            mysql::parse_chunk(format, chunk, first_line, at_eof, sink)
        }
        Family::MysqlSyslog => mysql_syslog::parse_chunk(format, chunk, first_line, at_eof, sink),
        Family::Postgres => postgres::parse_chunk(format, chunk, first_line, at_eof, sink),
        Family::CloudwatchJson => {
            if chunk.is_empty() {
                return 0;
            }
            sink.rejected(first_line, Reason::BadJson, &chunk[..chunk.len().min(160)]);
            1
        }
        // Rows must be rewritten first ([`postgres_csv::Arena`]); counted here, unread.
        Family::PostgresCsv => {
            let lines = bytecount::count(chunk, b'\n') as u64
                + u64::from(chunk.last().is_some_and(|&b| b != b'\n'));
            if lines > 0 {
                sink.rejected(
                    first_line,
                    Reason::CorruptInput,
                    &chunk[..chunk.len().min(160)],
                );
                sink.ignored(lines - 1);
            }
            lines
        }
    }
}

/// The start of the first line at or after line start `at` for which `starts` holds (`\r`
/// trimmed), or the end of `buf`.
fn first_line_where(buf: &[u8], mut at: usize, starts: impl Fn(&[u8]) -> bool) -> usize {
    while at < buf.len() {
        let end = memchr::memchr(b'\n', &buf[at..]).map_or(buf.len(), |i| at + i);
        if starts(trim_cr(&buf[at..end])) {
            return at;
        }
        at = end + 1;
    }
    buf.len()
}

/// The start of the last whole line of `buf`, after its first line, for which `starts` holds.
fn last_line_where(buf: &[u8], starts: impl Fn(&[u8]) -> bool) -> Option<usize> {
    let mut end = memchr::memrchr(b'\n', buf)?;
    while let Some(i) = memchr::memrchr(b'\n', &buf[..end]) {
        let start = i + 1;
        if starts(trim_cr(&buf[start..end])) {
            return Some(start);
        }
        end = i;
    }
    None
}

pub(crate) fn trim_cr(line: &[u8]) -> &[u8] {
    match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    }
}

/// Parses a single line on its own (sniffing its layout): for tests, rules and tools that
/// look at one line at a time. The hot path uses [`parse_chunk`].
pub fn parse_line(line: &[u8]) -> Result<Event<'_>, Reason> {
    let line = trim_cr(line);
    let format = sniff(line).ok_or(Reason::BadTimestamp)?;
    let body = match crate::time::parse_cloudwatch_prefix(line) {
        Some((Err(e), _)) if format.cloudwatch_export => return Err(e.into()),
        Some((_, n)) if format.cloudwatch_export => &line[n..],
        _ => line,
    };
    match format.family {
        Family::Postgres => match postgres::Parser::new(None).record(body, 1) {
            postgres::Outcome::Event(e) => Ok(e),
            postgres::Outcome::Ignored => Err(Reason::NotAnEvent),
            postgres::Outcome::Rejected(r) => Err(r),
        },
        Family::CloudwatchJson => Err(Reason::BadJson),
        Family::MysqlSyslog => mysql_syslog::parse_line(&format, line),
        // A csvlog row is read through an arena that the event would borrow from: use
        // `postgres_csv::Arena` directly.
        Family::PostgresCsv => Err(Reason::NotAnEvent),
        _ => mysql::parse_record(&format, body, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_recognises_each_mysql_family_layout() {
        let f = sniff(b"20230501 10:02:19,db1,root,localhost,12,0,CONNECT,mysql,,0\n").unwrap();
        assert_eq!(f.family, Family::MysqlAudit);
        assert!(!f.cloudwatch_export);
        let f =
            sniff(b"\n1653053459680124,c731,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0\n")
                .unwrap();
        assert_eq!(f.family, Family::AuroraAudit);
        let f = sniff(b"2023-05-01T10:02:19.000Z 20230501 10:02:19,ip,rdsadmin,localhost,7,0,CONNECT,,,0,SOCKET\n").unwrap();
        assert!(f.cloudwatch_export);
        assert_eq!(f.family, Family::MysqlAudit);
    }

    #[test]
    fn sniff_refuses_files_that_are_not_audit_logs() {
        assert!(sniff(b"# README\nhello world\n").is_none());
        assert!(sniff(b"").is_none());
        assert!(sniff(&[0u8, 159, 146, 150, 10]).is_none());
    }

    #[test]
    fn sniff_recognises_postgres_logs_exports_and_cloudwatch_json() {
        let pg = b"  continued statement line\n2025-02-03 08:00:01 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  connection authorized: user=app database=orders\n";
        let f = sniff(pg).unwrap();
        assert_eq!(
            (f.family, f.cloudwatch_export, f.name()),
            (Family::Postgres, false, "postgres")
        );
        let f = sniff(b"2019-08-09T18:00:00.000Z 2019-08-09 18:00:00 UTC:10.50.72.222(33436):lmn@lmn_db:[26802]:LOG:  duration: 13.817 ms\n").unwrap();
        assert_eq!(f.name(), "cloudwatch_export+postgres");
        let f = sniff(b"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[]}").unwrap();
        assert_eq!(
            (f.family, f.name()),
            (Family::CloudwatchJson, "cloudwatch_json")
        );
        assert!(sniff(b"2025-02-03 08:00:01 just a dated note\n").is_none());
    }

    #[test]
    fn postgres_and_cloudwatch_json_can_be_forced() {
        let pg: FormatChoice = "postgres".parse().unwrap();
        let f = forced(pg, b"whatever").unwrap();
        assert_eq!(
            (f.family, f.forced),
            (Family::Postgres, Some(SourceFormat::Postgres))
        );
        let cw: FormatChoice = "cloudwatch-json".parse().unwrap();
        assert_eq!(forced(cw, b"{}").unwrap().family, Family::CloudwatchJson);
        assert!("oracle".parse::<FormatChoice>().is_err());
    }

    #[test]
    fn json_deliveries_are_never_cut_and_undecoded_json_is_rejected_whole() {
        let f = sniff(b"{\"events\":[]}").unwrap();
        let buf = b"{\"events\":[]}\n{\"events\":[]}\n";
        assert_eq!(next_record_start(&f, buf, 3), buf.len());
        assert_eq!(last_record_end(&f, &buf[..20]), Some(13));
        struct Rejects(u64);
        impl<'a> RecordSink<'a> for Rejects {
            fn event(&mut self, _e: Event<'a>, _m: &'a [u8]) {}
            fn blank(&mut self, _l: u64) {}
            fn rejected(&mut self, _l: u64, _r: Reason, _t: &'a [u8]) {
                self.0 += 1;
            }
        }
        let mut r = Rejects(0);
        assert_eq!(parse_chunk(&f, buf, 1, true, &mut r), 1);
        assert_eq!(r.0, 1);
    }

    #[test]
    fn a_given_log_line_prefix_reads_the_files_it_matches() {
        let p = pg_prefix::compile("%t [%p] %u %d ").unwrap();
        let clock = Clock::default().with_pg_prefix(p);
        let own = b"2025-02-03 08:00:01 UTC [901] app orders LOG:  statement: select 1\n";
        let f = detect(FormatChoice::Auto, clock, own).unwrap();
        assert_eq!((f.family, f.clock.pg_prefix), (Family::Postgres, p));
        // Not sniffed without it (no known prefix reads it).
        assert!(detect(FormatChoice::Auto, Clock::default(), own).is_none());
        // Other files keep their own layout.
        let rds =
            b"2025-02-03 08:00:01 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  statement: select 1\n";
        let f = detect(FormatChoice::Auto, clock, rds).unwrap();
        assert_eq!((f.family, f.clock.pg_prefix), (Family::Postgres, None));
        let mysql = b"20230501 10:02:19,db1,root,localhost,12,0,CONNECT,mysql,,0\n";
        let f = detect(FormatChoice::Auto, clock, mysql).unwrap();
        assert_eq!((f.family, f.clock.pg_prefix), (Family::MysqlAudit, None));
        // `--format postgres` applies it whatever the head holds.
        let f = detect(FormatChoice::Postgres, clock, b"anything\n").unwrap();
        assert_eq!(
            (f.family, f.clock.pg_prefix, f.forced),
            (Family::Postgres, p, Some(SourceFormat::Postgres))
        );
        // A sniffed prefix survives `--format postgres` too.
        let debian = b"2017-07-31 13:39:16.249 CEST [5407] postgres@users LOG:  statement: x\n";
        let f = detect(FormatChoice::Postgres, Clock::default(), debian).unwrap();
        assert_eq!(f.clock.pg_prefix.unwrap().text(), "%m [%p] %q%u@%d ");
    }

    #[test]
    fn record_starts_fall_after_newlines() {
        let f = sniff(b"20230501 10:02:19,db1,root,localhost,12,0,CONNECT,mysql,,0\n").unwrap();
        let buf = b"aaa\nbbb\nccc";
        assert_eq!(next_record_start(&f, buf, 0), 0);
        assert_eq!(next_record_start(&f, buf, 1), 4);
        assert_eq!(next_record_start(&f, buf, 4), 4);
        assert_eq!(next_record_start(&f, buf, 9), 11);
        assert_eq!(last_record_end(&f, buf), Some(8));
    }
}
