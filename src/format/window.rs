//! Where a time window (`--since`/`--until`) lies in a log, found without parsing what lies
//! outside it.
//!
//! MariaDB `server_audit`, RDS for MySQL, MariaDB syslog output and PostgreSQL (stderr and
//! csvlog) write their records in time order, up to the small disorder of concurrent writers
//! (two sessions logging in the same millisecond, a line written after a slightly later one).
//! The bound assumed is [`DISORDER_US`]: a record is never more than that older than any record
//! before it. Under it, [`span`] finds the byte range that may hold events of the window the
//! way `look(1)` searches a sorted file: it reads the first and the last records, gives an
//! empty range when the whole buffer lies outside the window, and otherwise binary-searches
//! record boundaries by timestamp for the start (a record older than `since - DISORDER_US`:
//! every record before it is older than `since`) and the end (a record at or after
//! `until + DISORDER_US`: every record from it on is at or after `until`).
//!
//! The bound is checked, not trusted: every record read by the search (its probes) must keep
//! it against every other, the records within [`VERIFY_BYTES`] before the start cut must all be
//! older than `since` and those within [`VERIFY_BYTES`] after the end cut all at or after
//! `until` (and in order within the bound among themselves). When a check fails, or the search
//! meets a stretch with no event in it, the whole buffer is parsed ([`Span::fell_back`]).
//!
//! Aurora MySQL's files (written by concurrent threads) and CloudWatch S3-export lines are only
//! skipped whole, when their first and last records bound them outside the window (and the
//! probes agree); otherwise they are parsed whole. CloudWatch JSON deliveries are always
//! parsed (their events are not found by lines).
//!
//! The records are read by the family's own parser, one record at a time, so the times the
//! search compares are the times the scan filters on.

use super::{next_record_start, Decoded, Family, FileFormat, Reason, RecordSink};
use crate::event::Event;

/// The disorder assumed among the records of a time-ordered log: 5 minutes. Concurrent writers
/// of one server file disorder it by milliseconds; the bound is wide so that a clock step
/// does not break it, and costs only that much more parsing at each cut.
pub const DISORDER_US: i64 = 300 * 1_000_000;

/// Bytes of records read on the skipped side of each cut to verify the order there.
pub const VERIFY_BYTES: usize = 64 << 10;

/// Bytes read at the end of a buffer for its last records.
const TAIL_BYTES: usize = 4 << 10;

/// Records read forward from a probe point for one that is an event, before giving up.
const PROBE_RECORDS: usize = 64;

/// Buffers at most this long are only skipped whole or parsed whole (a search for cuts would
/// read most of them anyway).
const SMALL_BYTES: usize = 4 * VERIFY_BYTES;

/// How far a format's order can be relied on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Written in time order (within [`DISORDER_US`]): cut anywhere by search.
    Sorted,
    /// Only skipped whole, when the first and last records bound it outside the window.
    Bounded,
    /// Always parsed.
    Unknown,
}

pub fn order_of(format: &FileFormat) -> Order {
    if format.cloudwatch_export {
        return Order::Bounded;
    }
    match format.family {
        Family::MysqlAudit | Family::MysqlSyslog | Family::Postgres | Family::PostgresCsv => {
            Order::Sorted
        }
        Family::AuroraAudit => Order::Bounded,
        Family::CloudwatchJson => Order::Unknown,
    }
}

/// Whether a record reads the same whatever came before it in its chunk. A PostgreSQL record
/// may inherit its session's user, database and host from an earlier record of the same chunk,
/// so the skipped part before a window's start is only ever whole chunks there.
pub fn cut_anywhere(format: &FileFormat) -> bool {
    matches!(
        format.family,
        Family::MysqlAudit | Family::AuroraAudit | Family::MysqlSyslog
    )
}

/// The part of a buffer to parse: `start..end`, both record starts (or the buffer's ends).
/// Records before `start` and from `end` on lie outside the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    /// A check failed (or the search found no event to compare): the whole buffer is parsed.
    pub fell_back: bool,
}

impl Span {
    pub fn full(len: usize) -> Span {
        Span {
            start: 0,
            end: len,
            fell_back: false,
        }
    }

    fn fallback(len: usize) -> Span {
        Span {
            fell_back: true,
            ..Span::full(len)
        }
    }
}

/// The events of a piece of a log, as the search reads them.
#[derive(Default)]
struct Probe {
    events: u64,
    first: i64,
    min: i64,
    max: i64,
    /// An event more than [`DISORDER_US`] older than one before it.
    disorder: bool,
}

