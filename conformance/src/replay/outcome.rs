//! A step's outcome in typed, comparable form: every answer the server gave
//! (the client takes the first), the memory it asked for, what it wrote into
//! client memory, the signals it raised and whether it closed.

use std::fmt::Write as _;

use rumpsp_protocol::netbsd::Errno;
use rumpsp_protocol::{Abi, CopyinKind, ErrorCode, Message, RawFrame};

use super::memory::Memory;

/// One answer frame, typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// RESP of a SYSCALL.
    Syscall {
        /// errno (0 for success).
        error: i32,
        /// The two return values.
        retval: [i64; 2],
    },
    /// RESP of a HANDSHAKE.
    Handshake {
        /// The handshake error.
        error: i32,
    },
    /// RESP of a PREFORK. The cookie itself is random and not compared,
    /// only whether it is all zero bytes (no 128-bit random value is).
    Prefork {
        /// The cookie is sixteen zero bytes.
        zero: bool,
    },
    /// An ERROR frame.
    Error(ErrorCode),
}

/// A memory request of the server, as (kind, addr, len).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MemKind {
    /// COPYIN.
    Copyin,
    /// COPYINSTR.
    Copyinstr,
    /// ANONMMAP.
    Anonmmap,
}

impl MemKind {
    /// The frame name.
    pub fn name(self) -> &'static str {
        match self {
            MemKind::Copyin => "COPYIN",
            MemKind::Copyinstr => "COPYINSTR",
            MemKind::Anonmmap => "ANONMMAP",
        }
    }
}

/// Everything a step produced, comparable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Every answer, in arrival order (exactly one is right).
    pub answers: Vec<Answer>,
    /// Memory requests in arrival order.
    pub copyins: Vec<(MemKind, u64, u64)>,
    /// COPYOUT effect: merged runs of client memory written.
    pub memory: Vec<(u64, Vec<u8>)>,
    /// Signals raised.
    pub raises: Vec<u32>,
    /// Frames that are neither answers nor server requests, or did not decode.
    pub unexpected: Vec<String>,
    /// Whether the server closed the connection.
    pub closed: bool,
}

/// Builds the outcome of a step from the frames attributed to it.
pub fn outcome(frames: &[RawFrame], closed: bool) -> Outcome {
    let abi = Abi::Lp64Le;
    let mut o = Outcome {
        closed,
        ..Default::default()
    };
    let mut mem = Memory::default();
    for f in frames {
        match f.frame(abi).map(|t| t.message) {
            Ok(Message::SyscallResp(r)) => o.answers.push(Answer::Syscall {
                error: r.error,
                retval: r.retval,
            }),
            Ok(Message::HandshakeResp(r)) => o.answers.push(Answer::Handshake { error: r.error }),
            Ok(Message::PreforkResp(p)) => o.answers.push(Answer::Prefork {
                zero: p.cookie.0 == [0; 16],
            }),
            Ok(Message::Error(e)) => o.answers.push(Answer::Error(e.code)),
            Ok(Message::Copyin(c)) => o.copyins.push((
                if c.kind == CopyinKind::Str {
                    MemKind::Copyinstr
                } else {
                    MemKind::Copyin
                },
                c.addr,
                c.len,
            )),
            Ok(Message::Anonmmap(a)) => o.copyins.push((MemKind::Anonmmap, 0, a.len)),
            Ok(Message::Copyout(c)) => mem.write(c.addr, c.data),
            Ok(Message::Raise(r)) => o.raises.push(r.signo),
            Ok(_) => o.unexpected.push(format!(
                "unexpected frame class={} type={}",
                f.header.class, f.header.ty
            )),
            Err(e) => o.unexpected.push(format!("malformed frame: {e}")),
        }
    }
    // Memory effect: merge writes into contiguous runs.
    let mut addrs: Vec<(u64, u64)> = mem
        .segs
        .iter()
        .map(|(a, d)| (*a, a.saturating_add(d.len() as u64)))
        .collect();
    addrs.sort_unstable();
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for (s, e) in addrs {
        match runs.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => runs.push((s, e)),
        }
    }
    o.memory = runs
        .into_iter()
        .map(|(s, e)| (s, mem.read(s, (e - s) as usize).0))
        .collect();
    o
}

/// An errno as `ENOENT (2)`.
pub fn errno_name(e: i32) -> String {
    match Errno(e).name() {
        Some(n) if e != 0 => format!("{n} ({e})"),
        _ => e.to_string(),
    }
}

fn show_answer(a: &Answer) -> String {
    match a {
        Answer::Syscall { error, retval } => format!(
            "error={} rv=({}, {})",
            errno_name(*error),
            retval[0],
            retval[1]
        ),
        Answer::Handshake { error } => format!("handshake error={error}"),
        Answer::Prefork { zero: false } => "prefork cookie".into(),
        Answer::Prefork { zero: true } => "prefork cookie of sixteen zero bytes".into(),
        Answer::Error(c) => format!("ERROR {c:?}"),
    }
}

/// The outcome as transcript text.
pub fn show(o: &Outcome) -> String {
    let mut s = String::new();
    match o.answers.first() {
        None if o.closed => s.push_str("connection closed"),
        None => s.push_str("no answer"),
        Some(a) => {
            s.push_str(&show_answer(a));
            if o.closed {
                s.push_str(", then closed");
            }
        }
    }
    for a in o.answers.iter().skip(1) {
        let _ = write!(s, "\n    answers again: {}", show_answer(a));
    }
    for u in &o.unexpected {
        let _ = write!(s, "\n    {u}");
    }
    for (kind, addr, len) in &o.copyins {
        let _ = write!(s, "\n    asks {} len={len} addr={addr:#x}", kind.name());
    }
    for (a, d) in &o.memory {
        let _ = write!(
            s,
            "\n    writes {} bytes at {a:#x}: {}",
            d.len(),
            crate::render::short_hex(d)
        );
    }
    for r in &o.raises {
        let _ = write!(s, "\n    raises {r}");
    }
    s
}
