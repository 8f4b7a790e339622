//! The detections as SQL, for estates too large for one machine: `forensics sql` prints one
//! statement that yields the `findings` rows from the `events` table (DuckDB, Athena or
//! Spark SQL), and `forensics athena-ddl` the tables over a scan's (or many sharded scans')
//! Parquet output. The findings query is written once ([`findings`]); the dialects differ
//! only where [`Dialect`] says, and the settings (networks, master users, thresholds,
//! windows) are inlined from the same [`AnalysisConfig`] a scan resolves.

mod addr;
mod ddl;
mod dialect;
mod findings;

pub use ddl::athena_ddl;
pub use dialect::Dialect;

use crate::pass::AnalysisConfig;

/// The findings query for `dialect`. `events`: `Some(None)` for [`Dialect::default_events`],
/// `Some(Some(location))` for a path or glob of the events Parquet (DuckDB, Spark) or a table
/// name (Athena), `None` for no events (a scan of a trail alone). `control`: the
/// control-plane table likewise, `Some(None)` putting it beside the events
/// ([`control_beside`]), `None` leaving the control plane out.
pub fn findings_query(
    config: &AnalysisConfig,
    dialect: Dialect,
    events: Option<Option<&str>>,
    control: Option<Option<&str>>,
) -> String {
    let events = events.map(|e| e.unwrap_or_else(|| dialect.default_events()));
    let control = control.map(|c| {
        c.map_or_else(
            || match events {
                Some(events) => control_beside(dialect, events),
                None => dialect.default_control().to_string(),
            },
            str::to_string,
        )
    });
    findings::query(config, dialect, events, control.as_deref())
}

/// Where a scan's `control` table is, given where its `events` are: the path's last
/// `events` folder renamed (`out/events` → `out/control`, `…/shard=*/events/**/*.parquet`
/// → `…/shard=*/control/**/*.parquet`), a table named `…_events` renamed `…_control`
/// (the names `athena-ddl` gives), else [`Dialect::default_control`].
pub fn control_beside(dialect: Dialect, events: &str) -> String {
    let parts: Vec<&str> = events.split('/').collect();
    if let Some(at) = parts.iter().rposition(|p| *p == "events") {
        let mut parts = parts.clone();
        parts[at] = "control";
        return parts.join("/");
    }
    if !events.contains('/') {
        if let Some(stem) = events.strip_suffix("_events") {
            return format!("{stem}_control");
        }
    }
    dialect.default_control().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `;` outside string literals (`''` doubles a quote; Spark also escapes with `\`).
    fn semicolons_outside_literals(q: &str, d: Dialect) -> usize {
        let (mut n, mut inside, mut chars) = (0, false, q.chars().peekable());
        while let Some(c) = chars.next() {
            match c {
                '\\' if inside && d == Dialect::Spark => {
                    chars.next();
                }
                '\'' if inside && chars.peek() == Some(&'\'') => {
                    chars.next();
                }
                '\'' => inside = !inside,
                ';' if !inside => n += 1,
                _ => {}
            }
        }
        assert!(!inside, "{d:?}: an unterminated literal");
        n
    }

    #[test]
    fn every_dialect_gives_one_statement_with_the_settings_inlined() {
        let c = AnalysisConfig {
            master_users: vec!["o'brien".into()],
            brute_force_threshold: 17,
            rate_factor: 3.5,
            ..AnalysisConfig::default()
        };
        for d in [Dialect::Duckdb, Dialect::Athena, Dialect::Spark] {
            let q = findings_query(&c, d, Some(None), Some(None));
            assert_eq!(
                semicolons_outside_literals(&q, d),
                1,
                "{d:?}: one statement"
            );
            assert!(q.trim_end().ends_with(';'));
            assert!(q.contains("wn >= 17"), "{d:?}");
            assert!(q.contains("3.5e0"), "{d:?}");
            match d {
                Dialect::Spark => assert!(q.contains(r"'o\'brien'")),
                _ => assert!(q.contains("'o''brien'")),
            }
        }
        let athena = findings_query(&c, Dialect::Athena, Some(None), Some(None));
        assert!(athena.contains("FROM rds_audit_events"));
        assert!(athena.contains("FROM rds_audit_control"));
        let logs_only = findings_query(&c, Dialect::Athena, Some(None), None);
        assert!(!logs_only.contains("control"), "no control plane asked");
        let trail_only = findings_query(&c, Dialect::Duckdb, None, Some(Some("t/control")));
        assert!(!trail_only.contains("/events"), "no events asked");
        assert!(trail_only.contains("t/control/**/*.parquet"));
    }

    #[test]
    fn the_control_table_is_found_beside_the_events() {
        let d = Dialect::Duckdb;
        assert_eq!(control_beside(d, "out/events"), "out/control");
        assert_eq!(control_beside(d, "out/events/"), "out/control/");
        assert_eq!(
            control_beside(d, "s/shard=*/events/**/*.parquet"),
            "s/shard=*/control/**/*.parquet"
        );
        assert_eq!(control_beside(Dialect::Athena, "x_events"), "x_control");
        assert_eq!(control_beside(Dialect::Athena, "mine"), "rds_audit_control");
        assert_eq!(
            control_beside(Dialect::Spark, "events_view"),
            "forensics-out/control"
        );
    }
}
