//! The simulation loop: the server core, the simulated processes and the
//! network between them, advanced one scheduled event at a time.
//!
//! The server side is the production [`ServerCore`] with the simulated
//! kernel behind it, driven as the tokio server drives it (receive, drain,
//! disconnect, timers). Each process's connection is the production
//! [`ClientSession`], fed and drained as the tokio client does.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use rumpsp_protocol::banner::{find_banner_line, ReceivedBanner};
use rumpsp_protocol::client::{CallId, CallOutcome, ClientSession};
use rumpsp_protocol::server::{Accept, ConnId, SeededCookies, ServerCore, ServerLimits};
use rumpsp_protocol::{Banner, Class, FrameDecoder, FrameLimits, HandshakeKind, MsgType};
use rumpsp_protocol::{PreforkCookie, RawFrame};
use rumpsp_sim_kernel::{SimConfig, SimKernel};

use crate::log::{CallKind, Entry, EventLog};
use crate::net::{Chunk, Event, Faults, LinkId, Net, Schedule, Toward};
use crate::task::{poll_once, Chan, Reply, Request, Task};

/// Milliseconds a COPYIN may go unanswered before the call fails (the production default).
pub const COPYIN_TIMEOUT_MS: u64 = 30_000;
/// Virtual microseconds between runs of the server's timers.
const TICK_US: u64 = 100_000;
/// Virtual microseconds without any delivery or wake-up after which the run is declared stuck.
const QUIET_US: u64 = 120_000_000;

/// Counters of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests sent that expect an answer (syscalls, handshakes, preforks).
    pub calls: u64,
    /// Of those, syscalls.
    pub syscalls: u64,
    /// Requests answered.
    pub answered: u64,
    /// Requests whose connection broke before the answer.
    pub lost: u64,
    /// Connections opened.
    pub connections: u64,
    /// Disconnects injected.
    pub disconnects: u64,
    /// Stalls injected.
    pub stalls: u64,
    /// Of those, stalls past the server's COPYIN timeout.
    pub long_stalls: u64,
    /// Syscalls answered EFAULT on a connection with such a stall (the server's
    /// COPYIN timeout fired).
    pub timeouts: u64,
    /// Chunks delivered.
    pub chunks: u64,
    /// Events processed.
    pub events: u64,
    /// Virtual microseconds the run took.
    pub virtual_us: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// Created, not yet polled.
    Start,
    /// Waiting for a connection, handshake or call to be answered.
    Answer,
    /// Asleep until a Wake.
    Sleep,
    /// Running or finished.
    Nothing,
}

struct ClientConn {
    session: ClientSession,
    decoder: FrameDecoder,
    /// The banner bytes so far, until its newline arrives.
    banner: Option<Vec<u8>>,
    /// The handshake to send once the banner is in.
    handshake: Option<(HandshakeKind, Vec<u8>, Option<PreforkCookie>)>,
    inflight: Option<CallId>,
}

struct Actor {
    name: String,
    chan: Rc<RefCell<Chan>>,
    task: Option<Task>,
    link: Option<LinkId>,
    conn: Option<ClientConn>,
    waiting: Waiting,
    /// What it last asked for (for the stuck report).
    last_request: String,
}

/// The whole simulated system.
pub struct World {
    now: u64,
    sched: Schedule,
    net: Net,
    core: ServerCore<SimKernel>,
    actors: Vec<Actor>,
    link_actor: Vec<usize>,
    link_conn: Vec<Option<ConnId>>,
    conn_link: BTreeMap<ConnId, LinkId>,
    live: usize,
    last_progress: u64,
    tick_pending: bool,
    /// The event log.
    pub log: EventLog,
    /// Counters.
    pub stats: Stats,
    /// Checker failures found while running.
    pub violations: Vec<String>,
}

