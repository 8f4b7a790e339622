//! `forensics`: an offline, high-throughput forensics engine for Amazon RDS and Aurora audit
//! logs.
//!
//! Data flows one way: inputs → record-aligned chunks → format parsers → Arrow batches and
//! pass state (in the workers) → Parquet sink and pass merge (in input order) → report.
//! [`scan`] below is that pipeline, top to bottom; ARCHITECTURE.md is the code map.

pub mod bytes;
pub mod classify;
pub mod dedupe;
pub mod error;
pub mod event;
pub mod exec;
pub mod filter;
pub mod finding;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
pub mod grep;
pub mod input;
pub mod pass;
pub mod plan;
pub mod scan;
pub mod sink;
pub mod stats;
pub mod synth;
pub mod time;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

pub use error::{Error, Result};

use finding::Finding;
use format::FormatChoice;
use pass::{AnalysisConfig, FinishContext, PassSet};
use plan::{FileNote, Plan, UnitOutput};
use scan::ChunkSettings;
use sink::parquet::{PartitionedWriter, RowGroupEncoder};
use sink::summary::{self, Summary};
use stats::Stats;

/// Everything `forensics scan` needs.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    pub paths: Vec<PathBuf>,
    pub out: PathBuf,
    pub since_us: Option<i64>,
    pub until_us: Option<i64>,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    pub force: bool,
    pub no_events: bool,
    pub format: FormatChoice,
    /// How MySQL-family plugin timestamps are read (`--timestamp-format`, `--utc-offset`).
    pub clock: time::Clock,
    pub analysis: AnalysisConfig,
    /// Show a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// Chunk size override (tests use small chunks to exercise chunk edges).
    pub chunk_bytes: Option<usize>,
    /// Run the analysis passes (off only to measure parsing alone).
    pub run_passes: bool,
    /// Keep events that repeat an earlier CloudWatch export file's (see [`dedupe`]).
    pub keep_duplicates: bool,
}

/// The result of a scan, for the command line to render and pick an exit code from.
pub struct ScanReport {
    pub summary: Summary,
    pub findings: Vec<Finding>,
}

impl ScanReport {
    /// Files that were read to their end as logs.
    pub fn readable_files(&self) -> u64 {
        self.summary.totals.files_ok
    }

    /// Anything `--strict` refuses: rejected lines, unreadable or corrupt files.
    pub fn has_problems(&self) -> bool {
        self.summary.totals.rejected > 0 || self.summary.totals.files_error > 0
    }
}

/// How far (in input bytes, per slot of the reorder buffer) workers may run ahead of the
/// consumer: what one unit output stands for at most is far less in memory (encoded pieces
/// are about a tenth of their input).
const RUN_AHEAD_BYTES: usize = 48 << 20;

/// Scans the inputs and writes `events/`, `findings.parquet`, `summary.json`, `summary.md`.
pub fn scan(opts: &ScanOptions) -> Result<ScanReport> {
    let started = Instant::now();
    let _cleanup = remove_in_background(prepare_output_dir(&opts.out, opts.force)?);
    let threads = if opts.threads == 0 {
        num_cpus()
    } else {
        opts.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("forensics-{i}"))
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {threads} threads: {e}")))?;

    // 1. Inputs: discover, open, sniff, chunk.
    let (files, discover_errors) = input::discover(&opts.paths);
    let plan = pool.install(|| {
        Plan::new(
            &files,
            opts.format,
            opts.clock,
            opts.chunk_bytes.unwrap_or(plan::CHUNK_BYTES),
        )
    });

    // Events repeated across CloudWatch export files (only CloudWatch files are read).
    let candidates = (0..files.len())
        .filter(|&f| plan.may_be_cloudwatch(f))
        .count();
    let duplicates = if opts.keep_duplicates || candidates < 2 {
        dedupe::Duplicates::none()
    } else {
        dedupe::find(files.len(), &pool, |f| plan.record_keys(f))
    };

    // 2. Parse, analyse and encode in parallel; merge and write in input order.
    let encoder = if opts.no_events {
        None
    } else {
        Some(RowGroupEncoder::new(event::schema())?)
    };
    let mut writer = if opts.no_events {
        None
    } else {
        Some(PartitionedWriter::new(
            &opts.out.join("events"),
            event::schema(),
        )?)
    };
    let settings = ChunkSettings {
        since_us: opts.since_us,
        until_us: opts.until_us,
        encoder: encoder.as_ref(),
        config: &opts.analysis,
        analysis: opts.run_passes,
        duplicates: &duplicates,
    };
    let mut run = RunState::new(&files);
    let progress = progress_bar(opts.progress, files.iter().map(|f| f.size).sum());
    let mut write_error: Option<Error> = None;
    // Workers may run ahead of the consumer by a few chunks' worth of input: weighed in
    // input bytes, so a compressed stream's small blocks go as far ahead as mapped chunks.
    exec::run_ordered_weighted(
        &pool,
        plan.len(),
        (threads * 2 + 2) * RUN_AHEAD_BYTES,
        |o: &UnitOutput| match o {
            UnitOutput::Chunk(c) => (c.bytes as usize).max(1),
            UnitOutput::File { .. } => 1,
        },
        |u, emit| plan.run(u, &settings, &mut |o| emit(o)),
        |unit, msg| UnitOutput::File {
            file: plan.file_of(unit),
            note: FileNote::Error(format!("internal error: {msg}")),
        },
        |out| {
            if let UnitOutput::Chunk(c) = &out {
                if let Some(p) = &progress {
                    p.inc(c.bytes);
                }
            }
            if let Err(e) = run.consume(out, writer.as_mut()) {
                write_error.get_or_insert(e);
            }
        },
    );
    // A hash left behind by a unit that panicked (never after a normal run).
    for out in plan.unfinished_hashes() {
        if let Err(e) = run.consume(out, writer.as_mut()) {
            write_error.get_or_insert(e);
        }
    }
    if let Some(p) = &progress {
        p.finish_and_clear();
    }
    if let Some(e) = write_error {
        return Err(e);
    }
    let (event_files, event_rows) = match writer {
        Some(w) => w.finish(&pool)?,
        None => (Vec::new(), 0),
    };

    // 3. Findings.
    let paths: Vec<Arc<str>> = files.iter().map(|f| f.display.clone()).collect();
    let ctx = FinishContext {
        config: &opts.analysis,
        files: &paths,
    };
    let passes = run
        .passes
        .take()
        .unwrap_or_else(|| PassSet::new(&opts.analysis));
    let mut findings = passes.finish(&ctx);
    finding::sort(&mut findings);
    sink::parquet::write_file_atomic(
        &opts.out.join("findings.parquet"),
        &finding::to_batch(&findings),
    )?;

    // 4. Summary.
    let elapsed = started.elapsed().as_secs_f64();
    let summary = run.summary(
        opts,
        &plan,
        &discover_errors,
        &findings,
        event_files,
        event_rows,
        elapsed,
        threads,
    );
    sink::parquet::write_bytes_atomic(
        &opts.out.join("summary.json"),
        summary.to_json().as_bytes(),
    )?;
    sink::parquet::write_bytes_atomic(
        &opts.out.join("summary.md"),
        summary.to_markdown().as_bytes(),
    )?;
    Ok(ScanReport { summary, findings })
}

