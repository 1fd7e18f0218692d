//! The production client against fake hostile servers: every case ends in a
//! clear error within its timeout, never a hang.

use std::path::Path;
use std::time::{Duration, Instant};

use rumpsp_protocol::codes::ErrorCode;
use rumpsp_protocol::decoder::FrameDecoder;
use rumpsp_protocol::frame::{ErrorFrame, HandshakeResp, SyscallResp};
use rumpsp_protocol::limits::FrameLimits;
use rumpsp_protocol::net::{Client, ClientError, ClientTimeouts, RetryPolicy};
use rumpsp_protocol::url::ServerAddr;
use rumpsp_protocol::{Abi, Frame, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

const BANNER: &[u8] = b"RUMPSP-0.4-NetBSD-7.99.34/amd64\n";
const T: Duration = Duration::from_millis(300);

fn timeouts() -> ClientTimeouts {
    ClientTimeouts {
        connect: T,
        banner: T,
        handshake: T,
        call_idle: Some(T),
        tryagain_retries: 5,
    }
}

/// What the fake server does with one request (header reqno, class/type word).
type Behaviour = fn(u64, u16) -> Option<Vec<u8>>;

/// Serves one connection: optionally the banner, then answers each request with `reply`
/// (None: silence). `trickle` sends a never-finished COPYOUT one byte per 50 ms after the handshake.
async fn fake(path: &Path, banner: bool, reply: Behaviour, trickle: bool) {
    let l = UnixListener::bind(path).unwrap();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        if banner {
            s.write_all(BANNER).await.unwrap();
        }
        serve(&mut s, reply, trickle).await;
        // keep the socket open, silent
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
}

async fn serve(s: &mut UnixStream, reply: Behaviour, trickle: bool) {
    let mut dec = FrameDecoder::new(FrameLimits::default());
    let mut buf = [0u8; 4096];
    let mut handshaken = false;
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        dec.feed(&buf[..n]);
        while let Ok(Some(f)) = dec.next_frame() {
            if let Some(bytes) = reply(f.header.reqno, f.header.ty) {
                s.write_all(&bytes).await.unwrap();
            }
            if trickle && handshaken {
                // a COPYOUT header announcing 1000 bytes, then a byte at a time
                let mut h = Vec::new();
                let len = 24u64 + 16 + 1000;
                h.extend(len.to_le_bytes());
                h.extend(99u64.to_le_bytes());
                h.extend(0u16.to_le_bytes()); // REQ
                h.extend(4u16.to_le_bytes()); // COPYOUT
                h.extend(0u32.to_le_bytes());
                s.write_all(&h).await.unwrap();
                loop {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if s.write_all(&[0]).await.is_err() {
                        return;
                    }
                }
            }
            handshaken = true;
        }
    }
}

fn handshake_ok(reqno: u64) -> Vec<u8> {
    Frame::new(reqno, Message::HandshakeResp(HandshakeResp { error: 0 })).to_vec(Abi::Lp64Le)
}

/// Answers the handshake (type 0), nothing else.
fn only_handshake(reqno: u64, ty: u16) -> Option<Vec<u8>> {
    (ty == 0).then(|| handshake_ok(reqno))
}

async fn run(
    banner: bool,
    reply: Behaviour,
    trickle: bool,
) -> (Result<i32, ClientError>, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    fake(&path, banner, reply, trickle).await;
    let t0 = Instant::now();
    let r = async {
        let c = Client::connect_with(
            ServerAddr::Unix(path.clone()),
            "victim",
            RetryPolicy::Never,
            timeouts(),
        )
        .await?;
        c.getpid().await.map(|p| p.0)
    }
    .await;
    (r, t0.elapsed())
}

fn stage(r: &Result<i32, ClientError>) -> &'static str {
    match r {
        Err(ClientError::Timeout { stage, .. }) => stage,
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn no_banner_is_a_banner_timeout() {
    let (r, t) = run(false, only_handshake, false).await;
    assert_eq!(stage(&r), "banner");
    assert!(t < T * 3, "{t:?}");
}

#[tokio::test]
async fn silence_after_the_banner_is_a_handshake_timeout() {
    let (r, t) = run(true, |_, _| None, false).await;
    assert_eq!(stage(&r), "handshake");
    assert!(t < T * 3, "{t:?}");
}

#[tokio::test]
async fn an_unanswered_call_is_a_call_timeout() {
    let (r, t) = run(true, only_handshake, false).await;
    assert_eq!(stage(&r), "call");
    assert!(t < T * 4, "{t:?}");
}

#[tokio::test]
async fn an_answer_to_an_unknown_reqno_then_silence_is_a_call_timeout() {
    let (r, _) = run(
        true,
        |reqno, ty| match ty {
            0 => Some(handshake_ok(reqno)),
            _ => Some(
                Frame::new(reqno + 1000, Message::SyscallResp(SyscallResp::ok(7, 0)))
                    .to_vec(Abi::Lp64Le),
            ),
        },
        false,
    )
    .await;
    assert_eq!(stage(&r), "call");
}

#[tokio::test]
async fn a_trickled_copyout_is_a_call_timeout() {
    let (r, t) = run(true, only_handshake, true).await;
    assert_eq!(stage(&r), "call");
    assert!(t < T * 4, "{t:?}");
}

#[tokio::test]
async fn endless_tryagain_ends_after_bounded_retries() {
    let (r, t) = run(
        true,
        |reqno, ty| match ty {
            0 => Some(handshake_ok(reqno)),
            _ => Some(
                Frame::new(
                    reqno,
                    Message::Error(ErrorFrame {
                        code: ErrorCode::TryAgain,
                    }),
                )
                .to_vec(Abi::Lp64Le),
            ),
        },
        false,
    )
    .await;
    assert_eq!(r, Err(ClientError::Protocol(ErrorCode::TryAgain)));
    assert!(t < Duration::from_secs(2), "{t:?}");
}

#[tokio::test]
async fn tryagain_then_an_answer_succeeds() {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let (r, _) = run(
        true,
        |reqno, ty| match ty {
            0 => Some(handshake_ok(reqno)),
            _ if N.fetch_add(1, Ordering::SeqCst) < 3 => Some(
                Frame::new(
                    reqno,
                    Message::Error(ErrorFrame {
                        code: ErrorCode::TryAgain,
                    }),
                )
                .to_vec(Abi::Lp64Le),
            ),
            _ => Some(
                Frame::new(reqno, Message::SyscallResp(SyscallResp::ok(42, 1))).to_vec(Abi::Lp64Le),
            ),
        },
        false,
    )
    .await;
    assert_eq!(r.unwrap(), 42);
}

#[test]
fn backoff_grows_and_is_capped() {
    assert_eq!(
        ClientTimeouts::tryagain_backoff(0),
        Duration::from_millis(1)
    );
    assert_eq!(
        ClientTimeouts::tryagain_backoff(3),
        Duration::from_millis(8)
    );
    assert_eq!(
        ClientTimeouts::tryagain_backoff(30),
        Duration::from_millis(250)
    );
}
