//! `forensics sql` against the scan it mirrors: on synth corpora of every flavour (RDS for
//! MySQL, MariaDB, Aurora, PostgreSQL, CloudWatch S3 export, CloudWatch JSON deliveries), on
//! one with settings other than the defaults (flags and a config file), and on the control
//! plane (`synth --cloudtrail`: the trail alone, and logs and trail in one folder on RDS for
//! MySQL, with records added for the joins, and on Aurora), the query run by DuckDB and by
//! Spark in local mode over the scan's own `events` and `control` gives exactly the rows of
//! the scan's `findings.parquet`: kind, severity, user, source, database, first and last
//! seen (milliseconds), count and resource. No column is allowed to differ: the query computes
//! `rate_spike`'s 95th percentile exactly as the scan does (nearest rank, rounded to the top
//! of its hdrhistogram bucket), not with an engine's approximate percentile (Athena's
//! `approx_percentile` has a rank error near 1.3 %, Spark's `percentile_approx` 1/accuracy;
//! either could move the threshold by a window count or two and add or drop a window right at
//! it: its `first_seen`, `last_seen` and `count`). `detail`, `evidence` and `finding_id`
//! are not compared (the query's sentences are shorter; evidence may name another event of
//! the same microsecond).
//!
//! The Athena text is checked without Athena: translated by sqlglot's Trino reader into
//! DuckDB (when sqlglot is installed; `.ci/run` installs it) it must give the same rows.
//!
//! DuckDB (Python) is required. Spark needs PySpark and a Java runtime; without them the
//! Spark half prints `SKIPPED sql parity (spark): <why>`, unless `FORENSICS_SPARK=require`
//! (set by `.ci/run` once it installed them), which turns the skip into a failure;
//! `FORENSICS_SPARK=skip` leaves Spark out where it could run (it takes minutes). Spark
//! runs one local session for every corpus, bound to 127.0.0.1, web UI off.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{assert_exit, run, scan_ok, CONTROL_KINDS};

/// What a scan read: database logs, a CloudTrail alone, or both in one folder.
#[derive(Clone, Copy, PartialEq)]
enum Plane {
    Logs,
    Trail,
    Mixed,
}

/// A corpus: its name, `synth` flags, extra settings for both scan and sql, and what the
/// scan reads of it (a trail alone: its `cloudtrail` folder).
struct Case {
    name: &'static str,
    synth: &'static [&'static str],
    settings: &'static [&'static str],
    plane: Plane,
}

/// The estate's accounts in `synth --cloudtrail` (its ground truth's `aws_accounts`).
const ACCOUNTS: [&str; 4] = [
    "--aws-account",
    "123456789012",
    "--aws-account",
    "210987654321",
];

const CASES: [Case; 10] = [
    Case {
        name: "rds",
        synth: &["--flavor", "rds-mysql", "--size", "4MiB", "--seed", "11"],
        settings: &[],
        plane: Plane::Logs,
    },
    Case {
        name: "mariadb",
        synth: &[
            "--flavor", "mariadb", "--size", "3MiB", "--seed", "12", "--gzip",
        ],
        settings: &[],
        plane: Plane::Logs,
    },
    Case {
        name: "aurora",
        synth: &["--flavor", "aurora", "--size", "3MiB", "--seed", "13"],
        settings: &[],
        plane: Plane::Logs,
    },
    Case {
        name: "postgres",
        synth: &["--flavor", "postgres", "--size", "3MiB", "--seed", "14"],
        settings: &[],
        plane: Plane::Logs,
    },
    Case {
        name: "cwexport",
        synth: &["--cloudwatch-export", "--size", "3MiB", "--seed", "15"],
        settings: &[],
        plane: Plane::Logs,
    },
    Case {
        name: "cwjson",
        synth: &["--cloudwatch-json", "--size", "3MiB", "--seed", "16"],
        settings: &[],
        plane: Plane::Logs,
    },
    // Settings away from the defaults, some by flag and some from the config file written
    // below: tighter brute-force and spray thresholds, a lower rate factor, a narrower
    // expected network with an admin host, and a configured database list.
    Case {
        name: "settings",
        synth: &["--flavor", "rds-mysql", "--size", "4MiB", "--seed", "17"],
        settings: &[
            "--brute-force-threshold",
            "8",
            "--spray-users",
            "3",
            "--rate-factor",
            "2.5",
            "--allow",
            "10.20.0.0/16",
            "--allow",
            "2001:db8::/32",
            "--admin-host",
            "10.20.0.10",
        ],
        plane: Plane::Logs,
    },
    // The control plane: the trail alone (`--no-events`), then logs and trail in one
    // folder on RDS for MySQL (with records added below for the joins that raise a
    // finding's severity) and on Aurora (instances in a cluster, its parameter group).
    Case {
        name: "trail",
        synth: &["--cloudtrail", "--size", "1MiB", "--seed", "31"],
        settings: &ACCOUNTS,
        plane: Plane::Trail,
    },
    Case {
        name: "mixed",
        synth: &["--cloudtrail", "--size", "3MiB", "--seed", "32"],
        settings: &ACCOUNTS,
        plane: Plane::Mixed,
    },
    Case {
        name: "aurora_trail",
        synth: &[
            "--cloudtrail",
            "--flavor",
            "aurora",
            "--size",
            "2MiB",
            "--seed",
            "33",
        ],
        settings: &[],
        plane: Plane::Mixed,
    },
];

