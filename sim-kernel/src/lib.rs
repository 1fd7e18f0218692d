//! # rumpsp-sim-kernel
//!
//! A deterministic simulated NetBSD kernel that answers rump_sp syscalls with
//! NetBSD's ABI (numbers, argument slots, errno values, struct layouts,
//! sysctl), as a rump kernel built with `-lrumpvfs -lrumpfs_tmpfs` does:
//! processes with credentials and descriptor tables, a rumpfs root with tmpfs
//! mounts, pipes, a sysctl tree, and a virtual clock.
//!
//! Deterministic: all state is in ordered containers, numbers come from
//! counters, time from a virtual clock that only syscalls advance, and
//! randomness from a seeded generator. The same seed and the same calls give
//! byte-identical results. (A kernel configured with [`ClockSource::Host`],
//! as `rumpsp serve` is by default, reads the host's time instead; that is
//! its only nondeterminism.)
//!
//! It implements [`rumpsp_protocol::kernel::Kernel`]: calls are resumable,
//! read client memory through a cursor, and change state only once everything
//! they need is in hand.

pub mod clock;
pub mod components;
pub mod consts;
pub mod kqueue;
pub mod local;
pub mod lockf;
pub mod model;
pub mod net;
pub mod proc;
pub mod structs;
pub mod sys;
pub mod sysctl;
pub mod sysctl_boot;
pub mod sysctl_net;
pub mod vfs;

use rumpsp_protocol::kernel::{
    CallMemory, Kernel, MemError, MemRequest, MemoryCursor, Pid, ProcessError, SyscallDone,
    SyscallStep,
};
use rumpsp_protocol::SyscallArgs;

pub use clock::ClockSource;
use clock::{Clock, Rng};
pub use components::{Component, Components};
use consts::*;
use proc::{comm_from, Fd, FileKind, Process, Tables};
use vfs::{Cred, Vfs};

/// What the simulated machine looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Seeds every random value (kern.urandom, kern.arandom).
    pub seed: u64,
    /// kern.hostname at boot.
    pub hostname: String,
    /// CLOCK_REALTIME at boot, in seconds since the epoch (virtual clock only;
    /// a host clock boots at the host's time).
    pub boot_realtime: i64,
    /// Where time comes from: virtual (the default, deterministic) or the host.
    pub clock: ClockSource,
    /// The most processes at once.
    pub max_procs: usize,
    /// Bytes of kernel memory everything the file systems and pipes hold may
    /// take together ([`SimKernel::pool_used`]): file data, nodes, directory
    /// entries and their names, symlink targets and pipe buffers. Growth past
    /// it fails as NetBSD fails when kernel memory runs out: ENOSPC for the
    /// file systems (tmpfs_mem_incr), ENOMEM for a new pipe (pipespace).
    /// Default: the 512 MiB a rump kernel with the default memory reports;
    /// fuzzers use less, so one input cannot allocate hundreds of MiB.
    pub memory_pool: u64,
    /// The kernel components it boots with (default: file systems only, as
    /// `rump_server -lrumpvfs -lrumpfs_tmpfs`).
    pub components: Components,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            hostname: "rump-00001.rumpsp".into(),
            boot_realtime: 1_764_000_000,
            clock: ClockSource::Virtual,
            max_procs: 32768,
            memory_pool: vfs::TMPFS_FREE_PAGES * consts::PAGE_SIZE,
            components: Components::default(),
        }
    }
}

/// Pool bytes one pipe holds from its creation to its last close: its
/// buffer, allocated whole by pipe(2) as NetBSD's pipespace does, so a write
/// never needs more memory and a pipe(2) that finds no room fails with ENOMEM.
pub const PIPE_MEM: u64 = PIPE_SIZE as u64;

/// Pool bytes one socket costs while it exists, besides the bytes its
/// buffers hold: an accounting unit for `struct socket` and its protocol
/// control block (NetBSD takes them from pools that wait when memory is
/// short; here a socket past the pool is ENOBUFS).
pub const SOCKET_MEM: u64 = 1024;

/// A wait key no blocked call uses: changes that can only wake calls blocked
/// on nothing in particular (a process exit, a vnode closed).
pub const NO_WAITER_KEY: u64 = u64::MAX;

/// Why a syscall handler stopped before finishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Fail with this NetBSD errno (copyouts already made are kept).
    Errno(i32),
    /// Fail with this errno but with these return values (the kernel had set them).
    ErrnoWith(i32, [i64; 2]),
    /// Needs client memory first.
    Need(MemRequest),
    /// Needs every request of [`Ctx::prefetch`]'s batch first (they are in the
    /// context: a `Stop` stays `Copy`).
    NeedBatch,
    /// Must wait.
    Blocked,
    /// Must wait on the object with this key (a pipe: [`SimKernel::pipe_key`]).
    BlockedOn(u64),
}

