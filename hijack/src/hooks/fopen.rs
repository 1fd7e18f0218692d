//! C stdio streams on rump files: `fopen`/`fopen64` of a rump path and
//! `fdopen` of a rump descriptor give a `fopencookie` stream whose reads,
//! writes, seeks and close are rump calls (stdio's own I/O goes through
//! glibc-internal calls that a preload cannot see). `fileno` of such a
//! stream (-1 for a plain cookie stream) is the host number standing for its
//! rump descriptor, so `fstat(fileno(f))` works.

use std::collections::BTreeMap;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::Mutex;

use super::{bytes, route, rump_fd, set_errno, Guard, Route};
use crate::hooks::file::{rump_lseek, rump_openat, rump_read, rump_write};
use crate::real;

/// open(2) flags for an fopen mode string (`r`, `w+`, `ae`, `wx` ...).
pub fn mode_flags(mode: &[u8]) -> Option<c_int> {
    let (first, rest) = mode.split_first()?;
    let plus = rest.contains(&b'+');
    let mut f = match (first, plus) {
        (b'r', false) => libc::O_RDONLY,
        (b'r', true) => libc::O_RDWR,
        (b'w', false) => libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
        (b'w', true) => libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC,
        (b'a', false) => libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND,
        (b'a', true) => libc::O_RDWR | libc::O_CREAT | libc::O_APPEND,
        _ => return None,
    };
    if rest.contains(&b'x') {
        f |= libc::O_EXCL;
    }
    if rest.contains(&b'e') {
        f |= libc::O_CLOEXEC;
    }
    Some(f)
}

/// Our streams: FILE address -> host number.
static STREAMS: Mutex<BTreeMap<usize, c_int>> = Mutex::new(BTreeMap::new());

fn streams() -> std::sync::MutexGuard<'static, BTreeMap<usize, c_int>> {
    STREAMS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The cookie: the host number standing for the rump descriptor.
fn host_fd(cookie: *mut c_void) -> c_int {
    cookie as usize as c_int
}

extern "C" fn cookie_read(cookie: *mut c_void, buf: *mut c_char, n: usize) -> isize {
    let _g = Guard::enter();
    match rump_fd(host_fd(cookie)).map(|r| rump_read(r, buf.cast(), n)) {
        Some(Ok(v)) => v as isize,
        Some(Err(e)) => {
            set_errno(e);
            -1
        }
        None => {
            set_errno(libc::EBADF);
            -1
        }
    }
}

extern "C" fn cookie_write(cookie: *mut c_void, buf: *const c_char, n: usize) -> isize {
    let _g = Guard::enter();
    match rump_fd(host_fd(cookie)).map(|r| rump_write(r, buf.cast(), n)) {
        Some(Ok(v)) => v as isize,
        Some(Err(e)) => {
            set_errno(e);
            -1
        }
        None => {
            set_errno(libc::EBADF);
            -1
        }
    }
}

