//! Deterministic generator of realistic RDS / Aurora audit-log corpora.
//!
//! `generate` writes a corpus in one of four on-disk formats (RDS for MySQL's
//! `server_audit` fork with its trailing `connection_type` field, MariaDB's 10-field
//! `server_audit`, Aurora MySQL "Advanced Auditing" with epoch-microsecond timestamps and the
//! old escaping that writes every whitespace byte as a space, and RDS PostgreSQL's hourly
//! `postgresql.log` with `log_connections`, `log_disconnections` and pgaudit), optionally
//! gzip/zstd-compressed, wrapped as a CloudWatch Logs S3 export, or wrapped as CloudWatch
//! subscription-filter deliveries (Firehose objects of concatenated JSON), plus
//! `ground_truth.json`, the findings a correct analysis must produce. PostgreSQL renders the
//! same plan of sessions as the MySQL flavors (its own SQL dialect where statements differ),
//! so every flavor carries the same planted incidents. The period (`days` from `start`, UTC) is cut into one-hour *slices*. A cheap,
//! sequential *plan* (one seeded RNG) lays out every session of every slice — pooled
//! application sessions whose query rate follows a smooth diurnal curve, `rdsadmin` health
//! checks, bastion admin work, and the ten planted incidents at fixed, spread-out times — and
//! from it the exact connection-id and query-id ranges of each slice, so ids increase
//! globally even though slices are rendered independently. Rendering a slice is a k-way merge
//! (a heap keyed by each session's next event time) that formats lines straight into a
//! reused byte buffer with its own RNG seeded from `(seed, slice index)`; output files are
//! runs of whole slices and are rendered in parallel with rayon, so the bytes never depend on
//! the thread count. Sizes are hit by calibration: render the plan once with no background
//! (the fixed part), once at a small probe volume, extrapolate linearly (refined once more
//! when that is cheap), and cut files from the per-slice estimates.
//!
//! This file uses only std and external crates (no `crate::` paths) so it compiles alone.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

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
    pub fn name(self) -> &'static str {
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
    fn instance_id(self) -> &'static str {
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
pub const DEFAULT_SIZE: u64 = 1 << 30;
/// Default length of the period, in days.
pub const DEFAULT_DAYS: u32 = 7;

/// The default first day of the period, 2026-03-01 (UTC).
pub fn default_start() -> NaiveDate {
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

/// Parses a size such as `1GiB`, `1G`, `512M`, `500MB`, `64k`, `1.5G` or `12345`.
/// `K/M/G/T` with or without `iB` are binary (1024-based); `KB/MB/GB/TB` are decimal.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: String = num.chars().filter(|&c| c != '_').collect();
    if num.is_empty() {
        return Err(format!(
            "invalid size `{s}`: expected a number such as 512M or 1GiB"
        ));
    }
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "ki" | "kib" => 1 << 10,
        "m" | "mi" | "mib" => 1 << 20,
        "g" | "gi" | "gib" => 1 << 30,
        "t" | "ti" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        u => {
            return Err(format!(
                "invalid size unit `{u}` in `{s}` (use K, M, G, T, KiB.., KB..)"
            ))
        }
    };
    if num.contains('.') {
        let v: f64 = num.parse().map_err(|_| format!("invalid size `{s}`"))?;
        let bytes = (v * mult as f64).round();
        if !bytes.is_finite() || bytes > u64::MAX as f64 {
            return Err(format!("size `{s}` is too large"));
        }
        Ok(bytes as u64)
    } else {
        let v: u64 = num.parse().map_err(|_| format!("invalid size `{s}`"))?;
        v.checked_mul(mult)
            .ok_or_else(|| format!("size `{s}` is too large"))
    }
}

/// Writes the corpus and `ground_truth.json` under `opts.out`.
pub fn generate(opts: &SynthOptions) -> io::Result<SynthReport> {
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

    let gt = GroundTruth {
        flavor: env.flavor.name(),
        seed: opts.seed,
        size_bytes: opts.size_bytes,
        bytes,
        lines,
        start: fmt_rfc3339(env.start_us),
        end: fmt_rfc3339(env.start_us + env.days as i64 * DAY_US),
        days: env.days,
        compression: compression.name(),
        cloudwatch_export: env.cw,
        cloudwatch_json: env.cwj,
        files: rel_files.clone(),
        config: GtConfig {
            allow: vec![ALLOW_CIDR],
            master_users: vec![MASTER_USER],
            admin_hosts: vec![ADMIN_HOST_CIDR],
        },
        incidents: plan.incidents,
        expected_findings: plan
            .findings
            .iter()
            .map(|f| GtFinding {
                kind: f.kind,
                severity: f.severity,
                user: f.user.map(str::to_string),
                client_ip: f.client_ip.map(str::to_string),
                database: f.database.map(str::to_string),
                statement: f.statement.clone(),
                // As precise as the log itself: seconds, or milliseconds (findings are ms) on Aurora.
                first_seen: fmt_rfc3339(if env.flavor == Flavor::Aurora {
                    f.first_seen - f.first_seen.rem_euclid(MS)
                } else {
                    f.first_seen - f.first_seen.rem_euclid(US)
                }),
                count: f.count,
                note: f.note.clone(),
            })
            .collect(),
    };
    let gt_path = opts.out.join("ground_truth.json");
    let mut json = serde_json::to_vec_pretty(&gt).map_err(io::Error::other)?;
    json.push(b'\n');
    fs::write(&gt_path, json)?;

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

// ---------------------------------------------------------------------------------------------
// Constants of the simulated estate
// ---------------------------------------------------------------------------------------------

const US: i64 = 1_000_000;
const MS: i64 = 1_000;
const MIN_US: i64 = 60 * US;
const SLICE_US: i64 = 3600 * US;
const DAY_US: i64 = 24 * SLICE_US;
/// Rotation size of `server_audit` files and of one Aurora generation (4 files together).
const FILE_TARGET: u64 = 100_000_000;
/// Below this, one file is enough; above it at least 3 so that rotation is exercised.
const MIN_ROTATED_SIZE: u64 = 300_000;
/// `server_audit_query_log_limit` default: escaped query text is cut at this many bytes.
const QUERY_LOG_LIMIT: usize = 1024;
const AURORA_LANES: usize = 4;
/// First connection / query id of the period: the server has been up for a while.
const CONN_ID0: i64 = 18_342;
const QUERY_ID0: i64 = 4_096_117;
const PLAN_STREAM: u64 = u64::MAX;
const META_STREAM: u64 = u64::MAX - 1;

const ALLOW_CIDR: &str = "10.20.0.0/16";
const MASTER_USER: &str = "admin";
const ADMIN_HOST_CIDR: &str = "10.20.0.10/32";
const BASTION: &str = "10.20.0.10";
/// The SQLSTATE class of a refused privilege (42501), as a PostgreSQL statement's "retcode".
const PG_PERMISSION_DENIED: u32 = 42501;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum App {
    Orders,
    Billing,
    Reporting,
    Etl,
}

const APPS: [App; 4] = [App::Orders, App::Billing, App::Reporting, App::Etl];

struct Profile {
    user: &'static str,
    db: &'static str,
    hosts: &'static [&'static str],
    /// Share of background queries.
    share: f64,
    /// Mean queries per pooled session: keeps connection overhead proportional to volume.
    q_target: f64,
    /// Pool size: concurrent sessions per hour at high volume.
    max_slots: usize,
}

const PROFILES: [Profile; 4] = [
    Profile {
        user: "app_orders",
        db: "orders",
        hosts: &["10.20.1.11", "10.20.1.12", "10.20.2.11", "10.20.2.12"],
        share: 0.45,
        q_target: 200.0,
        max_slots: 8,
    },
    Profile {
        user: "app_billing",
        db: "billing",
        hosts: &["10.20.1.21", "10.20.2.21"],
        share: 0.25,
        q_target: 150.0,
        max_slots: 4,
    },
    Profile {
        user: "reporting",
        db: "analytics",
        hosts: &["10.20.4.15", "10.20.4.16"],
        share: 0.15,
        q_target: 60.0,
        max_slots: 3,
    },
    Profile {
        user: "etl",
        db: "warehouse",
        hosts: &["10.20.5.30", "10.20.5.31"],
        share: 0.15,
        q_target: 250.0,
        max_slots: 2,
    },
];

impl App {
    fn profile(self) -> &'static Profile {
        &PROFILES[self as usize]
    }
    /// Statements a driver sends right after connecting (Connector/J vs. PyMySQL; pgJDBC vs.
    /// SQLAlchemy on PostgreSQL).
    fn init_statements(self, pg: bool) -> &'static [&'static str] {
        match (self, pg) {
            (App::Orders | App::Billing, false) => &[
                JDBC_INIT,
                "SET character_set_results = NULL",
                "SET autocommit=1",
            ],
            (App::Reporting | App::Etl, false) => &["SET NAMES utf8mb4", "SET AUTOCOMMIT = 1"],
            (App::Orders | App::Billing, true) => &[
                "SET extra_float_digits = 3",
                "SET application_name = 'PostgreSQL JDBC Driver'",
                "SHOW TRANSACTION ISOLATION LEVEL",
            ],
            (App::Reporting | App::Etl, true) => &[
                "select pg_catalog.version()",
                "select current_schema()",
                "show standard_conforming_strings",
            ],
        }
    }
}

const JDBC_INIT: &str = "/* mysql-connector-j-8.3.0 (Revision: 805f872a57875f311cb82487efcfb070411a3fa0) */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, @@character_set_server AS character_set_server, @@collation_server AS collation_server, @@collation_connection AS collation_connection, @@init_connect AS init_connect, @@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_write_timeout AS net_write_timeout, @@performance_schema AS performance_schema, @@sql_mode AS sql_mode, @@system_time_zone AS system_time_zone, @@time_zone AS time_zone, @@transaction_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout";

/// Traffic shape over the day (UTC): smooth, quietest at 03:00, 3× that at 15:00.
fn diurnal(hour_of_day: usize) -> f64 {
    let h = hour_of_day as f64 + 0.5;
    2.0 - (std::f64::consts::TAU * (h - 3.0) / 24.0).cos()
}

// ---------------------------------------------------------------------------------------------
// Plan: every session of every slice, built sequentially from one RNG
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Env {
    flavor: Flavor,
    cw: bool,
    /// CloudWatch JSON deliveries.
    cwj: bool,
    seed: u64,
    days: u32,
    start_us: i64,
}

