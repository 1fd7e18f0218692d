//! Directory calls: __getdents30 with tmpfs directory cookies, chdir, fchdir, __getcwd.

use crate::consts::*;
use crate::proc::FileId;
use crate::proc::FileKind;
use crate::structs::dirent;
use crate::sys::file::{existing, fd_node};
use crate::sys::io::file_of;
use crate::vfs::{FsType, NodeId, NodeKind, WHITEOUT};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

/// Cookies: 0 = ".", 1 = "..", 2 = end, 3… = entries in creation order.
pub(crate) fn getdents(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, buf, count) = (c.int(0), c.word(1), c.word(2).min(65536));
    let id = file_of(k, c.pid, fd)?;
    let f = k.t.files.get(&id).cloned().ok_or(Stop::Errno(EBADF))?;
    // sys___getdents30: fd_getvnode (EINVAL for a pipe or the console), then FREAD.
    let FileKind::Node(dir) = f.kind else {
        return err(EINVAL);
    };
    if f.flags & O_ACCMODE == O_WRONLY {
        return err(EBADF);
    }
    let d = k.vfs.nodes.get(&dir).ok_or(Stop::Errno(EBADF))?;
    let NodeKind::Dir {
        entries, parent, ..
    } = &d.kind
    else {
        return err(EINVAL);
    };
    if k.vfs.fstype(dir) == FsType::Rumpfs {
        return rumpfs_getdents(k, c, id, dir, buf, count);
    }
    // tmpfs_readdir lists nothing, not even the dots, for a directory that
    // has been removed (tn_links 0) while open.
    if d.nlink == 0 {
        return Ok((0, 0));
    }
    let parent_ino = k.vfs.nodes.get(parent).map_or(d.ino, |p| p.ino);
    // Resume at the offset's cookie without walking the entries before it.
    let dots: [(u64, u64, u8, &[u8]); 2] =
        [(0, d.ino, DT_DIR, b"."), (1, parent_ino, DT_DIR, b"..")];
    let (first_dot, rest) = match f.offset {
        2 => return Ok((0, 0)),
        0 => (0, entries.iter()),
        1 => (1, entries.iter()),
        off => (2, entries.from_cookie(off).ok_or(Stop::Errno(EINVAL))?),
    };
    // (cookie, ino, type, name) in listing order
    let nodes = &k.vfs.nodes;
    // tmpfs_dir_getdents lists a whiteout as DT_WHT with d_fileno WINO.
    let list = dots[first_dot..].iter().copied().chain(rest.map(|e| {
        if e.node == WHITEOUT {
            return (e.cookie, WINO, DT_WHT, &e.name[..]);
        }
        let n = nodes.get(&e.node);
        (
            e.cookie,
            n.map_or(0, |n| n.ino),
            n.map_or(0, |n| n.dtype()),
            &e.name[..],
        )
    }));
    let mut used = 0u64;
    let mut next = 2u64;
    let mut records = Vec::new();
    for (cookie, ino, ty, name) in list {
        let rec = dirent(ino, ty, name);
        if used + rec.len() as u64 > count {
            next = cookie;
            break;
        }
        used += rec.len() as u64;
        records.push(rec);
    }
    if records.is_empty() {
        return Ok((0, 0));
    }
    copy_records(c, buf, records)?;
    if let Some(file) = k.t.files.get_mut(&id) {
        file.offset = next;
    }
    let now = k.clock.realtime();
    if let Some(n) = k.vfs.nodes.get_mut(&dir) {
        n.atime = now;
    }
    Ok((used as i64, 0))
}

/// `rump_vop_readdir`: no "." or "..", entries newest first (rumpfs inserts
/// at the head of its list), the offset is an entry index. Its quirk is kept:
/// an entry that does not fit leaves the offset one *below* its index (the
/// loop's `i--`), so the next call returns the last entry again, and when the
/// first entry does not fit the index wraps to 2^32 - 1 (an unsigned `i`).
fn rumpfs_getdents(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    id: FileId,
    dir: NodeId,
    buf: u64,
    count: u64,
) -> SysResult {
    let offset = k.t.files.get(&id).map_or(0, |f| f.offset);
    let Some(NodeKind::Dir { entries, .. }) = k.vfs.nodes.get(&dir).map(|d| &d.kind) else {
        return err(EINVAL);
    };
    // The seek loop stops at the end of the list: past it the offset becomes
    // the number of entries.
    let mut i = offset.min(entries.len() as u64) as u32;
    let mut records = Vec::new();
    let mut used = 0u64;
    let listing = entries.iter().rev().skip(i as usize);
    let mut more = false;
    for e in listing {
        let n = k.vfs.nodes.get(&e.node);
        let rec = dirent(n.map_or(0, |n| n.ino), n.map_or(0, |n| n.dtype()), &e.name);
        // The loop runs while the buffer has room left (`uio_resid > 0`):
        // a full (or empty) buffer ends it without the step back.
        if used >= count {
            break;
        }
        if used + rec.len() as u64 > count {
            more = true;
            break;
        }
        used += rec.len() as u64;
        records.push(rec);
        i = i.wrapping_add(1);
    }
    if more {
        i = i.wrapping_sub(1);
    }
    copy_records(c, buf, records)?;
    if let Some(file) = k.t.files.get_mut(&id) {
        file.offset = u64::from(i);
    }
    Ok((used as i64, 0))
}