impl From<MemError> for Stop {
    fn from(e: MemError) -> Stop {
        match e {
            MemError::Need(r) => Stop::Need(r),
            MemError::Fault => Stop::Errno(EFAULT),
        }
    }
}

/// The client ranges holding bytes [from, to) of the buffers `iov`, one
/// per buffer touched.
pub(crate) fn ranges_of(iov: &[(u64, u64)], from: usize, to: usize) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    let mut pos = 0usize;
    for &(base, len) in iov {
        let (lo, hi) = (pos, pos.saturating_add(len as usize));
        pos = hi;
        let (a, b) = (lo.max(from), hi.min(to));
        if a < b {
            ranges.push((base + (a - lo) as u64, (b - a) as u64));
        }
    }
    ranges
}

/// A handler's result: the two return values.
pub type SysResult = Result<(i64, i64), Stop>;

/// Everything one execution of a syscall handler works with.
pub struct Ctx<'m, 'a> {
    /// The calling process.
    pub pid: Pid,
    /// The argument block.
    pub args: SyscallArgs<'a>,
    /// Client memory.
    pub mem: MemoryCursor<'m>,
    /// Copyouts and signals so far.
    pub out: SyscallDone,
    /// The memory requests of a [`Stop::NeedBatch`].
    pub batch: Vec<MemRequest>,
}

impl Ctx<'_, '_> {
    /// Int argument `i` (missing slots are zero).
    pub fn int(&self, i: usize) -> i32 {
        self.args.int(i).unwrap_or(0)
    }

    /// The call's identity across its runs (the process, the syscall, its
    /// argument block): the key of its timed wait and of a send's or pipe
    /// write's progress.
    pub fn call_key(&self, sysnum: u32) -> TimedWait {
        (self.pid, sysnum, self.args.bytes().to_vec())
    }

    /// Full-width argument `i` (pointer, size_t, off_t).
    pub fn word(&self, i: usize) -> u64 {
        self.args.word(i).unwrap_or(0)
    }

    /// Copies `len` bytes in from `addr` (EFAULT for a NULL pointer).
    pub fn copyin(&mut self, addr: u64, len: u64) -> Result<Vec<u8>, Stop> {
        if addr == 0 && len > 0 {
            return Err(Stop::Errno(EFAULT));
        }
        Ok(self.mem.copyin(addr, len)?.to_vec())
    }

    /// The bytes [skip, skip + n) of the buffers `iov`, for a call whose
    /// amount depends on the kernel's state (a send limited by buffer space, a
    /// pipe write by the pipe's room).
    ///
    /// Such a call re-runs after a memory round trip and after every wait, and how
    /// much it takes depends on the buffer space of the moment. Its runs always
    /// fetch the data from the start of the buffers on, in one piece per round:
    /// so each run first takes again what earlier runs fetched (the call's
    /// memory holds them, in order) and asks only for the rest, and what it sends
    /// comes out of that prefix. Without this a run that wants a different
    /// amount than was fetched (the peer read meanwhile, or the first part was
    /// sent before a wait) would ask for a range the call's memory does not hold
    /// next, which is a fault.
    pub fn copyin_prefix(
        &mut self,
        iov: &[(u64, u64)],
        skip: usize,
        n: usize,
    ) -> Result<Vec<u8>, Stop> {
        let end = skip.saturating_add(n);
        let mut out = Vec::new();
        // Keeps the part of client bytes [at, at + piece.len()) inside [skip, end).
        let mut keep = |at: usize, piece: &[u8]| {
            let (a, b) = (at.max(skip), (at + piece.len()).min(end));
            if a < b {
                out.extend_from_slice(&piece[a - at..b - at]);
            }
        };
        // What earlier runs fetched: pieces that continue the prefix exactly
        // (read in place: a long send's earlier pieces are not copied again).
        let mut pos = 0usize;
        while let Some(&(addr, room)) = ranges_of(iov, pos, usize::MAX).first() {
            match self.mem.peek() {
                Some(&MemRequest::Bytes { addr: a, len })
                    if a == addr && len > 0 && len <= room =>
                {
                    let piece = self.mem.copyin(a, len)?;
                    keep(pos, piece);
                    pos += piece.len();
                }
                _ => break,
            }
        }
        if pos < end {
            let ranges = ranges_of(iov, pos, end);
            self.prefetch(&ranges)?;
            for (base, len) in ranges {
                let piece = self.copyin(base, len)?;
                keep(pos, &piece);
                pos += piece.len();
            }
        }
        Ok(out)
    }

