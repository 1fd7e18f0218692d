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
