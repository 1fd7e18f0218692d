//! The generic socket layer (sys/kern/uipc_socket.c, uipc_socket2.c,
//! uipc_domain.c): the [`Socket`] object with its state, options and
//! buffers, and the per-domain dispatch in the style of NetBSD's
//! protosw/pr_usrreq: one small function per request that matches on the
//! socket's domain and calls the domain's code ([`local`] for AF_LOCAL; the
//! AF_INET/AF_INET6 code plugs in beside it). Domain-specific code stays out
//! of this file.

pub mod fifo;
pub mod iface;
pub mod ifioctl;
pub mod inet;
pub mod local;
pub mod route;
pub mod sockbuf;
pub mod soreceive;
pub mod sosend;

use crate::consts::*;
use crate::vfs::Timespec;
use crate::{err, Component, SimKernel, Stop};
use errno::*;
pub use sockbuf::{Control, SockBuf};

/// Socket identifier (a key of `Tables::sockets`).
pub type SockId = u64;

/// AF_UNSPEC.
pub const AF_UNSPEC: i32 = 0;
/// AF_LOCAL (AF_UNIX).
pub const AF_LOCAL: i32 = 1;
/// AF_INET.
pub const AF_INET: i32 = 2;
/// AF_INET6.
pub const AF_INET6: i32 = 24;
/// AF_ROUTE.
pub const AF_ROUTE: i32 = 34;

/// SOCK_STREAM.
pub const SOCK_STREAM: i32 = 1;
/// SOCK_DGRAM.
pub const SOCK_DGRAM: i32 = 2;
/// SOCK_RAW.
pub const SOCK_RAW: i32 = 3;
/// SOCK_SEQPACKET.
pub const SOCK_SEQPACKET: i32 = 5;
/// SOCK_CLOEXEC (a socket(2) type flag).
pub const SOCK_CLOEXEC: i32 = 0x1000_0000;
/// SOCK_NONBLOCK.
pub const SOCK_NONBLOCK: i32 = 0x2000_0000;
/// SOCK_NOSIGPIPE.
pub const SOCK_NOSIGPIPE: i32 = 0x4000_0000;
/// The type flags socket(2) strips (`SOCK_FLAGS_MASK`).
pub const SOCK_FLAGS_MASK: i32 = SOCK_CLOEXEC | SOCK_NONBLOCK | SOCK_NOSIGPIPE;

/// SOL_SOCKET.
pub const SOL_SOCKET: i32 = 0xffff;
/// SO_DEBUG.
pub const SO_DEBUG: i32 = 0x1;
/// SO_ACCEPTCONN.
pub const SO_ACCEPTCONN: i32 = 0x2;
/// SO_REUSEADDR.
pub const SO_REUSEADDR: i32 = 0x4;
/// SO_KEEPALIVE.
pub const SO_KEEPALIVE: i32 = 0x8;
/// SO_DONTROUTE.
pub const SO_DONTROUTE: i32 = 0x10;
/// SO_BROADCAST.
pub const SO_BROADCAST: i32 = 0x20;
/// SO_USELOOPBACK.
pub const SO_USELOOPBACK: i32 = 0x40;
/// SO_LINGER.
pub const SO_LINGER: i32 = 0x80;
/// SO_OOBINLINE.
pub const SO_OOBINLINE: i32 = 0x100;
/// SO_REUSEPORT.
pub const SO_REUSEPORT: i32 = 0x200;
/// SO_NOSIGPIPE.
pub const SO_NOSIGPIPE: i32 = 0x800;
/// SO_ACCEPTFILTER.
pub const SO_ACCEPTFILTER: i32 = 0x1000;
/// SO_TIMESTAMP.
pub const SO_TIMESTAMP: i32 = 0x2000;
/// SO_SNDBUF.
pub const SO_SNDBUF: i32 = 0x1001;
/// SO_RCVBUF.
pub const SO_RCVBUF: i32 = 0x1002;
/// SO_SNDLOWAT.
pub const SO_SNDLOWAT: i32 = 0x1003;
/// SO_RCVLOWAT.
pub const SO_RCVLOWAT: i32 = 0x1004;
/// SO_ERROR.
pub const SO_ERROR: i32 = 0x1007;
/// SO_TYPE.
pub const SO_TYPE: i32 = 0x1008;
/// SO_OVERFLOWED.
pub const SO_OVERFLOWED: i32 = 0x1009;
/// SO_NOHEADER.
pub const SO_NOHEADER: i32 = 0x100a;
/// SO_SNDTIMEO.
pub const SO_SNDTIMEO: i32 = 0x100b;
/// SO_RCVTIMEO.
pub const SO_RCVTIMEO: i32 = 0x100c;

