//! poll, __pollts50, __select50, advisory locks (fcntl and flock), clock
//! setting, itimers, posix_fadvise, posix_fallocate and clock_nanosleep, as
//! NetBSD 7.99.34 answers them.

mod common;

use common::*;
use rumpsp_protocol::kernel::Kernel;

const POLL: u32 = 209;
const SELECT: u32 = 417;
const POLLTS: u32 = 437;

const POLLIN: i16 = 0x1;
const POLLPRI: i16 = 0x2;
const POLLOUT: i16 = 0x4;
const POLLHUP: i16 = 0x10;
const POLLNVAL: i16 = 0x20;
const POLLRDNORM: i16 = 0x40;

/// A pipe of the test process: (read end, write end).
fn pipe(t: &mut T) -> (i64, i64) {
    let fds = t.buf(8);
    t.ok(nr::PIPE2, &[fds, 0]);
    let b = t.mem.read(fds, 8).unwrap();
    (
        i64::from(i32::from_le_bytes(b[0..4].try_into().unwrap())),
        i64::from(i32::from_le_bytes(b[4..8].try_into().unwrap())),
    )
}

/// A pollfd array in client memory.
fn pollfds(t: &mut T, fds: &[(i64, i16)]) -> u64 {
    let mut v = Vec::new();
    for &(fd, ev) in fds {
        v.extend_from_slice(&(fd as i32).to_le_bytes());
        v.extend_from_slice(&ev.to_le_bytes());
        v.extend_from_slice(&0x7777i16.to_le_bytes());
    }
    t.put(&v)
}

/// The revents of a pollfd array of `n` entries.
fn revents(t: &T, a: u64, n: usize) -> Vec<i16> {
    let b = t.mem.read(a, n * 8).unwrap();
    b.chunks(8)
        .map(|e| i16::from_le_bytes([e[6], e[7]]))
        .collect()
}

/// poll with a timeout of 0: (errno, count, revents).
fn poll_now(t: &mut T, fds: &[(i64, i16)]) -> (i32, i64, Vec<i16>) {
    let a = pollfds(t, fds);
    let (e, n, _) = t.sys(POLL, &[a, fds.len() as u64, 0]);
    (e, n, revents(t, a, fds.len()))
}

#[test]
fn poll_reports_pipes_console_and_tmpfs_files_as_netbsd_does() {
    let mut t = T::new();
    let (r, w) = pipe(&mut t);
    let (_, f) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let all = POLLIN | POLLOUT | POLLPRI | POLLRDNORM;
    let (e, n, rev) = poll_now(
        &mut t,
        &[
            (r, POLLIN | POLLOUT),
            (w, POLLIN | POLLOUT),
            (f, all),
            (1, POLLIN | POLLOUT),
            (0, POLLIN),
            (50, POLLIN),
            (-1, POLLIN),
        ],
    );
    assert_eq!(e, 0);
    // empty pipe: the read end has nothing; the write end has room; tmpfs
    // (genfs_poll) always readable and writable; the console writable only.
    assert_eq!(
        rev,
        [
            0,
            POLLOUT,
            POLLIN | POLLOUT | POLLRDNORM,
            POLLOUT,
            0,
            POLLNVAL,
            0
        ]
    );
    assert_eq!(n, 4, "the write end, the file, fd 1 and the bad fd");

    t.write(w, b"x");
    assert_eq!(poll_now(&mut t, &[(r, POLLRDNORM)]).2, [POLLRDNORM]);
    // the writer closed: readable (EOF), POLLOUT for a gone peer, POLLHUP
    t.ok(nr::CLOSE, &[w as u64]);
    assert_eq!(
        poll_now(&mut t, &[(r, POLLIN | POLLOUT)]).2,
        [POLLIN | POLLOUT | POLLHUP]
    );
    // the reader closed: the write end hits EOF
    let (r2, w2) = pipe(&mut t);
    t.ok(nr::CLOSE, &[r2 as u64]);
    assert_eq!(poll_now(&mut t, &[(w2, 0)]).2, [POLLHUP]);
    assert_eq!(
        poll_now(&mut t, &[(w2, POLLIN | POLLOUT)]).2,
        [POLLIN | POLLOUT | POLLHUP]
    );
}

#[test]
fn poll_on_a_full_pipe_offers_no_room() {
    let mut t = T::new();
    let (_r, w) = pipe(&mut t);
    let big = vec![7u8; 16384 - 100];
    assert_eq!(t.write(w, &big), (0, big.len() as i64));
    assert_eq!(
        poll_now(&mut t, &[(w, POLLOUT)]).1,
        0,
        "100 bytes free < PIPE_BUF"
    );
}

#[test]
fn poll_on_rumpfs_gets_vn_default_errors_eopnotsupp_as_revents() {
    let mut t = T::new();
    let (e, d) = t.open("/", O_RDONLY, 0);
    assert_eq!(e, 0);
    assert_eq!(poll_now(&mut t, &[(d, POLLIN)]).2, [EOPNOTSUPP as i16]);
}

#[test]
fn poll_errors() {
    let mut t = T::new();
    let a = pollfds(&mut t, &[(1, POLLOUT)]);
    assert_eq!(
        t.e(POLL, &[a, 1021, 0]),
        EINVAL,
        "nfds past 1000 + dt_nfiles (20)"
    );
    assert_eq!(t.e(POLL, &[0, 1, 0]), EFAULT);
    assert_eq!(
        t.e(POLL, &[a, 1, (-5i64) as u64]),
        EINVAL,
        "a negative timeout"
    );
    assert_eq!(t.sys(POLL, &[0, 0, 0]), (0, 0, 0), "nothing to poll");
    let bad = t.put(&[0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xca, 0x9a, 0x3b, 0, 0, 0, 0]);
    assert_eq!(t.e(POLLTS, &[a, 1, bad, 0]), EINVAL, "nsec 1e9");
    assert_eq!(
        t.e(POLLTS, &[a, 1, 8, 0]),
        EFAULT,
        "the timespec is copied in first"
    );
    let zero = t.put(&[0; 16]);
    assert_eq!(t.sys(POLLTS, &[a, 1, zero, zero]), (0, 1, 0));
    assert_eq!(
        t.e(POLLTS, &[a, 1021, zero, 8]),
        EFAULT,
        "then the mask, before nfds"
    );
}

