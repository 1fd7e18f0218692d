//! The sans-IO server core against a small test kernel: every row of the spec's
//! §7.5 table, the robustness cases that need no real kernel, the hardening
//! choices, and every limit crossed.

mod common;

use common::*;
use rumpsp_protocol::server::{Accept, ServerLimits};
use rumpsp_protocol::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn ready(s: &mut server::ServerCore<TestKernel>) -> Peer {
    let mut p = Peer::connect(s);
    assert_eq!(p.guest(s, 1, b"test\0"), [Got::HandshakeOk(1)]);
    p
}

#[test]
fn banner_handshake_and_getpid_match_the_real_server_bytes() {
    let mut s = server(ServerLimits::default());
    let mut p = Peer::connect(&mut s);
    assert_eq!(p.banner, b"RUMPSP-0.4-NetBSD-7.99.34/amd64\n");
    // the real client's bytes from getpid.jsonl
    p.send_raw(
        &mut s,
        &hex("1f000000000000000100000000000000000000000000000067657470696400"),
    );
    p.send_raw(
        &mut s,
        &hex("180000000000000002000000000000000000010014000000"),
    );
    let out = s.take_output(p.id).unwrap();
    assert!(!out.close);
    assert_eq!(
        out.bytes,
        hex(concat!(
            "1c000000000000000100000000000000010000000000000000000000",
            // the real server's padding bytes were 167f0000; ours are zero
            "30000000000000000200000000000000010001000000000000000000000000000200000000000000010000000000000000"
        ))[..76]
            .to_vec()
    );
}

