//! The sans-IO rump_sp server: every connection's protocol state, the prefork
//! table and the kernel, driven by plain method calls. The tokio server, the
//! fuzzers and the deterministic simulation all drive this same code.
//!
//! Dispatch follows the reference (`rumpuser_sp.c`, spec §7.3 and the §7.5
//! table) on valid input and hardens where the reference trusts its peer; the
//! choices are listed in `protocol/SERVER.md`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;

use crate::abi::Abi;
use crate::args::SyscallArgs;
use crate::banner::{Banner, BannerError};
use crate::codes::{Class, ErrorCode, MsgType};
use crate::decoder::{FrameDecoder, RawFrame};
use crate::error::MessageError;
use crate::frame::{
    AnonmmapReq, CopyinKind, CopyinReq, CopyoutKind, CopyoutReq, Frame, Handshake, HandshakeResp,
    Message, PreforkCookie, PreforkResp, Raise, SyscallResp, COOKIE_LEN,
};
use crate::kernel::{Fetched, Kernel, MemRequest, Pid, SyscallStep};
use crate::netbsd::{syscall, SYS_NSYSENT};

use super::conn::{AuthState, Awaited, CallState, Conn, ConnState, PendingCall};
use super::cookies::CookieSource;
use super::inject::{Injected, InjectedBug};
use super::limits::ServerLimits;

/// Identifies a connection of a [`ServerCore`].
pub type ConnId = u64;

/// NetBSD errno values the server itself produces.
const EINTR: i32 = 4;
const ENOMEM: i32 = 12;
const EFAULT: i32 = 14;
const EBUSY: i32 = 16;
const ENOSYS: i32 = 78;

/// How many faulted memory requests one call may run into before it is failed with EFAULT.
const MAX_FAULT_RETRIES: usize = 16;

/// read(2) and pread(2): their byte count (slot 2) is what one answer copies out.
const SYS_READ: u32 = 3;
const SYS_PREAD: u32 = 173;

/// A read(2)/pread(2) asking for more than `max` bytes is served as a read of
/// `max` bytes (a short read, which callers must handle anyway): one answer never
/// copies out more than `max`. Counts above SSIZE_MAX are left alone, so the
/// kernel still refuses them with EINVAL as NetBSD does.
fn clamp_read_count(sysnum: u32, args: Bytes, max: u64) -> Bytes {
    if sysnum != SYS_READ && sysnum != SYS_PREAD {
        return args;
    }
    let w = Abi::Lp64Le.word_size();
    let at = 2 * Abi::Lp64Le.slot_size();
    let Some(count) = args.get(at..at + w).and_then(|b| Abi::Lp64Le.read_word(b)) else {
        return args;
    };
    if count <= max || count > i64::MAX as u64 {
        return args;
    }
    let mut v = args.to_vec();
    v[at..at + w].copy_from_slice(&max.to_le_bytes());
    Bytes::from(v)
}

/// An answer with more than this still to come is given its whole buffer
/// at once ([`FrameDecoder::reserve_pending`]).
const RESERVE_AHEAD: u64 = 1 << 20;

/// Bytes beyond what was asked that an answer (RESP) may carry before it is
/// refused unbuffered; an unmatched RESP may carry at most this many.
const RESP_SLACK: u64 = 4096;

/// What [`ask`] did with a call's memory requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// Sent to the client (or the call is gone): wait for the answers.
    Sent,
    /// Faulted (the exec started, or the call would hold more than
    /// [`ServerLimits::max_call_memory`]): run the call again.
    Faulted,
    /// The answers would take the server past
    /// [`ServerLimits::max_buffered_total`]: the call fails with ENOMEM.
    OverBudget,
}

/// The server-wide budget of [`ServerLimits::max_buffered_total`]: bytes
/// reserved for calls' client memory, and bytes buffered on connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Budget {
    /// Bytes asked for by outstanding calls (each call's reservation is kept
    /// until it finishes: what came back stays held while it runs or blocks).
    reserved: u64,
    /// Input not yet framed and output not yet written, over every connection
    /// (as last counted by [`ServerCore::recount`]).
    io: u64,
    /// The limit.
    max: u64,
}

impl Budget {
    fn used(&self) -> u64 {
        self.reserved.saturating_add(self.io)
    }

    /// True if `more` bytes still fit.
    fn fits(&self, more: u64) -> bool {
        self.used().saturating_add(more) <= self.max
    }
}

/// Sends a call's memory requests (one round: all at once), records them as
/// awaited and reserves their size in `budget`; see [`Asked`] for the rest.
fn ask(
    c: &mut Conn,
    creq: u64,
    reqs: Vec<MemRequest>,
    exec_started: bool,
    max_mem: u64,
    budget: &mut Budget,
    now: u64,
) -> Asked {
    let Some(call) = c.calls.get_mut(&creq) else {
        return Asked::Sent;
    };
    let wanted = reqs
        .iter()
        .map(|r| match *r {
            MemRequest::Bytes { len, .. } => len,
            MemRequest::Str { max, .. } => max,
            MemRequest::Mmap { .. } => 0,
        })
        .fold(0u64, u64::saturating_add);
    let over = (call.mem.bytes_held() as u64).saturating_add(wanted) > max_mem;
    if exec_started || over || reqs.is_empty() {
        for r in reqs {
            call.mem.push(r, Fetched::Fault);
        }
        return Asked::Faulted;
    }
    if !budget.fits(wanted) {
        return Asked::OverBudget;
    }
    call.reserved = call.reserved.saturating_add(wanted);
    budget.reserved = budget.reserved.saturating_add(wanted);
    let mut answers = Vec::with_capacity(reqs.len());
    for req in reqs {
        let r = c.take_reqno();
        answers.push(Awaited {
            sreq: r,
            req,
            got: None,
        });
        c.waiting.insert(r, creq);
        c.send(Frame::new(r, request_message(req)));
    }
    if let Some(call) = c.calls.get_mut(&creq) {
        call.state = CallState::Awaiting {
            answers,
            asked_at_ms: now,
        };
    }
    Asked::Sent
}