const CONFIG: &str = "master_users = [\"admin\", \"reporting\"]\n\
                      rate_window = \"10m\"\n\
                      brute_force_window = \"2m\"\n\
                      [users.app_billing]\n\
                      databases = [\"billing\"]\n";

type Rows = Vec<Vec<Value>>;

fn engines_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sql_engines.py")
}

/// Runs `sql_engines.py ENGINE jobs...` and returns the rows of each job, sorted, and its
/// seconds.
fn engine(
    engine: &str,
    jobs: &[(String, PathBuf)],
    env: &[(String, PathBuf)],
) -> BTreeMap<String, (Rows, f64)> {
    let mut cmd = Command::new("python3");
    cmd.arg(engines_script()).arg(engine);
    for (name, path) in jobs {
        cmd.arg(format!("{name}={}", path.display()));
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("python3 runs");
    assert!(
        out.status.success(),
        "{engine} failed: {}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| !l.contains(" WARN ") && !l.starts_with("Setting default log level"))
            .take(60)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut found = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).expect("a JSON line");
        let mut rows: Rows = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_array().unwrap().clone())
            .collect();
        rows.sort_by_key(|r| serde_json::to_string(r).unwrap());
        found.insert(
            v["name"].as_str().unwrap().to_string(),
            (rows, v["seconds"].as_f64().unwrap()),
        );
    }
    assert_eq!(found.len(), jobs.len(), "{engine}: one answer per query");
    found
}

/// Why Spark cannot run here, if it cannot.
fn spark_missing() -> Option<String> {
    let java = Command::new("java").arg("-version").output();
    if !java.is_ok_and(|o| o.status.success()) {
        return Some("no Java runtime (apt-get install default-jre-headless)".into());
    }
    let py = Command::new("python3")
        .args(["-c", "import pyspark"])
        .output();
    if !py.is_ok_and(|o| o.status.success()) {
        return Some("PySpark is not installed (pip install pyspark)".into());
    }
    None
}

/// `forensics sql --dialect DIALECT TABLES... SETTINGS... --config CONFIG > TO`.
fn sql(dialect: &str, tables: &[&str], settings: &[&str], config: &Path, to: &Path) {
    let mut args = vec!["sql", "--dialect", dialect];
    args.extend_from_slice(tables);
    args.extend_from_slice(settings);
    let config = config.to_str().unwrap();
    args.extend_from_slice(&["--config", config]);
    let o = run(&args);
    assert_exit(&o, 0);
    std::fs::write(to, &o.stdout).unwrap();
}

