//! `report.html`: one self-contained page a responder can read, print and attach to a
//! ticket. No network request: the styles, the script and the charts (SVG drawn here from
//! numbers) are inside the file.
//!
//! The page comes from one minijinja template (`report.html` beside this file) with HTML
//! auto-escaping on, so every log-derived string (user names, hosts, queries, paths) is
//! escaped where it is printed; the charts carry numbers only. The one piece of data the
//! script reads is embedded as JSON in a `<script type="application/json">` element, written
//! by [`script_json`], which escapes `<`, `>`, `&` and the line separators so no value can
//! close the element.

use std::collections::BTreeMap;

use crate::finding::{Finding, Severity};
use crate::session::{Activity, ActivityRow, Minute, Session, CLASSES, UNENCRYPTED_KEPT};
use crate::sink::evidence::FindingEvidence;
use crate::sink::summary::Summary;
use crate::time::rfc3339;

const TEMPLATE: &str = include_str!("report.html");

/// The most text of one evidence record shown on the page (its file has up to 8 KiB), so the
/// page stays small with many findings.
const PAGE_LINE_BYTES: usize = 2 << 10;
/// Users and sources listed in the activity tables.
const ACTIVITY_ROWS: usize = 50;
/// The most buckets the timeline is cut into.
pub const MAX_BUCKETS: i64 = 120;
/// Bucket sizes the timeline chooses from, in seconds (the smallest that fits the range).
const BUCKET_SECONDS: [i64; 14] = [
    60,
    300,
    900,
    1800,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    2 * 86_400,
    7 * 86_400,
    14 * 86_400,
    30 * 86_400,
    365 * 86_400,
];

/// One setting as the run used it (see `settings.rs`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct SettingUsed {
    pub name: String,
    pub value: String,
    pub origin: &'static str,
}

impl SettingUsed {
    pub fn new(name: &str, mut value: String, origin: &'static str) -> SettingUsed {
        if value.len() > 300 {
            let mut cut = 300;
            while !value.is_char_boundary(cut) {
                cut -= 1;
            }
            value.truncate(cut);
            value.push('…');
        }
        SettingUsed {
            name: name.to_string(),
            value,
            origin,
        }
    }
}

/// What the report is made of.
pub struct ReportInput<'a> {
    pub summary: &'a Summary,
    pub findings: &'a [Finding],
    pub evidence: &'a [FindingEvidence],
    pub activity: &'a Activity,
    pub minutes: &'a BTreeMap<i64, Minute>,
    pub settings: &'a [SettingUsed],
    /// Formats of the input files, by index (the evidence lines of MySQL-family files have
    /// their query escapes resolved for reading).
    pub mysql_family: &'a [bool],
    /// `privileges.md` was written beside the report (`--privileges`): the report links to it.
    pub privileges: bool,
}

#[derive(serde::Serialize)]
struct Bucket {
    start: String,
    events: u64,
    failed: u64,
    success: u64,
    x: f64,
    h_events: f64,
    h_failed: f64,
    h_success: f64,
}

#[derive(serde::Serialize)]
struct Marker {
    x: f64,
    severity: &'static str,
    id: String,
    kind: String,
}

#[derive(serde::Serialize)]
struct Timeline {
    bucket_seconds: i64,
    bucket_label: String,
    buckets: Vec<Bucket>,
    markers: Vec<Marker>,
    width: f64,
    bar: f64,
    max_events: u64,
    max_logins: u64,
    first: String,
    last: String,
}

#[derive(serde::Serialize)]
struct EvidenceView {
    place: String,
    text: Option<String>,
    cut: bool,
}

#[derive(serde::Serialize)]
struct FindingView {
    id: String,
    kind: String,
    severity: &'static str,
    rank: usize,
    first_seen: String,
    last_seen: String,
    user: Option<String>,
    source: Option<String>,
    database: Option<String>,
    count: i64,
    detail: String,
    evidence_file: String,
    lines: Vec<EvidenceView>,
    more: u64,
}

#[derive(serde::Serialize)]
struct Segment {
    class: &'static str,
    x: f64,
    w: f64,
    n: u64,
}

#[derive(serde::Serialize)]
struct ActivityView {
    row: ActivityRow,
    statements: u64,
    tls_share: String,
    segments: Vec<Segment>,
    login_w: f64,
    fail_w: f64,
}

#[derive(serde::Serialize)]
struct UnencryptedView {
    server: String,
    connection_id: i64,
    user: String,
    client_host: String,
    login: String,
    events: u64,
    place: String,
}

