//! PostgreSQL logs and CloudWatch JSON deliveries end to end: synthetic corpora with planted
//! incidents (`forensics::synth`) scanned by the library as `forensics scan` runs it. Every
//! incident of `ground_truth.json` is found with the right kind, user and source, the
//! login-based detections stay silent on background traffic, chunk edges and thread counts
//! change nothing, and one folder mixing MySQL audit files, PostgreSQL logs and JSON deliveries
//! scans in one run with each file's format named.

mod support;

use std::path::{Path, PathBuf};

use forensics::finding::Finding;
use forensics::synth::{Compression, Flavor, SynthOptions};
use serde_json::Value;
use support::{
    assert_agrees, assert_lines_accounted, config_from, is_expected, scan_lib as scan, synth_corpus,
};

fn options(out: PathBuf, flavor: Flavor, size: u64) -> SynthOptions {
    SynthOptions {
        size_bytes: size,
        seed: 7,
        flavor,
        ..SynthOptions::new(out)
    }
}

#[test]
fn postgres_corpus_incidents_are_all_found_whatever_the_chunking() {
    let dir = tempfile::tempdir().unwrap();
    let gt = synth_corpus(options(
        dir.path().join("corpus"),
        Flavor::Postgres,
        3 << 20,
    ));
    let config = config_from(&gt);
    let corpus = vec![dir.path().join("corpus")];
    let whole = scan(
        corpus.clone(),
        dir.path().join("o1"),
        config.clone(),
        1,
        48 << 20,
        false,
    );
    assert_agrees(&gt, &whole.findings, "postgres");
    assert_lines_accounted(&whole.summary);
    assert_eq!(whole.summary["inputs"][0]["format"], "postgres");
    // Hourly files of ~30 KB cut into 2 KB chunks: many chunk edges fall inside multi-line
    // records, and must have been moved to the next record start.
    let small = scan(corpus, dir.path().join("o2"), config, 2, 2 << 10, false);
    assert_eq!(small.findings, whole.findings);
    let strip = |mut s: Value| {
        s["throughput"] = Value::Null;
        s["outputs"] = Value::Null;
        s["config"]["threads"] = Value::Null;
        s
    };
    assert_eq!(
        strip(small.summary)["totals"],
        strip(whole.summary)["totals"]
    );
}

#[test]
fn gzip_postgres_logs_stream_to_the_same_findings() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(dir.path().join("corpus"), Flavor::Postgres, 2 << 20);
    o.compression = Compression::Gzip;
    let gt = synth_corpus(o);
    let config = config_from(&gt);
    // Small blocks: the stream is cut at `last_record_end` many times per file.
    let s = scan(
        vec![dir.path().join("corpus")],
        dir.path().join("o"),
        config,
        2,
        4 << 10,
        false,
    );
    assert_agrees(&gt, &s.findings, "postgres");
    assert_lines_accounted(&s.summary);
}

#[test]
fn cloudwatch_json_deliveries_of_postgres_and_mysql_logs_yield_every_incident() {
    for flavor in [Flavor::Postgres, Flavor::RdsMysql] {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path().join("corpus"), flavor, 3 << 20);
        o.cloudwatch_json = true;
        let gt = synth_corpus(o);
        let config = config_from(&gt);
        let s = scan(
            vec![dir.path().join("corpus")],
            dir.path().join("o"),
            config,
            2,
            64 << 10,
            false,
        );
        assert_agrees(&gt, &s.findings, &format!("{flavor:?}"));
        assert_lines_accounted(&s.summary);
        for i in s.summary["inputs"].as_array().unwrap() {
            assert_eq!(i["format"], "cloudwatch_json", "{i}");
            assert_eq!(i["compression"], "gzip", "{i}");
        }
        // One CONTROL_MESSAGE event, counted as ignored.
        assert!(s.summary["totals"]["ignored"].as_u64().unwrap() >= 1);
    }
}

/// `(source_file, source_format)` of every event written.
fn event_formats(out: &Path) -> Vec<(String, String)> {
    use arrow::array::{Array, AsArray};
    let mut v = Vec::new();
    let mut dirs = vec![out.join("events")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let file = std::fs::File::open(&p).unwrap();
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .unwrap()
                    .build()
                    .unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                let files = batch
                    .column_by_name("source_file")
                    .unwrap()
                    .as_string::<i32>()
                    .clone();
                let formats = batch
                    .column_by_name("source_format")
                    .unwrap()
                    .as_string::<i32>()
                    .clone();
                for i in 0..batch.num_rows() {
                    if !files.is_null(i) {
                        v.push((files.value(i).to_string(), formats.value(i).to_string()));
                    }
                }
            }
        }
    }
    v.sort();
    v.dedup();
    v
}

