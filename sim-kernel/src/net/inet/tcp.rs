//! TCP over loopback (tcp_usrreq.c, and what tcp_input.c/tcp_output.c/
//! tcp_subr.c make observable), modelled as pairs of in-kernel endpoints.
//!
//! A connection is two sockets whose PCBs name each other
//! ([`TcpCb::peer`](super::pcb::TcpCb)). `connect` finds the listener the
//! SYN would reach (`in_pcblookup_connect`/`_bind` order) and runs the whole
//! handshake in the call: the listener gets a new, connected socket on its
//! accept queue (as `syn_cache_get` → `sonewconn` makes one, with the
//! listener's options, buffer sizes and IP options; its local name comes
//! from the SYN, not from `in_pcbbind`, so it is not in the port list) and
//! the client is connected. No listener: the RST that comes back drops the
//! client (`tcp_drop` → `tcp_close`: ECONNREFUSED in so_error, the socket
//! disconnected and its PCB detached, so every later request is EINVAL).
//!
//! Data lives in the sockets' buffers: a send appends to the sender's send
//! buffer (SO_SNDBUF) and `tcp_output` moves it at once into the peer's
//! receive buffer as far as its SO_RCVBUF allows; the rest moves on as the
//! peer reads (PRU_RCVD). A FIN (shutdown(SHUT_WR), close) follows the data
//! still to send; the peer then receives no more (EOF). Closing with unread
//! received data sends an RST instead (the peer: ECONNRESET once, then
//! EOF), as closing a listener does to the connections no one accepted.
//! Sending on a connection whose peer is gone draws an RST: the send
//! succeeds, the socket is reset (EPIPE afterwards). Urgent data (MSG_OOB)
//! puts its last byte out of band, as `tcp_pulloutofband` takes it out of
//! the stream without SO_OOBINLINE.
//!
//! Deliberate differences from NetBSD's timers: there are none here. The
//! handshake, FIN and RST exchanges that NetBSD runs in softints a moment
//! after the call happen inside the call; a non-blocking connect still
//! answers EINPROGRESS (as the real one does, its handshake not yet run),
//! with the outcome already in place (connected, or ECONNREFUSED in
//! SO_ERROR). There is no retransmission, delayed ACK, keepalive or persist
//! timer; a SYN to a full accept queue fails the connect with ETIMEDOUT at
//! once instead of after the 75-second connection timer; a closed
//! connection leaves no TIME_WAIT or FIN_WAIT PCB behind (an accepted
//! socket's would not be in the port list anyway, so no bind can tell; a
//! connecting socket's would hold its ephemeral port for 2 MSL).

use super::addr::{self, Endpoint};
use super::errno::*;
use super::pcb::{self, connect_target, Pcb as InPcb, Proto, TcpState};
use super::usrreq::{do_bind, inp, inp_mut, live, pcb_in, split, stop, views};
use crate::net::sockbuf::{Mbuf, MCLBYTES};
use crate::net::{self, SockId, Socket, SO_ACCEPTCONN};
use crate::proc::FileKind;
use crate::{SimKernel, Stop};

/// PRU_LISTEN: an unbound socket is bound to the wildcard and an
/// ephemeral port first (tcp_listen → in_pcbbind).
pub fn listen(k: &mut SimKernel, so: SockId) -> Result<(), Stop> {
    let p = live(k, so)?;
    if p.local.port == 0 {
        do_bind(k, so, None)?;
    }
    inp_mut(k, so)?.tcp.state = TcpState::Listen;
    Ok(())
}

/// Whether the socket's open file is non-blocking (a non-blocking connect
/// answers EINPROGRESS).
fn nonblocking(k: &SimKernel, so: SockId) -> bool {
    k.t.files.values().any(|f| {
        matches!(f.kind, FileKind::Socket(s) if s == so) && f.flags & crate::consts::O_NONBLOCK != 0
    })
}

/// `tcp_drop` → `tcp_close` of a connecting socket: the error for
/// so_error, the socket disconnected, the PCB detached.
fn drop_conn(k: &mut SimKernel, so: SockId, e: i32) -> Result<(), Stop> {
    let p = inp_mut(k, so)?;
    p.detached = true;
    p.in_port_list = false;
    p.tcp.state = TcpState::Closed;
    let s = k.sock_mut(so)?;
    s.error = e;
    s.set_disconnected();
    k.sock_wakeup(so);
    Ok(())
}

