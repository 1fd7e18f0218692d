//! Descriptor and data calls: read, write and their vector and positional
//! forms, lseek, close, dup*, fcntl, ftruncate, fstat, fsync, ioctl.

use crate::consts::*;
use crate::proc::{Fd, FileId, FileKind};
use crate::structs::Stat;
use crate::vfs::{FsType, NodeKind};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

/// The open file behind a descriptor.
pub(crate) fn file_of(k: &SimKernel, pid: i32, fd: i32) -> Result<FileId, Stop> {
    k.proc(pid)?
        .fds
        .get(&fd)
        .map(|f| f.file)
        .ok_or(Stop::Errno(EBADF))
}

/// The open file behind `fd` when it is a socket.
fn socket_file(k: &SimKernel, pid: i32, fd: i32) -> Option<FileId> {
    let id = file_of(k, pid, fd).ok()?;
    matches!(k.t.files.get(&id)?.kind, FileKind::Socket(_)).then_some(id)
}

/// The open file and node behind `fd` when it is an open FIFO (fifofs).
fn fifo_file(k: &SimKernel, pid: i32, fd: i32) -> Option<(FileId, crate::vfs::NodeId)> {
    let id = file_of(k, pid, fd).ok()?;
    match k.t.files.get(&id)?.kind {
        FileKind::Node(n) if k.t.fifos.contains_key(&n) => Some((id, n)),
        _ => None,
    }
}

fn readable(flags: i32) -> bool {
    flags & O_ACCMODE != O_WRONLY
}

fn writable(flags: i32) -> bool {
    flags & O_ACCMODE == O_WRONLY || flags & O_ACCMODE == O_RDWR
}

/// Reads up to `n` bytes from an open file at `at` (None: the file offset, which advances).
fn do_read(k: &mut SimKernel, pid: i32, fd: i32, n: u64, at: Option<u64>) -> Result<Vec<u8>, Stop> {
    let id = file_of(k, pid, fd)?;
    let f = k.t.files.get(&id).cloned().ok_or(Stop::Errno(EBADF))?;
    if !readable(f.flags) {
        return err(EBADF);
    }
    match f.kind {
        FileKind::PipeWrite(_) => err(EBADF),
        // Sockets are read by read/readv themselves (sys/sockio.rs).
        FileKind::Socket(_) => err(EBADF),
        // fo_read is nullop; unreachable while the console is write-only.
        FileKind::Console => Ok(vec![]),
        // sys_pread wants a vnode; kqueueops' fo_read is enxio.
        FileKind::Kqueue(_) if at.is_some() => err(ESPIPE),
        FileKind::Kqueue(_) => err(ENXIO),
        FileKind::PipeRead(p) => {
            if at.is_some() {
                return err(ESPIPE);
            }
            let pipe = k.t.pipes.get_mut(&p).ok_or(Stop::Errno(EBADF))?;
            if pipe.buf.is_empty() {
                if pipe.writers == 0 || n == 0 {
                    return Ok(vec![]);
                }
                return if f.flags & O_NONBLOCK != 0 {
                    err(EAGAIN)
                } else {
                    Err(Stop::BlockedOn(SimKernel::pipe_key(p)))
                };
            }
            let take = (n as usize).min(pipe.buf.len());
            let data: Vec<u8> = pipe.buf.drain(..take).collect();
            k.bump_key(SimKernel::pipe_key(p));
            Ok(data)
        }
        FileKind::Node(node) => {
            let now = k.clock.realtime();
            let fs = k.vfs.fstype(node);
            let nd = k.vfs.nodes.get_mut(&node).ok_or(Stop::Errno(EBADF))?;
            let data = match &nd.kind {
                NodeKind::Dir { .. } => return err(EISDIR),
                NodeKind::File(_) if n == 0 => return Ok(vec![]),
                // rump_vop_read takes MIN(resid, dlen - offset) as its chunk:
                // past the end of a rumpfs file that is negative, and the
                // copy refuses it (the captures show EINVAL).
                NodeKind::File(d)
                    if fs == FsType::Rumpfs && at.unwrap_or(f.offset) > d.len() as u64 =>
                {
                    return err(EINVAL)
                }
                NodeKind::File(d) => {
                    let off = at.unwrap_or(f.offset);
                    let start = (off as usize).min(d.len());
                    let end = start.saturating_add(n as usize).min(d.len());
                    d[start..end].to_vec()
                }
                _ => vec![],
            };
            nd.atime = now;
            if at.is_none() {
                if let Some(file) = k.t.files.get_mut(&id) {
                    file.offset += data.len() as u64;
                }
            }
            Ok(data)
        }
    }
}

/// The checks `sys_read`/`sys_pread`/`do_filereadv` (and their write
/// twins) make before anything else, in NetBSD's order: the descriptor
/// (EBADF), its access mode (EBADF), and for the positional forms a seekable
/// vnode (ESPIPE for pipes, fifos and the console) and an offset that
/// `VOP_SEEK` accepts (EINVAL when negative).
pub(crate) fn io_checks(
    k: &SimKernel,
    pid: i32,
    fd: i32,
    write: bool,
    at: Option<i64>,
) -> Result<Option<u64>, Stop> {
    let id = file_of(k, pid, fd)?;
    let f = k.t.files.get(&id).ok_or(Stop::Errno(EBADF))?;
    let ok = if write {
        writable(f.flags)
    } else {
        readable(f.flags)
    };
    if !ok {
        return err(EBADF);
    }
    let Some(off) = at else {
        return Ok(None);
    };
    if !seekable(k, f.kind) {
        return err(ESPIPE);
    }
    if off < 0 {
        return err(EINVAL);
    }
    Ok(Some(off as u64))
}

