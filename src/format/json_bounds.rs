//! The boundaries of CloudWatch JSON deliveries, found without building a DOM, so a delivery
//! can be cut between its events and read in bounded memory.
//!
//! A delivery is a sequence of top-level JSON values: objects (a `filter-log-events` /
//! `get-log-events` page, a subscription / Firehose payload, or a bare event), or arrays of
//! such objects. [`walk`] goes through one, string-aware (quotes and escapes) and
//! depth-aware, and reports to a [`Visit`]: each document's start and end, the raw value of
//! each header key a document carries (`messageType`, `logStream`, and a bare event's
//! fields), and the raw text of each element of its `events` / `logEvents` arrays (and of a
//! Logs Insights `results` array, whose elements are rows). Decoding
//! those texts is serde_json's job (`cloudwatch_json`); this module only finds where they
//! are.
//!
//! A walk can stop anywhere and resume at a **cut point**: before a top-level value, before a
//! top-level array's element (not the first), or before an events array's element (not the
//! first). Its [`Pos`] there is all the grammar it needs to go on (the nesting is at most
//! top-level array ▸ document ▸ events array), so a chunk of a mapped file or a block of a
//! stream that starts at a cut point is read from its [`Pos`] alone, and the document it
//! continues gets its header from whoever walked the bytes before.
//!
//! Values inside an element are skipped by bracket depth only (the element itself is checked
//! by serde_json when it is decoded); the structure around the elements is checked, and a
//! walk that meets anything else stops with [`Stop::Error`].

/// Where a walk stands: what it expects next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Phase {
    /// A top-level value, or the end.
    #[default]
    Top,
    /// After a top-level `[`: an element or `]`.
    TopArrFirst,
    /// After a top-level array's element: `,` or `]`.
    TopArrNext,
    /// After a top-level array's `,`: an element (a cut point).
    TopArrElem,
    /// After a document's `{`: a key or `}`.
    DocFirst,
    /// After a document's value: `,` or `}`.
    DocNext,
    /// After a document's `,`: a key.
    DocKey,
    /// After an events array's `[`: an element or `]`.
    EvFirst,
    /// After an element: `,` or `]`.
    EvNext,
    /// After an events array's `,`: an element (a cut point).
    EvElem,
    /// After a structural error: nothing more is read.
    Dead,
}

/// A walk's position: its phase, and whether the document it is in (or the next one) is an
/// element of a top-level array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    pub phase: Phase,
    pub top_array: bool,
}

impl Pos {
    /// Whether the walk is inside a document (its header matters to what follows).
    pub fn in_doc(self) -> bool {
        matches!(
            self.phase,
            Phase::DocFirst
                | Phase::DocNext
                | Phase::DocKey
                | Phase::EvFirst
                | Phase::EvNext
                | Phase::EvElem
        )
    }
}

/// The document keys whose values matter to the events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    MessageType = 0,
    LogStream = 1,
    /// A bare event's `id` / `eventId`.
    Id = 2,
    Timestamp = 3,
    Message = 4,
    LogStreamName = 5,
}

/// The number of [`Key`]s.
pub const KEYS: usize = 6;

impl Key {
    fn of(name: &[u8]) -> Option<Key> {
        Some(match name {
            b"messageType" => Key::MessageType,
            b"logStream" => Key::LogStream,
            b"id" | b"eventId" => Key::Id,
            b"timestamp" => Key::Timestamp,
            b"message" => Key::Message,
            b"logStreamName" => Key::LogStreamName,
            _ => return None,
        })
    }
}

