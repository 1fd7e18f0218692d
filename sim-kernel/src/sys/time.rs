//! Clocks on virtual time: sleeping advances the clock, never waits on the host.

use crate::consts::*;
use crate::structs::{read_timespec, timespec, timeval};
use crate::vfs::Timespec;
use crate::{err, Ctx, SimKernel, SysResult};

fn clock(k: &SimKernel, id: i32) -> Option<Timespec> {
    match id {
        CLOCK_REALTIME => Some(k.clock.realtime()),
        CLOCK_MONOTONIC => Some(k.clock.monotonic()),
        _ => None,
    }
}

pub(crate) fn clock_gettime(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (id, tp) = (c.int(0), c.word(1));
    let t = clock(k, id).ok_or(crate::Stop::Errno(EINVAL))?;
    c.copyout(tp, timespec(t))?;
    Ok((0, 0))
}

/// 10 ms: the resolution of a rump kernel's clock interrupt.
pub(crate) fn clock_getres(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (id, tp) = (c.int(0), c.word(1));
    clock(k, id).ok_or(crate::Stop::Errno(EINVAL))?;
    if tp != 0 {
        c.copyout(
            tp,
            timespec(Timespec {
                sec: 0,
                nsec: 10_000_000,
            }),
        )?;
    }
    Ok((0, 0))
}

pub(crate) fn gettimeofday(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (tp, tzp) = (c.word(0), c.word(1));
    if tp != 0 {
        c.copyout(tp, timeval(k.clock.realtime()))?;
    }
    if tzp != 0 {
        c.copyout(tzp, vec![0; 8])?;
    }
    Ok((0, 0))
}

pub(crate) fn nanosleep(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (rq, rm) = (c.word(0), c.word(1));
    let t = read_timespec(&c.copyin(rq, 16)?);
    if !(0..1_000_000_000).contains(&t.nsec) {
        return err(EINVAL);
    }
    if t.sec >= 0 {
        let ns = (t.sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(t.nsec as u64);
        k.clock.advance(ns);
        if rm != 0 {
            c.copyout(rm, timespec(Timespec::default()))?;
        }
    }
    Ok((0, 0))
}
