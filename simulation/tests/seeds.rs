//! Many seeds, each run checked end to end. A failure names the seed and the
//! command that replays it exactly.

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

fn assert_passes(o: &Options) -> rumpsp_simulation::Report {
    let r = run(o);
    assert!(
        r.passed(),
        "seed {} failed:\n  {}\nreproduce with: {}",
        o.seed,
        r.violations.join("\n  "),
        o.repro_command()
    );
    r
}

#[test]
fn forty_seeds_with_light_faults() {
    let mut lost = 0;
    for seed in 0..40 {
        lost += assert_passes(&opts(seed, 8, 60, Faults::LIGHT)).stats.lost;
    }
    assert!(lost > 0, "light faults broke no call in 40 seeds");
}

#[test]
fn twenty_seeds_with_heavy_faults() {
    for seed in 1000..1020 {
        let r = assert_passes(&opts(seed, 8, 60, Faults::HEAVY));
        assert!(
            r.stats.disconnects > 0 && r.stats.stalls > 0,
            "{:?}",
            r.stats
        );
    }
}

#[test]
fn a_hundred_clients_at_once() {
    let r = assert_passes(&opts(7, 100, 25, Faults::LIGHT));
    // forks add processes of their own
    assert!(r.stats.connections >= 100, "{:?}", r.stats);
    for kind in [
        "create", "mkdir", "read", "list", "pipe", "fork", "exec", "sysctl", "local", "tcp",
    ] {
        assert!(
            r.ops.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} in {:?}",
            r.ops
        );
    }
}

#[test]
fn without_faults_nothing_is_lost() {
    let r = assert_passes(&opts(3, 20, 50, Faults::NONE));
    assert_eq!(
        (r.stats.lost, r.stats.disconnects, r.stats.stalls),
        (0, 0, 0)
    );
    // one connection per client, and one per child of a fork or socket operation
    let children: u64 = ["fork", "local", "tcp"]
        .iter()
        .map(|k| r.ops.get(k).copied().unwrap_or(0))
        .sum();
    assert_eq!(r.stats.connections, 20 + children);
    assert_eq!(r.stats.calls, r.stats.answered);
}
