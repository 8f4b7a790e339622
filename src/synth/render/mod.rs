//! Rendering: one slice of the plan into log text, the same bytes whatever the thread count.
//!
//! A slice renders as a k-way merge (a heap keyed by each session's next event time) that
//! formats lines straight into reused byte buffers, with its own RNG seeded from
//! `(seed, slice index)`. What is common to every flavor lives here: the per-session state
//! ([`Live`]), the cached time texts ([`Fmt`]), the [`Emitter`] and the spacing of queries
//! ([`next_time`]). The line formats are in [`mysql`] (RDS for MySQL, MariaDB, Aurora) and
//! [`postgres`] (RDS PostgreSQL's `postgresql.log`). The CloudWatch export prefix is written
//! by the line heads of each flavor, as the export writes it in front of every line.

mod mysql;
mod postgres;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::plan::{Body, Env, Session, SlicePlan, Tab};
use super::rng::{range, rng_for, unit, R};
use super::text::{put2, put4};
use super::time::{civil_from_days, MS, US};
use super::Flavor;

/// Where one session is while its slice renders.
#[derive(Clone, Copy, Default)]
pub(crate) struct Live {
    conn: i64,
    step: u32,
    /// Driver handshake statements still to send.
    pub(crate) init_left: u8,
    /// The application transaction under way (background SQL), and its step.
    pub(crate) txn: u8,
    pub(crate) tstep: u8,
    pub(crate) a: u64,
    pub(crate) b: u64,
    pub(crate) c: u64,
}

/// Line heads: the current second's texts, rewritten only when the second changes.
pub(crate) struct Fmt {
    flavor: Flavor,
    cw: bool,
    host: &'static [u8],
    sec: i64,
    sec_txt: [u8; 17],
    cw_txt: [u8; 19],
    /// `YYYY-MM-DD HH:MM:SS`, PostgreSQL's `%t` without the zone.
    pg_txt: [u8; 19],
}

impl Fmt {
    fn new(env: &Env) -> Self {
        Fmt {
            flavor: env.flavor,
            cw: env.cw,
            host: env.flavor.server_host().as_bytes(),
            sec: i64::MIN,
            sec_txt: [0; 17],
            cw_txt: [0; 19],
            pg_txt: [0; 19],
        }
    }

    /// Rewrites the cached second texts when `sec` is a new second.
    fn set_sec(&mut self, sec: i64) {
        if sec == self.sec {
            return;
        }
        self.sec = sec;
        let (y, mo, d) = civil_from_days(sec.div_euclid(86_400));
        let rem = sec.rem_euclid(86_400);
        let (hh, mm, ss) = (
            (rem / 3600) as u32,
            ((rem / 60) % 60) as u32,
            (rem % 60) as u32,
        );
        let y = y as u32;
        let t = &mut self.sec_txt;
        put4(&mut t[0..4], y);
        put2(&mut t[4..6], mo);
        put2(&mut t[6..8], d);
        t[8] = b' ';
        put2(&mut t[9..11], hh);
        t[11] = b':';
        put2(&mut t[12..14], mm);
        t[14] = b':';
        put2(&mut t[15..17], ss);
        let c = &mut self.cw_txt;
        put4(&mut c[0..4], y);
        c[4] = b'-';
        put2(&mut c[5..7], mo);
        c[7] = b'-';
        put2(&mut c[8..10], d);
        c[10] = b'T';
        put2(&mut c[11..13], hh);
        c[13] = b':';
        put2(&mut c[14..16], mm);
        c[16] = b':';
        put2(&mut c[17..19], ss);
        self.pg_txt = *c;
        self.pg_txt[10] = b' ';
    }
}

/// The sessions of a slice by the time of their next event, earliest first (ties in plan
/// order): `(time, session index)`.
type Queue = BinaryHeap<Reverse<(i64, u32)>>;

/// Renders slices into per-lane byte buffers, reusing its buffers from slice to slice.
pub(crate) struct Emitter {
    env: Env,
    fmt: Fmt,
    /// One buffer per output file written at once (four on Aurora, else one).
    pub(crate) lanes: Vec<Vec<u8>>,
    sql: Vec<u8>,
    tabs: Vec<Tab>,
    live: Vec<Live>,
    /// Lines rendered since the last `clear`.
    pub(crate) lines: u64,
}

impl Emitter {
    pub(crate) fn new(env: &Env) -> Self {
        Emitter {
            env: *env,
            fmt: Fmt::new(env),
            lanes: (0..env.lanes()).map(|_| Vec::new()).collect(),
            sql: Vec::with_capacity(4096),
            tabs: Vec::with_capacity(8),
            live: Vec::new(),
            lines: 0,
        }
    }

    pub(crate) fn clear(&mut self) {
        for l in &mut self.lanes {
            l.clear();
        }
        self.lines = 0;
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.lanes.iter().map(|l| l.len() as u64).sum()
    }

    /// Starts rendering slice `idx`: its RNG, every session fresh, each queued at its start.
    fn start_slice(&mut self, idx: usize, sp: &SlicePlan) -> (R, Queue) {
        let rng = rng_for(self.env.seed, idx as u64);
        self.live.clear();
        self.live.resize(sp.sessions.len(), Live::default());
        let queue = sp
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| Reverse((s.start, i as u32)))
            .collect();
        (rng, queue)
    }

    /// Renders slice `idx` (appending to the lane buffers).
    pub(crate) fn emit(&mut self, idx: usize, sp: &SlicePlan) {
        if self.env.flavor == Flavor::Postgres {
            self.emit_pg(idx, sp)
        } else {
            self.emit_mysql(idx, sp)
        }
    }
}

/// Session `s` (with `n` queries) has connected at `t`: its driver's handshake statements come
/// first. Returns the time of its next event.
fn connected(s: &Session, lv: &mut Live, t: i64, n: u32, pg: bool, rng: &mut R) -> i64 {
    lv.step = 1;
    if let Body::Pooled { app, .. } = s.body {
        if n >= 6 {
            lv.init_left = app.init_statements(pg).len() as u8;
        }
    }
    if n == 0 {
        s.end
    } else {
        next_time(s, lv, t, n, rng)
    }
}

/// Session `s` (with `n` queries) has sent query number `lv.step` at `t`. Returns the time of
/// its next event: the next query, or its end.
fn queried(s: &Session, lv: &mut Live, t: i64, n: u32, rng: &mut R) -> i64 {
    lv.step += 1;
    if lv.step <= n {
        next_time(s, lv, t, n, rng)
    } else {
        s.end
    }
}

/// Time of query number `lv.step` (1-based) of session `s`, the previous event being at `t`.
pub(crate) fn next_time(s: &Session, lv: &Live, t: i64, n: u32, rng: &mut R) -> i64 {
    match &s.body {
        Body::Script(stmts) => stmts[lv.step as usize - 1].at,
        Body::Pooled { regular: true, .. } => {
            let step = (s.end - s.start - 2 * US) / n as i64;
            s.start + US + (lv.step as i64 - 1) * step
        }
        _ => {
            let room = s.end - t;
            if lv.init_left > 0 {
                // Driver handshake statements follow the connect within milliseconds.
                range(rng, MS, 5 * MS).min(room / 2) + t
            } else {
                // Jittered-regular spacing: per-window counts stay close to the mean.
                let remaining = (n - lv.step + 1) as f64;
                let gap = room as f64 / (remaining + 1.0) * (0.5 + unit(rng));
                t + gap as i64
            }
        }
    }
}
