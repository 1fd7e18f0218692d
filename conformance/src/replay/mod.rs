//! Plays the client side of a [`Script`] against a server over a [`Wire`],
//! answers the server's memory requests from the client memory the recording
//! reveals, and compares each answer with the recorded one under named
//! normalisation rules.
//!
//! Modules: [`memory`] (the client memory model), [`outcome`] (typed step
//! outcomes), [`normalise`] (the rules as data), [`diff`] (field-level
//! differences); this file holds the transport pump and attribution.

pub mod diff;
pub mod memory;
mod netnorm;
pub mod normalise;
pub mod outcome;
pub mod ports;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rumpsp_protocol::banner::find_banner_line;
use rumpsp_protocol::kernel::MemRequest;
use rumpsp_protocol::{
    Abi, AnonmmapResp, CopyinKind, CopyinResp, Frame, FrameDecoder, FrameLimits, Message, RawFrame,
};

use crate::script::{Action, Script, Step};
use crate::wire::{Wire, WireConn};
use memory::Memory;
use normalise::Norm;
use outcome::{outcome, show};

/// How one step came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Identical to the recording (up to server reqnos and padding).
    Pass,
    /// Identical once the named rules were applied.
    PassNormalised,
    /// Different.
    Fail,
    /// The harness could not run it.
    Error,
}

impl Verdict {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::PassNormalised => "pass-after-normalisation",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
        }
    }
}

/// The result of one step.
#[derive(Debug, Clone)]
pub struct StepResult {
    /// Position in the script.
    pub index: usize,
    /// Connection in the recording.
    pub conn: u32,
    /// What was sent, described.
    pub request: String,
    /// Verdict.
    pub verdict: Verdict,
    /// The rules that made a difference.
    pub rules: Vec<&'static str>,
    /// Expected (recorded) outcome, normalised.
    pub expected: String,
    /// Actual outcome, normalised (with the field-level differences on a failure).
    pub actual: String,
    /// Field-level differences (`st_mode: expected 0o100644 got 0o100600`), on a failure.
    pub diffs: Vec<String>,
}

/// The result of a whole script.
#[derive(Debug, Clone)]
pub struct ScriptResult {
    /// Script name.
    pub name: String,
    /// Per-step results.
    pub steps: Vec<StepResult>,
}

impl ScriptResult {
    /// The worst verdict of any step.
    pub fn verdict(&self) -> Verdict {
        self.steps
            .iter()
            .map(|s| s.verdict)
            .max()
            .unwrap_or(Verdict::Pass)
    }
}

struct ConnState {
    wire: Option<WireConn>,
    dec: FrameDecoder,
    banner_done: bool,
    closed: bool,
    memory: Memory,
    /// Steps sent and not answered yet: (index, reqno).
    outstanding: Vec<(usize, u64)>,
    /// Steps answered: (index, reqno), most recent last.
    answered: Vec<(usize, u64)>,
    /// The last step sent on this connection.
    last: Option<usize>,
}

/// Everything the server sent for one step.
#[derive(Debug, Default, Clone)]
struct Got {
    frames: Vec<RawFrame>,
    closed: bool,
    /// Whether other calls were in flight on the connection with this one.
    concurrent: bool,
    /// Malformed server data, as the decoder described it.
    malformed: Option<String>,
}

/// How long one step may take before the replayer gives up waiting for the
/// rest of a partly received frame.
pub const STEP_TIME_LIMIT: Duration = Duration::from_secs(20);

/// Frames the server may send within one step (beyond that it is flooding).
pub const STEP_FRAME_LIMIT: usize = 1 << 20;

/// How the server being judged relates to the recording.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReplayOptions {
    /// The server has exactly the history the recording had: freshly started
    /// and given the recordings of the same server run that came before, in
    /// order. Then pids compare exactly where no calls overlapped (see the
    /// `pids` rule); without it (a server shared by everything) they are mapped.
    pub same_history: bool,
}

/// Plays a script against a server of unknown history ([`ReplayOptions::default`]).
pub fn replay(script: &Script, wire: &mut dyn Wire) -> ScriptResult {
    replay_with(script, wire, ReplayOptions::default())
}

