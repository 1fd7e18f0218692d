//! Per-syscall behaviour of the simulated kernel, errno paths included.

mod common;

use common::*;
use rumpsp_protocol::kernel::Kernel;

#[test]
fn open_create_excl_trunc_directory_and_their_errors() {
    let mut t = T::new();
    assert_eq!(t.open("/tmp/nope", O_RDONLY, 0).0, ENOENT);
    let (e, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!((e, fd), (0, 3), "lowest free descriptor after 0-2");
    assert_eq!(t.write(fd, b"hello").1, 5);
    assert_eq!(t.open("/tmp/f", O_RDWR | O_CREAT | O_EXCL, 0o644).0, EEXIST);
    assert_eq!(t.open("/tmp/f", O_RDONLY | O_DIRECTORY, 0).0, ENOTDIR);
    assert_eq!(t.open("/tmp", O_RDWR, 0).0, EISDIR);
    assert_eq!(t.open("/tmp/f/x", O_RDONLY, 0).0, ENOTDIR);
    assert_eq!(t.open("/tmp/f", 3, 0).0, EINVAL, "access mode 3");
    assert_eq!(t.open("", O_RDONLY, 0).0, ENOENT);
    let (_, fd2) = t.open("/tmp/f", O_RDWR | O_TRUNC, 0);
    assert_eq!(t.stat("/tmp/f").2, 0, "O_TRUNC empties the file");
    assert_eq!(t.stat("/tmp/f").1, 0o100644);
    t.ok(nr::CLOSE, &[fd2 as u64]);
    assert_eq!(t.e(nr::CLOSE, &[fd2 as u64]), EBADF);
}

#[test]
fn name_and_path_length_limits() {
    let mut t = T::new();
    let long = format!("/tmp/{}", "n".repeat(256));
    assert_eq!(
        t.open(&long, O_RDWR | O_CREAT, 0o644).0,
        ENAMETOOLONG,
        "tmpfs names stop at 255"
    );
    let ok = format!("/tmp/{}", "n".repeat(255));
    assert_eq!(t.open(&ok, O_RDWR | O_CREAT, 0o644).0, 0);
    // no NUL within MAXPATHLEN (1024 bytes)
    let p = t.put(&[b'a'; 1024]);
    assert_eq!(t.e(nr::OPEN, &[p, 0, 0]), ENAMETOOLONG);
}

#[test]
fn efault_when_the_client_cannot_supply_memory() {
    let mut t = T::new();
    assert_eq!(t.e(nr::OPEN, &[0, 0, 0]), EFAULT, "NULL path");
    assert_eq!(t.e(nr::OPEN, &[0xdead_0000, 0, 0]), EFAULT, "unmapped path");
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!(
        t.e(nr::WRITE, &[fd as u64, 0xdead_0000, 10]),
        EFAULT,
        "unmapped buffer"
    );
    assert_eq!(t.stat("/tmp/f").2, 0, "nothing written on a fault");
}

#[test]
fn emfile_past_open_max() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let mut last = 0;
    for _ in fd..128 - 1 {
        last = t.ok(nr::DUP, &[fd as u64]);
    }
    assert_eq!(last, 127);
    assert_eq!(t.e(nr::DUP, &[fd as u64]), EMFILE);
    assert_eq!(t.open("/tmp/f", O_RDONLY, 0).0, EMFILE);
    t.k.check_invariants().unwrap();
}

#[test]
fn read_write_lseek_pread_pwrite_append() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    t.write(fd, b"hello world");
    assert_eq!(t.ok(nr::LSEEK, &[fd as u64, 0, 0, 0]), 0);
    assert_eq!(t.read(fd, 5).1, b"hello");
    assert_eq!(t.ok(nr::LSEEK, &[fd as u64, 0, 0, 1]), 5, "SEEK_CUR");
    assert_eq!(
        t.ok(nr::LSEEK, &[fd as u64, 0, (-5i64) as u64, 2]),
        6,
        "SEEK_END"
    );
    assert_eq!(
        t.e(nr::LSEEK, &[fd as u64, 0, (-100i64) as u64, 1]),
        EINVAL,
        "negative result"
    );
    assert_eq!(t.e(nr::LSEEK, &[fd as u64, 0, 0, 7]), EINVAL, "bad whence");
    let b = t.buf(5);
    assert_eq!(t.ok(nr::PREAD, &[fd as u64, b, 5, 0, 6]), 5);
    assert_eq!(t.mem.read(b, 5).unwrap(), b"world");
    assert_eq!(
        t.ok(nr::LSEEK, &[fd as u64, 0, 0, 1]),
        6,
        "pread leaves the offset"
    );
    let w = t.put(b"XY");
    t.ok(nr::PWRITE, &[fd as u64, w, 2, 0, 20]);
    assert_eq!(t.stat("/tmp/f").2, 22, "pwrite past the end leaves a hole");
    let (_, afd) = t.open("/tmp/f", O_WRONLY | O_APPEND, 0);
    t.write(afd, b"!");
    t.ok(nr::PWRITE, &[afd as u64, w, 2, 0, 0]);
    assert_eq!(t.stat("/tmp/f").2, 25, "O_APPEND appends, pwrite included");
    let (_, ro) = t.open("/tmp/f", O_RDONLY, 0);
    assert_eq!(t.write(ro, b"x").0, EBADF);
    assert_eq!(
        t.e(nr::FTRUNCATE, &[ro as u64, 0, 0]),
        EINVAL,
        "ftruncate on O_RDONLY"
    );
    t.ok(nr::FTRUNCATE, &[fd as u64, 0, 3]);
    assert_eq!(t.stat("/tmp/f").2, 3);
    assert_eq!(t.read(999, 1).0, EBADF);
}

#[test]
fn readv_writev() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/v", O_RDWR | O_CREAT, 0o644);
    let (a, b) = (t.put(b"abc"), t.put(b"defg"));
    let mut iov = Vec::new();
    for (p, n) in [(a, 3u64), (b, 4)] {
        iov.extend_from_slice(&p.to_le_bytes());
        iov.extend_from_slice(&n.to_le_bytes());
    }
    let iovp = t.put(&iov);
    assert_eq!(t.ok(nr::WRITEV, &[fd as u64, iovp, 2]), 7);
    assert_eq!(t.e(nr::WRITEV, &[fd as u64, iovp, 0]), EINVAL);
    assert_eq!(t.e(nr::WRITEV, &[fd as u64, iovp, 1025]), EINVAL);
    t.ok(nr::LSEEK, &[fd as u64, 0, 0, 0]);
    let (x, y) = (t.buf(2), t.buf(10));
    let mut iov = Vec::new();
    for (p, n) in [(x, 2u64), (y, 10)] {
        iov.extend_from_slice(&p.to_le_bytes());
        iov.extend_from_slice(&n.to_le_bytes());
    }
    let iovp = t.put(&iov);
    assert_eq!(t.ok(nr::READV, &[fd as u64, iovp, 2]), 7);
    assert_eq!(t.mem.read(x, 2).unwrap(), b"ab");
    assert_eq!(t.mem.read(y, 5).unwrap(), b"cdefg");
}

