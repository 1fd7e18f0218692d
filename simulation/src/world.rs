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
    /// The handshake to send once the banner is in, and the thread waiting for it.
    handshake: Option<(HandshakeKind, Vec<u8>, Option<PreforkCookie>, usize)>,
    /// Requests in flight and the thread waiting for each.
    calls: BTreeMap<CallId, usize>,
}

/// What a thread last asked for (kept for the report of threads that never finish).
#[derive(Debug, Clone, Copy)]
enum Asked {
    Nothing,
    Syscall(u32),
    Other(&'static str),
}

impl std::fmt::Display for Asked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Asked::Nothing => f.write_str("nothing"),
            Asked::Syscall(nr) => write!(f, "syscall {nr}"),
            Asked::Other(what) => f.write_str(what),
        }
    }
}

/// One thread of a simulated process: a task and its mailbox.
struct Thread {
    chan: Rc<RefCell<Chan>>,
    task: Option<Task>,
    waiting: Waiting,
    /// What it last asked for (for the stuck report).
    last_request: Asked,
}

/// A simulated process: its connection and its threads (thread 0 owns the
/// connection; the others share it, as the threads of a librumpclient
/// program share its socket).
struct Actor {
    name: String,
    link: Option<LinkId>,
    conn: Option<ClientConn>,
    threads: Vec<Thread>,
}

impl Actor {
    /// Counts a fault against every thread's view of the process.
    fn note_fault(&self, long_stall: bool) {
        for t in &self.threads {
            let mut c = t.chan.borrow_mut();
            c.faults += 1;
            if long_stall {
                c.long_stalls += 1;
                c.long_stalls_ever += 1;
            }
        }
    }
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
    /// Threads not finished.
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
            // file systems, AF_LOCAL and AF_INET over lo0 (the socket workload)
            components: "vfs,tmpfs,net,local,inet"
                .parse()
                .expect("a valid component list"),
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

