//! Replays the fuzz corpora without AFL: every seed (fuzz/seeds/<target>/) and every input
//! that once crashed a target (fuzz/regressions/<target>/) goes through the same
//! `forensics::fuzzing` function the AFL target calls, so a fixed crash stays fixed under a
//! plain `cargo test`.

use std::path::Path;

fn replay(dir: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(dir);
    let Ok(targets) = std::fs::read_dir(&root) else {
        return 0;
    };
    let mut n = 0;
    let mut failed = Vec::new();
    for t in targets {
        let t = t.unwrap().path();
        if !t.is_dir() {
            continue;
        }
        let name = t.file_name().unwrap().to_string_lossy().into_owned();
        let run = forensics::fuzzing::target(&name)
            .unwrap_or_else(|| panic!("{}: no fuzz target {name:?}", t.display()));
        let mut files: Vec<_> = std::fs::read_dir(&t)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
            .collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                failed.push(f.display().to_string());
            }
            n += 1;
        }
    }
    assert!(failed.is_empty(), "inputs that panic: {failed:#?}");
    n
}

#[test]
fn every_seed_passes_its_target() {
    assert!(replay("seeds") > 100, "the seed corpora are missing");
}

#[test]
fn every_crash_found_by_fuzzing_stays_fixed() {
    replay("regressions");
}

#[test]
fn every_target_takes_empty_and_odd_inputs() {
    for (name, run) in forensics::fuzzing::TARGETS {
        for data in [&b""[..], b"\0", b"\xff\n\n\r", b"\x84\n", &[0xf0; 64]] {
            run(data);
        }
        assert!(forensics::fuzzing::target(name).is_some());
    }
}
