//! Process and credential queries, setgroups, umask, sync and reboot (the
//! set-id calls are in `setid`).

use crate::consts::*;
use crate::{err, Ctx, SimKernel, Stop, SysResult};

pub(crate) fn getpid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    Ok((i64::from(c.pid), i64::from(k.proc(c.pid)?.ppid)))
}

pub(crate) fn getppid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    Ok((i64::from(k.proc(c.pid)?.ppid), 0))
}

pub(crate) fn getuid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let cr = &k.proc(c.pid)?.cred;
    Ok((i64::from(cr.uid), i64::from(cr.euid)))
}

pub(crate) fn geteuid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    Ok((i64::from(k.proc(c.pid)?.cred.euid), 0))
}

pub(crate) fn getgid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let cr = &k.proc(c.pid)?.cred;
    Ok((i64::from(cr.gid), i64::from(cr.egid)))
}

pub(crate) fn getegid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    Ok((i64::from(k.proc(c.pid)?.cred.egid), 0))
}

pub(crate) fn issetugid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    Ok((i64::from(k.proc(c.pid)?.sugid), 0))
}

/// Marks the process as having changed credentials.
fn changed(k: &mut SimKernel, pid: i32) -> SysResult {
    k.proc_mut(pid)?.sugid = true;
    Ok((0, 0))
}

pub(crate) fn setgroups(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (n, ptr) = (c.int(0), c.word(1));
    if !k.proc(c.pid)?.cred.is_root() {
        return err(EPERM);
    }
    if n < 0 || n as usize > NGROUPS_MAX {
        return err(EINVAL);
    }
    let raw = c.copyin(ptr, n as u64 * 4)?;
    let groups = raw
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    k.proc_mut(c.pid)?.cred.groups = groups;
    changed(k, c.pid)
}

pub(crate) fn getgroups(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (n, ptr) = (c.int(0), c.word(1));
    let groups = k.proc(c.pid)?.cred.groups.clone();
    if n == 0 {
        return Ok((groups.len() as i64, 0));
    }
    if n < 0 || (n as usize) < groups.len() {
        return err(EINVAL);
    }
    let out: Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
    c.copyout(ptr, out)?;
    Ok((groups.len() as i64, 0))
}

pub(crate) fn umask(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let new = c.int(0) as u32 & ALLPERMS;
    let p = k.proc_mut(c.pid)?;
    let old = std::mem::replace(&mut p.umask, new);
    Ok((i64::from(old), 0))
}

pub(crate) fn sync(_k: &mut SimKernel, _c: &mut Ctx<'_, '_>) -> SysResult {
    Ok((0, 0))
}

/// The server answers the caller, then closes every connection.
pub(crate) fn reboot(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    if !k.proc(c.pid)?.cred.is_root() {
        return Err(Stop::Errno(EPERM));
    }
    k.request_shutdown();
    Ok((0, 0))
}
