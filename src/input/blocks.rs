//! The one record-aligned block reader of a stream: fill a block, cut it at the last record
//! end, and hand over a record longer than the record limit as its head alone.
//!
//! Scan (the plan's stream units), the de-duplication pre-read and `grep` all read
//! compressed files through it, so their blocks (and so their line numbers) agree.
//!
//! Cost: a block is handed out as an owned `Vec` and only the partial record after the cut is
//! copied into the next buffer, so a block costs one copy of that tail, never of the block;
//! a record still continuing grows the buffer by half a block per refill (amortised doubling
//! of the `Vec`), and nothing is ever drained from the front of a large buffer.
//!
//! Memory: a record longer than the limit is never held whole. Its first `max_record` bytes
//! are kept ([`Block::Long`]); the rest is read and dropped a block at a time while its
//! newlines are counted, up to where the next record starts (found by the caller's
//! `rest_end`, which sees each line of the record once, or its first
//! [`RECORD_START_PEEK`] bytes for a line longer than that).

use std::io;

/// How much of a line is enough to tell whether it starts a record (a PostgreSQL prefix is
/// far shorter): a longer line still continuing is judged on these first bytes.
pub(crate) const RECORD_START_PEEK: usize = 4096;

/// A source of bytes appended to a buffer (a decompressor; a reader in tests).
pub(crate) trait Fill {
    /// Appends to `buf` until it holds `want` bytes; `Ok(false)` at the end of the input.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<bool>;
}

impl Fill for super::Decompressed {
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
        super::Decompressed::fill(self, buf, want)
    }
}

/// One step of [`RecordBlocks`].
pub(crate) enum Block {
    /// Whole records (at the end of the input, whatever is left, possibly a cut line).
    Records { data: Vec<u8>, at_eof: bool },
    /// One record longer than the record limit: its first bytes; the rest was read and
    /// dropped.
    Long {
        /// Its first `max_record` bytes.
        head: Vec<u8>,
        /// The physical lines it spans (its newlines, and its last line if the input ended
        /// without one).
        lines: u64,
        /// All of its bytes.
        bytes: u64,
    },
}

/// See the module doc.
pub(crate) struct RecordBlocks<F> {
    src: F,
    buf: Vec<u8>,
    block: usize,
    max_record: usize,
    more: bool,
    failure: Option<io::Error>,
    done: bool,
}

/// The end of the line that `buf` starts in (a MySQL-family record: one line): the start of
/// the next line, or at the end of input the end. For [`RecordBlocks::next_block_with`].
pub(crate) fn rest_of_line(buf: &[u8], at_eof: bool) -> Option<usize> {
    match memchr::memchr(b'\n', buf) {
        Some(i) => Some(i + 1),
        None => at_eof.then_some(buf.len()),
    }
}

/// Where the next record starts in `buf`, which starts inside a record: the start of the
/// first line after `buf`'s first line for which `starts` holds. Whole lines are judged, a
/// line still continuing once [`RECORD_START_PEEK`] bytes of it are read, and at the end of
/// input every line. `None`: not known yet. For [`RecordBlocks::next_block_with`].
pub(crate) fn rest_of_record(
    buf: &[u8],
    at_eof: bool,
    starts: impl Fn(&[u8]) -> bool,
) -> Option<usize> {
    let mut at = memchr::memchr(b'\n', buf)? + 1;
    while at < buf.len() {
        let end = match memchr::memchr(b'\n', &buf[at..]) {
            Some(i) => at + i,
            None if at_eof || buf.len() - at >= RECORD_START_PEEK => buf.len(),
            None => return None,
        };
        if starts(&buf[at..end]) {
            return Some(at);
        }
        at = end + 1;
    }
    None
}

