//! Bugs a server can be told to have, so that fuzzers can be tested on them
//! (`rumpsp serve --inject-bug NAME`, and the cargo-fuzz targets with
//! `RUMPSP_INJECT_BUG=NAME`). Five re-create the crashes the NetBSD reference
//! server has on the robustness catalogue (`traces/robustness/SUMMARY.md`) as an
//! abort of the process; two are protocol misbehaviours. Nothing is injected
//! unless a bug is set with [`crate::server::ServerCore::set_injected_bug`].

use std::str::FromStr;

use crate::codes::{Class, HandshakeKind, MsgType};
use crate::decoder::RawFrame;

/// One injected bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InjectedBug {
    /// A GUEST handshake with an empty body aborts.
    GuestEmpty,
    /// A SYSCALL with sysnum 0xffffffff aborts.
    SysnumAllOnes,
    /// A SYSCALL with sysnum in 0x80000000..0xffffffff aborts.
    SysnumHigh,
    /// `open` (5) with an empty argument block aborts.
    OpenEmptyArgs,
    /// A COPYIN answered with 0 bytes aborts.
    CopyinEmpty,
    /// `read` (3) with `nbyte` 0 is never answered.
    HangRead0,
    /// `getuid` (24) is answered twice.
    DoubleAnswer,
}

impl InjectedBug {
    /// Every bug, in a fixed order.
    pub const ALL: [InjectedBug; 7] = [
        InjectedBug::GuestEmpty,
        InjectedBug::SysnumAllOnes,
        InjectedBug::SysnumHigh,
        InjectedBug::OpenEmptyArgs,
        InjectedBug::CopyinEmpty,
        InjectedBug::HangRead0,
        InjectedBug::DoubleAnswer,
    ];

    /// The command-line name.
    pub const fn name(self) -> &'static str {
        match self {
            InjectedBug::GuestEmpty => "guest-empty",
            InjectedBug::SysnumAllOnes => "sysnum-ffffffff",
            InjectedBug::SysnumHigh => "sysnum-80000000",
            InjectedBug::OpenEmptyArgs => "open-empty-args",
            InjectedBug::CopyinEmpty => "copyin-empty",
            InjectedBug::HangRead0 => "hang-read0",
            InjectedBug::DoubleAnswer => "double-answer",
        }
    }

    /// Whether the bug is a crash (an abort of the process).
    pub const fn aborts(self) -> bool {
        !matches!(self, InjectedBug::HangRead0 | InjectedBug::DoubleAnswer)
    }
}

/// An unknown bug name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown injected bug {0:?} (known: guest-empty, sysnum-ffffffff, sysnum-80000000, open-empty-args, copyin-empty, hang-read0, double-answer)")]
pub struct UnknownBug(pub String);

impl FromStr for InjectedBug {
    type Err = UnknownBug;
    fn from_str(s: &str) -> Result<InjectedBug, UnknownBug> {
        InjectedBug::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| UnknownBug(s.to_string()))
    }
}

/// What the server does with a frame under an injected bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// Nothing special.
    Normal,
    /// Abort the process.
    Abort,
    /// Drop the frame: its request is never answered.
    Drop,
    /// Handle the frame twice.
    Twice,
}

/// The effect of `bug` on frame `f` received on a connection that is `running`
/// (past its handshake), where `awaited` says whether `f`'s reqno is one the
/// server waits an answer for.
pub fn effect(bug: InjectedBug, running: bool, awaited: bool, f: &RawFrame) -> Injected {
    let h = &f.header;
    let req = Class::from_u16(h.class) == Some(Class::Req);
    let syscall = req && running && h.ty == MsgType::Syscall.to_u16();
    let hit = match bug {
        InjectedBug::GuestEmpty => {
            req && !running
                && h.ty == MsgType::Handshake.to_u16()
                && HandshakeKind::from_u32(h.word) == HandshakeKind::Guest
                && f.body.is_empty()
        }
        InjectedBug::SysnumAllOnes => syscall && h.word == u32::MAX,
        InjectedBug::SysnumHigh => syscall && h.word >= 0x8000_0000 && h.word != u32::MAX,
        InjectedBug::OpenEmptyArgs => syscall && h.word == 5 && f.body.is_empty(),
        InjectedBug::CopyinEmpty => {
            Class::from_u16(h.class) == Some(Class::Resp) && awaited && f.body.is_empty()
        }
        InjectedBug::HangRead0 => {
            syscall && h.word == 3 && f.body.len() >= 24 && f.body[16..24] == [0; 8]
        }
        InjectedBug::DoubleAnswer => syscall && h.word == 24,
    };
    match (hit, bug) {
        (false, _) => Injected::Normal,
        (true, InjectedBug::HangRead0) => Injected::Drop,
        (true, InjectedBug::DoubleAnswer) => Injected::Twice,
        (true, _) => Injected::Abort,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::Header;

    fn frame(class: Class, ty: MsgType, word: u32, body: &[u8]) -> RawFrame {
        RawFrame::new(Header::new(body.len(), 1, class, ty, word), body.to_vec())
    }

    #[test]
    fn names_round_trip_and_unknown_is_refused() {
        for b in InjectedBug::ALL {
            assert_eq!(b.name().parse::<InjectedBug>(), Ok(b));
        }
        assert!("nope".parse::<InjectedBug>().is_err());
    }

    #[test]
    fn each_bug_hits_only_its_input() {
        use InjectedBug::*;
        let guest0 = frame(Class::Req, MsgType::Handshake, 0, b"");
        let guest1 = frame(Class::Req, MsgType::Handshake, 0, b"x\0");
        assert_eq!(effect(GuestEmpty, false, false, &guest0), Injected::Abort);
        assert_eq!(effect(GuestEmpty, false, false, &guest1), Injected::Normal);
        let s = |w, body: &[u8]| frame(Class::Req, MsgType::Syscall, w, body);
        assert_eq!(
            effect(SysnumAllOnes, true, false, &s(u32::MAX, b"")),
            Injected::Abort
        );
        assert_eq!(
            effect(SysnumAllOnes, true, false, &s(0x8000_0000, b"")),
            Injected::Normal
        );
        assert_eq!(
            effect(SysnumHigh, true, false, &s(0x8000_0000, b"")),
            Injected::Abort
        );
        assert_eq!(
            effect(SysnumHigh, true, false, &s(500, b"")),
            Injected::Normal
        );
        assert_eq!(
            effect(OpenEmptyArgs, true, false, &s(5, b"")),
            Injected::Abort
        );
        assert_eq!(
            effect(OpenEmptyArgs, true, false, &s(5, &[0; 24])),
            Injected::Normal
        );
        let resp0 = frame(Class::Resp, MsgType::Copyin, 0, b"");
        assert_eq!(effect(CopyinEmpty, true, true, &resp0), Injected::Abort);
        assert_eq!(effect(CopyinEmpty, true, false, &resp0), Injected::Normal);
        assert_eq!(
            effect(HangRead0, true, false, &s(3, &[0; 24])),
            Injected::Drop
        );
        let mut one = [0u8; 24];
        one[16] = 1;
        assert_eq!(
            effect(HangRead0, true, false, &s(3, &one)),
            Injected::Normal
        );
        assert_eq!(
            effect(DoubleAnswer, true, false, &s(24, b"")),
            Injected::Twice
        );
        assert_eq!(
            effect(DoubleAnswer, true, false, &s(20, b"")),
            Injected::Normal
        );
    }
}
