//! Entry points for the fuzz targets in `fuzz/` (AFL++ through `cargo afl`) and for
//! `tests/fuzz_regressions.rs`, which replays every seed and every crash input found so far
//! without AFL. Not an API: each function takes arbitrary bytes, drives the code a scan runs
//! on them, and panics when an invariant breaks (a panic is what the fuzzer reports).
//!
//! The log targets read their first byte as a control byte and the rest as the file:
//!
//! | bits | meaning |
//! | --- | --- |
//! | 0-1 | dialect / `--format` choice (per target) |
//! | 2 | the chunk ends the input (`at_eof`) |
//! | 3 | read MySQL-family timestamps with a custom layout and a `+02:00` offset |
//! | 4-7 | where to cut the file in two chunks, in 16ths of its length (0: no cut) |
//!
//! What is checked for every input: no panic; every line is accounted for exactly once
//! (`lines = records + ignored + blank + rejected`); every reported line number lies in the
//! chunk; chunk boundaries fall at record starts, and a file cut in two chunks gives the same
//! lines (and, for the line formats, the same events) as the whole; events go through the
//! summary statistics and every analysis pass, findings included.

use std::sync::OnceLock;

use crate::event::Event;
use crate::filter::{FilterPattern, ParseOptions, TrailingFields};
use crate::format::Clock;
use crate::format::{self, cloudwatch_json, postgres_csv, Family, FileFormat, FormatChoice};
use crate::format::{Reason, RecordSink};
use crate::pass::config::{parse_net, RuleConfig};
use crate::pass::{AnalysisConfig, Evidence, FinishContext, PassSet};
use crate::settings::Settings;
use crate::stats::StatsBuilder;
use crate::time::{self, parse_duration_secs, TimeLayout};