#[test]
fn a_blocked_poll_is_woken_by_a_pipe_write_of_another_process() {
    let mut t = T::new();
    let (r, w) = pipe(&mut t);
    let other = t.k.prefork(t.pid).unwrap();
    let a = pollfds(&mut t, &[(r, POLLIN)]);
    let args = [a, 1, u32::MAX as u64];
    assert_eq!(
        t.sys(POLL, &args),
        (-1, -1, -1),
        "blocks: INFTIM, nothing ready"
    );
    // also with a timeout while another process could still write
    assert_eq!(t.sys(POLL, &[a, 1, 5000]), (-1, -1, -1));
    let pipe_id = *t.k.t.pipes.keys().next().unwrap();
    t.k.take_changed();
    let b = t.put(b"hi");
    assert_eq!(t.sys_as(other, nr::WRITE, &[w as u64, b, 2]).1, 2);
    assert_eq!(
        t.k.take_changed(),
        Some(vec![pipe_id]),
        "the pipe's key wakes the poll"
    );
    assert_eq!(t.sys(POLL, &args), (0, 1, 0));
    assert_eq!(revents(&t, a, 1), [POLLIN]);
}

#[test]
fn a_timed_poll_nothing_can_wake_advances_the_clock_and_returns_0() {
    let mut t = T::new();
    let (r, _w) = pipe(&mut t);
    let a = pollfds(&mut t, &[(r, POLLIN)]);
    let before = t.k.clock.mono_ns;
    assert_eq!(t.sys(POLL, &[a, 1, 1500]), (0, 0, 0));
    assert!(t.k.clock.mono_ns - before >= 1_500_000_000);
    assert_eq!(revents(&t, a, 1), [0]);
    // timeout 0 returns at once, the clock barely moves
    let before = t.k.clock.mono_ns;
    assert_eq!(t.sys(POLL, &[a, 1, 0]), (0, 0, 0));
    assert!(t.k.clock.mono_ns - before < 1_000_000);
}

/// An fd_set of 4 bytes with these descriptors.
fn fdset(t: &mut T, fds: &[usize]) -> u64 {
    let mut b = [0u8; 4];
    for &fd in fds {
        b[fd / 8] |= 1 << (fd % 8);
    }
    t.put(&b)
}

fn set_bits(t: &T, a: u64) -> Vec<usize> {
    let b = t.mem.read(a, 4).unwrap();
    (0..32)
        .filter(|fd| b[fd / 8] & (1 << (fd % 8)) != 0)
        .collect()
}

#[test]
fn select_fills_the_sets_and_counts_every_bit() {
    let mut t = T::new();
    let (r, w) = pipe(&mut t);
    let (_, f) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let (r, w, f) = (r as usize, w as usize, f as usize);
    let rd = fdset(&mut t, &[r, w, f, 1]);
    let wr = fdset(&mut t, &[r, w, f, 1]);
    let ex = fdset(&mut t, &[r, f]);
    let tv = t.put(&[0; 16]);
    let (e, n, _) = t.sys(SELECT, &[32, rd, wr, ex, tv]);
    assert_eq!(e, 0);
    assert_eq!(set_bits(&t, rd), [f], "only the file is readable");
    assert_eq!(set_bits(&t, wr), [1, w, f]);
    assert_eq!(set_bits(&t, ex), Vec::<usize>::new());
    assert_eq!(n, 4);
}

#[test]
fn select_errors() {
    let mut t = T::new();
    let rd = fdset(&mut t, &[7]);
    let tv = t.put(&[0; 16]);
    assert_eq!(t.e(SELECT, &[8, rd, 0, 0, tv]), EBADF);
    assert_eq!(
        t.mem.read(rd, 4).unwrap(),
        [0x80, 0, 0, 0],
        "no copyout on error"
    );
    assert_eq!(
        t.e(SELECT, &[u32::MAX as u64, rd, 0, 0, tv]),
        EINVAL,
        "nd < 0"
    );
    assert_eq!(
        t.e(SELECT, &[u32::MAX as u64, rd, 0, 0, 8]),
        EFAULT,
        "tv first"
    );
    let mut bad = [0u8; 16];
    bad[8..12].copy_from_slice(&1_000_000i32.to_le_bytes());
    let badtv = t.put(&bad);
    let one = fdset(&mut t, &[1]);
    assert_eq!(t.e(SELECT, &[2, 0, one, 0, badtv]), EINVAL, "usec 1e6");
    assert_eq!(
        t.e(SELECT, &[2, 8, one, 0, tv]),
        EFAULT,
        "a set that faults"
    );
    // nd is cut to the table: bit 7 past nd 5 is not looked at
    assert_eq!(t.sys(SELECT, &[5, rd, 0, 0, tv]), (0, 0, 0));
}

const PSELECT: u32 = 436;

/// __pselect50: selcommon with a timespec (nsec, not usec, checked) and a
/// signal mask copied in after it (EFAULT for a bad one, before any set).
#[test]
fn pselect_is_select_with_a_timespec_and_a_mask() {
    let mut t = T::new();
    let (r, w) = pipe(&mut t);
    let (r, w) = (r as usize, w as usize);
    let rd = fdset(&mut t, &[r, w]);
    let wr = fdset(&mut t, &[r, w]);
    let ts = t.put(&[0; 16]);
    let mask = t.put(&[0xff; 16]);
    let (e, n, _) = t.sys(PSELECT, &[32, rd, wr, 0, ts, mask]);
    assert_eq!((e, n), (0, 1));
    assert_eq!(set_bits(&t, rd), Vec::<usize>::new(), "an empty pipe");
    assert_eq!(set_bits(&t, wr), [w]);
    // a timespec's nsec may be up to 999999999 (a timeval's usec may not)
    let mut v = [0u8; 16];
    v[8..12].copy_from_slice(&999_999i32.to_le_bytes());
    let big_usec = t.put(&v);
    let one = fdset(&mut t, &[1]);
    assert_eq!(t.sys(PSELECT, &[2, 0, one, 0, big_usec, 0]), (0, 1, 0));
    let mut bad = [0u8; 16];
    bad[8..16].copy_from_slice(&1_000_000_000i64.to_le_bytes());
    let bad = t.put(&bad);
    assert_eq!(t.e(PSELECT, &[2, 0, one, 0, bad, 0]), EINVAL, "nsec 1e9");
    assert_eq!(t.e(PSELECT, &[2, 0, one, 0, ts, 8]), EFAULT, "the mask");
    assert_eq!(t.e(PSELECT, &[2, 8, one, 0, ts, 0]), EFAULT, "a set");
    assert_eq!(
        t.e(PSELECT, &[u32::MAX as u64, 0, one, 0, ts, 0]),
        EINVAL,
        "nd < 0"
    );
}

