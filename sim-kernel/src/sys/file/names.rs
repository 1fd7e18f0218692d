//! Name operations: open and create, mkdir, unlink and rmdir, link,
//! symlink and readlink (rename is in `rename`).

use crate::consts::*;
use crate::proc::FileKind;
use crate::sys::flags::{refuse_if, APPEND, IMMUTABLE};
use crate::sys::io::set_size;
use crate::vfs::{dirent_mem, node_meta, Cred, DirEntries, NodeId, NodeKind, WHITEOUT};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

use super::namei::{
    cred, dirfd_first, existing, lookup, lookup_for, may_modify_dir, name_ok, readonly, sticky_ok,
    Op,
};

/// Creates and links a node in `dir`; checks the tmpfs node limit.
pub(crate) fn create(
    k: &mut SimKernel,
    dir: NodeId,
    name: &[u8],
    kind: NodeKind,
    perm: u32,
    cred: &Cred,
) -> Result<NodeId, Stop> {
    let now = k.clock.realtime();
    let d = k.vfs.nodes.get(&dir).ok_or(Stop::Errno(ENOENT))?;
    let (mount, gid) = (d.mount, d.gid);
    let m = k.vfs.mounts.get(&mount).ok_or(Stop::Errno(EIO))?;
    if m.nodes_max > 0 && m.nodes_used >= m.nodes_max {
        return err(ENOSPC);
    }
    // The memory pool: the node, its entry's name and a symlink's target,
    // ENOSPC as tmpfs_alloc_node/tmpfs_alloc_dirent fail when tmpfs_mem_incr does.
    k.check_pool(node_meta(&kind) + dirent_mem(name), ENOSPC)?;
    let is_dir = matches!(kind, NodeKind::Dir { .. });
    let node = k.vfs.alloc(mount, kind, perm, cred.euid, gid, now);
    if is_dir {
        if let Some(n) = k.vfs.nodes.get_mut(&node) {
            n.nlink = 1;
        }
    }
    // tmpfs_alloc_file: a whiteout of the name is removed before the new
    // entry is attached (Vfs::link), and the new node is made opaque.
    let over_whiteout = k.vfs.is_whiteout(dir, name);
    k.vfs.link(dir, name, node);
    if over_whiteout {
        if let Some(n) = k.vfs.nodes.get_mut(&node) {
            n.flags |= UF_OPAQUE;
        }
    }
    if let Some(d) = k.vfs.nodes.get_mut(&dir) {
        d.mtime = now;
        d.ctime = now;
    }
    Ok(node)
}

fn do_open(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    dirfd: i32,
    path: Vec<u8>,
    flags: i32,
    mode: u32,
) -> SysResult {
    let flags = flags & !O_SEARCH;
    // do_sys_openat: the dirfd once the path is in, then vn_open's flag
    // checks: no access mode (FFLAGS of O_ACCMODE) and O_CREAT with
    // O_DIRECTORY are EINVAL before any lookup.
    dirfd_first(k, c.pid, dirfd)?;
    if flags & O_ACCMODE == O_ACCMODE || flags & (O_CREAT | O_DIRECTORY) == O_CREAT | O_DIRECTORY {
        return err(EINVAL);
    }
    let cr = cred(k, c.pid)?;
    let follow = flags & O_NOFOLLOW == 0 && flags & (O_CREAT | O_EXCL) != (O_CREAT | O_EXCL);
    let r = if flags & O_CREAT != 0 {
        lookup_for(k, c.pid, dirfd, &path, follow, Op::Create)?
    } else {
        lookup(k, c.pid, dirfd, &path, follow)?
    };
    let wants_write = flags & O_ACCMODE != 0 || flags & O_TRUNC != 0;
    let node = match r.node {
        None => {
            if flags & O_CREAT == 0 {
                return err(ENOENT);
            }
            if r.trailing_slash {
                return err(ENOENT);
            }
            name_ok(k, r.parent, &r.name)?;
            may_modify_dir(k, r.parent, &cr)?;
            let umask = k.proc(c.pid)?.umask;
            let perm = (mode & !umask) & ALLPERMS & !S_ISTXT;
            create(k, r.parent, &r.name, NodeKind::File(Vec::new()), perm, &cr)?
        }
        Some(n) => {
            if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                return err(EEXIST);
            }
            let nd = k.vfs.nodes.get(&n).ok_or(Stop::Errno(ENOENT))?;
            if matches!(nd.kind, NodeKind::Symlink(_)) {
                return err(EFTYPE);
            }
            if flags & O_DIRECTORY != 0 && !nd.is_dir() {
                return err(ENOTDIR);
            }
            if nd.is_dir() && wants_write {
                return err(EISDIR);
            }
            // vn_open: VOP_ACCESS(VREAD), then VOP_ACCESS(VWRITE), which
            // says EROFS, then EPERM for an immutable node, then EACCES.
            if flags & O_ACCMODE != O_WRONLY && !k.vfs.permits(n, &cr, R_OK) {
                return err(EACCES);
            }
            if wants_write {
                if readonly(k, n) {
                    return err(EROFS);
                }
                refuse_if(k, n, IMMUTABLE)?;
                if !k.vfs.permits(n, &cr, W_OK) {
                    return err(EACCES);
                }
            }
            // vn_open truncates for O_TRUNC whatever the access mode (it
            // asked for write permission above): the captures show an
            // O_RDONLY|O_TRUNC open emptying a file.
            if flags & O_TRUNC != 0 && matches!(nd.kind, NodeKind::File(_)) {
                set_size(k, n, 0)?;
            }
            vop_open(k, n, flags)?;
            // tmpfs_open: an append-only file opens for writing only to append.
            if flags & O_ACCMODE != 0 && flags & O_APPEND == 0 {
                refuse_if(k, n, APPEND)?;
            }
            n
        }
    };
    let kept = (flags & O_ACCMODE) | (flags & SETFL_MASK);
    let file = k.t.new_file(FileKind::Node(node), kept);
    if let Some(n) = k.vfs.nodes.get_mut(&node) {
        n.open_refs += 1;
    }
    match k.install_fd(c.pid, file, flags & O_CLOEXEC != 0) {
        Ok(fd) => Ok((i64::from(fd), 0)),
        Err(e) => {
            k.file_unref(file);
            Err(e)
        }
    }
}

