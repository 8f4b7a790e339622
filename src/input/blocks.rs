//! The one record-aligned block reader of a stream: fill a block, cut it at the last record
//! end, and step over a record longer than any block may hold.
//!
//! Scan ([`crate::plan`]'s stream units), the de-duplication pre-read and `grep` all read
//! compressed files through it, so their blocks (and so their line numbers) agree.
//!
//! Cost: a block is handed out as an owned `Vec` and only the partial record after the cut is
//! copied into the next buffer, so a block costs one copy of that tail, never of the block;
//! a record still continuing grows the buffer by half a block per refill (amortised doubling
//! of the `Vec`), and nothing is ever drained from the front of a large buffer.

use std::io;

/// How much of a stepped-over line is kept for its rejection sample (samples show less).
const EXCERPT_BYTES: usize = 1024;

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
    /// One line longer than the record limit, stepped over to its newline (included).
    TooLong {
        /// Its first bytes (at most [`EXCERPT_BYTES`], more than a rejection sample shows).
        excerpt: Vec<u8>,
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

impl<F: Fill> RecordBlocks<F> {
    /// Reads the first `head` bytes (for sniffing: [`RecordBlocks::head`]). Blocks hold about
    /// `block` bytes; a line with no record end within `max_record` bytes is stepped over
    /// ([`Block::TooLong`], `usize::MAX`: never).
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
            max_record,
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

    /// The next block. `cut` gives the end of the last whole record in a buffer: `None` when
    /// no record ends in it yet (a line past the record limit is then stepped over), `Some(0)`
    /// when none does but the record is exempt from the limit (a JSON document). `None` once
    /// the input is exhausted.
    pub(crate) fn next_block(
        &mut self,
        mut cut: impl FnMut(&[u8]) -> Option<usize>,
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
            let end = if at_eof {
                Some(self.buf.len())
            } else {
                cut(&self.buf)
            };
            match end {
                // A record still open that is exempt from the limit: read on.
                Some(0) if !at_eof => {}
                Some(end) => {
                    self.done = at_eof;
                    return Some(Block::Records {
                        data: self.split_at(end),
                        at_eof,
                    });
                }
                None if self.buf.len() > self.max_record => return Some(self.skip_line()),
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

    /// Steps over the line at the start of the buffer, to its newline or the end of input;
    /// what follows it stays for the next block.
    fn skip_line(&mut self) -> Block {
        let excerpt = self.buf[..self.buf.len().min(EXCERPT_BYTES)].to_vec();
        let mut bytes = 0u64;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf) {
                bytes += i as u64 + 1;
                self.buf.drain(..=i);
                break;
            }
            bytes += self.buf.len() as u64;
            self.buf.clear();
            if !self.more {
                self.done = true;
                break;
            }
            self.refill(1 << 20);
        }
        Block::TooLong { excerpt, bytes }
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

    /// Every block ends on a line end, the blocks put together are the text less the lines
    /// over the limit, and every line after a long one is kept, for lines of 1x, 5x and 50x
    /// the block size at every offset around a block edge.
    #[test]
    fn blocks_keep_every_line_around_long_lines() {
        for block in [16usize, 64] {
            for factor in [1usize, 5, 50] {
                for shift in 0..block + 2 {
                    let mut text = Vec::new();
                    text.extend(std::iter::repeat_n(b'a', shift));
                    text.push(b'\n');
                    text.extend(std::iter::repeat_n(b'L', factor * block));
                    text.push(b'\n');
                    for i in 0..20 {
                        text.extend_from_slice(format!("line {i}\n").as_bytes());
                    }
                    let max = 2 * block;
                    for step in [1usize, 7, 1000] {
                        let src = Trickle { text: &text, step };
                        let mut r = RecordBlocks::start(src, 8, block, max);
                        let mut got = Vec::new();
                        let mut long = 0;
                        while let Some(b) = r.next_block(last_newline) {
                            match b {
                                Block::Records { data, .. } => {
                                    assert!(data.is_empty() || data.ends_with(b"\n"));
                                    got.extend_from_slice(&data);
                                }
                                Block::TooLong { bytes, .. } => {
                                    long += 1;
                                    assert_eq!(bytes as usize, factor * block + 1);
                                }
                            }
                        }
                        let want_long = usize::from(factor * block > max);
                        assert_eq!(long, want_long, "block {block} x{factor} shift {shift}");
                        let mut want = text.clone();
                        if want_long == 1 {
                            want.drain(shift + 1..shift + 2 + factor * block);
                        }
                        assert_eq!(
                            got, want,
                            "block {block} x{factor} shift {shift} step {step}"
                        );
                    }
                }
            }
        }
    }

    /// A cut of `Some(0)` reads on past the record limit (one large JSON document).
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
        let doc_end = |b: &[u8]| Some(memchr::memrchr(b'}', b).map_or(0, |i| i + 1));
        let mut got = Vec::new();
        while let Some(b) = r.next_block(doc_end) {
            match b {
                Block::Records { data, .. } => got.extend_from_slice(&data),
                Block::TooLong { .. } => panic!("a document is never stepped over"),
            }
        }
        assert_eq!(got, text);
    }

    /// The last line, with no newline, is handed out at the end; a long last line without a
    /// newline is stepped over whole.
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
                Block::TooLong { bytes, .. } => format!("long {bytes}"),
            });
        }
        assert_eq!(blocks, ["ok\n", "long 24"]);
    }
}
