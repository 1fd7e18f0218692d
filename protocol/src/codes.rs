//! The numbers in the header: classes, message types, handshake kinds and
//! protocol error codes (spec §4.2–§4.6).

/// The `class` field of a frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// A request (`0`).
    Req,
    /// A successful response (`1`).
    Resp,
    /// A protocol-level failure response (`2`); `u` holds the error code.
    Error,
}

impl Class {
    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        match self {
            Class::Req => 0,
            Class::Resp => 1,
            Class::Error => 2,
        }
    }

    /// Decodes a wire value; `None` for anything but 0, 1, 2.
    pub const fn from_u16(v: u16) -> Option<Class> {
        match v {
            0 => Some(Class::Req),
            1 => Some(Class::Resp),
            2 => Some(Class::Error),
            _ => None,
        }
    }

    /// The spec's upper-case name (`REQ`, `RESP`, `ERROR`).
    pub const fn name(self) -> &'static str {
        match self {
            Class::Req => "REQ",
            Class::Resp => "RESP",
            Class::Error => "ERROR",
        }
    }
}

/// The `type` field of a frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MsgType {
    /// `0`: connection handshake (GUEST, AUTH, FORK, EXEC).
    Handshake,
    /// `1`: a system call.
    Syscall,
    /// `2`: the server reads client memory.
    Copyin,
    /// `3`: the server reads a NUL-terminated string from client memory.
    Copyinstr,
    /// `4`: the server writes client memory.
    Copyout,
    /// `5`: string variant of COPYOUT (never sent by the reference server).
    Copyoutstr,
    /// `6`: the server asks the client for an anonymous mapping.
    Anonmmap,
    /// `7`: the client prepares a fork.
    Prefork,
    /// `8`: the server asks the client to raise a signal.
    Raise,
}

impl MsgType {
    /// Every type, in wire order.
    pub const ALL: [MsgType; 9] = [
        MsgType::Handshake,
        MsgType::Syscall,
        MsgType::Copyin,
        MsgType::Copyinstr,
        MsgType::Copyout,
        MsgType::Copyoutstr,
        MsgType::Anonmmap,
        MsgType::Prefork,
        MsgType::Raise,
    ];

    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        match self {
            MsgType::Handshake => 0,
            MsgType::Syscall => 1,
            MsgType::Copyin => 2,
            MsgType::Copyinstr => 3,
            MsgType::Copyout => 4,
            MsgType::Copyoutstr => 5,
            MsgType::Anonmmap => 6,
            MsgType::Prefork => 7,
            MsgType::Raise => 8,
        }
    }

    /// Decodes a wire value; `None` above 8.
    pub const fn from_u16(v: u16) -> Option<MsgType> {
        if (v as usize) < MsgType::ALL.len() {
            Some(MsgType::ALL[v as usize])
        } else {
            None
        }
    }

    /// The spec's upper-case name (`HANDSHAKE`, `SYSCALL`, …).
    pub const fn name(self) -> &'static str {
        match self {
            MsgType::Handshake => "HANDSHAKE",
            MsgType::Syscall => "SYSCALL",
            MsgType::Copyin => "COPYIN",
            MsgType::Copyinstr => "COPYINSTR",
            MsgType::Copyout => "COPYOUT",
            MsgType::Copyoutstr => "COPYOUTSTR",
            MsgType::Anonmmap => "ANONMMAP",
            MsgType::Prefork => "PREFORK",
            MsgType::Raise => "RAISE",
        }
    }

    /// Looks a type up by its [`MsgType::name`].
    pub fn from_name(name: &str) -> Option<MsgType> {
        MsgType::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The kind of a HANDSHAKE request (its `u` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HandshakeKind {
    /// `0`: a new, independent client process.
    Guest,
    /// `1`: reserved, never implemented; servers refuse it.
    Auth,
    /// `2`: the child side of a fork, carrying a prefork cookie.
    Fork,
    /// `3`: an existing connection whose client process called exec.
    Exec,
    /// Any other value (refused by servers, kept for lossless decoding).
    Unknown(u32),
}

impl HandshakeKind {
    /// The wire value.
    pub const fn to_u32(self) -> u32 {
        match self {
            HandshakeKind::Guest => 0,
            HandshakeKind::Auth => 1,
            HandshakeKind::Fork => 2,
            HandshakeKind::Exec => 3,
            HandshakeKind::Unknown(v) => v,
        }
    }

    /// Decodes a wire value; unknown values are kept as [`HandshakeKind::Unknown`].
    pub const fn from_u32(v: u32) -> HandshakeKind {
        match v {
            0 => HandshakeKind::Guest,
            1 => HandshakeKind::Auth,
            2 => HandshakeKind::Fork,
            3 => HandshakeKind::Exec,
            v => HandshakeKind::Unknown(v),
        }
    }

    /// The spec's name (`GUEST`, `AUTH`, `FORK`, `EXEC`), or `None` for an unknown kind.
    pub const fn name(self) -> Option<&'static str> {
        match self {
            HandshakeKind::Guest => Some("GUEST"),
            HandshakeKind::Auth => Some("AUTH"),
            HandshakeKind::Fork => Some("FORK"),
            HandshakeKind::Exec => Some("EXEC"),
            HandshakeKind::Unknown(_) => None,
        }
    }
}

/// A protocol error code: the `u` field of an ERROR frame (spec §4.6).
///
/// This is deliberately a different type from a NetBSD errno (which travels in
/// SYSCALL responses) and from a local transport error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// `0`: no error (never sent).
    None,
    /// `1`: resources short, resend (client errno EAGAIN).
    TryAgain,
    /// `2`: request before a successful handshake (EPERM).
    Auth,
    /// `3`: FORK handshake with an unknown cookie (ESRCH).
    InvalidPrefork,
    /// `4`: process creation failed (EIO).
    RforkFailed,
    /// `5`: PREFORK or EXEC while an exec is in progress (EBUSY).
    InExec,
    /// `6`: server bookkeeping allocation failed (ENOMEM).
    NoMem,
    /// `7`: malformed or unsupported request (EINVAL).
    MalformedRequest,
    /// Any other value; the C client maps it to -1.
    Unknown(u32),
}

