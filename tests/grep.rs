//! `forensics grep` through its library entry point, `forensics::grep::run`, writing into a
//! `Vec<u8>` so the exact bytes a user would see are asserted.
//!
//! Each test builds its inputs in a temporary folder: plain, gzip, zstd and CloudWatch-export
//! files, because grep must read everything `scan` reads. Order and determinism are checked
//! on a file cut into many chunks (a tiny `chunk_bytes`), where a parallel search that let
//! chunks overtake each other would show. Counts are checked against a plain substring
//! re-implementation of `CONNECT -localhost -"10.20."` written independently of the filter
//! engine.

mod support;

use std::path::{Path, PathBuf};

use forensics::grep::{run, GrepOptions, GrepOutcome};
use support::gzip;

fn grep(opts: &GrepOptions) -> (String, GrepOutcome) {
    let mut out = Vec::new();
    let outcome = run(opts, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), outcome)
}

fn opts(pattern: &str, paths: &[&Path]) -> GrepOptions {
    GrepOptions {
        pattern: pattern.into(),
        paths: paths.iter().map(|p| p.to_path_buf()).collect(),
        threads: 2,
        ..GrepOptions::default()
    }
}

/// A plain file, a gzip file without extension, and a CloudWatch-export file, in the order
/// discovery sorts them.
fn mixed_folder() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("logs");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("a-plain.log"),
        "20230501 10:00:00,db1,app,203.0.113.9,1,0,CONNECT,orders,,0\n\
         20230501 10:00:01,db1,rdsadmin,localhost,2,0,CONNECT,mysql,,0\n\
         20230501 10:00:02,db1,app,10.20.3.4,3,0,CONNECT,orders,,0\n\
         20230501 10:00:03,db1,app,203.0.113.9,1,5,QUERY,orders,'SELECT 1',0\n\
         20230501 10:00:04,db1,app,203.0.113.9,1,0,DISCONNECT,orders,,0\n",
    )
    .unwrap();
    std::fs::write(
        root.join("b-stream"),
        gzip(
            b"20230501 11:00:00,db1,app,10.20.9.9,4,0,CONNECT,orders,,0\n\
              20230501 11:00:01,db1,eve,198.51.100.7,5,0,FAILED_CONNECT,,,1045\n",
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("c-export.log"),
        "2023-05-01T12:00:00.000Z 20230501 12:00:00,db1,app,192.0.2.1,6,0,CONNECT,orders,,0\n\
         2023-05-01T12:00:01.000Z 20230501 12:00:01,db1,app,localhost,7,0,CONNECT,orders,,0\n",
    )
    .unwrap();
    (dir, root)
}

