//! Runs one input against a server and watches what comes back: every frame
//! the server sends is attributed to a request, memory requests are answered
//! as the input says, and the protocol oracles are checked as frames arrive
//! (two answers to one request, an answer to nothing, a malformed frame, a
//! banner that changed, a call that cannot block and is not answered while
//! nothing else of the input waits). What was seen is also summed up as
//! behaviour features (syscall, errno and return-value class, copy sizes,
//! ERROR codes, signals, closes with requests pending): an input that shows
//! a new one is kept.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rumpsp_conformance::capture::Dir;
use rumpsp_conformance::wire::{Wire, WireConn};
use rumpsp_protocol::{Abi, FrameDecoder, FrameLimits, Message};

use super::input::{Mem, Op};

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// The server process exited or was killed by a signal.
    Crash,
    /// A new client is not served (no banner, no handshake answer, or no getpid answer in time).
    Unhealthy,
    /// A call that waits for nothing the client withheld was not answered in time.
    Hang,
    /// A request was answered twice.
    DoubleAnswer,
    /// The server answered a request that was never made.
    AnswerToNothing,
    /// The server sent a frame that does not decode, or one only a client sends.
    MalformedFrame,
    /// The banner differs from the one the server sent first.
    BannerChanged,
}

impl Kind {
    /// The name used in reports and file names.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Crash => "crash",
            Kind::Unhealthy => "unhealthy",
            Kind::Hang => "hang",
            Kind::DoubleAnswer => "double-answer",
            Kind::AnswerToNothing => "answer-to-nothing",
            Kind::MalformedFrame => "malformed-frame",
            Kind::BannerChanged => "banner-changed",
        }
    }
}

/// A problem an input showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// What kind of problem.
    pub(crate) kind: Kind,
    /// What exactly was seen.
    pub(crate) detail: String,
}

/// Bounds on waiting.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// How long a call that cannot block may take to be answered.
    pub(crate) answer: Duration,
    /// How long to wait for a call that may block before moving on.
    pub(crate) blocking: Duration,
}

impl Default for Bounds {
    fn default() -> Bounds {
        Bounds {
            answer: Duration::from_millis(1500),
            blocking: Duration::from_millis(60),
        }
    }
}

/// One chunk of the conversation, for writing a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// A connection opened.
    Open(u32),
    /// Bytes on a connection.
    Data(u32, Dir, Vec<u8>),
    /// The server closed a connection.
    Eof(u32),
    /// We closed a connection.
    Close(u32),
}

/// What running one input showed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed {
    /// Behaviour features (hashes).
    pub(crate) features: BTreeSet<u64>,
    /// The first problem seen, if any.
    pub(crate) finding: Option<Finding>,
    /// The conversation, with the time of each event since the input began
    /// (at most [`MAX_RECORDED`] bytes of data; the rest is counted only).
    pub(crate) events: Vec<(u64, Event)>,
    /// Requests answered with success (a HANDSHAKE answer with error 0, a SYSCALL answer).
    pub(crate) ok_answers: usize,
}

/// The most data bytes one input's conversation records.
pub(crate) const MAX_RECORDED: usize = 8 << 20;

