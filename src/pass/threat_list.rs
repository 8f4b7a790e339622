//! `threat_list_login` and `threat_list_attempt`: logins and failed logins from an address on
//! a threat list (`--threat-list`), naming the list.
//!
//! A successful login from a listed source is critical (one finding per user and source); the
//! failed logins from one are high (one finding per source, the users named in the detail).
//! The lists are interval sets ([`crate::intel::Ranges`]), asked once per login event and never
//! for any other event; without lists the pass does nothing.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{text, AnalysisConfig, FinishContext, Observed, PairMap, Pass, Seen};
use crate::finding::{kind, Finding, Severity};
use crate::intel::ThreatLists;

pub(crate) struct ThreatListPass {
    lists: Arc<ThreatLists>,
    /// Per (user, source): the logins, and the lists that hold the source.
    logins: PairMap<(Seen, u64)>,
    /// Per (source, user): the failed logins, and the lists.
    attempts: PairMap<(Seen, u64)>,
}

impl Pass for ThreatListPass {
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut super::Evidence)) {
        for x in self.logins.values_mut().chain(self.attempts.values_mut()) {
            x.0.for_each_evidence(f);
        }
    }

    fn new(config: &AnalysisConfig) -> Self {
        ThreatListPass {
            lists: config.threat_lists.clone(),
            logins: PairMap::new(),
            attempts: PairMap::new(),
        }
    }

    #[inline]
    fn observe(&mut self, o: &Observed<'_, '_>) {
        if self.lists.is_empty() {
            return;
        }
        let failed = o.event.operation == crate::event::Operation::FailedConnect
            || (o.event.operation.is_successful_login() && o.event.retcode.unwrap_or(0) != 0);
        if !failed && !o.is_successful_login() {
            return;
        }
        let Some(ip) = o.ip() else { return };
        let bits = self.lists.matching(ip);
        if bits == 0 {
            return;
        }
        let (map, key) = if failed {
            (&mut self.attempts, (o.source(), Box::from(o.event.user)))
        } else {
            (&mut self.logins, (Box::from(o.event.user), o.source()))
        };
        let (t, ev) = (o.event.time_us, o.evidence);
        map.entry(key)
            .and_modify(|(s, b)| {
                s.add(t, ev);
                *b |= bits;
            })
            .or_insert_with(|| (Seen::new(t, ev), bits));
    }

    fn merge(&mut self, later: Self) {
        let m = |a: &mut (Seen, u64), b: (Seen, u64)| {
            a.0.merge(b.0);
            a.1 |= b.1;
        };
        super::merge_map(&mut self.logins, later.logins, m);
        super::merge_map(&mut self.attempts, later.attempts, m);
    }

    fn finish(self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>) {
        let names = |bits: u64| self.lists.names(bits).join(", ");
        for ((user, source), (s, bits)) in &self.logins {
            let (user, source) = (text(user), text(source));
            let detail = format!(
                "{} successful login{} as {user} from {source}, listed in {}, first at {}",
                s.count,
                if s.count == 1 { "" } else { "s" },
                names(*bits),
                crate::time::rfc3339(s.first_us)
            );
            out.push(s.finding(
                ctx,
                kind::THREAT_LIST_LOGIN,
                Severity::Critical,
                Some(user),
                Some(source),
                None,
                detail,
            ));
        }
        // Failed logins: one finding per source, whatever the users.
        // Per source: what was seen, the attempts, the users tried.
        type PerSource<'a> = (Seen, u64, BTreeSet<&'a [u8]>);
        let mut by_source: std::collections::BTreeMap<&[u8], PerSource<'_>> = Default::default();
        for ((source, user), (s, bits)) in &self.attempts {
            by_source
                .entry(source)
                .and_modify(|(a, b, users)| {
                    a.merge(*s);
                    *b |= bits;
                    users.insert(user);
                })
                .or_insert_with(|| (*s, *bits, BTreeSet::from([&user[..]])));
        }
        for (source, (s, bits, users)) in by_source {
            let source = text(source);
            const SHOWN: usize = 5;
            let mut shown: Vec<String> = users.iter().take(SHOWN).map(|u| text(u)).collect();
            if users.len() > SHOWN {
                shown.push(format!("and {} more", users.len() - SHOWN));
            }
            let detail = format!(
                "{} failed login{} from {source} (for {}), listed in {}, first at {}",
                s.count,
                if s.count == 1 { "" } else { "s" },
                shown.join(", "),
                names(bits),
                crate::time::rfc3339(s.first_us)
            );
            let user = (users.len() == 1).then(|| text(users.first().expect("one user")));
            out.push(s.finding(
                ctx,
                kind::THREAT_LIST_ATTEMPT,
                Severity::High,
                user,
                Some(source),
                None,
                detail,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::intel::{ThreatList, ThreatLists};
    use crate::pass::testing::*;

    fn with_lists() -> crate::pass::AnalysisConfig {
        let mut c = config();
        c.threat_lists = Arc::new(ThreatLists::from_lists(vec![
            ThreatList::parse("tor-exits.txt", "203.0.113.50\n2001:db8:dead::7\n").unwrap(),
            ThreatList::parse("firehol_level1.netset", "203.0.113.0/24\n").unwrap(),
        ]));
        c
    }

    #[test]
    fn a_login_from_a_listed_source_is_critical_and_names_the_lists() {
        let lines = vec![
            line(
                0,
                "admin",
                "203.0.113.50",
                1,
                "FAILED_CONNECT",
                "",
                "",
                1045,
                "SSL",
            ),
            line(
                1,
                "root",
                "203.0.113.50",
                2,
                "FAILED_CONNECT",
                "",
                "",
                1045,
                "SSL",
            ),
            line(2, "admin", "203.0.113.50", 3, "CONNECT", "", "", 0, "SSL"),
            line(
                3,
                "admin",
                "203.0.113.50",
                3,
                "QUERY",
                "",
                "SELECT 1",
                0,
                "",
            ),
            line(4, "app", "203.0.113.9", 4, "CONNECT", "", "", 0, "SSL"),
            line(
                5,
                "app",
                "2001:db8:dead::7",
                5,
                "FAILED_CONNECT",
                "",
                "",
                1045,
                "SSL",
            ),
            // Not listed.
            line(6, "app", "198.51.100.1", 6, "CONNECT", "", "", 0, "SSL"),
            line(
                7,
                "app",
                "172.31.0.9",
                7,
                "FAILED_CONNECT",
                "",
                "",
                1045,
                "SSL",
            ),
        ];
        let f: Vec<_> = findings(&with_lists(), &[&lines])
            .into_iter()
            .filter(|f| f.kind.starts_with("threat_list"))
            .collect();
        let got: Vec<_> = f
            .iter()
            .map(|f| {
                (
                    f.kind.as_str(),
                    f.severity.as_str(),
                    f.user.as_deref(),
                    f.client_ip.as_deref().unwrap(),
                    f.count,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("threat_list_attempt", "high", None, "203.0.113.50", 2),
                (
                    "threat_list_login",
                    "critical",
                    Some("admin"),
                    "203.0.113.50",
                    1
                ),
                (
                    "threat_list_login",
                    "critical",
                    Some("app"),
                    "203.0.113.9",
                    1
                ),
                (
                    "threat_list_attempt",
                    "high",
                    Some("app"),
                    "2001:db8:dead::7",
                    1
                ),
            ]
        );
        assert!(
            f[1].detail
                .contains("listed in tor-exits.txt, firehol_level1.netset"),
            "{}",
            f[1].detail
        );
        assert!(f[0].detail.contains("(for admin, root)"), "{}", f[0].detail);
        assert!(
            f[2].detail.contains("listed in firehol_level1.netset,"),
            "{}",
            f[2].detail
        );
        assert_eq!(f[1].evidence, "f0:3");
    }

    #[test]
    fn without_lists_nothing_is_reported() {
        let lines = vec![line(
            0,
            "admin",
            "203.0.113.50",
            1,
            "CONNECT",
            "",
            "",
            0,
            "SSL",
        )];
        assert!(findings(&config(), &[&lines])
            .iter()
            .all(|f| !f.kind.starts_with("threat_list")));
    }
}