/// A vnode other than a fifo: what lseek and the positional calls accept.
pub(crate) fn seekable(k: &SimKernel, kind: FileKind) -> bool {
    match kind {
        FileKind::Node(n) => k
            .vfs
            .nodes
            .get(&n)
            .is_some_and(|x| x.type_bits() != S_IFIFO),
        _ => false,
    }
}

/// What a write will do, decided before any client memory is fetched.
enum WriteTarget {
    Pipe(u64),
    Node(u64),
    Console,
    /// A zero-byte write to a regular file: no COPYIN, no change.
    Nothing,
}

/// Decides where a write of `n` bytes goes, and fails it before any COPYIN when
/// it cannot succeed: bad descriptor, broken pipe, full pipe, read-only or full file system.
fn write_target(
    k: &SimKernel,
    pid: i32,
    fd: i32,
    at: Option<u64>,
    n: u64,
    ctx_out: &mut crate::SyscallDone,
) -> Result<(FileId, WriteTarget), Stop> {
    let id = file_of(k, pid, fd)?;
    let f = k.t.files.get(&id).ok_or(Stop::Errno(EBADF))?;
    if !writable(f.flags) {
        return err(EBADF);
    }
    match f.kind {
        FileKind::PipeRead(_) => err(EBADF),
        // Sockets are written by write/writev themselves (sys/sockio.rs).
        FileKind::Socket(_) => err(EBADF),
        FileKind::Console if at.is_some() => err(ESPIPE),
        FileKind::Console => Ok((id, WriteTarget::Console)),
        FileKind::Kqueue(_) if at.is_some() => err(ESPIPE),
        FileKind::Kqueue(_) => err(ENXIO),
        FileKind::PipeWrite(p) => {
            if at.is_some() {
                return err(ESPIPE);
            }
            let pipe = k.t.pipes.get(&p).ok_or(Stop::Errno(EBADF))?;
            if pipe.readers == 0 {
                // No COPYIN; SIGPIPE unless the file has O_NOSIGPIPE.
                if f.flags & O_NOSIGPIPE == 0 {
                    ctx_out.signals.push(SIGPIPE);
                }
                return err(EPIPE);
            }
            let room = capacity_for(k, p, n).saturating_sub(pipe.buf.len());
            // Writes of up to PIPE_BUF bytes are atomic.
            let need = if (n as usize) <= PIPE_BUF {
                n as usize
            } else {
                1
            };
            if n > 0 && room < need {
                return if f.flags & O_NONBLOCK != 0 {
                    err(EAGAIN)
                } else {
                    Err(Stop::BlockedOn(SimKernel::pipe_key(p)))
                };
            }
            Ok((id, WriteTarget::Pipe(p)))
        }
        FileKind::Node(node) => match k.vfs.nodes.get(&node).map(|x| (&x.kind, x.mount)) {
            Some((NodeKind::File(_), _)) if n == 0 => Ok((id, WriteTarget::Nothing)),
            Some((NodeKind::File(d), mount)) => {
                let m = k.vfs.mounts.get(&mount).ok_or(Stop::Errno(EIO))?;
                if m.flags & MNT_RDONLY != 0 {
                    return err(EROFS);
                }
                let len = d.len() as u64;
                let start = if f.flags & O_APPEND != 0 {
                    len
                } else {
                    at.unwrap_or(f.offset)
                };
                // tmpfs_write: an append-only file takes data only at its end.
                if start != len {
                    crate::sys::flags::refuse_if(k, node, crate::sys::flags::APPEND)?;
                }
                // The file-size limit (RLIMIT_FSIZE's soft limit, set by
                // setrlimit; RLIM_INFINITY = 2^63 - 1 at boot): a write
                // reaching past it raises SIGXFSZ and fails with EFBIG before
                // any data is fetched.
                let fsize = k.proc(pid)?.rlimits[RLIMIT_FSIZE].cur;
                if start.saturating_add(n) > fsize {
                    ctx_out.signals.push(SIGXFSZ);
                    return err(EFBIG);
                }
                let end = start.checked_add(n).ok_or(Stop::Errno(ENOSPC))?;
                if m.size_max > 0
                    && round_page(m.bytes_used + end.saturating_sub(len)) + PAGE_SIZE > m.size_max
                {
                    return err(ENOSPC);
                }
                check_pool(k, end.saturating_sub(len))?;
                Ok((id, WriteTarget::Node(node)))
            }
            Some((NodeKind::Dir { .. }, _)) => err(EISDIR),
            Some(_) => Ok((id, WriteTarget::Console)),
            None => err(EBADF),
        },
    }
}

/// The buffer size a write of `n` bytes to pipe `p` will find: pipe_write
/// first grows an empty pipe's buffer to BIG_PIPE_SIZE when `n` is more than
/// PIPE_SIZE and fewer than maxbigpipes pipes are big (sys_pipe.c, "If it is
/// advantageous to resize the pipe buffer").
fn capacity_for(k: &SimKernel, p: u64, n: u64) -> usize {
    let Some(pipe) = k.t.pipes.get(&p) else {
        return PIPE_SIZE;
    };
    let big = k.t.pipes.values().filter(|x| x.big).count();
    if !pipe.big && n > PIPE_SIZE as u64 && pipe.buf.is_empty() && big < MAX_BIG_PIPES {
        BIG_PIPE_SIZE
    } else {
        pipe.capacity()
    }
}

