//! The protocol-level socket options of the internet domains
//! (ip_ctloutput, ip6_ctloutput, tcp_ctloutput): IPPROTO_IP, IPPROTO_IPV6
//! and IPPROTO_TCP. SOL_SOCKET options are the socket layer's.

use super::addr::{self, Family};
use super::errno::{EINVAL, ENOPROTOOPT};
use super::pcb::{Pcb, Proto};

/// IPPROTO_IP.
pub const IPPROTO_IP: i32 = 0;
/// IPPROTO_TCP.
pub const IPPROTO_TCP: i32 = 6;
/// IPPROTO_UDP.
pub const IPPROTO_UDP: i32 = 17;
/// IPPROTO_IPV6.
pub const IPPROTO_IPV6: i32 = 41;
/// IP_TOS.
pub const IP_TOS: i32 = 3;
/// IP_TTL.
pub const IP_TTL: i32 = 4;
/// TCP_NODELAY.
pub const TCP_NODELAY: i32 = 1;
/// TCP_MAXSEG.
pub const TCP_MAXSEG: i32 = 2;
/// IPV6_V6ONLY.
pub const IPV6_V6ONLY: i32 = 27;
/// TF_NODELAY: what getsockopt(TCP_NODELAY) answers when it is set
/// (tcp_ctloutput returns `tp->t_flags & TF_NODELAY`).
pub const TF_NODELAY: i32 = 0x04;

/// lo0's MTU: TCP_MAXSEG is it minus the IP and TCP headers.
pub const LOOPBACK_MTU: i32 = 33624;
/// tcp_mssdflt: TCP_MAXSEG of a socket that has no route yet.
pub const MSS_DEFAULT: i32 = 536;

/// TCP_MAXSEG: the loopback MTU minus the headers once connected (33584
/// for IPv4, 33564 for IPv6), tcp_mssdflt before.
pub fn maxseg(p: &Pcb) -> i32 {
    match p.foreign {
        Some(f) => LOOPBACK_MTU - if addr::is_v4(&f.addr) { 40 } else { 60 },
        None => MSS_DEFAULT,
    }
}

/// getsockopt at a protocol level. TCP options need a TCP socket
/// (IPPROTO_TCP on UDP: ENOPROTOOPT, udp_ctloutput passes it to
/// ip_ctloutput, which knows only IPPROTO_IP); IPPROTO_IP options on a v4
/// socket, IPPROTO_IPV6 ones on a v6 socket; anything else ENOPROTOOPT.
pub fn getopt(p: &Pcb, level: i32, name: i32) -> Result<i32, i32> {
    match (level, p.family) {
        (IPPROTO_TCP, _) if p.proto == Proto::Tcp => match name {
            TCP_NODELAY => Ok(if p.tcp.nodelay { TF_NODELAY } else { 0 }),
            TCP_MAXSEG => Ok(maxseg(p)),
            _ => Err(ENOPROTOOPT),
        },
        (IPPROTO_IP, Family::V4) => match name {
            IP_TTL => Ok(p.ttl),
            IP_TOS => Ok(p.tos),
            _ => Err(ENOPROTOOPT),
        },
        (IPPROTO_IPV6, Family::V6) => match name {
            IPV6_V6ONLY => Ok(i32::from(p.v6only)),
            _ => Err(ENOPROTOOPT),
        },
        _ => Err(ENOPROTOOPT),
    }
}

/// setsockopt at a protocol level (the levels as [`getopt`]). IP_TTL and
/// IP_TOS take 0–255 (EINVAL otherwise); IPV6_V6ONLY only before bind (a
/// local port or address: EINVAL, ip6_ctloutput); TCP_MAXSEG accepts
/// 1..=its current value.
pub fn setopt(p: &mut Pcb, level: i32, name: i32, v: i32) -> Result<(), i32> {
    match (level, p.family) {
        (IPPROTO_TCP, _) if p.proto == Proto::Tcp => match name {
            TCP_NODELAY => {
                p.tcp.nodelay = v != 0;
                Ok(())
            }
            TCP_MAXSEG if v > 0 && v <= maxseg(p) => Ok(()),
            TCP_MAXSEG => Err(EINVAL),
            _ => Err(ENOPROTOOPT),
        },
        (IPPROTO_IP, Family::V4) => match name {
            IP_TTL | IP_TOS if !(0..=255).contains(&v) => Err(EINVAL),
            IP_TTL => {
                p.ttl = v;
                Ok(())
            }
            IP_TOS => {
                p.tos = v;
                Ok(())
            }
            _ => Err(ENOPROTOOPT),
        },
        (IPPROTO_IPV6, Family::V6) => match name {
            IPV6_V6ONLY if p.local.port != 0 || !addr::is_any(&p.local.addr) => Err(EINVAL),
            IPV6_V6ONLY => {
                p.v6only = v != 0;
                Ok(())
            }
            _ => Err(ENOPROTOOPT),
        },
        _ => Err(ENOPROTOOPT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::inet::addr::{v4, Endpoint};
    use std::net::Ipv4Addr;

    #[test]
    fn option_values_as_netbsd_answers() {
        let mut p = Pcb::new(Family::V4, Proto::Tcp);
        assert_eq!(getopt(&p, IPPROTO_TCP, TCP_NODELAY), Ok(0));
        setopt(&mut p, IPPROTO_TCP, TCP_NODELAY, 1).unwrap();
        assert_eq!(getopt(&p, IPPROTO_TCP, TCP_NODELAY), Ok(4));
        assert_eq!(getopt(&p, IPPROTO_TCP, 0x77), Err(ENOPROTOOPT));
        assert_eq!(getopt(&p, IPPROTO_IP, IP_TTL), Ok(64));
        assert_eq!(getopt(&p, IPPROTO_IPV6, IPV6_V6ONLY), Err(ENOPROTOOPT));
        p.foreign = Some(Endpoint {
            addr: v4(Ipv4Addr::LOCALHOST),
            port: 1,
        });
        assert_eq!(getopt(&p, IPPROTO_TCP, TCP_MAXSEG), Ok(33584));
        let mut u = Pcb::new(Family::V4, Proto::Udp);
        assert_eq!(getopt(&u, IPPROTO_TCP, TCP_NODELAY), Err(ENOPROTOOPT));
        setopt(&mut u, IPPROTO_IP, IP_TTL, 10).unwrap();
        assert_eq!(getopt(&u, IPPROTO_IP, IP_TTL), Ok(10));
        let mut s6 = Pcb::new(Family::V6, Proto::Tcp);
        assert_eq!(getopt(&s6, IPPROTO_IPV6, IPV6_V6ONLY), Ok(1));
        s6.foreign = Some(Endpoint {
            addr: std::net::Ipv6Addr::LOCALHOST,
            port: 1,
        });
        assert_eq!(getopt(&s6, IPPROTO_TCP, TCP_MAXSEG), Ok(33564));
        s6.local.port = 5;
        assert_eq!(setopt(&mut s6, IPPROTO_IPV6, IPV6_V6ONLY, 0), Err(EINVAL));
    }
}
