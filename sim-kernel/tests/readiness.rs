//! Readiness of sockets and FIFOs through poll (209), __select50 (417) and
//! __kevent50 (435), case by case, with the rule of NetBSD 7's sources each
//! case follows: `sopoll`/`sodopoll` and `filt_soread`/`filt_sowrite`/
//! `filt_solisten` (sys/kern/uipc_socket.c), `fifo_poll`, `fifo_read`,
//! `fifo_kqfilter`, `filt_fiforead`/`filt_fifowrite`
//! (sys/miscfs/fifofs/fifo_vnops.c 1.77) and the waits of `sel_do_scan`
//! (sys/kern/sys_select.c). Pipes and files are in io_calls.rs and kqueue.rs.

mod common;

use common::*;
use rumpsp_protocol::kernel::Kernel;
use rumpsp_sim_kernel::kqueue::*;
use rumpsp_sim_kernel::SimConfig;

const POLL: u32 = 209;
const SELECT: u32 = 417;
const KQUEUE: u32 = 344;
const KEVENT: u32 = 435;
const MKFIFO: u32 = 132;
const SOCKET: u32 = 394;
const SOCKETPAIR: u32 = 135;
const BIND: u32 = 104;
const CONNECT: u32 = 98;
const LISTEN: u32 = 106;
const SHUTDOWN: u32 = 134;
const SETSOCKOPT: u32 = 105;

const POLLIN: i16 = 0x1;
const POLLPRI: i16 = 0x2;
const POLLOUT: i16 = 0x4;
const POLLERR: i16 = 0x8;
const POLLHUP: i16 = 0x10;
const POLLRDNORM: i16 = 0x40;
const POLLRDBAND: i16 = 0x80;
const POLLWRBAND: i16 = 0x100;

const AF_LOCAL: u64 = 1;
const STREAM: u64 = 1;
const DGRAM: u64 = 2;
const SOL_SOCKET: u64 = 0xffff;
const SO_SNDLOWAT: u64 = 0x1003;
const SO_RCVLOWAT: u64 = 0x1004;

/// A kernel with tmpfs, AF_LOCAL sockets and fifofs.
fn kernel() -> T {
    T::with_config(SimConfig {
        components: "vfs,tmpfs,net,local,fifo".parse().unwrap(),
        ..Default::default()
    })
}

/// poll with a zero timeout: (errno, count, revents).
fn poll_now(t: &mut T, fds: &[(i64, i16)]) -> (i32, i64, Vec<i16>) {
    let mut b = Vec::new();
    for &(fd, ev) in fds {
        b.extend_from_slice(&(fd as i32).to_le_bytes());
        b.extend_from_slice(&ev.to_le_bytes());
        b.extend_from_slice(&0x5555i16.to_le_bytes());
    }
    let a = t.put(&b);
    let (e, n, _) = t.sys(POLL, &[a, fds.len() as u64, 0]);
    let out = t.mem.read(a, fds.len() * 8).unwrap();
    let rev = out
        .chunks(8)
        .map(|c| i16::from_le_bytes([c[6], c[7]]))
        .collect();
    (e, n, rev)
}

/// The revents of one descriptor polled for `events`.
fn rev(t: &mut T, fd: i64, events: i16) -> i16 {
    let (e, _, r) = poll_now(t, &[(fd, events)]);
    assert_eq!(e, 0);
    r[0]
}

/// select over descriptors < 32 with a zero timeout: (errno, count, the
/// read, write and except sets as bit masks).
fn select_now(t: &mut T, rd: u32, wr: u32, ex: u32) -> (i32, i64, [u32; 3]) {
    let sets = [rd, wr, ex].map(|m| t.put(&m.to_le_bytes()));
    let tv = t.put(&[0u8; 16]);
    let (e, n, _) = t.sys(SELECT, &[32, sets[0], sets[1], sets[2], tv]);
    let out = sets.map(|a| u32::from_le_bytes(t.mem.read(a, 4).unwrap().try_into().unwrap()));
    (e, n, out)
}

fn pair(t: &mut T, ty: u64) -> (i64, i64) {
    let sv = t.buf(8);
    t.ok(SOCKETPAIR, &[AF_LOCAL, ty, 0, sv]);
    let b = t.mem.read(sv, 8).unwrap();
    (
        i64::from(i32::from_le_bytes(b[0..4].try_into().unwrap())),
        i64::from(i32::from_le_bytes(b[4..8].try_into().unwrap())),
    )
}

fn setint(t: &mut T, fd: i64, name: u64, val: i32) -> i32 {
    let v = t.put(&val.to_le_bytes());
    t.e(SETSOCKOPT, &[fd as u64, SOL_SOCKET, name, v, 4])
}

fn ev(ident: i64, filter: u32, flags: u32) -> Kevent {
    Kevent {
        ident: ident as u64,
        filter,
        flags,
        ..Default::default()
    }
}

/// kevent with a zero timeout: the events reported (room for 8).
fn kevent_now(t: &mut T, kq: i64, changes: &[Kevent]) -> Vec<Kevent> {
    let cl: Vec<u8> = changes.iter().flat_map(|e| e.encode()).collect();
    let cl = if cl.is_empty() { 0 } else { t.put(&cl) };
    let out = t.buf(8 * 40);
    let ts = t.put(&[0u8; 16]);
    let (e, n, _) = t.sys(KEVENT, &[kq as u64, cl, changes.len() as u64, out, 8, ts]);
    assert_eq!(e, 0, "kevent");
    let b = t.mem.read(out, n as usize * 40).unwrap();
    b.chunks(40).map(Kevent::decode).collect()
}

