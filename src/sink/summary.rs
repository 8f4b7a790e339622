//! The run summary: one serialisable value, rendered three ways (`summary.json` for machines,
//! `summary.md` for people, and the terminal).
//!
//! The terminal shows untrusted log content (user names, hosts, query excerpts), so every
//! string from a log passes through [`escape_terminal`]: a crafted query cannot move the
//! cursor, change colours or rewrite the screen.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::finding::{Finding, Severity};
use crate::time::rfc3339;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub version: String,
    pub config: ConfigSummary,
    pub inputs: Vec<InputSummary>,
    pub totals: Totals,
    pub findings_by_kind: BTreeMap<String, u64>,
    pub findings_by_severity: BTreeMap<String, u64>,
    pub top_findings: Vec<FindingSummary>,
    pub timeline: Vec<FindingSummary>,
    pub top_users: Vec<Count>,
    pub top_sources: Vec<Count>,
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub rejected_samples: Vec<crate::stats::RejectedSample>,
    pub outputs: Outputs,
    pub throughput: Throughput,
    /// The control plane, when the run read CloudTrail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<ControlSummary>,
    /// This scan's share of the inputs under `--shard I/N`; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardSummary>,
}

/// What the run read of CloudTrail, and which database logs it could tie to an instance.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ControlSummary {
    /// CloudTrail files read (digests are skipped and listed among the inputs).
    pub files: u64,
    /// Records about databases, written to `control/` (after de-duplication by event id).
    pub events: u64,
    /// Records delivered twice (the same `eventID` through two paths), kept once.
    pub duplicates: u64,
    /// Records about other services, by `eventSource`.
    pub ignored_by_service: BTreeMap<String, u64>,
    pub files_written: Vec<String>,
    /// Database log files tied to an instance or cluster, and how.
    pub instances: Vec<crate::pass::control_plane::InstanceOf>,
    /// Database log files tied to no instance: the joins with the trail skip them.
    pub unidentified_files: Vec<String>,
    /// What could not be told, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The estate's accounts (`--aws-account`) and the correlation window the joins used.
    pub aws_accounts: Vec<String>,
    pub correlation_window_secs: i64,
}