const FLOCK: u32 = 131;
const F_GETLK: u64 = 7;
const F_SETLK: u64 = 8;
const F_SETLKW: u64 = 9;
const F_RDLCK: i16 = 1;
const F_UNLCK: i16 = 2;
const F_WRLCK: i16 = 3;
const EDEADLK: i32 = 11;
const LOCK_SH: u64 = 1;
const LOCK_EX: u64 = 2;
const LOCK_NB: u64 = 4;
const LOCK_UN: u64 = 8;

/// A struct flock in client memory.
fn flock_at(t: &mut T, ty: i16, start: i64, len: i64) -> u64 {
    let mut b = vec![0u8; 24];
    b[0..8].copy_from_slice(&start.to_le_bytes());
    b[8..16].copy_from_slice(&len.to_le_bytes());
    b[20..22].copy_from_slice(&ty.to_le_bytes());
    t.put(&b)
}

/// fcntl lock command `cmd` by `pid`: errno.
fn lk(t: &mut T, pid: i32, fd: i64, cmd: u64, ty: i16, start: i64, len: i64) -> i32 {
    let a = flock_at(t, ty, start, len);
    t.sys_as(pid, nr::FCNTL, &[fd as u64, cmd, a]).0
}

/// F_GETLK by `pid`: (start, len, pid, type, whence) of the answer.
fn getlk(t: &mut T, pid: i32, fd: i64, ty: i16, start: i64, len: i64) -> (i64, i64, i32, i16, i16) {
    let a = flock_at(t, ty, start, len);
    assert_eq!(t.sys_as(pid, nr::FCNTL, &[fd as u64, F_GETLK, a]).0, 0);
    let b = t.mem.read(a, 24).unwrap();
    (
        i64::from_le_bytes(b[0..8].try_into().unwrap()),
        i64::from_le_bytes(b[8..16].try_into().unwrap()),
        i32::from_le_bytes(b[16..20].try_into().unwrap()),
        i16::from_le_bytes([b[20], b[21]]),
        i16::from_le_bytes([b[22], b[23]]),
    )
}

/// The test process with /tmp/f open read-write, and a second process
/// sharing its descriptors: (t, fd, other pid).
fn two_procs() -> (T, i64, i32) {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let other = t.k.prefork(t.pid).unwrap();
    (t, fd, other)
}

#[test]
fn posix_locks_conflict_between_processes_not_within_one() {
    let (mut t, fd, other) = two_procs();
    let me = t.pid;
    assert_eq!(lk(&mut t, me, fd, F_SETLK, F_WRLCK, 0, 10), 0);
    assert_eq!(
        getlk(&mut t, other, fd, F_RDLCK, 5, 0),
        (0, 10, me, F_WRLCK, 0),
        "the blocking lock, as SEEK_SET, with its owner"
    );
    assert_eq!(lk(&mut t, other, fd, F_SETLK, F_RDLCK, 9, 1), EAGAIN);
    assert_eq!(
        getlk(&mut t, me, fd, F_WRLCK, 0, 0).3,
        F_UNLCK,
        "own locks never block"
    );
    assert_eq!(lk(&mut t, other, fd, F_SETLK, F_RDLCK, 10, 10), 0);
    assert_eq!(
        lk(&mut t, me, fd, F_SETLK, F_RDLCK, 15, 1),
        0,
        "shared locks share"
    );
    assert_eq!(lk(&mut t, me, fd, F_SETLK, F_WRLCK, 15, 1), EAGAIN);
    // downgrade part of the write lock: the rest stays exclusive
    assert_eq!(lk(&mut t, me, fd, F_SETLK, F_RDLCK, 0, 5), 0);
    assert_eq!(lk(&mut t, other, fd, F_SETLK, F_RDLCK, 0, 5), 0);
    assert_eq!(
        getlk(&mut t, other, fd, F_RDLCK, 0, 0),
        (5, 5, me, F_WRLCK, 0)
    );
    // unlock, and the other process may take it all
    assert_eq!(lk(&mut t, me, fd, F_SETLK, F_UNLCK, 0, 0), 0);
    assert_eq!(lk(&mut t, other, fd, F_SETLK, F_WRLCK, 0, 0), 0);
    assert_eq!(
        getlk(&mut t, me, fd, F_RDLCK, 100, 1),
        (0, 0, other, F_WRLCK, 0),
        "to EOF: len 0"
    );
}

#[test]
fn a_blocked_f_setlkw_is_woken_by_the_other_process_unlock() {
    let (mut t, fd, other) = two_procs();
    let me = t.pid;
    assert_eq!(lk(&mut t, me, fd, F_SETLK, F_WRLCK, 0, 1), 0);
    let a = flock_at(&mut t, F_WRLCK, 0, 1);
    let args = [fd as u64, F_SETLKW, a];
    assert_eq!(t.sys_as(other, nr::FCNTL, &args), (-1, -1, -1), "waits");
    t.k.take_changed();
    assert_eq!(lk(&mut t, me, fd, F_SETLK, F_UNLCK, 0, 1), 0);
    let changed = t.k.take_changed().unwrap();
    assert_eq!(changed.len(), 1, "the vnode's lock key: {changed:x?}");
    assert_eq!(t.sys_as(other, nr::FCNTL, &args), (0, 0, 0));
    assert_eq!(getlk(&mut t, me, fd, F_RDLCK, 0, 0).2, other);
}

