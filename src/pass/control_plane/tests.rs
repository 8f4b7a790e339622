use super::*;
use crate::finding::kind;

const T0: i64 = 1_772_323_200_000_000; // 2026-03-01T00:00:00Z
const MIN: i64 = 60_000_000;

fn event(name: &str, request: &str, response: &str) -> ControlEvent {
    ControlEvent {
        time_us: T0,
        event_source: "rds.amazonaws.com".into(),
        event_name: name.into(),
        aws_region: Some("us-east-1".into()),
        account_id: Some("123456789012".into()),
        recipient_account_id: Some("123456789012".into()),
        principal_arn: Some("arn:aws:iam::123456789012:user/mallory".into()),
        principal_type: Some("IAMUser".into()),
        principal_name: Some("mallory".into()),
        source_ip: Some("198.51.100.23".into()),
        request_parameters: Some(request.into()),
        response_elements: Some(response.into()),
        resource: Some("db1".into()),
        file: 1,
        index: 1,
        ..ControlEvent::default()
    }
}

fn config() -> AnalysisConfig {
    AnalysisConfig {
        master_users: vec!["admin".into()],
        aws_accounts: vec!["123456789012".into(), "210987654321".into()],
        ..AnalysisConfig::default()
    }
}

/// The kinds and severities the events raise, with no database logs.
fn kinds(events: &[ControlEvent]) -> Vec<(String, &'static str)> {
    run(events, &LoginTable::new(), &[None, None], &[None, None]).0
}

