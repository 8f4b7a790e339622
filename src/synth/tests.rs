//! End-to-end tests of the generator: every flavor and wrapping through [`generate`], the
//! formats line by line, determinism, sizes, file names, and the ground truth against the
//! lines behind it.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::estate::{BASTION, PROFILES};
use super::layout::split_slices;
use super::time::{fmt_rfc3339, MS};
use super::{generate, parse_size, Compression, Flavor, SynthOptions};

/// A fresh empty folder under the system temp dir, removed on drop.
struct TmpDir(PathBuf);
impl TmpDir {
    fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "synth-test-{}-{}-{}",
            std::process::id(),
            tag,
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TmpDir(p)
    }
}
impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn opts(dir: &Path, size: u64, flavor: Flavor) -> SynthOptions {
    SynthOptions {
        out: dir.to_path_buf(),
        size_bytes: size,
        flavor,
        ..Default::default()
    }
}

fn ground_truth(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join("ground_truth.json")).unwrap()).unwrap()
}

fn read_decompressed(path: &Path) -> Vec<u8> {
    let raw = fs::read(path).unwrap();
    let name = path.to_string_lossy();
    if name.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else if name.ends_with(".zst") {
        zstd::stream::decode_all(&raw[..]).unwrap()
    } else {
        raw
    }
}

/// All lines of the corpus, files in ground-truth order, CloudWatch prefix removed.
fn corpus_lines(dir: &Path) -> Vec<String> {
    let gt = ground_truth(dir);
    let cw = gt["cloudwatch_export"].as_bool().unwrap();
    let mut lines = Vec::new();
    for f in gt["files"].as_array().unwrap() {
        let text = String::from_utf8(read_decompressed(&dir.join(f.as_str().unwrap()))).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "file {f} ends mid-line"
        );
        for l in text.lines() {
            let l = if cw {
                let (prefix, rest) = l.split_at(25);
                let p = prefix.as_bytes();
                assert!(
                    p[4] == b'-' && p[10] == b'T' && p[19] == b'.' && &p[23..] == b"Z ",
                    "bad CloudWatch prefix: {l}"
                );
                rest
            } else {
                l
            };
            lines.push(l.to_string());
        }
    }
    lines
}

/// Splits on commas outside the single-quoted query field (which may contain `\'`).
fn split_fields(line: &str) -> Vec<String> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut inq = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if inq {
            if c == b'\\' && i + 1 < b.len() {
                cur.extend_from_slice(&b[i..i + 2]);
                i += 2;
                continue;
            }
            if c == b'\'' {
                inq = false;
            }
            cur.push(c);
        } else if c == b',' {
            out.push(String::from_utf8(std::mem::take(&mut cur)).unwrap());
        } else {
            if c == b'\'' && cur.is_empty() {
                inq = true;
            }
            cur.push(c);
        }
        i += 1;
    }
    out.push(String::from_utf8(cur).unwrap());
    out
}

fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let gt = ground_truth(dir);
    let mut v: Vec<(String, Vec<u8>)> = gt["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let f = f.as_str().unwrap().to_string();
            let bytes = fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect();
    v.push((
        "ground_truth.json".into(),
        fs::read(dir.join("ground_truth.json")).unwrap(),
    ));
    v
}

#[test]
fn parse_size_accepts_common_forms() {
    assert_eq!(parse_size("1GiB"), Ok(1 << 30));
    assert_eq!(parse_size("1G"), Ok(1 << 30));
    assert_eq!(parse_size("512M"), Ok(512 << 20));
    assert_eq!(parse_size("500MB"), Ok(500_000_000));
    assert_eq!(parse_size("64k"), Ok(65_536));
    assert_eq!(parse_size("12345"), Ok(12_345));
    assert_eq!(parse_size(" 1.5g "), Ok(3 << 29));
    assert_eq!(parse_size("2 MiB"), Ok(2 << 20));
    assert!(parse_size("").is_err());
    assert!(parse_size("12Q").is_err());
    assert!(parse_size("G").is_err());
    assert!(parse_size("99999999999T").is_err());
}

