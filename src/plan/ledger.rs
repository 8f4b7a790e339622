//! The ledger of a mapped file's chunks: newline counts (each chunk learns the line it starts
//! at) and the file's SHA-256 carried forward chunk by chunk, in file order.

use std::sync::{Condvar, Mutex};

use crate::input::{
    self,
    sha256x2::{self, Sha256State},
};

/// The chunks of one mapped file as its chunk units work through them: each chunk's newline
/// count, from which the later chunks learn the line they start at, and the file's SHA-256,
/// carried forward chunk by chunk in file order.
///
/// A chunk unit begins with [`Ledger::begin`]: it reads its chunk once, counting newlines and,
/// when every earlier chunk is hashed, feeding the hash in the same pass (the pages are then
/// in the core's cache, and the parse finds them mapped). It then waits until every earlier
/// chunk has published its count: units are claimed in order, so each of those is already
/// running, and counting is the first thing it does, so no wait lasts long or forever. A
/// chunk begun while an earlier one is still being hashed is hashed by the unit holding the
/// hash, right after. A chunk's pages go back to the page cache once it is both hashed and
/// parsed, so only the chunks in flight stay resident and the file is read once.
///
/// A unit that panics gives up its count through its [`Ticket`]'s drop (later chunks then
/// count their lines themselves) and still lets the hash pass its chunk;
/// [`Plan::unfinished_hashes`] completes a hash no unit finished.
pub(super) struct Ledger {
    pub(super) bounds: Vec<(usize, usize)>,
    state: Mutex<LedgerState>,
    ready: Condvar,
}

struct LedgerState {
    /// Newlines in chunk 0, 1, ... once counted.
    newlines: Vec<Option<u64>>,
    gave_up: bool,
    /// Chunks whose unit has begun (the hash may read them).
    begun: Vec<bool>,
    parsed: Vec<bool>,
    /// The next chunk to hash; all before it are hashed.
    next_hash: usize,
    /// `None` while a unit is hashing, or once the hash is finished.
    hasher: Option<Sha256State>,
    finished: bool,
}

/// Bytes hashed and counted at a time: small enough to stay in the core's cache between the
/// two.
pub(super) const PIECE_BYTES: usize = 256 << 10;

