//! Readiness waits over rump descriptors: poll, ppoll, select, pselect
//! (and their fortified forms).
//!
//! * No rump descriptor among them: the host call, unchanged.
//! * Only rump descriptors (negative entries aside) and no timeout (or a
//!   zero one): one NetBSD poll(2) in the rump kernel with that timeout,
//!   events translated; an endless wait blocks in the kernel on the objects.
//! * Otherwise (a finite timeout, or host descriptors too): the rump side
//!   is polled with timeout 0 and the host side with timeout 0; while
//!   neither is ready the library waits on the host side (or sleeps, when
//!   there is none) for a slice of 1 ms, doubling up to [`SLICE_MS`], and
//!   looks at both again, until the timeout passes. A rump event is seen
//!   within one slice; no descriptor is ever dropped from the wait. Finite
//!   timeouts are measured here, not by the rump kernel, so that they hold
//!   for any server (the simulated kernel on a virtual clock, for one, ends
//!   a timed poll that nothing could end at once, moving its clock to the
//!   deadline).
//!
//! ppoll/pselect's signal mask is applied around the wait with
//! pthread_sigmask (not atomically, unlike the host calls) when a rump
//! descriptor is involved. select's timeval is not updated with the time
//! left on that path.

use std::os::raw::c_int;
use std::time::{Duration, Instant};

use rumpsp_protocol::client::Arg;

use super::{ret, rump_fd, Guard};
use crate::real;
use crate::rump::{call, nr};
use crate::xlate::socket as xs;

/// The longest wait before the rump side of a timed or mixed poll is looked at again.
pub const SLICE_MS: i32 = 16;

/// One NetBSD poll over `(rump fd, Linux events)`; the Linux revents of each.
fn rump_poll(ents: &[(i32, i16)], timeout: c_int) -> Result<Vec<i16>, i32> {
    let mut b = Vec::with_capacity(ents.len() * 8);
    for &(r, ev) in ents {
        b.extend_from_slice(&r.to_le_bytes());
        b.extend_from_slice(&xs::poll_to_netbsd(ev).to_le_bytes());
        b.extend_from_slice(&0i16.to_le_bytes());
    }
    let rep = call(
        nr::POLL,
        vec![
            Arg::InOut(b),
            Arg::Int(ents.len() as i32),
            Arg::Int(timeout),
        ],
    )?;
    let out = rep.buffers.into_iter().next().unwrap_or_default();
    Ok(ents
        .iter()
        .enumerate()
        .map(|(i, &(_, ev))| {
            let rv = out
                .get(i * 8 + 6..i * 8 + 8)
                .map(|x| i16::from_le_bytes([x[0], x[1]]))
                .unwrap_or(0);
            xs::poll_to_linux(rv, ev)
        })
        .collect())
}

/// The shared poll body; `timeout` in milliseconds, negative = forever.
fn do_poll(fds: &mut [libc::pollfd], timeout: c_int) -> Result<i64, i32> {
    let real_poll = real!(poll: fn(*mut libc::pollfd, libc::nfds_t, c_int) -> c_int);
    let mut rump = Vec::new(); // (index, rump fd)
    let mut host = Vec::new(); // indices
    for (i, p) in fds.iter_mut().enumerate() {
        p.revents = 0;
        if p.fd < 0 {
            continue;
        }
        match rump_fd(p.fd) {
            Some(r) => rump.push((i, r)),
            None => host.push(i),
        }
    }
    let ents: Vec<(i32, i16)> = rump.iter().map(|&(i, r)| (r, fds[i].events)).collect();
    if host.is_empty() && timeout <= 0 {
        let rv = rump_poll(&ents, timeout.max(-1))?;
        let mut n = 0;
        for (k, &(i, _)) in rump.iter().enumerate() {
            fds[i].revents = rv[k];
            n += i64::from(rv[k] != 0);
        }
        return Ok(n);
    }
    let deadline = (timeout >= 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
    let mut hp: Vec<libc::pollfd> = host.iter().map(|&i| fds[i]).collect();
    let mut slice = 1;
    loop {
        let rv = rump_poll(&ents, 0)?;
        let hn = if hp.is_empty() {
            0
        } else {
            // SAFETY: our own array
            unsafe { real_poll(hp.as_mut_ptr(), hp.len() as libc::nfds_t, 0) }
        };
        if hn < 0 {
            return Err(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL));
        }
        if rv.iter().any(|&r| r != 0) || hn > 0 {
            let mut n = 0;
            for (k, &(i, _)) in rump.iter().enumerate() {
                fds[i].revents = rv[k];
                n += i64::from(rv[k] != 0);
            }
            for (k, &i) in host.iter().enumerate() {
                fds[i].revents = hp[k].revents;
                n += i64::from(hp[k].revents != 0);
            }
            return Ok(n);
        }
        let wait = match deadline {
            None => slice,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(0);
                }
                (left.as_millis() as i32).clamp(1, slice)
            }
        };
        slice = (slice * 2).min(SLICE_MS);
        if hp.is_empty() {
            std::thread::sleep(Duration::from_millis(wait as u64));
            continue;
        }
        // SAFETY: our own array
        let w = unsafe { real_poll(hp.as_mut_ptr(), hp.len() as libc::nfds_t, wait) };
        if w < 0 {
            return Err(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL));
        }
        if w > 0 {
            slice = 1;
        }
    }
}

