//! `master_user`: every login of the RDS master user, one finding per source; high when the
//! source is not an `--admin-host`, low when it is (expected, but worth an audit trail).

use super::{text, AnalysisConfig, FinishContext, Observed, PairMap, Pass, Seen};
use crate::finding::{kind, Finding, Severity};

pub(crate) struct MasterUserPass {
    config: AnalysisConfig,
    /// (source, user) → logins, and whether the source is an admin host.
    seen: PairMap<(Seen, bool)>,
}

impl Pass for MasterUserPass {
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut super::Evidence)) {
        for x in self.seen.values_mut() {
            x.0.for_each_evidence(f);
        }
    }

    fn new(config: &AnalysisConfig) -> Self {
        MasterUserPass {
            config: config.clone(),
            seen: PairMap::new(),
        }
    }

    fn observe(&mut self, o: &Observed<'_, '_>) {
        let e = o.event;
        if !o.is_successful_login() || !self.config.is_master(e.user) {
            return;
        }
        let admin = self.config.is_admin_host(o.ip());
        self.seen
            .entry((o.source(), e.user.into()))
            .and_modify(|(s, _)| s.add(e.time_us, o.evidence))
            .or_insert_with(|| (Seen::new(e.time_us, o.evidence), admin));
    }

    fn merge(&mut self, later: Self) {
        super::merge_map(&mut self.seen, later.seen, |a, b| a.0.merge(b.0));
    }

    fn finish(self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>) {
        for ((source, user), (s, admin)) in self.seen {
            let (source, user) = (text(&source), text(&user));
            let (severity, where_) = if admin {
                (Severity::Low, "an admin host")
            } else if self.config.admin_hosts.is_empty() {
                (Severity::High, "a source (no --admin-host configured)")
            } else {
                (Severity::High, "a source that is not an admin host")
            };
            let detail = format!(
                "{} login{} as master user {user} from {where_}, {source}; first at {}",
                s.count,
                if s.count == 1 { "" } else { "s" },
                crate::time::rfc3339(s.first_us)
            );
            out.push(s.finding(
                ctx,
                kind::MASTER_USER,
                severity,
                Some(user),
                Some(source),
                None,
                detail,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pass::testing::*;

    #[test]
    fn master_logins_are_high_unless_from_an_admin_host() {
        let c = config();
        let lines = vec![
            line(0, "admin", "172.31.0.10", 1, "CONNECT", "", "", 0, "SSL"),
            line(1, "admin", "172.31.0.10", 2, "CONNECT", "", "", 0, "SSL"),
            line(2, "admin", "172.31.5.5", 3, "CONNECT", "", "", 0, "SSL"),
            line(
                3,
                "admin",
                "172.31.5.6",
                4,
                "FAILED_CONNECT",
                "",
                "",
                1045,
                "SSL",
            ),
            line(4, "app", "172.31.5.5", 5, "CONNECT", "", "", 0, "SSL"),
        ];
        let f: Vec<_> = findings(&c, &[&lines])
            .into_iter()
            .filter(|f| f.kind == "master_user")
            .collect();
        let got: Vec<_> = f
            .iter()
            .map(|f| {
                (
                    f.client_ip.as_deref().unwrap(),
                    f.count,
                    f.severity.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![("172.31.0.10", 2, "low"), ("172.31.5.5", 1, "high")]
        );
    }
}
