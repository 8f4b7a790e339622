//! `unknown_source_ip`: successful logins from a source outside the expected networks.
//!
//! Loopback and `localhost` are always expected; so are the `--allow` networks, or the
//! private ranges when none are given. A host field that is a name rather than an address
//! cannot be placed in a network, so it is reported by name. One finding per (user, source).

use super::{text, AnalysisConfig, FinishContext, Observed, PairMap, Pass, Seen};
use crate::finding::{kind, Finding, Severity};

pub(crate) struct UnknownSourcePass {
    config: AnalysisConfig,
    seen: PairMap<Seen>,
}

/// Whether a login source is outside the expected networks.
pub(crate) fn is_unexpected(o: &Observed<'_, '_>, config: &AnalysisConfig) -> bool {
    if o.is_local() {
        return false;
    }
    match o.ip() {
        Some(ip) => !config.is_expected(ip),
        None => true,
    }
}

impl Pass for UnknownSourcePass {
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut super::Evidence)) {
        for x in self.seen.values_mut() {
            x.for_each_evidence(f);
        }
    }

    fn new(config: &AnalysisConfig) -> Self {
        UnknownSourcePass {
            config: config.clone(),
            seen: PairMap::new(),
        }
    }

    fn observe(&mut self, o: &Observed<'_, '_>) {
        if !o.is_successful_login() || !is_unexpected(o, &self.config) {
            return;
        }
        let e = o.event;
        super::tally(&mut self.seen, (e.user.into(), o.source()), o);
    }

    fn merge(&mut self, later: Self) {
        super::merge_map(&mut self.seen, later.seen, |a, b| a.merge(b));
    }

    fn finish(self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>) {
        let allowed: Vec<String> = self.config.allow.iter().map(|n| n.to_string()).collect();
        for ((user, source), s) in self.seen {
            let source = text(&source);
            let ip: Option<std::net::IpAddr> = source.parse().ok();
            let (severity, what) = match ip {
                Some(ip) if super::is_private(ip) => (Severity::Medium, "a private address"),
                Some(_) => (Severity::High, "a public address"),
                None => (Severity::Medium, "a host name"),
            };
            let user = text(&user);
            // `--geoip`: which country and network the address belongs to.
            let whence = match (ip, &self.config.geoip) {
                (Some(ip), Some(g)) => g
                    .lookup(ip)
                    .map(|i| format!(" ({})", i.describe()))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let detail = format!(
                "{} login{} as {user} from {what} {source}{whence}, outside {}, first at {}",
                s.count,
                if s.count == 1 { "" } else { "s" },
                allowed.join(", "),
                crate::time::rfc3339(s.first_us)
            );
            out.push(s.finding(
                ctx,
                kind::UNKNOWN_SOURCE_IP,
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
    fn logins_from_outside_the_allowed_networks_are_reported_once_per_user_and_source() {
        let c = config();
        let lines = vec![
            line(0, "app", "172.31.4.9", 1, "CONNECT", "orders", "", 0, "SSL"),
            line(
                1,
                "app",
                "203.0.113.7",
                2,
                "CONNECT",
                "orders",
                "",
                0,
                "SSL",
            ),
            line(
                2,
                "app",
                "203.0.113.7",
                3,
                "CONNECT",
                "orders",
                "",
                0,
                "SSL",
            ),
            line(3, "app", "10.9.9.9", 4, "CONNECT", "orders", "", 0, "SSL"),
            line(
                4,
                "app",
                "2001:db8::7",
                5,
                "CONNECT",
                "orders",
                "",
                0,
                "SSL",
            ),
            line(
                5,
                "rdsadmin",
                "localhost",
                6,
                "CONNECT",
                "",
                "",
                0,
                "SOCKET",
            ),
            line(
                6,
                "app",
                "evil.example.com",
                7,
                "CONNECT",
                "orders",
                "",
                0,
                "SSL",
            ),
            // A failed login is not a login.
            line(
                7,
                "app",
                "198.51.100.1",
                8,
                "FAILED_CONNECT",
                "",
                "",
                1045,
                "SSL",
            ),
        ];
        let f: Vec<_> = findings(&c, &[&lines])
            .into_iter()
            .filter(|f| f.kind == "unknown_source_ip")
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
            vec![
                ("203.0.113.7", 2, "high"),
                ("10.9.9.9", 1, "medium"),
                ("2001:db8::7", 1, "high"),
                ("evil.example.com", 1, "medium")
            ]
        );
        assert_eq!(f[0].evidence, "f0:2");
        assert!(
            f[0].detail.contains("outside 172.31.0.0/16"),
            "{}",
            f[0].detail
        );
    }

    #[test]
    fn a_source_exactly_on_the_cidr_boundary_is_handled_exactly() {
        let mut c = config();
        c.allow = vec![
            "172.31.0.0/16".parse().unwrap(),
            "2001:db8:1::/48".parse().unwrap(),
        ];
        let lines = vec![
            line(0, "app", "172.31.0.0", 1, "CONNECT", "", "", 0, "SSL"),
            line(1, "app", "172.31.255.255", 2, "CONNECT", "", "", 0, "SSL"),
            line(2, "app", "172.32.0.0", 3, "CONNECT", "", "", 0, "SSL"),
            line(3, "app", "172.30.255.255", 4, "CONNECT", "", "", 0, "SSL"),
            line(
                4,
                "app",
                "2001:db8:1:ffff::1",
                5,
                "CONNECT",
                "",
                "",
                0,
                "SSL",
            ),
            line(5, "app", "2001:db8:2::1", 6, "CONNECT", "", "", 0, "SSL"),
        ];
        let f = findings(&c, &[&lines]);
        let ips: Vec<_> = f
            .iter()
            .filter(|f| f.kind == "unknown_source_ip")
            .map(|f| f.client_ip.clone().unwrap())
            .collect();
        assert_eq!(ips, vec!["172.32.0.0", "172.30.255.255", "2001:db8:2::1"]);
    }

    #[test]
    fn without_allow_the_private_ranges_are_expected() {
        let c = crate::pass::AnalysisConfig::default();
        let lines = vec![
            line(0, "app", "10.1.2.3", 1, "CONNECT", "", "", 0, "SSL"),
            line(1, "app", "192.168.0.5", 2, "CONNECT", "", "", 0, "SSL"),
            line(2, "app", "8.8.8.8", 3, "CONNECT", "", "", 0, "SSL"),
        ];
        let f = findings(&c, &[&lines]);
        let ips: Vec<_> = f
            .iter()
            .filter(|f| f.kind == "unknown_source_ip")
            .map(|f| f.client_ip.clone().unwrap())
            .collect();
        assert_eq!(ips, vec!["8.8.8.8"]);
    }
}
