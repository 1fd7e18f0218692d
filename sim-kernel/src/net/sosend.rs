//! `sosend` (sys/kern/uipc_socket.c) and `sbwait`: the checks a send makes
//! before any data is fetched, then the loop that cuts the data into mbufs
//! and hands them to the protocol, as much as `sbspace` allows.
//!
//! The data is fetched between the two halves: [`presend`] says how many
//! bytes the first pass may take (nothing at all for a send that fails or
//! would block), so a call copies in what NetBSD's `uiomove`s would.
//! A blocking send that does not fit takes what fits and waits; what it
//! took is kept in `Tables::send_progress` for the retry.

use super::errno::*;
use super::sockbuf::{sosend_chunks, Mbuf};
use super::*;
use crate::{SimKernel, Stop, TimedWait};

/// One send: everything but the data.
#[derive(Debug, Clone)]
pub struct SendArgs {
    /// Bytes to send (`uio_resid`).
    pub resid: usize,
    /// The destination (sendto/sendmsg name), as copied in.
    pub nam: Option<Vec<u8>>,
    /// A control message, as copied in.
    pub control: Option<Control>,
    /// MSG_* flags.
    pub flags: i32,
    /// The file is non-blocking (or MSG_DONTWAIT/MSG_NBIO).
    pub nbio: bool,
}

/// `sockopt_getint`: a value of exactly an int's size.
pub fn getint(v: &[u8]) -> Result<i32, Stop> {
    if v.len() != 4 {
        return err(EINVAL);
    }
    Ok(i32::from_le_bytes([v[0], v[1], v[2], v[3]]))
}

/// Whether a process other than `pid` holds a descriptor of one of `socks`
/// (somebody who could still make a waiting call ready).
pub fn others_hold(k: &SimKernel, pid: i32, socks: &[SockId]) -> bool {
    k.t.procs.iter().filter(|(p, _)| **p != pid).any(|(_, pr)| {
        pr.fds.values().any(|d| {
            k.t.files.get(&d.file).is_some_and(|f| match f.kind {
                crate::proc::FileKind::Socket(s) => socks.contains(&s),
                _ => false,
            })
        })
    })
}

/// `sbwait` on `so` with a timeout of `timeo` ticks (0: none). A timed
/// wait nobody else can end runs out at once, the virtual clock moving to
/// its deadline (EWOULDBLOCK, as sbwait's EWOULDBLOCK from the timeout);
/// otherwise the call blocks on the socket until it changes or the clock
/// passes the deadline.
pub fn sbwait(k: &mut SimKernel, key: TimedWait, so: SockId, timeo: i64, peers: &[SockId]) -> Stop {
    if timeo <= 0 {
        return Stop::BlockedOn(sock_key(so));
    }
    let now = k.clock.now_ns();
    let ns = (timeo as u64).saturating_mul(10_000_000);
    let deadline = k
        .timed_waits
        .get(&key)
        .map_or(now.saturating_add(ns), |w| w.0);
    let mut all = peers.to_vec();
    all.push(so);
    if now >= deadline || !others_hold(k, key.0, &all) {
        k.timed_waits.remove(&key);
        k.clock.advance(deadline.saturating_sub(now));
        return Stop::Errno(EAGAIN);
    }
    k.timed_waits.entry(key).or_insert((deadline, false));
    Stop::BlockedOn(sock_key(so))
}

/// The checks at the top of sosend's loop: EPIPE, a pending error,
/// ENOTCONN / EDESTADDRREQ, EMSGSIZE, and whether the data fits (else
/// EWOULDBLOCK or a wait). Returns `sbspace` (with MSG_OOB's 1024 extra).
fn check(
    k: &mut SimKernel,
    so: SockId,
    a: &SendArgs,
    resid: usize,
    clen: usize,
    peek: bool,
) -> Result<i64, Stop> {
    let s = k.sock(so)?;
    if s.state & SS_CANTSENDMORE != 0 {
        return err(EPIPE);
    }
    if s.error != 0 {
        let e = s.error;
        if !peek {
            k.sock_mut(so)?.error = 0;
        }
        return err(e);
    }
    if s.state & SS_ISCONNECTED == 0 {
        if s.prflags & prflags::CONNREQUIRED != 0 {
            if !(resid == 0 && clen != 0) {
                return err(ENOTCONN);
            }
        } else if a.nam.is_none() {
            return err(EDESTADDRREQ);
        }
    }
    let mut space = s.snd.space();
    if a.flags & MSG_OOB != 0 {
        space += 1024;
    }
    let atomic = s.atomic();
    if (atomic && resid as i64 > s.snd.hiwat) || clen as i64 > s.snd.hiwat {
        return err(EMSGSIZE);
    }
    if space < (resid + clen) as i64 && (atomic || space < s.snd.lowat || space < clen as i64) {
        return Err(Stop::Blocked);
    }
    // What this send may add to the socket buffers must fit the kernel's
    // memory pool (NetBSD's mbuf allocations would wait; ours answer ENOBUFS)
    let adds = (resid as i64).min(space.max(0)) as u64 + clen as u64;
    k.check_pool(adds, ENOBUFS)?;
    Ok(space)
}

