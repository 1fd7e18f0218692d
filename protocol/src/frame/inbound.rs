//! How a server reads a client's frames: requests as [`Message::decode`] reads
//! them, except for a field the reference server does not look at, and answers
//! (RESP frames) as the answer to the request they are matched to, whatever
//! type their header names.

use super::{Message, PreforkReq};
use crate::abi::Abi;
use crate::codes::{Class, MsgType};
use crate::error::MessageError;
use crate::header::Header;

impl<'a> Message<'a> {
    /// Decodes a client's request as a server reads it: as [`Message::decode`],
    /// except that a PREFORK's `u` word (and body) are ignored, as the reference
    /// server ignores them (NetBSD lib/librumpuser/rumpuser_sp.c `handlereq`
    /// looks only at the header's type for PREFORK).
    pub fn decode_request(
        h: &Header,
        body: &'a [u8],
        abi: Abi,
    ) -> Result<Message<'a>, MessageError> {
        if Class::from_u16(h.class) == Some(Class::Req)
            && MsgType::from_u16(h.ty) == Some(MsgType::Prefork)
        {
            return Ok(Message::Prefork(PreforkReq { ignored: body }));
        }
        Message::decode(h, body, abi)
    }

    /// Decodes a RESP as the answer to a request of type `asked` (COPYIN,
    /// COPYINSTR or ANONMMAP), whatever type and `u` word its own header
    /// carries: the reference matches an answer to its request by reqno alone
    /// (NetBSD lib/librumpuser/sp_common.c `kickwaiter`) and reads its body as
    /// the answer it waits for. A COPYIN answer carries any number of bytes;
    /// an ANONMMAP answer must be exactly one word.
    pub fn decode_answer(
        h: &Header,
        body: &'a [u8],
        abi: Abi,
        asked: MsgType,
    ) -> Result<Message<'a>, MessageError> {
        let as_asked = Header {
            class: Class::Resp.to_u16(),
            ty: asked.to_u16(),
            word: 0,
            ..*h
        };
        Message::decode(&as_asked, body, abi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{AnonmmapResp, CopyinKind, CopyinResp, Handshake};

    fn header(class: Class, ty: u16, word: u32, len: usize) -> Header {
        Header {
            len: (crate::header::HEADER_LEN + len) as u64,
            reqno: 9,
            class: class.to_u16(),
            ty,
            word,
        }
    }

    #[test]
    fn prefork_word_and_body_are_ignored() {
        let h = header(Class::Req, MsgType::Prefork.to_u16(), 7, 3);
        assert!(Message::decode(&h, b"abc", Abi::Lp64Le).is_err());
        assert_eq!(
            Message::decode_request(&h, b"abc", Abi::Lp64Le).unwrap(),
            Message::Prefork(PreforkReq { ignored: b"abc" })
        );
        // anything else decodes as Message::decode does
        let h = header(Class::Req, MsgType::Handshake.to_u16(), 2, 3);
        assert!(Message::decode_request(&h, b"abc", Abi::Lp64Le).is_err());
        let h = header(Class::Req, MsgType::Handshake.to_u16(), 0, 3);
        assert_eq!(
            Message::decode_request(&h, b"ls\0", Abi::Lp64Le).unwrap(),
            Message::Handshake(Handshake::Guest { name: b"ls\0" })
        );
    }

    #[test]
    fn answers_are_read_as_what_was_asked() {
        // a RESP labelled SYSCALL, with a non-zero word, answering a COPYINSTR
        let h = header(Class::Resp, MsgType::Syscall.to_u16(), 5, 4);
        assert_eq!(
            Message::decode_answer(&h, b"abc\0", Abi::Lp64Le, MsgType::Copyinstr).unwrap(),
            Message::CopyinResp(CopyinResp {
                label: CopyinKind::Str,
                data: b"abc\0"
            })
        );
        let word = 0x7f00_1000u64.to_le_bytes();
        assert_eq!(
            Message::decode_answer(&h, &word, Abi::Lp64Le, MsgType::Anonmmap).unwrap(),
            Message::AnonmmapResp(AnonmmapResp { addr: 0x7f00_1000 })
        );
        assert!(Message::decode_answer(&h, &word[..7], Abi::Lp64Le, MsgType::Anonmmap).is_err());
    }
}