/// A fuzz target: its name and the function run on each input.
pub type Target = (&'static str, fn(&[u8]));

/// Every target by name, as `fuzz/` and the regression test know them.
pub const TARGETS: &[Target] = &[
    ("mysql", mysql),
    ("postgres", postgres),
    ("postgres_csv", postgres_csv),
    ("cloudwatch_json", cloudwatch_json),
    ("cloudwatch_export", cloudwatch_export),
    ("cloudtrail", cloudtrail),
    ("filter", filter),
    ("config", config),
    ("time", time),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// CloudTrail in any shape (the whole input is the file): sniffing and reading never panic,
/// every unit is a record, an ignored record or a rejected unit, the records' indexes
/// increase within the units, and the control-plane detections run on what was read.
pub fn cloudtrail(data: &[u8]) {
    let _ = format::cloudtrail::sniff(data);
    let out = format::cloudtrail::parse(data, 0);
    assert_eq!(
        out.units,
        out.records() + out.ignored_total() + out.rejected.len() as u64,
        "every unit accounted for once"
    );
    let mut last = 0;
    for e in &out.events {
        assert!(
            e.index > last && e.index <= out.units,
            "record index {}",
            e.index
        );
        last = e.index;
    }
    for (index, _, _) in &out.rejected {
        assert!(*index >= 1 && *index <= out.units, "rejected index {index}");
    }
    let config = AnalysisConfig {
        control_plane: true,
        ..AnalysisConfig::default()
    };
    let files: Vec<std::sync::Arc<str>> = vec!["trail".into()];
    let ctx = crate::pass::control_plane::ControlContext {
        config: &config,
        files: &files,
        last_event_us: &[None],
        first_event_us: &[None],
        log_groups: &[None],
        run_end_us: None,
    };
    let report = crate::pass::control_plane::analyse(&out.events, &Default::default(), &ctx);
    for f in &report.findings {
        assert!(f.first_seen_us <= f.last_seen_us);
    }
}

/// MySQL family: MariaDB `server_audit`, RDS for MySQL and Aurora MySQL lines, sniffed as the
/// scan sniffs a file or forced as `--format` forces it (control bits 0-1: auto, mariadb,
/// rds-mysql, aurora-mysql).
pub fn mysql(data: &[u8]) {
    let Some((ctl, log)) = Control::split(data) else {
        return;
    };
    let choice = [
        FormatChoice::Auto,
        FormatChoice::Mariadb,
        FormatChoice::RdsMysql,
        FormatChoice::AuroraMysql,
    ][ctl.dialect()];
    let mut f = format::detect(choice, ctl.clock(), head(log)).unwrap_or(FileFormat {
        family: Family::MysqlAudit,
        cloudwatch_export: false,
        forced: None,
        clock: ctl.clock(),
    });
    if !matches!(f.family, Family::MysqlAudit | Family::AuroraAudit) {
        f.family = Family::MysqlAudit;
    }
    lines_file(&f, log, ctl);
}

/// PostgreSQL stderr logs (multi-line records, pgaudit), sniffed or forced (control bit 0).
pub fn postgres(data: &[u8]) {
    let Some((ctl, log)) = Control::split(data) else {
        return;
    };
    let choice = if ctl.dialect() & 1 == 0 {
        FormatChoice::Auto
    } else {
        FormatChoice::Postgres
    };
    let mut f = format::detect(choice, ctl.clock(), head(log)).unwrap_or(FileFormat {
        family: Family::Postgres,
        cloudwatch_export: false,
        forced: None,
        clock: ctl.clock(),
    });
    f.family = Family::Postgres;
    lines_file(&f, log, ctl);
}

/// PostgreSQL `csvlog` rows, rewritten into the stderr layout by [`postgres_csv::Arena`].
pub fn postgres_csv(data: &[u8]) {
    let Some((ctl, log)) = Control::split(data) else {
        return;
    };
    let forced = (ctl.dialect() & 1 == 1).then_some(crate::event::SourceFormat::Postgres);
    let f = FileFormat {
        family: Family::PostgresCsv,
        cloudwatch_export: false,
        forced,
        clock: Clock::default(),
    };
    let _ = format::sniff(head(log));
    let parse = |chunk: &[u8], first_line: u64, at_eof: bool| {
        let arena = postgres_csv::Arena::decode(chunk, at_eof);
        let mut sink = Check::new(first_line);
        let lines = arena.parse(f.forced, first_line, &mut sink);
        sink.finish(lines)
    };
    let whole = parse(log, 1, ctl.at_eof());
    // A csvlog row spans physical lines: the chunker cuts before a line that starts a row.
    if let Some(mid) = cut(&f, log, ctl) {
        let a = parse(&log[..mid], 1, false);
        let b = parse(&log[mid..], 1 + newlines(&log[..mid]), ctl.at_eof());
        assert_eq!(a.lines + b.lines, whole.lines, "lines of the two chunks");
    }
    stream_end(&f, log);
}

/// CloudWatch Logs JSON deliveries (`filter-log-events` pages, subscription payloads), each
/// message parsed by its own family's parser.
pub fn cloudwatch_json(data: &[u8]) {
    let Some((ctl, log)) = Control::split(data) else {
        return;
    };
    let _ = format::sniff(head(log));
    let f = FileFormat {
        family: Family::CloudwatchJson,
        cloudwatch_export: false,
        forced: None,
        clock: ctl.clock(),
    };
    let parse = |chunk: &[u8], first_line: u64, resume: &mut cloudwatch_json::Resume, at_eof| {
        let arena = cloudwatch_json::Arena::decode_from(chunk, resume, at_eof);
        // The keys the cross-file de-duplication hashes.
        let mut n = 0;
        arena.identities(|i, parts| {
            assert!(i < arena.len());
            n += parts.iter().map(|p| p.len()).sum::<usize>();
        });
        let mut sink = Check::new(first_line);
        let lines = arena.parse(f.clock, first_line, &mut sink);
        assert_eq!(lines, arena.len() as u64, "one line per CloudWatch event");
        sink.finish(lines)
    };
    let whole = parse(log, 1, &mut Default::default(), true);
    let clean = whole.bad_json == 0;
    // A streamed delivery is cut between whole documents only.
    let end = cloudwatch_json::complete_documents_end(log);
    assert!(end <= log.len());
    if clean && end > 0 && end < log.len() {
        let a = parse(&log[..end], 1, &mut Default::default(), false);
        let b = parse(&log[end..], 1 + a.lines, &mut Default::default(), true);
        assert_eq!(a.bad_json, 0, "the documents before a cut decode");
        assert_eq!(a.lines + b.lines, whole.lines, "events of the two pieces");
    }
    // A mapped delivery is cut between its events by the planning walk: its chunks, each
    // decoded from where the walk stood, number and count the events as the whole does.
    let (bounds, starts) = cloudwatch_json::plan_chunks(log, (log.len() / 4).max(1), |_, _| {});
    let mut lines = 0;
    let mut bad = 0;
    for (i, &(s, e)) in bounds.iter().enumerate() {
        let mut resume = cloudwatch_json::chunk_resume(&starts, i);
        let c = parse(
            &log[s..e],
            starts[i].line,
            &mut resume,
            i + 1 == bounds.len(),
        );
        if clean {
            assert_eq!(starts[i].line, 1 + lines, "a chunk's first event");
        }
        lines += c.lines;
        bad += c.bad_json;
    }
    if clean {
        assert_eq!(
            (lines, bad),
            (whole.lines, 0),
            "events of the planned chunks"
        );
    }
    // A stream is cut between its events too ([`format::RecordEnds`]), the walk's position
    // carried from block to block.
    let mut ends = format::RecordEnds::new(f);
    if let Some(cut) = ends.cut(&log[..log.len() / 2]).filter(|&c| c > 0) {
        let mut resume = Default::default();
        let a = parse(&log[..cut], 1, &mut resume, false);
        let b = parse(&log[cut..], 1 + a.lines, &mut resume, true);
        if clean {
            assert_eq!(a.bad_json + b.bad_json, 0, "the blocks decode");
            assert_eq!(a.lines + b.lines, whole.lines, "events of the two blocks");
        }
    }
    if log.len() >= 2 {
        assert_eq!(format::next_record_start(&f, log, log.len() / 2), log.len());
    }
}

/// The CloudWatch S3-export wrapper (`2026-03-01T12:00:00.000Z ` before each line) around the
/// MySQL family or PostgreSQL (control bits 0-1: sniffed, MariaDB/RDS, Aurora, PostgreSQL).
pub fn cloudwatch_export(data: &[u8]) {
    let Some((ctl, log)) = Control::split(data) else {
        return;
    };
    let sniffed = format::detect(FormatChoice::Auto, ctl.clock(), head(log));
    let family = match (ctl.dialect(), sniffed) {
        (0, Some(f)) if f.family != Family::CloudwatchJson && f.family != Family::PostgresCsv => {
            f.family
        }
        (0 | 1, _) => Family::MysqlAudit,
        (2, _) => Family::AuroraAudit,
        _ => Family::Postgres,
    };
    let f = FileFormat {
        family,
        cloudwatch_export: true,
        forced: None,
        clock: ctl.clock(),
    };
    // Every line's prefix, as sniffing and the parsers read it.
    for line in log.split(|&b| b == b'\n') {
        if let Some((us, n)) = time::parse_cloudwatch_prefix(line) {
            assert!(n <= line.len() && line[n - 1] == b' ');
            if let Ok(us) = us {
                let _ = time::rfc3339(us);
            }
        }
    }
    lines_file(&f, log, ctl);
}

/// A CloudWatch filter pattern and a message to evaluate it on: the first line of the input
/// (after the control byte) is the pattern, the rest the message. Control bit 0 reads bare
/// terms strictly, bit 1 makes extra space-delimited fields a mismatch.
pub fn filter(data: &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let (pattern, message) = match memchr::memchr(b'\n', rest) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b""[..]),
    };
    let pattern = String::from_utf8_lossy(pattern);
    let message = String::from_utf8_lossy(message);
    let options = ParseOptions {
        strict_bare_terms: ctl & 1 == 1,
        trailing_fields: if ctl & 2 == 2 {
            TrailingFields::NoMatch
        } else {
            TrailingFields::FoldIntoLast
        },
    };
    let p = match FilterPattern::parse_with(&pattern, options) {
        Ok(p) => p,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(p.as_str(), pattern, "a pattern keeps its text");
    let _ = (p.kind(), p.diagnostics().len());
    let matched = p.matches(&message);
    assert_eq!(matched, p.matches(&message), "evaluation is deterministic");
    if let Some(lit) = p.required_literal() {
        assert!(!lit.is_empty(), "an empty required literal");
        if matched {
            assert!(
                memchr::memmem::find(message.as_bytes(), lit).is_some(),
                "a match lacks the literal {:?} required for it",
                String::from_utf8_lossy(lit)
            );
        }
    }
    // Each line alone, as the scan evaluates a rule on each event's message.
    for line in message.lines().take(8) {
        let m = p.matches(line);
        if let (true, Some(lit)) = (m, p.required_literal()) {
            assert!(memchr::memmem::find(line.as_bytes(), lit).is_some());
        }
    }
    // As a custom rule: compiled by the config, run by the rules pass on a parsed event.
    if !options.strict_bare_terms {
        let mut cfg = AnalysisConfig::default();
        cfg.rules.push(RuleConfig {
            name: "fuzz".into(),
            pattern: pattern.into_owned(),
            severity: crate::finding::Severity::Medium,
        });
        cfg.compile_rules()
            .expect("a pattern that parses compiles as a rule");
        run_passes(&cfg, SAMPLE_LOG);
    }
}

/// The TOML config file (`--config`): parsed, applied over the defaults, its rules compiled,
/// its clock keys read, and then a small built-in log scanned with it.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The config file as a scan reads it: one read, merged with no flags.
    let Ok(settings) = Settings::resolve_with(
        Default::default(),
        Some(std::path::Path::new("fuzz.toml")),
        |_| Ok(text.to_string()),
    ) else {
        return;
    };
    if let Some(layout) = &settings.timestamp_format {
        let _ = layout.read(b"2026-03-01 21:34:56,db,u,h,1,2,QUERY,d,'x',0");
    }
    let us = settings.utc_offset.0;
    assert!(us.abs() <= 14 * 3_600_000_000 + 59 * 60_000_000);
    let _ = time::offset_string(us);
    let Ok(cfg) = settings.analysis() else {
        return;
    };
    run_passes(&cfg, SAMPLE_LOG);
}

