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

use super::{FileFormat, Reason, RecordSink};
use crate::event::{Event, Operation, SourceFormat, Text};

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

mod message;
mod prefix;
#[cfg(test)]
mod tests;

use message::*;
use prefix::*;
pub(crate) use prefix::{
    is_boundary, is_boundary_with, is_end_of_log, is_prefixed, is_prefixed_with, line_time,
    sniff_line, timestamp_end_then,
};

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
