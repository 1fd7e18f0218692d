//! poll (209), __pollts50 (437) and __select50 (417), as `pollcommon`,
//! `selcommon` and `sel_do_scan` (sys/kern/sys_select.c) check and scan, with
//! each object's `fo_poll`: `pipe_poll` (sys/kern/sys_pipe.c), `rumpcons_poll`
//! (rumpkern/cons.c), `kqueue_poll` (sys/kern/kern_event.c), and `vn_poll` → VOP_POLL, which is `genfs_poll` on tmpfs
//! and, rumpfs having no poll op, `vn_default_error`'s EOPNOTSUPP (45) handed
//! back as the revents.
//!
//! FIFOs answer `fifo_poll` (sys/miscfs/fifofs/fifo_vnops.c) and sockets
//! `sopoll` (sys/kern/uipc_socket.c).
//!
//! Waiting: nothing ready and no timeout (or one still to run) blocks the call
//! on the objects it watches (their wait key when it watches one object, any
//! change otherwise), as a read on an empty pipe does; a timeout of zero
//! returns at once. A finite timeout expires, advancing the virtual clock to
//! its deadline and returning 0, when no other process could make a watched
//! object ready in time (none holds an end of a watched pipe or FIFO, and,
//! for a watched socket, no other process has descriptors at all); while
//! another could, the call waits on the objects until they change, another
//! call moves the clock past the deadline (a nanosleep, say), or, with the
//! host's clock, the server's idle tick finds the deadline passed
//! (`Kernel::tick`).

use crate::consts::*;
use crate::net::SockId;
use crate::proc::{FileKind, PipeId};
use crate::structs::{read_timespec, read_timeval};
use crate::sys::io::file_of;
use crate::vfs::{FsType, NodeId, Timespec};
use crate::{err, Ctx, SimKernel, Stop, SysResult, TimedWait};

/// Data to read.
pub const POLLIN: i32 = 0x1;
/// Room to write (= POLLWRNORM).
pub const POLLOUT: i32 = 0x4;
/// An error.
pub const POLLERR: i32 = 0x8;
/// Hung up.
pub const POLLHUP: i32 = 0x10;
/// Not an open descriptor.
pub const POLLNVAL: i32 = 0x20;
/// Normal data to read.
pub const POLLRDNORM: i32 = 0x40;
/// Priority data to read.
pub const POLLRDBAND: i32 = 0x80;
const POLLWRNORM: i32 = POLLOUT;

/// `sel_flag`: the events select asks for in its read, write and except sets.
const SEL_FLAG: [i32; 3] = [
    POLLRDNORM | POLLHUP | POLLERR,
    POLLWRNORM | POLLHUP | POLLERR,
    POLLRDBAND,
];

/// The size of a process's descriptor table (`dt_nfiles`): NDFILE (20)
/// slots, grown by `fd_tryexpand` to NDEXTENT (50) and then doubled until the
/// highest open descriptor fits. (NetBSD never shrinks it; this follows the
/// descriptors open now.)
pub fn fd_table_size(k: &SimKernel, pid: i32) -> u32 {
    let top =
        k.t.procs
            .get(&pid)
            .and_then(|p| p.fds.keys().next_back().copied())
            .unwrap_or(0)
            .max(0) as u32;
    let mut n = 20u32;
    while top >= n {
        n = if n < 50 { 50 } else { n.saturating_mul(2) };
    }
    n
}

/// What a scan looked at, for the wait when nothing was ready: the wait keys
/// of the watched objects (each object's `selrecord`), and what another
/// process could change.
#[derive(Debug, Default)]
struct Scanned {
    /// The wait keys, in scan order (repeats kept; one distinct key blocks on it).
    keys: Vec<u64>,
    /// Watched pipes.
    pipes: Vec<PipeId>,
    /// Watched FIFO vnodes.
    fifos: Vec<NodeId>,
    /// Watched sockets.
    sockets: Vec<SockId>,
}

