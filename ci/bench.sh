#!/usr/bin/env bash
# Every benchmark, each printing its figures with the ratio to its target:
# codec, simulated kernel, replay speed, deterministic simulation, then `rumpsp bench` (round trips
# against the plain-socket floor, 1 MiB write, concurrent clients) with the
# latency plot in target/bench-latency.svg. Extra arguments go to `rumpsp
# bench` (e.g. --against unix:///tmp/rump.sock to measure a real rump_server).
# Usage: ci/bench.sh [rumpsp bench options]
set -euo pipefail
cd "$(dirname "$0")/.."

cargo bench -p rumpsp-protocol --bench codec
cargo bench -p rumpsp-sim-kernel --bench kernel
cargo bench -p rumpsp-conformance --bench replay
cargo bench -p rumpsp-simulation --bench simulate
cargo build --release --quiet
mkdir -p target
target/release/rumpsp bench --plot target/bench-latency.svg "$@"
