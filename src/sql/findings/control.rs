//! The control plane in the findings query: the kinds `pass::control_plane` raises from the
//! `control` table (each CloudTrail record judged on its own, and bursts of denied calls),
//! and its three joins with the logins of the `events` table. Written once over
//! [`Dialect`]'s JSON and array functions (Trino `json_extract_scalar`, Spark
//! `get_json_object`, DuckDB `json_extract_string`; lambdas for the arrays inside the
//! parameters).
//!
//! - **Records** (`judge`): one `SELECT` per rule, over the successful calls not made by an
//!   AWS service, reading `request_parameters` and `response_elements` by JSON path. A key is
//!   matched as CloudTrail spells it (first letter lowered) or with its first letter upper;
//!   the scan matches it whatever the case of its letters.
//! - **Recon**: denied RDS calls per principal, split where the gap exceeds ten minutes
//!   (`LAG` and a running sum), bursts of ten or more.
//! - **What the trail says of the estate** (`Known`): its identifiers, each instance's
//!   cluster, the security and parameter groups each database uses, the master user names,
//!   from both parameter documents of every RDS record (arrays unnested).
//! - **Which instance a log belongs to** (`Identities`): an `[instances]` server host, else
//!   an `[instances]` path part, else the deepest folder of `source_file` named like an
//!   identifier of the trail. A file tied only by the CloudWatch log group written inside it
//!   is not tied here: the group is read from the file's first bytes, and no table keeps it
//!   (add the instance to `[instances]`).
//! - **Joins**: the logins on the databases a finding's resource stands for, per user and
//!   source (`takeover_after_password_reset`; a public exposure followed by logins from
//!   public addresses; audit turned off and that instance's logs ending while the run goes
//!   on), with `--correlation-window` inlined.

use crate::control::DATABASE_PORTS;
use crate::finding::kind;
use crate::pass::control_plane::{RECON_CALLS, RECON_GAP_US};

use super::{Query, SEVERITIES};

const RDS: &str = "rds.amazonaws.com";
const EC2: &str = "ec2.amazonaws.com";
const OPEN: &str = "('0.0.0.0/0', '::/0')";

fn rank(s: &str) -> usize {
    SEVERITIES.iter().position(|x| *x == s).expect("known")
}