/// A FIFO at /tmp/f.
fn fifo(t: &mut T) {
    let p = t.s("/tmp/f");
    assert_eq!(t.e(MKFIFO, &[p, 0o644]), 0);
}

// ---- FIFOs -----------------------------------------------------------------

#[test]
fn fifo_poll_in_each_state_asks_the_read_and_the_write_socket() {
    let mut t = kernel();
    fifo(&mut t);
    // fifo_open: the read socket can receive (SS_CANTRCVMORE is never set
    // on it before a writer closes), so a reader with no writer yet is not
    // readable; the write socket can send once a reader is there.
    let (e, r) = t.open("/tmp/f", O_RDONLY | O_NONBLOCK, 0);
    assert_eq!(e, 0);
    assert_eq!(poll_now(&mut t, &[(r, POLLIN)]), (0, 0, vec![0]));
    // fifo_poll: write events ask sopoll of the write socket whatever the
    // open file's mode: the reader's descriptor says POLLOUT too.
    assert_eq!(rev(&mut t, r, POLLOUT), POLLOUT);
    // Each socket is asked for ALL the events: asked for both, the write
    // socket (SS_CANTRCVMORE from fifo_open) says POLLIN and the read
    // socket (SS_CANTSENDMORE) POLLOUT, whatever the FIFO holds.
    assert_eq!(rev(&mut t, r, POLLIN | POLLOUT), POLLIN | POLLOUT);
    let (e, w) = t.open("/tmp/f", O_WRONLY | O_NONBLOCK, 0);
    assert_eq!(e, 0);
    assert_eq!(
        rev(&mut t, w, POLLOUT | POLLWRBAND),
        POLLOUT,
        "events & sowritable's"
    );
    assert_eq!(rev(&mut t, r, POLLIN | POLLRDNORM), 0, "empty");
    assert_eq!(t.write(w, b"abc").1, 3);
    assert_eq!(
        rev(&mut t, r, POLLIN | POLLRDNORM | POLLPRI),
        POLLIN | POLLRDNORM
    );
    // read events ask the read socket: the writer's descriptor is readable
    assert_eq!(rev(&mut t, w, POLLIN), POLLIN);
    // the last writer closes: socantrcvmore on the read socket; a socket
    // says readable, never POLLHUP
    t.ok(nr::CLOSE, &[w as u64]);
    assert_eq!(rev(&mut t, r, POLLIN), POLLIN);
    assert_eq!(t.read(r, 64).1, b"abc");
    assert_eq!(rev(&mut t, r, POLLIN), POLLIN, "EOF still to be read");
    assert_eq!(t.read(r, 64), (0, vec![]), "EOF");
    // fifo_read: "Clear EOF indication after first such return"
    assert_eq!(rev(&mut t, r, POLLIN), 0, "SS_CANTRCVMORE cleared");
    assert_eq!(t.read(r, 64), (0, vec![]), "EWOULDBLOCK with no writer: 0");
    assert!(t.k.check_invariants().is_ok());
}

#[test]
fn a_fifo_whose_reader_closed_is_writable_without_pollhup() {
    let mut t = kernel();
    fifo(&mut t);
    let (_, r) = t.open("/tmp/f", O_RDONLY | O_NONBLOCK, 0);
    let (_, w) = t.open("/tmp/f", O_WRONLY | O_NONBLOCK, 0);
    t.ok(nr::CLOSE, &[r as u64]);
    // socantsendmore on the write socket: sowritable says yes (the write
    // fails with EPIPE); no POLLHUP, no POLLERR from a socket
    assert_eq!(rev(&mut t, w, POLLOUT), POLLOUT);
    assert_eq!(rev(&mut t, w, POLLIN), 0, "the read socket is empty");
    assert_eq!(t.write(w, b"x").0, EPIPE);
}

#[test]
fn a_fifo_opened_o_rdwr_polls_its_data_and_room() {
    let mut t = kernel();
    fifo(&mut t);
    let (e, rw) = t.open("/tmp/f", O_RDWR, 0);
    assert_eq!(e, 0);
    assert_eq!(rev(&mut t, rw, POLLIN), 0);
    assert_eq!(rev(&mut t, rw, POLLOUT), POLLOUT);
    assert_eq!(t.write(rw, b"q").1, 1);
    assert_eq!(rev(&mut t, rw, POLLIN | POLLRDNORM), POLLIN | POLLRDNORM);
}

#[test]
fn select_on_a_fifo() {
    let mut t = kernel();
    fifo(&mut t);
    let (_, r) = t.open("/tmp/f", O_RDONLY | O_NONBLOCK, 0);
    let (_, w) = t.open("/tmp/f", O_WRONLY | O_NONBLOCK, 0);
    let (rb, wb) = (1u32 << r, 1u32 << w);
    // selscan: the read set asks POLLRDNORM|POLLHUP|POLLERR, the write set
    // POLLWRNORM|POLLHUP|POLLERR, the except set POLLRDBAND
    assert_eq!(select_now(&mut t, rb, wb, rb | wb), (0, 1, [0, wb, 0]));
    assert_eq!(t.write(w, b"z").1, 1);
    assert_eq!(select_now(&mut t, rb | wb, wb, 0), (0, 3, [rb | wb, wb, 0]));
}