/// How many of `n` bytes a write fetches from the client: a pipe takes only
/// what fits in its free space (pipe_write moves no more than that), anything
/// else all of them. A pipe the write resizes is resized here, before any
/// client memory is fetched, so it stays big when the fetch faults.
fn fetch_limit(k: &mut SimKernel, target: &WriteTarget, n: u64) -> u64 {
    match target {
        WriteTarget::Pipe(p) => {
            let cap = capacity_for(k, *p, n);
            let Some(pipe) = k.t.pipes.get_mut(p) else {
                return 0;
            };
            if cap == BIG_PIPE_SIZE {
                pipe.big = true;
            }
            n.min(cap.saturating_sub(pipe.buf.len()) as u64)
        }
        _ => n,
    }
}

/// Runs `checks` (the write's target checks) for a call that may have
/// written part of its data to a pipe in an earlier run: when they fail
/// (EPIPE: the reader went away while the call waited), what the earlier
/// runs wrote is forgotten with the call, as pipe_write returns the error.
fn pipe_progress<T>(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    sysnum: u32,
    checks: impl FnOnce(&mut SimKernel, &mut Ctx<'_, '_>) -> Result<T, Stop>,
) -> Result<T, Stop> {
    let r = checks(k, c);
    if let Err(Stop::Errno(_) | Stop::ErrnoWith(..)) = &r {
        let key = c.call_key(sysnum);
        k.t.send_progress.remove(&key);
    }
    r
}

/// `pipe_write`: a non-blocking writer writes what fits (EAGAIN for none);
/// a blocking one writes what fits and waits for the reader until all of it
/// is written (NetBSD sys_pipe.c pipe_write's loop: it returns only when
/// `uio_resid` is 0). What earlier runs of the call wrote is kept in
/// `Tables::send_progress`; the data comes from the buffers `iov` as one
/// growing prefix ([`Ctx::copyin_prefix`]), as the room of the moment allows.
fn pipe_write(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    id: FileId,
    p: crate::proc::PipeId,
    iov: &[(u64, u64)],
    sysnum: u32,
) -> SysResult {
    let key = c.call_key(sysnum);
    let total: u64 = iov.iter().map(|x| x.1).sum();
    let done = k.t.send_progress.get(&key).copied().unwrap_or(0);
    let rest = total.saturating_sub(done as u64);
    let nonblock =
        k.t.files
            .get(&id)
            .is_some_and(|f| f.flags & O_NONBLOCK != 0);
    let limit = fetch_limit(k, &WriteTarget::Pipe(p), rest) as usize;
    let data = c.copyin_prefix(iov, done, limit)?;
    let w = match commit_write(k, id, WriteTarget::Pipe(p), &data, None) {
        Ok(w) => w as usize,
        // no room at all: a blocked call keeps what it wrote
        Err(Stop::BlockedOn(key_)) => return Err(Stop::BlockedOn(key_)),
        Err(e) => {
            k.t.send_progress.remove(&key);
            return Err(e);
        }
    };
    let written = done + w;
    if (written as u64) < total && !nonblock {
        k.t.send_progress.insert(key, written);
        return Err(Stop::BlockedOn(SimKernel::pipe_key(p)));
    }
    k.t.send_progress.remove(&key);
    Ok((written as i64, 0))
}

/// Writes `data` (already fetched) to the target; returns the count written.
fn commit_write(
    k: &mut SimKernel,
    id: FileId,
    target: WriteTarget,
    data: &[u8],
    at: Option<u64>,
) -> Result<u64, Stop> {
    match target {
        WriteTarget::Console => Ok(data.len() as u64),
        WriteTarget::Nothing => Ok(0),
        WriteTarget::Pipe(p) => {
            let nonblock =
                k.t.files
                    .get(&id)
                    .is_some_and(|f| f.flags & O_NONBLOCK != 0);
            let pipe = k.t.pipes.get_mut(&p).ok_or(Stop::Errno(EBADF))?;
            let room = pipe.capacity().saturating_sub(pipe.buf.len());
            if data.is_empty() {
                return Ok(0);
            }
            // Writes of up to PIPE_BUF bytes are atomic.
            let need = if data.len() <= PIPE_BUF {
                data.len()
            } else {
                1
            };
            if room < need {
                return if nonblock {
                    err(EAGAIN)
                } else {
                    Err(Stop::BlockedOn(SimKernel::pipe_key(p)))
                };
            }
            let n = data.len().min(room);
            pipe.buf.extend(&data[..n]);
            k.bump_key(SimKernel::pipe_key(p));
            Ok(n as u64)
        }
        WriteTarget::Node(node) => {
            let now = k.clock.realtime();
            let (append, offset) =
                k.t.files
                    .get(&id)
                    .map_or((false, 0), |f| (f.flags & O_APPEND != 0, f.offset));
            let nd = k.vfs.nodes.get(&node).ok_or(Stop::Errno(EBADF))?;
            let mount = nd.mount;
            let NodeKind::File(cur) = &nd.kind else {
                return err(EBADF);
            };
            let len = cur.len() as u64;
            let start = if append { len } else { at.unwrap_or(offset) };
            let end = start
                .checked_add(data.len() as u64)
                .ok_or(Stop::Errno(ENOSPC))?;
            let grow = end.saturating_sub(len);
            let m = k.vfs.mounts.get(&mount).ok_or(Stop::Errno(EIO))?;
            if m.flags & MNT_RDONLY != 0 {
                return err(EROFS);
            }
            if m.size_max > 0 && round_page(m.bytes_used + grow) + PAGE_SIZE > m.size_max {
                return err(ENOSPC);
            }
            check_pool(k, grow)?;
            if let Some(mm) = k.vfs.mounts.get_mut(&mount) {
                mm.bytes_used += grow;
            }
            if let Some(nd) = k.vfs.nodes.get_mut(&node) {
                if let NodeKind::File(d) = &mut nd.kind {
                    if (d.len() as u64) < end {
                        d.resize(end as usize, 0);
                    }
                    d[start as usize..end as usize].copy_from_slice(data);
                }
                nd.mtime = now;
                nd.ctime = now;
            }
            if at.is_none() {
                if let Some(f) = k.t.files.get_mut(&id) {
                    f.offset = end;
                }
            }
            if !data.is_empty() {
                use crate::kqueue::{NOTE_EXTEND, NOTE_WRITE};
                let extend = if grow > 0 { NOTE_EXTEND } else { 0 };
                crate::sys::kqueue::vnode_note(k, node, NOTE_WRITE | extend);
            }
            Ok(data.len() as u64)
        }
    }
}

