//! Path calls: open, create, link, unlink, rename, mkdir, rmdir, symlinks,
//! stat, access, chmod, chown, truncate and the utimes family.

use crate::consts::*;
use crate::proc::FileKind;
use crate::structs::{read_timespec, read_timeval};
use crate::sys::io::{file_of, node_stat, set_size};
use crate::vfs::{
    dirent_mem, node_meta, Cred, DirEntries, FsType, Nameiop, NodeId, NodeKind, Resolved, Timespec,
    WHITEOUT,
};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

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
fn dirfd_first(k: &SimKernel, pid: i32, dirfd: i32) -> Result<(), Stop> {
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

pub(crate) fn cred(k: &SimKernel, pid: i32) -> Result<Cred, Stop> {
    Ok(k.proc(pid)?.cred.clone())
}

fn readonly(k: &SimKernel, node: NodeId) -> bool {
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
    if !k.vfs.permits(dir, cred, W_OK | X_OK) {
        return err(EACCES);
    }
    Ok(())
}

/// The sticky-directory rule for removing or renaming `node` out of `dir`.
fn sticky_ok(k: &SimKernel, dir: NodeId, node: NodeId, cred: &Cred) -> bool {
    let (Some(d), Some(n)) = (k.vfs.nodes.get(&dir), k.vfs.nodes.get(&node)) else {
        return false;
    };
    cred.is_root() || d.perm & S_ISTXT == 0 || cred.euid == n.uid || cred.euid == d.uid
}

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
            let mut want = 0;
            if flags & O_ACCMODE != O_WRONLY {
                want |= R_OK;
            }
            if wants_write {
                want |= W_OK;
            }
            if !k.vfs.permits(n, &cr, want) {
                return err(EACCES);
            }
            if wants_write && readonly(k, n) {
                return err(EROFS);
            }
            // vn_open truncates for O_TRUNC whatever the access mode (it
            // asked for write permission above): the captures show an
            // O_RDONLY|O_TRUNC open emptying a file.
            if flags & O_TRUNC != 0 && matches!(nd.kind, NodeKind::File(_)) {
                set_size(k, n, 0)?;
            }
            vop_open(k, n, flags)?;
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

fn touch_dir(k: &mut SimKernel, dir: NodeId) {
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
        k.vfs.clear_whiteouts(node);
        // tmpfs_rmdir: cache_purge(dvp)
        k.vfs.purge_dot(r.parent);
    } else {
        if removedir {
            return err(ENOTDIR);
        }
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

fn stat_out(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    dirfd: i32,
    path: &[u8],
    follow: bool,
    buf: u64,
) -> SysResult {
    let node = existing(k, c.pid, dirfd, path, follow)?;
    let st = node_stat(k, node)?;
    c.copyout(buf, st.encode())?;
    Ok((0, 0))
}

pub(crate) fn stat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let buf = c.word(1);
    stat_out(k, c, AT_FDCWD, &path, true, buf)
}

pub(crate) fn lstat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let buf = c.word(1);
    stat_out(k, c, AT_FDCWD, &path, false, buf)
}

pub(crate) fn fstatat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let dirfd = c.int(0);
    let path = c.path(1)?;
    // sys_fstatat looks only at AT_SYMLINK_NOFOLLOW; other bits are ignored.
    let (buf, flag) = (c.word(2), c.int(3));
    stat_out(k, c, dirfd, &path, flag & AT_SYMLINK_NOFOLLOW == 0, buf)
}

fn do_access(
    k: &mut SimKernel,
    pid: i32,
    dirfd: i32,
    path: &[u8],
    mode: i32,
    effective: bool,
) -> SysResult {
    if mode & !(R_OK | W_OK | X_OK) != 0 {
        return err(EINVAL);
    }
    let node = existing(k, pid, dirfd, path, true)?;
    let mut cr = cred(k, pid)?;
    if !effective {
        cr.euid = cr.uid;
        cr.egid = cr.gid;
    }
    if mode & W_OK != 0 && readonly(k, node) {
        return err(EROFS);
    }
    if mode != 0 && !k.vfs.permits(node, &cr, mode) {
        return err(EACCES);
    }
    Ok((0, 0))
}

