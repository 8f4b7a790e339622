#!/usr/bin/env python3
"""Reads one events Parquet file back with DuckDB and prints, as one JSON line, what the
differential test (src/sink/differential_tests.rs) compares between two writers' files:
the row count; per column its type, null count and an md5 over its values in source_line
order; an md5 over whole rows in that order; and parquet_metadata()'s statistics of every
column chunk (min/max both as the Parquet min_value/max_value fields and as the deprecated
min/max fields, which DuckDB reports apart).
usage: duckdb_digest.py FILE"""
import json
import sys

import duckdb

path = sys.argv[1]
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
# The file alone: no dt column from a Hive directory name.
src = f"read_parquet('{path}', hive_partitioning=false)"

columns = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
# Per column, in one scan: the null count, and an md5 over the values in source_line order
# where a NULL ('N') and every value ('V' and its text) are told apart.
parts = []
for name, *_ in columns:
    q = f'"{name}"'
    parts.append(f"count(*) - count({q})")
    parts.append(
        f"md5(string_agg(CASE WHEN {q} IS NULL THEN 'N' ELSE 'V' || CAST({q} AS VARCHAR) END,"
        f" chr(30) ORDER BY source_line))"
    )
parts.append("md5(string_agg(CAST(t AS VARCHAR), chr(30) ORDER BY source_line))")
parts.append("count(*)")
got = con.execute(f"SELECT {', '.join(parts)} FROM {src} t").fetchone()

out = {
    "rows": got[-1],
    "rows_md5": got[-2],
    "columns": {
        name: {"type": typ, "nulls": got[2 * i], "md5": got[2 * i + 1]}
        for i, (name, typ, *_) in enumerate(columns)
    },
    "chunks": [
        {
            "row_group": r[0], "rows": r[1], "column": r[2], "num_values": r[3],
            "min": r[4], "max": r[5], "null_count": r[6], "min_value": r[7], "max_value": r[8],
            "compression": r[9],
        }
        for r in con.execute(
            f"""SELECT row_group_id, row_group_num_rows, path_in_schema, num_values,
                       stats_min, stats_max, stats_null_count, stats_min_value, stats_max_value,
                       compression
                FROM parquet_metadata('{path}') ORDER BY row_group_id, column_id"""
        ).fetchall()
    ],
}
print(json.dumps(out))