/// `VOP_OPEN` of an existing node. A fifo fails with EOPNOTSUPP: the
/// recorded server (`-lrumpvfs -lrumpfs_tmpfs`) has no fifofs, and the
/// placeholder fifo ops in librumpvfs answer every call with EOPNOTSUPP
/// (traces/net/README, fifo_stub). A device node opens only if a driver has
/// its number: spec_open answers ENXIO for any other; the one driver modelled
/// is the console's, device 0.
fn vop_open(k: &mut SimKernel, node: NodeId, flags: i32) -> Result<(), Stop> {
    match k.vfs.nodes.get(&node).map(|n| &n.kind) {
        // With fifofs in effect, fifo_open (sim-kernel/src/net/fifo.rs).
        Some(NodeKind::Fifo) if crate::net::fifo::enabled(k) => {
            crate::net::fifo::open(k, node, flags)
        }
        Some(NodeKind::Fifo) => err(EOPNOTSUPP),
        // A socket node does not open (vn_open: EOPNOTSUPP for VSOCK).
        Some(NodeKind::Socket) => err(EOPNOTSUPP),
        Some(NodeKind::Device { rdev, .. }) if *rdev != 0 => err(ENXIO),
        _ => Ok(()),
    }
}

pub(crate) fn open(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let (flags, mode) = (c.int(1), c.int(2) as u32);
    do_open(k, c, AT_FDCWD, path, flags, mode)
}

pub(crate) fn openat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let dirfd = c.int(0);
    let path = c.path(1)?;
    let (flags, mode) = (c.int(2), c.int(3) as u32);
    do_open(k, c, dirfd, path, flags, mode)
}

fn do_mkdir(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    dirfd: i32,
    path: Vec<u8>,
    mode: u32,
) -> SysResult {
    let cr = cred(k, c.pid)?;
    let r = lookup_for(k, c.pid, dirfd, &path, false, Op::Create)?;
    if r.node.is_some() {
        return err(EEXIST);
    }
    name_ok(k, r.parent, &r.name)?;
    may_modify_dir(k, r.parent, &cr)?;
    let umask = k.proc(c.pid)?.umask;
    let perm = (mode & 0o777) & !umask;
    create(
        k,
        r.parent,
        &r.name,
        NodeKind::Dir {
            entries: DirEntries::default(),
            next_cookie: 3,
            parent: r.parent,
        },
        perm,
        &cr,
    )?;
    Ok((0, 0))
}

pub(crate) fn mkdir(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let mode = c.int(1) as u32;
    do_mkdir(k, c, AT_FDCWD, path, mode)
}

