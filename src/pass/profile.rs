//! Login profiles (`profile.parquet`) and `anomalous_login`.
//!
//! A [`Profile`] says, per user, what its successful logins looked like: the sources
//! (address, its /24 or /48 network, its AS and country when `--geoip` knows them), the
//! hours of day (UTC), the databases, TLS, each with a count and the first and last time
//! seen, plus one `user` row with the totals. It is a map of (user, dimension, value) to
//! (count, first, last), so two profiles merge by adding counts and taking the earliest first
//! and latest last: the profile of two scans merged equals the profile of one scan of both
//! (a session cut between two inputs counts its databases in the scan that holds its login).
//!
//! It is fed by the consumer with each session as it ends (not per event): the login of a
//! session is one login. [`ProfileBuilder`] also keeps, per (user, source, hour), the logins
//! with their evidence, from which [`ProfileBuilder::anomalies`] reports the logins unlike a
//! baseline: an earlier scan's profile (`--baseline DIR`), or the first days of this input
//! (`--learn 7d`), or both. Severity by how new a login is: a new country or AS is high, a
//! new network or a user never seen medium, an hour the user never logs in at low. Local
//! connections (socket, loopback) are not judged.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::{FinishContext, Seen};
use crate::finding::{kind, Evidence, Finding, Severity};
use crate::intel::{GeoIp, NetInfo};

/// What a profile row is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    /// The user's totals (value empty).
    User,
    Address,
    /// The /24 (IPv4) or /48 (IPv6) network of the address, or the host name as written.
    Network,
    Asn,
    Country,
    /// Hour of day of the login, UTC, `00`–`23`.
    Hour,
    Database,
    /// `true`, `false` or `unknown`.
    Tls,
}

impl Dimension {
    pub const ALL: [Dimension; 8] = [
        Dimension::User,
        Dimension::Address,
        Dimension::Network,
        Dimension::Asn,
        Dimension::Country,
        Dimension::Hour,
        Dimension::Database,
        Dimension::Tls,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::User => "user",
            Dimension::Address => "address",
            Dimension::Network => "network",
            Dimension::Asn => "asn",
            Dimension::Country => "country",
            Dimension::Hour => "hour",
            Dimension::Database => "database",
            Dimension::Tls => "tls",
        }
    }

    pub fn parse(s: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// Count, first and last time (µs) of one profile row; `label` is the AS organisation of an
/// `asn` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    pub count: u64,
    pub first_us: i64,
    pub last_us: i64,
    pub label: Option<String>,
}

impl Stat {
    pub fn merge(&mut self, o: Stat) {
        self.count += o.count;
        self.first_us = self.first_us.min(o.first_us);
        self.last_us = self.last_us.max(o.last_us);
        // The smallest label, so merging is order-free.
        self.label = match (self.label.take(), o.label) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// A profile: (user, dimension, value) → [`Stat`], sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub rows: BTreeMap<(String, Dimension, String), Stat>,
}

impl Profile {
    pub fn merge(&mut self, o: Profile) {
        for (k, v) in o.rows {
            match self.rows.entry(k) {
                std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().merge(v),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(v);
                }
            }
        }
    }

    /// The row, when the profile has it.
    pub fn get(&self, user: &str, d: Dimension, value: &str) -> Option<&Stat> {
        self.rows.get(&(user.to_string(), d, value.to_string()))
    }
}

/// One login as the consumer hands it over (from a session).
pub struct Login<'a> {
    pub user: &'a [u8],
    pub client_host: &'a [u8],
    pub time_us: i64,
    /// The databases of the session (empty names are skipped).
    pub databases: &'a [std::sync::Arc<[u8]>],
    pub tls: Option<bool>,
    pub evidence: Evidence,
}

/// The facts of a source that the profile keeps.
#[derive(Clone, Debug, Default)]
struct Source {
    address: String,
    network: String,
    info: Option<NetInfo>,
    local: bool,
}

/// Builds this scan's profile and keeps the logins that [`ProfileBuilder::anomalies`] judges.
///
/// Sessions repeat the same few shapes (a pool's user, host, hour, database and TLS), so
/// logins are first counted per shape, keyed by one byte string built in a reused buffer (a
/// hit allocates nothing); the profile rows are made from the shapes at the end.
#[derive(Default)]
pub struct ProfileBuilder {
    /// Login shape (see [`shape_key`]) → the logins of that shape.
    shapes: HashMap<Box<[u8]>, Seen, foldhash::fast::RandomState>,
    /// The facts of each source (by host field), looked up once.
    sources: HashMap<Box<[u8]>, Source, foldhash::fast::RandomState>,
    /// The earliest login, where `--learn` counts from.
    first_us: Option<i64>,
    key: Vec<u8>,
}

