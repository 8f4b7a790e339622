#!/usr/bin/env bash
# The production shape of issue #20 on one machine: N sharded scans (`--shard I/N`, run at
# once, as the jobs of an array job would be) write into one output folder, then the
# findings query runs over all their events in DuckDB and in Spark (local mode), and both
# are compared with one unsharded scan's findings.parquet (kind, severity, user, source,
# database, first and last seen, count, resource). A corpus with a CloudTrail beside the
# logs brings the control plane (`control/`) into the query.
#
# usage: scripts/sharded-rehearsal.sh [CORPUS_DIR] [WORK_DIR]
#   CORPUS_DIR  audit logs to scan (default: a 20 MiB PostgreSQL synth corpus made in WORK_DIR:
#               a log per hour, so the shards get balanced shares)
#   WORK_DIR    where the outputs go (default: a temporary folder, deleted at the end)
# env: SHARDS (default 4), FORENSICS (the binary; default target/release/forensics, built if
#      missing), SPARK=skip to leave Spark out.
# Needs python3 with duckdb; Spark needs pyspark and a Java runtime (.ci/run installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDS=${SHARDS:-4}
if [ -z "${FORENSICS:-}" ]; then
  FORENSICS=target/release/forensics
  [ -x "$FORENSICS" ] || cargo build --release --quiet
fi
work=${2:-}
if [ -z "$work" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
corpus=${1:-}
if [ -z "$corpus" ]; then
  corpus=$work/corpus
  "$FORENSICS" synth -o "$corpus" --flavor postgres --size 20MiB --seed 20 >/dev/null
fi
export SPARK_LOCAL_IP=127.0.0.1

echo "== $SHARDS sharded scans of $corpus into $work/sharded (at once)"
pids=()
for i in $(seq 1 "$SHARDS"); do
  "$FORENSICS" scan "$corpus" -o "$work/sharded" --shard "$i/$SHARDS" --quiet --no-report &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for i in $(seq 1 "$SHARDS"); do
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["shard"]; print("  shard %s: %d of %d files, %d of %d bytes" % (s["shard"], s["files"], s["files_all"], s["bytes"], s["bytes_all"]))' \
    "$work/sharded/shard=$i-of-$SHARDS/summary.json"
done

echo "== one unsharded scan into $work/single"
"$FORENSICS" scan "$corpus" -o "$work/single" --quiet --no-report --force

events="$work/sharded/shard=*/events"
control="$work/sharded/shard=*/control"
# The control plane when the scans read a CloudTrail (they wrote `control/`), else none.
if compgen -G "$control" >/dev/null; then
  duck_control=(--control "$control/**/*.parquet"); spark_control=(--control control_sharded)
else
  duck_control=(--no-control); spark_control=(--no-control)
fi
"$FORENSICS" sql --dialect duckdb --events "$events/**/*.parquet" "${duck_control[@]}" > "$work/findings.duckdb.sql"
engines=tests/support/sql_engines.py
python3 "$engines" expected single="$work/single" > "$work/expected.jsonl"
python3 "$engines" duckdb sharded="$work/findings.duckdb.sql" > "$work/duckdb.jsonl"
results=("$work/duckdb.jsonl")
if [ "${SPARK:-}" != skip ] && command -v java >/dev/null && python3 -c 'import pyspark' 2>/dev/null; then
  # Spark's direct queries on files (parquet.`path`) take no glob over several partitioned
  # folders: the query reads a view, made by the engine script from the shards' folders.
  "$FORENSICS" sql --dialect spark --events events_sharded "${spark_control[@]}" > "$work/findings.spark.sql"
  EVENTS_sharded="$events" CONTROL_sharded="$control" python3 "$engines" spark sharded="$work/findings.spark.sql" \
    > "$work/spark.jsonl" 2>"$work/spark.log" || { tail -20 "$work/spark.log"; exit 1; }
  results+=("$work/spark.jsonl")
else
  echo "SKIPPED spark: pyspark or java missing (or SPARK=skip)"
fi

python3 - "$work/expected.jsonl" "${results[@]}" <<'EOF'
import json, sys
def rows(path):
    v = json.loads(open(path).readline())
    return sorted(json.dumps(r) for r in v["rows"]), v["seconds"]
want, _ = rows(sys.argv[1])
bad = False
for path in sys.argv[2:]:
    got, secs = rows(path)
    name = path.rsplit("/", 1)[-1].split(".")[0]
    missing = [r for r in want if r not in got]
    extra = [r for r in got if r not in want]
    print(f"== {name}: {len(got)} findings over the shards' events in {secs:.1f} s; "
          f"the single scan has {len(want)}: {'equal' if not missing and not extra else 'DIFFERENT'}")
    for r in missing: print("  missing", r)
    for r in extra: print("  extra  ", r)
    bad |= bool(missing or extra)
sys.exit(1 if bad else 0)
EOF