#[test]
fn fifo_kqueue_filters_both_hook_the_read_socket() {
    let mut t = kernel();
    fifo(&mut t);
    let kq = t.ok(KQUEUE, &[]);
    let (_, r) = t.open("/tmp/f", O_RDONLY | O_NONBLOCK, 0);
    // fifo_kqfilter: EVFILT_WRITE on the read socket's send buffer. That
    // socket can send no more (fifo_open sets SS_CANTSENDMORE on it and
    // nothing clears it): the filter fires at once with EV_EOF, even with
    // no writer, its data the room in that unused buffer.
    let got = kevent_now(&mut t, kq, &[ev(r, EVFILT_WRITE, EV_ADD)]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].flags & EV_EOF, EV_EOF);
    assert_eq!(got[0].data, 4096, "sbspace: PIPSIZ, unpst_sendspace");
    // EVFILT_READ: nothing yet, no EOF (filt_fiforead clears EV_EOF)
    let got = kevent_now(&mut t, kq, &[ev(r, EVFILT_READ, EV_ADD)]);
    assert!(got.iter().all(|k| k.filter != EVFILT_READ), "{got:?}");
    let (_, w) = t.open("/tmp/f", O_WRONLY | O_NONBLOCK, 0);
    assert_eq!(t.write(w, b"12345").1, 5);
    let got = kevent_now(&mut t, kq, &[]);
    let rd = got.iter().find(|k| k.filter == EVFILT_READ).unwrap();
    assert_eq!(
        (rd.data, rd.flags & EV_EOF),
        (5, 0),
        "sb_cc of the read socket"
    );
    // the writer's EVFILT_WRITE is on the read socket too: room unchanged
    let got = kevent_now(&mut t, kq, &[ev(w, EVFILT_WRITE, EV_ADD)]);
    let wr = got.iter().find(|k| k.ident == w as u64).unwrap();
    assert_eq!((wr.data, wr.flags & EV_EOF), (4096, EV_EOF));
    t.ok(nr::CLOSE, &[w as u64]);
    let got = kevent_now(&mut t, kq, &[]);
    let rd = got.iter().find(|k| k.filter == EVFILT_READ).unwrap();
    assert_eq!(
        (rd.data, rd.flags & EV_EOF),
        (5, EV_EOF),
        "the last writer left"
    );
    assert!(t.k.check_invariants().is_ok());
}

// ---- AF_LOCAL sockets --------------------------------------------------------

#[test]
fn a_stream_pair_polls_data_low_water_marks_shutdown_and_close() {
    let mut t = kernel();
    let (a, z) = pair(&mut t, STREAM);
    // sodopoll: connected with room (sbspace >= sb_lowat): writable
    assert_eq!(
        rev(&mut t, a, POLLIN | POLLOUT | POLLPRI | POLLRDBAND),
        POLLOUT
    );
    assert_eq!(t.write(z, b"hello").1, 5);
    assert_eq!(
        rev(&mut t, a, POLLIN | POLLRDNORM | POLLOUT),
        POLLIN | POLLRDNORM | POLLOUT
    );
    // soreadable: sb_cc >= so_rcv.sb_lowat
    assert_eq!(setint(&mut t, a, SO_RCVLOWAT, 6), 0);
    assert_eq!(
        rev(&mut t, a, POLLIN),
        0,
        "5 bytes under a low-water mark of 6"
    );
    assert_eq!(setint(&mut t, a, SO_RCVLOWAT, 5), 0);
    assert_eq!(rev(&mut t, a, POLLIN), POLLIN);
    assert_eq!(setint(&mut t, a, SO_RCVLOWAT, 100), 0);
    // the peer shuts down its sending side: SS_CANTRCVMORE is readable
    // whatever the low-water mark
    t.ok(SHUTDOWN, &[z as u64, 1]);
    assert_eq!(rev(&mut t, a, POLLIN), POLLIN);
    // close: soisdisconnected, both ways done; readable and writable, no POLLHUP
    t.ok(nr::CLOSE, &[z as u64]);
    assert_eq!(rev(&mut t, a, POLLIN | POLLOUT), POLLIN | POLLOUT);
    assert_eq!(rev(&mut t, a, 0) & (POLLHUP | POLLERR), 0);
}

#[test]
fn the_send_low_water_mark_decides_writability() {
    let mut t = kernel();
    let (a, z) = pair(&mut t, STREAM);
    let _ = z;
    let kq = t.ok(KQUEUE, &[]);
    let got = kevent_now(&mut t, kq, &[ev(a, EVFILT_WRITE, EV_ADD)]);
    let room = got[0].data;
    assert!(room > 0);
    // SO_SNDLOWAT above the room: sowritable and filt_sowrite say no
    assert_eq!(setint(&mut t, a, SO_SNDLOWAT, room as i32), 0);
    assert_eq!(rev(&mut t, a, POLLOUT), POLLOUT, "room == sb_lowat");
    assert_eq!(t.write(a, b"x").1, 1);
    assert_eq!(rev(&mut t, a, POLLOUT), 0, "room - 1 < sb_lowat");
    let got = kevent_now(&mut t, kq, &[]);
    assert!(got.is_empty(), "filt_sowrite: data < sb_lowat: {got:?}");
    // NOTE_LOWAT: the knote's own mark
    let mut lw = ev(a, EVFILT_WRITE, EV_ADD);
    lw.fflags = NOTE_LOWAT;
    lw.data = 1;
    let got = kevent_now(&mut t, kq, &[lw]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, room - 1, "sbspace after one byte");
}

