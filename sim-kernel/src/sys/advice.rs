//! __posix_fadvise50 (416) and posix_fallocate (479). Both report their error
//! as the return value with the error field 0 (NOERR in syscalls.master).
//!
//! posix_fadvise follows do_posix_fadvise (sys/kern/sys_descrip.c 1.30): the
//! range first (EINVAL for a negative length or one past INT64_MAX), then the
//! descriptor (EBADF), then its type (ESPIPE for a pipe, EOPNOTSUPP for the
//! console), then the advice: WILLNEED and DONTNEED on a vnode that is not a
//! regular file succeed at once; NORMAL, RANDOM and SEQUENTIAL set the open
//! file's advice; WILLNEED (uvm_readahead), DONTNEED (VOP_PUTPAGES) and
//! NOREUSE succeed; anything else is EINVAL.
//!
//! posix_fallocate follows sys_posix_fallocate (vfs_syscalls.c, as read from
//! memory, not from the sources at hand): EINVAL for a negative position or
//! length or an end past OFF_T_MAX, then fd_getvnode (EBADF, EINVAL for a
//! file that is not a vnode), EBADF unless open for writing, EISDIR for a
//! directory, and then VOP_FALLOCATE, which tmpfs (genfs_eopnotsupp) and
//! rumpfs (no entry: vn_default_error) both answer with EOPNOTSUPP.

use crate::consts::*;
use crate::proc::FileKind;
use crate::sys::io::file_of;
use crate::vfs::NodeKind;
use crate::{Ctx, SimKernel, Stop, SysResult};

const POSIX_FADV_SEQUENTIAL: i32 = 2;
const POSIX_FADV_WILLNEED: i32 = 3;
const POSIX_FADV_DONTNEED: i32 = 4;
const POSIX_FADV_NOREUSE: i32 = 5;

/// An errno as the NOERR calls return it: in retval[0], with no error.
fn as_retval(r: Result<(), Stop>) -> SysResult {
    match r {
        Ok(()) => Ok((0, 0)),
        Err(Stop::Errno(e)) => Ok((i64::from(e), 0)),
        Err(other) => Err(other),
    }
}

fn fadvise_errno(
    k: &SimKernel,
    pid: i32,
    fd: i32,
    offset: i64,
    len: i64,
    advice: i32,
) -> Result<(), Stop> {
    if len < 0 || (len > 0 && i64::MAX.wrapping_sub(offset) < len) {
        return Err(Stop::Errno(EINVAL));
    }
    let id = file_of(k, pid, fd)?;
    let f = k.t.files.get(&id).ok_or(Stop::Errno(EBADF))?;
    let node = match f.kind {
        FileKind::Node(n) => n,
        FileKind::PipeRead(_) | FileKind::PipeWrite(_) | FileKind::Socket(_) => {
            return Err(Stop::Errno(ESPIPE))
        }
        FileKind::Console | FileKind::Kqueue(_) => return Err(Stop::Errno(EOPNOTSUPP)),
    };
    let regular = k
        .vfs
        .nodes
        .get(&node)
        .is_some_and(|n| matches!(n.kind, NodeKind::File(_)));
    match advice {
        POSIX_FADV_WILLNEED | POSIX_FADV_DONTNEED if !regular => Ok(()),
        0..=POSIX_FADV_SEQUENTIAL => Ok(()),
        POSIX_FADV_WILLNEED | POSIX_FADV_DONTNEED | POSIX_FADV_NOREUSE => Ok(()),
        _ => Err(Stop::Errno(EINVAL)),
    }
}

/// __posix_fadvise50(fd, PAD, offset, len, advice).
pub(crate) fn posix_fadvise(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, offset, len, advice) = (c.int(0), c.word(2) as i64, c.word(3) as i64, c.int(4));
    as_retval(fadvise_errno(k, c.pid, fd, offset, len, advice))
}

fn fallocate_errno(k: &SimKernel, pid: i32, fd: i32, pos: i64, len: i64) -> Result<(), Stop> {
    if pos < 0 || len < 0 || len > i64::MAX - pos {
        return Err(Stop::Errno(EINVAL));
    }
    let id = file_of(k, pid, fd)?;
    let f = k.t.files.get(&id).ok_or(Stop::Errno(EBADF))?;
    let FileKind::Node(node) = f.kind else {
        return Err(Stop::Errno(EINVAL));
    };
    if f.flags & O_ACCMODE != O_WRONLY && f.flags & O_ACCMODE != O_RDWR {
        return Err(Stop::Errno(EBADF));
    }
    if k.vfs.nodes.get(&node).is_some_and(|n| n.is_dir()) {
        return Err(Stop::Errno(EISDIR));
    }
    Err(Stop::Errno(EOPNOTSUPP))
}

/// posix_fallocate(fd, PAD, pos, len).
pub(crate) fn posix_fallocate(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, pos, len) = (c.int(0), c.word(2) as i64, c.word(3) as i64);
    as_retval(fallocate_errno(k, c.pid, fd, pos, len))
}
