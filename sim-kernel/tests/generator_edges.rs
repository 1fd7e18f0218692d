//! Edge cases the differential generator can draw (its argument pools) that
//! the visible captures exercise rarely or never, checked against NetBSD's code.

mod common;

use common::*;

fn symlink(t: &mut T, target: &str, link: &str) -> i32 {
    let a = t.s(target);
    let b = t.s(link);
    t.e(nr::SYMLINK, &[a, b])
}

#[test]
fn an_empty_symlink_is_enoent_wherever_namei_follows_it() {
    // vfs_lookup.c namei_follow: linklen == 0 is ENOENT, also with a rest
    let mut t = T::new();
    assert_eq!(symlink(&mut t, "", "/tmp/sd"), 0);
    assert_eq!(t.open("/tmp/sd", O_RDONLY, 0).0, ENOENT);
    assert_eq!(t.open("/tmp/sd/", O_RDONLY, 0).0, ENOENT, "not the root");
    assert_eq!(t.stat("/tmp/sd/.").0, ENOENT);
    assert_eq!(t.mkdir("/tmp/sd/x", 0o755), ENOENT);
    assert_eq!(t.stat("/x").0, ENOENT, "nothing made in the root");
    assert_eq!(t.mkdir("/tmp/sd", 0o755), EEXIST, "the link itself exists");
}

#[test]
fn a_link_text_and_the_rest_of_the_path_must_fit_in_maxpathlen() {
    // namei_follow: linklen + ni_pathlen >= MAXPATHLEN is ENAMETOOLONG;
    // ni_pathlen is what follows the link's name, slashes and NUL included
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/a", O_RDWR | O_CREAT, 0o644);
    assert!(fd >= 0);
    let p = t.s("/tmp");
    t.ok(nr::CHDIR, &[p]);
    let t1023 = "./".repeat(511) + "a";
    assert_eq!(symlink(&mut t, &t1023, "sl"), 0, "1023 bytes and NUL fit");
    assert_eq!(t.open("sl", O_RDONLY, 0).0, ENAMETOOLONG);
    assert_eq!(t.stat("sl/").0, ENAMETOOLONG);
    let t1021 = "./".repeat(510) + "a";
    assert_eq!(symlink(&mut t, &t1021, "s2"), 0);
    assert_eq!(t.open("s2", O_RDONLY, 0).0, 0, "1021 + 1 < 1024");
    assert_eq!(t.open("./s2", O_RDONLY, 0).0, 0);
    assert_eq!(t.open("s2/", O_RDONLY, 0).0, ENOTDIR, "1021 + 2 fits");
    assert_eq!(t.open("s2//", O_RDONLY, 0).0, ENAMETOOLONG, "1021 + 3");
}

fn pathconf(t: &mut T, path: &str, name: u64) -> (i32, i64) {
    let p = t.s(path);
    let (e, r, _) = t.sys(PATHCONF, &[p, name]);
    (e, r)
}

const PATHCONF: u32 = 191;
const MKFIFO: u32 = 132;

#[test]
fn pathconf_of_a_tmpfs_fifo_is_eopnotsupp_as_the_missing_fifofs_answers() {
    // tmpfs_fifoops.h: tmpfs_fifo_pathconf is vn_fifo_bypass; rumpfs.c's stub
    // fifo_vnodeop_p has only vn_default_error (EOPNOTSUPP)
    let mut t = T::new();
    let p = t.s("/tmp/p");
    assert_eq!(t.e(MKFIFO, &[p, 0o644]), 0);
    for name in [1, 4, 5, 6, 99] {
        assert_eq!(
            pathconf(&mut t, "/tmp/p", name).0,
            EOPNOTSUPP,
            "name {name}"
        );
    }
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    assert!(fd >= 0);
    assert_eq!(pathconf(&mut t, "/tmp/f", 4), (0, 255), "a file answers");
}