#[test]
fn directories_mkdir_rmdir_unlink_rename() {
    let mut t = T::new();
    assert_eq!(t.mkdir("/tmp/d", 0o755), 0);
    assert_eq!(t.mkdir("/tmp/d", 0o755), EEXIST);
    assert_eq!(t.mkdir("/tmp/x/y", 0o755), ENOENT);
    assert_eq!(t.mkdir("/tmp/d/sub", 0o755), 0);
    assert_eq!(t.stat("/tmp/d").3, 3, "nlink 2 + one subdirectory");
    let (_, fd) = t.open("/tmp/d/f", O_RDWR | O_CREAT, 0o644);
    t.ok(nr::CLOSE, &[fd as u64]);
    let d = t.s("/tmp/d");
    assert_eq!(t.e(nr::RMDIR, &[d]), ENOTEMPTY);
    assert_eq!(t.e(nr::UNLINK, &[d]), EPERM, "unlink of a directory");
    let f = t.s("/tmp/d/f");
    assert_eq!(t.e(nr::RMDIR, &[f]), ENOTDIR);
    let dot = t.s("/tmp/d/sub/.");
    assert_eq!(t.e(nr::RMDIR, &[dot]), EINVAL);
    let g = t.s("/tmp/d/g");
    t.ok(nr::RENAME, &[f, g]);
    assert_eq!(t.list("/tmp/d"), [".", "..", "sub", "g"]);
    let into_self = t.s("/tmp/d/sub/inner");
    assert_eq!(
        t.e(nr::RENAME, &[d, into_self]),
        EINVAL,
        "a directory into itself"
    );
    let sub = t.s("/tmp/d/sub");
    assert_eq!(
        t.e(nr::RENAME, &[g, sub]),
        EISDIR,
        "a file over a directory"
    );
    t.ok(nr::UNLINK, &[g]);
    t.ok(nr::RMDIR, &[sub]);
    t.ok(nr::RMDIR, &[d]);
    assert_eq!(t.stat("/tmp/d").0, ENOENT);
    // rumpfs (the root) has no rename; cross-mount renames are EXDEV
    let root_dir = t.s("/rd");
    t.ok(nr::MKDIR, &[root_dir, 0o755]);
    let root_dir2 = t.s("/rd2");
    assert_eq!(t.e(nr::RENAME, &[root_dir, root_dir2]), EOPNOTSUPP);
    let (_, fd) = t.open("/tmp/cross", O_RDWR | O_CREAT, 0o644);
    t.ok(nr::CLOSE, &[fd as u64]);
    let (c, rc) = (t.s("/tmp/cross"), t.s("/rd/cross"));
    assert_eq!(t.e(nr::LINK, &[c, rc]), EXDEV);
    t.k.check_invariants().unwrap();
}

#[test]
fn getdents_cookies_resume_and_reject_bogus_offsets() {
    let mut t = T::new();
    t.mkdir("/tmp/d", 0o755);
    for i in 0..10 {
        let (_, fd) = t.open(&format!("/tmp/d/file-{i:02}"), O_RDWR | O_CREAT, 0o644);
        t.ok(nr::CLOSE, &[fd as u64]);
    }
    let (_, fd) = t.open("/tmp/d", O_RDONLY | O_DIRECTORY, 0);
    let b = t.buf(64);
    assert_eq!(
        t.ok(nr::GETDENTS, &[fd as u64, b, 8]),
        0,
        "a buffer smaller than one record"
    );
    assert_eq!(t.ok(nr::GETDENTS, &[fd as u64, b, 64]), 56, ". .. file-00");
    assert_eq!(
        t.ok(nr::LSEEK, &[fd as u64, 0, 0, 1]),
        4,
        "cookie of file-01"
    );
    t.ok(nr::LSEEK, &[fd as u64, 0, 999, 0]);
    assert_eq!(
        t.e(nr::GETDENTS, &[fd as u64, b, 64]),
        EINVAL,
        "a cookie that names no entry"
    );
    let (_, f) = t.open("/tmp/d/file-00", O_RDONLY, 0);
    assert_eq!(
        t.e(nr::GETDENTS, &[f as u64, b, 64]),
        EINVAL,
        "not a directory"
    );
    assert_eq!(t.list("/tmp/d").len(), 12);
}

#[test]
fn symlinks_and_readlink() {
    let mut t = T::new();
    let (target, link) = (t.s("/tmp/real"), t.s("/tmp/link"));
    let (_, fd) = t.open("/tmp/real", O_RDWR | O_CREAT, 0o644);
    t.write(fd, b"data");
    t.ok(nr::SYMLINK, &[target, link]);
    let b = t.buf(64);
    assert_eq!(t.ok(nr::READLINK, &[link, b, 64]), 9);
    assert_eq!(t.mem.read(b, 9).unwrap(), b"/tmp/real");
    assert_eq!(t.stat("/tmp/link").2, 4, "stat follows");
    let lb = t.buf(152);
    t.ok(nr::LSTAT, &[link, lb]);
    assert_eq!(
        u32::from_le_bytes(t.mem.read(lb + 8, 4).unwrap().try_into().unwrap()) & 0o170000,
        0o120000
    );
    assert_eq!(t.e(nr::READLINK, &[target, b, 64]), EINVAL);
    assert_eq!(
        t.open("/tmp/link", O_RDONLY | 0x100, 0).0,
        79,
        "O_NOFOLLOW on a symlink: EFTYPE"
    );
    let (l1, l2) = (t.s("/tmp/l2"), t.s("/tmp/l1"));
    t.ok(nr::SYMLINK, &[l1, l2]);
    t.ok(nr::SYMLINK, &[l2, l1]);
    assert_eq!(t.open("/tmp/l1", O_RDONLY, 0).0, 62, "ELOOP");
}

#[test]
fn symlinks_inside_a_path_and_before_a_trailing_slash() {
    let mut t = T::new();
    assert_eq!(t.mkdir("/tmp/d", 0o755), 0);
    let (_, fd) = t.open("/tmp/d/f", O_RDWR | O_CREAT, 0o644);
    t.write(fd, b"xy");
    let link = |t: &mut T, target: &str, path: &str| {
        let (a, b) = (t.s(target), t.s(path));
        t.ok(nr::SYMLINK, &[a, b]);
    };
    link(&mut t, "d", "/tmp/rel");
    link(&mut t, "/tmp/d", "/tmp/abs");
    link(&mut t, "rel/f", "/tmp/chain");
    link(&mut t, "/tmp/d/f", "/tmp/flink");
    let (e, fd) = t.open("/tmp/rel/f", O_RDONLY, 0);
    assert_eq!(
        e, 0,
        "a relative link in the middle resolves from its directory"
    );
    assert_eq!(t.read(fd, 8).1, b"xy");
    assert_eq!(
        t.stat("/tmp/abs/f").2,
        2,
        "an absolute link restarts at the root"
    );
    assert_eq!(t.stat("/tmp/chain").2, 2, "a link through a link");
    assert_eq!(
        t.stat("/tmp/abs/").1 & 0o170000,
        0o040000,
        "a trailing slash follows"
    );
    assert_eq!(t.open("/tmp/flink/", O_RDONLY, 0).0, ENOTDIR);
    assert_eq!(t.stat("/tmp/abs/nothing").0, ENOENT);
    assert_eq!(t.stat("/tmp/flink/x").0, ENOTDIR);
}

#[test]
fn fd_table_dup2_dup3_fcntl() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.ok(nr::DUP2, &[fd as u64, 10]), 10);
    assert_eq!(
        t.sys(nr::DUP2, &[fd as u64, 1000]),
        (EBADF, 1000, 0),
        "the target is reported"
    );
    assert_eq!(t.ok(nr::DUP3, &[fd as u64, 11, O_CLOEXEC]), 11);
    assert_eq!(t.ok(nr::FCNTL, &[11, 1, 0]), 1, "F_GETFD: close-on-exec");
    assert_eq!(t.e(nr::DUP3, &[fd as u64, 12, 8]), EINVAL);
    assert_eq!(t.ok(nr::FCNTL, &[fd as u64, 0, 20]), 20, "F_DUPFD");
    assert_eq!(t.ok(nr::FCNTL, &[fd as u64, 3, 0]), 2, "F_GETFL: O_RDWR");
    t.ok(nr::FCNTL, &[fd as u64, 4, O_NONBLOCK | O_APPEND]);
    assert_eq!(
        t.ok(nr::FCNTL, &[fd as u64, 3, 0]),
        (2 | O_NONBLOCK | O_APPEND) as i64
    );
    assert_eq!(t.e(nr::FCNTL, &[fd as u64, 99, 0]), EINVAL);
    // exec closes close-on-exec descriptors
    t.k.exec(t.pid, b"newprog\0");
    assert_eq!(t.e(nr::FCNTL, &[11, 1, 0]), EBADF);
    assert_eq!(t.ok(nr::FCNTL, &[10, 1, 0]), 0);
    t.k.check_invariants().unwrap();
}