/// What a walk reports. Every callback has a default, so a visitor takes only what it needs.
pub trait Visit<'a> {
    /// A document (an object at the top level or in a top-level array) opens at `at`.
    fn doc_start(&mut self, _at: usize) {}
    /// A header key's raw JSON value (exactly the value's bytes).
    fn header(&mut self, _key: Key, _value: &'a [u8]) {}
    /// The raw text of an element of the document's `events` / `logEvents` array (an event
    /// object), or of its Logs Insights `results` array (a row: an array of fields).
    fn element(&mut self, _value: &'a [u8]) {}
    /// An element of a top-level array that is not an object.
    fn not_a_doc(&mut self, _value: &'a [u8]) {}
    /// The document closes.
    fn doc_end(&mut self) {}
    /// A cut point: the next item starts at `at`, and the walk stands at `pos`. Returning
    /// `false` stops the walk there ([`Stop::Halted`]).
    fn cut_point(&mut self, _at: usize, _pos: Pos) -> bool {
        true
    }
}

/// Why a walk stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The input ran out (after a whole item, or in the middle of one: the position says
    /// what was complete).
    End,
    /// The visitor stopped at a cut point.
    Halted,
    /// Not a delivery's structure at this byte.
    Error(usize),
}

/// The depth past which a value is refused (serde_json's own recursion limit).
const MAX_DEPTH: u32 = 128;

#[inline]
fn skip_ws(buf: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = buf.get(i) {
        i += 1;
    }
    i
}

/// The end of the string whose opening quote is at `i` (just past its closing quote).
#[inline]
fn skip_string(buf: &[u8], i: usize) -> Result<usize, Stop> {
    let mut j = i + 1;
    loop {
        match memchr::memchr2(b'"', b'\\', &buf[j.min(buf.len())..]) {
            None => return Err(Stop::End),
            Some(k) => {
                let at = j + k;
                if buf[at] == b'"' {
                    return Ok(at + 1);
                }
                // An escape: the next byte is taken whatever it is (`\"`, `\\`, `\u…`).
                j = at + 2;
                if j > buf.len() {
                    return Err(Stop::End);
                }
            }
        }
    }
}

/// The end of the JSON value starting at `i` (a non-blank byte). Nested values are skipped
/// by bracket depth, strings by their quotes; scalars run to the next delimiter.
pub fn skip_value(buf: &[u8], i: usize) -> Result<usize, Stop> {
    match buf[i] {
        b'"' => return skip_string(buf, i),
        b'{' | b'[' => {}
        b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
            let mut j = i + 1;
            while let Some(&c) = buf.get(j) {
                match c {
                    b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t' => return Ok(j),
                    b'"' | b'{' | b'[' | b':' => return Err(Stop::Error(j)),
                    _ => j += 1,
                }
            }
            return Err(Stop::End);
        }
        _ => return Err(Stop::Error(i)),
    }
    // A stack of open brackets, one bit each (1: object).
    let mut stack: u128 = 0;
    let mut depth: u32 = 0;
    let mut j = i;
    while j < buf.len() {
        match buf[j] {
            b'"' => {
                j = skip_string(buf, j)?;
                continue;
            }
            c @ (b'{' | b'[') => {
                if depth == MAX_DEPTH {
                    return Err(Stop::Error(j));
                }
                stack = (stack << 1) | u128::from(c == b'{');
                depth += 1;
            }
            c @ (b'}' | b']') => {
                if (stack & 1 == 1) != (c == b'}') {
                    return Err(Stop::Error(j));
                }
                stack >>= 1;
                depth -= 1;
                if depth == 0 {
                    return Ok(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    Err(Stop::End)
}

/// Walks `buf` from byte `from`, standing at `pos`, until the input ends, the visitor halts
/// at a cut point, or the structure breaks. Returns why it stopped and the position after the
/// last whole item (at a halt: the position of the cut point it halted at).
pub fn walk<'a, V: Visit<'a>>(buf: &'a [u8], from: usize, mut pos: Pos, v: &mut V) -> (Stop, Pos) {
    use Phase::*;
    let mut i = from;
    macro_rules! tri {
        ($e:expr) => {
            match $e {
                Ok(x) => x,
                Err(stop) => return (stop, pos),
            }
        };
    }
    loop {
        if pos.phase == Dead {
            return (Stop::End, pos);
        }
        i = skip_ws(buf, i);
        let Some(&c) = buf.get(i) else {
            return (Stop::End, pos);
        };
        match pos.phase {
            Top | TopArrElem => {
                if !v.cut_point(i, pos) {
                    return (Stop::Halted, pos);
                }
                match (pos.phase, c) {
                    (Top, b'[') => {
                        pos.phase = TopArrFirst;
                        i += 1;
                    }
                    (Top, b'{') | (TopArrElem, b'{') => {
                        v.doc_start(i);
                        pos.top_array = pos.phase == TopArrElem;
                        pos.phase = DocFirst;
                        i += 1;
                    }
                    (Top, _) => return (Stop::Error(i), pos),
                    _ => {
                        let e = tri!(skip_value(buf, i));
                        v.not_a_doc(&buf[i..e]);
                        pos.phase = TopArrNext;
                        i = e;
                    }
                }
            }
            TopArrFirst => match c {
                b']' => {
                    pos.phase = Top;
                    i += 1;
                }
                b'{' => {
                    v.doc_start(i);
                    pos = Pos {
                        phase: DocFirst,
                        top_array: true,
                    };
                    i += 1;
                }
                _ => {
                    let e = tri!(skip_value(buf, i));
                    v.not_a_doc(&buf[i..e]);
                    pos.phase = TopArrNext;
                    i = e;
                }
            },
            TopArrNext => match c {
                b',' => {
                    pos.phase = TopArrElem;
                    i += 1;
                }
                b']' => {
                    pos = Pos::default();
                    i += 1;
                }
                _ => return (Stop::Error(i), pos),
            },
            DocFirst | DocKey | DocNext => match c {
                b'}' if pos.phase != DocKey => {
                    v.doc_end();
                    pos.phase = if pos.top_array { TopArrNext } else { Top };
                    i += 1;
                }
                b',' if pos.phase == DocNext => {
                    pos.phase = DocKey;
                    i += 1;
                }
                b'"' if pos.phase != DocNext => {
                    let e = tri!(skip_string(buf, i));
                    let name = &buf[i + 1..e - 1];
                    let colon = skip_ws(buf, e);
                    match buf.get(colon) {
                        None => return (Stop::End, pos),
                        Some(b':') => {}
                        Some(_) => return (Stop::Error(colon), pos),
                    }
                    let at = skip_ws(buf, colon + 1);
                    let Some(&first) = buf.get(at) else {
                        return (Stop::End, pos);
                    };
                    if first == b'[' && matches!(name, b"events" | b"logEvents" | b"results") {
                        pos.phase = EvFirst;
                        i = at + 1;
                    } else {
                        let e = tri!(skip_value(buf, at));
                        if let Some(key) = Key::of(name) {
                            v.header(key, &buf[at..e]);
                        }
                        pos.phase = DocNext;
                        i = e;
                    }
                }
                _ => return (Stop::Error(i), pos),
            },
            EvFirst | EvElem => {
                if pos.phase == EvFirst && c == b']' {
                    pos.phase = DocNext;
                    i += 1;
                    continue;
                }
                if pos.phase == EvElem && !v.cut_point(i, pos) {
                    return (Stop::Halted, pos);
                }
                let e = tri!(skip_value(buf, i));
                v.element(&buf[i..e]);
                pos.phase = EvNext;
                i = e;
            }
            EvNext => match c {
                b',' => {
                    pos.phase = EvElem;
                    i += 1;
                }
                b']' => {
                    pos.phase = DocNext;
                    i += 1;
                }
                _ => return (Stop::Error(i), pos),
            },
            Dead => unreachable!(),
        }
    }
}

/// The raw header values of the document a walk is in, as byte ranges of the walked buffer.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeaderRanges {
    pub values: [Option<(usize, usize)>; KEYS],
}

impl HeaderRanges {
    pub fn set(&mut self, buf: &[u8], key: Key, value: &[u8]) {
        let start = value.as_ptr() as usize - buf.as_ptr() as usize;
        self.values[key as usize] = Some((start, start + value.len()));
    }

    /// Owned copies of the values.
    pub fn to_owned(&self, buf: &[u8]) -> [Option<Vec<u8>>; KEYS] {
        self.values.map(|r| r.map(|(s, e)| buf[s..e].to_vec()))
    }
}

/// Whether a document with these header values is itself an event (has a non-null `message`
/// or `timestamp`): it then counts one event after its arrays' elements.
pub fn is_bare_event(message: Option<&[u8]>, timestamp: Option<&[u8]>) -> bool {
    let set = |v: Option<&[u8]>| v.is_some_and(|v| v != b"null");
    set(message) || set(timestamp)
}

/// Where a stream of a delivery can be cut: the walk's position at the start of the buffer
/// handed to [`StreamCut::cut`] is carried from one call to the next.
#[derive(Clone, Debug, Default)]
pub struct StreamCut {
    pos: Pos,
}

impl StreamCut {
    /// The last cut point in `buf` (which starts where the previous cut left off), `Some(0)`
    /// when there is none yet (so that the reader asks for more input), or the whole buffer
    /// after a structural error (nothing after it is read). The position there becomes the
    /// start of the next buffer.
    pub fn cut(&mut self, buf: &[u8]) -> Option<usize> {
        struct Last {
            at: usize,
            pos: Option<Pos>,
        }
        impl Visit<'_> for Last {
            fn cut_point(&mut self, at: usize, pos: Pos) -> bool {
                if at > 0 {
                    self.at = at;
                    self.pos = Some(pos);
                }
                true
            }
        }
        let mut last = Last { at: 0, pos: None };
        let (stop, end_pos) = walk(buf, 0, self.pos, &mut last);
        match stop {
            Stop::Error(_) => {
                self.pos.phase = Phase::Dead;
                Some(buf.len())
            }
            _ if end_pos.phase == Phase::Dead => Some(buf.len()),
            _ => {
                if let Some(p) = last.pos {
                    self.pos = p;
                }
                Some(last.at)
            }
        }
    }
}

/// Random CloudWatch deliveries for the tests: every AWS shape, concatenated with or without
/// whitespace, compact or pretty, messages with escapes, unicode (escaped or raw), JSON text
/// inside messages, and nested values in unknown keys.
#[cfg(test)]
pub(crate) mod gen {
    pub struct Rng(pub u64);

    impl Rng {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        pub fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
        pub fn chance(&mut self, in_: u64) -> bool {
            self.below(in_) == 0
        }
    }

    /// A JSON string literal of `text`, escaped in one of the ways JSON allows.
    pub fn string(rng: &mut Rng, text: &str) -> String {
        let mut out = String::from("\"");
        let unicode = rng.chance(3);
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str(if rng.chance(2) { "\\n" } else { "\\u000a" }),
                '/' if rng.chance(2) => out.push_str("\\/"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c if unicode && !c.is_ascii() => {
                    let mut buf = [0u16; 2];
                    for u in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{:04X}", u));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    const PIECES: [&str; 14] = [
        "20230501 10:02:19,db1,root,10.0.0.5,12,7,QUERY,test,'SELECT 1',0",
        "2026-01-13 11:59:50 UTC:172.20.193.106(59548):app@shop:[13846]:LOG:  statement: SELECT \"a\"",
        "'it''s'",
        "\\'x\\'",
        "\"quoted\"",
        "{\"nested\":[1,\"]}\",{\"a\":\"\\\"\"}]}",
        "é ü 😀 中文",
        "\n",
        "\t\u{1}",
        "]},[{",
        "a/b",
        "\\",
        "",
        " ",
    ];

    pub fn message(rng: &mut Rng) -> String {
        (0..1 + rng.below(5))
            .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
            .collect()
    }

    /// A nested value of the kinds JSON has.
    pub fn value(rng: &mut Rng, depth: u32) -> String {
        match rng.below(if depth > 3 { 4 } else { 6 }) {
            0 => {
                let m = message(rng);
                string(rng, &m)
            }
            1 => format!("{}", rng.below(1 << 40) as i64 - (1 << 39)),
            2 => ["true", "false", "null", "1.5e3", "-0.25"][rng.below(5) as usize].into(),
            3 => "[]".into(),
            4 => {
                let items: Vec<String> = (0..rng.below(4)).map(|_| value(rng, depth + 1)).collect();
                format!("[{}]", items.join(", "))
            }
            _ => {
                let items: Vec<String> = (0..rng.below(4))
                    .map(|i| format!("\"k{i}\" : {}", value(rng, depth + 1)))
                    .collect();
                format!("{{{}}}", items.join(","))
            }
        }
    }

    fn ws(rng: &mut Rng, pretty: bool) -> &'static str {
        if !pretty {
            return "";
        }
        [" ", "\n  ", "\r\n", "\t", ""][rng.below(5) as usize]
    }

    /// An object of `fields` (name, raw value) in order.
    fn object(rng: &mut Rng, pretty: bool, fields: &[(&str, String)]) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(ws(rng, pretty));
            out.push_str(&format!(
                "\"{k}\"{}:{}{v}",
                ws(rng, pretty),
                ws(rng, pretty)
            ));
        }
        out.push_str(ws(rng, pretty));
        out.push('}');
        out
    }

    fn event(rng: &mut Rng, pretty: bool, n: &mut u64, cli: bool) -> String {
        *n += 1;
        let mut f: Vec<(&str, String)> = Vec::new();
        if cli && rng.chance(2) {
            let name = format!("db-{}", rng.below(3));
            f.push(("logStreamName", string(rng, &name)));
        }
        f.push(("timestamp", format!("{}", 1_682_935_339_000 + *n as i64)));
        if !rng.chance(20) {
            let m = message(rng);
            f.push(("message", string(rng, &m)));
        }
        if rng.chance(3) {
            f.push(("ingestionTime", "1682935340000".into()));
        }
        if !rng.chance(4) {
            f.push((if cli { "eventId" } else { "id" }, format!("\"{n}\"")));
        }
        if rng.chance(4) {
            f.push(("extra", value(rng, 0)));
        }
        // Fields in any order.
        for i in (1..f.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            f.swap(i, j);
        }
        object(rng, pretty, &f)
    }

    fn array(rng: &mut Rng, pretty: bool, items: Vec<String>) -> String {
        let sep = if pretty { ",\n    " } else { "," };
        format!("[{}{}]", ws(rng, pretty), items.join(sep))
    }

    /// One top-level document.
    pub fn document(rng: &mut Rng, n: &mut u64) -> String {
        let pretty = rng.chance(2);
        let count = rng.below(12);
        match rng.below(5) {
            // Firehose / subscription payloads, AWS key order (or the stream last).
            0 | 1 => {
                let control = rng.chance(6);
                let events: Vec<String> =
                    (0..count).map(|_| event(rng, pretty, n, false)).collect();
                let kind = if control {
                    "CONTROL_MESSAGE"
                } else {
                    "DATA_MESSAGE"
                };
                let name = format!("db-{}", rng.below(3));
                let stream = string(rng, &name);
                let mut f: Vec<(&str, String)> = vec![
                    ("messageType", format!("\"{kind}\"")),
                    ("owner", "\"123456789012\"".into()),
                    ("logGroup", "\"/aws/rds/instance/db/audit\"".into()),
                    ("logStream", stream),
                    ("subscriptionFilters", "[\"f\"]".into()),
                    ("logEvents", array(rng, pretty, events)),
                ];
                if rng.chance(5) {
                    // The stream after the events (not AWS's order), marked for the tests.
                    f.rotate_left(4);
                    f.push(("keyOrder", "\"late\"".into()));
                }
                object(rng, pretty, &f)
            }
            // filter-log-events pages.
            2 => {
                let events: Vec<String> = (0..count).map(|_| event(rng, pretty, n, true)).collect();
                let f = vec![
                    ("events", array(rng, pretty, events)),
                    (
                        "searchedLogStreams",
                        "[{\"logStreamName\":\"db-1\",\"searchedCompletely\":true}]".into(),
                    ),
                    (
                        "nextToken",
                        string(rng, "Bxkq6kVGFtq2y_MoigeqscPOdhXVbhiVtLoAmXb5jCrI"),
                    ),
                ];
                object(rng, pretty, &f)
            }
            // get-log-events pages.
            3 => {
                let events: Vec<String> =
                    (0..count).map(|_| event(rng, pretty, n, false)).collect();
                let f = vec![
                    ("events", array(rng, pretty, events)),
                    ("nextForwardToken", "\"f/3\"".into()),
                    ("nextBackwardToken", "\"b/3\"".into()),
                ];
                object(rng, pretty, &f)
            }
            // A top-level array of bare events.
            _ => {
                let events: Vec<String> = (0..count).map(|_| event(rng, pretty, n, true)).collect();
                array(rng, pretty, events)
            }
        }
    }

    /// A delivery of several documents.
    pub fn delivery(rng: &mut Rng) -> String {
        let mut n = 0;
        let mut out = String::new();
        for _ in 0..1 + rng.below(5) {
            out.push_str(&document(rng, &mut n));
            out.push_str(["", "\n", " \n\t", "\r\n"][rng.below(4) as usize]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        elements: Vec<String>,
        headers: Vec<(Key, String)>,
        docs: usize,
        cuts: Vec<usize>,
    }

    impl Visit<'_> for Collect {
        fn doc_start(&mut self, _at: usize) {
            self.docs += 1;
        }
        fn header(&mut self, key: Key, value: &[u8]) {
            self.headers
                .push((key, String::from_utf8_lossy(value).into_owned()));
        }
        fn element(&mut self, value: &[u8]) {
            self.elements
                .push(String::from_utf8_lossy(value).into_owned());
        }
        fn cut_point(&mut self, at: usize, _pos: Pos) -> bool {
            self.cuts.push(at);
            true
        }
    }

    #[test]
    fn elements_headers_and_cut_points_of_a_page() {
        let text = br#"{"events":[{"message":"a\"]}"},{"message":"b\\"}],"logStream":"s"} [{"message":"x"},{"logEvents":[1]}]"#;
        let mut c = Collect::default();
        let (stop, pos) = walk(text, 0, Pos::default(), &mut c);
        assert_eq!((stop, pos.phase), (Stop::End, Phase::Top));
        assert_eq!(
            c.elements,
            [r#"{"message":"a\"]}"}"#, r#"{"message":"b\\"}"#, "1"]
        );
        assert_eq!(c.docs, 3);
        assert_eq!(c.headers[0], (Key::LogStream, "\"s\"".into()));
        assert_eq!(c.headers[1], (Key::Message, "\"x\"".into()));
        let second = text.iter().position(|&b| b == b',').unwrap() + 1;
        assert_eq!(c.cuts[..2], [0, second]);
    }

    #[test]
    fn structural_errors_and_truncation_are_told_apart() {
        let mut c = Collect::default();
        assert_eq!(
            walk(b"{\"events\":[{\"a\":1}", 0, Pos::default(), &mut c).0,
            Stop::End
        );
        assert_eq!(
            walk(b"{\"events\" 1}", 0, Pos::default(), &mut c).0,
            Stop::Error(10)
        );
        assert_eq!(
            walk(b"{\"e\":[}]}", 0, Pos::default(), &mut c).0,
            Stop::Error(6)
        );
        assert_eq!(
            walk(b"garbage", 0, Pos::default(), &mut c).0,
            Stop::Error(0)
        );
    }

    /// The walk against serde_json on random deliveries: the same documents (starting where
    /// serde_json's stream of values starts each), the same events array elements and
    /// header values, each element exactly one JSON value; and the cut points are where a
    /// stream cutter may cut.
    #[test]
    fn the_walk_agrees_with_serde_json_on_random_deliveries() {
        use serde_json::Value;
        let mut rng = gen::Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..1000 {
            let text = gen::delivery(&mut rng);
            let buf = text.as_bytes();
            // serde_json's view.
            let mut starts = Vec::new();
            let mut want_elements = Vec::new();
            let mut want_headers = Vec::new();
            let mut want_docs = 0;
            let mut stream = serde_json::Deserializer::from_slice(buf).into_iter::<Value>();
            loop {
                let before = stream.byte_offset();
                let Some(v) = stream.next() else { break };
                let v = v.unwrap();
                starts
                    .push(before + (buf[before..].len() - buf[before..].trim_ascii_start().len()));
                let docs = match v {
                    Value::Array(a) => a,
                    v => vec![v],
                };
                for d in docs {
                    let Value::Object(m) = d else { panic!() };
                    want_docs += 1;
                    for k in ["events", "logEvents"] {
                        if let Some(Value::Array(a)) = m.get(k) {
                            want_elements.extend(a.iter().cloned());
                        }
                    }
                    for k in [
                        "messageType",
                        "logStream",
                        "id",
                        "eventId",
                        "timestamp",
                        "message",
                        "logStreamName",
                    ] {
                        if let Some(v) = m.get(k) {
                            want_headers.push(v.clone());
                        }
                    }
                }
            }
            // The walk's.
            let mut c = Collect::default();
            let mut top = Vec::new();
            struct Tops<'c>(&'c mut Collect, &'c mut Vec<usize>);
            impl<'a> Visit<'a> for Tops<'_> {
                fn doc_start(&mut self, at: usize) {
                    self.0.doc_start(at)
                }
                fn header(&mut self, key: Key, value: &'a [u8]) {
                    self.0.header(key, value)
                }
                fn element(&mut self, value: &'a [u8]) {
                    self.0.element(value)
                }
                fn cut_point(&mut self, at: usize, pos: Pos) -> bool {
                    if pos.phase == Phase::Top {
                        self.1.push(at);
                    }
                    self.0.cut_point(at, pos)
                }
            }
            let (stop, pos) = walk(buf, 0, Pos::default(), &mut Tops(&mut c, &mut top));
            assert_eq!(
                (stop, pos.phase),
                (Stop::End, Phase::Top),
                "round {round}: {text}"
            );
            assert_eq!(top, starts, "round {round}: {text}");
            assert_eq!(c.docs, want_docs, "round {round}");
            let got: Vec<Value> = c
                .elements
                .iter()
                .map(|e| serde_json::from_str(e).expect("one whole value"))
                .collect();
            assert_eq!(got, want_elements, "round {round}: {text}");
            // (Header keys in file order; serde_json's map is sorted: compare as sets.)
            let mut got: Vec<String> = c
                .headers
                .iter()
                .map(|(_, h)| serde_json::from_str::<Value>(h).unwrap().to_string())
                .collect();
            let mut want: Vec<String> = want_headers.iter().map(|v| v.to_string()).collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "round {round}: {text}");
            // Every prefix ending at a cut point, walked from there, goes on to the same
            // elements.
            for &cut in c.cuts.iter().step_by(3) {
                let mut a = Collect::default();
                struct Until(usize, Option<Pos>);
                impl Visit<'_> for Until {
                    fn cut_point(&mut self, at: usize, pos: Pos) -> bool {
                        if at == self.0 {
                            self.1 = Some(pos);
                            return false;
                        }
                        true
                    }
                }
                let mut u = Until(cut, None);
                let (stop, _) = walk(buf, 0, Pos::default(), &mut u);
                assert_eq!(stop, Stop::Halted);
                walk(&buf[..cut], 0, Pos::default(), &mut a);
                let mut b = Collect::default();
                walk(&buf[cut..], 0, u.1.unwrap(), &mut b);
                a.elements.extend(b.elements);
                assert_eq!(a.elements, c.elements, "round {round} cut {cut}");
            }
        }
    }

    /// Bytes in any order never panic a walk, and a stream cutter fed them makes progress.
    #[test]
    fn random_bytes_never_panic() {
        let mut rng = gen::Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..3000 {
            let mut text = gen::delivery(&mut rng).into_bytes();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(text.len() as u64) as usize;
                if at < text.len() {
                    text[at] = b"{}[]\",:\\ 0a\xff\n"[rng.below(13) as usize];
                }
            }
            let cut = rng.below(text.len() as u64 + 1) as usize;
            let mut c = Collect::default();
            let _ = walk(&text, 0, Pos::default(), &mut c);
            let mut s = StreamCut::default();
            let _ = s.cut(&text[..cut]);
        }
    }
}
