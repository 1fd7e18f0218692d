//! UDP over loopback (sys/netinet/udp_usrreq.c, netinet6/udp6_usrreq.c):
//! datagrams go straight into the receiving PCB's queue.
//!
//! A send checks as sosend does (EPIPE after SHUT_WR, a pending error,
//! EDESTADDRREQ without a destination, EMSGSIZE above SO_SNDBUF), then as
//! udp_send does: an address on a connected socket EISCONN; otherwise the
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

use std::collections::VecDeque;

use super::addr::{Endpoint, Family, SIN6_LEN, SIN_LEN};
use super::errno::{
    EADDRINUSE, ECONNREFUSED, EDESTADDRREQ, EINVAL, EISCONN, EMSGSIZE, ENOTCONN, EOPNOTSUPP, EPIPE,
};
use super::pcb::{connect_target, NetEnv, PcbId, Proto, Table};

/// One queued datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The sender.
    pub from: Endpoint,
    /// The payload.
    pub data: Vec<u8>,
}

/// The UDP half of a PCB.
#[derive(Debug, Clone, Default)]
pub struct Udp {
    /// Datagrams waiting to be read.
    pub queue: VecDeque<Datagram>,
    /// Bytes the queue holds as sb_cc counts them (payload and sockaddr).
    pub cc: usize,
    /// shutdown(SHUT_WR).
    pub snd_shut: bool,
    /// shutdown(SHUT_RD).
    pub rcv_shut: bool,
}

/// What a UDP receive found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpRecv {
    /// A datagram (`peek` left it queued).
    Datagram(Datagram),
    /// End of file (after SHUT_RD).
    Eof,
    /// Nothing queued.
    WouldBlock,
}

fn sa_len(f: Family) -> usize {
    match f {
        Family::V4 => SIN_LEN,
        Family::V6 => SIN6_LEN,
    }
}

impl Table {
    /// PRU_CONNECT for UDP: a connected socket is disconnected first
    /// (soconnect → sodisconnect: the local address goes back to the
    /// wildcard), then `in_pcbconnect`.
    pub fn udp_connect(&mut self, id: PcbId, dst: Endpoint, env: &mut dyn NetEnv) -> Result<(), i32> {
        let p = self.pcbs.get_mut(&id).filter(|p| !p.detached).ok_or(EINVAL)?;
        if p.foreign.take().is_some() {
            p.local.addr = super::addr::any(p.family);
        }
        let p = &self.pcbs[&id];
        let (dst, src) = connect_target(p, dst, env)?;
        let lport = p.local.port;
        if lport != 0
            && self
                .pcbs
                .values()
                .any(|q| q.proto == Proto::Udp && q.foreign == Some(dst) && q.local == Endpoint { addr: src, port: lport })
        {
            return Err(EADDRINUSE);
        }
        if lport == 0 {
            self.bind(id, None, env)?;
        }
        let p = self.pcbs.get_mut(&id).ok_or(EINVAL)?;
        p.local.addr = src;
        p.foreign = Some(dst);
        Ok(())
    }