/// The first half: the bytes already sent by an earlier, blocked run of
/// this call, and how many more this run will fetch. Errors (and a
/// non-blocking send with no room: EAGAIN) come before any data is fetched.
pub fn presend(
    k: &mut SimKernel,
    so: SockId,
    a: &SendArgs,
    key: &TimedWait,
) -> Result<(usize, usize), Stop> {
    let done = k.t.send_progress.get(key).copied().unwrap_or(0);
    let resid = a.resid - done.min(a.resid);
    let clen = if done > 0 {
        0
    } else {
        a.control.as_ref().map_or(0, |c| c.len())
    };
    if a.resid > i64::MAX as usize {
        return err(EINVAL);
    }
    match check(k, so, a, resid, clen, true) {
        Ok(space) => {
            let atomic = k.sock(so)?.atomic();
            let n = if atomic {
                resid
            } else {
                resid.min((space - clen as i64).max(0) as usize)
            };
            Ok((done, n))
        }
        Err(Stop::Blocked) if a.nbio => err(EAGAIN),
        Err(Stop::Blocked) => {
            let timeo = k.sock(so)?.snd.timeo;
            match sbwait(k, key.clone(), so, timeo, &[]) {
                Stop::Errno(EAGAIN) if done > 0 => {
                    k.t.send_progress.remove(key);
                    Err(Stop::ErrnoWith(0, [done as i64, 0]))
                }
                e => Err(e),
            }
        }
        Err(e) => {
            if done > 0 {
                k.t.send_progress.remove(key);
            }
            Err(e)
        }
    }
}

/// The second half, with `data` (the bytes [`presend`] asked for) fetched:
/// sends what fits; the count sent by this call in all. A send that stops
/// with some data sent and EWOULDBLOCK counts as done.
pub fn send(
    k: &mut SimKernel,
    pid: i32,
    so: SockId,
    mut a: SendArgs,
    key: &TimedWait,
    data: &[u8],
) -> Result<usize, Stop> {
    let done = k.t.send_progress.get(key).copied().unwrap_or(0);
    if done > 0 {
        a.control = None;
    }
    let mut resid = a.resid - done.min(a.resid);
    let mut sent = 0usize;
    let atomic = k.sock(so)?.atomic();
    let oob = a.flags & MSG_OOB != 0;
    loop {
        let clen = a.control.as_ref().map_or(0, |c| c.len());
        let space = match check(k, so, &a, resid, clen, false) {
            Ok(s) => s,
            Err(Stop::Blocked) if sent + done > 0 && a.nbio => break,
            Err(Stop::Blocked) if a.nbio => return err(EAGAIN),
            Err(Stop::Blocked) => {
                k.t.send_progress.insert(key.clone(), done + sent);
                return Err(Stop::BlockedOn(sock_key(so)));
            }
            Err(e) => {
                k.t.send_progress.remove(key);
                return Err(e);
            }
        };
        if sent == data.len() && resid > 0 && !data.is_empty() {
            // Everything fetched is sent: the rest waits for another run.
            if a.nbio {
                break;
            }
            k.t.send_progress.insert(key.clone(), done + sent);
            return Err(Stop::BlockedOn(sock_key(so)));
        }
        let mut left_space = space - clen as i64;
        let avail = data.len() - sent;
        let chunks = sosend_chunks(resid.min(avail), left_space, atomic);
        let mut mbufs = Vec::new();
        for (len, ext, trailing) in chunks {
            let m = Mbuf {
                data: data[sent..sent + len].to_vec(),
                trailing,
                ext,
            };
            sent += len;
            resid -= len;
            left_space -= len as i64;
            if atomic {
                mbufs.push(m);
                continue;
            }
            let control = a.control.take();
            if let Err(e) = super::send(k, pid, so, vec![m], a.nam.as_deref(), control, oob) {
                k.t.send_progress.remove(key);
                return Err(e);
            }
            if resid == 0 || left_space <= 0 {
                break;
            }
        }
        if atomic {
            let control = a.control.take();
            if let Err(e) = super::send(k, pid, so, mbufs, a.nam.as_deref(), control, oob) {
                k.t.send_progress.remove(key);
                return Err(e);
            }
        }
        if resid == 0 {
            break;
        }
    }
    k.t.send_progress.remove(key);
    Ok(done + sent)
}
