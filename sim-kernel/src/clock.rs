//! The kernel's clock and the seeded random source: the only time and the
//! only randomness the simulated kernel sees. The clock is virtual (advanced
//! only by syscalls, deterministic) unless the kernel is configured with
//! [`ClockSource::Host`], as `rumpsp serve` is by default: then it follows
//! the host's time, as a real rump kernel's clock does.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::vfs::Timespec;

/// Where the kernel's time comes from, chosen when it boots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClockSource {
    /// Virtual time: starts at the configured boot time and moves only as
    /// syscalls advance it. Deterministic: simulations, fuzzing, in-process
    /// conformance replays and tests use it.
    #[default]
    Virtual,
    /// The host's time: CLOCK_REALTIME is the host's real time and
    /// CLOCK_MONOTONIC the time since boot; neither goes below what the
    /// kernel has already advanced it to (a nanosleep moves it ahead until the
    /// host catches up).
    Host,
}

/// The host's time at boot, for [`ClockSource::Host`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostOrigin {
    /// The host's monotonic time at boot.
    start: Instant,
    /// The sub-second part of the host's real time at boot (the whole seconds
    /// are [`Clock::boot_realtime`]), nanoseconds.
    frac_ns: u64,
}

/// The kernel's time: a monotonic nanosecond counter plus the real-time
/// epoch it started at; with a host origin the counter is only a floor under
/// the host's elapsed time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    /// Nanoseconds since boot (virtual), or the least a reading may say (host).
    pub mono_ns: u64,
    /// CLOCK_REALTIME at boot, in seconds.
    pub boot_realtime: i64,
    /// The host's time at boot; `None`: virtual time.
    pub host: Option<HostOrigin>,
    /// Nanoseconds clock_settime/settimeofday moved CLOCK_REALTIME (and the
    /// boot time with it, as settime1 moves `boottime`) since boot.
    pub realtime_shift_ns: i128,
}

/// An interval timer (setitimer): its next expiry and its reload period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ITimer {
    /// ITIMER_REAL / ITIMER_MONOTONIC: the absolute expiry, in nanoseconds
    /// on CLOCK_REALTIME / CLOCK_MONOTONIC; ITIMER_VIRTUAL / ITIMER_PROF: the
    /// time left (it never runs down: no process time passes in a rump kernel).
    pub value_ns: i128,
    /// The reload period in nanoseconds (0: one shot).
    pub interval_ns: i128,
}

impl Clock {
    /// Time advanced by every syscall, so that successive timestamps differ.
    pub const TICK_NS: u64 = 1_000;

    /// A clock booted now: virtual time starts at `boot_realtime` seconds;
    /// host time reads the host's real time once, here.
    pub fn boot(source: ClockSource, boot_realtime: i64) -> Clock {
        match source {
            ClockSource::Virtual => Clock {
                mono_ns: 0,
                boot_realtime,
                host: None,
                realtime_shift_ns: 0,
            },
            ClockSource::Host => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                let origin = HostOrigin {
                    start: Instant::now(),
                    frac_ns: u64::from(now.subsec_nanos()),
                };
                Clock {
                    mono_ns: origin.frac_ns,
                    boot_realtime: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
                    host: Some(origin),
                    realtime_shift_ns: 0,
                }
            }
        }
    }

    /// Nanoseconds since boot now (CLOCK_MONOTONIC): the virtual counter, or the host's elapsed
    /// time, never below the counter.
    pub fn now_ns(&self) -> u64 {
        match self.host {
            None => self.mono_ns,
            Some(o) => {
                let elapsed = u64::try_from(o.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
                o.frac_ns.saturating_add(elapsed).max(self.mono_ns)
            }
        }
    }

    /// CLOCK_MONOTONIC.
    pub fn monotonic(&self) -> Timespec {
        let ns = self.now_ns();
        Timespec {
            sec: (ns / 1_000_000_000) as i64,
            nsec: (ns % 1_000_000_000) as i64,
        }
    }

    /// CLOCK_REALTIME.
    pub fn realtime(&self) -> Timespec {
        from_ns(self.realtime_ns())
    }

    /// CLOCK_REALTIME in nanoseconds since the epoch.
    pub fn realtime_ns(&self) -> i128 {
        i128::from(self.boot_realtime) * 1_000_000_000
            + self.realtime_shift_ns
            + i128::from(self.now_ns())
    }

    /// The boot time as CLOCK_REALTIME reckons it now (`boottime`).
    pub fn boottime(&self) -> Timespec {
        from_ns(i128::from(self.boot_realtime) * 1_000_000_000 + self.realtime_shift_ns)
    }

    /// Sets CLOCK_REALTIME (tc_setclock); CLOCK_MONOTONIC goes on unchanged.
    pub fn set_realtime_ns(&mut self, ns: i128) {
        self.realtime_shift_ns += ns - self.realtime_ns();
    }

    /// Advances the clock by `ns` from now.
    pub fn advance(&mut self, ns: u64) {
        self.mono_ns = self.now_ns().saturating_add(ns);
    }

    /// hardclock ticks at 100 Hz.
    pub fn ticks(&self) -> i64 {
        (self.now_ns() / 10_000_000) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_time_moves_only_when_advanced() {
        let mut c = Clock::boot(ClockSource::Virtual, 1_000);
        let a = c.realtime();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(c.realtime(), a);
        assert_eq!(
            a,
            Timespec {
                sec: 1_000,
                nsec: 0
            }
        );
        c.advance(1_500_000_000);
        assert_eq!(
            c.realtime(),
            Timespec {
                sec: 1_001,
                nsec: 500_000_000
            }
        );
        assert_eq!(c.ticks(), 150);
    }

    #[test]
    fn host_time_is_the_hosts_and_an_advance_is_a_floor() {
        let mut c = Clock::boot(ClockSource::Host, 0);
        let host = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let r = c.realtime();
        assert!((r.sec - host).abs() <= 1, "{r:?} vs host {host}");
        let m0 = c.monotonic();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let m1 = c.monotonic();
        let d = (m1.sec - m0.sec) * 1_000_000_000 + (m1.nsec - m0.nsec);
        assert!(d >= 20_000_000, "host time moves by itself: {d} ns");
        // A 10 s advance puts the clock 10 s ahead of the host, not back.
        c.advance(10_000_000_000);
        let r2 = c.realtime();
        assert!(r2.sec >= host + 9, "{r2:?}");
        assert!(c.realtime() >= r2);
    }
}

/// A timespec for a nanosecond count (seconds saturate at the i64 range).
pub fn from_ns(ns: i128) -> Timespec {
    let sec = ns.div_euclid(1_000_000_000);
    Timespec {
        sec: sec.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
        nsec: ns.rem_euclid(1_000_000_000) as i64,
    }
}

/// A timespec in nanoseconds.
pub fn to_ns(t: Timespec) -> i128 {
    i128::from(t.sec) * 1_000_000_000 + i128::from(t.nsec)
}

/// SplitMix64: small, fast and fully determined by its seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5eed_5eed_5eed_5eed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}