    /// PRU_SEND for UDP (module doc). Returns the payload length.
    pub fn udp_send(&mut self, id: PcbId, data: &[u8], to: Option<Endpoint>, env: &mut dyn NetEnv) -> Result<usize, i32> {
        let p = self.pcbs.get_mut(&id).filter(|p| !p.detached).ok_or(EINVAL)?;
        if p.udp.snd_shut {
            return Err(EPIPE);
        }
        if p.so_error != 0 {
            let e = p.so_error;
            p.so_error = 0;
            return Err(e);
        }
        if p.foreign.is_none() && to.is_none() {
            return Err(EDESTADDRREQ);
        }
        if data.len() > p.snd_hiwat as usize {
            return Err(EMSGSIZE);
        }
        let (dst, src) = match (to, p.foreign) {
            (Some(_), Some(_)) => return Err(EISCONN),
            (None, Some(f)) => (f, p.local),
            (Some(to), None) => {
                let (dst, src_addr) = connect_target(p, to, env)?;
                if p.local.port == 0 {
                    self.bind(id, None, env)?;
                }
                let port = self.pcbs.get(&id).map_or(0, |p| p.local.port);
                (dst, Endpoint { addr: src_addr, port })
            }
            (None, None) => return Err(EDESTADDRREQ),
        };
        let target = self.deliver_to(Proto::Udp, &src, &dst, &|_| true);
        match target {
            Some(t) => {
                let q = self.pcbs.get_mut(&t).ok_or(EINVAL)?;
                let need = data.len() + sa_len(q.family);
                if !q.udp.rcv_shut && q.udp.cc + need <= q.rcv_hiwat as usize {
                    q.udp.cc += need;
                    q.udp.queue.push_back(Datagram {
                        from: src,
                        data: data.to_vec(),
                    });
                }
                self.wake(t);
            }
            None => {
                if let Some(p) = self.pcbs.get_mut(&id) {
                    if p.foreign == Some(dst) {
                        p.so_error = ECONNREFUSED;
                    }
                }
                self.wake(id);
            }
        }
        Ok(data.len())
    }

    /// soreceive for UDP: the first datagram, else a pending error (cleared
    /// unless peeking), else EOF after SHUT_RD, else nothing.
    pub fn udp_recv(&mut self, id: PcbId, peek: bool) -> Result<UdpRecv, i32> {
        let p = self.pcbs.get_mut(&id).ok_or(EINVAL)?;
        if let Some(d) = p.udp.queue.front() {
            let d = d.clone();
            if !peek {
                p.udp.queue.pop_front();
                p.udp.cc = p.udp.cc.saturating_sub(d.data.len() + sa_len(p.family));
            }
            return Ok(UdpRecv::Datagram(d));
        }
        if p.so_error != 0 {
            let e = p.so_error;
            if !peek {
                p.so_error = 0;
            }
            return Err(e);
        }
        if p.udp.rcv_shut {
            return Ok(UdpRecv::Eof);
        }
        Ok(UdpRecv::WouldBlock)
    }

    /// FIONREAD of a UDP socket: sb_cc (payloads and sender sockaddrs).
    pub fn udp_nread(&self, id: PcbId) -> usize {
        self.pcbs.get(&id).map_or(0, |p| p.udp.cc)
    }

    /// soshutdown for UDP (how checked by the caller): PRU_SHUTDOWN only
    /// marks the send side; a disconnected socket is fine.
    pub fn udp_shutdown(&mut self, id: PcbId, how: i32) -> Result<(), i32> {
        let p = self.pcbs.get_mut(&id).ok_or(EINVAL)?;
        if how == 0 || how == 2 {
            p.udp.rcv_shut = true;
            p.udp.queue.clear();
            p.udp.cc = 0;
        }
        if how == 1 || how == 2 {
            p.udp.snd_shut = true;
        }
        self.wake(id);
        Ok(())
    }

    /// listen/accept on UDP: EOPNOTSUPP (no PR_LISTEN; PRU_LISTEN refused).
    pub fn udp_listen(&self) -> Result<(), i32> {
        Err(EOPNOTSUPP)
    }

    /// PRU_PEERADDR after the socket layer's check: a socket that is not
    /// connected (never, or no longer after a reset or detach) ENOTCONN.
    pub fn peer_of(&self, id: PcbId) -> Result<Endpoint, i32> {
        let p = self.pcbs.get(&id).ok_or(ENOTCONN)?;
        if p.detached || p.tcp.reset {
            return Err(ENOTCONN);
        }
        p.foreign.ok_or(ENOTCONN)
    }

    /// PRU_SOCKADDR: the local name (a detached PCB: EINVAL).
    pub fn name_of(&self, id: PcbId) -> Result<Endpoint, i32> {
        let p = self.pcbs.get(&id).filter(|p| !p.detached).ok_or(EINVAL)?;
        Ok(p.local)
    }
}
