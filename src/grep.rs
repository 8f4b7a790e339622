//! `forensics grep`: CloudWatch filter patterns over raw log files, printed like `grep`.
//!
//! The question it answers is "which lines would this metric filter have counted?", so it
//! reads exactly what `scan` reads (same discovery order, same memory maps, same gzip/zstd
//! streams) but searches every file that is not binary, log or not, the way `grep` does. It is
//! built as three pieces that meet at small interfaces, after ripgrep's searcher: a
//! [`LineMatcher`] decides one line (export prefix stripped, time window, pattern); a block
//! search walks a buffer of whole lines and reports matching line ranges; the printer turns
//! ranges into output bytes. Speed comes from the block search: when the pattern has a
//! literal every match must contain, one `memmem` pass over the whole block finds candidate
//! lines and only those are decided, so lines that cannot match are never split out. Plain
//! files are cut into line-aligned chunks searched in parallel, and `exec::run_ordered` hands
//! the printed chunks to the writer in file and line order, so the output is the same for any
//! thread count.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use memchr::memmem::Finder;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::exec;
use crate::filter::FilterPattern;
use crate::format::{self, postgres, trim_cr, Family, FileFormat};
use crate::input::blocks::{Block, RecordBlocks};
use crate::input::{self, Decompressed, InputFile, Opened};
use crate::time;

/// Target size of the line-aligned chunks a plain file is cut into. Smaller than `scan`'s
/// (which sizes chunks as Parquet row groups): grep work per byte is tiny, so small chunks
/// keep the cores evenly busy to the end of the last file and bound the printed bytes held
/// for ordering.
pub const CHUNK_BYTES: usize = 8 << 20;
/// A NUL byte this early means a binary file, which grep skips (as `grep` and `rg` do).
const BINARY_PROBE_BYTES: usize = 64 << 10;

/// Everything `forensics grep` needs.
#[derive(Clone, Debug, Default)]
pub struct GrepOptions {
    /// A CloudWatch Logs filter pattern.
    pub pattern: String,
    pub paths: Vec<PathBuf>,
    /// Print counts instead of lines (see [`run`] for the layout).
    pub count: bool,
    /// Only events at or after this time (epoch µs); lines with no time are then excluded.
    pub since_us: Option<i64>,
    /// Only events before this time (epoch µs).
    pub until_us: Option<i64>,
    /// How MySQL-family plugin times are read for `since_us`/`until_us` (a custom MariaDB
    /// layout, a UTC offset), as `scan --timestamp-format/--utc-offset` read them.
    pub clock: format::Clock,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Prefix lines with `path:line:` (counts with `path:`). `None` = as grep: when more than
    /// one path is given or any path is a folder.
    pub with_filename: Option<bool>,
    /// Overrides [`CHUNK_BYTES`], so tests can split small files into many chunks.
    pub chunk_bytes: Option<usize>,
}

/// What a search found, for the command line to pick an exit code from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrepOutcome {
    /// Matching lines in all files.
    pub matches: u64,
    /// Files actually searched (binary files and unreadable paths are not).
    pub files_searched: u64,
    /// `path: message` for every path that could not be listed, opened or read to its end.
    pub errors: Vec<String>,
}

