//! The MySQL family of audit logs: MariaDB `server_audit`, its RDS for MySQL fork (trailing
//! `connection_type`) and Aurora MySQL advanced auditing (epoch-microsecond timestamps), each
//! optionally wrapped in the CloudWatch S3-export prefix (formats.md §1, §2, §3.2, §7).
//!
//! No CSV library: user, host, database and table names are written raw and may contain
//! commas. The parser takes the timestamp and server host from the left, then locates the
//! operation keyword preceded by two integer fields (connection id, query id), which
//! resynchronises after a user name with commas. The tail after the operation is read
//! according to the operation: a quoted, backslash-escaped query for `QUERY`; fields counted
//! from the right for connection and table events, where the database may hold commas.
//! Every value is a slice of the input; nothing is copied here.

use super::{Family, FileFormat, Reason, RecordSink};
use crate::bytes::{eq_mask16, find_byte_near};
use crate::classify::classify;
use crate::event::{Event, Operation, SourceFormat, Text};
use crate::time;

/// Which family a line belongs to, if any (for sniffing).
pub(crate) fn sniff_line(line: &[u8]) -> Option<Family> {
    // The shape decides, not the calendar: a log whose first line names February 31 is
    // still this log, and that line is rejected with its reason.
    if line.len() > 18
        && line[17] == b','
        && time::parse_compact(&line[..17]) != Err(time::TimeError::Layout)
    {
        return Some(Family::MysqlAudit);
    }
    if line.len() > 17 && line[16] == b',' && time::parse_epoch_us(&line[..16]).is_some() {
        return Some(Family::AuroraAudit);
    }
    None
}

/// Whether `head` opens with MySQL-family audit lines whose timestamps `layout` reads (and
/// whether they carry the CloudWatch export prefix): a MariaDB ≥ 12 log written with a custom
/// `server_audit_timestamp_format`.
pub(crate) fn sniff_custom(head: &[u8], layout: &time::TimeLayout) -> Option<bool> {
    let line = head
        .split(|&b| b == b'\n')
        .map(super::trim_cr)
        .find(|l| !l.iter().all(|b| b.is_ascii_whitespace()))?;
    let (body, cw) = match time::parse_cloudwatch_prefix(line) {
        Some((_, n)) => (&line[n..], true),
        None => (line, false),
    };
    // As in `sniff_line`, the shape decides: a first line naming a day that does not exist
    // is still in the layout (and is rejected when parsed).
    let rest = match layout.read(body) {
        Ok((_, rest)) => rest,
        Err(time::TimeError::Layout) => return None,
        Err(_) => layout.split(body)?.1,
    };
    let (_, rest) = split_field(rest)?;
    (header_fast(rest).is_some() || header_resync(rest).is_ok()).then_some(cw)
}

/// Splits a chunk into lines and parses each. Returns the number of lines seen.
pub fn parse_chunk<'a, S: RecordSink<'a>>(
    format: &FileFormat,
    chunk: &'a [u8],
    first_line: u64,
    at_eof: bool,
    sink: &mut S,
) -> u64 {
    let mut line_no = first_line;
    let mut start = 0;
    let max = sink.max_record();
    while start < chunk.len() {
        let (end, next, terminated) = match memchr::memchr(b'\n', &chunk[start..]) {
            Some(i) => (start + i, start + i + 1, true),
            None => (chunk.len(), chunk.len(), false),
        };
        let line = super::trim_cr(&chunk[start..end]);
        parse_one(format, line, line_no, terminated || !at_eof, max, sink);
        line_no += 1;
        start = next;
    }
    line_no - first_line
}

#[inline]
fn parse_one<'a, S: RecordSink<'a>>(
    format: &FileFormat,
    line: &'a [u8],
    line_no: u64,
    terminated: bool,
    max: usize,
    sink: &mut S,
) {
    if line.is_empty() || line.iter().all(|b| b.is_ascii_whitespace()) {
        sink.blank(line_no);
        return;
    }
    if let Some(cut) = super::cut_record(line, max) {
        return parse_cut(format, &line[..cut], line_no, sink);
    }
    // The export prefix is stripped; every MySQL-family record carries its own time.
    let mut body = line;
    if format.cloudwatch_export {
        match time::parse_cloudwatch_prefix(line) {
            Some((Ok(_), n)) => body = &line[n..],
            // A prefix naming a time that does not exist: the line is corrupt.
            Some((Err(e), _)) => return sink.rejected(line_no, e.into(), line),
            None => {}
        }
    }
    match parse_record(format, body, line_no) {
        Ok(e) => sink.event(e, body),
        Err(_) if !terminated => sink.rejected(line_no, Reason::TruncatedLastLine, line),
        Err(reason) => sink.rejected(line_no, reason, line),
    }
}

/// A line over the record limit, cut at it (`line` is what is kept): an event with its header
/// fields and the text up to the cut ([`parse_record_cut`]), reported as truncated; rejected
/// as [`Reason::TooLong`] only when even its header does not read.
#[cold]
fn parse_cut<'a, S: RecordSink<'a>>(
    format: &FileFormat,
    line: &'a [u8],
    line_no: u64,
    sink: &mut S,
) {
    let mut body = line;
    if format.cloudwatch_export {
        match time::parse_cloudwatch_prefix(line) {
            Some((Ok(_), n)) => body = &line[n..],
            Some((Err(e), _)) => return sink.rejected(line_no, e.into(), line),
            None => {}
        }
    }
    match parse_record_cut(format, body, line_no) {
        Ok(e) => {
            sink.truncated();
            sink.event(e, body);
        }
        Err(_) => sink.rejected(line_no, Reason::TooLong, line),
    }
}