#[test]
fn f_setlkw_closing_a_cycle_of_waiters_is_edeadlk() {
    let (mut t, fd, other) = two_procs();
    let me = t.pid;
    assert_eq!(lk(&mut t, me, fd, F_SETLK, F_WRLCK, 0, 1), 0);
    assert_eq!(lk(&mut t, other, fd, F_SETLK, F_WRLCK, 1, 1), 0);
    assert_eq!(
        lk(&mut t, other, fd, F_SETLKW, F_WRLCK, 0, 1),
        -1,
        "other waits for me"
    );
    assert_eq!(lk(&mut t, me, fd, F_SETLKW, F_WRLCK, 1, 1), EDEADLK);
    // the waiter gone (its process exits), the same request only waits
    t.k.exit(other);
    assert_eq!(
        lk(&mut t, me, fd, F_SETLKW, F_WRLCK, 1, 1),
        0,
        "other's locks went with it"
    );
}

#[test]
fn any_close_of_the_file_drops_the_process_posix_locks() {
    let (mut t, fd, other) = two_procs();
    let me = t.pid;
    assert_eq!(lk(&mut t, me, fd, F_SETLK, F_WRLCK, 0, 0), 0);
    let (_, fd2) = t.open("/tmp/f", O_RDONLY, 0);
    t.ok(nr::CLOSE, &[fd2 as u64]);
    assert_eq!(
        lk(&mut t, other, fd, F_SETLK, F_WRLCK, 0, 0),
        0,
        "released by the other close"
    );
    t.k.check_invariants().unwrap();
}

#[test]
fn lock_argument_errors() {
    let (mut t, fd, _) = two_procs();
    let me = t.pid;
    assert_eq!(lk(&mut t, me, fd, F_SETLK, 9, 0, 0), EINVAL, "bad type");
    assert_eq!(
        lk(&mut t, me, fd, F_SETLK, F_WRLCK, -1, 1),
        EINVAL,
        "start < 0"
    );
    assert_eq!(
        lk(&mut t, me, fd, F_SETLK, F_WRLCK, 5, -6),
        EINVAL,
        "a negative length before 0"
    );
    assert_eq!(lk(&mut t, me, fd, F_SETLK, F_WRLCK, 5, -5), 0, "bytes 0-4");
    let (_, ro) = t.open("/tmp/f", O_RDONLY, 0);
    assert_eq!(
        lk(&mut t, me, ro, F_SETLK, F_WRLCK, 0, 0),
        EBADF,
        "not open for writing"
    );
    assert_eq!(lk(&mut t, me, 40, F_SETLK, F_WRLCK, 0, 0), EBADF);
}

#[test]
fn flock_locks_belong_to_the_open_file() {
    let (mut t, fd, other) = two_procs();
    let me = t.pid;
    let (_, fd2) = t.open("/tmp/f", O_RDONLY, 0);
    assert_eq!(t.e(FLOCK, &[fd as u64, LOCK_EX]), 0);
    assert_eq!(
        t.e(FLOCK, &[fd2 as u64, LOCK_SH | LOCK_NB]),
        EAGAIN,
        "another open file conflicts"
    );
    assert_eq!(
        t.sys_as(other, FLOCK, &[fd as u64, LOCK_EX | LOCK_NB]).0,
        0,
        "the same file: same owner"
    );
    assert_eq!(
        lk(&mut t, other, fd, F_SETLK, F_RDLCK, 0, 1),
        EAGAIN,
        "flock and POSIX locks conflict"
    );
    assert_eq!(
        getlk(&mut t, me, fd, F_RDLCK, 0, 0).2,
        -1,
        "a flock owner shows pid -1"
    );
    // a blocking request waits, and LOCK_UN wakes it
    let args = [fd2 as u64, LOCK_SH];
    assert_eq!(t.sys(FLOCK, &args), (-1, -1, -1));
    assert_eq!(t.e(FLOCK, &[fd as u64, LOCK_UN]), 0);
    assert_eq!(t.sys(FLOCK, &args), (0, 0, 0));
    // the last close of fd2's file releases its lock; a dup keeps it
    let d = t.ok(nr::DUP, &[fd2 as u64]);
    t.ok(nr::CLOSE, &[fd2 as u64]);
    assert_eq!(
        t.e(FLOCK, &[fd as u64, LOCK_EX | LOCK_NB]),
        EAGAIN,
        "the dup still holds it"
    );
    t.ok(nr::CLOSE, &[d as u64]);
    assert_eq!(t.e(FLOCK, &[fd as u64, LOCK_EX | LOCK_NB]), 0);
}

#[test]
fn flock_errors() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.e(FLOCK, &[fd as u64, LOCK_SH | LOCK_EX]), EINVAL);
    assert_eq!(t.e(FLOCK, &[fd as u64, 0]), EINVAL);
    assert_eq!(t.e(FLOCK, &[33, LOCK_SH]), EBADF);
    let (r, _) = pipe(&mut t);
    assert_eq!(t.e(FLOCK, &[r as u64, LOCK_SH]), EOPNOTSUPP, "not a vnode");
    assert_eq!(t.e(FLOCK, &[1, LOCK_SH]), EOPNOTSUPP, "the console");
    assert_eq!(
        t.e(FLOCK, &[fd as u64, LOCK_UN | LOCK_NB]),
        0,
        "unlocking nothing"
    );
}

const SETTIMEOFDAY: u32 = 419;
const SETITIMER: u32 = 425;
const GETITIMER: u32 = 426;
const CLOCK_SETTIME: u32 = 428;
const GETTIMEOFDAY: u32 = 418;
const FADVISE: u32 = 416;
const CLOCK_NANOSLEEP: u32 = 477;
const FALLOCATE: u32 = 479;

fn ts(t: &mut T, sec: i64, nsec: i64) -> u64 {
    let mut b = sec.to_le_bytes().to_vec();
    b.extend_from_slice(&nsec.to_le_bytes());
    t.put(&b)
}

