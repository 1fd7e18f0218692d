//! The hex examples of spec §5.10, byte for byte: each decodes to the expected
//! frame and the frame encodes back to the same bytes.

use rumpsp_protocol::*;

/// Parses the spec's notation: hex bytes separated by spaces and `|`.
fn hex(s: &str) -> Vec<u8> {
    s.split([' ', '|'])
        .filter(|t| !t.is_empty())
        .map(|t| u8::from_str_radix(t, 16).expect("hex byte"))
        .collect()
}

fn check(bytes: &[u8], want: Frame<'_>) {
    let abi = Abi::Lp64Le;
    assert_eq!(want.to_vec(abi), bytes, "encoding of {want:?}");
    let (frames, err) = frame_all(bytes, FrameLimits::default());
    assert_eq!(err, None);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].frame(abi).unwrap(), want);
}

const COOKIE: [u8; 16] = [
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
];
const COOKIE_HEX: &str = "c0 c1 c2 c3 c4 c5 c6 c7 c8 c9 ca cb cc cd ce cf";

#[test]
fn ex1_guest_handshake_ls() {
    check(
        &hex("1b 00 00 00 00 00 00 00 | 01 00 00 00 00 00 00 00 | 00 00 | 00 00 | 00 00 00 00 | 6c 73 00"),
        Frame::new(1, Message::Handshake(Handshake::Guest { name: b"ls\0" })),
    );
}

#[test]
fn ex2_handshake_response() {
    check(
        &hex("1c 00 00 00 00 00 00 00 | 01 00 00 00 00 00 00 00 | 01 00 | 00 00 | 00 00 00 00 | 00 00 00 00"),
        Frame::new(1, Message::HandshakeResp(HandshakeResp { error: 0 })),
    );
}

#[test]
fn ex3_getpid_request() {
    check(
        &hex("18 00 00 00 00 00 00 00 | 02 00 00 00 00 00 00 00 | 00 00 | 01 00 | 14 00 00 00"),
        Frame::new(
            2,
            Message::Syscall(SyscallReq {
                sysnum: 20,
                args: &[],
            }),
        ),
    );
}

#[test]
fn ex4_getpid_response_with_padding() {
    // `pp` (uninitialised padding) filled with 16 7f 00 00, as in getpid.jsonl
    check(
        &hex("30 00 00 00 00 00 00 00 | 02 00 00 00 00 00 00 00 | 01 00 | 01 00 | 00 00 00 00 | 00 00 00 00 16 7f 00 00 05 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00"),
        Frame::new(
            2,
            Message::SyscallResp(SyscallResp {
                error: 0,
                pad: [0x16, 0x7f, 0, 0],
                retval: [5, 1],
            }),
        ),
    );
}

#[test]
fn ex5_copyin_request() {
    check(
        &hex("28 00 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00 | 00 00 | 02 00 | 00 00 00 00 | 05 00 00 00 00 00 00 00 00 10 00 00 00 7f 00 00"),
        Frame::new(
            0,
            Message::Copyin(CopyinReq {
                kind: CopyinKind::Bytes,
                len: 5,
                addr: 0x7f00_0000_1000,
            }),
        ),
    );
}

#[test]
fn ex6_copyin_reply_hello() {
    check(
        &hex("1d 00 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00 | 01 00 | 02 00 | 00 00 00 00 | 68 65 6c 6c 6f"),
        Frame::new(
            0,
            Message::CopyinResp(CopyinResp {
                label: CopyinKind::Bytes,
                data: b"hello",
            }),
        ),
    );
}

#[test]
fn ex7_copyout_deadbeef() {
    check(
        &hex("2c 00 00 00 00 00 00 00 | 01 00 00 00 00 00 00 00 | 00 00 | 04 00 | 00 00 00 00 | 04 00 00 00 00 00 00 00 00 20 00 00 00 7f 00 00 de ad be ef"),
        Frame::new(
            1,
            Message::Copyout(CopyoutReq {
                kind: CopyoutKind::Bytes,
                addr: 0x7f00_0000_2000,
                data: &[0xde, 0xad, 0xbe, 0xef],
            }),
        ),
    );
}

#[test]
fn ex8_prefork_request_and_response() {
    check(
        &hex("18 00 00 00 00 00 00 00 | 07 00 00 00 00 00 00 00 | 00 00 | 07 00 | 00 00 00 00"),
        Frame::new(7, Message::Prefork(PreforkReq { ignored: &[] })),
    );
    check(
        &hex(&format!(
            "28 00 00 00 00 00 00 00 | 07 00 00 00 00 00 00 00 | 01 00 | 07 00 | 00 00 00 00 | {COOKIE_HEX}"
        )),
        Frame::new(
            7,
            Message::PreforkResp(PreforkResp {
                cookie: PreforkCookie(COOKIE),
            }),
        ),
    );
}

#[test]
fn ex9_fork_handshake() {
    check(
        &hex(&format!(
            "2c 00 00 00 00 00 00 00 | 01 00 00 00 00 00 00 00 | 00 00 | 00 00 | 02 00 00 00 | {COOKIE_HEX} 00 00 00 00"
        )),
        Frame::new(
            1,
            Message::Handshake(Handshake::Fork {
                cookie: PreforkCookie(COOKIE),
                cancel: 0,
            }),
        ),
    );
}

#[test]
fn ex10_error_auth() {
    check(
        &hex("18 00 00 00 00 00 00 00 | 01 00 00 00 00 00 00 00 | 02 00 | 00 00 | 02 00 00 00"),
        Frame::new(
            1,
            Message::Error(ErrorFrame {
                code: ErrorCode::Auth,
            }),
        ),
    );
}

#[test]
fn ex11_raise_sigpipe_with_garbage_reqno() {
    // `xx` (uninitialised reqno) filled with 04 00 .., as in pipes.jsonl
    check(
        &hex("18 00 00 00 00 00 00 00 | 04 00 00 00 00 00 00 00 | 00 00 | 08 00 | 0d 00 00 00"),
        Frame::new(4, Message::Raise(Raise { signo: 13 })),
    );
}

#[test]
fn ex12_anonmmap_request_and_reply() {
    check(
        &hex("20 00 00 00 00 00 00 00 | 02 00 00 00 00 00 00 00 | 00 00 | 06 00 | 00 00 00 00 | 00 10 00 00 00 00 00 00"),
        Frame::new(2, Message::Anonmmap(AnonmmapReq { len: 4096 })),
    );
    check(
        &hex("20 00 00 00 00 00 00 00 | 02 00 00 00 00 00 00 00 | 01 00 | 06 00 | 00 00 00 00 | 00 00 56 34 12 7f 00 00"),
        Frame::new(
            2,
            Message::AnonmmapResp(AnonmmapResp {
                addr: 0x7f12_3456_0000,
            }),
        ),
    );
}

#[test]
fn read_argument_block_example() {
    // §5.3.1: read(3, 0x00007f0000001000, 16)
    let body = hex("03 00 00 00 00 00 00 00 | 00 10 00 00 00 7f 00 00 | 10 00 00 00 00 00 00 00");
    let built = ArgsBuilder::new(3, Abi::Lp64Le)
        .int(0, 3)
        .ptr(1, 0x7f00_0000_1000)
        .size(2, 16)
        .build();
    assert_eq!(built, body);
}
