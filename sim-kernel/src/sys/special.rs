//! Special files: `__mknod50`/`mknodat` (device nodes, regular files and
//! whiteouts) and `mkfifo`/`mkfifoat` (named pipes), in the order of checks of
//! NetBSD's `do_sys_mknodat` and `do_sys_mkfifoat` (sys/kern/vfs_syscalls.c)
//! and the types `tmpfs_mknod` accepts.

use crate::consts::*;
use crate::sys::file::{create, cred, lookup_for, may_modify_dir, name_ok, Op};
use crate::vfs::{dirent_mem, FsType, NodeId, NodeKind};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

/// What a mknod mode asks for.
enum Special {
    /// A node made by VOP_MKNOD (device or fifo); its rdev must not be VNOVAL.
    Node(NodeKind),
    /// S_IFREG: a plain file made by VOP_CREATE (rdev ignored).
    Regular,
    /// S_IFWHT: a whiteout entry (VOP_WHITEOUT CREATE).
    Whiteout,
}

/// The file type a mknod mode names; EINVAL for the types mknod does not make
/// (S_IFIFO, S_IFDIR, S_IFLNK, S_IFSOCK, none): `do_sys_mknodat` refuses most
/// itself, and tmpfs_mknod refuses VBAD (S_IFMT) and anything but VBLK, VCHR
/// and VFIFO.
fn special(mode: u32, rdev: u64) -> Result<Special, Stop> {
    match mode & S_IFMT {
        S_IFCHR => Ok(Special::Node(NodeKind::Device { block: false, rdev })),
        S_IFBLK => Ok(Special::Node(NodeKind::Device { block: true, rdev })),
        S_IFREG => Ok(Special::Regular),
        S_IFWHT => Ok(Special::Whiteout),
        _ => err(EINVAL),
    }
}

/// Creates `kind` at `path`, after the lookup checks every creation makes:
/// the dirfd and the path (ENOENT, ENOTDIR, EBADF, ...), an existing name
/// (EEXIST), the name length and the parent's permissions; `decide` then
/// runs on the type, which NetBSD checks only once the name is known free.
fn make(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    dirfd: i32,
    path: &[u8],
    mode: u32,
    decide: impl FnOnce() -> Result<Special, Stop>,
) -> SysResult {
    let cr = cred(k, c.pid)?;
    let r = lookup_for(k, c.pid, dirfd, path, false, Op::Create)?;
    if r.node.is_some() {
        return err(EEXIST);
    }
    if r.trailing_slash {
        return err(ENOENT);
    }
    name_ok(k, r.parent, &r.name)?;
    may_modify_dir(k, r.parent, &cr)?;
    let umask = k.proc(c.pid)?.umask;
    let perm = (mode & ALLPERMS) & !umask;
    let kind = match decide()? {
        Special::Whiteout => return whiteout(k, r.parent, &r.name),
        Special::Regular => NodeKind::File(Vec::new()),
        Special::Node(NodeKind::Device { rdev, .. }) if rdev == VNOVAL => return err(EINVAL),
        Special::Node(kind) => kind,
    };
    create(k, r.parent, &r.name, kind, perm, &cr)?;
    Ok((0, 0))
}

/// VOP_WHITEOUT(CREATE) in `dir`. tmpfs_whiteout allocates a dirent
/// (tmpfs_alloc_dirent: ENOSPC when the memory pool is full) and attaches it
/// with TMPFS_NODE_WHITEOUT: lookups skip it, getdents lists it as DT_WHT and
/// it counts in the directory's size like any entry; tmpfs_dir_attach marks
/// the directory modified. The rumpfs root is not modelled: its whiteout is
/// answered but not kept (PARTIAL in sys/mod.rs).
fn whiteout(k: &mut SimKernel, dir: NodeId, name: &[u8]) -> SysResult {
    if k.vfs.fstype(dir) != FsType::Tmpfs {
        return Ok((0, 0));
    }
    k.check_pool(dirent_mem(name), ENOSPC)?;
    k.vfs.add_whiteout(dir, name);
    let now = k.clock.realtime();
    if let Some(d) = k.vfs.nodes.get_mut(&dir) {
        d.mtime = now;
        d.ctime = now;
    }
    Ok((0, 0))
}

/// mknod as `do_sys_mknodat`: only root may (KAUTH_SYSTEM_MKNOD, EPERM
/// before the path is fetched).
fn do_mknod(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    dirfd: i32,
    path_slot: usize,
    mode: u32,
    rdev: u64,
) -> SysResult {
    if !cred(k, c.pid)?.is_root() {
        return err(EPERM);
    }
    let path = c.path(path_slot)?;
    make(k, c, dirfd, &path, mode, || special(mode, rdev))
}

/// `__mknod50(path, mode, dev)`.
pub(crate) fn mknod(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (mode, rdev) = (c.int(1) as u32, c.word(2));
    do_mknod(k, c, AT_FDCWD, 0, mode, rdev)
}

/// `mknodat(fd, path, mode, pad, dev)`.
pub(crate) fn mknodat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (dirfd, mode, rdev) = (c.int(0), c.int(2) as u32, c.word(4));
    do_mknod(k, c, dirfd, 1, mode, rdev)
}

/// `mkfifo(path, mode)`: any mode, masked with ALLPERMS and the umask.
pub(crate) fn mkfifo(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let mode = c.int(1) as u32;
    make(k, c, AT_FDCWD, &path, mode, || {
        Ok(Special::Node(NodeKind::Fifo))
    })
}

/// `mkfifoat(fd, path, mode)`.
pub(crate) fn mkfifoat(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let dirfd = c.int(0);
    let path = c.path(1)?;
    let mode = c.int(2) as u32;
    make(k, c, dirfd, &path, mode, || {
        Ok(Special::Node(NodeKind::Fifo))
    })
}
