//! kqueue (344), kqueue1 (455) and __kevent50 (435), as sys/kern/kern_event.c
//! 1.83 does them: `kqueue1`, `kevent1`, `kqueue_register`, `kqueue_scan`,
//! and the knote activation the watched objects trigger (`knote`).
//!
//! Activation: every change to an object that a blocked call could wait on
//! is announced with [`SimKernel::bump_key`]; [`knote`] runs the `f_event`
//! of the knotes watching that key and queues those that fire, as a
//! `KNOTE()` from the object does. A newly queued knote changes the
//! kqueue's own key, which wakes a kevent blocked on it (and knotes on
//! other kqueues that watch this one). Timers fire on the virtual clock
//! ([`run_timers`], after every call).
//!
//! A blocked kevent registers its changes once: its retries only scan.

use rumpsp_protocol::kernel::Pid;

use crate::consts::*;
use crate::kqueue::*;
use crate::proc::FileKind;
use crate::structs::{read_timespec, Stat};
use crate::sys::io::file_of;
use crate::sys::kfilter::{self, kqueue_key};
use crate::sys::poll::{nothing_ready, timeout_ns, Watch};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

/// `kqueue1`: a kqueue open for reading and writing, with FNONBLOCK and
/// FNOSIGPIPE of the flags; O_CLOEXEC sets close-on-exec. Other bits are
/// ignored (sys_kqueue1 checks none).
fn kqueue_common(k: &mut SimKernel, pid: Pid, flags: i32) -> SysResult {
    let q = k.kq.next;
    k.kq.next += 1;
    let file = k.t.new_file(
        FileKind::Kqueue(q),
        O_RDWR | (flags & (O_NONBLOCK | O_NOSIGPIPE)),
    );
    k.kq.queues.insert(
        q,
        Kqueue {
            owner: pid,
            ..Default::default()
        },
    );
    match k.install_fd(pid, file, flags & O_CLOEXEC != 0) {
        Ok(fd) => Ok((i64::from(fd), 0)),
        Err(e) => {
            k.file_unref(file);
            Err(e)
        }
    }
}

/// kqueue().
pub(crate) fn kqueue(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    kqueue_common(k, c.pid, 0)
}

/// kqueue1(flags).
pub(crate) fn kqueue1(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    kqueue_common(k, c.pid, c.int(0))
}

/// `kqueue_stat`: all zero but the mode (S_IFIFO, no permission bits), the
/// queued knotes as the size and sizeof(struct kevent) as the block size.
pub(crate) fn stat(k: &SimKernel, q: KqId) -> Stat {
    Stat {
        mode: S_IFIFO,
        size: k.kq.queues.get(&q).map_or(0, |x| x.queue.len() as i64),
        blksize: KEVENT_SIZE as i32,
        ..Default::default()
    }
}

/// `kqueue_poll`: POLLIN/POLLRDNORM as asked while a knote is queued.
pub(crate) fn poll(k: &SimKernel, q: KqId, events: i32) -> i32 {
    let queued = k.kq.queues.get(&q).is_some_and(|x| !x.queue.is_empty());
    if queued {
        events & (crate::sys::poll::POLLIN | 0x40)
    } else {
        0
    }
}

/// `f_event` of a knote of the kqueue `q` being changed (`kq`, not yet
/// back in the kernel): EVFILT_READ on that same kqueue counts `kq`'s queue.
fn event_in(k: &SimKernel, kq: &Kqueue, q: KqId, kn: &mut Knote) -> bool {
    if kn.ops == Ops::KqRead(q) {
        kn.kev.data = kq.queue.len() as i64;
        return kn.kev.data > 0;
    }
    kfilter::event(k, kn)
}

