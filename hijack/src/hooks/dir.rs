//! Directory streams: opendir/fdopendir/readdir/readdir64/closedir/dirfd/
//! rewinddir/telldir/seekdir on rump directories, and getdents64. glibc's
//! `DIR` is opaque, so a rump stream is a handle of ours; the hooks tell
//! the two apart by address (a registry of the handles we gave out).

use std::collections::{BTreeMap, VecDeque};
use std::os::raw::{c_char, c_int, c_long, c_void};
use std::sync::Mutex;

use rumpsp_protocol::client::Arg;
use rumpsp_protocol::netbsd::{parse_dirents, Dirent};

use super::{route, rump_fd, set_errno, Guard, Route};
use crate::hooks::file::{rump_lseek, rump_openat};
use crate::real;
use crate::rump::{self, call, nr};
use crate::xlate::dirent;

/// Bytes asked of `__getdents30` per refill.
const REFILL: usize = 32 * 1024;

/// One rump directory stream.
struct Stream {
    /// The host descriptor standing for the rump one.
    host_fd: c_int,
    /// Entries fetched and not returned yet.
    queue: VecDeque<Dirent>,
    /// Entries returned so far (telldir's position).
    pos: i64,
    /// The rump kernel has no more entries.
    eof: bool,
    /// What the last readdir returned (the pointer stays valid until the next call).
    current: Box<libc::dirent64>,
}

/// Handles given out, by address.
static STREAMS: Mutex<BTreeMap<usize, Box<Stream>>> = Mutex::new(BTreeMap::new());

fn streams() -> std::sync::MutexGuard<'static, BTreeMap<usize, Box<Stream>>> {
    STREAMS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether `d` is one of ours.
fn ours(d: *mut c_void) -> bool {
    streams().contains_key(&(d as usize))
}

/// A new stream on host descriptor `fd` (already mapped to a rump one).
fn new_stream(fd: c_int) -> *mut c_void {
    // SAFETY: plain old data
    let zero: libc::dirent64 = unsafe { std::mem::zeroed() };
    let s = Box::new(Stream {
        host_fd: fd,
        queue: VecDeque::new(),
        pos: 0,
        eof: false,
        current: Box::new(zero),
    });
    let p = (&*s as *const Stream) as usize;
    streams().insert(p, s);
    p as *mut c_void
}

/// Entries of a rump directory from its current offset.
fn fetch(r: i32, n: usize) -> Result<Vec<Dirent>, i32> {
    let rep = call(
        nr::GETDENTS,
        vec![Arg::Int(r), Arg::Out(n), Arg::Word(n as u64)],
    )?;
    let got = (rep.retval[0].max(0) as usize).min(n);
    let buf = rump::first_buf(rep);
    Ok(parse_dirents(&buf[..got.min(buf.len())]))
}

/// getdents64 on a rump descriptor: NetBSD records translated to Linux
/// dirent64 records, as many as fit in `len` bytes (the request is sized so
/// that everything fetched fits).
///
/// # Safety
/// `buf` holds `len` writable bytes.
pub unsafe fn rump_getdents64(r: i32, buf: *mut u8, len: usize) -> Result<i64, i32> {
    let want = dirent::netbsd_request(len);
    if want < 16 {
        return Err(libc::EINVAL);
    }
    let es = fetch(r, want)?;
    let mut out = Vec::with_capacity(len);
    let n = dirent::to_linux(&es, 0, &mut out, len);
    if n < es.len() {
        // Cannot happen with the request sized as above; never drop entries silently.
        return Err(libc::EINVAL);
    }
    // SAFETY: the caller's buffer of len bytes; out.len() <= len
    unsafe { std::ptr::copy_nonoverlapping(out.as_ptr(), buf, out.len()) };
    Ok(out.len() as i64)
}

/// opendir(3).
#[no_mangle]
pub unsafe extern "C" fn opendir(name: *const c_char) -> *mut c_void {
    let real_fn = real!(opendir: fn(*const c_char) -> *mut c_void);
    let Some(_g) = Guard::enter() else {
        return real_fn(name);
    };
    // SAFETY: forwarded
    match unsafe { route(libc::AT_FDCWD, name) } {
        Route::Host => real_fn(name),
        Route::Rump(d, p) => {
            match rump_openat(
                d,
                &p,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                0,
            ) {
                Ok(fd) => new_stream(fd as c_int),
                Err(e) => {
                    set_errno(e);
                    std::ptr::null_mut()
                }
            }
        }
    }
}

/// fdopendir(3).
#[no_mangle]
pub unsafe extern "C" fn fdopendir(fd: c_int) -> *mut c_void {
    let real_fn = real!(fdopendir: fn(c_int) -> *mut c_void);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd);
    };
    match rump_fd(fd) {
        None => real_fn(fd),
        Some(r) => match super::meta::rump_fstat(r) {
            Ok(st) if st.is_dir() => new_stream(fd),
            Ok(_) => {
                set_errno(libc::ENOTDIR);
                std::ptr::null_mut()
            }
            Err(e) => {
                set_errno(e);
                std::ptr::null_mut()
            }
        },
    }
}