/// `key` with its first letter upper.
fn upper_first(key: &str) -> String {
    let mut c = key.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl Query<'_> {
    /// `f(path)` for the member at `keys` (each key as written or with its first letter
    /// upper, the first present winning at each level, as `control::field`), else `none`.
    fn member(&self, doc: &str, keys: &[&str], f: &dyn Fn(&str) -> String, none: &str) -> String {
        fn go(
            q: &Query<'_>,
            doc: &str,
            at: &str,
            keys: &[&str],
            f: &dyn Fn(&str) -> String,
            none: &str,
        ) -> String {
            let Some((k, rest)) = keys.split_first() else {
                return f(at);
            };
            let mut s = String::from("CASE");
            let mut spellings = vec![k.to_string()];
            if upper_first(k) != *k {
                spellings.push(upper_first(k));
            }
            for sp in spellings {
                let path = format!("{at}.{sp}");
                s += &format!(
                    " WHEN {} THEN {}",
                    q.d.json_has(doc, &path),
                    go(q, doc, &path, rest, f, none)
                );
            }
            s + &format!(" ELSE {none} END")
        }
        go(self, doc, "$", keys, f, none)
    }

    /// The scalar at `keys` as text.
    fn jstr(&self, doc: &str, keys: &[&str]) -> String {
        let d = self.d;
        self.member(doc, keys, &|p| d.json_str(doc, p), "NULL")
    }

    /// The strings at `keys` (`pass::control_plane::strings`).
    fn jstrings(&self, doc: &str, keys: &[&str]) -> String {
        let d = self.d;
        self.member(doc, keys, &|p| d.json_strings(doc, p), &d.no_strings())
    }

    /// The array elements at `keys`.
    fn jitems(&self, doc: &str, keys: &[&str]) -> String {
        let d = self.d;
        self.member(doc, keys, &|p| d.json_items(doc, p), &d.no_items())
    }

    /// `pass::control_plane::is_true` / `is_false` of the member at `keys`.
    fn jbool(&self, doc: &str, keys: &[&str], value: bool) -> String {
        format!(
            "COALESCE(LOWER({}) = '{value}', FALSE)",
            self.jstr(doc, keys)
        )
    }

    /// `control::ingress_rules` for one permission `p`, as "it opens a database port to the
    /// internet". `lowered`: a `securityGroupRules` rule, whose own keys the scan reads
    /// with their first letter lowered (so either spelling); elsewhere keys are exact.
    fn opens(&self, p: &str, lowered: bool) -> String {
        let d = self.d;
        let key = |k: &str| -> String {
            if lowered {
                format!(
                    "COALESCE({}, {})",
                    d.json_str(p, &format!("$.{k}")),
                    d.json_str(p, &format!("$.{}", upper_first(k)))
                )
            } else {
                d.json_str(p, &format!("$.{k}"))
            }
        };
        let proto = format!("COALESCE({}, '')", key("ipProtocol"));
        let from = d.bigint(&format!("TRIM({})", key("fromPort")));
        let to = format!(
            "COALESCE({}, {from})",
            d.bigint(&format!("TRIM({})", key("toPort")))
        );
        let ports: Vec<String> = DATABASE_PORTS
            .iter()
            .map(|port| format!("({from} <= {port} AND {to} >= {port})"))
            .collect();
        let port = format!(
            "({proto} = '-1' OR LOWER({proto}) = 'all' OR COALESCE({proto} IN ('tcp', '6') AND ({}), FALSE))",
            ports.join(" OR ")
        );
        let mut open = Vec::new();
        let mut range_keys = vec![("ipRanges", "cidrIp"), ("ipv6Ranges", "cidrIpv6")];
        if lowered {
            range_keys.extend([("IpRanges", "cidrIp"), ("Ipv6Ranges", "cidrIpv6")]);
        }
        for (list, cidr) in range_keys {
            for path in [format!("$.{list}"), format!("$.{list}.items")] {
                open.push(d.any(
                    &d.json_items(p, &path),
                    "xv",
                    &format!(
                        "COALESCE({} IN {OPEN}, FALSE)",
                        d.json_str("xv", &format!("$.{cidr}"))
                    ),
                ));
            }
        }
        for k in ["cidrIpv4", "cidrIpv6", "cidrIp"] {
            open.push(format!("COALESCE({} IN {OPEN}, FALSE)", key(k)));
        }
        format!("({port} AND ({}))", open.join(" OR "))
    }

    /// EC2 requests that open a security group to the internet on a database port
    /// (`control::ingress_rules`: `ipPermissions`, `securityGroupRules`, a lone `cidrIp`):
    /// CTE `ec2o`, the (file, line) of each such call of `cj`.
    fn ec2_opens(&mut self) {
        let d = self.d;
        let calls = format!("(SELECT file, line, rq FROM cj WHERE svc = '{EC2}')");
        // Which list of `securityGroupRules` the scan reads (the first present).
        let mut which = String::from("CASE");
        let mut lists = Vec::new();
        for at in ["$.ModifySecurityGroupRulesRequest", "$"] {
            for key in ["securityGroupRules", "SecurityGroupRule"] {
                lists.push(format!("{at}.{key}"));
            }
        }
        for (n, path) in lists.iter().enumerate() {
            let at = if n < 2 {
                "$.ModifySecurityGroupRulesRequest"
            } else {
                "$"
            };
            let mut cond = vec![];
            if n < 2 {
                cond.push(d.json_has("rq", at));
            } else {
                cond.push(format!(
                    "NOT {}",
                    d.json_has("rq", "$.ModifySecurityGroupRulesRequest")
                ));
            }
            if n % 2 == 0 {
                cond.push(d.json_has("rq", path));
            }
            which += &format!(" WHEN {} THEN {n}", cond.join(" AND "));
        }
        which += " END";
        let mut perms = Vec::new();
        for path in ["$.ipPermissions", "$.ipPermissions.items"] {
            perms.push(format!(
                "SELECT c.file, c.line, pv AS p, FALSE AS lw FROM {}",
                d.each(&calls, "c", &d.json_items("c.rq", path), "pv")
            ));
        }
        let rules = format!("(SELECT file, line, rq, {which} AS which FROM {calls} w)");
        let mut rule = String::from("CASE");
        for k in ["securityGroupRule", "SecurityGroupRule"] {
            let path = format!("$.{k}");
            rule += &format!(
                " WHEN {} THEN {}",
                d.json_has("rv", &path),
                d.json_sub("rv", &path)
            );
        }
        rule += " ELSE rv END";
        for (n, list) in lists.iter().enumerate() {
            for path in [list.clone(), format!("{list}.items")] {
                perms.push(format!(
                    "SELECT c.file, c.line, {rule} AS p, TRUE AS lw FROM {} WHERE c.which = {n}",
                    d.each(&rules, "c", &d.json_items("c.rq", &path), "rv")
                ));
            }
        }
        perms.push(format!(
            "SELECT file, line, rq AS p, FALSE AS lw FROM {calls} t WHERE {}",
            d.json_has("rq", "$.cidrIp")
        ));
        self.cte("ec2p", perms.join(" UNION ALL "));
        self.cte(
            "ec2o",
            format!(
                "SELECT DISTINCT file, line FROM ec2p WHERE (lw AND {}) OR (NOT lw AND {})",
                self.opens("p", true),
                self.opens("p", false)
            ),
        );
    }

    /// `own(a)`: one of the estate's accounts (`--aws-account`) or the record's recipient.
    fn own(&self, a: &str) -> String {
        let accounts: Vec<&str> = self.c.aws_accounts.iter().map(|s| s.as_str()).collect();
        format!(
            "({} OR COALESCE({a} = ra, FALSE))",
            self.is_in(a, &accounts)
        )
    }

    /// The `n`th `:`-separated part of an ARN (1-based), NULL when it has fewer parts.
    fn arn_part(&self, s: &str, n: u32) -> String {
        format!(
            "CASE WHEN length({s}) - length(replace({s}, ':', '')) >= {} THEN {} END",
            n - 1,
            self.d.split_part(s, ":", n)
        )
    }

    /// The control-plane CTEs over `control` (see [`super::Dialect::events_table`]), and
    /// their finding rows pushed on `finds`.
    pub(super) fn control(&mut self, control: &str, finds: &mut Vec<String>) {
        let d = self.d;
        let c = self.c;
        let null = d.text("NULL");
        let window = c.correlation_window_secs * 1_000_000;
        self.cte(
            "ct0",
            format!(
                "SELECT event_time_us AS t, event_source AS svc, event_name AS nm, principal_name AS pn, \
                 principal_arn AS pa, principal_type AS pt, invoked_by AS ib, source_ip AS sip, error_code AS ec, \
                 resource AS res, {} AS rq, {} AS rs, recipient_account_id AS ra, aws_region AS reg, \
                 event_id AS eid, source_file AS file, source_line AS line FROM {}",
                d.json_doc("request_parameters"),
                d.json_doc("response_elements"),
                d.events_table(control)
            ),
        );
        // Sharded scans may each hold a record (a trail file and a lookup page): one per id.
        self.cte(
            "ct",
            format!(
                "SELECT * FROM (SELECT c.*, ROW_NUMBER() OVER (PARTITION BY COALESCE(eid, {}) ORDER BY t, file, line) AS dup \
                 FROM ct0 c) x WHERE dup = 1",
                self.place("file", "line")
            ),
        );
        // Calls that changed something, made by a person or an application.
        self.cte(
            "cj",
            format!(
                "SELECT * FROM ct WHERE ec IS NULL AND svc IN ('{RDS}', '{EC2}') AND NOT (COALESCE(pt, '') = 'AWSService' \
                 OR COALESCE(ib, '') LIKE '%.amazonaws.com' OR COALESCE(sip, '') LIKE '%.amazonaws.com')"
            ),
        );

        // Parameter-group changes, one row per parameter: those that turn audit off or stop
        // requiring TLS.
        let pgroups = "nm IN ('ModifyDBParameterGroup', 'ModifyDBClusterParameterGroup')";
        self.cte(
            "cpar",
            format!(
                "SELECT c.file, c.line, LOWER(COALESCE({}, '')) AS pname, {} AS pvalue FROM {}",
                self.jstr("px", &["parameterName"]),
                self.member(
                    "px",
                    &["parameterValue"],
                    &|p| format!("COALESCE(TRIM({}), 'null')", d.json_str("px", p)),
                    "NULL",
                ),
                d.each(
                    &format!("(SELECT file, line, rq FROM cj WHERE svc = '{RDS}' AND {pgroups})"),
                    "c",
                    &self.jitems("c.rq", &["parameters"]),
                    "px"
                )
            ),
        );
        let off = "LOWER(pvalue) IN ('0', 'off', 'false')";
        self.cte(
            "cparf",
            format!(
                "SELECT file, line, \
                 MAX(CASE WHEN (pname IN ('server_audit_logging', 'server_audit_logs_upload', 'log_connections', 'log_disconnections') AND {off}) \
                 OR (pname = 'server_audit_events' AND NOT ({} AND {})) \
                 OR (pname = 'server_audit_excl_users' AND pvalue <> '') \
                 OR (pname = 'pgaudit.log' AND LOWER(pvalue) IN ('none', '', '-all')) THEN 1 ELSE 0 END) AS paudit, \
                 MAX(CASE WHEN pname IN ('rds.force_ssl', 'require_secure_transport') AND {off} THEN 1 ELSE 0 END) AS ptls \
                 FROM cpar WHERE pvalue IS NOT NULL GROUP BY file, line",
                d.contains("UPPER(pvalue)", "CONNECT"),
                d.contains("UPPER(pvalue)", "QUERY"),
            ),
        );
        // What the rules read of each call, computed once.
        let first_of = |a: &str, b: &str| -> String {
            format!(
                "COALESCE(CASE WHEN {} THEN {} WHEN {} THEN {} END, '')",
                self.member("rq", &[a], &|_| "TRUE".into(), "FALSE"),
                self.jstr("rq", &[a]),
                self.member("rq", &[b], &|_| "TRUE".into(), "FALSE"),
                self.jstr("rq", &[b]),
            )
        };
        self.cte(
            "cx0",
            format!(
                "SELECT c.*, {} AS dis, {} AS added, COALESCE({}, '') AS kkey, {} AS ktgt, {} AS ksrc, \
                 COALESCE(f.paudit, 0) AS paudit, COALESCE(f.ptls, 0) AS ptls \
                 FROM cj c LEFT JOIN cparf f ON f.file = c.file AND f.line = c.line WHERE c.svc = '{RDS}'",
                self.jstrings("rq", &["cloudwatchLogsExportConfiguration", "disableLogTypes"]),
                self.jstrings("rq", &["valuesToAdd"]),
                self.jstr("rq", &["kmsKeyId"]),
                first_of("targetDBSnapshotIdentifier", "targetDBClusterSnapshotIdentifier"),
                first_of("sourceDBSnapshotIdentifier", "sourceDBClusterSnapshotIdentifier"),
            ),
        );
        let foreign = |arn: &str| {
            format!(
                "({arn} LIKE 'arn:%' AND {acct} IS NOT NULL AND NOT {})",
                self.own(&self.arn_part(arn, 5)),
                acct = self.arn_part(arn, 5)
            )
        };
        self.cte(
            "cx",
            format!(
                "SELECT x.*, CASE WHEN {} OR {} THEN {} \
                 WHEN ksrc LIKE 'arn:%' AND sreg IS NOT NULL AND (reg IS NULL OR sreg <> reg) THEN {} END AS copied \
                 FROM (SELECT cx0.*, NULLIF({}, '') AS sreg FROM cx0) x",
                foreign("kkey"),
                foreign("ktgt"),
                rank("high"),
                rank("medium"),
                self.arn_part("ksrc", 4),
            ),
        );

        // One SELECT per rule of `judge`: (kind, severity rank, condition, what was done).
        let modify = "nm IN ('ModifyDBInstance', 'ModifyDBCluster')";
        let creates = [
            "CreateDBInstance",
            "CreateDBCluster",
            "CreateDBInstanceReadReplica",
            "RestoreDBInstanceFromDBSnapshot",
            "RestoreDBInstanceFromS3",
            "RestoreDBInstanceToPointInTime",
            "RestoreDBClusterFromSnapshot",
            "RestoreDBClusterFromS3",
            "RestoreDBClusterToPointInTime",
        ];
        let deletes = [
            "DeleteDBInstance",
            "DeleteDBCluster",
            "DeleteDBSnapshot",
            "DeleteDBClusterSnapshot",
            "DeleteGlobalCluster",
            "DeleteDBInstanceAutomatedBackup",
            "DeleteDBClusterAutomatedBackup",
        ];
        let skip = self.jbool("rq", &["skipFinalSnapshot"], true);
        let backups = format!(
            "({} OR nm LIKE '%AutomatedBackup')",
            self.jbool("rq", &["deleteAutomatedBackups"], true)
        );
        let rules: Vec<(&str, String, String, &str)> = vec![
            (
                kind::MASTER_PASSWORD_RESET,
                rank("high").to_string(),
                format!(
                    "{modify} AND ({} OR {})",
                    self.member("rq", &["masterUserPassword"], &|_| "TRUE".into(), "FALSE"),
                    self.member("rs", &["pendingModifiedValues", "masterUserPassword"], &|_| "TRUE".into(), "FALSE"),
                ),
                "reset the master password of",
            ),
            (
                kind::PUBLIC_EXPOSURE,
                rank("high").to_string(),
                format!("{modify} AND {}", self.jbool("rq", &["publiclyAccessible"], true)),
                "made publicly accessible",
            ),
            (
                kind::AUDIT_DISABLED,
                format!(
                    "CASE WHEN {} THEN {} ELSE {} END",
                    d.any("dis", "lv", "lv IN ('audit', 'postgresql', 'general')"),
                    rank("high"),
                    rank("medium")
                ),
                format!("{modify} AND {} > 0", d.size("dis")),
                "stopped exporting logs to CloudWatch of",
            ),
            (
                kind::IAM_AUTH_DISABLED,
                rank("medium").to_string(),
                format!("{modify} AND {}", self.jbool("rq", &["enableIAMDatabaseAuthentication"], false)),
                "turned IAM database authentication off on",
            ),
            (
                kind::DELETION_PROTECTION_OFF,
                rank("medium").to_string(),
                format!("{modify} AND {}", self.jbool("rq", &["deletionProtection"], false)),
                "turned deletion protection off on",
            ),
            (
                kind::PUBLIC_EXPOSURE,
                rank("high").to_string(),
                format!(
                    "{} AND ({} OR {})",
                    self.is_in("nm", &creates),
                    self.jbool("rq", &["publiclyAccessible"], true),
                    self.jbool("rs", &["publiclyAccessible"], true)
                ),
                "created publicly accessible",
            ),
            (
                kind::AUDIT_DISABLED,
                rank("high").to_string(),
                format!("{pgroups} AND paudit = 1"),
                "turned audit logging off in parameter group",
            ),
            (
                kind::TLS_WEAKENED,
                rank("high").to_string(),
                format!("{pgroups} AND ptls = 1"),
                "stopped requiring TLS in parameter group",
            ),
            (
                kind::AUDIT_DISABLED,
                rank("high").to_string(),
                format!(
                    "nm = 'ModifyOptionGroup' AND {}",
                    d.any(
                        &self.jstrings("rq", &["optionsToRemove"]),
                        "ov",
                        "UPPER(ov) = 'MARIADB_AUDIT_PLUGIN'"
                    )
                ),
                "removed the MariaDB audit plugin from option group",
            ),
            (
                kind::AUDIT_DISABLED,
                rank("high").to_string(),
                "nm = 'StopActivityStream'".into(),
                "stopped the database activity stream of",
            ),
            (
                kind::SNAPSHOT_SHARED,
                rank("critical").to_string(),
                format!(
                    "nm IN ('ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute') AND LOWER(COALESCE({}, '')) = 'restore' \
                     AND ({} OR {})",
                    self.jstr("rq", &["attributeName"]),
                    d.any("added", "av", "LOWER(av) = 'all'"),
                    d.any("added", "av", &format!("NOT {}", self.own("av")))
                ),
                "shared outside the estate snapshot",
            ),
            (
                kind::SNAPSHOT_COPIED_OUT,
                "copied".into(),
                "nm IN ('CopyDBSnapshot', 'CopyDBClusterSnapshot') AND copied IS NOT NULL".into(),
                "copied out snapshot",
            ),
            (
                kind::SNAPSHOT_EXPORT,
                rank("high").to_string(),
                "nm = 'StartExportTask'".into(),
                "exported to S3",
            ),
            (
                kind::DESTROYED,
                format!(
                    "CASE WHEN {skip} OR {backups} THEN {} ELSE {} END",
                    rank("critical"),
                    rank("high")
                ),
                self.is_in("nm", &deletes),
                "deleted",
            ),
        ];
        let mut judged: Vec<String> = rules
            .iter()
            .map(|(k, sr, cond, what)| {
                format!(
                    "SELECT t, file, line, pn, sip, res, nm, '{k}' AS kind, {sr} AS sr, {} AS what FROM cx \
                     WHERE {cond}",
                    self.lit(what)
                )
            })
            .collect();
        self.ec2_opens();
        judged.push(format!(
            "SELECT c.t, c.file, c.line, c.pn, c.sip, c.res, c.nm, '{}' AS kind, {} AS sr, {} AS what FROM cj c \
             JOIN ec2o o ON o.file = c.file AND o.line = c.line WHERE c.svc = '{EC2}'",
            kind::PUBLIC_EXPOSURE,
            rank("high"),
            self.lit("opened to the internet on a database port security group"),
        ));
        self.cte("cr", judged.join(" UNION ALL "));

        // What the trail says of the estate (`Known::from_trail`), from every RDS record.
        self.cte(
            "kv",
            format!(
                "SELECT dv, inst, clu, COALESCE(inst, clu) AS me FROM (SELECT dv, {} AS inst, {} AS clu FROM \
                 (SELECT rq AS dv FROM ct WHERE svc = '{RDS}' UNION ALL SELECT rs AS dv FROM ct WHERE svc = '{RDS}') x) y",
                self.jstr("dv", &["dBInstanceIdentifier"]),
                self.jstr("dv", &["dBClusterIdentifier"]),
            ),
        );
        self.cte(
            "k_mem",
            format!(
                "SELECT {} AS mi, v.clu FROM {} WHERE v.clu IS NOT NULL",
                self.jstr("mv", &["dBInstanceIdentifier"]),
                d.each("kv", "v", &self.jitems("v.dv", &["dBClusterMembers"]), "mv")
            ),
        );
        self.cte(
            "k_ids",
            format!(
                "SELECT res AS id FROM ct WHERE svc = '{RDS}' AND res IS NOT NULL UNION SELECT inst FROM kv WHERE inst IS NOT NULL \
                 UNION SELECT clu FROM kv WHERE clu IS NOT NULL UNION SELECT mi FROM k_mem WHERE mi IS NOT NULL"
            ),
        );
        self.cte(
            "k_cl",
            "SELECT inst AS i, clu AS c FROM kv WHERE inst IS NOT NULL AND clu IS NOT NULL \
             UNION SELECT mi, clu FROM k_mem WHERE mi IS NOT NULL"
                .into(),
        );
        let mut used = Vec::new();
        for (list, key) in [
            ("vpcSecurityGroups", "vpcSecurityGroupId"),
            ("dBParameterGroups", "dBParameterGroupName"),
        ] {
            used.push(format!(
                "SELECT {} AS g, v.me FROM {} WHERE v.me IS NOT NULL",
                self.jstr("gv", &[key]),
                d.each("kv", "v", &self.jitems("v.dv", &[list]), "gv")
            ));
        }
        used.push(format!(
            "SELECT {} AS g, me FROM kv WHERE me IS NOT NULL",
            self.jstr("dv", &["dBClusterParameterGroup"])
        ));
        self.cte(
            "k_used",
            format!(
                "SELECT DISTINCT g, me FROM ({}) u WHERE g IS NOT NULL",
                used.join(" UNION ALL ")
            ),
        );
        self.cte(
            "k_mast",
            format!(
                "SELECT DISTINCT me, m FROM (SELECT me, {} AS m FROM kv) x WHERE me IS NOT NULL AND m IS NOT NULL",
                self.jstr("dv", &["masterUsername"])
            ),
        );

        // Which instance each database log file belongs to (`Identities`).
        self.cte(
            "fe",
            "SELECT file, MIN(t) AS ft0, MAX(t) AS ft1 FROM ev GROUP BY file".into(),
        );
        let slash = d.lit("\\");
        self.cte(
            "fpath",
            format!(
                "SELECT file, substr(p, 1, length(p) - {} + 1) AS dir FROM \
                 (SELECT file, concat('/', replace(file, {slash}, '/')) AS p FROM fe) x",
                d.strpos("reverse(p)", "'/'")
            ),
        );
        self.cte(
            "fdeep",
            format!(
                "SELECT f.file, k.id, ROW_NUMBER() OVER (PARTITION BY f.file ORDER BY {}) AS rn \
                 FROM fpath f JOIN k_ids k ON {} > 0 AND {} = 0",
                d.strpos("reverse(f.dir)", "reverse(concat('/', k.id, '/'))"),
                d.strpos("f.dir", "concat('/', k.id, '/')"),
                d.strpos("k.id", "'/'"),
            ),
        );
        // `[instances]`: the first identifier (in name order) a part of the path names; a
        // server host names the last.
        let mut by_path = String::from("CASE WHEN FALSE THEN NULL");
        let mut by_host = String::from("CASE WHEN FALSE THEN NULL");
        let components = format!("concat('/', replace(f.file, {slash}, '/'), '/')");
        for (id, patterns) in &c.instances {
            let mut any = Vec::new();
            for p in patterns {
                let p = p.trim_matches(['/', '\\']);
                if p.is_empty() {
                    continue;
                }
                any.push(if p.contains('/') {
                    d.contains("f.file", p)
                } else {
                    d.contains(&components, &format!("/{p}/"))
                });
            }
            if !any.is_empty() {
                by_path += &format!(" WHEN {} THEN {}", any.join(" OR "), self.lit(id));
            }
        }
        for (id, patterns) in c.instances.iter().rev() {
            let hosts: Vec<&str> = patterns.iter().map(|s| s.as_str()).collect();
            if !hosts.is_empty() {
                by_host += &format!(
                    " WHEN {} THEN {}",
                    self.is_in("l.srv", &hosts),
                    self.lit(id)
                );
            }
        }
        self.cte(
            "ff",
            format!(
                "SELECT f.file, f.ft0, f.ft1, COALESCE({by_path} END, p.id) AS id FROM fe f \
                 LEFT JOIN (SELECT file, id FROM fdeep WHERE rn = 1) p ON p.file = f.file"
            ),
        );
        self.cte(
            "lgi",
            format!(
                "SELECT l.t, l.file, l.line, l.usr, l.src, l.pub, COALESCE({by_host} END, f.id) AS id \
                 FROM lg l LEFT JOIN ff f ON f.file = l.file WHERE l.ok"
            ),
        );
        // An identifier and what logs tied to it belong to: itself and its cluster.
        self.cte(
            "idu",
            "SELECT id, id AS up FROM (SELECT id FROM ff UNION SELECT id FROM lgi) a WHERE id IS NOT NULL \
             UNION SELECT i, c FROM k_cl"
                .into(),
        );
        // What a call's resource stands for: itself, and the databases using a group. (Over
        // every judged call rather than the findings: the joins below read `cj`, not `cr`,
        // because Spark copies a common table expression into each place that reads it, and
        // `cr` is large.)
        self.cte(
            "cres",
            "SELECT DISTINCT res FROM cj WHERE res IS NOT NULL".into(),
        );
        self.cte(
            "tg",
            "SELECT res, res AS tgt FROM cres UNION SELECT r.res, u.me FROM cres r JOIN k_used u ON u.g = r.res"
                .into(),
        );
        // The logins on those databases, per resource, user and source (`logins_on`).
        self.cte(
            "lon",
            "SELECT DISTINCT g.res, l.t, l.file, l.line, l.usr, l.src, l.pub FROM lgi l \
             JOIN idu u ON u.id = l.id JOIN tg g ON g.tgt = u.up"
                .into(),
        );
        let g = self.grouped(
            "SELECT * FROM lon",
            "res, usr, src",
            ", MAX(CASE WHEN pub AND src NOT IN ('0.0.0.0', '::') THEN 1 ELSE 0 END) AS p",
            &[],
        );
        self.cte("lon_g", g);

        // takeover_after_password_reset: a master user's first login from a source, within
        // the window after the reset.
        let reset = kind::MASTER_PASSWORD_RESET;
        self.cte(
            "km",
            "SELECT DISTINCT r.res, k.m FROM cres r \
                 JOIN (SELECT me AS a, me AS b FROM k_mast UNION SELECT i, c FROM k_cl UNION SELECT c, i FROM k_cl) e ON e.a = r.res \
                 JOIN k_mast k ON k.me = e.b"
                .into(),
        );
        let masters: Vec<&str> = c.master_users.iter().map(|s| s.as_str()).collect();
        self.cte(
            "f_take",
            format!(
                "SELECT o.res, o.usr, o.src, o.cnt, o.t0, o.t1, o.evidence, r.pn, r.sip, r.t AS rt FROM cr r \
                 JOIN lon_g o ON o.res = r.res LEFT JOIN km k ON k.res = r.res AND k.m = o.usr \
                 WHERE r.kind = '{reset}' AND ({} OR k.m IS NOT NULL) AND o.t0 > r.t AND o.t0 <= r.t + {window}",
                self.is_in("o.usr", &masters)
            ),
        );

        // audit_disabled, then the instance's logs stop while the run goes on; a public
        // exposure, then logins from public addresses: both critical.
        self.cte(
            "re",
            "SELECT MAX(t) AS te FROM (SELECT ft1 AS t FROM fe UNION ALL SELECT t FROM ct0) x"
                .into(),
        );
        self.cte(
            "ag",
            "SELECT r.file, r.line, MAX(f.ft1) AS last FROM cj r JOIN tg g ON g.res = r.res \
             JOIN idu u ON u.up = g.tgt JOIN ff f ON f.id = u.id GROUP BY r.file, r.line"
                .into(),
        );
        self.cte(
            "pl",
            format!(
                "SELECT DISTINCT r.file, r.line FROM cj r JOIN lon_g o ON o.res = r.res \
                 WHERE o.p = 1 AND o.t1 > r.t AND o.t0 <= r.t + {window}"
            ),
        );
        self.cte(
            "cf",
            format!(
                "SELECT r.*, CASE WHEN r.kind = '{audit}' AND a.last BETWEEN r.t - {window} AND r.t + {window} \
                 AND x.te > a.last + {window} THEN {crit} WHEN r.kind = '{public}' AND p.file IS NOT NULL THEN {crit} \
                 ELSE r.sr END AS sr2 FROM cr r \
                 LEFT JOIN ag a ON r.kind = '{audit}' AND a.file = r.file AND a.line = r.line \
                 LEFT JOIN pl p ON r.kind = '{public}' AND p.file = r.file AND p.line = r.line CROSS JOIN re x",
                audit = kind::AUDIT_DISABLED,
                public = kind::PUBLIC_EXPOSURE,
                crit = rank("critical"),
            ),
        );
        let who = "COALESCE(pn, 'an unknown principal')";
        finds.push(format!(
            "SELECT kind, {} AS severity, t AS t0, t AS t1, pn AS u, sip AS s, {null} AS db, 1 AS cnt, \
             concat({who}, ' ', what, ' ', COALESCE(res, '?'), ' (', nm, ')') AS detail, {} AS evidence, res FROM cf",
            self.severity_of("sr2"),
            self.place("file", "line"),
        ));
        finds.push(format!(
            "SELECT '{}' AS kind, 'critical' AS severity, t0, t1, usr AS u, src AS s, {null} AS db, cnt, \
             concat('master user ', usr, ' logged in to ', res, ' from ', src, ', never seen before, after ', \
             COALESCE(pn, 'an unknown principal'), ' reset its password') AS detail, evidence, res FROM f_take",
            kind::TAKEOVER_AFTER_PASSWORD_RESET
        ));

        // control_plane_recon: bursts of denied RDS calls from one principal.
        self.cte(
            "rc0",
            format!(
                "SELECT t, file, line, pn, sip, res, COALESCE(pa, pn, '') AS who FROM ct WHERE svc = '{RDS}' \
                 AND ({} OR {})",
                d.contains("LOWER(COALESCE(ec, ''))", "accessdenied"),
                d.contains("LOWER(COALESCE(ec, ''))", "unauthorized"),
            ),
        );
        self.cte(
            "rc1",
            format!(
                "SELECT rc0.*, CASE WHEN t - LAG(t) OVER (PARTITION BY who ORDER BY t, file, line) <= {RECON_GAP_US} \
                 THEN 0 ELSE 1 END AS brk FROM rc0"
            ),
        );
        self.cte(
            "rc2",
            "SELECT rc1.*, SUM(brk) OVER (PARTITION BY who ORDER BY t, file, line ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS g FROM rc1"
                .into(),
        );
        let g = self.grouped(
            "SELECT * FROM rc2",
            "who, g",
            "",
            &[("pn", "pn"), ("sip", "sip"), ("res", "res")],
        );
        self.cte(
            "f_recon",
            format!("SELECT * FROM ({g}) r WHERE cnt >= {RECON_CALLS}"),
        );
        finds.push(format!(
            "SELECT '{}' AS kind, 'medium' AS severity, t0, t1, pn AS u, sip AS s, {null} AS db, cnt, \
             concat({}, ' RDS calls denied to ', COALESCE(pn, 'an unknown principal'), ' within minutes of each other') AS detail, \
             evidence, res FROM f_recon",
            kind::CONTROL_PLANE_RECON,
            d.text("cnt")
        ));
    }
}
