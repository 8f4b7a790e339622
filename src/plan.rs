//! The work plan of a scan: every input file turned into an ordered list of units.
//!
//! A plain file is mapped and cut into record-aligned chunks of [`CHUNK_BYTES`]. The file's
//! hash unit comes first; as it reads the file for the SHA-256 it also counts newlines and
//! publishes the line number each chunk starts at ([`LineStarts`]). A chunk unit waits for its
//! number before parsing, so evidence and `source_line` are exact without any fix-up later.
//! The wait is almost never felt: hashing runs at several times parsing speed and starts
//! before the file's first chunk. A compressed file is one unit that
//! decompresses as a stream and emits one output per block. A file that cannot be opened or is
//! not a log becomes a unit that only reports that. The order of units is the order of the
//! files, so the consumer sees the same sequence whatever the thread count.

use std::io;
use std::sync::{Condvar, Mutex};

use crate::dedupe;
use crate::format::{self, FileFormat, FormatChoice, Reason};
use crate::input::{self, Compression, Decompressed, InputFile, Opened};
use crate::scan::{process_chunk, ChunkOutput, ChunkSettings};
use crate::stats::StatsBuilder;
use crate::time::Clock;

/// Largest chunk: 16 MiB is 70,000 to 120,000 audit lines. A chunk's events of one day are
/// a piece of a Parquet row group; the writer joins the pieces of consecutive chunks into
/// row groups of up to a million rows, so the chunk size only trades parallelism (smaller
/// chunks keep both cores busy to the end) and memory (each chunk in flight holds its
/// column builders) against per-chunk overhead. On the 1 GiB corpus 16 MiB runs as fast as
/// 48 MiB at half the peak memory.
pub const CHUNK_BYTES: usize = 16 << 20;
/// Largest block of a compressed stream. Smaller than a mapped file's chunk: one thread
/// inflates while another parses, and small blocks let the two overlap from the first
/// megabytes and keep the tail short (and the buffers in reuse).
pub const STREAM_BLOCK_BYTES: usize = 4 << 20;
/// How much of a file is looked at to recognise its format.
const SNIFF_BYTES: usize = 64 << 10;

/// What a unit reports about its file (besides chunk outputs).
#[derive(Clone, Debug)]
pub enum FileNote {
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
}

/// One output of a unit, in order.
pub enum UnitOutput {
    File { file: usize, note: FileNote },
    Chunk(Box<ChunkOutput>),
}

enum Unit {
    Report {
        file: usize,
        note: FileNote,
    },
    Hash {
        file: usize,
    },
    Chunk {
        file: usize,
        /// The chunk's index within its file, for [`LineStarts::wait`].
        index: usize,
        start: usize,
        end: usize,
        at_eof: bool,
    },
    Stream {
        file: usize,
    },
}

pub struct Plan<'f> {
    files: &'f [InputFile],
    maps: Vec<Option<memmap2::Mmap>>,
    formats: Vec<Option<FileFormat>>,
    lines: Vec<LineStarts>,
    /// Files read as compressed streams.
    streams: Vec<bool>,
    units: Vec<Unit>,
    choice: FormatChoice,
    clock: Clock,
    chunk_bytes: usize,
}