pub(crate) fn access(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    if c.int(1) & !(R_OK | W_OK | X_OK) != 0 {
        return err(EINVAL);
    }
    let path = c.path(0)?;
    do_access(k, c.pid, AT_FDCWD, &path, c.int(1), false)
}

pub(crate) fn faccessat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (dirfd, mode, flag) = (c.int(0), c.int(2), c.int(3));
    if mode & !(R_OK | W_OK | X_OK) != 0 {
        return err(EINVAL);
    }
    let path = c.path(1)?;
    do_access(k, c.pid, dirfd, &path, mode, flag & AT_EACCESS != 0)
}

fn do_chmod(k: &mut SimKernel, pid: i32, node: NodeId, mode: u32) -> SysResult {
    let cr = cred(k, pid)?;
    let n = k.vfs.nodes.get(&node).ok_or(Stop::Errno(ENOENT))?;
    if !cr.is_root() && cr.euid != n.uid {
        return err(EPERM);
    }
    if readonly(k, node) {
        return err(EROFS);
    }
    let mut perm = mode & ALLPERMS;
    if !cr.is_root() {
        if !n.is_dir() && perm & S_ISTXT != 0 {
            return err(EFTYPE);
        }
        if !cr.in_group(n.gid) {
            perm &= !S_ISGID;
        }
    }
    let now = k.clock.realtime();
    if let Some(n) = k.vfs.nodes.get_mut(&node) {
        n.perm = perm;
        n.ctime = now;
    }
    Ok((0, 0))
}

pub(crate) fn chmod(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let node = existing(k, c.pid, AT_FDCWD, &path, true)?;
    do_chmod(k, c.pid, node, c.int(1) as u32)
}

/// lchmod: chmod that does not follow a final symlink.
pub(crate) fn lchmod(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let node = existing(k, c.pid, AT_FDCWD, &path, false)?;
    do_chmod(k, c.pid, node, c.int(1) as u32)
}

pub(crate) fn fchmod(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let node = fd_node(k, c.pid, c.int(0))?;
    do_chmod(k, c.pid, node, c.int(1) as u32)
}

pub(crate) fn fchmodat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let dirfd = c.int(0);
    dirfd_first(k, c.pid, dirfd)?;
    let path = c.path(1)?;
    let (mode, flag) = (c.int(2) as u32, c.int(3));
    let node = existing(k, c.pid, dirfd, &path, flag & AT_SYMLINK_NOFOLLOW == 0)?;
    do_chmod(k, c.pid, node, mode)
}

/// The node behind a descriptor (EINVAL for pipes).
pub(crate) fn fd_node(k: &SimKernel, pid: i32, fd: i32) -> Result<NodeId, Stop> {
    let id = file_of(k, pid, fd)?;
    match k.t.files.get(&id).map(|f| f.kind) {
        Some(FileKind::Node(n)) => Ok(n),
        _ => err(EINVAL),
    }
}

/// Which set-id rule a chown follows (`change_owner` in vfs_syscalls.c).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetIdRule {
    /// chown, fchown, lchown, fchownat: a uid given (not -1) clears S_ISUID,
    /// a gid given clears S_ISGID, whoever asks and even if unchanged.
    NetBsd,
    /// __posix_chown family: the bits go unless the caller may keep them
    /// (root may).
    Posix,
}

fn do_chown(
    k: &mut SimKernel,
    pid: i32,
    node: NodeId,
    uid: u32,
    gid: u32,
    rule: SetIdRule,
) -> SysResult {
    let cr = cred(k, pid)?;
    let n = k.vfs.nodes.get(&node).ok_or(Stop::Errno(ENOENT))?;
    let new_uid = if uid == u32::MAX { n.uid } else { uid };
    let new_gid = if gid == u32::MAX { n.gid } else { gid };
    if !cr.is_root()
        && (cr.euid != n.uid || new_uid != n.uid || (new_gid != n.gid && !cr.in_group(new_gid)))
    {
        return err(EPERM);
    }
    if readonly(k, node) {
        return err(EROFS);
    }
    let now = k.clock.realtime();
    if let Some(n) = k.vfs.nodes.get_mut(&node) {
        match rule {
            SetIdRule::NetBsd => {
                if uid != u32::MAX {
                    n.perm &= !S_ISUID;
                }
                if gid != u32::MAX {
                    n.perm &= !S_ISGID;
                }
            }
            SetIdRule::Posix if !cr.is_root() => n.perm &= !(S_ISUID | S_ISGID),
            SetIdRule::Posix => {}
        }
        n.uid = new_uid;
        n.gid = new_gid;
        n.ctime = now;
    }
    Ok((0, 0))
}

