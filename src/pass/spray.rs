//! `password_spray`: one source failing against many distinct users within the window (the
//! spray tries one password on many accounts, staying under per-account lockouts). State:
//! per (source, second) the users tried; bursts are found at the end with a sliding window
//! over distinct users.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::brute_force::{is_failed_login, sliding_bursts};
use super::{text, AnalysisConfig, Evidence, FinishContext, Observed, Pass};
use crate::finding::{kind, Finding, Severity};

#[derive(Clone, Debug)]
struct Tries {
    count: u64,
    first_us: i64,
    last_us: i64,
    first: Evidence,
    sample: super::Sample,
    users: BTreeSet<Box<[u8]>>,
}

impl Tries {
    fn merge(&mut self, b: Tries) {
        self.count += b.count;
        if (b.first_us, b.first) < (self.first_us, self.first) {
            self.first_us = b.first_us;
            self.first = b.first;
        }
        self.last_us = self.last_us.max(b.last_us);
        self.sample.merge(b.sample);
        self.users.extend(b.users);
    }
}

pub(crate) struct PasswordSprayPass {
    config: AnalysisConfig,
    tries: HashMap<Box<[u8]>, BTreeMap<i64, Tries>>,
}

impl Pass for PasswordSprayPass {
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut super::Evidence)) {
        for per_minute in self.tries.values_mut() {
            for x in per_minute.values_mut() {
                f(&mut x.first);
                x.sample.for_each_evidence(f);
            }
        }
    }

    fn new(config: &AnalysisConfig) -> Self {
        PasswordSprayPass {
            config: config.clone(),
            tries: HashMap::new(),
        }
    }

    fn observe(&mut self, o: &Observed<'_, '_>) {
        if !is_failed_login(o) {
            return;
        }
        let e = o.event;
        let t = Tries {
            count: 1,
            first_us: e.time_us,
            last_us: e.time_us,
            first: o.evidence,
            sample: super::Sample::new(e.time_us, o.evidence),
            users: BTreeSet::from([Box::<[u8]>::from(e.user)]),
        };
        match self
            .tries
            .entry(o.source())
            .or_default()
            .entry(e.time_us.div_euclid(1_000_000))
        {
            std::collections::btree_map::Entry::Occupied(mut x) => x.get_mut().merge(t),
            std::collections::btree_map::Entry::Vacant(x) => {
                x.insert(t);
            }
        }
    }

    fn merge(&mut self, later: Self) {
        super::merge_map(&mut self.tries, later.tries, |a, b| {
            super::merge_ordered(a, b, |x, y| x.merge(y))
        });
    }

    fn finish(self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>) {
        let c = &self.config;
        let mut sources: Vec<_> = self.tries.into_iter().collect();
        sources.sort_by(|a, b| a.0.cmp(&b.0));
        for (source, buckets) in sources {
            let buckets: Vec<(i64, Tries)> = buckets.into_iter().collect();
            let secs: Vec<i64> = buckets.iter().map(|b| b.0).collect();
            let window: std::cell::RefCell<HashMap<&[u8], u32>> = Default::default();
            let bursts = sliding_bursts(
                &secs,
                c.brute_force_window_secs,
                |i| {
                    let mut w = window.borrow_mut();
                    for u in &buckets[i].1.users {
                        *w.entry(u).or_default() += 1;
                    }
                },
                |i| {
                    let mut w = window.borrow_mut();
                    for u in &buckets[i].1.users {
                        let n = w.get_mut(&**u).expect("entered before");
                        *n -= 1;
                        if *n == 0 {
                            w.remove(&**u);
                        }
                    }
                },
                || window.borrow().len() >= c.spray_users as usize,
            );
            let src = text(&source);
            for (l, r) in bursts {
                let mut agg = buckets[l].1.clone();
                for b in &buckets[l + 1..=r] {
                    agg.merge(b.1.clone());
                }
                let users: Vec<String> = agg.users.iter().map(|u| text(u)).collect();
                let shown: Vec<&str> = users.iter().take(10).map(|s| s.as_str()).collect();
                out.push(Finding {
                    kind: kind::PASSWORD_SPRAY.into(),
                    severity: Severity::High,
                    first_seen_us: agg.first_us,
                    last_seen_us: agg.last_us,
                    user: None,
                    client_ip: Some(src.clone()),
                    database: None,
                    count: agg.count as i64,
                    detail: format!(
                        "{} failed logins against {} distinct users from {src} between {} and {} ({}{})",
                        agg.count,
                        users.len(),
                        crate::time::rfc3339(agg.first_us),
                        crate::time::rfc3339(agg.last_us),
                        shown.join(", "),
                        if users.len() > shown.len() { ", ..." } else { "" }
                    ),
                    evidence: ctx.evidence(agg.first),
                    id: String::new(),
                    resource: None,
                    samples: agg.sample.evidence(),
                    geo: Default::default(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pass::testing::*;

    #[test]
    fn one_source_failing_against_many_users_is_a_spray() {
        let c = config();
        let mut lines = Vec::new();
        for (i, u) in ["root", "test", "dba", "backup", "guest", "web"]
            .iter()
            .enumerate()
        {
            lines.push(line(
                i as i64 * 20,
                u,
                "198.51.100.23",
                i as i64,
                "FAILED_CONNECT",
                "",
                "",
                1045,
                "SSL",
            ));
        }
        // The same users spread over hours from another source: no spray.
        for (i, u) in ["root", "test", "dba", "backup", "guest", "web"]
            .iter()
            .enumerate()
        {
            lines.push(line(
                i as i64 * 3_600,
                u,
                "198.51.100.24",
                50 + i as i64,
                "FAILED_CONNECT",
                "",
                "",
                1045,
                "SSL",
            ));
        }
        let f = findings(&c, &[&lines]);
        let s: Vec<_> = f.iter().filter(|f| f.kind == "password_spray").collect();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].client_ip.as_deref(), Some("198.51.100.23"));
        assert_eq!(s[0].count, 6);
        assert!(f.iter().all(|f| f.kind != "brute_force"));
    }

    #[test]
    fn many_failures_for_one_user_are_not_a_spray() {
        let c = config();
        let lines: Vec<_> = (0..30)
            .map(|i| {
                line(
                    i,
                    "admin",
                    "2001:db8::66",
                    i,
                    "FAILED_CONNECT",
                    "",
                    "",
                    1045,
                    "SSL",
                )
            })
            .collect();
        let f = findings(&c, &[&lines]);
        assert!(f.iter().all(|f| f.kind != "password_spray"));
        assert!(f
            .iter()
            .any(|f| f.kind == "brute_force" && f.client_ip.as_deref() == Some("2001:db8::66")));
    }
}
