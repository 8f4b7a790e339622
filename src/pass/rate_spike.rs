//! `rate_spike`: a user's activity far above its own baseline.
//!
//! Events are counted per (user, window). At the end each user's window counts form a
//! distribution (hdrhistogram); a window spikes when it exceeds both the floor (so quiet users
//! do not alarm on a handful of events) and `rate_factor` × the user's 95th percentile. Using
//! a high percentile of the user's own windows as the baseline absorbs ordinary daily cycles
//! (a busy hour is a few times the median, never `rate_factor` × the p95). One finding per
//! contiguous run of spiking windows.
//!
//! The hot path keeps a few recent (user, window) pairs because consecutive events come from
//! a handful of concurrent sessions.

use std::collections::{BTreeMap, HashMap};

use super::{text, AnalysisConfig, FinishContext, Observed, Pass, Seen};
use crate::bytes::bytes_eq;
use crate::finding::{kind, Finding, Severity};

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

pub(crate) struct RateSpikePass {
    config: AnalysisConfig,
    window_us: i64,
    /// Per user, its windows in time order: a long input holds many windows per user, and a
    /// B-tree takes each chunk's (later) windows at its end, where a hash map rehashed and a
    /// sort at the end moved every large `Seen` again.
    windows: Map<Box<[u8]>, BTreeMap<i64, Seen>>,
    /// Recent (user, window) pairs not yet added to `windows`: concurrent sessions
    /// interleave, so a few entries catch nearly every event. Entries stay where they are
    /// (a `Seen` carries its evidence sample, so moving them costs); `hit` is the one the
    /// last event went to and `evict` the next to give way, round robin.
    recent: Vec<(Vec<u8>, i64, Seen)>,
    hit: usize,
    evict: usize,
}

const RECENT: usize = 4;

impl RateSpikePass {
    fn add(&mut self, user: Vec<u8>, w: i64, s: Seen) {
        let per_user = match self.windows.get_mut(user.as_slice()) {
            Some(m) => m,
            None => self.windows.entry(user.into_boxed_slice()).or_default(),
        };
        per_user.entry(w).and_modify(|x| x.merge(s)).or_insert(s);
    }

    fn flush(&mut self) {
        for (u, w, s) in std::mem::take(&mut self.recent) {
            self.add(u, w, s);
        }
        (self.hit, self.evict) = (0, 0);
    }
}

