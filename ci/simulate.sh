#!/usr/bin/env bash
# The deterministic simulation over many seeds: 100 clients each, heavy and
# light network faults, every seed run twice and its event logs compared.
# A failing seed prints its violations and the command that replays it.
# Usage: ci/simulate.sh [SEEDS]   (default 50 per fault preset)
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=${1:-50}
cargo build --release --quiet
for faults in heavy light; do
  target/release/rumpsp simulate --quiet --seed 1 --seeds "$seeds" --clients 100 \
    --steps 200 --faults "$faults" --check-determinism
done
