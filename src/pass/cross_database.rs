//! `cross_database`: a user touching a database outside the ones that carry its normal
//! activity (or outside `[users.NAME] databases` when the config lists them).
//!
//! A database is "touched" by an event's default database and by schema-qualified names in
//! query text (`FROM orders.customers`, `JOIN billing.x`, `INTO`, `UPDATE`, `TABLE`). Only names
//! right after those keywords count, so `o.customer_id` (a table alias and a column) is not
//! mistaken for a database. System schemas are ignored. State: a counter per (user, database)
//! and the sources behind it (the first few in order; a finding names them in `client_ip`).

use std::collections::HashMap;

use super::{text, AnalysisConfig, FinishContext, Observed, Pass, Seen};
use crate::bytes::bytes_eq;
use crate::event::{Operation, Text};
use crate::finding::{kind, Finding, Severity};

/// A database below this share of a user's activity is outside its normal set.
const NORMAL_SHARE: f64 = 0.05;
/// Users with fewer attributed events than this have no baseline to leave.
const MIN_EVENTS: u64 = 50;

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

pub(crate) struct CrossDatabasePass {
    config: AnalysisConfig,
    touched: Map<super::Name, Map<super::Name, (Seen, Sources)>>,
    /// Recently touched (user, database) pairs not yet added to `touched`: concurrent
    /// sessions interleave, so a few entries catch nearly every event. They stay where they
    /// are (an entry is large: moving it on every hit cost more than the lookup); the one
    /// touched longest ago makes room.
    recent: Vec<Recent>,
    /// Events touched so far: the clock of [`Recent::used`].
    clock: u64,
}

const RECENT: usize = 4;

/// A (user, database) pair being counted.
struct Recent {
    user: Vec<u8>,
    db: Vec<u8>,
    seen: Seen,
    sources: Sources,
    /// The host fields seen last (most events repeat one of them: no lookup then).
    last_hosts: HostSlots,
    /// Host fields already added to `sources` (up to [`KNOWN_HOSTS`]), so interleaved
    /// sessions from a few hosts do not format their address again on every switch (a set:
    /// scanning a list of them on every switch cost a quarter of the pass).
    hosts: std::collections::HashSet<Vec<u8>, foldhash::fast::RandomState>,
    /// When it was last touched (the pass's `clock`).
    used: u64,
}

/// The last few short host fields of a (user, database), held inline: interleaved sessions
/// from a few hosts then cost a few comparisons per event, no hashing and no pointer chasing.
#[derive(Clone, Copy)]
struct HostSlots {
    len: [u8; HOST_SLOTS],
    bytes: [[u8; HOST_SLOT_BYTES]; HOST_SLOTS],
    next: u8,
}

const HOST_SLOTS: usize = 4;
/// Any IPv6 address in text (39 bytes) with room to spare; longer host names are not held.
const HOST_SLOT_BYTES: usize = 46;

impl HostSlots {
    fn with(host: &[u8]) -> Self {
        let mut s = HostSlots {
            // An impossible length marks an empty slot.
            len: [u8::MAX; HOST_SLOTS],
            bytes: [[0; HOST_SLOT_BYTES]; HOST_SLOTS],
            next: 0,
        };
        s.put(host);
        s
    }

    #[inline]
    fn contains(&self, host: &[u8]) -> bool {
        (0..HOST_SLOTS).any(|i| {
            usize::from(self.len[i]) == host.len() && bytes_eq(&self.bytes[i][..host.len()], host)
        })
    }

    fn put(&mut self, host: &[u8]) {
        if host.len() <= HOST_SLOT_BYTES {
            let i = usize::from(self.next);
            self.len[i] = host.len() as u8;
            self.bytes[i][..host.len()].copy_from_slice(host);
            self.next = ((i + 1) % HOST_SLOTS) as u8;
        }
    }
}

/// Host fields remembered per (user, database) before every new one is formatted again.
const KNOWN_HOSTS: usize = 64;

/// Sources named in a finding at most; more are summed up as `+N more`... only as "more".
const MAX_SOURCES: usize = 8;

/// The sources (address, or host field when it is not one) behind a (user, database): the
/// [`MAX_SOURCES`] smallest in byte order, and whether there were more. Keeping the smallest
/// makes the set the same whatever order chunks are merged in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Sources {
    list: Vec<Box<[u8]>>,
    more: bool,
}

impl Sources {
    fn insert(&mut self, s: Box<[u8]>) {
        if let Err(i) = self.list.binary_search(&s) {
            if i >= MAX_SOURCES {
                self.more = true;
                return;
            }
            self.list.insert(i, s);
            if self.list.len() > MAX_SOURCES {
                self.list.pop();
                self.more = true;
            }
        }
    }