/// `kqueue_register` of one change on `kq` (the kqueue `q`). The order of
/// the checks: the filter (EINVAL for none or one without ops), the
/// descriptor (EBADF), a missing knote without EV_ADD (ENOENT), then the
/// attach's own errors. A new knote keeps the change's flags; its fflags
/// and data are saved and zeroed (so an error entry for a failed attach
/// carries fflags 0).
fn register(k: &SimKernel, kq: &mut Kqueue, q: KqId, kev: &mut Kevent) -> Result<(), i32> {
    if kev.filter >= EVFILT_SYSCOUNT || kev.filter == EVFILT_AIO {
        return Err(EINVAL);
    }
    let isfd = matches!(kev.filter, EVFILT_READ | EVFILT_WRITE | EVFILT_VNODE);
    let mut file = None;
    let ident = if isfd {
        // `fd = kev->ident` into an int, then fd_getfile of it.
        let fd = kev.ident as u32 as i32;
        let f =
            k.t.procs
                .get(&kq.owner)
                .and_then(|p| p.fds.get(&fd))
                .map(|d| d.file)
                .ok_or(EBADF)?;
        file = Some(f);
        fd as u64
    } else {
        kev.ident
    };
    let key = (kev.filter, ident);
    if kev.flags & EV_ADD != 0 {
        if let Some(kn) = kq.knotes.get_mut(&key) {
            // The user may change the filter values; triggered state stays.
            kn.sfflags = kev.fflags;
            kn.sdata = kev.data;
            kn.kev.udata = kev.udata;
        } else {
            let (sfflags, sdata) = (kev.fflags, kev.data);
            kev.fflags = 0;
            kev.data = 0;
            let att = match file {
                Some(f) => kfilter::file_attach(k, kev.filter, f)?,
                None => {
                    // kq_ncallouts: the other kqueues' timers and this one's so far.
                    let here =
                        |x: &Kqueue| x.knotes.values().filter(|n| n.ops == Ops::Timer).count();
                    let committed = k.kq.queues.get(&q).map_or(0, here);
                    let timers = k.kq.timers() - committed + here(kq);
                    kfilter::other_attach(k, kq.owner, kev.filter, kev.ident, sdata, timers)?
                }
            };
            let mut stored = *kev;
            stored.flags |= att.flags;
            kq.knotes.insert(
                key,
                Knote {
                    kev: stored,
                    sfflags,
                    sdata,
                    obj: att.obj,
                    ops: att.ops,
                    key: att.key,
                    active: false,
                    queued: false,
                    disabled: false,
                },
            );
        }
        if let Some(mut kn) = kq.knotes.get(&key).cloned() {
            let fired = event_in(k, kq, q, &mut kn);
            kq.knotes.insert(key, kn);
            if fired {
                kq.activate(key);
            }
        }
    } else {
        if !kq.knotes.contains_key(&key) {
            return Err(ENOENT);
        }
        if kev.flags & EV_DELETE != 0 {
            kq.detach(key);
            return Ok(());
        }
    }
    if kev.flags & EV_DISABLE != 0 {
        if let Some(kn) = kq.knotes.get_mut(&key) {
            kn.disabled = true;
        }
    }
    if kev.flags & EV_ENABLE != 0 {
        kq.enqueue(key);
    }
    Ok(())
}

/// The registrations of a kevent call: the changes are copied in
/// KQ_NEVENTS at a time and registered in order; a failed one becomes an
/// EV_ERROR entry (data = the errno) at the front of the eventlist while
/// there is room, else the call fails with its errno. Returns the error
/// entries, the room left, and the errno that ends the call, if any.
fn apply_changes(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    q: KqId,
    changelist: u64,
    nchanges: u64,
    mut nevents: u64,
) -> Result<(Vec<Kevent>, u64, Option<i32>), Stop> {
    let mut kq = k.kq.queues.get(&q).cloned().ok_or(Stop::Errno(EBADF))?;
    let mut errors = Vec::new();
    let mut fail = None;
    let (mut left, mut done) = (nchanges, 0u64);
    'chunks: while left > 0 {
        let n = left.min(KQ_NEVENTS);
        let addr = changelist.wrapping_add(done.wrapping_mul(KEVENT_SIZE));
        let bytes = match c.copyin(addr, n * KEVENT_SIZE) {
            Ok(b) => b,
            Err(Stop::Errno(e)) => {
                fail = Some(e);
                break;
            }
            Err(other) => return Err(other),
        };
        for chunk in bytes.chunks_exact(KEVENT_SIZE as usize) {
            let mut kev = Kevent::decode(chunk);
            kev.flags &= !EV_SYSFLAGS;
            if let Err(e) = register(k, &mut kq, q, &mut kev) {
                if nevents == 0 {
                    fail = Some(e);
                    break 'chunks;
                }
                kev.flags = EV_ERROR;
                kev.data = i64::from(e);
                errors.push(kev);
                nevents -= 1;
            }
        }
        left -= n;
        done += n;
    }
    let queued = !kq.queue.is_empty();
    k.kq.queues.insert(q, kq);
    if queued {
        k.bump_key(kqueue_key(q));
    }
    Ok((errors, nevents, fail))
}