/// Searches `opts.paths` and writes the result to `out`.
///
/// Without `count`, every matching line is written as it is in the file (bytes unchanged, a
/// missing final newline added), prefixed `path:line:` when file names are shown. With
/// `count` and file names shown, one `path:count` line per file that has matches, in file
/// order, and nothing for files without; with `count` and no file names, one line with the
/// total, even when it is 0.
///
/// A broken pipe on `out` (`forensics grep ... | head`) ends the search early without error.
///
/// # Errors
/// [`Error::Usage`] for a pattern CloudWatch would refuse (the message names the column);
/// [`Error::Output`] when writing to `out` fails otherwise. Unreadable inputs are not errors
/// here: they are listed in [`GrepOutcome::errors`] and the other files are still searched.
pub fn run(opts: &GrepOptions, out: &mut dyn Write) -> Result<GrepOutcome> {
    let pattern = FilterPattern::parse(&opts.pattern).map_err(|e| Error::Usage(e.to_string()))?;
    let matcher = LineMatcher::new(&pattern, opts.since_us, opts.until_us).with_clock(opts.clock);
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        opts.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("forensics-grep-{i}"))
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {threads} threads: {e}")))?;
    let with_filename = opts
        .with_filename
        .unwrap_or_else(|| opts.paths.len() > 1 || opts.paths.iter().any(|p| p.is_dir()));

    let (files, discover_errors) = input::discover(&opts.paths);
    let mut outcome = GrepOutcome {
        // What cannot be read is an error; what discovery skips (FIFOs, sockets, devices,
        // symlink loops, second paths to a file) is passed over quietly here.
        errors: discover_errors
            .iter()
            .filter(|e| e.status == input::Unread::Error)
            .map(|e| {
                let why = e.message.as_deref().unwrap_or(&e.reason);
                format!("{}: {}: {why}", e.path.display(), e.reason)
            })
            .collect(),
        ..GrepOutcome::default()
    };
    let plan = GrepPlan::new(
        &files,
        Settings {
            matcher,
            chunk_bytes: opts.chunk_bytes.unwrap_or(CHUNK_BYTES).max(1),
            print_lines: !opts.count,
            with_filename,
        },
        &pool,
    );
    outcome.files_searched = plan.files_searched;

    let mut per_file = vec![0u64; files.len()];
    let mut write_error: Option<io::Error> = None;
    exec::run_ordered(
        &pool,
        plan.units.len(),
        threads * 2 + 2,
        |u, emit| plan.run(u, emit),
        |u, msg| Piece::Error {
            file: plan.units[u].file(),
            message: format!("internal error: {msg}"),
        },
        |piece| match piece {
            Piece::Searched => outcome.files_searched += 1,
            Piece::Lines {
                file,
                matches,
                printed,
            } => {
                per_file[file] += matches;
                outcome.matches += matches;
                if !printed.is_empty() && write_error.is_none() {
                    if let Err(e) = out.write_all(&printed) {
                        // Nobody reads the rest: stop the workers instead of searching on.
                        plan.stop.store(true, Ordering::Relaxed);
                        write_error = Some(e);
                    }
                }
            }
            Piece::Error { file, message } => outcome
                .errors
                .push(format!("{}: {message}", files[file].display)),
        },
    );

    if write_error.is_none() && opts.count {
        let written = if with_filename {
            files
                .iter()
                .zip(&per_file)
                .filter(|(_, n)| **n > 0)
                .try_for_each(|(f, n)| writeln!(out, "{}:{n}", f.display))
        } else {
            writeln!(out, "{}", outcome.matches)
        };
        write_error = written.err();
    }
    if write_error.is_none() {
        write_error = out.flush().err();
    }
    match write_error {
        Some(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Output {
            path: PathBuf::from("<output>"),
            message: e.to_string(),
        }),
        _ => Ok(outcome),
    }
}

/// Decides one line: is it an event inside the time window whose message matches?
struct LineMatcher<'p> {
    pattern: &'p FilterPattern,
    /// A literal every matching message contains; `None` when the block search must look at
    /// every line.
    literal: Option<Finder<'p>>,
    since_us: Option<i64>,
    until_us: Option<i64>,
    clock: format::Clock,
}

impl<'p> LineMatcher<'p> {
    fn with_clock(mut self, clock: format::Clock) -> Self {
        self.clock = clock;
        self
    }

    fn new(pattern: &'p FilterPattern, since_us: Option<i64>, until_us: Option<i64>) -> Self {
        let literal = pattern
            .required_literal()
            .filter(|l| prefilter_is_exact(l))
            .map(Finder::new);
        LineMatcher {
            pattern,
            literal,
            since_us,
            until_us,
            clock: format::Clock::default(),
        }
    }

    /// `line` is one line without its `\n`.
    #[inline]
    fn is_match(&self, line: &[u8]) -> bool {
        let line = trim_cr(line);
        // CloudWatch matched the message it received; the export adds its time in front.
        let (message, export_time) = match time::parse_cloudwatch_prefix(line) {
            Some((t, n)) => (&line[n..], t.ok()),
            None => (line, None),
        };
        if self.since_us.is_some() || self.until_us.is_some() {
            let Some(t) = event_time(message, self.clock).or(export_time) else {
                return false;
            };
            if self.since_us.is_some_and(|s| t < s) || self.until_us.is_some_and(|u| t >= u) {
                return false;
            }
        }
        match std::str::from_utf8(message) {
            Ok(s) => self.pattern.matches(s),
            Err(_) => self.pattern.matches(&String::from_utf8_lossy(message)),
        }
    }