fn any_rump_pollfd(fds: *const libc::pollfd, n: libc::nfds_t) -> bool {
    if fds.is_null() || n == 0 || n > 1 << 20 {
        return false;
    }
    // SAFETY: the caller's array of n entries
    let s = unsafe { std::slice::from_raw_parts(fds, n as usize) };
    s.iter().any(|p| p.fd >= 0 && rump_fd(p.fd).is_some())
}

/// poll(2).
#[no_mangle]
pub unsafe extern "C" fn poll(fds: *mut libc::pollfd, n: libc::nfds_t, timeout: c_int) -> c_int {
    let real_fn = real!(poll: fn(*mut libc::pollfd, libc::nfds_t, c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fds, n, timeout);
    };
    if !any_rump_pollfd(fds, n) {
        return real_fn(fds, n, timeout);
    }
    // SAFETY: checked non-NULL above; the caller's array
    let s = unsafe { std::slice::from_raw_parts_mut(fds, n as usize) };
    ret(do_poll(s, timeout))
}

/// The fortified poll.
#[no_mangle]
pub unsafe extern "C" fn __poll_chk(
    fds: *mut libc::pollfd,
    n: libc::nfds_t,
    timeout: c_int,
    _fdslen: usize,
) -> c_int {
    // SAFETY: forwarded
    unsafe { poll(fds, n, timeout) }
}

/// A timespec as poll milliseconds (rounded up; NULL = forever).
fn ts_ms(ts: *const libc::timespec) -> Result<c_int, i32> {
    if ts.is_null() {
        return Ok(-1);
    }
    // SAFETY: the caller's timespec
    let t = unsafe { *ts };
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        return Err(libc::EINVAL);
    }
    let ms = (t.tv_sec as i128) * 1000 + (t.tv_nsec as i128 + 999_999) / 1_000_000;
    Ok(ms.min(i128::from(i32::MAX)) as c_int)
}

/// Runs `f` with the signal mask `mask` (if given) in force.
fn with_mask<T>(mask: *const libc::sigset_t, f: impl FnOnce() -> T) -> T {
    if mask.is_null() {
        return f();
    }
    // SAFETY: sigset_t is plain data; the caller's mask
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, mask, &mut old) };
    let r = f();
    // SAFETY: valid pointers
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    r
}

/// ppoll(2).
#[no_mangle]
pub unsafe extern "C" fn ppoll(
    fds: *mut libc::pollfd,
    n: libc::nfds_t,
    ts: *const libc::timespec,
    mask: *const libc::sigset_t,
) -> c_int {
    let real_fn = real!(ppoll: fn(*mut libc::pollfd, libc::nfds_t, *const libc::timespec, *const libc::sigset_t) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fds, n, ts, mask);
    };
    if !any_rump_pollfd(fds, n) {
        return real_fn(fds, n, ts, mask);
    }
    // SAFETY: checked non-NULL above; the caller's array
    let s = unsafe { std::slice::from_raw_parts_mut(fds, n as usize) };
    ret(ts_ms(ts).and_then(|t| with_mask(mask, || do_poll(s, t))))
}

/// The fortified ppoll.
#[no_mangle]
pub unsafe extern "C" fn __ppoll_chk(
    fds: *mut libc::pollfd,
    n: libc::nfds_t,
    ts: *const libc::timespec,
    mask: *const libc::sigset_t,
    _fdslen: usize,
) -> c_int {
    // SAFETY: forwarded
    unsafe { ppoll(fds, n, ts, mask) }
}

