//! Counters that account for every input line and describe the traffic: built per chunk in
//! the workers, merged in input order by the pipeline, then rendered by the summary.
//!
//! Everything here is an aggregate (counts per user, per source, per operation; a bounded
//! list of rejected samples), so memory does not grow with the number of events.

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use crate::bytes::bytes_eq;
use crate::event::{session_slot, Event, Operation, SESSION_SLOTS};
use crate::format::Reason;

/// How many rejected lines are kept verbatim per file and in total.
pub(crate) const REJECTED_SAMPLES: usize = 20;
use crate::format::EXCERPT_BYTES;

#[derive(Clone, Debug, serde::Serialize)]
pub struct RejectedSample {
    pub file: String,
    pub line: u64,
    pub reason: &'static str,
    pub excerpt: String,
}

#[derive(Default, Debug, Clone)]
pub struct Stats {
    pub lines: u64,
    pub records: u64,
    pub ignored: u64,
    pub blank: u64,
    pub rejected: u64,
    /// Events outside `--since`/`--until` (parsed, then left out of every output), and every
    /// line of the parts of a file the window search skipped (counted, not parsed).
    pub filtered: u64,
    /// Events an earlier CloudWatch export file already delivered (left out likewise).
    pub duplicates: u64,
    /// Records over the record limit, kept as events with their text cut (a part of
    /// `records`).
    pub truncated: u64,
    /// Bytes handed to the parser (decompressed bytes for a compressed input).
    pub parsed_bytes: u64,
    /// Bytes outside the time window, only hashed and counted (their lines are `filtered`).
    pub skipped_bytes: u64,
    pub operations: [u64; Operation::ALL.len()],
    pub first_us: Option<i64>,
    pub last_us: Option<i64>,
    pub users: HashMap<Box<[u8]>, u64>,
    pub sources: HashMap<Box<[u8]>, u64>,
    pub rejected_by_reason: HashMap<Reason, u64>,
    /// (line, reason, excerpt) of the first rejected lines, file-local.
    pub rejected_samples: Vec<(u64, Reason, String)>,
    /// Successful logins, and how many of them say whether the session is encrypted.
    pub sessions: u64,
    pub tls_known: u64,
    pub tls_encrypted: u64,
}

/// Per-chunk counting. Users and sources are first counted per session, in a small table
/// direct-mapped by connection id: a session's events share its user and host, and sessions
/// interleave, so most events add to a pending count and only a slot taken over by another
/// session (or the end of the chunk) reaches the hash maps.
pub(crate) struct StatsBuilder<'a> {
    pub stats: Stats,
    users: HashMap<&'a [u8], u64>,
    sources: HashMap<&'a [u8], u64>,
    sessions: Box<[Pending<'a>; SESSION_SLOTS]>,
}

/// A session's pending counts: its user and host, and how many events carried each.
#[derive(Clone, Copy)]
struct Pending<'a> {
    connection_id: i64,
    user: &'a [u8],
    users: u64,
    host: &'a [u8],
    hosts: u64,
}

const NO_PENDING: Pending<'static> = Pending {
    connection_id: i64::MIN,
    user: b"",
    users: 0,
    host: b"",
    hosts: 0,
};

impl Default for StatsBuilder<'_> {
    fn default() -> Self {
        StatsBuilder {
            stats: Stats::default(),
            users: HashMap::default(),
            sources: HashMap::default(),
            sessions: Box::new([NO_PENDING; SESSION_SLOTS]),
        }
    }
}

impl<'a> StatsBuilder<'a> {
    #[inline]
    pub fn event(&mut self, e: &Event<'a>) {
        let s = &mut self.stats;
        s.records += 1;
        s.operations[e.operation.index()] += 1;
        s.first_us = Some(s.first_us.map_or(e.time_us, |t| t.min(e.time_us)));
        s.last_us = Some(s.last_us.map_or(e.time_us, |t| t.max(e.time_us)));
        if e.operation.is_successful_login() {
            s.sessions += 1;
            if let Some(tls) = e.tls {
                s.tls_known += 1;
                s.tls_encrypted += tls as u64;
            }
        }
        let slot = &mut self.sessions[session_slot(e.connection_id)];
        if slot.connection_id != e.connection_id {
            Self::flush(slot, &mut self.users, &mut self.sources);
            slot.connection_id = e.connection_id;
        }
        if slot.users > 0 && bytes_eq(slot.user, e.user) {
            slot.users += 1;
        } else {
            Self::switch(&mut slot.user, &mut slot.users, e.user, &mut self.users);
        }
        if slot.hosts > 0 && bytes_eq(slot.host, e.client_host) {
            slot.hosts += 1;
        } else {
            Self::switch(
                &mut slot.host,
                &mut slot.hosts,
                e.client_host,
                &mut self.sources,
            );
        }
    }

