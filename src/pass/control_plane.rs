//! The control plane's detections, and its joins with the database logs.
//!
//! Each CloudTrail record about a database (a [`ControlEvent`]) is judged on its own: a master
//! password reset, an instance made public or a security group opened to the internet on a
//! database port, a snapshot shared outside the estate (`--aws-account`), copied out or
//! exported, audit logging or TLS enforcement turned off, IAM authentication or deletion
//! protection turned off, an instance, cluster or snapshot deleted. Only calls that succeeded
//! count (a denied call changed nothing; bursts of denied calls are `control_plane_recon`),
//! and calls AWS services make for themselves (AWS Backup's snapshots) raise nothing.
//! Request keys are matched whatever the case of their letters, and a password reset is told
//! by the key's presence (AWS redacts the value, once as `****`, now as
//! `HIDDEN_DUE_TO_SECURITY_REASONS`).
//!
//! Then the two planes are joined, per instance: a reset followed within
//! `--correlation-window` by a master-user login from a source that instance had not seen
//! (`takeover_after_password_reset`); audit turned off followed by the end of that instance's
//! audit logs; an exposure followed by logins from public addresses. A database log file is
//! tied to an instance by the `[instances]` table (a server host or a part of its path), by
//! the CloudWatch log group it names, or by a folder of its path named like an identifier the
//! trail names; a file that none of these ties is listed in the summary, never guessed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::Value;

use super::plane_logins::LoginTable;
use super::{is_private, text, AnalysisConfig, Evidence, Seen};
use crate::control::{arn_name, field, ingress_rules, ControlEvent};
use crate::finding::{kind, Finding, Severity};

/// Denied RDS calls from one principal, each within this long of the previous, that make a
/// reconnaissance burst, and how many it takes.
pub(crate) const RECON_GAP_US: i64 = 10 * 60 * 1_000_000;
pub(crate) const RECON_CALLS: usize = 10;

/// What the joins need to know of the run beside the events.
pub struct ControlContext<'a> {
    pub config: &'a AnalysisConfig,
    /// Each input file as findings name it.
    pub files: &'a [Arc<str>],
    /// Per input file: when its last database event was (`None` for a file without any).
    pub last_event_us: &'a [Option<i64>],
    /// Per input file: when its first database event was.
    pub first_event_us: &'a [Option<i64>],
    /// Per input file: the instance or cluster its CloudWatch log group names, if any.
    pub log_groups: &'a [Option<String>],
    /// The latest event of the whole run, either plane.
    pub run_end_us: Option<i64>,
}

/// A database log file (or one server's part of it) and the instance it was tied to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct InstanceOf {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_host: Option<String>,
    pub instance: String,
    /// `config`, `log_group` or `path`.
    pub how: &'static str,
}

/// The control plane's findings and what the joins could tell.
#[derive(Debug, Default)]
pub struct ControlReport {
    pub findings: Vec<Finding>,
    pub identities: Vec<InstanceOf>,
    /// Database log files no rule tied to an instance (the joins skip them).
    pub unidentified: Vec<String>,
}

/// A finding of one control event, before the joins.
struct Raised<'e> {
    event: &'e ControlEvent,
    kind: &'static str,
    severity: Severity,
    detail: String,
}

/// Every finding of the control plane, and the joins with the database logins.
pub(crate) fn analyse(
    events: &[ControlEvent],
    logins: &LoginTable,
    ctx: &ControlContext<'_>,
) -> ControlReport {
    let cfg = ctx.config;
    let mut raised: Vec<Raised<'_>> = Vec::new();
    for e in events {
        judge(e, cfg, &mut raised);
    }
    let known = Known::from_trail(events);
    let ident = Identities::new(ctx, &known, logins);
    let mut findings: Vec<Finding> = Vec::new();
    for r in &raised {
        let mut f = finding_of(r, ctx);
        match r.kind {
            kind::MASTER_PASSWORD_RESET => {
                findings.extend(takeovers(r.event, &known, &ident, logins, ctx));
            }
            kind::AUDIT_DISABLED => audit_gap(&mut f, r.event, &known, &ident, ctx),
            kind::PUBLIC_EXPOSURE => public_logins(&mut f, r.event, &known, &ident, logins, ctx),
            _ => {}
        }
        findings.push(f);
    }
    findings.extend(recon(events, ctx));
    let (identities, unidentified) = ident.report(ctx);
    ControlReport {
        findings,
        identities,
        unidentified,
    }
}