impl Ledger {
    pub(super) fn new(bounds: Vec<(usize, usize)>) -> Ledger {
        let n = bounds.len();
        Ledger {
            bounds,
            state: Mutex::new(LedgerState {
                newlines: vec![None; n],
                gave_up: false,
                begun: vec![false; n],
                parsed: vec![false; n],
                next_hash: 0,
                hasher: Some(Sha256State::new()),
                finished: false,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LedgerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Begins chunk `index` of `map`: counts its newlines (hashing it in the same pass when
    /// its turn has come) and publishes the count. `done(start, end)` is called for each
    /// chunk that is now both hashed and parsed. Returns the ticket, and the hex SHA-256 of
    /// the file if this call finished it.
    pub(super) fn begin(
        &self,
        index: usize,
        map: &[u8],
        mut done: impl FnMut(usize, usize),
    ) -> (Ticket<'_>, Option<String>) {
        let (ticket, mut hasher) = self.start(index);
        let mut newlines = 0u64;
        feed_pair(
            hasher.as_mut(),
            self.chunk(index, map),
            None,
            &[],
            |piece, _| {
                newlines += bytecount::count(piece, b'\n') as u64;
            },
        );
        let ticket = self.publish(ticket, newlines, hasher);
        let hex = self.carry_hash(map, &mut done);
        (ticket, hex)
    }

    /// Begins two chunks of two files at once, as [`Ledger::begin`] does each, but when both
    /// hashes are due they are fed together ([`sha256x2::update_pair`], nearly twice the
    /// rate of one after the other), and so are the two files' carries.
    #[allow(clippy::type_complexity)]
    pub(super) fn begin_pair<'l>(
        (la, ia, map_a): (&'l Ledger, usize, &[u8]),
        (lb, ib, map_b): (&'l Ledger, usize, &[u8]),
        mut done_a: impl FnMut(usize, usize),
        mut done_b: impl FnMut(usize, usize),
    ) -> ((Ticket<'l>, Option<String>), (Ticket<'l>, Option<String>)) {
        let (ta, mut ha) = la.start(ia);
        let (tb, mut hb) = lb.start(ib);
        let (ca, cb) = (la.chunk(ia, map_a), lb.chunk(ib, map_b));
        let (mut na, mut nb) = (0u64, 0u64);
        feed_pair(ha.as_mut(), ca, hb.as_mut(), cb, |a, b| {
            na += bytecount::count(a, b'\n') as u64;
            nb += bytecount::count(b, b'\n') as u64;
        });
        let ta = la.publish(ta, na, ha);
        let tb = lb.publish(tb, nb, hb);
        let (hex_a, hex_b) = Ledger::carry_pair((la, map_a, &mut done_a), (lb, map_b, &mut done_b));
        ((ta, hex_a), (tb, hex_b))
    }

    /// [`Ledger::carry_hash`] for two files at once: while both have a begun chunk next in
    /// line (and no other unit holds their hash), the two are hashed together.
    fn carry_pair(
        (la, map_a, done_a): (&Ledger, &[u8], &mut impl FnMut(usize, usize)),
        (lb, map_b, done_b): (&Ledger, &[u8], &mut impl FnMut(usize, usize)),
    ) -> (Option<String>, Option<String>) {
        let mut hex_a = la.finish_if_done();
        let mut hex_b = lb.finish_if_done();
        loop {
            let (mut ta, mut tb) = (la.take_next(), lb.take_next());
            if ta.is_none() && tb.is_none() {
                return (hex_a, hex_b);
            }
            let ca = ta.as_ref().map_or(&[][..], |t| la.chunk(t.1, map_a));
            let cb = tb.as_ref().map_or(&[][..], |t| lb.chunk(t.1, map_b));
            feed_pair(
                ta.as_mut().map(|t| &mut t.0),
                ca,
                tb.as_mut().map(|t| &mut t.0),
                cb,
                |_, _| {},
            );
            if let Some((h, k)) = ta {
                hex_a = hex_a.or(la.put_back(h, k, done_a));
            }
            if let Some((h, k)) = tb {
                hex_b = hex_b.or(lb.put_back(h, k, done_b));
            }
        }
    }

    /// Chunk `index` of `map`.
    fn chunk<'m>(&self, index: usize, map: &'m [u8]) -> &'m [u8] {
        let (start, end) = self.bounds[index];
        &map[start..end]
    }

    /// Marks chunk `index` begun; the hasher too if its turn has come (the caller feeds the
    /// chunk to it and hands it back to [`Ledger::publish`]).
    fn start(&self, index: usize) -> (Ticket<'_>, Option<Sha256State>) {
        let ticket = Ticket {
            ledger: self,
            index,
            counted: false,
            parsed: false,
        };
        let mut s = self.lock();
        s.begun[index] = true;
        let hasher = if s.next_hash == index {
            s.hasher.take()
        } else {
            None
        };
        (ticket, hasher)
    }

    /// Publishes a begun chunk's newline count and hands back the hasher (which has read the
    /// chunk); the caller then carries the hash on.
    fn publish<'l>(
        &'l self,
        mut ticket: Ticket<'l>,
        newlines: u64,
        hasher: Option<Sha256State>,
    ) -> Ticket<'l> {
        let mut s = self.lock();
        if let Some(h) = hasher {
            s.next_hash += 1;
            s.hasher = Some(h);
        }
        s.newlines[ticket.index] = Some(newlines);
        ticket.counted = true;
        self.ready.notify_all();
        ticket
    }

    /// Hashes every begun chunk next in file order, unless another unit holds the hash (it
    /// will see them). The hex digest when this finished the file.
    fn carry_hash(&self, map: &[u8], done: &mut impl FnMut(usize, usize)) -> Option<String> {
        if let Some(hex) = self.finish_if_done() {
            return Some(hex);
        }
        while let Some((mut h, k)) = self.take_next() {
            h.update(self.chunk(k, map));
            if let Some(hex) = self.put_back(h, k, done) {
                return Some(hex);
            }
        }
        None
    }

    /// The digest, if every chunk is hashed and no unit has reported it yet.
    fn finish_if_done(&self) -> Option<String> {
        let mut s = self.lock();
        if s.next_hash == self.bounds.len() && !s.finished {
            let h = s.hasher.take()?;
            s.finished = true;
            return Some(input::hex(&h.finalize()));
        }
        None
    }

    /// Takes the hasher and the index of the next chunk to hash, if that chunk is begun and
    /// no other unit holds the hasher.
    fn take_next(&self) -> Option<(Sha256State, usize)> {
        let mut s = self.lock();
        let k = s.next_hash;
        if k < self.bounds.len() && s.begun[k] {
            return s.hasher.take().map(|h| (h, k));
        }
        None
    }

    /// Hands back the hasher after it read chunk `k` (from [`Ledger::take_next`]); `done` as
    /// for [`Ledger::begin`]. The hex digest when that was the last chunk.
    fn put_back(
        &self,
        h: Sha256State,
        k: usize,
        done: &mut impl FnMut(usize, usize),
    ) -> Option<String> {
        let mut s = self.lock();
        s.next_hash = k + 1;
        if s.parsed[k] {
            let (start, end) = self.bounds[k];
            done(start, end);
        }
        if s.next_hash == self.bounds.len() {
            s.finished = true;
            return Some(input::hex(&h.finalize()));
        }
        s.hasher = Some(h);
        None
    }

    /// Hashes whatever is left (chunks a panicking unit never let through), once every unit
    /// has run. `None` if the units finished the hash.
    pub(super) fn finish(&self, map: &[u8]) -> Option<String> {
        let mut s = self.lock();
        if s.finished {
            return None;
        }
        let mut hasher = s.hasher.take()?;
        let from = self.bounds.get(s.next_hash).map_or(map.len(), |b| b.0);
        hasher.update(&map[from..]);
        s.finished = true;
        Some(input::hex(&hasher.finalize()))
    }
}

/// Feeds `ca` to `ha` and `cb` to `hb` (a side without a hasher is only walked) in pieces of
/// [`PIECE_BYTES`], the two hashes together while both sides have pieces; `each(a, b)` then
/// sees the same pieces (an empty one once a side has run out), while they are in the cache.
fn feed_pair(
    mut ha: Option<&mut Sha256State>,
    ca: &[u8],
    mut hb: Option<&mut Sha256State>,
    cb: &[u8],
    mut each: impl FnMut(&[u8], &[u8]),
) {
    let mut pa = ca.chunks(PIECE_BYTES);
    let mut pb = cb.chunks(PIECE_BYTES);
    loop {
        let (a, b) = match (pa.next(), pb.next()) {
            (None, None) => return,
            (a, b) => (a.unwrap_or(&[]), b.unwrap_or(&[])),
        };
        match (ha.as_deref_mut(), hb.as_deref_mut()) {
            (Some(x), Some(y)) => sha256x2::update_pair(x, a, y, b),
            (Some(x), None) => x.update(a),
            (None, Some(y)) => y.update(b),
            (None, None) => {}
        }
        each(a, b);
    }
}

/// One chunk unit's part in its file's [`Ledger`].
pub(super) struct Ticket<'a> {
    ledger: &'a Ledger,
    pub(super) index: usize,
    counted: bool,
    parsed: bool,
}

impl Ticket<'_> {
    /// The line the chunk starts at, once every earlier chunk has published its count; `None`
    /// if one of them gave up (the caller counts from the file's start).
    pub(super) fn first_line(&self) -> Option<u64> {
        let mut s = self.ledger.lock();
        loop {
            let before = &s.newlines[..self.index];
            if let Some(n) = before.iter().try_fold(1u64, |acc, c| c.map(|c| acc + c)) {
                return Some(n);
            }
            if s.gave_up {
                return None;
            }
            s = self.ledger.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The newlines of this chunk (counted when it was begun).
    pub(super) fn newlines(&self) -> Option<u64> {
        self.ledger.lock().newlines[self.index]
    }

    /// Marks the chunk parsed and carries the hash forward over begun chunks. `done` as for
    /// [`Ledger::begin`]. The hex SHA-256 of the file when this call finished it.
    pub(super) fn parsed(
        mut self,
        map: &[u8],
        mut done: impl FnMut(usize, usize),
    ) -> Option<String> {
        self.parsed = true;
        let mut s = self.ledger.lock();
        s.parsed[self.index] = true;
        if s.next_hash > self.index {
            let (start, end) = self.ledger.bounds[self.index];
            done(start, end);
        }
        drop(s);
        self.ledger.carry_hash(map, &mut done)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut s = self.ledger.lock();
        // A panicking unit: later chunks count for themselves, and the hash may pass this
        // chunk (the unit that takes it next reports it).
        s.begun[self.index] = true;
        if !self.counted {
            s.gave_up = true;
            self.ledger.ready.notify_all();
        }
        if !self.parsed {
            s.parsed[self.index] = true;
        }
    }
}