type Kinds = Vec<(String, &'static str)>;

fn run(
    events: &[ControlEvent],
    logins: &LoginTable,
    last: &[Option<i64>],
    groups: &[Option<String>],
) -> (Kinds, ControlReport) {
    let cfg = config();
    let files: Vec<Arc<str>> = vec!["logs/db1/audit.log".into(), "trail.json".into()];
    let ctx = ControlContext {
        config: &cfg,
        files: &files,
        last_event_us: last,
        first_event_us: &[Some(T0 - 120 * MIN), None],
        log_groups: groups,
        run_end_us: Some(T0 + 24 * 60 * MIN),
    };
    let report = analyse(events, logins, &ctx);
    let mut k: Kinds = report
        .findings
        .iter()
        .map(|f| (f.kind.clone(), f.severity.as_str()))
        .collect();
    k.sort();
    (k, report)
}

fn k(kind: &str, sev: &'static str) -> (String, &'static str) {
    (kind.to_string(), sev)
}

#[test]
fn a_password_reset_is_told_by_the_key_whatever_the_redaction() {
    for token in ["****", "HIDDEN_DUE_TO_SECURITY_REASONS"] {
        let e = event(
            "ModifyDBInstance",
            &format!(r#"{{"dBInstanceIdentifier":"db1","masterUserPassword":"{token}"}}"#),
            "{}",
        );
        assert_eq!(kinds(&[e]), [k(kind::MASTER_PASSWORD_RESET, "high")]);
    }
    // Aurora: no pendingModifiedValues in the response, the request says it.
    let e = event(
        "ModifyDBCluster",
        r#"{"dBClusterIdentifier":"c1","MasterUserPassword":"x"}"#,
        r#"{"dBClusterIdentifier":"c1"}"#,
    );
    assert_eq!(
        kinds(&[e]),
        [k(kind::MASTER_PASSWORD_RESET, "high")],
        "keys in any case"
    );
    // Only the response says it (a capture that dropped the request's key).
    let e = event(
        "ModifyDBInstance",
        r#"{"dBInstanceIdentifier":"db1"}"#,
        r#"{"pendingModifiedValues":{"masterUserPassword":"****"}}"#,
    );
    assert_eq!(kinds(&[e]), [k(kind::MASTER_PASSWORD_RESET, "high")]);
}

#[test]
fn denied_calls_and_aws_services_change_nothing() {
    let mut denied = event("DeleteDBInstance", "null", "null");
    denied.error_code = Some("AccessDenied".into());
    denied.request_parameters = None;
    let mut backup = event(
        "DeleteDBSnapshot",
        r#"{"dBSnapshotIdentifier":"awsbackup:job-1"}"#,
        "{}",
    );
    backup.invoked_by = Some("backup.amazonaws.com".into());
    let mut failed = event("ModifyDBInstance", r#"{"masterUserPassword":"x"}"#, "null");
    failed.error_code = Some("DBInstanceNotFoundFault".into());
    assert_eq!(kinds(&[denied, backup, failed]), []);
}

#[test]
fn public_exposure_from_the_request_or_the_response_and_from_security_groups() {
    let modify = event("ModifyDBInstance", r#"{"publiclyAccessible":true}"#, "{}");
    // RDS's default: the request says nothing, the response says public.
    let restore = event(
        "RestoreDBInstanceFromDBSnapshot",
        r#"{"dBSnapshotIdentifier":"s"}"#,
        r#"{"publiclyAccessible":true}"#,
    );
    let private = event("CreateDBInstance", "{}", r#"{"publiclyAccessible":false}"#);
    let sg = |cidr: &str, port: u16| {
        let mut e = event(
            "AuthorizeSecurityGroupIngress",
            &format!(
                r#"{{"groupId":"sg-1","ipPermissions":{{"items":[{{"ipProtocol":"tcp","fromPort":{port},"toPort":{port},"ipRanges":{{"items":[{{"cidrIp":"{cidr}"}}]}},"ipv6Ranges":{{}}}}]}}}}"#
            ),
            r#"{"_return":true}"#,
        );
        e.event_source = "ec2.amazonaws.com".into();
        e
    };
    let all_ports = {
        let mut e = sg("0.0.0.0/0", 0);
        e.request_parameters = Some(r#"{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"-1","ipRanges":{},"ipv6Ranges":{"items":[{"cidrIpv6":"::/0"}]}}]}}"#.into());
        e
    };
    assert_eq!(
        kinds(&[
            modify,
            restore,
            private,
            sg("0.0.0.0/0", 5432),
            sg("10.0.0.0/8", 5432),
            sg("0.0.0.0/0", 443),
            all_ports
        ]),
        vec![k(kind::PUBLIC_EXPOSURE, "high"); 4]
    );
}

#[test]
fn snapshot_shares_outside_the_estate_are_critical_and_inside_it_routine() {
    let share = |to: &str| {
        event(
            "ModifyDBSnapshotAttribute",
            &format!(
                r#"{{"dBSnapshotIdentifier":"s1","attributeName":"restore","valuesToAdd":["{to}"]}}"#
            ),
            "{}",
        )
    };
    let removal = event(
        "ModifyDBSnapshotAttribute",
        r#"{"attributeName":"restore","valuesToRemove":["999988887777"]}"#,
        "{}",
    );
    assert_eq!(
        kinds(&[
            share("210987654321"),
            share("123456789012"),
            share("all"),
            share("999988887777"),
            removal
        ]),
        vec![k(kind::SNAPSHOT_SHARED, "critical"); 2]
    );
}

#[test]
fn copies_exports_and_deletions() {
    let foreign_key = event(
        "CopyDBSnapshot",
        r#"{"sourceDBSnapshotIdentifier":"arn:aws:rds:us-east-1:123456789012:snapshot:s1","kmsKeyId":"arn:aws:kms:us-east-1:999988887777:key/k"}"#,
        "{}",
    );
    let cross_region = event(
        "CopyDBSnapshot",
        r#"{"sourceDBSnapshotIdentifier":"arn:aws:rds:eu-west-1:123456789012:snapshot:s1","targetDBSnapshotIdentifier":"s1-copy"}"#,
        "{}",
    );
    let local = event(
        "CopyDBSnapshot",
        r#"{"sourceDBSnapshotIdentifier":"s1","targetDBSnapshotIdentifier":"s2"}"#,
        "{}",
    );
    let export = event(
        "StartExportTask",
        r#"{"sourceArn":"arn:aws:rds:us-east-1:1:snapshot:s1","s3BucketName":"b"}"#,
        "{}",
    );
    let delete = |req: &str| event("DeleteDBInstance", req, "{}");
    assert_eq!(
        kinds(&[
            foreign_key,
            cross_region,
            local,
            export,
            delete(r#"{"skipFinalSnapshot":true}"#),
            delete(r#"{"skipFinalSnapshot":false,"finalDBSnapshotIdentifier":"f"}"#),
            event(
                "DeleteDBInstanceAutomatedBackup",
                r#"{"dbiResourceId":"db-X"}"#,
                "{}"
            ),
        ]),
        vec![
            k(kind::DESTROYED, "critical"),
            k(kind::DESTROYED, "critical"),
            k(kind::DESTROYED, "high"),
            k(kind::SNAPSHOT_COPIED_OUT, "high"),
            k(kind::SNAPSHOT_COPIED_OUT, "medium"),
            k(kind::SNAPSHOT_EXPORT, "high"),
        ]
    );
}

#[test]
fn audit_and_tls_settings_and_the_other_switches() {
    let params = |list: &str| {
        event(
            "ModifyDBParameterGroup",
            &format!(r#"{{"dBParameterGroupName":"pg","parameters":[{list}]}}"#),
            "{}",
        )
    };
    let p = |name: &str, value: &str| {
        format!(
            r#"{{"parameterName":"{name}","parameterValue":"{value}","applyMethod":"immediate"}}"#
        )
    };
    assert_eq!(
        kinds(&[params(&p("server_audit_logging", "OFF"))]),
        [k(kind::AUDIT_DISABLED, "high")]
    );
    assert_eq!(
        kinds(&[params(&p("server_audit_events", "TABLE"))]),
        [k(kind::AUDIT_DISABLED, "high")]
    );
    assert_eq!(
        kinds(&[params(&p("server_audit_events", "CONNECT,QUERY,TABLE"))]),
        []
    );
    assert_eq!(
        kinds(&[params(&p("pgaudit.log", "none"))]),
        [k(kind::AUDIT_DISABLED, "high")]
    );
    assert_eq!(
        kinds(&[params(&p("log_connections", "0"))]),
        [k(kind::AUDIT_DISABLED, "high")]
    );
    assert_eq!(
        kinds(&[params(&p("rds.force_ssl", "0"))]),
        [k(kind::TLS_WEAKENED, "high")]
    );
    assert_eq!(kinds(&[params(&p("rds.force_ssl", "1"))]), []);
    assert_eq!(
        kinds(&[params(&format!(
            "{},{}",
            p("require_secure_transport", "OFF"),
            p("innodb_log_buffer_size", "8388612")
        ))]),
        [k(kind::TLS_WEAKENED, "high")]
    );
    let exports = event(
        "ModifyDBInstance",
        r#"{"cloudwatchLogsExportConfiguration":{"disableLogTypes":["audit"]}}"#,
        "{}",
    );
    let error_only = event(
        "ModifyDBInstance",
        r#"{"cloudwatchLogsExportConfiguration":{"disableLogTypes":["slowquery"],"enableLogTypes":[]}}"#,
        "{}",
    );
    let option = event(
        "ModifyOptionGroup",
        r#"{"optionGroupName":"og","optionsToRemove":["MARIADB_AUDIT_PLUGIN"]}"#,
        "{}",
    );
    let stream = event(
        "StopActivityStream",
        r#"{"resourceArn":"arn:aws:rds:us-east-1:1:cluster:c1"}"#,
        "{}",
    );
    let switches = event(
        "ModifyDBCluster",
        r#"{"enableIAMDatabaseAuthentication":false,"deletionProtection":false}"#,
        "{}",
    );
    let on = event(
        "ModifyDBCluster",
        r#"{"enableIAMDatabaseAuthentication":true,"deletionProtection":true}"#,
        "{}",
    );
    assert_eq!(
        kinds(&[exports, error_only, option, stream, switches, on]),
        vec![
            k(kind::AUDIT_DISABLED, "high"),
            k(kind::AUDIT_DISABLED, "high"),
            k(kind::AUDIT_DISABLED, "high"),
            k(kind::AUDIT_DISABLED, "medium"),
            k(kind::DELETION_PROTECTION_OFF, "medium"),
            k(kind::IAM_AUTH_DISABLED, "medium"),
        ]
    );
}

#[test]
fn a_burst_of_denied_calls_is_reconnaissance_and_a_few_are_not() {
    let denied = |i: i64, who: &str| {
        let mut e = event("DescribeDBSnapshots", "null", "null");
        e.error_code = Some("AccessDenied".into());
        e.principal_arn = Some(format!("arn:aws:iam::1:user/{who}"));
        e.principal_name = Some(who.into());
        e.time_us = T0 + i * 20_000_000;
        e.index = i as u64 + 1;
        e
    };
    let mut events: Vec<ControlEvent> = (0..10).map(|i| denied(i, "mallory")).collect();
    events.extend((0..9).map(|i| denied(i, "intern")));
    // Ten more from mallory, but an hour later: a burst of their own.
    events.extend((0..10).map(|i| denied(180 + i, "mallory")));
    let (got, report) = run(&events, &LoginTable::new(), &[None, None], &[None, None]);
    assert_eq!(got, vec![k(kind::CONTROL_PLANE_RECON, "medium"); 2]);
    assert!(report
        .findings
        .iter()
        .all(|f| f.user.as_deref() == Some("mallory") && f.count == 10));
}

fn login(logins: &mut LoginTable, file: u32, user: &str, source: &str, t: i64) {
    let ev = Evidence::at(file, t as u64);
    logins
        .entry((
            file,
            Box::from(&b"ip-10-0-0-1"[..]),
            Box::from(user.as_bytes()),
            Box::from(source.as_bytes()),
        ))
        .and_modify(|s| s.add(t, ev))
        .or_insert_with(|| Seen::new(t, ev));
}

#[test]
fn a_reset_then_a_master_login_from_a_new_source_is_a_takeover() {
    let reset = event(
        "ModifyDBInstance",
        r#"{"dBInstanceIdentifier":"db1","masterUserPassword":"****"}"#,
        r#"{"dBInstanceIdentifier":"db1","masterUsername":"dbadmin"}"#,
    );
    let mut logins = LoginTable::new();
    login(&mut logins, 0, "admin", "10.0.0.5", T0 - 60 * MIN); // seen before the reset
    login(&mut logins, 0, "admin", "10.0.0.5", T0 + 5 * MIN);
    login(&mut logins, 0, "dbadmin", "203.0.113.7", T0 + 10 * MIN); // the trail's master name
    login(&mut logins, 0, "app", "10.0.0.9", T0 + 10 * MIN); // not a master user
    login(&mut logins, 0, "admin", "10.0.0.77", T0 + 90 * MIN); // after the window
    let last = [Some(T0 + 100 * MIN), None];
    let (got, report) = run(std::slice::from_ref(&reset), &logins, &last, &[None, None]);
    assert_eq!(
        got,
        [
            k(kind::MASTER_PASSWORD_RESET, "high"),
            k(kind::TAKEOVER_AFTER_PASSWORD_RESET, "critical")
        ]
    );
    let t = report
        .findings
        .iter()
        .find(|f| f.kind == kind::TAKEOVER_AFTER_PASSWORD_RESET)
        .unwrap();
    assert_eq!(
        (
            t.user.as_deref(),
            t.client_ip.as_deref(),
            t.resource.as_deref(),
            t.first_seen_us
        ),
        (
            Some("dbadmin"),
            Some("203.0.113.7"),
            Some("db1"),
            T0 + 10 * MIN
        )
    );
    assert_eq!(t.evidence, format!("logs/db1/audit.log:{}", T0 + 10 * MIN));
    assert_eq!(report.identities[0].how, "path");

    // The same logins in a file tied to nothing: no join, and the file is named.
    let files_untied = [None, None];
    let cfg = config();
    let files: Vec<Arc<str>> = vec!["downloads/audit.log".into(), "trail.json".into()];
    let ctx = ControlContext {
        config: &cfg,
        files: &files,
        last_event_us: &last,
        first_event_us: &[Some(T0 - 120 * MIN), None],
        log_groups: &files_untied,
        run_end_us: None,
    };
    let report = analyse(std::slice::from_ref(&reset), &logins, &ctx);
    assert!(report
        .findings
        .iter()
        .all(|f| f.kind != kind::TAKEOVER_AFTER_PASSWORD_RESET));
    assert_eq!(report.unidentified, ["downloads/audit.log"]);
    // A CloudWatch log group names the instance.
    let groups = [Some("db1".to_string()), None];
    let ctx = ControlContext {
        log_groups: &groups,
        ..ctx
    };
    let report = analyse(&[reset], &logins, &ctx);
    assert!(report
        .findings
        .iter()
        .any(|f| f.kind == kind::TAKEOVER_AFTER_PASSWORD_RESET));
    assert_eq!(report.identities[0].how, "log_group");
}

#[test]
fn audit_off_then_silence_and_exposure_then_public_logins_are_critical() {
    let off = event(
        "ModifyDBInstance",
        r#"{"dBInstanceIdentifier":"db1","cloudwatchLogsExportConfiguration":{"disableLogTypes":["audit"]}}"#,
        "{}",
    );
    // The instance's logs stop two minutes after the change; the run goes on for a day.
    let (got, report) = run(
        std::slice::from_ref(&off),
        &LoginTable::new(),
        &[Some(T0 + 2 * MIN), None],
        &[None, None],
    );
    assert_eq!(got, [k(kind::AUDIT_DISABLED, "critical")]);
    assert!(report.findings[0]
        .detail
        .contains("its audit logs stop at 2026-03-01T00:02:00Z"));
    // Logs that go on: the change stays high.
    let (got, _) = run(
        &[off],
        &LoginTable::new(),
        &[Some(T0 + 600 * MIN), None],
        &[None, None],
    );
    assert_eq!(got, [k(kind::AUDIT_DISABLED, "high")]);

    let public = event(
        "ModifyDBInstance",
        r#"{"dBInstanceIdentifier":"db1","publiclyAccessible":true}"#,
        "{}",
    );
    let mut logins = LoginTable::new();
    login(&mut logins, 0, "app", "10.0.0.5", T0 + 5 * MIN);
    let (got, _) = run(
        std::slice::from_ref(&public),
        &logins,
        &[Some(T0 + 600 * MIN), None],
        &[None, None],
    );
    assert_eq!(
        got,
        [k(kind::PUBLIC_EXPOSURE, "high")],
        "private sources only"
    );
    login(&mut logins, 0, "app", "203.0.113.50", T0 + 20 * MIN);
    let (got, report) = run(
        &[public],
        &logins,
        &[Some(T0 + 600 * MIN), None],
        &[None, None],
    );
    assert_eq!(got, [k(kind::PUBLIC_EXPOSURE, "critical")]);
    assert!(report.findings[0].detail.contains("app@203.0.113.50"));
}

#[test]
fn logs_that_begin_after_the_reset_say_there_is_nothing_to_compare_with() {
    let reset = event(
        "ModifyDBInstance",
        r#"{"dBInstanceIdentifier":"db1","masterUserPassword":"x"}"#,
        "{}",
    );
    let mut logins = LoginTable::new();
    login(&mut logins, 0, "admin", "10.0.0.5", T0 + 5 * MIN);
    let cfg = config();
    let files: Vec<Arc<str>> = vec!["logs/db1/audit.log".into(), "trail.json".into()];
    let ctx = ControlContext {
        config: &cfg,
        files: &files,
        last_event_us: &[Some(T0 + 5 * MIN), None],
        first_event_us: &[Some(T0 + 5 * MIN), None],
        log_groups: &[None, None],
        run_end_us: None,
    };
    let report = analyse(&[reset], &logins, &ctx);
    let t = report
        .findings
        .iter()
        .find(|f| f.kind == kind::TAKEOVER_AFTER_PASSWORD_RESET)
        .unwrap();
    assert!(
        t.detail.contains("after the reset: no earlier source"),
        "{}",
        t.detail
    );
}
