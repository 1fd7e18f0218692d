//! The TCP and UDP models, driven as the socket layer drives them.

use super::addr::{v4, Endpoint, Family};
use super::errno::*;
use super::pcb::{NetEnv, PcbId, Proto, SO_REUSEADDR};
use super::tcp::Recv;
use super::udp::UdpRecv;
use super::*;

struct Env(u64);
impl NetEnv for Env {
    fn is_local(&self, a: &Ipv6Addr) -> bool {
        local_addrs(true).contains(a)
    }
    fn random(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (self.0 >> 33) as u32
    }
}

fn lo(port: u16) -> Endpoint {
    Endpoint {
        addr: v4(Ipv4Addr::LOCALHOST),
        port,
    }
}

fn lo6(port: u16) -> Endpoint {
    Endpoint {
        addr: Ipv6Addr::LOCALHOST,
        port,
    }
}

/// A listener on 127.0.0.1:`port` and a connected client and accepted server.
fn pair(n: &mut Inet, env: &mut Env, port: u16) -> (PcbId, PcbId, PcbId) {
    let l = n.attach(Family::V4, Proto::Tcp, TCP_SPACE, TCP_SPACE);
    n.table.pcbs.get_mut(&l).unwrap().so_options = SO_REUSEADDR;
    n.table.bind(l, Some(lo(port)), env).unwrap();
    n.table.tcp_listen(l, 5, env).unwrap();
    let c = n.attach(Family::V4, Proto::Tcp, TCP_SPACE, TCP_SPACE);
    n.table.tcp_connect(c, Ok(lo(port)), env).unwrap();
    let a = n.table.tcp_accept(l).unwrap().unwrap();
    (l, c, a)
}

#[test]
fn connect_names_and_inherited_options() {
    let (mut n, mut env) = (Inet::default(), Env(1));
    let (_l, c, a) = pair(&mut n, &mut env, 7777);
    let cn = n.table.name_of(c).unwrap();
    assert_eq!(cn.addr, v4(Ipv4Addr::LOCALHOST));
    assert!(cn.port >= 49152);
    assert_eq!(n.table.peer_of(c), Ok(lo(7777)));
    assert_eq!(n.table.peer_of(a), Ok(cn));
    assert_eq!(n.table.name_of(a), Ok(lo(7777)));
    assert_eq!(n.table.pcbs[&a].so_options, SO_REUSEADDR);
    assert_eq!(n.table.tcp_connect(c, Ok(lo(7777)), &mut env), Err(EISCONN));
    assert_eq!(n.table.getopt(c, 6, 2), Ok(33584));
    n.table.setopt(c, 6, 1, 1).unwrap();
    assert_eq!(n.table.getopt(c, 6, 1), Ok(4));
    assert_eq!(n.table.getopt(c, 0, 4), Ok(64));
    assert_eq!(n.table.getopt(c, 6, 0x77), Err(ENOPROTOOPT));
}

#[test]
fn data_both_ways_half_close_and_eof() {
    let (mut n, mut env) = (Inet::default(), Env(2));
    let (_l, c, a) = pair(&mut n, &mut env, 7777);
    let data: Vec<u8> = (0..30000u32).map(|i| i as u8).collect();
    assert_eq!(n.table.tcp_send(c, &data, false), Ok(30000));
    assert_eq!(n.table.tcp_recv(a, 30000, false, true), Ok(Recv::Data(data.clone())));
    assert_eq!(n.table.tcp_recv(a, 64, false, false), Ok(Recv::WouldBlock));
    // 64 KiB fit: the peer's receive buffer and our send buffer.
    let big = vec![7u8; 65536];
    assert_eq!(n.table.tcp_send(a, &big, false), Ok(65536));
    assert_eq!(n.table.tcp_send(a, b"x", false), Ok(0));
    assert_eq!(n.table.tcp_recv(c, 65536, false, true), Ok(Recv::Data(big)));
    n.table.tcp_shutdown(c, 1).unwrap();
    assert_eq!(n.table.tcp_recv(a, 64, false, false), Ok(Recv::Eof));
    assert_eq!(n.table.tcp_send(a, b"bye", false), Ok(3));
    assert_eq!(n.table.tcp_recv(c, 3, false, true), Ok(Recv::Data(b"bye".to_vec())));
    assert_eq!(n.table.tcp_send(c, b"x", false), Err(EPIPE));
    n.detach(a);
    assert_eq!(n.table.tcp_recv(c, 64, false, false), Ok(Recv::Eof));
}

