//! The production client against the production server, over unix sockets and
//! TCP: operations, many tasks on one connection, fork and exec, RAISE, the
//! server dying mid-call, reconnecting — and byte compatibility with the real
//! NetBSD client (our client recorded through `rumpsp record`, compared with
//! the real client's frames in the captures).

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rumpsp_conformance::capture::{frame_stream, Capture, Dir};
use rumpsp_protocol::client::Arg;
use rumpsp_protocol::net::{Client, ClientError, RetryPolicy, ServerConfig, TmpfsArgs};
use rumpsp_protocol::netbsd::Errno;
use rumpsp_protocol::url::{parse_url, Role};
use rumpsp_protocol::{Abi, FrameLimits, RawFrame, ServerAddr};
use rumpsp_sim_kernel::SimConfig;
use support::Running;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn url(addr: &ServerAddr) -> String {
    addr.to_string()
}

#[test]
fn file_operations_over_unix_and_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let unix = support::unix_server(dir.path());
    let tcp = Running::start(
        parse_url("tcp://127.0.0.1:0", Role::Server).unwrap(),
        SimConfig::default(),
        ServerConfig::default(),
    );
    rt().block_on(async {
        for server in [&unix, &tcp] {
            let c = Client::connect(&url(&server.addr), "client-test")
                .await
                .unwrap();
            assert!(c.banner().parsed.as_ref().unwrap().is_supported_version());
            let (pid, ppid) = c.getpid().await.unwrap();
            assert!(pid > 1 && ppid == 1);
            c.mkdir("/data", 0o755).await.unwrap();
            c.mount_tmpfs("/data", 0, TmpfsArgs::default())
                .await
                .unwrap();
            let fd = c.open("/data/f", 0x202, 0o644).await.unwrap();
            let big = vec![0x5au8; 3 << 20];
            assert_eq!(c.write(fd, &big).await.unwrap(), big.len());
            assert_eq!(c.lseek(fd, 0, 0).await.unwrap(), 0);
            assert_eq!(c.read(fd, 4 << 20).await.unwrap(), big);
            assert_eq!(c.fstat(fd).await.unwrap().size, 3 << 20);
            c.close(fd).await.unwrap();
            let names: Vec<String> = c
                .read_dir("/data")
                .await
                .unwrap()
                .iter()
                .map(|d| String::from_utf8_lossy(&d.name).into_owned())
                .collect();
            assert_eq!(names, [".", "..", "f"]);
            assert_eq!(
                c.open("/data/missing", 0, 0).await,
                Err(ClientError::Errno(Errno(2)))
            );
            assert_eq!(
                c.open("/data/missing", 0, 0).await.unwrap_err().to_string(),
                "No such file or directory (ENOENT)"
            );
            let (mib, node) = c.sysctl_resolve("vfs.generic.fstypes").await.unwrap();
            assert_eq!(node.ctype, 3);
            let (v, _) = c.sysctl(&mib, 64, None).await.unwrap();
            assert_eq!(
                &v, b"rumpfs tmpfs",
                "the handler reports the length without the NUL"
            );
        }
    });
}

#[test]
fn many_tasks_share_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::unix_server(dir.path());
    rt().block_on(async {
        let c = Arc::new(Client::connect(&url(&server.addr), "mt").await.unwrap());
        c.mount_tmpfs("/tmp", 0, TmpfsArgs::default())
            .await
            .unwrap();
        // a reader blocked on a pipe while 16 tasks write and read their own files
        let (r, w) = c.pipe().await.unwrap();
        let blocked = {
            let c = c.clone();
            tokio::spawn(async move { c.read(r, 5).await })
        };
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let c = c.clone();
                tokio::spawn(async move {
                    let path = format!("/tmp/t{i}");
                    let fd = c.open(&path, 0x202, 0o644).await.unwrap();
                    let data = vec![i as u8; 10_000 + i];
                    for _ in 0..20 {
                        c.pwrite(fd, &data, 0).await.unwrap();
                        assert_eq!(c.pread(fd, data.len(), 0).await.unwrap(), data);
                    }
                    c.close(fd).await.unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert!(!blocked.is_finished(), "the read still waits");
        c.write(w, b"done!").await.unwrap();
        assert_eq!(blocked.await.unwrap().unwrap(), b"done!");
    });
}

#[test]
fn fork_exec_and_raise() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::unix_server(dir.path());
    rt().block_on(async {
        let parent = Client::connect(&url(&server.addr), "parent").await.unwrap();
        parent
            .mount_tmpfs("/tmp", 0, TmpfsArgs::default())
            .await
            .unwrap();
        let fd = parent.open("/tmp/shared", 0x202, 0o644).await.unwrap();
        let child = parent.fork().await.unwrap();
        assert_eq!(
            child.getppid().await.unwrap(),
            1,
            "as the real fork capture shows"
        );
        assert_ne!(
            child.getpid().await.unwrap().0,
            parent.getpid().await.unwrap().0
        );
        child.write(fd, b"from the child").await.unwrap();
        assert_eq!(parent.pread(fd, 64, 0).await.unwrap(), b"from the child");
        // exec: close-on-exec descriptors go, the others stay
        parent.fcntl(fd, 2, 1).await.unwrap();
        let keep = parent.open("/tmp/shared", 0, 0).await.unwrap();
        let pid = parent.getpid().await.unwrap().0;
        parent.exec("newimage").await.unwrap();
        assert_eq!(parent.getpid().await.unwrap().0, pid);
        assert_eq!(parent.fstat(fd).await, Err(ClientError::Errno(Errno(9))));
        parent.fstat(keep).await.unwrap();
        // a write to a pipe nobody reads: EPIPE, and SIGPIPE raised before the answer
        let (r, w) = parent.pipe().await.unwrap();
        parent.close(r).await.unwrap();
        assert_eq!(
            parent.write(w, b"x").await,
            Err(ClientError::Errno(Errno(32)))
        );
        assert_eq!(parent.take_signals().await, [13]);
    });
}

