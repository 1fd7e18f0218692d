//! `rumpsp serve`'s access options as users meet them on the command line.

use std::process::Command;

fn serve(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .arg("serve")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn socket_modes_beyond_0777_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("unix://{}/s", dir.path().display());
    let (ok, err) = serve(&[&url, "--socket-mode", "7777"]);
    assert!(!ok);
    assert!(err.contains("beyond 0777"), "{err}");
    assert!(!dir.path().join("s").exists());
}

#[test]
fn a_wildcard_tcp_address_needs_allow_remote() {
    let (ok, err) = serve(&["tcp://0:0/"]);
    assert!(!ok);
    assert!(err.contains("not a loopback address"), "{err}");
    assert!(err.contains("--allow-remote"), "{err}");
}

#[test]
fn a_short_auth_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    std::fs::write(&key, "short\n").unwrap();
    let url = format!("unix://{}/s", dir.path().display());
    let (ok, err) = serve(&[&url, "--auth-key", key.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("at least 16"), "{err}");
}
