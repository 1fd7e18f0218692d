//! Data on sockets (sys/kern/uipc_syscalls.c, sys/kern/sys_socket.c):
//! sendto, recvfrom, sendmsg, recvmsg, and what read, write, readv, writev
//! and ioctl do on a socket (`soo_read`, `soo_write`, `soo_ioctl`).

use crate::consts::*;
use crate::net;
use crate::proc::{FileId, FileKind};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

/// FIONREAD: `_IOR('f', 127, int)`.
const FIONREAD: u32 = 0x4004_667f;
/// FIONWRITE: `_IOR('f', 121, int)`.
const FIONWRITE: u32 = 0x4004_6679;
/// FIONSPACE: `_IOR('f', 120, int)`.
const FIONSPACE: u32 = 0x4004_6678;
const IOC_OUT: u32 = 0x4000_0000;
const IOC_IN: u32 = 0x8000_0000;

/// `soo_ioctl` behind `sys_ioctl`'s argument handling: FIONREAD (bytes
/// in the receive buffer), FIONWRITE, FIONSPACE; group 'i' goes to the
/// interface ioctls, anything else to the protocol (PRU_CONTROL).
pub(crate) fn ioctl(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    id: FileId,
    com: u32,
    data: u64,
) -> SysResult {
    let Some(FileKind::Socket(so)) = k.t.files.get(&id).map(|f| f.kind) else {
        return err(EBADF);
    };
    let size = ((com >> 16) & 0x1fff) as u64;
    let mut buf = if com & IOC_IN != 0 && size > 0 {
        c.copyin(data, size)?
    } else {
        vec![0; size as usize]
    };
    let s = k.sock(so)?;
    let int = match com {
        FIONREAD => Some(s.rcv.cc as i32),
        FIONWRITE => Some(s.snd.cc as i32),
        FIONSPACE => Some(s.snd.space().max(0) as i32),
        _ => None,
    };
    match int {
        Some(v) => buf = v.to_le_bytes().to_vec(),
        None if (com >> 8) & 0xff == u32::from(b'i') => {
            net::ifioctl::ioctl(k, c, so, com, &mut buf)?;
        }
        None => net::control(k, so, com, &mut buf)?,
    }
    if com & IOC_OUT != 0 && size > 0 {
        c.copyout(data, buf)?;
    }
    Ok((0, 0))
}

/// Whether the file (or the flags) make the call non-blocking.
fn nbio(k: &SimKernel, id: FileId, flags: i32) -> bool {
    k.t.files
        .get(&id)
        .is_some_and(|f| f.flags & O_NONBLOCK != 0)
        || flags & (net::MSG_DONTWAIT | net::MSG_NBIO) != 0
}

/// Spreads `data` over the buffers `iov` (copyouts).
fn scatter(c: &mut Ctx<'_, '_>, iov: &[(u64, u64)], data: &[u8]) -> Result<(), Stop> {
    let mut rest = data;
    for &(base, len) in iov {
        if rest.is_empty() {
            break;
        }
        let n = (len as usize).min(rest.len());
        c.copyout(base, rest[..n].to_vec())?;
        rest = &rest[n..];
    }
    Ok(())
}

/// `sosend` for a call: the checks, the data fetched, sent; EPIPE raises
/// SIGPIPE unless the file has O_NOSIGPIPE or the call MSG_NOSIGNAL.
#[allow(clippy::too_many_arguments)]
fn send_on(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    id: FileId,
    so: net::SockId,
    iov: &[(u64, u64)],
    nam: Option<Vec<u8>>,
    control: Option<net::Control>,
    flags: i32,
    sysnum: u32,
) -> SysResult {
    let resid = iov.iter().map(|v| v.1 as usize).sum();
    let a = net::sosend::SendArgs {
        resid,
        nam,
        control,
        flags,
        nbio: nbio(k, id, flags),
    };
    let key = c.call_key(sysnum);
    let nosig =
        k.t.files
            .get(&id)
            .is_some_and(|f| f.flags & O_NOSIGPIPE != 0)
            || flags & net::MSG_NOSIGNAL != 0;
    let r = net::sosend::presend(k, so, &a, &key).and_then(|(skip, n)| {
        let data = c.copyin_prefix(iov, skip, n)?;
        net::sosend::send(k, c.pid, so, a, &key, &data)
    });
    match r {
        Ok(n) => Ok((n as i64, 0)),
        Err(Stop::Errno(EPIPE)) => {
            if !nosig {
                c.out.signals.push(SIGPIPE);
            }
            err(EPIPE)
        }
        Err(e) => Err(e),
    }
}

