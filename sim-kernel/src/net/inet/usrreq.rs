//! The internet domains' entry points for the socket layer's per-domain
//! dispatch (`crate::net`): PRU_ATTACH … PRU_DETACH for TCP, UDP and raw
//! sockets of AF_INET and AF_INET6, as tcp_usrreq.c, udp_usrreq.c and
//! raw_ip.c answer them. The PCB lives in the socket ([`crate::net::Pcb::Inet`]);
//! the lookups see every internet socket of the socket table.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use super::addr::{self, Endpoint, Family};
use super::errno::*;
use super::opts;
use super::pcb::{self, NetEnv, Pcb as InPcb, Proto, View};
use super::{protocol_for, RAW_SPACE, TCP_SPACE, UDP_RECVSPACE, UDP_SENDSPACE};
use crate::clock::Rng;
use crate::net::{self, prflags, CtlOp, SockId, Socket, AF_INET, AF_INET6};
use crate::{SimKernel, Stop};

/// A Stop for an errno.
pub(super) fn stop(e: i32) -> Stop {
    Stop::Errno(e)
}

/// The kernel as the PCB rules see it: its local addresses and its
/// seeded random source.
pub(super) struct KEnv<'a> {
    addrs: Vec<Ipv6Addr>,
    rng: &'a mut Rng,
}

impl NetEnv for KEnv<'_> {
    fn is_local(&self, a: &Ipv6Addr) -> bool {
        self.addrs.contains(a)
    }

    fn random(&mut self) -> u32 {
        (self.rng.next_u64() >> 32) as u32
    }
}

/// The host's addresses: every address of every interface (the interface
/// table's, SIOCAIFADDR's included; IPv4 v4-mapped).
pub(super) fn local_addrs(k: &SimKernel) -> Vec<Ipv6Addr> {
    k.ifaces.local_addrs().into_iter().map(|(a, _)| a).collect()
}

/// A packet of `bytes` (IP header included) went out and came back in on
/// the interface holding `dst`: 1 packet and `bytes` each way on its
/// counters (a destination no interface holds counts nowhere).
pub(super) fn note_packet(k: &mut SimKernel, dst: &Ipv6Addr, bytes: usize) {
    if let Some(i) = k.ifaces.index_of(dst) {
        k.ifaces.count_traffic(i, bytes as u64);
    }
}

/// Splits the kernel into the socket table and the environment.
pub(super) fn split(k: &mut SimKernel) -> (&mut BTreeMap<SockId, Socket>, KEnv<'_>) {
    let addrs = local_addrs(k);
    (
        &mut k.t.sockets,
        KEnv {
            addrs,
            rng: &mut k.rng,
        },
    )
}

/// Every internet PCB with its socket's id and options.
pub(super) fn views(socks: &BTreeMap<SockId, Socket>) -> Vec<View<'_>> {
    socks
        .iter()
        .filter_map(|(id, s)| match &s.pcb {
            net::Pcb::Inet(p) => Some(View {
                id: *id,
                pcb: p,
                options: s.options as u32,
            }),
            _ => None,
        })
        .collect()
}

/// The PCB of a socket (EINVAL for a socket of another domain).
pub(super) fn inp(k: &SimKernel, so: SockId) -> Result<&InPcb, Stop> {
    match k.t.sockets.get(&so).map(|s| &s.pcb) {
        Some(net::Pcb::Inet(p)) => Ok(p),
        _ => Err(stop(EINVAL)),
    }
}

/// The PCB of a socket, mutably.
pub(super) fn inp_mut(k: &mut SimKernel, so: SockId) -> Result<&mut InPcb, Stop> {
    pcb_in(&mut k.t.sockets, so)
}

/// The PCB of a socket of the table, mutably.
pub(super) fn pcb_in(socks: &mut BTreeMap<SockId, Socket>, so: SockId) -> Result<&mut InPcb, Stop> {
    match socks.get_mut(&so).map(|s| &mut s.pcb) {
        Some(net::Pcb::Inet(p)) => Ok(p),
        _ => Err(stop(EINVAL)),
    }
}

/// A live (not detached) PCB, else EINVAL (tcp_getpcb with no inpcb).
pub(super) fn live(k: &SimKernel, so: SockId) -> Result<&InPcb, Stop> {
    let p = inp(k, so)?;
    if p.detached {
        return Err(stop(EINVAL));
    }
    Ok(p)
}

fn family_of(domain: i32) -> Family {
    if domain == AF_INET6 {
        Family::V6
    } else {
        Family::V4
    }
}

