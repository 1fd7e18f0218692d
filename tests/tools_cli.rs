//! The client tools (`rumpsp sysctl ls cat put get mkdir rm stat mount halt`)
//! against the simulated server, as a user runs them: NetBSD's output and
//! messages, and one exit-code convention (0 ok, 1 the operation failed,
//! 2 usage or connection).

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

struct Session {
    _dir: tempfile::TempDir,
    _server: support::Running,
    url: String,
}

fn session() -> Session {
    let dir = tempfile::tempdir().unwrap();
    let server = support::unix_server(dir.path());
    let url = server.addr.to_string();
    Session {
        _dir: dir,
        _server: server,
        url,
    }
}

impl Session {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_rumpsp"))
            .env("RUMP_SERVER", &self.url)
            .args(args)
            .output()
            .unwrap()
    }
}

fn text(o: &Output) -> (String, String, Option<i32>) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code(),
    )
}

#[test]
fn sysctl_a_lists_in_mib_order_from_kern_ostype() {
    let s = session();
    let (out, err, code) = text(&s.run(&["sysctl", "-a"]));
    assert_eq!(code, Some(0), "{err}");
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(n, _)| n))
        .collect();
    assert_eq!(names.first(), Some(&"kern.ostype"), "{out}");
    // Depth first: once a subtree is left, none of its names comes back.
    let mut left: Vec<String> = Vec::new();
    let mut prev: Option<&str> = None;
    for n in &names {
        if let Some(p) = prev {
            let pp: Vec<&str> = p.split('.').collect();
            for k in 1..pp.len() {
                let prefix = pp[..k].join(".");
                if !n.starts_with(&format!("{prefix}.")) && !left.contains(&prefix) {
                    left.push(prefix);
                }
            }
        }
        for l in &left {
            assert!(!n.starts_with(&format!("{l}.")), "{n} after leaving {l}");
        }
        prev = Some(n);
    }
    assert!(names.len() > 10, "{out}");
}

#[test]
fn sysctl_n_name_value_and_netbsd_errors() {
    let s = session();
    let (out, _, code) = text(&s.run(&["sysctl", "-n", "kern.ostype", "kern.hostname"]));
    assert_eq!(code, Some(0));
    assert_eq!(out, "NetBSD\nrump-00001.rumpsp\n");
    let (out, _, _) = text(&s.run(&["sysctl", "kern.ostype"]));
    assert_eq!(out, "kern.ostype = NetBSD\n");

    let (_, err, code) = text(&s.run(&["sysctl", "kern.hostname=x"]));
    assert_eq!(code, Some(2));
    assert!(err.contains("Must specify -w to set variables"), "{err}");
    let (out, err, code) = text(&s.run(&["sysctl", "-w", "kern.hostname=box"]));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "kern.hostname: rump-00001.rumpsp -> box\n");
    let (out, _, _) = text(&s.run(&["sysctl", "-n", "kern.hostname"]));
    assert_eq!(out, "box\n");

    let (_, err, code) = text(&s.run(&["sysctl", "kern.nosuch"]));
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "sysctl: second level name 'nosuch' in 'kern.nosuch' is invalid\n"
    );
    let (_, err, _) = text(&s.run(&["sysctl", "nosuch"]));
    assert_eq!(
        err,
        "sysctl: top level name 'nosuch' in 'nosuch' is invalid\n"
    );
    let (_, err, _) = text(&s.run(&["sysctl", "kern.ostype.x"]));
    assert_eq!(
        err,
        "sysctl: third level name 'x' in 'kern.ostype.x' is invalid\n"
    );
    let (_, err, code) = text(&s.run(&["sysctl", "-w", "kern.rawpartition=abc"]));
    assert_eq!(code, Some(1));
    // sbin/sysctl/sysctl.c write_number: sysctlperror("%s: not a number\n", value)
    assert_eq!(err, "sysctl: abc: not a number\n");
}

