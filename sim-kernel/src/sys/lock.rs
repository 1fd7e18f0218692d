//! fcntl's advisory-lock commands (F_GETLK, F_SETLK, F_SETLKW) as
//! `do_fcntl_lock` and `lf_advlock` check them, and flock(2) (131) as
//! `sys_flock` does, on the vnode lock lists of [`crate::lockf`]. POSIX
//! locks go on any close of the vnode by their process
//! ([`SimKernel::close_fd`]), flock locks on the last close of their file.

use crate::consts::*;
use crate::lockf::{Lock, Owner, F_UNLCK, TO_EOF};
use crate::proc::FileKind;
use crate::sys::io::file_of;
use crate::vfs::NodeId;
use crate::{err, Ctx, SimKernel, Stop, SysResult};

/// F_GETLK.
pub const F_GETLK: i32 = 7;
/// F_SETLK.
pub const F_SETLK: i32 = 8;
/// F_SETLKW.
pub const F_SETLKW: i32 = 9;
use crate::lockf::{F_RDLCK, F_WRLCK};

/// The lock commands: the `struct flock` (24 bytes: start, len, pid, type,
/// whence) is copied in first, then the descriptor is checked (EBADF, EINVAL
/// for a non-vnode), then the type and the range.
pub(crate) fn lock_cmd(k: &mut SimKernel, c: &mut Ctx<'_, '_>, cmd: i32) -> SysResult {
    let (fd, arg) = (c.int(0), c.word(2));
    let mut fl = c.copyin(arg, 24)?;
    let start = i64::from_le_bytes(fl[0..8].try_into().unwrap_or([0; 8]));
    let len = i64::from_le_bytes(fl[8..16].try_into().unwrap_or([0; 8]));
    let ty = i16::from_le_bytes(fl[20..22].try_into().unwrap_or([0; 2]));
    let whence = i16::from_le_bytes(fl[22..24].try_into().unwrap_or([0; 2]));
    let id = file_of(k, c.pid, fd)?;
    let f = k.t.files.get(&id).ok_or(Stop::Errno(EBADF))?;
    let FileKind::Node(node) = f.kind else {
        return err(EINVAL);
    };
    let (flags, offset) = (f.flags, f.offset as i64);
    let size = k
        .vfs
        .nodes
        .get(&node)
        .map_or(0, |n| n.size(k.vfs.fstype(node))) as i64;
    match (cmd, ty) {
        (F_GETLK, F_RDLCK | F_WRLCK | F_UNLCK) => {}
        (_, F_RDLCK) if flags & O_ACCMODE == O_WRONLY => return err(EBADF),
        (_, F_WRLCK) if flags & O_ACCMODE == 0 => return err(EBADF),
        (F_SETLK | F_SETLKW, F_RDLCK | F_WRLCK | F_UNLCK) => {}
        _ => return err(EINVAL),
    }
    // lf_advlock: the range must start at or after 0.
    let base = match whence {
        0 => start,
        1 => start.wrapping_add(offset),
        2 => start.wrapping_add(size),
        _ => return err(EINVAL),
    };
    let first = if len < 0 {
        base.wrapping_add(len)
    } else {
        base
    };
    if first < 0 {
        return err(EINVAL);
    }
    let end = match len {
        0 => TO_EOF,
        // A range reaching past the largest offset runs to the end.
        l if l > 0 => base.checked_add(l - 1).unwrap_or(TO_EOF),
        _ => base - 1,
    };
    let req = Lock {
        owner: Owner::Posix(c.pid),
        start: first,
        end,
        ty,
    };
    if cmd == F_GETLK {
        // lf_getlock: the first conflicting lock, as SEEK_SET; else only the
        // type changes (and the start SEEK_CUR made absolute).
        match k.locks.blocker(node, &req) {
            Some(b) => {
                let len = if b.end == TO_EOF {
                    0
                } else {
                    b.end - b.start + 1
                };
                let pid = match b.owner {
                    Owner::Posix(p) => p,
                    Owner::Flock(_) => -1,
                };
                fl[0..8].copy_from_slice(&b.start.to_le_bytes());
                fl[8..16].copy_from_slice(&len.to_le_bytes());
                fl[16..20].copy_from_slice(&pid.to_le_bytes());
                fl[20..22].copy_from_slice(&b.ty.to_le_bytes());
                fl[22..24].copy_from_slice(&0i16.to_le_bytes());
            }
            None => {
                if whence == 1 {
                    fl[0..8].copy_from_slice(&base.to_le_bytes());
                }
                fl[20..22].copy_from_slice(&F_UNLCK.to_le_bytes());
            }
        }
        c.copyout(arg, fl)?;
        return Ok((0, 0));
    }
    setlock(k, c.pid, node, req, cmd == F_SETLKW)
}