#[test]
fn pipes_block_eof_epipe_and_nonblock() {
    let mut t = T::new();
    let (e, r, w) = t.sys(nr::PIPE, &[]);
    assert_eq!((e, r, w), (0, 3, 4));
    assert_eq!(t.read(r, 10).0, -1, "a read on an empty pipe blocks");
    t.write(w, b"abc");
    assert_eq!(t.read(r, 10).1, b"abc");
    assert_eq!(t.e(nr::LSEEK, &[r as u64, 0, 0, 0]), ESPIPE);
    assert_eq!(t.write(r, b"x").0, EBADF, "write on the read end");
    t.ok(nr::CLOSE, &[w as u64]);
    assert_eq!(t.read(r, 10), (0, vec![]), "EOF once the writer is gone");
    let fds = t.buf(8);
    assert_eq!(t.sys(nr::PIPE2, &[fds, O_NONBLOCK]).0, 0);
    let both = t.mem.read(fds, 8).unwrap();
    let (r2, w2) = (
        i32::from_le_bytes(both[..4].try_into().unwrap()),
        i32::from_le_bytes(both[4..].try_into().unwrap()),
    );
    assert_eq!(t.read(r2 as i64, 1).0, EAGAIN);
    let big = vec![7u8; 16384];
    assert_eq!(t.write(w2 as i64, &big).1, 16384, "capacity 16384");
    assert_eq!(t.write(w2 as i64, b"x").0, EAGAIN);
    assert_eq!(t.e(nr::PIPE2, &[fds, 0x10]), EINVAL, "unknown pipe2 flag");
    // a write with no reader: EPIPE and SIGPIPE
    t.ok(nr::CLOSE, &[r2 as u64]);
    let block: Vec<u8> = [w2 as u64, t.put(b"x"), 1]
        .iter()
        .flat_map(|a| a.to_le_bytes())
        .collect();
    match rumpsp_sim_kernel::local::run_syscall(&mut t.k, &mut t.mem, t.pid, nr::WRITE, &block) {
        rumpsp_sim_kernel::local::Outcome::Done(d) => {
            assert_eq!(d.error, EPIPE);
            assert_eq!(d.signals, [13]);
        }
        other => panic!("{other:?}"),
    }
    t.k.check_invariants().unwrap();
}

#[test]
fn processes_fork_exit_reparent() {
    let mut t = T::new();
    assert_eq!(t.sys(nr::GETPID, &[]), (0, 2, 1));
    let (_, fd) = t.open("/tmp/shared", O_RDWR | O_CREAT, 0o644);
    let mid = t.k.prefork(t.pid).unwrap();
    let child = t.k.fork_child(mid).unwrap();
    assert_eq!(
        t.sys_as(child, nr::GETPID, &[]),
        (0, child as i64, 1),
        "the child's parent is init"
    );
    // the child shares the open file (and its offset)
    let b = t.put(b"from child");
    assert_eq!(t.sys_as(child, nr::WRITE, &[fd as u64, b, 10]).1, 10);
    assert_eq!(t.ok(nr::LSEEK, &[fd as u64, 0, 0, 1]), 10);
    t.k.exit(child);
    assert_eq!(
        t.sys_as(child, nr::GETPID, &[]).0,
        3,
        "ESRCH for a gone process"
    );
    t.k.exit(t.pid);
    t.k.check_invariants().unwrap();
    assert_eq!(t.k.t.files.len(), 0, "every descriptor closed");
}

#[test]
fn credentials_and_permissions() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/secret", O_RDWR | O_CREAT, 0o600);
    t.ok(nr::CLOSE, &[fd as u64]);
    t.mkdir("/tmp/open", 0o777);
    let open_dir = t.s("/tmp/open");
    assert_eq!(t.stat("/tmp/open").1, 0o40755, "umask 022 applies");
    t.ok(nr::CHMOD, &[open_dir, 0o777]);
    t.ok(nr::SETUID, &[1000]);
    assert_eq!(t.open("/tmp/secret", O_RDONLY, 0).0, EACCES);
    let s = t.s("/tmp/secret");
    assert_eq!(t.e(nr::CHMOD, &[s, 0o644]), EPERM);
    assert_eq!(t.e(nr::ACCESS, &[s, 4]), EACCES);
    assert_eq!(t.e(nr::SETUID, &[0]), EPERM);
    let (e, _) = t.open("/tmp/open/mine", O_RDWR | O_CREAT, 0o644);
    assert_eq!(e, 0);
    // writing a sysctl as non-root
    let mib = t.put(&[1, 0, 0, 0, 10, 0, 0, 0]);
    let new = t.s("x");
    assert_eq!(t.e(nr::SYSCTL, &[mib, 2, 0, 0, new, 2]), EPERM);
}

#[test]
fn getcwd_chdir() {
    let mut t = T::new();
    t.mkdir("/tmp/a", 0o755);
    let a = t.s("/tmp/a");
    t.ok(nr::CHDIR, &[a]);
    let b = t.buf(64);
    assert_eq!(t.ok(nr::GETCWD, &[b, 64]), 7);
    assert_eq!(t.mem.read(b, 7).unwrap(), b"/tmp/a\0");
    assert_eq!(t.e(nr::GETCWD, &[b, 3]), 34, "ERANGE");
    let (e, fd) = t.open("rel", O_RDWR | O_CREAT, 0o644);
    assert_eq!(e, 0, "relative to the cwd");
    t.ok(nr::CLOSE, &[fd as u64]);
    assert_eq!(t.stat("/tmp/a/rel").0, 0);
    let f = t.s("/tmp/a/rel");
    assert_eq!(t.e(nr::CHDIR, &[f]), ENOTDIR);
}

