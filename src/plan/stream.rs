//! Stream units: a compressed file, decompressed on a second thread block by block (each
//! block cut at the last record end by [`RecordBlocks`]) and handed over a one-slot channel,
//! so inflating the next block overlaps parsing this one.

use crate::format::{self, window, Reason};
use crate::input::blocks::{Block, RecordBlocks};
use crate::input::{Compression, Decompressed};
use crate::scan::{
    process_chunk_from, process_head, ChunkOutput, ChunkSettings, FileNote, UnitOutput,
};
use crate::stats::StatsBuilder;

use super::{Plan, SNIFF_BYTES, STREAM_BLOCK_BYTES};

/// The largest CloudTrail file read (decompressed): a trail object is read whole, and AWS's
/// delivery objects are a few MB; a larger file is reported, not read.
const MAX_TRAIL_BYTES: usize = 2 << 30;

/// A compressed CloudTrail file: decompressed whole (hashing the compressed bytes as they are
/// read), then parsed; a digest file is skipped with the reason.
fn trail_stream(
    settings: &ChunkSettings<'_>,
    file: usize,
    compression: crate::input::Compression,
    shape: format::cloudtrail::Shape,
    blocks: RecordBlocks<Decompressed>,
    emit: &mut dyn FnMut(UnitOutput),
) {
    let digest = shape == format::cloudtrail::Shape::Digest;
    let mut data = blocks.head().to_vec();
    let (mut dec, mut failure) = blocks.into_source();
    let mut too_large = false;
    if failure.is_none() {
        loop {
            if data.len() >= MAX_TRAIL_BYTES {
                too_large = true;
                break;
            }
            // A digest is not kept: only its hash is wanted.
            if digest {
                data.clear();
            }
            let want = (data.len() + STREAM_BLOCK_BYTES).min(MAX_TRAIL_BYTES);
            match dec.fill(&mut data, want) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
    }
    if digest {
        emit(UnitOutput::File {
            file,
            note: FileNote::Skipped(super::DIGEST_SKIPPED.into()),
        });
    } else {
        emit(UnitOutput::File {
            file,
            note: FileNote::Format {
                format: shape.name().to_string(),
                compression,
            },
        });
    }
    // The hash of the whole compressed file, read to its end even when the rest is not kept.
    let hash = dec.finish();
    if let Ok((hex, bytes)) = hash {
        emit(UnitOutput::File {
            file,
            note: FileNote::Sha256 { hex, bytes },
        });
    }
    if digest {
        return;
    }
    if let Some(e) = failure {
        emit(UnitOutput::File {
            file,
            note: FileNote::Error(corrupt(compression, &e)),
        });
    }
    if too_large {
        emit(UnitOutput::File {
            file,
            note: FileNote::Error(format!(
                "a CloudTrail file over {} GiB decompressed is not read",
                MAX_TRAIL_BYTES >> 30
            )),
        });
        return;
    }
    emit(UnitOutput::Control(Box::new(crate::scan::read_trail(
        settings, file, &data,
    ))));
}

/// Bytes kept past the record limit in the head of a long record (more than a `\r\n`).
const LONG_HEAD_SLACK: usize = 8;

/// What the decompression thread of a stream hands to the parsing side.
enum Handover {
    Block(Block),
    /// The end: the hash of the compressed file and any decompression failure.
    Done {
        hash: std::io::Result<(String, u64)>,
        failure: Option<String>,
    },
}

impl Plan<'_> {
    /// The blocks of compressed `file`, as the scan and the de-duplication pre-read both
    /// read them (so their line numbers agree): the block size; of a record over the limit
    /// `max_record`, a little more than the limit is kept, so that its parser sees it is over
    /// and cuts it where it cuts the same record in a mapped file.
    pub(super) fn stream_blocks(
        &self,
        dec: Decompressed,
        max_record: usize,
    ) -> RecordBlocks<Decompressed> {
        RecordBlocks::start(
            dec,
            SNIFF_BYTES,
            self.chunk_bytes.min(STREAM_BLOCK_BYTES),
            max_record.saturating_add(LONG_HEAD_SLACK),
        )
    }

    pub(super) fn run_stream(
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
        let (compression, dec) = match Decompressed::open(&f.path) {
            Ok(opened) => opened,
            Err(message) => return emit(error(message)),
        };
        let mut blocks = self.stream_blocks(dec, settings.max_record_bytes);
        if self.choice == format::FormatChoice::Auto {
            if let Some(shape) = format::cloudtrail::sniff(blocks.head()) {
                return trail_stream(settings, file, compression, shape, blocks, emit);
            }
        }
        let Some(format) = format::detect(self.choice, self.clock, blocks.head()) else {
            let reason = match blocks.failure() {
                Some(e) => return emit(error(corrupt(compression, e))),
                None if blocks.head().is_empty() => "empty after decompression".to_string(),
                None => format!(
                    "not a recognised audit log ({} compressed)",
                    compression.name()
                ),
            };
            emit(UnitOutput::File {
                file,
                note: FileNote::Skipped(reason),
            });
            if let Ok((hex, bytes)) = blocks.into_source().0.finish() {
                emit(UnitOutput::File {
                    file,
                    note: FileNote::Sha256 { hex, bytes },
                });
            }
            return;
        };
        // A JSON delivery is cut between its events ([`format::RecordEnds`]), so a block holds
        // whole events and no more than a block and one event is held. No limit applies to
        // one event: an event over the limit is read whole, as a mapped delivery reads it
        // (its middle cannot be skipped: the walk cannot resume inside a JSON string), and
        // the events after it are read on. AWS caps the size of one event.
        if format.family == format::Family::CloudwatchJson {
            blocks.without_record_limit();
        }
        emit(UnitOutput::File {
            file,
            note: FileNote::Format {
                format: format.name().to_string(),
                compression,
            },
        });
        // Decompression runs on its own thread, so inflating the next block overlaps parsing
        // this one (a single stream cannot be split, but its two halves of work can run side
        // by side). The channel holds one block, which bounds memory at three blocks.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Handover>(1);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut ends = format::RecordEnds::new(format);
                while let Some(block) = blocks.next_block_with(
                    |buf| ends.cut(buf),
                    |buf, at_eof| format::rest_of_record_end(&format, buf, at_eof),
                ) {
                    if tx.send(Handover::Block(block)).is_err() {
                        return;
                    }
                }
                let (dec, failure) = blocks.into_source();
                let failure = failure.map(|e| corrupt(compression, &e));
                let _ = tx.send(Handover::Done {
                    hash: dec.finish(),
                    failure,
                });
            });
            let mut line = 1u64;
            // Blocks of a time-ordered stream outside the window are counted, not parsed (a
            // stream cannot seek, so every block is still inflated, counted and hashed).
            let skip = crate::scan::may_skip(settings, file)
                && window::order_of(&format) != window::Order::Unknown;
            // Where the next block of a JSON delivery starts (it may continue a document).
            let mut json = Default::default();
            for handover in rx {
                match handover {
                    Handover::Block(Block::Records { data, at_eof }) => {
                        let out = match skip {
                            true => window_block(settings, file, f, &format, &data, line, at_eof),
                            false => process_chunk_from(
                                settings,
                                file,
                                &f.display,
                                &format,
                                &data,
                                line,
                                at_eof,
                                Some(&mut json),
                                None,
                            ),
                        };
                        line += out.stats.lines;
                        emit(UnitOutput::Chunk(Box::new(out)));
                    }
                    Handover::Block(Block::Long { head, lines, bytes }) => {
                        let mut out = long_record(settings, file, f, &format, &head, line, lines);
                        line += lines;
                        // The whole record was read as one (its rest stepped over).
                        out.stats.parsed_bytes = bytes;
                        emit(UnitOutput::Chunk(Box::new(ChunkOutput { bytes, ..out })));
                    }
                    Handover::Done { hash, failure } => {
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

/// A block of a stream under a time window: only the part [`window::span`] finds is parsed
/// (from the block's start for PostgreSQL when the window starts inside it, see
/// [`window::cut_anywhere`]); the lines of the rest are counted as outside the window.
fn window_block(
    settings: &ChunkSettings<'_>,
    file: usize,
    f: &crate::input::InputFile,
    format: &format::FileFormat,
    data: &[u8],
    line: u64,
    at_eof: bool,
) -> ChunkOutput {
    let span = window::span(format, data, at_eof, settings.since_us, settings.until_us);
    let (mut a, b) = (span.start, span.end.max(span.start));
    if a > 0 && b > a && !window::cut_anywhere(format) {
        a = 0;
    }
    let len = data.len();
    if (a, b) == (0, len) {
        return process_chunk_from(
            settings, file, &f.display, format, data, line, at_eof, None, None,
        );
    }
    if a >= b {
        let lines = window::count_lines(data, at_eof);
        return ChunkOutput::outside_window(settings, file, lines, len as u64);
    }
    let before = window::count_lines(&data[..a], false);
    let mut out = process_chunk_from(
        settings,
        file,
        &f.display,
        format,
        &data[a..b],
        line + before,
        at_eof && b == len,
        None,
        None,
    );
    let after = window::count_lines(&data[b..], at_eof);
    out.add_outside_window(before + after, (a + len - b) as u64);
    out
}

/// A record over the limit, of which a stream kept `head`: parsed as the same record in a
/// mapped file is (cut at the limit, counted as truncated), its `lines` lines accounted for
/// (the lines past the head are the record's, so ignored like a record's continuation lines).
/// A CloudWatch JSON document over the limit is rejected.
fn long_record(
    settings: &ChunkSettings<'_>,
    file: usize,
    f: &crate::input::InputFile,
    format: &format::FileFormat,
    head: &[u8],
    line: u64,
    lines: u64,
) -> ChunkOutput {
    if format.family == format::Family::CloudwatchJson {
        let mut stats = StatsBuilder::default();
        stats.rejected(line, Reason::TooLong, head);
        let mut stats = stats.finish();
        stats.ignored = lines.saturating_sub(1);
        stats.lines = lines.max(1);
        return ChunkOutput {
            file,
            bytes: 0,
            stats,
            row_groups: Vec::new(),
            passes: crate::pass::PassSet::new(settings.config),
            sessions: Default::default(),
            error: None,
            privileges: None,
            texts: Vec::new(),
        };
    }
    let mut out = process_head(settings, file, &f.display, format, head, line);
    let rest = lines.saturating_sub(out.stats.lines);
    out.stats.ignored += rest;
    out.stats.lines += rest;
    out
}

fn corrupt(c: Compression, e: &std::io::Error) -> String {
    format!(
        "corrupt {} data: {e}; events before the damage were kept",
        c.name()
    )
}
