//! The kqueue filters: what each kind of object's `fo_kqfilter` attaches
//! (`f_attach`) and what its `f_event` answers.
//!
//! - pipes: `pipe_kqfilter`, `filt_piperead`, `filt_pipewrite`
//!   (sys/kern/sys_pipe.c): both ends have a read and a write filter; the
//!   buffer is the read end's, so a write end reads no data and a read end
//!   has no room. EVFILT_WRITE on an end whose peer is gone is EBADF; any
//!   other filter EINVAL.
//! - tmpfs vnodes: `genfs_kqfilter` (sys/miscfs/genfs/genfs_vnops.c 1.192,
//!   the netbsd-7 one): EVFILT_READ (`filt_genfsread`: size minus the file
//!   offset, ready when not 0) and EVFILT_VNODE; EVFILT_WRITE is EINVAL.
//! - rumpfs vnodes: rumpfs.c has no VOP_KQFILTER, so `vn_default_error`:
//!   EOPNOTSUPP.
//! - sockets: `soo_kqfilter`, `filt_soread`, `filt_sowrite`, `filt_solisten`
//!   (sys/kern/uipc_socket.c): EVFILT_READ (the listen filter on a socket
//!   with SO_ACCEPTCONN: data = completed connections) and EVFILT_WRITE; any
//!   other filter EINVAL.
//! - fifos: `fifo_kqfilter`, `filt_fiforead`, `filt_fifowrite`
//!   (sys/miscfs/fifofs/fifo_vnops.c 1.77): both on the read socket: the
//!   data in its receive buffer, the room in its send buffer; EV_EOF set when
//!   it can receive (send) no more and cleared otherwise.
//! - the console: `fnullop_kqfilter`, EOPNOTSUPP (kern_descrip.c 1.229).
//! - kqueues: `kqueue_kqfilter`: EVFILT_READ (`filt_kqueue`, data = the
//!   queued knotes); any other filter returns 1, i.e. EPERM.
//! - EVFILT_PROC (`filt_procattach`), EVFILT_SIGNAL (`filt_sigattach`) and
//!   EVFILT_TIMER (`filt_timerattach`) in sys/kern/kern_event.c and kern_sig.c.

use rumpsp_protocol::kernel::Pid;

use crate::consts::*;
use crate::kqueue::*;
use crate::proc::{FileId, FileKind};
use crate::vfs::{FsType, NodeId};
use crate::SimKernel;

/// The wait key of a vnode's knotes: changed by writes and size changes.
pub fn node_key(n: NodeId) -> u64 {
    (1 << 58) | n
}

/// The wait key of a kqueue: changed when a knote is newly queued.
pub fn kqueue_key(q: KqId) -> u64 {
    (1 << 59) | q
}

/// What an attach gives a new knote.
pub(crate) struct Attached {
    /// The filter operations.
    pub ops: Ops,
    /// The watched object.
    pub obj: KnObj,
    /// The wait key that re-runs the filter.
    pub key: Option<u64>,
    /// Flags the attach sets on the knote (EV_CLEAR for timers, processes
    /// and signals).
    pub flags: u32,
}

