//! Not a fuzz target: libFuzzer's own cost per input on this machine (a body
//! that does nothing). `ci/fuzz-smoke.sh` runs it first and prints every
//! target's exec/s beside it; the ClusterFuzzLite build leaves it out.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    std::hint::black_box(data);
});
