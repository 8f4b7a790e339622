//! `synth --cloudtrail`: the control plane of the synthetic estate, as a trail delivered to
//! S3 (`cloudtrail/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/…json.gz`, one
//! `{"Records":[…]}` object per two hours), a digest per day, and one `lookup-events` page
//! that repeats a record (a responder often has both).
//!
//! The database logs are written under a folder named after the instance (the cluster on
//! Aurora), so the scan ties them to the trail's identifier by their path. Routine work
//! raises nothing: hourly `Describe*` calls of the monitoring role, AWS Backup's daily
//! snapshots and their deletion, a snapshot shared with the estate's second account, the
//! application reading its database secret, a security group opened to the VPC, a storage
//! change, a few denied calls, and the calls of other services (counted as ignored). The
//! planted incidents are listed in `ground_truth.json` with their resource; the password
//! reset comes 15 minutes before the master user's login from a new source that the audit
//! logs already hold (`master_user_off_the_admin_host`), so the two planes join there.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{json, Value};

use super::estate::MASTER_USER;
use super::incidents::{slot, EVIDENCE_SWITCHED_OFF_SLOT, MASTER_OFF_ADMIN_SLOT};
use super::time::{fmt_rfc3339, DAY_US, MIN_US, SLICE_US, US};
use super::Flavor;

/// The estate's accounts (both its own) and the attacker's.
pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const SECOND_ACCOUNT: &str = "210987654321";
const ATTACKER_ACCOUNT: &str = "999988887777";
const REGION: &str = "us-east-1";
/// The compromised CI user and where it is used from.
const ATTACKER: &str = "ci-deploy";
const ATTACKER_IP: &str = "198.51.100.23";
/// The source of the master user's first login after the reset (the audit logs' incident).
const TAKEOVER_IP: &str = "10.20.3.44";

/// A finding the trail must raise.
pub(crate) struct TrailExpected {
    pub kind: &'static str,
    pub severity: &'static str,
    pub user: Option<&'static str>,
    pub client_ip: Option<&'static str>,
    pub resource: String,
    pub first_seen: i64,
    pub note: &'static str,
}

/// The instance (or cluster) identifier of the flavor's database: the name of the folder
/// its logs are written to.
pub(crate) fn database_id(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Aurora => "prod-cluster",
        f => f.instance_id(),
    }
}

struct Trail {
    records: Vec<(i64, Value)>,
    expected: Vec<TrailExpected>,
    serial: u64,
}

impl Trail {
    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        t: i64,
        source: &str,
        name: &str,
        who: &Value,
        ip: &str,
        request: Value,
        response: Value,
        error: Option<&str>,
    ) {
        self.serial += 1;
        let mut r = json!({
            "eventVersion": "1.08",
            "userIdentity": who,
            "eventTime": fmt_rfc3339(t - t.rem_euclid(US)),
            "eventSource": source,
            "eventName": name,
            "awsRegion": REGION,
            "sourceIPAddress": ip,
            "userAgent": "aws-cli/2.17.32 md/awscrt#0.21.2 ua/2.0 os/linux",
            "requestParameters": request,
            "responseElements": response,
            "requestID": format!("{:08x}-0000-4000-8000-{:012x}", self.serial, self.serial),
            "eventID": format!("{:08x}-1111-4000-8000-{:012x}", self.serial, self.serial),
            "readOnly": name.starts_with("Describe") || name.starts_with("Get") || name.starts_with("List"),
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        });
        if let Some(code) = error {
            r["errorCode"] = json!(code);
            r["errorMessage"] = json!(format!(
                "User: {} is not authorized to perform: rds:{name} on resource: arn:aws:rds:{REGION}:{ACCOUNT}:db:{} because no identity-based policy allows the rds:{name} action",
                who["arn"].as_str().unwrap_or("?"),
                request.get("dBInstanceIdentifier").and_then(Value::as_str).unwrap_or("prod-db")
            ));
            r["requestParameters"] = Value::Null;
            r["responseElements"] = Value::Null;
        }
        self.records.push((t, r));
    }

    fn rds(&mut self, t: i64, name: &str, who: &Value, ip: &str, request: Value, response: Value) {
        self.call(
            t,
            "rds.amazonaws.com",
            name,
            who,
            ip,
            request,
            response,
            None,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn expect(
        &mut self,
        kind: &'static str,
        severity: &'static str,
        user: Option<&'static str>,
        client_ip: Option<&'static str>,
        resource: &str,
        first_seen: i64,
        note: &'static str,
    ) {
        self.expected.push(TrailExpected {
            kind,
            severity,
            user,
            client_ip,
            resource: resource.to_string(),
            first_seen: first_seen - first_seen.rem_euclid(US),
            note,
        });
    }
}

fn user(name: &str) -> Value {
    json!({"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
           "accountId": ACCOUNT, "accessKeyId": "AKIAEXAMPLEKEY00001", "userName": name})
}

fn role(role: &str, session: &str) -> Value {
    json!({"type": "AssumedRole", "principalId": format!("AROAEXAMPLE:{session}"),
           "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"),
           "accountId": ACCOUNT, "accessKeyId": "ASIAEXAMPLEKEY00001",
           "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
                              "accountId": ACCOUNT, "userName": role},
                              "attributes": {"creationDate": "2026-03-01T00:00:00Z", "mfaAuthenticated": "true"}}})
}