/// Receives into `iov` (`soreceive` for a call): the data copied out;
/// returns what was received. `before` runs once the receive is known to
/// go ahead and before anything is taken (the copyins NetBSD makes after
/// the receive).
#[allow(clippy::too_many_arguments)]
fn recv_on(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    id: FileId,
    so: net::SockId,
    iov: &[(u64, u64)],
    flags: i32,
    sysnum: u32,
    before: &mut dyn FnMut(&mut Ctx<'_, '_>) -> Result<(), Stop>,
) -> Result<net::soreceive::Received, Stop> {
    let resid: usize = iov.iter().map(|v| v.1 as usize).sum();
    let key = c.call_key(sysnum);
    let nb = nbio(k, id, flags);
    let ready = net::soreceive::check(k, so, resid, flags, nb, &key)?;
    before(c)?;
    if !ready {
        return Ok(Default::default());
    }
    if flags & net::MSG_OOB != 0 {
        // soreceive's MSG_OOB branch: PRU_RCVOOB's byte (kept with
        // MSG_PEEK), moved out as far as the buffers reach; nothing of the
        // ordinary data is taken.
        let mut data = net::rcvoob(k, so, flags & net::MSG_PEEK != 0)?;
        data.truncate(resid);
        scatter(c, iov, &data)?;
        return Ok(net::soreceive::Received {
            data,
            ..Default::default()
        });
    }
    let r = net::soreceive::take(k, so, resid, flags)?;
    scatter(c, iov, &r.data)?;
    Ok(r)
}

/// Closes the files of rights nobody asked for (`unp_dispose`).
fn dispose(k: &mut SimKernel, control: Option<net::Control>) {
    if let Some(net::Control::Rights(files)) = control {
        for f in files {
            k.file_unref(f);
        }
    }
}

/// read/readv on a socket (`soo_read`): no flags, rights dropped.
pub(crate) fn read(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    id: FileId,
    iov: &[(u64, u64)],
    sysnum: u32,
) -> SysResult {
    let Some(FileKind::Socket(so)) = k.t.files.get(&id).map(|f| f.kind) else {
        return err(EBADF);
    };
    let r = recv_on(k, c, id, so, iov, 0, sysnum, &mut |_| Ok(()))?;
    let n = r.data.len() as i64;
    dispose(k, r.control);
    Ok((n, 0))
}

/// write/writev on a socket (`soo_write`).
pub(crate) fn write(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    id: FileId,
    iov: &[(u64, u64)],
    sysnum: u32,
) -> SysResult {
    let Some(FileKind::Socket(so)) = k.t.files.get(&id).map(|f| f.kind) else {
        return err(EBADF);
    };
    send_on(k, c, id, so, iov, None, None, 0, sysnum)
}

/// A msghdr as copied in (48 bytes, LP64).
struct MsgHdr {
    raw: Vec<u8>,
}

