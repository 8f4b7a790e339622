//! Criterion benchmark of reading CloudTrail (MB/s of uncompressed JSON): an S3 delivery
//! object (`{"Records":[…]}`, one document) and the same records as JSON Lines, each about
//! 8 MiB, four records in five about other services (counted as ignored) and one in five
//! about RDS (decoded into the control table's values). Beside them, serde_json walking the
//! same bytes without building anything (`IgnoredAny`): the floor any reader of the JSON
//! pays, so the ratio says what the reader adds, whatever the machine's speed.
//! Run: `cargo bench --bench cloudtrail`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use forensics::format::cloudtrail;

fn record(i: usize) -> String {
    let t = format!(
        "2026-03-0{}T{:02}:{:02}:{:02}Z",
        1 + i % 7,
        i / 3600 % 24,
        i / 60 % 60,
        i % 60
    );
    let who = format!(
        r#"{{"type":"AssumedRole","principalId":"AROAEXAMPLE:i-0abc{i:04}","arn":"arn:aws:sts::123456789012:assumed-role/OrdersAppRole/i-0abc{i:04}","accountId":"123456789012","accessKeyId":"ASIAEXAMPLEKEY{i:05}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::123456789012:role/OrdersAppRole","accountId":"123456789012","userName":"OrdersAppRole"}},"attributes":{{"creationDate":"2026-03-01T00:00:00Z","mfaAuthenticated":"false"}},"ec2RoleDelivery":"2.0"}}}}"#
    );
    let (source, name, request, response) = match i % 5 {
        0 => (
            "rds.amazonaws.com",
            if i.is_multiple_of(10) { "DescribeDBInstances" } else { "ModifyDBInstance" },
            format!(r#"{{"dBInstanceIdentifier":"prod-db-{}","allocatedStorage":200,"applyImmediately":true}}"#, i % 7),
            format!(r#"{{"dBInstanceIdentifier":"prod-db-{}","dBInstanceClass":"db.r6g.large","engine":"mysql","dBInstanceStatus":"available","masterUsername":"admin","endpoint":{{"address":"prod-db-{}.abc123.us-east-1.rds.amazonaws.com","port":3306}},"allocatedStorage":200,"vpcSecurityGroups":[{{"vpcSecurityGroupId":"sg-0a1b2c3d4e5f60718","status":"active"}}],"dBParameterGroups":[{{"dBParameterGroupName":"prod-params","parameterApplyStatus":"in-sync"}}],"publiclyAccessible":false,"storageEncrypted":true,"pendingModifiedValues":{{}}}}"#, i % 7, i % 7),
        ),
        1 => ("s3.amazonaws.com", "GetObject", format!(r#"{{"bucketName":"orders-exports","Host":"orders-exports.s3.us-east-1.amazonaws.com","key":"exports/2026/03/{i}.csv"}}"#), "null".to_string()),
        2 => ("sts.amazonaws.com", "AssumeRole", r#"{"roleArn":"arn:aws:iam::123456789012:role/OrdersAppRole","roleSessionName":"i-0abc"}"#.to_string(), format!(r#"{{"credentials":{{"accessKeyId":"ASIAEXAMPLE{i:05}","sessionToken":"IQoJb3JpZ2luX2VjEXAMPLETOKENEXAMPLETOKENEXAMPLETOKENEXAMPLETOKEN","expiration":"Mar 1, 2026, 1:00:00 PM"}},"assumedRoleUser":{{"assumedRoleId":"AROAEXAMPLE:i-0abc","arn":"arn:aws:sts::123456789012:assumed-role/OrdersAppRole/i-0abc"}}}}"#)),
        3 => ("kms.amazonaws.com", "Decrypt", r#"{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::orders-exports"}}"#.to_string(), "null".to_string()),
        _ => ("ec2.amazonaws.com", "DescribeInstances", r#"{"instancesSet":{},"filterSet":{},"maxResults":1000}"#.to_string(), "null".to_string()),
    };
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{who},"eventTime":"{t}","eventSource":"{source}","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"10.20.1.{}","userAgent":"aws-sdk-java/2.25.10 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.9 md/internal","requestParameters":{request},"responseElements":{response},"requestID":"{i:08x}-aaaa-4bbb-8ccc-{i:012x}","eventID":"{i:08x}-dddd-4eee-8fff-{i:012x}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{source}"}}}}"#,
        i % 250
    )
}

fn records(bytes: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut n = 0;
    while n < bytes {
        let r = record(out.len());
        n += r.len() + 1;
        out.push(r);
    }
    out
}

fn bench(c: &mut Criterion) {
    let recs = records(8 << 20);
    let object = format!(r#"{{"Records":[{}]}}"#, recs.join(",")).into_bytes();
    let lines = (recs.join("\n") + "\n").into_bytes();
    let check = cloudtrail::parse(&object, 0);
    assert!(check.rejected.is_empty() && check.events.len() == recs.len().div_ceil(5));
    let mut g = c.benchmark_group("cloudtrail");
    g.sample_size(20);
    for (name, data) in [("s3_object", &object), ("json_lines", &lines)] {
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| cloudtrail::parse(std::hint::black_box(data), 0))
        });
    }
    g.throughput(Throughput::Bytes(object.len() as u64));
    g.bench_function("serde_json_ignored_any/s3_object", |b| {
        b.iter(|| {
            serde_json::from_slice::<serde::de::IgnoredAny>(std::hint::black_box(&object)).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
