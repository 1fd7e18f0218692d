//! COPYOUT / COPYOUTSTR: the server writes client memory, no reply (spec §5.5).

use crate::abi::Abi;
use crate::codes::MsgType;
use crate::error::{BodyLen, MessageError};

/// Which of the two write requests (the reference only ever sends COPYOUT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopyoutKind {
    /// Type 4, used for both plain data and strings by the reference server.
    Bytes,
    /// Type 5, never sent by the reference server; clients treat it like type 4.
    Str,
}

impl CopyoutKind {
    /// The message type carrying this kind.
    pub fn msg_type(self) -> MsgType {
        match self {
            CopyoutKind::Bytes => MsgType::Copyout,
            CopyoutKind::Str => MsgType::Copyoutstr,
        }
    }
}

/// A server write into client memory: `{size_t len; void *addr}` followed by `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyoutReq<'a> {
    /// COPYOUT or COPYOUTSTR.
    pub kind: CopyoutKind,
    /// Client destination address.
    pub addr: u64,
    /// The bytes to write (the `len` field is their length).
    pub data: &'a [u8],
}

impl<'a> CopyoutReq<'a> {
    pub(crate) fn decode(
        kind: CopyoutKind,
        body: &'a [u8],
        abi: Abi,
    ) -> Result<Self, MessageError> {
        let n = abi.copy_descriptor();
        let what = kind.msg_type().name();
        if body.len() < n {
            return Err(MessageError::BadBodyLength {
                what,
                expected: BodyLen::AtLeast(n),
                actual: body.len(),
            });
        }
        let len = abi.read_word(body).unwrap_or_default();
        let data = &body[n..];
        if len != data.len() as u64 {
            return Err(MessageError::LengthFieldMismatch {
                what,
                declared: len,
                actual: data.len(),
            });
        }
        Ok(CopyoutReq {
            kind,
            addr: abi.read_word(&body[abi.word_size()..]).unwrap_or_default(),
            data,
        })
    }

    /// Appends the 16-byte descriptor (length, address) that precedes the data.
    pub fn encode_descriptor(&self, abi: Abi, out: &mut Vec<u8>) {
        abi.put_word(out, self.data.len() as u64);
        abi.put_word(out, self.addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn len_field_must_match_the_data() {
        let mut body = Vec::new();
        Abi::Lp64Le.put_word(&mut body, 4);
        Abi::Lp64Le.put_word(&mut body, 0x7f00_0000_2000);
        body.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        let c = CopyoutReq::decode(CopyoutKind::Bytes, &body, Abi::Lp64Le).unwrap();
        assert_eq!(c.addr, 0x7f00_0000_2000);
        assert_eq!(c.data, [0xde, 0xad, 0xbe, 0xef]);
        let short = &body[..body.len() - 1];
        assert!(matches!(
            CopyoutReq::decode(CopyoutKind::Bytes, short, Abi::Lp64Le),
            Err(MessageError::LengthFieldMismatch {
                declared: 4,
                actual: 3,
                ..
            })
        ));
        assert!(CopyoutReq::decode(CopyoutKind::Str, &body[..15], Abi::Lp64Le).is_err());
    }
}
