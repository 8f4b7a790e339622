//! The consumer of a scan: unit outputs arrive here in input order; row groups go to the
//! writer, pass states are merged, and each file's notes and counts are kept for the summary.

use crate::error::Result;
use crate::input;
use crate::pass::PassSet;
use crate::sink::assemble::FileState;
use crate::sink::parquet::PartitionedWriter;

use super::{FileNote, UnitOutput};

/// What the consumer keeps while outputs arrive in order.
pub(crate) struct RunState<'a> {
    pub(crate) files: &'a [input::InputFile],
    pub(crate) per_file: Vec<FileState>,
    pub(crate) passes: Option<PassSet>,
}

impl<'a> RunState<'a> {
    pub(crate) fn new(files: &'a [input::InputFile]) -> Self {
        RunState {
            files,
            per_file: (0..files.len()).map(|_| FileState::default()).collect(),
            passes: None,
        }
    }

    pub(crate) fn consume(
        &mut self,
        out: UnitOutput,
        writer: Option<&mut PartitionedWriter>,
    ) -> Result<()> {
        match out {
            UnitOutput::File { file, note } => {
                let Some(st) = self.per_file.get_mut(file) else {
                    return Ok(());
                };
                match note {
                    FileNote::Format {
                        format,
                        compression,
                    } => {
                        st.format = Some(format);
                        st.compression =
                            Some(compression.name().to_string()).filter(|s| !s.is_empty());
                    }
                    FileNote::Sha256 { hex, bytes } => {
                        st.sha256 = Some(hex);
                        st.bytes = Some(bytes);
                    }
                    FileNote::Skipped(r) => st.skipped = Some(r),
                    FileNote::Error(m) => st.errors.push(m),
                }
            }
            UnitOutput::Chunk(c) => {
                let c = *c;
                // A write error (a full disk) costs the events only: the chunk's counts and
                // pass state are still merged, and the error returned after.
                let mut written = Ok(());
                if let Some(w) = writer {
                    for rg in c.row_groups {
                        written = w.append(rg);
                        if written.is_err() {
                            break;
                        }
                    }
                }
                match &mut self.passes {
                    Some(p) => p.merge(c.passes),
                    None => self.passes = Some(c.passes),
                }
                let st = &mut self.per_file[c.file];
                if let Some(e) = c.error {
                    st.errors.push(e);
                }
                st.stats.merge(c.stats);
                return written;
            }
        }
        Ok(())
    }
}
