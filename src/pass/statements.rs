//! `privilege_change`, `destructive`, `exfiltration`: one finding per distinct statement (by
//! user and source), from `statement_class`.
//!
//! High by default; critical for `GRANT ALL`, `WITH GRANT OPTION`, grants to `'%'` and a role
//! created or altered to `SUPERUSER`, and for exfiltration or a destructive statement from an
//! unknown source. RDS's internal users doing these things over the
//! local socket are routine maintenance and stay at info. Only classified statements are kept,
//! so the state is as small as the number of distinct risky statements.

use std::collections::HashMap;

use super::unknown_source::is_unexpected;
use super::{text, AnalysisConfig, FinishContext, Observed, Pass, Seen};
use crate::classify::StatementClass;
use crate::event::Operation;
use crate::finding::{kind, Finding, Severity};

/// Statement text kept per finding (the Parquet events hold the full text).
const TEXT_CHARS: usize = 300;

type Key = (&'static str, Box<[u8]>, Box<[u8]>, String);

pub(crate) struct StatementPass {
    config: AnalysisConfig,
    seen: HashMap<Key, (Seen, Severity, Box<[u8]>)>,
}

/// Statement text for a finding: unescaped, whitespace collapsed, shortened.
fn statement_text(o: &Observed<'_, '_>) -> String {
    let full = o.event.object.to_cow();
    let mut s = String::with_capacity(full.len().min(TEXT_CHARS + 4));
    for (i, word) in full.split_whitespace().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(word);
        if s.chars().count() > TEXT_CHARS {
            let cut: String = s.chars().take(TEXT_CHARS).collect();
            return cut + "…";
        }
    }
    s
}

/// `GRANT ALL`, `WITH GRANT OPTION`, or a grant to any host (`'%'`).
pub(crate) fn is_critical_grant(text: &str) -> bool {
    let up = text.to_ascii_uppercase();
    let words: Vec<&str> = up.split_whitespace().collect();
    let grant_all = words
        .windows(2)
        .any(|w| w[0] == "GRANT" && w[1].starts_with("ALL"));
    let grant_option = up.contains("WITH GRANT OPTION");
    let to_any_host = words.first() == Some(&"GRANT")
        && ["@'%'", "@`%`", "@\"%\"", "@%"]
            .iter()
            .any(|p| up.contains(p));
    grant_all || grant_option || to_any_host
}

/// `CREATE ROLE`/`CREATE USER`/`ALTER ROLE`/`ALTER USER` giving `SUPERUSER` (PostgreSQL; not
/// `NOSUPERUSER`).
pub(crate) fn grants_superuser(text: &str) -> bool {
    let up = text.to_ascii_uppercase();
    let words: Vec<&str> = up
        .split(|c: char| c.is_whitespace() || c == ';' || c == ',' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    matches!(words.get(..2), Some(["CREATE" | "ALTER", "ROLE" | "USER"]))
        && words.iter().skip(2).any(|&w| w == "SUPERUSER")
}

/// A privilege change that hands out everything: [`is_critical_grant`] or
/// [`grants_superuser`].
pub(crate) fn is_critical_privilege(text: &str) -> bool {
    is_critical_grant(text) || grants_superuser(text)
}

impl Pass for StatementPass {
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut super::Evidence)) {
        for x in self.seen.values_mut() {
            x.0.for_each_evidence(f);
        }
    }

    fn new(config: &AnalysisConfig) -> Self {
        StatementPass {
            config: config.clone(),
            seen: HashMap::new(),
        }
    }

    fn observe(&mut self, o: &Observed<'_, '_>) {
        let e = o.event;
        let kind = match (e.operation, e.statement_class) {
            (Operation::Query, Some(StatementClass::Privilege)) => kind::PRIVILEGE_CHANGE,
            (Operation::Query, Some(StatementClass::Destructive)) => kind::DESTRUCTIVE,
            (Operation::Query, Some(StatementClass::Exfiltration)) => kind::EXFILTRATION,
            (Operation::Query, Some(c)) => match security_kind(c) {
                Some(k) => k,
                None => return,
            },
            _ => return,
        };
        self.record(o, kind);
    }

    fn merge(&mut self, later: Self) {
        super::merge_map(&mut self.seen, later.seen, |a, b| {
            if (b.0.first_us, b.0.first) < (a.0.first_us, a.0.first) {
                a.2 = b.2;
            }
            a.0.merge(b.0);
            a.1 = a.1.max(b.1);
        });
    }

    fn finish(self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>) {
        for ((kind, user, source, statement), (s, severity, db)) in self.seen {
            let (user, source) = (text(&user), text(&source));
            let verb = match kind {
                kind::PRIVILEGE_CHANGE => "changed privileges",
                kind::DESTRUCTIVE => "ran a destructive statement",
                kind::EXFILTRATION => "moved data to or from a server file or another server",
                k => security_verb(k),
            };
            let detail = format!(
                "{user} from {source} {verb}{}: {statement}",
                if s.count > 1 {
                    format!(" ({} times)", s.count)
                } else {
                    String::new()
                }
            );
            let db = (!db.is_empty()).then(|| text(&db));
            out.push(s.finding(ctx, kind, severity, Some(user), Some(source), db, detail));
        }
    }
}