fn tv(t: &mut T, sec: i64, usec: i32) -> u64 {
    let mut b = sec.to_le_bytes().to_vec();
    b.extend_from_slice(&usec.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    t.put(&b)
}

/// clock_gettime: (sec, nsec).
fn now(t: &mut T, id: u64) -> (i64, i64) {
    let b = t.buf(16);
    t.ok(nr::CLOCK_GETTIME, &[id, b]);
    let v = t.mem.read(b, 16).unwrap();
    (
        i64::from_le_bytes(v[0..8].try_into().unwrap()),
        i64::from_le_bytes(v[8..16].try_into().unwrap()),
    )
}

#[test]
fn clock_settime_moves_realtime_and_the_file_stamps_not_monotonic() {
    let mut t = T::new();
    let mono = now(&mut t, 3);
    let a = ts(&mut t, 2_000_000_000, 500_000_000);
    assert_eq!(t.sys(CLOCK_SETTIME, &[0, a]), (0, 0, 0));
    let (s, ns) = now(&mut t, 0);
    assert_eq!(s, 2_000_000_000);
    assert!((500_000_000..500_100_000).contains(&ns), "{ns}");
    assert!(now(&mut t, 3).0 - mono.0 < 2, "CLOCK_MONOTONIC goes on");
    let (_, fd) = t.open("/tmp/stamped", O_RDWR | O_CREAT, 0o644);
    let st = t.buf(152);
    t.ok(nr::FSTAT, &[fd as u64, st]);
    let b = t.mem.read(st, 152).unwrap();
    // st_mtimespec at 48 (after dev, mode, ino, nlink, uid, gid, rdev, atime)
    let mtime = i64::from_le_bytes(b[48..56].try_into().unwrap());
    assert_eq!(
        mtime, 2_000_000_000,
        "a new file is stamped with the set time"
    );
    let g = t.buf(16);
    t.ok(GETTIMEOFDAY, &[g, 0]);
    assert_eq!(
        i64::from_le_bytes(t.mem.read(g, 8).unwrap().try_into().unwrap()),
        2_000_000_000
    );
    // the console's times are the boot time, which moves with the clock
    t.ok(nr::FSTAT, &[1, st]);
    let b = t.mem.read(st, 152).unwrap();
    let boot = i64::from_le_bytes(b[48..56].try_into().unwrap());
    assert!(
        (2_000_000_000 - 5..=2_000_000_000).contains(&boot),
        "{boot}"
    );
}

#[test]
fn clock_settime_errors() {
    let mut t = T::new();
    let a = ts(&mut t, 1_800_000_000, 0);
    assert_eq!(
        t.e(CLOCK_SETTIME, &[3, a]),
        EINVAL,
        "CLOCK_MONOTONIC is read-only"
    );
    assert_eq!(t.e(CLOCK_SETTIME, &[7, a]), EINVAL);
    assert_eq!(t.e(CLOCK_SETTIME, &[0, 0]), EFAULT);
    // kern_time.c 1.182 has no range check on tv_nsec: root's value goes through
    let odd = ts(&mut t, 1_800_000_000, 1_500_000_000);
    assert_eq!(t.e(CLOCK_SETTIME, &[0, odd]), 0);
    assert_eq!(now(&mut t, 0).0, 1_800_000_000);
    t.ok(nr::SETUID, &[1000]);
    let before = now(&mut t, 0);
    assert_eq!(t.e(CLOCK_SETTIME, &[0, a]), EPERM, "kauth: root only");
    assert_eq!(
        t.e(CLOCK_SETTIME, &[7, a]),
        EINVAL,
        "the clock id is checked before kauth"
    );
    assert!(now(&mut t, 0).0 - before.0 < 2, "unchanged");
}

#[test]
fn settimeofday_as_root_sets_the_clock_and_others_get_eperm() {
    let mut t = T::new();
    let a = tv(&mut t, 1_900_000_000, 250_000);
    assert_eq!(t.sys(SETTIMEOFDAY, &[a, 0]), (0, 0, 0));
    let (s, ns) = now(&mut t, 0);
    assert_eq!(s, 1_900_000_000);
    assert!((250_000_000..250_100_000).contains(&ns));
    assert_eq!(t.e(SETTIMEOFDAY, &[8, 0]), EFAULT);
    t.ok(nr::SETUID, &[1000]);
    assert_eq!(t.e(SETTIMEOFDAY, &[a, 0]), EPERM);
    assert_eq!(
        t.e(SETTIMEOFDAY, &[0, 0]),
        0,
        "no time: nothing to set, no check"
    );
}

/// getitimer: (interval, value) in microseconds.
fn getit(t: &mut T, which: u64) -> (i64, i64) {
    let b = t.buf(32);
    t.ok(GETITIMER, &[which, b]);
    let v = t.mem.read(b, 32).unwrap();
    let us = |o: usize| {
        i64::from_le_bytes(v[o..o + 8].try_into().unwrap()) * 1_000_000
            + i64::from(i32::from_le_bytes(v[o + 8..o + 12].try_into().unwrap()))
    };
    (us(0), us(16))
}

fn itv(t: &mut T, interval_us: i64, value_us: i64) -> u64 {
    let mut b = Vec::new();
    for us in [interval_us, value_us] {
        b.extend_from_slice(&(us / 1_000_000).to_le_bytes());
        b.extend_from_slice(&((us % 1_000_000) as i32).to_le_bytes());
        b.extend_from_slice(&[0; 4]);
    }
    t.put(&b)
}

fn sleep(t: &mut T, ms: i64) {
    let a = ts(t, ms / 1000, (ms % 1000) * 1_000_000);
    t.ok(nr::NANOSLEEP, &[a, 0]);
}

#[test]
fn itimer_real_runs_down_with_the_clock_and_reloads() {
    let mut t = T::new();
    assert_eq!(getit(&mut t, 0), (0, 0), "no timer");
    let a = itv(&mut t, 0, 2_500_000);
    assert_eq!(t.e(SETITIMER, &[0, a, 0]), 0);
    let (_, v) = getit(&mut t, 0);
    assert!((2_400_000..=2_500_000).contains(&v), "{v}");
    sleep(&mut t, 1000);
    let (_, v) = getit(&mut t, 0);
    assert!((1_400_000..1_500_000).contains(&v), "{v}");
    sleep(&mut t, 2000);
    assert_eq!(getit(&mut t, 0), (0, 0), "a one-shot timer that fired");
    // a periodic timer restarts from its interval
    let a = itv(&mut t, 1_000_000, 1_000_000);
    let old = t.buf(32);
    assert_eq!(t.e(SETITIMER, &[0, a, old]), 0);
    sleep(&mut t, 2500);
    let (i, v) = getit(&mut t, 0);
    assert_eq!(i, 1_000_000);
    assert!((400_000..=500_000).contains(&v), "{v}");
    // clearing it hands back the old value
    let zero = itv(&mut t, 0, 0);
    let old = t.buf(32);
    assert_eq!(t.e(SETITIMER, &[0, zero, old]), 0);
    assert_eq!(
        &t.mem.read(old, 8).unwrap(),
        &1i64.to_le_bytes(),
        "old interval 1 s"
    );
    assert_eq!(getit(&mut t, 0).1, 0);
}

#[test]
fn itimer_virtual_and_prof_keep_their_values_rounded_to_a_tick() {
    let mut t = T::new();
    let a = itv(&mut t, 5, 3_000_007);
    assert_eq!(t.e(SETITIMER, &[1, a, 0]), 0);
    sleep(&mut t, 1000);
    assert_eq!(
        getit(&mut t, 1),
        (10_000, 3_000_007),
        "no process time passes"
    );
    assert_eq!(getit(&mut t, 2), (0, 0), "ITIMER_PROF is its own timer");
    let other = t.k.prefork(t.pid).unwrap();
    let b = t.buf(32);
    assert_eq!(t.sys_as(other, GETITIMER, &[1, b]).0, 0);
    assert_eq!(
        t.mem.read(b, 32).unwrap(),
        vec![0; 32],
        "timers are not inherited"
    );
}

#[test]
fn itimer_errors() {
    let mut t = T::new();
    let b = t.buf(32);
    assert_eq!(t.e(GETITIMER, &[4, b]), EINVAL);
    assert_eq!(
        t.e(GETITIMER, &[u32::MAX as u64, b]),
        EINVAL,
        "which is unsigned"
    );
    assert_eq!(t.e(GETITIMER, &[0, 0]), EFAULT);
    let a = itv(&mut t, 0, 1_000_000);
    assert_eq!(t.e(SETITIMER, &[4, a, 0]), EINVAL);
    assert_eq!(t.e(SETITIMER, &[0, 8, 0]), EFAULT);
    let mut bad = vec![0u8; 32];
    bad[24..28].copy_from_slice(&1_000_000i32.to_le_bytes());
    let bad = t.put(&bad);
    let mut neg = vec![0u8; 32];
    neg[16..24].copy_from_slice(&(-1i64).to_le_bytes());
    let neg = t.put(&neg);
    assert_eq!(t.e(SETITIMER, &[2, neg, 0]), EINVAL, "negative seconds");
    assert_eq!(t.e(SETITIMER, &[2, a, 0]), 0);
    let old = t.buf(32);
    assert_eq!(t.e(SETITIMER, &[2, bad, old]), EINVAL, "usec 1e6");
    assert_eq!(
        &t.mem.read(old + 16, 8).unwrap(),
        &1i64.to_le_bytes(),
        "the old value went out first"
    );
    assert_eq!(getit(&mut t, 2).1, 1_000_000, "and the timer is unchanged");
    assert_eq!(t.e(SETITIMER, &[2, 0, 0]), 0, "no new value: nothing set");
}

#[test]
fn posix_fadvise_returns_its_error_as_the_value() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let f = fd as u64;
    assert_eq!(t.sys(FADVISE, &[f, 0, 0, 0, 0]), (0, 0, 0), "NORMAL");
    assert_eq!(t.sys(FADVISE, &[f, 0, 0, 4096, 4]), (0, 0, 0), "DONTNEED");
    assert_eq!(
        t.sys(FADVISE, &[f, 0, 0, 0, 6]),
        (0, EINVAL as i64, 0),
        "unknown advice"
    );
    assert_eq!(
        t.sys(FADVISE, &[f, 0, 0, (-1i64) as u64, 0]),
        (0, EINVAL as i64, 0)
    );
    assert_eq!(
        t.sys(FADVISE, &[f, 0, 10, i64::MAX as u64, 0]),
        (0, EINVAL as i64, 0),
        "end past INT64_MAX"
    );
    assert_eq!(
        t.sys(FADVISE, &[40, 0, 0, (-1i64) as u64, 0]),
        (0, EINVAL as i64, 0),
        "the range before the fd"
    );
    assert_eq!(t.sys(FADVISE, &[40, 0, 0, 0, 0]), (0, EBADF as i64, 0));
    let (r, _) = pipe(&mut t);
    assert_eq!(
        t.sys(FADVISE, &[r as u64, 0, 0, 0, 0]),
        (0, ESPIPE as i64, 0)
    );
    assert_eq!(
        t.sys(FADVISE, &[1, 0, 0, 0, 0]),
        (0, EOPNOTSUPP as i64, 0),
        "the console"
    );
    let (_, d) = t.open("/tmp", O_RDONLY, 0);
    assert_eq!(
        t.sys(FADVISE, &[d as u64, 0, 0, 0, 3]),
        (0, 0, 0),
        "WILLNEED on a directory"
    );
    assert_eq!(
        t.sys(FADVISE, &[d as u64, 0, 0, 0, 9]),
        (0, EINVAL as i64, 0)
    );
}

