//! A structured client session against the server core the production server
//! runs, with the simulated kernel behind it.
//!
//! Invariants: nothing panics; the server sends only valid server frames; a
//! reqno never gets more SYSCALL answers than SYSCALL requests were sent with
//! it (a syscall is answered at most once, and only if asked); nothing is
//! ever sent in reply to a COPYOUT; after every step each connection's memory
//! is within the limits (outstanding calls, client memory per call) and no
//! output is left queued unseen; when every connection is
//! closed, no process is left but the intermediates of unredeemed preforks,
//! and the kernel's invariants (its file data within the pool among them) hold.

use std::collections::{BTreeMap, VecDeque};

use arbitrary::{Arbitrary, Unstructured};
use rumpsp_protocol::server::{Accept, ConnId, SeededCookies, ServerCore, ServerLimits};
use rumpsp_protocol::{
    Abi, Banner, Class, CopyinKind, CopyinResp, ErrorCode, ErrorFrame, Frame, FrameDecoder,
    FrameLimits, Handshake, Header, Message, PreforkCookie, PreforkReq, SyscallReq,
};
use rumpsp_sim_kernel::SimKernel;

/// Syscalls worth reaching often (the fuzzer may also pick any number).
const SYSCALLS: &[u32] = &[
    3, 4, 5, 6, 10, 12, 20, 22, 41, 42, 54, 58, 90, 92, 120, 121, 128, 136, 137, 173, 174, 199,
    201, 202, 296, 390, 410, 427, 430, 439, 440, 453, 454, 468,
];

/// Pointer values worth using: the client model's buffers, NULL, junk.
const POINTERS: &[u64] = &[0x1000, 0x2000, 0x10_0000, 0, 0xdead_beef, u64::MAX];

/// How the client answers a memory request.
#[derive(Arbitrary, Debug, Clone)]
pub enum Reply {
    /// The right length, filled from these bytes.
    Right(Vec<u8>),
    /// One byte short.
    Short,
    /// Longer than asked.
    Long(u8),
    /// Empty.
    Empty,
    /// Not now (maybe later).
    Late,
    /// A RESP typed HANDSHAKE.
    WrongType,
    /// An ERROR frame instead of a RESP.
    ErrorFrame,
}

/// One thing the client does.
#[derive(Arbitrary, Debug, Clone)]
pub enum ClientOp {
    /// A new connection (at most 4 at once).
    Connect,
    /// Make another connection current.
    Switch(u8),
    /// GUEST handshake.
    Guest(Vec<u8>),
    /// EXEC handshake.
    Exec(Vec<u8>),
    /// Reserved AUTH handshake.
    Auth,
    /// A handshake of an unknown kind.
    OtherHandshake(u32),
    /// FORK handshake with a cookie the server gave (or a guess), maybe cancelled.
    Fork {
        /// Use a real cookie if there is one.
        real: bool,
        /// Cancel the fork.
        cancel: bool,
        /// The cookie to use when not real.
        guess: [u8; 16],
    },
    /// PREFORK.
    Prefork,
    /// A syscall: an index into the useful list or any number, and slot values.
    Syscall {
        /// Which syscall.
        which: u16,
        /// Any number instead.
        any: Option<u32>,
        /// Slots: small values are used as pointer indices.
        args: [u64; 5],
    },
    /// Answer the oldest memory request of this connection.
    Answer(Reply),
    /// A RESP for nothing.
    Unmatched(u64, Vec<u8>),
    /// Raw bytes.
    Raw(Vec<u8>),
    /// Close this connection.
    Disconnect,
    /// Let time pass (COPYIN and prefork expiry).
    Tick(u16),
}

struct ConnModel {
    id: ConnId,
    dec: FrameDecoder,
    /// Server memory requests not answered yet: (server reqno, kind, len).
    asks: VecDeque<(u64, MsgKind, u64)>,
    /// Every SYSCALL request sent (decoded from what the client wrote), by reqno.
    outstanding: BTreeMap<u64, u32>,
    /// Decodes what the client sends, to count its SYSCALL requests.
    sent: FrameDecoder,
    next_reqno: u64,
    closed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MsgKind {
    Bytes,
    Str,
    Mmap,
}

struct Harness {
    core: ServerCore<SimKernel>,
    conns: Vec<ConnModel>,
    current: usize,
    cookies: Vec<PreforkCookie>,
    splits: Vec<u8>,
    split_at: usize,
    now: u64,
}

impl Harness {
    fn send(&mut self, bytes: &[u8]) {
        let Some(c) = self.conns.get(self.current) else {
            return;
        };
        if c.closed {
            return;
        }
        let id = c.id;
        if let Some(c) = self.conns.get_mut(self.current) {
            c.sent.feed(bytes);
            while let Ok(Some(f)) = c.sent.next_frame() {
                if f.header.class == Class::Req.to_u16() && f.header.ty == 1 {
                    *c.outstanding.entry(f.header.reqno).or_default() += 1;
                }
            }
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = match self.splits.get(self.split_at) {
                Some(&s) => {
                    self.split_at += 1;
                    usize::from(s).max(1)
                }
                None => rest.len(),
            };
            let n = n.min(rest.len());
            self.core.receive(id, &rest[..n]);
            rest = &rest[n..];
            self.collect();
        }
        self.collect();
    }

