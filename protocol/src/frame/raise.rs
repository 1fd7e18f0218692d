//! RAISE: the server asks the client to raise a NetBSD signal (spec §5.8).
//!
//! The frame has no body and no reply. Its `reqno` is uninitialised memory in
//! the reference server: receivers must ignore it (we keep it for lossless
//! re-encoding in [`crate::Frame::reqno`]).

/// A signal for the client process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raise {
    /// NetBSD signal number (the header's `u`).
    pub signo: u32,
}

/// NetBSD's name for a signal number (`SIGPIPE` for 13), if it has one.
pub fn signal_name(signo: u32) -> Option<&'static str> {
    const NAMES: [&str; 32] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGEMT",
        "SIGFPE",
        "SIGKILL",
        "SIGBUS",
        "SIGSEGV",
        "SIGSYS",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGURG",
        "SIGSTOP",
        "SIGTSTP",
        "SIGCONT",
        "SIGCHLD",
        "SIGTTIN",
        "SIGTTOU",
        "SIGIO",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGINFO",
        "SIGUSR1",
        "SIGUSR2",
        "SIGPWR",
    ];
    NAMES.get((signo as usize).checked_sub(1)?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netbsd_signal_names() {
        assert_eq!(signal_name(13), Some("SIGPIPE"));
        assert_eq!(signal_name(29), Some("SIGINFO"));
        assert_eq!(signal_name(32), Some("SIGPWR"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(33), None);
    }
}