#[test]
fn a_server_dying_mid_call_gives_a_transport_error_and_a_policy_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sock");
    let addr = ServerAddr::Unix(path.clone());
    let server = Running::start(addr.clone(), SimConfig::default(), ServerConfig::default());
    let rt = rt();
    let (plain, retrying) = rt.block_on(async {
        let plain = Client::connect(&url(&addr), "plain").await.unwrap();
        let retrying = Client::connect_addr(
            addr.clone(),
            "retrying",
            RetryPolicy::For(Duration::from_secs(10)),
        )
        .await
        .unwrap();
        (plain, retrying)
    });
    // a call in flight when the server goes: blocked on an empty pipe
    let (r, _w) = rt.block_on(plain.pipe()).unwrap();
    let pending = rt.spawn(async move { plain.read(r, 1).await });
    std::thread::sleep(Duration::from_millis(100));
    server.stop();
    let err = rt.block_on(pending).unwrap().unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
    // a new server on the same socket: the retrying client reconnects (a new process)
    let again = std::thread::spawn({
        let addr = addr.clone();
        move || {
            std::thread::sleep(Duration::from_millis(300));
            Running::start(addr, SimConfig::default(), ServerConfig::default())
        }
    });
    let (pid, _) = rt.block_on(retrying.getpid()).unwrap();
    assert!(pid >= 2);
    let _server = again.join().unwrap();
    // with the default policy a dead connection is simply an error
    let never = rt.block_on(Client::connect(&url(&addr), "once")).unwrap();
    drop(_server);
    assert!(matches!(
        rt.block_on(never.getpid()),
        Err(ClientError::Transport(_))
    ));
    // and the retry back-off is librumpclient's
    assert_eq!(RetryPolicy::backoff(0), Duration::ZERO);
    assert_eq!(RetryPolicy::backoff(3), Duration::from_millis(300));
    assert_eq!(RetryPolicy::backoff(12), Duration::from_secs(3));
    assert_eq!(RetryPolicy::backoff(40), Duration::from_secs(10));
}

#[test]
fn bad_server_urls_and_unset_rump_server_are_named() {
    rt().block_on(async {
        let e = Client::connect("tcp://localhost:1", "x")
            .await
            .err()
            .unwrap();
        assert!(e.to_string().contains("not an IPv4 address"), "{e}");
        let e = Client::connect("tcp://0:1", "x").await.err().unwrap();
        assert!(e.to_string().contains("non-wildcard"), "{e}");
        let e = Client::connect("unix:///nonexistent/dir/sock", "x")
            .await
            .err()
            .unwrap();
        assert!(matches!(e, ClientError::Transport(_)));
    });
}

/// The client frames of a capture (connection 1), in order.
fn client_frames(cap: &Capture) -> Vec<RawFrame> {
    let streams = cap.streams();
    let c2s = streams.get(&(1, Dir::C2s)).cloned().unwrap_or_default();
    frame_stream(&c2s, Dir::C2s, FrameLimits::default()).frames
}

