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
}

/// The columns of `findings.parquet`, in file order.
pub const COLUMNS: [Column; 10] = [
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
        )
            .cmp(&(
                b.first_seen_us,
                &b.kind,
                &b.user,
                &b.client_ip,
                &b.database,
                &b.evidence,
                &b.detail,
            ))
    });
}
