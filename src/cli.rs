//! The command line: one clap definition, and each subcommand as a thin call into the library
//! that renders its result and picks the exit code. `main.rs` only parses and calls [`run`].
//!
//! The settings that a config file can also give are not declared here but flattened in from
//! `crate::settings`, which resolves them (flags over keys over defaults) once per run.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result};
use crate::finding::Severity;
use crate::format::FormatChoice;
use crate::settings::{Settings, SettingsLayer};
use crate::time::{self, TimeArg, TimeLayout, UtcOffset};

/// `forensics`, parsed.
#[derive(Parser)]
#[command(name = "forensics", version, about = "Offline forensics for Amazon RDS and Aurora audit logs", long_about = None)]
pub struct Cli {
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
    /// Least privilege per database user, from a scan's events: writes DIR/privileges.sql and
    /// DIR/privileges.md.
    Privileges(PrivilegesArgs),
    /// Print one SQL statement that yields the findings from the events and control tables
    /// (DuckDB, Athena or Spark), with the same settings as scan inlined.
    Sql(SqlArgs),
    /// Print Athena CREATE TABLE statements (with partition projection) for every Parquet
    /// output table (events, control, findings, sessions, profile).
    AthenaDdl(AthenaDdlArgs),
}

#[derive(Args)]
struct PrivilegesArgs {
    /// A scan's output folder (its events/ is read).
    dir: PathBuf,
    /// The grants users hold now (SHOW GRANTS output; psql \dp, \du or role_table_grants
    /// output), to list what is held but never used.
    #[arg(long, value_name = "FILE")]
    grants: Option<PathBuf>,
    /// The master user (repeatable) [default: the scan's, from DIR/summary.json].
    #[arg(long = "master-user", value_name = "NAME")]
    master_users: Vec<String>,
    /// Where an administrator may use the master user (repeatable) [default: the scan's].
    #[arg(long = "admin-host", value_name = "CIDR")]
    admin_hosts: Vec<String>,
}

#[derive(Args)]
struct SqlArgs {
    /// The SQL engine: athena, spark or duckdb.
    #[arg(long, value_enum)]
    dialect: crate::sql::Dialect,
    /// The events: a path or glob of the events Parquet for DuckDB and Spark (default
    /// forensics-out/events), a table name for Athena (default rds_audit_events).
    #[arg(long, value_name = "LOCATION", conflicts_with = "no_events")]
    events: Option<String>,
    /// The query without the events, for a scan that read only CloudTrail (it writes no
    /// `events/`): the control plane's findings alone.
    #[arg(long, conflicts_with = "no_control")]
    no_events: bool,
    /// The control plane (the `control` table of a scan that read CloudTrail): a path or
    /// glob for DuckDB and Spark, a table name for Athena. Default: beside the events (their
    /// `events` folder renamed `control`, a `…_events` table `…_control`), else
    /// forensics-out/control (rds_audit_control for Athena).
    #[arg(long, value_name = "LOCATION", conflicts_with = "no_control")]
    control: Option<String>,
    /// The query without the control plane, for scans that read no CloudTrail (they write
    /// no `control/`, and an engine fails on a table that does not exist).
    #[arg(long)]
    no_control: bool,
    /// The settings a config file can also give (as for scan).
    #[command(flatten)]
    settings: SettingsLayer,
    /// TOML config: the same settings as scan; flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct AthenaDdlArgs {
    /// Where the scans' output lies, e.g. s3://bucket/forensics (the -o folder, or the folder
    /// holding the shard=I-of-N folders of sharded scans).
    #[arg(long, value_name = "S3_PREFIX")]
    location: String,
    /// The N of sharded scans (--shard I/N): events and control partitioned by shard and day.
    #[arg(long, value_name = "N")]
    shards: Option<u32>,
    /// Table names start with this.
    #[arg(long, default_value = "rds_audit")]
    table_prefix: String,
    /// First day of the date projection (YYYY-MM-DD).
    #[arg(long, default_value = "2015-01-01")]
    since: String,
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
    since: Option<TimeArg>,
    /// Only events before T.
    #[arg(long, value_name = "T")]
    until: Option<TimeArg>,
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
    timestamp_format: Option<TimeLayout>,
    /// UTC offset of the zone-less MySQL-family audit timestamps, for --since/--until (as for
    /// scan) [default: +00:00].
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
    utc_offset: Option<UtcOffset>,
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
    since: Option<TimeArg>,
    /// Only events before T.
    #[arg(long, value_name = "T")]
    until: Option<TimeArg>,
    /// The settings a config file can also give.
    #[command(flatten)]
    settings: SettingsLayer,
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
    /// Replace the output of a previous scan in a non-empty output folder.
    #[arg(long)]
    force: bool,
    /// Exit 2 when any line is rejected or any file cannot be read to its end.
    #[arg(long)]
    strict: bool,
    /// No progress bar and no terminal summary.
    #[arg(short, long)]
    quiet: bool,
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
    /// Follow no sessions (measuring aid: what sessions.parquet, the report's activity and
    /// the profile's logins cost; those outputs are then absent or empty).
    #[arg(long, hide = true)]
    no_sessions: bool,
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
    /// Also write a CloudTrail of the estate (S3 delivery objects, digests, a lookup-events
    /// page) whose planted control-plane incidents line up with the audit logs'.
    #[arg(long)]
    cloudtrail: bool,
}

