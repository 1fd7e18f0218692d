#!/usr/bin/env bash
# Records the own-client traces: for each syscall family, a fresh
# `rumpsp serve`, `rumpsp record` in front of it, and the `families` example
# as the client. Raw captures go to conformance/traces/own/, text traces to
# conformance/corpus/own_FAMILY.trace. Run it again after a deliberate change
# of the simulated kernel; the tests then hold the corpus to it.
# Usage: ci/record-corpus.sh [FAMILY…]
set -euo pipefail
cd "$(dirname "$0")/.."

families=("$@")
if [ ${#families[@]} -eq 0 ]; then
  families=(files dirs links perms creds pipes fdops iovec sysctl time stamps mount statvfs fork exec threads forks)
fi
cargo build --release --quiet --example families
bin=target/release/rumpsp
client=target/release/examples/families
mkdir -p conformance/traces/own conformance/corpus
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

wait_socket() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; echo "no socket $1" >&2; return 1; }

for f in "${families[@]}"; do
  rm -f "$tmp"/*.sock
  "$bin" serve "unix://$tmp/server.sock" --hostname rumpsp-own 2>/dev/null &
  server=$!
  wait_socket "$tmp/server.sock"
  "$bin" record --listen "unix://$tmp/tap.sock" --upstream "unix://$tmp/server.sock" \
    -o "conformance/traces/own/$f.jsonl" --scenario "own_$f" 2>/dev/null &
  tap=$!
  wait_socket "$tmp/tap.sock"
  RUMP_SERVER="unix://$tmp/tap.sock" "$client" "$f"
  sleep 0.2
  kill -TERM "$tap"; wait "$tap" || true
  kill "$server"; wait "$server" || true
  "$bin" trace import "conformance/traces/own/$f.jsonl" --stdout > "conformance/corpus/own_$f.trace"
  echo "recorded $f"
done
