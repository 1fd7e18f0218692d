//! Every robustness case (the malformed inputs that crashed or confused the
//! real NetBSD server) sent byte for byte to one live server, as the reference
//! was tested: the server answers, never crashes or hangs, and then serves a
//! new client. In-process, the same cases leave no process behind.

mod support;

use std::path::Path;
use std::time::Duration;

use rumpsp_conformance::raw::replay_raw;
use rumpsp_conformance::socket::SocketWire;
use rumpsp_conformance::wire::InProcess;
use rumpsp_conformance::Capture;
use rumpsp_protocol::server::{SeededCookies, ServerCore, ServerLimits};
use rumpsp_protocol::Banner;
use rumpsp_sim_kernel::SimKernel;

fn cases() -> Vec<(String, Capture)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/traces/robustness");
    let mut v: Vec<(String, Capture)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                Capture::load(&p).unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn every_robustness_case_against_one_live_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::unix_server(dir.path());
    let path = dir.path().join("rump.sock");
    let all = cases();
    assert_eq!(all.len(), 42);
    for (i, (name, cap)) in all.iter().enumerate() {
        let mut wire = SocketWire::new(server.addr.clone());
        wire.patience = Duration::from_millis(10);
        let got = replay_raw(cap, &mut wire);
        assert!(
            got.values().any(|c| !c.received.is_empty()),
            "{name}: nothing came back on any connection"
        );
        // the server still serves a new client
        let mut c =
            support::Raw::connect(&path).unwrap_or_else(|e| panic!("{name}: server gone: {e}"));
        assert_eq!(c.banner, b"RUMPSP-0.4-NetBSD-7.99.34/amd64\n", "{name}");
        c.guest();
        let (e, pid) = c.getpid(2);
        assert_eq!(e, 0, "{name}");
        assert!(pid > 1, "{name} (case {i})");
    }
    server.stop();
    assert!(!path.exists(), "socket file removed at shutdown");
}

#[test]
fn robustness_cases_leave_no_process_behind() {
    for (name, cap) in cases() {
        let core = ServerCore::new(
            SimKernel::default(),
            ServerLimits::default(),
            &Banner::default(),
            Box::new(SeededCookies::new(1)),
        )
        .unwrap();
        let mut wire = InProcess { core };
        replay_raw(&cap, &mut wire);
        let ids: Vec<_> = wire.core.connections().collect();
        for id in ids {
            wire.core.disconnect(id);
        }
        // init, plus at most the intermediates of unredeemed preforks
        let procs = wire.core.kernel().t.procs.len();
        assert_eq!(
            procs,
            1 + wire.core.prefork_count(),
            "{name}: {procs} processes left"
        );
        assert!(
            wire.core.kernel().t.files.is_empty() || wire.core.prefork_count() > 0,
            "{name}: open files left"
        );
        wire.core
            .kernel()
            .check_invariants()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
