//! The worker side of a scan: one record-aligned chunk of bytes in, encoded Parquet row
//! groups, line accounting and pass state out.
//!
//! [`ChunkProcessor`] is the [`RecordSink`] the parsers report to. It applies the time window,
//! counts, feeds the passes and copies each event once into the Arrow builder of its UTC day
//! (one builder per day, so partitions need no later split). At the end of the chunk the
//! builders are encoded into row-group pieces right here, on the worker's core.

pub(crate) mod consume;

use std::sync::Arc;

use crate::dedupe::Duplicates;
use crate::event::{Event, EventBatchBuilder, MAX_BATCH_BYTES};
use crate::finding::IN_CHUNK;
use crate::format::{self, FileFormat, Reason, RecordSink};
use crate::input::Compression;
use crate::pass::{AnalysisConfig, Evidence, PassSet};
use crate::session::{SessionChunk, SessionTracker};
use crate::sink::evidence::KeptText;
use crate::sink::parquet::{EncodedRowGroup, RowGroupEncoder, MAX_ROW_GROUP_ROWS};
use crate::stats::{Stats, StatsBuilder};
use crate::time::day_of;

/// Settings every chunk of a run shares.
pub struct ChunkSettings<'a> {
    pub since_us: Option<i64>,
    pub until_us: Option<i64>,
    /// `None` with `--no-events`.
    pub encoder: Option<&'a RowGroupEncoder>,
    pub config: &'a AnalysisConfig,
    /// Run the analysis passes (off only to measure parsing alone).
    pub analysis: bool,
    /// Events an earlier CloudWatch export already delivered, left out like events outside
    /// the time window.
    pub duplicates: &'a Duplicates,
    /// The record limit (`--max-record-bytes`, see [`RecordSink::max_record`]).
    pub max_record_bytes: usize,
    /// Observe each user's use for `privileges.sql` (`--privileges`; off: nothing per event).
    pub privileges: bool,
    /// Follow sessions (for `sessions.parquet`, the report's activity and the profile); off
    /// only to measure what they cost (the hidden `--no-sessions`).
    pub sessions: bool,
}

/// What a unit reports about its file (besides chunk outputs).
#[derive(Clone, Debug)]
pub(crate) enum FileNote {
    Format {
        format: String,
        compression: Compression,
    },
    Sha256 {
        hex: String,
        bytes: u64,
    },
    Skipped(String),
    Error(String),
    /// The file changed while it was read: why (the file is an error, and its SHA-256 does
    /// not stand for a stable file).
    Changed(String),
}

/// One output of a unit, in order.
pub(crate) enum UnitOutput {
    File {
        file: usize,
        note: FileNote,
    },
    Chunk(Box<ChunkOutput>),
    /// A CloudTrail file, read whole (see [`read_trail`]).
    Control(Box<ControlOutput>),
}

/// What a CloudTrail file gave: its database records (inside the time window) and the
/// accounting of every unit it held.
pub struct ControlOutput {
    pub file: usize,
    /// Bytes read (decompressed).
    pub bytes: u64,
    pub stats: Stats,
    pub events: Vec<crate::control::ControlEvent>,
    /// Records about other services, by `eventSource`.
    pub ignored: std::collections::BTreeMap<String, u64>,
}

/// Reads a whole CloudTrail file (`data`, decompressed) of input `file`: records outside the
/// time window are counted as `filtered`, every other unit as a record, an ignored record,
/// a blank line or a rejected unit (its index as its line).
pub(crate) fn read_trail(settings: &ChunkSettings<'_>, file: usize, data: &[u8]) -> ControlOutput {
    let trail = format::cloudtrail::parse(data, file as u32);
    let mut stats = Stats {
        lines: trail.units + trail.blank,
        ignored: trail.ignored_total(),
        blank: trail.blank,
        parsed_bytes: data.len() as u64,
        ..Stats::default()
    };
    for (index, reason, why) in &trail.rejected {
        stats.rejected += 1;
        *stats.rejected_by_reason.entry(*reason).or_default() += 1;
        if stats.rejected_samples.len() < crate::stats::REJECTED_SAMPLES {
            stats.rejected_samples.push((*index, *reason, why.clone()));
        }
    }
    let mut events = trail.events;
    events.retain(|e| {
        let inside = settings.since_us.is_none_or(|t| e.time_us >= t)
            && settings.until_us.is_none_or(|t| e.time_us < t);
        if inside {
            stats.records += 1;
            stats.first_us = Some(stats.first_us.map_or(e.time_us, |t| t.min(e.time_us)));
            stats.last_us = Some(stats.last_us.map_or(e.time_us, |t| t.max(e.time_us)));
        } else {
            stats.filtered += 1;
        }
        inside
    });
    ControlOutput {
        file,
        bytes: data.len() as u64,
        stats,
        events,
        ignored: trail.ignored,
    }
}

