//! Analysis passes: turn normalized events into findings.
//!
//! Every pass implements [`Pass`]: it observes events (the normalized columns only, never a
//! log format) inside the same single pass over the input as parsing, keeps bounded state
//! (aggregates per user, source or time window, never the event stream), and is built per
//! chunk in the workers, then merged in input order. Aggregates merge the same way whatever
//! the split, and the merge order is fixed anyway, so findings do not depend on the thread
//! count. Adding a pass touches this folder only.

use std::cell::OnceCell;
use std::net::IpAddr;

use crate::event::{client_ip, Event, Operation};
use crate::finding::Finding;

pub mod brute_force;
pub mod config;
pub mod control_plane;
pub mod cross_database;
pub mod distributed_brute_force;
pub mod master_user;
pub mod non_ssl;
pub mod plane_logins;
pub mod profile;
pub mod rate_spike;
pub mod rules;
pub mod spray;
pub mod statements;
pub mod threat_list;
pub mod unknown_source;

pub use config::AnalysisConfig;

/// An owned user, source or database name (bytes as logged).
pub(crate) type Name = Box<[u8]>;
/// Aggregates per (user, source) or (source, user).
pub(crate) type PairMap<V> = std::collections::HashMap<(Name, Name), V>;

pub use crate::finding::Evidence;

/// How many of the earliest events behind an aggregate are kept as evidence (the latest one
/// is kept besides).
pub(crate) const SAMPLE_FIRST: usize = 3;

/// A bounded sample of the events behind an aggregate: the earliest few and the latest one,
/// by (time, place). Fixed-size and `Copy`: adding an event is a comparison or two, never an
/// allocation, and merging samples of any split gives the same sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    first: [(i64, Evidence); SAMPLE_FIRST],
    n: u8,
    last: (i64, Evidence),
}

impl Sample {
    pub fn new(time_us: i64, ev: Evidence) -> Self {
        Sample {
            first: [(time_us, ev); SAMPLE_FIRST],
            n: 1,
            last: (time_us, ev),
        }
    }

    #[inline]
    pub fn add(&mut self, time_us: i64, ev: Evidence) {
        // The common case, input in time order: a new latest event, which cannot be among
        // the earliest once they are full (each of them is at most the latest).
        if self.n as usize == SAMPLE_FIRST
            && (time_us > self.last.0 || (time_us == self.last.0 && ev > self.last.1))
        {
            self.last = (time_us, ev);
            return;
        }
        self.add_slow(time_us, ev);
    }

    #[inline(never)]
    fn add_slow(&mut self, time_us: i64, ev: Evidence) {
        let x = (time_us, ev);
        if x > self.last {
            self.last = x;
        }
        let n = self.n as usize;
        if n == SAMPLE_FIRST && x >= self.first[n - 1] {
            return;
        }
        // Sorted insert; an event already kept (the same place) is not kept twice.
        let at = self.first[..n].partition_point(|y| *y < x);
        if at < n && self.first[at] == x {
            return;
        }
        let end = n.min(SAMPLE_FIRST - 1);
        self.first.copy_within(at..end, at + 1);
        self.first[at] = x;
        self.n = (n + 1).min(SAMPLE_FIRST) as u8;
    }

    pub fn merge(&mut self, o: Sample) {
        for &(t, ev) in &o.first[..o.n as usize] {
            self.add(t, ev);
        }
        self.add(o.last.0, o.last.1);
    }

    /// Visits every evidence it holds (the slots past the earliest kept too: copies of kept
    /// ones, so that a sample stays equal to itself once they are changed alike).
    pub fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut Evidence)) {
        for x in &mut self.first {
            f(&mut x.1);
        }
        f(&mut self.last.1);
    }

    /// The events kept, in order: the earliest few, then the latest if it is not among them.
    pub fn evidence(&self) -> Vec<Evidence> {
        let mut v: Vec<Evidence> = self.first[..self.n as usize].iter().map(|x| x.1).collect();
        if !self.first[..self.n as usize].contains(&self.last) {
            v.push(self.last.1);
        }
        v
    }
}

