//! Socket creation and connection calls (sys/kern/uipc_syscalls.c):
//! __socket30, socketpair, bind, connect, listen, accept, getsockname,
//! getpeername, shutdown. Without the network component none of them is
//! in the kernel: a rump kernel without librumpnet answers ENOSYS.

use crate::consts::*;
use crate::net::errno::*;
use crate::net::{self, SockId, SO_ACCEPTCONN, SS_CANTRCVMORE, SS_ISCONNECTED, SS_ISCONNECTING};
use crate::proc::{FileId, FileKind};
use crate::sys::io::file_of;
use crate::{err, Component, Ctx, SimKernel, Stop, SysResult};

/// ENOSYS unless the kernel has the socket layer.
pub(crate) fn need_net(k: &SimKernel) -> Result<(), Stop> {
    if k.config.components.has(Component::Net) {
        Ok(())
    } else {
        err(ENOSYS)
    }
}

/// `fd_getsock`: the socket behind a descriptor (EBADF, ENOTSOCK).
pub(crate) fn getsock(k: &SimKernel, pid: i32, fd: i32) -> Result<(FileId, SockId), Stop> {
    let id = file_of(k, pid, fd)?;
    match k.t.files.get(&id).map(|f| f.kind) {
        Some(FileKind::Socket(so)) => Ok((id, so)),
        _ => err(ENOTSOCK),
    }
}

/// `sockargs(MT_SONAME)`: a name of at most 255 bytes, copied in, its
/// sa_len set to the length given.
pub(crate) fn sockargs_name(c: &mut Ctx<'_, '_>, addr: u64, len: u64) -> Result<Vec<u8>, Stop> {
    // Longer than sa_len can say, or no room for a family and anything
    // after it: EINVAL before anything is copied (the captures show no
    // COPYIN for lengths 1 and 2).
    if len > 255 || len <= 2 {
        return err(EINVAL);
    }
    let mut b = c.copyin(addr, len)?;
    if let Some(first) = b.first_mut() {
        *first = len as u8;
    }
    Ok(b)
}

/// Makes the open file of a new socket and gives it the lowest descriptor.
fn install(k: &mut SimKernel, pid: i32, so: SockId, flags: i32) -> Result<i32, Stop> {
    let mut fl = O_RDWR;
    if flags & net::SOCK_NONBLOCK != 0 {
        fl |= O_NONBLOCK;
    }
    if flags & net::SOCK_NOSIGPIPE != 0 {
        fl |= O_NOSIGPIPE;
    }
    let f = k.t.new_file(FileKind::Socket(so), fl);
    match k.install_fd(pid, f, flags & net::SOCK_CLOEXEC != 0) {
        Ok(fd) => Ok(fd),
        Err(e) => {
            k.file_unref(f);
            Err(e)
        }
    }
}

/// `__socket30(domain, type, protocol)` as `fsocreate`.
pub(crate) fn socket(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    need_net(k)?;
    let (domain, ty, proto) = (c.int(0), c.int(1), c.int(2));
    let flags = ty & net::SOCK_FLAGS_MASK;
    let so = net::create(k, c.pid, domain, ty & !net::SOCK_FLAGS_MASK, proto)?;
    let fd = match install(k, c.pid, so, flags) {
        Ok(fd) => fd,
        Err(e) => {
            if k.t.sockets.contains_key(&so) {
                net::close(k, so);
            }
            return Err(e);
        }
    };
    Ok((i64::from(fd), 0))
}

/// `socketpair(domain, type, protocol, sv)`: two sockets, connected
/// (a datagram pair both ways), the descriptors copied out.
pub(crate) fn socketpair(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    need_net(k)?;
    let (domain, ty, proto, sv) = (c.int(0), c.int(1), c.int(2), c.word(3));
    let flags = ty & net::SOCK_FLAGS_MASK;
    let ty = ty & !net::SOCK_FLAGS_MASK;
    let so1 = net::create(k, c.pid, domain, ty, proto)?;
    let so2 = match net::create(k, c.pid, domain, ty, proto) {
        Ok(s) => s,
        Err(e) => {
            net::close(k, so1);
            return Err(e);
        }
    };
    let fd1 = match install(k, c.pid, so1, flags) {
        Ok(fd) => fd,
        Err(e) => {
            net::close(k, so1);
            net::close(k, so2);
            return Err(e);
        }
    };
    let fd2 = match install(k, c.pid, so2, flags) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = k.close_fd(c.pid, fd1);
            net::close(k, so2);
            return Err(e);
        }
    };
    let mut r = net::connect2(k, so1, so2);
    if r.is_ok() && ty == net::SOCK_DGRAM {
        r = net::connect2(k, so2, so1);
    }
    let r = r.and_then(|_| {
        let mut out = fd1.to_le_bytes().to_vec();
        out.extend_from_slice(&fd2.to_le_bytes());
        c.copyout(sv, out)
    });
    if let Err(e) = r {
        let _ = k.close_fd(c.pid, fd1);
        let _ = k.close_fd(c.pid, fd2);
        return Err(e);
    }
    Ok((0, 0))
}

