//! `forensics`: an offline, high-throughput forensics engine for Amazon RDS and Aurora audit
//! logs.
//!
//! Data flows one way: inputs → record-aligned chunks → format parsers → Arrow batches and
//! pass state (in the workers) → Parquet sink and pass merge (in input order) → report.
//! [`scan`] below is that pipeline, top to bottom; ARCHITECTURE.md is the code map.

pub mod bytes;
pub mod classify;
pub mod cli;
pub mod control;
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
pub mod intel;
pub mod pass;
pub mod plan;
pub mod privileges;
pub mod scan;
pub mod session;
mod settings;
pub mod sink;
pub mod sql;
pub mod stats;
pub mod synth;
pub mod table;
pub mod time;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub use error::{Error, Result};

use finding::Finding;
use format::FormatChoice;
use pass::{AnalysisConfig, FinishContext, PassSet};
use plan::Plan;
use scan::consume::RunState;
use scan::{ChunkSettings, FileNote, UnitOutput};
use sink::assemble;
use sink::output::{Pause, Staging};
use sink::parquet::{PartitionedWriter, RowGroupEncoder};
use sink::summary::ConfigSummary;
use sink::summary::{OutputError, Summary};

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
    pub clock: format::Clock,
    pub analysis: AnalysisConfig,
    /// Show a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// Chunk size override (tests use small chunks to exercise chunk edges).
    pub chunk_bytes: Option<usize>,
    /// Run the analysis passes (off only to measure parsing alone).
    pub run_passes: bool,
    /// Keep events that repeat an earlier CloudWatch export file's (see [`dedupe`]).
    pub keep_duplicates: bool,
    /// The record limit (`--max-record-bytes`): longer records keep their fields, their
    /// text is cut here and they are counted as `truncated`.
    pub max_record_bytes: usize,
    /// Skip `report.html` (`--no-report`).
    pub no_report: bool,
    /// Follow no sessions: no `sessions.parquet`, and no activity or logins for the report
    /// and the profile (the hidden `--no-sessions`, which measures what they cost).
    pub no_sessions: bool,
    /// Write `privileges.sql` and `privileges.md` (`--privileges`).
    pub privileges: bool,
    /// The grants users hold now, for `privileges.md` (`--grants FILE`).
    pub grants: Option<PathBuf>,
    /// Every setting with its value and origin, for the report.
    pub settings_used: Vec<sink::report::SettingUsed>,
    /// `--shard I/N`: scan only this share of the inputs and publish into
    /// `out/shard=I-of-N/` (see [`ScanOptions::out_dir`]).
    pub shard: Option<input::Shard>,
}