    /// A slot's pending name changes: its count goes to the map, the new name starts at one.
    /// Out of line: a session's events share its user and host.
    #[cold]
    #[inline(never)]
    fn switch(
        name: &mut &'a [u8],
        count: &mut u64,
        new: &'a [u8],
        map: &mut HashMap<&'a [u8], u64>,
    ) {
        if *count > 0 {
            *map.entry(*name).or_default() += *count;
        }
        (*name, *count) = (new, 1);
    }

    /// Moves a slot's pending counts into the maps and empties it.
    fn flush(
        slot: &mut Pending<'a>,
        users: &mut HashMap<&'a [u8], u64>,
        sources: &mut HashMap<&'a [u8], u64>,
    ) {
        if slot.users > 0 {
            *users.entry(slot.user).or_default() += slot.users;
        }
        if slot.hosts > 0 {
            *sources.entry(slot.host).or_default() += slot.hosts;
        }
        *slot = NO_PENDING;
    }

    pub fn rejected(&mut self, line: u64, reason: Reason, text: &[u8]) {
        let s = &mut self.stats;
        s.rejected += 1;
        *s.rejected_by_reason.entry(reason).or_default() += 1;
        if s.rejected_samples.len() < REJECTED_SAMPLES {
            s.rejected_samples.push((line, reason, excerpt(text)));
        }
    }

    pub fn finish(mut self) -> Stats {
        for slot in self.sessions.iter_mut() {
            Self::flush(slot, &mut self.users, &mut self.sources);
        }
        self.stats.users = self.users.into_iter().map(|(k, v)| (k.into(), v)).collect();
        self.stats.sources = self
            .sources
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect();
        self.stats
    }
}

impl Stats {
    /// Adds another chunk's counters (in input order, so samples keep file order).
    pub fn merge(&mut self, o: Stats) {
        self.lines += o.lines;
        self.records += o.records;
        self.ignored += o.ignored;
        self.blank += o.blank;
        self.rejected += o.rejected;
        self.filtered += o.filtered;
        self.duplicates += o.duplicates;
        self.truncated += o.truncated;
        self.parsed_bytes += o.parsed_bytes;
        self.skipped_bytes += o.skipped_bytes;
        for (a, b) in self.operations.iter_mut().zip(o.operations) {
            *a += b;
        }
        self.first_us = min_opt(self.first_us, o.first_us);
        self.last_us = max_opt(self.last_us, o.last_us);
        for (k, v) in o.users {
            *self.users.entry(k).or_default() += v;
        }
        for (k, v) in o.sources {
            *self.sources.entry(k).or_default() += v;
        }
        for (k, v) in o.rejected_by_reason {
            *self.rejected_by_reason.entry(k).or_default() += v;
        }
        let room = REJECTED_SAMPLES.saturating_sub(self.rejected_samples.len());
        self.rejected_samples
            .extend(o.rejected_samples.into_iter().take(room));
        self.sessions += o.sessions;
        self.tls_known += o.tls_known;
        self.tls_encrypted += o.tls_encrypted;
    }

    /// The `n` largest entries of a counter, ties broken by name (deterministic).
    pub fn top(map: &HashMap<Box<[u8]>, u64>, n: usize) -> Vec<(String, u64)> {
        let mut v: Vec<_> = map.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        v.into_iter()
            .take(n)
            .map(|(k, c)| (String::from_utf8_lossy(k).into_owned(), *c))
            .collect()
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// A printable excerpt of a rejected line: lossy UTF-8, cut at a character boundary.
pub(crate) fn excerpt(text: &[u8]) -> String {
    let cut = &text[..text.len().min(EXCERPT_BYTES)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if text.len() > EXCERPT_BYTES {
        s.push('…');
    }
    s
}
