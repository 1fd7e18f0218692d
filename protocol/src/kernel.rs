//! The boundary between a rump_sp server and the kernel it serves.
//!
//! System calls are **resumable** (see `design.md`): the server calls
//! [`Kernel::syscall`] with the client memory fetched so far; the kernel either
//! finishes, asks for one more piece of client memory, or reports that it is
//! blocked. The kernel must not change its state until it has everything it
//! needs (gather, then commit), because a call may be run again from the start
//! with more memory in hand, and because the client may disconnect before it
//! supplies the memory.
//!
//! Kernel code reads client memory through a [`MemoryCursor`]: each access
//! either returns the bytes the client already supplied for that access, or
//! yields [`MemError::Need`], which the kernel passes up (typically with `?`)
//! as [`SyscallStep::Need`]. The sequence of memory requests is thus a pure
//! function of the kernel state and the client's memory.

use crate::args::SyscallArgs;

/// A process id in the served kernel.
pub type Pid = i32;

/// One piece of client memory a syscall needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemRequest {
    /// Exactly `len` bytes at `addr` (COPYIN).
    Bytes {
        /// Client address.
        addr: u64,
        /// Length wanted.
        len: u64,
    },
    /// A NUL-terminated string at `addr` of at most `max` bytes including the NUL (COPYINSTR).
    Str {
        /// Client address.
        addr: u64,
        /// Maximum size including the NUL.
        max: u64,
    },
    /// A fresh anonymous mapping of `len` bytes in the client (ANONMMAP).
    Mmap {
        /// Size of the mapping.
        len: u64,
    },
}

/// What the client supplied for one [`MemRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The bytes (for `Str`, 1..=max bytes, NUL-terminated when the string fits).
    Data(Vec<u8>),
    /// The address of the mapping (0: the client could not map).
    Mapped(u64),
    /// The client could not or did not supply it (bad reply, disconnect, timeout): EFAULT.
    Fault,
}

/// Why kernel code could not read client memory right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemError {
    /// Not fetched yet: the call must be suspended with [`SyscallStep::Need`].
    Need(MemRequest),
    /// The client failed to supply it: the call should fail with EFAULT.
    Fault,
}

/// The client memory fetched so far for one syscall, in request order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallMemory {
    items: Vec<(MemRequest, Fetched)>,
}

impl CallMemory {
    /// Records what the client supplied for the next request.
    pub fn push(&mut self, req: MemRequest, got: Fetched) {
        self.items.push((req, got));
    }

    /// How many requests have been answered.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing has been fetched yet.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Total bytes held.
    pub fn bytes_held(&self) -> usize {
        self.items
            .iter()
            .map(|(_, f)| match f {
                Fetched::Data(d) => d.len(),
                _ => 0,
            })
            .sum()
    }

    /// A cursor for one (re-)execution of the call.
    pub fn cursor(&self) -> MemoryCursor<'_> {
        MemoryCursor { mem: self, next: 0 }
    }
}

impl MemoryCursor<'_> {
    /// The request the next copy of this execution would be served from, if
    /// it was fetched in an earlier run (a call whose amount depends on the
    /// kernel's state, e.g. a send limited by buffer space, looks before it
    /// asks, so that it asks again for what it already has).
    pub fn peek(&self) -> Option<&MemRequest> {
        self.mem.items.get(self.next).map(|(r, _)| r)
    }

    /// Of `reqs`, the ones not fetched yet, given that the next requests of
    /// this execution are `reqs` in order: empty when all are in (the cursor
    /// does not move; the caller then takes them one by one), the missing tail
    /// otherwise. A different request than was fetched is a fault.
    pub fn missing(&self, reqs: &[MemRequest]) -> Result<Vec<MemRequest>, MemError> {
        for (i, want) in reqs.iter().enumerate() {
            match self.mem.items.get(self.next + i) {
                Some((r, _)) if r == want => {}
                Some(_) => return Err(MemError::Fault),
                None => return Ok(reqs[i..].to_vec()),
            }
        }
        Ok(Vec::new())
    }
}

