//! kqueue, kqueue1 and __kevent50 as NetBSD 7's kern_event.c answers them:
//! registration errors and EV_ERROR entries, pipe, file, console, kqueue,
//! timer and process filters, ONESHOT, CLEAR, DISABLE/ENABLE, and kevent
//! calls that wait for another process.

mod common;

use common::*;
use rumpsp_protocol::kernel::Kernel;
use rumpsp_sim_kernel::kqueue::*;
use rumpsp_sim_kernel::sys::kfilter::kqueue_key;

const KQUEUE: u32 = 344;
const KEVENT: u32 = 435;
const KQUEUE1: u32 = 455;
const IOCTL: u32 = 54;
const POLL: u32 = 209;
const ESRCH: i32 = 3;

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

fn ev(ident: i64, filter: u32, flags: u32) -> Kevent {
    Kevent {
        ident: ident as u64,
        filter,
        flags,
        udata: 0xabc,
        ..Default::default()
    }
}

/// The arguments of a kevent call with these changes, room for `room`
/// events at `out` and this timeout ((sec, nsec); None: NULL).
fn kargs(t: &mut T, kq: i64, changes: &[Kevent], room: u64, ts: Option<(i64, i64)>) -> [u64; 6] {
    let cl: Vec<u8> = changes.iter().flat_map(|e| e.encode()).collect();
    let cl = if cl.is_empty() { 0 } else { t.put(&cl) };
    let out = t.buf(room as usize * 40 + 8);
    let tsp = match ts {
        Some((s, n)) => {
            let mut b = s.to_le_bytes().to_vec();
            b.extend_from_slice(&n.to_le_bytes());
            t.put(&b)
        }
        None => 0,
    };
    [kq as u64, cl, changes.len() as u64, out, room, tsp]
}

/// The `n` events a kevent call left in its eventlist.
fn events(t: &T, args: &[u64; 6], n: i64) -> Vec<Kevent> {
    let b = t.mem.read(args[3], n.max(0) as usize * 40).unwrap();
    b.chunks(40).map(Kevent::decode).collect()
}

/// kevent with a zero timeout: (errno, events).
fn now(t: &mut T, kq: i64, changes: &[Kevent], room: u64) -> (i32, Vec<Kevent>) {
    let a = kargs(t, kq, changes, room, Some((0, 0)));
    let (e, n, _) = t.sys(KEVENT, &a);
    (e, if e == 0 { events(t, &a, n) } else { vec![] })
}

fn kq(t: &mut T) -> i64 {
    t.ok(KQUEUE, &[])
}

/// fstat of a descriptor: (errno, mode, size, blksize).
fn fstat(t: &mut T, fd: i64) -> (i32, u32, i64, i32) {
    let b = t.buf(152);
    let e = t.e(nr::FSTAT, &[fd as u64, b]);
    let st = t.mem.read(b, 152).unwrap();
    (
        e,
        u32::from_le_bytes(st[8..12].try_into().unwrap()),
        i64::from_le_bytes(st[112..120].try_into().unwrap()),
        i32::from_le_bytes(st[128..132].try_into().unwrap()),
    )
}

#[test]
fn kqueue_descriptors_and_their_file_operations() {
    let mut t = T::new();
    assert_eq!(t.sys(KQUEUE, &[]), (0, 3, 0), "the lowest free descriptor");
    // kqueue_stat: S_IFIFO without permissions, size = queued, blksize 40.
    assert_eq!(fstat(&mut t, 3), (0, 0o010000, 0, 40));
    assert_eq!(
        t.sys(nr::FCNTL, &[3, 3, 0]),
        (0, 2, 0),
        "F_GETFL: FREAD|FWRITE"
    );
    assert_eq!(
        t.e(nr::FCNTL, &[3, 4, 0]),
        ENOTTY,
        "kqueue_fcntl refuses F_SETFL"
    );
    assert_eq!(t.read(3, 4).0, ENXIO);
    assert_eq!(t.write(3, b"x").0, ENXIO);
    let b = t.buf(8);
    assert_eq!(t.e(nr::PREAD, &[3, b, 4, 0]), ESPIPE);
    // kqueue1: FNONBLOCK kept, O_CLOEXEC on the descriptor, other bits ignored.
    let fd = t.ok(KQUEUE1, &[O_NONBLOCK | O_CLOEXEC | 0x1000_0000]);
    assert_eq!(fd, 4);
    assert_eq!(t.sys(nr::FCNTL, &[4, 3, 0]).1, 2 | 4, "O_RDWR|O_NONBLOCK");
    assert_eq!(t.sys(nr::FCNTL, &[4, 1, 0]).1, 1, "FD_CLOEXEC");
    // kqueue descriptors are not copied into a child (fd_copy).
    let child = t.k.prefork(t.pid).unwrap();
    assert_eq!(t.sys_as(child, nr::FCNTL, &[3, 3, 0]).0, EBADF);
    assert_eq!(t.ok(nr::CLOSE, &[3]), 0);
    assert!(t.k.check_invariants().is_ok());
}

