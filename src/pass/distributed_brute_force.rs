//! `distributed_brute_force`: many failed logins for one user from many sources within a
//! sliding window (a botnet trying one account a few times per address, under every
//! per-source threshold), and `brute_force_success` when that user then logs in from one of
//! those sources.
//!
//! State is bounded by time: failures are counted per (user, second) with the sources of that
//! second, and successful logins keep the first per (user, minute, source). Bursts are found
//! at the end with a sliding window over the sorted seconds, as for `brute_force`, so
//! out-of-order input and bursts split across files are handled alike.

use std::collections::{BTreeMap, HashMap};

use super::brute_force::{is_failed_login, sliding_bursts};
use super::{text, AnalysisConfig, Evidence, FinishContext, Name, Observed, Pass, Sample};
use crate::finding::{kind, Finding, Severity};

/// Failures for one user in one second.
#[derive(Clone, Debug)]
struct Second {
    count: u64,
    first_us: i64,
    last_us: i64,
    first: Evidence,
    /// The events behind it (the report's and `evidence/`'s lines).
    sample: Sample,
    /// Failures per source in this second.
    sources: Vec<(Name, u32)>,
}

impl Second {
    fn add(&mut self, time_us: i64, ev: Evidence, source: Name, n: u32) {
        self.count += u64::from(n);
        self.sample.add(time_us, ev);
        if (time_us, ev) < (self.first_us, self.first) {
            self.first_us = time_us;
            self.first = ev;
        }
        self.last_us = self.last_us.max(time_us);
        match self.sources.iter_mut().find(|(s, _)| *s == source) {
            Some((_, c)) => *c += n,
            None => self.sources.push((source, n)),
        }
    }

    fn merge(&mut self, b: Second) {
        self.count += b.count;
        self.sample.merge(b.sample);
        if (b.first_us, b.first) < (self.first_us, self.first) {
            self.first_us = b.first_us;
            self.first = b.first;
        }
        self.last_us = self.last_us.max(b.last_us);
        for (s, n) in b.sources {
            match self.sources.iter_mut().find(|(x, _)| *x == s) {
                Some((_, c)) => *c += n,
                None => self.sources.push((s, n)),
            }
        }
    }
}

/// user → minute → source → first successful login (time, evidence).
type Successes = HashMap<Name, BTreeMap<i64, HashMap<Name, (i64, Evidence)>>>;

pub struct DistributedBruteForcePass {
    config: AnalysisConfig,
    failures: HashMap<Name, BTreeMap<i64, Second>>,
    successes: Successes,
}