/// MSG_OOB.
pub const MSG_OOB: i32 = 0x1;
/// MSG_PEEK.
pub const MSG_PEEK: i32 = 0x2;
/// MSG_DONTROUTE.
pub const MSG_DONTROUTE: i32 = 0x4;
/// MSG_EOR.
pub const MSG_EOR: i32 = 0x8;
/// MSG_TRUNC.
pub const MSG_TRUNC: i32 = 0x10;
/// MSG_CTRUNC.
pub const MSG_CTRUNC: i32 = 0x20;
/// MSG_WAITALL.
pub const MSG_WAITALL: i32 = 0x40;
/// MSG_DONTWAIT.
pub const MSG_DONTWAIT: i32 = 0x80;
/// MSG_NOSIGNAL.
pub const MSG_NOSIGNAL: i32 = 0x400;
/// MSG_CMSG_CLOEXEC.
pub const MSG_CMSG_CLOEXEC: i32 = 0x800;
/// MSG_NBIO.
pub const MSG_NBIO: i32 = 0x1000;
/// The flags a caller may pass (`MSG_USERFLAGS`).
pub const MSG_USERFLAGS: i32 = 0x0ff_ffff;

/// SCM_RIGHTS.
pub const SCM_RIGHTS: i32 = 1;

/// SS_ISCONNECTED.
pub const SS_ISCONNECTED: u32 = 0x001;
/// SS_ISCONNECTING.
pub const SS_ISCONNECTING: u32 = 0x002;
/// SS_ISDISCONNECTING.
pub const SS_ISDISCONNECTING: u32 = 0x004;
/// SS_CANTSENDMORE.
pub const SS_CANTSENDMORE: u32 = 0x010;
/// SS_CANTRCVMORE.
pub const SS_CANTRCVMORE: u32 = 0x020;
/// SS_RCVATMARK.
pub const SS_RCVATMARK: u32 = 0x040;
/// SS_ISDISCONNECTED.
pub const SS_ISDISCONNECTED: u32 = 0x800;

/// SOMAXCONN.
pub const SOMAXCONN: i32 = 128;

/// protosw `pr_flags`.
pub mod prflags {
    /// PR_ATOMIC: exchange atomic messages only.
    pub const ATOMIC: u32 = 0x01;
    /// PR_ADDR: addresses given with messages.
    pub const ADDR: u32 = 0x02;
    /// PR_CONNREQUIRED.
    pub const CONNREQUIRED: u32 = 0x04;
    /// PR_WANTRCVD: wants PRU_RCVD calls.
    pub const WANTRCVD: u32 = 0x08;
    /// PR_RIGHTS: passes capabilities.
    pub const RIGHTS: u32 = 0x10;
    /// PR_LISTEN: supports listen/accept.
    pub const LISTEN: u32 = 0x20;
}

/// The protocol control block: the domain's own state of a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pcb {
    /// AF_LOCAL (`struct unpcb`).
    Local(local::UnpCb),
    /// AF_INET / AF_INET6 (`struct inpcb` / `in6pcb` with its tcpcb).
    Inet(Box<inet::Pcb>),
    /// AF_ROUTE raw sockets (`struct rawcb`): created and closed.
    Route,
}

/// A socket (`struct socket`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    /// Address family.
    pub domain: i32,
    /// SOCK_* type.
    pub stype: i32,
    /// Protocol number.
    pub protocol: i32,
    /// protosw flags of its protocol ([`prflags`]).
    pub prflags: u32,
    /// `so_state` (SS_*).
    pub state: u32,
    /// `so_options` (the boolean SO_* options and SO_ACCEPTCONN).
    pub options: i32,
    /// `so_linger` in seconds.
    pub linger: i32,
    /// `so_error`: a pending error.
    pub error: i32,
    /// `so_oobmark`: the bytes in the receive buffer before the out-of-band
    /// mark (0: none, or at the mark, with SS_RCVATMARK).
    pub oobmark: u64,
    /// The send buffer.
    pub snd: SockBuf,
    /// The receive buffer.
    pub rcv: SockBuf,
    /// `so_head`: the listening socket whose queue holds this one.
    pub head: Option<SockId>,
    /// `so_q`: connections ready for accept.
    pub queue: std::collections::VecDeque<SockId>,
    /// `so_qlimit`.
    pub qlimit: i32,
    /// Owner's uid (st_uid of fstat).
    pub uid: u32,
    /// Owner's egid (st_gid).
    pub gid: u32,
    /// Creation time.
    pub ctime: Timespec,
    /// The domain's control block.
    pub pcb: Pcb,
}

