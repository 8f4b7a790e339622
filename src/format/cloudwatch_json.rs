//! CloudWatch Logs JSON as delivered by AWS (formats.md §3.3, §3.4): `aws logs
//! filter-log-events` / `get-log-events` output (several pages may be concatenated in one
//! file), and subscription-filter / Firehose payloads (JSON objects concatenated with no
//! separator, usually gzip with no extension, which the input layer already undoes).
//!
//! This is the one format whose text is not in the file as it stands: each log line is a JSON
//! string whose escapes must be decoded. So a delivery is decoded once into an [`Arena`] (one
//! contiguous buffer of message text plus a table of events), and events borrow from the arena
//! exactly as they borrow from a mapped file elsewhere; the arena is the only owned copy of log
//! text in the scan. Documents are read with serde_json's `StreamDeserializer`, which handles
//! concatenated documents with or without whitespace between them.
//!
//! Each message is then handed to the record parser of its own family, sniffed per message
//! (a log group holds one format, but a file may gather several groups). Units of accounting
//! are CloudWatch events: `source_line` is the 1-based index of the event in the delivery
//! file, and a streamed file is cut only between documents, so the index runs on across cuts.
//! `CONTROL_MESSAGE` payloads (Firehose's connectivity checks) are counted as ignored.

use std::borrow::Cow;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny};

#[cfg(test)]
use super::Family;
use super::{mysql, postgres, FileFormat, Reason, RecordSink};

mod insights;

/// Whether the first bytes of a file are CloudWatch JSON: a JSON document that names the
/// fields of one of the AWS shapes (so that some other JSON file is not taken for a log).
pub fn sniff(head: &[u8]) -> bool {
    let start = head.trim_ascii_start();
    if !matches!(start.first(), Some(b'{' | b'[')) {
        return false;
    }
    let has = |k: &[u8]| memchr::memmem::find(start, k).is_some();
    has(b"\"logEvents\"")
        || has(b"\"messageType\"")
        || has(b"\"events\"")
        || (has(b"\"message\"") && has(b"\"timestamp\""))
        || insights::sniff(start)
}

/// The end of the last complete top-level JSON document in `buf` (0 if none is complete):
/// where a streamed delivery can be cut.
pub(crate) fn complete_documents_end(buf: &[u8]) -> usize {
    let mut docs = serde_json::Deserializer::from_slice(buf).into_iter::<IgnoredAny>();
    let mut end = 0;
    while let Some(Ok(_)) = docs.next() {
        end = docs.byte_offset();
    }
    end
}

/// One log event as the JSON shapes carry it. Strings are borrowed when they hold no escape.
#[derive(serde::Deserialize)]
struct LogEvent<'a> {
    /// `id` (subscription payloads) or `eventId` (`filter-log-events`): unique per event, so
    /// the same event delivered twice is recognised (see `dedupe`).
    #[serde(alias = "eventId", borrow)]
    id: Option<Cow<'a, str>>,
    timestamp: Option<i64>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    /// `filter-log-events` names each event's stream.
    #[serde(rename = "logStreamName", borrow)]
    log_stream_name: Option<Cow<'a, str>>,
}

/// A page of `filter-log-events` / `get-log-events`, a subscription payload, or (inside a
/// top-level array) a bare event.
#[derive(serde::Deserialize)]
struct Doc<'a> {
    #[serde(rename = "messageType", borrow)]
    message_type: Option<Cow<'a, str>>,
    #[serde(rename = "logStream", borrow)]
    log_stream: Option<Cow<'a, str>>,
    #[serde(rename = "logEvents", borrow)]
    log_events: Option<Vec<LogEvent<'a>>>,
    #[serde(borrow)]
    events: Option<Vec<LogEvent<'a>>>,
    #[serde(alias = "eventId", borrow)]
    id: Option<Cow<'a, str>>,
    timestamp: Option<i64>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(rename = "logStreamName", borrow)]
    log_stream_name: Option<Cow<'a, str>>,
    /// Logs Insights `get-query-results` rows (see [`insights`]).
    #[serde(borrow)]
    results: Option<insights::Results<'a>>,
}