/// One event as the passes see it, with the derived facts several passes need computed at
/// most once.
pub(crate) struct Observed<'e, 'a> {
    pub event: &'e Event<'a>,
    pub evidence: Evidence,
    /// The original log message (without export prefix), for custom rules.
    pub message: &'a [u8],
    ip: OnceCell<Option<IpAddr>>,
}

impl<'e, 'a> Observed<'e, 'a> {
    pub fn new(event: &'e Event<'a>, evidence: Evidence, message: &'a [u8]) -> Self {
        Observed {
            event,
            evidence,
            message,
            ip: OnceCell::new(),
        }
    }

    /// The client address, when the host field is one.
    pub fn ip(&self) -> Option<IpAddr> {
        *self.ip.get_or_init(|| client_ip(self.event.client_host))
    }

    /// The source as findings name it: the canonical address, or the host field as written.
    pub fn source(&self) -> Box<[u8]> {
        match self.ip() {
            Some(ip) => ip.to_string().into_bytes().into_boxed_slice(),
            None => self.event.client_host.into(),
        }
    }

    /// A connection over the local socket or loopback (internal users, health checks).
    pub(crate) fn is_local(&self) -> bool {
        is_local_host(self.event.client_host) || self.ip().is_some_and(|ip| ip.is_loopback())
    }

    /// A login that succeeded.
    pub(crate) fn is_successful_login(&self) -> bool {
        self.event.operation.is_successful_login() && self.event.retcode.unwrap_or(0) == 0
    }
}

pub(crate) fn is_local_host(host: &[u8]) -> bool {
    matches!(host, b"" | b"localhost" | b"[local]") || host.starts_with(b"localhost:")
}

/// RDS's internal accounts, which are expected to do administrative things locally.
pub(crate) fn is_internal_user(user: &[u8]) -> bool {
    matches!(
        user,
        b"rdsadmin" | b"rdsrepladmin" | b"rdstopmgr" | b"rdsproxyadmin"
    ) || user.starts_with(b"mysql.")
}

/// Private (not routable on the internet) addresses: RFC 1918, RFC 4193, shared address
/// space, link-local. Everything else that is not loopback is treated as public.
pub(crate) fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private() || v4.is_link_local() || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments()[0];
            (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80
        }
    }
}

/// Counts and the first/last occurrence of something: the common aggregate of the passes.
/// "First" is the earliest event, ties broken by file and line, so merges are deterministic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Seen {
    pub count: u64,
    pub first_us: i64,
    pub last_us: i64,
    pub first: Evidence,
    pub sample: Sample,
}

impl Seen {
    pub fn new(time_us: i64, ev: Evidence) -> Self {
        Seen {
            count: 1,
            first_us: time_us,
            last_us: time_us,
            first: ev,
            sample: Sample::new(time_us, ev),
        }
    }

    #[inline]
    pub fn add(&mut self, time_us: i64, ev: Evidence) {
        self.count += 1;
        if (time_us, ev) < (self.first_us, self.first) {
            self.first_us = time_us;
            self.first = ev;
        }
        self.last_us = self.last_us.max(time_us);
        self.sample.add(time_us, ev);
    }

    /// The finding these occurrences make; evidence is the first event.
    #[allow(clippy::too_many_arguments)]
    pub fn finding(
        &self,
        ctx: &FinishContext<'_>,
        kind: &str,
        severity: crate::finding::Severity,
        user: Option<String>,
        client_ip: Option<String>,
        database: Option<String>,
        detail: String,
    ) -> Finding {
        Finding {
            kind: kind.to_string(),
            severity,
            first_seen_us: self.first_us,
            last_seen_us: self.last_us,
            user,
            client_ip,
            database,
            count: self.count as i64,
            detail,
            evidence: ctx.evidence(self.first),
            id: String::new(),
            resource: None,
            samples: self.sample.evidence(),
            geo: Default::default(),
        }
    }