#[test]
fn filt_soread_counts_bytes_honours_note_lowat_and_reports_eof() {
    let mut t = kernel();
    let (a, z) = pair(&mut t, STREAM);
    let kq = t.ok(KQUEUE, &[]);
    let mut lw = ev(a, EVFILT_READ, EV_ADD);
    lw.fflags = NOTE_LOWAT;
    lw.data = 4;
    assert!(kevent_now(&mut t, kq, &[lw]).is_empty());
    assert_eq!(t.write(z, b"abc").1, 3);
    assert!(kevent_now(&mut t, kq, &[]).is_empty(), "3 < NOTE_LOWAT 4");
    assert_eq!(t.write(z, b"d").1, 1);
    let got = kevent_now(&mut t, kq, &[]);
    assert_eq!((got.len(), got[0].data, got[0].flags & EV_EOF), (1, 4, 0));
    t.ok(SHUTDOWN, &[z as u64, 1]);
    let got = kevent_now(&mut t, kq, &[]);
    assert_eq!(
        (got[0].data, got[0].flags & EV_EOF, got[0].fflags),
        (4, EV_EOF, 0)
    );
}

#[test]
fn a_listening_socket_is_readable_with_a_queued_connection() {
    let mut t = kernel();
    let l = t.ok(SOCKET, &[AF_LOCAL, STREAM, 0]);
    let mut name = vec![0u8, 1];
    name.extend_from_slice(b"/tmp/s");
    let sa = t.put(&name);
    t.ok(BIND, &[l as u64, sa, name.len() as u64]);
    t.ok(LISTEN, &[l as u64, 5]);
    let kq = t.ok(KQUEUE, &[]);
    assert!(kevent_now(&mut t, kq, &[ev(l, EVFILT_READ, EV_ADD)]).is_empty());
    // an unconnected stream socket: nothing to read, and PR_CONNREQUIRED
    // without SS_ISCONNECTED is not writable
    let c = t.ok(SOCKET, &[AF_LOCAL, STREAM, 0]);
    assert_eq!(rev(&mut t, c, POLLIN | POLLOUT), 0);
    assert_eq!(rev(&mut t, l, POLLIN | POLLOUT), 0, "listening");
    t.ok(CONNECT, &[c as u64, sa, name.len() as u64]);
    // soreadable: so_qlen != 0
    assert_eq!(rev(&mut t, l, POLLIN), POLLIN);
    let got = kevent_now(&mut t, kq, &[]);
    assert_eq!((got.len(), got[0].data), (1, 1), "filt_solisten: so_qlen");
    assert_eq!(rev(&mut t, c, POLLOUT), POLLOUT, "connected");
}

#[test]
fn datagram_sockets_are_writable_and_readable_per_datagram() {
    let mut t = kernel();
    let (a, z) = pair(&mut t, DGRAM);
    assert_eq!(rev(&mut t, a, POLLIN | POLLOUT), POLLOUT);
    assert_eq!(t.write(z, b"dg").1, 2);
    assert_eq!(rev(&mut t, a, POLLIN | POLLOUT), POLLIN | POLLOUT);
    // an unbound, unconnected datagram socket: no PR_CONNREQUIRED, writable
    let u = t.ok(SOCKET, &[AF_LOCAL, DGRAM, 0]);
    assert_eq!(rev(&mut t, u, POLLIN | POLLOUT), POLLOUT);
}

// ---- waits -------------------------------------------------------------------