/// Protocol-level robustness cases: what was sent (hex from SUMMARY.md) and what the
/// reference answered on that connection; `closed` = the server shut it down.
#[test]
fn robustness_cases_answered_as_the_reference() {
    let cases: &[(&str, &[&str], bool, Vec<Got>)] = &[
        ("first_syscall", &["180000000000000001000000000000000000010014000000"], true,
         vec![Got::Error { reqno: 1, code: ErrorCode::Auth }]),
        ("hs_auth_first", &["220000000000000001000000000000000000000001000000626164636c69656e7400"], true,
         vec![Got::Error { reqno: 1, code: ErrorCode::Auth }]),
        ("hs_exec_first", &["220000000000000001000000000000000000000003000000626164636c69656e7400"], true,
         vec![Got::Error { reqno: 1, code: ErrorCode::Auth }]),
        ("hs_kind7", &["220000000000000001000000000000000000000007000000626164636c69656e7400"], true,
         vec![Got::Error { reqno: 1, code: ErrorCode::Auth }]),
        ("prefork_first", &["180000000000000001000000000000000000070000000000"], true,
         vec![Got::Error { reqno: 1, code: ErrorCode::Auth }]),
        ("len0", &["000000000000000001000000000000000000000000000000"], true, vec![]),
        ("len23", &["170000000000000001000000000000000000000000000000"], true, vec![]),
        ("len_2pow40", &["000000000001000001000000000000000000000000000000"], true, vec![]),
        ("fork_body19", &["2b0000000000000001000000000000000000000002000000000102030405060708090a0b0c0d0e0f00000000"], true,
         vec![Got::Error { reqno: 1, code: ErrorCode::MalformedRequest }]),
        ("fork_body21", &["2d0000000000000001000000000000000000000002000000000102030405060708090a0b0c0d0e0f000000000000"], true,
         vec![Got::Error { reqno: 1, code: ErrorCode::MalformedRequest }]),
        ("fork_unknown_cookie", &["2c00000000000000010000000000000000000000020000000123456789abcdeffedcba987654321000000000"], true,
         vec![Got::Error { reqno: 1, code: ErrorCode::InvalidPrefork }]),
        // accepted with an empty name (the reference crashed)
        ("guest_empty_body", &["180000000000000001000000000000000000000000000000", "180000000000000002000000000000000000010014000000"], false,
         vec![Got::HandshakeOk(1), ok(2, 2, 1)]),
        ("guest_no_nul", &["1d00000000000000010000000000000000000000000000006e6f4e554c", "180000000000000002000000000000000000010014000000"], false,
         vec![Got::HandshakeOk(1), ok(2, 2, 1)]),
        // after a handshake
        ("second_guest", &["GUEST", "1e0000000000000002000000000000000000000000000000616761696e00"], true,
         vec![Got::HandshakeOk(1), Got::Error { reqno: 2, code: ErrorCode::MalformedRequest }]),
        ("req_type42", &["GUEST", "2000000000000000020000000000000000002a00000000007878787878787878", "GETPID3"], false,
         vec![Got::HandshakeOk(1), Got::Error { reqno: 2, code: ErrorCode::MalformedRequest }, ok(3, 2, 1)]),
        ("class3", &["GUEST", "180000000000000002000000000000000300010014000000", "GETPID3"], false,
         vec![Got::HandshakeOk(1), Got::Error { reqno: 2, code: ErrorCode::MalformedRequest }, ok(3, 2, 1)]),
        ("class_error_from_client", &["GUEST", "180000000000000002000000000000000200000002000000", "GETPID3"], false,
         vec![Got::HandshakeOk(1), Got::Error { reqno: 2, code: ErrorCode::MalformedRequest }, ok(3, 2, 1)]),
        ("resp_unmatched", &["GUEST", "2000000000000000630000000000000001000200000000003132333435363738", "GETPID3"], false,
         vec![Got::HandshakeOk(1), ok(3, 2, 1)]),
        ("sysnum600", &["GUEST", "180000000000000002000000000000000000010058020000"], false,
         vec![Got::HandshakeOk(1), errno(2, 78)]),
        // ENOSYS here; the reference crashed on both
        ("sysnum_ffffffff", &["GUEST", "1800000000000000020000000000000000000100ffffffff", "GETPID3"], false,
         vec![Got::HandshakeOk(1), errno(2, 78), ok(3, 2, 1)]),
        ("sysnum_0x80000000", &["GUEST", "180000000000000002000000000000000000010000000080", "GETPID3"], false,
         vec![Got::HandshakeOk(1), errno(2, 78), ok(3, 2, 1)]),
        // missing slots are zero: the path is read from address 0 (the reference crashed)
        ("open_empty_body", &["GUEST", "180000000000000002000000000000000000010005000000"], false,
         vec![Got::HandshakeOk(1), Got::Copyin { reqno: 0, str: true, len: 1024, addr: 0 }]),
        ("open_short_body", &["GUEST", "20000000000000000200000000000000000001000500000000100000007f0000"], false,
         vec![Got::HandshakeOk(1), Got::Copyin { reqno: 0, str: true, len: 1024, addr: 0x7f00_0000_1000 }]),
        ("syscall_trailing_body", &["GUEST", "TRAILING"], false,
         vec![Got::HandshakeOk(1), ok(2, 2, 1)]),
        ("prefork_with_body", &["GUEST", "28000000000000000200000000000000000007000000000011111111111111111111111111111111"], false,
         vec![Got::HandshakeOk(1), Got::Prefork { reqno: 2, cookie: [0; 16] }]),
        // the reference ignores a PREFORK's u word (the strict codec does not)
        ("prefork_word7", &["GUEST", "180000000000000002000000000000000000070007000000"], false,
         vec![Got::HandshakeOk(1), Got::Prefork { reqno: 2, cookie: [0; 16] }]),
        // a FORK handshake with a bad body after the handshake: MALFORMED and shutdown
        ("fork_body19_running", &["GUEST", "2b0000000000000002000000000000000000000002000000000102030405060708090a0b0c0d0e0f00000000"], true,
         vec![Got::HandshakeOk(1), Got::Error { reqno: 2, code: ErrorCode::MalformedRequest }]),
        // a request only a server sends, decodable or not: MALFORMED, connection kept
        ("copyin_req_from_client", &["GUEST", "28000000000000000200000000000000000002000000000000000000000000000000000000000000", "GETPID3"], false,
         vec![Got::HandshakeOk(1), Got::Error { reqno: 2, code: ErrorCode::MalformedRequest }, ok(3, 2, 1)]),
        ("copyin_req_bad_body", &["GUEST", "1b0000000000000002000000000000000000020000000000616263", "GETPID3"], false,
         vec![Got::HandshakeOk(1), Got::Error { reqno: 2, code: ErrorCode::MalformedRequest }, ok(3, 2, 1)]),
        ("partial_header_close", &["1a000000000000000100"], false, vec![]),
        ("half_body_close", &["0004000000000000010000000000000000000000000000006e6e6e6e6e6e"], false, vec![]),
    ];
    for (case, sends, closed, want) in cases {
        let mut s = server(ServerLimits::default());
        let mut p = Peer::connect(&mut s);
        let mut got = Vec::new();
        for send in *sends {
            let bytes = match *send {
                "GUEST" => hex("1e0000000000000001000000000000000000000000000000616761696e00"),
                "GETPID3" => hex("180000000000000003000000000000000000010014000000"),
                // getpid with 64 bytes of 0xee after it (88-byte frame)
                "TRAILING" => {
                    let mut v = hex("580000000000000002000000000000000000010014000000");
                    v.extend([0xee; 64]);
                    v
                }
                h => hex(h),
            };
            p.send_raw(&mut s, &bytes);
            got.extend(p.recv(&mut s));
        }
        // Prefork cookies are random: compare their presence only.
        for g in &mut got {
            if let Got::Prefork { cookie, .. } = g {
                *cookie = [0; 16];
            }
        }
        assert_eq!(&got, want, "{case}");
        assert_eq!(p.closed, *closed, "{case}: closed");
        // The server then serves a new client.
        let mut fresh = Peer::connect(&mut s);
        assert_eq!(
            fresh.guest(&mut s, 1, b"health\0"),
            [Got::HandshakeOk(1)],
            "{case}: health"
        );
        assert!(matches!(
            fresh.syscall(&mut s, 2, SYS_GETPID, &[])[..],
            [Got::Syscall { error: 0, .. }]
        ));
    }
}

#[test]
fn copyin_answers_short_long_empty_and_wrong_type() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    let w = args(&[3, 0x7f00_0000_2000, 10]);
    // longer answer: cut to the length asked for (as the reference)
    assert_eq!(
        p.syscall(&mut s, 2, SYS_WRITE, &w),
        [Got::Copyin {
            reqno: 0,
            str: false,
            len: 10,
            addr: 0x7f00_0000_2000
        }]
    );
    assert_eq!(p.answer(&mut s, 0, &[b'L'; 50]), [ok(2, 10, 0)]);
    assert_eq!(s.kernel().written, vec![b'L'; 10]);
    // shorter answer: EFAULT, nothing written (the reference wrote heap garbage)
    p.syscall(&mut s, 3, SYS_WRITE, &w);
    assert_eq!(p.answer(&mut s, 1, b"ABCDEFGHI"), [errno(3, 14)]);
    // empty answer: EFAULT (the reference crashed)
    p.syscall(&mut s, 4, SYS_WRITE, &w);
    assert_eq!(p.answer(&mut s, 2, b""), [errno(4, 14)]);
    assert_eq!(s.kernel().written.len(), 10);
    // a RESP typed HANDSHAKE is accepted as the answer: only the reqno matters
    let open = args(&[0x7f00_0000_1000, 0, 0]);
    assert_eq!(
        p.syscall(&mut s, 5, SYS_OPEN, &open),
        [Got::Copyin {
            reqno: 3,
            str: true,
            len: 1024,
            addr: 0x7f00_0000_1000
        }]
    );
    p.send_raw(
        &mut s,
        &hex("1c00000000000000030000000000000001000000000000002f6f6b00"),
    );
    assert_eq!(p.recv(&mut s), [ok(5, 3, 0)]);
}

