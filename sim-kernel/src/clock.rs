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
        let m = self.monotonic();
        Timespec {
            sec: self.boot_realtime + m.sec,
            nsec: m.nsec,
        }
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
