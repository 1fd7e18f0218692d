#!/usr/bin/env bash
# Judges the in-process cargo-fuzz target server_session by the bugs it finds:
# for each injected bug (protocol/src/server/inject.rs, selected with
# RUMPSP_INJECT_BUG), runs the target from the seed corpus until its first crash
# or timeout (the hang bug is a dropped frame, not a crash, and double-answer is
# only caught if the target's invariants see two answers), RUNS times, and
# prints the median time-to-find (or "not found within CAP s").
# Modes: `ci/fuzz-bugs.sh short` (CI: 1 run, cap 30 s, the five crash bugs) and
#        `ci/fuzz-bugs.sh full`  (3 runs, cap 300 s, every bug).
# BUGS="name ..." restricts either mode to some bugs.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-short}"
case "$mode" in
  short) runs=1; cap=30; bugs="guest-empty sysnum-ffffffff sysnum-80000000 open-empty-args copyin-empty" ;;
  full) runs=3; cap=300; bugs="guest-empty sysnum-ffffffff sysnum-80000000 open-empty-args copyin-empty hang-read0 double-answer" ;;
  *) echo "usage: ci/fuzz-bugs.sh [short|full]" >&2; exit 2 ;;
esac
bugs="${BUGS:-$bugs}"  # BUGS="a b" restricts the run to those bugs
if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cargo run --release --quiet -- fuzz-seeds --out fuzz/corpus
cd fuzz
cargo +nightly fuzz build -s none -O server_session 2>&1 | tail -n 1
for bug in $bugs; do
  times=()
  for r in $(seq 1 "$runs"); do
    work=$(mktemp -d); cp -r corpus/server_session/. "$work"/ 2>/dev/null || true
    art=$(mktemp -d)
    start=$(date +%s.%N)
    if RUMPSP_INJECT_BUG="$bug" timeout $((cap + 30)) cargo +nightly fuzz run -s none --release server_session "$work" -- \
        -max_total_time="$cap" -max_len=4096 -dict=rump_sp.dict -seed="$r" -artifact_prefix="$art/" >/dev/null 2>&1; then
      times+=("none")
    else
      times+=("$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')")
    fi
    rm -rf "$work" "$art"
  done
  med=$(printf '%s\n' "${times[@]}" | grep -v none | sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "none"; else print a[int((NR + 1) / 2)] }')
  found=$(printf '%s\n' "${times[@]}" | grep -vc none || true)
  if [ "$med" = none ]; then
    echo "fuzz-bugs: $bug: not found within ${cap}s in $runs run(s)"
  else
    echo "fuzz-bugs: $bug: found in $found/$runs run(s), median time-to-find ${med}s (cap ${cap}s; includes start-up)"
  fi
done
