//! Issue #22 end to end: GeoIP/ASN columns (MaxMind's own test databases, read back by
//! DuckDB), threat lists, login profiles and `anomalous_login` on synth corpora with their
//! ground truth (every planted finding found, none on the learning days, none on background
//! traffic), and the profile's merge law (the profile of two scans merged equals the profile
//! of one scan of both).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use forensics::finding::Finding;
use forensics::intel::{GeoIp, ThreatLists};
use forensics::synth::{Flavor, SynthOptions};
use serde_json::Value;
use support::{
    compare_with, config_from, scan_lib, scan_ok, synth_corpus, synth_corpus_with_list, testdata,
};

fn geoip_paths() -> Vec<PathBuf> {
    vec![
        testdata().join("geoip/GeoLite2-Country-Test.mmdb"),
        testdata().join("geoip/GeoLite2-ASN-Test.mmdb"),
    ]
}

fn rfc3339_us(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_micros()
}

/// The end of the corpus's learning period (µs): its start plus the ground truth's `learn`.
fn learn_end_us(gt: &Value) -> i64 {
    let days: i64 = gt["baseline"]["learn"]
        .as_str()
        .unwrap()
        .trim_end_matches('d')
        .parse()
        .unwrap();
    rfc3339_us(gt["start"].as_str().unwrap()) + days * 86_400_000_000
}

/// Every `anomalous_login` is on a day after the learning period, and one the ground truth
/// does not list must come from the source of an incident planted after it (a login of an
/// attack is unusual too): none from background traffic.
fn anomalies_are_explained(gt: &Value, findings: &[Finding]) -> Vec<String> {
    let end = learn_end_us(gt);
    let expected = gt["expected_findings"].as_array().unwrap();
    let mut problems = Vec::new();
    for f in findings.iter().filter(|f| f.kind == "anomalous_login") {
        if f.first_seen_us < end {
            problems.push(format!("anomalous_login on a learning day: {}", f.detail));
        }
        let explained = expected.iter().any(|e| {
            e["client_ip"].as_str() == f.client_ip.as_deref()
                && rfc3339_us(e["first_seen"].as_str().unwrap()) >= end
        });
        if !explained {
            problems.push(format!(
                "anomalous_login from background traffic: {}",
                f.detail
            ));
        }
    }
    problems
}

fn check_flavor(flavor: Flavor, size: u64) {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let list = dir.path().join("synth-blocklist.netset");
    let gt = synth_corpus_with_list(
        SynthOptions {
            size_bytes: size,
            seed: 7,
            flavor,
            ..SynthOptions::new(&corpus)
        },
        &list,
    );
    let mut config = config_from(&gt);
    config.threat_lists = Arc::new(ThreatLists::load(&[list]).unwrap());
    config.geoip = Some(Arc::new(GeoIp::open(&geoip_paths()).unwrap()));
    let days: i64 = gt["baseline"]["learn"]
        .as_str()
        .unwrap()
        .trim_end_matches('d')
        .parse()
        .unwrap();
    config.learn_secs = Some(days * 86_400);
    let scan = |threads: usize| {
        scan_lib(
            vec![corpus.clone()],
            dir.path().join(format!("out-{threads}")),
            config.clone(),
            threads,
            256 << 10,
            false,
        )
        .findings
    };
    let one = scan(1);
    let mut problems = compare_with(&gt, &one, &["learn", "threat_list", "geoip"]);
    problems.extend(anomalies_are_explained(&gt, &one));
    assert!(problems.is_empty(), "{flavor:?}:\n{}", problems.join("\n"));
    for kind in [
        "anomalous_login",
        "threat_list_login",
        "threat_list_attempt",
    ] {
        assert!(one.iter().any(|f| f.kind == kind), "{flavor:?}: no {kind}");
    }
    assert!(one
        .iter()
        .filter(|f| f.kind.starts_with("threat_list"))
        .all(|f| f.detail.contains("listed in synth-blocklist.netset")));
    // The planted new-AS login names its country and AS, in its columns and its detail.
    let f = one
        .iter()
        .find(|f| f.kind == "anomalous_login" && f.client_ip.as_deref() == Some("89.160.20.115"))
        .unwrap();
    assert_eq!(f.geo.country.as_deref(), Some("SE"));
    assert_eq!(f.geo.asn, Some(29518));
    assert!(
        f.detail.contains("new AS29518 Bredband2 AB"),
        "{}",
        f.detail
    );
    let u = one
        .iter()
        .find(|f| f.kind == "unknown_source_ip" && f.client_ip.as_deref() == Some("89.160.20.115"))
        .unwrap();
    assert!(
        u.detail.contains("(country SE, AS29518 Bredband2 AB)"),
        "{}",
        u.detail
    );
    assert_eq!(
        one,
        scan(2),
        "{flavor:?}: findings differ between 1 and 2 threads"
    );

    // Without the settings, none of these kinds, and the ground truth still holds.
    let plain = scan_lib(
        vec![corpus.clone()],
        dir.path().join("plain"),
        config_from(&gt),
        2,
        256 << 10,
        false,
    )
    .findings;
    assert!(compare_with(&gt, &plain, &[]).is_empty());
    assert!(plain
        .iter()
        .all(|f| !f.kind.starts_with("threat_list") && f.kind != "anomalous_login"));
    assert!(plain.iter().all(|f| f.geo == Default::default()));
}

