//! The fixed 24-byte frame header (spec §4.1).
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | `len`: whole frame length, header included |
//! | 8 | 8 | `reqno` |
//! | 16 | 2 | `class` |
//! | 18 | 2 | `type` |
//! | 20 | 4 | `u`: syscall number, handshake kind, error code or signal |
//!
//! The header has the same layout on every data model; its integers are in the
//! host byte order, which for the only supported ABI is little-endian.

use crate::codes::{Class, MsgType};

/// Size of the frame header in bytes.
pub const HEADER_LEN: usize = 24;

/// A decoded frame header. The fields are kept raw so that any 24 bytes decode
/// (whether the class and type are known is the message layer's business).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Total frame length including the header.
    pub len: u64,
    /// Request number.
    pub reqno: u64,
    /// Raw class value (see [`Class`]).
    pub class: u16,
    /// Raw type value (see [`MsgType`]).
    pub ty: u16,
    /// The type-dependent union word.
    pub word: u32,
}

impl Header {
    /// Builds a header for a body of `body_len` bytes.
    pub fn new(body_len: usize, reqno: u64, class: Class, ty: MsgType, word: u32) -> Header {
        Header {
            len: (HEADER_LEN + body_len) as u64,
            reqno,
            class: class.to_u16(),
            ty: ty.to_u16(),
            word,
        }
    }

    /// Decodes the first 24 bytes of `bytes`; `None` if fewer are present.
    #[inline]
    pub fn decode(bytes: &[u8]) -> Option<Header> {
        let b: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        Some(Header {
            len: u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            reqno: u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
            class: u16::from_le_bytes([b[16], b[17]]),
            ty: u16::from_le_bytes([b[18], b[19]]),
            word: u32::from_le_bytes([b[20], b[21], b[22], b[23]]),
        })
    }

    /// The 24 encoded bytes.
    #[inline]
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&self.len.to_le_bytes());
        b[8..16].copy_from_slice(&self.reqno.to_le_bytes());
        b[16..18].copy_from_slice(&self.class.to_le_bytes());
        b[18..20].copy_from_slice(&self.ty.to_le_bytes());
        b[20..24].copy_from_slice(&self.word.to_le_bytes());
        b
    }

    /// Appends the encoded header to `out`.
    #[inline]
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }

    /// The class, if it is one of the three known values.
    pub fn known_class(&self) -> Option<Class> {
        Class::from_u16(self.class)
    }

    /// The type, if it is one of the nine known values.
    pub fn known_type(&self) -> Option<MsgType> {
        MsgType::from_u16(self.ty)
    }

    /// Body length claimed by `len`, or `None` when `len < 24`.
    pub fn body_len(&self) -> Option<u64> {
        self.len.checked_sub(HEADER_LEN as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_spec_getpid_request() {
        // spec §5.10 example 3
        let bytes = [
            0x18, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x14, 0, 0, 0,
        ];
        let h = Header::decode(&bytes).unwrap();
        assert_eq!(
            h,
            Header {
                len: 24,
                reqno: 2,
                class: 0,
                ty: 1,
                word: 20
            }
        );
        assert_eq!(h.to_bytes(), bytes);
        assert_eq!(h.body_len(), Some(0));
        assert!(Header::decode(&bytes[..23]).is_none());
    }

    #[test]
    fn short_len_has_no_body_len() {
        let h = Header {
            len: 23,
            reqno: 0,
            class: 0,
            ty: 0,
            word: 0,
        };
        assert_eq!(h.body_len(), None);
    }
}
