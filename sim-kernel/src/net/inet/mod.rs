//! AF_INET and AF_INET6: TCP and UDP over the simulated kernel's loopback.
//!
//! Everything stays inside the kernel: there are no packets, only protocol
//! control blocks ([`pcb`]) that find each other as NetBSD's input paths
//! would find them. [`tcp`] models a connection as a pair of endpoints
//! with buffers (its module doc says how, and where it differs from
//! NetBSD's timers), [`udp`] queues datagrams, [`opts`] holds the
//! IPPROTO_IP/IPV6/TCP options, [`addr`] the sockaddr layouts.
//!
//! Addresses of the host: 127.0.0.1 (lo0's 127.0.0.1/8: only the address
//! itself is local, 127.0.0.2 is EADDRNOTAVAIL), ::1 and fe80::1 with
//! netinet6, and whatever the interfaces module adds ([`local_addrs`] is
//! the one place that asks).

pub mod addr;
pub mod errno;
pub mod opts;
pub mod pcb;
pub mod tcp;
pub mod udp;
pub mod usrreq;

use std::net::{Ipv4Addr, Ipv6Addr};

pub use addr::{Endpoint, Family};
pub use pcb::{NetEnv, Pcb, PcbId, Proto};

use errno::{EPROTONOSUPPORT, EPROTOTYPE};

/// SOCK_STREAM.
pub const SOCK_STREAM: i32 = 1;
/// SOCK_DGRAM.
pub const SOCK_DGRAM: i32 = 2;
/// SOCK_RAW.
pub const SOCK_RAW: i32 = 3;

/// udp_sendspace: SO_SNDBUF of a new UDP socket (net.inet.udp.sendspace).
pub const UDP_SENDSPACE: u32 = 9216;
/// udp_recvspace: SO_RCVBUF of a new UDP socket (net.inet.udp.recvspace).
pub const UDP_RECVSPACE: u32 = 41600;
/// tcp_sendspace / tcp_recvspace at boot (net.inet.tcp.sendspace, recvspace).
pub const TCP_SPACE: u32 = 32768;
/// rip_sendspace / rip_recvspace: SO_SNDBUF/SO_RCVBUF of a raw socket.
pub const RAW_SPACE: u32 = 8192;

/// The protocol a socket(2) of an internet family gets, as socreate finds
/// it in inetsw/inet6sw: STREAM takes protocol 0 or TCP, DGRAM 0 or UDP
/// (another protocol: EPROTONOSUPPORT, pffindproto finds no entry); RAW any
/// protocol (the wildcard raw entry); any other type EPROTOTYPE.
pub fn protocol_for(ty: i32, protocol: i32) -> Result<Proto, i32> {
    match ty {
        SOCK_STREAM => match protocol {
            0 | opts::IPPROTO_TCP => Ok(Proto::Tcp),
            _ => Err(EPROTONOSUPPORT),
        },
        SOCK_DGRAM => match protocol {
            0 | opts::IPPROTO_UDP => Ok(Proto::Udp),
            _ => Err(EPROTONOSUPPORT),
        },
        SOCK_RAW => Ok(Proto::Raw),
        _ => Err(EPROTOTYPE),
    }
}

/// The addresses of the host the model knows itself: 127.0.0.1, and with
/// netinet6 ::1 and fe80::1 (lo0's link-local address, scope not modelled).
/// The interfaces module's addresses (SIOCAIFADDR) are added by the caller.
pub fn local_addrs(inet6: bool) -> Vec<Ipv6Addr> {
    let mut v = vec![addr::v4(Ipv4Addr::LOCALHOST)];
    if inet6 {
        v.push(Ipv6Addr::LOCALHOST);
        v.push(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    }
    v
}

/// A [`NetEnv`] from a list of local addresses and a random source.
pub struct AddrEnv<'a, R: FnMut() -> u32> {
    /// The local addresses.
    pub addrs: Vec<Ipv6Addr>,
    /// The random source.
    pub rand: &'a mut R,
}

impl<R: FnMut() -> u32> NetEnv for AddrEnv<'_, R> {
    fn is_local(&self, a: &Ipv6Addr) -> bool {
        self.addrs.contains(a)
    }

    fn random(&mut self) -> u32 {
        (self.rand)()
    }
}