pub(crate) fn mkdirat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let dirfd = c.int(0);
    let path = c.path(1)?;
    let mode = c.int(2) as u32;
    do_mkdir(k, c, dirfd, path, mode)
}

/// Sets a directory's mtime and ctime to now (an entry was added or removed).
pub(super) fn touch_dir(k: &mut SimKernel, dir: NodeId) {
    let now = k.clock.realtime();
    if let Some(d) = k.vfs.nodes.get_mut(&dir) {
        d.mtime = now;
        d.ctime = now;
    }
}

/// unlink, rmdir and unlinkat as NetBSD's `do_sys_unlinkat` (rmdir is
/// unlinkat with AT_REMOVEDIR; no other flag bit is looked at). After the
/// lookup (and, for a name other than "." and "..", the parent's write
/// permission and sticky bit, which tmpfs_lookup checks): the root of a file
/// system or a covered directory is EBUSY, "." EINVAL, a directory without
/// AT_REMOVEDIR EPERM, anything else with it ENOTDIR; then tmpfs_rmdir
/// (ENOTEMPTY, which ".." always is) or tmpfs_remove.
fn do_unlinkat(k: &mut SimKernel, pid: i32, dirfd: i32, path: &[u8], flags: i32) -> SysResult {
    let cr = cred(k, pid)?;
    let r = lookup_for(k, pid, dirfd, path, false, Op::Remove)?;
    let node = r.node.ok_or(Stop::Errno(ENOENT))?;
    // Nothing can be removed from a directory that has itself been removed
    // (kept alive as a cwd or an open file): the captures show rmdir(".")
    // there answered ENOENT.
    if k.vfs.nodes.get(&r.parent).is_none_or(|d| d.nlink == 0) {
        return err(ENOENT);
    }
    let dot = r.name == b"." || r.name == b"..";
    if !dot {
        may_modify_dir(k, r.parent, &cr)?;
        if !sticky_ok(k, r.parent, node, &cr) {
            return err(EPERM);
        }
    }
    let nd = k.vfs.nodes.get(&node).ok_or(Stop::Errno(ENOENT))?;
    if k.vfs.mounts.values().any(|m| m.root == node) || nd.mounted_here.is_some() {
        return err(EBUSY);
    }
    if r.parent == node {
        return err(EINVAL);
    }
    let removedir = flags & AT_REMOVEDIR != 0;
    if nd.is_dir() {
        if !removedir {
            return err(EPERM);
        }
        // tmpfs_rmdir: only whiteout entries may be left, and they go with it.
        let empty = matches!(&nd.kind, NodeKind::Dir { entries, .. }
            if entries.iter().all(|e| e.node == WHITEOUT));
        if r.name == b".." || !empty {
            return err(ENOTEMPTY);
        }
        refuse_if(k, r.parent, APPEND)?;
        refuse_if(k, node, IMMUTABLE | APPEND)?;
        k.vfs.clear_whiteouts(node);
        // tmpfs_rmdir: cache_purge(dvp)
        k.vfs.purge_dot(r.parent);
    } else {
        if removedir {
            return err(ENOTDIR);
        }
        refuse_if(k, node, IMMUTABLE | APPEND)?;
        refuse_if(k, r.parent, APPEND)?;
        let now = k.clock.realtime();
        if let Some(n) = k.vfs.nodes.get_mut(&node) {
            n.ctime = now;
        }
    }
    k.vfs.unlink_entry(r.parent, &r.name);
    touch_dir(k, r.parent);
    Ok((0, 0))
}

pub(crate) fn rmdir(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    do_unlinkat(k, c.pid, AT_FDCWD, &path, AT_REMOVEDIR)
}

pub(crate) fn unlink(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    do_unlinkat(k, c.pid, AT_FDCWD, &path, 0)
}

pub(crate) fn unlinkat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let dirfd = c.int(0);
    let path = c.path(1)?;
    do_unlinkat(k, c.pid, dirfd, &path, c.int(2))
}

