//! Hitting the requested size: how much background traffic the plan needs.
//!
//! Render the plan once with no background (the fixed part: health checks, admin work,
//! incidents), once at a small probe volume, extrapolate linearly (refined once more when that
//! is cheap), and keep per-slice byte estimates from which the files are cut. A corpus too
//! small for the fixed traffic of its period gets a shorter period.

use rayon::prelude::*;

use super::plan::{build_plan, Env, Plan};
use super::render::Emitter;

pub(crate) struct Calibration {
    pub(crate) env: Env,
    pub(crate) scale: f64,
    pub(crate) estimates: Vec<u64>,
}

/// Renders every slice without writing; returns bytes per slice.
fn count_pass(env: &Env, plan: &Plan) -> Vec<u64> {
    plan.slices
        .par_iter()
        .enumerate()
        .map_init(
            || Emitter::new(env),
            |em, (i, sp)| {
                em.clear();
                em.emit(i, sp);
                em.bytes()
            },
        )
        .collect()
}

pub(crate) fn calibrate(mut env: Env, size: u64) -> Calibration {
    let target = size as f64;
    // Shorten the period while its fixed traffic (health checks, admin, incidents) would
    // take more than half of a small corpus.
    let mut fixed_slices;
    loop {
        fixed_slices = count_pass(&env, &build_plan(&env, 0.0));
        let fixed: u64 = fixed_slices.iter().sum();
        if fixed as f64 <= 0.5 * target || env.days == 1 {
            break;
        }
        let nd = (env.days as f64 * 0.5 * target / fixed as f64).floor() as u32;
        env.days = nd.clamp(1, env.days - 1);
    }
    let fixed: u64 = fixed_slices.iter().sum();
    let bg_target = target - fixed as f64;
    if bg_target <= 0.0 {
        return Calibration {
            env,
            scale: 0.0,
            estimates: fixed_slices,
        };
    }
    // Probe at up to 32 MB of background (~200 bytes per query is only a first guess).
    let mut s = bg_target.min(32e6) / 200.0;
    let mut probe = count_pass(&env, &build_plan(&env, s));
    let mut rounds = 0;
    loop {
        let got: u64 = probe.iter().sum();
        let per_unit = (got.saturating_sub(fixed)).max(1) as f64 / s;
        let next = bg_target / per_unit;
        let cheap = bg_target <= 64e6;
        let close = (got as f64 - target).abs() <= 0.01 * target;
        rounds += 1;
        if close && (s - next).abs() / next < 0.01 {
            break;
        }
        let old_s = s;
        s = next;
        if !cheap || rounds >= 3 {
            // Extrapolate the per-slice estimates linearly from the last pass.
            let k = s / old_s;
            let est = fixed_slices
                .iter()
                .zip(&probe)
                .map(|(&f, &p)| f + ((p.saturating_sub(f)) as f64 * k) as u64)
                .collect();
            return Calibration {
                env,
                scale: s,
                estimates: est,
            };
        }
        probe = count_pass(&env, &build_plan(&env, s));
    }
    Calibration {
        env,
        scale: s,
        estimates: probe,
    }
}
