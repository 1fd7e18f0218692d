//! AF_LOCAL sockets (sys/kern/uipc_usrreq.c): stream, datagram and
//! seqpacket; names in the file system; connections through a listener's
//! queue; the sender's back-pressure on a stream (its send buffer's marks
//! shrink by what the peer holds); SCM_RIGHTS.

use super::errno::*;
use super::sockbuf::{Control, Mbuf};
use super::*;
use crate::consts::*;
use crate::sys::file::{
    create as vfs_create, cred, lookup, lookup_for, may_modify_dir, name_ok, Op,
};
use crate::vfs::{NodeId, NodeKind};

/// `unpst_sendspace` / `unpst_recvspace`.
pub const STREAM_SPACE: u64 = 4096;
/// `unpdg_sendspace`.
pub const DGRAM_SENDSPACE: u64 = 2560;
/// `unpdg_recvspace`.
pub const DGRAM_RECVSPACE: u64 = 4096;

/// LOCAL_CREDS (level 0).
pub const LOCAL_CREDS: i32 = 0x0004;
/// LOCAL_CONNWAIT.
pub const LOCAL_CONNWAIT: i32 = 0x0002;
/// LOCAL_PEEREID.
pub const LOCAL_PEEREID: i32 = 0x0003;

/// UNP_WANTCRED.
pub const UNP_WANTCRED: u32 = 0x0001;
/// UNP_CONNWAIT.
pub const UNP_CONNWAIT: u32 = 0x0002;
/// UNP_EIDSVALID.
pub const UNP_EIDSVALID: u32 = 0x0004;

/// `sun_noname`: the name of an unbound socket.
pub const NONAME: [u8; 2] = [2, AF_LOCAL as u8];

/// `struct unpcb`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnpCb {
    /// `unp_addr`: the bound (or, for an accepted socket, the listener's) name.
    pub addr: Option<Vec<u8>>,
    /// `unp_vnode`: the socket node it is bound to.
    pub vnode: Option<NodeId>,
    /// `unp_conn`: the peer.
    pub conn: Option<SockId>,
    /// `unp_refs`: datagram sockets connected to this one.
    pub refs: Vec<SockId>,
    /// `unp_cc`: the receive buffer's count when the sender last looked.
    pub cc: usize,
    /// `unp_mbcnt`.
    pub mbcnt: usize,
    /// UNP_* flags.
    pub flags: u32,
    /// `unp_connid`: pid, euid, egid of the peer at connect time.
    pub connid: (i32, u32, u32),
    /// `unp_ino`: the fake inode number fstat shows (0 until asked).
    pub ino: u64,
}

