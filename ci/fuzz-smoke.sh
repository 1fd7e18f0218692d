#!/usr/bin/env bash
# Builds every fuzz target and runs each for a fixed time (default 20 s) from
# the seed corpus made from the conformance traces, with the dictionary;
# prints executions per second and coverage per target, and fails on any
# crash. Each target's exec/s is also given as a percentage of libFuzzer's floor
# on this machine, measured first in the same run with `floor` (a target whose
# body does nothing). Installs cargo-fuzz if missing.
# Usage: ci/fuzz-smoke.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz-smoke: installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

cargo run --release --quiet -- fuzz-seeds --out fuzz/corpus
cd fuzz
targets=$(cargo +nightly fuzz list | grep -vx floor)
# no sanitizer: the code is safe Rust; this measures the targets' own speed
cargo +nightly fuzz build -s none -O 2>&1 | tail -n 1

# executions in a run's final stats
executed() { grep -o 'stat::number_of_executed_units: *[0-9]*' "$1" | grep -o '[0-9]*$' || echo 0; }

floor_secs=5
floor_dir=$(mktemp -d)
log=$(mktemp)
cargo +nightly fuzz run -s none --release floor "$floor_dir" -- \
  -max_total_time="$floor_secs" -max_len=4096 -print_final_stats=1 >"$log" 2>&1 || true
floor=$(( $(executed "$log") / floor_secs ))
rm -rf "$floor_dir" "$log"
echo "fuzz-smoke: libFuzzer's floor on this machine (a target that does nothing): $floor exec/s"

status=0
for t in $targets; do
  mkdir -p "corpus/$t"
  log=$(mktemp)
  if ! cargo +nightly fuzz run -s none --release "$t" "corpus/$t" -- \
      -max_total_time="$secs" -max_len=4096 -dict=rump_sp.dict -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz-smoke: $t FAILED (reproducer under fuzz/artifacts/$t/)"
    status=1
  fi
  execs=$(executed "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || echo '?')
  rate=$((execs / secs))
  share=$(awk -v r="$rate" -v f="$floor" 'BEGIN { if (f > 0) printf "%.2g%%", 100 * r / f; else print "?" }')
  echo "fuzz-smoke: $t: $execs execs in ${secs}s = $rate exec/s ($share of the floor), coverage $cov"
  rm -f "$log"
done
exit $status
