//! Codec throughput: header-only frames per second and GB/s for 64 KiB COPYOUT
//! frames, decoded and encoded on one core, printed with the ratio to the target.
//!
//! Run: `cargo bench -p rumpsp-protocol --bench codec`

use std::hint::black_box;
use std::time::{Duration, Instant};

use rumpsp_protocol::{
    split_frame, Abi, CopyoutKind, CopyoutReq, Frame, FrameDecoder, FrameLimits, Message, Split,
    SyscallReq,
};

const ABI: Abi = Abi::Lp64Le;

/// Runs `f` repeatedly for at least `min` and returns the best per-iteration time.
fn best_of(min: Duration, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut best = Duration::MAX;
    while start.elapsed() < min || best == Duration::MAX {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed());
    }
    best
}

fn report(what: &str, value: f64, unit: &str, target: f64) {
    println!(
        "{what:<52} {value:>10.2} {unit:<9} target {target:>6.1} {unit:<9} ratio {:>5.2}x",
        value / target
    );
}

/// Streams `buf` through a long-lived incremental decoder in 64 KiB reads, as a
/// socket adapter does: each read is copied into the decoder's buffer once, frames
/// are split off without copying and checked through the typed view, then dropped.
fn decode_with_decoder(d: &mut FrameDecoder, buf: &[u8]) -> usize {
    let mut n = 0;
    for chunk in buf.chunks(64 << 10) {
        d.feed(chunk);
        while let Ok(Some(raw)) = d.next_frame() {
            if raw.frame(ABI).is_ok() {
                n += 1;
            }
        }
    }
    n
}

/// Decodes every frame of a contiguous buffer in place: framing plus the typed view.
fn decode_in_place(mut buf: &[u8], limits: &FrameLimits) -> usize {
    let mut n = 0;
    while let Ok(Split::Complete { header, frame_len }) = split_frame(buf, limits) {
        if Frame::decode(&header, &buf[24..frame_len], ABI).is_ok() {
            n += 1;
        }
        buf = &buf[frame_len..];
    }
    n
}

fn main() {
    let min = Duration::from_millis(1500);
    let limits = FrameLimits::default();

    // Header-only frames: getpid requests.
    let count = 1_000_000usize;
    let mut small = Vec::with_capacity(count * 24);
    for i in 0..count {
        Frame::new(
            i as u64,
            Message::Syscall(SyscallReq {
                sysnum: 20,
                args: &[],
            }),
        )
        .encode(ABI, &mut small);
    }
    let t = best_of(min, || {
        assert_eq!(decode_in_place(black_box(&small), &limits), count)
    });
    report(
        "decode header-only, in place (frames/s, M)",
        count as f64 / t.as_secs_f64() / 1e6,
        "M/s",
        20.0,
    );
    let mut dec = FrameDecoder::new(limits);
    let t = best_of(min, || {
        assert_eq!(decode_with_decoder(&mut dec, black_box(&small)), count)
    });
    report(
        "decode header-only, FrameDecoder, 64 KiB reads (M)",
        count as f64 / t.as_secs_f64() / 1e6,
        "M/s",
        20.0,
    );
    let mut out = Vec::with_capacity(count * 24);
    let t = best_of(min, || {
        out.clear();
        for i in 0..count {
            let sysnum = black_box(20);
            Frame::new(i as u64, Message::Syscall(SyscallReq { sysnum, args: &[] }))
                .encode(ABI, &mut out);
        }
        black_box(&out);
    });
    report(
        "encode header-only (frames/s, M)",
        count as f64 / t.as_secs_f64() / 1e6,
        "M/s",
        20.0,
    );

    // 64 KiB COPYOUT frames.
    let payload = vec![0xa5u8; 64 << 10];
    let frames = 512usize;
    let mut big = Vec::with_capacity(frames * (payload.len() + 40));
    for i in 0..frames {
        Frame::new(
            i as u64,
            Message::Copyout(CopyoutReq {
                kind: CopyoutKind::Bytes,
                addr: 0x7f00_0000_0000,
                data: &payload,
            }),
        )
        .encode(ABI, &mut big);
    }
    let gb = big.len() as f64 / 1e9;
    let t = best_of(min, || {
        assert_eq!(decode_in_place(black_box(&big), &limits), frames)
    });
    report(
        "frame 64 KiB COPYOUT in place, data untouched",
        gb / t.as_secs_f64(),
        "GB/s",
        2.0,
    );
    let t = best_of(min, || {
        assert_eq!(decode_with_decoder(&mut dec, black_box(&big)), frames)
    });
    report(
        "decode 64 KiB COPYOUT, FrameDecoder, 64 KiB reads",
        gb / t.as_secs_f64(),
        "GB/s",
        2.0,
    );
    let mut out = Vec::with_capacity(big.len());
    let t = best_of(min, || {
        out.clear();
        for i in 0..frames {
            Frame::new(
                i as u64,
                Message::Copyout(CopyoutReq {
                    kind: CopyoutKind::Bytes,
                    addr: 0x7f00_0000_0000,
                    data: &payload,
                }),
            )
            .encode(ABI, &mut out);
        }
        black_box(&out);
    });
    report(
        "encode 64 KiB COPYOUT (GB/s)",
        gb / t.as_secs_f64(),
        "GB/s",
        2.0,
    );
}