#[test]
fn ls_hides_dot_files_without_a_and_prints_a_total() {
    let s = session();
    for d in ["/d", "/d/sub", "/d/.hidden"] {
        assert_eq!(s.run(&["mkdir", d]).status.code(), Some(0));
    }
    let (out, _, code) = text(&s.run(&["ls", "/d"]));
    assert_eq!(code, Some(0));
    assert_eq!(out, "sub\n");
    // -a shows what the directory lists: rumpfs (the root file system)
    // lists no "." or ".." (rump_vop_readdir), so neither does ls there.
    let (out, _, _) = text(&s.run(&["ls", "-a", "/d"]));
    assert_eq!(out, ".hidden\nsub\n");
    let (out, _, _) = text(&s.run(&["ls", "-l", "/d"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("total "), "{out}");
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[1].starts_with('d') && lines[1].ends_with(" sub"),
        "{out}"
    );
    let (out, _, _) = text(&s.run(&["ls", "/d", "/d/sub"]));
    assert_eq!(out, "/d:\nsub\n\n/d/sub:\n");
    assert_eq!(
        s.run(&["put", "/dev/null", "/d/file"]).status.code(),
        Some(0)
    );
    let (out, _, _) = text(&s.run(&["ls", "/d/sub", "/d/file"]));
    assert_eq!(out, "/d/file\n\n/d/sub:\n");
    let (_, err, code) = text(&s.run(&["ls", "/nosuch", "/d"]));
    assert_eq!(code, Some(1));
    assert_eq!(err, "ls: /nosuch: No such file or directory\n");
}

#[test]
fn mkdir_p_fails_on_a_non_directory() {
    let s = session();
    let mut put = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .env("RUMP_SERVER", &s.url)
        .args(["put", "-", "/f"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    put.stdin
        .take()
        .unwrap()
        .write_all(b"from stdin\n")
        .unwrap();
    assert!(put.wait().unwrap().success());
    let (out, _, _) = text(&s.run(&["cat", "/f"]));
    assert_eq!(out, "from stdin\n");
    let (out, _, code) = text(&s.run(&["get", "/f", "-"]));
    assert_eq!(
        (out.as_str(), code),
        ("from stdin\n", Some(0)),
        "get - writes stdout"
    );

    let (_, err, code) = text(&s.run(&["mkdir", "-p", "/f"]));
    assert_eq!(code, Some(1));
    assert_eq!(err, "mkdir: /f: Not a directory\n");
    let (_, err, code) = text(&s.run(&["mkdir", "-p", "/f/x"]));
    assert_eq!(code, Some(1));
    assert_eq!(err, "mkdir: /f: Not a directory\n");
    assert_eq!(s.run(&["mkdir", "-p", "/a/b/c"]).status.code(), Some(0));
    assert_eq!(s.run(&["mkdir", "-p", "/a/b"]).status.code(), Some(0));
    let (_, err, code) = text(&s.run(&["mkdir", "/a"]));
    assert_eq!(code, Some(1));
    assert_eq!(err, "mkdir: /a: File exists\n");
}

#[test]
fn rm_and_rm_f_speak_netbsd() {
    let s = session();
    assert_eq!(s.run(&["mkdir", "-p", "/d/e"]).status.code(), Some(0));
    let (_, err, code) = text(&s.run(&["rm", "/d"]));
    assert_eq!(code, Some(1));
    assert_eq!(err, "rm: /d: is a directory\n");
    let (_, err, code) = text(&s.run(&["rm", "/nosuch"]));
    assert_eq!(code, Some(1));
    assert_eq!(err, "rm: /nosuch: No such file or directory\n");
    let (_, err, code) = text(&s.run(&["rm", "-f", "/nosuch"]));
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert_eq!(s.run(&["rm", "-r", "/d"]).status.code(), Some(0));
    assert_eq!(s.run(&["stat", "/d"]).status.code(), Some(1));
}

#[test]
fn exit_codes_0_ok_1_failed_2_usage_or_connection() {
    let s = session();
    assert_eq!(s.run(&["mkdir", "/d"]).status.code(), Some(0));
    let (_, err, code) = text(&s.run(&["cat", "/d"]));
    assert_eq!(code, Some(1));
    assert_eq!(err, "cat: /d: Is a directory\n");
    let (_, err, code) = text(&s.run(&["cat", "/missing"]));
    assert_eq!(code, Some(1));
    assert_eq!(err, "cat: /missing: No such file or directory\n");
    assert_eq!(s.run(&["ls", "-z"]).status.code(), Some(2));
    let gone = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .args(["ls", "--server", "unix:///nonexistent/rump.sock"])
        .output()
        .unwrap();
    let (_, err, code) = text(&gone);
    assert_eq!(code, Some(2));
    assert!(err.contains("unix:///nonexistent/rump.sock"), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

#[test]
fn halt_flags_match_rump_halt() {
    let s = session();
    let (help, _, code) = text(&s.run(&["halt", "--help"]));
    assert_eq!(code, Some(0));
    let shorts = |f: &str| {
        help.lines()
            .filter(|l| l.trim_start().starts_with(f))
            .count()
    };
    assert_eq!(shorts("-h"), 1, "{help}");
    assert_eq!(shorts("-d"), 1, "{help}");
    assert!(
        help.contains("RB_HALT") && help.contains("RB_DUMP"),
        "{help}"
    );
    let (_, err, code) = text(&s.run(&["halt", "-h"]));
    assert_eq!(code, Some(0), "{err}");
    // The server stopped: the next tool cannot connect.
    let mut gone = false;
    for _ in 0..50 {
        if s.run(&["ls"]).status.code() == Some(2) {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(gone, "the server still serves after halt -h");
}

#[test]
fn global_options_are_only_where_they_mean_something() {
    for sub in ["serve", "simulate", "syscalls", "record"] {
        let out = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
            .args([sub, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(!help.contains("--server "), "{sub} --help: {help}");
    }
    for sub in ["ls", "conformance", "replay", "bench"] {
        let out = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
            .args([sub, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("--server <URL>"), "{sub} --help: {help}");
    }
}

#[test]
fn replay_uses_rump_server_and_names_it() {
    let s = session();
    let trace = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conformance/corpus/getpid.trace"
    );
    let (out, _, _) = text(&s.run(&["replay", trace]));
    assert!(out.lines().next().unwrap_or("").contains(&s.url), "{out}");
    let plain = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .env_remove("RUMP_SERVER")
        .args(["replay", trace])
        .output()
        .unwrap();
    let (out, _, _) = text(&plain);
    assert!(out.contains("against the simulated kernel"), "{out}");
}

/// sysctl -a prints what NetBSD's sysctl(8) prints for the special nodes
/// (sbin/sysctl/sysctl.c handlers): kern.clockrate by kern_clockrate,
/// RLIM_INFINITY limits as `unlimited` (proc_limit), and nothing for the
/// nodes printother serves (kern.msgbuf, kern.pool's struct, kern.proc…),
/// which named print a hint on standard error instead.
#[test]
fn sysctl_a_prints_special_nodes_as_sysctl8_does() {
    let s = session();
    let (out, err, code) = text(&s.run(&["sysctl", "-a"]));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains(
            "kern.clockrate: tick = 10000, tickadj = 40, hz = 100, profhz = 1, stathz = 1\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("proc.curproc.rlimit.cputime.soft = unlimited\n"),
        "{out}"
    );
    for hidden in [
        "kern.msgbuf ",
        "kern.pool ",
        "kern.evcnt ",
        "hw.iostats ",
        "kern.file ",
    ] {
        assert!(!out.contains(hidden), "{hidden}in {out}");
    }
    assert!(!out.contains("bytes)"), "no struct is dumped: {out}");
    let (out, err, _) = text(&s.run(&["sysctl", "kern.msgbuf"]));
    assert_eq!(out, "");
    assert_eq!(
        err,
        "sysctl: kern.msgbuf: use 'dmesg' to view this information\n"
    );
}