    /// Makes sure the next copyins of this execution, `ranges` (address,
    /// length) in order, are fetched: when some are not, all the missing ones
    /// are asked for in one round ([`Stop::NeedBatch`]), so a handler that
    /// gathers many buffers (writev) runs a constant number of times, not once
    /// per buffer. Empty ranges need nothing. The ranges are then read with
    /// [`Ctx::copyin`] in the same order.
    pub fn prefetch(&mut self, ranges: &[(u64, u64)]) -> Result<(), Stop> {
        let reqs: Vec<MemRequest> = ranges
            .iter()
            .filter(|(_, len)| *len > 0)
            .map(|&(addr, len)| MemRequest::Bytes { addr, len })
            .collect();
        if reqs
            .iter()
            .any(|r| matches!(r, MemRequest::Bytes { addr: 0, .. }))
        {
            // A NULL buffer faults at its turn (copyin says EFAULT): fetch
            // one by one, as without a batch.
            return Ok(());
        }
        let missing = self.mem.missing(&reqs)?;
        match missing.len() {
            0 => Ok(()),
            1 => Err(Stop::Need(missing[0])),
            _ => {
                self.batch = missing;
                Err(Stop::NeedBatch)
            }
        }
    }

    /// Copies a NUL-terminated string of at most `max` bytes in (without the NUL);
    /// ENAMETOOLONG when no NUL fits.
    pub fn copyinstr(&mut self, addr: u64, max: u64) -> Result<Vec<u8>, Stop> {
        if addr == 0 {
            return Err(Stop::Errno(EFAULT));
        }
        if max == 0 {
            return Err(Stop::Errno(ENAMETOOLONG));
        }
        let s = self.mem.copyinstr(addr, max)?;
        match s.iter().position(|&b| b == 0) {
            Some(n) => Ok(s[..n].to_vec()),
            None => Err(Stop::Errno(ENAMETOOLONG)),
        }
    }

    /// A path argument (MAXPATHLEN including the NUL).
    pub fn path(&mut self, i: usize) -> Result<Vec<u8>, Stop> {
        let p = self.word(i);
        self.copyinstr(p, MAXPATHLEN)
    }

    /// Queues a copyout (nothing for an empty buffer).
    pub fn copyout(&mut self, addr: u64, data: Vec<u8>) -> Result<(), Stop> {
        if data.is_empty() {
            return Ok(());
        }
        if addr == 0 {
            return Err(Stop::Errno(EFAULT));
        }
        self.out.copyouts.push((addr, data));
        Ok(())
    }
}

/// A call waiting with a timeout: its process, syscall number and argument block.
pub type TimedWait = (Pid, u32, Vec<u8>);

/// Shorthand for failing with an errno.
pub fn err<T>(errno: i32) -> Result<T, Stop> {
    Err(Stop::Errno(errno))
}

/// The simulated kernel.
#[derive(Debug, Clone)]
pub struct SimKernel {
    /// The configuration it booted with.
    pub config: SimConfig,
    /// Processes, open files, pipes.
    pub t: Tables,
    /// File systems.
    pub vfs: Vfs,
    /// Virtual time.
    pub clock: Clock,
    /// Seeded randomness.
    pub rng: Rng,
    /// Advisory locks (fcntl and flock).
    pub locks: lockf::Locks,
    /// Deadlines (CLOCK_MONOTONIC ns) of the poll/select calls waiting with a
    /// timeout, and whether passing it has woken them yet.
    pub timed_waits: std::collections::BTreeMap<TimedWait, (u64, bool)>,
    /// Interval timers by (process, which).
    pub itimers: std::collections::BTreeMap<(Pid, i32), clock::ITimer>,
    /// Signals posted to processes outside their calls (an interval timer's
    /// SIGALRM), oldest first, for the server to raise
    /// ([`Kernel::take_raises`]).
    pub raises: Vec<(Pid, u32)>,
    /// Kqueues and their knotes.
    pub kq: kqueue::Kqueues,
    /// The sysctl tree, shared until written (cloning a booted kernel, as the
    /// fuzzers do per input, does not copy its hundreds of nodes).
    pub sysctl: std::sync::Arc<sysctl::Tree>,
    /// Network interfaces (lo0 with the net component).
    pub ifaces: net::iface::IfTable,
    generation: u64,
    /// Wait keys changed since the server last asked ([`SimKernel::bump_key`]).
    changed: std::collections::BTreeSet<u64>,
    /// Something changed that wakes every blocked call ([`SimKernel::bump`]).
    changed_all: bool,
    shutdown: bool,
}

impl Default for SimKernel {
    fn default() -> Self {
        SimKernel::new(SimConfig::default())
    }
}

