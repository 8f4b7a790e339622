//! Custom rules: CloudWatch filter patterns from the config's `[[rule]]` entries, evaluated
//! on each event's original message (as CloudWatch would have seen it), yielding
//! `rule:NAME` findings per (user, source).
//!
//! Most patterns have a literal every match must contain; a memchr search for it rejects
//! almost every line before the full pattern is evaluated.

use std::collections::HashMap;

use super::{text, AnalysisConfig, FinishContext, Observed, Pass, Seen};
use crate::finding::Finding;

/// (rule index, user, source).
type RuleKey = (usize, super::Name, super::Name);

pub(crate) struct RulePass {
    config: AnalysisConfig,
    /// (rule index, user, source) → matches.
    seen: HashMap<RuleKey, Seen>,
}

impl Pass for RulePass {
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut super::Evidence)) {
        for x in self.seen.values_mut() {
            x.for_each_evidence(f);
        }
    }

    fn new(config: &AnalysisConfig) -> Self {
        RulePass {
            config: config.clone(),
            seen: HashMap::new(),
        }
    }

    #[inline]
    fn observe(&mut self, o: &Observed<'_, '_>) {
        if self.config.compiled_rules.is_empty() {
            return;
        }
        let rules = self.config.compiled_rules.clone();
        for (i, rule) in rules.iter().enumerate() {
            if let Some(f) = &rule.prefilter {
                if f.find(o.message).is_none() {
                    continue;
                }
            }
            let message = String::from_utf8_lossy(o.message);
            if !rule.pattern.matches(&message) {
                continue;
            }
            let e = o.event;
            super::tally(&mut self.seen, (i, e.user.into(), o.source()), o);
        }
    }

    fn merge(&mut self, later: Self) {
        super::merge_map(&mut self.seen, later.seen, |a, b| a.merge(b));
    }

    fn finish(self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>) {
        for ((i, user, source), s) in self.seen {
            let rule = &self.config.compiled_rules[i];
            let (user, source) = (text(&user), text(&source));
            let detail = format!(
                "{} event{} by {user} from {source} matched rule {} ({})",
                s.count,
                if s.count == 1 { "" } else { "s" },
                rule.name,
                rule.pattern.as_str()
            );
            let kind = format!("rule:{}", rule.name);
            out.push(s.finding(
                ctx,
                &kind,
                rule.severity,
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
    use crate::pass::config::RuleConfig;
    use crate::pass::testing::*;

    #[test]
    fn rules_match_the_original_message_and_group_by_user_and_source() {
        let mut c = config();
        c.rules = vec![
            RuleConfig {
                name: "outside-vpc".into(),
                pattern: "CONNECT -localhost -\"172.31\"".into(),
                severity: crate::finding::Severity::Medium,
            },
            RuleConfig {
                name: "drops".into(),
                pattern: "%DROP +TABLE%".into(),
                severity: crate::finding::Severity::High,
            },
        ];
        c.compile_rules().unwrap();
        let lines = vec![
            line(0, "app", "203.0.113.7", 1, "CONNECT", "", "", 0, "SSL"),
            line(1, "app", "203.0.113.7", 1, "DISCONNECT", "", "", 0, "SSL"),
            line(2, "app", "172.31.0.5", 2, "CONNECT", "", "", 0, "SSL"),
            line(
                3,
                "rdsadmin",
                "localhost",
                3,
                "CONNECT",
                "",
                "",
                0,
                "SOCKET",
            ),
            line(
                4,
                "app",
                "172.31.0.5",
                2,
                "QUERY",
                "",
                "DROP  TABLE x",
                0,
                "",
            ),
        ];
        let f = findings(&c, &[&lines]);
        let got: Vec<_> = f
            .iter()
            .filter(|f| f.kind.starts_with("rule:"))
            .map(|f| {
                (
                    f.kind.as_str(),
                    f.client_ip.as_deref().unwrap(),
                    f.count,
                    f.severity.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("rule:outside-vpc", "203.0.113.7", 2, "medium"),
                ("rule:drops", "172.31.0.5", 1, "high")
            ]
        );
    }

    #[test]
    fn an_invalid_rule_pattern_is_refused_with_its_name() {
        let mut c = config();
        c.rules = vec![RuleConfig {
            name: "bad".into(),
            pattern: "{ $.a = ".into(),
            severity: crate::finding::Severity::Low,
        }];
        let err = c.compile_rules().unwrap_err();
        assert!(err.contains("bad") && err.contains("column"), "{err}");
    }
}