impl<'a> RecordSink<'a> for Probe {
    fn event(&mut self, event: Event<'a>, _message: &'a [u8]) {
        let t = event.time_us;
        if self.events == 0 {
            (self.first, self.min, self.max) = (t, t, t);
        } else {
            self.disorder |= self.max.saturating_sub(t) > DISORDER_US;
            self.min = self.min.min(t);
            self.max = self.max.max(t);
        }
        self.events += 1;
    }
    fn blank(&mut self, _line: u64) {}
    fn rejected(&mut self, _line: u64, _reason: Reason, _text: &'a [u8]) {}
}

struct Search<'b> {
    format: &'b FileFormat,
    buf: &'b [u8],
    at_eof: bool,
    /// (record start, time) of every event record the search read.
    probes: Vec<(usize, i64)>,
}

impl Search<'_> {
    fn read(&self, start: usize, end: usize) -> Probe {
        let mut probe = Probe::default();
        let at_eof = self.at_eof && end == self.buf.len();
        let decoded = Decoded::new(self.format, &self.buf[start..end], at_eof, None);
        decoded.parse(self.format, 1, at_eof, &mut probe);
        probe
    }

    /// The first event record at or after record start `at`: its start and time.
    fn time_at(&mut self, mut at: usize) -> Option<(usize, i64)> {
        for _ in 0..PROBE_RECORDS {
            if at >= self.buf.len() {
                return None;
            }
            let end = next_record_start(self.format, self.buf, at + 1);
            let probe = self.read(at, end);
            if probe.events > 0 {
                self.probes.push((at, probe.first));
                return Some((at, probe.first));
            }
            at = end;
        }
        None
    }

    /// Whether the probes keep the disorder bound among themselves.
    fn probes_in_order(&mut self) -> bool {
        self.probes.sort_unstable();
        let mut max = i64::MIN;
        for &(_, t) in &self.probes {
            if max.saturating_sub(t) > DISORDER_US {
                return false;
            }
            max = max.max(t);
        }
        true
    }
}

/// The part of `buf` (record-aligned; `at_eof`: it ends the input) that may hold events in
/// `[since, until)`: see the module doc. The full buffer without a window.
pub fn span(
    format: &FileFormat,
    buf: &[u8],
    at_eof: bool,
    since: Option<i64>,
    until: Option<i64>,
) -> Span {
    let len = buf.len();
    let order = order_of(format);
    if (since.is_none() && until.is_none()) || len == 0 || order == Order::Unknown {
        return Span::full(len);
    }
    let mut s = Search {
        format,
        buf,
        at_eof,
        probes: Vec::new(),
    };
    let Some((first_at, first)) = s.time_at(0) else {
        return Span::fallback(len);
    };
    let tail_start = next_record_start(format, buf, len.saturating_sub(TAIL_BYTES));
    let tail = s.read(tail_start, len);
    if tail.events == 0 || tail.disorder {
        return Span::fallback(len);
    }
    s.probes.push((tail_start, tail.min));
    s.probes.push((tail_start, tail.max));

    // Wholly outside: every record is at most the disorder bound past the last ones, and at
    // most that before the first. A few probes across the buffer check the bound.
    let before = since.is_some_and(|t| tail.max.saturating_add(DISORDER_US) < t);
    let after = until.is_some_and(|t| first.saturating_sub(DISORDER_US) >= t);
    if before || after {
        for i in 1..8 {
            let at = next_record_start(format, buf, len / 8 * i);
            if at < tail_start && s.time_at(at).is_none() {
                return Span::fallback(len);
            }
        }
        if !s.probes_in_order() {
            return Span::fallback(len);
        }
        let at = if before { len } else { 0 };
        return Span {
            start: at,
            end: at,
            fell_back: false,
        };
    }
    if order != Order::Sorted || len <= SMALL_BYTES {
        return Span::full(len);
    }

    // The start: the last record found older than `since - DISORDER_US`.
    let mut lo = 0;
    if let Some(since) = since {
        let target = since.saturating_sub(DISORDER_US);
        if first < target {
            lo = first_at;
            let mut hi = len;
            loop {
                let rs = next_record_start(format, buf, lo + (hi - lo) / 2);
                if rs >= hi || rs <= lo {
                    break;
                }
                let Some((at, t)) = s.time_at(rs) else {
                    return Span::fallback(len);
                };
                if t >= target {
                    hi = rs;
                } else if at >= hi {
                    break;
                } else {
                    lo = at;
                }
            }
        }
        if lo > 0 {
            let from = next_record_start(format, buf, lo.saturating_sub(VERIFY_BYTES));
            let v = s.read(from, lo);
            if v.disorder || (v.events > 0 && v.max >= since) {
                return Span::fallback(len);
            }
        }
    }

    // The end: a record found at or after `until + DISORDER_US`.
    let mut end = len;
    if let Some(until) = until {
        let target = until.saturating_add(DISORDER_US);
        let mut lo2 = lo;
        loop {
            let rs = next_record_start(format, buf, lo2 + (end - lo2) / 2);
            if rs >= end || rs <= lo2 {
                break;
            }
            let Some((at, t)) = s.time_at(rs) else {
                return Span::fallback(len);
            };
            if t >= target {
                end = rs;
            } else if at >= end {
                break;
            } else {
                lo2 = at;
            }
        }
        if end < len {
            let to = next_record_start(format, buf, (end + VERIFY_BYTES).min(len));
            let v = s.read(end, to);
            if v.disorder || (v.events > 0 && v.min < until) {
                return Span::fallback(len);
            }
        }
    }
    if !s.probes_in_order() {
        return Span::fallback(len);
    }
    Span {
        start: lo,
        end,
        fell_back: false,
    }
}