impl Env {
    fn slices(&self) -> usize {
        self.days as usize * 24
    }
    fn lanes(&self) -> usize {
        if self.flavor == Flavor::Aurora && !self.cw && !self.cwj {
            AURORA_LANES
        } else {
            1
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conn {
    Ssl,
    Tcp,
    Socket,
}

impl Conn {
    fn text(self) -> &'static [u8] {
        match self {
            Conn::Ssl => b"SSL",
            Conn::Tcp => b"TCP/IP",
            Conn::Socket => b"SOCKET",
        }
    }
}

/// Table event attached to a statement: (operation, database, table).
type Tab = (&'static str, &'static str, &'static str);

struct Stmt {
    at: i64,
    sql: Cow<'static, str>,
    ret: u32,
    tables: Vec<Tab>,
}

fn stmt(at: i64, sql: impl Into<Cow<'static, str>>) -> Stmt {
    Stmt {
        at,
        sql: sql.into(),
        ret: 0,
        tables: Vec::new(),
    }
}

fn stmt_t(at: i64, sql: impl Into<Cow<'static, str>>, tables: &[Tab]) -> Stmt {
    Stmt {
        at,
        sql: sql.into(),
        ret: 0,
        tables: tables.to_vec(),
    }
}

enum Body {
    /// Application traffic generated while rendering; `regular` spaces queries evenly
    /// (a scripted burst) instead of jittering them.
    Pooled { app: App, n: u32, regular: bool },
    /// Explicit statements at explicit times (health checks, humans, incidents).
    Script(Vec<Stmt>),
    /// FAILED_CONNECT with this retcode, immediately followed by DISCONNECT.
    Failed { ret: u32 },
    /// A PostgreSQL server message with no session (checkpoints, autovacuum).
    Server(ServerMsg),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerMsg {
    /// `checkpoint starting` at the start, `checkpoint complete` at the end.
    Checkpoint,
    /// A multi-line `automatic vacuum of table` report.
    Vacuum(&'static str),
    /// `automatic analyze of table` with its usage line.
    Analyze(&'static str),
}

struct Session {
    start: i64,
    end: i64,
    user: &'static str,
    host: &'static str,
    db: &'static str,
    conn: Conn,
    body: Body,
}

impl Session {
    fn queries(&self) -> u32 {
        match &self.body {
            Body::Pooled { n, .. } => *n,
            Body::Script(s) => s.len() as u32,
            Body::Failed { .. } | Body::Server(_) => 0,
        }
    }
}

struct SlicePlan {
    t0: i64,
    t1: i64,
    sessions: Vec<Session>,
    conn_base: i64,
    query_base: i64,
}

struct Expected {
    kind: &'static str,
    severity: &'static str,
    user: Option<&'static str>,
    client_ip: Option<&'static str>,
    database: Option<&'static str>,
    statement: Option<String>,
    first_seen: i64,
    count: Option<u64>,
    note: String,
}

struct Plan {
    slices: Vec<SlicePlan>,
    findings: Vec<Expected>,
    incidents: usize,
}

type R = ChaCha8Rng;

fn rng_for(seed: u64, stream: u64) -> R {
    let mut r = R::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Uniform in `[0, n)` (Lemire's multiply-shift; bias is irrelevant here).
#[inline]
fn below(rng: &mut R, n: u64) -> u64 {
    ((rng.next_u64() as u128 * n as u128) >> 64) as u64
}

/// Uniform in `[0, 1)`.
#[inline]
fn unit(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform in `[lo, hi)`.
#[inline]
fn range(rng: &mut R, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        lo + below(rng, (hi - lo) as u64) as i64
    }
}

#[inline]
fn pick(rng: &mut R, xs: &[&'static str]) -> &'static str {
    xs[below(rng, xs.len() as u64) as usize]
}

fn build_plan(env: &Env, scale: f64) -> Plan {
    let n = env.slices();
    let mut rng = rng_for(env.seed, PLAN_STREAM);
    let mut slices: Vec<SlicePlan> = (0..n)
        .map(|i| {
            let t0 = env.start_us + i as i64 * SLICE_US;
            SlicePlan {
                t0,
                t1: t0 + SLICE_US,
                sessions: Vec::new(),
                conn_base: 0,
                query_base: 0,
            }
        })
        .collect();
    let w_sum: f64 = (0..n).map(|i| diurnal(i % 24)).sum();

    // Background application pools.
    for app in APPS {
        let p = app.profile();
        for (i, sp) in slices.iter_mut().enumerate() {
            let expect = scale * p.share * diurnal(i % 24) / w_sum;
            // Random dithering keeps the total unbiased when a slice expects < 1 query.
            let q = (expect + unit(&mut rng)).floor() as u64;
            if q > 0 {
                add_pool(sp, i, app, q, &mut rng);
            }
        }
    }

    // rdsadmin health checks every 5 minutes over the Unix socket.
    let pg = env.flavor == Flavor::Postgres;
    for sp in slices.iter_mut() {
        for k in 0..12 {
            let s = sp.t0 + k * 5 * MIN_US + 2 * US + range(&mut rng, 0, 900 * MS);
            let (first, second) = match (pg, k % 2 == 0) {
                (false, true) => ("select @@session.transaction_read_only", "SELECT 1"),
                (false, false) => (
                    "select @@session.transaction_read_only",
                    "SELECT @@GLOBAL.read_only",
                ),
                (true, true) => ("SELECT pg_is_in_recovery()", "SELECT 1"),
                (true, false) => (
                    "SELECT pg_is_in_recovery()",
                    "SELECT count(*) FROM pg_stat_activity",
                ),
            };
            sp.sessions.push(Session {
                start: s,
                end: s + 4800,
                user: "rdsadmin",
                host: if pg { "[local]" } else { "localhost" },
                db: if pg { "rdsadmin" } else { "" },
                conn: Conn::Socket,
                body: Body::Script(vec![stmt(s + 1500, first), stmt(s + 3100, second)]),
            });
        }
        if pg {
            add_server_messages(sp, &mut rng);
        }
    }

    // The DBA on the bastion, a few times a day, benign.
    let mut bastion_first = i64::MAX;
    let mut bastion_logins = 0u64;
    for d in 0..env.days as i64 {
        for h in [9i64, 13, 17] {
            let idx = (d * 24 + h) as usize;
            let s = slices[idx].t0 + range(&mut rng, 0, 45 * MIN_US);
            let sess = admin_benign(s, &mut rng, pg);
            bastion_first = bastion_first.min(s);
            bastion_logins += 1;
            slices[idx].sessions.push(sess);
        }
        // A rare, single mistyped password from an application host: must not alert.
        if d % 3 == 1 {
            let idx = (d * 24 + 11) as usize;
            let s = slices[idx].t0 + range(&mut rng, 0, 50 * MIN_US);
            slices[idx].sessions.push(Session {
                start: s,
                end: s,
                user: "app_billing",
                host: "10.20.2.21",
                db: if pg { "billing" } else { "" },
                conn: Conn::Ssl,
                body: Body::Failed { ret: 1045 },
            });
        }
    }

    let mut plan_findings = Vec::new();
    let incidents = plant_incidents(
        env,
        &mut slices,
        &mut plan_findings,
        scale,
        w_sum,
        &mut bastion_first,
        &mut bastion_logins,
    );
    plan_findings.push(Expected {
        kind: "master_user",
        severity: "low",
        user: None,
        client_ip: Some(BASTION),
        database: None,
        statement: None,
        first_seen: bastion_first,
        count: None,
        note: format!("master user admin logs in from the admin host (bastion), {bastion_logins} logins; expected, reported as low"),
    });
    plan_findings.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.kind.cmp(b.kind)));

    // Stable sort keeps plan order for equal starts; ids follow from the exact counts.
    let mut conn = CONN_ID0;
    let mut qid = QUERY_ID0;
    for sp in slices.iter_mut() {
        sp.sessions.sort_by_key(|s| s.start);
        sp.conn_base = conn;
        sp.query_base = qid;
        conn += sp.sessions.len() as i64;
        qid += sp.sessions.iter().map(|s| s.queries() as i64).sum::<i64>();
    }
    Plan {
        slices,
        findings: plan_findings,
        incidents,
    }
}

/// Lays out one user's pooled sessions for one hour: `k` pool slots, each a chain of
/// back-to-back sessions spanning the hour, queries allotted in proportion to duration so
/// that the user's query rate is flat within the hour (no accidental spikes).
fn add_pool(sp: &mut SlicePlan, slice_idx: usize, app: App, q: u64, rng: &mut R) {
    let p = app.profile();
    let n_s = ((q as f64 / p.q_target).round() as usize).max(1);
    let k = n_s.min(p.max_slots);
    let mut spans: Vec<(i64, i64, &'static str)> = Vec::with_capacity(n_s);
    for j in 0..k {
        let m = n_s / k + usize::from(j < n_s % k);
        let host = p.hosts[(j + slice_idx) % p.hosts.len()];
        let a = sp.t0 + range(rng, 0, 90 * US);
        let b = sp.t1 - range(rng, US, 45 * US);
        let mut prev = a;
        for s in 0..m {
            let cut = if s + 1 == m {
                b
            } else {
                // Stratified cut points: no session shorter than 40% of the mean.
                a + ((b - a) as f64 * ((s as f64 + 1.0) + (unit(rng) - 0.5) * 0.6) / m as f64)
                    as i64
            };
            let start = if s == 0 {
                prev
            } else {
                (prev + range(rng, 50 * MS, 2 * US)).min(cut - MS)
            };
            spans.push((start, cut, host));
            prev = cut;
        }
    }
    let total: f64 = spans.iter().map(|(s, e, _)| (e - s) as f64).sum();
    let mut cum = 0.0;
    let mut given = 0u64;
    for (start, end, host) in spans {
        cum += (end - start) as f64;
        let upto = ((q as f64 * cum / total).round() as u64).min(q);
        let nq = upto - given;
        given = upto;
        sp.sessions.push(Session {
            start,
            end,
            user: p.user,
            host,
            db: p.db,
            conn: Conn::Ssl,
            body: Body::Pooled {
                app,
                n: nq as u32,
                regular: false,
            },
        });
    }
    if given < q {
        // Float rounding left a remainder: give it to the last session.
        if let Some(Session {
            body: Body::Pooled { n, .. },
            ..
        }) = sp.sessions.last_mut()
        {
            *n += (q - given) as u32;
        }
    }
}

/// PostgreSQL's own messages in one hour: a checkpoint every 5 minutes (`checkpoint_timeout`)
/// and autovacuum / autoanalyze of the busiest tables.
fn add_server_messages(sp: &mut SlicePlan, rng: &mut R) {
    for k in 0..12 {
        let s = sp.t0 + k * 5 * MIN_US + 30 * US;
        sp.sessions.push(Session {
            start: s,
            end: s + range(rng, 5 * US, 50 * US),
            user: "",
            host: "",
            db: "",
            conn: Conn::Socket,
            body: Body::Server(ServerMsg::Checkpoint),
        });
    }
    for (table, vacuum) in [
        ("orders.public.cart_items", true),
        ("warehouse.public.staging_events", true),
        ("orders.public.orders", false),
    ] {
        let s = sp.t0 + range(rng, 0, 59 * MIN_US);
        sp.sessions.push(Session {
            start: s,
            end: s,
            user: "",
            host: "",
            db: "",
            conn: Conn::Socket,
            body: Body::Server(if vacuum {
                ServerMsg::Vacuum(table)
            } else {
                ServerMsg::Analyze(table)
            }),
        });
    }
}

fn admin_benign(start: i64, rng: &mut R, pg: bool) -> Session {
    if pg {
        return admin_benign_pg(start, rng);
    }
    // Every session touches each application database and mysql, so the master user's
    // normal footprint covers what the incidents touch (no cross_database noise for admin).
    const DB_QUERIES: [&str; 5] = [
        "SELECT COUNT(*) FROM orders.orders WHERE created_at >= CURDATE()",
        "SELECT status, COUNT(*) FROM billing.invoices GROUP BY status",
        "SELECT MAX(order_date) FROM analytics.daily_sales",
        "SELECT batch_id, status, started_at FROM warehouse.etl_batches ORDER BY batch_id DESC LIMIT 5",
        "SELECT user, host, account_locked FROM mysql.user",
    ];
    const EXTRA: [&str; 6] = [
        "SHOW PROCESSLIST",
        "SHOW ENGINE INNODB STATUS",
        "SHOW GLOBAL STATUS LIKE 'Threads_connected'",
        "SELECT table_schema,\n       ROUND(SUM(data_length + index_length) / 1024 / 1024) AS size_mb\nFROM information_schema.tables\nGROUP BY table_schema\nORDER BY size_mb DESC",
        "SELECT @@version, @@version_comment",
        "SELECT trx_id, trx_state, trx_started FROM information_schema.innodb_trx",
    ];
    let mut qs: Vec<&'static str> = DB_QUERIES.to_vec();
    let extra = 1 + below(rng, 3) as usize;
    for _ in 0..extra {
        qs.push(pick(rng, &EXTRA));
    }
    // Fisher-Yates shuffle with our own RNG helpers.
    for i in (1..qs.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        qs.swap(i, j);
    }
    let mut t = start + range(rng, US, 3 * US);
    let mut stmts = Vec::with_capacity(qs.len() + 1);
    stmts.push(stmt(t, "select @@version_comment limit 1"));
    for q in qs {
        t += range(rng, 3 * US, 40 * US);
        stmts.push(stmt(t, q));
    }
    Session {
        start,
        end: t + range(rng, 5 * US, 60 * US),
        user: MASTER_USER,
        host: BASTION,
        db: "",
        conn: Conn::Ssl,
        body: Body::Script(stmts),
    }
}

/// [`admin_benign`] in PostgreSQL: psql on the bastion, connected to `postgres`, reading
/// each application's schema.
fn admin_benign_pg(start: i64, rng: &mut R) -> Session {
    const DB_QUERIES: [&str; 5] = [
        "SELECT count(*) FROM orders.orders WHERE created_at >= current_date",
        "SELECT status, count(*) FROM billing.invoices GROUP BY status",
        "SELECT max(order_date) FROM analytics.daily_sales",
        "SELECT batch_id, status, started_at FROM warehouse.etl_batches ORDER BY batch_id DESC LIMIT 5",
        "SELECT rolname, rolcanlogin, rolvaliduntil FROM pg_catalog.pg_roles",
    ];
    const EXTRA: [&str; 6] = [
        "SELECT pid, usename, state, query FROM pg_stat_activity",
        "SELECT * FROM pg_stat_database WHERE datname = 'orders'",
        "SHOW max_connections",
        "SELECT datname,\n       pg_size_pretty(pg_database_size(datname)) AS size\nFROM pg_database\nORDER BY pg_database_size(datname) DESC",
        "SELECT version()",
        "SELECT relname, n_dead_tup FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT 10",
    ];
    let mut qs: Vec<&'static str> = DB_QUERIES.to_vec();
    let extra = 1 + below(rng, 3) as usize;
    for _ in 0..extra {
        qs.push(pick(rng, &EXTRA));
    }
    for i in (1..qs.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        qs.swap(i, j);
    }
    let mut t = start + range(rng, US, 3 * US);
    let mut stmts = Vec::with_capacity(qs.len() + 1);
    stmts.push(stmt(t, "SELECT current_user, current_database()"));
    for q in qs {
        t += range(rng, 3 * US, 40 * US);
        stmts.push(stmt(t, q));
    }
    Session {
        start,
        end: t + range(rng, 5 * US, 60 * US),
        user: MASTER_USER,
        host: BASTION,
        db: "postgres",
        conn: Conn::Ssl,
        body: Body::Script(stmts),
    }
}

#[allow(clippy::too_many_arguments)]
fn plant_incidents(
    env: &Env,
    slices: &mut [SlicePlan],
    out: &mut Vec<Expected>,
    scale: f64,
    w_sum: f64,
    bastion_first: &mut i64,
    bastion_logins: &mut u64,
) -> usize {
    let period_h = env.days as u64 * 24;
    // Ten slots, evenly spread; each incident starts at HH:10:00 and ends before HH:45.
    let slot = |k: u64| -> (usize, i64) {
        let h = (period_h * (2 * k + 1) / 20) as usize;
        (h, env.start_us + h as i64 * SLICE_US + 10 * MIN_US)
    };
    let f = |kind, severity, user, client_ip, first_seen, note: &str| Expected {
        kind,
        severity,
        user,
        client_ip,
        database: None,
        statement: None,
        first_seen,
        count: None,
        note: note.to_string(),
    };
    let fstmt = |kind, severity, first_seen, sql: &str, note: &str| Expected {
        kind,
        severity,
        user: None,
        client_ip: None,
        database: None,
        statement: Some(sql.to_string()),
        first_seen,
        count: Some(1),
        note: note.to_string(),
    };
    let mut incidents = 0;
    let pg = env.flavor == Flavor::Postgres;
    // psql connects to `postgres` when the user names no database.
    let no_db = if pg { "postgres" } else { "" };
    let password_masked = if env.flavor == Flavor::Mariadb {
        "*****"
    } else {
        "<secret>"
    };

    // 1. Brute force against the master user from a public address, then success.
    {
        let (h, t) = slot(0);
        let ip = "203.0.113.50";
        for i in 0..60 {
            let s = t + i * 3 * US;
            slices[h].sessions.push(Session {
                start: s,
                end: s,
                user: MASTER_USER,
                host: ip,
                db: no_db,
                conn: Conn::Ssl,
                body: Body::Failed { ret: 1045 },
            });
        }
        let ok = t + 10 * MIN_US;
        slices[h].sessions.push(Session {
            start: ok,
            end: ok + 75 * US,
            user: MASTER_USER,
            host: ip,
            db: no_db,
            conn: Conn::Ssl,
            body: Body::Script(if pg {
                vec![
                    stmt(ok + 2 * US, "SELECT version()"),
                    stmt(ok + 6 * US, "SELECT current_user, inet_server_addr()"),
                    stmt(ok + 15 * US, "SELECT datname FROM pg_database"),
                    stmt(ok + 31 * US, "SELECT rolname, rolsuper FROM pg_roles"),
                    stmt(ok + 52 * US, "SELECT count(*) FROM orders.customers"),
                ]
            } else {
                vec![
                    stmt(ok + 2 * US, "select @@version_comment limit 1"),
                    stmt(ok + 6 * US, "SELECT @@version"),
                    stmt(ok + 15 * US, "SHOW DATABASES"),
                    stmt(ok + 31 * US, "SELECT user, host FROM mysql.user"),
                    stmt_t(
                        ok + 52 * US,
                        "SELECT COUNT(*) FROM orders.customers",
                        &[("READ", "orders", "customers")],
                    ),
                ]
            }),
        });
        let mut bf = f(
            "brute_force",
            "high",
            None,
            Some(ip),
            t,
            if pg {
                "60 failed logins (password authentication failed) for admin in 3 min from a public address"
            } else {
                "60 failed logins (1045) for admin in 3 min from a public address"
            },
        );
        bf.count = Some(60);
        out.push(bf);
        out.push(f("brute_force_success", "critical", Some(MASTER_USER), Some(ip), ok, "successful admin login 10 min after the brute force began (7 min after its last failure)"));
        out.push(f(
            "unknown_source_ip",
            "high",
            Some(MASTER_USER),
            Some(ip),
            ok,
            "admin logged in from a public address outside 10.20.0.0/16",
        ));
        out.push(f(
            "master_user",
            "high",
            None,
            Some(ip),
            ok,
            "master user admin logged in from a public address, not the admin host",
        ));
        incidents += 1;
    }

    // 2. Password spray: one failure each for 12 users within 4 minutes.
    {
        let (h, t) = slot(1);
        let ip = "198.51.100.23";
        const USERS: [&str; 12] = [
            "root", "test", "mysql", "dba", "backup", "oracle", "postgres", "user", "guest",
            "support", "web", "app",
        ];
        for (i, u) in USERS.iter().enumerate() {
            let s = t + i as i64 * 20 * US;
            slices[h].sessions.push(Session {
                start: s,
                end: s,
                user: u,
                host: ip,
                db: if pg { u } else { "" },
                conn: Conn::Ssl,
                body: Body::Failed { ret: 1045 },
            });
        }
        let mut ps = f(
            "password_spray",
            "high",
            None,
            Some(ip),
            t,
            "12 distinct users, one failed login each, within 4 min",
        );
        ps.count = Some(12);
        out.push(ps);
        incidents += 1;
    }

    // 3. Unknown source: reporting over IPv6 (the other two unknown sources are in slot 8).
    {
        let (h, t) = slot(2);
        let ip = "2001:db8:abcd::1234";
        slices[h].sessions.push(Session {
            start: t,
            end: t + 40 * US,
            user: "reporting",
            host: ip,
            db: "analytics",
            conn: Conn::Ssl,
            body: Body::Script(vec![
                stmt(t + US, if pg { "SET application_name = 'DBeaver 24.0.0'" } else { "SET NAMES utf8mb4" }),
                stmt_t(t + 4 * US, "SELECT region, SUM(revenue_cents) AS revenue FROM daily_sales WHERE order_date = '2026-02-27' GROUP BY region", &[("READ", "analytics", "daily_sales")]),
                stmt_t(t + 20 * US, "SELECT COUNT(*) FROM kpi_weekly", &[("READ", "analytics", "kpi_weekly")]),
            ]),
        });
        out.push(f(
            "unknown_source_ip",
            "high",
            Some("reporting"),
            Some(ip),
            t,
            "reporting logged in from a public IPv6 address",
        ));
        incidents += 1;
    }

    // 4. Master user from inside the VPC but not from the admin host.
    {
        let (h, t) = slot(3);
        let ip = "10.20.3.44";
        slices[h].sessions.push(Session {
            start: t,
            end: t + 60 * US,
            user: MASTER_USER,
            host: ip,
            db: no_db,
            conn: Conn::Ssl,
            body: Body::Script(vec![
                stmt(
                    t + 2 * US,
                    if pg {
                        "SELECT datname FROM pg_database"
                    } else {
                        "SHOW DATABASES"
                    },
                ),
                stmt_t(
                    t + 10 * US,
                    "SELECT COUNT(*) FROM orders.orders",
                    &[("READ", "orders", "orders")],
                ),
                stmt(
                    t + 25 * US,
                    if pg {
                        "SELECT pid, usename, client_addr, query FROM pg_stat_activity"
                    } else {
                        "SHOW PROCESSLIST"
                    },
                ),
            ]),
        });
        out.push(f(
            "master_user",
            "high",
            None,
            Some(ip),
            t,
            "master user admin logged in from 10.20.3.44, not the admin host",
        ));
        incidents += 1;
    }

    // 5. Plaintext session: only RDS for MySQL and PostgreSQL logs record the transport.
    if env.flavor == Flavor::RdsMysql || pg {
        let (h, t) = slot(4);
        let ip = "10.20.7.7";
        let ts = fmt_sql_datetime(t + 3 * US);
        slices[h].sessions.push(Session {
            start: t,
            end: t + 10 * US,
            user: "legacy_app",
            host: ip,
            db: "legacy",
            conn: Conn::Tcp,
            body: Body::Script(vec![
                stmt(
                    t + US,
                    "SELECT id, name, balance FROM accounts WHERE id = 7",
                ),
                stmt(
                    t + 3 * US,
                    format!("UPDATE accounts SET last_login = '{ts}' WHERE id = 7"),
                ),
                stmt(
                    t + 5 * US,
                    "SELECT COUNT(*) FROM sessions WHERE account_id = 7",
                ),
            ]),
        });
        out.push(f(
            "non_ssl_session",
            "medium",
            Some("legacy_app"),
            Some(ip),
            t,
            if pg {
                "legacy_app connected without SSL (no `SSL enabled` in connection authorized)"
            } else {
                "legacy_app connected over TCP/IP without TLS"
            },
        ));
        incidents += 1;
    }

    // 6. Rate spike: reporting at >= 20x its peak-hour 5-minute rate for 15 minutes.
    {
        let (h, t) = slot(5);
        let p = App::Reporting.profile();
        let peak_per_5min = scale * p.share * 3.0 / w_sum / 12.0;
        let per_5min = (20.0 * peak_per_5min).max(200.0).ceil() as u64;
        let total = per_5min * 3;
        let parts = 4u64;
        for j in 0..parts {
            let s = t + j as i64 * US;
            let n = total / parts + u64::from(j < total % parts);
            slices[h].sessions.push(Session {
                start: s,
                end: s + 15 * MIN_US,
                user: p.user,
                host: p.hosts[0],
                db: p.db,
                conn: Conn::Ssl,
                body: Body::Pooled {
                    app: App::Reporting,
                    n: n as u32,
                    regular: true,
                },
            });
        }
        let mut rs = f(
            "rate_spike",
            "high",
            Some(p.user),
            None,
            t + US,
            &format!(
                "{total} queries in 15 min (>= 20x the peak 5-minute rate of {peak_per_5min:.1})"
            ),
        );
        rs.count = Some(total);
        out.push(rs);
        incidents += 1;
    }

    // 7. Privilege changes by the master user from the bastion.
    {
        let (h, t) = slot(6);
        let (create, grant, check) = if pg {
            (
                "CREATE USER backdoor WITH PASSWORD <REDACTED>".to_string(),
                "GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO backdoor WITH GRANT OPTION",
                "SELECT rolname, rolsuper, rolcanlogin FROM pg_roles WHERE rolname = 'backdoor'",
            )
        } else {
            (
                format!("CREATE USER 'backdoor'@'%' IDENTIFIED BY {password_masked}"),
                "GRANT ALL PRIVILEGES ON *.* TO 'backdoor'@'%' WITH GRANT OPTION",
                "SELECT user, host FROM mysql.user WHERE user = 'backdoor'",
            )
        };
        slices[h].sessions.push(Session {
            start: t,
            end: t + 30 * US,
            user: MASTER_USER,
            host: BASTION,
            db: no_db,
            conn: Conn::Ssl,
            body: Body::Script(vec![
                stmt_t(t + 3 * US, create.clone(), &[("WRITE", "mysql", "user")]),
                stmt_t(
                    t + 9 * US,
                    grant,
                    &[("WRITE", "mysql", "user"), ("WRITE", "mysql", "db")],
                ),
                // Not FLUSH PRIVILEGES: whether that counts as a privilege change is debatable,
                // and the ground truth must be unambiguous.
                stmt_t(t + 14 * US, check, &[("READ", "mysql", "user")]),
            ]),
        });
        *bastion_first = (*bastion_first).min(t);
        *bastion_logins += 1;
        out.push(fstmt(
            "privilege_change",
            "high",
            t + 3 * US,
            &create,
            "admin (bastion) created user backdoor@%",
        ));
        out.push(fstmt(
            "privilege_change",
            "critical",
            t + 9 * US,
            grant,
            "admin (bastion) granted ALL ... WITH GRANT OPTION to backdoor@%",
        ));
        incidents += 1;
    }

    // 8. Destructive statements by the master user from the bastion.
    {
        let (h, t) = slot(7);
        let drop = "DROP TABLE orders.customers_backup";
        let delete = "DELETE FROM billing.invoices";
        let trunc = "TRUNCATE TABLE warehouse.staging_events";
        slices[h].sessions.push(Session {
            start: t,
            end: t + 60 * US,
            user: MASTER_USER,
            host: BASTION,
            db: no_db,
            conn: Conn::Ssl,
            body: Body::Script(vec![
                stmt_t(t + 2 * US, drop, &[("DROP", "orders", "customers_backup")]),
                stmt_t(t + 20 * US, delete, &[("WRITE", "billing", "invoices")]),
                stmt(t + 41 * US, trunc),
            ]),
        });
        *bastion_first = (*bastion_first).min(t);
        *bastion_logins += 1;
        out.push(fstmt(
            "destructive",
            "high",
            t + 2 * US,
            drop,
            "admin (bastion) dropped a table",
        ));
        out.push(fstmt(
            "destructive",
            "high",
            t + 20 * US,
            delete,
            "admin (bastion) deleted every invoice (no WHERE)",
        ));
        out.push(fstmt(
            "destructive",
            "high",
            t + 41 * US,
            trunc,
            "admin (bastion) truncated a table",
        ));
        incidents += 1;
    }

    // 9. Exfiltration from two unknown sources (also the public / private unknown logins).
    {
        let (h, t) = slot(8);
        let pub_ip = "192.0.2.77";
        // On RDS PostgreSQL both attempts fail for want of privileges, but pgaudit and
        // log_statement log them before they run: the intent is what matters.
        let (outfile, load, failed) = if pg {
            (
                "COPY (SELECT * FROM customers) TO '/tmp/customers.csv' WITH CSV HEADER",
                "SELECT pg_read_file('/etc/passwd')",
                PG_PERMISSION_DENIED,
            )
        } else {
            (
                "SELECT * FROM orders.customers INTO OUTFILE '/tmp/customers.csv'",
                "SELECT LOAD_FILE('/etc/passwd')",
                0,
            )
        };
        let mut dump = stmt_t(t + 12 * US, outfile, &[("READ", "orders", "customers")]);
        dump.ret = failed;
        slices[h].sessions.push(Session {
            start: t,
            end: t + 30 * US,
            user: "app_orders",
            host: pub_ip,
            db: "orders",
            conn: Conn::Ssl,
            body: Body::Script(vec![
                stmt(
                    t + US,
                    if pg {
                        "SET application_name = 'psql'"
                    } else {
                        "SET NAMES utf8mb4"
                    },
                ),
                stmt_t(
                    t + 5 * US,
                    "SELECT COUNT(*) FROM customers",
                    &[("READ", "orders", "customers")],
                ),
                dump,
            ]),
        });
        let t2 = t + 20 * MIN_US;
        let priv_ip = "172.16.8.9";
        let mut read = stmt(t2 + 6 * US, load);
        read.ret = failed;
        slices[h].sessions.push(Session {
            start: t2,
            end: t2 + 20 * US,
            user: "etl",
            host: priv_ip,
            db: "warehouse",
            conn: Conn::Ssl,
            body: Body::Script(vec![
                stmt(
                    t2 + 2 * US,
                    if pg {
                        "SELECT inet_server_addr()"
                    } else {
                        "SELECT @@hostname"
                    },
                ),
                read,
            ]),
        });
        out.push(f(
            "unknown_source_ip",
            "high",
            Some("app_orders"),
            Some(pub_ip),
            t,
            "app_orders logged in from a public address",
        ));
        out.push(f(
            "unknown_source_ip",
            "medium",
            Some("etl"),
            Some(priv_ip),
            t2,
            "etl logged in from a private address outside 10.20.0.0/16",
        ));
        out.push(fstmt(
            "exfiltration",
            "critical",
            t + 12 * US,
            outfile,
            "app_orders from unknown source 192.0.2.77 dumped customers to a server file",
        ));
        out.push(fstmt(
            "exfiltration",
            "critical",
            t2 + 6 * US,
            load,
            "etl from unknown source 172.16.8.9 read /etc/passwd",
        ));
        incidents += 1;
    }

    // 10. Cross-database read by app_billing from its usual host. PostgreSQL cannot query
    // across databases: there the session itself connects to `orders`.
    if pg {
        let (h, t) = slot(9);
        let p = App::Billing.profile();
        slices[h].sessions.push(Session {
            start: t,
            end: t + 10 * US,
            user: p.user,
            host: p.hosts[0],
            db: "orders",
            conn: Conn::Ssl,
            body: Body::Script(vec![stmt(
                t + 4 * US,
                "SELECT * FROM customers WHERE id = 42",
            )]),
        });
        let mut cd = f(
            "cross_database",
            "medium",
            Some(p.user),
            None,
            t,
            "app_billing (normally billing) connected to orders and read customers",
        );
        cd.database = Some("orders");
        out.push(cd);
        incidents += 1;
    } else {
        let (h, t) = slot(9);
        let p = App::Billing.profile();
        slices[h].sessions.push(Session {
            start: t,
            end: t + 10 * US,
            user: p.user,
            host: p.hosts[0],
            db: p.db,
            conn: Conn::Ssl,
            body: Body::Script(vec![
                stmt_t(
                    t + US,
                    "SELECT id, amount_cents FROM invoices WHERE id = 1001",
                    &[("READ", "billing", "invoices")],
                ),
                stmt_t(
                    t + 4 * US,
                    "SELECT * FROM orders.customers WHERE id = 42",
                    &[("READ", "orders", "customers")],
                ),
            ]),
        });
        let mut cd = f(
            "cross_database",
            "medium",
            Some(p.user),
            None,
            t + 4 * US,
            "app_billing (normally billing) read orders.customers",
        );
        cd.database = Some("orders");
        out.push(cd);
        incidents += 1;
    }
    incidents
}

// ---------------------------------------------------------------------------------------------
// Rendering: one slice into per-lane byte buffers
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Default)]
struct Live {
    conn: i64,
    step: u32,
    init_left: u8,
    txn: u8,
    tstep: u8,
    a: u64,
    b: u64,
    c: u64,
}

struct Fmt {
    flavor: Flavor,
    cw: bool,
    host: &'static [u8],
    sec: i64,
    sec_txt: [u8; 17],
    cw_txt: [u8; 19],
    /// `YYYY-MM-DD HH:MM:SS`, PostgreSQL's `%t` without the zone.
    pg_txt: [u8; 19],
}

impl Fmt {
    fn new(env: &Env) -> Self {
        Fmt {
            flavor: env.flavor,
            cw: env.cw,
            host: env.flavor.server_host().as_bytes(),
            sec: i64::MIN,
            sec_txt: [0; 17],
            cw_txt: [0; 19],
            pg_txt: [0; 19],
        }
    }

    fn set_sec(&mut self, sec: i64) {
        if sec == self.sec {
            return;
        }
        self.sec = sec;
        let (y, mo, d) = civil_from_days(sec.div_euclid(86_400));
        let rem = sec.rem_euclid(86_400);
        let (hh, mm, ss) = (
            (rem / 3600) as u32,
            ((rem / 60) % 60) as u32,
            (rem % 60) as u32,
        );
        let y = y as u32;
        let t = &mut self.sec_txt;
        put4(&mut t[0..4], y);
        put2(&mut t[4..6], mo);
        put2(&mut t[6..8], d);
        t[8] = b' ';
        put2(&mut t[9..11], hh);
        t[11] = b':';
        put2(&mut t[12..14], mm);
        t[14] = b':';
        put2(&mut t[15..17], ss);
        let c = &mut self.cw_txt;
        put4(&mut c[0..4], y);
        c[4] = b'-';
        put2(&mut c[5..7], mo);
        c[7] = b'-';
        put2(&mut c[8..10], d);
        c[10] = b'T';
        put2(&mut c[11..13], hh);
        c[13] = b':';
        put2(&mut c[14..16], mm);
        c[16] = b':';
        put2(&mut c[17..19], ss);
        self.pg_txt = *c;
        self.pg_txt[10] = b' ';
    }

    /// `[cw prefix]timestamp,serverhost,user,host,connid,queryid,`
    fn head(&mut self, b: &mut Vec<u8>, ts: i64, user: &str, host: &str, cid: i64, qid: i64) {
        self.set_sec(ts.div_euclid(US));
        if self.cw {
            b.extend_from_slice(&self.cw_txt);
            let ms = if self.flavor == Flavor::Aurora {
                (ts.rem_euclid(US) / MS) as u32
            } else {
                0
            };
            b.push(b'.');
            put3_push(b, ms);
            b.extend_from_slice(b"Z ");
        }
        if self.flavor == Flavor::Aurora {
            push_i64(b, ts);
        } else {
            b.extend_from_slice(&self.sec_txt);
        }
        b.push(b',');
        b.extend_from_slice(self.host);
        b.push(b',');
        b.extend_from_slice(user.as_bytes());
        b.push(b',');
        b.extend_from_slice(host.as_bytes());
        b.push(b',');
        push_i64(b, cid);
        b.push(b',');
        push_i64(b, qid);
        b.push(b',');
    }

    #[allow(clippy::too_many_arguments)]
    fn conn_line(&mut self, b: &mut Vec<u8>, ts: i64, s: &Session, cid: i64, op: &str, ret: u32) {
        self.head(b, ts, s.user, s.host, cid, 0);
        b.extend_from_slice(op.as_bytes());
        b.push(b',');
        b.extend_from_slice(s.db.as_bytes());
        b.extend_from_slice(b",,");
        push_i64(b, ret as i64);
        if self.flavor == Flavor::RdsMysql {
            b.push(b',');
            b.extend_from_slice(s.conn.text());
        }
        b.push(b'\n');
    }

    #[allow(clippy::too_many_arguments)]
    fn query_line(
        &mut self,
        b: &mut Vec<u8>,
        ts: i64,
        s: &Session,
        cid: i64,
        qid: i64,
        sql: &[u8],
        ret: u32,
    ) {
        self.head(b, ts, s.user, s.host, cid, qid);
        b.extend_from_slice(b"QUERY,");
        b.extend_from_slice(s.db.as_bytes());
        b.extend_from_slice(b",'");
        escape_into(b, sql, self.flavor == Flavor::Aurora);
        b.extend_from_slice(b"',");
        push_i64(b, ret as i64);
        if self.flavor == Flavor::RdsMysql {
            b.extend_from_slice(b",,");
        }
        b.push(b'\n');
    }

    #[allow(clippy::too_many_arguments)]
    fn table_line(&mut self, b: &mut Vec<u8>, ts: i64, s: &Session, cid: i64, qid: i64, t: Tab) {
        self.head(b, ts, s.user, s.host, cid, qid);
        b.extend_from_slice(t.0.as_bytes());
        b.push(b',');
        b.extend_from_slice(t.1.as_bytes());
        b.push(b',');
        b.extend_from_slice(t.2.as_bytes());
        b.push(b',');
        // Aurora samples show retcode 0 on READ/WRITE and empty on DDL table events.
        if self.flavor == Flavor::Aurora && (t.0 == "READ" || t.0 == "WRITE") {
            b.push(b'0');
        }
        b.push(b'\n');
    }
}

struct Emitter {
    env: Env,
    fmt: Fmt,
    lanes: Vec<Vec<u8>>,
    sql: Vec<u8>,
    tabs: Vec<Tab>,
    live: Vec<Live>,
    lines: u64,
}

impl Emitter {
    fn new(env: &Env) -> Self {
        Emitter {
            env: *env,
            fmt: Fmt::new(env),
            lanes: (0..env.lanes()).map(|_| Vec::new()).collect(),
            sql: Vec::with_capacity(4096),
            tabs: Vec::with_capacity(8),
            live: Vec::new(),
            lines: 0,
        }
    }

    fn clear(&mut self) {
        for l in &mut self.lanes {
            l.clear();
        }
        self.lines = 0;
    }

    fn bytes(&self) -> u64 {
        self.lanes.iter().map(|l| l.len() as u64).sum()
    }

    /// Renders slice `idx` (appending to the lane buffers).
    fn emit(&mut self, idx: usize, sp: &SlicePlan) {
        if self.env.flavor == Flavor::Postgres {
            return self.emit_pg(idx, sp);
        }
        let mut rng = rng_for(self.env.seed, idx as u64);
        let ss = &sp.sessions;
        self.live.clear();
        self.live.resize(ss.len(), Live::default());
        let mut heap: BinaryHeap<Reverse<(i64, u32)>> = ss
            .iter()
            .enumerate()
            .map(|(i, s)| Reverse((s.start, i as u32)))
            .collect();
        let nlanes = self.lanes.len() as i64;
        let table_events = self.env.flavor != Flavor::RdsMysql;
        let aurora = self.env.flavor == Flavor::Aurora;
        let mut next_conn = sp.conn_base;
        let mut next_q = sp.query_base;

        while let Some(Reverse((t, i))) = heap.pop() {
            let s = &ss[i as usize];
            let lv = &mut self.live[i as usize];
            let n = s.queries();
            if lv.step == 0 {
                let cid = next_conn;
                next_conn += 1;
                lv.conn = cid;
                let buf = &mut self.lanes[cid.rem_euclid(nlanes) as usize];
                if let Body::Failed { ret } = s.body {
                    self.fmt.conn_line(buf, t, s, cid, "FAILED_CONNECT", ret);
                    let dt = if aurora { range(&mut rng, 8, 40) } else { 0 };
                    self.fmt.conn_line(buf, t + dt, s, cid, "DISCONNECT", 0);
                    self.lines += 2;
                    continue;
                }
                self.fmt.conn_line(buf, t, s, cid, "CONNECT", 0);
                self.lines += 1;
                lv.step = 1;
                if let Body::Pooled { app, .. } = s.body {
                    if n >= 6 {
                        lv.init_left = app.init_statements(false).len() as u8;
                    }
                }
                let nt = if n == 0 {
                    s.end
                } else {
                    next_time(s, lv, t, n, &mut rng)
                };
                heap.push(Reverse((nt, i)));
            } else if lv.step <= n {
                let qid = next_q;
                next_q += 1;
                let cid = lv.conn;
                let buf = &mut self.lanes[cid.rem_euclid(nlanes) as usize];
                self.tabs.clear();
                self.sql.clear();
                let (ret, printed, sql): (u32, i64, &[u8]) = match &s.body {
                    Body::Script(stmts) => {
                        let st = &stmts[lv.step as usize - 1];
                        self.tabs.extend_from_slice(&st.tables);
                        (st.ret, t, st.sql.as_bytes())
                    }
                    Body::Pooled { app, regular, .. } => {
                        let remaining = n - lv.step + 1;
                        let ret = gen_app(
                            *app,
                            false,
                            lv,
                            &mut rng,
                            t,
                            remaining,
                            &mut self.sql,
                            &mut self.tabs,
                        );
                        // Aurora stamps statement start but writes at completion: mild disorder.
                        let printed = if aurora && !regular {
                            t - range(&mut rng, 0, 2 * MS)
                        } else {
                            t
                        };
                        (ret, printed, &self.sql[..])
                    }
                    Body::Failed { .. } | Body::Server(_) => {
                        unreachable!(
                            "only PostgreSQL plans server messages, and they have no queries"
                        )
                    }
                };
                if table_events {
                    let db = s.db;
                    for (k, tab) in self.tabs.iter().enumerate() {
                        let tab = if tab.1.is_empty() {
                            (tab.0, db, tab.2)
                        } else {
                            *tab
                        };
                        let tts = if aurora {
                            printed - 400 + 60 * k as i64
                        } else {
                            printed
                        };
                        self.fmt.table_line(buf, tts, s, cid, qid, tab);
                        self.lines += 1;
                    }
                }
                self.fmt.query_line(buf, printed, s, cid, qid, sql, ret);
                self.lines += 1;
                lv.step += 1;
                let nt = if lv.step <= n {
                    next_time(s, lv, t, n, &mut rng)
                } else {
                    s.end
                };
                heap.push(Reverse((nt, i)));
            } else {
                let cid = lv.conn;
                let buf = &mut self.lanes[cid.rem_euclid(nlanes) as usize];
                self.fmt.conn_line(buf, t, s, cid, "DISCONNECT", 0);
                self.lines += 1;
            }
        }
        debug_assert_eq!(next_conn, sp.conn_base + ss.len() as i64);
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL rendering
// ---------------------------------------------------------------------------------------------

/// How a role's statements reach the log. pgaudit (`pgaudit.log = 'all'`) covers most roles;
/// the reporting role is excluded from pgaudit as too noisy and logged through
/// `log_min_duration_statement = 0` instead, the ETL role through `log_statement = 'all'`. So
/// every statement is logged exactly once, in each of the three forms the parser reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PgLogging {
    Audit,
    Duration,
    Statement,
}

fn pg_logging(user: &str) -> PgLogging {
    match user {
        "reporting" => PgLogging::Duration,
        "etl" => PgLogging::Statement,
        _ => PgLogging::Audit,
    }
}

fn pg_application(user: &str) -> &'static str {
    match user {
        "app_orders" | "app_billing" => "PostgreSQL JDBC Driver",
        "reporting" => "Metabase v0.49.3",
        "etl" => "airflow-etl",
        "legacy_app" => "legacy-batch",
        "rdsadmin" => "rdsadmin",
        _ => "psql",
    }
}

fn pg_role_exists(user: &str) -> bool {
    matches!(
        user,
        "admin" | "app_orders" | "app_billing" | "reporting" | "etl" | "legacy_app" | "rdsadmin"
    )
}

/// The client port of a backend, fixed per PID.
fn pg_port(pid: i64) -> u32 {
    32_768 + ((pid.rem_euclid(28_000) as u64 * 7_919) % 28_000) as u32
}

/// The checkpointer's PID: one process for the server's lifetime.
const PG_CHECKPOINTER: i64 = 398;

impl Fmt {
    /// `[export prefix]YYYY-MM-DD HH:MM:SS UTC:host(port):user@db:[pid]:SEV:  `
    #[allow(clippy::too_many_arguments)]
    fn pg_head(
        &mut self,
        b: &mut Vec<u8>,
        ts: i64,
        host: &str,
        port: Option<u32>,
        user: &str,
        db: &str,
        pid: i64,
        sev: &str,
    ) {
        self.set_sec(ts.div_euclid(US));
        if self.cw {
            b.extend_from_slice(&self.cw_txt);
            b.extend_from_slice(b".000Z ");
        }
        b.extend_from_slice(&self.pg_txt);
        b.extend_from_slice(b" UTC:");
        push(b, host);
        if let Some(p) = port {
            b.push(b'(');
            push_num(b, p as u64);
            b.push(b')');
        }
        b.push(b':');
        push(b, user);
        b.push(b'@');
        push(b, db);
        b.extend_from_slice(b":[");
        push_i64(b, pid);
        b.extend_from_slice(b"]:");
        push(b, sev);
        b.extend_from_slice(b":  ");
    }

    /// The head of a line logged by session `s`'s backend.
    fn pg_sess(&mut self, b: &mut Vec<u8>, ts: i64, s: &Session, pid: i64, sev: &str) {
        let port = pg_tcp(s).then(|| pg_port(pid));
        self.pg_head(b, ts, s.host, port, s.user, pg_db(s), pid, sev);
    }

    fn pg_connect(&mut self, b: &mut Vec<u8>, ts: i64, s: &Session, pid: i64) {
        let tcp = pg_tcp(s);
        let port = tcp.then(|| pg_port(pid));
        self.pg_head(b, ts, s.host, port, "[unknown]", "[unknown]", pid, "LOG");
        push(b, "connection received: host=");
        push(b, s.host);
        if let Some(p) = port {
            push(b, " port=");
            push_num(b, p as u64);
        }
        b.push(b'\n');
        if tcp {
            self.pg_sess(b, ts, s, pid, "LOG");
            push(b, "connection authenticated: identity=\"");
            push(b, s.user);
            push(
                b,
                "\" method=scram-sha-256 (/rdsdbdata/config/pg_hba.conf:13)\n",
            );
        }
        self.pg_sess(b, ts, s, pid, "LOG");
        push(b, "connection authorized: user=");
        push(b, s.user);
        push(b, " database=");
        push(b, pg_db(s));
        push(b, " application_name=");
        push(b, pg_application(s.user));
        if s.conn == Conn::Ssl {
            push(
                b,
                " SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)",
            );
        }
        b.push(b'\n');
    }

    fn pg_failed(&mut self, b: &mut Vec<u8>, ts: i64, s: &Session, pid: i64) {
        let port = pg_port(pid);
        self.pg_head(
            b,
            ts,
            s.host,
            Some(port),
            "[unknown]",
            "[unknown]",
            pid,
            "LOG",
        );
        push(b, "connection received: host=");
        push(b, s.host);
        push(b, " port=");
        push_num(b, port as u64);
        b.push(b'\n');
        self.pg_sess(b, ts, s, pid, "FATAL");
        push(b, "password authentication failed for user \"");
        push(b, s.user);
        push(b, "\"\n");
        self.pg_sess(b, ts, s, pid, "DETAIL");
        if pg_role_exists(s.user) {
            push(b, "Password does not match for user \"");
            push(b, s.user);
            push(b, "\".");
        } else {
            push(b, "Role \"");
            push(b, s.user);
            push(b, "\" does not exist.");
        }
        push(
            b,
            "\n\tConnection matched pg_hba.conf line 13: \"host\tall\tall\t0.0.0.0/0\tscram-sha-256\"\n",
        );
    }

    fn pg_disconnect(&mut self, b: &mut Vec<u8>, ts: i64, s: &Session, pid: i64) {
        self.pg_sess(b, ts, s, pid, "LOG");
        let d = (ts - s.start).max(0) / MS;
        let line = format!(
            "disconnection: session time: {}:{:02}:{:02}.{:03} user={} database={} host={}",
            d / 3_600_000,
            d / 60_000 % 60,
            d / 1000 % 60,
            d % 1000,
            s.user,
            pg_db(s),
            s.host
        );
        push(b, &line);
        if pg_tcp(s) {
            push(b, " port=");
            push_num(b, pg_port(pid) as u64);
        }
        b.push(b'\n');
    }

    /// One statement as the role's logging settings write it, then the error it raised.
    #[allow(clippy::too_many_arguments)]
    fn pg_query(
        &mut self,
        b: &mut Vec<u8>,
        ts: i64,
        s: &Session,
        pid: i64,
        stmt_id: u32,
        sql: &[u8],
        ret: u32,
        table: &str,
        rng: &mut R,
    ) {
        self.pg_sess(b, ts, s, pid, "LOG");
        match pg_logging(s.user) {
            PgLogging::Audit => {
                let (class, command, object) = pg_audit_class(sql);
                push(b, "AUDIT: SESSION,");
                push_num(b, stmt_id as u64);
                push(b, ",1,");
                push(b, class);
                b.push(b',');
                push(b, &command);
                b.push(b',');
                if !object.is_empty() {
                    push(b, "TABLE,");
                    b.extend_from_slice(object);
                } else {
                    b.push(b',');
                }
                b.push(b',');
                push_csv(b, sql);
                push(b, ",<not logged>\n");
            }
            PgLogging::Duration => {
                let ms = 0.05 + unit(rng) * if sql.len() > 200 { 900.0 } else { 12.0 };
                push(b, &format!("duration: {ms:.3} ms  statement: "));
                b.extend_from_slice(sql);
                b.push(b'\n');
            }
            PgLogging::Statement => {
                push(b, "statement: ");
                b.extend_from_slice(sql);
                b.push(b'\n');
                // log_min_duration_statement = 1000: a slow statement already logged gets a
                // bare duration line.
                if rare(rng, 40) {
                    self.pg_sess(b, ts, s, pid, "LOG");
                    let ms = 1000.0 + unit(rng) * 4000.0;
                    push(b, &format!("duration: {ms:.3} ms\n"));
                }
            }
        }
        if ret != 0 {
            self.pg_error(b, ts, s, pid, sql, ret, table, rng);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pg_error(
        &mut self,
        b: &mut Vec<u8>,
        ts: i64,
        s: &Session,
        pid: i64,
        sql: &[u8],
        ret: u32,
        table: &str,
        rng: &mut R,
    ) {
        self.pg_sess(b, ts, s, pid, "ERROR");
        match ret {
            1062 => {
                push(
                    b,
                    &format!("duplicate key value violates unique constraint \"{table}_pkey\"\n"),
                );
                self.pg_sess(b, ts, s, pid, "DETAIL");
                push(
                    b,
                    &format!("Key (id)=({}) already exists.\n", 1 + below(rng, 9_000_000)),
                );
            }
            1213 => {
                let other = pid + 1 + below(rng, 40) as i64;
                let (x, y) = (
                    8_800_000 + below(rng, 90_000),
                    8_800_000 + below(rng, 90_000),
                );
                push(b, "deadlock detected\n");
                self.pg_sess(b, ts, s, pid, "DETAIL");
                push(b, &format!("Process {pid} waits for ShareLock on transaction {x}; blocked by process {other}.\n\tProcess {other} waits for ShareLock on transaction {y}; blocked by process {pid}.\n"));
                self.pg_sess(b, ts, s, pid, "HINT");
                push(b, "See server log for query details.\n");
                self.pg_sess(b, ts, s, pid, "CONTEXT");
                push(
                    b,
                    &format!("while updating tuple (12,3) in relation \"{table}\"\n"),
                );
            }
            PG_PERMISSION_DENIED if sql.starts_with(b"COPY") => {
                push(b, "must be superuser or have privileges of the pg_write_server_files role to COPY to a file\n");
                self.pg_sess(b, ts, s, pid, "HINT");
                push(b, "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone.\n");
            }
            PG_PERMISSION_DENIED => push(b, "permission denied for function pg_read_file\n"),
            _ => push(b, "canceling statement due to statement timeout\n"),
        }
        self.pg_sess(b, ts, s, pid, "STATEMENT");
        b.extend_from_slice(sql);
        b.push(b'\n');
    }

    /// A server message; `took` (µs) for the second half of a checkpoint.
    fn pg_server(
        &mut self,
        b: &mut Vec<u8>,
        ts: i64,
        pid: i64,
        m: ServerMsg,
        took: Option<i64>,
        rng: &mut R,
    ) {
        match m {
            ServerMsg::Checkpoint => {
                self.pg_head(b, ts, "", None, "", "", PG_CHECKPOINTER, "LOG");
                let Some(took) = took else {
                    push(b, "checkpoint starting: time\n");
                    return;
                };
                let bufs = 200 + below(rng, 4000);
                let write = (took as f64 / US as f64 - 0.07).max(0.001);
                let line = format!(
                    "checkpoint complete: wrote {bufs} buffers ({:.1}%); 0 WAL file(s) added, 0 removed, {} recycled; write={write:.3} s, sync={:.3} s, total={:.3} s; sync files={}, longest={:.3} s, average={:.3} s; distance={} kB, estimate={} kB\n",
                    bufs as f64 / 163.84,
                    below(rng, 4),
                    unit(rng) * 0.05,
                    write + 0.06,
                    10 + below(rng, 80),
                    unit(rng) * 0.01,
                    unit(rng) * 0.002,
                    bufs * 8 + below(rng, 500),
                    bufs * 9 + below(rng, 500),
                );
                push(b, &line);
            }
            ServerMsg::Vacuum(table) => {
                self.pg_head(b, ts, "", None, "", "", pid, "LOG");
                let (removed, pages) = (below(rng, 5000), 800 + below(rng, 9000));
                let index = table.rsplit('.').next().unwrap_or(table);
                let text = format!(
                    "automatic vacuum of table \"{table}\": index scans: 1\n\tpages: 0 removed, {pages} remain, {pages} scanned (100.00% of total)\n\ttuples: {removed} removed, {} remain, 0 are dead but not yet removable\n\tremovable cutoff: {}, which was 12 XIDs old when operation ended\n\tindex scan needed: {} pages from table ({:.2}% of total) had {removed} dead item identifiers removed\n\tindex \"{index}_pkey\": pages: {} in total, 0 newly deleted, 0 currently deleted, 0 reusable\n\tavg read rate: 0.000 MB/s, avg write rate: {:.3} MB/s\n\tbuffer usage: {} hits, 0 misses, {} dirtied\n\tWAL usage: {} records, {} full page images, {} bytes\n\tsystem usage: CPU: user: 0.04 s, system: 0.00 s, elapsed: {:.2} s\n",
                    pages * 40,
                    8_800_000 + below(rng, 90_000),
                    removed / 5 + 1,
                    unit(rng) * 10.0,
                    pages / 8 + 1,
                    unit(rng),
                    pages * 2,
                    below(rng, 100),
                    removed * 3,
                    below(rng, 100),
                    removed * 780,
                    unit(rng) * 2.0,
                );
                push(b, &text);
            }
            ServerMsg::Analyze(table) => {
                self.pg_head(b, ts, "", None, "", "", pid, "LOG");
                let text = format!(
                    "automatic analyze of table \"{table}\"\n\tavg read rate: {:.3} MB/s, avg write rate: 0.000 MB/s\n\tbuffer usage: {} hits, {} misses, 0 dirtied\n\tsystem usage: CPU: user: 0.11 s, system: 0.00 s, elapsed: {:.2} s\n",
                    unit(rng) * 20.0,
                    1000 + below(rng, 9000),
                    below(rng, 300),
                    unit(rng),
                );
                push(b, &text);
            }
        }
    }
}

/// A TCP session (the log shows `host(port)`), as opposed to the Unix socket.
fn pg_tcp(s: &Session) -> bool {
    s.host != "[local]" && !s.host.is_empty()
}

fn pg_db(s: &Session) -> &'static str {
    if s.db.is_empty() {
        "postgres"
    } else {
        s.db
    }
}

/// A pgaudit CSV field: quoted when it holds `,` `"` CR or LF, with `"` doubled.
fn push_csv(b: &mut Vec<u8>, s: &[u8]) {
    if !s.iter().any(|c| matches!(c, b',' | b'"' | b'\r' | b'\n')) {
        b.extend_from_slice(s);
        return;
    }
    b.push(b'"');
    for &c in s {
        if c == b'"' {
            b.push(b'"');
        }
        b.push(c);
    }
    b.push(b'"');
}

/// pgaudit's CLASS and COMMAND of a statement, and the table it names for DDL / TRUNCATE.
fn pg_audit_class(sql: &[u8]) -> (&'static str, Cow<'static, str>, &[u8]) {
    fn table<'s>(second: &[u8], third: &'s [u8]) -> &'s [u8] {
        if second == b"TABLE" {
            third
        } else {
            b""
        }
    }
    let mut s = sql;
    loop {
        s = s.trim_ascii_start();
        if s.starts_with(b"/*") {
            s = match s.windows(2).position(|w| w == b"*/") {
                Some(i) => &s[i + 2..],
                None => &[],
            };
        } else {
            break;
        }
    }
    let mut words = s
        .split(|c| c.is_ascii_whitespace() || *c == b'(' || *c == b';')
        .filter(|w| !w.is_empty());
    let first = words.next().unwrap_or(b"").to_ascii_uppercase();
    let second = words.next().unwrap_or(b"");
    let third = words.next().unwrap_or(b"");
    let up2 = second.to_ascii_uppercase();
    let (class, command): (&'static str, Cow<'static, str>) = match first.as_slice() {
        b"SELECT" | b"WITH" | b"VALUES" => ("READ", "SELECT".into()),
        b"SHOW" => ("MISC", "SHOW".into()),
        b"INSERT" => ("WRITE", "INSERT".into()),
        b"UPDATE" => ("WRITE", "UPDATE".into()),
        b"DELETE" => ("WRITE", "DELETE".into()),
        b"TRUNCATE" => return ("WRITE", "TRUNCATE TABLE".into(), table(&up2, third)),
        b"COPY" if s.windows(4).any(|w| w.eq_ignore_ascii_case(b" TO ")) => ("READ", "COPY".into()),
        b"COPY" => ("WRITE", "COPY".into()),
        b"BEGIN" | b"START" => ("MISC", "BEGIN".into()),
        b"COMMIT" => ("MISC", "COMMIT".into()),
        b"ROLLBACK" => ("MISC", "ROLLBACK".into()),
        b"SET" => ("MISC", "SET".into()),
        b"GRANT" => ("ROLE", "GRANT".into()),
        b"REVOKE" => ("ROLE", "REVOKE".into()),
        verb @ (b"CREATE" | b"ALTER" | b"DROP") => {
            let verb = String::from_utf8_lossy(verb).into_owned();
            if up2 == b"USER" || up2 == b"ROLE" {
                ("ROLE", format!("{verb} ROLE").into())
            } else {
                let obj = String::from_utf8_lossy(&up2).into_owned();
                return ("DDL", format!("{verb} {obj}").into(), table(&up2, third));
            }
        }
        other => ("MISC", String::from_utf8_lossy(other).into_owned().into()),
    };
    (class, command, b"")
}

/// Background statements are written in MySQL's dialect; PostgreSQL quotes by doubling
/// (`''`), keeps backslashes literal, and has `lastval()` for `LAST_INSERT_ID()`.
fn pg_dialect(sql: &mut Vec<u8>) {
    let mut out = Vec::with_capacity(sql.len() + 8);
    let mut i = 0;
    while i < sql.len() {
        match (sql[i], sql.get(i + 1)) {
            (b'\\', Some(b'\'')) => {
                out.extend_from_slice(b"''");
                i += 2;
            }
            (b'\\', Some(b'\\')) => {
                out.push(b'\\');
                i += 2;
            }
            (b'L', _) if sql[i..].starts_with(b"LAST_INSERT_ID()") => {
                out.extend_from_slice(b"lastval()");
                i += 16;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    *sql = out;
}

impl Emitter {
    /// [`Emitter::emit`] for PostgreSQL: the same sessions, written as an RDS PostgreSQL log.
    /// Connection ids are backend PIDs.
    fn emit_pg(&mut self, idx: usize, sp: &SlicePlan) {
        let mut rng = rng_for(self.env.seed, idx as u64);
        let ss = &sp.sessions;
        self.live.clear();
        self.live.resize(ss.len(), Live::default());
        let mut heap: BinaryHeap<Reverse<(i64, u32)>> = ss
            .iter()
            .enumerate()
            .map(|(i, s)| Reverse((s.start, i as u32)))
            .collect();
        let mut next_pid = sp.conn_base;
        let mut b = std::mem::take(&mut self.lanes[0]);
        let from = b.len();
        while let Some(Reverse((t, i))) = heap.pop() {
            let s = &ss[i as usize];
            let lv = &mut self.live[i as usize];
            let n = s.queries();
            if lv.step == 0 {
                let pid = next_pid;
                next_pid += 1;
                lv.conn = pid;
                match s.body {
                    Body::Server(m) => {
                        self.fmt.pg_server(&mut b, t, pid, m, None, &mut rng);
                        if m == ServerMsg::Checkpoint {
                            lv.step = 1;
                            heap.push(Reverse((s.end, i)));
                        }
                        continue;
                    }
                    Body::Failed { .. } => {
                        self.fmt.pg_failed(&mut b, t, s, pid);
                        continue;
                    }
                    _ => {}
                }
                self.fmt.pg_connect(&mut b, t, s, pid);
                lv.step = 1;
                if let Body::Pooled { app, .. } = s.body {
                    if n >= 6 {
                        lv.init_left = app.init_statements(true).len() as u8;
                    }
                }
                let nt = if n == 0 {
                    s.end
                } else {
                    next_time(s, lv, t, n, &mut rng)
                };
                heap.push(Reverse((nt, i)));
            } else if let Body::Server(m) = s.body {
                self.fmt
                    .pg_server(&mut b, t, lv.conn, m, Some(t - s.start), &mut rng);
            } else if lv.step <= n {
                self.sql.clear();
                self.tabs.clear();
                let ret = match &s.body {
                    Body::Script(stmts) => {
                        let st = &stmts[lv.step as usize - 1];
                        self.sql.extend_from_slice(st.sql.as_bytes());
                        st.ret
                    }
                    Body::Pooled { app, .. } => {
                        let remaining = n - lv.step + 1;
                        let ret = gen_app(
                            *app,
                            true,
                            lv,
                            &mut rng,
                            t,
                            remaining,
                            &mut self.sql,
                            &mut self.tabs,
                        );
                        pg_dialect(&mut self.sql);
                        ret
                    }
                    Body::Failed { .. } | Body::Server(_) => unreachable!("no statements"),
                };
                let table = self.tabs.first().map_or("orders", |t| t.2);
                self.fmt.pg_query(
                    &mut b, t, s, lv.conn, lv.step, &self.sql, ret, table, &mut rng,
                );
                lv.step += 1;
                let nt = if lv.step <= n {
                    next_time(s, lv, t, n, &mut rng)
                } else {
                    s.end
                };
                heap.push(Reverse((nt, i)));
            } else {
                self.fmt.pg_disconnect(&mut b, t, s, lv.conn);
            }
        }
        debug_assert_eq!(next_pid, sp.conn_base + ss.len() as i64);
        self.lines += memchr::memchr_iter(b'\n', &b[from..]).count() as u64;
        self.lanes[0] = b;
    }
}

/// Time of query number `lv.step` (1-based) of session `s`, the previous event being at `t`.
fn next_time(s: &Session, lv: &Live, t: i64, n: u32, rng: &mut R) -> i64 {
    match &s.body {
        Body::Script(stmts) => stmts[lv.step as usize - 1].at,
        Body::Pooled { regular: true, .. } => {
            let step = (s.end - s.start - 2 * US) / n as i64;
            s.start + US + (lv.step as i64 - 1) * step
        }
        _ => {
            let room = s.end - t;
            if lv.init_left > 0 {
                // Driver handshake statements follow the connect within milliseconds.
                range(rng, MS, 5 * MS).min(room / 2) + t
            } else {
                // Jittered-regular spacing: per-window counts stay close to the mean.
                let remaining = (n - lv.step + 1) as f64;
                let gap = room as f64 / (remaining + 1.0) * (0.5 + unit(rng));
                t + gap as i64
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Background SQL
// ---------------------------------------------------------------------------------------------

const NAMES: [&str; 16] = [
    "O'Brien",
    "Zoë Müller",
    "José Álvarez",
    "François Dubois",
    "Jürgen Groß",
    "山田太郎",
    "李小龍",
    "Siobhán O'Neill",
    "D'Angelo Ruiz",
    "Ølga Ærø",
    "Renée Côté",
    "Mika Häkkinen",
    "Nguyễn Ngọc Anh",
    "Anna \"Annie\" Smith",
    "Bjørn Ødegård",
    "Carlos Peña",
];
const CITIES: [&str; 12] = [
    "Paris",
    "München",
    "東京",
    "São Paulo",
    "Zürich",
    "Kraków",
    "Reykjavík",
    "Montréal",
    "İstanbul",
    "Québec",
    "New York",
    "Dublin",
];
const NOTES: [&str; 12] = [
    "leave at door 🚚",
    "gift wrap 🎁 please",
    "call before delivery, \"urgent\"",
    "ring twice; then wait",
    "C:\\Users\\shared\\invoice.pdf",
    "fragile ⚠️ handle with care",
    "merci beaucoup 🙏",
    "",
    "deliver to back door, gate code 1234",
    "100% cotton — size M",
    "tab\tseparated\tnote",
    "naïve café order ☕",
];
const MEMOS: [&str; 8] = [
    "Zahlung für Bestellung",
    "paiement reçu — merci",
    "refund \\ adjustment",
    "支払い済み",
    "💳 card ending 4242",
    "O'Reilly Media invoice",
    "net 30, 2% discount",
    "Überweisung, Ref. A/B",
];
const REGIONS: [&str; 8] = [
    "Île-de-France",
    "Bayern",
    "東京都",
    "São Paulo",
    "Zürich",
    "Kraków",
    "Ontario",
    "Dublin",
];
const ORDER_STATUS: [&str; 4] = ["shipped", "packed", "delivered", "cancelled"];
const WORDS: [&str; 8] = [
    "café",
    "Müsli",
    "抹茶",
    "🍫",
    "crème",
    "jalapeño",
    "dark roast",
    "50%",
];

fn push(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(s.as_bytes());
}

fn push_num(b: &mut Vec<u8>, v: u64) {
    push_i64(b, v as i64);
}

/// A value as a single-quoted SQL literal, escaping quotes and backslashes the way a
/// client library would (either `\'` or `''` for quotes, picked at random).
fn push_lit(b: &mut Vec<u8>, s: &str, doubled: bool) {
    b.push(b'\'');
    for &c in s.as_bytes() {
        match c {
            b'\'' if doubled => b.extend_from_slice(b"''"),
            b'\'' => b.extend_from_slice(b"\\'"),
            b'\\' => b.extend_from_slice(b"\\\\"),
            _ => b.push(c),
        }
    }
    b.push(b'\'');
}

fn push_dt_lit(b: &mut Vec<u8>, us: i64) {
    b.push(b'\'');
    push_sql_datetime(b, us);
    b.push(b'\'');
}

fn push_date_lit(b: &mut Vec<u8>, us: i64) {
    b.push(b'\'');
    let (y, m, d) = civil_from_days(us.div_euclid(DAY_US));
    let mut t = [0u8; 10];
    put4(&mut t[0..4], y as u32);
    t[4] = b'-';
    put2(&mut t[5..7], m);
    t[7] = b'-';
    put2(&mut t[8..10], d);
    b.extend_from_slice(&t);
    b.push(b'\'');
}

fn push_hex(b: &mut Vec<u8>, rng: &mut R, n: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut v = rng.next_u64();
    for i in 0..n {
        if i % 16 == 15 {
            v = rng.next_u64();
        }
        b.push(HEX[(v & 15) as usize]);
        v >>= 4;
    }
}

fn rare(rng: &mut R, one_in: u64) -> bool {
    below(rng, one_in) == 0
}

/// One background statement for `app` into `sql`; table events into `tabs` (db filled in by
/// the caller). Returns the retcode.
#[allow(clippy::too_many_arguments)]
fn gen_app(
    app: App,
    pg: bool,
    lv: &mut Live,
    rng: &mut R,
    now: i64,
    remaining: u32,
    sql: &mut Vec<u8>,
    tabs: &mut Vec<Tab>,
) -> u32 {
    if lv.init_left > 0 {
        let inits = app.init_statements(pg);
        push(sql, inits[inits.len() - lv.init_left as usize]);
        lv.init_left -= 1;
        return 0;
    }
    match app {
        App::Orders => gen_orders(lv, rng, now, remaining, sql, tabs),
        App::Billing => gen_billing(lv, rng, now, remaining, sql, tabs),
        App::Reporting => gen_reporting(rng, now, sql, tabs),
        App::Etl => gen_etl(lv, rng, now, remaining, sql, tabs),
    }
}

fn gen_orders(
    lv: &mut Live,
    rng: &mut R,
    now: i64,
    remaining: u32,
    sql: &mut Vec<u8>,
    tabs: &mut Vec<Tab>,
) -> u32 {
    if lv.txn != 0 {
        lv.tstep += 1;
        match lv.tstep {
            1 => {
                push(sql, "INSERT INTO orders (customer_id, status, total_cents, currency, shipping_city, created_at) VALUES (");
                push_num(sql, lv.a);
                push(sql, ", 'pending', ");
                push_num(sql, 500 + below(rng, 90_000));
                push(sql, ", 'EUR', ");
                push_lit(sql, pick(rng, &CITIES), false);
                push(sql, ", ");
                push_dt_lit(sql, now);
                push(sql, ")");
                tabs.push(("WRITE", "", "orders"));
                return if rare(rng, 500) { 1062 } else { 0 };
            }
            2 => {
                push(sql, "INSERT INTO order_items (order_id, sku, qty, price_cents)\nVALUES (LAST_INSERT_ID(), 'SKU-");
                push_num(sql, lv.b);
                push(sql, "', ");
                push_num(sql, lv.c);
                push(sql, ", ");
                push_num(sql, 199 + below(rng, 20_000));
                push(sql, "),\n       (LAST_INSERT_ID(), 'SKU-");
                push_num(sql, 10_000 + below(rng, 90_000));
                push(sql, "', 1, ");
                push_num(sql, 199 + below(rng, 5_000));
                push(sql, ")");
                tabs.push(("WRITE", "", "order_items"));
                return 0;
            }
            3 => {
                push(sql, "UPDATE inventory SET stock = stock - ");
                push_num(sql, lv.c);
                push(sql, " WHERE sku = 'SKU-");
                push_num(sql, lv.b);
                push(sql, "' AND stock >= ");
                push_num(sql, lv.c);
                tabs.push(("WRITE", "", "inventory"));
                return if rare(rng, 2000) { 1213 } else { 0 };
            }
            _ => {
                lv.txn = 0;
                push(
                    sql,
                    if lv.a.is_multiple_of(2) {
                        "COMMIT"
                    } else {
                        "commit"
                    },
                );
                return 0;
            }
        }
    }
    let r = below(rng, 100);
    if r < 30 {
        if r < 15 {
            push(sql, "/* app=orders */ ");
        }
        push(sql, "SELECT id, customer_id, status, total_cents, currency, created_at FROM orders WHERE id = ");
        push_num(sql, 1_000_000 + below(rng, 9_000_000));
        tabs.push(("READ", "", "orders"));
    } else if r < 45 {
        push(sql, "SELECT o.id, o.status, o.total_cents, c.name\nFROM orders o\nJOIN customers c ON c.id = o.customer_id\nWHERE o.customer_id = ");
        push_num(sql, 1 + below(rng, 500_000));
        push(sql, "\nORDER BY o.created_at DESC\nLIMIT 20");
        tabs.push(("READ", "", "orders"));
        tabs.push(("READ", "", "customers"));
    } else if r < 55 && remaining >= 5 {
        lv.txn = 1;
        lv.tstep = 0;
        lv.a = 1 + below(rng, 500_000);
        lv.b = 10_000 + below(rng, 90_000);
        lv.c = 1 + below(rng, 4);
        push(
            sql,
            if lv.a.is_multiple_of(2) {
                "BEGIN"
            } else {
                "START TRANSACTION"
            },
        );
    } else if r < 65 {
        push(sql, "UPDATE orders SET status = '");
        push(sql, pick(rng, &ORDER_STATUS));
        push(sql, "', updated_at = ");
        push_dt_lit(sql, now);
        push(sql, " WHERE id = ");
        push_num(sql, 1_000_000 + below(rng, 9_000_000));
        tabs.push(("WRITE", "", "orders"));
        return if rare(rng, 2000) { 1213 } else { 0 };
    } else if r < 73 {
        let name = pick(rng, &NAMES);
        let doubled = rng.next_u64() & 1 == 0;
        push(
            sql,
            "/* app=orders */ INSERT INTO customers (name, email, city, note, created_at) VALUES (",
        );
        push_lit(sql, name, doubled);
        push(sql, ", 'user");
        push_num(sql, below(rng, 1_000_000));
        push(sql, "@example.com', ");
        push_lit(sql, pick(rng, &CITIES), doubled);
        push(sql, ", ");
        push_lit(sql, pick(rng, &NOTES), doubled);
        push(sql, ", ");
        push_dt_lit(sql, now);
        push(sql, ")");
        tabs.push(("WRITE", "", "customers"));
        return if rare(rng, 500) { 1062 } else { 0 };
    } else if r < 81 {
        // `\_` in a LIKE pattern: a literal backslash in the statement text.
        push(
            sql,
            "SELECT id, name, email FROM customers WHERE email LIKE 'user",
        );
        push_num(sql, below(rng, 100));
        push(sql, "\\_%' LIMIT 10");
        tabs.push(("READ", "", "customers"));
    } else if r < 89 {
        push(sql, "SELECT COUNT(*) FROM order_items WHERE order_id IN (");
        for k in 0..3 {
            if k > 0 {
                push(sql, ", ");
            }
            push_num(sql, 1_000_000 + below(rng, 9_000_000));
        }
        push(sql, ")");
        tabs.push(("READ", "", "order_items"));
    } else if r < 95 {
        push(sql, "DELETE FROM cart_items WHERE session_id = '");
        push_hex(sql, rng, 32);
        push(sql, "' AND updated_at < ");
        push_dt_lit(sql, now - DAY_US);
        tabs.push(("WRITE", "", "cart_items"));
    } else {
        push(
            sql,
            "SELECT sku, name, price_cents, stock FROM products WHERE name LIKE ",
        );
        let w = format!("%{}%", pick(rng, &WORDS));
        push_lit(sql, &w, false);
        push(sql, " AND active = 1 ORDER BY price_cents LIMIT 50");
        tabs.push(("READ", "", "products"));
    }
    0
}

fn gen_billing(
    lv: &mut Live,
    rng: &mut R,
    now: i64,
    remaining: u32,
    sql: &mut Vec<u8>,
    tabs: &mut Vec<Tab>,
) -> u32 {
    if lv.txn != 0 {
        lv.tstep += 1;
        match lv.tstep {
            1 => {
                push(sql, "INSERT INTO payments (invoice_id, amount_cents, method, reference, memo) VALUES (");
                push_num(sql, lv.a);
                push(sql, ", ");
                push_num(sql, lv.b);
                push(sql, ", 'card', 'ch_");
                push_hex(sql, rng, 24);
                push(sql, "', ");
                push_lit(sql, pick(rng, &MEMOS), rng.next_u64() & 1 == 0);
                push(sql, ")");
                tabs.push(("WRITE", "", "payments"));
                return if rare(rng, 500) { 1062 } else { 0 };
            }
            2 => {
                push(sql, "UPDATE invoices SET status = 'paid', paid_at = ");
                push_dt_lit(sql, now);
                push(sql, " WHERE id = ");
                push_num(sql, lv.a);
                tabs.push(("WRITE", "", "invoices"));
                return 0;
            }
            _ => {
                lv.txn = 0;
                push(sql, "COMMIT");
                return 0;
            }
        }
    }
    let r = below(rng, 100);
    if r < 30 {
        push(sql, "SELECT id, amount_cents, currency, status, due_date FROM invoices WHERE customer_id = ");
        push_num(sql, 1 + below(rng, 500_000));
        push(sql, " AND status = 'open' ORDER BY due_date");
        tabs.push(("READ", "", "invoices"));
    } else if r < 45 {
        push(
            sql,
            "/* app=billing */ UPDATE invoices SET status = 'paid', paid_at = ",
        );
        push_dt_lit(sql, now);
        push(sql, " WHERE id = ");
        push_num(sql, 100_000 + below(rng, 900_000));
        push(sql, " AND status = 'open'");
        tabs.push(("WRITE", "", "invoices"));
        return if rare(rng, 2000) { 1213 } else { 0 };
    } else if r < 60 && remaining >= 4 {
        lv.txn = 1;
        lv.tstep = 0;
        lv.a = 100_000 + below(rng, 900_000);
        lv.b = 100 + below(rng, 250_000);
        push(sql, "START TRANSACTION");
    } else if r < 75 {
        push(
            sql,
            "SELECT SUM(amount_cents) AS due\nFROM invoices\nWHERE customer_id = ",
        );
        push_num(sql, 1 + below(rng, 500_000));
        push(sql, "\n  AND status <> 'void'\n  AND due_date < ");
        push_date_lit(sql, now);
        tabs.push(("READ", "", "invoices"));
    } else if r < 85 {
        push(sql, "INSERT INTO ledger_entries (account, debit_cents, credit_cents, description) VALUES ('4000-sales', 0, ");
        push_num(sql, 100 + below(rng, 250_000));
        push(sql, ", ");
        let desc = format!(
            "Facture n° {} — {}",
            10_000 + below(rng, 90_000),
            pick(rng, &NAMES)
        );
        push_lit(sql, &desc, rng.next_u64() & 1 == 0);
        push(sql, ")");
        tabs.push(("WRITE", "", "ledger_entries"));
        return if rare(rng, 500) { 1062 } else { 0 };
    } else if r < 95 {
        push(sql, "SELECT id, brand, last4, exp_month, exp_year FROM payment_methods WHERE customer_id = ");
        push_num(sql, 1 + below(rng, 500_000));
        push(sql, " AND is_default = 1");
        tabs.push(("READ", "", "payment_methods"));
    } else {
        push(
            sql,
            "SELECT COUNT(*) FROM invoices WHERE status = 'overdue' AND due_date < ",
        );
        push_date_lit(sql, now);
        tabs.push(("READ", "", "invoices"));
    }
    0
}

fn gen_reporting(rng: &mut R, now: i64, sql: &mut Vec<u8>, tabs: &mut Vec<Tab>) -> u32 {
    let r = below(rng, 100);
    let back = now - range(rng, 1, 30) * DAY_US;
    if r < 35 {
        // Some report tools send CRLF line ends.
        let nl = if r < 8 { "\r\n" } else { "\n" };
        for (k, part) in [
            "SELECT DATE(order_date) AS day,",
            "       region,",
            "       COUNT(*) AS orders,",
            "       SUM(revenue_cents) / 100.0 AS revenue",
            "FROM daily_sales",
        ]
        .iter()
        .enumerate()
        {
            if k > 0 {
                push(sql, nl);
            }
            push(sql, part);
        }
        push(sql, nl);
        push(sql, "WHERE order_date >= ");
        push_date_lit(sql, back);
        push(sql, " AND order_date < ");
        push_date_lit(sql, now);
        push(sql, nl);
        push(sql, "GROUP BY day, region");
        push(sql, nl);
        push(sql, "ORDER BY day, region");
        tabs.push(("READ", "", "daily_sales"));
    } else if r < 55 {
        push(
            sql,
            "SELECT region, SUM(revenue_cents) AS revenue FROM daily_sales WHERE order_date = ",
        );
        push_date_lit(sql, back);
        push(sql, " GROUP BY region ORDER BY revenue DESC");
        tabs.push(("READ", "", "daily_sales"));
    } else if r < 70 {
        push(sql, "/* report=weekly_kpi */ SELECT week, active_customers, churned_customers FROM kpi_weekly WHERE week >= ");
        push_date_lit(sql, back);
        push(sql, " ORDER BY week");
        tabs.push(("READ", "", "kpi_weekly"));
    } else if r < 88 {
        push(
            sql,
            "SELECT product_name, units FROM top_products WHERE region = ",
        );
        push_lit(sql, pick(rng, &REGIONS), false);
        push(sql, " AND day = ");
        push_date_lit(sql, back);
        push(sql, " ORDER BY units DESC LIMIT 10");
        tabs.push(("READ", "", "top_products"));
    } else {
        push(sql, "WITH cohort AS (\n  SELECT customer_id, MIN(order_date) AS first_day\n  FROM daily_orders\n  GROUP BY customer_id\n)\nSELECT first_day, COUNT(*) AS customers\nFROM cohort\nWHERE first_day >= ");
        push_date_lit(sql, back);
        push(sql, "\nGROUP BY first_day\nORDER BY first_day");
        tabs.push(("READ", "", "daily_orders"));
        return if rare(rng, 3000) { 3024 } else { 0 };
    }
    0
}

fn gen_etl(
    lv: &mut Live,
    rng: &mut R,
    now: i64,
    remaining: u32,
    sql: &mut Vec<u8>,
    tabs: &mut Vec<Tab>,
) -> u32 {
    if lv.txn != 0 {
        lv.tstep += 1;
        match lv.tstep {
            1 => {
                push(sql, "INSERT INTO fact_orders (order_id, customer_key, amount_cents, day)\nSELECT order_id, customer_key, amount_cents, DATE(created_at)\nFROM staging_orders\nWHERE batch_id = ");
                push_num(sql, lv.a);
                tabs.push(("READ", "", "staging_orders"));
                tabs.push(("WRITE", "", "fact_orders"));
                return if rare(rng, 500) { 1062 } else { 0 };
            }
            2 => {
                push(sql, "DELETE FROM staging_orders WHERE batch_id = ");
                push_num(sql, lv.a);
                tabs.push(("WRITE", "", "staging_orders"));
                return 0;
            }
            3 => {
                push(
                    sql,
                    "UPDATE etl_batches SET status = 'done', finished_at = ",
                );
                push_dt_lit(sql, now);
                push(sql, " WHERE batch_id = ");
                push_num(sql, lv.a);
                tabs.push(("WRITE", "", "etl_batches"));
                return 0;
            }
            _ => {
                lv.txn = 0;
                push(sql, "COMMIT");
                return 0;
            }
        }
    }
    let r = below(rng, 100);
    if r < 35 {
        // Bulk inserts of JSON events; once in a while large enough to hit the 1024-byte
        // query log limit and be cut.
        let rows = if rare(rng, 300) {
            12 + below(rng, 8)
        } else {
            2 + below(rng, 5)
        };
        let base = 9_000_000 + below(rng, 90_000_000);
        push(
            sql,
            "INSERT INTO staging_events (event_id, kind, payload, received_at) VALUES ",
        );
        for k in 0..rows {
            if k > 0 {
                push(sql, ", ");
            }
            push(sql, "(");
            push_num(sql, base + k);
            push(sql, ", '");
            push(
                sql,
                pick(rng, &["click", "view", "add_to_cart", "checkout"]),
            );
            push(sql, "', ");
            let payload = format!(
                "{{\"user\":\"{}\",\"city\":\"{}\",\"path\":\"C:\\\\data\\\\in\\\\{}.json\",\"tag\":\"{}\"}}",
                pick(rng, &NAMES).replace('"', "\\\""),
                pick(rng, &CITIES),
                below(rng, 1000),
                pick(rng, &WORDS)
            );
            push_lit(sql, &payload, false);
            push(sql, ", ");
            push_dt_lit(sql, now);
            push(sql, ")");
        }
        tabs.push(("WRITE", "", "staging_events"));
        return if rare(rng, 500) { 1062 } else { 0 };
    } else if r < 50 && remaining >= 5 {
        lv.txn = 1;
        lv.tstep = 0;
        lv.a = 40_000 + below(rng, 60_000);
        push(sql, "START TRANSACTION");
    } else if r < 65 {
        push(sql, "UPDATE dim_customer SET city = ");
        push_lit(sql, pick(rng, &CITIES), false);
        push(sql, ", updated_at = ");
        push_dt_lit(sql, now);
        push(sql, " WHERE customer_key = ");
        push_num(sql, 1 + below(rng, 500_000));
        tabs.push(("WRITE", "", "dim_customer"));
    } else if r < 80 {
        push(sql, "SELECT MAX(event_id) FROM staging_events");
        tabs.push(("READ", "", "staging_events"));
    } else if r < 90 {
        push(sql, "SELECT batch_id, status, rows_loaded FROM etl_batches WHERE status IN ('running', 'queued') ORDER BY batch_id");
        tabs.push(("READ", "", "etl_batches"));
    } else {
        push(
            sql,
            "INSERT INTO etl_batches (source, status, started_at) VALUES ('s3://acme-events/",
        );
        let (y, m, d) = civil_from_days(now.div_euclid(DAY_US));
        let path = format!(
            "{y:04}/{m:02}/{d:02}/part-{:05}.json.gz",
            below(rng, 100_000)
        );
        push(sql, &path);
        push(sql, "', 'running', ");
        push_dt_lit(sql, now);
        push(sql, ")");
        tabs.push(("WRITE", "", "etl_batches"));
    }
    0
}

// ---------------------------------------------------------------------------------------------
// Escaping and number / date formatting
// ---------------------------------------------------------------------------------------------

/// Writes `src` escaped as the audit plugin does, cut at `QUERY_LOG_LIMIT` bytes of escaped
/// text. New rule (MDEV-13921): `\b \t \n \f \r \' \\` as two-character escapes, other
/// whitespace as a space. Old rule (Aurora samples): only `\'` and `\\`, every whitespace
/// byte becomes one space. A cut never splits an escape or a UTF-8 character (decision: the
/// real plugin may split a character; we keep the corpus valid UTF-8).
fn escape_into(dst: &mut Vec<u8>, src: &[u8], old: bool) {
    let limit = QUERY_LOG_LIMIT;
    let start = dst.len();
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        let mut tmp = [0u8; 4];
        let out: &[u8] = match c {
            b'\'' => b"\\'",
            b'\\' => b"\\\\",
            b'\n' if !old => b"\\n",
            b'\t' if !old => b"\\t",
            b'\r' if !old => b"\\r",
            0x08 if !old => b"\\b",
            0x0c if !old => b"\\f",
            b'\n' | b'\t' | b'\r' | 0x08 | 0x0b | 0x0c => b" ",
            0x80.. => {
                let w = utf8_width(c).min(src.len() - i);
                tmp[..w].copy_from_slice(&src[i..i + w]);
                &tmp[..w]
            }
            _ => {
                tmp[0] = c;
                &tmp[..1]
            }
        };
        if dst.len() - start + out.len() > limit {
            break;
        }
        dst.extend_from_slice(out);
        i += if c >= 0x80 { out.len() } else { 1 };
    }
}

fn utf8_width(lead: u8) -> usize {
    match lead {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    }
}

fn push_i64(b: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        b.push(b'-');
    }
    b.extend_from_slice(&buf[i..]);
}

fn put2(t: &mut [u8], v: u32) {
    t[0] = b'0' + (v / 10 % 10) as u8;
    t[1] = b'0' + (v % 10) as u8;
}

fn put4(t: &mut [u8], v: u32) {
    put2(&mut t[0..2], v / 100);
    put2(&mut t[2..4], v % 100);
}

fn put3_push(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&[
        b'0' + (v / 100 % 10) as u8,
        b'0' + (v / 10 % 10) as u8,
        b'0' + (v % 10) as u8,
    ]);
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn push_sql_datetime(b: &mut Vec<u8>, us: i64) {
    let sec = us.div_euclid(US);
    let (y, m, d) = civil_from_days(sec.div_euclid(86_400));
    let rem = sec.rem_euclid(86_400) as u32;
    let mut t = [0u8; 19];
    put4(&mut t[0..4], y as u32);
    t[4] = b'-';
    put2(&mut t[5..7], m);
    t[7] = b'-';
    put2(&mut t[8..10], d);
    t[10] = b' ';
    put2(&mut t[11..13], rem / 3600);
    t[13] = b':';
    put2(&mut t[14..16], rem / 60 % 60);
    t[16] = b':';
    put2(&mut t[17..19], rem % 60);
    b.extend_from_slice(&t);
}

fn fmt_sql_datetime(us: i64) -> String {
    let mut b = Vec::new();
    push_sql_datetime(&mut b, us);
    String::from_utf8(b).expect("ascii")
}

/// `YYYY-MM-DDTHH:MM:SSZ`, with `.mmm` only when the time has milliseconds.
fn fmt_rfc3339(us: i64) -> String {
    let s = fmt_sql_datetime(us).replacen(' ', "T", 1);
    let ms = us.rem_euclid(US) / MS;
    if ms == 0 {
        format!("{s}Z")
    } else {
        format!("{s}.{ms:03}Z")
    }
}

// ---------------------------------------------------------------------------------------------
// Calibration and file layout
// ---------------------------------------------------------------------------------------------

struct Calibration {
    env: Env,
    scale: f64,
    estimates: Vec<u64>,
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

fn calibrate(mut env: Env, size: u64) -> Calibration {
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

/// A group of consecutive slices written to `paths` (one per lane), relative to `out`.
struct Unit {
    slices: std::ops::Range<usize>,
    paths: Vec<String>,
}

fn split_slices(est: &[u64], parts: usize) -> Vec<std::ops::Range<usize>> {
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

fn layout_units(env: &Env, plan: &Plan, est: &[u64], opts: &SynthOptions) -> Vec<Unit> {
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
                let mut id = Vec::new();
                for (k, n) in [8usize, 4, 4, 4, 12].iter().enumerate() {
                    if k > 0 {
                        id.push(b'-');
                    }
                    push_hex(&mut id, &mut rng, *n);
                }
                let id = String::from_utf8(id).expect("hex");
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
        let mut task = Vec::new();
        for (k, n) in [8usize, 4, 4, 4, 12].iter().enumerate() {
            if k > 0 {
                task.push(b'-');
            }
            push_hex(&mut task, &mut rng, *n);
        }
        let task = String::from_utf8(task).expect("hex");
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

enum Out {
    Plain(BufWriter<File>),
    Gz(flate2::write::GzEncoder<BufWriter<File>>),
    Zst(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Out {
    fn create(path: &Path, c: Compression) -> io::Result<Out> {
        let w = BufWriter::with_capacity(1 << 20, File::create(path)?);
        Ok(match c {
            Compression::None => Out::Plain(w),
            Compression::Gzip => Out::Gz(flate2::write::GzEncoder::new(
                w,
                flate2::Compression::default(),
            )),
            Compression::Zstd => Out::Zst(zstd::stream::write::Encoder::new(w, 3)?),
        })
    }
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Out::Plain(w) => w.write_all(b),
            Out::Gz(w) => w.write_all(b),
            Out::Zst(w) => w.write_all(b),
        }
    }
    fn finish(self) -> io::Result<()> {
        let mut w = match self {
            Out::Plain(w) => w,
            Out::Gz(w) => w.finish()?,
            Out::Zst(w) => w.finish()?,
        };
        w.flush()
    }
}

/// Renders and writes one unit; returns (lines, uncompressed bytes).
fn write_unit(
    env: &Env,
    plan: &Plan,
    unit: &Unit,
    out: &Path,
    c: Compression,
) -> io::Result<(u64, u64)> {
    if env.cwj {
        return write_unit_json(env, plan, unit, out);
    }
    let mut outs: Vec<Out> = unit
        .paths
        .iter()
        .map(|p| Out::create(&out.join(p), c))
        .collect::<io::Result<_>>()?;
    let mut em = Emitter::new(env);
    let (mut lines, mut bytes) = (0, 0);
    for i in unit.slices.clone() {
        em.clear();
        em.emit(i, &plan.slices[i]);
        lines += em.lines;
        bytes += em.bytes();
        for (o, buf) in outs.iter_mut().zip(&em.lanes) {
            o.write_all(buf)?;
        }
    }
    for o in outs {
        o.finish()?;
    }
    Ok((lines, bytes))
}

/// Log events per subscription payload (Firehose writes the payloads back to back).
const EVENTS_PER_PAYLOAD: usize = 100;
const SUBSCRIPTION_FILTER: &str = "rds-logs-to-firehose";

/// Writes one unit as CloudWatch subscription deliveries: each log event (a line, or a
/// PostgreSQL record with its continuation lines) becomes a `logEvents` entry; payloads are
/// concatenated without separators; the first object opens with a `CONTROL_MESSAGE`.
fn write_unit_json(env: &Env, plan: &Plan, unit: &Unit, out: &Path) -> io::Result<(u64, u64)> {
    let mut o = Out::create(&out.join(&unit.paths[0]), Compression::Gzip)?;
    let mut em = Emitter::new(env);
    let (mut lines, mut bytes) = (0, 0);
    let mut doc = Vec::with_capacity(1 << 20);
    if unit.slices.start == 0 {
        doc.extend_from_slice(b"{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\",\"logGroup\":\"\",\"logStream\":\"\",\"subscriptionFilters\":[],\"logEvents\":[{\"id\":\"\",\"timestamp\":");
        push_i64(&mut doc, env.start_us / MS);
        doc.extend_from_slice(
            b",\"message\":\"CWL CONTROL MESSAGE: Checking health of destination Firehose.\"}]}",
        );
        o.write_all(&doc)?;
        bytes += doc.len() as u64;
    }
    let mut events: Vec<(usize, usize)> = Vec::new();
    for i in unit.slices.clone() {
        em.clear();
        em.emit(i, &plan.slices[i]);
        lines += em.lines;
        let text = &em.lanes[0];
        events.clear();
        let mut start = 0;
        while start < text.len() {
            let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |k| start + k);
            let line = &text[start..end];
            match events.last_mut() {
                Some(last) if !starts_event(env.flavor, line) => last.1 = end,
                _ => events.push((start, end)),
            }
            start = end + 1;
        }
        for (k, batch) in events.chunks(EVENTS_PER_PAYLOAD).enumerate() {
            doc.clear();
            push(
                &mut doc,
                "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\":\"",
            );
            push(&mut doc, env.flavor.log_group());
            push(&mut doc, "\",\"logStream\":\"");
            push(&mut doc, env.flavor.instance_id());
            push(&mut doc, "\",\"subscriptionFilters\":[\"");
            push(&mut doc, SUBSCRIPTION_FILTER);
            push(&mut doc, "\"],\"logEvents\":[");
            for (j, &(a, z)) in batch.iter().enumerate() {
                let msg = &text[a..z];
                let ms = line_ms(env.flavor, msg);
                if j > 0 {
                    doc.push(b',');
                }
                // Event ids are 56 digits in CloudWatch; these are unique and ordered.
                push(
                    &mut doc,
                    &format!(
                        "{{\"id\":\"{ms:026}{i:010}{:020}\",\"timestamp\":",
                        k * EVENTS_PER_PAYLOAD + j
                    ),
                );
                push_i64(&mut doc, ms);
                push(&mut doc, ",\"message\":");
                push_json_str(&mut doc, msg);
                doc.push(b'}');
            }
            push(&mut doc, "]}");
            o.write_all(&doc)?;
            bytes += doc.len() as u64;
        }
    }
    o.finish()?;
    Ok((lines, bytes))
}

/// Whether a rendered line starts a log event (else it continues a PostgreSQL record).
fn starts_event(flavor: Flavor, line: &[u8]) -> bool {
    flavor != Flavor::Postgres
        || (line.len() > 20 && line[..4].iter().all(u8::is_ascii_digit) && line[4] == b'-')
}

/// The CloudWatch timestamp (ms) of a rendered line: its own time.
fn line_ms(flavor: Flavor, line: &[u8]) -> i64 {
    let d = |r: std::ops::Range<usize>| -> i64 {
        line[r]
            .iter()
            .fold(0i64, |v, &c| v * 10 + (c.wrapping_sub(b'0') as i64 % 10))
    };
    let (y, mo, da, h, mi, s) = match flavor {
        Flavor::Aurora => return d(0..16) / MS,
        Flavor::Postgres => (d(0..4), d(5..7), d(8..10), d(11..13), d(14..16), d(17..19)),
        Flavor::RdsMysql | Flavor::Mariadb => {
            (d(0..4), d(4..6), d(6..8), d(9..11), d(12..14), d(15..17))
        }
    };
    (days_from_civil(y, mo as u32, da as u32) * 86_400 + h * 3600 + mi * 60 + s) * 1000
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A JSON string literal (UTF-8 kept as is; quotes, backslashes and controls escaped).
fn push_json_str(b: &mut Vec<u8>, s: &[u8]) {
    b.push(b'"');
    for &c in s {
        match c {
            b'"' => b.extend_from_slice(b"\\\""),
            b'\\' => b.extend_from_slice(b"\\\\"),
            b'\n' => b.extend_from_slice(b"\\n"),
            b'\r' => b.extend_from_slice(b"\\r"),
            b'\t' => b.extend_from_slice(b"\\t"),
            0..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                b.extend_from_slice(b"\\u00");
                b.push(HEX[(c >> 4) as usize]);
                b.push(HEX[(c & 15) as usize]);
            }
            _ => b.push(c),
        }
    }
    b.push(b'"');
}

// ---------------------------------------------------------------------------------------------
// Ground truth
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct GroundTruth {
    flavor: &'static str,
    seed: u64,
    size_bytes: u64,
    bytes: u64,
    lines: u64,
    start: String,
    end: String,
    days: u32,
    compression: &'static str,
    cloudwatch_export: bool,
    cloudwatch_json: bool,
    files: Vec<String>,
    config: GtConfig,
    incidents: usize,
    expected_findings: Vec<GtFinding>,
}

#[derive(Serialize)]
struct GtConfig {
    allow: Vec<&'static str>,
    master_users: Vec<&'static str>,
    admin_hosts: Vec<&'static str>,
}

#[derive(Serialize)]
struct GtFinding {
    kind: &'static str,
    severity: &'static str,
    user: Option<String>,
    client_ip: Option<String>,
    database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statement: Option<String>,
    first_seen: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
    note: String,
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io::Read;
    use std::sync::atomic::{AtomicUsize, Ordering};

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
            let text =
                String::from_utf8(read_decompressed(&dir.join(f.as_str().unwrap()))).unwrap();
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
        assert_eq!((r.incidents, r.expected_findings), (10, 20));
        let k = kinds(&gt);
        assert_eq!(k["non_ssl_session"], 1);
        assert_eq!(k["unknown_source_ip"], 4);
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
        // Every statement finding is in the log as written.
        let text: String = r
            .files
            .iter()
            .map(|f| String::from_utf8(fs::read(f).unwrap()).unwrap())
            .collect();
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
    fn escaping_new_and_old_rules() {
        let src = "select 'a',\\x\n\t2\r";
        let mut b = Vec::new();
        escape_into(&mut b, src.as_bytes(), false);
        assert_eq!(String::from_utf8(b).unwrap(), r"select \'a\',\\x\n\t2\r");
        let mut b = Vec::new();
        escape_into(&mut b, "CREATE TABLE t (\n  id INT\n)".as_bytes(), true);
        assert_eq!(String::from_utf8(b).unwrap(), "CREATE TABLE t (   id INT )");
        // The limit never splits an escape or a UTF-8 character.
        let long = "é'".repeat(400);
        let mut b = Vec::new();
        escape_into(&mut b, long.as_bytes(), false);
        assert!(b.len() <= QUERY_LOG_LIMIT && b.len() > QUERY_LOG_LIMIT - 4);
        let s = String::from_utf8(b).unwrap();
        assert!(s.ends_with("\\'") || s.ends_with('é'));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(fmt_rfc3339(1_772_323_200 * US), "2026-03-01T00:00:00Z");
        assert_eq!(
            fmt_rfc3339(1_772_323_200 * US + 1_500),
            "2026-03-01T00:00:00.001Z"
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
                rel.starts_with("exportedlogs/")
                    && rel.ends_with(&format!("/prod-mysql-1/{i:06}.gz")),
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
                ("brute_force", 1),
                ("brute_force_success", 1),
                ("unknown_source_ip", 4),
                ("master_user", 3),
                ("password_spray", 1),
                ("non_ssl_session", tls),
                ("rate_spike", 1),
                ("privilege_change", 2),
                ("destructive", 3),
                ("exfiltration", 2),
                ("cross_database", 1),
            ];
            for (kind, n) in want {
                assert_eq!(k.get(kind).copied().unwrap_or(0), n, "{flavor}: {kind}");
            }
            assert_eq!(r.expected_findings, 19 + tls);
            assert_eq!(r.incidents, 9 + tls);

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
                            .is_none_or(|s| l[8].replace("\\'", "'") == format!("'{s}'"))
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
            if incident_hosts.contains(&host) {
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
        assert_eq!(incident_stmts, 5);
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
}