/// One pass of `kqueue_scan` over the knotes queued now (up to the
/// marker): disabled ones leave the queue; others re-run their filter
/// (not EV_ONESHOT ones) and leave it inactive when it no longer fires;
/// the rest are reported: EV_ONESHOT ones are then deleted, EV_CLEAR ones
/// cleared (data and fflags 0, inactive), others queued again at the tail.
fn scan(k: &mut SimKernel, q: KqId, max: u64) -> Vec<Kevent> {
    let pending = k.kq.queues.get(&q).map_or(0, |x| x.queue.len());
    let mut out = Vec::new();
    for _ in 0..pending {
        if out.len() as u64 >= max {
            break;
        }
        let Some(kq) = k.kq.queues.get_mut(&q) else {
            break;
        };
        let Some(key) = kq.queue.pop_front() else {
            break;
        };
        let Some(kn) = kq.knotes.get_mut(&key) else {
            continue;
        };
        kn.queued = false;
        if kn.disabled {
            continue;
        }
        let mut kn = kn.clone();
        let fired = kn.kev.flags & EV_ONESHOT != 0 || kfilter::event(k, &mut kn);
        let Some(kq) = k.kq.queues.get_mut(&q) else {
            break;
        };
        if !fired {
            kn.active = false;
            kq.knotes.insert(key, kn);
            continue;
        }
        out.push(kn.kev);
        if kn.kev.flags & EV_ONESHOT != 0 {
            kq.knotes.remove(&key);
        } else if kn.kev.flags & EV_CLEAR != 0 {
            kn.kev.data = 0;
            kn.kev.fflags = 0;
            kn.active = false;
            kq.knotes.insert(key, kn);
        } else {
            kn.queued = true;
            kq.knotes.insert(key, kn);
            kq.queue.push_back(key);
        }
    }
    out
}

/// The next expiry of an enabled timer of kqueue `q`.
fn next_timer(k: &SimKernel, q: KqId) -> Option<u64> {
    k.kq.queues
        .get(&q)?
        .knotes
        .values()
        .filter(|kn| !kn.disabled)
        .filter_map(|kn| match kn.obj {
            KnObj::Timer { next_ns, .. } => next_ns,
            _ => None,
        })
        .min()
}

/// Whether a process other than `pid` could change what kqueue `q`
/// watches: it holds a watched pipe or vnode, or is a watched process, or
/// (for a watched socket, whose peer is another file) it has descriptors
/// (init, pid 1, has none and makes no calls).
fn others_could_change(k: &SimKernel, pid: Pid, q: KqId) -> bool {
    let Some(kq) = k.kq.queues.get(&q) else {
        return false;
    };
    let mut objects = Vec::new();
    for kn in kq.knotes.values() {
        match kn.obj {
            KnObj::File(f) => match k.t.files.get(&f).map(|x| x.kind) {
                Some(FileKind::Socket(_)) if crate::sys::poll::others_with_sockets(k, pid) => {
                    return true
                }
                kind => objects.extend(kind),
            },
            KnObj::Proc(p) if p != pid && k.t.procs.contains_key(&p) => return true,
            _ => {}
        }
    }
    crate::sys::poll::others_hold(k, pid, |kind| {
        objects.iter().any(|o| match (o, kind) {
            (FileKind::PipeRead(a) | FileKind::PipeWrite(a), FileKind::PipeRead(b))
            | (FileKind::PipeRead(a) | FileKind::PipeWrite(a), FileKind::PipeWrite(b)) => *a == b,
            (FileKind::Node(a), FileKind::Node(b)) => *a == b,
            _ => false,
        })
    })
}

