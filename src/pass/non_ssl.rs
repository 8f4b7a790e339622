//! `non_ssl_session`: sessions whose log says they are not encrypted (RDS for MySQL
//! `TCP/IP`, MariaDB 12 without a TLS version, PostgreSQL without `SSL enabled`). Sessions
//! whose log cannot tell are not findings; the summary reports TLS coverage for them.
//! One finding per (user, source); medium, high for the master user.

use super::{text, AnalysisConfig, FinishContext, Observed, PairMap, Pass, Seen};
use crate::finding::{kind, Finding, Severity};

pub(crate) struct NonSslPass {
    config: AnalysisConfig,
    seen: PairMap<Seen>,
}

impl Pass for NonSslPass {
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut super::Evidence)) {
        for x in self.seen.values_mut() {
            x.for_each_evidence(f);
        }
    }

    fn new(config: &AnalysisConfig) -> Self {
        NonSslPass {
            config: config.clone(),
            seen: PairMap::new(),
        }
    }

    fn observe(&mut self, o: &Observed<'_, '_>) {
        let e = o.event;
        if e.tls != Some(false) || !o.is_successful_login() {
            return;
        }
        super::tally(&mut self.seen, (e.user.into(), o.source()), o);
    }

    fn merge(&mut self, later: Self) {
        super::merge_map(&mut self.seen, later.seen, |a, b| a.merge(b));
    }

    fn finish(self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>) {
        for ((user, source), s) in self.seen {
            let master = self.config.is_master(&user);
            let (user, source) = (text(&user), text(&source));
            let severity = if master {
                Severity::High
            } else {
                Severity::Medium
            };
            let detail = format!(
                "{} unencrypted session{} as {user}{} from {source}; credentials and data crossed the network in clear text",
                s.count,
                if s.count == 1 { "" } else { "s" },
                if master { " (master user)" } else { "" }
            );
            out.push(s.finding(
                ctx,
                kind::NON_SSL_SESSION,
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
    fn plaintext_sessions_are_reported_and_unknown_tls_is_not() {
        let c = config();
        let lines = vec![
            line(0, "legacy", "172.31.7.7", 1, "CONNECT", "", "", 0, "TCP/IP"),
            line(1, "legacy", "172.31.7.7", 1, "QUERY", "", "select 1", 0, ""),
            line(2, "legacy", "172.31.7.7", 2, "CONNECT", "", "", 0, "TCP/IP"),
            line(3, "app", "172.31.7.8", 3, "CONNECT", "", "", 0, "SSL"),
            line(
                4,
                "rdsadmin",
                "localhost",
                4,
                "CONNECT",
                "",
                "",
                0,
                "SOCKET",
            ),
            line(5, "admin", "172.31.0.10", 5, "CONNECT", "", "", 0, "TCP/IP"),
        ];
        let f: Vec<_> = findings(&c, &[&lines])
            .into_iter()
            .filter(|f| f.kind == "non_ssl_session")
            .collect();
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.user.as_deref().unwrap(), f.count, f.severity.as_str()))
            .collect();
        assert_eq!(got, vec![("legacy", 2, "medium"), ("admin", 1, "high")]);
    }
}