fn round_page(n: u64) -> u64 {
    n.div_ceil(PAGE_SIZE) * PAGE_SIZE
}

/// File data lives in the rump kernel's memory: growth past the pool (by
/// default what the real kernel reports, 131072 free pages, 512 MiB; shared
/// with nodes, names and pipes, see [`SimKernel::pool_used`]) fails with
/// ENOSPC, as there.
fn check_pool(k: &SimKernel, grow: u64) -> Result<(), Stop> {
    k.check_pool(grow, ENOSPC)
}

/// NetBSD refuses byte counts above SSIZE_MAX with EINVAL.
fn count(n: u64) -> Result<u64, Stop> {
    if n > i64::MAX as u64 {
        return err(EINVAL);
    }
    Ok(n)
}

pub(crate) fn read(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, buf) = (c.int(0), c.word(1));
    io_checks(k, c.pid, fd, false, None)?;
    let n = count(c.word(2))?;
    if let Some(id) = socket_file(k, c.pid, fd) {
        return crate::sys::sockio::read(k, c, id, &[(buf, n)], 3);
    }
    if let Some((id, node)) = fifo_file(k, c.pid, fd) {
        return crate::sys::sockio::fifo_read(k, c, id, node, &[(buf, n)], 3);
    }
    let data = do_read(k, c.pid, fd, n, None)?;
    let len = data.len() as i64;
    c.copyout(buf, data)?;
    Ok((len, 0))
}

pub(crate) fn pread(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, buf) = (c.int(0), c.word(1));
    let at = io_checks(k, c.pid, fd, false, Some(c.word(4) as i64))?;
    let n = count(c.word(2))?;
    let data = do_read(k, c.pid, fd, n, at)?;
    let len = data.len() as i64;
    c.copyout(buf, data)?;
    Ok((len, 0))
}

pub(crate) fn write(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, buf) = (c.int(0), c.word(1));
    io_checks(k, c.pid, fd, true, None)?;
    let n = count(c.word(2))?;
    if let Some(id) = socket_file(k, c.pid, fd) {
        return crate::sys::sockio::write(k, c, id, &[(buf, n)], 4);
    }
    if let Some((id, node)) = fifo_file(k, c.pid, fd) {
        return crate::sys::sockio::fifo_write(k, c, id, node, &[(buf, n)], 4);
    }
    let (id, target) = pipe_progress(k, c, 4, |k, c| {
        write_target(k, c.pid, fd, None, n, &mut c.out)
    })?;
    if let WriteTarget::Pipe(p) = target {
        return pipe_write(k, c, id, p, &[(buf, n)], 4);
    }
    let data = c.copyin(buf, n)?;
    let w = commit_write(k, id, target, &data, None)?;
    Ok((w as i64, 0))
}

pub(crate) fn pwrite(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, buf) = (c.int(0), c.word(1));
    let at = io_checks(k, c.pid, fd, true, Some(c.word(4) as i64))?;
    let n = count(c.word(2))?;
    let (id, target) = write_target(k, c.pid, fd, at, n, &mut c.out)?;
    let data = c.copyin(buf, n)?;
    let w = commit_write(k, id, target, &data, at)?;
    Ok((w as i64, 0))
}

/// Reads an iovec array: (base, len) pairs. The caller checked `cnt != 0`.
fn iovecs(c: &mut Ctx<'_, '_>, iov: u64, cnt: i32) -> Result<Vec<(u64, u64)>, Stop> {
    if cnt as u32 > IOV_MAX as u32 {
        return err(EINVAL);
    }
    let raw = c.copyin(iov, cnt as u64 * 16)?;
    let v: Vec<(u64, u64)> = raw
        .chunks_exact(16)
        .map(|ch| {
            let w = |i: usize| u64::from_le_bytes(ch[i..i + 8].try_into().unwrap_or([0; 8]));
            (w(0), w(8))
        })
        .collect();
    if v.iter()
        .try_fold(0u64, |acc, (_, l)| acc.checked_add(*l))
        .is_none_or(|t| t > i64::MAX as u64)
    {
        return err(EINVAL);
    }
    Ok(v)
}

/// readv and preadv (`at`: the offset argument), as `do_filereadv`: a zero
/// count fails before the descriptor is looked at.
fn do_readv(k: &mut SimKernel, c: &mut Ctx<'_, '_>, at: Option<i64>) -> SysResult {
    let (fd, iov, cnt) = (c.int(0), c.word(1), c.int(2));
    if cnt == 0 {
        return err(EINVAL);
    }
    let at = io_checks(k, c.pid, fd, false, at)?;
    let v = iovecs(c, iov, cnt)?;
    if let Some(id) = socket_file(k, c.pid, fd) {
        return crate::sys::sockio::read(k, c, id, &v, 120);
    }
    if let Some((id, node)) = fifo_file(k, c.pid, fd) {
        return crate::sys::sockio::fifo_read(k, c, id, node, &v, 120);
    }
    let total: u64 = v.iter().map(|x| x.1).sum();
    let data = do_read(k, c.pid, fd, total, at)?;
    let mut rest = &data[..];
    for (base, len) in v {
        let n = (len as usize).min(rest.len());
        c.copyout(base, rest[..n].to_vec())?;
        rest = &rest[n..];
    }
    Ok((data.len() as i64, 0))
}