/// What one chunk produced.
pub struct ChunkOutput {
    pub file: usize,
    pub bytes: u64,
    pub stats: Stats,
    pub row_groups: Vec<EncodedRowGroup>,
    pub passes: PassSet,
    /// The parts of sessions this chunk saw, and its per-minute counts.
    pub sessions: SessionChunk,
    /// An encoding error (the output is then incomplete; reported, not fatal to the others).
    pub error: Option<String>,
    /// Each user's use (`--privileges` only).
    pub privileges: Option<Box<crate::privileges::Usage>>,
    /// The text of the records behind the evidence the passes keep (and the sessions'
    /// successful logins), by line, for a chunk
    /// whose text is not the file's bytes as stored (empty for a mapped plain file, whose
    /// evidence is read back from the file).
    pub texts: Vec<(u64, KeptText)>,
}

impl ChunkOutput {
    /// The output of a piece of file `file` that lies wholly outside the time window: its
    /// `lines` counted as `filtered`, its `bytes` only hashed, nothing parsed.
    pub(crate) fn outside_window(
        settings: &ChunkSettings<'_>,
        file: usize,
        lines: u64,
        bytes: u64,
    ) -> ChunkOutput {
        let mut out = ChunkOutput {
            file,
            bytes: 0,
            stats: Stats::default(),
            row_groups: Vec::new(),
            passes: PassSet::new(settings.config),
            sessions: crate::session::SessionChunk::default(),
            error: None,
            privileges: None,
            texts: Vec::new(),
        };
        out.add_outside_window(lines, bytes);
        out
    }

    /// Adds `lines` and `bytes` outside the time window, counted but not parsed, to this
    /// output (its `bytes` too).
    pub(crate) fn add_outside_window(&mut self, lines: u64, bytes: u64) {
        self.bytes += bytes;
        self.stats.lines += lines;
        self.stats.filtered += lines;
        self.stats.skipped_bytes += bytes;
    }
}

/// Whether the window search may skip parts of file `file`: a window is set, the file has no
/// duplicate lines to drop (those are counted as `duplicates`, so they must be parsed), and
/// the test switch `FORENSICS_TEST_NO_SKIP` (which makes every window a parse-then-filter, to
/// compare against) is off.
pub(crate) fn may_skip(settings: &ChunkSettings<'_>, file: usize) -> bool {
    (settings.since_us.is_some() || settings.until_us.is_some())
        && settings.duplicates.of(file).is_empty()
        && !skip_disabled()
}

/// `FORENSICS_TEST_NO_SKIP=1`: the window search is off (tests compare against it).
pub(crate) fn skip_disabled() -> bool {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OFF.get_or_init(|| std::env::var_os("FORENSICS_TEST_NO_SKIP").is_some_and(|v| v == "1"))
}

struct ChunkProcessor<'a, 's> {
    settings: &'s ChunkSettings<'s>,
    file: u32,
    path: &'s Arc<str>,
    stats: StatsBuilder<'a>,
    passes: PassSet,
    sessions: SessionTracker<'a>,
    /// Where the text the events borrow from lies (start address, length) and the offset of
    /// its start: in the file, when the records are read from the file's bytes as they are;
    /// otherwise (a decompressed block, a rewritten arena) [`IN_CHUNK`], marking the offsets
    /// as the buffer's own. Evidence carries the offset of each record either way.
    located: (usize, usize, u64),
    days: Vec<(i64, EventBatchBuilder)>,
    row_groups: Vec<EncodedRowGroup>,
    error: Option<String>,
    capacity: usize,
    utf8_checked: bool,
    /// This file's duplicate lines (sorted; nearly always empty).
    duplicates: &'s [u64],
    /// The next event is a record cut at the limit ([`RecordSink::truncated`]).
    cut: bool,
    /// `--privileges`: each user's use in this chunk.
    privileges: Option<Box<crate::privileges::Usage>>,
}

