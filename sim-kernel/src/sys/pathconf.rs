//! pathconf and fpathconf: the answers of tmpfs_pathconf (and of the spec
//! device for character devices), and sys_fpathconf's dispatch on file type.

use crate::consts::*;
use crate::proc::FileKind;
use crate::sys::file::existing;
use crate::sys::io::file_of;
use crate::vfs::{FsType, NodeId, NodeKind};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

const PC_LINK_MAX: i32 = 1;
const PC_MAX_CANON: i32 = 2;
const PC_MAX_INPUT: i32 = 3;
const PC_NAME_MAX: i32 = 4;
const PC_PATH_MAX: i32 = 5;
const PC_PIPE_BUF: i32 = 6;
const PC_CHOWN_RESTRICTED: i32 = 7;
const PC_NO_TRUNC: i32 = 8;
const PC_VDISABLE: i32 = 9;
const PC_SYNC_IO: i32 = 10;
const PC_FILESIZEBITS: i32 = 11;
const PC_SYMLINK_MAX: i32 = 12;
const PC_2_SYMLINKS: i32 = 13;

/// `VOP_PATHCONF` of a node: tmpfs_pathconf for tmpfs nodes (LINK_MAX
/// 32767, NAME_MAX 255, PATH_MAX 1024, PIPE_BUF 512, CHOWN_RESTRICTED,
/// NO_TRUNC and SYNC_IO 1, FILESIZEBITS 64); rump_vop_pathconf for nodes of
/// the rumpfs root (the same, but FILESIZEBITS 43, and SYMLINK_MAX 1024 and
/// 2_SYMLINKS 1 besides); spec_pathconf for character devices. A tmpfs FIFO
/// passes the call on to fifofs (vn_fifo_bypass in tmpfs_fifoops.h), and a
/// rump kernel without fifofs has only the stub fifo_vnodeop_p of rumpfs.c:
/// vn_default_error, EOPNOTSUPP for every name. Any other name is EINVAL.
fn vop_pathconf(k: &SimKernel, node: NodeId, name: i32) -> SysResult {
    let kind = k.vfs.nodes.get(&node).map(|n| &n.kind);
    let rumpfs = k.vfs.fstype(node) == FsType::Rumpfs;
    if matches!(kind, Some(NodeKind::Fifo)) && !rumpfs {
        return err(EOPNOTSUPP);
    }
    let v = if matches!(kind, Some(NodeKind::Device { .. })) {
        match name {
            PC_LINK_MAX => 32767,
            PC_MAX_CANON => 255,
            PC_MAX_INPUT => 255,
            PC_PIPE_BUF => PIPE_BUF as i64,
            PC_CHOWN_RESTRICTED | PC_SYNC_IO => 1,
            PC_VDISABLE => 0xff,
            _ => return err(EINVAL),
        }
    } else {
        match name {
            PC_LINK_MAX => 32767,
            PC_NAME_MAX => 255,
            PC_PATH_MAX => MAXPATHLEN as i64,
            PC_PIPE_BUF => PIPE_BUF as i64,
            PC_CHOWN_RESTRICTED | PC_NO_TRUNC | PC_SYNC_IO => 1,
            PC_FILESIZEBITS if rumpfs => 43,
            PC_FILESIZEBITS => 64,
            PC_SYMLINK_MAX if rumpfs => MAXPATHLEN as i64,
            PC_2_SYMLINKS if rumpfs => 1,
            _ => return err(EINVAL),
        }
    };
    Ok((v, 0))
}

/// pathconf(path, name): follows symlinks.
pub(crate) fn pathconf(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let node = existing(k, c.pid, AT_FDCWD, &path, true)?;
    vop_pathconf(k, node, c.int(1))
}

/// fpathconf(fd, name): pipes answer only PIPE_BUF (EINVAL otherwise),
/// vnodes as pathconf, anything else (the console) EOPNOTSUPP.
pub(crate) fn fpathconf(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, name) = (c.int(0), c.int(1));
    let id = file_of(k, c.pid, fd)?;
    match k
        .t
        .files
        .get(&id)
        .map(|f| f.kind)
        .ok_or(Stop::Errno(EBADF))?
    {
        FileKind::PipeRead(_) | FileKind::PipeWrite(_) => {
            if name == PC_PIPE_BUF {
                Ok((PIPE_BUF as i64, 0))
            } else {
                err(EINVAL)
            }
        }
        FileKind::Node(n) => vop_pathconf(k, n, name),
        #[allow(unreachable_patterns)]
        _ => err(EOPNOTSUPP),
    }
}
