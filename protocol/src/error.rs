//! Typed decoding errors.
//!
//! Two layers, two types: a [`FrameError`] breaks the byte stream (the length
//! cannot be trusted, so nothing after it can be framed and the connection must
//! close); a [`MessageError`] concerns one complete, correctly framed frame
//! whose contents make no sense (the frame is consumed and a server can answer
//! it with an ERROR frame and carry on).

use crate::header::Header;

/// The stream cannot be framed any further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// `len` is smaller than the header itself.
    #[error("frame length {len} is shorter than the 24-byte header")]
    LengthTooSmall {
        /// The announced length.
        len: u64,
    },
    /// `len` exceeds the configured limit for this kind of frame.
    #[error("frame length {len} exceeds the limit of {limit} for class {class} type {ty}")]
    FrameTooLong {
        /// The announced length.
        len: u64,
        /// The limit that applied (whole frame, header included).
        limit: u64,
        /// Raw class of the frame.
        class: u16,
        /// Raw type of the frame.
        ty: u16,
    },
    /// The stream ended inside a frame (reported by [`crate::FrameDecoder::finish`]).
    #[error("stream ended inside a frame: {have} of {need} bytes")]
    Truncated {
        /// Bytes present.
        have: u64,
        /// Bytes the frame needs (24 while the header is incomplete).
        need: u64,
    },
}

/// The shape of a body length a message type allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLen {
    /// Exactly this many bytes.
    Exactly(usize),
    /// At least this many bytes.
    AtLeast(usize),
}

impl std::fmt::Display for BodyLen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyLen::Exactly(n) => write!(f, "exactly {n}"),
            BodyLen::AtLeast(n) => write!(f, "at least {n}"),
        }
    }
}

/// A complete frame whose contents are invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The class is not REQ, RESP or ERROR.
    #[error("unknown class {class}")]
    UnknownClass {
        /// Raw class value.
        class: u16,
    },
    /// The type is not one of the nine known types.
    #[error("unknown type {ty} in a {class} frame")]
    UnknownType {
        /// Class name.
        class: &'static str,
        /// Raw type value.
        ty: u16,
    },
    /// The class and type exist but never go together (for example a RESP to a COPYOUT).
    #[error("{class}/{ty} is not a frame of the protocol")]
    InvalidCombination {
        /// Class name.
        class: &'static str,
        /// Type name.
        ty: &'static str,
    },
    /// The body has a size the type cannot have.
    #[error("{what}: body of {actual} bytes, expected {expected}")]
    BadBodyLength {
        /// Which frame.
        what: &'static str,
        /// What the type allows.
        expected: BodyLen,
        /// What was received.
        actual: usize,
    },
    /// A COPYOUT's `len` field disagrees with the data that follows it.
    #[error("{what}: length field says {declared} bytes but {actual} follow")]
    LengthFieldMismatch {
        /// Which frame.
        what: &'static str,
        /// The `len` field.
        declared: u64,
        /// Data bytes present.
        actual: usize,
    },
    /// A field the protocol fixes at zero is not zero.
    #[error("{what}: field {field} must be 0, found {value}")]
    NonZeroField {
        /// Which frame.
        what: &'static str,
        /// Which field (`u` or `type`).
        field: &'static str,
        /// The value found.
        value: u32,
    },
}

/// Either kind of decoding error, with the header of the offending frame when one was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The stream is broken from here on.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// One frame is invalid; the stream continues after it.
    #[error("frame reqno {}: {error}", header.reqno)]
    Message {
        /// The header of the consumed frame (its reqno is what an ERROR reply echoes).
        header: Header,
        /// What is wrong with it.
        error: MessageError,
    },
}

impl DecodeError {
    /// True when the byte stream cannot be decoded any further.
    pub fn is_fatal(&self) -> bool {
        matches!(self, DecodeError::Frame(_))
    }
}
