//! Tests of planning, the ledger and pairing.

use super::ledger::Ledger;
use super::pair::pair_chunks;
use super::*;
use crate::dedupe;
use rand::{Rng, SeedableRng};
use std::sync::Mutex;

thread_local! {
    /// Makes [`Plan::parse`] panic on this file (on this thread).
    pub(crate) static PANIC_IN_FILE: std::cell::Cell<Option<usize>> =
        const { std::cell::Cell::new(None) };
}

/// A pair unit whose first chunk panics while parsing reports the panic for that file
/// only: the other file's chunk is still parsed, and both files' hashes are reported.
#[test]
fn a_panic_in_one_chunk_of_a_pair_does_not_cost_the_other_file_its_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let line = "20260301 12:00:00,ip-10-0-0-1,admin,10.0.0.5,7,9,QUERY,db,'SELECT 1',0\n";
    for name in ["a.log", "b.log"] {
        std::fs::write(dir.path().join(name), line.repeat(3)).unwrap();
    }
    let (files, _) = input::discover(&[dir.path().to_path_buf()]);
    let plan = Plan::new(
        &files,
        FormatChoice::Auto,
        Clock::default(),
        CHUNK_BYTES,
        Default::default(),
    );
    let pair = (0..plan.len())
        .find(|&u| matches!(plan.units[u], Unit::Pair { .. }))
        .expect("two small logs make one pair");
    let config = crate::pass::AnalysisConfig::default();
    let duplicates = dedupe::Duplicates::none();
    let settings = ChunkSettings {
        since_us: None,
        until_us: None,
        encoder: None,
        config: &config,
        analysis: false,
        duplicates: &duplicates,
        max_record_bytes: crate::format::DEFAULT_MAX_RECORD_BYTES,
        privileges: false,
        sessions: true,
    };
    let mut errors = Vec::new();
    let mut records = vec![0; 2];
    let mut hashes = Vec::new();
    PANIC_IN_FILE.with(|f| f.set(Some(0)));
    plan.run(pair, &settings, &mut |out| match out {
        UnitOutput::Chunk(c) => records[c.file] += c.stats.records,
        UnitOutput::Control(_) => unreachable!("no CloudTrail here"),
        UnitOutput::File { file, note } => match note {
            FileNote::Error(m) => errors.push((file, m)),
            FileNote::Sha256 { hex, .. } => hashes.push((file, hex)),
            _ => {}
        },
    });
    PANIC_IN_FILE.with(|f| f.set(None));
    assert_eq!(records, vec![0, 3]);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, 0);
    assert!(
        errors[0].1.contains("internal error: a test panic"),
        "{errors:?}"
    );
    hashes.sort();
    let sum = input::sha256_hex(line.repeat(3).as_bytes());
    assert_eq!(hashes, vec![(0, sum.clone()), (1, sum)]);
}

/// A number in `lo..hi`.
fn below(rng: &mut rand_chacha::ChaCha8Rng, lo: usize, hi: usize) -> usize {
    lo + (rng.next_u64() % (hi - lo) as u64) as usize
}

/// The first line of a chunk starting at `start`, by definition.
fn first_line(text: &[u8], start: usize) -> u64 {
    1 + text[..start].iter().filter(|&&b| b == b'\n').count() as u64
}

/// Random text cut into random chunks.
fn random_chunks(rng: &mut rand_chacha::ChaCha8Rng) -> (Vec<u8>, Vec<(usize, usize)>) {
    let len = below(rng, 1, 3_000);
    let text: Vec<u8> = (0..len)
        .map(|_| if below(rng, 0, 5) == 0 { b'\n' } else { b'x' })
        .collect();
    let mut cuts: Vec<usize> = (0..below(rng, 0, 8)).map(|_| below(rng, 1, len)).collect();
    cuts.push(0);
    cuts.push(len);
    cuts.sort();
    cuts.dedup();
    let bounds = cuts.windows(2).map(|w| (w[0], w[1])).collect();
    (text, bounds)
}

