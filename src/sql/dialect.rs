//! The few places where DuckDB, Athena (Trino) and Spark SQL spell the same thing
//! differently. The query in `findings.rs` is written once against these functions; each
//! returns SQL text for its dialect.

/// A SQL engine `forensics sql` writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// Amazon Athena, engine v3 (Trino).
    Athena,
    /// Apache Spark SQL (3.4 or later).
    Spark,
    /// DuckDB.
    Duckdb,
}

impl Dialect {
    /// A quoted identifier (`"user"`, or `` `user` `` in Spark).
    pub(crate) fn id(self, name: &str) -> String {
        match self {
            Dialect::Spark => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// A string literal. Spark reads backslash escapes inside literals (a regular
    /// expression's `\s` must be written `\\s` there); the others only double the quote.
    pub(crate) fn lit(self, s: &str) -> String {
        match self {
            Dialect::Spark => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            _ => format!("'{}'", s.replace('\'', "''")),
        }
    }

    /// Integer division of non-negative BIGINTs.
    pub(crate) fn idiv(self, a: &str, b: i64) -> String {
        match self {
            Dialect::Duckdb => format!("({a} // {b})"),
            Dialect::Athena => format!("({a} / {b})"),
            Dialect::Spark => format!("({a} div {b})"),
        }
    }

    /// A hexadecimal string as a BIGINT; NULL when it is not one.
    pub(crate) fn hex(self, s: &str) -> String {
        match self {
            Dialect::Duckdb => format!("TRY_CAST(('0x' || {s}) AS BIGINT)"),
            Dialect::Athena => format!("TRY(from_base({s}, 16))"),
            Dialect::Spark => format!("try_cast(conv({s}, 16, 10) AS BIGINT)"),
        }
    }

    /// A decimal string as a BIGINT; NULL when it is not one (Spark 4 is ANSI: a failed
    /// CAST is an error there).
    pub(crate) fn bigint(self, s: &str) -> String {
        match self {
            Dialect::Spark => format!("try_cast({s} AS BIGINT)"),
            _ => format!("TRY_CAST({s} AS BIGINT)"),
        }
    }

    /// A value as text.
    pub(crate) fn text(self, x: &str) -> String {
        match self {
            Dialect::Spark => format!("CAST({x} AS STRING)"),
            _ => format!("CAST({x} AS VARCHAR)"),
        }
    }

    /// Whether `s` has a match of the regular expression `re` (a literal).
    pub(crate) fn matches(self, s: &str, re: &str) -> String {
        let re = self.lit(re);
        match self {
            Dialect::Duckdb => format!("regexp_matches({s}, {re})"),
            Dialect::Athena => format!("regexp_like({s}, {re})"),
            Dialect::Spark => format!("({s} RLIKE {re})"),
        }
    }

    /// Every match of `re` in `s` replaced by `with` (no group references).
    pub(crate) fn replace_all(self, s: &str, re: &str, with: &str) -> String {
        let (re, with) = (self.lit(re), self.lit(with));
        match self {
            Dialect::Duckdb => format!("regexp_replace({s}, {re}, {with}, 'g')"),
            _ => format!("regexp_replace({s}, {re}, {with})"),
        }
    }

    /// Whether `hay` contains the literal `needle`.
    pub(crate) fn contains(self, hay: &str, needle: &str) -> String {
        let needle = self.lit(needle);
        match self {
            Dialect::Duckdb => format!("contains({hay}, {needle})"),
            Dialect::Athena => format!("(strpos({hay}, {needle}) > 0)"),
            Dialect::Spark => format!("(instr({hay}, {needle}) > 0)"),
        }
    }

    /// A FROM-clause item joining each row of `table` (aliased `alias`) to every capture of
    /// group `group` of `re` in `column`, named `name`.
    pub(crate) fn each_match(
        self,
        table: &str,
        alias: &str,
        column: &str,
        re: &str,
        group: u32,
        name: &str,
    ) -> String {
        let re = self.lit(re);
        match self {
            Dialect::Duckdb => format!(
                "{table} {alias}, unnest(regexp_extract_all({alias}.{column}, {re}, {group})) AS m({name})"
            ),
            Dialect::Athena => format!(
                "{table} {alias} CROSS JOIN UNNEST(regexp_extract_all({alias}.{column}, {re}, {group})) AS m({name})"
            ),
            Dialect::Spark => format!(
                "{table} {alias} LATERAL VIEW explode(regexp_extract_all({alias}.{column}, {re}, {group})) m AS {name}"
            ),
        }
    }

    /// The strings of a group joined with `, ` in ascending order; NULL when there are none.
    pub(crate) fn join_sorted(self, x: &str) -> String {
        match self {
            Dialect::Duckdb => format!("string_agg({x}, ', ' ORDER BY {x})"),
            Dialect::Athena => format!("array_join(array_agg({x} ORDER BY {x}), ', ')"),
            Dialect::Spark => {
                format!("NULLIF(array_join(array_sort(collect_list({x})), ', '), '')")
            }
        }
    }

    /// Epoch microseconds as a millisecond timestamp (the `findings` column type).
    pub(crate) fn timestamp_ms(self, us: &str) -> String {
        let ms = self.idiv(us, 1000);
        match self {
            Dialect::Duckdb => format!("make_timestamptz({ms} * 1000)"),
            Dialect::Athena => {
                format!("CAST(from_unixtime_nanos({ms} * 1000000) AS timestamp(3))")
            }
            Dialect::Spark => format!("timestamp_millis({ms})"),
        }
    }

    /// The events table: a path or glob of Parquet files (DuckDB, Spark), or a table name
    /// (Athena; Spark when it has no `/`).
    pub(crate) fn events_table(self, location: &str) -> String {
        match self {
            Dialect::Athena => location.to_string(),
            Dialect::Duckdb => {
                let glob = if location.contains('*') || location.ends_with(".parquet") {
                    location.to_string()
                } else {
                    format!("{}/**/*.parquet", location.trim_end_matches('/'))
                };
                format!(
                    "read_parquet({}, hive_partitioning = true, union_by_name = true)",
                    self.lit(&glob)
                )
            }
            // A name without a slash or glob is a table (a metastore table or a temporary
            // view); `./events` is the folder.
            Dialect::Spark if !location.contains(['/', '*']) => location.to_string(),
            Dialect::Spark => format!("parquet.`{}`", location.replace('`', "``")),
        }
    }

    /// Where `--events` points when it is not given.
    pub fn default_events(self) -> &'static str {
        match self {
            Dialect::Athena => "rds_audit_events",
            _ => "forensics-out/events",
        }
    }

    /// A double literal that reads back as exactly `x` (`4e0`).
    pub(crate) fn double(self, x: f64) -> String {
        format!("{x:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes_and_spark_backslashes() {
        assert_eq!(Dialect::Duckdb.lit(r"it's \s"), r"'it''s \s'");
        assert_eq!(Dialect::Athena.lit("it's"), "'it''s'");
        assert_eq!(Dialect::Spark.lit(r"it's \s"), r"'it\'s \\s'");
        assert_eq!(Dialect::Spark.id("us`er"), "`us``er`");
        assert_eq!(Dialect::Duckdb.id("us\"er"), "\"us\"\"er\"");
    }

    #[test]
    fn doubles_round_trip() {
        for x in [4.0, 0.95, 2.5, 1e-7, 123456.789] {
            let s = Dialect::Duckdb.double(x);
            assert_eq!(s.parse::<f64>().unwrap(), x, "{s}");
        }
    }
}