/// The time forms: the first line is read as `--since`/`--until`, `--utc-offset`, a duration
/// key of the config file and a `--timestamp-format` layout; the second as a timestamp in
/// each layout the parsers read (MariaDB compact, PostgreSQL `%t`, the CloudWatch export
/// prefix, Aurora epoch microseconds, and the custom layout when the first line is one).
pub fn time(data: &[u8]) {
    let (arg, field) = match memchr::memchr(b'\n', data) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let arg = String::from_utf8_lossy(arg);
    let now = chrono::DateTime::from_timestamp(1_772_368_496, 0).expect("a valid time");
    if let Ok(us) = time::parse_time_arg(&arg, now) {
        round_trip(us);
    }
    if let Ok(us) = time::parse_utc_offset(&arg) {
        assert!(us.abs() < 86_400_000_000, "an offset under a day");
        let s = time::offset_string(us);
        assert_eq!(time::parse_utc_offset(&s), Ok(us), "{s}");
    }
    if let Some(secs) = parse_duration_secs(&arg) {
        assert!(secs >= 0);
    }
    let _ = parse_net(&arg);
    let layout = TimeLayout::new(&arg).ok();
    for f in [field, field.split(|&b| b == b'\n').next().unwrap_or(b"")] {
        for us in [
            time::parse_compact(f).ok(),
            time::parse_iso_space(f).ok(),
            time::parse_cloudwatch_prefix(f).and_then(|(us, _)| us.ok()),
            time::parse_epoch_us(f),
            format::postgres::line_time(f),
        ]
        .into_iter()
        .flatten()
        {
            round_trip(us);
        }
        if let Some(l) = &layout {
            let _ = l.split(f);
            if let Ok((us, _)) = l.read(f) {
                round_trip(us);
            }
        }
    }
}