impl World {
    /// A booted server for `seed` and an empty network.
    pub fn new(seed: u64, faults: Faults, keep_log: bool, hostname: &str) -> World {
        let mut kernel = SimKernel::new(SimConfig {
            seed,
            hostname: hostname.to_owned(),
            ..SimConfig::default()
        });
        // as the clients of the recorded traces do: a tmpfs on /tmp (rumpfs cannot rename)
        let vfs = &mut kernel.vfs;
        if let Some(tmp) = vfs.child(vfs.root, b"tmp") {
            let now = kernel.clock.realtime();
            vfs.mount_tmpfs(tmp, "/tmp".into(), 0, 0, 0, 0, (0, 0, 0o1777), now);
        }
        let core = ServerCore::new(
            kernel,
            ServerLimits::default(),
            &Banner::default(),
            Box::new(SeededCookies::new(seed)),
        )
        .expect("the default banner encodes");
        World {
            now: 0,
            sched: Schedule::default(),
            net: Net::new(seed, faults),
            core,
            actors: Vec::new(),
            link_actor: Vec::new(),
            link_conn: Vec::new(),
            conn_link: BTreeMap::new(),
            live: 0,
            last_progress: 0,
            tick_pending: false,
            log: EventLog::new(keep_log),
            stats: Stats::default(),
            violations: Vec::new(),
        }
    }

    /// The server.
    pub fn core(&self) -> &ServerCore<SimKernel> {
        &self.core
    }

    /// The server, mutably (for checks that tamper on purpose).
    pub fn core_mut(&mut self) -> &mut ServerCore<SimKernel> {
        &mut self.core
    }

    /// Adds a process running `task`; it starts at the current virtual time.
    pub fn spawn(&mut self, name: String, task: Task, chan: Rc<RefCell<Chan>>) {
        let id = self.actors.len();
        self.log.record(
            self.now,
            Entry::Start {
                actor: id,
                name: &name,
            },
        );
        self.actors.push(Actor {
            name,
            chan,
            task: Some(task),
            link: None,
            conn: None,
            waiting: Waiting::Start,
            last_request: String::new(),
        });
        self.live += 1;
        self.sched.at(self.now, Event::Wake(id));
    }

    /// Processes one scheduled event; false when nothing is left to do (every
    /// process has finished, or nothing has moved for a long while).
    pub fn step(&mut self) -> bool {
        let Some((t, ev)) = self.sched.pop() else {
            return false;
        };
        self.now = t;
        self.stats.events += 1;
        match ev {
            Event::Tick => self.tick(),
            Event::Wake(a) => {
                self.last_progress = t;
                self.wake(a);
            }
            Event::Deliver(l, to) => {
                self.last_progress = t;
                self.deliver(l, to);
            }
        }
        if !self.tick_pending
            && self.live > 0
            && self.now.saturating_sub(self.last_progress) < QUIET_US
        {
            self.tick_pending = true;
            self.sched.at(self.now + TICK_US, Event::Tick);
        }
        true
    }

    /// Runs until [`World::step`] has nothing left.
    pub fn run(&mut self) {
        while self.step() {}
        self.stats.virtual_us = self.now;
    }

    /// Processes that never finished, and what each was waiting for.
    pub fn stuck(&self) -> Vec<String> {
        self.actors
            .iter()
            .filter(|a| a.task.is_some())
            .map(|a| {
                format!(
                    "{} never finished: still waiting for {} after {} s of virtual time without progress",
                    a.name,
                    a.last_request,
                    QUIET_US / 1_000_000
                )
            })
            .collect()
    }

    /// The virtual time, in microseconds.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Lets virtual time pass with no clients (unredeemed preforks expire).
    pub fn idle(&mut self, us: u64) {
        self.now += us;
        self.core.set_time(self.now / 1000);
        self.core.expire_waits(COPYIN_TIMEOUT_MS);
        self.core.expire_preforks();
        self.flush_server();
        self.log.record(self.now, Entry::Idle { us });
    }

    fn tick(&mut self) {
        self.tick_pending = false;
        self.core.set_time(self.now / 1000);
        self.core.expire_waits(COPYIN_TIMEOUT_MS);
        self.core.expire_preforks();
        self.flush_server();
    }

    fn wake(&mut self, a: usize) {
        match self.actors[a].waiting {
            Waiting::Sleep => {
                self.actors[a].chan.borrow_mut().reply = Some(Reply::Ok);
            }
            Waiting::Start => {}
            _ => return,
        }
        self.actors[a].waiting = Waiting::Nothing;
        self.poll(a);
    }

