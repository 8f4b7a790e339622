//! `forensics athena-ddl`: CREATE TABLE statements for Athena over the Parquet a scan writes,
//! with partition projection (no crawler, no `MSCK REPAIR`), column types read from the
//! tables that write the files (`event::COLUMNS`, `control::COLUMNS`, `finding::COLUMNS`,
//! `sink::sessions::COLUMNS`, `sink::profile::COLUMNS`), so the DDL cannot drift from the
//! files. Every Parquet output of `sink::output::OUTPUTS` has its table (a test checks).
//!
//! Layout (README, "Beyond one machine"): under a prefix `ROOT`, a single scan's folder is
//! `ROOT/events/dt=YYYY-MM-DD/` (and `ROOT/control/dt=YYYY-MM-DD/` when it read a trail);
//! sharded scans (`--shard I/N`) each publish their folder `ROOT/shard=I-of-N/`, whose events
//! are `ROOT/shard=I-of-N/events/dt=YYYY-MM-DD/` (control likewise). A scan's
//! `findings.parquet`, `sessions.parquet` and `profile.parquet` sit beside its summary, which
//! Athena would try to read as Parquet, so the tables over them read copies under
//! `ROOT/findings/shard=I-of-N/`, `ROOT/sessions/…` and `ROOT/profile/…` (the deploy job
//! copies them there).

use crate::table::{Column, ColumnType};

/// The type Athena (Hive DDL) declares for a column.
fn athena_type(c: &Column) -> &'static str {
    match c.kind {
        ColumnType::TimestampMsUtc => "timestamp",
        ColumnType::Int64 => "bigint",
        ColumnType::Int32 => "int",
        ColumnType::Boolean => "boolean",
        ColumnType::Utf8 => "string",
        ColumnType::Utf8List => "array<string>",
    }
}

fn columns(cols: &[Column]) -> String {
    cols.iter()
        .map(|c| format!("  `{}` {}", c.name, athena_type(c)))
        .collect::<Vec<_>>()
        .join(",\n")
}

/// Single quotes doubled, for a TBLPROPERTIES value.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The projection of the shard key: `1-of-N` .. `N-of-N`.
fn shard_projection(shards: u32) -> String {
    let values: Vec<String> = (1..=shards).map(|i| format!("{i}-of-{shards}")).collect();
    format!(
        "  'projection.shard.type' = 'enum',\n  'projection.shard.values' = {},\n",
        quoted(&values.join(","))
    )
}