/// Plays a script.
pub fn replay_with(script: &Script, wire: &mut dyn Wire, opts: ReplayOptions) -> ScriptResult {
    let abi = Abi::Lp64Le;
    // Whether a call was sent while another (on any connection) was in flight.
    let mut overlap = false;
    let mut conns: BTreeMap<u32, ConnState> = BTreeMap::new();
    let mut got: BTreeMap<usize, Got> = BTreeMap::new();
    let mut cookies: BTreeMap<[u8; 16], [u8; 16]> = BTreeMap::new();
    let mut errors: BTreeMap<usize, String> = BTreeMap::new();
    let mut ports = ports::PortMap::default();

    for (index, action) in script.actions.iter().enumerate() {
        match action {
            Action::Close { conn } => {
                if let Some(c) = conns.get_mut(conn) {
                    // Whatever the server still sends (a close, a late answer)
                    // belongs to what was sent before.
                    if c.wire.is_some() {
                        if let Some(last) = c.last {
                            pump(wire, script, last, c, &mut got, &mut ports, true);
                        }
                    }
                    if let Some(w) = c.wire.take() {
                        wire.close(w);
                    }
                    c.closed = true;
                }
            }
            Action::Step(step) => {
                overlap |= conns.values().any(|o| !o.outstanding.is_empty());
                let c = conns.entry(step.conn).or_insert_with(|| ConnState {
                    wire: None,
                    dec: FrameDecoder::new(FrameLimits::default()),
                    banner_done: false,
                    closed: false,
                    memory: Memory::default(),
                    outstanding: Vec::new(),
                    answered: Vec::new(),
                    last: None,
                });
                if c.wire.is_none() && !c.closed {
                    match wire.connect() {
                        Ok((w, bytes)) => {
                            c.wire = Some(w);
                            c.dec.feed(&bytes);
                        }
                        Err(e) => {
                            errors.insert(index, format!("connect: {e}"));
                            c.closed = true;
                        }
                    }
                }
                let Some(w) = c.wire else {
                    got.entry(index).or_default().closed = true;
                    continue;
                };
                let mut bytes = step.frame.to_vec();
                if let Ok(Frame {
                    message: Message::Handshake(rumpsp_protocol::Handshake::Fork { cookie, .. }),
                    ..
                }) = step.frame.frame(abi)
                {
                    if let Some(ours) = cookies.get(&cookie.0) {
                        if let Some(b) = bytes.get_mut(24..40) {
                            b.copy_from_slice(ours);
                        }
                    }
                }
                if wire.send(w, &bytes).is_err() {
                    got.entry(index).or_default().closed = true;
                    continue;
                }
                if !c.outstanding.is_empty() {
                    got.entry(index).or_default().concurrent = true;
                    for (o, _) in &c.outstanding {
                        got.entry(*o).or_default().concurrent = true;
                    }
                }
                c.outstanding.push((index, step.reqno()));
                c.last = Some(index);
                pump(wire, script, index, c, &mut got, &mut ports, false);
                // Learn the cookie mapping from PREFORK answers.
                if let (Some(rec), Some(g)) = (
                    step.recorded
                        .iter()
                        .find_map(|f| match f.frame(abi).map(|x| x.message) {
                            Ok(Message::PreforkResp(p)) => Some(p.cookie.0),
                            _ => None,
                        }),
                    got.get(&index).and_then(|g| {
                        g.frames
                            .iter()
                            .find_map(|f| match f.frame(abi).map(|x| x.message) {
                                Ok(Message::PreforkResp(p)) => Some(p.cookie.0),
                                _ => None,
                            })
                    }),
                ) {
                    // Cookies are random: a server that hands out one twice
                    // lets a client take over another's fork.
                    if cookies.values().any(|ours| *ours == g) {
                        got.entry(index).or_default().malformed =
                            Some("PREFORK cookie repeats an earlier one".into());
                    }
                    cookies.insert(rec, g);
                }
                // What the recording says the client memory holds afterwards.
                for (req, data) in &step.memory {
                    if let MemRequest::Bytes { addr, .. } | MemRequest::Str { addr, .. } = req {
                        c.memory.write(*addr, data);
                    }
                }
                for f in &step.recorded {
                    if let Ok(Frame {
                        message: Message::Copyout(co),
                        ..
                    }) = f.frame(abi)
                    {
                        c.memory.write(co.addr, co.data);
                    }
                }
            }
        }
    }
    // Connections the client never closed: collect what is still on its way.
    for c in conns.values_mut() {
        if let (Some(_), Some(last)) = (c.wire, c.last) {
            pump(wire, script, last, c, &mut got, &mut ports, true);
        }
    }
    let mut norm = Norm::default();
    norm.exact_pids = opts.same_history && !overlap;
    let steps = script
        .actions
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match a {
            Action::Step(s) => Some((i, s)),
            _ => None,
        })
        .map(|(i, s)| {
            let g = got.remove(&i).unwrap_or_default();
            let mut r = compare(s, i, &g, &mut norm);
            if let Some(e) = errors.get(&i) {
                r.verdict = Verdict::Error;
                r.actual = e.clone();
            }
            r
        })
        .collect();
    ScriptResult {
        name: script.name.clone(),
        steps,
    }
}