#[test]
fn a_batch_of_memory_requests_goes_out_at_once_and_runs_the_call_once_all_are_in() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    let a = args(&[0x7f00_0000_1000, 0x7f00_0000_2000]);
    // both COPYINs before any answer
    assert_eq!(
        p.syscall(&mut s, 2, SYS_TEST_BATCH, &a),
        [
            Got::Copyin {
                reqno: 0,
                str: false,
                len: 8,
                addr: 0x7f00_0000_1000
            },
            Got::Copyin {
                reqno: 1,
                str: false,
                len: 8,
                addr: 0x7f00_0000_2000
            }
        ]
    );
    // answered in the other order: nothing until both are in, then the
    // answers are used in the order they were asked for
    assert_eq!(p.answer(&mut s, 1, &[2; 8]), []);
    assert_eq!(p.answer(&mut s, 0, &[1; 8]), [ok(2, 256 + 2, 0)]);
    // a short answer in a batch faults the call (EFAULT), after the other one came
    p.syscall(&mut s, 3, SYS_TEST_BATCH, &a);
    assert_eq!(p.answer(&mut s, 2, &[1; 3]), []);
    assert_eq!(p.answer(&mut s, 3, &[1; 8]), [errno(3, 14)]);
    // a late duplicate answer to a finished batch is dropped
    assert_eq!(p.answer(&mut s, 3, &[1; 8]), []);
    // the wait expires as a whole: the call fails, the server goes on
    p.syscall(&mut s, 4, SYS_TEST_BATCH, &a);
    assert_eq!(p.answer(&mut s, 4, &[1; 8]), []);
    s.set_time(60_000);
    s.expire_waits(1_000);
    assert_eq!(p.recv(&mut s), [errno(4, 14)]);
    assert_eq!(p.syscall(&mut s, 5, SYS_GETPID, &[]).len(), 1);
}

#[test]
fn a_change_wakes_only_the_calls_blocked_on_that_object() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    for key in 1..=3u64 {
        assert_eq!(
            p.syscall(&mut s, 10 + key, SYS_TEST_WAIT_KEY, &args(&[key])),
            []
        );
    }
    assert_eq!(
        s.kernel().wait_runs.values().copied().collect::<Vec<_>>(),
        [1, 1, 1]
    );
    // releasing key 2 runs call 12 again, and only it
    assert_eq!(
        p.syscall(&mut s, 20, SYS_TEST_RELEASE_KEY, &args(&[2])),
        [ok(20, 0, 0), ok(12, 2, 0)]
    );
    assert_eq!(
        s.kernel().wait_runs.values().copied().collect::<Vec<_>>(),
        [1, 2, 1]
    );
    // a change to an object nobody waits on wakes nobody
    p.syscall(&mut s, 21, SYS_TEST_RELEASE_KEY, &args(&[9]));
    assert_eq!(
        s.kernel().wait_runs.values().copied().collect::<Vec<_>>(),
        [1, 2, 1]
    );
    // a call blocked without a key still wakes on any change (the pipe read)
    let r = args(&[u64::from(PIPE_FD as u32), 0x7f00_0000_1000, 4]);
    assert_eq!(p.syscall(&mut s, 22, SYS_READ, &r), []);
    p.syscall(&mut s, 23, SYS_TEST_RELEASE_KEY, &args(&[3]));
    assert_eq!(
        s.kernel().wait_runs.values().copied().collect::<Vec<_>>(),
        [1, 2, 2]
    );
}

#[test]
fn copyinstr_answers() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    let open = args(&[0x1000, 0, 0]);
    // no NUL within the maximum: ENAMETOOLONG
    p.syscall(&mut s, 2, SYS_OPEN, &open);
    assert_eq!(p.answer(&mut s, 0, &[b'B'; 1024]), [errno(2, 63)]);
    // 2024 bytes for a 1024-byte maximum: cut, no NUL, ENAMETOOLONG (as the reference answered)
    p.syscall(&mut s, 3, SYS_OPEN, &open);
    let mut long = vec![b'/'];
    long.extend(vec![b'A'; 2022]);
    long.push(0);
    assert_eq!(p.answer(&mut s, 1, &long), [errno(3, 63)]);
    // empty: EFAULT
    p.syscall(&mut s, 4, SYS_OPEN, &open);
    assert_eq!(p.answer(&mut s, 2, b""), [errno(4, 14)]);
    // a normal answer
    p.syscall(&mut s, 5, SYS_OPEN, &open);
    assert_eq!(p.answer(&mut s, 3, b"/nonexistent\0"), [errno(5, 2)]);
}

#[test]
fn error_frame_as_copyin_answer_gets_malformed_and_the_call_keeps_waiting() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    p.syscall(&mut s, 2, SYS_OPEN, &args(&[0x1000, 0, 0]));
    p.send_raw(
        &mut s,
        &hex("180000000000000000000000000000000200000007000000"),
    );
    assert_eq!(
        p.recv(&mut s),
        [Got::Error {
            reqno: 0,
            code: ErrorCode::MalformedRequest
        }]
    );
    assert_eq!(s.outstanding(p.id), 1);
    assert_eq!(p.answer(&mut s, 0, b"/ok\0"), [ok(2, 3, 0)]);
}

