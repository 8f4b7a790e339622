//! Records over the record limit (`--max-record-bytes`), end to end through the binary: they
//! stay events with their fields, their text cut at the limit and counted as `truncated`;
//! nothing after them is lost, whether the file is mapped, gzip or zstd; the lines of a
//! PostgreSQL statement over the limit are all accounted for; and a cut statement still
//! feeds the detections.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::{Array, RecordBatch};
use arrow::util::display::array_value_to_string;

/// Runs `scan DIR -o OUT --quiet EXTRA...`, which must exit 0; returns its summary.
fn scan_ok(input: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_forensics"))
        .args(["scan", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .arg("--quiet")
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// Writes `bytes` as `NAME.log` (mapped), `NAME.log.gz` and `NAME.log.zst` into `dir`.
fn write_three(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("{name}.log")), bytes).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    std::fs::write(dir.join(format!("{name}.log.gz")), gz.finish().unwrap()).unwrap();
    std::fs::write(
        dir.join(format!("{name}.log.zst")),
        zstd::encode_all(bytes, 1).unwrap(),
    )
    .unwrap();
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Every row of the Parquet files under `dir` (or of one file), each column shown as text
/// (`null` for nulls), by column name.
fn rows(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let files = if path.is_dir() {
        files_under(path)
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = Vec::new();
    for f in files {
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&f).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
        for batch in reader {
            let batch: RecordBatch = batch.unwrap();
            let schema = batch.schema();
            for r in 0..batch.num_rows() {
                let mut row = std::collections::BTreeMap::new();
                for (i, field) in schema.fields().iter().enumerate() {
                    let col = batch.column(i);
                    // Timestamps are read as their `_us` twin (no time zone database here).
                    if matches!(col.data_type(), arrow::datatypes::DataType::Timestamp(..)) {
                        continue;
                    }
                    let v = if col.is_null(r) {
                        "null".to_string()
                    } else {
                        array_value_to_string(col, r).unwrap()
                    };
                    row.insert(field.name().clone(), v);
                }
                out.push(row);
            }
        }
    }
    out
}

/// An RDS for MySQL record at second `i` of 2026-03-01 12:00 UTC.
fn mysql_record(i: usize, op: &str, text: &str) -> String {
    let (m, s) = (i / 60 % 60, i % 60);
    match op {
        "QUERY" => format!(
            "20260301 12:{m:02}:{s:02},ip-10-20-1-5,app,10.20.3.4,{},{i},QUERY,orders,'{text}',0,,\n",
            100 + i / 10
        ),
        _ => format!(
            "20260301 12:{m:02}:{s:02},ip-10-20-1-5,app,10.20.3.4,{},0,{op},orders,,0,SSL\n",
            100 + i / 10
        ),
    }
}

/// `n` ordinary records from record number `from`.
fn mysql_records(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| match i % 10 {
            0 => mysql_record(i, "CONNECT", ""),
            9 => mysql_record(i, "DISCONNECT", ""),
            k => mysql_record(i, "QUERY", &format!("SELECT id FROM t WHERE k = {k}")),
        })
        .collect()
}

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// The case: 100 records, a 20 MB line, 100 records. The line is no record at all:
/// it is rejected and the 200 records around it are read, in a mapped file as in gzip and
/// zstd streams. The same with a 20 MB statement: it is a record, kept with its text cut at
/// the default limit (16 MiB) and counted as truncated; the file is read to its end.
#[test]
fn a_twenty_megabyte_line_loses_nothing_after_it_in_any_input() {
    let dir = tempfile::tempdir().unwrap();
    let big = 20 << 20;
    let before = mysql_records(0, 100);
    let after = mysql_records(101, 100);
    let junk = format!("{before}{}\n{after}", "y".repeat(big));
    let statement = format!(
        "{before}{}{after}",
        mysql_record(
            100,
            "QUERY",
            &format!(
                "GRANT ALL ON *.* TO \\'evil\\'@\\'%\\' /* {} */",
                "z".repeat(big)
            )
        )
    );
    write_three(&dir.path().join("junk"), "server_audit", junk.as_bytes());
    write_three(
        &dir.path().join("statement"),
        "server_audit",
        statement.as_bytes(),
    );

    let out = dir.path().join("out-junk");
    let s = scan_ok(&dir.path().join("junk"), &out, &[]);
    let inputs = s["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    for i in inputs {
        assert_eq!(i["status"], "ok", "{i}");
        assert_eq!(
            (u(&i["lines"]), u(&i["records"]), u(&i["rejected"])),
            (201, 200, 1),
            "{i}"
        );
        assert_eq!(u(&i["truncated"]), 0, "{i}");
    }
    let lines: Vec<u64> = s["rejected_samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| u(&r["line"]))
        .collect();
    assert_eq!(lines, [101, 101, 101]);

    let out = dir.path().join("out-statement");
    let s = scan_ok(&dir.path().join("statement"), &out, &[]);
    for i in s["inputs"].as_array().unwrap() {
        assert_eq!(i["status"], "ok", "{i}");
        assert_eq!(
            (u(&i["lines"]), u(&i["records"]), u(&i["rejected"])),
            (201, 201, 0),
            "{i}"
        );
        assert_eq!(u(&i["truncated"]), 1, "{i}");
    }
    assert_eq!(u(&s["totals"]["truncated"]), 3);
    let cut: Vec<_> = rows(&out.join("events"))
        .into_iter()
        .filter(|r| r["source_line"] == "101")
        .collect();
    assert_eq!(cut.len(), 3);
    for r in &cut {
        assert_eq!(r["user"], "app");
        assert_eq!(r["client_host"], "10.20.3.4");
        assert_eq!(r["operation"], "QUERY");
        assert_eq!(r["retcode"], "null");
        assert!(r["object"].starts_with("GRANT ALL ON *.* TO 'evil'@'%' /* zzz"));
        assert!(r["object"].len() <= 16 << 20);
        assert!(r["object"].len() > (16 << 20) - 100);
    }
}

/// With a small limit and small blocks: records of 1x, 5x and 50x the block size between
/// ordinary ones. The two over the limit are events with user, host, operation and database,
/// their text cut at the limit, retcode null, counted as truncated; the same events come out
/// of the mapped, gzip and zstd copies; and the cut GRANT statements are privilege changes.
#[test]
fn records_over_the_limit_stay_events_in_mapped_gzip_and_zstd_files() {
    let dir = tempfile::tempdir().unwrap();
    let block = 1024;
    let max = 4096;
    let grant = |who: &str, n: usize| {
        format!(
            "GRANT ALL ON *.* TO \\'{who}\\'@\\'%\\' /* {} */",
            "w".repeat(n)
        )
    };
    let mut text = mysql_records(0, 30);
    text += &mysql_record(
        30,
        "QUERY",
        &format!("SELECT /* {} */ 1", "v".repeat(block)),
    );
    text += &mysql_records(31, 30);
    text += &mysql_record(61, "QUERY", &grant("five", 5 * block));
    text += &mysql_records(62, 30);
    text += &mysql_record(92, "QUERY", &grant("fifty", 50 * block));
    text += &mysql_records(93, 30);
    let input = dir.path().join("in");
    write_three(&input, "server_audit", text.as_bytes());

    let out = dir.path().join("out");
    let s = scan_ok(
        &input,
        &out,
        &[
            "--max-record-bytes",
            &max.to_string(),
            "--chunk-bytes",
            &block.to_string(),
        ],
    );
    for i in s["inputs"].as_array().unwrap() {
        assert_eq!(i["status"], "ok", "{i}");
        assert_eq!(
            (u(&i["lines"]), u(&i["records"]), u(&i["rejected"])),
            (123, 123, 0),
            "{i}"
        );
        assert_eq!(u(&i["truncated"]), 2, "{i}");
    }
    let t = &s["totals"];
    assert_eq!((u(&t["records"]), u(&t["truncated"])), (369, 6));

    let events = rows(&out.join("events"));
    assert_eq!(events.len(), 369);
    // The same rows from each copy (but for the file name).
    let mut by_file: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in &events {
        let mut r = r.clone();
        let file = r.remove("source_file").unwrap();
        by_file.entry(file).or_default().push(format!("{r:?}"));
    }
    let copies: Vec<_> = by_file
        .into_values()
        .map(|mut v| {
            v.sort();
            v
        })
        .collect();
    assert_eq!(copies.len(), 3);
    assert_eq!(copies[0], copies[1]);
    assert_eq!(copies[0], copies[2]);

    for (line, who) in [(62, "five"), (93, "fifty")] {
        let cut: Vec<_> = events
            .iter()
            .filter(|r| r["source_line"] == line.to_string())
            .collect();
        assert_eq!(cut.len(), 3);
        for r in cut {
            assert_eq!(r["user"], "app", "{r:?}");
            assert_eq!(r["client_host"], "10.20.3.4");
            assert_eq!(r["client_ip"], "10.20.3.4");
            assert_eq!(r["operation"], "QUERY");
            assert_eq!(r["database"], "orders");
            assert_eq!(r["connection_id"], (100 + (line - 1) / 10).to_string());
            assert_eq!(r["query_id"], (line - 1).to_string());
            assert_eq!(r["retcode"], "null");
            assert_eq!(r["statement_class"], "privilege");
            let obj = &r["object"];
            assert!(obj.starts_with(&format!("GRANT ALL ON *.* TO '{who}'@'%' /* www")));
            assert!(obj.len() <= max && obj.len() > max - 100, "{}", obj.len());
        }
    }
    // The one under the limit is whole.
    let whole = events.iter().find(|r| r["source_line"] == "31").unwrap();
    assert_eq!(whole["retcode"], "0");
    assert!(whole["object"].ends_with("*/ 1"));

    let findings = rows(&out.join("findings.parquet"));
    let evidence: Vec<u64> = findings
        .iter()
        .filter(|f| f["kind"] == "privilege_change")
        .map(|f| f["evidence"].rsplit(':').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        evidence.contains(&62) && evidence.contains(&93),
        "{findings:?}"
    );
}

/// A PostgreSQL statement over the limit on many lines: one event (user, host, database,
/// class) with its text cut, every one of its lines accounted for, the records after it read;
/// mapped and gzip alike, with small blocks.
#[test]
fn a_postgres_statement_over_the_limit_counts_all_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = |s: u32| format!("2025-02-03 08:00:{s:02} UTC:10.0.3.7(50122):app@orders:[901]:");
    let mut text = format!(
        "{}LOG:  connection authorized: user=app database=orders application_name=psql\n",
        prefix(0)
    );
    for s in 1..20 {
        text += &format!("{}LOG:  statement: select {s}\n", prefix(s));
    }
    text += &format!(
        "{}LOG:  statement: GRANT ALL ON customers TO intruder /*\n",
        prefix(20)
    );
    for k in 0..2000 {
        text += &format!("  , {k:08}\n");
    }
    text += "*/\n";
    for s in 21..40 {
        text += &format!("{}LOG:  statement: select\n  {s}\n", prefix(s));
    }
    let input = dir.path().join("in");
    write_three(&input, "postgresql.log.2025-02-03-08", text.as_bytes());

    let out = dir.path().join("out");
    let s = scan_ok(
        &input,
        &out,
        &["--max-record-bytes", "4096", "--chunk-bytes", "1000"],
    );
    let lines = 1 + 19 + 2002 + 2 * 19;
    for i in s["inputs"].as_array().unwrap() {
        assert_eq!(i["status"], "ok", "{i}");
        assert_eq!(
            (u(&i["lines"]), u(&i["records"]), u(&i["rejected"])),
            (lines, 1 + 19 + 1 + 19, 0),
            "{i}"
        );
        assert_eq!(u(&i["truncated"]), 1, "{i}");
    }
    let t = &s["totals"];
    assert_eq!(
        u(&t["lines"]),
        u(&t["records"]) + u(&t["ignored"]) + u(&t["blank"]) + u(&t["rejected"])
    );
    let events = rows(&out.join("events"));
    let cut: Vec<_> = events.iter().filter(|r| r["source_line"] == "21").collect();
    assert_eq!(cut.len(), 3);
    for r in cut {
        assert_eq!(r["user"], "app");
        assert_eq!(r["client_host"], "10.0.3.7");
        assert_eq!(r["database"], "orders");
        assert_eq!(r["operation"], "QUERY");
        assert_eq!(r["statement_class"], "privilege");
        assert!(r["object"].starts_with("GRANT ALL ON customers TO intruder /*\n  , 00000000"));
        assert!(r["object"].len() < 4096);
    }
    // The records after it keep their own lines.
    let last: Vec<_> = events
        .iter()
        .filter(|r| r["object"] == "select\n  39")
        .map(|r| r["source_line"].clone())
        .collect();
    assert_eq!(last, vec![(lines - 1).to_string(); 3]);
    let findings = rows(&out.join("findings.parquet"));
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "privilege_change" && f["evidence"].ends_with(":21")),
        "{findings:?}"
    );
}

