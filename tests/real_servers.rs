//! Real servers (issue #17 §1): MariaDB 10.11 with `server_audit` and PostgreSQL with pgaudit,
//! configured as RDS runs them, in network namespaces with one source address per client
//! (`scripts/real-servers.sh`). Scripted scenarios through the real `mariadb` and `psql`
//! clients; the scan of the logs they write must find exactly the planted findings and reject
//! no line, and give the same findings from PostgreSQL's stderr and csvlog files, with 1 and 2
//! threads, and from the same lines wrapped as CloudWatch S3-export lines and as CloudWatch
//! JSON deliveries.
//!
//! Needs root, `ip netns` and the servers (`scripts/real-servers.sh install` installs them;
//! `.ci/run` does). Where they are missing the test prints `SKIPPED` with the reason and
//! passes, unless `FORENSICS_REAL_SERVERS=require` (set by `.ci/run` once the install
//! succeeded), which turns the skip into a failure. `FORENSICS_REAL_SERVERS=skip` skips it
//! on purpose (quick `cargo test` runs as root); `FORENSICS_REAL_SERVERS_KEEP=1` keeps the
//! servers' folder (logs, scan outputs) and prints where it is.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use arrow::array::Array;
use serde_json::Value;

const ALLOW: &str = "10.77.0.0/25";
const ADMIN_HOST: &str = "10.77.0.20/32";
const MASTER: &str = "admin";

const APP: &str = "10.77.0.10";
const ADM: &str = "10.77.0.20";
const JOB: &str = "10.77.0.30";
const ATK: &str = "10.77.0.200";
const SPR: &str = "10.77.0.201";

/// Issue #17 §3 items fixed in `src/pass/` by another change. Each [`Expect`] with a
/// `pending` value is asserted as written (the correct behaviour) when this is true; while it
/// is false the finding may also come out as `pending` describes (today's behaviour), and the
/// test says which one it saw. Switch it on once §3 has landed.
const ENFORCE_PENDING: bool = true;

/// Found on the real logs: PostgreSQL writes every continuation line of a multi-line message
/// to stderr after a tab (elog.c, `append_with_tabs`), and the stderr parser keeps that tab
/// in the statement text, where csvlog has the text as the client sent it
/// (`SELECT c.name,\n\t       SUM(...)` against `SELECT c.name,\n       SUM(...)`). The
/// findings are the same. While this is false the test reports the difference; switch it on
/// once the parser drops the tab.
const ENFORCE_STDERR_TEXT: bool = false;

