//! CloudTrail, as responders receive it: S3 delivery objects (`{"Records":[…]}`, usually
//! gzip), digest files (skipped: they hold hashes, not events), `aws cloudtrail
//! lookup-events` output (`Events[].CloudTrailEvent`, each a record serialised as a JSON
//! string), JSON Lines exports (one record per line; CloudTrail Lake rows, with lowercase keys
//! or an `eventjson` string), EventBridge events (the record in `detail`), JSON arrays of
//! records, a trail sent to CloudWatch Logs inside the CloudWatch wrappers (JSON pages and
//! deliveries whose messages are records, S3-export lines `<time> {record}`), and any of these
//! concatenated.
//!
//! One reader for every shape: a serde visitor walks each top-level JSON value once. An
//! object holding `Records` or `Events` has its array walked element by element; an object
//! with record keys (`eventSource`, `eventName`, `eventTime`) is a record; one with `detail`
//! an EventBridge event; one with `CloudTrailEvent` or `eventjson` a string to decode again.
//! Every value of a record is first taken as borrowed raw JSON text ([`RawValue`]), so a
//! record about another service (most of a trail) costs the walk and the decoding of its
//! `eventSource` only, and is counted as ignored under that service. Records about databases
//! (see [`relevant`]) are decoded into [`ControlEvent`]s.
//!
//! Accounting: each record (or each JSON value that should have been one) is one unit, its
//! 1-based index in the file its `source_line`. A record without `eventSource`, `eventName`
//! or a readable `eventTime` is rejected with its index; one that is not a JSON object is
//! rejected as not an event. Broken JSON ends the document: the records before it are kept
//! and the rest is one rejected unit. In a JSON Lines file a broken line costs that line only.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::{Reason, EXCERPT_BYTES};
use crate::control::{arn_name, ingress_rules, ControlEvent};

/// The shape a file was recognised as; its name is the file's `format` in the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// An S3 delivery object: `{"Records":[…]}`.
    S3Object,
    /// A digest file (hourly SHA-256 hashes of the delivered objects): skipped.
    Digest,
    /// `aws cloudtrail lookup-events` output.
    LookupEvents,
    /// EventBridge events whose `detail` is the record.
    EventBridge,
    /// Bare records: one per line (JSON Lines, CloudTrail Lake) or in a JSON array.
    Records,
    /// A trail sent to CloudWatch Logs, in a CloudWatch JSON wrapper (`filter-log-events`
    /// pages, subscription/Firehose deliveries): each log event's message is a record.
    CloudWatch,
    /// The same as CloudWatch S3-export lines (`<ISO time> {record}`).
    CloudWatchExport,
}

impl Shape {
    pub fn name(self) -> &'static str {
        match self {
            Shape::S3Object => "cloudtrail",
            Shape::Digest => "cloudtrail_digest",
            Shape::LookupEvents => "cloudtrail_lookup_events",
            Shape::EventBridge => "cloudtrail_eventbridge",
            Shape::Records => "cloudtrail_records",
            Shape::CloudWatch => "cloudwatch_json+cloudtrail",
            Shape::CloudWatchExport => "cloudwatch_export+cloudtrail",
        }
    }
}