#[test]
fn kevent_wants_a_kqueue_descriptor() {
    let mut t = T::new();
    let (r, _w) = pipe(&mut t);
    let a = kargs(&mut t, 99, &[], 1, Some((0, 0)));
    assert_eq!(t.e(KEVENT, &a), EBADF, "not open");
    let a = kargs(&mut t, r, &[], 1, Some((0, 0)));
    assert_eq!(t.e(KEVENT, &a), EBADF, "a pipe");
    let a = kargs(&mut t, 0, &[], 1, Some((0, 0)));
    assert_eq!(t.e(KEVENT, &a), EBADF, "the console");
    let q = kq(&mut t);
    let a = kargs(&mut t, q, &[], 1, Some((0, 0)));
    let bad_ts = [a[0], a[1], a[2], a[3], a[4], 8];
    assert_eq!(t.e(KEVENT, &bad_ts), EFAULT, "the timeout is copied in");
}

#[test]
fn a_pipe_becomes_readable_after_a_write_with_the_bytes_as_data() {
    let mut t = T::new();
    let q = kq(&mut t);
    let (r, w) = pipe(&mut t);
    assert_eq!(
        now(&mut t, q, &[ev(r, EVFILT_READ, EV_ADD)], 4),
        (0, vec![])
    );
    t.write(w, b"hello");
    let (e, got) = now(&mut t, q, &[], 4);
    assert_eq!(e, 0);
    assert_eq!(
        got,
        vec![Kevent {
            data: 5,
            ..ev(r, EVFILT_READ, EV_ADD)
        }]
    );
    assert_eq!(fstat(&mut t, q).2, 1, "st_size counts the queued knote");
    // level-triggered: still there, with the new count
    t.write(w, b"abc");
    assert_eq!(now(&mut t, q, &[], 4).1[0].data, 8);
    t.read(r, 8);
    assert_eq!(now(&mut t, q, &[], 4).1, vec![], "drained: not reported");
    // EVFILT_WRITE on the write end: the room in the reader's buffer
    let (_, got) = now(&mut t, q, &[ev(w, EVFILT_WRITE, EV_ADD)], 4);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].filter, got[0].data), (EVFILT_WRITE, 16384));
    t.write(w, &[7; 100]);
    let got = now(&mut t, q, &[], 4).1;
    assert_eq!(got.len(), 2, "both knotes fire");
    let write = got.iter().find(|k| k.filter == EVFILT_WRITE).unwrap();
    assert_eq!(write.data, 16284);
    assert_eq!(
        got.iter().find(|k| k.filter == EVFILT_READ).unwrap().data,
        100
    );
}

