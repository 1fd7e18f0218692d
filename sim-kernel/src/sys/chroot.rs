//! chroot and fchroot (vfs_syscalls.c 1.500): root only
//! (KAUTH_SYSTEM_CHROOT, checked before the path is fetched), then the
//! directory and search checks of chdir, then `change_root`.

use crate::consts::*;
use crate::sys::file::{existing, fd_node};
use crate::vfs::NodeId;
use crate::{err, Ctx, SimKernel, Stop, SysResult};

fn must_be_root(k: &SimKernel, pid: i32) -> Result<(), Stop> {
    if k.proc(pid)?.cred.is_root() {
        Ok(())
    } else {
        err(EPERM)
    }
}

/// `chdir_lookup`'s checks on the found vnode: ENOTDIR, then EACCES without
/// search permission.
fn searchable_dir(k: &SimKernel, pid: i32, node: NodeId) -> Result<(), Stop> {
    let n = k.vfs.nodes.get(&node).ok_or(Stop::Errno(ENOENT))?;
    if !n.is_dir() {
        return err(ENOTDIR);
    }
    if !k.vfs.permits(node, &k.proc(pid)?.cred, X_OK) {
        return err(EACCES);
    }
    Ok(())
}

/// `change_root`: `dir` becomes the process's root; a cwd that is not under
/// it moves to it; the credentials change, so the process is set-id tainted
/// (proc_crmod_leave with sugid).
fn change_root(k: &mut SimKernel, pid: i32, dir: NodeId) -> SysResult {
    let (old_root, cwd) = {
        let p = k.proc(pid)?;
        (p.root, p.cwd)
    };
    let move_cwd = !k.vfs.is_under(cwd, dir);
    let p = k.proc_mut(pid)?;
    p.root = Some(dir);
    p.sugid = true;
    if move_cwd {
        p.cwd = dir;
    }
    let mut held = vec![dir];
    let mut released: Vec<NodeId> = old_root.into_iter().collect();
    if move_cwd {
        held.push(dir);
        released.push(cwd);
    }
    for n in held {
        if let Some(node) = k.vfs.nodes.get_mut(&n) {
            node.cwd_refs += 1;
        }
    }
    for n in released {
        if let Some(node) = k.vfs.nodes.get_mut(&n) {
            node.cwd_refs = node.cwd_refs.saturating_sub(1);
        }
        k.vfs.maybe_free(n);
    }
    Ok((0, 0))
}

pub(crate) fn chroot(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    must_be_root(k, c.pid)?;
    let path = c.path(0)?;
    let node = existing(k, c.pid, AT_FDCWD, &path, true)?;
    searchable_dir(k, c.pid, node)?;
    change_root(k, c.pid, node)
}

pub(crate) fn fchroot(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    must_be_root(k, c.pid)?;
    // fd_getvnode: EBADF without a file, EINVAL for a pipe or the console.
    let node = fd_node(k, c.pid, c.int(0))?;
    searchable_dir(k, c.pid, node)?;
    change_root(k, c.pid, node)
}