#[test]
fn anonmmap_round_trip() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    assert_eq!(
        p.syscall(&mut s, 2, SYS_TEST_MMAP, &[]),
        [Got::Mmap {
            reqno: 0,
            len: 4096
        }]
    );
    p.send(
        &mut s,
        Frame::new(
            0,
            Message::AnonmmapResp(AnonmmapResp {
                addr: 0x7f12_3456_0000,
            }),
        ),
    );
    assert_eq!(p.recv(&mut s), [ok(2, 0x7f12_3456_0000, 0)]);
    // a short answer is a fault (the reference read 8 bytes regardless)
    p.syscall(&mut s, 3, SYS_TEST_MMAP, &[]);
    assert_eq!(p.answer(&mut s, 1, &[1, 2, 3]), [errno(3, 14)]);
    // 0 = the client could not map
    p.syscall(&mut s, 4, SYS_TEST_MMAP, &[]);
    p.send(
        &mut s,
        Frame::new(2, Message::AnonmmapResp(AnonmmapResp { addr: 0 })),
    );
    assert_eq!(p.recv(&mut s), [errno(4, 12)]);
}

#[test]
fn blocked_call_waits_without_blocking_other_calls_or_clients() {
    let mut s = server(ServerLimits::default());
    let mut a = ready(&mut s);
    let mut b = ready(&mut s);
    // a reads the empty pipe: nothing comes back yet
    assert_eq!(
        a.syscall(&mut s, 2, SYS_READ, &args(&[PIPE_FD as u64, 0x5000, 16])),
        []
    );
    // the same connection still gets other answers
    assert_eq!(a.syscall(&mut s, 3, SYS_GETPID, &[]), [ok(3, 2, 1)]);
    // b writes to the pipe: a's read completes with a COPYOUT before its response
    assert_eq!(
        b.syscall(&mut s, 2, SYS_WRITE, &args(&[PIPE_FD as u64, 0x6000, 5])),
        [Got::Copyin {
            reqno: 0,
            str: false,
            len: 5,
            addr: 0x6000
        }]
    );
    assert_eq!(b.answer(&mut s, 0, b"hello"), [ok(2, 5, 0)]);
    assert_eq!(
        a.recv(&mut s),
        [
            Got::Copyout {
                reqno: 0,
                addr: 0x5000,
                data: b"hello".to_vec()
            },
            ok(2, 5, 0)
        ]
    );
}

#[test]
fn multithreaded_client_calls_complete_independently() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    let w = args(&[3, 0x2000, 4]);
    // two writes in flight, answered in the opposite order
    assert_eq!(
        p.syscall(&mut s, 2, SYS_WRITE, &w),
        [Got::Copyin {
            reqno: 0,
            str: false,
            len: 4,
            addr: 0x2000
        }]
    );
    assert_eq!(
        p.syscall(&mut s, 3, SYS_WRITE, &w),
        [Got::Copyin {
            reqno: 1,
            str: false,
            len: 4,
            addr: 0x2000
        }]
    );
    assert_eq!(p.answer(&mut s, 1, b"BBBB"), [ok(3, 4, 0)]);
    assert_eq!(p.answer(&mut s, 0, b"AAAA"), [ok(2, 4, 0)]);
    assert_eq!(s.kernel().written, b"BBBBAAAA");
    // a reused reqno while the first is outstanding is refused, the first stays
    p.syscall(&mut s, 4, SYS_WRITE, &w);
    assert_eq!(
        p.syscall(&mut s, 4, SYS_GETPID, &[]),
        [Got::Error {
            reqno: 4,
            code: ErrorCode::MalformedRequest
        }]
    );
    assert_eq!(p.answer(&mut s, 2, b"CCCC"), [ok(4, 4, 0)]);
}

#[test]
fn fork_cookie_is_single_use_and_cancel_consumes_it() {
    let mut s = server(ServerLimits::default());
    let mut parent = ready(&mut s);
    let cookie = |g: &[Got]| match g {
        [Got::Prefork { reqno: 2, cookie }] => *cookie,
        other => panic!("{other:?}"),
    };
    parent.send(
        &mut s,
        Frame::new(2, Message::Prefork(PreforkReq::default())),
    );
    let c = cookie(&parent.recv(&mut s));
    let fork = |cancel| {
        Frame::new(
            1,
            Message::Handshake(Handshake::Fork {
                cookie: PreforkCookie(c),
                cancel,
            }),
        )
    };
    let mut child = Peer::connect(&mut s);
    child.send(&mut s, fork(0));
    assert_eq!(child.recv(&mut s), [Got::HandshakeOk(1)]);
    // the child's parent is pid 1 (the intermediate is released), as in fork.jsonl
    assert_eq!(child.syscall(&mut s, 2, SYS_GETPPID, &[]), [ok(2, 1, 0)]);
    let mut again = Peer::connect(&mut s);
    again.send(&mut s, fork(0));
    assert_eq!(
        again.recv(&mut s),
        [Got::Error {
            reqno: 1,
            code: ErrorCode::InvalidPrefork
        }]
    );
    assert!(again.closed);
    // cancel: closed without a reply, and the cookie is gone
    parent.send(
        &mut s,
        Frame::new(2, Message::Prefork(PreforkReq::default())),
    );
    let c2 = cookie(&parent.recv(&mut s));
    let mut cancel = Peer::connect(&mut s);
    cancel.send(
        &mut s,
        Frame::new(
            1,
            Message::Handshake(Handshake::Fork {
                cookie: PreforkCookie(c2),
                cancel: 1,
            }),
        ),
    );
    assert_eq!(cancel.recv(&mut s), []);
    assert!(cancel.closed);
    assert_eq!(s.prefork_count(), 0);
}