/// The send and receive space a new socket of `proto` takes: the
/// net.inet.tcp/udp sendspace and recvspace sysctls (their nodes are the
/// interfaces module's; until it answers, the boot values).
pub fn spaces(k: &SimKernel, proto: Proto) -> (u64, u64) {
    // The sysctl ints widen to u_long as C converts them (-1: all ones).
    let node = |p: i32| {
        crate::sysctl_net::socket_spaces(&k.sysctl, p)
            .map(|(s, r)| (i64::from(s) as u64, i64::from(r) as u64))
    };
    match proto {
        Proto::Tcp => node(6).unwrap_or((u64::from(TCP_SPACE), u64::from(TCP_SPACE))),
        Proto::Udp => node(17).unwrap_or((u64::from(UDP_SENDSPACE), u64::from(UDP_RECVSPACE))),
        Proto::Raw => (u64::from(RAW_SPACE), u64::from(RAW_SPACE)),
    }
}

/// PRU_ATTACH after socreate found the domain: the protocol
/// ([`protocol_for`]), a fresh PCB and the buffers.
pub fn attach(k: &SimKernel, domain: i32, stype: i32, protocol: i32) -> Result<Socket, Stop> {
    let proto = protocol_for(stype, protocol).map_err(stop)?;
    let flags = match proto {
        Proto::Tcp => prflags::CONNREQUIRED | prflags::WANTRCVD | prflags::LISTEN,
        Proto::Udp | Proto::Raw => prflags::ATOMIC | prflags::ADDR,
    };
    let p = InPcb::new(family_of(domain), proto);
    let mut so = Socket::new(domain, stype, protocol, flags, net::Pcb::Inet(Box::new(p)));
    let (snd, rcv) = spaces(k, proto);
    so.reserve(snd, rcv);
    Ok(so)
}

/// Binds `so` to `want` (None: wildcard and an ephemeral port) and files
/// it under its port.
pub(super) fn do_bind(k: &mut SimKernel, so: SockId, want: Option<Endpoint>) -> Result<(), Stop> {
    let (socks, mut env) = split(k);
    let e = pcb::bind(&views(socks), so, want, &mut env).map_err(stop)?;
    let p = pcb_in(socks, so)?;
    p.local = e;
    p.in_port_list = true;
    Ok(())
}

/// PRU_BIND: the name must be a sockaddr of the socket's family.
pub fn bind(k: &mut SimKernel, so: SockId, nam: &[u8]) -> Result<(), Stop> {
    let p = live(k, so)?;
    if p.proto == Proto::Raw {
        return Err(stop(EOPNOTSUPP));
    }
    let fam = p.family;
    let bound = p.local.port != 0 || !addr::is_any(&p.local.addr);
    if bound {
        return Err(stop(EINVAL));
    }
    let want = addr::parse(fam, nam).map_err(stop)?;
    do_bind(k, so, Some(want))
}

/// PRU_LISTEN: TCP only (UDP and raw EOPNOTSUPP).
pub fn listen(k: &mut SimKernel, so: SockId) -> Result<(), Stop> {
    match live(k, so)?.proto {
        Proto::Tcp => super::tcp::listen(k, so),
        _ => Err(stop(EOPNOTSUPP)),
    }
}

/// PRU_CONNECT.
pub fn connect(k: &mut SimKernel, so: SockId, nam: &[u8]) -> Result<(), Stop> {
    match live(k, so)?.proto {
        Proto::Tcp => super::tcp::connect(k, so, nam),
        Proto::Udp => super::udp::connect(k, so, nam),
        Proto::Raw => Err(stop(EOPNOTSUPP)),
    }
}

/// PRU_DISCONNECT (connect of a connected UDP socket, before the new one).
pub fn disconnect(k: &mut SimKernel, so: SockId) -> Result<(), Stop> {
    match inp(k, so)?.proto {
        Proto::Udp => {
            super::udp::disconnect(k, so);
            Ok(())
        }
        _ => Err(stop(ENOTCONN)),
    }
}

/// PRU_ACCEPT: the accepted connection's peer name; it is no longer one
/// of the listener's unaccepted connections.
pub fn accept(k: &mut SimKernel, so: SockId) -> Result<Vec<u8>, Stop> {
    let p = inp_mut(k, so)?;
    p.tcp.embryonic = false;
    let fam = p.family;
    let peer = p.foreign.unwrap_or(Endpoint {
        addr: addr::any(fam),
        port: 0,
    });
    Ok(addr::encode(fam, &peer))
}

/// PRU_SEND / PRU_SENDOOB.
pub fn send(
    k: &mut SimKernel,
    so: SockId,
    mbufs: Vec<net::sockbuf::Mbuf>,
    nam: Option<&[u8]>,
    oob: bool,
) -> Result<(), Stop> {
    let p = inp(k, so)?;
    match p.proto {
        Proto::Tcp => super::tcp::send(k, so, mbufs, oob),
        Proto::Udp => super::udp::send(k, so, mbufs, nam),
        Proto::Raw => Err(stop(EOPNOTSUPP)),
    }
}

