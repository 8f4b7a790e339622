use super::*;
use crate::control::IngressRule;

/// A record in the shape CloudTrail writes (keys in AWS's order).
fn record(source: &str, name: &str, time: &str, request: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/mallory","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"mallory"}},"eventTime":"{time}","eventSource":"{source}","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.17.32","requestParameters":{request},"responseElements":null,"requestID":"r","eventID":"id-{name}-{time}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012"}}"#
    )
}

fn reset() -> String {
    record(
        "rds.amazonaws.com",
        "ModifyDBInstance",
        "2026-03-02T01:00:00Z",
        r#"{"dBInstanceIdentifier":"prod-mysql-1","masterUserPassword":"HIDDEN_DUE_TO_SECURITY_REASONS","applyImmediately":true}"#,
    )
}

#[test]
fn an_s3_object_keeps_database_records_and_counts_the_rest_per_service() {
    let doc = format!(
        r#"{{"Records":[{},{},{},{}]}}"#,
        reset(),
        record(
            "s3.amazonaws.com",
            "GetObject",
            "2026-03-02T01:00:01Z",
            "{}"
        ),
        record(
            "ec2.amazonaws.com",
            "DescribeInstances",
            "2026-03-02T01:00:02Z",
            "null"
        ),
        record(
            "s3.amazonaws.com",
            "PutObject",
            "2026-03-02T01:00:03Z",
            "{}"
        ),
    );
    assert_eq!(sniff(doc.as_bytes()), Some(Shape::S3Object));
    let out = parse(doc.as_bytes(), 4);
    assert_eq!(out.units, 4);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.events.len(), 1);
    let e = &out.events[0];
    assert_eq!(
        (
            e.event_name.as_str(),
            e.resource.as_deref(),
            e.file,
            e.index
        ),
        ("ModifyDBInstance", Some("prod-mysql-1"), 4, 1)
    );
    assert_eq!(e.time_us, 1_772_413_200_000_000);
    assert_eq!(e.principal_name.as_deref(), Some("mallory"));
    assert_eq!(e.source_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(e.read_only, Some(false));
    assert_eq!(e.response_elements, None);
    assert!(e
        .request_parameters
        .as_deref()
        .unwrap()
        .contains("masterUserPassword"));
    let ignored: Vec<(&str, u64)> = out.ignored.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(ignored, [("ec2.amazonaws.com", 1), ("s3.amazonaws.com", 2)]);
}

#[test]
fn a_pretty_printed_object_reads_like_a_compact_one() {
    let compact = format!(r#"{{"Records":[{}]}}"#, reset());
    let value: Value = serde_json::from_str(&compact).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    let (mut a, mut b) = (parse(compact.as_bytes(), 0), parse(pretty.as_bytes(), 0));
    // serde_json's Value sorts keys, so compare the parameters as JSON.
    assert_eq!(a.events[0].request(), b.events[0].request());
    assert!(!b.events[0]
        .request_parameters
        .as_deref()
        .unwrap()
        .contains('\n'));
    a.events[0].request_parameters = None;
    b.events[0].request_parameters = None;
    assert_eq!(a.events, b.events, "the same record, the same columns");
}

#[test]
fn a_digest_is_recognised_and_holds_no_event() {
    // elastic/integrations test-cloudtrail-digest-json.log, shortened.
    let digest = br#"{"awsAccountId":"123456789123","digestStartTime":"2020-09-11T18:36:49Z","digestEndTime":"2020-09-11T19:36:49Z","digestS3Bucket":"alice-bucket","digestS3Object":"AWSLogs/123456789123/CloudTrail-Digest/us-west-2/2020/09/11/x.json.gz","digestPublicKeyFingerprint":"abc","logFiles":[{"s3Bucket":"alice-bucket","s3Object":"AWSLogs/123456789123/CloudTrail/us-west-2/2020/09/11/y.json.gz","hashValue":"420784a5","hashAlgorithm":"SHA-256"}]}"#;
    assert_eq!(sniff(digest), Some(Shape::Digest));
    let out = parse(digest, 0);
    assert!(out.digest);
    assert_eq!((out.units, out.events.len()), (0, 0));
}

#[test]
fn lookup_events_pages_are_decoded_twice_and_may_be_concatenated() {
    let page = |r: &str| {
        format!(
            r#"{{"Events":[{{"EventId":"x","EventName":"ModifyDBInstance","ReadOnly":"false","EventTime":"2026-03-02T02:00:00+01:00","EventSource":"rds.amazonaws.com","Username":"mallory","Resources":[],"CloudTrailEvent":{}}}],"NextToken":"t"}}"#,
            serde_json::to_string(r).unwrap()
        )
    };
    let text = format!(
        "{}\n\n{}",
        page(&reset()),
        page(&record(
            "s3.amazonaws.com",
            "GetObject",
            "2026-03-02T01:00:01Z",
            "{}"
        ))
    );
    assert_eq!(sniff(text.as_bytes()), Some(Shape::LookupEvents));
    let out = parse(text.as_bytes(), 0);
    assert_eq!(out.units, 2);
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].resource.as_deref(), Some("prod-mysql-1"));
    assert_eq!(
        out.events[0].time_us, 1_772_413_200_000_000,
        "eventTime of the record, UTC"
    );
    assert_eq!(out.ignored_total(), 1);
}