impl<'f> Plan<'f> {
    /// Opens and sniffs every file, and chunks the mapped ones.
    /// `chunk_bytes` is [`CHUNK_BYTES`] unless a test wants many small chunks.
    pub fn new(
        files: &'f [InputFile],
        choice: FormatChoice,
        clock: Clock,
        chunk_bytes: usize,
    ) -> Plan<'f> {
        let mut plan = Plan {
            files,
            maps: Vec::with_capacity(files.len()),
            formats: Vec::with_capacity(files.len()),
            lines: Vec::with_capacity(files.len()),
            streams: Vec::with_capacity(files.len()),
            units: Vec::new(),
            choice,
            clock,
            chunk_bytes: chunk_bytes.max(1),
        };
        for (i, f) in files.iter().enumerate() {
            let planned = plan_file(i, f, choice, clock, chunk_bytes.max(1));
            plan.maps.push(planned.map);
            plan.formats.push(planned.format);
            plan.lines.push(LineStarts::new(planned.chunk_starts));
            plan.streams.push(
                planned
                    .units
                    .iter()
                    .any(|u| matches!(u, Unit::Stream { .. })),
            );
            plan.units.extend(planned.units);
        }
        plan
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// Runs unit `u`, emitting its outputs in order.
    pub fn run(&self, u: usize, settings: &ChunkSettings<'_>, emit: &mut dyn FnMut(UnitOutput)) {
        match &self.units[u] {
            Unit::Report { file, note } => emit(UnitOutput::File {
                file: *file,
                note: note.clone(),
            }),
            Unit::Hash { file } => {
                if let Some(map) = &self.maps[*file] {
                    let len = map.len() as u64;
                    let mut lines = self.lines[*file].counter();
                    let read = input::sha256_hex_file(&self.files[*file].path, len, |piece| {
                        lines.feed(piece)
                    });
                    // Chunks still waiting for their line numbers count them themselves.
                    drop(lines);
                    let hex = read
                        .unwrap_or_else(|_| input::sha256_hex_with(map, |s, e| release(map, s, e)));
                    emit(UnitOutput::File {
                        file: *file,
                        note: FileNote::Sha256 {
                            hex,
                            bytes: map.len() as u64,
                        },
                    });
                }
            }
            Unit::Chunk {
                file,
                index,
                start,
                end,
                at_eof,
            } => {
                let (Some(map), Some(fmt)) = (&self.maps[*file], &self.formats[*file]) else {
                    return;
                };
                let first_line = self.lines[*file].wait(*index).unwrap_or_else(|| {
                    let n = 1 + bytecount::count(&map[..*start], b'\n') as u64;
                    release(map, 0, *start);
                    n
                });
                let out = process_chunk(
                    settings,
                    *file,
                    &self.files[*file].display,
                    fmt,
                    &map[*start..*end],
                    first_line,
                    *at_eof,
                );
                release(map, *start, *end);
                emit(UnitOutput::Chunk(Box::new(out)));
            }
            Unit::Stream { file } => self.run_stream(*file, settings, emit),
        }
    }