#[test]
fn a_timed_poll_on_a_socket_no_one_else_can_reach_returns_0_after_the_time() {
    let mut t = kernel();
    let (a, _z) = pair(&mut t, STREAM);
    let mut b = (a as i32).to_le_bytes().to_vec();
    b.extend_from_slice(&POLLIN.to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    let fds = t.put(&b);
    let before = t.k.clock.mono_ns;
    // sel_do_scan: nothing ready, the time runs out: 0 (EWOULDBLOCK → 0)
    assert_eq!(t.sys(POLL, &[fds, 1, 250]), (0, 0, 0));
    assert!(t.k.clock.mono_ns - before >= 250_000_000);
    assert!(t.k.timed_waits.is_empty());
    // the same through kevent
    let kq = t.ok(KQUEUE, &[]);
    let cl = t.put(&ev(a, EVFILT_READ, EV_ADD).encode());
    let out = t.buf(40);
    let ts = t.put(&[0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x42, 0x0f, 0, 0, 0, 0, 0]);
    let before = t.k.clock.mono_ns;
    assert_eq!(t.sys(KEVENT, &[kq as u64, cl, 1, out, 1, ts]), (0, 0, 0));
    assert!(t.k.clock.mono_ns - before >= 1_000_000, "1 ms");
}

#[test]
fn a_poll_on_a_socket_another_process_could_write_waits_on_that_socket() {
    let mut t = kernel();
    let (a, z) = pair(&mut t, STREAM);
    let other = t.k.prefork(t.pid).unwrap();
    let mut b = (a as i32).to_le_bytes().to_vec();
    b.extend_from_slice(&POLLIN.to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    let fds = t.put(&b);
    assert_eq!(t.sys(POLL, &[fds, 1, 5000]), (-1, -1, -1), "blocks");
    t.k.take_changed();
    let data = t.put(b"wake");
    assert_eq!(t.sys_as(other, nr::WRITE, &[z as u64, data, 4]).1, 4);
    let changed = t.k.take_changed().unwrap_or_default();
    assert!(!changed.is_empty(), "the socket's key moved");
    assert_eq!(t.sys(POLL, &[fds, 1, 5000]), (0, 1, 0));
    let out = t.mem.read(fds, 8).unwrap();
    assert_eq!(i16::from_le_bytes([out[6], out[7]]), POLLIN);
    assert!(t.k.timed_waits.is_empty(), "the timed wait is over");
}

#[test]
fn a_poll_on_a_fifo_waits_until_its_writer_writes() {
    let mut t = kernel();
    fifo(&mut t);
    let (_, r) = t.open("/tmp/f", O_RDONLY | O_NONBLOCK, 0);
    let other = t.k.prefork(t.pid).unwrap();
    let (_, w) = t.open("/tmp/f", O_WRONLY | O_NONBLOCK, 0);
    let mut b = (r as i32).to_le_bytes().to_vec();
    b.extend_from_slice(&POLLIN.to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    let fds = t.put(&b);
    // the other process holds the FIFO (its descriptor table is a copy)
    assert_eq!(t.sys(POLL, &[fds, 1, u32::MAX as u64]), (-1, -1, -1));
    let _ = other;
    assert_eq!(t.write(w, b"x").1, 1);
    assert_eq!(t.sys(POLL, &[fds, 1, u32::MAX as u64]), (0, 1, 0));
}

// ---- AF_INET ---------------------------------------------------------------

const AF_INET: u64 = 2;
const SOCK_NONBLOCK: u64 = 0x2000_0000;
const ACCEPT: u32 = 30;
const SENDTO: u32 = 133;
const GETSOCKOPT: u32 = 118;
const SO_ERROR: u64 = 0x1007;
const ECONNREFUSED: i32 = 61;
const EINPROGRESS: i32 = 36;

fn inet() -> T {
    T::with_config(SimConfig {
        components: "vfs,tmpfs,net,local,inet".parse().unwrap(),
        ..Default::default()
    })
}

/// A sockaddr_in for 127.0.0.1.
fn lo(port: u16) -> Vec<u8> {
    let mut b = vec![16, 2];
    b.extend_from_slice(&port.to_be_bytes());
    b.extend_from_slice(&[127, 0, 0, 1]);
    b.extend_from_slice(&[0; 8]);
    b
}

fn connect(t: &mut T, s: i64, name: &[u8]) -> i32 {
    let a = t.put(name);
    t.e(CONNECT, &[s as u64, a, name.len() as u64])
}

#[test]
fn tcp_listening_connected_half_closed() {
    let mut t = inet();
    let l = t.ok(SOCKET, &[AF_INET, STREAM, 0]);
    let sa = t.put(&lo(7777));
    t.ok(BIND, &[l as u64, sa, 16]);
    t.ok(LISTEN, &[l as u64, 5]);
    let kq = t.ok(KQUEUE, &[]);
    assert!(kevent_now(&mut t, kq, &[ev(l, EVFILT_READ, EV_ADD)]).is_empty());
    assert_eq!(
        rev(&mut t, l, POLLIN | POLLOUT),
        0,
        "a listener is never writable"
    );
    let c = t.ok(SOCKET, &[AF_INET, STREAM, 0]);
    assert_eq!(rev(&mut t, c, POLLOUT), 0, "PR_CONNREQUIRED, not connected");
    assert_eq!(connect(&mut t, c, &lo(7777)), 0);
    assert_eq!(rev(&mut t, l, POLLIN | POLLRDNORM), POLLIN | POLLRDNORM);
    let got = kevent_now(&mut t, kq, &[]);
    assert_eq!((got.len(), got[0].data), (1, 1), "filt_solisten: so_qlen");
    let a = t.ok(ACCEPT, &[l as u64, 0, 0]);
    assert_eq!(rev(&mut t, l, POLLIN), 0, "the queue is empty again");
    assert_eq!(rev(&mut t, c, POLLIN | POLLOUT), POLLOUT);
    let d = t.put(b"ping");
    t.ok(SENDTO, &[c as u64, d, 4, 0, 0, 0]);
    assert_eq!(rev(&mut t, a, POLLIN | POLLOUT), POLLIN | POLLOUT);
    let got = kevent_now(&mut t, kq, &[ev(a, EVFILT_READ, EV_ADD)]);
    let r = got.iter().find(|k| k.ident == a as u64).unwrap();
    assert_eq!((r.data, r.flags & EV_EOF), (4, 0));
    // half close: the reader sees EOF with the data still there
    t.ok(SHUTDOWN, &[c as u64, 1]);
    let got = kevent_now(&mut t, kq, &[]);
    let r = got.iter().find(|k| k.ident == a as u64).unwrap();
    assert_eq!((r.data, r.flags & EV_EOF), (4, EV_EOF));
    // the shut side: SS_CANTSENDMORE is writable (the send fails with EPIPE)
    assert_eq!(rev(&mut t, c, POLLOUT), POLLOUT);
    assert_eq!(rev(&mut t, c, POLLIN), 0, "nothing came back");
}

#[test]
fn a_refused_connect_is_readable_and_writable_through_so_error() {
    let mut t = inet();
    let nb = t.ok(SOCKET, &[AF_INET, STREAM | SOCK_NONBLOCK, 0]);
    assert_eq!(connect(&mut t, nb, &lo(9)), EINPROGRESS);
    // tcp_drop(ECONNREFUSED): so_error set, soisdisconnected
    assert_eq!(rev(&mut t, nb, POLLIN | POLLOUT), POLLIN | POLLOUT);
    assert_eq!(rev(&mut t, nb, 0), 0, "no POLLERR or POLLHUP from sopoll");
    let kq = t.ok(KQUEUE, &[]);
    let got = kevent_now(&mut t, kq, &[ev(nb, EVFILT_READ, EV_ADD)]);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].flags & EV_EOF, got[0].fflags),
        (EV_EOF, ECONNREFUSED as u32),
        "filt_soread: EV_EOF, fflags = so_error"
    );
    // SO_ERROR reads and clears the error; EOF stays
    let v = t.buf(4);
    let l = t.put(&4i32.to_le_bytes());
    t.ok(GETSOCKOPT, &[nb as u64, SOL_SOCKET, SO_ERROR, v, l]);
    assert_eq!(t.mem.read(v, 4).unwrap(), ECONNREFUSED.to_le_bytes());
    let got = kevent_now(&mut t, kq, &[]);
    assert_eq!((got[0].flags & EV_EOF, got[0].fflags), (EV_EOF, 0));
    assert_eq!(rev(&mut t, nb, POLLIN | POLLOUT), POLLIN | POLLOUT);
}