/// writev and pwritev (`at`: the offset argument), as `do_filewritev`.
fn do_writev(k: &mut SimKernel, c: &mut Ctx<'_, '_>, at: Option<i64>) -> SysResult {
    let (fd, iov, cnt) = (c.int(0), c.word(1), c.int(2));
    if cnt == 0 {
        return err(EINVAL);
    }
    let at = io_checks(k, c.pid, fd, true, at)?;
    let v = iovecs(c, iov, cnt)?;
    if let Some(id) = socket_file(k, c.pid, fd) {
        return crate::sys::sockio::write(k, c, id, &v, 121);
    }
    if let Some((id, node)) = fifo_file(k, c.pid, fd) {
        return crate::sys::sockio::fifo_write(k, c, id, node, &v, 121);
    }
    let total: u64 = v.iter().map(|x| x.1).sum();
    let sysnum = if at.is_some() { 290 } else { 121 };
    let (id, target) = pipe_progress(k, c, sysnum, |k, c| {
        write_target(k, c.pid, fd, at, total, &mut c.out)
    })?;
    let data = match target {
        WriteTarget::Nothing => Vec::new(),
        WriteTarget::Pipe(p) => return pipe_write(k, c, id, p, &v, sysnum),
        _ => {
            // Every buffer in one memory round, then read in order.
            let v: Vec<(u64, u64)> = v.into_iter().filter(|x| x.1 > 0).collect();
            c.prefetch(&v)?;
            let mut data = Vec::new();
            for (base, len) in v {
                data.extend(c.copyin(base, len)?);
            }
            data
        }
    };
    let w = commit_write(k, id, target, &data, at)?;
    Ok((w as i64, 0))
}

pub(crate) fn readv(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    do_readv(k, c, None)
}

pub(crate) fn writev(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    do_writev(k, c, None)
}

/// preadv(fd, iov, iovcnt, pad, offset).
pub(crate) fn preadv(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let off = c.word(4) as i64;
    do_readv(k, c, Some(off))
}

/// pwritev(fd, iov, iovcnt, pad, offset).
pub(crate) fn pwritev(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let off = c.word(4) as i64;
    do_writev(k, c, Some(off))
}

pub(crate) fn lseek(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, off, whence) = (c.int(0), c.word(2) as i64, c.int(3));
    let id = file_of(k, c.pid, fd)?;
    let f = k.t.files.get(&id).ok_or(Stop::Errno(EBADF))?;
    let FileKind::Node(node) = f.kind else {
        return err(ESPIPE);
    };
    if !seekable(k, f.kind) {
        return err(ESPIPE);
    }
    let size = k
        .vfs
        .nodes
        .get(&node)
        .map_or(0, |n| n.size(k.vfs.fstype(node))) as i64;
    let base = match whence {
        0 => 0,
        1 => f.offset as i64,
        2 => size,
        _ => return err(EINVAL),
    };
    let new = base.checked_add(off).ok_or(Stop::Errno(EINVAL))?;
    if new < 0 {
        return err(EINVAL);
    }
    if let Some(f) = k.t.files.get_mut(&id) {
        f.offset = new as u64;
    }
    Ok((new, 0))
}

pub(crate) fn close(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    k.close_fd(c.pid, c.int(0))?;
    Ok((0, 0))
}

fn dup_to(k: &mut SimKernel, pid: i32, from: i32, to: i32, cloexec: bool) -> SysResult {
    let file = file_of(k, pid, from)?;
    if !(0..k.proc(pid)?.nofile()).contains(&to) {
        return err(EBADF);
    }
    // dodup: the same descriptor is left as it is (its close-on-exec too).
    if from == to {
        return Ok((i64::from(to), 0));
    }
    if k.proc(pid)?.fds.contains_key(&to) {
        k.close_fd(pid, to)?;
    }
    k.file_ref(file);
    k.proc_mut(pid)?.fds.insert(to, Fd { file, cloexec });
    Ok((i64::from(to), 0))
}

pub(crate) fn dup(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let file = file_of(k, c.pid, c.int(0))?;
    k.file_ref(file);
    match k.install_fd(c.pid, file, false) {
        Ok(fd) => Ok((i64::from(fd), 0)),
        Err(e) => {
            k.file_unref(file);
            Err(e)
        }
    }
}

/// dup2 and dup3 report the target in retval[0] even when they fail, as NetBSD does.
fn with_target(to: i32, r: SysResult) -> SysResult {
    r.map_err(|e| match e {
        Stop::Errno(e) => Stop::ErrnoWith(e, [i64::from(to), 0]),
        other => other,
    })
}

pub(crate) fn dup2(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    file_of(k, c.pid, c.int(0))?;
    with_target(c.int(1), dup_to(k, c.pid, c.int(0), c.int(1), false))
}

