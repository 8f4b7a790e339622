//! Deterministic generator of realistic RDS / Aurora audit-log corpora.
//!
//! [`generate`] writes a corpus in one of four on-disk formats (RDS for MySQL's
//! `server_audit` fork with its trailing `connection_type` field, MariaDB's 10-field
//! `server_audit`, Aurora MySQL "Advanced Auditing" with epoch-microsecond timestamps and the
//! old escaping that writes every whitespace byte as a space, and RDS PostgreSQL's hourly
//! `postgresql.log` with `log_connections`, `log_disconnections` and pgaudit), optionally
//! gzip/zstd-compressed, wrapped as a CloudWatch Logs S3 export, or wrapped as CloudWatch
//! subscription-filter deliveries (Firehose objects of concatenated JSON), plus
//! `ground_truth.json`, the findings a correct analysis must produce. PostgreSQL renders the
//! same plan of sessions as the MySQL flavors (its own SQL dialect where statements differ),
//! so every flavor carries the same planted incidents.
//!
//! How a corpus is made, and where each step lives:
//!
//! 1. `calibrate.rs`: how much background traffic hits the requested size (render the plan
//!    with no background, then at a probe volume, extrapolate), and per-slice byte estimates.
//! 2. `plan.rs`: the period (`days` from `start`, UTC) cut into one-hour *slices*; one seeded
//!    RNG lays out every session of every slice, and from it the exact connection-id and
//!    query-id ranges of each slice, so ids increase globally although slices render
//!    independently. What goes in: `background.rs` (application pools following a diurnal
//!    curve, `rdsadmin` health checks, the DBA on the bastion, PostgreSQL's own messages) and
//!    `incidents.rs` (the planted attacks, one function each), over the estate of `estate.rs`
//!    (users, hosts, databases, the master user and the expected networks).
//! 3. `layout.rs`: which slices go into which file, and the file names of each layout
//!    (rotated `server_audit.log`, Aurora's four concurrent files, hourly PostgreSQL logs,
//!    CloudWatch export objects, Firehose deliveries).
//! 4. `render/`: one slice into log text, as a k-way merge of its sessions with an RNG seeded
//!    from `(seed, slice index)`; the line formats are in `render/mysql.rs` and
//!    `render/postgres.rs`, the statements of application sessions in `app_sql.rs`.
//! 5. `output.rs`: files written in parallel with rayon (plain, gzip, zstd, CloudWatch export
//!    objects), or `cloudwatch_json.rs` deliveries; the bytes never depend on the thread count.
//! 6. `ground_truth.rs`: `ground_truth.json`, from the expectations the plan collected.
//!
//! Shared helpers: `rng.rs` (the seeded streams and draws), `time.rs` (µs units, civil dates,
//! date texts), `text.rs` (digits into byte buffers).
//!
//! **Adding a planted incident**: write one function in `incidents.rs` that adds its
//! sessions and the findings it must raise, and append it to `INCIDENTS` there (its doc says
//! how); statements the background must never send belong in the checks of `tests.rs`
//! (`background_alone_is_clean`). A new log format is a renderer under `render/`, a new
//! wrapping a writer beside `output.rs` with its names in `layout.rs`.
//!
//! The tree uses only std, external crates and its own modules, so the generator stays
//! independent of the analysis it is there to test.

use std::fmt;
use std::fs;
use std::io;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::NaiveDate;
use rayon::prelude::*;

mod app_sql;
mod background;
mod baseline;
mod calibrate;
mod cloudtrail;
mod cloudwatch_json;
mod estate;
mod ground_truth;
mod incidents;
mod layout;
mod output;
mod plan;
mod render;
mod rng;
mod text;
mod time;

#[cfg(test)]
mod tests;

use calibrate::calibrate;
use layout::layout_units;
use output::write_unit;
use plan::{build_plan, Env};
use time::US;

/// Which server's audit format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// RDS for MySQL (`aws/audit-plugin-for-mysql`): 11/12 fields, `connection_type` (TLS).
    RdsMysql,
    /// RDS for MariaDB (`server_audit` 1.4.x): 10 fields, table events, no TLS info.
    Mariadb,
    /// Aurora MySQL Advanced Auditing: epoch-µs timestamps, old escaping, 4 concurrent files.
    Aurora,
    /// RDS for PostgreSQL: `%t:%r:%u@%d:[%p]:` lines, multi-line records, pgaudit, hourly files.
    Postgres,
}