/// `filt_fileattach` → the file's `fo_kqfilter`, for EVFILT_READ, WRITE and VNODE.
pub(crate) fn file_attach(k: &SimKernel, filter: u32, file: FileId) -> Result<Attached, i32> {
    let kind = k.t.files.get(&file).map(|f| f.kind).ok_or(EBADF)?;
    let on = |ops, key| {
        Ok(Attached {
            ops,
            obj: KnObj::File(file),
            key: Some(key),
            flags: 0,
        })
    };
    match kind {
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) => {
            let pipe = k.t.pipes.get(&p).ok_or(EBADF)?;
            let peer_open = if matches!(kind, FileKind::PipeRead(_)) {
                pipe.writers > 0
            } else {
                pipe.readers > 0
            };
            match filter {
                EVFILT_READ => on(Ops::PipeRead, SimKernel::pipe_key(p)),
                EVFILT_WRITE if !peer_open => Err(EBADF),
                EVFILT_WRITE => on(Ops::PipeWrite, SimKernel::pipe_key(p)),
                _ => Err(EINVAL),
            }
        }
        FileKind::Node(n) => match k.vfs.fstype(n) {
            FsType::Rumpfs => Err(EOPNOTSUPP),
            // fifo_kqfilter (fifo_vnops.c 1.77): both filters hook the READ
            // socket, the read filter on its receive buffer, the write
            // filter on its send buffer (not the write socket's).
            _ if crate::net::fifo::info(k, n).is_some() => {
                let Some(fi) = crate::net::fifo::info(k, n) else {
                    return Err(EBADF);
                };
                match filter {
                    EVFILT_READ => on(Ops::FifoRead, crate::net::sock_key(fi.rso)),
                    EVFILT_WRITE => on(Ops::FifoWrite, crate::net::sock_key(fi.rso)),
                    _ => Err(EINVAL),
                }
            }
            FsType::Tmpfs => match filter {
                EVFILT_READ => on(Ops::GenfsRead, node_key(n)),
                EVFILT_VNODE => on(Ops::GenfsVnode, node_key(n)),
                _ => Err(EINVAL),
            },
        },
        FileKind::Socket(so) => {
            let listening =
                k.t.sockets
                    .get(&so)
                    .is_some_and(|s| s.options & crate::net::SO_ACCEPTCONN != 0);
            match filter {
                EVFILT_READ if listening => on(Ops::SoListen, crate::net::sock_key(so)),
                EVFILT_READ => on(Ops::SoRead, crate::net::sock_key(so)),
                EVFILT_WRITE => on(Ops::SoWrite, crate::net::sock_key(so)),
                _ => Err(EINVAL),
            }
        }
        FileKind::Console => Err(EOPNOTSUPP),
        FileKind::Kqueue(q) => match filter {
            EVFILT_READ => on(Ops::KqRead(q), kqueue_key(q)),
            _ => Err(EPERM),
        },
    }
}

/// `mstohz` at hz = 100, truncated to an int as `filt_timerattach` keeps it.
fn mstohz(ms: u64) -> i32 {
    let ticks = if ms >= 0x20000 {
        (ms / 1000).wrapping_mul(100)
    } else {
        ms * 100 / 1000
    };
    ticks as i32
}

/// The period of a timer of `ms` milliseconds, in nanoseconds, as
/// `filt_timerattach` and `filt_timerexpire` schedule it: whole ticks of
/// 10 ms, at least one; EINVAL for 0.
pub(crate) fn timer_period(ms: i64) -> Result<u64, i32> {
    let ticks = mstohz(ms as u64);
    if ticks == 0 && ms == 0 {
        return Err(EINVAL);
    }
    Ok(u64::from(ticks.max(1) as u32) * 10_000_000)
}

/// The attach of a filter that watches no descriptor: EVFILT_PROC,
/// EVFILT_SIGNAL, EVFILT_TIMER (`timers`: the timers set in the whole
/// kernel now, `kq_ncallouts`).
pub(crate) fn other_attach(
    k: &SimKernel,
    owner: Pid,
    filter: u32,
    ident: u64,
    sdata: i64,
    timers: usize,
) -> Result<Attached, i32> {
    match filter {
        EVFILT_PROC => {
            // proc_find, then KAUTH_PROCESS_KEVENT_FILTER: the same real uid
            // and no set-id change, or the superuser.
            let pid = i32::try_from(ident).map_err(|_| ESRCH)?;
            let target = k.t.procs.get(&pid).ok_or(ESRCH)?;
            let me = k.t.procs.get(&owner).ok_or(ESRCH)?;
            if (target.cred.uid != me.cred.uid || target.sugid) && me.cred.euid != 0 {
                return Err(EACCES);
            }
            Ok(Attached {
                ops: Ops::Proc,
                obj: KnObj::Proc(pid),
                key: None,
                flags: EV_CLEAR,
            })
        }
        EVFILT_SIGNAL => Ok(Attached {
            ops: Ops::Signal,
            obj: KnObj::Proc(owner),
            key: None,
            flags: EV_CLEAR,
        }),
        EVFILT_TIMER => {
            let period_ns = timer_period(sdata)?;
            if timers + 1 >= KQ_CALLOUTMAX {
                return Err(ENOMEM);
            }
            Ok(Attached {
                ops: Ops::Timer,
                obj: KnObj::Timer {
                    period_ns,
                    next_ns: Some(k.clock.now_ns().saturating_add(period_ns)),
                },
                key: None,
                flags: EV_CLEAR,
            })
        }
        _ => Err(EINVAL),
    }
}

