//! Compatibility proof over real sockets: the client side of every real
//! capture is replayed against `rumpsp serve`'s server (a fresh one per
//! server_run group, as the captures were recorded), and every answer must
//! match the real NetBSD server's after normalisation. The reboot capture
//! ends its server.

mod support;

use std::path::Path;

use rumpsp_conformance::replay::{replay, Verdict};
use rumpsp_conformance::script::{build_script, Script};
use rumpsp_conformance::socket::SocketWire;
use rumpsp_conformance::Capture;
use rumpsp_protocol::net::ServerConfig;
use rumpsp_protocol::ServerAddr;
use rumpsp_sim_kernel::SimConfig;
use support::Running;

fn scripts() -> Vec<Script> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/traces/real");
    let mut v: Vec<Script> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| {
            build_script(
                &Capture::load(&p).unwrap(),
                &p.file_stem().unwrap().to_string_lossy(),
            )
        })
        .collect();
    v.sort_by(|a, b| (&a.server_run, &a.date).cmp(&(&b.server_run, &b.date)));
    v
}

#[test]
fn every_real_capture_replays_over_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let all = scripts();
    let mut failures = Vec::new();
    let mut steps = 0;
    let mut i = 0;
    while i < all.len() {
        let run = all[i].server_run.clone();
        let group: Vec<&Script> = all[i..]
            .iter()
            .take_while(|s| s.server_run == run)
            .collect();
        let mut sim = SimConfig::default();
        if let Some(h) = group.iter().find_map(|s| s.recorded_hostname()) {
            sim.hostname = h;
        }
        let addr = ServerAddr::Unix(dir.path().join(format!("{run}.sock")));
        let server = Running::start(addr.clone(), sim, ServerConfig::default());
        let mut wire = SocketWire::new(addr);
        for s in &group {
            let r = replay(s, &mut wire);
            steps += r.steps.len();
            for st in r.steps.iter().filter(|st| st.verdict >= Verdict::Fail) {
                failures.push(format!(
                    "{} step {}: {}\n  expected: {}\n  actual: {}",
                    r.name, st.index, st.request, st.expected, st.actual
                ));
            }
        }
        server.stop();
        i += group.len();
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(steps, 1108);
}

#[test]
fn replays_over_tcp_loopback_too() {
    let addr = "tcp://127.0.0.1:0".parse_server();
    let server = Running::start(addr, SimConfig::default(), ServerConfig::default());
    let s = all_named("getpid_tcp");
    let r = replay(&s, &mut SocketWire::new(server.addr.clone()));
    assert!(
        r.steps.iter().all(|s| s.verdict <= Verdict::PassNormalised),
        "{:?}",
        r.steps
    );
}

trait ParseServer {
    fn parse_server(&self) -> ServerAddr;
}

impl ParseServer for str {
    fn parse_server(&self) -> ServerAddr {
        rumpsp_protocol::url::parse_url(self, rumpsp_protocol::url::Role::Server).unwrap()
    }
}

fn all_named(name: &str) -> Script {
    scripts().into_iter().find(|s| s.name == name).unwrap()
}
