//! Arbitrary bytes into the frame decoder, fed in chunks whose sizes the input
//! chooses. Invariants: nothing panics; every frame the chunked decoder yields
//! is exactly the next bytes of the stream and is where the one-piece framing
//! (`split_frame` on the whole remaining input) puts it, so the chunked run
//! yields what a one-piece run would, with the same error or leftover at the
//! end; every frame that decodes re-encodes to its bytes.
//!
//! One decoding pass per input, no allocation per frame beyond the decoder's
//! own: the target runs under libFuzzer at a few hundred thousand inputs a second.

use std::cell::RefCell;

use rumpsp_protocol::{split_frame, Abi, FrameDecoder, FrameLimits, Split, HEADER_LEN};

thread_local! {
    static ENCODED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn limits(seed: u8) -> FrameLimits {
    if seed & 1 == 0 {
        FrameLimits::default()
    } else {
        FrameLimits {
            max_frame_len: 512,
            max_handshake_body: 200,
            max_syscall_body: 64,
            max_data_body: 400,
            max_control_body: 32,
        }
    }
}

/// Checks one frame the decoder returned at offset `off` of `data`; returns its length.
fn check_frame(
    data: &[u8],
    off: usize,
    raw: &rumpsp_protocol::RawFrame,
    lim: &FrameLimits,
) -> usize {
    let len = HEADER_LEN + raw.body.len();
    let Some(bytes) = data.get(off..off + len) else {
        panic!(
            "a frame of {len} bytes at {off} runs past the {} input bytes",
            data.len()
        );
    };
    assert_eq!(
        split_frame(&data[off..], lim).ok(),
        Some(Split::Complete {
            header: raw.header,
            frame_len: len
        }),
        "chunked decoding differs from one-piece framing at {off}"
    );
    assert_eq!(&raw.header.to_bytes()[..], &bytes[..HEADER_LEN]);
    assert_eq!(&raw.body[..], &bytes[HEADER_LEN..]);
    match raw.frame(Abi::Lp64Le) {
        Ok(f) => ENCODED.with(|e| {
            let mut e = e.borrow_mut();
            e.clear();
            f.encode(Abi::Lp64Le, &mut e);
            assert_eq!(&e[..], bytes, "re-encoding differs");
        }),
        Err(e) => assert!(!e.is_fatal()),
    }
    len
}

/// The target.
pub fn run(input: &[u8]) {
    let Some((&seed, data)) = input.split_first() else {
        return;
    };
    let lim = limits(seed);
    let mut d = FrameDecoder::new(lim);
    // bit 1 of the seed: one piece, or chunks of 1..=64 bytes from a xorshift stream
    let mut state = u32::from(seed) | 0x100;
    let mut next_chunk = || {
        if seed & 2 == 0 {
            return usize::MAX;
        }
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 64) as usize + 1
    };
    let mut rest = data;
    let mut off = 0;
    loop {
        let n = next_chunk().min(rest.len());
        d.feed(&rest[..n]);
        rest = &rest[n..];
        loop {
            match d.next_frame() {
                Ok(Some(raw)) => off += check_frame(data, off, &raw, &lim),
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(
                        split_frame(&data[off..], &lim).err(),
                        Some(e),
                        "the one-piece framing fails differently at {off}"
                    );
                    return;
                }
            }
        }
        if rest.is_empty() {
            let left = split_frame(&data[off..], &lim);
            assert!(
                matches!(left, Ok(Split::NeedMore { .. })),
                "at the end the one-piece framing finds {left:?} at {off}"
            );
            assert_eq!(d.buffered(), data.len() - off);
            return;
        }
    }
}
