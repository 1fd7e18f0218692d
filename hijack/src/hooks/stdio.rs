//! Standard output and error redirected into the rump kernel. C stdio writes
//! through glibc-internal calls that no preload can interpose, so a rump
//! descriptor on host number 1 or 2 is backed by a pipe, not by /dev/null:
//! a pump thread copies what stdio writes into the rump descriptor. Direct
//! `write(2)` calls on 1 and 2 still go to the rump kernel straight away.
//! When the number is closed or replaced, the pump drains before the call
//! returns; a fork's child forgets the parent's pumps (their threads are not
//! in the child), an exec hands the numbers over with /dev/null behind them
//! and the new image starts its own pumps.

use std::collections::BTreeMap;
use std::os::raw::{c_int, c_void};
use std::sync::Mutex;
use std::thread::JoinHandle;

use super::Guard;
use crate::hooks::file::rump_write;
use crate::real;

/// Running pumps, by host number.
static PUMPS: Mutex<BTreeMap<c_int, JoinHandle<()>>> = Mutex::new(BTreeMap::new());

fn pumps() -> std::sync::MutexGuard<'static, BTreeMap<c_int, JoinHandle<()>>> {
    PUMPS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether host number `fd` is one stdio writes to behind the program's back.
pub fn is_std_out(fd: c_int) -> bool {
    fd == 1 || fd == 2
}

/// Puts a pipe behind host number `fd` (now standing for rump descriptor
/// `r`) and starts its pump. On failure the number keeps its /dev/null.
pub fn attach(fd: c_int, r: i32) {
    let real_pipe2 = real!(pipe2: fn(*mut c_int, c_int) -> c_int);
    let real_dup3 = real!(dup3: fn(c_int, c_int, c_int) -> c_int);
    let real_close = real!(close: fn(c_int) -> c_int);
    let mut p = [-1 as c_int; 2];
    // SAFETY: a two-int array
    if unsafe { real_pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return;
    }
    // SAFETY: descriptor calls on our own pipe
    unsafe {
        if real_dup3(p[1], fd, 0) < 0 {
            real_close(p[0]);
            real_close(p[1]);
            return;
        }
        real_close(p[1]);
    }
    let rd = p[0];
    let h = std::thread::spawn(move || pump(rd, r));
    pumps().insert(fd, h);
}

/// Copies the pipe into the rump descriptor until every writer is gone.
fn pump(rd: c_int, r: i32) {
    let _g = Guard::enter();
    let real_read = real!(read: fn(c_int, *mut c_void, usize) -> isize);
    let real_close = real!(close: fn(c_int) -> c_int);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: our buffer
        let n = unsafe { real_read(rd, buf.as_mut_ptr().cast(), buf.len()) };
        if n == 0 {
            break;
        }
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        let mut done = 0usize;
        while done < n as usize {
            match rump_write(r, buf[done..].as_ptr().cast(), n as usize - done) {
                Ok(w) if w > 0 => done += w as usize,
                _ => break,
            }
        }
    }
    // SAFETY: our pipe end
    unsafe { real_close(rd) };
}

/// Host number `fd` no longer stands for the rump descriptor (it was
/// closed or replaced, so the pipe's write end is gone here): waits until
/// the pump has copied everything.
pub fn drain(fd: c_int) {
    let h = pumps().remove(&fd);
    if let Some(h) = h {
        let _ = h.join();
    }
}

/// Before an exec: each pumped number gets /dev/null behind it again (the
/// pump drains); the new image starts its own.
pub fn before_exec() {
    let fds: Vec<c_int> = pumps().keys().copied().collect();
    let real_openat = real!(openat: fn(c_int, *const libc::c_char, c_int, u32) -> c_int);
    let real_dup3 = real!(dup3: fn(c_int, c_int, c_int) -> c_int);
    let real_close = real!(close: fn(c_int) -> c_int);
    for fd in fds {
        // SAFETY: a constant path; descriptor calls
        unsafe {
            let n = real_openat(libc::AT_FDCWD, c"/dev/null".as_ptr(), libc::O_RDWR, 0);
            if n >= 0 {
                real_dup3(n, fd, 0);
                real_close(n);
            }
        }
        drain(fd);
    }
}

/// In a fork's child: the pumps' threads stayed in the parent (which keeps
/// copying what the child writes, through the same pipes).
pub fn forget_after_fork() {
    let old = std::mem::take(&mut *pumps());
    for (_, h) in old {
        std::mem::forget(h);
    }
}
