//! The generic socket layer, AF_LOCAL and fifofs (sim-kernel/src/net): the
//! rules NetBSD's uipc_syscalls.c, uipc_socket.c, uipc_usrreq.c and
//! fifo_vnops.c give, with the figures of conformance/traces/net/README.md.

mod common;

use common::*;
use rumpsp_sim_kernel::local::{run_syscall, Outcome};
use rumpsp_sim_kernel::SimConfig;

const SOCKET: u32 = 394;
const SOCKETPAIR: u32 = 135;
const BIND: u32 = 104;
const CONNECT: u32 = 98;
const LISTEN: u32 = 106;
const ACCEPT: u32 = 30;
const GETSOCKNAME: u32 = 32;
const SENDTO: u32 = 133;
const RECVFROM: u32 = 29;
const SENDMSG: u32 = 28;
const RECVMSG: u32 = 27;
const SHUTDOWN: u32 = 134;
const SETSOCKOPT: u32 = 105;
const GETSOCKOPT: u32 = 118;
const IOCTL: u32 = 54;
const MKFIFO: u32 = 132;
const FIONREAD: u64 = 0x4004_667f;

const AF_LOCAL: u64 = 1;
const AF_INET: u64 = 2;
const STREAM: u64 = 1;
const DGRAM: u64 = 2;
const SOL_SOCKET: u64 = 0xffff;
const SO_RCVBUF: u64 = 0x1002;
const SO_SNDBUF: u64 = 0x1001;
const SO_REUSEADDR: u64 = 0x4;
const SO_RCVTIMEO: u64 = 0x100c;

const ENOTSOCK: i32 = 38;
const EMSGSIZE: i32 = 40;
const EPROTOTYPE: i32 = 41;
const EPROTONOSUPPORT: i32 = 43;
const EAFNOSUPPORT: i32 = 47;
const EADDRINUSE: i32 = 48;
const ECONNRESET: i32 = 54;
const ENOBUFS: i32 = 55;
const ECONNREFUSED: i32 = 61;

fn net(components: &str) -> T {
    T::with_config(SimConfig {
        components: components.parse().unwrap(),
        ..Default::default()
    })
}

fn local() -> T {
    net("vfs,tmpfs,net,local")
}

/// Runs a call and returns (errno, retval0, signals).
fn sig(t: &mut T, nr: u32, args: &[u64]) -> (i32, i64, Vec<u32>) {
    let block: Vec<u8> = args.iter().flat_map(|a| a.to_le_bytes()).collect();
    match run_syscall(&mut t.k, &mut t.mem, t.pid, nr, &block) {
        Outcome::Done(d) => (d.error, d.retval[0], d.signals),
        Outcome::Blocked => (-1, -1, vec![]),
    }
}