#[test]
fn eof_when_the_other_end_is_gone() {
    let mut t = T::new();
    let q = kq(&mut t);
    let (r, w) = pipe(&mut t);
    now(&mut t, q, &[ev(r, EVFILT_READ, EV_ADD)], 1);
    t.ok(nr::CLOSE, &[w as u64]);
    let got = now(&mut t, q, &[], 1).1;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].flags, EV_ADD | EV_EOF);
    assert_eq!(got[0].data, 0);
    // EVFILT_WRITE on an end whose peer has closed: pipe_kqfilter's EBADF
    let (r2, w2) = pipe(&mut t);
    t.ok(nr::CLOSE, &[r2 as u64]);
    let (e, got) = now(&mut t, q, &[ev(w2, EVFILT_WRITE, EV_ADD)], 1);
    assert_eq!(e, 0);
    assert_eq!((got[0].flags, got[0].data), (EV_ERROR, i64::from(EBADF)));
    // a write knote set before the reader closes reports EV_EOF, data 0
    let (r3, w3) = pipe(&mut t);
    now(&mut t, q, &[ev(w3, EVFILT_WRITE, EV_ADD)], 1);
    t.ok(nr::CLOSE, &[r3 as u64]);
    let got = now(&mut t, q, &[], 4).1;
    let wk = got.iter().find(|k| k.ident == w3 as u64).unwrap();
    assert_eq!((wk.flags & EV_EOF, wk.data), (EV_EOF, 0));
    // EVFILT_READ on a write end: no data of its own, EOF once the reader is gone
    let (_, w4) = pipe(&mut t);
    assert_eq!(now(&mut t, q, &[ev(w4, EVFILT_READ, EV_ADD)], 8).1.len(), 2);
    // a filter a pipe has not: EINVAL
    let (e, got) = now(&mut t, q, &[ev(w4, EVFILT_VNODE, EV_ADD)], 1);
    assert_eq!((e, got[0].data), (0, i64::from(EINVAL)));
}

#[test]
fn oneshot_fires_once_and_is_deleted() {
    let mut t = T::new();
    let q = kq(&mut t);
    let (r, w) = pipe(&mut t);
    now(&mut t, q, &[ev(r, EVFILT_READ, EV_ADD | EV_ONESHOT)], 1);
    t.write(w, b"ab");
    let got = now(&mut t, q, &[], 2).1;
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].flags, got[0].data), (EV_ADD | EV_ONESHOT, 2));
    assert_eq!(now(&mut t, q, &[], 2).1, vec![], "not again");
    t.write(w, b"c");
    assert_eq!(now(&mut t, q, &[], 2).1, vec![], "the knote is gone");
    let (_, got) = now(&mut t, q, &[ev(r, EVFILT_READ, EV_DELETE)], 2);
    assert_eq!((got[0].flags, got[0].data), (EV_ERROR, i64::from(ENOENT)));
}

#[test]
fn clear_reports_again_only_after_a_new_change() {
    let mut t = T::new();
    let q = kq(&mut t);
    let (r, w) = pipe(&mut t);
    now(&mut t, q, &[ev(r, EVFILT_READ, EV_ADD | EV_CLEAR)], 1);
    t.write(w, b"12345");
    let got = now(&mut t, q, &[], 2).1;
    assert_eq!((got.len(), got[0].data), (1, 5));
    assert_eq!(
        now(&mut t, q, &[], 2).1,
        vec![],
        "the 5 bytes are still there, but the state was cleared"
    );
    t.write(w, b"67");
    let got = now(&mut t, q, &[], 2).1;
    assert_eq!((got.len(), got[0].data), (1, 7));
}

#[test]
fn disable_keeps_an_event_back_and_enable_brings_it() {
    let mut t = T::new();
    let q = kq(&mut t);
    let (r, w) = pipe(&mut t);
    t.write(w, b"x");
    let got = now(&mut t, q, &[ev(r, EVFILT_READ, EV_ADD | EV_DISABLE)], 2).1;
    assert_eq!(got, vec![]);
    let got = now(&mut t, q, &[ev(r, EVFILT_READ, EV_ENABLE)], 2).1;
    assert_eq!(got.len(), 1, "active all along: EV_ENABLE queues it");
    assert_eq!(got[0].flags, EV_ADD | EV_DISABLE, "the flags of the EV_ADD");
    // EV_DELETE, then the knote is unknown
    assert_eq!(
        now(&mut t, q, &[ev(r, EVFILT_READ, EV_DELETE)], 0),
        (0, vec![])
    );
    assert_eq!(
        now(&mut t, q, &[ev(r, EVFILT_READ, EV_ENABLE)], 0).0,
        ENOENT
    );
}