/// Physical lines in `bytes` (a run of whole records; `at_eof`: a last line without its
/// newline counts too), counted at memchr speed.
pub fn count_lines(bytes: &[u8], at_eof: bool) -> u64 {
    bytecount::count(bytes, b'\n') as u64
        + u64::from(at_eof && bytes.last().is_some_and(|&b| b != b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Clock, FormatChoice};

    fn mysql_lines(n: usize, time: impl Fn(usize) -> i64) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            let secs = time(i);
            let t = crate::time::rfc3339(secs * 1_000_000);
            // 2026-03-01T12:00:00Z -> 20260301 12:00:00
            let stamp = format!("{}{}{} {}", &t[0..4], &t[5..7], &t[8..10], &t[11..19]);
            out.extend_from_slice(
                format!("{stamp},db1,app,10.20.1.5,{i},{i},QUERY,shop,'SELECT {i} FROM t',0\n")
                    .as_bytes(),
            );
        }
        out
    }

    fn fmt_of(buf: &[u8]) -> FileFormat {
        crate::format::detect(FormatChoice::Auto, Clock::default(), &buf[..4096]).unwrap()
    }

    const T0: i64 = 1_772_366_400; // 2026-03-01T12:00:00Z

    fn times(fmt: &FileFormat, buf: &[u8]) -> Vec<(usize, i64)> {
        let mut s = Search {
            format: fmt,
            buf,
            at_eof: true,
            probes: Vec::new(),
        };
        let mut at = 0;
        let mut out = Vec::new();
        while let Some((a, t)) = s.time_at(at) {
            out.push((a, t));
            at = next_record_start(fmt, buf, a + 1);
        }
        out
    }

    #[test]
    fn the_span_holds_exactly_the_records_a_sorted_file_needs() {
        // One record a second for 20,000 seconds.
        let buf = mysql_lines(20_000, |i| T0 + i as i64);
        let fmt = fmt_of(&buf);
        assert_eq!(fmt.family, Family::MysqlAudit);
        let all = times(&fmt, &buf);
        assert_eq!(all.len(), 20_000);
        for (since, until) in [
            (Some(T0 + 10_000), None),
            (None, Some(T0 + 5_000)),
            (Some(T0 + 3_000), Some(T0 + 3_001)),
            (Some(T0 + 19_999), None),
        ] {
            let (su, uu) = (since.map(|t| t * 1_000_000), until.map(|t| t * 1_000_000));
            let sp = span(&fmt, &buf, true, su, uu);
            assert!(!sp.fell_back, "{since:?} {until:?}");
            for &(at, t) in &all {
                let inside = su.is_none_or(|s| t >= s) && uu.is_none_or(|u| t < u);
                if inside {
                    assert!(at >= sp.start && at < sp.end, "{at} {t} {sp:?}");
                }
            }
            // Little is parsed beyond the window and its disorder margin.
            let margin = (2 * DISORDER_US / 1_000_000 + 2) as usize;
            let n_inside = all
                .iter()
                .filter(|&&(at, _)| at >= sp.start && at < sp.end)
                .count();
            let wanted = all
                .iter()
                .filter(|&&(_, t)| su.is_none_or(|s| t >= s) && uu.is_none_or(|u| t < u))
                .count();
            assert!(n_inside <= wanted + margin, "{n_inside} vs {wanted}");
        }
    }

    #[test]
    fn a_buffer_wholly_outside_is_skipped_whole() {
        let buf = mysql_lines(20_000, |i| T0 + i as i64);
        let fmt = fmt_of(&buf);
        let late = span(&fmt, &buf, true, Some((T0 + 30_000) * 1_000_000), None);
        assert_eq!(
            (late.start, late.end, late.fell_back),
            (buf.len(), buf.len(), false)
        );
        let early = span(&fmt, &buf, true, None, Some((T0 - 1_000) * 1_000_000));
        assert_eq!((early.start, early.end, early.fell_back), (0, 0, false));
    }

    #[test]
    fn a_record_of_the_window_just_before_the_cut_makes_it_fall_back() {
        // Sorted, except one in-window record placed among old ones just before the cut.
        let since = T0 + 10_000;
        let plain = mysql_lines(20_000, |i| T0 + i as i64);
        let fmt = fmt_of(&plain);
        let sp = span(&fmt, &plain, true, Some(since * 1_000_000), None);
        assert!(!sp.fell_back);
        let line_at = plain[..sp.start].iter().filter(|&&b| b == b'\n').count();
        let moved = line_at.saturating_sub(20);
        let buf = mysql_lines(20_000, |i| {
            if i == moved {
                since + 100
            } else {
                T0 + i as i64
            }
        });
        let sp = span(&fmt, &buf, true, Some(since * 1_000_000), None);
        assert!(sp.fell_back, "{sp:?}");
        assert_eq!((sp.start, sp.end), (0, buf.len()));
    }

    #[test]
    fn a_record_of_the_window_just_after_the_end_cut_makes_it_fall_back() {
        let until = T0 + 10_000;
        let plain = mysql_lines(20_000, |i| T0 + i as i64);
        let fmt = fmt_of(&plain);
        let sp = span(&fmt, &plain, true, None, Some(until * 1_000_000));
        assert!(!sp.fell_back && sp.end < plain.len(), "{sp:?}");
        let line_at = plain[..sp.end].iter().filter(|&&b| b == b'\n').count();
        let buf = mysql_lines(20_000, |i| {
            if i == line_at + 20 {
                until - 100
            } else {
                T0 + i as i64
            }
        });
        let sp = span(&fmt, &buf, true, None, Some(until * 1_000_000));
        assert!(sp.fell_back, "{sp:?}");
    }

    #[test]
    fn unsorted_probes_fall_back() {
        // Two interleaved clocks an hour apart: the probes disagree.
        let buf = mysql_lines(20_000, |i| T0 + i as i64 / 2 + (i as i64 % 2) * 3_600);
        let fmt = fmt_of(&buf);
        let sp = span(&fmt, &buf, true, Some((T0 + 8_000) * 1_000_000), None);
        assert!(sp.fell_back, "{sp:?}");
    }

    /// Bad input never panics, and a span always lies on record starts within the buffer:
    /// sorted lines mixed with garbage, blank lines, bad dates, PostgreSQL continuation
    /// lines and bytes that are not UTF-8, under random windows.
    #[test]
    fn garbage_never_panics_and_spans_stay_on_record_starts() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let good = mysql_lines(4_000, |i| T0 + i as i64);
        let pg_fmt = crate::format::detect(
            FormatChoice::Postgres,
            Clock::default(),
            b"2026-03-01 12:00:00 UTC:10.0.0.1(5000):app@db:[42]:LOG:  statement: SELECT 1\n",
        )
        .unwrap();
        for round in 0..40 {
            let mut buf = Vec::new();
            for line in good.split_inclusive(|&b| b == b'\n') {
                match next() % 50 {
                    0 => buf.extend_from_slice(b"garbage \xff\xfe line\n"),
                    1 => buf.extend_from_slice(b"\n"),
                    2 => buf.extend_from_slice(b"20260231 12:00:00,x,y,z,1,2,QUERY,d,'q',0\n"),
                    3 => buf.extend_from_slice(b"\tcontinuation of a statement\n"),
                    4 => buf.extend_from_slice(
                        b"2026-03-01 12:00:00 UTC:10.0.0.1(5000):app@db:[42]:LOG:  statement: SELECT 1\n",
                    ),
                    _ => {}
                }
                buf.extend_from_slice(line);
            }
            if round % 3 == 0 {
                buf.truncate(buf.len() - (next() % 40) as usize);
            }
            let fmt = if round % 2 == 0 {
                fmt_of(&good)
            } else {
                pg_fmt
            };
            for _ in 0..5 {
                let t = |x: u64| Some((T0 + (x % 5_000) as i64 - 500) * 1_000_000);
                let (since, until) = match next() % 3 {
                    0 => (t(next()), None),
                    1 => (None, t(next())),
                    _ => (t(next()), t(next())),
                };
                let sp = span(&fmt, &buf, round % 4 != 1, since, until);
                assert!(sp.start <= sp.end && sp.end <= buf.len(), "{sp:?}");
                for at in [sp.start, sp.end] {
                    assert!(
                        at == 0 || at == buf.len() || next_record_start(&fmt, &buf, at) == at,
                        "{at} is not a record start"
                    );
                }
            }
        }
    }

    #[test]
    fn count_lines_counts_a_last_line_without_newline_at_eof() {
        assert_eq!(count_lines(b"a\nb\n", true), 2);
        assert_eq!(count_lines(b"a\nb", true), 2);
        assert_eq!(count_lines(b"a\nb", false), 1);
        assert_eq!(count_lines(b"", true), 0);
    }
}