#[test]
fn udp_is_writable_unconnected_and_readable_with_a_datagram() {
    let mut t = inet();
    let u = t.ok(SOCKET, &[AF_INET, DGRAM, 0]);
    let sa = t.put(&lo(5555));
    t.ok(BIND, &[u as u64, sa, 16]);
    assert_eq!(rev(&mut t, u, POLLIN | POLLOUT), POLLOUT);
    let s = t.ok(SOCKET, &[AF_INET, DGRAM, 0]);
    let d = t.put(b"dgram");
    t.ok(SENDTO, &[s as u64, d, 5, 0, sa, 16]);
    assert_eq!(rev(&mut t, u, POLLIN | POLLOUT), POLLIN | POLLOUT);
    let (wr, rd) = (1u32 << s, 1u32 << u);
    assert_eq!(
        select_now(&mut t, rd | wr, rd | wr, rd | wr),
        (0, 3, [rd, rd | wr, 0])
    );
}

// ---- EVFILT_VNODE on tmpfs ---------------------------------------------------

const ALL_NOTES: u32 =
    NOTE_DELETE | NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB | NOTE_LINK | NOTE_RENAME;

/// The fflags an EV_CLEAR EVFILT_VNODE knote on `fd` has collected (0: it
/// did not fire).
fn notes(t: &mut T, kq: i64, fd: i64) -> u32 {
    kevent_now(t, kq, &[])
        .iter()
        .find(|k| k.filter == EVFILT_VNODE && k.ident == fd as u64)
        .map_or(0, |k| k.fflags)
}

fn watch(t: &mut T, kq: i64, fd: i64) {
    let mut w = ev(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR);
    w.fflags = ALL_NOTES;
    assert!(kevent_now(t, kq, &[w]).is_empty(), "nothing happened yet");
}

fn path_call(t: &mut T, nr: u32, a: &str, b: &str) -> i32 {
    let (pa, pb) = (t.s(a), t.s(b));
    t.e(nr, &[pa, pb])
}