use super::is_internal_user;

// The kinds added by issue #24, kept apart from the rules above.

/// The finding kind of the security-setting and code-execution classes.
fn security_kind(c: StatementClass) -> Option<&'static str> {
    match c {
        StatementClass::CodeExecution => Some(kind::CODE_EXECUTION),
        StatementClass::Audit => Some(kind::AUDIT_DISABLED),
        StatementClass::Tls => Some(kind::TLS_WEAKENED),
        _ => None,
    }
}

/// Running code on the server and switching the audit trail off are critical wherever they
/// come from; weakening TLS is high.
fn security_severity(kind: &str) -> Option<Severity> {
    match kind {
        kind::CODE_EXECUTION | kind::AUDIT_DISABLED => Some(Severity::Critical),
        kind::TLS_WEAKENED => Some(Severity::High),
        _ => None,
    }
}

fn security_verb(kind: &str) -> &'static str {
    match kind {
        kind::CODE_EXECUTION => {
            "ran code on the server (shared object, untrusted language or program)"
        }
        kind::AUDIT_DISABLED => "turned audit logging off or narrowed it",
        kind::TLS_WEAKENED => "weakened transport security",
        _ => "ran a risky statement",
    }
}

impl StatementPass {
    /// Records a statement of a class that makes findings (a few in many: out of line).
    #[cold]
    #[inline(never)]
    fn record(&mut self, o: &Observed<'_, '_>, kind: &'static str) {
        let e = o.event;
        let text = statement_text(o);
        let severity = if is_internal_user(e.user) && o.is_local() {
            Severity::Info
        } else if let Some(s) = security_severity(kind) {
            s
        } else if (kind == kind::PRIVILEGE_CHANGE && is_critical_privilege(&text))
            || (kind != kind::PRIVILEGE_CHANGE && is_unexpected(o, &self.config))
        {
            Severity::Critical
        } else {
            Severity::High
        };
        self.seen
            .entry((kind, e.user.into(), o.source(), text))
            .and_modify(|(s, _, _)| s.add(e.time_us, o.evidence))
            .or_insert_with(|| {
                (
                    Seen::new(e.time_us, o.evidence),
                    severity,
                    e.database.into(),
                )
            });
    }
}

#[cfg(test)]
mod tests {
    use super::{grants_superuser, is_critical_grant, is_critical_privilege};
    use crate::pass::testing::*;

