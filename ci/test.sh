#!/usr/bin/env bash
# The README's test command, then the lints CI holds every change to.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace
cargo clippy --workspace --all-targets -- -D warnings
cargo fmt --all -- --check
