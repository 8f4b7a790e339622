//! The command line: one clap definition; each subcommand is a thin call into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use forensics::finding::Severity;
use forensics::format::FormatChoice;
use forensics::pass::config::{parse_duration_secs, parse_net, ConfigFile};
use forensics::pass::AnalysisConfig;

#[derive(Parser)]
#[command(name = "forensics", version, about = "Offline forensics for Amazon RDS and Aurora audit logs", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
enum Command {
    /// Parse audit logs into partitioned Parquet, run the security detections, write a summary.
    Scan(ScanArgs),
    /// Print the lines a CloudWatch Logs filter pattern matches (as a metric filter would count them).
    Grep(GrepArgs),
    /// Write a deterministic synthetic corpus with planted incidents (for tests and benchmarks).
    Synth(SynthArgs),
}

#[derive(Args)]
struct GrepArgs {
    /// CloudWatch Logs filter pattern, e.g. 'CONNECT -localhost -"10.20."' (quote it for the shell).
    #[arg(allow_hyphen_values = true)]
    pattern: String,
    /// Files or folders (walked recursively); plain, .gz and .zst.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print only the number of matching lines (path:count per file when file names are shown).
    #[arg(short, long)]
    count: bool,
    /// Only events at or after T (RFC 3339, a date, or a duration back from now: 90m, 24h, 7d).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// Only events before T.
    #[arg(long, value_name = "T")]
    until: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Always prefix lines with path:line: (default: when several paths or a folder are given).
    #[arg(short = 'H', long, conflicts_with = "no_filename")]
    with_filename: bool,
    /// Never prefix lines with the path.
    #[arg(long)]
    no_filename: bool,
    /// strftime layout of MariaDB >= 12 audit timestamps, for --since/--until (as for scan).
    #[arg(long, value_name = "FMT")]
    timestamp_format: Option<String>,
    /// UTC offset of the zone-less MySQL-family audit timestamps, for --since/--until (as for
    /// scan) [default: +00:00].
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
    utc_offset: Option<String>,
}

#[derive(Args)]
struct ScanArgs {
    /// Files or folders (walked recursively); plain, .gz and .zst.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output folder.
    #[arg(short, long, default_value = "forensics-out")]
    out: PathBuf,
    /// Only events at or after T (RFC 3339, a date, or a duration back from now: 90m, 24h, 7d).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// Only events before T.
    #[arg(long, value_name = "T")]
    until: Option<String>,
    /// Expected source network (repeatable). Default: the private ranges.
    #[arg(long = "allow", value_name = "CIDR")]
    allow: Vec<String>,
    /// The RDS master user (repeatable). Default: admin, postgres.
    #[arg(long = "master-user", value_name = "NAME")]
    master_user: Vec<String>,
    /// Where a human administrator may use the master user, e.g. a bastion (repeatable).
    #[arg(long = "admin-host", value_name = "CIDR")]
    admin_host: Vec<String>,
    /// TOML config: the same settings plus custom rules; flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Analysis only: do not write events/.
    #[arg(long)]
    no_events: bool,
    /// Exit 1 when a finding reaches this severity (info, low, medium, high, critical).
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<Severity>,
    /// Force a parser: auto, mariadb-audit, rds-mysql-audit, aurora-mysql-audit, postgres, cloudwatch-json.
    #[arg(long, default_value = "auto")]
    format: FormatChoice,
    /// strftime layout of MariaDB >= 12 audit timestamps (server_audit_timestamp_format),
    /// e.g. "%Y-%m-%d %H:%M:%S"; files in the standard layout are still read as usual.
    #[arg(long, value_name = "FMT")]
    timestamp_format: Option<String>,
    /// UTC offset of the zone-less MySQL-family audit timestamps, e.g. +02:00 [default: +00:00,
    /// as on RDS]. Aurora epoch times, PostgreSQL and CloudWatch times carry their zone.
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
    utc_offset: Option<String>,
    /// Replace the output of a previous scan in a non-empty output folder.
    #[arg(long)]
    force: bool,
    /// Exit 2 when any line is rejected or any file cannot be read to its end.
    #[arg(long)]
    strict: bool,
    /// No progress bar and no terminal summary.
    #[arg(short, long)]
    quiet: bool,
    /// Failed logins from one source within the window that make a brute force [default: 20].
    #[arg(long, value_name = "N")]
    brute_force_threshold: Option<u32>,
    /// Sliding window for brute force and password spray [default: 5m].
    #[arg(long, value_name = "DURATION")]
    brute_force_window: Option<String>,
    /// How long after a burst a successful login is reported [default: 1h].
    #[arg(long, value_name = "DURATION")]
    brute_force_success_delay: Option<String>,
    /// Distinct users failed from one source within the window that make a spray [default: 5].
    #[arg(long, value_name = "N")]
    spray_users: Option<u32>,
    /// Rate-spike window [default: 5m].
    #[arg(long, value_name = "DURATION")]
    rate_window: Option<String>,
    /// Events a window needs before it can be a spike [default: 200].
    #[arg(long, value_name = "N")]
    rate_floor: Option<u64>,
    /// A spike exceeds the user's 95th-percentile window by this factor [default: 4].
    #[arg(long, value_name = "X")]
    rate_factor: Option<f64>,
    /// Keep events that an earlier CloudWatch export file already holds (by default an
    /// event exported twice, by overlapping export tasks or a retried delivery, is kept once).
    #[arg(long)]
    keep_duplicates: bool,
    /// Chunk size in bytes (testing aid: small chunks exercise chunk edges).
    #[arg(long, hide = true)]
    chunk_bytes: Option<usize>,
    /// Skip the analysis passes (measuring aid: parsing alone).
    #[arg(long, hide = true)]
    no_analysis: bool,
}