#[test]
fn flavor_names_round_trip() {
    for f in [
        Flavor::RdsMysql,
        Flavor::Mariadb,
        Flavor::Aurora,
        Flavor::Postgres,
    ] {
        assert_eq!(f.to_string().parse::<Flavor>(), Ok(f));
    }
    assert_eq!("postgresql".parse::<Flavor>(), Ok(Flavor::Postgres));
    assert!("oracle".parse::<Flavor>().is_err());
}

#[test]
fn postgres_flavor_writes_hourly_rds_logs_with_every_record_form() {
    let d = TmpDir::new("pg");
    let r = generate(&opts(&d.0, 1_500_000, Flavor::Postgres)).unwrap();
    assert_eq!(r.files.len() as u32, r.days * 24);
    for (i, f) in r.files.iter().enumerate() {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let h = i % 24;
        assert!(
            name.starts_with("postgresql.log.2026-03-0") && name.ends_with(&format!("-{h:02}")),
            "{name}"
        );
        assert_eq!(f.parent().unwrap().file_name().unwrap(), "error");
    }
    let mut text = String::new();
    for f in &r.files {
        text.push_str(&String::from_utf8(fs::read(f).unwrap()).unwrap());
    }
    assert_eq!(text.matches('\n').count() as u64, r.lines);
    let (mut prefixed, mut continued) = (0, 0);
    for l in text.split('\n').filter(|l| !l.is_empty()) {
        let b = l.as_bytes();
        if b[0].is_ascii_digit() {
            // `%t:%r:%u@%d:[%p]:SEVERITY:  `
            assert!(b.len() > 30 && b[4] == b'-' && &l[19..24] == " UTC:", "{l}");
            let sev = l
                .match_indices(":[")
                .find_map(|(i, _)| {
                    let rest = &l[i + 2..];
                    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                    (n > 0 && rest[n..].starts_with("]:")).then(|| &rest[n + 2..])
                })
                .unwrap_or_else(|| panic!("{l}"));
            assert!(
                [
                    "LOG:  ",
                    "FATAL:  ",
                    "DETAIL:  ",
                    "ERROR:  ",
                    "HINT:  ",
                    "CONTEXT:  ",
                    "STATEMENT:  "
                ]
                .iter()
                .any(|s| sev.starts_with(s)),
                "{l}"
            );
            prefixed += 1;
        } else {
            continued += 1;
        }
    }
    assert!(prefixed > 1000 && continued > 100, "{prefixed} {continued}");
    for needle in [
        "connection authorized: user=app_orders database=orders application_name=PostgreSQL JDBC Driver SSL enabled (protocol=TLSv1.3",
        "UTC:[local]:rdsadmin@rdsadmin:[",
        "connection authorized: user=legacy_app database=legacy application_name=legacy-batch\n",
        "LOG:  AUDIT: SESSION,",
        "LOG:  statement: ",
        " ms  statement: ",
        "FATAL:  password authentication failed for user \"admin\"",
        "DETAIL:  Role \"root\" does not exist.\n\tConnection matched",
        "UTC:2001:db8:abcd::1234(",
        "UTC::@:[398]:LOG:  checkpoint starting: time",
        "automatic vacuum of table \"orders.public.cart_items\": index scans: 1\n\tpages:",
        "ERROR:  must be superuser",
        "disconnection: session time: ",
        "\"\"",
    ] {
        assert!(text.contains(needle), "missing {needle:?}");
    }
    // pgaudit CSV spanning lines: a quoted statement with a newline inside.
    assert!(
        text.contains(",READ,SELECT,,,\"SELECT"),
        "no quoted multi-line statement"
    );
    // Plaintext only for the planted session; the socket has no TLS at all.
    let plain: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("connection authorized") && !l.contains("SSL enabled"))
        .filter(|l| !l.contains("UTC:[local]:"))
        .collect();
    assert_eq!(plain.len(), 1, "{plain:?}");
    // MySQL-isms do not leak into the PostgreSQL dialect.
    assert!(!text.contains("\\'") && !text.contains("LAST_INSERT_ID") && !text.contains("@@"));
}