/// Recognises CloudTrail from a file's first bytes (decompressed). Keys are looked for with
/// their quotes, so a CloudWatch delivery that carries trail records as (escaped) messages is
/// not taken for a trail.
pub fn sniff(head: &[u8]) -> Option<Shape> {
    let start = head
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(head)
        .trim_ascii_start();
    // CloudWatch S3-export lines whose message is a record.
    if let Some(first) = start.split(|&c| c == b'\n').next() {
        if let Some((_, n)) = crate::time::parse_cloudwatch_prefix(first) {
            let rest = &first[n..];
            let has = |k: &[u8]| memchr::memmem::find(rest, k).is_some();
            return (rest.first() == Some(&b'{')
                && (has(b"\"eventVersion\"") || has(b"\"eventSource\"")))
            .then_some(Shape::CloudWatchExport);
        }
    }
    if !matches!(start.first(), Some(b'{' | b'[')) {
        return None;
    }
    let has = |k: &[u8]| memchr::memmem::find(start, k).is_some();
    // A CloudWatch JSON wrapper whose messages are records (a message that opens a JSON
    // object and names an `eventSource`; a database log's message never opens with `{`, and a
    // JSON log of another kind names no `eventSource`).
    if (has(b"\"message\":\"{\\\"") || has(b"\"message\": \"{\\\"")) && has(b"\\\"eventSource\\\":")
    {
        return Some(Shape::CloudWatch);
    }
    let key = |k: &[u8]| {
        // `"key"` followed (after blanks) by a colon.
        memchr::memmem::find_iter(start, k)
            .any(|at| start[at + k.len()..].trim_ascii_start().first() == Some(&b':'))
    };
    if key(b"\"Records\"")
        && (key(b"\"eventSource\"") || key(b"\"eventVersion\"") || start.len() < 64)
    {
        return Some(Shape::S3Object);
    }
    if key(b"\"digestPublicKeyFingerprint\"")
        || (key(b"\"logFiles\"") && key(b"\"digestS3Object\""))
    {
        return Some(Shape::Digest);
    }
    if key(b"\"CloudTrailEvent\"") {
        return Some(Shape::LookupEvents);
    }
    if key(b"\"detail-type\"") && has(b"via CloudTrail\"") {
        return Some(Shape::EventBridge);
    }
    let record = |a: &[u8], b: &[u8], c: &[u8]| key(a) && key(b) && key(c);
    if record(b"\"eventSource\"", b"\"eventName\"", b"\"eventTime\"")
        || record(b"\"eventsource\"", b"\"eventname\"", b"\"eventtime\"")
        || key(b"\"eventjson\"")
    {
        return Some(Shape::Records);
    }
    None
}

/// What a file of CloudTrail gave: its database records, the others counted per service,
/// and the rejected units.
#[derive(Debug, Default)]
pub struct TrailOutput {
    pub events: Vec<ControlEvent>,
    /// Records about other services (or other calls of a kept service), by `eventSource`.
    pub ignored: BTreeMap<String, u64>,
    /// Units read: records, ignored records and rejected units.
    pub units: u64,
    pub rejected: Vec<(u64, Reason, String)>,
    /// Blank lines of a JSON Lines file.
    pub blank: u64,
    /// The file is a digest (no events).
    pub digest: bool,
}

impl TrailOutput {
    pub fn records(&self) -> u64 {
        self.events.len() as u64
    }

    pub fn ignored_total(&self) -> u64 {
        self.ignored.values().sum()
    }
}

/// Reads a whole CloudTrail file (`data` decompressed) of input file `file`.
pub fn parse(data: &[u8], file: u32) -> TrailOutput {
    let mut out = Reader {
        file,
        out: TrailOutput::default(),
        started: false,
    };
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    if is_json_lines(data) {
        for line in data.split(|&c| c == b'\n') {
            let line = strip_export_prefix(line);
            if line.trim_ascii().is_empty() {
                out.out.blank += 1;
                continue;
            }
            let mut de = serde_json::Deserializer::from_slice(line);
            let done = Doc(&mut out).deserialize(&mut de).and_then(|()| de.end());
            if let Err(e) = done {
                out.reject(Reason::BadJson, format!("broken JSON line: {e}"));
            }
        }
    } else {
        let mut de = serde_json::Deserializer::from_slice(data);
        loop {
            out.started = false;
            match Doc(&mut out).deserialize(&mut de) {
                Ok(()) => {}
                // Only blanks after the last document.
                Err(e) if e.is_eof() && !out.started => break,
                Err(e) => {
                    out.reject(
                        Reason::BadJson,
                        format!("broken JSON, the rest of the file is not read: {e}"),
                    );
                    break;
                }
            }
        }
    }
    out.out
}

