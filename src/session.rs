//! Sessions: one connection of one server, from its login to its logout, as `sessions.parquet`
//! rows, plus the per-user and per-source activity and the timeline the report draws.
//!
//! A session is keyed by (server host, connection id). In the workers, [`SessionTracker`]
//! folds each event into the part of its session this chunk holds: a direct-mapped slot per
//! connection id in front of a hash map, so an event costs a slot check (a map look-up when
//! sessions interleave past the slots) and a few additions, and allocates only when a session
//! or a database appears. A login (successful or failed) opens a new part, a `DISCONNECT`
//! ends one, and events with no login before them in the chunk make a *head* part, the
//! continuation of a session an earlier chunk opened. At the end of the chunk the parts are
//! owned ([`SessionChunk`]) and travel with the chunk's output.
//!
//! The consumer folds the chunks in input order into [`SessionBook`]: a head joins the open
//! session of its key, a login ends an open session whose logout was never seen, and a
//! session is handed over (to the Parquet writer and to [`Activity`]) as soon as its end is
//! seen. Memory holds the open sessions only; those still open at the end come last, sorted.
//! The input order is the same for every thread count, so the rows are too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::bytes::bytes_eq;
use crate::classify::StatementClass;
use crate::event::{client_ip, session_slot, Event, Operation, SESSION_SLOTS};
use crate::finding::Evidence;

pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Statement classes, in the order of the `statements_*` columns.
pub const CLASSES: [StatementClass; 10] = [
    StatementClass::Privilege,
    StatementClass::Destructive,
    StatementClass::Exfiltration,
    StatementClass::Ddl,
    StatementClass::Write,
    StatementClass::Read,
    StatementClass::Other,
    StatementClass::CodeExecution,
    StatementClass::Audit,
    StatementClass::Tls,
];

/// Databases kept per session (a session touching more is rare; the rest are counted).
pub const MAX_DATABASES: usize = 32;

/// How a session's login went: `login_operation` and `login_result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Login {
    pub operation: Operation,
    pub success: bool,
}

impl Login {
    /// The login an event stands for, if it is one.
    #[inline]
    fn of(e: &Event<'_>) -> Option<Login> {
        match e.operation {
            Operation::Connect | Operation::ChangeUser | Operation::ProxyConnect => Some(Login {
                operation: e.operation,
                success: e.retcode.unwrap_or(0) == 0,
            }),
            Operation::FailedConnect => Some(Login {
                operation: e.operation,
                success: false,
            }),
            _ => None,
        }
    }
}

fn class_index(c: StatementClass) -> usize {
    match c {
        StatementClass::Privilege => 0,
        StatementClass::Destructive => 1,
        StatementClass::Exfiltration => 2,
        StatementClass::Ddl => 3,
        StatementClass::Write => 4,
        StatementClass::Read => 5,
        StatementClass::Other => 6,
        StatementClass::CodeExecution => 7,
        StatementClass::Audit => 8,
        StatementClass::Tls => 9,
    }
}

/// A session, or the part of it one chunk saw. `T` is the text type: borrowed from the chunk
/// in the worker, owned after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part<T> {
    pub server: T,
    pub connection_id: i64,
    pub user: T,
    pub client_host: T,
    pub login: Option<Login>,
    pub login_us: Option<i64>,
    pub logout_us: Option<i64>,
    pub first_us: i64,
    pub last_us: i64,
    /// (file, line) of the first and the last event in input order (times are the earliest
    /// and latest, which a log written out of order may give other events).
    pub first_at: (u32, u64),
    pub last_at: (u32, u64),
    /// Where the login is (with its text's place when known, as findings' evidence is): the
    /// first event of a part that has a login.
    pub login_evidence: Evidence,
    pub tls: Option<bool>,
    pub events: u64,
    pub statements: [u64; CLASSES.len()],
    pub databases: Vec<T>,
    /// Began without a login in its chunk: continues a session an earlier chunk opened.
    pub head: bool,
    /// Its end was seen: a logout, or the next login on the same connection.
    pub ended: bool,
}