#[test]
fn postgres_ground_truth_has_the_same_incidents_and_the_plaintext_session() {
    let d = TmpDir::new("pggt");
    let r = generate(&opts(&d.0, 1_500_000, Flavor::Postgres)).unwrap();
    let gt = ground_truth(&d.0);
    assert_eq!(gt["flavor"], "postgres");
    // 46, and the threat-list hits (the brute-force success, its failures and the spray's).
    assert_eq!((r.incidents, r.expected_findings), (15, 49));
    assert!(
        r.days < 3,
        "too short for the anomalous logins (see baseline.rs)"
    );
    let k = kinds(&gt);
    assert_eq!(k["non_ssl_session"], 1);
    assert_eq!(k["unknown_source_ip"], 6);
    assert_eq!(k["cross_database"], 1);
    let stmts: Vec<&str> = gt["expected_findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["statement"].as_str())
        .collect();
    assert!(
        stmts.contains(&"SELECT pg_read_file('/etc/passwd')"),
        "{stmts:?}"
    );
    // Every statement finding is in the log as written (whitespace collapsed, as a finding
    // shows it; a multi-line statement's continuation lines have no prefix).
    let text: String = r
        .files
        .iter()
        .map(|f| String::from_utf8(fs::read(f).unwrap()).unwrap())
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for s in stmts {
        assert!(text.contains(s), "{s}");
    }
}

/// Decodes every JSON payload of a delivery file.
fn payloads(path: &Path) -> Vec<serde_json::Value> {
    let raw = fs::read(path).unwrap();
    assert_eq!(&raw[..2], &[0x1f, 0x8b], "{}: not gzip", path.display());
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut text)
        .unwrap();
    assert!(
        !text.contains(&b'\n'),
        "payloads are concatenated without separators"
    );
    serde_json::Deserializer::from_slice(&text)
        .into_iter::<serde_json::Value>()
        .map(|v| v.unwrap())
        .collect()
}