/// A top-level document: an object, or an array of objects.
enum Top<'a> {
    One(Doc<'a>),
    Many(Vec<Doc<'a>>),
}

impl<'de> Deserialize<'de> for Top<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Top<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a CloudWatch Logs JSON object or array")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Top<'de>, A::Error> {
                Doc::deserialize(de::value::MapAccessDeserializer::new(map)).map(Top::One)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Top<'de>, A::Error> {
                Vec::<Doc>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Top::Many)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Message,
    /// An event of a `CONTROL_MESSAGE` payload.
    Control,
    /// An event without a `message`.
    NoMessage,
    /// A document that could not be decoded; the text is an excerpt of it.
    Bad,
}

/// One accounting unit: a CloudWatch event (or an undecodable document).
#[derive(Clone, Copy, Debug)]
struct Unit {
    kind: Kind,
    text: (usize, usize),
    /// The log stream (instance) it came from, as a range of the arena text.
    stream: (usize, usize),
    timestamp_ms: Option<i64>,
    /// The event's id, as a range of the arena text, if it has one.
    id: Option<(usize, usize)>,
}

/// A decoded delivery: the messages in one buffer, and the events in file order.
#[derive(Default)]
pub struct Arena {
    text: Vec<u8>,
    units: Vec<Unit>,
}

impl Arena {
    /// Decodes every document of a delivery. Never fails: what cannot be decoded becomes a
    /// rejected unit, and decoding stops there (a JSON stream cannot be resynchronised).
    pub fn decode(chunk: &[u8]) -> Arena {
        let mut arena = Arena {
            text: Vec::with_capacity(chunk.len() / 2),
            units: Vec::new(),
        };
        let mut docs = serde_json::Deserializer::from_slice(chunk).into_iter::<Top>();
        loop {
            let done = docs.byte_offset();
            match docs.next() {
                None => break,
                Some(Ok(Top::One(d))) => arena.add_doc(d),
                Some(Ok(Top::Many(ds))) => ds.into_iter().for_each(|d| arena.add_doc(d)),
                Some(Err(_)) => {
                    let rest = &chunk[done..];
                    let rest = rest.trim_ascii_start();
                    let excerpt = &rest[..rest.len().min(super::EXCERPT_BYTES)];
                    let text = arena.push(excerpt);
                    arena.units.push(Unit {
                        kind: Kind::Bad,
                        text,
                        stream: (0, 0),
                        timestamp_ms: None,
                        id: None,
                    });
                    break;
                }
            }
        }
        arena
    }

    /// Calls `f(index, identity)` for every event with a message, `index` counting from 0 in
    /// file order: the event's id where the delivery gives one, else its stream, timestamp
    /// and message (what makes one CloudWatch event the same as another).
    pub(crate) fn identities(&self, mut f: impl FnMut(usize, &[&[u8]])) {
        for (i, u) in self.units.iter().enumerate() {
            if u.kind != Kind::Message {
                continue;
            }
            let t = |r: (usize, usize)| &self.text[r.0..r.1];
            match u.id {
                Some(id) => f(i, &[b"id", t(id)]),
                None => {
                    let ts = u.timestamp_ms.unwrap_or(i64::MIN).to_le_bytes();
                    f(i, &[b"ev", t(u.stream), &ts, t(u.text)])
                }
            }
        }
    }

