//! SYSCALL request and response (spec §5.3).

use crate::abi::Abi;
use crate::args::SyscallArgs;
use crate::error::{BodyLen, MessageError};

/// A system call: the NetBSD syscall number and its argument block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallReq<'a> {
    /// NetBSD syscall number (the header's `u`).
    pub sysnum: u32,
    /// The argument block exactly as received (one slot per declared argument).
    pub args: &'a [u8],
}

impl<'a> SyscallReq<'a> {
    /// A slot reader over the argument block.
    pub fn slots(&self, abi: Abi) -> SyscallArgs<'a> {
        SyscallArgs::new(self.args, abi)
    }
}

/// The result of a system call: a NetBSD errno and two `register_t` return values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyscallResp {
    /// 0 on success, otherwise a NetBSD errno value.
    pub error: i32,
    /// The 4 bytes after `error` (uninitialised memory in the reference server).
    pub pad: [u8; 4],
    /// `retval[0]` and `retval[1]`.
    pub retval: [i64; 2],
}

impl SyscallResp {
    /// A successful result with zero padding.
    pub fn ok(rv0: i64, rv1: i64) -> SyscallResp {
        SyscallResp {
            error: 0,
            pad: [0; 4],
            retval: [rv0, rv1],
        }
    }

    /// A failed result with zero return values.
    pub fn err(errno: i32) -> SyscallResp {
        SyscallResp {
            error: errno,
            pad: [0; 4],
            retval: [0, 0],
        }
    }

    pub(crate) fn decode(body: &[u8], abi: Abi) -> Result<Self, MessageError> {
        let n = abi.syscall_resp_body();
        if body.len() != n {
            return Err(MessageError::BadBodyLength {
                what: "SYSCALL response",
                expected: BodyLen::Exactly(n),
                actual: body.len(),
            });
        }
        match abi {
            Abi::Lp64Le => {
                let word =
                    |i: usize| i64::from_le_bytes(body[i..i + 8].try_into().unwrap_or([0; 8]));
                Ok(SyscallResp {
                    error: abi.read_i32(body).unwrap_or_default(),
                    pad: [body[4], body[5], body[6], body[7]],
                    retval: [word(8), word(16)],
                })
            }
        }
    }

    pub(crate) fn encode_body(&self, abi: Abi, out: &mut Vec<u8>) {
        match abi {
            Abi::Lp64Le => {
                abi.put_i32(out, self.error);
                out.extend_from_slice(&self.pad);
                out.extend_from_slice(&self.retval[0].to_le_bytes());
                out.extend_from_slice(&self.retval[1].to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_layout() {
        let r = SyscallResp {
            error: 2,
            pad: [0xaa, 0xbb, 0xcc, 0xdd],
            retval: [-1, 7],
        };
        let mut out = Vec::new();
        r.encode_body(Abi::Lp64Le, &mut out);
        assert_eq!(out.len(), 24);
        assert_eq!(&out[..8], &[2, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd]);
        assert_eq!(&out[8..16], &[0xff; 8]);
        assert_eq!(out[16], 7);
        assert_eq!(SyscallResp::decode(&out, Abi::Lp64Le).unwrap(), r);
        assert!(SyscallResp::decode(&out[..23], Abi::Lp64Le).is_err());
    }
}
