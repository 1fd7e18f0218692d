//! AF_INET and AF_INET6 through the syscalls: bind and port rules, TCP
//! connections (refusal, half-close, EOF, RST), UDP (truncation, connected
//! errors), IPv6 on ::1, v4-mapped addresses and IPV6_V6ONLY — the answers
//! of the real NetBSD 7.99.34 rump kernel in conformance/traces/net.

mod common;

use common::*;

const AF_INET: u64 = 2;
const AF_INET6: u64 = 24;
const STREAM: u64 = 1;
const DGRAM: u64 = 2;
const SOCK_NONBLOCK: u64 = 0x2000_0000;
const SOCKET: u32 = 394;
const BIND: u32 = 104;
const CONNECT: u32 = 98;
const LISTEN: u32 = 106;
const ACCEPT: u32 = 30;
const SENDTO: u32 = 133;
const RECVFROM: u32 = 29;
const RECVMSG: u32 = 27;
const GETSOCKNAME: u32 = 32;
const GETPEERNAME: u32 = 31;
const SETSOCKOPT: u32 = 105;
const GETSOCKOPT: u32 = 118;
const SHUTDOWN: u32 = 134;
const SOL_SOCKET: u64 = 0xffff;
const SO_REUSEADDR: u64 = 4;
const SO_REUSEPORT: u64 = 0x200;
const SO_ERROR: u64 = 0x1007;
const SO_SNDBUF: u64 = 0x1001;
const SO_RCVBUF: u64 = 0x1002;
const IPPROTO_TCP: u64 = 6;
const IPPROTO_IPV6: u64 = 41;
const IPV6_V6ONLY: u64 = 27;
const MSG_NOSIGNAL: u64 = 0x400;
const MSG_DONTWAIT: u64 = 0x80;
const MSG_WAITALL: u64 = 0x40;
const EADDRINUSE: i32 = 48;
const EADDRNOTAVAIL: i32 = 49;
const EAFNOSUPPORT: i32 = 47;
const ECONNREFUSED: i32 = 61;
const ECONNRESET: i32 = 54;
const EINPROGRESS: i32 = 36;
const EISCONN: i32 = 56;
const ENOTCONN: i32 = 57;
const EMSGSIZE: i32 = 40;
const EDESTADDRREQ: i32 = 39;
const EPROTONOSUPPORT: i32 = 43;
const EPROTOTYPE: i32 = 41;

fn kernel() -> T {
    T::with_config(rumpsp_sim_kernel::SimConfig {
        components: "vfs,tmpfs,net,local,inet,inet6".parse().unwrap(),
        ..Default::default()
    })
}

fn sin(a: [u8; 4], port: u16) -> Vec<u8> {
    let mut b = vec![16, 2];
    b.extend_from_slice(&port.to_be_bytes());
    b.extend_from_slice(&a);
    b.extend_from_slice(&[0; 8]);
    b
}

fn sin6(a: [u8; 16], port: u16) -> Vec<u8> {
    let mut b = vec![28, 24];
    b.extend_from_slice(&port.to_be_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&a);
    b.extend_from_slice(&[0; 4]);
    b
}

const LO: [u8; 4] = [127, 0, 0, 1];
const ANY: [u8; 4] = [0, 0, 0, 0];
const LO6: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