#[test]
fn mounts_statvfs_busy_readonly_and_limits() {
    let mut t = T::new();
    t.mkdir("/tmp/m", 0o755);
    let mut args = vec![0u8; 40];
    args[0] = 1;
    args[8..16].copy_from_slice(&10u64.to_le_bytes());
    args[16..24].copy_from_slice(&(64 * 1024u64).to_le_bytes());
    args[32..36].copy_from_slice(&0o755u32.to_le_bytes());
    let (a, ty, m) = (t.put(&args), t.s("tmpfs"), t.s("/tmp/m"));
    assert_eq!(t.e(nr::MOUNT, &[ty, m, 0, a, 40]), 0);
    let bad = t.s("nosuchfs");
    assert_eq!(t.e(nr::MOUNT, &[bad, m, 0, a, 40]), 19, "ENODEV");
    let (_, fd) = t.open("/tmp/m/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.write(fd, &vec![1u8; 100_000]).0, ENOSPC, "64 KiB limit");
    assert_eq!(t.e(22, &[m, 0]), EBUSY, "unmount while a file is open");
    t.ok(nr::CLOSE, &[fd as u64]);
    let buf = t.buf(2256);
    t.ok(nr::STATVFS1, &[m, buf, 1]);
    let sv = t.mem.read(buf, 2256).unwrap();
    assert_eq!(&sv[172..178], b"tmpfs\0");
    assert_eq!(&sv[204..211], b"/tmp/m\0");
    assert_eq!(t.ok(22, &[m, 0]), 0);
    let root = t.s("/");
    assert_eq!(t.e(22, &[root, 0]), EINVAL, "the root file system");
    // read-only
    assert_eq!(t.e(nr::MOUNT, &[ty, m, 1, a, 40]), 0);
    assert_eq!(t.open("/tmp/m/g", O_RDWR | O_CREAT, 0o644).0, EROFS);
}

#[test]
fn sysctl_reads_writes_and_short_buffers() {
    let mut t = T::new();
    let mib = t.put(&[1, 0, 0, 0, 1, 0, 0, 0]);
    let lenp = t.put(&0u64.to_le_bytes());
    t.ok(nr::SYSCTL, &[mib, 2, 0, lenp, 0, 0]);
    assert_eq!(
        t.mem.read(lenp, 8).unwrap(),
        7u64.to_le_bytes(),
        "size probe: strlen+1"
    );
    let buf = t.buf(16);
    t.mem.write(lenp, &16u64.to_le_bytes());
    t.ok(nr::SYSCTL, &[mib, 2, buf, lenp, 0, 0]);
    assert_eq!(t.mem.read(buf, 7).unwrap(), b"NetBSD\0");
    t.mem.write(lenp, &3u64.to_le_bytes());
    assert_eq!(
        t.e(nr::SYSCTL, &[mib, 2, buf, lenp, 0, 0]),
        12,
        "ENOMEM with a short buffer"
    );
    assert_eq!(
        t.mem.read(lenp, 8).unwrap(),
        7u64.to_le_bytes(),
        "the length needed"
    );
    let host = t.put(&[1, 0, 0, 0, 10, 0, 0, 0]);
    let new = t.s("newname");
    t.ok(nr::SYSCTL, &[host, 2, 0, 0, new, 8]);
    let long = t.put(&[b'x'; 300]);
    assert_eq!(t.e(nr::SYSCTL, &[host, 2, 0, 0, long, 300]), EINVAL);
    assert_eq!(t.e(nr::SYSCTL, &[mib, 0, 0, 0, 0, 0]), EINVAL, "namelen 0");
    assert_eq!(
        t.e(nr::SYSCTL, &[mib, 13, 0, 0, 0, 0]),
        EINVAL,
        "namelen 13"
    );
    let ro = t.put(&[1, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(
        t.e(nr::SYSCTL, &[ro, 2, 0, 0, new, 8]),
        EPERM,
        "read-only node"
    );
    let missing = t.put(&[1, 0, 0, 0, 83, 0, 0, 0]);
    assert_eq!(
        t.e(nr::SYSCTL, &[missing, 2, 0, lenp, 0, 0]),
        ENOENT,
        "kern.boottime is absent"
    );
    let past = t.put(&[1, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0]);
    assert_eq!(
        t.e(nr::SYSCTL, &[past, 3, 0, lenp, 0, 0]),
        ENOTDIR,
        "MIB past a leaf"
    );
}

#[test]
fn time_is_virtual_and_sleep_advances_it() {
    let mut t = T::new();
    let ts = t.buf(16);
    t.ok(nr::CLOCK_GETTIME, &[3, ts]);
    let before = i64::from_le_bytes(t.mem.read(ts, 8).unwrap().try_into().unwrap());
    let rq = t.put(&[5u64.to_le_bytes(), 0u64.to_le_bytes()].concat());
    let wall = std::time::Instant::now();
    t.ok(nr::NANOSLEEP, &[rq, 0]);
    assert!(
        wall.elapsed().as_secs() < 1,
        "a 5 s sleep takes no host time"
    );
    t.ok(nr::CLOCK_GETTIME, &[3, ts]);
    let after = i64::from_le_bytes(t.mem.read(ts, 8).unwrap().try_into().unwrap());
    assert_eq!(after - before, 5);
    assert_eq!(t.e(nr::CLOCK_GETTIME, &[99, ts]), EINVAL);
    let bad = t.put(&[0u64.to_le_bytes(), 1_000_000_000u64.to_le_bytes()].concat());
    assert_eq!(t.e(nr::NANOSLEEP, &[bad, 0]), EINVAL);
}

#[test]
fn unimplemented_calls_are_enosys() {
    let mut t = T::new();
    assert_eq!(t.e(37, &[1, 9]), ENOSYS, "kill");
    assert_eq!(t.e(2, &[]), ENOSYS, "fork");
    assert_eq!(
        t.e(394, &[2, 1, 0]),
        ENOSYS,
        "sockets: no networking in this kernel"
    );
}

#[test]
fn openat_and_unlinkat_relative_to_a_directory() {
    let mut t = T::new();
    t.mkdir("/tmp/d", 0o755);
    let (_, dfd) = t.open("/tmp/d", O_RDONLY | O_DIRECTORY, 0);
    let name = t.s("f");
    let fd = t.ok(nr::OPENAT, &[dfd as u64, name, O_RDWR | O_CREAT, 0o644]);
    assert!(fd > 0);
    assert_eq!(t.stat("/tmp/d/f").0, 0);
    t.ok(nr::UNLINKAT, &[dfd as u64, name, 0]);
    assert_eq!(t.stat("/tmp/d/f").0, ENOENT);
    let (_, ffd) = t.open("/tmp/x", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.e(nr::OPENAT, &[ffd as u64, name, 0, 0]), ENOTDIR);
    assert_eq!(t.e(nr::OPENAT, &[999, name, 0, 0]), EBADF);
}

#[test]
fn file_growth_is_bounded_by_the_kernel_memory() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/huge", O_RDWR | O_CREAT, 0o644);
    assert_eq!(
        t.e(nr::FTRUNCATE, &[fd as u64, 0, (1u64 << 40) - 1]),
        ENOSPC,
        "no terabyte file in 512 MiB"
    );
    let b = t.put(b"x");
    assert_eq!(
        t.e(nr::PWRITE, &[fd as u64, b, 1, 0, 1 << 39]),
        ENOSPC,
        "nor by writing far out"
    );
    assert_eq!(
        t.ok(nr::FTRUNCATE, &[fd as u64, 0, 1 << 20]),
        0,
        "a megabyte is fine"
    );
}

#[test]
fn the_memory_pool_is_configurable() {
    let mut t = T::with_config(rumpsp_sim_kernel::SimConfig {
        memory_pool: 1 << 20,
        ..Default::default()
    });
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.ok(nr::FTRUNCATE, &[fd as u64, 0, 512 << 10]), 0);
    assert_eq!(t.e(nr::FTRUNCATE, &[fd as u64, 0, 2 << 20]), ENOSPC);
    let b = t.put(b"x");
    assert_eq!(t.e(nr::PWRITE, &[fd as u64, b, 1, 0, 2 << 20]), ENOSPC);
    assert_eq!(t.ok(nr::PWRITE, &[fd as u64, b, 1, 0, 1000]), 1);
}

#[test]
fn byte_counts_above_ssize_max_are_einval_and_huge_ones_fault() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let b = t.put(b"x");
    assert_eq!(t.e(nr::WRITE, &[fd as u64, b, u64::MAX - 16]), EINVAL);
    assert_eq!(t.e(nr::READ, &[fd as u64, b, 1 << 63]), EINVAL);
    // within SSIZE_MAX but far more than the client has: the copy faults, nothing is allocated
    assert_eq!(
        t.e(nr::WRITE, &[fd as u64, b, 1 << 40]),
        ENOSPC,
        "no room for it anyway"
    );
    assert_eq!(t.e(nr::WRITE, &[fd as u64, b, 1 << 20]), EFAULT);
}