/// `f_event` with no hint: updates the knote's data and flags and says
/// whether it is ready.
pub(crate) fn event(k: &SimKernel, kn: &mut Knote) -> bool {
    match (kn.ops, kn.obj) {
        (Ops::PipeRead | Ops::PipeWrite, KnObj::File(f)) => pipe_event(k, kn, f),
        (Ops::SoRead | Ops::SoWrite | Ops::SoListen, KnObj::File(f)) => socket_event(k, kn, f),
        (Ops::FifoRead | Ops::FifoWrite, KnObj::File(f)) => fifo_event(k, kn, f),
        (Ops::GenfsRead, KnObj::File(f)) => {
            let Some(file) = k.t.files.get(&f) else {
                return false;
            };
            let FileKind::Node(n) = file.kind else {
                return false;
            };
            let size = k
                .vfs
                .nodes
                .get(&n)
                .map_or(0, |x| x.size(k.vfs.fstype(n)) as i64);
            kn.kev.data = size.wrapping_sub(file.offset as i64);
            kn.kev.data != 0
        }
        (Ops::KqRead(q), _) => {
            kn.kev.data = k.kq.queues.get(&q).map_or(0, |x| x.queue.len() as i64);
            kn.kev.data > 0
        }
        (Ops::Timer | Ops::Signal, _) => kn.kev.data != 0,
        (Ops::GenfsVnode | Ops::Proc, _) => kn.kev.fflags != 0,
        _ => false,
    }
}

/// `filt_piperead` / `filt_pipewrite` on the end behind open file `f`.
fn pipe_event(k: &SimKernel, kn: &mut Knote, f: FileId) -> bool {
    let Some(kind) = k.t.files.get(&f).map(|x| x.kind) else {
        return false;
    };
    let (p, read_end) = match kind {
        FileKind::PipeRead(p) => (p, true),
        FileKind::PipeWrite(p) => (p, false),
        _ => return false,
    };
    let Some(pipe) = k.t.pipes.get(&p) else {
        kn.kev.flags |= EV_EOF;
        return true;
    };
    let peer_gone = if read_end {
        pipe.writers == 0
    } else {
        pipe.readers == 0
    };
    if kn.ops == Ops::PipeRead {
        // This end's own buffer: the read end holds the data.
        kn.kev.data = if read_end { pipe.buf.len() as i64 } else { 0 };
        if peer_gone {
            kn.kev.flags |= EV_EOF;
            return true;
        }
        return kn.kev.data > 0;
    }
    // The peer's buffer: the reader's for a write end; the writer's side
    // has none (size 0), so a read end never has room.
    if peer_gone {
        kn.kev.data = 0;
        kn.kev.flags |= EV_EOF;
        return true;
    }
    kn.kev.data = if read_end {
        0
    } else {
        pipe.capacity().saturating_sub(pipe.buf.len()) as i64
    };
    kn.kev.data >= PIPE_BUF as i64
}