impl Socket {
    /// A fresh socket of a domain (buffers unreserved, no state).
    pub fn new(domain: i32, stype: i32, protocol: i32, prflags: u32, pcb: Pcb) -> Socket {
        Socket {
            domain,
            stype,
            protocol,
            prflags,
            state: 0,
            options: 0,
            linger: 0,
            error: 0,
            oobmark: 0,
            snd: SockBuf::default(),
            rcv: SockBuf::default(),
            head: None,
            queue: Default::default(),
            qlimit: 0,
            uid: 0,
            gid: 0,
            ctime: Timespec::default(),
            pcb,
        }
    }

    /// `soreserve`: both buffers and the default low-water marks.
    pub fn reserve(&mut self, snd: u64, rcv: u64) -> bool {
        if !self.snd.reserve(snd) || !self.rcv.reserve(rcv) {
            return false;
        }
        if self.rcv.lowat == 0 {
            self.rcv.lowat = 1;
        }
        if self.snd.lowat == 0 {
            self.snd.lowat = sockbuf::MCLBYTES as i64;
        }
        if self.snd.lowat > self.snd.hiwat {
            self.snd.lowat = self.snd.hiwat;
        }
        true
    }

    /// A PR_ATOMIC protocol (`sosendallatonce`).
    pub fn atomic(&self) -> bool {
        self.prflags & prflags::ATOMIC != 0
    }

    /// `soisconnected` without the queue handling.
    pub fn set_connected(&mut self) {
        self.state &= !(SS_ISCONNECTING | SS_ISDISCONNECTING);
        self.state |= SS_ISCONNECTED;
    }

    /// `soisdisconnected`.
    pub fn set_disconnected(&mut self) {
        self.state &= !(SS_ISCONNECTING | SS_ISCONNECTED | SS_ISDISCONNECTING);
        self.state |= SS_CANTRCVMORE | SS_CANTSENDMORE | SS_ISDISCONNECTED;
    }
}

/// The wait key of a socket: calls blocked on it are retried when it changes.
pub fn sock_key(id: SockId) -> u64 {
    (1 << 61) | id
}

impl SimKernel {
    /// A socket, or EBADF.
    pub fn sock(&self, id: SockId) -> Result<&Socket, Stop> {
        self.t.sockets.get(&id).ok_or(Stop::Errno(EBADF))
    }

    /// A socket mutably, or EBADF.
    pub fn sock_mut(&mut self, id: SockId) -> Result<&mut Socket, Stop> {
        self.t.sockets.get_mut(&id).ok_or(Stop::Errno(EBADF))
    }

    /// Wakes the calls waiting on a socket.
    pub fn sock_wakeup(&mut self, id: SockId) {
        self.bump_key(sock_key(id));
    }

    /// Adds a socket to the table.
    pub fn sock_insert(&mut self, so: Socket) -> SockId {
        let id = self.t.next_sock;
        self.t.next_sock += 1;
        self.t.sockets.insert(id, so);
        id
    }
}

/// Whether a domain is configured in this kernel (`pffinddomain`).
pub fn domain_present(k: &SimKernel, domain: i32) -> bool {
    let c = k.config.components;
    match domain {
        AF_LOCAL => c.has(Component::Local),
        AF_INET => c.has(Component::Inet),
        AF_INET6 => c.has(Component::Inet6),
        AF_ROUTE => c.has(Component::Net),
        _ => false,
    }
}

/// `socreate`: finds the protocol (`pffindproto`/`pffindtype`, with their
/// EAFNOSUPPORT / EPROTOTYPE / EPROTONOSUPPORT answers) and attaches a new
/// socket to it (PRU_ATTACH).
pub fn create(
    k: &mut SimKernel,
    pid: i32,
    domain: i32,
    stype: i32,
    protocol: i32,
) -> Result<SockId, Stop> {
    if !domain_present(k, domain) {
        return err(EAFNOSUPPORT);
    }
    k.check_pool(crate::SOCKET_MEM, ENOBUFS)?;
    let mut so = match domain {
        AF_LOCAL => local::attach(stype, protocol)?,
        AF_INET | AF_INET6 => inet::usrreq::attach(k, domain, stype, protocol)?,
        AF_ROUTE => inet::usrreq::route_attach(stype, protocol)?,
        _ => return err(EAFNOSUPPORT),
    };
    let cred = &k.proc(pid)?.cred;
    so.uid = cred.euid;
    so.gid = cred.egid;
    so.ctime = k.clock.realtime();
    Ok(k.sock_insert(so))
}

