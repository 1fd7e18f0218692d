//! Processes: `fork` (and `vfork`, served as a fork) keeps the child's rump
//! descriptors through librumpclient's PREFORK + FORK handshake; the `exec`
//! family hands the connection, the descriptor table and the current
//! directory to the new image, which re-attaches with the EXEC handshake.
//! `posix_spawn` and `system` are not hooked: glibc runs them through internal
//! calls, and their children start without the parent's rump descriptors.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int};

use super::{set_errno, Guard};
use crate::conn::Conn;
use crate::real;
use crate::state::{self, Inherited, EXEC_ENV};

/// The program name sent in handshakes.
fn progname() -> Vec<u8> {
    let mut n = std::fs::read("/proc/self/comm").unwrap_or_else(|_| b"hijacked".to_vec());
    while n.last() == Some(&b'\n') {
        n.pop();
    }
    n
}

/// fork(2): with a rump connection, the parent asks for a PREFORK cookie
/// first and the child connects anew with the FORK handshake; the rump
/// kernel gives it copies of the parent's descriptors under the same numbers.
#[no_mangle]
pub unsafe extern "C" fn fork() -> c_int {
    let real_fork = real!(fork: fn() -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fork();
    };
    let cookie = {
        let st = state::lock();
        match st.conn.as_ref() {
            None => None,
            Some(c) => match c.prefork() {
                Ok(k) => Some(k),
                Err(e) => {
                    eprintln!("rumpsp-hijack: fork: {e}");
                    set_errno(libc::EAGAIN);
                    return -1;
                }
            },
        }
    };
    let pid = real_fork();
    if pid != 0 || cookie.is_none() {
        return pid;
    }
    // The child: the parent's socket and pumps are not ours to use.
    super::stdio::forget_after_fork();
    let mut st = state::lock();
    if let Some(old) = st.conn.take() {
        let real_close = real!(close: fn(c_int) -> c_int);
        real_close(old.fd());
        // other threads' references stayed in the parent: never dropped here
        std::mem::forget(old);
    }
    let url = std::env::var("RUMP_SERVER").unwrap_or_default();
    match Conn::connect(&url, &progname(), cookie) {
        Ok(c) => st.conn = Some(std::sync::Arc::new(c)),
        Err(e) => {
            eprintln!("rumpsp-hijack: fork: the child could not attach: {e}; its rump calls fail with EIO");
            st.dead = true;
        }
    }
    0
}

/// vfork(2), served as fork(2) (the child must make its own handshake,
/// which a child sharing the parent's memory cannot do).
#[no_mangle]
pub unsafe extern "C" fn vfork() -> c_int {
    // SAFETY: forwarded
    unsafe { fork() }
}

/// What the next image inherits, and the socket made inheritable; `None`
/// without a connection.
fn prepare_exec() -> Option<(String, c_int)> {
    super::stdio::before_exec();
    let st = state::lock();
    let c = st.conn.as_ref()?;
    let sock = c.fd();
    let real_fcntl = real!(fcntl: fn(c_int, c_int, c_int) -> c_int);
    // Only descriptors whose host number survives the exec are handed over;
    // the rump kernel closes its close-on-exec ones at the EXEC handshake.
    let fds = st
        .fds
        .iter()
        .filter(|(h, _)| {
            // SAFETY: fcntl with integer arguments
            let f = unsafe { real_fcntl(**h, libc::F_GETFD, 0) };
            f >= 0 && f & libc::FD_CLOEXEC == 0
        })
        .map(|(h, r)| (*h, *r))
        .collect();
    let inh = Inherited {
        sock,
        cwd_in_rump: st.cwd_in_rump,
        fds,
    };
    // SAFETY: fcntl with integer arguments
    unsafe { real_fcntl(sock, libc::F_SETFD, 0) };
    Some((format!("{EXEC_ENV}={}", inh.encode()), sock))
}

/// The exec failed: the socket is close-on-exec again.
fn exec_failed(sock: c_int) {
    let real_fcntl = real!(fcntl: fn(c_int, c_int, c_int) -> c_int);
    // SAFETY: fcntl with integer arguments
    unsafe { real_fcntl(sock, libc::F_SETFD, libc::FD_CLOEXEC) };
}