impl ErrorCode {
    /// The wire value.
    pub const fn to_u32(self) -> u32 {
        match self {
            ErrorCode::None => 0,
            ErrorCode::TryAgain => 1,
            ErrorCode::Auth => 2,
            ErrorCode::InvalidPrefork => 3,
            ErrorCode::RforkFailed => 4,
            ErrorCode::InExec => 5,
            ErrorCode::NoMem => 6,
            ErrorCode::MalformedRequest => 7,
            ErrorCode::Unknown(v) => v,
        }
    }

    /// Decodes a wire value; unknown values are kept as [`ErrorCode::Unknown`].
    pub const fn from_u32(v: u32) -> ErrorCode {
        match v {
            0 => ErrorCode::None,
            1 => ErrorCode::TryAgain,
            2 => ErrorCode::Auth,
            3 => ErrorCode::InvalidPrefork,
            4 => ErrorCode::RforkFailed,
            5 => ErrorCode::InExec,
            6 => ErrorCode::NoMem,
            7 => ErrorCode::MalformedRequest,
            v => ErrorCode::Unknown(v),
        }
    }

    /// The spec's name (`TRYAGAIN`, `AUTH`, …), or `None` for an unknown code.
    pub const fn name(self) -> Option<&'static str> {
        match self {
            ErrorCode::None => Some("NONE"),
            ErrorCode::TryAgain => Some("TRYAGAIN"),
            ErrorCode::Auth => Some("AUTH"),
            ErrorCode::InvalidPrefork => Some("INVALID_PREFORK"),
            ErrorCode::RforkFailed => Some("RFORK_FAILED"),
            ErrorCode::InExec => Some("INEXEC"),
            ErrorCode::NoMem => Some("NOMEM"),
            ErrorCode::MalformedRequest => Some("MALFORMED_REQUEST"),
            ErrorCode::Unknown(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_values() {
        for v in 0..=u16::MAX {
            match Class::from_u16(v) {
                Some(c) => assert_eq!(c.to_u16(), v),
                None => assert!(v > 2),
            }
        }
    }

    #[test]
    fn type_values_and_names() {
        for (i, t) in MsgType::ALL.iter().enumerate() {
            assert_eq!(t.to_u16() as usize, i);
            assert_eq!(MsgType::from_u16(i as u16), Some(*t));
            assert_eq!(MsgType::from_name(t.name()), Some(*t));
        }
        assert_eq!(MsgType::from_u16(9), None);
        assert_eq!(MsgType::from_u16(42), None);
    }

    #[test]
    fn handshake_and_error_codes_round_trip() {
        for v in [0, 1, 2, 3, 7, u32::MAX] {
            assert_eq!(HandshakeKind::from_u32(v).to_u32(), v);
            assert_eq!(ErrorCode::from_u32(v).to_u32(), v);
        }
        assert_eq!(HandshakeKind::from_u32(2), HandshakeKind::Fork);
        assert_eq!(ErrorCode::from_u32(7).name(), Some("MALFORMED_REQUEST"));
        assert_eq!(ErrorCode::from_u32(8), ErrorCode::Unknown(8));
    }
}
