//! [`ClientSession`]: request numbering, call buffers and the handling of
//! server frames.

use std::collections::BTreeMap;

use crate::abi::Abi;
use crate::codes::{ErrorCode, HandshakeKind};
use crate::decoder::RawFrame;
use crate::frame::{
    AnonmmapResp, CopyinKind, CopyinResp, Frame, Handshake, Message, PreforkCookie, PreforkReq,
    SyscallReq,
};

/// One syscall argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// An `int`-sized value.
    Int(i32),
    /// A full-slot value (size_t, off_t, a raw pointer).
    Word(u64),
    /// A NULL pointer.
    Null,
    /// A buffer the kernel reads (COPYIN).
    In(Vec<u8>),
    /// A NUL-terminated string the kernel reads (COPYINSTR); the NUL is added.
    Str(Vec<u8>),
    /// A buffer of this many bytes the kernel writes (COPYOUT).
    Out(usize),
    /// A buffer the kernel reads and writes.
    InOut(Vec<u8>),
    /// An iovec array: each buffer is exposed (writable ones for readv), and the
    /// argument points at the array of {base, len} pairs.
    IoVec(Vec<(Vec<u8>, bool)>),
}

/// Identifies a call: its request number.
pub type CallId = u64;

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// A SYSCALL answer: NetBSD errno (0 = success), return values, and the
    /// final contents of every `Out`/`InOut` argument in argument order.
    Syscall {
        /// 0 or a NetBSD errno.
        errno: i32,
        /// The two return values.
        retval: [i64; 2],
        /// Contents of the writable buffers, in argument order.
        buffers: Vec<Vec<u8>>,
    },
    /// A handshake answer (its error value; 0 = success).
    Handshake(i32),
    /// A PREFORK answer.
    Prefork(PreforkCookie),
    /// An ERROR frame.
    Protocol(ErrorCode),
}

/// A server frame the session cannot accept: the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// A frame whose class or type a server never sends, or a malformed body.
    #[error("server sent an invalid frame: {0}")]
    Invalid(String),
}

#[derive(Debug)]
struct Region {
    data: Vec<u8>,
    writable: bool,
}

#[derive(Debug)]
enum Pending {
    Syscall {
        regions: Vec<u64>,
        writable: Vec<u64>,
    },
    Handshake,
    Prefork,
}

/// Largest request outside every buffer still answered with zeros.
pub const MAX_STRAY: u64 = 64 * 1024;

/// Base of the address range call buffers live in.
const BASE: u64 = 0x0000_6000_0000_0000;
/// Size of that range (addresses wrap within it).
const SPAN: u64 = 1 << 40;

/// The client side of one connection.
#[derive(Debug)]
pub struct ClientSession {
    abi: Abi,
    next_reqno: u64,
    next_addr: u64,
    pending: BTreeMap<CallId, Pending>,
    regions: BTreeMap<u64, Region>,
    mappings: BTreeMap<u64, Vec<u8>>,
    mapped_bytes: u64,
    done: BTreeMap<CallId, CallOutcome>,
    out: Vec<u8>,
    /// Signals the server asked this process to raise (NetBSD numbers), oldest first.
    pub signals: Vec<u32>,
    /// Memory requests for addresses no call exposed (answered with zeros).
    pub stray: u64,
    /// Most bytes of anonymous mappings the server may make this client hold.
    pub max_mapped: u64,
}

impl Default for ClientSession {
    fn default() -> Self {
        ClientSession::new(1)
    }
}

impl ClientSession {
    /// A session whose first request number is `first_reqno` (the C client uses 1
    /// on a fresh connection and 0 after exec).
    pub fn new(first_reqno: u64) -> ClientSession {
        ClientSession {
            abi: Abi::Lp64Le,
            next_reqno: first_reqno,
            next_addr: 0,
            pending: BTreeMap::new(),
            regions: BTreeMap::new(),
            mappings: BTreeMap::new(),
            mapped_bytes: 0,
            done: BTreeMap::new(),
            out: Vec::new(),
            signals: Vec::new(),
            stray: 0,
            max_mapped: 64 << 20,
        }
    }

    fn take_reqno(&mut self) -> CallId {
        let r = self.next_reqno;
        self.next_reqno = r.wrapping_add(1);
        r
    }