impl Pass for RateSpikePass {
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut super::Evidence)) {
        for per_user in self.windows.values_mut() {
            for x in per_user.values_mut() {
                x.for_each_evidence(f);
            }
        }
        for x in &mut self.recent {
            x.2.for_each_evidence(f);
        }
    }

    fn new(config: &AnalysisConfig) -> Self {
        RateSpikePass {
            config: config.clone(),
            window_us: config.rate_window_secs.max(1) * 1_000_000,
            windows: Map::default(),
            recent: Vec::with_capacity(RECENT),
            hit: 0,
            evict: 0,
        }
    }

    #[inline]
    fn observe(&mut self, o: &Observed<'_, '_>) {
        let e = o.event;
        let w = e.time_us.div_euclid(self.window_us);
        // The entry of the last event first: the next event most likely belongs to it again.
        let hit = match self.recent.get(self.hit) {
            Some(r) if r.1 == w && bytes_eq(&r.0, e.user) => Some(self.hit),
            _ => self
                .recent
                .iter()
                .position(|r| r.1 == w && bytes_eq(&r.0, e.user)),
        };
        if let Some(i) = hit {
            self.recent[i].2.add(e.time_us, o.evidence);
            self.hit = i;
            return;
        }
        let entry = (e.user.to_vec(), w, Seen::new(e.time_us, o.evidence));
        if self.recent.len() < RECENT {
            self.recent.push(entry);
            self.hit = self.recent.len() - 1;
        } else {
            let i = self.evict;
            self.evict = (i + 1) % RECENT;
            let (u, w, s) = std::mem::replace(&mut self.recent[i], entry);
            self.hit = i;
            self.add(u, w, s);
        }
    }

    fn merge(&mut self, mut later: Self) {
        self.flush();
        later.flush();
        super::merge_map(&mut self.windows, later.windows, |a, b| {
            super::merge_ordered(a, b, |x: &mut Seen, y| x.merge(y));
        });
    }

    fn finish(mut self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>) {
        self.flush();
        let c = &self.config;
        let minutes = c.rate_window_secs as f64 / 60.0;
        let mut users: Vec<_> = self.windows.into_iter().collect();
        users.sort_by(|a, b| a.0.cmp(&b.0));
        for (user, windows) in users {
            let mut hist = hdrhistogram::Histogram::<u64>::new(3).expect("valid precision");
            for s in windows.values() {
                let _ = hist.record(s.count);
            }
            let p95 = hist.value_at_quantile(0.95);
            let median = hist.value_at_quantile(0.5);
            let threshold = (c.rate_floor as f64).max(c.rate_factor * p95 as f64);
            let mut run: Option<(i64, i64, Seen)> = None; // (first window, last window, agg)
            let emit = |run: (i64, i64, Seen), out: &mut Vec<Finding>| {
                let (a, b, s) = run;
                let span = (b - a + 1) as f64 * minutes;
                let user = text(&user);
                let detail = format!(
                    "{} events by {user} in {span:.0} min from {}; its usual {minutes:.0}-minute window has {median} (95th percentile {p95})",
                    s.count,
                    crate::time::rfc3339(s.first_us)
                );
                out.push(s.finding(
                    ctx,
                    kind::RATE_SPIKE,
                    Severity::High,
                    Some(user),
                    None,
                    None,
                    detail,
                ));
            };
            for (w, s) in windows {
                if (s.count as f64) <= threshold {
                    if let Some(r) = run.take() {
                        emit(r, out);
                    }
                    continue;
                }
                run = match run {
                    Some((a, b, mut agg)) if b + 1 == w => {
                        agg.merge(s);
                        Some((a, w, agg))
                    }
                    Some(r) => {
                        emit(r, out);
                        Some((w, w, s))
                    }
                    None => Some((w, w, s)),
                };
            }
            if let Some(r) = run {
                emit(r, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pass::testing::*;

    /// `per_window` events per 5-minute window for `hours`, with a daily-cycle-like swing.
    fn traffic(user: &str, hours: i64, base: i64) -> Vec<String> {
        let mut v = Vec::new();
        for w in 0..hours * 12 {
            let swing = 1 + (w / 12) % 3; // 1x..3x over the day
            for k in 0..base * swing {
                let t = w * 300 + (k * 300) / (base * swing);
                v.push(line(
                    t,
                    user,
                    "172.31.1.1",
                    1,
                    "QUERY",
                    "db",
                    "select 1",
                    0,
                    "",
                ));
            }
        }
        v
    }

    #[test]
    fn daily_cycles_do_not_spike() {
        let c = config();
        let f = findings(&c, &[&traffic("app", 48, 60)]);
        assert!(f.iter().all(|f| f.kind != "rate_spike"), "{f:?}");
    }

    #[test]
    fn a_burst_far_above_the_users_baseline_is_one_finding_per_run() {
        let c = config();
        let mut lines = traffic("app", 24, 60);
        // 15 minutes at 2,000 events per window, starting at 10:00.
        for k in 0..6_000 {
            lines.push(line(
                36_000 + k * 900 / 6_000,
                "app",
                "172.31.1.1",
                2,
                "QUERY",
                "db",
                "select 2",
                0,
                "",
            ));
        }
        // A quiet user with a small burst stays under the floor.
        for k in 0..150 {
            lines.push(line(
                50_000 + k,
                "quiet",
                "172.31.1.2",
                3,
                "QUERY",
                "db",
                "select 3",
                0,
                "",
            ));
        }
        let f = findings(&c, &[&lines]);
        let s: Vec<_> = f.iter().filter(|f| f.kind == "rate_spike").collect();
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].user.as_deref(), Some("app"));
        assert!(s[0].count >= 6_000);
        assert_eq!(s[0].first_seen_us, (1_772_323_200 + 36_000) * 1_000_000);
    }
}
