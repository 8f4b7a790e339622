//! Findings: the severity scale, the finding kinds and the Arrow schema of
//! `findings.parquet`, each defined once (CONTRACT.md, `findings` columns).

use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayRef, Int64Builder, RecordBatch, StringBuilder, TimestampMillisecondBuilder,
};
use arrow::datatypes::SchemaRef;

use crate::table::{self, Column, ColumnType::*, Storage::*};

/// The severity scale, ordered so that `>=` means "at least as severe".
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown severity {s:?}: expected info, low, medium, high or critical")
            })
    }
}

/// The built-in finding kinds of CONTRACT.md. Custom rules are `rule:NAME`.
pub mod kind {
    pub(crate) const UNKNOWN_SOURCE_IP: &str = "unknown_source_ip";
    pub(crate) const NON_SSL_SESSION: &str = "non_ssl_session";
    pub(crate) const MASTER_USER: &str = "master_user";
    pub(crate) const BRUTE_FORCE: &str = "brute_force";
    pub(crate) const BRUTE_FORCE_SUCCESS: &str = "brute_force_success";
    pub(crate) const PASSWORD_SPRAY: &str = "password_spray";
    pub(crate) const RATE_SPIKE: &str = "rate_spike";
    pub(crate) const PRIVILEGE_CHANGE: &str = "privilege_change";
    pub(crate) const DESTRUCTIVE: &str = "destructive";
    pub(crate) const EXFILTRATION: &str = "exfiltration";
    pub(crate) const CROSS_DATABASE: &str = "cross_database";
    /// Contract additions (names fixed by CONTRACT.md; also from CloudTrail later).
    pub(crate) const AUDIT_DISABLED: &str = "audit_disabled";
    pub(crate) const TLS_WEAKENED: &str = "tls_weakened";
    /// Additions of issue #24.
    pub(crate) const CODE_EXECUTION: &str = "code_execution";
    pub(crate) const DISTRIBUTED_BRUTE_FORCE: &str = "distributed_brute_force";
    /// The control plane (CloudTrail), issue #19.
    pub(crate) const MASTER_PASSWORD_RESET: &str = "master_password_reset";
    pub(crate) const PUBLIC_EXPOSURE: &str = "public_exposure";
    pub(crate) const SNAPSHOT_SHARED: &str = "snapshot_shared";
    pub(crate) const SNAPSHOT_COPIED_OUT: &str = "snapshot_copied_out";
    pub(crate) const SNAPSHOT_EXPORT: &str = "snapshot_export";
    pub(crate) const IAM_AUTH_DISABLED: &str = "iam_auth_disabled";
    pub(crate) const DELETION_PROTECTION_OFF: &str = "deletion_protection_off";
    pub(crate) const DESTROYED: &str = "destroyed";
    pub(crate) const CONTROL_PLANE_RECON: &str = "control_plane_recon";
    pub(crate) const TAKEOVER_AFTER_PASSWORD_RESET: &str = "takeover_after_password_reset";
    /// Additions of issue #22.
    pub(crate) const THREAT_LIST_LOGIN: &str = "threat_list_login";
    pub(crate) const THREAT_LIST_ATTEMPT: &str = "threat_list_attempt";
    pub(crate) const ANOMALOUS_LOGIN: &str = "anomalous_login";
}

/// Where an event came from: the input file (index into the run's file list) and line, and
/// where its text lies in the file when that is known, so the evidence of a finding can be
/// read back with one small read instead of another pass over the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Evidence {
    pub file: u32,
    /// Length of the record's text at `byte` (0 when not known).
    pub len: u32,
    pub line: u64,
    /// Offset of the record's text in its file plus one; 0 when the text is not in the file
    /// as stored (a compressed stream, a CloudWatch JSON or csvlog record rewritten first).
    /// With [`IN_CHUNK`] set, the offset is in the chunk's own buffer (a decompressed block,
    /// a rewritten arena) instead, which only lives while the chunk is processed: the scan
    /// copies the text out at the end of the chunk and clears the offset (see
    /// [`Evidence::in_chunk`]), so no such evidence ever leaves a chunk.
    pub byte: u64,
}

/// The mark of an offset into the chunk's buffer rather than the file (the top bit of
/// [`Evidence::byte`]: no file offset comes near it). The scan sets it by adding it to the
/// chunk's base offset, so marking costs nothing per event.
pub const IN_CHUNK: u64 = 1 << 63;

impl Evidence {
    /// An event at `line` of file `file` whose text is not located.
    pub fn at(file: u32, line: u64) -> Evidence {
        Evidence {
            file,
            line,
            ..Evidence::default()
        }
    }