/// Parses the head of a record cut at the record limit: the header fields as
/// [`parse_record`] reads them; the rest of the line is the cut text. For a query, the
/// database and the text after its opening quote (its closing quote and retcode are past the
/// cut: the retcode is null); for a connection or table event, the database (the field after
/// the operation) and, for a table event, the rest as its object.
pub(crate) fn parse_record_cut<'a>(
    format: &FileFormat,
    line: &'a [u8],
    line_no: u64,
) -> Result<Event<'a>, Reason> {
    parse_fields(format, line, line_no, true)
}

/// Parses one audit record (without line terminator or export prefix).
pub(crate) fn parse_record<'a>(
    format: &FileFormat,
    line: &'a [u8],
    line_no: u64,
) -> Result<Event<'a>, Reason> {
    parse_fields(format, line, line_no, false)
}

/// [`parse_record`], or with `cut` [`parse_record_cut`].
#[inline(always)]
fn parse_fields<'a>(
    format: &FileFormat,
    line: &'a [u8],
    line_no: u64,
    cut: bool,
) -> Result<Event<'a>, Reason> {
    // 1. Timestamp: `YYYYMMDD HH:MM:SS` (or the user's layout for it) in server-local
    // time, or 16-digit epoch microseconds (UTC).
    // A layout field naming a time that does not exist is the reason, unless the line is in
    // one of the standard forms after all.
    let (custom, custom_err) = match format.clock.layout.map(|layout| layout.read(line)) {
        Some(Ok(read)) => (Some(read), None),
        Some(Err(e)) if e != time::TimeError::Layout => (None, Some(Reason::from(e))),
        _ => (None, None),
    };
    let (time_us, rest, aurora) = if let Some((t, rest)) = custom {
        (format.clock.to_utc(t), rest, false)
    } else if line.len() > 17 && line[8] == b' ' {
        let t =
            time::parse_compact(&line[..17]).map_err(|e| custom_err.unwrap_or(Reason::from(e)))?;
        if line.get(17) != Some(&b',') {
            return Err(custom_err.unwrap_or(Reason::BadTimestamp));
        }
        (format.clock.to_utc(t), &line[18..], false)
    } else if let Some(reason) = custom_err {
        return Err(reason);
    } else {
        let t = line
            .get(..16)
            .and_then(time::parse_epoch_us)
            .ok_or(Reason::BadTimestamp)?;
        if line.get(16) != Some(&b',') {
            return Err(Reason::BadTimestamp);
        }
        (t, &line[17..], true)
    };
    parse_after_time(format, time_us, rest, aurora, line_no, cut)
}

/// The fields of an audit record after its timestamp (`serverhost,user,host,...`), read as
/// [`parse_record`] reads them (with `cut`, as [`parse_record_cut`]); also the message of a
/// syslog line (see [`super::mysql_syslog`]), which carries no timestamp of its own.
///
/// Not inlined: its callers return what it returns, so the event is built once in their
/// return slot (inlined, it was built and then copied, a `memcpy` per record).
#[inline(never)]
pub(crate) fn parse_after_time<'a>(
    format: &FileFormat,
    time_us: i64,
    rest: &'a [u8],
    aurora: bool,
    line_no: u64,
    cut: bool,
) -> Result<Event<'a>, Reason> {
    // 2. Server host (never contains a comma), then user, host, connection id, query id and
    // operation. Fast paths: the six commas located at once, or one by one; then the slow
    // path for a user or host holding commas.
    let (server_host, (user, client_host, connection_id, query_id, operation, tail)) =
        match header_commas(rest) {
            Some(h) => h,
            None => {
                let (server_host, rest) = split_field(rest).ok_or(Reason::MissingFields)?;
                let header = match header_fast(rest) {
                    Some(h) => h,
                    None => header_resync(rest)?,
                };
                (server_host, header)
            }
        };

    let mut event = Event {
        time_us,
        format: if aurora {
            SourceFormat::AuroraMysqlAudit
        } else {
            SourceFormat::MariadbAudit
        },
        server_host,
        user,
        client_host,
        connection_id,
        query_id,
        operation,
        database: b"",
        object: Text::None,
        retcode: None,
        tls: None,
        statement_class: None,
        line: line_no,
    };

    let extra = match operation {
        _ if cut => {
            cut_tail(tail, &mut event);
            false
        }
        Operation::Query => parse_query_tail(tail, &mut event)?,
        Operation::Connect
        | Operation::Disconnect
        | Operation::FailedConnect
        | Operation::ChangeUser
        | Operation::ProxyConnect => parse_connection_tail(tail, &mut event)?,
        Operation::Read
        | Operation::Write
        | Operation::Create
        | Operation::Drop
        | Operation::Alter
        | Operation::Rename => parse_table_tail(tail, &mut event)?,
    };
    if extra && !aurora {
        event.format = SourceFormat::RdsMysqlAudit;
    }
    if let Some(forced) = format.forced {
        event.format = forced;
    }
    Ok(event)
}

#[inline]
fn split_field(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = memchr::memchr(b',', s)?;
    Some((&s[..i], &s[i + 1..]))
}

type Header<'a> = (&'a [u8], &'a [u8], i64, i64, Operation, &'a [u8]);

/// Bytes looked at by [`header_commas`]: a server host, user, host, two ids and an
/// operation keyword fit in it on all but unusual lines.
const HEADER_SCAN: usize = 128;

