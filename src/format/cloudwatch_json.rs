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

use serde::de::IgnoredAny;

use super::json_bounds::{self, walk, HeaderRanges, Key, Phase, Pos, Stop, Visit, KEYS};
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
    /// Decodes every document of a whole delivery (see [`Arena::decode_from`]).
    pub fn decode(chunk: &[u8]) -> Arena {
        Arena::decode_from(chunk, &mut Resume::default(), true)
    }

    /// Decodes a chunk of a delivery that starts at `resume` (a cut point: see
    /// [`json_bounds`]) and leaves in `resume` where the next chunk starts. Never fails: an
    /// element that does not decode is one rejected unit; a break in the structure around
    /// the elements (or, `at_eof`, a truncated document) is a rejected unit that ends the
    /// delivery, since a JSON stream cannot be resynchronised (the events before it are
    /// kept).
    ///
    /// A document's events are decoded when it closes, under its whole header (so a
    /// `logStream` written after `logEvents` still applies); a document the chunk ends in
    /// uses `resume.tail` when the planner knew its header, else the keys read so far.
    pub fn decode_from(chunk: &[u8], resume: &mut Resume, at_eof: bool) -> Arena {
        let mut arena = Arena {
            text: Vec::with_capacity(chunk.len() / 2),
            units: Vec::new(),
        };
        let mut d = Decoder {
            arena: &mut arena,
            header: Default::default(),
            control: false,
            doc_stream: (0, 0),
            last: (0, 0),
            top_start: 0,
            pending: Vec::new(),
        };
        if resume.pos.in_doc() {
            d.set_header(resume.header.clone().map(|v| v.map(Cow::Owned)));
        }
        let (stop, mut pos) = walk(chunk, 0, resume.pos, &mut d);
        let broken = match stop {
            Stop::Error(_) => true,
            _ => at_eof && !matches!(pos.phase, Phase::Top | Phase::Dead),
        };
        if !broken && pos.in_doc() {
            if let Some(tail) = resume.tail.take() {
                d.set_header(tail.map(|v| v.map(Cow::Owned)));
            }
        }
        d.flush();
        if broken {
            let rest = chunk[d.top_start.min(chunk.len())..].trim_ascii_start();
            d.bad(rest);
            pos.phase = Phase::Dead;
        }
        resume.header = if pos.in_doc() {
            d.header.clone().map(|v| v.map(Cow::into_owned))
        } else {
            Default::default()
        };
        resume.pos = pos;
        resume.tail = None;
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

    /// Adds one event of a document whose stream is `doc_stream` (`control`: of a
    /// `CONTROL_MESSAGE` payload).
    fn add_event(
        &mut self,
        ev: LogEvent<'_>,
        control: bool,
        doc_stream: (usize, usize),
        last: &mut (usize, usize),
    ) {
        let stream = match ev.log_stream_name.as_deref() {
            Some(n) => self.stream(Some(n), last),
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

/// Where a chunk or block of a delivery starts: the walk's position at its first byte, and
/// the raw header values of the document it continues (the keys before the cut: AWS writes
/// `messageType` and `logStream` before `logEvents`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resume {
    pos: Pos,
    header: [Option<Vec<u8>>; KEYS],
    /// The whole header of the document the chunk ends in, when a planning walk knew it.
    tail: Option<[Option<Vec<u8>>; KEYS]>,
}

/// Where chunk `index` of a planned delivery starts, with the header of the document it
/// ends in (the next chunk's).
pub fn chunk_resume(starts: &[ChunkStart], index: usize) -> Resume {
    let mut r = starts[index].resume.clone();
    r.tail = starts
        .get(index + 1)
        .filter(|s| s.resume.pos.in_doc())
        .map(|s| s.resume.header.clone());
    r
}

/// A chunk of a mapped delivery: the 1-based index of its first event and where the walk
/// stands at its first byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkStart {
    pub line: u64,
    pub resume: Resume,
}

/// Cuts a mapped delivery into chunks of about `chunk_bytes` at cut points (between events,
/// or between documents), in one walk of the file that counts the events before each cut
/// and keeps the whole header of the document a cut falls in (filled in when it closes). Returns each chunk's byte range and
/// start. After a break in the structure nothing more is cut: the last chunk runs to the end.
/// `release(start, end)` is called for each chunk the walk is done with (a map hands its
/// pages back, so the walk holds one chunk of the file at a time).
pub fn plan_chunks(
    buf: &[u8],
    chunk_bytes: usize,
    mut release: impl FnMut(usize, usize),
) -> (Vec<(usize, usize)>, Vec<ChunkStart>) {
    struct Planner<'b, 'f> {
        buf: &'b [u8],
        release: &'f mut dyn FnMut(usize, usize),
        /// Where the walk's pages were handed back up to.
        released: usize,
        step: usize,
        target: usize,
        units: u64,
        header: HeaderRanges,
        cuts: Vec<(usize, ChunkStart)>,
        /// The cuts inside the open document (their header is filled in when it closes).
        open: usize,
    }
    impl Planner<'_, '_> {
        fn close(&mut self) {
            let header = self.header.to_owned(self.buf);
            let n = self.cuts.len();
            for c in &mut self.cuts[n - self.open..] {
                c.1.resume.header = header.clone();
            }
            self.open = 0;
        }
    }
    impl<'b> Visit<'b> for Planner<'b, '_> {
        fn doc_start(&mut self, _at: usize) {
            self.header = HeaderRanges::default();
            self.open = 0;
        }
        fn header(&mut self, key: Key, value: &'b [u8]) {
            self.header.set(self.buf, key, value);
        }
        fn element(&mut self, _value: &'b [u8]) {
            self.units += 1;
        }
        fn not_a_doc(&mut self, _value: &'b [u8]) {
            self.units += 1;
        }
        fn doc_end(&mut self) {
            let v = |k: Key| self.header.values[k as usize].map(|(s, e)| &self.buf[s..e]);
            if json_bounds::is_bare_event(v(Key::Message), v(Key::Timestamp)) {
                self.units += 1;
            }
            self.close();
        }
        fn cut_point(&mut self, at: usize, pos: Pos) -> bool {
            if at >= self.target {
                self.cuts.push((
                    at,
                    ChunkStart {
                        line: self.units + 1,
                        resume: Resume {
                            pos,
                            ..Resume::default()
                        },
                    },
                ));
                if pos.in_doc() {
                    self.open += 1;
                }
                (self.release)(self.released, at);
                self.released = at;
                self.target = at + self.step;
            }
            true
        }
    }
    let step = chunk_bytes.max(1);
    let mut p = Planner {
        buf,
        release: &mut release,
        released: 0,
        step,
        target: step,
        units: 0,
        header: HeaderRanges::default(),
        cuts: vec![(
            0,
            ChunkStart {
                line: 1,
                resume: Resume::default(),
            },
        )],
        open: 0,
    };
    let (_, end) = walk(buf, 0, Pos::default(), &mut p);
    // A document left open by a break or the end: the header read so far.
    if end.in_doc() {
        p.close();
    }
    let mut bounds = Vec::with_capacity(p.cuts.len());
    let mut starts = Vec::with_capacity(p.cuts.len());
    for (i, (at, start)) in p.cuts.iter().enumerate() {
        let end = p.cuts.get(i + 1).map_or(buf.len(), |c| c.0);
        bounds.push((*at, end));
        starts.push(start.clone());
    }
    (bounds, starts)
}

/// Decodes what a walk finds into an [`Arena`]: each element with serde_json, each
/// document's header as it comes.
struct Decoder<'a, 'r> {
    arena: &'r mut Arena,
    header: [Option<Cow<'a, [u8]>>; KEYS],
    /// The document is a `CONTROL_MESSAGE` payload.
    control: bool,
    /// The document's `logStream`, in the arena.
    doc_stream: (usize, usize),
    /// The last stream name stored (names are stored once per run).
    last: (usize, usize),
    /// Where the last item (document or element) began in this chunk: the excerpt of a
    /// broken one (the same whatever the chunks, since chunks start at items).
    top_start: usize,
    /// The open document's elements, decoded when its header is whole.
    pending: Vec<&'a [u8]>,
}

impl<'a> Decoder<'a, '_> {
    fn set_header(&mut self, header: [Option<Cow<'a, [u8]>>; KEYS]) {
        self.header = header;
    }

    /// Decodes the open document's elements so far, under its header so far.
    fn flush(&mut self) {
        self.apply(Key::MessageType);
        self.apply(Key::LogStream);
        let mut last = self.last;
        for value in std::mem::take(&mut self.pending) {
            // An event is an object; a Logs Insights row (of `results`) is an array of fields.
            let ev = if value.first() == Some(&b'[') {
                serde_json::from_slice::<insights::Row>(value).map(insights::event)
            } else {
                serde_json::from_slice::<LogEvent>(value)
            };
            match ev {
                Ok(ev) => self
                    .arena
                    .add_event(ev, self.control, self.doc_stream, &mut last),
                Err(_) => self.bad(value),
            }
        }
        self.last = last;
    }

    fn raw(&self, key: Key) -> Option<&[u8]> {
        self.header[key as usize].as_deref()
    }

    /// Takes a header value into account.
    fn apply(&mut self, key: Key) {
        match key {
            Key::MessageType => {
                let t = self
                    .raw(key)
                    .map(serde_json::from_slice::<Option<Cow<str>>>);
                self.control = matches!(t, Some(Ok(Some(t))) if t == "CONTROL_MESSAGE");
            }
            Key::LogStream => {
                let raw = self.header[key as usize].clone();
                let name = raw
                    .as_deref()
                    .and_then(|r| serde_json::from_slice::<Option<Cow<str>>>(r).ok())
                    .flatten();
                self.doc_stream = self.arena.stream(name.as_deref(), &mut self.last);
            }
            _ => {}
        }
    }

    fn bad(&mut self, excerpt: &[u8]) {
        let excerpt = &excerpt[..excerpt.len().min(super::EXCERPT_BYTES)];
        let text = self.arena.push(excerpt);
        self.arena.units.push(Unit {
            kind: Kind::Bad,
            text,
            stream: (0, 0),
            timestamp_ms: None,
            id: None,
        });
    }
}

/// A document itself as an event (it has a `message` or a `timestamp`): `None` if a field
/// does not decode.
fn bare_event<'x>(header: &'x [Option<Cow<'_, [u8]>>; KEYS]) -> Option<LogEvent<'x>> {
    fn field<'x, T: serde::Deserialize<'x>>(raw: Option<&'x [u8]>) -> Option<Option<T>> {
        match raw {
            None => Some(None),
            Some(r) => serde_json::from_slice::<Option<T>>(r).ok(),
        }
    }
    let raw = |k: Key| header[k as usize].as_deref();
    Some(LogEvent {
        id: field(raw(Key::Id))?,
        timestamp: field(raw(Key::Timestamp))?,
        message: field(raw(Key::Message))?,
        log_stream_name: field(raw(Key::LogStreamName))?,
    })
}

impl<'a> Visit<'a> for Decoder<'a, '_> {
    fn doc_start(&mut self, at: usize) {
        self.top_start = at;
        self.header = Default::default();
        self.control = false;
        self.last = (0, 0);
        self.doc_stream = (0, 0);
    }

    fn header(&mut self, key: Key, value: &'a [u8]) {
        self.header[key as usize] = Some(Cow::Borrowed(value));
    }

    fn element(&mut self, value: &'a [u8]) {
        self.pending.push(value);
    }

    fn not_a_doc(&mut self, value: &'a [u8]) {
        self.bad(value);
    }

    fn doc_end(&mut self) {
        self.flush();
        if !json_bounds::is_bare_event(self.raw(Key::Message), self.raw(Key::Timestamp)) {
            return;
        }
        let header = self.header.clone();
        match bare_event(&header) {
            Some(ev) => {
                let mut last = self.last;
                self.arena
                    .add_event(ev, self.control, self.doc_stream, &mut last);
                self.last = last;
            }
            None => {
                let raw = self.raw(Key::Message).unwrap_or_default().to_vec();
                self.bad(&raw);
            }
        }
    }

    fn cut_point(&mut self, at: usize, _pos: Pos) -> bool {
        self.top_start = at;
        true
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

    type Row = (u64, Kind, Vec<u8>, Vec<u8>, Option<i64>, Option<Vec<u8>>);

    /// Every unit of an arena, resolved, numbered from `first`.
    fn rows(a: &Arena, first: u64) -> Vec<Row> {
        let t = |r: (usize, usize)| a.text[r.0..r.1].to_vec();
        a.units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                (
                    first + i as u64,
                    u.kind,
                    t(u.text),
                    t(u.stream),
                    u.timestamp_ms,
                    u.id.map(t),
                )
            })
            .collect()
    }

    /// A delivery decoded in the chunks `plan_chunks` makes, of any size.
    fn chunked(buf: &[u8], size: usize) -> Vec<Row> {
        let (bounds, starts) = plan_chunks(buf, size, |_, _| {});
        assert_eq!(bounds.len(), starts.len());
        let mut out = Vec::new();
        for (i, &(s, e)) in bounds.iter().enumerate() {
            assert_eq!(i == 0, s == 0);
            let mut r = chunk_resume(&starts, i);
            let at_eof = i + 1 == bounds.len();
            let a = Arena::decode_from(&buf[s..e], &mut r, at_eof);
            if let Some(next) = starts.get(i + 1) {
                assert_eq!(starts[i].line + a.len() as u64, next.line, "chunk {i}");
                assert_eq!(r.pos, next.resume.pos, "chunk {i}");
            }
            out.extend(rows(&a, starts[i].line));
        }
        out
    }

    /// A delivery read as a stream: blocks cut by `RecordEnds`, each decoded from where the
    /// one before left off.
    fn streamed(buf: &[u8], block: usize, step: usize) -> Vec<Row> {
        use crate::input::blocks::{Block, Fill, RecordBlocks};
        struct Trickle<'a>(&'a [u8], usize);
        impl Fill for Trickle<'_> {
            fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
                while buf.len() < want {
                    if self.0.is_empty() {
                        return Ok(false);
                    }
                    let n = self.1.min(self.0.len()).min(want - buf.len());
                    buf.extend_from_slice(&self.0[..n]);
                    self.0 = &self.0[n..];
                }
                Ok(true)
            }
        }
        let f = super::super::sniff(b"{\"logEvents\":[]}").unwrap();
        let mut blocks = RecordBlocks::start(Trickle(buf, step), 8, block, usize::MAX);
        let mut ends = super::super::RecordEnds::new(f);
        let mut resume = Resume::default();
        let mut line = 1;
        let mut out = Vec::new();
        while let Some(b) = blocks.next_block(|b| ends.cut(b)) {
            let Block::Records { data, at_eof } = b else {
                panic!("no record is too long")
            };
            let a = Arena::decode_from(&data, &mut resume, at_eof);
            out.extend(rows(&a, line));
            line += a.len() as u64;
        }
        out
    }

    /// Random deliveries of every shape decode to the same events, in the same order and
    /// with the same indexes, whole, in mapped chunks of any size and in stream blocks of any
    /// size.
    #[test]
    fn chunks_and_stream_blocks_decode_as_the_whole_delivery() {
        let mut rng = json_bounds::gen::Rng(0x5851_f42d_4c95_7f2d);
        for round in 0..400 {
            let text = json_bounds::gen::delivery(&mut rng);
            let buf = text.as_bytes();
            let whole = rows(&Arena::decode(buf), 1);
            assert!(whole.iter().all(|r| r.1 != Kind::Bad), "{text}");
            for size in [1, 40, 300, 2000] {
                assert_eq!(
                    chunked(buf, size),
                    whole,
                    "round {round} chunks of {size}: {text}"
                );
            }
            // A stream keeps a document's header from the keys before each cut: AWS writes
            // them before the events (the generator sometimes does not).
            let aws_order = !text.contains("\"keyOrder\"");
            if aws_order {
                for (block, step) in [(16, 5), (200, 64), (4096, 1000)] {
                    let got = streamed(buf, block, step);
                    let first = got.iter().zip(&whole).position(|(a, b)| a != b);
                    assert_eq!(
                        got.len(),
                        whole.len(),
                        "round {round} blocks of {block}: {first:?} {text}"
                    );
                    if let Some(i) = first {
                        panic!(
                            "round {round} blocks of {block}: row {i}: {:?} != {:?}\n{text}",
                            got[i], whole[i]
                        );
                    }
                }
            }
        }
    }

    /// Today's reading of whole documents (serde_json's `Value`) against the decoder: the
    /// same events, ids, times and streams.
    #[test]
    fn the_decoder_reads_what_serde_json_reads() {
        use serde_json::Value;
        let mut rng = json_bounds::gen::Rng(0x1234_5678_9abc_def1);
        for round in 0..400 {
            let text = json_bounds::gen::delivery(&mut rng);
            let got = rows(&Arena::decode(text.as_bytes()), 1);
            let mut want = Vec::new();
            for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
                let docs = match v.unwrap() {
                    Value::Array(a) => a,
                    v => vec![v],
                };
                for d in docs {
                    let s = |v: &Value| v.as_str().map(|s| s.as_bytes().to_vec());
                    let control = d["messageType"] == "CONTROL_MESSAGE";
                    let stream = s(&d["logStream"]).unwrap_or_default();
                    let mut events: Vec<&Value> = Vec::new();
                    for k in ["logEvents", "events"] {
                        if let Some(a) = d[k].as_array() {
                            events.extend(a);
                        }
                    }
                    if d.get("message").is_some() || d.get("timestamp").is_some() {
                        events.push(&d);
                    }
                    for e in events {
                        let message = s(&e["message"]);
                        let kind = match (&message, control) {
                            (_, true) => Kind::Control,
                            (Some(_), _) => Kind::Message,
                            (None, _) => Kind::NoMessage,
                        };
                        want.push((
                            kind,
                            if kind == Kind::Message {
                                message.unwrap()
                            } else {
                                Vec::new()
                            },
                            s(&e["logStreamName"]).unwrap_or_else(|| stream.clone()),
                            e["timestamp"].as_i64(),
                            s(&e["id"]).or_else(|| s(&e["eventId"])),
                        ));
                    }
                }
            }
            let got: Vec<_> = got.into_iter().map(|r| (r.1, r.2, r.3, r.4, r.5)).collect();
            assert_eq!(got, want, "round {round}: {text}");
        }
    }

    /// Logs Insights results are cut between their rows like any delivery: chunks and
    /// stream blocks give the rows read whole, each row one event.
    #[test]
    fn insights_results_decode_in_pieces_as_whole() {
        let row = |i: u32| {
            format!(
                r#"[{{"field":"@timestamp","value":"2026-03-01 12:00:0{}.250"}},{{"field":"@message","value":"{PG} -- {i}"}},{{"field":"@logStream","value":"db-{}"}},{{"field":"@ptr","value":"p{i}"}}]"#,
                i % 10,
                i % 3
            )
        };
        let rows_text: Vec<String> = (0..60).map(row).collect();
        let text = format!(
            "{{\n  \"results\": [\n    {}\n  ],\n  \"statistics\": {{\"recordsMatched\": 60.0}},\n  \"status\": \"Complete\"\n}}\n",
            rows_text.join(",\n    ")
        );
        let buf = text.as_bytes();
        assert!(sniff(buf));
        let whole = rows(&Arena::decode(buf), 1);
        assert_eq!(whole.len(), 60);
        assert!(whole.iter().all(|r| r.1 == Kind::Message), "{whole:?}");
        assert_eq!(whole[4].3, b"db-1");
        for size in [1, 300, 2000] {
            assert_eq!(chunked(buf, size), whole, "chunks of {size}");
        }
        for (block, step) in [(16, 5), (200, 64), (4096, 1000)] {
            assert_eq!(streamed(buf, block, step), whole, "blocks of {block}");
        }
    }

    /// A delivery cut off in the middle of a document keeps the events before the break
    /// and rejects the rest once, whole or in chunks.
    #[test]
    fn a_truncated_delivery_keeps_the_events_before_the_break() {
        let ev = |i: u32| format!(r#"{{"id":"{i}","timestamp":1,"message":"{PG}"}}"#);
        let all: Vec<String> = (0..50).map(ev).collect();
        let text = format!(
            r#"{{"messageType":"DATA_MESSAGE","logStream":"db1","logEvents":[{}"#,
            all.join(",")
        );
        let cut = &text.as_bytes()[..text.len() - 10];
        let whole = rows(&Arena::decode(cut), 1);
        assert_eq!(whole.len(), 50);
        assert!(whole[..49]
            .iter()
            .all(|r| r.1 == Kind::Message && r.3 == b"db1"));
        assert_eq!(whole[49].1, Kind::Bad);
        for size in [1, 100, 1000] {
            assert_eq!(chunked(cut, size), whole, "chunks of {size}");
        }
    }
}
