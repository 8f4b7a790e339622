//! Log formats: sniffing a file's family, finding record boundaries, and dispatching each
//! record-aligned chunk to the parser of its family.
//!
//! Parsers know nothing of passes or writers: they report what each line is to a
//! [`RecordSink`] (an event, a blank, an ignored server message, or a rejected line with its
//! reason), so that every input line is accounted for exactly once. Adding a format touches
//! this folder only.

pub mod mysql;

use crate::event::{Event, SourceFormat};

/// The longest record accepted. The audit plugin caps query text at
/// `server_audit_query_log_limit` (1 KiB by default); anything past this bound is far more
/// likely to be corrupt input than a statement, and bounding it bounds memory.
pub const MAX_RECORD_BYTES: usize = 4 << 20;

/// The log family of a file, as sniffed (or forced with `--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// MariaDB `server_audit` and its RDS for MySQL fork: `YYYYMMDD HH:MM:SS,...`. Whether a
    /// line is MariaDB or RDS MySQL is decided per line by its trailing fields.
    MysqlAudit,
    /// Aurora MySQL advanced auditing: 16-digit epoch microseconds.
    AuroraAudit,
}

/// How a file's lines are laid out: its family, and whether each line carries the CloudWatch
/// S3-export prefix (`2026-03-01T12:00:00.000Z `).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileFormat {
    pub family: Family,
    pub cloudwatch_export: bool,
    /// `--format` names a dialect: label every event with it.
    pub forced: Option<SourceFormat>,
}

impl FileFormat {
    pub fn name(&self) -> &'static str {
        let base = match (self.forced, self.family) {
            (Some(f), _) => f.as_str(),
            (None, Family::MysqlAudit) => "mysql_audit",
            (None, Family::AuroraAudit) => "aurora_mysql_audit",
        };
        if self.cloudwatch_export {
            match base {
                "mysql_audit" => "cloudwatch_export+mysql_audit",
                "mariadb_audit" => "cloudwatch_export+mariadb_audit",
                "rds_mysql_audit" => "cloudwatch_export+rds_mysql_audit",
                "aurora_mysql_audit" => "cloudwatch_export+aurora_mysql_audit",
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
    RdsMysql,
    AuroraMysql,
}

impl std::str::FromStr for FormatChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "auto" => FormatChoice::Auto,
            "mariadb-audit" => FormatChoice::Mariadb,
            "rds-mysql-audit" => FormatChoice::RdsMysql,
            "aurora-mysql-audit" => FormatChoice::AuroraMysql,
            "postgres" | "cloudwatch-json" => {
                return Err(format!("--format {s} is not supported yet (MySQL-family audit logs only)"))
            }
            _ => {
                return Err(format!(
                    "unknown format {s:?}: expected auto, mariadb-audit, rds-mysql-audit, aurora-mysql-audit"
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
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BadTimestamp => "line does not start with a valid audit timestamp",
            Reason::MissingFields => "too few fields for an audit record",
            Reason::NoOperation => "no known operation (CONNECT, QUERY, ...) after the id fields",
            Reason::BadNumber => "a numeric field (retcode) is not a number",
            Reason::UnterminatedQuery => "query text has no closing quote",
            Reason::TooLong => "line longer than the 4 MiB record limit",
            Reason::TruncatedLastLine => "truncated last line (no newline at end of input)",
            Reason::CorruptInput => "input ended in corrupt compressed data",
        }
    }
}

/// What a parser reports for each line of a chunk.
pub trait RecordSink<'a> {
    fn event(&mut self, event: Event<'a>, message: &'a [u8]);
    fn blank(&mut self, line: u64);
    fn rejected(&mut self, line: u64, reason: Reason, text: &'a [u8]);
}

/// Sniffs the format of a file from its first bytes: the first non-blank lines, with a
/// CloudWatch export prefix stripped. `None` means "not an audit log we read".
pub fn sniff(head: &[u8]) -> Option<FileFormat> {
    let mut seen = 0;
    for raw in head.split(|&b| b == b'\n') {
        let line = trim_cr(raw);
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        seen += 1;
        if seen > 8 {
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
            });
        }
    }
    None
}

/// Applies `--format`: the family follows the forced dialect; the export prefix is still
/// sniffed, since it wraps any dialect.
pub fn forced(choice: FormatChoice, head: &[u8]) -> Option<FileFormat> {
    let cloudwatch_export = sniff(head).map(|f| f.cloudwatch_export).unwrap_or(false);
    let (family, source) = match choice {
        FormatChoice::Auto => return sniff(head),
        FormatChoice::Mariadb => (Family::MysqlAudit, SourceFormat::MariadbAudit),
        FormatChoice::RdsMysql => (Family::MysqlAudit, SourceFormat::RdsMysqlAudit),
        FormatChoice::AuroraMysql => (Family::AuroraAudit, SourceFormat::AuroraMysqlAudit),
    };
    Some(FileFormat {
        family,
        cloudwatch_export,
        forced: Some(source),
    })
}

/// The start of the first record at or after `pos` (records are lines in every family read
/// so far). Chunk boundaries are placed here so that no record spans two chunks.
pub fn next_record_start(_format: &FileFormat, buf: &[u8], pos: usize) -> usize {
    if pos == 0 || pos >= buf.len() {
        return pos.min(buf.len());
    }
    if buf[pos - 1] == b'\n' {
        return pos;
    }
    match memchr::memchr(b'\n', &buf[pos..]) {
        Some(i) => pos + i + 1,
        None => buf.len(),
    }
}

/// The end of the last complete record in `buf` (for streamed input, where the tail is kept
/// for the next block).
pub fn last_record_end(_format: &FileFormat, buf: &[u8]) -> Option<usize> {
    memchr::memrchr(b'\n', buf).map(|i| i + 1)
}

/// Parses a record-aligned chunk. `first_line` is the 1-based number of its first line;
/// `at_eof` says whether the chunk ends the input (a last line without `\n` is then a
/// truncated line if it does not parse).
pub fn parse_chunk<'a, S: RecordSink<'a>>(
    format: &FileFormat,
    chunk: &'a [u8],
    first_line: u64,
    at_eof: bool,
    sink: &mut S,
) -> u64 {
    mysql::parse_chunk(format, chunk, first_line, at_eof, sink)
}

pub(crate) fn trim_cr(line: &[u8]) -> &[u8] {
    match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
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

/// Parses a single line on its own (sniffing its layout): for tests, rules and tools that
/// look at one line at a time. The hot path uses [`parse_chunk`].
pub fn parse_line(line: &[u8]) -> Result<Event<'_>, Reason> {
    let line = trim_cr(line);
    let format = sniff(line).ok_or(Reason::BadTimestamp)?;
    let body = match crate::time::parse_cloudwatch_prefix(line) {
        Some((_, n)) if format.cloudwatch_export => &line[n..],
        _ => line,
    };
    mysql::parse_record(&format, body, 1)
}