    /// Runs a process until it waits for something the simulation must deliver.
    fn poll(&mut self, a: usize) {
        loop {
            let Some(task) = self.actors[a].task.as_mut() else {
                return;
            };
            let ready = poll_once(task).is_ready();
            let spawned = std::mem::take(&mut self.actors[a].chan.borrow_mut().spawned);
            for (name, task, chan) in spawned {
                self.spawn(name, task, chan);
            }
            if ready {
                self.actors[a].task = None;
                self.live -= 1;
                self.log.record(self.now, Entry::Exit { actor: a });
                if let Some(l) = self.actors[a].link.take() {
                    self.net.close(&mut self.sched, self.now, l, Toward::Server);
                }
                self.actors[a].conn = None;
                return;
            }
            let Some(req) = self.actors[a].chan.borrow_mut().request.take() else {
                return;
            };
            match self.handle(a, req) {
                Some(reply) => self.actors[a].chan.borrow_mut().reply = Some(reply),
                None => return,
            }
        }
    }

    /// Starts a request; `Some` when it is answered at once.
    fn handle(&mut self, a: usize, req: Request) -> Option<Reply> {
        self.actors[a].last_request = match &req {
            Request::Syscall { nr, .. } => format!("syscall {nr}"),
            other => format!("{other:?}").chars().take(60).collect(),
        };
        match req {
            Request::Connect { kind, name, cookie } => {
                if self.actors[a].link.is_some() {
                    return Some(Reply::Transport("already connected".into()));
                }
                let l = self.net.open();
                self.link_actor.push(a);
                self.link_conn.push(None);
                self.stats.connections += 1;
                self.actors[a].link = Some(l);
                self.actors[a].conn = Some(ClientConn {
                    session: ClientSession::new(1),
                    decoder: FrameDecoder::new(FrameLimits::default()),
                    banner: Some(Vec::new()),
                    handshake: Some((kind, name, cookie)),
                    inflight: None,
                });
                self.actors[a].waiting = Waiting::Answer;
                self.actors[a].chan.borrow_mut().long_stalls = 0;
                let conn = match self.core.accept() {
                    Accept::Open(id) => {
                        self.link_conn[l] = Some(id);
                        self.conn_link.insert(id, l);
                        Some(id)
                    }
                    Accept::Refused => {
                        self.net.close(&mut self.sched, self.now, l, Toward::Client);
                        None
                    }
                };
                let e = Entry::Connect {
                    actor: a,
                    link: l,
                    conn,
                    kind,
                };
                self.log.record(self.now, e);
                self.flush_server();
                None
            }
            Request::Syscall { nr, args } => self.start_call(a, |s| s.syscall(nr, args), Some(nr)),
            Request::Prefork => self.start_call(a, |s| s.prefork(), None),
            Request::Exec(name) => {
                self.start_call(a, |s| s.handshake(HandshakeKind::Exec, &name, None), None)
            }
            Request::Sleep(us) => {
                self.actors[a].waiting = Waiting::Sleep;
                self.sched.at(self.now + us, Event::Wake(a));
                None
            }
            Request::Close => {
                if let Some(l) = self.actors[a].link.take() {
                    self.log
                        .record(self.now, Entry::Close { actor: a, link: l });
                    self.net.close(&mut self.sched, self.now, l, Toward::Server);
                }
                self.actors[a].conn = None;
                Some(Reply::Ok)
            }
        }
    }

    fn start_call(
        &mut self,
        a: usize,
        start: impl FnOnce(&mut ClientSession) -> CallId,
        sysnum: Option<u32>,
    ) -> Option<Reply> {
        let (Some(l), Some(conn)) = (self.actors[a].link, self.actors[a].conn.as_mut()) else {
            return Some(Reply::Transport("not connected".into()));
        };
        if conn.banner.is_some() || conn.inflight.is_some() {
            return Some(Reply::Transport("a call is already in flight".into()));
        }
        let id = start(&mut conn.session);
        conn.inflight = Some(id);
        let out = conn.session.take_output();
        self.stats.calls += 1;
        let what = match sysnum {
            Some(nr) => {
                self.stats.syscalls += 1;
                CallKind::Syscall(nr)
            }
            None => CallKind::Other,
        };
        let e = Entry::Call {
            actor: a,
            reqno: id,
            what,
        };
        self.log.record(self.now, e);
        self.actors[a].waiting = Waiting::Answer;
        self.write(l, Toward::Server, &out);
        None
    }