impl<T> Part<T> {
    /// The evidence of its login, when the login succeeded (the logins the profile takes).
    fn successful_login_evidence(&mut self) -> Option<&mut Evidence> {
        self.login
            .is_some_and(|l| l.success)
            .then_some(&mut self.login_evidence)
    }
}

/// Owned text of a session: shared, since a chunk's sessions repeat a few servers, users and
/// hosts (one allocation per distinct value per chunk, not per session).
pub type Name = Arc<[u8]>;

/// An owned session (a row of `sessions.parquet`).
pub type Session = Part<Name>;

impl Session {
    /// Folds in the continuation of this session from a later chunk.
    fn absorb(&mut self, p: Session) {
        if self.user.is_empty() {
            self.user = p.user;
        }
        if self.client_host.is_empty() {
            self.client_host = p.client_host;
        }
        self.tls = self.tls.or(p.tls);
        self.first_us = self.first_us.min(p.first_us);
        self.last_us = self.last_us.max(p.last_us);
        self.first_at = self.first_at.min(p.first_at);
        self.last_at = self.last_at.max(p.last_at);
        self.events += p.events;
        for (a, b) in self.statements.iter_mut().zip(p.statements) {
            *a += b;
        }
        for d in p.databases {
            if self.databases.len() < MAX_DATABASES && !self.databases.contains(&d) {
                self.databases.push(d);
            }
        }
        self.logout_us = p.logout_us.or(self.logout_us);
        self.ended = p.ended;
    }

    /// Statements of every class.
    pub fn statement_total(&self) -> u64 {
        self.statements.iter().sum()
    }
}

/// Per-minute counts: events, failed logins, successful logins.
pub type Minute = [u64; 3];

/// What one chunk's tracker hands to the consumer.
#[derive(Debug, Default)]
pub struct SessionChunk {
    /// In the order their first event came in the chunk.
    pub parts: Vec<Session>,
    /// Sorted by minute (minutes since the epoch).
    pub minutes: Vec<(i64, Minute)>,
}

const NO_PART: u32 = u32::MAX;

/// Adds a database a session switched to, unless it has it already (kept out of line: most
/// events stay in the database of their session's event before).
#[cold]
fn add_database<'a>(databases: &mut Vec<&'a [u8]>, db: &'a [u8]) {
    if databases.len() < MAX_DATABASES && !databases.iter().any(|d| bytes_eq(d, db)) {
        databases.push(db);
    }
}

/// The servers of one chunk, numbered as they appear. The event before nearly always names
/// the same one as the next, and comparing with its text, just read, misses no cache, where
/// the text of a server's first appearance may lie megabytes back in the chunk.
struct ServerIds<'a> {
    last: (&'a [u8], u32),
    ids: FastMap<&'a [u8], u32>,
}

impl<'a> ServerIds<'a> {
    fn new() -> Self {
        let mut ids = FastMap::default();
        ids.insert(&[][..], 0);
        ServerIds {
            last: (&[], 0),
            ids,
        }
    }

    #[inline(always)]
    fn id(&mut self, name: &'a [u8]) -> u32 {
        if bytes_eq(self.last.0, name) {
            // The newest text stays the one compared with.
            self.last.0 = name;
            return self.last.1;
        }
        self.id_slow(name)
    }

    #[cold]
    #[inline(never)]
    fn id_slow(&mut self, name: &'a [u8]) -> u32 {
        let next = self.ids.len() as u32;
        let id = *self.ids.entry(name).or_insert(next);
        self.last = (name, id);
        id
    }
}

/// A cache entry of the parts open in a chunk, by connection id.
#[derive(Clone, Copy)]
struct Slot<'a> {
    conn: i64,
    /// [`ServerIds`] id of the server.
    server: u32,
    /// The open part, or `NO_PART`.
    part: u32,
    /// The database of the part's event before, as that event's text (recent, so comparing
    /// with it misses no cache; empty when not known): an event in the same one adds no
    /// database.
    database: &'a [u8],
}

