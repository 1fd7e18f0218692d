//! `rumpsp conformance` as CI users run it: selection, --list, --json,
//! --junit, --server-cmd, and the exit codes (0 pass, 1 failures, 2 harness error).

use std::process::Command;

fn rumpsp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rumpsp"))
}

#[test]
fn list_shows_selection_minus_exclusions() {
    let out = rumpsp()
        .args([
            "conformance",
            "--list",
            "frame",
            "trace/getpid",
            "--exclude",
            "frame/3",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("frame/1 "), "{text}");
    assert!(text.contains("trace/getpid"), "{text}");
    assert!(!text.contains("frame/3 "), "{text}");
    assert!(!text.contains("handshake/"), "{text}");
}

#[test]
fn json_and_junit_reports_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let out = rumpsp()
        .args([
            "conformance",
            "--json",
            "--strict",
            "catalog",
            "trace/fork",
            "--junit",
        ])
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed"], 0);
    assert_eq!(v["passed"], 43);
    assert_eq!(v["strict"], true);
    assert_eq!(v["suites"]["catalog"]["passed"], 42);
    assert_eq!(v["suites"]["real"]["run"], 1);
    assert!(v["suites"].get("regression").is_none());
    assert_eq!(v["server"], "the simulated server (in-process)");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<testsuite name="catalog" tests="42""#),
        "{xml}"
    );
    assert!(xml.contains(r#"<testcase name="copyin/2""#), "{xml}");
}

#[test]
fn failures_exit_1_with_expected_and_actual() {
    // A corpus whose getpid recording claims the call failed with EINVAL.
    let dir = tempfile::tempdir().unwrap();
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance/traces/real/getpid.jsonl");
    let text = std::fs::read_to_string(real).unwrap();
    // header (len 48, reqno 2, RESP/SYSCALL), then the errno slot
    let resp = "3000000000000000020000000000000001000100000000000000000016";
    assert!(text.contains(resp));
    let tampered = text.replacen(
        resp,
        "3000000000000000020000000000000001000100000000001600000016",
        1,
    );
    std::fs::write(dir.path().join("getpid.jsonl"), tampered).unwrap();
    let junit = dir.path().join("report.xml");
    let out = rumpsp()
        .args(["conformance", "corpus", "--corpus"])
        .arg(dir.path())
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("expected: error=EINVAL (22)"), "{text}");
    assert!(text.contains("errno: expected EINVAL (22) got 0"), "{text}");
    assert!(text.contains("actual:   error=0"), "{text}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure"), "{xml}");
}

