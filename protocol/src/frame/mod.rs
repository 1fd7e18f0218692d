//! Typed frames: one [`Message`] enum covering every (class, type, kind) of the
//! spec's §5.1, one file per frame kind.
//!
//! Decoding is context-free and strict: a frame decodes only if its body has a
//! size its type allows and the fields the protocol fixes at zero are zero.
//! Everything a frame carries is kept (including the padding of SYSCALL
//! responses and the body a PREFORK request should not have), so that every
//! decoded frame re-encodes to the identical bytes.
//!
//! Note for servers: the reference matches a RESP to its request by `reqno`
//! alone and ignores the RESP's type. A server must therefore interpret RESP
//! frames against its outstanding requests ([`Message::decode_answer`])
//! rather than rely on this context-free view; [`Message::decode_request`]
//! reads requests as the reference server does.

mod anonmmap;
mod copyin;
mod copyout;
mod error_frame;
mod handshake;
mod inbound;
mod prefork;
mod raise;
mod syscall;

pub use anonmmap::{AnonmmapReq, AnonmmapResp};
pub use copyin::{CopyinKind, CopyinReq, CopyinResp};
pub use copyout::{CopyoutKind, CopyoutReq};
pub use error_frame::ErrorFrame;
pub use handshake::{Handshake, HandshakeResp, PreforkCookie, COOKIE_LEN, FORK_BODY_LEN};
pub use prefork::{PreforkReq, PreforkResp};
pub use raise::{signal_name, Raise};
pub use syscall::{SyscallReq, SyscallResp};

use crate::abi::Abi;
use crate::codes::{Class, ErrorCode, MsgType};
use crate::error::{BodyLen, MessageError};
use crate::header::{Header, HEADER_LEN};