/// Whether a file is JSON Lines: CloudWatch S3-export lines, or more than one non-blank line,
/// the first a whole JSON value.
/// A file of one document on one line (as AWS delivers S3 objects) reads the same either way,
/// and is read as a document, without a look at its one line first.
fn is_json_lines(data: &[u8]) -> bool {
    let start = data.len() - data.trim_ascii_start().len();
    let data = &data[start..];
    let end = memchr::memchr(b'\n', data).unwrap_or(data.len());
    // CloudWatch S3-export lines: one record per line after the time.
    if crate::time::parse_cloudwatch_prefix(&data[..end]).is_some() {
        return true;
    }
    if data[end..].trim_ascii().is_empty() {
        return false;
    }
    let mut de = serde_json::Deserializer::from_slice(strip_export_prefix(&data[..end]));
    IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_ok()
}

/// A line without its CloudWatch S3-export prefix (`2026-03-01T12:00:00.000Z `), if it has one.
fn strip_export_prefix(line: &[u8]) -> &[u8] {
    match crate::time::parse_cloudwatch_prefix(line) {
        Some((_, n)) => &line[n..],
        None => line,
    }
}

use serde::Deserialize;

struct Reader {
    file: u32,
    out: TrailOutput,
    /// A document has begun (so an end-of-input error is a truncated document).
    started: bool,
}

impl Reader {
    fn next_index(&mut self) -> u64 {
        self.out.units += 1;
        self.out.units
    }

    fn reject(&mut self, reason: Reason, why: String) {
        let index = self.next_index();
        self.reject_at(index, reason, why);
    }

    fn reject_at(&mut self, index: u64, reason: Reason, why: String) {
        let mut why = why;
        if why.len() > EXCERPT_BYTES {
            let mut at = EXCERPT_BYTES;
            while !why.is_char_boundary(at) {
                at -= 1;
            }
            why.truncate(at);
        }
        self.out.rejected.push((index, reason, why));
    }

    /// One record's raw fields: decoded and kept, counted as ignored, or rejected.
    fn record(&mut self, f: &Fields<'_>) {
        let index = self.next_index();
        match decode(f, self.file, index) {
            Ok(Some(e)) => self.out.events.push(e),
            Ok(None) => {
                let source = f
                    .event_source
                    .and_then(str_of)
                    .unwrap_or(Cow::Borrowed("?"));
                match self.out.ignored.get_mut(&*source) {
                    Some(n) => *n += 1,
                    None => {
                        self.out.ignored.insert(source.into_owned(), 1);
                    }
                }
            }
            Err((reason, why)) => self.reject_at(index, reason, why),
        }
    }

    /// A record serialised as a JSON string (`CloudTrailEvent`, Lake's `eventjson`).
    fn record_text(&mut self, text: &str) {
        let mut de = serde_json::Deserializer::from_str(text);
        let mut fields = None;
        let read = RecordOnly(&mut fields)
            .deserialize(&mut de)
            .and_then(|()| de.end());
        match (read, fields) {
            (Ok(()), Some(f)) => self.record(&f),
            (Ok(()), None) => self.reject(
                Reason::NotAnEvent,
                "an embedded record that is not a JSON object".into(),
            ),
            (Err(e), _) => self.reject(
                Reason::BadJson,
                format!("an embedded record that is not JSON: {e}"),
            ),
        }
    }

    /// An EventBridge event: the record in `detail` when it came through CloudTrail, else
    /// an event of the service itself (RDS's own notifications), counted as ignored.
    fn eventbridge(&mut self, detail_type: &str, source: Option<&str>, detail: &RawValue) {
        if !detail_type.contains("via CloudTrail") {
            self.next_index();
            let key = format!("eventbridge:{}", source.unwrap_or("?"));
            *self.out.ignored.entry(key).or_insert(0) += 1;
            return;
        }
        self.record_text(detail.get());
    }
}

/// The raw (undecoded) values of a record's fields, as borrowed JSON text.
#[derive(Default)]
struct Fields<'a> {
    event_time: Option<&'a RawValue>,
    event_source: Option<&'a RawValue>,
    event_name: Option<&'a RawValue>,
    aws_region: Option<&'a RawValue>,
    user_identity: Option<&'a RawValue>,
    source_ip: Option<&'a RawValue>,
    user_agent: Option<&'a RawValue>,
    read_only: Option<&'a RawValue>,
    error_code: Option<&'a RawValue>,
    error_message: Option<&'a RawValue>,
    request_parameters: Option<&'a RawValue>,
    response_elements: Option<&'a RawValue>,
    event_id: Option<&'a RawValue>,
    recipient_account_id: Option<&'a RawValue>,
    resources: Option<&'a RawValue>,
}