/// The network a profile keeps for an address: its /24 or /48.
pub fn network_of(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            format!("{net}/48")
        }
    }
}

/// A login's shape as one key: user, host, then hour and TLS as one byte each, then the sorted
/// distinct databases; each text length-prefixed, so that no two shapes share a key.
fn shape_key(key: &mut Vec<u8>, login: &Login<'_>, hour: u8) {
    let put = |key: &mut Vec<u8>, b: &[u8]| {
        key.extend_from_slice(&(b.len() as u32).to_le_bytes());
        key.extend_from_slice(b);
    };
    key.clear();
    put(key, login.user);
    put(key, login.client_host);
    key.push(hour);
    key.push(match login.tls {
        Some(true) => 1,
        Some(false) => 0,
        None => 2,
    });
    let mut dbs: Vec<&[u8]> = login
        .databases
        .iter()
        .map(|d| &d[..])
        .filter(|d| !d.is_empty())
        .collect();
    if dbs.len() > 1 {
        dbs.sort_unstable();
        dbs.dedup();
    }
    for d in dbs {
        put(key, d);
    }
}

/// The parts of a [`shape_key`].
struct Shape<'k> {
    user: &'k [u8],
    host: &'k [u8],
    hour: u8,
    tls: &'static str,
    databases: Vec<&'k [u8]>,
}

fn parse_shape(key: &[u8]) -> Shape<'_> {
    let mut at = 0;
    let take = |at: &mut usize| -> &[u8] {
        let n = u32::from_le_bytes(key[*at..*at + 4].try_into().expect("4 bytes")) as usize;
        let v = &key[*at + 4..*at + 4 + n];
        *at += 4 + n;
        v
    };
    let user = take(&mut at);
    let host = take(&mut at);
    let (hour, tls) = (key[at], key[at + 1]);
    at += 2;
    let mut databases = Vec::new();
    while at < key.len() {
        databases.push(take(&mut at));
    }
    Shape {
        user,
        host,
        hour,
        tls: match tls {
            1 => "true",
            0 => "false",
            _ => "unknown",
        },
        databases,
    }
}

