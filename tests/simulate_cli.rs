//! `rumpsp simulate` as users run it: a passing seed range, the determinism
//! check, the event log, and a failing seed that prints how to replay it.

use std::process::Command;

fn rumpsp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rumpsp"))
}

#[test]
fn a_seed_range_passes_and_runs_twice_identically() {
    let out = rumpsp()
        .args([
            "simulate",
            "--seed",
            "3",
            "--seeds",
            "3",
            "--clients",
            "5",
            "--steps",
            "30",
            "--faults",
            "heavy",
            "--check-determinism",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    for s in [
        "seed 3: ok",
        "seed 5: ok",
        "3 of 3 seeds passed, each run twice",
    ] {
        assert!(err.contains(s), "no {s:?} in {err}");
    }
}

#[test]
fn the_event_log_is_the_same_file_twice() {
    let dir = tempfile::tempdir().unwrap();
    let logs: Vec<String> = (0..2)
        .map(|i| {
            let path = dir.path().join(format!("run{i}.log"));
            let out = rumpsp()
                .args([
                    "simulate",
                    "--seed",
                    "9",
                    "--clients",
                    "4",
                    "--steps",
                    "25",
                    "--log",
                ])
                .arg(&path)
                .output()
                .unwrap();
            assert!(out.status.success());
            std::fs::read_to_string(&path).unwrap()
        })
        .collect();
    assert!(logs[0].lines().count() > 100);
    assert_eq!(logs[0], logs[1]);
}

#[test]
fn a_failing_seed_names_itself_and_the_command_that_replays_it() {
    for (sabotage, what) in [
        ("leak-process", "processes left"),
        ("drop-connection", "lost without an injected fault"),
    ] {
        let out = rumpsp()
            .args([
                "simulate",
                "--seed",
                "5",
                "--clients",
                "4",
                "--steps",
                "30",
                "--sabotage",
                sabotage,
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("seed 5: FAILED"), "{err}");
        assert!(err.contains(what), "{err}");
        assert!(
            err.contains(&format!(
                "reproduce with: cargo run --release -- simulate --seed 5 --clients 4 \
                 --steps 30 --faults light --sabotage {sabotage}"
            )),
            "{err}"
        );
    }
}

#[test]
fn bad_arguments_are_named() {
    let out = rumpsp()
        .args(["simulate", "--faults", "extreme"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("extreme"));
}
