//! The line prefix of a PostgreSQL log line (`%t:%r:%u@%d:[%p]:` or a compiled
//! `log_line_prefix`): its timestamp, export prefix, fields and record boundaries.

use super::super::pg_prefix::{self, LinePrefix};
use super::super::Reason;
use crate::time;

/// Where the `%t` timestamp (`YYYY-MM-DD HH:MM:SS[.fff] TZ:`) of a line ends, just after its
/// colon, when the line starts with one. Shape only: this decides where records start, so it
/// must not depend on whether the time zone is known.
#[inline]
pub(super) fn timestamp_end(b: &[u8]) -> Option<usize> {
    timestamp_end_then(b, b':')
}

/// [`timestamp_end`] for a time followed by `sep` (`,` in csvlog rows) rather than `:`: the
/// time's shape is [`pg_prefix::time_end`]'s.
#[inline]
pub(crate) fn timestamp_end_then(b: &[u8], sep: u8) -> Option<usize> {
    if b.len() < 23 {
        return None;
    }
    let n = pg_prefix::time_end(b)?;
    (b.get(n) == Some(&sep)).then_some(n + 1)
}

/// A line with the CloudWatch S3-export prefix (`2026-03-01T12:00:00.000Z `) stripped, and
/// the prefix's time. The prefix is stripped by its shape, so that a prefix naming a time
/// that does not exist still starts a record (which is then rejected, see [`with_export`]).
#[inline]
pub(super) fn strip_export(line: &[u8]) -> (&[u8], Option<Result<i64, time::TimeError>>) {
    if line.get(10) == Some(&b'T') {
        if let Some((t, n)) = time::parse_cloudwatch_prefix(line) {
            return (&line[n..], Some(t));
        }
    }
    (line, None)
}

/// A record's prefix, rejected by the export prefix's field when that names a time that
/// does not exist.
#[inline]
pub(super) fn with_export<'a>(
    prefix: Result<Prefix<'a>, Reason>,
    export: Option<Result<i64, time::TimeError>>,
) -> Result<Prefix<'a>, Reason> {
    match (prefix, export) {
        (Ok(mut p), Some(Err(e))) => {
            p.time_us = Err(e.into());
            Ok(p)
        }
        (p, _) => p,
    }
}

/// Whether a line (export prefix allowed) starts a PostgreSQL log entry: a record of its own
/// or a `DETAIL`-like line attached to the entry before it.
pub(crate) fn is_prefixed(line: &[u8]) -> bool {
    timestamp_end(strip_export(line).0).is_some()
}

/// [`is_prefixed`] for a file read with `prefix` (`None`: the RDS prefix).
pub(crate) fn is_prefixed_with(prefix: Option<&'static LinePrefix>, line: &[u8]) -> bool {
    match prefix {
        None => is_prefixed(line),
        Some(p) => p.starts_entry(strip_export(line).0),
    }
}

/// The time of a line (export prefix already stripped) that starts with a `%t`/`%m` time,
/// whatever follows it, epoch microseconds UTC.
pub(crate) fn line_time(body: &[u8]) -> Option<i64> {
    let end = pg_prefix::time_end(body)?;
    parse_time(&body[..end]).ok()
}

/// How the entries of a file are recognised: RDS's fixed prefix (the fast parser), or a
/// compiled `log_line_prefix`.
pub(super) trait Layout: Copy {
    /// Whether only lines starting with a digit can open an entry (a cheap first test).
    const DIGIT_FIRST: bool;
    /// The prefix of a line (export prefix stripped) that opens an entry, or `None` for a
    /// line that continues the entry before it.
    fn entry(self, body: &[u8]) -> Option<Result<Prefix<'_>, Reason>>;
}

/// `%t:%r:%u@%d:[%p]:`.
#[derive(Clone, Copy)]
pub(super) struct Rds;

impl Layout for Rds {
    const DIGIT_FIRST: bool = true;
    #[inline]
    fn entry(self, body: &[u8]) -> Option<Result<Prefix<'_>, Reason>> {
        timestamp_end(body).map(|_| parse_prefix(body))
    }
}

impl Layout for &'static LinePrefix {
    const DIGIT_FIRST: bool = false;
    fn entry(self, body: &[u8]) -> Option<Result<Prefix<'_>, Reason>> {
        self.starts_entry(body).then(|| read_prefix(self, body))
    }
}