/// Sequential access to a call's fetched memory during one execution.
#[derive(Debug)]
pub struct MemoryCursor<'a> {
    mem: &'a CallMemory,
    next: usize,
}

impl<'a> MemoryCursor<'a> {
    fn take(&mut self, req: MemRequest) -> Result<&'a Fetched, MemError> {
        match self.mem.items.get(self.next) {
            Some((r, got)) if *r == req => {
                self.next += 1;
                Ok(got)
            }
            // A different request than last time means the kernel is not
            // deterministic in its memory accesses; treat it as a fault rather
            // than serve the wrong bytes.
            Some(_) => Err(MemError::Fault),
            None => Err(MemError::Need(req)),
        }
    }

    /// `len` bytes at `addr` (copyin). A zero-length read needs no round trip.
    pub fn copyin(&mut self, addr: u64, len: u64) -> Result<&'a [u8], MemError> {
        if len == 0 {
            return Ok(&[]);
        }
        match self.take(MemRequest::Bytes { addr, len })? {
            Fetched::Data(d) if d.len() as u64 == len => Ok(d),
            _ => Err(MemError::Fault),
        }
    }

    /// A string at `addr` of at most `max` bytes including its NUL (copyinstr).
    /// Returns the bytes the client sent (the caller looks for the NUL).
    pub fn copyinstr(&mut self, addr: u64, max: u64) -> Result<&'a [u8], MemError> {
        match self.take(MemRequest::Str { addr, max })? {
            Fetched::Data(d) if !d.is_empty() && d.len() as u64 <= max => Ok(d),
            _ => Err(MemError::Fault),
        }
    }

    /// An anonymous mapping of `len` bytes in the client; `Ok(0)` when the client could not map.
    pub fn anonmmap(&mut self, len: u64) -> Result<u64, MemError> {
        match self.take(MemRequest::Mmap { len })? {
            Fetched::Mapped(a) => Ok(*a),
            _ => Err(MemError::Fault),
        }
    }
}

/// A finished syscall.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyscallDone {
    /// 0 or a NetBSD errno.
    pub error: i32,
    /// The two return values.
    pub retval: [i64; 2],
    /// Client memory to write, in order, before the response: (address, bytes).
    pub copyouts: Vec<(u64, Vec<u8>)>,
    /// NetBSD signals posted to the calling process, sent as RAISE before the response.
    pub signals: Vec<u32>,
}

impl SyscallDone {
    /// Success with two return values.
    pub fn ok(rv0: i64, rv1: i64) -> SyscallDone {
        SyscallDone {
            retval: [rv0, rv1],
            ..Default::default()
        }
    }

    /// Failure with a NetBSD errno.
    pub fn err(errno: i32) -> SyscallDone {
        SyscallDone {
            error: errno,
            ..Default::default()
        }
    }
}

/// The result of one attempt at a syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyscallStep {
    /// Finished; the kernel's state reflects the call.
    Done(SyscallDone),
    /// Needs this client memory first; the kernel's state is unchanged.
    Need(MemRequest),
    /// Needs all of these, in this order, before it can go on (e.g. every
    /// buffer of a writev): the server asks for them at once and runs the
    /// call again only when every answer is in. The kernel's state is unchanged.
    NeedAll(Vec<MemRequest>),
    /// Must wait (empty pipe, sleep, …); try again after the kernel changed. State unchanged.
    Blocked,
    /// Must wait on one object, named by a key the kernel picks (a pipe, say):
    /// tried again only when [`Kernel::take_changed`] names that key, or cannot
    /// say what changed. State unchanged.
    BlockedOn(u64),
}

/// Why the kernel could not create a process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// The process table is full.
    #[error("process table full")]
    TableFull,
    /// The pid does not name a live process.
    #[error("no such process {0}")]
    NoSuchProcess(Pid),
}

/// A kernel a rump_sp server can serve.
pub trait Kernel {
    /// GUEST handshake: a new process forked from pid 1 with fds 0–2 on the
    /// console; `comm` is the program name as sent (the kernel keeps up to its first NUL).
    fn spawn_guest(&mut self, comm: &[u8]) -> Result<Pid, ProcessError>;