/// One expected finding. `detail` must occur in the finding's detail (it tells statements
/// apart); `count` is checked where given.
#[derive(Clone, Debug)]
struct Expect {
    kind: &'static str,
    severity: &'static str,
    user: Option<&'static str>,
    client_ip: Option<&'static str>,
    detail: &'static str,
    count: Option<i64>,
    /// Today's output where it differs from the correct one: (severity, client_ip).
    pending: Option<(&'static str, &'static str, Option<&'static str>)>,
}

const fn e(
    kind: &'static str,
    severity: &'static str,
    user: Option<&'static str>,
    client_ip: Option<&'static str>,
    detail: &'static str,
) -> Expect {
    Expect {
        kind,
        severity,
        user,
        client_ip,
        detail,
        count: None,
        pending: None,
    }
}

impl Expect {
    fn count(mut self, n: i64) -> Self {
        self.count = Some(n);
        self
    }
    /// Known pending (issue #17 §3): today the finding has this severity and client_ip.
    fn pending(
        mut self,
        why: &'static str,
        severity: &'static str,
        ip: Option<&'static str>,
    ) -> Self {
        self.pending = Some((why, severity, ip));
        self
    }
}

/// Findings common to both servers (the scenarios are the same).
fn common() -> Vec<Expect> {
    let a = Some(MASTER);
    vec![
        // 3./4./6. The master user: from the admin host, an application host, the attacker.
        e("master_user", "low", a, Some(ADM), "from an admin host"),
        e("master_user", "high", a, Some(APP), "not an admin host"),
        e("master_user", "high", a, Some(ATK), "not an admin host"),
        // 6. Brute force then success, from outside the allowed networks.
        e("brute_force", "medium", a, Some(ATK), "(users: admin)").count(22),
        e(
            "brute_force_success",
            "critical",
            a,
            Some(ATK),
            "successful login as admin",
        ),
        e(
            "unknown_source_ip",
            "medium",
            a,
            Some(ATK),
            "outside 10.77.0.0/25",
        ),
        // 7. The spray.
        e(
            "password_spray",
            "high",
            None,
            Some(SPR),
            "6 distinct users",
        )
        .count(6),
        // 8. The cross-database read.
        e(
            "cross_database",
            "medium",
            Some("app"),
            Some(APP),
            "touched database billing",
        )
        .pending(
            "§3: cross_database findings have a null client_ip",
            "medium",
            None,
        ),
    ]
}

fn expected_mariadb() -> Vec<Expect> {
    let a = Some(MASTER);
    let mut v = common();
    v.extend([
        e(
            "privilege_change",
            "high",
            a,
            Some(ADM),
            "CREATE USER 'report'@'10.77.0.%' IDENTIFIED BY *****",
        ),
        e(
            "privilege_change",
            "high",
            a,
            Some(ADM),
            "GRANT SELECT ON shop.* TO 'report'@'10.77.0.%'",
        ),
        e(
            "privilege_change",
            "high",
            a,
            Some(ADM),
            "CREATE USER 'ops'@'%' IDENTIFIED BY *****",
        ),
        e(
            "privilege_change",
            "critical",
            a,
            Some(ADM),
            "GRANT ALL PRIVILEGES ON *.* TO 'ops'@'%' WITH GRANT OPTION",
        ),
        e(
            "destructive",
            "high",
            a,
            Some(ADM),
            "DROP TABLE shop.tmp_import",
        ),
        e(
            "destructive",
            "high",
            a,
            Some(ADM),
            "TRUNCATE TABLE shop.audit_tmp",
        ),
        e(
            "destructive",
            "critical",
            a,
            Some(ATK),
            "DELETE FROM shop.orders",
        )
        .pending(
            "§3: destructive from an unknown source should be critical",
            "high",
            Some(ATK),
        ),
        e("exfiltration", "critical", a, Some(ATK), "INTO OUTFILE"),
        // No non_ssl_session: MariaDB 10.11's plugin does not log TLS (formats.md §1.5).
    ]);
    v
}

fn expected_postgres() -> Vec<Expect> {
    let a = Some(MASTER);
    let mut v = common();
    v.extend([
        // 2. The plaintext job, and the attacker's plaintext session.
        e(
            "non_ssl_session",
            "medium",
            Some("job"),
            Some(JOB),
            "unencrypted session as job",
        ),
        e(
            "non_ssl_session",
            "high",
            a,
            Some(ATK),
            "unencrypted session as admin (master user)",
        ),
        e(
            "privilege_change",
            "high",
            a,
            Some(ADM),
            "CREATE ROLE report LOGIN PASSWORD <REDACTED>",
        ),
        e(
            "privilege_change",
            "high",
            a,
            Some(ADM),
            "GRANT SELECT ON customers TO report",
        ),
        e(
            "privilege_change",
            "critical",
            a,
            Some(ADM),
            "CREATE ROLE ops LOGIN SUPERUSER",
        )
        .pending(
            "§3: creating a SUPERUSER role should be critical",
            "high",
            Some(ADM),
        ),
        e("destructive", "high", a, Some(ADM), "DROP TABLE tmp_import"),
        e(
            "destructive",
            "high",
            a,
            Some(ADM),
            "TRUNCATE TABLE audit_tmp",
        ),
        e(
            "destructive",
            "critical",
            a,
            Some(ATK),
            "DELETE FROM orders",
        )
        .pending(
            "§3: destructive from an unknown source should be critical",
            "high",
            Some(ATK),
        ),
        e(
            "exfiltration",
            "critical",
            a,
            Some(ATK),
            "COPY (SELECT * FROM customers) TO PROGRAM",
        ),
    ]);
    v
}

/// A finding row as read back from findings.parquet, every column as text.
type Row = BTreeMap<String, Option<String>>;

fn read_findings(out: &Path) -> Vec<Row> {
    read_parquet(&out.join("findings.parquet"))
}

/// The `object` of every QUERY event of a scan's events/, sorted.
fn query_texts(out: &Path) -> Vec<String> {
    let mut v = Vec::new();
    let mut dirs = vec![out.join("events")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                for r in read_parquet(&p) {
                    if get(&r, "operation") == Some("QUERY") {
                        v.push(get(&r, "object").unwrap_or("").to_string());
                    }
                }
            }
        }
    }
    v.sort();
    v
}