/// One COPYOUT per directory record, back to back from `buf`, as both file
/// systems do.
fn copy_records(c: &mut Ctx<'_, '_>, buf: u64, records: Vec<Vec<u8>>) -> Result<(), Stop> {
    let mut at = buf;
    for r in records {
        let n = r.len() as u64;
        c.copyout(at, r)?;
        at += n;
    }
    Ok(())
}

fn set_cwd(k: &mut SimKernel, pid: i32, node: crate::vfs::NodeId) -> SysResult {
    let n = k.vfs.nodes.get(&node).ok_or(Stop::Errno(ENOENT))?;
    if !n.is_dir() {
        return err(ENOTDIR);
    }
    let cred = k.proc(pid)?.cred.clone();
    if !k.vfs.permits(node, &cred, X_OK) {
        return err(EACCES);
    }
    let old = std::mem::replace(&mut k.proc_mut(pid)?.cwd, node);
    if let Some(n) = k.vfs.nodes.get_mut(&node) {
        n.cwd_refs += 1;
    }
    if let Some(n) = k.vfs.nodes.get_mut(&old) {
        n.cwd_refs = n.cwd_refs.saturating_sub(1);
    }
    k.vfs.maybe_free(old);
    Ok((0, 0))
}

pub(crate) fn chdir(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let node = existing(k, c.pid, AT_FDCWD, &path, true)?;
    set_cwd(k, c.pid, node)
}

pub(crate) fn fchdir(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let node = fd_node(k, c.pid, c.int(0))?;
    // sys_fchdir: after the directory and search checks, a chrooted process
    // may not move to a directory outside its root (EPERM).
    if let Some(root) = k.proc(c.pid)?.root {
        let n = k.vfs.nodes.get(&node).ok_or(Stop::Errno(ENOENT))?;
        if !n.is_dir() {
            return err(ENOTDIR);
        }
        let cred = k.proc(c.pid)?.cred.clone();
        if !k.vfs.permits(node, &cred, X_OK) {
            return err(EACCES);
        }
        if !k.vfs.is_under(k.vfs.cross_mounts(node), root) {
            return err(EPERM);
        }
    }
    set_cwd(k, c.pid, node)
}

pub(crate) fn getcwd(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    // sys___getcwd: a buffer under 2 bytes is ERANGE, one over
    // MAXPATHLEN * 4 is used as that much; a path that does not fit is ERANGE.
    let (buf, len) = (c.word(0), c.word(1));
    if len < 2 {
        return err(ERANGE);
    }
    let len = len.min(4 * MAXPATHLEN);
    let p = k.proc(c.pid)?;
    let cwd = p.cwd;
    // getcwd_common finds no name for a removed directory (rmdir purged its
    // cache entry) and its VOP_LOOKUP of ".." fails: ENOENT (tmpfs_lookup
    // treats an unlinked directory as empty, rumpfs has dropped rn_parent).
    if k.vfs
        .nodes
        .get(&cwd)
        .is_some_and(|n| n.is_dir() && n.nlink == 0)
    {
        return err(ENOENT);
    }
    // getcwd_common walks up to the process's root (its chroot directory):
    // the path is the one seen from there. A cwd moved out from under that
    // root by a rename meets no entry naming it at the top: ENOENT.
    let mut path = k.vfs.path_below(cwd, p.root).ok_or(Stop::Errno(ENOENT))?;
    path.push(0);
    if (path.len() as u64) > len {
        return err(ERANGE);
    }
    // sys___getcwd sets the length before its copyout, so a fault still
    // reports it (the captures show EFAULT with retval 5 for "/tmp").
    let n = path.len() as i64;
    match c.copyout(buf, path) {
        Err(Stop::Errno(e)) => Err(Stop::ErrnoWith(e, [n, 0])),
        other => other.map(|_| (n, 0)),
    }
}
