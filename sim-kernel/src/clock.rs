//! The virtual clock and the seeded random source: the only time and the only
//! randomness the simulated kernel sees.

use crate::vfs::Timespec;

/// Virtual time: a monotonic nanosecond counter plus the real-time epoch it started at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    /// Nanoseconds since boot.
    pub mono_ns: u64,
    /// CLOCK_REALTIME at boot, in seconds.
    pub boot_realtime: i64,
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

    /// CLOCK_MONOTONIC.
    pub fn monotonic(&self) -> Timespec {
        Timespec {
            sec: (self.mono_ns / 1_000_000_000) as i64,
            nsec: (self.mono_ns % 1_000_000_000) as i64,
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
            + i128::from(self.mono_ns)
    }

    /// The boot time as CLOCK_REALTIME reckons it now (`boottime`).
    pub fn boottime(&self) -> Timespec {
        from_ns(i128::from(self.boot_realtime) * 1_000_000_000 + self.realtime_shift_ns)
    }

    /// Sets CLOCK_REALTIME (tc_setclock); CLOCK_MONOTONIC goes on unchanged.
    pub fn set_realtime_ns(&mut self, ns: i128) {
        self.realtime_shift_ns += ns - self.realtime_ns();
    }

    /// Advances the clock.
    pub fn advance(&mut self, ns: u64) {
        self.mono_ns = self.mono_ns.saturating_add(ns);
    }

    /// hardclock ticks at 100 Hz.
    pub fn ticks(&self) -> i64 {
        (self.mono_ns / 10_000_000) as i64
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