/// Chunks claimed in order by several threads, each begun, then parsed after a random
/// delay: every chunk learns the line a count from the file's start gives, the hash is
/// the SHA-256 of the whole file and is reported exactly once, and each chunk's pages
/// are handed back exactly once, after it is both hashed and parsed.
#[test]
fn chunks_in_any_interleaving_get_exact_lines_and_the_file_hash() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for round in 0..100 {
        let (text, bounds) = random_chunks(&mut rng);
        let ledger = Ledger::new(bounds.clone());
        let next = AtomicUsize::new(0);
        let hexes = Mutex::new(Vec::new());
        let released = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for t in 0..1 + round % 3 {
                let (ledger, next, hexes, released, text, bounds) =
                    (&ledger, &next, &hexes, &released, &text, &bounds);
                scope.spawn(move || {
                    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(round * 7 + t);
                    loop {
                        let k = next.fetch_add(1, Ordering::SeqCst);
                        if k >= bounds.len() {
                            return;
                        }
                        let done = |s, e| released.lock().unwrap().push((s, e));
                        let (ticket, hex) = ledger.begin(k, text, done);
                        hexes.lock().unwrap().extend(hex);
                        assert_eq!(ticket.first_line(), Some(first_line(text, bounds[k].0)));
                        std::thread::sleep(std::time::Duration::from_micros(
                            below(&mut rng, 0, 300) as u64,
                        ));
                        hexes.lock().unwrap().extend(ticket.parsed(text, done));
                    }
                });
            }
        });
        assert_eq!(*hexes.lock().unwrap(), vec![input::sha256_hex(&text)]);
        let mut released = released.into_inner().unwrap();
        released.sort();
        assert_eq!(released, bounds);
        assert!(
            ledger.finish(&text).is_none(),
            "the units finished the hash"
        );
    }
}