impl<'a> RecordSink<'a> for ChunkProcessor<'a, '_> {
    #[inline]
    fn event(&mut self, event: Event<'a>, message: &'a [u8]) {
        let s = self.settings;
        let cut = std::mem::take(&mut self.cut);
        if !self.duplicates.is_empty() && self.duplicates.binary_search(&event.line).is_ok() {
            self.stats.stats.duplicates += 1;
            return;
        }
        if s.since_us.is_some_and(|t| event.time_us < t)
            || s.until_us.is_some_and(|t| event.time_us >= t)
        {
            self.stats.stats.filtered += 1;
            return;
        }
        self.stats.event(&event);
        self.stats.stats.truncated += u64::from(cut);
        if s.analysis {
            let mut evidence = Evidence::at(self.file, event.line);
            let (start, len, offset) = self.located;
            let at = (message.as_ptr() as usize).wrapping_sub(start);
            if at < len && message.len() <= len - at {
                evidence.byte = offset + at as u64 + 1;
                evidence.len = message.len().min(u32::MAX as usize) as u32;
            }
            self.passes.observe(&event, evidence, message);
            if s.sessions {
                self.sessions.event(&event, &evidence);
            }
        }
        if let Some(u) = &mut self.privileges {
            u.observe_event(&event);
        }
        if s.encoder.is_some() {
            self.push(&event);
        }
    }

    fn blank(&mut self, _line: u64) {
        self.stats.stats.blank += 1;
    }

    fn rejected(&mut self, line: u64, reason: Reason, text: &'a [u8]) {
        self.stats.rejected(line, reason, text);
    }

    fn ignored(&mut self, lines: u64) {
        self.stats.stats.ignored += lines;
    }

    fn max_record(&self) -> usize {
        self.settings.max_record_bytes
    }

    fn truncated(&mut self) {
        self.cut = true;
    }
}

impl ChunkProcessor<'_, '_> {
    #[inline]
    fn push(&mut self, event: &Event<'_>) {
        let day = day_of(event.time_us);
        let idx = match self.days.iter().position(|(d, _)| *d == day) {
            Some(i) => i,
            None => self.new_day(day),
        };
        let builder = &mut self.days[idx].1;
        builder.push(event);
        if builder.len() >= MAX_ROW_GROUP_ROWS || builder.text_bytes() >= MAX_BATCH_BYTES {
            self.full(idx);
        }
    }

    /// A builder for a day this chunk had no event of yet (out of line: a few per chunk).
    #[cold]
    #[inline(never)]
    fn new_day(&mut self, day: i64) -> usize {
        let mut b = EventBatchBuilder::new(self.path.clone(), self.capacity);
        b.set_utf8_checked(self.utf8_checked);
        b.set_geoip(self.settings.config.geoip.clone());
        self.days.push((day, b));
        self.days.len() - 1
    }

    /// Encodes the full batch of day `idx`.
    #[cold]
    #[inline(never)]
    fn full(&mut self, idx: usize) {
        let day = self.days[idx].0;
        let batch = self.days[idx].1.finish();
        self.encode(day, batch);
    }

