//! `ground_truth.json`: the corpus's settings, files and the findings a correct analysis of
//! it must produce ([`Expected`], filled in by the incidents and the bastion's work).

use std::fs;
use std::io;
use std::path::PathBuf;

use serde::Serialize;

use super::estate::{ADMIN_HOST_CIDR, ALLOW_CIDR, MASTER_USER};
use super::plan::{Env, Plan};
use super::time::{fmt_rfc3339, DAY_US, MS, US};
use super::{Compression, Flavor, SynthOptions};

/// A finding a correct analysis must produce, with the time of its first event (µs).
pub(crate) struct Expected {
    pub(crate) kind: &'static str,
    pub(crate) severity: &'static str,
    pub(crate) user: Option<&'static str>,
    pub(crate) client_ip: Option<&'static str>,
    pub(crate) database: Option<&'static str>,
    pub(crate) statement: Option<String>,
    pub(crate) first_seen: i64,
    pub(crate) count: Option<u64>,
    pub(crate) note: String,
    /// The settings a scan needs to raise it, comma-separated (`learn`, `threat_list`,
    /// `geoip`; see `baseline.rs`); `None`: any scan.
    pub(crate) needs: Option<&'static str>,
}

/// The layout of `ground_truth.json`.
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
    /// The settings of the expectations that need some: the learning period and the threat
    /// list written beside the corpus.
    baseline: GtBaseline,
    expected_findings: Vec<GtFinding>,
}

#[derive(Serialize)]
struct GtBaseline {
    learn: String,
    threat_list: &'static str,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    needs: Option<&'static str>,
}

/// Writes `ground_truth.json` of the corpus written by `opts` (its `files`, relative to
/// `opts.out`, with `lines` and `bytes` of log text); returns its path.
pub(crate) fn write(
    opts: &SynthOptions,
    env: &Env,
    plan: &Plan,
    compression: Compression,
    files: &[String],
    lines: u64,
    bytes: u64,
) -> io::Result<PathBuf> {
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
        files: files.to_vec(),
        config: GtConfig {
            allow: vec![ALLOW_CIDR],
            master_users: vec![MASTER_USER],
            admin_hosts: vec![ADMIN_HOST_CIDR],
        },
        incidents: plan.incidents,
        baseline: GtBaseline {
            learn: format!("{}d", super::baseline::learn_days(env.days)),
            threat_list: super::baseline::THREAT_LIST_NAME,
        },
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
                needs: f.needs,
            })
            .collect(),
    };
    fs::write(
        opts.out.join(super::baseline::THREAT_LIST_NAME),
        super::baseline::THREAT_LIST,
    )?;
    let path = opts.out.join("ground_truth.json");
    let mut json = serde_json::to_vec_pretty(&gt).map_err(io::Error::other)?;
    json.push(b'\n');
    fs::write(&path, json)?;
    Ok(path)
}
