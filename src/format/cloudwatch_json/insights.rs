//! CloudWatch Logs Insights results (`aws logs get-query-results`, and the console's JSON
//! download): `{"results": [[{"field": "@timestamp", "value": ...}, {"field": "@message",
//! ...}, ...], ...], "statistics": ..., "status": ...}`. Each row is one log event: `@message`
//! is its text, `@logStream` its stream, `@ptr` its identity (so the same event in two result
//! files is one event), `@timestamp` (`YYYY-MM-DD HH:MM:SS.fff`, UTC) its CloudWatch time.
//! Rows are turned into the [`LogEvent`]s the other JSON shapes give, so everything after
//! decoding is shared.

use std::borrow::Cow;

use super::LogEvent;
use crate::time;

/// One `{"field": ..., "value": ...}` of a result row.
#[derive(serde::Deserialize)]
pub(super) struct Field<'a> {
    #[serde(borrow)]
    field: Cow<'a, str>,
    #[serde(borrow)]
    value: Option<Cow<'a, str>>,
}

/// One row of the `results` member: its fields.
pub(super) type Row<'a> = Vec<Field<'a>>;

/// Whether the head of a file looks like Insights results.
pub(super) fn sniff(start: &[u8]) -> bool {
    let has = |k: &[u8]| memchr::memmem::find(start, k).is_some();
    has(b"\"results\"") && (has(b"\"@message\"") || has(b"\"@timestamp\"") || has(b"\"@ptr\""))
}

/// A row as a log event. The rows are the elements of the document's `results` array, found
/// by the same walk as `logEvents` elements (`json_bounds`), so a large result file is cut
/// between rows like any delivery.
pub(super) fn event(row: Row<'_>) -> LogEvent<'_> {
    let mut ev = LogEvent {
        id: None,
        timestamp: None,
        message: None,
        log_stream_name: None,
    };
    for f in row {
        match &*f.field {
            "@message" => ev.message = f.value,
            "@logStream" => ev.log_stream_name = f.value,
            "@ptr" => ev.id = f.value,
            "@timestamp" => ev.timestamp = f.value.as_deref().and_then(timestamp_ms),
            _ => {}
        }
    }
    ev
}

/// `2026-03-01 12:00:00.123` (UTC) to epoch milliseconds.
fn timestamp_ms(v: &str) -> Option<i64> {
    let b = v.as_bytes();
    let secs = time::parse_iso_space(b.get(..19)?).ok()?;
    let mut ms = 0;
    if let Some(frac) = b.get(20..).filter(|_| b[19] == b'.') {
        let digits = &frac[..frac.len().min(3)];
        ms = digits.iter().try_fold(0i64, |v, &c| {
            c.is_ascii_digit().then(|| v * 10 + i64::from(c - b'0'))
        })? * 10i64.pow(3 - digits.len() as u32);
    }
    Some(secs / 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::super::{sniff, Arena};
    use super::timestamp_ms;
    use crate::event::{Event, Operation};
    use crate::format::{self, Family, Reason, RecordSink};

    #[derive(Default, Debug)]
    struct Log {
        events: Vec<(u64, Operation, String, String)>,
        ignored: u64,
        rejected: Vec<(u64, Reason)>,
    }

    impl<'a> RecordSink<'a> for Log {
        fn event(&mut self, e: Event<'a>, _m: &'a [u8]) {
            self.events.push((
                e.line,
                e.operation,
                String::from_utf8_lossy(e.user).into_owned(),
                String::from_utf8_lossy(e.server_host).into_owned(),
            ));
        }
        fn blank(&mut self, _l: u64) {}
        fn ignored(&mut self, lines: u64) {
            self.ignored += lines;
        }
        fn rejected(&mut self, line: u64, reason: Reason, _t: &'a [u8]) {
            self.rejected.push((line, reason));
        }
    }

    /// `aws logs get-query-results` output for `fields @timestamp, @message, @logStream` over
    /// an RDS audit log group and a PostgreSQL log group.
    const RESULTS: &str = r#"{
    "results": [
        [
            {"field": "@timestamp", "value": "2026-03-01 12:00:00.000"},
            {"field": "@message", "value": "20260301 12:00:00,ip-10-0-1-5,app,10.0.3.7,42,0,CONNECT,shop,,0,SSL"},
            {"field": "@logStream", "value": "db-1.audit"},
            {"field": "@ptr", "value": "CmAKJwojMTIzNDU2Nzg5MDEyOi9hd3MvcmRzL2luc3RhbmNlL2RiLTEvYXVkaXQQABI1GhgCBmUbNkQAAAAA"}
        ],
        [
            {"field": "@timestamp", "value": "2026-03-01 12:00:01.250"},
            {"field": "@message", "value": "2026-03-01 12:00:01 UTC:10.0.3.7(50122):app@orders:[901]:LOG:  statement: SELECT 1"},
            {"field": "@logStream", "value": "db-2.0"}
        ],
        [
            {"field": "@timestamp", "value": "2026-03-01 12:00:02.000"},
            {"field": "@logStream", "value": "db-2.0"}
        ]
    ],
    "statistics": {"recordsMatched": 3.0, "recordsScanned": 1200.0, "bytesScanned": 180000.0},
    "status": "Complete"
}"#;

    #[test]
    fn insights_rows_are_log_events() {
        assert!(sniff(RESULTS.as_bytes()));
        let f = format::sniff(RESULTS.as_bytes()).unwrap();
        assert_eq!(f.family, Family::CloudwatchJson);
        let arena = Arena::decode(RESULTS.as_bytes());
        assert_eq!(arena.len(), 3);
        let mut log = Log::default();
        assert_eq!(arena.parse(Default::default(), 1, &mut log), 3);
        assert_eq!(log.events.len(), 2, "{log:?}");
        assert_eq!(
            (log.events[0].1, log.events[0].2.as_str()),
            (Operation::Connect, "app")
        );
        assert_eq!(
            (log.events[1].0, log.events[1].1, log.events[1].2.as_str()),
            (2, Operation::Query, "app")
        );
        assert_eq!(log.rejected, vec![(3, Reason::NoMessage)]);
        // `@ptr` identifies the event; without it, stream, time and message do.
        let mut ids = Vec::new();
        arena.identities(|i, parts| ids.push((i, parts[0].to_vec())));
        assert_eq!(ids, vec![(0, b"id".to_vec()), (1, b"ev".to_vec())]);
    }

    #[test]
    fn insights_timestamps_are_utc_milliseconds() {
        let base = timestamp_ms("2026-03-01 12:00:00").unwrap();
        assert_eq!(timestamp_ms("2026-03-01 12:00:01.250"), Some(base + 1250));
        assert_eq!(timestamp_ms("2026-03-01 12:00:01.5"), Some(base + 1500));
        assert_eq!(timestamp_ms("2026-02-30 12:00:00.000"), None);
        assert!(!sniff(br#"{"results": [], "note": "some other JSON"}"#));
    }
}
