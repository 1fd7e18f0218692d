//! Incremental framing: bytes in, complete frames out.
//!
//! Bytes may arrive split anywhere. The decoder reads the 24-byte header as
//! soon as it is complete, checks `len` against the [`FrameLimits`] for that
//! class and type *before* reserving room for the body, and then waits until
//! the whole frame is buffered. A complete frame is split off the buffer
//! without copying ([`RawFrame::body`] is a reference-counted view).
//!
//! Framing errors are final: once the length of one frame cannot be trusted,
//! nothing after it can be framed, so the decoder keeps returning the error.

use bytes::{Buf, Bytes, BytesMut};

use crate::abi::Abi;
use crate::error::{DecodeError, FrameError};
use crate::frame::Frame;
use crate::header::{Header, HEADER_LEN};
use crate::limits::FrameLimits;

/// Most bytes reserved ahead of data that has not arrived.
const RESERVE_STEP: usize = 64 * 1024;

/// What [`split_frame`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// A whole frame of `frame_len` bytes (header included) is present.
    Complete {
        /// Its header.
        header: Header,
        /// Its total length.
        frame_len: usize,
    },
    /// The frame is incomplete: `need` bytes in total are required before it is.
    NeedMore {
        /// Total bytes the buffer must hold (24 while the header is incomplete).
        need: usize,
    },
}

/// Looks at the start of `buf` and says whether a whole, acceptably sized frame is there.
#[inline]
pub fn split_frame(buf: &[u8], limits: &FrameLimits) -> Result<Split, FrameError> {
    let Some(header) = Header::decode(buf) else {
        return Ok(Split::NeedMore { need: HEADER_LEN });
    };
    let body_len = header
        .body_len()
        .ok_or(FrameError::LengthTooSmall { len: header.len })?;
    let body_limit = limits.body_limit(&header);
    let too_long = || FrameError::FrameTooLong {
        len: header.len,
        limit: body_limit
            .saturating_add(HEADER_LEN as u64)
            .min(limits.max_frame_len),
        class: header.class,
        ty: header.ty,
    };
    if header.len > limits.max_frame_len || body_len > body_limit {
        return Err(too_long());
    }
    let frame_len = usize::try_from(header.len).map_err(|_| too_long())?;
    if buf.len() < frame_len {
        return Ok(Split::NeedMore { need: frame_len });
    }
    Ok(Split::Complete { header, frame_len })
}

/// One framed but not yet interpreted frame: its header and a zero-copy view of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// The header.
    pub header: Header,
    /// The `len - 24` body bytes.
    pub body: Bytes,
}

impl RawFrame {
    /// Builds a raw frame from a header and a body (the header's `len` is not checked).
    pub fn new(header: Header, body: impl Into<Bytes>) -> RawFrame {
        RawFrame {
            header,
            body: body.into(),
        }
    }

    /// The typed view of this frame.
    pub fn frame(&self, abi: Abi) -> Result<Frame<'_>, DecodeError> {
        Frame::decode(&self.header, &self.body, abi).map_err(|error| DecodeError::Message {
            header: self.header,
            error,
        })
    }

    /// The frame's bytes exactly as they were on the wire.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER_LEN + self.body.len());
        self.header.encode(&mut v);
        v.extend_from_slice(&self.body);
        v
    }
}

/// An incremental frame decoder with its own buffer.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    limits: FrameLimits,
    buf: BytesMut,
    failed: Option<FrameError>,
}