fn feature(parts: &[u64]) -> u64 {
    // FNV-1a over the parts: a stable hash, the same on every run.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Calls that may legitimately wait (for a pipe, a lock, a clock, a peer):
/// not answering them in time is not a hang. read/readv/write/writev of 0
/// bytes cannot wait.
fn may_block(sysnum: u32, args: &[u8]) -> bool {
    let slot = |i: usize| {
        args.get(i * 8..i * 8 + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    match sysnum {
        // read, write: nbyte; readv, writev: iovcnt
        3 | 4 | 120 | 121 => slot(2) != Some(0),
        // open, openat (fifos), fcntl (F_SETLKW), flock, poll, select, pselect, nanosleep,
        // sockets, wait4, kevent, sleeps, pread/pwrite and their vector forms on fifos
        5 | 468 | 92 | 131 | 209 | 417 | 436 | 437 | 430 | 477 | 7 | 449 | 29 | 30 | 27 | 28
        | 98 | 133 | 435 | 173 | 174 | 289 | 290 | 456 | 475 | 476 | 480 | 481 | 482 => true,
        _ => false,
    }
}

struct Pending {
    what: PendingKind,
    /// A memory request of it was left unanswered on purpose.
    withheld: bool,
}

#[derive(Clone)]
enum PendingKind {
    Handshake(u32),
    Syscall { sysnum: u32, mem: Mem, blocks: bool },
    Prefork,
}

struct ConnState {
    id: WireConn,
    num: u32,
    dec: FrameDecoder,
    pending: BTreeMap<u64, Pending>,
    answered: BTreeSet<u64>,
    next_reqno: u64,
    closed: bool,
    /// Request numbers raw frames used: their answers are not judged.
    raw_reqnos: BTreeSet<u64>,
    /// A raw op left the stream out of frame (a cut or mis-sized frame):
    /// what follows on it cannot be attributed, so it is not judged.
    desynced: bool,
}

/// The runner of one input.
struct Run<'a> {
    wire: &'a mut dyn Wire,
    banner: &'a [u8],
    bounds: Bounds,
    synchronous: bool,
    start: Instant,
    out: Observed,
    conns: Vec<ConnState>,
    /// Cookies handed out and not yet redeemed (the reference server keeps
    /// a process for each until a FORK redeems or cancels it).
    cookies: Vec<[u8; 16]>,
    sent_raw: bool,
    recorded: usize,
}

fn frame(reqno: u64, class: u16, ty: u16, word: u32, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(24 + body.len());
    f.extend_from_slice(&((24 + body.len()) as u64).to_le_bytes());
    f.extend_from_slice(&reqno.to_le_bytes());
    f.extend_from_slice(&class.to_le_bytes());
    f.extend_from_slice(&ty.to_le_bytes());
    f.extend_from_slice(&word.to_le_bytes());
    f.extend_from_slice(body);
    f
}

/// The most bytes one memory answer carries (a server may ask for more).
const MAX_ANSWER: u64 = 1 << 20;

impl Run<'_> {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn event(&mut self, e: Event) {
        if let Event::Data(_, _, b) = &e {
            if self.recorded + b.len() > MAX_RECORDED {
                return;
            }
            self.recorded += b.len();
        }
        let t = self.now();
        self.out.events.push((t, e));
    }

    fn find(&mut self, kind: Kind, detail: String) {
        if self.out.finding.is_none() {
            self.out.finding = Some(Finding { kind, detail });
        }
    }

    fn open(&mut self) -> Option<usize> {
        let num = self.conns.len() as u32 + 1;
        match self.wire.connect() {
            Ok((id, received)) => {
                self.event(Event::Open(num));
                self.event(Event::Data(num, Dir::S2c, received.clone()));
                let line_end = received
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(received.len(), |i| i + 1);
                if received[..line_end] != *self.banner {
                    self.find(
                        Kind::BannerChanged,
                        format!(
                            "banner {:?}, first {:?}",
                            String::from_utf8_lossy(&received[..line_end]),
                            String::from_utf8_lossy(self.banner)
                        ),
                    );
                }
                let mut dec = FrameDecoder::new(FrameLimits::default());
                dec.feed(&received[line_end..]);
                self.conns.push(ConnState {
                    id,
                    num,
                    dec,
                    pending: BTreeMap::new(),
                    answered: BTreeSet::new(),
                    next_reqno: 1,
                    closed: false,
                    raw_reqnos: BTreeSet::new(),
                    desynced: false,
                });
                Some(self.conns.len() - 1)
            }
            Err(e) => {
                self.find(Kind::Unhealthy, format!("a new connection failed: {e}"));
                None
            }
        }
    }

    fn send(&mut self, c: usize, bytes: Vec<u8>) {
        let (id, num) = (self.conns[c].id, self.conns[c].num);
        if self.conns[c].closed {
            return;
        }
        if self.wire.send(id, &bytes).is_err() {
            self.conns[c].closed = true;
        }
        self.event(Event::Data(num, Dir::C2s, bytes));
    }

    fn request(
        &mut self,
        c: usize,
        class_ty: (u16, u16),
        word: u32,
        body: &[u8],
        what: PendingKind,
    ) {
        let reqno = self.conns[c].next_reqno;
        self.conns[c].next_reqno += 1;
        let f = frame(reqno, class_ty.0, class_ty.1, word, body);
        self.conns[c].pending.insert(
            reqno,
            Pending {
                what,
                withheld: false,
            },
        );
        self.send(c, f);
        self.await_answer(c, reqno);
    }

    /// Reads until `reqno` is answered, the connection closes, a finding
    /// shows, or the wait bound passes.
    fn await_answer(&mut self, c: usize, reqno: u64) {
        let begin = Instant::now();
        loop {
            if self.out.finding.is_some() || self.conns[c].closed {
                return;
            }
            let Some(p) = self.conns[c].pending.get(&reqno) else {
                return;
            };
            let blocks = matches!(p.what, PendingKind::Syscall { blocks: true, .. });
            let limit = if blocks || p.withheld {
                self.bounds.blocking
            } else {
                self.bounds.answer
            };
            if begin.elapsed() > limit {
                // A call may wait behind another one the input left waiting
                // (a vnode or sysctl lock it holds, EXEC waiting for every call).
                let others_wait = self.conns.iter().any(|k| {
                    k.pending.iter().any(|(r, q)| {
                        (k.num != self.conns[c].num || *r != reqno)
                            && (q.withheld
                                || matches!(q.what, PendingKind::Syscall { blocks: true, .. }))
                    })
                });
                if !blocks && !p.withheld && !self.conns[c].desynced && !others_wait {
                    let what = match &p.what {
                        PendingKind::Syscall { sysnum, .. } => format!("syscall {sysnum:#x}"),
                        PendingKind::Handshake(k) => format!("handshake kind {k}"),
                        PendingKind::Prefork => "prefork".to_owned(),
                    };
                    self.find(
                        Kind::Hang,
                        format!(
                            "{what} (reqno {reqno}) not answered within {} ms",
                            limit.as_millis()
                        ),
                    );
                }
                return;
            }
            if !self.pump(c, false) && self.synchronous {
                return;
            }
        }
    }

    /// Reads once from connection `c` and handles every frame; whether anything arrived.
    fn pump(&mut self, c: usize, now: bool) -> bool {
        let (id, num) = (self.conns[c].id, self.conns[c].num);
        let got = if now {
            self.wire.recv_now(id)
        } else {
            self.wire.recv(id)
        };
        let (bytes, closed) = match got {
            Ok(x) => x,
            Err(_) => (vec![], true),
        };
        let arrived = !bytes.is_empty();
        if arrived {
            self.event(Event::Data(num, Dir::S2c, bytes.clone()));
            self.conns[c].dec.feed(&bytes);
        }
        loop {
            match self.conns[c].dec.next_frame() {
                Ok(Some(f)) => self.handle(c, &f),
                Ok(None) => break,
                Err(e) => {
                    self.find(
                        Kind::MalformedFrame,
                        format!("the server sent a frame that does not decode: {e}"),
                    );
                    break;
                }
            }
        }
        if closed && !self.conns[c].closed {
            self.conns[c].closed = true;
            self.event(Event::Eof(num));
            let reason = u64::from(!self.conns[c].pending.is_empty());
            self.out.features.insert(feature(&[9, reason]));
        }
        arrived
    }

    fn handle(&mut self, c: usize, raw: &rumpsp_protocol::RawFrame) {
        let h = raw.header;
        let fr = match raw.frame(Abi::default()) {
            Ok(fr) => fr,
            Err(e) => {
                self.find(
                    Kind::MalformedFrame,
                    format!("class {} type {} reqno {}: {e}", h.class, h.ty, h.reqno),
                );
                return;
            }
        };
        match fr.message {
            Message::HandshakeResp(r) => self.answer(
                c,
                h.reqno,
                feature(&[2, r.error as u64]),
                Some(0),
                r.error == 0,
            ),
            Message::SyscallResp(r) => {
                let sysnum = match self.conns[c].pending.get(&h.reqno).map(|p| &p.what) {
                    Some(PendingKind::Syscall { sysnum, .. }) => *sysnum,
                    _ => 0,
                };
                let rv = match r.retval[0] {
                    i64::MIN..=-1 => 0,
                    0 => 1,
                    1..=4096 => 2,
                    _ => 3,
                };
                self.answer(
                    c,
                    h.reqno,
                    feature(&[1, sysnum.into(), r.error as u64, rv]),
                    Some(1),
                    true,
                );
            }
            Message::PreforkResp(r) => {
                if self.conns[c].pending.contains_key(&h.reqno) {
                    self.cookies.push(r.cookie.0);
                }
                self.answer(c, h.reqno, feature(&[3]), Some(7), true);
            }
            Message::Error(e) => {
                let code = u64::from(e.code.to_u32());
                if self.conns[c].pending.contains_key(&h.reqno) || !self.sent_raw {
                    self.answer(c, h.reqno, feature(&[4, code]), None, false);
                } else {
                    self.out.features.insert(feature(&[4, code]));
                }
            }
            Message::Copyin(req) => {
                // The COPYIN names no call: the input's answer policy applies
                // only when exactly one syscall is in flight on the connection.
                let calls = self.conns[c]
                    .pending
                    .values()
                    .filter(|p| matches!(p.what, PendingKind::Syscall { .. }))
                    .count();
                let last = self.conns[c]
                    .pending
                    .iter_mut()
                    .rev()
                    .find(|(_, p)| matches!(p.what, PendingKind::Syscall { .. }))
                    .filter(|_| calls == 1);
                let (mem, sysnum) = match last {
                    Some((_, p)) => match p.what {
                        PendingKind::Syscall { mem, sysnum, .. } => {
                            if mem == Mem::Silent {
                                p.withheld = true;
                            }
                            (mem, sysnum)
                        }
                        _ => (Mem::Right, 0),
                    },
                    None => (Mem::Right, 0),
                };
                let string = h.ty == 3;
                self.out.features.insert(feature(&[
                    5,
                    sysnum.into(),
                    u64::from(string),
                    log2(req.len),
                ]));
                let want = req.len.min(MAX_ANSWER) as usize;
                let right = if string {
                    let mut s = b"/tmp/fz".to_vec();
                    s.truncate(want.saturating_sub(1));
                    s.push(0);
                    s.truncate(want);
                    s
                } else {
                    vec![0x41; want]
                };
                let data = match mem {
                    Mem::Right | Mem::Twice => right,
                    Mem::Short if string => right[..right.len().saturating_sub(1)].to_vec(),
                    Mem::Short => right[..right.len() / 2].to_vec(),
                    Mem::Empty => vec![],
                    Mem::Long => {
                        let mut v = right;
                        v.extend_from_slice(&[0x42; 16]);
                        v
                    }
                    Mem::Silent => return,
                };
                let f = frame(h.reqno, 1, 2, 0, &data);
                if mem == Mem::Twice {
                    self.send(c, f.clone());
                }
                self.send(c, f);
            }
            Message::Copyout(o) => {
                self.out
                    .features
                    .insert(feature(&[6, h.ty.into(), log2(o.data.len() as u64)]));
            }
            Message::Anonmmap(_) => {
                let f = frame(h.reqno, 1, 6, 0, &0x7000_0000_0000u64.to_le_bytes());
                self.send(c, f);
            }
            Message::Raise(r) => {
                self.out.features.insert(feature(&[7, r.signo.into()]));
            }
            Message::Handshake(_)
            | Message::Syscall(_)
            | Message::CopyinResp(_)
            | Message::AnonmmapResp(_)
            | Message::Prefork(_) => self.find(
                Kind::MalformedFrame,
                format!(
                    "the server sent a client's frame (class {} type {})",
                    h.class, h.ty
                ),
            ),
        }
    }

    /// An answer to `reqno`: exactly one per request, of the request's type
    /// (`got`: 0 handshake, 1 syscall, 7 prefork; `None` for ERROR, which may answer any).
    fn answer(&mut self, c: usize, reqno: u64, f: u64, got: Option<u16>, ok: bool) {
        self.out.features.insert(f);
        let conn = &mut self.conns[c];
        if conn.raw_reqnos.contains(&reqno) || conn.desynced {
            conn.pending.remove(&reqno);
            return;
        }
        if let Some(p) = conn.pending.remove(&reqno) {
            conn.answered.insert(reqno);
            let want = match p.what {
                PendingKind::Handshake(_) => 0,
                PendingKind::Syscall { .. } => 1,
                PendingKind::Prefork => 7,
            };
            if got.is_some_and(|g| g != want) {
                self.find(
                    Kind::MalformedFrame,
                    format!(
                        "reqno {reqno}: an answer of type {} to a request of type {want}",
                        got.unwrap_or(0)
                    ),
                );
            } else if ok {
                self.out.ok_answers += 1;
            }
        } else if conn.answered.contains(&reqno) {
            self.find(Kind::DoubleAnswer, format!("reqno {reqno} answered twice"));
        } else {
            self.find(
                Kind::AnswerToNothing,
                format!("an answer to reqno {reqno}, never sent"),
            );
        }
    }

    fn op(&mut self, c: &mut Option<usize>, op: &Op) {
        if c.is_none() {
            *c = self.open();
        }
        let Some(ci) = *c else {
            return;
        };
        match op {
            Op::Handshake { kind, name } => self.request(
                ci,
                (0, 0),
                *kind,
                &name.body(),
                PendingKind::Handshake(*kind),
            ),
            Op::Syscall { sysnum, args, mem } => {
                let blocks = may_block(*sysnum, args);
                self.request(
                    ci,
                    (0, 1),
                    *sysnum,
                    args,
                    PendingKind::Syscall {
                        sysnum: *sysnum,
                        mem: *mem,
                        blocks,
                    },
                )
            }
            Op::Prefork => self.request(ci, (0, 7), 0, &[], PendingKind::Prefork),
            Op::Fork { real } => {
                let cookie = match (real, self.cookies.pop()) {
                    (true, Some(k)) => k,
                    (false, Some(k)) => {
                        self.cookies.push(k);
                        [0x5a; 16]
                    }
                    (_, None) => [0x5a; 16],
                };
                let mut body = cookie.to_vec();
                body.extend_from_slice(&0u32.to_le_bytes());
                *c = self.open();
                if let Some(n) = *c {
                    self.request(n, (0, 0), 2, &body, PendingKind::Handshake(2));
                }
            }
            Op::Raw(bytes) => {
                self.sent_raw = true;
                let conn = &mut self.conns[ci];
                match rumpsp_protocol::Header::decode(bytes) {
                    Some(h) if h.len == bytes.len() as u64 => {
                        conn.raw_reqnos.insert(h.reqno);
                    }
                    _ => conn.desynced = true,
                }
                self.send(ci, bytes.clone());
                self.pump(ci, true);
            }
            Op::Reconnect => {
                let id = self.conns[ci].id;
                let num = self.conns[ci].num;
                self.wire.close(id);
                self.conns[ci].closed = true;
                self.event(Event::Close(num));
                *c = self.open();
                if let Some(n) = *c {
                    self.request(n, (0, 0), 0, b"fuzz\0", PendingKind::Handshake(0));
                }
            }
        }
    }
}

