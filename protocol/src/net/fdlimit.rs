//! The process's open-file limit: a server raises its soft RLIMIT_NOFILE to the
//! hard limit at start, so that ~1020 silent connections cannot exhaust it.

/// The soft and hard RLIMIT_NOFILE before and the soft limit after raising it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    /// Soft limit found at start.
    pub before: u64,
    /// Soft limit now (the hard limit unless setting it failed).
    pub now: u64,
    /// The hard limit.
    pub hard: u64,
}

/// Raises the soft RLIMIT_NOFILE to the hard limit and says what it got.
// rlim_t is u64 on Linux but not everywhere: the casts are kept.
#[allow(clippy::unnecessary_cast)]
pub fn raise_fd_limit() -> std::io::Result<FdLimit> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = rl.rlim_cur as u64;
    let hard = rl.rlim_max as u64;
    if rl.rlim_cur < rl.rlim_max {
        let want = libc::rlimit {
            rlim_cur: rl.rlim_max,
            rlim_max: rl.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    // SAFETY: as above.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(FdLimit {
        before,
        now: rl.rlim_cur as u64,
        hard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let l = raise_fd_limit().unwrap();
        assert!(l.before <= l.now);
        assert_eq!(l.now, l.hard);
    }
}
