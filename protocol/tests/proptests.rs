//! Property tests: every message kind round-trips, and decoding arbitrary bytes
//! split anywhere never panics and agrees with decoding them in one piece.

use proptest::prelude::*;
use rumpsp_protocol::*;

/// Owned data for any frame, so proptest can generate it.
#[derive(Debug, Clone)]
enum Spec {
    Guest(Vec<u8>),
    Exec(Vec<u8>),
    Auth(Vec<u8>),
    OtherHandshake(u32, Vec<u8>),
    Fork([u8; 16], i32),
    HandshakeResp(i32),
    Syscall(u32, Vec<u8>),
    SyscallResp(i32, [u8; 4], i64, i64),
    Copyin(bool, u64, u64),
    CopyinResp(bool, Vec<u8>),
    Copyout(bool, u64, Vec<u8>),
    Anonmmap(u64),
    AnonmmapResp(u64),
    Prefork(Vec<u8>),
    PreforkResp([u8; 16]),
    Raise(u32),
    Error(u32),
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        bytes(64).prop_map(Spec::Guest),
        bytes(64).prop_map(Spec::Exec),
        bytes(64).prop_map(Spec::Auth),
        (4u32.., bytes(64)).prop_map(|(k, b)| Spec::OtherHandshake(k, b)),
        (any::<[u8; 16]>(), any::<i32>()).prop_map(|(c, x)| Spec::Fork(c, x)),
        any::<i32>().prop_map(Spec::HandshakeResp),
        (any::<u32>(), bytes(80)).prop_map(|(n, a)| Spec::Syscall(n, a)),
        (any::<i32>(), any::<[u8; 4]>(), any::<i64>(), any::<i64>())
            .prop_map(|(e, p, a, b)| Spec::SyscallResp(e, p, a, b)),
        (any::<bool>(), any::<u64>(), any::<u64>()).prop_map(|(s, l, a)| Spec::Copyin(s, l, a)),
        (any::<bool>(), bytes(300)).prop_map(|(s, d)| Spec::CopyinResp(s, d)),
        (any::<bool>(), any::<u64>(), bytes(300)).prop_map(|(s, a, d)| Spec::Copyout(s, a, d)),
        any::<u64>().prop_map(Spec::Anonmmap),
        any::<u64>().prop_map(Spec::AnonmmapResp),
        bytes(32).prop_map(Spec::Prefork),
        any::<[u8; 16]>().prop_map(Spec::PreforkResp),
        any::<u32>().prop_map(Spec::Raise),
        any::<u32>().prop_map(Spec::Error),
    ]
}

fn message(s: &Spec) -> Message<'_> {
    let ck = |b: bool| {
        if b {
            CopyinKind::Str
        } else {
            CopyinKind::Bytes
        }
    };
    match s {
        Spec::Guest(n) => Message::Handshake(Handshake::Guest { name: n }),
        Spec::Exec(n) => Message::Handshake(Handshake::Exec { name: n }),
        Spec::Auth(b) => Message::Handshake(Handshake::Auth { body: b }),
        Spec::OtherHandshake(k, b) => Message::Handshake(Handshake::Unknown { kind: *k, body: b }),
        Spec::Fork(c, x) => Message::Handshake(Handshake::Fork {
            cookie: PreforkCookie(*c),
            cancel: *x,
        }),
        Spec::HandshakeResp(e) => Message::HandshakeResp(HandshakeResp { error: *e }),
        Spec::Syscall(n, a) => Message::Syscall(SyscallReq {
            sysnum: *n,
            args: a,
        }),
        Spec::SyscallResp(e, p, a, b) => Message::SyscallResp(SyscallResp {
            error: *e,
            pad: *p,
            retval: [*a, *b],
        }),
        Spec::Copyin(s, len, addr) => Message::Copyin(CopyinReq {
            kind: ck(*s),
            len: *len,
            addr: *addr,
        }),
        Spec::CopyinResp(s, d) => Message::CopyinResp(CopyinResp {
            label: ck(*s),
            data: d,
        }),
        Spec::Copyout(s, addr, d) => Message::Copyout(CopyoutReq {
            kind: if *s {
                CopyoutKind::Str
            } else {
                CopyoutKind::Bytes
            },
            addr: *addr,
            data: d,
        }),
        Spec::Anonmmap(l) => Message::Anonmmap(AnonmmapReq { len: *l }),
        Spec::AnonmmapResp(a) => Message::AnonmmapResp(AnonmmapResp { addr: *a }),
        Spec::Prefork(b) => Message::Prefork(PreforkReq { ignored: b }),
        Spec::PreforkResp(c) => Message::PreforkResp(PreforkResp {
            cookie: PreforkCookie(*c),
        }),
        Spec::Raise(s) => Message::Raise(Raise { signo: *s }),
        Spec::Error(c) => Message::Error(ErrorFrame {
            code: ErrorCode::from_u32(*c),
        }),
    }
}