impl<'a> Slot<'a> {
    /// The slot of `part` (of `server`, connection `conn`), its database not yet known.
    fn new(conn: i64, server: u32, part: u32) -> Self {
        Slot {
            conn,
            server,
            part,
            database: &[],
        }
    }
}

const NO_NAME: u32 = u32::MAX;

/// The worker side: see the module documentation.
pub(crate) struct SessionTracker<'a> {
    parts: Vec<Part<&'a [u8]>>,
    /// Open parts by (server id, connection id).
    open: FastMap<(u32, i64), u32>,
    /// A cache of `open` by connection id.
    slots: Box<[Slot<'a>; SESSION_SLOTS]>,
    servers: ServerIds<'a>,
    minutes: Vec<(i64, Minute)>,
    /// The span of the last minute counted, [start, end) in µs: most events fall in it, so
    /// they need no division.
    minute_span: (i64, i64),
}

impl<'a> SessionTracker<'a> {
    pub(crate) fn new() -> Self {
        SessionTracker {
            parts: Vec::with_capacity(256),
            open: FastMap::default(),
            slots: Box::new([Slot::new(i64::MIN, NO_NAME, NO_PART); SESSION_SLOTS]),
            servers: ServerIds::new(),
            minutes: Vec::new(),
            minute_span: (0, 0),
        }
    }

