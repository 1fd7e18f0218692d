//! Clocks on virtual time: sleeping advances the clock, never waits on the host.

use crate::consts::*;
use crate::structs::{read_timespec, timespec, timeval};
use crate::vfs::Timespec;
use crate::{err, Ctx, SimKernel, Stop, SysResult};

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

/// Sleeps `ns` from the call's first run (its deadline is kept in
/// [`SimKernel::timed_waits`] under the call's key, so a re-run does not
/// start over). With the host's clock the call waits: the server's tick ends
/// it at its deadline ([`rumpsp_protocol::kernel::Kernel::next_wake_ns`]).
/// With the virtual clock nothing else passes the time, so the clock jumps
/// ahead by `ns` instead and the call returns at once.
pub(crate) fn sleep_for(
    k: &mut SimKernel,
    c: &Ctx<'_, '_>,
    sysnum: u32,
    ns: u64,
) -> Result<(), Stop> {
    let key = c.call_key(sysnum);
    if k.clock.host.is_none() {
        k.clock.advance(ns);
        return Ok(());
    }
    let now = k.clock.now_ns();
    let deadline = k
        .timed_waits
        .get(&key)
        .map_or(now.saturating_add(ns), |w| w.0);
    if now >= deadline {
        k.timed_waits.remove(&key);
        return Ok(());
    }
    k.timed_waits.entry(key).or_insert((deadline, false));
    Err(Stop::Blocked)
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
        sleep_for(k, c, 430, ns)?;
        if rm != 0 {
            c.copyout(rm, timespec(Timespec::default()))?;
        }
    }
    Ok((0, 0))
}