/// Runs the parsed command. An `Err` is a usage error or an output that could not be
/// written: the caller prints it and exits 2.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan(a) => run_scan(a),
        Command::Grep(a) => run_grep(a),
        Command::Synth(a) => run_synth(a),
        Command::Privileges(a) => run_privileges(a),
        Command::Sql(a) => run_sql(a),
        Command::AthenaDdl(a) => run_athena_ddl(a),
    }
}

impl ScanArgs {
    /// The scan's options: the resolved settings, as the views the pipeline reads, and the
    /// flags that only the command line gives.
    fn options(&self, settings: Settings) -> Result<crate::ScanOptions> {
        let analysis = settings.analysis().map_err(|message| match &self.config {
            // Rules come from the config file only.
            Some(path) => Error::Config {
                path: path.clone(),
                message,
            },
            None => Error::Usage(message),
        })?;
        let mut analysis = analysis;
        // The files the settings name, read once here: a bad one is a usage error naming it.
        analysis.threat_lists =
            std::sync::Arc::new(crate::intel::ThreatLists::load(&settings.threat_lists)?);
        if !settings.geoip.is_empty() {
            analysis.geoip = Some(std::sync::Arc::new(crate::intel::GeoIp::open(
                &settings.geoip,
            )?));
        }
        if let Some(dir) = &settings.baseline {
            analysis.baseline = Some(std::sync::Arc::new(crate::sink::profile::read(dir)?));
        }
        let (since_us, until_us) = time::time_window(self.since, self.until);
        if settings.grants.is_some() && !settings.privileges {
            return Err(Error::Usage(
                "--grants is read for privileges.md: give --privileges too".into(),
            ));
        }
        let settings_used = settings.listing();
        Ok(crate::ScanOptions {
            paths: self.paths.clone(),
            out: self.out.clone(),
            since_us,
            until_us,
            threads: self.threads,
            force: self.force,
            no_events: self.no_events,
            format: self.format,
            clock: crate::format::Clock::new(settings.timestamp_format, settings.utc_offset)
                .with_pg_prefix(settings.pg_log_line_prefix.and_then(|p| p.compiled)),
            analysis,
            progress: !self.quiet,
            chunk_bytes: self.chunk_bytes,
            run_passes: !self.no_analysis,
            keep_duplicates: self.keep_duplicates,
            max_record_bytes: settings.max_record_bytes.0,
            no_report: settings.no_report,
            no_sessions: self.no_sessions,
            privileges: settings.privileges,
            grants: settings.grants.clone(),
            settings_used,
            shard: settings.shard,
        })
    }
}

