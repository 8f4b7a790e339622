//! The work plan of a scan: every input file turned into an ordered list of units.
//!
//! A plain file is mapped and cut into record-aligned chunks of [`CHUNK_BYTES`], one unit
//! each. A chunk unit first reads its chunk to count its newlines, feeding the file's SHA-256
//! in the same pass when every earlier chunk is hashed ([`Ledger`]); it learns the line it
//! starts at from the counts of the chunks before it, so evidence and `source_line` are exact
//! without any fix-up later, and then parses the pages it has just faulted in. So the map is
//! read from the page cache once, by the chunks themselves. A compressed file is one unit that
//! decompresses as a stream and emits one output per block. A file that cannot be opened or is
//! not a log becomes a unit that only reports that. The order of units is the order of the
//! files, so the consumer sees the same sequence whatever the thread count.

use std::io;
use std::sync::{Condvar, Mutex};

use rayon::prelude::*;

use crate::dedupe;
use crate::format::{self, FileFormat, FormatChoice, Reason};
use crate::input::sha256x2::{self, Sha256State};
use crate::input::{self, Compression, Decompressed, InputFile, Opened};
use crate::scan::{process_chunk, ChunkOutput, ChunkSettings};
use crate::stats::StatsBuilder;
use crate::time::Clock;

/// Largest chunk: 4 MiB is 17,000 to 30,000 audit lines. A chunk's events of one day are a
/// piece of a Parquet row group; the writer joins the pieces of consecutive chunks into row
/// groups of up to a million rows, so the chunk size trades cache reuse (a chunk is read once
/// to hash and count it, then again to parse it; at 4 MiB a chunk per core still sits in the
/// shared cache for the second read) and memory (each chunk in flight holds its column
/// builders) against per-chunk overhead. On the 1 GiB corpus 4 MiB runs about 3 % faster
/// than 16 MiB and 8 MiB, at 120 MiB peak instead of 200 and 140.
pub const CHUNK_BYTES: usize = 4 << 20;
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
    /// The SHA-256 of a mapped file that is not a log (a log's chunks hash it).
    Hash {
        file: usize,
    },
    /// A record-aligned slice of a mapped file: its byte range is `bounds[index]` of the
    /// file's [`Ledger`].
    Chunk {
        file: usize,
        index: usize,
    },
    /// Two chunks of two files, `(file, index)` each, whose hashes are fed together (see
    /// [`pair_chunks`]).
    Pair {
        a: (usize, usize),
        b: (usize, usize),
    },
    Stream {
        file: usize,
    },
}

