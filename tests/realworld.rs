//! Real log files from public projects (`testdata/realworld/`, provenance in its
//! PROVENANCE.md): every line is an event, an ignored server message or a blank, none is
//! rejected, whole or cut into tiny chunks, and each file is read as the format it is.

use std::path::{Path, PathBuf};

use forensics::sink::summary::Summary;

/// (file, format, lines, records, ignored, blank).
const FILES: &[(&str, &str, u64, u64, u64, u64)] = &[
    (
        "aurora-audit/awsdocs-aurora-troubleshooting-failed-connect.log",
        "aurora_mysql_audit",
        2,
        2,
        0,
        0,
    ),
    (
        "aurora-audit/ibm-uc-aurora-filtertest-single.log",
        "aurora_mysql_audit",
        1,
        1,
        0,
        0,
    ),
    (
        "mariadb-audit/awsdocs-prescriptive-rds-mysql-socket.log",
        "mysql_audit",
        8,
        8,
        0,
        0,
    ),
    (
        "mariadb-audit/ibm-uc-ec2-mariadb-sample_audit_log.log",
        "mysql_audit",
        37,
        36,
        0,
        1,
    ),
    (
        "mariadb-audit/ibm-uc-rds-mariadb-sample_audit_log.log",
        "mysql_audit",
        13,
        13,
        0,
        0,
    ),
    (
        "mariadb-audit/personio-rds-mysql-collector-test.log",
        "mysql_audit",
        10,
        10,
        0,
        0,
    ),
    (
        "mariadb-audit/personio-rds-mysql-parser-test.log",
        "mysql_audit",
        25,
        25,
        0,
        0,
    ),
    (
        "postgres-csvlog/beats-pg11-connection-disconnection.csv",
        "postgres_csvlog",
        28,
        13,
        15,
        0,
    ),
    (
        "postgres-csvlog/pgaudit-analyze-test-2015.csv",
        "postgres_csvlog",
        658,
        198,
        460,
        0,
    ),
    // `%m [%p] ` with log_error_verbosity = verbose: one connection, three statements.
    (
        "postgres-stderr/beats-pg11.4-verbose-connauth.log",
        "postgres",
        29,
        4,
        25,
        0,
    ),
    // Debian's `%m [%p] %q%u@%d `: eleven `duration: ... statement:` entries.
    (
        "postgres-stderr/beats-pg9.6-debian-slowlog.log",
        "postgres",
        61,
        11,
        50,
        0,
    ),
    // `%t [%p]: db=%d,user=%u,app=%a,client=%h `: eight sessions, authorized + disconnection.
    (
        "postgres-stderr/pgbadger-begin_end-dbuserappclient-prefix.log",
        "postgres",
        24,
        16,
        8,
        0,
    ),
    (
        "postgres-stderr/pgbadger-rds-prefix-head600.log",
        "postgres",
        600,
        592,
        8,
        0,
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/realworld")
}

fn scan(path: &Path, out: &Path, chunk_bytes: Option<usize>) -> Summary {
    let opts = forensics::ScanOptions {
        paths: vec![path.to_path_buf()],
        out: out.to_path_buf(),
        since_us: None,
        until_us: None,
        threads: 2,
        force: true,
        no_events: true,
        format: Default::default(),
        clock: Default::default(),
        analysis: Default::default(),
        progress: false,
        chunk_bytes,
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
    forensics::scan(&opts).expect("scan runs").summary
}

#[test]
fn every_line_of_the_real_files_is_accounted_for_and_none_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for &(file, format, lines, records, ignored, blank) in FILES {
        let path = root().join(file);
        for chunk in [None, Some(97)] {
            let s = scan(&path, &tmp.path().join("out"), chunk);
            let t = &s.totals;
            let got = (
                s.inputs[0].format.clone().unwrap_or_default(),
                t.lines,
                t.records,
                t.ignored,
                t.blank,
                t.rejected,
            );
            let want = (format.to_string(), lines, records, ignored, blank, 0);
            if got != want {
                problems.push(format!(
                    "{file} (chunks {chunk:?}): got {got:?}, want {want:?}"
                ));
            }
            if t.lines != t.records + t.ignored + t.blank + t.rejected {
                problems.push(format!("{file}: lines do not add up: {t:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The whole folder in one run: the same totals as the files one by one.
#[test]
fn the_whole_folder_reads_as_its_files_do() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scan(&root(), &tmp.path().join("out"), None);
    let sum = |i: usize| -> u64 { FILES.iter().map(|f| [f.2, f.3, f.4, f.5][i]).sum::<u64>() };
    let t = &s.totals;
    assert_eq!(
        (t.lines, t.records, t.ignored, t.blank, t.rejected),
        (sum(0), sum(1), sum(2), sum(3), 0)
    );
    // PROVENANCE.md is not a log.
    assert_eq!(t.files_skipped, 1, "{:?}", s.inputs);
}