#[derive(Args)]
struct SynthArgs {
    /// Output folder.
    #[arg(short, long)]
    out: PathBuf,
    /// Uncompressed size: 1GiB, 512M, 100MB, 64k.
    #[arg(long, default_value = "100MiB")]
    size: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// rds-mysql, mariadb, aurora or postgres.
    #[arg(long, default_value = "rds-mysql")]
    flavor: String,
    /// Days of traffic.
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// gzip every log file.
    #[arg(long, conflicts_with = "zstd")]
    gzip: bool,
    /// zstd every log file.
    #[arg(long)]
    zstd: bool,
    /// Write CloudWatch S3-export objects (000000.gz, lines prefixed with the event time).
    #[arg(long, conflicts_with = "cloudwatch_json")]
    cloudwatch_export: bool,
    /// Write CloudWatch subscription-filter deliveries as Firehose stores them (gzip without
    /// extension, concatenated JSON payloads, one CONTROL_MESSAGE).
    #[arg(long)]
    cloudwatch_json: bool,
}

/// glibc's allocator returns every large block (the per-chunk column buffers, tens of MB) to
/// the kernel on free and takes fresh zeroed pages for the next chunk: a page fault and a page
/// clear per 4 KiB, about a tenth of a scan's CPU. Keeping blocks up to 256 MiB in the heap
/// lets each worker reuse its pages; memory stays bounded by the chunks in flight.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(a) => run_scan(a),
        Command::Grep(a) => run_grep(a),
        Command::Synth(a) => run_synth(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("forensics: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn analysis_config(a: &ScanArgs) -> anyhow::Result<AnalysisConfig> {
    let mut cfg = AnalysisConfig::default();
    if let Some(path) = &a.config {
        let file = ConfigFile::load(path)?;
        cfg.apply_file(&file)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("{}", path.display()))?;
    }
    if !a.allow.is_empty() {
        cfg.allow = a
            .allow
            .iter()
            .map(|s| parse_net(s))
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?;
        cfg.allow_is_default = false;
    }
    if !a.master_user.is_empty() {
        cfg.master_users = a.master_user.clone();
        cfg.master_users_are_default = false;
    }
    if !a.admin_host.is_empty() {
        cfg.admin_hosts = a
            .admin_host
            .iter()
            .map(|s| parse_net(s))
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?;
    }
    if let Some(v) = a.brute_force_threshold {
        cfg.brute_force_threshold = v.max(1);
    }
    if let Some(v) = &a.brute_force_window {
        cfg.brute_force_window_secs = parse_duration_secs(v).map_err(anyhow::Error::msg)?;
    }
    if let Some(v) = &a.brute_force_success_delay {
        cfg.brute_force_success_delay_secs = parse_duration_secs(v).map_err(anyhow::Error::msg)?;
    }
    if let Some(v) = a.spray_users {
        cfg.spray_users = v.max(2);
    }
    if let Some(v) = &a.rate_window {
        cfg.rate_window_secs = parse_duration_secs(v).map_err(anyhow::Error::msg)?;
    }
    if let Some(v) = a.rate_floor {
        cfg.rate_floor = v;
    }
    if let Some(v) = a.rate_factor {
        cfg.rate_factor = v;
    }
    cfg.compile_rules().map_err(anyhow::Error::msg)?;
    Ok(cfg)
}

/// `--timestamp-format` and `--utc-offset` (or their config file keys).
fn clock(a: &ScanArgs) -> anyhow::Result<forensics::time::Clock> {
    let file = a.config.as_deref().map(ConfigFile::load).transpose()?;
    let pick = |flag: &Option<String>, key: Option<&Option<String>>| {
        flag.clone().or_else(|| key.cloned().flatten())
    };
    make_clock(
        pick(
            &a.timestamp_format,
            file.as_ref().map(|f| &f.timestamp_format),
        ),
        pick(&a.utc_offset, file.as_ref().map(|f| &f.utc_offset)),
    )
}