    fn run_stream(
        &self,
        file: usize,
        settings: &ChunkSettings<'_>,
        emit: &mut dyn FnMut(UnitOutput),
    ) {
        let f = &self.files[file];
        let error = |msg: String| UnitOutput::File {
            file,
            note: FileNote::Error(msg),
        };
        let (compression, mut dec) = match Decompressed::open(&f.path) {
            Ok(opened) => opened,
            Err(message) => return emit(error(message)),
        };
        let chunk_bytes = self.chunk_bytes.min(STREAM_BLOCK_BYTES);
        let mut buf: Vec<u8> = Vec::with_capacity(chunk_bytes + (1 << 20));
        let mut failure: Option<String> = None;
        let mut more = match dec.fill(&mut buf, SNIFF_BYTES) {
            Ok(m) => m,
            Err(e) => {
                failure = Some(corrupt(compression, &e));
                false
            }
        };
        let format = format::detect(self.choice, self.clock, &buf);
        let Some(format) = format else {
            let reason = match &failure {
                Some(msg) => return emit(error(msg.clone())),
                None if buf.is_empty() => "empty after decompression".to_string(),
                None => format!(
                    "not a recognised audit log ({} compressed)",
                    compression.name()
                ),
            };
            emit(UnitOutput::File {
                file,
                note: FileNote::Skipped(reason),
            });
            if let Ok((hex, bytes)) = dec.finish() {
                emit(UnitOutput::File {
                    file,
                    note: FileNote::Sha256 { hex, bytes },
                });
            }
            return;
        };
        emit(UnitOutput::File {
            file,
            note: FileNote::Format {
                format: format.name().to_string(),
                compression,
            },
        });
        // Decompression runs on its own thread and hands over blocks that end on a record
        // boundary, so inflating the next block overlaps parsing this one (a single stream
        // cannot be split, but its two halves of work can run side by side). The channel
        // holds one block, which bounds memory at three blocks per stream.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Block>(1);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                loop {
                    if more && failure.is_none() {
                        let want = buf.len().max(chunk_bytes / 2) + chunk_bytes.div_ceil(2);
                        match dec.fill(&mut buf, want) {
                            Ok(m) => more = m,
                            Err(e) => {
                                failure = Some(corrupt(compression, &e));
                                more = false;
                            }
                        }
                    }
                    let at_eof = !more;
                    let cut = if at_eof {
                        Some(buf.len())
                    } else {
                        format::last_record_end(&format, &buf)
                    };
                    match cut {
                        Some(cut) => {
                            let mut rest = Vec::with_capacity(chunk_bytes + (1 << 20));
                            rest.extend_from_slice(&buf[cut..]);
                            buf.truncate(cut);
                            let data = std::mem::replace(&mut buf, rest);
                            if tx.send(Block::Records { data, at_eof }).is_err() {
                                return;
                            }
                        }
                        None if buf.len() > format::MAX_RECORD_BYTES => {
                            // One line longer than any record: reject it and skip to its end.
                            let excerpt = buf[..crate::stats::EXCERPT_BYTES].to_vec();
                            let (bytes, still_more) = skip_line(&mut dec, &mut buf);
                            more = still_more;
                            if tx.send(Block::TooLong { excerpt, bytes }).is_err() {
                                return;
                            }
                            continue;
                        }
                        None => continue,
                    }
                    if at_eof {
                        break;
                    }
                }
                let hash = dec.finish();
                let _ = tx.send(Block::Done { hash, failure });
            });
            let mut line = 1u64;
            for block in rx {
                match block {
                    Block::Records { data, at_eof } => {
                        let out =
                            process_chunk(settings, file, &f.display, &format, &data, line, at_eof);
                        line += out.stats.lines;
                        emit(UnitOutput::Chunk(Box::new(out)));
                    }
                    Block::TooLong { excerpt, bytes } => {
                        let mut stats = StatsBuilder::default();
                        stats.rejected(line, Reason::TooLong, &excerpt);
                        let mut stats = stats.finish();
                        stats.lines = 1;
                        emit(UnitOutput::Chunk(Box::new(ChunkOutput {
                            file,
                            bytes,
                            stats,
                            row_groups: Vec::new(),
                            passes: crate::pass::PassSet::new(settings.config),
                            error: None,
                        })));
                        line += 1;
                    }
                    Block::Done { hash, failure } => {
                        match hash {
                            Ok((hex, bytes)) => emit(UnitOutput::File {
                                file,
                                note: FileNote::Sha256 { hex, bytes },
                            }),
                            Err(e) => emit(error(e.to_string())),
                        }
                        if let Some(msg) = failure {
                            emit(error(msg));
                        }
                    }
                }
            }
        });
    }
}