/// What `fo_poll` answers for the file behind `fd` asked for `events`
/// (recording what it watched in `seen`); `None` when `fd` is not open.
fn fo_poll(k: &SimKernel, pid: i32, fd: i32, events: i32, seen: &mut Scanned) -> Option<i32> {
    let id = file_of(k, pid, fd).ok()?;
    let f = k.t.files.get(&id)?;
    Some(match f.kind {
        FileKind::Console => events & (POLLOUT | POLLWRNORM),
        FileKind::Node(n) => match k.vfs.fstype(n) {
            FsType::Rumpfs => EOPNOTSUPP,
            // VOP_POLL of a FIFO is fifo_poll (tmpfs_fifoop_entries).
            _ if crate::net::fifo::info(k, n).is_some() => {
                let Some(fi) = crate::net::fifo::info(k, n) else {
                    return Some(0);
                };
                seen.keys.extend([
                    crate::net::sock_key(fi.rso),
                    crate::net::sock_key(fi.wso),
                    crate::net::fifo::fifo_key(n),
                ]);
                seen.fifos.push(n);
                fifo_poll(k, fi, events)
            }
            FsType::Tmpfs => events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM),
        },
        FileKind::Kqueue(q) => {
            seen.keys.push(crate::sys::kfilter::kqueue_key(q));
            crate::sys::kqueue::poll(k, q, events)
        }
        FileKind::Socket(so) => {
            seen.keys.push(crate::net::sock_key(so));
            seen.sockets.push(so);
            crate::net::poll(k, so, events)
        }
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) => {
            let read_end = matches!(f.kind, FileKind::PipeRead(_));
            seen.keys.push(SimKernel::pipe_key(p));
            seen.pipes.push(p);
            pipe_poll(k, p, read_end, events)
        }
    })
}

/// `fifo_poll` (sys/miscfs/fifofs/fifo_vnops.c): read events (POLLIN,
/// POLLPRI, POLLRDNORM, POLLRDBAND) ask `sopoll` of the read socket, write
/// events (POLLOUT, POLLWRNORM, POLLWRBAND) that of the write socket, each
/// with all the events; whatever either answers is reported. The open
/// file's mode plays no part. Being sockets, they never say POLLHUP: a FIFO
/// whose last writer closed is readable (the read socket can receive no
/// more), one that never had a writer is not.
pub(crate) fn fifo_poll(k: &SimKernel, fi: crate::net::fifo::FifoInfo, events: i32) -> i32 {
    const POLLPRI: i32 = 0x2;
    const POLLWRBAND: i32 = 0x100;
    let mut revents = 0;
    if events & (POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND) != 0 {
        revents |= crate::net::poll(k, fi.rso, events);
    }
    if events & (POLLOUT | POLLWRNORM | POLLWRBAND) != 0 {
        revents |= crate::net::poll(k, fi.wso, events);
    }
    revents
}

/// `pipe_poll` for one end. The read end's own buffer holds the data; its
/// peer (the writer's side) has no buffer, so it never offers room. The write
/// end's own side is empty and hits EOF when the reader closes; its peer is
/// the reader's buffer. A closed peer is gone: POLLOUT (if asked) and POLLHUP.
fn pipe_poll(k: &SimKernel, p: PipeId, read_end: bool, events: i32) -> i32 {
    let Some(pipe) = k.t.pipes.get(&p) else {
        return 0;
    };
    let peer_open = if read_end {
        pipe.writers > 0
    } else {
        pipe.readers > 0
    };
    // The end's own state: data (read end only) or EOF (its peer closed).
    let own_data = read_end && !pipe.buf.is_empty();
    let own_eof = !peer_open;
    let mut revents = 0;
    if events & (POLLIN | POLLRDNORM) != 0 && (own_data || own_eof) {
        revents |= events & (POLLIN | POLLRDNORM);
    }
    // A gone peer takes writes no more and blocks none: POLLOUT as asked.
    // Room: pipe_buffer.size - cnt >= PIPE_BUF, the size being PIPE_SIZE
    // or BIG_PIPE_SIZE once a large write resized the buffer.
    let room = !read_end && pipe.capacity().saturating_sub(pipe.buf.len()) >= PIPE_BUF;
    if !peer_open || room {
        revents |= events & (POLLOUT | POLLWRNORM);
    }
    if !peer_open {
        revents |= POLLHUP;
    }
    revents
}