    /// The decoded text every event borrows from.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Events in the delivery.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    fn push(&mut self, s: &[u8]) -> (usize, usize) {
        let start = self.text.len();
        self.text.extend_from_slice(s);
        self.text.push(b'\n');
        (start, start + s.len())
    }

    /// The stream name, stored once per run of equal names.
    fn stream(&mut self, name: Option<&str>, last: &mut (usize, usize)) -> (usize, usize) {
        let name = name.unwrap_or("").as_bytes();
        if &self.text[last.0..last.1] != name {
            *last = self.push(name);
        }
        *last
    }

    fn add_doc(&mut self, d: Doc<'_>) {
        let control = d.message_type.as_deref() == Some("CONTROL_MESSAGE");
        let mut last = (0, 0);
        let doc_stream = self.stream(d.log_stream.as_deref(), &mut last);
        let events = d.log_events.into_iter().chain(d.events).flatten();
        let events = events.chain(d.results.into_iter().flat_map(insights::events));
        // An object with a message or a timestamp of its own is an event (a top-level array
        // of events), not a page.
        let is_event = d.message.is_some() || d.timestamp.is_some();
        let bare = is_event.then_some(LogEvent {
            id: d.id,
            timestamp: d.timestamp,
            message: d.message,
            log_stream_name: d.log_stream_name,
        });
        for ev in events.chain(bare) {
            let stream = match ev.log_stream_name.as_deref() {
                Some(n) => self.stream(Some(n), &mut last),
                None => doc_stream,
            };
            let (kind, text) = match &ev.message {
                _ if control => (Kind::Control, (0, 0)),
                Some(m) => (Kind::Message, self.push(m.as_bytes())),
                None => (Kind::NoMessage, (0, 0)),
            };
            let id = ev.id.as_deref().map(|i| self.push(i.as_bytes()));
            self.units.push(Unit {
                kind,
                text,
                stream,
                timestamp_ms: ev.timestamp,
                id,
            });
        }
    }

    /// Parses every event's message and reports it. Returns the number of units (the
    /// "lines" of this format). MySQL-family messages are read at `clock`'s UTC offset (each
    /// message is sniffed for the standard layouts, so a custom layout does not apply).
    pub fn parse<'a, S: RecordSink<'a>>(
        &'a self,
        clock: super::Clock,
        first_line: u64,
        sink: &mut S,
    ) -> u64 {
        let clock = super::Clock {
            layout: None,
            ..clock
        };
        let mut pg = postgres::Parser::new(None);
        for (i, u) in self.units.iter().enumerate() {
            let line = first_line + i as u64;
            let text = &self.text[u.text.0..u.text.1];
            match u.kind {
                Kind::Control => sink.ignored(1),
                Kind::Bad => sink.rejected(line, Reason::BadJson, text),
                Kind::NoMessage => sink.rejected(line, Reason::NoMessage, b""),
                Kind::Message => {
                    let msg = trim_line_end(text);
                    if msg.trim_ascii().is_empty() {
                        sink.blank(line);
                        continue;
                    }
                    let stream = &self.text[u.stream.0..u.stream.1];
                    let parsed = if let Some(family) = mysql::sniff_line(msg) {
                        let f = FileFormat {
                            family,
                            cloudwatch_export: false,
                            forced: None,
                            clock,
                        };
                        mysql::parse_record(&f, msg, line).map_err(Some)
                    } else if postgres::is_prefixed(msg) {
                        match pg.record(msg, line) {
                            postgres::Outcome::Event(e) => Ok(e),
                            postgres::Outcome::Ignored => Err(None),
                            postgres::Outcome::Rejected(r) => Err(Some(r)),
                        }
                    } else if postgres::is_end_of_log(msg) {
                        Err(None)
                    } else {
                        Err(Some(Reason::BadTimestamp))
                    };
                    match parsed {
                        Ok(mut e) => {
                            if e.time_us == i64::MIN {
                                e.time_us = u.timestamp_ms.map_or(0, |ms| ms * 1000);
                            }
                            // PostgreSQL lines do not name the server; the stream is the
                            // instance.
                            if e.server_host.is_empty() {
                                e.server_host = stream;
                            }
                            sink.event(e, msg);
                        }
                        Err(None) => sink.ignored(1),
                        Err(Some(r)) => sink.rejected(line, r, msg),
                    }
                }
            }
        }
        self.units.len() as u64
    }
}

fn trim_line_end(mut s: &[u8]) -> &[u8] {
    while let Some((b'\n' | b'\r', rest)) = s.split_last() {
        s = rest;
    }
    s
}