/// A time the parsers produced survives the summary's RFC 3339 and reads back the same.
fn round_trip(us: i64) {
    let day = time::day_of(us);
    let _ = time::date_string(day);
    let s = time::rfc3339(us);
    // RFC 3339 has years 0000-9999 only; outside them the summary's text is not one.
    if s.as_bytes().first().is_some_and(u8::is_ascii_digit) && s.as_bytes().get(4) == Some(&b'-') {
        let now = chrono::DateTime::from_timestamp(0, 0).expect("a valid time");
        assert_eq!(time::parse_time_arg(&s, now), Ok(us), "{s}");
    }
}

/// The control byte of the log targets (see the module docs).
#[derive(Clone, Copy)]
struct Control(u8);

impl Control {
    fn split(data: &[u8]) -> Option<(Control, &[u8])> {
        let (&c, rest) = data.split_first()?;
        Some((Control(c), rest))
    }
    fn dialect(self) -> usize {
        usize::from(self.0 & 3)
    }
    fn at_eof(self) -> bool {
        self.0 & 4 != 0
    }
    fn clock(self) -> Clock {
        if self.0 & 8 == 0 {
            return Clock::default();
        }
        static LAYOUT: OnceLock<TimeLayout> = OnceLock::new();
        let layout =
            LAYOUT.get_or_init(|| TimeLayout::new("%Y-%m-%d %H:%M:%S").expect("a valid layout"));
        Clock {
            layout: Some(layout),
            offset_us: 7_200_000_000,
            ..Clock::default()
        }
    }
    /// Where to cut, in 16ths of the length.
    fn cut(self) -> usize {
        usize::from(self.0 >> 4)
    }
}