/// Renders the page.
pub fn render(input: &ReportInput<'_>) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| e.to_string())?;
    let s = input.summary;
    let timeline = timeline(input.minutes, input.findings);
    let findings: Vec<FindingView> = input
        .findings
        .iter()
        .zip(
            input
                .evidence
                .iter()
                .chain(std::iter::repeat(&FindingEvidence::default())),
        )
        .map(|(f, ev)| finding_view(f, ev, input.mysql_family))
        .collect();
    let script = script_json(&serde_json::json!({
        "findings": findings.iter().map(|f| serde_json::json!({
            "id": f.id, "kind": f.kind, "severity": f.severity, "rank": f.rank,
            "user": f.user, "source": f.source,
        })).collect::<Vec<_>>(),
        "bucket_seconds": timeline.bucket_seconds,
    }));
    let users = activity_views(Activity::top(&input.activity.users, ACTIVITY_ROWS));
    let sources = activity_views(Activity::top(&input.activity.sources, ACTIVITY_ROWS));
    let unencrypted: Vec<UnencryptedView> = input
        .activity
        .unencrypted
        .iter()
        .map(|x| unencrypted_view(x, s))
        .collect();
    let mut by_severity: Vec<(&str, u64)> = Severity::ALL
        .iter()
        .rev()
        .map(|v| {
            let n = input.findings.iter().filter(|f| f.severity == *v).count() as u64;
            (v.as_str(), n)
        })
        .collect();
    by_severity.retain(|x| x.1 > 0);
    let ctx = minijinja::context! {
        s => minijinja::Value::from_serialize(s),
        settings => minijinja::Value::from_serialize(input.settings),
        timeline => minijinja::Value::from_serialize(&timeline),
        findings => minijinja::Value::from_serialize(&findings),
        by_severity => minijinja::Value::from_serialize(&by_severity),
        users => minijinja::Value::from_serialize(&users),
        sources => minijinja::Value::from_serialize(&sources),
        users_total => input.activity.users.len(),
        sources_total => input.activity.sources.len(),
        sessions_total => input.activity.sessions,
        unencrypted => minijinja::Value::from_serialize(&unencrypted),
        unencrypted_total => input.activity.unencrypted_total,
        unencrypted_kept => UNENCRYPTED_KEPT,
        classes => CLASSES.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        script_json => minijinja::Value::from_safe_string(script),
        privileges => input.privileges,
    };
    env.get_template("report.html")
        .and_then(|t| t.render(ctx))
        .map_err(|e| e.to_string())
}

/// JSON safe inside a `<script>` element: `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX`
/// escapes (JSON reads them back as the same characters), so no value can end the element
/// or open a comment in it.
pub fn script_json(v: &serde_json::Value) -> String {
    let text = v.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The bucket size for a range of minutes: the smallest of [`BUCKET_SECONDS`] that cuts it
/// into at most [`MAX_BUCKETS`] buckets (buckets start at multiples of their size).
pub fn bucket_seconds(first_minute: i64, last_minute: i64) -> i64 {
    for size in BUCKET_SECONDS {
        let (a, b) = (
            (first_minute * 60).div_euclid(size),
            (last_minute * 60).div_euclid(size),
        );
        if b - a < MAX_BUCKETS {
            return size;
        }
    }
    BUCKET_SECONDS[BUCKET_SECONDS.len() - 1]
}

fn duration_label(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} day(s)", s / 86_400),
        s if s % 3600 == 0 => format!("{} hour(s)", s / 3600),
        s => format!("{} minute(s)", s / 60),
    }
}