impl Flavor {
    /// The command-line name (`rds-mysql`, `mariadb`, `aurora`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Flavor::RdsMysql => "rds-mysql",
            Flavor::Mariadb => "mariadb",
            Flavor::Aurora => "aurora",
            Flavor::Postgres => "postgres",
        }
    }

    /// The `serverhost` field: an OS host name on RDS, the instance id on Aurora.
    fn server_host(self) -> &'static str {
        match self {
            Flavor::RdsMysql => "ip-10-20-1-51",
            Flavor::Mariadb => "ip-10-20-1-52",
            Flavor::Aurora => "prod-cluster-instance-1",
            // PostgreSQL lines do not name the server.
            Flavor::Postgres => "",
        }
    }

    /// DB instance identifier, used as the CloudWatch log stream name.
    pub(crate) fn instance_id(self) -> &'static str {
        match self {
            Flavor::RdsMysql => "prod-mysql-1",
            Flavor::Mariadb => "prod-mariadb-1",
            Flavor::Aurora => "prod-cluster-instance-1",
            Flavor::Postgres => "prod-postgres-1",
        }
    }

    /// The CloudWatch log group the instance publishes this log to.
    fn log_group(self) -> &'static str {
        match self {
            Flavor::RdsMysql => "/aws/rds/instance/prod-mysql-1/audit",
            Flavor::Mariadb => "/aws/rds/instance/prod-mariadb-1/audit",
            Flavor::Aurora => "/aws/rds/cluster/prod-cluster/audit",
            Flavor::Postgres => "/aws/rds/instance/prod-postgres-1/postgresql",
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Flavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "rds-mysql" | "mysql" | "rdsmysql" => Ok(Flavor::RdsMysql),
            "mariadb" | "rds-mariadb" => Ok(Flavor::Mariadb),
            "aurora" | "aurora-mysql" => Ok(Flavor::Aurora),
            "postgres" | "postgresql" | "rds-postgres" => Ok(Flavor::Postgres),
            _ => Err(format!(
                "unknown flavor `{s}` (expected rds-mysql, mariadb, aurora or postgres)"
            )),
        }
    }
}

/// Compression applied to every log file (CloudWatch exports are always gzip).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Default corpus size (uncompressed bytes of log text).
pub(crate) const DEFAULT_SIZE: u64 = 1 << 30;
/// Default length of the period, in days.
pub(crate) const DEFAULT_DAYS: u32 = 7;

/// The default first day of the period, 2026-03-01 (UTC).
pub(crate) fn default_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).expect("valid date")
}

#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// Output folder (created if missing).
    pub out: PathBuf,
    /// Target uncompressed size of all log text, ±5%. The fixed traffic of one day (health
    /// checks, admin work, incidents) is about 300 KB, so smaller targets are exceeded.
    pub size_bytes: u64,
    pub seed: u64,
    pub flavor: Flavor,
    pub compression: Compression,
    /// Write CloudWatch S3 export objects instead of the `audit/` layout.
    pub cloudwatch_export: bool,
    /// Write CloudWatch subscription-filter deliveries as Firehose puts them in S3: gzip
    /// objects without extension, each JSON payloads concatenated without separators, the
    /// first opening with a `CONTROL_MESSAGE`. The size then applies to the log text inside.
    pub cloudwatch_json: bool,
    /// Also write the control plane: a CloudTrail of the estate whose planted incidents line
    /// up with the audit logs' (see `cloudtrail.rs`). The logs then go under a folder named
    /// after the instance (the cluster on Aurora), the trail under `cloudtrail/`.
    pub cloudtrail: bool,
    /// Length of the period; shortened (never below 1) when `size_bytes` is too small to
    /// hold the fixed traffic of that many days, see `SynthReport::days`.
    pub days: u32,
    /// First day of the period, 00:00 UTC.
    pub start: NaiveDate,
}

impl SynthOptions {
    pub fn new(out: impl Into<PathBuf>) -> Self {
        SynthOptions {
            out: out.into(),
            ..Default::default()
        }
    }
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            out: PathBuf::from("synth-out"),
            size_bytes: DEFAULT_SIZE,
            seed: 1,
            flavor: Flavor::RdsMysql,
            compression: Compression::None,
            cloudwatch_export: false,
            cloudwatch_json: false,
            cloudtrail: false,
            days: DEFAULT_DAYS,
            start: default_start(),
        }
    }
}

/// What `generate` wrote.
#[derive(Clone, Debug)]
pub struct SynthReport {
    /// Log files written (full paths), in the order listed in `ground_truth.json`.
    pub files: Vec<PathBuf>,
    /// Lines written over all files.
    pub lines: u64,
    /// Uncompressed bytes written over all files (JSON included for `cloudwatch_json`).
    pub bytes: u64,
    /// Planted incident scenarios (10, or 9 where the flavor has no TLS field).
    pub incidents: usize,
    /// Entries in `expected_findings`.
    pub expected_findings: usize,
    /// Days actually covered (less than requested when the size was too small).
    pub days: u32,
    /// Path of `ground_truth.json`.
    pub ground_truth: PathBuf,
}

pub(crate) use crate::bytes::parse_size;