    /// Visits the evidence of the successful logins of this chunk's parts, those the profile
    /// takes (the scan copies out the text of those in the chunk's own buffer before it is
    /// dropped).
    pub(crate) fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut Evidence)) {
        for ev in self
            .parts
            .iter_mut()
            .filter_map(Part::successful_login_evidence)
        {
            f(ev);
        }
    }

    #[inline(always)]
    fn lookup(&mut self, server: u32, conn: i64) -> u32 {
        let slot = &mut self.slots[session_slot(conn)];
        if slot.conn == conn && slot.server == server {
            return slot.part;
        }
        let part = self.open.get(&(server, conn)).copied().unwrap_or(NO_PART);
        *slot = Slot::new(conn, server, part);
        part
    }

    fn set(&mut self, server: u32, conn: i64, part: u32) {
        if part == NO_PART {
            self.open.remove(&(server, conn));
        } else {
            self.open.insert((server, conn), part);
        }
        self.slots[session_slot(conn)] = Slot::new(conn, server, part);
    }

    /// Follows one event; `ev` is its place (file and line, and its text's when known), as
    /// the passes get it.
    #[inline]
    pub(crate) fn event(&mut self, e: &Event<'a>, ev: &Evidence) {
        let server = self.servers.id(e.server_host);
        // Nearly every event is a statement of a session whose part this chunk holds, in the
        // minute of the event before: no login or logout (the operations before `Query`),
        // the connection's slot names its part, and the minute's count is the last one.
        let (start, end) = self.minute_span;
        let at = session_slot(e.connection_id);
        let slot = self.slots[at];
        if e.operation > Operation::ProxyConnect
            && slot.conn == e.connection_id
            && slot.server == server
            && slot.part != NO_PART
            && e.time_us >= start
            && e.time_us < end
        {
            if let Some((_, m)) = self.minutes.last_mut() {
                m[0] += 1;
            }
            self.fold(at, slot.part, e, ev);
        } else {
            self.event_slow(server, e, ev);
        }
    }

    /// [`Self::event`] for the rest: logins, logouts, a connection's first event in the
    /// chunk, a new minute (out of line, to keep the common case small).
    #[inline(never)]
    fn event_slow(&mut self, server: u32, e: &Event<'a>, ev: &Evidence) {
        let login = Login::of(e);
        self.count_minute(e.time_us, login);
        let cur = self.lookup(server, e.connection_id);
        let idx = if login.is_some() || cur == NO_PART {
            self.open_part(server, e, login, cur, ev)
        } else {
            cur
        };
        // The connection's slot is this part's now (the look-up or the opening set it).
        self.fold(session_slot(e.connection_id), idx, e, ev);
        if e.operation == Operation::Disconnect {
            self.close_part(server, e, idx);
        }
    }

    /// Adds event `e` to part `idx`, whose connection has slot `at`.
    #[inline(always)]
    fn fold(&mut self, at: usize, idx: u32, e: &Event<'a>, ev: &Evidence) {
        let p = &mut self.parts[idx as usize];
        p.events += 1;
        // Within a chunk lines only grow: the first place is the part's first event.
        p.last_at = (ev.file, ev.line);
        p.first_us = p.first_us.min(e.time_us);
        p.last_us = p.last_us.max(e.time_us);
        if p.tls.is_none() {
            p.tls = e.tls;
        }
        if let Some(c) = e.statement_class {
            p.statements[class_index(c)] += 1;
        }
        if !e.database.is_empty() {
            let last = &mut self.slots[at].database;
            if !bytes_eq(last, e.database) {
                add_database(&mut p.databases, e.database);
            }
            *last = e.database;
        }
    }

    /// Starts a part at a login, or at the first event of a connection in this chunk; ends
    /// the part `cur` a login replaces. Out of line: once per session, not per event.
    #[cold]
    #[inline(never)]
    fn open_part(
        &mut self,
        server: u32,
        e: &Event<'a>,
        login: Option<Login>,
        cur: u32,
        ev: &Evidence,
    ) -> u32 {
        let at = (ev.file, ev.line);
        if cur != NO_PART {
            self.parts[cur as usize].ended = true;
        }
        self.parts.push(Part {
            server: e.server_host,
            connection_id: e.connection_id,
            user: e.user,
            client_host: e.client_host,
            login,
            login_us: login.map(|_| e.time_us),
            logout_us: None,
            first_us: e.time_us,
            last_us: e.time_us,
            first_at: at,
            last_at: at,
            login_evidence: *ev,
            tls: None,
            events: 0,
            statements: [0; CLASSES.len()],
            databases: Vec::new(),
            head: login.is_none(),
            ended: false,
        });
        let idx = (self.parts.len() - 1) as u32;
        self.set(server, e.connection_id, idx);
        idx
    }

    /// Ends part `idx` at its logout.
    #[cold]
    #[inline(never)]
    fn close_part(&mut self, server: u32, e: &Event<'a>, idx: u32) {
        let p = &mut self.parts[idx as usize];
        p.logout_us = Some(e.time_us);
        p.ended = true;
        self.set(server, e.connection_id, NO_PART);
    }

    #[inline]
    fn count_minute(&mut self, time_us: i64, login: Option<Login>) {
        let (start, end) = self.minute_span;
        let m = match self.minutes.last_mut() {
            Some((_, m)) if time_us >= start && time_us < end => m,
            _ => self.new_minute(time_us),
        };
        m[0] += 1;
        match login {
            Some(l) if l.success => m[2] += 1,
            Some(_) => m[1] += 1,
            None => {}
        }
    }

    /// The counts of the minute of `time_us`, once the last minute counted is not it.
    #[cold]
    #[inline(never)]
    fn new_minute(&mut self, time_us: i64) -> &mut Minute {
        let minute = time_us.div_euclid(60_000_000);
        self.minute_span = (minute * 60_000_000, (minute + 1) * 60_000_000);
        if self.minutes.last().is_none_or(|(t, _)| *t != minute) {
            self.minutes.push((minute, [0; 3]));
        }
        &mut self.minutes.last_mut().expect("just pushed").1
    }

    /// The owned parts and minutes, for the consumer.
    pub(crate) fn finish(self) -> SessionChunk {
        let mut names: FastMap<&[u8], Name> = FastMap::default();
        let mut own =
            |b: &'a [u8]| -> Name { names.entry(b).or_insert_with(|| Arc::from(b)).clone() };
        let parts = self
            .parts
            .into_iter()
            .map(|p| Part {
                server: own(p.server),
                connection_id: p.connection_id,
                user: own(p.user),
                client_host: own(p.client_host),
                login: p.login,
                login_us: p.login_us,
                logout_us: p.logout_us,
                first_us: p.first_us,
                last_us: p.last_us,
                first_at: p.first_at,
                last_at: p.last_at,
                login_evidence: p.login_evidence,
                tls: p.tls,
                events: p.events,
                statements: p.statements,
                databases: p.databases.into_iter().map(&mut own).collect(),
                head: p.head,
                ended: p.ended,
            })
            .collect();
        let mut minutes = self.minutes;
        minutes.sort_by_key(|m| m.0);
        minutes.dedup_by(|b, a| {
            if a.0 == b.0 {
                for i in 0..3 {
                    a.1[i] += b.1[i];
                }
                true
            } else {
                false
            }
        });
        SessionChunk { parts, minutes }
    }
}