#[test]
fn a_broken_line_of_json_lines_costs_that_line_only() {
    let text = format!(
        "{}\n{{\"eventSource\": broken\n\n{}\n",
        reset(),
        record(
            "rds.amazonaws.com",
            "DeleteDBInstance",
            "2026-03-02T01:05:00Z",
            r#"{"dBInstanceIdentifier":"old-db","skipFinalSnapshot":true}"#
        )
    );
    assert_eq!(sniff(text.as_bytes()), Some(Shape::Records));
    let out = parse(text.as_bytes(), 0);
    assert_eq!(out.units, 3);
    assert_eq!(out.events.len(), 2);
    assert_eq!(out.events[1].index, 3, "the index counts the broken line");
    assert_eq!(out.rejected.len(), 1);
    assert_eq!((out.rejected[0].0, out.rejected[0].1), (2, Reason::BadJson));
    assert_eq!(out.blank, 2, "the empty line and the end");
}

#[test]
fn eventbridge_events_give_their_detail_and_count_the_services_own_events() {
    let api = format!(
        r#"{{"version":"0","id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.rds","account":"123456789012","time":"2026-03-02T01:00:00Z","region":"us-east-1","resources":[],"detail":{}}}"#,
        reset()
    );
    let own = r#"{"version":"0","id":"2","detail-type":"RDS DB Instance Event","source":"aws.rds","account":"123456789012","time":"2021-03-19T19:34:09Z","region":"us-east-1","resources":[],"detail":{"EventCategories":["notification"],"SourceType":"DB_INSTANCE","SourceArn":"arn:aws:rds:us-east-1:111111111111:db:testdb","Date":"2021-03-19T19:34:09.293Z","Message":"DB instance stopped","SourceIdentifier":"testdb","EventID":"RDS-EVENT-0087"}}"#;
    let text = format!("{api}{own}");
    assert_eq!(sniff(text.as_bytes()), Some(Shape::EventBridge));
    let out = parse(text.as_bytes(), 0);
    assert_eq!((out.units, out.events.len()), (2, 1));
    assert_eq!(out.ignored.get("eventbridge:aws.rds"), Some(&1));
}

#[test]
fn bad_records_are_rejected_by_index_and_the_others_read_on() {
    let no_time = reset().replace(r#""eventTime":"2026-03-02T01:00:00Z","#, "");
    let bad_day = reset().replace("2026-03-02T01", "2026-02-31T01");
    let text = format!(r#"{{"Records":[{no_time},{bad_day},42,{}]}}"#, reset());
    let out = parse(text.as_bytes(), 0);
    assert_eq!(out.units, 4);
    let reasons: Vec<(u64, Reason)> = out.rejected.iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        reasons,
        [
            (1, Reason::MissingFields),
            (2, Reason::BadDay),
            (3, Reason::NotAnEvent)
        ]
    );
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].index, 4);
}

#[test]
fn broken_json_keeps_the_records_before_it() {
    let text = format!(
        r#"{{"Records":[{},{},{{"eventSource":"rds.amaz"#,
        reset(),
        reset()
    );
    let out = parse(text.as_bytes(), 0);
    assert_eq!(out.events.len(), 2);
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].1, Reason::BadJson);
    assert_eq!(out.units, 3);
}