impl SimKernel {
    /// Boots a kernel: pid 1 (init) with root credentials, the rumpfs root.
    pub fn new(config: SimConfig) -> SimKernel {
        let clock = Clock::boot(config.clock, config.boot_realtime);
        let vfs = Vfs::new(clock.realtime());
        let mut t = Tables {
            next_pid: 2,
            next_file: 1,
            next_pipe: 1,
            ..Default::default()
        };
        let root = vfs.root;
        t.procs.insert(
            1,
            Process {
                ppid: 0,
                comm: b"init".to_vec(),
                cred: Cred::default(),
                cwd: root,
                umask: 0o022,
                fds: Default::default(),
                sugid: false,
                rlimits: proc::BOOT_RLIMITS,
                pgid: 0,
                sid: 0,
                root: None,
            },
        );
        // proc0 and init share process group 0 of session 0 (proc0_init);
        // proc0 never leaves it.
        t.pgrps.insert(0, proc::Pgrp { sid: 0, members: 2 });
        t.sessions.insert(
            0,
            proc::Session {
                login: [0; MAXLOGNAME],
                pgrps: 1,
            },
        );
        let mut k = SimKernel {
            rng: Rng::new(config.seed),
            sysctl: std::sync::Arc::new(sysctl_net::with_net_nodes(
                sysctl::Tree::boot_with(&config.hostname, config.components),
                config.components,
            )),
            ifaces: net::iface::IfTable::boot(config.components, clock.realtime()),
            config,
            t,
            vfs,
            clock,
            locks: Default::default(),
            itimers: Default::default(),
            raises: Vec::new(),
            kq: kqueue::Kqueues {
                next: 1,
                ..Default::default()
            },
            timed_waits: Default::default(),
            generation: 0,
            changed: Default::default(),
            changed_all: false,
            shutdown: false,
        };
        if let Some(n) = k.vfs.nodes.get_mut(&root) {
            n.cwd_refs += 1;
        }
        k
    }

    /// Something that might unblock any call changed (every blocked call is
    /// tried again).
    pub fn bump(&mut self) {
        self.generation += 1;
        self.changed_all = true;
    }

    /// The object with this key changed: calls blocked on it, and calls
    /// blocked on nothing in particular, are tried again.
    pub fn bump_key(&mut self, key: u64) {
        self.generation += 1;
        self.changed.insert(key);
        // KNOTE(): the knotes watching the object run their filters.
        sys::kqueue::knote(self, key);
    }

    /// Pool bytes in use: file data, [`vfs::Vfs::meta_bytes`],
    /// [`PIPE_MEM`] per pipe and [`Self::socket_bytes`].
    pub fn pool_used(&self) -> u64 {
        let data: u64 = self.vfs.mounts.values().map(|m| m.bytes_used).sum();
        data.saturating_add(self.vfs.meta_bytes)
            .saturating_add((self.t.pipes.len() as u64).saturating_mul(PIPE_MEM))
            .saturating_add(self.socket_bytes())
    }

    /// Pool bytes the sockets hold: [`SOCKET_MEM`] each and the bytes in
    /// their send and receive buffers (data, addresses and control).
    pub fn socket_bytes(&self) -> u64 {
        let held: u64 = self
            .t
            .sockets
            .values()
            .map(|s| (s.snd.cc + s.rcv.cc) as u64)
            .sum();
        (self.t.sockets.len() as u64)
            .saturating_mul(SOCKET_MEM)
            .saturating_add(held)
    }

    /// `Ok` when `grow` more pool bytes fit, else the errno given.
    pub(crate) fn check_pool(&self, grow: u64, errno: i32) -> Result<(), Stop> {
        if self.pool_used().saturating_add(grow) > self.config.memory_pool {
            return err(errno);
        }
        Ok(())
    }

    /// Wakes every call whose timed wait the clock has reached (once each).
    fn wake_timed_waits(&mut self) {
        let now = self.clock.now_ns();
        let mut due = false;
        for (deadline, woken) in self.timed_waits.values_mut() {
            if !*woken && *deadline <= now {
                *woken = true;
                due = true;
            }
        }
        if due {
            self.bump();
        }
        sys::kqueue::run_timers(self);
        sys::timers::fire_itimers(self);
    }

    /// The wait key of a pipe.
    pub fn pipe_key(p: proc::PipeId) -> u64 {
        p
    }

    /// Marks the kernel as shutting down (reboot).
    pub fn request_shutdown(&mut self) {
        self.shutdown = true;
        self.bump();
    }

    /// A process, or ESRCH.
    pub fn proc(&self, pid: Pid) -> Result<&Process, Stop> {
        self.t.procs.get(&pid).ok_or(Stop::Errno(ESRCH))
    }

    /// A process, mutably, or ESRCH.
    pub fn proc_mut(&mut self, pid: Pid) -> Result<&mut Process, Stop> {
        self.t.procs.get_mut(&pid).ok_or(Stop::Errno(ESRCH))
    }

