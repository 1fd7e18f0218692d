//! HANDSHAKE request (GUEST, AUTH, FORK, EXEC) and its response (spec §5.2).

use crate::abi::Abi;
use crate::codes::HandshakeKind;
use crate::error::{BodyLen, MessageError};

/// Size of a prefork cookie.
pub const COOKIE_LEN: usize = 16;
/// Body size of a FORK handshake: the cookie and an `int` cancel flag.
pub const FORK_BODY_LEN: usize = COOKIE_LEN + 4;

/// The opaque 16-byte cookie a PREFORK response hands out and a FORK handshake redeems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PreforkCookie(pub [u8; COOKIE_LEN]);

impl std::fmt::Display for PreforkCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A HANDSHAKE request, the first frame of every connection (and EXEC later on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake<'a> {
    /// A new client process; the body is its program name, normally NUL-terminated.
    Guest {
        /// The raw body (name bytes, usually with a trailing NUL).
        name: &'a [u8],
    },
    /// Reserved kind 1; the body has no defined meaning.
    Auth {
        /// The raw body.
        body: &'a [u8],
    },
    /// The child of a fork redeems its cookie.
    Fork {
        /// The cookie from the parent's PREFORK response.
        cookie: PreforkCookie,
        /// Non-zero abandons the fork.
        cancel: i32,
    },
    /// The client process exec'd; the body is the new program name.
    Exec {
        /// The raw body (name bytes, usually with a trailing NUL).
        name: &'a [u8],
    },
    /// A kind the protocol does not define.
    Unknown {
        /// The kind value.
        kind: u32,
        /// The raw body.
        body: &'a [u8],
    },
}

impl<'a> Handshake<'a> {
    /// The handshake kind (the header's `u`).
    pub fn kind(&self) -> HandshakeKind {
        match self {
            Handshake::Guest { .. } => HandshakeKind::Guest,
            Handshake::Auth { .. } => HandshakeKind::Auth,
            Handshake::Fork { .. } => HandshakeKind::Fork,
            Handshake::Exec { .. } => HandshakeKind::Exec,
            Handshake::Unknown { kind, .. } => HandshakeKind::Unknown(*kind),
        }
    }

    /// The program name of a GUEST or EXEC handshake as the C server reads it:
    /// the body up to its first NUL, or all of it.
    pub fn program_name(&self) -> Option<&'a [u8]> {
        match self {
            Handshake::Guest { name } | Handshake::Exec { name } => {
                Some(name.split(|&b| b == 0).next().unwrap_or(name))
            }
            _ => None,
        }
    }

    pub(crate) fn decode(kind: u32, body: &'a [u8], abi: Abi) -> Result<Self, MessageError> {
        Ok(match HandshakeKind::from_u32(kind) {
            HandshakeKind::Guest => Handshake::Guest { name: body },
            HandshakeKind::Exec => Handshake::Exec { name: body },
            HandshakeKind::Auth => Handshake::Auth { body },
            HandshakeKind::Unknown(kind) => Handshake::Unknown { kind, body },
            HandshakeKind::Fork => {
                if body.len() != FORK_BODY_LEN {
                    return Err(MessageError::BadBodyLength {
                        what: "FORK handshake",
                        expected: BodyLen::Exactly(FORK_BODY_LEN),
                        actual: body.len(),
                    });
                }
                let mut cookie = [0u8; COOKIE_LEN];
                cookie.copy_from_slice(&body[..COOKIE_LEN]);
                let cancel = abi.read_i32(&body[COOKIE_LEN..]).unwrap_or_default();
                Handshake::Fork {
                    cookie: PreforkCookie(cookie),
                    cancel,
                }
            }
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        match self {
            Handshake::Guest { name } | Handshake::Exec { name } => name.len(),
            Handshake::Auth { body } | Handshake::Unknown { body, .. } => body.len(),
            Handshake::Fork { .. } => FORK_BODY_LEN,
        }
    }

    pub(crate) fn encode_body(&self, abi: Abi, out: &mut Vec<u8>) {
        match self {
            Handshake::Guest { name } | Handshake::Exec { name } => out.extend_from_slice(name),
            Handshake::Auth { body } | Handshake::Unknown { body, .. } => {
                out.extend_from_slice(body)
            }
            Handshake::Fork { cookie, cancel } => {
                out.extend_from_slice(&cookie.0);
                abi.put_i32(out, *cancel);
            }
        }
    }
}

/// The server's answer to a successful handshake: an `int` error, always 0 from the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeResp {
    /// Handshake error (0 = success).
    pub error: i32,
}

impl HandshakeResp {
    pub(crate) fn decode(body: &[u8], abi: Abi) -> Result<Self, MessageError> {
        if body.len() != 4 {
            return Err(MessageError::BadBodyLength {
                what: "HANDSHAKE response",
                expected: BodyLen::Exactly(4),
                actual: body.len(),
            });
        }
        Ok(HandshakeResp {
            error: abi.read_i32(body).unwrap_or_default(),
        })
    }

    pub(crate) fn encode_body(&self, abi: Abi, out: &mut Vec<u8>) {
        abi.put_i32(out, self.error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_name_stops_at_nul() {
        let h = Handshake::Guest { name: b"ls\0junk" };
        assert_eq!(h.program_name(), Some(&b"ls"[..]));
        let h = Handshake::Exec { name: b"noNUL" };
        assert_eq!(h.program_name(), Some(&b"noNUL"[..]));
        assert_eq!(
            Handshake::Guest { name: b"" }.program_name(),
            Some(&b""[..])
        );
    }

    #[test]
    fn fork_body_must_be_20_bytes() {
        for n in [0, 19, 21, 44] {
            let body = vec![0u8; n];
            let err = Handshake::decode(2, &body, Abi::Lp64Le).unwrap_err();
            assert!(matches!(err, MessageError::BadBodyLength { actual, .. } if actual == n));
        }
        let mut body = (0u8..16).collect::<Vec<_>>();
        body.extend_from_slice(&1i32.to_le_bytes());
        let h = Handshake::decode(2, &body, Abi::Lp64Le).unwrap();
        let mut cookie = [0u8; 16];
        cookie
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = i as u8);
        assert_eq!(
            h,
            Handshake::Fork {
                cookie: PreforkCookie(cookie),
                cancel: 1
            }
        );
        let mut out = Vec::new();
        h.encode_body(Abi::Lp64Le, &mut out);
        assert_eq!(out, body);
    }

    #[test]
    fn unknown_kinds_are_kept() {
        let h = Handshake::decode(7, b"badclient\0", Abi::Lp64Le).unwrap();
        assert_eq!(h.kind(), HandshakeKind::Unknown(7));
        assert_eq!(h.body_len(), 10);
    }

    #[test]
    fn response_needs_four_bytes() {
        assert!(HandshakeResp::decode(&[0; 3], Abi::Lp64Le).is_err());
        assert!(HandshakeResp::decode(b"/wrongtype\0", Abi::Lp64Le).is_err());
        assert_eq!(
            HandshakeResp::decode(&[1, 0, 0, 0], Abi::Lp64Le).unwrap(),
            HandshakeResp { error: 1 }
        );
    }
}
