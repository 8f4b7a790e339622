//! The control plane: CloudTrail records that concern databases, as one owned value
//! ([`ControlEvent`]) and the `control` table (`control/dt=…/part-NNNNN.parquet`) they are
//! written to.
//!
//! The database logs say what happened inside an instance; the RDS API (and the EC2, Secrets
//! Manager and KMS calls around it) says who reset its password, opened it to the internet,
//! shared its snapshot or turned its audit off. `format::cloudtrail` reads the trail into
//! these values, `pass::control_plane` turns them into findings and joins them to the logins
//! of the database logs, and `sink::control` writes the table. Control events are few (a
//! trail holds every AWS call of an account; the part about databases is a small fraction),
//! so they are owned, kept whole until the end of the run and sorted there.

use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, RecordBatch, StringBuilder, StringDictionaryBuilder,
    TimestampMillisecondBuilder,
};
use arrow::datatypes::{Int32Type, SchemaRef};
use serde_json::Value;

use crate::table::{self, Column, ColumnType::*, Storage::*};

/// One CloudTrail record about a database, with the fields the `control` table and the
/// detections read. Text fields are as the record gives them; `None` where it gives none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ControlEvent {
    /// `eventTime`, epoch microseconds UTC.
    pub time_us: i64,
    pub event_source: String,
    pub event_name: String,
    pub aws_region: Option<String>,
    /// `userIdentity.accountId`: the account of the caller.
    pub account_id: Option<String>,
    /// `recipientAccountId`: the account the event was delivered to (the resource's owner).
    pub recipient_account_id: Option<String>,
    pub principal_arn: Option<String>,
    pub principal_type: Option<String>,
    /// The principal's name: the IAM user, the role session (`role/session`), `root`.
    pub principal_name: Option<String>,
    pub access_key_id: Option<String>,
    /// The role (or user) that issued the session, for assumed roles.
    pub session_issuer: Option<String>,
    /// `sessionContext.attributes.mfaAuthenticated`.
    pub mfa: Option<bool>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// `invokedBy`: the AWS service that called on the principal's behalf.
    pub invoked_by: Option<String>,
    pub read_only: Option<bool>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The instance, cluster, snapshot, parameter group or security group the call is about.
    pub resource: Option<String>,
    /// `requestParameters` and `responseElements` as JSON text (`None` for `null`).
    pub request_parameters: Option<String>,
    pub response_elements: Option<String>,
    pub event_id: Option<String>,
    /// The input file (index into the run's file list) and the record's 1-based index in it.
    pub file: u32,
    pub index: u64,
}

impl ControlEvent {
    /// A denied call (the principal lacked the permission).
    pub fn is_denied(&self) -> bool {
        self.error_code.as_deref().is_some_and(|c| {
            let c = c.to_ascii_lowercase();
            c.contains("accessdenied") || c.contains("unauthorized")
        })
    }

    /// `requestParameters` decoded (`Null` when absent or not JSON).
    pub fn request(&self) -> serde_json::Value {
        parse_json(self.request_parameters.as_deref())
    }

    /// `responseElements` decoded (`Null` when absent or not JSON).
    pub fn response(&self) -> serde_json::Value {
        parse_json(self.response_elements.as_deref())
    }

    /// Made by an AWS service for itself (AWS Backup's snapshots, RDS's own log groups), not
    /// by a person or an application.
    pub fn by_aws_service(&self) -> bool {
        let service =
            |s: &Option<String>| s.as_deref().is_some_and(|s| s.ends_with(".amazonaws.com"));
        self.principal_type.as_deref() == Some("AWSService")
            || service(&self.invoked_by)
            || service(&self.source_ip)
    }
}

