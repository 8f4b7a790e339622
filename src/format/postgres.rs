//! Amazon RDS / Aurora PostgreSQL logs (formats.md §4): the fixed prefix
//! `%t:%r:%u@%d:[%p]:`, multi-line records, the connection lifecycle messages of
//! `log_connections` / `log_disconnections`, `statement:` lines and pgaudit `AUDIT:` records.
//!
//! Unlike the MySQL family, a record is not a line: a statement keeps its literal newlines
//! (continuation lines carry no prefix), and `DETAIL`/`HINT`/`STATEMENT`/`CONTEXT` lines that
//! follow a message carry a prefix of their own yet belong to it. The chunk parser therefore
//! gathers lines into records first (a record starts at a prefixed line that is not such an
//! attached line) and decides what a record means only once it is complete; the same
//! predicate, [`is_boundary`], places chunk edges, so a record is never split and a chunked
//! parse gives exactly the events of a whole-file parse. Every value is still a slice of the
//! input: a multi-line statement is one contiguous slice, and pgaudit's CSV field is borrowed
//! as it stands (its `""` quotes are resolved only when copied into Arrow, see
//! [`Text::Quoted`]).
//!
//! Accounting: the first line of an event record counts as the record; its other lines (and
//! every line of a server message with no audit meaning, such as a checkpoint) are reported
//! through [`RecordSink::ignored`], so `lines = records + ignored + blank + rejected` holds for
//! this format as for the single-line ones.
//!
//! Sessions: a backend's later records may lack the user, database or host (a line logged
//! before authentication completes shows `[unknown]`); they inherit them by PID from the
//! session's `connection authorized` record earlier in the same chunk.

use std::collections::HashMap;

use super::pg_prefix::{self, LinePrefix};
use super::{FileFormat, Reason, RecordSink};
use crate::classify::{classify, StatementClass};
use crate::event::{Event, Operation, SourceFormat, Text};
use crate::time;

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Where the `%t` timestamp (`YYYY-MM-DD HH:MM:SS[.fff] TZ:`) of a line ends, just after its
/// colon, when the line starts with one. Shape only: this decides where records start, so it
/// must not depend on whether the time zone is known.
#[inline]
fn timestamp_end(b: &[u8]) -> Option<usize> {
    timestamp_end_then(b, b':')
}

