//! Exercises one syscall family against `RUMP_SERVER` with the rumpsp client,
//! successes and errno paths alike (an errno does not stop it: the trace
//! records whatever the server answered). `ci/record-corpus.sh` runs it through
//! `rumpsp record` to make the own-client traces in `conformance/corpus/`.
//!
//! Usage: RUMP_SERVER=URL cargo run --example families -- FAMILY
//! Families: files dirs links perms creds pipes fdops iovec sysctl time mount statvfs fork exec
//! threads forks (the last two issue calls concurrently: two threads sharing
//! one connection, and a parent and its forked child on two connections)

use std::sync::Arc;

use rumpsp_protocol::net::{Client, TmpfsArgs};

const O_RDONLY: i32 = 0;
const O_RDWR: i32 = 2;
const O_CREAT: i32 = 0x200;
const O_EXCL: i32 = 0x800;
const O_TRUNC: i32 = 0x400;
const O_APPEND: i32 = 0x8;
const O_DIRECTORY: i32 = 0x20_0000;
const F_GETFD: i32 = 1;
const F_SETFD: i32 = 2;
const F_GETFL: i32 = 3;

/// Eight 4 KiB pwrite/pread pairs on `fd`, each block filled with its own byte.
async fn rounds(c: &Client, fd: i32, first: u8) {
    for k in 0..8u8 {
        let block = vec![first.wrapping_add(k); 4096];
        let off = i64::from(k) * 4096;
        let _ = c.pwrite(fd, &block, off).await;
        let _ = c.pread(fd, 4096, off).await;
    }
}