fn run_scan(mut a: ScanArgs) -> Result<ExitCode> {
    let flags = std::mem::take(&mut a.settings);
    let settings = Settings::resolve(flags, a.config.as_deref())?;
    let opts = a.options(settings)?;
    let report = crate::scan(&opts)?;
    let out_dir = opts.out_dir();
    let s = &report.summary;
    if !a.quiet {
        print!("{}", s.to_terminal());
    }
    if s.totals.rejected > 0 || s.totals.files_error > 0 {
        eprintln!(
            "forensics: warning: {} rejected lines, {} files with errors (see {}/summary.md)",
            s.totals.rejected,
            s.totals.files_error,
            out_dir.display()
        );
    }
    // An output that could not be written (a full disk) was left out; the rest was
    // published, and the summary says what is missing.
    for e in &s.outputs.errors {
        eprintln!(
            "forensics: error: cannot write {}: {} ({} not written)",
            out_dir.join(&e.path).display(),
            e.error,
            e.output
        );
    }
    if !s.outputs.errors.is_empty() {
        return Ok(ExitCode::from(2));
    }
    // A shard may be dealt no log at all (more shards than files, or only files that are not
    // logs): its share is empty, not an error; the other shards read the rest.
    if report.readable_files() == 0 && s.shard.as_ref().is_some_and(|sh| sh.files_all > 0) {
        eprintln!(
            "forensics: warning: shard {}: no audit log in this share of the inputs",
            s.shard
                .as_ref()
                .map_or(String::new(), |sh| sh.shard.clone())
        );
    } else if report.readable_files() == 0 {
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

fn run_sql(a: SqlArgs) -> Result<ExitCode> {
    let settings = Settings::resolve(a.settings, a.config.as_deref())?;
    let analysis = settings.analysis().map_err(|message| match &a.config {
        Some(path) => Error::Config {
            path: path.clone(),
            message,
        },
        None => Error::Usage(message),
    })?;
    if !analysis.rules.is_empty() {
        eprintln!(
            "forensics: note: custom [[rule]]s match the original log line, which the events do \
             not keep; the query leaves them out"
        );
    }
    let events = (!a.no_events).then_some(a.events.as_deref());
    let control = (!a.no_control).then_some(a.control.as_deref());
    let q = crate::sql::findings_query(&analysis, a.dialect, events, control);
    write_stdout(q.as_bytes())
}

fn run_athena_ddl(a: AthenaDdlArgs) -> Result<ExitCode> {
    if a.shards == Some(0) {
        return Err(Error::Usage("--shards must be at least 1".into()));
    }
    if !a
        .table_prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(Error::Usage(format!(
            "--table-prefix {:?}: letters, digits and _ only",
            a.table_prefix
        )));
    }
    let ddl = crate::sql::athena_ddl(&a.location, &a.table_prefix, a.shards, &a.since);
    write_stdout(ddl.as_bytes())
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io(std::path::Path::new("<stdout>"), e))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn run_grep(a: GrepArgs) -> Result<ExitCode> {
    let (since_us, until_us) = time::time_window(a.since, a.until);
    let opts = crate::grep::GrepOptions {
        pattern: a.pattern,
        paths: a.paths,
        count: a.count,
        since_us,
        until_us,
        clock: crate::format::Clock::new(a.timestamp_format, a.utc_offset.unwrap_or_default()),
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
    let outcome = crate::grep::run(&opts, &mut out)?;
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

fn run_synth(a: SynthArgs) -> Result<ExitCode> {
    use crate::synth::{self, Compression, SynthOptions};
    let opts = SynthOptions {
        out: a.out.clone(),
        size_bytes: synth::parse_size(&a.size).map_err(Error::Usage)?,
        seed: a.seed,
        flavor: a.flavor.parse().map_err(Error::Usage)?,
        compression: if a.gzip {
            Compression::Gzip
        } else if a.zstd {
            Compression::Zstd
        } else {
            Compression::None
        },
        cloudwatch_export: a.cloudwatch_export,
        cloudwatch_json: a.cloudwatch_json,
        cloudtrail: a.cloudtrail,
        days: a.days,
        ..SynthOptions::new(a.out.clone())
    };
    let started = std::time::Instant::now();
    let report = synth::generate(&opts).map_err(|e| Error::Output {
        path: a.out.clone(),
        message: format!("cannot write the corpus: {e}"),
    })?;
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

fn run_privileges(a: PrivilegesArgs) -> Result<ExitCode> {
    // The scan's own settings, unless given here.
    let summary: Option<serde_json::Value> = std::fs::read(a.dir.join("summary.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let from_summary = |key: &str| -> Vec<String> {
        summary
            .as_ref()
            .and_then(|s| s["config"][key].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let master_users = if a.master_users.is_empty() {
        from_summary("master_users")
    } else {
        a.master_users
    };
    let admin_hosts = if a.admin_hosts.is_empty() {
        from_summary("admin_hosts")
    } else {
        a.admin_hosts
    };
    let admin_hosts = admin_hosts
        .iter()
        .map(|s| crate::pass::config::parse_net(s).map_err(Error::Usage))
        .collect::<Result<Vec<_>>>()?;
    let usage = crate::privileges::read::usage_of_events(&a.dir)?;
    let ctx = crate::privileges::Context {
        master_users,
        admin_hosts,
    };
    let (sql, md) = crate::privileges::outputs(&usage, &ctx, a.grants.as_deref())?;
    crate::sink::parquet::write_bytes_atomic(&a.dir.join("privileges.sql"), sql.as_bytes())?;
    crate::sink::parquet::write_bytes_atomic(&a.dir.join("privileges.md"), md.as_bytes())?;
    eprintln!(
        "forensics: {} users: {} and {}",
        usage.users.len(),
        a.dir.join("privileges.sql").display(),
        a.dir.join("privileges.md").display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scan_args(args: &[&str]) -> ScanArgs {
        let cli = Cli::try_parse_from(["forensics", "scan", "logs"].iter().chain(args))
            .expect("command line parses");
        match cli.command {
            Command::Scan(a) => a,
            _ => unreachable!(),
        }
    }

    /// The whole path from the command line to the pipeline's options: the config file is
    /// read once, and its keys (the clock's too) yield to flags.
    #[test]
    fn scan_options_read_the_config_once_and_flags_win() {
        let mut a = scan_args(&[
            "--config",
            "forensics.toml",
            "--utc-offset",
            "-05:00",
            "--spray-users",
            "9",
        ]);
        let reads = std::cell::Cell::new(0);
        let settings =
            Settings::resolve_with(std::mem::take(&mut a.settings), a.config.as_deref(), |p| {
                reads.set(reads.get() + 1);
                assert_eq!(p, Path::new("forensics.toml"));
                Ok(
                    "utc_offset = \"+02:00\"\ntimestamp_format = \"%Y-%m-%d %H:%M:%S\"\n\
                    spray_users = 3\nrate_floor = 50\n"
                        .into(),
                )
            })
            .unwrap();
        let opts = a.options(settings).unwrap();
        assert_eq!(reads.get(), 1);
        assert_eq!(opts.clock.offset_us, -5 * 3_600_000_000);
        assert_eq!(
            opts.clock.layout.map(|l| l.pattern()),
            Some("%Y-%m-%d %H:%M:%S")
        );
        assert_eq!(opts.analysis.spray_users, 9);
        assert_eq!(opts.analysis.rate_floor, 50);
        assert_eq!(opts.analysis.rate_window_secs, 300);
    }

    #[test]
    fn a_bad_rule_names_the_config_file() {
        let mut a = scan_args(&["--config", "rules.toml"]);
        let settings =
            Settings::resolve_with(std::mem::take(&mut a.settings), a.config.as_deref(), |_| {
                Ok("[[rule]]\nname = \"bad\"\npattern = \"{ $.a = \"\n".into())
            })
            .unwrap();
        let err = a.options(settings).expect_err("refused").to_string();
        assert!(err.starts_with("rules.toml: rule \"bad\""), "{err}");
    }

    #[test]
    fn bad_time_arguments_are_usage_errors() {
        for args in [["--since", "yesterday"], ["--until", "5q"]] {
            let err = Cli::try_parse_from(["forensics", "scan", "logs"].iter().chain(&args))
                .err()
                .expect("refused");
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains("cannot read time"), "{err}");
        }
    }
}