    /// A fresh, page-aligned address range of `len` bytes that no live buffer uses.
    fn alloc(&mut self, len: usize) -> u64 {
        let size = (len as u64).max(1).div_ceil(4096) * 4096 + 4096;
        loop {
            let addr = BASE + self.next_addr;
            self.next_addr = (self.next_addr + size) % SPAN;
            let end = addr + size;
            let clash = self
                .regions
                .range(..end)
                .next_back()
                .is_some_and(|(a, r)| a + r.data.len() as u64 > addr);
            if !clash {
                return addr;
            }
        }
    }

    /// Starts a handshake (GUEST or EXEC with a program name, or FORK with a cookie).
    pub fn handshake(
        &mut self,
        kind: HandshakeKind,
        name: &[u8],
        cookie: Option<PreforkCookie>,
    ) -> CallId {
        let reqno = self.take_reqno();
        let mut body = name.to_vec();
        body.push(0);
        let msg = match (kind, cookie) {
            (HandshakeKind::Fork, Some(cookie)) => Handshake::Fork { cookie, cancel: 0 },
            (HandshakeKind::Exec, _) => Handshake::Exec { name: &body },
            _ => Handshake::Guest { name: &body },
        };
        Frame::new(reqno, Message::Handshake(msg)).encode(self.abi, &mut self.out);
        self.pending.insert(reqno, Pending::Handshake);
        reqno
    }

    /// Starts a PREFORK.
    pub fn prefork(&mut self) -> CallId {
        let reqno = self.take_reqno();
        Frame::new(reqno, Message::Prefork(PreforkReq::default())).encode(self.abi, &mut self.out);
        self.pending.insert(reqno, Pending::Prefork);
        reqno
    }

    /// Starts a syscall: lays out the buffers, builds the argument block (one
    /// slot per argument) and queues the request.
    pub fn syscall(&mut self, sysnum: u32, args: Vec<Arg>) -> CallId {
        let reqno = self.take_reqno();
        let mut block = crate::args::ArgsBuilder::new(args.len(), self.abi);
        let mut regions = Vec::new();
        let mut writable = Vec::new();
        for (i, a) in args.into_iter().enumerate() {
            let (data, w) = match a {
                Arg::Int(v) => {
                    block = block.int(i, v);
                    continue;
                }
                Arg::Word(v) => {
                    block = block.word(i, v);
                    continue;
                }
                Arg::Null => {
                    block = block.word(i, 0);
                    continue;
                }
                Arg::In(d) => (d, false),
                Arg::Str(mut s) => {
                    s.push(0);
                    (s, false)
                }
                Arg::Out(n) => (vec![0; n], true),
                Arg::InOut(d) => (d, true),
                Arg::IoVec(items) => {
                    let mut iov = Vec::with_capacity(16 * items.len());
                    for (data, w) in items {
                        let len = data.len() as u64;
                        let addr = self.alloc(data.len());
                        regions.push(addr);
                        if w {
                            writable.push(addr);
                        }
                        self.regions.insert(addr, Region { data, writable: w });
                        iov.extend_from_slice(&addr.to_le_bytes());
                        iov.extend_from_slice(&len.to_le_bytes());
                    }
                    (iov, false)
                }
            };
            let addr = self.alloc(data.len());
            block = block.ptr(i, addr);
            regions.push(addr);
            if w {
                writable.push(addr);
            }
            self.regions.insert(addr, Region { data, writable: w });
        }
        let block = block.build();
        Frame::new(
            reqno,
            Message::Syscall(SyscallReq {
                sysnum,
                args: &block,
            }),
        )
        .encode(self.abi, &mut self.out);
        self.pending
            .insert(reqno, Pending::Syscall { regions, writable });
        reqno
    }

    /// Bytes to send, in order.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// The outcome of a finished call (once).
    pub fn take_outcome(&mut self, id: CallId) -> Option<CallOutcome> {
        self.done.remove(&id)
    }

    /// Calls still waiting for an answer.
    pub fn outstanding(&self) -> usize {
        self.pending.len()
    }

    /// Forgets every outstanding call (the connection is gone).
    pub fn abandon_all(&mut self) -> Vec<CallId> {
        let ids: Vec<CallId> = self.pending.keys().copied().collect();
        self.pending.clear();
        self.regions.clear();
        ids
    }

