//! Process calls: resource limits, set-id, process groups and sessions,
//! login names, chroot, file flags, and the signal calls a rump kernel lacks.

mod common;

use common::*;
use rumpsp_protocol::kernel::Kernel;

const FCHFLAGS: u32 = 35;
const CHFLAGS: u32 = 34;
const KILL: u32 = 37;
const GETLOGIN: u32 = 49;
const SETLOGIN: u32 = 50;
const CHROOT: u32 = 61;
const GETPGRP: u32 = 81;
const SETPGID: u32 = 82;
const GETRANDOM: u32 = 91;
const SETREUID: u32 = 126;
const SETREGID: u32 = 127;
const SETSID: u32 = 147;
const GETRLIMIT: u32 = 194;
const SETRLIMIT: u32 = 195;
const GETPGID: u32 = 207;
const GETSID: u32 = 286;
const SIGPROCMASK: u32 = 293;
const FCHROOT: u32 = 297;
const LCHFLAGS: u32 = 304;
const GETUID: u32 = 24;
const GETGID: u32 = 47;
const SETEUID: u32 = 183;
const FCHDIR: u32 = 13;
const ISSETUGID: u32 = 305;
const UNMOUNT: u32 = 22;

const ESRCH: i32 = 3;
const RLIMIT_FSIZE: u64 = 1;
const RLIMIT_STACK: u64 = 3;
const RLIMIT_NOFILE: u64 = 8;
const INF: u64 = i64::MAX as u64;
const NEG1: u64 = u32::MAX as u64;

fn getrlimit(t: &mut T, which: u64) -> (i32, u64, u64) {
    let b = t.buf(16);
    let e = t.e(GETRLIMIT, &[which, b]);
    let v = t.mem.read(b, 16).unwrap();
    let w = |i: usize| u64::from_le_bytes(v[i..i + 8].try_into().unwrap());
    (e, w(0), w(8))
}

fn setrlimit(t: &mut T, which: u64, cur: u64, max: u64) -> i32 {
    let mut v = cur.to_le_bytes().to_vec();
    v.extend_from_slice(&max.to_le_bytes());
    let b = t.put(&v);
    t.e(SETRLIMIT, &[which, b])
}

/// A second guest process (root, cwd "/").
fn other(t: &mut T) -> i32 {
    t.k.spawn_guest(b"other\0").unwrap()
}

/// Drops the test process to uid/gid 100.
fn become_user(t: &mut T) {
    assert_eq!(t.e(181, &[100]), 0, "setgid");
    assert_eq!(t.e(nr::SETUID, &[100]), 0);
}

fn getcwd(t: &mut T) -> (i32, String) {
    let b = t.buf(256);
    let (e, n, _) = t.sys(nr::GETCWD, &[b, 256]);
    if e != 0 {
        return (e, String::new());
    }
    let v = t.mem.read(b, n as usize - 1).unwrap();
    (e, String::from_utf8(v).unwrap())
}

// ---- signals and getrandom: not in a 7.99.34 rump kernel ----

#[test]
fn kill_sigprocmask_and_getrandom_answer_enosys_as_a_rump_kernel_does() {
    let mut t = T::new();
    let pid = t.pid as u64;
    assert_eq!(t.e(KILL, &[pid, 0]), ENOSYS);
    assert_eq!(t.e(KILL, &[pid, 15]), ENOSYS);
    let set = t.put(&[0xff; 16]);
    assert_eq!(t.e(SIGPROCMASK, &[1, set, 0]), ENOSYS);
    let b = t.buf(16);
    assert_eq!(t.e(GETRANDOM, &[b, 16, 0]), ENOSYS);
}

// ---- getrlimit / setrlimit ----

#[test]
fn getrlimit_reports_the_recorded_boot_limits_and_refuses_bad_numbers() {
    let mut t = T::new();
    assert_eq!(getrlimit(&mut t, RLIMIT_FSIZE), (0, INF, INF));
    assert_eq!(getrlimit(&mut t, RLIMIT_NOFILE), (0, 128, 1772));
    assert_eq!(getrlimit(&mut t, RLIMIT_STACK), (0, 4_194_304, 134_217_728));
    assert_eq!(getrlimit(&mut t, 12).0, EINVAL);
    assert_eq!(getrlimit(&mut t, u32::MAX as u64).0, EINVAL, "-1");
    assert_eq!(t.e(GETRLIMIT, &[RLIMIT_FSIZE, 0]), EFAULT);
}