    /// Visits every evidence it holds.
    pub fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut Evidence)) {
        f(&mut self.first);
        self.sample.for_each_evidence(f);
    }

    pub fn merge(&mut self, o: Seen) {
        self.count += o.count;
        if (o.first_us, o.first) < (self.first_us, self.first) {
            self.first_us = o.first_us;
            self.first = o.first;
        }
        self.last_us = self.last_us.max(o.last_us);
        self.sample.merge(o.sample);
    }
}

/// Counts an event under `key`.
pub(crate) fn tally<K: std::hash::Hash + Eq, S: std::hash::BuildHasher>(
    map: &mut std::collections::HashMap<K, Seen, S>,
    key: K,
    o: &Observed<'_, '_>,
) {
    let (t, ev) = (o.event.time_us, o.evidence);
    map.entry(key)
        .and_modify(|s| s.add(t, ev))
        .or_insert_with(|| Seen::new(t, ev));
}

/// Merges two maps of aggregates.
pub(crate) fn merge_map<K: std::hash::Hash + Eq, V, S: std::hash::BuildHasher>(
    into: &mut std::collections::HashMap<K, V, S>,
    from: std::collections::HashMap<K, V, S>,
    mut merge: impl FnMut(&mut V, V),
) {
    for (k, v) in from {
        match into.entry(k) {
            std::collections::hash_map::Entry::Occupied(mut e) => merge(e.get_mut(), v),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }
}

/// Merges two ordered maps of aggregates (per-second or per-minute buckets).
pub(crate) fn merge_ordered<K: Ord, V>(
    into: &mut std::collections::BTreeMap<K, V>,
    from: std::collections::BTreeMap<K, V>,
    mut merge: impl FnMut(&mut V, V),
) {
    for (k, v) in from {
        match into.entry(k) {
            std::collections::btree_map::Entry::Occupied(mut e) => merge(e.get_mut(), v),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }
}

/// What a pass needs to finish: the configuration and a way to name evidence.
pub struct FinishContext<'a> {
    pub config: &'a AnalysisConfig,
    pub files: &'a [std::sync::Arc<str>],
}

impl FinishContext<'_> {
    /// `source_file:source_line` of an event.
    pub fn evidence(&self, ev: Evidence) -> String {
        let file = self
            .files
            .get(ev.file as usize)
            .map(|s| &**s)
            .unwrap_or("?");
        format!("{file}:{}", ev.line)
    }
}

/// Lossy text of a key, for findings.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One analysis pass. `observe` runs on the hot path, once per event.
pub(crate) trait Pass: Send + Sized {
    fn new(config: &AnalysisConfig) -> Self;
    fn observe(&mut self, event: &Observed<'_, '_>);
    /// Folds in the state of a later chunk.
    fn merge(&mut self, later: Self);
    /// Visits every [`Evidence`] the pass holds (kept events, pending ones too), once the
    /// chunk's events are all observed: the scan copies out the text of those read from the
    /// chunk's own buffer ([`Evidence::in_chunk`]), and the consumer asks which places are
    /// still referenced.
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut Evidence));
    fn finish(self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>);
}

/// All passes of a run, as one value the pipeline can observe, merge and finish.
pub struct PassSet {
    unknown_source: unknown_source::UnknownSourcePass,
    non_ssl: non_ssl::NonSslPass,
    master_user: master_user::MasterUserPass,
    brute_force: brute_force::BruteForcePass,
    distributed_brute_force: distributed_brute_force::DistributedBruteForcePass,
    spray: spray::PasswordSprayPass,
    rate_spike: rate_spike::RateSpikePass,
    statements: statements::StatementPass,
    cross_database: cross_database::CrossDatabasePass,
    rules: rules::RulePass,
    plane_logins: plane_logins::PlaneLoginsPass,
    threat_list: threat_list::ThreatListPass,
}