fn finding_of(r: &Raised<'_>, ctx: &ControlContext<'_>) -> Finding {
    let e = r.event;
    let ev = Evidence::at(e.file, e.index);
    let file = ctx.files.get(e.file as usize).map(|s| &**s).unwrap_or("?");
    Finding {
        kind: r.kind.to_string(),
        severity: r.severity,
        first_seen_us: e.time_us,
        last_seen_us: e.time_us,
        user: e.principal_name.clone(),
        client_ip: e.source_ip.clone(),
        database: None,
        count: 1,
        detail: r.detail.clone(),
        evidence: format!("{file}:{}", e.index),
        id: String::new(),
        resource: e.resource.clone(),
        samples: vec![ev],
        geo: Default::default(),
    }
}

fn is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn is_false(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => !*b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("false"),
        _ => false,
    }
}

/// A JSON array's strings (a lone string counts as one).
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The findings one record raises on its own.
fn judge<'e>(e: &'e ControlEvent, cfg: &AnalysisConfig, out: &mut Vec<Raised<'e>>) {
    if e.error_code.is_some() || e.by_aws_service() {
        return;
    }
    let mut raise = |kind, severity, detail: String| {
        out.push(Raised {
            event: e,
            kind,
            severity,
            detail,
        })
    };
    let what = e.resource.as_deref().unwrap_or("?");
    let who = e
        .principal_name
        .as_deref()
        .unwrap_or("an unknown principal");
    let name = e.event_name.as_str();
    match e.event_source.as_str() {
        "rds.amazonaws.com" => {}
        "ec2.amazonaws.com" => {
            let req = e.request();
            let open: Vec<(String, u64)> = ingress_rules(&req)
                .into_iter()
                .filter_map(|r| {
                    let port = r.ports?;
                    r.cidrs
                        .into_iter()
                        .find(|c| c == "0.0.0.0/0" || c == "::/0")
                        .map(|c| (c, port))
                })
                .collect();
            if let Some((cidr, port)) = open.first() {
                raise(
                    kind::PUBLIC_EXPOSURE,
                    Severity::High,
                    format!("{who} opened security group {what} to {cidr} on database port {port} ({name})"),
                );
            }
            return;
        }
        _ => return,
    }
    let req = e.request();
    let resp = e.response();
    match name {
        "ModifyDBInstance" | "ModifyDBCluster" => {
            let pending = field(&resp, "pendingModifiedValues");
            if field(&req, "masterUserPassword").is_some()
                || pending
                    .and_then(|p| field(p, "masterUserPassword"))
                    .is_some()
            {
                raise(
                    kind::MASTER_PASSWORD_RESET,
                    Severity::High,
                    format!("{who} reset the master password of {what} ({name})"),
                );
            }
            if is_true(field(&req, "publiclyAccessible")) {
                raise(
                    kind::PUBLIC_EXPOSURE,
                    Severity::High,
                    format!("{who} made {what} publicly accessible ({name})"),
                );
            }
            let disabled = strings(
                field(&req, "cloudwatchLogsExportConfiguration")
                    .and_then(|c| field(c, "disableLogTypes")),
            );
            if !disabled.is_empty() {
                let audit = disabled
                    .iter()
                    .any(|t| matches!(t.as_str(), "audit" | "postgresql" | "general"));
                raise(
                    kind::AUDIT_DISABLED,
                    if audit {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    format!(
                        "{who} stopped exporting the {} log{} of {what} to CloudWatch ({name})",
                        disabled.join(", "),
                        if disabled.len() == 1 { "" } else { "s" }
                    ),
                );
            }
            if is_false(field(&req, "enableIAMDatabaseAuthentication")) {
                raise(
                    kind::IAM_AUTH_DISABLED,
                    Severity::Medium,
                    format!("{who} turned IAM database authentication off on {what} ({name})"),
                );
            }
            if is_false(field(&req, "deletionProtection")) {
                raise(
                    kind::DELETION_PROTECTION_OFF,
                    Severity::Medium,
                    format!("{who} turned deletion protection off on {what} ({name})"),
                );
            }
        }
        "CreateDBInstance"
        | "CreateDBCluster"
        | "CreateDBInstanceReadReplica"
        | "RestoreDBInstanceFromDBSnapshot"
        | "RestoreDBInstanceFromS3"
        | "RestoreDBInstanceToPointInTime"
        | "RestoreDBClusterFromSnapshot"
        | "RestoreDBClusterFromS3"
        | "RestoreDBClusterToPointInTime"
            // RDS applies `publiclyAccessible` by default: the response says what was made.
            if is_true(field(&req, "publiclyAccessible"))
                || is_true(field(&resp, "publiclyAccessible")) =>
        {
            raise(
                kind::PUBLIC_EXPOSURE,
                Severity::High,
                format!("{who} created {what} publicly accessible ({name})"),
            );
        }
        "ModifyDBParameterGroup" | "ModifyDBClusterParameterGroup" => {
            let params = match field(&req, "parameters") {
                Some(Value::Array(a)) => a.clone(),
                _ => Vec::new(),
            };
            let mut audit = Vec::new();
            let mut tls = Vec::new();
            for p in &params {
                let pname = field(p, "parameterName")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let value = match field(p, "parameterValue") {
                    Some(Value::String(s)) => s.trim().to_string(),
                    Some(v) => v.to_string(),
                    None => continue,
                };
                let off = matches!(value.to_ascii_lowercase().as_str(), "0" | "off" | "false");
                let shown = format!("{pname}={value}");
                match pname.as_str() {
                    "server_audit_logging"
                    | "server_audit_logs_upload"
                    | "log_connections"
                    | "log_disconnections"
                        if off =>
                    {
                        audit.push(shown)
                    }
                    "server_audit_events" => {
                        let v = value.to_ascii_uppercase();
                        if !(v.contains("CONNECT") && v.contains("QUERY")) {
                            audit.push(shown);
                        }
                    }
                    "server_audit_excl_users" if !value.is_empty() => audit.push(shown),
                    "pgaudit.log"
                        if matches!(value.to_ascii_lowercase().as_str(), "none" | "" | "-all") =>
                    {
                        audit.push(shown)
                    }
                    "rds.force_ssl" | "require_secure_transport" if off => tls.push(shown),
                    _ => {}
                }
            }
            if !audit.is_empty() {
                raise(
                    kind::AUDIT_DISABLED,
                    Severity::High,
                    format!(
                        "{who} set {} in parameter group {what} ({name})",
                        audit.join(", ")
                    ),
                );
            }
            if !tls.is_empty() {
                raise(
                    kind::TLS_WEAKENED,
                    Severity::High,
                    format!(
                        "{who} set {} in parameter group {what}: TLS no longer required ({name})",
                        tls.join(", ")
                    ),
                );
            }
        }
        "ModifyOptionGroup" => {
            let removed = strings(field(&req, "optionsToRemove"));
            if removed
                .iter()
                .any(|o| o.eq_ignore_ascii_case("MARIADB_AUDIT_PLUGIN"))
            {
                raise(
                    kind::AUDIT_DISABLED,
                    Severity::High,
                    format!(
                        "{who} removed the MariaDB audit plugin from option group {what} ({name})"
                    ),
                );
            }
        }
        "StopActivityStream" => raise(
            kind::AUDIT_DISABLED,
            Severity::High,
            format!("{who} stopped the database activity stream of {what} ({name})"),
        ),
        "ModifyDBSnapshotAttribute" | "ModifyDBClusterSnapshotAttribute" => {
            let attr = field(&req, "attributeName")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !attr.eq_ignore_ascii_case("restore") {
                return;
            }
            let added = strings(field(&req, "valuesToAdd"));
            let own = |a: &str| {
                cfg.aws_accounts.iter().any(|x| x == a)
                    || e.recipient_account_id.as_deref() == Some(a)
            };
            if added.iter().any(|a| a.eq_ignore_ascii_case("all")) {
                raise(
                    kind::SNAPSHOT_SHARED,
                    Severity::Critical,
                    format!("{who} made snapshot {what} public: anyone can restore it ({name})"),
                );
            } else {
                let foreign: Vec<&String> = added.iter().filter(|a| !own(a)).collect();
                if !foreign.is_empty() {
                    let list: Vec<&str> = foreign.iter().map(|s| s.as_str()).collect();
                    raise(
                        kind::SNAPSHOT_SHARED,
                        Severity::Critical,
                        format!(
                            "{who} shared snapshot {what} with account {} outside the estate ({name})",
                            list.join(", ")
                        ),
                    );
                }
            }
        }
        "CopyDBSnapshot" | "CopyDBClusterSnapshot" => {
            let account = |arn: &str| arn.split(':').nth(4).map(str::to_string);
            let own = |a: &str| {
                cfg.aws_accounts.iter().any(|x| x == a)
                    || e.recipient_account_id.as_deref() == Some(a)
            };
            let key = field(&req, "kmsKeyId")
                .and_then(Value::as_str)
                .unwrap_or("");
            let target = field(&req, "targetDBSnapshotIdentifier")
                .or_else(|| field(&req, "targetDBClusterSnapshotIdentifier"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let source = field(&req, "sourceDBSnapshotIdentifier")
                .or_else(|| field(&req, "sourceDBClusterSnapshotIdentifier"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let foreign_key = key.starts_with("arn:") && account(key).is_some_and(|a| !own(&a));
            let foreign_target =
                target.starts_with("arn:") && account(target).is_some_and(|a| !own(&a));
            let source_region = source.split(':').nth(3).filter(|r| !r.is_empty());
            let cross_region = source.starts_with("arn:")
                && source_region.is_some()
                && source_region != e.aws_region.as_deref();
            if foreign_key || foreign_target {
                raise(
                    kind::SNAPSHOT_COPIED_OUT,
                    Severity::High,
                    format!(
                        "{who} copied snapshot {} under {} of another account ({name})",
                        arn_name(source),
                        if foreign_key {
                            format!("KMS key {key}")
                        } else {
                            format!("target {target}")
                        }
                    ),
                );
            } else if cross_region {
                raise(
                    kind::SNAPSHOT_COPIED_OUT,
                    Severity::Medium,
                    format!(
                        "{who} copied snapshot {} from {} to {} ({name})",
                        arn_name(source),
                        source_region.unwrap_or("?"),
                        e.aws_region.as_deref().unwrap_or("?")
                    ),
                );
            }
        }
        "StartExportTask" => {
            let bucket = field(&req, "s3BucketName")
                .and_then(Value::as_str)
                .unwrap_or("?");
            raise(
                kind::SNAPSHOT_EXPORT,
                Severity::High,
                format!("{who} exported {what} to S3 bucket {bucket} ({name})"),
            );
        }
        "DeleteDBInstance"
        | "DeleteDBCluster"
        | "DeleteDBSnapshot"
        | "DeleteDBClusterSnapshot"
        | "DeleteGlobalCluster"
        | "DeleteDBInstanceAutomatedBackup"
        | "DeleteDBClusterAutomatedBackup" => {
            let skip = is_true(field(&req, "skipFinalSnapshot"));
            let backups =
                is_true(field(&req, "deleteAutomatedBackups")) || name.ends_with("AutomatedBackup");
            let (severity, how) = match (skip, backups) {
                (true, true) => (
                    Severity::Critical,
                    ", with no final snapshot and its automated backups",
                ),
                (true, false) => (Severity::Critical, ", with no final snapshot"),
                (false, true) => (Severity::Critical, ", automated backups included"),
                _ => (Severity::High, ""),
            };
            raise(
                kind::DESTROYED,
                severity,
                format!("{who} deleted {what}{how} ({name})"),
            );
        }
        _ => {}
    }
}

/// Bursts of denied RDS calls from one principal.
fn recon(events: &[ControlEvent], ctx: &ControlContext<'_>) -> Vec<Finding> {
    let mut by: BTreeMap<String, Vec<&ControlEvent>> = BTreeMap::new();
    for e in events {
        if e.event_source == "rds.amazonaws.com" && e.is_denied() {
            let who = e
                .principal_arn
                .clone()
                .or_else(|| e.principal_name.clone())
                .unwrap_or_default();
            by.entry(who).or_default().push(e);
        }
    }
    let mut out = Vec::new();
    for calls in by.values_mut() {
        calls.sort_by_key(|e| (e.time_us, e.file, e.index));
        let mut start = 0;
        for i in 1..=calls.len() {
            if i < calls.len() && calls[i].time_us - calls[i - 1].time_us <= RECON_GAP_US {
                continue;
            }
            let burst = &calls[start..i];
            start = i;
            if burst.len() < RECON_CALLS {
                continue;
            }
            let first = burst[0];
            let names: BTreeSet<&str> = burst.iter().map(|e| e.event_name.as_str()).collect();
            let mut seen = Seen::new(first.time_us, Evidence::at(first.file, first.index));
            for e in &burst[1..] {
                seen.add(e.time_us, Evidence::at(e.file, e.index));
            }
            let names: Vec<&str> = names.into_iter().collect();
            let ctx2 = super::FinishContext {
                config: ctx.config,
                files: ctx.files,
            };
            let mut f = seen.finding(
                &ctx2,
                kind::CONTROL_PLANE_RECON,
                Severity::Medium,
                first.principal_name.clone(),
                first.source_ip.clone(),
                None,
                format!(
                    "{} RDS calls denied to {} within minutes of each other: {}",
                    burst.len(),
                    first
                        .principal_name
                        .as_deref()
                        .unwrap_or("an unknown principal"),
                    names.join(", ")
                ),
            );
            f.resource = first.resource.clone();
            out.push(f);
        }
    }
    out
}

/// What the trail says about the estate: the identifiers it names, each instance's cluster,
/// the security groups and parameter groups of each instance, and the master user names.
#[derive(Default)]
struct Known {
    ids: BTreeSet<String>,
    cluster_of: HashMap<String, String>,
    /// Security group or parameter group → the instances and clusters that use it.
    used_by: HashMap<String, BTreeSet<String>>,
    masters: HashMap<String, BTreeSet<String>>,
}

impl Known {
    fn from_trail(events: &[ControlEvent]) -> Known {
        let mut k = Known::default();
        for e in events
            .iter()
            .filter(|e| e.event_source == "rds.amazonaws.com")
        {
            if let Some(r) = &e.resource {
                k.ids.insert(r.clone());
            }
            for v in [e.request(), e.response()] {
                let s = |key: &str| field(&v, key).and_then(Value::as_str).map(str::to_string);
                let instance = s("dBInstanceIdentifier");
                let cluster = s("dBClusterIdentifier");
                let me = instance.clone().or_else(|| cluster.clone());
                for id in [&instance, &cluster].into_iter().flatten() {
                    k.ids.insert(id.clone());
                }
                if let (Some(i), Some(c)) = (&instance, &cluster) {
                    k.cluster_of.insert(i.clone(), c.clone());
                }
                if let Some(Value::Array(members)) = field(&v, "dBClusterMembers") {
                    for m in members {
                        if let (Some(i), Some(c)) = (
                            field(m, "dBInstanceIdentifier").and_then(Value::as_str),
                            &cluster,
                        ) {
                            k.ids.insert(i.to_string());
                            k.cluster_of.insert(i.to_string(), c.clone());
                        }
                    }
                }
                let Some(me) = me else { continue };
                if let Some(m) = s("masterUsername") {
                    k.masters.entry(me.clone()).or_default().insert(m);
                }
                for (list, key) in [
                    ("vpcSecurityGroups", "vpcSecurityGroupId"),
                    ("dBParameterGroups", "dBParameterGroupName"),
                ] {
                    if let Some(Value::Array(a)) = field(&v, list) {
                        for g in a
                            .iter()
                            .filter_map(|g| field(g, key).and_then(Value::as_str))
                        {
                            k.used_by
                                .entry(g.to_string())
                                .or_default()
                                .insert(me.clone());
                        }
                    }
                }
                if let Some(g) = s("dBClusterParameterGroup") {
                    k.used_by.entry(g).or_default().insert(me.clone());
                }
            }
        }
        k
    }

    /// The instances and clusters a finding's resource stands for: itself, and for a
    /// security or parameter group the databases the trail shows using it.
    fn targets(&self, resource: &str) -> BTreeSet<String> {
        let mut t: BTreeSet<String> = self.used_by.get(resource).cloned().unwrap_or_default();
        t.insert(resource.to_string());
        t
    }

    /// Whether logs tied to `id` belong to `target` (the same, or an instance of the cluster).
    fn belongs(&self, id: &str, target: &str) -> bool {
        id == target || self.cluster_of.get(id).is_some_and(|c| c == target)
    }
}

/// Which instance each database log file (and server host in it) belongs to.
struct Identities {
    /// Per file: the instance and how it was told.
    by_file: Vec<Option<(String, &'static str)>>,
    /// Per (file, server host) from `[instances]` server hosts.
    by_host: HashMap<(u32, Box<[u8]>), String>,
}

impl Identities {
    fn new(ctx: &ControlContext<'_>, known: &Known, logins: &LoginTable) -> Identities {
        let cfg = ctx.config;
        let by_file = ctx
            .files
            .iter()
            .enumerate()
            .map(|(f, path)| {
                let components: Vec<&str> = path.split(['/', '\\']).collect();
                for (id, patterns) in &cfg.instances {
                    if patterns.iter().any(|p| {
                        let p = p.trim_matches(['/', '\\']);
                        !p.is_empty()
                            && if p.contains('/') {
                                path.contains(p)
                            } else {
                                components.contains(&p)
                            }
                    }) {
                        return Some((id.clone(), "config"));
                    }
                }
                if let Some(Some(id)) = ctx.log_groups.get(f) {
                    return Some((id.clone(), "log_group"));
                }
                // The deepest folder named like an identifier of the trail.
                components[..components.len().saturating_sub(1)]
                    .iter()
                    .rev()
                    .find(|c| known.ids.contains(**c))
                    .map(|c| (c.to_string(), "path"))
            })
            .collect();
        let mut by_host = HashMap::new();
        for (file, host, _, _) in logins.keys() {
            for (id, patterns) in &cfg.instances {
                if patterns.iter().any(|p| p.as_bytes() == &host[..]) {
                    by_host.insert((*file, host.clone()), id.clone());
                }
            }
        }
        Identities { by_file, by_host }
    }

    fn of(&self, file: u32, host: &[u8]) -> Option<&str> {
        self.by_host
            .get(&(file, Box::from(host)))
            .map(String::as_str)
            .or_else(|| {
                self.by_file
                    .get(file as usize)
                    .and_then(|x| x.as_ref())
                    .map(|x| x.0.as_str())
            })
    }

    /// The files tied to an instance, and the database log files tied to none.
    fn report(&self, ctx: &ControlContext<'_>) -> (Vec<InstanceOf>, Vec<String>) {
        let mut tied = Vec::new();
        let mut untied = Vec::new();
        for (f, id) in self.by_file.iter().enumerate() {
            let is_db_log = ctx.last_event_us.get(f).copied().flatten().is_some();
            match id {
                Some((id, how)) if is_db_log => tied.push(InstanceOf {
                    file: ctx.files[f].to_string(),
                    server_host: None,
                    instance: id.clone(),
                    how,
                }),
                None if is_db_log && !self.by_host.keys().any(|(file, _)| *file as usize == f) => {
                    untied.push(ctx.files[f].to_string())
                }
                _ => {}
            }
        }
        let mut hosts: Vec<_> = self.by_host.iter().collect();
        hosts.sort();
        for ((file, host), id) in hosts {
            tied.push(InstanceOf {
                file: ctx.files[*file as usize].to_string(),
                server_host: Some(text(host)),
                instance: id.clone(),
                how: "config",
            });
        }
        (tied, untied)
    }
}

/// Logins on the databases of `targets`, per (user, source): the first login's time and
/// evidence, over every file and server tied to them.
fn logins_on(
    targets: &BTreeSet<String>,
    known: &Known,
    ident: &Identities,
    logins: &LoginTable,
) -> BTreeMap<(String, String), Seen> {
    let mut out: BTreeMap<(String, String), Seen> = BTreeMap::new();
    for ((file, host, user, source), seen) in logins {
        let Some(id) = ident.of(*file, host) else {
            continue;
        };
        if !targets.iter().any(|t| known.belongs(id, t)) {
            continue;
        }
        out.entry((text(user), text(source)))
            .and_modify(|s| s.merge(*seen))
            .or_insert(*seen);
    }
    out
}

/// Master-user logins from a source the instance had not seen, within the window after the
/// reset `e`.
fn takeovers(
    e: &ControlEvent,
    known: &Known,
    ident: &Identities,
    logins: &LoginTable,
    ctx: &ControlContext<'_>,
) -> Vec<Finding> {
    let Some(resource) = e.resource.as_deref() else {
        return Vec::new();
    };
    let cfg = ctx.config;
    let mut masters: BTreeSet<String> = cfg.master_users.iter().cloned().collect();
    for (id, names) in &known.masters {
        if known.belongs(resource, id) || known.belongs(id, resource) {
            masters.extend(names.iter().cloned());
        }
    }
    let targets = known.targets(resource);
    let window = cfg.correlation_window_secs * 1_000_000;
    // Logs that begin after the reset hold no source from before it: say so.
    let begins = ident
        .by_file
        .iter()
        .enumerate()
        .filter(|(_, id)| {
            id.as_ref()
                .is_some_and(|(id, _)| targets.iter().any(|t| known.belongs(id, t)))
        })
        .filter_map(|(f, _)| ctx.first_event_us.get(f).copied().flatten())
        .min();
    let caveat = match begins {
        Some(b) if b > e.time_us => format!(
            " (the instance's logs begin at {}, after the reset: no earlier source to compare with)",
            crate::time::rfc3339(b)
        ),
        _ => String::new(),
    };
    let mut out = Vec::new();
    for ((user, source), seen) in logins_on(&targets, known, ident, logins) {
        if !masters.contains(&user)
            || seen.first_us <= e.time_us
            || seen.first_us > e.time_us + window
        {
            continue;
        }
        let ctx2 = super::FinishContext {
            config: cfg,
            files: ctx.files,
        };
        let minutes = (seen.first_us - e.time_us) / 60_000_000;
        let mut f = seen.finding(
            &ctx2,
            kind::TAKEOVER_AFTER_PASSWORD_RESET,
            Severity::Critical,
            Some(user.clone()),
            Some(source.clone()),
            None,
            format!(
                "master user {user} logged in to {resource} from {source}, never seen before, {minutes} min after {} reset its password from {}{caveat}",
                e.principal_name.as_deref().unwrap_or("an unknown principal"),
                e.source_ip.as_deref().unwrap_or("?"),
            ),
        );
        f.resource = Some(resource.to_string());
        out.push(f);
    }
    out
}

/// Audit turned off, then the instance's audit logs stop while the run goes on: the finding
/// becomes critical and says when they stopped.
fn audit_gap(
    f: &mut Finding,
    e: &ControlEvent,
    known: &Known,
    ident: &Identities,
    ctx: &ControlContext<'_>,
) {
    let Some(resource) = e.resource.as_deref() else {
        return;
    };
    let targets = known.targets(resource);
    let window = ctx.config.correlation_window_secs * 1_000_000;
    let mut last: Option<i64> = None;
    for (file, id) in ident.by_file.iter().enumerate() {
        let Some((id, _)) = id else { continue };
        if targets.iter().any(|t| known.belongs(id, t)) {
            if let Some(t) = ctx.last_event_us.get(file).copied().flatten() {
                last = Some(last.map_or(t, |l: i64| l.max(t)));
            }
        }
    }
    let (Some(last), Some(end)) = (last, ctx.run_end_us) else {
        return;
    };
    if last >= e.time_us - window && last <= e.time_us + window && end > last + window {
        f.severity = Severity::Critical;
        f.detail += &format!(
            "; its audit logs stop at {}, {} min after the change, while the run goes on to {}",
            crate::time::rfc3339(last),
            (last - e.time_us).max(0) / 60_000_000,
            crate::time::rfc3339(end)
        );
    }
}

/// An exposure followed, within the window, by logins from public addresses: critical, with
/// the sources named.
fn public_logins(
    f: &mut Finding,
    e: &ControlEvent,
    known: &Known,
    ident: &Identities,
    logins: &LoginTable,
    ctx: &ControlContext<'_>,
) {
    let Some(resource) = e.resource.as_deref() else {
        return;
    };
    let targets = known.targets(resource);
    let window = ctx.config.correlation_window_secs * 1_000_000;
    let mut sources = BTreeSet::new();
    for ((user, source), seen) in logins_on(&targets, known, ident, logins) {
        let public = source
            .parse::<IpAddr>()
            .is_ok_and(|ip| !ip.is_loopback() && !ip.is_unspecified() && !is_private(ip));
        if public && seen.last_us > e.time_us && seen.first_us <= e.time_us + window {
            sources.insert(format!("{user}@{source}"));
        }
    }
    if !sources.is_empty() {
        f.severity = Severity::Critical;
        let list: Vec<&str> = sources.iter().take(5).map(String::as_str).collect();
        f.detail += &format!(
            "; then logins from public addresses: {}{}",
            list.join(", "),
            if sources.len() > 5 { ", …" } else { "" }
        );
    }
}

#[cfg(test)]
mod tests;