fn read_parquet(path: &Path) -> Vec<Row> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let schema = batch.schema();
        let opts = FormatOptions::default();
        for i in 0..batch.num_rows() {
            let mut row = Row::new();
            for (f, col) in schema.fields().iter().zip(batch.columns()) {
                // Times as epoch ms (the display of a zone name needs chrono-tz).
                let col = match col.data_type() {
                    arrow::datatypes::DataType::Timestamp(..) => {
                        arrow::compute::cast(col, &arrow::datatypes::DataType::Int64).unwrap()
                    }
                    _ => col.clone(),
                };
                let v = (!col.is_null(i)).then(|| {
                    ArrayFormatter::try_new(col.as_ref(), &opts)
                        .unwrap()
                        .value(i)
                        .to_string()
                });
                row.insert(f.name().clone(), v);
            }
            rows.push(row);
        }
    }
    rows
}

fn get<'a>(r: &'a Row, k: &str) -> Option<&'a str> {
    r.get(k).and_then(|v| v.as_deref())
}

struct Scan {
    summary: Value,
    findings: Vec<Row>,
}

fn scan(inputs: &[PathBuf], out: &Path, threads: usize) -> Scan {
    let o = Command::new(env!("CARGO_BIN_EXE_forensics"))
        .arg("scan")
        .args(inputs)
        .arg("-o")
        .arg(out)
        .args([
            "--allow",
            ALLOW,
            "--admin-host",
            ADMIN_HOST,
            "--master-user",
            MASTER,
        ])
        .args(["--threads", &threads.to_string(), "--quiet", "--force"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "scan of {inputs:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    Scan {
        summary,
        findings: read_findings(out),
    }
}

/// Every line accounted for and none rejected.
fn assert_no_rejects(what: &str, s: &Scan) {
    let t = &s.summary["totals"];
    assert_eq!(
        t["rejected"].as_u64(),
        Some(0),
        "{what}: rejected lines: {}",
        s.summary["rejected_samples"]
    );
    assert!(t["records"].as_u64().unwrap() > 0, "{what}: no records");
    let sum: u64 = [
        "records",
        "ignored",
        "blank",
        "rejected",
        "filtered",
        "duplicates",
    ]
    .iter()
    .map(|k| t[k].as_u64().unwrap_or(0))
    .sum();
    assert_eq!(
        sum,
        t["lines"].as_u64().unwrap(),
        "{what}: line accounting {t}"
    );
}

/// Matches the findings against the expected ones; returns the problems (empty when exact).
fn check(what: &str, expected: &[Expect], actual: &[Row]) -> Vec<String> {
    let mut left: Vec<&Row> = actual.iter().collect();
    let mut problems = Vec::new();
    fn take<'r>(
        left: &mut Vec<&'r Row>,
        x: &Expect,
        severity: &str,
        ip: Option<&str>,
    ) -> Option<&'r Row> {
        let pos = left.iter().position(|r| {
            get(r, "kind") == Some(x.kind)
                && get(r, "severity") == Some(severity)
                && get(r, "user") == x.user
                && get(r, "client_ip") == ip
                && get(r, "detail").is_some_and(|d| d.contains(x.detail))
        });
        pos.map(|i| left.remove(i))
    }
    for x in expected {
        let found = match take(&mut left, x, x.severity, x.client_ip) {
            Some(r) => {
                if let Some((why, _, _)) = x.pending {
                    eprintln!(
                        "{what}: known-pending now correct ({why}): {} {}",
                        x.kind, x.detail
                    );
                }
                Some(r)
            }
            None => match x.pending {
                Some((why, sev, ip)) if !ENFORCE_PENDING => {
                    let r = take(&mut left, x, sev, ip);
                    if r.is_some() {
                        eprintln!(
                            "{what}: KNOWN PENDING ({why}): {} {:?} is {sev}/{ip:?}, should be {}/{:?}",
                            x.kind, x.detail, x.severity, x.client_ip
                        );
                    }
                    r
                }
                _ => None,
            },
        };
        match (found, x.count) {
            (None, _) => problems.push(format!("{what}: missing {x:?}")),
            (Some(r), Some(n)) if get(r, "count") != Some(n.to_string().as_str()) => {
                problems.push(format!(
                    "{what}: {} count {:?}, expected {n}",
                    x.kind,
                    get(r, "count")
                ))
            }
            _ => {}
        }
    }
    for r in left {
        problems.push(format!("{what}: unexpected finding {r:?}"));
    }
    problems
}

