#!/usr/bin/env bash
# The mutation suite: the corpus (real + regression) and the robustness
# catalogue run once against a correct server, then once per named server bug
# injected between the judge and that server (rumpsp_conformance::mutate).
# Every mutant must be killed by every suite where it changes something, and
# every control (delays, 1-byte writes, random padding, other COPYOUT splits)
# must pass. Prints the kill table; exits non-zero on a survivor or a failing
# control.
# Without an argument: the simulated server in-process. With a shell command
# (as for --server-cmd, `{url}` and `{hostname}` substituted): a fresh server
# per run from that command, e.g.
#   ci/mutants.sh "$PWD/target/release/rumpsp serve {url} --hostname {hostname}"
# Usage: ci/mutants.sh [SERVER-CMD]
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
bin=target/release/rumpsp
if [ $# -ge 1 ]; then
  "$bin" conformance --mutants --server-cmd "$1"
else
  "$bin" conformance --mutants
fi