/// [`timestamp_end`] for a time followed by `sep` (`,` in csvlog rows) rather than `:`.
pub(crate) fn timestamp_end_then(b: &[u8], sep: u8) -> Option<usize> {
    if b.len() < 23
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    const DIGITS: [usize; 14] = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    if !DIGITS.iter().all(|&i| b[i].is_ascii_digit()) {
        return None;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let tz = i;
    while i < b.len()
        && i - tz < 12
        && (b[i].is_ascii_alphanumeric() || b[i] == b'+' || b[i] == b'-')
    {
        i += 1;
    }
    if i == tz || b.get(i) != Some(&sep) {
        return None;
    }
    Some(i + 1)
}

/// A line with the CloudWatch S3-export prefix (`2026-03-01T12:00:00.000Z `) stripped, and
/// the prefix's time. The prefix is stripped by its shape, so that a prefix naming a time
/// that does not exist still starts a record (which is then rejected, see [`with_export`]).
#[inline]
fn strip_export(line: &[u8]) -> (&[u8], Option<Result<i64, time::TimeError>>) {
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
fn with_export<'a>(
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
trait Layout: Copy {
    /// Whether only lines starting with a digit can open an entry (a cheap first test).
    const DIGIT_FIRST: bool;
    /// The prefix of a line (export prefix stripped) that opens an entry, or `None` for a
    /// line that continues the entry before it.
    fn entry(self, body: &[u8]) -> Option<Result<Prefix<'_>, Reason>>;
}

/// `%t:%r:%u@%d:[%p]:`.
#[derive(Clone, Copy)]
struct Rds;

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
fn read_prefix<'a>(p: &LinePrefix, body: &'a [u8]) -> Result<Prefix<'a>, Reason> {
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
fn boundary_in<L: Layout>(layout: L, line: &[u8]) -> bool {
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

fn is_attached(severity: &[u8]) -> bool {
    matches!(
        severity,
        b"DETAIL" | b"HINT" | b"STATEMENT" | b"CONTEXT" | b"QUERY" | b"LOCATION"
    )
}

/// The fields of the line prefix `%t:%r:%u@%d:[%p]:SEVERITY:  `.
#[derive(Clone, Copy, Debug)]
struct Prefix<'a> {
    /// The time, or why it cannot be read (an unknown time zone abbreviation).
    time_us: Result<i64, Reason>,
    /// `%r` without its `(port)`: an address, a host name, `[local]`, or empty.
    host: &'a [u8],
    user: &'a [u8],
    db: &'a [u8],
    pid: i64,
    severity: &'a [u8],
    /// Offset of the message text in the line.
    msg: usize,
}

/// Parses the prefix of a line that starts with a `%t` timestamp.
fn parse_prefix(b: &[u8]) -> Result<Prefix<'_>, Reason> {
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
fn host_with_port(rest: &[u8]) -> Option<(&[u8], usize)> {
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
fn parse_time(t: &[u8]) -> Result<i64, Reason> {
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
fn tz_offset_secs(tz: &[u8]) -> Option<i64> {
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

/// What one complete record is.
pub(crate) enum Outcome<'a> {
    Event(Event<'a>),
    /// A recognised server message with no audit meaning.
    Ignored,
    Rejected(Reason),
}

/// What a session's `connection authorized` record said about it.
#[derive(Clone, Copy)]
struct Session<'a> {
    user: &'a [u8],
    db: &'a [u8],
    host: &'a [u8],
}

/// Turns records into events. Holds the per-chunk session table (PID → user, database,
/// host) that later records of a session inherit from.
pub(crate) struct Parser<'a> {
    forced: Option<SourceFormat>,
    sessions: Map<i64, Session<'a>>,
    /// The record being decided was cut at the record limit: its last field (a pgaudit
    /// STATEMENT) may have lost its closing quote.
    cut: bool,
}

fn known(v: &[u8]) -> bool {
    !v.is_empty() && v != b"[unknown]"
}

impl<'a> Parser<'a> {
    pub(crate) fn new(forced: Option<SourceFormat>) -> Self {
        Parser {
            forced,
            sessions: Map::default(),
            cut: false,
        }
    }

    /// One record given as its text (export prefix allowed): for deliveries where each
    /// CloudWatch event is a record.
    pub(crate) fn record(&mut self, text: &'a [u8], line: u64) -> Outcome<'a> {
        let (body, export) = strip_export(text);
        match with_export(parse_prefix(body), export) {
            Ok(p) => self.decide(body, p, line),
            Err(r) => Outcome::Rejected(r),
        }
    }

    /// [`Parser::record`] for the head of a record cut at the record limit (its last field
    /// may have lost its closing quote).
    pub(crate) fn record_cut(&mut self, text: &'a [u8], line: u64) -> Outcome<'a> {
        self.cut = true;
        let outcome = self.record(text, line);
        self.cut = false;
        outcome
    }

    /// Decides what a record is. `body` runs from the timestamp to the end of the message's
    /// last continuation line (attached `DETAIL` lines excluded).
    fn decide(&mut self, body: &'a [u8], p: Prefix<'a>, line: u64) -> Outcome<'a> {
        let time_us = match p.time_us {
            Ok(t) => t,
            Err(r) => return Outcome::Rejected(r),
        };
        let msg = skip_sqlstate(&body[p.msg.min(body.len())..]);
        let mut e = Event {
            time_us,
            format: self.forced.unwrap_or(SourceFormat::Postgres),
            server_host: b"",
            user: p.user,
            client_host: p.host,
            connection_id: p.pid,
            query_id: 0,
            operation: Operation::Query,
            database: p.db,
            object: Text::None,
            retcode: None,
            tls: None,
            statement_class: None,
            line,
        };
        let first = p.severity[0];
        if first == b'F' && p.severity == b"FATAL" {
            if !self.failed_login(msg, &mut e) {
                return Outcome::Ignored;
            }
        } else if matches!(first, b'L' | b'N' | b'W' | b'I' | b'D')
            && matches!(
                p.severity,
                b"LOG"
                    | b"NOTICE"
                    | b"WARNING"
                    | b"INFO"
                    | b"DEBUG1"
                    | b"DEBUG2"
                    | b"DEBUG3"
                    | b"DEBUG4"
                    | b"DEBUG5"
            )
        {
            match self.message(msg, &mut e) {
                Ok(true) => {}
                Ok(false) => return Outcome::Ignored,
                Err(r) => return Outcome::Rejected(r),
            }
        } else {
            // ERROR, PANIC, and DETAIL-like lines on their own: no audit meaning.
            return Outcome::Ignored;
        }
        self.inherit(&mut e);
        if !known(e.database) {
            e.database = b"";
        }
        Outcome::Event(e)
    }

    /// A `LOG`-level message: connection lifecycle, statements, pgaudit. `Ok(false)` for the
    /// many server messages that are not events.
    fn message(&mut self, msg: &'a [u8], e: &mut Event<'a>) -> Result<bool, Reason> {
        match msg.first() {
            Some(b'A') if msg.starts_with(b"AUDIT:") => {
                audit(&msg[6..], e, self.cut)?;
                Ok(true)
            }
            Some(b'c') if msg.starts_with(b"connection authorized: ") => {
                self.connect(&msg[23..], e);
                Ok(true)
            }
            // A prefix without `%h`/`%r`: the session's host is only in this message.
            Some(b'c') if msg.starts_with(b"connection received: ") => {
                if e.client_host.is_empty() {
                    if let Some(host) = word_after(msg, b"host=") {
                        self.sessions.insert(
                            e.connection_id,
                            Session {
                                user: b"",
                                db: b"",
                                host,
                            },
                        );
                    }
                }
                Ok(false)
            }
            Some(b'r') if msg.starts_with(b"replication connection authorized: ") => {
                self.connect(&msg[35..], e);
                Ok(true)
            }
            Some(b'd') if msg.starts_with(b"disconnection: ") => {
                e.operation = Operation::Disconnect;
                if !known(e.user) {
                    if let Some(u) = word_after(msg, b" user=") {
                        e.user = u;
                    }
                }
                if !known(e.database) {
                    if let Some(d) = word_after(msg, b" database=") {
                        e.database = d;
                    }
                }
                Ok(true)
            }
            Some(b's') if msg.starts_with(b"statement: ") => {
                statement(&msg[11..], e);
                Ok(true)
            }
            Some(b'e') if msg.starts_with(b"execute ") => match executed(msg) {
                Some(sql) => {
                    statement(sql, e);
                    Ok(true)
                }
                None => Ok(false),
            },
            Some(b'd') if msg.starts_with(b"duration: ") => {
                // `duration: 1.2 ms  statement: ...` (log_min_duration_statement) is a
                // statement; a bare `duration: 1.2 ms` follows one already logged.
                let Some(i) = memchr::memmem::find(msg, b" ms  ") else {
                    return Ok(false);
                };
                let rest = &msg[i + 5..];
                if let Some(sql) = rest.strip_prefix(b"statement: ") {
                    statement(sql, e);
                    Ok(true)
                } else if rest.starts_with(b"execute ") {
                    match executed(rest) {
                        Some(sql) => {
                            statement(sql, e);
                            Ok(true)
                        }
                        None => Ok(false),
                    }
                } else {
                    Ok(false)
                }
            }
            _ => Ok(false),
        }
    }

    /// `connection authorized: user=U database=D [application_name=A] [SSL enabled (...)]`.
    fn connect(&mut self, tail: &'a [u8], e: &mut Event<'a>) {
        e.operation = Operation::Connect;
        if !known(e.user) {
            if let Some(u) = word_after(tail, b"user=") {
                e.user = u;
            }
        }
        if !known(e.database) {
            if let Some(d) = word_after(tail, b" database=") {
                e.database = d;
            }
        }
        self.inherit(e);
        // A socket is neither encrypted nor exposed; over TCP the absence of `SSL enabled`
        // (or of GSS encryption) is the only, and a reliable, sign of a plaintext session.
        // Where the log names no host at all, it cannot tell.
        e.tls = if e.client_host == b"[local]" || e.client_host.is_empty() {
            None
        } else {
            Some(
                memchr::memmem::find(tail, b"SSL enabled").is_some()
                    || memchr::memmem::find(tail, b"encrypted=yes").is_some(),
            )
        };
        self.sessions.insert(
            e.connection_id,
            Session {
                user: e.user,
                db: e.database,
                host: e.client_host,
            },
        );
    }

    /// `FATAL` messages of a refused login. Returns false for other fatal errors.
    fn failed_login(&mut self, msg: &'a [u8], e: &mut Event<'a>) -> bool {
        let user_from_msg;
        const FAILED: &[u8] = b" authentication failed for user \"";
        if let Some(i) = memchr::memmem::find(msg, FAILED) {
            // password, md5/scram, PAM (IAM), LDAP, ident, cert... all read the same.
            user_from_msg = quoted(&msg[i + FAILED.len()..]);
        } else if msg.starts_with(b"no pg_hba.conf entry for ")
            || msg.starts_with(b"pg_hba.conf rejects connection for ")
        {
            user_from_msg = after_quote(msg, b"user \"");
            if !known(e.database) {
                if let Some(d) = after_quote(msg, b"database \"") {
                    e.database = d;
                }
            }
            // `no encryption` is the trace of a plaintext attempt refused by rds.force_ssl.
            let tail = msg.trim_ascii_end();
            e.tls = if tail.ends_with(b"no encryption") || tail.ends_with(b"SSL off") {
                Some(false)
            } else if tail.ends_with(b"SSL encryption")
                || tail.ends_with(b"GSS encryption")
                || tail.ends_with(b"SSL on")
            {
                Some(true)
            } else {
                None
            };
            if e.client_host == b"[local]" {
                e.tls = None;
            }
        } else if let Some(rest) = msg.strip_prefix(b"role \"") {
            let trimmed = rest.trim_ascii_end();
            if !(trimmed.ends_with(b"\" is not permitted to log in")
                || trimmed.ends_with(b"\" does not exist"))
            {
                return false;
            }
            user_from_msg = quoted(rest);
        } else {
            return false;
        }
        e.operation = Operation::FailedConnect;
        if !known(e.user) {
            if let Some(u) = user_from_msg {
                e.user = u;
            }
        }
        true
    }

    /// Fills what the line lacks from the session's earlier record, and forgets a session
    /// when it ends (PIDs are reused).
    fn inherit(&mut self, e: &mut Event<'a>) {
        if !(known(e.user) && known(e.database) && !e.client_host.is_empty()) {
            if let Some(s) = self.sessions.get(&e.connection_id) {
                if !known(e.user) {
                    e.user = s.user;
                }
                if !known(e.database) {
                    e.database = s.db;
                }
                if e.client_host.is_empty() {
                    e.client_host = s.host;
                }
            }
        }
        if e.operation == Operation::Disconnect {
            self.sessions.remove(&e.connection_id);
        }
    }
}

/// `log_error_verbosity = verbose` puts the SQLSTATE before the message (`00000: `).
#[inline]
fn skip_sqlstate(msg: &[u8]) -> &[u8] {
    if msg.len() > 7
        && msg[5] == b':'
        && msg[6] == b' '
        && msg[..5]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && &msg[..5] != b"AUDIT"
    {
        &msg[7..]
    } else {
        msg
    }
}

fn statement<'a>(sql: &'a [u8], e: &mut Event<'a>) {
    e.operation = Operation::Query;
    e.object = Text::Raw(sql);
    e.statement_class = Some(classify(sql));
}

/// `execute <name>: SQL` (extended protocol): the SQL.
fn executed(msg: &[u8]) -> Option<&[u8]> {
    let i = memchr::memmem::find(msg, b": ")?;
    Some(&msg[i + 2..])
}

/// The space-delimited word after `key` (`user=app` → `app`).
fn word_after<'a>(s: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let i = memchr::memmem::find(s, key)? + key.len();
    let rest = &s[i..];
    let end = rest
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The text up to the next `"`.
fn quoted(s: &[u8]) -> Option<&[u8]> {
    memchr::memchr(b'"', s).map(|i| &s[..i])
}

/// The quoted value after `key` (`user "app"` → `app`).
fn after_quote<'a>(s: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let i = memchr::memmem::find(s, key)? + key.len();
    quoted(&s[i..])
}

/// A pgaudit record: `AUDIT_TYPE,STATEMENT_ID,SUBSTATEMENT_ID,CLASS,COMMAND,OBJECT_TYPE,
/// OBJECT_NAME,STATEMENT,PARAMETER[,ROWS]` (formats.md §4.4). The statement becomes the
/// object; the class comes from pgaudit's CLASS and COMMAND where they decide it, otherwise
/// from the text.
///
/// `cut`: the record was cut at the record limit, so a quoted STATEMENT may not close; its
/// text then runs to the cut.
fn audit<'a>(csv: &'a [u8], e: &mut Event<'a>, cut: bool) -> Result<(), Reason> {
    // The Aurora documentation shows the CSV on the line after `AUDIT:`.
    let mut rest = csv.trim_ascii_start();
    let field = |rest: &mut &'a [u8]| csv_field(rest).ok_or(Reason::MissingFields);
    let _audit_type = field(&mut rest)?;
    let (statement_id, _) = field(&mut rest)?;
    let _substatement_id = field(&mut rest)?;
    let (class, _) = field(&mut rest)?;
    let (command, _) = field(&mut rest)?;
    let _object_type = field(&mut rest)?;
    let _object_name = field(&mut rest)?;
    let (sql, doubled) = match csv_field(&mut rest) {
        Some(f) => f,
        None if cut => {
            let sql = rest.strip_prefix(b"\"").unwrap_or(rest);
            (sql, memchr::memmem::find(sql, b"\"\"").is_some())
        }
        None => return Err(Reason::MissingFields),
    };
    e.operation = Operation::Query;
    e.query_id = statement_id
        .iter()
        .try_fold(0i64, |v, &c| {
            c.is_ascii_digit()
                .then(|| v.checked_mul(10)?.checked_add((c - b'0') as i64))
                .flatten()
        })
        .unwrap_or(0);
    e.object = if doubled {
        Text::Quoted(sql)
    } else {
        Text::Raw(sql)
    };
    // `<previously logged>`, `<not logged>`: no text to read.
    let text_known = !sql.starts_with(b"<");
    e.statement_class = Some(audit_class(class, command, text_known.then_some(sql)));
    Ok(())
}