/// The server host and the header, from the first six commas of `rest` found in one SIMD
/// pass over its first [`HEADER_SCAN`] bytes. Gives exactly what [`split_field`] and
/// [`header_fast`] give, or `None` where they may not (fewer commas in reach, a user or host
/// holding commas), and the caller takes that path.
#[inline]
fn header_commas(rest: &[u8]) -> Option<(&[u8], Header<'_>)> {
    let mut commas = comma_mask(rest);
    let mut at = [0usize; 6];
    for slot in &mut at {
        if commas == 0 {
            return None;
        }
        *slot = commas.trailing_zeros() as usize;
        commas &= commas - 1;
    }
    let [c0, c1, c2, c3, c4, c5] = at;
    let operation = Operation::from_bytes(&rest[c4 + 1..c5])?;
    Some((
        &rest[..c0],
        (
            &rest[c0 + 1..c1],
            &rest[c1 + 1..c2],
            parse_i64(&rest[c2 + 1..c3])?,
            parse_i64(&rest[c3 + 1..c4])?,
            operation,
            &rest[c5 + 1..],
        ),
    ))
}

/// Bit `i` set where `s[i]` is a comma, for `i` below [`HEADER_SCAN`] and `s.len()`.
#[inline]
fn comma_mask(s: &[u8]) -> u128 {
    // Short lines are copied into a zeroed block (no zero byte is a comma).
    let mut pad = [0u8; HEADER_SCAN];
    let block: &[u8] = if s.len() >= HEADER_SCAN {
        &s[..HEADER_SCAN]
    } else {
        pad[..s.len()].copy_from_slice(s);
        &pad
    };
    (0..HEADER_SCAN / 16).fold(0u128, |mask, k| {
        mask | (eq_mask16(block, 16 * k, b',') as u128) << (16 * k)
    })
}

#[inline]
fn header_fast(rest: &[u8]) -> Option<Header<'_>> {
    let (user, rest) = split_field(rest)?;
    let (host, rest) = split_field(rest)?;
    let (conn, rest) = split_field(rest)?;
    let (query, rest) = split_field(rest)?;
    let (op, tail) = match memchr::memchr(b',', rest) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &rest[rest.len()..]),
    };
    let operation = Operation::from_bytes(op)?;
    Some((
        user,
        host,
        parse_i64(conn)?,
        parse_i64(query)?,
        operation,
        tail,
    ))
}

/// Slow path: the user (or host) contained commas. Find the first field that is a known
/// operation keyword preceded by two integers; the host is the field before those, and the
/// user is everything between the server host and the host.
fn header_resync(rest: &[u8]) -> Result<Header<'_>, Reason> {
    // Field start offsets, up to the first quote (query text may hold anything).
    let limit = memchr::memchr(b'\'', rest).unwrap_or(rest.len());
    let mut starts = vec![0usize];
    starts.extend(memchr::memchr_iter(b',', &rest[..limit]).map(|i| i + 1));
    let field = |k: usize| -> &[u8] {
        let s = starts[k];
        let e = starts.get(k + 1).map(|&n| n - 1).unwrap_or(rest.len());
        &rest[s..e.max(s)]
    };
    if starts.len() < 5 {
        return Err(Reason::MissingFields);
    }
    for k in 4..starts.len() {
        let Some(operation) = Operation::from_bytes(field(k)) else {
            continue;
        };
        let (Some(conn), Some(query)) = (parse_i64(field(k - 2)), parse_i64(field(k - 1))) else {
            continue;
        };
        let host_start = starts[k - 3];
        let user = &rest[..host_start - 1];
        let host = field(k - 3);
        let tail = match starts.get(k + 1) {
            Some(&s) => &rest[s..],
            None => &rest[rest.len()..],
        };
        return Ok((user, host, conn, query, operation, tail));
    }
    Err(Reason::NoOperation)
}

/// `db,'escaped query',retcode` then, on RDS for MySQL, `,,`. Returns whether extra trailing
/// fields were present.
fn parse_query_tail<'a>(tail: &'a [u8], e: &mut Event<'a>) -> Result<bool, Reason> {
    // The database ends at the first `,'` (a database name with `,'` in it is not supported).
    let comma = match find_byte_near(b',', tail) {
        Some(i) if tail.get(i + 1) == Some(&b'\'') => i,
        // A long database name (or one with commas): the first `,` followed by `'`.
        _ => memchr::memchr_iter(b',', tail)
            .find(|&i| tail.get(i + 1) == Some(&b'\''))
            .ok_or(Reason::MissingFields)?,
    };
    e.database = &tail[..comma];
    let q = &tail[comma + 2..];
    let (close, escaped) = closing_quote(q).ok_or(Reason::UnterminatedQuery)?;
    let text = &q[..close];
    e.object = if escaped {
        Text::Escaped(text)
    } else {
        Text::Raw(text)
    };
    e.statement_class = Some(classify(text));
    let after = &q[close + 2..];
    let (ret, extra) = match find_byte_near(b',', after) {
        Some(k) => (&after[..k], true),
        None => (after, false),
    };
    e.retcode = Some(parse_i32(ret).ok_or(Reason::BadNumber)?);
    Ok(extra)
}

