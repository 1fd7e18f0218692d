//! The network captures of the AF_LOCAL socket layer and fifofs replay
//! against a fresh in-process simulated kernel booted with the recording's
//! components (parsed from its server command line), with every step
//! passing: net_local.jsonl (AF_LOCAL sockets), fifo.jsonl (fifofs in
//! effect) and fifo_stub.jsonl (fifofs loaded but not in effect: every open
//! of a FIFO EOPNOTSUPP).

use std::path::Path;

use rumpsp_conformance::replay::{replay, Verdict};
use rumpsp_conformance::script::build_script;
use rumpsp_conformance::wire::InProcess;
use rumpsp_conformance::Capture;
use rumpsp_sim_kernel::{Components, SimConfig, SimKernel};

/// Replays one capture; returns its step count and the failing steps.
fn replay_net(name: &str) -> (usize, Vec<String>) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance/traces/net")
        .join(format!("{name}.jsonl"));
    let script = build_script(&Capture::load(&p).expect("the capture loads"), name);
    let components = script
        .server_cmd
        .as_deref()
        .and_then(Components::from_server_cmd)
        .expect("the recording names its components");
    let config = SimConfig {
        components,
        ..Default::default()
    };
    let mut wire = InProcess::with_kernel(SimKernel::new(config)).expect("an in-process server");
    let r = replay(&script, &mut wire);
    let failing = r
        .steps
        .iter()
        .filter(|s| s.verdict >= Verdict::Fail)
        .map(|s| {
            format!(
                "step {}: {}\n{}\n{}",
                s.index, s.request, s.expected, s.actual
            )
        })
        .collect();
    (r.steps.len(), failing)
}

#[test]
fn net_local_replays_with_every_step_passing() {
    let (steps, failing) = replay_net("net_local");
    assert_eq!(steps, 335);
    assert!(failing.is_empty(), "{}", failing.join("\n"));
}

#[test]
fn fifo_replays_with_every_step_passing() {
    let (steps, failing) = replay_net("fifo");
    assert_eq!(steps, 67);
    assert!(failing.is_empty(), "{}", failing.join("\n"));
}

#[test]
fn fifo_stub_replays_with_every_step_passing() {
    let (steps, failing) = replay_net("fifo_stub");
    assert_eq!(steps, 62);
    assert!(failing.is_empty(), "{}", failing.join("\n"));
}
