//! End-to-end behaviour of `forensics scan`, through the binary as a user runs it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{
    assert_exit, assert_lines_accounted, bin, gunzip, gzip, run as run_scan, scan_ok, summary,
    testdata, walk,
};

/// `n` well-formed RDS for MySQL lines, one second apart from 2026-03-01T23:00:00Z (so they
/// cross midnight), with commas, quotes, escapes and non-ASCII text in the queries.
fn rds_lines(n: usize) -> String {
    let mut s = String::new();
    let base = 1_772_406_000i64; // 2026-03-01T23:00:00Z
    for i in 0..n {
        let t = chrono::DateTime::from_timestamp(base + i as i64, 0).unwrap();
        let ts = t.format("%Y%m%d %H:%M:%S");
        let conn = 100 + i / 10;
        match i % 10 {
            0 => s += &format!("{ts},ip-10-20-1-5,app,10.20.3.{},{conn},0,CONNECT,orders,,0,SSL\n", i % 200),
            9 => s += &format!("{ts},ip-10-20-1-5,app,10.20.3.{},{conn},0,DISCONNECT,orders,,0,SSL\n", i % 200),
            k => s += &format!(
                "{ts},ip-10-20-1-5,app,10.20.3.{},{conn},{i},QUERY,orders,'SELECT id, name FROM t WHERE note = \\'Zoë, 東京\\'\\nAND k = {k}',0,,\n",
                i % 200
            ),
        }
    }
    s
}

