//! File flags: chflags, fchflags, lchflags (vfs_syscalls.c `change_flags`:
//! VOP_SETATTR with only va_flags set), as tmpfs (`tmpfs_chflags`) and
//! rumpfs (`rump_vop_setattr`) apply them. The flags show in st_flags.
//!
//! tmpfs enforces IMMUTABLE and APPEND (each the user and the system bit;
//! sys/fs/tmpfs/tmpfs_vnops.c and tmpfs_subr.c): a write access to an
//! immutable node is EPERM (`tmpfs_access`, after EROFS and before the
//! permission bits); chmod, chown, utimes and a size change of an immutable
//! or append-only node are EPERM (`tmpfs_chmod`, `tmpfs_chown`,
//! `tmpfs_chtimes`, `tmpfs_chsize`); such a node cannot be removed, linked or
//! renamed, nor can anything be removed from or renamed out of an append-only
//! directory (`tmpfs_remove`, `tmpfs_rmdir`, `tmpfs_link`,
//! `genfs_ufslike_rename_check_possible`); an append-only file opens for
//! writing only with O_APPEND (`tmpfs_open`) and takes writes only at its end
//! (`tmpfs_write`). rumpfs keeps the flags but never looks at them.

use crate::consts::*;
use crate::sys::file::{existing, fd_node};
use crate::vfs::{FsType, NodeId, NodeKind};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

/// IMMUTABLE: the user and the system immutable bits.
pub(crate) const IMMUTABLE: u32 = UF_IMMUTABLE | SF_IMMUTABLE;
/// APPEND: the user and the system append-only bits.
pub(crate) const APPEND: u32 = UF_APPEND | SF_APPEND;

/// The flags of `node` its file system enforces: tmpfs's, none on rumpfs.
pub(crate) fn enforced(k: &SimKernel, node: NodeId) -> u32 {
    match k.vfs.nodes.get(&node) {
        Some(n) if k.vfs.fstype(node) == FsType::Tmpfs => n.flags,
        _ => 0,
    }
}

/// EPERM when `node` has one of the enforced flags in `mask`.
pub(crate) fn refuse_if(k: &SimKernel, node: NodeId, mask: u32) -> Result<(), Stop> {
    if enforced(k, node) & mask != 0 {
        return err(EPERM);
    }
    Ok(())
}

/// `genfs_can_chflags`: the owner may change user flags of anything but a
/// device, nobody else anything (root is allowed before this is asked).
fn can_chflags(euid: u32, owner: u32, device: bool, changing_sysflags: bool) -> Result<(), Stop> {
    if euid != owner || changing_sysflags || device {
        return err(EPERM);
    }
    Ok(())
}

/// Applies a va_flags of `flags` (an u_long) to `node`.
fn change_flags(k: &mut SimKernel, pid: i32, node: NodeId, flags: u64) -> SysResult {
    // VNOVAL: no attribute to set, nothing happens.
    if flags == VNOVAL {
        return Ok((0, 0));
    }
    let cred = k.proc(pid)?.cred.clone();
    let fstype = k.vfs.fstype(node);
    let readonly = k
        .vfs
        .mount_of(node)
        .is_some_and(|m| m.flags & MNT_RDONLY != 0);
    let n = k.vfs.nodes.get(&node).ok_or(Stop::Errno(ENOENT))?;
    let device = matches!(n.kind, NodeKind::Device { .. });
    // st_flags is 32 bits wide: tmpfs_chflags takes an int, vn_stat keeps
    // the low 32 bits of rumpfs's u_long.
    let flags = flags as u32;
    let new = match fstype {
        FsType::Tmpfs => {
            if readonly {
                return err(EROFS);
            }
            let changing_sysflags = flags & SF_SETTABLE != n.flags & SF_SETTABLE;
            if !cred.is_root() {
                can_chflags(cred.euid, n.uid, device, changing_sysflags)?;
            }
            if changing_sysflags {
                flags
            } else {
                (n.flags & SF_SETTABLE) | (flags & UF_SETTABLE)
            }
        }
        // rumpfs asks only as for user flags ("XXX Can we handle system
        // flags here...?") and stores the value whole.
        FsType::Rumpfs => {
            if !cred.is_root() {
                can_chflags(cred.euid, n.uid, device, false)?;
            }
            flags
        }
    };
    let now = k.clock.realtime();
    if let Some(n) = k.vfs.nodes.get_mut(&node) {
        n.flags = new;
        if fstype == FsType::Tmpfs {
            n.ctime = now;
        }
    }
    Ok((0, 0))
}

pub(crate) fn chflags(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let node = existing(k, c.pid, AT_FDCWD, &path, true)?;
    change_flags(k, c.pid, node, c.word(1))
}

pub(crate) fn lchflags(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let node = existing(k, c.pid, AT_FDCWD, &path, false)?;
    change_flags(k, c.pid, node, c.word(1))
}

pub(crate) fn fchflags(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    // fd_getvnode: EBADF without a file, EINVAL for a pipe or the console.
    let node = fd_node(k, c.pid, c.int(0))?;
    change_flags(k, c.pid, node, c.word(1))
}