#[test]
fn evfilt_vnode_on_a_file_notes_attrib_link_rename_extend_delete() {
    let mut t = kernel();
    let (_, f) = t.open("/tmp/f", O_CREAT | O_RDWR, 0o644);
    let kq = t.ok(KQUEUE, &[]);
    watch(&mut t, kq, f);
    // tmpfs_chmod: NOTE_ATTRIB
    let p = t.s("/tmp/f");
    assert_eq!(t.e(nr::CHMOD, &[p, 0o600]), 0);
    assert_eq!(notes(&mut t, kq, f), NOTE_ATTRIB);
    assert_eq!(notes(&mut t, kq, f), 0, "EV_CLEAR: reported once");
    // tmpfs_link: NOTE_LINK
    assert_eq!(path_call(&mut t, nr::LINK, "/tmp/f", "/tmp/g"), 0);
    assert_eq!(notes(&mut t, kq, f), NOTE_LINK);
    // genfs_rename_knote: NOTE_RENAME on the renamed vnode
    assert_eq!(path_call(&mut t, nr::RENAME, "/tmp/g", "/tmp/h"), 0);
    assert_eq!(notes(&mut t, kq, f), NOTE_RENAME);
    // tmpfs_dir_detach with a link left: NOTE_LINK
    let h = t.s("/tmp/h");
    assert_eq!(t.e(nr::UNLINK, &[h]), 0);
    assert_eq!(notes(&mut t, kq, f), NOTE_LINK);
    // tmpfs_reg_resize: NOTE_EXTEND when it grows, nothing when it shrinks
    assert_eq!(t.e(nr::FTRUNCATE, &[f as u64, 0, 100]), 0);
    assert_eq!(notes(&mut t, kq, f), NOTE_EXTEND);
    assert_eq!(t.e(nr::FTRUNCATE, &[f as u64, 0, 10]), 0);
    assert_eq!(notes(&mut t, kq, f), 0);
    // a failed call notes nothing
    let nx = t.s("/tmp/nx/y");
    assert_ne!(t.e(nr::LINK, &[p, nx]), 0);
    assert_eq!(notes(&mut t, kq, f), 0);
    // the last name goes: NOTE_DELETE
    assert_eq!(t.e(nr::UNLINK, &[p]), 0);
    assert_eq!(notes(&mut t, kq, f), NOTE_DELETE);
    assert!(t.k.check_invariants().is_ok());
}

#[test]
fn evfilt_vnode_on_a_directory_notes_its_entries_and_links() {
    let mut t = kernel();
    assert_eq!(t.mkdir("/tmp/d", 0o755), 0);
    let (e, d) = t.open("/tmp/d", O_RDONLY, 0);
    assert_eq!(e, 0);
    let kq = t.ok(KQUEUE, &[]);
    watch(&mut t, kq, d);
    // tmpfs_dir_attach: NOTE_WRITE, with NOTE_LINK for a directory
    let (_, x) = t.open("/tmp/d/x", O_CREAT | O_WRONLY, 0o644);
    assert_eq!(notes(&mut t, kq, d), NOTE_WRITE);
    assert_eq!(t.mkdir("/tmp/d/sub", 0o755), 0);
    assert_eq!(notes(&mut t, kq, d), NOTE_WRITE | NOTE_LINK);
    // writing a file inside is not a change of the directory
    assert_eq!(t.write(x, b"data").1, 4);
    assert_eq!(notes(&mut t, kq, d), 0);
    // a rename inside: NOTE_WRITE on the directory
    assert_eq!(path_call(&mut t, nr::RENAME, "/tmp/d/x", "/tmp/d/y"), 0);
    assert_eq!(notes(&mut t, kq, d), NOTE_WRITE);
    // a new entry from another directory: NOTE_WRITE | NOTE_EXTEND
    let (_, z) = t.open("/tmp/z", O_CREAT | O_WRONLY, 0o644);
    let _ = z;
    assert_eq!(path_call(&mut t, nr::RENAME, "/tmp/z", "/tmp/d/z"), 0);
    assert_eq!(notes(&mut t, kq, d), NOTE_WRITE | NOTE_EXTEND);
    // tmpfs_dir_detach of a directory entry: NOTE_WRITE | NOTE_LINK
    let sub = t.s("/tmp/d/sub");
    assert_eq!(t.e(nr::RMDIR, &[sub]), 0);
    assert_eq!(notes(&mut t, kq, d), NOTE_WRITE | NOTE_LINK);
    // chmod of the directory itself
    let dp = t.s("/tmp/d");
    assert_eq!(t.e(nr::CHMOD, &[dp, 0o700]), 0);
    assert_eq!(notes(&mut t, kq, d), NOTE_ATTRIB);
}

#[test]
fn rmdir_of_a_watched_directory_notes_link_as_tmpfs_dir_detach_does() {
    let mut t = kernel();
    assert_eq!(t.mkdir("/tmp/e", 0o755), 0);
    let (_, d) = t.open("/tmp/e", O_RDONLY, 0);
    let kq = t.ok(KQUEUE, &[]);
    watch(&mut t, kq, d);
    let p = t.s("/tmp/e");
    assert_eq!(t.e(nr::RMDIR, &[p]), 0);
    // detach leaves the "." link counted (tn_links 2 → 1): NOTE_LINK; the
    // last link then goes without a note
    assert_eq!(notes(&mut t, kq, d), NOTE_LINK);
}