#[test]
fn one_folder_of_mysql_postgres_and_json_deliveries_scans_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("evidence");
    // Three instances, a month apart, so that their incidents stay distinct.
    let month = |m: u32| chrono::NaiveDate::from_ymd_opt(2026, m, 1).unwrap();
    let mut mysql = options(folder.join("mysql"), Flavor::RdsMysql, 2 << 20);
    mysql.start = month(3);
    let mut pg = options(folder.join("postgres"), Flavor::Postgres, 2 << 20);
    pg.start = month(4);
    let mut json = options(folder.join("firehose"), Flavor::Postgres, 2 << 20);
    json.start = month(5);
    json.cloudwatch_json = true;
    let gts: Vec<Value> = [mysql, pg, json].into_iter().map(synth_corpus).collect();
    let config = config_from(&gts[0]);
    let out = dir.path().join("out");
    let s = scan(
        vec![folder.clone()],
        out.clone(),
        config,
        2,
        256 << 10,
        true,
    );
    assert_lines_accounted(&s.summary);

    let inputs = s.summary["inputs"].as_array().unwrap();
    let format_of = |part: &str| -> Vec<String> {
        let mut f: Vec<String> = inputs
            .iter()
            .filter(|i| i["path"].as_str().unwrap().contains(part))
            .map(|i| i["format"].as_str().unwrap().to_string())
            .collect();
        f.dedup();
        f
    };
    assert_eq!(format_of("/mysql/"), ["mysql_audit"]);
    assert_eq!(format_of("/postgres/"), ["postgres"]);
    assert_eq!(format_of("/firehose/"), ["cloudwatch_json"]);
    assert!(inputs.iter().all(|i| i["status"] == "ok"), "{inputs:?}");

    // Events name the log they came from, whatever wrapped it.
    for (file, format) in event_formats(&out) {
        let want = if file.contains("/mysql/") {
            "rds_mysql_audit"
        } else {
            "postgres"
        };
        assert_eq!(format, want, "{file}");
    }

    // Each corpus's incidents are found (findings of the same user and source merge across
    // corpora, so only presence is checked here), and evidence points into the right files.
    for (gt, part) in gts.iter().zip(["/mysql/", "/postgres/", "/firehose/"]) {
        // (Not those that need settings this scan is not given: `needs`.)
        for e in gt["expected_findings"].as_array().unwrap() {
            if e.get("needs").is_some() {
                continue;
            }
            let hit = s.findings.iter().any(|f| is_expected(e, f));
            assert!(hit, "{part}: missing {e}");
        }
    }
    let bursts: Vec<&str> = s
        .findings
        .iter()
        .filter(|f| f.kind == "brute_force")
        .map(|f| f.evidence.as_str())
        .collect();
    // A fast and a low-and-slow brute force per corpus.
    assert_eq!(bursts.len(), 6, "{bursts:?}");
    for part in ["/mysql/", "/postgres/", "/firehose/"] {
        assert!(
            bursts.iter().filter(|e| e.contains(part)).count() == 2,
            "{part}: {bursts:?}"
        );
    }
}