/// PRU_RCVD: the reader made room; the peer's send buffer moves on.
pub fn rcvd(k: &mut SimKernel, so: SockId) {
    if let Some(peer) = inp(k, so).ok().and_then(|p| p.tcp.peer) {
        super::tcp::output(k, peer);
    }
}

/// PRU_RCVOOB: the urgent byte of a TCP connection (EINVAL when there is
/// none or it was read).
pub fn rcvoob(k: &mut SimKernel, so: SockId, peek: bool) -> Result<Vec<u8>, Stop> {
    let p = inp_mut(k, so)?;
    if p.proto != Proto::Tcp {
        return Err(stop(EOPNOTSUPP));
    }
    let b = p.tcp.oob.ok_or(stop(EINVAL))?;
    if !peek {
        p.tcp.oob = None;
    }
    Ok(vec![b])
}

/// PRU_SHUTDOWN: no more sending (socantsendmore), then the protocol's
/// part (TCP's FIN or tcp_close).
pub fn shutdown(k: &mut SimKernel, so: SockId) -> Result<(), Stop> {
    net::cantsendmore(k, so);
    match inp(k, so)?.proto {
        Proto::Tcp => super::tcp::shutdown(k, so),
        _ => Ok(()),
    }
}

/// PRU_SOCKADDR: the local name (a detached PCB: EINVAL).
pub fn sockaddr(k: &SimKernel, so: SockId) -> Result<Vec<u8>, Stop> {
    let p = live(k, so)?;
    Ok(addr::encode(p.family, &p.local))
}

/// PRU_PEERADDR (the socket layer checked SS_ISCONNECTED).
pub fn peeraddr(k: &SimKernel, so: SockId) -> Result<Vec<u8>, Stop> {
    let p = live(k, so)?;
    let f = p.foreign.ok_or(stop(ENOTCONN))?;
    Ok(addr::encode(p.family, &f))
}

/// `tcp_ctloutput` / `udp_ctloutput` / `rip_ctloutput`: the protocol
/// levels ([`opts`]); any other level, SOL_SOCKET included (the socket
/// layer's sets passed on), is ENOPROTOOPT from ip_ctloutput.
pub fn ctloutput(
    k: &mut SimKernel,
    so: SockId,
    op: CtlOp,
    level: i32,
    name: i32,
) -> Result<Vec<u8>, Stop> {
    match op {
        CtlOp::Get => {
            let v = opts::getopt(inp(k, so)?, level, name).map_err(stop)?;
            Ok(v.to_le_bytes().to_vec())
        }
        CtlOp::Set(v) => {
            // An option the level does not know is ENOPROTOOPT whatever
            // its length; a known one takes exactly an int.
            if opts::getopt(inp(k, so)?, level, name) == Err(ENOPROTOOPT) {
                return Err(stop(ENOPROTOOPT));
            }
            let n = net::sosend::getint(&v)?;
            opts::setopt(inp_mut(k, so)?, level, name, n).map_err(stop)?;
            Ok(Vec::new())
        }
    }
}

/// PRU_CONTROL (`in_control` / `in6_control` for a command the socket
/// layer's ifioctl did not take): EOPNOTSUPP, as their default.
pub fn control() -> Result<(), Stop> {
    Err(stop(EOPNOTSUPP))
}

/// PRU_SENSE: nothing ("stat: don't bother with a blocksize", tcp_usrreq.c
/// and udp_usrreq.c).
pub fn stat(_k: &SimKernel, _so: SockId, _st: &mut crate::structs::Stat) {}

/// PRU_DETACH: the socket's last close.
pub fn detach(k: &mut SimKernel, so: SockId) {
    if let Ok(Proto::Tcp) = inp(k, so).map(|p| p.proto) {
        super::tcp::detach(k, so);
    }
}

/// Whether `domain` is an internet domain this module serves.
pub fn is_inet(domain: i32) -> bool {
    domain == AF_INET || domain == AF_INET6
}

/// PRU_ATTACH of an AF_ROUTE socket (`route_usrreq`/`raw_attach`): raw
/// only (another type EPROTOTYPE... as socreate's pffindtype finds none),
/// protocol 0 or an address family. It carries nothing here.
pub fn route_attach(stype: i32, _protocol: i32) -> Result<Socket, Stop> {
    if stype != super::SOCK_RAW {
        return Err(stop(EPROTOTYPE));
    }
    let mut so = Socket::new(
        net::AF_ROUTE,
        stype,
        0,
        prflags::ATOMIC | prflags::ADDR,
        net::Pcb::Route,
    );
    so.reserve(u64::from(RAW_SPACE), u64::from(RAW_SPACE));
    Ok(so)
}