#[test]
fn oob_byte_leaves_the_stream_and_peek_keeps_data() {
    let (mut n, mut env) = (Inet::default(), Env(3));
    let (_l, c, a) = pair(&mut n, &mut env, 7777);
    n.table.tcp_send(c, b"peekaboo", false).unwrap();
    assert_eq!(n.table.tcp_recv(a, 4, true, true), Ok(Recv::Data(b"peek".to_vec())));
    assert_eq!(n.table.tcp_recv(a, 8, false, true), Ok(Recv::Data(b"peekaboo".to_vec())));
    n.table.tcp_send(c, b"x", false).unwrap();
    assert_eq!(n.table.tcp_send(c, b"y", true), Ok(1));
    assert_eq!(n.table.tcp_recv(a, 1, false, true), Ok(Recv::Data(b"x".to_vec())));
    assert_eq!(n.table.tcp_recv(a, 1, false, false), Ok(Recv::WouldBlock));
    assert_eq!(n.table.tcp_recv_oob(a, false), Ok(b'y'));
    assert_eq!(n.table.tcp_recv_oob(a, false), Err(EINVAL));
}

#[test]
fn close_with_unread_data_resets_the_peer() {
    let (mut n, mut env) = (Inet::default(), Env(4));
    let (_l, c, a) = pair(&mut n, &mut env, 7777);
    n.table.tcp_send(c, b"unread", false).unwrap();
    n.detach(a);
    assert_eq!(n.table.tcp_recv(c, 64, false, false), Err(ECONNRESET));
    assert_eq!(n.table.tcp_recv(c, 64, false, false), Ok(Recv::Eof));
    assert_eq!(n.table.tcp_send(c, b"x", false), Err(EPIPE));
}

#[test]
fn refused_connect_kills_the_socket() {
    let (mut n, mut env) = (Inet::default(), Env(5));
    let x = n.attach(Family::V4, Proto::Tcp, TCP_SPACE, TCP_SPACE);
    assert_eq!(n.table.tcp_connect(x, Ok(lo(9)), &mut env), Err(ECONNREFUSED));
    assert_eq!(n.table.tcp_connect(x, Ok(lo(9)), &mut env), Err(EINVAL));
    assert_eq!(n.table.bind(x, Some(lo(0)), &mut env), Err(EINVAL));
    // shutdown of an unconnected socket detaches it too.
    let y = n.attach(Family::V4, Proto::Tcp, TCP_SPACE, TCP_SPACE);
    n.table.tcp_shutdown(y, 2).unwrap();
    assert_eq!(n.table.bind(y, Some(lo(0)), &mut env), Err(EINVAL));
    assert_eq!(n.table.peer_of(y), Err(ENOTCONN));
}

#[test]
fn closed_listener_frees_its_port_while_the_connection_lives() {
    let (mut n, mut env) = (Inet::default(), Env(6));
    let (l, _c, _a) = pair(&mut n, &mut env, 7778);
    let n1 = n.attach(Family::V4, Proto::Tcp, TCP_SPACE, TCP_SPACE);
    assert_eq!(n.table.bind(n1, Some(lo(7778)), &mut env), Err(errno::EADDRINUSE));
    n.detach(l);
    assert_eq!(n.table.bind(n1, Some(lo(7778)), &mut env), Ok(()));
}

#[test]
fn listen_on_unbound_binds_the_wildcard() {
    let (mut n, mut env) = (Inet::default(), Env(7));
    let y = n.attach(Family::V4, Proto::Tcp, TCP_SPACE, TCP_SPACE);
    n.table.tcp_listen(y, 1, &mut env).unwrap();
    let name = n.table.name_of(y).unwrap();
    assert_eq!(name.addr, addr::V4_ANY);
    assert!(name.port >= 49152);
    // 0.0.0.0:port connects to 127.0.0.1.
    let c = n.attach(Family::V4, Proto::Tcp, TCP_SPACE, TCP_SPACE);
    let any = Endpoint {
        addr: addr::V4_ANY,
        port: name.port,
    };
    n.table.tcp_connect(c, Ok(any), &mut env).unwrap();
    assert_eq!(n.table.peer_of(c), Ok(lo(name.port)));
}