    fn encode(&mut self, day: i64, batch: arrow::array::RecordBatch) {
        if let Some(enc) = self.settings.encoder {
            match enc.encode(day, &batch) {
                Ok(rg) => self.row_groups.push(rg),
                Err(e) => {
                    self.error.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
}

/// Parses one record-aligned chunk of file `file` and encodes its events.
#[allow(clippy::too_many_arguments)]
pub fn process_chunk(
    settings: &ChunkSettings<'_>,
    file: usize,
    path: &Arc<str>,
    format: &FileFormat,
    chunk: &[u8],
    first_line: u64,
    at_eof: bool,
) -> ChunkOutput {
    process(
        settings, file, path, format, chunk, first_line, at_eof, None, false, None,
    )
}

/// [`process_chunk`] for a chunk of a CloudWatch JSON delivery that may start between two
/// events of a document: `json` says where it starts (`None`: at the start of a document),
/// and is left saying where the next chunk starts (see [`format::Decoded::new`]).
/// `offset` is where the chunk starts in its file when `chunk` is the file's own bytes (a
/// mapped file), `None` for decompressed blocks.
#[allow(clippy::too_many_arguments)]
pub fn process_chunk_from(
    settings: &ChunkSettings<'_>,
    file: usize,
    path: &Arc<str>,
    format: &FileFormat,
    chunk: &[u8],
    first_line: u64,
    at_eof: bool,
    json: Option<&mut format::cloudwatch_json::Resume>,
    offset: Option<u64>,
) -> ChunkOutput {
    process(
        settings, file, path, format, chunk, first_line, at_eof, json, false, offset,
    )
}

/// [`process_chunk`] of the head of one record over the record limit, of which a stream kept
/// no more (see [`crate::input::blocks::Block::Long`]).
pub(crate) fn process_head(
    settings: &ChunkSettings<'_>,
    file: usize,
    path: &Arc<str>,
    format: &FileFormat,
    head: &[u8],
    first_line: u64,
) -> ChunkOutput {
    process(
        settings, file, path, format, head, first_line, false, None, true, None,
    )
}

#[allow(clippy::too_many_arguments)]
fn process(
    settings: &ChunkSettings<'_>,
    file: usize,
    path: &Arc<str>,
    format: &FileFormat,
    chunk: &[u8],
    first_line: u64,
    at_eof: bool,
    json: Option<&mut format::cloudwatch_json::Resume>,
    head: bool,
    offset: Option<u64>,
) -> ChunkOutput {
    // CloudWatch JSON and PostgreSQL csvlog are rewritten into an arena first; the events
    // below borrow from it as they borrow from a mapped file.
    let decoded = match head {
        true => format::Decoded::head(format, chunk),
        false => format::Decoded::new(format, chunk, at_eof, json),
    };
    let raw_len = chunk.len();
    let chunk = decoded.text();
    let base = match (&decoded, offset) {
        (format::Decoded::Raw(_), Some(o)) => o,
        _ => IN_CHUNK,
    };
    let located = (chunk.as_ptr() as usize, chunk.len(), base);
    // About 100 bytes per audit line; the builders grow if the guess is short.
    let capacity = (chunk.len() / 100).clamp(1024, MAX_ROW_GROUP_ROWS);
    let mut p = ChunkProcessor {
        settings,
        file: file as u32,
        path,
        stats: StatsBuilder::default(),
        passes: PassSet::new(settings.config),
        sessions: SessionTracker::new(),
        located,
        days: Vec::new(),
        row_groups: Vec::new(),
        error: None,
        capacity,
        duplicates: settings.duplicates.of(file),
        cut: false,
        privileges: settings.privileges.then(Default::default),
        // One validation of the whole chunk (SIMD-fast on ASCII) replaces one per field.
        utf8_checked: settings.encoder.is_some() && simdutf8::basic::from_utf8(chunk).is_ok(),
    };
    let lines = decoded.parse(format, first_line, at_eof, &mut p);
    let days = std::mem::take(&mut p.days);
    for (day, mut builder) in days {
        if !builder.is_empty() {
            let batch = builder.finish();
            p.encode(day, batch);
        }
    }
    let texts = match base {
        IN_CHUNK => keep_texts(&mut p.passes, &mut p.sessions, chunk),
        _ => Vec::new(),
    };
    let mut stats = p.stats.finish();
    stats.lines = lines;
    stats.parsed_bytes = raw_len as u64;
    ChunkOutput {
        file,
        bytes: raw_len as u64,
        stats,
        row_groups: p.row_groups,
        passes: p.passes,
        sessions: p.sessions.finish(),
        error: p.error,
        privileges: p.privileges,
        texts,
    }
}

/// Copies out the text of every record the passes keep as evidence, and of the successful
/// logins the session parts start with, from `chunk` (the buffer the chunk's events borrowed
/// from, about to be dropped), by line, and clears each
/// such evidence to its place alone ([`Evidence::at`]), as it was before texts were kept: the
/// pass state then merges, and its findings read, the same as ever. Runs once per chunk
/// whose text is its own (a stream block, a rewritten arena), never for a mapped plain file.
fn keep_texts(
    passes: &mut PassSet,
    sessions: &mut SessionTracker<'_>,
    chunk: &[u8],
) -> Vec<(u64, KeptText)> {
    // The places first (many aggregates share an event), each text copied once.
    let mut places: Vec<(u64, usize, usize)> = Vec::new();
    let mut place = |ev: &mut Evidence| {
        let Some((at, len)) = ev.in_chunk() else {
            return;
        };
        places.push((ev.line, at, len));
        *ev = Evidence::at(ev.file, ev.line);
    };
    passes.for_each_evidence(&mut place);
    // The successful logins, which `anomalous_login` may quote once all input is read.
    sessions.for_each_evidence(&mut place);
    places.sort_unstable();
    places.dedup_by_key(|p| p.0);
    places
        .into_iter()
        .filter_map(|(line, at, len)| {
            let bytes = chunk.get(at..at.checked_add(len)?)?;
            Some((line, KeptText::of(bytes)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pass::testing::{config, line};

    /// A chunk of a brute force (and more) as the passes see it.
    pub(super) fn chunk() -> String {
        let mut text = String::new();
        for i in 0..40 {
            let ret = if i < 30 { 1045 } else { 0 };
            let op = if ret == 0 {
                "CONNECT"
            } else {
                "FAILED_CONNECT"
            };
            text += &line(
                i,
                "admin",
                "203.0.113.7",
                100 + i,
                op,
                "shop",
                "",
                ret,
                "SSL",
            );
            text.push('\n');
            text += &line(
                i,
                "app",
                "172.31.0.5",
                500 + i,
                "QUERY",
                "shop",
                "SELECT 1",
                0,
                "",
            );
            text.push('\n');
        }
        text
    }

    pub(super) fn run(text: &str, offset: Option<u64>) -> ChunkOutput {
        let config = config();
        let duplicates = Duplicates::default();
        let settings = ChunkSettings {
            since_us: None,
            until_us: None,
            encoder: None,
            config: &config,
            analysis: true,
            duplicates: &duplicates,
            max_record_bytes: 1 << 20,
            privileges: false,
            sessions: true,
        };
        let format = format::sniff(text.as_bytes()).unwrap();
        let path: Arc<str> = "a.log".into();
        let json = None;
        process_chunk_from(
            &settings,
            3,
            &path,
            &format,
            text.as_bytes(),
            1,
            true,
            json,
            offset,
        )
    }

    #[test]
    fn a_chunk_of_its_own_keeps_the_text_of_its_evidence_and_no_offset_into_it() {
        let text = chunk();
        let lines: Vec<&str> = text.lines().collect();
        // A decompressed block: the texts copied out, every evidence back to its place.
        let mut out = run(&text, None);
        assert!(out.texts.len() >= 4, "{}", out.texts.len());
        for (line, kept) in &out.texts {
            assert_eq!(kept.text, lines[*line as usize - 1], "line {line}");
            assert!(!kept.cut);
        }
        let mut held = 0;
        out.passes.for_each_evidence(&mut |ev| {
            assert_eq!(*ev, Evidence::at(3, ev.line));
            held += 1;
        });
        assert!(held > 0);
        // The same chunk mapped from a file: offsets into the file, no texts.
        let mut mapped = run(&text, Some(1000));
        assert!(mapped.texts.is_empty());
        let starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        mapped.passes.for_each_evidence(&mut |ev| {
            let at = starts[ev.line as usize - 1];
            assert_eq!(ev.offset(), Some(1000 + at as u64), "line {}", ev.line);
            assert_eq!(ev.len as usize, lines[ev.line as usize - 1].len());
        });
    }
}
