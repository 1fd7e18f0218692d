//! The named mutations: server bugs (mutants) and controls.

/// One kind of change to what a server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mutation {
    /// Every failing syscall answer gets another errno.
    ErrnoChange,
    /// Every failing syscall answer becomes a success (errno 0).
    ErrnoToSuccess,
    /// Every successful syscall answer gets `retval[0] + 1`.
    RetvalChange,
    /// Every successful syscall answer gets `retval[0] = 12345`.
    Retval12345,
    /// Every successful syscall answer gets `retval[1] + 1`.
    Retval1Change,
    /// Every ERROR frame carries another code.
    ErrorCodeChange,
    /// Only the third syscall answer of each connection fails with EIO (or EINVAL if it was EIO).
    NthErrno,
    /// getpid fails with ENOSYS (breaks every health check).
    GetpidBroken,
    /// getpid answers pid + 1, consistently (a kernel that numbers processes differently).
    GetpidShift,
    /// The first byte of every COPYOUT is flipped.
    CopyoutFlip,
    /// Every COPYOUT is dropped.
    CopyoutDrop,
    /// Every COPYOUT loses its last byte.
    CopyoutTruncate,
    /// After every COPYOUT, an extra 1-byte COPYOUT just past its end.
    CopyoutExtra,
    /// Before every syscall answer, in the same write, a wrong answer (EIO, retval -1) with the same reqno.
    EarlyAnswer,
    /// After every syscall answer, a duplicate of it, delivered with the next read.
    LateDuplicate,
    /// Every RAISE is dropped.
    RaiseDrop,
    /// Before every syscall answer, a RAISE of SIGUSR1.
    RaiseInject,
    /// stat results: st_size + 1.
    StatSize,
    /// stat results: st_mode with the owner-execute bit flipped.
    StatMode,
    /// stat results: all four timestamps zero.
    StatTimesZero,
    /// stat results: every timestamp one plausible kernel time (a kernel that ignores utimes).
    StatTimesFrozen,
    /// stat results: every timestamp a second earlier than in the answer before.
    StatTimesBackwards,
    /// stat results: st_nlink + 1.
    StatNlink,
    /// stat results: st_uid + 1.
    StatUid,
    /// Every RAISE carries another signal.
    RaiseSignal,
    /// getdents results: the first byte of every name changed.
    DirentName,
    /// getdents results: every d_type changed (directory ↔ regular file).
    DirentType,
    /// sysctl results: the first byte of every COPYOUT flipped.
    SysctlValue,
    /// The banner claims another NetBSD release.
    BannerVersion,
    /// Every successful handshake answer carries error EPERM.
    HandshakeError,
    /// The server closes every connection after 3 frames.
    CloseAfterN,
    /// Control: every frame's header and body arrive 1 ms apart, in separate reads.
    ControlDelay,
    /// Control: every byte arrives in its own read.
    ControlOneByte,
    /// Control: random bytes in the 4 padding bytes of syscall answers and in dirent name padding.
    ControlPadding,
    /// Control: every COPYOUT of 2 bytes or more is sent as two COPYOUTs (two halves).
    ControlCopyoutSplit,
}

/// Every mutation, mutants first, then the controls.
pub const MUTATIONS: &[Mutation] = &[
    Mutation::ErrnoChange,
    Mutation::ErrnoToSuccess,
    Mutation::RetvalChange,
    Mutation::Retval12345,
    Mutation::Retval1Change,
    Mutation::ErrorCodeChange,
    Mutation::NthErrno,
    Mutation::GetpidBroken,
    Mutation::GetpidShift,
    Mutation::CopyoutFlip,
    Mutation::CopyoutDrop,
    Mutation::CopyoutTruncate,
    Mutation::CopyoutExtra,
    Mutation::EarlyAnswer,
    Mutation::LateDuplicate,
    Mutation::RaiseDrop,
    Mutation::RaiseInject,
    Mutation::StatSize,
    Mutation::StatMode,
    Mutation::StatTimesZero,
    Mutation::StatTimesFrozen,
    Mutation::StatTimesBackwards,
    Mutation::StatNlink,
    Mutation::StatUid,
    Mutation::RaiseSignal,
    Mutation::DirentName,
    Mutation::DirentType,
    Mutation::SysctlValue,
    Mutation::BannerVersion,
    Mutation::HandshakeError,
    Mutation::CloseAfterN,
    Mutation::ControlDelay,
    Mutation::ControlOneByte,
    Mutation::ControlPadding,
    Mutation::ControlCopyoutSplit,
];

impl Mutation {
    /// The command-line name (`errno-change`).
    pub fn name(self) -> &'static str {
        use Mutation::*;
        match self {
            ErrnoChange => "errno-change",
            ErrnoToSuccess => "errno-to-success",
            RetvalChange => "retval-change",
            Retval12345 => "retval-12345",
            Retval1Change => "retval1-change",
            ErrorCodeChange => "error-code-change",
            StatNlink => "stat-nlink",
            StatUid => "stat-uid",
            RaiseSignal => "raise-signal",
            NthErrno => "nth-errno",
            GetpidBroken => "getpid-broken",
            GetpidShift => "getpid-shift",
            CopyoutFlip => "copyout-flip",
            CopyoutDrop => "copyout-drop",
            CopyoutTruncate => "copyout-truncate",
            CopyoutExtra => "copyout-extra",
            EarlyAnswer => "early-answer",
            LateDuplicate => "late-duplicate",
            RaiseDrop => "raise-drop",
            RaiseInject => "raise-inject",
            StatSize => "stat-size",
            StatMode => "stat-mode",
            StatTimesZero => "stat-times-zero",
            StatTimesFrozen => "stat-times-frozen",
            StatTimesBackwards => "stat-times-backwards",
            DirentName => "dirent-name",
            DirentType => "dirent-type",
            SysctlValue => "sysctl-value",
            BannerVersion => "banner-version",
            HandshakeError => "handshake-error",
            CloseAfterN => "close-after-n",
            ControlDelay => "control-delay",
            ControlOneByte => "control-1-byte",
            ControlPadding => "control-padding",
            ControlCopyoutSplit => "control-copyout-split",
        }
    }

    /// A control: a correct server's answer, changed in a way a correct judge accepts.
    pub fn is_control(self) -> bool {
        matches!(
            self,
            Mutation::ControlDelay
                | Mutation::ControlOneByte
                | Mutation::ControlPadding
                | Mutation::ControlCopyoutSplit
        )
    }

    /// Whether the robustness catalogue can judge this bug. Its recordings
    /// were made case after case on one real server, so pids grow from case
    /// to case and the catalogue shows them as `pid`: a consistent pid shift
    /// is only the corpus's and the differential suite's to catch.
    pub fn catalog_judges(self) -> bool {
        self != Mutation::GetpidShift
    }

    /// Looks a mutation up by name.
    pub fn by_name(name: &str) -> Option<Mutation> {
        MUTATIONS.iter().copied().find(|m| m.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for m in MUTATIONS {
            assert_eq!(Mutation::by_name(m.name()), Some(*m));
        }
        let mut names: Vec<_> = MUTATIONS.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), MUTATIONS.len());
        assert!(MUTATIONS.iter().filter(|m| !m.is_control()).count() >= 20);
        assert_eq!(Mutation::by_name("nope"), None);
    }
}