/// A line's prefix read with a compiled `log_line_prefix`. Without `%p`, the PID comes from
/// `%c` when the prefix has it, else it is 0 (sessions are then not told apart).
pub(super) fn read_prefix<'a>(p: &LinePrefix, body: &'a [u8]) -> Result<Prefix<'a>, Reason> {
    let f = p.read(body).ok_or(Reason::BadPrefix)?;
    let time_us = match f.time {
        Some(t) if f.epoch => pg_prefix::epoch_us(t).ok_or(Reason::BadTimestamp),
        Some(t) => parse_time(t),
        None => Err(Reason::BadTimestamp),
    };
    Ok(Prefix {
        time_us,
        host: f.host,
        user: f.user,
        db: f.db,
        pid: f
            .pid
            .or_else(|| pg_prefix::session_pid(f.session))
            .unwrap_or(0),
        severity: f.severity,
        msg: f.msg,
    })
}

/// Whether a line opens a new record: prefixed, and not a `DETAIL`/`HINT`/`STATEMENT`/
/// `CONTEXT`/`QUERY`/`LOCATION` line that belongs to the message before it. Chunk edges are put
/// only before such lines.
pub(crate) fn is_boundary(line: &[u8]) -> bool {
    boundary_in(Rds, line)
}

/// [`is_boundary`] for a file read with `prefix` (`None`: the RDS prefix).
pub(crate) fn is_boundary_with(prefix: Option<&'static LinePrefix>, line: &[u8]) -> bool {
    match prefix {
        None => boundary_in(Rds, line),
        Some(p) => boundary_in(p, line),
    }
}

#[inline]
pub(super) fn boundary_in<L: Layout>(layout: L, line: &[u8]) -> bool {
    let body = strip_export(line).0;
    match layout.entry(body) {
        None => false,
        Some(Ok(p)) => !is_attached(p.severity),
        // A malformed prefix still opens a record (which is then rejected).
        Some(Err(_)) => true,
    }
}

/// For sniffing: a line (export prefix already stripped) with a complete RDS prefix.
pub(crate) fn sniff_line(body: &[u8]) -> bool {
    timestamp_end(body).is_some() && parse_prefix(body).is_ok()
}

/// `download-db-log-file-portion`'s `----- END OF LOG -----` marker.
pub(crate) fn is_end_of_log(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    t.starts_with(b"---") && t.ends_with(b"---") && memchr::memmem::find(t, b"END OF LOG").is_some()
}

pub(super) fn is_attached(severity: &[u8]) -> bool {
    matches!(
        severity,
        b"DETAIL" | b"HINT" | b"STATEMENT" | b"CONTEXT" | b"QUERY" | b"LOCATION"
    )
}

/// The fields of the line prefix `%t:%r:%u@%d:[%p]:SEVERITY:  `.
#[derive(Clone, Copy, Debug)]
pub(super) struct Prefix<'a> {
    /// The time, or why it cannot be read (an unknown time zone abbreviation).
    pub(super) time_us: Result<i64, Reason>,
    /// `%r` without its `(port)`: an address, a host name, `[local]`, or empty.
    pub(super) host: &'a [u8],
    pub(super) user: &'a [u8],
    pub(super) db: &'a [u8],
    pub(super) pid: i64,
    pub(super) severity: &'a [u8],
    /// Offset of the message text in the line.
    pub(super) msg: usize,
}

/// Parses the prefix of a line that starts with a `%t` timestamp.
pub(super) fn parse_prefix(b: &[u8]) -> Result<Prefix<'_>, Reason> {
    let t_end = timestamp_end(b).ok_or(Reason::BadTimestamp)?;
    let time_us = parse_time(&b[..t_end - 1]);
    let rest = &b[t_end..];

    // %r: empty (background process), `[local]`, or `host(port)` where the host may be an
    // unbracketed IPv6 address, so the `(digits):` form is looked for first.
    let (host, after) = if rest.first() == Some(&b':') {
        (&rest[..0], 1)
    } else if rest.starts_with(b"[local]:") {
        (&rest[..7], 8)
    } else {
        host_with_port(rest)
            .or_else(|| memchr::memchr(b':', rest).map(|i| (&rest[..i], i + 1)))
            .ok_or(Reason::BadPrefix)?
    };

    // %u@%d:[%p]: the first `:[digits]:` ends the user and database (names holding that
    // sequence are not supported); user names may hold `@`, so the last one splits.
    let ud_start = after;
    let mut search = after;
    let (ud_end, pid, sev_start) = loop {
        let open = search + memchr::memchr(b'[', &rest[search..]).ok_or(Reason::BadPrefix)?;
        search = open + 1;
        // The colon before `[` must not be the one that ended %r: `%u@%d` lies between.
        if open <= ud_start || rest[open - 1] != b':' {
            continue;
        }
        let digits = &rest[open + 1..];
        let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 18 || digits.get(n) != Some(&b']') || digits.get(n + 1) != Some(&b':') {
            continue;
        }
        let pid = digits[..n]
            .iter()
            .fold(0i64, |v, &c| v * 10 + (c - b'0') as i64);
        break (open - 1, pid, open + 1 + n + 2);
    };
    let ud = &rest[ud_start..ud_end];
    let at = memchr::memrchr(b'@', ud).ok_or(Reason::BadPrefix)?;
    let (user, db) = (&ud[..at], &ud[at + 1..]);

    // SEVERITY, then one or two spaces (elog.c pads `LOG:  `; AWS examples show one).
    let sev_rest = &rest[sev_start..];
    let n = sev_rest
        .iter()
        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        .count();
    if n == 0 || sev_rest.get(n) != Some(&b':') {
        return Err(Reason::BadPrefix);
    }
    let severity = &sev_rest[..n];
    let mut m = n + 1;
    while sev_rest.get(m) == Some(&b' ') {
        m += 1;
    }
    Ok(Prefix {
        time_us,
        host,
        user,
        db,
        pid,
        severity,
        msg: t_end + sev_start + m,
    })
}

