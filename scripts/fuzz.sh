#!/usr/bin/env bash
# Fuzzes the parsers with AFL++ through cargo-afl (stable Rust; see fuzz/ and src/fuzzing.rs).
#
#   scripts/fuzz.sh [MINUTES] [TARGET...]
#
# Runs each target (default: all) for MINUTES (default 5) on one core, one target after the
# other, then prints executions, corpus size and crashes per target. Every crashing input is
# copied to fuzz/regressions/<target>/ (named by its SHA-1), where `cargo test`
# (tests/fuzz_regressions.rs) replays it; fix the crash, then commit the input with the fix.
# Exits 1 when a target crashed, 2 when the build or a run failed.
#
# Environment: FUZZ_SECONDS overrides MINUTES (per target); FUZZ_OUT is AFL's output folder
# (default fuzz/out; a run resumes from what a previous run there found); FUZZ_KEEP_CRASHES=0
# leaves fuzz/regressions/ alone (the CI smoke run, scripts/fuzz-smoke.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# Builds on rustc 1.95; it builds AFL++ from source (about 80 s) on install.
CARGO_AFL_VERSION=0.18.2
ALL_TARGETS=(mysql postgres postgres_csv cloudwatch_json cloudwatch_export cloudtrail filter config time)

minutes=${1:-5}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL_TARGETS[@]}")
seconds=${FUZZ_SECONDS:-$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')}
out=${FUZZ_OUT:-$ROOT/fuzz/out}
keep=${FUZZ_KEEP_CRASHES:-1}

for t in "${targets[@]}"; do
  [ -d "fuzz/seeds/$t" ] || { echo "fuzz.sh: unknown target $t (${ALL_TARGETS[*]})" >&2; exit 2; }
done

# 1. cargo-afl, pinned, and the AFL++ it drives.
if ! cargo afl --version 2>/dev/null | grep -q "^cargo-afl $CARGO_AFL_VERSION "; then
  echo "fuzz.sh: installing cargo-afl $CARGO_AFL_VERSION" >&2
  cargo install --locked "cargo-afl@$CARGO_AFL_VERSION" || exit 2
fi
# The install builds AFL++ already; `config --build` (needed on older installs) then says so.
if ! built=$(cargo afl config --build 2>&1) && ! grep -q "already built" <<<"$built"; then
  echo "$built" >&2
  exit 2
fi

# 2. The targets, instrumented (fuzz/ is a workspace of its own, with its own lock file).
(cd fuzz && cargo afl build --release --locked) || { echo "fuzz.sh: build failed" >&2; exit 2; }

# 3. One AFL++ instance per target, one target at a time.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
# Do not pin a core: the machine is shared, and pinning fails when every core is taken.
export AFL_NO_AFFINITY=1
export AFL_AUTORESUME=1
# A crash is an abort either way; symbolising a backtrace per crash only slows the run.
export RUST_BACKTRACE=0
mkdir -p "$out"
declare -A execs rate corpus crashes hangs
status=0
for t in "${targets[@]}"; do
  echo "== $t: ${seconds}s" >&2
  stats=$out/$t/default/fuzzer_stats
  stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
  # A resumed run carries the earlier runs' counts on.
  before=0
  [ -f "$stats" ] && before=$(stat execs_done)
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=(-x "fuzz/dict/$t.dict")
  if ! cargo afl fuzz -V "$seconds" -i "fuzz/seeds/$t" -o "$out/$t" "${dict[@]}" \
      -- "fuzz/target/release/$t" >"$out/$t.log" 2>&1; then
    echo "fuzz.sh: afl-fuzz failed on $t; the end of $out/$t.log:" >&2
    tail -20 "$out/$t.log" >&2
    status=2
    continue
  fi
  execs[$t]=$(( $(stat execs_done) - before ))
  rate[$t]=$(stat execs_per_sec)
  corpus[$t]=$(stat corpus_count)
  crashes[$t]=$(find "$out/$t/default/crashes" -name 'id:*' 2>/dev/null | wc -l)
  hangs[$t]=$(stat saved_hangs)
  if [ "${crashes[$t]:-0}" != 0 ]; then
    [ $status -eq 0 ] && status=1
    for c in "$out/$t"/default/crashes/id:*; do
      [ -f "$c" ] || continue
      name=$(sha1sum "$c" | cut -c1-16)
      echo "fuzz.sh: $t crashed on $c" >&2
      if [ "$keep" = 1 ]; then
        mkdir -p "fuzz/regressions/$t"
        cp "$c" "fuzz/regressions/$t/$name"
        echo "    copied to fuzz/regressions/$t/$name" >&2
      fi
    done
  fi
done

printf '%-18s %12s %10s %8s %8s %6s\n' target executions execs/s corpus crashes hangs
for t in "${targets[@]}"; do
  printf '%-18s %12s %10s %8s %8s %6s\n' "$t" "${execs[$t]:--}" "${rate[$t]:--}" \
    "${corpus[$t]:--}" "${crashes[$t]:--}" "${hangs[$t]:--}"
done
[ $status -eq 1 ] && echo "fuzz.sh: crashes found (inputs in $out/<target>/default/crashes/)" >&2
exit $status