pub struct Plan<'f> {
    files: &'f [InputFile],
    maps: Vec<Option<memmap2::Mmap>>,
    formats: Vec<Option<FileFormat>>,
    ledgers: Vec<Ledger>,
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
            ledgers: Vec::with_capacity(files.len()),
            streams: Vec::with_capacity(files.len()),
            units: Vec::new(),
            choice,
            clock,
            chunk_bytes: chunk_bytes.max(1),
        };
        // Files are planned in parallel (on the caller's pool, if any): opening, sniffing and
        // finding chunk boundaries is a millisecond or so per file, before any unit runs.
        let planned: Vec<PlannedFile> = files
            .par_iter()
            .enumerate()
            .map(|(i, f)| plan_file(i, f, choice, clock, chunk_bytes.max(1)))
            .collect();
        for planned in planned {
            plan.maps.push(planned.map);
            plan.formats.push(planned.format);
            plan.ledgers.push(Ledger::new(planned.bounds));
            plan.streams.push(
                planned
                    .units
                    .iter()
                    .any(|u| matches!(u, Unit::Stream { .. })),
            );
            plan.units.extend(planned.units);
        }
        plan.units = pair_chunks(std::mem::take(&mut plan.units), &plan.ledgers);
        plan
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// The SHA-256 notes of mapped files whose hash no unit finished (a chunk unit panicked
    /// before marking its chunk and no later chunk of the file came after it). Call once the
    /// run is over; empty after a normal run.
    pub fn unfinished_hashes(&self) -> Vec<UnitOutput> {
        let mut out = Vec::new();
        for (file, (ledger, map)) in self.ledgers.iter().zip(&self.maps).enumerate() {
            if let (Some(map), false) = (map, ledger.bounds.is_empty()) {
                if let Some(hex) = ledger.finish(map) {
                    out.push(UnitOutput::File {
                        file,
                        note: FileNote::Sha256 {
                            hex,
                            bytes: map.len() as u64,
                        },
                    });
                }
            }
        }
        out
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
                    let hex =
                        input::sha256_hex_file(&self.files[*file].path, len).unwrap_or_else(|_| {
                            input::sha256_hex_with(map, |s, e| input::release_pages(map, s, e))
                        });
                    emit(UnitOutput::File {
                        file: *file,
                        note: FileNote::Sha256 {
                            hex,
                            bytes: map.len() as u64,
                        },
                    });
                }
            }
            Unit::Chunk { file, index } => {
                let Some(map) = self.chunked_map(*file) else {
                    return;
                };
                let release = |s, e| input::release_pages(map, s, e);
                let (ticket, hex) = self.ledgers[*file].begin(*index, map, release);
                self.hashed(*file, hex, emit);
                self.parse(*file, ticket, settings, emit);
            }
            Unit::Pair { a, b } => {
                let (Some(map_a), Some(map_b)) = (self.chunked_map(a.0), self.chunked_map(b.0))
                else {
                    return;
                };
                let ((ta, hex_a), (tb, hex_b)) = Ledger::begin_pair(
                    (&self.ledgers[a.0], a.1, map_a),
                    (&self.ledgers[b.0], b.1, map_b),
                    |s, e| input::release_pages(map_a, s, e),
                    |s, e| input::release_pages(map_b, s, e),
                );
                self.hashed(a.0, hex_a, emit);
                self.hashed(b.0, hex_b, emit);
                // Each chunk on its own: a panic in one file's chunk (a bug) is reported for
                // that file and does not cost the other file its chunk.
                for (file, ticket) in [(a.0, ta), (b.0, tb)] {
                    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.parse(file, ticket, settings, emit)
                    }));
                    if let Err(panic) = parsed {
                        let msg = crate::exec::panic_message(&*panic);
                        emit(UnitOutput::File {
                            file,
                            note: FileNote::Error(format!("internal error: {msg}")),
                        });
                    }
                }
            }
            Unit::Stream { file } => self.run_stream(*file, settings, emit),
        }
    }

    /// The map of a file cut into chunks (a mapped log).
    fn chunked_map(&self, file: usize) -> Option<&memmap2::Mmap> {
        self.maps[file]
            .as_ref()
            .filter(|_| self.formats[file].is_some())
    }

    /// Emits the SHA-256 note of `file` if a unit just finished its hash.
    fn hashed(&self, file: usize, hex: Option<String>, emit: &mut dyn FnMut(UnitOutput)) {
        if let (Some(hex), Some(map)) = (hex, &self.maps[file]) {
            emit(UnitOutput::File {
                file,
                note: FileNote::Sha256 {
                    hex,
                    bytes: map.len() as u64,
                },
            });
        }
    }

    /// Parses a begun chunk of a mapped log (once every earlier chunk has counted its lines),
    /// emits its output, and marks it parsed.
    fn parse(
        &self,
        file: usize,
        ticket: Ticket<'_>,
        settings: &ChunkSettings<'_>,
        emit: &mut dyn FnMut(UnitOutput),
    ) {
        let (Some(map), Some(fmt)) = (&self.maps[file], &self.formats[file]) else {
            return;
        };
        #[cfg(test)]
        if tests::PANIC_IN_FILE.with(|f| f.get()) == Some(file) {
            panic!("a test panic while parsing file {file}");
        }
        let ledger = &self.ledgers[file];
        let index = ticket.index;
        let (start, end) = ledger.bounds[index];
        let first_line = ticket.first_line().unwrap_or_else(|| {
            let n = 1 + bytecount::count(&map[..start], b'\n') as u64;
            input::release_pages(map, 0, start);
            n
        });
        let out = process_chunk(
            settings,
            file,
            &self.files[file].display,
            fmt,
            &map[start..end],
            first_line,
            index + 1 == ledger.bounds.len(),
        );
        emit(UnitOutput::Chunk(Box::new(out)));
        let hex = ticket.parsed(map, |s, e| input::release_pages(map, s, e));
        self.hashed(file, hex, emit);
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
            // The scan's own chunks.
            let mut line = 1;
            for &(start, end) in &self.ledgers[file].bounds {
                line += dedupe::block_keys(fmt, &map[start..end], line, &mut out);
                input::release_pages(map, start, end);
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

/// Turns each run of consecutive chunk units into units of two chunks of two different files,
/// so that one unit feeds both files' SHA-256 at once ([`Ledger::begin_pair`]).
///
/// The run's files are dealt into two lanes in file order, each file to the lane with fewer
/// bytes so far, and the lanes are zipped: unit k holds the k-th chunk of each lane. Each
/// file's chunks stay in order within its lane, so a chunk's earlier chunks are in earlier
/// units (their line counts and hash come first). What is left of the longer lane stays
/// single chunks. The pairing depends only on the files, not on the thread count, so the
/// outputs' order (chunks of two files interleaved) is the same in every run.
fn pair_chunks(units: Vec<Unit>, ledgers: &[Ledger]) -> Vec<Unit> {
    let mut out = Vec::with_capacity(units.len());
    let mut run: Vec<(usize, usize)> = Vec::new();
    let flush = |run: &mut Vec<(usize, usize)>, out: &mut Vec<Unit>| {
        let mut lanes: [Vec<(usize, usize)>; 2] = [Vec::new(), Vec::new()];
        let mut bytes = [0usize; 2];
        let mut k = 0;
        while k < run.len() {
            let file = run[k].0;
            let n = run[k..].iter().take_while(|c| c.0 == file).count();
            let lane = usize::from(bytes[1] < bytes[0]);
            bytes[lane] += ledgers[file].bounds.last().map_or(0, |b| b.1);
            lanes[lane].extend_from_slice(&run[k..k + n]);
            k += n;
        }
        let [l0, l1] = lanes;
        let paired = l0.len().min(l1.len());
        for (&a, &b) in l0.iter().zip(&l1) {
            out.push(Unit::Pair { a, b });
        }
        for &(file, index) in l0[paired..].iter().chain(&l1[paired..]) {
            out.push(Unit::Chunk { file, index });
        }
        run.clear();
    };
    for u in units {
        match u {
            Unit::Chunk { file, index } => run.push((file, index)),
            other => {
                flush(&mut run, &mut out);
                out.push(other);
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// One file's plan.
struct PlannedFile {
    map: Option<memmap2::Mmap>,
    format: Option<FileFormat>,
    /// The byte range of each chunk (see [`Ledger`]).
    bounds: Vec<(usize, usize)>,
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
        bounds: Vec::new(),
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
    // Sniffing and finding the boundaries touched a page per chunk, and the kernel may map a
    // whole large folio of the page cache (up to megabytes) per touch: hand them all back, so
    // that only the chunks in flight stay resident.
    input::release_pages(&map, 0, map.len());
    let units = (0..bounds.len())
        .map(|index| Unit::Chunk { file: i, index })
        .collect();
    PlannedFile {
        map: Some(map),
        format: Some(format),
        bounds,
        units,
    }
}

/// The chunks of one mapped file as its chunk units work through them: each chunk's newline
/// count, from which the later chunks learn the line they start at, and the file's SHA-256,
/// carried forward chunk by chunk in file order.
///
/// A chunk unit begins with [`Ledger::begin`]: it reads its chunk once, counting newlines and,
/// when every earlier chunk is hashed, feeding the hash in the same pass (the pages are then
/// in the core's cache, and the parse finds them mapped). It then waits until every earlier
/// chunk has published its count: units are claimed in order, so each of those is already
/// running, and counting is the first thing it does, so no wait lasts long or forever. A
/// chunk begun while an earlier one is still being hashed is hashed by the unit holding the
/// hash, right after. A chunk's pages go back to the page cache once it is both hashed and
/// parsed, so only the chunks in flight stay resident and the file is read once.
///
/// A unit that panics gives up its count through its [`Ticket`]'s drop (later chunks then
/// count their lines themselves) and still lets the hash pass its chunk;
/// [`Plan::unfinished_hashes`] completes a hash no unit finished.
struct Ledger {
    bounds: Vec<(usize, usize)>,
    state: Mutex<LedgerState>,
    ready: Condvar,
}

struct LedgerState {
    /// Newlines in chunk 0, 1, ... once counted.
    newlines: Vec<Option<u64>>,
    gave_up: bool,
    /// Chunks whose unit has begun (the hash may read them).
    begun: Vec<bool>,
    parsed: Vec<bool>,
    /// The next chunk to hash; all before it are hashed.
    next_hash: usize,
    /// `None` while a unit is hashing, or once the hash is finished.
    hasher: Option<Sha256State>,
    finished: bool,
}

/// Bytes hashed and counted at a time: small enough to stay in the core's cache between the
/// two.
const PIECE_BYTES: usize = 256 << 10;

impl Ledger {
    fn new(bounds: Vec<(usize, usize)>) -> Ledger {
        let n = bounds.len();
        Ledger {
            bounds,
            state: Mutex::new(LedgerState {
                newlines: vec![None; n],
                gave_up: false,
                begun: vec![false; n],
                parsed: vec![false; n],
                next_hash: 0,
                hasher: Some(Sha256State::new()),
                finished: false,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LedgerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Begins chunk `index` of `map`: counts its newlines (hashing it in the same pass when
    /// its turn has come) and publishes the count. `done(start, end)` is called for each
    /// chunk that is now both hashed and parsed. Returns the ticket, and the hex SHA-256 of
    /// the file if this call finished it.
    fn begin(
        &self,
        index: usize,
        map: &[u8],
        mut done: impl FnMut(usize, usize),
    ) -> (Ticket<'_>, Option<String>) {
        let (ticket, mut hasher) = self.start(index);
        let mut newlines = 0u64;
        feed_pair(
            hasher.as_mut(),
            self.chunk(index, map),
            None,
            &[],
            |piece, _| {
                newlines += bytecount::count(piece, b'\n') as u64;
            },
        );
        let ticket = self.publish(ticket, newlines, hasher);
        let hex = self.carry_hash(map, &mut done);
        (ticket, hex)
    }

    /// Begins two chunks of two files at once, as [`Ledger::begin`] does each, but when both
    /// hashes are due they are fed together ([`sha256x2::update_pair`], nearly twice the
    /// rate of one after the other), and so are the two files' carries.
    #[allow(clippy::type_complexity)]
    fn begin_pair<'l>(
        (la, ia, map_a): (&'l Ledger, usize, &[u8]),
        (lb, ib, map_b): (&'l Ledger, usize, &[u8]),
        mut done_a: impl FnMut(usize, usize),
        mut done_b: impl FnMut(usize, usize),
    ) -> ((Ticket<'l>, Option<String>), (Ticket<'l>, Option<String>)) {
        let (ta, mut ha) = la.start(ia);
        let (tb, mut hb) = lb.start(ib);
        let (ca, cb) = (la.chunk(ia, map_a), lb.chunk(ib, map_b));
        let (mut na, mut nb) = (0u64, 0u64);
        feed_pair(ha.as_mut(), ca, hb.as_mut(), cb, |a, b| {
            na += bytecount::count(a, b'\n') as u64;
            nb += bytecount::count(b, b'\n') as u64;
        });
        let ta = la.publish(ta, na, ha);
        let tb = lb.publish(tb, nb, hb);
        let (hex_a, hex_b) = Ledger::carry_pair((la, map_a, &mut done_a), (lb, map_b, &mut done_b));
        ((ta, hex_a), (tb, hex_b))
    }

    /// [`Ledger::carry_hash`] for two files at once: while both have a begun chunk next in
    /// line (and no other unit holds their hash), the two are hashed together.
    fn carry_pair(
        (la, map_a, done_a): (&Ledger, &[u8], &mut impl FnMut(usize, usize)),
        (lb, map_b, done_b): (&Ledger, &[u8], &mut impl FnMut(usize, usize)),
    ) -> (Option<String>, Option<String>) {
        let mut hex_a = la.finish_if_done();
        let mut hex_b = lb.finish_if_done();
        loop {
            let (mut ta, mut tb) = (la.take_next(), lb.take_next());
            if ta.is_none() && tb.is_none() {
                return (hex_a, hex_b);
            }
            let ca = ta.as_ref().map_or(&[][..], |t| la.chunk(t.1, map_a));
            let cb = tb.as_ref().map_or(&[][..], |t| lb.chunk(t.1, map_b));
            feed_pair(
                ta.as_mut().map(|t| &mut t.0),
                ca,
                tb.as_mut().map(|t| &mut t.0),
                cb,
                |_, _| {},
            );
            if let Some((h, k)) = ta {
                hex_a = hex_a.or(la.put_back(h, k, done_a));
            }
            if let Some((h, k)) = tb {
                hex_b = hex_b.or(lb.put_back(h, k, done_b));
            }
        }
    }

    /// Chunk `index` of `map`.
    fn chunk<'m>(&self, index: usize, map: &'m [u8]) -> &'m [u8] {
        let (start, end) = self.bounds[index];
        &map[start..end]
    }

    /// Marks chunk `index` begun; the hasher too if its turn has come (the caller feeds the
    /// chunk to it and hands it back to [`Ledger::publish`]).
    fn start(&self, index: usize) -> (Ticket<'_>, Option<Sha256State>) {
        let ticket = Ticket {
            ledger: self,
            index,
            counted: false,
            parsed: false,
        };
        let mut s = self.lock();
        s.begun[index] = true;
        let hasher = if s.next_hash == index {
            s.hasher.take()
        } else {
            None
        };
        (ticket, hasher)
    }

    /// Publishes a begun chunk's newline count and hands back the hasher (which has read the
    /// chunk); the caller then carries the hash on.
    fn publish<'l>(
        &'l self,
        mut ticket: Ticket<'l>,
        newlines: u64,
        hasher: Option<Sha256State>,
    ) -> Ticket<'l> {
        let mut s = self.lock();
        if let Some(h) = hasher {
            s.next_hash += 1;
            s.hasher = Some(h);
        }
        s.newlines[ticket.index] = Some(newlines);
        ticket.counted = true;
        self.ready.notify_all();
        ticket
    }

    /// Hashes every begun chunk next in file order, unless another unit holds the hash (it
    /// will see them). The hex digest when this finished the file.
    fn carry_hash(&self, map: &[u8], done: &mut impl FnMut(usize, usize)) -> Option<String> {
        if let Some(hex) = self.finish_if_done() {
            return Some(hex);
        }
        while let Some((mut h, k)) = self.take_next() {
            h.update(self.chunk(k, map));
            if let Some(hex) = self.put_back(h, k, done) {
                return Some(hex);
            }
        }
        None
    }

    /// The digest, if every chunk is hashed and no unit has reported it yet.
    fn finish_if_done(&self) -> Option<String> {
        let mut s = self.lock();
        if s.next_hash == self.bounds.len() && !s.finished {
            let h = s.hasher.take()?;
            s.finished = true;
            return Some(input::hex(&h.finalize()));
        }
        None
    }

    /// Takes the hasher and the index of the next chunk to hash, if that chunk is begun and
    /// no other unit holds the hasher.
    fn take_next(&self) -> Option<(Sha256State, usize)> {
        let mut s = self.lock();
        let k = s.next_hash;
        if k < self.bounds.len() && s.begun[k] {
            return s.hasher.take().map(|h| (h, k));
        }
        None
    }

    /// Hands back the hasher after it read chunk `k` (from [`Ledger::take_next`]); `done` as
    /// for [`Ledger::begin`]. The hex digest when that was the last chunk.
    fn put_back(
        &self,
        h: Sha256State,
        k: usize,
        done: &mut impl FnMut(usize, usize),
    ) -> Option<String> {
        let mut s = self.lock();
        s.next_hash = k + 1;
        if s.parsed[k] {
            let (start, end) = self.bounds[k];
            done(start, end);
        }
        if s.next_hash == self.bounds.len() {
            s.finished = true;
            return Some(input::hex(&h.finalize()));
        }
        s.hasher = Some(h);
        None
    }

    /// Hashes whatever is left (chunks a panicking unit never let through), once every unit
    /// has run. `None` if the units finished the hash.
    fn finish(&self, map: &[u8]) -> Option<String> {
        let mut s = self.lock();
        if s.finished {
            return None;
        }
        let mut hasher = s.hasher.take()?;
        let from = self.bounds.get(s.next_hash).map_or(map.len(), |b| b.0);
        hasher.update(&map[from..]);
        s.finished = true;
        Some(input::hex(&hasher.finalize()))
    }
}

/// Feeds `ca` to `ha` and `cb` to `hb` (a side without a hasher is only walked) in pieces of
/// [`PIECE_BYTES`], the two hashes together while both sides have pieces; `each(a, b)` then
/// sees the same pieces (an empty one once a side has run out), while they are in the cache.
fn feed_pair(
    mut ha: Option<&mut Sha256State>,
    ca: &[u8],
    mut hb: Option<&mut Sha256State>,
    cb: &[u8],
    mut each: impl FnMut(&[u8], &[u8]),
) {
    let mut pa = ca.chunks(PIECE_BYTES);
    let mut pb = cb.chunks(PIECE_BYTES);
    loop {
        let (a, b) = match (pa.next(), pb.next()) {
            (None, None) => return,
            (a, b) => (a.unwrap_or(&[]), b.unwrap_or(&[])),
        };
        match (ha.as_deref_mut(), hb.as_deref_mut()) {
            (Some(x), Some(y)) => sha256x2::update_pair(x, a, y, b),
            (Some(x), None) => x.update(a),
            (None, Some(y)) => y.update(b),
            (None, None) => {}
        }
        each(a, b);
    }
}

/// One chunk unit's part in its file's [`Ledger`].
struct Ticket<'a> {
    ledger: &'a Ledger,
    index: usize,
    counted: bool,
    parsed: bool,
}

impl Ticket<'_> {
    /// The line the chunk starts at, once every earlier chunk has published its count; `None`
    /// if one of them gave up (the caller counts from the file's start).
    fn first_line(&self) -> Option<u64> {
        let mut s = self.ledger.lock();
        loop {
            let before = &s.newlines[..self.index];
            if let Some(n) = before.iter().try_fold(1u64, |acc, c| c.map(|c| acc + c)) {
                return Some(n);
            }
            if s.gave_up {
                return None;
            }
            s = self.ledger.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Marks the chunk parsed and carries the hash forward over begun chunks. `done` as for
    /// [`Ledger::begin`]. The hex SHA-256 of the file when this call finished it.
    fn parsed(mut self, map: &[u8], mut done: impl FnMut(usize, usize)) -> Option<String> {
        self.parsed = true;
        let mut s = self.ledger.lock();
        s.parsed[self.index] = true;
        if s.next_hash > self.index {
            let (start, end) = self.ledger.bounds[self.index];
            done(start, end);
        }
        drop(s);
        self.ledger.carry_hash(map, &mut done)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut s = self.ledger.lock();
        // A panicking unit: later chunks count for themselves, and the hash may pass this
        // chunk (the unit that takes it next reports it).
        s.begun[self.index] = true;
        if !self.counted {
            s.gave_up = true;
            self.ledger.ready.notify_all();
        }
        if !self.parsed {
            s.parsed[self.index] = true;
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
            Unit::Pair { a, .. } => a.0,
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

    thread_local! {
        /// Makes [`Plan::parse`] panic on this file (on this thread).
        pub static PANIC_IN_FILE: std::cell::Cell<Option<usize>> =
            const { std::cell::Cell::new(None) };
    }

    /// A pair unit whose first chunk panics while parsing reports the panic for that file
    /// only: the other file's chunk is still parsed, and both files' hashes are reported.
    #[test]
    fn a_panic_in_one_chunk_of_a_pair_does_not_cost_the_other_file_its_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let line = "20260301 12:00:00,ip-10-0-0-1,admin,10.0.0.5,7,9,QUERY,db,'SELECT 1',0\n";
        for name in ["a.log", "b.log"] {
            std::fs::write(dir.path().join(name), line.repeat(3)).unwrap();
        }
        let (files, _) = input::discover(&[dir.path().to_path_buf()]);
        let plan = Plan::new(&files, FormatChoice::Auto, Clock::default(), CHUNK_BYTES);
        let pair = (0..plan.len())
            .find(|&u| matches!(plan.units[u], Unit::Pair { .. }))
            .expect("two small logs make one pair");
        let config = crate::pass::AnalysisConfig::default();
        let duplicates = dedupe::Duplicates::none();
        let settings = ChunkSettings {
            since_us: None,
            until_us: None,
            encoder: None,
            config: &config,
            analysis: false,
            duplicates: &duplicates,
        };
        let mut errors = Vec::new();
        let mut records = vec![0; 2];
        let mut hashes = Vec::new();
        PANIC_IN_FILE.with(|f| f.set(Some(0)));
        plan.run(pair, &settings, &mut |out| match out {
            UnitOutput::Chunk(c) => records[c.file] += c.stats.records,
            UnitOutput::File { file, note } => match note {
                FileNote::Error(m) => errors.push((file, m)),
                FileNote::Sha256 { hex, .. } => hashes.push((file, hex)),
                _ => {}
            },
        });
        PANIC_IN_FILE.with(|f| f.set(None));
        assert_eq!(records, vec![0, 3]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 0);
        assert!(
            errors[0].1.contains("internal error: a test panic"),
            "{errors:?}"
        );
        hashes.sort();
        let sum = input::sha256_hex(line.repeat(3).as_bytes());
        assert_eq!(hashes, vec![(0, sum.clone()), (1, sum)]);
    }

    /// A number in `lo..hi`.
    fn below(rng: &mut rand_chacha::ChaCha8Rng, lo: usize, hi: usize) -> usize {
        lo + (rng.next_u64() % (hi - lo) as u64) as usize
    }

    /// The first line of a chunk starting at `start`, by definition.
    fn first_line(text: &[u8], start: usize) -> u64 {
        1 + text[..start].iter().filter(|&&b| b == b'\n').count() as u64
    }

    /// Random text cut into random chunks.
    fn random_chunks(rng: &mut rand_chacha::ChaCha8Rng) -> (Vec<u8>, Vec<(usize, usize)>) {
        let len = below(rng, 1, 3_000);
        let text: Vec<u8> = (0..len)
            .map(|_| if below(rng, 0, 5) == 0 { b'\n' } else { b'x' })
            .collect();
        let mut cuts: Vec<usize> = (0..below(rng, 0, 8)).map(|_| below(rng, 1, len)).collect();
        cuts.push(0);
        cuts.push(len);
        cuts.sort();
        cuts.dedup();
        let bounds = cuts.windows(2).map(|w| (w[0], w[1])).collect();
        (text, bounds)
    }

    /// Chunks claimed in order by several threads, each begun, then parsed after a random
    /// delay: every chunk learns the line a count from the file's start gives, the hash is
    /// the SHA-256 of the whole file and is reported exactly once, and each chunk's pages
    /// are handed back exactly once, after it is both hashed and parsed.
    #[test]
    fn chunks_in_any_interleaving_get_exact_lines_and_the_file_hash() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for round in 0..100 {
            let (text, bounds) = random_chunks(&mut rng);
            let ledger = Ledger::new(bounds.clone());
            let next = AtomicUsize::new(0);
            let hexes = Mutex::new(Vec::new());
            let released = Mutex::new(Vec::new());
            std::thread::scope(|scope| {
                for t in 0..1 + round % 3 {
                    let (ledger, next, hexes, released, text, bounds) =
                        (&ledger, &next, &hexes, &released, &text, &bounds);
                    scope.spawn(move || {
                        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(round * 7 + t);
                        loop {
                            let k = next.fetch_add(1, Ordering::SeqCst);
                            if k >= bounds.len() {
                                return;
                            }
                            let done = |s, e| released.lock().unwrap().push((s, e));
                            let (ticket, hex) = ledger.begin(k, text, done);
                            hexes.lock().unwrap().extend(hex);
                            assert_eq!(ticket.first_line(), Some(first_line(text, bounds[k].0)));
                            std::thread::sleep(std::time::Duration::from_micros(below(
                                &mut rng, 0, 300,
                            )
                                as u64));
                            hexes.lock().unwrap().extend(ticket.parsed(text, done));
                        }
                    });
                }
            });
            assert_eq!(*hexes.lock().unwrap(), vec![input::sha256_hex(&text)]);
            let mut released = released.into_inner().unwrap();
            released.sort();
            assert_eq!(released, bounds);
            assert!(
                ledger.finish(&text).is_none(),
                "the units finished the hash"
            );
        }
    }

    /// Several files' chunks, paired by [`pair_chunks`] and run by 1–3 threads as the plan
    /// runs them (a pair begun together, then parsed one after the other after random
    /// delays): every chunk appears once, each file's chunks stay in order, the two chunks of
    /// a pair are of different files, and every chunk gets its exact first line, every file
    /// its SHA-256 once, every chunk's pages handed back once.
    #[test]
    fn paired_chunks_of_several_files_get_exact_lines_and_hashes() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for round in 0..100 {
            let files: Vec<_> = (0..below(&mut rng, 1, 5))
                .map(|_| random_chunks(&mut rng))
                .collect();
            let ledgers: Vec<Ledger> = files.iter().map(|f| Ledger::new(f.1.clone())).collect();
            let units = pair_chunks(
                files
                    .iter()
                    .enumerate()
                    .flat_map(|(file, f)| {
                        (0..f.1.len()).map(move |index| Unit::Chunk { file, index })
                    })
                    .collect(),
                &ledgers,
            );
            // Every chunk once, in file order within its file, a pair never within one file.
            let mut seen: Vec<Vec<usize>> = vec![Vec::new(); files.len()];
            for u in &units {
                match u {
                    Unit::Chunk { file, index } => seen[*file].push(*index),
                    Unit::Pair { a, b } => {
                        assert_ne!(a.0, b.0, "round {round}");
                        seen[a.0].push(a.1);
                        seen[b.0].push(b.1);
                    }
                    _ => unreachable!(),
                }
            }
            for (f, s) in files.iter().zip(&seen) {
                assert_eq!(*s, (0..f.1.len()).collect::<Vec<_>>(), "round {round}");
            }
            if files.len() > 1 {
                assert!(units.iter().any(|u| matches!(u, Unit::Pair { .. })));
            }
            let next = AtomicUsize::new(0);
            let hexes = Mutex::new(Vec::new());
            let released = Mutex::new(vec![Vec::new(); files.len()]);
            std::thread::scope(|scope| {
                for t in 0..1 + round % 3 {
                    let (ledgers, next, hexes, released, files, units) =
                        (&ledgers, &next, &hexes, &released, &files, &units);
                    scope.spawn(move || {
                        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(round * 5 + t);
                        let mut parse = |file: usize, ticket: Ticket<'_>| {
                            let (text, bounds) = &files[file];
                            let start = bounds[ticket.index].0;
                            assert_eq!(ticket.first_line(), Some(first_line(text, start)));
                            let pause = below(&mut rng, 0, 300) as u64;
                            std::thread::sleep(std::time::Duration::from_micros(pause));
                            let done = |s, e| released.lock().unwrap()[file].push((s, e));
                            let hex = ticket.parsed(text, done);
                            hexes.lock().unwrap().extend(hex.map(|h| (file, h)));
                        };
                        loop {
                            let k = next.fetch_add(1, Ordering::SeqCst);
                            let Some(unit) = units.get(k) else {
                                return;
                            };
                            let (a, b) = match *unit {
                                Unit::Pair { a, b } => (a, Some(b)),
                                Unit::Chunk { file, index } => ((file, index), None),
                                _ => unreachable!(),
                            };
                            let done = |file: usize| {
                                move |s, e| released.lock().unwrap()[file].push((s, e))
                            };
                            match b {
                                Some(b) => {
                                    let ((ta, ha), (tb, hb)) = Ledger::begin_pair(
                                        (&ledgers[a.0], a.1, &files[a.0].0),
                                        (&ledgers[b.0], b.1, &files[b.0].0),
                                        done(a.0),
                                        done(b.0),
                                    );
                                    let mut h = hexes.lock().unwrap();
                                    h.extend(ha.map(|x| (a.0, x)));
                                    h.extend(hb.map(|x| (b.0, x)));
                                    drop(h);
                                    parse(a.0, ta);
                                    parse(b.0, tb);
                                }
                                None => {
                                    let (ta, ha) =
                                        ledgers[a.0].begin(a.1, &files[a.0].0, done(a.0));
                                    hexes.lock().unwrap().extend(ha.map(|x| (a.0, x)));
                                    parse(a.0, ta);
                                }
                            }
                        }
                    });
                }
            });
            let mut hexes = hexes.into_inner().unwrap();
            hexes.sort();
            let want: Vec<(usize, String)> = files
                .iter()
                .enumerate()
                .map(|(i, f)| (i, input::sha256_hex(&f.0)))
                .collect();
            assert_eq!(hexes, want, "round {round}");
            for (mut r, f) in released.into_inner().unwrap().into_iter().zip(&files) {
                r.sort();
                assert_eq!(r, f.1, "round {round}");
            }
        }
    }

    /// A unit that panics while parsing (its ticket dropped unparsed) does not stop the
    /// hash: a later chunk carries it past, or, when no later chunk comes, `finish` does.
    #[test]
    fn a_chunk_dropped_while_parsing_does_not_stop_the_hash() {
        let text = b"a\nb\nc\nd\ne\nf\n".to_vec();
        let bounds = vec![(0, 4), (4, 8), (8, 12)];
        let whole = input::sha256_hex(&text);

        // Chunk 1 dropped after chunk 0 parsed; chunk 2 finishes the hash.
        let ledger = Ledger::new(bounds.clone());
        let (t0, _) = ledger.begin(0, &text, |_, _| {});
        assert_eq!(t0.parsed(&text, |_, _| {}), None);
        let (t1, _) = ledger.begin(1, &text, |_, _| {});
        assert_eq!(t1.first_line(), Some(3));
        drop(t1);
        let (t2, hex) = ledger.begin(2, &text, |_, _| {});
        assert_eq!(hex, Some(whole.clone()));
        assert_eq!(t2.first_line(), Some(5));
        assert_eq!(t2.parsed(&text, |_, _| {}), None);
        assert_eq!(ledger.finish(&text), None);

        // The last chunk never begun (its unit failed before): `finish` hashes the rest.
        let ledger = Ledger::new(bounds);
        let (t0, _) = ledger.begin(0, &text, |_, _| {});
        let (t1, _) = ledger.begin(1, &text, |_, _| {});
        drop(t0);
        drop(t1);
        assert_eq!(ledger.finish(&text), Some(whole));
        assert_eq!(ledger.finish(&text), None);
    }
}