/// The same log in PostgreSQL's csvlog layout: each entry (its prefixed line and the lines
/// continuing it) becomes one CSV row of the 26 PostgreSQL 15 columns, and the DETAIL-like
/// lines attached to it go into its `detail` column, as the server writes them.
fn to_csvlog(stderr: &str) -> String {
    struct Row {
        time: String,
        from: String,
        user: String,
        db: String,
        pid: String,
        severity: String,
        message: String,
        detail: String,
    }
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut rows: Vec<Row> = Vec::new();
    let mut in_detail = false;
    for line in stderr.lines() {
        let prefixed = line.len() > 24 && &line[19..24] == " UTC:";
        if !prefixed {
            let row = rows
                .last_mut()
                .expect("a continuation line follows an entry");
            let field = if in_detail {
                &mut row.detail
            } else {
                &mut row.message
            };
            field.push('\n');
            field.push_str(line);
            continue;
        }
        let (time, rest) = (&line[..19], &line[24..]);
        let (host, port, rest) = if let Some(r) = rest.strip_prefix("[local]:") {
            ("[local]", None, r)
        } else if let Some(r) = rest.strip_prefix(':') {
            ("", None, r)
        } else {
            let open = rest.find('(').unwrap();
            let close = open + rest[open..].find("):").unwrap();
            (
                &rest[..open],
                Some(&rest[open + 1..close]),
                &rest[close + 2..],
            )
        };
        let ud_end = rest.find(":[").unwrap();
        let (user, db) = rest[..ud_end].rsplit_once('@').unwrap();
        let rest = &rest[ud_end + 2..];
        let pid_end = rest.find("]:").unwrap();
        let (pid, rest) = (&rest[..pid_end], &rest[pid_end + 2..]);
        let sev_end = rest.find(':').unwrap();
        let (severity, message) = (&rest[..sev_end], rest[sev_end + 1..].trim_start());
        if [
            "DETAIL",
            "HINT",
            "STATEMENT",
            "CONTEXT",
            "QUERY",
            "LOCATION",
        ]
        .contains(&severity)
        {
            let row = rows.last_mut().unwrap();
            row.detail.push_str(message);
            in_detail = true;
            continue;
        }
        in_detail = false;
        rows.push(Row {
            time: time.to_string(),
            from: match port {
                Some(p) => format!("{host}:{p}"),
                None => host.to_string(),
            },
            user: user.to_string(),
            db: db.to_string(),
            pid: pid.to_string(),
            severity: severity.to_string(),
            message: message.to_string(),
            detail: String::new(),
        });
    }
    let mut out = String::new();
    for (n, r) in rows.iter().enumerate() {
        let opt = |s: &str| if s.is_empty() { String::new() } else { q(s) };
        out += &format!(
            "{} UTC,{},{},{},{},65e1a2b3.{:x},{},\"\",{} UTC,,0,{},00000,{},{},,,,,,,,,\"\",\"client backend\",,0\n",
            r.time,
            opt(&r.user),
            opt(&r.db),
            r.pid,
            opt(&r.from),
            n,
            n + 1,
            r.time,
            r.severity,
            q(&r.message),
            opt(&r.detail),
        );
    }
    out
}

#[test]
fn csvlog_files_yield_the_events_and_findings_of_the_same_stderr_log() {
    let dir = tempfile::tempdir().unwrap();
    let gt = synth_corpus(options(
        dir.path().join("corpus"),
        Flavor::Postgres,
        2 << 20,
    ));
    let config = config_from(&gt);
    let csv_dir = dir.path().join("csv");
    let gz_dir = dir.path().join("csv-gz");
    let mut multi_line_rows = 0;
    for f in std::fs::read_dir(dir.path().join("corpus").join("error")).unwrap() {
        let f = f.unwrap().path();
        let csv = to_csvlog(&std::fs::read_to_string(&f).unwrap());
        multi_line_rows += csv.matches("\n\t").count();
        let name = format!("{}.csv", f.file_name().unwrap().to_string_lossy());
        std::fs::create_dir_all(&csv_dir).unwrap();
        std::fs::create_dir_all(&gz_dir).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, csv.as_bytes()).unwrap();
        std::fs::write(gz_dir.join(format!("{name}.gz")), gz.finish().unwrap()).unwrap();
        std::fs::write(csv_dir.join(name), csv).unwrap();
    }
    assert!(multi_line_rows > 10, "the corpus has multi-line statements");
    let stderr = scan(
        vec![dir.path().join("corpus")],
        dir.path().join("o1"),
        config.clone(),
        2,
        48 << 20,
        true,
    );
    assert_agrees(&gt, &stderr.findings, "postgres");
    // Mapped whole, mapped in 3 KiB chunks, and gzip streams in 3 KiB blocks.
    for (input, chunk) in [
        (&csv_dir, 48 << 20),
        (&csv_dir, 3 << 10),
        (&gz_dir, 3 << 10),
    ] {
        let csv = scan(
            vec![input.clone()],
            dir.path()
                .join(format!("o-{chunk}-{}", input.display().to_string().len())),
            config.clone(),
            2,
            chunk,
            true,
        );
        assert_eq!(csv.summary["inputs"][0]["format"], "postgres_csvlog");
        assert_lines_accounted(&csv.summary);
        let t = &csv.summary["totals"];
        assert_eq!(
            t["records"], stderr.summary["totals"]["records"],
            "chunk {chunk}"
        );
        assert_eq!(t["operations"], stderr.summary["totals"]["operations"]);
        // The same findings; only the evidence differs (another file, other line numbers).
        let strip = |fs: &[Finding]| -> Vec<Finding> {
            fs.iter()
                .cloned()
                .map(|mut f| {
                    f.evidence.clear();
                    // The id digests the evidence too; the samples are places in the file.
                    f.id.clear();
                    f.samples.clear();
                    f
                })
                .collect()
        };
        assert_eq!(
            strip(&csv.findings),
            strip(&stderr.findings),
            "chunk {chunk}"
        );
    }
}