impl FrameDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: FrameLimits) -> FrameDecoder {
        FrameDecoder {
            limits,
            buf: BytesMut::new(),
            failed: None,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &FrameLimits {
        &self.limits
    }

    /// Appends received bytes. The caller bounds how much it feeds at once
    /// (a socket adapter reads in bounded chunks); the decoder never reserves
    /// more than the current frame's permitted size on its own.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Reserves room for all of the pending frame at once (nothing when no
    /// header is buffered, the frame is complete or over the limits), so a
    /// large frame is received into one allocation instead of a buffer that
    /// doubles and copies as it grows. For a caller that has already decided
    /// to take the frame (the server, for an answer it asked for and counted
    /// in its memory budget): [`FrameDecoder::next_frame`] alone never
    /// reserves more than a read's worth ahead.
    pub fn reserve_pending(&mut self) {
        if let Ok(Split::NeedMore { need }) = split_frame(&self.buf, &self.limits) {
            if self.buf.len() >= HEADER_LEN {
                self.buf.reserve(need.saturating_sub(self.buf.len()));
            }
        }
    }

    /// The buffer, for an I/O adapter that reads straight into it.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes the buffer can hold without growing.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes buffered and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next frame's header, once its 24 bytes are buffered (whether or not
    /// its body is complete): lets the caller refuse a frame before buffering it.
    pub fn pending_header(&self) -> Option<Header> {
        self.buf.get(..HEADER_LEN).and_then(Header::decode)
    }

    /// How many more bytes the next frame needs (0 when one is ready or the stream failed).
    pub fn bytes_needed(&self) -> usize {
        match split_frame(&self.buf, &self.limits) {
            Ok(Split::NeedMore { need }) => need - self.buf.len(),
            _ => 0,
        }
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<RawFrame>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match split_frame(&self.buf, &self.limits) {
            Ok(Split::Complete { header, frame_len }) => {
                let mut frame = self.buf.split_to(frame_len);
                frame.advance(HEADER_LEN);
                if frame_len > RESERVE_STEP {
                    // What is left shares the large frame's allocation and would
                    // keep it alive after the frame is dropped: it moves to a buffer
                    // of its own (it is at most what was read past the frame).
                    self.buf = BytesMut::from(&self.buf[..]);
                }
                Ok(Some(RawFrame {
                    header,
                    body: frame.freeze(),
                }))
            }
            Ok(Split::NeedMore { need }) => {
                // Room for the rest of the frame, but never more than a read's worth at a
                // time: with generous limits a peer could otherwise make us reserve
                // whatever it announces before sending a byte of it.
                self.buf
                    .reserve(need.saturating_sub(self.buf.len()).min(RESERVE_STEP));
                Ok(None)
            }
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Call at end of stream: an error if a partial frame is left over.
    pub fn finish(&self) -> Result<(), FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let need = match split_frame(&self.buf, &self.limits) {
            Ok(Split::NeedMore { need }) => need,
            Ok(Split::Complete { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        Err(FrameError::Truncated {
            have: self.buf.len() as u64,
            need: need as u64,
        })
    }
}

/// Frames a whole byte string: every complete frame, then the error that
/// stopped framing or `Truncated` for a partial frame at the end, if any.
pub fn frame_all(bytes: &[u8], limits: FrameLimits) -> (Vec<RawFrame>, Option<FrameError>) {
    let mut d = FrameDecoder::new(limits);
    d.feed(bytes);
    let mut frames = Vec::new();
    loop {
        match d.next_frame() {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => return (frames, d.finish().err()),
            Err(e) => return (frames, Some(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{Class, MsgType};

    fn getpid(reqno: u64) -> Vec<u8> {
        Header::new(0, reqno, Class::Req, MsgType::Syscall, 20)
            .to_bytes()
            .to_vec()
    }

    #[test]
    fn one_byte_at_a_time() {
        let mut bytes = getpid(2);
        bytes.extend(getpid(3));
        let mut d = FrameDecoder::default();
        let mut got = Vec::new();
        for b in &bytes {
            assert!(d.bytes_needed() > 0);
            d.feed(std::slice::from_ref(b));
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f.header.reqno);
            }
        }
        assert_eq!(got, [2, 3]);
        assert!(d.finish().is_ok());
    }

    #[test]
    fn short_length_is_fatal_and_sticky() {
        let mut h = getpid(1);
        h[0] = 23;
        let mut d = FrameDecoder::default();
        d.feed(&h);
        d.feed(&getpid(2));
        assert_eq!(d.next_frame(), Err(FrameError::LengthTooSmall { len: 23 }));
        assert_eq!(d.next_frame(), Err(FrameError::LengthTooSmall { len: 23 }));
    }

    #[test]
    fn oversized_length_is_refused_before_any_body_arrives() {
        let mut h = getpid(1);
        h[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let mut d = FrameDecoder::default();
        d.feed(&h);
        assert!(matches!(
            d.next_frame(),
            Err(FrameError::FrameTooLong { len, .. }) if len == 1 << 40
        ));
        assert!(d.buffer_mut().capacity() < 4096);
    }

    #[test]
    fn an_announced_length_is_not_reserved_ahead_of_its_data() {
        let mut h = getpid(1);
        h[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let mut d = FrameDecoder::new(FrameLimits::unlimited());
        d.feed(&h);
        assert_eq!(d.next_frame(), Ok(None));
        assert!(d.buffer_mut().capacity() <= 2 * RESERVE_STEP);
    }

    #[test]
    fn reserve_pending_takes_room_for_the_whole_frame_once_its_header_is_in() {
        let len = 24 + (1 << 20);
        let h = Header::new(1 << 20, 1, Class::Resp, MsgType::Copyin, 0).to_bytes();
        let mut d = FrameDecoder::default();
        d.reserve_pending();
        assert!(
            d.buffer_mut().capacity() < 4096,
            "no header, nothing reserved"
        );
        d.feed(&h);
        d.reserve_pending();
        assert!(d.buffer_mut().capacity() >= len);
        // over the limits: nothing
        let mut d = FrameDecoder::default();
        let big = Header::new(1 << 40, 1, Class::Resp, MsgType::Copyin, 0).to_bytes();
        d.feed(&big);
        d.reserve_pending();
        assert!(d.buffer_mut().capacity() < 4096);
    }

    #[test]
    fn bytes_after_a_large_frame_do_not_keep_its_buffer_alive() {
        let body = vec![5u8; 2 * RESERVE_STEP];
        let h = Header::new(body.len(), 1, Class::Resp, MsgType::Copyin, 0);
        let mut d = FrameDecoder::default();
        d.feed(&h.to_bytes());
        d.feed(&body);
        d.feed(&getpid(2)[..10]);
        let f = d.next_frame().unwrap().unwrap();
        assert_eq!(f.body.len(), body.len());
        // the 10 bytes left are in a buffer of their own, not the frame's tail
        let tail = f.body.as_ptr().wrapping_add(f.body.len());
        assert_ne!(d.buffer_mut().as_ptr(), tail);
        assert_eq!(d.buffered(), 10);
        // a small frame's leftovers stay where they are (no copy)
        let mut d = FrameDecoder::default();
        d.feed(&getpid(1));
        d.feed(&getpid(2)[..10]);
        let f = d.next_frame().unwrap().unwrap();
        let tail = f.body.as_ptr().wrapping_add(f.body.len());
        assert_eq!(d.buffer_mut().as_ptr(), tail);
    }

    #[test]
    fn per_type_limits_apply() {
        let limits = FrameLimits {
            max_syscall_body: 64,
            ..FrameLimits::default()
        };
        let ok = Header::new(64, 1, Class::Req, MsgType::Syscall, 5).to_bytes();
        let big = Header::new(65, 1, Class::Req, MsgType::Syscall, 5).to_bytes();
        assert!(matches!(
            split_frame(&ok, &limits),
            Ok(Split::NeedMore { need: 88 })
        ));
        assert!(matches!(
            split_frame(&big, &limits),
            Err(FrameError::FrameTooLong { limit: 88, .. })
        ));
    }

    #[test]
    fn truncated_stream_is_reported_at_finish() {
        let (frames, err) = frame_all(&getpid(1)[..10], FrameLimits::default());
        assert!(frames.is_empty());
        assert_eq!(err, Some(FrameError::Truncated { have: 10, need: 24 }));
    }
}