#[test]
fn registration_errors_are_entries_while_there_is_room_else_the_errno() {
    let mut t = T::new();
    let q = kq(&mut t);
    let (r, _w) = pipe(&mut t);
    let bad = [
        Kevent {
            fflags: 9,
            data: 77,
            ..ev(99, EVFILT_READ, EV_ADD)
        },
        ev(r, 9, EV_ADD),
        ev(r, EVFILT_AIO, EV_ADD),
        ev(r, EVFILT_READ, EV_DELETE),
    ];
    // room for all: one EV_ERROR entry each, in order, data = errno
    let a = kargs(&mut t, q, &bad, 4, Some((0, 0)));
    assert_eq!(t.sys(KEVENT, &a), (0, 4, 0));
    let got = events(&t, &a, 4);
    let errs: Vec<(u64, u32, i64)> = got.iter().map(|k| (k.ident, k.flags, k.data)).collect();
    assert_eq!(
        errs,
        vec![
            (99, EV_ERROR, i64::from(EBADF)),
            (r as u64, EV_ERROR, i64::from(EINVAL)),
            (r as u64, EV_ERROR, i64::from(EINVAL)),
            (r as u64, EV_ERROR, i64::from(ENOENT)),
        ]
    );
    assert_eq!(
        (got[0].fflags, got[0].udata),
        (9, 0xabc),
        "the change as given"
    );
    // room for one: the second error is the call's errno, the first entry stays
    let a = kargs(&mut t, q, &bad, 1, Some((0, 0)));
    assert_eq!(t.e(KEVENT, &a), EINVAL);
    assert_eq!(events(&t, &a, 1)[0].data, i64::from(EBADF));
    // no room: the first error
    let a = kargs(&mut t, q, &bad[3..], 0, None);
    assert_eq!(t.e(KEVENT, &a), ENOENT);
    // a NULL changelist with changes faults
    let mut a = kargs(&mut t, q, &[], 1, Some((0, 0)));
    a[2] = 1;
    assert_eq!(t.e(KEVENT, &a), EFAULT);
    // more than 8 changes (two copyin chunks): all registered
    let mut many = Vec::new();
    for i in 0..9 {
        many.push(Kevent {
            data: 1000,
            ..ev(100 + i, EVFILT_TIMER, EV_ADD)
        });
    }
    let a = kargs(&mut t, q, &many, 0, None);
    assert_eq!(t.sys(KEVENT, &a), (0, 0, 0));
    assert_eq!(t.k.kq.timers(), 9);
}

#[test]
fn timeouts_zero_bad_and_timed() {
    let mut t = T::new();
    let q = kq(&mut t);
    let (r, _w) = pipe(&mut t);
    now(&mut t, q, &[ev(r, EVFILT_READ, EV_ADD)], 0);
    let a = kargs(&mut t, q, &[], 3, Some((0, 1_000_000_000)));
    assert_eq!(t.sys(KEVENT, &a), (EINVAL, 3, 0), "retval = nevents");
    let a = kargs(&mut t, q, &[], 0, Some((-1, 0)));
    assert_eq!(t.sys(KEVENT, &a), (0, 0, 0), "no room: no scan, no check");
    // nothing can change the pipe: the clock runs to the deadline
    let before = t.k.clock.mono_ns;
    let a = kargs(&mut t, q, &[], 1, Some((1, 500_000_000)));
    assert_eq!(t.sys(KEVENT, &a), (0, 0, 0));
    assert!(t.k.clock.mono_ns - before >= 1_500_000_000);
    let before = t.k.clock.mono_ns;
    assert_eq!(now(&mut t, q, &[], 1), (0, vec![]));
    assert!(t.k.clock.mono_ns - before < 1_000_000, "zero: at once");
}

#[test]
fn a_blocked_kevent_wakes_when_another_process_writes_and_registers_once() {
    let mut t = T::new();
    let q = kq(&mut t);
    let (r, w) = pipe(&mut t);
    let (r2, _w2) = pipe(&mut t);
    let other = t.k.prefork(t.pid).unwrap();
    now(&mut t, q, &[ev(r, EVFILT_READ, EV_ADD)], 0);
    now(&mut t, q, &[ev(r2, EVFILT_READ, EV_ADD)], 0);
    // the waiting call deletes r2's knote, then waits for ever
    let a = kargs(&mut t, q, &[ev(r2, EVFILT_READ, EV_DELETE)], 4, None);
    assert_eq!(t.sys(KEVENT, &a), (-1, -1, -1), "blocks");
    assert_eq!(t.sys(KEVENT, &a), (-1, -1, -1), "still, on a retry");
    // also with a timeout while the other process could write
    let timed = kargs(&mut t, q, &[], 4, Some((5, 0)));
    assert_eq!(t.sys(KEVENT, &timed), (-1, -1, -1));
    t.k.take_changed();
    let b = t.put(b"hi");
    assert_eq!(t.sys_as(other, nr::WRITE, &[w as u64, b, 2]).1, 2);
    let changed = t.k.take_changed().unwrap_or_default();
    assert!(
        changed.contains(&kqueue_key(1)),
        "the kqueue's key wakes the kevent: {changed:x?}"
    );
    // the retry scans; the EV_DELETE is not applied again (no ENOENT entry)
    assert_eq!(t.sys(KEVENT, &a), (0, 1, 0));
    assert_eq!(
        events(&t, &a, 1),
        vec![Kevent {
            data: 2,
            ..ev(r, EVFILT_READ, EV_ADD)
        }]
    );
    assert!(t.k.check_invariants().is_ok());
}