/// A member of a JSON object by name, whatever the case of its letters (the API's names reach
/// CloudTrail with their first letter lowered, and key names not seen in a capture may differ
/// elsewhere).
pub fn field<'v>(v: &'v serde_json::Value, key: &str) -> Option<&'v serde_json::Value> {
    let o = v.as_object()?;
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The TCP ports database engines listen on by default (MySQL/MariaDB/Aurora MySQL,
/// PostgreSQL/Aurora PostgreSQL, SQL Server, Oracle).
pub const DATABASE_PORTS: [u64; 4] = [3306, 5432, 1433, 1521];

/// One ingress rule of an EC2 security-group change: the CIDRs it opens and the database
/// port it reaches (`None` when it reaches none).
#[derive(Debug, PartialEq)]
pub struct IngressRule {
    pub cidrs: Vec<String>,
    pub ports: Option<u64>,
}

/// The ingress rules of an `AuthorizeSecurityGroupIngress` or `ModifySecurityGroupRules`
/// request (`ipPermissions.items[]` with `ipRanges`/`ipv6Ranges`; `securityGroupRules`;
/// EC2's empty collections are `{}`).
pub fn ingress_rules(request: &Value) -> Vec<IngressRule> {
    let items = |v: Option<&Value>| -> Vec<Value> {
        match v {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Object(o)) => match o.get("items") {
                Some(Value::Array(a)) => a.clone(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    };
    let mut rules = Vec::new();
    let mut one = |perm: &Value| {
        let proto = perm
            .get("ipProtocol")
            .map(|p| {
                p.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| p.to_string())
            })
            .unwrap_or_default();
        let from = perm.get("fromPort").and_then(number);
        let to = perm.get("toPort").and_then(number).or(from);
        let all = proto == "-1" || proto.eq_ignore_ascii_case("all");
        let ports = DATABASE_PORTS.into_iter().find(|&p| {
            all || (matches!(proto.as_str(), "tcp" | "6")
                && from.is_some_and(|f| f <= p as i64)
                && to.is_some_and(|t| t >= p as i64))
        });
        let mut cidrs = Vec::new();
        for r in items(perm.get("ipRanges")) {
            if let Some(c) = r.get("cidrIp").and_then(Value::as_str) {
                cidrs.push(c.to_string());
            }
        }
        for r in items(perm.get("ipv6Ranges")) {
            if let Some(c) = r.get("cidrIpv6").and_then(Value::as_str) {
                cidrs.push(c.to_string());
            }
        }
        for key in ["cidrIpv4", "cidrIpv6", "cidrIp"] {
            if let Some(c) = perm.get(key).and_then(Value::as_str) {
                cidrs.push(c.to_string());
            }
        }
        rules.push(IngressRule { cidrs, ports });
    };
    for perm in items(request.get("ipPermissions")) {
        one(&perm);
    }
    // ModifySecurityGroupRules: `securityGroupRules[].securityGroupRule`.
    let modify = request
        .get("ModifySecurityGroupRulesRequest")
        .unwrap_or(request);
    for r in items(
        modify
            .get("securityGroupRules")
            .or_else(|| modify.get("SecurityGroupRule")),
    ) {
        let rule = r
            .get("securityGroupRule")
            .or_else(|| r.get("SecurityGroupRule"))
            .unwrap_or(&r);
        let lower: serde_json::Map<String, Value> = rule
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (lower_first(k), v.clone())).collect())
            .unwrap_or_default();
        one(&Value::Object(lower));
    }
    // A single rule given at the top (the older `cidrIp` + ports form).
    if request.get("cidrIp").is_some() {
        one(request);
    }
    rules
}