impl Plan<'_> {
    /// Whether CloudWatch may have written `file`: a mapped file sniffed so, or a compressed
    /// one (not sniffed until read).
    pub fn may_be_cloudwatch(&self, file: usize) -> bool {
        match &self.formats[file] {
            Some(fmt) => dedupe::is_cloudwatch(fmt),
            None => self.streams[file],
        }
    }

    /// The (line, identity) of every event of `file` if CloudWatch wrote it (see
    /// [`crate::dedupe`]), read as the scan will read it: the same blocks and line numbers.
    /// `None` for other files and for files that cannot be read (the scan reports those).
    pub fn record_keys(&self, file: usize) -> Option<Vec<(u64, dedupe::Key)>> {
        let mut out = Vec::new();
        if let (Some(map), Some(fmt)) = (&self.maps[file], &self.formats[file]) {
            if !dedupe::is_cloudwatch(fmt) {
                return None;
            }
            let (mut pos, mut line) = (0, 1);
            while pos < map.len() {
                let end =
                    format::next_record_start(fmt, map, (pos + self.chunk_bytes).min(map.len()));
                let end = if end <= pos { map.len() } else { end };
                line += dedupe::block_keys(fmt, &map[pos..end], line, &mut out);
                release(map, pos, end);
                pos = end;
            }
            return Some(out);
        }
        if !self.streams[file] {
            return None;
        }
        let (_, mut dec) = Decompressed::open(&self.files[file].path).ok()?;
        let mut buf = Vec::new();
        let mut more = dec.fill(&mut buf, SNIFF_BYTES).ok()?;
        let fmt = format::detect(self.choice, self.clock, &buf)?;
        if !dedupe::is_cloudwatch(&fmt) {
            return None;
        }
        // The blocks of `run_stream`, so the line numbers agree with the scan's.
        let chunk_bytes = self.chunk_bytes.min(STREAM_BLOCK_BYTES);
        let mut line = 1;
        loop {
            if more {
                let want = buf.len().max(chunk_bytes / 2) + chunk_bytes.div_ceil(2);
                more = dec.fill(&mut buf, want).unwrap_or(false);
            }
            let at_eof = !more;
            let cut = if at_eof {
                Some(buf.len())
            } else {
                format::last_record_end(&fmt, &buf)
            };
            match cut {
                Some(cut) => {
                    line += dedupe::block_keys(&fmt, &buf[..cut], line, &mut out);
                    buf.drain(..cut);
                }
                None if buf.len() > format::MAX_RECORD_BYTES => {
                    more = skip_line(&mut dec, &mut buf).1;
                    line += 1;
                    continue;
                }
                None => continue,
            }
            if at_eof {
                return Some(out);
            }
        }
    }
}

/// What the decompression thread of a stream hands to the parsing side.
enum Block {
    /// Complete records (the last block may end in a truncated line).
    Records { data: Vec<u8>, at_eof: bool },
    /// A line longer than any record was skipped.
    TooLong { excerpt: Vec<u8>, bytes: u64 },
    /// The end: the hash of the compressed file and any decompression failure.
    Done {
        hash: std::io::Result<(String, u64)>,
        failure: Option<String>,
    },
}

/// Drops bytes up to and including the next newline; `buf` keeps what follows it. Returns
/// the bytes dropped and whether the stream may hold more.
fn skip_line(dec: &mut Decompressed, buf: &mut Vec<u8>) -> (u64, bool) {
    let mut skipped = 0u64;
    loop {
        if let Some(i) = memchr::memchr(b'\n', buf) {
            skipped += i as u64 + 1;
            buf.drain(..=i);
            return (skipped, true);
        }
        skipped += buf.len() as u64;
        buf.clear();
        match dec.fill(buf, 1 << 20) {
            Ok(true) => {}
            _ => {
                let rest = buf.len() as u64;
                buf.clear();
                return (skipped + rest, false);
            }
        }
    }
}

fn corrupt(c: Compression, e: &io::Error) -> String {
    format!(
        "corrupt {} data: {e}; events before the damage were kept",
        c.name()
    )
}

/// One file's plan.
struct PlannedFile {
    map: Option<memmap2::Mmap>,
    format: Option<FileFormat>,
    /// Where each chunk after the first starts (see [`LineStarts`]).
    chunk_starts: Vec<usize>,
    units: Vec<Unit>,
}

