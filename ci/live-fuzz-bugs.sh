#!/usr/bin/env bash
# Judges `rumpsp fuzz` by the bugs it finds in a live server: for each bug
# `rumpsp serve --inject-bug NAME` can have, runs the fuzzer against it with
# seeds 1..RUNS until its first finding (cap CAP seconds) and prints the
# time-to-find of each seed and their median.
# Usage: ci/live-fuzz-bugs.sh [RUNS] [CAP]   (default 3 seeds, 120 s)
# BUGS="name ..." restricts the run to some bugs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
cap="${2:-120}"
bugs="${BUGS:-guest-empty sysnum-ffffffff sysnum-80000000 open-empty-args copyin-empty hang-read0 double-answer}"
cargo build --release --quiet
bin="$PWD/target/release/rumpsp"
printf '%-18s %-32s %s\n' bug "time to find per seed (s)" median
for bug in $bugs; do
  times=()
  for seed in $(seq 1 "$runs"); do
    work=$(mktemp -d)
    "$bin" fuzz --server-cmd "$bin serve {url} --inject-bug $bug" --seed "$seed" --time "$cap" \
      --stop-on-finding --out "$work/findings" --json "$work/report.json" >/dev/null 2>&1 || true
    t=$(python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
f=r["findings"]
print("%.1f" % min(x["seconds_to_find"] for x in f) if f else "none")' "$work/report.json" 2>/dev/null || echo none)
    times+=("$t")
    rm -rf "$work"
  done
  median=$(printf '%s\n' "${times[@]}" | python3 -c 'import sys
v=[l.strip() for l in sys.stdin]
n=sorted(float(x) if x!="none" else float("inf") for x in v)
m=n[len(n)//2]
print("not found within cap" if m==float("inf") else "%.1f" % m)')
  printf '%-18s %-32s %s\n' "$bug" "${times[*]}" "$median"
done