#[test]
fn v4_mapped_needs_v6only_off() {
    let (mut n, mut env) = (Inet::default(), Env(8));
    let (l, _c, _a) = pair(&mut n, &mut env, 7777);
    let mapped = Endpoint {
        addr: v4(Ipv4Addr::LOCALHOST),
        port: 7777,
    };
    let m = n.attach(Family::V6, Proto::Tcp, TCP_SPACE, TCP_SPACE);
    assert_eq!(n.table.getopt(m, 41, 27), Ok(1));
    assert_eq!(n.table.tcp_connect(m, Ok(mapped), &mut env), Err(EINVAL));
    let m = n.attach(Family::V6, Proto::Tcp, TCP_SPACE, TCP_SPACE);
    n.table.setopt(m, 41, 27, 0).unwrap();
    n.table.tcp_connect(m, Ok(mapped), &mut env).unwrap();
    let name = n.table.name_of(m).unwrap();
    let enc = addr::encode(Family::V6, &name);
    assert_eq!(&enc[18..24], &[0xff, 0xff, 127, 0, 0, 1]);
    let a = n.table.tcp_accept(l).unwrap().unwrap();
    let peer = n.table.peer_of(a).unwrap();
    assert_eq!(addr::encode(Family::V4, &peer).len(), 16);
    assert_eq!(peer, lo(name.port));
}

#[test]
fn v6_tcp_on_loopback() {
    let (mut n, mut env) = (Inet::default(), Env(9));
    let l = n.attach(Family::V6, Proto::Tcp, TCP_SPACE, TCP_SPACE);
    n.table.bind(l, Some(lo6(7780)), &mut env).unwrap();
    n.table.tcp_listen(l, 5, &mut env).unwrap();
    let c = n.attach(Family::V6, Proto::Tcp, TCP_SPACE, TCP_SPACE);
    // A v4 listener on the same port number is not reached from ::1.
    n.table.tcp_connect(c, Ok(lo6(7780)), &mut env).unwrap();
    assert_eq!(n.table.getopt(c, 6, 2), Ok(33564));
    let a = n.table.tcp_accept(l).unwrap().unwrap();
    assert_eq!(n.table.peer_of(a), n.table.name_of(c));
    let x = n.attach(Family::V6, Proto::Udp, UDP_SENDSPACE, UDP_RECVSPACE);
    let doc = Endpoint {
        addr: "2001:db8::1".parse().unwrap(),
        port: 0,
    };
    assert_eq!(n.table.bind(x, Some(doc), &mut env), Err(errno::EADDRNOTAVAIL));
}

#[test]
fn udp_delivery_autobind_and_errors() {
    let (mut n, mut env) = (Inet::default(), Env(10));
    let u1 = n.attach(Family::V4, Proto::Udp, UDP_SENDSPACE, UDP_RECVSPACE);
    n.table.bind(u1, Some(lo(5555)), &mut env).unwrap();
    let u3 = n.attach(Family::V4, Proto::Udp, UDP_SENDSPACE, UDP_RECVSPACE);
    assert_eq!(n.table.udp_send(u3, b"auto", Some(lo(5555)), &mut env), Ok(4));
    let name = n.table.name_of(u3).unwrap();
    assert_eq!(name.addr, addr::V4_ANY);
    match n.table.udp_recv(u1, false) {
        Ok(UdpRecv::Datagram(d)) => {
            assert_eq!(d.data, b"auto");
            assert_eq!(d.from, lo(name.port));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(n.table.udp_recv(u1, false), Ok(UdpRecv::WouldBlock));
    assert_eq!(n.table.udp_send(u3, b"x", None, &mut env), Err(EDESTADDRREQ));
    assert_eq!(n.table.udp_send(u3, &[0; 9217], Some(lo(5555)), &mut env), Err(EMSGSIZE));
    assert_eq!(n.table.udp_send(u3, &[0; 9216], Some(lo(5555)), &mut env), Ok(9216));
    assert_eq!(n.table.udp_send(u3, b"x", Some(lo(0)), &mut env), Err(errno::EADDRNOTAVAIL));
    let bcast = Endpoint {
        addr: v4(Ipv4Addr::BROADCAST),
        port: 5555,
    };
    assert_eq!(n.table.udp_send(u3, b"x", Some(bcast), &mut env), Err(errno::EADDRNOTAVAIL));
    // Connected: an address is EISCONN; a closed port ECONNREFUSED on the
    // next receive only.
    let u4 = n.attach(Family::V4, Proto::Udp, UDP_SENDSPACE, UDP_RECVSPACE);
    n.table.udp_connect(u4, lo(5556), &mut env).unwrap();
    assert_eq!(n.table.udp_send(u4, b"x", Some(lo(5555)), &mut env), Err(EISCONN));
    assert_eq!(n.table.udp_send(u4, b"x", None, &mut env), Ok(1));
    assert_eq!(n.table.udp_recv(u4, false), Err(ECONNREFUSED));
    assert_eq!(n.table.udp_recv(u4, false), Ok(UdpRecv::WouldBlock));
    assert_eq!(n.table.udp_send(u3, b"x", Some(lo(5556)), &mut env), Ok(1));
    assert_eq!(n.table.udp_recv(u3, false), Ok(UdpRecv::WouldBlock));
}