pub(crate) fn dup3(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (from, flags, to) = (c.int(0), c.int(2), c.int(1));
    file_of(k, c.pid, from)?;
    // dodup's order: the target's range (EBADF), then the same descriptor
    // (success, whatever the flags), and only then fd_dup2's flag check. The
    // captures show O_NOSIGPIPE refused too: only O_CLOEXEC and O_NONBLOCK pass.
    let bad_flags = flags & !(O_CLOEXEC | O_NONBLOCK) != 0;
    if bad_flags && (0..k.proc(c.pid)?.nofile()).contains(&to) && from != to {
        return with_target(to, err(EINVAL));
    }
    with_target(to, dup_to(k, c.pid, c.int(0), to, flags & O_CLOEXEC != 0))
}

pub(crate) fn fcntl(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, cmd, arg) = (c.int(0), c.int(1), c.int(2));
    // Commands that need no open descriptor come first, as in sys_fcntl.
    match cmd {
        F_CLOSEM => {
            if fd < 0 {
                return err(EBADF);
            }
            let open: Vec<i32> = k.proc(c.pid)?.fds.range(fd..).map(|(n, _)| *n).collect();
            for n in open {
                k.close_fd(c.pid, n)?;
            }
            return Ok((0, 0));
        }
        F_MAXFD => {
            let last = k.proc(c.pid)?.fds.keys().next_back().copied().unwrap_or(-1);
            return Ok((i64::from(last), 0));
        }
        crate::sys::lock::F_GETLK | crate::sys::lock::F_SETLK | crate::sys::lock::F_SETLKW => {
            return crate::sys::lock::lock_cmd(k, c, cmd);
        }
        _ => {}
    }
    let id = file_of(k, c.pid, fd)?;
    if cmd & F_FSCTL != 0 {
        // fcntl_forfs: the parameter (up to 4095 bytes) is copied in for
        // F_FSIN commands; no file here has file-system commands, and the
        // captures show EINVAL after the copy.
        let size = ((cmd as u32 >> 16) & 0xfff) as u64;
        if cmd & F_FSIN != 0 && size > 0 {
            c.copyin(c.word(2), size)?;
        }
        // A vnode passes the command to its file system: tmpfs answers with
        // genfs_fcntl (EOPNOTSUPP), and the captures show EINVAL for a rumpfs
        // directory; other files answer with fnullop_fcntl (EOPNOTSUPP).
        return match k.t.files.get(&id).map(|f| f.kind) {
            Some(FileKind::Node(n)) if k.vfs.fstype(n) == FsType::Rumpfs => err(EINVAL),
            _ => err(EOPNOTSUPP),
        };
    }
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let p = k.proc(c.pid)?;
            if !(0..p.nofile()).contains(&arg) {
                return err(EINVAL);
            }
            let new = p.lowest_free(arg, p.nofile()).ok_or(Stop::Errno(EMFILE))?;
            k.file_ref(id);
            k.proc_mut(c.pid)?.fds.insert(
                new,
                Fd {
                    file: id,
                    cloexec: cmd == F_DUPFD_CLOEXEC,
                },
            );
            Ok((i64::from(new), 0))
        }
        F_GETFD => Ok((
            i64::from(k.proc(c.pid)?.fds.get(&fd).is_some_and(|f| f.cloexec)),
            0,
        )),
        F_SETFD => {
            if let Some(f) = k.proc_mut(c.pid)?.fds.get_mut(&fd) {
                f.cloexec = arg & FD_CLOEXEC != 0;
            }
            Ok((0, 0))
        }
        F_GETFL => Ok((i64::from(k.t.files.get(&id).map_or(0, |f| f.flags)), 0)),
        F_SETFL => {
            if let Some(f) = k.t.files.get_mut(&id) {
                let new = (f.flags & !SETFL_MASK) | (arg & SETFL_MASK);
                // sys_fcntl tells the file of a FNONBLOCK or FASYNC change
                // (FIONBIO, FIOASYNC); the console refuses both with ENOTTY
                // and the flags stay as they were.
                if f.kind == FileKind::Console && (new ^ f.flags) & (O_NONBLOCK | O_ASYNC) != 0 {
                    return err(ENOTTY);
                }
                // kqueue_fcntl refuses every command, F_SETFL too.
                if matches!(f.kind, FileKind::Kqueue(_)) {
                    return err(ENOTTY);
                }
                f.flags = new;
            }
            Ok((0, 0))
        }
        F_GETNOSIGPIPE => Ok((
            i64::from(
                k.t.files
                    .get(&id)
                    .is_some_and(|f| f.flags & O_NOSIGPIPE != 0),
            ),
            0,
        )),
        F_SETNOSIGPIPE => {
            if let Some(f) = k.t.files.get_mut(&id) {
                if arg != 0 {
                    f.flags |= O_NOSIGPIPE;
                } else {
                    f.flags &= !O_NOSIGPIPE;
                }
            }
            Ok((0, 0))
        }
        _ => err(EINVAL),
    }
}