#[test]
fn fresh_servers_from_a_command_pass() {
    let exe = env!("CARGO_BIN_EXE_rumpsp");
    let out = rumpsp()
        .args([
            "conformance",
            "--strict",
            "handshake",
            "syscall/2",
            "copyin/2",
            "trace/fileops",
            "--server-cmd",
        ])
        .arg(format!("{exe} serve {{url}} --hostname {{hostname}}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("catalog: 11 run, 11 pass, 0 fail"), "{text}");
}

#[test]
fn harness_errors_exit_2() {
    let out = rumpsp()
        .args(["conformance", "no-such-case"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing selected"));
    let out = rumpsp()
        .args(["conformance", "--server", "unix:///nonexistent/rump.sock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not serve a client"));
    let out = rumpsp()
        .args(["conformance", "--server", "bogus://x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_server_command_that_never_serves_exits_2_but_a_wrong_server_exits_1() {
    // `false` exits at once: nothing was judged, the harness could not run.
    let out = rumpsp()
        .args(["conformance", "--server-cmd", "false", "trace/getpid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"false\" never accepted a connection"),
        "{err}"
    );
    // A server that serves but answers wrongly is a verdict: exit 1.
    let exe = env!("CARGO_BIN_EXE_rumpsp");
    let out = rumpsp()
        .args([
            "conformance",
            "--mutant",
            "errno-change",
            "--server-cmd",
            &format!("{exe} serve {{url}}"),
            "trace/enoent",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn suites_are_reported_apart_and_differential_runs_by_default() {
    let out = rumpsp().args(["conformance"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("real: 17 run, 17 pass, 0 fail"), "{text}");
    assert!(
        text.contains("regression: 17 run, 17 pass, 0 fail"),
        "{text}"
    );
    assert!(text.contains("catalog: 42 run, 42 pass, 0 fail"), "{text}");
    assert!(
        text.contains("differential: 200 run, 200 pass, 0 fail"),
        "{text}"
    );
    assert!(
        text.contains("against the simulated server (in-process)"),
        "{text}"
    );
    let out = rumpsp()
        .args(["conformance", "--list", "differential"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 200, "{text}");
    assert!(text.lines().all(|l| l.contains(" differential ")), "{text}");
    let out = rumpsp()
        .args(["conformance", "--list", "regression"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 17, "{text}");
    assert!(text.lines().all(|l| l.starts_with("trace/own_")), "{text}");
}

#[test]
fn a_mutant_fails_verdicts_and_a_control_passes() {
    // a broken getpid: every case still gets a verdict (exit 1, not 2)
    let out = rumpsp()
        .args([
            "conformance",
            "--mutant",
            "getpid-broken",
            "handshake",
            "trace/getpid",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("catalog: 9 run, 0 pass, 9 fail"), "{text}");
    assert!(text.contains("through mutation getpid-broken"), "{text}");
    let out = rumpsp()
        .args(["conformance", "--mutant", "retval-12345", "catalog"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = rumpsp()
        .args(["conformance", "--mutant", "control-padding"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let out = rumpsp()
        .args(["conformance", "--mutant", "no-such-bug"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_shared_server_runs_what_it_can_and_lists_the_skips() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("unix://{}", dir.path().join("rump.sock").display());
    let mut server = rumpsp().args(["serve", &url]).spawn().unwrap();
    let t = std::time::Instant::now();
    while !dir.path().join("rump.sock").exists() && t.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = rumpsp()
        .args(["conformance", "--server", &url])
        .output()
        .unwrap();
    let alive = server.try_wait().unwrap().is_none();
    let _ = server.kill();
    let _ = server.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        alive,
        "the reboot trace must not run without --allow-reboot"
    );
    assert!(
        text.contains("trace/reboot") && text.contains("skipped: it reboots the server"),
        "{text}"
    );
    assert!(text.contains("skipped: it calls __mount50"), "{text}");
    assert!(text.contains(" skipped"), "{text}");
    assert!(text.contains(&format!("against {url}")), "{text}");
}

#[test]
fn the_net_suite_runs_when_selected_each_capture_on_a_kernel_with_its_components() {
    // Not part of the default run while nofs_fstypes keeps failing steps.
    let out = rumpsp().args(["conformance", "--list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("trace/net_local"), "{text}");
    let out = rumpsp().args(["conformance", "net"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("net: 6 run, 5 pass, 1 fail"), "{text}");
    assert!(
        text.contains("trace/nofs_fstypes                 fail"),
        "{text}"
    );
    // A spawned server gets the recording's components through {components} ...
    let exe = env!("CARGO_BIN_EXE_rumpsp");
    let with = format!("{exe} serve {{url}} --hostname {{hostname}} --components {{components}}");
    let out = rumpsp()
        .args([
            "conformance",
            "--server-cmd",
            &with,
            "trace/net_local",
            "trace/fifo",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("net: 2 run, 2 pass, 0 fail"), "{text}");
    // ... and without it a capture that needs other components is skipped, saying why.
    let without = format!("{exe} serve {{url}}");
    let out = rumpsp()
        .args(["conformance", "--server-cmd", &without, "trace/net_local"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "needs the kernel components vfs,tmpfs,net,local; --server-cmd has no {components}"
        ),
        "{text}"
    );
}