    fn new_pid(&mut self) -> Result<Pid, ProcessError> {
        if self.t.procs.len() >= self.config.max_procs {
            return Err(ProcessError::TableFull);
        }
        let pid = self.t.next_pid;
        self.t.next_pid += 1;
        Ok(pid)
    }

    /// Adds a reference to an open file (dup, fork).
    pub fn file_ref(&mut self, id: proc::FileId) {
        if let Some(f) = self.t.files.get_mut(&id) {
            f.refs += 1;
        }
    }

    /// Drops a reference to an open file; the last one closes it.
    pub fn file_unref(&mut self, id: proc::FileId) {
        let Some(f) = self.t.files.get_mut(&id) else {
            return;
        };
        f.refs -= 1;
        if f.refs > 0 {
            return;
        }
        let kind = f.kind;
        let flags = f.flags;
        self.t.files.remove(&id);
        match kind {
            FileKind::Node(n) => {
                if self.t.fifos.contains_key(&n) {
                    net::fifo::close_end(self, n, flags);
                }
                // The last close of a file drops its flock locks (closef, FHASLOCK).
                if !self.locks.release(lockf::Owner::Flock(id)).is_empty() {
                    self.bump_key(sys::lock_key(n));
                }
                if let Some(node) = self.vfs.nodes.get_mut(&n) {
                    node.open_refs = node.open_refs.saturating_sub(1);
                }
                self.vfs.maybe_free(n);
            }
            FileKind::PipeRead(p) => {
                if let Some(pipe) = self.t.pipes.get_mut(&p) {
                    pipe.readers -= 1;
                }
                self.drop_dead_pipe(p);
            }
            FileKind::PipeWrite(p) => {
                if let Some(pipe) = self.t.pipes.get_mut(&p) {
                    pipe.writers -= 1;
                }
                self.drop_dead_pipe(p);
            }
            FileKind::Console => {}
            FileKind::Kqueue(q) => sys::kqueue::close(self, q),
            FileKind::Socket(so) => net::close(self, so),
        }
        self.bump_key(match kind {
            FileKind::PipeRead(p) | FileKind::PipeWrite(p) => Self::pipe_key(p),
            FileKind::Socket(so) => net::sock_key(so),
            FileKind::Node(_) | FileKind::Console | FileKind::Kqueue(_) => NO_WAITER_KEY,
        });
    }

    fn drop_dead_pipe(&mut self, p: proc::PipeId) {
        if self
            .t
            .pipes
            .get(&p)
            .is_some_and(|x| x.readers == 0 && x.writers == 0)
        {
            self.t.pipes.remove(&p);
        }
    }

    /// Closes descriptor `fd` of `pid`.
    pub fn close_fd(&mut self, pid: Pid, fd: i32) -> Result<(), Stop> {
        if self.proc(pid)?.fds.contains_key(&fd) {
            sys::kqueue::fdclose(self, pid, fd);
        }
        let f = self
            .proc_mut(pid)?
            .fds
            .remove(&fd)
            .ok_or(Stop::Errno(EBADF))?;
        // fd_close: any close of a vnode drops the process's POSIX locks on it.
        if let Some(FileKind::Node(n)) = self.t.files.get(&f.file).map(|x| x.kind) {
            if self
                .locks
                .clear(n, lockf::Owner::Posix(pid), 0, lockf::TO_EOF)
            {
                self.bump_key(sys::lock_key(n));
            }
        }
        self.file_unref(f.file);
        Ok(())
    }

    /// Installs an open file at the lowest free descriptor.
    pub fn install_fd(&mut self, pid: Pid, file: proc::FileId, cloexec: bool) -> Result<i32, Stop> {
        let p = self.proc_mut(pid)?;
        match p.lowest_free(0, p.nofile()) {
            Some(fd) => {
                p.fds.insert(fd, Fd { file, cloexec });
                Ok(fd)
            }
            None => err(EMFILE),
        }
    }

