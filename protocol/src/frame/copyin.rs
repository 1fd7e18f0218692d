//! COPYIN / COPYINSTR: the server reads client memory (spec §5.4).

use crate::abi::Abi;
use crate::codes::MsgType;
use crate::error::{BodyLen, MessageError};

/// Which of the two read requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopyinKind {
    /// Exactly `len` bytes (type 2).
    Bytes,
    /// A NUL-terminated string of at most `len` bytes including the NUL (type 3).
    Str,
}

impl CopyinKind {
    /// The message type carrying this kind.
    pub fn msg_type(self) -> MsgType {
        match self {
            CopyinKind::Bytes => MsgType::Copyin,
            CopyinKind::Str => MsgType::Copyinstr,
        }
    }
}

/// A server request for client memory. Note the order on the wire: length, then address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyinReq {
    /// COPYIN or COPYINSTR.
    pub kind: CopyinKind,
    /// Bytes wanted (COPYIN) or maximum string size including the NUL (COPYINSTR).
    pub len: u64,
    /// Client address to read from.
    pub addr: u64,
}

impl CopyinReq {
    pub(crate) fn decode(kind: CopyinKind, body: &[u8], abi: Abi) -> Result<Self, MessageError> {
        let n = abi.copy_descriptor();
        if body.len() != n {
            return Err(MessageError::BadBodyLength {
                what: kind.msg_type().name(),
                expected: BodyLen::Exactly(n),
                actual: body.len(),
            });
        }
        let w = abi.word_size();
        Ok(CopyinReq {
            kind,
            len: abi.read_word(body).unwrap_or_default(),
            addr: abi.read_word(&body[w..]).unwrap_or_default(),
        })
    }

    pub(crate) fn encode_body(&self, abi: Abi, out: &mut Vec<u8>) {
        abi.put_word(out, self.len);
        abi.put_word(out, self.addr);
    }
}

/// The client's answer to a COPYIN or COPYINSTR: the bytes it read.
///
/// The reference client labels both answers with type COPYIN; a RESP labelled
/// COPYINSTR is accepted as well and keeps its label for lossless re-encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyinResp<'a> {
    /// The type label on the wire (COPYIN normally).
    pub label: CopyinKind,
    /// The bytes read from client memory.
    pub data: &'a [u8],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_comes_before_address() {
        let r = CopyinReq {
            kind: CopyinKind::Bytes,
            len: 5,
            addr: 0x7f00_0000_1000,
        };
        let mut out = Vec::new();
        r.encode_body(Abi::Lp64Le, &mut out);
        assert_eq!(out, [5, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x7f, 0, 0]);
        assert_eq!(
            CopyinReq::decode(CopyinKind::Bytes, &out, Abi::Lp64Le).unwrap(),
            r
        );
        assert!(CopyinReq::decode(CopyinKind::Str, &out[..15], Abi::Lp64Le).is_err());
    }
}
