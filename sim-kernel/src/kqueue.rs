//! The kqueue model: `struct kevent` as NetBSD 7 lays it out on amd64, knotes
//! and their status bits, and the per-kqueue queue of active knotes
//! (sys/kern/kern_event.c 1.83: `knote_activate`, `knote_enqueue`,
//! `knote_detach`). The system calls and the filters are in
//! `sys/kqueue.rs` and `sys/kfilter.rs`.

use std::collections::{BTreeMap, VecDeque};

use rumpsp_protocol::kernel::Pid;

use crate::proc::FileId;

/// A kqueue's identifier.
pub type KqId = u64;

/// Data to read.
pub const EVFILT_READ: u32 = 0;
/// Room to write.
pub const EVFILT_WRITE: u32 = 1;
/// Asynchronous I/O (no filter ops in NetBSD: EINVAL).
pub const EVFILT_AIO: u32 = 2;
/// Vnode changes.
pub const EVFILT_VNODE: u32 = 3;
/// Process events.
pub const EVFILT_PROC: u32 = 4;
/// Signals posted to the process.
pub const EVFILT_SIGNAL: u32 = 5;
/// A timer, in milliseconds.
pub const EVFILT_TIMER: u32 = 6;
/// The number of system filters in NetBSD 7 (`sys_kfilters`); higher
/// numbers are user filters, of which a rump kernel registers none.
pub const EVFILT_SYSCOUNT: u32 = 7;

/// Add the event (implies EV_ENABLE).
pub const EV_ADD: u32 = 0x1;
/// Delete the event.
pub const EV_DELETE: u32 = 0x2;
/// Enable the event.
pub const EV_ENABLE: u32 = 0x4;
/// Disable the event (not reported).
pub const EV_DISABLE: u32 = 0x8;
/// Report one occurrence, then delete.
pub const EV_ONESHOT: u32 = 0x10;
/// Clear the event's state after reporting it.
pub const EV_CLEAR: u32 = 0x20;
/// Flags reserved by the system, cleared from every change.
pub const EV_SYSFLAGS: u32 = 0xf000;
/// End of file.
pub const EV_EOF: u32 = 0x8000;
/// An error; data holds the errno.
pub const EV_ERROR: u32 = 0x4000;

/// EVFILT_READ/EVFILT_WRITE: the data field is a low-water mark.
pub const NOTE_LOWAT: u32 = 0x1;
/// EVFILT_VNODE: the vnode's last name went (unlink, rename over it).
pub const NOTE_DELETE: u32 = 0x1;
/// EVFILT_VNODE: the data changed.
pub const NOTE_WRITE: u32 = 0x2;
/// EVFILT_VNODE: the size grew.
pub const NOTE_EXTEND: u32 = 0x4;
/// EVFILT_VNODE: attributes were set (chmod, chown, chflags, utimes).
pub const NOTE_ATTRIB: u32 = 0x8;
/// EVFILT_VNODE: the link count changed.
pub const NOTE_LINK: u32 = 0x10;
/// EVFILT_VNODE: the vnode was renamed.
pub const NOTE_RENAME: u32 = 0x20;

/// EVFILT_PROC: the process exited.
pub const NOTE_EXIT: u32 = 0x8000_0000;
/// EVFILT_PROC: the process forked.
pub const NOTE_FORK: u32 = 0x4000_0000;
/// EVFILT_PROC: the process exec'd.
pub const NOTE_EXEC: u32 = 0x2000_0000;

/// `sizeof(struct kevent)` on amd64.
pub const KEVENT_SIZE: u64 = 40;
/// `KQ_NEVENTS`: kevent1 copies changes in, and kqueue_scan events out, in
/// chunks of this many.
pub const KQ_NEVENTS: u64 = 8;
/// `kq_calloutmax`: the most timers at once, in the whole kernel.
pub const KQ_CALLOUTMAX: usize = 4 * 1024;