fn num_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn progress_bar(enabled: bool, total: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// Refuses a non-empty output folder unless `force`; with `force`, removes only what a scan
/// writes (so a mistyped `-o` cannot wipe unrelated files).
/// Prefix of the hidden folder a replaced output is moved into (see [`prepare_output_dir`]).
const REPLACED_PREFIX: &str = ".forensics-replaced-";

/// Refuses a non-empty output folder without `force`; with it, moves the previous scan's
/// outputs (and any folder of replaced outputs an interrupted run left) into one hidden
/// folder, which is returned for [`remove_in_background`]. Renaming is instant, while
/// deleting a large output takes tens of milliseconds the scan need not wait for.
fn prepare_output_dir(out: &Path, force: bool) -> Result<Option<PathBuf>> {
    let mut replaced = None;
    if out.exists() {
        let entries: Vec<std::fs::DirEntry> = std::fs::read_dir(out)
            .map_err(|e| Error::io(out, e))?
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(out, e))?;
        if !entries.is_empty() && !force {
            return Err(Error::Usage(format!(
                "output folder {} is not empty; pass --force to replace a previous scan's output",
                out.display()
            )));
        }
        let ours = |name: &str| {
            matches!(
                name,
                "events" | "findings.parquet" | "summary.json" | "summary.md"
            ) || name.starts_with(REPLACED_PREFIX)
        };
        let old: Vec<PathBuf> = entries
            .iter()
            .filter(|e| e.file_name().to_str().is_some_and(ours))
            .map(|e| e.path())
            .collect();
        if !old.is_empty() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let trash = out.join(format!("{REPLACED_PREFIX}{}-{nanos}", std::process::id()));
            std::fs::create_dir(&trash).map_err(|e| Error::io(&trash, e))?;
            for p in old {
                let to = trash.join(p.file_name().expect("a folder entry has a name"));
                std::fs::rename(&p, &to).map_err(|e| Error::io(&p, e))?;
            }
            replaced = Some(trash);
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    Ok(replaced)
}

/// Deletes `dir` (replaced outputs) on a thread of its own, joined when the guard drops, so
/// the run returns (on every path) only once it is gone. A folder it cannot delete stays
/// hidden, and the next `--force` run takes it.
fn remove_in_background(dir: Option<PathBuf>) -> Cleanup {
    Cleanup(dir.and_then(|dir| {
        std::thread::Builder::new()
            .name("forensics-cleanup".into())
            .spawn(move || {
                let _ = std::fs::remove_dir_all(&dir);
            })
            .ok()
    }))
}

/// See [`remove_in_background`].
struct Cleanup(Option<std::thread::JoinHandle<()>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
    }
}

/// Per-file accumulation in the consumer.
#[derive(Default)]
struct FileState {
    format: Option<String>,
    compression: Option<String>,
    sha256: Option<String>,
    bytes: Option<u64>,
    stats: Stats,
    skipped: Option<String>,
    errors: Vec<String>,
}