    /// Reads every connection's output and checks it.
    fn collect(&mut self) {
        for (id, out) in self.core.drain() {
            let Some(c) = self.conns.iter_mut().find(|c| c.id == id) else {
                continue;
            };
            c.dec.feed(&out.bytes);
            while let Some(f) = c.dec.next_frame().expect("the server's stream frames") {
                let typed = f.frame(Abi::Lp64Le).expect("the server sends valid frames");
                match typed.message {
                    Message::SyscallResp(_) => {
                        let n = c.outstanding.get_mut(&f.header.reqno).filter(|n| **n > 0);
                        let n = n.unwrap_or_else(|| {
                            panic!(
                                "answer to a syscall not outstanding: reqno {}",
                                f.header.reqno
                            )
                        });
                        *n -= 1;
                    }
                    // An ERROR answers whatever request carried that reqno (possibly not a
                    // syscall), so it does not count as a syscall's answer.
                    Message::Error(_) => {}
                    Message::Copyin(r) => c.asks.push_back((
                        f.header.reqno,
                        if r.kind == CopyinKind::Str {
                            MsgKind::Str
                        } else {
                            MsgKind::Bytes
                        },
                        r.len,
                    )),
                    Message::Anonmmap(a) => {
                        c.asks.push_back((f.header.reqno, MsgKind::Mmap, a.len))
                    }
                    Message::HandshakeResp(_)
                    | Message::PreforkResp(_)
                    | Message::Copyout(_)
                    | Message::Raise(_) => {
                        if let Message::PreforkResp(p) = typed.message {
                            self.cookies.push(p.cookie);
                        }
                    }
                    other => panic!("the server sent a client frame: {other:?}"),
                }
            }
            if out.close {
                c.closed = true;
                self.core.disconnect(id);
            }
        }
    }

    /// Every open connection holds no more than the limits allow, and nothing
    /// the server queued was left unannounced by `drain`.
    fn check_usage(&self) {
        let lim = self.core.limits();
        for id in self.core.connections() {
            let Some(u) = self.core.usage(id) else {
                continue;
            };
            assert!(
                u.calls <= lim.max_outstanding,
                "{} calls outstanding",
                u.calls
            );
            assert!(
                u.largest_call_memory as u64 <= lim.max_call_memory,
                "a call holds {} bytes of client memory",
                u.largest_call_memory
            );
            assert_eq!(u.output_queued, 0, "output queued but not drained");
        }
    }

    fn frame(&mut self, f: Frame<'_>) {
        let bytes = f.to_vec(Abi::Lp64Le);
        self.send(&bytes);
    }