    /// Calls `on_match(start, end)` for each matching event of `block` (whole lines; the last
    /// may lack its `\n`), in order, and returns how many there were.
    ///
    /// An event is one line, except in PostgreSQL logs (`layout`), where a statement written
    /// over several lines continues on lines without the log prefix: CloudWatch receives the
    /// entry and its continuation lines as one event, so they are matched, counted and printed
    /// as one. `block` starts with an event.
    fn search_block(
        &self,
        block: &[u8],
        layout: Layout,
        on_match: &mut impl FnMut(usize, usize),
    ) -> u64 {
        let line_end =
            |at: usize| memchr::memchr(b'\n', &block[at..]).map_or(block.len(), |j| at + j);
        let continues = |at: usize| {
            matches!(layout, Layout::PostgresEntries(p)
                if !postgres::is_prefixed_with(p, &block[at..line_end(at)]))
        };
        // The end of the event that starts at line start `start`.
        let event_end = |start: usize| {
            let mut end = line_end(start);
            while end + 1 < block.len() && continues(end + 1) {
                end = line_end(end + 1);
            }
            end
        };
        let mut matches = 0;
        let mut decide = |start: usize, end: usize| {
            if self.is_match(&block[start..end]) {
                matches += 1;
                on_match(start, end);
            }
        };
        match &self.literal {
            Some(finder) => {
                // `pos` is always an event start, so the event of a hit begins at the last
                // event start between `pos` and the hit.
                let mut pos = 0;
                while let Some(i) = finder.find(&block[pos..]) {
                    let hit = pos + i;
                    let mut start =
                        memchr::memrchr(b'\n', &block[pos..hit]).map_or(pos, |j| pos + j + 1);
                    while start > pos && continues(start) {
                        start = memchr::memrchr(b'\n', &block[pos..start - 1])
                            .map_or(pos, |j| pos + j + 1);
                    }
                    let end = event_end(start);
                    decide(start, end);
                    pos = end + 1;
                    if pos >= block.len() {
                        break;
                    }
                }
            }
            None => {
                let mut start = 0;
                while start < block.len() {
                    let end = event_end(start);
                    decide(start, end);
                    start = end + 1;
                }
            }
        }
        matches
    }
}

/// Whether a byte search for `literal` finds every line whose matched text contains it. Not
/// when the literal spans a line break (no line can hold it; searching each line is the safe
/// answer), nor when it holds U+FFFD, which the lossy view of an invalid line may show where
/// the bytes do not.
fn prefilter_is_exact(literal: &[u8]) -> bool {
    !literal.is_empty()
        && !literal.contains(&b'\n')
        && !literal.windows(3).any(|w| w == "\u{FFFD}".as_bytes())
}

/// The time a log line carries itself, in UTC: the user's MariaDB layout or `YYYYMMDD
/// HH:MM:SS` (MariaDB, RDS MySQL; server-local, shifted by the clock's offset), 16-digit epoch
/// microseconds (Aurora MySQL) or PostgreSQL's `YYYY-MM-DD HH:MM:SS TZ` prefix at the start of
/// the message.
#[inline]
fn event_time(message: &[u8], clock: format::Clock) -> Option<i64> {
    if let Some(layout) = clock.layout {
        if let Ok((t, _)) = layout.read(message) {
            return Some(clock.to_utc(t));
        }
    }
    if let Some(t) = message.get(..17).and_then(|b| time::parse_compact(b).ok()) {
        return Some(clock.to_utc(t));
    }
    // A longer run of digits is some other number, not an Aurora timestamp.
    if message.get(16).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    message
        .get(..16)
        .and_then(time::parse_epoch_us)
        .or_else(|| postgres::line_time(message))
}

/// What one event of a file is, as CloudWatch received it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// One line (audit logs, and any other text).
    Lines,
    /// A PostgreSQL log entry: its prefixed line and the unprefixed lines that continue it.
    /// `log_line_prefix` as sniffed (`None`: RDS's).
    PostgresEntries(Option<&'static format::pg_prefix::LinePrefix>),
}

impl Layout {
    fn of(head: &[u8]) -> (Layout, Option<FileFormat>) {
        match format::sniff(head) {
            Some(f) if f.family == Family::Postgres => {
                (Layout::PostgresEntries(f.clock.pg_prefix), Some(f))
            }
            f => (Layout::Lines, f),
        }
    }
}

/// How blocks are searched and printed; the same for every unit of a run.
struct Settings<'p> {
    matcher: LineMatcher<'p>,
    chunk_bytes: usize,
    print_lines: bool,
    with_filename: bool,
}

