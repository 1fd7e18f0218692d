//! TCP over loopback, modelled as pairs of in-kernel endpoints.
//!
//! A connection is two PCBs that name each other ([`Tcp::peer`]). A
//! `connect` finds the listener the SYN would reach (`in_pcblookup_bind`
//! order) and completes the whole handshake in the call: the listener gets
//! a new, established PCB on its accept queue (as the SYN cache's
//! `syn_cache_get` makes one, with the listener's options and buffer sizes)
//! and the client is established. No listener: the RST that comes back
//! drops the client (`tcp_drop` → `tcp_close`), ECONNREFUSED, and the PCB
//! is gone, so every later request on the socket is EINVAL
//! (`tcp_usrreq` with no inpcb).
//!
//! Data: a send appends to the sender's send buffer (SO_SNDBUF bytes at
//! most) and moves at once into the peer's receive buffer as far as its
//! SO_RCVBUF allows; what stays in the send buffer moves on as the peer
//! reads. A FIN (shutdown(SHUT_WR), close) is an end-of-file the peer sees
//! after the data before it. Closing with unread received data sends an RST
//! instead (tcp_usrreq PRU_DETACH → tcp_disconnect with so_linger 0 /
//! unread data → tcp_drop): the peer's next receive is ECONNRESET. Closing a
//! listener aborts the connections no one accepted (the same RST to their
//! clients). Urgent data (MSG_OOB) puts its last byte out of band, as
//! `tcp_pulloutofband` takes it out of the stream without SO_OOBINLINE.
//!
//! Deliberate differences from NetBSD's timers: there are none. The
//! handshake, FIN and RST exchanges that NetBSD runs in softints a moment
//! after the call happen inside the call (a non-blocking connect still
//! answers EINPROGRESS, with its outcome ready at once); there is no
//! retransmission, delayed ACK, keepalive or persist timer; a SYN to a full
//! accept queue fails the connect with ETIMEDOUT at once instead of after
//! the 75-second connection timer; a closed PCB leaves the table at once
//! (TIME_WAIT and FIN_WAIT states are not kept; as a TIME_WAIT connection
//! of an accepted socket is not in the port list either, no bind can tell).

use std::collections::VecDeque;

use super::addr::{self, Endpoint, Family};
use super::errno::{
    EADDRINUSE, ECONNREFUSED, ECONNRESET, EINVAL, EISCONN, ENOTCONN, EOPNOTSUPP, EPIPE,
    ETIMEDOUT,
};
use super::pcb::{connect_target, NetEnv, Pcb, PcbId, Proto, Table};

/// The most a listen backlog can be (kern.somaxconn).
pub const SOMAXCONN: i32 = 128;
/// lo0's MTU: TCP_MAXSEG is it minus the IP and TCP headers.
pub const LOOPBACK_MTU: i32 = 33624;
/// tcp_mssdflt: TCP_MAXSEG of a socket that has no route yet.
pub const MSS_DEFAULT: i32 = 536;

/// The TCP states the model keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// Not connected (a new socket, or a dead connection).
    #[default]
    Closed,
    /// listen(2) was called.
    Listen,
    /// Connected (also after a FIN either way).
    Established,
}

/// The TCP half of a PCB.
#[derive(Debug, Clone, Default)]
pub struct Tcp {
    /// The state.
    pub state: State,
    /// The other end, while it exists.
    pub peer: Option<PcbId>,
    /// Received bytes not yet read.
    pub rcv: VecDeque<u8>,
    /// Sent bytes not yet in the peer's receive buffer.
    pub pending: VecDeque<u8>,
    /// The peer sent its FIN (EOF once `rcv` and its pending data drain).
    pub rcv_fin: bool,
    /// shutdown(SHUT_WR) or a FIN sent.
    pub snd_fin: bool,
    /// shutdown(SHUT_RD): received data is dropped, reads return 0.
    pub rcv_shut: bool,
    /// The connection was reset (RST received).
    pub reset: bool,
    /// The listen backlog.
    pub backlog: i32,
    /// Connections waiting for accept (listeners).
    pub queue: VecDeque<PcbId>,
    /// The listener a queued connection waits on.
    pub listener: Option<PcbId>,
    /// TCP_NODELAY (TF_NODELAY).
    pub nodelay: bool,
    /// The urgent byte taken out of band.
    pub oob: Option<u8>,
}