/// pgaudit's CLASS and COMMAND where they settle the question (every ROLE statement changes
/// privileges; dropping or truncating a table destroys data whatever the text looks like),
/// else the statement text (which also sees `DELETE` without `WHERE` and `COPY ... TO
/// PROGRAM` inside WRITE and READ), else the class alone.
fn audit_class(class: &[u8], command: &[u8], sql: Option<&[u8]>) -> StatementClass {
    if class == b"ROLE" {
        return StatementClass::Privilege;
    }
    const DESTROYING: [&[u8]; 5] = [
        b"DROP TABLE",
        b"DROP DATABASE",
        b"DROP SCHEMA",
        b"TRUNCATE TABLE",
        b"TRUNCATE",
    ];
    if DESTROYING.iter().any(|c| command.eq_ignore_ascii_case(c)) {
        return StatementClass::Destructive;
    }
    if let Some(sql) = sql {
        let c = classify(sql);
        if c != StatementClass::Other {
            return c;
        }
    }
    match class {
        b"DDL" => StatementClass::Ddl,
        b"WRITE" => StatementClass::Write,
        b"READ" => StatementClass::Read,
        _ => StatementClass::Other,
    }
}

/// One CSV field with pgaudit's quoting (double quotes around a field holding `,` `"` CR or
/// LF, `""` for a quote): the field (inside the quotes) and whether it holds `""`. Advances
/// `rest` past the comma.
fn csv_field<'a>(rest: &mut &'a [u8]) -> Option<(&'a [u8], bool)> {
    let s = *rest;
    if s.first() == Some(&b'"') {
        let mut i = 1;
        let mut doubled = false;
        loop {
            let q = i + memchr::memchr(b'"', &s[i..])?;
            if s.get(q + 1) == Some(&b'"') {
                doubled = true;
                i = q + 2;
                continue;
            }
            let after = &s[q + 1..];
            *rest = match after.first() {
                Some(b',') => &after[1..],
                None => after,
                // Text after the closing quote: not pgaudit's CSV.
                Some(_) => return None,
            };
            return Some((&s[1..q], doubled));
        }
    }
    match memchr::memchr(b',', s) {
        Some(i) => {
            *rest = &s[i + 1..];
            Some((&s[..i], false))
        }
        None => {
            *rest = &s[s.len()..];
            Some((s, false))
        }
    }
}

/// A record being gathered from lines.
struct Open<'a> {
    /// Offset of its first line in the chunk, and the first line's number.
    start: usize,
    first_line: u64,
    /// Offset of the body (after any export prefix) of the first line.
    body: usize,
    prefix: Result<Prefix<'a>, Reason>,
    /// End of the message's last line (before attached `DETAIL` lines), CR excluded.
    main_end: usize,
    /// End of the record's last non-blank line, newline excluded.
    end: usize,
    lines: u64,
    /// A `DETAIL`-like line has been attached: continuation lines now belong to it.
    attached: bool,
    /// The record's last line has no newline and ends the input.
    truncated: bool,
}

/// Splits a record-aligned chunk into records and reports each. Returns the lines seen.
pub fn parse_chunk<'a, S: RecordSink<'a>>(
    format: &FileFormat,
    chunk: &'a [u8],
    first_line: u64,
    at_eof: bool,
    sink: &mut S,
) -> u64 {
    match format.clock.pg_prefix {
        None => parse_entries(Rds, format, chunk, first_line, at_eof, sink),
        Some(p) => parse_entries(p, format, chunk, first_line, at_eof, sink),
    }
}

fn parse_entries<'a, L: Layout, S: RecordSink<'a>>(
    layout: L,
    format: &FileFormat,
    chunk: &'a [u8],
    first_line: u64,
    at_eof: bool,
    sink: &mut S,
) -> u64 {
    let mut parser = Parser::new(format.forced);
    let mut open: Option<Open<'a>> = None;
    // Blank lines not yet known to be inside a record (a later continuation line takes them
    // in; a record start or the end of the chunk makes them blank).
    let mut blanks: (u64, u64) = (0, 0);
    let mut line_no = first_line;
    let mut start = 0;
    while start < chunk.len() {
        let (end, next, terminated) = match memchr::memchr(b'\n', &chunk[start..]) {
            Some(i) => (start + i, start + i + 1, true),
            None => (chunk.len(), chunk.len(), false),
        };
        let line = super::trim_cr(&chunk[start..end]);
        let line_end = start + line.len();
        let this = line_no;
        line_no += 1;
        let truncated = !terminated && at_eof;
        start = next;

        if line.iter().all(|b| b.is_ascii_whitespace()) {
            if blanks.1 == 0 {
                blanks.0 = this;
            }
            blanks.1 += 1;
            continue;
        }
        // Continuation lines never start with a digit in practice; test that first.
        let (body, export) = if !L::DIGIT_FIRST || line[0].is_ascii_digit() {
            strip_export(line)
        } else {
            (&line[..0], None)
        };
        let entry = if body.is_empty() {
            None
        } else {
            layout.entry(body)
        };
        if let Some(prefix) = entry {
            let prefix = with_export(prefix, export);
            if let (Some(o), Ok(p)) = (open.as_mut(), &prefix) {
                if is_attached(p.severity) && o.prefix.as_ref().is_ok_and(|q| q.pid == p.pid) {
                    o.lines += blanks.1 + 1;
                    blanks.1 = 0;
                    o.attached = true;
                    o.end = line_end;
                    o.truncated = truncated;
                    continue;
                }
            }
            finish(&mut parser, open.take(), chunk, sink);
            flush_blanks(&mut blanks, sink);
            let body_off = line_end - body.len();
            open = Some(Open {
                start: line_end - line.len(),
                first_line: this,
                body: body_off,
                prefix,
                main_end: line_end,
                end: line_end,
                lines: 1,
                attached: false,
                truncated,
            });
        } else if line[0] == b'-' && is_end_of_log(line) {
            finish(&mut parser, open.take(), chunk, sink);
            flush_blanks(&mut blanks, sink);
            sink.ignored(1);
        } else if let Some(o) = open.as_mut() {
            o.lines += blanks.1 + 1;
            blanks.1 = 0;
            if !o.attached {
                o.main_end = line_end;
            }
            o.end = line_end;
            o.truncated = truncated;
        } else {
            flush_blanks(&mut blanks, sink);
            let reason = if truncated {
                Reason::TruncatedLastLine
            } else {
                Reason::OrphanContinuation
            };
            sink.rejected(this, reason, line);
        }
    }
    finish(&mut parser, open.take(), chunk, sink);
    flush_blanks(&mut blanks, sink);
    line_no - first_line
}

fn flush_blanks<'a, S: RecordSink<'a>>(blanks: &mut (u64, u64), sink: &mut S) {
    for k in 0..blanks.1 {
        sink.blank(blanks.0 + k);
    }
    blanks.1 = 0;
}

