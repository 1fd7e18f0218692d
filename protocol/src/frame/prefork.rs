//! PREFORK: the client prepares a fork and receives a cookie (spec §5.7).

use super::handshake::{PreforkCookie, COOKIE_LEN};
use crate::error::{BodyLen, MessageError};

/// The request. Its body should be empty; the reference server ignores any
/// body, and we keep it so that the frame re-encodes to the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PreforkReq<'a> {
    /// Body bytes the server ignores (empty from real clients).
    pub ignored: &'a [u8],
}

/// The response: the cookie a FORK handshake redeems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreforkResp {
    /// Opaque 16 bytes.
    pub cookie: PreforkCookie,
}

impl PreforkResp {
    pub(crate) fn decode(body: &[u8]) -> Result<Self, MessageError> {
        let cookie: [u8; COOKIE_LEN] =
            body.try_into().map_err(|_| MessageError::BadBodyLength {
                what: "PREFORK response",
                expected: BodyLen::Exactly(COOKIE_LEN),
                actual: body.len(),
            })?;
        Ok(PreforkResp {
            cookie: PreforkCookie(cookie),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_16_bytes() {
        let c = PreforkResp::decode(&[7; 16]).unwrap();
        assert_eq!(c.cookie.0, [7; 16]);
        assert_eq!(c.cookie.to_string(), "07".repeat(16));
        assert!(PreforkResp::decode(&[7; 15]).is_err());
    }
}