/// PRU_BIND.
pub fn bind(k: &mut SimKernel, pid: i32, so: SockId, nam: &[u8]) -> Result<(), Stop> {
    match k.sock(so)?.domain {
        AF_LOCAL => local::bind(k, pid, so, nam),
        AF_INET | AF_INET6 => inet::usrreq::bind(k, so, nam),
        _ => err(EOPNOTSUPP),
    }
}

/// PRU_LISTEN.
pub fn listen(k: &mut SimKernel, so: SockId) -> Result<(), Stop> {
    match k.sock(so)?.domain {
        AF_LOCAL => local::listen(k, so),
        AF_INET | AF_INET6 => inet::usrreq::listen(k, so),
        _ => err(EOPNOTSUPP),
    }
}

/// PRU_CONNECT.
pub fn connect(k: &mut SimKernel, pid: i32, so: SockId, nam: &[u8]) -> Result<(), Stop> {
    match k.sock(so)?.domain {
        AF_LOCAL => local::connect(k, pid, so, nam),
        AF_INET | AF_INET6 => inet::usrreq::connect(k, so, nam),
        _ => err(EOPNOTSUPP),
    }
}

/// PRU_CONNECT2 (socketpair): connects two sockets of one domain.
pub fn connect2(k: &mut SimKernel, a: SockId, b: SockId) -> Result<(), Stop> {
    match k.sock(a)?.domain {
        AF_LOCAL => local::connect2(k, a, b),
        _ => err(EOPNOTSUPP),
    }
}

/// PRU_ACCEPT: the peer's address of an accepted socket.
pub fn accept(k: &mut SimKernel, so: SockId) -> Result<Vec<u8>, Stop> {
    match k.sock(so)?.domain {
        AF_LOCAL => Ok(local::peeraddr(k, so)),
        AF_INET | AF_INET6 => inet::usrreq::accept(k, so),
        _ => err(EOPNOTSUPP),
    }
}

/// PRU_SEND (and PRU_SENDOOB with `oob`): hands a chain of mbufs, an
/// optional address and control message to the protocol.
pub fn send(
    k: &mut SimKernel,
    pid: i32,
    so: SockId,
    mbufs: Vec<sockbuf::Mbuf>,
    nam: Option<&[u8]>,
    control: Option<Control>,
    oob: bool,
) -> Result<(), Stop> {
    match k.sock(so)?.domain {
        AF_LOCAL => local::send(k, pid, so, mbufs, nam, control, oob),
        AF_INET | AF_INET6 => inet::usrreq::send(k, so, mbufs, nam, oob),
        _ => err(EOPNOTSUPP),
    }
}

/// PRU_RCVD: the receiver took data (protocols with PR_WANTRCVD).
pub fn rcvd(k: &mut SimKernel, so: SockId) {
    match k.sock(so).map(|s| s.domain) {
        Ok(AF_LOCAL) => local::rcvd(k, so),
        Ok(AF_INET | AF_INET6) => inet::usrreq::rcvd(k, so),
        _ => {}
    }
}

/// PRU_RCVOOB: TCP's urgent byte (taken unless `peek`); the other
/// protocols keep no out-of-band data (AF_LOCAL answers EOPNOTSUPP).
pub fn rcvoob(k: &mut SimKernel, so: SockId, peek: bool) -> Result<Vec<u8>, Stop> {
    match k.sock(so)?.domain {
        AF_INET | AF_INET6 => inet::usrreq::rcvoob(k, so, peek),
        _ => err(EOPNOTSUPP),
    }
}

/// PRU_SHUTDOWN (the send side; `socantsendmore` included).
pub fn shutdown(k: &mut SimKernel, so: SockId) -> Result<(), Stop> {
    match k.sock(so)?.domain {
        AF_LOCAL => {
            local::shutdown(k, so);
            Ok(())
        }
        AF_INET | AF_INET6 => inet::usrreq::shutdown(k, so),
        _ => err(EOPNOTSUPP),
    }
}