#[test]
fn unredeemed_preforks_are_bounded() {
    let mut s = server(ServerLimits {
        max_preforks: 2,
        ..Default::default()
    });
    let mut p = ready(&mut s);
    let mut cookies = Vec::new();
    for r in 2..5 {
        p.send(
            &mut s,
            Frame::new(r, Message::Prefork(PreforkReq::default())),
        );
        match &p.recv(&mut s)[..] {
            [Got::Prefork { cookie, .. }] => cookies.push(*cookie),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(s.prefork_count(), 2);
    // the oldest was discarded (its intermediate process exited)
    let mut late = Peer::connect(&mut s);
    late.send(
        &mut s,
        Frame::new(
            1,
            Message::Handshake(Handshake::Fork {
                cookie: PreforkCookie(cookies[0]),
                cancel: 0,
            }),
        ),
    );
    assert_eq!(
        late.recv(&mut s),
        [Got::Error {
            reqno: 1,
            code: ErrorCode::InvalidPrefork
        }]
    );
    let mut newest = Peer::connect(&mut s);
    newest.send(
        &mut s,
        Frame::new(
            1,
            Message::Handshake(Handshake::Fork {
                cookie: PreforkCookie(cookies[2]),
                cancel: 0,
            }),
        ),
    );
    assert_eq!(newest.recv(&mut s), [Got::HandshakeOk(1)]);
    // processes: test, the remaining intermediate, the child
    assert_eq!(s.kernel().procs.len(), 3);
}

#[test]
fn exec_renames_and_interrupts_calls_of_the_old_image() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    let exec = |r, name: &'static [u8]| Frame::new(r, Message::Handshake(Handshake::Exec { name }));
    p.send(&mut s, exec(2, b"newprog\0"));
    assert_eq!(p.recv(&mut s), [Got::HandshakeOk(2)]);
    assert_eq!(s.kernel().procs[&2].comm, b"newprog");
    // the exec is over: the connection runs its process again (no syscall gets EBUSY)
    assert_eq!(s.state(p.id), Some(server::ConnState::Running { pid: 2 }));
    assert!(matches!(
        p.syscall(&mut s, 9, SYS_GETPID, &[])[..],
        [Got::Syscall { error: 0, .. }]
    ));
    // a blocked read of the old image ends with EINTR before the exec is answered
    p.syscall(&mut s, 3, SYS_READ, &args(&[PIPE_FD as u64, 0x5000, 16]));
    p.send(&mut s, exec(0, b"third\0"));
    assert_eq!(p.recv(&mut s), [errno(3, 4), Got::HandshakeOk(0)]);
    // a call waiting for a COPYIN faults instead of reading the new image's memory
    p.syscall(&mut s, 1, SYS_WRITE, &args(&[3, 0x2000, 4]));
    p.send(&mut s, exec(2, b"fourth\0"));
    assert_eq!(p.recv(&mut s), [errno(1, 14), Got::HandshakeOk(2)]);
    // a second GUEST after the handshake: MALFORMED + shutdown
    p.send(
        &mut s,
        Frame::new(3, Message::Handshake(Handshake::Guest { name: b"x\0" })),
    );
    assert_eq!(
        p.recv(&mut s),
        [Got::Error {
            reqno: 3,
            code: ErrorCode::MalformedRequest
        }]
    );
    assert!(p.closed);
}

#[test]
fn reboot_answers_the_caller_then_closes_everyone() {
    let mut s = server(ServerLimits::default());
    let mut a = ready(&mut s);
    let mut b = ready(&mut s);
    assert_eq!(
        a.syscall(&mut s, 2, SYS_REBOOT, &args(&[0, 0])),
        [ok(2, 0, 0)]
    );
    assert!(a.closed);
    assert_eq!(b.recv(&mut s), []);
    assert!(b.closed);
    assert!(s.shutting_down());
    assert_eq!(s.accept(), Accept::Refused);
}

#[test]
fn disconnect_mid_copyin_ends_the_process_and_the_server_goes_on() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    p.syscall(&mut s, 2, SYS_WRITE, &args(&[3, 0x2000, 64]));
    s.disconnect(p.id);
    assert!(s.kernel().procs.is_empty());
    let mut q = ready(&mut s);
    assert_eq!(q.syscall(&mut s, 2, SYS_GETPID, &[]), [ok(2, 3, 1)]);
}

#[test]
fn failed_process_creation_closes_without_reply() {
    let mut s = server(ServerLimits::default());
    s.kernel_mut().refuse_spawn = true;
    let mut p = Peer::connect(&mut s);
    assert_eq!(p.guest(&mut s, 1, b"x\0"), []);
    assert!(p.closed);
}

#[test]
fn connection_limit_refuses_without_banner() {
    let mut s = server(ServerLimits {
        max_connections: 2,
        ..Default::default()
    });
    let a = Peer::connect(&mut s);
    let _b = Peer::connect(&mut s);
    assert_eq!(s.accept(), Accept::Refused);
    s.disconnect(a.id);
    assert!(matches!(s.accept(), Accept::Open(_)));
}

#[test]
fn outstanding_limit_answers_tryagain() {
    let mut s = server(ServerLimits {
        max_outstanding: 2,
        ..Default::default()
    });
    let mut p = ready(&mut s);
    let read = args(&[PIPE_FD as u64, 0x5000, 16]);
    assert_eq!(p.syscall(&mut s, 2, SYS_READ, &read), []);
    assert_eq!(p.syscall(&mut s, 3, SYS_READ, &read), []);
    assert_eq!(
        p.syscall(&mut s, 4, SYS_GETPID, &[]),
        [Got::Error {
            reqno: 4,
            code: ErrorCode::TryAgain
        }]
    );
}