#[test]
fn timers_run_on_the_virtual_clock() {
    let mut t = T::new();
    let q = kq(&mut t);
    let timer = Kevent {
        data: 100,
        ..ev(1, EVFILT_TIMER, EV_ADD)
    };
    let (_, got) = now(&mut t, q, &[timer], 1);
    assert_eq!(got, vec![], "not yet");
    // a NULL timeout with only the timer to wait for: the clock runs to it
    let before = t.k.clock.mono_ns;
    let a = kargs(&mut t, q, &[], 1, None);
    assert_eq!(t.sys(KEVENT, &a), (0, 1, 0));
    let got = events(&t, &a, 1);
    assert_eq!((got[0].flags, got[0].data), (EV_ADD | EV_CLEAR, 1));
    assert!(t.k.clock.mono_ns - before >= 100_000_000);
    // 350 ms later: three more expiries, counted in data
    let ts = t.put(&[0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x93, 0xdc, 0x14, 0, 0, 0, 0]);
    t.ok(nr::NANOSLEEP, &[ts, 0]);
    assert_eq!(now(&mut t, q, &[], 1).1[0].data, 3);
    // data 0 is EINVAL
    let zero = Kevent {
        data: 0,
        ..ev(2, EVFILT_TIMER, EV_ADD)
    };
    assert_eq!(now(&mut t, q, &[zero], 0).0, EINVAL);
}

#[test]
fn files_console_and_rumpfs() {
    let mut t = T::new();
    let q = kq(&mut t);
    let (e, f) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!(e, 0);
    t.write(f, b"0123456789");
    t.ok(nr::LSEEK, &[f as u64, 0, 4, 0]);
    // filt_genfsread: size minus offset
    let got = now(&mut t, q, &[ev(f, EVFILT_READ, EV_ADD)], 1).1;
    assert_eq!(got[0].data, 6);
    t.ok(nr::LSEEK, &[f as u64, 0, 0, 2]);
    assert_eq!(now(&mut t, q, &[], 1).1, vec![], "at the end: 0, not ready");
    let (_, got) = now(&mut t, q, &[ev(f, EVFILT_WRITE, EV_ADD)], 1);
    assert_eq!(
        got[0].data,
        i64::from(EINVAL),
        "genfs_kqfilter has no write filter"
    );
    // EVFILT_VNODE: a write that extends the file notes NOTE_WRITE|NOTE_EXTEND
    let vn = Kevent {
        fflags: NOTE_WRITE | NOTE_EXTEND,
        ..ev(f, EVFILT_VNODE, EV_ADD | EV_CLEAR)
    };
    assert_eq!(now(&mut t, q, &[vn], 1).1, vec![]);
    t.write(f, b"ab");
    let got = now(&mut t, q, &[], 4).1;
    let v = got.iter().find(|k| k.filter == EVFILT_VNODE).unwrap();
    assert_eq!(v.fflags, NOTE_WRITE | NOTE_EXTEND);
    assert_eq!(
        got.iter().find(|k| k.filter == EVFILT_READ).map(|k| k.data),
        None
    );
    // the console and rumpfs files have no kqfilter: EOPNOTSUPP
    let (_, got) = now(&mut t, q, &[ev(1, EVFILT_READ, EV_ADD)], 1);
    assert_eq!(got[0].data, i64::from(EOPNOTSUPP));
    let (e, rf) = t.open("/rootfile", O_RDWR | O_CREAT, 0o644);
    assert_eq!(e, 0);
    let (_, got) = now(&mut t, q, &[ev(rf, EVFILT_READ, EV_ADD)], 1);
    assert_eq!(got[0].data, i64::from(EOPNOTSUPP));
}