/// Same frames as the real client, except pointer values and the program name.
fn assert_compatible(ours: &[RawFrame], real: &[RawFrame], what: &str) {
    assert_eq!(ours.len(), real.len(), "{what}: frame count");
    for (i, (o, r)) in ours.iter().zip(real).enumerate() {
        let (ho, hr) = (o.header, r.header);
        assert_eq!(
            (ho.reqno, ho.class, ho.ty),
            (hr.reqno, hr.class, hr.ty),
            "{what} frame {i}"
        );
        if ho.class == 0 && ho.ty == 0 {
            continue; // the handshake carries the program name
        }
        assert_eq!(ho.word, hr.word, "{what} frame {i}: u");
        assert_eq!(o.body.len(), r.body.len(), "{what} frame {i}: body length");
        if ho.class == 0 && ho.ty == 1 {
            for (j, (a, b)) in o.body.chunks(8).zip(r.body.chunks(8)).enumerate() {
                let pointers = |x: &[u8]| u64::from_le_bytes(x.try_into().unwrap()) > 0xffff_ffff;
                if a != b {
                    assert!(
                        pointers(a) && pointers(b),
                        "{what} frame {i} slot {j}: {a:02x?} vs {b:02x?}"
                    );
                }
            }
        } else {
            assert_eq!(o.body, r.body, "{what} frame {i}: body");
        }
    }
    let _ = Abi::Lp64Le;
}

/// Runs `calls` (given the proxy's URL) as a client of `server` through the
/// recording proxy, and checks its frames against the real client's capture
/// `conformance/traces/real/{name}.jsonl`.
fn record_and_compare<F, Fut>(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    server: &ServerAddr,
    name: &str,
    calls: F,
) where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let proxy = ServerAddr::Unix(dir.join("proxy.sock"));
    let out = dir.join("ours.jsonl");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let recorder = rt.spawn({
        let (proxy, upstream, out) = (proxy.clone(), server.clone(), out.clone());
        async move {
            rumpsp_conformance::record::record(&proxy, &upstream, &out, "ours", async {
                let _ = stop_rx.await;
            })
            .await
            .unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    rt.block_on(calls(url(&proxy)));
    std::thread::sleep(Duration::from_millis(100));
    let _ = stop_tx.send(());
    rt.block_on(recorder).unwrap();
    let real = Capture::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("conformance/traces/real/{name}.jsonl")),
    )
    .unwrap();
    let ours = Capture::load(&out).unwrap();
    assert_compatible(&client_frames(&ours), &client_frames(&real), name);
}

#[test]
fn our_client_sends_what_the_real_client_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::unix_server(dir.path());
    record_and_compare(
        &rt(),
        dir.path(),
        &server.addr,
        "getpid",
        |proxy| async move {
            // getpid.jsonl: two getpid calls
            let c = Client::connect(&proxy, "getpid").await.unwrap();
            c.getpid().await.unwrap();
            c.getpid().await.unwrap();
        },
    );
}

#[test]
fn fileops_frames_match_the_real_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::unix_server(dir.path());
    let rt = rt();
    // /tmp must be a tmpfs first, as in the recording (mount_tmpfs ran before fileops)
    rt.block_on(async {
        let c = Client::connect(&url(&server.addr), "setup").await.unwrap();
        c.mount_tmpfs("/tmp", 0, TmpfsArgs::default())
            .await
            .unwrap();
    });
    record_and_compare(
        &rt,
        dir.path(),
        &server.addr,
        "fileops",
        |proxy| async move {
            // the same calls as clients/fileops, with its argument values
            let c = Client::connect(&proxy, "fileops").await.unwrap();
            let d = "/tmp/fileops.d";
            c.mkdir(d, 0o755).await.unwrap();
            let fd = c
                .open("/tmp/fileops.d/one.txt", 0x602, 0o644)
                .await
                .unwrap();
            c.write(fd, b"hello, rump kernel\n").await.unwrap();
            c.lseek(fd, 0, 0).await.unwrap();
            c.read(fd, 0x40).await.unwrap();
            c.lseek(fd, 0, 1).await.unwrap();
            c.fstat(fd).await.unwrap();
            c.close(fd).await.unwrap();
            for name in ["one.txt", "two.txt"] {
                let dfd = c
                    .syscall(
                        5,
                        vec![
                            Arg::Str(d.as_bytes().to_vec()),
                            Arg::Int(0x20_0000),
                            Arg::Int(if name == "one.txt" { 1 } else { 0 }),
                        ],
                    )
                    .await
                    .unwrap()
                    .0[0] as i32;
                c.getdents(dfd, 0x1000).await.unwrap();
                c.getdents(dfd, 0x1000).await.unwrap();
                c.close(dfd).await.unwrap();
                if name == "one.txt" {
                    c.rename("/tmp/fileops.d/one.txt", "/tmp/fileops.d/two.txt")
                        .await
                        .unwrap();
                }
            }
            c.unlink("/tmp/fileops.d/two.txt").await.unwrap();
            c.rmdir(d).await.unwrap();
        },
    );
}