#[test]
fn posix_fallocate_is_eopnotsupp_on_tmpfs_and_rumpfs() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let f = fd as u64;
    assert_eq!(
        t.sys(FALLOCATE, &[f, 0, 0, 4096]),
        (0, EOPNOTSUPP as i64, 0)
    );
    let (_, r) = t.open("/rootfile", O_RDWR | O_CREAT, 0o644);
    assert_eq!(
        t.sys(FALLOCATE, &[r as u64, 0, 0, 1]),
        (0, EOPNOTSUPP as i64, 0),
        "rumpfs"
    );
    assert_eq!(
        t.sys(FALLOCATE, &[f, 0, (-1i64) as u64, 1]),
        (0, EINVAL as i64, 0)
    );
    assert_eq!(
        t.sys(FALLOCATE, &[f, 0, 0, (-1i64) as u64]),
        (0, EINVAL as i64, 0)
    );
    assert_eq!(
        t.sys(FALLOCATE, &[f, 0, 10, i64::MAX as u64]),
        (0, EINVAL as i64, 0)
    );
    assert_eq!(t.sys(FALLOCATE, &[40, 0, 0, 1]), (0, EBADF as i64, 0));
    let (_, ro) = t.open("/tmp/f", O_RDONLY, 0);
    assert_eq!(
        t.sys(FALLOCATE, &[ro as u64, 0, 0, 1]),
        (0, EBADF as i64, 0),
        "not open for writing"
    );
    let (p, _) = pipe(&mut t);
    assert_eq!(
        t.sys(FALLOCATE, &[p as u64, 0, 0, 1]),
        (0, EINVAL as i64, 0),
        "fd_getvnode"
    );
}