fn step_at(script: &Script, index: usize) -> Option<&Step> {
    match script.actions.get(index) {
        Some(Action::Step(s)) => Some(s),
        _ => None,
    }
}

/// The step a server request belongs to: the call in flight whose memory it
/// touches ([`memory::owner`]), else `fallback`.
fn memory_owner(script: &Script, c: &ConnState, addr: Option<u64>, fallback: usize) -> usize {
    let calls = c.outstanding.iter().filter_map(|(i, _)| {
        step_at(script, *i)
            .filter(|s| s.sysnum().is_some())
            .map(|s| (*i, s))
    });
    memory::owner(calls, addr).unwrap_or(fallback)
}

/// Receives and answers memory requests until step `index`'s answer is in
/// (whole frames), nothing more comes (a blocked call, answered later), the
/// server closes, or the step's time runs out. With `draining`, only
/// collects what is already on its way.
fn pump(
    wire: &mut dyn Wire,
    script: &Script,
    index: usize,
    c: &mut ConnState,
    got: &mut BTreeMap<usize, Got>,
    ports: &mut ports::PortMap,
    draining: bool,
) {
    let abi = Abi::Lp64Le;
    let Some(w) = c.wire else { return };
    let start = Instant::now();
    let mut frames_seen = 0usize;
    loop {
        let received = if draining {
            wire.recv_now(w)
        } else {
            wire.recv(w)
        };
        let (bytes, closed) = received.unwrap_or((vec![], true));
        c.dec.feed(&bytes);
        if !c.banner_done {
            let buf = c.dec.buffer_mut();
            match find_banner_line(buf) {
                Ok(Some(n)) => {
                    let _ = buf.split_to(n);
                    c.banner_done = true;
                }
                Ok(None) if !closed && start.elapsed() < STEP_TIME_LIMIT && !bytes.is_empty() => {
                    continue
                }
                _ => c.banner_done = true,
            }
        }
        let mut done = draining;
        loop {
            let f = match c.dec.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    // The stream cannot be framed past this point.
                    got.entry(index).or_default().malformed =
                        Some(format!("malformed frame from the server: {e}"));
                    c.closed = true;
                    c.wire = None;
                    got.entry(index).or_default().closed = true;
                    wire.close(w);
                    return;
                }
            };
            frames_seen += 1;
            let typed = f.frame(abi).ok().map(|t| t.message);
            let answer_reqno = match typed {
                Some(
                    Message::SyscallResp(_)
                    | Message::HandshakeResp(_)
                    | Message::PreforkResp(_)
                    | Message::Error(_),
                ) => Some(f.header.reqno),
                _ => None,
            };
            let owner = match answer_reqno {
                // An answer goes to the outstanding request with its reqno; a
                // second answer to a request already answered goes to that
                // request (and fails it); an answer to nothing to this step.
                Some(r) => match c.outstanding.iter().position(|(_, q)| *q == r) {
                    Some(p) => {
                        let (i, q) = c.outstanding.remove(p);
                        c.answered.push((i, q));
                        i
                    }
                    None => c
                        .answered
                        .iter()
                        .rev()
                        .find(|(_, q)| *q == r)
                        .map_or(index, |(i, _)| *i),
                },
                None => match typed {
                    Some(Message::Copyin(req)) => memory_owner(script, c, Some(req.addr), index),
                    Some(Message::Copyout(co)) => memory_owner(script, c, Some(co.addr), index),
                    _ => memory_owner(script, c, None, index),
                },
            };
            if owner == index && answer_reqno.is_some() {
                done = true;
            }
            // Answer memory requests from the recording.
            let reply = match (typed, step_at(script, owner)) {
                (Some(Message::Copyin(req)), Some(step)) => {
                    let others: Vec<&Step> = c
                        .outstanding
                        .iter()
                        .filter(|(i, _)| *i != owner)
                        .filter_map(|(i, _)| step_at(script, *i))
                        .collect();
                    let mut data =
                        memory::fetch(step, &others, &c.memory, req.kind, req.addr, req.len);
                    if step.sysnum().is_some_and(|n| ports::NAMES_IN.contains(&n)) {
                        ports.translate(&mut data);
                    }
                    Some(
                        Frame::new(
                            f.header.reqno,
                            Message::CopyinResp(CopyinResp {
                                label: CopyinKind::Bytes,
                                data: &data,
                            }),
                        )
                        .to_vec(abi),
                    )
                }
                (Some(Message::Anonmmap(a)), Some(step)) => {
                    let addr = step
                        .memory
                        .iter()
                        .find_map(|(r, d)| match r {
                            MemRequest::Mmap { len } if *len == a.len => d
                                .get(..8)
                                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))),
                            _ => None,
                        })
                        .unwrap_or(0x7f00_dead_0000);
                    Some(
                        Frame::new(f.header.reqno, Message::AnonmmapResp(AnonmmapResp { addr }))
                            .to_vec(abi),
                    )
                }
                _ => None,
            };
            if let (Some(Message::Copyout(co)), Some(step)) = (typed, step_at(script, owner)) {
                if let Some(name) = ports::name_addr(step) {
                    // the recorded socket address at the name buffer, and ours
                    let at = |addr: u64, data: &[u8]| {
                        ports::address_in(addr, data, name)
                            .map(|o| data[o..o + usize::from(data[o])].to_vec())
                    };
                    let rec = step.recorded.iter().find_map(|r| match r.frame(abi) {
                        Ok(Frame {
                            message: Message::Copyout(rc),
                            ..
                        }) => at(rc.addr, rc.data),
                        _ => None,
                    });
                    if let (Some(rec), Some(ours)) = (rec, at(co.addr, co.data)) {
                        ports.learn(&rec, &ours);
                    }
                }
            }
            got.entry(owner).or_default().frames.push(f);
            if let Some(r) = reply {
                if wire.send(w, &r).is_err() {
                    break;
                }
            }
        }
        if closed {
            c.closed = true;
            c.wire = None;
            got.entry(index).or_default().closed = true;
            return;
        }
        let partial = c.dec.buffered() > 0 || !c.banner_done;
        let out_of_time = start.elapsed() >= STEP_TIME_LIMIT || frames_seen > STEP_FRAME_LIMIT;
        if out_of_time {
            if partial {
                got.entry(index).or_default().malformed = Some(format!(
                    "incomplete frame from the server after {} s ({} bytes buffered)",
                    STEP_TIME_LIMIT.as_secs(),
                    c.dec.buffered()
                ));
            }
            return;
        }
        if done && !partial {
            return;
        }
        // Nothing came: the call blocks (answered later), unless a frame is
        // half in, in which case its rest is on its way.
        if bytes.is_empty() && !partial {
            return;
        }
        if bytes.is_empty() && draining {
            return;
        }
    }
}