fn timeline(minutes: &BTreeMap<i64, Minute>, findings: &[Finding]) -> Timeline {
    const WIDTH: f64 = 960.0;
    let (Some((&first, _)), Some((&last, _))) =
        (minutes.first_key_value(), minutes.last_key_value())
    else {
        return Timeline {
            bucket_seconds: 60,
            bucket_label: duration_label(60),
            buckets: Vec::new(),
            markers: Vec::new(),
            width: WIDTH,
            bar: 0.0,
            max_events: 0,
            max_logins: 0,
            first: String::new(),
            last: String::new(),
        };
    };
    let size = bucket_seconds(first, last);
    let b0 = (first * 60).div_euclid(size);
    let n = ((last * 60).div_euclid(size) - b0 + 1) as usize;
    let mut counts = vec![[0u64; 3]; n];
    for (m, c) in minutes {
        let i = ((m * 60).div_euclid(size) - b0) as usize;
        for k in 0..3 {
            counts[i][k] += c[k];
        }
    }
    let max_events = counts.iter().map(|c| c[0]).max().unwrap_or(0).max(1);
    let max_logins = counts
        .iter()
        .map(|c| c[1].max(c[2]))
        .max()
        .unwrap_or(0)
        .max(1);
    let bar = WIDTH / n as f64;
    let buckets = counts
        .iter()
        .enumerate()
        .map(|(i, c)| Bucket {
            start: rfc3339((b0 + i as i64) * size * 1_000_000),
            events: c[0],
            failed: c[1],
            success: c[2],
            x: round(i as f64 * bar),
            h_events: round(c[0] as f64 / max_events as f64 * 100.0),
            h_failed: round(c[1] as f64 / max_logins as f64 * 60.0),
            h_success: round(c[2] as f64 / max_logins as f64 * 60.0),
        })
        .collect();
    let span = (n as i64 * size * 1_000_000) as f64;
    let start_us = b0 * size * 1_000_000;
    let markers = findings
        .iter()
        .map(|f| Marker {
            x: round(((f.first_seen_us - start_us) as f64 / span * WIDTH).clamp(0.0, WIDTH)),
            severity: f.severity.as_str(),
            id: f.id.clone(),
            kind: f.kind.clone(),
        })
        .collect();
    Timeline {
        bucket_seconds: size,
        bucket_label: duration_label(size),
        buckets,
        markers,
        width: WIDTH,
        bar: round((bar - 1.0).max(0.5)),
        max_events,
        max_logins,
        first: rfc3339(start_us),
        last: rfc3339(start_us + n as i64 * size * 1_000_000),
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn finding_view(f: &Finding, ev: &FindingEvidence, mysql_family: &[bool]) -> FindingView {
    let lines = ev
        .lines
        .iter()
        .zip(&f.samples)
        .map(|(l, sample)| {
            let mut cut = l.cut;
            let text = l.text.as_ref().map(|t| {
                let mut end = t.len().min(PAGE_LINE_BYTES);
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                cut |= end < t.len();
                let t = &t[..end];
                let mysql = mysql_family.get(sample.file as usize).copied();
                if mysql.unwrap_or(false) {
                    let mut s = String::with_capacity(t.len());
                    crate::event::unescape_into(t.as_bytes(), &mut s);
                    s
                } else {
                    t.to_string()
                }
            });
            EvidenceView {
                place: l.place.clone(),
                text,
                cut,
            }
        })
        .collect();
    FindingView {
        id: f.id.clone(),
        kind: f.kind.clone(),
        severity: f.severity.as_str(),
        rank: f.severity as usize,
        first_seen: rfc3339(f.first_seen_us),
        last_seen: rfc3339(f.last_seen_us),
        user: f.user.clone(),
        source: f.client_ip.clone(),
        database: f.database.clone(),
        count: f.count,
        detail: f.detail.clone(),
        evidence_file: crate::sink::evidence::file_name(f),
        lines,
        more: ev.more,
    }
}

fn activity_views(rows: Vec<ActivityRow>) -> Vec<ActivityView> {
    const W: f64 = 160.0;
    let max_statements = rows
        .iter()
        .map(|r| r.statements.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let max_logins = rows
        .iter()
        .map(|r| r.logins + r.failures)
        .max()
        .unwrap_or(0)
        .max(1);
    rows.into_iter()
        .map(|row| {
            let total: u64 = row.statements.iter().sum();
            let mut x = 0.0;
            let segments = CLASSES
                .iter()
                .zip(row.statements)
                .filter(|(_, n)| *n > 0)
                .map(|(c, n)| {
                    let w = round(n as f64 / max_statements as f64 * W);
                    let s = Segment {
                        class: c.as_str(),
                        x: round(x),
                        w,
                        n,
                    };
                    x += w;
                    s
                })
                .collect();
            let tls_share = if row.tls_known == 0 {
                "unknown".to_string()
            } else {
                format!(
                    "{:.0} % of {}",
                    row.tls_encrypted as f64 * 100.0 / row.tls_known as f64,
                    row.tls_known
                )
            };
            ActivityView {
                login_w: round(row.logins as f64 / max_logins as f64 * W),
                fail_w: round(row.failures as f64 / max_logins as f64 * W),
                statements: total,
                tls_share,
                segments,
                row,
            }
        })
        .collect()
}

fn unencrypted_view(x: &Session, s: &Summary) -> UnencryptedView {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let file = s
        .inputs
        .get(x.first_at.0 as usize)
        .map(|i| i.path.clone())
        .unwrap_or_default();
    UnencryptedView {
        server: text(&x.server),
        connection_id: x.connection_id,
        user: text(&x.user),
        client_host: text(&x.client_host),
        login: x.login_us.map(rfc3339).unwrap_or_default(),
        events: x.events,
        place: format!("{file}:{}", x.first_at.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_its_element() {
        let v = serde_json::json!({"user": "</script><img src=x onerror=alert(1)>&\u{2028}"});
        let s = script_json(&v);
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn the_bucket_size_keeps_the_timeline_under_its_bucket_limit() {
        for (first, last) in [
            (0, 0),
            (0, 59),
            (0, 119),
            (0, 1440),
            (10, 60 * 24 * 40),
            (5, 60 * 24 * 3000),
        ] {
            let size = bucket_seconds(first, last);
            let n = (last * 60).div_euclid(size) - (first * 60).div_euclid(size) + 1;
            assert!(n <= MAX_BUCKETS, "{first}..{last}: {n} buckets of {size}s");
            // and the next smaller size would not have fitted
            if let Some(i) = BUCKET_SECONDS
                .iter()
                .position(|&x| x == size)
                .filter(|&i| i > 0)
            {
                let smaller = BUCKET_SECONDS[i - 1];
                let m = (last * 60).div_euclid(smaller) - (first * 60).div_euclid(smaller) + 1;
                assert!(m > MAX_BUCKETS);
            }
        }
        assert_eq!(bucket_seconds(0, 119), 60);
    }
}