impl Pass for DistributedBruteForcePass {
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut super::Evidence)) {
        for per_second in self.failures.values_mut() {
            for x in per_second.values_mut() {
                f(&mut x.first);
                x.sample.for_each_evidence(f);
            }
        }
        for per_second in self.successes.values_mut() {
            for sources in per_second.values_mut() {
                for x in sources.values_mut() {
                    f(&mut x.1);
                }
            }
        }
    }

    fn new(config: &AnalysisConfig) -> Self {
        DistributedBruteForcePass {
            config: config.clone(),
            failures: HashMap::new(),
            successes: HashMap::new(),
        }
    }

    fn observe(&mut self, o: &Observed<'_, '_>) {
        let e = o.event;
        if is_failed_login(o) {
            let sec = e.time_us.div_euclid(1_000_000);
            let source = o.source();
            self.failures
                .entry(e.user.into())
                .or_default()
                .entry(sec)
                .and_modify(|s| s.add(e.time_us, o.evidence, source.clone(), 1))
                .or_insert_with(|| Second {
                    count: 1,
                    first_us: e.time_us,
                    last_us: e.time_us,
                    first: o.evidence,
                    sample: Sample::new(e.time_us, o.evidence),
                    sources: vec![(source, 1)],
                });
        } else if o.is_successful_login() && !o.is_local() {
            let first = (e.time_us, o.evidence);
            // Only users with failures matter, but those are not known until the end; a
            // session's login is one entry per (user, minute, source).
            self.successes
                .entry(e.user.into())
                .or_default()
                .entry(e.time_us.div_euclid(60_000_000))
                .or_default()
                .entry(o.source())
                .and_modify(|s| {
                    if first < *s {
                        *s = first;
                    }
                })
                .or_insert(first);
        }
    }

    fn merge(&mut self, later: Self) {
        super::merge_map(&mut self.failures, later.failures, |a, b| {
            super::merge_ordered(a, b, |x, y| x.merge(y))
        });
        super::merge_map(&mut self.successes, later.successes, |a, b| {
            for (min, sources) in b {
                let slot = a.entry(min).or_default();
                for (src, first) in sources {
                    let s = slot.entry(src).or_insert(first);
                    if first < *s {
                        *s = first;
                    }
                }
            }
        });
    }

    fn finish(self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>) {
        let c = &self.config;
        let mut users: Vec<_> = self.failures.into_iter().collect();
        users.sort_by(|a, b| a.0.cmp(&b.0));
        for (user, seconds) in users {
            let seconds: Vec<(i64, Second)> = seconds.into_iter().collect();
            let secs: Vec<i64> = seconds.iter().map(|s| s.0).collect();
            // The window's failures and its failures per source.
            let sum = std::cell::Cell::new(0u64);
            let per_source = std::cell::RefCell::new(HashMap::<&[u8], u32>::new());
            let bursts = sliding_bursts(
                &secs,
                c.distributed_brute_force_window_secs,
                |i| {
                    sum.set(sum.get() + seconds[i].1.count);
                    let mut m = per_source.borrow_mut();
                    for (s, n) in &seconds[i].1.sources {
                        *m.entry(s).or_default() += n;
                    }
                },
                |i| {
                    sum.set(sum.get() - seconds[i].1.count);
                    let mut m = per_source.borrow_mut();
                    for (s, n) in &seconds[i].1.sources {
                        let left = m.get_mut(&s[..]).expect("entered before");
                        *left -= n;
                        if *left == 0 {
                            m.remove(&s[..]);
                        }
                    }
                },
                || {
                    sum.get() >= u64::from(c.distributed_brute_force_threshold)
                        && per_source.borrow().len() >= c.distributed_brute_force_sources as usize
                },
            );
            let user_text = text(&user);
            for (l, r) in bursts {
                let mut agg = seconds[l].1.clone();
                for s in &seconds[l + 1..=r] {
                    agg.merge(s.1.clone());
                }
                let mut sources: Vec<&Name> = agg.sources.iter().map(|(s, _)| s).collect();
                sources.sort();
                let public = sources.iter().any(|s| {
                    text(s)
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| !super::is_private(ip) && !ip.is_loopback())
                });
                let sample: Vec<String> = sources.iter().take(5).map(|s| text(s)).collect();
                out.push(Finding {
                    kind: kind::DISTRIBUTED_BRUTE_FORCE.into(),
                    severity: if public {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    first_seen_us: agg.first_us,
                    last_seen_us: agg.last_us,
                    user: Some(user_text.clone()),
                    client_ip: None,
                    database: None,
                    count: agg.count as i64,
                    detail: format!(
                        "{} failed logins for {user_text} from {} sources between {} and {} (at most {} from any one; {}{})",
                        agg.count,
                        sources.len(),
                        crate::time::rfc3339(agg.first_us),
                        crate::time::rfc3339(agg.last_us),
                        agg.sources.iter().map(|s| s.1).max().unwrap_or(0),
                        sample.join(", "),
                        if sources.len() > sample.len() { ", …" } else { "" },
                    ),
                    evidence: ctx.evidence(agg.first),
                    id: String::new(),
                    resource: None,
                    samples: agg.sample.evidence(),
                    geo: Default::default(),
                });
                // The user logging in from one of those sources after the burst began.
                let until_us = agg.last_us + c.brute_force_success_delay_secs * 1_000_000;
                let Some(succ) = self.successes.get(&user) else {
                    continue;
                };
                let hit = succ
                    .range(agg.first_us.div_euclid(60_000_000)..=until_us.div_euclid(60_000_000))
                    .flat_map(|(_, m)| m.iter())
                    .filter(|(src, s)| {
                        s.0 >= agg.first_us && s.0 <= until_us && sources.contains(src)
                    })
                    .min_by_key(|(src, s)| (s.0, s.1, (*src).clone()));
                if let Some((src, (t, ev))) = hit {
                    let src = text(src);
                    out.push(Finding {
                        kind: kind::BRUTE_FORCE_SUCCESS.into(),
                        severity: Severity::Critical,
                        first_seen_us: *t,
                        last_seen_us: *t,
                        detail: format!(
                            "successful login as {user_text} from {src} at {}, one of the {} sources of a distributed brute force against it: treat the account as compromised",
                            crate::time::rfc3339(*t),
                            sources.len()
                        ),
                        user: Some(user_text.clone()),
                        client_ip: Some(src),
                        database: None,
                        count: 1,
                        evidence: ctx.evidence(*ev),
                        id: String::new(),
                        resource: None,
                        samples: vec![*ev],
                        geo: Default::default(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pass::testing::*;

    fn fail(t: i64, user: &str, host: &str) -> String {
        line(t, user, host, 100, "FAILED_CONNECT", "", "", 1045, "SSL")
    }

    #[test]
    fn many_sources_against_one_user_then_a_success_from_one_of_them() {
        let c = config();
        // 150 failures from 75 addresses in ten minutes, two per address.
        let mut lines = Vec::new();
        for i in 0..150i64 {
            lines.push(fail(i * 4, "admin", &format!("192.0.2.{}", 100 + i % 75)));
        }
        lines.push(line(
            700,
            "admin",
            "192.0.2.150",
            999,
            "CONNECT",
            "",
            "",
            0,
            "SSL",
        ));
        // The same user from an address that did not fail: not a brute force success.
        lines.push(line(
            710,
            "admin",
            "198.51.100.7",
            998,
            "CONNECT",
            "",
            "",
            0,
            "SSL",
        ));
        let f = findings(&c, &[&lines]);
        let d: Vec<_> = f
            .iter()
            .filter(|f| f.kind == "distributed_brute_force")
            .collect();
        assert_eq!(d.len(), 1, "{f:?}");
        assert_eq!(d[0].count, 150);
        assert_eq!(d[0].user.as_deref(), Some("admin"));
        assert_eq!(d[0].severity.as_str(), "high");
        assert!(d[0].detail.contains("75 sources"), "{}", d[0].detail);
        let s: Vec<_> = f
            .iter()
            .filter(|f| f.kind == "brute_force_success")
            .collect();
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].client_ip.as_deref(), Some("192.0.2.150"));
        assert_eq!(s[0].severity.as_str(), "critical");
        assert!(f.iter().all(|f| f.kind != "brute_force"));
    }

    #[test]
    fn few_sources_or_few_failures_are_not_distributed() {
        let c = config();
        let mut lines = Vec::new();
        // 60 failures from 3 sources: a plain brute force per source, not distributed.
        for i in 0..60i64 {
            lines.push(fail(i, "admin", &format!("203.0.113.{}", i % 3)));
        }
        // 20 sources, one failure each: too few failures.
        for i in 0..20i64 {
            lines.push(fail(5_000 + i, "app", &format!("10.1.0.{i}")));
        }
        let f = findings(&c, &[&lines]);
        assert!(
            f.iter().all(|f| f.kind != "distributed_brute_force"),
            "{f:?}"
        );
    }
}