/// The request a kernel's memory request is sent as.
fn request_message(req: MemRequest) -> Message<'static> {
    match req {
        MemRequest::Bytes { addr, len } => Message::Copyin(CopyinReq {
            kind: CopyinKind::Bytes,
            len,
            addr,
        }),
        MemRequest::Str { addr, max } => Message::Copyin(CopyinReq {
            kind: CopyinKind::Str,
            len: max,
            addr,
        }),
        MemRequest::Mmap { len } => Message::Anonmmap(AnonmmapReq { len }),
    }
}

/// What the kernel gets for `req` from the client's answer (decoded as the
/// answer to it, [`Message::decode_answer`]).
fn fetched(req: MemRequest, answer: Result<Message<'_>, MessageError>) -> Fetched {
    match (req, answer) {
        // Longer answers are cut to the length asked for (the reference does the
        // same); shorter ones are a fault (the reference over-reads its heap).
        (MemRequest::Bytes { len, .. }, Ok(Message::CopyinResp(r))) => match usize::try_from(len) {
            Ok(n) if r.data.len() >= n => Fetched::Data(r.data[..n].to_vec()),
            _ => Fetched::Fault,
        },
        // An empty answer is a fault; one longer than the maximum is cut to it, so
        // the kernel finds no NUL and answers ENAMETOOLONG, as the reference did.
        (MemRequest::Str { max, .. }, Ok(Message::CopyinResp(r))) => {
            let n = usize::try_from(max).unwrap_or(usize::MAX).min(r.data.len());
            if n == 0 {
                Fetched::Fault
            } else {
                Fetched::Data(r.data[..n].to_vec())
            }
        }
        // An address is exactly one word; anything else is a fault.
        (MemRequest::Mmap { .. }, Ok(Message::AnonmmapResp(a))) => Fetched::Mapped(a.addr),
        _ => Fetched::Fault,
    }
}

/// True unless `h` is a request of a type only a server sends (COPYIN,
/// COPYOUT, ANONMMAP, RAISE and unknown ones) with a body over
/// `max_control_body`: the server answers such a request MALFORMED whatever
/// it carries, so a large one is refused before its body is buffered.
fn req_fits(h: &crate::header::Header, limits: &crate::limits::FrameLimits) -> bool {
    if Class::from_u16(h.class) != Some(Class::Req) {
        return true;
    }
    match MsgType::from_u16(h.ty) {
        Some(MsgType::Handshake | MsgType::Syscall | MsgType::Prefork) => true,
        _ => h.len.saturating_sub(crate::header::HEADER_LEN as u64) <= limits.max_control_body,
    }
}

/// True unless `h` is a RESP whose body exceeds what the connection asked for
/// by that reqno (plus [`RESP_SLACK`]).
fn resp_fits(c: &Conn, h: &crate::header::Header) -> bool {
    if Class::from_u16(h.class) != Some(Class::Resp) {
        return true;
    }
    let body = h.len.saturating_sub(crate::header::HEADER_LEN as u64);
    let wanted = c
        .waiting
        .get(&h.reqno)
        .and_then(|creq| c.calls.get(creq))
        .and_then(|call| call.awaited(h.reqno))
        .map_or(0, |a| match a.req {
            MemRequest::Bytes { len, .. } => len,
            MemRequest::Str { max, .. } => max,
            MemRequest::Mmap { .. } => 8,
        });
    body <= wanted.saturating_add(RESP_SLACK)
}

/// What [`ServerCore::accept`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Serve it: the banner is queued as its first output.
    Open(ConnId),
    /// Over the connection limit: close it at once, without a banner.
    Refused,
}

/// Bytes to write to one client, and whether to close it afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Bytes to write, in order.
    pub bytes: Vec<u8>,
    /// Close the connection once they are written.
    pub close: bool,
}

/// What one connection holds in memory (for limits checks and diagnostics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnUsage {
    /// Received bytes not yet framed (while the connection runs, at most one
    /// partial frame between calls).
    pub input_buffered: usize,
    /// Output queued and not yet taken.
    pub output_queued: usize,
    /// Syscalls outstanding.
    pub calls: usize,
    /// Client memory bytes held by the call holding the most.
    pub largest_call_memory: usize,
    /// Room the input buffer has (all of an awaited large answer once its header is in).
    pub input_capacity: usize,
}

/// The server: connections, preforks and the kernel.
pub struct ServerCore<K: Kernel> {
    kernel: K,
    limits: ServerLimits,
    banner: Vec<u8>,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: ConnId,
    /// Unredeemed preforks: cookie -> (intermediate process, creation time, connection that made it).
    preforks: BTreeMap<PreforkCookie, (Pid, u64, ConnId)>,
    prefork_order: VecDeque<PreforkCookie>,
    cookies: Box<dyn CookieSource>,
    seen_generation: u64,
    /// Connections with output queued since the last [`ServerCore::drain`].
    dirty: BTreeSet<ConnId>,
    /// The calls in [`CallState::Blocked`], as (connection, client reqno): an
    /// index, so that a change wakes them without a walk over every call.
    blocked: BTreeSet<(ConnId, u64)>,
    /// Milliseconds on the caller's clock (injected; the core reads no clock).
    now_ms: u64,
    /// The AUTH extension's shared key; None: no authentication (NetBSD-compatible).
    auth_key: Option<Vec<u8>>,
    /// A bug to behave as having, for testing fuzzers (none by default).
    injected_bug: Option<InjectedBug>,
    /// The server-wide memory budget.
    budget: Budget,
}