/// The same in the csvlog layout: a row over the limit (a statement over many lines inside
/// its quoted message) is one truncated event in the mapped, gzip and zstd copies, with its
/// user and database, and every line is accounted for.
#[test]
fn a_csvlog_row_over_the_limit_is_a_truncated_event() {
    let dir = tempfile::tempdir().unwrap();
    let row = |s: u32, msg: &str| {
        format!(
            "2026-03-01 10:00:{s:02}.000 UTC,\"app\",\"orders\",12345,\"10.20.3.4:51234\",65e1a2b3.3039,{s},\"SELECT\",2026-03-01 10:00:00 UTC,3/2,0,LOG,00000,\"{msg}\",,,,,,,,,\"psql\",\"client backend\",,0\n"
        )
    };
    let mut text = String::new();
    for s in 0..20 {
        text += &row(s, &format!("statement: select {s}"));
    }
    let list: String = (0..2000).map(|k| format!("  , {k:08}\n")).collect();
    text += &row(
        20,
        &format!("statement: GRANT ALL ON customers TO intruder /*\n{list}*/"),
    );
    for s in 21..40 {
        text += &row(s, &format!("statement: select\n  {s}"));
    }
    let input = dir.path().join("in");
    write_three(&input, "postgresql.log.2026-03-01-10.csv", text.as_bytes());
    let out = dir.path().join("out");
    let s = scan_ok(
        &input,
        &out,
        &["--max-record-bytes", "4096", "--chunk-bytes", "1000"],
    );
    let lines = 20 + 2002 + 2 * 19;
    for i in s["inputs"].as_array().unwrap() {
        assert_eq!(i["status"], "ok", "{i}");
        assert_eq!(
            (u(&i["lines"]), u(&i["records"]), u(&i["rejected"])),
            (lines, 40, 0),
            "{i}"
        );
        assert_eq!(u(&i["truncated"]), 1, "{i}");
    }
    let events = rows(&out.join("events"));
    let cut: Vec<_> = events.iter().filter(|r| r["source_line"] == "21").collect();
    assert_eq!(cut.len(), 3);
    for r in cut {
        assert_eq!(
            (r["user"].as_str(), r["database"].as_str()),
            ("app", "orders")
        );
        assert_eq!(r["statement_class"], "privilege");
        assert!(r["object"].starts_with("GRANT ALL ON customers TO intruder /*\n  , 00000000"));
        assert!(r["object"].len() < 4096);
    }
}