    /// Adds a process whose first thread runs `task`; it starts at the current virtual time.
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
            link: None,
            conn: None,
            threads: Vec::new(),
        });
        self.add_thread(id, task, chan);
    }

    fn add_thread(&mut self, a: usize, task: Task, chan: Rc<RefCell<Chan>>) {
        let t = self.actors[a].threads.len();
        self.actors[a].threads.push(Thread {
            chan,
            task: Some(task),
            waiting: Waiting::Start,
            last_request: Asked::Nothing,
        });
        self.live += 1;
        self.sched.at(self.now, Event::Wake(a, t));
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
            Event::Wake(a, th) => {
                self.last_progress = t;
                self.wake(a, th);
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

    /// Threads that never finished, and what each was waiting for.
    pub fn stuck(&self) -> Vec<String> {
        let mut v = Vec::new();
        for a in &self.actors {
            for (i, t) in a.threads.iter().enumerate() {
                if t.task.is_some() {
                    v.push(format!(
                        "{} (thread {i}) never finished: still waiting for {} after {} s of \
                         virtual time without progress",
                        a.name,
                        t.last_request,
                        QUIET_US / 1_000_000
                    ));
                }
            }
        }
        v
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

    fn thread(&mut self, a: usize, t: usize) -> &mut Thread {
        &mut self.actors[a].threads[t]
    }

    fn wake(&mut self, a: usize, t: usize) {
        match self.thread(a, t).waiting {
            Waiting::Sleep => self.answer(a, t, Reply::Ok),
            Waiting::Start => {
                self.thread(a, t).waiting = Waiting::Nothing;
                self.poll(a, t);
            }
            _ => {}
        }
    }

    /// Hands a thread its answer and runs it on.
    fn answer(&mut self, a: usize, t: usize, r: Reply) {
        let th = self.thread(a, t);
        th.waiting = Waiting::Nothing;
        th.chan.borrow_mut().reply = Some(r);
        self.poll(a, t);
    }

    /// Runs a thread until it waits for something the simulation must deliver.
    fn poll(&mut self, a: usize, t: usize) {
        loop {
            let th = self.thread(a, t);
            let Some(task) = th.task.as_mut() else {
                return;
            };
            let ready = poll_once(task).is_ready();
            let (spawned, threads) = {
                let mut c = th.chan.borrow_mut();
                (
                    std::mem::take(&mut c.spawned),
                    std::mem::take(&mut c.threads),
                )
            };
            for (name, task, chan) in spawned {
                self.spawn(name, task, chan);
            }
            for (task, chan) in threads {
                self.add_thread(a, task, chan);
            }
            if ready {
                self.thread(a, t).task = None;
                self.live -= 1;
                if t == 0 {
                    self.log.record(self.now, Entry::Exit { actor: a });
                    if let Some(l) = self.actors[a].link.take() {
                        self.check_idle(a, l, "exits");
                        self.net.close(&mut self.sched, self.now, l, Toward::Server);
                    }
                    self.lose_conn(a, "the process exited");
                }
                return;
            }
            let Some(req) = self.thread(a, t).chan.borrow_mut().request.take() else {
                return;
            };
            match self.handle(a, t, req) {
                Some(reply) => self.thread(a, t).chan.borrow_mut().reply = Some(reply),
                None => return,
            }
        }
    }

    /// Starts a request; `Some` when it is answered at once.
    fn handle(&mut self, a: usize, t: usize, req: Request) -> Option<Reply> {
        self.thread(a, t).last_request = match &req {
            Request::Syscall { nr, .. } => Asked::Syscall(*nr),
            Request::Connect { .. } => Asked::Other("a connection"),
            Request::Prefork => Asked::Other("a PREFORK"),
            Request::Exec(_) => Asked::Other("an EXEC"),
            Request::Sleep(_) => Asked::Other("a sleep"),
            Request::Close => Asked::Other("a close"),
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
                    handshake: Some((kind, name, cookie, t)),
                    calls: BTreeMap::new(),
                });
                self.thread(a, t).waiting = Waiting::Answer;
                for th in &self.actors[a].threads {
                    th.chan.borrow_mut().long_stalls = 0;
                }
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
            Request::Syscall { nr, args } => {
                self.start_call(a, t, |s| s.syscall(nr, args), Some(nr))
            }
            Request::Prefork => self.start_call(a, t, |s| s.prefork(), None),
            Request::Exec(name) => self.start_call(
                a,
                t,
                |s| s.handshake(HandshakeKind::Exec, &name, None),
                None,
            ),
            Request::Sleep(us) => {
                self.thread(a, t).waiting = Waiting::Sleep;
                self.sched.at(self.now + us, Event::Wake(a, t));
                None
            }
            Request::Close => {
                if let Some(l) = self.actors[a].link.take() {
                    self.log
                        .record(self.now, Entry::Close { actor: a, link: l });
                    self.check_idle(a, l, "closes its connection");
                    self.net.close(&mut self.sched, self.now, l, Toward::Server);
                }
                self.lose_conn(a, "the process closed its connection");
                Some(Reply::Ok)
            }
        }
    }

    fn start_call(
        &mut self,
        a: usize,
        t: usize,
        start: impl FnOnce(&mut ClientSession) -> CallId,
        sysnum: Option<u32>,
    ) -> Option<Reply> {
        let (Some(l), Some(conn)) = (self.actors[a].link, self.actors[a].conn.as_mut()) else {
            return Some(Reply::Transport("not connected".into()));
        };
        if conn.banner.is_some() {
            return Some(Reply::Transport("not connected yet".into()));
        }
        let id = start(&mut conn.session);
        conn.calls.insert(id, t);
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
        self.thread(a, t).waiting = Waiting::Answer;
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
        let actor = &self.actors[self.link_actor[l]];
        if fate.stalled_us >= COPYIN_TIMEOUT_MS * 1000 {
            self.stats.long_stalls += 1;
            actor.note_fault(true);
        }
        if fate.cut_at.is_some() {
            self.stats.disconnects += 1;
            actor.note_fault(false);
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
                    if let Some((kind, name, cookie, t)) = conn.handshake.take() {
                        let id = conn.session.handshake(kind, &name, cookie);
                        conn.calls.insert(id, t);
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
        let mut done = Vec::new();
        while problem.is_none() {
            match conn.decoder.next_frame() {
                Ok(Some(f)) => {
                    if let Some(p) = unsolicited(&f, &conn.calls) {
                        problem = Some(p);
                    } else if let Err(e) = conn.session.receive(&f) {
                        problem = Some(e.to_string());
                    } else if let Some(o) = conn.session.take_outcome(f.header.reqno) {
                        // taken at once, so a second answer in the same read is caught
                        if let Some(t) = conn.calls.remove(&f.header.reqno) {
                            done.push((f.header.reqno, t, o));
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
        for (id, t, outcome) in done {
            self.stats.answered += 1;
            if matches!(outcome, CallOutcome::Syscall { errno: 14, .. })
                && self.thread(a, t).chan.borrow().long_stalls > 0
            {
                self.stats.timeouts += 1;
            }
            let e = Entry::Ret {
                actor: a,
                reqno: id,
                outcome: &outcome,
            };
            self.log.record(self.now, e);
            self.answer(a, t, Reply::Done(outcome));
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
        self.lose_conn(a, &why);
    }

    /// A process that closes a healthy connection must not have calls in flight
    /// on it (they could only fail without a fault to blame).
    fn check_idle(&mut self, a: usize, l: LinkId, what: &str) {
        let busy = self.actors[a].conn.as_ref().map_or(0, |c| c.calls.len());
        if busy > 0
            && !self.net.link(l).faulted
            && self.actors[a].threads[0].chan.borrow().long_stalls == 0
        {
            self.violations.push(format!(
                "{} {what} with {busy} calls of other threads in flight",
                self.actors[a].name
            ));
        }
    }

    /// Drops the process's connection state; every thread waiting on it gets a transport error.
    fn lose_conn(&mut self, a: usize, why: &str) {
        let Some(conn) = self.actors[a].conn.take() else {
            return;
        };
        self.stats.lost += conn.calls.len() as u64;
        let waiting = conn.calls.into_values().chain(conn.handshake.map(|h| h.3));
        for t in waiting.collect::<Vec<_>>() {
            if self.thread(a, t).waiting == Waiting::Answer {
                self.answer(a, t, Reply::Transport(why.to_owned()));
            }
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
}

/// A complaint if `f` answers a request that is not in flight.
fn unsolicited(f: &RawFrame, calls: &BTreeMap<CallId, usize>) -> Option<String> {
    let answer = match Class::from_u16(f.header.class) {
        Some(Class::Error) => true,
        Some(Class::Resp) => matches!(
            MsgType::from_u16(f.header.ty),
            Some(MsgType::Syscall | MsgType::Handshake | MsgType::Prefork)
        ),
        _ => false,
    };
    (answer && !calls.contains_key(&f.header.reqno)).then(|| {
        format!(
            "an answer for request #{} which is not outstanding (in flight: {:?})",
            f.header.reqno,
            calls.keys().collect::<Vec<_>>()
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
        let inflight = |ids: &[u64]| ids.iter().map(|i| (*i, 0)).collect::<BTreeMap<_, _>>();
        assert_eq!(unsolicited(&answer(5), &inflight(&[4, 5])), None);
        assert!(unsolicited(&answer(5), &inflight(&[6])).is_some());
        assert!(
            unsolicited(&answer(5), &inflight(&[])).is_some(),
            "a second answer"
        );
    }
}