/// chown(path, uid, gid) in slots 0-2, following a final symlink or not.
fn chown_path(k: &mut SimKernel, c: &mut Ctx<'_, '_>, follow: bool, rule: SetIdRule) -> SysResult {
    let path = c.path(0)?;
    let node = existing(k, c.pid, AT_FDCWD, &path, follow)?;
    do_chown(k, c.pid, node, c.int(1) as u32, c.int(2) as u32, rule)
}

/// chown(fd, uid, gid) in slots 0-2.
fn chown_fd(k: &mut SimKernel, c: &mut Ctx<'_, '_>, rule: SetIdRule) -> SysResult {
    let node = fd_node(k, c.pid, c.int(0))?;
    do_chown(k, c.pid, node, c.int(1) as u32, c.int(2) as u32, rule)
}

pub(crate) fn chown(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    chown_path(k, c, true, SetIdRule::NetBsd)
}

/// lchown: chown that does not follow a final symlink.
pub(crate) fn lchown(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    chown_path(k, c, false, SetIdRule::NetBsd)
}

pub(crate) fn fchown(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    chown_fd(k, c, SetIdRule::NetBsd)
}

pub(crate) fn fchownat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let dirfd = c.int(0);
    dirfd_first(k, c.pid, dirfd)?;
    let path = c.path(1)?;
    let (uid, gid, flag) = (c.int(2) as u32, c.int(3) as u32, c.int(4));
    let node = existing(k, c.pid, dirfd, &path, flag & AT_SYMLINK_NOFOLLOW == 0)?;
    do_chown(k, c.pid, node, uid, gid, SetIdRule::NetBsd)
}

/// __posix_chown: chown with POSIX set-id semantics.
pub(crate) fn posix_chown(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    chown_path(k, c, true, SetIdRule::Posix)
}

/// __posix_fchown: fchown with POSIX set-id semantics.
pub(crate) fn posix_fchown(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    chown_fd(k, c, SetIdRule::Posix)
}

/// __posix_lchown: lchown with POSIX set-id semantics.
pub(crate) fn posix_lchown(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    chown_path(k, c, false, SetIdRule::Posix)
}

/// truncate: a negative length fails before the path is fetched (`sys_truncate`).
pub(crate) fn truncate(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let len = c.word(2) as i64;
    if len < 0 {
        return err(EINVAL);
    }
    let path = c.path(0)?;
    let node = existing(k, c.pid, AT_FDCWD, &path, true)?;
    let cr = cred(k, c.pid)?;
    if k.vfs.nodes.get(&node).is_some_and(|n| n.is_dir()) {
        return err(EISDIR);
    }
    if !k.vfs.permits(node, &cr, W_OK) {
        return err(EACCES);
    }
    // tmpfs_chsize: devices and fifos ignore a size, symlinks refuse it.
    match k.vfs.nodes.get(&node).map(|n| &n.kind) {
        Some(NodeKind::File(_)) => set_size(k, node, len as u64)?,
        Some(NodeKind::Symlink(_)) => return err(EOPNOTSUPP),
        _ => {}
    }
    Ok((0, 0))
}