/// The next entry of a rump stream, as a pointer into the stream.
fn next_entry(d: *mut c_void) -> *mut libc::dirent64 {
    let mut all = streams();
    let Some(s) = all.get_mut(&(d as usize)) else {
        return std::ptr::null_mut();
    };
    if s.queue.is_empty() && !s.eof {
        let Some(r) = rump_fd(s.host_fd) else {
            set_errno(libc::EBADF);
            return std::ptr::null_mut();
        };
        match fetch(r, REFILL) {
            Ok(es) if es.is_empty() => s.eof = true,
            Ok(es) => s.queue.extend(es),
            Err(e) => {
                set_errno(e);
                return std::ptr::null_mut();
            }
        }
    }
    let Some(e) = s.queue.pop_front() else {
        return std::ptr::null_mut();
    };
    s.pos += 1;
    // SAFETY: plain old data
    let mut out: libc::dirent64 = unsafe { std::mem::zeroed() };
    out.d_ino = e.ino;
    out.d_off = s.pos;
    out.d_type = e.dtype;
    let n = e.name.len().min(out.d_name.len() - 1);
    for (dst, src) in out.d_name.iter_mut().zip(&e.name[..n]) {
        *dst = *src as c_char;
    }
    out.d_reclen = dirent::linux_reclen(n) as u16;
    *s.current = out;
    &mut *s.current as *mut libc::dirent64
}

/// readdir(3).
#[no_mangle]
pub unsafe extern "C" fn readdir(d: *mut c_void) -> *mut libc::dirent64 {
    let real_fn = real!(readdir: fn(*mut c_void) -> *mut libc::dirent64);
    let Some(_g) = Guard::enter() else {
        return real_fn(d);
    };
    if !ours(d) {
        return real_fn(d);
    }
    next_entry(d)
}

/// readdir64(3) (struct dirent64 is struct dirent on x86_64).
#[no_mangle]
pub unsafe extern "C" fn readdir64(d: *mut c_void) -> *mut libc::dirent64 {
    let real_fn = real!(readdir64: fn(*mut c_void) -> *mut libc::dirent64);
    let Some(_g) = Guard::enter() else {
        return real_fn(d);
    };
    if !ours(d) {
        return real_fn(d);
    }
    next_entry(d)
}

/// closedir(3): closes the rump descriptor and its host number.
#[no_mangle]
pub unsafe extern "C" fn closedir(d: *mut c_void) -> c_int {
    let real_fn = real!(closedir: fn(*mut c_void) -> c_int);
    let s = {
        let Some(_g) = Guard::enter() else {
            return real_fn(d);
        };
        streams().remove(&(d as usize))
    };
    match s {
        None => real_fn(d),
        // SAFETY: our close hook handles the rump descriptor
        Some(s) => unsafe { super::file::close(s.host_fd) },
    }
}

/// dirfd(3).
#[no_mangle]
pub unsafe extern "C" fn dirfd(d: *mut c_void) -> c_int {
    let real_fn = real!(dirfd: fn(*mut c_void) -> c_int);
    match streams().get(&(d as usize)) {
        Some(s) => s.host_fd,
        None => real_fn(d),
    }
}

/// Repositions a rump stream at entry `pos` (from the start).
fn reposition(d: *mut c_void, pos: i64) {
    let fd = {
        let mut all = streams();
        let Some(s) = all.get_mut(&(d as usize)) else {
            return;
        };
        s.queue.clear();
        s.eof = false;
        s.pos = 0;
        s.host_fd
    };
    if let Some(r) = rump_fd(fd) {
        let _ = rump_lseek(r, 0, libc::SEEK_SET);
    }
    for _ in 0..pos {
        if next_entry(d).is_null() {
            break;
        }
    }
}

/// rewinddir(3).
#[no_mangle]
pub unsafe extern "C" fn rewinddir(d: *mut c_void) {
    let real_fn = real!(rewinddir: fn(*mut c_void) -> ());
    let Some(_g) = Guard::enter() else {
        return real_fn(d);
    };
    if ours(d) {
        reposition(d, 0);
    } else {
        real_fn(d)
    }
}

/// telldir(3): the number of entries read.
#[no_mangle]
pub unsafe extern "C" fn telldir(d: *mut c_void) -> c_long {
    let real_fn = real!(telldir: fn(*mut c_void) -> c_long);
    match streams().get(&(d as usize)) {
        Some(s) => s.pos as c_long,
        None => real_fn(d),
    }
}

/// seekdir(3): back to a position telldir gave.
#[no_mangle]
pub unsafe extern "C" fn seekdir(d: *mut c_void, pos: c_long) {
    let real_fn = real!(seekdir: fn(*mut c_void, c_long) -> ());
    let Some(_g) = Guard::enter() else {
        return real_fn(d, pos);
    };
    if ours(d) {
        reposition(d, pos);
    } else {
        real_fn(d, pos)
    }
}
