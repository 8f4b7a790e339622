//! The summary assembly: the consumer's per-file notes and counts, the findings and the
//! run's figures become one [`Summary`] (rendered by [`super::summary`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::event;
use crate::finding::Finding;
use crate::format::Clock;
use crate::format::FormatChoice;
use crate::input::{DiscoverError, InputFile};
use crate::pass::AnalysisConfig;
use crate::stats::{self, Stats};
use crate::time;

use super::summary::{self, ConfigSummary, Summary};

/// Per-file accumulation in the consumer.
#[derive(Default)]
pub(crate) struct FileState {
    pub(crate) format: Option<String>,
    pub(crate) compression: Option<String>,
    pub(crate) sha256: Option<String>,
    pub(crate) bytes: Option<u64>,
    pub(crate) stats: Stats,
    pub(crate) skipped: Option<String>,
    pub(crate) errors: Vec<String>,
    /// Why the file is an error if it changed while it was read.
    pub(crate) changed: Option<String>,
}

/// What the summary is assembled from, once the run is over.
pub(crate) struct Run<'a> {
    pub(crate) files: &'a [InputFile],
    /// Per file, what the consumer kept (taken: the stats are moved out).
    pub(crate) per_file: &'a mut [FileState],
    /// The sniffed format of a file, for files whose units never reported one.
    pub(crate) format_of: &'a dyn Fn(usize) -> Option<String>,
    pub(crate) discover_errors: &'a [DiscoverError],
    pub(crate) findings: &'a [Finding],
    pub(crate) config: ConfigSummary,
    pub(crate) out: &'a Path,
    /// Where the outputs were written (the run's staging folder inside `out`).
    pub(crate) written_in: &'a Path,
    pub(crate) event_files: Vec<PathBuf>,
    /// Outputs that could not be written.
    pub(crate) output_errors: Vec<summary::OutputError>,
    pub(crate) event_rows: u64,
    pub(crate) seconds: f64,
    pub(crate) threads: usize,
}