#[test]
fn clock_nanosleep_sleeps_on_virtual_time_and_returns_errors_as_values() {
    let mut t = T::new();
    let before = t.k.clock.mono_ns;
    let a = ts(&mut t, 2, 0);
    let rm = t.put(&[0xff; 16]);
    assert_eq!(t.sys(CLOCK_NANOSLEEP, &[3, 0, a, rm]), (0, 0, 0));
    assert!(t.k.clock.mono_ns - before >= 2_000_000_000);
    assert_eq!(t.mem.read(rm, 16).unwrap(), vec![0; 16], "no time left");
    // TIMER_ABSTIME on CLOCK_REALTIME: until 10 s from now
    let (s, ns) = now(&mut t, 0);
    let until = ts(&mut t, s + 10, ns);
    let before = t.k.clock.mono_ns;
    assert_eq!(t.sys(CLOCK_NANOSLEEP, &[0, 1, until, 0]), (0, 0, 0));
    let slept = t.k.clock.mono_ns - before;
    assert!((9_990_000_000..10_010_000_000).contains(&slept), "{slept}");
    // a time already past returns at once
    let past = ts(&mut t, 5, 0);
    let before = t.k.clock.mono_ns;
    assert_eq!(t.sys(CLOCK_NANOSLEEP, &[0, 1, past, 0]), (0, 0, 0));
    assert!(t.k.clock.mono_ns - before < 1_000_000);
    assert_eq!(
        t.sys(CLOCK_NANOSLEEP, &[7, 0, a, 0]),
        (0, EINVAL as i64, 0),
        "bad clock"
    );
    let bad = ts(&mut t, 0, 1_000_000_000);
    assert_eq!(
        t.sys(CLOCK_NANOSLEEP, &[3, 0, bad, 0]),
        (0, EINVAL as i64, 0),
        "bad nsec"
    );
    assert_eq!(
        t.sys(CLOCK_NANOSLEEP, &[3, 0, 0, 0]),
        (0, EFAULT as i64, 0),
        "the copyin fault too"
    );
}

#[test]
fn exit_and_last_close_leave_no_lock_behind() {
    let (mut t, fd, other) = two_procs();
    assert_eq!(lk(&mut t, other, fd, F_SETLK, F_RDLCK, 0, 0), 0);
    assert_eq!(
        t.sys_as(other, FLOCK, &[fd as u64, LOCK_EX | LOCK_NB]).0,
        EAGAIN,
        "a process's own POSIX lock conflicts with its file's flock"
    );
    assert_eq!(t.sys_as(other, FLOCK, &[fd as u64, LOCK_SH]).0, 0);
    t.k.exit(other);
    t.k.check_invariants().unwrap();
    assert!(
        !t.k.locks.nodes.is_empty(),
        "the shared file still holds its flock lock"
    );
    t.ok(nr::CLOSE, &[fd as u64]);
    assert!(t.k.locks.nodes.is_empty(), "the last close released it");
    t.k.check_invariants().unwrap();
}

#[test]
fn a_timed_poll_another_process_could_end_expires_when_the_clock_passes_it() {
    let mut t = T::new();
    let (r, w) = pipe(&mut t);
    let other = t.k.prefork(t.pid).unwrap();
    let a = pollfds(&mut t, &[(r, POLLIN)]);
    let args = [a, 1, 500];
    assert_eq!(
        t.sys(POLL, &args),
        (-1, -1, -1),
        "the other process might write"
    );
    let start = t.k.clock.mono_ns;
    t.k.take_changed();
    // the other process sleeps past the deadline: every waiter is tried again
    let one = ts(&mut t, 1, 0);
    assert_eq!(t.sys_as(other, nr::NANOSLEEP, &[one, 0]).0, 0);
    assert_eq!(t.k.take_changed(), None, "the deadline woke the poll");
    assert_eq!(t.sys(POLL, &args), (0, 0, 0), "timed out");
    assert!(
        t.k.clock.mono_ns - start < 1_100_000_000,
        "no second wait added"
    );
    assert!(t.k.timed_waits.is_empty());
    // a poll that found its data forgets its deadline too
    assert_eq!(t.sys(POLL, &[a, 1, 700]), (-1, -1, -1));
    assert_eq!(t.k.timed_waits.len(), 1);
    let b = t.put(b"x");
    assert_eq!(t.sys_as(other, nr::WRITE, &[w as u64, b, 1]).1, 1);
    assert_eq!(t.sys(POLL, &[a, 1, 700]), (0, 1, 0));
    assert!(t.k.timed_waits.is_empty());
}