#[test]
fn frame_limits_close_without_error_frame() {
    let limits = ServerLimits {
        frame: FrameLimits {
            max_handshake_body: 100,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut s = server(limits);
    let mut p = Peer::connect(&mut s);
    assert_eq!(p.guest(&mut s, 1, &[b'n'; 101]), []);
    assert!(p.closed);
    // 5000-byte names are fine under the default limits (the reference accepted them)
    let mut s = server(ServerLimits::default());
    let mut p = Peer::connect(&mut s);
    assert_eq!(p.guest(&mut s, 1, &[b'A'; 5000]), [Got::HandshakeOk(1)]);
    assert_eq!(s.kernel().procs[&2].comm, vec![b'A'; 16]);
}

#[test]
fn usage_reports_buffered_input_queued_output_calls_and_held_memory() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    let usage = |s: &server::ServerCore<TestKernel>, id| s.usage(id).unwrap();
    assert_eq!(
        usage(&s, p.id),
        server::ConnUsage {
            input_capacity: usage(&s, p.id).input_capacity,
            ..Default::default()
        }
    );
    // a blocked read and a call waiting for its second COPYIN
    assert_eq!(
        p.syscall(&mut s, 2, SYS_READ, &args(&[PIPE_FD as u64, 0x5000, 16])),
        []
    );
    p.syscall(&mut s, 3, SYS_TEST_TWO_COPYINS, &args(&[0x1000, 0x2000]));
    assert_eq!(usage(&s, p.id).largest_call_memory, 0);
    assert_eq!(p.answer(&mut s, 0, &[5; 8]).len(), 1, "the second COPYIN");
    let u = usage(&s, p.id);
    assert_eq!((u.calls, u.largest_call_memory), (2, 8));
    // the answer in two pieces: the first is buffered, the second completes
    // the frame; the server's answer stays queued until taken
    let answer = Frame::new(
        1,
        Message::CopyinResp(CopyinResp {
            label: CopyinKind::Bytes,
            data: &[6; 8],
        }),
    )
    .to_vec(Abi::Lp64Le);
    p.send_raw(&mut s, &answer[..5]);
    assert_eq!(usage(&s, p.id).input_buffered, 5);
    p.send_raw(&mut s, &answer[5..]);
    let u = usage(&s, p.id);
    assert_eq!((u.input_buffered, u.calls), (0, 1));
    assert!(u.output_queued > 0);
    assert_eq!(p.recv(&mut s), [ok(3, 11, 0)]);
    assert_eq!(usage(&s, p.id).output_queued, 0);
    p.send_raw(&mut s, &[0x18, 0, 0]);
    assert_eq!(usage(&s, p.id).input_buffered, 3);
}

#[test]
fn call_memory_limit_faults_without_asking_the_client() {
    let mut s = server(ServerLimits {
        max_call_memory: 1000,
        ..Default::default()
    });
    let mut p = ready(&mut s);
    assert_eq!(
        p.syscall(&mut s, 2, SYS_WRITE, &args(&[3, 0x2000, 1001])),
        [errno(2, 14)]
    );
    assert_eq!(
        p.syscall(&mut s, 3, SYS_WRITE, &args(&[3, 0x2000, 1000]))
            .len(),
        1
    );
}

#[test]
fn posted_signals_are_raised_before_the_response() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    let write = args(&[BROKEN_PIPE_FD as u64, 0x2000, 4]);
    p.send(
        &mut s,
        Frame::new(
            2,
            Message::Syscall(SyscallReq {
                sysnum: SYS_WRITE,
                args: &write,
            }),
        ),
    );
    let out = s.take_output(p.id).unwrap();
    let raise = "18000000000000000000000000000000000008000d000000"; // reqno 0, signo 13
    let epipe = concat!(
        "300000000000000002000000000000000100010000000000",
        "200000000000000000000000000000000000000000000000" // error 32, zero pad, rv (0, 0)
    );
    assert_eq!(out.bytes, hex(&format!("{raise}{epipe}")));
}

#[test]
fn a_client_that_never_answers_a_copyin_gets_efault_after_the_timeout() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    let mut q = ready(&mut s);
    s.set_time(1_000);
    assert_eq!(
        p.syscall(&mut s, 2, SYS_WRITE, &args(&[3, 0x2000, 4]))
            .len(),
        1
    );
    // another client is not stalled meanwhile
    assert_eq!(q.syscall(&mut s, 2, SYS_GETPID, &[]).len(), 1);
    s.set_time(5_000);
    s.expire_waits(10_000);
    assert_eq!(p.recv(&mut s), [], "not yet");
    s.set_time(11_000);
    s.expire_waits(10_000);
    assert_eq!(p.recv(&mut s), [errno(2, 14)]);
    // a late answer is dropped as unmatched
    assert_eq!(p.answer(&mut s, 0, b"late"), []);
}

#[test]
fn drain_reports_every_connection_with_output() {
    let mut s = server(ServerLimits::default());
    let mut a = ready(&mut s);
    let mut b = ready(&mut s);
    s.drain();
    a.send(
        &mut s,
        Frame::new(
            2,
            Message::Syscall(SyscallReq {
                sysnum: SYS_READ,
                args: &args(&[PIPE_FD as u64, 0x5000, 8]),
            }),
        ),
    );
    assert!(s.drain().is_empty(), "a blocked read queues nothing");
    b.send(
        &mut s,
        Frame::new(
            2,
            Message::Syscall(SyscallReq {
                sysnum: SYS_WRITE,
                args: &args(&[PIPE_FD as u64, 0x6000, 2]),
            }),
        ),
    );
    let _ = s.drain(); // b's COPYIN request
    b.send(
        &mut s,
        Frame::new(
            0,
            Message::CopyinResp(CopyinResp {
                label: CopyinKind::Bytes,
                data: b"hi",
            }),
        ),
    );
    let ids: Vec<_> = s.drain().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, [a.id, b.id], "b's write completed a's read");
}

