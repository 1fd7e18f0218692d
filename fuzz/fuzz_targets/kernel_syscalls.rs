//! cargo-fuzz entry for `kernel_syscalls`; the body and its invariants are in
//! `rumpsp_fuzz_targets::kernel_syscalls` (replayed on stable by `fuzz-targets/tests/corpus.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rumpsp_fuzz_targets::kernel_syscalls::run(data));