impl Settings<'_> {
    /// Line numbers cost a newline count over every byte; only printed lines with file names
    /// show them.
    fn line_numbers(&self) -> bool {
        self.print_lines && self.with_filename
    }

    /// Searches one block of whole events whose first line is `first_line` of `file`.
    ///
    /// A matching event is printed as it is in the file. With file names, its first line
    /// is prefixed `path:line:` and the lines that continue it `path-line-` (as `grep`
    /// marks context lines), so every printed line still starts with its location.
    fn search(
        &self,
        file: usize,
        name: &str,
        block: &[u8],
        first_line: u64,
        layout: Layout,
    ) -> Piece {
        let mut printed = Vec::new();
        if !self.print_lines {
            let matches = self.matcher.search_block(block, layout, &mut |_, _| {});
            return Piece::Lines {
                file,
                matches,
                printed,
            };
        }
        let mut line = first_line;
        let mut counted_to = 0;
        let matches = self.matcher.search_block(block, layout, &mut |start, end| {
            if !self.with_filename {
                printed.extend_from_slice(&block[start..end]);
                printed.push(b'\n');
                return;
            }
            line += bytecount::count(&block[counted_to..start], b'\n') as u64;
            counted_to = start;
            for (k, text) in block[start..end].split(|&b| b == b'\n').enumerate() {
                printed.extend_from_slice(name.as_bytes());
                let mark = if k == 0 { ':' } else { '-' };
                let _ = write!(printed, "{mark}{}{mark}", line + k as u64);
                printed.extend_from_slice(text);
                printed.push(b'\n');
            }
        });
        Piece::Lines {
            file,
            matches,
            printed,
        }
    }
}

/// One output of a unit, in order.
enum Piece {
    /// A streamed file turned out not to be binary and is being searched.
    Searched,
    Lines {
        file: usize,
        matches: u64,
        printed: Vec<u8>,
    },
    Error {
        file: usize,
        message: String,
    },
}

enum Unit {
    /// An event-aligned byte range of a mapped file.
    Chunk {
        file: usize,
        start: usize,
        end: usize,
        first_line: u64,
        layout: Layout,
    },
    /// A compressed file, decompressed and searched as a stream by one worker.
    Stream {
        file: usize,
    },
    Error {
        file: usize,
        message: String,
    },
}

impl Unit {
    fn file(&self) -> usize {
        match self {
            Unit::Chunk { file, .. } | Unit::Stream { file } | Unit::Error { file, .. } => *file,
        }
    }
}

/// Every file turned into an ordered list of units, as `plan::Plan` does for `scan`.
struct GrepPlan<'a> {
    files: &'a [InputFile],
    maps: Vec<Option<memmap2::Mmap>>,
    units: Vec<Unit>,
    settings: Settings<'a>,
    /// Plain and empty files (known when planning); streams report theirs as they start.
    files_searched: u64,
    stop: AtomicBool,
}

impl<'a> GrepPlan<'a> {
    fn new(files: &'a [InputFile], settings: Settings<'a>, pool: &rayon::ThreadPool) -> Self {
        let mut plan = GrepPlan {
            files,
            maps: Vec::with_capacity(files.len()),
            units: Vec::new(),
            settings,
            files_searched: 0,
            stop: AtomicBool::new(false),
        };
        for (i, f) in files.iter().enumerate() {
            let map = match input::open(&f.path) {
                Ok(Opened::Mapped(m)) => m,
                Ok(Opened::Empty) => {
                    plan.files_searched += 1;
                    plan.maps.push(None);
                    continue;
                }
                // Reopened by the worker: thousands of export objects must not hold
                // thousands of descriptors open while they wait their turn.
                Ok(Opened::Stream(..)) => {
                    plan.units.push(Unit::Stream { file: i });
                    plan.maps.push(None);
                    continue;
                }
                Err(e) => {
                    plan.units.push(Unit::Error {
                        file: i,
                        message: e.to_string(),
                    });
                    plan.maps.push(None);
                    continue;
                }
            };
            if memchr::memchr(0, &map[..map.len().min(BINARY_PROBE_BYTES)]).is_some() {
                plan.maps.push(None);
                continue;
            }
            plan.files_searched += 1;
            plan.units
                .extend(chunk_units(i, &map, &plan.settings, pool));
            // Finding the chunk boundaries (and counting lines) touched the file; the kernel
            // may have mapped whole large folios of the page cache. Only chunks being
            // searched should stay resident.
            input::release_pages(&map, 0, map.len());

            plan.maps.push(Some(map));
        }
        plan
    }