#[test]
fn a_connection_shut_down_after_an_error_still_ends_its_process() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    assert_eq!(s.kernel().procs.len(), 1);
    p.send(
        &mut s,
        Frame::new(2, Message::Handshake(Handshake::Guest { name: b"again\0" })),
    );
    assert_eq!(
        p.recv(&mut s),
        [Got::Error {
            reqno: 2,
            code: ErrorCode::MalformedRequest
        }]
    );
    assert!(p.closed);
    assert!(
        s.kernel().procs.is_empty(),
        "the process ended with the connection"
    );
}

#[test]
fn unredeemed_preforks_expire() {
    let mut s = server(ServerLimits {
        prefork_ttl_ms: 1_000,
        ..Default::default()
    });
    let mut p = ready(&mut s);
    s.set_time(100);
    p.send(
        &mut s,
        Frame::new(2, Message::Prefork(PreforkReq::default())),
    );
    let cookie = match &p.recv(&mut s)[..] {
        [Got::Prefork { cookie, .. }] => *cookie,
        other => panic!("{other:?}"),
    };
    s.set_time(900);
    s.expire_preforks();
    assert_eq!(s.prefork_count(), 1, "still young");
    s.set_time(1_200);
    s.expire_preforks();
    assert_eq!(s.prefork_count(), 0);
    assert_eq!(
        s.kernel().procs.len(),
        1,
        "the intermediate process is gone"
    );
    let mut late = Peer::connect(&mut s);
    late.send(
        &mut s,
        Frame::new(
            1,
            Message::Handshake(Handshake::Fork {
                cookie: PreforkCookie(cookie),
                cancel: 0,
            }),
        ),
    );
    assert_eq!(
        late.recv(&mut s),
        [Got::Error {
            reqno: 1,
            code: ErrorCode::InvalidPrefork
        }]
    );
}

#[test]
fn a_connection_without_a_handshake_is_closed_at_the_deadline() {
    let mut s = server(ServerLimits {
        handshake_deadline_ms: 1000,
        ..Default::default()
    });
    s.set_time(100);
    let silent = Peer::connect(&mut s);
    let mut done = ready(&mut s);
    s.set_time(1099);
    s.expire_handshakes();
    assert_eq!(s.state(silent.id), Some(server::ConnState::New));
    s.set_time(1100);
    s.expire_handshakes();
    assert!(s.take_output(silent.id).unwrap().close);
    // a handshaken connection is not affected
    assert_eq!(
        done.syscall(&mut s, 2, SYS_GETPID, &[]),
        [ok(2, done_pid(&s, done.id), 1)]
    );
}

fn done_pid(s: &server::ServerCore<TestKernel>, id: server::ConnId) -> i64 {
    s.state(id)
        .and_then(|st| match st {
            server::ConnState::Running { pid } => Some(i64::from(pid)),
            _ => None,
        })
        .unwrap()
}

#[test]
fn startups_past_the_limit_shed_the_oldest_idle_first() {
    let mut s = server(ServerLimits {
        max_startups: 3,
        ..Default::default()
    });
    let mut busy = Peer::connect(&mut s); // oldest, but mid-handshake (bytes received)
    busy.send_raw(&mut s, &[0x18, 0, 0]);
    let idle1 = Peer::connect(&mut s);
    let idle2 = Peer::connect(&mut s);
    assert_eq!(s.startups(), 3);
    let mut new = Peer::connect(&mut s);
    assert_eq!(s.startups(), 3);
    assert!(s.take_output(idle1.id).unwrap().close, "oldest idle shed");
    assert_eq!(s.state(idle2.id), Some(server::ConnState::New));
    assert_eq!(s.state(busy.id), Some(server::ConnState::New));
    let mut new2 = Peer::connect(&mut s);
    assert!(s.take_output(idle2.id).unwrap().close);
    // with no idle one left, the oldest goes
    new.send_raw(&mut s, &[0x18]);
    new2.send_raw(&mut s, &[0x18]);
    let _new3 = Peer::connect(&mut s);
    assert!(s.take_output(busy.id).unwrap().close);
    assert_eq!(s.state(new.id), Some(server::ConnState::New));
    // handshaken connections never count
    let mut r = ready(&mut s);
    assert!(r.syscall(&mut s, 2, SYS_GETPID, &[]).len() == 1);
    assert!(s.startups() <= 3);
}

fn prefork_once(p: &mut Peer, s: &mut server::ServerCore<TestKernel>, r: u64) -> Vec<Got> {
    p.send(s, Frame::new(r, Message::Prefork(PreforkReq::default())));
    p.recv(s)
}

#[test]
fn one_connection_cannot_evict_another_connections_preforks() {
    let mut s = server(ServerLimits {
        max_preforks: 4,
        max_preforks_per_conn: 2,
        ..Default::default()
    });
    let mut victim = ready(&mut s);
    let [Got::Prefork { cookie, .. }] = prefork_once(&mut victim, &mut s, 2)[..] else {
        panic!()
    };
    let mut attacker = ready(&mut s);
    for r in 2..10 {
        assert!(matches!(
            prefork_once(&mut attacker, &mut s, r)[..],
            [Got::Prefork { .. }]
        ));
    }
    // the attacker keeps only its own 2
    assert_eq!(s.prefork_count(), 3);
    let mut third = ready(&mut s);
    assert!(matches!(
        prefork_once(&mut third, &mut s, 2)[..],
        [Got::Prefork { .. }]
    ));
    // table full (4): a connection with none of its own is refused
    let mut fourth = ready(&mut s);
    assert_eq!(
        prefork_once(&mut fourth, &mut s, 2),
        [Got::Error {
            reqno: 2,
            code: ErrorCode::RforkFailed
        }]
    );
    // the victim's cookie still works
    let mut child = Peer::connect(&mut s);
    child.send(
        &mut s,
        Frame::new(
            1,
            Message::Handshake(Handshake::Fork {
                cookie: PreforkCookie(cookie),
                cancel: 0,
            }),
        ),
    );
    assert_eq!(child.recv(&mut s), [Got::HandshakeOk(1)]);
}