/// Several files' chunks, paired by [`pair_chunks`] and run by 1–3 threads as the plan
/// runs them (a pair begun together, then parsed one after the other after random
/// delays): every chunk appears once, each file's chunks stay in order, the two chunks of
/// a pair are of different files, and every chunk gets its exact first line, every file
/// its SHA-256 once, every chunk's pages handed back once.
#[test]
fn paired_chunks_of_several_files_get_exact_lines_and_hashes() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for round in 0..100 {
        let files: Vec<_> = (0..below(&mut rng, 1, 5))
            .map(|_| random_chunks(&mut rng))
            .collect();
        let ledgers: Vec<Ledger> = files.iter().map(|f| Ledger::new(f.1.clone())).collect();
        let units = pair_chunks(
            files
                .iter()
                .enumerate()
                .flat_map(|(file, f)| (0..f.1.len()).map(move |index| Unit::Chunk { file, index }))
                .collect(),
            &ledgers,
        );
        // Every chunk once, in file order within its file, a pair never within one file.
        let mut seen: Vec<Vec<usize>> = vec![Vec::new(); files.len()];
        for u in &units {
            match u {
                Unit::Chunk { file, index } => seen[*file].push(*index),
                Unit::Pair { a, b } => {
                    assert_ne!(a.0, b.0, "round {round}");
                    seen[a.0].push(a.1);
                    seen[b.0].push(b.1);
                }
                _ => unreachable!(),
            }
        }
        for (f, s) in files.iter().zip(&seen) {
            assert_eq!(*s, (0..f.1.len()).collect::<Vec<_>>(), "round {round}");
        }
        if files.len() > 1 {
            assert!(units.iter().any(|u| matches!(u, Unit::Pair { .. })));
        }
        let next = AtomicUsize::new(0);
        let hexes = Mutex::new(Vec::new());
        let released = Mutex::new(vec![Vec::new(); files.len()]);
        std::thread::scope(|scope| {
            for t in 0..1 + round % 3 {
                let (ledgers, next, hexes, released, files, units) =
                    (&ledgers, &next, &hexes, &released, &files, &units);
                scope.spawn(move || {
                    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(round * 5 + t);
                    let mut parse = |file: usize, ticket: Ticket<'_>| {
                        let (text, bounds) = &files[file];
                        let start = bounds[ticket.index].0;
                        assert_eq!(ticket.first_line(), Some(first_line(text, start)));
                        let pause = below(&mut rng, 0, 300) as u64;
                        std::thread::sleep(std::time::Duration::from_micros(pause));
                        let done = |s, e| released.lock().unwrap()[file].push((s, e));
                        let hex = ticket.parsed(text, done);
                        hexes.lock().unwrap().extend(hex.map(|h| (file, h)));
                    };
                    loop {
                        let k = next.fetch_add(1, Ordering::SeqCst);
                        let Some(unit) = units.get(k) else {
                            return;
                        };
                        let (a, b) = match *unit {
                            Unit::Pair { a, b } => (a, Some(b)),
                            Unit::Chunk { file, index } => ((file, index), None),
                            _ => unreachable!(),
                        };
                        let done =
                            |file: usize| move |s, e| released.lock().unwrap()[file].push((s, e));
                        match b {
                            Some(b) => {
                                let ((ta, ha), (tb, hb)) = Ledger::begin_pair(
                                    (&ledgers[a.0], a.1, &files[a.0].0),
                                    (&ledgers[b.0], b.1, &files[b.0].0),
                                    done(a.0),
                                    done(b.0),
                                );
                                let mut h = hexes.lock().unwrap();
                                h.extend(ha.map(|x| (a.0, x)));
                                h.extend(hb.map(|x| (b.0, x)));
                                drop(h);
                                parse(a.0, ta);
                                parse(b.0, tb);
                            }
                            None => {
                                let (ta, ha) = ledgers[a.0].begin(a.1, &files[a.0].0, done(a.0));
                                hexes.lock().unwrap().extend(ha.map(|x| (a.0, x)));
                                parse(a.0, ta);
                            }
                        }
                    }
                });
            }
        });
        let mut hexes = hexes.into_inner().unwrap();
        hexes.sort();
        let want: Vec<(usize, String)> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (i, input::sha256_hex(&f.0)))
            .collect();
        assert_eq!(hexes, want, "round {round}");
        for (mut r, f) in released.into_inner().unwrap().into_iter().zip(&files) {
            r.sort();
            assert_eq!(r, f.1, "round {round}");
        }
    }
}

/// A unit that panics while parsing (its ticket dropped unparsed) does not stop the
/// hash: a later chunk carries it past, or, when no later chunk comes, `finish` does.
#[test]
fn a_chunk_dropped_while_parsing_does_not_stop_the_hash() {
    let text = b"a\nb\nc\nd\ne\nf\n".to_vec();
    let bounds = vec![(0, 4), (4, 8), (8, 12)];
    let whole = input::sha256_hex(&text);

    // Chunk 1 dropped after chunk 0 parsed; chunk 2 finishes the hash.
    let ledger = Ledger::new(bounds.clone());
    let (t0, _) = ledger.begin(0, &text, |_, _| {});
    assert_eq!(t0.parsed(&text, |_, _| {}), None);
    let (t1, _) = ledger.begin(1, &text, |_, _| {});
    assert_eq!(t1.first_line(), Some(3));
    drop(t1);
    let (t2, hex) = ledger.begin(2, &text, |_, _| {});
    assert_eq!(hex, Some(whole.clone()));
    assert_eq!(t2.first_line(), Some(5));
    assert_eq!(t2.parsed(&text, |_, _| {}), None);
    assert_eq!(ledger.finish(&text), None);

    // The last chunk never begun (its unit failed before): `finish` hashes the rest.
    let ledger = Ledger::new(bounds);
    let (t0, _) = ledger.begin(0, &text, |_, _| {});
    let (t1, _) = ledger.begin(1, &text, |_, _| {});
    drop(t0);
    drop(t1);
    assert_eq!(ledger.finish(&text), Some(whole));
    assert_eq!(ledger.finish(&text), None);
}