/// PRU_CONNECT (module doc): bind if unbound, the destination checks,
/// then the handshake. A non-blocking socket answers EINPROGRESS with the
/// outcome already in place (so_error for a refusal).
pub fn connect(k: &mut SimKernel, so: SockId, nam: &[u8]) -> Result<(), Stop> {
    let p = live(k, so)?;
    if p.local.port == 0 {
        do_bind(k, so, None)?;
    }
    let p = live(k, so)?;
    let dst = addr::parse(p.family, nam).map_err(stop)?;
    let (socks, env) = split(k);
    let me = match socks.get(&so).map(|s| &s.pcb) {
        Some(net::Pcb::Inet(p)) => p.clone(),
        _ => return Err(stop(EINVAL)),
    };
    let (dst, src_addr) = connect_target(&me, dst, &env).map_err(stop)?;
    let src = Endpoint {
        addr: src_addr,
        port: me.local.port,
    };
    let v = views(socks);
    if v.iter().any(|x| {
        x.pcb.proto == Proto::Tcp
            && !x.pcb.detached
            && x.pcb.foreign == Some(dst)
            && x.pcb.local == src
    }) {
        return Err(stop(EADDRINUSE));
    }
    let listener = pcb::deliver_to(&v, Proto::Tcp, &src, &dst, &|x| {
        x.pcb.tcp.state == TcpState::Listen && x.options & SO_ACCEPTCONN as u32 != 0
    });
    drop(v);
    let p = pcb_in(socks, so)?;
    p.local.addr = src_addr;
    p.foreign = Some(dst);
    let nbio = nonblocking(k, so);
    let outcome = match listener {
        None => drop_conn(k, so, ECONNREFUSED),
        Some(l) => {
            let h = k.sock(l)?;
            let no_room = k.check_pool(crate::SOCKET_MEM, ENOBUFS).is_err();
            if no_room || h.queue.len() as i64 > 3 * i64::from(h.qlimit) / 2 {
                // The SYN is dropped; NetBSD retries until the connection
                // timer gives up.
                drop_conn(k, so, ETIMEDOUT)
            } else {
                establish(k, so, l, src, dst)
            }
        }
    };
    outcome?;
    if nbio {
        return Err(stop(EINPROGRESS));
    }
    Ok(())
}

/// The SYN reached listener `l`: `sonewconn` makes the server's socket
/// (the listener's options, buffer sizes, marks and timeouts, its PCB's
/// IP options) on the listener's queue, and both ends are connected.
fn establish(
    k: &mut SimKernel,
    so: SockId,
    l: SockId,
    src: Endpoint,
    dst: Endpoint,
) -> Result<(), Stop> {
    let h = k.sock(l)?;
    let hp = inp(k, l)?;
    let mut np = InPcb::new(hp.family, Proto::Tcp);
    np.v6only = hp.v6only;
    np.ttl = hp.ttl;
    np.tos = hp.tos;
    np.tcp.nodelay = hp.tcp.nodelay;
    np.local = dst;
    np.foreign = Some(src);
    np.tcp.state = TcpState::Established;
    np.tcp.peer = Some(so);
    np.tcp.embryonic = true;
    let mut n = Socket::new(
        h.domain,
        h.stype,
        h.protocol,
        h.prflags,
        net::Pcb::Inet(Box::new(np)),
    );
    n.options = h.options & !SO_ACCEPTCONN;
    n.linger = h.linger;
    n.uid = h.uid;
    n.gid = h.gid;
    let (snd, rcv) = (h.snd.hiwat as u64, h.rcv.hiwat as u64);
    let (slo, rlo, sto, rto) = (h.snd.lowat, h.rcv.lowat, h.snd.timeo, h.rcv.timeo);
    n.ctime = k.clock.realtime();
    n.reserve(snd, rcv);
    n.snd.lowat = slo;
    n.rcv.lowat = rlo;
    n.snd.timeo = sto;
    n.rcv.timeo = rto;
    n.head = Some(l);
    n.set_connected();
    let nid = k.sock_insert(n);
    k.sock_mut(l)?.queue.push_back(nid);
    k.sock_wakeup(l);
    let p = inp_mut(k, so)?;
    p.tcp.state = TcpState::Established;
    p.tcp.peer = Some(nid);
    k.sock_mut(so)?.set_connected();
    k.sock_wakeup(so);
    Ok(())
}

/// `tcp_output` on loopback: what `so`'s send buffer holds moves into the
/// peer's receive buffer as far as it has room; once all is gone a pending
/// FIN follows (the peer can receive no more).
pub fn output(k: &mut SimKernel, so: SockId) {
    let Ok(p) = inp(k, so) else { return };
    let Some(peer) = p.tcp.peer else { return };
    let fin = p.tcp.fin_pending;
    let room =
        k.t.sockets
            .get(&peer)
            .map_or(0, |s| s.rcv.space().max(0) as usize);
    let mut moved = Vec::new();
    if let Some(s) = k.t.sockets.get_mut(&so) {
        while moved.len() < room && s.snd.cc > 0 {
            let (d, _) = s.snd.take_data(room - moved.len(), false);
            s.snd.drop_empty_front();
            if d.is_empty() {
                break;
            }
            moved.extend(d);
        }
    }
    if !moved.is_empty() {
        deliver(k, peer, &moved);
        k.sock_wakeup(so);
    }
    let empty = k.t.sockets.get(&so).is_some_and(|s| s.snd.cc == 0);
    if fin && empty {
        if let Ok(p) = inp_mut(k, so) {
            p.tcp.fin_pending = false;
        }
        net::cantrcvmore(k, peer);
    }
}

