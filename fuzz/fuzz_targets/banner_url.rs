//! cargo-fuzz entry for `banner_url`; the body and its invariants are in
//! `rumpsp_fuzz_targets::banner_url` (replayed on stable by `fuzz-targets/tests/corpus.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rumpsp_fuzz_targets::banner_url::run(data));