#[test]
fn rds_mysql_corpus_anomalous_logins_and_threat_list_hits_are_found_without_false_positives() {
    check_flavor(Flavor::RdsMysql, 4 << 20);
}

#[test]
fn postgres_corpus_anomalous_logins_and_threat_list_hits_are_found_without_false_positives() {
    check_flavor(Flavor::Postgres, 4 << 20);
}

fn settings(gt: &Value) -> Vec<String> {
    let mut v = Vec::new();
    for (flag, key) in [
        ("--allow", "allow"),
        ("--master-user", "master_users"),
        ("--admin-host", "admin_hosts"),
    ] {
        for x in gt["config"][key].as_array().unwrap() {
            v.push(flag.to_string());
            v.push(x.as_str().unwrap().to_string());
        }
    }
    v
}

/// `--baseline DIR` on the later days, against a scan of the first days, finds what
/// `--learn` finds on the whole input.
#[test]
fn a_baseline_from_an_earlier_scan_finds_the_planted_anomalous_logins() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let gt = synth_corpus(SynthOptions {
        size_bytes: 3 << 20,
        seed: 5,
        ..SynthOptions::new(&corpus)
    });
    let cut = chrono::DateTime::from_timestamp_micros(learn_end_us(&gt))
        .unwrap()
        .to_rfc3339();
    let s = settings(&gt);
    let mut args: Vec<&str> = s.iter().map(String::as_str).collect();
    args.extend(["--until", &cut, "--no-events"]);
    let first = dir.path().join("first");
    scan_ok(&[&corpus], &first, &args);
    let later = dir.path().join("later");
    let mut args: Vec<&str> = s.iter().map(String::as_str).collect();
    let base = first.to_str().unwrap().to_string();
    args.extend(["--since", &cut, "--no-events", "--baseline", &base]);
    scan_ok(&[&corpus], &later, &args);
    let got = findings_of(&later);
    let anomalous: Vec<&(String, String, String, String)> =
        got.iter().filter(|f| f.0 == "anomalous_login").collect();
    for e in gt["expected_findings"].as_array().unwrap() {
        if e["kind"] == "anomalous_login" {
            let (user, ip) = (
                e["user"].as_str().unwrap(),
                e["client_ip"].as_str().unwrap(),
            );
            // Without --geoip, the new-AS login is a new /24: medium.
            let severity = if ip == "89.160.20.115" {
                "medium"
            } else {
                e["severity"].as_str().unwrap()
            };
            assert!(
                anomalous
                    .iter()
                    .any(|f| f.1 == user && f.2 == ip && f.3 == severity),
                "missing {e} in {anomalous:?}"
            );
        }
    }
    let expected_ips: Vec<&str> = gt["expected_findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| rfc3339_us(e["first_seen"].as_str().unwrap()) >= learn_end_us(&gt))
        .filter_map(|e| e["client_ip"].as_str())
        .collect();
    for f in &anomalous {
        assert!(
            expected_ips.contains(&f.2.as_str()),
            "from background traffic: {f:?}"
        );
    }
    // A baseline folder without a profile is a usage error naming it.
    let o = support::run(&[
        "scan",
        corpus.to_str().unwrap(),
        "-o",
        dir.path().join("x").to_str().unwrap(),
        "--quiet",
        "--baseline",
        corpus.to_str().unwrap(),
    ]);
    support::assert_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("profile.parquet"));
}

