//! `rumpsp fuzz` against `rumpsp serve` with each injected bug
//! (protocol/src/server/inject.rs): the bug is found, the input is cut down
//! to a few operations, and its capture replays the bug with --reproduce and
//! does not against a server without the bug. Against a server without bugs,
//! a run finds nothing.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_rumpsp");

fn serve(bug: Option<&str>) -> String {
    match bug {
        Some(b) => format!("{BIN} serve {{url}} --inject-bug {b}"),
        None => format!("{BIN} serve {{url}}"),
    }
}

fn fuzz(server_cmd: &str, extra: &[&str], dir: &Path) -> (i32, serde_json::Value, String) {
    let json = dir.join("report.json");
    let out = Command::new(BIN)
        .args([
            "fuzz",
            "--server-cmd",
            server_cmd,
            "--seed",
            "1",
            "--hang-ms",
            "3000",
            "--out",
        ])
        .arg(dir.join("findings"))
        .arg("--json")
        .arg(&json)
        .args(extra)
        .output()
        .expect("rumpsp fuzz runs");
    let report = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), report, text)
}

fn reproduce(server_cmd: &str, file: &str) -> (i32, String) {
    let out = Command::new(BIN)
        .args([
            "fuzz",
            "--server-cmd",
            server_cmd,
            "--hang-ms",
            "3000",
            "--reproduce",
            file,
        ])
        .output()
        .expect("rumpsp fuzz --reproduce runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn finds(bug: &str, kind: &str) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cmd = serve(Some(bug));
    let (code, report, text) = fuzz(&cmd, &["--time", "240", "--stop-on-finding"], dir.path());
    assert_eq!(code, 1, "{bug}: a finding makes exit status 1\n{text}");
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let f = findings
        .iter()
        .find(|f| f["kind"] == kind)
        .unwrap_or_else(|| panic!("{bug}: no {kind} finding\n{text}"));
    let ops = f["operations"].as_array().map_or(0, Vec::len);
    assert!(
        (1..=4).contains(&ops),
        "{bug}: minimised to {ops} operations\n{text}"
    );
    let file = f["file"].as_str().expect("the finding's file");
    let (code, said) = reproduce(&cmd, file);
    assert_eq!(code, 1, "{bug}: the capture replays the bug: {said}");
    assert!(said.contains("reproduced"), "{said}");
    let (code, said) = reproduce(&serve(None), file);
    assert_eq!(
        code, 0,
        "{bug}: a server without the bug passes its capture: {said}"
    );
}

#[test]
fn finds_the_guest_handshake_with_an_empty_body() {
    finds("guest-empty", "crash");
}

#[test]
fn finds_sysnum_all_ones() {
    finds("sysnum-ffffffff", "crash");
}

#[test]
fn finds_a_high_sysnum() {
    finds("sysnum-80000000", "crash");
}

#[test]
fn finds_open_with_an_empty_argument_block() {
    finds("open-empty-args", "crash");
}

#[test]
fn finds_a_copyin_answered_with_no_bytes() {
    finds("copyin-empty", "crash");
}

#[test]
fn finds_a_read_of_nothing_that_never_returns() {
    finds("hang-read0", "hang");
}

#[test]
fn finds_a_request_answered_twice() {
    finds("double-answer", "double-answer");
}

#[test]
fn a_server_without_bugs_shows_no_finding() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (code, report, text) = fuzz(
        &serve(None),
        &["--runs", "300", "--time", "240"],
        dir.path(),
    );
    assert_eq!(
        report["findings"].as_array().map_or(99, Vec::len),
        0,
        "{text}"
    );
    assert_eq!(code, 0, "{text}");
    assert!(report["runs"].as_u64().unwrap_or(0) >= 300, "{text}");
}

#[test]
fn a_url_server_and_bad_arguments_are_named() {
    let out = Command::new(BIN)
        .args(["fuzz", "--time", "1"])
        .output()
        .expect("rumpsp fuzz runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--server-cmd"));
    let out = Command::new(BIN)
        .args([
            "fuzz",
            "--server",
            "unix:///nonexistent/rump.sock",
            "--time",
            "1",
        ])
        .output()
        .expect("rumpsp fuzz runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not serve"));
    let out = Command::new(BIN)
        .args(["fuzz", "--server", "unix:///x.sock", "--jobs", "2"])
        .output()
        .expect("rumpsp fuzz runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--jobs 2 needs --server-cmd"));
}

/// `rumpsp conformance --catalog-extra DIR` runs findings as catalogue cases:
/// a server without the bugs passes them, one with a bug fails its case.
#[test]
fn conformance_runs_findings_as_catalogue_cases() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fuzz-findings");
    let run = |extra: &[&str]| {
        let out = Command::new(BIN)
            .args(["conformance", "handshake/1", "--catalog-extra", dir])
            .args(extra)
            .output()
            .expect("rumpsp conformance runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = run(&[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("finding/guest-empty-crash") && text.contains("catalog: 3 run, 3 pass"),
        "{text}"
    );
    for (bug, case) in [
        ("guest-empty", "finding/guest-empty-crash"),
        ("double-answer", "finding/double-answer"),
    ] {
        let cmd = serve(Some(bug));
        let (code, text) = run(&["--server-cmd", &cmd]);
        assert_eq!(code, 1, "{bug}: {text}");
        let line = text
            .lines()
            .find(|l| l.starts_with(case))
            .unwrap_or_default();
        assert!(line.contains("fail"), "{bug}: {line}\n{text}");
    }
}
