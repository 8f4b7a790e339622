//! `brute_force` and `brute_force_success`: many failed logins from one source within a
//! sliding window, and a successful login from that source soon after.
//!
//! State is bounded by time, not by events: failures are counted per (source, second) and
//! successes keep only the first per (source, minute). Bursts are found at the end with a
//! sliding window over the sorted seconds, so out-of-order input (Aurora writes four files
//! at once; rotated files are newest first) and bursts split across files are handled alike.
//! Overlapping windows merge into one burst.

use std::collections::{BTreeMap, HashMap};

use super::{text, AnalysisConfig, Evidence, FinishContext, Observed, Pass};
use crate::finding::{kind, Finding, Severity};

/// Failures of one source in one second.
#[derive(Clone, Debug)]
pub(super) struct Failures {
    pub count: u64,
    pub first_us: i64,
    pub last_us: i64,
    pub first: Evidence,
    pub sample: super::Sample,
    /// Users tried (at most a few kept, for the detail sentence).
    pub users: Vec<Box<[u8]>>,
}

const USERS_KEPT: usize = 8;

impl Failures {
    pub fn new(o: &Observed<'_, '_>) -> Self {
        Failures {
            count: 1,
            first_us: o.event.time_us,
            last_us: o.event.time_us,
            first: o.evidence,
            sample: super::Sample::new(o.event.time_us, o.evidence),
            users: vec![o.event.user.into()],
        }
    }

    pub fn merge(&mut self, b: Failures) {
        self.count += b.count;
        if (b.first_us, b.first) < (self.first_us, self.first) {
            self.first_us = b.first_us;
            self.first = b.first;
        }
        self.last_us = self.last_us.max(b.last_us);
        self.sample.merge(b.sample);
        for u in b.users {
            if self.users.len() < USERS_KEPT && !self.users.contains(&u) {
                self.users.push(u);
            }
        }
        self.users.sort();
    }
}

/// A failed login: FAILED_CONNECT (the DISCONNECT that follows it is not a failure).
pub(super) fn is_failed_login(o: &Observed<'_, '_>) -> bool {
    o.event.operation == crate::event::Operation::FailedConnect
}

/// Maximal runs of buckets where some window of `window_secs` qualifies. `enter`/`leave`
/// add and remove a bucket from the window; `qualifies` tests the current window.
pub(super) fn sliding_bursts(
    secs: &[i64],
    window_secs: i64,
    mut enter: impl FnMut(usize),
    mut leave: impl FnMut(usize),
    mut qualifies: impl FnMut() -> bool,
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut l = 0;
    for r in 0..secs.len() {
        enter(r);
        while secs[r] - secs[l] >= window_secs {
            leave(l);
            l += 1;
        }
        if qualifies() {
            match out.last_mut() {
                Some(last) if l <= last.1 => last.1 = r,
                _ => out.push((l, r)),
            }
        }
    }
    out
}

/// The failures of consecutive buckets as one.
fn aggregate(buckets: &[(i64, Failures)]) -> Failures {
    let mut agg = buckets[0].1.clone();
    for b in &buckets[1..] {
        agg.merge(b.1.clone());
    }
    agg
}

/// Low and slow: the failures of a source outside its fast bursts, in a sliding window of
/// the slow horizon, reaching the slow threshold; overlapping windows merge. The per-second
/// buckets are the state, so the horizon adds nothing to it.
fn slow_bursts(
    buckets: &[(i64, Failures)],
    fast: &[(usize, usize)],
    c: &AnalysisConfig,
) -> Vec<Failures> {
    let mut in_fast = vec![false; buckets.len()];
    for &(l, r) in fast {
        in_fast[l..=r].iter_mut().for_each(|f| *f = true);
    }
    let rest: Vec<&(i64, Failures)> = buckets
        .iter()
        .zip(&in_fast)
        .filter(|(_, f)| !**f)
        .map(|(b, _)| b)
        .collect();
    if rest.is_empty() {
        return Vec::new();
    }
    let secs: Vec<i64> = rest.iter().map(|b| b.0).collect();
    let sum = std::cell::Cell::new(0u64);
    sliding_bursts(
        &secs,
        c.slow_brute_force_horizon_secs,
        |i| sum.set(sum.get() + rest[i].1.count),
        |i| sum.set(sum.get() - rest[i].1.count),
        || sum.get() >= c.slow_brute_force_threshold as u64,
    )
    .into_iter()
    .map(|(l, r)| {
        let mut agg = rest[l].1.clone();
        for b in &rest[l + 1..=r] {
            agg.merge(b.1.clone());
        }
        agg
    })
    .collect()
}