#[test]
fn term_pattern_with_exclusions_searches_plain_gzip_and_export_files_in_order() {
    let (_dir, root) = mixed_folder();
    let (text, outcome) = grep(&opts(r#"CONNECT -localhost -"10.20.""#, &[&root]));
    let r = root.display();
    assert_eq!(
        text,
        format!(
            "{r}/a-plain.log:1:20230501 10:00:00,db1,app,203.0.113.9,1,0,CONNECT,orders,,0\n\
             {r}/a-plain.log:5:20230501 10:00:04,db1,app,203.0.113.9,1,0,DISCONNECT,orders,,0\n\
             {r}/b-stream:2:20230501 11:00:01,db1,eve,198.51.100.7,5,0,FAILED_CONNECT,,,1045\n\
             {r}/c-export.log:1:2023-05-01T12:00:00.000Z 20230501 12:00:00,db1,app,192.0.2.1,6,0,CONNECT,orders,,0\n"
        )
    );
    assert_eq!(
        outcome,
        GrepOutcome {
            matches: 4,
            files_searched: 3,
            errors: vec![]
        }
    );
}

#[test]
fn export_prefix_is_stripped_before_matching_but_printed() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("export.log");
    std::fs::write(
        &f,
        // The prefix says 2026 and the message 2023; the second line's prefix starts with
        // 2023 but its (Aurora) message does not.
        "2026-03-01T12:00:00.000Z 20230501 10:02:19,db1,app,10.0.0.1,1,0,CONNECT,orders,,0\n\
         2023-05-20T13:30:59.680Z 1653053459680124,c731,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0\n",
    )
    .unwrap();
    let (text, outcome) = grep(&opts("%^2023%", &[&f]));
    assert_eq!(
        text,
        "2026-03-01T12:00:00.000Z 20230501 10:02:19,db1,app,10.0.0.1,1,0,CONNECT,orders,,0\n"
    );
    assert_eq!(outcome.matches, 1);
    // A term that only the prefix contains does not match.
    let (text, _) = grep(&opts(r#""2026-03-01T""#, &[&f]));
    assert_eq!(text, "");
}

/// `lines` varied audit lines (about 75 bytes each) from a fixed-seed xorshift generator:
/// CONNECT, DISCONNECT, FAILED_CONNECT and QUERY from localhost, 10.20.x.y, 110.20.x.y and
/// public hosts.
fn generated_audit_text(lines: usize) -> String {
    let mut s = String::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..lines {
        let r = next();
        let host = match r % 5 {
            0 => "localhost".to_string(),
            1 | 2 => format!("10.20.{}.{}", (r >> 8) % 256, (r >> 16) % 256),
            3 => format!("203.0.{}.{}", (r >> 8) % 256, (r >> 16) % 256),
            _ => format!("110.20.{}.{}", (r >> 8) % 256, (r >> 16) % 256),
        };
        let (op, object) = match (r >> 24) % 6 {
            0 => ("CONNECT", String::new()),
            1 => ("DISCONNECT", String::new()),
            2 => ("FAILED_CONNECT", String::new()),
            3 => (
                "QUERY",
                "'SELECT * FROM t WHERE note = ''RECONNECTING'''".to_string(),
            ),
            _ => ("QUERY", format!("'SELECT {i}'")),
        };
        let sec = i % 60;
        let min = (i / 60) % 60;
        s.push_str(&format!(
            "20260301 12:{min:02}:{sec:02},ip-10-20-1-51,app_orders,{host},{},{},{op},orders,{object},0,SSL\n",
            r % 1000,
            i
        ));
    }
    s
}

#[test]
fn output_is_in_line_order_and_identical_with_one_and_two_threads_across_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big.log");
    let text = generated_audit_text(2000);
    std::fs::write(&f, &text).unwrap();
    let mut o = opts(r#"CONNECT -localhost"#, &[&f]);
    o.with_filename = Some(true);
    // ~150 chunks: a search that let chunks overtake each other would reorder lines.
    o.chunk_bytes = Some(1000);
    let run_with = |threads: usize| {
        let mut o = o.clone();
        o.threads = threads;
        grep(&o)
    };
    let (one, outcome_one) = run_with(1);
    let (two, outcome_two) = run_with(2);
    assert_eq!(one, two);
    assert_eq!(outcome_one, outcome_two);

    let name = f.display().to_string();
    let want: String = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("CONNECT") && !l.contains("localhost"))
        .map(|(i, l)| format!("{name}:{}:{l}\n", i + 1))
        .collect();
    assert_eq!(one, want);
    assert!(outcome_one.matches > 500);
}

#[test]
fn gzip_and_zstd_streams_split_into_blocks_keep_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let text = generated_audit_text(1500);
    std::fs::write(dir.path().join("a.gz"), gzip(text.as_bytes())).unwrap();
    std::fs::write(
        dir.path().join("b.zst"),
        zstd::encode_all(text.as_bytes(), 3).unwrap(),
    )
    .unwrap();
    let mut o = opts("FAILED_CONNECT", &[dir.path()]);
    o.chunk_bytes = Some(4096);
    let (out, outcome) = grep(&o);
    let per_file = |name: &str| -> String {
        text.lines()
            .enumerate()
            .filter(|(_, l)| l.contains("FAILED_CONNECT"))
            .map(|(i, l)| format!("{}:{}:{l}\n", dir.path().join(name).display(), i + 1))
            .collect()
    };
    assert_eq!(out, per_file("a.gz") + &per_file("b.zst"));
    assert_eq!(outcome.files_searched, 2);
}

/// The production filter, re-implemented with nothing but substring tests.
fn naive_connect_outside_vpc(text: &str) -> u64 {
    text.lines()
        .filter(|l| l.contains("CONNECT") && !l.contains("localhost") && !l.contains("10.20."))
        .count() as u64
}

#[test]
fn connect_outside_vpc_count_equals_a_substring_reimplementation() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("audit.log");
    let text = generated_audit_text(5000);
    std::fs::write(&f, &text).unwrap();
    let want = naive_connect_outside_vpc(&text);
    // The text has `110.20.x.y` hosts and `RECONNECTING` inside queries: CloudWatch's test is
    // a substring test, so the first are excluded and the second count as CONNECT.
    assert!(want > 0);
    for chunk in [None, Some(777)] {
        let mut o = opts(r#"CONNECT -localhost -"10.20.""#, &[&f]);
        o.count = true;
        o.chunk_bytes = chunk;
        let (out, outcome) = grep(&o);
        assert_eq!(out, format!("{want}\n"));
        assert_eq!(outcome.matches, want);
    }
}

#[test]
fn count_prints_one_total_for_one_file_and_path_count_per_matching_file_otherwise() {
    let (_dir, root) = mixed_folder();
    let mut o = opts("FAILED_CONNECT", &[&root]);
    o.count = true;
    let (text, outcome) = grep(&o);
    // Only the gzip file has a match; files without one are not listed.
    assert_eq!(text, format!("{}/b-stream:1\n", root.display()));
    assert_eq!(outcome.matches, 1);

    let single = root.join("a-plain.log");
    let mut o = opts("CONNECT", &[&single]);
    o.count = true;
    assert_eq!(grep(&o).0, "4\n");
    let mut o = opts("NOTHING_LIKE_THIS", &[&single]);
    o.count = true;
    let (text, outcome) = grep(&o);
    assert_eq!(text, "0\n");
    assert_eq!(outcome.matches, 0);

    // Forcing file names off over a folder gives the single total.
    let mut o = opts("CONNECT", &[&root]);
    o.count = true;
    o.with_filename = Some(false);
    assert_eq!(grep(&o).0, "8\n");
}

#[test]
fn since_is_inclusive_until_is_exclusive_and_lines_without_time_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mixed.log");
    std::fs::write(
        &f,
        "20230501 10:00:00,db1,app,h,1,0,CONNECT,d,,0\n\
         20230501 10:00:01,db1,app,h,1,0,CONNECT,d,,0\n\
         1682935202000000,db1,app,h,1,0,CONNECT,d,,0\n\
         2023-05-01T10:00:01.500Z CONNECT from a non-audit message\n\
         CONNECT with no time at all\n",
    )
    .unwrap();
    let t = |s: &str| forensics::time::parse_time_arg(s, chrono::Utc::now()).unwrap();
    let mut o = opts("CONNECT", &[&f]);
    o.since_us = Some(t("2023-05-01T10:00:01Z"));
    o.until_us = Some(t("2023-05-01T10:00:02Z"));
    let (text, outcome) = grep(&o);
    assert_eq!(
        text,
        "20230501 10:00:01,db1,app,h,1,0,CONNECT,d,,0\n\
         2023-05-01T10:00:01.500Z CONNECT from a non-audit message\n"
    );
    assert_eq!(outcome.matches, 2);
    // Without a window the line with no time is found too.
    assert_eq!(grep(&opts("CONNECT", &[&f])).1.matches, 5);
}