/// The wait key of a vnode's lock list (apart from the pipes' keys).
pub fn lock_key(node: NodeId) -> u64 {
    (1 << 62) | node
}

/// F_SETLK / F_SETLKW / flock once checked: an unlock cuts the owner's locks;
/// a lock is taken when nothing blocks it, else fails with EAGAIN (without
/// F_WAIT), EDEADLK (a POSIX wait that closes a cycle of waiting processes),
/// or waits for the vnode's locks to change. A waiting flock upgrade first
/// gives up the owner's shared lock, as lf_setlock does before it sleeps.
fn setlock(k: &mut SimKernel, pid: i32, node: NodeId, req: Lock, wait: bool) -> SysResult {
    if req.ty == F_UNLCK {
        if k.locks.clear(node, req.owner, req.start, req.end) {
            k.bump_key(lock_key(node));
        }
        return Ok((0, 0));
    }
    if let Some(b) = k.locks.blocker(node, &req) {
        if !wait {
            k.locks.waiting.remove(&pid);
            return err(EAGAIN);
        }
        if matches!(req.owner, Owner::Posix(_)) && k.locks.deadlock(pid, &b) {
            k.locks.waiting.remove(&pid);
            return err(EDEADLK);
        }
        if matches!(req.owner, Owner::Flock(_))
            && req.ty == F_WRLCK
            && k.locks.clear(node, req.owner, req.start, req.end)
        {
            k.bump_key(lock_key(node));
        }
        if matches!(req.owner, Owner::Posix(_)) {
            k.locks.waiting.insert(pid, (node, req));
        }
        return Err(Stop::BlockedOn(lock_key(node)));
    }
    if matches!(req.owner, Owner::Posix(_)) {
        k.locks.waiting.remove(&pid);
    }
    k.locks.set(node, req);
    k.bump_key(lock_key(node));
    Ok((0, 0))
}

/// LOCK_SH.
const LOCK_SH: i32 = 1;
/// LOCK_EX.
const LOCK_EX: i32 = 2;
/// LOCK_NB.
const LOCK_NB: i32 = 4;
/// LOCK_UN.
const LOCK_UN: i32 = 8;

/// flock(fd, how) as sys_flock: EBADF, EOPNOTSUPP for a file that is not a
/// vnode, EINVAL unless `how` without LOCK_NB is exactly one of LOCK_SH,
/// LOCK_EX or LOCK_UN; then a whole-file lock owned by the open file (no
/// access-mode check), EWOULDBLOCK (EAGAIN) with LOCK_NB on a conflict.
pub(crate) fn flock(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, how) = (c.int(0), c.int(1));
    let id = file_of(k, c.pid, fd)?;
    let f = k.t.files.get(&id).ok_or(Stop::Errno(EBADF))?;
    let FileKind::Node(node) = f.kind else {
        return err(EOPNOTSUPP);
    };
    let ty = match how & !LOCK_NB {
        LOCK_UN => F_UNLCK,
        LOCK_EX => F_WRLCK,
        LOCK_SH => F_RDLCK,
        _ => return err(EINVAL),
    };
    let req = Lock {
        owner: Owner::Flock(id),
        start: 0,
        end: TO_EOF,
        ty,
    };
    setlock(k, c.pid, node, req, how & LOCK_NB == 0)
}