#[test]
fn file_data_accounting_follows_writes_truncates_and_frees() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.write(fd, &[7; 5000]).1, 5000);
    t.k.check_invariants().unwrap();
    t.ok(nr::FTRUNCATE, &[fd as u64, 0, 100]);
    t.k.check_invariants().unwrap();
    t.ok(nr::FTRUNCATE, &[fd as u64, 0, 9000]);
    t.k.check_invariants().unwrap();
    let path = t.s("/tmp/f");
    t.ok(nr::UNLINK, &[path]);
    t.k.check_invariants().unwrap();
    t.ok(nr::CLOSE, &[fd as u64]);
    t.k.check_invariants().unwrap();
    let used: u64 = t.k.vfs.mounts.values().map(|m| m.bytes_used).sum();
    assert_eq!(used, 0, "the freed file's data is no longer accounted");

    // the checker catches a count that drifts from the data held
    let (_, fd) = t.open("/tmp/g", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.write(fd, b"abc").1, 3);
    if let Some(m) = t.k.vfs.mounts.values_mut().find(|m| m.bytes_used == 3) {
        m.bytes_used = 4;
    }
    let e = t.k.check_invariants().unwrap_err();
    assert!(e.contains("accounted"), "{e}");
}

#[test]
fn file_data_past_the_pool_is_refused_and_would_be_caught() {
    let mut t = T::with_config(rumpsp_sim_kernel::SimConfig {
        memory_pool: 8192,
        ..Default::default()
    });
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    // nodes and names hold some of the pool: the data fills the rest
    let room = (8192 - t.k.pool_used()) as usize;
    assert_eq!(t.write(fd, &vec![1; room]).1, room as i64);
    assert_eq!(t.k.pool_used(), 8192);
    assert_eq!(t.write(fd, b"x").0, ENOSPC, "the pool is full");
    t.k.check_invariants().unwrap();
    // data grown behind the kernel's back, accounting included, breaks the pool bound
    for n in t.k.vfs.nodes.values_mut() {
        if let rumpsp_sim_kernel::vfs::NodeKind::File(d) = &mut n.kind {
            d.push(0);
        }
    }
    for m in t.k.vfs.mounts.values_mut().filter(|m| m.bytes_used > 0) {
        m.bytes_used += 1;
    }
    let e = t.k.check_invariants().unwrap_err();
    assert!(e.contains("pool"), "{e}");
}

#[test]
fn link_linkat_lchmod_and_posix_rename() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/a", O_RDWR | O_CREAT, 0o644);
    assert!(fd >= 0);
    let (a, s, nx) = (t.s("/tmp/a"), t.s("/tmp/s"), t.s("/tmp/nx"));
    t.ok(nr::SYMLINK, &[a, s]);
    // The second path is fetched only once the first resolves: an unmapped
    // second path gives ENOENT for a missing first path, EFAULT otherwise.
    let unmapped = 0xdead_0000;
    assert_eq!(t.e(nr::LINK, &[nx, unmapped]), ENOENT);
    assert_eq!(t.e(nr::LINK, &[a, unmapped]), EFAULT);
    // linkat: AT_SYMLINK_FOLLOW links the target, without it the symlink itself.
    let at_fdcwd = (-100i64) as u64;
    let (h1, h2) = (t.s("/tmp/h1"), t.s("/tmp/h2"));
    t.ok(457, &[at_fdcwd, s, at_fdcwd, h1, 0x400]);
    assert_eq!(t.stat("/tmp/a").3, 2, "h1 is a second link to a");
    t.ok(457, &[at_fdcwd, s, at_fdcwd, h2, 0]);
    assert_eq!(t.stat("/tmp/a").3, 2, "h2 links the symlink, not a");
    let h3 = t.s("/tmp/h3");
    // fd_nameiat checks a dirfd other than AT_FDCWD even for an absolute
    // path (the captures show unlinkat(999, "/tmp/") failing with EBADF).
    assert_eq!(t.e(457, &[999, s, at_fdcwd, h3, 0]), EBADF);
    assert_eq!(t.e(457, &[at_fdcwd, s, at_fdcwd, h3, 0]), 0);
    assert_eq!(t.e(457, &[at_fdcwd, s, at_fdcwd, h3, 0]), EEXIST);
    // lchmod changes the symlink, not its target.
    t.ok(274, &[s, 0o600]);
    assert_eq!(t.stat("/tmp/a").1 & 0o7777, 0o644);
    t.ok(nr::CHMOD, &[s, 0o600]);
    assert_eq!(t.stat("/tmp/a").1 & 0o7777, 0o600);
    assert_eq!(t.e(274, &[nx, 0o600]), ENOENT);
    assert_eq!(t.e(275, &[nx, 0, 0]), ENOENT);
    // __posix_rename is rename.
    let b = t.s("/tmp/b");
    t.ok(270, &[h1, b]);
    assert_eq!(t.stat("/tmp/h1").0, ENOENT);
    assert_eq!(t.stat("/tmp/b").3, 2);
}

/// mknod and mkfifo in `do_sys_mknodat`/`do_sys_mkfifoat` order: the path
/// first (ENOENT, EEXIST), then the type (EINVAL), then a VNOVAL device number
/// (EINVAL); the nodes they make stat as their type, and open as the recorded
/// server opens them (no fifofs: EOPNOTSUPP; no driver: ENXIO).
#[test]
fn mknod_and_mkfifo_make_devices_files_and_fifos() {
    const MKFIFO: u32 = 132;
    const MKNOD: u32 = 450;
    const MKNODAT: u32 = 460;
    const MKFIFOAT: u32 = 459;
    let vnoval = u64::MAX;
    let mut t = T::new();
    let (c, b, r, f, w) = (
        t.s("/tmp/c"),
        t.s("/tmp/b"),
        t.s("/tmp/r"),
        t.s("/tmp/f"),
        t.s("/tmp/w"),
    );
    t.ok(MKNOD, &[c, 0o020644, 0xfff07]);
    t.ok(MKNOD, &[b, 0o060600, 0xfff07]);
    t.ok(MKNOD, &[r, 0o100640, vnoval]);
    t.ok(MKFIFO, &[f, 0o7777]);
    assert_eq!(t.stat("/tmp/c"), (0, 0o020644, 0, 1));
    assert_eq!(t.stat("/tmp/b"), (0, 0o060600, 0, 1));
    assert_eq!(t.stat("/tmp/r"), (0, 0o100640, 0, 1));
    // ALLPERMS and the umask (022) apply to a fifo's mode.
    assert_eq!(t.stat("/tmp/f"), (0, 0o017755, 0, 1));
    // st_rdev: the number given, VNOVAL for a fifo or a file.
    let (pc, bufp) = (t.s("/tmp/c"), t.buf(152));
    t.ok(nr::STAT, &[pc, bufp]);
    let st = t.mem.read(bufp, 152).unwrap();
    assert_eq!(u64::from_le_bytes(st[40..48].try_into().unwrap()), 0xfff07);
    let (pf, bufp) = (t.s("/tmp/f"), t.buf(152));
    t.ok(nr::STAT, &[pf, bufp]);
    let st = t.mem.read(bufp, 152).unwrap();
    assert_eq!(u64::from_le_bytes(st[40..48].try_into().unwrap()), vnoval);
    // Errors: an existing name wins over a bad type or device number, a
    // missing directory over everything; the types mknod does not make are
    // EINVAL, and so is a device numbered VNOVAL.
    assert_eq!(t.e(MKNOD, &[c, 0o010644, 0]), EEXIST);
    assert_eq!(t.e(MKNOD, &[c, 0o020644, vnoval]), EEXIST);
    assert_eq!(t.e(MKFIFO, &[c, 0o644]), EEXIST);
    let nx = t.s("/tmp/nx/x");
    assert_eq!(t.e(MKNOD, &[nx, 0o040755, 0]), ENOENT);
    assert_eq!(t.e(MKFIFO, &[nx, 0o644]), ENOENT);
    for ty in [0o010000u64, 0o040000, 0o120000, 0o140000, 0, 0o170000] {
        assert_eq!(t.e(MKNOD, &[w, ty | 0o644, 0]), EINVAL, "type {ty:o}");
    }
    assert_eq!(t.e(MKNOD, &[w, 0o020644, vnoval]), EINVAL);
    assert_eq!(t.stat("/tmp/w").0, ENOENT, "nothing was made");
    // S_IFWHT succeeds and leaves the name free.
    t.ok(MKNOD, &[w, 0o160644, 0]);
    assert_eq!(t.stat("/tmp/w").0, ENOENT);
    // The *at forms check their dirfd (even before the type).
    let at_fdcwd = (-100i64) as u64;
    let rel = t.s("x");
    assert_eq!(t.e(MKNODAT, &[999, rel, 0o010644, 0, 0]), EBADF);
    assert_eq!(t.e(MKFIFOAT, &[999, rel, 0o644]), EBADF);
    let (f2, c2) = (t.s("/tmp/f2"), t.s("/tmp/c2"));
    t.ok(MKFIFOAT, &[at_fdcwd, f2, 0o600]);
    t.ok(MKNODAT, &[at_fdcwd, c2, 0o020600, 0, 0xfff07]);
    // Opening: no fifofs in the recorded server, no driver for 0xfff07.
    assert_eq!(t.open("/tmp/f", O_RDONLY | O_NONBLOCK, 0).0, EOPNOTSUPP);
    assert_eq!(t.open("/tmp/c", O_RDWR, 0).0, ENXIO);
    // Only root makes nodes (EPERM before the path is fetched).
    t.ok(nr::SETUID, &[1000]);
    assert_eq!(t.e(MKNOD, &[0xdead_0000, 0o020644, 0]), EPERM);
    t.k.check_invariants().unwrap();
}

