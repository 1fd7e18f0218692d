//! The interposed glibc functions. Each one decides whether its path or
//! descriptor belongs to the rump kernel; if not, it calls the next
//! definition (`dlsym(RTLD_NEXT, name)`, normally glibc's) unchanged.
//!
//! Variadic functions (`open`, `openat`, `fcntl`, `ioctl`, `syscall`) are
//! declared with their optional arguments as fixed parameters: on x86_64
//! SysV a variadic argument travels in the same register as a fixed one, so
//! reading it is what LKL-style hijackers do; it is only valid on x86_64.
//!
//! A thread-local guard makes every hook a plain pass-through while the
//! library itself is running (its own socket I/O, `/dev/null` reservations,
//! environment reads), so nothing recurses.

// Every hook is a libc entry point: its safety contract is that function's
// (valid C strings, buffers of the sizes given), as glibc documents it.
#![allow(clippy::missing_safety_doc)]

use std::cell::Cell;
use std::ffi::CStr;
use std::os::raw::c_char;

use crate::config::Config;
use crate::state;
use crate::xlate::flags::nb;

pub mod dir;
pub mod file;
pub mod fopen;
pub mod meta;
pub mod path;
pub mod poll;
pub mod proc;
pub mod socket;
pub mod stdio;

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as inside the library until dropped.
pub struct Guard(());

impl Guard {
    /// `None` when the thread is already inside (the hook must pass through).
    pub fn enter() -> Option<Guard> {
        INSIDE.with(|i| {
            if i.get() {
                None
            } else {
                i.set(true);
                Some(Guard(()))
            }
        })
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        INSIDE.with(|i| i.set(false));
    }
}

/// The next definition of a libc function, looked up once.
#[macro_export]
macro_rules! real {
    ($name:ident : fn($($t:ty),*) -> $r:ty) => {{
        static P: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let mut p = P.load(std::sync::atomic::Ordering::Relaxed);
        if p == 0 {
            // SAFETY: dlsym with a NUL-terminated name
            p = unsafe {
                libc::dlsym(libc::RTLD_NEXT, concat!(stringify!($name), "\0").as_ptr().cast())
            } as usize;
            if p == 0 {
                $crate::hooks::missing(stringify!($name));
            }
            P.store(p, std::sync::atomic::Ordering::Relaxed);
        }
        // SAFETY: the symbol has this C signature
        unsafe { std::mem::transmute::<usize, unsafe extern "C" fn($($t),*) -> $r>(p) }
    }};
}

/// A libc function the library needs does not exist: nothing sane can follow.
pub fn missing(name: &str) -> ! {
    eprintln!("rumpsp-hijack: libc has no {name}");
    std::process::abort()
}

/// Sets errno.
pub fn set_errno(e: i32) {
    // SAFETY: glibc's thread-local errno
    unsafe { *libc::__errno_location() = e };
}

/// `Ok(v)` as `v`, `Err(e)` as -1 with errno `e`.
pub fn ret<T: TryFrom<i64> + From<i8>>(r: Result<i64, i32>) -> T {
    match r {
        Ok(v) => T::try_from(v).unwrap_or_else(|_| T::from(-1)),
        Err(e) => {
            set_errno(e);
            T::from(-1)
        }
    }
}

static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();

/// The configuration (`RUMPHIJACK`, read once; a bad value is reported and
/// the default `path=/rump` used).
pub fn config() -> &'static Config {
    CONFIG.get_or_init(|| {
        let v = std::env::var("RUMPHIJACK").ok();
        Config::parse(v.as_deref()).unwrap_or_else(|e| {
            eprintln!("rumpsp-hijack: {e}; using path=/rump");
            Config::default()
        })
    })
}

/// Where a path-based call goes.
#[derive(Debug)]
pub enum Route {
    /// To the host, unchanged.
    Host,
    /// To the rump kernel: a NetBSD directory descriptor (or AT_FDCWD) and the path.
    Rump(i32, Vec<u8>),
}

/// The rump descriptor behind a host one.
pub fn rump_fd(fd: i32) -> Option<i32> {
    state::lock().fds.get(&fd).copied()
}

/// Decides where `path`, relative to `dirfd`, lives.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
pub unsafe fn route(dirfd: i32, path: *const c_char) -> Route {
    if path.is_null() {
        return Route::Host;
    }
    // SAFETY: the caller's string
    let p = unsafe { CStr::from_ptr(path) }.to_bytes();
    if p.starts_with(b"/") {
        return match config().rump_path(p) {
            Some(r) => Route::Rump(nb::AT_FDCWD, r.to_vec()),
            None => Route::Host,
        };
    }
    let st = state::lock();
    if dirfd == libc::AT_FDCWD {
        if st.cwd_in_rump {
            Route::Rump(nb::AT_FDCWD, p.to_vec())
        } else {
            Route::Host
        }
    } else {
        match st.fds.get(&dirfd) {
            Some(&r) => Route::Rump(r, p.to_vec()),
            None => Route::Host,
        }
    }
}

/// Reserves a host descriptor number for a rump descriptor (an open of
/// /dev/null), so the host never hands the number out twice, and records it.
pub fn install(rfd: i32, cloexec: bool) -> Result<i64, i32> {
    let flags = libc::O_RDWR | if cloexec { libc::O_CLOEXEC } else { 0 };
    let real_openat = real!(openat: fn(i32, *const c_char, i32, u32) -> i32);
    // SAFETY: openat of a constant NUL-terminated path
    let h = unsafe { real_openat(libc::AT_FDCWD, c"/dev/null".as_ptr(), flags, 0) };
    if h < 0 {
        let e = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EMFILE);
        let _ = crate::rump::call(
            crate::rump::nr::CLOSE,
            vec![rumpsp_protocol::client::Arg::Int(rfd)],
        );
        return Err(e);
    }
    let mut st = state::lock();
    st.is_socket.remove(&h);
    st.fds.insert(h, rfd);
    Ok(i64::from(h))
}

/// A C string's bytes (empty for NULL).
///
/// # Safety
/// `p` is NULL or NUL-terminated.
pub unsafe fn bytes<'a>(p: *const c_char) -> &'a [u8] {
    if p.is_null() {
        return b"";
    }
    // SAFETY: the caller's string
    unsafe { CStr::from_ptr(p) }.to_bytes()
}
