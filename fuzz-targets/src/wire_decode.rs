//! Arbitrary bytes into the frame decoder, fed in chunks whose sizes the input
//! chooses. Invariants: nothing panics; the chunked run yields exactly what
//! the one-piece run yields; every frame that decodes re-encodes to its bytes.

use rumpsp_protocol::{Abi, FrameDecoder, FrameLimits};

type Run = (Vec<(Vec<u8>, bool)>, String);

fn decode(data: &[u8], mut chunk: impl FnMut() -> usize, limits: FrameLimits) -> Run {
    let mut d = FrameDecoder::new(limits);
    let mut frames = Vec::new();
    let mut rest = data;
    loop {
        let n = chunk().min(rest.len());
        d.feed(&rest[..n]);
        rest = &rest[n..];
        loop {
            match d.next_frame() {
                Ok(Some(raw)) => {
                    let bytes = raw.to_vec();
                    let ok = match raw.frame(Abi::Lp64Le) {
                        Ok(f) => {
                            assert_eq!(f.to_vec(Abi::Lp64Le), bytes, "re-encoding differs");
                            true
                        }
                        Err(e) => {
                            assert!(!e.is_fatal());
                            false
                        }
                    };
                    frames.push((bytes, ok));
                }
                Ok(None) => break,
                Err(e) => return (frames, format!("fatal: {e}")),
            }
        }
        if rest.is_empty() {
            return (frames, format!("end: {:?}", d.finish()));
        }
    }
}

/// The target.
pub fn run(input: &[u8]) {
    let Some((&seed, data)) = input.split_first() else {
        return;
    };
    let limits = if seed & 1 == 0 {
        FrameLimits::default()
    } else {
        FrameLimits {
            max_frame_len: 512,
            max_handshake_body: 200,
            max_syscall_body: 64,
            max_data_body: 400,
            max_control_body: 32,
        }
    };
    let whole = decode(data, || usize::MAX, limits);
    let mut state = u32::from(seed) | 0x100;
    let split = decode(
        data,
        || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 40) as usize + 1
        },
        limits,
    );
    assert_eq!(
        whole, split,
        "chunked decoding differs from one-piece decoding"
    );
}