impl ScanOptions {
    /// Where this scan publishes: `-o`, or its shard's folder inside it. Each of N sharded
    /// scans owns its folder (its own staging, lock and `--force`), so N scans can write
    /// into one `-o` at once and each is published whole or not at all.
    pub fn out_dir(&self) -> PathBuf {
        match self.shard {
            Some(s) => self.out.join(format!("shard={}", s.label())),
            None => self.out.clone(),
        }
    }
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

/// Scans the inputs and writes `events/`, `sessions.parquet`, `findings.parquet`,
/// `evidence/`, `report.html`, `summary.md` and `summary.json`.
///
/// Everything is written into a staging folder inside the output folder and published when
/// the run is complete (see [`sink::output`]). An output that cannot be written (a full
/// disk) is left out whole and named in `summary.outputs.errors`; the others are still
/// published. Only when `summary.json` itself cannot be written is nothing published (and
/// the error returned).
pub fn scan(opts: &ScanOptions) -> Result<ScanReport> {
    let started = Instant::now();
    let out_dir = opts.out_dir();
    let staging = Staging::create(&out_dir, opts.force, Pause::from_env())?;
    let pause = staging.pause().clone();
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
    let all = (
        files.len() as u64,
        files.iter().map(|f| f.size).sum::<u64>(),
    );
    let files = match opts.shard {
        Some(s) => input::shard(files, s),
        None => files,
    };
    let plan = pool.install(|| {
        Plan::new(
            &files,
            opts.format,
            opts.clock,
            opts.chunk_bytes.unwrap_or(plan::CHUNK_BYTES),
            plan::Window {
                since_us: opts.since_us,
                until_us: opts.until_us,
            },
        )
    });

    // A run that may read CloudTrail keeps the logins per file and server for the joins of
    // the two planes (see [`pass::control_plane`]).
    let mut analysis = opts.analysis.clone();
    analysis.control_plane = opts.run_passes && plan.may_hold_trail();
    let analysis = &analysis;

    // Events repeated across CloudWatch export files (only CloudWatch files are read).
    let candidates = (0..files.len())
        .filter(|&f| plan.may_be_cloudwatch(f))
        .count();
    let duplicates = if opts.keep_duplicates || candidates < 2 {
        dedupe::Duplicates::none()
    } else {
        dedupe::find(files.len(), &pool, |f| {
            plan.record_keys(f, opts.max_record_bytes)
        })
    };

    // 2. Parse, analyse and encode in parallel; merge and write in input order.
    let encoder = if opts.no_events {
        None
    } else {
        Some(RowGroupEncoder::new(&event::COLUMNS)?)
    };
    let events_dir = staging.dir().join("events");
    let mut writer = if opts.no_events {
        None
    } else {
        let suffix = opts.shard.map(|s| format!("-shard-{}", s.label()));
        Some(
            PartitionedWriter::new(&events_dir, &event::COLUMNS)?
                .with_part_suffix(suffix.as_deref().unwrap_or("")),
        )
    };
    let mut output_errors: Vec<OutputError> = Vec::new();
    // Sessions are written as they end (see [`session`]).
    let paths: Vec<Arc<str>> = files.iter().map(|f| f.display.clone()).collect();
    // Sessions are followed with the passes, unless the measuring aid `--no-sessions` says not.
    let follow_sessions = opts.run_passes && !opts.no_sessions;
    let session_writer = if follow_sessions {
        let path = staging.dir().join("sessions.parquet");
        sink::sessions::SessionWriter::new(&path, paths.clone())
            .map(|w| w.with_geoip(opts.analysis.geoip.clone()))
            .map_err(|e| output_errors.push(output_error(&staging, "sessions.parquet", e)))
            .ok()
    } else {
        None
    };
    // A failed events write drops the events whole (temporaries and finished parts alike),
    // and the run goes on for the findings and the summary.
    let mut events_failed = |writer: &mut Option<PartitionedWriter>, e: Error| {
        drop(writer.take());
        let _ = std::fs::remove_dir_all(&events_dir);
        output_errors.push(output_error(&staging, "events", e));
    };
    let settings = ChunkSettings {
        since_us: opts.since_us,
        until_us: opts.until_us,
        encoder: encoder.as_ref(),
        config: analysis,
        analysis: opts.run_passes,
        duplicates: &duplicates,
        max_record_bytes: opts.max_record_bytes,
        privileges: opts.privileges,
        sessions: follow_sessions,
    };
    let mut run = RunState::new(&files);
    run.session_writer = session_writer;
    run.geoip = opts.analysis.geoip.clone();
    let progress = progress_bar(opts.progress, files.iter().map(|f| f.size).sum());
    let mut paused_mid_events = false;
    // Workers may run ahead of the consumer by a few chunks' worth of input: weighed in
    // input bytes, so a compressed stream's small blocks go as far ahead as mapped chunks.
    exec::run_ordered_weighted(
        &pool,
        plan.len(),
        (threads * 2 + 2) * RUN_AHEAD_BYTES,
        |o: &UnitOutput| match o {
            UnitOutput::Chunk(c) => (c.bytes as usize).max(1),
            UnitOutput::Control(c) => (c.bytes as usize).max(1),
            UnitOutput::File { .. } => 1,
        },
        |u, emit| plan.run(u, &settings, &mut |o| emit(o)),
        |unit, msg| UnitOutput::File {
            file: plan.file_of(unit),
            note: FileNote::Error(format!("internal error: {msg}")),
        },
        |out| {
            if let Some(p) = &progress {
                match &out {
                    UnitOutput::Chunk(c) => p.inc(c.bytes),
                    UnitOutput::Control(c) => p.inc(c.bytes),
                    UnitOutput::File { .. } => {}
                }
            }
            let chunk = matches!(out, UnitOutput::Chunk(_));
            if let Err(e) = run.consume(out, writer.as_mut()) {
                events_failed(&mut writer, e);
            }
            if chunk && writer.is_some() && !paused_mid_events {
                paused_mid_events = true;
                pause.at("events-mid");
            }
        },
    );
    // A hash left behind by a unit that panicked (never after a normal run).
    for out in plan.unfinished_hashes() {
        if let Err(e) = run.consume(out, writer.as_mut()) {
            events_failed(&mut writer, e);
        }
    }
    if let Some(p) = &progress {
        p.finish_and_clear();
    }
    let (event_files, event_rows) = match writer.take().map(|w| w.finish(&pool)) {
        Some(Ok(written)) => written,
        Some(Err(e)) => {
            events_failed(&mut None, e);
            (Vec::new(), 0)
        }
        None => (Vec::new(), 0),
    };
    pause.at("events");
    let session_rows = match run.finish_sessions() {
        Some(Ok(rows)) => rows,
        Some(Err(e)) => {
            output_errors.push(output_error(&staging, "sessions.parquet", e));
            0
        }
        None => 0,
    };

    // 3. Findings, and the lines behind each.
    let ctx = FinishContext {
        config: &opts.analysis,
        files: &paths,
    };
    let mut passes = run.passes.take().unwrap_or_else(|| PassSet::new(analysis));
    let logins = passes.take_logins();
    let mut findings = passes.finish(&ctx);
    // The control plane: CloudTrail's records written to `control/`, its findings, and the
    // joins with the database logins.
    let part_suffix = opts
        .shard
        .map(|s| format!("-shard-{}", s.label()))
        .unwrap_or_default();
    let control = control_plane(
        &mut run,
        &files,
        &paths,
        analysis,
        &logins,
        &plan,
        &staging,
        &pool,
        &part_suffix,
    );
    let control = match control {
        Some((report, summary, error)) => {
            findings.extend(report.findings);
            output_errors.extend(error);
            Some(summary)
        }
        None => None,
    };
    // Logins unlike the baseline, from the sessions' logins (see `pass::profile`).
    findings.extend(run.profile.anomalies(
        opts.analysis.baseline.as_deref(),
        opts.analysis.learn_secs,
        &ctx,
    ));
    if let Some(geo) = &opts.analysis.geoip {
        add_geo(&mut findings, geo);
    }
    finding::sort(&mut findings);
    finding::assign_ids(&mut findings);
    let input_paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let evidence = sink::evidence::read(&findings, &input_paths, &paths, &run.texts);
    if let Err(e) = sink::evidence::write(staging.dir(), &findings, &evidence) {
        let _ = std::fs::remove_dir_all(staging.dir().join("evidence"));
        output_errors.push(output_error(&staging, "evidence", e));
    }
    if let Err(e) = sink::parquet::write_file_atomic(
        &staging.dir().join("findings.parquet"),
        &finding::to_batch(&findings),
        &finding::COLUMNS,
    ) {
        output_errors.push(output_error(&staging, "findings.parquet", e));
    }
    if opts.run_passes {
        if let Err(e) = sink::profile::write(staging.dir(), &run.profile.profile()) {
            output_errors.push(output_error(&staging, "profile.parquet", e));
        }
    }
    pause.at("findings");

    // Least privilege per user (`--privileges`), before the report that links to it.
    let mut privileges_written = false;
    if opts.privileges {
        let usage = run.privileges.take().unwrap_or_default();
        let ctx = privileges::Context {
            master_users: opts.analysis.master_users.clone(),
            admin_hosts: opts.analysis.admin_hosts.clone(),
        };
        let written =
            privileges::outputs(&usage, &ctx, opts.grants.as_deref()).and_then(|(sql, md)| {
                sink::parquet::write_bytes_atomic(
                    &staging.dir().join("privileges.sql"),
                    sql.as_bytes(),
                )?;
                sink::parquet::write_bytes_atomic(
                    &staging.dir().join("privileges.md"),
                    md.as_bytes(),
                )
            });
        match written {
            Ok(()) => privileges_written = true,
            Err(e) => {
                let _ = std::fs::remove_file(staging.dir().join("privileges.sql"));
                output_errors.push(output_error(&staging, "privileges", e));
            }
        }
    }

    // 4. Summary.
    let elapsed = started.elapsed().as_secs_f64();
    let summary = assemble::assemble(assemble::Run {
        files: run.files,
        per_file: &mut run.per_file,
        format_of: &|f| plan.format_of(f),
        discover_errors: &discover_errors,
        findings: &findings,
        config: ConfigSummary::of(
            &opts.analysis,
            opts.since_us,
            opts.until_us,
            opts.format,
            &opts.clock,
        ),
        out: &out_dir,
        written_in: staging.dir(),
        event_files,
        output_errors,
        event_rows,
        seconds: elapsed,
        threads,
    });
    let mut summary = summary;
    summary.outputs.sessions = session_rows;
    summary.control = control;
    summary.shard = opts.shard.map(|s| sink::summary::ShardSummary {
        shard: s.label(),
        index: s.index,
        count: s.count,
        files: files.len() as u64,
        bytes: files.iter().map(|f| f.size).sum(),
        files_all: all.0,
        bytes_all: all.1,
    });
    if !opts.no_report {
        let mysql_family: Vec<bool> = (0..files.len())
            .map(|f| {
                plan.format_of(f)
                    .is_some_and(|n| n.contains("mysql") || n.contains("mariadb"))
            })
            .collect();
        let page = sink::report::render(&sink::report::ReportInput {
            summary: &summary,
            findings: &findings,
            evidence: &evidence,
            activity: &run.activity,
            minutes: &run.sessions.minutes,
            settings: &opts.settings_used,
            mysql_family: &mysql_family,
            privileges: privileges_written,
        });
        let path = staging.dir().join("report.html");
        let written = page
            .map_err(|message| Error::Output {
                path: path.clone(),
                message,
            })
            .and_then(|page| sink::parquet::write_bytes_atomic(&path, page.as_bytes()));
        if let Err(e) = written {
            let e = output_error(&staging, "report.html", e);
            summary.outputs.errors.push(e);
        }
    }
    pause.at("report");
    if let Err(e) = sink::parquet::write_bytes_atomic(
        &staging.dir().join("summary.md"),
        summary.to_markdown().as_bytes(),
    ) {
        let e = output_error(&staging, "summary.md", e);
        summary.outputs.errors.push(e);
    }
    // summary.json says the run is complete: without it nothing is published (a `--force`
    // run leaves the earlier outputs as they were).
    if let Err(e) = sink::parquet::write_bytes_atomic(
        &staging.dir().join("summary.json"),
        summary.to_json().as_bytes(),
    ) {
        let mut message = format!(
            "{}; nothing was published",
            output_error(&staging, "summary.json", e).error
        );
        for e in &summary.outputs.errors {
            let path = out_dir.join(&e.path);
            message += &format!(" (also not written: {}: {})", path.display(), e.error);
        }
        return Err(Error::Output {
            path: out_dir.join("summary.json"),
            message,
        });
    }
    staging.publish()?;
    Ok(ScanReport { summary, findings })
}

/// The control plane of a run that read CloudTrail (`None` otherwise): its records
/// de-duplicated by event id, sorted by time and written to `control/`; its findings and the
/// joins with the database logins; what the summary says of it (and the output error if
/// `control/` could not be written).
#[allow(clippy::too_many_arguments)]
fn control_plane(
    run: &mut RunState<'_>,
    files: &[input::InputFile],
    paths: &[Arc<str>],
    analysis: &AnalysisConfig,
    logins: &pass::plane_logins::LoginTable,
    plan: &Plan<'_>,
    staging: &Staging,
    pool: &rayon::ThreadPool,
    part_suffix: &str,
) -> Option<(
    pass::control_plane::ControlReport,
    sink::summary::ControlSummary,
    Option<OutputError>,
)> {
    let is_trail = |f: usize| {
        run.per_file[f]
            .format
            .as_deref()
            .is_some_and(|n| n.contains("cloudtrail"))
    };
    let trail_files = (0..files.len()).filter(|&f| is_trail(f)).count() as u64;
    if trail_files == 0 {
        return None;
    }
    let mut events = std::mem::take(&mut run.control);
    let before = events.len();
    let mut seen = std::collections::HashSet::new();
    events.retain(|e| e.event_id.as_ref().is_none_or(|id| seen.insert(id.clone())));
    let duplicates = (before - events.len()) as u64;
    events.sort_by_key(|e| (e.time_us, e.file, e.index));
    let mut error = None;
    let mut files_written = Vec::new();
    if !events.is_empty() {
        let dir = staging.dir().join("control");
        match sink::control::write(&dir, &events, paths, pool, part_suffix) {
            Ok((written, _)) => {
                files_written = written.iter().map(|p| staging.relative(p)).collect();
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                error = Some(output_error(staging, "control", e));
            }
        }
    }
    // Per file: the last database event, and the instance a CloudWatch log group names.
    let last_event_us: Vec<Option<i64>> = (0..files.len())
        .map(|f| {
            (!is_trail(f))
                .then_some(run.per_file[f].stats.last_us)
                .flatten()
        })
        .collect();
    let first_event_us: Vec<Option<i64>> = (0..files.len())
        .map(|f| {
            (!is_trail(f))
                .then_some(run.per_file[f].stats.first_us)
                .flatten()
        })
        .collect();
    let run_end_us = (0..files.len())
        .filter_map(|f| run.per_file[f].stats.last_us)
        .max();
    let log_groups: Vec<Option<String>> = (0..files.len())
        .map(|f| {
            let cloudwatch = plan
                .format_of(f)
                .or_else(|| run.per_file[f].format.clone())
                .is_some_and(|n| n.contains("cloudwatch"));
            if !cloudwatch || is_trail(f) {
                return None;
            }
            let head = input::read_head(&files[f].path, 64 << 10).ok()?;
            control::identifier_from_log_group(&head)
        })
        .collect();
    let ctx = pass::control_plane::ControlContext {
        config: analysis,
        files: paths,
        last_event_us: &last_event_us,
        first_event_us: &first_event_us,
        log_groups: &log_groups,
        run_end_us,
    };
    let report = pass::control_plane::analyse(&events, logins, &ctx);
    let unjoined = (!analysis.control_plane).then(|| {
        "the trail was found only inside a compressed file not named like one (no CloudTrail, .json or missing extension in its name): the logins were not kept, so the joins with the logs did not run; rename it and scan again".to_string()
    });
    let note = unjoined.or_else(|| (!report.unidentified.is_empty()).then(|| {
        format!(
            "{} database log file{} could not be tied to an instance (no [instances] entry, no CloudWatch log group, no folder named like an identifier of the trail): the joins with the trail leave {} out",
            report.unidentified.len(),
            if report.unidentified.len() == 1 { "" } else { "s" },
            if report.unidentified.len() == 1 { "it" } else { "them" }
        )
    }));
    let mut ignored_by_service = std::mem::take(&mut run.control_ignored);
    ignored_by_service.retain(|_, n| *n > 0);
    let summary = sink::summary::ControlSummary {
        files: trail_files,
        events: events.len() as u64,
        duplicates,
        ignored_by_service,
        files_written,
        instances: report.identities.clone(),
        unidentified_files: report.unidentified.clone(),
        note,
        aws_accounts: analysis.aws_accounts.clone(),
        correlation_window_secs: analysis.correlation_window_secs,
    };
    Some((report, summary, error))
}

/// Fills in what the GeoIP databases say of each finding's source (one look-up per source).
fn add_geo(findings: &mut [Finding], geo: &intel::GeoIp) {
    let mut seen: std::collections::HashMap<String, finding::Geo> = Default::default();
    for f in findings {
        let Some(ip) = f.client_ip.clone() else {
            continue;
        };
        f.geo = seen
            .entry(ip)
            .or_insert_with_key(|ip| {
                let info = ip.parse().ok().and_then(|ip| geo.lookup(ip));
                info.map(|i| finding::Geo {
                    country: i.country.map(String::from),
                    asn: i.asn.map(i64::from),
                    as_org: i.as_org.map(String::from),
                })
                .unwrap_or_default()
            })
            .clone();
    }
}

/// An output that could not be written, named by its path in the output folder.
fn output_error(staging: &Staging, output: &str, e: Error) -> OutputError {
    let (path, error) = match e {
        Error::Io { path, source } => (staging.relative(&path), source.to_string()),
        Error::Output { path, message } => (staging.relative(&path), message),
        other => (output.to_string(), other.to_string()),
    };
    OutputError {
        output: output.to_string(),
        path,
        error,
    }
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
