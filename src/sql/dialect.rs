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

    /// A JSON text column as a document the JSON functions below read: NULL when it is not
    /// JSON (CloudTrail's parameters are JSON, but a record may give a bare string; DuckDB's
    /// JSON functions fail on text that is not JSON, the others give NULL).
    pub(crate) fn json_doc(self, col: &str) -> String {
        match self {
            Dialect::Duckdb => format!("CASE WHEN json_valid({col}) THEN {col} END"),
            Dialect::Athena => format!("TRY(json_parse({col}))"),
            Dialect::Spark => col.to_string(),
        }
    }

    /// The scalar at `path` (`$.a.b`) of a JSON document (a column, or an element of
    /// [`Dialect::json_items`]) as text: a string without its quotes, a number or boolean as
    /// written; NULL when absent (or JSON null).
    pub(crate) fn json_str(self, doc: &str, path: &str) -> String {
        let path = self.lit(path);
        match self {
            Dialect::Duckdb => format!("json_extract_string({doc}, {path})"),
            Dialect::Athena => format!("json_extract_scalar({doc}, {path})"),
            Dialect::Spark => format!("get_json_object({doc}, {path})"),
        }
    }

    /// Whether a JSON document has a member at `path`.
    pub(crate) fn json_has(self, doc: &str, path: &str) -> String {
        let p = self.lit(path);
        match self {
            Dialect::Duckdb => format!("COALESCE(json_exists({doc}, {p}), FALSE)"),
            Dialect::Athena => format!("(json_extract({doc}, {p}) IS NOT NULL)"),
            Dialect::Spark => format!("(get_json_object({doc}, {p}) IS NOT NULL)"),
        }
    }

    /// The member at `path` as a JSON document (an object or array, for the functions here).
    pub(crate) fn json_sub(self, doc: &str, path: &str) -> String {
        let p = self.lit(path);
        match self {
            Dialect::Spark => format!("get_json_object({doc}, {p})"),
            _ => format!("json_extract({doc}, {p})"),
        }
    }

    /// The elements of the JSON array at `path`, each a JSON document; an empty array when
    /// the member is absent or not an array.
    pub(crate) fn json_items(self, doc: &str, path: &str) -> String {
        match self {
            Dialect::Duckdb => format!(
                "CASE WHEN json_type({doc}, {}) = 'ARRAY' THEN json_extract({doc}, {}) ELSE CAST([] AS JSON[]) END",
                self.lit(path),
                self.lit(&format!("{path}[*]"))
            ),
            Dialect::Athena => format!(
                "COALESCE(TRY_CAST(json_extract({doc}, {}) AS ARRAY(JSON)), CAST(ARRAY[] AS ARRAY(JSON)))",
                self.lit(path)
            ),
            Dialect::Spark => format!(
                "COALESCE(CASE WHEN json_array_length({s}) IS NOT NULL THEN from_json({s}, 'array<string>') END, CAST(array() AS array<string>))",
                s = self.json_sub(doc, path)
            ),
        }
    }

    /// The strings at `path`: the string elements of an array, or a lone string as one
    /// (`pass::control_plane::strings`); an empty array otherwise.
    pub(crate) fn json_strings(self, doc: &str, path: &str) -> String {
        let p = self.lit(path);
        match self {
            Dialect::Duckdb => format!(
                "CASE json_type({doc}, {p}) WHEN 'ARRAY' THEN list_transform(list_filter(json_extract({doc}, {}), lambda x: json_type(x) = 'VARCHAR'), lambda x: json_extract_string(x, '$')) \
                 WHEN 'VARCHAR' THEN [json_extract_string({doc}, {p})] ELSE CAST([] AS VARCHAR[]) END",
                self.lit(&format!("{path}[*]"))
            ),
            Dialect::Athena => format!(
                "COALESCE(transform(filter(TRY_CAST(json_extract({doc}, {p}) AS ARRAY(JSON)), x -> json_format(x) LIKE '\"%'), x -> json_extract_scalar(x, '$')), \
                 CASE WHEN json_format(json_extract({doc}, {p})) LIKE '\"%' THEN ARRAY[json_extract_scalar({doc}, {p})] END, CAST(ARRAY[] AS ARRAY(VARCHAR)))"
            ),
            // Spark's JSON reader cannot tell a string from a number inside an array: an
            // array's numbers count as strings here.
            Dialect::Spark => format!(
                "CASE WHEN json_array_length({s}) IS NOT NULL THEN from_json({s}, 'array<string>') \
                 WHEN {s} IS NOT NULL AND NOT ({s} RLIKE '^[{{\\\\[]') AND NOT ({s} RLIKE '^-?[0-9]') AND {s} NOT IN ('true', 'false') THEN array({s}) \
                 ELSE CAST(array() AS array<string>) END",
                s = self.json_sub(doc, path)
            ),
        }
    }

    /// An empty array of strings ([`Dialect::json_strings`]'s type).
    pub(crate) fn no_strings(self) -> String {
        match self {
            Dialect::Duckdb => "CAST([] AS VARCHAR[])".into(),
            Dialect::Athena => "CAST(ARRAY[] AS ARRAY(VARCHAR))".into(),
            Dialect::Spark => "CAST(array() AS array<string>)".into(),
        }
    }

    /// An empty array of JSON documents ([`Dialect::json_items`]'s type).
    pub(crate) fn no_items(self) -> String {
        match self {
            Dialect::Duckdb => "CAST([] AS JSON[])".into(),
            Dialect::Athena => "CAST(ARRAY[] AS ARRAY(JSON))".into(),
            Dialect::Spark => "CAST(array() AS array<string>)".into(),
        }
    }

    /// The elements of array `arr` for which `pred` (over the element `var`) holds.
    pub(crate) fn filter(self, arr: &str, var: &str, pred: &str) -> String {
        match self {
            Dialect::Duckdb => format!("list_filter({arr}, lambda {var}: {pred})"),
            _ => format!("filter({arr}, {var} -> {pred})"),
        }
    }

    /// Whether some element of array `arr` satisfies `pred` (over the element `var`).
    pub(crate) fn any(self, arr: &str, var: &str, pred: &str) -> String {
        format!("({} > 0)", self.size(&self.filter(arr, var, pred)))
    }

    /// The number of elements of a (non-NULL) array.
    pub(crate) fn size(self, arr: &str) -> String {
        match self {
            Dialect::Duckdb => format!("len({arr})"),
            Dialect::Athena => format!("cardinality({arr})"),
            Dialect::Spark => format!("size({arr})"),
        }
    }

    /// A FROM-clause item joining each row of `table` (aliased `alias`) to every element of
    /// the array `arr` (over its columns), named `name`.
    pub(crate) fn each(self, table: &str, alias: &str, arr: &str, name: &str) -> String {
        match self {
            Dialect::Duckdb => format!("{table} {alias}, unnest({arr}) AS m({name})"),
            Dialect::Athena => format!("{table} {alias} CROSS JOIN UNNEST({arr}) AS m({name})"),
            Dialect::Spark => format!("{table} {alias} LATERAL VIEW explode({arr}) m AS {name}"),
        }
    }

    /// The `n`th (1-based) part of `s` cut at `sep` (a literal); '' past the end.
    pub(crate) fn split_part(self, s: &str, sep: &str, n: u32) -> String {
        let sep = self.lit(sep);
        match self {
            Dialect::Athena => format!("COALESCE(split_part({s}, {sep}, {n}), '')"),
            _ => format!("split_part({s}, {sep}, {n})"),
        }
    }

    /// Where `needle` first starts in `hay` (1-based), 0 when it does not.
    pub(crate) fn strpos(self, hay: &str, needle: &str) -> String {
        match self {
            Dialect::Spark => format!("instr({hay}, {needle})"),
            _ => format!("strpos({hay}, {needle})"),
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

    /// Where `--control` points when it is not given and `--events` names no `events`
    /// folder to put it beside.
    pub fn default_control(self) -> &'static str {
        match self {
            Dialect::Athena => "rds_audit_control",
            _ => "forensics-out/control",
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
