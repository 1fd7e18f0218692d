//! Command-line messages name the thing and the value and say their cause
//! once; no ANSI colour codes go into a pipe.

use std::process::Command;

fn rumpsp(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .env_remove("RUMP_SERVER")
        .env("RUMPSP_LOG", "info")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_listen_failure_says_its_cause_once() {
    let (code, err) = rumpsp(&["serve", "unix:///nonexistent-dir/y.sock"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unix:///nonexistent-dir/y.sock"), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

#[test]
fn a_unix_url_without_a_file_name_is_named() {
    let (code, err) = rumpsp(&["serve", "unix://"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("\"unix://\"") && err.contains("needs a socket file name"),
        "{err}"
    );
    assert!(!err.contains("exists and is not a socket"), "{err}");
}

#[test]
fn a_url_typo_is_not_an_unreachable_kernel() {
    let (code, err) = rumpsp(&["ls", "--server", "tcp:/127.0.0.1:1"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("invalid server URL \"tcp:/127.0.0.1:1\""),
        "{err}"
    );
    assert!(!err.contains("cannot reach"), "{err}");
}

#[test]
fn no_ansi_codes_in_a_pipe() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    // info-level logging on: the log line "listening" is written to stderr (a pipe here)
    let url = format!("unix://{}", dir.path().join("s.sock").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .env("RUMPSP_LOG", "info")
        .args(["serve", &url])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr until the "listening" line (the socket file can appear
    // before it is logged), then stop the server and read the rest.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("listening") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let _ = rx.recv_timeout(std::time::Duration::from_secs(30));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let err = reader.join().unwrap();
    assert!(err.contains("listening"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn a_truncated_capture_or_trace_is_reported_as_such_and_never_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conformance/traces/real/fileops.jsonl"
    ))
    .unwrap();
    let half = &real[..real.len() / 2];
    let cap = dir.path().join("half.jsonl");
    std::fs::write(&cap, half).unwrap();
    let cap_s = cap.to_str().unwrap();
    let (code, err) = rumpsp(&["trace", "show", cap_s]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(cap_s) && err.contains("truncated capture") && err.contains("line "),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .args(["replay", cap_s])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{err}");
    assert!(err.contains("truncated capture"), "{err}");
    assert!(!stdout.contains("expected"), "{stdout}");

    let trace = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conformance/corpus/fileops.trace"
    ))
    .unwrap();
    let t = dir.path().join("half.trace");
    std::fs::write(&t, &trace[..trace.len() / 2]).unwrap();
    let (code, err) = rumpsp(&["replay", t.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("half.trace") && err.contains("line "), "{err}");
    let g = dir.path().join("garbage.trace");
    std::fs::write(&g, "garbage\n").unwrap();
    let (code, err) = rumpsp(&["replay", g.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(!err.contains("not a JSON object"), "{err}");
}

#[test]
fn conformance_uses_rump_server_when_no_server_is_given() {
    let out = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .env("RUMP_SERVER", "unix:///nonexistent-dir/rump.sock")
        .args(["conformance", "trace/getpid"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("unix:///nonexistent-dir/rump.sock"), "{err}");
}

#[test]
fn an_unreachable_kernel_names_its_url_once() {
    let (code, err) = rumpsp(&["ls", "--server", "unix:///nonexistent-dir/rump.sock"]);
    assert_eq!(code, Some(2));
    assert_eq!(
        err.matches("unix:///nonexistent-dir/rump.sock").count(),
        1,
        "{err}"
    );
    assert!(err.contains("cannot reach the rump kernel"), "{err}");
}
