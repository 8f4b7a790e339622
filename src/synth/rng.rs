//! The seeded random streams and the few draws every generator uses.
//!
//! Every random choice comes from a ChaCha8 stream of the seed: one for the plan
//! ([`PLAN_STREAM`](super::plan::PLAN_STREAM)), one per slice while rendering (its index), one
//! for file names. The helpers below are the only draws; changing what one of them consumes
//! changes every corpus.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub(crate) type R = ChaCha8Rng;

pub(crate) fn rng_for(seed: u64, stream: u64) -> R {
    let mut r = R::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Uniform in `[0, n)` (Lemire's multiply-shift; bias is irrelevant here).
#[inline]
pub(crate) fn below(rng: &mut R, n: u64) -> u64 {
    ((rng.next_u64() as u128 * n as u128) >> 64) as u64
}

/// Uniform in `[0, 1)`.
#[inline]
pub(crate) fn unit(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform in `[lo, hi)`.
#[inline]
pub(crate) fn range(rng: &mut R, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        lo + below(rng, (hi - lo) as u64) as i64
    }
}

#[inline]
pub(crate) fn pick(rng: &mut R, xs: &[&'static str]) -> &'static str {
    xs[below(rng, xs.len() as u64) as usize]
}

pub(crate) fn rare(rng: &mut R, one_in: u64) -> bool {
    below(rng, one_in) == 0
}