    fn run(&self, u: usize, emit: &mut dyn FnMut(Piece)) {
        if self.stop.load(Ordering::Relaxed) {
            return;
        }
        match &self.units[u] {
            Unit::Chunk {
                file,
                start,
                end,
                first_line,
                layout,
            } => {
                let Some(map) = &self.maps[*file] else { return };
                let piece = self.settings.search(
                    *file,
                    &self.files[*file].display,
                    &map[*start..*end],
                    *first_line,
                    *layout,
                );
                input::release_pages(map, *start, *end);
                emit(piece);
            }
            Unit::Stream { file } => self.run_stream(*file, emit),
            Unit::Error { file, message } => emit(Piece::Error {
                file: *file,
                message: message.clone(),
            }),
        }
    }

    /// Decompresses a file block by block; each block ends on a line end (the partial line
    /// after it is kept for the next block).
    fn run_stream(&self, file: usize, emit: &mut dyn FnMut(Piece)) {
        let f = &self.files[file];
        let error = |message: String| Piece::Error { file, message };
        let (compression, dec) = match Decompressed::open(&f.path) {
            Ok(opened) => opened,
            Err(message) => return emit(error(message)),
        };
        let chunk = self.settings.chunk_bytes;
        // No record limit: a line is printed whole, however long.
        let mut blocks = RecordBlocks::start(dec, BINARY_PROBE_BYTES, chunk, usize::MAX);
        if memchr::memchr(0, blocks.head()).is_some() {
            return;
        }
        emit(Piece::Searched);
        let (layout, format) = Layout::of(blocks.head());
        let mut line = 1u64;
        // Blocks end on an event boundary; an entry that is still continuing waits for the
        // next block, unless it grows past a few blocks (then it is cut at a line).
        let entry_end = |buf: &[u8]| match (layout, format) {
            (Layout::PostgresEntries(_), Some(fmt)) if buf.len() < 4 * chunk => {
                format::last_record_end(&fmt, buf).filter(|&e| e > 0)
            }
            _ => memchr::memrchr(b'\n', buf).map(|i| i + 1),
        };
        while let Some(block) = blocks.next_block(entry_end) {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let Block::Records { data, .. } = block else {
                continue;
            };
            let piece = self.settings.search(file, &f.display, &data, line, layout);
            if self.settings.line_numbers() {
                line += bytecount::count(&data, b'\n') as u64;
            }
            emit(piece);
        }
        let failure = blocks.into_source().1.map(|e| {
            format!(
                "corrupt {} data: {e}; lines before the damage were searched",
                compression.name()
            )
        });
        if let Some(message) = failure {
            emit(error(message));
        }
    }
}

