//! Hostile input against the production [`ServerCore`] driving the simulated
//! kernel: the limits that protect the server from one peer (issue 15).

use std::collections::BTreeMap;

use rumpsp_protocol::decoder::frame_all;
use rumpsp_protocol::server::{Accept, ConnId, SeededCookies, ServerCore, ServerLimits};
use rumpsp_protocol::*;
use rumpsp_sim_kernel::SimKernel;

const SYS_OPEN: u32 = 5;
const SYS_PREAD: u32 = 173;
const SYS_FTRUNCATE: u32 = 201;
const SYS_GETPID: u32 = 20;

fn core(limits: ServerLimits) -> ServerCore<SimKernel> {
    ServerCore::new(
        SimKernel::default(),
        limits,
        &Banner::default(),
        Box::new(SeededCookies::new(1)),
    )
    .unwrap()
}

fn args(slots: &[u64]) -> Vec<u8> {
    slots.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn syscall(reqno: u64, sysnum: u32, a: &[u64]) -> Vec<u8> {
    let a = args(a);
    Frame::new(reqno, Message::Syscall(SyscallReq { sysnum, args: &a })).to_vec(Abi::Lp64Le)
}

/// A client whose memory holds the strings the server asks for.
struct Client {
    id: ConnId,
    mem: BTreeMap<u64, Vec<u8>>,
}

impl Client {
    fn connect(s: &mut ServerCore<SimKernel>) -> Client {
        let Accept::Open(id) = s.accept() else {
            panic!("refused")
        };
        let c = Client {
            id,
            mem: BTreeMap::new(),
        };
        let hs = Frame::new(
            1,
            Message::Handshake(Handshake::Guest { name: b"attack\0" }),
        )
        .to_vec(Abi::Lp64Le);
        s.receive(id, &hs);
        s.take_output(id);
        c
    }

    /// Sends `bytes` and answers every COPYIN from memory until the response to
    /// `want` arrives; returns its (error, retval0).
    fn call(&mut self, s: &mut ServerCore<SimKernel>, bytes: &[u8], want: u64) -> (i32, i64) {
        s.receive(self.id, bytes);
        loop {
            let out = s.take_output(self.id).unwrap().bytes;
            let (frames, err) = frame_all(&out, Default::default());
            assert!(err.is_none());
            let mut answered = false;
            for f in &frames {
                match f.frame(Abi::Lp64Le).unwrap().message {
                    Message::SyscallResp(r) if f.header.reqno == want => {
                        return (r.error, r.retval[0])
                    }
                    Message::Copyin(req) => {
                        let data = self.mem[&req.addr].clone();
                        let resp = Frame::new(
                            f.header.reqno,
                            Message::CopyinResp(CopyinResp {
                                label: req.kind,
                                data: &data,
                            }),
                        )
                        .to_vec(Abi::Lp64Le);
                        s.receive(self.id, &resp);
                        answered = true;
                    }
                    _ => {}
                }
            }
            assert!(answered, "no answer to {want}");
        }
    }
}

/// The 2.5 KB amplification input: a file truncated to 100 MiB, then 40
/// pread(fd, buf, 2^40) in one write, never reading what comes back.
#[test]
fn amplification_input_keeps_queued_output_under_the_limit() {
    let limits = ServerLimits::default();
    let mut s = core(limits);
    let mut c = Client::connect(&mut s);
    c.mem.insert(0x1000, b"/amp\0".to_vec());
    let open = syscall(2, SYS_OPEN, &[0x1000, 0x202, 0o644]);
    let (e, fd) = c.call(&mut s, &open, 2);
    assert_eq!(e, 0);
    let trunc = syscall(3, SYS_FTRUNCATE, &[fd as u64, 0, 100 << 20]);
    assert_eq!(c.call(&mut s, &trunc, 3), (0, 0));
    let mut attack = Vec::new();
    for i in 0..40 {
        attack.extend(syscall(
            10 + i,
            SYS_PREAD,
            &[fd as u64, 0x10_0000, 1 << 40, 0, 0],
        ));
    }
    assert!(attack.len() <= 2600, "{} bytes", attack.len());
    s.receive(c.id, &attack);
    let u = s.usage(c.id).unwrap();
    let bound = limits.output_pause + limits.max_answer as usize + 4096;
    assert!(u.output_queued <= bound, "{} queued", u.output_queued);
    assert!(u.input_buffered > 0, "the rest of the input stays buffered");
    assert!(s.input_paused(c.id));
    // Nothing is read by the client (its writer holds what was taken): no more frames run.
    let taken = s.take_output(c.id).unwrap().bytes;
    let first = frame_all(&taken, Default::default()).0;
    assert_eq!(first.len(), 2, "one COPYOUT and its pread's answer");
    s.set_backlog(c.id, taken.len());
    s.receive(c.id, &[]);
    assert_eq!(s.usage(c.id).unwrap().output_queued, 0);
    // A well-behaved client is still served at once.
    let mut other = Client::connect(&mut s);
    assert_eq!(other.call(&mut s, &syscall(2, SYS_GETPID, &[]), 2).0, 0);
    // The client reads: every pread is answered, each with at most max_answer bytes.
    let mut answered = 1;
    s.output_written(c.id, 0);
    for _ in 0..100 {
        let out = s.take_output(c.id).unwrap().bytes;
        assert!(out.len() <= bound);
        let (frames, _) = frame_all(&out, Default::default());
        for f in &frames {
            if let Message::SyscallResp(r) = f.frame(Abi::Lp64Le).unwrap().message {
                assert_eq!((r.error, r.retval[0]), (0, limits.max_answer as i64));
                answered += 1;
            }
        }
        s.output_written(c.id, 0);
        if answered == 40 {
            break;
        }
    }
    assert_eq!(answered, 40);
}

/// Counts within the answer limit are not touched; counts past SSIZE_MAX still get EINVAL.
#[test]
fn read_counts_below_the_answer_limit_and_above_ssize_max_are_kept() {
    let limits = ServerLimits {
        max_answer: 1000,
        ..Default::default()
    };
    let mut s = core(limits);
    let mut c = Client::connect(&mut s);
    c.mem.insert(0x1000, b"/f\0".to_vec());
    let (_, fd) = c.call(&mut s, &syscall(2, SYS_OPEN, &[0x1000, 0x202, 0o644]), 2);
    let trunc = syscall(3, SYS_FTRUNCATE, &[fd as u64, 0, 5000]);
    assert_eq!(c.call(&mut s, &trunc, 3), (0, 0));
    let pread = |r, n| syscall(r, SYS_PREAD, &[fd as u64, 0x2000, n, 0, 0]);
    assert_eq!(c.call(&mut s, &pread(4, 999), 4), (0, 999));
    assert_eq!(c.call(&mut s, &pread(5, 1000), 5), (0, 1000));
    assert_eq!(c.call(&mut s, &pread(6, 1001), 6), (0, 1000));
    assert_eq!(c.call(&mut s, &pread(7, 1 << 63), 7).0, 22);
}
