//! Helpers shared by the integration tests (`mod support;` in each): running the binary and
//! reading what it wrote, and checking findings against the `ground_truth.json` of a corpus
//! from `forensics::synth`. `duckdb_check.py` beside this file reads a scan's outputs back
//! with DuckDB.

// Each test crate compiles this module and uses only some of it.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use forensics::finding::Finding;
use forensics::pass::config::parse_net;
use forensics::pass::AnalysisConfig;
use forensics::synth::{self, SynthOptions};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// The binary and its outputs
// ---------------------------------------------------------------------------------------------

/// The `forensics` binary built for these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_forensics"))
}

/// Rows of a DuckDB query (one JSON array per row).
pub fn duckdb(sql: &str) -> Vec<Value> {
    let script = format!(
        "import duckdb, json\nfor r in duckdb.sql({sql:?}).fetchall(): print(json.dumps(list(r), default=str))"
    );
    let o = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "DuckDB failed (is the duckdb Python package installed? .ci/run installs it):\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The control-plane kinds (`pass::control_plane`).
pub const CONTROL_KINDS: [&str; 12] = [
    "master_password_reset",
    "public_exposure",
    "snapshot_shared",
    "snapshot_copied_out",
    "snapshot_export",
    "audit_disabled",
    "tls_weakened",
    "iam_auth_disabled",
    "deletion_protection_off",
    "destroyed",
    "control_plane_recon",
    "takeover_after_password_reset",
];

/// The repository's `testdata/` folder.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// `summary.json` of the output folder `out`.
pub fn summary(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// Runs the binary with `args`, which must end with an exit code (not a signal).
pub fn run(args: &[&str]) -> Output {
    let out = bin().args(args).output().unwrap();
    assert!(
        out.status.code().is_some(),
        "killed by a signal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Asserts that a run exited with `code`, showing its stderr when it did not.
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs `scan PATHS -o OUT --quiet EXTRA...`, which must exit 0; returns its summary.
pub fn scan_ok(paths: &[&Path], out: &Path, extra: &[&str]) -> Value {
    let mut args: Vec<&str> = vec!["scan"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    args.extend(["-o", out.to_str().unwrap(), "--quiet"]);
    args.extend_from_slice(extra);
    assert_exit(&run(&args), 0);
    summary(out)
}

/// Every file below `dir`, recursively.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

/// A small CloudWatch JSON corpus as Firehose delivers it (gzip objects, no extension; RDS
/// for MySQL, 1 MiB, seed 11) made under `dir`: its `firehose` folder.
pub fn synth_firehose(dir: &Path) -> PathBuf {
    let out = dir.join("corpus");
    let opts = SynthOptions {
        size_bytes: 1 << 20,
        seed: 11,
        flavor: forensics::synth::Flavor::RdsMysql,
        cloudwatch_json: true,
        ..SynthOptions::new(out.clone())
    };
    forensics::synth::generate(&opts).unwrap();
    out.join("firehose")
}

/// `bytes` gzip-compressed (fast level).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// The decompressed contents of a gzip file (all members).
pub fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap()),
        &mut out,
    )
    .unwrap();
    out
}

/// Asserts that every line of the run is accounted for, and none was rejected.
pub fn assert_lines_accounted(summary: &Value) {
    let t = &summary["totals"];
    let n = |k: &str| t[k].as_u64().unwrap();
    assert_eq!(
        n("lines"),
        n("records") + n("ignored") + n("blank") + n("rejected"),
        "{t}"
    );
    assert_eq!(n("rejected"), 0, "{}", summary["rejected_samples"]);
}

// ---------------------------------------------------------------------------------------------
// Synthetic corpora and their ground truth
// ---------------------------------------------------------------------------------------------

/// Kinds that must not fire on background traffic at all.
pub const NO_FALSE_POSITIVES: [&str; 19] = [
    // The control plane's (CloudTrail) kinds: only what a trail plants.
    "master_password_reset",
    "public_exposure",
    "snapshot_shared",
    "snapshot_copied_out",
    "snapshot_export",
    "iam_auth_disabled",
    "deletion_protection_off",
    "destroyed",
    "control_plane_recon",
    "takeover_after_password_reset",
    "threat_list_login",
    "threat_list_attempt",
    "distributed_brute_force",
    "unknown_source_ip",
    "non_ssl_session",
    "brute_force",
    "brute_force_success",
    "password_spray",
    "rate_spike",
];

/// Writes a corpus under `opts.out` and returns its ground truth, removed from the folder so
/// that a scan of it reads only logs.
pub fn synth_corpus(opts: SynthOptions) -> Value {
    let out = opts.out.clone();
    synth::generate(&opts).unwrap();
    let gt: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ground_truth.json")).unwrap())
            .unwrap();
    std::fs::remove_file(out.join("ground_truth.json")).unwrap();
    // So is the threat list written beside it.
    let list = gt["baseline"]["threat_list"].as_str().unwrap();
    std::fs::remove_file(out.join(list)).unwrap();
    gt
}

/// [`synth_corpus`], keeping the corpus's threat list at `list` (outside the corpus).
pub fn synth_corpus_with_list(opts: SynthOptions, list: &Path) -> Value {
    let out = opts.out.clone();
    synth::generate(&opts).unwrap();
    let gt: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ground_truth.json")).unwrap())
            .unwrap();
    std::fs::remove_file(out.join("ground_truth.json")).unwrap();
    let name = gt["baseline"]["threat_list"].as_str().unwrap();
    std::fs::rename(out.join(name), list).unwrap();
    gt
}

/// The analysis settings a corpus was made for: its expected networks, master users and admin
/// hosts, none of them defaults.
pub fn config_from(gt: &Value) -> AnalysisConfig {
    let list = |k: &str| -> Vec<String> {
        gt["config"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let nets = |k: &str| -> Vec<_> { list(k).iter().map(|s| parse_net(s).unwrap()).collect() };
    AnalysisConfig {
        allow: nets("allow"),
        allow_is_default: false,
        master_users: list("master_users"),
        master_users_are_default: false,
        admin_hosts: nets("admin_hosts"),
        ..AnalysisConfig::default()
    }
}

/// What a library scan returned and wrote.
pub struct Scanned {
    pub findings: Vec<Finding>,
    pub summary: Value,
}

/// Scans `paths` into `out` through the library, as `forensics scan --force` does, in chunks
/// of `chunk` bytes; `events` writes the events too.
pub fn scan_lib(
    paths: Vec<PathBuf>,
    out: PathBuf,
    config: AnalysisConfig,
    threads: usize,
    chunk: usize,
    events: bool,
) -> Scanned {
    let opts = forensics::ScanOptions {
        paths,
        out: out.clone(),
        since_us: None,
        until_us: None,
        threads,
        force: true,
        no_events: !events,
        format: Default::default(),
        clock: Default::default(),
        analysis: config,
        progress: false,
        chunk_bytes: Some(chunk),
        run_passes: true,
        keep_duplicates: false,
        max_record_bytes: forensics::format::DEFAULT_MAX_RECORD_BYTES,
        no_report: false,
        no_sessions: false,
        privileges: false,
        grants: None,
        settings_used: Vec::new(),
        shard: None,
    };
    let findings = forensics::scan(&opts).expect("scan runs").findings;
    Scanned {
        findings,
        summary: summary(&out),
    }
}

/// Whether finding `f` is the expected finding `e` of a ground truth: the same kind, and the
/// same user, source, database and statement where `e` names them.
pub fn is_expected(e: &Value, f: &Finding) -> bool {
    f.kind == e["kind"].as_str().unwrap()
        && e["user"]
            .as_str()
            .is_none_or(|u| f.user.as_deref() == Some(u))
        && e["client_ip"]
            .as_str()
            .is_none_or(|ip| f.client_ip.as_deref() == Some(ip))
        && e["database"]
            .as_str()
            .is_none_or(|d| f.database.as_deref() == Some(d))
        && e["statement"].as_str().is_none_or(|s| f.detail.contains(s))
        && e["resource"]
            .as_str()
            .is_none_or(|r| f.resource.as_deref() == Some(r))
}

/// Asserts that the findings agree with the ground truth ([`compare`]); `what` names the
/// corpus in the message.
pub fn assert_agrees(gt: &Value, findings: &[Finding], what: &str) {
    let problems = compare(gt, findings);
    assert!(problems.is_empty(), "{what}: {}", problems.join("\n"));
}

/// Problems with the findings against the ground truth (empty when they agree): an expected
/// finding missing or with another severity or count (but a rate spike's), or a login-based
/// finding that nothing planted.
pub fn compare(gt: &Value, findings: &[Finding]) -> Vec<String> {
    compare_with(gt, findings, &[])
}

/// [`compare`], held also to the expectations that need the settings named in `enabled`
/// (`learn`, `threat_list`, `geoip`: the `needs` of an expected finding); the others are
/// skipped.
pub fn compare_with(gt: &Value, findings: &[Finding], enabled: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut matched = vec![false; findings.len()];
    for e in gt["expected_findings"].as_array().unwrap() {
        if let Some(needs) = e["needs"].as_str() {
            if !needs.split(',').all(|n| enabled.contains(&n)) {
                continue;
            }
        }
        let kind = e["kind"].as_str().unwrap();
        match (0..findings.len()).find(|&i| !matched[i] && is_expected(e, &findings[i])) {
            Some(i) => {
                matched[i] = true;
                let sev = findings[i].severity.as_str();
                if sev != e["severity"].as_str().unwrap() {
                    problems.push(format!("{kind} {e}: severity {sev}"));
                }
                if let Some(n) = e["count"].as_i64() {
                    if kind != "rate_spike" && findings[i].count != n {
                        problems.push(format!("{kind} {e}: count {}", findings[i].count));
                    }
                }
            }
            None => problems.push(format!("missing {kind}: {e}")),
        }
    }
    for (f, m) in findings.iter().zip(&matched) {
        if !m && NO_FALSE_POSITIVES.contains(&f.kind.as_str()) {
            problems.push(format!(
                "false positive {} {:?} {:?}: {}",
                f.kind, f.user, f.client_ip, f.detail
            ));
        }
    }
    problems
}

/// The gate of the real-server tests: the path of `scripts/real-servers.sh` when its `check`
/// passes; otherwise `None`, after printing `SKIPPED {test}: {why}{hint}` (or, with
/// `FORENSICS_REAL_SERVERS=require`, a panic). `FORENSICS_REAL_SERVERS=skip` skips.
pub fn real_servers_script(test: &str, hint: &str) -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/real-servers.sh");
    if std::env::var("FORENSICS_REAL_SERVERS").as_deref() == Ok("skip") {
        eprintln!("SKIPPED {test}: FORENSICS_REAL_SERVERS=skip");
        return None;
    }
    let probe = Command::new("bash")
        .arg(&script)
        .arg("check")
        .output()
        .unwrap();
    if !probe.status.success() {
        let why = String::from_utf8_lossy(&probe.stdout).trim().to_string();
        if std::env::var("FORENSICS_REAL_SERVERS").as_deref() == Ok("require") {
            panic!("real servers required but unavailable: {why}");
        }
        eprintln!("SKIPPED {test}: {why}{hint}");
        return None;
    }
    Some(script)
}
