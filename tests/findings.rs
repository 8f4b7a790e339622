//! The passes against synthetic corpora with planted incidents: every incident in
//! `ground_truth.json` is found with the right kind, user and source, and the login-based
//! detections raise nothing on background traffic.

use std::path::Path;

use forensics::finding::Finding;
use forensics::pass::config::parse_net;
use forensics::pass::AnalysisConfig;
use forensics::synth::{self, Compression, Flavor, SynthOptions};
use serde_json::Value;

/// Kinds that must not fire on background traffic at all.
const NO_FALSE_POSITIVES: [&str; 6] = [
    "unknown_source_ip",
    "non_ssl_session",
    "brute_force",
    "brute_force_success",
    "password_spray",
    "rate_spike",
];

fn config_from(gt: &Value) -> AnalysisConfig {
    let mut c = AnalysisConfig::default();
    let list = |k: &str| -> Vec<String> {
        gt["config"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    c.allow = list("allow")
        .iter()
        .map(|s| parse_net(s).unwrap())
        .collect();
    c.allow_is_default = false;
    c.master_users = list("master_users");
    c.master_users_are_default = false;
    c.admin_hosts = list("admin_hosts")
        .iter()
        .map(|s| parse_net(s).unwrap())
        .collect();
    c
}

fn scan(dir: &Path, config: AnalysisConfig, threads: usize) -> Vec<Finding> {
    let out = dir.join(format!("out-{threads}"));
    let opts = forensics::ScanOptions {
        paths: vec![dir.join("corpus")],
        out,
        since_us: None,
        until_us: None,
        threads,
        force: true,
        no_events: true,
        format: Default::default(),
        clock: Default::default(),
        analysis: config,
        progress: false,
        chunk_bytes: Some(256 << 10),
        run_passes: true,
        keep_duplicates: false,
        max_record_bytes: forensics::format::DEFAULT_MAX_RECORD_BYTES,
    };
    forensics::scan(&opts).expect("scan runs").findings
}

/// Checks findings against the ground truth; returns a list of problems.
fn compare(gt: &Value, findings: &[Finding]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut matched = vec![false; findings.len()];
    for e in gt["expected_findings"].as_array().unwrap() {
        let kind = e["kind"].as_str().unwrap();
        let field = |f: &Finding, k: &str| -> bool {
            match e[k].as_str() {
                None => true,
                Some(want) => match k {
                    "user" => f.user.as_deref() == Some(want),
                    "client_ip" => f.client_ip.as_deref() == Some(want),
                    "database" => f.database.as_deref() == Some(want),
                    _ => unreachable!(),
                },
            }
        };
        let hit = findings.iter().enumerate().position(|(i, f)| {
            !matched[i]
                && f.kind == kind
                && field(f, "user")
                && field(f, "client_ip")
                && field(f, "database")
                && e["statement"].as_str().is_none_or(|s| f.detail.contains(s))
        });
        match hit {
            Some(i) => {
                matched[i] = true;
                let sev = findings[i].severity.as_str();
                if sev != e["severity"].as_str().unwrap() {
                    problems.push(format!("{kind} {e}: severity {sev}"));
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

fn check_flavor(flavor: Flavor, compression: Compression, cloudwatch_export: bool, size: u64) {
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions {
        out: dir.path().join("corpus"),
        size_bytes: size,
        seed: 11,
        flavor,
        compression,
        cloudwatch_export,
        ..SynthOptions::new(dir.path().join("corpus"))
    };
    synth::generate(&opts).unwrap();
    let gt: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("corpus/ground_truth.json")).unwrap(),
    )
    .unwrap();
    // The ground truth is not a log: move it out of the scanned folder.
    std::fs::rename(
        dir.path().join("corpus/ground_truth.json"),
        dir.path().join("ground_truth.json"),
    )
    .unwrap();
    let config = config_from(&gt);
    let one = scan(dir.path(), config.clone(), 1);
    let problems = compare(&gt, &one);
    assert!(problems.is_empty(), "{flavor:?}: {}", problems.join("\n"));
    let two = scan(dir.path(), config, 2);
    assert_eq!(one, two, "findings differ between 1 and 2 threads");
}

#[test]
fn rds_mysql_corpus_incidents_are_all_found_without_false_positives() {
    check_flavor(Flavor::RdsMysql, Compression::None, false, 6 << 20);
}

#[test]
fn mariadb_corpus_incidents_are_all_found_without_false_positives() {
    check_flavor(Flavor::Mariadb, Compression::Gzip, false, 4 << 20);
}

#[test]
fn aurora_corpus_out_of_order_incidents_are_all_found() {
    check_flavor(Flavor::Aurora, Compression::Zstd, false, 4 << 20);
}

#[test]
fn cloudwatch_export_corpus_incidents_are_all_found() {
    check_flavor(Flavor::RdsMysql, Compression::None, true, 3 << 20);
}

#[test]
fn custom_rules_yield_rule_findings_on_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("forensics.toml");
    std::fs::write(
        &cfg_path,
        r#"
allow = ["10.20.0.0/16"]
master_users = ["admin"]
admin_hosts = ["10.20.0.10/32"]

[[rule]]
name = "connect-outside-vpc"
pattern = 'CONNECT -localhost -"10.20."'
severity = "medium"

[[rule]]
name = "grant-all"
pattern = '"GRANT ALL" QUERY'
severity = "high"
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_forensics"))
        .args([
            "scan",
            concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sample"),
            "--quiet",
            "--config",
        ])
        .arg(&cfg_path)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let by_kind = &summary["findings_by_kind"];
    // Connections from outside 10.20/16: the attacker's success, 192.0.2.77, IPv6, 172.16.8.9.
    assert!(
        by_kind["rule:connect-outside-vpc"].as_u64().unwrap() >= 4,
        "{by_kind}"
    );
    assert_eq!(by_kind["rule:grant-all"], 1, "{by_kind}");
    assert_eq!(
        summary["config"]["rules"],
        serde_json::json!(["connect-outside-vpc", "grant-all"])
    );
}

#[test]
fn fail_on_sets_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let run = |level: &str, out: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_forensics"))
            .args([
                "scan",
                concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sample"),
                "--quiet",
                "--no-events",
            ])
            .args([
                "--allow",
                "10.20.0.0/16",
                "--master-user",
                "admin",
                "--fail-on",
                level,
                "-o",
            ])
            .arg(dir.path().join(out))
            .status()
            .unwrap()
            .code()
    };
    assert_eq!(run("critical", "a"), Some(1));
    // Rate-spike etc. are high; nothing in the sample is above critical, so "critical" is
    // the strictest level that fires; a bogus level is a usage error.
    assert_eq!(run("bogus", "b"), Some(2));
}
