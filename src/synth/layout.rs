//! File layout: which slices go into which file, and the file names of each wrapping.
//!
//! `server_audit.log` with numbered rotations (MariaDB, RDS for MySQL), Aurora's four
//! concurrent `audit.log.N.<stamp>.<generation>` files, PostgreSQL's hourly
//! `postgresql.log.YYYY-MM-DD-HH`, CloudWatch S3 export objects
//! (`exportedlogs/<task>/<instance>/NNNNNN.gz`) and Firehose deliveries
//! (`firehose/YYYY/MM/DD/HH/<stream>-…-<uuid>`).

use super::estate::AURORA_LANES;
use super::plan::{Env, Plan};
use super::rng::{range, rng_for, R};
use super::text::push_hex;
use super::time::{civil_from_days, DAY_US, US};
use super::{Flavor, SynthOptions};

/// The RNG stream of file names (task and delivery ids).
const META_STREAM: u64 = u64::MAX - 1;

/// Rotation size of `server_audit` files and of one Aurora generation (4 files together).
const FILE_TARGET: u64 = 100_000_000;
/// Below this, one file is enough; above it at least 3 so that rotation is exercised.
const MIN_ROTATED_SIZE: u64 = 300_000;

/// A group of consecutive slices written to `paths` (one per lane), relative to `out`.
pub(crate) struct Unit {
    pub(crate) slices: std::ops::Range<usize>,
    pub(crate) paths: Vec<String>,
}

pub(crate) fn split_slices(est: &[u64], parts: usize) -> Vec<std::ops::Range<usize>> {
    let n = est.len();
    let parts = parts.clamp(1, n);
    let total: u64 = est.iter().sum::<u64>().max(1);
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    let mut cum = 0u64;
    let mut i = 0;
    for j in 1..parts {
        let goal = total as f64 * j as f64 / parts as f64;
        // Take slices while the midpoint of the next one stays below the goal.
        while i < n - (parts - j) && (i == start || (cum as f64 + est[i] as f64 / 2.0) < goal) {
            cum += est[i];
            i += 1;
        }
        out.push(start..i);
        start = i;
    }
    out.push(start..n);
    out
}

pub(crate) fn layout_units(env: &Env, plan: &Plan, est: &[u64], opts: &SynthOptions) -> Vec<Unit> {
    let min_parts = if opts.size_bytes >= MIN_ROTATED_SIZE {
        if env.flavor == Flavor::Aurora && !env.cw {
            2
        } else {
            3
        }
    } else {
        1
    };
    let parts = (opts.size_bytes.div_ceil(FILE_TARGET) as usize)
        .max(min_parts)
        .max(1);
    let ranges = split_slices(est, parts);
    let f = ranges.len();
    let sfx = if env.cw {
        ".gz"
    } else {
        opts.compression.suffix()
    };
    let stamp = |t: i64, sep: &str| {
        let (y, m, d) = civil_from_days(t.div_euclid(DAY_US));
        let rem = t.rem_euclid(DAY_US) / US;
        let (hh, mm, ss) = (rem / 3600, rem / 60 % 60, rem % 60);
        (format!("{y:04}{sep}{m:02}{sep}{d:02}"), hh, mm, ss)
    };
    if env.cwj {
        // Firehose's S3 keys: `YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>`,
        // no extension although the objects are gzip.
        let mut rng = rng_for(env.seed, META_STREAM);
        return ranges
            .into_iter()
            .map(|r| {
                let t = plan.slices[r.start].t0 + range(&mut rng, 60 * US, 300 * US);
                let (day, hh, mm, ss) = stamp(t, "-");
                let id = uuid(&mut rng);
                let dir = day.replace('-', "/");
                Unit {
                    slices: r,
                    paths: vec![format!(
                        "firehose/{dir}/{hh:02}/rds-logs-to-s3-1-{day}-{hh:02}-{mm:02}-{ss:02}-{id}"
                    )],
                }
            })
            .collect();
    }
    if env.flavor == Flavor::Postgres && !env.cw {
        // `log_filename = postgresql.log.%Y-%m-%d-%H`: one file per hour.
        return (0..plan.slices.len())
            .map(|i| {
                let (day, hh, _, _) = stamp(plan.slices[i].t0, "-");
                Unit {
                    slices: i..i + 1,
                    paths: vec![format!("error/postgresql.log.{day}-{hh:02}{sfx}")],
                }
            })
            .collect();
    }
    if env.cw {
        let mut rng = rng_for(env.seed, META_STREAM);
        let task = uuid(&mut rng);
        let inst = env.flavor.instance_id();
        return ranges
            .into_iter()
            .enumerate()
            .map(|(u, r)| Unit {
                slices: r,
                paths: vec![format!("exportedlogs/{task}/{inst}/{u:06}{sfx}")],
            })
            .collect();
    }
    match env.flavor {
        Flavor::Aurora => ranges
            .into_iter()
            .enumerate()
            .map(|(g, r)| {
                let t = plan.slices[r.start].t0;
                let (y, m, d) = civil_from_days(t.div_euclid(DAY_US));
                let rem = t.rem_euclid(DAY_US) / US;
                let stamp = format!(
                    "{y:04}-{m:02}-{d:02}-{:02}-{:02}",
                    rem / 3600,
                    rem / 60 % 60
                );
                let paths = (0..AURORA_LANES)
                    .map(|n| format!("audit/audit.log.{n}.{stamp}.{}{sfx}", g + 1))
                    .collect();
                Unit { slices: r, paths }
            })
            .collect(),
        _ => {
            let rotated = f - 1;
            let width = if rotated >= 100 {
                3
            } else if rotated >= 10 {
                2
            } else {
                1
            };
            ranges
                .into_iter()
                .enumerate()
                .map(|(u, r)| {
                    // Unit 0 is the oldest: the highest rotation number.
                    let k = f - 1 - u;
                    let name = if k == 0 {
                        format!("audit/server_audit.log{sfx}")
                    } else {
                        format!("audit/server_audit.log.{k:0width$}{sfx}")
                    };
                    Unit {
                        slices: r,
                        paths: vec![name],
                    }
                })
                .rev()
                .collect()
        }
    }
}

/// A random UUID-shaped id (`8-4-4-4-12` hex digits), as export tasks and deliveries have.
fn uuid(rng: &mut R) -> String {
    let mut id = Vec::new();
    for (k, n) in [8usize, 4, 4, 4, 12].iter().enumerate() {
        if k > 0 {
            id.push(b'-');
        }
        push_hex(&mut id, rng, *n);
    }
    String::from_utf8(id).expect("hex")
}