/// The first successful login in a minute: (time, evidence, user).
type FirstLogin = (i64, Evidence, super::Name);

pub(crate) struct BruteForcePass {
    config: AnalysisConfig,
    failures: HashMap<Box<[u8]>, BTreeMap<i64, Failures>>,
    /// source → minute → first successful login in it (time, evidence, user).
    successes: HashMap<super::Name, BTreeMap<i64, FirstLogin>>,
}

impl Pass for BruteForcePass {
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut super::Evidence)) {
        for per_second in self.failures.values_mut() {
            for x in per_second.values_mut() {
                f(&mut x.first);
                x.sample.for_each_evidence(f);
            }
        }
        for logins in self.successes.values_mut() {
            for x in logins.values_mut() {
                f(&mut x.1);
            }
        }
    }

    fn new(config: &AnalysisConfig) -> Self {
        BruteForcePass {
            config: config.clone(),
            failures: HashMap::new(),
            successes: HashMap::new(),
        }
    }

    fn observe(&mut self, o: &Observed<'_, '_>) {
        let e = o.event;
        if is_failed_login(o) {
            self.failures
                .entry(o.source())
                .or_default()
                .entry(e.time_us.div_euclid(1_000_000))
                .and_modify(|f| f.merge(Failures::new(o)))
                .or_insert_with(|| Failures::new(o));
        } else if o.is_successful_login() && !o.is_local() {
            let first = (e.time_us, o.evidence, Box::<[u8]>::from(e.user));
            let slot = self
                .successes
                .entry(o.source())
                .or_default()
                .entry(e.time_us.div_euclid(60_000_000));
            slot.and_modify(|s| {
                if (first.0, first.1) < (s.0, s.1) {
                    *s = first.clone();
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
            for (min, s) in b {
                let slot = a.entry(min).or_insert_with(|| s.clone());
                if (s.0, s.1) < (slot.0, slot.1) {
                    *slot = s;
                }
            }
        });
    }

    fn finish(self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>) {
        let c = &self.config;
        let mut sources: Vec<_> = self.failures.into_iter().collect();
        sources.sort_by(|a, b| a.0.cmp(&b.0));
        // (source, user) → (time, evidence, end of the burst before it)
        let mut success_found: BTreeMap<(super::Name, super::Name), (i64, Evidence, i64)> =
            BTreeMap::new();
        for (source, buckets) in sources {
            let buckets: Vec<(i64, Failures)> = buckets.into_iter().collect();
            let secs: Vec<i64> = buckets.iter().map(|b| b.0).collect();
            let sum = std::cell::Cell::new(0u64);
            let bursts = sliding_bursts(
                &secs,
                c.brute_force_window_secs,
                |i| sum.set(sum.get() + buckets[i].1.count),
                |i| sum.set(sum.get() - buckets[i].1.count),
                || sum.get() >= c.brute_force_threshold as u64,
            );
            let src = text(&source);
            let public = src
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| !super::is_private(ip) && !ip.is_loopback());
            let mut found: Vec<(Failures, bool)> = bursts
                .iter()
                .map(|&(l, r)| (aggregate(&buckets[l..=r]), false))
                .collect();
            found.extend(
                slow_bursts(&buckets, &bursts, c)
                    .into_iter()
                    .map(|agg| (agg, true)),
            );
            for (agg, slow) in found {
                let users: Vec<String> = agg.users.iter().map(|u| text(u)).collect();
                out.push(Finding {
                    kind: kind::BRUTE_FORCE.into(),
                    severity: if public {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    first_seen_us: agg.first_us,
                    last_seen_us: agg.last_us,
                    user: (users.len() == 1).then(|| users[0].clone()),
                    client_ip: Some(src.clone()),
                    database: None,
                    count: agg.count as i64,
                    detail: format!(
                        "{} failed logins from {src} between {} and {}{} (users: {})",
                        agg.count,
                        crate::time::rfc3339(agg.first_us),
                        crate::time::rfc3339(agg.last_us),
                        if slow {
                            ", a slow brute force (never the fast threshold in one window)"
                        } else {
                            ""
                        },
                        users.join(", ")
                    ),
                    evidence: ctx.evidence(agg.first),
                    id: String::new(),
                    resource: None,
                    samples: agg.sample.evidence(),
                    geo: Default::default(),
                });
                // A success from the same source after the burst began, within the delay.
                let until_us = agg.last_us + c.brute_force_success_delay_secs * 1_000_000;
                if let Some(succ) = self.successes.get(&source) {
                    let from_min = agg.first_us.div_euclid(60_000_000);
                    let to_min = until_us.div_euclid(60_000_000);
                    let hit = succ
                        .range(from_min..=to_min)
                        .map(|(_, s)| s)
                        .filter(|s| s.0 >= agg.first_us && s.0 <= until_us)
                        .min_by_key(|s| (s.0, s.1));
                    if let Some((t, ev, user)) = hit {
                        let key = (source.clone(), user.clone());
                        let entry = success_found.entry(key).or_insert((*t, *ev, agg.last_us));
                        if (*t, *ev) < (entry.0, entry.1) {
                            *entry = (*t, *ev, agg.last_us);
                        }
                    }
                }
            }
        }
        for ((source, user), (t, ev, burst_end)) in success_found {
            let (src, user) = (text(&source), text(&user));
            let after = (t - burst_end).max(0) / 1_000_000;
            out.push(Finding {
                kind: kind::BRUTE_FORCE_SUCCESS.into(),
                severity: Severity::Critical,
                first_seen_us: t,
                last_seen_us: t,
                detail: format!(
                    "successful login as {user} from {src} at {}, {} after a brute force from the same source: treat the account as compromised",
                    crate::time::rfc3339(t),
                    if t <= burst_end { "during and".to_string() } else { format!("{after} s") }
                ),
                user: Some(user),
                client_ip: Some(src),
                database: None,
                count: 1,
                evidence: ctx.evidence(ev),
                id: String::new(),
                resource: None,
                samples: vec![ev],
                geo: Default::default(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pass::testing::*;

    fn burst(start: i64, n: usize, spacing: i64, host: &str) -> Vec<String> {
        let mut v = Vec::new();
        for i in 0..n {
            let t = start + i as i64 * spacing;
            v.push(line(
                t,
                "admin",
                host,
                100 + i as i64,
                "FAILED_CONNECT",
                "",
                "",
                1045,
                "SSL",
            ));
            // FAILED_CONNECT is followed by DISCONNECT with code 0: not a login, not a failure.
            v.push(line(
                t,
                "admin",
                host,
                100 + i as i64,
                "DISCONNECT",
                "",
                "",
                0,
                "SSL",
            ));
        }
        v
    }

    #[test]
    fn failed_login_followed_by_success_is_reported() {
        let c = config();
        let mut lines = burst(0, 25, 5, "203.0.113.9");
        lines.push(line(
            1_000,
            "admin",
            "203.0.113.9",
            999,
            "CONNECT",
            "",
            "",
            0,
            "SSL",
        ));
        let f = findings(&c, &[&lines]);
        let bf: Vec<_> = f.iter().filter(|f| f.kind == "brute_force").collect();
        assert_eq!(bf.len(), 1);
        assert_eq!(bf[0].count, 25);
        assert_eq!(bf[0].severity.as_str(), "high");
        assert_eq!(bf[0].evidence, "f0:1");
        let s: Vec<_> = f
            .iter()
            .filter(|f| f.kind == "brute_force_success")
            .collect();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].user.as_deref(), Some("admin"));
        assert_eq!(s[0].severity.as_str(), "critical");
        assert_eq!(s[0].evidence, "f0:51");
    }

    #[test]
    fn slow_failures_and_late_successes_are_not_a_brute_force_success() {
        let c = config();
        // 25 failures but one per minute: never 20 within 5 minutes.
        let mut lines = burst(0, 25, 60, "203.0.113.9");
        lines.extend(burst(10_000, 20, 1, "198.51.100.4"));
        // Success two hours after the second burst: outside the 1 h delay.
        lines.push(line(
            10_020 + 7_200,
            "admin",
            "198.51.100.4",
            999,
            "CONNECT",
            "",
            "",
            0,
            "SSL",
        ));
        let f = findings(&c, &[&lines]);
        let bf: Vec<_> = f
            .iter()
            .filter(|f| f.kind == "brute_force")
            .map(|f| f.client_ip.clone().unwrap())
            .collect();
        assert_eq!(bf, vec!["198.51.100.4"]);
        assert!(f.iter().all(|f| f.kind != "brute_force_success"));
    }

    #[test]
    fn a_low_and_slow_trickle_is_a_brute_force_and_its_success_follows() {
        let c = config();
        // One failure every two minutes for five hours, then a success.
        let mut lines = burst(0, 150, 120, "203.0.113.9");
        lines.push(line(
            150 * 120,
            "admin",
            "203.0.113.9",
            999,
            "CONNECT",
            "",
            "",
            0,
            "SSL",
        ));
        // A fast burst elsewhere is not also a slow one.
        lines.extend(burst(0, 60, 3, "198.51.100.4"));
        let f = findings(&c, &[&lines]);
        let bf: Vec<_> = f.iter().filter(|f| f.kind == "brute_force").collect();
        assert_eq!(bf.len(), 2, "{bf:?}");
        let slow = bf
            .iter()
            .find(|f| f.client_ip.as_deref() == Some("203.0.113.9"))
            .unwrap();
        assert_eq!(slow.count, 150);
        assert_eq!(slow.severity.as_str(), "high");
        assert!(slow.detail.contains("slow"), "{}", slow.detail);
        let s: Vec<_> = f
            .iter()
            .filter(|f| f.kind == "brute_force_success")
            .collect();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].client_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(s[0].severity.as_str(), "critical");
    }

    #[test]
    fn a_burst_split_across_two_files_and_out_of_order_is_one_burst() {
        let c = config();
        let all = burst(0, 30, 2, "172.31.9.9");
        // File 1 holds the second half (newest first, like rotated logs), file 2 the first.
        let (first, second) = all.split_at(30);
        let f = findings(&c, &[second, first]);
        let bf: Vec<_> = f.iter().filter(|f| f.kind == "brute_force").collect();
        assert_eq!(bf.len(), 1);
        assert_eq!(bf[0].count, 30);
        assert_eq!(bf[0].severity.as_str(), "medium", "private source");
        assert_eq!(
            bf[0].evidence, "f1:1",
            "first event by time, in the second file"
        );
    }

    #[test]
    fn overlapping_windows_merge_and_separate_bursts_stay_separate() {
        let c = config();
        let mut lines = burst(0, 60, 10, "203.0.113.9"); // 10 minutes of steady failures
        lines.extend(burst(7_200, 20, 1, "203.0.113.9"));
        let f = findings(&c, &[&lines]);
        let counts: Vec<_> = f
            .iter()
            .filter(|f| f.kind == "brute_force")
            .map(|f| f.count)
            .collect();
        assert_eq!(counts, vec![60, 20]);
    }
}