/// What a receive found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recv {
    /// These bytes.
    Data(Vec<u8>),
    /// End of file (0 bytes).
    Eof,
    /// Nothing yet: a blocking call waits, a non-blocking one is EAGAIN.
    WouldBlock,
}

impl Table {
    fn tcp_pcb(&self, id: PcbId) -> Result<&Pcb, i32> {
        match self.pcbs.get(&id) {
            Some(p) if !p.detached => Ok(p),
            _ => Err(EINVAL),
        }
    }

    fn tcp_mut(&mut self, id: PcbId) -> Result<&mut Pcb, i32> {
        match self.pcbs.get_mut(&id) {
            Some(p) if !p.detached => Ok(p),
            _ => Err(EINVAL),
        }
    }

    /// Marks a PCB for a wake-up.
    pub fn wake(&mut self, id: PcbId) {
        self.woken.insert(id);
    }

    /// PRU_LISTEN: binds an unbound socket to the wildcard and an ephemeral
    /// port, then listens (a second listen only updates the backlog). A
    /// connected socket: EINVAL (solisten).
    pub fn tcp_listen(&mut self, id: PcbId, backlog: i32, env: &mut dyn NetEnv) -> Result<(), i32> {
        let p = self.tcp_pcb(id)?;
        if p.tcp.state == State::Established || p.foreign.is_some() {
            return Err(EINVAL);
        }
        if p.local.port == 0 {
            self.bind(id, None, env)?;
        }
        let p = self.tcp_mut(id)?;
        p.tcp.state = State::Listen;
        p.tcp.backlog = if !(0..=SOMAXCONN).contains(&backlog) { SOMAXCONN } else { backlog };
        Ok(())
    }

    /// PRU_CONNECT: binds an unbound socket first, checks the destination
    /// (`in_pcbconnect`), then runs the handshake (module doc). `dst` is
    /// the parsed sockaddr or its parse error (checked after the bind, as
    /// in_pcbconnect checks the length after tcp_usrreq's in_pcbbind).
    pub fn tcp_connect(&mut self, id: PcbId, dst: Result<Endpoint, i32>, env: &mut dyn NetEnv) -> Result<(), i32> {
        let p = self.tcp_pcb(id)?;
        if p.tcp.state == State::Listen {
            return Err(EOPNOTSUPP);
        }
        if p.tcp.state == State::Established || p.tcp.reset || p.foreign.is_some() {
            return Err(EISCONN);
        }
        if p.local.port == 0 {
            self.bind(id, None, env)?;
        }
        let dst = dst?;
        let p = self.tcp_pcb(id)?;
        let (dst, src_addr) = connect_target(p, dst, env)?;
        let src = Endpoint {
            addr: src_addr,
            port: p.local.port,
        };
        if self.pcbs.values().any(|q| q.proto == Proto::Tcp && !q.detached && q.foreign == Some(dst) && q.local == src) {
            return Err(EADDRINUSE);
        }
        let p = self.tcp_mut(id)?;
        p.local.addr = src_addr;
        p.foreign = Some(dst);
        let listener = self.deliver_to(Proto::Tcp, &src, &dst, &|q| q.tcp.state == State::Listen);
        let Some(l) = listener else {
            self.drop_pcb(id);
            return Err(ECONNREFUSED);
        };
        let lp = self.tcp_pcb(l)?;
        let qlen = lp.tcp.queue.len() as i32;
        if qlen > (3 * lp.tcp.backlog) / 2 {
            self.drop_pcb(id);
            return Err(ETIMEDOUT);
        }
        let mut s = Pcb::new(lp.family, Proto::Tcp, lp.snd_hiwat, lp.rcv_hiwat);
        s.so_options = lp.so_options;
        s.v6only = lp.v6only;
        s.ttl = lp.ttl;
        s.tos = lp.tos;
        s.local = dst;
        s.foreign = Some(src);
        s.tcp.state = State::Established;
        s.tcp.peer = Some(id);
        s.tcp.listener = Some(l);
        let sid = self.insert(s);
        if let Some(lp) = self.pcbs.get_mut(&l) {
            lp.tcp.queue.push_back(sid);
        }
        let p = self.tcp_mut(id)?;
        p.tcp.state = State::Established;
        p.tcp.peer = Some(sid);
        self.wake(l);
        self.wake(id);
        Ok(())
    }

