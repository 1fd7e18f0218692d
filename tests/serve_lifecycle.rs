//! The server's lifecycle and concurrency over real sockets: unix socket
//! permissions and replacement, shutdown by signal, many clients, blocked
//! calls, clients that never answer a COPYIN or never read.

mod support;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rumpsp_protocol::net::ServerConfig;
use rumpsp_protocol::{Abi, CopyinKind, CopyinResp, Frame, Message, ServerAddr};
use rumpsp_sim_kernel::SimConfig;
use support::{Raw, Running};

#[test]
fn unix_socket_is_0600_and_removed_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::unix_server(dir.path());
    let path = dir.path().join("rump.sock");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    server.stop();
    assert!(!path.exists());
}

#[test]
fn a_leftover_socket_is_replaced_and_a_live_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rump.sock");
    // a socket file with nobody listening
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = Running::start(
        ServerAddr::Unix(path.clone()),
        SimConfig::default(),
        ServerConfig::default(),
    );
    let mut c = Raw::connect(&path).unwrap();
    c.guest();
    // a second server on the live socket fails
    let out = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .args(["serve", &format!("unix://{}", path.display())])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already listening"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop();
}

#[test]
fn sigterm_stops_the_binary_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .args(["serve", &format!("unix://{}", path.display())])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !path.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut c = Raw::connect(&path).unwrap();
    c.guest();
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(!path.exists(), "socket file removed");
    // the client sees the connection end
    assert!(c.frame().is_none());
}

#[test]
fn many_clients_and_a_blocked_read_that_blocks_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::unix_server(dir.path());
    let path = dir.path().join("rump.sock");
    let mut a = Raw::connect(&path).unwrap();
    a.guest();
    // pipe: fds 3 (read) and 4 (write)
    let f = a.call(2, 42, &[]).unwrap();
    let Ok(Message::SyscallResp(r)) = f.frame(Abi::Lp64Le).map(|x| x.message) else {
        panic!()
    };
    assert_eq!(r.retval, [3, 4]);
    // a blocked read on the empty pipe...
    let block: Vec<u8> = [3u64, 0x5000, 8]
        .iter()
        .flat_map(|a| a.to_le_bytes())
        .collect();
    a.send(Frame::new(
        3,
        Message::Syscall(rumpsp_protocol::SyscallReq {
            sysnum: 3,
            args: &block,
        }),
    ));
    // ...does not stop 50 other clients
    let clients: Vec<_> = (0..50)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut c = Raw::connect(&path).unwrap();
                c.guest();
                for i in 0..20 {
                    assert_eq!(c.getpid(2 + i).0, 0);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    // nor other calls on the same connection (a multithreaded client)
    assert_eq!(a.getpid(4).0, 0);
    // the write end completes the read: COPYIN for the write, then the read's COPYOUT + answer
    let w: Vec<u8> = [4u64, 0x6000, 2]
        .iter()
        .flat_map(|a| a.to_le_bytes())
        .collect();
    a.send(Frame::new(
        5,
        Message::Syscall(rumpsp_protocol::SyscallReq {
            sysnum: 4,
            args: &w,
        }),
    ));
    let req = a.frame().unwrap();
    a.send(Frame::new(
        req.header.reqno,
        Message::CopyinResp(CopyinResp {
            label: CopyinKind::Bytes,
            data: b"hi",
        }),
    ));
    let mut answered = Vec::new();
    while answered.len() < 2 {
        let f = a.frame().expect("answers");
        if let Ok(Message::SyscallResp(r)) = f.frame(Abi::Lp64Le).map(|x| x.message) {
            answered.push((f.header.reqno, r.error, r.retval[0]));
        }
    }
    answered.sort();
    assert_eq!(answered, [(3, 0, 2), (5, 0, 2)]);
    server.stop();
}

#[test]
fn a_client_that_never_answers_a_copyin_gets_efault_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sock");
    let config = ServerConfig {
        copyin_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let server = Running::start(ServerAddr::Unix(path.clone()), SimConfig::default(), config);
    let mut silent = Raw::connect(&path).unwrap();
    silent.guest();
    // open("/...") asks for the path; we never answer
    let req = silent.call(2, 5, &[0x1000, 0, 0]).unwrap();
    assert_eq!(req.header.ty, 3, "COPYINSTR");
    let mut other = Raw::connect(&path).unwrap();
    other.guest();
    assert_eq!(other.getpid(2).0, 0, "another client is served meanwhile");
    let f = silent.frame().expect("an answer after the timeout");
    let Ok(Message::SyscallResp(r)) = f.frame(Abi::Lp64Le).map(|x| x.message) else {
        panic!()
    };
    assert_eq!(r.error, 14, "EFAULT");
    server.stop();
}

#[test]
fn a_client_that_stops_reading_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sock");
    let mut config = ServerConfig::default();
    config.limits.max_pending_output = 256 * 1024;
    let server = Running::start(ServerAddr::Unix(path.clone()), SimConfig::default(), config);
    let mut c = Raw::connect(&path).unwrap();
    c.guest();
    // flood getpid requests without reading a single answer
    let one = Frame::new(
        9,
        Message::Syscall(rumpsp_protocol::SyscallReq {
            sysnum: 20,
            args: &[],
        }),
    )
    .to_vec(Abi::Lp64Le);
    let burst: Vec<u8> = one.iter().copied().cycle().take(one.len() * 4096).collect();
    c.s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let mut cut = false;
    while t.elapsed() < Duration::from_secs(20) {
        if c.s.write_all(&burst).is_err() {
            cut = true;
            break;
        }
    }
    assert!(
        cut,
        "the server kept the connection of a client that never reads"
    );
    // everyone else is fine
    let mut d = Raw::connect(&path).unwrap();
    d.guest();
    assert_eq!(d.getpid(2).0, 0);
    let mut rest = Vec::new();
    let _ = c.s.read_to_end(&mut rest);
    let _ = c.s.flush();
    server.stop();
}