#[test]
fn the_remaining_wrappers() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::unix_server(dir.path());
    rt().block_on(async {
        let c = Client::connect(&url(&server.addr), "wrappers")
            .await
            .unwrap();
        c.mount_tmpfs("/tmp", 0, TmpfsArgs::default())
            .await
            .unwrap();
        let d = c.open("/tmp", 0x20_0000, 0).await.unwrap();
        c.mkdirat(d, "sub", 0o755).await.unwrap();
        let f = c.openat(d, "sub/f", 0x202, 0o644).await.unwrap();
        assert_eq!(c.writev(f, &[b"ab", b"cde", b""]).await.unwrap(), 5);
        c.lseek(f, 0, 0).await.unwrap();
        assert_eq!(
            c.readv(f, &[1, 3, 8]).await.unwrap(),
            [b"a".to_vec(), b"bcd".to_vec(), b"e".to_vec()]
        );
        c.link("/tmp/sub/f", "/tmp/sub/g").await.unwrap();
        assert_eq!(c.fstatat(d, "sub/g", 0).await.unwrap().nlink, 2);
        c.symlinkat("f", d, "sub/l").await.unwrap();
        assert_eq!(c.readlinkat(d, "sub/l").await.unwrap(), b"f");
        assert_eq!(
            c.fstatat(d, "sub/l", 0x200).await.unwrap().mode & 0o170000,
            0o120000
        );
        c.renameat(d, "sub/g", d, "sub/h").await.unwrap();
        c.unlinkat(d, "sub/h", 0).await.unwrap();
        c.faccessat(d, "sub/f", 4, 0).await.unwrap();
        c.fchmod(f, 0o600).await.unwrap();
        c.fchmodat(d, "sub/f", 0o640, 0).await.unwrap();
        c.fchown(f, 7, 8).await.unwrap();
        c.fchownat(d, "sub/f", 9, u32::MAX, 0).await.unwrap();
        let st = c.fstat(f).await.unwrap();
        assert_eq!((st.mode & 0o777, st.uid, st.gid), (0o640, 9, 8));
        c.truncate("/tmp/sub/f", 2).await.unwrap();
        c.fdatasync(f).await.unwrap();
        c.sync().await.unwrap();
        let f2 = c.dup(f).await.unwrap();
        assert_eq!(c.dup3(f, 20, 0x40_0000).await.unwrap(), 20);
        assert_eq!(c.fcntl(20, 1, 0).await.unwrap(), 1, "dup3 O_CLOEXEC");
        let (r, w) = c.pipe2(0x4).await.unwrap();
        assert_eq!(
            c.read(r, 1).await,
            Err(ClientError::Errno(Errno(35))),
            "O_NONBLOCK"
        );
        c.write(w, b"xyz").await.unwrap();
        assert_eq!(c.ioctl_int(r, 0x4004_667f, 0).await.unwrap(), 3, "FIONREAD");
        c.utimes("/tmp/sub/f", Some((1000, 2000))).await.unwrap();
        assert_eq!(c.stat("/tmp/sub/f").await.unwrap().mtime.sec, 2000);
        c.futimens(f2, Some([(5, 0), (6, 0)])).await.unwrap();
        assert_eq!(c.fstat(f2).await.unwrap().mtime.sec, 6);
        c.fchdir(d).await.unwrap();
        assert_eq!(c.getcwd().await.unwrap(), "/tmp");
        assert_eq!(c.statvfs1("/tmp", 1).await.unwrap()[172..177], *b"tmpfs");
        assert_eq!(c.fstatvfs1(d, 1).await.unwrap().len(), 2256);
        assert_eq!(
            c.getvfsstat(2).await.unwrap().len(),
            2,
            "rumpfs and this tmpfs"
        );
        assert_eq!(c.clock_getres(0).await.unwrap(), (0, 10_000_000));
        let (t0, _) = c.clock_gettime(3).await.unwrap();
        c.nanosleep(3, 0).await.unwrap();
        assert!(
            c.clock_gettime(3).await.unwrap().0 >= t0 + 3,
            "virtual time advanced"
        );
        assert!(c.gettimeofday().await.unwrap().0 > 1_700_000_000);
        assert_eq!(c.getgid().await.unwrap(), (0, 0));
        assert!(!c.issetugid().await.unwrap());
        c.setgroups(&[5, 6]).await.unwrap();
        assert_eq!(c.getgroups().await.unwrap(), [5, 6]);
        c.setegid(5).await.unwrap();
        assert_eq!(c.getegid().await.unwrap(), 5);
        c.setgid(0).await.unwrap();
        c.seteuid(1000).await.unwrap();
        assert_eq!(c.geteuid().await.unwrap(), 1000);
        assert!(c.issetugid().await.unwrap());
        c.seteuid(0).await.unwrap();
        c.setuid(1000).await.unwrap();
        assert_eq!(c.setuid(0).await, Err(ClientError::Errno(Errno(1))));
    });
}