/// PRU_DISCONNECT (connect of a connected connectionless socket).
pub fn disconnect(k: &mut SimKernel, so: SockId) -> Result<(), Stop> {
    match k.sock(so)?.domain {
        AF_LOCAL => {
            local::disconnect(k, so);
            Ok(())
        }
        AF_INET | AF_INET6 => inet::usrreq::disconnect(k, so),
        _ => err(EOPNOTSUPP),
    }
}

/// PRU_SOCKADDR: the socket's own address.
pub fn sockaddr(k: &mut SimKernel, so: SockId) -> Result<Vec<u8>, Stop> {
    match k.sock(so)?.domain {
        AF_LOCAL => Ok(local::sockaddr(k, so)),
        AF_INET | AF_INET6 => inet::usrreq::sockaddr(k, so),
        _ => err(EOPNOTSUPP),
    }
}

/// PRU_PEERADDR: the peer's address (the caller checked the connection).
pub fn peeraddr(k: &mut SimKernel, so: SockId) -> Result<Vec<u8>, Stop> {
    match k.sock(so)?.domain {
        AF_LOCAL => Ok(local::peeraddr(k, so)),
        AF_INET | AF_INET6 => inet::usrreq::peeraddr(k, so),
        _ => err(EOPNOTSUPP),
    }
}

/// A getsockopt or setsockopt request for the protocol (`pr_ctloutput`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtlOp {
    /// PRCO_GETOPT.
    Get,
    /// PRCO_SETOPT with the value's bytes.
    Set(Vec<u8>),
}

/// `pr_ctloutput`: a level other than SOL_SOCKET (or a set the socket
/// layer passes on). Returns the value for a get.
pub fn ctloutput(
    k: &mut SimKernel,
    so: SockId,
    op: CtlOp,
    level: i32,
    name: i32,
) -> Result<Vec<u8>, Stop> {
    match k.sock(so)?.domain {
        AF_LOCAL => local::ctloutput(k, so, op, level, name),
        AF_INET | AF_INET6 => inet::usrreq::ctloutput(k, so, op, level, name),
        _ => err(ENOPROTOOPT),
    }
}

/// PRU_CONTROL: an ioctl the socket layer does not know (not group 'i').
/// AF_LOCAL (`uipc_usrreq`) answers EOPNOTSUPP to every one.
pub fn control(k: &mut SimKernel, so: SockId, _cmd: u32, _data: &mut [u8]) -> Result<(), Stop> {
    match k.sock(so)?.domain {
        AF_INET | AF_INET6 => inet::usrreq::control(),
        _ => err(EOPNOTSUPP),
    }
}

/// PRU_SENSE: the protocol's part of fstat.
pub fn stat(k: &mut SimKernel, so: SockId, st: &mut crate::structs::Stat) {
    match k.sock(so).map(|s| s.domain) {
        Ok(AF_LOCAL) => local::stat(k, so, st),
        Ok(AF_INET | AF_INET6) => inet::usrreq::stat(k, so, st),
        _ => {}
    }
}

/// PRU_DETACH: the protocol lets go of a socket being closed.
pub fn detach(k: &mut SimKernel, so: SockId) {
    match k.sock(so).map(|s| s.domain) {
        Ok(AF_LOCAL) => local::detach(k, so),
        Ok(AF_INET | AF_INET6) => inet::usrreq::detach(k, so),
        _ => {}
    }
}

/// `soclose`: the last reference to a socket is gone. A listener's queued
/// connections are aborted, the protocol detaches, and SCM_RIGHTS files in
/// flight in its buffers are closed.
pub fn close(k: &mut SimKernel, so: SockId) {
    let queued: Vec<SockId> =
        k.t.sockets
            .get_mut(&so)
            .map(|s| s.queue.drain(..).collect())
            .unwrap_or_default();
    for q in queued {
        if let Some(s) = k.t.sockets.get_mut(&q) {
            s.head = None;
        }
        close(k, q);
    }
    detach(k, so);
    let Some(mut s) = k.t.sockets.remove(&so) else {
        return;
    };
    let mut files = s.rcv.flush();
    files.extend(s.snd.flush());
    for f in files {
        k.file_unref(f);
    }
    k.sock_wakeup(so);
}

/// `socantsendmore`.
pub fn cantsendmore(k: &mut SimKernel, so: SockId) {
    if let Some(s) = k.t.sockets.get_mut(&so) {
        s.state |= SS_CANTSENDMORE;
    }
    k.sock_wakeup(so);
}

