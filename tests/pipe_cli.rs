//! Every long-output command, piped into a reader that goes away at once
//! (`rumpsp syscalls | head -0`), ends quietly: no panic, no "Broken pipe"
//! message, exit status 141 (128 + SIGPIPE, as a shell shows a tool ended by it).

mod support;

use std::process::{Command, Stdio};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn rumpsp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rumpsp"))
}

/// Runs `cmd` with stdout (or stderr) a pipe whose reader is closed before
/// the command starts (so even its first write meets EPIPE, however short its
/// output); returns (exit code, what it wrote to the other stream).
fn closed_early(mut cmd: Command, close_stderr: bool) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    if close_stderr {
        cmd.stderr(writer).stdout(Stdio::null());
    } else {
        cmd.stdout(writer).stderr(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    // the parent's copy of the write end went into the Command, dropped with it
    drop(cmd);
    let mut text = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        e.read_to_string(&mut text).unwrap();
    }
    let status = child.wait().unwrap();
    (status.code(), text)
}

fn assert_quiet(what: &str, (code, err): (Option<i32>, String)) {
    assert_eq!(code, Some(141), "{what}: exit {code:?}, stderr {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{what}: {err}"
    );
}

#[test]
fn offline_commands_end_quietly_on_a_closed_stdout() {
    let mut c = rumpsp();
    c.arg("syscalls");
    assert_quiet("syscalls", closed_early(c, false));
    let mut c = rumpsp();
    c.args(["trace", "show"])
        .arg(format!("{ROOT}/conformance/traces/real/bigio.jsonl"));
    assert_quiet("trace show", closed_early(c, false));
    let mut c = rumpsp();
    c.args(["trace", "import", "--stdout"])
        .arg(format!("{ROOT}/conformance/traces/real/bigio.jsonl"));
    assert_quiet("trace import --stdout", closed_early(c, false));
    let mut c = rumpsp();
    c.args(["simulate", "--seeds", "1", "--steps", "20", "--log", "-"]);
    assert_quiet("simulate --log -", closed_early(c, false));
    let mut c = rumpsp();
    c.args(["replay", "-v"])
        .arg(format!("{ROOT}/conformance/corpus/fileops.trace"));
    assert_quiet("replay -v", closed_early(c, false));
}

#[test]
fn a_closed_stderr_ends_quietly_too() {
    let mut c = rumpsp();
    c.args(["simulate", "--seeds", "2", "--steps", "10"]);
    assert_quiet("simulate (stderr)", closed_early(c, true));
}

#[test]
fn tools_end_quietly_on_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::unix_server(dir.path());
    let url = server.addr.to_string();
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'x'; 1 << 20]).unwrap();
    let st = rumpsp()
        .env("RUMP_SERVER", &url)
        .arg("put")
        .arg(&big)
        .arg("/big")
        .status()
        .unwrap();
    assert!(st.success());
    let mut c = rumpsp();
    c.env("RUMP_SERVER", &url).args(["sysctl", "-a"]);
    assert_quiet("sysctl -a", closed_early(c, false));
    let mut c = rumpsp();
    c.env("RUMP_SERVER", &url).args(["cat", "/big"]);
    assert_quiet("cat", closed_early(c, false));
    let mut c = rumpsp();
    c.env("RUMP_SERVER", &url).args(["ls", "-l", "/"]);
    assert_quiet("ls -l", closed_early(c, false));
}
