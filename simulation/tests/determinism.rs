//! The seed fixes everything: one seed twice gives byte-identical event logs.

use rumpsp_simulation::{run, Faults, Options};

fn logged(seed: u64, faults: Faults) -> Options {
    Options {
        seed,
        clients: 12,
        steps: 60,
        faults,
        keep_log: true,
    }
}

#[test]
fn one_seed_twice_gives_byte_identical_event_logs() {
    for faults in [Faults::NONE, Faults::HEAVY] {
        let a = run(&logged(42, faults));
        let b = run(&logged(42, faults));
        assert!(a.log.len() > 10_000, "the log records the run");
        assert!(a.log == b.log, "event logs differ for seed 42");
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.stats, b.stats);
    }
}

#[test]
fn the_log_records_faults_and_calls() {
    let r = run(&logged(42, Faults::HEAVY));
    for what in [
        " call #",
        " ret #",
        " Reset",
        " lost L",
        " cut Some(",
        " handshake",
    ] {
        assert!(r.log.contains(what), "no {what:?} in the log");
    }
}

#[test]
fn another_seed_gives_another_run() {
    let a = run(&logged(1, Faults::LIGHT));
    let b = run(&logged(2, Faults::LIGHT));
    assert_ne!(a.digest, b.digest);
}

#[test]
fn keeping_the_text_does_not_change_the_run() {
    let a = run(&logged(5, Faults::LIGHT));
    let b = run(&Options {
        keep_log: false,
        ..logged(5, Faults::LIGHT)
    });
    assert_eq!(a.digest, b.digest);
    assert!(b.log.is_empty());
}