#[test]
fn sample_archive_scan_writes_all_outputs_that_duckdb_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let s = scan_ok(&[&testdata().join("sample")], &out, &[]);
    for f in ["findings.parquet", "summary.json", "summary.md"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert!(s["totals"]["records"].as_u64().unwrap() > 1000);
    // Every line is accounted for, none rejected.
    assert_lines_accounted(&s);
    // Every input has a hash and a format.
    for i in s["inputs"].as_array().unwrap() {
        assert_eq!(i["status"], "ok", "{i}");
        assert_eq!(i["sha256"].as_str().unwrap().len(), 64);
    }
    let check = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/duckdb_check.py"))
        .arg(&out)
        .output()
        .expect("python3 runs");
    assert!(
        check.status.success(),
        "DuckDB read-back failed (is the duckdb Python package installed? .ci/run installs it):\n{}\n{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn thread_count_does_not_change_events_or_summary() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("server_audit.log"), rds_lines(20_000)).unwrap();
    std::fs::write(input.join("server_audit.log.1"), rds_lines(7_000)).unwrap();
    std::fs::write(
        input.join("server_audit.log.2.gz"),
        gzip(rds_lines(5_000).as_bytes()),
    )
    .unwrap();
    let mut outs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = dir.path().join(format!("out{threads}"));
        scan_ok(
            &[&input],
            &out,
            &["--threads", threads, "--chunk-bytes", "65536"],
        );
        outs.push(out);
    }
    let files = |out: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = walk(&out.join("events"))
            .into_iter()
            .map(|p| {
                (
                    p.strip_prefix(out).unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let first = files(&outs[0]);
    assert!(
        first.len() >= 2,
        "the input crosses midnight: two partitions"
    );
    let strip = |mut s: serde_json::Value| {
        s["throughput"] = serde_json::Value::Null;
        s["outputs"]["dir"] = serde_json::Value::Null;
        s
    };
    for out in &outs[1..] {
        assert!(
            files(out) == first,
            "event files differ between thread counts"
        );
        assert_eq!(strip(summary(out)), strip(summary(&outs[0])));
        assert_eq!(
            std::fs::read(out.join("findings.parquet")).unwrap(),
            std::fs::read(outs[0].join("findings.parquet")).unwrap()
        );
    }
    // The 64 KiB chunks (about 300 lines each) are encoded in parallel, but their pieces
    // are joined into one row group per day file: row groups are as large as the data allows.
    let mut rows = 0;
    for (name, bytes) in &first {
        let reader = parquet::file::serialized_reader::SerializedFileReader::new(
            bytes::Bytes::from(bytes.clone()),
        )
        .unwrap();
        let meta = parquet::file::reader::FileReader::metadata(&reader);
        assert_eq!(meta.num_row_groups(), 1, "{name}: one row group");
        rows += meta.file_metadata().num_rows();
    }
    assert_eq!(rows, 32_000);
    let s = summary(&outs[0]);
    assert_eq!(s["totals"]["records"], 32_000);
    assert_eq!(s["totals"]["lines"], 32_000);
    assert_eq!(s["totals"]["rejected"], 0);
    assert_eq!(s["totals"]["sessions"], 3_200);
    assert_eq!(s["totals"]["tls_known"], 3_200);
}

/// The hidden `--no-sessions` (with it `benches/compare.sh` measures what issue 18's outputs
/// cost) leaves out the sessions alone: the same events, findings and totals, and no
/// `sessions.parquet`.
#[test]
fn no_sessions_leaves_out_sessions_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("server_audit.log"), rds_lines(5_000)).unwrap();
    let (with, without) = (dir.path().join("with"), dir.path().join("without"));
    scan_ok(&[&input], &with, &[]);
    scan_ok(&[&input], &without, &["--no-sessions", "--no-report"]);
    assert!(with.join("sessions.parquet").exists());
    assert!(!without.join("sessions.parquet").exists());
    assert!(!without.join("report.html").exists());
    let events = |out: &Path| -> Vec<Vec<u8>> {
        let mut v: Vec<_> = walk(&out.join("events"));
        v.sort();
        v.iter().map(|p| std::fs::read(p).unwrap()).collect()
    };
    assert!(!events(&with).is_empty());
    assert!(events(&with) == events(&without), "the events differ");
    assert_eq!(
        std::fs::read(with.join("findings.parquet")).unwrap(),
        std::fs::read(without.join("findings.parquet")).unwrap()
    );
    assert_eq!(summary(&with)["totals"], summary(&without)["totals"]);
}

#[test]
fn bad_lines_are_rejected_by_file_and_line_and_the_rest_completes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let good = rds_lines(3_000);
    let mut lines: Vec<Vec<u8>> = good.lines().map(|l| l.as_bytes().to_vec()).collect();
    // Garbage, invalid UTF-8, a 5 MB line (over the 4 MiB limit given, and no record), a
    // blank line, and a truncated last line.
    lines[99] = b"this is not an audit record".to_vec();
    lines[199] = b"\xff\xfe\x00garbage \xc3\x28 bytes".to_vec();
    lines[299] = vec![b'x'; 5 << 20];
    lines[399] = Vec::new();
    // A valid record with invalid UTF-8 inside the query is kept (decoded lossily).
    lines[499] =
        b"20260302 00:00:01,ip-10-20-1-5,app,10.20.3.4,999,1,QUERY,orders,'select \xff\xfe',0,,"
            .to_vec();
    let mut bytes = lines.join(&b'\n');
    bytes.extend_from_slice(
        b"\n20260302 00:00:02,ip-10-20-1-5,app,10.20.3.4,999,2,QUERY,orders,'select tru",
    );
    std::fs::write(input.join("server_audit.log"), &bytes).unwrap();
    // A corrupt gzip file does not stop the others.
    let mut gzb = gzip(rds_lines(50_000).as_bytes());
    let mid = gzb.len() / 2;
    gzb[mid..mid + 64].fill(0x55);
    std::fs::write(input.join("server_audit.log.1.gz"), &gzb).unwrap();
    std::fs::write(input.join("server_audit.log.2"), rds_lines(10)).unwrap();

    let out = dir.path().join("out");
    let o = run_scan(&[
        "scan",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
        "--chunk-bytes",
        "100000",
        "--max-record-bytes",
        "4MiB",
    ]);
    assert_exit(&o, 0);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("warning"),
        "a warning names the problems: {stderr}"
    );
    let s = summary(&out);
    let plain = s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with("server_audit.log"))
        .unwrap();
    assert_eq!(plain["rejected"], 4, "{plain}");
    assert_eq!(plain["lines"], 3_001);
    assert_eq!(plain["records"], 2_996);
    let rejected: Vec<(String, u64)> = s["rejected_samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["file"].as_str().unwrap().ends_with("server_audit.log"))
        .map(|r| {
            (
                r["reason"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let lines_rejected: Vec<u64> = rejected.iter().map(|r| r.1).collect();
    assert_eq!(lines_rejected, vec![100, 200, 300, 3_001]);
    assert!(rejected[2].0.contains("record limit"), "{rejected:?}");
    assert!(rejected[3].0.contains("truncated"));
    let gz = s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(".gz"))
        .unwrap();
    assert_eq!(gz["status"], "error", "{gz}");
    assert!(gz["message"].as_str().unwrap().contains("corrupt gzip"));
    let last = s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(".log.2"))
        .unwrap();
    assert_eq!(last["status"], "ok");
    assert_eq!(last["records"], 10);
    // --strict turns the same problems into exit code 2.
    let o = run_scan(&[
        "scan",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
        "--force",
        "--strict",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn non_empty_output_folder_is_refused_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("server_audit.log");
    std::fs::write(&input, rds_lines(10)).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), b"x").unwrap();
    let scan = |force: bool| {
        let (input, out) = (input.to_str().unwrap(), out.to_str().unwrap());
        let mut args = vec!["scan", input, "-o", out, "--quiet"];
        args.extend(force.then_some("--force"));
        run_scan(&args)
    };
    let o = scan(false);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    let o = scan(true);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        out.join("keep.txt").exists(),
        "--force removes only a scan's own outputs"
    );
    // No temporary file is left behind.
    assert!(walk(&out)
        .iter()
        .all(|p| !p.to_string_lossy().ends_with(".tmp")));
    // Again over a previous output with a stale partition and the hidden folder of replaced
    // outputs an interrupted run of an earlier version would leave: both are gone afterwards
    // (the partition replaced at publication, the folder removed by --force).
    let stale = out.join("events/dt=1999-01-01");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("part-00000.parquet"), b"old").unwrap();
    let left = out.join(".forensics-replaced-1-2/events");
    std::fs::create_dir_all(&left).unwrap();
    std::fs::write(left.join("x"), b"old").unwrap();
    let o = scan(true);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        !stale.exists(),
        "the previous scan's partitions are replaced"
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "events",
            "evidence",
            "findings.parquet",
            "keep.txt",
            "profile.parquet",
            "report.html",
            "sessions.parquet",
            "summary.json",
            "summary.md"
        ]
    );
    assert!(out.join("events").read_dir().unwrap().count() > 0);
}

