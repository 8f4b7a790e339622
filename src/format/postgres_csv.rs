//! PostgreSQL `csvlog` files (`log_destination = csvlog`; on RDS the `postgresql.log.*.csv`
//! files beside the stderr log): one CSV row per log entry.
//!
//! A row is PostgreSQL's csvlog columns, in this order (later versions add columns at the end,
//! which are ignored): `log_time, user_name, database_name, process_id, connection_from,
//! session_id, session_line_num, command_tag, session_start_time, virtual_transaction_id,
//! transaction_id, error_severity, sql_state_code, message, detail, ...`. Text fields are in
//! double quotes with `""` for a quote, and a message or statement written over several lines
//! keeps its newlines inside the quotes, so one row may span several physical lines.
//!
//! The messages are the ones of the stderr log (`connection authorized: ...`,
//! `statement: ...`, `AUDIT: ...`). Each row is therefore rewritten once, into an arena, in
//! the stderr layout `%m:%r:%u@%d:[%p]:SEVERITY:  message`, and read by the stderr parser
//! ([`postgres::Parser::record`]): connections, failed logins, statements and pgaudit records
//! follow one set of rules in both layouts. Unquoting needs an owned copy anyway (`""`, and a
//! pgaudit record inside a message is CSV within CSV), as CloudWatch JSON needs one for its
//! string escapes; the arena is that copy, and events borrow from it.
//!
//! Line accounting: a row is one record; its other physical lines are `ignored`, as for a
//! multi-line stderr entry. A row that cannot be read is one rejected line (its first), the
//! rest of its lines ignored.

use super::{postgres, trim_cr, Reason, RecordSink};
use crate::event::SourceFormat;

/// Columns up to and including `message`.
const MIN_FIELDS: usize = 14;
const SEVERITY: usize = 11;
const MESSAGE: usize = 13;

/// Whether a line starts a csvlog row: `YYYY-MM-DD HH:MM:SS[.fff] TZ,` and then the user
/// name, quoted or empty. A line inside a quoted message that looks like this would be taken
/// for a row start by the chunker; PostgreSQL messages practically never hold one.
pub fn is_row_start(line: &[u8]) -> bool {
    postgres::timestamp_end_then(line, b',')
        .is_some_and(|end| matches!(line.get(end), Some(b'"' | b',')))
}

/// A row's fields: byte ranges of their contents in the row (quotes excluded), and whether
/// the field was quoted (then `""` inside stands for `"`).
struct Row {
    fields: Vec<(usize, usize, bool)>,
    /// Bytes of the row, its final newline included.
    len: usize,
    /// Physical lines it spans.
    lines: u64,
}