/// The tail of a record cut at the limit (see [`parse_record_cut`]).
fn cut_tail<'a>(tail: &'a [u8], e: &mut Event<'a>) {
    let (db, rest) = if e.operation == Operation::Query {
        // `db,'text...`: the database ends at the first `,'`.
        match memchr::memmem::find(tail, b",'") {
            Some(i) => (&tail[..i], &tail[i + 2..]),
            None => (&tail[..0], tail),
        }
    } else {
        split_field(tail).unwrap_or((tail, &tail[tail.len()..]))
    };
    e.database = db;
    e.object = match e.operation {
        Operation::Query if memchr::memchr(b'\\', rest).is_some() => Text::Escaped(rest),
        Operation::Query => Text::Raw(rest),
        Operation::Read
        | Operation::Write
        | Operation::Create
        | Operation::Drop
        | Operation::Alter
        | Operation::Rename
            if !rest.is_empty() =>
        {
            Text::Raw(rest)
        }
        _ => Text::None,
    };
    if e.operation == Operation::Query {
        e.statement_class = Some(classify(rest));
    }
}

/// The closing quote of query text `q`: the first `'` that is not escaped by a backslash and
/// is followed by `,<retcode>`; and whether a backslash comes before it (the text then needs
/// unescaping).
///
/// Only a quote followed by a comma can close the text, so one pass, 16 bytes at a time,
/// finds the `',` pairs (rare inside escaped text) and the first backslash together, instead
/// of stopping at every quote and then scanning the text again for backslashes.
#[inline]
fn closing_quote(q: &[u8]) -> Option<(usize, bool)> {
    let closes = |at: usize| !escaped_at(q, at) && looks_like_retcode_then_end(&q[at + 2..]);
    let mut first_backslash = usize::MAX;
    if q.len() < 17 {
        for at in 0..q.len().saturating_sub(1) {
            if q[at] == b'\\' && first_backslash == usize::MAX {
                first_backslash = at;
            }
            if q[at] == b'\'' && q[at + 1] == b',' && closes(at) {
                return Some((at, first_backslash < at));
            }
        }
        return None;
    }
    let mut base = 0;
    while base + 17 <= q.len() {
        if let Some(found) = quote_block(q, base, base, &mut first_backslash, closes) {
            return Some(found);
        }
        base += 16;
    }
    // The last partial block: the 17 bytes ending at the end, without the positions seen
    // (the closing quote is usually here, a few bytes before the end).
    if base + 1 < q.len() {
        return quote_block(q, q.len() - 17, base, &mut first_backslash, closes);
    }
    None
}

/// One step of [`closing_quote`]: the 16 positions from `base` in the block at `at`
/// (`at <= base`), reading q[at..at + 17] (the byte after a quote may be in the next block).
/// Notes the first backslash; returns the closing quote if one is there.
#[inline(always)]
fn quote_block(
    q: &[u8],
    at: usize,
    base: usize,
    first_backslash: &mut usize,
    closes: impl Fn(usize) -> bool,
) -> Option<(usize, bool)> {
    let skip = base - at;
    let backslashes = eq_mask16(q, at, b'\\') >> skip;
    if backslashes != 0 && *first_backslash == usize::MAX {
        *first_backslash = base + backslashes.trailing_zeros() as usize;
    }
    let mut pairs = (eq_mask16(q, at, b'\'') & eq_mask16(q, at + 1, b',')) >> skip;
    while pairs != 0 {
        let at = base + pairs.trailing_zeros() as usize;
        if closes(at) {
            return Some((at, *first_backslash < at));
        }
        pairs &= pairs - 1;
    }
    None
}

/// Whether the byte at `at` is escaped: preceded by an odd run of backslashes (each pair is
/// one escaped backslash; the run starts fresh after a non-backslash).
#[inline]
fn escaped_at(s: &[u8], at: usize) -> bool {
    s[..at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// After a closing quote and comma: a retcode, then the end or another field.
fn looks_like_retcode_then_end(s: &[u8]) -> bool {
    let end = find_byte_near(b',', s).unwrap_or(s.len());
    parse_i32(&s[..end]).is_some()
}

/// `db,<TLS or proxied user or empty>,retcode` and, on RDS for MySQL, `,connection_type`.
/// Read from the right: the database may contain commas.
fn parse_connection_tail<'a>(tail: &'a [u8], e: &mut Event<'a>) -> Result<bool, Reason> {
    let mut fields = tail.rsplitn(3, |&b| b == b',');
    let last = fields.next().unwrap_or(b"");
    let mid = fields.next().ok_or(Reason::MissingFields)?;
    let rds_tls = connection_type_tls(last, mid);
    let (db_obj, retcode, extra, ctype_tls) = match rds_tls {
        Some(tls) => {
            // last = connection_type, mid = retcode, the rest is `db,obj`.
            let rest = fields.next().ok_or(Reason::MissingFields)?;
            (rest, mid, true, tls)
        }
        None => {
            let before = fields.next().ok_or(Reason::MissingFields)?;
            // Re-join: `before` is `db` (possibly with commas) and `mid` is obj.
            let db_obj_len = before.len() + 1 + mid.len();
            (&tail[..db_obj_len], last, false, None)
        }
    };
    let (db, obj) = match memchr::memrchr(b',', db_obj) {
        Some(i) => (&db_obj[..i], &db_obj[i + 1..]),
        None => return Err(Reason::MissingFields),
    };
    e.database = db;
    e.retcode = Some(parse_i32(retcode).ok_or(Reason::BadNumber)?);
    e.object = if obj.is_empty() {
        Text::None
    } else {
        Text::Raw(obj)
    };
    e.tls = if extra {
        ctype_tls
    } else if e.operation != Operation::ProxyConnect && !obj.is_empty() {
        // MariaDB 12+: the TLS protocol version of the session.
        Some(true)
    } else if e.operation != Operation::ProxyConnect && host_has_port(e.client_host) {
        // MariaDB 12+ (host:port): an empty TLS field means a plaintext session.
        Some(false)
    } else {
        None
    };
    Ok(extra)
}

/// The RDS for MySQL `connection_type` as a TLS verdict, when `last` is one and `prev` is a
/// retcode: `Some(Some(true))` for SSL, `Some(Some(false))` for TCP/IP, `Some(None)` for a
/// socket or an unknown transport; `None` when `last` is not a connection type.
fn connection_type_tls(last: &[u8], prev: &[u8]) -> Option<Option<bool>> {
    match last {
        b"SSL" => Some(Some(true)),
        b"TCP/IP" => Some(Some(false)),
        b"SOCKET" | b"UNDEFINED" | b"NAMED_PIPE" | b"SHARED_MEMORY" => Some(None),
        [d] if d.is_ascii_digit() && parse_i32(prev).is_some() => Some(match d {
            b'4' => Some(true),
            b'1' => Some(false),
            _ => None,
        }),
        _ => None,
    }
}

fn host_has_port(host: &[u8]) -> bool {
    match memchr::memrchr(b':', host) {
        Some(i) => {
            let port = &host[i + 1..];
            !port.is_empty()
                && port.iter().all(|b| b.is_ascii_digit())
                && memchr::memchr(b':', &host[..i]).is_none()
        }
        None => false,
    }
}

/// `db,table,retcode` with the retcode often empty (null). Read from the right.
fn parse_table_tail<'a>(tail: &'a [u8], e: &mut Event<'a>) -> Result<bool, Reason> {
    let mut fields = tail.rsplitn(3, |&b| b == b',');
    let ret = fields.next().unwrap_or(b"");
    let table = fields.next().ok_or(Reason::MissingFields)?;
    let db = fields.next().ok_or(Reason::MissingFields)?;
    e.database = db;
    e.object = if table.is_empty() {
        Text::None
    } else {
        Text::Raw(table)
    };
    e.retcode = if ret.is_empty() {
        None
    } else {
        Some(parse_i32(ret).ok_or(Reason::BadNumber)?)
    };
    Ok(false)
}

