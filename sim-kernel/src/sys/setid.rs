//! Set-id calls: setuid, seteuid, setreuid, setgid, setegid, setregid, all
//! through `do_setresuid` / `do_setresgid` of kern_prot.c 1.119.

use crate::consts::*;
use crate::{err, Ctx, SimKernel, SysResult};

/// `(uid_t)-1`: leave this id as it is.
const KEEP: u32 = u32::MAX;

// Which current id a new id may equal without privilege (ID_x_EQ_y).
const R_EQ_R: u32 = 0x001;
const R_EQ_E: u32 = 0x002;
const E_EQ_R: u32 = 0x010;
const E_EQ_E: u32 = 0x020;
const E_EQ_S: u32 = 0x040;
const S_EQ_R: u32 = 0x100;
const S_EQ_E: u32 = 0x200;
const S_EQ_S: u32 = 0x400;

/// (real, effective, saved) ids.
type Ids = [u32; 3];

/// May `want` (an id or KEEP) be set given the current `ids`, where
/// `allowed` holds the three EQ bits for this slot (real, effective, saved)?
fn allowed(want: u32, ids: Ids, eq: [u32; 3], flags: u32) -> bool {
    want == KEEP || (0..3).any(|i| flags & eq[i] != 0 && want == ids[i])
}

/// `do_setres[ug]id`: the new ids unless one of them needs privilege the
/// caller lacks (EPERM); `None` when nothing changes (no credential change,
/// so no set-id taint either).
fn setres(cur: Ids, new: Ids, flags: u32, root: bool) -> Result<Option<Ids>, crate::Stop> {
    const EQ: [[u32; 3]; 3] = [
        [R_EQ_R, R_EQ_E, 0],
        [E_EQ_R, E_EQ_E, E_EQ_S],
        [S_EQ_R, S_EQ_E, S_EQ_S],
    ];
    let ok = (0..3).all(|slot| allowed(new[slot], cur, EQ[slot], flags));
    if !ok && !root {
        return err(EPERM);
    }
    if (0..3).all(|i| new[i] == KEEP || new[i] == cur[i]) {
        return Ok(None);
    }
    let mut out = cur;
    for i in 0..3 {
        if new[i] != KEEP {
            out[i] = new[i];
        }
    }
    Ok(Some(out))
}

fn set_uids(k: &mut SimKernel, pid: i32, new: Ids, flags: u32) -> SysResult {
    let cr = &k.proc(pid)?.cred;
    let cur = [cr.uid, cr.euid, cr.svuid];
    if let Some([r, e, s]) = setres(cur, new, flags, cr.is_root())? {
        let p = k.proc_mut(pid)?;
        (p.cred.uid, p.cred.euid, p.cred.svuid) = (r, e, s);
        p.sugid = true;
    }
    Ok((0, 0))
}

fn set_gids(k: &mut SimKernel, pid: i32, new: Ids, flags: u32) -> SysResult {
    let cr = &k.proc(pid)?.cred;
    let cur = [cr.gid, cr.egid, cr.svgid];
    if let Some([r, e, s]) = setres(cur, new, flags, cr.is_root())? {
        let p = k.proc_mut(pid)?;
        (p.cred.gid, p.cred.egid, p.cred.svgid) = (r, e, s);
        p.sugid = true;
    }
    Ok((0, 0))
}

/// setreuid/setregid: -1 keeps an id; the saved id follows the new effective
/// one when the real id changes.
fn re(cur_r: u32, cur_e: u32, r: u32, e: u32) -> Ids {
    let r = if r == KEEP { cur_r } else { r };
    let e = if e == KEEP { cur_e } else { e };
    let s = if r == cur_r { KEEP } else { e };
    [r, e, s]
}

const RE_FLAGS: u32 = R_EQ_R | R_EQ_E | E_EQ_R | E_EQ_E | E_EQ_S | S_EQ_R | S_EQ_E | S_EQ_S;

pub(crate) fn setuid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let uid = c.int(0) as u32;
    set_uids(k, c.pid, [uid, uid, uid], R_EQ_R | E_EQ_R | S_EQ_R)
}

pub(crate) fn seteuid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    set_uids(k, c.pid, [KEEP, c.int(0) as u32, KEEP], E_EQ_R | E_EQ_S)
}

pub(crate) fn setreuid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let cr = &k.proc(c.pid)?.cred;
    let ids = re(cr.uid, cr.euid, c.int(0) as u32, c.int(1) as u32);
    set_uids(k, c.pid, ids, RE_FLAGS)
}

pub(crate) fn setgid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let gid = c.int(0) as u32;
    set_gids(k, c.pid, [gid, gid, gid], R_EQ_R | E_EQ_R | S_EQ_R)
}

pub(crate) fn setegid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    set_gids(k, c.pid, [KEEP, c.int(0) as u32, KEEP], E_EQ_R | E_EQ_S)
}

pub(crate) fn setregid(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let cr = &k.proc(c.pid)?.cred;
    let ids = re(cr.gid, cr.egid, c.int(0) as u32, c.int(1) as u32);
    set_gids(k, c.pid, ids, RE_FLAGS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setres_follows_the_flags_and_short_circuits_no_change() {
        // non-root seteuid to the saved id is allowed, to another id not
        let cur = [100, 100, 200];
        assert_eq!(
            setres(cur, [KEEP, 200, KEEP], E_EQ_R | E_EQ_S, false),
            Ok(Some([100, 200, 200]))
        );
        assert!(setres(cur, [KEEP, 300, KEEP], E_EQ_R | E_EQ_S, false).is_err());
        assert_eq!(
            setres(cur, [KEEP, 300, KEEP], E_EQ_R | E_EQ_S, true),
            Ok(Some([100, 300, 200]))
        );
        assert_eq!(setres(cur, [100, 100, KEEP], RE_FLAGS, false), Ok(None));
        assert_eq!(re(5, 6, KEEP, 7), [5, 7, KEEP]);
        assert_eq!(re(5, 6, 6, KEEP), [6, 6, 6]);
    }
}