    fn apply(&mut self, op: ClientOp) {
        match op {
            ClientOp::Connect => {
                if self.conns.iter().filter(|c| !c.closed).count() < 4 {
                    if let Accept::Open(id) = self.core.accept() {
                        let mut dec = FrameDecoder::new(FrameLimits::unlimited());
                        let banner = self
                            .core
                            .take_output(id)
                            .map(|o| o.bytes)
                            .unwrap_or_default();
                        let n = rumpsp_protocol::banner::find_banner_line(&banner)
                            .ok()
                            .flatten()
                            .unwrap_or(0);
                        dec.feed(&banner[n..]);
                        self.conns.push(ConnModel {
                            id,
                            dec,
                            asks: VecDeque::new(),
                            outstanding: BTreeMap::new(),
                            sent: FrameDecoder::new(FrameLimits::unlimited()),
                            next_reqno: 1 << 40,
                            closed: false,
                        });
                        self.current = self.conns.len() - 1;
                    }
                }
            }
            ClientOp::Switch(i) => {
                if !self.conns.is_empty() {
                    self.current = usize::from(i) % self.conns.len();
                }
            }
            ClientOp::Guest(name) => self.frame(Frame::new(
                1,
                Message::Handshake(Handshake::Guest { name: &name }),
            )),
            ClientOp::Exec(name) => self.frame(Frame::new(
                2,
                Message::Handshake(Handshake::Exec { name: &name }),
            )),
            ClientOp::Auth => self.frame(Frame::new(
                3,
                Message::Handshake(Handshake::Auth { body: b"x\0" }),
            )),
            ClientOp::OtherHandshake(kind) => {
                let kind = kind | 4;
                self.frame(Frame::new(
                    4,
                    Message::Handshake(Handshake::Unknown { kind, body: b"" }),
                ))
            }
            ClientOp::Fork {
                real,
                cancel,
                guess,
            } => {
                let cookie = match (real, self.cookies.pop()) {
                    (true, Some(c)) => c,
                    _ => PreforkCookie(guess),
                };
                self.frame(Frame::new(
                    1,
                    Message::Handshake(Handshake::Fork {
                        cookie,
                        cancel: i32::from(cancel),
                    }),
                ));
            }
            ClientOp::Prefork => self.frame(Frame::new(5, Message::Prefork(PreforkReq::default()))),
            ClientOp::Syscall { which, any, args } => {
                let sysnum = any.unwrap_or(SYSCALLS[usize::from(which) % SYSCALLS.len()]);
                let block: Vec<u8> = args
                    .iter()
                    .flat_map(|&a| {
                        if a < POINTERS.len() as u64 * 2 && a >= POINTERS.len() as u64 {
                            POINTERS[(a as usize) % POINTERS.len()]
                        } else {
                            a
                        }
                        .to_le_bytes()
                    })
                    .collect();
                let Some(c) = self.conns.get_mut(self.current) else {
                    return;
                };
                if c.closed {
                    return;
                }
                let reqno = c.next_reqno;
                c.next_reqno += 1;
                self.frame(Frame::new(
                    reqno,
                    Message::Syscall(SyscallReq {
                        sysnum,
                        args: &block,
                    }),
                ));
            }
            ClientOp::Answer(reply) => {
                let Some(c) = self.conns.get_mut(self.current) else {
                    return;
                };
                if matches!(reply, Reply::Late) {
                    return;
                }
                let Some((reqno, kind, len)) = c.asks.pop_front() else {
                    return;
                };
                let len = len.min(1 << 16) as usize;
                let bytes = match (reply, kind) {
                    (_, MsgKind::Mmap) => Frame::new(
                        reqno,
                        Message::AnonmmapResp(rumpsp_protocol::AnonmmapResp {
                            addr: 0x7f00_0000_0000,
                        }),
                    )
                    .to_vec(Abi::Lp64Le),
                    (Reply::ErrorFrame, _) => Frame::new(
                        reqno,
                        Message::Error(ErrorFrame {
                            code: ErrorCode::Auth,
                        }),
                    )
                    .to_vec(Abi::Lp64Le),
                    (Reply::WrongType, _) => {
                        let mut v = Header {
                            len: 24 + 5,
                            reqno,
                            class: Class::Resp.to_u16(),
                            ty: 0,
                            word: 0,
                        }
                        .to_bytes()
                        .to_vec();
                        v.extend_from_slice(b"/tmp\0");
                        v
                    }
                    (r, k) => {
                        let data: Vec<u8> = match r {
                            Reply::Right(fill) if k == MsgKind::Str => {
                                let mut s: Vec<u8> = fill
                                    .into_iter()
                                    .filter(|b| *b != 0)
                                    .take(len.saturating_sub(1))
                                    .collect();
                                s.push(0);
                                s
                            }
                            Reply::Right(fill) => (0..len)
                                .map(|i| {
                                    if fill.is_empty() {
                                        0
                                    } else {
                                        fill[i % fill.len()]
                                    }
                                })
                                .collect(),
                            Reply::Short => vec![b'a'; len.saturating_sub(1)],
                            Reply::Long(extra) => vec![b'b'; len + usize::from(extra) + 1],
                            _ => vec![],
                        };
                        Frame::new(
                            reqno,
                            Message::CopyinResp(CopyinResp {
                                label: CopyinKind::Bytes,
                                data: &data,
                            }),
                        )
                        .to_vec(Abi::Lp64Le)
                    }
                };
                self.send(&bytes);
            }
            ClientOp::Unmatched(reqno, data) => self.frame(Frame::new(
                reqno,
                Message::CopyinResp(CopyinResp {
                    label: CopyinKind::Bytes,
                    data: &data,
                }),
            )),
            ClientOp::Raw(bytes) => self.send(&bytes),
            ClientOp::Disconnect => {
                if let Some(c) = self.conns.get_mut(self.current) {
                    if !c.closed {
                        c.closed = true;
                        self.core.disconnect(c.id);
                        self.collect();
                    }
                }
            }
            ClientOp::Tick(ms) => {
                self.now += u64::from(ms) * 10;
                self.core.set_time(self.now);
                self.core.expire_waits(2_000);
                self.core.expire_preforks();
                self.core.expire_handshakes();
                self.collect();
            }
        }
    }
}

/// Limits small enough that the fuzzer crosses them.
fn limits() -> ServerLimits {
    ServerLimits {
        frame: FrameLimits {
            max_frame_len: 1 << 20,
            max_handshake_body: 256,
            max_syscall_body: 128,
            max_data_body: 1 << 20,
            max_control_body: 64,
        },
        max_connections: 4,
        max_outstanding: 8,
        max_preforks: 4,
        prefork_ttl_ms: 5_000,
        max_call_memory: 16 << 10,
        max_pending_output: 1 << 20,
        output_pause: 64 << 10,
        max_answer: 8 << 10,
        handshake_deadline_ms: 2_000,
        max_startups: 2,
        max_preforks_per_conn: 2,
        max_buffered_total: 48 << 10,
    }
}

/// The target. An input starting with `RAW\n` is a recorded client byte
/// stream (the seeds made from the traces): its frames are sent one by one.
pub fn run(input: &[u8]) {
    if let Some(stream) = input.strip_prefix(b"RAW\n") {
        return run_raw(stream);
    }
    let mut u = Unstructured::new(input);
    let Ok(ops) = Vec::<ClientOp>::arbitrary(&mut u) else {
        return;
    };
    let splits = u.take_rest().to_vec();
    let Some(mut h) = Harness::new(splits) else {
        return;
    };
    h.apply(ClientOp::Connect);
    for op in ops.into_iter().take(256) {
        h.apply(op);
        h.check_usage();
        if h.core.shutting_down() {
            break;
        }
    }
    // close everything
    let ids: Vec<ConnId> = h.core.connections().collect();
    for id in ids {
        h.core.disconnect(id);
    }
    assert_eq!(h.core.connection_count(), 0);
    finish(&mut h);
}

/// The bug named by `RUMPSP_INJECT_BUG` (read once; unset or unknown: none), so that
/// `ci/fuzz-bugs.sh` can measure how fast this target finds each injected bug.
fn injected_bug() -> Option<rumpsp_protocol::server::inject::InjectedBug> {
    static BUG: std::sync::OnceLock<Option<rumpsp_protocol::server::inject::InjectedBug>> =
        std::sync::OnceLock::new();
    *BUG.get_or_init(|| std::env::var("RUMPSP_INJECT_BUG").ok()?.parse().ok())
}

impl Harness {
    /// A fresh server (booted kernel, fuzzing limits, cookies from seed 7) and no connections.
    fn new(splits: Vec<u8>) -> Option<Harness> {
        let mut core = ServerCore::new(
            crate::booted(),
            limits(),
            &Banner::default(),
            Box::new(SeededCookies::new(7)),
        )
        .ok()?;
        core.set_injected_bug(injected_bug());
        Some(Harness {
            core,
            conns: Vec::new(),
            current: 0,
            cookies: Vec::new(),
            splits,
            split_at: 0,
            now: 0,
        })
    }
}

fn run_raw(stream: &[u8]) {
    let Some(mut h) = Harness::new(Vec::new()) else {
        return;
    };
    h.apply(ClientOp::Connect);
    let (frames, rest) = rumpsp_protocol::frame_all(stream, FrameLimits::unlimited());
    for f in frames.iter().take(512) {
        h.send(&f.to_vec());
        h.check_usage();
    }
    let _ = rest;
    let ids: Vec<ConnId> = h.core.connections().collect();
    for id in ids {
        h.core.disconnect(id);
    }
    finish(&mut h);
}

/// The operations an input decodes to (for reading a crash reproducer).
pub fn describe(input: &[u8]) -> String {
    let mut u = Unstructured::new(input);
    format!("{:#?}", Vec::<ClientOp>::arbitrary(&mut u))
}

/// After every connection closed: once unredeemed preforks expire, nothing is
/// left but init, and the kernel's invariants hold.
fn finish(h: &mut Harness) {
    let procs = h.core.kernel().t.procs.len();
    assert_eq!(
        procs,
        1 + h.core.prefork_count(),
        "processes left behind: {procs}"
    );
    h.now += limits().prefork_ttl_ms + 1;
    h.core.set_time(h.now);
    h.core.expire_preforks();
    assert_eq!(h.core.prefork_count(), 0, "a prefork outlived its TTL");
    assert_eq!(
        h.core.kernel().t.procs.len(),
        1,
        "processes left behind after the preforks expired"
    );
    let k = h.core.kernel();
    assert!(
        k.t.files.is_empty() && k.t.pipes.is_empty(),
        "open files or pipes left behind"
    );
    k.check_invariants()
        .unwrap_or_else(|e| panic!("kernel invariant: {e}"));
}
