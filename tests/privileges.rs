//! `scan --privileges` and `forensics privileges DIR` on synth corpora: the same files from
//! both, on any thread count and chunking; checked against the events as DuckDB reads them
//! (every user that logged in and ran statements has an account; every table a MySQL-family
//! user was seen reading is granted SELECT; REQUIRE SSL exactly where every session used
//! TLS; PostgreSQL `hostssl` likewise), the report's link, `--grants`, and the errors.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use forensics::synth::{Flavor, SynthOptions};
use serde_json::Value;
use support::*;

/// Sections of `privileges.sql` by user.
fn sections(sql: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cur: Option<String> = None;
    for l in sql.lines() {
        if let Some(u) = l.strip_prefix("-- user: ") {
            assert!(!out.contains_key(u), "two sections for {u}");
            cur = Some(u.to_string());
            out.insert(u.to_string(), Vec::new());
            continue;
        }
        if let Some(u) = &cur {
            if !l.is_empty() {
                out.get_mut(u).unwrap().push(l.to_string());
            }
        }
    }
    out
}

fn corpus(dir: &Path, flavor: Flavor, seed: u64) -> (std::path::PathBuf, Value) {
    let corpus = dir.join("corpus");
    let gt = synth_corpus(SynthOptions {
        size_bytes: 3 << 20,
        seed,
        flavor,
        days: 1,
        ..SynthOptions::new(&corpus)
    });
    (corpus, gt)
}