/// `struct kevent` (sys/sys/event.h): ident (8), filter (4), flags (4),
/// fflags (4), 4 bytes of padding, data (8), udata (8): 40 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kevent {
    /// The identifier (a descriptor, pid, signal or timer number).
    pub ident: u64,
    /// EVFILT_*.
    pub filter: u32,
    /// EV_*.
    pub flags: u32,
    /// Filter flags.
    pub fflags: u32,
    /// Filter data.
    pub data: i64,
    /// Opaque user data.
    pub udata: u64,
}

impl Kevent {
    /// Reads one from 40 bytes (missing bytes read as zero).
    pub fn decode(b: &[u8]) -> Kevent {
        let mut w = [0u8; 40];
        let n = b.len().min(40);
        w[..n].copy_from_slice(&b[..n]);
        let u64_at = |i: usize| u64::from_le_bytes(w[i..i + 8].try_into().unwrap_or([0; 8]));
        let u32_at = |i: usize| u32::from_le_bytes(w[i..i + 4].try_into().unwrap_or([0; 4]));
        Kevent {
            ident: u64_at(0),
            filter: u32_at(8),
            flags: u32_at(12),
            fflags: u32_at(16),
            data: u64_at(24) as i64,
            udata: u64_at(32),
        }
    }

    /// The 40 bytes (the padding is zero).
    pub fn encode(&self) -> [u8; 40] {
        let mut b = [0u8; 40];
        b[0..8].copy_from_slice(&self.ident.to_le_bytes());
        b[8..12].copy_from_slice(&self.filter.to_le_bytes());
        b[12..16].copy_from_slice(&self.flags.to_le_bytes());
        b[16..20].copy_from_slice(&self.fflags.to_le_bytes());
        b[24..32].copy_from_slice(&self.data.to_le_bytes());
        b[32..40].copy_from_slice(&self.udata.to_le_bytes());
        b
    }
}

/// The filter operations a knote got from its attach (`kn_fop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ops {
    /// `filt_piperead` on this end of a pipe.
    PipeRead,
    /// `filt_pipewrite` on this end of a pipe.
    PipeWrite,
    /// `filt_genfsread` on a tmpfs vnode.
    GenfsRead,
    /// `filt_genfsvnode` on a tmpfs vnode.
    GenfsVnode,
    /// `filt_kqueue`: EVFILT_READ on another kqueue.
    KqRead(KqId),
    /// `filt_soread`.
    SoRead,
    /// `filt_sowrite`.
    SoWrite,
    /// `filt_solisten`: EVFILT_READ on a listening socket.
    SoListen,
    /// `filt_fiforead`.
    FifoRead,
    /// `filt_fifowrite`.
    FifoWrite,
    /// `filt_timer`.
    Timer,
    /// `filt_proc`.
    Proc,
    /// `filt_signal`.
    Signal,
}

/// What a knote watches (`kn_obj`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnObj {
    /// The open file behind a descriptor.
    File(FileId),
    /// A timer: its period and next expiry (CLOCK_MONOTONIC ns).
    Timer {
        /// The period (whole ticks of 10 ms).
        period_ns: u64,
        /// When it next expires; `None` once a one-shot timer has fired.
        next_ns: Option<u64>,
    },
    /// A process (EVFILT_PROC) or the owner itself (EVFILT_SIGNAL).
    Proc(Pid),
}

/// A knote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Knote {
    /// `kn_kevent`: what a scan reports.
    pub kev: Kevent,
    /// `kn_sfflags`: the filter flags asked for.
    pub sfflags: u32,
    /// `kn_sdata`: the data asked for.
    pub sdata: i64,
    /// The watched object.
    pub obj: KnObj,
    /// The filter operations.
    pub ops: Ops,
    /// The wait key whose changes re-run the filter (`KNOTE`), if any.
    pub key: Option<u64>,
    /// KN_ACTIVE.
    pub active: bool,
    /// KN_QUEUED.
    pub queued: bool,
    /// KN_DISABLED.
    pub disabled: bool,
}

