//! Where prefork cookies come from. The core draws no randomness of its own:
//! the caller injects a [`CookieSource`], seeded for reproducible runs.

use crate::frame::{PreforkCookie, COOKIE_LEN};

/// A source of prefork cookies.
pub trait CookieSource: Send {
    /// The next cookie.
    fn next_cookie(&mut self) -> PreforkCookie;
}

/// Cookies from a seeded SplitMix64 stream: the same seed gives the same cookies.
#[derive(Debug, Clone)]
pub struct SeededCookies {
    state: u64,
}

impl SeededCookies {
    /// A stream for `seed`.
    pub fn new(seed: u64) -> SeededCookies {
        SeededCookies { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl CookieSource for SeededCookies {
    fn next_cookie(&mut self) -> PreforkCookie {
        let mut c = [0u8; COOKIE_LEN];
        c[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        c[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        PreforkCookie(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_cookies() {
        let mut a = SeededCookies::new(7);
        let mut b = SeededCookies::new(7);
        let mut c = SeededCookies::new(8);
        let (x, y, z) = (a.next_cookie(), b.next_cookie(), c.next_cookie());
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_ne!(a.next_cookie(), x);
    }
}