/// do_sys_unlinkat's order (rmdir and unlink are unlinkat): a file-system
/// root is EBUSY before "." is EINVAL, a directory without AT_REMOVEDIR is
/// EPERM whatever other flag bits say, a non-directory with it ENOTDIR.
/// The calls built on fd_nameiat_simple_user check their dirfd before they
/// fetch the path; fstatat ignores flag bits other than AT_SYMLINK_NOFOLLOW.
#[test]
fn unlinkat_order_and_dirfd_before_path() {
    const FCHMODAT: u32 = 463;
    const FCHOWNAT: u32 = 464;
    const FSTATAT: u32 = 466;
    const LINKAT: u32 = 457;
    const AT_REMOVEDIR: u64 = 0x800;
    let at_fdcwd = (-100i64) as u64;
    let unmapped = 0xdead_0000;
    let mut t = T::new();
    assert_eq!(t.mkdir("/tmp/d", 0o755), 0);
    let (_, f) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let (tmp, root, dot, d, fp) = (
        t.s("/tmp"),
        t.s("/"),
        t.s("/tmp/d/."),
        t.s("/tmp/d"),
        t.s("/tmp/f"),
    );
    assert_eq!(t.e(nr::RMDIR, &[tmp]), EBUSY);
    assert_eq!(t.e(nr::RMDIR, &[root]), EBUSY);
    assert_eq!(t.e(nr::UNLINK, &[tmp]), EBUSY);
    assert_eq!(t.e(nr::RMDIR, &[dot]), EINVAL);
    assert_eq!(t.e(nr::UNLINKAT, &[at_fdcwd, d, 0x1]), EPERM);
    assert_eq!(
        t.e(nr::UNLINKAT, &[at_fdcwd, fp, AT_REMOVEDIR | 0x1]),
        ENOTDIR
    );
    assert_eq!(t.e(nr::RMDIR, &[fp]), ENOTDIR);
    assert_eq!(t.e(nr::UNLINKAT, &[at_fdcwd, d, AT_REMOVEDIR | 0x200]), 0);
    // dirfd before path: a bad dirfd with an unmapped path is EBADF (fetching
    // the path first would be EFAULT); a file as dirfd with a relative path is
    // ENOTDIR only after the path.
    assert_eq!(t.e(FCHMODAT, &[999, unmapped, 0o644, 0]), EBADF);
    assert_eq!(t.e(FCHOWNAT, &[999, unmapped, 0, 0, 0]), EBADF);
    assert_eq!(t.e(LINKAT, &[999, unmapped, at_fdcwd, unmapped, 0]), EBADF);
    assert_eq!(t.e(FCHMODAT, &[f as u64, unmapped, 0o644, 0]), EFAULT);
    // fstatat fetches the path first, then checks the dirfd; flag bit 1 is ignored.
    assert_eq!(t.e(FSTATAT, &[999, unmapped, 0, 0]), EFAULT);
    let b = t.buf(152);
    assert_eq!(t.e(FSTATAT, &[at_fdcwd, fp, b, 0x1]), 0);
    t.k.check_invariants().unwrap();
}

/// namei refuses to create ("EEXIST") or remove ("EBUSY") a name that is a
/// file system's root reached across its mount point, or "/" itself; a
/// rename target is found without crossing, so only "/" is EBUSY there.
/// link(2) follows symlinks and checks the new name before the directory
/// rule; renaming one link of a file onto another removes the source name;
/// open checks its dirfd, then its flags, before any lookup.
#[test]
fn crossed_names_links_and_open_order() {
    const RENAME: u32 = 128;
    let at_fdcwd = (-100i64) as u64;
    let mut t = T::new();
    assert_eq!(t.open("/tmp", O_RDWR | O_CREAT, 0o644).0, EEXIST);
    assert_eq!(t.open("/", O_RDONLY | O_CREAT, 0o644).0, EEXIST);
    assert_eq!(t.open("/tmp", O_RDONLY, 0).0, 0, "a plain lookup crosses");
    let (_, fd) = t.open("/tmp/a", O_RDWR | O_CREAT, 0o644);
    assert!(fd >= 0);
    let (tmp, root, a, c, d, s, b) = (
        t.s("/tmp"),
        t.s("/"),
        t.s("/tmp/a"),
        t.s("/tmp/c"),
        t.s("/tmp/d"),
        t.s("/tmp/s"),
        t.s("/tmp/b"),
    );
    assert_eq!(t.e(RENAME, &[tmp, c]), EBUSY);
    assert_eq!(t.e(RENAME, &[a, root]), EBUSY);
    assert_ne!(t.e(RENAME, &[a, tmp]), EBUSY, "the target's parent is /");
    // link follows a symlink to its target; a dangling one is ENOENT before
    // the new name is fetched.
    t.ok(nr::SYMLINK, &[a, s]);
    t.ok(nr::LINK, &[s, b]);
    assert_eq!(t.stat("/tmp/a").3, 2, "b links a, not the symlink");
    let (nx, dangling) = (t.s("/tmp/nx"), t.s("/tmp/dl"));
    t.ok(nr::SYMLINK, &[nx, dangling]);
    assert_eq!(t.e(nr::LINK, &[dangling, 0xdead_0000]), ENOENT);
    assert_eq!(t.mkdir("/tmp/d", 0o755), 0);
    assert_eq!(t.e(nr::LINK, &[d, d]), EEXIST, "EEXIST before EPERM");
    assert_eq!(t.e(nr::LINK, &[d, c]), EPERM);
    // rename of one link onto the other: the source name goes.
    t.ok(RENAME, &[b, a]);
    assert_eq!(t.stat("/tmp/b").0, ENOENT);
    assert_eq!(t.stat("/tmp/a").3, 1);
    t.ok(RENAME, &[a, a]);
    assert_eq!(t.stat("/tmp/a").3, 1, "the same name is left alone");
    // __posix_rename keeps both names of one file.
    t.ok(nr::LINK, &[a, b]);
    t.ok(270, &[b, a]);
    assert_eq!(t.stat("/tmp/b").3, 2, "both names stay");
    // open: the dirfd before the flags, the flags before the lookup.
    let rel = t.s("nx/y");
    assert_eq!(t.e(nr::OPENAT, &[999, rel, 3, 0]), EBADF);
    assert_eq!(t.e(nr::OPENAT, &[at_fdcwd, rel, 3, 0]), EINVAL);
    assert_eq!(
        t.e(nr::OPENAT, &[at_fdcwd, rel, O_CREAT | O_DIRECTORY, 0]),
        EINVAL
    );
    assert_eq!(t.open("/tmp/d", O_CREAT | O_DIRECTORY, 0).0, EINVAL);
    assert_eq!(t.e(nr::OPENAT, &[at_fdcwd, rel, O_RDONLY, 0]), ENOENT);
    t.k.check_invariants().unwrap();
}