/// What the consumer keeps while outputs arrive in order.
struct RunState<'a> {
    files: &'a [input::InputFile],
    per_file: Vec<FileState>,
    totals: Stats,
    passes: Option<PassSet>,
}

impl<'a> RunState<'a> {
    fn new(files: &'a [input::InputFile]) -> Self {
        RunState {
            files,
            per_file: (0..files.len()).map(|_| FileState::default()).collect(),
            totals: Stats::default(),
            passes: None,
        }
    }

    fn consume(&mut self, out: UnitOutput, writer: Option<&mut PartitionedWriter>) -> Result<()> {
        match out {
            UnitOutput::File { file, note } => {
                let Some(st) = self.per_file.get_mut(file) else {
                    return Ok(());
                };
                match note {
                    FileNote::Format {
                        format,
                        compression,
                    } => {
                        st.format = Some(format);
                        st.compression =
                            Some(compression.name().to_string()).filter(|s| !s.is_empty());
                    }
                    FileNote::Sha256 { hex, bytes } => {
                        st.sha256 = Some(hex);
                        st.bytes = Some(bytes);
                    }
                    FileNote::Skipped(r) => st.skipped = Some(r),
                    FileNote::Error(m) => st.errors.push(m),
                }
            }
            UnitOutput::Chunk(c) => {
                let c = *c;
                if let Some(w) = writer {
                    for rg in c.row_groups {
                        w.append(rg)?;
                    }
                }
                match &mut self.passes {
                    Some(p) => p.merge(c.passes),
                    None => self.passes = Some(c.passes),
                }
                let st = &mut self.per_file[c.file];
                if let Some(e) = c.error {
                    st.errors.push(e);
                }
                st.stats.merge(c.stats);
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn summary(
        &mut self,
        opts: &ScanOptions,
        plan: &Plan<'_>,
        discover_errors: &[input::DiscoverError],
        findings: &[Finding],
        event_files: Vec<PathBuf>,
        event_rows: u64,
        seconds: f64,
        threads: usize,
    ) -> Summary {
        let mut inputs = Vec::new();
        let mut totals = summary::Totals::default();
        let mut samples = Vec::new();
        for (i, (f, st)) in self.files.iter().zip(&mut self.per_file).enumerate() {
            let s = std::mem::take(&mut st.stats);
            let status = if !st.errors.is_empty() {
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
                format: st.format.clone().or_else(|| plan.format_of(i)),
                compression: st.compression.clone(),
                bytes,
                sha256: st.sha256.clone(),
                lines: s.lines,
                records: s.records,
                rejected: s.rejected,
                duplicates: s.duplicates,
                first_event: s.first_us.map(time::rfc3339),
                last_event: s.last_us.map(time::rfc3339),
                status: status.to_string(),
                reason: st.skipped.clone(),
                message: (!st.errors.is_empty()).then(|| st.errors.join("; ")),
            });
            self.totals.merge(s);
        }
        for e in discover_errors {
            totals.files_error += 1;
            inputs.push(summary::InputSummary {
                path: e.path.to_string_lossy().into_owned(),
                format: None,
                compression: None,
                bytes: 0,
                sha256: None,
                lines: 0,
                records: 0,
                rejected: 0,
                duplicates: 0,
                first_event: None,
                last_event: None,
                status: "error".into(),
                reason: None,
                message: Some(e.message.clone()),
            });
        }
        let t = &self.totals;
        totals.files = inputs.len() as u64;
        totals.lines = t.lines;
        totals.records = t.records;
        totals.ignored = t.ignored;
        totals.blank = t.blank;
        totals.rejected = t.rejected;
        totals.filtered = t.filtered;
        totals.duplicates = t.duplicates;
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
        let a = &opts.analysis;
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
        let config = summary::ConfigSummary {
            allow: a.allow.iter().map(|n| n.to_string()).collect(),
            allow_is_default: a.allow_is_default,
            master_users: a.master_users.clone(),
            master_users_are_default: a.master_users_are_default,
            admin_hosts: a.admin_hosts.iter().map(|n| n.to_string()).collect(),
            since: opts.since_us.map(time::rfc3339),
            until: opts.until_us.map(time::rfc3339),
            format: opts.format.as_str().to_string(),
            timestamp_format: opts.clock.layout.map(|l| l.pattern().to_string()),
            utc_offset: time::offset_string(opts.clock.offset_us),
            rules: a.rules.iter().map(|r| r.name.clone()).collect(),
            thresholds,
        };
        let secs = seconds.max(1e-9);
        Summary {
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
                dir: opts.out.to_string_lossy().into_owned(),
                event_files: event_files
                    .iter()
                    .map(|p| {
                        p.strip_prefix(&opts.out)
                            .unwrap_or(p)
                            .to_string_lossy()
                            .into_owned()
                    })
                    .collect(),
                event_rows,
                findings: findings.len() as u64,
            },
            throughput: summary::Throughput {
                seconds,
                bytes_per_second: totals.bytes as f64 / secs,
                records_per_second: t.records as f64 / secs,
                threads,
            },
            totals,
        }
    }
}