#[test]
fn cloudwatch_json_wraps_any_flavor_as_firehose_deliveries() {
    for (flavor, stream) in [
        (Flavor::RdsMysql, "prod-mysql-1"),
        (Flavor::Postgres, "prod-postgres-1"),
    ] {
        let d = TmpDir::new("cwj");
        let mut o = opts(&d.0, 1_200_000, flavor);
        o.cloudwatch_json = true;
        let r = generate(&o).unwrap();
        assert!(ground_truth(&d.0)["cloudwatch_json"].as_bool().unwrap());
        let (mut controls, mut events, mut lines) = (0, 0u64, 0u64);
        for (i, f) in r.files.iter().enumerate() {
            let rel = f
                .strip_prefix(&d.0)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            assert!(
                rel.starts_with("firehose/2026/03/") && !rel.contains(".gz"),
                "{rel}"
            );
            for p in payloads(f) {
                if p["messageType"] == "CONTROL_MESSAGE" {
                    assert_eq!(i, 0, "the control message opens the first delivery");
                    controls += 1;
                    continue;
                }
                assert_eq!(p["messageType"], "DATA_MESSAGE");
                assert_eq!(p["logStream"], stream);
                for e in p["logEvents"].as_array().unwrap() {
                    let m = e["message"].as_str().unwrap();
                    assert!(!m.ends_with('\n'), "{m}");
                    assert!(e["timestamp"].as_i64().unwrap() >= 1_772_323_200_000);
                    assert_eq!(e["id"].as_str().unwrap().len(), 56);
                    events += 1;
                    lines += 1 + m.matches('\n').count() as u64;
                }
            }
        }
        assert_eq!(controls, 1);
        assert_eq!(lines, r.lines, "{flavor}: every line is in some event");
        if flavor == Flavor::RdsMysql {
            assert_eq!(events, r.lines, "one event per audit line");
        } else {
            assert!(
                events < r.lines,
                "multi-line PostgreSQL records are one event each"
            );
        }
    }
    let d = TmpDir::new("both");
    let mut o = opts(&d.0, 400_000, Flavor::RdsMysql);
    o.cloudwatch_json = true;
    o.cloudwatch_export = true;
    assert_eq!(
        generate(&o).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
}

#[test]
fn same_seed_same_bytes_whatever_the_thread_count() {
    for flavor in [Flavor::RdsMysql, Flavor::Aurora] {
        let a = TmpDir::new("det-a");
        let b = TmpDir::new("det-b");
        let c = TmpDir::new("det-c");
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let ra = one
            .install(|| generate(&opts(&a.0, 1_500_000, flavor)))
            .unwrap();
        let rb = three
            .install(|| generate(&opts(&b.0, 1_500_000, flavor)))
            .unwrap();
        assert_eq!(ra.lines, rb.lines);
        assert_eq!(
            all_files(&a.0),
            all_files(&b.0),
            "{flavor}: thread count changed the bytes"
        );
        let mut o = opts(&c.0, 1_500_000, flavor);
        o.seed = 2;
        generate(&o).unwrap();
        assert_ne!(
            all_files(&a.0),
            all_files(&c.0),
            "{flavor}: seed has no effect"
        );
    }
}

fn check_formats(dir: &Path, flavor: Flavor) {
    let lines = corpus_lines(dir);
    let gt = ground_truth(dir);
    assert_eq!(lines.len() as u64, gt["lines"].as_u64().unwrap());
    let mut prev: Option<Vec<String>> = None;
    let mut pending_failed: Option<String> = None;
    for l in &lines {
        let f = split_fields(l);
        let op = f[6].as_str();
        if let Some(cid) = pending_failed.take() {
            assert!(
                op == "DISCONNECT" && f[4] == cid && f[9] == "0",
                "FAILED_CONNECT not followed by DISCONNECT: {l}"
            );
        }
        if op == "FAILED_CONNECT" {
            pending_failed = Some(f[4].clone());
        }
        match flavor {
            Flavor::RdsMysql => {
                let ts = f[0].as_bytes();
                assert!(ts.len() == 17 && ts[8] == b' ' && ts[11] == b':', "{l}");
                if op == "QUERY" {
                    assert_eq!(f.len(), 12, "{l}");
                    assert!(f[10].is_empty() && f[11].is_empty(), "{l}");
                } else {
                    assert_eq!(f.len(), 11, "{l}");
                    assert!(["SSL", "TCP/IP", "SOCKET"].contains(&f[10].as_str()), "{l}");
                    assert_eq!(f[5], "0", "{l}");
                }
                assert!(
                    !["READ", "WRITE", "DROP"].contains(&op),
                    "table event in RDS MySQL: {l}"
                );
            }
            Flavor::Postgres => unreachable!("MySQL-family checks only"),
            Flavor::Mariadb | Flavor::Aurora => {
                assert_eq!(f.len(), 10, "{l}");
                if flavor == Flavor::Aurora {
                    assert!(
                        f[0].len() == 16 && f[0].bytes().all(|c| c.is_ascii_digit()),
                        "{l}"
                    );
                    assert_eq!(f[1], "prod-cluster-instance-1");
                    if op == "QUERY" {
                        assert!(
                            !f[8].contains("\\n") && !f[8].contains("\\t"),
                            "new escaping in Aurora: {l}"
                        );
                    }
                } else {
                    assert_eq!(f[0].len(), 17, "{l}");
                }
                if op == "READ" || op == "WRITE" || op == "DROP" {
                    assert!(!f[8].starts_with('\''), "{l}");
                }
            }
        }
        assert!(
            [
                "CONNECT",
                "DISCONNECT",
                "FAILED_CONNECT",
                "QUERY",
                "READ",
                "WRITE",
                "DROP"
            ]
            .contains(&op),
            "{l}"
        );
        if op == "QUERY" {
            assert!(
                f[8].starts_with('\'') && f[8].ends_with('\'') && f[8].len() >= 2,
                "{l}"
            );
        }
        prev = Some(f);
    }
    assert!(prev.is_some());
    let all = lines.join("\n");
    // The escapes the parser must undo are all present.
    assert!(all.contains("\\'") && all.contains("\\\\") && all.contains("東京"));
    if flavor != Flavor::Aurora {
        assert!(all.contains("\\n") && all.contains("\\r\\n"));
    }
}

#[test]
fn every_line_has_the_flavor_format() {
    for flavor in [Flavor::RdsMysql, Flavor::Mariadb, Flavor::Aurora] {
        let d = TmpDir::new("fmt");
        generate(&opts(&d.0, 2_000_000, flavor)).unwrap();
        check_formats(&d.0, flavor);
    }
}

#[test]
fn cloudwatch_export_layout_and_prefix() {
    let d = TmpDir::new("cw");
    let mut o = opts(&d.0, 1_200_000, Flavor::RdsMysql);
    o.cloudwatch_export = true;
    o.compression = Compression::Zstd; // ignored: exports are always gzip
    let r = generate(&o).unwrap();
    assert!(r.files.len() >= 3);
    for (i, f) in r.files.iter().enumerate() {
        let rel = f
            .strip_prefix(&d.0)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        assert!(
            rel.starts_with("exportedlogs/") && rel.ends_with(&format!("/prod-mysql-1/{i:06}.gz")),
            "{rel}"
        );
    }
    check_formats(&d.0, Flavor::RdsMysql);
    // The prefix is the event time of the line.
    let first = String::from_utf8(read_decompressed(&r.files[0])).unwrap();
    let l = first.lines().next().unwrap();
    let (p, rest) = l.split_at(25);
    assert_eq!(&p[..4], &rest[..4]);
    assert_eq!(&p[11..19], &rest[9..17]);
    assert!(p.ends_with(".000Z "));
}

#[test]
fn rotated_files_are_named_and_ordered() {
    let d = TmpDir::new("rot");
    let r = generate(&opts(&d.0, 1_000_000, Flavor::Mariadb)).unwrap();
    let names: Vec<String> = r
        .files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "server_audit.log",
            "server_audit.log.1",
            "server_audit.log.2"
        ]
    );
    // Oldest file first: connection and query ids and times only grow.
    let (mut last_cid, mut last_qid, mut last_ts) = (0i64, 0i64, String::new());
    for p in r.files.iter().rev() {
        for l in String::from_utf8(fs::read(p).unwrap()).unwrap().lines() {
            let f = split_fields(l);
            assert!(f[0] >= last_ts, "time went back: {l}");
            last_ts = f[0].clone();
            if f[6] == "CONNECT" || f[6] == "FAILED_CONNECT" {
                let cid: i64 = f[4].parse().unwrap();
                assert!(cid > last_cid, "{l}");
                last_cid = cid;
            }
            if f[6] == "QUERY" {
                let qid: i64 = f[5].parse().unwrap();
                assert!(qid > last_qid, "{l}");
                last_qid = qid;
            }
        }
    }
    // Rotation names pad to two digits from 10 rotated files on.
    let est = vec![1u64; 24 * 7];
    assert_eq!(split_slices(&est, 11).len(), 11);
    assert!(split_slices(&est, 11).iter().all(|r| !r.is_empty()));
}

