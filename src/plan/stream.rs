//! Stream units: a compressed file, decompressed on a second thread block by block (each
//! block cut at the last record end by [`RecordBlocks`]) and handed over a one-slot channel,
//! so inflating the next block overlaps parsing this one.

use crate::format::{self, Reason};
use crate::input::blocks::{Block, RecordBlocks};
use crate::input::{Compression, Decompressed};
use crate::scan::{process_chunk_from, ChunkOutput, ChunkSettings, FileNote, UnitOutput};
use crate::stats::StatsBuilder;

use super::{Plan, SNIFF_BYTES, STREAM_BLOCK_BYTES};

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
    /// read them (so their line numbers agree): the block size, the record limit.
    pub(super) fn stream_blocks(&self, dec: Decompressed) -> RecordBlocks<Decompressed> {
        RecordBlocks::start(
            dec,
            SNIFF_BYTES,
            self.chunk_bytes.min(STREAM_BLOCK_BYTES),
            format::MAX_RECORD_BYTES,
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
        let mut blocks = self.stream_blocks(dec);
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
                while let Some(block) = blocks.next_block(|buf| ends.cut(buf)) {
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
            // Where the next block of a JSON delivery starts (it may continue a document).
            let mut json = Default::default();
            for handover in rx {
                match handover {
                    Handover::Block(Block::Records { data, at_eof }) => {
                        let out = process_chunk_from(
                            settings,
                            file,
                            &f.display,
                            &format,
                            &data,
                            line,
                            at_eof,
                            Some(&mut json),
                        );
                        line += out.stats.lines;
                        emit(UnitOutput::Chunk(Box::new(out)));
                    }
                    Handover::Block(Block::TooLong { excerpt, bytes }) => {
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

fn corrupt(c: Compression, e: &std::io::Error) -> String {
    format!(
        "corrupt {} data: {e}; events before the damage were kept",
        c.name()
    )
}