/// __kevent50(fd, changelist, nchanges, eventlist, nevents, timeout):
/// `kevent1`. EBADF for a descriptor that is not a kqueue; the timeout is
/// copied in first, then the changes are registered; with error entries
/// the call returns their number without scanning. The scan: nevents 0
/// returns 0 at once (no timeout check); a bad timeout is EINVAL (with
/// retval nevents, as kqueue_scan sets it); events go out KQ_NEVENTS at a
/// time. Nothing to report: a zero timeout returns 0, a NULL one waits on
/// the kqueue, a finite one as poll's timed waits do (a timer's expiry
/// ends such a wait too).
pub(crate) fn kevent(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fd, changelist, nchanges) = (c.int(0), c.word(1), c.word(2));
    let (eventlist, nevents, tsp) = (c.word(3), c.word(4), c.word(5));
    let id = file_of(k, c.pid, fd)?;
    let Some(FileKind::Kqueue(q)) = k.t.files.get(&id).map(|f| f.kind) else {
        return err(EBADF);
    };
    let ts = if tsp != 0 {
        Some(read_timespec(&c.copyin(tsp, 16)?))
    } else {
        None
    };
    let reg_key = (c.pid, c.args.bytes().to_vec());
    let mut room = nevents;
    if !k.kq.registered.contains(&reg_key) {
        let (errors, left, fail) = apply_changes(k, c, q, changelist, nchanges, nevents)?;
        for (i, e) in errors.iter().enumerate() {
            let at = eventlist.wrapping_add(i as u64 * KEVENT_SIZE);
            c.copyout(at, e.encode().to_vec())?;
        }
        if let Some(e) = fail {
            return err(e);
        }
        if !errors.is_empty() {
            return Ok((errors.len() as i64, 0));
        }
        room = left;
    }
    let done = |k: &mut SimKernel, wait: &crate::TimedWait| {
        k.timed_waits.remove(wait);
        k.kq.registered.remove(&(wait.0, wait.2.clone()));
    };
    let wait = c.call_key(435);
    if room == 0 {
        done(k, &wait);
        return Ok((0, 0));
    }
    let Ok(timeout) = timeout_ns(ts) else {
        done(k, &wait);
        return Err(Stop::ErrnoWith(EINVAL, [room as i64, 0]));
    };
    for _ in 0..3 {
        run_timers(k);
        let evs = scan(k, q, room);
        if !evs.is_empty() {
            done(k, &wait);
            for (i, chunk) in evs.chunks(KQ_NEVENTS as usize).enumerate() {
                let at = eventlist.wrapping_add(i as u64 * KQ_NEVENTS * KEVENT_SIZE);
                c.copyout(at, chunk.iter().flat_map(|e| e.encode()).collect())?;
            }
            return Ok((evs.len() as i64, 0));
        }
        let wake_at = next_timer(k, q);
        let watch = Watch {
            keys: vec![kqueue_key(q)],
            others: others_could_change(k, c.pid, q),
        };
        if let Err(stop) = nothing_ready(k, wait.clone(), timeout, wake_at, &watch) {
            k.kq.registered.insert(reg_key);
            return Err(stop);
        }
        // The wait ended: by the timeout, or by a timer now due.
        if wake_at.is_none_or(|t| t > k.clock.now_ns()) {
            break;
        }
    }
    done(k, &wait);
    Ok((0, 0))
}

