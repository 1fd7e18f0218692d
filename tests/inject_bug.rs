//! `rumpsp serve --inject-bug NAME`: the injected crash takes the process down,
//! and without the flag the same input does not.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn start(dir: &std::path::Path, extra: &[&str]) -> (Child, std::path::PathBuf) {
    let path = dir.join("s.sock");
    let mut args = vec!["serve".to_string(), format!("unix://{}", path.display())];
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .args(&args)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !path.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    (child, path)
}

/// Connects, reads the banner and sends a GUEST handshake with an empty body.
fn send_empty_guest(path: &std::path::Path) {
    let s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut banner = String::new();
    r.read_line(&mut banner).unwrap();
    let mut hdr = Vec::new();
    hdr.extend_from_slice(&24u64.to_le_bytes()); // len: header only
    hdr.extend_from_slice(&1u64.to_le_bytes()); // reqno
    hdr.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // REQ, HANDSHAKE, GUEST
    (&s).write_all(&hdr).unwrap();
}

fn wait(child: &mut Child, bound: Duration) -> Option<std::process::ExitStatus> {
    let t = Instant::now();
    while t.elapsed() < bound {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn guest_empty_aborts_the_server_only_when_injected() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, path) = start(dir.path(), &["--inject-bug", "guest-empty"]);
    send_empty_guest(&path);
    let st = wait(&mut child, Duration::from_secs(10)).expect("the server should have aborted");
    assert_eq!(st.signal(), Some(6), "SIGABRT, got {st:?}");

    let dir = tempfile::tempdir().unwrap();
    let (mut child, path) = start(dir.path(), &[]);
    send_empty_guest(&path);
    assert!(
        wait(&mut child, Duration::from_millis(500)).is_none(),
        "clean server died"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn an_unknown_bug_name_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .args(["serve", "unix:///nonexistent/x", "--inject-bug", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown injected bug"));
}