/// `envp` without any old hand-over entry, plus `entry`.
///
/// # Safety
/// `envp` is NULL or a NULL-terminated array of C strings.
unsafe fn env_with(envp: *const *const c_char, entry: &str) -> (Vec<CString>, Vec<*const c_char>) {
    let mut keep = Vec::new();
    let prefix = format!("{EXEC_ENV}=");
    if !envp.is_null() {
        let mut i = 0;
        loop {
            // SAFETY: NULL-terminated array
            let p = unsafe { *envp.add(i) };
            if p.is_null() {
                break;
            }
            // SAFETY: a C string of the array
            let s = unsafe { CStr::from_ptr(p) };
            if !s.to_bytes().starts_with(prefix.as_bytes()) {
                keep.push(s.to_owned());
            }
            i += 1;
        }
    }
    if let Ok(e) = CString::new(entry) {
        keep.push(e);
    }
    let mut ptrs: Vec<*const c_char> = keep.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    (keep, ptrs)
}

/// execve(2).
#[no_mangle]
pub unsafe extern "C" fn execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    let real_fn =
        real!(execve: fn(*const c_char, *const *const c_char, *const *const c_char) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(path, argv, envp);
    };
    let Some((entry, sock)) = prepare_exec() else {
        return real_fn(path, argv, envp);
    };
    // SAFETY: forwarded
    let (_keep, env) = unsafe { env_with(envp, &entry) };
    let r = real_fn(path, argv, env.as_ptr());
    exec_failed(sock);
    r
}

/// execvpe(3).
#[no_mangle]
pub unsafe extern "C" fn execvpe(
    file: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    let real_fn =
        real!(execvpe: fn(*const c_char, *const *const c_char, *const *const c_char) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(file, argv, envp);
    };
    let Some((entry, sock)) = prepare_exec() else {
        return real_fn(file, argv, envp);
    };
    // SAFETY: forwarded
    let (_keep, env) = unsafe { env_with(envp, &entry) };
    let r = real_fn(file, argv, env.as_ptr());
    exec_failed(sock);
    r
}

extern "C" {
    static environ: *const *const c_char;
}

/// execv(3): execve with the process environment.
#[no_mangle]
pub unsafe extern "C" fn execv(path: *const c_char, argv: *const *const c_char) -> c_int {
    // SAFETY: glibc's environ; forwarded
    unsafe { execve(path, argv, environ) }
}

/// execvp(3): execvpe with the process environment.
#[no_mangle]
pub unsafe extern "C" fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int {
    // SAFETY: glibc's environ; forwarded
    unsafe { execvpe(file, argv, environ) }
}

/// Picks up a hand-over from the image that exec'd this one: runs when the
/// library is loaded, before the program's `main`.
extern "C" fn attach_after_exec() {
    let Some(_g) = Guard::enter() else {
        return;
    };
    let Ok(v) = std::env::var(EXEC_ENV) else {
        return;
    };
    // The hand-over is for this image only.
    std::env::remove_var(EXEC_ENV);
    let inh = match Inherited::decode(&v) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("rumpsp-hijack: {e}");
            return;
        }
    };
    let mut st = state::lock();
    match Conn::exec(inh.sock, &progname()) {
        Ok(c) => {
            st.conn = Some(std::sync::Arc::new(c));
            st.fds = inh.fds;
            st.cwd_in_rump = inh.cwd_in_rump;
            let std_out: Vec<(c_int, i32)> = st
                .fds
                .iter()
                .filter(|(h, _)| super::stdio::is_std_out(**h))
                .map(|(h, r)| (*h, *r))
                .collect();
            drop(st);
            for (h, r) in std_out {
                super::stdio::attach(h, r);
            }
            let real_fcntl = real!(fcntl: fn(c_int, c_int, c_int) -> c_int);
            // SAFETY: fcntl with integer arguments
            unsafe { real_fcntl(inh.sock, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        Err(e) => {
            eprintln!("rumpsp-hijack: exec: could not re-attach: {e}; rump calls fail with EIO");
            st.dead = true;
            st.fds = inh.fds;
        }
    }
}

#[used]
#[link_section = ".init_array"]
static ATTACH: extern "C" fn() = attach_after_exec;