/// Sets a node's size (the caller checked permissions).
pub(crate) fn set_size(k: &mut SimKernel, node: crate::vfs::NodeId, len: u64) -> Result<(), Stop> {
    let now = k.clock.realtime();
    let nd = k.vfs.nodes.get(&node).ok_or(Stop::Errno(EBADF))?;
    let mount = nd.mount;
    let cur = match &nd.kind {
        NodeKind::File(d) => d.len() as u64,
        NodeKind::Dir { .. } => return err(EISDIR),
        _ => return err(EINVAL),
    };
    let m = k.vfs.mounts.get(&mount).ok_or(Stop::Errno(EIO))?;
    if m.flags & MNT_RDONLY != 0 {
        return err(EROFS);
    }
    // tmpfs_chsize: an immutable or append-only file keeps its size.
    crate::sys::flags::refuse_if(
        k,
        node,
        crate::sys::flags::IMMUTABLE | crate::sys::flags::APPEND,
    )?;
    let grow = len.saturating_sub(cur);
    // tmpfs_reg_resize: growth past the mount's or the kernel's memory is ENOSPC.
    if m.size_max > 0 && round_page(m.bytes_used + grow) + PAGE_SIZE > m.size_max {
        return err(ENOSPC);
    }
    check_pool(k, grow)?;
    if let Some(mm) = k.vfs.mounts.get_mut(&mount) {
        mm.bytes_used = mm.bytes_used + grow - cur.saturating_sub(len);
    }
    if let Some(nd) = k.vfs.nodes.get_mut(&node) {
        if let NodeKind::File(d) = &mut nd.kind {
            d.resize(len as usize, 0);
        }
        nd.mtime = now;
        nd.ctime = now;
    }
    // The size changed: knotes on the vnode run their filters again.
    k.bump_key(crate::sys::kfilter::node_key(node));
    Ok(())
}

/// `fd_getvnode`: the vnode behind a descriptor; EBADF without one, EINVAL
/// for a file that is not a vnode (pipes, the console).
pub(crate) fn fd_vnode(
    k: &SimKernel,
    pid: i32,
    fd: i32,
) -> Result<(crate::vfs::NodeId, i32), Stop> {
    let id = file_of(k, pid, fd)?;
    let f = k.t.files.get(&id).ok_or(Stop::Errno(EBADF))?;
    match f.kind {
        FileKind::Node(n) => Ok((n, f.flags)),
        _ => err(EINVAL),
    }
}

/// ftruncate as `sys_ftruncate`: a negative length first, then the vnode,
/// then the access mode (EINVAL when not open for writing), then EISDIR;
/// devices and fifos ignore the size (tmpfs_setattr).
pub(crate) fn ftruncate(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, len) = (c.int(0), c.word(2) as i64);
    if len < 0 {
        return err(EINVAL);
    }
    let (node, flags) = fd_vnode(k, c.pid, fd)?;
    if !writable(flags) {
        return err(EINVAL);
    }
    match k.vfs.nodes.get(&node).map(|n| &n.kind) {
        Some(NodeKind::File(_)) | Some(NodeKind::Dir { .. }) => set_size(k, node, len as u64)?,
        Some(NodeKind::Symlink(_)) => return err(EOPNOTSUPP),
        _ => {}
    }
    Ok((0, 0))
}

/// fsync: any vnode (EINVAL for a pipe).
pub(crate) fn fsync(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    fd_vnode(k, c.pid, c.int(0))?;
    Ok((0, 0))
}

/// fdatasync: a vnode open for writing (EBADF otherwise).
pub(crate) fn fdatasync(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (_, flags) = fd_vnode(k, c.pid, c.int(0))?;
    if !writable(flags) {
        return err(EBADF);
    }
    Ok((0, 0))
}

/// fsync_range(fd, flags, start, length) as `sys_fsync_range`: a vnode open
/// for writing, exactly one of FDATASYNC and FFILESYNC, and (for a non-zero
/// length) a range whose end does not wrap below its start.
pub(crate) fn fsync_range(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, flags, start, len) = (c.int(0), c.int(1), c.word(2) as i64, c.word(3) as i64);
    let (_, fflags) = fd_vnode(k, c.pid, fd)?;
    if !writable(fflags) {
        return err(EBADF);
    }
    let both = FDATASYNC | FFILESYNC;
    if flags & both == 0 || flags & both == both {
        return err(EINVAL);
    }
    if len != 0 && start.wrapping_add(len) < start {
        return err(EINVAL);
    }
    Ok((0, 0))
}

/// stat fields of a node.
pub(crate) fn node_stat(k: &SimKernel, node: crate::vfs::NodeId) -> Result<Stat, Stop> {
    let n = k.vfs.nodes.get(&node).ok_or(Stop::Errno(ENOENT))?;
    let m = k.vfs.mounts.get(&n.mount).ok_or(Stop::Errno(ENOENT))?;
    let size = n.size(m.fstype);
    let (dev, blksize, blocks) = match m.fstype {
        FsType::Tmpfs => (m.dev, 4096, size.div_ceil(4096) * 8),
        // rumpfs: st_dev is the file id too (va_fsid = va_fileid), and
        // va_bytes stays the 512 makeprivate set: one block, whatever the size.
        FsType::Rumpfs => (n.ino, 512, 1),
    };
    let rdev = match n.kind {
        NodeKind::Device { rdev, .. } => rdev,
        _ => VNOVAL,
    };
    Ok(Stat {
        dev,
        mode: n.type_bits() | n.perm,
        ino: n.ino,
        nlink: if m.fstype == FsType::Rumpfs && n.is_dir() {
            2
        } else {
            n.nlink
        },
        uid: n.uid,
        gid: n.gid,
        rdev,
        atime: n.atime,
        mtime: n.mtime,
        ctime: n.ctime,
        birthtime: n.birthtime,
        size: size as i64,
        blocks: blocks as i64,
        blksize,
        flags: n.flags,
        gen: 0,
    })
}

