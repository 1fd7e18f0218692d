//! Resource limits: getrlimit and setrlimit (kern_resource.c 1.174), and
//! [`set_rlimit`], which the proc.curproc.rlimit sysctl nodes share.

use crate::consts::*;
use crate::proc::Rlimit;
use crate::{err, Ctx, SimKernel, Stop, SysResult};

/// `struct rlimit`: rlim_cur then rlim_max, 8 bytes each.
fn encode(l: Rlimit) -> Vec<u8> {
    let mut v = l.cur.to_le_bytes().to_vec();
    v.extend_from_slice(&l.max.to_le_bytes());
    v
}

fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

/// The limit number `which`, or EINVAL (`(u_int)which >= RLIM_NLIMITS`).
fn index(which: i32) -> Result<usize, Stop> {
    match usize::try_from(which) {
        Ok(i) if i < RLIM_NLIMITS => Ok(i),
        _ => err(EINVAL),
    }
}

pub(crate) fn getrlimit(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let i = index(c.int(0))?;
    let l = k.proc(c.pid)?.rlimits[i];
    c.copyout(c.word(1), encode(l))?;
    Ok((0, 0))
}

pub(crate) fn setrlimit(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    // sys_setrlimit copies the limit in before dosetrlimit looks at `which`.
    let raw = c.copyin(c.word(1), 16)?;
    let new = Rlimit {
        cur: word(&raw[..8]),
        max: word(&raw[8..]),
    };
    set_rlimit(k, c.pid, c.pid, c.int(0), new)?;
    Ok((0, 0))
}

/// `dosetrlimit`: `caller` sets limit `which` of `target`. EINVAL for a bad
/// number or a soft limit above the hard one; an unchanged limit succeeds
/// before any permission check; raising the hard limit needs root (the
/// resource listener allows anything else to the process itself or one of the
/// caller's uid); then the limits the system caps (stack, descriptors,
/// processes, threads) are clamped to the caps.
pub(crate) fn set_rlimit(
    k: &mut SimKernel,
    caller: i32,
    target: i32,
    which: i32,
    mut new: Rlimit,
) -> Result<(), Stop> {
    let i = index(which)?;
    if new.cur > new.max {
        return err(EINVAL);
    }
    let old = k.proc(target)?.rlimits[i];
    if new == old {
        return Ok(());
    }
    let cred = k.proc(caller)?.cred.clone();
    if !cred.is_root() {
        let own = caller == target || {
            // proc_uidmatch: our real uid is the target's real and saved
            // uid, its gid is not set-id, and we are in its group.
            let t = &k.proc(target)?.cred;
            cred.uid == t.uid && cred.uid == t.svuid && t.gid == t.svgid && cred.in_group(t.gid)
        };
        if !own || new.max > old.max {
            return err(EPERM);
        }
    }
    let cap = match i {
        RLIMIT_STACK => Some(MAXSSIZ),
        RLIMIT_NOFILE => Some(MAXFILES),
        RLIMIT_NPROC => Some(MAXPROC),
        RLIMIT_NTHR => Some(MAXLWP),
        _ => None,
    };
    if let Some(cap) = cap {
        new.cur = new.cur.min(cap);
        new.max = new.max.min(cap);
    }
    if i == RLIMIT_STACK {
        // round_page(rlim_cur); the current stack use of a rump process is 0.
        new.cur = new.cur.div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE);
    }
    k.proc_mut(target)?.rlimits[i] = new;
    Ok(())
}