/// `filt_soread`, `filt_sowrite` and `filt_solisten` on the socket behind
/// open file `f`. Read: data = bytes in the receive buffer; EOF (fflags =
/// so_error) once it can receive no more; ready on a pending error, else at
/// the low-water mark (NOTE_LOWAT: the knote's data). Write: data = room in
/// the send buffer; EOF once it can send no more; never ready unconnected on
/// a connection-oriented protocol. Listen: data = completed connections.
fn socket_event(k: &SimKernel, kn: &mut Knote, f: FileId) -> bool {
    use crate::net::{prflags, SS_CANTRCVMORE, SS_CANTSENDMORE, SS_ISCONNECTED};
    let Some(FileKind::Socket(so)) = k.t.files.get(&f).map(|x| x.kind) else {
        return false;
    };
    let Some(s) = k.t.sockets.get(&so) else {
        return false;
    };
    let lowat = |sb_lowat: i64| {
        if kn.sfflags & NOTE_LOWAT != 0 {
            kn.sdata
        } else {
            sb_lowat
        }
    };
    match kn.ops {
        Ops::SoListen => {
            kn.kev.data = s.queue.len() as i64;
            kn.kev.data > 0
        }
        Ops::SoRead => {
            kn.kev.data = s.rcv.cc as i64;
            if s.state & SS_CANTRCVMORE != 0 {
                kn.kev.flags |= EV_EOF;
                kn.kev.fflags = s.error as u32;
                return true;
            }
            s.error != 0 || kn.kev.data >= lowat(s.rcv.lowat)
        }
        _ => {
            kn.kev.data = s.snd.space();
            if s.state & SS_CANTSENDMORE != 0 {
                kn.kev.flags |= EV_EOF;
                kn.kev.fflags = s.error as u32;
                return true;
            }
            if s.error != 0 {
                return true;
            }
            if s.state & SS_ISCONNECTED == 0 && s.prflags & prflags::CONNREQUIRED != 0 {
                return false;
            }
            kn.kev.data >= lowat(s.snd.lowat)
        }
    }
}

/// `filt_fiforead` / `filt_fifowrite` on the FIFO behind open file `f`
/// (sys/miscfs/fifofs/fifo_vnops.c 1.77). Both look at the read socket,
/// the kn_hook fifo_kqfilter sets: the write filter's data is the room in
/// the read socket's own send buffer, and as that socket can send no more
/// from the FIFO's first open on (SS_CANTSENDMORE, never cleared), it
/// always fires with EV_EOF, whoever holds the FIFO.
fn fifo_event(k: &SimKernel, kn: &mut Knote, f: FileId) -> bool {
    use crate::net::{SS_CANTRCVMORE, SS_CANTSENDMORE};
    let Some(FileKind::Node(n)) = k.t.files.get(&f).map(|x| x.kind) else {
        return false;
    };
    let Some(fi) = crate::net::fifo::info(k, n) else {
        return false;
    };
    let read = kn.ops == Ops::FifoRead;
    let Some(s) = k.t.sockets.get(&fi.rso) else {
        return false;
    };
    let (eof, ready) = if read {
        kn.kev.data = s.rcv.cc as i64;
        (s.state & SS_CANTRCVMORE != 0, kn.kev.data > 0)
    } else {
        kn.kev.data = s.snd.space();
        (s.state & SS_CANTSENDMORE != 0, kn.kev.data >= s.snd.lowat)
    };
    if eof {
        kn.kev.flags |= EV_EOF;
        return true;
    }
    kn.kev.flags &= !EV_EOF;
    ready
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_periods_are_whole_ticks() {
        assert_eq!(timer_period(0), Err(EINVAL));
        assert_eq!(timer_period(1), Ok(10_000_000), "under a tick: one tick");
        assert_eq!(timer_period(25), Ok(20_000_000), "truncated to 2 ticks");
        assert_eq!(timer_period(1000), Ok(1_000_000_000));
    }
}