pub(crate) fn fstat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, buf) = (c.int(0), c.word(1));
    let id = file_of(k, c.pid, fd)?;
    let f = k.t.files.get(&id).ok_or(Stop::Errno(EBADF))?;
    let st = match f.kind {
        FileKind::Node(n) => node_stat(k, n)?,
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) => {
            // Each end has its own buffer: the write end's is always empty here.
            let buffered = match f.kind {
                FileKind::PipeRead(_) => k.t.pipes.get(&p).map_or(0, |x| x.buf.len()) as i64,
                _ => 0,
            };
            // pipe_stat: st_blksize is this end's buffer size, else its
            // peer's; only the read end has a buffer, so a write end whose
            // reader is gone reports 0.
            let cap = k.t.pipes.get(&p).map_or(PIPE_SIZE, |x| x.capacity()) as i32;
            let blksize = match f.kind {
                FileKind::PipeRead(_) => cap,
                _ if k.t.pipes.get(&p).is_some_and(|x| x.readers > 0) => cap,
                _ => 0,
            };
            let cred = &k.proc(c.pid)?.cred;
            Stat {
                mode: S_IFIFO | 0o600,
                uid: cred.euid,
                gid: cred.egid,
                size: buffered,
                blocks: i64::from(buffered > 0),
                blksize,
                atime: k.clock.realtime(),
                mtime: k.clock.realtime(),
                ctime: k.clock.realtime(),
                birthtime: k.clock.realtime(),
                ..Default::default()
            }
        }
        FileKind::Console => console_stat(k),
        FileKind::Kqueue(q) => crate::sys::kqueue::stat(k, q),
        FileKind::Socket(so) => crate::net::fstat(k, so)?,
    };
    c.copyout(buf, st.encode())?;
    Ok((0, 0))
}

/// `rumpcons_stat`: all zero but the mode (S_IFCHR | 0600) and the four
/// times, which are the boot time.
fn console_stat(k: &SimKernel) -> Stat {
    let boot = k.clock.boottime();
    Stat {
        mode: S_IFCHR | 0o600,
        atime: boot,
        mtime: boot,
        ctime: boot,
        birthtime: boot,
        ..Default::default()
    }
}

/// TIOCGETA: `_IOR('t', 19, struct termios)`, 44 bytes.
const TIOCGETA: u32 = 0x402c_7413;
/// FIONBIO: `_IOW('f', 126, int)`.
const FIONBIO: u32 = 0x8004_667e;

/// FIONREAD, FIONBIO, FIOCLEX, FIONCLEX; anything else ENOTTY. On the console
/// (`rumpcons_ioctl`) only TIOCGETA succeeds (a zeroed termios, enough for
/// isatty); FIONBIO still sets the flag, as `sys_ioctl` does before it asks
/// the file, and then fails with ENOTTY.
pub(crate) fn ioctl(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, com, data) = (c.int(0), c.word(1) as u32, c.word(2));
    let id = file_of(k, c.pid, fd)?;
    let console =
        k.t.files
            .get(&id)
            .is_some_and(|f| f.kind == FileKind::Console);
    let kqueue = matches!(
        k.t.files.get(&id).map(|f| f.kind),
        Some(FileKind::Kqueue(_))
    );
    match com {
        0x2000_6601 | 0x2000_6602 => {
            if let Some(f) = k.proc_mut(c.pid)?.fds.get_mut(&fd) {
                f.cloexec = com == 0x2000_6601;
            }
            Ok((0, 0))
        }
        FIONBIO => {
            let v = c.copyin(data, 4)?;
            let on = i32::from_le_bytes([v[0], v[1], v[2], v[3]]) != 0;
            if let Some(f) = k.t.files.get_mut(&id) {
                if on {
                    f.flags |= O_NONBLOCK;
                } else {
                    f.flags &= !O_NONBLOCK;
                }
            }
            if console || kqueue {
                return err(ENOTTY);
            }
            Ok((0, 0))
        }
        TIOCGETA if console => {
            c.copyout(data, vec![0; 44])?;
            Ok((0, 0))
        }
        _ if console => err(ENOTTY),
        _ if kqueue => crate::sys::kqueue::ioctl(c, com, data),
        _ if matches!(
            k.t.files.get(&id).map(|f| f.kind),
            Some(FileKind::Socket(_))
        ) =>
        {
            crate::sys::sockio::ioctl(k, c, id, com, data)
        }
        0x4004_667f => {
            let n = match k.t.files.get(&id).map(|f| f.kind) {
                Some(FileKind::PipeRead(p)) | Some(FileKind::PipeWrite(p)) => {
                    k.t.pipes.get(&p).map_or(0, |x| x.buf.len()) as i64
                }
                Some(FileKind::Node(node)) if k.t.fifos.contains_key(&node) => {
                    // fifo_ioctl: the read socket's count for a reader, then
                    // (overwriting it) the write socket's for a writer.
                    let fl = k.t.files.get(&id).map_or(0, |f| f.flags) + 1;
                    let fi = crate::net::fifo::info(k, node);
                    let cc = |so: Option<u64>| {
                        so.and_then(|s| k.t.sockets.get(&s))
                            .map_or(0, |s| s.rcv.cc as i64)
                    };
                    let mut v = 0;
                    if fl & 1 != 0 {
                        v = cc(fi.map(|f| f.rso));
                    }
                    if fl & 2 != 0 {
                        v = cc(fi.map(|f| f.wso));
                    }
                    v
                }
                Some(FileKind::Node(node)) => {
                    let off = k.t.files.get(&id).map_or(0, |f| f.offset) as i64;
                    k.vfs
                        .nodes
                        .get(&node)
                        .map_or(0, |n| n.size(k.vfs.fstype(node)) as i64 - off)
                        .max(0)
                }
                Some(FileKind::Console)
                | Some(FileKind::Socket(_))
                | Some(FileKind::Kqueue(_))
                | None => 0,
            };
            c.copyout(data, (n as i32).to_le_bytes().to_vec())?;
            Ok((0, 0))
        }
        _ => err(ENOTTY),
    }
}
