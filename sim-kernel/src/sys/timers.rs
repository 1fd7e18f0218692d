//! Interval timers, __getitimer50 (426) and __setitimer50 (425), and
//! clock_nanosleep (477), as kern_time.c (rev. 1.182) and subr_time.c have
//! them.
//!
//! Timers: `which` above ITIMER_MONOTONIC (3) is EINVAL; setitimer copies the
//! new value in, then hands out the old one (as getitimer), and only then
//! checks the new one with itimerfix (EINVAL for a negative second or a
//! microsecond count out of range; a value under a tick is a tick, 10 ms).
//! A zero value clears the timer; ITIMER_REAL and ITIMER_MONOTONIC keep an
//! absolute expiry, so the value read back runs down with the virtual clock
//! and, past the expiry, restarts from the interval (or stays 0 for a one-shot
//! timer). ITIMER_VIRTUAL and ITIMER_PROF count process time, which hardclock
//! never charges to a rump_sp client (it runs in its own host process), so
//! they keep the value they were given. An expiry posts SIGALRM to the
//! process ([`fire_itimers`], checked after every call and at the server's
//! wake checks); the server raises it on the process's connection, outside
//! any call, as NetBSD's callout does through the rump signal model.
//!
//! clock_nanosleep: like __nanosleep50 (sys/time.rs sleep_for), for
//! CLOCK_REALTIME or CLOCK_MONOTONIC, with TIMER_ABSTIME for a time on that
//! clock; the error is the return value.

use crate::clock::{from_ns, to_ns, ITimer};
use crate::consts::*;
use crate::structs::{read_timespec, read_timeval, timespec, timeval};
use crate::vfs::Timespec;
use crate::{err, Ctx, SimKernel, Stop, SysResult};

const ITIMER_REAL: i32 = 0;
const ITIMER_MONOTONIC: i32 = 3;
/// A tick at 100 Hz, in microseconds.
const TICK_US: i64 = 10_000;
const TIMER_ABSTIME: i32 = 1;

/// itimerfix: EINVAL for a bad timeval; a nonzero value under a tick is a tick.
fn itimerfix(t: Timespec) -> Result<i128, Stop> {
    let usec = t.nsec / 1000;
    if t.sec < 0 || !(0..1_000_000).contains(&usec) {
        return err(EINVAL);
    }
    let usec = if t.sec == 0 && usec != 0 && usec < TICK_US {
        TICK_US
    } else {
        usec
    };
    Ok(i128::from(t.sec) * 1_000_000_000 + i128::from(usec) * 1000)
}

/// The clock an absolute timer runs on, in nanoseconds.
fn now_ns(k: &SimKernel, which: i32) -> i128 {
    if which == ITIMER_REAL {
        k.clock.realtime_ns()
    } else {
        i128::from(k.clock.now_ns())
    }
}

/// `itimerfire` for every armed ITIMER_REAL and ITIMER_MONOTONIC timer the
/// clock has reached: SIGALRM is posted to its process (the server raises
/// it on the process's connection, as a rump kernel's signal model does
/// for a remote client), then the timer is reloaded with its interval (the
/// expiries it missed skipped, as itimer_reload's overruns) or disarmed.
/// ITIMER_VIRTUAL and ITIMER_PROF never run down: no process time passes
/// in a rump kernel.
pub(crate) fn fire_itimers(k: &mut SimKernel) {
    let (real, mono) = (k.clock.realtime_ns(), i128::from(k.clock.now_ns()));
    for ((pid, which), t) in k.itimers.iter_mut() {
        let now = match *which {
            ITIMER_REAL => real,
            ITIMER_MONOTONIC => mono,
            _ => continue,
        };
        if t.value_ns == 0 || t.value_ns > now {
            continue;
        }
        k.raises.push((*pid, SIGALRM));
        t.value_ns = if t.interval_ns > 0 {
            let missed = (now - t.value_ns) / t.interval_ns + 1;
            t.value_ns + missed * t.interval_ns
        } else {
            0
        };
    }
}

/// Nanoseconds until the earliest armed ITIMER_REAL/ITIMER_MONOTONIC expiry.
pub(crate) fn next_itimer_ns(k: &SimKernel) -> Option<u64> {
    let (real, mono) = (k.clock.realtime_ns(), i128::from(k.clock.now_ns()));
    k.itimers
        .iter()
        .filter(|(_, t)| t.value_ns != 0)
        .filter_map(|((_, which), t)| match *which {
            ITIMER_REAL => Some(t.value_ns - real),
            ITIMER_MONOTONIC => Some(t.value_ns - mono),
            _ => None,
        })
        .map(|d| d.clamp(0, i128::from(u64::MAX)) as u64)
        .min()
}