/// `filt_timerexpire` for every timer the clock has reached: data counts
/// the expiries, the knote is activated, and a periodic timer is set again
/// (a one-shot one is not).
pub fn run_timers(k: &mut SimKernel) {
    if k.kq.queues.is_empty() {
        return;
    }
    let now = k.clock.now_ns();
    let mut woken = Vec::new();
    for (q, kq) in k.kq.queues.iter_mut() {
        let due: Vec<KnKey> = kq
            .knotes
            .iter()
            .filter(|(_, kn)| matches!(kn.obj, KnObj::Timer { next_ns: Some(t), .. } if t <= now))
            .map(|(key, _)| *key)
            .collect();
        for key in due {
            let Some(kn) = kq.knotes.get_mut(&key) else {
                continue;
            };
            let KnObj::Timer {
                period_ns,
                next_ns: Some(next),
            } = kn.obj
            else {
                continue;
            };
            let oneshot = kn.kev.flags & EV_ONESHOT != 0;
            let n = if oneshot {
                1
            } else {
                1 + (now - next) / period_ns.max(1)
            };
            kn.kev.data = kn.kev.data.wrapping_add(n as i64);
            kn.obj = KnObj::Timer {
                period_ns,
                next_ns: (!oneshot).then(|| next.saturating_add(n.saturating_mul(period_ns))),
            };
            if kq.activate(key) {
                woken.push(*q);
            }
        }
    }
    for q in woken {
        k.bump_key(kqueue_key(q));
    }
}

/// `knote()` on the knotes watching wait key `key`: each one's filter runs
/// and those that fire are activated.
pub fn knote(k: &mut SimKernel, key: u64) {
    if k.kq.queues.is_empty() {
        return;
    }
    let hits: Vec<(KqId, KnKey)> =
        k.kq.queues
            .iter()
            .flat_map(|(q, kq)| {
                kq.knotes
                    .iter()
                    .filter(|(_, kn)| kn.key == Some(key))
                    .map(move |(kk, _)| (*q, *kk))
            })
            .collect();
    let mut woken = Vec::new();
    for (q, kk) in hits {
        let Some(mut kn) = k.kq.queues.get(&q).and_then(|x| x.knotes.get(&kk)).cloned() else {
            continue;
        };
        let fired = kfilter::event(k, &mut kn);
        let Some(kq) = k.kq.queues.get_mut(&q) else {
            continue;
        };
        kq.knotes.insert(kk, kn);
        if fired && kq.activate(kk) {
            woken.push(q);
        }
    }
    for q in woken {
        k.bump_key(kqueue_key(q));
    }
}

/// `knote_fdclose`: closing descriptor `fd` of `pid` deletes the knotes
/// its kqueues hold on it.
pub fn fdclose(k: &mut SimKernel, pid: Pid, fd: i32) {
    for kq in k.kq.queues.values_mut().filter(|x| x.owner == pid) {
        let gone: Vec<KnKey> = kq
            .knotes
            .iter()
            .filter(|(key, kn)| key.1 == fd as u64 && matches!(kn.obj, KnObj::File(_)))
            .map(|(key, _)| *key)
            .collect();
        for key in gone {
            kq.detach(key);
        }
    }
}

/// `kqueue_close`: the last close of a kqueue takes it and its knotes.
pub fn close(k: &mut SimKernel, q: KqId) {
    k.kq.queues.remove(&q);
}

/// A process event (`KNOTE(&p->p_klist, hint)`) for EVFILT_PROC knotes
/// watching `pid`: the event is recorded if asked for; NOTE_EXIT also sets
/// EV_EOF and EV_ONESHOT and detaches the knote from the process. (The exit
/// status, p_xstat, is 0: a rump guest process has none.)
pub fn proc_event(k: &mut SimKernel, pid: Pid, hint: u32) {
    if k.kq.queues.is_empty() {
        return;
    }
    let mut woken = Vec::new();
    for (q, kq) in k.kq.queues.iter_mut() {
        let keys: Vec<KnKey> = kq
            .knotes
            .iter()
            .filter(|(_, kn)| kn.ops == Ops::Proc && kn.obj == KnObj::Proc(pid))
            .map(|(key, _)| *key)
            .collect();
        for key in keys {
            let Some(kn) = kq.knotes.get_mut(&key) else {
                continue;
            };
            kn.kev.fflags |= kn.sfflags & hint;
            if hint == NOTE_EXIT {
                kn.kev.data = 0;
                kn.kev.flags |= EV_EOF | EV_ONESHOT;
                kn.obj = KnObj::Proc(0);
            } else if kn.kev.fflags == 0 {
                continue;
            }
            if kq.activate(key) {
                woken.push(*q);
            }
        }
    }
    for q in woken {
        k.bump_key(kqueue_key(q));
    }
}