/// The findings without their evidence (`file:line` differs between wrappings), sorted.
fn comparable(rows: &[Row], drop: &[&str]) -> Vec<Vec<(String, Option<String>)>> {
    let mut v: Vec<_> = rows
        .iter()
        .map(|r| {
            r.iter()
                .filter(|(k, _)| !drop.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    v.sort();
    v
}

fn files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| keep(p.file_name().unwrap().to_str().unwrap()))
        .collect();
    v.sort();
    v
}

/// MariaDB's audit files oldest first: `server_audit.log.NN` (higher is older), then the live one.
fn mariadb_files_oldest_first(dir: &Path) -> Vec<PathBuf> {
    let mut v = files(dir, |n| n.starts_with("server_audit.log"));
    v.sort_by_key(|p| {
        let n = p.file_name().unwrap().to_str().unwrap();
        let k: i64 = n.rsplit('.').next().unwrap().parse().unwrap_or(0);
        -k
    });
    v
}

/// A log's CloudWatch events: a line, or a PostgreSQL entry with its continuation lines, with
/// the entry's own time in epoch ms.
fn cloudwatch_events(text: &str, postgres: bool) -> Vec<(i64, String)> {
    let mut v: Vec<(i64, String)> = Vec::new();
    for line in text.lines() {
        let t = line_time_ms(line, postgres);
        match (t, v.last_mut()) {
            (None, Some(last)) if postgres => {
                last.1.push('\n');
                last.1.push_str(line);
            }
            (Some(t), _) => v.push((t, line.to_string())),
            (None, _) => panic!("a line with no time: {line:?}"),
        }
    }
    v
}

/// The time at the start of a MariaDB (`YYYYMMDD HH:MM:SS,`) or PostgreSQL
/// (`YYYY-MM-DD HH:MM:SS UTC:`) line; None for a PostgreSQL continuation line.
fn line_time_ms(line: &str, postgres: bool) -> Option<i64> {
    let s = if postgres {
        let b = line.as_bytes();
        if b.len() < 24 || b[4] != b'-' || b[7] != b'-' || &line[19..24] != " UTC:" {
            return None;
        }
        line[..19].replace('-', "")
    } else {
        line.get(..17)?.to_string()
    };
    let t = chrono::NaiveDateTime::parse_from_str(&s, "%Y%m%d %H:%M:%S").ok()?;
    Some(t.and_utc().timestamp_millis())
}

fn gzip(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut z = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    z.write_all(bytes).unwrap();
    z.finish().unwrap();
}

/// CloudWatch S3-export lines: `2026-03-01T12:00:00.000Z <message>`, a multi-line message
/// written with its newlines, gzip, as `000000.gz`.
fn write_s3_export(events: &[(i64, String)], path: &Path) {
    let mut out = String::new();
    for (ms, msg) in events {
        let t = chrono::DateTime::from_timestamp_millis(*ms).unwrap();
        out.push_str(&t.format("%Y-%m-%dT%H:%M:%S%.3fZ ").to_string());
        out.push_str(msg);
        out.push('\n');
    }
    gzip(path, out.as_bytes());
}

/// CloudWatch subscription-filter deliveries as Firehose writes them: gzip, no extension, a
/// `CONTROL_MESSAGE` first, then `DATA_MESSAGE` objects of 50 events back to back.
fn write_json_delivery(events: &[(i64, String)], group: &str, path: &Path) {
    let mut out = String::new();
    let first = events.first().map_or(0, |e| e.0);
    out.push_str(
        &serde_json::json!({
            "messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "",
            "logStream": "", "subscriptionFilters": [],
            "logEvents": [{"id": "", "timestamp": first,
                "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose."}]
        })
        .to_string(),
    );
    for (k, batch) in events.chunks(50).enumerate() {
        let evs: Vec<Value> = batch
            .iter()
            .enumerate()
            .map(|(j, (ms, msg))| {
                serde_json::json!({"id": format!("{ms:026}{:030}", k * 50 + j), "timestamp": ms, "message": msg})
            })
            .collect();
        out.push_str(
            &serde_json::json!({
                "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": group,
                "logStream": "fxrs-instance", "subscriptionFilters": ["fxrs-to-firehose"],
                "logEvents": evs
            })
            .to_string(),
        );
    }
    gzip(path, out.as_bytes());
}

fn read_all(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

#[test]
fn real_servers_give_exactly_the_planted_findings() {
    let Some(script) = support::real_servers_script(
        "real_servers",
        ". Run as root after `scripts/real-servers.sh install` \
             (.ci/run does both).",
    ) else {
        return;
    };

    let dir = tempfile::Builder::new().prefix("fxrs-").tempdir().unwrap();
    let kept;
    let d = if std::env::var_os("FORENSICS_REAL_SERVERS_KEEP").is_some() {
        kept = dir.keep();
        eprintln!("real servers: folder kept at {}", kept.display());
        kept.as_path()
    } else {
        dir.path()
    };
    let t0 = Instant::now();
    let run = Command::new("bash")
        .arg(&script)
        .arg("run")
        .arg(d)
        .status()
        .unwrap();
    assert!(run.success(), "scripts/real-servers.sh run failed");
    eprintln!(
        "real servers: setup and scenarios {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let t1 = Instant::now();

    let my_dir = d.join("logs/mariadb");
    let pg_dir = d.join("logs/postgres");
    let my_files = mariadb_files_oldest_first(&my_dir);
    assert!(
        my_files.len() >= 2,
        "server_audit did not rotate: {my_files:?}"
    );
    let pg_stderr = files(&pg_dir, |n| {
        n.starts_with("postgresql.log.") && !n.ends_with(".csv")
    });
    let pg_csv = files(&pg_dir, |n| {
        n.starts_with("postgresql.log.") && n.ends_with(".csv")
    });
    assert!(
        !pg_stderr.is_empty() && !pg_csv.is_empty(),
        "PostgreSQL logs missing"
    );

    let out = |n: &str| d.join("out").join(n);
    let mut problems = Vec::new();

    // MariaDB: the rotated folder as RDS hands it out, 2 threads and 1.
    let my = scan(std::slice::from_ref(&my_dir), &out("mariadb"), 2);
    assert_no_rejects("mariadb", &my);
    problems.extend(check("mariadb", &expected_mariadb(), &my.findings));
    let my1 = scan(std::slice::from_ref(&my_dir), &out("mariadb-1"), 1);
    assert_eq!(my.findings, my1.findings, "mariadb: 1 and 2 threads differ");

    // PostgreSQL stderr and csvlog, 2 threads and 1.
    let pg = scan(&pg_stderr, &out("pg-stderr"), 2);
    assert_no_rejects("postgres stderr", &pg);
    problems.extend(check("postgres stderr", &expected_postgres(), &pg.findings));
    let pg1 = scan(&pg_stderr, &out("pg-stderr-1"), 1);
    assert_eq!(
        pg.findings, pg1.findings,
        "postgres stderr: 1 and 2 threads differ"
    );
    let csv = scan(&pg_csv, &out("pg-csv"), 2);
    assert_no_rejects("postgres csvlog", &csv);
    problems.extend(check(
        "postgres csvlog",
        &expected_postgres(),
        &csv.findings,
    ));
    let csv1 = scan(&pg_csv, &out("pg-csv-1"), 1);
    assert_eq!(
        csv.findings, csv1.findings,
        "postgres csvlog: 1 and 2 threads differ"
    );
    // csvlog times have milliseconds and stderr's `%t` whole seconds, so times, the details
    // that quote them, and the evidence differ; the findings themselves must not.
    assert_eq!(
        pg.summary["totals"]["records"], csv.summary["totals"]["records"],
        "postgres: stderr and csvlog give different record counts"
    );
    let (pg_text, csv_text) = (query_texts(&out("pg-stderr")), query_texts(&out("pg-csv")));
    if pg_text != csv_text {
        let (a, b) = pg_text
            .iter()
            .zip(&csv_text)
            .find(|(a, b)| a != b)
            .expect("same number of statements");
        let msg = format!("postgres: stderr statement text {a:?}, csvlog {b:?}");
        if ENFORCE_STDERR_TEXT {
            problems.push(msg);
        } else {
            eprintln!("KNOWN PENDING (stderr continuation tab): {msg}");
        }
    }
    let loose = [
        "first_seen",
        "last_seen",
        "detail",
        "evidence",
        "finding_id",
    ];
    assert_eq!(
        comparable(&pg.findings, &loose),
        comparable(&csv.findings, &loose),
        "postgres: stderr and csvlog give different findings"
    );

    // The same lines wrapped by CloudWatch: S3-export lines and JSON deliveries.
    let my_events = cloudwatch_events(&read_all(&my_files), false);
    let pg_events = cloudwatch_events(&read_all(&pg_stderr), true);
    let cw = d.join("cloudwatch");
    for (name, events, group, plain) in [
        ("mariadb", &my_events, "/aws/rds/instance/fxrs/audit", &my),
        (
            "postgres",
            &pg_events,
            "/aws/rds/instance/fxrs/postgresql",
            &pg,
        ),
    ] {
        let s3 = cw.join(format!("s3/{name}/fxrs-instance/000000.gz"));
        write_s3_export(events, &s3);
        let json = cw.join(format!("json/{name}/fxrs-to-firehose-1-2026"));
        write_json_delivery(events, group, &json);
        for (wrap, path) in [("s3-export", s3), ("json", json)] {
            let what = format!("{name} {wrap}");
            let s = scan(&[path], &out(&what.replace(' ', "-")), 2);
            assert_no_rejects(&what, &s);
            assert_eq!(
                comparable(&plain.findings, &["evidence", "finding_id"]),
                comparable(&s.findings, &["evidence", "finding_id"]),
                "{what}: findings differ from the plain logs"
            );
        }
    }
    eprintln!(
        "real servers: scans and checks {:.1} s",
        t1.elapsed().as_secs_f64()
    );

    // The findings table, for the record.
    for (name, s) in [("mariadb", &my), ("postgres", &pg)] {
        for r in &s.findings {
            eprintln!(
                "{name}: {} {} user={:?} ip={:?} db={:?} count={:?} | {}",
                get(r, "kind").unwrap_or(""),
                get(r, "severity").unwrap_or(""),
                get(r, "user"),
                get(r, "client_ip"),
                get(r, "database"),
                get(r, "count"),
                get(r, "detail").unwrap_or("")
            );
        }
    }
    assert!(
        problems.is_empty(),
        "findings differ from the plan:\n{}",
        problems.join("\n")
    );
}