/// Cuts a mapped file into line-aligned chunks and, when printed lines show line numbers,
/// numbers each chunk's first line (newlines counted per chunk in parallel).
fn chunk_units(
    file: usize,
    map: &[u8],
    settings: &Settings<'_>,
    pool: &rayon::ThreadPool,
) -> Vec<Unit> {
    let (layout, format) = Layout::of(&map[..map.len().min(BINARY_PROBE_BYTES)]);
    let mut bounds = Vec::new();
    let mut pos = 0;
    while pos < map.len() {
        let target = (pos + settings.chunk_bytes).min(map.len());
        let end = match (layout, &format) {
            // Between PostgreSQL entries, so a multi-line statement stays in one chunk.
            (Layout::PostgresEntries(_), Some(fmt)) => format::next_record_start(fmt, map, target),
            _ => match memchr::memchr(b'\n', &map[target - 1..]) {
                Some(i) => target + i,
                None => map.len(),
            },
        };
        let end = if end <= pos { map.len() } else { end };
        bounds.push((pos, end));
        pos = end;
    }
    let counts: Vec<u64> = if settings.line_numbers() {
        pool.install(|| {
            bounds
                .par_iter()
                .map(|&(s, e)| bytecount::count(&map[s..e], b'\n') as u64)
                .collect()
        })
    } else {
        vec![0; bounds.len()]
    };
    let mut first_line = 1;
    bounds
        .into_iter()
        .zip(counts)
        .map(|((start, end), n)| {
            let unit = Unit::Chunk {
                file,
                start,
                end,
                first_line,
                layout,
            };
            first_line += n;
            unit
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random PostgreSQL blocks (entries, continuation lines, a continuation at the start):
    /// with a term every line holds, the events found cover the block exactly, each starting
    /// at the block start or at a prefixed line, with and without the literal prefilter.
    #[test]
    fn postgres_entries_partition_a_block() {
        let prefixed =
            "2026-03-01 10:00:00 UTC:10.0.0.1(5432):app@db:[7]:LOG:  statement: SELECT x";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..300 {
            let mut lines = Vec::new();
            for _ in 0..12 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                lines.push(match seed % 4 {
                    0 | 1 => prefixed.to_string(),
                    2 => "\tFROM x".to_string(),
                    _ => "x".to_string(),
                });
            }
            let block = lines.join("\n") + if seed.is_multiple_of(2) { "\n" } else { "" };
            let block = block.as_bytes();
            // Where an event must start: the block start and every prefixed line.
            let mut starts: Vec<usize> = vec![0];
            let mut at = 0;
            for l in &lines {
                if at > 0 && l.starts_with("2026") {
                    starts.push(at);
                }
                at += l.len() + 1;
            }
            for pattern in ["x", "?x ?FROM"] {
                let p = FilterPattern::parse(pattern).unwrap();
                let m = LineMatcher::new(&p, None, None);
                // One pattern with a literal to search for, one without.
                assert_eq!(m.literal.is_some(), pattern == "x");
                let mut found = Vec::new();
                m.search_block(block, Layout::PostgresEntries(None), &mut |s, e| {
                    found.push((s, e))
                });
                let got: Vec<usize> = found.iter().map(|&(s, _)| s).collect();
                assert_eq!(
                    got,
                    starts,
                    "{pattern} {:?}",
                    String::from_utf8_lossy(block)
                );
                for w in found.windows(2) {
                    assert_eq!(w[0].1 + 1, w[1].0, "events are adjacent");
                }
                let end = block.len() - usize::from(block.ends_with(b"\n"));
                assert_eq!(found.last().unwrap().1, end);
            }
        }
    }

    fn lines_of(pattern: &str, block: &[u8]) -> Vec<String> {
        let p = FilterPattern::parse(pattern).unwrap();
        let m = LineMatcher::new(&p, None, None);
        let mut found = Vec::new();
        m.search_block(block, Layout::Lines, &mut |s, e| {
            found.push(String::from_utf8_lossy(&block[s..e]).into_owned())
        });
        found
    }

    #[test]
    fn literal_search_and_line_by_line_search_agree() {
        let block = b"a CONNECT x\nDISCONNECT localhost\n\nCONNECT CONNECT y\nQUERY\nlast CONNECT";
        let want = vec!["a CONNECT x", "CONNECT CONNECT y", "last CONNECT"];
        assert_eq!(lines_of("CONNECT -localhost", block), want);
        // A regex with no required literal goes line by line.
        assert_eq!(lines_of("%CONNECT|ZZZ%", block).len(), 4);
        assert_eq!(lines_of("", block).len(), 6);
    }

    #[test]
    fn chunks_end_on_line_ends_and_cover_the_file() {
        let p = FilterPattern::parse("x").unwrap();
        let settings = Settings {
            matcher: LineMatcher::new(&p, None, None),
            chunk_bytes: 5,
            print_lines: true,
            with_filename: true,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let map = b"aaaaaaa\nb\ncc\n\nddd";
        let units = chunk_units(0, map, &settings, &pool);
        let mut expect_start = 0;
        let mut lines = Vec::new();
        for u in &units {
            let Unit::Chunk {
                start,
                end,
                first_line,
                ..
            } = u
            else {
                panic!()
            };
            assert_eq!(*start, expect_start);
            assert!(*end == map.len() || map[*end - 1] == b'\n');
            expect_start = *end;
            lines.push(*first_line);
        }
        assert_eq!(expect_start, map.len());
        assert_eq!(lines, vec![1, 2, 4]);
    }

    #[test]
    fn event_time_reads_both_audit_timestamps_only() {
        assert_eq!(
            event_time(b"20230501 10:02:19,db", format::Clock::default()),
            Some(1_682_935_339_000_000)
        );
        assert_eq!(
            event_time(b"1653053459680124,c731", format::Clock::default()),
            Some(1_653_053_459_680_124)
        );
        assert_eq!(
            event_time(b"16530534596801245,c731", format::Clock::default()),
            None
        );
        assert_eq!(event_time(b"hello", format::Clock::default()), None);
    }

    #[test]
    fn prefilter_is_skipped_for_literals_a_line_cannot_hold_exactly() {
        assert!(prefilter_is_exact(b"CONNECT"));
        assert!(!prefilter_is_exact(b"a\nb"));
        assert!(!prefilter_is_exact("x\u{FFFD}".as_bytes()));
        assert!(!prefilter_is_exact(b""));
    }
}