impl<K: Kernel> ServerCore<K> {
    /// A server for `kernel` announcing `banner`, drawing prefork cookies from `cookies`.
    pub fn new(
        kernel: K,
        limits: ServerLimits,
        banner: &Banner,
        cookies: Box<dyn CookieSource>,
    ) -> Result<ServerCore<K>, BannerError> {
        let seen_generation = kernel.generation();
        Ok(ServerCore {
            kernel,
            limits,
            banner: banner.to_line()?,
            conns: BTreeMap::new(),
            next_conn: 1,
            preforks: BTreeMap::new(),
            prefork_order: VecDeque::new(),
            cookies,
            seen_generation,
            dirty: BTreeSet::new(),
            blocked: BTreeSet::new(),
            now_ms: 0,
            auth_key: None,
            injected_bug: None,
            budget: Budget {
                max: limits.max_buffered_total,
                ..Default::default()
            },
        })
    }

    /// Requires every new connection to pass the AUTH handshake with `key` before
    /// its GUEST or FORK handshake (nonces come from the cookie source).
    pub fn require_auth(&mut self, key: Vec<u8>) {
        self.auth_key = Some(key);
    }

    /// Makes the server behave as having `bug` (see [`super::inject`]), for testing fuzzers.
    pub fn set_injected_bug(&mut self, bug: Option<InjectedBug>) {
        self.injected_bug = bug;
    }

    /// The kernel.
    pub fn kernel(&self) -> &K {
        &self.kernel
    }

    /// The kernel, mutably (for setup and checks; not while calls are in flight).
    pub fn kernel_mut(&mut self) -> &mut K {
        &mut self.kernel
    }

    /// The limits in force.
    pub fn limits(&self) -> &ServerLimits {
        &self.limits
    }

    /// Connections currently open.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Unredeemed preforks.
    pub fn prefork_count(&self) -> usize {
        self.preforks.len()
    }

    /// Syscalls not yet answered on a connection.
    pub fn outstanding(&self, id: ConnId) -> usize {
        self.conns.get(&id).map_or(0, |c| c.calls.len())
    }

    /// What a connection holds in memory, if it is open.
    pub fn usage(&self, id: ConnId) -> Option<ConnUsage> {
        let c = self.conns.get(&id)?;
        Some(ConnUsage {
            input_buffered: c.decoder.buffered(),
            output_queued: c.out.len(),
            calls: c.calls.len(),
            largest_call_memory: c
                .calls
                .values()
                .map(|call| call.mem.bytes_held())
                .max()
                .unwrap_or(0),
            input_capacity: c.decoder.capacity(),
        })
    }

    /// Bytes counted against [`ServerLimits::max_buffered_total`]: client
    /// memory reserved by outstanding calls, plus every connection's unframed
    /// input and unwritten output as last counted.
    pub fn buffered_total(&self) -> u64 {
        self.budget.used()
    }

    /// True when the server is over [`ServerLimits::max_buffered_total`] and
    /// this connection has more than [`ServerLimits::output_pause`] bytes of
    /// output unwritten: it is the one not reading what it asked for, and the
    /// I/O adapter drops it (as it drops one over `max_pending_output`)
    /// rather than let it hold the memory every other client needs.
    pub fn output_over_budget(&self, id: ConnId) -> bool {
        self.budget.used() > self.budget.max
            && self
                .conns
                .get(&id)
                .is_some_and(|c| c.out.len().saturating_add(c.backlog) > self.limits.output_pause)
    }

    /// Updates the budget's count of a connection's buffered input and output.
    fn recount(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let now = (c.decoder.buffered() + c.out.len()).saturating_add(c.backlog) as u64;
        self.budget.io = self.budget.io.saturating_sub(c.counted).saturating_add(now);
        c.counted = now;
    }

    /// Removes a call, returning its reservation to the budget.
    fn remove_call(&mut self, id: ConnId, creq: u64) -> Option<PendingCall> {
        let call = self.conns.get_mut(&id)?.calls.remove(&creq)?;
        self.budget.reserved = self.budget.reserved.saturating_sub(call.reserved);
        Some(call)
    }

    /// The connection's state, if it is open.
    pub fn state(&self, id: ConnId) -> Option<ConnState> {
        self.conns.get(&id).map(|c| c.state.clone())
    }

    /// True once a client's reboot asked the server to stop (every connection is then closing).
    pub fn shutting_down(&self) -> bool {
        self.kernel.shutdown_requested()
    }

    /// A new connection arrived.
    pub fn accept(&mut self) -> Accept {
        if self.conns.len() >= self.limits.max_connections || self.shutting_down() {
            return Accept::Refused;
        }
        self.shed_startups(self.limits.max_startups.saturating_sub(1));
        let id = self.next_conn;
        self.next_conn += 1;
        let decoder = FrameDecoder::new(self.limits.frame);
        let mut conn = Conn::new(decoder, &self.banner);
        conn.opened_ms = self.now_ms;
        if self.auth_key.is_some() {
            conn.auth = AuthState::Required;
        }
        self.conns.insert(id, conn);
        self.dirty.insert(id);
        Accept::Open(id)
    }

    /// Connections that have not finished their handshake (and are not closing).
    pub fn startups(&self) -> usize {
        self.conns
            .values()
            .filter(|c| c.state == ConnState::New)
            .count()
    }