/// `host(port):` at the start of `rest`: the host and the offset after the colon.
#[inline]
pub(super) fn host_with_port(rest: &[u8]) -> Option<(&[u8], usize)> {
    let mut from = 0;
    // Host names and addresses are short; do not wander into the message.
    let limit = rest.len().min(300);
    while let Some(i) = memchr::memchr(b'(', &rest[from..limit]) {
        let open = from + i;
        let digits = &rest[open + 1..];
        let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 && digits.get(n) == Some(&b')') && digits.get(n + 1) == Some(&b':') {
            return Some((&rest[..open], open + 1 + n + 2));
        }
        from = open + 1;
    }
    None
}

/// `YYYY-MM-DD HH:MM:SS[.fff] TZ` to epoch microseconds (UTC).
pub(super) fn parse_time(t: &[u8]) -> Result<i64, Reason> {
    let base = time::parse_iso_space(&t[..19])?;
    let mut i = 19;
    let mut frac = 0i64;
    if t[i] == b'.' {
        i += 1;
        let mut scale = 100_000i64;
        while t[i].is_ascii_digit() {
            frac += (t[i] - b'0') as i64 * scale;
            scale /= 10;
            i += 1;
        }
    }
    let offset = tz_offset_secs(&t[i + 1..]).ok_or(Reason::UnknownTimeZone)?;
    Ok(base + frac - offset * 1_000_000)
}

/// Seconds east of UTC for the abbreviations `log_timezone` prints: UTC (RDS's default),
/// numeric forms (`+03`, `-0530`), and the unambiguous common names. An ambiguous or unknown
/// one (`IST`) is refused rather than guessed: a wrong time is worse than a rejected line.
pub(super) fn tz_offset_secs(tz: &[u8]) -> Option<i64> {
    if let [sign @ (b'+' | b'-'), d @ ..] = tz {
        let v = |s: &[u8]| -> Option<i64> {
            s.iter().try_fold(0i64, |v, &c| {
                c.is_ascii_digit().then(|| v * 10 + (c - b'0') as i64)
            })
        };
        let secs = match d.len() {
            2 => v(d)? * 3600,
            4 => v(&d[..2])? * 3600 + v(&d[2..])? * 60,
            _ => return None,
        };
        return Some(if *sign == b'-' { -secs } else { secs });
    }
    let h = |x: i64| Some(x * 3600);
    match tz {
        b"UTC" | b"GMT" | b"UCT" | b"Z" | b"UT" | b"WET" => h(0),
        b"CET" | b"WEST" | b"BST" | b"MET" => h(1),
        b"CEST" | b"EET" | b"MEST" | b"SAST" => h(2),
        b"EEST" | b"MSK" => h(3),
        b"PKT" => h(5),
        b"HKT" | b"AWST" | b"SGT" | b"PHT" => h(8),
        b"JST" | b"KST" => h(9),
        b"ACST" => Some(9 * 3600 + 1800),
        b"AEST" => h(10),
        b"AEDT" => h(11),
        b"NZST" => h(12),
        b"NZDT" => h(13),
        b"AST" | b"EDT" => h(-4),
        b"EST" | b"CDT" => h(-5),
        b"CST" | b"MDT" => h(-6),
        b"MST" | b"PDT" => h(-7),
        b"PST" | b"AKDT" => h(-8),
        b"AKST" => h(-9),
        b"HST" => h(-10),
        _ => None,
    }
}