/// The contents of one frame, by class and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// REQ/HANDSHAKE (client → server).
    Handshake(Handshake<'a>),
    /// RESP/HANDSHAKE (server → client).
    HandshakeResp(HandshakeResp),
    /// REQ/SYSCALL (client → server).
    Syscall(SyscallReq<'a>),
    /// RESP/SYSCALL (server → client).
    SyscallResp(SyscallResp),
    /// REQ/COPYIN or REQ/COPYINSTR (server → client).
    Copyin(CopyinReq),
    /// RESP/COPYIN (client → server), answering COPYIN or COPYINSTR.
    CopyinResp(CopyinResp<'a>),
    /// REQ/COPYOUT or REQ/COPYOUTSTR (server → client, no reply).
    Copyout(CopyoutReq<'a>),
    /// REQ/ANONMMAP (server → client).
    Anonmmap(AnonmmapReq),
    /// RESP/ANONMMAP (client → server).
    AnonmmapResp(AnonmmapResp),
    /// REQ/PREFORK (client → server).
    Prefork(PreforkReq<'a>),
    /// RESP/PREFORK (server → client).
    PreforkResp(PreforkResp),
    /// REQ/RAISE (server → client, no reply).
    Raise(Raise),
    /// ERROR (server → client).
    Error(ErrorFrame),
}

/// A typed frame: the request number and the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Request number (for RESP and ERROR, the one of the request answered).
    pub reqno: u64,
    /// What the frame says.
    pub message: Message<'a>,
}

fn require_zero_word(what: &'static str, h: &Header) -> Result<(), MessageError> {
    if h.word != 0 {
        return Err(MessageError::NonZeroField {
            what,
            field: "u",
            value: h.word,
        });
    }
    Ok(())
}

fn require_empty(what: &'static str, body: &[u8]) -> Result<(), MessageError> {
    if !body.is_empty() {
        return Err(MessageError::BadBodyLength {
            what,
            expected: BodyLen::Exactly(0),
            actual: body.len(),
        });
    }
    Ok(())
}

/// An ERROR frame: type 0, no body, the code in `u`.
fn error_frame(h: &Header, body: &[u8]) -> Result<ErrorFrame, MessageError> {
    if h.ty != 0 {
        return Err(MessageError::NonZeroField {
            what: "ERROR",
            field: "type",
            value: u32::from(h.ty),
        });
    }
    require_empty("ERROR", body)?;
    Ok(ErrorFrame {
        code: ErrorCode::from_u32(h.word),
    })
}

impl<'a> Message<'a> {
    /// Decodes a body under its header. `body` must be the `len - 24` bytes that follow it.
    pub fn decode(h: &Header, body: &'a [u8], abi: Abi) -> Result<Message<'a>, MessageError> {
        let class =
            Class::from_u16(h.class).ok_or(MessageError::UnknownClass { class: h.class })?;
        if class == Class::Error {
            // ERROR frames carry type 0, which must not be read as HANDSHAKE.
            return error_frame(h, body).map(Message::Error);
        }
        let ty = MsgType::from_u16(h.ty).ok_or(MessageError::UnknownType {
            class: class.name(),
            ty: h.ty,
        })?;
        let what = ty.name();
        Ok(match (class, ty) {
            (Class::Req, MsgType::Handshake) => {
                Message::Handshake(Handshake::decode(h.word, body, abi)?)
            }
            (Class::Req, MsgType::Syscall) => Message::Syscall(SyscallReq {
                sysnum: h.word,
                args: body,
            }),
            (Class::Req, MsgType::Raise) => {
                require_empty("RAISE", body)?;
                Message::Raise(Raise { signo: h.word })
            }
            (Class::Req, _) => {
                require_zero_word(what, h)?;
                match ty {
                    MsgType::Copyin => {
                        Message::Copyin(CopyinReq::decode(CopyinKind::Bytes, body, abi)?)
                    }
                    MsgType::Copyinstr => {
                        Message::Copyin(CopyinReq::decode(CopyinKind::Str, body, abi)?)
                    }
                    MsgType::Copyout => {
                        Message::Copyout(CopyoutReq::decode(CopyoutKind::Bytes, body, abi)?)
                    }
                    MsgType::Copyoutstr => {
                        Message::Copyout(CopyoutReq::decode(CopyoutKind::Str, body, abi)?)
                    }
                    MsgType::Anonmmap => Message::Anonmmap(AnonmmapReq::decode(body, abi)?),
                    _ => Message::Prefork(PreforkReq { ignored: body }),
                }
            }
            (Class::Resp, _) => {
                require_zero_word(what, h)?;
                match ty {
                    MsgType::Handshake => Message::HandshakeResp(HandshakeResp::decode(body, abi)?),
                    MsgType::Syscall => Message::SyscallResp(SyscallResp::decode(body, abi)?),
                    MsgType::Copyin => Message::CopyinResp(CopyinResp {
                        label: CopyinKind::Bytes,
                        data: body,
                    }),
                    MsgType::Copyinstr => Message::CopyinResp(CopyinResp {
                        label: CopyinKind::Str,
                        data: body,
                    }),
                    MsgType::Anonmmap => Message::AnonmmapResp(AnonmmapResp::decode(body, abi)?),
                    MsgType::Prefork => Message::PreforkResp(PreforkResp::decode(body)?),
                    MsgType::Copyout | MsgType::Copyoutstr | MsgType::Raise => {
                        return Err(MessageError::InvalidCombination {
                            class: class.name(),
                            ty: what,
                        })
                    }
                }
            }
            (Class::Error, _) => Message::Error(error_frame(h, body)?),
        })
    }

    /// The frame class this message travels in.
    pub fn class(&self) -> Class {
        match self {
            Message::Handshake(_)
            | Message::Syscall(_)
            | Message::Copyin(_)
            | Message::Copyout(_)
            | Message::Anonmmap(_)
            | Message::Prefork(_)
            | Message::Raise(_) => Class::Req,
            Message::HandshakeResp(_)
            | Message::SyscallResp(_)
            | Message::CopyinResp(_)
            | Message::AnonmmapResp(_)
            | Message::PreforkResp(_) => Class::Resp,
            Message::Error(_) => Class::Error,
        }
    }

    /// The raw type value (0 for ERROR frames).
    pub fn type_code(&self) -> u16 {
        self.msg_type().map_or(0, MsgType::to_u16)
    }

    /// The message type, or `None` for ERROR frames (whose type field is 0 but meaningless).
    pub fn msg_type(&self) -> Option<MsgType> {
        Some(match self {
            Message::Handshake(_) | Message::HandshakeResp(_) => MsgType::Handshake,
            Message::Syscall(_) | Message::SyscallResp(_) => MsgType::Syscall,
            Message::Copyin(c) => c.kind.msg_type(),
            Message::CopyinResp(c) => c.label.msg_type(),
            Message::Copyout(c) => c.kind.msg_type(),
            Message::Anonmmap(_) | Message::AnonmmapResp(_) => MsgType::Anonmmap,
            Message::Prefork(_) | Message::PreforkResp(_) => MsgType::Prefork,
            Message::Raise(_) => MsgType::Raise,
            Message::Error(_) => return None,
        })
    }

    /// The header's union word.
    pub fn word(&self) -> u32 {
        match self {
            Message::Handshake(h) => h.kind().to_u32(),
            Message::Syscall(s) => s.sysnum,
            Message::Raise(r) => r.signo,
            Message::Error(e) => e.code.to_u32(),
            _ => 0,
        }
    }

    /// Size of the encoded body.
    pub fn body_len(&self, abi: Abi) -> usize {
        match self {
            Message::Handshake(h) => h.body_len(),
            Message::HandshakeResp(_) => 4,
            Message::Syscall(s) => s.args.len(),
            Message::SyscallResp(_) => abi.syscall_resp_body(),
            Message::Copyin(_) => abi.copy_descriptor(),
            Message::CopyinResp(c) => c.data.len(),
            Message::Copyout(c) => abi.copy_descriptor() + c.data.len(),
            Message::Anonmmap(_) | Message::AnonmmapResp(_) => abi.word_size(),
            Message::Prefork(p) => p.ignored.len(),
            Message::PreforkResp(_) => COOKIE_LEN,
            Message::Raise(_) | Message::Error(_) => 0,
        }
    }

    /// Appends the encoded body.
    pub fn encode_body(&self, abi: Abi, out: &mut Vec<u8>) {
        match self {
            Message::Handshake(h) => h.encode_body(abi, out),
            Message::HandshakeResp(r) => r.encode_body(abi, out),
            Message::Syscall(s) => out.extend_from_slice(s.args),
            Message::SyscallResp(r) => r.encode_body(abi, out),
            Message::Copyin(c) => c.encode_body(abi, out),
            Message::CopyinResp(c) => out.extend_from_slice(c.data),
            Message::Copyout(c) => {
                c.encode_descriptor(abi, out);
                out.extend_from_slice(c.data);
            }
            Message::Anonmmap(a) => a.encode_body(abi, out),
            Message::AnonmmapResp(a) => a.encode_body(abi, out),
            Message::Prefork(p) => out.extend_from_slice(p.ignored),
            Message::PreforkResp(p) => out.extend_from_slice(&p.cookie.0),
            Message::Raise(_) | Message::Error(_) => {}
        }
    }
}

impl<'a> Frame<'a> {
    /// Builds a frame.
    pub fn new(reqno: u64, message: Message<'a>) -> Frame<'a> {
        Frame { reqno, message }
    }

    /// Decodes a typed frame from a header and its body.
    pub fn decode(h: &Header, body: &'a [u8], abi: Abi) -> Result<Frame<'a>, MessageError> {
        Ok(Frame {
            reqno: h.reqno,
            message: Message::decode(h, body, abi)?,
        })
    }

    /// The header this frame encodes with.
    pub fn header(&self, abi: Abi) -> Header {
        Header {
            len: (HEADER_LEN + self.message.body_len(abi)) as u64,
            reqno: self.reqno,
            class: self.message.class().to_u16(),
            ty: self.message.type_code(),
            word: self.message.word(),
        }
    }

    /// Total encoded length, header included.
    pub fn encoded_len(&self, abi: Abi) -> usize {
        HEADER_LEN + self.message.body_len(abi)
    }

    /// Appends the whole encoded frame to `out`.
    pub fn encode(&self, abi: Abi, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len(abi));
        self.header(abi).encode(out);
        self.message.encode_body(abi, out);
    }

    /// The encoded frame as a new vector.
    pub fn to_vec(&self, abi: Abi) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.encoded_len(abi));
        self.encode(abi, &mut v);
        v
    }
}
