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

//!
//! The parts: [`ledger`] (line counts and the SHA-256 of a mapped file's chunks), [`pair`]
//! (two files' chunks in one unit, hashed together), [`stream`] (compressed files),
//! [`dedupe_read`] (the de-duplication pre-read); this file dispatches units and plans files.

mod dedupe_read;
mod ledger;
mod pair;
mod source;
mod stream;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use rayon::prelude::*;

use crate::format::Clock;
use crate::format::{self, cloudwatch_json, window, Family, FileFormat, FormatChoice};
use crate::input::{self, InputFile, MappedFile, Opened};
use crate::scan::{process_chunk_from, ChunkOutput, ChunkSettings, FileNote, UnitOutput};

use ledger::{Ledger, Ticket};
use pair::pair_chunks;
use source::Source;

/// Largest chunk: 4 MiB is 17,000 to 30,000 audit lines. A chunk's events of one day are a
/// piece of a Parquet row group; the writer joins the pieces of consecutive chunks into row
/// groups of up to a million rows, so the chunk size trades cache reuse (a chunk is read once
/// to hash and count it, then again to parse it; at 4 MiB a chunk per core still sits in the
/// shared cache for the second read) and memory (each chunk in flight holds its column
/// builders) against per-chunk overhead. On the 1 GiB corpus 4 MiB runs about 3 % faster
/// than 16 MiB and 8 MiB, at 120 MiB peak instead of 200 and 140.
pub(crate) const CHUNK_BYTES: usize = 4 << 20;
/// Largest block of a compressed stream. Smaller than a mapped file's chunk: one thread
/// inflates while another parses, and small blocks let the two overlap from the first
/// megabytes and keep the tail short (and the buffers in reuse).
pub(crate) const STREAM_BLOCK_BYTES: usize = 4 << 20;
/// How much of a file is looked at to recognise its format.
const SNIFF_BYTES: usize = 64 << 10;

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
    /// One or two mapped logs wholly outside the time window: hashed (two at once) and their
    /// lines counted, nothing parsed. A unit of its own rather than chunks, so two threads
    /// hash four files at once (a run of chunk units hashes two, on one core at a time).
    Outside {
        a: usize,
        b: Option<usize>,
    },
    /// A mapped CloudTrail file, read whole (see [`crate::format::cloudtrail`]).
    Trail {
        file: usize,
        shape: format::cloudtrail::Shape,
    },
}

pub(crate) struct Plan<'f> {
    files: &'f [InputFile],
    /// Plain files (logs and files only hashed), mapped while their units read them.
    sources: Vec<Option<Source>>,
    formats: Vec<Option<FileFormat>>,
    ledgers: Vec<Ledger>,
    /// Per mapped CloudWatch JSON file, where each chunk starts (empty for other files).
    json_starts: Vec<Vec<cloudwatch_json::ChunkStart>>,
    /// Files read as compressed streams.
    streams: Vec<bool>,
    units: Vec<Unit>,
    /// Per mapped log, the part that may hold events of the time window
    /// ([`window::span`]; the whole file without a window).
    spans: Vec<window::Span>,
    choice: FormatChoice,
    clock: Clock,
    chunk_bytes: usize,
}

/// The time window of a scan (`--since`, `--until`), in epoch microseconds.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Window {
    pub since_us: Option<i64>,
    pub until_us: Option<i64>,
}