impl MsgHdr {
    fn w(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.raw[at..at + 8].try_into().unwrap_or([0; 8]))
    }
    fn i(&self, at: usize) -> i32 {
        i32::from_le_bytes(self.raw[at..at + 4].try_into().unwrap_or([0; 4]))
    }
    fn set(&mut self, at: usize, v: i32) {
        self.raw[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn name(&self) -> u64 {
        self.w(0)
    }
    fn namelen(&self) -> i32 {
        self.i(8)
    }
    fn iov(&self) -> u64 {
        self.w(16)
    }
    fn iovlen(&self) -> i32 {
        self.i(24)
    }
    fn control(&self) -> u64 {
        self.w(32)
    }
    fn controllen(&self) -> i32 {
        self.i(40)
    }
}

/// The iovec array of a msghdr: more than IOV_MAX (unsigned) EMSGSIZE, the
/// array copied in, a total past SSIZE_MAX EINVAL.
fn msg_iovecs(c: &mut Ctx<'_, '_>, iov: u64, cnt: i32) -> Result<Vec<(u64, u64)>, Stop> {
    if cnt as u32 > IOV_MAX as u32 {
        return err(net::errno::EMSGSIZE);
    }
    if cnt == 0 {
        return Ok(Vec::new());
    }
    let raw = c.copyin(iov, cnt as u64 * 16)?;
    let v: Vec<(u64, u64)> = raw
        .chunks_exact(16)
        .map(|ch| {
            let w = |i: usize| u64::from_le_bytes(ch[i..i + 8].try_into().unwrap_or([0; 8]));
            (w(0), w(8))
        })
        .collect();
    resid_ok(&v)?;
    Ok(v)
}

fn resid_ok(v: &[(u64, u64)]) -> Result<(), Stop> {
    if v.iter()
        .try_fold(0u64, |acc, (_, l)| acc.checked_add(*l))
        .is_none_or(|t| t > i64::MAX as u64)
    {
        return err(EINVAL);
    }
    Ok(())
}

/// `sendto(s, buf, len, flags, to, tolen)`.
pub(crate) fn sendto(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    crate::sys::socket::need_net(k)?;
    let (fd, buf, len, flags, to, tolen) = (
        c.int(0),
        c.word(1),
        c.word(2),
        c.int(3),
        c.word(4),
        c.word(5) & 0xffff_ffff,
    );
    let iov = [(buf, len)];
    let (id, so) = crate::sys::socket::getsock(k, c.pid, fd)?;
    resid_ok(&iov)?;
    let nam = if to != 0 {
        Some(crate::sys::socket::sockargs_name(c, to, tolen)?)
    } else {
        None
    };
    send_on(k, c, id, so, &iov, nam, None, flags, 133)
}

/// `sendmsg(s, msg, flags)` as `do_sys_sendmsg`: the msghdr, the
/// descriptor (`fd_getsock1`), then `do_sys_sendmsg_so`: iovecs, name and
/// control copied in (a control buffer shorter than a cmsghdr EINVAL).
pub(crate) fn sendmsg(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    crate::sys::socket::need_net(k)?;
    let (fd, msgp, flags) = (c.int(0), c.word(1), c.int(2));
    let m = MsgHdr {
        raw: c.copyin(msgp, 48)?,
    };
    let (id, so) = crate::sys::socket::getsock(k, c.pid, fd)?;
    let iov = msg_iovecs(c, m.iov(), m.iovlen())?;
    let nam = if m.name() != 0 {
        Some(crate::sys::socket::sockargs_name(
            c,
            m.name(),
            m.namelen() as u32 as u64,
        )?)
    } else {
        None
    };
    let control = if m.control() != 0 {
        let clen = m.controllen() as u32 as u64;
        if clen < 16 || clen > crate::net::sockbuf::MCLBYTES as u64 {
            return err(EINVAL);
        }
        Some(net::Control::Other(c.copyin(m.control(), clen)?))
    } else {
        None
    };
    send_on(k, c, id, so, &iov, nam, control, flags, 28)
}

/// `recvfrom(s, buf, len, flags, from, fromlenaddr)`: the name's length is
/// read after the receive, the name (nothing for a stream: length 0) out.
pub(crate) fn recvfrom(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    crate::sys::socket::need_net(k)?;
    let (fd, buf, len, flags, from, fromlen) = (
        c.int(0),
        c.word(1),
        c.word(2),
        c.int(3),
        c.word(4),
        c.word(5),
    );
    let (id, so) = crate::sys::socket::getsock(k, c.pid, fd)?;
    let iov = [(buf, len)];
    resid_ok(&iov)?;
    let mut lenbuf = Vec::new();
    let r = recv_on(
        k,
        c,
        id,
        so,
        &iov,
        flags & net::MSG_USERFLAGS,
        29,
        &mut |c| {
            if from != 0 {
                lenbuf = c.copyin(fromlen, 4)?;
            }
            Ok(())
        },
    )?;
    dispose(k, r.control.clone());
    if from != 0 {
        crate::sys::socket::copyout_sockname(c, from, fromlen, &lenbuf, r.name.as_deref())?;
    }
    Ok((r.data.len() as i64, 0))
}

/// `unp_externalize`: rights received become descriptors (the lowest free
/// ones); the control message as the receiver reads it.
fn externalize(
    k: &mut SimKernel,
    pid: i32,
    control: net::Control,
    cloexec: bool,
) -> Result<(Vec<u8>, Vec<i32>), Stop> {
    match control {
        net::Control::Other(b) => Ok((b, Vec::new())),
        net::Control::Rights(files) => {
            let mut fds = Vec::new();
            for f in files {
                match k.install_fd(pid, f, cloexec) {
                    Ok(fd) => fds.push(fd),
                    Err(e) => {
                        k.file_unref(f);
                        for fd in fds {
                            let _ = k.close_fd(pid, fd);
                        }
                        return Err(e);
                    }
                }
            }
            let len = 16 + 4 * fds.len();
            let space = 16 + (4 * fds.len()).div_ceil(8) * 8;
            let mut b = vec![0u8; space];
            b[0..4].copy_from_slice(&(len as u32).to_le_bytes());
            b[4..8].copy_from_slice(&net::SOL_SOCKET.to_le_bytes());
            b[8..12].copy_from_slice(&net::SCM_RIGHTS.to_le_bytes());
            for (i, fd) in fds.iter().enumerate() {
                b[16 + 4 * i..20 + 4 * i].copy_from_slice(&fd.to_le_bytes());
            }
            Ok((b, fds))
        }
    }
}

/// `recvmsg(s, msg, flags)`: the msghdr in, the descriptor, the iovecs,
/// the receive; then the control message (an SCM_RIGHTS message that does
/// not fit is not cut: MSG_CTRUNC, controllen 0, its descriptors closed),
/// the name, and the msghdr back out.
pub(crate) fn recvmsg(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    crate::sys::socket::need_net(k)?;
    let (fd, msgp, flags) = (c.int(0), c.word(1), c.int(2));
    let mut m = MsgHdr {
        raw: c.copyin(msgp, 48)?,
    };
    let (id, so) = crate::sys::socket::getsock(k, c.pid, fd)?;
    let iov = msg_iovecs(c, m.iov(), m.iovlen())?;
    let uflags = flags & net::MSG_USERFLAGS;
    let r = recv_on(k, c, id, so, &iov, uflags, 27, &mut |_| Ok(()))?;
    let mut oflags = (uflags & !net::MSG_EOR) | r.flags;
    let mut controllen = 0i32;
    if let Some(ctl) = r.control.clone() {
        if m.control() == 0 {
            dispose(k, Some(ctl));
        } else {
            let (bytes, fds) = externalize(k, c.pid, ctl, flags & net::MSG_CMSG_CLOEXEC != 0)?;
            let room = m.controllen();
            let rights = !fds.is_empty();
            if room <= 0 {
                for fd in fds {
                    let _ = k.close_fd(c.pid, fd);
                }
            } else if (room as usize) < bytes.len() {
                oflags |= net::MSG_CTRUNC;
                if rights {
                    for fd in fds {
                        let _ = k.close_fd(c.pid, fd);
                    }
                } else {
                    c.copyout(m.control(), bytes[..room as usize].to_vec())?;
                    controllen = room;
                }
            } else {
                c.copyout(m.control(), bytes.clone())?;
                controllen = bytes.len() as i32;
            }
        }
    }
    if m.control() != 0 {
        m.set(40, controllen);
    }
    if m.name() != 0 {
        let len = m.namelen();
        if len < 0 {
            return err(EINVAL);
        }
        let n = match &r.name {
            Some(nm) => {
                let n = (len as usize).min(nm.len());
                c.copyout(m.name(), nm[..n].to_vec())?;
                n
            }
            None => 0,
        };
        m.set(8, n as i32);
    }
    m.set(44, oflags);
    c.copyout(msgp, m.raw.clone())?;
    Ok((r.data.len() as i64, 0))
}

/// `fifo_read`: a receive on the FIFO's read socket; a non-blocking read
/// that would wait with no writer returns 0 (EOF) instead of EAGAIN.
pub(crate) fn fifo_read(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    id: FileId,
    node: crate::vfs::NodeId,
    iov: &[(u64, u64)],
    sysnum: u32,
) -> SysResult {
    if iov.iter().all(|v| v.1 == 0) {
        return Ok((0, 0));
    }
    let fi = net::fifo::info(k, node).ok_or(Stop::Errno(EBADF))?;
    let nb = nbio(k, id, 0);
    match recv_on(k, c, id, fi.rso, iov, 0, sysnum, &mut |_| Ok(())) {
        Ok(r) => {
            let n = r.data.len() as i64;
            dispose(k, r.control);
            // fifo_read (fifo_vnops.c 1.77): "Clear EOF indication after
            // first such return": a read that succeeded with nothing clears
            // SS_CANTRCVMORE, so the FIFO is no longer readable (poll,
            // EVFILT_READ) and a later blocking read waits for a writer.
            if n == 0 {
                if let Some(s) = k.t.sockets.get_mut(&fi.rso) {
                    s.state &= !net::SS_CANTRCVMORE;
                }
            }
            Ok((n, 0))
        }
        Err(Stop::Errno(EAGAIN)) if nb && fi.writers == 0 => Ok((0, 0)),
        Err(e) => Err(e),
    }
}

/// `fifo_write`: a send on the FIFO's write socket (EPIPE and SIGPIPE once
/// no reader is left).
pub(crate) fn fifo_write(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    id: FileId,
    node: crate::vfs::NodeId,
    iov: &[(u64, u64)],
    sysnum: u32,
) -> SysResult {
    let fi = net::fifo::info(k, node).ok_or(Stop::Errno(EBADF))?;
    send_on(k, c, id, fi.wso, iov, None, None, 0, sysnum)
}