impl T {
    fn rd(&self, a: u64, n: usize) -> Vec<u8> {
        self.mem.read(a, n).unwrap_or_default()
    }
    fn sock(&mut self, dom: u64, ty: u64) -> u64 {
        self.ok(SOCKET, &[dom, ty, 0]) as u64
    }
    fn bind_to(&mut self, s: u64, name: &[u8]) -> i32 {
        let a = self.put(name);
        self.e(BIND, &[s, a, name.len() as u64])
    }
    fn connect_to(&mut self, s: u64, name: &[u8]) -> i32 {
        let a = self.put(name);
        self.e(CONNECT, &[s, a, name.len() as u64])
    }
    fn name(&mut self, nr: u32, s: u64) -> (i32, Vec<u8>) {
        let a = self.buf(128);
        let l = self.put(&128i32.to_le_bytes());
        let e = self.e(nr, &[s, a, l]);
        let len = i32::from_le_bytes(self.rd(l, 4).try_into().unwrap()) as usize;
        (e, self.rd(a, len))
    }
    fn port(&mut self, s: u64) -> u16 {
        let (_, n) = self.name(GETSOCKNAME, s);
        u16::from_be_bytes([n[2], n[3]])
    }
    fn accept_one(&mut self, l: u64) -> (u64, Vec<u8>) {
        let a = self.buf(128);
        let len = self.put(&128i32.to_le_bytes());
        let fd = self.ok(ACCEPT, &[l, a, len]) as u64;
        let n = i32::from_le_bytes(self.rd(len, 4).try_into().unwrap()) as usize;
        (fd, self.rd(a, n))
    }
    fn send(&mut self, s: u64, data: &[u8], flags: u64) -> (i32, i64) {
        let a = self.put(data);
        let (e, r, _) = self.sys(SENDTO, &[s, a, data.len() as u64, flags, 0, 0]);
        (e, r)
    }
    fn sendto(&mut self, s: u64, data: &[u8], to: &[u8]) -> (i32, i64) {
        let a = self.put(data);
        let t = self.put(to);
        let (e, r, _) = self.sys(SENDTO, &[s, a, data.len() as u64, 0, t, to.len() as u64]);
        (e, r)
    }
    fn recv(&mut self, s: u64, n: usize, flags: u64) -> (i32, Vec<u8>) {
        let a = self.buf(n.max(1));
        let (e, r, _) = self.sys(RECVFROM, &[s, a, n as u64, flags, 0, 0]);
        if e != 0 {
            return (e, Vec::new());
        }
        (0, self.rd(a, r as usize))
    }
    fn recvfrom(&mut self, s: u64, n: usize) -> (i32, Vec<u8>, Vec<u8>) {
        let a = self.buf(n.max(1));
        let from = self.buf(128);
        let fl = self.put(&128i32.to_le_bytes());
        let (e, r, _) = self.sys(RECVFROM, &[s, a, n as u64, 0, from, fl]);
        if e != 0 {
            return (e, Vec::new(), Vec::new());
        }
        let flen = i32::from_le_bytes(self.rd(fl, 4).try_into().unwrap()) as usize;
        (0, self.rd(a, r as usize), self.rd(from, flen))
    }
    fn setopt(&mut self, s: u64, level: u64, name: u64, v: i32) -> i32 {
        let a = self.put(&v.to_le_bytes());
        self.e(SETSOCKOPT, &[s, level, name, a, 4])
    }
    fn getopt(&mut self, s: u64, level: u64, name: u64) -> (i32, i32) {
        let a = self.buf(4);
        let l = self.put(&4i32.to_le_bytes());
        let e = self.e(GETSOCKOPT, &[s, level, name, a, l]);
        (e, i32::from_le_bytes(self.rd(a, 4).try_into().unwrap()))
    }
    fn close(&mut self, s: u64) {
        self.ok(nr::CLOSE, &[s]);
    }
    fn listener(&mut self, port: u16) -> u64 {
        let l = self.sock(AF_INET, STREAM);
        assert_eq!(self.bind_to(l, &sin(LO, port)), 0);
        assert_eq!(self.e(LISTEN, &[l, 5]), 0);
        l
    }
}

#[test]
fn socket_protocol_errors_and_raw_sockets() {
    let mut t = kernel();
    assert_eq!(t.e(SOCKET, &[99, STREAM, 0]), EAFNOSUPPORT);
    assert_eq!(t.e(SOCKET, &[AF_INET, STREAM, 17]), EPROTONOSUPPORT);
    assert_eq!(t.e(SOCKET, &[AF_INET, DGRAM, 6]), EPROTONOSUPPORT);
    assert_eq!(t.e(SOCKET, &[AF_INET, 99, 0]), EPROTOTYPE);
    assert_eq!(t.e(SOCKET, &[AF_INET, 5, 0]), EPROTOTYPE);
    assert_eq!(t.e(SOCKET, &[AF_INET, 3, 0]), 0);
    assert_eq!(t.e(SOCKET, &[AF_INET, 3, 1]), 0);
    assert_eq!(t.e(SOCKET, &[34, 3, 0]), 0);
}