fn lower_first(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn number(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// The name at the end of an ARN (`arn:aws:rds:us-east-1:1:db:name` → `name`); other text
/// as it is.
pub fn arn_name(s: &str) -> &str {
    if s.starts_with("arn:") {
        s.rsplit([':', '/']).next().unwrap_or(s)
    } else {
        s
    }
}

fn parse_json(text: Option<&str>) -> serde_json::Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// The columns of `control/*.parquet`, in file order.
pub const COLUMNS: [Column; 25] = [
    Column::new("event_time", TimestampMsUtc, false, PlainFixed),
    Column::new("event_time_us", Int64, false, PlainFixed),
    Column::new("event_source", Utf8, false, DictionaryText),
    Column::new("event_name", Utf8, false, DictionaryText),
    Column::new("aws_region", Utf8, true, DictionaryText),
    Column::new("account_id", Utf8, true, DictionaryText),
    Column::new("recipient_account_id", Utf8, true, DictionaryText),
    Column::new("principal_arn", Utf8, true, DictionaryText),
    Column::new("principal_type", Utf8, true, DictionaryText),
    Column::new("principal_name", Utf8, true, DictionaryText),
    Column::new("access_key_id", Utf8, true, DictionaryText),
    Column::new("session_issuer", Utf8, true, DictionaryText),
    Column::new("mfa", Boolean, true, PlainFixed),
    Column::new("source_ip", Utf8, true, DictionaryText),
    Column::new("user_agent", Utf8, true, DictionaryText),
    Column::new("read_only", Boolean, true, PlainFixed),
    Column::new("error_code", Utf8, true, DictionaryText),
    Column::new("error_message", Utf8, true, PlainText),
    Column::new("resource", Utf8, true, DictionaryText),
    Column::new("request_parameters", Utf8, true, PlainText),
    Column::new("response_elements", Utf8, true, PlainText),
    Column::new("event_id", Utf8, true, PlainText),
    Column::new("source_file", Utf8, false, DictionaryText),
    Column::new("source_line", Int64, false, PlainFixed),
    // Added after the first release of the table (columns are appended, never moved).
    Column::new("invoked_by", Utf8, true, DictionaryText),
];

/// The Arrow schema of `control/*.parquet`.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA.get_or_init(|| table::arrow_schema(&COLUMNS)).clone()
}

/// Events (all of one UTC day, in the order given) as one batch of the built schema
/// (dictionary columns as `Dictionary(Int32, Utf8)`), as the row-group encoder takes it.
/// `files` names each event's `file`.
pub fn to_batch(events: &[&ControlEvent], files: &[Arc<str>]) -> RecordBatch {
    type Dict = StringDictionaryBuilder<Int32Type>;
    let n = events.len();
    let mut time = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut time_us = Int64Builder::with_capacity(n);
    let mut dicts: Vec<Dict> = (0..13).map(|_| Dict::new()).collect();
    let mut mfa = BooleanBuilder::with_capacity(n);
    let mut read_only = BooleanBuilder::with_capacity(n);
    let mut plain: Vec<StringBuilder> = (0..4).map(|_| StringBuilder::new()).collect();
    let mut line = Int64Builder::with_capacity(n);
    for e in events {
        time.append_value(e.time_us.div_euclid(1000));
        time_us.append_value(e.time_us);
        let texts: [Option<&str>; 13] = [
            Some(&e.event_source),
            Some(&e.event_name),
            e.aws_region.as_deref(),
            e.account_id.as_deref(),
            e.recipient_account_id.as_deref(),
            e.principal_arn.as_deref(),
            e.principal_type.as_deref(),
            e.principal_name.as_deref(),
            e.access_key_id.as_deref(),
            e.session_issuer.as_deref(),
            e.source_ip.as_deref(),
            e.user_agent.as_deref(),
            e.error_code.as_deref(),
        ];
        for (b, v) in dicts.iter_mut().zip(texts) {
            b.append_option(v);
        }
        mfa.append_option(e.mfa);
        read_only.append_option(e.read_only);
        for (b, v) in plain.iter_mut().zip([
            e.error_message.as_deref(),
            e.request_parameters.as_deref(),
            e.response_elements.as_deref(),
            e.event_id.as_deref(),
        ]) {
            b.append_option(v);
        }
        line.append_value(e.index as i64);
    }
    // The resource and the file, the two dictionary columns after the plain ones.
    let mut resource = Dict::new();
    let mut source_file = Dict::new();
    let mut invoked_by = Dict::new();
    for e in events {
        resource.append_option(e.resource.as_deref());
        source_file.append_value(files.get(e.file as usize).map(|s| &**s).unwrap_or("?"));
        invoked_by.append_option(e.invoked_by.as_deref());
    }
    let mut d = dicts
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef);
    let mut p = plain
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef);
    let mut next_d = || d.next().expect("thirteen dictionary columns");
    let mut next_p = || p.next().expect("four plain columns");
    let columns: Vec<ArrayRef> = vec![
        Arc::new(time.finish()),
        Arc::new(time_us.finish()),
        next_d(), // event_source
        next_d(), // event_name
        next_d(), // aws_region
        next_d(), // account_id
        next_d(), // recipient_account_id
        next_d(), // principal_arn
        next_d(), // principal_type
        next_d(), // principal_name
        next_d(), // access_key_id
        next_d(), // session_issuer
        Arc::new(mfa.finish()),
        next_d(), // source_ip
        next_d(), // user_agent
        Arc::new(read_only.finish()),
        next_d(), // error_code
        next_p(), // error_message
        Arc::new(resource.finish()),
        next_p(), // request_parameters
        next_p(), // response_elements
        next_p(), // event_id
        Arc::new(source_file.finish()),
        Arc::new(line.finish()),
        Arc::new(invoked_by.finish()),
    ];
    RecordBatch::try_new(table::built_schema(&COLUMNS), columns)
        .expect("control columns match the schema")
}