    /// Checks the kernel's invariants: every descriptor names a live open file,
    /// every open file's reference count equals the descriptors naming it, pipe end
    /// counts match, node open counts match, link counts of directories add up,
    /// each mount's file-data accounting equals the data its files hold, the
    /// node and name accounting equals what the nodes hold, and all of it with
    /// the pipes' buffers stays within the configured memory pool, and every
    /// advisory lock belongs to a live process or open file.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut refs: std::collections::BTreeMap<proc::FileId, u32> = Default::default();
        for (pid, p) in &self.t.procs {
            for (fd, e) in &p.fds {
                if !self.t.files.contains_key(&e.file) {
                    return Err(format!("pid {pid} fd {fd} names a closed file"));
                }
                *refs.entry(e.file).or_default() += 1;
            }
        }
        for (pid, p) in &self.t.procs {
            if *pid != 1
                && !self
                    .t
                    .children
                    .get(&p.ppid)
                    .is_some_and(|c| c.contains(pid))
            {
                return Err(format!(
                    "pid {pid} is missing from its parent {}'s children",
                    p.ppid
                ));
            }
        }
        for (parent, kids) in &self.t.children {
            for k in kids {
                if self.t.procs.get(k).map(|p| p.ppid) != Some(*parent) {
                    return Err(format!("children index lists {k} under {parent}"));
                }
            }
        }
        self.check_sessions()?;
        let mut readers: std::collections::BTreeMap<proc::PipeId, u32> = Default::default();
        let mut writers: std::collections::BTreeMap<proc::PipeId, u32> = Default::default();
        let mut node_refs: std::collections::BTreeMap<vfs::NodeId, u32> = Default::default();
        for (id, f) in &self.t.files {
            if refs.get(id).copied().unwrap_or(0) != f.refs {
                return Err(format!(
                    "file {id} has refs {} but {} descriptors",
                    f.refs,
                    refs.get(id).copied().unwrap_or(0)
                ));
            }
            match f.kind {
                FileKind::PipeRead(p) => *readers.entry(p).or_default() += 1,
                FileKind::PipeWrite(p) => *writers.entry(p).or_default() += 1,
                FileKind::Node(n) => *node_refs.entry(n).or_default() += 1,
                FileKind::Socket(so) if !self.t.sockets.contains_key(&so) => {
                    return Err(format!("file {id} names a closed socket {so}"));
                }
                FileKind::Console | FileKind::Socket(_) | FileKind::Kqueue(_) => {}
            }
        }
        for (id, p) in &self.t.pipes {
            let (r, w) = (
                readers.get(id).copied().unwrap_or(0),
                writers.get(id).copied().unwrap_or(0),
            );
            if (r, w) != (p.readers, p.writers) || (r == 0 && w == 0) {
                return Err(format!(
                    "pipe {id}: ends ({}, {}) recorded, ({r}, {w}) open",
                    p.readers, p.writers
                ));
            }
        }
        let mut data: std::collections::BTreeMap<vfs::MountId, u64> = Default::default();
        let roots: std::collections::BTreeSet<vfs::NodeId> =
            self.vfs.mounts.values().map(|m| m.root).collect();
        for (id, n) in &self.vfs.nodes {
            if let vfs::NodeKind::File(d) = &n.kind {
                *data.entry(n.mount).or_default() += d.len() as u64;
            }
            if node_refs.get(id).copied().unwrap_or(0) != n.open_refs {
                return Err(format!(
                    "node {id}: open_refs {} but {} open files",
                    n.open_refs,
                    node_refs.get(id).copied().unwrap_or(0)
                ));
            }
            if let vfs::NodeKind::Dir { entries, .. } = &n.kind {
                let mut subdirs = 0u32;
                for e in entries {
                    if e.node == vfs::WHITEOUT {
                        continue;
                    }
                    match self.vfs.nodes.get(&e.node) {
                        Some(child) => subdirs += u32::from(child.is_dir()),
                        None => {
                            return Err(format!(
                                "dir node {id}: entry {:?} names a freed node",
                                String::from_utf8_lossy(&e.name)
                            ))
                        }
                    }
                }
                let is_root = roots.contains(id);
                let expect = if n.nlink == 0 { 0 } else { 2 + subdirs };
                if n.nlink != expect && !(is_root && n.nlink == 1 + subdirs) {
                    return Err(format!(
                        "dir node {id}: nlink {} with {subdirs} subdirectories",
                        n.nlink
                    ));
                }
            }
        }
        for (id, m) in &self.vfs.mounts {
            let held = data.get(id).copied().unwrap_or(0);
            if m.bytes_used != held {
                return Err(format!(
                    "mount {id}: {} data bytes accounted, its files hold {held}",
                    m.bytes_used
                ));
            }
        }
        for (node, list) in &self.locks.nodes {
            for l in list {
                let alive = match l.owner {
                    lockf::Owner::Posix(p) => self.t.procs.contains_key(&p),
                    lockf::Owner::Flock(f) => self.t.files.contains_key(&f),
                };
                if !alive || l.start > l.end {
                    return Err(format!("node {node}: lock {l:?} of a gone owner or empty"));
                }
            }
        }
        sys::kqueue::check(self)?;
        let meta = self.vfs.recount_meta();
        if meta != self.vfs.meta_bytes {
            return Err(format!(
                "{} node and name bytes accounted, the nodes hold {meta}",
                self.vfs.meta_bytes
            ));
        }
        let total: u64 = data.values().sum::<u64>()
            + meta
            + self.t.pipes.len() as u64 * PIPE_MEM
            + self.socket_bytes();
        if total > self.config.memory_pool {
            return Err(format!(
                "files, nodes, pipes and sockets hold {total} bytes, past the {}-byte pool",
                self.config.memory_pool
            ));
        }
        Ok(())
    }
}