/// Assembles the run's [`Summary`]: per input, totals, findings by kind and severity, top
/// users and sources, rejected samples, outputs and throughput.
pub(crate) fn assemble(run: Run<'_>) -> Summary {
    let Run {
        files,
        per_file,
        format_of,
        discover_errors,
        findings,
        config,
        out,
        written_in,
        event_files,
        output_errors,
        event_rows,
        seconds,
        threads,
    } = run;
    let mut all = Stats::default();
    let mut inputs = Vec::new();
    let mut totals = summary::Totals::default();
    let mut samples = Vec::new();
    for (i, (f, st)) in files.iter().zip(per_file.iter_mut()).enumerate() {
        let s = std::mem::take(&mut st.stats);
        let status = if !st.errors.is_empty() || st.changed.is_some() {
            "error"
        } else if st.skipped.is_some() {
            "skipped"
        } else {
            "ok"
        };
        match status {
            "ok" => totals.files_ok += 1,
            "skipped" => totals.files_skipped += 1,
            _ => totals.files_error += 1,
        }
        for (line, reason, excerpt) in &s.rejected_samples {
            samples.push(stats::RejectedSample {
                file: f.display.to_string(),
                line: *line,
                reason: reason.as_str(),
                excerpt: excerpt.clone(),
            });
        }
        let bytes = st.bytes.unwrap_or(f.size);
        totals.bytes += bytes;
        inputs.push(summary::InputSummary {
            path: f.display.to_string(),
            path_bytes: summary::path_bytes(&f.path),
            format: st.format.clone().or_else(|| format_of(i)),
            compression: st.compression.clone(),
            bytes,
            sha256: st.sha256.clone(),
            sha256_stable: st.sha256.as_ref().map(|_| st.changed.is_none()),
            lines: s.lines,
            records: s.records,
            rejected: s.rejected,
            duplicates: s.duplicates,
            truncated: s.truncated,
            bytes_parsed: s.parsed_bytes,
            bytes_hashed_only: s.skipped_bytes,
            first_event: s.first_us.map(time::rfc3339),
            last_event: s.last_us.map(time::rfc3339),
            status: status.to_string(),
            reason: st.changed.clone().or_else(|| st.skipped.clone()),
            message: (!st.errors.is_empty()).then(|| st.errors.join("; ")),
        });
        all.merge(s);
    }
    for e in discover_errors {
        match e.status {
            crate::input::Unread::Skipped => totals.files_skipped += 1,
            crate::input::Unread::Error => totals.files_error += 1,
        }
        inputs.push(summary::InputSummary::unread(e));
    }
    let t = &all;
    totals.files = inputs.len() as u64;
    totals.lines = t.lines;
    totals.records = t.records;
    totals.ignored = t.ignored;
    totals.blank = t.blank;
    totals.rejected = t.rejected;
    totals.filtered = t.filtered;
    totals.duplicates = t.duplicates;
    totals.truncated = t.truncated;
    totals.bytes_parsed = t.parsed_bytes;
    totals.bytes_hashed_only = t.skipped_bytes;
    totals.operations = event::Operation::ALL
        .iter()
        .zip(t.operations)
        .filter(|(_, n)| *n > 0)
        .map(|(op, n)| (op.as_str().to_string(), n))
        .collect();
    totals.sessions = t.sessions;
    totals.tls_known = t.tls_known;
    totals.tls_unknown = t.sessions - t.tls_known;
    totals.tls_encrypted = t.tls_encrypted;
    totals.first_event = t.first_us.map(time::rfc3339);
    totals.last_event = t.last_us.map(time::rfc3339);
    samples.truncate(100);

    let mut by_kind = BTreeMap::new();
    let mut by_sev = BTreeMap::new();
    for f in findings {
        *by_kind.entry(f.kind.clone()).or_insert(0u64) += 1;
        *by_sev
            .entry(f.severity.as_str().to_string())
            .or_insert(0u64) += 1;
    }
    let secs = seconds.max(1e-9);
    Summary {
        shard: None,
        version: env!("CARGO_PKG_VERSION").to_string(),
        config,
        inputs,
        findings_by_kind: by_kind,
        findings_by_severity: by_sev,
        top_findings: summary::top_findings(findings, 20),
        timeline: summary::timeline(findings, 30),
        top_users: Stats::top(&t.users, 10)
            .into_iter()
            .map(|(name, events)| summary::Count { name, events })
            .collect(),
        top_sources: Stats::top(&t.sources, 10)
            .into_iter()
            .map(|(name, events)| summary::Count { name, events })
            .collect(),
        rejected_by_reason: t
            .rejected_by_reason
            .iter()
            .map(|(r, n)| (r.as_str().to_string(), *n))
            .collect(),
        rejected_samples: samples,
        outputs: summary::Outputs {
            sessions: 0,
            dir: out.to_string_lossy().into_owned(),
            event_files: event_files
                .iter()
                .map(|p| {
                    p.strip_prefix(written_in)
                        .unwrap_or(p)
                        .to_string_lossy()
                        .into_owned()
                })
                .collect(),
            event_rows,
            findings: findings.len() as u64,
            errors: output_errors,
        },
        throughput: summary::Throughput {
            seconds,
            bytes_per_second: totals.bytes as f64 / secs,
            records_per_second: t.records as f64 / secs,
            threads,
        },
        totals,
        control: None,
    }
}

impl ConfigSummary {
    /// What the run expected and assumed.
    pub(crate) fn of(
        analysis: &AnalysisConfig,
        since_us: Option<i64>,
        until_us: Option<i64>,
        format: FormatChoice,
        clock: &Clock,
    ) -> ConfigSummary {
        let a = analysis;
        let mut thresholds = BTreeMap::new();
        thresholds.insert(
            "brute_force_threshold".into(),
            a.brute_force_threshold.into(),
        );
        thresholds.insert(
            "brute_force_window_secs".into(),
            a.brute_force_window_secs.into(),
        );
        thresholds.insert(
            "brute_force_success_delay_secs".into(),
            a.brute_force_success_delay_secs.into(),
        );
        thresholds.insert("spray_users".into(), a.spray_users.into());
        thresholds.insert("rate_window_secs".into(), a.rate_window_secs.into());
        thresholds.insert("rate_floor".into(), a.rate_floor.into());
        thresholds.insert("rate_factor".into(), serde_json::json!(a.rate_factor));
        ConfigSummary {
            allow: a.allow.iter().map(|n| n.to_string()).collect(),
            allow_is_default: a.allow_is_default,
            master_users: a.master_users.clone(),
            master_users_are_default: a.master_users_are_default,
            admin_hosts: a.admin_hosts.iter().map(|n| n.to_string()).collect(),
            since: since_us.map(time::rfc3339),
            until: until_us.map(time::rfc3339),
            format: format.as_str().to_string(),
            timestamp_format: clock.layout.map(|l| l.pattern().to_string()),
            utc_offset: time::offset_string(clock.offset_us),
            rules: a.rules.iter().map(|r| r.name.clone()).collect(),
            thresholds,
        }
    }
}