/// The bytes the scan sniffs a file's format from.
fn head(log: &[u8]) -> &[u8] {
    &log[..log.len().min(64 << 10)]
}

fn newlines(b: &[u8]) -> u64 {
    bytecount::count(b, b'\n') as u64
}

/// The chunk boundary the planner puts at or after the control byte's cut point, when it
/// falls inside the file; checked to be a line start.
fn cut(f: &FileFormat, log: &[u8], ctl: Control) -> Option<usize> {
    if ctl.cut() == 0 || log.is_empty() {
        return None;
    }
    let pos = log.len() * ctl.cut() / 16;
    let mid = format::next_record_start(f, log, pos);
    assert!(
        mid >= pos.min(log.len()) && mid <= log.len(),
        "boundary out of range"
    );
    assert!(
        mid == 0 || mid == log.len() || log[mid - 1] == b'\n',
        "boundary inside a line"
    );
    (mid > 0 && mid < log.len()).then_some(mid)
}

/// Where a streamed input keeps its tail for the next block: after a newline, in range.
fn stream_end(f: &FileFormat, log: &[u8]) {
    if let Some(end) = format::last_record_end(f, log) {
        assert!(end <= log.len(), "record end out of range");
        assert!(
            end == 0 || log[end - 1] == b'\n',
            "record end inside a line"
        );
    }
}

/// A line-oriented file (MySQL family, PostgreSQL stderr), parsed whole and in two chunks.
fn lines_file(f: &FileFormat, log: &[u8], ctl: Control) {
    let parse = |chunk: &[u8], first_line: u64, at_eof: bool| {
        let mut sink = Check::new(first_line);
        let lines = format::parse_chunk(f, chunk, first_line, at_eof, &mut sink);
        assert_eq!(
            lines,
            newlines(chunk) + u64::from(chunk.last().is_some_and(|&b| b != b'\n')),
            "lines of a chunk"
        );
        sink.finish(lines)
    };
    let whole = parse(log, 1, ctl.at_eof());
    if let Some(mid) = cut(f, log, ctl) {
        let a = parse(&log[..mid], 1, false);
        let b = parse(&log[mid..], 1 + newlines(&log[..mid]), ctl.at_eof());
        assert_eq!(a.lines + b.lines, whole.lines, "lines of the two chunks");
        let mut events = a.events;
        events.extend(b.events);
        assert_eq!(events, whole.events, "events of the two chunks");
    }
    stream_end(f, log);
    if let Ok(e) = format::parse_line(log.split(|&b| b == b'\n').next().unwrap_or(b"")) {
        round_trip(e.time_us);
    }
}

/// What a chunk gave, for comparing a cut file with the whole.
struct Outcome {
    lines: u64,
    bad_json: u64,
    /// Line, time and operation of each event.
    events: Vec<(u64, i64, &'static str)>,
}

/// The sink a fuzzed chunk reports to: checks each report, and feeds the events to the
/// summary statistics and the analysis passes as the scan does.
struct Check<'a> {
    first_line: u64,
    /// Highest line number reported.
    max_line: u64,
    records: u64,
    blank: u64,
    rejected: u64,
    ignored: u64,
    bad_json: u64,
    events: Vec<(u64, i64, &'static str)>,
    stats: StatsBuilder<'a>,
    passes: PassSet,
}

fn analysis() -> &'static AnalysisConfig {
    static CONFIG: OnceLock<AnalysisConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let mut cfg = AnalysisConfig::default();
        let rules = [
            ("drop", "%DROP\\s+TABLE%"),
            ("grant", "GRANT -rdsadmin"),
            ("fields", "[ts, host, user=admin*, ...]"),
            ("json", "{ $.user = \"admin\" }"),
        ];
        for (name, pattern) in rules {
            cfg.rules.push(RuleConfig {
                name: name.into(),
                pattern: pattern.into(),
                severity: crate::finding::Severity::High,
            });
        }
        cfg.brute_force_threshold = 2;
        cfg.spray_users = 2;
        cfg.rate_floor = 2;
        cfg.compile_rules().expect("valid built-in rules");
        cfg
    })
}

impl<'a> Check<'a> {
    fn new(first_line: u64) -> Self {
        Check {
            first_line,
            max_line: 0,
            records: 0,
            blank: 0,
            rejected: 0,
            ignored: 0,
            bad_json: 0,
            events: Vec::new(),
            stats: StatsBuilder::default(),
            passes: PassSet::new(analysis()),
        }
    }

