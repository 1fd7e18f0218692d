//! Attribute operations: stat, access, chmod, chown, truncate and the
//! utimes family.

use crate::consts::*;
use crate::structs::{read_timespec, read_timeval};
use crate::sys::flags::{refuse_if, APPEND, IMMUTABLE};
use crate::sys::io::{node_stat, set_size};
use crate::vfs::{NodeId, NodeKind, Timespec};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

use super::namei::{cred, dirfd_first, existing, fd_node, readonly};

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
    if mode & W_OK != 0 {
        refuse_if(k, node, IMMUTABLE)?;
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
    refuse_if(k, node, IMMUTABLE | APPEND)?;
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
    refuse_if(k, node, IMMUTABLE | APPEND)?;
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
    // VOP_ACCESS(VWRITE): EPERM for an immutable node before the bits.
    refuse_if(k, node, IMMUTABLE)?;
    if !k.vfs.permits(node, &cr, W_OK) {
        return err(EACCES);
    }
    // tmpfs_chsize: devices and fifos ignore a size, symlinks refuse it; an
    // immutable or append-only file keeps its size (set_size).
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
    refuse_if(k, node, IMMUTABLE | APPEND)?;
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