/// What an exiting process leaves: its kqueues' knotes (the kqueues go
/// with its descriptors), its registered kevent calls; NOTE_EXIT for the
/// knotes watching it.
pub fn proc_exit(k: &mut SimKernel, pid: Pid) {
    for kq in k.kq.queues.values_mut().filter(|x| x.owner == pid) {
        kq.knotes.clear();
        kq.queue.clear();
    }
    k.kq.registered.retain(|(p, _)| *p != pid);
    proc_event(k, pid, NOTE_EXIT);
}

/// Every knote on a descriptor names the open file behind it in its
/// owner's table, every queued knote exists once in its queue.
pub fn check(k: &SimKernel) -> Result<(), String> {
    for (q, kq) in &k.kq.queues {
        let holders =
            k.t.files
                .values()
                .filter(|f| f.kind == FileKind::Kqueue(*q))
                .count();
        if holders != 1 {
            return Err(format!("kqueue {q} has {holders} open files"));
        }
        for ((filter, ident), kn) in &kq.knotes {
            if let KnObj::File(f) = kn.obj {
                let fd =
                    k.t.procs
                        .get(&kq.owner)
                        .and_then(|p| p.fds.get(&(*ident as i32)));
                if fd.map(|d| d.file) != Some(f) {
                    return Err(format!(
                        "kqueue {q}: knote ({filter}, {ident}) on a closed fd"
                    ));
                }
            }
            let n = kq.queue.iter().filter(|x| **x == (*filter, *ident)).count();
            if n != usize::from(kn.queued) {
                return Err(format!(
                    "kqueue {q}: knote ({filter}, {ident}) queued {n} times"
                ));
            }
        }
    }
    Ok(())
}

/// The system filters' names, by number (`sys_kfilters`).
const FILTER_NAMES: [&str; EVFILT_SYSCOUNT as usize] = [
    "EVFILT_READ",
    "EVFILT_WRITE",
    "EVFILT_AIO",
    "EVFILT_VNODE",
    "EVFILT_PROC",
    "EVFILT_SIGNAL",
    "EVFILT_TIMER",
];

/// KFILTER_BYFILTER: `_IOWR('k', 0, struct kfilter_mapping)`.
const KFILTER_BYFILTER: u32 = 0xc018_6b00;
/// KFILTER_BYNAME: `_IOWR('k', 1, struct kfilter_mapping)`.
const KFILTER_BYNAME: u32 = 0xc018_6b01;
/// `KFILTER_MAXNAME` (sys/sys/eventvar.h).
const KFILTER_MAXNAME: u64 = 256;

/// `kqueue_ioctl` (after sys_ioctl copied the 24-byte `struct
/// kfilter_mapping` {name, len, filter} in): KFILTER_BYFILTER copies the
/// filter's name out (`copyoutstr`: ENAMETOOLONG when it and its NUL do not
/// fit in len), KFILTER_BYNAME looks a name of at most KFILTER_MAXNAME up
/// and sets filter; ENOENT for an unknown filter or name. The mapping goes
/// back on success. Any other command: ENOTTY.
pub(crate) fn ioctl(c: &mut Ctx<'_, '_>, com: u32, data: u64) -> SysResult {
    if com != KFILTER_BYFILTER && com != KFILTER_BYNAME {
        return err(ENOTTY);
    }
    let mut km = c.copyin(data, 24)?;
    let word = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    let (name, len) = (word(&km, 0), word(&km, 8));
    if com == KFILTER_BYFILTER {
        let filter = u32::from_le_bytes(km[16..20].try_into().unwrap_or([0; 4]));
        let n = FILTER_NAMES
            .get(filter as usize)
            .ok_or(Stop::Errno(ENOENT))?;
        if n.len() as u64 + 1 > len {
            return err(ENAMETOOLONG);
        }
        let mut s = n.as_bytes().to_vec();
        s.push(0);
        c.copyout(name, s)?;
    } else {
        let s = c.copyinstr(name, KFILTER_MAXNAME)?;
        let i = FILTER_NAMES
            .iter()
            .position(|n| n.as_bytes() == s.as_slice())
            .ok_or(Stop::Errno(ENOENT))?;
        km[16..20].copy_from_slice(&(i as u32).to_le_bytes());
    }
    c.copyout(data, km)?;
    Ok((0, 0))
}

