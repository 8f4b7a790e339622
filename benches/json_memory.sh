#!/usr/bin/env bash
# Peak memory of scanning CloudWatch JSON deliveries (issue #16, point 10): a delivery is read
# in chunks cut between its events, so the peak should not grow with the file.
#
#   benches/json_memory.sh [BIN...]     (default: target/release/forensics)
#
# Makes (once, under $WORK, default /tmp/json-memory) two synth corpora of Firehose deliveries
# ($SMALL and $LARGE, default 100MB and 1500MB of audit log), and from each: the Firehose
# objects gunzipped into one mapped file, the same events as `aws logs filter-log-events`
# pages (scripts/cloudwatch_pages.py, 10,000 events a page), and those pages gzip'd (a
# stream). Prints the peak RSS and time of `forensics scan` of each file, for each binary.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/json-memory}
SMALL=${SMALL:-100MB}
LARGE=${LARGE:-1500MB}
BINS=("$@")
[ ${#BINS[@]} -eq 0 ] && BINS=(target/release/forensics)
mkdir -p "$WORK"
for size in "$SMALL" "$LARGE"; do
  if [ ! -s "$WORK/firehose-$size.json" ]; then
    "${BINS[0]}" synth -o "$WORK/syn-$size" --size "$size" --flavor rds-mysql --cloudwatch-json --seed 3 >/dev/null
    find "$WORK/syn-$size/firehose" -type f | sort | xargs zcat > "$WORK/firehose-$size.json"
    python3 scripts/cloudwatch_pages.py < "$WORK/firehose-$size.json" > "$WORK/pages-$size.json"
    gzip -1 -c "$WORK/pages-$size.json" > "$WORK/pages-$size.json.gz"
    rm -rf "$WORK/syn-$size"
  fi
done
printf '%-40s %-22s %-11s %10s %12s %8s\n' binary file mode MB peak_MiB seconds
for bin in "${BINS[@]}"; do
  for size in "$SMALL" "$LARGE"; do
    for f in "firehose-$size.json" "pages-$size.json" "pages-$size.json.gz"; do
      for mode in events no-events; do
        out="$WORK/out"
        flags=(--force --quiet)
        [ "$mode" = no-events ] && flags+=(--no-events)
        /usr/bin/time -v "$bin" scan "$WORK/$f" -o "$out" "${flags[@]}" 2> "$WORK/time.txt" >/dev/null || true
        peak=$(awk -F': ' '/Maximum resident/ {print int($2/1024)}' "$WORK/time.txt")
        secs=$(awk -F': ' '/Elapsed \(wall/ {print $2}' "$WORK/time.txt")
        mb=$(( $(stat -c %s "$WORK/$f") / 1000000 ))
        printf '%-40s %-22s %-11s %10s %12s %8s\n' "$bin" "$f" "$mode" "$mb" "$peak" "$secs"
      done
    done
  done
done
