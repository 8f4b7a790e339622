//! The control plane end to end: `synth --cloudtrail` corpora (audit logs and the estate's
//! trail in one folder) scanned in one run, against their ground truth: every planted
//! finding of both planes, no control-plane finding that nothing planted, the trail's
//! records in `control/` as DuckDB reads them, and the joins of the two planes, including
//! logs that cannot be tied to an instance (named in the summary, never guessed).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use forensics::pass::AnalysisConfig;
use forensics::synth::{Flavor, SynthOptions};
use serde_json::Value;
use support::{assert_agrees, bin, config_from, scan_lib, synth_corpus, CONTROL_KINDS};

fn corpus(dir: &Path, flavor: Flavor, cloudwatch_json: bool) -> (PathBuf, Value) {
    let corpus = dir.join("corpus");
    let gt = synth_corpus(SynthOptions {
        size_bytes: 3 << 20,
        seed: 19,
        flavor,
        cloudwatch_json,
        cloudtrail: true,
        ..SynthOptions::new(&corpus)
    });
    (corpus, gt)
}

fn config(gt: &Value) -> AnalysisConfig {
    AnalysisConfig {
        aws_accounts: gt["config"]["aws_accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect(),
        ..config_from(gt)
    }
}

fn duckdb(sql: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            &format!("import duckdb; print(duckdb.sql({sql:?}).fetchall())"),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Every planted finding of both planes, each control-plane one with its resource and time,
/// and no control-plane finding besides.
fn check(flavor: Flavor, cloudwatch_json: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (corpus, gt) = corpus(dir.path(), flavor, cloudwatch_json);
    let out = dir.path().join("out");
    let scanned = scan_lib(
        vec![corpus.clone()],
        out.clone(),
        config(&gt),
        2,
        256 << 10,
        true,
    );
    let what = format!("{flavor:?} cloudwatch_json={cloudwatch_json}");
    assert_agrees(&gt, &scanned.findings, &what);
    let expected: Vec<&Value> = gt["expected_findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("resource").is_some())
        .collect();
    assert!(
        expected.len() >= 15,
        "{what}: the trail plants {}",
        expected.len()
    );
    let control: Vec<_> = scanned
        .findings
        .iter()
        .filter(|f| f.resource.is_some())
        .collect();
    for f in &control {
        assert!(CONTROL_KINDS.contains(&f.kind.as_str()), "{what}: {f:?}");
        let first = chrono_like(f.first_seen_us);
        assert!(
            expected.iter().any(|e| e["kind"] == f.kind.as_str()
                && e["resource"].as_str() == f.resource.as_deref()
                && e["first_seen"].as_str() == Some(first.as_str())
                && e["severity"].as_str() == Some(f.severity.as_str())),
            "{what}: a control-plane finding nothing planted: {f:?}"
        );
    }
    assert_eq!(
        control.len(),
        expected.len(),
        "{what}: one finding per planted one"
    );

    let s = &scanned.summary;
    let c = &s["control"];
    assert_eq!(
        c["duplicates"], 1,
        "{what}: the lookup-events page repeats the reset"
    );
    assert_eq!(
        c["unidentified_files"].as_array().unwrap().len(),
        0,
        "{what}: {c}"
    );
    let how = if cloudwatch_json { "log_group" } else { "path" };
    assert!(
        c["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["how"] == how),
        "{what}: {c}"
    );
    for service in [
        "s3.amazonaws.com",
        "sts.amazonaws.com",
        "kms.amazonaws.com",
        "ec2.amazonaws.com",
    ] {
        assert!(
            c["ignored_by_service"][service].as_u64().unwrap() > 0,
            "{what}: {service}"
        );
    }
    let t = &s["totals"];
    assert_eq!(t["rejected"], 0, "{what}: {t}");
    for i in s["inputs"].as_array().unwrap() {
        let skipped_digest =
            i["status"] == "skipped" && i["reason"].as_str().unwrap_or("").contains("digest");
        assert!(i["status"] == "ok" || skipped_digest, "{what}: {i}");
    }
    // DuckDB reads the control table: the rows the summary counts, its columns and types,
    // and every day in its own partition.
    let control_glob = format!("{}/control/**/*.parquet", out.display());
    let rows = duckdb(&format!(
        "select count(*), count(distinct event_id), min(typeof(event_time)), bool_and(strftime(event_time, '%Y-%m-%d') = dt) from read_parquet('{control_glob}', hive_partitioning=true)"
    ));
    let n = c["events"].as_u64().unwrap();
    assert_eq!(
        rows,
        format!("[({n}, {n}, 'TIMESTAMP WITH TIME ZONE', True)]"),
        "{what}"
    );
    let events_rows: u64 = duckdb(&format!(
        "select count(*) from read_parquet('{}/events/**/*.parquet')",
        out.display()
    ))
    .trim_matches(|c: char| !c.is_ascii_digit())
    .parse()
    .unwrap();
    assert_eq!(
        events_rows + n + c["duplicates"].as_u64().unwrap(),
        t["records"].as_u64().unwrap(),
        "{what}: the records of both planes"
    );
    let reset = duckdb(&format!(
        "select principal_name, source_ip, resource, mfa, read_only, json_extract_string(request_parameters, '$.masterUserPassword') from read_parquet('{control_glob}') where request_parameters like '%masterUserPassword%'"
    ));
    let id = if flavor == Flavor::Aurora {
        "prod-cluster"
    } else {
        "prod-mysql-1"
    };
    let id = if flavor == Flavor::Postgres {
        "prod-postgres-1"
    } else {
        id
    };
    assert_eq!(
        reset,
        format!("[('ci-deploy', '198.51.100.23', '{id}', None, False, 'HIDDEN_DUE_TO_SECURITY_REASONS')]")
    );
    let cols = duckdb(&format!(
        "select string_agg(column_name || ':' || column_type, ',') from (describe select * from read_parquet('{control_glob}'))"
    ));
    assert_eq!(
        cols,
        "[('event_time:TIMESTAMP WITH TIME ZONE,event_time_us:BIGINT,event_source:VARCHAR,event_name:VARCHAR,aws_region:VARCHAR,account_id:VARCHAR,recipient_account_id:VARCHAR,principal_arn:VARCHAR,principal_type:VARCHAR,principal_name:VARCHAR,access_key_id:VARCHAR,session_issuer:VARCHAR,mfa:BOOLEAN,source_ip:VARCHAR,user_agent:VARCHAR,read_only:BOOLEAN,error_code:VARCHAR,error_message:VARCHAR,resource:VARCHAR,request_parameters:VARCHAR,response_elements:VARCHAR,event_id:VARCHAR,source_file:VARCHAR,source_line:BIGINT,invoked_by:VARCHAR,dt:DATE',)]"
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ` of epoch microseconds (the ground truth's form).
fn chrono_like(us: i64) -> String {
    chrono::DateTime::from_timestamp(us.div_euclid(1_000_000), 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[test]
fn rds_mysql_logs_and_trail_in_one_folder_give_every_planted_finding() {
    check(Flavor::RdsMysql, false);
}

#[test]
fn postgres_logs_and_trail_give_every_planted_finding() {
    check(Flavor::Postgres, false);
}

#[test]
fn aurora_cluster_reset_joins_the_instance_logs() {
    check(Flavor::Aurora, false);
}

#[test]
fn cloudwatch_deliveries_are_tied_to_their_instance_by_log_group() {
    check(Flavor::RdsMysql, true);
}

/// The binary: flags and config keys, the same bytes on one and two threads, and logs that
/// no rule ties to an instance named in the summary instead of joined by a guess.
#[test]
fn logs_tied_to_no_instance_are_named_and_not_joined() {
    let dir = tempfile::tempdir().unwrap();
    let (corpus, _gt) = corpus(dir.path(), Flavor::RdsMysql, false);
    // The audit logs moved to a folder that names no instance.
    std::fs::rename(corpus.join("prod-mysql-1"), corpus.join("downloads")).unwrap();
    let scan = |name: &str, extra: &[&str]| -> (PathBuf, Value) {
        let out = dir.path().join(name);
        let mut args = vec![
            "scan",
            corpus.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--quiet",
            "--allow",
            "10.20.0.0/16",
            "--master-user",
            "admin",
            "--admin-host",
            "10.20.0.10/32",
        ];
        args.extend_from_slice(extra);
        let o = bin().args(&args).output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let s: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        (out, s)
    };
    let accounts = [
        "--aws-account",
        "123456789012",
        "--aws-account",
        "210987654321",
    ];
    let (_, s) = scan("untied", &accounts);
    let c = &s["control"];
    assert_eq!(c["unidentified_files"].as_array().unwrap().len(), 3, "{c}");
    assert!(
        c["note"].as_str().unwrap().contains("could not be tied"),
        "{c}"
    );
    assert_eq!(
        s["findings_by_kind"].get("takeover_after_password_reset"),
        None
    );
    assert_eq!(s["findings_by_kind"]["master_password_reset"], 1);
    let md = std::fs::read_to_string(dir.path().join("untied/summary.md")).unwrap();
    assert!(md.contains("## Control plane (CloudTrail)") && md.contains("could not be tied"));

    // `[instances]` ties them; the config file also gives the accounts and the window.
    let cfg = dir.path().join("forensics.toml");
    std::fs::write(
        &cfg,
        "aws_accounts = [\"123456789012\", \"210987654321\"]\ncorrelation_window = \"1h\"\n[instances]\nprod-mysql-1 = [\"downloads\"]\n",
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let (one, s) = scan("tied-1", &["--config", cfg, "--threads", "1"]);
    let c = &s["control"];
    assert_eq!(c["unidentified_files"].as_array().unwrap().len(), 0, "{c}");
    assert!(c["instances"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["how"] == "config"));
    assert_eq!(s["findings_by_kind"]["takeover_after_password_reset"], 1);
    assert_eq!(s["findings_by_kind"]["snapshot_shared"], 1);
    let (two, _) = scan("tied-2", &["--config", cfg, "--threads", "2"]);
    for f in support::walk(&one.join("control")) {
        let rel = f.strip_prefix(&one).unwrap();
        assert_eq!(
            std::fs::read(&f).unwrap(),
            std::fs::read(two.join(rel)).unwrap(),
            "{rel:?}"
        );
    }
    assert_eq!(
        std::fs::read(one.join("findings.parquet")).unwrap(),
        std::fs::read(two.join("findings.parquet")).unwrap()
    );

    // Without the second account, the routine share with it is a share outside the estate;
    // a window shorter than the 15 minutes between the reset and the login joins nothing.
    let (_, s) = scan(
        "one-account",
        &[
            "--aws-account",
            "123456789012",
            "--config",
            cfg,
            "--correlation-window",
            "10m",
        ],
    );
    assert_eq!(s["findings_by_kind"]["snapshot_shared"], 2);
    assert_eq!(
        s["findings_by_kind"].get("takeover_after_password_reset"),
        None
    );
}

/// A trail sent to CloudWatch Logs and delivered by Firehose (gzip, no extension): read as a
/// trail, its control message counted as ignored.
#[test]
fn a_trail_delivered_through_cloudwatch_is_a_trail() {
    let dir = tempfile::tempdir().unwrap();
    let record = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/mallory","accountId":"123456789012","userName":"mallory"},"eventTime":"2026-03-02T01:00:00Z","eventSource":"rds.amazonaws.com","eventName":"ModifyDBInstance","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.23","requestParameters":{"dBInstanceIdentifier":"db1","masterUserPassword":"****"},"responseElements":null,"eventID":"e1","readOnly":false,"recipientAccountId":"123456789012"}"#;
    let delivery = format!(
        r#"{{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{{"id":"","timestamp":1772413200000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}}]}}{{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"CloudTrail/logs","logStream":"123456789012_CloudTrail_us-east-1","subscriptionFilters":["f"],"logEvents":[{{"id":"1","timestamp":1772413200000,"message":{}}}]}}"#,
        serde_json::to_string(record).unwrap()
    );
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(
        input.join("trail-firehose-1"),
        support::gzip(delivery.as_bytes()),
    )
    .unwrap();
    let out = dir.path().join("out");
    let s = support::scan_ok(&[&input], &out, &["--aws-account", "123456789012"]);
    let i = &s["inputs"][0];
    assert_eq!(i["format"], "cloudwatch_json+cloudtrail", "{i}");
    assert_eq!(
        (i["records"].as_u64(), i["rejected"].as_u64()),
        (Some(1), Some(0)),
        "{i}"
    );
    assert_eq!(s["control"]["events"], 1);
    assert_eq!(
        s["control"]["ignored_by_service"]["cloudwatch:not-a-record"],
        1
    );
    assert_eq!(s["findings_by_kind"]["master_password_reset"], 1);
    assert_eq!(s["totals"]["lines"], 2);
    assert!(s["control"].get("note").is_none(), "{}", s["control"]);

    // The same delivery under a name no trail has: still read as a trail, but the logins
    // were not kept for the joins, and the summary says so.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("logs.1.gz"), support::gzip(delivery.as_bytes())).unwrap();
    let s = support::scan_ok(&[&other], &dir.path().join("out2"), &[]);
    assert_eq!(s["control"]["events"], 1);
    let note = s["control"]["note"].as_str().unwrap();
    assert!(note.contains("not named like one"), "{note}");
}
