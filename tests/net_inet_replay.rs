//! End to end: `rumpsp replay` of the real net_inet capture against the
//! in-process simulated kernel (booted with the capture's components). Every
//! step passes except those whose only difference is a port the kernel
//! chose (random per boot on the real server; the simulated kernel's come
//! from its seeded generator).

use std::process::Command;

/// Steps of net_inet.jsonl that fail only because of ports the kernel
/// chose (random per boot on the real server, from the seeded generator
/// here): 28 replies that differ in a port and nothing else, and 2 steps
/// where the client sends to a port it learned from getsockname (the
/// recorded datagram goes to the real kernel's port, where nobody listens
/// here, so the receive that follows finds nothing).
const PORT_STEPS: usize = 30;
/// SIOCGIFFLAGS/ADDR/NETMASK/MTU of lo0 at boot: the interfaces module's.
const IFACE_STEPS: usize = 4;
/// The capture's steps.
const STEPS: usize = 365;

#[test]
fn net_inet_capture_replays_but_for_kernel_chosen_ports() {
    let trace = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conformance/traces/net/net_inet.jsonl"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .env_remove("RUMP_SERVER")
        .args(["replay", trace])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text
        .lines()
        .rev()
        .find(|l| l.contains(" steps: "))
        .unwrap_or_default();
    // "1 traces, 365 steps: N pass, M pass after normalisation; ..."
    let num = |after: &str| -> usize {
        let i = summary.find(after).map(|i| i + after.len()).unwrap_or(0);
        summary[i..]
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap_or("0")
            .parse()
            .unwrap_or(0)
    };
    let steps = num("traces, ");
    let pass = num("steps: ");
    let normalised = num("pass, ");
    assert_eq!(steps, STEPS, "{text}");
    // 331 of 365 today (90.7%); 335 once the interfaces module answers.
    assert!(
        pass + normalised + PORT_STEPS + IFACE_STEPS >= steps,
        "{pass} + {normalised} pass of {steps}:\n{text}"
    );
}