/// __getcwd names a directory through stacked mounts, fails with ERANGE when
/// the path does not fit (however deep), and reports the length even when
/// its copyout faults.
#[test]
fn getcwd_through_stacked_mounts_deep_paths_and_faults() {
    let mut t = T::new();
    t.mount_tmpfs("/tmp");
    assert_eq!(t.mkdir("/tmp/d", 0o755), 0);
    assert_eq!(t.mkdir("/tmp/d/a", 0o755), 0);
    let p = t.s("/tmp/d/a");
    t.ok(nr::CHDIR, &[p]);
    let b = t.buf(64);
    assert_eq!(t.ok(nr::GETCWD, &[b, 64]), 9);
    let got = t.mem.read(b, 9).unwrap();
    assert_eq!(got, b"/tmp/d/a\0");
    // A fault: EFAULT, with the length the kernel had set.
    assert_eq!(t.sys(nr::GETCWD, &[0, 64]), (EFAULT, 9, 0));
    // 300 levels of "dd": 901 bytes fit in 1024, 600 levels (1801) do not fit
    // in 1024 but fit in 4096; the kernel caps the buffer at 4 * MAXPATHLEN.
    let dd = t.s("dd");
    for _ in 0..600 {
        t.ok(nr::MKDIR, &[dd, 0o755]);
        t.ok(nr::CHDIR, &[dd]);
    }
    let big = t.buf(8192);
    assert_eq!(t.e(nr::GETCWD, &[big, 1024]), 34, "ERANGE");
    let n = t.ok(nr::GETCWD, &[big, 8192]);
    assert_eq!(n, 9 + 600 * 3);
    let path = t.mem.read(big, n as usize).unwrap();
    assert!(path.starts_with(b"/tmp/d/a/dd/dd/"));
    for _ in 0..800 {
        t.ok(nr::MKDIR, &[dd, 0o755]);
        t.ok(nr::CHDIR, &[dd]);
    }
    assert_eq!(t.e(nr::GETCWD, &[big, 8192]), 34, "4201 bytes: past 4096");
}

/// rumpfs (the root file system) lists no "." or "..", newest entry first,
/// with an entry index as offset, and keeps rump_vop_readdir's quirk: an
/// entry that does not fit leaves the offset one below its index.
#[test]
fn rumpfs_readdir_has_no_dots_lists_newest_first_and_steps_back() {
    let mut t = T::new();
    assert_eq!(t.mkdir("/x", 0o755), 0);
    assert_eq!(t.list("/"), ["x", "tmp", "dev"]);
    assert!(
        t.list("/x").is_empty(),
        "an empty rumpfs directory lists nothing"
    );
    let (_, fd) = t.open("/", O_RDONLY | O_DIRECTORY, 0);
    let b = t.buf(4096);
    // 30 bytes hold the 16-byte record of "x", not the 24 of "tmp" too.
    assert_eq!(t.ok(nr::GETDENTS, &[fd as u64, b, 30]), 16);
    let again = t.ok(nr::GETDENTS, &[fd as u64, b, 4096]);
    let data = t.mem.read(b, again as usize).unwrap();
    assert_eq!(&data[13..14], b"x", "the offset went back to 0");
    assert_eq!(again, 16 + 24 * 2);
    assert_eq!(t.ok(nr::GETDENTS, &[fd as u64, b, 4096]), 0, "then the end");
    // An empty buffer: nothing, and the offset stays.
    t.ok(nr::LSEEK, &[fd as u64, 0, 0, 0]);
    assert_eq!(t.ok(nr::GETDENTS, &[fd as u64, b, 0]), 0);
    assert_eq!(t.ok(nr::LSEEK, &[fd as u64, 0, 0, 1]), 0);
    // A buffer too small for the first record: nothing, and the index wraps.
    t.ok(nr::LSEEK, &[fd as u64, 0, 0, 0]);
    assert_eq!(t.ok(nr::GETDENTS, &[fd as u64, b, 8]), 0);
    assert_eq!(t.ok(nr::LSEEK, &[fd as u64, 0, 0, 1]), u32::MAX as i64);
}

/// rename refuses a source of "." or ".." (EINVAL) before it looks at the
/// target; a target of ".." at a file system's root belongs to the file
/// system below (rumpfs here: EOPNOTSUPP); elsewhere it is EINVAL.
#[test]
fn rename_dot_dot_source_and_target() {
    const RENAME: u32 = 128;
    let mut t = T::new();
    let tmp = t.s("/tmp");
    t.ok(nr::CHDIR, &[tmp]);
    let (_, fd) = t.open("a", O_RDWR | O_CREAT, 0o644);
    assert!(fd >= 0);
    assert_eq!(t.mkdir("x", 0o755), 0);
    let (a, dd, xdd, nx) = (t.s("a"), t.s(".."), t.s("x/.."), t.s("nx/nx"));
    assert_eq!(t.e(RENAME, &[dd, a]), EINVAL);
    assert_eq!(t.e(RENAME, &[dd, nx]), EINVAL, "before the target's lookup");
    assert_eq!(t.e(RENAME, &[a, dd]), EOPNOTSUPP);
    assert_eq!(t.e(RENAME, &[a, xdd]), EINVAL);
}

/// Stat details from the captures and the sources: chown clears S_ISUID when
/// a uid is given and S_ISGID when a gid is (NetBSD semantics, root
/// included), __posix_chown only for non-root; a utimes time of -1 seconds
/// (VNOVAL) is left alone; a pipe's write end reports st_blksize 0 once its
/// reader is gone; a rumpfs file has one block whatever its size.
#[test]
fn setid_bits_vnoval_times_pipe_blksize_and_rumpfs_blocks() {
    const FCHOWN: u32 = 123;
    const POSIX_FCHOWN: u32 = 284;
    const UTIMES: u32 = 420;
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/s", O_RDWR | O_CREAT, 0o6755);
    let fd = fd as u64;
    let mode = |t: &mut T| t.stat("/tmp/s").1 & 0o7777;
    assert_eq!(mode(&mut t), 0o6755);
    t.ok(POSIX_FCHOWN, &[fd, 0, 0]);
    assert_eq!(mode(&mut t), 0o6755, "root keeps them under POSIX rules");
    t.ok(FCHOWN, &[fd, u32::MAX as u64, 0]);
    assert_eq!(mode(&mut t), 0o4755, "a gid given clears S_ISGID");
    t.ok(FCHOWN, &[fd, 0, u32::MAX as u64]);
    assert_eq!(mode(&mut t), 0o0755, "a uid given clears S_ISUID");
    // utimes: seconds -1 leave that time alone.
    let p = t.s("/tmp/s");
    let tv = t.put(&[5i64, 0, 7, 0].map(i64::to_le_bytes).concat());
    t.ok(UTIMES, &[p, tv]);
    let keep = t.put(&[-1i64, 500_000, -1, -1].map(i64::to_le_bytes).concat());
    t.ok(UTIMES, &[p, keep]);
    let b = t.buf(152);
    t.ok(nr::STAT, &[p, b]);
    let st = t.mem.read(b, 152).unwrap();
    let sec = |off: usize| i64::from_le_bytes(st[off..off + 8].try_into().unwrap());
    assert_eq!((sec(48), sec(64)), (5, 7), "atime and mtime kept");
    // A pipe's write end: its reader's buffer size, 0 without a reader.
    let fds = t.buf(8);
    t.ok(nr::PIPE2, &[fds, 0]);
    let pair = t.mem.read(fds, 8).unwrap();
    let (r, w) = (
        u32::from_le_bytes(pair[0..4].try_into().unwrap()) as u64,
        u32::from_le_bytes(pair[4..8].try_into().unwrap()) as u64,
    );
    let blksize = |t: &mut T, fd: u64| {
        let b = t.buf(152);
        t.ok(nr::FSTAT, &[fd, b]);
        let st = t.mem.read(b, 152).unwrap();
        i32::from_le_bytes(st[128..132].try_into().unwrap())
    };
    assert_eq!(blksize(&mut t, w), 16384);
    t.ok(nr::CLOSE, &[r]);
    assert_eq!(blksize(&mut t, w), 0);
    // rumpfs: one block for a file of any size.
    let (_, rf) = t.open("/big", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.write(rf, &vec![1; 70_000]).1, 70_000);
    let (pb, b) = (t.s("/big"), t.buf(152));
    t.ok(nr::STAT, &[pb, b]);
    let st = t.mem.read(b, 152).unwrap();
    assert_eq!(i64::from_le_bytes(st[120..128].try_into().unwrap()), 1);
}

