#!/usr/bin/env bash
# End-to-end benchmark: forensics against the DuckDB-by-hand baseline on the same corpus, in
# the same run, page cache warm. Prints medians, ratios and peak memory.
#
#   benches/compare.sh [SIZE] [RUNS]      e.g. benches/compare.sh 1GiB 3
#   PGO=1 benches/compare.sh 1GiB 5       the same with the profile-guided build
#                                         (scripts/pgo-build.sh), plain release alongside
#   BEFORE_BIN=path/to/old/forensics benches/compare.sh 1GiB 5
#                                         also times an earlier build (scan_before), e.g.
#                                         the commit before sessions, evidence and the report
#
# Generates (or reuses) a synth corpus under ${CORPUS_DIR:-target/bench-corpus-SIZE}. Needs
# python3 with duckdb (pip install duckdb) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1GiB}
RUNS=${2:-3}
CORPUS=${CORPUS_DIR:-target/bench-corpus-$SIZE}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
BASELINE=${BASELINE:-../shared/anchors/duckdb_by_hand.py}

cargo build --release --quiet
PLAIN=${CARGO_TARGET_DIR:-target}/release/forensics
BIN=$PLAIN
if [ "${PGO:-0}" = 1 ]; then
  BIN=$(scripts/pgo-build.sh | tail -1)
fi
if [ ! -f "$CORPUS/ground_truth.json" ]; then
  rm -rf "$CORPUS"
  $BIN synth -o "$CORPUS" --size "$SIZE" --seed 1