#[test]
fn invalid_pattern_is_a_usage_error_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let err = run(&opts("CONNECT %(a)%x --y", &[dir.path()]), &mut Vec::new()).unwrap_err();
    match err {
        forensics::Error::Usage(msg) => assert!(msg.contains("column"), "{msg}"),
        other => panic!("expected a usage error, got {other:?}"),
    }
    let err = run(&opts("{ $.a = 1", &[dir.path()]), &mut Vec::new()).unwrap_err();
    assert!(
        matches!(&err, forensics::Error::Usage(m) if m.contains("column 9")),
        "{err}"
    );
}

#[test]
fn binary_files_are_skipped_silently_and_other_text_files_are_searched() {
    let dir = tempfile::tempdir().unwrap();
    let mut bin = b"CONNECT\n".to_vec();
    bin.push(0);
    bin.extend_from_slice(b"CONNECT\n");
    std::fs::write(dir.path().join("a.bin"), &bin).unwrap();
    std::fs::write(dir.path().join("b.gz"), gzip(&bin)).unwrap();
    std::fs::write(
        dir.path().join("c.txt"),
        "notes: CONNECT is not a log line\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("d-empty"), "").unwrap();
    let (text, outcome) = grep(&opts("CONNECT", &[dir.path()]));
    assert_eq!(
        text,
        format!(
            "{}:1:notes: CONNECT is not a log line\n",
            dir.path().join("c.txt").display()
        )
    );
    assert_eq!(
        outcome,
        GrepOutcome {
            matches: 1,
            files_searched: 2,
            errors: vec![]
        }
    );
}

#[test]
fn lines_are_printed_as_written_with_invalid_utf8_and_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("raw.log");
    let mut bytes = b"20230501 10:00:00,db1,app,h\xff\xfe,1,0,CONNECT,d,,0,SSL\r\n".to_vec();
    bytes.extend_from_slice(b"20230501 10:00:01,db1,app,h,1,0,CONNECT,d,,0,TCP/IP\r\n");
    bytes.extend_from_slice(b"no newline at the end SSL");
    std::fs::write(&f, &bytes).unwrap();
    let mut out = Vec::new();
    // `$` anchors at the end of the message: the `\r` is not part of it.
    let outcome = run(&opts("%SSL$%", &[&f]), &mut out).unwrap();
    assert_eq!(outcome.matches, 2);
    assert_eq!(
        out,
        b"20230501 10:00:00,db1,app,h\xff\xfe,1,0,CONNECT,d,,0,SSL\r\nno newline at the end SSL\n"
            .to_vec()
    );
}