impl SimKernel {
    /// Process groups count their members (proc0 too, in group 0), sessions
    /// their groups, every process is in a group of its own session.
    fn check_sessions(&self) -> Result<(), String> {
        let mut members: std::collections::BTreeMap<Pid, u32> = Default::default();
        members.insert(0, 1);
        for (pid, p) in &self.t.procs {
            *members.entry(p.pgid).or_default() += 1;
            match self.t.pgrps.get(&p.pgid) {
                Some(g) if g.sid == p.sid => {}
                _ => {
                    return Err(format!(
                        "pid {pid} is in group {} of no session {}",
                        p.pgid, p.sid
                    ))
                }
            }
        }
        let mut groups: std::collections::BTreeMap<Pid, u32> = Default::default();
        for (id, g) in &self.t.pgrps {
            if members.get(id).copied().unwrap_or(0) != g.members {
                return Err(format!("pgrp {id} counts {} members", g.members));
            }
            *groups.entry(g.sid).or_default() += 1;
        }
        for (id, s) in &self.t.sessions {
            if groups.get(id).copied().unwrap_or(0) != s.pgrps {
                return Err(format!("session {id} counts {} groups", s.pgrps));
            }
        }
        if groups.keys().any(|sid| !self.t.sessions.contains_key(sid)) {
            return Err("a process group names a missing session".into());
        }
        Ok(())
    }
}

impl Kernel for SimKernel {
    fn spawn_guest(&mut self, comm: &[u8]) -> Result<Pid, ProcessError> {
        let pid = self.new_pid()?;
        let cwd = self.vfs.root;
        if let Some(n) = self.vfs.nodes.get_mut(&cwd) {
            n.cwd_refs += 1;
        }
        // fds 0, 1 and 2 on the console, as rump_consdev_init sets them up
        // (one file, FWRITE only, dup'ed to 1 and 2) and a new process copies them.
        let mut fds = std::collections::BTreeMap::new();
        let f = self.t.new_file(FileKind::Console, O_WRONLY);
        if let Some(file) = self.t.files.get_mut(&f) {
            file.refs = 3;
        }
        for fd in 0..3 {
            fds.insert(
                fd,
                Fd {
                    file: f,
                    cloexec: false,
                },
            );
        }
        self.t.procs.insert(
            pid,
            Process {
                ppid: 1,
                comm: comm_from(comm),
                cred: Cred::default(),
                cwd,
                umask: 0o022,
                fds,
                sugid: false,
                rlimits: proc::BOOT_RLIMITS,
                pgid: 0,
                sid: 0,
                root: None,
            },
        );
        // lwproc_newproc: the process group of its parent (init's, 0).
        self.t.join_pgrp(0);
        self.t.adopt(1, pid);
        Ok(pid)
    }

    fn prefork(&mut self, parent: Pid) -> Result<Pid, ProcessError> {
        let p = self
            .t
            .procs
            .get(&parent)
            .cloned()
            .ok_or(ProcessError::NoSuchProcess(parent))?;
        let pid = self.new_pid()?;
        // fd_copy: kqueue descriptors cannot be copied.
        let mut p = p;
        p.fds.retain(|_, f| {
            !matches!(
                self.t.files.get(&f.file).map(|x| x.kind),
                Some(FileKind::Kqueue(_))
            )
        });
        for f in p.fds.values() {
            self.file_ref(f.file);
        }
        for held in std::iter::once(p.cwd).chain(p.root) {
            if let Some(n) = self.vfs.nodes.get_mut(&held) {
                n.cwd_refs += 1;
            }
        }
        self.t.join_pgrp(p.pgid);
        self.t.procs.insert(pid, Process { ppid: parent, ..p });
        self.t.adopt(parent, pid);
        sys::kqueue::proc_event(self, parent, kqueue::NOTE_FORK);
        Ok(pid)
    }

    fn fork_child(&mut self, intermediate: Pid) -> Result<Pid, ProcessError> {
        let pid = self.prefork(intermediate)?;
        // The intermediate is released: its child is re-parented to init.
        self.exit(intermediate);
        Ok(pid)
    }

    fn exec(&mut self, pid: Pid, comm: &[u8]) {
        let Some(p) = self.t.procs.get_mut(&pid) else {
            return;
        };
        p.comm = comm_from(comm);
        let closing: Vec<i32> = p
            .fds
            .iter()
            .filter(|(_, f)| f.cloexec)
            .map(|(fd, _)| *fd)
            .collect();
        for fd in closing {
            let _ = self.close_fd(pid, fd);
        }
        sys::kqueue::proc_event(self, pid, kqueue::NOTE_EXEC);
    }