    /// The file offset of the record's text, when known (never an offset into a chunk).
    pub fn offset(&self) -> Option<u64> {
        self.byte.checked_sub(1).filter(|o| o & IN_CHUNK == 0)
    }

    /// Where the record's text lies in its chunk's buffer (start, length), when it was read
    /// from a buffer of its own (marked [`IN_CHUNK`]).
    pub fn in_chunk(&self) -> Option<(usize, usize)> {
        let at = self.byte.checked_sub(1)?;
        (at & IN_CHUNK != 0).then_some(((at & !IN_CHUNK) as usize, self.len as usize))
    }
}

impl PartialOrd for Evidence {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Evidence {
    /// By file, then line (the place of the event); the offset only breaks ties.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.file, self.line, self.byte, self.len).cmp(&(o.file, o.line, o.byte, o.len))
    }
}

/// One finding: a row of `findings.parquet`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub kind: String,
    pub severity: Severity,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
    pub user: Option<String>,
    pub client_ip: Option<String>,
    pub database: Option<String>,
    pub count: i64,
    pub detail: String,
    pub evidence: String,
    /// `finding_id`: a digest of the finding's fields, the same for the same input (set by
    /// [`assign_ids`] once the findings are sorted).
    pub id: String,
    /// `resource`: the instance, cluster, snapshot or security group a control-plane finding
    /// is about (`None` for findings from the database logs).
    pub resource: Option<String>,
    /// The events behind it that are kept: the earliest few and the latest, in order.
    #[serde(skip)]
    pub samples: Vec<Evidence>,
    /// What `--geoip` says of `client_ip` (empty without it).
    pub geo: Geo,
}

/// The `client_country`, `client_asn` and `client_as_org` of a finding.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Geo {
    pub country: Option<String>,
    pub asn: Option<i64>,
    pub as_org: Option<String>,
}

/// The columns of `findings.parquet`, in file order.
pub const COLUMNS: [Column; 15] = [
    Column::new("kind", Utf8, false, DictionaryText),
    Column::new("severity", Utf8, false, DictionaryText),
    Column::new("first_seen", TimestampMsUtc, false, DictionaryFixed),
    Column::new("last_seen", TimestampMsUtc, false, DictionaryFixed),
    Column::new("user", Utf8, true, DictionaryText),
    Column::new("client_ip", Utf8, true, DictionaryText),
    Column::new("database", Utf8, true, DictionaryText),
    Column::new("count", Int64, false, DictionaryFixed),
    Column::new("detail", Utf8, false, PlainText),
    Column::new("evidence", Utf8, false, PlainText),
    Column::new("finding_id", Utf8, false, PlainText),
    Column::new("resource", Utf8, true, DictionaryText),
    Column::new("client_country", Utf8, true, DictionaryText),
    Column::new("client_asn", Int64, true, PlainFixed),
    Column::new("client_as_org", Utf8, true, DictionaryText),
];

/// The Arrow schema of `findings.parquet`.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA.get_or_init(|| table::arrow_schema(&COLUMNS)).clone()
}

/// Findings as one record batch (possibly empty: the file and its schema always exist).
pub(crate) fn to_batch(findings: &[Finding]) -> RecordBatch {
    let n = findings.len();
    let mut kind = StringBuilder::with_capacity(n, n * 16);
    let mut severity = StringBuilder::with_capacity(n, n * 8);
    let mut first = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut last = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut user = StringBuilder::new();
    let mut ip = StringBuilder::new();
    let mut db = StringBuilder::new();
    let mut count = Int64Builder::with_capacity(n);
    let mut detail = StringBuilder::new();
    let mut evidence = StringBuilder::new();
    let mut id = StringBuilder::with_capacity(n, n * 16);
    let mut resource = StringBuilder::new();
    let mut country = StringBuilder::new();
    let mut asn = Int64Builder::new();
    let mut as_org = StringBuilder::new();
    for f in findings {
        kind.append_value(&f.kind);
        severity.append_value(f.severity.as_str());
        first.append_value(f.first_seen_us.div_euclid(1000));
        last.append_value(f.last_seen_us.div_euclid(1000));
        user.append_option(f.user.as_deref());
        ip.append_option(f.client_ip.as_deref());
        db.append_option(f.database.as_deref());
        count.append_value(f.count);
        detail.append_value(&f.detail);
        evidence.append_value(&f.evidence);
        id.append_value(&f.id);
        resource.append_option(f.resource.as_deref());
        country.append_option(f.geo.country.as_deref());
        asn.append_option(f.geo.asn);
        as_org.append_option(f.geo.as_org.as_deref());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(kind.finish()),
        Arc::new(severity.finish()),
        Arc::new(first.finish()),
        Arc::new(last.finish()),
        Arc::new(user.finish()),
        Arc::new(ip.finish()),
        Arc::new(db.finish()),
        Arc::new(count.finish()),
        Arc::new(detail.finish()),
        Arc::new(evidence.finish()),
        Arc::new(id.finish()),
        Arc::new(resource.finish()),
        Arc::new(country.finish()),
        Arc::new(asn.finish()),
        Arc::new(as_org.finish()),
    ];
    RecordBatch::try_new(schema(), columns).expect("finding columns match the schema")
}