fi
BYTES=$(du -cb "$CORPUS"/audit/* | tail -1 | cut -f1)
# The corpus's last day (its ground truth's end is the midnight after it).
LAST_DAY=$(python3 -c 'import json,sys,datetime; e=json.load(open(sys.argv[1]))["end"]; print((datetime.datetime.fromisoformat(e.replace("Z","+00:00"))-datetime.timedelta(days=1)).strftime("%Y-%m-%d"))' "$CORPUS/ground_truth.json")
# The baseline with its COPY (Parquet) line off: the analysis-only comparison.
sed 's/^con.execute(f"COPY/pass  # con.execute(f"COPY/' "$BASELINE" > "$OUT/duckdb_analysis.py"
ARGS=(--allow 10.20.0.0/16 --master-user admin --admin-host 10.20.0.10/32 --quiet --force)

# measure NAME CMD...: appends "seconds max_rss_kb" per run to $OUT/NAME
measure() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$OUT/t" "$@" >/dev/null 2>"$OUT/err" || { cat "$OUT/err"; exit 1; }
  cat "$OUT/t" >> "$OUT/$name"
}

# One file of the corpus compressed both ways, for the single-stream decompression check.
ONE=$(ls "$CORPUS"/audit/* | head -1)
Z="$CORPUS-compressed"
if [ ! -f "$Z/zst/one.zst" ]; then
  mkdir -p "$Z/gz" "$Z/zst"
  gzip -c "$ONE" > "$Z/gz/one.gz"
  zstd -q -c "$ONE" > "$Z/zst/one.zst"
fi

cat "$CORPUS"/audit/* "$Z"/gz/* "$Z"/zst/* > /dev/null   # warm the page cache
for _ in $(seq "$RUNS"); do
  measure scan            $BIN scan "$CORPUS/audit" -o "$OUT/o1" "${ARGS[@]}"
  if [ "$BIN" != "$PLAIN" ]; then
    measure scan_plain    $PLAIN scan "$CORPUS/audit" -o "$OUT/o7" "${ARGS[@]}"
  fi
  # The same scan without report.html (sessions.parquet and evidence/ still written).
  measure scan_no_report  $BIN scan "$CORPUS/audit" -o "$OUT/o8" --no-report "${ARGS[@]}"
  # Neither the report nor sessions (the hidden --no-sessions: no tracking per event, no
  # sessions.parquet, no activity): what issue 18's outputs cost together.
  measure scan_no_report_sessions $BIN scan "$CORPUS/audit" -o "$OUT/o10" --no-report --no-sessions "${ARGS[@]}"
  if [ -n "${BEFORE_BIN:-}" ]; then
    measure scan_before   "$BEFORE_BIN" scan "$CORPUS/audit" -o "$OUT/o9" "${ARGS[@]}"
  fi
  measure scan_no_events  $BIN scan "$CORPUS/audit" -o "$OUT/o2" --no-events "${ARGS[@]}"
  measure parse_only      $BIN scan "$CORPUS/audit" -o "$OUT/o3" --no-events --no-analysis "${ARGS[@]}"
  measure scan_1_thread   $BIN scan "$CORPUS/audit" -o "$OUT/o4" --threads 1 "${ARGS[@]}"
  # --since on the corpus's last day: searched (most bytes only hashed), and parsed whole then
  # filtered as before issue 23 (FORENSICS_TEST_NO_SKIP=1), for the ratio.
  measure scan_since_last_day $BIN scan "$CORPUS/audit" -o "$OUT/o8" --since "$LAST_DAY" "${ARGS[@]}"
  measure scan_since_last_day_parse_all env FORENSICS_TEST_NO_SKIP=1 $BIN scan "$CORPUS/audit" -o "$OUT/o9" --since "$LAST_DAY" "${ARGS[@]}"
  measure duckdb_full     python3 "$BASELINE" "$CORPUS/audit/server_audit.log*" "$OUT/d1" admin 10.20.
  measure duckdb_analysis python3 "$OUT/duckdb_analysis.py" "$CORPUS/audit/server_audit.log*" "$OUT/d2" admin 10.20.
  measure gzip_dc         sh -c "gzip -dc '$Z/gz/one.gz' > /dev/null"
  measure scan_gz         $BIN scan "$Z/gz" -o "$OUT/o5" --no-events --no-analysis --quiet --force
  measure zstd_dc         sh -c "zstd -dc '$Z/zst/one.zst' > /dev/null"
  measure scan_zst        $BIN scan "$Z/zst" -o "$OUT/o6" --no-events --no-analysis --quiet --force
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { cut -d' ' -f"$2" "$OUT/$1" | median; }
printf '\ncorpus: %s (%s bytes), %s runs each, %s cores\n\n' "$CORPUS" "$BYTES" "$RUNS" "$(nproc)"
printf '| run | median s | MB/s | peak RSS MiB |\n| --- | ---: | ---: | ---: |\n'
for n in scan scan_plain scan_no_report scan_no_report_sessions scan_before scan_no_events parse_only scan_1_thread scan_since_last_day scan_since_last_day_parse_all duckdb_full duckdb_analysis; do
  [ -f "$OUT/$n" ] || continue
  s=$(col $n 1); m=$(col $n 2)
  awk -v n=$n -v s="$s" -v m="$m" -v b="$BYTES" 'BEGIN {printf "| %s | %.2f | %.0f | %.0f |\n", n, s, b/s/1e6, m/1024}'
done
ONE_BYTES=$(stat -c %s "$ONE")
printf '\nOne file (%s bytes uncompressed) as a single stream; scan = parsing alone:\n\n' "$ONE_BYTES"
printf '| run | median s | MB/s (uncompressed) | peak RSS MiB |\n| --- | ---: | ---: | ---: |\n'
for n in gzip_dc scan_gz zstd_dc scan_zst; do
  s=$(col $n 1); m=$(col $n 2)
  awk -v n=$n -v s="$s" -v m="$m" -v b="$ONE_BYTES" 'BEGIN {printf "| %s | %.2f | %.0f | %.0f |\n", n, s, b/s/1e6, m/1024}'
done
r() { awk -v a="$(col "$1" 1)" -v b="$(col "$2" 1)" 'BEGIN {printf "%.2f", a/b}'; }
printf '\n| ratio | value |\n| --- | ---: |\n'
printf '| duckdb_full / scan | %sx |\n' "$(r duckdb_full scan)"
if [ -f "$OUT/scan_plain" ]; then
  printf '| duckdb_full / scan_plain (release build without PGO) | %sx |\n' "$(r duckdb_full scan_plain)"
fi
printf '| duckdb_analysis / scan_no_events | %sx |\n' "$(r duckdb_analysis scan_no_events)"
printf '| scan_no_events / parse_only (cost of the passes) | %sx |\n' "$(r scan_no_events parse_only)"
printf '| scan / scan_no_report (cost of report.html) | %sx |\n' "$(r scan scan_no_report)"
printf '| scan / scan_no_report_sessions (cost of the report and sessions, issue 18) | %sx |\n' "$(r scan scan_no_report_sessions)"
if [ -f "$OUT/scan_before" ]; then
  printf '| scan / scan_before (cost of sessions, evidence and the report) | %sx |\n' "$(r scan scan_before)"
fi
printf '| report.html | %s bytes |\n' "$(stat -c %s "$OUT/o1/report.html")"
printf '| evidence/ | %s files, %s bytes |\n' "$(ls "$OUT/o1/evidence" | wc -l)" "$(du -sb "$OUT/o1/evidence" | cut -f1)"
printf '| sessions.parquet | %s bytes |\n' "$(stat -c %s "$OUT/o1/sessions.parquet")"
printf '| scan_1_thread / scan (2-thread speed-up) | %sx |\n' "$(r scan_1_thread scan)"
printf '| gzip_dc / scan_gz (share of gzip -dc speed) | %sx |\n' "$(r gzip_dc scan_gz)"
printf '| zstd_dc / scan_zst (share of zstd -dc speed) | %sx |\n' "$(r zstd_dc scan_zst)"