fn log2(n: u64) -> u64 {
    u64::from(64 - n.leading_zeros())
}

/// Runs `ops` on a new connection of `wire`. `banner` is the banner line the
/// server sent first (with its newline). `synchronous`: the wire answers at
/// once (in-process), so an empty read means nothing more will come.
pub(crate) fn run_input(
    wire: &mut dyn Wire,
    banner: &[u8],
    ops: &[Op],
    bounds: Bounds,
    synchronous: bool,
) -> Observed {
    let mut run = Run {
        wire,
        banner,
        bounds,
        synchronous,
        start: Instant::now(),
        out: Observed::default(),
        conns: Vec::new(),
        cookies: Vec::new(),
        sent_raw: false,
        recorded: 0,
    };
    let mut c = None;
    for op in ops {
        run.op(&mut c, op);
        if run.out.finding.is_some() {
            break;
        }
    }
    // Preforks not redeemed are cancelled, so that the server can free them.
    while let Some(k) = run.cookies.pop() {
        if run.out.finding.is_some() {
            break;
        }
        if let Some(n) = run.open() {
            let mut body = k.to_vec();
            body.extend_from_slice(&1u32.to_le_bytes());
            run.request(n, (0, 0), 2, &body, PendingKind::Handshake(2));
        }
    }
    // Late frames: a second answer may come after the first.
    for i in 0..run.conns.len() {
        if !run.conns[i].closed && run.out.finding.is_none() {
            run.pump(i, true);
        }
    }
    for i in 0..run.conns.len() {
        if !run.conns[i].closed {
            let (id, num) = (run.conns[i].id, run.conns[i].num);
            run.wire.close(id);
            run.event(Event::Close(num));
        }
    }
    run.out
}