#[test]
fn pathconf_in_the_rumpfs_root_answers_as_rump_vop_pathconf() {
    // rumpfs.c rump_vop_pathconf: FILESIZEBITS 43, SYMLINK_MAX MAXPATHLEN,
    // 2_SYMLINKS 1, NAME_MAX RUMPFS_MAXNAMLEN (255)
    let mut t = T::new();
    assert_eq!(pathconf(&mut t, "/", 11), (0, 43));
    assert_eq!(pathconf(&mut t, "/tmp/..", 12), (0, 1024));
    assert_eq!(pathconf(&mut t, "/", 13), (0, 1));
    assert_eq!(pathconf(&mut t, "/", 4), (0, 255));
    assert_eq!(pathconf(&mut t, "/", 14).0, EINVAL);
    // tmpfs (the mount on /tmp) keeps its own answers
    assert_eq!(pathconf(&mut t, "/tmp", 11), (0, 64));
    assert_eq!(pathconf(&mut t, "/tmp", 12).0, EINVAL);
    assert_eq!(pathconf(&mut t, "/tmp", 13).0, EINVAL);
}

fn pipe2(t: &mut T, flags: u64) -> (i64, i64) {
    let fds = t.buf(8);
    t.ok(nr::PIPE2, &[fds, flags]);
    let v = t.mem.read(fds, 8).unwrap();
    (
        i32::from_le_bytes(v[0..4].try_into().unwrap()) as i64,
        i32::from_le_bytes(v[4..8].try_into().unwrap()) as i64,
    )
}

fn blksize(t: &mut T, fd: i64) -> i32 {
    let b = t.buf(152);
    t.ok(nr::FSTAT, &[fd as u64, b]);
    let st = t.mem.read(b, 152).unwrap();
    // struct stat (NetBSD amd64): st_blksize at 128
    i32::from_le_bytes(st[128..132].try_into().unwrap())
}

#[test]
fn a_large_write_into_an_empty_pipe_grows_its_buffer_to_big_pipe_size() {
    // sys_pipe.c pipe_write: resid > PIPE_SIZE, the buffer empty and
    // nbigpipe < maxbigpipes: pipespace(BIG_PIPE_SIZE) before the copy loop
    let mut t = T::new();
    let (r, w) = pipe2(&mut t, O_NONBLOCK);
    assert_eq!(blksize(&mut t, r), 16384);
    let big = t.buf(70000);
    assert_eq!(t.sys(nr::WRITE, &[w as u64, big, 65536]).1, 65536);
    assert_eq!(blksize(&mut t, r), 65536);
    assert_eq!(
        t.e(nr::WRITE, &[w as u64, big, 1]),
        EAGAIN,
        "full at 64 KiB"
    );
    assert_eq!(t.read(r, 70000).1.len(), 65536);
    // not empty: no resize, and a pipe stays big
    let (r2, w2) = pipe2(&mut t, O_NONBLOCK);
    assert_eq!(t.write(w2, b"x").1, 1);
    assert_eq!(t.sys(nr::WRITE, &[w2 as u64, big, 65536]).1, 16383);
    assert_eq!(blksize(&mut t, r2), 16384);
    // a write that faults still resized the buffer first
    let (r3, w3) = pipe2(&mut t, O_NONBLOCK);
    assert_eq!(t.e(nr::WRITE, &[w3 as u64, 0, 65536]), EFAULT);
    assert_eq!(blksize(&mut t, r3), 65536);
    assert_eq!(t.sys(nr::WRITE, &[w3 as u64, big, 20000]).1, 20000);
    assert_eq!(t.sys(nr::WRITE, &[w3 as u64, big, 4097]).1, 4097);
}

fn fstatat(t: &mut T, fd: i64, path: &str) -> (i32, u32) {
    let p = t.s(path);
    let b = t.buf(152);
    let e = t.e(FSTATAT, &[fd as u64, p, b, 0]);
    let st = t.mem.read(b, 152).unwrap();
    (e, u32::from_le_bytes(st[24..28].try_into().unwrap()))
}

const FSTATAT: u32 = 466;

