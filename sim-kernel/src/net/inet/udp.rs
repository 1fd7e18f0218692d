//! UDP over loopback (sys/netinet/udp_usrreq.c, netinet6/udp6_usrreq.c):
//! datagrams go straight into the receiving PCB's queue.
//!
//! The socket layer's sosend checks first (EPIPE after SHUT_WR, a pending
//! error, EDESTADDRREQ without a destination, EMSGSIZE above SO_SNDBUF),
//! then udp_send: an address on a connected socket EISCONN; otherwise the
//! socket is connected for the one datagram (`in_pcbconnect`: port 0, no
//! route and 255.255.255.255 without a broadcast interface are
//! EADDRNOTAVAIL; an unbound socket is bound to the wildcard and an
//! ephemeral port, and stays so). The receiver is found as udp_input finds
//! it (the 4-tuple of a connected PCB, then the bound address, then the
//! wildcard); its queue takes the datagram if its SO_RCVBUF has room for
//! the payload and the sender's sockaddr (sbappendaddr), else it is dropped.
//! No receiver: the ICMP port unreachable that comes back sets ECONNREFUSED
//! on the sender only if it is connected to that destination
//! (`in_pcbnotify` matches the foreign address), which its next receive or
//! SO_ERROR reports once.

use super::addr::{self, Endpoint};
use super::errno::*;
use super::pcb::{self, connect_target, Proto};
use super::usrreq::{do_bind, inp, inp_mut, live, note_packet, split, stop, views};
use crate::net::sockbuf::Mbuf;
use crate::net::{self, SockId};
use crate::{SimKernel, Stop};

/// PRU_CONNECT for UDP (`in_pcbconnect`): the destination checks, a bind
/// to the wildcard and an ephemeral port if unbound, then the names.
pub fn connect(k: &mut SimKernel, so: SockId, nam: &[u8]) -> Result<(), Stop> {
    let p = live(k, so)?;
    let dst = addr::parse(p.family, nam).map_err(stop)?;
    let (socks, env) = split(k);
    let me = views(socks)
        .iter()
        .find(|x| x.id == so)
        .map(|x| x.pcb.clone())
        .ok_or(stop(EINVAL))?;
    let (dst, src) = connect_target(&me, dst, &env).map_err(stop)?;
    if me.local.port == 0 {
        do_bind(k, so, None)?;
    }
    let p = inp_mut(k, so)?;
    p.local.addr = src;
    p.foreign = Some(dst);
    k.sock_mut(so)?.set_connected();
    Ok(())
}

/// PRU_DISCONNECT: the foreign name goes, the local address is the
/// wildcard again (udp_disconnect's in_pcbdisconnect and INADDR_ANY).
pub fn disconnect(k: &mut SimKernel, so: SockId) {
    if let Ok(p) = inp_mut(k, so) {
        p.foreign = None;
        p.local.addr = addr::any(p.family);
    }
    if let Some(s) = k.t.sockets.get_mut(&so) {
        s.state &= !net::SS_ISCONNECTED;
    }
}

/// PRU_SEND for UDP (module doc): the datagram goes straight to the
/// receiving socket's buffer, or draws an ICMP port unreachable.
pub fn send(
    k: &mut SimKernel,
    so: SockId,
    mbufs: Vec<Mbuf>,
    nam: Option<&[u8]>,
) -> Result<(), Stop> {
    let p = live(k, so)?.clone();
    let (dst, src_addr) = match (nam, p.foreign) {
        (Some(_), Some(_)) => return Err(stop(EISCONN)),
        (None, Some(f)) => (f, p.local.addr),
        (Some(n), None) => {
            let to = addr::parse(p.family, n).map_err(stop)?;
            let (_, env) = split(k);
            let (dst, src) = connect_target(&p, to, &env).map_err(stop)?;
            if p.local.port == 0 {
                do_bind(k, so, None)?;
            }
            (dst, src)
        }
        (None, None) => return Err(stop(ENOTCONN)),
    };
    let src = Endpoint {
        addr: src_addr,
        port: inp(k, so)?.local.port,
    };
    let target = pcb::deliver_to(&views(&k.t.sockets), Proto::Udp, &src, &dst, &|_| true);
    let len: usize = mbufs.iter().map(|m| m.data.len()).sum();
    let header = if addr::is_v4(&dst.addr) {
        20 + 8
    } else {
        40 + 8
    };
    note_packet(k, &dst.addr, header + len);
    match target {
        Some(t) => {
            let fam = inp(k, t)?.family;
            let name = addr::encode(fam, &src);
            let s = k.sock_mut(t)?;
            if s.state & net::SS_CANTRCVMORE == 0 {
                if (name.len() + len) as i64 > s.rcv.space() {
                    s.rcv.overflowed += 1;
                } else {
                    s.rcv.append_record(Some(name), None, mbufs, false);
                }
            }
            k.sock_wakeup(t);
        }
        None => {
            // udp_ctlinput → in_pcbnotify: only a PCB connected to the
            // destination hears of the ICMP port unreachable.
            if p.foreign == Some(dst) {
                k.sock_mut(so)?.error = ECONNREFUSED;
                k.sock_wakeup(so);
            }
        }
    }
    Ok(())
}