fn do_link(
    k: &mut SimKernel,
    pid: i32,
    fd1: i32,
    from: &[u8],
    fd2: i32,
    to: &[u8],
    follow: bool,
) -> SysResult {
    let cr = cred(k, pid)?;
    let src = existing(k, pid, fd1, from, follow)?;
    // do_sys_linkat: the new name first (EEXIST), then no directory (EPERM).
    let r = lookup_for(k, pid, fd2, to, false, Op::Create)?;
    if r.node.is_some() {
        return err(EEXIST);
    }
    if k.vfs.nodes.get(&src).is_some_and(|n| n.is_dir()) {
        return err(EPERM);
    }
    // Only a directory may be created under a name with a trailing slash.
    if r.trailing_slash {
        return err(ENOENT);
    }
    if k.vfs.nodes.get(&src).map(|n| n.mount) != k.vfs.nodes.get(&r.parent).map(|n| n.mount) {
        return err(EXDEV);
    }
    name_ok(k, r.parent, &r.name)?;
    may_modify_dir(k, r.parent, &cr)?;
    refuse_if(k, src, IMMUTABLE | APPEND)?;
    // The new entry and its name come out of the pool (tmpfs_alloc_dirent: ENOSPC).
    k.check_pool(dirent_mem(&r.name), ENOSPC)?;
    k.vfs.link(r.parent, &r.name, src);
    let now = k.clock.realtime();
    if let Some(n) = k.vfs.nodes.get_mut(&src) {
        n.ctime = now;
    }
    touch_dir(k, r.parent);
    Ok((0, 0))
}

/// link and linkat share this: as NetBSD's do_sys_linkat, the first path is
/// looked up before the second one is copied in, so a first path that does not
/// resolve fails without the second string being fetched.
fn link_common(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    fd1: i32,
    from_slot: usize,
    fd2: i32,
    to_slot: usize,
    follow: bool,
) -> SysResult {
    dirfd_first(k, c.pid, fd1)?;
    let from = c.path(from_slot)?;
    existing(k, c.pid, fd1, &from, follow)?;
    let to = c.path(to_slot)?;
    do_link(k, c.pid, fd1, &from, fd2, &to, follow)
}

/// link(2) is linkat with AT_SYMLINK_FOLLOW (`sys_link`).
pub(crate) fn link(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    link_common(k, c, AT_FDCWD, 0, AT_FDCWD, 1, true)
}

/// linkat(fd1, name1, fd2, name2, flags): follows a symlink in name1 only with AT_SYMLINK_FOLLOW.
pub(crate) fn linkat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd1, fd2) = (c.int(0), c.int(2));
    let follow = c.int(4) & AT_SYMLINK_FOLLOW != 0;
    link_common(k, c, fd1, 1, fd2, 3, follow)
}

fn do_symlink(k: &mut SimKernel, pid: i32, target: Vec<u8>, dirfd: i32, path: &[u8]) -> SysResult {
    let cr = cred(k, pid)?;
    let r = lookup_for(k, pid, dirfd, path, false, Op::Create)?;
    if r.node.is_some() {
        return err(EEXIST);
    }
    // Only a directory may be created under a name with a trailing slash.
    if r.trailing_slash {
        return err(ENOENT);
    }
    name_ok(k, r.parent, &r.name)?;
    may_modify_dir(k, r.parent, &cr)?;
    let umask = k.proc(pid)?.umask;
    create(
        k,
        r.parent,
        &r.name,
        NodeKind::Symlink(target),
        0o777 & !umask,
        &cr,
    )?;
    Ok((0, 0))
}

pub(crate) fn symlink(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let target = c.path(0)?;
    let path = c.path(1)?;
    do_symlink(k, c.pid, target, AT_FDCWD, &path)
}

pub(crate) fn symlinkat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let target = c.path(0)?;
    let dirfd = c.int(1);
    let path = c.path(2)?;
    do_symlink(k, c.pid, target, dirfd, &path)
}

fn do_readlink(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    dirfd: i32,
    path: &[u8],
    buf: u64,
    count: u64,
) -> SysResult {
    let node = existing(k, c.pid, dirfd, path, false)?;
    let NodeKind::Symlink(t) = &k.vfs.nodes.get(&node).ok_or(Stop::Errno(ENOENT))?.kind else {
        return err(EINVAL);
    };
    let n = (count as usize).min(t.len());
    let data = t[..n].to_vec();
    c.copyout(buf, data)?;
    Ok((n as i64, 0))
}

pub(crate) fn readlink(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let (buf, count) = (c.word(1), c.word(2));
    do_readlink(k, c, AT_FDCWD, &path, buf, count)
}

pub(crate) fn readlinkat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let dirfd = c.int(0);
    let path = c.path(1)?;
    let (buf, count) = (c.word(2), c.word(3));
    do_readlink(k, c, dirfd, &path, buf, count)
}
