//! MariaDB `server_audit` with `server_audit_output_type=syslog`: each record is the message
//! of a syslog line, written by the plugin as `"%s %.*s", server_audit_syslog_info, record`,
//! where the record is the file layout without its timestamp
//! (`serverhost,user,host,connectionid,queryid,operation,...`); the time is the syslog
//! header's:
//!
//! ```text
//! Mar  1 12:00:00 db1 mysql-server_auditing:  db1,app,10.0.0.5,42,0,CONNECT,shop,,0
//! 2026-03-01T12:00:00.123456+00:00 db1 mysql-server_auditing: prod db1,app,...
//! ```
//!
//! The syslog time is the traditional `Mmm dd HH:MM:SS` (rsyslog's default file format: no
//! year, server-local, read at `--utc-offset`; the year is the current one, or the one before
//! when that would put the line more than a day in the future) or RFC 3339 (rsyslog's
//! high-precision format, with its own offset). A file written by syslog holds other programs'
//! lines too: those are ignored server messages; a line from the plugin's identifier
//! (`mysql-server_auditing` by default, `server_audit_syslog_ident`) that does not parse is
//! rejected, as a record would be.

use super::{mysql, FileFormat, Reason, RecordSink};
use crate::event::Event;
use crate::time;

/// A syslog line's parts: its time (or why it cannot be read), its identifier, and its
/// message.
struct Line<'a> {
    time_us: Result<i64, Reason>,
    ident: &'a [u8],
    message: &'a [u8],
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The header of a syslog line, `None` when the line is not in a syslog layout. `now_us`
/// places a traditional (yearless) time in a year.
fn split(line: &[u8], offset_us: i64, now_us: i64) -> Option<Line<'_>> {
    let (time_us, rest) = if let Some(m) = MONTHS.iter().position(|m| line.starts_with(*m)) {
        // `Mmm dd HH:MM:SS ` (day padded with a space).
        if line.len() < 16 || line[3] != b' ' || line[15] != b' ' {
            return None;
        }
        let day = match (line[4], line[5]) {
            (b' ', d @ b'0'..=b'9') => u32::from(d - b'0'),
            (a @ b'0'..=b'9', b @ b'0'..=b'9') => u32::from(a - b'0') * 10 + u32::from(b - b'0'),
            _ => return None,
        };
        let hms = &line[7..15];
        if hms[2] != b':' || hms[5] != b':' {
            return None;
        }
        (
            yearless(m as u32 + 1, day, hms, offset_us, now_us),
            &line[16..],
        )
    } else if line.len() > 20 && line[4] == b'-' && line[10] == b'T' {
        let end = memchr::memchr(b' ', line)?;
        (rfc3339(&line[..end]), &line[end + 1..])
    } else {
        return None;
    };
    // `host ident: message` (the identifier may carry `[pid]`).
    let sp = memchr::memchr(b' ', rest)?;
    let rest = &rest[sp + 1..];
    let colon = memchr::memchr(b':', rest)?;
    let ident = &rest[..colon];
    // A program name: a letter, then name characters (not a time's `10:02:19`).
    if !ident.first().is_some_and(u8::is_ascii_alphabetic)
        || !ident
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"_-./[]".contains(&c))
    {
        return None;
    }
    let ident = match memchr::memchr(b'[', ident) {
        Some(i) => &ident[..i],
        None => ident,
    };
    let message = rest[colon + 1..]
        .strip_prefix(b" ")
        .unwrap_or(&rest[colon + 1..]);
    Some(Line {
        time_us,
        ident,
        message,
    })
}