#[test]
fn aurora_writes_four_concurrent_files_out_of_order() {
    let d = TmpDir::new("aur");
    let r = generate(&opts(&d.0, 1_000_000, Flavor::Aurora)).unwrap();
    assert_eq!(r.files.len(), 8);
    let first: Vec<String> = r.files[..4]
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for (n, name) in first.iter().enumerate() {
        assert!(
            name.starts_with(&format!("audit.log.{n}.2026-03-01-00-00.")),
            "{name}"
        );
    }
    // Concatenating the files does not give timestamp order.
    let ts: Vec<i64> = corpus_lines(&d.0)
        .iter()
        .map(|l| l[..16].parse().unwrap())
        .collect();
    assert!(ts.windows(2).any(|w| w[1] < w[0]));
}

#[test]
fn compressed_output_matches_plain() {
    let plain = TmpDir::new("plain");
    generate(&opts(&plain.0, 800_000, Flavor::RdsMysql)).unwrap();
    let want = corpus_lines(&plain.0);
    for c in [Compression::Gzip, Compression::Zstd] {
        let d = TmpDir::new("cmp");
        let mut o = opts(&d.0, 800_000, Flavor::RdsMysql);
        o.compression = c;
        let r = generate(&o).unwrap();
        assert!(r
            .files
            .iter()
            .all(|p| p.to_string_lossy().ends_with(c.suffix())));
        assert_eq!(corpus_lines(&d.0), want);
    }
}