/// A clock from a strftime layout and a `±HH:MM` offset, both checked.
fn make_clock(
    layout: Option<String>,
    offset: Option<String>,
) -> anyhow::Result<forensics::time::Clock> {
    let layout = layout
        .map(|p| forensics::time::TimeLayout::new(&p))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let offset_us = offset
        .map(|o| forensics::time::parse_utc_offset(&o))
        .transpose()
        .map_err(anyhow::Error::msg)?
        .unwrap_or(0);
    Ok(forensics::time::Clock {
        // One layout for the whole run, shared by every worker.
        layout: layout.map(|l| &*Box::leak(Box::new(l))),
        offset_us,
    })
}

/// `--since`/`--until` as epoch microseconds (durations count back from now).
fn time_window(
    since: Option<&str>,
    until: Option<&str>,
) -> anyhow::Result<(Option<i64>, Option<i64>)> {
    let now = chrono::Utc::now();
    let parse = |t: Option<&str>| {
        t.map(|s| forensics::time::parse_time_arg(s, now))
            .transpose()
            .map_err(anyhow::Error::msg)
    };
    Ok((parse(since)?, parse(until)?))
}

fn run_scan(a: ScanArgs) -> anyhow::Result<ExitCode> {
    let (since_us, until_us) = time_window(a.since.as_deref(), a.until.as_deref())?;
    let opts = forensics::ScanOptions {
        paths: a.paths.clone(),
        out: a.out.clone(),
        since_us,
        until_us,
        threads: a.threads,
        force: a.force,
        no_events: a.no_events,
        format: a.format,
        clock: clock(&a)?,
        analysis: analysis_config(&a)?,
        progress: !a.quiet,
        chunk_bytes: a.chunk_bytes,
        run_passes: !a.no_analysis,
        keep_duplicates: a.keep_duplicates,
    };
    let report = forensics::scan(&opts)?;
    let s = &report.summary;
    if !a.quiet {
        print!("{}", s.to_terminal());
    }
    if s.totals.rejected > 0 || s.totals.files_error > 0 {
        eprintln!(
            "forensics: warning: {} rejected lines, {} files with errors (see {}/summary.md)",
            s.totals.rejected,
            s.totals.files_error,
            a.out.display()
        );
    }
    if report.readable_files() == 0 {
        eprintln!(
            "forensics: error: nothing readable: no input file is an audit log that could be read"
        );
        return Ok(ExitCode::from(2));
    }
    if a.strict && report.has_problems() {
        return Ok(ExitCode::from(2));
    }
    if let Some(level) = a.fail_on {
        if report.findings.iter().any(|f| f.severity >= level) {
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_grep(a: GrepArgs) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let (since_us, until_us) = time_window(a.since.as_deref(), a.until.as_deref())?;
    let opts = forensics::grep::GrepOptions {
        pattern: a.pattern,
        paths: a.paths,
        count: a.count,
        since_us,
        until_us,
        clock: make_clock(a.timestamp_format, a.utc_offset)?,
        threads: a.threads,
        with_filename: if a.with_filename {
            Some(true)
        } else if a.no_filename {
            Some(false)
        } else {
            None
        },
        chunk_bytes: None,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let outcome = forensics::grep::run(&opts, &mut out)?;
    out.flush().ok();
    for e in &outcome.errors {
        eprintln!("forensics: error: {e}");
    }
    // As grep: an unreadable input is exit 2 even when other files matched.
    Ok(if !outcome.errors.is_empty() {
        ExitCode::from(2)
    } else if outcome.matches > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn run_synth(a: SynthArgs) -> anyhow::Result<ExitCode> {
    use forensics::synth::{self, Compression, SynthOptions};
    let opts = SynthOptions {
        out: a.out.clone(),
        size_bytes: synth::parse_size(&a.size).map_err(anyhow::Error::msg)?,
        seed: a.seed,
        flavor: a.flavor.parse().map_err(|e: String| anyhow::anyhow!(e))?,
        compression: if a.gzip {
            Compression::Gzip
        } else if a.zstd {
            Compression::Zstd
        } else {
            Compression::None
        },
        cloudwatch_export: a.cloudwatch_export,
        cloudwatch_json: a.cloudwatch_json,
        days: a.days,
        ..SynthOptions::new(a.out.clone())
    };
    let started = std::time::Instant::now();
    let report = synth::generate(&opts).with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!(
        "wrote {} files, {} lines, {} bytes over {} days with {} planted incidents in {:.1} s; ground truth: {}",
        report.files.len(),
        report.lines,
        report.bytes,
        report.days,
        report.incidents,
        started.elapsed().as_secs_f64(),
        a.out.join("ground_truth.json").display()
    );
    Ok(ExitCode::SUCCESS)
}