    /// PREFORK: an intermediate process with a copy of `parent`'s descriptor table.
    fn prefork(&mut self, parent: Pid) -> Result<Pid, ProcessError>;

    /// FORK handshake: the child process, created from the intermediate (which is released).
    fn fork_child(&mut self, intermediate: Pid) -> Result<Pid, ProcessError>;

    /// EXEC handshake: close close-on-exec descriptors and rename the process.
    fn exec(&mut self, pid: Pid, comm: &[u8]);

    /// The process's connection went away (or a prefork was cancelled or expired):
    /// close its descriptors and re-parent its children to pid 1.
    fn exit(&mut self, pid: Pid);

    /// Runs (or re-runs) a syscall for `pid` with the memory fetched so far.
    fn syscall(
        &mut self,
        pid: Pid,
        sysnum: u32,
        args: SyscallArgs<'_>,
        mem: &CallMemory,
    ) -> SyscallStep;

    /// A counter that changes whenever state that could unblock a call changes
    /// (the server retries blocked calls only when it moved).
    fn generation(&self) -> u64;

    /// True once a reboot syscall has asked the server to shut down.
    fn shutdown_requested(&self) -> bool;

    /// The keys of the objects that changed since the last call (see
    /// [`SyscallStep::BlockedOn`]), or `None` when the kernel cannot say, and
    /// every blocked call must be tried again. Calls blocked without a key
    /// are tried again whenever the generation moved.
    fn take_changed(&mut self) -> Option<Vec<u64>> {
        None
    }

    /// Time passed without a call (the server's periodic tick): a kernel
    /// whose clock follows the host's ends the timed waits (a poll's
    /// timeout, say) that it has reached, changing the generation so that
    /// they run again.
    fn tick(&mut self) {}

    /// Nanoseconds until the earliest timed wait (a poll's timeout, a
    /// nanosleep) this kernel's host-following clock will reach, so that the
    /// server can run [`Kernel::tick`] then rather than at its next periodic
    /// tick; `None` when nothing waits on time (or the clock is virtual).
    fn next_wake_ns(&self) -> Option<u64> {
        None
    }

    /// Signals posted to processes outside their calls since the last
    /// call of this (an interval timer's SIGALRM): (pid, signal), in order.
    /// The server raises each on the process's connection (REQ/RAISE).
    fn take_raises(&mut self) -> Vec<(Pid, u32)> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_replays_fetched_memory_in_order() {
        let mut mem = CallMemory::default();
        let r1 = MemRequest::Str {
            addr: 0x10,
            max: 1024,
        };
        assert_eq!(mem.cursor().copyinstr(0x10, 1024), Err(MemError::Need(r1)));
        mem.push(r1, Fetched::Data(b"/tmp\0".to_vec()));
        let mut c = mem.cursor();
        assert_eq!(c.copyinstr(0x10, 1024), Ok(&b"/tmp\0"[..]));
        let r2 = MemRequest::Bytes { addr: 0x20, len: 4 };
        assert_eq!(c.copyin(0x20, 4), Err(MemError::Need(r2)));
        assert_eq!(c.copyin(0x30, 0), Ok(&[][..]));
        mem.push(r2, Fetched::Data(vec![1, 2]));
        let mut c = mem.cursor();
        c.copyinstr(0x10, 1024).unwrap();
        assert_eq!(
            c.copyin(0x20, 4),
            Err(MemError::Fault),
            "short data is a fault"
        );
    }

    #[test]
    fn a_different_request_on_rerun_is_a_fault() {
        let mut mem = CallMemory::default();
        mem.push(
            MemRequest::Bytes { addr: 1, len: 1 },
            Fetched::Data(vec![0]),
        );
        assert_eq!(mem.cursor().copyin(2, 1), Err(MemError::Fault));
        assert_eq!(mem.cursor().anonmmap(5), Err(MemError::Fault));
    }
}