fn auth_frame(reqno: u64, body: &[u8]) -> Frame<'_> {
    Frame::new(reqno, Message::Handshake(Handshake::Auth { body }))
}

#[test]
fn auth_challenge_response_gates_the_guest_handshake() {
    let key = b"0123456789abcdef".to_vec();
    let mut s = server(ServerLimits::default());
    s.require_auth(key.clone());
    // GUEST before AUTH: refused and shut down
    let mut early = Peer::connect(&mut s);
    assert_eq!(
        early.guest(&mut s, 1, b"x\0"),
        [Got::Error {
            reqno: 1,
            code: ErrorCode::Auth
        }]
    );
    assert!(s.take_output(early.id).is_none_or(|o| o.close));
    // a FORK before AUTH, even one whose body does not decode: AUTH and shut down
    let mut early_fork = Peer::connect(&mut s);
    early_fork.send_raw(
        &mut s,
        &hex("2b0000000000000001000000000000000000000002000000000102030405060708090a0b0c0d0e0f00000000"),
    );
    assert_eq!(
        early_fork.recv(&mut s),
        [Got::Error {
            reqno: 1,
            code: ErrorCode::Auth
        }]
    );
    assert!(early_fork.closed);
    // the challenge: RESP/HANDSHAKE with error 0 and a 32-byte nonce
    let mut p = Peer::connect(&mut s);
    p.send(&mut s, auth_frame(1, &[]));
    let out = s.take_output(p.id).unwrap().bytes;
    assert_eq!(out.len(), 24 + 4 + 32);
    assert_eq!(u64::from_le_bytes(out[..8].try_into().unwrap()), 60);
    assert_eq!(&out[24..28], &[0; 4]);
    let nonce = out[28..].to_vec();
    // a wrong proof: ERROR AUTH and shutdown
    let mut wrong = Peer::connect(&mut s);
    wrong.send(&mut s, auth_frame(1, &[]));
    let wout = s.take_output(wrong.id).unwrap().bytes;
    assert_ne!(&wout[28..], &nonce[..], "nonces differ per connection");
    let bad = rumpsp_protocol::auth::proof(b"0123456789abcdeX", &wout[28..]);
    assert_eq!(
        wrong.syscall_like_auth(&mut s, 2, &bad),
        [Got::Error {
            reqno: 2,
            code: ErrorCode::Auth
        }]
    );
    // the right proof, then the usual GUEST handshake
    let good = rumpsp_protocol::auth::proof(&key, &nonce);
    assert_eq!(p.syscall_like_auth(&mut s, 2, &good), [Got::HandshakeOk(2)]);
    assert_eq!(p.guest(&mut s, 3, b"ok\0"), [Got::HandshakeOk(3)]);
    // a proof replayed on another connection (with another nonce) fails
    let mut replay = Peer::connect(&mut s);
    replay.send(&mut s, auth_frame(1, &[]));
    s.take_output(replay.id);
    assert_eq!(
        replay.syscall_like_auth(&mut s, 2, &good),
        [Got::Error {
            reqno: 2,
            code: ErrorCode::Auth
        }]
    );
}

#[test]
fn without_a_key_auth_is_refused_as_the_reference_does() {
    let mut s = server(ServerLimits::default());
    let mut p = Peer::connect(&mut s);
    p.send(&mut s, auth_frame(1, &[]));
    assert_eq!(
        p.recv(&mut s),
        [Got::Error {
            reqno: 1,
            code: ErrorCode::Auth
        }]
    );
}

trait AuthPeer {
    fn syscall_like_auth(
        &mut self,
        s: &mut server::ServerCore<TestKernel>,
        reqno: u64,
        proof: &[u8],
    ) -> Vec<Got>;
}

impl AuthPeer for Peer {
    fn syscall_like_auth(
        &mut self,
        s: &mut server::ServerCore<TestKernel>,
        reqno: u64,
        proof: &[u8],
    ) -> Vec<Got> {
        self.send(s, auth_frame(reqno, proof));
        self.recv(s)
    }
}

#[test]
fn an_unasked_or_oversized_copyin_answer_closes_before_its_body_is_buffered() {
    let mut s = server(ServerLimits::default());
    // 64 MiB announced, no COPYIN outstanding: only the header is buffered, then closed
    let mut p = ready(&mut s);
    let mut h = Vec::new();
    h.extend((24u64 + (64 << 20)).to_le_bytes());
    h.extend(7u64.to_le_bytes());
    h.extend(1u16.to_le_bytes()); // RESP
    h.extend(2u16.to_le_bytes()); // COPYIN
    h.extend(0u32.to_le_bytes());
    p.send_raw(&mut s, &h);
    p.send_raw(&mut s, &[0u8; 4096]);
    assert!(s.take_output(p.id).unwrap().close);
    // a small unmatched answer is still dropped silently (as the reference)
    let mut q = ready(&mut s);
    q.answer(&mut s, 99, &[1; 100]);
    assert_eq!(q.syscall(&mut s, 2, SYS_GETPID, &[]).len(), 1);
    // an answer up to the asked length plus 4 KiB is taken; past it, closed
    let mut r = ready(&mut s);
    assert_eq!(
        r.syscall(&mut s, 2, SYS_TEST_TWO_COPYINS, &args(&[0x1000, 0x2000]))
            .len(),
        1
    );
    assert_eq!(
        r.answer(&mut s, 0, &[5; 8 + 4096]).len(),
        1,
        "second COPYIN"
    );
    r.answer(&mut s, 1, &[5; 8 + 4097]);
    assert!(s.take_output(r.id).is_none_or(|o| o.close));
}