#[test]
fn setrlimit_fsize_makes_write_past_it_raise_sigxfsz_and_fail_efbig() {
    let mut t = T::new();
    assert_eq!(setrlimit(&mut t, RLIMIT_FSIZE, 10, INF), 0);
    assert_eq!(getrlimit(&mut t, RLIMIT_FSIZE), (0, 10, INF));
    let (e, fd) = t.open("/tmp/f", O_CREAT | O_RDWR, 0o644);
    assert_eq!(e, 0);
    assert_eq!(t.write(fd, b"0123456789"), (0, 10));
    let b = t.put(b"x");
    let block: Vec<u8> = [fd as u64, b, 1]
        .iter()
        .flat_map(|a| a.to_le_bytes())
        .collect();
    match rumpsp_sim_kernel::local::run_syscall(&mut t.k, &mut t.mem, t.pid, nr::WRITE, &block) {
        rumpsp_sim_kernel::local::Outcome::Done(d) => {
            assert_eq!((d.error, d.signals), (EFBIG, vec![25]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.stat("/tmp/f").2, 10, "nothing written");
}

#[test]
fn setrlimit_checks_number_order_and_privilege_as_dosetrlimit() {
    let mut t = T::new();
    // the limit is copied in first: a NULL pointer faults even with a bad number
    assert_eq!(t.e(SETRLIMIT, &[99, 0]), EFAULT);
    assert_eq!(setrlimit(&mut t, 12, 1, 1), EINVAL);
    assert_eq!(setrlimit(&mut t, RLIMIT_FSIZE, 2, 1), EINVAL, "cur > max");
    become_user(&mut t);
    // lowering works, raising the hard limit does not, the soft one up to it does
    assert_eq!(setrlimit(&mut t, RLIMIT_FSIZE, 100, 1000), 0);
    assert_eq!(setrlimit(&mut t, RLIMIT_FSIZE, 100, 1001), EPERM);
    assert_eq!(setrlimit(&mut t, RLIMIT_FSIZE, 1000, 1000), 0);
    assert_eq!(getrlimit(&mut t, RLIMIT_FSIZE), (0, 1000, 1000));
    // root may raise it again
    let mut r = T::new();
    assert_eq!(setrlimit(&mut r, RLIMIT_FSIZE, 5, 5), 0);
    assert_eq!(setrlimit(&mut r, RLIMIT_FSIZE, INF, INF), 0);
    assert_eq!(getrlimit(&mut r, RLIMIT_FSIZE), (0, INF, INF));
}

#[test]
fn setrlimit_caps_descriptors_at_maxfiles_and_the_soft_limit_bounds_fds() {
    let mut t = T::new();
    assert_eq!(setrlimit(&mut t, RLIMIT_NOFILE, INF, INF), 0);
    assert_eq!(getrlimit(&mut t, RLIMIT_NOFILE), (0, 1772, 1772));
    assert_eq!(setrlimit(&mut t, RLIMIT_NOFILE, 4, 1772), 0);
    // fds 0-2 are the console: one more fits
    assert_eq!(t.open("/tmp/a", O_CREAT | O_RDWR, 0o644), (0, 3));
    assert_eq!(t.open("/tmp/b", O_CREAT | O_RDWR, 0o644).0, EMFILE);
    let (e, r, _) = t.sys(nr::DUP2, &[3, 4]);
    assert_eq!((e, r), (EBADF, 4));
    assert_eq!(t.e(nr::FCNTL, &[3, 0, 4]), EINVAL, "F_DUPFD at the limit");
    // the stack limit is capped at MAXSSIZ and rounded to a page
    assert_eq!(setrlimit(&mut t, RLIMIT_STACK, 5000, INF), 0);
    assert_eq!(getrlimit(&mut t, RLIMIT_STACK), (0, 8192, 134_217_728));
}

#[test]
fn rlimits_are_per_process_inherited_by_fork_and_shown_by_sysctl() {
    let mut t = T::new();
    assert_eq!(setrlimit(&mut t, RLIMIT_FSIZE, 77, 88), 0);
    let child = t.k.prefork(t.pid).unwrap();
    let fresh = other(&mut t);
    let b = t.buf(16);
    assert_eq!(t.sys_as(child, GETRLIMIT, &[RLIMIT_FSIZE, b]).0, 0);
    assert_eq!(t.mem.read(b, 8).unwrap(), 77u64.to_le_bytes());
    assert_eq!(t.sys_as(fresh, GETRLIMIT, &[RLIMIT_FSIZE, b]).0, 0);
    assert_eq!(t.mem.read(b, 8).unwrap(), INF.to_le_bytes());
    // proc.curproc.rlimit.filesize.soft reads and writes the caller's limit
    let sysctl = |t: &mut T, pid: i32, mib: &[i32], new: Option<u64>| {
        let m: Vec<u8> = mib.iter().flat_map(|x| x.to_le_bytes()).collect();
        let mp = t.put(&m);
        let old = t.buf(8);
        let lenp = t.put(&8u64.to_le_bytes());
        let (np, nl) = match new {
            Some(v) => (t.put(&v.to_le_bytes()), 8),
            None => (0, 0),
        };
        let e = t
            .sys_as(pid, nr::SYSCTL, &[mp, mib.len() as u64, old, lenp, np, nl])
            .0;
        (
            e,
            u64::from_le_bytes(t.mem.read(old, 8).unwrap().try_into().unwrap()),
        )
    };
    let me = t.pid;
    assert_eq!(
        sysctl(&mut t, me, &[10, 0x7fff_ffff, 2, 2, 1], None),
        (0, 77)
    );
    assert_eq!(
        sysctl(&mut t, me, &[10, 0x7fff_ffff, 2, 2, 2], Some(99)),
        (0, 88)
    );
    assert_eq!(getrlimit(&mut t, RLIMIT_FSIZE), (0, 77, 99));
    assert_eq!(
        sysctl(&mut t, me, &[10, 0x7fff_ffff, 2, 2, 1], Some(100)).0,
        EINVAL,
        "soft > hard"
    );
    assert_eq!(
        sysctl(&mut t, me, &[10, fresh, 2, 2, 1], None),
        (0, INF),
        "by pid"
    );
    assert_eq!(sysctl(&mut t, me, &[10, 9999, 2, 2, 1], None).0, ESRCH);
}

// ---- setreuid / setregid ----

#[test]
fn setreuid_sets_real_effective_and_saved_ids_with_netbsd_rules() {
    let mut t = T::new();
    assert_eq!(t.sys(ISSETUGID, &[]).1, 0);
    assert_eq!(t.e(SETREUID, &[100, 200]), 0);
    assert_eq!(t.sys(GETUID, &[]), (0, 100, 200));
    assert_eq!(t.sys(ISSETUGID, &[]).1, 1);
    // the saved uid became 200 (the real uid changed): effective may be
    // the real or the saved one, nothing else
    assert_eq!(t.e(SETREUID, &[NEG1, 100]), 0);
    assert_eq!(t.e(SETEUID, &[200]), 0, "back to the saved uid");
    assert_eq!(t.e(SETREUID, &[NEG1, 300]), EPERM);
    assert_eq!(t.e(SETREUID, &[300, NEG1]), EPERM);
    // swapping real and effective is allowed
    assert_eq!(t.e(SETREUID, &[200, 100]), 0);
    assert_eq!(t.sys(GETUID, &[]), (0, 200, 100));
}

#[test]
fn setregid_sets_gids_and_refuses_foreign_ones_without_root() {
    let mut t = T::new();
    assert_eq!(t.e(SETREGID, &[50, 60]), 0);
    assert_eq!(t.sys(GETGID, &[]), (0, 50, 60));
    assert_eq!(t.e(nr::SETUID, &[100]), 0);
    assert_eq!(t.e(SETREGID, &[NEG1, 70]), EPERM);
    assert_eq!(t.e(SETREGID, &[60, 50]), 0);
    assert_eq!(t.sys(GETGID, &[]), (0, 60, 50));
}

// ---- process groups and sessions ----

#[test]
fn a_new_process_is_in_group_and_session_zero() {
    let mut t = T::new();
    assert_eq!(t.sys(GETPGRP, &[]), (0, 0, 0));
    assert_eq!(t.sys(GETPGID, &[0]), (0, 0, 0));
    assert_eq!(t.sys(GETPGID, &[1]), (0, 0, 0), "init");
    assert_eq!(t.sys(GETSID, &[0]), (0, 0, 0));
    assert_eq!(t.e(GETPGID, &[9999]), ESRCH);
    assert_eq!(t.e(GETSID, &[9999]), ESRCH);
    assert_eq!(t.e(GETSID, &[u32::MAX as u64]), ESRCH, "-1");
}

#[test]
fn setsid_makes_a_session_and_group_once() {
    let mut t = T::new();
    let me = t.pid as i64;
    assert_eq!(t.sys(SETSID, &[]), (0, me, 0));
    assert_eq!(t.sys(GETSID, &[0]).1, me);
    assert_eq!(t.sys(GETPGRP, &[]).1, me);
    // a group leader cannot make another session; retval still holds the pid
    assert_eq!(t.sys(SETSID, &[]), (EPERM, me, 0));
    // a session leader may only stay in its group
    assert_eq!(t.e(SETPGID, &[0, 0]), 0);
    assert_eq!(t.e(SETPGID, &[0, 1]), EPERM);
    t.k.check_invariants().unwrap();
}

#[test]
fn setpgid_makes_and_joins_groups_of_itself_and_its_children() {
    let mut t = T::new();
    let me = t.pid;
    assert_eq!(t.e(SETPGID, &[0, u32::MAX as u64]), EINVAL, "negative pgid");
    assert_eq!(t.e(SETPGID, &[0, 1]), EPERM, "no group 1 and not our pid");
    assert_eq!(t.e(SETPGID, &[9999, 0]), ESRCH);
    let stranger = other(&mut t);
    assert_eq!(t.e(SETPGID, &[stranger as u64, 0]), ESRCH, "not a child");
    assert_eq!(t.e(SETPGID, &[0, 0]), 0);
    assert_eq!(t.sys(GETPGRP, &[]).1, i64::from(me));
    assert_eq!(t.sys(GETSID, &[0]).1, 0, "same session");
    assert_eq!(t.e(SETSID, &[]), EPERM, "a group leader");
    // a child joins our group, or makes its own
    let child = t.k.prefork(me).unwrap();
    assert_eq!(
        t.sys(GETPGID, &[child as u64]).1,
        i64::from(me),
        "inherited"
    );
    assert_eq!(t.e(SETPGID, &[child as u64, 0]), 0);
    assert_eq!(t.sys(GETPGID, &[child as u64]).1, i64::from(child));
    assert_eq!(t.e(SETPGID, &[child as u64, me as u64]), 0);
    assert_eq!(t.sys(GETPGID, &[child as u64]).1, i64::from(me));
    // an exec'd child stays in reach: a rump kernel's exec sets no PK_EXEC
    t.k.exec(child, b"sh");
    assert_eq!(t.e(SETPGID, &[child as u64, 0]), 0);
    assert_eq!(t.sys(GETPGID, &[child as u64]).1, i64::from(child));
    assert_eq!(t.e(SETPGID, &[child as u64, me as u64]), 0);
    // once the child is in a session of its own it is out of reach
    assert_eq!(t.sys_as(child, SETSID, &[]).0, 0);
    assert_eq!(t.e(SETPGID, &[child as u64, me as u64]), EPERM);
    t.k.check_invariants().unwrap();
    t.k.exit(child);
    t.k.check_invariants().unwrap();
    assert!(
        !t.k.t.sessions.contains_key(&child),
        "its session went with it"
    );
}

// ---- __getlogin / __setlogin ----

#[test]
fn login_names_belong_to_the_session() {
    let mut t = T::new();
    let b = t.put(&[0xaa; 20]);
    assert_eq!(t.e(GETLOGIN, &[b, 20]), 0);
    assert_eq!(
        t.mem.read(b, 20).unwrap(),
        [&[0u8; 16][..], &[0xaa; 4]].concat()
    );
    let name = t.s("alice");
    assert_eq!(t.e(SETLOGIN, &[name]), 0);
    let b = t.put(&[0xaa; 8]);
    assert_eq!(t.e(GETLOGIN, &[b, 3]), 0);
    assert_eq!(t.mem.read(b, 8).unwrap(), b"ali\xaa\xaa\xaa\xaa\xaa");
    assert_eq!(t.e(GETLOGIN, &[0, 0]), 0, "nothing to copy");
    // the other processes of session 0 see it; a new session starts with it
    let o = other(&mut t);
    let b = t.buf(16);
    assert_eq!(t.sys_as(o, GETLOGIN, &[b, 16]).0, 0);
    assert_eq!(&t.mem.read(b, 6).unwrap(), b"alice\0");
    assert_eq!(t.sys_as(o, SETSID, &[]).0, 0);
    let bob = t.s("bob");
    assert_eq!(t.sys_as(o, SETLOGIN, &[bob]).0, 0);
    let b = t.buf(16);
    assert_eq!(t.e(GETLOGIN, &[b, 16]), 0);
    assert_eq!(
        &t.mem.read(b, 6).unwrap(),
        b"alice\0",
        "session 0 unchanged"
    );
}

#[test]
fn setlogin_needs_root_and_a_name_of_at_most_sixteen_bytes() {
    let mut t = T::new();
    let sixteen = t.s("abcdefghijklmnop");
    assert_eq!(t.e(SETLOGIN, &[sixteen]), 0);
    let b = t.buf(16);
    assert_eq!(t.e(GETLOGIN, &[b, 64]), 0);
    assert_eq!(&t.mem.read(b, 16).unwrap(), b"abcdefghijklmnop");
    let long = t.s("abcdefghijklmnopq");
    assert_eq!(t.e(SETLOGIN, &[long]), EINVAL);
    assert_eq!(t.e(SETLOGIN, &[0]), EFAULT);
    become_user(&mut t);
    assert_eq!(
        t.e(SETLOGIN, &[0]),
        EPERM,
        "the privilege check comes first"
    );
}

// ---- chroot / fchroot ----

#[test]
fn chroot_confines_lookups_and_getcwd_below_the_new_root() {
    let mut t = T::new();
    assert_eq!(t.mkdir("/tmp/jail", 0o755), 0);
    assert_eq!(t.mkdir("/tmp/jail/sub", 0o755), 0);
    assert_eq!(t.open("/tmp/jail/f", O_CREAT | O_RDWR, 0o644).0, 0);
    let p = t.s("/tmp/jail");
    assert_eq!(t.e(CHROOT, &[p]), 0);
    assert_eq!(
        t.sys(ISSETUGID, &[]).1,
        1,
        "change_root changes the credentials"
    );
    assert_eq!(getcwd(&mut t), (0, "/".into()), "cwd moved under the root");
    assert_eq!(t.stat("/f").0, 0);
    assert_eq!(t.stat("/tmp").0, ENOENT);
    assert_eq!(t.stat("/../../f").0, 0, "\"..\" at the root stays there");
    let dd = t.s("..");
    assert_eq!(t.e(nr::CHDIR, &[dd]), 0);
    assert_eq!(getcwd(&mut t), (0, "/".into()));
    let sub = t.s("/sub");
    assert_eq!(t.e(nr::CHDIR, &[sub]), 0);
    assert_eq!(getcwd(&mut t), (0, "/sub".into()));
    // an absolute symlink target resolves inside the root
    let (target, link) = (t.s("/f"), t.s("/sub/l"));
    assert_eq!(t.e(nr::SYMLINK, &[target, link]), 0);
    assert_eq!(t.stat("/sub/l").0, 0);
    t.k.check_invariants().unwrap();
}

#[test]
fn chroot_keeps_a_cwd_already_below_it() {
    let mut t = T::new();
    assert_eq!(t.mkdir("/tmp/jail", 0o755), 0);
    assert_eq!(t.mkdir("/tmp/jail/sub", 0o755), 0);
    let sub = t.s("/tmp/jail/sub");
    assert_eq!(t.e(nr::CHDIR, &[sub]), 0);
    let p = t.s("/tmp/jail");
    assert_eq!(t.e(CHROOT, &[p]), 0);
    assert_eq!(getcwd(&mut t), (0, "/sub".into()));
    // a cwd renamed out from under the root has no path from it
    let o = other(&mut t);
    let (from, to) = (t.s("/tmp/jail/sub"), t.s("/tmp/out"));
    assert_eq!(t.sys_as(o, nr::RENAME, &[from, to]).0, 0);
    assert_eq!(getcwd(&mut t).0, ENOENT);
}

#[test]
fn chroot_refuses_non_root_missing_paths_and_files() {
    let mut t = T::new();
    assert_eq!(t.open("/tmp/file", O_CREAT | O_RDWR, 0o644).0, 0);
    let (missing, file) = (t.s("/tmp/none"), t.s("/tmp/file"));
    assert_eq!(t.e(CHROOT, &[missing]), ENOENT);
    assert_eq!(t.e(CHROOT, &[file]), ENOTDIR);
    assert_eq!(t.e(CHROOT, &[0]), EFAULT);
    become_user(&mut t);
    assert_eq!(
        t.e(CHROOT, &[0]),
        EPERM,
        "checked before the path is fetched"
    );
    assert_eq!(t.e(FCHROOT, &[999]), EPERM);
}

#[test]
fn fchroot_takes_a_directory_descriptor_and_fchdir_cannot_leave_the_root() {
    let mut t = T::new();
    assert_eq!(t.mkdir("/tmp/jail", 0o755), 0);
    let (_, outside) = t.open("/tmp", O_RDONLY, 0);
    let (_, jail) = t.open("/tmp/jail", O_RDONLY, 0);
    let (_, file) = t.open("/tmp/jail/f", O_CREAT | O_RDWR, 0o644);
    assert_eq!(t.e(FCHROOT, &[999]), EBADF);
    assert_eq!(t.e(FCHROOT, &[0]), EINVAL, "the console is no vnode");
    assert_eq!(t.e(FCHROOT, &[file as u64]), ENOTDIR);
    assert_eq!(t.e(FCHROOT, &[jail as u64]), 0);
    assert_eq!(t.stat("/f").0, 0);
    assert_eq!(t.e(FCHDIR, &[outside as u64]), EPERM);
    assert_eq!(t.e(FCHDIR, &[jail as u64]), 0);
}

#[test]
fn a_chroot_directory_keeps_its_file_system_busy() {
    let mut t = T::new();
    assert_eq!(t.mkdir("/tmp/m", 0o755), 0);
    t.mount_tmpfs("/tmp/m");
    let o = other(&mut t);
    let p = t.s("/tmp/m");
    assert_eq!(t.sys_as(o, CHROOT, &[p]).0, 0);
    // its root (and its cwd, moved there) hold the mount until it exits
    assert_eq!(t.e(UNMOUNT, &[p, 0]), EBUSY);
    t.k.exit(o);
    assert_eq!(t.e(UNMOUNT, &[p, 0]), 0);
    t.k.check_invariants().unwrap();
}

// ---- chflags / fchflags / lchflags ----

const UF_NODUMP: u64 = 0x1;
const UF_OPAQUE: u64 = 0x8;
const SF_ARCHIVED: u64 = 0x1_0000;

#[test]
fn chflags_sets_flags_that_stat_shows() {
    let mut t = T::new();
    assert_eq!(t.open("/tmp/f", O_CREAT | O_RDWR, 0o644).0, 0);
    let p = t.s("/tmp/f");
    assert_eq!(t.e(CHFLAGS, &[p, UF_NODUMP | SF_ARCHIVED]), 0);
    assert_eq!(t.st_flags("/tmp/f"), (0, 0x1_0001));
    // VNOVAL sets nothing
    assert_eq!(t.e(CHFLAGS, &[p, u64::MAX]), 0);
    assert_eq!(t.st_flags("/tmp/f").1, 0x1_0001);
    // only the low 32 bits reach tmpfs_chflags
    assert_eq!(t.e(CHFLAGS, &[p, 1 << 32]), 0);
    assert_eq!(t.st_flags("/tmp/f").1, 0);
    let missing = t.s("/tmp/none");
    assert_eq!(t.e(CHFLAGS, &[missing, 1]), ENOENT);
    assert_eq!(t.e(CHFLAGS, &[0, 1]), EFAULT);
}

#[test]
fn lchflags_changes_the_link_and_fchflags_the_open_file() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_CREAT | O_RDONLY, 0o644);
    let (target, link) = (t.s("f"), t.s("/tmp/l"));
    assert_eq!(t.e(nr::SYMLINK, &[target, link]), 0);
    assert_eq!(t.e(LCHFLAGS, &[link, UF_OPAQUE]), 0);
    assert_eq!(t.st_flags("/tmp/l").1, 0x8);
    assert_eq!(t.st_flags("/tmp/f").1, 0);
    assert_eq!(t.e(CHFLAGS, &[link, UF_NODUMP]), 0, "follows the link");
    assert_eq!(t.st_flags("/tmp/f").1, 0x1);
    assert_eq!(
        t.e(FCHFLAGS, &[fd as u64, 0]),
        0,
        "a read-only descriptor will do"
    );
    assert_eq!(t.st_flags("/tmp/f").1, 0);
    assert_eq!(t.e(FCHFLAGS, &[999, 0]), EBADF);
    let (e, rfd, _) = t.sys(nr::PIPE, &[]);
    assert_eq!(e, 0);
    assert_eq!(t.e(FCHFLAGS, &[rfd as u64, 0]), EINVAL);
}

#[test]
fn only_root_changes_system_flags_and_only_owners_user_flags() {
    let mut t = T::new();
    assert_eq!(t.open("/tmp/mine", O_CREAT | O_RDWR, 0o644).0, 0);
    assert_eq!(t.open("/tmp/roots", O_CREAT | O_RDWR, 0o644).0, 0);
    let (mine, roots) = (t.s("/tmp/mine"), t.s("/tmp/roots"));
    assert_eq!(t.e(16, &[mine, 100, 100]), 0, "chown");
    let dev = t.s("/tmp/dev");
    assert_eq!(
        t.e(450, &[dev, 0o20644, 0x100]),
        0,
        "mknod a character device"
    );
    assert_eq!(t.e(16, &[dev, 100, 100]), 0);
    assert_eq!(t.e(CHFLAGS, &[mine, SF_ARCHIVED]), 0, "root");
    become_user(&mut t);
    // the system flags must stay as they are
    assert_eq!(t.e(CHFLAGS, &[mine, UF_NODUMP]), EPERM);
    assert_eq!(t.e(CHFLAGS, &[mine, SF_ARCHIVED | UF_NODUMP]), 0);
    assert_eq!(t.st_flags("/tmp/mine").1, 0x1_0001);
    assert_eq!(t.e(CHFLAGS, &[roots, UF_NODUMP]), EPERM, "not the owner");
    assert_eq!(t.e(CHFLAGS, &[dev, UF_NODUMP]), EPERM, "a device");
}

#[test]
fn chflags_is_erofs_on_a_read_only_tmpfs_and_whole_on_rumpfs() {
    let mut t = T::new();
    assert_eq!(t.mkdir("/tmp/ro", 0o755), 0);
    let mut args = vec![0u8; 40];
    args[0] = 1;
    args[32..36].copy_from_slice(&0o777u32.to_le_bytes());
    let (a, ty, p) = (t.put(&args), t.s("tmpfs"), t.s("/tmp/ro"));
    assert_eq!(t.e(nr::MOUNT, &[ty, p, 1, a, 40]), 0, "MNT_RDONLY");
    assert_eq!(t.e(CHFLAGS, &[p, UF_NODUMP]), EROFS);
    // rumpfs (the root file system) stores any value
    let root = t.s("/dev");
    assert_eq!(t.e(CHFLAGS, &[root, 0xdead_0001]), 0);
    assert_eq!(t.st_flags("/dev").1, 0xdead_0001);
}