/// The consumer side: see the module documentation.
#[derive(Default)]
pub struct SessionBook {
    /// Open sessions by (server, connection id); servers are numbered in `servers`.
    open: FastMap<(u32, i64), Session>,
    servers: Vec<Name>,
    pub minutes: BTreeMap<i64, Minute>,
}

impl SessionBook {
    /// Folds in the next chunk (in input order); `done` gets every session whose end it saw.
    pub fn add(&mut self, chunk: SessionChunk, done: &mut impl FnMut(Session)) {
        for (m, c) in chunk.minutes {
            let e = self.minutes.entry(m).or_default();
            for i in 0..3 {
                e[i] += c[i];
            }
        }
        for p in chunk.parts {
            // A handful of servers: a look-up in a short list, no allocation per part.
            let server = match self.servers.iter().position(|s| **s == *p.server) {
                Some(i) => i as u32,
                None => {
                    self.servers.push(p.server.clone());
                    (self.servers.len() - 1) as u32
                }
            };
            let key = (server, p.connection_id);
            let next = if p.head {
                match self.open.remove(&key) {
                    Some(mut s) => {
                        s.absorb(p);
                        s
                    }
                    None => p,
                }
            } else {
                if let Some(prev) = self.open.remove(&key) {
                    done(prev);
                }
                p
            };
            if next.ended {
                done(next);
            } else {
                self.open.insert(key, next);
            }
        }
    }

    /// Visits the evidence of the successful login of every session still open (it reaches
    /// the profile when the session ends).
    pub fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut Evidence)) {
        for ev in self
            .open
            .values_mut()
            .filter_map(Part::successful_login_evidence)
        {
            f(ev);
        }
    }

    /// Hands over the sessions still open, by their first event (then server and id).
    pub fn finish(self, done: &mut impl FnMut(Session)) -> BTreeMap<i64, Minute> {
        let mut rest: Vec<Session> = self.open.into_values().collect();
        rest.sort_by(|a, b| {
            (a.first_at, a.first_us, &a.server, a.connection_id).cmp(&(
                b.first_at,
                b.first_us,
                &b.server,
                b.connection_id,
            ))
        });
        for s in rest {
            done(s);
        }
        self.minutes
    }
}

/// One user's or one source's sessions, summed.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ActivityRow {
    pub name: String,
    pub sessions: u64,
    pub logins: u64,
    pub failures: u64,
    pub events: u64,
    pub statements: [u64; CLASSES.len()],
    pub tls_known: u64,
    pub tls_encrypted: u64,
    pub databases: BTreeSet<String>,
    /// Databases beyond the ones listed.
    pub more_databases: u64,
}

/// Databases listed per user or source in the report.
const ACTIVITY_DATABASES: usize = 12;
/// Unencrypted sessions listed in the report (the rest are counted).
pub const UNENCRYPTED_KEPT: usize = 200;