/// A knote's name within its kqueue: (filter, ident).
pub type KnKey = (u32, u64);

/// A kqueue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kqueue {
    /// The process whose descriptor table it belongs to (`kq_fdp`).
    pub owner: Pid,
    /// Its knotes.
    pub knotes: BTreeMap<KnKey, Knote>,
    /// The queued knotes, in order (`kq_head`); its length is `kq_count`.
    pub queue: VecDeque<KnKey>,
}

impl Kqueue {
    /// `knote_activate`: marks the knote active and queues it unless it is
    /// queued or disabled. True when it was newly queued.
    pub fn activate(&mut self, key: KnKey) -> bool {
        let Some(kn) = self.knotes.get_mut(&key) else {
            return false;
        };
        kn.active = true;
        if kn.queued || kn.disabled {
            return false;
        }
        kn.queued = true;
        self.queue.push_back(key);
        true
    }

    /// `knote_enqueue` (EV_ENABLE): clears KN_DISABLED and queues the
    /// knote if it is active and not queued. True when it was newly queued.
    pub fn enqueue(&mut self, key: KnKey) -> bool {
        let Some(kn) = self.knotes.get_mut(&key) else {
            return false;
        };
        kn.disabled = false;
        if !kn.active || kn.queued {
            return false;
        }
        kn.queued = true;
        self.queue.push_back(key);
        true
    }

    /// `knote_detach`: the knote leaves the kqueue and its queue.
    pub fn detach(&mut self, key: KnKey) {
        if self.knotes.remove(&key).is_some_and(|kn| kn.queued) {
            self.queue.retain(|k| *k != key);
        }
    }
}

/// Every kqueue, and the kevent calls that have registered their changes
/// and are waiting.
#[derive(Debug, Clone, Default)]
pub struct Kqueues {
    /// The kqueues.
    pub queues: BTreeMap<KqId, Kqueue>,
    /// The next kqueue's identifier.
    pub next: KqId,
    /// Blocked kevent calls (process, argument block) whose changelist has
    /// been applied: a retry only scans (kevent1 registers once, then
    /// sleeps in kqueue_scan).
    pub registered: std::collections::BTreeSet<(Pid, Vec<u8>)>,
}

impl Kqueues {
    /// The timers set in all kqueues (`kq_ncallouts`).
    pub fn timers(&self) -> usize {
        self.queues
            .values()
            .flat_map(|q| q.knotes.values())
            .filter(|kn| kn.ops == Ops::Timer)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kevent_is_40_bytes_with_data_at_24() {
        let k = Kevent {
            ident: 7,
            filter: EVFILT_WRITE,
            flags: EV_ADD | EV_EOF,
            fflags: 3,
            data: -2,
            udata: 0x1122,
        };
        let b = k.encode();
        assert_eq!(b.len() as u64, KEVENT_SIZE);
        assert_eq!(&b[20..24], &[0; 4], "padding after fflags");
        assert_eq!(i64::from_le_bytes(b[24..32].try_into().unwrap()), -2);
        assert_eq!(Kevent::decode(&b), k);
    }

    #[test]
    fn activation_queues_once_and_not_when_disabled() {
        let mut q = Kqueue::default();
        let kn = Knote {
            kev: Kevent::default(),
            sfflags: 0,
            sdata: 0,
            obj: KnObj::Proc(1),
            ops: Ops::Signal,
            key: None,
            active: false,
            queued: false,
            disabled: true,
        };
        q.knotes.insert((5, 1), kn);
        assert!(!q.activate((5, 1)), "disabled: active but not queued");
        assert!(q.queue.is_empty());
        assert!(q.enqueue((5, 1)), "EV_ENABLE queues an active knote");
        assert!(!q.activate((5, 1)), "already queued");
        assert_eq!(q.queue.len(), 1);
        q.detach((5, 1));
        assert!(q.queue.is_empty() && q.knotes.is_empty());
    }
}