extern "C" fn cookie_seek(cookie: *mut c_void, off: *mut i64, whence: c_int) -> c_int {
    let _g = Guard::enter();
    let Some(r) = rump_fd(host_fd(cookie)) else {
        set_errno(libc::EBADF);
        return -1;
    };
    // SAFETY: stdio passes a valid offset pointer
    let o = unsafe { *off };
    match rump_lseek(r, o, whence) {
        Ok(n) => {
            // SAFETY: as above
            unsafe { *off = n };
            0
        }
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}

extern "C" fn cookie_close(cookie: *mut c_void) -> c_int {
    let fd = host_fd(cookie);
    streams().retain(|_, h| *h != fd);
    // SAFETY: our close hook closes the rump descriptor and its host number
    unsafe { super::file::close(host_fd(cookie)) }
}

/// glibc's `cookie_io_functions_t` (stdio.h): four function pointers.
#[repr(C)]
struct CookieIo {
    read: extern "C" fn(*mut c_void, *mut c_char, usize) -> isize,
    write: extern "C" fn(*mut c_void, *const c_char, usize) -> isize,
    seek: extern "C" fn(*mut c_void, *mut i64, c_int) -> c_int,
    close: extern "C" fn(*mut c_void) -> c_int,
}

/// A cookie stream over host number `fd` (a rump descriptor).
fn cookie_stream(fd: c_int, mode: *const c_char) -> *mut libc::FILE {
    let funcs = CookieIo {
        read: cookie_read,
        write: cookie_write,
        seek: cookie_seek,
        close: cookie_close,
    };
    let real_fopencookie =
        real!(fopencookie: fn(*mut c_void, *const c_char, CookieIo) -> *mut libc::FILE);
    // SAFETY: a valid mode string and function table
    let f = unsafe { real_fopencookie(fd as usize as *mut c_void, mode, funcs) };
    if !f.is_null() {
        streams().insert(f as usize, fd);
    }
    f
}

/// fileno(3): our streams answer their host number.
#[no_mangle]
pub unsafe extern "C" fn fileno(f: *mut libc::FILE) -> c_int {
    let real_fn = real!(fileno: fn(*mut libc::FILE) -> c_int);
    if let Some(fd) = streams().get(&(f as usize)).copied() {
        return fd;
    }
    real_fn(f)
}

/// fileno_unlocked(3).
#[no_mangle]
pub unsafe extern "C" fn fileno_unlocked(f: *mut libc::FILE) -> c_int {
    let real_fn = real!(fileno_unlocked: fn(*mut libc::FILE) -> c_int);
    if let Some(fd) = streams().get(&(f as usize)).copied() {
        return fd;
    }
    real_fn(f)
}

/// fopen(3).
#[no_mangle]
pub unsafe extern "C" fn fopen(path: *const c_char, mode: *const c_char) -> *mut libc::FILE {
    let real_fn = real!(fopen: fn(*const c_char, *const c_char) -> *mut libc::FILE);
    let Some(_g) = Guard::enter() else {
        return real_fn(path, mode);
    };
    // SAFETY: forwarded
    match unsafe { route(libc::AT_FDCWD, path) } {
        Route::Host => real_fn(path, mode),
        Route::Rump(d, p) => {
            // SAFETY: the caller's mode string
            let Some(flags) = mode_flags(unsafe { bytes(mode) }) else {
                set_errno(libc::EINVAL);
                return std::ptr::null_mut();
            };
            match rump_openat(d, &p, flags, 0o666) {
                Ok(fd) => {
                    let f = cookie_stream(fd as c_int, mode);
                    if f.is_null() {
                        // SAFETY: our descriptor
                        unsafe { super::file::close(fd as c_int) };
                    }
                    f
                }
                Err(e) => {
                    set_errno(e);
                    std::ptr::null_mut()
                }
            }
        }
    }
}

/// fopen64(3).
#[no_mangle]
pub unsafe extern "C" fn fopen64(path: *const c_char, mode: *const c_char) -> *mut libc::FILE {
    // SAFETY: forwarded
    unsafe { fopen(path, mode) }
}

/// fdopen(3): a rump descriptor gets a cookie stream.
#[no_mangle]
pub unsafe extern "C" fn fdopen(fd: c_int, mode: *const c_char) -> *mut libc::FILE {
    let real_fn = real!(fdopen: fn(c_int, *const c_char) -> *mut libc::FILE);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, mode);
    };
    if rump_fd(fd).is_none() {
        return real_fn(fd, mode);
    }
    cookie_stream(fd, mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fopen_modes_map_to_open_flags() {
        assert_eq!(mode_flags(b"r"), Some(libc::O_RDONLY));
        assert_eq!(mode_flags(b"rb+"), Some(libc::O_RDWR));
        assert_eq!(
            mode_flags(b"w"),
            Some(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC)
        );
        assert_eq!(
            mode_flags(b"a+"),
            Some(libc::O_RDWR | libc::O_CREAT | libc::O_APPEND)
        );
        assert_eq!(
            mode_flags(b"wxe"),
            Some(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_EXCL | libc::O_CLOEXEC)
        );
        assert_eq!(mode_flags(b"q"), None);
        assert_eq!(mode_flags(b""), None);
    }
}