impl<'f> Plan<'f> {
    /// Opens and sniffs every file, and chunks the plain ones. No file stays open: each is
    /// opened again by the first of its units to run.
    /// `chunk_bytes` is [`CHUNK_BYTES`] unless a test wants many small chunks. With a time
    /// window, each time-ordered mapped log is searched for the part that may hold its events
    /// ([`window::span`]); its chunks outside it are only hashed and counted.
    pub fn new(
        files: &'f [InputFile],
        choice: FormatChoice,
        clock: Clock,
        chunk_bytes: usize,
        time_window: Window,
    ) -> Plan<'f> {
        let mut plan = Plan {
            files,
            sources: Vec::with_capacity(files.len()),
            formats: Vec::with_capacity(files.len()),
            ledgers: Vec::with_capacity(files.len()),
            json_starts: Vec::with_capacity(files.len()),
            streams: Vec::with_capacity(files.len()),
            spans: Vec::with_capacity(files.len()),
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
            .map(|(i, f)| plan_file(i, f, choice, clock, chunk_bytes.max(1), time_window))
            .collect();
        let outside: Vec<bool> = planned.iter().map(|p| p.outside).collect();
        for planned in planned {
            plan.sources.push(planned.source);
            plan.formats.push(planned.format);
            plan.ledgers.push(Ledger::new(planned.bounds));
            plan.json_starts.push(planned.json_starts);
            plan.spans.push(planned.span);
            plan.streams.push(
                planned
                    .units
                    .iter()
                    .any(|u| matches!(u, Unit::Stream { .. })),
            );
            plan.units.extend(planned.units);
        }
        plan.units = pair_chunks(std::mem::take(&mut plan.units), &plan.ledgers);
        if outside.iter().any(|&o| o) {
            plan.units = outside_first(std::mem::take(&mut plan.units), &outside);
        }
        plan
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// The SHA-256 notes of mapped files whose hash no unit finished (a chunk unit panicked
    /// before marking its chunk and no later chunk of the file came after it), and the change
    /// notes of files whose last unit did not finish. Call once the run is over; empty after
    /// a normal run.
    pub(crate) fn unfinished_hashes(&self) -> Vec<UnitOutput> {
        let mut out = Vec::new();
        for (file, (ledger, source)) in self.ledgers.iter().zip(&self.sources).enumerate() {
            let Some(source) = source else { continue };
            if source.finished() {
                continue;
            }
            if !ledger.bounds.is_empty() {
                if let Ok(m) = source.open(&self.files[file].path) {
                    if let Some(hex) = ledger.finish(&m.map) {
                        out.push(UnitOutput::File {
                            file,
                            note: FileNote::Sha256 {
                                hex,
                                bytes: source.planned.len,
                            },
                        });
                    }
                }
            }
            if let Some(reason) = source.finish() {
                out.push(UnitOutput::File {
                    file,
                    note: FileNote::Changed(reason),
                });
            }
        }
        out
    }

    /// Runs unit `u`, emitting its outputs in order.
    pub fn run(&self, u: usize, settings: &ChunkSettings<'_>, emit: &mut dyn FnMut(UnitOutput)) {
        match &self.units[u] {
            Unit::Report { file, note } => emit(UnitOutput::File {
                file: *file,
                note: note.clone(),
            }),
            Unit::Hash { file } => self.run_hash(*file, emit),
            Unit::Chunk { file, index } => {
                if let Some(m) = self.open(*file, emit) {
                    self.run_chunk(*file, *index, &m, settings, emit);
                }
            }
            Unit::Pair { a, b } => {
                let (ma, mb) = (self.open(a.0, emit), self.open(b.0, emit));
                let (ma, mb) = match (ma, mb) {
                    (Some(ma), Some(mb)) => (ma, mb),
                    (Some(m), None) => return self.run_chunk(a.0, a.1, &m, settings, emit),
                    (None, Some(m)) => return self.run_chunk(b.0, b.1, &m, settings, emit),
                    (None, None) => return,
                };
                let (map_a, map_b) = (&ma.map, &mb.map);
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
                for (file, ticket, m) in [(a.0, ta, &ma), (b.0, tb, &mb)] {
                    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.parse(file, m, ticket, settings, emit)
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
            Unit::Outside { a, b } => self.run_outside(*a, *b, settings, emit),
            Unit::Trail { file, shape } => self.run_trail(*file, *shape, settings, emit),
        }
    }

    /// Whether some file may be CloudTrail: a mapped file sniffed as one, or a compressed
    /// file (sniffed only when its unit runs) whose name could be a trail's: `CloudTrail` or
    /// `.json` in it, or no extension (Firehose objects). Compressed audit logs
    /// (`server_audit.log.1.gz`, CloudWatch exports' `000000.gz`) leave the joins' login
    /// table off.
    pub(crate) fn may_hold_trail(&self) -> bool {
        let trail_like = |f: &InputFile| {
            let name = f
                .path
                .file_name()
                .map(|n| n.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            let stem = name
                .strip_suffix(".gz")
                .or_else(|| name.strip_suffix(".zst"))
                .unwrap_or(&name);
            name.contains("cloudtrail") || name.contains(".json") || !stem.contains('.')
        };
        self.units.iter().any(|u| matches!(u, Unit::Trail { .. }))
            || self
                .streams
                .iter()
                .zip(self.files)
                .any(|(&s, f)| s && trail_like(f))
    }

    /// A mapped CloudTrail file: hashed with positioned reads, then parsed whole from the map
    /// (a trail object is one JSON document, so it is not cut into chunks).
    fn run_trail(
        &self,
        file: usize,
        shape: format::cloudtrail::Shape,
        settings: &ChunkSettings<'_>,
        emit: &mut dyn FnMut(UnitOutput),
    ) {
        let source = self.source(file);
        if let Ok(m) = source.open(&self.files[file].path) {
            let len = (source.planned.len as usize).min(m.map.len());
            emit(UnitOutput::File {
                file,
                note: FileNote::Format {
                    format: shape.name().to_string(),
                    compression: input::Compression::None,
                },
            });
            let hex = input::sha256_hex_with(&m.map[..len], |_, _| {});
            emit(UnitOutput::File {
                file,
                note: FileNote::Sha256 {
                    hex,
                    bytes: source.planned.len,
                },
            });
            let out = crate::scan::read_trail(settings, file, &m.map[..len]);
            input::release_pages(&m.map, 0, len);
            emit(UnitOutput::Control(Box::new(out)));
        }
        if let Some(reason) = source.finish() {
            emit(UnitOutput::File {
                file,
                note: FileNote::Changed(reason),
            });
        }
    }

    /// Files wholly outside the time window: each hashed whole (two in one pass), its lines
    /// counted as `filtered`, its bytes as only hashed.
    fn run_outside(
        &self,
        a: usize,
        b: Option<usize>,
        settings: &ChunkSettings<'_>,
        emit: &mut dyn FnMut(UnitOutput),
    ) {
        let open = |f: usize| {
            let source = self.source(f);
            source.open(&self.files[f].path).ok().map(|m| {
                let len = (source.planned.len as usize).min(m.map.len());
                (f, m, len)
            })
        };
        let files: Vec<(usize, Arc<MappedFile>, usize)> = [Some(a), b]
            .into_iter()
            .flatten()
            .filter_map(open)
            .collect();
        let mut states = [
            input::sha256x2::Sha256State::new(),
            input::sha256x2::Sha256State::new(),
        ];
        let mut newlines = [0u64; 2];
        let piece = ledger::PIECE_BYTES;
        let longest = files.iter().map(|f| f.2).max().unwrap_or(0);
        let mut at = 0;
        while at < longest {
            let part = |k: usize| {
                files.get(k).map_or(&[][..], |(_, m, len)| {
                    &m.map[at.min(*len)..(at + piece).min(*len)]
                })
            };
            let (pa, pb) = (part(0), part(1));
            let [sa, sb] = &mut states;
            input::sha256x2::update_pair(sa, pa, sb, pb);
            newlines[0] += bytecount::count(pa, b'\n') as u64;
            newlines[1] += bytecount::count(pb, b'\n') as u64;
            for (_, m, len) in &files {
                input::release_pages(&m.map, at.min(*len), (at + piece).min(*len));
            }
            at += piece;
        }
        for ((file, m, len), (state, n)) in files.iter().zip(states.into_iter().zip(newlines)) {
            let hex = input::hex(&state.finalize());
            emit(UnitOutput::File {
                file: *file,
                note: FileNote::Sha256 {
                    hex,
                    bytes: self.source(*file).planned.len,
                },
            });
            let lines = n + u64::from(m.map[..*len].last().is_some_and(|&c| c != b'\n'));
            emit(UnitOutput::Chunk(Box::new(ChunkOutput::outside_window(
                settings,
                *file,
                lines,
                *len as u64,
            ))));
        }
        for f in [Some(a), b].into_iter().flatten() {
            if let Some(reason) = self.source(f).finish() {
                emit(UnitOutput::File {
                    file: f,
                    note: FileNote::Changed(reason),
                });
            }
        }
    }

    /// The planned plain file `file`.
    fn source(&self, file: usize) -> &Source {
        self.sources[file]
            .as_ref()
            .expect("a unit that reads a map belongs to a plain file")
    }

    /// The map of a plain file, opened now if none of its units has opened it yet. `None`
    /// when the path no longer leads to the planned file: this unit's chunk is then done (the
    /// reason is given with the file's last one).
    fn open(&self, file: usize, emit: &mut dyn FnMut(UnitOutput)) -> Option<Arc<MappedFile>> {
        match self.source(file).open(&self.files[file].path) {
            Ok(m) => Some(m),
            Err(_) => {
                self.settle(file, emit);
                None
            }
        }
    }

    /// One chunk of a mapped log: counted (and hashed, in its turn), then parsed.
    fn run_chunk(
        &self,
        file: usize,
        index: usize,
        m: &MappedFile,
        settings: &ChunkSettings<'_>,
        emit: &mut dyn FnMut(UnitOutput),
    ) {
        let map = &m.map;
        let release = |s, e| input::release_pages(map, s, e);
        let (ticket, hex) = self.ledgers[file].begin(index, map, release);
        self.hashed(file, hex, emit);
        self.parse(file, m, ticket, settings, emit);
    }

    /// The SHA-256 of a plain file that is not a log (a log's chunks hash it), read with
    /// positioned reads (cheaper than faulting the map in for one look at each byte); through
    /// the map if the file has become shorter (its missing part then reads as zeros).
    fn run_hash(&self, file: usize, emit: &mut dyn FnMut(UnitOutput)) {
        let source = self.source(file);
        if let Ok(m) = source.open(&self.files[file].path) {
            let len = source.planned.len;
            let mut h = <sha2::Sha256 as sha2::Digest>::new();
            let hex = match m.read_pieces(0, len, |piece| sha2::Digest::update(&mut h, piece)) {
                Ok(()) => input::hex(&sha2::Digest::finalize(h)),
                Err(_) => input::sha256_hex_with(&m.map, |s, e| input::release_pages(&m.map, s, e)),
            };
            emit(UnitOutput::File {
                file,
                note: FileNote::Sha256 { hex, bytes: len },
            });
        }
        if let Some(reason) = source.finish() {
            emit(UnitOutput::File {
                file,
                note: FileNote::Changed(reason),
            });
        }
    }

    /// Emits the SHA-256 note of `file` if a unit just finished its hash.
    fn hashed(&self, file: usize, hex: Option<String>, emit: &mut dyn FnMut(UnitOutput)) {
        if let Some(hex) = hex {
            emit(UnitOutput::File {
                file,
                note: FileNote::Sha256 {
                    hex,
                    bytes: self.source(file).planned.len,
                },
            });
            self.settle(file, emit);
        }
    }

    /// Counts a piece of `file`'s work done (a chunk parsed or its hash finished); after the
    /// last, its map is closed and the change note given if it changed while it was read.
    fn settle(&self, file: usize, emit: &mut dyn FnMut(UnitOutput)) {
        if let Some(reason) = self.source(file).settle() {
            emit(UnitOutput::File {
                file,
                note: FileNote::Changed(reason),
            });
        }
    }

    /// Parses a begun chunk of a mapped log (once every earlier chunk has counted its lines),
    /// emits its output, and marks it parsed.
    fn parse(
        &self,
        file: usize,
        m: &MappedFile,
        ticket: Ticket<'_>,
        settings: &ChunkSettings<'_>,
        emit: &mut dyn FnMut(UnitOutput),
    ) {
        let Some(fmt) = &self.formats[file] else {
            return;
        };
        let map = &m.map;
        #[cfg(test)]
        if tests::PANIC_IN_FILE.with(|f| f.get()) == Some(file) {
            panic!("a test panic while parsing file {file}");
        }
        let ledger = &self.ledgers[file];
        let index = ticket.index;
        let (start, end) = ledger.bounds[index];
        // A JSON delivery's chunk knows its first event from the planning walk.
        let json = self.json_starts[file].get(index);
        let last = index + 1 == ledger.bounds.len();
        let part = self.window_part(file, fmt, (start, end), settings);
        let out = {
            // Only waited for when something of the chunk is parsed.
            let first_line = || {
                json.map(|j| j.line).unwrap_or_else(|| {
                    ticket.first_line().unwrap_or_else(|| {
                        let n = 1 + bytecount::count(&map[..start], b'\n') as u64;
                        input::release_pages(map, 0, start);
                        n
                    })
                })
            };
            let json = json.map(|_| index);
            let lines = Lines {
                first: &first_line,
                // Read only for a chunk the window leaves out (no lock taken otherwise).
                newlines: (part != (start, end)).then(|| ticket.newlines()).flatten(),
            };
            self.read_chunk(
                file,
                m,
                fmt,
                (start, end),
                part,
                lines,
                last,
                json,
                settings,
            )
        };
        if let Some(out) = out {
            emit(UnitOutput::Chunk(Box::new(out)));
        }
        let hex = ticket.parsed(map, |s, e| input::release_pages(map, s, e));
        self.hashed(file, hex, emit);
        self.settle(file, emit);
    }

    /// The part of chunk `start..end` of `file` to parse: the whole chunk, or its
    /// intersection with the file's window span (empty when the chunk lies outside). A
    /// PostgreSQL chunk is parsed from its start when the window starts inside it (a record
    /// may inherit its session from an earlier one of the chunk).
    fn window_part(
        &self,
        file: usize,
        fmt: &FileFormat,
        (start, end): (usize, usize),
        settings: &ChunkSettings<'_>,
    ) -> (usize, usize) {
        if !crate::scan::may_skip(settings, file) {
            return (start, end);
        }
        let span = self.spans[file];
        let mut a = span.start.clamp(start, end);
        let b = span.end.clamp(a, end);
        if a > start && b > a && !window::cut_anywhere(fmt) {
            a = start;
        }
        (a, b)
    }

    /// Parses bytes `start..end` of a mapped log, or as much of them as the file still held
    /// throughout: the file is looked at (`fstat`, and the map's failed reads) before and
    /// after the parse. A chunk the file no longer holds in full is parsed again up to the
    /// last record end before the cut (what lies after it is discarded), as long as the file
    /// keeps shrinking under the parse, three times at most; `None` if nothing is left of it.
    /// Only `part` of the chunk is parsed (see [`Plan::window_part`]); the lines of the rest
    /// are counted as outside the time window.
    #[allow(clippy::too_many_arguments)]
    fn read_chunk(
        &self,
        file: usize,
        m: &MappedFile,
        fmt: &FileFormat,
        (start, end): (usize, usize),
        (a, b): (usize, usize),
        lines: Lines<'_>,
        last: bool,
        json: Option<usize>,
        settings: &ChunkSettings<'_>,
    ) -> Option<crate::scan::ChunkOutput> {
        let source = self.source(file);
        let map = &m.map;
        let mut upto = end;
        for _ in 0..3 {
            let cut = source.cut(m);
            if cut < upto as u64 {
                let cut = (cut as usize).max(start);
                upto = start + format::last_record_end(fmt, &map[start..cut]).unwrap_or(0);
                if upto <= start {
                    return None;
                }
            }
            let eof = last && upto == end;
            let (pa, pb) = (a.min(upto), b.min(upto));
            let out = if (pa, pb) == (start, upto) {
                // A JSON delivery's chunk starts where the planning walk left off.
                let mut resume =
                    json.map(|i| cloudwatch_json::chunk_resume(&self.json_starts[file], i));
                process_chunk_from(
                    settings,
                    file,
                    &self.files[file].display,
                    fmt,
                    &map[start..upto],
                    (lines.first)(),
                    eof,
                    resume.as_mut(),
                    Some(start as u64),
                )
            } else if pa >= pb {
                // Wholly outside the window: its newlines were counted as it was hashed.
                let n = match lines.newlines {
                    Some(n) if upto == end => {
                        n + u64::from(eof && map[start..end].last() != Some(&b'\n'))
                    }
                    _ => window::count_lines(&map[start..upto], eof),
                };
                ChunkOutput::outside_window(settings, file, n, (upto - start) as u64)
            } else {
                let before = window::count_lines(&map[start..pa], false);
                let mut out = process_chunk_from(
                    settings,
                    file,
                    &self.files[file].display,
                    fmt,
                    &map[pa..pb],
                    (lines.first)() + before,
                    eof && pb == upto,
                    None,
                    Some(pa as u64),
                );
                let after = window::count_lines(&map[pb..upto], eof);
                out.add_outside_window(before + after, (pa - start + upto - pb) as u64);
                out
            };
            test_pause();
            if source.cut(m) >= upto as u64 {
                return Some(out);
            }
        }
        None
    }
}

/// How a chunk learns its line numbers: its first line (waited for, from the counts of the
/// chunks before it) and its own newlines, as the ledger counted them.
struct Lines<'t> {
    first: &'t dyn Fn() -> u64,
    newlines: Option<u64>,
}

/// A pause for the tests of files that change while they are read: with
/// `FORENSICS_TEST_PAUSE=N:DIR` in the environment, the worker that has just parsed the N-th
/// chunk of the run creates `DIR/paused` and waits until `DIR/resume` exists, so a test can
/// change a file at a known point of the scan. Without it, one load per chunk.
fn test_pause() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static HOOK: std::sync::OnceLock<Option<(usize, std::path::PathBuf)>> =
        std::sync::OnceLock::new();
    static PARSED: AtomicUsize = AtomicUsize::new(0);
    let hook = HOOK.get_or_init(|| {
        let v = std::env::var_os("FORENSICS_TEST_PAUSE")?;
        let (n, dir) = v.to_str()?.split_once(':')?;
        Some((n.parse().ok()?, dir.into()))
    });
    let Some((n, dir)) = hook else { return };
    if PARSED.fetch_add(1, Ordering::Relaxed) + 1 == *n {
        let _ = std::fs::write(dir.join("paused"), b"");
        while !dir.join("resume").exists() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// The units of files wholly outside the window (`outside[file]`) first, two files per
/// [`Unit::Outside`], then the other units as [`pair_chunks`] made them from every file's chunks
/// (a pair that loses an outside file's chunk keeps the other as a single chunk). So the
/// chunks that are parsed come in the order of a full parse, and the events in the same order.
/// Depends only on the files, so the order is the same in every run.
fn outside_first(units: Vec<Unit>, outside: &[bool]) -> Vec<Unit> {
    let files: Vec<usize> = (0..outside.len()).filter(|&f| outside[f]).collect();
    let mut out: Vec<Unit> = files
        .chunks(2)
        .map(|p| Unit::Outside {
            a: p[0],
            b: p.get(1).copied(),
        })
        .collect();
    for u in units {
        match u {
            Unit::Pair { a, b } => match (outside[a.0], outside[b.0]) {
                (false, false) => out.push(Unit::Pair { a, b }),
                (true, false) => out.push(Unit::Chunk {
                    file: b.0,
                    index: b.1,
                }),
                (false, true) => out.push(Unit::Chunk {
                    file: a.0,
                    index: a.1,
                }),
                (true, true) => {}
            },
            Unit::Chunk { file, .. } if outside[file] => {}
            other => out.push(other),
        }
    }
    out
}

/// One file's plan.
struct PlannedFile {
    source: Option<Source>,
    format: Option<FileFormat>,
    /// The byte range of each chunk (see [`Ledger`]).
    bounds: Vec<(usize, usize)>,
    /// A JSON delivery's chunk starts (see [`cloudwatch_json::plan_chunks`]).
    json_starts: Vec<cloudwatch_json::ChunkStart>,
    /// The part that may hold events of the time window.
    span: window::Span,
    /// Wholly outside the window: read by a [`Unit::Outside`] instead of its chunks.
    outside: bool,
    units: Vec<Unit>,
}

/// Plans one file: its map (if plain), its format, and its units.
fn plan_file(
    i: usize,
    f: &InputFile,
    choice: FormatChoice,
    clock: Clock,
    chunk_bytes: usize,
    time_window: Window,
) -> PlannedFile {
    let only = |units: Vec<Unit>, source: Option<Source>| PlannedFile {
        source,
        format: None,
        bounds: Vec::new(),
        json_starts: Vec::new(),
        span: window::Span::full(0),
        outside: false,
        units,
    };
    let report = |note: FileNote| vec![Unit::Report { file: i, note }];
    let mapped = match input::open(&f.path) {
        Ok(Opened::Mapped(m)) => m,
        Ok(Opened::Empty) => return only(report(FileNote::Skipped("empty file".into())), None),
        Ok(Opened::Stream(..)) => return only(vec![Unit::Stream { file: i }], None),
        Err(e) => return only(report(FileNote::Error(format!("cannot read: {e}"))), None),
    };
    let map = &mapped.map;
    let head = &map[..map.len().min(SNIFF_BYTES)];
    if choice == FormatChoice::Auto {
        match format::cloudtrail::sniff(head) {
            Some(format::cloudtrail::Shape::Digest) => {
                let mut units = report(FileNote::Skipped(DIGEST_SKIPPED.into()));
                units.push(Unit::Hash { file: i });
                return only(units, Some(Source::new(mapped.opened, 0)));
            }
            Some(shape) => {
                return only(
                    vec![Unit::Trail { file: i, shape }],
                    Some(Source::new(mapped.opened, 0)),
                )
            }
            None => {}
        }
    }
    let format = format::detect(choice, clock, head);
    let Some(format) = format else {
        let mut units = report(FileNote::Skipped("not a recognised audit log".into()));
        units.push(Unit::Hash { file: i });
        return only(units, Some(Source::new(mapped.opened, 0)));
    };
    // Record-aligned chunk boundaries.
    // Equal-sized chunks (rather than full ones and a short tail) keep the workers evenly
    // loaded to the end of the run.
    let pieces = map.len().div_ceil(chunk_bytes).max(1);
    let chunk_bytes = map.len().div_ceil(pieces).max(1);
    let mut bounds = Vec::new();
    let mut json_starts = Vec::new();
    if format.family == Family::CloudwatchJson {
        // Cut between events by one walk of the delivery, which also counts the events
        // before each cut (a JSON chunk's first "line").
        (bounds, json_starts) =
            cloudwatch_json::plan_chunks(map, chunk_bytes, |s, e| input::release_pages(map, s, e));
    }
    let mut pos = bounds.last().map_or(0, |b| b.1);
    while pos < map.len() {
        let end = format::next_record_start(&format, map, (pos + chunk_bytes).min(map.len()));
        let end = if end <= pos { map.len() } else { end };
        bounds.push((pos, end));
        pos = end;
    }
    // The part of the file the time window needs: a few dozen records read here (the pages
    // they touch go with the map).
    let span = if crate::scan::skip_disabled() {
        window::Span::full(map.len())
    } else {
        window::span(
            &format,
            map,
            true,
            time_window.since_us,
            time_window.until_us,
        )
    };
    // Wholly outside the window: hashed and counted by a unit of its own (never a CloudWatch
    // file, whose duplicates, known only after planning, must be counted as such). Its chunks
    // are planned all the same, so that the other files' chunks pair as in a full parse (see
    // [`outside_first`]).
    let outside = span.start == span.end
        && !format.cloudwatch_export
        && format.family != Family::CloudwatchJson;
    // The map and its descriptor close here (sniffing and finding the boundaries touched a
    // page per chunk; unmapping hands them back): the file is opened again by its first unit.
    let units = (0..bounds.len())
        .map(|index| Unit::Chunk { file: i, index })
        .collect();
    PlannedFile {
        source: Some(Source::new(
            mapped.opened,
            if outside { 0 } else { bounds.len() },
        )),
        format: Some(format),
        bounds,
        json_starts,
        span,
        outside,
        units,
    }
}

/// Why a CloudTrail digest file is skipped.
pub(crate) const DIGEST_SKIPPED: &str =
    "CloudTrail digest file (hourly SHA-256 hashes of the delivered trail files, no events)";

/// The formats of the planned files, for the summary.
impl Plan<'_> {
    /// The file a unit belongs to.
    pub(crate) fn file_of(&self, u: usize) -> usize {
        match &self.units[u] {
            Unit::Report { file, .. }
            | Unit::Hash { file }
            | Unit::Chunk { file, .. }
            | Unit::Stream { file }
            | Unit::Trail { file, .. } => *file,
            Unit::Pair { a, .. } => a.0,
            Unit::Outside { a, .. } => *a,
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