async fn family(c: &Arc<Client>, name: &str) -> anyhow::Result<()> {
    match name {
        "files" => {
            let fd = c.open("/f", O_RDWR | O_CREAT | O_TRUNC, 0o644).await?;
            let _ = c.write(fd, b"hello, rump\n").await;
            let _ = c.pwrite(fd, b"HELLO", 0).await;
            let _ = c.lseek(fd, 0, 0).await;
            let _ = c.read(fd, 64).await;
            let _ = c.pread(fd, 5, 7).await;
            let _ = c.fstat(fd).await;
            let _ = c.ftruncate(fd, 4).await;
            let _ = c.fsync(fd).await;
            let _ = c.close(fd).await;
            let fd = c.open("/f", O_RDWR | O_APPEND, 0).await?;
            let _ = c.write(fd, b"tail").await;
            let _ = c.close(fd).await;
            let _ = c.stat("/f").await;
            let _ = c.open("/f", O_RDWR | O_CREAT | O_EXCL, 0o644).await; // EEXIST
            let _ = c.open("/missing", O_RDONLY, 0).await; // ENOENT
            let _ = c.read(99, 1).await; // EBADF
            let _ = c.rename("/f", "/g").await;
            let _ = c.truncate("/g", 0).await;
            let _ = c.unlink("/g").await;
            let _ = c.unlink("/g").await; // ENOENT
        }
        "dirs" => {
            let _ = c.mkdir("/d", 0o755).await;
            let _ = c.mkdir("/d/e", 0o700).await;
            let _ = c.mkdir("/d", 0o755).await; // EEXIST
            let fd = c.open("/d/e/x", O_RDWR | O_CREAT, 0o600).await?;
            let _ = c.close(fd).await;
            let _ = c.read_dir("/d").await;
            let _ = c.chdir("/d").await;
            let _ = c.getcwd().await;
            let _ = c.stat("e").await;
            let dfd = c.open("/d", O_RDONLY | O_DIRECTORY, 0).await?;
            let _ = c.fchdir(dfd).await;
            let _ = c.mkdirat(dfd, "m", 0o755).await;
            let _ = c.fstatat(dfd, "m", 0).await;
            c.unlinkat(dfd, "m", 0x800).await?; // AT_REMOVEDIR
            let _ = c.close(dfd).await;
            let _ = c.rmdir("/d/e").await; // ENOTEMPTY
            let _ = c.unlink("/d/e/x").await;
            let _ = c.rmdir("/d/e").await;
            let _ = c.chdir("/").await;
            let _ = c.rmdir("/d").await;
        }
        "links" => {
            let fd = c.open("/t", O_RDWR | O_CREAT, 0o644).await?;
            let _ = c.close(fd).await;
            let _ = c.link("/t", "/h").await;
            let _ = c.symlink("/t", "/s").await;
            let _ = c.readlink("/s").await;
            let _ = c.lstat("/s").await;
            let _ = c.stat("/s").await;
            let _ = c.readlink("/t").await; // EINVAL
            let _ = c.link("/t", "/h").await; // EEXIST
            let _ = c.unlink("/s").await;
            let _ = c.unlink("/h").await;
            let _ = c.unlink("/t").await;
        }
        "perms" => {
            let fd = c.open("/p", O_RDWR | O_CREAT, 0o644).await?;
            let _ = c.fchmod(fd, 0o600).await;
            let _ = c.fchown(fd, 100, 100).await;
            let _ = c.close(fd).await;
            let _ = c.chmod("/p", 0o4755).await;
            let _ = c.chown("/p", 200, 200).await;
            let _ = c.stat("/p").await;
            let _ = c.access("/p", 4).await;
            let _ = c.umask(0o077).await;
            let _ = c.utimes("/p", Some((1_000_000, 0))).await;
            let _ = c.setuid(300).await;
            let _ = c.chmod("/p", 0o777).await; // EPERM
            let _ = c.open("/p", O_RDONLY, 0).await; // EACCES
        }
        "creds" => {
            let _ = c.getuid().await;
            let _ = c.geteuid().await;
            let _ = c.getgid().await;
            let _ = c.getegid().await;
            let _ = c.getgroups().await;
            let _ = c.setgroups(&[5, 6]).await;
            let _ = c.getgroups().await;
            let _ = c.setegid(7).await;
            let _ = c.seteuid(8).await;
            let _ = c.issetugid().await;
            let _ = c.setuid(0).await; // EPERM
            let _ = c.getpid().await;
            let _ = c.getppid().await;
        }
        "pipes" => {
            let (r, w) = c.pipe().await?;
            let _ = c.write(w, b"through the pipe").await;
            let _ = c.read(r, 64).await;
            let (r2, w2) = c.pipe2(0x0040_0000).await?; // O_CLOEXEC
            let _ = c.close(w).await;
            c.read(r, 8).await?; // EOF: 0
            let _ = c.close(r).await;
            let _ = c.close(r2).await;
            let _ = c.write(w2, b"x").await; // EPIPE, and SIGPIPE raised
            let _ = c.close(w2).await;
        }
        "fdops" => {
            let fd = c.open("/fd", O_RDWR | O_CREAT, 0o644).await?;
            let d = c.dup(fd).await?;
            let _ = c.dup2(fd, 10).await;
            let _ = c.dup3(fd, 11, 0x0040_0000).await;
            let _ = c.fcntl(fd, F_SETFD, 1).await;
            let _ = c.fcntl(fd, F_GETFD, 0).await;
            let _ = c.fcntl(fd, F_GETFL, 0).await;
            let _ = c.dup2(fd, 100_000).await; // EBADF
            for x in [d, 10, 11, fd] {
                let _ = c.close(x).await;
            }
            let _ = c.close(fd).await; // EBADF
        }
        "iovec" => {
            let fd = c.open("/v", O_RDWR | O_CREAT, 0o644).await?;
            let _ = c.writev(fd, &[b"one ", b"two ", b"three"]).await;
            let _ = c.lseek(fd, 0, 0).await;
            let _ = c.readv(fd, &[4, 4, 16]).await;
            let _ = c.close(fd).await;
            let _ = c.unlink("/v").await;
        }
        "sysctl" => {
            c.sysctl(&[1, 1], 64, None).await?; // kern.ostype
            c.sysctl(&[1, 10], 256, None).await?; // kern.hostname
            let _ = c.sysctl(&[1, 10], 0, Some(b"own-client")).await;
            let _ = c.sysctl(&[1, 10], 256, None).await;
            c.sysctl(&[6, 1], 64, None).await?; // hw.machine
            let _ = c.sysctl(&[1, 9999], 64, None).await; // ENOENT
            let _ = c.sysctl_resolve("kern.maxfiles").await;
        }
        "stamps" => {
            // Clock readings and the stamps of a node in one trace: the
            // judge relates them (a stamp made after a reading is not
            // earlier than it; times the client set compare exactly).
            let fd = c.open("/stamped", O_RDWR | O_CREAT, 0o644).await?;
            let _ = c.clock_gettime(0).await;
            let _ = c.nanosleep(0, 20_000_000).await;
            let _ = c.write(fd, b"first").await;
            let _ = c.fstat(fd).await;
            let _ = c.gettimeofday().await;
            let _ = c.nanosleep(0, 20_000_000).await;
            let _ = c.write(fd, b"second").await;
            let _ = c.fstat(fd).await;
            let _ = c
                .futimens(fd, Some([(1_000_000_000, 5), (1_234_567_890, 250)]))
                .await;
            let _ = c.fstat(fd).await;
            let _ = c
                .utimes("/stamped", Some((1_500_000_000, 1_600_000_000)))
                .await;
            let _ = c.stat("/stamped").await;
            let _ = c.clock_gettime(0).await;
            let _ = c.close(fd).await;
            let _ = c.unlink("/stamped").await;
        }
        "time" => {
            let _ = c.clock_gettime(0).await;
            let _ = c.clock_gettime(3).await;
            let _ = c.clock_getres(0).await;
            let _ = c.gettimeofday().await;
            let _ = c.nanosleep(0, 1_000_000).await;
            let _ = c.clock_gettime(99).await; // EINVAL
        }
        "mount" => {
            let _ = c.mkdir("/mnt", 0o755).await;
            let _ = c
                .mount_tmpfs(
                    "/mnt",
                    0,
                    TmpfsArgs {
                        size_max: 1 << 20,
                        mode: 0o1777,
                        ..TmpfsArgs::default()
                    },
                )
                .await;
            let fd = c.open("/mnt/in-tmpfs", O_RDWR | O_CREAT, 0o644).await?;
            let _ = c.write(fd, &[7u8; 4096]).await;
            let _ = c.close(fd).await;
            let _ = c.stat("/mnt/in-tmpfs").await;
            let _ = c.unmount("/mnt", 0).await; // fine: nothing open
            let _ = c.rmdir("/mnt").await;
        }
        "statvfs" => {
            let _ = c.statvfs1("/", 1).await;
            let fd = c.open("/", O_RDONLY | O_DIRECTORY, 0).await?;
            let _ = c.fstatvfs1(fd, 2).await;
            let _ = c.close(fd).await;
            let _ = c.getvfsstat(4).await;
            let _ = c.sync().await;
        }
        "fork" => {
            let fd = c.open("/shared", O_RDWR | O_CREAT, 0o644).await?;
            let child = c.fork().await?;
            let _ = child.getpid().await;
            let _ = child.getppid().await;
            let _ = child.write(fd, b"from the child").await;
            let _ = child.close(fd).await;
            let _ = c.fstat(fd).await;
            let _ = c.close(fd).await;
        }
        "exec" => {
            let fd = c.open("/cloexec", O_RDWR | O_CREAT, 0o644).await?;
            let _ = c.fcntl(fd, F_SETFD, 1).await;
            let keep = c.open("/kept", O_RDWR | O_CREAT, 0o644).await?;
            let _ = c.exec("after-exec").await;
            let _ = c.fstat(fd).await; // EBADF: closed on exec
            let _ = c.fstat(keep).await;
            let _ = c.getpid().await;
        }
        "threads" => {
            // Two threads share the connection; 4 KiB pwrite/pread pairs
            // interleave their COPYINs and COPYOUTs, and one thread's pipe
            // read blocks until the other writes.
            let (r, w) = c.pipe().await?;
            let a = c.open("/thread-a", O_RDWR | O_CREAT, 0o644).await?;
            let b = c.open("/thread-b", O_RDWR | O_CREAT, 0o644).await?;
            let reader = {
                let c = Arc::clone(c);
                tokio::spawn(async move {
                    rounds(&c, a, b'a').await;
                    let _ = c.read(r, 64).await;
                })
            };
            let writer = {
                let c = Arc::clone(c);
                tokio::spawn(async move {
                    rounds(&c, b, b'A').await;
                    for _ in 0..4 {
                        let _ = c.fstat(b).await;
                    }
                    let _ = c.write(w, b"wake up").await;
                })
            };
            reader.await?;
            writer.await?;
            let _ = c.fstat(a).await;
            let _ = c.fstat(b).await;
            for fd in [a, b, r, w] {
                let _ = c.close(fd).await;
            }
        }
        "forks" => {
            // A parent and its child issue calls at the same time on their
            // two connections; the child's pipe read waits for the parent.
            let (r, w) = c.pipe().await?;
            let a = c.open("/parent-file", O_RDWR | O_CREAT, 0o644).await?;
            let b = c.open("/child-file", O_RDWR | O_CREAT, 0o644).await?;
            let child = Arc::new(c.fork().await?);
            let kid = {
                let child = Arc::clone(&child);
                tokio::spawn(async move {
                    let _ = child.getpid().await;
                    rounds(&child, b, b'k').await;
                    let _ = child.read(r, 64).await;
                    let _ = child.fstat(a).await;
                })
            };
            rounds(c, a, b'p').await;
            let _ = c.write(w, b"from the parent").await;
            kid.await?;
            let _ = c.fstat(b).await;
            let _ = child.close(r).await;
            for fd in [a, b, r, w] {
                let _ = c.close(fd).await;
            }
        }
        other => anyhow::bail!("unknown family {other:?}"),
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_default();
    let c = Arc::new(Client::from_env(&name).await?);
    family(&c, &name).await
}
