#!/usr/bin/env bash
# Profile-guided release build: about 6 % less CPU than `cargo build --release` on a scan.
#
#   scripts/pgo-build.sh            # the binary lands in target/pgo/release/forensics
#
# 1. builds an instrumented binary (target/pgo-gen);
# 2. trains it on synth corpora of every flavour, with seeds other than the benchmark's
#    (seed 1), so the profile does not fit the benchmark corpus itself;
# 3. merges the profile with rustup's llvm-profdata (component llvm-tools, added if missing);
# 4. builds the optimised binary with the profile (target/pgo).
#
# Same source, same output: only the code layout and inlining differ. It takes about twice
# a release build (two fat-LTO builds) plus a few seconds of training.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
DATA=$TARGET/pgo-data
TRAIN=$TARGET/pgo-train

rustup component add llvm-tools >/dev/null 2>&1 || true
PROFDATA=$(find "$(rustc --print sysroot)" -name llvm-profdata -type f | head -1)
if [ -z "$PROFDATA" ]; then
  echo "pgo-build: llvm-profdata not found (rustup component add llvm-tools)" >&2
  exit 1
fi

rm -rf "$DATA"
mkdir -p "$DATA"
CARGO_TARGET_DIR=$TARGET/pgo-gen RUSTFLAGS="-Cprofile-generate=$(realpath "$DATA")" \
  cargo build --release --locked --quiet
GEN=$TARGET/pgo-gen/release/forensics

if [ ! -f "$TRAIN/gz/ground_truth.json" ]; then
  rm -rf "$TRAIN"
  "$GEN" synth -o "$TRAIN/rds" --size 200MiB --seed 7 --flavor rds-mysql >/dev/null 2>&1
  "$GEN" synth -o "$TRAIN/maria" --size 100MiB --seed 8 --flavor mariadb >/dev/null 2>&1
  "$GEN" synth -o "$TRAIN/aurora" --size 100MiB --seed 9 --flavor aurora >/dev/null 2>&1
  "$GEN" synth -o "$TRAIN/pg" --size 50MiB --seed 10 --flavor postgres >/dev/null 2>&1
  "$GEN" synth -o "$TRAIN/gz" --size 50MiB --seed 11 --flavor mariadb --gzip >/dev/null 2>&1
fi
# Only the training runs' profiles count, not the generator's.
rm -f "$DATA"/*.profraw
for d in rds maria aurora pg gz; do
  "$GEN" scan "$TRAIN/$d" -o "$TRAIN/out" --force --quiet \
    --allow 10.20.0.0/16 --master-user admin >/dev/null
done
"$GEN" grep 'QUERY' "$TRAIN/maria" --count >/dev/null

"$PROFDATA" merge -o "$DATA/merged.profdata" "$DATA"/*.profraw
CARGO_TARGET_DIR=$TARGET/pgo RUSTFLAGS="-Cprofile-use=$(realpath "$DATA/merged.profdata")" \
  cargo build --release --locked --quiet
echo "$TARGET/pgo/release/forensics"
