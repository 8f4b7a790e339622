//! Pairing: consecutive chunk units become units of two chunks of two files, hashed together.

use super::ledger::Ledger;
use super::Unit;

/// Turns each run of consecutive chunk units into units of two chunks of two different files,
/// so that one unit feeds both files' SHA-256 at once ([`Ledger::begin_pair`]).
///
/// The run's files are dealt into two lanes in file order, each file to the lane with fewer
/// bytes so far, and the lanes are zipped: unit k holds the k-th chunk of each lane. Each
/// file's chunks stay in order within its lane, so a chunk's earlier chunks are in earlier
/// units (their line counts and hash come first). What is left of the longer lane stays
/// single chunks. The pairing depends only on the files, not on the thread count, so the
/// outputs' order (chunks of two files interleaved) is the same in every run.
pub(super) fn pair_chunks(units: Vec<Unit>, ledgers: &[Ledger]) -> Vec<Unit> {
    let mut out = Vec::with_capacity(units.len());
    let mut run: Vec<(usize, usize)> = Vec::new();
    let flush = |run: &mut Vec<(usize, usize)>, out: &mut Vec<Unit>| {
        let mut lanes: [Vec<(usize, usize)>; 2] = [Vec::new(), Vec::new()];
        let mut bytes = [0usize; 2];
        let mut k = 0;
        while k < run.len() {
            let file = run[k].0;
            let n = run[k..].iter().take_while(|c| c.0 == file).count();
            let lane = usize::from(bytes[1] < bytes[0]);
            bytes[lane] += ledgers[file].bounds.last().map_or(0, |b| b.1);
            lanes[lane].extend_from_slice(&run[k..k + n]);
            k += n;
        }
        let [l0, l1] = lanes;
        let paired = l0.len().min(l1.len());
        for (&a, &b) in l0.iter().zip(&l1) {
            out.push(Unit::Pair { a, b });
        }
        for &(file, index) in l0[paired..].iter().chain(&l1[paired..]) {
            out.push(Unit::Chunk { file, index });
        }
        run.clear();
    };
    for u in units {
        match u {
            Unit::Chunk { file, index } => run.push((file, index)),
            other => {
                flush(&mut run, &mut out);
                out.push(other);
            }
        }
    }
    flush(&mut run, &mut out);
    out
}