/// The statements for the tables under `root` (an `s3://` prefix), named with `prefix`
/// (`rds_audit` gives `rds_audit_events`, `rds_audit_control`, `rds_audit_findings`,
/// `rds_audit_sessions`, `rds_audit_profile`): every Parquet output of a scan
/// (`sink::output::OUTPUTS`). `shards`: the N of `--shard I/N` (events and control
/// partitioned by shard and day), or `None` for a single scan's folder (by day).
pub fn athena_ddl(root: &str, prefix: &str, shards: Option<u32>, since: &str) -> String {
    let root = root.trim_end_matches('/');
    let mut out = String::new();
    // The folders of partitioned writers (`sink::parquet::PartitionedWriter`): a day each.
    for (table, cols, what) in [
        (
            "events",
            &crate::event::COLUMNS[..],
            "Every parsed event (CONTRACT.md, `events` columns)",
        ),
        (
            "control",
            &crate::control::COLUMNS[..],
            "The CloudTrail records about databases (scans that read a trail; `control/`)",
        ),
    ] {
        let (keys, shard_props, template) = match shards {
            Some(n) => (
                "shard string, dt string",
                shard_projection(n),
                format!("{root}/shard=${{shard}}/{table}/dt=${{dt}}/"),
            ),
            None => (
                "dt string",
                String::new(),
                format!("{root}/{table}/dt=${{dt}}/"),
            ),
        };
        out += &format!(
            "-- {what}, partitioned by UTC day{}.\n\
             CREATE EXTERNAL TABLE IF NOT EXISTS {prefix}_{table} (\n{}\n)\n\
             PARTITIONED BY ({keys})\nSTORED AS PARQUET\nLOCATION {}\nTBLPROPERTIES (\n  \
             'projection.enabled' = 'true',\n{shard_props}  'projection.dt.type' = 'date',\n  \
             'projection.dt.format' = 'yyyy-MM-dd',\n  'projection.dt.range' = {},\n  \
             'projection.dt.interval' = '1',\n  'projection.dt.interval.unit' = 'DAYS',\n  \
             'storage.location.template' = {},\n  'parquet.compression' = 'ZSTD'\n);\n\n",
            if shards.is_some() { " and shard" } else { "" },
            columns(cols),
            quoted(&format!("{root}/")),
            quoted(&format!("{since},NOW")),
            quoted(&template),
        );
    }
    let n = shards.unwrap_or(1);
    for (table, cols, what) in [
        (
            "findings",
            &crate::finding::COLUMNS[..],
            "one row per finding",
        ),
        (
            "sessions",
            &crate::sink::sessions::COLUMNS[..],
            "one row per session",
        ),
        (
            "profile",
            &crate::sink::profile::COLUMNS[..],
            "one row per user and login dimension (the baseline profile)",
        ),
    ] {
        out += &format!(
            "-- {what}, per scan (shard): copies of each scan's {table}.parquet at\n\
             -- {root}/{table}/shard=I-of-N/{table}.parquet (a single scan is shard 1-of-1).\n\
             CREATE EXTERNAL TABLE IF NOT EXISTS {prefix}_{table} (\n{}\n)\n\
             PARTITIONED BY (shard string)\nSTORED AS PARQUET\nLOCATION {}\nTBLPROPERTIES (\n  \
             'projection.enabled' = 'true',\n{}  'storage.location.template' = {}\n);\n\n",
            columns(cols),
            quoted(&format!("{root}/{table}/")),
            shard_projection(n),
            quoted(&format!("{root}/{table}/shard=${{shard}}/")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_projection_and_the_contract_columns() {
        let ddl = athena_ddl("s3://b/p/", "rds_audit", Some(4), "2024-01-01");
        assert_eq!(ddl.matches("CREATE EXTERNAL TABLE").count(), 5);
        assert_eq!(ddl.matches("'projection.enabled' = 'true'").count(), 5);
        assert!(ddl.contains("'s3://b/p/shard=${shard}/control/dt=${dt}/'"));
        assert!(ddl.contains("`request_parameters` string"));
        assert!(ddl.contains("'s3://b/p/profile/shard=${shard}/'"));
        assert!(ddl.contains("'projection.shard.values' = '1-of-4,2-of-4,3-of-4,4-of-4'"));
        assert!(ddl.contains("'s3://b/p/shard=${shard}/events/dt=${dt}/'"));
        assert!(ddl.contains("`event_time` timestamp"));
        assert!(ddl.contains("`event_time_us` bigint"));
        assert!(ddl.contains("`first_seen` timestamp"));
        let single = athena_ddl("s3://b/p", "x", None, "2024-01-01");
        assert!(single.contains("'s3://b/p/events/dt=${dt}/'"));
        assert!(single.contains("PARTITIONED BY (dt string)"));
        assert!(single.contains("'s3://b/p/control/dt=${dt}/'"));
    }

    /// Every Parquet output a scan publishes has its table: a folder of parts (`events`,
    /// `control`) or a file (`X.parquet`, the table `X`).
    #[test]
    fn every_parquet_output_has_a_table() {
        let ddl = athena_ddl("s3://b", "t", None, "2024-01-01");
        for name in crate::sink::output::OUTPUTS {
            let table = match name.strip_suffix(".parquet") {
                Some(t) => t,
                None if matches!(name, "events" | "control") => name,
                None => continue,
            };
            assert!(
                ddl.contains(&format!("CREATE EXTERNAL TABLE IF NOT EXISTS t_{table} (")),
                "{name}"
            );
        }
    }
}
