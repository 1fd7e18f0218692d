#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: every cargo-fuzz target, its seed corpus
# (made here from the conformance traces, as `rumpsp fuzz-seeds` makes it) and
# the dictionary.
cd "$SRC/rumpsp"
# The seed generator is an ordinary host tool: built without the fuzzing
# flags the builder puts in RUSTFLAGS, in its own target directory.
env -u RUSTFLAGS cargo run --release --quiet --target-dir target/seeds -- \
  fuzz-seeds --out fuzz/corpus
cd fuzz
cargo fuzz build -O
# `floor` only calibrates ci/fuzz-smoke.sh; it fuzzes nothing
for target in $(cargo fuzz list | grep -vx floor); do
  cp "target/x86_64-unknown-linux-gnu/release/$target" "$OUT/"
  cp rump_sp.dict "$OUT/$target.dict"
  if [ -d "corpus/$target" ]; then
    (cd "corpus/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
  fi
done