impl<F: Fill> RecordBlocks<F> {
    /// Reads the first `head` bytes (for sniffing: [`RecordBlocks::head`]). Blocks hold about
    /// `block` bytes; a record with no end within `max_record` bytes is handed over as its
    /// first `max_record` bytes ([`Block::Long`]; `usize::MAX`: never).
    pub(crate) fn start(mut src: F, head: usize, block: usize, max_record: usize) -> Self {
        let mut buf = Vec::with_capacity(block.max(head) + (1 << 20));
        let (more, failure) = match src.fill(&mut buf, head) {
            Ok(m) => (m, None),
            Err(e) => (false, Some(e)),
        };
        RecordBlocks {
            src,
            buf,
            block: block.max(2),
            max_record: max_record.max(1),
            more,
            failure,
            done: false,
        }
    }

    /// What has been read and not handed out yet (after [`RecordBlocks::start`]: the head).
    pub(crate) fn head(&self) -> &[u8] {
        &self.buf
    }

    /// The read error that ended the input early, if one did (it is reported once the blocks
    /// before it are handed out).
    pub(crate) fn failure(&self) -> Option<&io::Error> {
        self.failure.as_ref()
    }

    /// Lifts the record limit (a layout whose records are whole documents, read whole).
    pub(crate) fn without_record_limit(&mut self) {
        self.max_record = usize::MAX;
    }

    /// [`RecordBlocks::next_block_with`] for records of one line.
    pub(crate) fn next_block(&mut self, cut: impl FnMut(&[u8]) -> Option<usize>) -> Option<Block> {
        self.next_block_with(cut, rest_of_line)
    }

    /// The next block. `cut` gives the end of the last whole record in a buffer (`None` or
    /// `Some(0)`: no record ends in it yet). `rest_end(buf, at_eof)` gives, for a buffer that starts on
    /// the last byte read of a record, where the next record starts: the start of the first
    /// line after `buf`'s first line that starts a record (`None`: not known yet; it judges
    /// whole lines, lines of [`RECORD_START_PEEK`] bytes or more, and at the end of input
    /// every line). `None` once the input is exhausted.
    pub(crate) fn next_block_with(
        &mut self,
        mut cut: impl FnMut(&[u8]) -> Option<usize>,
        mut rest_end: impl FnMut(&[u8], bool) -> Option<usize>,
    ) -> Option<Block> {
        loop {
            if self.done {
                return None;
            }
            if self.more {
                let want = self.buf.len().max(self.block / 2) + self.block.div_ceil(2);
                self.refill(want);
            }
            let at_eof = !self.more;
            if self.buf.len() > self.max_record {
                let keep = self.max_record;
                if cut(&self.buf[..keep + 1]).filter(|&e| e > 0).is_none() {
                    // No record ends within the limit by `cut` (whole lines only): where
                    // does the first one end?
                    let tail = memchr::memrchr(b'\n', &self.buf).map_or(0, |i| i + 1);
                    match rest_end(&self.buf, at_eof) {
                        Some(e) if e <= keep => {
                            return Some(Block::Records {
                                data: self.split_at(e),
                                at_eof: false,
                            })
                        }
                        Some(_) => return Some(self.long_record(&mut rest_end)),
                        None if at_eof
                            || tail > keep
                            || self.buf.len() - tail >= RECORD_START_PEEK =>
                        {
                            return Some(self.long_record(&mut rest_end))
                        }
                        // Its last line, not judged yet, may start the next record.
                        None => {}
                    }
                }
            }
            let end = if at_eof {
                Some(self.buf.len())
            } else {
                cut(&self.buf)
            };
            match end {
                // No record ends yet: read on.
                Some(0) if !at_eof => {}
                Some(end) => {
                    self.done = at_eof;
                    return Some(Block::Records {
                        data: self.split_at(end),
                        at_eof,
                    });
                }
                None => {}
            }
        }
    }

    /// The source, once the blocks are all handed out (for the hash of a compressed file).
    pub(crate) fn into_source(self) -> (F, Option<io::Error>) {
        (self.src, self.failure)
    }