impl PassSet {
    pub fn new(config: &AnalysisConfig) -> Self {
        PassSet {
            unknown_source: Pass::new(config),
            non_ssl: Pass::new(config),
            master_user: Pass::new(config),
            brute_force: Pass::new(config),
            distributed_brute_force: Pass::new(config),
            spray: Pass::new(config),
            rate_spike: Pass::new(config),
            statements: Pass::new(config),
            cross_database: Pass::new(config),
            rules: Pass::new(config),
            plane_logins: Pass::new(config),
            threat_list: Pass::new(config),
        }
    }

    #[inline]
    pub fn observe(&mut self, event: &Event<'_>, evidence: Evidence, message: &[u8]) {
        let o = Observed::new(event, evidence, message);
        // The login passes look at logins only (each checks again); a login is one event in
        // many, so their code stays out of the per-event path.
        if event.operation.is_successful_login() || event.operation == Operation::FailedConnect {
            self.observe_login(&o);
        }
        self.rate_spike.observe(&o);
        self.statements.observe(&o);
        self.cross_database.observe(&o);
        self.rules.observe(&o);
    }

    #[cold]
    #[inline(never)]
    fn observe_login(&mut self, o: &Observed<'_, '_>) {
        self.unknown_source.observe(o);
        self.non_ssl.observe(o);
        self.master_user.observe(o);
        self.brute_force.observe(o);
        self.distributed_brute_force.observe(o);
        self.spray.observe(o);
        self.plane_logins.observe(o);
        self.threat_list.observe(o);
    }

    pub fn merge(&mut self, later: PassSet) {
        self.unknown_source.merge(later.unknown_source);
        self.non_ssl.merge(later.non_ssl);
        self.master_user.merge(later.master_user);
        self.brute_force.merge(later.brute_force);
        self.distributed_brute_force
            .merge(later.distributed_brute_force);
        self.spray.merge(later.spray);
        self.rate_spike.merge(later.rate_spike);
        self.statements.merge(later.statements);
        self.cross_database.merge(later.cross_database);
        self.rules.merge(later.rules);
        self.threat_list.merge(later.threat_list);
        self.plane_logins.merge(later.plane_logins);
    }

    /// Visits every [`Evidence`] the passes hold (see [`Pass::for_each_evidence`]).
    pub fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut Evidence)) {
        self.unknown_source.for_each_evidence(f);
        self.non_ssl.for_each_evidence(f);
        self.master_user.for_each_evidence(f);
        self.brute_force.for_each_evidence(f);
        self.distributed_brute_force.for_each_evidence(f);
        self.spray.for_each_evidence(f);
        self.rate_spike.for_each_evidence(f);
        self.statements.for_each_evidence(f);
        self.cross_database.for_each_evidence(f);
        self.rules.for_each_evidence(f);
        self.plane_logins.for_each_evidence(f);
        self.threat_list.for_each_evidence(f);
    }

    /// The logins kept for the joins with the control plane (empty unless the run reads
    /// CloudTrail).
    pub(crate) fn take_logins(&mut self) -> plane_logins::LoginTable {
        std::mem::take(&mut self.plane_logins.logins)
    }

    pub fn finish(self, ctx: &FinishContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        self.unknown_source.finish(ctx, &mut out);
        self.non_ssl.finish(ctx, &mut out);
        self.master_user.finish(ctx, &mut out);
        self.brute_force.finish(ctx, &mut out);
        self.distributed_brute_force.finish(ctx, &mut out);
        one_success_per_source_and_user(&mut out);
        self.spray.finish(ctx, &mut out);
        self.rate_spike.finish(ctx, &mut out);
        self.statements.finish(ctx, &mut out);
        self.cross_database.finish(ctx, &mut out);
        self.rules.finish(ctx, &mut out);
        self.threat_list.finish(ctx, &mut out);
        out
    }
}