    /// The PCB is dropped (refused or timed-out connect, shutdown of an
    /// unconnected socket): it stays in the table, detached.
    fn drop_pcb(&mut self, id: PcbId) {
        if let Some(p) = self.pcbs.get_mut(&id) {
            p.detached = true;
            p.in_port_list = false;
            p.tcp.state = State::Closed;
        }
        self.wake(id);
    }

    /// Whether the socket is connected (SS_ISCONNECTED).
    pub fn tcp_connected(&self, id: PcbId) -> bool {
        self.pcbs.get(&id).is_some_and(|p| !p.detached && p.tcp.state == State::Established && !p.tcp.reset)
    }

    /// Whether the socket listens (SO_ACCEPTCONN).
    pub fn tcp_listening(&self, id: PcbId) -> bool {
        self.pcbs.get(&id).is_some_and(|p| !p.detached && p.tcp.state == State::Listen)
    }

    /// PRU_ACCEPT: the first queued connection (None: none yet). Not
    /// listening: EINVAL.
    pub fn tcp_accept(&mut self, id: PcbId) -> Result<Option<PcbId>, i32> {
        let p = self.tcp_mut(id)?;
        if p.tcp.state != State::Listen {
            return Err(EINVAL);
        }
        let Some(c) = p.tcp.queue.pop_front() else {
            return Ok(None);
        };
        if let Some(cp) = self.pcbs.get_mut(&c) {
            cp.tcp.listener = None;
        }
        Ok(Some(c))
    }

    /// Moves what the sender `id` holds into its peer's receive buffer as
    /// far as it has room.
    fn flush(&mut self, id: PcbId) {
        let Some(p) = self.pcbs.get(&id) else { return };
        let Some(peer) = p.tcp.peer else { return };
        let Some(q) = self.pcbs.get(&peer) else { return };
        let room = (q.rcv_hiwat as usize).saturating_sub(q.tcp.rcv.len());
        let n = room.min(p.tcp.pending.len());
        if n == 0 {
            return;
        }
        let moved: Vec<u8> = self.pcbs.get_mut(&id).map(|p| p.tcp.pending.drain(..n).collect()).unwrap_or_default();
        if let Some(q) = self.pcbs.get_mut(&peer) {
            if !q.tcp.rcv_shut {
                q.tcp.rcv.extend(moved);
            }
        }
        self.wake(peer);
        self.wake(id);
    }

    /// Bytes a send could take now (send-buffer room plus the peer's
    /// receive-buffer room).
    pub fn tcp_send_room(&self, id: PcbId) -> usize {
        let Some(p) = self.pcbs.get(&id) else { return 0 };
        let own = (p.snd_hiwat as usize).saturating_sub(p.tcp.pending.len());
        let peer = p
            .tcp
            .peer
            .and_then(|q| self.pcbs.get(&q))
            .filter(|_| p.tcp.pending.is_empty())
            .map_or(0, |q| (q.rcv_hiwat as usize).saturating_sub(q.tcp.rcv.len()));
        own + peer
    }

