//! ANONMMAP: the server asks the client for an anonymous mapping (spec §5.6).

use crate::abi::Abi;
use crate::error::{BodyLen, MessageError};

fn one_word(what: &'static str, body: &[u8], abi: Abi) -> Result<u64, MessageError> {
    let n = abi.word_size();
    if body.len() != n {
        return Err(MessageError::BadBodyLength {
            what,
            expected: BodyLen::Exactly(n),
            actual: body.len(),
        });
    }
    Ok(abi.read_word(body).unwrap_or_default())
}

/// Request: map `len` bytes of fresh anonymous memory in the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnonmmapReq {
    /// Size of the mapping.
    pub len: u64,
}

impl AnonmmapReq {
    pub(crate) fn decode(body: &[u8], abi: Abi) -> Result<Self, MessageError> {
        Ok(AnonmmapReq {
            len: one_word("ANONMMAP request", body, abi)?,
        })
    }

    pub(crate) fn encode_body(&self, abi: Abi, out: &mut Vec<u8>) {
        abi.put_word(out, self.len);
    }
}

/// Response: the mapping's address in the client, 0 when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnonmmapResp {
    /// Address of the mapping, or 0.
    pub addr: u64,
}

impl AnonmmapResp {
    pub(crate) fn decode(body: &[u8], abi: Abi) -> Result<Self, MessageError> {
        Ok(AnonmmapResp {
            addr: one_word("ANONMMAP response", body, abi)?,
        })
    }

    pub(crate) fn encode_body(&self, abi: Abi, out: &mut Vec<u8>) {
        abi.put_word(out, self.addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_word() {
        assert_eq!(
            AnonmmapReq::decode(&4096u64.to_le_bytes(), Abi::Lp64Le).unwrap(),
            AnonmmapReq { len: 4096 }
        );
        assert!(AnonmmapResp::decode(&[0; 7], Abi::Lp64Le).is_err());
        assert!(AnonmmapResp::decode(&[0; 9], Abi::Lp64Le).is_err());
    }
}
