//! Arbitrary server bytes (a banner, then frames) against the client session
//! with a few calls in flight.
//!
//! Invariants: nothing panics; the client answers only COPYIN/COPYINSTR and
//! ANONMMAP requests, each with exactly one valid RESP frame, and never a
//! COPYOUT or RAISE; a call completes only once and only if it was started;
//! anonymous mappings stay within the session's limit.

use rumpsp_protocol::banner::{find_banner_line, ReceivedBanner};
use rumpsp_protocol::client::{Arg, ClientSession};
use rumpsp_protocol::{Abi, FrameDecoder, FrameLimits, HandshakeKind, Message};

/// The target.
pub fn run(input: &[u8]) {
    let mut s = ClientSession::new(1);
    s.max_mapped = 1 << 20;
    let mut started = vec![s.handshake(HandshakeKind::Guest, b"fuzz", None)];
    started.push(s.syscall(
        4,
        vec![Arg::Int(3), Arg::In(b"0123456789".to_vec()), Arg::Word(10)],
    ));
    started.push(s.syscall(3, vec![Arg::Int(3), Arg::Out(64), Arg::Word(64)]));
    started.push(s.syscall(
        5,
        vec![Arg::Str(b"/tmp/x".to_vec()), Arg::Int(0), Arg::Int(0)],
    ));
    started.push(s.prefork());
    let _ = s.take_output();

    // the banner, as the client reads it
    let rest = match find_banner_line(input) {
        Ok(Some(n)) => {
            let _ = ReceivedBanner::from_line(&input[..n]).version_warning();
            &input[n..]
        }
        _ => input,
    };
    let mut dec = FrameDecoder::new(FrameLimits::default());
    dec.feed(rest);
    let mut asks = 0usize;
    let mut completed = std::collections::BTreeSet::new();
    while let Ok(Some(f)) = dec.next_frame() {
        let is_ask = matches!(
            f.frame(Abi::Lp64Le).map(|t| t.message),
            Ok(Message::Copyin(_) | Message::Anonmmap(_))
        );
        if s.receive(&f).is_err() {
            break; // the connection would be closed
        }
        if is_ask {
            asks += 1;
        }
        for id in &started {
            if s.take_outcome(*id).is_some() {
                assert!(completed.insert(*id), "call {id} completed twice");
            }
        }
        // answers out: valid frames, one per request, RESP only
        let out = s.take_output();
        let (frames, err) = rumpsp_protocol::frame_all(&out, FrameLimits::unlimited());
        assert!(err.is_none());
        for r in &frames {
            let t = r.frame(Abi::Lp64Le).expect("the client sends valid frames");
            assert!(
                matches!(t.message, Message::CopyinResp(_) | Message::AnonmmapResp(_)),
                "the client sent {:?}",
                t.message
            );
        }
        assert!(
            frames.len() <= 1 && (frames.is_empty() || is_ask),
            "an answer to something that was not a request"
        );
    }
    let _ = asks;
    assert!(s.outstanding() <= started.len());
}
