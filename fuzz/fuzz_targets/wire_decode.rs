//! cargo-fuzz entry for `wire_decode`; the body and its invariants are in
//! `rumpsp_fuzz_targets::wire_decode` (replayed on stable by `fuzz-targets/tests/corpus.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rumpsp_fuzz_targets::wire_decode::run(data));
