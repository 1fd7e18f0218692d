//! cargo-fuzz entry for `client_session`; the body and its invariants are in
//! `rumpsp_fuzz_targets::client_session` (replayed on stable by `fuzz-targets/tests/corpus.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rumpsp_fuzz_targets::client_session::run(data));