#[inline]
fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(d as i64)?;
    }
    Some(if neg { -v } else { v })
}

#[inline]
fn parse_i32(b: &[u8]) -> Option<i32> {
    parse_i64(b).and_then(|v| i32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::sniff;

    fn parse(line: &str) -> Result<Event<'_>, Reason> {
        let fmt = sniff(line.as_bytes()).expect("sniffable");
        let body = match time::parse_cloudwatch_prefix(line.as_bytes()) {
            Some((_, n)) => &line.as_bytes()[n..],
            None => line.as_bytes(),
        };
        parse_record(&fmt, body, 1)
    }

    #[test]
    fn numbers_parse_to_the_edge_of_i64_and_no_further() {
        let cases: [(&str, Option<i64>); 12] = [
            ("0", Some(0)),
            ("-5", Some(-5)),
            ("8428815", Some(8428815)),
            ("123456789012345678", Some(123_456_789_012_345_678)),
            ("-999999999999999999", Some(-999_999_999_999_999_999)),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("99999999999999999999", None),
            ("", None),
            ("-", None),
            ("12a", None),
            ("1 2", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_i64(text.as_bytes()), want, "{text:?}");
        }
        assert_eq!(parse_i32(b"2147483647"), Some(i32::MAX));
        assert_eq!(parse_i32(b"2147483648"), None);
    }

    /// The one-pass closing-quote search gives what the plain definition gives: the first
    /// unescaped `',` followed by a retcode, and whether a backslash precedes it.
    #[test]
    fn closing_quote_agrees_with_its_definition() {
        let reference = |q: &[u8]| -> Option<(usize, bool)> {
            let at = (0..q.len().saturating_sub(1)).find(|&at| {
                q[at] == b'\''
                    && q[at + 1] == b','
                    && !escaped_at(q, at)
                    && looks_like_retcode_then_end(&q[at + 2..])
            })?;
            Some((at, q[..at].contains(&b'\\')))
        };
        let alphabet = [b'a', b'\'', b',', b'\\', b'0', b'7', b' '];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut checked = 0;
        for len in 0..90 {
            for _ in 0..60 {
                let q: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        alphabet[(seed % alphabet.len() as u64) as usize]
                    })
                    .collect();
                assert_eq!(
                    closing_quote(&q),
                    reference(&q),
                    "{:?}",
                    String::from_utf8_lossy(&q)
                );
                checked += reference(&q).is_some() as usize;
            }
        }
        assert!(checked > 200, "{checked} texts with a closing quote");
    }

    /// The SIMD header agrees with the comma-by-comma one wherever it answers, and answers
    /// on ordinary lines (short, long, server hosts of any length up to the scan).
    #[test]
    fn header_from_one_comma_pass_equals_the_field_by_field_header() {
        let mut lines = Vec::new();
        for host_len in [1, 13, 40, 90, 126] {
            let server = "s".repeat(host_len);
            for tail in ["", "orders,,0,SSL", "orders,'SELECT 1, 2',0,,", "x"] {
                for (user, conn, query, op) in [
                    ("app", "1", "0", "CONNECT"),
                    ("a,b", "1", "0", "CONNECT"),
                    ("", "-7", "123456789", "QUERY"),
                    ("u", "x", "1", "QUERY"),
                    ("u", "1", "1", "NOPE"),
                    ("rdsadmin", "99999999999999999999", "1", "QUERY"),
                ] {
                    lines.push(format!(
                        "{server},{user},10.0.0.1,{conn},{query},{op},{tail}"
                    ));
                    lines.push(format!("{server},{user},10.0.0.1,{conn},{query},{op}"));
                }
            }
        }
        let mut answered = 0;
        for l in &lines {
            let rest = l.as_bytes();
            let old = split_field(rest).and_then(|(server, r)| Some((server, header_fast(r)?)));
            match header_commas(rest) {
                Some(new) => {
                    answered += 1;
                    assert_eq!(Some(new), old, "{l}");
                }
                // It declines a line the other path reads only when the sixth comma is out
                // of its reach.
                None => assert!(
                    old.is_none()
                        || rest[..rest.len().min(HEADER_SCAN)]
                            .iter()
                            .filter(|&&b| b == b',')
                            .count()
                            < 6,
                    "{l}"
                ),
            }
        }
        // Every valid line with its sixth comma within reach: server hosts up to 90 bytes
        // (4), 4 tails, 2 valid users.
        assert_eq!(answered, 32);
    }

    #[test]
    fn user_with_commas_is_resynchronised_on_the_operation() {
        let e = parse("20230501 10:02:19,db1,we,ird,user,10.0.0.1,5,9,QUERY,shop,'select 1',0")
            .unwrap();
        assert_eq!(e.user, b"we,ird,user");
        assert_eq!(e.client_host, b"10.0.0.1");
        assert_eq!(e.connection_id, 5);
        assert_eq!(e.query_id, 9);
        assert_eq!(e.database, b"shop");
    }

    #[test]
    fn database_with_commas_is_kept_whole_on_connection_events() {
        let e = parse("20230501 10:02:19,db1,u,10.0.0.1,5,0,CONNECT,a,b,,0,SSL").unwrap();
        assert_eq!(e.database, b"a,b");
        assert_eq!(e.tls, Some(true));
        assert_eq!(e.format, SourceFormat::RdsMysqlAudit);
        let e = parse("20230501 10:02:19,db1,u,10.0.0.1,5,0,CONNECT,a,b,,0").unwrap();
        assert_eq!(e.database, b"a,b");
        assert_eq!(e.format, SourceFormat::MariadbAudit);
    }

    #[test]
    fn negative_connection_ids_and_numeric_connection_types_are_accepted() {
        let e = parse("20230501 10:02:19,db1,u,10.0.0.1,-2147483000,0,CONNECT,,,0,4").unwrap();
        assert_eq!(e.connection_id, -2147483000);
        assert_eq!(e.tls, Some(true));
        let e = parse("20230501 10:02:19,db1,u,10.0.0.1,7,0,CONNECT,,,0,1").unwrap();
        assert_eq!(e.tls, Some(false));
    }

    #[test]
    fn quote_inside_query_without_retcode_after_it_is_text() {
        let e = parse("20230501 10:02:19,db1,u,h,5,9,QUERY,db,'it's, odd',0,,").unwrap();
        assert_eq!(e.object, Text::Raw(b"it's, odd"));
        assert_eq!(e.retcode, Some(0));
    }

    #[test]
    fn unterminated_query_is_rejected() {
        assert_eq!(
            parse("20230501 10:02:19,db1,u,h,5,9,QUERY,db,'select 1").unwrap_err(),
            Reason::UnterminatedQuery
        );
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        let fmt = sniff(b"20230501 10:02:19,db1,root,localhost,12,0,CONNECT,mysql,,0").unwrap();
        assert_eq!(
            parse_record(&fmt, b"hello", 1).unwrap_err(),
            Reason::BadTimestamp
        );
        assert_eq!(
            parse_record(&fmt, b"20230501 10:02:19,db1,root", 1).unwrap_err(),
            Reason::MissingFields
        );
        assert_eq!(
            parse_record(&fmt, b"20230501 10:02:19,db1,a,b,c,d,e,f,g", 1).unwrap_err(),
            Reason::NoOperation
        );
        assert_eq!(
            parse_record(&fmt, b"20230501 10:02:19,db1,a,b,1,2,CONNECT,,,x", 1).unwrap_err(),
            Reason::BadNumber
        );
    }

    /// `YYYYMMDD HH:MM:SS` naming a date or time that does not exist is rejected by field
    /// (it used to roll over: `20260231` became March 3); leap days and a leap second are read.
    #[test]
    fn impossible_timestamps_are_rejected_by_field() {
        let line = |ts: &str| format!("{ts},db1,root,localhost,12,0,CONNECT,mysql,,0");
        for (ts, want) in [
            ("20260231 10:00:00", Err(Reason::BadDay)),
            ("20260229 10:00:00", Err(Reason::BadDay)),
            ("19000229 10:00:00", Err(Reason::BadDay)),
            ("20260100 10:00:00", Err(Reason::BadDay)),
            ("20261301 10:00:00", Err(Reason::BadMonth)),
            ("20260001 10:00:00", Err(Reason::BadMonth)),
            ("20260301 24:61:00", Err(Reason::BadHour)),
            ("20260301 23:60:00", Err(Reason::BadMinute)),
            ("20260301 23:59:61", Err(Reason::BadSecond)),
            ("20240229 10:00:00", Ok(1_709_200_800_000_000)),
            ("20000229 10:00:00", Ok(951_818_400_000_000)),
            ("20261231 23:59:60", Ok(1_798_761_600_000_000)),
        ] {
            let l = line(ts);
            assert_eq!(parse(&l).map(|e| e.time_us), want, "{ts}");
        }
        // A file that opens with such a line is still this format (the line is rejected).
        assert_eq!(
            sniff_line(line("20260231 10:00:00").as_bytes()),
            Some(Family::MysqlAudit)
        );
    }

    /// The same in a chunk: the line is rejected by number, with and without the export
    /// prefix (whose own impossible time rejects the line too), and the rest parse.
    #[test]
    fn impossible_timestamps_are_rejected_in_chunks_and_exports() {
        #[derive(Default)]
        struct Log {
            events: Vec<u64>,
            rejected: Vec<(u64, Reason)>,
        }
        impl<'a> RecordSink<'a> for Log {
            fn event(&mut self, e: Event<'a>, _m: &'a [u8]) {
                self.events.push(e.line);
            }
            fn blank(&mut self, _l: u64) {}
            fn rejected(&mut self, line: u64, reason: Reason, _t: &'a [u8]) {
                self.rejected.push((line, reason));
            }
        }
        let text = "20260228 10:00:00,db1,root,localhost,12,0,CONNECT,mysql,,0\n\
                    20260231 10:00:00,db1,root,localhost,12,0,CONNECT,mysql,,0\n\
                    20260301 10:00:00,db1,root,localhost,12,0,CONNECT,mysql,,0\n";
        let f = crate::format::sniff(text.as_bytes()).unwrap();
        let mut log = Log::default();
        assert_eq!(parse_chunk(&f, text.as_bytes(), 10, true, &mut log), 3);
        assert_eq!(
            (log.events, log.rejected),
            (vec![10, 12], vec![(11, Reason::BadDay)])
        );

        let text = "2026-02-28T10:00:00.000Z 20260228 10:00:00,db1,root,localhost,12,0,CONNECT,mysql,,0\n\
                    2026-02-31T10:00:00.000Z 20260228 10:00:00,db1,root,localhost,12,0,CONNECT,mysql,,0\n\
                    2026-02-28T10:00:00.000Z 20260228 10:00:61,db1,root,localhost,12,0,CONNECT,mysql,,0\n\
                    2026-02-28T10:00:00.000Z 20260228 10:00:01,db1,root,localhost,12,0,CONNECT,mysql,,0\n";
        let f = crate::format::sniff(text.as_bytes()).unwrap();
        assert!(f.cloudwatch_export);
        let mut log = Log::default();
        assert_eq!(parse_chunk(&f, text.as_bytes(), 1, true, &mut log), 4);
        assert_eq!(
            (log.events, log.rejected),
            (
                vec![1, 4],
                vec![(2, Reason::BadDay), (3, Reason::BadSecond)]
            )
        );
    }

    /// A custom layout (MariaDB >= 12) names the field too; the standard layout is still
    /// tried on a line the custom one refuses.
    #[test]
    fn custom_layout_timestamps_are_rejected_by_field() {
        let layout: &'static time::TimeLayout = Box::leak(Box::new(
            time::TimeLayout::new("%Y-%m-%d %H:%M:%S").unwrap(),
        ));
        let f = FileFormat {
            family: Family::MysqlAudit,
            cloudwatch_export: false,
            forced: None,
            clock: crate::format::Clock {
                layout: Some(layout),
                offset_us: 0,
                ..Default::default()
            },
        };
        let rec = |l: &'static str| parse_record(&f, l.as_bytes(), 1).map(|e| e.time_us);
        assert_eq!(
            rec("2026-02-31 10:00:00,db1,root,localhost,12,0,CONNECT,mysql,,0"),
            Err(Reason::BadDay)
        );
        assert_eq!(
            rec("2026-02-28 24:00:00,db1,root,localhost,12,0,CONNECT,mysql,,0"),
            Err(Reason::BadHour)
        );
        assert_eq!(
            rec("20260231 10:00:00,db1,root,localhost,12,0,CONNECT,mysql,,0"),
            Err(Reason::BadDay)
        );
        assert_eq!(
            rec("2024-02-29 10:00:00,db1,root,localhost,12,0,CONNECT,mysql,,0"),
            Ok(1_709_200_800_000_000)
        );
        assert_eq!(
            rec("20240229 10:00:00,db1,root,localhost,12,0,CONNECT,mysql,,0"),
            Ok(1_709_200_800_000_000)
        );
        // A file that opens with such a line is still in the layout.
        assert_eq!(
            sniff_custom(
                b"2026-02-31 10:00:00,db1,root,localhost,12,0,CONNECT,mysql,,0\n",
                layout
            ),
            Some(false)
        );
        assert_eq!(sniff_custom(b"31/02/2026,db1,root\n", layout), None);
    }

    /// What a chunk parse reported, with a small record limit.
    #[derive(Default)]
    struct Cut {
        max: usize,
        next_cut: bool,
        events: Vec<(String, bool)>,
        rejected: Vec<(u64, Reason)>,
        blank: u64,
    }

    impl<'a> RecordSink<'a> for Cut {
        fn event(&mut self, e: Event<'a>, _m: &'a [u8]) {
            let cut = std::mem::take(&mut self.next_cut);
            self.events.push((
                format!(
                    "{} {} u={} h={} c={} q={} {:?} db={} obj={} ret={:?} class={:?}",
                    e.line,
                    e.time_us,
                    String::from_utf8_lossy(e.user),
                    String::from_utf8_lossy(e.client_host),
                    e.connection_id,
                    e.query_id,
                    e.operation,
                    String::from_utf8_lossy(e.database),
                    e.object.to_cow(),
                    e.retcode,
                    e.statement_class,
                ),
                cut,
            ));
        }
        fn blank(&mut self, _line: u64) {
            self.blank += 1;
        }
        fn rejected(&mut self, line: u64, reason: Reason, _t: &'a [u8]) {
            self.rejected.push((line, reason));
        }
        fn max_record(&self) -> usize {
            self.max
        }
        fn truncated(&mut self) {
            self.next_cut = true;
        }
    }

    fn parse_cut_chunk(text: &str, max: usize) -> Cut {
        let standard = "20260301 12:00:00,db1,app,10.0.0.5,42,1,QUERY,shop,'select 1',0\n";
        let fmt = sniff(text.as_bytes())
            .or(sniff(standard.as_bytes()))
            .unwrap();
        let mut sink = Cut {
            max,
            ..Cut::default()
        };
        let lines = parse_chunk(&fmt, text.as_bytes(), 1, true, &mut sink);
        assert_eq!(
            lines,
            sink.events.len() as u64 + sink.rejected.len() as u64 + sink.blank
        );
        sink
    }

    /// A line over the record limit stays an event: time, server host, user, host, ids,
    /// operation and database whole, the text cut at the limit (escapes and all), no retcode
    /// (it was past the cut), the class from the text kept; and it is marked truncated. The
    /// lines around it are read as usual. In every MySQL-family layout.
    #[test]
    fn records_over_the_limit_keep_their_fields_and_a_cut_text() {
        let tail = "x".repeat(300);
        let lines = [
            format!("20260301 12:00:00,db1,app,10.0.0.5,42,7,QUERY,shop,'GRANT ALL ON *.* TO \\'evil\\'@\\'%\\' /* {tail} */',0\n"),
            format!("20260301 12:00:00,ip-10-0-0-1,app,10.0.0.5,42,8,QUERY,shop,'select \\'{tail}\\'',0,,,TCP/IP\n"),
            format!("1772366400000000,db1,app,10.0.0.5,42,9,QUERY,shop,'DELETE FROM t /* {tail} */',0\n"),
            format!("2026-03-01T12:00:00.000Z 20260301 12:00:00,db1,app,10.0.0.5,42,10,QUERY,shop,'DROP TABLE t /* {tail} */',0\n"),
            format!("1772366400000000,db1,app,10.0.0.5,42,11,READ,shop,{tail},\n"),
        ];
        for line in &lines {
            let short = match line.starts_with("2026-") {
                true => "2026-03-01T12:00:00.000Z 20260301 12:00:00,db1,app,10.0.0.5,42,1,QUERY,shop,'select 1',0\n",
                false => "20260301 12:00:00,db1,app,10.0.0.5,42,1,QUERY,shop,'select 1',0\n",
            };
            let text = format!("{short}{line}\n{short}");
            let got = parse_cut_chunk(&text, 128);
            assert!(got.rejected.is_empty(), "{line}: {:?}", got.rejected);
            assert_eq!(got.blank, 1);
            let cut: Vec<_> = got.events.iter().map(|e| e.1).collect();
            assert_eq!(cut, [false, true, false], "{line}");
            let event = &got.events[1].0;
            assert!(
                event.contains(" u=app h=10.0.0.5 c=42 ") && event.contains(" db=shop "),
                "{event}"
            );
            // Over the limit and cut within it: whole, the line parses as before.
            let whole = parse_cut_chunk(&text, 1 << 20);
            assert_eq!(whole.events.len(), 3);
            assert!(whole.events.iter().all(|e| !e.1));
            let whole = &whole.events[1].0;
            // Same header (up to the database) as the whole record.
            let head = |e: &str| e[..e.find(" obj=").unwrap()].to_string();
            assert_eq!(head(event), head(whole), "{line}");
            let obj = &event[event.find(" obj=").unwrap() + 5..event.find(" ret=").unwrap()];
            assert!(obj.len() < 128 && !obj.is_empty(), "{obj}");
            assert!(
                whole.contains(&format!(" obj={obj}")),
                "the cut text is the start of the text: {obj} / {whole}"
            );
        }
        let got = parse_cut_chunk(&lines[0], 128);
        let e = &got.events[0].0;
        assert!(e.contains(" Query ") && e.contains("ret=None"), "{e}");
        assert!(e.contains("obj=GRANT ALL ON *.* TO 'evil'@'%'"), "{e}");
        assert!(e.contains("class=Some(Privilege)"), "{e}");
        assert!(got.events[0].1);
        let got = parse_cut_chunk(&lines[2], 128);
        assert!(got.events[0].0.contains("class=Some(Destructive)"));
    }

    /// The cut falls on a character boundary (the text stays valid UTF-8), and a line whose
    /// header does not fit within the limit, or is no record at all, is rejected as too long.
    #[test]
    fn cuts_keep_characters_whole_and_headerless_long_lines_are_rejected() {
        for pad in 0..4 {
            let line = format!(
                "20260301 12:00:00,db1,app,10.0.0.5,42,7,QUERY,shop,'select {}{}',0\n",
                "a".repeat(pad),
                "é".repeat(200)
            );
            let got = parse_cut_chunk(&line, 100);
            assert_eq!(got.events.len(), 1);
            assert!(!got.events[0].0.contains('\u{fffd}'), "{}", got.events[0].0);
        }
        let got = parse_cut_chunk(&format!("{}\n", "z".repeat(500)), 100);
        assert_eq!(got.rejected, [(1, Reason::TooLong)]);
        let got = parse_cut_chunk(
            &format!(
                "20260301 12:00:00,db1,{},10.0.0.5,42,7,QUERY,shop,'x',0\n",
                "u".repeat(300)
            ),
            100,
        );
        assert_eq!(got.rejected, [(1, Reason::TooLong)]);
    }
}