impl ProfileBuilder {
    /// Visits the evidence of every login it keeps.
    pub fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut Evidence)) {
        for seen in self.shapes.values_mut() {
            seen.for_each_evidence(f);
        }
    }

    /// Adds one successful login.
    pub fn add(&mut self, login: &Login<'_>, geo: Option<&GeoIp>) {
        let t = login.time_us;
        if !self.sources.contains_key(login.client_host) {
            let host = login.client_host;
            let local = super::is_local_host(host);
            let source = match crate::event::client_ip(host) {
                Some(ip) => Source {
                    address: ip.to_string(),
                    network: network_of(ip),
                    info: geo.and_then(|g| g.lookup(ip)),
                    local: local || ip.is_loopback(),
                },
                None => {
                    let text = String::from_utf8_lossy(host).into_owned();
                    Source {
                        address: text.clone(),
                        network: text,
                        info: None,
                        local,
                    }
                }
            };
            self.sources.insert(host.into(), source);
        }
        let hour = (t.div_euclid(3_600_000_000).rem_euclid(24)) as u8;
        let mut key = std::mem::take(&mut self.key);
        shape_key(&mut key, login, hour);
        match self.shapes.get_mut(&key[..]) {
            Some(s) => s.add(t, login.evidence),
            None => {
                self.shapes
                    .insert(key.as_slice().into(), Seen::new(t, login.evidence));
            }
        }
        self.key = key;
        self.first_us = Some(self.first_us.map_or(t, |f| f.min(t)));
    }

    /// This scan's profile.
    pub fn profile(&self) -> Profile {
        let mut p = Profile::default();
        for (key, seen) in &self.shapes {
            let shape = parse_shape(key);
            let source = &self.sources[shape.host];
            let user = String::from_utf8_lossy(shape.user);
            let mut add = |d: Dimension, value: &str, label: Option<&str>| {
                let stat = Stat {
                    count: seen.count,
                    first_us: seen.first_us,
                    last_us: seen.last_us,
                    label: label.map(str::to_string),
                };
                match p.rows.get_mut(&(user.to_string(), d, value.to_string())) {
                    Some(r) => r.merge(stat),
                    None => {
                        p.rows
                            .insert((user.to_string(), d, value.to_string()), stat);
                    }
                }
            };
            add(Dimension::User, "", None);
            add(Dimension::Address, &source.address, None);
            add(Dimension::Network, &source.network, None);
            if let Some(info) = &source.info {
                if let Some(asn) = info.asn {
                    add(Dimension::Asn, &asn.to_string(), info.as_org.as_deref());
                }
                if let Some(c) = &info.country {
                    add(Dimension::Country, c, None);
                }
            }
            add(Dimension::Hour, &format!("{:02}", shape.hour), None);
            for db in &shape.databases {
                add(Dimension::Database, &String::from_utf8_lossy(db), None);
            }
            add(Dimension::Tls, shape.tls, None);
        }
        p
    }

    /// Per (user, source address, hour): the logins, from the shapes (local ones left out).
    fn logins(&self) -> BTreeMap<(String, String, u8), Seen> {
        let mut out: BTreeMap<(String, String, u8), Seen> = BTreeMap::new();
        for (key, seen) in &self.shapes {
            let shape = parse_shape(key);
            let source = &self.sources[shape.host];
            if source.local {
                continue;
            }
            let k = (
                String::from_utf8_lossy(shape.user).into_owned(),
                source.address.clone(),
                shape.hour,
            );
            match out.get_mut(&k) {
                Some(s) => s.merge(*seen),
                None => {
                    out.insert(k, *seen);
                }
            }
        }
        out
    }

    /// The `anomalous_login` findings of this scan's logins against `baseline` and, with
    /// `learn_secs`, the logins of this scan's first `learn_secs` seconds (whose own logins
    /// are never reported). Nothing without either.
    pub fn anomalies(
        &self,
        baseline: Option<&Profile>,
        learn_secs: Option<i64>,
        ctx: &FinishContext<'_>,
    ) -> Vec<Finding> {
        if baseline.is_none() && learn_secs.is_none() {
            return Vec::new();
        }
        let learn_end = match (learn_secs, self.first_us) {
            (Some(secs), Some(first)) => Some(first.saturating_add(secs.saturating_mul(1_000_000))),
            _ => None,
        };
        let profile = self.profile();
        let known = |user: &str, d: Dimension, value: &str| -> bool {
            baseline.is_some_and(|b| b.get(user, d, value).is_some())
                || learn_end.is_some_and(|end| {
                    profile
                        .get(user, d, value)
                        .is_some_and(|s| s.first_us < end)
                })
        };
        let by_address: HashMap<&str, &Source> = self
            .sources
            .values()
            .map(|s| (s.address.as_str(), s))
            .collect();
        // Per (user, source): the novel logins and what is new about them.
        let mut found: BTreeMap<(&str, &str), (Seen, Severity, Vec<String>)> = BTreeMap::new();
        let logins = self.logins();
        for ((user, address, hour), seen) in &logins {
            // With --learn, a login key first seen inside the learning period is known whole;
            // later logins of the same key may still be judged only on their own merits,
            // which are the same: skip it.
            if learn_end.is_some_and(|end| seen.first_us < end) {
                continue;
            }
            let Some(source) = by_address.get(address.as_str()) else {
                continue;
            };
            let mut reasons = Vec::new();
            let severity;
            if !known(user, Dimension::User, "") {
                reasons.push(format!("user {user} never seen before"));
                severity = Severity::Medium;
            } else {
                let mut sev = None;
                if let Some(info) = &source.info {
                    if let Some(c) = &info.country {
                        if !known(user, Dimension::Country, c) {
                            reasons.push(format!("new country {c}"));
                            sev = Some(Severity::High);
                        }
                    }
                    if let Some(asn) = info.asn {
                        if !known(user, Dimension::Asn, &asn.to_string()) {
                            let org = info.as_org.as_deref().map(|o| format!(" {o}"));
                            reasons.push(format!("new AS{asn}{}", org.unwrap_or_default()));
                            sev = Some(Severity::High);
                        }
                    }
                }
                if !known(user, Dimension::Network, &source.network) {
                    reasons.push(format!("new network {}", source.network));
                    sev = sev.max(Some(Severity::Medium));
                }
                let h = format!("{hour:02}");
                if !known(user, Dimension::Hour, &h) {
                    reasons.push(format!("{h}:00 UTC, an hour {user} never logged in at"));
                    sev = sev.max(Some(Severity::Low));
                }
                match sev {
                    Some(s) => severity = s,
                    None => continue,
                }
            }
            let e = found
                .entry((user.as_str(), address.as_str()))
                .or_insert_with(|| (*seen, severity, Vec::new()));
            if e.0 != *seen {
                e.0.merge(*seen);
            }
            e.1 = e.1.max(severity);
            for r in reasons {
                if !e.2.contains(&r) {
                    e.2.push(r);
                }
            }
        }
        let against = match (baseline.is_some(), learn_end) {
            (true, Some(_)) => "the baseline and the learning period",
            (true, None) => "the baseline",
            (false, _) => "the learning period",
        };
        let mut out = Vec::new();
        for ((user, address), (seen, severity, reasons)) in found {
            let whence = by_address
                .get(address)
                .and_then(|s| s.info.as_ref())
                .map(|i| format!(" ({})", i.describe()))
                .unwrap_or_default();
            let detail = format!(
                "{} login{} as {user} from {address}{whence} unlike {against}: {}; first at {}",
                seen.count,
                if seen.count == 1 { "" } else { "s" },
                reasons.join(", "),
                crate::time::rfc3339(seen.first_us)
            );
            out.push(seen.finding(
                ctx,
                kind::ANOMALOUS_LOGIN,
                severity,
                Some(user.to_string()),
                Some(address.to_string()),
                None,
                detail,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000;
    const D: i64 = 24 * H;

    fn login(b: &mut ProfileBuilder, user: &str, host: &str, t: i64, line: u64) {
        b.add(
            &Login {
                user: user.as_bytes(),
                client_host: host.as_bytes(),
                time_us: t,
                databases: &[std::sync::Arc::from(&b"orders"[..])],
                tls: Some(true),
                evidence: Evidence::at(0, line),
            },
            None,
        );
    }

    fn ctx_files() -> Vec<std::sync::Arc<str>> {
        vec!["f".into()]
    }

    #[test]
    fn after_the_learning_days_new_networks_hours_and_users_are_reported_by_novelty() {
        let mut b = ProfileBuilder::default();
        for day in 0..3 {
            for h in 8..18 {
                login(&mut b, "app", "10.0.1.5", day * D + h * H, 1);
            }
        }
        // Day 4: the usual, a new network, a new hour, a new user, a local login.
        login(&mut b, "app", "10.0.1.5", 4 * D + 9 * H, 2);
        login(&mut b, "app", "10.0.9.5", 4 * D + 10 * H, 3);
        login(&mut b, "app", "10.0.1.6", 4 * D + 3 * H, 4);
        login(&mut b, "eve", "10.0.1.5", 4 * D + 11 * H, 5);
        login(&mut b, "app", "localhost", 4 * D + 2 * H, 6);
        let config = crate::pass::AnalysisConfig::default();
        let files = ctx_files();
        let ctx = FinishContext {
            config: &config,
            files: &files,
        };
        let f = b.anomalies(None, Some(3 * 86_400), &ctx);
        let got: Vec<_> = f
            .iter()
            .map(|f| {
                (
                    f.user.as_deref().unwrap(),
                    f.client_ip.as_deref().unwrap(),
                    f.severity,
                    f.evidence.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("app", "10.0.1.6", Severity::Low, "f:4"),
                ("app", "10.0.9.5", Severity::Medium, "f:3"),
                ("eve", "10.0.1.5", Severity::Medium, "f:5"),
            ]
        );
        assert!(
            f[0].detail
                .contains("03:00 UTC, an hour app never logged in at"),
            "{}",
            f[0].detail
        );
        assert!(
            f[1].detail.contains("new network 10.0.9.0/24"),
            "{}",
            f[1].detail
        );
        assert!(
            f[2].detail.contains("user eve never seen before"),
            "{}",
            f[2].detail
        );
        // Without a baseline or a learning period: nothing.
        assert!(b.anomalies(None, None, &ctx).is_empty());
        // Against its own profile as the baseline: nothing is new.
        assert!(b.anomalies(Some(&b.profile()), None, &ctx).is_empty());
    }

    #[test]
    fn profiles_merge_to_the_profile_of_both() {
        let mut a = ProfileBuilder::default();
        let mut b = ProfileBuilder::default();
        let mut both = ProfileBuilder::default();
        for (i, (u, h, t)) in [
            ("app", "10.0.1.5", 5 * H),
            ("app", "10.0.1.5", 2 * H),
            ("x", "2001:db8::1", H),
        ]
        .into_iter()
        .enumerate()
        {
            login(if i % 2 == 0 { &mut a } else { &mut b }, u, h, t, i as u64);
            login(&mut both, u, h, t, i as u64);
        }
        let mut merged = a.profile();
        merged.merge(b.profile());
        assert_eq!(merged, both.profile());
        let row = merged.get("app", Dimension::Address, "10.0.1.5").unwrap();
        assert_eq!((row.count, row.first_us, row.last_us), (2, 2 * H, 5 * H));
        assert!(merged
            .get("x", Dimension::Network, "2001:db8::/48")
            .is_some());
    }
}
