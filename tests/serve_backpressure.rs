//! Backpressure through the tokio adapter: a client that floods reads and does
//! not read the answers is paused, not disconnected, and once it reads it gets
//! every answer; other clients are served meanwhile.

mod support;

use std::time::Duration;

use rumpsp_protocol::net::ServerConfig;
use rumpsp_protocol::{Abi, CopyinKind, CopyinResp, Frame, Message, ServerAddr, SyscallReq};
use rumpsp_sim_kernel::SimConfig;
use support::{Raw, Running};

#[test]
fn a_paused_reader_gets_every_answer_once_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut config = ServerConfig::default();
    config.limits.max_answer = 1 << 20;
    config.limits.output_pause = 64 << 10;
    let server = Running::start(ServerAddr::Unix(path.clone()), SimConfig::default(), config);
    let mut a = Raw::connect(&path).unwrap();
    a.guest();
    let f = a.call(2, 5, &[0x1000, 0x202, 0o644]).unwrap();
    a.send(Frame::new(
        f.header.reqno,
        Message::CopyinResp(CopyinResp {
            label: CopyinKind::Str,
            data: b"/big\0",
        }),
    ));
    let fd = match a.frame().unwrap().frame(Abi::Lp64Le).unwrap().message {
        Message::SyscallResp(r) => r.retval[0] as u64,
        other => panic!("{other:?}"),
    };
    let f = a.call(3, 201, &[fd, 0, 4 << 20]).unwrap();
    assert!(matches!(
        f.frame(Abi::Lp64Le).unwrap().message,
        Message::SyscallResp(r) if r.error == 0
    ));
    let mut burst = Vec::new();
    for r in 0..40u64 {
        let block: Vec<u8> = [fd, 0x10_0000, 1 << 40, 0, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        Frame::new(
            10 + r,
            Message::Syscall(SyscallReq {
                sysnum: 173,
                args: &block,
            }),
        )
        .encode(Abi::Lp64Le, &mut burst);
    }
    std::io::Write::write_all(&mut a.s, &burst).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // another client is served while `a` reads nothing
    let mut b = Raw::connect(&path).unwrap();
    b.guest();
    assert_eq!(b.getpid(2).0, 0);
    // `a` reads: 40 answers of 1 MiB each, nothing lost
    let (mut answers, mut copied) = (0, 0usize);
    while answers < 40 {
        let f = a.frame().expect("an answer");
        match f.frame(Abi::Lp64Le).unwrap().message {
            Message::SyscallResp(r) => {
                assert_eq!((r.error, r.retval[0]), (0, 1 << 20));
                answers += 1;
            }
            Message::Copyout(c) => copied += c.data.len(),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(copied, 40 << 20);
    server.stop();
}

/// A client with `fd` open on `/big` (created `size` bytes long when `create`).
fn open_big(path: &std::path::Path, create: bool, size: u64) -> (Raw, u64) {
    let mut a = Raw::connect(path).unwrap();
    a.guest();
    let flags = if create { 0x202 } else { 0x2 };
    let f = a.call(2, 5, &[0x1000, flags, 0o644]).unwrap();
    a.send(Frame::new(
        f.header.reqno,
        Message::CopyinResp(CopyinResp {
            label: CopyinKind::Str,
            data: b"/big\0",
        }),
    ));
    let fd = match a.frame().unwrap().frame(Abi::Lp64Le).unwrap().message {
        Message::SyscallResp(r) => r.retval[0] as u64,
        other => panic!("{other:?}"),
    };
    if create {
        let f = a.call(3, 201, &[fd, 0, size]).unwrap();
        assert!(matches!(
            f.frame(Abi::Lp64Le).unwrap().message,
            Message::SyscallResp(r) if r.error == 0
        ));
    }
    (a, fd)
}

#[test]
fn over_the_memory_budget_clients_not_reading_are_dropped_and_readers_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut config = ServerConfig::default();
    config.limits.max_answer = 1 << 20;
    config.limits.output_pause = 64 << 10;
    config.limits.max_buffered_total = 3 << 20;
    let server = Running::start(ServerAddr::Unix(path.clone()), SimConfig::default(), config);
    let (_owner, _) = open_big(&path, true, 4 << 20);
    // eight clients each ask for 40 MiB of answers and read none
    let mut flood = Vec::new();
    for _ in 0..8 {
        let (mut a, fd) = open_big(&path, false, 0);
        let mut burst = Vec::new();
        for r in 0..40u64 {
            let block: Vec<u8> = [fd, 0x10_0000, 1 << 20, 0, 0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            Frame::new(
                10 + r,
                Message::Syscall(SyscallReq {
                    sysnum: 173,
                    args: &block,
                }),
            )
            .encode(Abi::Lp64Le, &mut burst);
        }
        std::io::Write::write_all(&mut a.s, &burst).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        flood.push(a);
    }
    // a client that reads is served
    let mut b = Raw::connect(&path).unwrap();
    b.guest();
    assert_eq!(b.getpid(2).0, 0);
    // the first ones fit the budget and get all their answers; the later ones
    // were over it with their output unread: dropped
    let mut complete = Vec::new();
    for a in &mut flood {
        let mut answers = 0;
        while answers < 40 {
            let Some(f) = a.frame() else { break };
            if let Message::SyscallResp(r) = f.frame(Abi::Lp64Le).unwrap().message {
                assert_eq!(r.error, 0);
                answers += 1;
            }
        }
        complete.push(answers == 40);
    }
    assert!(complete[0], "{complete:?}");
    assert!(complete.iter().any(|c| !c), "nobody dropped: {complete:?}");
    server.stop();
}