/// A sockaddr_un for `path` with sun_len and family set; (address, length).
fn sun(t: &mut T, path: &str) -> (u64, u64) {
    let mut b = vec![0u8, 1];
    b.extend_from_slice(path.as_bytes());
    let len = b.len() as u64;
    (t.put(&b), len)
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

fn fionread(t: &mut T, fd: i64) -> i32 {
    let b = t.buf(4);
    t.ok(IOCTL, &[fd as u64, FIONREAD, b]);
    i32::from_le_bytes(t.mem.read(b, 4).unwrap().try_into().unwrap())
}

fn getint(t: &mut T, fd: i64, level: u64, name: u64) -> i32 {
    let v = t.buf(4);
    let l = t.put(&4i32.to_le_bytes());
    t.ok(GETSOCKOPT, &[fd as u64, level, name, v, l]);
    i32::from_le_bytes(t.mem.read(v, 4).unwrap().try_into().unwrap())
}

fn setint(t: &mut T, fd: i64, name: u64, val: i32) -> i32 {
    let v = t.put(&val.to_le_bytes());
    t.e(SETSOCKOPT, &[fd as u64, SOL_SOCKET, name, v, 4])
}

fn nonblock(t: &mut T, fd: i64) {
    t.ok(nr::FCNTL, &[fd as u64, 4, 4]);
}

#[test]
fn the_components_decide_what_socket_answers() {
    // No librumpnet: the socket calls are not in the kernel.
    let mut t = T::new();
    assert_eq!(t.e(SOCKET, &[AF_LOCAL, STREAM, 0]), ENOSYS);
    assert_eq!(t.e(BIND, &[3, 0, 0]), ENOSYS);
    // The socket layer without the local domain: EAFNOSUPPORT.
    let mut t = net("vfs,tmpfs,net");
    assert_eq!(t.e(SOCKET, &[AF_LOCAL, STREAM, 0]), EAFNOSUPPORT);
    let mut t = local();
    assert_eq!(t.e(SOCKET, &[AF_INET, STREAM, 0]), EAFNOSUPPORT);
    assert_eq!(t.e(SOCKET, &[99, STREAM, 0]), EAFNOSUPPORT);
    assert_eq!(t.ok(SOCKET, &[AF_LOCAL, STREAM, 0]), 3);
    t.k.check_invariants().unwrap();
}

#[test]
fn socket_types_protocols_and_flags() {
    let mut t = local();
    assert_eq!(t.e(SOCKET, &[AF_LOCAL, 3, 0]), EPROTOTYPE);
    assert_eq!(t.e(SOCKET, &[AF_LOCAL, 99, 0]), EPROTOTYPE);
    assert_eq!(
        t.e(SOCKET, &[AF_LOCAL, STREAM | 0x0800_0000, 0]),
        EPROTOTYPE
    );
    assert_eq!(t.e(SOCKET, &[AF_LOCAL, STREAM, 6]), EPROTONOSUPPORT);
    assert_eq!(t.e(SOCKET, &[AF_LOCAL, DGRAM, 17]), EPROTONOSUPPORT);
    let fd = t.ok(SOCKET, &[AF_LOCAL, STREAM | 0x3000_0000, 0]) as u64;
    assert_eq!(
        t.ok(nr::FCNTL, &[fd, 3, 0]),
        6,
        "F_GETFL: O_RDWR|O_NONBLOCK"
    );
    assert_eq!(t.ok(nr::FCNTL, &[fd, 1, 0]), 1, "F_GETFD: close-on-exec");
    assert_eq!(t.ok(SOCKET, &[AF_LOCAL, 5, 0]), 4, "seqpacket");
}

#[test]
fn bind_makes_a_socket_node_and_names_the_socket() {
    let mut t = local();
    let s = t.ok(SOCKET, &[AF_LOCAL, STREAM, 0]);
    let (a, l) = sun(&mut t, "/tmp/sock1");
    t.ok(BIND, &[s as u64, a, l]);
    let (e, mode, _, nlink) = t.stat("/tmp/sock1");
    assert_eq!((e, mode, nlink), (0, 0o140755, 1));
    let (name, len) = (t.buf(128), t.put(&128i32.to_le_bytes()));
    t.ok(GETSOCKNAME, &[s as u64, name, len]);
    assert_eq!(t.mem.read(len, 4).unwrap(), 12i32.to_le_bytes());
    assert_eq!(&t.mem.read(name, 12).unwrap()[..2], &[12, 1]);
    let (b, bl) = sun(&mut t, "/tmp/other");
    assert_eq!(t.e(BIND, &[s as u64, b, bl]), EINVAL, "bound already");
    let s2 = t.ok(SOCKET, &[AF_LOCAL, STREAM, 0]);
    assert_eq!(t.e(BIND, &[s2 as u64, a, l]), EADDRINUSE);
    let (n, nl) = sun(&mut t, "/tmp/nodir/x");
    assert_eq!(t.e(BIND, &[s2 as u64, n, nl]), ENOENT);
    assert_eq!(t.e(BIND, &[s2 as u64, a, 1]), EINVAL);
    assert_eq!(t.e(BIND, &[s2 as u64, a, 256]), EINVAL);
    let (_, f) = t.open("/tmp/plain", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.e(BIND, &[f as u64, b, bl]), ENOTSOCK);
    t.k.check_invariants().unwrap();
}

#[test]
fn a_non_blocking_stream_writer_stops_at_4096_bytes() {
    let mut t = local();
    let (a, b) = pair(&mut t, STREAM);
    nonblock(&mut t, a);
    let mut total = 0;
    loop {
        let (e, n) = t.write(a, &[7; 512]);
        if e != 0 {
            assert_eq!(e, EAGAIN);
            break;
        }
        total += n;
    }
    assert_eq!(total, 4096);
    assert_eq!(fionread(&mut t, b), 4096);
    assert_eq!(t.write(a, b"x").0, EAGAIN);
    let (e, data) = t.read(b, 8192);
    assert_eq!((e, data.len()), (0, 4096));
    // The reader's read gives the writer its room back.
    assert_eq!(t.write(a, &[1; 512]), (0, 512));
}

#[test]
fn listen_1_queues_two_connections() {
    let mut t = local();
    let s = t.ok(SOCKET, &[AF_LOCAL, STREAM, 0]);
    let (a, l) = sun(&mut t, "/tmp/sock3");
    t.ok(BIND, &[s as u64, a, l]);
    t.ok(LISTEN, &[s as u64, 1]);
    let mut answers = Vec::new();
    for _ in 0..4 {
        let c = t.ok(SOCKET, &[AF_LOCAL, STREAM, 0]);
        answers.push(t.e(CONNECT, &[c as u64, a, l]));
    }
    assert_eq!(answers, [0, 0, ECONNREFUSED, ECONNREFUSED]);
    nonblock(&mut t, s);
    assert!(t.ok(ACCEPT, &[s as u64, 0, 0]) > 0);
    assert!(t.ok(ACCEPT, &[s as u64, 0, 0]) > 0);
    // A failed accept still reports the descriptor it had reserved.
    let (e, r, _) = t.sys(ACCEPT, &[s as u64, 0, 0]);
    assert_eq!(e, EAGAIN);
    assert_eq!(r, t.k.t.procs[&t.pid].lowest_free(0, 100).unwrap() as i64);
    t.k.check_invariants().unwrap();
}

#[test]
fn shutdown_gives_eof_and_epipe_with_sigpipe_unless_nosignal() {
    let mut t = local();
    let (a, b) = pair(&mut t, STREAM);
    t.ok(SHUTDOWN, &[a as u64, 1]);
    assert_eq!(t.read(b, 64), (0, vec![]));
    let x = t.put(b"x");
    assert_eq!(
        sig(&mut t, SENDTO, &[a as u64, x, 1, 0x400, 0, 0]),
        (EPIPE, 0, vec![])
    );
    assert_eq!(
        sig(&mut t, nr::WRITE, &[a as u64, x, 1]),
        (EPIPE, 0, vec![13])
    );
    assert_eq!(t.e(SHUTDOWN, &[a as u64, 3]), EINVAL);
    // The other way still works.
    assert_eq!(t.write(b, b"still"), (0, 5));
    assert_eq!(t.read(a, 64), (0, b"still".to_vec()));
}

#[test]
fn datagrams_count_their_sender_name_and_lose_what_is_not_read() {
    let mut t = local();
    let (a, b) = pair(&mut t, DGRAM);
    for m in [&b"one"[..], b"two22", b"three333"] {
        t.write(a, m);
    }
    assert_eq!(fionread(&mut t, b), 22, "3+5+8 bytes and 2 of name each");
    assert_eq!(t.read(b, 64).1, b"one");
    t.read(b, 64);
    t.read(b, 64);
    t.write(a, &[b'D'; 100]);
    assert_eq!(t.read(b, 10).1.len(), 10);
    let buf = t.buf(64);
    assert_eq!(
        t.e(RECVFROM, &[b as u64, buf, 64, 0x80, 0, 0]),
        EAGAIN,
        "the rest is gone"
    );
    assert_eq!(getint(&mut t, a, SOL_SOCKET, SO_SNDBUF), 2560);
    assert_eq!(getint(&mut t, a, SOL_SOCKET, SO_RCVBUF), 4096);
    let big = t.put(&[0; 4096]);
    assert_eq!(t.e(SENDTO, &[a as u64, big, 4096, 0, 0, 0]), EMSGSIZE);
    assert_eq!(t.ok(SENDTO, &[a as u64, big, 2048, 0, 0, 0]), 2048);
    t.ok(nr::CLOSE, &[b as u64]);
    assert_eq!(
        sig(&mut t, nr::WRITE, &[a as u64, big, 1]),
        (ECONNRESET, 0, vec![])
    );
    t.k.check_invariants().unwrap();
}

/// A msghdr (48 bytes) with one iovec and a control buffer.
fn msghdr(t: &mut T, iov: u64, ctl: u64, ctllen: u32) -> u64 {
    let mut m = vec![0u8; 48];
    m[16..24].copy_from_slice(&iov.to_le_bytes());
    m[24..28].copy_from_slice(&1i32.to_le_bytes());
    m[32..40].copy_from_slice(&ctl.to_le_bytes());
    m[40..44].copy_from_slice(&ctllen.to_le_bytes());
    t.put(&m)
}

#[test]
fn scm_rights_delivers_the_lowest_free_descriptor_sharing_the_offset() {
    let mut t = local();
    let (_, f) = t.open("/tmp/plain", O_RDWR | O_CREAT, 0o644);
    t.write(f, b"plain file\n");
    let (a, b) = pair(&mut t, STREAM);
    t.ok(nr::LSEEK, &[f as u64, 0, 0, 0]);
    let data = t.put(b"F");
    let iov = t.put(&[data.to_le_bytes(), 1u64.to_le_bytes()].concat());
    let mut cm = vec![0u8; 24];
    cm[0..4].copy_from_slice(&20u32.to_le_bytes());
    cm[4..8].copy_from_slice(&0xffffu32.to_le_bytes());
    cm[8..12].copy_from_slice(&1u32.to_le_bytes());
    cm[16..20].copy_from_slice(&(f as i32).to_le_bytes());
    let ctl = t.put(&cm);
    let m = msghdr(&mut t, iov, ctl, 24);
    assert_eq!(t.ok(SENDMSG, &[a as u64, m, 0]), 1);
    let rbuf = t.buf(16);
    let riov = t.put(&[rbuf.to_le_bytes(), 16u64.to_le_bytes()].concat());
    let rctl = t.buf(64);
    let rm = msghdr(&mut t, riov, rctl, 64);
    assert_eq!(t.ok(RECVMSG, &[b as u64, rm, 0]), 1);
    let out = t.mem.read(rctl, 24).unwrap();
    assert_eq!(&out[0..12], &cm[0..12]);
    let got = i32::from_le_bytes(out[16..20].try_into().unwrap());
    assert_eq!(got, 6, "the lowest free descriptor");
    assert_eq!(t.mem.read(rm + 40, 4).unwrap(), 24u32.to_le_bytes());
    // The same open file: the offset is shared.
    assert_eq!(t.read(i64::from(got), 5).1, b"plain");
    assert_eq!(t.read(f, 64).1, b" file\n");
    // A bad descriptor in the message: EBADF.
    cm[16..20].copy_from_slice(&99i32.to_le_bytes());
    let ctl = t.put(&cm);
    let m = msghdr(&mut t, iov, ctl, 24);
    assert_eq!(t.e(SENDMSG, &[a as u64, m, 0]), EBADF);
    t.k.check_invariants().unwrap();
}

#[test]
fn socket_options_as_sosetopt_checks_them() {
    let mut t = local();
    let s = t.ok(SOCKET, &[AF_LOCAL, STREAM, 0]);
    assert_eq!(setint(&mut t, s, SO_REUSEADDR, 7), 0);
    assert_eq!(getint(&mut t, s, SOL_SOCKET, SO_REUSEADDR), 1);
    assert_eq!(setint(&mut t, s, SO_RCVBUF, 0), EINVAL);
    assert_eq!(setint(&mut t, s, SO_RCVBUF, -1), EINVAL);
    assert_eq!(setint(&mut t, s, SO_RCVBUF, 1 << 30), ENOBUFS);
    assert_eq!(setint(&mut t, s, SO_SNDBUF, 1), 0);
    assert_eq!(getint(&mut t, s, SOL_SOCKET, SO_SNDBUF), 1);
    assert_eq!(setint(&mut t, s, 0x1008, 2), 42, "SO_TYPE: ENOPROTOOPT");
    // IPPROTO_IP level is SOL_LOCAL: IP_TTL is LOCAL_CREDS, 0.
    assert_eq!(getint(&mut t, s, 0, 4), 0);
    let v = t.buf(4);
    let l = t.put(&4i32.to_le_bytes());
    assert_eq!(t.e(GETSOCKOPT, &[s as u64, 6, 1, v, l]), 42);
    let (_, f) = t.open("/tmp/plain", O_RDWR | O_CREAT, 0o644);
    assert_eq!(
        t.e(GETSOCKOPT, &[f as u64, SOL_SOCKET, 0x1008, v, l]),
        ENOTSOCK
    );
}

#[test]
fn a_receive_timeout_ends_with_eagain_after_the_time() {
    let mut t = local();
    let (a, _b) = pair(&mut t, STREAM);
    let mut tv = 0i64.to_le_bytes().to_vec();
    tv.extend(50_000i32.to_le_bytes());
    tv.extend([0; 4]);
    let p = t.put(&tv);
    t.ok(SETSOCKOPT, &[a as u64, SOL_SOCKET, SO_RCVTIMEO, p, 16]);
    let before = t.k.clock.now_ns();
    assert_eq!(t.read(a, 16).0, EAGAIN);
    assert!(t.k.clock.now_ns() - before >= 50_000_000);
}

#[test]
fn fifos_open_on_a_socket_pair_with_fifofs() {
    let mut t = net("vfs,tmpfs,net,local,fifo");
    let p = t.s("/tmp/f");
    t.ok(MKFIFO, &[p, 0o644]);
    assert_eq!(t.open("/tmp/f", O_WRONLY | O_NONBLOCK, 0).0, ENXIO);
    let (_, r) = t.open("/tmp/f", O_RDONLY | O_NONBLOCK, 0);
    assert_eq!(t.read(r, 64), (0, vec![]), "no writer ever: EOF");
    let (_, w) = t.open("/tmp/f", O_WRONLY | O_NONBLOCK, 0);
    assert_eq!(t.read(r, 64).0, EAGAIN, "a writer, no data");
    assert_eq!(t.ok(nr::FCNTL, &[w as u64, 3, 0]), 5);
    let mut total = 0;
    while let (0, n) = t.write(w, &[1; 1024]) {
        total += n;
    }
    assert_eq!(total, 3072);
    assert_eq!(t.write(w, b"x"), (0, 1), "one byte still fits");
    assert_eq!(fionread(&mut t, r), 3073);
    assert_eq!(t.read(r, 8192).1.len(), 3073);
    t.ok(nr::CLOSE, &[w as u64]);
    assert_eq!(t.read(r, 64), (0, vec![]));
    let (_, w) = t.open("/tmp/f", O_WRONLY | O_NONBLOCK, 0);
    t.ok(nr::CLOSE, &[r as u64]);
    let x = t.put(b"x");
    assert_eq!(
        sig(&mut t, nr::WRITE, &[w as u64, x, 1]),
        (EPIPE, 0, vec![13])
    );
    t.ok(nr::CLOSE, &[w as u64]);
    assert!(t.k.t.fifos.is_empty(), "the pair goes with the last end");
    assert!(t.k.t.sockets.is_empty());
    t.k.check_invariants().unwrap();
}

#[test]
fn without_fifofs_every_open_of_a_fifo_is_eopnotsupp() {
    let mut t = local();
    let p = t.s("/tmp/f");
    t.ok(MKFIFO, &[p, 0o644]);
    assert_eq!(t.open("/tmp/f", O_RDONLY | O_NONBLOCK, 0).0, EOPNOTSUPP);
    assert_eq!(t.open("/tmp/f", O_RDWR, 0).0, EOPNOTSUPP);
}

#[test]
fn a_blocking_write_larger_than_the_buffer_goes_out_as_the_reader_reads() {
    let mut t = local();
    let (a, b) = pair(&mut t, STREAM);
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let buf = t.put(&data);
    let mut got = Vec::new();
    let mut rounds = 0;
    loop {
        let (e, n, _) = t.sys(nr::WRITE, &[a as u64, buf, data.len() as u64]);
        if e == 0 {
            assert_eq!(n, 10_000, "the write returns once everything is sent");
            break;
        }
        assert_eq!(e, -1, "blocked, not failed");
        let (e, chunk) = t.read(b, 8192);
        assert_eq!(e, 0);
        assert!(!chunk.is_empty());
        got.extend(chunk);
        rounds += 1;
        assert!(rounds < 10);
    }
    while got.len() < data.len() {
        got.extend(t.read(b, 8192).1);
    }
    assert_eq!(got, data, "every byte once, in order");
    // A blocking read of an empty socket waits until the peer writes.
    let rb = t.buf(16);
    assert_eq!(t.sys(nr::READ, &[b as u64, rb, 16]).0, -1);
    t.write(a, b"late");
    assert_eq!(t.sys(nr::READ, &[b as u64, rb, 16]), (0, 4, 0));
    t.k.check_invariants().unwrap();
}

/// A send's amount depends on the room of the moment; when the room changes
/// between the run that asked for the data and the run that has it (the peer
/// read meanwhile), the call still sends from the bytes it fetched, never
/// faults, and the count it reports is what arrives.
#[test]
fn a_send_whose_room_changes_during_its_copyin_sends_what_it_reports() {
    let mut t = local();
    let (a, b) = pair(&mut t, STREAM);
    nonblock(&mut t, a);
    let room = getint(&mut t, a, SOL_SOCKET, 0x1001) as usize; // SO_SNDBUF
                                                               // fill all but 3000 bytes of the room (more than the send low-water mark)
    let (e, n) = t.write(a, &vec![1u8; room - 3000]);
    assert_eq!((e, n), (0, (room - 3000) as i64));
    let data: Vec<u8> = (0..4000u32).map(|i| (i % 253) as u8).collect();
    let buf = t.put(&data);
    let mut drained = false;
    let done = t.stepwise(
        nr::WRITE,
        &[a as u64, buf, data.len() as u64],
        |t, pause| {
            assert_ne!(pause, Pause::Blocked, "a non-blocking send with room waits");
            if !drained {
                // the peer reads everything before the send runs again
                drained = true;
                assert_eq!(t.read(b, room).1.len(), room - 3000);
            }
        },
    );
    assert_eq!(done.error, 0, "no fault");
    let sent = done.retval[0] as usize;
    assert!(sent >= 3000, "at least the room of the first run: {sent}");
    let got = t.read(b, 8192).1;
    assert_eq!(got.len(), sent, "what the call reported is what arrived");
    assert_eq!(got, data[..sent], "the bytes the client passed, in order");
    t.k.check_invariants().unwrap();
}