    fn refill(&mut self, want: usize) {
        match self.src.fill(&mut self.buf, want) {
            Ok(m) => self.more = m,
            Err(e) => {
                self.failure = Some(e);
                self.more = false;
            }
        }
    }

    /// Hands out `buf[..end]`; the rest moves into a fresh buffer.
    fn split_at(&mut self, end: usize) -> Vec<u8> {
        let mut rest = Vec::with_capacity(self.block + (1 << 20));
        rest.extend_from_slice(&self.buf[end..]);
        self.buf.truncate(end);
        std::mem::replace(&mut self.buf, rest)
    }

    /// The record at the start of the buffer, longer than the limit: its head is kept, the
    /// rest is read and dropped up to the start of the next record (or the end of input),
    /// which stays for the next block.
    fn long_record(&mut self, rest_end: &mut impl FnMut(&[u8], bool) -> Option<usize>) -> Block {
        let keep = self.max_record;
        let head = self.buf[..keep].to_vec();
        let mut newlines = bytecount::count(&head, b'\n') as u64;
        let mut bytes = keep as u64;
        let mut last = head[keep - 1];
        // From here `buf[0]` is the last byte of the record counted so far.
        self.buf.drain(..keep - 1);
        loop {
            let at_eof = !self.more;
            let (upto, end) = match rest_end(&self.buf, at_eof) {
                Some(e) => (e, true),
                None if at_eof => (self.buf.len(), true),
                None => {
                    // Drop what was judged; keep the newline before a line not judged yet
                    // (or, within a long line, its last byte).
                    let tail = match memchr::memrchr(b'\n', &self.buf) {
                        Some(i) if self.buf.len() - i - 1 < RECORD_START_PEEK => i,
                        _ => self.buf.len() - 1,
                    };
                    (tail + 1, false)
                }
            };
            if upto > 1 {
                let part = &self.buf[1..upto];
                newlines += bytecount::count(part, b'\n') as u64;
                bytes += part.len() as u64;
                last = part[part.len() - 1];
            }
            if end {
                self.buf.drain(..upto.max(1));
                self.done = at_eof && self.buf.is_empty();
                break;
            }
            // `buf[upto - 1]` is counted and stays as the new `buf[0]`.
            self.buf.drain(..upto - 1);
            let want = self.buf.len() + self.block;
            self.refill(want);
        }
        let lines = newlines + u64::from(last != b'\n');
        Block::Long { head, lines, bytes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out a text a few bytes per call, as a decoder may.
    struct Trickle<'a> {
        text: &'a [u8],
        step: usize,
    }

    impl Fill for Trickle<'_> {
        fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
            while buf.len() < want {
                if self.text.is_empty() {
                    return Ok(false);
                }
                let n = self.step.min(self.text.len()).min(want - buf.len());
                buf.extend_from_slice(&self.text[..n]);
                self.text = &self.text[n..];
            }
            Ok(true)
        }
    }

    fn last_newline(b: &[u8]) -> Option<usize> {
        memchr::memrchr(b'\n', b).map(|i| i + 1)
    }

    /// Puts the blocks back together, a long record as its head and (if it had one) its
    /// newline; also gives each long record's (head length, lines, bytes).
    fn read_all(
        r: &mut RecordBlocks<Trickle<'_>>,
        mut cut: impl FnMut(&[u8]) -> Option<usize>,
        mut rest_end: impl FnMut(&[u8], bool) -> Option<usize>,
    ) -> (Vec<u8>, Vec<(usize, u64, u64)>) {
        let mut got = Vec::new();
        let mut long = Vec::new();
        while let Some(b) = r.next_block_with(&mut cut, &mut rest_end) {
            match b {
                Block::Records { data, .. } => got.extend_from_slice(&data),
                Block::Long { head, lines, bytes } => {
                    got.extend_from_slice(&head);
                    got.push(b'|');
                    long.push((head.len(), lines, bytes));
                }
            }
        }
        (got, long)
    }

    /// Every block ends on a line end, a line over the limit is handed over as its first
    /// `max` bytes with its length, and every line after a long one is kept, for lines of 1x,
    /// 5x and 50x the block size at every offset around a block edge.
    #[test]
    fn blocks_keep_every_line_around_long_lines_and_the_head_of_long_ones() {
        for block in [16usize, 64] {
            for factor in [1usize, 5, 50] {
                for shift in 0..block + 2 {
                    let long_len = factor * block;
                    let mut text = Vec::new();
                    text.extend(std::iter::repeat_n(b'a', shift));
                    text.push(b'\n');
                    text.extend((0..long_len).map(|i| b'A' + (i % 26) as u8));
                    text.push(b'\n');
                    for i in 0..20 {
                        text.extend_from_slice(format!("line {i}\n").as_bytes());
                    }
                    let max = 2 * block;
                    for step in [1usize, 7, 1000] {
                        let src = Trickle { text: &text, step };
                        let mut r = RecordBlocks::start(src, 8, block, max);
                        let mut edges_ok = true;
                        let (got, long) = read_all(
                            &mut r,
                            |b| {
                                let e = last_newline(b);
                                edges_ok &= e.is_none_or(|e| b[e - 1] == b'\n');
                                e
                            },
                            rest_of_line,
                        );
                        assert!(edges_ok);
                        let mut want = text.clone();
                        let what = format!("block {block} x{factor} shift {shift} step {step}");
                        if long_len > max {
                            assert_eq!(long, [(max, 1, long_len as u64 + 1)], "{what}");
                            // The head, then a mark for the rest (newline included).
                            want.splice(shift + 1 + max..shift + 2 + long_len, *b"|");
                        } else {
                            assert!(long.is_empty(), "{what}");
                        }
                        assert_eq!(got, want, "{what}");
                    }
                }
            }
        }
    }

    /// Records of several lines (a line starting with `R` opens one, as a PostgreSQL prefix
    /// does): one over the limit is handed over as its head with the count of all its lines
    /// (continuation lines of 1x, 5x and 50x the block size, and a line that starts a record
    /// right after the limit), and every record after it is kept whole.
    #[test]
    fn multi_line_records_over_the_limit_keep_their_head_and_line_count() {
        let starts = |l: &[u8]| l.first() == Some(&b'R');
        let cut = |b: &[u8]| -> Option<usize> {
            // The start of the last whole line after the first that opens a record.
            let mut end = memchr::memrchr(b'\n', b)?;
            while let Some(i) = memchr::memrchr(b'\n', &b[..end]) {
                if starts(&b[i + 1..end]) {
                    return Some(i + 1);
                }
                end = i;
            }
            None
        };
        for block in [16usize, 64] {
            for factor in [1usize, 5, 50] {
                for shift in 0..block + 2 {
                    let max = 2 * block;
                    let mut text = Vec::new();
                    text.extend(b"R first\n");
                    text.extend(std::iter::repeat_n(b' ', shift));
                    text.push(b'\n');
                    let long_start = text.len();
                    text.extend(b"R long\n");
                    for k in 0..3 {
                        text.push(b' ');
                        text.extend(std::iter::repeat_n(b'x', factor * block + k));
                        text.push(b'\n');
                    }
                    let long_end = text.len();
                    let long_lines = 4;
                    for i in 0..20 {
                        text.extend_from_slice(format!("R rec {i}\n  more {i}\n").as_bytes());
                    }
                    for step in [1usize, 7, 1000] {
                        let mut r =
                            RecordBlocks::start(Trickle { text: &text, step }, 8, block, max);
                        let (got, long) =
                            read_all(&mut r, cut, |b, eof| rest_of_record(b, eof, starts));
                        let what = format!("block {block} x{factor} shift {shift} step {step}");
                        let mut want = text.clone();
                        let long_len = long_end - long_start;
                        if long_len > max {
                            assert_eq!(long, [(max, long_lines, long_len as u64)], "{what}");
                            want.splice(long_start + max..long_end, *b"|");
                        } else {
                            assert!(long.is_empty(), "{what}");
                        }
                        assert_eq!(
                            String::from_utf8_lossy(&got),
                            String::from_utf8_lossy(&want),
                            "{what}"
                        );
                    }
                }
            }
        }
    }

    /// Without the record limit, one large document is read whole (CloudWatch JSON).
    #[test]
    fn a_record_exempt_from_the_limit_is_read_whole() {
        let text = [b"{".as_slice(), &[b'x'; 100], b"}\n{}\n"].concat();
        let mut r = RecordBlocks::start(
            Trickle {
                text: &text,
                step: 7,
            },
            2,
            4,
            8,
        );
        r.without_record_limit();
        let doc_end = |b: &[u8]| Some(memchr::memrchr(b'}', b).map_or(0, |i| i + 1));
        let mut got = Vec::new();
        while let Some(b) = r.next_block(doc_end) {
            match b {
                Block::Records { data, .. } => got.extend_from_slice(&data),
                Block::Long { .. } => panic!("a document is never cut"),
            }
        }
        assert_eq!(got, text);
    }

    /// A record a few bytes over the limit, followed at once by the next record: the next
    /// one is never taken into the long one's head or dropped with its rest.
    #[test]
    fn the_record_right_after_a_long_one_is_kept() {
        let starts = |l: &[u8]| l.first() == Some(&b'R');
        for over in 0..12 {
            let max = 32;
            let mut text = b"R ".to_vec();
            text.extend(std::iter::repeat_n(b'y', max - 3 + over));
            text.push(b'\n');
            let long_len = text.len();
            text.extend(b"R next one\nR last\n");
            let cut = |b: &[u8]| {
                let mut end = memchr::memrchr(b'\n', b)?;
                while let Some(i) = memchr::memrchr(b'\n', &b[..end]) {
                    if starts(&b[i + 1..end]) {
                        return Some(i + 1);
                    }
                    end = i;
                }
                None
            };
            let mut r = RecordBlocks::start(
                Trickle {
                    text: &text,
                    step: 5,
                },
                4,
                8,
                max,
            );
            let (got, long) = read_all(&mut r, cut, |b, eof| rest_of_record(b, eof, starts));
            let mut want = text.clone();
            if long_len > max {
                assert_eq!(long, [(max, 1, long_len as u64)], "over {over}");
                want.splice(max..long_len, *b"|");
            }
            assert_eq!(got, want, "over {over}");
        }
    }

    /// The last line, with no newline, is handed out at the end; a long last line without a
    /// newline is handed over as its head, and counts as a line.
    #[test]
    fn the_end_of_input_ends_the_last_block() {
        let text = b"one\ntwo";
        let mut r = RecordBlocks::start(Trickle { text, step: 2 }, 2, 4, 100);
        let mut got = Vec::new();
        while let Some(Block::Records { data, .. }) = r.next_block(last_newline) {
            got.extend_from_slice(&data);
        }
        assert_eq!(got, text);

        let text = b"ok\nxxxxxxxxxxxxxxxxxxxxxxxx";
        let mut r = RecordBlocks::start(Trickle { text, step: 3 }, 2, 4, 8);
        let mut blocks = Vec::new();
        while let Some(b) = r.next_block(last_newline) {
            blocks.push(match b {
                Block::Records { data, .. } => String::from_utf8(data).unwrap(),
                Block::Long { head, lines, bytes } => {
                    format!("long {} {lines} {bytes}", String::from_utf8(head).unwrap())
                }
            });
        }
        assert_eq!(blocks, ["ok\n", "long xxxxxxxx 1 24"]);
    }
}
