//! Process groups, sessions and login names: getpgrp, setpgid, setsid,
//! getpgid, getsid (kern_prot.c 1.119, `proc_enterpgrp` of kern_proc.c),
//! __getlogin and __setlogin.
//!
//! Every process of a rump kernel starts in process group 0 of session 0,
//! the ones proc0 leads (proc0_init); lwproc_newproc puts a new process in
//! its parent's group.

use crate::consts::*;
use crate::proc::{Pgrp, Session};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

pub(crate) fn getpgrp(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    Ok((i64::from(k.proc(c.pid)?.pgid), 0))
}

/// The process `pid` names for getpgid/getsid: 0 is the caller.
fn named(k: &SimKernel, caller: i32, pid: i32) -> Result<&crate::proc::Process, Stop> {
    k.proc(if pid == 0 { caller } else { pid })
}

pub(crate) fn getpgid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    Ok((i64::from(named(k, c.pid, c.int(0))?.pgid), 0))
}

pub(crate) fn getsid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    Ok((i64::from(named(k, c.pid, c.int(0))?.sid), 0))
}

/// sys_setsid reports the caller's pid in retval[0] whether it fails or not.
pub(crate) fn setsid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let me = i64::from(c.pid);
    match enter_pgrp(k, c.pid, c.pid, c.pid, true) {
        Ok(()) => Ok((me, 0)),
        Err(Stop::Errno(e)) => Err(Stop::ErrnoWith(e, [me, 0])),
        Err(other) => Err(other),
    }
}

/// sys_setpgid. proc_enterpgrp's EACCES for a child that has exec'd tests
/// PK_EXEC, which only execve sets; a rump kernel's exec (the EXEC
/// handshake, rump.c hyp_execnotify) closes the close-on-exec descriptors and
/// renames the process but sets no PK_EXEC, and fork1 does not pass it on, so
/// a rump kernel never answers EACCES here.
pub(crate) fn setpgid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (pid, pgid) = (c.int(0), c.int(1));
    if pgid < 0 {
        return err(EINVAL);
    }
    let target = if pid == 0 { c.pid } else { pid };
    let pgid = if pgid == 0 { target } else { pgid };
    enter_pgrp(k, c.pid, target, pgid, false)?;
    Ok((0, 0))
}

/// `p_inferior`: is `p` the process `q` or one of its descendants?
fn inferior(k: &SimKernel, mut p: i32, q: i32) -> bool {
    for _ in 0..=k.t.procs.len() {
        if p == q {
            return true;
        }
        match k.t.procs.get(&p) {
            Some(x) if p != 0 => p = x.ppid,
            _ => return false,
        }
    }
    false
}

/// `proc_enterpgrp`: moves process `pid` into group `pgid` on behalf of
/// `curp`, creating the group (and with `mksess` a session) when it does not
/// exist, with its checks in its order: ESRCH for a process that is not the
/// caller or a descendant, EPERM for one in another session, a group in
/// another session, a session leader, a new group not named after the
/// process, and setsid by a group leader.
fn enter_pgrp(k: &mut SimKernel, curp: i32, pid: i32, pgid: i32, mksess: bool) -> Result<(), Stop> {
    let cur = k.proc(curp)?;
    let (cur_sid, cur_pgid) = (cur.sid, cur.pgid);
    let group = k.t.pgrps.get(&pgid).copied();
    if pid != curp {
        if !k.t.procs.contains_key(&pid) || !inferior(k, pid, curp) {
            return err(ESRCH);
        }
        let p = k.proc(pid)?;
        if mksess || p.sid != cur_sid {
            return err(EPERM);
        }
        if group.is_some_and(|g| g.sid != p.sid) {
            return err(EPERM);
        }
    } else if mksess && (cur_pgid == curp || k.t.pgrps.contains_key(&curp)) {
        return err(EPERM);
    }
    let p = k.proc(pid)?;
    let (old_pgid, old_sid) = (p.pgid, p.sid);
    if old_sid == pid {
        // A session leader may only "move" to the group it is in.
        return if !mksess && group.is_some() && old_pgid == pgid {
            Ok(())
        } else {
            err(EPERM)
        };
    }
    if group.is_none() && pgid != pid {
        return err(EPERM);
    }
    if mksess && group.is_some() {
        return err(EPERM);
    }
    if group.is_some() && old_pgid == pgid {
        return Ok(());
    }
    let sid = match group {
        Some(g) => g.sid,
        None if mksess => {
            let login =
                k.t.sessions
                    .get(&old_sid)
                    .map_or([0; MAXLOGNAME], |s| s.login);
            k.t.sessions.insert(pid, Session { login, pgrps: 0 });
            pid
        }
        None => old_sid,
    };
    if group.is_none() {
        k.t.pgrps.insert(pgid, Pgrp { sid, members: 0 });
        if let Some(s) = k.t.sessions.get_mut(&sid) {
            s.pgrps += 1;
        }
    }
    k.t.join_pgrp(pgid);
    k.t.leave_pgrp(old_pgid);
    let p = k.proc_mut(pid)?;
    p.pgid = pgid;
    p.sid = sid;
    Ok(())
}

/// Copies out min(namelen, MAXLOGNAME) bytes of the session's login name,
/// its NUL padding included.
pub(crate) fn getlogin(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (buf, len) = (c.word(0), c.word(1));
    let sid = k.proc(c.pid)?.sid;
    let login = k.t.sessions.get(&sid).map_or([0; MAXLOGNAME], |s| s.login);
    let n = (len.min(MAXLOGNAME as u64)) as usize;
    c.copyout(buf, login[..n].to_vec())?;
    Ok((0, 0))
}

/// Root only (KAUTH_PROCESS_SETID), checked before the name is fetched; a
/// name longer than MAXLOGNAME is EINVAL (copyinstr's ENAMETOOLONG). The
/// name is the whole session's.
pub(crate) fn setlogin(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    if !k.proc(c.pid)?.cred.is_root() {
        return err(EPERM);
    }
    let name = match c.copyinstr(c.word(0), MAXLOGNAME as u64 + 1) {
        Err(Stop::Errno(ENAMETOOLONG)) => return err(EINVAL),
        other => other?,
    };
    let sid = k.proc(c.pid)?.sid;
    let mut login = [0u8; MAXLOGNAME];
    login[..name.len()].copy_from_slice(&name);
    if let Some(s) = k.t.sessions.get_mut(&sid) {
        s.login = login;
    }
    Ok((0, 0))
}