#[test]
fn bind_conflicts_and_address_errors() {
    let mut t = kernel();
    let l = t.sock(AF_INET, STREAM);
    assert_eq!(t.setopt(l, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    assert_eq!(t.bind_to(l, &sin(LO, 7777)), 0);
    assert_eq!(t.e(LISTEN, &[l, 5]), 0);
    let n = t.sock(AF_INET, STREAM);
    assert_eq!(t.bind_to(n, &sin(LO, 7777)), EADDRINUSE);
    assert_eq!(t.bind_to(n, &sin(ANY, 7777)), EADDRINUSE);
    assert_eq!(t.setopt(n, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    assert_eq!(t.bind_to(n, &sin(LO, 7777)), EADDRINUSE);
    assert_eq!(t.bind_to(n, &sin(ANY, 7777)), 0);
    let y = t.sock(AF_INET, STREAM);
    assert_eq!(t.bind_to(y, &sin([10, 1, 2, 3], 0)), EADDRNOTAVAIL);
    assert_eq!(t.bind_to(y, &sin([127, 0, 0, 2], 0)), EADDRNOTAVAIL);
    assert_eq!(t.bind_to(y, &sin(ANY, 0)[..3]), EINVAL);
    assert_eq!(t.bind_to(y, &sin(LO, 0)[..8]), EINVAL);
    let mut local = sin(LO, 0);
    local[1] = 1;
    assert_eq!(t.bind_to(y, &local), EAFNOSUPPORT);
    assert_eq!(t.bind_to(y, &sin(LO, 80)), 0);
    assert_eq!(t.bind_to(y, &sin(LO, 81)), EINVAL);
    // sin_len is ignored; port 0 is kernel-chosen in 49152-65535.
    let z = t.sock(AF_INET, STREAM);
    let mut short = sin([127, 0, 0, 0], 0);
    short[0] = 5;
    short[7] = 1;
    assert_eq!(t.bind_to(z, &short), 0);
    assert!(t.port(z) >= 49152);
}

#[test]
fn tcp_connect_accept_data_half_close() {
    let mut t = kernel();
    let l = t.listener(7777);
    let c = t.sock(AF_INET, STREAM);
    assert_eq!(t.connect_to(c, &sin(LO, 7777)), 0);
    let cport = t.port(c);
    let (a, peer) = t.accept_one(l);
    assert_eq!(peer, sin(LO, cport));
    assert_eq!(t.name(GETPEERNAME, c), (0, sin(LO, 7777)));
    assert_eq!(t.connect_to(c, &sin(LO, 7777)), EISCONN);
    assert_eq!(t.getopt(c, SOL_SOCKET, SO_SNDBUF), (0, 32768));
    assert_eq!(t.getopt(a, SOL_SOCKET, SO_RCVBUF), (0, 32768));
    assert_eq!(t.setopt(c, IPPROTO_TCP, 1, 1), 0);
    assert_eq!(t.getopt(c, IPPROTO_TCP, 1), (0, 4));
    assert_eq!(t.getopt(c, IPPROTO_TCP, 2), (0, 33584));
    let data: Vec<u8> = (0..30000u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(t.send(c, &data, 0), (0, 30000));
    assert_eq!(t.recv(a, 30000, MSG_WAITALL), (0, data));
    assert_eq!(t.send(c, b"x", 0), (0, 1));
    assert_eq!(t.send(c, b"y", 1), (0, 1));
    assert_eq!(t.recv(a, 1, MSG_WAITALL), (0, b"x".to_vec()));
    assert_eq!(t.e(SHUTDOWN, &[c, 1]), 0);
    // The urgent byte left the stream: EOF follows.
    assert_eq!(t.recv(a, 64, 0), (0, Vec::new()));
    assert_eq!(t.send(a, b"bye", 0), (0, 3));
    assert_eq!(t.recv(c, 3, MSG_WAITALL), (0, b"bye".to_vec()));
    assert_eq!(t.send(c, b"x", MSG_NOSIGNAL).0, EPIPE);
    t.close(a);
    assert_eq!(t.recv(c, 64, 0), (0, Vec::new()));
}

#[test]
fn close_with_unread_data_resets() {
    let mut t = kernel();
    let l = t.listener(7777);
    let c = t.sock(AF_INET, STREAM);
    assert_eq!(t.connect_to(c, &sin(LO, 7777)), 0);
    let (a, _) = t.accept_one(l);
    assert_eq!(t.send(c, b"unread", 0), (0, 6));
    t.close(a);
    assert_eq!(t.recv(c, 64, 0).0, ECONNRESET);
    assert_eq!(t.recv(c, 64, 0), (0, Vec::new()));
}

#[test]
fn refused_connect_kills_the_socket() {
    let mut t = kernel();
    let l = t.listener(7777);
    let x = t.sock(AF_INET, STREAM);
    assert_eq!(t.connect_to(x, &sin(LO, 9)), ECONNREFUSED);
    assert_eq!(t.getopt(x, SOL_SOCKET, SO_ERROR), (0, 0));
    assert_eq!(t.connect_to(x, &sin(LO, 9)), EINVAL);
    assert_eq!(t.connect_to(x, &sin(LO, 7777)), EINVAL);
    let nb = t.sock(AF_INET, STREAM | SOCK_NONBLOCK);
    assert_eq!(t.connect_to(nb, &sin(LO, 9)), EINPROGRESS);
    assert_eq!(t.getopt(nb, SOL_SOCKET, SO_ERROR), (0, ECONNREFUSED));
    assert_eq!(t.getopt(nb, SOL_SOCKET, SO_ERROR), (0, 0));
    // Non-blocking to a listener: EINPROGRESS, then connected.
    let c2 = t.sock(AF_INET, STREAM | SOCK_NONBLOCK);
    assert_eq!(t.connect_to(c2, &sin(LO, 7777)), EINPROGRESS);
    let _ = t.accept_one(l);
    assert_eq!(t.connect_to(c2, &sin(LO, 7777)), EISCONN);
    assert_eq!(t.recv(c2, 64, 0).0, EAGAIN);
    // Destination errors.
    let y = t.sock(AF_INET, STREAM);
    assert_eq!(t.connect_to(y, &sin(LO, 0)), EADDRNOTAVAIL);
    assert_eq!(t.connect_to(y, &sin(LO, 0)[..8]), EINVAL);
    assert_eq!(t.connect_to(y, &sin([10, 1, 2, 3], 7777)), EADDRNOTAVAIL);
    assert_eq!(t.connect_to(y, &sin([255; 4], 7777)), EADDRNOTAVAIL);
    // shutdown of an unconnected socket detaches its PCB.
    let z = t.sock(AF_INET, STREAM);
    assert_eq!(t.e(SHUTDOWN, &[z, 2]), 0);
    assert_eq!(t.name(GETPEERNAME, z).0, ENOTCONN);
    assert_eq!(t.send(z, b"x", MSG_NOSIGNAL).0, EPIPE);
    assert_eq!(t.recv(z, 1, 0), (0, Vec::new()));
    assert_eq!(t.bind_to(z, &sin(LO, 0)), EINVAL);
}

#[test]
fn accepted_connections_do_not_hold_the_port() {
    let mut t = kernel();
    let l2 = t.listener(7778);
    let c3 = t.sock(AF_INET, STREAM);
    assert_eq!(t.connect_to(c3, &sin(LO, 7778)), 0);
    let (a3, _) = t.accept_one(l2);
    let n1 = t.sock(AF_INET, STREAM);
    assert_eq!(t.bind_to(n1, &sin(LO, 7778)), EADDRINUSE);
    t.close(l2);
    assert_eq!(t.bind_to(n1, &sin(LO, 7778)), 0);
    t.close(n1);
    t.close(a3);
    assert_eq!(t.recv(c3, 64, 0), (0, Vec::new()));
    t.close(c3);
    let n2 = t.sock(AF_INET, STREAM);
    assert_eq!(t.bind_to(n2, &sin(LO, 7778)), 0);
    // listen on an unbound socket binds the wildcard; 0.0.0.0 connects to 127.0.0.1.
    let y = t.sock(AF_INET, STREAM);
    assert_eq!(t.e(LISTEN, &[y, 1]), 0);
    let port = t.port(y);
    let (_, n) = t.name(GETSOCKNAME, y);
    assert_eq!(n, sin(ANY, port));
    let c = t.sock(AF_INET, STREAM);
    assert_eq!(t.connect_to(c, &sin(ANY, port)), 0);
    assert_eq!(t.name(GETPEERNAME, c), (0, sin(LO, port)));
}

#[test]
fn udp_delivery_truncation_and_errors() {
    let mut t = kernel();
    let u1 = t.sock(AF_INET, DGRAM);
    assert_eq!(t.bind_to(u1, &sin(LO, 5555)), 0);
    assert_eq!(t.getopt(u1, SOL_SOCKET, SO_SNDBUF), (0, 9216));
    assert_eq!(t.getopt(u1, SOL_SOCKET, SO_RCVBUF), (0, 41600));
    let u3 = t.sock(AF_INET, DGRAM);
    assert_eq!(t.sendto(u3, b"auto", &sin(LO, 5555)), (0, 4));
    let port = t.port(u3);
    assert_eq!(t.name(GETSOCKNAME, u3), (0, sin(ANY, port)));
    assert_eq!(t.recvfrom(u1, 64), (0, b"auto".to_vec(), sin(LO, port)));
    assert_eq!(t.recv(u1, 64, MSG_DONTWAIT).0, EAGAIN);
    // Truncation loses the rest of the datagram, recvmsg says MSG_TRUNC.
    assert_eq!(t.sendto(u3, &[b'U'; 100], &sin(LO, 5555)), (0, 100));
    assert_eq!(t.recv(u1, 10, 0), (0, vec![b'U'; 10]));
    assert_eq!(t.recv(u1, 64, MSG_DONTWAIT).0, EAGAIN);
    assert_eq!(t.sendto(u3, &[b'V'; 100], &sin(LO, 5555)), (0, 100));
    let base = t.buf(10);
    let iov = t.put(&[base.to_le_bytes(), 10u64.to_le_bytes()].concat());
    let mut msg = vec![0u8; 48];
    msg[16..24].copy_from_slice(&iov.to_le_bytes());
    msg[24..28].copy_from_slice(&1i32.to_le_bytes());
    let m = t.put(&msg);
    assert_eq!(t.sys(RECVMSG, &[u1, m, 0]).1, 10);
    assert_eq!(
        i32::from_le_bytes(t.rd(m + 44, 4).try_into().unwrap()),
        0x10
    );
    assert_eq!(t.sendto(u3, &[0; 9216], &sin(LO, 5555)), (0, 9216));
    assert_eq!(t.sendto(u3, &[0; 9217], &sin(LO, 5555)).0, EMSGSIZE);
    assert_eq!(t.recv(u1, 9216, 0).1.len(), 9216);
    assert_eq!(t.sendto(u3, b"", &sin(LO, 5555)), (0, 0));
    assert_eq!(t.recv(u1, 64, 0), (0, Vec::new()));
    assert_eq!(t.send(u1, b"x", 0).0, EDESTADDRREQ);
    assert_eq!(t.sendto(u3, b"x", &sin(LO, 0)).0, EADDRNOTAVAIL);
    assert_eq!(t.sendto(u3, b"x", &sin([10, 1, 2, 3], 53)).0, EADDRNOTAVAIL);
    assert_eq!(t.sendto(u3, b"x", &sin([255; 4], 5555)).0, EADDRNOTAVAIL);
    // A port in use, even with SO_REUSEADDR/SO_REUSEPORT on the new socket.
    let x = t.sock(AF_INET, DGRAM);
    assert_eq!(t.setopt(x, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    assert_eq!(t.setopt(x, SOL_SOCKET, SO_REUSEPORT, 1), 0);
    assert_eq!(t.bind_to(x, &sin(LO, 5555)), EADDRINUSE);
    assert_eq!(t.e(LISTEN, &[x, 1]), EOPNOTSUPP);
    assert_eq!(t.e(ACCEPT, &[x, 0, 0]), EOPNOTSUPP);
}

#[test]
fn connected_udp_hears_port_unreachable() {
    let mut t = kernel();
    let u4 = t.sock(AF_INET, DGRAM);
    assert_eq!(t.connect_to(u4, &sin(LO, 5556)), 0);
    assert_eq!(t.sendto(u4, b"x", &sin(LO, 5556)).0, EISCONN);
    assert_eq!(t.send(u4, b"x", 0), (0, 1));
    assert_eq!(t.recv(u4, 64, 0).0, ECONNREFUSED);
    assert_eq!(t.getopt(u4, SOL_SOCKET, SO_ERROR), (0, 0));
    assert_eq!(t.send(u4, b"y", 0), (0, 1));
    assert_eq!(t.getopt(u4, SOL_SOCKET, SO_ERROR), (0, ECONNREFUSED));
    // Unconnected: no error.
    let u5 = t.sock(AF_INET, DGRAM);
    assert_eq!(t.sendto(u5, b"x", &sin(LO, 5556)), (0, 1));
    assert_eq!(t.recv(u5, 64, MSG_DONTWAIT).0, EAGAIN);
    assert_eq!(t.getopt(u5, SOL_SOCKET, SO_ERROR), (0, 0));
}

#[test]
fn ipv6_loopback_v6only_and_v4_mapped() {
    let mut t = kernel();
    let l = t.listener(7777);
    let t6l = t.sock(AF_INET6, STREAM);
    assert_eq!(t.getopt(t6l, IPPROTO_IPV6, IPV6_V6ONLY), (0, 1));
    assert_eq!(t.bind_to(t6l, &sin6(LO6, 7780)), 0);
    assert_eq!(t.e(LISTEN, &[t6l, 5]), 0);
    let t6c = t.sock(AF_INET6, STREAM);
    assert_eq!(t.connect_to(t6c, &sin6(LO6, 7780)), 0);
    let p = t.port(t6c);
    let (a6, peer) = t.accept_one(t6l);
    assert_eq!(peer, sin6(LO6, p));
    assert_eq!(t.getopt(t6c, IPPROTO_TCP, 2), (0, 33564));
    assert_eq!(t.send(t6c, b"v6 hello", 0), (0, 8));
    assert_eq!(t.recv(a6, 8, MSG_WAITALL), (0, b"v6 hello".to_vec()));
    // v4-mapped: EINVAL with V6ONLY, the IPv4 listener without.
    let mut mapped = [0u8; 16];
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    mapped[12..].copy_from_slice(&LO);
    let m6 = t.sock(AF_INET6, STREAM);
    assert_eq!(t.connect_to(m6, &sin6(mapped, 7777)), EINVAL);
    let m6 = t.sock(AF_INET6, STREAM);
    assert_eq!(t.setopt(m6, IPPROTO_IPV6, IPV6_V6ONLY, 0), 0);
    assert_eq!(t.connect_to(m6, &sin6(mapped, 7777)), 0);
    let mp = t.port(m6);
    assert_eq!(t.name(GETSOCKNAME, m6), (0, sin6(mapped, mp)));
    let (_, peer4) = t.accept_one(l);
    assert_eq!(peer4, sin(LO, mp));
    // UDP over ::1: the sender's name stays ::.
    let v6u = t.sock(AF_INET6, DGRAM);
    assert_eq!(t.bind_to(v6u, &sin6(LO6, 5560)), 0);
    let v6u2 = t.sock(AF_INET6, DGRAM);
    assert_eq!(t.sendto(v6u2, b"v6 udp", &sin6(LO6, 5560)), (0, 6));
    let p2 = t.port(v6u2);
    assert_eq!(t.recvfrom(v6u, 64), (0, b"v6 udp".to_vec(), sin6(LO6, p2)));
    assert_eq!(t.name(GETSOCKNAME, v6u2), (0, sin6([0; 16], p2)));
    // Address errors.
    let e6 = t.sock(AF_INET6, DGRAM);
    let mut doc = [0u8; 16];
    doc[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    doc[15] = 1;
    assert_eq!(t.bind_to(e6, &sin6(doc, 0)), EADDRNOTAVAIL);
    assert_eq!(t.bind_to(e6, &sin(LO, 0)), EAFNOSUPPORT);
    assert_eq!(t.bind_to(e6, &sin6(LO6, 0)[..24]), EINVAL);
    assert_eq!(t.bind_to(e6, &sin6(LO6, 0)), 0);
}

#[test]
fn socket_level_options_pass_the_protocol_untouched() {
    let mut t = kernel();
    let u = t.sock(AF_INET, DGRAM);
    // SO_RCVTIMEO is a 16-byte timeval: the protocol must not ask for an int.
    let tv = t.put(&[2u64.to_le_bytes(), 0u64.to_le_bytes()].concat());
    assert_eq!(t.e(SETSOCKOPT, &[u, SOL_SOCKET, 0x100c, tv, 16]), 0);
    // Unknown socket-level and IP-level options stay ENOPROTOOPT.
    assert_eq!(t.setopt(u, SOL_SOCKET, 0x7777, 1), 42);
    assert_eq!(t.setopt(u, 0, 0x77, 1), 42);
    assert_eq!(t.setopt(u, IPPROTO_TCP, 1, 1), 42);
    // IP_TTL takes an int: 2 bytes EINVAL.
    let two = t.put(&[1, 0]);
    assert_eq!(t.e(SETSOCKOPT, &[u, 0, 4, two, 2]), EINVAL);
    assert_eq!(t.setopt(u, 0, 4, 10), 0);
    assert_eq!(t.getopt(u, 0, 4), (0, 10));
}