/// The family a message would be parsed as (for tests).
#[cfg(test)]
fn message_family(msg: &[u8]) -> Option<Family> {
    mysql::sniff_line(msg).or_else(|| postgres::is_prefixed(msg).then_some(Family::Postgres))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;

    #[derive(Default, Debug, PartialEq)]
    struct Log {
        events: Vec<(u64, String, String, String, i64, String)>,
        ignored: u64,
        blank: u64,
        rejected: Vec<(u64, Reason)>,
    }

    impl<'a> RecordSink<'a> for Log {
        fn event(&mut self, e: Event<'a>, _m: &'a [u8]) {
            self.events.push((
                e.line,
                e.format.as_str().to_string(),
                String::from_utf8_lossy(e.user).into_owned(),
                e.object.to_cow().into_owned(),
                e.time_us,
                String::from_utf8_lossy(e.server_host).into_owned(),
            ));
        }
        fn blank(&mut self, _l: u64) {
            self.blank += 1;
        }
        fn ignored(&mut self, lines: u64) {
            self.ignored += lines;
        }
        fn rejected(&mut self, line: u64, reason: Reason, _t: &'a [u8]) {
            self.rejected.push((line, reason));
        }
    }

    fn run(json: &str) -> (Log, u64) {
        let arena = Arena::decode(json.as_bytes());
        let mut log = Log::default();
        let n = arena.parse(Default::default(), 1, &mut log);
        (log, n)
    }

    const PG: &str = r#"2026-01-13 11:59:50 UTC:172.20.193.106(59548):app@shop:[13846]:LOG:  statement: SELECT \"a\"\nFROM t"#;

    #[test]
    fn subscription_payloads_concatenated_without_separators_are_all_read() {
        let control = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1768305590000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
        let data = format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/rds/instance/db1/postgresql","logStream":"db1","subscriptionFilters":["f"],"logEvents":[{{"id":"1","timestamp":1768305590000,"message":"{PG}"}},{{"id":"2","timestamp":1768305591000,"message":"2026-01-13 11:59:51 UTC:172.20.193.106(59548):[unknown]@[unknown]:[13847]:LOG:  connection received: host=172.20.193.106 port=59549"}}]}}"#
        );
        let (log, n) = run(&format!("{control}{data}{data}"));
        assert_eq!(n, 5);
        assert_eq!(
            log.ignored, 3,
            "the control event and two `connection received`"
        );
        assert_eq!(log.events.len(), 2);
        assert_eq!(log.events[0].0, 2);
        assert_eq!(log.events[1].0, 4);
        assert_eq!(log.events[0].1, "postgres");
        assert_eq!(log.events[0].3, "SELECT \"a\"\nFROM t");
        assert_eq!(log.events[0].5, "db1", "the stream names the instance");
        assert!(log.rejected.is_empty());
    }

    #[test]
    fn filter_log_events_pages_concatenated_are_one_sequence() {
        let page = |n: u32| {
            format!(
                "{{\n  \"events\": [\n    {{\n      \"logStreamName\": \"prod-mysql-1\",\n      \"timestamp\": 1682935339000,\n      \"message\": \"20230501 10:02:{n:02},db1,root,localhost,12,7,QUERY,test,'set a=\\\\'x\\\\'',0\",\n      \"ingestionTime\": 1682935340000,\n      \"eventId\": \"3\"\n    }}\n  ],\n  \"searchedLogStreams\": [],\n  \"nextToken\": \"abc\"\n}}\n"
            )
        };
        let text = format!("{}{}", page(19), page(20));
        assert!(sniff(text.as_bytes()));
        let (log, n) = run(&text);
        assert_eq!(n, 2);
        assert_eq!(log.events[1].0, 2);
        assert_eq!(log.events[0].1, "mariadb_audit");
        assert_eq!(
            log.events[0].3, "set a='x'",
            "JSON first, then the audit escapes"
        );
        assert_eq!(log.events[1].4, 1_682_935_340_000_000);
        // A streamed reader may cut between the pages, never inside one.
        let first = page(19).trim_end().len();
        assert_eq!(
            complete_documents_end(&text.as_bytes()[..first + 10]),
            first
        );
        assert_eq!(complete_documents_end(&text.as_bytes()[..first - 3]), 0);
    }

    #[test]
    fn a_top_level_array_of_events_is_read() {
        let text =
            format!(r#"[{{"timestamp": 1768305590000, "message": "{PG}"}}, {{"timestamp": 1}}]"#);
        let (log, n) = run(&text);
        assert_eq!(n, 2);
        assert_eq!(log.events.len(), 1);
        assert_eq!(log.rejected, vec![(2, Reason::NoMessage)]);
    }

    #[test]
    fn a_corrupt_document_is_rejected_after_the_good_ones() {
        let good = format!(r#"{{"logEvents":[{{"timestamp":1,"message":"{PG}"}}]}}"#);
        let (log, n) = run(&format!("{good}{{\"logEvents\":[{{\"timestamp\":"));
        assert_eq!(n, 2);
        assert_eq!(log.events.len(), 1);
        assert_eq!(log.rejected, vec![(2, Reason::BadJson)]);
        let (log, n) = run("\u{1f}\u{8b}garbage");
        assert_eq!((n, log.rejected.len()), (1, 1));
    }

    #[test]
    fn mangled_deliveries_never_panic_and_every_unit_is_accounted_for() {
        let good = format!(
            r#"{{"messageType":"DATA_MESSAGE","logStream":"db1","logEvents":[{{"id":"1","timestamp":1,"message":"{PG}"}},{{"timestamp":2,"message":"20230501 10:02:19,db1,root,localhost,12,0,CONNECT,mysql,,0"}}]}}"#
        );
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3000 {
            let mut s = good.clone().into_bytes();
            for _ in 0..1 + rng % 4 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let at = (rng % s.len() as u64) as usize;
                s[at] = b"{}[]\",:\\ 0a\xff\n"[(rng >> 20) as usize % 13];
            }
            let (log, n) = run(&String::from_utf8_lossy(&s));
            let accounted =
                log.events.len() as u64 + log.ignored + log.blank + log.rejected.len() as u64;
            assert_eq!(accounted, n);
        }
    }

    #[test]
    fn sniff_wants_an_aws_shape_not_any_json() {
        assert!(sniff(b"  {\"messageType\":\"DATA_MESSAGE\"}"));
        assert!(!sniff(b"{\"flavor\":\"rds-mysql\",\"incidents\":10}"));
        assert!(!sniff(b"20230501 10:02:19,db1,root"));
        assert_eq!(message_family(PG.as_bytes()), Some(Family::Postgres));
    }

    /// A message whose own timestamp does not exist is rejected by field, whatever the
    /// delivery's `timestamp` says; the other messages are read.
    #[test]
    fn messages_with_impossible_times_are_rejected_by_field() {
        let ev = |msg: &str| format!(r#"{{"id":"1","timestamp":1768305590000,"message":"{msg}"}}"#);
        let json = format!(
            r#"{{"logEvents":[{},{},{},{}]}}"#,
            ev("20260228 10:02:19,db1,root,localhost,12,0,CONNECT,mysql,,0"),
            ev("20260231 10:02:19,db1,root,localhost,12,0,CONNECT,mysql,,0"),
            ev("20260301 10:02:61,db1,root,localhost,12,0,CONNECT,mysql,,0"),
            ev("2026-02-30 11:59:50 UTC:172.20.193.106(59548):app@shop:[13846]:LOG:  statement: SELECT 1"),
        );
        let (log, n) = run(&json);
        assert_eq!(n, 4);
        assert_eq!(
            log.rejected,
            vec![
                (2, Reason::BadDay),
                (3, Reason::BadSecond),
                (4, Reason::BadDay)
            ]
        );
        assert_eq!(log.events.len(), 1);
    }
}