/// A pipe write fetches only what fits; when the room grows between the run
/// that asked for the data and the run that has it (the reader drained the
/// pipe meanwhile), the write goes on from the bytes it fetched (and asks for
/// the rest) instead of faulting, and writes what it reports. So does writev.
#[test]
fn a_pipe_write_whose_room_changes_during_its_copyin_writes_what_it_reports() {
    for vectored in [false, true] {
        let mut t = T::new();
        let (r, w) = pipe(&mut t);
        t.ok(nr::FCNTL, &[w as u64, 4, 4]); // O_NONBLOCK
        let (e, n) = t.write(w, &vec![1u8; 16384 - 3000]);
        assert_eq!((e, n), (0, 16384 - 3000));
        let data: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
        let (sysnum, args) = if vectored {
            let (a, b) = (t.put(&data[..1500]), t.put(&data[1500..]));
            let mut iov = Vec::new();
            for (base, len) in [(a, 1500u64), (b, 2500)] {
                iov.extend(base.to_le_bytes());
                iov.extend(len.to_le_bytes());
            }
            let iov = t.put(&iov);
            (nr::WRITEV, [w as u64, iov, 2])
        } else {
            (nr::WRITE, [w as u64, t.put(&data), data.len() as u64])
        };
        let mut drained = false;
        let done = t.stepwise(sysnum, &args, |t, pause| {
            // the data is asked for in the run after the iovecs (writev)
            let data_asked = match pause {
                Pause::Fetched(n) => n >= if vectored { 2 } else { 1 },
                Pause::Blocked => panic!("a non-blocking write with room waits"),
            };
            if data_asked && !drained {
                drained = true;
                assert_eq!(t.read(r, 16384).1.len(), 16384 - 3000);
            }
        });
        assert_eq!(done.error, 0, "vectored {vectored}: no fault");
        let written = done.retval[0] as usize;
        assert!(written >= 3000, "vectored {vectored}: {written}");
        let got = t.read(r, 16384).1;
        assert_eq!(got, data[..written], "vectored {vectored}");
        t.k.check_invariants().unwrap();
    }
}

/// A blocking pipe write returns only when all of it is written (sys_pipe.c
/// pipe_write loops until uio_resid is 0): it writes what fits, waits for
/// the reader, and goes on from where it was, with the memory fetched in its
/// earlier runs; the count is the whole write. Non-blocking, it stops at the
/// room it found.
#[test]
fn a_blocking_pipe_write_waits_for_the_reader_until_all_is_written() {
    let mut t = T::new();
    let (r, w) = pipe(&mut t);
    let data: Vec<u8> = (0..150_000u32).map(|i| (i % 241) as u8).collect();
    let buf = t.put(&data);
    let (mut got, mut waits) = (Vec::new(), 0);
    let done = t.stepwise(
        nr::WRITE,
        &[w as u64, buf, data.len() as u64],
        |t, pause| {
            if pause == Pause::Blocked {
                waits += 1;
                assert!(waits < 100, "the write never finished");
                // the reader takes some of it: the write is woken and goes on
                got.extend(t.read(r, 40_000).1);
            }
        },
    );
    assert_eq!(done.error, 0);
    assert_eq!(done.retval[0], data.len() as i64, "the whole write");
    assert!(
        waits >= 2,
        "150000 bytes do not fit a 65536-byte pipe: {waits}"
    );
    got.extend(t.read(r, 200_000).1);
    assert!(
        got == data,
        "every byte once, in order ({} read)",
        got.len()
    );
    t.k.check_invariants().unwrap();
    // non-blocking: the room it found, at once
    t.ok(nr::FCNTL, &[w as u64, 4, 4]);
    let (e, n) = t.write(w, &data);
    assert_eq!((e, n), (0, 65536));
}

/// itimerfire: an expired ITIMER_REAL or ITIMER_MONOTONIC posts SIGALRM to
/// its process, outside any call (the server raises it); a one-shot timer is
/// then disarmed, a periodic one reloaded past the expiries it missed (one
/// signal for them); ITIMER_VIRTUAL never runs down, so it never fires.
#[test]
fn expired_interval_timers_post_sigalrm_once_per_expiry() {
    use rumpsp_protocol::kernel::Kernel;
    const SIGALRM: u32 = 14;
    let mut t = T::new();
    let me = t.pid;
    // one shot, 100 ms, on ITIMER_REAL (0)
    let a = itv(&mut t, 0, 100_000);
    t.ok(SETITIMER, &[0, a, 0]);
    sleep(&mut t, 50);
    assert_eq!(t.k.take_raises(), [], "not yet");
    sleep(&mut t, 60);
    assert_eq!(t.k.take_raises(), [(me, SIGALRM)]);
    assert_eq!(getit(&mut t, 0), (0, 0), "disarmed");
    sleep(&mut t, 200);
    assert_eq!(t.k.take_raises(), [], "a one-shot timer fires once");
    // periodic on ITIMER_MONOTONIC (3): first at 100 ms, then every 50 ms
    let a = itv(&mut t, 50_000, 100_000);
    t.ok(SETITIMER, &[3, a, 0]);
    sleep(&mut t, 110);
    assert_eq!(t.k.take_raises(), [(me, SIGALRM)]);
    sleep(&mut t, 175); // at 285 ms: the expiries at 150, 200 and 250 ms
    assert_eq!(
        t.k.take_raises(),
        [(me, SIGALRM)],
        "missed expiries: one signal"
    );
    let (interval, value) = getit(&mut t, 3);
    assert_eq!(interval, 50_000);
    assert!((0..=50_000).contains(&value), "reloaded past now: {value}");
    // ITIMER_VIRTUAL (1) counts process time, which never passes here
    let a = itv(&mut t, 0, 10_000);
    t.ok(SETITIMER, &[1, a, 0]);
    let off = itv(&mut t, 0, 0);
    t.ok(SETITIMER, &[3, off, 0]);
    sleep(&mut t, 500);
    assert_eq!(t.k.take_raises(), []);
    // a process that exits takes its pending signals with it
    let b = itv(&mut t, 0, 10_000);
    let child = t.k.prefork(me).unwrap();
    assert_eq!(t.sys_as(child, SETITIMER, &[0, b, 0]).0, 0);
    sleep(&mut t, 20);
    t.k.exit(child);
    assert_eq!(t.k.take_raises(), []);
}