    #[test]
    fn risky_statements_get_their_kind_and_severity() {
        let c = config();
        let lines = vec![
            line(
                0,
                "admin",
                "172.31.0.10",
                1,
                "QUERY",
                "",
                "CREATE USER \\'bd\\'@\\'%\\' IDENTIFIED BY <secret>",
                0,
                "",
            ),
            line(
                1,
                "admin",
                "172.31.0.10",
                1,
                "QUERY",
                "",
                "GRANT ALL PRIVILEGES ON *.* TO \\'bd\\'@\\'%\\' WITH GRANT OPTION",
                0,
                "",
            ),
            line(
                2,
                "admin",
                "172.31.0.10",
                1,
                "QUERY",
                "shop",
                "DROP TABLE shop.orders",
                0,
                "",
            ),
            line(
                3,
                "app",
                "203.0.113.5",
                2,
                "QUERY",
                "shop",
                "SELECT * FROM t INTO OUTFILE \\'/tmp/x\\'",
                0,
                "",
            ),
            line(
                4,
                "app",
                "172.31.2.2",
                3,
                "QUERY",
                "shop",
                "SELECT LOAD_FILE(\\'/etc/passwd\\')",
                0,
                "",
            ),
            line(
                5,
                "rdsadmin",
                "localhost",
                4,
                "QUERY",
                "",
                "GRANT SELECT ON mysql.* TO \\'rdsrepladmin\\'@\\'%\\'",
                0,
                "",
            ),
            line(
                6,
                "app",
                "172.31.2.2",
                3,
                "QUERY",
                "shop",
                "SELECT 1",
                0,
                "",
            ),
        ];
        let f = findings(&c, &[&lines]);
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.kind.as_str(), f.severity.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("privilege_change", "high"),
                ("privilege_change", "critical"),
                ("destructive", "high"),
                ("exfiltration", "critical"),
                ("exfiltration", "high"),
                ("privilege_change", "info"),
            ]
        );
        assert_eq!(f[2].database.as_deref(), Some("shop"));
        assert!(
            f[1].detail
                .contains("GRANT ALL PRIVILEGES ON *.* TO 'bd'@'%' WITH GRANT OPTION"),
            "{}",
            f[1].detail
        );
    }

    #[test]
    fn critical_grants_are_recognised() {
        assert!(is_critical_grant("GRANT ALL ON db.* TO u"));
        assert!(is_critical_grant(
            "grant select on t to u with grant option"
        ));
        assert!(is_critical_grant("GRANT SELECT ON t TO 'u'@'%'"));
        assert!(!is_critical_grant("GRANT SELECT ON t TO 'u'@'10.0.0.1'"));
        assert!(!is_critical_grant("REVOKE ALL ON t FROM u"));
    }

    #[test]
    fn superuser_roles_are_critical() {
        for yes in [
            "ALTER ROLE app WITH SUPERUSER",
            "alter user app superuser;",
            "CREATE ROLE backdoor LOGIN SUPERUSER PASSWORD <REDACTED>",
            "CREATE USER \"x\" WITH SUPERUSER CREATEDB",
        ] {
            assert!(grants_superuser(yes), "{yes}");
            assert!(is_critical_privilege(yes), "{yes}");
        }
        for no in [
            "ALTER ROLE app NOSUPERUSER",
            "CREATE ROLE reader LOGIN",
            "GRANT superuser_role TO app",
            "COMMENT ON ROLE app IS 'not a SUPERUSER'",
        ] {
            assert!(!grants_superuser(no), "{no}");
        }
    }

    /// A destructive statement is critical from an unknown source, high from an expected one;
    /// `ALTER ROLE ... SUPERUSER` is critical from anywhere (pgaudit's ROLE class on a
    /// PostgreSQL log line).
    #[test]
    fn destructive_from_unknown_sources_and_superuser_roles_are_critical() {
        let c = config();
        let lines = vec![
            line(0, "app", "203.0.113.5", 2, "QUERY", "shop", "DROP TABLE shop.orders", 0, ""),
            line(1, "app", "172.31.2.2", 3, "QUERY", "shop", "TRUNCATE TABLE shop.carts", 0, ""),
            "2025-02-03 08:00:04 UTC:172.31.0.10(5):admin@postgres:[9]:LOG:  AUDIT: SESSION,5,1,ROLE,ALTER ROLE,,,ALTER ROLE app WITH SUPERUSER,<not logged>".to_string(),
        ];
        let f = findings(&c, &[&lines]);
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.kind.as_str(), f.severity.as_str(), f.client_ip.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("privilege_change", "critical", Some("172.31.0.10")),
                ("destructive", "critical", Some("203.0.113.5")),
                ("destructive", "high", Some("172.31.2.2")),
            ]
        );
    }
}
