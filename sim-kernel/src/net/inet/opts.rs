//! The protocol-level socket options of the internet domains
//! (ip_ctloutput, ip6_ctloutput, tcp_ctloutput): IPPROTO_IP, IPPROTO_IPV6
//! and IPPROTO_TCP. SOL_SOCKET options are the socket layer's.

use super::addr::Family;
use super::errno::{EINVAL, ENOPROTOOPT};
use super::pcb::{PcbId, Proto, Table};

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

impl Table {
    /// getsockopt at a protocol level. TCP options need a TCP socket
    /// (IPPROTO_TCP on UDP: ENOPROTOOPT, udp_ctloutput passes it to
    /// ip_ctloutput, which knows only IPPROTO_IP); IPPROTO_IP options on a
    /// v4 socket, IPPROTO_IPV6 ones on a v6 socket; anything else
    /// ENOPROTOOPT.
    pub fn getopt(&self, id: PcbId, level: i32, name: i32) -> Result<i32, i32> {
        let p = self.pcbs.get(&id).ok_or(EINVAL)?;
        match (level, p.family) {
            (IPPROTO_TCP, _) if p.proto == Proto::Tcp => match name {
                TCP_NODELAY => Ok(if p.tcp.nodelay { TF_NODELAY } else { 0 }),
                TCP_MAXSEG => Ok(self.tcp_maxseg(id)),
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

    /// setsockopt at a protocol level (the levels as [`Table::getopt`]).
    /// IP_TTL and IP_TOS take 0–255 (EINVAL otherwise); IPV6_V6ONLY only
    /// before bind (in6p with a local port or address: EINVAL);
    /// TCP_MAXSEG accepts 1..=its current value.
    pub fn setopt(&mut self, id: PcbId, level: i32, name: i32, v: i32) -> Result<(), i32> {
        let maxseg = self.tcp_maxseg(id);
        let p = self.pcbs.get_mut(&id).ok_or(EINVAL)?;
        match (level, p.family) {
            (IPPROTO_TCP, _) if p.proto == Proto::Tcp => match name {
                TCP_NODELAY => {
                    p.tcp.nodelay = v != 0;
                    Ok(())
                }
                TCP_MAXSEG => {
                    if v > 0 && v <= maxseg {
                        Ok(())
                    } else {
                        Err(EINVAL)
                    }
                }
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
                IPV6_V6ONLY => {
                    if p.local.port != 0 || !super::addr::is_any(&p.local.addr) {
                        return Err(EINVAL);
                    }
                    p.v6only = v != 0;
                    Ok(())
                }
                _ => Err(ENOPROTOOPT),
            },
            _ => Err(ENOPROTOOPT),
        }
    }
}