    /// The buffer containing [addr, addr+len), if a live call exposes one.
    fn find(&self, addr: u64, len: u64) -> Option<(u64, usize)> {
        let (base, r) = self.regions.range(..=addr).next_back()?;
        let off = (addr - base) as usize;
        let end = off.checked_add(usize::try_from(len).ok()?)?;
        (end <= r.data.len()).then_some((*base, off))
    }

    /// Handles one frame from the server, in stream order.
    pub fn receive(&mut self, f: &RawFrame) -> Result<(), SessionError> {
        let typed = f
            .frame(self.abi)
            .map_err(|e| SessionError::Invalid(e.to_string()))?;
        match typed.message {
            Message::Copyin(req) => {
                let data = self.read_memory(req.kind, req.addr, req.len)?;
                Frame::new(
                    f.header.reqno,
                    Message::CopyinResp(CopyinResp {
                        label: CopyinKind::Bytes,
                        data: &data,
                    }),
                )
                .encode(self.abi, &mut self.out);
            }
            Message::Copyout(c) => match self.find(c.addr, c.data.len() as u64) {
                Some((base, off)) if self.regions.get(&base).is_some_and(|r| r.writable) => {
                    if let Some(r) = self.regions.get_mut(&base) {
                        r.data[off..off + c.data.len()].copy_from_slice(c.data);
                    }
                }
                _ => match self.mappings.range_mut(..=c.addr).next_back() {
                    Some((base, m)) if c.addr - base + c.data.len() as u64 <= m.len() as u64 => {
                        let off = (c.addr - base) as usize;
                        m[off..off + c.data.len()].copy_from_slice(c.data);
                    }
                    _ => self.stray += 1,
                },
            },
            Message::Anonmmap(a) => {
                let addr =
                    if a.len == 0 || self.mapped_bytes.saturating_add(a.len) > self.max_mapped {
                        0
                    } else {
                        let addr = self.alloc(a.len as usize);
                        self.mapped_bytes += a.len;
                        self.mappings.insert(addr, vec![0; a.len as usize]);
                        addr
                    };
                Frame::new(f.header.reqno, Message::AnonmmapResp(AnonmmapResp { addr }))
                    .encode(self.abi, &mut self.out);
            }
            Message::Raise(r) => self.signals.push(r.signo),
            Message::SyscallResp(r) => {
                if let Some(Pending::Syscall { regions, writable }) =
                    self.remove_pending(f.header.reqno)
                {
                    let mut buffers = Vec::new();
                    for addr in regions {
                        if let Some(reg) = self.regions.remove(&addr) {
                            if writable.contains(&addr) {
                                buffers.push(reg.data);
                            }
                        }
                    }
                    self.done.insert(
                        f.header.reqno,
                        CallOutcome::Syscall {
                            errno: r.error,
                            retval: r.retval,
                            buffers,
                        },
                    );
                }
            }
            Message::HandshakeResp(r) => {
                if self.remove_pending(f.header.reqno).is_some() {
                    self.done
                        .insert(f.header.reqno, CallOutcome::Handshake(r.error));
                }
            }
            Message::PreforkResp(p) => {
                if self.remove_pending(f.header.reqno).is_some() {
                    self.done
                        .insert(f.header.reqno, CallOutcome::Prefork(p.cookie));
                }
            }
            Message::Error(e) => {
                // an ERROR for nothing we asked is dropped, like an unmatched RESP
                if let Some(p) = self.remove_pending(f.header.reqno) {
                    if let Pending::Syscall { regions, .. } = p {
                        for a in regions {
                            self.regions.remove(&a);
                        }
                    }
                    self.done
                        .insert(f.header.reqno, CallOutcome::Protocol(e.code));
                }
            }
            other => {
                return Err(SessionError::Invalid(format!(
                    "a server never sends {:?}",
                    other.msg_type()
                )))
            }
        }
        Ok(())
    }

    fn remove_pending(&mut self, reqno: u64) -> Option<Pending> {
        self.pending.remove(&reqno)
    }