/// `VN_KNOTE(vp, hint)`: the EVFILT_VNODE knotes on `node` record the
/// hints they asked for, then every knote on the vnode runs its filter.
pub fn vnode_note(k: &mut SimKernel, node: crate::vfs::NodeId, hint: u32) {
    let key = kfilter::node_key(node);
    for kq in k.kq.queues.values_mut() {
        for kn in kq.knotes.values_mut() {
            if kn.key == Some(key) && kn.ops == Ops::GenfsVnode {
                kn.kev.fflags |= kn.sfflags & hint;
            }
        }
    }
    k.bump_key(key);
}

/// What EVFILT_VNODE can see of a watched vnode, taken before and after a
/// call to tell which tmpfs `VN_KNOTE`s the call made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VnodeView {
    node: crate::vfs::NodeId,
    /// tn_links (0 once the node is gone).
    nlink: u32,
    dir: bool,
    /// A regular file's size.
    size: u64,
    /// mode, uid, gid, flags and the four times.
    attrs: (u32, u32, u32, u32, [crate::vfs::Timespec; 4]),
    /// A directory's entries (name, node).
    entries: Vec<(Vec<u8>, crate::vfs::NodeId)>,
    /// The names it is entered under (directory, name), for renames only.
    names: Vec<(crate::vfs::NodeId, Vec<u8>)>,
}

/// rename, renameat, __posix_rename.
const RENAMES: [u32; 3] = [128, 458, 270];
/// The calls that end in tmpfs_chmod, tmpfs_chown, tmpfs_chflags or
/// tmpfs_chtimes: chmod, fchmod, lchmod, fchmodat, chown, fchown, lchown,
/// fchownat, __posix_chown, __posix_fchown, __posix_lchown, chflags,
/// fchflags, lchflags, __utimes50, __futimes50, __lutimes50, utimensat,
/// futimens.
const SETATTRS: [u32; 19] = [
    15, 124, 274, 463, 16, 123, 275, 464, 283, 284, 285, 34, 35, 304, 420, 423, 424, 467, 472,
];

/// The views of every vnode an EVFILT_VNODE knote watches (none, and no
/// work, without such knotes), before call `sysnum` runs.
pub fn vnode_views(k: &SimKernel, sysnum: u32) -> Vec<VnodeView> {
    let mut nodes = std::collections::BTreeSet::new();
    for kq in k.kq.queues.values() {
        for kn in kq.knotes.values() {
            if kn.ops != Ops::GenfsVnode {
                continue;
            }
            if let KnObj::File(f) = kn.obj {
                if let Some(FileKind::Node(n)) = k.t.files.get(&f).map(|x| x.kind) {
                    nodes.insert(n);
                }
            }
        }
    }
    let renaming = RENAMES.contains(&sysnum);
    nodes.into_iter().map(|n| view(k, n, renaming)).collect()
}

