//! Issue #16, reliability: files that change while they are read (cut shorter, appended to)
//! never crash a run, and a run over many small files holds few descriptors and maps.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_forensics"))
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// `n` RDS for MySQL query lines, one second apart.
fn lines(n: usize) -> String {
    let base = 1_772_406_000i64; // 2026-03-01T23:00:00Z
    let mut s = String::new();
    for i in 0..n {
        let t = chrono::DateTime::from_timestamp(base + i as i64, 0).unwrap();
        let ts = t.format("%Y%m%d %H:%M:%S");
        s += &format!(
            "{ts},ip-10-20-1-5,app,10.20.3.{},{},{i},QUERY,orders,'SELECT id FROM t WHERE k = {i}',0,,\n",
            i % 200,
            100 + i / 10
        );
    }
    s
}

fn input<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("{name} not in the summary"))
}

/// Starts a scan of `dir` on one thread in small chunks that pauses after its `after`-th
/// chunk (the binary's test hook), and waits until it has paused.
fn paused_scan(dir: &Path, out: &Path, hook: &Path, after: usize) -> Child {
    std::fs::create_dir_all(hook).unwrap();
    let mut child = bin()
        .args(["scan", dir.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--quiet", "--threads", "1", "--chunk-bytes", "1000000"])
        .env(
            "FORENSICS_TEST_PAUSE",
            format!("{after}:{}", hook.to_str().unwrap()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !hook.join("paused").exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the scan ended ({status}) before it paused");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never paused");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

/// Resumes a paused scan and waits for it: it must exit 0, not be killed by a signal.
fn resume(child: Child, hook: &Path) {
    std::fs::write(hook.join("resume"), b"").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue #16 point 1: a log cut shorter while it is scanned (logrotate `copytruncate`)
/// killed the run with SIGBUS (exit 135). Now the run finishes: the file is an error with the
/// reason, the records before the cut are kept (exactly the whole lines before it), its
/// SHA-256 is marked as not standing for a stable file, and the other files are untouched.
#[test]
fn a_log_cut_shorter_while_scanned_is_an_error_and_the_run_completes() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("in");
    std::fs::create_dir(&inp).unwrap();
    std::fs::write(inp.join("a.log"), lines(1000)).unwrap();
    let big = lines(200_000);
    std::fs::write(inp.join("big.log"), &big).unwrap();
    std::fs::write(inp.join("z.log"), lines(1000)).unwrap();
    let out = dir.path().join("out");
    let hook = dir.path().join("hook");
    // Units: (a, big#0), (z, big#1), big#2, ...: pause after both pairs, then cut big.log in
    // the middle of a page of its third chunk, which the scan has not touched yet.
    let child = paused_scan(&inp, &out, &hook, 4);
    let cut = 2_500_123;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(inp.join("big.log"))
        .unwrap();
    f.set_len(cut).unwrap();
    drop(f);
    resume(child, &hook);

    let s = summary(&out);
    let b = input(&s, "big.log");
    assert_eq!(b["status"], "error", "{b:#}");
    let reason = b["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("changed during the scan: 22 MB at start, 2.5 MB at the end"),
        "{reason}"
    );
    let whole_lines = big.as_bytes()[..cut as usize]
        .iter()
        .filter(|&&c| c == b'\n')
        .count();
    assert_eq!(b["records"], whole_lines as u64, "{b:#}");
    assert_eq!(b["lines"], whole_lines as u64);
    assert_eq!(b["rejected"], 0);
    assert_eq!(b["sha256_stable"], false);
    assert_eq!(b["bytes"], big.len() as u64);
    for name in ["a.log", "z.log"] {
        let i = input(&s, name);
        assert_eq!(i["status"], "ok", "{i:#}");
        assert_eq!(i["records"], 1000);
        assert_eq!(i["sha256_stable"], true);
    }
    assert_eq!(s["totals"]["records"], whole_lines as u64 + 2000);
    assert_eq!(s["totals"]["files_error"], 1);
    assert!(out.join("findings.parquet").exists());
}

/// A log appended to while it is scanned (a live log folder, a copy still being written):
/// the bytes it had when the scan planned it are all read, its SHA-256 is theirs, and it is
/// an error whose reason names both lengths.
#[test]
fn a_log_appended_to_while_scanned_is_read_to_its_planned_end() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("in");
    std::fs::create_dir(&inp).unwrap();
    std::fs::write(inp.join("a.log"), lines(1000)).unwrap();
    let big = lines(200_000);
    std::fs::write(inp.join("big.log"), &big).unwrap();
    let out = dir.path().join("out");
    let hook = dir.path().join("hook");
    let child = paused_scan(&inp, &out, &hook, 3);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(inp.join("big.log"))
            .unwrap();
        f.write_all(lines(20_000).as_bytes()).unwrap();
    }
    resume(child, &hook);

    let s = summary(&out);
    let b = input(&s, "big.log");
    assert_eq!(b["status"], "error", "{b:#}");
    let reason = b["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("changed during the scan: 22 MB at start, 24 MB at the end"),
        "{reason}"
    );
    assert_eq!(b["records"], 200_000);
    assert_eq!(b["sha256_stable"], false);
    let sha = sha2::Sha256::digest(big.as_bytes());
    let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(b["sha256"], hex.as_str());
    let a = input(&s, "a.log");
    assert_eq!(a["status"], "ok");
    assert_eq!(a["records"], 1000);
}

/// Counts, in `/proc/PID/maps` and `/proc/PID/fd`, the input files a process has mapped or
/// open under `dir`.
fn held(pid: u32, dir: &Path) -> Option<(usize, usize)> {
    let d = dir.to_str().unwrap();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let mapped = maps.lines().filter(|l| l.contains(d)).count();
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|p| p.starts_with(dir))
        .count();
    Some((mapped, open))
}

/// Issue #16 point 9: many small files scan with few descriptors (`ulimit -n 256`) and few
/// maps at a time (planning mapped every file and kept it mapped to the end of the run, so
/// maps piled up: past `vm.max_map_count`, 65,530 by default, files failed to map), and
/// every file is accounted for.
#[cfg(target_os = "linux")]
#[test]
fn many_small_files_scan_with_few_descriptors_and_maps() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("in");
    const FILES: usize = 10_000;
    let text = lines(2);
    for i in 0..FILES {
        let sub = inp.join(format!("d{:02}", i / 1000));
        if i % 1000 == 0 {
            std::fs::create_dir_all(&sub).unwrap();
        }
        std::fs::write(sub.join(format!("f{i:05}.log")), &text).unwrap();
    }
    let out = dir.path().join("out");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 256 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_forensics"))
        .args(["scan", inp.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--quiet", "--threads", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While it runs, look at what it holds.
    let (mut most_mapped, mut most_open, mut looks) = (0, 0, 0);
    while child.try_wait().unwrap().is_none() {
        if let Some((mapped, open)) = held(child.id(), &inp) {
            most_mapped = most_mapped.max(mapped);
            most_open = most_open.max(open);
            looks += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(looks > 0);
    assert!(
        most_mapped <= 64 && most_open <= 64,
        "at most {most_mapped} input files mapped and {most_open} open at once"
    );
    let s = summary(&out);
    let inputs = s["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), FILES);
    assert!(inputs
        .iter()
        .all(|i| i["status"] == "ok" && i["records"] == 2));
    assert_eq!(s["totals"]["records"], 2 * FILES as u64);
    assert_eq!(s["totals"]["files_ok"], FILES as u64);
}