    /// The bytes a COPYIN/COPYINSTR asks for. A request for memory no call
    /// exposes is answered with zeros up to [`MAX_STRAY`] bytes; a larger one is
    /// a protocol violation (a real server never asks for it).
    fn read_memory(
        &mut self,
        kind: CopyinKind,
        addr: u64,
        len: u64,
    ) -> Result<Vec<u8>, SessionError> {
        let cap = len.min(64 << 20) as usize;
        let from = |data: &[u8]| -> Vec<u8> {
            match kind {
                CopyinKind::Bytes => data[..cap.min(data.len())].to_vec(),
                CopyinKind::Str => {
                    let n = data
                        .iter()
                        .position(|&b| b == 0)
                        .map_or(data.len(), |i| i + 1);
                    data[..n.min(cap)].to_vec()
                }
            }
        };
        // a COPYINSTR may ask for more than the buffer holds: only the string matters
        let probe = if kind == CopyinKind::Str { 1 } else { len };
        if let Some((base, off)) = self.find(addr, probe) {
            if let Some(r) = self.regions.get(&base) {
                let d = from(&r.data[off..]);
                if kind == CopyinKind::Str || d.len() as u64 == len {
                    return Ok(d);
                }
            }
        }
        if let Some((base, m)) = self.mappings.range(..=addr).next_back() {
            let off = (addr - base) as usize;
            if off < m.len() {
                let d = from(&m[off..]);
                if kind == CopyinKind::Str || d.len() as u64 == len {
                    return Ok(d);
                }
            }
        }
        self.stray += 1;
        match kind {
            CopyinKind::Bytes if len > MAX_STRAY => Err(SessionError::Invalid(format!(
                "the server asked for {len} bytes at {addr:#x}, outside every buffer of this client"
            ))),
            CopyinKind::Bytes => Ok(vec![0; cap]),
            CopyinKind::Str => Ok(vec![0]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoder::frame_all;
    use crate::frame::{CopyinReq, CopyoutKind, CopyoutReq, Raise, SyscallResp};
    use crate::limits::FrameLimits;

    fn raw(f: Frame<'_>) -> RawFrame {
        frame_all(&f.to_vec(Abi::Lp64Le), FrameLimits::unlimited())
            .0
            .remove(0)
    }

    fn sent(s: &mut ClientSession) -> Vec<RawFrame> {
        frame_all(&s.take_output(), FrameLimits::unlimited()).0
    }

    #[test]
    fn a_write_answers_its_copyin_from_its_own_buffer() {
        let mut s = ClientSession::default();
        let id = s.syscall(
            4,
            vec![Arg::Int(3), Arg::In(b"hello".to_vec()), Arg::Word(5)],
        );
        let req = sent(&mut s).remove(0);
        assert_eq!(req.header.word, 4);
        assert_eq!(req.body.len(), 24, "three slots");
        let addr = u64::from_le_bytes(req.body[8..16].try_into().unwrap());
        s.receive(&raw(Frame::new(
            0,
            Message::Copyin(CopyinReq {
                kind: CopyinKind::Bytes,
                len: 5,
                addr,
            }),
        )))
        .unwrap();
        let answer = sent(&mut s).remove(0);
        assert_eq!(answer.header.reqno, 0);
        assert_eq!(&answer.body[..], b"hello");
        s.receive(&raw(Frame::new(
            id,
            Message::SyscallResp(SyscallResp::ok(5, 0)),
        )))
        .unwrap();
        assert_eq!(
            s.take_outcome(id),
            Some(CallOutcome::Syscall {
                errno: 0,
                retval: [5, 0],
                buffers: vec![]
            })
        );
        assert_eq!(s.stray, 0);
    }

    #[test]
    fn copyouts_land_in_out_buffers_and_raise_is_recorded() {
        let mut s = ClientSession::default();
        let id = s.syscall(3, vec![Arg::Int(3), Arg::Out(8), Arg::Word(8)]);
        let req = sent(&mut s).remove(0);
        let addr = u64::from_le_bytes(req.body[8..16].try_into().unwrap());
        s.receive(&raw(Frame::new(
            0,
            Message::Copyout(CopyoutReq {
                kind: CopyoutKind::Bytes,
                addr: addr + 2,
                data: b"abc",
            }),
        )))
        .unwrap();
        s.receive(&raw(Frame::new(0, Message::Raise(Raise { signo: 13 }))))
            .unwrap();
        s.receive(&raw(Frame::new(
            id,
            Message::SyscallResp(SyscallResp::ok(3, 0)),
        )))
        .unwrap();
        assert_eq!(s.signals, [13]);
        assert_eq!(
            s.take_outcome(id),
            Some(CallOutcome::Syscall {
                errno: 0,
                retval: [3, 0],
                buffers: vec![vec![0, 0, b'a', b'b', b'c', 0, 0, 0]]
            })
        );
    }

    #[test]
    fn requests_outside_every_buffer_get_zeros_and_are_counted() {
        let mut s = ClientSession::default();
        s.receive(&raw(Frame::new(
            7,
            Message::Copyin(CopyinReq {
                kind: CopyinKind::Bytes,
                len: 4,
                addr: 0xdead,
            }),
        )))
        .unwrap();
        s.receive(&raw(Frame::new(
            8,
            Message::Copyin(CopyinReq {
                kind: CopyinKind::Str,
                len: 1024,
                addr: 0xdead,
            }),
        )))
        .unwrap();
        s.receive(&raw(Frame::new(
            9,
            Message::Copyout(CopyoutReq {
                kind: CopyoutKind::Bytes,
                addr: 0xdead,
                data: b"x",
            }),
        )))
        .unwrap();
        let out = sent(&mut s);
        assert_eq!(&out[0].body[..], &[0, 0, 0, 0]);
        assert_eq!(&out[1].body[..], &[0]);
        assert_eq!(s.stray, 3);
        // a huge request for memory nobody exposed is a protocol violation, not an allocation
        let huge = raw(Frame::new(
            10,
            Message::Copyin(CopyinReq {
                kind: CopyinKind::Bytes,
                len: 1 << 30,
                addr: 0xdead,
            }),
        ));
        assert!(s.receive(&huge).is_err());
    }

    #[test]
    fn a_copyinstr_sends_the_string_with_its_nul_and_concurrent_calls_stay_apart() {
        let mut s = ClientSession::default();
        let a = s.syscall(
            5,
            vec![Arg::Str(b"/tmp/a".to_vec()), Arg::Int(0), Arg::Int(0)],
        );
        let b = s.syscall(
            5,
            vec![Arg::Str(b"/other".to_vec()), Arg::Int(0), Arg::Int(0)],
        );
        let reqs = sent(&mut s);
        let addr_b = u64::from_le_bytes(reqs[1].body[..8].try_into().unwrap());
        let addr_a = u64::from_le_bytes(reqs[0].body[..8].try_into().unwrap());
        assert_ne!(addr_a, addr_b);
        s.receive(&raw(Frame::new(
            0,
            Message::Copyin(CopyinReq {
                kind: CopyinKind::Str,
                len: 1024,
                addr: addr_b,
            }),
        )))
        .unwrap();
        s.receive(&raw(Frame::new(
            1,
            Message::Copyin(CopyinReq {
                kind: CopyinKind::Str,
                len: 3,
                addr: addr_a,
            }),
        )))
        .unwrap();
        let out = sent(&mut s);
        assert_eq!(&out[0].body[..], b"/other\0");
        assert_eq!(
            &out[1].body[..],
            b"/tm",
            "no NUL when the maximum is shorter"
        );
        s.receive(&raw(Frame::new(
            b,
            Message::SyscallResp(SyscallResp::err(2)),
        )))
        .unwrap();
        assert!(s.take_outcome(a).is_none());
        assert!(matches!(
            s.take_outcome(b),
            Some(CallOutcome::Syscall { errno: 2, .. })
        ));
    }

    #[test]
    fn frames_a_server_never_sends_are_errors() {
        let mut s = ClientSession::default();
        let bad = raw(Frame::new(
            1,
            Message::Syscall(SyscallReq {
                sysnum: 20,
                args: &[],
            }),
        ));
        assert!(s.receive(&bad).is_err());
        // an ERROR for nothing outstanding is dropped
        s.receive(&raw(Frame::new(
            99,
            Message::Error(crate::frame::ErrorFrame {
                code: ErrorCode::Auth,
            }),
        )))
        .unwrap();
        assert!(s.take_outcome(99).is_none());
    }

    #[test]
    fn handshake_bytes_match_the_spec_example() {
        let mut s = ClientSession::default();
        s.handshake(HandshakeKind::Guest, b"ls", None);
        assert_eq!(
            s.take_output(),
            [
                0x1b, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'l',
                b's', 0
            ]
        );
    }
}