#[test]
fn lake_rows_with_lowercase_keys_or_eventjson_are_records() {
    let row = r#"{"eventversion":"1.08","useridentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/bob","accountid":"1","username":"bob"},"eventtime":"2026-03-02 01:00:00","eventsource":"rds.amazonaws.com","eventname":"DeleteDBSnapshot","awsregion":"eu-west-1","requestparameters":{"dBSnapshotIdentifier":"snap-1"}}"#;
    let wrapped = format!(
        r#"{{"eventjson":{}}}"#,
        serde_json::to_string(&reset()).unwrap()
    );
    let text = format!("{row}\n{wrapped}\n");
    assert_eq!(sniff(text.as_bytes()), Some(Shape::Records));
    let out = parse(text.as_bytes(), 0);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    let got: Vec<_> = out
        .events
        .iter()
        .map(|e| {
            (
                e.event_name.as_str(),
                e.resource.as_deref(),
                e.principal_name.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("DeleteDBSnapshot", Some("snap-1"), Some("bob")),
            ("ModifyDBInstance", Some("prod-mysql-1"), Some("mallory"))
        ]
    );
}

#[test]
fn security_group_changes_are_kept_when_they_reach_a_database_port() {
    // The request shape of elastic/integrations test-authorize-security-group-ingress-json.log.
    let ingress = |port: u16, cidr: &str| {
        record(
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            "2026-03-02T01:00:00Z",
            &format!(
                r#"{{"groupId":"sg-0f63fecfa17ef4fee","ipPermissions":{{"items":[{{"fromPort":{port},"groups":{{}},"ipProtocol":"tcp","ipRanges":{{"items":[{{"cidrIp":"{cidr}"}}]}},"ipv6Ranges":{{}},"prefixListIds":{{}},"toPort":{port}}}]}}}}"#
            ),
        )
    };
    let text = format!(
        r#"{{"Records":[{},{},{}]}}"#,
        ingress(3306, "0.0.0.0/0"),
        ingress(443, "0.0.0.0/0"),
        ingress(5432, "10.0.0.0/8")
    );
    let out = parse(text.as_bytes(), 0);
    assert_eq!(out.events.len(), 2, "the two rules on database ports");
    assert_eq!(
        out.events[0].resource.as_deref(),
        Some("sg-0f63fecfa17ef4fee")
    );
    assert_eq!(out.ignored.get("ec2.amazonaws.com"), Some(&1));
    let rules = ingress_rules(&out.events[0].request());
    assert_eq!(
        rules,
        [IngressRule {
            cidrs: vec!["0.0.0.0/0".into()],
            ports: Some(3306)
        }]
    );
}

#[test]
fn real_traildiscover_records_read_whole() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cloudtrail");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();

    let denied = read("traildiscover-DeleteDBCluster.json");
    assert_eq!(sniff(&denied), Some(Shape::Records));
    let out = parse(&denied, 0);
    assert!(out.rejected.is_empty());
    let e = &out.events[0];
    assert_eq!(e.event_name, "DeleteDBCluster");
    assert_eq!(e.error_code.as_deref(), Some("AccessDenied"));
    assert!(e.is_denied());
    assert_eq!(
        e.request_parameters, None,
        "a denied RDS call carries no parameters"
    );
    assert_eq!(
        e.resource.as_deref(),
        Some("traildiscoverdbcluster"),
        "from the error's ARN"
    );
    assert_eq!(e.principal_name.as_deref(), Some("TrailDiscover"));
    assert_eq!(e.access_key_id.as_deref(), Some("AKIASZSTLCAWF4CPBKMF"));
    assert_eq!(e.source_ip.as_deref(), Some("109.196.12.142"));

    let failed = read("traildiscover-ModifyDBCluster.json");
    let out = parse(&failed, 0);
    assert!(out.rejected.is_empty());
    let e = &out.events[0];
    assert_eq!(e.resource.as_deref(), Some("traildiscover-nonexistent"));
    assert_eq!(
        e.principal_name.as_deref(),
        Some("AWSReservedSSO_AdministratorAccess/TrailDiscover")
    );
    assert_eq!(e.principal_type.as_deref(), Some("AssumedRole"));
    assert_eq!(
        e.session_issuer.as_deref(),
        Some("AWSReservedSSO_AdministratorAccess")
    );
    assert_eq!(e.mfa, Some(false));
    assert_eq!(e.error_code.as_deref(), Some("DBClusterNotFoundFault"));
    assert!(!e.is_denied());
    assert!(
        !e.request_parameters.as_deref().unwrap().contains('\n'),
        "pretty-printed parameters are kept compact"
    );
}

