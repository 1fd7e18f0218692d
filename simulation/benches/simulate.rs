//! Simulated syscalls per second of wall time (one thread, so one core):
//! 100 clients, 500 operations each, for each fault preset, three seeds;
//! prints the median of each preset against the 100,000/s target.

use std::time::Instant;

use rumpsp_simulation::{run, Faults, Options};

const TARGET: f64 = 100_000.0;

fn main() {
    println!(
        "simulate: 100 clients x 500 steps, 3 seeds per preset (target {TARGET:.0} syscalls/s)"
    );
    for (name, faults) in [
        ("none", Faults::NONE),
        ("light", Faults::LIGHT),
        ("heavy", Faults::HEAVY),
    ] {
        let mut rates = Vec::new();
        for seed in 1..=3 {
            let o = Options {
                seed,
                clients: 100,
                steps: 500,
                faults,
                keep_log: false,
            };
            let t = Instant::now();
            let r = run(&o);
            let wall = t.elapsed().as_secs_f64();
            assert!(r.passed(), "seed {seed} failed: {:?}", r.violations);
            let rate = r.stats.syscalls as f64 / wall;
            println!(
                "  {name:5} seed {seed}: {} syscalls, {} events in {wall:.3} s = {rate:.0} syscalls/s",
                r.stats.syscalls, r.stats.events
            );
            rates.push(rate);
        }
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        println!(
            "{name:5} median {median:.0} syscalls/s = {:.2}x the target",
            median / TARGET
        );
    }
}