/// What a new client does first: a GUEST handshake and getpid.
pub(crate) fn guest_getpid() -> [Op; 2] {
    [
        Op::Handshake {
            kind: 0,
            name: super::input::Name::Normal,
        },
        Op::Syscall {
            sysnum: 20,
            args: vec![],
            mem: Mem::Right,
        },
    ]
}

/// A health check: a new client gets the banner, a GUEST handshake answer
/// and a getpid answer within `bound`.
pub(crate) fn health_check(
    wire: &mut dyn Wire,
    banner: &[u8],
    bound: Duration,
) -> Result<(), String> {
    let ops = guest_getpid();
    let obs = run_input(
        wire,
        banner,
        &ops,
        Bounds {
            answer: bound,
            blocking: bound,
        },
        false,
    );
    if let Some(f) = obs.finding {
        return Err(format!("{}: {}", f.kind.name(), f.detail));
    }
    if obs.ok_answers < 2 {
        return Err("the server did not answer a new client's handshake and getpid".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumpsp_conformance::wire::InProcess;
    use rumpsp_sim_kernel::{SimConfig, SimKernel};

    fn wire() -> (InProcess<SimKernel>, Vec<u8>) {
        let mut w = InProcess::with_kernel(SimKernel::new(SimConfig::default())).expect("a server");
        let (c, banner) = w.connect().expect("a connection");
        w.close(c);
        (w, banner)
    }

    fn guest() -> Op {
        Op::Handshake {
            kind: 0,
            name: super::super::input::Name::Normal,
        }
    }

    #[test]
    fn a_right_server_shows_no_finding_and_some_behaviour() {
        let (mut w, banner) = wire();
        let ops = guest_getpid();
        let obs = run_input(&mut w, &banner, &ops, Bounds::default(), true);
        assert_eq!(obs.finding, None);
        assert!(obs.features.len() >= 2);
        assert!(health_check(&mut w, &banner, Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn another_banner_is_a_finding() {
        let (mut w, _) = wire();
        let obs = run_input(
            &mut w,
            b"RUMPSP-0.4-NetBSD-9.0/amd64\n",
            &[guest()],
            Bounds::default(),
            true,
        );
        assert_eq!(obs.finding.map(|f| f.kind), Some(Kind::BannerChanged));
    }

    /// A wire that repeats every answer frame of the server (two answers per request).
    struct Doubling<W: Wire>(W);

    impl<W: Wire> Wire for Doubling<W> {
        fn connect(&mut self) -> Result<(WireConn, Vec<u8>), rumpsp_conformance::wire::WireError> {
            self.0.connect()
        }
        fn send(
            &mut self,
            c: WireConn,
            b: &[u8],
        ) -> Result<(), rumpsp_conformance::wire::WireError> {
            self.0.send(c, b)
        }
        fn recv(
            &mut self,
            c: WireConn,
        ) -> Result<(Vec<u8>, bool), rumpsp_conformance::wire::WireError> {
            let (b, closed) = self.0.recv(c)?;
            let mut twice = b.clone();
            twice.extend_from_slice(&b);
            Ok((twice, closed))
        }
        fn close(&mut self, c: WireConn) {
            self.0.close(c)
        }
    }

    #[test]
    fn two_answers_to_one_request_are_a_finding() {
        let (w, banner) = wire();
        let mut d = Doubling(w);
        let obs = run_input(&mut d, &banner, &[guest()], Bounds::default(), true);
        assert_eq!(obs.finding.map(|f| f.kind), Some(Kind::DoubleAnswer));
    }

    /// A wire that rewrites the header of every frame the server sends after its banner.
    struct Rewrite<W: Wire> {
        inner: W,
        edit: fn(&mut [u8]),
    }

    impl<W: Wire> Wire for Rewrite<W> {
        fn connect(&mut self) -> Result<(WireConn, Vec<u8>), rumpsp_conformance::wire::WireError> {
            self.inner.connect()
        }
        fn send(
            &mut self,
            c: WireConn,
            b: &[u8],
        ) -> Result<(), rumpsp_conformance::wire::WireError> {
            self.inner.send(c, b)
        }
        fn recv(
            &mut self,
            c: WireConn,
        ) -> Result<(Vec<u8>, bool), rumpsp_conformance::wire::WireError> {
            let (mut b, closed) = self.inner.recv(c)?;
            let mut i = 0;
            while i + 24 <= b.len() {
                let len = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes")) as usize;
                (self.edit)(&mut b[i..i + 24]);
                i += len.max(24);
            }
            Ok((b, closed))
        }
        fn close(&mut self, c: WireConn) {
            self.inner.close(c)
        }
    }

    fn through(edit: fn(&mut [u8])) -> Option<Kind> {
        let (inner, banner) = wire();
        let mut w = Rewrite { inner, edit };
        let ops = guest_getpid();
        run_input(&mut w, &banner, &ops, Bounds::default(), true)
            .finding
            .map(|f| f.kind)
    }

    #[test]
    fn an_answer_to_a_request_never_made_is_a_finding() {
        assert_eq!(
            through(|h| h[8..16].copy_from_slice(&77u64.to_le_bytes())),
            Some(Kind::AnswerToNothing)
        );
    }

    #[test]
    fn an_answer_of_the_wrong_type_or_class_is_a_finding() {
        // RESP/SYSCALL in answer to the handshake
        assert_eq!(
            through(|h| if h[18] == 0 {
                h[18] = 1
            }),
            Some(Kind::MalformedFrame)
        );
        // a REQ/SYSCALL from the server
        assert_eq!(through(|h| h[16] = 0), Some(Kind::MalformedFrame));
        // an untouched server passes
        assert_eq!(through(|_| {}), None);
    }

    #[test]
    fn the_health_check_wants_real_answers() {
        let (inner, banner) = wire();
        // every answer sent under another request number: nothing is answered
        let mut w = Rewrite {
            inner,
            edit: |h| h[8..16].copy_from_slice(&99u64.to_le_bytes()),
        };
        assert!(health_check(&mut w, &banner, Duration::from_millis(200)).is_err());
    }

    #[test]
    fn only_calls_that_can_wait_may_stay_unanswered() {
        let read = |n: u64| {
            [0u64, 0x1000, n]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>()
        };
        assert!(may_block(3, &read(10)));
        assert!(!may_block(3, &read(0)));
        assert!(!may_block(20, &[]));
    }
}