    /// PRU_SEND / PRU_SENDOOB: takes as much of `data` as there is room for
    /// and returns the count (0 of a non-empty `data`: no room, the caller
    /// waits or answers EAGAIN). After shutdown(SHUT_WR), a reset or a
    /// detach: EPIPE (sosend's SS_CANTSENDMORE); a pending asynchronous
    /// error is returned (and cleared) first; never connected: ENOTCONN.
    pub fn tcp_send(&mut self, id: PcbId, data: &[u8], oob: bool) -> Result<usize, i32> {
        let p = self.pcbs.get_mut(&id).ok_or(EINVAL)?;
        if p.tcp.snd_fin || p.detached && p.tcp.reset {
            return Err(EPIPE);
        }
        if p.so_error != 0 {
            let e = p.so_error;
            p.so_error = 0;
            return Err(e);
        }
        if p.tcp.reset {
            return Err(EPIPE);
        }
        if p.detached || p.tcp.state != State::Established {
            return Err(ENOTCONN);
        }
        if p.tcp.peer.is_none() {
            // The peer is gone: this segment draws an RST, which resets
            // the connection (tcp_input: so_error ECONNRESET, tcp_close).
            p.tcp.reset = true;
            p.so_error = ECONNRESET;
            self.wake(id);
            return Ok(data.len());
        }
        self.flush(id);
        let n = data.len().min(self.tcp_send_room(id));
        if n == 0 {
            return Ok(0);
        }
        let (normal, urgent) = if oob && n == data.len() {
            (&data[..n - 1], Some(data[n - 1]))
        } else {
            (&data[..n], None)
        };
        if let Some(p) = self.pcbs.get_mut(&id) {
            p.tcp.pending.extend(normal.iter().copied());
        }
        self.flush(id);
        if let (Some(b), Some(peer)) = (urgent, self.pcbs.get(&id).and_then(|p| p.tcp.peer)) {
            if let Some(q) = self.pcbs.get_mut(&peer) {
                q.tcp.oob = Some(b);
            }
            self.wake(peer);
        }
        Ok(n)
    }

    /// Bytes readable without waiting: the receive buffer plus what the
    /// peer still holds for us (it moves in as we read).
    pub fn tcp_readable(&self, id: PcbId) -> usize {
        let Some(p) = self.pcbs.get(&id) else { return 0 };
        let pending = p.tcp.peer.and_then(|q| self.pcbs.get(&q)).map_or(0, |q| q.tcp.pending.len());
        p.tcp.rcv.len() + pending
    }

    /// Whether a receive that finds no data returns end-of-file.
    fn tcp_at_eof(&self, p: &Pcb) -> bool {
        p.tcp.rcv_fin || p.tcp.rcv_shut || p.tcp.reset || p.detached
    }

    /// PRU_RCVD side of soreceive: reads up to `max` bytes (`peek` leaves
    /// them). With `waitall`, returns WouldBlock until `max` bytes (or EOF)
    /// are there. Order as soreceive: data first, then a pending error
    /// (cleared unless peeking), then EOF, then ENOTCONN for a socket never
    /// connected.
    pub fn tcp_recv(&mut self, id: PcbId, max: usize, peek: bool, waitall: bool) -> Result<Recv, i32> {
        let p = self.pcbs.get(&id).ok_or(EINVAL)?;
        let avail = self.tcp_readable(id);
        let eof = self.tcp_at_eof(p);
        if avail == 0 || max == 0 {
            if p.so_error != 0 {
                let e = p.so_error;
                if !peek {
                    if let Some(p) = self.pcbs.get_mut(&id) {
                        p.so_error = 0;
                    }
                }
                return Err(e);
            }
            if eof {
                return Ok(Recv::Eof);
            }
            if p.tcp.state != State::Established {
                return Err(ENOTCONN);
            }
            if max == 0 {
                return Ok(Recv::Data(Vec::new()));
            }
            return Ok(Recv::WouldBlock);
        }
        if waitall && avail < max && !eof && !peek {
            return Ok(Recv::WouldBlock);
        }
        if waitall && peek && p.tcp.rcv.len() < max && !eof {
            return Ok(Recv::WouldBlock);
        }
        let mut out = Vec::with_capacity(max.min(avail));
        let peer = p.tcp.peer;
        if peek {
            out.extend(p.tcp.rcv.iter().take(max).copied());
            return Ok(Recv::Data(out));
        }
        while out.len() < max {
            let p = self.pcbs.get_mut(&id).ok_or(EINVAL)?;
            let n = (max - out.len()).min(p.tcp.rcv.len());
            if n == 0 {
                break;
            }
            out.extend(p.tcp.rcv.drain(..n));
            if let Some(q) = peer {
                self.flush(q);
            }
        }
        if let Some(q) = peer {
            self.wake(q);
        }
        Ok(Recv::Data(out))
    }

    /// PRU_RCVOOB: the urgent byte (EINVAL when there is none).
    pub fn tcp_recv_oob(&mut self, id: PcbId, peek: bool) -> Result<u8, i32> {
        let p = self.tcp_mut(id)?;
        let b = p.tcp.oob.ok_or(EINVAL)?;
        if !peek {
            p.tcp.oob = None;
        }
        Ok(b)
    }