/// Plans one file: its map (if plain), its format, and its units.
fn plan_file(
    i: usize,
    f: &InputFile,
    choice: FormatChoice,
    clock: Clock,
    chunk_bytes: usize,
) -> PlannedFile {
    let only = |units: Vec<Unit>, map: Option<memmap2::Mmap>| PlannedFile {
        map,
        format: None,
        chunk_starts: Vec::new(),
        units,
    };
    let report = |note: FileNote| vec![Unit::Report { file: i, note }];
    let map = match input::open(&f.path) {
        Ok(Opened::Mapped(m)) => m,
        Ok(Opened::Empty) => return only(report(FileNote::Skipped("empty file".into())), None),
        Ok(Opened::Stream(..)) => return only(vec![Unit::Stream { file: i }], None),
        Err(e) => return only(report(FileNote::Error(format!("cannot read: {e}"))), None),
    };
    let head = &map[..map.len().min(SNIFF_BYTES)];
    let format = format::detect(choice, clock, head);
    let Some(format) = format else {
        let mut units = report(FileNote::Skipped("not a recognised audit log".into()));
        units.push(Unit::Hash { file: i });
        return only(units, Some(map));
    };
    // Record-aligned chunk boundaries.
    // Equal-sized chunks (rather than full ones and a short tail) keep the workers evenly
    // loaded to the end of the run.
    let pieces = map.len().div_ceil(chunk_bytes).max(1);
    let chunk_bytes = map.len().div_ceil(pieces).max(1);
    let mut bounds = Vec::new();
    let mut pos = 0;
    while pos < map.len() {
        let end = format::next_record_start(&format, &map, (pos + chunk_bytes).min(map.len()));
        let end = if end <= pos { map.len() } else { end };
        bounds.push((pos, end));
        pos = end;
    }
    // The hash unit first: it publishes the chunks' first line numbers as it reads.
    let mut units = vec![Unit::Hash { file: i }];
    let last = bounds.len().saturating_sub(1);
    for (k, &(start, end)) in bounds.iter().enumerate() {
        units.push(Unit::Chunk {
            file: i,
            index: k,
            start,
            end,
            at_eof: k == last,
        });
    }
    PlannedFile {
        map: Some(map),
        format: Some(format),
        chunk_starts: bounds.iter().skip(1).map(|&(s, _)| s).collect(),
        units,
    }
}

/// The line number each chunk of one mapped file starts at.
///
/// The file's hash unit counts newlines as it reads the file ([`LineCounter`]) and publishes
/// each chunk's number once it has read up to the chunk's start; the chunk units wait for
/// theirs. No wait can last forever: units are claimed in order, so the hash unit is running
/// before any chunk of its file is claimed, and it waits for nothing before it has published
/// every number. Should it stop early (a read error, a panic), its counter gives up on drop
/// and the waiting chunks count their lines themselves.
struct LineStarts {
    /// Byte offset of the start of chunk 1, 2, ...
    starts: Vec<usize>,
    state: Mutex<LineState>,
    ready: Condvar,
}

struct LineState {
    /// First line of chunk 1, 2, ... once known.
    first: Vec<Option<u64>>,
    gave_up: bool,
}

impl LineStarts {
    fn new(starts: Vec<usize>) -> LineStarts {
        LineStarts {
            state: Mutex::new(LineState {
                first: vec![None; starts.len()],
                gave_up: false,
            }),
            starts,
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LineState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first line of chunk `index`, or `None` if the counter gave up before reaching it.
    fn wait(&self, index: usize) -> Option<u64> {
        if index == 0 {
            return Some(1);
        }
        let mut s = self.lock();
        loop {
            if let Some(n) = s.first[index - 1] {
                return Some(n);
            }
            if s.gave_up {
                return None;
            }
            s = self.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn counter(&self) -> LineCounter<'_> {
        LineCounter {
            starts: self,
            pos: 0,
            newlines: 0,
            next: 0,
        }
    }
}

/// Counts the newlines of a file read in order, publishing each chunk's first line.
struct LineCounter<'a> {
    starts: &'a LineStarts,
    /// Bytes fed so far.
    pos: usize,
    /// Newlines in them (up to the last chunk start, past which nothing is counted).
    newlines: u64,
    /// The next chunk start to publish.
    next: usize,
}

impl LineCounter<'_> {
    fn feed(&mut self, piece: &[u8]) {
        let starts = &self.starts.starts;
        let end = self.pos + piece.len();
        let mut off = 0;
        while self.next < starts.len() && starts[self.next] <= end {
            let cut = starts[self.next] - self.pos;
            self.newlines += bytecount::count(&piece[off..cut], b'\n') as u64;
            off = cut;
            let mut s = self.starts.lock();
            s.first[self.next] = Some(1 + self.newlines);
            drop(s);
            self.starts.ready.notify_all();
            self.next += 1;
        }
        if self.next < starts.len() {
            self.newlines += bytecount::count(&piece[off..], b'\n') as u64;
        }
        self.pos = end;
    }
}

impl Drop for LineCounter<'_> {
    fn drop(&mut self) {
        if self.next < self.starts.starts.len() {
            self.starts.lock().gave_up = true;
            self.starts.ready.notify_all();
        }
    }
}