#[test]
fn size_is_hit_within_five_percent() {
    for (size, flavor) in [
        (3_000_000u64, Flavor::RdsMysql),
        (12_000_000, Flavor::Mariadb),
        (700_000, Flavor::Aurora),
    ] {
        let d = TmpDir::new("size");
        let r = generate(&opts(&d.0, size, flavor)).unwrap();
        let ratio = r.bytes as f64 / size as f64;
        assert!(
            (0.95..=1.05).contains(&ratio),
            "{flavor} {size}: got {} ({ratio:.3})",
            r.bytes
        );
        let on_disk: u64 = r.files.iter().map(|p| fs::metadata(p).unwrap().len()).sum();
        assert_eq!(on_disk, r.bytes);
    }
}

#[test]
fn refuses_to_mix_with_an_existing_corpus() {
    let d = TmpDir::new("twice");
    generate(&opts(&d.0, 400_000, Flavor::RdsMysql)).unwrap();
    let e = generate(&opts(&d.0, 400_000, Flavor::RdsMysql)).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
}

fn kinds(gt: &serde_json::Value) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for f in gt["expected_findings"].as_array().unwrap() {
        *m.entry(f["kind"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    m
}

#[test]
fn ground_truth_lists_every_incident() {
    for flavor in [Flavor::RdsMysql, Flavor::Mariadb, Flavor::Aurora] {
        let d = TmpDir::new("gt");
        let r = generate(&opts(&d.0, 2_000_000, flavor)).unwrap();
        let gt = ground_truth(&d.0);
        assert_eq!(gt["flavor"], flavor.name());
        assert_eq!(gt["config"]["allow"][0], "10.20.0.0/16");
        assert_eq!(gt["config"]["master_users"][0], "admin");
        assert_eq!(gt["config"]["admin_hosts"][0], "10.20.0.10/32");
        let k = kinds(&gt);
        let tls = usize::from(flavor == Flavor::RdsMysql);
        let want = [
            ("brute_force", 2),
            ("brute_force_success", 3),
            ("unknown_source_ip", 7),
            ("master_user", 4),
            ("password_spray", 1),
            ("non_ssl_session", tls),
            ("rate_spike", 1),
            ("privilege_change", 2),
            ("destructive", 6),
            ("exfiltration", 6),
            ("cross_database", 1),
            ("distributed_brute_force", 1),
            ("audit_disabled", 3),
            ("tls_weakened", 2),
            ("code_execution", 2),
            ("anomalous_login", 3),
            ("threat_list_login", 1),
            ("threat_list_attempt", 2),
        ];
        for (kind, n) in want {
            assert_eq!(k.get(kind).copied().unwrap_or(0), n, "{flavor}: {kind}");
        }
        // 40, the planted anomalous logins with the new AS's unknown source (4) and the
        // threat-list hits (3).
        assert_eq!(r.expected_findings, 47 + tls);
        assert_eq!(r.incidents, 17 + tls);

        // Each finding points at real lines: its source / user / statement at first_seen.
        let mut lines: Vec<Vec<String>> =
            corpus_lines(&d.0).iter().map(|l| split_fields(l)).collect();
        // Field 0 rewritten as the RFC 3339 time a finding would show.
        for l in &mut lines {
            l[0] = if flavor == Flavor::Aurora {
                let us: i64 = l[0].parse().unwrap();
                fmt_rfc3339(us - us % MS)
            } else {
                let t = &l[0];
                format!("{}-{}-{}T{}Z", &t[0..4], &t[4..6], &t[6..8], &t[9..17])
            };
        }
        for f in gt["expected_findings"].as_array().unwrap() {
            let sev = f["severity"].as_str().unwrap();
            assert!(["low", "medium", "high", "critical"].contains(&sev));
            let fs = f["first_seen"].as_str().unwrap();
            let hit = lines.iter().any(|l| {
                l[0] == fs
                    && f["client_ip"].as_str().is_none_or(|ip| l[3] == ip)
                    && f["user"].as_str().is_none_or(|u| l[2] == u)
                    && f["statement"]
                        .as_str()
                        // As a finding shows it: escapes undone, whitespace collapsed.
                        .is_none_or(|s| {
                            let logged = l[8].replace("\\'", "'").replace("\\n", " ");
                            logged.split_whitespace().collect::<Vec<_>>().join(" ")
                                == format!("'{s}'")
                        })
            });
            assert!(hit, "{flavor}: no line behind {f}");
        }
        let find = |kind: &str, ip: &str| {
            gt["expected_findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["kind"] == kind && f["client_ip"] == ip)
                .unwrap_or_else(|| panic!("{kind} {ip}"))
                .clone()
        };
        assert_eq!(find("master_user", "10.20.0.10")["severity"], "low");
        assert_eq!(find("master_user", "10.20.3.44")["severity"], "high");
        assert_eq!(
            find("unknown_source_ip", "172.16.8.9")["severity"],
            "medium"
        );
        assert_eq!(
            find("unknown_source_ip", "2001:db8:abcd::1234")["severity"],
            "high"
        );
        assert_eq!(find("brute_force", "203.0.113.50")["count"], 60);
        assert_eq!(find("brute_force_success", "203.0.113.50")["user"], "admin");
    }
}

#[test]
fn background_alone_is_clean() {
    let d = TmpDir::new("clean");
    generate(&opts(&d.0, 3_000_000, Flavor::RdsMysql)).unwrap();
    let incident_hosts = [
        "203.0.113.50",
        "198.51.100.23",
        "192.0.2.77",
        "2001:db8:abcd::1234",
        "172.16.8.9",
        "10.20.3.44",
        "10.20.7.7",
        "203.0.113.77",
        super::baseline::NEW_AS_SOURCE,
    ];
    let bad_words = [
        "DROP ",
        "TRUNCATE",
        "GRANT ",
        "OUTFILE",
        "DUMPFILE",
        "LOAD_FILE",
        "CREATE USER",
        "REVOKE",
        "PASSWORD",
    ];
    let mut failed_by_host: HashMap<String, usize> = HashMap::new();
    let mut incident_stmts = 0;
    for l in corpus_lines(&d.0) {
        let f = split_fields(&l);
        let (user, host, op) = (f[2].as_str(), f[3].as_str(), f[6].as_str());
        if incident_hosts.contains(&host) || super::incidents::DISTRIBUTED_SOURCES.contains(&host) {
            continue;
        }
        assert!(host == "localhost" || host.starts_with("10.20."), "{l}");
        assert!(op != "CONNECT" || f[10] != "TCP/IP", "{l}");
        if op == "FAILED_CONNECT" {
            *failed_by_host.entry(host.to_string()).or_default() += 1;
        }
        if op == "QUERY" {
            let q = f[8].to_ascii_uppercase();
            if bad_words.iter().any(|w| q.contains(w))
                || q.starts_with("'DELETE FROM BILLING.INVOICES'")
            {
                // Only the planted admin statements from the bastion may match.
                assert!(user == "admin" && host == BASTION, "{l}");
                incident_stmts += 1;
                continue;
            }
            if (q.starts_with("'DELETE") || q.starts_with("'UPDATE")) && !q.contains("WHERE") {
                panic!("unbounded write: {l}");
            }
            // Applications stay in their own database.
            if let Some(p) = PROFILES.iter().find(|p| p.user == user) {
                assert_eq!(f[7], p.db, "{l}");
                for other in ["orders.", "billing.", "analytics.", "warehouse.", "mysql."] {
                    let planted =
                        p.user == "app_billing" && q.contains("ORDERS.CUSTOMERS WHERE ID = 42");
                    if !other.starts_with(p.db) && !planted {
                        assert!(
                            !q.contains(&format!(" {}", other.to_ascii_uppercase())),
                            "{l}"
                        );
                    }
                }
            }
        }
    }
    assert_eq!(incident_stmts, 9);
    assert!(
        failed_by_host.values().all(|&n| n <= 2),
        "{failed_by_host:?}"
    );
}

#[test]
fn tiny_sizes_shorten_the_period() {
    let d = TmpDir::new("tiny");
    let r = generate(&opts(&d.0, 600_000, Flavor::RdsMysql)).unwrap();
    assert!(r.days < 7 && r.days >= 1);
    assert_eq!(ground_truth(&d.0)["days"], r.days);
    assert!(r.files.len() >= 3);
}

/// The trail of `synth --cloudtrail` lines up with two incidents by their slots.
#[test]
fn the_trail_s_slots_name_the_incidents_it_lines_up_with() {
    assert!(super::incidents::slots_hold_their_incidents());
}