/// Writes the corpus and `ground_truth.json` under `opts.out`.
pub fn generate(opts: &SynthOptions) -> io::Result<SynthReport> {
    if opts.cloudtrail {
        return generate_with_trail(opts);
    }
    if opts.days == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "days must be at least 1",
        ));
    }
    let start_us = opts
        .start
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
        * US;
    if opts.cloudwatch_export && opts.cloudwatch_json {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "choose one CloudWatch wrapping: S3 export or JSON deliveries",
        ));
    }
    let layout_dir = opts.out.join(if opts.cloudwatch_export {
        "exportedlogs"
    } else if opts.cloudwatch_json {
        "firehose"
    } else if opts.flavor == Flavor::Postgres {
        "error"
    } else {
        "audit"
    });
    // Refuse to mix with an earlier corpus: stale rotated files would silently join it.
    if let Ok(mut rd) = fs::read_dir(&layout_dir) {
        if rd.next().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists and is not empty", layout_dir.display()),
            ));
        }
    }
    let base_env = Env {
        flavor: opts.flavor,
        cw: opts.cloudwatch_export,
        cwj: opts.cloudwatch_json,
        seed: opts.seed,
        days: opts.days,
        start_us,
    };
    let cal = calibrate(base_env, opts.size_bytes);
    let env = cal.env;
    let plan = build_plan(&env, cal.scale);
    let units = layout_units(&env, &plan, &cal.estimates, opts);

    fs::create_dir_all(&layout_dir)?;
    for u in &units {
        for p in &u.paths {
            if let Some(parent) = opts.out.join(p).parent() {
                fs::create_dir_all(parent)?;
            }
        }
    }
    let compression = if env.cw || env.cwj {
        Compression::Gzip
    } else {
        opts.compression
    };
    let results: Vec<io::Result<(u64, u64)>> = units
        .par_iter()
        .map(|u| write_unit(&env, &plan, u, &opts.out, compression))
        .collect();
    let mut lines = 0;
    let mut bytes = 0;
    for r in results {
        let (l, b) = r?;
        lines += l;
        bytes += b;
    }
    let rel_files: Vec<String> = units.iter().flat_map(|u| u.paths.iter().cloned()).collect();

    let gt_path = ground_truth::write(opts, &env, &plan, compression, &rel_files, lines, bytes)?;

    Ok(SynthReport {
        files: rel_files.iter().map(|p| opts.out.join(p)).collect(),
        lines,
        bytes,
        incidents: plan.incidents,
        expected_findings: plan.findings.len(),
        days: env.days,
        ground_truth: gt_path,
    })
}

/// [`generate`] with `--cloudtrail`: the audit logs under `<out>/<identifier>/`, the trail
/// under `<out>/cloudtrail/`, and one `ground_truth.json` for both (the trail's findings carry
/// their `resource`; `config.aws_accounts` lists the estate's accounts).
fn generate_with_trail(opts: &SynthOptions) -> io::Result<SynthReport> {
    let id = cloudtrail::database_id(opts.flavor);
    let inner = SynthOptions {
        out: opts.out.join(id),
        cloudtrail: false,
        ..opts.clone()
    };
    let mut report = generate(&inner)?;
    let start_us = opts
        .start
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
        * US;
    let (trail_files, expected) = cloudtrail::write(&opts.out, opts.flavor, start_us, report.days)?;
    let inner_gt = fs::read(&report.ground_truth)?;
    fs::remove_file(&report.ground_truth)?;
    // The threat list goes beside the whole corpus, as without a trail (not among the logs).
    let list = baseline::THREAT_LIST_NAME;
    if opts.out.join(id).join(list).exists() {
        fs::rename(opts.out.join(id).join(list), opts.out.join(list))?;
    }
    let mut gt: serde_json::Value = serde_json::from_slice(&inner_gt).map_err(io::Error::other)?;
    let prefix = |f: &serde_json::Value| {
        serde_json::Value::String(format!("{id}/{}", f.as_str().unwrap_or("")))
    };
    if let Some(files) = gt["files"].as_array_mut() {
        for f in files.iter_mut() {
            *f = prefix(f);
        }
        files.extend(
            trail_files
                .iter()
                .map(|f| serde_json::Value::String(f.clone())),
        );
    }
    gt["cloudtrail"] = serde_json::json!(true);
    gt["config"]["aws_accounts"] =
        serde_json::json!([cloudtrail::ACCOUNT, cloudtrail::SECOND_ACCOUNT]);
    if let Some(list) = gt["expected_findings"].as_array_mut() {
        for e in &expected {
            list.push(serde_json::json!({
                "kind": e.kind,
                "severity": e.severity,
                "user": e.user,
                "client_ip": e.client_ip,
                "database": null,
                "resource": e.resource,
                "first_seen": time::fmt_rfc3339(e.first_seen),
                "note": e.note,
            }));
        }
    }
    let path = opts.out.join("ground_truth.json");
    let mut json = serde_json::to_vec_pretty(&gt).map_err(io::Error::other)?;
    json.push(b'\n');
    fs::write(&path, json)?;
    report
        .files
        .extend(trail_files.iter().map(|f| opts.out.join(f)));
    report.expected_findings += expected.len();
    report.ground_truth = path;
    Ok(report)
}
