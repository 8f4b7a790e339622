//! `forensics athena-ddl`: CREATE TABLE statements for Athena over the Parquet a scan writes,
//! with partition projection (no crawler, no `MSCK REPAIR`), column types read from the
//! tables that write the files (`event::COLUMNS`, `finding::COLUMNS`,
//! `sink::sessions::COLUMNS`), so the DDL cannot drift from the files.
//!
//! Layout (README, "Beyond one machine"): under a prefix `ROOT`, a single scan's folder is
//! `ROOT/events/dt=YYYY-MM-DD/`; sharded scans (`--shard I/N`) each publish their folder
//! `ROOT/shard=I-of-N/`, whose events are `ROOT/shard=I-of-N/events/dt=YYYY-MM-DD/`. A scan's
//! `findings.parquet` and `sessions.parquet` sit beside its summary, which Athena would try
//! to read as Parquet, so the tables over them read copies under `ROOT/findings/shard=I-of-N/`
//! and `ROOT/sessions/shard=I-of-N/` (the deploy job copies them there).

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
/// (`rds_audit` gives `rds_audit_events`, `rds_audit_findings`, `rds_audit_sessions`).
/// `shards`: the N of `--shard I/N` (events partitioned by shard and day), or `None` for a
/// single scan's folder (by day).
pub fn athena_ddl(root: &str, prefix: &str, shards: Option<u32>, since: &str) -> String {
    let root = root.trim_end_matches('/');
    let mut out = String::new();
    let (keys, shard_props, events_template) = match shards {
        Some(n) => (
            "shard string, dt string",
            shard_projection(n),
            format!("{root}/shard=${{shard}}/events/dt=${{dt}}/"),
        ),
        None => (
            "dt string",
            String::new(),
            format!("{root}/events/dt=${{dt}}/"),
        ),
    };
    out += &format!(
        "-- Every parsed event (CONTRACT.md, `events` columns), partitioned by UTC day{}.\n\
         CREATE EXTERNAL TABLE IF NOT EXISTS {prefix}_events (\n{}\n)\n\
         PARTITIONED BY ({keys})\nSTORED AS PARQUET\nLOCATION {}\nTBLPROPERTIES (\n  \
         'projection.enabled' = 'true',\n{shard_props}  'projection.dt.type' = 'date',\n  \
         'projection.dt.format' = 'yyyy-MM-dd',\n  'projection.dt.range' = {},\n  \
         'projection.dt.interval' = '1',\n  'projection.dt.interval.unit' = 'DAYS',\n  \
         'storage.location.template' = {},\n  'parquet.compression' = 'ZSTD'\n);\n\n",
        if shards.is_some() { " and shard" } else { "" },
        columns(&crate::event::COLUMNS),
        quoted(&format!("{root}/")),
        quoted(&format!("{since},NOW")),
        quoted(&events_template),
    );
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
        assert_eq!(ddl.matches("CREATE EXTERNAL TABLE").count(), 3);
        assert_eq!(ddl.matches("'projection.enabled' = 'true'").count(), 3);
        assert!(ddl.contains("'projection.shard.values' = '1-of-4,2-of-4,3-of-4,4-of-4'"));
        assert!(ddl.contains("'s3://b/p/shard=${shard}/events/dt=${dt}/'"));
        assert!(ddl.contains("`event_time` timestamp"));
        assert!(ddl.contains("`event_time_us` bigint"));
        assert!(ddl.contains("`first_seen` timestamp"));
        let single = athena_ddl("s3://b/p", "x", None, "2024-01-01");
        assert!(single.contains("'s3://b/p/events/dt=${dt}/'"));
        assert!(single.contains("PARTITIONED BY (dt string)"));
    }
}