/// The differences between the scan's rows and an engine's, as readable lines.
fn differences(expected: &Rows, got: &Rows) -> Vec<String> {
    let mut out = Vec::new();
    for r in expected {
        if !got.contains(r) {
            out.push(format!("missing {}", serde_json::to_string(r).unwrap()));
        }
    }
    for r in got {
        if !expected.contains(r) {
            out.push(format!("extra   {}", serde_json::to_string(r).unwrap()));
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SSZ` `minutes` after (or before) an RFC 3339 time.
fn shifted(t: &str, minutes: i64) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(t).unwrap() + chrono::Duration::minutes(minutes);
    t.with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A trail file added to a `synth --cloudtrail` corpus of RDS for MySQL (`prod-mysql-1`),
/// for the joins the synthetic trail does not exercise and shapes it does not write: the
/// instance made public ten minutes before a login from a public address, its security
/// group (named in a response) opened to the internet before another, its audit export
/// turned off half an hour before its logs end while the trail goes on three hours more
/// (all three critical); rules of `ModifySecurityGroupRules` with their keys capitalised
/// (one in a list, found; one alone, which the scan reads as no rule); parameter names
/// capitalised with a number for a value; parameters that are not JSON.
fn add_join_records(corpus: &Path) {
    let gt: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus.join("ground_truth.json")).unwrap())
            .unwrap();
    let public: Vec<&str> = gt["expected_findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["kind"] == "unknown_source_ip"
                && e["client_ip"]
                    .as_str()
                    .is_some_and(|ip| ip.starts_with("203.0.113.") || ip.starts_with("192.0.2."))
        })
        .map(|e| e["first_seen"].as_str().unwrap())
        .collect();
    assert!(public.len() >= 2, "public logins planted: {public:?}");
    let end = gt["end"].as_str().unwrap();
    let mut n = 0;
    let mut record = |t: String, source: &str, name: &str, request: Value, response: Value| {
        n += 1;
        serde_json::json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAJOINTEST", "arn": "arn:aws:iam::123456789012:user/ops", "accountId": "123456789012", "userName": "ops"},
            "eventTime": t, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.99", "userAgent": "aws-cli/2.17.32",
            "requestParameters": request, "responseElements": response,
            "eventID": format!("join-test-{n}"), "readOnly": false, "eventType": "AwsApiCall",
            "recipientAccountId": "123456789012",
        })
    };
    use serde_json::json;
    let records = vec![
        record(
            shifted(public[0], -10),
            "rds.amazonaws.com",
            "ModifyDBInstance",
            json!({"dBInstanceIdentifier": "prod-mysql-1", "publiclyAccessible": true, "applyImmediately": true}),
            json!({"dBInstanceIdentifier": "prod-mysql-1", "masterUsername": "admin",
                   "vpcSecurityGroups": [{"vpcSecurityGroupId": "sg-0join", "status": "active"}]}),
        ),
        record(
            shifted(public[1], -10),
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"groupId": "sg-0join", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 3306, "toPort": 3306,
                   "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
            json!({"_return": true}),
        ),
        record(
            shifted(public[1], -5),
            "ec2.amazonaws.com",
            "ModifySecurityGroupRules",
            json!({"ModifySecurityGroupRulesRequest": {"GroupId": "sg-0other", "SecurityGroupRule": [{"SecurityGroupRuleId": "sgr-1",
                   "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "CidrIpv4": "0.0.0.0/0"}}]}}),
            json!({"_return": true}),
        ),
        record(
            shifted(public[1], -4),
            "ec2.amazonaws.com",
            "ModifySecurityGroupRules",
            json!({"ModifySecurityGroupRulesRequest": {"GroupId": "sg-0lone", "SecurityGroupRule": {"SecurityGroupRuleId": "sgr-2",
                   "SecurityGroupRule": {"IpProtocol": "-1", "CidrIpv4": "0.0.0.0/0"}}}}),
            json!({"_return": true}),
        ),
        record(
            shifted(public[1], -3),
            "rds.amazonaws.com",
            "ModifyDBParameterGroup",
            json!({"DBParameterGroupName": "other-params", "Parameters": [{"ParameterName": "log_connections", "ParameterValue": 0}]}),
            json!({"dBParameterGroupName": "other-params"}),
        ),
        record(
            shifted(public[1], -2),
            "rds.amazonaws.com",
            "ModifyDBInstance",
            json!("not json"),
            Value::Null,
        ),
        record(
            shifted(end, -30),
            "rds.amazonaws.com",
            "ModifyDBInstance",
            json!({"dBInstanceIdentifier": "prod-mysql-1", "cloudwatchLogsExportConfiguration": {"disableLogTypes": ["audit"]}}),
            json!({"dBInstanceIdentifier": "prod-mysql-1"}),
        ),
        record(
            shifted(end, 180),
            "rds.amazonaws.com",
            "DescribeDBInstances",
            json!({"dBInstanceIdentifier": "prod-mysql-1"}),
            Value::Null,
        ),
    ];
    std::fs::write(
        corpus.join("cloudtrail/join-test-records.json"),
        serde_json::to_vec(&json!({"Records": records})).unwrap(),
    )
    .unwrap();
}

#[test]
fn the_sql_findings_equal_the_scans_on_every_flavour_in_duckdb_and_spark() {
    let dir = tempfile::tempdir().unwrap();
    let default_config = dir.path().join("empty.toml");
    std::fs::write(&default_config, "").unwrap();
    let custom_config = dir.path().join("custom.toml");
    std::fs::write(&custom_config, CONFIG).unwrap();
    let mut expected_jobs = Vec::new();
    let mut duck_jobs = Vec::new();
    let mut spark_jobs = Vec::new();
    let mut spark_env = Vec::new();
    let mut athena_jobs = Vec::new();
    for case in &CASES {
        let corpus = dir.path().join(format!("{}-corpus", case.name));
        let out = dir.path().join(format!("{}-out", case.name));
        let mut args = vec!["synth", "-o", corpus.to_str().unwrap()];
        args.extend_from_slice(case.synth);
        assert_exit(&run(&args), 0);
        if case.name == "mixed" {
            add_join_records(&corpus);
        }
        let scanned = match case.plane {
            Plane::Trail => corpus.join("cloudtrail"),
            _ => corpus.clone(),
        };
        let config = if case.settings.is_empty() {
            &default_config
        } else {
            &custom_config
        };
        let mut extra = vec!["--no-report", "--config", config.to_str().unwrap()];
        extra.extend_from_slice(case.settings);
        scan_ok(&[&scanned], &out, &extra);
        let events = out.join("events");
        let control = out.join("control");
        let (events_view, control_view) = (
            format!("events_{}", case.name),
            format!("control_{}", case.name),
        );
        // DuckDB finds the control table beside the events by default; the views are named.
        let (duck_tables, view_tables): (Vec<&str>, Vec<&str>) = match case.plane {
            Plane::Logs => (
                vec!["--events", events.to_str().unwrap(), "--no-control"],
                vec!["--events", &events_view, "--no-control"],
            ),
            Plane::Mixed => (
                vec!["--events", events.to_str().unwrap()],
                vec!["--events", &events_view, "--control", &control_view],
            ),
            Plane::Trail => (
                vec!["--no-events", "--control", control.to_str().unwrap()],
                vec!["--no-events", "--control", &control_view],
            ),
        };
        let duck = dir.path().join(format!("{}.duckdb.sql", case.name));
        sql("duckdb", &duck_tables, case.settings, config, &duck);
        let spark = dir.path().join(format!("{}.spark.sql", case.name));
        sql("spark", &view_tables, case.settings, config, &spark);
        let athena = dir.path().join(format!("{}.athena.sql", case.name));
        sql("athena", &view_tables, case.settings, config, &athena);
        athena_jobs.push((case.name.to_string(), athena));
        expected_jobs.push((case.name.to_string(), out.clone()));
        duck_jobs.push((case.name.to_string(), duck));
        spark_jobs.push((case.name.to_string(), spark));
        if case.plane != Plane::Trail {
            spark_env.push((format!("EVENTS_{}", case.name), events));
        }
        if case.plane != Plane::Logs {
            spark_env.push((format!("CONTROL_{}", case.name), control));
        }
    }
    let expected = engine("expected", &expected_jobs, &[]);
    for (name, (rows, _)) in &expected {
        let plane = CASES.iter().find(|c| c.name == name).unwrap().plane;
        let kinds: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r[0].as_str().unwrap()).collect();
        if plane != Plane::Logs {
            // Every control-plane kind (the takeover needs the logins).
            for k in CONTROL_KINDS {
                assert!(
                    kinds.contains(k)
                        || (plane == Plane::Trail && k == "takeover_after_password_reset"),
                    "{name}: the scan found no {k}: {kinds:?}"
                );
            }
        }
        if name == "mixed" {
            // The joins that raise a finding to critical, on the records added.
            for (kind, resource) in [
                ("audit_disabled", "prod-mysql-1"),
                ("public_exposure", "prod-mysql-1"),
                ("public_exposure", "sg-0join"),
            ] {
                assert!(
                    rows.iter()
                        .any(|r| r[0] == kind && r[1] == "critical" && r[8] == resource),
                    "{name}: no critical {kind} on {resource}"
                );
            }
        }
        if plane == Plane::Trail {
            continue;
        }
        // The corpora plant every login and statement incident and a rate spike; the
        // comparison is only as strong as the kinds it covers.
        for k in [
            "unknown_source_ip",
            "master_user",
            "brute_force",
            "brute_force_success",
            "password_spray",
            "rate_spike",
            "privilege_change",
            "destructive",
            "exfiltration",
            "cross_database",
        ] {
            assert!(
                kinds.contains(k),
                "{name}: the scan found no {k}: {kinds:?}"
            );
        }
    }
    let duck = engine("duckdb", &duck_jobs, &[]);
    for (name, (rows, _)) in &expected {
        let d = differences(rows, &duck[name].0);
        assert!(d.is_empty(), "{name}, DuckDB:\n{}", d.join("\n"));
    }
    // The Athena text, translated to DuckDB by sqlglot's Trino reader (see sql_engines.py).
    let sqlglot = Command::new("python3")
        .args(["-c", "import sqlglot"])
        .output()
        .is_ok_and(|o| o.status.success());
    if sqlglot {
        let athena = engine("athena", &athena_jobs, &spark_env);
        for (name, (rows, _)) in &expected {
            let d = differences(rows, &athena[name].0);
            assert!(
                d.is_empty(),
                "{name}, Athena text via sqlglot and DuckDB:\n{}",
                d.join("\n")
            );
        }
    } else {
        eprintln!("SKIPPED sql parity (athena text via sqlglot): pip install sqlglot");
    }
    if std::env::var("FORENSICS_SPARK").as_deref() == Ok("skip") {
        eprintln!("SKIPPED sql parity (spark): FORENSICS_SPARK=skip");
        return;
    }
    if let Some(why) = spark_missing() {
        if std::env::var("FORENSICS_SPARK").as_deref() == Ok("require") {
            panic!("FORENSICS_SPARK=require but Spark cannot run: {why}");
        }
        eprintln!("SKIPPED sql parity (spark): {why}");
        return;
    }
    let spark = engine("spark", &spark_jobs, &spark_env);
    for (name, (rows, _)) in &expected {
        let d = differences(rows, &spark[name].0);
        assert!(d.is_empty(), "{name}, Spark:\n{}", d.join("\n"));
        eprintln!(
            "{name}: {} findings; DuckDB {:.1} s, Spark {:.1} s",
            rows.len(),
            duck[name].1,
            spark[name].1
        );
    }
}

#[test]
fn athena_ddl_declares_every_output_table_with_projection() {
    let o = run(&[
        "athena-ddl",
        "--location",
        "s3://bucket/forensics",
        "--shards",
        "4",
    ]);
    assert_exit(&o, 0);
    let ddl = String::from_utf8(o.stdout).unwrap();
    for t in [
        "rds_audit_events",
        "rds_audit_control",
        "rds_audit_findings",
        "rds_audit_sessions",
        "rds_audit_profile",
    ] {
        assert!(
            ddl.contains(&format!("CREATE EXTERNAL TABLE IF NOT EXISTS {t} (")),
            "{t}"
        );
    }
    assert!(ddl.contains(
        "'storage.location.template' = 's3://bucket/forensics/shard=${shard}/events/dt=${dt}/'"
    ));
    assert!(ddl.contains(
        "'storage.location.template' = 's3://bucket/forensics/shard=${shard}/control/dt=${dt}/'"
    ));
    assert_exit(
        &run(&["athena-ddl", "--location", "s3://b", "--shards", "0"]),
        2,
    );
}

#[test]
fn three_sharded_scans_share_one_folder_and_together_give_the_single_scans_findings() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    // PostgreSQL: many files (one per hour), so every shard gets a share.
    assert_exit(
        &run(&[
            "synth",
            "-o",
            corpus.to_str().unwrap(),
            "--flavor",
            "postgres",
            "--size",
            "3MiB",
            "--seed",
            "21",
        ]),
        0,
    );
    let single = dir.path().join("single");
    scan_ok(&[&corpus], &single, &["--no-report"]);
    let sharded = dir.path().join("sharded");
    // Three scans at once into one folder.
    let children: Vec<_> = (1..=3)
        .map(|i| {
            support::bin()
                .args([
                    "scan",
                    corpus.to_str().unwrap(),
                    "-o",
                    sharded.to_str().unwrap(),
                ])
                .args(["--shard", &format!("{i}/3"), "--quiet", "--no-report"])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert_exit(&o, 0);
    }
    let one = support::summary(&single);
    let (mut files, mut bytes, mut records) = (0, 0, 0);
    for i in 1..=3 {
        let area = sharded.join(format!("shard={i}-of-3"));
        let s = support::summary(&area);
        let share = &s["shard"];
        assert_eq!(share["shard"], format!("{i}-of-3"));
        let md = std::fs::read_to_string(area.join("summary.md")).unwrap();
        assert!(
            md.contains(&format!("Shard {i}-of-3 of a sharded scan")),
            "{md}"
        );
        assert_eq!(share["files_all"], one["inputs"].as_array().unwrap().len());
        files += share["files"].as_u64().unwrap();
        bytes += share["bytes"].as_u64().unwrap();
        records += s["totals"]["records"].as_u64().unwrap();
        assert!(
            share["files"].as_u64().unwrap() > 0,
            "shard {i} got no file"
        );
        for f in s["outputs"]["event_files"].as_array().unwrap() {
            assert!(
                f.as_str()
                    .unwrap()
                    .ends_with(&format!("-shard-{i}-of-3.parquet")),
                "{f}"
            );
        }
        // A shard's folder is its own output folder: taken, it is refused without --force.
        let again = run(&[
            "scan",
            corpus.to_str().unwrap(),
            "-o",
            sharded.to_str().unwrap(),
            "--shard",
            &format!("{i}/3"),
            "--quiet",
        ]);
        assert_exit(&again, 2);
    }
    assert_eq!(files, one["inputs"].as_array().unwrap().len() as u64);
    assert_eq!(bytes, one["totals"]["bytes"].as_u64().unwrap());
    assert_eq!(records, one["totals"]["records"].as_u64().unwrap());
    assert!(support::summary(&single).get("shard").is_none());

    let query = dir.path().join("q.sql");
    let glob = format!("{}/shard=*/events/**/*.parquet", sharded.display());
    let config = dir.path().join("empty.toml");
    std::fs::write(&config, "").unwrap();
    sql(
        "duckdb",
        &["--events", &glob, "--no-control"],
        &[],
        &config,
        &query,
    );
    let want = engine("expected", &[("single".into(), single)], &[]);
    let got = engine("duckdb", &[("sharded".into(), query)], &[]);
    let d = differences(&want["single"].0, &got["sharded"].0);
    assert!(d.is_empty(), "sharded vs single:\n{}", d.join("\n"));
}

/// The Athena DDL parsed by sqlglot (its Athena reader) declares, for every Parquet output,
/// the columns and types DuckDB reads from the files a scan of logs and a trail wrote, and
/// a location template that names the folders the scan made.
#[test]
fn athena_ddl_parsed_by_sqlglot_matches_the_parquet_a_scan_writes() {
    let sqlglot = Command::new("python3")
        .args(["-c", "import sqlglot"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !sqlglot {
        eprintln!("SKIPPED athena ddl via sqlglot: pip install sqlglot");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    assert_exit(
        &run(&[
            "synth",
            "-o",
            corpus.to_str().unwrap(),
            "--cloudtrail",
            "--size",
            "1MiB",
            "--seed",
            "41",
        ]),
        0,
    );
    let out = dir.path().join("out");
    scan_ok(&[&corpus], &out, &["--no-report"]);
    let o = run(&[
        "athena-ddl",
        "--location",
        out.to_str().unwrap(),
        "--table-prefix",
        "t",
    ]);
    assert_exit(&o, 0);
    let ddl = dir.path().join("ddl.sql");
    std::fs::write(&ddl, &o.stdout).unwrap();
    let script = r#"
import sys, os, glob, duckdb, sqlglot
from sqlglot import exp
ddl, out = sys.argv[1], sys.argv[2]
types = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMP", "BIGINT": "BIGINT", "INTEGER": "INTEGER",
         "BOOLEAN": "BOOLEAN", "VARCHAR": "VARCHAR", "VARCHAR[]": "ARRAY(VARCHAR)"}
tables = []
for st in sqlglot.parse(open(ddl).read(), read="athena"):
    if st is None:
        continue
    name = st.this.this.name.removeprefix("t_")
    cols = [(c.name, c.args["kind"].sql("athena")) for c in st.find(exp.Schema).expressions
            if isinstance(c, exp.ColumnDef)]
    keys = [k.name for k in st.find(exp.PartitionedByProperty).this.expressions]
    props = {p.name: p.text("value") for p in st.find_all(exp.Property) if p.name}
    template = props["storage.location.template"]
    if name in ("events", "control"):
        assert keys == ["dt"], (name, keys)
        days = sorted(os.listdir(os.path.join(out, name)))
        assert days and template == f"{out}/{name}/dt=${{dt}}/", (name, template)
        files = f"{out}/{name}/**/*.parquet"
    else:
        assert keys == ["shard"], (name, keys)
        files = f"{out}/{name}.parquet"
    got = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{files}', hive_partitioning = false)").fetchall()
    want = [(c, types[t]) for c, t, *_ in got]
    assert cols == want, (name, cols, want)
    tables.append(name)
print(",".join(sorted(tables)))
"#;
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(&ddl)
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "control,events,findings,profile,sessions"
    );
}

/// Sharded scans may each hold a copy of a record (a trail file in one share, a lookup page
/// repeating it in another): the query de-duplicates the control table by event id across
/// all the folders it reads, as a scan does within its own.
#[test]
fn control_records_read_twice_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    assert_exit(
        &run(&[
            "synth",
            "-o",
            corpus.to_str().unwrap(),
            "--cloudtrail",
            "--size",
            "1MiB",
            "--seed",
            "42",
        ]),
        0,
    );
    let out = dir.path().join("out");
    scan_ok(&[&corpus.join("cloudtrail")], &out, &["--no-report"]);
    for copy in ["a", "b"] {
        for f in support::walk(&out.join("control")) {
            let to = dir
                .path()
                .join("copies")
                .join(copy)
                .join(f.strip_prefix(&out).unwrap());
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&f, &to).unwrap();
        }
    }
    let config = dir.path().join("empty.toml");
    std::fs::write(&config, "").unwrap();
    let query = dir.path().join("q.sql");
    let glob = format!("{}/copies/*/control/**/*.parquet", dir.path().display());
    sql(
        "duckdb",
        &["--no-events", "--control", &glob],
        &[],
        &config,
        &query,
    );
    let want = engine("expected", &[("once".into(), out)], &[]);
    let got = engine("duckdb", &[("twice".into(), query)], &[]);
    assert!(want["once"].0.len() >= 10, "{:?}", want["once"].0);
    let d = differences(&want["once"].0, &got["twice"].0);
    assert!(
        d.is_empty(),
        "two copies of the control table:\n{}",
        d.join("\n")
    );
}