#[test]
fn a_removed_tmpfs_directory_answers_only_a_cached_dot() {
    // tmpfs_lookup: "Treat an unlinked directory as empty (no "." or "..")":
    // ENOENT after a cache_lookup miss; a "(dir, ".")" entry entered by an
    // earlier LOOKUP still hits
    let mut t = T::new();
    t.mkdir("/tmp/d", 0o755);
    t.mkdir("/tmp/e", 0o755);
    let (_, d) = t.open("/tmp/d", O_RDONLY | O_DIRECTORY, 0);
    let (_, e) = t.open("/tmp/e", O_RDONLY | O_DIRECTORY, 0);
    assert_eq!(fstatat(&mut t, e, "."), (0, 2), "caches (e, \".\")");
    let (pd, pe) = (t.s("/tmp/d"), t.s("/tmp/e"));
    t.ok(nr::RMDIR, &[pd]);
    t.ok(nr::RMDIR, &[pe]);
    assert_eq!(fstatat(&mut t, d, ".").0, ENOENT, "never cached");
    assert_eq!(fstatat(&mut t, d, "..").0, ENOENT, "tn_parent gone");
    assert_eq!(fstatat(&mut t, e, "..").0, ENOENT, "\"..\" is never cached");
    assert_eq!(fstatat(&mut t, e, "."), (0, 0), "the cached dot, nlink 0");
    // a DELETE of the last "." drops the entry (no MAKEENTRY) and misses
    let dot = t.s(".");
    assert_eq!(t.e(nr::UNLINKAT, &[e as u64, dot, 0x800]), ENOENT);
    assert_eq!(fstatat(&mut t, e, ".").0, ENOENT, "dropped");
    // getcwd in a removed directory: ENOENT
    t.mkdir("/tmp/c", 0o755);
    let pc = t.s("/tmp/c");
    t.ok(nr::CHDIR, &[pc]);
    t.ok(nr::RMDIR, &[pc]);
    let b = t.buf(1024);
    assert_eq!(t.e(nr::GETCWD, &[b, 1024]), ENOENT);
    assert_eq!(t.stat(".").0, ENOENT);
    assert_eq!(t.open("x", O_RDWR | O_CREAT, 0o644).0, ENOENT);
}

#[test]
fn a_create_does_not_cache_dot_but_a_lookup_through_it_does() {
    // tmpfs_lookup enters its result at done: unless cn_nameiop is CREATE;
    // every component but the last has MAKEENTRY
    let mut t = T::new();
    t.mkdir("/tmp/d", 0o755);
    t.mkdir("/tmp/e", 0o755);
    let (_, d) = t.open("/tmp/d", O_RDONLY | O_DIRECTORY, 0);
    let (_, e) = t.open("/tmp/e", O_RDONLY | O_DIRECTORY, 0);
    let (p1, p2) = (t.s("./x"), t.s("./x"));
    let (_, _, _) = t.sys(nr::OPENAT, &[d as u64, p1, O_RDWR | O_CREAT, 0o644]);
    assert_eq!(
        fstatat(&mut t, e, "./nothing").0,
        ENOENT,
        "caches (e, \".\")"
    );
    let _ = p2;
    let (x, pd, pe) = (t.s("/tmp/d/x"), t.s("/tmp/d"), t.s("/tmp/e"));
    t.ok(nr::UNLINK, &[x]);
    t.ok(nr::RMDIR, &[pd]);
    t.ok(nr::RMDIR, &[pe]);
    assert_eq!(
        fstatat(&mut t, d, ".").0,
        ENOENT,
        "a CREATE entered nothing"
    );
    assert_eq!(fstatat(&mut t, e, ".").0, 0);
}

#[test]
fn rmdir_and_rename_purge_the_dot_entries_of_their_directories() {
    // tmpfs_rmdir: cache_purge(dvp); genfs_rename_cache_purge: fdvp, tdvp
    // and directory fvp/tvp
    let mut t = T::new();
    for d in ["/tmp/d", "/tmp/d/sub", "/tmp/e", "/tmp/f"] {
        t.mkdir(d, 0o755);
    }
    let (_, d) = t.open("/tmp/d", O_RDONLY | O_DIRECTORY, 0);
    let (_, e) = t.open("/tmp/e", O_RDONLY | O_DIRECTORY, 0);
    assert_eq!(fstatat(&mut t, d, ".").0, 0);
    assert_eq!(fstatat(&mut t, e, ".").0, 0);
    let sub = t.s("/tmp/d/sub");
    t.ok(nr::RMDIR, &[sub]);
    let (pe, pe2) = (t.s("/tmp/e"), t.s("/tmp/e2"));
    t.ok(nr::RENAME, &[pe, pe2]);
    let (pd, pe2b) = (t.s("/tmp/d"), t.s("/tmp/e2"));
    t.ok(nr::RMDIR, &[pd]);
    t.ok(nr::RMDIR, &[pe2b]);
    assert_eq!(
        fstatat(&mut t, d, ".").0,
        ENOENT,
        "purged by the rmdir in it"
    );
    assert_eq!(fstatat(&mut t, e, ".").0, ENOENT, "purged by its rename");
}