/// (kind, user, client_ip, severity) of each finding, read by DuckDB.
fn findings_of(out: &Path) -> Vec<(String, String, String, String)> {
    let sql = format!(
        "SELECT kind, coalesce(\"user\", ''), coalesce(client_ip, ''), severity FROM '{}/findings.parquet'",
        out.display()
    );
    duckdb_rows(&sql)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()))
        .collect()
}

/// Rows of a DuckDB query, every value as text (`NULL` for null).
fn duckdb_rows(sql: &str) -> Vec<Vec<String>> {
    let script = "import duckdb,json,sys\n\
                  rows=duckdb.sql(sys.argv[1]).fetchall()\n\
                  print(json.dumps([[('NULL' if v is None else str(v)) for v in r] for r in rows]))";
    let o = Command::new("python3")
        .args(["-c", script, sql])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The profile of two scans merged (here, and by DuckDB) equals the profile of one scan of
/// both: the corpus's files split in two.
#[test]
fn profiles_of_two_scans_merge_to_the_profile_of_one_scan_of_both() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let gt = synth_corpus(SynthOptions {
        size_bytes: 4 << 20,
        seed: 3,
        ..SynthOptions::new(&corpus)
    });
    let files: Vec<PathBuf> = gt["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| corpus.join(f.as_str().unwrap()))
        .collect();
    assert!(files.len() >= 2, "{files:?}");
    let (a, b) = files.split_at(files.len() / 2);
    let g: Vec<String> = geoip_paths()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let extra = ["--no-events", "--geoip", &g[0], "--geoip", &g[1]];
    let scan = |paths: &[PathBuf], name: &str| {
        let out = dir.path().join(name);
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        scan_ok(&refs, &out, &extra);
        out
    };
    let (oa, ob, oab) = (scan(a, "a"), scan(b, "b"), scan(&files, "ab"));
    let read = |o: &Path| forensics::sink::profile::read(o).unwrap();
    let mut merged = read(&oa);
    merged.merge(read(&ob));
    let both = read(&oab);
    assert_eq!(merged, both);
    // The profile holds the planted new-AS source with its AS and country.
    use forensics::pass::profile::Dimension;
    assert_eq!(
        both.get("app_billing", Dimension::Asn, "29518")
            .unwrap()
            .label
            .as_deref(),
        Some("Bredband2 AB")
    );
    assert!(both.get("app_billing", Dimension::Country, "SE").is_some());
    assert!(both
        .get("app_billing", Dimension::Network, "89.160.20.0/24")
        .is_some());
    assert!(both.get("app_orders", Dimension::Hour, "03").is_some());
    // The same merge in SQL.
    let q = |from: &str| {
        format!(
            "SELECT \"user\", dimension, value, min(label), sum(count), min(first_seen_us), max(last_seen_us) \
             FROM read_parquet([{from}]) GROUP BY ALL ORDER BY ALL"
        )
    };
    let p = |o: &Path| format!("'{}/profile.parquet'", o.display());
    let sql_merged = duckdb_rows(&q(&format!("{}, {}", p(&oa), p(&ob))));
    let sql_both = duckdb_rows(&q(&p(&oab)));
    assert_eq!(sql_merged, sql_both);
    assert_eq!(sql_both.len(), both.rows.len());
}

/// `--geoip` fills the new event, session and finding columns (DuckDB reads them); without it
/// they are there and null.
#[test]
fn geoip_columns_are_filled_for_public_addresses_and_null_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let gt = synth_corpus(SynthOptions {
        size_bytes: 2 << 20,
        seed: 2,
        ..SynthOptions::new(&corpus)
    });
    let s = settings(&gt);
    let g: Vec<String> = geoip_paths()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut args: Vec<&str> = s.iter().map(String::as_str).collect();
    args.extend(["--geoip", &g[0], "--geoip", &g[1]]);
    let with = dir.path().join("with");
    scan_ok(&[&corpus], &with, &args);
    let without = dir.path().join("without");
    let s2: Vec<&str> = s.iter().map(String::as_str).collect();
    scan_ok(&[&corpus], &without, &s2);
    let events = |o: &Path| {
        format!(
            "read_parquet('{}/events/**/*.parquet', hive_partitioning=true)",
            o.display()
        )
    };
    let rows = duckdb_rows(&format!(
        "SELECT client_ip, client_country, client_asn, client_as_org, count(*) FROM {} \
         WHERE client_country IS NOT NULL OR client_asn IS NOT NULL GROUP BY ALL ORDER BY ALL",
        events(&with)
    ));
    assert_eq!(
        rows,
        vec![vec!["89.160.20.115", "SE", "29518", "Bredband2 AB", "3"]]
    );
    // Private addresses and those the databases do not know stay null.
    let rows = duckdb_rows(&format!(
        "SELECT count(*) FROM {} WHERE client_ip LIKE '10.%' AND client_country IS NULL",
        events(&with)
    ));
    assert_ne!(rows[0][0], "0");
    for (table, key) in [
        ("sessions.parquet", "client_ip"),
        ("findings.parquet", "client_ip"),
    ] {
        let rows = duckdb_rows(&format!(
            "SELECT DISTINCT client_country, client_asn, client_as_org FROM '{}/{table}' WHERE {key} = '89.160.20.115'",
            with.display()
        ));
        assert_eq!(rows, vec![vec!["SE", "29518", "Bredband2 AB"]], "{table}");
    }
    let rows = duckdb_rows(&format!(
        "SELECT count(*), count(client_country), count(client_asn), count(client_as_org) FROM {}",
        events(&without)
    ));
    assert_ne!(rows[0][0], "0");
    assert_eq!(&rows[0][1..], ["0", "0", "0"]);
    // The same events either way, but for the new columns.
    let cols = "event_time_us, source_file, source_line, \"user\", client_ip, object";
    let a = duckdb_rows(&format!(
        "SELECT count(*), sum(hash({cols})) FROM {}",
        events(&with)
    ));
    let b = duckdb_rows(&format!(
        "SELECT count(*), sum(hash({cols})) FROM {}",
        events(&without)
    ));
    assert_eq!(a, b);
}

#[test]
fn a_bad_threat_list_or_database_is_a_usage_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("blocklist.netset");
    std::fs::write(&list, "10.0.0.1\nnot an address\n").unwrap();
    let sample = testdata().join("sample");
    let out = dir.path().join("out");
    let run = |flag: &str, path: &Path| {
        support::run(&[
            "scan",
            sample.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--quiet",
            flag,
            path.to_str().unwrap(),
        ])
    };
    let o = run("--threat-list", &list);
    support::assert_exit(&o, 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("blocklist.netset: line 2: not an address or CIDR: \"not\""),
        "{err}"
    );
    let o = run("--geoip", &list);
    support::assert_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a readable MaxMind DB"));
    assert!(!out.join("summary.json").exists());
}