/// Everything a decoder run yields, in comparable form.
#[derive(Debug, PartialEq)]
enum Event {
    Frame(Vec<u8>, Result<(), DecodeError>),
    Fatal(FrameError),
    End(Result<(), FrameError>),
}

fn run(chunks: &[&[u8]], limits: FrameLimits) -> Vec<Event> {
    let mut d = FrameDecoder::new(limits);
    let mut out = Vec::new();
    'feed: for c in chunks {
        d.feed(c);
        loop {
            match d.next_frame() {
                Ok(Some(f)) => {
                    let typed = f.frame(Abi::Lp64Le).map(|_| ());
                    out.push(Event::Frame(f.to_vec(), typed));
                }
                Ok(None) => break,
                Err(e) => {
                    out.push(Event::Fatal(e));
                    break 'feed;
                }
            }
        }
    }
    if !matches!(out.last(), Some(Event::Fatal(_))) {
        out.push(Event::End(d.finish()));
    }
    out
}

fn split_at_points<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for p in points {
        chunks.push(&data[start..p]);
        start = p;
    }
    chunks.push(&data[start..]);
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_message_round_trips(s in spec(), reqno in any::<u64>()) {
        let abi = Abi::Lp64Le;
        let frame = Frame::new(reqno, message(&s));
        let bytes = frame.to_vec(abi);
        prop_assert_eq!(bytes.len(), frame.encoded_len(abi));
        let (frames, err) = frame_all(&bytes, FrameLimits::unlimited());
        prop_assert_eq!(err, None);
        prop_assert_eq!(frames.len(), 1);
        let decoded = frames[0].frame(abi).unwrap();
        prop_assert_eq!(decoded, frame);
        prop_assert_eq!(decoded.to_vec(abi), bytes);
    }

    #[test]
    fn valid_streams_split_anywhere(specs in proptest::collection::vec(spec(), 1..8),
                                    cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        let abi = Abi::Lp64Le;
        let mut stream = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            Frame::new(i as u64, message(s)).encode(abi, &mut stream);
        }
        let whole = run(&[&stream], FrameLimits::unlimited());
        let split = run(&split_at_points(&stream, &cuts), FrameLimits::unlimited());
        prop_assert_eq!(&whole, &split);
        prop_assert_eq!(whole.len(), specs.len() + 1);
        prop_assert_eq!(whole.last(), Some(&Event::End(Ok(()))));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_split_agrees(data in bytes(600),
                                                    cuts in proptest::collection::vec(any::<usize>(), 0..16),
                                                    small in any::<bool>()) {
        let limits = if small {
            FrameLimits { max_frame_len: 256, max_data_body: 200, max_control_body: 64,
                          max_handshake_body: 100, max_syscall_body: 64 }
        } else {
            FrameLimits::default()
        };
        let whole = run(&[&data], limits);
        let split = run(&split_at_points(&data, &cuts), limits);
        prop_assert_eq!(&whole, &split);
        // Everything that decodes re-encodes to the bytes it came from.
        for e in &whole {
            if let Event::Frame(bytes, Ok(())) = e {
                let (frames, _) = frame_all(bytes, FrameLimits::unlimited());
                let typed = frames[0].frame(Abi::Lp64Le).unwrap();
                prop_assert_eq!(&typed.to_vec(Abi::Lp64Le), bytes);
            }
        }
    }

    #[test]
    fn headers_with_valid_lengths_and_random_fields(class in 0u16..5, ty in 0u16..12, word in any::<u32>(),
                                                    body in bytes(64), reqno in any::<u64>()) {
        // Random class/type/word with a correct length: a typed error or a
        // frame that re-encodes exactly, never anything else.
        let h = Header { len: 24 + body.len() as u64, reqno, class, ty, word };
        let mut bytes = h.to_bytes().to_vec();
        bytes.extend_from_slice(&body);
        let (frames, err) = frame_all(&bytes, FrameLimits::default());
        prop_assert_eq!(err, None);
        match frames[0].frame(Abi::Lp64Le) {
            Ok(f) => prop_assert_eq!(f.to_vec(Abi::Lp64Le), bytes),
            Err(e) => prop_assert!(!e.is_fatal()),
        }
    }
}