    fn write(&mut self, l: LinkId, to: Toward, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let fate = self.net.write(&mut self.sched, self.now, l, to, bytes);
        let e = Entry::Write {
            link: l,
            toward: to,
            len: bytes.len(),
            fate,
        };
        self.log.record(self.now, e);
        if fate.stalled_us > 0 {
            self.stats.stalls += 1;
        }
        if fate.stalled_us >= COPYIN_TIMEOUT_MS * 1000 {
            self.stats.long_stalls += 1;
            let mut chan = self.actors[self.link_actor[l]].chan.borrow_mut();
            chan.long_stalls += 1;
            chan.faults += 1;
        }
        if fate.cut_at.is_some() {
            self.stats.disconnects += 1;
            let a = self.link_actor[l];
            self.actors[a].chan.borrow_mut().faults += 1;
        }
    }

    fn deliver(&mut self, l: LinkId, to: Toward) {
        let Some(chunk) = self.net.take(l, to, self.now) else {
            return;
        };
        self.stats.chunks += 1;
        let e = match &chunk {
            Chunk::Data(d) => Entry::Read {
                link: l,
                toward: to,
                len: d.len(),
            },
            other => Entry::End {
                link: l,
                toward: to,
                reset: *other == Chunk::Reset,
            },
        };
        self.log.record(self.now, e);
        match to {
            Toward::Server => self.server_gets(l, chunk),
            Toward::Client => self.client_gets(l, chunk),
        }
    }

    fn server_gets(&mut self, l: LinkId, chunk: Chunk) {
        let Some(id) = self.link_conn[l] else {
            return;
        };
        self.core.set_time(self.now / 1000);
        match chunk {
            Chunk::Data(d) => self.core.receive(id, &d),
            Chunk::Eof | Chunk::Reset => {
                self.core.disconnect(id);
                self.link_conn[l] = None;
                self.conn_link.remove(&id);
            }
        }
        self.flush_server();
    }

    /// Writes out everything the server has queued, as the tokio server does after each call.
    fn flush_server(&mut self) {
        for (id, out) in self.core.drain() {
            let Some(&l) = self.conn_link.get(&id) else {
                continue;
            };
            self.write(l, Toward::Client, &out.bytes);
            if out.close {
                self.log.record(self.now, Entry::ServerCloses { conn: id });
                self.net.close(&mut self.sched, self.now, l, Toward::Client);
                self.core.disconnect(id);
                self.link_conn[l] = None;
                self.conn_link.remove(&id);
            }
        }
    }

    fn client_gets(&mut self, l: LinkId, chunk: Chunk) {
        let a = self.link_actor[l];
        if self.actors[a].link != Some(l) {
            return; // a connection the process has already closed
        }
        match chunk {
            Chunk::Data(d) => self.client_data(a, l, d),
            Chunk::Eof => self.client_lost(a, l, "the server closed the connection".into()),
            Chunk::Reset => self.client_lost(a, l, "connection reset".into()),
        }
    }