fn master_args(gt: &Value) -> Vec<String> {
    let config = config_from(gt);
    let mut args = Vec::new();
    for m in &config.master_users {
        args.push("--master-user".to_string());
        args.push(m.clone());
    }
    for h in &config.admin_hosts {
        args.push("--admin-host".to_string());
        args.push(h.to_string());
    }
    args
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn check_flavor(flavor: Flavor, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let (corpus, gt) = corpus(dir.path(), flavor, seed);
    let masters = master_args(&gt);
    let mut extra: Vec<&str> = vec!["--privileges"];
    extra.extend(masters.iter().map(String::as_str));
    let out1 = dir.path().join("out-1");
    let out2 = dir.path().join("out-2");
    let mut e1 = extra.clone();
    e1.extend(["--threads", "1"]);
    let mut e2 = extra.clone();
    e2.extend(["--threads", "2", "--chunk-bytes", "65536"]);
    scan_ok(&[&corpus], &out1, &e1);
    scan_ok(&[&corpus], &out2, &e2);
    let sql = read(&out1.join("privileges.sql"));
    let md = read(&out1.join("privileges.md"));
    assert_eq!(
        read(&out2.join("privileges.sql")),
        sql,
        "thread count changed privileges.sql"
    );
    assert_eq!(
        read(&out2.join("privileges.md")),
        md,
        "thread count changed privileges.md"
    );
    // From the events, as a later run does it.
    std::fs::remove_file(out2.join("privileges.sql")).unwrap();
    std::fs::remove_file(out2.join("privileges.md")).unwrap();
    assert_exit(&run(&["privileges", out2.to_str().unwrap()]), 0);
    assert_eq!(
        read(&out2.join("privileges.sql")),
        sql,
        "privileges DIR differs from the scan"
    );
    assert_eq!(read(&out2.join("privileges.md")), md);
    let report = String::from_utf8(read(&out1.join("report.html"))).unwrap();
    assert!(report.contains("<a href=\"privileges.md\">privileges.md</a>"));

    let sql = String::from_utf8(sql).unwrap();
    let md = String::from_utf8(md).unwrap();
    let secs = sections(&sql);
    let summary = summary(&out1);
    let masters: BTreeSet<String> = summary["config"]["master_users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let events = format!("read_parquet('{}/events/**/*.parquet')", out1.display());
    let postgres = flavor == Flavor::Postgres;

    // Every user that logged in and ran a statement the server accepted has an account;
    // the master user's section is comments only.
    let active = duckdb(&format!(
        "SELECT DISTINCT user FROM {events} WHERE operation = 'QUERY' AND coalesce(retcode, 0) = 0 \
         AND user IN (SELECT user FROM {events} WHERE operation = 'CONNECT' AND coalesce(retcode, 0) = 0)"
    ));
    assert!(active.len() >= 3, "{active:?}");
    for u in &active {
        let u = u[0].as_str().unwrap();
        let s = secs
            .get(u)
            .unwrap_or_else(|| panic!("no section for {u}:\n{sql}"));
        if masters.contains(u) {
            assert!(s.iter().all(|l| l.starts_with("--")), "{u}: {s:?}");
            continue;
        }
        let create = if postgres {
            "CREATE ROLE"
        } else {
            "CREATE USER"
        };
        assert!(s.iter().any(|l| l.starts_with(create)), "{u}: {s:?}");
        for (i, l) in s.iter().enumerate().filter(|(_, l)| l.starts_with("GRANT")) {
            // A global privilege only where a statement used one, and said so.
            let global_said = l.starts_with("GRANT FILE ON *.*")
                && s[i - 1].starts_with("-- FILE: a global privilege a statement used");
            assert!(
                !l.starts_with("GRANT ALL")
                    && !l.contains("GRANT OPTION")
                    && (!l.contains("*.*") || global_said),
                "not narrow: {l}"
            );
        }
    }

    // TLS: required exactly where every session of the user says TLS.
    let tls = duckdb(&format!(
        "SELECT user, bool_and(tls), count(*) FILTER (WHERE tls IS NULL) FROM {events} \
         WHERE operation = 'CONNECT' AND coalesce(retcode, 0) = 0 GROUP BY user"
    ));
    let mut required = 0;
    for r in &tls {
        let u = r[0].as_str().unwrap();
        let Some(s) = secs.get(u) else { continue };
        if masters.contains(u) {
            continue;
        }
        let always = r[1].as_bool() == Some(true) && r[2].as_i64() == Some(0);
        required += usize::from(always);
        let says = if postgres {
            s.iter().any(|l| l.starts_with("--   hostssl "))
        } else {
            s.iter()
                .any(|l| l.starts_with("CREATE USER") && l.ends_with("REQUIRE SSL;"))
        };
        assert_eq!(says, always, "{u}: TLS {r:?} but {s:?}");
    }
    if flavor == Flavor::RdsMysql || postgres {
        assert!(
            required > 0,
            "no user used TLS throughout: the check proved nothing"
        );
    }

    // MySQL family: every table a user was seen reading (table events) is granted SELECT.
    if !postgres {
        let reads = duckdb(&format!(
            "SELECT DISTINCT user, database, object FROM {events} WHERE operation = 'READ' \
             AND database NOT IN ('mysql', 'information_schema', 'performance_schema')"
        ));
        for r in &reads {
            let (u, db, t) = (
                r[0].as_str().unwrap(),
                r[1].as_str().unwrap(),
                r[2].as_str().unwrap(),
            );
            let Some(s) = secs.get(u) else { continue };
            if masters.contains(u) {
                continue;
            }
            let on = format!(" ON `{db}`.`{t}` TO ");
            assert!(
                s.iter()
                    .any(|l| l.starts_with("GRANT ") && l.contains(&on) && l.contains("SELECT")),
                "{u} read {db}.{t} but is not granted SELECT on it: {s:?}"
            );
        }
    }
    assert!(md.contains("# Least privilege per database user"));
}

#[test]
fn rds_mysql_corpus_gives_the_same_privileges_from_scan_and_events() {
    check_flavor(Flavor::RdsMysql, 21);
}

#[test]
fn mariadb_corpus_gives_the_same_privileges_from_scan_and_events() {
    check_flavor(Flavor::Mariadb, 22);
}

#[test]
fn postgres_corpus_gives_the_same_privileges_from_scan_and_events() {
    check_flavor(Flavor::Postgres, 23);
}

#[test]
fn grants_file_lists_held_but_unused_and_missing_events_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server_audit.log");
    std::fs::write(
        &log,
        "20260301 10:00:00,db1,app,10.0.0.5,7,0,CONNECT,shop,,0\n\
         20260301 10:00:01,db1,app,10.0.0.5,7,8,READ,shop,customers,\n\
         20260301 10:00:01,db1,app,10.0.0.5,7,8,QUERY,shop,'SELECT name FROM customers WHERE id = 1',0\n\
         20260301 10:00:02,db1,app,10.0.0.5,7,0,DISCONNECT,shop,,0\n",
    )
    .unwrap();
    let grants = dir.path().join("grants.txt");
    std::fs::write(
        &grants,
        "GRANT USAGE ON *.* TO `app`@`%`\nGRANT SELECT, INSERT, UPDATE, DELETE ON `shop`.* TO `app`@`%`\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    scan_ok(
        &[&log],
        &out,
        &["--privileges", "--grants", grants.to_str().unwrap()],
    );
    let sql = std::fs::read_to_string(out.join("privileges.sql")).unwrap();
    assert!(
        sql.contains("GRANT SELECT ON `shop`.`customers` TO 'app'@'10.0.0.5';"),
        "{sql}"
    );
    let md = std::fs::read_to_string(out.join("privileges.md")).unwrap();
    assert!(
        md.contains("never used: INSERT, UPDATE, DELETE; wider than used: SELECT \\(used only on shop.customers\\)"),
        "{md}"
    );
    // --grants alone is a usage error; without --privileges: no such outputs.
    let o = run(&[
        "scan",
        log.to_str().unwrap(),
        "-o",
        dir.path().join("g").to_str().unwrap(),
        "--grants",
        grants.to_str().unwrap(),
    ]);
    assert_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("give --privileges too"));
    let plain = dir.path().join("plain");
    scan_ok(&[&log], &plain, &[]);
    assert!(!plain.join("privileges.sql").exists() && !plain.join("privileges.md").exists());
    // A folder with no events: a usage error naming it.
    let o = run(&["privileges", dir.path().to_str().unwrap()]);
    assert_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no events/ folder"));
    let o = run(&[
        "privileges",
        out.to_str().unwrap(),
        "--grants",
        dir.path().join("missing").to_str().unwrap(),
    ]);
    assert_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing"));
}
