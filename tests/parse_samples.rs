//! Every real sample line of formats.md (testdata/parse-samples.jsonl, a copy of
//! shared/cases/parse-samples.jsonl) parses into the fields it must have.

use forensics::event::{client_ip, Event, Text};
use serde_json::Value;

fn field(e: &Event<'_>, key: &str) -> Value {
    let s = |b: &[u8]| Value::String(String::from_utf8_lossy(b).into_owned());
    let opt = |b: &[u8]| if b.is_empty() { Value::Null } else { s(b) };
    match key {
        "event_time_us" => e.time_us.into(),
        "source_format" => e.format.as_str().into(),
        "server_host" => s(e.server_host),
        "user" => s(e.user),
        "client_host" => s(e.client_host),
        "client_ip" => client_ip(e.client_host)
            .map(|ip| Value::String(ip.to_string()))
            .unwrap_or(Value::Null),
        "connection_id" => e.connection_id.into(),
        "query_id" => e.query_id.into(),
        "operation" => e.operation.as_str().into(),
        "database" => opt(e.database),
        "object" => match e.object {
            Text::None => Value::Null,
            t => Value::String(t.to_cow().into_owned()),
        },
        "retcode" => e.retcode.map(Value::from).unwrap_or(Value::Null),
        "tls" => e.tls.map(Value::from).unwrap_or(Value::Null),
        "statement_class" => e
            .statement_class
            .map(|c| Value::from(c.as_str()))
            .unwrap_or(Value::Null),
        other => panic!("unknown expected key {other}"),
    }
}

#[test]
fn every_sample_line_parses_into_its_fields() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/parse-samples.jsonl"
    ))
    .unwrap();
    let mut checked = 0;
    let mut postgres = 0;
    let mut failures = Vec::new();
    for (i, raw) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let case: Value = serde_json::from_str(raw).unwrap();
        let fmt = case["source_format"].as_str().unwrap();
        postgres += usize::from(fmt == "postgres");
        let line = case["line"].as_str().unwrap();
        let e = match forensics::format::parse_line(line.as_bytes()) {
            Ok(e) => e,
            Err(r) => {
                failures.push(format!("case {i}: {line}\n  rejected: {}", r.as_str()));
                continue;
            }
        };
        let mut expect = case["expect"].as_object().unwrap().clone();
        expect.insert("source_format".into(), fmt.into());
        for (k, want) in &expect {
            let got = field(&e, k);
            if &got != want {
                failures.push(format!("case {i}: {line}\n  {k}: want {want}, got {got}"));
            }
        }
        checked += 1;
    }
    assert!(
        checked >= 28 && postgres >= 8,
        "only {checked} samples ({postgres} PostgreSQL) were read"
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