fn backup() -> Value {
    json!({"type": "AssumedRole", "principalId": "AROABACKUP:AWSBackup",
           "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/AWSBackupDefaultServiceRole/AWSBackup"),
           "accountId": ACCOUNT, "invokedBy": "backup.amazonaws.com"})
}

/// The response RDS gives for an instance (the join keys: identifier, cluster, master user,
/// security groups, parameter group).
fn instance_response(flavor: Flavor, id: &str, public: bool) -> Value {
    let mut r = json!({
        "dBInstanceIdentifier": id,
        "masterUsername": MASTER_USER,
        "publiclyAccessible": public,
        "vpcSecurityGroups": [{"vpcSecurityGroupId": "sg-0a1b2c3d4e5f60718", "status": "active"}],
        "dBParameterGroups": [{"dBParameterGroupName": "prod-params", "parameterApplyStatus": "in-sync"}],
        "engine": match flavor { Flavor::Postgres => "postgres", Flavor::Aurora => "aurora-mysql", Flavor::Mariadb => "mariadb", Flavor::RdsMysql => "mysql" },
    });
    if flavor == Flavor::Aurora {
        r["dBClusterIdentifier"] = json!("prod-cluster");
    }
    r
}

/// Writes the trail of a corpus of `days` days from `start_us` under `out`; returns the files
/// written (relative to `out`) and the findings it must raise.
pub(crate) fn write(
    out: &Path,
    flavor: Flavor,
    start_us: i64,
    days: u32,
) -> io::Result<(Vec<String>, Vec<TrailExpected>)> {
    let mut tr = Trail {
        records: Vec::new(),
        expected: Vec::new(),
        serial: 0,
    };
    let db = database_id(flavor);
    let aurora = flavor == Flavor::Aurora;
    let monitor = role("MonitoringRole", "grafana");
    let app = role("OrdersAppRole", "i-0abc123");
    let admin = role("AWSReservedSSO_Admin", "alice");
    let attacker = user(ATTACKER);
    // Background, every day.
    for d in 0..days as i64 {
        let day = start_us + d * DAY_US;
        for h in 0..24 {
            let t = day + h * SLICE_US + 7 * MIN_US;
            let name = if aurora {
                "DescribeDBClusters"
            } else {
                "DescribeDBInstances"
            };
            tr.rds(
                t,
                name,
                &monitor,
                "10.20.5.5",
                json!({"maxRecords": 100}),
                Value::Null,
            );
            tr.call(
                t + 11 * US,
                "s3.amazonaws.com",
                "GetObject",
                &app,
                "10.20.1.21",
                json!({"bucketName": "orders-exports", "key": format!("day-{d}/{h}.csv")}),
                Value::Null,
                None,
            );
            tr.call(t + 23 * US, "sts.amazonaws.com", "AssumeRole", &app, "10.20.1.21", json!({"roleArn": format!("arn:aws:iam::{ACCOUNT}:role/OrdersAppRole"), "roleSessionName": "i-0abc123"}), json!({}), None);
            tr.call(
                t + 31 * US,
                "ec2.amazonaws.com",
                "DescribeInstances",
                &monitor,
                "10.20.5.5",
                json!({"maxResults": 1000}),
                Value::Null,
                None,
            );
            tr.call(
                t + 47 * US,
                "kms.amazonaws.com",
                "Decrypt",
                &app,
                "10.20.1.21",
                json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
                Value::Null,
                None,
            );
        }
        // AWS Backup's daily snapshot, and the deletion of the one past retention.
        let snap = format!("awsbackup:job-{d:04}");
        let t = day + 3 * SLICE_US + 30 * MIN_US;
        tr.rds(
            t,
            "CreateDBSnapshot",
            &backup(),
            "backup.amazonaws.com",
            json!({"dBSnapshotIdentifier": snap, "dBInstanceIdentifier": db}),
            json!({"dBSnapshotIdentifier": snap, "snapshotType": "awsbackup"}),
        );
        tr.rds(
            t + 5 * MIN_US,
            "DeleteDBSnapshot",
            &backup(),
            "backup.amazonaws.com",
            json!({"dBSnapshotIdentifier": format!("awsbackup:job-old-{d:04}")}),
            json!({}),
        );
        // The application reads its database secret.
        tr.call(day + 6 * SLICE_US, "secretsmanager.amazonaws.com", "GetSecretValue", &app, "10.20.1.21", json!({"secretId": format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-1a2b3c")}), Value::Null, None);
    }
    let day0 = start_us;
    let admin_ip = "203.0.113.10";
    // Routine changes by the administrator (nothing above info).
    tr.rds(day0 + 2 * SLICE_US, "ModifyDBInstance", &admin, admin_ip, json!({"dBInstanceIdentifier": if aurora { "prod-cluster-instance-1" } else { db }, "allocatedStorage": 200, "applyImmediately": true}), instance_response(flavor, if aurora { "prod-cluster-instance-1" } else { db }, false));
    tr.rds(day0 + 2 * SLICE_US + 10 * MIN_US, "ModifyDBSnapshotAttribute", &admin, admin_ip, json!({"dBSnapshotIdentifier": "nightly-copy", "attributeName": "restore", "valuesToAdd": [SECOND_ACCOUNT]}), json!({}));
    tr.call(day0 + 2 * SLICE_US + 20 * MIN_US, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", &admin, admin_ip,
        json!({"groupId": "sg-0a1b2c3d4e5f60718", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 3306, "toPort": 5432, "ipRanges": {"items": [{"cidrIp": "10.20.0.0/16"}]}, "ipv6Ranges": {}, "prefixListIds": {}, "groups": {}}]}}),
        json!({"_return": true}), None);
    tr.call(day0 + 2 * SLICE_US + 25 * MIN_US, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", &admin, admin_ip,
        json!({"groupId": "sg-0web", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}, "groups": {}}]}}),
        json!({"_return": true}), None);
    for k in 0..3 {
        tr.call(
            day0 + 2 * SLICE_US + 40 * MIN_US + k * MIN_US,
            "rds.amazonaws.com",
            "DescribeDBSnapshots",
            &user("intern-ro"),
            "10.20.5.9",
            json!({}),
            Value::Null,
            Some("AccessDenied"),
        );
    }

    // The attack on the staging instance and its snapshots, day 0 from 04:00.
    let t = day0 + 4 * SLICE_US;
    let staging = "staging-db";
    tr.rds(t, "ModifyDBInstance", &attacker, ATTACKER_IP, json!({"dBInstanceIdentifier": staging, "publiclyAccessible": true, "applyImmediately": true}), instance_response(flavor, staging, true));
    tr.expect(
        "public_exposure",
        "high",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        staging,
        t,
        "staging-db made publicly accessible",
    );
    let t = t + 5 * MIN_US;
    tr.call(t, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", &attacker, ATTACKER_IP,
        json!({"groupId": "sg-0ffe1ce0ffe1ce000", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "ipRanges": {}, "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]}, "prefixListIds": {}, "groups": {}}]}}),
        json!({"_return": true}), None);
    tr.expect(
        "public_exposure",
        "high",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        "sg-0ffe1ce0ffe1ce000",
        t,
        "a security group opened to ::/0 on 5432",
    );
    let t = t + 5 * MIN_US;
    tr.rds(
        t,
        "CreateDBSnapshot",
        &attacker,
        ATTACKER_IP,
        json!({"dBSnapshotIdentifier": "exfil-snap", "dBInstanceIdentifier": db}),
        json!({"dBSnapshotIdentifier": "exfil-snap", "snapshotType": "manual"}),
    );
    let t = t + 10 * MIN_US;
    tr.rds(t, "ModifyDBSnapshotAttribute", &attacker, ATTACKER_IP, json!({"dBSnapshotIdentifier": "exfil-snap", "attributeName": "restore", "valuesToAdd": [ATTACKER_ACCOUNT]}), json!({"dBSnapshotIdentifier": "exfil-snap", "dBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": [ATTACKER_ACCOUNT]}]}));
    tr.expect(
        "snapshot_shared",
        "critical",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        "exfil-snap",
        t,
        "snapshot shared with an account outside the estate",
    );
    let t = t + 2 * MIN_US;
    tr.rds(t, "CopyDBSnapshot", &attacker, ATTACKER_IP, json!({"sourceDBSnapshotIdentifier": format!("arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:exfil-snap"), "targetDBSnapshotIdentifier": "exfil-snap-reenc", "kmsKeyId": format!("arn:aws:kms:{REGION}:{ATTACKER_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab")}), json!({"dBSnapshotIdentifier": "exfil-snap-reenc"}));
    tr.expect(
        "snapshot_copied_out",
        "high",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        "exfil-snap",
        t,
        "snapshot re-encrypted under another account's key",
    );
    let t = t + 2 * MIN_US;
    tr.rds(t, "StartExportTask", &attacker, ATTACKER_IP, json!({"exportTaskIdentifier": "exp-1", "sourceArn": format!("arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:exfil-snap"), "s3BucketName": "exfil-bucket-999", "iamRoleArn": format!("arn:aws:iam::{ACCOUNT}:role/export"), "kmsKeyId": "alias/export"}), json!({"exportTaskIdentifier": "exp-1", "status": "STARTING"}));
    tr.expect(
        "snapshot_export",
        "high",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        "exfil-snap",
        t,
        "snapshot exported to S3",
    );
    let t = t + 3 * MIN_US;
    tr.rds(t, "ModifyDBInstance", &attacker, ATTACKER_IP, json!({"dBInstanceIdentifier": staging, "enableIAMDatabaseAuthentication": false, "deletionProtection": false, "applyImmediately": true}), instance_response(flavor, staging, true));
    tr.expect(
        "iam_auth_disabled",
        "medium",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        staging,
        t,
        "IAM database authentication off",
    );
    tr.expect(
        "deletion_protection_off",
        "medium",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        staging,
        t,
        "deletion protection off",
    );
    let t = t + 3 * MIN_US;
    tr.rds(t, "DeleteDBInstance", &attacker, ATTACKER_IP, json!({"dBInstanceIdentifier": staging, "skipFinalSnapshot": true, "deleteAutomatedBackups": true}), instance_response(flavor, staging, true));
    tr.expect(
        "destroyed",
        "critical",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        staging,
        t,
        "instance deleted without a final snapshot",
    );
    let t = t + 2 * MIN_US;
    tr.rds(
        t,
        "DeleteDBSnapshot",
        &attacker,
        ATTACKER_IP,
        json!({"dBSnapshotIdentifier": "exfil-snap"}),
        json!({"dBSnapshotIdentifier": "exfil-snap", "status": "deleted"}),
    );
    tr.expect(
        "destroyed",
        "high",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        "exfil-snap",
        t,
        "manual snapshot deleted after the share",
    );
    // Reconnaissance: a burst of denied calls, day 0 at 05:00.
    let t = day0 + 5 * SLICE_US;
    for (k, name) in [
        "DescribeDBInstances",
        "DescribeDBClusters",
        "DescribeDBSnapshots",
        "DescribeDBClusterSnapshots",
        "DescribeDBParameterGroups",
        "DescribeDBLogFiles",
        "DownloadDBLogFilePortion",
        "DescribeExportTasks",
        "ModifyDBInstance",
        "DeleteDBInstance",
        "CreateDBSnapshot",
        "DescribeDBSubnetGroups",
    ]
    .iter()
    .enumerate()
    {
        tr.call(
            t + k as i64 * 9 * US,
            "rds.amazonaws.com",
            name,
            &attacker,
            ATTACKER_IP,
            json!({"dBInstanceIdentifier": db}),
            Value::Null,
            Some("AccessDenied"),
        );
    }
    tr.expect(
        "control_plane_recon",
        "medium",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        db,
        t,
        "12 denied RDS calls in under two minutes",
    );

    // The master password reset, 15 minutes before the master user's login from a new source.
    let (_, login) = slot(days, start_us, MASTER_OFF_ADMIN_SLOT);
    let t = login - 15 * MIN_US;
    let (name, key) = if aurora {
        ("ModifyDBCluster", "dBClusterIdentifier")
    } else {
        ("ModifyDBInstance", "dBInstanceIdentifier")
    };
    let mut response = instance_response(
        flavor,
        if aurora {
            "prod-cluster-instance-1"
        } else {
            db
        },
        false,
    );
    if aurora {
        response = json!({"dBClusterIdentifier": db, "masterUsername": MASTER_USER, "dBClusterMembers": [{"dBInstanceIdentifier": "prod-cluster-instance-1", "isClusterWriter": true}]});
    } else {
        response["pendingModifiedValues"] =
            json!({"masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS"});
    }
    tr.rds(t, name, &attacker, ATTACKER_IP, json!({key: db, "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS", "applyImmediately": true}), response);
    tr.expect(
        "master_password_reset",
        "high",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        db,
        t,
        "master password reset",
    );
    tr.expect(
        "takeover_after_password_reset",
        "critical",
        Some(MASTER_USER),
        Some(TAKEOVER_IP),
        db,
        login,
        "the master user logs in from a new source 15 minutes after the reset",
    );

    // Audit and TLS switched off in the parameter group, 10 minutes before the statements of
    // the audit logs' own incident.
    let (_, off) = slot(days, start_us, EVIDENCE_SWITCHED_OFF_SLOT);
    let t = off - 10 * MIN_US;
    let (group_call, audit, tls) = match flavor {
        Flavor::Postgres => (
            "ModifyDBParameterGroup",
            ("pgaudit.log", "none"),
            ("rds.force_ssl", "0"),
        ),
        Flavor::Aurora => (
            "ModifyDBClusterParameterGroup",
            ("server_audit_logging", "0"),
            ("require_secure_transport", "OFF"),
        ),
        _ => (
            "ModifyDBParameterGroup",
            ("server_audit_logging", "0"),
            ("require_secure_transport", "OFF"),
        ),
    };
    let group_key = if aurora {
        "dBClusterParameterGroupName"
    } else {
        "dBParameterGroupName"
    };
    tr.rds(t, group_call, &attacker, ATTACKER_IP, json!({group_key: "prod-params", "parameters": [
        {"parameterName": audit.0, "parameterValue": audit.1, "applyMethod": "immediate", "isModifiable": false},
        {"parameterName": tls.0, "parameterValue": tls.1, "applyMethod": "immediate", "isModifiable": false}]}), json!({group_key: "prod-params"}));
    tr.expect(
        "audit_disabled",
        "high",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        "prod-params",
        t,
        "audit logging off in the parameter group",
    );
    tr.expect(
        "tls_weakened",
        "high",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        "prod-params",
        t,
        "TLS no longer required by the parameter group",
    );
    let t = t + MIN_US;
    tr.rds(t, if aurora { "ModifyDBCluster" } else { "ModifyDBInstance" }, &attacker, ATTACKER_IP, json!({key: db, "cloudwatchLogsExportConfiguration": {"disableLogTypes": [if flavor == Flavor::Postgres { "postgresql" } else { "audit" }]}}), json!({key: db}));
    tr.expect(
        "audit_disabled",
        "high",
        Some(ATTACKER),
        Some(ATTACKER_IP),
        db,
        t,
        "the audit log no longer exported to CloudWatch",
    );

    // Delivery: records sorted, one object per two hours, one digest per day.
    tr.records.sort_by_key(|r| r.0);
    let mut files = Vec::new();
    let prefix = format!("cloudtrail/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}");
    let mut at = 0;
    let mut reset_record = None;
    while at < tr.records.len() {
        let period = tr.records[at].0.div_euclid(2 * SLICE_US);
        let end = at
            + tr.records[at..]
                .iter()
                .take_while(|r| r.0.div_euclid(2 * SLICE_US) == period)
                .count();
        let delivered = (period + 1) * 2 * SLICE_US + 5 * MIN_US;
        let stamp = fmt_rfc3339(delivered).replace(['-', ':'], "");
        let (date, hm) = (&stamp[..8], &stamp[9..13]);
        let rel = format!(
            "{prefix}/{}/{}/{}/{ACCOUNT}_CloudTrail_{REGION}_{date}T{hm}Z_{:016X}.json.gz",
            &date[..4],
            &date[4..6],
            &date[6..8],
            (period as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        );
        let records: Vec<&Value> = tr.records[at..end].iter().map(|r| &r.1).collect();
        for r in &records {
            if (r["eventName"] == "ModifyDBInstance" || r["eventName"] == "ModifyDBCluster")
                && r["requestParameters"].get("masterUserPassword").is_some()
            {
                reset_record = Some((*r).clone());
            }
        }
        write_gzip(
            &out.join(&rel),
            serde_json::to_string(&json!({"Records": records}))?.as_bytes(),
        )?;
        files.push(rel);
        at = end;
    }
    for d in 0..days as i64 {
        let stamp = fmt_rfc3339(start_us + (d + 1) * DAY_US).replace(['-', ':'], "");
        let rel = format!(
            "cloudtrail/AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/{}/{}/{}/{ACCOUNT}_CloudTrail-Digest_{REGION}_org-trail_{REGION}_{stamp}.json.gz",
            &stamp[..4], &stamp[4..6], &stamp[6..8]
        );
        let digest = json!({"awsAccountId": ACCOUNT, "digestStartTime": fmt_rfc3339(start_us + d * DAY_US), "digestEndTime": fmt_rfc3339(start_us + (d + 1) * DAY_US),
            "digestS3Bucket": "org-trail", "digestS3Object": rel, "digestPublicKeyFingerprint": "0123456789abcdef", "digestSignatureAlgorithm": "SHA256withRSA",
            "logFiles": []});
        write_gzip(&out.join(&rel), serde_json::to_string(&digest)?.as_bytes())?;
        files.push(rel);
    }
    // The responder also ran `lookup-events` for the reset: the same record, once more.
    if let Some(r) = reset_record {
        let rel = "cloudtrail/lookup-events-ModifyDB.json".to_string();
        let page = json!({"Events": [{"EventId": r["eventID"], "EventName": r["eventName"], "ReadOnly": "false", "AccessKeyId": "AKIAEXAMPLEKEY00001",
            "EventTime": r["eventTime"], "EventSource": "rds.amazonaws.com", "Username": ATTACKER, "Resources": [],
            "CloudTrailEvent": serde_json::to_string(&r)?}]});
        std::fs::write(out.join(&rel), serde_json::to_vec_pretty(&page)?)?;
        files.push(rel);
    }
    Ok((files, tr.expected))
}

fn write_gzip(path: &Path, data: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file = std::fs::File::create(path)?;
    let mut gz =
        flate2::write::GzEncoder::new(io::BufWriter::new(file), flate2::Compression::fast());
    gz.write_all(data)?;
    gz.finish()?.flush()
}