/// A timeout as `itimespecfix` accepts it (EINVAL for a negative time or a
/// nanosecond count out of range), in nanoseconds; `None` waits for ever.
pub(crate) fn timeout_ns(ts: Option<Timespec>) -> Result<Option<u64>, Stop> {
    let Some(t) = ts else { return Ok(None) };
    if t.sec < 0 || t.nsec < 0 || t.nsec >= 1_000_000_000 {
        return err(EINVAL);
    }
    // A wait shorter than a tick (10 ms at 100 Hz) is a tick.
    let nsec = if t.sec == 0 && t.nsec != 0 && t.nsec < 10_000_000 {
        10_000_000
    } else {
        t.nsec
    };
    Ok(Some(
        (t.sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(nsec as u64),
    ))
}

/// Whether a process other than `pid` holds a descriptor whose open file
/// `watched` says is one of the watched objects.
pub(crate) fn others_hold(k: &SimKernel, pid: i32, watched: impl Fn(FileKind) -> bool) -> bool {
    k.t.procs.iter().filter(|(p, _)| **p != pid).any(|(_, pr)| {
        pr.fds
            .values()
            .any(|d| k.t.files.get(&d.file).is_some_and(|f| watched(f.kind)))
    })
}

/// What a call that found nothing ready waits on: the wait keys of the
/// watched objects, and whether another process could change one of them.
pub(crate) struct Watch {
    /// The wait keys (one key: the call blocks on it; several: on any change).
    pub keys: Vec<u64>,
    /// Another process could change a watched object.
    pub others: bool,
}

impl Watch {
    /// The watch of a scan: its keys; another process could change a
    /// watched pipe or FIFO it holds an end of, or a watched socket
    /// ([`others_with_sockets`]).
    fn of(k: &SimKernel, pid: i32, seen: &Scanned) -> Watch {
        let others = others_hold(k, pid, |kind| match kind {
            FileKind::PipeRead(p) | FileKind::PipeWrite(p) => seen.pipes.contains(&p),
            FileKind::Node(n) => seen.fifos.contains(&n),
            _ => false,
        }) || (!seen.sockets.is_empty() && others_with_sockets(k, pid));
        Watch {
            keys: seen.keys.clone(),
            others,
        }
    }
}

/// Whether another process could change a socket `pid` watches: one (not
/// `pid`) that holds a socket, or could make one and connect or send (any
/// process with open descriptors: init, pid 1, has none and makes no calls).
pub(crate) fn others_with_sockets(k: &SimKernel, pid: i32) -> bool {
    k.t.procs
        .iter()
        .any(|(p, pr)| *p != pid && !pr.fds.is_empty())
}

/// The end of a scan that found nothing: return 0 now (a timeout of 0, a
/// timeout the clock has passed since the call first waited, or, with the
/// virtual clock, one that runs out with nothing able to change: the clock
/// advances to it), or wait on the watched objects and the deadline. `wake_at` is a moment (CLOCK_MONOTONIC ns)
/// at which the caller has something to do before its timeout (a kqueue
/// timer): the wait ends there too, with the clock moved to it. A timed
/// wait keeps its deadline in [`SimKernel::timed_waits`], so a clock
/// another call moves past it ends it.
pub(crate) fn nothing_ready(
    k: &mut SimKernel,
    key: TimedWait,
    timeout: Option<u64>,
    wake_at: Option<u64>,
    watch: &Watch,
) -> Result<(), Stop> {
    let now = k.clock.now_ns();
    let deadline = match timeout {
        Some(0) => return Ok(()),
        Some(ns) => Some(
            k.timed_waits
                .get(&key)
                .map_or(now.saturating_add(ns), |w| w.0),
        ),
        None => None,
    };
    let end = match (deadline, wake_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(end) = end {
        // With nothing able to change (no other process), a virtual clock
        // jumps to the end; the host's clock is waited out (the server's
        // tick ends the wait), as the real kernel sleeps.
        if now >= end || (!watch.others && k.clock.host.is_none()) {
            k.timed_waits.remove(&key);
            k.clock.advance(end.saturating_sub(now));
            return Ok(());
        }
    }
    if let Some(d) = deadline {
        k.timed_waits.entry(key).or_insert((d, false));
    }
    match watch.keys.as_slice() {
        [first, rest @ ..] if rest.iter().all(|q| q == first) => Err(Stop::BlockedOn(*first)),
        _ => Err(Stop::Blocked),
    }
}

/// `pollcommon` and `pollscan`: the pollfd array back with revents filled in.
fn pollcommon(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    sysnum: u32,
    ts: Option<Timespec>,
) -> SysResult {
    let (fds, nfds) = (c.word(0), c.int(1) as u32);
    if u64::from(nfds) > 1000 + u64::from(fd_table_size(k, c.pid)) {
        return err(EINVAL);
    }
    let mut buf = c.copyin(fds, u64::from(nfds) * 8)?;
    let timeout = timeout_ns(ts)?;
    let mut n = 0i64;
    let mut seen = Scanned::default();
    for e in buf.chunks_exact_mut(8) {
        let fd = i32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        let events = i32::from(i16::from_le_bytes([e[4], e[5]]));
        let revents = if fd < 0 {
            0
        } else {
            fo_poll(k, c.pid, fd, events | POLLERR | POLLHUP, &mut seen).unwrap_or(POLLNVAL)
        };
        e[6..8].copy_from_slice(&(revents as i16).to_le_bytes());
        n += i64::from(revents != 0);
    }
    let key = c.call_key(sysnum);
    if n == 0 {
        let watch = Watch::of(k, c.pid, &seen);
        nothing_ready(k, key, timeout, None, &watch)?;
    } else {
        k.timed_waits.remove(&key);
    }
    c.copyout(fds, buf)?;
    Ok((n, 0))
}

/// poll(fds, nfds, timeout): a timeout in milliseconds, INFTIM (-1) for none.
pub(crate) fn poll(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let ms = c.int(2);
    let ts = (ms != -1).then(|| Timespec {
        sec: i64::from(ms / 1000),
        nsec: i64::from(ms % 1000) * 1_000_000,
    });
    pollcommon(k, c, 209, ts)
}

/// The timespec at `tsp` (none for NULL), then the signal mask at `maskp`
/// (16 bytes, which changes nothing here: no signal is delivered while
/// waiting), copied in before anything is checked, as __pollts50 and
/// __pselect50 do.
fn timespec_then_mask(c: &mut Ctx<'_, '_>, tsp: u64, maskp: u64) -> Result<Option<Timespec>, Stop> {
    let ts = if tsp != 0 {
        Some(read_timespec(&c.copyin(tsp, 16)?))
    } else {
        None
    };
    if maskp != 0 {
        c.copyin(maskp, 16)?;
    }
    Ok(ts)
}

/// __pollts50(fds, nfds, ts, mask): [`timespec_then_mask`], then pollcommon.
pub(crate) fn pollts(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let ts = timespec_then_mask(c, c.word(2), c.word(3))?;
    pollcommon(k, c, 437, ts)
}

/// __select50(nd, in, ou, ex, tv): the timeval first, then [`selcommon`].
pub(crate) fn select(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let tvp = c.word(4);
    let ts = if tvp != 0 {
        Some(read_timeval(&c.copyin(tvp, 16)?))
    } else {
        None
    };
    selcommon(k, c, 417, ts)
}

/// __pselect50(nd, in, ou, ex, ts, mask), as sys___pselect50:
/// [`timespec_then_mask`], then [`selcommon`].
pub(crate) fn pselect(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let ts = timespec_then_mask(c, c.word(4), c.word(5))?;
    selcommon(k, c, 436, ts)
}

/// `selcommon`: nd < 0 is EINVAL, nd is cut to the descriptor table's size,
/// each non-NULL set (howmany(nd, 32) words) is copied in, the timeout
/// checked, and `selscan` asks every descriptor in each set for `sel_flag`
/// (EBADF for one not open). The result sets go back, in the order in, ou,
/// ex, only on success.
fn selcommon(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    sysnum: u32,
    ts: Option<Timespec>,
) -> SysResult {
    let nd = c.int(0);
    if nd < 0 {
        return err(EINVAL);
    }
    let nd = (nd as u32).min(fd_table_size(k, c.pid));
    let ni = u64::from(nd.div_ceil(32)) * 4;
    let ptrs = [c.word(1), c.word(2), c.word(3)];
    let mut sets = Vec::with_capacity(3);
    for &p in &ptrs {
        sets.push(if p != 0 {
            c.copyin(p, ni)?
        } else {
            vec![0; ni as usize]
        });
    }
    let timeout = timeout_ns(ts)?;
    let mut out = vec![vec![0u8; ni as usize]; 3];
    let mut n = 0i64;
    let mut seen = Scanned::default();
    for (msk, set) in sets.iter().enumerate() {
        for fd in 0..nd as usize {
            if set[fd / 8] & (1 << (fd % 8)) == 0 {
                continue;
            }
            let r =
                fo_poll(k, c.pid, fd as i32, SEL_FLAG[msk], &mut seen).ok_or(Stop::Errno(EBADF))?;
            if r != 0 {
                out[msk][fd / 8] |= 1 << (fd % 8);
                n += 1;
            }
        }
    }
    let key = c.call_key(sysnum);
    if n == 0 {
        let watch = Watch::of(k, c.pid, &seen);
        nothing_ready(k, key, timeout, None, &watch)?;
    } else {
        k.timed_waits.remove(&key);
    }
    for (p, o) in ptrs.iter().zip(out) {
        if *p != 0 {
            c.copyout(*p, o)?;
        }
    }
    Ok((n, 0))
}