/// Sets access and modification times as NetBSD's `do_sys_utimensat` and
/// tmpfs's `tmpfs_chtimes` do; `None` (a NULL pointer) means now.
/// UTIME_NOW takes the current time, UTIME_OMIT keeps a time. Nanoseconds are
/// not range-checked: the real kernel stores them as given (captures show
/// `{1000000000.1000000000, ...}` accepted). Only the owner (or root) may set
/// explicit times; with NULL or both UTIME_NOW, write access is enough. When
/// both are UTIME_OMIT nothing is set and nothing is checked. A new mtime
/// earlier than the birth time also moves the birth time back.
fn set_times(k: &mut SimKernel, pid: i32, node: NodeId, times: Option<[Timespec; 2]>) -> SysResult {
    let now = k.clock.realtime();
    let t = times.unwrap_or(
        [Timespec {
            sec: 0,
            nsec: UTIME_NOW,
        }; 2],
    );
    // A time whose seconds are VNOVAL (-1) is not set: tmpfs_setattr and
    // tmpfs_chtimes skip it, as they skip UTIME_OMIT (which do_sys_utimens
    // turns into VNOVAL); with none left, nothing happens at all.
    let omitted = |x: &Timespec| x.nsec == UTIME_OMIT || (x.nsec != UTIME_NOW && x.sec == -1);
    if t.iter().all(omitted) {
        return Ok((0, 0));
    }
    let cr = cred(k, pid)?;
    let n = k.vfs.nodes.get(&node).ok_or(Stop::Errno(ENOENT))?;
    if readonly(k, node) {
        return err(EROFS);
    }
    let owner = cr.is_root() || cr.euid == n.uid;
    let vanull = t.iter().all(|x| x.nsec == UTIME_NOW);
    if !owner && (!vanull || !k.vfs.permits(node, &cr, W_OK)) {
        return err(if vanull { EACCES } else { EPERM });
    }
    if let Some(n) = k.vfs.nodes.get_mut(&node) {
        let pick = |x: Timespec, old: Timespec| match x.nsec {
            UTIME_NOW => now,
            _ if omitted(&x) => old,
            _ => x,
        };
        n.atime = pick(t[0], n.atime);
        if !omitted(&t[1]) {
            let m = pick(t[1], n.mtime);
            if (m.sec, m.nsec) < (n.birthtime.sec, n.birthtime.nsec) {
                n.birthtime = m;
            }
            n.mtime = m;
        }
        n.ctime = now;
    }
    Ok((0, 0))
}

/// A `struct timeval[2]` as `do_sys_utimes` turns it into timespecs: a
/// microsecond field of UTIME_NOW or UTIME_OMIT passes through unscaled.
fn timevals(c: &mut Ctx<'_, '_>, ptr: u64) -> Result<Option<[Timespec; 2]>, Stop> {
    if ptr == 0 {
        return Ok(None);
    }
    let b = c.copyin(ptr, 32)?;
    let conv = |raw: &[u8]| {
        let usec = i64::from(i32::from_le_bytes(raw[8..12].try_into().unwrap_or([0; 4])));
        let mut ts = read_timeval(raw);
        if usec == UTIME_NOW || usec == UTIME_OMIT {
            ts.nsec = usec;
        }
        ts
    };
    Ok(Some([conv(&b[..16]), conv(&b[16..])]))
}

fn timespecs(c: &mut Ctx<'_, '_>, ptr: u64) -> Result<Option<[Timespec; 2]>, Stop> {
    if ptr == 0 {
        return Ok(None);
    }
    let b = c.copyin(ptr, 32)?;
    Ok(Some([read_timespec(&b[..16]), read_timespec(&b[16..])]))
}

// The times are copied in before the path is looked up, as in NetBSD.

pub(crate) fn utimes(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let t = timevals(c, c.word(1))?;
    let path = c.path(0)?;
    let node = existing(k, c.pid, AT_FDCWD, &path, true)?;
    set_times(k, c.pid, node, t)
}

pub(crate) fn lutimes(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let t = timevals(c, c.word(1))?;
    let path = c.path(0)?;
    let node = existing(k, c.pid, AT_FDCWD, &path, false)?;
    set_times(k, c.pid, node, t)
}

pub(crate) fn futimes(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let node = fd_node(k, c.pid, c.int(0))?;
    let t = timevals(c, c.word(1))?;
    set_times(k, c.pid, node, t)
}

pub(crate) fn utimensat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let dirfd = c.int(0);
    let t = timespecs(c, c.word(2))?;
    dirfd_first(k, c.pid, dirfd)?;
    let path = c.path(1)?;
    let flag = c.int(3);
    let node = existing(k, c.pid, dirfd, &path, flag & AT_SYMLINK_NOFOLLOW == 0)?;
    set_times(k, c.pid, node, t)
}

pub(crate) fn futimens(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let node = fd_node(k, c.pid, c.int(0))?;
    let t = timespecs(c, c.word(1))?;
    set_times(k, c.pid, node, t)
}