    fn line(&mut self, line: u64) {
        assert!(line >= self.first_line, "line {line} before the chunk");
        self.max_line = self.max_line.max(line);
    }

    fn finish(self, lines: u64) -> Outcome {
        assert_eq!(
            self.records + self.ignored + self.blank + self.rejected,
            lines,
            "lines = records + ignored + blank + rejected"
        );
        assert!(
            self.max_line < self.first_line + lines.max(1),
            "line {} past the chunk's {lines} lines",
            self.max_line
        );
        let stats = self.stats.finish();
        assert_eq!(stats.records, self.records);
        assert_eq!(stats.rejected, self.rejected);
        let files = [std::sync::Arc::<str>::from("fuzz.log")];
        let ctx = FinishContext {
            config: analysis(),
            files: &files,
        };
        for f in self.passes.finish(&ctx) {
            let _ = (f.kind.len(), f.severity.as_str());
        }
        Outcome {
            lines,
            bad_json: self.bad_json,
            events: self.events,
        }
    }
}

impl<'a> RecordSink<'a> for Check<'a> {
    fn event(&mut self, event: Event<'a>, message: &'a [u8]) {
        self.line(event.line);
        self.records += 1;
        self.events
            .push((event.line, event.time_us, event.operation.as_str()));
        let _ = time::date_string(time::day_of(event.time_us));
        let _ = time::rfc3339(event.time_us);
        let _ = crate::event::client_ip(event.client_host);
        let _ = event.object.to_cow();
        self.stats.event(&event);
        let evidence = Evidence::at(0, event.line);
        self.passes.observe(&event, evidence, message);
    }

    fn blank(&mut self, line: u64) {
        self.line(line);
        self.blank += 1;
    }

    fn rejected(&mut self, line: u64, reason: Reason, text: &'a [u8]) {
        self.line(line);
        self.rejected += 1;
        if reason == Reason::BadJson {
            self.bad_json += 1;
        }
        let _ = reason.as_str();
        self.stats.rejected(line, reason, text);
    }

    fn ignored(&mut self, lines: u64) {
        self.ignored += lines;
    }
}

/// A few events of each family, for the targets that fuzz the settings rather than the log.
const SAMPLE_LOG: &[u8] = b"\
20230501 10:02:19,db1,admin,203.0.113.9,12,0,CONNECT,mysql,,0
20230501 10:02:20,db1,admin,203.0.113.9,13,0,FAILED_CONNECT,,,1045
20230501 10:02:21,db1,admin,203.0.113.9,14,0,FAILED_CONNECT,,,1045
20230501 10:02:22,db1,bob,203.0.113.9,15,0,FAILED_CONNECT,,,1045
20230501 10:02:23,db1,admin,203.0.113.9,12,7,QUERY,test,'DROP TABLE t',0
20230501 10:02:24,db1,admin,10.0.0.5,12,8,QUERY,orders,'GRANT ALL ON *.* TO x',0
1653053459680124,c731,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0
2025-02-03 08:00:01 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  connection authorized: user=app database=orders
2025-02-03 08:00:02 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  AUDIT: SESSION,1,1,DDL,DROP TABLE,,,drop table t,<not logged>
";

/// Scans [`SAMPLE_LOG`] with `cfg`: every line through its family's parser and every pass.
fn run_passes(cfg: &AnalysisConfig, log: &[u8]) {
    struct Feed<'c> {
        passes: PassSet,
        _cfg: &'c AnalysisConfig,
    }
    impl<'a> RecordSink<'a> for Feed<'_> {
        fn event(&mut self, event: Event<'a>, message: &'a [u8]) {
            let evidence = Evidence::at(0, event.line);
            self.passes.observe(&event, evidence, message);
        }
        fn blank(&mut self, _line: u64) {}
        fn rejected(&mut self, _line: u64, _reason: Reason, _text: &'a [u8]) {}
    }
    let mut feed = Feed {
        passes: PassSet::new(cfg),
        _cfg: cfg,
    };
    for (i, line) in log.split(|&b| b == b'\n').enumerate() {
        let Some(f) = format::sniff(line) else {
            continue;
        };
        let f = FileFormat {
            clock: Clock::default(),
            ..f
        };
        format::parse_chunk(&f, line, i as u64 + 1, true, &mut feed);
    }
    let files = [std::sync::Arc::<str>::from("fuzz.log")];
    let ctx = FinishContext {
        config: cfg,
        files: &files,
    };
    let _ = feed.passes.finish(&ctx);
}