/// Per-user and per-source activity and the unencrypted sessions, summed from the sessions
/// as they are handed over (no per-event work).
#[derive(Default)]
pub struct Activity {
    pub users: FastMap<Box<[u8]>, ActivityRow>,
    pub sources: FastMap<Box<[u8]>, ActivityRow>,
    /// Each client host's canonical form (its address printed once, not per session).
    canonical: FastMap<Box<[u8]>, Box<[u8]>>,
    pub unencrypted: Vec<Session>,
    pub unencrypted_total: u64,
    pub sessions: u64,
}

impl Activity {
    pub fn add(&mut self, s: &Session) {
        use std::io::Write as _;
        self.sessions += 1;
        if !self.canonical.contains_key(&*s.client_host) {
            let mut source = Vec::new();
            match client_ip(&s.client_host) {
                Some(ip) => {
                    let _ = write!(source, "{ip}");
                }
                None => source.extend_from_slice(&s.client_host),
            }
            self.canonical
                .insert(s.client_host.to_vec().into(), source.into());
        }
        let source: &[u8] = &self.canonical[&*s.client_host];
        for (map, key) in [(&mut self.users, &*s.user), (&mut self.sources, source)] {
            if !map.contains_key(key) {
                map.insert(
                    key.into(),
                    ActivityRow {
                        name: String::from_utf8_lossy(key).into_owned(),
                        ..ActivityRow::default()
                    },
                );
            }
            let row = map.get_mut(key).expect("inserted above");
            row.sessions += 1;
            match s.login {
                Some(l) if l.success => row.logins += 1,
                Some(_) => row.failures += 1,
                None => {}
            }
            row.events += s.events;
            for (a, b) in row.statements.iter_mut().zip(s.statements) {
                *a += b;
            }
            if s.login.is_some_and(|l| l.success) {
                if let Some(t) = s.tls {
                    row.tls_known += 1;
                    row.tls_encrypted += t as u64;
                }
            }
            for d in &s.databases {
                let d = String::from_utf8_lossy(d);
                if row.databases.contains(d.as_ref()) {
                    continue;
                }
                if row.databases.len() < ACTIVITY_DATABASES {
                    row.databases.insert(d.into_owned());
                } else {
                    row.more_databases += 1;
                }
            }
        }
        if s.tls == Some(false) && s.login.is_some_and(|l| l.success) {
            self.unencrypted_total += 1;
            if self.unencrypted.len() < UNENCRYPTED_KEPT {
                self.unencrypted.push(s.clone());
            }
        }
    }

