//! `--since`/`--until` read only what the window needs (issue 23): a windowed scan gives the
//! same events, findings and summary as the parse-everything-then-filter scan
//! (`FORENSICS_TEST_NO_SKIP=1`), on every flavour of the synth corpora, mapped and compressed,
//! with 1 and 2 threads, apart from the new `bytes_parsed`/`bytes_hashed_only` counts and the
//! lines of skipped parts counted as `filtered` rather than by kind. A crafted file whose order
//! breaks next to the cut is parsed whole and loses no event.

mod support;

use std::path::{Path, PathBuf};

use forensics::synth::{Compression, Flavor, SynthOptions};
use serde_json::Value;
use support::{assert_exit, bin, summary, synth_corpus, walk};

/// Windows over a 4-day corpus from 2026-03-01: the last day, the first day and a half, a
/// middle stretch cut inside files, and a window after every event.
const WINDOWS: [(Option<&str>, Option<&str>); 4] = [
    (Some("2026-03-04"), None),
    (None, Some("2026-03-02T12:00:00Z")),
    (Some("2026-03-02T05:17:00Z"), Some("2026-03-03T07:45:30Z")),
    (Some("2026-03-20"), None),
];

/// Chunks and stream blocks of about 300 kB, so that the window's edges fall inside chunks
/// and blocks of a few-MB corpus (and blocks are larger than the search's small-buffer limit).
const CHUNK: &str = "300000";

struct Run {
    summary: Value,
    out: PathBuf,
}

fn scan(
    corpus: &Path,
    out: &Path,
    window: (Option<&str>, Option<&str>),
    threads: &str,
    skip: bool,
) -> Run {
    let mut cmd = bin();
    cmd.arg("scan").arg(corpus).arg("-o").arg(out).args([
        "--quiet",
        "--threads",
        threads,
        "--chunk-bytes",
        CHUNK,
    ]);
    if let Some(s) = window.0 {
        cmd.args(["--since", s]);
    }
    if let Some(u) = window.1 {
        cmd.args(["--until", u]);
    }
    if !skip {
        cmd.env("FORENSICS_TEST_NO_SKIP", "1");
    }
    let o = cmd.output().unwrap();
    assert_exit(&o, 0);
    Run {
        summary: summary(out),
        out: out.to_path_buf(),
    }
}

/// The summary without what may differ between the two ways of reading: the new byte counts,
/// the run's own figures, and the split of the lines outside the window (a skipped line is
/// `filtered` whatever it is; parsed, it may be an ignored or blank line).
fn normalized(s: &Value) -> Value {
    let mut s = s.clone();
    let o = s.as_object_mut().unwrap();
    o.remove("throughput");
    o["outputs"].as_object_mut().unwrap().remove("dir");
    for i in o["inputs"].as_array_mut().unwrap() {
        let i = i.as_object_mut().unwrap();
        i.remove("bytes_parsed");
        i.remove("bytes_hashed_only");
    }
    let t = o["totals"].as_object_mut().unwrap();
    t.remove("bytes_parsed");
    t.remove("bytes_hashed_only");
    let outside: u64 = ["ignored", "blank", "filtered"]
        .iter()
        .map(|k| t.remove(*k).unwrap().as_u64().unwrap())
        .sum();
    t.insert("ignored+blank+filtered".into(), outside.into());
    s
}

