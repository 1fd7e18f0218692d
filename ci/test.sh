#!/usr/bin/env bash
# The README's test command, then the lints CI holds every change to.
set -euo pipefail
cd "$(dirname "$0")/.."

# Snapshots are checked, never rewritten, in CI.
export INSTA_UPDATE=no
cargo test --workspace
cargo clippy --workspace --all-targets -- -D warnings
cargo fmt --all -- --check
