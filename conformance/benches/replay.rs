//! Replay speed: a 10,000-frame trace (getpid and 64-byte writes through
//! COPYIN, recorded from the simulated server in-process) imported and
//! replayed against a fresh in-process server, printed with the ratio to the
//! 0.5 s target.
//!
//! Run: `cargo bench -p rumpsp-conformance --bench replay`

use std::fmt::Write;
use std::time::{Duration, Instant};

use rumpsp_conformance::replay::{replay, Verdict};
use rumpsp_conformance::script::build_script;
use rumpsp_conformance::wire::InProcess;
use rumpsp_conformance::Capture;
use rumpsp_protocol::server::{SeededCookies, ServerCore, ServerLimits};
use rumpsp_protocol::{
    Abi, ArgsBuilder, Banner, CopyinResp, Frame, FrameDecoder, FrameLimits, Handshake, Message,
    SyscallReq,
};
use rumpsp_sim_kernel::SimKernel;

const ABI: Abi = Abi::Lp64Le;
const FRAMES: usize = 10_000;
const TARGET: Duration = Duration::from_millis(500);

fn core() -> ServerCore<SimKernel> {
    ServerCore::new(
        SimKernel::default(),
        ServerLimits::default(),
        &Banner::default(),
        Box::new(SeededCookies::new(1)),
    )
    .expect("server")
}

/// Records a session against the simulated server: returns the capture text and its frame count.
fn record() -> (String, usize) {
    use rumpsp_conformance::wire::Wire;
    let mut w = InProcess { core: core() };
    let (c, banner) = w.connect().expect("connect");
    let mut t = 0u64;
    let mut lines = String::from(
        r#"{"type":"meta","format":"rumpsp-tap/1","scenario":"bench10k","server_run":"bench","date":"2026-11-26T00:00:00Z"}"#,
    );
    let mut line = |lines: &mut String, dir: &str, bytes: &[u8]| {
        t += 1000;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let _ = write!(
            lines,
            "\n{{\"conn\":1,\"dir\":\"{dir}\",\"t_ns\":{t},\"hex\":\"{hex}\"}}"
        );
    };
    let _ = write!(lines, "\n{{\"conn\":1,\"event\":\"open\",\"t_ns\":0}}");
    line(&mut lines, "s2c", &banner);
    let mut frames = 0;
    let mut reqno = 1u64;
    let mut exchange = |lines: &mut String,
                        frames: &mut usize,
                        w: &mut InProcess<SimKernel>,
                        req: Vec<u8>,
                        data: &[u8]| {
        line(lines, "c2s", &req);
        *frames += 1;
        w.send(c, &req).expect("send");
        loop {
            let (out, _) = w.recv(c).expect("recv");
            if out.is_empty() {
                break;
            }
            line(lines, "s2c", &out);
            let mut dec = FrameDecoder::new(FrameLimits::unlimited());
            dec.feed(&out);
            let mut answered = false;
            while let Ok(Some(f)) = dec.next_frame() {
                *frames += 1;
                if let Ok(Frame {
                    reqno,
                    message: Message::Copyin(r),
                }) = f.frame(ABI)
                {
                    let resp = Frame::new(
                        reqno,
                        Message::CopyinResp(CopyinResp {
                            label: r.kind,
                            data: &data[..(r.len as usize).min(data.len())],
                        }),
                    )
                    .to_vec(ABI);
                    line(lines, "c2s", &resp);
                    *frames += 1;
                    w.send(c, &resp).expect("send");
                    answered = true;
                }
            }
            if !answered {
                break;
            }
        }
    };
    let guest = Frame::new(
        reqno,
        Message::Handshake(Handshake::Guest { name: b"bench\0" }),
    )
    .to_vec(ABI);
    exchange(&mut lines, &mut frames, &mut w, guest, b"");
    let path = b"/bench\0";
    let open = ArgsBuilder::new(3, ABI)
        .ptr(0, 0x1000)
        .int(1, 0x602)
        .int(2, 0o644);
    reqno += 1;
    let open = Frame::new(
        reqno,
        Message::Syscall(SyscallReq {
            sysnum: 5,
            args: &open.build(),
        }),
    )
    .to_vec(ABI);
    exchange(&mut lines, &mut frames, &mut w, open, path);
    let payload = [0x5au8; 64];
    let wargs = ArgsBuilder::new(3, ABI)
        .int(0, 3)
        .ptr(1, 0x2000)
        .size(2, 64)
        .build();
    while frames < FRAMES {
        reqno += 1;
        let req = if reqno.is_multiple_of(2) {
            Frame::new(
                reqno,
                Message::Syscall(SyscallReq {
                    sysnum: 20,
                    args: &[],
                }),
            )
            .to_vec(ABI)
        } else {
            Frame::new(
                reqno,
                Message::Syscall(SyscallReq {
                    sysnum: 4,
                    args: &wargs,
                }),
            )
            .to_vec(ABI)
        };
        exchange(&mut lines, &mut frames, &mut w, req, &payload);
    }
    let _ = write!(
        lines,
        "\n{{\"conn\":1,\"event\":\"close\",\"t_ns\":{}}}\n",
        t + 1
    );
    (lines, frames)
}

fn main() {
    let (text, frames) = record();
    let mut best = Duration::MAX;
    let mut steps = 0;
    for _ in 0..10 {
        let t = Instant::now();
        let cap = Capture::parse(&text).expect("capture");
        let script = build_script(&cap, "bench10k");
        let mut wire = InProcess { core: core() };
        let r = replay(&script, &mut wire);
        let elapsed = t.elapsed();
        assert!(
            r.verdict() < Verdict::Fail,
            "the synthetic trace must replay cleanly"
        );
        steps = r.steps.len();
        best = best.min(elapsed);
    }
    println!(
        "replay of a {frames}-frame trace ({steps} steps), import included: {:>8.1} ms   target {:>6.1} ms   ratio {:>5.2}x (target / measured)",
        best.as_secs_f64() * 1e3,
        TARGET.as_secs_f64() * 1e3,
        TARGET.as_secs_f64() / best.as_secs_f64()
    );
}