#[test]
fn unreadable_paths_are_reported_with_their_path_and_the_rest_is_searched() {
    let (_dir, root) = mixed_folder();
    let missing = root.join("no-such-file");
    let corrupt = root.join("d-corrupt.gz");
    let mut gz = gzip(b"20230501 13:00:00,db1,app,203.0.113.9,8,0,CONNECT,orders,,0\n");
    let n = gz.len();
    gz.truncate(n - 12);
    std::fs::write(&corrupt, gz).unwrap();
    let mut o = opts("CONNECT", &[&root, &missing]);
    o.count = true;
    let (_, outcome) = grep(&o);
    assert!(outcome.matches >= 8, "{outcome:?}");
    assert_eq!(outcome.errors.len(), 2, "{:?}", outcome.errors);
    assert!(outcome
        .errors
        .iter()
        .any(|e| e.starts_with(&format!("{}: ", missing.display()))));
    assert!(outcome
        .errors
        .iter()
        .any(|e| e.starts_with(&format!("{}: corrupt gzip", corrupt.display()))));
}

/// A PostgreSQL log with statements over several lines (continuation lines carry no prefix,
/// formats.md §4.1) and a DETAIL line (prefixed: an event of its own in CloudWatch).
fn postgres_log(entries: usize) -> (String, Vec<(usize, Vec<String>)>) {
    let mut s = String::new();
    let mut multi = Vec::new();
    let mut line = 1;
    for i in 0..entries {
        let t = format!("2026-03-01 10:{:02}:{:02} UTC", (i / 60) % 60, i % 60);
        let prefix = format!(
            "{t}:10.20.3.4(5{:04}):app@orders:[{}]:",
            i % 10_000,
            100 + i
        );
        if i % 7 == 3 {
            let lines = vec![
                format!("{prefix}LOG:  statement: SELECT id,"),
                "\t       total".to_string(),
                format!("\tFROM orders.invoices WHERE id = {i}"),
            ];
            multi.push((line, lines.clone()));
            for l in &lines {
                s += l;
                s.push('\n');
            }
            line += lines.len();
        } else {
            s += &format!("{prefix}LOG:  statement: SELECT {i}\n");
            line += 1;
        }
        if i % 11 == 5 {
            s += &format!("{prefix}DETAIL:  parameters: $1 = 'invoices'\n");
            line += 1;
        }
    }
    (s, multi)
}

