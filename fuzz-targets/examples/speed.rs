//! Executions per second of each target body on small pseudo-random inputs
//! (what the fuzzer mostly runs): `cargo run --release -p rumpsp-fuzz-targets --example speed`.
use std::time::{Duration, Instant};

fn main() {
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let inputs: Vec<Vec<u8>> = (0..4096)
        .map(|_| (0..(next() % 256)).map(|_| next() as u8).collect())
        .collect();
    for (name, run) in rumpsp_fuzz_targets::TARGETS {
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed() < Duration::from_secs(1) {
            for i in &inputs[..256] {
                run(i);
            }
            n += 256;
        }
        println!(
            "{name:<16} {:>10.0} exec/s",
            n as f64 / t.elapsed().as_secs_f64()
        );
    }
}
