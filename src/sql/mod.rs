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

/// The findings query for `dialect` over `events` (a path or glob of the events Parquet for
/// DuckDB and Spark, a table name for Athena; [`Dialect::default_events`] when `None`).
pub fn findings_query(config: &AnalysisConfig, dialect: Dialect, events: Option<&str>) -> String {
    findings::query(
        config,
        dialect,
        events.unwrap_or_else(|| dialect.default_events()),
    )
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
        let mut c = AnalysisConfig::default();
        c.master_users = vec!["o'brien".into()];
        c.brute_force_threshold = 17;
        c.rate_factor = 3.5;
        for d in [Dialect::Duckdb, Dialect::Athena, Dialect::Spark] {
            let q = findings_query(&c, d, None);
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
        assert!(findings_query(&c, Dialect::Athena, None).contains("FROM rds_audit_events"));
    }
}