/// Where the database logs of an instance or cluster come from, told from a CloudWatch log
/// group named in the file (`/aws/rds/instance/<id>/<log>`, `/aws/rds/cluster/<id>/<log>`):
/// the identifier, when `text` names exactly one.
pub fn identifier_from_log_group(text: &[u8]) -> Option<String> {
    let mut found: Option<String> = None;
    for prefix in [&b"/aws/rds/instance/"[..], b"/aws/rds/cluster/"] {
        for at in memchr::memmem::find_iter(text, prefix) {
            let rest = &text[at + prefix.len()..];
            let end = rest
                .iter()
                .position(|&c| !(c.is_ascii_alphanumeric() || c == b'-'))
                .unwrap_or(rest.len());
            if end == 0 || rest.get(end) != Some(&b'/') {
                continue;
            }
            let id = String::from_utf8_lossy(&rest[..end]).into_owned();
            match &found {
                Some(f) if *f != id => return None,
                _ => found = Some(id),
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_group_names_its_instance_or_cluster_once() {
        assert_eq!(
            identifier_from_log_group(br#"{"logGroup":"/aws/rds/instance/prod-db-1/audit","x":1}"#),
            Some("prod-db-1".into())
        );
        assert_eq!(
            identifier_from_log_group(
                b"/aws/rds/cluster/prod-cluster/audit /aws/rds/cluster/prod-cluster/error"
            ),
            Some("prod-cluster".into())
        );
        assert_eq!(
            identifier_from_log_group(b"/aws/rds/instance/a/audit /aws/rds/instance/b/audit"),
            None,
            "two instances: not told"
        );
        assert_eq!(identifier_from_log_group(b"/aws/rds/instance/"), None);
    }

    #[test]
    fn a_batch_has_the_table_schema() {
        let e = ControlEvent {
            time_us: 1_772_323_200_000_123,
            event_source: "rds.amazonaws.com".into(),
            event_name: "ModifyDBInstance".into(),
            resource: Some("db1".into()),
            mfa: Some(false),
            index: 7,
            ..ControlEvent::default()
        };
        let files: Vec<Arc<str>> = vec!["trail.json".into()];
        let b = to_batch(&[&e, &e], &files);
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.num_columns(), COLUMNS.len());
    }
}