#[test]
fn closing_a_descriptor_deletes_its_knotes() {
    let mut t = T::new();
    let q = kq(&mut t);
    let (r, w) = pipe(&mut t);
    let d = t.ok(nr::DUP, &[r as u64]);
    t.write(w, b"x");
    now(&mut t, q, &[ev(d, EVFILT_READ, EV_ADD)], 0);
    assert_eq!(fstat(&mut t, q).2, 1);
    t.ok(nr::CLOSE, &[d as u64]);
    assert_eq!(fstat(&mut t, q).2, 0, "knote_fdclose");
    assert_eq!(now(&mut t, q, &[], 1).1, vec![]);
    assert!(t.k.check_invariants().is_ok());
}

#[test]
fn processes_kqueues_and_poll() {
    let mut t = T::new();
    let q = kq(&mut t);
    let child = t.k.prefork(t.pid).unwrap();
    let (_, got) = now(&mut t, q, &[ev(99_999, EVFILT_PROC, EV_ADD)], 1);
    assert_eq!(got[0].data, i64::from(ESRCH));
    let watch = Kevent {
        fflags: NOTE_EXIT,
        ..ev(i64::from(child), EVFILT_PROC, EV_ADD)
    };
    assert_eq!(now(&mut t, q, &[watch], 1).1, vec![]);
    t.k.exit(child);
    let got = now(&mut t, q, &[], 1).1;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].fflags, NOTE_EXIT);
    assert_eq!(got[0].flags, EV_ADD | EV_CLEAR | EV_EOF | EV_ONESHOT);
    // another kqueue watching this one: data = the queued knotes
    let q2 = kq(&mut t);
    let (r, w) = pipe(&mut t);
    now(&mut t, q, &[ev(r, EVFILT_READ, EV_ADD)], 0);
    assert_eq!(now(&mut t, q2, &[ev(q, EVFILT_READ, EV_ADD)], 1).1, vec![]);
    let (_, got) = now(&mut t, q2, &[ev(q, EVFILT_WRITE, EV_ADD)], 1);
    assert_eq!(got[0].data, i64::from(EPERM), "kqueue_kqfilter returns 1");
    // poll of the kqueue: nothing queued yet
    let pfd = |t: &mut T| {
        let mut v = (q as i32).to_le_bytes().to_vec();
        v.extend_from_slice(&[1, 0, 0, 0]);
        t.put(&v)
    };
    let a = pfd(&mut t);
    assert_eq!(t.sys(POLL, &[a, 1, 0]).1, 0);
    t.write(w, b"z");
    let got = now(&mut t, q2, &[], 1).1;
    assert_eq!(
        (got.len(), got[0].data),
        (1, 1),
        "the pipe's knote is queued on q"
    );
    let a = pfd(&mut t);
    assert_eq!(t.sys(POLL, &[a, 1, 0]).1, 1, "POLLIN");
}

#[test]
fn kfilter_ioctls_map_names_and_numbers() {
    let mut t = T::new();
    let q = kq(&mut t);
    let name = t.s("EVFILT_TIMER");
    let mut km = name.to_le_bytes().to_vec();
    km.extend_from_slice(&[0; 16]);
    let a = t.put(&km);
    assert_eq!(t.e(IOCTL, &[q as u64, 0xc018_6b01, a]), 0);
    let back = t.mem.read(a, 24).unwrap();
    assert_eq!(
        u32::from_le_bytes(back[16..20].try_into().unwrap()),
        EVFILT_TIMER
    );
    let buf = t.buf(16);
    let mut km = buf.to_le_bytes().to_vec();
    km.extend_from_slice(&16u64.to_le_bytes());
    km.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    let a = t.put(&km);
    assert_eq!(t.e(IOCTL, &[q as u64, 0xc018_6b00, a]), 0);
    assert_eq!(t.mem.read(buf, 13).unwrap(), b"EVFILT_WRITE\0");
    km[8..16].copy_from_slice(&12u64.to_le_bytes());
    let a = t.put(&km);
    assert_eq!(t.e(IOCTL, &[q as u64, 0xc018_6b00, a]), ENAMETOOLONG);
    assert_eq!(t.e(IOCTL, &[q as u64, 0x4004_667f, a]), ENOTTY, "FIONREAD");
}