/// `bind(s, name, namelen)`: the name is copied in before the descriptor is looked at.
pub(crate) fn bind(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    need_net(k)?;
    let nam = sockargs_name(c, c.word(1), c.word(2) & 0xffff_ffff)?;
    let (_, so) = getsock(k, c.pid, c.int(0))?;
    net::bind(k, c.pid, so, &nam)?;
    Ok((0, 0))
}

/// `connect(s, name, namelen)` as `do_sys_connect` and `soconnect`.
pub(crate) fn connect(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    need_net(k)?;
    let nam = sockargs_name(c, c.word(1), c.word(2) & 0xffff_ffff)?;
    let (_, so) = getsock(k, c.pid, c.int(0))?;
    let s = k.sock(so)?;
    if s.state & SS_ISCONNECTING != 0 {
        return err(EALREADY);
    }
    if s.options & SO_ACCEPTCONN != 0 {
        return err(EOPNOTSUPP);
    }
    if s.state & (SS_ISCONNECTED | SS_ISCONNECTING) != 0 {
        if s.prflags & net::prflags::CONNREQUIRED != 0 {
            return err(EISCONN);
        }
        // sodisconnect first; it cannot fail for a connected socket.
        net::disconnect(k, so)?;
    }
    let r = net::connect(k, c.pid, so, &nam);
    let s = k.sock_mut(so)?;
    s.state &= !SS_ISCONNECTING;
    r?;
    let e = std::mem::take(&mut s.error);
    if e != 0 {
        return err(e);
    }
    Ok((0, 0))
}

/// `listen(s, backlog)` as `solisten`.
pub(crate) fn listen(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    need_net(k)?;
    let (_, so) = getsock(k, c.pid, c.int(0))?;
    let backlog = c.int(1);
    let s = k.sock(so)?;
    if s.state & (SS_ISCONNECTED | SS_ISCONNECTING | net::SS_ISDISCONNECTING) != 0 {
        return err(EINVAL);
    }
    net::listen(k, so)?;
    let s = k.sock_mut(so)?;
    if s.queue.is_empty() {
        s.options |= SO_ACCEPTCONN;
    }
    s.qlimit = backlog.clamp(0, net::SOMAXCONN);
    Ok((0, 0))
}

/// `copyout_sockname` with MSG_LENUSRSPACE: the length is copied in, at
/// most that much of the name copied out, and the length written back.
/// `lenbuf` is the length already copied in.
pub(crate) fn copyout_sockname(
    c: &mut Ctx<'_, '_>,
    asa: u64,
    alen: u64,
    lenbuf: &[u8],
    name: Option<&[u8]>,
) -> Result<(), Stop> {
    let len = i32::from_le_bytes([lenbuf[0], lenbuf[1], lenbuf[2], lenbuf[3]]);
    if len < 0 {
        return err(EINVAL);
    }
    let n = match name {
        None => 0,
        Some(nm) => {
            let n = (len as usize).min(nm.len());
            c.copyout(asa, nm[..n].to_vec())?;
            n
        }
    };
    c.copyout(alen, (n as i32).to_le_bytes().to_vec())
}

/// `accept(s, name, anamelen)` as `do_sys_accept`: the listener's checks
/// (EOPNOTSUPP without PR_LISTEN, EINVAL when not listening, EAGAIN when
/// non-blocking with nothing queued), a wait for a connection, then the
/// new descriptor (with the listener's file flags) and the peer's name.
pub(crate) fn accept(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    need_net(k)?;
    // fd_allocfile comes first: a failure still reports the descriptor it
    // had reserved in retval[0].
    let (_, so) = getsock(k, c.pid, c.int(0))?;
    let p = k.proc(c.pid)?;
    let Some(newfd) = p.lowest_free(0, p.nofile()) else {
        return err(EMFILE);
    };
    do_accept(k, c, so).map_err(|e| match e {
        Stop::Errno(e) => Stop::ErrnoWith(e, [i64::from(newfd), 0]),
        other => other,
    })
}