/// Reports a complete record: an event (its other lines ignored), an ignored record, or a
/// rejection of each of its lines.
fn finish<'a, S: RecordSink<'a>>(
    parser: &mut Parser<'a>,
    open: Option<Open<'a>>,
    chunk: &'a [u8],
    sink: &mut S,
) {
    let Some(o) = open else {
        return;
    };
    // A record over the limit keeps its text up to the limit (its attached lines too, if
    // the limit falls after them; they are not read anyway).
    let cut = super::cut_record(&chunk[o.start..o.end], sink.max_record()).map(|n| o.start + n);
    let main_end = cut.map_or(o.main_end, |c| c.min(o.main_end).max(o.body));
    parser.cut = cut.is_some();
    let outcome = match o.prefix {
        Ok(p) => parser.decide(&chunk[o.body..main_end], p, o.first_line),
        Err(r) => Outcome::Rejected(r),
    };
    parser.cut = false;
    match outcome {
        Outcome::Event(e) => {
            if cut.is_some() {
                sink.truncated();
            }
            sink.event(e, &chunk[o.body..main_end]);
            if o.lines > 1 {
                sink.ignored(o.lines - 1);
            }
        }
        Outcome::Ignored => sink.ignored(o.lines),
        Outcome::Rejected(reason) => {
            let reason = if o.truncated {
                Reason::TruncatedLastLine
            } else {
                reason
            };
            let lines = chunk[o.start..o.end].split(|&b| b == b'\n');
            for (no, line) in (o.first_line..).zip(lines) {
                let line = super::trim_cr(line);
                if line.trim_ascii().is_empty() {
                    sink.blank(no);
                } else {
                    sink.rejected(no, reason, line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{self, Family};

    /// Everything a parse reported, in order, with owned values, for comparing parses.
    #[derive(Default, Debug, PartialEq)]
    struct Log {
        events: Vec<String>,
        ignored: u64,
        blank: Vec<u64>,
        rejected: Vec<(u64, Reason)>,
        /// The record limit (0: the default).
        max: usize,
        /// Lines of the events reported as truncated.
        truncated: Vec<u64>,
        next_cut: bool,
    }

    impl<'a> RecordSink<'a> for Log {
        fn event(&mut self, e: Event<'a>, m: &'a [u8]) {
            if std::mem::take(&mut self.next_cut) {
                self.truncated.push(e.line);
            }
            self.events.push(format!(
                "{} {} u={} h={} db={} pid={} q={} {:?} tls={:?} class={:?} obj={:?} msg={:?}",
                e.line,
                e.time_us,
                String::from_utf8_lossy(e.user),
                String::from_utf8_lossy(e.client_host),
                String::from_utf8_lossy(e.database),
                e.connection_id,
                e.query_id,
                e.operation,
                e.tls,
                e.statement_class,
                e.object.to_cow(),
                String::from_utf8_lossy(m),
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
        fn max_record(&self) -> usize {
            match self.max {
                0 => format::DEFAULT_MAX_RECORD_BYTES,
                n => n,
            }
        }
        fn truncated(&mut self) {
            self.next_cut = true;
        }
    }

    /// A statement over the record limit, on many lines (a huge `IN` list, say), stays one
    /// event with its user, host, database and class, its text cut at the limit, and every
    /// one of its lines accounted for; so does a pgaudit record whose quoted STATEMENT loses
    /// its closing quote to the cut. The records around them are read as usual.
    #[test]
    fn records_over_the_limit_keep_their_fields_and_count_every_line() {
        let list: String = (0..200).map(|i| format!("  ,{i:06}\n")).collect();
        let text = format!(
            "{SESSION}2025-02-03 08:00:05 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  statement: GRANT ALL ON customers TO intruder /* in\n{list}  */\n\
2025-02-03 08:00:06 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  AUDIT: SESSION,2,1,ROLE,GRANT,,,\"GRANT admin TO intruder /*\n{list} */\",<not logged>\n\
2025-02-03 08:00:07 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  statement: select 1\n"
        );
        let (whole, lines) = parse(&text);
        assert!(whole.truncated.is_empty() && whole.rejected.is_empty());
        let mut log = Log {
            max: 512,
            ..Log::default()
        };
        assert_eq!(
            parse_chunk(&pg(), text.as_bytes(), 1, true, &mut log),
            lines
        );
        assert!(log.rejected.is_empty(), "{:?}", log.rejected);
        assert_eq!(log.events.len(), whole.events.len());
        assert_eq!(log.ignored, whole.ignored);
        assert_eq!(log.blank, whole.blank);
        let grant = SESSION.lines().count() as u64 + 1;
        assert_eq!(log.truncated, [grant, grant + 202]);
        for (cut, full) in log.events.iter().zip(&whole.events) {
            let head = |e: &str| e[..e.find(" obj=").unwrap()].to_string();
            assert_eq!(head(cut), head(full));
        }
        let n = log.events.len();
        for e in &log.events[n - 3..n - 1] {
            assert!(e.contains(" u=app h=10.0.3.7 db=orders pid=901 "), "{e}");
            assert!(e.contains("class=Some(Privilege)"), "{e}");
            let obj = &e[e.find(" obj=").unwrap()..e.find(" msg=").unwrap()];
            assert!(obj.len() < 512 && obj.contains(",000"), "{obj}");
        }
        assert_eq!(log.events[n - 1], whole.events[n - 1]);
        // Read in small chunks and streamed blocks, the same.
        for size in [64, 1000] {
            let mut chunked = parse_in_chunks_with(&text, size, 512);
            chunked.max = 512;
            assert_eq!(chunked, log, "chunks of {size}");
        }
    }

    fn pg() -> FileFormat {
        FileFormat {
            family: Family::Postgres,
            cloudwatch_export: false,
            forced: None,
            clock: Default::default(),
        }
    }

    fn parse(text: &str) -> (Log, u64) {
        let mut log = Log::default();
        let n = parse_chunk(&pg(), text.as_bytes(), 1, true, &mut log);
        (log, n)
    }

    fn one(line: &str) -> Event<'_> {
        match Parser::new(None).record(line.as_bytes(), 1) {
            Outcome::Event(e) => e,
            Outcome::Ignored => panic!("ignored: {line}"),
            Outcome::Rejected(r) => panic!("rejected ({r:?}): {line}"),
        }
    }

    /// Parses `text` cut into chunks the way the planner cuts a mapped file, with chunks of
    /// about `size` bytes, and returns the merged log.
    fn parse_in_chunks(text: &str, size: usize) -> Log {
        parse_in_chunks_with(text, size, 0)
    }

    /// [`parse_in_chunks`] with the record limit `max` (0: the default).
    fn parse_in_chunks_with(text: &str, size: usize, max: usize) -> Log {
        let buf = text.as_bytes();
        let f = format::sniff(buf).unwrap();
        let mut log = Log {
            max,
            ..Log::default()
        };
        let (mut pos, mut line) = (0, 1u64);
        while pos < buf.len() {
            let end = format::next_record_start(&f, buf, (pos + size).min(buf.len()));
            let end = if end <= pos { buf.len() } else { end };
            let n = format::parse_chunk(&f, &buf[pos..end], line, end == buf.len(), &mut log);
            assert_eq!(n, bytecount_lines(&buf[pos..end], end == buf.len()));
            line += n;
            pos = end;
        }
        log
    }

    /// Streams `text` the way a gzip file is read: blocks cut at `last_record_end`.
    fn parse_streamed(text: &str, block: usize) -> Log {
        let buf = text.as_bytes();
        let f = format::sniff(buf).unwrap();
        let mut log = Log::default();
        let mut held: Vec<u8> = Vec::new();
        let mut fed = 0;
        let mut line = 1u64;
        // The parse borrows what it reports only for the duration of the call.
        let mut chunks: Vec<(Vec<u8>, u64, bool)> = Vec::new();
        loop {
            let take = (buf.len() - fed).min(block);
            held.extend_from_slice(&buf[fed..fed + take]);
            fed += take;
            let at_eof = fed == buf.len();
            let cut = if at_eof {
                Some(held.len())
            } else {
                format::last_record_end(&f, &held)
            };
            if let Some(cut) = cut {
                let c: Vec<u8> = held.drain(..cut).collect();
                let n = bytecount_lines(&c, at_eof);
                chunks.push((c, line, at_eof));
                line += n;
            }
            if at_eof {
                break;
            }
        }
        for (c, first, eof) in &chunks {
            format::parse_chunk(&f, c, *first, *eof, &mut log);
        }
        log
    }

    fn bytecount_lines(b: &[u8], eof: bool) -> u64 {
        let n = b.iter().filter(|&&c| c == b'\n').count() as u64;
        n + u64::from(eof && !b.is_empty() && b.last() != Some(&b'\n'))
    }

    const SESSION: &str = "\
2025-02-03 08:00:00 UTC:10.0.3.7(50122):[unknown]@[unknown]:[901]:LOG:  connection received: host=10.0.3.7 port=50122
2025-02-03 08:00:01 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  connection authorized: user=app database=orders application_name=psql SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)
2025-02-03 08:00:02 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,\"SELECT id, name
  FROM customers

 WHERE note = 'a \"\"b\"\", c'\",<not logged>
2025-02-03 08:00:03 UTC:10.0.3.7(50122):app@orders:[901]:ERROR:  duplicate key value violates unique constraint \"t_pkey\"
2025-02-03 08:00:03 UTC:10.0.3.7(50122):app@orders:[901]:DETAIL:  Key (id)=(1) already exists.
2025-02-03 08:00:03 UTC:10.0.3.7(50122):app@orders:[901]:STATEMENT:  INSERT INTO t
\tVALUES (1)
2025-02-03 08:00:04 UTC::@:[355]:LOG:  checkpoint starting: time
2025-02-03 08:00:05 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  statement: SELECT 1;
2025-02-03 08:00:05 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  duration: 1.5 ms  statement: DELETE FROM t
2025-02-03 08:00:05 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  duration: 0.2 ms

2025-02-03 08:00:06 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  disconnection: session time: 0:00:06.012 user=app database=orders host=10.0.3.7 port=50122
";

    #[test]
    fn multi_line_records_count_once_and_every_line_is_accounted_for() {
        let (log, lines) = parse(SESSION);
        assert_eq!(lines, 16);
        assert_eq!(log.events.len(), 5, "{:#?}", log.events);
        assert!(log.rejected.is_empty(), "{:?}", log.rejected);
        assert_eq!(log.blank, vec![15]);
        // connection received (1) + audit continuation (3) + ERROR with DETAIL and a
        // two-line STATEMENT (4) + checkpoint (1) + bare duration (1).
        assert_eq!(log.ignored, 10);
        assert_eq!(log.events.len() as u64 + log.ignored + 1, lines);
        assert!(
            log.events[0].contains("Connect tls=Some(true)"),
            "{}",
            log.events[0]
        );
        assert!(log.events[1].starts_with("3 "), "{}", log.events[1]);
        assert!(
            log.events[1].contains(
                "obj=\"SELECT id, name\\n  FROM customers\\n\\n WHERE note = 'a \\\"b\\\", c'\""
            ),
            "{}",
            log.events[1]
        );
        assert!(log.events[1].contains("class=Some(Read)"));
        assert!(
            log.events[3].contains("obj=\"DELETE FROM t\" msg"),
            "{}",
            log.events[3]
        );
        assert!(log.events[3].contains("class=Some(Destructive)"));
        assert!(log.events[4].contains("Disconnect"));
    }

    #[test]
    fn chunk_edges_never_split_a_record() {
        let whole = parse(SESSION).0;
        for size in [1, 7, 40, 100, 250, 333, 700] {
            assert_eq!(parse_in_chunks(SESSION, size), whole, "chunks of {size}");
        }
        for block in [1, 13, 64, 200, 512] {
            assert_eq!(parse_streamed(SESSION, block), whole, "blocks of {block}");
        }
    }

    #[test]
    fn chunk_edges_skip_detail_lines_and_continuations() {
        let f = format::sniff(SESSION.as_bytes()).unwrap();
        let buf = SESSION.as_bytes();
        let detail = SESSION
            .find("2025-02-03 08:00:03 UTC:10.0.3.7(50122):app@orders:[901]:DETAIL")
            .unwrap();
        let checkpoint = SESSION.find("2025-02-03 08:00:04").unwrap();
        // From inside the ERROR record the next edge is the checkpoint, past DETAIL,
        // STATEMENT and the statement's continuation line.
        assert_eq!(format::next_record_start(&f, buf, detail - 3), checkpoint);
        // A stream block ending inside the checkpoint line is cut before the ERROR record:
        // the unfinished line cannot be judged, and DETAIL and STATEMENT belong to ERROR.
        let error = SESSION.find("2025-02-03 08:00:03").unwrap();
        assert_eq!(
            format::last_record_end(&f, &buf[..checkpoint + 5]),
            Some(error)
        );
        assert_eq!(
            format::last_record_end(&f, &buf[..error + 5]),
            Some(SESSION.find("2025-02-03 08:00:02").unwrap())
        );
    }

    #[test]
    fn sample_prefix_forms_parse() {
        let e = one("2022-10-05 22:05:52 UTC::@:[355]:LOG:  statement: select 1");
        assert_eq!(
            (e.client_host, e.user, e.database, e.connection_id),
            (&b""[..], &b""[..], &b""[..], 355)
        );
        let e = one("2025-02-03 08:00:03 UTC:[local]:rdsadmin@rdsadmin:[903]:LOG:  connection authorized: user=rdsadmin database=rdsadmin");
        assert_eq!(e.client_host, b"[local]");
        assert_eq!(e.tls, None);
        let e = one("2025-02-03 08:00:03 UTC:2001:db8::1(5432):app@db:[77]:LOG:  connection authorized: user=app database=db");
        assert_eq!(e.client_host, b"2001:db8::1");
        assert_eq!(
            crate::event::client_ip(e.client_host).unwrap().to_string(),
            "2001:db8::1"
        );
        assert_eq!(e.tls, Some(false));
        let e = one("2020-09-08 04:00:24 UTC:ec2-52-222-123-172.us-gov-west-1.compute.amazonaws.com(48501):fec_api@fec:[109708]:LOG:  statement: SELECT 1");
        assert_eq!(
            e.client_host,
            b"ec2-52-222-123-172.us-gov-west-1.compute.amazonaws.com"
        );
        assert_eq!(e.connection_id, 109708);
        // A user name with `@` splits at the last one.
        let e = one("2025-02-03 08:00:03 UTC:10.1.1.1(1):jane@corp.example@sales:[5]:LOG:  statement: SELECT 1");
        assert_eq!(
            (e.user, e.database),
            (&b"jane@corp.example"[..], &b"sales"[..])
        );
        // One space after the severity, as in AWS's examples.
        let e = one("2022-10-05 22:05:52 UTC:52.95.4.1(11335):postgres@labdb:[3639]:LOG: statement: SELECT feedback");
        assert_eq!(e.object, Text::Raw(b"SELECT feedback"));
    }

    #[test]
    fn a_prefix_without_user_and_database_is_rejected_not_misread() {
        for line in [
            "2025-02-03 08:00:02 UTC:h(1):[5]:LOG:  statement: x",
            "2025-02-03 08:00:02 UTC::[5]:LOG:  statement: x",
            "2025-02-03 08:00:02 UTC:h(1):u@d:[5]",
            "2025-02-03 08:00:02 UTC:h(1):u@d:[5]:",
            "2025-02-03 08:00:02 UTC:h(1):ud:[5]:LOG:  x",
        ] {
            assert!(
                matches!(
                    Parser::new(None).record(line.as_bytes(), 1),
                    Outcome::Rejected(Reason::BadPrefix)
                ),
                "{line}"
            );
        }
    }

    #[test]
    fn time_zones_are_applied_and_unknown_ones_rejected() {
        let utc = one("2025-02-03 08:00:00 UTC:h(1):u@d:[1]:LOG:  statement: x").time_us;
        assert_eq!(
            one("2025-02-03 09:00:00 CET:h(1):u@d:[1]:LOG:  statement: x").time_us,
            utc
        );
        assert_eq!(
            one("2025-02-03 03:00:00 -05:h(1):u@d:[1]:LOG:  statement: x").time_us,
            utc
        );
        assert_eq!(
            one("2025-02-03 13:30:00 +0530:h(1):u@d:[1]:LOG:  statement: x").time_us,
            utc
        );
        assert_eq!(
            one("2025-02-03 08:00:00.250 UTC:h(1):u@d:[1]:LOG:  statement: x").time_us,
            utc + 250_000
        );
        assert!(matches!(
            Parser::new(None).record(
                b"2025-02-03 08:00:00 IST:h(1):u@d:[1]:LOG:  statement: x",
                1
            ),
            Outcome::Rejected(Reason::UnknownTimeZone)
        ));
    }

    #[test]
    fn login_failures_are_failed_connects_with_tls_where_the_log_says() {
        let e = one("2024-01-21 17:56:55 UTC:3.92.54.14(57164):postgresql@postgresql:[43627]:FATAL:  password authentication failed for user \"postgresql\"");
        assert_eq!(e.operation, Operation::FailedConnect);
        assert_eq!(e.tls, None);
        let e = one("2025-02-03 08:00:02 UTC:10.0.3.7(50123):[unknown]@[unknown]:[902]:FATAL:  no pg_hba.conf entry for host \"10.0.3.7\", user \"app\", database \"orders\", no encryption");
        assert_eq!(
            (e.user, e.database, e.tls),
            (&b"app"[..], &b"orders"[..], Some(false))
        );
        let e = one("2025-02-03 08:00:02 UTC:10.0.3.7(50123):app@orders:[902]:FATAL:  no pg_hba.conf entry for host \"10.0.3.7\", user \"app\", database \"orders\", SSL encryption");
        assert_eq!(e.tls, Some(true));
        let e = one("2025-02-03 08:00:02 UTC:10.0.3.7(50123):[unknown]@[unknown]:[902]:FATAL:  role \"bob\" is not permitted to log in");
        assert_eq!(
            (e.operation, e.user),
            (Operation::FailedConnect, &b"bob"[..])
        );
        let e = one("2025-02-03 08:00:02 UTC:10.0.3.7(50123):x@y:[902]:FATAL:  PAM authentication failed for user \"iam_user\"");
        assert_eq!(e.operation, Operation::FailedConnect);
        // Before the startup packet is read the prefix has no user: the message names it.
        let e = one("2025-02-03 08:00:02 UTC:10.0.3.7(50123):[unknown]@[unknown]:[902]:FATAL:  password authentication failed for user \"mallory\"");
        assert_eq!((e.user, e.database), (&b"mallory"[..], &b""[..]));
        assert!(matches!(
            Parser::new(None).record(b"2025-02-03 08:00:02 UTC:10.0.3.7(50123):x@y:[902]:FATAL:  terminating connection due to administrator command", 1),
            Outcome::Ignored
        ));
    }

    #[test]
    fn tls_is_read_in_every_version_variant() {
        for tail in [
            "SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)",
            "SSL enabled (protocol=TLSv1.2, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256, compression=off)",
            "SSL enabled (protocol=TLSv1.2, cipher=ECDHE-RSA-AES256-GCM-SHA384, compression=off)",
            "GSS (authenticated=yes, encrypted=yes, principal=u@REALM)",
        ] {
            let line = format!("2025-02-03 08:00:01 UTC:10.0.3.7(1):u@d:[9]:LOG:  connection authorized: user=u database=d application_name=x {tail}");
            assert_eq!(one(&line).tls, Some(true), "{tail}");
        }
        let line = "2025-02-03 08:00:01 UTC:10.0.3.7(1):u@d:[9]:LOG:  replication connection authorized: user=u";
        assert_eq!(one(line).tls, Some(false));
    }

    #[test]
    fn pgaudit_class_and_command_decide_the_statement_class() {
        let c = |csv: &str| {
            let line = format!("2025-02-03 08:00:04 UTC:10.0.3.7(1):u@d:[9]:LOG:  AUDIT: {csv}");
            let e = one(&line);
            (
                e.statement_class.unwrap(),
                e.object.to_cow().into_owned(),
                e.query_id,
            )
        };
        assert_eq!(
            c("SESSION,5,1,ROLE,ALTER ROLE,,,ALTER ROLE x WITH PASSWORD <REDACTED>,<not logged>").0,
            StatementClass::Privilege
        );
        assert_eq!(
            c("SESSION,6,1,DDL,DROP TABLE,TABLE,public.t,drop table t,<not logged>").0,
            StatementClass::Destructive
        );
        assert_eq!(
            c("SESSION,7,1,WRITE,TRUNCATE TABLE,TABLE,public.t,truncate t,<not logged>").0,
            StatementClass::Destructive
        );
        assert_eq!(
            c("SESSION,8,1,WRITE,DELETE,,,delete from t,<not logged>").0,
            StatementClass::Destructive
        );
        assert_eq!(
            c("SESSION,9,1,READ,COPY,,,COPY t TO PROGRAM 'curl x',<not logged>").0,
            StatementClass::Exfiltration
        );
        assert_eq!(
            c("OBJECT,10,1,READ,SELECT,TABLE,public.t,<previously logged>,<previously logged>"),
            (StatementClass::Read, "<previously logged>".into(), 10)
        );
        assert_eq!(
            c("SESSION,11,1,MISC,CHECKPOINT,,,CHECKPOINT,<not logged>").0,
            StatementClass::Other
        );
        assert_eq!(c("SESSION,12,1,DDL,CREATE TABLE,TABLE,\"public.\"\"odd,name\"\"\",\"CREATE TABLE \"\"odd,name\"\" (a int)\",<none>").1, "CREATE TABLE \"odd,name\" (a int)");
    }

    #[test]
    fn pgaudit_csv_on_the_line_after_audit_is_read() {
        let text = "2017-06-12 19:09:49 UTC:10.1.1.1(5):rds_test@postgres:[11701]:LOG:  AUDIT:\nOBJECT,1,1,READ,SELECT,TABLE,public.t1,select * from t1;\n";
        let (log, n) = parse(text);
        assert_eq!(n, 2);
        assert_eq!(log.events.len(), 1);
        assert!(
            log.events[0].contains("obj=\"select * from t1;\""),
            "{}",
            log.events[0]
        );
        assert_eq!(log.ignored, 1);
    }

    #[test]
    fn unterminated_pgaudit_quote_rejects_every_line_of_the_record() {
        let text = "2025-02-03 08:00:04 UTC:10.0.3.7(1):u@d:[9]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,\"select\nfrom t\n2025-02-03 08:00:05 UTC:10.0.3.7(1):u@d:[9]:LOG:  statement: select 2\n";
        let (log, n) = parse(text);
        assert_eq!(n, 3);
        assert_eq!(
            log.rejected,
            vec![(1, Reason::MissingFields), (2, Reason::MissingFields)]
        );
        assert_eq!(log.events.len(), 1);
    }

    #[test]
    fn end_of_log_markers_and_orphan_lines_are_accounted_for() {
        let text = "orphan continuation\n2025-02-03 08:00:05 UTC:10.0.3.7(1):u@d:[9]:LOG:  statement: select 1\n----------------------- END OF LOG ----------------------\n\n\n2025-02-03 08:00:06 UTC:10.0.3.7(1):u@d:[9]:LOG:  statement: select\n2";
        let (log, n) = parse(text);
        assert_eq!(n, 7);
        assert_eq!(log.rejected, vec![(1, Reason::OrphanContinuation)]);
        assert_eq!(
            log.ignored, 2,
            "the marker, and the continuation of the last statement"
        );
        assert_eq!(log.blank, vec![4, 5]);
        assert_eq!(log.events.len(), 2);
        assert!(
            log.events[1].contains("obj=\"select\\n2\""),
            "{}",
            log.events[1]
        );
    }

    #[test]
    fn later_records_inherit_the_session_by_pid() {
        let text = "\
2025-02-03 08:00:01 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  connection authorized: user=app database=orders
2025-02-03 08:00:02 UTC::[unknown]@[unknown]:[901]:LOG:  statement: select 1
2025-02-03 08:00:03 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  disconnection: session time: 0:00:02.000 user=app database=orders host=10.0.3.7 port=50122
2025-02-03 08:00:04 UTC::[unknown]@[unknown]:[901]:LOG:  statement: select 2
";
        let (log, _) = parse(text);
        assert!(
            log.events[1].contains("u=app h=10.0.3.7 db=orders"),
            "{}",
            log.events[1]
        );
        // After the disconnection the PID may belong to someone else.
        assert!(
            log.events[3].contains("u=[unknown] h= db= "),
            "{}",
            log.events[3]
        );
    }

    #[test]
    fn export_prefixed_records_keep_continuations_without_prefix() {
        let text = "2019-08-09T18:00:00.000Z 2019-08-09 18:00:00 UTC:10.50.72.222(33436):lmn@lmn_db:[26802]:LOG:  duration: 13.817 ms  statement: SELECT id,name\nfrom abc\n2019-08-09T18:00:01.000Z 2019-08-09 18:00:01 UTC:10.50.72.222(33436):lmn@lmn_db:[26802]:LOG:  statement: select 2\n";
        let f = format::sniff(text.as_bytes()).unwrap();
        assert_eq!((f.family, f.cloudwatch_export), (Family::Postgres, true));
        let mut log = Log::default();
        assert_eq!(
            format::parse_chunk(&f, text.as_bytes(), 1, true, &mut log),
            3
        );
        assert_eq!(log.events.len(), 2);
        assert!(
            log.events[0].contains("obj=\"SELECT id,name\\nfrom abc\""),
            "{}",
            log.events[0]
        );
        assert_eq!(parse_in_chunks(text, 10), log);
    }

    /// A xorshift64 generator (deterministic random edits for the no-panic tests).
    fn xorshift(mut rng: u64) -> impl FnMut() -> u64 {
        move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        }
    }

    /// One to eight random edits of `s` (replace, insert or delete a byte of `alphabet`).
    fn random_edits(s: &mut Vec<u8>, alphabet: &[u8], next: &mut impl FnMut() -> u64) {
        for _ in 0..1 + next() % 8 {
            let at = (next() % (s.len() as u64 + 1)) as usize;
            let c = alphabet[(next() % alphabet.len() as u64) as usize];
            match next() % 3 {
                0 if at < s.len() => s[at] = c,
                1 => s.insert(at, c),
                _ if at < s.len() => {
                    s.remove(at);
                }
                _ => {}
            }
        }
    }

    #[test]
    fn no_byte_sequence_panics() {
        // Random edits (replace, insert, delete) of real records, biased towards the bytes the
        // prefix parser looks for; every result is parsed, cut and accounted for.
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let alphabet: &[u8] =
            b"2025-02-03 08:00:00 UTC:()[]@,\"\n\r:LOGFATALAUDIT: SESSION\xff\xc3 1";
        let f = format::sniff(SESSION.as_bytes()).unwrap();
        for _ in 0..5000 {
            let mut s = SESSION.as_bytes().to_vec();
            random_edits(&mut s, alphabet, &mut next);
            let cut = (next() % (s.len() as u64 + 1)) as usize;
            let s = &s[..cut];
            let mut log = Log::default();
            let n = parse_chunk(&pg(), s, 1, true, &mut log);
            let accounted = log.events.len() as u64
                + log.ignored
                + log.blank.len() as u64
                + log.rejected.len() as u64;
            assert_eq!(accounted, n, "{:?}", String::from_utf8_lossy(s));
            for line in s.split(|&b| b == b'\n') {
                let _ = Parser::new(None).record(line, 1);
                let _ = is_boundary(line);
            }
            let _ = format::next_record_start(&f, s, cut / 2);
            let _ = format::last_record_end(&f, s);
        }
    }

    /// A `%t` or export-prefix time that does not exist rejects its record, by field and
    /// line, and still opens a record: its continuation lines go with it, not with the record
    /// before, and the records around it parse.
    #[test]
    fn impossible_timestamps_reject_their_record_by_field() {
        let text = "2026-02-28 10:00:00 UTC:h(1):u@d:[1]:LOG:  statement: SELECT 1\n\
                    2026-02-31 10:00:01 UTC:h(1):u@d:[1]:LOG:  statement: SELECT\n\
                    \t2\n\
                    2026-03-01 24:00:00 UTC:h(1):u@d:[1]:LOG:  statement: SELECT 3\n\
                    2026-13-01 10:00:00 UTC:h(1):u@d:[1]:LOG:  statement: SELECT 4\n\
                    2026-03-01 10:61:00 UTC:h(1):u@d:[1]:LOG:  statement: SELECT 5\n\
                    2026-03-01 10:00:61 UTC:h(1):u@d:[1]:LOG:  statement: SELECT 6\n\
                    2024-02-29 10:00:00 UTC:h(1):u@d:[1]:LOG:  statement: SELECT 7\n";
        let (log, n) = parse(text);
        assert_eq!(n, 8);
        assert_eq!(
            log.rejected,
            vec![
                (2, Reason::BadDay),
                (3, Reason::BadDay),
                (4, Reason::BadHour),
                (5, Reason::BadMonth),
                (6, Reason::BadMinute),
                (7, Reason::BadSecond),
            ]
        );
        assert_eq!(log.events.len(), 2);
        assert!(log.events[0]
            .ends_with("msg=\"2026-02-28 10:00:00 UTC:h(1):u@d:[1]:LOG:  statement: SELECT 1\""));
        assert!(
            log.events[1].starts_with("8 1709200800000000 "),
            "{}",
            log.events[1]
        );

        // The CloudWatch export prefix: stripped by its shape, checked by its calendar.
        let text = "2026-02-28T10:00:00.000Z 2026-02-28 10:00:00 UTC:h(1):u@d:[1]:LOG:  statement: SELECT 1\n\
                    2026-02-29T10:00:01.000Z 2026-02-28 10:00:01 UTC:h(1):u@d:[1]:LOG:  statement: SELECT\n\
                    \t2\n\
                    2026-02-28T10:00:02.000Z 2026-02-28 10:00:02 UTC:h(1):u@d:[1]:LOG:  statement: SELECT 3\n";
        let mut log = Log::default();
        let f = FileFormat {
            cloudwatch_export: true,
            ..pg()
        };
        assert_eq!(parse_chunk(&f, text.as_bytes(), 1, true, &mut log), 4);
        assert_eq!(log.rejected, vec![(2, Reason::BadDay), (3, Reason::BadDay)]);
        assert_eq!(log.events.len(), 2);
        assert!(matches!(
            Parser::new(None).record(
                b"2026-02-28T25:00:00Z 2026-02-28 10:00:00 UTC:h(1):u@d:[1]:LOG:  statement: x",
                1
            ),
            Outcome::Rejected(Reason::BadHour)
        ));
    }

    fn with_prefix(prefix: &str) -> FileFormat {
        let mut f = pg();
        f.clock.pg_prefix = pg_prefix::compile(prefix).unwrap();
        f
    }

    fn parse_as(prefix: &str, text: &str) -> (Log, u64) {
        let mut log = Log::default();
        let n = parse_chunk(&with_prefix(prefix), text.as_bytes(), 1, true, &mut log);
        (log, n)
    }

    /// `log_error_verbosity = verbose` under PostgreSQL's default prefix `%m [%p] ` (elastic/
    /// beats' postgresql-11.4.log): a SQLSTATE after the level, `LOCATION:` lines attached
    /// to their entry, the host only in `connection received`.
    #[test]
    fn verbose_mode_under_the_default_prefix() {
        let text = "\
2019-07-23 12:06:24.507 UTC [1] LOG:  00000: database system is ready to accept connections
2019-07-23 12:06:24.507 UTC [1] LOCATION:  reaper, postmaster.c:2889
2019-07-23 12:06:30.536 UTC [44] LOG:  00000: connection received: host=10.0.0.9 port=5512
2019-07-23 12:06:30.536 UTC [44] LOCATION:  BackendInitialize, postmaster.c:4206
2019-07-23 12:06:30.537 UTC [44] LOG:  00000: connection authorized: user=postgres database=postgres
2019-07-23 12:06:30.537 UTC [44] LOCATION:  PerformAuthentication, postinit.c:279
2019-07-23 12:06:33.732 UTC [44] LOG:  00000: statement: show config_filel;
2019-07-23 12:06:33.732 UTC [44] LOCATION:  exec_simple_query, postgres.c:975
2019-07-23 12:06:33.732 UTC [44] ERROR:  42704: unrecognized configuration parameter \"config_filel\"
2019-07-23 12:06:33.732 UTC [44] LOCATION:  GetConfigOptionByName, guc.c:8342
2019-07-23 12:06:33.732 UTC [44] STATEMENT:  show config_filel;
2019-07-23 12:06:34.878 UTC [44] LOG:  00000: duration: 0.524 ms
2019-07-23 12:06:34.878 UTC [44] LOCATION:  exec_simple_query, postgres.c:1219
";
        let f = format::sniff(text.as_bytes()).unwrap();
        assert_eq!(f.family, Family::Postgres);
        assert_eq!(f.clock.pg_prefix.unwrap().text(), "%m [%p] %q%u@%d ");
        let mut log = Log::default();
        assert_eq!(
            format::parse_chunk(&f, text.as_bytes(), 1, true, &mut log),
            13
        );
        assert!(log.rejected.is_empty(), "{:?}", log.rejected);
        assert_eq!(log.events.len(), 2, "{:#?}", log.events);
        assert_eq!(log.ignored, 11);
        assert!(
            log.events[0]
                .starts_with("5 1563883590537000 u=postgres h=10.0.0.9 db=postgres pid=44"),
            "{}",
            log.events[0]
        );
        assert!(
            log.events[0].contains("Connect tls=Some(false)"),
            "{}",
            log.events[0]
        );
        assert!(
            log.events[1].contains("obj=\"show config_filel;\""),
            "{}",
            log.events[1]
        );
        // The same text with the prefix given explicitly, and cut anywhere (a chunk cut
        // inside the session cannot inherit the host from before the cut).
        assert_eq!(parse_as("%m [%p] ", text).0, log);
        let shape = |l: &Log| (l.events.len(), l.ignored, l.rejected.clone());
        for size in [1, 50, 200] {
            assert_eq!(
                shape(&parse_in_chunks(text, size)),
                shape(&log),
                "chunks of {size}"
            );
        }
        assert_eq!(parse_in_chunks(text, 2000), log);
        for block in [7, 100] {
            assert_eq!(
                shape(&parse_streamed(text, block)),
                shape(&log),
                "blocks of {block}"
            );
        }
    }

    /// Debian's `%m [%p] %q%u@%d ` (beats' postgresql-9.6-debian-with-slowlog.log): lines
    /// with and without the session part, multi-line statements indented with tabs.
    #[test]
    fn debian_prefix_with_multi_line_statements() {
        let text = "\
2017-07-31 13:36:42.585 CEST [4974] LOG:  database system was shut down at 2017-06-17 16:58:04 CEST
2017-07-31 13:36:42.956 CEST [4980] [unknown]@[unknown] LOG:  incomplete startup packet
2017-07-31 13:36:43.557 CEST [4983] postgres@postgres LOG:  duration: 37.118 ms  statement: SELECT d.datname as \"Name\",
\t       pg_catalog.pg_get_userbyid(d.datdba) as \"Owner\"
\tFROM pg_catalog.pg_database d
\tORDER BY 1;
2017-07-31 13:39:16.249 CEST [5407] postgres@users FATAL:  database \"users\" does not exist
2017-07-31 13:43:22.645 CEST [5502] postgres@clients LOG:  duration: 36.162 ms  statement: drop table cats;
";
        let f = format::sniff(text.as_bytes()).unwrap();
        assert_eq!(f.clock.pg_prefix.unwrap().text(), "%m [%p] %q%u@%d ");
        let mut log = Log::default();
        assert_eq!(
            format::parse_chunk(&f, text.as_bytes(), 1, true, &mut log),
            8
        );
        assert!(log.rejected.is_empty(), "{:?}", log.rejected);
        assert_eq!(log.events.len(), 2, "{:#?}", log.events);
        assert_eq!(log.ignored, 6);
        // 13:36:43.557 CEST is 11:36:43.557 UTC.
        assert!(
            log.events[0].starts_with("3 1501501003557000 u=postgres h= db=postgres pid=4983"),
            "{}",
            log.events[0]
        );
        assert!(
            log.events[0].contains("\\n\\tORDER BY 1;\""),
            "{}",
            log.events[0]
        );
        assert!(
            log.events[1].contains("db=clients") && log.events[1].contains("Some(Destructive)")
        );
        for size in [1, 64, 300] {
            assert_eq!(parse_in_chunks(text, size), log, "chunks of {size}");
        }
    }

    /// pgBadger's `%t [%p]: db=%d,user=%u,app=%a,client=%h ` (its begin_end.log fixture),
    /// and its recommended `%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ` (pgBadger's
    /// documentation).
    #[test]
    fn pgbadger_key_value_prefixes() {
        let text = "\
2021-02-14 01:34:02 CET [30291]: db=[unknown],user=[unknown],app=[unknown],client=[local] LOG:  connection received: host=[local]
2021-02-14 01:34:02 CET [30291]: db=template1,user=postgres,app=[unknown],client=[local] LOG:  connection authorized: user=postgres database=template1 application_name=psql
2021-02-14 01:34:02 CET [30291]: db=template1,user=postgres,app=psql,client=[local] LOG:  disconnection: session time: 0:00:00.007 user=postgres database=template1 host=[local]
";
        let f = format::sniff(text.as_bytes()).unwrap();
        assert_eq!(
            f.clock.pg_prefix.unwrap().text(),
            "%t [%p]: db=%d,user=%u,app=%a,client=%h "
        );
        let mut log = Log::default();
        assert_eq!(
            format::parse_chunk(&f, text.as_bytes(), 1, true, &mut log),
            3
        );
        assert_eq!((log.events.len(), log.ignored), (2, 1));
        assert!(log.events[0].contains("u=postgres h=[local] db=template1 pid=30291"));
        assert!(log.events[0].contains("Connect tls=None"));
        assert!(log.events[1].contains("Disconnect"));

        let text = "\
2024-05-02 10:11:12 UTC [4242]: [1-1] user=[unknown],db=[unknown],app=[unknown],client=203.0.113.9 LOG:  connection received: host=203.0.113.9 port=40112
2024-05-02 10:11:12 UTC [4242]: [2-1] user=app,db=orders,app=[unknown],client=203.0.113.9 FATAL:  password authentication failed for user \"app\"
2024-05-02 10:11:12 UTC [4242]: [3-1] user=app,db=orders,app=[unknown],client=203.0.113.9 DETAIL:  Connection matched pg_hba.conf line 95: \"host all all 0.0.0.0/0 md5\"
";
        let f = format::sniff(text.as_bytes()).unwrap();
        assert_eq!(
            f.clock.pg_prefix.unwrap().text(),
            "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "
        );
        let mut log = Log::default();
        assert_eq!(
            format::parse_chunk(&f, text.as_bytes(), 1, true, &mut log),
            3
        );
        assert_eq!((log.events.len(), log.ignored), (1, 2));
        assert!(log.events[0].contains("u=app h=203.0.113.9 db=orders"));
        assert!(log.events[0].contains("FailedConnect"));
    }

    /// PostgreSQL >= 14 logs `connection authenticated:` before `connection authorized:`:
    /// read as a server message (the session's login is the `authorized` line).
    #[test]
    fn connection_authenticated_lines_are_server_messages() {
        let text = "\
2025-02-03 08:00:01 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  connection authenticated: identity=\"app\" method=scram-sha-256 (/rdsdbdata/config/pg_hba.conf:13)
2025-02-03 08:00:01 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  connection authorized: user=app database=orders SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)
";
        let (log, n) = parse(text);
        assert_eq!((n, log.events.len(), log.ignored), (2, 1, 1));
        let (log, n) = parse_as(
            "%m [%p] %q%u@%d ",
            "2023-10-01 10:00:00.001 UTC [77] app@orders LOG:  connection authenticated: identity=\"CN=app\" method=cert (/etc/postgresql/16/main/pg_hba.conf:118)\n",
        );
        assert_eq!((n, log.events.len(), log.ignored), (1, 0, 1));
    }

    /// A user's prefix with `%r`, `%c` (no `%p`) and an epoch time; lines that begin like an
    /// entry but do not match are rejected as malformed, not glued to the entry before.
    #[test]
    fn a_given_prefix_reads_its_fields_and_rejects_malformed_entries() {
        let text = "\
1700000000.123 10.1.2.3(5432) 6553f100.3a4f app@orders LOG:  statement: select 1
1700000001.000 10.1.2.3(5432) 6553f100.3a4f app@orders LOG:  statement: select
  2
1700000002.000 garbage
";
        let (log, n) = parse_as("%n %r %c %u@%d ", text);
        assert_eq!(n, 4);
        assert_eq!(log.events.len(), 2, "{:#?}", log);
        assert!(
            log.events[0].starts_with("1 1700000000123000 u=app h=10.1.2.3 db=orders pid=14927"),
            "{}",
            log.events[0]
        );
        assert!(log.events[1].contains("obj=\"select\\n  2\""));
        assert_eq!(log.rejected, vec![(4, Reason::BadPrefix)]);
        assert_eq!(log.ignored, 1);
    }

    /// The generic path under random edits of a real Debian-prefixed log: every line
    /// accounted for, chunk edges found, no panic.
    #[test]
    fn no_byte_sequence_panics_with_a_compiled_prefix() {
        let base = "2017-07-31 13:36:42.585 CEST [4974] LOG:  database system was shut down\n2017-07-31 13:36:42.956 CEST [4980] [unknown]@[unknown] LOG:  incomplete startup packet\n2017-07-31 13:36:43.557 CEST [4983] postgres@postgres LOG:  duration: 37.118 ms  statement: SELECT 1,\n\t  2\n2017-07-31 13:39:16.249 CEST [5407] postgres@users FATAL:  password authentication failed for user \"x\"\n2017-07-31 13:39:16.249 CEST [5407] postgres@users DETAIL:  Connection matched pg_hba.conf line 95\n";
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let alphabet: &[u8] = b"2017-07-31 13:36:42.585 CEST[]@:\n\tLOGFATAL 0\xff";
        for prefix in [
            "%m [%p] %q%u@%d ",
            "%t [%p]: db=%d,user=%u,app=%a,client=%h ",
            "%n %r %c ",
        ] {
            let f = with_prefix(prefix);
            for _ in 0..1500 {
                let mut s = base.as_bytes().to_vec();
                random_edits(&mut s, alphabet, &mut next);
                let mut log = Log::default();
                let n = parse_chunk(&f, &s, 1, true, &mut log);
                let accounted = log.events.len() as u64
                    + log.ignored
                    + log.blank.len() as u64
                    + log.rejected.len() as u64;
                assert_eq!(accounted, n, "{:?}", String::from_utf8_lossy(&s));
                let cut = (next() % (s.len() as u64 + 1)) as usize;
                let _ = format::next_record_start(&f, &s, cut);
                let _ = format::last_record_end(&f, &s[..cut]);
            }
        }
    }
}