#[test]
fn a_waiting_timed_poll_ends_at_the_tick_after_its_deadline() {
    let mut t = kernel();
    let (a, _z) = pair(&mut t, STREAM);
    let _other = t.k.prefork(t.pid).unwrap();
    let mut b = (a as i32).to_le_bytes().to_vec();
    b.extend_from_slice(&POLLIN.to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    let fds = t.put(&b);
    assert_eq!(
        t.sys(POLL, &[fds, 1, 100]),
        (-1, -1, -1),
        "another could write"
    );
    let g = t.k.generation();
    t.k.tick();
    assert_eq!(
        t.k.generation(),
        g,
        "the deadline is still ahead: nothing to retry"
    );
    // the time passes with no call (a host clock moving on its own)
    t.k.clock.advance(100_000_000);
    t.k.tick();
    assert_ne!(t.k.generation(), g, "the server retries the poll");
    // sel_do_scan: the time ran out, EWOULDBLOCK becomes 0
    assert_eq!(t.sys(POLL, &[fds, 1, 100]), (0, 0, 0));
    assert!(t.k.timed_waits.is_empty());
}

// ---- pipes -----------------------------------------------------------------

#[test]
fn a_resized_pipe_offers_the_room_of_its_big_buffer() {
    let mut t = kernel();
    let fds = t.buf(8);
    t.ok(nr::PIPE2, &[fds, O_NONBLOCK]);
    let b = t.mem.read(fds, 8).unwrap();
    let w = i64::from(i32::from_le_bytes(b[4..8].try_into().unwrap()));
    // pipe_write: a write larger than PIPE_SIZE into an empty pipe resizes
    // the buffer to BIG_PIPE_SIZE (65536)
    assert_eq!(t.write(w, &vec![7u8; 20000]).1, 20000);
    // pipe_poll: pipe_buffer.size - cnt >= PIPE_BUF
    assert_eq!(rev(&mut t, w, POLLOUT), POLLOUT);
    let kq = t.ok(KQUEUE, &[]);
    let got = kevent_now(&mut t, kq, &[ev(w, EVFILT_WRITE, EV_ADD)]);
    assert_eq!(got[0].data, 65536 - 20000, "filt_pipewrite: size - cnt");
}

const RECVFROM: u32 = 29;
const MSG_OOB: u64 = 0x1;

fn tcp_pair(t: &mut T, port: u16) -> (i64, i64) {
    let l = t.ok(SOCKET, &[AF_INET, STREAM, 0]);
    let sa = t.put(&lo(port));
    t.ok(BIND, &[l as u64, sa, 16]);
    t.ok(LISTEN, &[l as u64, 5]);
    let c = t.ok(SOCKET, &[AF_INET, STREAM, 0]);
    assert_eq!(connect(t, c, &lo(port)), 0);
    let a = t.ok(ACCEPT, &[l as u64, 0, 0]);
    (c, a)
}

fn send(t: &mut T, s: i64, data: &[u8], flags: u64) {
    let d = t.put(data);
    assert_eq!(
        t.sys(SENDTO, &[s as u64, d, data.len() as u64, flags, 0, 0])
            .1,
        data.len() as i64
    );
}

fn recv(t: &mut T, s: i64, n: usize, flags: u64) -> Vec<u8> {
    let b = t.buf(n);
    let (e, r, _) = t.sys(RECVFROM, &[s as u64, b, n as u64, flags, 0, 0]);
    assert_eq!(e, 0);
    t.mem.read(b, r as usize).unwrap()
}

#[test]
fn tcp_urgent_data_sets_the_mark_poll_and_select_report() {
    let mut t = inet();
    let (c, a) = tcp_pair(&mut t, 7790);
    assert_eq!(rev(&mut t, a, POLLPRI | POLLRDBAND), 0);
    send(&mut t, c, b"ab", 0);
    // the last byte of an MSG_OOB send is urgent: "c" joins the stream,
    // "d" is out of band; so_oobmark = 3 bytes before the mark
    send(&mut t, c, b"cd", MSG_OOB);
    send(&mut t, c, b"ef", 0);
    assert_eq!(
        rev(&mut t, a, POLLPRI | POLLRDBAND | POLLIN),
        POLLPRI | POLLRDBAND | POLLIN
    );
    let ab = 1u32 << a;
    assert_eq!(
        select_now(&mut t, 0, 0, ab),
        (0, 1, [0, 0, ab]),
        "the except set"
    );
    // soreceive stops at the mark, then SS_RCVATMARK is set
    assert_eq!(recv(&mut t, a, 64, 0), b"abc");
    assert_eq!(rev(&mut t, a, POLLPRI), POLLPRI, "at the mark");
    // reading on clears SS_RCVATMARK
    assert_eq!(recv(&mut t, a, 64, 0), b"ef");
    assert_eq!(rev(&mut t, a, POLLPRI | POLLRDBAND), 0);
    assert_eq!(select_now(&mut t, 0, 0, ab), (0, 0, [0, 0, 0]));
}

/// soreceive's MSG_OOB branch: the urgent byte itself (PRU_RCVOOB), kept
/// by MSG_PEEK, EINVAL once it was read or when there is none; the ordinary
/// data stays; AF_LOCAL has no out-of-band data (EOPNOTSUPP).
#[test]
fn recv_with_msg_oob_reads_the_urgent_byte_once() {
    const MSG_PEEK: u64 = 0x2;
    const EINVAL: i32 = 22;
    let mut t = inet();
    let (c, a) = tcp_pair(&mut t, 7791);
    let b = t.buf(8);
    assert_eq!(
        t.sys(RECVFROM, &[a as u64, b, 8, MSG_OOB, 0, 0]).0,
        EINVAL,
        "no urgent data yet"
    );
    send(&mut t, c, b"xy", MSG_OOB);
    assert_eq!(recv(&mut t, a, 8, MSG_OOB | MSG_PEEK), b"y", "peeked");
    assert_eq!(recv(&mut t, a, 8, MSG_OOB), b"y", "the urgent byte");
    assert_eq!(
        t.sys(RECVFROM, &[a as u64, b, 8, MSG_OOB, 0, 0]).0,
        EINVAL,
        "read once"
    );
    assert_eq!(recv(&mut t, a, 8, 0), b"x", "the ordinary data stays");
}