impl<'a> Fields<'a> {
    /// The field of [`Key::Field`] `id`.
    fn slot(&mut self, id: u8) -> &mut Option<&'a RawValue> {
        match id {
            0 => &mut self.event_time,
            1 => &mut self.event_source,
            2 => &mut self.event_name,
            3 => &mut self.aws_region,
            4 => &mut self.user_identity,
            5 => &mut self.source_ip,
            6 => &mut self.user_agent,
            7 => &mut self.read_only,
            8 => &mut self.error_code,
            9 => &mut self.error_message,
            10 => &mut self.request_parameters,
            11 => &mut self.response_elements,
            12 => &mut self.event_id,
            13 => &mut self.recipient_account_id,
            _ => &mut self.resources,
        }
    }

    fn is_record(&self) -> bool {
        self.event_source.is_some() || self.event_name.is_some() || self.event_time.is_some()
    }
}

/// What a key of an object is, whatever the case of its letters (CloudTrail Lake writes
/// them lowercase).
enum Key {
    Records,
    Events,
    Embedded,
    /// A CloudWatch log event's message: a record as text, or a control message.
    Message,
    DetailType,
    Detail,
    Source,
    Digest,
    /// A record field: its slot in [`Fields::slot`].
    Field(u8),
    Other,
}

fn key_of(k: &str) -> Key {
    // Exact spellings first (the common case), then the lowercase ones.
    match k {
        "eventTime" | "eventtime" => Key::Field(0),
        "eventSource" | "eventsource" => Key::Field(1),
        "eventName" | "eventname" => Key::Field(2),
        "awsRegion" | "awsregion" => Key::Field(3),
        "userIdentity" | "useridentity" => Key::Field(4),
        "sourceIPAddress" | "sourceipaddress" => Key::Field(5),
        "userAgent" | "useragent" => Key::Field(6),
        "readOnly" | "readonly" => Key::Field(7),
        "errorCode" | "errorcode" => Key::Field(8),
        "errorMessage" | "errormessage" => Key::Field(9),
        "requestParameters" | "requestparameters" => Key::Field(10),
        "responseElements" | "responseelements" => Key::Field(11),
        "eventID" | "eventid" | "eventId" => Key::Field(12),
        "recipientAccountId" | "recipientaccountid" => Key::Field(13),
        "resources" => Key::Field(14),
        "Records" => Key::Records,
        "Events" => Key::Events,
        // CloudWatch wrappers: the events of a page or delivery, each message a record.
        "logEvents" | "events" => Key::Records,
        "message" => Key::Message,
        "CloudTrailEvent" | "eventjson" | "eventJson" => Key::Embedded,
        "detail-type" => Key::DetailType,
        "detail" => Key::Detail,
        "source" => Key::Source,
        "digestPublicKeyFingerprint" | "logFiles" | "digestS3Object" => Key::Digest,
        _ => Key::Other,
    }
}