fn compare(step: &Step, index: usize, g: &Got, norm: &mut Norm) -> StepResult {
    let abi = Abi::Lp64Le;
    let request = step.frame.frame(abi).map_or_else(
        |_| "malformed frame".to_owned(),
        |_| crate::render::describe(&step.frame, abi),
    );
    let mut exp = outcome(&step.recorded, step.server_closed);
    let mut act = outcome(&g.frames, g.closed);
    if let Some(m) = &g.malformed {
        act.unexpected.push(m.clone());
    }
    let mut rules = Vec::new();
    norm.observe(step, &exp, &act);
    if exp == act {
        return StepResult {
            index,
            conn: step.conn,
            request,
            verdict: Verdict::Pass,
            rules,
            expected: show(&exp),
            actual: show(&act),
            diffs: Vec::new(),
        };
    }
    normalise::normalise_pair(step, &mut exp, &mut act, norm, &mut rules);
    if normalise::pids(step, &exp, &mut act, norm) {
        rules.push("pids");
    }
    if exp.copyins != act.copyins {
        let (ce, ca) = (
            normalise::coverage(&exp.copyins),
            normalise::coverage(&act.copyins),
        );
        if ce == ca {
            exp.copyins.clear();
            act.copyins.clear();
            rules.push("copyin-split");
        } else if g.concurrent {
            let (mut se, mut sa) = (ce, ca);
            se.sort_unstable();
            sa.sort_unstable();
            if se == sa {
                exp.copyins.clear();
                act.copyins.clear();
                rules.push("concurrent-order");
            }
        }
    }
    rules.sort_unstable();
    rules.dedup();
    let verdict = if exp == act {
        Verdict::PassNormalised
    } else {
        Verdict::Fail
    };
    let mut actual = show(&act);
    let mut diffs = Vec::new();
    if verdict == Verdict::Fail {
        diffs = diff::field_diffs(step, &exp, &act);
        for d in &diffs {
            actual.push_str("\n    ");
            actual.push_str(d);
        }
    }
    StepResult {
        index,
        conn: step.conn,
        request,
        verdict,
        rules,
        expected: show(&exp),
        actual,
        diffs,
    }
}