    /// Closes pre-handshake connections, oldest idle (nothing received) first, then
    /// oldest, until at most `keep` remain.
    fn shed_startups(&mut self, keep: usize) {
        let new: Vec<(bool, ConnId)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.state == ConnState::New)
            .map(|(id, c)| (c.heard, *id))
            .collect();
        if new.len() <= keep {
            return;
        }
        let mut order = new;
        // idle (heard == false) before heard, each oldest (lowest id) first
        order.sort();
        let n = order.len() - keep;
        for (_, id) in order.into_iter().take(n) {
            self.close(id);
        }
    }

    /// Closes every connection that has not finished its handshake within
    /// [`ServerLimits::handshake_deadline_ms`] of being accepted.
    pub fn expire_handshakes(&mut self) {
        let (now, deadline) = (self.now_ms, self.limits.handshake_deadline_ms);
        let late: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.state == ConnState::New && now.saturating_sub(c.opened_ms) >= deadline
            })
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            self.close(id);
        }
    }

    /// Bytes arrived from a client.
    pub fn receive(&mut self, id: ConnId, bytes: &[u8]) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if c.is_closing() {
            return;
        }
        c.decoder.feed(bytes);
        c.heard |= !bytes.is_empty();
        self.dirty.insert(id);
        self.pump(id);
        self.recount(id);
        self.run_blocked();
    }

    /// The I/O adapter wrote some of a connection's output: `backlog` bytes it took
    /// are still unwritten. Once the queue is below [`ServerLimits::output_pause`],
    /// frames left buffered by the pause are taken again.
    pub fn output_written(&mut self, id: ConnId, backlog: usize) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.backlog = backlog;
        if c.decoder.buffered() > 0 && !c.output_full(self.limits.output_pause) {
            self.pump(id);
            self.run_blocked();
        }
        self.recount(id);
    }

    /// Records how many of a connection's output bytes, already taken by
    /// [`ServerCore::drain`], are not yet written (the adapter's queue), without
    /// resuming its input (see [`ServerCore::output_written`]).
    pub fn set_backlog(&mut self, id: ConnId, backlog: usize) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.backlog = backlog;
        }
        self.recount(id);
    }

    /// True while the connection's input is paused because its queued output is
    /// over [`ServerLimits::output_pause`]: the adapter should stop reading from it
    /// (what it already read stays buffered in the core).
    pub fn input_paused(&self, id: ConnId) -> bool {
        self.conns
            .get(&id)
            .is_some_and(|c| !c.is_closing() && c.output_full(self.limits.output_pause))
    }

    /// Takes buffered frames of one connection until its input is exhausted, it is
    /// closing, or its queued output reaches the pause threshold.
    fn pump(&mut self, id: ConnId) {
        let pause = self.limits.output_pause;
        let frame_limits = self.limits.frame;
        while let Some(c) = self.conns.get_mut(&id) {
            if c.is_closing() || c.output_full(pause) {
                break;
            }
            if let Some(h) = c.decoder.pending_header() {
                if !resp_fits(c, &h) {
                    // An answer nobody asked for, or far longer than asked: closed
                    // before its body is buffered.
                    c.close();
                    break;
                }
                // Frames past the decoder's limits are closed by it, without an
                // ERROR frame (as the reference); the checks below are for the others.
                let body = h.len.saturating_sub(crate::header::HEADER_LEN as u64);
                let legal = h.len <= frame_limits.max_frame_len
                    && h.len >= crate::header::HEADER_LEN as u64
                    && body <= frame_limits.body_limit(&h);
                if legal && !req_fits(&h, &frame_limits) {
                    // A request only a server sends, with a large body.
                    c.fail(h.reqno, ErrorCode::MalformedRequest);
                    break;
                }
                // A large request's body (an answer's is reserved when it is
                // asked for; small requests do not matter) must fit the
                // server-wide budget before it is buffered.
                let more = h.len.saturating_sub(c.decoder.buffered() as u64);
                let large = legal
                    && Class::from_u16(h.class) == Some(Class::Req)
                    && body > frame_limits.max_control_body;
                if large && more > 0 && !self.budget.fits(more) {
                    c.fail(h.reqno, ErrorCode::NoMem);
                    break;
                }
                if more > RESERVE_AHEAD && c.waiting.contains_key(&h.reqno) {
                    // An answer asked for (its size is in the budget already):
                    // received into one buffer, not one that doubles as it grows.
                    c.decoder.reserve_pending();
                }
            }
            match c.decoder.next_frame() {
                Ok(Some(frame)) => self.dispatch(id, frame),
                Ok(None) => break,
                // len < 24 or over the limit: close without an ERROR frame (as the reference).
                Err(_) => {
                    c.close();
                    break;
                }
            }
        }
    }

    /// What to send to a client now (taking it out of the queue).
    pub fn take_output(&mut self, id: ConnId) -> Option<Output> {
        let c = self.conns.get_mut(&id)?;
        let out = Output {
            bytes: std::mem::take(&mut c.out),
            close: c.is_closing(),
        };
        // Taken bytes count again once the adapter reports them as backlog.
        self.recount(id);
        Some(out)
    }

    /// Output for every connection that has some (or must close), in connection order.
    /// An I/O adapter calls this after each call into the core: a call on one
    /// connection may complete a blocked call on another.
    pub fn drain(&mut self) -> Vec<(ConnId, Output)> {
        let dirty = std::mem::take(&mut self.dirty);
        dirty
            .into_iter()
            .filter_map(|id| {
                let o = self.take_output(id)?;
                (!o.bytes.is_empty() || o.close).then_some((id, o))
            })
            .collect()
    }

    /// Closes a connection from the server side: queued output is flushed first.
    pub fn close(&mut self, id: ConnId) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.close();
            self.dirty.insert(id);
        }
    }

    /// Sets the caller's clock (milliseconds, any epoch).
    pub fn set_time(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    /// Fails every memory request older than `timeout_ms` with a fault (the call
    /// gets EFAULT): a client that never answers a COPYIN stalls only its own call.
    /// Then lets the kernel end the timed waits its clock has reached
    /// ([`Kernel::tick`]) and retries what they unblocked.
    pub fn expire_waits(&mut self, timeout_ms: u64) {
        self.expire_memory_requests(timeout_ms);
        self.wake_timed();
    }

    /// Nanoseconds until the kernel's earliest timed wait ([`Kernel::next_wake_ns`]).
    pub fn next_wake_ns(&self) -> Option<u64> {
        self.kernel.next_wake_ns()
    }

    /// Lets the kernel end the timed waits its clock has reached
    /// ([`Kernel::tick`]) and retries what they unblocked.
    pub fn wake_timed(&mut self) {
        self.kernel.tick();
        self.run_blocked();
        self.deliver_raises();
    }

    /// Sends the signals the kernel posted outside calls
    /// ([`Kernel::take_raises`]) as REQ/RAISE on the connection of each
    /// process (its first, if it has several); a process with no connection
    /// left gets nothing.
    fn deliver_raises(&mut self) {
        for (pid, signo) in self.kernel.take_raises() {
            let target = self
                .conns
                .iter_mut()
                .find(|(_, c)| c.pid() == Some(pid) && !c.is_closing());
            if let Some((id, c)) = target {
                c.send(Frame::new(0, Message::Raise(Raise { signo })));
                self.dirty.insert(*id);
            }
        }
    }

    /// Fails every memory request older than `timeout_ms` with a fault.
    fn expire_memory_requests(&mut self, timeout_ms: u64) {
        let now = self.now_ms;
        let expired: Vec<(ConnId, u64)> = self
            .conns
            .iter()
            .flat_map(|(id, c)| {
                c.calls
                    .iter()
                    .filter_map(move |(creq, call)| match call.state {
                        CallState::Awaiting { asked_at_ms, .. }
                            if now.saturating_sub(asked_at_ms) >= timeout_ms =>
                        {
                            Some((*id, *creq))
                        }
                        _ => None,
                    })
            })
            .collect();
        for (id, creq) in expired {
            self.fault_awaited(id, creq);
            self.drive(id, creq);
        }
    }

    /// Discards unredeemed preforks older than the limit's TTL (their processes exit).
    pub fn expire_preforks(&mut self) {
        let ttl = self.limits.prefork_ttl_ms;
        while let Some(oldest) = self.prefork_order.front().copied() {
            match self.preforks.get(&oldest) {
                Some((_, created, _)) if self.now_ms.saturating_sub(*created) < ttl => break,
                _ => {}
            }
            self.prefork_order.pop_front();
            if let Some((p, _, _)) = self.preforks.remove(&oldest) {
                self.kernel.exit(p);
            }
        }
        self.run_blocked();
    }

    /// The connection is gone (peer closed, I/O error, or we closed it after a shutdown):
    /// its process exits and its pending calls are dropped. Preforks it made survive
    /// (a forked child may still redeem them).
    pub fn disconnect(&mut self, id: ConnId) {
        if let Some(c) = self.conns.remove(&id) {
            for (creq, call) in &c.calls {
                self.blocked.remove(&(id, *creq));
                self.budget.reserved = self.budget.reserved.saturating_sub(call.reserved);
            }
            self.budget.io = self.budget.io.saturating_sub(c.counted);
            if let Some(pid) = c.process() {
                self.kernel.exit(pid);
            }
            self.run_blocked();
        }
    }

    /// Connection ids in order.
    pub fn connections(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.conns.keys().copied()
    }

    fn dispatch(&mut self, id: ConnId, f: RawFrame) {
        if let Some(bug) = self.injected_bug {
            let Some(c) = self.conns.get(&id) else { return };
            let running = c.pid().is_some();
            let awaited = c.waiting.contains_key(&f.header.reqno);
            match super::inject::effect(bug, running, awaited, &f) {
                Injected::Normal => {}
                Injected::Abort => std::process::abort(),
                Injected::Drop => return,
                Injected::Twice => self.dispatch_plain(id, f.clone()),
            }
        }
        self.dispatch_plain(id, f)
    }

    fn dispatch_plain(&mut self, id: ConnId, f: RawFrame) {
        match Class::from_u16(f.header.class) {
            Some(Class::Resp) => self.handle_resp(id, f),
            Some(Class::Req) => self.handle_req(id, f),
            // ERROR frames from a client and unknown classes: MALFORMED, connection kept.
            _ => self.with_conn(id, |c| {
                c.send_error(f.header.reqno, ErrorCode::MalformedRequest)
            }),
        }
    }

    fn with_conn(&mut self, id: ConnId, f: impl FnOnce(&mut Conn)) {
        if let Some(c) = self.conns.get_mut(&id) {
            f(c);
        }
    }

    /// A request, decoded as the reference reads it ([`Message::decode_request`])
    /// and answered by connection state and message.
    fn handle_req(&mut self, id: ConnId, f: RawFrame) {
        let Some(state) = self.state(id) else { return };
        let reqno = f.header.reqno;
        let decoded = Message::decode_request(&f.header, &f.body, Abi::Lp64Le);
        // Only a FORK handshake can fail to decode as a handshake (its body
        // must be the cookie and the cancel flag); it is refused as a handshake.
        let bad_handshake =
            decoded.is_err() && MsgType::from_u16(f.header.ty) == Some(MsgType::Handshake);
        match state {
            ConnState::Closing { .. } => {}
            ConnState::New => {
                let auth_pending = self
                    .conns
                    .get(&id)
                    .is_some_and(|c| c.auth != AuthState::Passed);
                match decoded {
                    Ok(Message::Handshake(Handshake::Auth { body })) if self.auth_key.is_some() => {
                        self.auth(id, reqno, body)
                    }
                    Ok(Message::Handshake(Handshake::Guest { .. } | Handshake::Fork { .. }))
                        if auth_pending =>
                    {
                        self.with_conn(id, |c| c.fail(reqno, ErrorCode::Auth))
                    }
                    Ok(Message::Handshake(Handshake::Guest { name })) => {
                        self.guest(id, reqno, name)
                    }
                    Ok(Message::Handshake(Handshake::Fork { cookie, cancel })) => {
                        self.fork(id, reqno, cookie, cancel)
                    }
                    _ if bad_handshake => {
                        let code = if auth_pending {
                            ErrorCode::Auth
                        } else {
                            ErrorCode::MalformedRequest
                        };
                        self.with_conn(id, |c| c.fail(reqno, code))
                    }
                    // Any other first request, or AUTH/EXEC/unknown handshakes: AUTH + shutdown.
                    _ => self.with_conn(id, |c| c.fail(reqno, ErrorCode::Auth)),
                }
            }
            ConnState::Running { pid } | ConnState::Exec { pid, .. } => match decoded {
                Ok(Message::Syscall(s)) => {
                    let args = f.body.slice_ref(s.args);
                    self.syscall(id, reqno, s.sysnum, args)
                }
                Ok(Message::Prefork(_)) => self.prefork(id, pid, reqno),
                Ok(Message::Handshake(Handshake::Exec { name })) => self.exec(id, reqno, name),
                Ok(Message::Handshake(_)) => {
                    self.with_conn(id, |c| c.fail(reqno, ErrorCode::MalformedRequest))
                }
                _ if bad_handshake => {
                    self.with_conn(id, |c| c.fail(reqno, ErrorCode::MalformedRequest))
                }
                // Server-side request types and unknown types: MALFORMED, connection kept.
                _ => self.with_conn(id, |c| c.send_error(reqno, ErrorCode::MalformedRequest)),
            },
        }
    }

    /// The AUTH extension: an empty body asks for the nonce; 32 bytes are the proof.
    fn auth(&mut self, id: ConnId, reqno: u64, body: &[u8]) {
        let Some(key) = self.auth_key.clone() else {
            return;
        };
        let Some(state) = self.conns.get(&id).map(|c| c.auth) else {
            return;
        };
        match state {
            AuthState::Required if body.is_empty() => {
                let mut nonce = [0u8; crate::auth::NONCE_LEN];
                nonce[..COOKIE_LEN].copy_from_slice(&self.cookies.next_cookie().0);
                nonce[COOKIE_LEN..].copy_from_slice(&self.cookies.next_cookie().0);
                self.with_conn(id, |c| {
                    c.auth = AuthState::Challenged(nonce);
                    let mut f =
                        Frame::new(reqno, Message::HandshakeResp(HandshakeResp { error: 0 }))
                            .to_vec(Abi::Lp64Le);
                    f.extend_from_slice(&nonce);
                    let len = f.len() as u64;
                    f[..8].copy_from_slice(&len.to_le_bytes());
                    c.out.extend_from_slice(&f);
                });
            }
            AuthState::Challenged(nonce) if crate::auth::verify(&key, &nonce, body) => self
                .with_conn(id, |c| {
                    c.auth = AuthState::Passed;
                    c.send(Frame::new(
                        reqno,
                        Message::HandshakeResp(HandshakeResp { error: 0 }),
                    ));
                }),
            // A wrong proof, a second challenge request, or AUTH after passing.
            _ => self.with_conn(id, |c| c.fail(reqno, ErrorCode::Auth)),
        }
    }

    fn guest(&mut self, id: ConnId, reqno: u64, name: &[u8]) {
        match self.kernel.spawn_guest(name) {
            Ok(pid) => self.with_conn(id, |c| {
                c.state = ConnState::Running { pid };
                c.send(Frame::new(
                    reqno,
                    Message::HandshakeResp(HandshakeResp { error: 0 }),
                ));
            }),
            // The reference shuts the socket down without a reply.
            Err(_) => self.with_conn(id, Conn::close),
        }
    }

    /// A FORK handshake redeems `cookie` (or, with `cancel`, abandons the fork).
    fn fork(&mut self, id: ConnId, reqno: u64, cookie: PreforkCookie, cancel: i32) {
        // Single use: the cookie is gone whatever happens next.
        let Some((intermediate, _, _)) = self.preforks.remove(&cookie) else {
            return self.with_conn(id, |c| c.fail(reqno, ErrorCode::InvalidPrefork));
        };
        self.prefork_order.retain(|c| *c != cookie);
        if cancel != 0 {
            self.kernel.exit(intermediate);
            return self.with_conn(id, Conn::close);
        }
        match self.kernel.fork_child(intermediate) {
            Ok(pid) => self.with_conn(id, |c| {
                c.state = ConnState::Running { pid };
                c.send(Frame::new(
                    reqno,
                    Message::HandshakeResp(HandshakeResp { error: 0 }),
                ));
            }),
            Err(_) => self.with_conn(id, |c| c.fail(reqno, ErrorCode::RforkFailed)),
        }
    }

    fn prefork(&mut self, id: ConnId, pid: Pid, reqno: u64) {
        if self.conns.get(&id).is_some_and(Conn::in_exec) {
            return self.with_conn(id, |c| c.fail(reqno, ErrorCode::InExec));
        }
        // One connection never evicts another's preforks: past its own limit (or
        // the server-wide one) its own oldest goes; a full table with none of its
        // own refuses the new one.
        let own = self.preforks.values().filter(|v| v.2 == id).count();
        let full = self.preforks.len() >= self.limits.max_preforks;
        if own == 0 && full {
            return self.with_conn(id, |c| c.send_error(reqno, ErrorCode::RforkFailed));
        }
        let intermediate = match self.kernel.prefork(pid) {
            Ok(p) => p,
            Err(_) => return self.with_conn(id, |c| c.send_error(reqno, ErrorCode::RforkFailed)),
        };
        if own >= self.limits.max_preforks_per_conn || full {
            self.discard_oldest_prefork_of(id);
        }
        let mut cookie = self.cookies.next_cookie();
        while self.preforks.contains_key(&cookie) {
            cookie = self.cookies.next_cookie();
        }
        self.preforks
            .insert(cookie, (intermediate, self.now_ms, id));
        self.prefork_order.push_back(cookie);
        self.with_conn(id, |c| {
            c.send(Frame::new(
                reqno,
                Message::PreforkResp(PreforkResp { cookie }),
            ))
        });
    }

    /// Discards the oldest unredeemed prefork made by connection `id` (its process exits).
    fn discard_oldest_prefork_of(&mut self, id: ConnId) {
        let Some(pos) = self
            .prefork_order
            .iter()
            .position(|c| self.preforks.get(c).is_some_and(|v| v.2 == id))
        else {
            return;
        };
        if let Some(old) = self.prefork_order.remove(pos) {
            if let Some((p, _, _)) = self.preforks.remove(&old) {
                self.kernel.exit(p);
            }
        }
    }

    fn exec(&mut self, id: ConnId, reqno: u64, body: &[u8]) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let pid = match c.state {
            ConnState::Running { pid } => pid,
            ConnState::Exec { .. } => return c.fail(reqno, ErrorCode::InExec),
            ConnState::New | ConnState::Closing { .. } => return,
        };
        c.state = ConnState::Exec {
            pid,
            reqno,
            name: body.to_vec(),
        };
        // Syscalls of the old image still in flight may not touch the new image's
        // memory (spec §9 item 13): their pending and future copies fault, and
        // blocked ones are interrupted.
        let inflight: Vec<u64> = c.calls.keys().copied().collect();
        for creq in inflight {
            self.interrupt_for_exec(id, creq);
        }
        self.finish_exec_if_idle(id);
    }

    fn interrupt_for_exec(&mut self, id: ConnId, creq: u64) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(call) = c.calls.get_mut(&creq) else {
            return;
        };
        match call.state {
            CallState::Blocked { .. } => {
                let resp = SyscallResp::err(EINTR);
                c.send(Frame::new(creq, Message::SyscallResp(resp)));
                self.remove_call(id, creq);
                self.blocked.remove(&(id, creq));
            }
            CallState::Awaiting { .. } => {
                self.fault_awaited(id, creq);
                self.drive(id, creq);
            }
            CallState::Running => {}
        }
    }

    /// Ends a call's memory wait: what came is kept, the rest faults (the
    /// call then gets EFAULT from the kernel), and late answers are dropped.
    fn fault_awaited(&mut self, id: ConnId, creq: u64) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(call) = c.calls.get_mut(&creq) else {
            return;
        };
        let CallState::Awaiting { answers, .. } =
            std::mem::replace(&mut call.state, CallState::Running)
        else {
            return;
        };
        for a in answers {
            c.waiting.remove(&a.sreq);
            call.mem.push(a.req, a.got.unwrap_or(Fetched::Fault));
        }
    }

    fn finish_exec_if_idle(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if !c.in_exec() || !c.calls.is_empty() {
            return;
        }
        let ConnState::Exec { pid, reqno, name } = std::mem::replace(&mut c.state, ConnState::New)
        else {
            return;
        };
        c.state = ConnState::Running { pid };
        self.kernel.exec(pid, &name);
        self.with_conn(id, |c| {
            c.send(Frame::new(
                reqno,
                Message::HandshakeResp(HandshakeResp { error: 0 }),
            ))
        });
    }

    fn syscall(&mut self, id: ConnId, reqno: u64, sysnum: u32, body: Bytes) {
        let limits = self.limits;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if c.in_exec() {
            // While an exec is in progress new syscalls get EBUSY, retval[0] = -1.
            let mut resp = SyscallResp::err(EBUSY);
            resp.retval[0] = -1;
            return c.send(Frame::new(reqno, Message::SyscallResp(resp)));
        }
        if sysnum >= SYS_NSYSENT {
            // The reference indexes its table with a signed copy of sysnum and crashes on
            // values >= 2^31; every value past the table is ENOSYS here.
            return c.send(Frame::new(
                reqno,
                Message::SyscallResp(SyscallResp::err(ENOSYS)),
            ));
        }
        if c.calls.contains_key(&reqno) {
            // Two outstanding calls with one reqno could not be told apart.
            return c.send_error(reqno, ErrorCode::MalformedRequest);
        }
        if c.calls.len() >= limits.max_outstanding {
            return c.send_error(reqno, ErrorCode::TryAgain);
        }
        // A block shorter than the syscall's slots is padded with zero slots
        // (the reference reads past the buffer); trailing bytes are ignored.
        let need = syscall(sysnum).map_or(0, |s| usize::from(s.slots) * Abi::Lp64Le.slot_size());
        let args = if body.len() < need {
            let mut v = body.to_vec();
            v.resize(need, 0);
            Bytes::from(v)
        } else {
            body
        };
        let args = clamp_read_count(sysnum, args, limits.max_answer);
        c.calls.insert(
            reqno,
            PendingCall {
                sysnum,
                args,
                mem: Default::default(),
                state: CallState::Running,
                reserved: 0,
            },
        );
        self.drive(id, reqno);
    }

    /// Runs a call until it finishes, needs client memory or blocks.
    fn drive(&mut self, id: ConnId, creq: u64) {
        let max_mem = self.limits.max_call_memory;
        let now = self.now_ms;
        self.dirty.insert(id);
        for _ in 0..=MAX_FAULT_RETRIES {
            let budget = &mut self.budget;
            let Some(c) = self.conns.get_mut(&id) else {
                return;
            };
            let Some(pid) = c.pid() else { return };
            let exec_started = c.in_exec();
            let Some(call) = c.calls.get_mut(&creq) else {
                return;
            };
            let args = SyscallArgs::new(&call.args, Abi::Lp64Le);
            match self.kernel.syscall(pid, call.sysnum, args, &call.mem) {
                SyscallStep::Done(done) => {
                    if let Some(call) = c.calls.remove(&creq) {
                        budget.reserved = budget.reserved.saturating_sub(call.reserved);
                    }
                    for (addr, data) in &done.copyouts {
                        let r = c.take_reqno();
                        c.send(Frame::new(
                            r,
                            Message::Copyout(CopyoutReq {
                                kind: CopyoutKind::Bytes,
                                addr: *addr,
                                data,
                            }),
                        ));
                    }
                    for &signo in &done.signals {
                        c.send(Frame::new(0, Message::Raise(Raise { signo })));
                    }
                    let resp = SyscallResp {
                        error: done.error,
                        pad: [0; 4],
                        retval: done.retval,
                    };
                    c.send(Frame::new(creq, Message::SyscallResp(resp)));
                    if self.kernel.shutdown_requested() {
                        // The rebooting client has its answer; everyone is closed after it.
                        self.conns.values_mut().for_each(Conn::close);
                        self.dirty.extend(self.conns.keys().copied());
                    }
                    self.finish_exec_if_idle(id);
                    self.deliver_raises();
                    return;
                }
                SyscallStep::Need(req) => {
                    match ask(c, creq, vec![req], exec_started, max_mem, budget, now) {
                        Asked::Faulted => continue,
                        Asked::Sent => return,
                        Asked::OverBudget => return self.fail_call(id, creq, ENOMEM),
                    }
                }
                SyscallStep::NeedAll(reqs) => {
                    match ask(c, creq, reqs, exec_started, max_mem, budget, now) {
                        Asked::Faulted => continue,
                        Asked::Sent => return,
                        Asked::OverBudget => return self.fail_call(id, creq, ENOMEM),
                    }
                }
                SyscallStep::Blocked => {
                    call.state = CallState::Blocked { on: None };
                    self.blocked.insert((id, creq));
                    return;
                }
                SyscallStep::BlockedOn(key) => {
                    call.state = CallState::Blocked { on: Some(key) };
                    self.blocked.insert((id, creq));
                    return;
                }
            }
        }
        // The kernel kept asking after repeated faults: fail the call.
        self.fail_call(id, creq, EFAULT);
    }

    /// Ends a call with `errno` (the kernel changes nothing before it has
    /// everything it asked for, so nothing is left half done).
    fn fail_call(&mut self, id: ConnId, creq: u64, errno: i32) {
        if self.remove_call(id, creq).is_some() {
            self.with_conn(id, |c| {
                c.send(Frame::new(
                    creq,
                    Message::SyscallResp(SyscallResp::err(errno)),
                ))
            });
        }
        self.finish_exec_if_idle(id);
    }

    fn handle_resp(&mut self, id: ConnId, f: RawFrame) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        // Matched by reqno alone; the RESP's type is ignored (as the reference).
        let Some(creq) = c.waiting.remove(&f.header.reqno) else {
            return; // unmatched: dropped silently
        };
        let Some(call) = c.calls.get_mut(&creq) else {
            return;
        };
        let CallState::Awaiting { answers, .. } = &mut call.state else {
            return;
        };
        let Some(slot) = answers.iter().position(|a| a.sreq == f.header.reqno) else {
            return;
        };
        let req = answers[slot].req;
        let got = match request_message(req).msg_type() {
            Some(asked) => fetched(
                req,
                Message::decode_answer(&f.header, &f.body, Abi::Lp64Le, asked),
            ),
            None => Fetched::Fault,
        };
        answers[slot].got = Some(got);
        // The frame's buffer goes before the call runs (the answer is copied).
        drop(f);
        // Run the call again once every answer of the round is in, in the
        // order the kernel asked.
        if answers.iter().all(|a| a.got.is_some()) {
            let answers = std::mem::take(answers);
            call.state = CallState::Running;
            for a in answers {
                call.mem.push(a.req, a.got.unwrap_or(Fetched::Fault));
            }
            self.drive(id, creq);
        }
    }

    /// Retries blocked calls, in connection and reqno order, while the kernel
    /// keeps changing: those waiting on an object the kernel says changed,
    /// and those waiting on nothing in particular.
    fn run_blocked(&mut self) {
        loop {
            let g = self.kernel.generation();
            if g == self.seen_generation {
                return;
            }
            self.seen_generation = g;
            let changed: Option<BTreeSet<u64>> =
                self.kernel.take_changed().map(|v| v.into_iter().collect());
            let conns = &self.conns;
            let wake: Vec<(ConnId, u64)> = self
                .blocked
                .iter()
                .filter(|(id, creq)| {
                    let on = conns
                        .get(id)
                        .and_then(|c| c.calls.get(creq))
                        .and_then(|call| match call.state {
                            CallState::Blocked { on } => on,
                            _ => None,
                        });
                    match (on, &changed) {
                        (Some(k), Some(c)) => c.contains(&k),
                        _ => true,
                    }
                })
                .copied()
                .collect();
            for w in &wake {
                self.blocked.remove(w);
            }
            for (id, creq) in wake {
                if let Some(call) = self.conns.get_mut(&id).and_then(|c| c.calls.get_mut(&creq)) {
                    call.state = CallState::Running;
                    self.drive(id, creq);
                }
            }
        }
    }
}