/// A key, borrowed when it holds no escape.
struct KeyStr<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for KeyStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(KeyStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(KeyStr(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// One JSON value at the top of a document or in a `Records`/`Events` array.
struct Doc<'r>(&'r mut Reader);

impl<'de> DeserializeSeed<'de> for Doc<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A value that is not an object or an array where a record should be: one rejected unit.
macro_rules! not_a_record {
    ($($name:ident: $ty:ty),*) => {
        $(fn $name<E: serde::de::Error>(self, _: $ty) -> Result<(), E> {
            self.0.started = true;
            self.0.reject(Reason::NotAnEvent, "a JSON value that is not a record".into());
            Ok(())
        })*
    };
}

impl<'de> Visitor<'de> for Doc<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("CloudTrail records")
    }

    not_a_record!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.started = true;
        self.0
            .reject(Reason::NotAnEvent, "null where a record should be".into());
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.started = true;
        while seq.next_element_seed(Doc(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let r = self.0;
        r.started = true;
        let mut fields = Fields::default();
        let mut detail_type: Option<Cow<'de, str>> = None;
        let mut detail: Option<&'de RawValue> = None;
        let mut source: Option<Cow<'de, str>> = None;
        let mut embedded = false;
        let mut wrapper = false;
        let mut digest = false;
        while let Some(KeyStr(k)) = map.next_key::<KeyStr<'de>>()? {
            match key_of(&k) {
                Key::Field(id) => *fields.slot(id) = Some(map.next_value()?),
                Key::Records | Key::Events => {
                    wrapper = true;
                    map.next_value_seed(Doc(&mut *r))?;
                }
                Key::Embedded => {
                    let text: &'de RawValue = map.next_value()?;
                    match serde_json::from_str::<Cow<'_, str>>(text.get()) {
                        Ok(s) => r.record_text(&s),
                        Err(_) => r.reject(Reason::NotAnEvent, format!("{k} is not a string")),
                    }
                    embedded = true;
                }
                Key::Message => {
                    let text: &'de RawValue = map.next_value()?;
                    match serde_json::from_str::<Cow<'_, str>>(text.get()) {
                        Ok(s) if s.trim_start().starts_with('{') => r.record_text(&s),
                        // CloudWatch's own control messages, or other lines of the group.
                        _ => {
                            r.next_index();
                            *r.out
                                .ignored
                                .entry("cloudwatch:not-a-record".into())
                                .or_insert(0) += 1;
                        }
                    }
                    embedded = true;
                }
                Key::DetailType => detail_type = map.next_value::<Option<Cow<'de, str>>>()?,
                Key::Detail => detail = Some(map.next_value()?),
                Key::Source => {
                    let v: &'de RawValue = map.next_value()?;
                    source = str_of(v);
                }
                Key::Digest => {
                    digest = true;
                    map.next_value::<IgnoredAny>()?;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if embedded || wrapper {
            // The record was the embedded string, or the object only wrapped an array.
        } else if fields.is_record() {
            r.record(&fields);
        } else if let (Some(t), Some(d)) = (&detail_type, detail) {
            r.eventbridge(t, source.as_deref(), d);
        } else if digest {
            r.out.digest = true;
        } else {
            r.reject(
                Reason::NotAnEvent,
                "a JSON object that is not a CloudTrail record".into(),
            );
        }
        Ok(())
    }
}

/// A record given as JSON text (an embedded string, an EventBridge `detail`): its fields,
/// or `None` if it is not an object.
struct RecordOnly<'f, 'de>(&'f mut Option<Fields<'de>>);

impl<'de> DeserializeSeed<'de> for RecordOnly<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordOnly<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail record")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut fields = Fields::default();
        while let Some(KeyStr(k)) = map.next_key::<KeyStr<'de>>()? {
            match key_of(&k) {
                Key::Field(id) => *fields.slot(id) = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        *self.0 = Some(fields);
        Ok(())
    }
}

/// A raw JSON string's text (`None` for `null` and for values that are not strings).
fn str_of(v: &RawValue) -> Option<Cow<'_, str>> {
    let t = v.get();
    if !t.starts_with('"') {
        return None;
    }
    let inner = &t[1..t.len() - 1];
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(t).ok().map(Cow::Owned)
}

/// A raw JSON value as text: a string's content, a number or boolean as written.
fn text_of(v: Option<&RawValue>) -> Option<String> {
    let v = v?;
    match v.get() {
        "null" => None,
        t if t.starts_with('"') => str_of(v).map(Cow::into_owned),
        t if t.starts_with(['{', '[']) => Some(compact(v)),
        t => Some(t.to_string()),
    }
}

/// An object or array as compact JSON text (pretty-printed input is re-serialised).
fn compact(v: &RawValue) -> String {
    let t = v.get();
    if !t.contains(['\n', '\t', '\r']) && !t.contains(": ") {
        return t.to_string();
    }
    serde_json::from_str::<Value>(t)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| t.to_string())
}

