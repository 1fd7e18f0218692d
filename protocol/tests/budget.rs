//! The server-wide memory budget (`ServerLimits::max_buffered_total`): client
//! memory reserved by calls, large requests and unwritten output all count
//! against it, and crossing it fails or drops only the connection that
//! would grow it.

mod common;

use common::*;
use rumpsp_protocol::server::{ServerCore, ServerLimits};
use rumpsp_protocol::*;

const ENOMEM: i32 = 12;

fn ready(s: &mut ServerCore<TestKernel>) -> Peer {
    let mut p = Peer::connect(s);
    assert_eq!(p.guest(s, 1, b"test\0"), [Got::HandshakeOk(1)]);
    p
}

fn copyin(reqno: u64, len: u64) -> Got {
    Got::Copyin {
        reqno,
        str: false,
        len,
        addr: 0x2000,
    }
}

fn header(len: u64, reqno: u64, class: u16, ty: u16, word: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend(len.to_le_bytes());
    h.extend(reqno.to_le_bytes());
    h.extend(class.to_le_bytes());
    h.extend(ty.to_le_bytes());
    h.extend(word.to_le_bytes());
    h
}

#[test]
fn call_memory_past_the_server_budget_fails_with_enomem_until_it_is_returned() {
    let mut s = server(ServerLimits {
        max_buffered_total: 1 << 20,
        ..Default::default()
    });
    let mut p = ready(&mut s);
    let mut q = ready(&mut s);
    let big = args(&[3, 0x2000, 600_000]);
    assert_eq!(p.syscall(&mut s, 2, SYS_WRITE, &big), [copyin(0, 600_000)]);
    assert!(s.buffered_total() >= 600_000, "reserved while unanswered");
    // another connection's call does not fit: ENOMEM, no COPYIN sent
    assert_eq!(q.syscall(&mut s, 2, SYS_WRITE, &big), [errno(2, ENOMEM)]);
    // a smaller one still does
    let small = args(&[3, 0x2000, 1000]);
    assert_eq!(q.syscall(&mut s, 3, SYS_WRITE, &small), [copyin(0, 1000)]);
    assert_eq!(q.answer(&mut s, 0, &[1; 1000]), [ok(3, 1000, 0)]);
    // the first call done, its reservation is returned
    assert_eq!(p.answer(&mut s, 0, &vec![0; 600_000]), [ok(2, 600_000, 0)]);
    assert!(s.buffered_total() < 1000, "{}", s.buffered_total());
    assert_eq!(q.syscall(&mut s, 4, SYS_WRITE, &big), [copyin(1, 600_000)]);
    // a disconnect returns what its calls reserved
    s.disconnect(q.id);
    assert!(s.buffered_total() < 1000, "{}", s.buffered_total());
    assert_eq!(p.syscall(&mut s, 5, SYS_WRITE, &big), [copyin(1, 600_000)]);
}

#[test]
fn a_large_request_past_the_budget_closes_its_connection_before_the_body() {
    // an 8000-byte GUEST name is a legal handshake, but not past a 4 KiB budget
    let mut h = header(24 + 8000, 1, 0, 0, 0);
    h.extend([b'n'; 100]);
    let mut s = server(ServerLimits {
        max_buffered_total: 4096,
        ..Default::default()
    });
    let mut p = Peer::connect(&mut s);
    p.send_raw(&mut s, &h);
    assert_eq!(
        p.recv(&mut s),
        [Got::Error {
            reqno: 1,
            code: ErrorCode::NoMem
        }]
    );
    assert!(p.closed);
    // with the default budget it is buffered as it comes
    let mut s = server(ServerLimits::default());
    let mut p = Peer::connect(&mut s);
    p.send_raw(&mut s, &h);
    assert_eq!(p.recv(&mut s), []);
    assert!(!p.closed);
    assert_eq!(s.usage(p.id).unwrap().input_buffered, h.len());
}

#[test]
fn large_requests_of_types_only_a_server_sends_are_refused_before_their_body() {
    // COPYOUT and COPYOUTSTR requests may carry 64 MiB by the frame limits
    // (a client receives them): from a client, one over a control body is
    // refused at its header. The other types are over their frame limit
    // and closed by the decoder without an ERROR frame, as the reference does.
    for ty in [2u16, 3, 4, 5, 6, 8, 42] {
        let mut s = server(ServerLimits::default());
        let mut p = ready(&mut s);
        let mut h = header((64 << 20) - 40, 9, 0, ty, 0);
        h.extend([0; 10]);
        p.send_raw(&mut s, &h);
        let want = if ty == 4 || ty == 5 {
            vec![Got::Error {
                reqno: 9,
                code: ErrorCode::MalformedRequest,
            }]
        } else {
            vec![]
        };
        assert_eq!(p.recv(&mut s), want, "type {ty}");
        assert!(p.closed, "type {ty}");
    }
    // a small one is answered MALFORMED and the connection kept, as before
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    let mut f = header(24 + 8, 9, 0, 4, 0);
    f.extend([0; 8]);
    p.send_raw(&mut s, &f);
    assert_eq!(
        p.recv(&mut s),
        [Got::Error {
            reqno: 9,
            code: ErrorCode::MalformedRequest
        }]
    );
    assert_eq!(p.syscall(&mut s, 10, SYS_GETPID, &[]), [ok(10, 2, 1)]);
}

#[test]
fn over_the_budget_only_a_connection_not_reading_its_output_is_named() {
    let mut s = server(ServerLimits {
        max_buffered_total: 64 << 10,
        output_pause: 1024,
        ..Default::default()
    });
    let p = ready(&mut s);
    let q = ready(&mut s);
    s.set_backlog(q.id, 100);
    s.set_backlog(p.id, 40 << 10);
    assert!(!s.output_over_budget(p.id), "under the budget");
    s.set_backlog(p.id, 100 << 10);
    assert!(s.buffered_total() >= 100 << 10);
    assert!(s.output_over_budget(p.id), "over it, with 100 KiB unread");
    assert!(!s.output_over_budget(q.id), "a reader is left alone");
    s.disconnect(p.id);
    assert!(s.buffered_total() < 1024, "{}", s.buffered_total());
    s.set_backlog(q.id, 2048);
    assert!(!s.output_over_budget(q.id));
}

#[test]
fn a_large_answer_asked_for_gets_its_whole_buffer_when_its_header_arrives() {
    let mut s = server(ServerLimits::default());
    let mut p = ready(&mut s);
    let n = 8u64 << 20;
    let w = args(&[3, 0x2000, n]);
    assert_eq!(p.syscall(&mut s, 2, SYS_WRITE, &w), [copyin(0, n)]);
    let mut h = header(24 + n, 0, 1, 2, 0);
    h.extend([1; 100]);
    p.send_raw(&mut s, &h);
    let u = s.usage(p.id).unwrap();
    assert!(u.input_capacity >= 24 + n as usize, "{u:?}");
    // an answer nobody asked for is not given room (it closes the connection)
    let mut q = ready(&mut s);
    q.send_raw(&mut s, &header(24 + n, 5, 1, 2, 0));
    assert!(s.usage(q.id).unwrap().input_capacity < 1 << 20);
    assert_eq!(q.recv(&mut s), []);
    assert!(q.closed);
}