/// `socantrcvmore`.
pub fn cantrcvmore(k: &mut SimKernel, so: SockId) {
    if let Some(s) = k.t.sockets.get_mut(&so) {
        s.state |= SS_CANTRCVMORE;
    }
    k.sock_wakeup(so);
}

/// `sorflush`: shutdown of the receive side: no more data, what is
/// buffered is dropped (rights in flight closed).
pub fn rflush(k: &mut SimKernel, so: SockId) {
    cantrcvmore(k, so);
    let files =
        k.t.sockets
            .get_mut(&so)
            .map(|s| s.rcv.flush())
            .unwrap_or_default();
    for f in files {
        k.file_unref(f);
    }
}

/// `soo_stat`: what fstat shows of a socket.
pub fn fstat(k: &mut SimKernel, so: SockId) -> Result<crate::structs::Stat, Stop> {
    // NetBSD 7's soo_stat: a zeroed stat with S_IFSOCK (no permission bits,
    // size, owner), then the protocol's PRU_SENSE (the nofs capture: a UDP
    // socket shows mode 0140000 and blksize 0).
    k.sock(so)?;
    let mut st = crate::structs::Stat {
        mode: S_IFSOCK,
        ..Default::default()
    };
    stat(k, so, &mut st);
    Ok(st)
}

/// The errno values of the socket layer (sys/errno.h).
pub mod errno {
    /// EDOM.
    pub const EDOM: i32 = 33;
    /// EINPROGRESS.
    pub const EINPROGRESS: i32 = 36;
    /// EALREADY.
    pub const EALREADY: i32 = 37;
    /// ENOTSOCK.
    pub const ENOTSOCK: i32 = 38;
    /// EDESTADDRREQ.
    pub const EDESTADDRREQ: i32 = 39;
    /// EMSGSIZE.
    pub const EMSGSIZE: i32 = 40;
    /// EPROTOTYPE.
    pub const EPROTOTYPE: i32 = 41;
    /// ENOPROTOOPT.
    pub const ENOPROTOOPT: i32 = 42;
    /// EPROTONOSUPPORT.
    pub const EPROTONOSUPPORT: i32 = 43;
    /// EADDRINUSE.
    pub const EADDRINUSE: i32 = 48;
    /// EADDRNOTAVAIL.
    pub const EADDRNOTAVAIL: i32 = 49;
    /// ECONNABORTED.
    pub const ECONNABORTED: i32 = 53;
    /// ECONNRESET.
    pub const ECONNRESET: i32 = 54;
    /// ENOBUFS.
    pub const ENOBUFS: i32 = 55;
    /// EISCONN.
    pub const EISCONN: i32 = 56;
    /// ENOTCONN.
    pub const ENOTCONN: i32 = 57;
    /// ECONNREFUSED.
    pub const ECONNREFUSED: i32 = 61;
    /// ETIMEDOUT.
    pub const ETIMEDOUT: i32 = 60;
    /// EHOSTUNREACH.
    pub const EHOSTUNREACH: i32 = 65;
}

/// `sopoll`: readable (`soreadable`: data at the low-water mark, EOF, a
/// queued connection or an error) and writable (`sowritable`: room at the
/// low-water mark on a connected or connectionless socket, or no more
/// sending, or an error).
pub fn poll(k: &SimKernel, so: SockId, events: i32) -> i32 {
    const POLLIN: i32 = 0x1;
    const POLLPRI: i32 = 0x2;
    const POLLOUT: i32 = 0x4;
    const POLLRDNORM: i32 = 0x40;
    const POLLRDBAND: i32 = 0x80;
    let Some(s) = k.t.sockets.get(&so) else {
        return 0;
    };
    let mut revents = 0;
    let readable = s.rcv.cc as i64 >= s.rcv.lowat
        || s.state & SS_CANTRCVMORE != 0
        || !s.queue.is_empty()
        || s.error != 0;
    let writable = (s.snd.space() >= s.snd.lowat
        && (s.state & SS_ISCONNECTED != 0 || s.prflags & prflags::CONNREQUIRED == 0))
        || s.state & SS_CANTSENDMORE != 0
        || s.error != 0;
    if readable {
        revents |= events & (POLLIN | POLLRDNORM);
    }
    if writable {
        revents |= events & POLLOUT;
    }
    // sodopoll: so_oobmark || SS_RCVATMARK.
    if s.oobmark != 0 || s.state & SS_RCVATMARK != 0 {
        revents |= events & (POLLPRI | POLLRDBAND);
    }
    revents
}
