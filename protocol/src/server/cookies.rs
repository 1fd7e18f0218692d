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

/// Cookies from the operating system's random source: a client that sees its
/// own cookies learns nothing about anyone else's. What `serve` uses; the seeded
/// stream is for simulation and fuzzing only.
#[derive(Debug, Clone, Copy)]
pub struct OsCookies(());

impl OsCookies {
    /// A source, after checking that the OS random source works (so a server
    /// fails at start, with this error, rather than later).
    pub fn new() -> Result<OsCookies, getrandom::Error> {
        getrandom::fill(&mut [0u8; COOKIE_LEN])?;
        Ok(OsCookies(()))
    }
}

impl CookieSource for OsCookies {
    fn next_cookie(&mut self) -> PreforkCookie {
        let mut c = [0u8; COOKIE_LEN];
        // Checked to work in `new`; the OS source does not fail afterwards on
        // supported systems, and handing out a predictable cookie instead would be
        // the hijack this type exists to prevent.
        if let Err(e) = getrandom::fill(&mut c) {
            panic!("the OS random source failed after working at start: {e}");
        }
        PreforkCookie(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_cookies_differ() {
        let mut a = OsCookies::new().unwrap();
        let x = a.next_cookie();
        let y = a.next_cookie();
        assert_ne!(x, y);
        assert_ne!(x, PreforkCookie([0; COOKIE_LEN]));
    }

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