/// A traditional syslog time in the year that puts it at most a day after `now_us`.
fn yearless(month: u32, day: u32, hms: &[u8], offset_us: i64, now_us: i64) -> Result<i64, Reason> {
    let (year, _, _) = time::civil_from_days(now_us.div_euclid(86_400_000_000));
    let mut first_err = None;
    // February 29 exists one year in four: look back far enough to find it.
    for y in (year - 8..=year).rev() {
        let mut b = *b"0000-00-00 00:00:00";
        b[..4].copy_from_slice(format!("{y:04}").as_bytes());
        b[5..7].copy_from_slice(format!("{month:02}").as_bytes());
        b[8..10].copy_from_slice(format!("{day:02}").as_bytes());
        b[11..19].copy_from_slice(hms);
        match time::parse_iso_space(&b) {
            Ok(t) => {
                let t = t - offset_us;
                if t <= now_us + 86_400_000_000 {
                    return Ok(t);
                }
            }
            Err(e) => {
                first_err.get_or_insert(Reason::from(e));
            }
        }
    }
    Err(first_err.unwrap_or(Reason::BadTimestamp))
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)`.
fn rfc3339(t: &[u8]) -> Result<i64, Reason> {
    if t.len() < 20 {
        return Err(Reason::BadTimestamp);
    }
    let mut b = [0u8; 19];
    b.copy_from_slice(&t[..19]);
    b[10] = b' ';
    let base = time::parse_iso_space(&b)?;
    let mut i = 19;
    let mut frac = 0i64;
    if t[i] == b'.' {
        i += 1;
        let mut scale = 100_000i64;
        while i < t.len() && t[i].is_ascii_digit() {
            frac += i64::from(t[i] - b'0') * scale;
            scale /= 10;
            i += 1;
        }
    }
    let offset_us = match &t[i..] {
        b"Z" | b"z" => 0,
        tz => time::parse_utc_offset(std::str::from_utf8(tz).map_err(|_| Reason::BadTimestamp)?)
            .map_err(|_| Reason::BadTimestamp)?,
    };
    Ok(base + frac - offset_us)
}

/// The plugin's own identifier (the default, or one naming the audit plugin).
fn is_audit_ident(ident: &[u8]) -> bool {
    ident == b"mysql-server_auditing" || memchr::memmem::find(ident, b"audit").is_some()
}

/// The record inside a message: after the `server_audit_syslog_info` word when there is one.
fn record<'a>(
    format: &FileFormat,
    time_us: i64,
    message: &'a [u8],
    line_no: u64,
) -> Result<Event<'a>, Reason> {
    let mut m = message.trim_ascii_start();
    // A server host holds no space: a space before the first comma ends the info word.
    if let Some(sp) = memchr::memchr(b' ', m) {
        if !m[..sp].contains(&b',') {
            m = m[sp + 1..].trim_ascii_start();
        }
    }
    mysql::parse_after_time(format, time_us, m, false, line_no, false)
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// One line on its own (for [`super::parse_line`]).
pub fn parse_line<'a>(format: &FileFormat, line: &'a [u8]) -> Result<Event<'a>, Reason> {
    let l = split(line, format.clock.offset_us, now_us()).ok_or(Reason::BadTimestamp)?;
    record(format, l.time_us?, l.message, 1)
}

/// For sniffing: a syslog line whose message is an audit record.
pub fn sniff_line(line: &[u8]) -> bool {
    let Some(l) = split(line, 0, now_us()) else {
        return false;
    };
    let format = FileFormat {
        family: super::Family::MysqlSyslog,
        cloudwatch_export: false,
        forced: None,
        clock: Default::default(),
    };
    record(&format, 0, l.message, 1).is_ok()
}

/// Splits a chunk into lines and parses each. Returns the number of lines seen.
pub fn parse_chunk<'a, S: RecordSink<'a>>(
    format: &FileFormat,
    chunk: &'a [u8],
    first_line: u64,
    at_eof: bool,
    sink: &mut S,
) -> u64 {
    parse_chunk_at(format, chunk, first_line, at_eof, now_us(), sink)
}

fn parse_chunk_at<'a, S: RecordSink<'a>>(
    format: &FileFormat,
    chunk: &'a [u8],
    first_line: u64,
    at_eof: bool,
    now_us: i64,
    sink: &mut S,
) -> u64 {
    let mut line_no = first_line;
    let mut start = 0;
    while start < chunk.len() {
        let (end, next, terminated) = match memchr::memchr(b'\n', &chunk[start..]) {
            Some(i) => (start + i, start + i + 1, true),
            None => (chunk.len(), chunk.len(), false),
        };
        let line = super::trim_cr(&chunk[start..end]);
        start = next;
        let no = line_no;
        line_no += 1;
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            sink.blank(no);
            continue;
        }
        if line.len() > sink.max_record() {
            sink.rejected(no, Reason::TooLong, line);
            continue;
        }
        let truncated = !terminated && at_eof;
        let Some(l) = split(line, format.clock.offset_us, now_us) else {
            let reason = if truncated {
                Reason::TruncatedLastLine
            } else {
                Reason::BadTimestamp
            };
            sink.rejected(no, reason, line);
            continue;
        };
        match l.time_us.and_then(|t| record(format, t, l.message, no)) {
            Ok(e) => sink.event(e, l.message),
            // Another program's line in the same syslog file.
            Err(_) if !is_audit_ident(l.ident) => sink.ignored(1),
            Err(_) if truncated => sink.rejected(no, Reason::TruncatedLastLine, line),
            Err(r) => sink.rejected(no, r, line),
        }
    }
    line_no - first_line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Operation, SourceFormat};
    use crate::format::{self, Family};

    #[derive(Default, Debug)]
    struct Log {
        events: Vec<(u64, i64, String)>,
        ignored: u64,
        blank: Vec<u64>,
        rejected: Vec<(u64, Reason)>,
    }

    impl<'a> RecordSink<'a> for Log {
        fn event(&mut self, e: Event<'a>, _m: &'a [u8]) {
            self.events.push((
                e.line,
                e.time_us,
                format!(
                    "{:?} {} {} {} {} {:?} {:?}",
                    e.operation,
                    String::from_utf8_lossy(e.server_host),
                    String::from_utf8_lossy(e.user),
                    String::from_utf8_lossy(e.client_host),
                    String::from_utf8_lossy(e.database),
                    e.object.to_cow(),
                    e.format
                ),
            ));
        }
        fn blank(&mut self, line: u64) {
            self.blank.push(line);
        }
        fn ignored(&mut self, lines: u64) {
            self.ignored += lines;
        }
        fn rejected(&mut self, line: u64, reason: Reason, _t: &'a [u8]) {
            self.rejected.push((line, reason));
        }
    }

    /// 2026-06-01T00:00:00Z.
    const NOW: i64 = 1_780_272_000_000_000;

    /// Lines as rsyslog writes them, the record as the MariaDB server_audit documentation
    /// shows its fields: the default identifier with an empty `server_audit_syslog_info`
    /// (two spaces), a tag, another program's line, and RFC 3339 times.
    const SYSLOG: &str = "\
Mar  1 12:00:00 db1 mysql-server_auditing:  db1,app,10.0.0.5,42,0,CONNECT,shop,,0
Mar  1 12:00:01 db1 mysql-server_auditing:  db1,app,10.0.0.5,42,7,QUERY,shop,'DELETE FROM orders',0
Mar  1 12:00:01 db1 systemd[1]: Started Daily apt download activities.

Mar  1 12:00:02 db1 mysql-server_auditing: prod-eu db1,app,10.0.0.5,42,7,WRITE,shop,orders,
Mar  1 12:00:03 db1 mysql-server_auditing:  db1,root,203.0.113.9,43,0,FAILED_CONNECT,,,1045
2026-03-01T12:00:04.250000+01:00 db1 mysql-server_auditing:  db1,app,10.0.0.5,42,0,DISCONNECT,shop,,0
Mar  1 12:00:05 db1 mysql-server_auditing: garbage
";

    #[test]
    fn syslog_lines_are_audit_records_with_the_header_time() {
        let f = format::sniff(SYSLOG.as_bytes()).unwrap();
        assert_eq!(
            (f.family, f.name()),
            (Family::MysqlSyslog, "mariadb_audit_syslog")
        );
        let mut log = Log::default();
        assert_eq!(
            parse_chunk_at(&f, SYSLOG.as_bytes(), 1, true, NOW, &mut log),
            8
        );
        let t0 = time::parse_iso_space(b"2026-03-01 12:00:00").unwrap();
        let got: Vec<_> = log
            .events
            .iter()
            .map(|(l, t, s)| (*l, t - t0, s.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 0, "Connect db1 app 10.0.0.5 shop \"\" MariadbAudit"),
                (
                    2,
                    1_000_000,
                    "Query db1 app 10.0.0.5 shop \"DELETE FROM orders\" MariadbAudit"
                ),
                (
                    5,
                    2_000_000,
                    "Write db1 app 10.0.0.5 shop \"orders\" MariadbAudit"
                ),
                (
                    6,
                    3_000_000,
                    "FailedConnect db1 root 203.0.113.9  \"\" MariadbAudit"
                ),
                (
                    7,
                    4_250_000 - 3_600_000_000,
                    "Disconnect db1 app 10.0.0.5 shop \"\" MariadbAudit"
                ),
            ]
        );
        assert_eq!((log.ignored, log.blank.clone()), (1, vec![4]));
        assert_eq!(log.rejected, vec![(8, Reason::MissingFields)]);
    }

    #[test]
    fn yearless_times_take_the_latest_year_not_in_the_future() {
        let year = |t: i64| time::civil_from_days(t.div_euclid(86_400_000_000)).0;
        // In June, March is this year's and December last year's.
        assert_eq!(year(yearless(3, 1, b"12:00:00", 0, NOW).unwrap()), 2026);
        assert_eq!(year(yearless(12, 31, b"23:59:59", 0, NOW).unwrap()), 2025);
        // February 29 of the last leap year; a day that never exists is refused by field.
        assert_eq!(year(yearless(2, 29, b"10:00:00", 0, NOW).unwrap()), 2024);
        assert_eq!(yearless(2, 30, b"10:00:00", 0, NOW), Err(Reason::BadDay));
        assert_eq!(yearless(3, 1, b"25:00:00", 0, NOW), Err(Reason::BadHour));
        // The server's UTC offset applies to the zone-less time.
        let local = yearless(3, 1, b"12:00:00", 7_200_000_000, NOW).unwrap();
        assert_eq!(local, yearless(3, 1, b"10:00:00", 0, NOW).unwrap());
    }

    #[test]
    fn a_forced_dialect_labels_the_events_and_plain_audit_files_are_not_syslog() {
        let mut f = format::sniff(SYSLOG.as_bytes()).unwrap();
        f.forced = Some(SourceFormat::RdsMysqlAudit);
        let mut log = Log::default();
        parse_chunk_at(&f, SYSLOG.as_bytes(), 1, true, NOW, &mut log);
        assert!(log.events[0].2.ends_with("RdsMysqlAudit"));
        let plain = b"20230501 10:02:19,db1,root,localhost,12,0,CONNECT,mysql,,0\n";
        assert_eq!(format::sniff(plain).unwrap().family, Family::MysqlAudit);
        assert!(!sniff_line(b"Mar  1 12:00:01 db1 systemd[1]: Started x."));
        let e = format::parse_line(b"Mar  1 12:00:01 db1 mysql-server_auditing:  db1,app,10.0.0.5,42,7,QUERY,shop,'SELECT 1',0");
        assert_eq!(e.map(|e| e.operation), Ok(Operation::Query));
    }
}
