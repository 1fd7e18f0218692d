//! `rumpsp serve` prints one line when it stops: why, and how many
//! connections it served.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn serve(path: &std::path::Path) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .args(["serve", &format!("unix://{}", path.display())])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !path.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn tool(path: &std::path::Path, args: &[&str]) {
    let st = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .env("RUMP_SERVER", format!("unix://{}", path.display()))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(0), "{args:?}");
}

fn last_line(mut child: Child) -> String {
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(child.wait().unwrap().success(), "{err}");
    err.lines().last().unwrap_or("").to_owned()
}

#[test]
fn a_signal_stop_says_so_and_counts_the_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    let child = serve(&path);
    tool(&path, &["ls", "/"]);
    tool(&path, &["sysctl", "kern.ostype"]);
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    assert_eq!(
        last_line(child),
        "rumpsp: stopped by a signal (SIGINT or SIGTERM); served 2 connections"
    );
}

#[test]
fn a_reboot_stop_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    let child = serve(&path);
    tool(&path, &["halt"]);
    assert_eq!(
        last_line(child),
        "rumpsp: stopped: a client rebooted the kernel; served 1 connection"
    );
}
