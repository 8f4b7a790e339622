//! Tests of the PostgreSQL stderr parser.

use super::*;
use crate::classify::StatementClass;
use crate::format::pg_prefix;
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
    let e = one(
        "2025-02-03 08:00:03 UTC:10.1.1.1(1):jane@corp.example@sales:[5]:LOG:  statement: SELECT 1",
    );
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
    let alphabet: &[u8] = b"2025-02-03 08:00:00 UTC:()[]@,\"\n\r:LOGFATALAUDIT: SESSION\xff\xc3 1";
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
        log.events[0].starts_with("5 1563883590537000 u=postgres h=10.0.0.9 db=postgres pid=44"),
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
    assert!(log.events[1].contains("db=clients") && log.events[1].contains("Some(Destructive)"));
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