#[test]
fn other_json_is_not_a_trail() {
    assert_eq!(sniff(br#"{"flavor":"rds-mysql","incidents":10}"#), None);
    assert_eq!(sniff(b"20230501 10:02:19,db1,root"), None);
}

#[test]
fn random_edits_never_panic_and_every_unit_is_counted() {
    let base = format!(
        r#"{{"Records":[{},{},{}]}}"#,
        reset(),
        record(
            "s3.amazonaws.com",
            "GetObject",
            "2026-03-02T01:00:01Z",
            "{}"
        ),
        reset()
    );
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..2000 {
        let mut b = base.clone().into_bytes();
        for _ in 0..1 + next() % 4 {
            let at = (next() % b.len() as u64) as usize;
            match next() % 3 {
                0 => b[at] = (next() % 256) as u8,
                1 => {
                    b.remove(at);
                }
                _ => b.insert(at, b"{}[]\",:\\"[(next() % 8) as usize]),
            }
        }
        let out = parse(&b, 0);
        assert_eq!(
            out.units,
            out.records() + out.ignored_total() + out.rejected.len() as u64,
            "{}",
            String::from_utf8_lossy(&b)
        );
    }
}

#[test]
fn a_trail_sent_to_cloudwatch_is_read_in_every_wrapper() {
    let msg = |r: &str| serde_json::to_string(r).unwrap();
    let s3 = record(
        "s3.amazonaws.com",
        "GetObject",
        "2026-03-02T01:00:01Z",
        "{}",
    );
    // Firehose: a control message, then a data message, concatenated without separators.
    let firehose = format!(
        r#"{{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{{"id":"","timestamp":1772413200000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}}]}}{{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"CloudTrail/logs","logStream":"123456789012_CloudTrail_us-east-1","subscriptionFilters":["f"],"logEvents":[{{"id":"1","timestamp":1772413200000,"message":{}}},{{"id":"2","timestamp":1772413201000,"message":{}}}]}}"#,
        msg(&reset()),
        msg(&s3)
    );
    assert_eq!(sniff(firehose.as_bytes()), Some(Shape::CloudWatch));
    let out = parse(firehose.as_bytes(), 0);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!((out.units, out.events.len()), (3, 1));
    assert_eq!(out.ignored.get("cloudwatch:not-a-record"), Some(&1));
    assert_eq!(out.ignored.get("s3.amazonaws.com"), Some(&1));
    assert_eq!(out.events[0].index, 2);

    // `aws logs filter-log-events` output, pretty-printed.
    let page: Value = serde_json::from_str(&format!(
        r#"{{"events":[{{"logStreamName":"123456789012_CloudTrail_us-east-1","timestamp":1772413200000,"message":{},"ingestionTime":1772413205000,"eventId":"3"}}],"searchedLogStreams":[]}}"#,
        msg(&reset())
    ))
    .unwrap();
    let page = serde_json::to_string_pretty(&page).unwrap();
    assert_eq!(sniff(page.as_bytes()), Some(Shape::CloudWatch));
    let out = parse(page.as_bytes(), 0);
    assert_eq!((out.units, out.events.len()), (1, 1));

    // S3-export lines.
    let lines = format!(
        "2026-03-02T01:00:00.000Z {}\n2026-03-02T01:00:01.000Z {s3}\n",
        reset()
    );
    assert_eq!(sniff(lines.as_bytes()), Some(Shape::CloudWatchExport));
    let out = parse(lines.as_bytes(), 0);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!((out.units, out.events.len()), (2, 1));

    // A database log's delivery stays a database log's.
    let audit = r#"{"messageType":"DATA_MESSAGE","logGroup":"/aws/rds/instance/db1/audit","logEvents":[{"id":"1","timestamp":1772413200000,"message":"20260302 01:00:00,ip-10-0-0-1,app,10.0.0.5,1,0,CONNECT,shop,,0"}]}"#;
    assert_eq!(sniff(audit.as_bytes()), None);
    assert_eq!(
        sniff(b"2026-03-02T01:00:00.000Z 20260302 01:00:00,ip,app,10.0.0.5,1,0,CONNECT,,,0\n"),
        None
    );
}

#[test]
fn one_line_files_read_as_documents_or_as_lines_alike() {
    let object = format!(r#"{{"Records":[{},{}]}}"#, reset(), reset());
    let one = parse(object.as_bytes(), 0);
    let two = parse(format!("{object}\n{object}\n").as_bytes(), 0);
    assert_eq!((one.units, one.events.len()), (2, 2));
    assert_eq!((two.units, two.events.len(), two.blank), (4, 4, 1));
    let line = format!("2026-03-02T01:00:00.000Z {}", reset());
    let out = parse(line.as_bytes(), 0);
    assert_eq!((out.units, out.events.len()), (1, 1), "{:?}", out.rejected);
}

#[test]
fn a_json_database_log_in_cloudwatch_is_not_a_trail() {
    let jsonlog = r#"{"messageType":"DATA_MESSAGE","logGroup":"/aws/rds/instance/db1/postgresql","logEvents":[{"id":"1","timestamp":1772413200000,"message":"{\"timestamp\":\"2026-03-02 01:00:00.000 UTC\",\"user\":\"app\",\"dbname\":\"shop\",\"error_severity\":\"LOG\",\"message\":\"connection authorized\"}"}]}"#;
    assert_eq!(sniff(jsonlog.as_bytes()), None);
}