/// Appends bytes to a receive buffer in cluster mbufs (tcp_input's
/// sbappendstream of the segment).
fn deliver(k: &mut SimKernel, to: SockId, data: &[u8]) {
    if let Some(s) = k.t.sockets.get_mut(&to) {
        if s.state & net::SS_CANTRCVMORE == 0 {
            let mbufs = data
                .chunks(MCLBYTES)
                .map(|c| Mbuf {
                    data: c.to_vec(),
                    trailing: MCLBYTES - c.len(),
                    ext: true,
                })
                .collect();
            s.rcv.append_stream(mbufs);
        }
    }
    k.sock_wakeup(to);
}

/// PRU_SEND / PRU_SENDOOB: into the send buffer, then [`output`]. Urgent
/// data's last byte goes out of band (the receiver's `tcp_pulloutofband`
/// without SO_OOBINLINE). A connection whose peer is gone answers with an
/// RST: the data is dropped and the socket reset (ECONNRESET pending, no
/// more sending).
pub fn send(k: &mut SimKernel, so: SockId, mut mbufs: Vec<Mbuf>, oob: bool) -> Result<(), Stop> {
    let p = live(k, so)?;
    if p.tcp.state != TcpState::Established {
        return Err(stop(ENOTCONN));
    }
    let Some(peer) = p.tcp.peer else {
        let s = k.sock_mut(so)?;
        s.error = ECONNRESET;
        s.set_disconnected();
        k.sock_wakeup(so);
        return Ok(());
    };
    let mut urgent = None;
    if oob {
        if let Some(last) = mbufs.iter_mut().rev().find(|m| !m.data.is_empty()) {
            urgent = last.data.pop();
        }
    }
    k.sock_mut(so)?.snd.append_stream(mbufs);
    output(k, so);
    if let Some(b) = urgent {
        if let Ok(q) = inp_mut(k, peer) {
            q.tcp.oob = Some(b);
        }
        // tcp_input's URG processing: so_oobmark = so_rcv.sb_cc +
        // (rcv_up - rcv_nxt) - 1, the stream bytes before the urgent one
        // (those received and those still in our send buffer);
        // SS_RCVATMARK when that is none; sohasoutofband.
        let unsent = k.sock(so).map_or(0, |s| s.snd.cc);
        if let Ok(r) = k.sock_mut(peer) {
            r.oobmark = r.rcv.cc.saturating_add(unsent) as u64;
            if r.oobmark == 0 {
                r.state |= super::super::SS_RCVATMARK;
            }
        }
        k.sock_wakeup(peer);
    }
    Ok(())
}

/// PRU_SHUTDOWN's `tcp_usrclosed`: a connection sends its FIN after its
/// data; a socket that never connected (or listens) is closed, its PCB
/// detached.
pub fn shutdown(k: &mut SimKernel, so: SockId) -> Result<(), Stop> {
    let p = inp_mut(k, so)?;
    if p.detached {
        return Ok(());
    }
    match p.tcp.state {
        TcpState::Established => {
            if p.tcp.peer.is_some() {
                p.tcp.fin_pending = true;
                output(k, so);
            }
        }
        _ => {
            p.detached = true;
            p.in_port_list = false;
            p.tcp.state = TcpState::Closed;
        }
    }
    Ok(())
}

/// Resets the connection of `to` (an RST arrived): ECONNRESET pending,
/// disconnected.
fn reset(k: &mut SimKernel, to: SockId) {
    if let Ok(p) = inp_mut(k, to) {
        p.tcp.peer = None;
        p.tcp.state = TcpState::Closed;
    }
    if let Some(s) = k.t.sockets.get_mut(&to) {
        s.error = ECONNRESET;
        s.set_disconnected();
    }
    k.sock_wakeup(to);
}

/// PRU_DETACH: an unaccepted connection (its listener closing) is aborted
/// and a connection closed with unread data dropped, both with an RST to
/// the peer; otherwise the peer gets what was still to send and the FIN.
pub fn detach(k: &mut SimKernel, so: SockId) {
    let Ok(p) = inp(k, so) else { return };
    let Some(peer) = p.tcp.peer else { return };
    let embryonic = p.tcp.embryonic;
    let unread = k.t.sockets.get(&so).is_some_and(|s| s.rcv.cc > 0);
    if embryonic || unread {
        reset(k, peer);
        return;
    }
    let rest: Vec<u8> = match k.t.sockets.get_mut(&so) {
        Some(s) => {
            let mut v = Vec::new();
            while s.snd.cc > 0 {
                let (d, _) = s.snd.take_data(usize::MAX, false);
                s.snd.drop_empty_front();
                if d.is_empty() {
                    break;
                }
                v.extend(d);
            }
            v
        }
        None => Vec::new(),
    };
    if !rest.is_empty() {
        deliver(k, peer, &rest);
    }
    if let Ok(q) = inp_mut(k, peer) {
        q.tcp.peer = None;
    }
    net::cantrcvmore(k, peer);
}