/// A kernel with AF_LOCAL sockets.
fn with_local() -> T {
    use rumpsp_sim_kernel::{Component, Components, SimConfig};
    T::with_config(SimConfig {
        components: Components::FILE_SYSTEMS
            .with(Component::Net)
            .with(Component::Local),
        ..Default::default()
    })
}

#[test]
fn sockets_report_received_bytes_room_and_eof() {
    const SOCKETPAIR: u32 = 135;
    let mut t = with_local();
    let q = kq(&mut t);
    let sv = t.buf(8);
    assert_eq!(t.e(SOCKETPAIR, &[1, 1, 0, sv]), 0, "AF_LOCAL SOCK_STREAM");
    let b = t.mem.read(sv, 8).unwrap();
    let a = i64::from(i32::from_le_bytes(b[0..4].try_into().unwrap()));
    let z = i64::from(i32::from_le_bytes(b[4..8].try_into().unwrap()));
    assert_eq!(now(&mut t, q, &[ev(a, EVFILT_READ, EV_ADD)], 1).1, vec![]);
    assert_eq!(t.write(z, b"hello").1, 5);
    let got = now(&mut t, q, &[], 1).1;
    assert_eq!((got.len(), got[0].data), (1, 5), "filt_soread: sb_cc");
    // EVFILT_WRITE: the room in the send buffer, ready at its low-water mark
    let got = now(&mut t, q, &[ev(z, EVFILT_WRITE, EV_ADD | EV_ONESHOT)], 4).1;
    let w = got.iter().find(|k| k.filter == EVFILT_WRITE).unwrap();
    assert!(w.data > 0, "sbspace: {}", w.data);
    let (_, got) = now(&mut t, q, &[ev(a, EVFILT_VNODE, EV_ADD)], 1);
    assert_eq!(
        got[0].data,
        i64::from(EINVAL),
        "soo_kqfilter: READ and WRITE only"
    );
    // the peer closes: EOF
    t.ok(nr::CLOSE, &[z as u64]);
    let got = now(&mut t, q, &[], 4).1;
    let r = got.iter().find(|k| k.ident == a as u64).unwrap();
    assert_eq!(r.flags & EV_EOF, EV_EOF);
    assert!(t.k.check_invariants().is_ok());
}

#[test]
fn fifos_report_their_sockets_data_room_and_eof() {
    use rumpsp_sim_kernel::{Component, Components, SimConfig};
    const MKFIFO: u32 = 132;
    let mut t = T::with_config(SimConfig {
        components: Components::FILE_SYSTEMS
            .with(Component::Net)
            .with(Component::Local)
            .with(Component::Fifo),
        ..Default::default()
    });
    let q = kq(&mut t);
    let p = t.s("/tmp/p");
    assert_eq!(t.e(MKFIFO, &[p, 0o644]), 0);
    let (e, r) = t.open("/tmp/p", O_RDONLY | O_NONBLOCK, 0);
    assert_eq!(e, 0);
    let (e, w) = t.open("/tmp/p", O_WRONLY, 0);
    assert_eq!(e, 0);
    assert_eq!(now(&mut t, q, &[ev(r, EVFILT_READ, EV_ADD)], 1).1, vec![]);
    assert_eq!(t.write(w, b"abc").1, 3);
    let got = now(&mut t, q, &[], 1).1;
    assert_eq!((got.len(), got[0].data, got[0].flags), (1, 3, EV_ADD));
    let got = now(&mut t, q, &[ev(w, EVFILT_WRITE, EV_ADD | EV_ONESHOT)], 4).1;
    assert!(got.iter().any(|k| k.filter == EVFILT_WRITE && k.data > 0));
    let (_, got) = now(&mut t, q, &[ev(r, EVFILT_VNODE, EV_ADD)], 1);
    assert_eq!(
        got[0].data,
        i64::from(EINVAL),
        "fifo_kqfilter: READ and WRITE only"
    );
    t.ok(nr::CLOSE, &[w as u64]);
    let got = now(&mut t, q, &[], 1).1;
    assert_eq!(got[0].flags & EV_EOF, EV_EOF, "the last writer closed");
    assert!(t.k.check_invariants().is_ok());
}