/// The 32-byte itimerval of a timer now: interval, then value.
fn itimerval(k: &SimKernel, pid: i32, which: i32) -> Vec<u8> {
    let t = k.itimers.get(&(pid, which)).copied().unwrap_or_default();
    let value = if t.value_ns == 0 || !matches!(which, ITIMER_REAL | ITIMER_MONOTONIC) {
        t.value_ns
    } else {
        let now = now_ns(k, which);
        if t.value_ns > now {
            t.value_ns - now
        } else if t.interval_ns > 0 {
            t.interval_ns - (now - t.value_ns) % t.interval_ns
        } else {
            0
        }
    };
    let mut b = timeval(from_ns(t.interval_ns));
    b.extend(timeval(from_ns(value)));
    b
}

pub(crate) fn getitimer(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (which, itv) = (c.int(0), c.word(1));
    if !(0..=ITIMER_MONOTONIC).contains(&which) {
        return err(EINVAL);
    }
    let b = itimerval(k, c.pid, which);
    c.copyout(itv, b)?;
    Ok((0, 0))
}

pub(crate) fn setitimer(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (which, itv, oitv) = (c.int(0), c.word(1), c.word(2));
    if !(0..=ITIMER_MONOTONIC).contains(&which) {
        return err(EINVAL);
    }
    let new = if itv != 0 {
        Some(c.copyin(itv, 32)?)
    } else {
        None
    };
    if oitv != 0 {
        let b = itimerval(k, c.pid, which);
        c.copyout(oitv, b)?;
    }
    let Some(new) = new else {
        return Ok((0, 0));
    };
    let value = itimerfix(read_timeval(&new[16..32]))?;
    let interval = itimerfix(read_timeval(&new[0..16]))?;
    let key = (c.pid, which);
    if value == 0 {
        if let Some(t) = k.itimers.get_mut(&key) {
            *t = ITimer {
                value_ns: 0,
                interval_ns: interval,
            };
        }
        return Ok((0, 0));
    }
    let value_ns = if matches!(which, ITIMER_REAL | ITIMER_MONOTONIC) {
        now_ns(k, which) + value
    } else {
        value
    };
    k.itimers.insert(
        key,
        ITimer {
            value_ns,
            interval_ns: interval,
        },
    );
    Ok((0, 0))
}

/// clock_nanosleep(clock_id, flags, rqtp, rmtp): the error number comes back
/// as the return value (EFAULT for rqtp too). The request is made relative
/// (TIMER_ABSTIME: minus the clock's time now, as ts2timo does); then, as
/// __nanosleep50 answers: EINVAL for a nanosecond count out of range, at once
/// for a time not in the future, else the clock advances by it; rmtp, if
/// given, gets the zero time left when the sleep ran.
pub(crate) fn clock_nanosleep(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (id, flags, rq, rm) = (c.int(0), c.int(1), c.word(2), c.word(3));
    let raw = match c.copyin(rq, 16) {
        Ok(b) => b,
        Err(Stop::Errno(e)) => return Ok((i64::from(e), 0)),
        Err(other) => return Err(other),
    };
    let mut t = read_timespec(&raw);
    let now = match id {
        CLOCK_REALTIME => k.clock.realtime(),
        CLOCK_MONOTONIC => k.clock.monotonic(),
        _ => return Ok((i64::from(EINVAL), 0)),
    };
    if flags & TIMER_ABSTIME != 0 {
        // timespecsub: seconds and nanoseconds apart, one borrow.
        let (mut sec, mut nsec) = (t.sec.wrapping_sub(now.sec), t.nsec.wrapping_sub(now.nsec));
        if nsec < 0 {
            sec = sec.wrapping_sub(1);
            nsec += 1_000_000_000;
        }
        t = Timespec { sec, nsec };
    }
    if !(0..1_000_000_000).contains(&t.nsec) {
        return Ok((i64::from(EINVAL), 0));
    }
    if t.sec >= 0 {
        let ns = to_ns(t).clamp(0, i128::from(u64::MAX)) as u64;
        crate::sys::time::sleep_for(k, c, 477, ns)?;
        if rm != 0 {
            c.copyout(rm, timespec(Timespec::default()))?;
        }
    }
    Ok((0, 0))
}
