//! Cutting one direction of a recorded connection into what was sent: the
//! banner (server to client only), then whole frames, with nothing lost when
//! the stream cannot be framed. The text trace writer, `trace show`, the
//! replay-script builder and [`crate::capture::frame_stream`] all read
//! captures through it.

use rumpsp_protocol::banner::{find_banner_line, BannerError};
use rumpsp_protocol::{split_frame, FrameError, FrameLimits, RawFrame, Split, HEADER_LEN};

use crate::dir::Dir;

/// One piece of a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// The banner line, newline included.
    Banner(Vec<u8>),
    /// No newline within a banner's length: what follows is read as frames.
    NoBanner(BannerError),
    /// A whole frame: its bytes and its raw view.
    Frame(Vec<u8>, RawFrame),
    /// A length no frame can have: these bytes (everything buffered) end the framing.
    Unframeable(Vec<u8>, FrameError),
    /// Bytes that arrived after the framing ended.
    AfterUnframeable(Vec<u8>),
}

/// The state of one direction of one connection.
#[derive(Debug, Clone)]
pub struct StreamSplitter {
    limits: FrameLimits,
    pending: Vec<u8>,
    banner_done: bool,
    dead: bool,
}

impl StreamSplitter {
    /// A splitter for direction `dir` (a server's stream starts with its banner)
    /// that frames any length, as a recording needs.
    pub fn new(dir: Dir) -> StreamSplitter {
        StreamSplitter::with_limits(dir, FrameLimits::unlimited())
    }

    /// A splitter whose frames must fit `limits` (a longer one is unframeable).
    pub fn with_limits(dir: Dir, limits: FrameLimits) -> StreamSplitter {
        StreamSplitter {
            limits,
            pending: Vec::new(),
            banner_done: dir == Dir::C2s,
            dead: false,
        }
    }

    /// Adds received bytes; returns every piece they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Piece> {
        let mut out = Vec::new();
        if self.dead {
            if !bytes.is_empty() {
                out.push(Piece::AfterUnframeable(bytes.to_vec()));
            }
            return out;
        }
        self.pending.extend_from_slice(bytes);
        if !self.banner_done {
            match find_banner_line(&self.pending) {
                Ok(Some(n)) => out.push(Piece::Banner(self.pending.drain(..n).collect())),
                Ok(None) => return out,
                Err(e) => out.push(Piece::NoBanner(e)),
            }
            self.banner_done = true;
        }
        loop {
            match split_frame(&self.pending, &self.limits) {
                Ok(Split::Complete { header, frame_len }) => {
                    let bytes: Vec<u8> = self.pending.drain(..frame_len).collect();
                    let raw = RawFrame::new(header, bytes[HEADER_LEN..].to_vec());
                    out.push(Piece::Frame(bytes, raw));
                }
                Ok(Split::NeedMore { .. }) => return out,
                Err(e) => {
                    out.push(Piece::Unframeable(std::mem::take(&mut self.pending), e));
                    self.dead = true;
                    return out;
                }
            }
        }
    }

    /// True until the banner has been read (server to client only).
    pub fn in_banner(&self) -> bool {
        !self.banner_done
    }

    /// True once the framing has ended on a bad length.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Bytes buffered that are not (yet) a whole banner or frame.
    pub fn pending(&self) -> &[u8] {
        &self.pending
    }

    /// Takes the buffered bytes out (a partial banner or frame).
    pub fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }

    /// Why the stream cannot end here: a frame is cut short.
    pub fn end_error(&self) -> Option<FrameError> {
        if self.dead || self.pending.is_empty() {
            return None;
        }
        let need = match split_frame(&self.pending, &self.limits) {
            Ok(Split::NeedMore { need }) => need,
            _ => return None,
        };
        Some(FrameError::Truncated {
            have: self.pending.len() as u64,
            need: need as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumpsp_protocol::{Abi, CopyinKind, CopyinResp, Frame, Message};

    fn frame(reqno: u64) -> Vec<u8> {
        let m = Message::CopyinResp(CopyinResp {
            label: CopyinKind::Bytes,
            data: &[9; 16],
        });
        Frame::new(reqno, m).to_vec(Abi::Lp64Le)
    }

    #[test]
    fn banner_then_frames_whatever_the_chunks() {
        let mut stream = b"RUMPSP-0.4\n".to_vec();
        stream.extend(frame(1));
        stream.extend(frame(2));
        for chunk in [1, 5, 24, 1000] {
            let mut s = StreamSplitter::new(Dir::S2c);
            let pieces: Vec<Piece> = stream.chunks(chunk).flat_map(|c| s.push(c)).collect();
            assert_eq!(pieces.len(), 3, "chunks of {chunk}");
            assert_eq!(pieces[0], Piece::Banner(b"RUMPSP-0.4\n".to_vec()));
            assert!(
                matches!(&pieces[2], Piece::Frame(b, f) if *b == frame(2) && f.header.reqno == 2)
            );
            assert!(s.pending().is_empty() && s.end_error().is_none());
        }
    }

    #[test]
    fn a_cut_frame_and_a_bad_length_lose_nothing() {
        let mut s = StreamSplitter::new(Dir::C2s);
        let f = frame(7);
        assert!(s.push(&f[..30]).is_empty());
        assert_eq!(
            s.end_error(),
            Some(FrameError::Truncated {
                have: 30,
                need: f.len() as u64
            })
        );
        assert_eq!(s.take_pending(), f[..30].to_vec());
        let mut bad = vec![0u8; 24];
        bad[0] = 3; // a length below the header's
        let p = s.push(&bad);
        assert!(matches!(&p[..], [Piece::Unframeable(b, _)] if *b == bad));
        assert!(s.is_dead());
        assert_eq!(s.push(b"xy"), vec![Piece::AfterUnframeable(b"xy".to_vec())]);
    }
}
