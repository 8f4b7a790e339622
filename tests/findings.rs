//! The passes against synthetic corpora with planted incidents: every incident in
//! `ground_truth.json` is found with the right kind, user and source, and the login-based
//! detections raise nothing on background traffic.

mod support;

use forensics::synth::{Compression, Flavor, SynthOptions};
use support::{assert_agrees, bin, config_from, scan_lib, synth_corpus, testdata};

fn check_flavor(flavor: Flavor, compression: Compression, cloudwatch_export: bool, size: u64) {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let gt = synth_corpus(SynthOptions {
        size_bytes: size,
        seed: 11,
        flavor,
        compression,
        cloudwatch_export,
        ..SynthOptions::new(&corpus)
    });
    let config = config_from(&gt);
    let scan = |threads: usize| {
        let out = dir.path().join(format!("out-{threads}"));
        scan_lib(
            vec![corpus.clone()],
            out,
            config.clone(),
            threads,
            256 << 10,
            false,
        )
        .findings
    };
    let one = scan(1);
    assert_agrees(&gt, &one, &format!("{flavor:?}"));
    let two = scan(2);
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
    let o = bin()
        .arg("scan")
        .arg(testdata().join("sample"))
        .args(["--quiet", "--config"])
        .arg(&cfg_path)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    support::assert_exit(&o, 0);
    let summary = support::summary(&out);
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
        bin()
            .arg("scan")
            .arg(testdata().join("sample"))
            .args(["--quiet", "--no-events"])
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