/// Every file of the events folder and `findings.parquet`, relative path and bytes.
fn outputs(run: &Run) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = walk(&run.out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .map(|p| {
            (
                p.strip_prefix(&run.out).unwrap().to_path_buf(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// Scans `corpus` under every window, skipping (1 and 2 threads) and not; asserts they agree.
/// Returns, per window, the skipping run's totals.
fn check_corpus(corpus: &Path, what: &str) -> Vec<Value> {
    let tmp = tempfile::tempdir().unwrap();
    let full = scan(corpus, &tmp.path().join("full"), (None, None), "2", true);
    let first = full.summary["totals"]["first_event"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        first.starts_with("2026-03-01"),
        "{what}: corpus starts {first}"
    );
    let mut totals = Vec::new();
    for (w, window) in WINDOWS.iter().enumerate() {
        let base = scan(
            corpus,
            &tmp.path().join(format!("w{w}-base")),
            *window,
            "1",
            false,
        );
        let bt = &base.summary["totals"];
        assert_eq!(n(bt, "bytes_hashed_only"), 0, "{what} {window:?}: {bt}");
        for threads in ["1", "2"] {
            let run = scan(
                corpus,
                &tmp.path().join(format!("w{w}-{threads}")),
                *window,
                threads,
                true,
            );
            let t = &run.summary["totals"];
            let ctx = format!("{what} {window:?} threads {threads}");
            assert_eq!(normalized(&run.summary), normalized(&base.summary), "{ctx}");
            assert!(
                outputs(&run) == outputs(&base),
                "{ctx}: events or findings differ"
            );
            // Every line still accounted for, and every byte read either parsed or only hashed.
            assert_eq!(
                n(t, "lines"),
                n(t, "records")
                    + n(t, "ignored")
                    + n(t, "blank")
                    + n(t, "rejected")
                    + n(t, "filtered")
                    + n(t, "duplicates"),
                "{ctx}: {t}"
            );
            assert_eq!(n(t, "lines"), n(&full.summary["totals"], "lines"), "{ctx}");
            assert_eq!(
                n(t, "bytes_parsed") + n(t, "bytes_hashed_only"),
                n(bt, "bytes_parsed"),
                "{ctx}"
            );
            for i in run.summary["inputs"].as_array().unwrap() {
                if i["compression"].is_null() && i["status"] == "ok" {
                    assert_eq!(
                        n(i, "bytes_parsed") + n(i, "bytes_hashed_only"),
                        n(i, "bytes"),
                        "{ctx}: {i}"
                    );
                }
            }
            // The SHA-256 of every input is still given, and the same.
            let sums = |s: &Value| -> Vec<Value> {
                s["inputs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["sha256"].clone())
                    .collect()
            };
            assert_eq!(sums(&run.summary), sums(&full.summary), "{ctx}");
            if threads == "1" {
                totals.push(t.clone());
            }
        }
    }
    totals
}

fn corpus(
    dir: &Path,
    flavor: Flavor,
    compression: Compression,
    export: bool,
    json: bool,
) -> PathBuf {
    let out = dir.join("corpus");
    synth_corpus(SynthOptions {
        size_bytes: 3 << 20,
        seed: 5,
        days: 4,
        flavor,
        compression,
        cloudwatch_export: export,
        cloudwatch_json: json,
        ..SynthOptions::new(&out)
    });
    out
}

/// A sorted flavour: most of the bytes are skipped for the last day.
fn check_sorted(flavor: Flavor, compression: Compression) {
    let dir = tempfile::tempdir().unwrap();
    let c = corpus(dir.path(), flavor, compression, false, false);
    let totals = check_corpus(&c, &format!("{flavor:?} {compression:?}"));
    let last_day = &totals[0];
    let (parsed, hashed) = (
        n(last_day, "bytes_parsed"),
        n(last_day, "bytes_hashed_only"),
    );
    assert!(
        hashed > 2 * parsed,
        "{flavor:?} {compression:?}: the last day parsed {parsed} bytes, skipped {hashed}"
    );
    // After every event: nothing is parsed but the probes.
    assert_eq!(n(&totals[3], "bytes_parsed"), 0, "{}", totals[3]);
}

#[test]
fn rds_mysql_windows_agree_with_the_full_parse() {
    check_sorted(Flavor::RdsMysql, Compression::None);
}

#[test]
fn mariadb_windows_agree_with_the_full_parse() {
    check_sorted(Flavor::Mariadb, Compression::None);
}

#[test]
fn postgres_windows_agree_with_the_full_parse() {
    check_sorted(Flavor::Postgres, Compression::None);
}

#[test]
fn gzip_and_zstd_streams_agree_with_the_full_parse() {
    check_sorted(Flavor::Mariadb, Compression::Gzip);
    check_sorted(Flavor::Postgres, Compression::Zstd);
}

#[test]
fn aurora_and_cloudwatch_windows_agree_with_the_full_parse() {
    for (flavor, export, json) in [
        (Flavor::Aurora, false, false),
        (Flavor::RdsMysql, true, false),
        (Flavor::Postgres, true, false),
        (Flavor::Mariadb, false, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let c = corpus(dir.path(), flavor, Compression::None, export, json);
        check_corpus(&c, &format!("{flavor:?} export {export} json {json}"));
    }
}

/// A MariaDB log of `n` records one second apart from 2026-03-01T00:00:00Z, the record `moved`
/// (if any) stamped `moved_to` seconds instead.
fn crafted(n: usize, moved: Option<(usize, i64)>) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut secs = i as i64;
        if let Some((at, to)) = moved {
            if at == i {
                secs = to;
            }
        }
        let (d, h, m, s) = (
            1 + secs / 86_400,
            secs / 3600 % 24,
            secs / 60 % 60,
            secs % 60,
        );
        out.extend_from_slice(
            format!("202603{d:02} {h:02}:{m:02}:{s:02},db1,app,10.20.1.5,{i},{i},QUERY,shop,'SELECT {i} FROM orders',0\n")
                .as_bytes(),
        );
    }
    out
}

#[test]
fn a_file_unordered_next_to_the_cut_is_parsed_whole_and_loses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let since = "2026-03-01T10:00:00Z"; // second 36,000 of 50,000
    let run = |name: &str, skip: bool| {
        scan(
            &logs,
            &dir.path().join(name),
            (Some(since), None),
            "2",
            skip,
        )
        .summary
    };

    // In order: the part before the window is skipped, and the window is exact.
    std::fs::write(logs.join("server_audit.log"), crafted(50_000, None)).unwrap();
    let sorted = run("sorted", true);
    let t = &sorted["totals"];
    assert_eq!(n(t, "records"), 14_000, "{t}");
    assert_eq!(n(t, "filtered"), 36_000, "{t}");
    assert!(n(t, "bytes_hashed_only") > 2 * n(t, "bytes_parsed"), "{t}");

    // Record 35,400 (inside the skipped part: the cut is at a record older than the window's
    // start minus the 5-minute disorder bound, about record 35,700) belongs to the window:
    // the check at the cut sees it and the whole file is parsed.
    std::fs::write(
        logs.join("server_audit.log"),
        crafted(50_000, Some((35_400, 40_000))),
    )
    .unwrap();
    let moved = run("moved", true);
    let t = &moved["totals"];
    assert_eq!(n(t, "records"), 14_001, "{t}");
    assert_eq!(n(t, "filtered"), 35_999, "{t}");
    assert_eq!(n(t, "bytes_hashed_only"), 0, "{t}");
    assert_eq!(n(t, "bytes_parsed"), n(t, "bytes"), "{t}");
    let base = run("moved-base", false);
    assert_eq!(normalized(&moved), normalized(&base));
}
