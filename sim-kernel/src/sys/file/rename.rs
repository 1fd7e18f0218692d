//! rename, renameat and __posix_rename, as NetBSD's `do_sys_renameat`.

use crate::consts::*;
use crate::sys::flags::{refuse_if, APPEND, IMMUTABLE};
use crate::vfs::{dirent_mem, FsType, Nameiop, NodeId, NodeKind, Resolved};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

use super::namei::{cred, lookup_for, lookup_op, may_modify_dir, name_ok, sticky_ok, Op};
use super::names::touch_dir;

fn is_ancestor(k: &SimKernel, anc: NodeId, mut node: NodeId) -> bool {
    for _ in 0..4096 {
        if node == anc {
            return true;
        }
        let up = match k.vfs.nodes.get(&node).map(|n| &n.kind) {
            Some(NodeKind::Dir { parent, .. }) => *parent,
            _ => return false,
        };
        if up == node {
            return false;
        }
        node = up;
    }
    false
}

/// rename as `do_sys_renameat`; `retain` (__posix_rename) keeps both names
/// when they are links to one file, where rename(2) removes the source name.
fn do_rename(
    k: &mut SimKernel,
    pid: i32,
    (fd1, from): (i32, &[u8]),
    (fd2, to): (i32, &[u8]),
    retain: bool,
) -> SysResult {
    let cr = cred(k, pid)?;
    let a = lookup_for(k, pid, fd1, from, false, Op::Remove)?;
    let src = a.node.ok_or(Stop::Errno(ENOENT))?;
    let dot = |n: &[u8]| n == b"." || n == b"..";
    // A source of "." or ".." is refused before the target is looked up.
    if dot(&a.name) {
        return err(EINVAL);
    }
    // The target's parent is looked up and its last name found without
    // crossing a mount (a covered directory is just a directory there), so
    // only "/" itself is EBUSY.
    let b = lookup_op(k, pid, fd2, to, false, Nameiop::Rename)?;
    if b.crossed && b.name == b"." {
        return err(EBUSY);
    }
    // ".." at a file system's root is looked up in the directory that root
    // covers, so the rename belongs to that file system (the captures show
    // rename(x, "..") from the root of /tmp answered by rumpfs: EOPNOTSUPP).
    let fs_of = |r: &Resolved| {
        let mut dir = r.parent;
        if r.name == b".." {
            while let Some(c) = k
                .vfs
                .mount_of(dir)
                .filter(|m| m.root == dir)
                .and_then(|m| m.covered)
            {
                dir = c;
            }
        }
        k.vfs.fstype(dir)
    };
    if fs_of(&a) == FsType::Rumpfs || fs_of(&b) == FsType::Rumpfs {
        return err(EOPNOTSUPP);
    }
    // do_sys_renameat refuses a target of "." with EISDIR and one of ".."
    // with EINVAL, whatever the source (the captures show EISDIR for a file
    // and for a directory renamed onto ".").
    if b.name == b"." {
        return err(EISDIR);
    }
    if b.name == b".." {
        return err(EINVAL);
    }
    // A missing target named with a trailing slash must become a directory.
    if b.node.is_none() && b.trailing_slash && !k.vfs.nodes.get(&src).is_some_and(|n| n.is_dir()) {
        return err(ENOENT);
    }
    let mount = |n: NodeId| k.vfs.nodes.get(&n).map(|x| x.mount);
    if mount(src) != mount(b.parent) {
        return err(EXDEV);
    }
    may_modify_dir(k, a.parent, &cr)?;
    may_modify_dir(k, b.parent, &cr)?;
    // genfs_ufslike_rename_check_possible: the source and its directory
    // neither immutable nor append-only; the target directory not immutable
    // (nor append-only when a target is replaced), the target neither.
    refuse_if(k, a.parent, IMMUTABLE | APPEND)?;
    refuse_if(k, src, IMMUTABLE | APPEND)?;
    match b.node.filter(|d| *d != src) {
        Some(dst) => {
            refuse_if(k, b.parent, IMMUTABLE | APPEND)?;
            refuse_if(k, dst, IMMUTABLE | APPEND)?;
        }
        None => refuse_if(k, b.parent, IMMUTABLE)?,
    }
    if !sticky_ok(k, a.parent, src, &cr) {
        return err(EPERM);
    }
    let src_dir = k.vfs.nodes.get(&src).is_some_and(|n| n.is_dir());
    if src_dir && is_ancestor(k, src, b.parent) {
        return err(EINVAL);
    }
    name_ok(k, b.parent, &b.name)?;
    if b.node != Some(src) {
        // A longer name needs pool room for the difference (the old entry's
        // name is freed as the new one is taken): ENOSPC as tmpfs_rename.
        k.check_pool(
            dirent_mem(&b.name).saturating_sub(dirent_mem(&a.name)),
            ENOSPC,
        )?;
    }
    if let Some(dst) = b.node {
        if dst == src {
            // Two names of one file (genfs_sane_rename): the same name is
            // left alone, another one loses its source name, as unlink would.
            if retain || (a.parent == b.parent && a.name == b.name) {
                return Ok((0, 0));
            }
            if src_dir {
                return err(EINVAL);
            }
            k.vfs.unlink_entry(a.parent, &a.name);
            let now = k.clock.realtime();
            if let Some(n) = k.vfs.nodes.get_mut(&src) {
                n.ctime = now;
            }
            touch_dir(k, a.parent);
            return Ok((0, 0));
        }
        let dn = k.vfs.nodes.get(&dst).ok_or(Stop::Errno(ENOENT))?;
        match (src_dir, dn.is_dir()) {
            (true, false) => return err(ENOTDIR),
            (false, true) => return err(EISDIR),
            (true, true) => {
                if matches!(&dn.kind, NodeKind::Dir { entries, .. } if !entries.is_empty()) {
                    return err(ENOTEMPTY);
                }
                if k.vfs.mounts.values().any(|m| m.root == dst) || dn.mounted_here.is_some() {
                    return err(EBUSY);
                }
            }
            (false, false) => {}
        }
        if !sticky_ok(k, b.parent, dst, &cr) {
            return err(EPERM);
        }
        k.vfs.unlink_entry(b.parent, &b.name);
    }
    if a.parent == b.parent {
        // Same directory: the entry keeps its place (and cookie), as tmpfs does.
        k.vfs.rename_entry(a.parent, &a.name, &b.name);
    } else {
        // Keep the node alive across the move.
        if let Some(n) = k.vfs.nodes.get_mut(&src) {
            n.open_refs += 1;
        }
        k.vfs.unlink_entry(a.parent, &a.name);
        if src_dir {
            if let Some(n) = k.vfs.nodes.get_mut(&src) {
                n.nlink += 1; // unlink_entry took the directory's 2; link adds 1 back
            }
        }
        k.vfs.link(b.parent, &b.name, src);
        if let Some(n) = k.vfs.nodes.get_mut(&src) {
            n.open_refs -= 1;
        }
    }
    let now = k.clock.realtime();
    if let Some(n) = k.vfs.nodes.get_mut(&src) {
        n.ctime = now;
    }
    // genfs_rename_cache_purge: both directories, and the moved and the
    // replaced node when they are directories
    k.vfs.purge_dot(a.parent);
    k.vfs.purge_dot(b.parent);
    k.vfs.purge_dot(src);
    if let Some(dst) = b.node {
        k.vfs.purge_dot(dst);
    }
    touch_dir(k, a.parent);
    touch_dir(k, b.parent);
    Ok((0, 0))
}

pub(crate) fn rename(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let from = c.path(0)?;
    let to = c.path(1)?;
    do_rename(k, c.pid, (AT_FDCWD, &from), (AT_FDCWD, &to), false)
}

/// __posix_rename: rename with POSIX semantics for two links of one file.
pub(crate) fn posix_rename(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let from = c.path(0)?;
    let to = c.path(1)?;
    do_rename(k, c.pid, (AT_FDCWD, &from), (AT_FDCWD, &to), true)
}

pub(crate) fn renameat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let fd1 = c.int(0);
    let from = c.path(1)?;
    let fd2 = c.int(2);
    let to = c.path(3)?;
    do_rename(k, c.pid, (fd1, &from), (fd2, &to), false)
}
