#!/usr/bin/env bash
# Run time of the findings query over a scan's events, in DuckDB and in Spark (local mode,
# 2 threads), and whether each gives the scan's findings (README, "Beyond one machine").
# usage: scripts/sql-bench.sh SCAN_OUT [FORENSICS [SETTINGS...]]
#   SCAN_OUT: a scan's -o folder; SETTINGS: the scan's own (--allow, --master-user,
#   --admin-host, --config ...), which the query inlines as the scan applied them, e.g.
#   scripts/sql-bench.sh out target/release/forensics --allow 10.20.0.0/16 --master-user admin
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
bin=${2:-target/release/forensics}
shift $(( $# < 2 ? $# : 2 ))
settings=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The control plane (found beside the events) when the scan read a CloudTrail.
control=(); [ -d "$out/control" ] || control=(--no-control)
"$bin" sql --dialect duckdb --events "$out/events" "${control[@]}" "${settings[@]}" > "$work/duckdb.sql"
"$bin" sql --dialect spark --events "$out/events" "${control[@]}" "${settings[@]}" > "$work/spark.sql"
engines=tests/support/sql_engines.py
python3 "$engines" expected scan="$out" > "$work/expected.jsonl"
/usr/bin/time -f "duckdb process: %e s wall, %M KiB peak" python3 "$engines" duckdb q="$work/duckdb.sql" > "$work/duckdb.jsonl"
# Spark's defaults here (whole-stage code generation and adaptive execution on: they pay on
# millions of rows), more driver memory than the tests give it.
SPARK_DEFAULTS=1 SPARK_SHUFFLE_PARTITIONS=${SPARK_SHUFFLE_PARTITIONS:-4} SPARK_DRIVER_MEMORY=${SPARK_DRIVER_MEMORY:-6g} SPARK_LOCAL_IP=127.0.0.1 \
  /usr/bin/time -f "spark process: %e s wall (session start included)" \
  python3 "$engines" spark q="$work/spark.sql" > "$work/spark.jsonl" 2>"$work/spark.log" \
  || { tail -20 "$work/spark.log"; exit 1; }
grep "spark process" "$work/spark.log" || true
python3 - "$work/expected.jsonl" "$work/duckdb.jsonl" "$work/spark.jsonl" <<'PY'
import json, sys
def load(p):
    v = json.loads(open(p).readline()); return sorted(json.dumps(r) for r in v["rows"]), v["seconds"]
want, _ = load(sys.argv[1])
for p in sys.argv[2:]:
    got, s = load(p)
    print(f"{p.rsplit('/',1)[-1].split('.')[0]}: query {s:.1f} s, {len(got)} findings, "
          f"{'equal to' if got == want else 'DIFFERENT from'} the scan's {len(want)}")
PY
