//! Overlapping CloudWatch exports (formats.md §7 item 15): an event delivered by more than one
//! export file is kept once.
//!
//! Two export tasks over overlapping time ranges, or a Firehose delivery retried, put the same
//! CloudWatch events in several files. Before the scan proper, every file that CloudWatch
//! wrote (S3-export lines with the `2026-03-01T12:00:00.000Z ` prefix, and the JSON
//! deliveries) is read once more for the identity of each event: the event's `id`/`eventId`
//! where the JSON gives one, else the whole exported line (its prefix holds the millisecond
//! CloudWatch time) or the event's stream, time and message. The identity is SHA-256 (cut to
//! 128 bits), so crafted log text cannot make one event pass for another.
//!
//! An event is a duplicate only against the files before its own, in input order: identical
//! lines within one file are the server's (a query reading a table twice writes two equal
//! table events) and are all kept. With counts: if earlier files kept an identity `k` times
//! and this file holds it `n` times, its first `min(k, n)` are duplicates. Duplicates are
//! parsed and then left out of every output, like events outside the time window, and
//! counted as `duplicates` in the summary. The pass costs one extra read of the CloudWatch
//! files only, and runs only when a scan holds two or more of them.

use std::collections::HashMap;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::format::{cloudwatch_json, Family, FileFormat};

/// The identity of a CloudWatch event.
pub type Key = [u8; 16];

/// Per input file, the (sorted) line numbers of events that an earlier file already
/// delivered: `source_line` numbering, so the scan can recognise them as it parses.
#[derive(Debug, Default)]
pub struct Duplicates {
    lines: Vec<Vec<u64>>,
}

impl Duplicates {
    pub fn none() -> Duplicates {
        Duplicates::default()
    }

    /// The duplicate lines of `file`, sorted.
    pub fn of(&self, file: usize) -> &[u64] {
        self.lines.get(file).map_or(&[], |l| l.as_slice())
    }

    pub fn total(&self) -> usize {
        self.lines.iter().map(Vec::len).sum()
    }

    /// Decides, in input order, which events repeat an earlier file's. `keys[f]` holds the
    /// (line, identity) of every event of file `f` in file order, or `None` for a file that
    /// CloudWatch did not write.
    pub(crate) fn from_keys(keys: Vec<Option<Vec<(u64, Key)>>>) -> Duplicates {
        let mut lines = vec![Vec::new(); keys.len()];
        if keys.iter().flatten().count() < 2 {
            return Duplicates { lines };
        }
        // How many events of each identity the earlier files kept. Identities are SHA-256
        // output, so a fast hash of them spreads as well as any.
        let total: usize = keys.iter().flatten().map(Vec::len).sum();
        let mut kept: Map<u32> = Map::with_capacity_and_hasher(total, Default::default());
        let mut budget: Map<u32> = Map::default();
        let mut fresh: Vec<Key> = Vec::new();
        for (file, keys) in keys.into_iter().enumerate() {
            let Some(keys) = keys else { continue };
            // The first `k` events of an identity that earlier files kept `k` times are
            // duplicates; the rest are this file's own, added to `kept` after the file.
            budget.clear();
            fresh.clear();
            for (line, k) in &keys {
                match kept.get(k) {
                    Some(&before) => {
                        let left = budget.entry(*k).or_insert(before);
                        if *left > 0 {
                            *left -= 1;
                            lines[file].push(*line);
                        } else {
                            fresh.push(*k);
                        }
                    }
                    None => fresh.push(*k),
                }
            }
            for k in fresh.drain(..) {
                *kept.entry(k).or_default() += 1;
            }
        }
        Duplicates { lines }
    }
}

type Map<V> = HashMap<Key, V, foldhash::fast::FixedState>;

/// Whether CloudWatch wrote a file of this format (its events may repeat across files).
pub(crate) fn is_cloudwatch(format: &FileFormat) -> bool {
    format.cloudwatch_export || format.family == Family::CloudwatchJson
}