    fn merge(&mut self, other: Sources) {
        self.more |= other.more;
        for s in other.list {
            self.insert(s);
        }
    }

    /// `10.0.0.1`, `10.0.0.1, 10.0.0.2`, or with `, …` when there were more; `None` when
    /// the events named no source.
    fn render(&self) -> Option<String> {
        let mut names: Vec<String> = self
            .list
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| text(s))
            .collect();
        if names.is_empty() {
            return None;
        }
        if self.more {
            names.push("…".into());
        }
        Some(names.join(", "))
    }
}

pub(crate) fn is_system_schema(db: &[u8]) -> bool {
    [
        &b"mysql"[..],
        b"information_schema",
        b"performance_schema",
        b"sys",
        b"pg_catalog",
        b"pg_toast",
        b"rdsadmin",
    ]
    .iter()
    .any(|s| db.eq_ignore_ascii_case(s))
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Calls `f` with each database named as `db.table` right after FROM, JOIN, INTO, UPDATE or
/// TABLE (backticks and double quotes around names allowed).
pub(crate) fn qualified_databases<'s>(sql: &'s [u8], mut f: impl FnMut(&'s [u8])) {
    for dot in memchr::memchr_iter(b'.', sql) {
        // The identifier before the dot.
        let mut end = dot;
        let quoted = end > 0 && matches!(sql[end - 1], b'`' | b'"');
        if quoted {
            end -= 1;
        }
        let mut start = end;
        while start > 0 && is_ident(sql[start - 1]) {
            start -= 1;
        }
        if start == end || sql[start].is_ascii_digit() {
            continue;
        }
        let name = &sql[start..end];
        if quoted {
            if start == 0 || sql[start - 1] != sql[dot - 1] {
                continue;
            }
            start -= 1;
        }
        // Something must follow the dot.
        match sql.get(dot + 1) {
            Some(&c) if is_ident(c) || c == b'`' || c == b'"' || c == b'*' => {}
            _ => continue,
        }
        // The keyword before it, skipping whitespace (and escaped whitespace).
        let mut k = start;
        loop {
            if k > 0 && sql[k - 1].is_ascii_whitespace() {
                k -= 1;
            } else if k > 1 && sql[k - 2] == b'\\' && matches!(sql[k - 1], b'n' | b'r' | b't') {
                k -= 2;
            } else {
                break;
            }
        }
        if k == start {
            continue;
        }
        let mut w = k;
        while w > 0 && sql[w - 1].is_ascii_alphabetic() {
            w -= 1;
        }
        let word = &sql[w..k];
        if ["FROM", "JOIN", "INTO", "UPDATE", "TABLE"]
            .iter()
            .any(|kw| word.eq_ignore_ascii_case(kw.as_bytes()))
        {
            f(name);
        }
    }
}

/// A host not among the last few of a recent entry (a rare switch: out of line).
#[cold]
#[inline(never)]
fn new_host(r: &mut Recent, host: &[u8], o: &Observed<'_, '_>) {
    if !r.hosts.contains(host) {
        if r.hosts.len() < KNOWN_HOSTS {
            r.hosts.insert(host.to_vec());
        }
        r.sources.insert(o.source());
    }
    r.last_hosts.put(host);
}

impl CrossDatabasePass {
    fn touch(&mut self, user: &[u8], db: &[u8], o: &Observed<'_, '_>) {
        if db.is_empty() {
            return;
        }
        let host = o.event.client_host;
        self.clock += 1;
        if let Some(i) = self
            .recent
            .iter()
            .position(|r| bytes_eq(&r.db, db) && bytes_eq(&r.user, user))
        {
            let r = &mut self.recent[i];
            r.used = self.clock;
            r.seen.add(o.event.time_us, o.evidence);
            if !r.last_hosts.contains(host) {
                new_host(r, host, o);
            }
            return;
        }
        self.touch_new(user, db, o);
    }

    /// A (user, database) not among the recent ones: out of line, as a miss is rare.
    #[cold]
    #[inline(never)]
    fn touch_new(&mut self, user: &[u8], db: &[u8], o: &Observed<'_, '_>) {
        let host = o.event.client_host;
        if is_system_schema(db) {
            return;
        }
        if self.recent.len() >= RECENT {
            let oldest = (0..self.recent.len())
                .min_by_key(|&i| self.recent[i].used)
                .expect("full");
            let r = self.recent.swap_remove(oldest);
            self.add(&r.user, &r.db, r.seen, r.sources);
        }
        let mut sources = Sources::default();
        sources.insert(o.source());
        self.recent.push(Recent {
            user: user.to_vec(),
            db: db.to_vec(),
            seen: Seen::new(o.event.time_us, o.evidence),
            sources,
            last_hosts: HostSlots::with(host),
            hosts: std::iter::once(host.to_vec()).collect(),
            used: self.clock,
        });
    }

    fn flush(&mut self) {
        for r in std::mem::take(&mut self.recent) {
            self.add(&r.user, &r.db, r.seen, r.sources);
        }
    }

    fn add(&mut self, user: &[u8], db: &[u8], seen: Seen, sources: Sources) {
        let per_user = match self.touched.get_mut(user) {
            Some(m) => m,
            None => self.touched.entry(user.into()).or_default(),
        };
        match per_user.get_mut(db) {
            Some((s, src)) => {
                s.merge(seen);
                src.merge(sources);
            }
            None => {
                per_user.insert(db.into(), (seen, sources));
            }
        }
    }
}

impl Pass for CrossDatabasePass {
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut super::Evidence)) {
        for per_user in self.touched.values_mut() {
            for x in per_user.values_mut() {
                x.0.for_each_evidence(f);
            }
        }
        for r in &mut self.recent {
            r.seen.for_each_evidence(f);
        }
    }

    fn new(config: &AnalysisConfig) -> Self {
        CrossDatabasePass {
            config: config.clone(),
            touched: Map::default(),
            recent: Vec::with_capacity(RECENT),
            clock: 0,
        }
    }

    fn observe(&mut self, o: &Observed<'_, '_>) {
        let e = o.event;
        if !matches!(
            e.operation,
            Operation::Query | Operation::Connect | Operation::ChangeUser
        ) {
            return;
        }
        if e.operation == Operation::Connect && e.retcode.unwrap_or(0) != 0 {
            return;
        }
        self.touch(e.user, e.database, o);
        if let Text::Raw(sql) | Text::Escaped(sql) | Text::Quoted(sql) = e.object {
            if e.operation == Operation::Query && memchr::memchr(b'.', sql).is_some() {
                let mut dbs: Vec<&[u8]> = Vec::new();
                qualified_databases(sql, |d| {
                    if d != e.database && !dbs.contains(&d) {
                        dbs.push(d);
                    }
                });
                for d in dbs {
                    self.touch(e.user, d, o);
                }
            }
        }
    }

    fn merge(&mut self, mut later: Self) {
        self.flush();
        later.flush();
        super::merge_map(&mut self.touched, later.touched, |a, b| {
            super::merge_map(a, b, |x: &mut (Seen, Sources), y| {
                x.0.merge(y.0);
                x.1.merge(y.1);
            })
        });
    }

    fn finish(mut self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>) {
        self.flush();
        let mut users: Vec<_> = self.touched.into_iter().collect();
        users.sort_by(|a, b| a.0.cmp(&b.0));
        for (user, dbs) in users {
            let name = text(&user);
            let listed = self
                .config
                .users
                .get(&name)
                .filter(|u| !u.databases.is_empty());
            let total: u64 = dbs.values().map(|(s, _)| s.count).sum();
            if listed.is_none() && total < MIN_EVENTS {
                continue;
            }
            let mut normal: Vec<String> = match listed {
                Some(u) => u.databases.clone(),
                None => dbs
                    .iter()
                    .filter(|(_, (s, _))| s.count as f64 >= NORMAL_SHARE * total as f64)
                    .map(|(d, _)| text(d))
                    .collect(),
            };
            normal.sort();
            let mut outside: Vec<_> = dbs
                .iter()
                .filter(|(d, _)| !normal.contains(&text(d)))
                .collect();
            outside.sort_by(|a, b| a.0.cmp(b.0));
            for (db, (s, sources)) in outside {
                let db = text(db);
                let detail = format!(
                    "{name} touched database {db} {} time{}, outside its {} database{} ({})",
                    s.count,
                    if s.count == 1 { "" } else { "s" },
                    if listed.is_some() {
                        "configured"
                    } else {
                        "usual"
                    },
                    if normal.len() == 1 { "" } else { "s" },
                    normal.join(", ")
                );
                let user = Some(name.clone());
                out.push(s.finding(
                    ctx,
                    kind::CROSS_DATABASE,
                    Severity::Medium,
                    user,
                    sources.render(),
                    Some(db),
                    detail,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::qualified_databases;
    use crate::pass::testing::*;

    fn dbs(sql: &str) -> Vec<String> {
        let mut v = Vec::new();
        qualified_databases(sql.as_bytes(), |d| {
            v.push(String::from_utf8_lossy(d).into_owned())
        });
        v
    }

    #[test]
    fn only_names_after_table_keywords_are_databases() {
        assert_eq!(
            dbs("SELECT * FROM orders.customers WHERE id = 42"),
            vec!["orders"]
        );
        assert_eq!(
            dbs("SELECT o.id FROM orders o JOIN `billing`.`inv` i ON o.id = i.oid"),
            vec!["billing"]
        );
        assert_eq!(
            dbs("select o.customer_id, 1.5 from t o"),
            Vec::<String>::new()
        );
        assert_eq!(
            dbs("INSERT INTO\\n  warehouse.facts VALUES (1)"),
            vec!["warehouse"]
        );
        assert_eq!(dbs("UPDATE shop.items SET a = 'x.y'"), vec!["shop"]);
    }

    #[test]
    fn a_user_reading_another_database_is_reported() {
        let c = config();
        let mut lines = Vec::new();
        for i in 0..200 {
            lines.push(line(
                i,
                "app_billing",
                "172.31.1.1",
                1,
                "QUERY",
                "billing",
                "SELECT * FROM invoices i WHERE i.id = 1",
                0,
                "",
            ));
        }
        lines.push(line(
            300,
            "app_billing",
            "172.31.1.1",
            1,
            "QUERY",
            "billing",
            "SELECT * FROM orders.customers WHERE id = 42",
            0,
            "",
        ));
        lines.push(line(
            301,
            "app_billing",
            "172.31.1.1",
            1,
            "QUERY",
            "billing",
            "SELECT * FROM mysql.user",
            0,
            "",
        ));
        let f = findings(&c, &[&lines]);
        let x: Vec<_> = f.iter().filter(|f| f.kind == "cross_database").collect();
        assert_eq!(x.len(), 1, "{x:?}");
        assert_eq!(x[0].database.as_deref(), Some("orders"));
        assert_eq!(x[0].user.as_deref(), Some("app_billing"));
        assert_eq!(x[0].evidence, "f0:201");
        assert_eq!(x[0].client_ip.as_deref(), Some("172.31.1.1"));
    }

    /// A finding names every source behind it (in byte order, whatever the order of chunks),
    /// the first few when there are many.
    #[test]
    fn findings_name_their_sources() {
        let c = config();
        let mut lines = Vec::new();
        for i in 0..100 {
            lines.push(line(
                i,
                "app",
                "172.31.1.1",
                1,
                "QUERY",
                "billing",
                "SELECT 1",
                0,
                "",
            ));
        }
        for (i, host) in ["172.31.9.9", "203.0.113.7", "172.31.9.9"]
            .iter()
            .enumerate()
        {
            let sql = "SELECT * FROM orders.customers";
            lines.push(line(
                200 + i as i64,
                "app",
                host,
                2,
                "QUERY",
                "billing",
                sql,
                0,
                "",
            ));
        }
        let f = findings(&c, &[&lines]);
        let x: Vec<_> = f.iter().filter(|f| f.kind == "cross_database").collect();
        assert_eq!(x.len(), 1, "{x:?}");
        assert_eq!(x[0].client_ip.as_deref(), Some("172.31.9.9, 203.0.113.7"));

        let mut s = super::Sources::default();
        for i in (0..20u8).rev() {
            s.insert(vec![b'a' + i].into());
        }
        assert_eq!(s.render().unwrap(), "a, b, c, d, e, f, g, h, …");
        let (mut a, mut b) = (super::Sources::default(), super::Sources::default());
        for i in 0..20u8 {
            if i % 3 == 0 { &mut a } else { &mut b }.insert(vec![b'a' + i].into());
        }
        a.merge(b);
        assert_eq!(a, s);
    }

    #[test]
    fn configured_databases_override_the_learned_ones() {
        let mut c = config();
        c.users.insert(
            "etl".into(),
            crate::pass::config::UserConfig {
                databases: vec!["warehouse".into()],
            },
        );
        let lines = vec![
            line(
                0,
                "etl",
                "172.31.1.1",
                1,
                "QUERY",
                "warehouse",
                "SELECT 1",
                0,
                "",
            ),
            line(
                1,
                "etl",
                "172.31.1.1",
                1,
                "QUERY",
                "staging",
                "SELECT 1",
                0,
                "",
            ),
        ];
        let f = findings(&c, &[&lines]);
        let x: Vec<_> = f
            .iter()
            .filter(|f| f.kind == "cross_database")
            .map(|f| f.database.clone().unwrap())
            .collect();
        assert_eq!(x, vec!["staging"]);
    }
}