/// The three sets of a select, as a poll array (fd, events); `None` when no
/// rump descriptor is in them.
///
/// # Safety
/// Each set is NULL or a valid fd_set.
unsafe fn sets_to_poll(nfds: c_int, sets: [*mut libc::fd_set; 3]) -> Option<Vec<libc::pollfd>> {
    let mut out = Vec::new();
    let mut any = false;
    for fd in 0..nfds.clamp(0, libc::FD_SETSIZE as c_int) {
        let mut ev = 0i16;
        for (k, bit) in [libc::POLLIN, libc::POLLOUT, libc::POLLPRI]
            .iter()
            .enumerate()
        {
            // SAFETY: the caller's set
            if !sets[k].is_null() && unsafe { libc::FD_ISSET(fd, sets[k]) } {
                ev |= bit;
            }
        }
        if ev != 0 {
            any |= rump_fd(fd).is_some();
            out.push(libc::pollfd {
                fd,
                events: ev,
                revents: 0,
            });
        }
    }
    any.then_some(out)
}

/// The shared select body over a poll array; rewrites the sets.
///
/// # Safety
/// Each set is NULL or a valid fd_set.
unsafe fn do_select(
    mut p: Vec<libc::pollfd>,
    sets: [*mut libc::fd_set; 3],
    timeout: c_int,
) -> Result<i64, i32> {
    do_poll(&mut p, timeout)?;
    if p.iter().any(|e| e.revents & libc::POLLNVAL != 0) {
        return Err(libc::EBADF);
    }
    for s in sets.iter().filter(|s| !s.is_null()) {
        // SAFETY: the caller's set
        unsafe { libc::FD_ZERO(*s) };
    }
    let mut n = 0;
    for e in &p {
        let r = e.revents;
        let hits = [
            e.events & libc::POLLIN != 0 && r & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0,
            e.events & libc::POLLOUT != 0 && r & (libc::POLLOUT | libc::POLLERR) != 0,
            e.events & libc::POLLPRI != 0 && r & libc::POLLPRI != 0,
        ];
        for (k, hit) in hits.iter().enumerate() {
            if *hit && !sets[k].is_null() {
                // SAFETY: the caller's set
                unsafe { libc::FD_SET(e.fd, sets[k]) };
                n += 1;
            }
        }
    }
    Ok(n)
}

/// select(2).
#[no_mangle]
pub unsafe extern "C" fn select(
    nfds: c_int,
    rd: *mut libc::fd_set,
    wr: *mut libc::fd_set,
    ex: *mut libc::fd_set,
    tv: *mut libc::timeval,
) -> c_int {
    let real_fn = real!(select: fn(c_int, *mut libc::fd_set, *mut libc::fd_set, *mut libc::fd_set, *mut libc::timeval) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(nfds, rd, wr, ex, tv);
    };
    let sets = [rd, wr, ex];
    // SAFETY: the caller's sets
    let Some(p) = (unsafe { sets_to_poll(nfds, sets) }) else {
        return real_fn(nfds, rd, wr, ex, tv);
    };
    let t = if tv.is_null() {
        Ok(-1)
    } else {
        // SAFETY: the caller's timeval
        let v = unsafe { *tv };
        if v.tv_sec < 0 || !(0..1_000_000).contains(&v.tv_usec) {
            Err(libc::EINVAL)
        } else {
            let ms = (v.tv_sec as i128) * 1000 + (v.tv_usec as i128 + 999) / 1000;
            Ok(ms.min(i128::from(i32::MAX)) as c_int)
        }
    };
    // SAFETY: the caller's sets
    ret(t.and_then(|t| unsafe { do_select(p, sets, t) }))
}

/// pselect(2).
#[no_mangle]
pub unsafe extern "C" fn pselect(
    nfds: c_int,
    rd: *mut libc::fd_set,
    wr: *mut libc::fd_set,
    ex: *mut libc::fd_set,
    ts: *const libc::timespec,
    mask: *const libc::sigset_t,
) -> c_int {
    let real_fn = real!(pselect: fn(c_int, *mut libc::fd_set, *mut libc::fd_set, *mut libc::fd_set, *const libc::timespec, *const libc::sigset_t) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(nfds, rd, wr, ex, ts, mask);
    };
    let sets = [rd, wr, ex];
    // SAFETY: the caller's sets
    let Some(p) = (unsafe { sets_to_poll(nfds, sets) }) else {
        return real_fn(nfds, rd, wr, ex, ts, mask);
    };
    // SAFETY: the caller's sets
    ret(ts_ms(ts).and_then(|t| with_mask(mask, || unsafe { do_select(p, sets, t) })))
}