    fn client_data(&mut self, a: usize, l: LinkId, d: Vec<u8>) {
        let Some(conn) = self.actors[a].conn.as_mut() else {
            return;
        };
        let mut problem = None;
        if let Some(buf) = conn.banner.as_mut() {
            buf.extend_from_slice(&d);
            match find_banner_line(buf) {
                Ok(None) => return,
                Ok(Some(n)) => {
                    let rest = buf.split_off(n);
                    if let Err(e) = ReceivedBanner::from_line(buf).parsed {
                        problem = Some(format!("banner does not parse: {e}"));
                    }
                    conn.banner = None;
                    conn.decoder.feed(&rest);
                    if let Some((kind, name, cookie)) = conn.handshake.take() {
                        let id = conn.session.handshake(kind, &name, cookie);
                        conn.inflight = Some(id);
                        self.stats.calls += 1;
                        let e = Entry::Call {
                            actor: a,
                            reqno: id,
                            what: CallKind::Handshake,
                        };
                        self.log.record(self.now, e);
                    }
                }
                Err(e) => problem = Some(format!("no banner: {e}")),
            }
        } else {
            conn.decoder.feed(&d);
        }
        let mut outcome = None;
        while problem.is_none() {
            match conn.decoder.next_frame() {
                Ok(Some(f)) => {
                    if let Some(p) = unsolicited(&f, conn.inflight) {
                        problem = Some(p);
                    } else if let Err(e) = conn.session.receive(&f) {
                        problem = Some(e.to_string());
                    } else if let Some(id) = conn.inflight {
                        // taken at once, so a second answer in the same read is caught
                        if let Some(o) = conn.session.take_outcome(id) {
                            conn.inflight = None;
                            outcome = Some((id, o));
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => problem = Some(format!("undecodable server frame: {e}")),
            }
        }
        if conn.session.stray > 0 {
            problem = Some(format!(
                "the server asked for client memory no call in flight exposes ({} times)",
                conn.session.stray
            ));
        }
        let out = conn.session.take_output();
        if let Some(p) = problem {
            // a client closes a connection whose server it cannot follow
            self.violations
                .push(format!("{} on L{l}: {p}", self.actors[a].name));
            self.net.close(&mut self.sched, self.now, l, Toward::Server);
            self.client_lost(a, l, p);
            return;
        }
        self.write(l, Toward::Server, &out);
        if let Some((id, outcome)) = outcome {
            self.stats.answered += 1;
            if matches!(outcome, CallOutcome::Syscall { errno: 14, .. })
                && self.actors[a].chan.borrow().long_stalls > 0
            {
                self.stats.timeouts += 1;
            }
            let e = Entry::Ret {
                actor: a,
                reqno: id,
                outcome: &outcome,
            };
            self.log.record(self.now, e);
            self.actors[a].waiting = Waiting::Nothing;
            self.actors[a].chan.borrow_mut().reply = Some(Reply::Done(outcome));
            self.poll(a);
        }
    }

    fn client_lost(&mut self, a: usize, l: LinkId, why: String) {
        let e = Entry::Lost {
            actor: a,
            link: l,
            why: &why,
        };
        self.log.record(self.now, e);
        if !self.net.link(l).faulted {
            self.violations.push(format!(
                "{}: connection L{l} lost without an injected fault ({why})",
                self.actors[a].name
            ));
        }
        self.actors[a].link = None;
        let conn = self.actors[a].conn.take();
        if self.actors[a].waiting == Waiting::Answer {
            if conn.is_some_and(|c| c.inflight.is_some()) {
                self.stats.lost += 1;
            }
            self.actors[a].waiting = Waiting::Nothing;
            self.actors[a].chan.borrow_mut().reply = Some(Reply::Transport(why));
            self.poll(a);
        }
    }

    /// Writes `bytes` into a link as if its peer had sent them (tests use it to
    /// play a misbehaving server or client).
    pub fn inject(&mut self, l: LinkId, to: Toward, bytes: &[u8]) {
        if l < self.net.len() {
            self.write(l, to, bytes);
        }
    }

    /// The link a process is connected by, if any.
    pub fn link_of(&self, actor: usize) -> Option<LinkId> {
        self.actors.get(actor)?.link
    }

    /// Processes that have not finished.
    pub fn unfinished(&self) -> usize {
        self.live
    }
}

/// A complaint if `f` answers a request that is not the one in flight.
fn unsolicited(f: &RawFrame, inflight: Option<CallId>) -> Option<String> {
    let answer = match Class::from_u16(f.header.class) {
        Some(Class::Error) => true,
        Some(Class::Resp) => matches!(
            MsgType::from_u16(f.header.ty),
            Some(MsgType::Syscall | MsgType::Handshake | MsgType::Prefork)
        ),
        _ => false,
    };
    (answer && inflight != Some(f.header.reqno)).then(|| {
        format!(
            "an answer for request #{} which is not outstanding (in flight: {inflight:?})",
            f.header.reqno
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumpsp_protocol::frame::{Frame, Message, SyscallResp};
    use rumpsp_protocol::Abi;

    fn answer(reqno: u64) -> RawFrame {
        let mut b = Vec::new();
        Frame::new(reqno, Message::SyscallResp(SyscallResp::default())).encode(Abi::Lp64Le, &mut b);
        let (mut frames, err) = rumpsp_protocol::frame_all(&b, FrameLimits::default());
        assert!(err.is_none());
        frames.remove(0)
    }

    #[test]
    fn an_answer_to_nothing_in_flight_is_flagged() {
        assert_eq!(unsolicited(&answer(5), Some(5)), None);
        assert!(unsolicited(&answer(5), Some(6)).is_some());
        assert!(unsolicited(&answer(5), None).is_some(), "a second answer");
    }
}
