//! The de-duplication pre-read: the identity of every event of a CloudWatch file, read in the
//! scan's own chunks and blocks so line numbers agree (see [`crate::dedupe`]).

use crate::dedupe;
use crate::format;
use crate::input::blocks::Block;
use crate::input::{self, Decompressed};

use super::Plan;

impl Plan<'_> {
    /// Whether CloudWatch may have written `file`: a mapped file sniffed so, or a compressed
    /// one (not sniffed until read).
    pub(crate) fn may_be_cloudwatch(&self, file: usize) -> bool {
        match &self.formats[file] {
            Some(fmt) => dedupe::is_cloudwatch(fmt),
            None => self.streams[file],
        }
    }

    /// The (line, identity) of every event of `file` if CloudWatch wrote it, read as the scan
    /// will read it: the same blocks and line numbers. `None` for other files and for files
    /// that cannot be read (the scan reports those).
    /// `max_record` is the scan's record limit (`--max-record-bytes`).
    pub(crate) fn record_keys(
        &self,
        file: usize,
        max_record: usize,
    ) -> Option<Vec<(u64, dedupe::Key)>> {
        let mut out = Vec::new();
        if let (Some(source), Some(fmt)) = (&self.sources[file], &self.formats[file]) {
            if !dedupe::is_cloudwatch(fmt) {
                return None;
            }
            let m = source.reopen(&self.files[file].path).ok()?;
            let map = &m.map;
            // The scan's own chunks, as far as the file still holds them (the scan reads no
            // further; see `Plan::read_chunk`).
            let mut line = 1;
            let mut json = Default::default();
            let bounds = &self.ledgers[file].bounds;
            for (i, &(start, end)) in bounds.iter().enumerate() {
                let before = out.len();
                if source.cut(&m) < end as u64 {
                    break;
                }
                let at_eof = i + 1 == bounds.len();
                let block = &map[start..end];
                // A JSON delivery's chunks start as the planning walk found them.
                if let Some(js) = self.json_starts[file].get(i) {
                    json = format::cloudwatch_json::chunk_resume(&self.json_starts[file], i);
                    line = js.line;
                }
                line += dedupe::block_keys(fmt, block, line, at_eof, &mut json, &mut out);
                input::release_pages(map, start, end);
                if source.cut(&m) < end as u64 {
                    out.truncate(before);
                    break;
                }
            }
            return Some(out);
        }
        if !self.streams[file] {
            return None;
        }
        let (_, dec) = Decompressed::open(&self.files[file].path).ok()?;
        let mut blocks = self.stream_blocks(dec, max_record);
        if blocks.failure().is_some() {
            return None;
        }
        // A trail (even one delivered through CloudWatch) is read whole and de-duplicated by
        // its event ids (see `format::cloudtrail`).
        if self.choice == format::FormatChoice::Auto
            && format::cloudtrail::sniff(blocks.head()).is_some()
        {
            return None;
        }
        let fmt = format::detect(self.choice, self.clock, blocks.head())?;
        if !dedupe::is_cloudwatch(&fmt) {
            return None;
        }
        // As the scan reads it (see `run_stream`): cut between events, no limit on one.
        if fmt.family == format::Family::CloudwatchJson {
            blocks.without_record_limit();
        }
        let mut line = 1;
        let mut json = Default::default();
        let mut ends = format::RecordEnds::new(fmt);
        while let Some(block) = blocks.next_block_with(
            |buf| ends.cut(buf),
            |buf, at_eof| format::rest_of_record_end(&fmt, buf, at_eof),
        ) {
            match block {
                Block::Records { data, at_eof } => {
                    line += dedupe::block_keys(&fmt, &data, line, at_eof, &mut json, &mut out);
                }
                // Keyed by its head, as the scan reads it.
                Block::Long { head, lines, .. } => {
                    if fmt.family != format::Family::CloudwatchJson {
                        let mut no_json = Default::default();
                        dedupe::block_keys(&fmt, &head, line, false, &mut no_json, &mut out);
                    }
                    line += lines;
                }
            }
        }
        Some(out)
    }
}
