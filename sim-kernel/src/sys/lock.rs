//! fcntl's advisory-lock commands (F_GETLK, F_SETLK, F_SETLKW) as
//! `do_fcntl_lock` and `lf_advlock` check them. There is no lock table yet:
//! a process never conflicts with its own locks, so for one process F_GETLK
//! always reports F_UNLCK and F_SETLK succeeds; locks of other processes are
//! not seen (`sys::PARTIAL` lists fcntl as partial for this, and `rumpsp
//! syscalls` shows it).

use crate::consts::*;
use crate::proc::FileKind;
use crate::sys::io::file_of;
use crate::{err, Ctx, SimKernel, Stop, SysResult};

/// F_GETLK.
pub const F_GETLK: i32 = 7;
/// F_SETLK.
pub const F_SETLK: i32 = 8;
/// F_SETLKW.
pub const F_SETLKW: i32 = 9;
const F_RDLCK: i16 = 1;
const F_UNLCK: i16 = 2;
const F_WRLCK: i16 = 3;

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
    if cmd == F_GETLK {
        // No conflicting lock: only the type changes.
        if whence == 1 {
            fl[0..8].copy_from_slice(&base.to_le_bytes());
        }
        fl[20..22].copy_from_slice(&F_UNLCK.to_le_bytes());
        c.copyout(arg, fl)?;
    }
    Ok((0, 0))
}
