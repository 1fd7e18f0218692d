//! Path resolution and the checks every name and attribute call shares, as
//! NetBSD's namei and `fd_nameiat`: where a path starts, what a lookup is
//! for, the caller's credentials, and whether a directory takes entries.

use crate::consts::*;
use crate::proc::FileKind;
use crate::sys::flags::{refuse_if, IMMUTABLE};
use crate::sys::io::file_of;
use crate::vfs::{Cred, FsType, Nameiop, NodeId, Resolved};
use crate::{err, SimKernel, Stop};

/// The directory a path starts from, as `fd_nameiat`: with a `dirfd` other
/// than AT_FDCWD, the descriptor is checked even for an absolute path
/// (`fd_getvnode`: EBADF without a file, EINVAL for a pipe or the console);
/// a relative path then starts at that vnode, which must be a directory (ENOTDIR).
pub(crate) fn start_dir(k: &SimKernel, pid: i32, dirfd: i32, path: &[u8]) -> Result<NodeId, Stop> {
    let p = k.proc(pid)?;
    if dirfd == AT_FDCWD {
        return Ok(p.cwd);
    }
    let id = file_of(k, pid, dirfd)?;
    let node = match k.t.files.get(&id).map(|f| f.kind) {
        Some(FileKind::Node(n)) => n,
        _ => return err(EINVAL),
    };
    if path.first() == Some(&b'/') {
        return Ok(p.cwd);
    }
    // namei refuses an empty path (ENOENT) before it looks at where it starts.
    if path.is_empty() {
        return err(ENOENT);
    }
    if k.vfs.nodes.get(&node).is_some_and(|x| x.is_dir()) {
        Ok(node)
    } else {
        err(ENOTDIR)
    }
}

/// `fd_nameiat_simple_user` (chmodat, chownat, utimensat, linkat's first
/// path): the dirfd is checked (`fd_getvnode`) before the path is fetched.
pub(super) fn dirfd_first(k: &SimKernel, pid: i32, dirfd: i32) -> Result<(), Stop> {
    if dirfd == AT_FDCWD {
        return Ok(());
    }
    let id = file_of(k, pid, dirfd)?;
    match k.t.files.get(&id).map(|f| f.kind) {
        Some(FileKind::Node(_)) => Ok(()),
        _ => err(EINVAL),
    }
}

/// Resolves a path for `pid` (a LOOKUP).
pub(crate) fn lookup(
    k: &SimKernel,
    pid: i32,
    dirfd: i32,
    path: &[u8],
    follow: bool,
) -> Result<Resolved, Stop> {
    lookup_op(k, pid, dirfd, path, follow, Nameiop::Lookup)
}

/// Resolves a path for `pid` for the namei operation `iop`.
pub(crate) fn lookup_op(
    k: &SimKernel,
    pid: i32,
    dirfd: i32,
    path: &[u8],
    follow: bool,
    iop: Nameiop,
) -> Result<Resolved, Stop> {
    let start = start_dir(k, pid, dirfd, path)?;
    let p = k.proc(pid)?;
    let root = k.vfs.root_for(p.root);
    k.vfs
        .resolve(start, root, path, follow, &p.cred, iop)
        .map_err(Stop::Errno)
}

/// What a lookup is for, as namei's `nameiop`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// CREATE: a name that crossed into another file system is EEXIST.
    Create,
    /// DELETE or RENAME: such a name is EBUSY.
    Remove,
}

/// [`lookup`] for a creation or a removal: namei's rule for a last component
/// that is a file system's root reached by crossing its mount point, or "/"
/// itself (`searchdir->v_mount != foundobj->v_mount`).
pub(crate) fn lookup_for(
    k: &SimKernel,
    pid: i32,
    dirfd: i32,
    path: &[u8],
    follow: bool,
    op: Op,
) -> Result<Resolved, Stop> {
    let iop = match op {
        Op::Create => Nameiop::Create,
        Op::Remove => Nameiop::Delete,
    };
    let r = lookup_op(k, pid, dirfd, path, follow, iop)?;
    if r.crossed {
        return err(match op {
            Op::Create => EEXIST,
            Op::Remove => EBUSY,
        });
    }
    Ok(r)
}

/// An existing node for a path.
pub(crate) fn existing(
    k: &SimKernel,
    pid: i32,
    dirfd: i32,
    path: &[u8],
    follow: bool,
) -> Result<NodeId, Stop> {
    lookup(k, pid, dirfd, path, follow)?
        .node
        .ok_or(Stop::Errno(ENOENT))
}

/// The credentials of process `pid`.
pub(crate) fn cred(k: &SimKernel, pid: i32) -> Result<Cred, Stop> {
    Ok(k.proc(pid)?.cred.clone())
}

/// True if `node` lives on a read-only mount.
pub(super) fn readonly(k: &SimKernel, node: NodeId) -> bool {
    k.vfs
        .mount_of(node)
        .is_some_and(|m| m.flags & MNT_RDONLY != 0)
}

/// Checks that `cred` may add or remove entries in `dir`.
pub(crate) fn may_modify_dir(k: &SimKernel, dir: NodeId, cred: &Cred) -> Result<(), Stop> {
    // A removed directory (kept alive as somebody's cwd or open file) takes no new entries.
    if k.vfs.nodes.get(&dir).is_none_or(|d| d.nlink == 0) {
        return err(ENOENT);
    }
    if readonly(k, dir) {
        return err(EROFS);
    }
    // The lookup searched it (VEXEC), then VOP_ACCESS(VWRITE): an immutable
    // directory takes no entries, whoever asks.
    if !k.vfs.permits(dir, cred, X_OK) {
        return err(EACCES);
    }
    refuse_if(k, dir, IMMUTABLE)?;
    if !k.vfs.permits(dir, cred, W_OK | X_OK) {
        return err(EACCES);
    }
    Ok(())
}

/// The sticky-directory rule for removing or renaming `node` out of `dir`.
pub(super) fn sticky_ok(k: &SimKernel, dir: NodeId, node: NodeId, cred: &Cred) -> bool {
    let (Some(d), Some(n)) = (k.vfs.nodes.get(&dir), k.vfs.nodes.get(&node)) else {
        return false;
    };
    cred.is_root() || d.perm & S_ISTXT == 0 || cred.euid == n.uid || cred.euid == d.uid
}

/// ENAMETOOLONG for a name longer than the file system of `dir` takes.
pub(crate) fn name_ok(k: &SimKernel, dir: NodeId, name: &[u8]) -> Result<(), Stop> {
    let max = match k.vfs.fstype(dir) {
        FsType::Tmpfs => TMPFS_NAME_MAX,
        FsType::Rumpfs => RUMPFS_NAME_MAX,
    };
    if name.len() > max {
        return err(ENAMETOOLONG);
    }
    Ok(())
}

/// The node behind a descriptor (EINVAL for pipes).
pub(crate) fn fd_node(k: &SimKernel, pid: i32, fd: i32) -> Result<NodeId, Stop> {
    let id = file_of(k, pid, fd)?;
    match k.t.files.get(&id).map(|f| f.kind) {
        Some(FileKind::Node(n)) => Ok(n),
        _ => err(EINVAL),
    }
}