fn view(k: &SimKernel, n: crate::vfs::NodeId, renaming: bool) -> VnodeView {
    use crate::vfs::NodeKind;
    let Some(nd) = k.vfs.nodes.get(&n) else {
        return VnodeView {
            node: n,
            nlink: 0,
            dir: false,
            size: 0,
            attrs: (0, 0, 0, 0, [Default::default(); 4]),
            entries: Vec::new(),
            names: Vec::new(),
        };
    };
    let (dir, size, entries) = match &nd.kind {
        NodeKind::Dir { entries, .. } => (
            true,
            0,
            entries.iter().map(|e| (e.name.clone(), e.node)).collect(),
        ),
        NodeKind::File(d) => (false, d.len() as u64, Vec::new()),
        _ => (false, 0, Vec::new()),
    };
    let names = if renaming {
        k.vfs
            .nodes
            .iter()
            .filter_map(|(d, x)| match &x.kind {
                NodeKind::Dir { entries, .. } => Some((d, entries)),
                _ => None,
            })
            .flat_map(|(d, es)| {
                es.iter()
                    .filter(|e| e.node == n)
                    .map(|e| (*d, e.name.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    } else {
        Vec::new()
    };
    VnodeView {
        node: n,
        nlink: nd.nlink,
        dir,
        size,
        attrs: (
            nd.perm,
            nd.uid,
            nd.gid,
            nd.flags,
            [nd.atime, nd.mtime, nd.ctime, nd.birthtime],
        ),
        entries,
        names,
    }
}

/// The hints tmpfs gives a vnode that changed from `b` to `a` in a call
/// `sysnum` that succeeded (sys/fs/tmpfs/tmpfs_subr.c, NetBSD 7):
/// - `tmpfs_dir_detach`: the node loses a link, `NOTE_LINK` while links
///   remain, else `NOTE_DELETE` (a directory is detached with its "."
///   link still counted, so rmdir notes `NOTE_LINK`); its directory gets
///   `NOTE_WRITE`, with `NOTE_LINK` when the entry was a directory;
/// - `tmpfs_dir_attach`: the same for the directory; `tmpfs_link`
///   notes `NOTE_LINK` on the node;
/// - `tmpfs_chmod`, `tmpfs_chown`, `tmpfs_chflags`, `tmpfs_chtimes`:
///   `NOTE_ATTRIB`;
/// - `tmpfs_reg_resize` (truncate): `NOTE_EXTEND` when it grew, nothing
///   when it shrank;
/// - `genfs_rename_knote` (sys/miscfs/genfs/genfs_rename.c): the renamed
///   node `NOTE_RENAME`; the directories `NOTE_WRITE`, with `NOTE_LINK`
///   for a directory moving between them and `NOTE_EXTEND` on a new
///   directory that gained an entry; a replaced node `NOTE_DELETE` or
///   `NOTE_LINK` as for a detach.
///
/// Writes note `NOTE_WRITE`/`NOTE_EXTEND` where they happen (sys/io.rs).
pub(crate) fn vnode_hints(b: &VnodeView, a: &VnodeView, sysnum: u32) -> u32 {
    let mut hint = 0;
    if a.nlink < b.nlink {
        let left = if b.dir && a.nlink == 0 { 1 } else { a.nlink };
        hint |= if left > 0 { NOTE_LINK } else { NOTE_DELETE };
    } else if a.nlink > b.nlink {
        hint |= NOTE_LINK;
    }
    if b.dir && a.entries != b.entries {
        hint |= NOTE_WRITE;
        if RENAMES.contains(&sysnum) && a.entries.len() > b.entries.len() {
            hint |= NOTE_EXTEND;
        }
    }
    if SETATTRS.contains(&sysnum) && a.attrs != b.attrs && a.nlink > 0 {
        hint |= NOTE_ATTRIB;
    }
    if matches!(sysnum, 200 | 201) && !b.dir && a.size > b.size {
        hint |= NOTE_EXTEND;
    }
    if RENAMES.contains(&sysnum) && a.nlink > 0 && a.nlink == b.nlink && a.names != b.names {
        hint |= NOTE_RENAME;
    }
    hint
}

/// After a call that succeeded: the `VN_KNOTE`s it made on the watched
/// vnodes whose views were `before`.
pub fn vnode_changes(k: &mut SimKernel, sysnum: u32, before: Vec<VnodeView>) {
    let renaming = RENAMES.contains(&sysnum);
    for b in before {
        let a = view(k, b.node, renaming);
        let hint = vnode_hints(&b, &a, sysnum);
        if hint != 0 {
            vnode_note(k, b.node, hint);
        }
    }
}
