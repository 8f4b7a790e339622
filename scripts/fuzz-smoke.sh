#!/usr/bin/env bash
# CI smoke run of the fuzz targets: every target under AFL++ for a few seconds (about a minute
# in all), from a fresh output folder. Installs cargo-afl (pinned in scripts/fuzz.sh) when it
# is missing. Prints executions per target; exits non-zero on a crash (1) or when the build or
# a run fails (2). Crash inputs are left in the temporary folder it prints, not copied into
# fuzz/regressions/.
#
#   scripts/fuzz-smoke.sh            # FUZZ_SMOKE_SECONDS per target (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d "${TMPDIR:-/tmp}/forensics-fuzz-smoke.XXXXXX")
echo "fuzz-smoke: AFL++ output in $out" >&2
start=$(date +%s)
status=0
FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-7} FUZZ_OUT=$out FUZZ_KEEP_CRASHES=0 \
  scripts/fuzz.sh || status=$?
echo "fuzz-smoke: $(( $(date +%s) - start )) s, exit $status" >&2
if [ $status -eq 0 ]; then
  rm -rf "$out"
fi
exit $status