#[test]
fn nothing_readable_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello\n").unwrap();
    let out = dir.path().join("out");
    let o = run_scan(&[
        "scan",
        dir.path().join("notes.txt").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run_scan(&[
        "scan",
        dir.path().join("missing").to_str().unwrap(),
        "-o",
        dir.path().join("o2").to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn time_window_keeps_only_events_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("server_audit.log");
    std::fs::write(&input, rds_lines(7_200)).unwrap(); // 23:00 .. 01:00
    let out = dir.path().join("out");
    let o = run_scan(&[
        "scan",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
        "--since",
        "2026-03-02",
        "--until",
        "2026-03-02T00:30:00Z",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let s = summary(&out);
    assert_eq!(s["totals"]["records"], 1_800);
    assert_eq!(s["totals"]["filtered"], 5_400);
    assert_eq!(s["totals"]["first_event"], "2026-03-02T00:00:00Z");
}

#[test]
fn terminal_summary_escapes_control_characters_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("server_audit.log");
    let evil = "20260301 10:00:00,db,\x1b[31mevil\x1b]0;x\x07,10.20.1.1,1,0,CONNECT,,,0,SSL\nnot a record \x1b[2J\n";
    std::fs::write(&input, evil).unwrap();
    let out = dir.path().join("out");
    let o = run_scan(&["scan", input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        !stdout.contains('\x1b'),
        "raw escape reached the terminal: {stdout:?}"
    );
    assert!(!stdout.contains('\x07'));
}

#[test]
fn compressed_input_with_a_huge_line_rejects_it_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let good = rds_lines(2_000);
    let mut lines: Vec<Vec<u8>> = good.lines().map(|l| l.as_bytes().to_vec()).collect();
    lines[999] = vec![b'y'; 6 << 20];
    let mut bytes = lines.join(&b'\n');
    bytes.push(b'\n');
    for (name, data) in [
        ("server_audit.log.1.gz", gzip(&bytes)),
        (
            "server_audit.log.2.zst",
            zstd::encode_all(&bytes[..], 1).unwrap(),
        ),
    ] {
        std::fs::write(input.join(name), data).unwrap();
    }
    let out = dir.path().join("out");
    let s = scan_ok(&[&input], &out, &["--chunk-bytes", "200000"]);
    for i in s["inputs"].as_array().unwrap() {
        assert_eq!(i["status"], "ok", "{i}");
        assert_eq!(i["lines"], 2_000, "{i}");
        assert_eq!(i["records"], 1_999, "{i}");
        assert_eq!(i["rejected"], 1, "{i}");
    }
    let lines: Vec<u64> = s["rejected_samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![1_000, 1_000]);
}

/// MariaDB ≥ 12 with a custom `server_audit_timestamp_format`, next to a file in the
/// standard layout: without `--timestamp-format` a file in the custom layout is not
/// recognised; with it every file is read, including one where the server switched layouts
/// mid-file, and `--utc-offset` turns the zone-less local times into UTC for all of them. A
/// line neither layout reads is rejected by file and line.
#[test]
fn custom_timestamp_format_and_utc_offset_read_mariadb_12_logs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(
        input.join("server_audit.log"),
        "2026-03-01T12:00:01.250,db1,app,10.0.0.5:51234,42,0,CONNECT,shop,TLSv1.3,0\n\
         2026-03-01T12:00:02.000,db1,app,10.0.0.5:51234,42,7,QUERY,shop,'SELECT 1, 2',0\n\
         20260301 12:00:02,db1,app,10.0.0.5:51234,42,8,QUERY,shop,'SELECT 3',0\n\
         2026-03-01T12:00:0x,db1,app,10.0.0.5:51234,42,9,QUERY,shop,'SELECT 4',0\n\
         2026-03-01T12:00:03.000,db1,app,10.0.0.5:51234,42,0,DISCONNECT,shop,,0\n",
    )
    .unwrap();
    std::fs::write(
        input.join("server_audit.log.1"),
        "20260301 11:59:59,db1,ops,10.0.0.6,41,0,CONNECT,shop,,0\n",
    )
    .unwrap();
    std::fs::write(
        input.join("server_audit.log.2"),
        "2026-03-01T11:59:58.000,db1,ops,10.0.0.6,40,0,CONNECT,shop,TLSv1.3,0\n",
    )
    .unwrap();
    let scan = |out: &str, extra: &[&str]| scan_ok(&[&input], &dir.path().join(out), extra);
    let input_named = |s: &serde_json::Value, name: &str| {
        s["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["path"].as_str().unwrap().ends_with(name))
            .unwrap()
            .clone()
    };

    // Standard reading: the mixed file is recognised by its standard line only.
    let s = scan("plain", &[]);
    assert_eq!(input_named(&s, "server_audit.log.2")["status"], "skipped");
    assert_eq!(input_named(&s, "server_audit.log")["records"], 1);
    assert_eq!(s["totals"]["records"], 2);

    let s = scan(
        "custom",
        &[
            "--timestamp-format",
            "%Y-%m-%dT%H:%M:%S%.f",
            "--utc-offset",
            "+02:00",
        ],
    );
    assert_eq!(s["totals"]["records"], 6);
    assert_eq!(s["totals"]["rejected"], 1);
    assert_eq!(s["config"]["timestamp_format"], "%Y-%m-%dT%H:%M:%S%.f");
    assert_eq!(s["config"]["utc_offset"], "+02:00");
    assert_eq!(s["totals"]["first_event"], "2026-03-01T09:59:58Z");
    let sample = &s["rejected_samples"][0];
    assert_eq!(sample["line"], 4, "{sample}");
    assert!(sample["file"]
        .as_str()
        .unwrap()
        .ends_with("server_audit.log"));
    let mixed = input_named(&s, "server_audit.log");
    assert_eq!(mixed["records"], 4);
    // Exact to the microsecond, and shifted to UTC.
    assert_eq!(mixed["first_event"], "2026-03-01T10:00:01.250Z");
    assert_eq!(mixed["last_event"], "2026-03-01T10:00:03Z");

    // The same from the config file.
    let config = dir.path().join("forensics.toml");
    std::fs::write(
        &config,
        "timestamp_format = \"%Y-%m-%dT%H:%M:%S%.f\"\nutc_offset = \"+02:00\"\n",
    )
    .unwrap();
    let s = scan("config", &["--config", config.to_str().unwrap()]);
    assert_eq!(s["totals"]["records"], 6);
    assert_eq!(s["totals"]["first_event"], "2026-03-01T09:59:58Z");

    // A pattern that does not name a time to the second is refused up front.
    let o = run_scan(&[
        "scan",
        input.to_str().unwrap(),
        "-o",
        dir.path().join("bad").to_str().unwrap(),
        "--timestamp-format",
        "%Y-%m-%d",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("to the second"));
}

fn synth_cloudwatch_export(dir: &Path) {
    let o = bin()
        .args([
            "synth",
            "-o",
            dir.to_str().unwrap(),
            "--size",
            "2MB",
            "--seed",
            "3",
        ])
        .args(["--cloudwatch-export", "--gzip"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Overlapping CloudWatch exports: a second export task holding the same objects, and a
/// plain file repeating the second half of one object. Every repeated event is recognised
/// and left out, so the scan equals the scan of the first export alone: same records, same
/// findings and evidence; `--keep-duplicates` keeps them. JSON deliveries are recognised by
/// event id; equal lines within one file are all kept.
#[test]
fn events_repeated_by_overlapping_exports_are_kept_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    synth_cloudwatch_export(&a);
    std::fs::remove_file(a.join("ground_truth.json")).unwrap();
    // b: the same export again, under another task id.
    let objects: Vec<PathBuf> = walk(&a)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "gz"))
        .collect();
    assert!(objects.len() >= 2);
    let b = dir.path().join("b/exportedlogs/other-task/prod-mysql-1");
    std::fs::create_dir_all(&b).unwrap();
    let mut repeated = 0u64;
    for o in &objects {
        std::fs::copy(o, b.join(o.file_name().unwrap())).unwrap();
        repeated += bytecount_lines(&gunzip(o));
    }
    // c: the second half of one object, uncompressed (a mapped file).
    let text = gunzip(&objects[1]);
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    let half: Vec<u8> = lines[lines.len() / 2..].concat();
    repeated += (lines.len() - lines.len() / 2) as u64;
    std::fs::create_dir_all(dir.path().join("c")).unwrap();
    std::fs::write(dir.path().join("c/000009"), &half).unwrap();

    let scan = |name: &str, paths: &[&Path], extra: &[&str]| {
        let out = dir.path().join(name);
        let s = scan_ok(paths, &out, extra);
        (s, std::fs::read(out.join("findings.parquet")).unwrap())
    };
    let (alone, alone_findings) = scan("alone", &[&a], &[]);
    let all = [a.as_path(), &dir.path().join("b"), &dir.path().join("c")];
    let (s, findings) = scan("all", &all, &[]);
    let t = &s["totals"];
    let n = |k: &str| t[k].as_u64().unwrap();
    assert_eq!(n("records"), alone["totals"]["records"].as_u64().unwrap());
    assert_eq!(n("duplicates"), repeated);
    assert_eq!(
        n("lines"),
        n("records") + n("ignored") + n("blank") + n("rejected") + n("filtered") + n("duplicates")
    );
    assert_eq!(s["findings_by_kind"], alone["findings_by_kind"]);
    assert_eq!(
        findings, alone_findings,
        "findings and their evidence are the first export's"
    );
    let (kept, _) = scan("kept", &all, &["--keep-duplicates"]);
    assert_eq!(kept["totals"]["duplicates"], 0);
    assert_eq!(
        kept["totals"]["records"].as_u64().unwrap(),
        n("records") + repeated
    );

    // JSON deliveries: event ids decide; a message repeated inside one delivery stays.
    let j = dir.path().join("json");
    std::fs::create_dir_all(&j).unwrap();
    let ev = |id: &str, msg: &str| {
        format!(r#"{{"id":"{id}","timestamp":1772431202000,"message":"{msg}"}}"#)
    };
    let line = |q: &str| format!("20260302 06:00:02,db1,app,10.0.0.5,7,1,QUERY,shop,'{q}',0,,");
    let doc = |events: &[String]| {
        format!(
            r#"{{"messageType":"DATA_MESSAGE","logStream":"db1","logEvents":[{}]}}"#,
            events.join(",")
        )
    };
    std::fs::write(
        j.join("delivery-1"),
        doc(&[
            ev("1", &line("SELECT 1")),
            ev("2", &line("SELECT 2")),
            ev("3", &line("SELECT 2")),
        ]),
    )
    .unwrap();
    std::fs::write(
        j.join("delivery-2"),
        doc(&[ev("2", &line("SELECT 2")), ev("4", &line("SELECT 4"))]),
    )
    .unwrap();
    let (s, _) = scan("json-out", &[&j], &[]);
    assert_eq!(s["totals"]["records"], 4, "{}", s["totals"]);
    assert_eq!(s["totals"]["duplicates"], 1);
    let second = s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with("delivery-2"))
        .unwrap()
        .clone();
    assert_eq!(second["duplicates"], 1);
    assert_eq!(second["records"], 1);
}

fn bytecount_lines(text: &[u8]) -> u64 {
    text.split_inclusive(|&b| b == b'\n').count() as u64
}

/// Issue #16: `20260231 10:00:00` used to roll over into March 3. A line naming a date or time
/// that does not exist is rejected with its line number and a reason naming the field; the
/// lines around it are read; `--since` refuses such a date with the field named.
#[test]
fn impossible_dates_are_rejected_by_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(
        input.join("server_audit.log"),
        "20260228 10:00:00,ip-10-20-1-5,app,10.20.3.4,7,0,CONNECT,orders,,0,SSL\n\
         20260231 10:00:00,ip-10-20-1-5,app,10.20.3.4,7,1,QUERY,orders,'select 1',0,,\n\
         20260301 10:00:01,ip-10-20-1-5,app,10.20.3.4,7,2,QUERY,orders,'select 2',0,,\n\
         20260301 24:00:02,ip-10-20-1-5,app,10.20.3.4,7,3,QUERY,orders,'select 3',0,,\n\
         20240229 10:00:03,ip-10-20-1-5,app,10.20.3.4,7,0,DISCONNECT,orders,,0,SSL\n",
    )
    .unwrap();
    std::fs::write(
        input.join("postgresql.log"),
        "2026-02-28 10:00:00 UTC:10.0.0.1(5000):app@orders:[42]:LOG:  statement: SELECT 1\n\
         2026-02-30 10:00:00 UTC:10.0.0.1(5000):app@orders:[42]:LOG:  statement: SELECT 2\n\
         2026-03-01 10:00:00 UTC:10.0.0.1(5000):app@orders:[42]:LOG:  statement: SELECT 3\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let s = scan_ok(&[&input], &out, &[]);
    let input_of = |name: &str| {
        s["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["path"].as_str().unwrap().ends_with(name))
            .unwrap()
            .clone()
    };
    let mysql = input_of("server_audit.log");
    assert_eq!(
        (&mysql["status"], &mysql["records"], &mysql["rejected"]),
        (&"ok".into(), &3.into(), &2.into()),
        "{mysql}"
    );
    let pg = input_of("postgresql.log");
    assert_eq!(
        (&pg["records"], &pg["rejected"]),
        (&2.into(), &1.into()),
        "{pg}"
    );
    let mut rejected: Vec<(String, u64, String)> = s["rejected_samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let file = r["file"].as_str().unwrap();
            (
                file.rsplit('/').next().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rejected.sort();
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    assert_eq!(
        (rejected[0].0.as_str(), rejected[0].1),
        ("postgresql.log", 2)
    );
    assert_eq!(
        (rejected[1].0.as_str(), rejected[1].1),
        ("server_audit.log", 2)
    );
    assert_eq!(
        (rejected[2].0.as_str(), rejected[2].1),
        ("server_audit.log", 4)
    );
    assert!(rejected[0].2.contains("day"), "{rejected:?}");
    assert!(rejected[1].2.contains("day"), "{rejected:?}");
    assert!(rejected[2].2.contains("hour"), "{rejected:?}");
    // Nothing became March 3 (or March 2, for February 30).
    let days: Vec<String> = walk(&out.join("events"))
        .iter()
        .filter_map(|p| {
            p.to_str()?
                .split('/')
                .find(|c| c.starts_with("dt="))
                .map(str::to_string)
        })
        .collect();
    assert!(!days.is_empty());
    assert!(
        days.iter()
            .all(|d| ["dt=2026-02-28", "dt=2026-03-01", "dt=2024-02-29"].contains(&d.as_str())),
        "{days:?}"
    );

    let o = run_scan(&[
        "scan",
        input.to_str().unwrap(),
        "-o",
        dir.path().join("out2").to_str().unwrap(),
        "--quiet",
        "--since",
        "2026-02-31",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("day 31 does not exist in February 2026"),
        "{stderr}"
    );
}

/// Issue #16: nothing in the input folder is passed over silently. A symlink to a log in the
/// tree, a symlink loop, a dangling symlink, a FIFO, a socket and a non-UTF-8 name each appear
/// in `inputs` with their status and reason; the logs are read, each once; the scan does not
/// hang on the FIFO (it is never opened). Unreadable files: see the next test.
#[cfg(unix)]
#[test]
fn every_path_in_the_input_tree_is_listed_with_its_status() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("sub")).unwrap();
    std::fs::write(input.join("a.log"), rds_lines(20)).unwrap();
    symlink(input.join("a.log"), input.join("b-link.log")).unwrap();
    symlink(input.join("nowhere.log"), input.join("c-dangling.log")).unwrap();
    symlink(input.join("d-loop-2"), input.join("d-loop-1")).unwrap();
    symlink(input.join("d-loop-1"), input.join("d-loop-2")).unwrap();
    symlink("..", input.join("sub/up")).unwrap();
    let fifo = input.join("e-fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let _socket = std::os::unix::net::UnixListener::bind(input.join("f-socket")).unwrap();
    let raw_name = std::ffi::OsStr::from_bytes(b"g-caf\xe9.log");
    std::fs::write(input.join(raw_name), rds_lines(10)).unwrap();
    let out = dir.path().join("out");
    let mut child = bin()
        .args([
            "scan",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > std::time::Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("the scan hangs (on the FIFO?)");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");

    let s = summary(&out);
    let inputs = s["inputs"].as_array().unwrap();
    let get = |name: &str| {
        inputs
            .iter()
            .find(|i| {
                let p = i["path"].as_str().unwrap();
                p.strip_prefix(input.to_str().unwrap()).unwrap_or(p) == format!("/{name}")
            })
            .unwrap_or_else(|| panic!("{name} not in inputs: {inputs:#?}"))
    };
    let status_reason = |name: &str| {
        let i = get(name);
        (
            i["status"].as_str().unwrap().to_string(),
            i["reason"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(get("a.log")["status"], "ok");
    assert_eq!(get("a.log")["records"], 20);
    let (st, why) = status_reason("b-link.log");
    assert_eq!(st, "skipped");
    assert!(
        why.starts_with("same file as ") && why.ends_with("read once, under that name"),
        "{why}"
    );
    let (st, why) = status_reason("c-dangling.log");
    assert_eq!(st, "error");
    assert!(why.starts_with("dangling symlink"), "{why}");
    assert!(get("c-dangling.log")["message"].as_str().is_some());
    for l in ["d-loop-1", "d-loop-2", "sub/up"] {
        let (st, why) = status_reason(l);
        assert_eq!(st, "skipped", "{l}");
        assert!(why.starts_with("symlink loop"), "{l}: {why}");
    }
    let (st, why) = status_reason("e-fifo");
    assert_eq!(
        (st.as_str(), why.contains("FIFO")),
        ("skipped", true),
        "{why}"
    );
    let (st, why) = status_reason("f-socket");
    assert_eq!(
        (st.as_str(), why.contains("socket")),
        ("skipped", true),
        "{why}"
    );
    // The non-UTF-8 name: read, `path` lossy as before, `path_bytes` exact.
    let g = get("g-caf\u{fffd}.log");
    assert_eq!(
        (&g["status"], &g["records"]),
        (&"ok".into(), &10.into()),
        "{g}"
    );
    let mut want = input.as_os_str().as_bytes().to_vec();
    want.extend_from_slice(b"/g-caf\xe9.log");
    assert_eq!(g["path_bytes"].as_str().unwrap(), base64(&want));
    assert!(get("a.log").get("path_bytes").is_none());
    let t = &s["totals"];
    assert_eq!(t["records"], 30, "each log read once");
    assert_eq!(t["files"].as_u64().unwrap(), inputs.len() as u64);
    assert_eq!(t["files_skipped"], 6, "{t}");
    assert_eq!(t["files_error"], 1, "{t}");
}

/// Standard base64, padded (what `summary.json` `path_bytes` holds).
#[cfg(unix)]
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for g in bytes.chunks(3) {
        let b = [g[0], *g.get(1).unwrap_or(&0), *g.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            out.push(if i <= g.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// Unreadable inputs are `error` with the reason and the rest is read: a mode-000 file (found
/// at open) and a mode-000 folder (found while walking). Root reads both anyway, so as root
/// the scan runs as `nobody` (uid 65534); where that is not allowed, the test says so and
/// stops.
#[cfg(unix)]
#[test]
fn unreadable_inputs_are_errors_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, PermissionsExt::from_mode(m)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    mode(dir.path(), 0o777);
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("locked-dir")).unwrap();
    std::fs::write(input.join("a.log"), rds_lines(20)).unwrap();
    std::fs::write(input.join("b-locked.log"), rds_lines(5)).unwrap();
    std::fs::write(input.join("locked-dir/c.log"), rds_lines(5)).unwrap();
    mode(&input.join("a.log"), 0o644);
    mode(&input.join("b-locked.log"), 0o000);
    mode(&input.join("locked-dir"), 0o000);
    let out = dir.path().join("out");
    let mut cmd = bin();
    cmd.args([
        "scan",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    if unsafe { libc::geteuid() } == 0 {
        cmd.uid(65534).gid(65534);
    }
    let o = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("note: cannot run the scan as an unprivileged user ({e}): not tested");
            return;
        }
    };
    mode(&input.join("locked-dir"), 0o755);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let s = summary(&out);
    let inputs = s["inputs"].as_array().unwrap();
    let get = |name: &str| {
        inputs
            .iter()
            .find(|i| i["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} not in inputs: {inputs:#?}"))
    };
    assert_eq!(
        (&get("a.log")["status"], &get("a.log")["records"]),
        (&"ok".into(), &20.into())
    );
    for name in ["b-locked.log", "locked-dir"] {
        let i = get(name);
        assert_eq!(i["status"], "error", "{i}");
        assert!(
            i["message"].as_str().unwrap().contains("ermission denied"),
            "{i}"
        );
    }
    assert_eq!(get("locked-dir")["reason"], "permission denied");
    assert_eq!(s["totals"]["files_error"], 2);
}
