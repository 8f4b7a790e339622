//! Issue #21's proof on real servers: the least-privilege accounts `scan --privileges`
//! suggests are enough, and no more, for what each application user did.
//!
//! With the servers and scenarios of `tests/real_servers.rs` (`scripts/real-servers.sh up`,
//! then `serve`): the logs are scanned with `--privileges`; then, for each application user of
//! each engine (not the master user), the user is dropped and created again with exactly its
//! section of `privileges.sql` (and, for PostgreSQL, its suggested `pg_hba.conf` lines), and
//! every statement it ran is replayed from the scan's events, through the real client, from
//! its own source address (its client namespace), with TLS where its session used TLS: all
//! must succeed. A statement it never ran on a table it never touched must be denied, and a
//! login without TLS must be refused where every session used TLS (PostgreSQL: the log
//! records TLS; MariaDB's `server_audit` does not, so no `REQUIRE SSL` is suggested and the
//! test checks that the section says so).
//!
//! Skips like `tests/real_servers.rs` (same `FORENSICS_REAL_SERVERS` switch); it holds the
//! lock `scripts/real-servers.sh run` takes, so the two never share the namespaces.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int32Type, Int64Type};

const SRV: &str = "10.77.0.1";
const PASSWORD: &str = "CHANGE_ME";

fn namespace_of(ip: &str) -> &'static str {
    match ip {
        "10.77.0.10" => "fxrs-app",
        "10.77.0.20" => "fxrs-adm",
        "10.77.0.30" => "fxrs-job",
        "10.77.0.200" => "fxrs-atk",
        "10.77.0.201" => "fxrs-spr",
        other => panic!("no client namespace for {other}"),
    }
}

/// One event of the scan's `events/`, as the replay needs it.
#[derive(Clone, Debug)]
struct Ev {
    time: i64,
    user: String,
    ip: Option<String>,
    conn: i64,
    query: i64,
    op: String,
    db: Option<String>,
    object: Option<String>,
    retcode: Option<i32>,
    tls: Option<bool>,
}

fn read_events(dir: &Path) -> Vec<Ev> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = walk(&dir.join("events"));
    files.sort();
    for f in files {
        let file = std::fs::File::open(&f).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for b in reader {
            let b = b.unwrap();
            let s = |n: &str| {
                arrow::compute::cast(b.column_by_name(n).unwrap(), &DataType::Utf8)
                    .unwrap()
                    .as_string::<i32>()
                    .clone()
            };
            let (user, ip, op, db, object) = (
                s("user"),
                s("client_ip"),
                s("operation"),
                s("database"),
                s("object"),
            );
            let time = b
                .column_by_name("event_time_us")
                .unwrap()
                .as_primitive::<Int64Type>()
                .clone();
            let conn = b.column_by_name("connection_id").unwrap();
            let conn = arrow::compute::cast(conn, &DataType::Int64).unwrap();
            let conn = conn.as_primitive::<Int64Type>().clone();
            let query = b
                .column_by_name("query_id")
                .unwrap()
                .as_primitive::<Int64Type>()
                .clone();
            let rc = b
                .column_by_name("retcode")
                .unwrap()
                .as_primitive::<Int32Type>()
                .clone();
            let tls = b.column_by_name("tls").unwrap().as_boolean().clone();
            let opt = |a: &arrow::array::StringArray, i: usize| {
                a.is_valid(i).then(|| a.value(i).to_string())
            };
            for i in 0..b.num_rows() {
                out.push(Ev {
                    time: time.value(i),
                    user: user.value(i).to_string(),
                    ip: opt(&ip, i),
                    conn: conn.value(i),
                    query: query.value(i),
                    op: op.value(i).to_string(),
                    db: opt(&db, i),
                    object: opt(&object, i),
                    retcode: rc.is_valid(i).then(|| rc.value(i)),
                    tls: tls.is_valid(i).then(|| tls.value(i)),
                });
            }
        }
    }
    out.sort_by_key(|e| e.time);
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "parquet") {
            v.push(p);
        }
    }
    v
}

/// A user's sessions: (source, TLS, database at login, statements in order).
struct Session {
    ip: String,
    tls: Option<bool>,
    db: Option<String>,
    statements: Vec<(Option<String>, String)>,
}