    /// soshutdown for TCP: SHUT_RD (0) flushes and stops receiving; SHUT_WR
    /// (1) sends the FIN; SHUT_RDWR (2) both. On a socket that is not
    /// connected, PRU_SHUTDOWN's tcp_usrclosed closes the PCB: it is
    /// detached (a later bind is EINVAL). `how` is checked by the caller.
    pub fn tcp_shutdown(&mut self, id: PcbId, how: i32) -> Result<(), i32> {
        let Some(p) = self.pcbs.get_mut(&id) else { return Err(EINVAL) };
        if how == 0 || how == 2 {
            p.tcp.rcv_shut = true;
            p.tcp.rcv.clear();
        }
        if how == 1 || how == 2 {
            if p.detached {
                return Err(EINVAL);
            }
            p.tcp.snd_fin = true;
            match (p.tcp.state, p.tcp.peer) {
                (State::Established, Some(peer)) => {
                    self.flush(id);
                    if let Some(q) = self.pcbs.get_mut(&peer) {
                        q.tcp.rcv_fin = true;
                    }
                    self.wake(peer);
                }
                (State::Established, None) => {}
                _ => self.drop_pcb(id),
            }
        }
        self.wake(id);
        Ok(())
    }

    /// PRU_DETACH: the socket is closed. A listener aborts its queue; a
    /// connection sends its FIN (after its buffered data) or, with unread
    /// data, an RST. The PCB leaves the table.
    pub fn tcp_close(&mut self, id: PcbId) {
        let Some(p) = self.pcbs.remove(&id) else { return };
        for &c in &p.tcp.queue {
            if let Some(cp) = self.pcbs.remove(&c) {
                if let Some(client) = cp.tcp.peer {
                    self.reset_peer(client);
                }
            }
        }
        if let Some(l) = p.tcp.listener {
            if let Some(lp) = self.pcbs.get_mut(&l) {
                lp.tcp.queue.retain(|&c| c != id);
            }
        }
        let Some(peer) = p.tcp.peer else { return };
        if !p.tcp.rcv.is_empty() {
            self.reset_peer(peer);
            return;
        }
        if let Some(q) = self.pcbs.get_mut(&peer) {
            if !q.tcp.rcv_shut {
                q.tcp.rcv.extend(p.tcp.pending.iter().copied());
            }
            q.tcp.rcv_fin = true;
            q.tcp.peer = None;
        }
        self.wake(peer);
    }

    fn reset_peer(&mut self, id: PcbId) {
        if let Some(q) = self.pcbs.get_mut(&id) {
            q.tcp.peer = None;
            q.tcp.reset = true;
            q.so_error = ECONNRESET;
        }
        self.wake(id);
    }

    /// TCP_MAXSEG: the loopback MTU minus the headers once connected
    /// (33584 for IPv4, 33564 for IPv6), tcp_mssdflt before.
    pub fn tcp_maxseg(&self, id: PcbId) -> i32 {
        match self.pcbs.get(&id) {
            Some(p) if p.foreign.is_some() => {
                let v4 = p.family == Family::V4 || p.foreign.is_some_and(|f| addr::is_v4(&f.addr));
                LOOPBACK_MTU - if v4 { 40 } else { 60 }
            }
            _ => MSS_DEFAULT,
        }
    }

    /// Whether a receive would not wait (poll readability).
    pub fn tcp_poll_in(&self, id: PcbId) -> bool {
        let Some(p) = self.pcbs.get(&id) else { return true };
        if p.tcp.state == State::Listen {
            return !p.tcp.queue.is_empty();
        }
        self.tcp_readable(id) > 0 || p.so_error != 0 || self.tcp_at_eof(p)
    }

    /// Whether a send would not wait (poll writability).
    pub fn tcp_poll_out(&self, id: PcbId) -> bool {
        let Some(p) = self.pcbs.get(&id) else { return true };
        p.tcp.snd_fin || p.tcp.reset || p.detached || (p.tcp.state == State::Established && self.tcp_send_room(id) > 0)
    }
}