/// Hands the pages of a parsed chunk back to the page cache: the map stays valid (pages fault
/// in again from the file if touched), but they stop counting towards this process's resident
/// memory, so memory does not grow with the size of the input.
fn release(map: &memmap2::Mmap, start: usize, end: usize) {
    const PAGE: usize = 4096;
    let s = start.div_ceil(PAGE) * PAGE;
    let e = end / PAGE * PAGE;
    if e > s {
        // SAFETY: the map is a read-only file mapping; after MADV_DONTNEED the pages are read
        // again from the file on the next access, so no borrowed data changes.
        #[cfg(unix)]
        unsafe {
            let _ = map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, s, e - s);
        }
    }
}

/// The formats of the planned files, for the summary.
impl Plan<'_> {
    /// The file a unit belongs to.
    pub fn file_of(&self, u: usize) -> usize {
        match &self.units[u] {
            Unit::Report { file, .. }
            | Unit::Hash { file }
            | Unit::Chunk { file, .. }
            | Unit::Stream { file } => *file,
        }
    }

    pub fn format_of(&self, file: usize) -> Option<String> {
        self.formats
            .get(file)
            .copied()
            .flatten()
            .map(|f| f.name().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A number in `lo..hi`.
    fn below(rng: &mut rand_chacha::ChaCha8Rng, lo: usize, hi: usize) -> usize {
        lo + (rng.next_u64() % (hi - lo) as u64) as usize
    }

    /// The first line of a chunk starting at `start`, by definition.
    fn first_line(text: &[u8], start: usize) -> u64 {
        1 + text[..start].iter().filter(|&&b| b == b'\n').count() as u64
    }

    /// Chunk starts published from pieces of any size, across piece edges and on them, are
    /// the line numbers a count from the file's start gives.
    #[test]
    fn counter_publishes_each_chunk_start_line_from_pieces_of_any_size() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..200 {
            let len = below(&mut rng, 1, 3_000);
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    if below(&mut rng, 0, 5) == 0 {
                        b'\n'
                    } else {
                        b'x'
                    }
                })
                .collect();
            let mut starts: Vec<usize> = (0..below(&mut rng, 0, 6))
                .map(|_| below(&mut rng, 1, len + 1))
                .collect();
            starts.sort();
            starts.dedup();
            let lines = LineStarts::new(starts.clone());
            let mut counter = lines.counter();
            let mut pos = 0;
            while pos < len {
                let end = (pos + below(&mut rng, 1, 400)).min(len);
                counter.feed(&text[pos..end]);
                pos = end;
            }
            drop(counter);
            assert_eq!(lines.wait(0), Some(1));
            for (k, &s) in starts.iter().enumerate() {
                assert_eq!(lines.wait(k + 1), Some(first_line(&text, s)), "start {s}");
            }
        }
    }

    /// A chunk waiting on another thread wakes when its number is published; if the counter
    /// stops early (a read error, a panic), the chunks it did not reach get `None` (and count
    /// for themselves) instead of waiting forever.
    #[test]
    fn waiting_chunks_wake_on_publication_or_when_the_counter_gives_up() {
        let text = b"a\nb\nc\nd\ne\nf\n";
        let lines = LineStarts::new(vec![4, 8]);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| (lines.wait(1), lines.wait(2)));
            std::thread::sleep(std::time::Duration::from_millis(20));
            let mut counter = lines.counter();
            counter.feed(&text[..6]);
            drop(counter);
            assert_eq!(waiter.join().unwrap(), (Some(3), None));
        });
    }
}