fn sessions_of(events: &[Ev], user: &str) -> Vec<Session> {
    // Logins first: rotated MariaDB files are read newest first, so within a second of
    // rotation a session's statements may come before its login in `events/`.
    let mut by_conn: BTreeMap<i64, (Session, Vec<Statement>)> = BTreeMap::new();
    for e in events.iter().filter(|e| e.user == user) {
        if e.op == "CONNECT" && e.retcode.unwrap_or(0) == 0 {
            let s = Session {
                ip: e.ip.clone().expect("an address"),
                tls: e.tls,
                db: e.db.clone(),
                statements: Vec::new(),
            };
            by_conn.insert(e.conn, (s, Vec::new()));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for e in events.iter().filter(|e| e.user == user) {
        if e.op == "QUERY" && e.retcode.unwrap_or(0) == 0 {
            let Some(text) = &e.object else { continue };
            // pgaudit's substatements and repeated records carry the same statement id.
            if text.starts_with('<') || !seen.insert((e.conn, e.query, text.clone())) {
                continue;
            }
            let (_, list) = by_conn
                .get_mut(&e.conn)
                .unwrap_or_else(|| panic!("{user}: a statement without its login: {text}"));
            list.push((e.query, e.db.clone(), text.clone()));
        }
    }
    // In the order the session ran them (statement ids grow within a session).
    by_conn
        .into_values()
        .filter(|(_, l)| !l.is_empty())
        .map(|(mut s, mut l)| {
            l.sort_by_key(|x| x.0);
            s.statements = l.into_iter().map(|(_, db, t)| (db, t)).collect();
            s
        })
        .collect()
}

/// A statement of a session: (statement id, database, text).
type Statement = (i64, Option<String>, String);

/// The section of `privileges.sql` for `user` (from its `-- user:` line to the next).
fn section(sql: &str, user: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in sql.lines() {
        if let Some(u) = line.strip_prefix("-- user: ") {
            inside = u == user;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(!out.is_empty(), "no section for {user} in:\n{sql}");
    out
}

fn run(mut c: Command, stdin: &str) -> Output {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn my_root(d: &Path, sql: &str) -> Output {
    let mut c = Command::new("mariadb");
    c.args(["--defaults-file=/dev/null", "-uroot", "--batch"])
        .arg(format!("-S{}", d.join("mariadb/mysqld.sock").display()));
    run(c, sql)
}

fn my_client(d: &Path, ns: &str, user: &str, tls: bool, db: Option<&str>, sql: &str) -> Output {
    let mut c = Command::new("ip");
    c.args([
        "netns",
        "exec",
        ns,
        "mariadb",
        "--defaults-file=/dev/null",
        "--batch",
    ])
    .args(["-h", SRV, "-P", "3306", "-u", user])
    .arg(format!("-p{PASSWORD}"))
    .arg("--connect-timeout=10");
    if tls {
        c.arg("--ssl")
            .arg(format!("--ssl-ca={}", d.join("tls/ca.pem").display()))
            .arg("--ssl-verify-server-cert");
    } else {
        c.arg("--skip-ssl");
    }
    if let Some(db) = db {
        c.arg(db);
    }
    run(c, sql)
}

fn pg_root(d: &Path, db: &str, sql: &str) -> Output {
    let mut c = Command::new("psql");
    c.args([
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        "postgres",
        "-d",
        db,
    ])
    .arg("-h")
    .arg(d.join("pg"));
    run(c, sql)
}

fn pg_client(d: &Path, ns: &str, user: &str, tls: bool, db: &str, sql: &str) -> Output {
    let mode = if tls {
        format!(
            "sslmode=verify-full sslrootcert={}",
            d.join("tls/ca.pem").display()
        )
    } else {
        "sslmode=disable".to_string()
    };
    let mut c = Command::new("ip");
    c.args([
        "netns",
        "exec",
        ns,
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
    ])
    .arg(format!(
        "host={SRV} port=5432 user={user} dbname={db} {mode}"
    ))
    .env("PGPASSWORD", PASSWORD)
    .env("PGCONNECT_TIMEOUT", "10");
    run(c, sql)
}

fn ok(what: &str, o: &Output) {
    assert!(
        o.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn denied(what: &str, o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr).to_lowercase();
    assert!(
        !o.status.success() && err.contains(needle),
        "{what} was not refused as expected ({needle}): {err}"
    );
}

/// No grant of a table the user never touched, of ALL, or with GRANT OPTION.
fn assert_narrow(sec: &str) {
    for l in sec.lines().filter(|l| l.starts_with("GRANT")) {
        assert!(
            !l.contains("audit_tmp")
                && !l.starts_with("GRANT ALL")
                && !l.contains(" ON ALL ")
                && !l.contains("*.*")
                && !l.contains("GRANT OPTION"),
            "not narrow: {l}"
        );
    }
}

/// Tears down the namespaces and servers however the test ends, and drops the lock.
struct Guard {
    script: PathBuf,
    dir: PathBuf,
    _lock: std::fs::File,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("teardown")
            .arg(&self.dir)
            .status();
    }
}

fn scan(d: &Path, inputs: &[PathBuf], out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_forensics"))
        .arg("scan")
        .args(inputs)
        .arg("-o")
        .arg(out)
        .args(["--quiet", "--privileges", "--master-user", "admin"])
        .args(["--admin-host", "10.77.0.20/32", "--allow", "10.77.0.0/25"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = d;
}

#[test]
fn suggested_privileges_are_enough_and_no_more_on_real_servers() {
    let Some(script) = support::real_servers_script("real_privileges", "") else {
        return;
    };
    // The lock `scripts/real-servers.sh run` takes: one user of the fxrs-* names at a time.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open("/tmp/fxrs-real-servers.lock")
        .unwrap();
    use std::os::fd::AsRawFd;
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);

    let tmp = tempfile::Builder::new()
        .prefix("fxrs-priv-")
        .tempdir()
        .unwrap();
    let d = if std::env::var_os("FORENSICS_REAL_SERVERS_KEEP").is_some() {
        let k = tmp.keep();
        eprintln!("real privileges: folder kept at {}", k.display());
        k
    } else {
        tmp.path().to_path_buf()
    };
    let _guard = Guard {
        script: script.clone(),
        dir: d.clone(),
        _lock: lock,
    };
    let up = Command::new("bash")
        .arg(&script)
        .arg("up")
        .arg(&d)
        .status()
        .unwrap();
    assert!(up.success(), "scripts/real-servers.sh up failed");

    let my_logs = d.join("logs/mariadb");
    let pg_logs: Vec<PathBuf> = std::fs::read_dir(d.join("logs/postgres"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".csv"))
        .collect();
    let my_out = d.join("out-mariadb");
    let pg_out = d.join("out-postgres");
    scan(&d, std::slice::from_ref(&my_logs), &my_out);
    scan(&d, &pg_logs, &pg_out);
    let my_sql = std::fs::read_to_string(my_out.join("privileges.sql")).unwrap();
    let pg_sql = std::fs::read_to_string(pg_out.join("privileges.sql")).unwrap();
    eprintln!("--- MariaDB privileges.sql\n{my_sql}\n--- PostgreSQL privileges.sql\n{pg_sql}");
    // `forensics privileges DIR` writes the same from the events.
    for out in [&my_out, &pg_out] {
        let sql = std::fs::read(out.join("privileges.sql")).unwrap();
        let md = std::fs::read(out.join("privileges.md")).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_forensics"))
            .arg("privileges")
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(std::fs::read(out.join("privileges.sql")).unwrap(), sql);
        assert_eq!(std::fs::read(out.join("privileges.md")).unwrap(), md);
    }
    // The master user is called out, with the application host it was used from.
    let md = std::fs::read_to_string(my_out.join("privileges.md")).unwrap();
    assert!(md.contains("The master user in applications") && md.contains("10.77.0.10"));
    for sql in [&my_sql, &pg_sql] {
        let admin = section(sql, "admin");
        assert!(
            admin
                .lines()
                .filter(|l| !l.is_empty())
                .all(|l| l.starts_with("--")),
            "the master user's section must be comments only:\n{admin}"
        );
    }

    let serve = Command::new("bash")
        .arg(&script)
        .arg("serve")
        .arg(&d)
        .status()
        .unwrap();
    assert!(serve.success(), "scripts/real-servers.sh serve failed");

    // The grants the servers hold now, as their own clients print them, read by `--grants`:
    // what the scenario's users hold but never used.
    let mut my_grants = String::new();
    for account in ["'app'@'%'", "'job'@'%'"] {
        let o = my_root(&d, &format!("SHOW GRANTS FOR {account};"));
        ok("show grants", &o);
        my_grants += &String::from_utf8_lossy(&o.stdout);
    }
    let mut pg_grants = String::new();
    for db in ["shop", "billing"] {
        let o = pg_root(&d, db, "\\dp\n");
        ok("\\dp", &o);
        pg_grants += &format!("-- database: {db}\n{}", String::from_utf8_lossy(&o.stdout));
    }
    eprintln!("--- grants\n{my_grants}\n{pg_grants}");
    let my_expected: &[&str] = &[
        // app holds SELECT, INSERT, UPDATE, DELETE on shop.* and SELECT on billing.*.
        "on shop.\\* \\(grants file line 3\\): never used: DELETE; wider than used: SELECT \\(used only on shop.customers, shop.orders\\); INSERT \\(used only on shop.orders\\); UPDATE \\(used only on shop.orders\\)",
        "on billing.\\* \\(grants file line 4\\): wider than used: SELECT \\(used only on billing.invoices\\)",
    ];
    let pg_expected: &[&str] = &[
        // app holds arwd on every table of shop and USAGE on both sequences.
        "on shop.public.customers \\(grants file line 9\\): never used: INSERT, UPDATE, DELETE\n",
        "on shop.public.orders \\(grants file line 15\\): never used: DELETE\n",
        "on shop.public.audit\\_tmp \\(grants file line 6\\): never used: INSERT, SELECT, UPDATE, DELETE\n",
        "on shop.public.customers\\_id\\_seq \\(grants file line 13\\): never used: USAGE\n",
    ];
    for (out, text, expected) in [
        (&my_out, &my_grants, my_expected),
        (&pg_out, &pg_grants, pg_expected),
    ] {
        let file = d.join("grants.txt");
        std::fs::write(&file, text).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_forensics"))
            .arg("privileges")
            .arg(out)
            .arg("--grants")
            .arg(&file)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let md = std::fs::read_to_string(out.join("privileges.md")).unwrap();
        let app = md.split("## app ").nth(1).expect("app's part");
        let app = app.split("\n## ").next().unwrap();
        for e in expected {
            assert!(app.contains(e), "{e}\nnot in:\n{app}");
        }
        // Used, so not listed: the sequence the INSERTs drew from.
        assert!(!app.contains("orders\\_id\\_seq"), "{app}");
    }
    // The suggestions with the grants file are the ones applied below: MariaDB's log does not
    // record TLS, but app's account requires it now, so every one of its sessions used TLS.
    let my_sql = std::fs::read_to_string(my_out.join("privileges.sql")).unwrap();
    let pg_sql = std::fs::read_to_string(pg_out.join("privileges.sql")).unwrap();

    // MariaDB.
    let my_events = read_events(&my_out);
    for (user, untouched, unobserved) in [
        (
            "app",
            "SELECT * FROM shop.audit_tmp",
            "DELETE FROM shop.customers WHERE id = 1",
        ),
        (
            "job",
            "SELECT * FROM shop.audit_tmp",
            "INSERT INTO shop.customers (name) VALUES ('x')",
        ),
    ] {
        let sec = section(&my_sql, user);
        assert_narrow(&sec);
        let requires = sec
            .lines()
            .any(|l| l.starts_with("CREATE USER") && l.ends_with(" REQUIRE SSL;"));
        if user == "app" {
            assert!(requires && sec.contains("requires it now"), "{sec}");
        } else {
            assert!(!requires && sec.contains("does not record TLS"), "{sec}");
        }
        let hosts = my_root(
            &d,
            &format!("SELECT Host FROM mysql.user WHERE User = '{user}'"),
        );
        ok("list hosts", &hosts);
        let mut drop = String::new();
        for h in String::from_utf8_lossy(&hosts.stdout).lines().skip(1) {
            drop += &format!("DROP USER '{user}'@'{h}';\n");
        }
        ok(&format!("mariadb: drop {user}"), &my_root(&d, &drop));
        ok(
            &format!("mariadb: create {user} as suggested"),
            &my_root(&d, &sec),
        );
        let sessions = sessions_of(&my_events, user);
        assert!(!sessions.is_empty(), "no sessions of {user}");
        let mut replayed = 0;
        for s in &sessions {
            let mut script = String::new();
            let mut current = s.db.clone();
            for (db, text) in &s.statements {
                if db.is_some() && db != &current {
                    script += &format!("USE `{}`;\n", db.as_deref().unwrap_or(""));
                    current = db.clone();
                }
                script += text;
                script += ";\n";
                replayed += 1;
            }
            // The log's TLS where it says, else what the account requires.
            let o = my_client(
                &d,
                namespace_of(&s.ip),
                user,
                s.tls.unwrap_or(requires),
                s.db.as_deref(),
                &script,
            );
            ok(
                &format!(
                    "mariadb: replay of {user}'s session from {}:\n{script}",
                    s.ip
                ),
                &o,
            );
        }
        eprintln!(
            "mariadb: {user}: {replayed} statements in {} sessions replayed",
            sessions.len()
        );
        let ns = namespace_of(&sessions[0].ip);
        denied(
            &format!("mariadb: {user}: {untouched}"),
            &my_client(&d, ns, user, true, None, untouched),
            "command denied",
        );
        denied(
            &format!("mariadb: {user}: {unobserved}"),
            &my_client(&d, ns, user, true, None, unobserved),
            "command denied",
        );
        if requires {
            denied(
                &format!("mariadb: {user} without TLS"),
                &my_client(&d, ns, user, false, None, "SELECT 1"),
                "access denied",
            );
        }
        // From another source than the observed ones, the account does not exist.
        let other = if ns == "fxrs-app" {
            "fxrs-spr"
        } else {
            "fxrs-app"
        };
        denied(
            &format!("mariadb: {user} from {other}"),
            &my_client(&d, other, user, true, None, "SELECT 1"),
            "access denied",
        );
    }

    // PostgreSQL.
    let pg_events = read_events(&pg_out);
    let mut hba = String::from("local all all trust\n");
    for user in ["app", "job"] {
        for l in section(&pg_sql, user).lines() {
            if let Some(rule) = l.strip_prefix("--   ") {
                hba += rule;
                hba.push('\n');
            }
        }
    }
    eprintln!("pg_hba.conf from the suggestions:\n{hba}");
    std::fs::write(d.join("pg/data/pg_hba.conf"), &hba).unwrap();
    ok(
        "reload",
        &pg_root(&d, "postgres", "SELECT pg_reload_conf();"),
    );
    for (user, untouched, unobserved) in [
        (
            "app",
            "SELECT * FROM audit_tmp",
            "DELETE FROM customers WHERE id = 1",
        ),
        (
            "job",
            "SELECT * FROM audit_tmp",
            "INSERT INTO customers (name) VALUES ('x')",
        ),
    ] {
        let sec = section(&pg_sql, user);
        assert_narrow(&sec);
        for db in ["shop", "billing"] {
            ok(
                &format!("postgres: drop owned by {user} in {db}"),
                &pg_root(&d, db, &format!("DROP OWNED BY {user};")),
            );
        }
        ok(
            &format!("postgres: drop {user}"),
            &pg_root(&d, "postgres", &format!("DROP ROLE {user};")),
        );
        ok(
            &format!("postgres: create {user} as suggested"),
            &pg_root(&d, "postgres", &sec),
        );
        let sessions = sessions_of(&pg_events, user);
        assert!(!sessions.is_empty(), "no sessions of {user}");
        let mut replayed = 0;
        for s in &sessions {
            let db = s.db.clone().expect("a database");
            let mut script = String::new();
            for (_, text) in &s.statements {
                script += text;
                script += ";\n";
                replayed += 1;
            }
            let tls = s.tls == Some(true);
            let o = pg_client(&d, namespace_of(&s.ip), user, tls, &db, &script);
            ok(
                &format!(
                    "postgres: replay of {user}'s session from {} (tls {tls}) in {db}:\n{script}",
                    s.ip
                ),
                &o,
            );
        }
        eprintln!(
            "postgres: {user}: {replayed} statements in {} sessions replayed",
            sessions.len()
        );
        // The sequence grant is exactly the serial column's sequence the INSERTs used.
        let seqs = pg_root(
            &d,
            "shop",
            &format!(
                "SELECT c.relname FROM pg_class c WHERE c.relkind = 'S' \
                 AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege('{user}', c.oid, 'USAGE') END ORDER BY 1;"
            ),
        );
        ok("sequence privileges", &seqs);
        let seqs = String::from_utf8_lossy(&seqs.stdout).to_string();
        let expected = if user == "app" { "orders_id_seq" } else { "" };
        assert_eq!(
            seqs.lines()
                .skip(2)
                .filter(|l| l.trim().ends_with("_seq"))
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(","),
            expected,
            "{seqs}"
        );
        let first = &sessions[0];
        let ns = namespace_of(&first.ip);
        let db = first.db.as_deref().unwrap();
        let tls = first.tls == Some(true);
        denied(
            &format!("postgres: {user}: {untouched}"),
            &pg_client(&d, ns, user, tls, db, untouched),
            "permission denied",
        );
        denied(
            &format!("postgres: {user}: {unobserved}"),
            &pg_client(&d, ns, user, tls, db, unobserved),
            "permission denied",
        );
        let always_tls = sessions.iter().all(|s| s.tls == Some(true));
        if always_tls {
            assert!(sec.contains("--   hostssl"), "{sec}");
            denied(
                &format!("postgres: {user} without TLS"),
                &pg_client(&d, ns, user, false, db, "SELECT 1"),
                "no pg_hba.conf entry",
            );
        } else {
            assert!(!sec.contains("--   hostssl"), "{sec}");
        }
    }
}