/// Reads one row at the start of `s`. `Err` with the bytes and lines up to the end of `s`
/// when a quoted field never closes.
fn read_row(s: &[u8]) -> Result<Row, (usize, u64)> {
    let mut fields = Vec::with_capacity(26);
    let mut lines = 1;
    let mut i = 0;
    loop {
        if s.get(i) == Some(&b'"') {
            // Quoted: up to a quote not followed by another.
            let start = i + 1;
            let mut j = start;
            loop {
                match memchr::memchr2(b'"', b'\n', &s[j..]) {
                    // Open to the end: the physical lines of all of `s`.
                    None => {
                        let lines =
                            bytecount::count(s, b'\n') as u64 + u64::from(s.last() != Some(&b'\n'));
                        return Err((s.len(), lines));
                    }
                    Some(k) if s[j + k] == b'\n' => {
                        lines += 1;
                        j += k + 1;
                    }
                    Some(k) if s.get(j + k + 1) == Some(&b'"') => j += k + 2,
                    Some(k) => {
                        fields.push((start, j + k, true));
                        i = j + k + 1;
                        break;
                    }
                }
            }
        } else {
            let end = memchr::memchr2(b',', b'\n', &s[i..]).map_or(s.len(), |k| i + k);
            fields.push((i, end, false));
            i = end;
        }
        // Bytes between a closing quote and the next delimiter (PostgreSQL writes none; a
        // `\r` of a CRLF line end) are skipped.
        if !matches!(s.get(i), None | Some(b',' | b'\n')) {
            i = memchr::memchr2(b',', b'\n', &s[i..]).map_or(s.len(), |k| i + k);
        }
        match s.get(i) {
            Some(b',') => i += 1,
            Some(_) => {
                return Ok(Row {
                    fields,
                    len: i + 1,
                    lines,
                })
            }
            None => {
                return Ok(Row {
                    fields,
                    len: i,
                    lines,
                })
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Row,
    /// The head of a row over the record limit, its open quoted field closed at the cut.
    CutRow,
    Blank,
    Ignored,
    Rejected(Reason),
}

struct Unit {
    kind: Kind,
    /// The rewritten row, or the excerpt of a rejected line, in the arena.
    text: (usize, usize),
    /// Line offset from the chunk's first line, and the physical lines covered.
    line: u64,
    lines: u64,
}

/// A chunk of a csvlog file, rewritten row by row into the stderr layout.
pub struct Arena {
    text: Vec<u8>,
    units: Vec<Unit>,
}

impl Arena {
    /// Rewrites every row of a row-aligned chunk. Never fails: what cannot be read becomes a
    /// rejected unit. `at_eof`: the chunk ends the file, so a row cut short there is a
    /// truncated last line rather than an unterminated quote.
    pub fn decode(chunk: &[u8], at_eof: bool) -> Arena {
        Arena::decode_with(chunk, at_eof, false)
    }

    /// [`Arena::decode`] of the head of one row over the record limit (a stream keeps no
    /// more of it): a quoted field still open at the end is closed there, so the row keeps
    /// its fields up to the cut and is reported as truncated.
    pub fn decode_head(head: &[u8]) -> Arena {
        Arena::decode_with(head, false, true)
    }

    fn decode_with(chunk: &[u8], at_eof: bool, head: bool) -> Arena {
        let mut arena = Arena {
            text: Vec::with_capacity(chunk.len() + chunk.len() / 8),
            units: Vec::new(),
        };
        let mut pos = 0;
        let mut line = 0u64;
        while pos < chunk.len() {
            let end = memchr::memchr(b'\n', &chunk[pos..]).map_or(chunk.len(), |i| pos + i);
            let first = trim_cr(&chunk[pos..end]);
            let next_line = (end + 1).min(chunk.len());
            if first.iter().all(u8::is_ascii_whitespace) {
                arena.unit(Kind::Blank, line, 1, b"");
            } else if postgres::is_end_of_log(first) {
                arena.unit(Kind::Ignored, line, 1, b"");
            } else if !is_row_start(first) {
                let reason = if end == chunk.len() && at_eof {
                    Reason::TruncatedLastLine
                } else {
                    Reason::OrphanContinuation
                };
                arena.unit(Kind::Rejected(reason), line, 1, excerpt(first));
            } else {
                match read_row(&chunk[pos..]) {
                    Ok(row) if row.fields.len() >= MIN_FIELDS => {
                        let text = arena.rewrite(&chunk[pos..pos + row.len], &row.fields);
                        arena.units.push(Unit {
                            kind: Kind::Row,
                            text,
                            line,
                            lines: row.lines,
                        });
                        pos += row.len;
                        line += row.lines;
                        continue;
                    }
                    Ok(row) => {
                        let kind = Kind::Rejected(Reason::MissingFields);
                        arena.unit(kind, line, row.lines, excerpt(first));
                        pos += row.len;
                        line += row.lines;
                        continue;
                    }
                    Err((len, lines)) if head => {
                        let mut closed = chunk[pos..].to_vec();
                        closed.push(b'"');
                        match read_row(&closed) {
                            Ok(row) if row.fields.len() >= MIN_FIELDS => {
                                let text = arena.rewrite(&closed, &row.fields);
                                arena.units.push(Unit {
                                    kind: Kind::CutRow,
                                    text,
                                    line,
                                    lines,
                                });
                            }
                            _ => {
                                let kind = Kind::Rejected(Reason::TooLong);
                                arena.unit(kind, line, lines, excerpt(first));
                            }
                        }
                        pos += len;
                        line += lines;
                        continue;
                    }
                    Err((len, lines)) => {
                        let reason = if at_eof {
                            Reason::TruncatedLastLine
                        } else {
                            Reason::UnterminatedQuery
                        };
                        arena.unit(Kind::Rejected(reason), line, lines, excerpt(first));
                        pos += len;
                        line += lines;
                        continue;
                    }
                }
            }
            pos = next_line;
            line += 1;
        }
        arena
    }

    fn unit(&mut self, kind: Kind, line: u64, lines: u64, text: &[u8]) {
        let start = self.text.len();
        self.text.extend_from_slice(text);
        self.units.push(Unit {
            kind,
            text: (start, self.text.len()),
            line,
            lines,
        });
    }

    /// Appends `row` in the stderr layout; returns its range in the arena.
    fn rewrite(&mut self, row: &[u8], fields: &[(usize, usize, bool)]) -> (usize, usize) {
        let start = self.text.len();
        let field = |k: usize| {
            let (s, e, quoted) = fields[k];
            (&row[s..e], quoted)
        };
        let out = &mut self.text;
        let put = |out: &mut Vec<u8>, (v, quoted): (&[u8], bool)| {
            if quoted {
                unquote_into(v, out);
            } else {
                out.extend_from_slice(v);
            }
        };
        put(out, field(0));
        out.push(b':');
        // connection_from is `host:port` (any IPv6 host unbracketed; the port is the digits
        // after the last colon), `[local]`, or empty; the stderr `%r` is `host(port)`.
        let host = out.len();
        put(out, field(4));
        if let Some(i) = memchr::memrchr(b':', &out[host..]).map(|i| host + i) {
            if i + 1 < out.len() && out[i + 1..].iter().all(u8::is_ascii_digit) {
                out[i] = b'(';
                out.push(b')');
            }
        }
        out.push(b':');
        put(out, field(1));
        out.push(b'@');
        put(out, field(2));
        out.extend_from_slice(b":[");
        put(out, field(3));
        out.extend_from_slice(b"]:");
        put(out, field(SEVERITY));
        out.extend_from_slice(b":  ");
        put(out, field(MESSAGE));
        (start, self.text.len())
    }

    /// The rewritten text, for UTF-8 validation and sizing.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Reports every unit to `sink`; returns the physical lines covered.
    pub fn parse<'a, S: RecordSink<'a>>(
        &'a self,
        forced: Option<SourceFormat>,
        first_line: u64,
        sink: &mut S,
    ) -> u64 {
        let mut pg = postgres::Parser::new(forced);
        let mut lines = 0;
        for u in &self.units {
            let line = first_line + u.line;
            let text = &self.text[u.text.0..u.text.1];
            lines = u.line + u.lines;
            match u.kind {
                Kind::Blank => sink.blank(line),
                Kind::Ignored => sink.ignored(u.lines),
                Kind::Rejected(r) => {
                    sink.rejected(line, r, text);
                    if u.lines > 1 {
                        sink.ignored(u.lines - 1);
                    }
                }
                Kind::Row | Kind::CutRow => match record(&mut pg, u, text, line, sink) {
                    (postgres::Outcome::Event(e), text) => {
                        sink.event(e, text);
                        if u.lines > 1 {
                            sink.ignored(u.lines - 1);
                        }
                    }
                    (postgres::Outcome::Ignored, _) => sink.ignored(u.lines),
                    (postgres::Outcome::Rejected(r), text) => {
                        sink.rejected(line, r, text);
                        if u.lines > 1 {
                            sink.ignored(u.lines - 1);
                        }
                    }
                },
            }
        }
        lines
    }
}

/// A rewritten row read by the stderr parser: cut at the record limit if it is over it (and
/// then, as a row whose head alone was kept, reported as truncated when it is an event).
fn record<'a, S: RecordSink<'a>>(
    pg: &mut postgres::Parser<'a>,
    u: &Unit,
    text: &'a [u8],
    line: u64,
    sink: &mut S,
) -> (postgres::Outcome<'a>, &'a [u8]) {
    let cut = super::cut_record(text, sink.max_record());
    let text = cut.map_or(text, |n| &text[..n]);
    if cut.is_none() && matches!(u.kind, Kind::Row) {
        return (pg.record(text, line), text);
    }
    let outcome = pg.record_cut(text, line);
    if matches!(outcome, postgres::Outcome::Event(_)) {
        sink.truncated();
    }
    (outcome, text)
}

/// A CSV field's content with `""` turned back into `"`.
fn unquote_into(v: &[u8], out: &mut Vec<u8>) {
    let mut rest = v;
    while let Some(i) = memchr::memchr(b'"', rest) {
        out.extend_from_slice(&rest[..=i]);
        rest = if rest.get(i + 1) == Some(&b'"') {
            &rest[i + 2..]
        } else {
            &rest[i + 1..]
        };
    }
    out.extend_from_slice(rest);
}

fn excerpt(line: &[u8]) -> &[u8] {
    &line[..line.len().min(super::EXCERPT_BYTES)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Operation};
    use crate::format::{self, Family};

    /// A csvlog file as PostgreSQL 15 writes it (26 columns): a connection, a statement over
    /// three lines with quotes and commas, a failed password, a pgaudit record (CSV inside the
    /// CSV message), a disconnection.
    const LOG: &str = concat!(
        r#"2026-03-01 10:00:00.123 UTC,,,12345,"10.20.3.4:51234",65e1a2b3.3039,1,"",2026-03-01 10:00:00 UTC,,0,LOG,00000,"connection received: host=10.20.3.4 port=51234",,,,,,,,,"","client backend",,0"#,
        "\n",
        r#"2026-03-01 10:00:00.130 UTC,"app","orders",12345,"10.20.3.4:51234",65e1a2b3.3039,2,"authentication",2026-03-01 10:00:00 UTC,3/1,0,LOG,00000,"connection authorized: user=app database=orders SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)",,,,,,,,,"","client backend",,0"#,
        "\n",
        r#"2026-03-01 10:00:01.000 UTC,"app","orders",12345,"10.20.3.4:51234",65e1a2b3.3039,3,"SELECT",2026-03-01 10:00:00 UTC,3/2,0,LOG,00000,"statement: SELECT id, ""name"""#,
        "\nFROM orders.customers\n",
        r#"WHERE note = 'a,b'",,,,,,,,,"psql","client backend",,0"#,
        "\n\n",
        r#"2026-03-01 10:00:02.000 UTC,"eve","orders",12346,"198.51.100.7:40000",65e1a2b4.303a,1,"authentication",2026-03-01 10:00:02 UTC,4/1,0,FATAL,28P01,"password authentication failed for user ""eve""","Connection matched pg_hba.conf line 1: ""host all all 0.0.0.0/0 md5""",,,,,,,,"","client backend",,0"#,
        "\n",
        r#"2026-03-01 10:00:03.000 UTC,"app","orders",12345,"10.20.3.4:51234",65e1a2b3.3039,4,"SELECT",2026-03-01 10:00:00 UTC,3/3,0,LOG,00000,"AUDIT: SESSION,1,1,READ,SELECT,,,""SELECT * FROM orders.customers WHERE name = 'x, y'"",<not logged>",,,,,,,,,"psql","client backend",,0"#,
        "\r\n",
        r#"2026-03-01 10:00:04.000 UTC,"app","orders",12345,"10.20.3.4:51234",65e1a2b3.3039,5,"idle",2026-03-01 10:00:00 UTC,,0,LOG,00000,"disconnection: session time: 0:00:04.000 user=app database=orders host=10.20.3.4 port=51234",,,,,,,,,"psql","client backend",,0"#,
        "\n",
    );

    /// line, time, user, host, database, pid, operation, tls, object
    type Row = (
        u64,
        i64,
        String,
        String,
        String,
        i64,
        Operation,
        Option<bool>,
        String,
    );

    #[derive(Default)]
    struct Log {
        events: Vec<Row>,
        ignored: u64,
        blank: Vec<u64>,
        rejected: Vec<(u64, Reason)>,
        /// The record limit (0: the default), and the events reported as truncated.
        max: usize,
        truncated: u64,
    }

    impl<'a> RecordSink<'a> for Log {
        fn max_record(&self) -> usize {
            match self.max {
                0 => crate::format::DEFAULT_MAX_RECORD_BYTES,
                n => n,
            }
        }
        fn truncated(&mut self) {
            self.truncated += 1;
        }
        fn event(&mut self, e: Event<'a>, _m: &'a [u8]) {
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            self.events.push((
                e.line,
                e.time_us,
                s(e.user),
                s(e.client_host),
                s(e.database),
                e.connection_id,
                e.operation,
                e.tls,
                e.object.to_cow().into_owned(),
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

    fn parse(text: &str, first_line: u64) -> (Log, u64) {
        let arena = Arena::decode(text.as_bytes(), true);
        let mut log = Log::default();
        let n = arena.parse(None, first_line, &mut log);
        (log, n)
    }

    /// A row over the record limit (a statement over many lines) stays an event with its
    /// fields and its text cut, counted as truncated, every one of its lines accounted for:
    /// read whole from a mapped chunk, and from the head alone that a stream keeps.
    #[test]
    fn rows_over_the_limit_stay_events_with_their_fields() {
        let list: String = (0..300).map(|i| format!("  , {i:06}\n")).collect();
        let long = format!(
            "2026-03-01 10:00:05.000 UTC,\"app\",\"orders\",12345,\"10.20.3.4:51234\",65e1a2b3.3039,6,\"GRANT\",2026-03-01 10:00:00 UTC,3/4,0,LOG,00000,\"statement: GRANT ALL ON customers TO \"\"intruder\"\" /*\n{list}*/\",,,,,,,,,\"psql\",\"client backend\",,0\n"
        );
        let text = format!("{LOG}{long}{LOG}");
        let (whole, lines) = parse(&text, 1);
        let arena = Arena::decode(text.as_bytes(), true);
        let mut log = Log {
            max: 512,
            ..Log::default()
        };
        assert_eq!(arena.parse(None, 1, &mut log), lines);
        assert_eq!(log.truncated, 1);
        assert!(log.rejected.is_empty());
        assert_eq!(log.events.len(), whole.events.len());
        assert_eq!(log.ignored, whole.ignored);
        let cut = &log.events[5];
        assert_eq!(cut.0, 10);
        assert_eq!(
            (cut.2.as_str(), cut.3.as_str(), cut.4.as_str()),
            ("app", "10.20.3.4", "orders")
        );
        assert!(cut
            .8
            .starts_with("GRANT ALL ON customers TO \"intruder\" /*\n  , 000000"));
        assert!(cut.8.len() < 512);

        // The head a stream keeps: the row's first bytes.
        let head = &long.as_bytes()[..600];
        let arena = Arena::decode_head(head);
        let mut log = Log {
            max: 512,
            ..Log::default()
        };
        let head_lines = arena.parse(None, 10, &mut log);
        assert_eq!(head_lines, 1 + bytecount::count(head, b'\n') as u64);
        assert_eq!(log.truncated, 1);
        assert_eq!(log.events.len(), 1);
        let e = &log.events[0];
        assert_eq!((e.0, e.2.as_str(), e.4.as_str()), (10, "app", "orders"));
        assert!(e.8.starts_with("GRANT ALL ON customers TO \"intruder\" /*"));
        // A head cut before the message is no record.
        let arena = Arena::decode_head(&long.as_bytes()[..60]);
        let mut log = Log::default();
        arena.parse(None, 10, &mut log);
        assert_eq!(log.rejected, [(10, Reason::TooLong)]);
    }

    #[test]
    fn rows_become_the_events_of_the_stderr_layout() {
        let f = format::sniff(LOG.as_bytes()).unwrap();
        assert_eq!(
            (f.family, f.name()),
            (Family::PostgresCsv, "postgres_csvlog")
        );
        let (log, lines) = parse(LOG, 10);
        assert_eq!(lines, 9);
        let t0 = 1_772_359_200_000_000i64; // 2026-03-01T10:00:00Z
        let ev = |line, ms: i64, user: &str, host: &str, pid, op, tls, obj: &str| {
            let s = |v: &str| v.to_string();
            (
                line,
                t0 + ms * 1000,
                s(user),
                s(host),
                s("orders"),
                pid,
                op,
                tls,
                s(obj),
            )
        };
        assert_eq!(
            log.events,
            vec![
                ev(
                    11,
                    130,
                    "app",
                    "10.20.3.4",
                    12345,
                    Operation::Connect,
                    Some(true),
                    ""
                ),
                ev(
                    12,
                    1_000,
                    "app",
                    "10.20.3.4",
                    12345,
                    Operation::Query,
                    None,
                    "SELECT id, \"name\"\nFROM orders.customers\nWHERE note = 'a,b'"
                ),
                ev(
                    16,
                    2_000,
                    "eve",
                    "198.51.100.7",
                    12346,
                    Operation::FailedConnect,
                    None,
                    ""
                ),
                ev(
                    17,
                    3_000,
                    "app",
                    "10.20.3.4",
                    12345,
                    Operation::Query,
                    None,
                    "SELECT * FROM orders.customers WHERE name = 'x, y'"
                ),
                ev(
                    18,
                    4_000,
                    "app",
                    "10.20.3.4",
                    12345,
                    Operation::Disconnect,
                    None,
                    ""
                ),
            ]
        );
        // `connection received` (1 line) and the statement's two other lines; one blank.
        assert_eq!(log.ignored, 3);
        assert_eq!(log.blank, vec![15]);
        assert!(log.rejected.is_empty());
        assert_eq!(
            log.events.len() as u64 + log.ignored + log.blank.len() as u64,
            lines
        );
    }

    #[test]
    fn bad_rows_are_rejected_by_line_and_accounted() {
        let text = concat!(
            "2026-03-01 10:00:00.123 UTC,\"app\",\"orders\",1,\"10.0.0.1:1\",s,1\n",
            "stray text\n",
            "2026-03-01 10:00:01.000 UTC,\"app\",\"orders\",1,\"10.0.0.1:1\",s,2,\"\",x,,0,LOG,00000,\"statement: SELECT 'never\nclosed\n",
        );
        let (log, lines) = parse(text, 1);
        // Four physical lines: the unterminated row is the last two.
        assert_eq!(lines, 4);
        assert_eq!(
            log.rejected,
            vec![
                (1, Reason::MissingFields),
                (2, Reason::OrphanContinuation),
                (3, Reason::TruncatedLastLine)
            ]
        );
        assert_eq!(log.ignored, 1);
        assert!(log.events.is_empty());
        // Garbage never panics.
        for cut in 0..LOG.len() {
            if LOG.is_char_boundary(cut) {
                let (log, lines) = parse(&LOG[..cut], 1);
                let counted = log.events.len() as u64
                    + log.ignored
                    + log.blank.len() as u64
                    + log.rejected.len() as u64;
                assert_eq!(counted, lines, "cut at {cut}");
            }
        }
    }

    #[test]
    fn chunk_edges_fall_on_row_starts() {
        let f = format::sniff(LOG.as_bytes()).unwrap();
        let b = LOG.as_bytes();
        // Inside the three-line statement, the next row start is the failed password.
        let inside = LOG.find("FROM orders.customers").unwrap();
        let next = format::next_record_start(&f, b, inside);
        assert!(LOG[next..].starts_with("2026-03-01 10:00:02.000 UTC,\"eve\""));
        let last = format::last_record_end(&f, b).unwrap();
        assert!(LOG[last..].starts_with("2026-03-01 10:00:04.000 UTC"));
    }

    /// Random mixes of row starts, quotes, commas and line ends: never a panic, and every
    /// line accounted for.
    #[test]
    fn random_input_is_accounted_for_without_panic() {
        let pieces: [&[u8]; 10] = [
            b"2026-03-01 10:00:00.123 UTC,",
            b"\"",
            b"\"\"",
            b",",
            b"\n",
            b"\r\n",
            b"LOG",
            b"statement: SELECT 1",
            b"\xff\xfe",
            b"12345",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..400 {
            let mut text = Vec::new();
            for _ in 0..60 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.extend_from_slice(pieces[(seed % pieces.len() as u64) as usize]);
            }
            for at_eof in [true, false] {
                let arena = Arena::decode(&text, at_eof);
                let mut log = Log::default();
                let lines = arena.parse(None, 1, &mut log);
                let counted = log.events.len() as u64
                    + log.ignored
                    + log.blank.len() as u64
                    + log.rejected.len() as u64;
                assert_eq!(counted, lines);
                let physical = bytecount::count(&text, b'\n') as u64
                    + u64::from(text.last().is_some_and(|&b| b != b'\n'));
                assert_eq!(lines, physical, "{:?}", String::from_utf8_lossy(&text));
            }
        }
    }

    /// A csvlog row whose `log_time` does not exist is rejected by field; the rows around it
    /// are read.
    #[test]
    fn rows_with_impossible_times_are_rejected_by_field() {
        let row = |t: &str| {
            format!("{t} UTC,\"app\",\"orders\",12345,\"10.20.3.4:51234\",65e1a2b3.3039,5,\"idle\",2026-03-01 10:00:00 UTC,,0,LOG,00000,\"statement: SELECT 1\",,,,,,,,,\"psql\",\"client backend\",,0\n")
        };
        let text = [
            row("2026-02-28 10:00:00.000"),
            row("2026-02-29 10:00:00.000"),
            row("2026-04-31 10:00:00.000"),
            row("2026-03-01 23:60:00.000"),
            row("2024-02-29 10:00:00.000"),
        ]
        .concat();
        let (log, lines) = parse(&text, 1);
        assert_eq!(lines, 5);
        assert_eq!(
            log.rejected,
            vec![
                (2, Reason::BadDay),
                (3, Reason::BadDay),
                (4, Reason::BadMinute)
            ]
        );
        assert_eq!(
            log.events.iter().map(|e| e.0).collect::<Vec<_>>(),
            vec![1, 5]
        );
    }
}