#[test]
fn postgres_multi_line_statements_are_one_event_each_as_cloudwatch_received_them() {
    let dir = tempfile::tempdir().unwrap();
    let (text, multi) = postgres_log(600);
    let plain = dir.path().join("postgresql.log.2026-03-01-10");
    std::fs::write(&plain, &text).unwrap();
    std::fs::write(dir.path().join("postgresql.log.gz"), gzip(text.as_bytes())).unwrap();

    // Terms on the first and the last line of an entry: only the whole entry holds both.
    let mut o = opts(r#"statement "orders.invoices""#, &[&plain]);
    o.with_filename = Some(true);
    let name = plain.display().to_string();
    let want: String = multi
        .iter()
        .map(|(first, lines)| {
            lines
                .iter()
                .enumerate()
                .map(|(k, l)| {
                    let mark = if k == 0 { ':' } else { '-' };
                    format!("{name}{mark}{}{mark}{l}\n", first + k)
                })
                .collect::<String>()
        })
        .collect();
    for chunk in [None, Some(700), Some(5000)] {
        for threads in [1, 2] {
            let mut o = o.clone();
            o.chunk_bytes = chunk;
            o.threads = threads;
            let (out, outcome) = grep(&o);
            assert_eq!(out, want, "chunk_bytes {chunk:?}, {threads} threads");
            assert_eq!(outcome.matches, multi.len() as u64);
        }
    }

    // A term on a continuation line counts the entry once, in the stream too; DETAIL lines
    // are events of their own.
    for path in [plain.clone(), dir.path().join("postgresql.log.gz")] {
        let mut o = opts("total", &[&path]);
        o.count = true;
        o.chunk_bytes = Some(900);
        assert_eq!(grep(&o).0, format!("{}\n", multi.len()));
        let mut o = opts("invoices", &[&path]);
        o.count = true;
        o.chunk_bytes = Some(900);
        let details = text.lines().filter(|l| l.contains("DETAIL")).count();
        assert_eq!(grep(&o).0, format!("{}\n", multi.len() + details));
    }

    // The time window reads the PostgreSQL prefix (the first minute holds entries 0..60).
    let mut o = opts(r#""statement""#, &[&plain]);
    o.count = true;
    o.until_us = Some(1_772_359_260_000_000); // 2026-03-01T10:01:00Z
    assert_eq!(grep(&o).0, "60\n");
}

/// `--timestamp-format` and `--utc-offset` read the window as `scan` does: a MariaDB ≥ 12
/// line in the user's layout and a standard line, both server-local at +02:00; Aurora's
/// epoch microseconds are UTC and not shifted.
#[test]
fn the_time_window_reads_custom_layouts_and_utc_offsets_like_scan() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("server_audit.log");
    std::fs::write(
        &f,
        "2023-05-01T12:00:00.250,db1,app,h,1,0,CONNECT,d,,0\n\
         20230501 12:00:01,db1,app,h,1,0,CONNECT,d,,0\n\
         2023-05-01T12:00:05.000,db1,app,h,1,0,CONNECT,d,,0\n\
         1682935201000000,db1,app,h,1,0,CONNECT,d,,0\n",
    )
    .unwrap();
    let t = |s: &str| forensics::time::parse_time_arg(s, chrono::Utc::now()).unwrap();
    let layout = forensics::time::TimeLayout::new("%Y-%m-%dT%H:%M:%S%.f").unwrap();
    let mut o = opts("CONNECT", &[&f]);
    o.since_us = Some(t("2023-05-01T10:00:00Z"));
    o.until_us = Some(t("2023-05-01T10:00:02Z"));
    o.clock = forensics::format::Clock {
        layout: Some(Box::leak(Box::new(layout))),
        offset_us: forensics::time::parse_utc_offset("+02:00").unwrap(),
        ..Default::default()
    };
    let (text, outcome) = grep(&o);
    assert_eq!(
        text,
        "2023-05-01T12:00:00.250,db1,app,h,1,0,CONNECT,d,,0\n\
         20230501 12:00:01,db1,app,h,1,0,CONNECT,d,,0\n\
         1682935201000000,db1,app,h,1,0,CONNECT,d,,0\n"
    );
    assert_eq!(outcome.matches, 3);

    // Without the clock the custom lines have no time (dropped) and the standard one is read
    // as UTC, outside the window.
    o.clock = forensics::format::Clock::default();
    assert_eq!(grep(&o).0, "1682935201000000,db1,app,h,1,0,CONNECT,d,,0\n");
}
