//! Setting the time: __clock_settime50 (428) and __settimeofday50 (419), as
//! kern_time.c (rev. 1.182, the last before NetBSD 7.99.34 in the sources
//! at hand) does it: the value is copied in; clock_settime1 accepts only
//! CLOCK_REALTIME (EINVAL for CLOCK_MONOTONIC, read-only, and any other id);
//! settime1 asks kauth (KAUTH_SYSTEM_TIME: root only, else EPERM) and sets
//! the clock with tc_setclock, moving the boot time by the same amount. That
//! revision checks neither tv_nsec nor tv_usec (the range checks came later):
//! an out-of-range value goes through timespec2bintime as the kernel's does.
//! settimeofday with a NULL time sets nothing and succeeds (a time zone is
//! only logged).

use crate::clock::to_ns;
use crate::consts::*;
use crate::structs::{read_timespec, read_timeval};
use crate::sys::file::cred;
use crate::vfs::Timespec;
use crate::{err, Ctx, SimKernel, SysResult};

/// The nanoseconds a timespec sets the clock to: timespec2bintime keeps
/// `tv_nsec * 18446744073` (mod 2^64) as the binary fraction, and reading the
/// clock turns the upper 32 bits of that fraction back into nanoseconds.
fn bintime_ns(t: Timespec) -> i128 {
    let frac = (t.nsec as u64).wrapping_mul(18_446_744_073);
    let nsec = ((frac >> 32) * 1_000_000_000) >> 32;
    to_ns(Timespec {
        sec: t.sec,
        nsec: nsec as i64,
    })
}

/// settime1: EPERM unless root, then the clock is set.
fn settime(k: &mut SimKernel, pid: i32, t: Timespec) -> SysResult {
    if !cred(k, pid)?.is_root() {
        return err(EPERM);
    }
    k.clock.set_realtime_ns(bintime_ns(t));
    Ok((0, 0))
}

pub(crate) fn clock_settime(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (id, tp) = (c.int(0), c.word(1));
    let t = read_timespec(&c.copyin(tp, 16)?);
    match id {
        CLOCK_REALTIME => settime(k, c.pid, t),
        _ => err(EINVAL),
    }
}

pub(crate) fn settimeofday(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let tv = c.word(0);
    if tv == 0 {
        return Ok((0, 0));
    }
    let t = read_timeval(&c.copyin(tv, 16)?);
    settime(k, c.pid, t)
}