fn do_accept(k: &mut SimKernel, c: &mut Ctx<'_, '_>, so: SockId) -> SysResult {
    let (name, anamelen) = (c.word(1), c.word(2));
    let (lid, _) = getsock(k, c.pid, c.int(0))?;
    let s = k.sock(so)?;
    if s.prflags & net::prflags::LISTEN == 0 {
        return err(EOPNOTSUPP);
    }
    if s.options & SO_ACCEPTCONN == 0 {
        return err(EINVAL);
    }
    let fflags = k.t.files.get(&lid).map_or(O_RDWR, |f| f.flags);
    if fflags & O_NONBLOCK != 0 && s.queue.is_empty() {
        return err(EAGAIN);
    }
    if s.queue.is_empty() && s.error == 0 {
        if s.state & SS_CANTRCVMORE != 0 {
            k.sock_mut(so)?.error = ECONNABORTED;
        } else {
            return Err(Stop::BlockedOn(net::sock_key(so)));
        }
    }
    let s = k.sock_mut(so)?;
    if s.error != 0 {
        return err(std::mem::take(&mut s.error));
    }
    // The name's length is read once the connection is there.
    let lenbuf = if name != 0 {
        Some(c.copyin(anamelen, 4)?)
    } else {
        None
    };
    let s = k.sock_mut(so)?;
    let Some(so2) = s.queue.pop_front() else {
        return err(EAGAIN);
    };
    if let Some(n) = k.t.sockets.get_mut(&so2) {
        n.head = None;
    }
    let peer = net::accept(k, so2)?;
    let f = k.t.new_file(
        FileKind::Socket(so2),
        fflags & (O_ACCMODE | O_NONBLOCK | O_NOSIGPIPE),
    );
    let fd = match k.install_fd(c.pid, f, false) {
        Ok(fd) => fd,
        Err(e) => {
            k.file_unref(f);
            return Err(e);
        }
    };
    if let Some(lb) = lenbuf {
        if let Err(e) = copyout_sockname(c, name, anamelen, &lb, Some(&peer)) {
            let _ = k.close_fd(c.pid, fd);
            return Err(e);
        }
    }
    Ok((i64::from(fd), 0))
}

/// getsockname and getpeername (`do_sys_getsockname`): the descriptor,
/// ENOTCONN for the peer of an unconnected socket, then the name out.
fn getname(k: &mut SimKernel, c: &mut Ctx<'_, '_>, peer: bool) -> SysResult {
    need_net(k)?;
    let (asa, alen) = (c.word(1), c.word(2));
    let (_, so) = getsock(k, c.pid, c.int(0))?;
    if peer && k.sock(so)?.state & SS_ISCONNECTED == 0 {
        return err(ENOTCONN);
    }
    if asa == 0 {
        return Ok((0, 0));
    }
    let lenbuf = c.copyin(alen, 4)?;
    let nam = if peer {
        net::peeraddr(k, so)?
    } else {
        net::sockaddr(k, so)?
    };
    copyout_sockname(c, asa, alen, &lenbuf, Some(&nam))?;
    Ok((0, 0))
}

/// `getsockname(fd, asa, alen)`.
pub(crate) fn getsockname(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    getname(k, c, false)
}

/// `getpeername(fd, asa, alen)`.
pub(crate) fn getpeername(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    getname(k, c, true)
}

/// `shutdown(s, how)` as `soshutdown`: SHUT_RD flushes the receive side,
/// SHUT_WR is PRU_SHUTDOWN; any other `how` EINVAL.
pub(crate) fn shutdown(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    need_net(k)?;
    let (_, so) = getsock(k, c.pid, c.int(0))?;
    let how = c.int(1);
    if !(0..=2).contains(&how) {
        return err(EINVAL);
    }
    if how != 1 {
        net::rflush(k, so);
    }
    if how != 0 {
        net::shutdown(k, so)?;
    }
    Ok((0, 0))
}