fn unp(k: &SimKernel, so: SockId) -> Option<&UnpCb> {
    match &k.t.sockets.get(&so)?.pcb {
        Pcb::Local(u) => Some(u),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

fn unp_mut(k: &mut SimKernel, so: SockId) -> Option<&mut UnpCb> {
    match &mut k.t.sockets.get_mut(&so)?.pcb {
        Pcb::Local(u) => Some(u),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// PRU_ATTACH (`unp_attach`) after `socreate` found the protocol: the
/// protocol must be 0 and the type one of the three.
pub fn attach(stype: i32, protocol: i32) -> Result<Socket, Stop> {
    use prflags::*;
    let flags = match stype {
        SOCK_STREAM => CONNREQUIRED | WANTRCVD | RIGHTS | LISTEN,
        SOCK_DGRAM => ATOMIC | ADDR | RIGHTS,
        SOCK_SEQPACKET => ATOMIC | CONNREQUIRED | WANTRCVD | RIGHTS | LISTEN,
        _ if protocol != 0 => return err(EPROTONOSUPPORT),
        0 => return err(EPROTONOSUPPORT),
        _ => return err(EPROTOTYPE),
    };
    if protocol != 0 {
        return err(EPROTONOSUPPORT);
    }
    let mut so = Socket::new(AF_LOCAL, stype, 0, flags, Pcb::Local(UnpCb::default()));
    let (snd, rcv) = if stype == SOCK_DGRAM {
        (DGRAM_SENDSPACE, DGRAM_RECVSPACE)
    } else {
        (STREAM_SPACE, STREAM_SPACE)
    };
    so.reserve(snd, rcv);
    Ok(so)
}

/// The path of a socket name (up to its first NUL); EINVAL when the name
/// holds no path at all.
fn path_of(nam: &[u8]) -> Result<Vec<u8>, Stop> {
    if nam.len() <= 2 {
        return err(EINVAL);
    }
    let p = &nam[2..];
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    Ok(p[..end].to_vec())
}

/// `unp_bind`: creates the socket node (mode ACCESSPERMS less the umask).
pub fn bind(k: &mut SimKernel, pid: i32, so: SockId, nam: &[u8]) -> Result<(), Stop> {
    if unp(k, so).is_some_and(|u| u.vnode.is_some()) {
        return err(EINVAL);
    }
    let path = path_of(nam)?;
    let cr = cred(k, pid)?;
    let r = lookup_for(k, pid, AT_FDCWD, &path, true, Op::Create)?;
    if r.node.is_some() {
        return err(EADDRINUSE);
    }
    if r.trailing_slash {
        return err(ENOENT);
    }
    name_ok(k, r.parent, &r.name)?;
    may_modify_dir(k, r.parent, &cr)?;
    let umask = k.proc(pid)?.umask;
    let node = vfs_create(k, r.parent, &r.name, NodeKind::Socket, 0o777 & !umask, &cr)?;
    k.t.vsock.insert(node, so);
    if let Some(u) = unp_mut(k, so) {
        u.vnode = Some(node);
        u.addr = Some(nam.to_vec());
    }
    Ok(())
}

/// PRU_LISTEN: only a bound socket listens.
pub fn listen(k: &mut SimKernel, so: SockId) -> Result<(), Stop> {
    if unp(k, so).is_none_or(|u| u.vnode.is_none()) {
        return err(EINVAL);
    }
    Ok(())
}

/// The socket a name leads to (`unp_connect`'s lookup): ENOENT and the
/// other namei errors, ENOTSOCK for a node that is no socket, ECONNREFUSED
/// when no socket is bound to it, EPROTOTYPE for another socket type.
fn target(k: &SimKernel, pid: i32, so: SockId, nam: &[u8]) -> Result<SockId, Stop> {
    let path = path_of(nam)?;
    let r = lookup(k, pid, AT_FDCWD, &path, true)?;
    let node = r.node.ok_or(Stop::Errno(ENOENT))?;
    let n = k.vfs.nodes.get(&node).ok_or(Stop::Errno(ENOENT))?;
    if !matches!(n.kind, NodeKind::Socket) {
        return err(ENOTSOCK);
    }
    let cr = cred(k, pid)?;
    if !k.vfs.permits(node, &cr, W_OK) {
        return err(EACCES);
    }
    let so2 = *k.t.vsock.get(&node).ok_or(Stop::Errno(ECONNREFUSED))?;
    if k.sock(so2)?.stype != k.sock(so)?.stype {
        return err(EPROTOTYPE);
    }
    Ok(so2)
}

/// `unp_connect`: a connection-oriented socket connects through the
/// listener's queue (`sonewconn`: more than 3/2 of the backlog queued is
/// ECONNREFUSED); a datagram socket just names its peer.
pub fn connect(k: &mut SimKernel, pid: i32, so: SockId, nam: &[u8]) -> Result<(), Stop> {
    let mut so2 = target(k, pid, so, nam)?;
    if k.sock(so)?.prflags & prflags::CONNREQUIRED != 0 {
        let head = k.sock(so2)?;
        if head.options & SO_ACCEPTCONN == 0
            || head.queue.len() as i64 > 3 * i64::from(head.qlimit) / 2
        {
            return err(ECONNREFUSED);
        }
        let so3 = sonewconn(k, so2)?;
        let (addr, flags) = unp(k, so2).map_or((None, 0), |u| (u.addr.clone(), u.flags));
        let cr = k.proc(pid)?.cred.clone();
        if let Some(u3) = unp_mut(k, so3) {
            u3.addr = addr;
            u3.flags = flags | UNP_EIDSVALID;
            u3.connid = (pid, cr.euid, cr.egid);
        }
        so2 = so3;
    }
    connect2(k, so, so2)
}

/// `sonewconn`: a new socket like the listener, in its queue.
fn sonewconn(k: &mut SimKernel, head: SockId) -> Result<SockId, Stop> {
    // unp_connect: a sonewconn that fails (here: no pool room) is ECONNREFUSED
    k.check_pool(crate::SOCKET_MEM, ECONNREFUSED)?;
    let h = k.sock(head)?;
    let mut so = Socket::new(
        h.domain,
        h.stype,
        h.protocol,
        h.prflags,
        Pcb::Local(UnpCb::default()),
    );
    so.options = h.options & !SO_ACCEPTCONN;
    so.linger = h.linger;
    so.uid = h.uid;
    so.gid = h.gid;
    so.ctime = k.clock.realtime();
    let (snd, rcv) = (h.snd.hiwat as u64, h.rcv.hiwat as u64);
    let (slo, rlo, sto, rto) = (h.snd.lowat, h.rcv.lowat, h.snd.timeo, h.rcv.timeo);
    so.reserve(snd, rcv);
    so.snd.lowat = slo;
    so.rcv.lowat = rlo;
    so.snd.timeo = sto;
    so.rcv.timeo = rto;
    so.head = Some(head);
    let id = k.sock_insert(so);
    k.sock_mut(head)?.queue.push_back(id);
    k.sock_wakeup(head);
    Ok(id)
}

/// `unp_connect2`.
pub fn connect2(k: &mut SimKernel, so: SockId, so2: SockId) -> Result<(), Stop> {
    let stype = k.sock(so)?.stype;
    if k.sock(so2)?.stype != stype {
        return err(EPROTOTYPE);
    }
    if let Some(u) = unp_mut(k, so) {
        u.conn = Some(so2);
    }
    if stype == SOCK_DGRAM {
        if let Some(u2) = unp_mut(k, so2) {
            u2.refs.push(so);
        }
        k.sock_mut(so)?.set_connected();
    } else {
        if let Some(u2) = unp_mut(k, so2) {
            u2.conn = Some(so);
        }
        k.sock_mut(so)?.set_connected();
        k.sock_mut(so2)?.set_connected();
    }
    k.sock_wakeup(so);
    k.sock_wakeup(so2);
    Ok(())
}

/// `unp_disconnect`.
pub fn disconnect(k: &mut SimKernel, so: SockId) {
    let Some(so2) = unp_mut(k, so).and_then(|u| u.conn.take()) else {
        return;
    };
    let stype = k.t.sockets.get(&so).map_or(0, |s| s.stype);
    if stype == SOCK_DGRAM {
        if let Some(u2) = unp_mut(k, so2) {
            u2.refs.retain(|r| *r != so);
        }
        if let Some(s) = k.t.sockets.get_mut(&so) {
            s.state &= !SS_ISCONNECTED;
        }
    } else {
        if let Some(s) = k.t.sockets.get_mut(&so) {
            s.set_disconnected();
        }
        if let Some(u2) = unp_mut(k, so2) {
            u2.conn = None;
        }
        if let Some(s) = k.t.sockets.get_mut(&so2) {
            s.set_disconnected();
        }
    }
    k.sock_wakeup(so);
    k.sock_wakeup(so2);
}

/// `unp_detach`: the name's node forgets the socket, the peer is
/// disconnected, and datagram sockets connected to it get ECONNRESET.
pub fn detach(k: &mut SimKernel, so: SockId) {
    if let Some(node) = unp_mut(k, so).and_then(|u| u.vnode.take()) {
        k.t.vsock.remove(&node);
    }
    disconnect(k, so);
    let refs = unp_mut(k, so)
        .map(|u| std::mem::take(&mut u.refs))
        .unwrap_or_default();
    for r in refs {
        if let Some(s) = k.t.sockets.get_mut(&r) {
            s.error = ECONNRESET;
        }
        // unp_disconnect of the referring socket (this one's refs are gone).
        if let Some(u) = unp_mut(k, r) {
            u.conn = None;
        }
        if let Some(s) = k.t.sockets.get_mut(&r) {
            s.state &= !SS_ISCONNECTED;
        }
        k.sock_wakeup(r);
    }
    if let Some(s) = k.t.sockets.get_mut(&so) {
        s.set_disconnected();
    }
}

/// PRU_SHUTDOWN: no more sending; a stream's peer reads EOF.
pub fn shutdown(k: &mut SimKernel, so: SockId) {
    cantsendmore(k, so);
    let stype = k.t.sockets.get(&so).map_or(0, |s| s.stype);
    if stype != SOCK_DGRAM {
        if let Some(peer) = unp(k, so).and_then(|u| u.conn) {
            cantrcvmore(k, peer);
        }
    }
}

/// PRU_SOCKADDR.
pub fn sockaddr(k: &SimKernel, so: SockId) -> Vec<u8> {
    unp(k, so)
        .and_then(|u| u.addr.clone())
        .unwrap_or_else(|| NONAME.to_vec())
}

/// PRU_PEERADDR (and PRU_ACCEPT): the peer's name.
pub fn peeraddr(k: &SimKernel, so: SockId) -> Vec<u8> {
    unp(k, so)
        .and_then(|u| u.conn)
        .map_or_else(|| NONAME.to_vec(), |p| sockaddr(k, p))
}

/// `unp_internalize`: the descriptors of an SCM_RIGHTS message become open
/// files in flight (EBADF for one that is not open).
fn internalize(k: &mut SimKernel, pid: i32, control: Control) -> Result<Control, Stop> {
    let Control::Other(raw) = control else {
        return Ok(control);
    };
    if raw.len() < 16 {
        return err(EINVAL);
    }
    let w = |i: usize| i32::from_le_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]);
    let (len, level, typ) = (w(0) as usize, w(4), w(8));
    if typ != SCM_RIGHTS || level != SOL_SOCKET || len > raw.len() || len < 16 {
        return err(EINVAL);
    }
    let nfds = (len - 16) / 4;
    let p = k.proc(pid)?;
    let mut files = Vec::with_capacity(nfds);
    for i in 0..nfds {
        let fd = w(16 + 4 * i);
        files.push(p.fds.get(&fd).map(|f| f.file).ok_or(Stop::Errno(EBADF))?);
    }
    for f in &files {
        k.file_ref(*f);
    }
    Ok(Control::Rights(files))
}

/// PRU_SEND / PRU_SENDOOB.
pub fn send(
    k: &mut SimKernel,
    pid: i32,
    so: SockId,
    mbufs: Vec<Mbuf>,
    nam: Option<&[u8]>,
    control: Option<Control>,
    oob: bool,
) -> Result<(), Stop> {
    if oob {
        return err(EOPNOTSUPP);
    }
    let control = match control {
        Some(c) => Some(internalize(k, pid, c)?),
        None => None,
    };
    let r = send_internalized(k, pid, so, mbufs, nam, control.clone());
    if r.is_err() {
        if let Some(Control::Rights(files)) = control {
            for f in files {
                k.file_unref(f);
            }
        }
    }
    r
}

fn send_internalized(
    k: &mut SimKernel,
    pid: i32,
    so: SockId,
    mbufs: Vec<Mbuf>,
    nam: Option<&[u8]>,
    control: Option<Control>,
) -> Result<(), Stop> {
    let s = k.sock(so)?;
    let stype = s.stype;
    if stype == SOCK_DGRAM {
        let peer = match nam {
            Some(_) if s.state & SS_ISCONNECTED != 0 => return err(EISCONN),
            Some(n) => target(k, pid, so, n)?,
            None => unp(k, so)
                .and_then(|u| u.conn)
                .ok_or(Stop::Errno(ENOTCONN))?,
        };
        return output(k, so, peer, mbufs, control);
    }
    let peer = unp(k, so)
        .and_then(|u| u.conn)
        .ok_or(Stop::Errno(ENOTCONN))?;
    let rcv = &mut k.sock_mut(peer)?.rcv;
    let len: usize = mbufs.iter().map(|m| m.data.len()).sum();
    match control {
        Some(c) => {
            // sbappendcontrol: no room drops the message (and its rights).
            if (len + c.len()) as i64 > rcv.space() {
                if let Control::Rights(files) = c {
                    for f in files {
                        k.file_unref(f);
                    }
                }
                return Ok(());
            }
            rcv.append_record(None, Some(c), mbufs, false);
        }
        None if stype == SOCK_SEQPACKET => rcv.append_record(None, None, mbufs, true),
        None => rcv.append_stream(mbufs),
    }
    let (cc, mbcnt) = (rcv.cc, rcv.mbcnt);
    let (old_cc, old_mb) = unp(k, peer).map_or((0, 0), |u| (u.cc, u.mbcnt));
    if let Some(u) = unp_mut(k, peer) {
        u.cc = cc;
        u.mbcnt = mbcnt;
    }
    let snd = &mut k.sock_mut(so)?.snd;
    snd.mbmax -= mbcnt as i64 - old_mb as i64;
    snd.hiwat -= cc as i64 - old_cc as i64;
    k.sock_wakeup(peer);
    Ok(())
}

/// `unp_output`: a datagram with the sender's name into the peer's buffer;
/// ENOBUFS when it does not fit.
fn output(
    k: &mut SimKernel,
    so: SockId,
    peer: SockId,
    mbufs: Vec<Mbuf>,
    control: Option<Control>,
) -> Result<(), Stop> {
    let name = sockaddr(k, so);
    let len: usize = mbufs.iter().map(|m| m.data.len()).sum();
    let clen = control.as_ref().map_or(0, |c| c.len());
    let rcv = &mut k.sock_mut(peer)?.rcv;
    if (name.len() + len + clen) as i64 > rcv.space() {
        rcv.overflowed += 1;
        if let Some(Control::Rights(files)) = control {
            for f in files {
                k.file_unref(f);
            }
        }
        return err(ENOBUFS);
    }
    rcv.append_record(Some(name), control, mbufs, false);
    k.sock_wakeup(peer);
    Ok(())
}

/// PRU_RCVD: the receiver took data; its peer's send marks grow back.
pub fn rcvd(k: &mut SimKernel, so: SockId) {
    let Some(s) = k.t.sockets.get(&so) else {
        return;
    };
    if s.stype == SOCK_DGRAM {
        return;
    }
    let (cc, mbcnt) = (s.rcv.cc, s.rcv.mbcnt);
    let Some(u) = unp_mut(k, so) else { return };
    let Some(peer) = u.conn else { return };
    let (old_cc, old_mb) = (u.cc, u.mbcnt);
    u.cc = cc;
    u.mbcnt = mbcnt;
    if let Some(p) = k.t.sockets.get_mut(&peer) {
        p.snd.mbmax += old_mb as i64 - mbcnt as i64;
        p.snd.hiwat += old_cc as i64 - cc as i64;
    }
    k.sock_wakeup(peer);
}

/// `uipc_ctloutput`: level 0 (SOL_LOCAL) options; any other level ENOPROTOOPT.
pub fn ctloutput(
    k: &mut SimKernel,
    so: SockId,
    op: CtlOp,
    level: i32,
    name: i32,
) -> Result<Vec<u8>, Stop> {
    if level != 0 {
        return err(ENOPROTOOPT);
    }
    let u = unp(k, so).cloned().unwrap_or_default();
    match op {
        CtlOp::Get => match name {
            LOCAL_PEEREID if u.flags & UNP_EIDSVALID != 0 => {
                let mut b = u.connid.0.to_le_bytes().to_vec();
                b.extend_from_slice(&u.connid.1.to_le_bytes());
                b.extend_from_slice(&u.connid.2.to_le_bytes());
                Ok(b)
            }
            LOCAL_PEEREID => err(EINVAL),
            LOCAL_CREDS => Ok(i32::from(u.flags & UNP_WANTCRED != 0)
                .to_le_bytes()
                .to_vec()),
            _ => err(ENOPROTOOPT),
        },
        CtlOp::Set(v) => {
            let bit = match name {
                LOCAL_CREDS => UNP_WANTCRED,
                LOCAL_CONNWAIT => UNP_CONNWAIT,
                _ => return err(ENOPROTOOPT),
            };
            let on = super::sosend::getint(&v)? != 0;
            if let Some(u) = unp_mut(k, so) {
                if on {
                    u.flags |= bit;
                } else {
                    u.flags &= !bit;
                }
            }
            Ok(Vec::new())
        }
    }
}

/// PRU_SENSE: st_blksize (the send buffer, plus what a stream peer holds),
/// NODEV, a fake inode number, the creation time.
pub fn stat(k: &mut SimKernel, so: SockId, st: &mut crate::structs::Stat) {
    let Some(s) = k.t.sockets.get(&so) else {
        return;
    };
    let mut blksize = s.snd.hiwat;
    let ctime = s.ctime;
    let stype = s.stype;
    let peer = unp(k, so).and_then(|u| u.conn);
    if stype != SOCK_DGRAM {
        if let Some(p) = peer.and_then(|p| k.t.sockets.get(&p)) {
            blksize += p.rcv.cc as i64;
        }
    }
    let ino = match unp(k, so).map(|u| u.ino) {
        Some(0) | None => {
            let n = k.t.next_unp_ino;
            k.t.next_unp_ino += 1;
            if let Some(u) = unp_mut(k, so) {
                u.ino = n;
            }
            n
        }
        Some(n) => n,
    };
    st.blksize = blksize as i32;
    st.dev = u64::MAX;
    st.ino = ino;
    st.atime = ctime;
    st.mtime = ctime;
    st.ctime = ctime;
}