/// An empty path is ENOENT even with a file as dirfd (namei checks it
/// before the starting directory); a missing name with a trailing slash can
/// only become a directory (rename of a file, symlink and link to it are
/// ENOENT); rename of a file or a directory onto "." is EISDIR.
#[test]
fn empty_paths_trailing_slashes_and_rename_onto_dot() {
    const RENAME: u32 = 128;
    const RENAMEAT: u32 = 458;
    let mut t = T::new();
    let (_, f) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.mkdir("/tmp/d", 0o755), 0);
    let (empty, c, fp, dot, ns, d, nd) = (
        t.s(""),
        t.s("c"),
        t.s("/tmp/f"),
        t.s("/tmp/."),
        t.s("/tmp/n/"),
        t.s("/tmp/d"),
        t.s("/tmp/nd/"),
    );
    assert_eq!(t.e(RENAMEAT, &[f as u64, empty, f as u64, c]), ENOENT);
    assert_eq!(t.e(RENAMEAT, &[f as u64, c, f as u64, c]), ENOTDIR);
    assert_eq!(t.e(RENAME, &[fp, ns]), ENOENT);
    assert_eq!(t.e(nr::SYMLINK, &[fp, ns]), ENOENT);
    assert_eq!(t.e(nr::LINK, &[fp, ns]), ENOENT);
    assert_eq!(t.e(RENAME, &[fp, dot]), EISDIR);
    assert_eq!(t.e(RENAME, &[d, dot]), EISDIR);
    assert_eq!(
        t.e(RENAME, &[d, nd]),
        0,
        "a directory may take a slashed name"
    );
    assert_eq!(t.stat("/tmp/nd").0, 0);
}

/// tmpfs lists nothing, not even "." and "..", for a directory removed
/// while it is open.
#[test]
fn a_removed_open_directory_lists_nothing() {
    let mut t = T::new();
    assert_eq!(t.mkdir("/tmp/d", 0o755), 0);
    let (_, fd) = t.open("/tmp/d", O_RDONLY | O_DIRECTORY, 0);
    let b = t.buf(4096);
    assert_eq!(t.ok(nr::GETDENTS, &[fd as u64, b, 4096]), 32, ". and ..");
    t.ok(nr::LSEEK, &[fd as u64, 0, 0, 0]);
    let d = t.s("/tmp/d");
    t.ok(nr::RMDIR, &[d]);
    assert_eq!(t.ok(nr::GETDENTS, &[fd as u64, b, 4096]), 0);
    // Nothing can be removed from it either, "." included.
    t.ok(13, &[fd as u64]);
    let dot = t.s(".");
    assert_eq!(t.e(nr::RMDIR, &[dot]), ENOENT);
}

/// statvfs1 takes the statistics only with MNT_WAIT or 0 (and keeps them);
/// MNT_NOWAIT, MNT_LAZY and other values report the ones kept, as at mount
/// time (dostatvfs), which the captures show after files were created.
#[test]
fn statvfs_nowait_reports_the_statistics_last_taken() {
    let mut t = T::new();
    let p = t.s("/tmp");
    let files = |t: &mut T, flags: u64| {
        let b = t.buf(2256);
        t.ok(nr::STATVFS1, &[p, b, flags]);
        let st = t.mem.read(b, 2256).unwrap();
        u64::from_le_bytes(st[64..72].try_into().unwrap())
    };
    let at_mount = files(&mut t, 2);
    for name in ["/tmp/a", "/tmp/b", "/tmp/c"] {
        let (e, _) = t.open(name, O_RDWR | O_CREAT, 0o644);
        assert_eq!(e, 0);
    }
    assert_eq!(files(&mut t, 2), at_mount, "MNT_NOWAIT: as at mount");
    assert_eq!(files(&mut t, 3), at_mount, "MNT_LAZY");
    assert_eq!(files(&mut t, 0x63), at_mount, "another value");
    assert_eq!(files(&mut t, 1), at_mount + 3, "MNT_WAIT: taken now");
    assert_eq!(files(&mut t, 2), at_mount + 3, "and kept");
    let (e, _) = t.open("/tmp/d", O_RDWR | O_CREAT, 0o644);
    assert_eq!(e, 0);
    assert_eq!(files(&mut t, 0), at_mount + 4, "0 takes them too");
}

/// The root rumpfs is mounted without taking its statistics: until a
/// statvfs with MNT_WAIT, MNT_NOWAIT reports no block size and no blocks.
#[test]
fn the_root_rumpfs_reports_no_block_size_until_its_statistics_are_taken() {
    let mut t = T::new();
    let root = t.s("/");
    let sizes = |t: &mut T, flags: u64| {
        let b = t.buf(2256);
        t.ok(nr::STATVFS1, &[root, b, flags]);
        let st = t.mem.read(b, 2256).unwrap();
        let w = |i: usize| u64::from_le_bytes(st[i * 8..i * 8 + 8].try_into().unwrap());
        (w(1), w(2), w(3), w(4))
    };
    assert_eq!(
        sizes(&mut t, 2),
        (0, 0, 512, 0),
        "bsize, frsize, iosize, blocks"
    );
    assert_eq!(sizes(&mut t, 1), (512, 512, 512, 2));
    assert_eq!(sizes(&mut t, 2), (512, 512, 512, 2), "kept");
}

/// O_TRUNC empties a file whatever the access mode (vn_open), after asking
/// for write permission.
#[test]
fn o_trunc_empties_a_file_opened_read_only() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/a", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.write(fd, b"hello").1, 5);
    let (e, _) = t.open("/tmp/a", O_RDONLY | O_TRUNC, 0);
    assert_eq!(e, 0);
    assert_eq!(t.stat("/tmp/a").2, 0);
    t.ok(nr::SETUID, &[1000]);
    assert_eq!(t.open("/tmp/a", O_RDONLY | O_TRUNC, 0).0, EACCES);
}

/// getvfsstat with a buffer at the very end of the address space: the record
/// addresses wrap as do_sys_getvfsstat's pointer arithmetic does (no panic),
/// and the count is of the records written.
#[test]
fn getvfsstat_at_the_end_of_the_address_space_wraps_instead_of_panicking() {
    let mut t = T::new();
    let (e, n, _) = t.sys(483, &[u64::MAX - 99, 4 * 2256, 2]);
    assert_eq!((e, n), (0, 2), "/ and /tmp");
}