/// A login after both a per-source and a distributed brute force is one
/// `brute_force_success` (per source and user, as CONTRACT.md has it): the earliest.
fn one_success_per_source_and_user(out: &mut Vec<Finding>) {
    let mut first: std::collections::HashMap<(Option<String>, Option<String>), (i64, usize)> =
        std::collections::HashMap::new();
    for (i, f) in out.iter().enumerate() {
        if f.kind == crate::finding::kind::BRUTE_FORCE_SUCCESS {
            let e = first
                .entry((f.user.clone(), f.client_ip.clone()))
                .or_insert((f.first_seen_us, i));
            if f.first_seen_us < e.0 {
                *e = (f.first_seen_us, i);
            }
        }
    }
    let mut i = 0;
    out.retain(|f| {
        let keep = f.kind != crate::finding::kind::BRUTE_FORCE_SUCCESS
            || first[&(f.user.clone(), f.client_ip.clone())].1 == i;
        i += 1;
        keep
    });
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs passes over crafted log text, split into chunks like the pipeline does.
    use super::*;
    use crate::format::{self, Reason, RecordSink};

    struct Feed<'p> {
        passes: &'p mut PassSet,
        file: u32,
    }

    impl<'a> RecordSink<'a> for Feed<'_> {
        fn event(&mut self, e: Event<'a>, message: &'a [u8]) {
            self.passes
                .observe(&e, Evidence::at(self.file, e.line), message);
        }
        fn blank(&mut self, _line: u64) {}
        fn rejected(&mut self, line: u64, reason: Reason, text: &'a [u8]) {
            panic!(
                "crafted line {line} rejected ({reason:?}): {}",
                String::from_utf8_lossy(text)
            );
        }
    }

    /// Findings for the given files (each a list of lines), every line its own chunk so that
    /// merging is exercised as much as possible.
    pub fn findings(config: &AnalysisConfig, files: &[&[String]]) -> Vec<Finding> {
        let mut total: Option<PassSet> = None;
        for (f, lines) in files.iter().enumerate() {
            for (i, line) in lines.iter().enumerate() {
                let fmt = format::sniff(line.as_bytes()).expect("crafted line sniffs");
                let mut part = PassSet::new(config);
                format::parse_chunk(
                    &fmt,
                    line.as_bytes(),
                    i as u64 + 1,
                    true,
                    &mut Feed {
                        passes: &mut part,
                        file: f as u32,
                    },
                );
                match &mut total {
                    Some(t) => t.merge(part),
                    None => total = Some(part),
                }
            }
        }
        let names: Vec<std::sync::Arc<str>> =
            (0..files.len()).map(|i| format!("f{i}").into()).collect();
        let ctx = FinishContext {
            config,
            files: &names,
        };
        let mut out = total.unwrap_or_else(|| PassSet::new(config)).finish(&ctx);
        crate::finding::sort(&mut out);
        out
    }

    /// An RDS for MySQL line at `secs` seconds after 2026-03-01T00:00:00Z.
    #[allow(clippy::too_many_arguments)]
    pub fn line(
        secs: i64,
        user: &str,
        host: &str,
        conn: i64,
        op: &str,
        db: &str,
        obj: &str,
        ret: i32,
        ctype: &str,
    ) -> String {
        let t = chrono::DateTime::from_timestamp(1_772_323_200 + secs, 0).unwrap();
        let ts = t.format("%Y%m%d %H:%M:%S");
        if op == "QUERY" {
            format!("{ts},ip-10-0-0-1,{user},{host},{conn},{secs},QUERY,{db},'{obj}',{ret},,")
        } else {
            format!("{ts},ip-10-0-0-1,{user},{host},{conn},0,{op},{db},{obj},{ret},{ctype}")
        }
    }

    pub fn config() -> AnalysisConfig {
        AnalysisConfig {
            allow: vec!["172.31.0.0/16".parse().unwrap()],
            allow_is_default: false,
            master_users: vec!["admin".into()],
            master_users_are_default: false,
            admin_hosts: vec!["172.31.0.10/32".parse().unwrap()],
            ..AnalysisConfig::default()
        }
    }
}