fn key(parts: &[&[u8]]) -> Key {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let d = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}

/// Appends the (line, identity) of every event of one record-aligned block of a CloudWatch
/// file whose first line (or event) is `first_line`; returns the lines (events) the block
/// holds, as the scan counts them. A JSON delivery's blocks are read in order, `json`
/// carrying where each starts (as the scan reads them).
pub(crate) fn block_keys(
    format: &FileFormat,
    block: &[u8],
    first_line: u64,
    at_eof: bool,
    json: &mut cloudwatch_json::Resume,
    out: &mut Vec<(u64, Key)>,
) -> u64 {
    if format.family == Family::CloudwatchJson {
        let arena = cloudwatch_json::Arena::decode_from(block, json, at_eof);
        arena.identities(|i, parts| out.push((first_line + i as u64, key(parts))));
        return arena.len() as u64;
    }
    let mut line = first_line;
    for raw in block.split_inclusive(|&b| b == b'\n') {
        let text = crate::format::trim_cr(raw.strip_suffix(b"\n").unwrap_or(raw));
        // Only a prefixed line starts an exported event; PostgreSQL continuation lines do
        // not carry the prefix.
        if crate::time::parse_cloudwatch_prefix(text).is_some() {
            out.push((line, key(&[text])));
        }
        line += 1;
    }
    line - first_line
}

/// Finds the duplicates of a scan: reads every CloudWatch file for its events' identities,
/// in parallel, with `keys_of(file)` (`None` for other files).
pub fn find<F>(files: usize, pool: &rayon::ThreadPool, keys_of: F) -> Duplicates
where
    F: Fn(usize) -> Option<Vec<(u64, Key)>> + Sync,
{
    let keys = pool.install(|| (0..files).into_par_iter().map(&keys_of).collect());
    Duplicates::from_keys(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(b: u8) -> Key {
        [b; 16]
    }

    /// Repeats inside one file are kept; a later file's copies of kept events are
    /// duplicates, up to the number kept; other files do not take part.
    #[test]
    fn later_files_lose_the_events_earlier_files_kept() {
        let d = Duplicates::from_keys(vec![
            Some(vec![(1, k(1)), (2, k(2)), (3, k(2))]),
            None,
            Some(vec![(1, k(2)), (2, k(3)), (3, k(2)), (4, k(2)), (5, k(1))]),
            Some(vec![(7, k(3)), (8, k(4))]),
        ]);
        assert_eq!(d.of(0), &[] as &[u64]);
        assert_eq!(d.of(1), &[] as &[u64]);
        // k(2) was kept twice before, so two of its three copies go; k(1) once.
        assert_eq!(d.of(2), &[1, 3, 5]);
        // k(3) was kept by file 2.
        assert_eq!(d.of(3), &[7]);
        assert_eq!(d.total(), 4);
        // One CloudWatch file alone: nothing to compare with.
        let one = Duplicates::from_keys(vec![Some(vec![(1, k(1)), (2, k(1))]), None]);
        assert_eq!(one.total(), 0);
    }

    #[test]
    fn line_identities_are_the_exported_lines_and_continuations_have_none() {
        let f = crate::format::sniff(
            b"2026-03-01T12:00:00.000Z 20260301 12:00:00,h,u,1.2.3.4,1,0,CONNECT,,,0\n",
        )
        .unwrap();
        assert!(is_cloudwatch(&f));
        let block = b"2026-03-01T12:00:00.000Z a\r\n  continued\n\n2026-03-01T12:00:00.000Z a\n2026-03-01T12:00:00.001Z a";
        let mut out = Vec::new();
        assert_eq!(
            block_keys(&f, block, 10, true, &mut Default::default(), &mut out),
            5
        );
        let lines: Vec<u64> = out.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [10, 13, 14]);
        assert_eq!(out[0].1, out[1].1, "CR does not change an identity");
        assert_ne!(out[1].1, out[2].1, "the CloudWatch time is part of it");
    }
}