/// A sharded scan's share (`--shard I/N`): which shard, and its files and bytes out of all
/// the inputs the N scans deal out between them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ShardSummary {
    /// `I-of-N`, as the output folder (`shard=I-of-N`) and part names carry it.
    pub shard: String,
    pub index: u32,
    pub count: u32,
    pub files: u64,
    pub bytes: u64,
    pub files_all: u64,
    pub bytes_all: u64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ConfigSummary {
    pub allow: Vec<String>,
    pub allow_is_default: bool,
    pub master_users: Vec<String>,
    pub master_users_are_default: bool,
    pub admin_hosts: Vec<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub format: String,
    /// `--timestamp-format`, if given.
    pub timestamp_format: Option<String>,
    /// The UTC offset zone-less plugin timestamps were read at (`+00:00` unless overridden).
    pub utc_offset: String,
    pub rules: Vec<String>,
    pub thresholds: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct InputSummary {
    /// The path as given or found; a name that is not valid UTF-8 is shown with U+FFFD in
    /// place of its bad bytes (as `events.source_file` and `findings.evidence` have it).
    pub path: String,
    /// Only for a path that is not valid UTF-8: its exact bytes, base64 (standard alphabet,
    /// padded), as ripgrep's `--json` gives such a path (`{"bytes": ...}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<String>,
    pub format: Option<String>,
    pub compression: Option<String>,
    pub bytes: u64,
    pub sha256: Option<String>,
    /// Whether `sha256` stands for the file as it is: false for a file that changed while it
    /// was read (the digest is of the bytes read then, not of a stable file). Present with
    /// `sha256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256_stable: Option<bool>,
    pub lines: u64,
    pub records: u64,
    pub rejected: u64,
    /// Events left out as repeats of an earlier export file's.
    pub duplicates: u64,
    /// Records over the record limit, kept as events with their text cut (among `records`).
    pub truncated: u64,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    /// Bytes handed to the parser (of the decompressed text, for a compressed input).
    pub bytes_parsed: u64,
    /// Bytes outside the time window, found without parsing them: only hashed and counted
    /// (their lines are `filtered`). With `bytes_parsed`, all the bytes read (the file, or
    /// its decompressed text; the SHA-256 is always of the whole file as stored).
    pub bytes_hashed_only: u64,
    /// `ok`, `skipped` (not a log, not a regular file, a symlink loop, or a second path to a
    /// file read under another; see `reason`) or `error` (see `message`, and `reason` for a
    /// path that could not be examined: dangling symlink, permission denied).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl InputSummary {
    /// A path found among the inputs that is not read (see [`crate::input::discover`]).
    pub(crate) fn unread(e: &crate::input::DiscoverError) -> InputSummary {
        InputSummary {
            path: e.path.to_string_lossy().into_owned(),
            path_bytes: path_bytes(&e.path),
            format: None,
            compression: None,
            bytes: 0,
            sha256: None,
            sha256_stable: None,
            lines: 0,
            records: 0,
            rejected: 0,
            duplicates: 0,
            truncated: 0,
            bytes_parsed: 0,
            bytes_hashed_only: 0,
            first_event: None,
            last_event: None,
            status: e.status.as_str().to_string(),
            reason: Some(e.reason.clone()),
            message: e.message.clone(),
        }
    }
}

/// `path`'s bytes in base64 when it is not valid UTF-8 (its string form then loses them).
pub fn path_bytes(path: &std::path::Path) -> Option<String> {
    let bytes = path.as_os_str().as_encoded_bytes();
    std::str::from_utf8(bytes).is_err().then(|| base64(bytes))
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Totals {
    pub files: u64,
    pub files_ok: u64,
    pub files_skipped: u64,
    pub files_error: u64,
    pub bytes: u64,
    pub lines: u64,
    pub records: u64,
    pub ignored: u64,
    pub blank: u64,
    pub rejected: u64,
    /// Parsed events outside `--since`/`--until`, left out of every output.
    pub filtered: u64,
    /// Events an earlier CloudWatch export file already delivered, left out likewise:
    /// `lines = records + ignored + blank + rejected + filtered + duplicates`.
    pub duplicates: u64,
    /// Records over the record limit (`--max-record-bytes`), kept as events with their text
    /// cut at the limit: a part of `records`.
    pub truncated: u64,
    /// Bytes handed to the parsers (see `inputs[].bytes_parsed`).
    pub bytes_parsed: u64,
    /// Bytes outside the time window only hashed and counted, never parsed.
    pub bytes_hashed_only: u64,
    pub operations: BTreeMap<String, u64>,
    pub sessions: u64,
    pub tls_known: u64,
    pub tls_unknown: u64,
    pub tls_encrypted: u64,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Count {
    pub name: String,
    pub events: u64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct FindingSummary {
    pub kind: String,
    pub severity: Severity,
    pub first_seen: String,
    pub user: Option<String>,
    pub client_ip: Option<String>,
    pub count: i64,
    pub detail: String,
    pub evidence: String,
}

impl From<&Finding> for FindingSummary {
    fn from(f: &Finding) -> Self {
        FindingSummary {
            kind: f.kind.clone(),
            severity: f.severity,
            first_seen: rfc3339(f.first_seen_us),
            user: f.user.clone(),
            client_ip: f.client_ip.clone(),
            count: f.count,
            detail: f.detail.clone(),
            evidence: f.evidence.clone(),
        }
    }
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Outputs {
    pub dir: String,
    pub event_files: Vec<String>,
    pub event_rows: u64,
    /// Rows of `sessions.parquet`.
    pub sessions: u64,
    pub findings: u64,
    /// Outputs that could not be written (a full disk, an I/O error), each left out whole;
    /// empty after a normal run.
    pub errors: Vec<OutputError>,
}

/// An output that could not be written, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OutputError {
    /// The output left out: `events`, `findings.parquet`, `summary.md`.
    pub output: String,
    /// The file whose write failed, relative to the output folder.
    pub path: String,
    /// The error, as the operating system gave it (`No space left on device (os error 28)`).
    pub error: String,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Throughput {
    pub seconds: f64,
    pub bytes_per_second: f64,
    pub records_per_second: f64,
    pub threads: usize,
}

/// The findings shown in the summary: most severe first, then earliest.
pub(crate) fn top_findings(findings: &[Finding], n: usize) -> Vec<FindingSummary> {
    let mut v: Vec<&Finding> = findings.iter().collect();
    v.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.first_seen_us.cmp(&b.first_seen_us))
    });
    v.into_iter().take(n).map(FindingSummary::from).collect()
}

/// A short incident timeline: findings of medium severity and above, in time order.
pub(crate) fn timeline(findings: &[Finding], n: usize) -> Vec<FindingSummary> {
    let mut v: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
        .collect();
    v.sort_by(|a, b| {
        a.first_seen_us
            .cmp(&b.first_seen_us)
            .then(b.severity.cmp(&a.severity))
    });
    v.into_iter().take(n).map(FindingSummary::from).collect()
}

/// Makes untrusted text safe to print on a terminal: control characters (C0, DEL, C1, and
/// the bidi overrides) become visible escapes.
pub(crate) fn escape_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f || (0x80..0xa0).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Markdown cells: escape pipes and control characters, keep it on one line.
fn md(s: &str) -> String {
    escape_terminal(s).replace('|', "\\|").replace('`', "\\`")
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

fn human_bytes(b: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

impl Summary {
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("summary serialises") + "\n"
    }

    pub(crate) fn to_markdown(&self) -> String {
        let t = &self.totals;
        let mut s = String::new();
        let _ = writeln!(s, "# forensics scan summary\n");
        let _ = writeln!(
            s,
            "{} events from {} files ({}), {} to {}.\n",
            t.records,
            t.files,
            human_bytes(t.bytes),
            opt(&t.first_event),
            opt(&t.last_event)
        );
        if let Some(sh) = &self.shard {
            let _ = writeln!(
                s,
                "Shard {} of a sharded scan: {} of {} files ({} of {}). Its findings see this \
                 share only; the SQL over every shard's events (`forensics sql`) sees all.\n",
                sh.shard,
                sh.files,
                sh.files_all,
                human_bytes(sh.bytes),
                human_bytes(sh.bytes_all)
            );
        }
        let _ = writeln!(s, "## Expected\n");
        let c = &self.config;
        let _ = writeln!(
            s,
            "- networks: {}{}",
            c.allow.join(", "),
            if c.allow_is_default {
                " (default: private ranges; pass --allow)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "- master users: {}{}",
            c.master_users.join(", "),
            if c.master_users_are_default {
                " (default RDS names; pass --master-user)"
            } else {
                ""
            }
        );
        if let Some(f) = &c.timestamp_format {
            let _ = writeln!(s, "- MariaDB timestamp format: `{}`", f.replace('`', "'"));
        }
        if c.utc_offset != "+00:00" {
            let _ = writeln!(s, "- plugin timestamps read at UTC{}", c.utc_offset);
        }
        let _ = writeln!(
            s,
            "- admin hosts: {}\n",
            if c.admin_hosts.is_empty() {
                "none".into()
            } else {
                c.admin_hosts.join(", ")
            }
        );

        let _ = writeln!(s, "## Findings\n");
        if self.findings_by_kind.is_empty() {
            let _ = writeln!(s, "No findings.\n");
        } else {
            let _ = writeln!(s, "| severity | count |\n| --- | ---: |");
            for sev in Severity::ALL.iter().rev() {
                if let Some(n) = self.findings_by_severity.get(sev.as_str()) {
                    let _ = writeln!(s, "| {} | {n} |", sev.as_str());
                }
            }
            let _ = writeln!(s, "\n| kind | count |\n| --- | ---: |");
            for (k, n) in &self.findings_by_kind {
                let _ = writeln!(s, "| {} | {n} |", md(k));
            }
            let _ = writeln!(s, "\n### Top findings\n\n| severity | kind | user | source | detail | evidence |\n| --- | --- | --- | --- | --- | --- |");
            for f in &self.top_findings {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} |",
                    f.severity.as_str(),
                    md(&f.kind),
                    md(opt(&f.user)),
                    md(opt(&f.client_ip)),
                    md(&f.detail),
                    md(&f.evidence)
                );
            }
            let _ = writeln!(s, "\n### Timeline\n\n| first seen | severity | kind | detail |\n| --- | --- | --- | --- |");
            for f in &self.timeline {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    f.first_seen,
                    f.severity.as_str(),
                    md(&f.kind),
                    md(&f.detail)
                );
            }
            let _ = writeln!(s);
        }

        if let Some(c) = &self.control {
            let _ = writeln!(s, "## Control plane (CloudTrail)\n");
            let _ = writeln!(
                s,
                "{} records about databases from {} CloudTrail files (records delivered twice, kept once: {}); records about other services, ignored:\n",
                c.events, c.files, c.duplicates
            );
            if c.ignored_by_service.is_empty() {
                let _ = writeln!(s, "none.\n");
            } else {
                let _ = writeln!(s, "| service | records |\n| --- | ---: |");
                for (k, n) in &c.ignored_by_service {
                    let _ = writeln!(s, "| {} | {n} |", md(k));
                }
                let _ = writeln!(s);
            }
            if !c.instances.is_empty() {
                let _ = writeln!(
                    s,
                    "| database log | instance | told by |\n| --- | --- | --- |"
                );
                for i in &c.instances {
                    let _ = writeln!(
                        s,
                        "| {}{} | {} | {} |",
                        md(&i.file),
                        i.server_host
                            .as_deref()
                            .map(|h| format!(" ({})", md(h)))
                            .unwrap_or_default(),
                        md(&i.instance),
                        i.how
                    );
                }
                let _ = writeln!(s);
            }
            if let Some(n) = &c.note {
                let _ = writeln!(s, "{}\n", md(n));
            }
            let _ = writeln!(
                s,
                "Accounts of the estate: {}; changes joined with the logs within {} s.\n",
                if c.aws_accounts.is_empty() {
                    "none given (--aws-account): only the trail's own account is".to_string()
                } else {
                    c.aws_accounts.join(", ")
                },
                c.correlation_window_secs
            );
        }

        let _ = writeln!(s, "## Lines\n");
        let _ = writeln!(
            s,
            "| lines | records | ignored | blank | rejected | outside time window | duplicates of earlier exports |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n| {} | {} | {} | {} | {} | {} | {} |\n",
            t.lines, t.records, t.ignored, t.blank, t.rejected, t.filtered, t.duplicates
        );
        if t.bytes_hashed_only > 0 {
            let _ = writeln!(
                s,
                "{} bytes lay outside the time window and were only hashed and counted (their lines are outside the time window, unparsed); {} bytes were parsed.\n",
                t.bytes_hashed_only, t.bytes_parsed
            );
        }
        if t.truncated > 0 {
            let _ = writeln!(
                s,
                "{} records were longer than the record limit: they are kept as events with their text cut at the limit (`--max-record-bytes`).\n",
                t.truncated
            );
        }
        let _ = writeln!(s, "| operation | events |\n| --- | ---: |");
        for (op, n) in &t.operations {
            let _ = writeln!(s, "| {op} | {n} |");
        }
        let _ = writeln!(
            s,
            "\nSessions: {} ({} with TLS known, {} encrypted; {} unknown).\n",
            t.sessions, t.tls_known, t.tls_encrypted, t.tls_unknown
        );
        let _ = writeln!(s, "## Top users\n\n| user | events |\n| --- | ---: |");
        for u in &self.top_users {
            let _ = writeln!(s, "| {} | {} |", md(&u.name), u.events);
        }
        let _ = writeln!(s, "\n## Top sources\n\n| source | events |\n| --- | ---: |");
        for u in &self.top_sources {
            let _ = writeln!(s, "| {} | {} |", md(&u.name), u.events);
        }
        let _ = writeln!(s, "\n## Inputs\n\n| path | format | bytes | records | rejected | first event | last event | status | sha256 |\n| --- | --- | ---: | ---: | ---: | --- | --- | --- | --- |");
        for i in &self.inputs {
            let status = match (&i.reason, &i.message) {
                (Some(r), _) => format!("{}: {}", i.status, r),
                (_, Some(m)) => format!("{}: {}", i.status, m),
                _ => i.status.clone(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                md(&i.path),
                opt(&i.format),
                i.bytes,
                i.records,
                i.rejected,
                opt(&i.first_event),
                opt(&i.last_event),
                md(&status),
                opt(&i.sha256)
            );
        }
        if !self.rejected_samples.is_empty() {
            let _ = writeln!(s, "\n## Rejected lines (samples)\n\n| file:line | reason | excerpt |\n| --- | --- | --- |");
            for r in &self.rejected_samples {
                let _ = writeln!(
                    s,
                    "| {}:{} | {} | `{}` |",
                    md(&r.file),
                    r.line,
                    r.reason,
                    md(&r.excerpt)
                );
            }
        }
        if !self.outputs.errors.is_empty() {
            let _ = writeln!(
                s,
                "\n## Outputs not written\n\n| output | file | error |\n| --- | --- | --- |"
            );
            for e in &self.outputs.errors {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} |",
                    md(&e.output),
                    md(&e.path),
                    md(&e.error)
                );
            }
        }
        let th = &self.throughput;
        let _ = writeln!(
            s,
            "\n## Throughput\n\n{:.2} s, {}/s, {:.0} records/s, {} threads.",
            th.seconds,
            human_bytes(th.bytes_per_second as u64),
            th.records_per_second,
            th.threads
        );
        s
    }

    /// The terminal summary (plain text; log content escaped).
    pub(crate) fn to_terminal(&self) -> String {
        let t = &self.totals;
        let th = &self.throughput;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "scanned {} files, {} in {:.2} s ({}/s): {} events, {} rejected, {} blank lines",
            t.files,
            human_bytes(t.bytes),
            th.seconds,
            human_bytes(th.bytes_per_second as u64),
            t.records,
            t.rejected,
            t.blank
        );
        if t.duplicates > 0 {
            let _ = writeln!(
                s,
                "{} events left out as repeats of an earlier CloudWatch export file (--keep-duplicates keeps them)",
                t.duplicates
            );
        }
        if t.truncated > 0 {
            let _ = writeln!(
                s,
                "{} records over the record limit kept with their text cut (--max-record-bytes)",
                t.truncated
            );
        }
        if t.first_event.is_some() {
            let _ = writeln!(
                s,
                "time range: {} .. {}",
                opt(&t.first_event),
                opt(&t.last_event)
            );
        }
        if t.sessions > 0 {
            let _ = writeln!(
                s,
                "sessions: {} ({} with TLS known: {} encrypted, {} not; {} the log cannot tell)",
                t.sessions,
                t.tls_known,
                t.tls_encrypted,
                t.tls_known - t.tls_encrypted,
                t.tls_unknown
            );
        }
        if t.files_skipped + t.files_error > 0 {
            let _ = writeln!(
                s,
                "files: {} ok, {} skipped, {} with errors",
                t.files_ok, t.files_skipped, t.files_error
            );
            for i in self.inputs.iter().filter(|i| i.status != "ok") {
                let why = i.reason.as_deref().or(i.message.as_deref()).unwrap_or("");
                let _ = writeln!(
                    s,
                    "  {} {}: {}",
                    i.status,
                    escape_terminal(&i.path),
                    escape_terminal(why)
                );
            }
        }
        if self.config.allow_is_default {
            let _ = writeln!(
                s,
                "note: no --allow given; expected networks default to the private ranges"
            );
        }
        if self.config.master_users_are_default {
            let _ = writeln!(
                s,
                "note: no --master-user given; assuming the RDS defaults admin, postgres"
            );
        }
        let total: u64 = self.findings_by_severity.values().sum();
        if total == 0 {
            let _ = writeln!(s, "findings: none");
        } else {
            let by: Vec<String> = Severity::ALL
                .iter()
                .rev()
                .filter_map(|sev| {
                    self.findings_by_severity
                        .get(sev.as_str())
                        .map(|n| format!("{n} {}", sev.as_str()))
                })
                .collect();
            let _ = writeln!(s, "findings: {total} ({})", by.join(", "));
            for f in self.top_findings.iter().take(10) {
                let _ = writeln!(
                    s,
                    "  [{:8}] {:20} {}  ({})",
                    f.severity.as_str(),
                    escape_terminal(&f.kind),
                    escape_terminal(&f.detail),
                    escape_terminal(&f.evidence)
                );
            }
        }
        for r in self.rejected_samples.iter().take(5) {
            let _ = writeln!(
                s,
                "  rejected {}:{}: {}",
                escape_terminal(&r.file),
                r.line,
                r.reason
            );
        }
        let _ = writeln!(s, "output: {}", escape_terminal(&self.outputs.dir));
        for e in &self.outputs.errors {
            let _ = writeln!(
                s,
                "  not written: {} ({}: {})",
                escape_terminal(&e.output),
                escape_terminal(&e.path),
                escape_terminal(&e.error)
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_terminal_neutralises_escape_sequences() {
        let evil = "DROP\u{1b}[2J\u{1b}]0;pwned\u{7}\r\u{9b}31m\u{202e}x";
        let out = escape_terminal(evil);
        assert!(!out.chars().any(|c| c.is_control()), "{out:?}");
        assert!(out.contains("\\x1b[2J"));
        assert!(out.contains("\\u{202e}"));
        assert_eq!(escape_terminal("héllo 東京"), "héllo 東京");
    }

    #[test]
    fn path_bytes_are_base64_only_for_names_that_are_not_utf8() {
        for (input, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\xff\xfe\x00?>", "//4APz4="),
        ] {
            assert_eq!(base64(input), want);
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let p = std::path::Path::new(std::ffi::OsStr::from_bytes(b"in/caf\xe9.log"));
            assert_eq!(path_bytes(p).as_deref(), Some("aW4vY2Fm6S5sb2c="));
            assert_eq!(path_bytes(std::path::Path::new("in/café.log")), None);
        }
    }
}
