//! The checkers catch what they are there for: each test breaks one thing on
//! purpose and expects the run to fail naming it.

use rumpsp_protocol::client::{Arg, CallOutcome};
use rumpsp_protocol::frame::{Frame, Message, SyscallResp};
use rumpsp_protocol::{Abi, HandshakeKind};
use rumpsp_sim_kernel::local::{run_syscall, LocalMemory};
use rumpsp_simulation::net::Toward;
use rumpsp_simulation::task::{Reply, Request};
use rumpsp_simulation::{Faults, Options, Sabotage, Simulation};

fn opts() -> Options {
    Options {
        seed: 11,
        clients: 6,
        steps: 40,
        faults: Faults::NONE,
        keep_log: false,
    }
}

fn expect_violation(sim: Simulation, what: &str) {
    let r = sim.finish();
    assert!(
        r.violations.iter().any(|v| v.contains(what)),
        "expected a violation containing {what:?}, got {:?}",
        r.violations
    );
}

#[test]
fn a_clean_run_passes() {
    let r = Simulation::new(&opts()).finish();
    assert!(r.passed(), "{:?}", r.violations);
}

#[test]
fn a_connection_the_server_drops_without_a_fault_is_reported() {
    let mut sim = Simulation::new(&opts());
    sim.sabotage(Sabotage::DropConnection);
    expect_violation(sim, "lost without an injected fault");
}

#[test]
fn an_answer_to_a_request_nobody_made_is_reported() {
    let mut sim = Simulation::new(&opts());
    for _ in 0..300 {
        sim.world().step();
    }
    let link = (0..6)
        .find_map(|a| sim.world().link_of(a))
        .expect("a client is connected");
    let mut bogus = Vec::new();
    Frame::new(999_999, Message::SyscallResp(SyscallResp::default()))
        .encode(Abi::Lp64Le, &mut bogus);
    sim.world().inject(link, Toward::Client, &bogus);
    expect_violation(
        sim,
        "an answer for request #999999 which is not outstanding",
    );
}

#[test]
fn a_file_the_model_does_not_know_is_reported() {
    let mut sim = Simulation::new(&opts());
    sim.world().run();
    let k = sim.world().core_mut().kernel_mut();
    let mut mem = LocalMemory::default();
    mem.write(0x1000, b"/tmp/intruder\0");
    let mut args = 0x1000u64.to_le_bytes().to_vec();
    args.extend_from_slice(&0o755u64.to_le_bytes());
    run_syscall(k, &mut mem, 1, 136, &args);
    expect_violation(sim, "/tmp/intruder differs from the model");
}

#[test]
fn a_process_left_behind_is_reported() {
    let mut sim = Simulation::new(&opts());
    sim.sabotage(Sabotage::LeakProcess);
    expect_violation(sim, "processes left");
}

#[test]
fn a_process_that_never_gets_its_answer_is_reported() {
    let mut sim = Simulation::new(&opts());
    sim.spawn("reader", |p| async move {
        let hello = Request::Connect {
            kind: HandshakeKind::Guest,
            name: b"reader".to_vec(),
            cookie: None,
        };
        assert_eq!(p.call(hello).await, Reply::Done(CallOutcome::Handshake(0)));
        let pipe = Request::Syscall {
            nr: 453,
            args: vec![Arg::Out(8), Arg::Int(0)],
        };
        let Reply::Done(CallOutcome::Syscall { buffers, .. }) = p.call(pipe).await else {
            panic!("pipe2 failed");
        };
        let rfd = i32::from_le_bytes(buffers[0][..4].try_into().expect("4 bytes"));
        // it holds the write end itself: this read can never finish
        let read = Request::Syscall {
            nr: 3,
            args: vec![Arg::Int(rfd), Arg::Out(1), Arg::Word(1)],
        };
        p.call(read).await;
    });
    expect_violation(
        sim,
        "reader (thread 0) never finished: still waiting for syscall 3",
    );
}

#[test]
fn a_socket_left_open_is_reported() {
    let mut sim = Simulation::new(&opts());
    sim.world().run();
    // init (pid 1) opens a TCP socket the workload never closes
    let k = sim.world().core_mut().kernel_mut();
    let mut mem = LocalMemory::default();
    let args: Vec<u8> = [2u64, 1, 0].iter().flat_map(|a| a.to_le_bytes()).collect();
    run_syscall(k, &mut mem, 1, 394, &args);
    expect_violation(sim, "sockets left");
}

#[test]
fn the_workload_talks_over_sockets() {
    let r = Simulation::new(&Options {
        clients: 10,
        steps: 150,
        ..opts()
    })
    .finish();
    assert!(r.passed(), "{:?}", r.violations);
    for op in ["local", "tcp"] {
        assert!(
            r.ops.get(op).copied().unwrap_or(0) > 0,
            "no {op} op in {:?}",
            r.ops
        );
    }
}
