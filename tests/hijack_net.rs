//! Issue 18 end to end: `rumpsp run --sockets inet` runs an unmodified
//! `python3 -m http.server` in one process and `python3 urllib` and `curl`
//! in others, all talking TCP over the simulated kernel's loopback (started
//! here as `rumpsp serve --components vfs,tmpfs,net,local,inet`). The served
//! directory is a host directory. Checks the bytes received, that the
//! server logged each request, that the host never had the port (a host
//! connect is refused), and that without `--sockets` the same curl does not
//! reach the server. Needs python3 and curl (the test says so and passes
//! without them); builds `librumpsp_hijack.so` with cargo if it is missing.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The rumpsp binary under test.
fn rumpsp() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rumpsp"))
}

/// The hijacking library beside the binary, built now if missing (same profile).
fn hijack_lib() -> PathBuf {
    let dir = rumpsp().parent().expect("binary directory").to_path_buf();
    let lib = dir.join("librumpsp_hijack.so");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "rumpsp-hijack"]);
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let st = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("running cargo build -p rumpsp-hijack");
    assert!(st.success(), "cargo build -p rumpsp-hijack failed");
    assert!(lib.is_file(), "{} was not built", lib.display());
    lib
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Kills the child when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd` to its end, waiting at most `limit` (then kills it and fails, naming `what`).
fn run_bounded(mut cmd: Command, limit: Duration, what: &str) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let ro = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let re = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: ro.join().unwrap_or_default(),
        stderr: re.join().unwrap_or_default(),
    }
}

/// Waits until `cond` holds, at most `limit`, else fails with `what`.
fn wait_for(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "{what} (waited {limit:?})");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A port nothing on the host listens on (bound once, then let go).
fn free_host_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("host bind");
    l.local_addr().expect("local addr").port()
}

/// Deterministic file contents of `n` bytes (larger than the socket buffers).
fn contents(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn run_cmd(lib: &Path, server: &str, sockets: Option<&str>, argv: &[&str]) -> Command {
    let mut c = Command::new(rumpsp());
    c.arg("run")
        .arg("--server")
        .arg(server)
        .arg("--lib")
        .arg(lib);
    if let Some(s) = sockets {
        c.arg("--sockets").arg(s);
    }
    c.arg("--").args(argv);
    c.env("PYTHONUNBUFFERED", "1");
    c
}

#[test]
fn http_server_and_clients_over_the_rump_kernels_loopback() {
    if !have("python3") || !have("curl") {
        eprintln!("hijack_net: python3 or curl is not installed; nothing to run");
        return;
    }
    let lib = hijack_lib();
    let tmp = tempfile::tempdir().expect("tempdir");
    let sock = tmp.path().join("rump.sock");
    let url = format!("unix://{}", sock.display());
    let www = tmp.path().join("www");
    std::fs::create_dir(&www).expect("mkdir www");
    let big = contents(300_000);
    std::fs::write(www.join("big.bin"), &big).expect("write big.bin");
    std::fs::write(www.join("hello.txt"), b"hello over the rump kernel\n").expect("write");

    let _serve = Killed(
        Command::new(rumpsp())
            .args(["serve", &url, "--components", "vfs,tmpfs,net,local,inet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rumpsp serve"),
    );
    wait_for(
        Duration::from_secs(30),
        "rumpsp serve made no socket",
        || sock.exists(),
    );

    let port = free_host_port();
    let port_s = port.to_string();
    let log = tmp.path().join("http.log");
    let logf = std::fs::File::create(&log).expect("log file");
    let mut srv = run_cmd(
        &lib,
        &url,
        Some("inet"),
        &[
            "python3",
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port_s,
            "--directory",
            www.to_str().expect("utf-8 path"),
        ],
    );
    let _http = Killed(
        srv.stdout(logf.try_clone().expect("dup log"))
            .stderr(logf)
            .spawn()
            .expect("start http.server"),
    );
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for(
        Duration::from_secs(60),
        "python3 -m http.server under rumpsp run never said it was serving",
        || log_text().contains("Serving HTTP on 127.0.0.1"),
    );

    // python3 urllib in another process
    let py = format!(
        "import sys, urllib.request\n\
         sys.stdout.buffer.write(urllib.request.urlopen('http://127.0.0.1:{port}/big.bin', timeout=60).read())"
    );
    let out = run_bounded(
        run_cmd(&lib, &url, Some("inet"), &["python3", "-c", &py]),
        Duration::from_secs(120),
        "urllib client",
    );
    assert!(
        out.status.success(),
        "urllib client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), big.len(), "urllib: length");
    assert!(out.stdout == big, "urllib: the bytes differ");

    // curl in a third
    let target = format!("http://127.0.0.1:{port}/hello.txt");
    let out = run_bounded(
        run_cmd(
            &lib,
            &url,
            Some("inet"),
            &["curl", "-sS", "--max-time", "60", &target],
        ),
        Duration::from_secs(120),
        "curl client",
    );
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello over the rump kernel\n");
    let target = format!("http://127.0.0.1:{port}/big.bin");
    let out = run_bounded(
        run_cmd(
            &lib,
            &url,
            Some("inet"),
            &["curl", "-sS", "--max-time", "60", &target],
        ),
        Duration::from_secs(120),
        "curl client (big.bin)",
    );
    assert!(out.status.success(), "curl big.bin failed");
    assert!(out.stdout == big, "curl: the bytes of big.bin differ");

    // the server saw the three requests
    wait_for(
        Duration::from_secs(30),
        "the http.server log lacks the three GET lines",
        || {
            let t = log_text();
            t.matches("\"GET /big.bin HTTP/1.1\" 200").count() == 2
                && t.contains("\"GET /hello.txt HTTP/1.1\" 200")
        },
    );

    // the host never had the port
    let e = std::net::TcpStream::connect(("127.0.0.1", port))
        .expect_err("a host connect to the rump kernel's port succeeded");
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");

    // without --sockets, curl's socket is the host's: nothing listens there
    let out = run_bounded(
        run_cmd(
            &lib,
            &url,
            None,
            &["curl", "-sS", "--max-time", "30", &target],
        ),
        Duration::from_secs(60),
        "curl without --sockets",
    );
    assert_eq!(
        out.status.code(),
        Some(7),
        "curl without --sockets should fail to connect (exit 7)"
    );
}

/// The socket calls and translations one python3 program makes under
/// `--sockets all`: AF_INET6 names, options (TCP_NODELAY, SO_TYPE,
/// SO_DOMAIN/SO_PROTOCOL, an unknown one: ENOPROTOOPT), ECONNREFUSED, a
/// non-blocking connect's EINPROGRESS then poll (POLLOUT alone: NetBSD's
/// soo_poll/sowritable for a socket with an error) and SO_ERROR (NetBSD's
/// 61 as Linux's 111), an AF_UNIX socketpair and a socket bound to a path in
/// the rump kernel (not on the host), UDP sendto/recvfrom, sendmsg/recvmsg.
const SOCKET_CALLS: &str = r#"
import os, select, socket
s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); s.listen(1)
print("v6", s.getsockname()[0], s.getsockname()[1] > 0)
k = socket.create_connection(s.getsockname()[:2]); c, a = s.accept()
print("peer", a[0], k.getpeername()[0] == "::1")
k.sendall(b"six"); print("v6 data", c.recv(10))
k.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print("nodelay", k.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)
print("type", k.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE), "error", k.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
print("domain", k.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET6, "protocol", k.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL))
try:
    k.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1); print("cork accepted")
except OSError as e:
    print("cork errno", e.errno)
r = socket.socket()
try:
    r.connect(("127.0.0.1", 9)); print("connected to 9")
except OSError as e:
    print("refused errno", e.errno)
r = socket.socket(); r.setblocking(False)
print("connect_ex", r.connect_ex(("127.0.0.1", 9)))
p = select.poll(); p.register(r, select.POLLOUT); print("poll", [ev for _, ev in p.poll(5000)])
print("so_error", r.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
a, b = socket.socketpair(); a.send(b"pair"); print("pair", b.recv(10))
path = "/tmp/hijack-net-%d.sock" % os.getpid()
u = socket.socket(socket.AF_UNIX); u.bind(path); u.listen(1)
v = socket.socket(socket.AF_UNIX); v.connect(path); w, _ = u.accept(); v.sendall(b"local")
print("local", w.recv(10), u.getsockname() == path, "host has it", os.path.exists(path))
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); d.bind(("127.0.0.1", 0))
e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); e.sendto(b"dgram", d.getsockname())
data, src = d.recvfrom(100); print("udp", data, src[0])
e.sendmsg([b"a", b"b"], [], 0, d.getsockname()); data, anc, fl, src = d.recvmsg(100); print("msg", data, anc, src[0])
"#;

const SOCKET_CALLS_EXPECTED: &str = "v6 ::1 True
peer ::1 True
v6 data b'six'
nodelay True
type 1 error 0
domain True protocol 6
cork errno 92
refused errno 111
connect_ex 115
poll [4]
so_error 111
pair b'pair'
local b'local' True host has it False
udp b'dgram' 127.0.0.1
msg b'ab' [] 127.0.0.1
";

#[test]
fn socket_calls_and_translations_under_sockets_all() {
    if !have("python3") {
        eprintln!("hijack_net: python3 is not installed; nothing to run");
        return;
    }
    let lib = hijack_lib();
    let tmp = tempfile::tempdir().expect("tempdir");
    let sock = tmp.path().join("rump.sock");
    let url = format!("unix://{}", sock.display());
    let _serve = Killed(
        Command::new(rumpsp())
            .args([
                "serve",
                &url,
                "--components",
                "vfs,tmpfs,net,local,inet,inet6",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rumpsp serve"),
    );
    wait_for(
        Duration::from_secs(30),
        "rumpsp serve made no socket",
        || sock.exists(),
    );
    let out = run_bounded(
        run_cmd(&lib, &url, Some("all"), &["python3", "-c", SOCKET_CALLS]),
        Duration::from_secs(120),
        "the socket-calls program",
    );
    assert!(
        out.status.success(),
        "the socket-calls program failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), SOCKET_CALLS_EXPECTED);
}