/// The order of `findings.parquet`: by first_seen, then kind, then the key fields, so that
/// the same input always gives the same file.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (
            a.first_seen_us,
            &a.kind,
            &a.user,
            &a.client_ip,
            &a.database,
            &a.evidence,
            &a.detail,
            &a.resource,
        )
            .cmp(&(
                b.first_seen_us,
                &b.kind,
                &b.user,
                &b.client_ip,
                &b.database,
                &b.evidence,
                &b.detail,
                &b.resource,
            ))
    });
}

/// Gives each finding its `finding_id`: the first 16 hex digits of the SHA-256 of its fields
/// (kind, severity, times, user, source, database, count, detail, evidence), so the same input
/// gives the same ids in any run and on any thread count. Two findings alike in every field
/// (never seen, but not impossible) are told apart by a `-2`, `-3`, ... suffix in sorted order.
pub fn assign_ids(findings: &mut [Finding]) {
    use sha2::{Digest, Sha256};
    let mut seen: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for f in findings.iter_mut() {
        let mut h = Sha256::new();
        for part in [
            f.kind.as_str(),
            f.severity.as_str(),
            &f.first_seen_us.to_string(),
            &f.last_seen_us.to_string(),
            f.user.as_deref().unwrap_or("\u{0}null"),
            f.client_ip.as_deref().unwrap_or("\u{0}null"),
            f.database.as_deref().unwrap_or("\u{0}null"),
            &f.count.to_string(),
            &f.detail,
            &f.evidence,
        ] {
            // Length-prefixed, so no two different field lists hash the same bytes.
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        // Only control-plane findings have a resource: the ids of the others are unchanged.
        if let Some(r) = &f.resource {
            h.update(b"resource");
            h.update((r.len() as u64).to_le_bytes());
            h.update(r.as_bytes());
        }
        let digest = h.finalize();
        let mut id: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let n = seen.entry(id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            id = format!("{id}-{n}");
        }
        f.id = id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_in_a_chunk_is_never_taken_for_a_file_offset() {
        let mut ev = Evidence::at(2, 7);
        assert_eq!((ev.offset(), ev.in_chunk()), (None, None));
        // As the scan sets it: base offset + offset in the buffer + 1.
        (ev.byte, ev.len) = (100 + 1, 30);
        assert_eq!((ev.offset(), ev.in_chunk()), (Some(100), None));
        (ev.byte, ev.len) = (IN_CHUNK + 100 + 1, 30);
        assert_eq!((ev.offset(), ev.in_chunk()), (None, Some((100, 30))));
        (ev.byte, ev.len) = (IN_CHUNK + 1, 0);
        assert_eq!((ev.offset(), ev.in_chunk()), (None, Some((0, 0))));
    }

    fn finding(kind: &str, user: &str) -> Finding {
        Finding {
            kind: kind.into(),
            severity: Severity::High,
            first_seen_us: 1,
            last_seen_us: 2,
            user: Some(user.into()),
            client_ip: None,
            database: None,
            count: 1,
            detail: "d".into(),
            evidence: "f:1".into(),
            id: String::new(),
            resource: None,
            samples: Vec::new(),
            geo: Geo::default(),
        }
    }

    #[test]
    fn finding_ids_follow_the_fields_and_stay_unique() {
        let mut a = vec![finding("destructive", "bob"), finding("destructive", "eve")];
        assign_ids(&mut a);
        let mut b = vec![finding("destructive", "bob")];
        assign_ids(&mut b);
        assert_eq!(a[0].id, b[0].id, "same fields, same id");
        assert_ne!(a[0].id, a[1].id, "another user, another id");
        assert_eq!(a[0].id.len(), 16);
        let mut twins = vec![finding("x", "u"), finding("x", "u")];
        assign_ids(&mut twins);
        assert_eq!(twins[1].id, format!("{}-2", twins[0].id));
    }
}