fn bool_of(v: Option<&RawValue>) -> Option<bool> {
    match v?.get().trim_matches('"') {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Whether a record is about databases, from its source, name and (for the services around
/// RDS) its parameters: every RDS call; EC2 ingress changes that reach a database port; Secrets
/// Manager reads of database secrets; KMS changes that can cut a database off its key.
fn relevant(source: &str, name: &str, request: Option<&RawValue>) -> bool {
    match source {
        "rds.amazonaws.com" => true,
        "ec2.amazonaws.com" => {
            matches!(
                name,
                "AuthorizeSecurityGroupIngress" | "ModifySecurityGroupRules"
            ) && request.is_some_and(|r| {
                serde_json::from_str::<Value>(r.get())
                    .is_ok_and(|v| !ingress_rules(&v).iter().all(|rule| rule.ports.is_none()))
            })
        }
        "secretsmanager.amazonaws.com" => {
            matches!(name, "GetSecretValue" | "BatchGetSecretValue")
                && request.is_some_and(|r| is_database_secret(r.get()))
        }
        "kms.amazonaws.com" => matches!(
            name,
            "DisableKey" | "ScheduleKeyDeletion" | "PutKeyPolicy" | "DisableKeyRotation"
        ),
        _ => false,
    }
}

/// A secret an RDS instance manages (`rds!db-…`, `rds!cluster-…`) or whose name says it is
/// a database's.
fn is_database_secret(request: &str) -> bool {
    let r = request.to_ascii_lowercase();
    [
        "rds!", "rds", "database", "mysql", "postgres", "aurora", "/db", "db-", "-db",
    ]
    .iter()
    .any(|k| r.contains(k))
}

/// The parts of `userIdentity` the table keeps. Lenient: a field of another type is absent.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Identity {
    #[serde(rename = "type", deserialize_with = "lenient")]
    kind: Option<String>,
    #[serde(deserialize_with = "lenient")]
    arn: Option<String>,
    #[serde(
        rename = "accountId",
        alias = "accountid",
        deserialize_with = "lenient"
    )]
    account_id: Option<String>,
    #[serde(
        rename = "accessKeyId",
        alias = "accesskeyid",
        deserialize_with = "lenient"
    )]
    access_key_id: Option<String>,
    #[serde(rename = "userName", alias = "username", deserialize_with = "lenient")]
    user_name: Option<String>,
    #[serde(
        rename = "invokedBy",
        alias = "invokedby",
        deserialize_with = "lenient"
    )]
    invoked_by: Option<String>,
    #[serde(rename = "sessionContext", alias = "sessioncontext")]
    session: Option<Value>,
}

fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// Decodes a record's raw fields: `Ok(None)` for a record about something else.
fn decode(f: &Fields<'_>, file: u32, index: u64) -> Result<Option<ControlEvent>, (Reason, String)> {
    let missing = |what: &str| (Reason::MissingFields, format!("record {index}: no {what}"));
    let source = f
        .event_source
        .and_then(str_of)
        .ok_or_else(|| missing("eventSource"))?;
    let name = f
        .event_name
        .and_then(str_of)
        .ok_or_else(|| missing("eventName"))?;
    let time_text = f
        .event_time
        .and_then(str_of)
        .ok_or_else(|| missing("eventTime"))?;
    let time_us = crate::time::parse_rfc3339_utc(time_text.as_bytes()).map_err(|e| {
        (
            Reason::from(e),
            format!("record {index}: eventTime {time_text:?}"),
        )
    })?;
    if !relevant(&source, &name, f.request_parameters) {
        return Ok(None);
    }
    let id: Identity = f
        .user_identity
        .and_then(|v| serde_json::from_str(v.get()).ok())
        .unwrap_or_default();
    let issuer = id
        .session
        .as_ref()
        .and_then(|s| s.get("sessionIssuer").or_else(|| s.get("sessionissuer")));
    let issuer_name = issuer.and_then(|i| {
        i.get("userName")
            .or_else(|| i.get("username"))
            .or_else(|| i.get("arn"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let mfa = id
        .session
        .as_ref()
        .and_then(|s| s.get("attributes"))
        .and_then(|a| {
            a.get("mfaAuthenticated")
                .or_else(|| a.get("mfaauthenticated"))
        })
        .and_then(|m| match m {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.parse().ok(),
            _ => None,
        });
    let principal_name = principal_name(&id);
    let request = text_of(f.request_parameters);
    let response = text_of(f.response_elements);
    let error_message = text_of(f.error_message);
    let mut event = ControlEvent {
        time_us,
        event_source: source.into_owned(),
        event_name: name.into_owned(),
        aws_region: text_of(f.aws_region),
        account_id: id.account_id,
        recipient_account_id: text_of(f.recipient_account_id),
        principal_arn: id.arn,
        principal_type: id.kind,
        principal_name,
        access_key_id: id.access_key_id.filter(|k| !k.is_empty()),
        session_issuer: issuer_name,
        mfa,
        source_ip: text_of(f.source_ip),
        user_agent: text_of(f.user_agent),
        invoked_by: id.invoked_by,
        read_only: bool_of(f.read_only),
        error_code: text_of(f.error_code),
        error_message,
        resource: None,
        request_parameters: request,
        response_elements: response,
        event_id: text_of(f.event_id),
        file,
        index,
    };
    event.resource = resource_of(&event, f.resources);
    Ok(Some(event))
}

/// The principal's name as findings show it: the IAM user, `role/session` for an assumed
/// role, `root`, else the last part of its ARN.
fn principal_name(id: &Identity) -> Option<String> {
    if let Some(n) = id.user_name.as_deref().filter(|n| !n.is_empty()) {
        return Some(n.to_string());
    }
    if id.kind.as_deref() == Some("Root") {
        return Some("root".into());
    }
    let arn = id.arn.as_deref()?;
    let rest = arn.rsplit_once(':').map_or(arn, |(_, r)| r);
    let rest = rest
        .strip_prefix("assumed-role/")
        .or_else(|| rest.strip_prefix("user/"))
        .or_else(|| rest.strip_prefix("role/"))
        .unwrap_or(rest);
    Some(rest.to_string())
}

/// The keys that name what an RDS (or EC2, KMS, Secrets Manager) call is about, in order of
/// preference.
const RESOURCE_KEYS: [&str; 17] = [
    "dBInstanceIdentifier",
    "dBClusterIdentifier",
    "dBSnapshotIdentifier",
    "dBClusterSnapshotIdentifier",
    "sourceDBSnapshotIdentifier",
    "sourceDBClusterSnapshotIdentifier",
    "sourceArn",
    "resourceArn",
    "dBParameterGroupName",
    "dBClusterParameterGroupName",
    "optionGroupName",
    "globalClusterIdentifier",
    "dbiResourceId",
    "dbClusterResourceId",
    "groupId",
    "secretId",
    "keyId",
];

/// The resource of a call: from its parameters, its response, then the ARN in its error
/// message (a denied RDS call carries no parameters) or its `resources`.
fn resource_of(e: &ControlEvent, resources: Option<&RawValue>) -> Option<String> {
    let named = |v: &Value| {
        RESOURCE_KEYS.iter().find_map(|key| {
            crate::control::field(v, key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(|s| arn_name(s).to_string())
        })
    };
    // The response (a whole resource description) is decoded only when the request names
    // nothing.
    if let Some(r) = named(&e.request()).or_else(|| named(&e.response())) {
        return Some(r);
    }
    if let Some(m) = &e.error_message {
        if let Some(at) = m.find("arn:aws:rds:") {
            let arn = m[at..].split_whitespace().next().unwrap_or("");
            let name = arn_name(arn.trim_end_matches(['.', ',']));
            if !name.is_empty() {
                return Some(name.to_string());
            }
        }
    }
    let resources: Value = resources
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or(Value::Null);
    resources.as_array().and_then(|a| {
        a.iter().find_map(|r| {
            crate::control::field(r, "ARN")
                .or_else(|| crate::control::field(r, "ResourceName"))
                .and_then(Value::as_str)
                .map(|s| arn_name(s).to_string())
        })
    })
}

#[cfg(test)]
mod tests;