    /// The `n` rows with the most events (ties by name).
    pub fn top(map: &FastMap<Box<[u8]>, ActivityRow>, n: usize) -> Vec<ActivityRow> {
        let mut v: Vec<&ActivityRow> = map.values().collect();
        v.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.name.cmp(&b.name)));
        v.into_iter().take(n).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{SourceFormat, Text};

    fn ev(t: i64, conn: i64, op: Operation, user: &'static str) -> Event<'static> {
        Event {
            time_us: t * 1_000_000,
            format: SourceFormat::RdsMysqlAudit,
            server_host: b"db1",
            user: user.as_bytes(),
            client_host: b"10.0.0.1",
            connection_id: conn,
            query_id: 0,
            operation: op,
            database: if op == Operation::Query { b"shop" } else { b"" },
            object: Text::None,
            retcode: Some(0),
            tls: (op == Operation::Connect).then_some(false),
            statement_class: (op == Operation::Query).then_some(StatementClass::Read),
            line: t as u64,
        }
    }

    /// The tracker's fast path takes the operations after `ProxyConnect` as neither a login
    /// nor a logout.
    #[test]
    fn operations_after_proxy_connect_neither_log_in_nor_out() {
        for op in Operation::ALL {
            let e = ev(1, 1, op, "u");
            let boundary = Login::of(&e).is_some() || op == Operation::Disconnect;
            assert_eq!(op > Operation::ProxyConnect, !boundary, "{op:?}");
        }
    }

    /// The sessions of `events` cut into chunks at `cuts` (indices), consumed in order.
    fn sessions(events: &[Event<'static>], cuts: &[usize]) -> Vec<Session> {
        let mut book = SessionBook::default();
        let mut out = Vec::new();
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(events.len());
        for w in bounds.windows(2) {
            let mut t = SessionTracker::new();
            for e in &events[w[0]..w[1]] {
                t.event(e, &Evidence::at(0, e.line));
            }
            book.add(t.finish(), &mut |s| out.push(s));
        }
        book.finish(&mut |s| out.push(s));
        out
    }

    #[test]
    fn sessions_are_the_same_however_the_events_are_chunked() {
        use Operation::*;
        let events = vec![
            ev(1, 7, Query, "app"), // the log starts inside session 7
            ev(2, 1, Connect, "app"),
            ev(3, 2, FailedConnect, "eve"),
            ev(4, 1, Query, "app"),
            ev(5, 2, Disconnect, "eve"),
            ev(6, 1, Query, "app"),
            ev(7, 7, Disconnect, "app"),
            ev(8, 1, Disconnect, "app"),
            ev(9, 1, Connect, "bob"), // connection id reused
            ev(10, 1, Query, "bob"),
        ];
        let whole = sessions(&events, &[]);
        assert_eq!(whole.len(), 4, "{whole:#?}");
        for cuts in [vec![1], vec![3, 6], vec![1, 2, 3, 4, 5, 6, 7, 8, 9]] {
            let split = sessions(&events, &cuts);
            let key = |s: &Session| (s.first_at, s.events, s.logout_us, s.statements);
            let mut a: Vec<_> = whole.iter().map(key).collect();
            let mut b: Vec<_> = split.iter().map(key).collect();
            a.sort();
            b.sort();
            assert_eq!(a, b, "cuts {cuts:?}");
        }
        let app = whole.iter().find(|s| s.first_at.1 == 2).unwrap();
        assert_eq!(app.events, 4);
        assert_eq!(app.statements[5], 2);
        assert_eq!(app.logout_us, Some(8_000_000));
        assert_eq!(app.tls, Some(false));
        assert_eq!(app.databases, vec![Name::from(&b"shop"[..])]);
        let head = whole.iter().find(|s| s.connection_id == 7).unwrap();
        assert_eq!((head.login, head.events), (None, 2));
        let failed = whole.iter().find(|s| &*s.user == b"eve").unwrap();
        assert_eq!(failed.login.map(|l| l.success), Some(false));
        assert_eq!(failed.logout_us, Some(5_000_000));
        let open = whole.last().unwrap();
        assert_eq!(
            (&*open.user, open.logout_us, open.ended),
            (&b"bob"[..], None, false)
        );
    }

    #[test]
    fn a_new_login_ends_a_session_whose_logout_was_not_seen() {
        use Operation::*;
        let events = vec![
            ev(1, 3, Connect, "a"),
            ev(2, 3, Query, "a"),
            ev(3, 3, Connect, "b"),
        ];
        let s = sessions(&events, &[2]);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (&*s[0].user, s[0].events, s[0].logout_us),
            (&b"a"[..], 2, None)
        );
        assert_eq!(&*s[1].user, b"b");
    }

    #[test]
    fn minutes_count_events_and_logins() {
        use Operation::*;
        let mut t = SessionTracker::new();
        for e in [
            ev(1, 1, Connect, "a"),
            ev(2, 2, FailedConnect, "b"),
            ev(61, 1, Query, "a"),
        ] {
            t.event(&e, &Evidence::at(0, e.line));
        }
        let c = t.finish();
        assert_eq!(c.minutes, vec![(0, [2, 1, 1]), (1, [1, 0, 0])]);
    }
}
