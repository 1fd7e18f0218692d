//! Many seeds, each run checked end to end; determinism of the event log.

use rumpsp_simulation::{run, Faults, Options};

fn opts(seed: u64, clients: usize, steps: u64, faults: Faults) -> Options {
    Options {
        seed,
        clients,
        steps,
        faults,
        keep_log: false,
    }
}

fn assert_passes(o: &Options) {
    let r = run(o);
    assert!(
        r.passed(),
        "seed {} failed:\n  {}\nreproduce with: {}",
        o.seed,
        r.violations.join("\n  "),
        o.repro_command()
    );
}

#[test]
fn one_light_run() {
    let r = run(&opts(1, 10, 100, Faults::LIGHT));
    eprintln!("{:?}\n{:?}", r.stats, r.ops);
    assert!(r.passed(), "{}", r.violations.join("\n"));
}