    fn exit(&mut self, pid: Pid) {
        if !self.t.procs.contains_key(&pid) {
            return;
        }
        sys::kqueue::proc_exit(self, pid);
        let Some(p) = self.t.procs.remove(&pid) else {
            return;
        };
        self.locks.waiting.remove(&pid);
        self.itimers.retain(|(p, _), _| *p != pid);
        self.raises.retain(|(p, _)| *p != pid);
        self.timed_waits.retain(|(p, _, _), _| *p != pid);
        self.t.send_progress.retain(|(p, _, _), _| *p != pid);
        for n in self.locks.release(lockf::Owner::Posix(pid)) {
            self.bump_key(sys::lock_key(n));
        }
        for f in p.fds.values() {
            self.file_unref(f.file);
        }
        for held in std::iter::once(p.cwd).chain(p.root) {
            if let Some(n) = self.vfs.nodes.get_mut(&held) {
                n.cwd_refs = n.cwd_refs.saturating_sub(1);
            }
            self.vfs.maybe_free(held);
        }
        self.t.leave_pgrp(p.pgid);
        self.t.disown(p.ppid, pid);
        for child in self.t.children.remove(&pid).unwrap_or_default() {
            if let Some(c) = self.t.procs.get_mut(&child) {
                c.ppid = 1;
            }
            self.t.adopt(1, child);
        }
        // What its descriptors held was woken above, by key.
        self.bump_key(NO_WAITER_KEY);
    }

    fn syscall(
        &mut self,
        pid: Pid,
        sysnum: u32,
        args: SyscallArgs<'_>,
        mem: &CallMemory,
    ) -> SyscallStep {
        if !self.t.procs.contains_key(&pid) {
            return SyscallStep::Done(SyscallDone::err(ESRCH));
        }
        let absent =
            components::component_of(sysnum).is_some_and(|c| !self.config.components.has(c));
        let Some(handler) = sys::handler(sysnum).filter(|_| !absent) else {
            return SyscallStep::Done(SyscallDone::err(ENOSYS));
        };
        let mut ctx = Ctx {
            pid,
            args,
            mem: mem.cursor(),
            out: SyscallDone::default(),
            batch: Vec::new(),
        };
        // EVFILT_VNODE: what the watched vnodes look like before the call.
        let views = sys::kqueue::vnode_views(self, sysnum);
        let r = handler(self, &mut ctx);
        if r.is_ok() && !views.is_empty() {
            sys::kqueue::vnode_changes(self, sysnum, views);
        }
        let step = match r {
            Ok((r0, r1)) => {
                self.clock.advance(Clock::TICK_NS);
                ctx.out.retval = [r0, r1];
                SyscallStep::Done(ctx.out)
            }
            Err(Stop::Errno(e)) => {
                self.clock.advance(Clock::TICK_NS);
                ctx.out.error = e;
                ctx.out.retval = [0, 0];
                SyscallStep::Done(ctx.out)
            }
            Err(Stop::ErrnoWith(e, rv)) => {
                self.clock.advance(Clock::TICK_NS);
                ctx.out.error = e;
                ctx.out.retval = rv;
                SyscallStep::Done(ctx.out)
            }
            Err(Stop::Need(r)) => SyscallStep::Need(r),
            Err(Stop::NeedBatch) => SyscallStep::NeedAll(std::mem::take(&mut ctx.batch)),
            Err(Stop::Blocked) => SyscallStep::Blocked,
            Err(Stop::BlockedOn(key)) => SyscallStep::BlockedOn(key),
        };
        self.wake_timed_waits();
        step
    }

    fn generation(&self) -> u64 {
        self.generation
    }

    /// The timed waits (and kqueue timers) the clock reached since the last
    /// call: with the host's clock, a poll whose timeout passed while no
    /// call came ends at the server's next tick.
    fn tick(&mut self) {
        self.wake_timed_waits();
    }

    /// With the host's clock: until the earliest timed wait not yet woken
    /// or the earliest interval timer that raises a signal.
    fn next_wake_ns(&self) -> Option<u64> {
        self.clock.host?;
        let now = self.clock.now_ns();
        let waits = self
            .timed_waits
            .values()
            .filter(|(_, woken)| !*woken)
            .map(|(deadline, _)| deadline.saturating_sub(now));
        waits.chain(sys::timers::next_itimer_ns(self)).min()
    }

    fn take_raises(&mut self) -> Vec<(Pid, u32)> {
        std::mem::take(&mut self.raises)
    }

    fn shutdown_requested(&self) -> bool {
        self.shutdown
    }

    fn take_changed(&mut self) -> Option<Vec<u64>> {
        let keys = std::mem::take(&mut self.changed);
        if std::mem::take(&mut self.changed_all) {
            None
        } else {
            Some(keys.into_iter().collect())
        }
    }
}
