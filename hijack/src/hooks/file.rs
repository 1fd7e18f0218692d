//! Descriptor calls: open family, close, read/write and their positioned and
//! vector forms, lseek, dup family, fcntl, fsync, ftruncate, ioctl, mmap,
//! and the copy offloads (answered so programs fall back to read/write).

use std::os::raw::{c_char, c_int, c_long, c_uint, c_ulong, c_void};

use rumpsp_protocol::client::Arg;

use super::{install, ret, route, rump_fd, set_errno, Guard, Route};
use crate::real;
use crate::rump::{self, call, call_rv, nr};
use crate::state;
use crate::xlate::flags::{self, nb};

/// Largest transfer in one rump call (frames stay far below the decoder's limits).
const CHUNK: usize = 1 << 20;

type OpenatFn = fn(c_int, *const c_char, c_int, c_uint) -> c_int;

/// openat on a rump path: translated flags, a host number reserved.
pub fn rump_openat(dirfd: i32, p: &[u8], flags: c_int, mode: c_uint) -> Result<i64, i32> {
    let nflags = flags::open_to_netbsd(flags)?;
    let r = call_rv(
        nr::OPENAT,
        vec![
            Arg::Int(dirfd),
            rump::path(p),
            Arg::Int(nflags),
            Arg::Int(mode as i32),
        ],
    )?;
    install(r as i32, flags & libc::O_CLOEXEC != 0)
}

/// The shared body of every open-family hook.
///
/// # Safety
/// `path` is NULL or NUL-terminated.
pub unsafe fn do_openat(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    let Some(_g) = Guard::enter() else {
        return real!(openat: fn(c_int, *const c_char, c_int, c_uint) -> c_int)(
            dirfd, path, flags, mode,
        );
    };
    // SAFETY: forwarded from the caller
    match unsafe { route(dirfd, path) } {
        Route::Host => real!(openat: fn(c_int, *const c_char, c_int, c_uint) -> c_int)(
            dirfd, path, flags, mode,
        ),
        Route::Rump(d, p) => ret(rump_openat(d, &p, flags, mode)),
    }
}

#[allow(dead_code)]
fn _type_check(_: OpenatFn) {}

/// open(2); `mode` is the variadic argument (read from its register).
#[no_mangle]
pub unsafe extern "C" fn open(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    // SAFETY: forwarded
    unsafe { do_openat(libc::AT_FDCWD, path, flags, mode) }
}

/// open64(2).
#[no_mangle]
pub unsafe extern "C" fn open64(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    // SAFETY: forwarded
    unsafe { do_openat(libc::AT_FDCWD, path, flags, mode) }
}

/// The fortified open (no mode).
#[no_mangle]
pub unsafe extern "C" fn __open_2(path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: forwarded
    unsafe { do_openat(libc::AT_FDCWD, path, flags, 0) }
}

/// The fortified open64.
#[no_mangle]
pub unsafe extern "C" fn __open64_2(path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: forwarded
    unsafe { do_openat(libc::AT_FDCWD, path, flags, 0) }
}

/// openat(2).
#[no_mangle]
pub unsafe extern "C" fn openat(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: c_uint,
) -> c_int {
    // SAFETY: forwarded
    unsafe { do_openat(dirfd, path, flags, mode) }
}

/// openat64(2).
#[no_mangle]
pub unsafe extern "C" fn openat64(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: c_uint,
) -> c_int {
    // SAFETY: forwarded
    unsafe { do_openat(dirfd, path, flags, mode) }
}

/// The fortified openat.
#[no_mangle]
pub unsafe extern "C" fn __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: forwarded
    unsafe { do_openat(dirfd, path, flags, 0) }
}

/// The fortified openat64.
#[no_mangle]
pub unsafe extern "C" fn __openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: forwarded
    unsafe { do_openat(dirfd, path, flags, 0) }
}

/// creat(2).
#[no_mangle]
pub unsafe extern "C" fn creat(path: *const c_char, mode: c_uint) -> c_int {
    // SAFETY: forwarded
    unsafe {
        do_openat(
            libc::AT_FDCWD,
            path,
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            mode,
        )
    }
}

/// creat64(2).
#[no_mangle]
pub unsafe extern "C" fn creat64(path: *const c_char, mode: c_uint) -> c_int {
    // SAFETY: forwarded
    unsafe { creat(path, mode) }
}

/// Is `fd` the connection's own socket (which the program must not close or replace)?
fn is_our_socket(fd: c_int) -> bool {
    state::lock().conn.as_ref().is_some_and(|c| c.fd() == fd)
}

/// close(2): a rump descriptor is closed in the rump kernel, then its host number.
#[no_mangle]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    let real_close = real!(close: fn(c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_close(fd);
    };
    if is_our_socket(fd) {
        return 0; // hidden from the program, as librumphijack hides its descriptors
    }
    let r = {
        let mut st = state::lock();
        st.is_socket.remove(&fd);
        st.fds.remove(&fd)
    };
    match r {
        None => real_close(fd),
        Some(r) => {
            real_close(fd);
            super::stdio::drain(fd);
            ret(call(nr::CLOSE, vec![Arg::Int(r)]).map(|_| 0))
        }
    }
}

/// read on a rump descriptor.
pub fn rump_read(r: i32, buf: *mut c_void, n: usize) -> Result<i64, i32> {
    let n = n.min(CHUNK);
    let rep = call(
        nr::READ,
        vec![Arg::Int(r), Arg::Out(n), Arg::Word(n as u64)],
    )?;
    let got = (rep.retval[0].max(0) as usize).min(n);
    let data = rump::first_buf(rep);
    // SAFETY: the caller's buffer holds at least n >= got bytes
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf.cast(), got.min(data.len())) };
    Ok(got as i64)
}

/// write on a rump descriptor, in chunks; a short chunk ends it.
pub fn rump_write(r: i32, buf: *const c_void, n: usize) -> Result<i64, i32> {
    let mut done = 0usize;
    while done < n || n == 0 {
        let len = (n - done).min(CHUNK);
        // SAFETY: the caller's buffer holds n bytes
        let data = unsafe { std::slice::from_raw_parts(buf.cast::<u8>().add(done), len) }.to_vec();
        match call_rv(
            nr::WRITE,
            vec![Arg::Int(r), Arg::In(data), Arg::Word(len as u64)],
        ) {
            Ok(w) => {
                done += w.max(0) as usize;
                if (w as usize) < len || n == 0 {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done as i64)
}

/// read(2).
#[no_mangle]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, n: usize) -> isize {
    let real_read = real!(read: fn(c_int, *mut c_void, usize) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_read(fd, buf, n);
    };
    match rump_fd(fd) {
        None => real_read(fd, buf, n),
        Some(r) => ret(rump_read(r, buf, n)),
    }
}

/// The fortified read.
#[no_mangle]
pub unsafe extern "C" fn __read_chk(
    fd: c_int,
    buf: *mut c_void,
    n: usize,
    _buflen: usize,
) -> isize {
    // SAFETY: forwarded
    unsafe { read(fd, buf, n) }
}

/// write(2).
#[no_mangle]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, n: usize) -> isize {
    let real_write = real!(write: fn(c_int, *const c_void, usize) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_write(fd, buf, n);
    };
    match rump_fd(fd) {
        None => real_write(fd, buf, n),
        // SAFETY: the caller's buffer
        Some(r) if super::socket::is_socket(fd, r) => {
            ret(unsafe { super::socket::rump_sendto(r, buf, n, 0, None) })
        }
        Some(r) => ret(rump_write(r, buf, n)),
    }
}

fn rump_pread(r: i32, buf: *mut c_void, n: usize, off: i64) -> Result<i64, i32> {
    let n = n.min(CHUNK);
    let rep = call(
        nr::PREAD,
        vec![
            Arg::Int(r),
            Arg::Out(n),
            Arg::Word(n as u64),
            Arg::Word(0),
            Arg::Word(off as u64),
        ],
    )?;
    let got = (rep.retval[0].max(0) as usize).min(n);
    let data = rump::first_buf(rep);
    // SAFETY: the caller's buffer holds n >= got bytes
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf.cast(), got.min(data.len())) };
    Ok(got as i64)
}

fn rump_pwrite(r: i32, buf: *const c_void, n: usize, off: i64) -> Result<i64, i32> {
    let mut done = 0usize;
    loop {
        let len = (n - done).min(CHUNK);
        // SAFETY: the caller's buffer holds n bytes
        let data = unsafe { std::slice::from_raw_parts(buf.cast::<u8>().add(done), len) }.to_vec();
        let w = match call_rv(
            nr::PWRITE,
            vec![
                Arg::Int(r),
                Arg::In(data),
                Arg::Word(len as u64),
                Arg::Word(0),
                Arg::Word((off + done as i64) as u64),
            ],
        ) {
            Ok(w) => w.max(0) as usize,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += w;
        if w < len || done >= n {
            break;
        }
    }
    Ok(done as i64)
}

/// pread(2).
#[no_mangle]
pub unsafe extern "C" fn pread(fd: c_int, buf: *mut c_void, n: usize, off: i64) -> isize {
    let real_fn = real!(pread: fn(c_int, *mut c_void, usize, i64) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, buf, n, off);
    };
    match rump_fd(fd) {
        None => real_fn(fd, buf, n, off),
        Some(r) => ret(rump_pread(r, buf, n, off)),
    }
}

/// pread64(2).
#[no_mangle]
pub unsafe extern "C" fn pread64(fd: c_int, buf: *mut c_void, n: usize, off: i64) -> isize {
    // SAFETY: forwarded
    unsafe { pread(fd, buf, n, off) }
}

/// pwrite(2).
#[no_mangle]
pub unsafe extern "C" fn pwrite(fd: c_int, buf: *const c_void, n: usize, off: i64) -> isize {
    let real_fn = real!(pwrite: fn(c_int, *const c_void, usize, i64) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, buf, n, off);
    };
    match rump_fd(fd) {
        None => real_fn(fd, buf, n, off),
        Some(r) => ret(rump_pwrite(r, buf, n, off)),
    }
}

/// pwrite64(2).
#[no_mangle]
pub unsafe extern "C" fn pwrite64(fd: c_int, buf: *const c_void, n: usize, off: i64) -> isize {
    // SAFETY: forwarded
    unsafe { pwrite(fd, buf, n, off) }
}

/// readv(2): the vectors are filled one after the other.
#[no_mangle]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const libc::iovec, cnt: c_int) -> isize {
    let real_fn = real!(readv: fn(c_int, *const libc::iovec, c_int) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, iov, cnt);
    };
    let Some(r) = rump_fd(fd) else {
        return real_fn(fd, iov, cnt);
    };
    if cnt < 0 || iov.is_null() {
        set_errno(libc::EINVAL);
        return -1;
    }
    if super::socket::is_socket(fd, r) {
        // one receive scattered over the vectors: a second read could block
        // SAFETY: the caller's array of cnt entries
        let v = unsafe { std::slice::from_raw_parts(iov, cnt as usize) };
        let total: usize = v.iter().map(|x| x.iov_len).sum::<usize>().min(CHUNK);
        let mut buf = vec![0u8; total];
        let got = match rump_read(r, buf.as_mut_ptr().cast(), total) {
            Ok(n) => n as usize,
            Err(e) => return ret(Err(e)),
        };
        let mut off = 0usize;
        for x in v {
            if off >= got {
                break;
            }
            let k = x.iov_len.min(got - off);
            // SAFETY: the caller's buffer of iov_len >= k bytes
            unsafe { std::ptr::copy_nonoverlapping(buf[off..].as_ptr(), x.iov_base.cast(), k) };
            off += k;
        }
        return got as isize;
    }
    let mut total = 0i64;
    for i in 0..cnt as usize {
        // SAFETY: the caller's array of cnt entries
        let v = unsafe { *iov.add(i) };
        match rump_read(r, v.iov_base, v.iov_len) {
            Ok(n) => {
                total += n;
                if (n as usize) < v.iov_len {
                    break;
                }
            }
            Err(e) if total == 0 => return ret(Err(e)),
            Err(_) => break,
        }
    }
    total as isize
}

/// writev(2): the vectors are gathered and written in order.
#[no_mangle]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const libc::iovec, cnt: c_int) -> isize {
    let real_fn = real!(writev: fn(c_int, *const libc::iovec, c_int) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, iov, cnt);
    };
    let Some(r) = rump_fd(fd) else {
        return real_fn(fd, iov, cnt);
    };
    if cnt < 0 || iov.is_null() {
        set_errno(libc::EINVAL);
        return -1;
    }
    let mut all = Vec::new();
    for i in 0..cnt as usize {
        // SAFETY: the caller's array of cnt entries, each naming iov_len bytes
        let v = unsafe { *iov.add(i) };
        all.extend_from_slice(unsafe {
            std::slice::from_raw_parts(v.iov_base.cast::<u8>(), v.iov_len)
        });
    }
    if super::socket::is_socket(fd, r) {
        // SAFETY: our buffer
        return ret(unsafe {
            super::socket::rump_sendto(r, all.as_ptr().cast(), all.len(), 0, None)
        });
    }
    ret(rump_write(r, all.as_ptr().cast(), all.len()))
}

fn rump_fstat_size(r: i32) -> Result<i64, i32> {
    let rep = call(nr::FSTAT, vec![Arg::Int(r), Arg::Out(152)])?;
    let st = rumpsp_protocol::netbsd::StatBuf::decode(&rump::first_buf(rep)).ok_or(libc::EIO)?;
    Ok(st.size)
}

/// lseek on a rump descriptor; SEEK_DATA/SEEK_HOLE (which NetBSD lacks) as a
/// file without holes: data everywhere before the end, one hole at the end.
pub fn rump_lseek(r: i32, off: i64, whence: c_int) -> Result<i64, i32> {
    match whence {
        libc::SEEK_SET | libc::SEEK_CUR | libc::SEEK_END => call_rv(
            nr::LSEEK,
            vec![
                Arg::Int(r),
                Arg::Word(0),
                Arg::Word(off as u64),
                Arg::Int(whence),
            ],
        ),
        libc::SEEK_DATA | libc::SEEK_HOLE => {
            let size = rump_fstat_size(r)?;
            if off < 0 || off >= size {
                return Err(libc::ENXIO);
            }
            let to = if whence == libc::SEEK_DATA { off } else { size };
            rump_lseek(r, to, libc::SEEK_SET)
        }
        _ => Err(libc::EINVAL),
    }
}

/// lseek(2).
#[no_mangle]
pub unsafe extern "C" fn lseek(fd: c_int, off: i64, whence: c_int) -> i64 {
    let real_fn = real!(lseek: fn(c_int, i64, c_int) -> i64);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, off, whence);
    };
    match rump_fd(fd) {
        None => real_fn(fd, off, whence),
        Some(r) => ret(rump_lseek(r, off, whence)),
    }
}

/// lseek64(2).
#[no_mangle]
pub unsafe extern "C" fn lseek64(fd: c_int, off: i64, whence: c_int) -> i64 {
    // SAFETY: forwarded
    unsafe { lseek(fd, off, whence) }
}

/// dup on a rump descriptor: a new rump descriptor behind a new host number.
fn rump_dup(r: i32, cloexec: bool) -> Result<i64, i32> {
    let n = call_rv(nr::DUP, vec![Arg::Int(r)])? as i32;
    if cloexec {
        let _ = call(
            nr::FCNTL,
            vec![Arg::Int(n), Arg::Int(nb::F_SETFD), Arg::Int(1)],
        );
    }
    install(n, cloexec)
}

/// dup(2).
#[no_mangle]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    let real_fn = real!(dup: fn(c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd);
    };
    match rump_fd(fd) {
        None => real_fn(fd),
        Some(r) => ret(rump_dup(r, false)),
    }
}

/// dup2/dup3 onto `new`: whatever `new` was is closed first (rump side too).
fn do_dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    let real_dup3 = real!(dup3: fn(c_int, c_int, c_int) -> c_int);
    if is_our_socket(new) {
        set_errno(libc::EBADF);
        return -1;
    }
    let old_r = rump_fd(old);
    if old == new {
        let real_fcntl = real!(fcntl: fn(c_int, c_int, c_int) -> c_int);
        // SAFETY: fcntl with integer arguments
        return if old_r.is_some() || unsafe { real_fcntl(old, libc::F_GETFD, 0) } >= 0 {
            new
        } else {
            set_errno(libc::EBADF);
            -1
        };
    }
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let new_r = if let Some(r) = old_r {
        let n = match call_rv(nr::DUP, vec![Arg::Int(r)]) {
            Ok(n) => n as i32,
            Err(e) => return ret(Err(e)),
        };
        if cloexec {
            let _ = call(
                nr::FCNTL,
                vec![Arg::Int(n), Arg::Int(nb::F_SETFD), Arg::Int(1)],
            );
        }
        Some(n)
    } else {
        None
    };
    // SAFETY: dup3 with integer arguments
    let h = unsafe { real_dup3(old, new, flags) };
    if h < 0 {
        if let Some(n) = new_r {
            let _ = call(nr::CLOSE, vec![Arg::Int(n)]);
        }
        return h;
    }
    // The old holder of `new`: its pump (if any) drains, then a rump
    // descriptor is closed in the rump kernel.
    let prev = {
        let mut st = state::lock();
        st.is_socket.remove(&new);
        st.fds.remove(&new)
    };
    super::stdio::drain(new);
    if let Some(prev) = prev {
        let _ = call(nr::CLOSE, vec![Arg::Int(prev)]);
    }
    if let Some(n) = new_r {
        state::lock().fds.insert(new, n);
        if super::stdio::is_std_out(new) {
            super::stdio::attach(new, n);
        }
    }
    h
}

/// dup2(2).
#[no_mangle]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    let Some(_g) = Guard::enter() else {
        return real!(dup2: fn(c_int, c_int) -> c_int)(old, new);
    };
    if old == new {
        return do_dup3(old, new, 0);
    }
    do_dup3(old, new, 0)
}

/// dup3(2).
#[no_mangle]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    let Some(_g) = Guard::enter() else {
        return real!(dup3: fn(c_int, c_int, c_int) -> c_int)(old, new, flags);
    };
    if old == new {
        set_errno(libc::EINVAL);
        return -1;
    }
    do_dup3(old, new, flags)
}

/// Locks the rump kernel refuses with EINVAL (the simulated kernel has no
/// advisory locks) are granted locally: correct within one process, not
/// enforced between processes.
fn rump_lock(r: i32, cmd: c_int, arg: c_ulong) -> Result<i64, i32> {
    let fl = arg as *mut libc::flock;
    if fl.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: the caller's struct flock
    let f = unsafe { &mut *fl };
    let b = flags::flock_to_netbsd(f).ok_or(libc::EINVAL)?;
    let ncmd = match cmd {
        libc::F_GETLK | libc::F_OFD_GETLK => nb::F_GETLK,
        libc::F_SETLK | libc::F_OFD_SETLK => nb::F_SETLK,
        _ => nb::F_SETLKW,
    };
    let res = if ncmd == nb::F_GETLK {
        call(
            nr::FCNTL,
            vec![Arg::Int(r), Arg::Int(ncmd), Arg::InOut(b.to_vec())],
        )
        .map(|rep| {
            flags::flock_to_linux(&rump::first_buf(rep), f);
        })
    } else {
        call(
            nr::FCNTL,
            vec![Arg::Int(r), Arg::Int(ncmd), Arg::In(b.to_vec())],
        )
        .map(drop)
    };
    match res {
        Ok(()) => Ok(0),
        Err(libc::EINVAL) => {
            if ncmd == nb::F_GETLK {
                f.l_type = libc::F_UNLCK as i16;
            }
            Ok(0)
        }
        Err(e) => Err(e),
    }
}

fn rump_fcntl(fd: c_int, r: i32, cmd: c_int, arg: c_ulong) -> Result<i64, i32> {
    let real_fcntl = real!(fcntl: fn(c_int, c_int, c_ulong) -> c_int);
    match cmd {
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            let cloexec = cmd == libc::F_DUPFD_CLOEXEC;
            let n = call_rv(nr::DUP, vec![Arg::Int(r)])? as i32;
            if cloexec {
                let _ = call(
                    nr::FCNTL,
                    vec![Arg::Int(n), Arg::Int(nb::F_SETFD), Arg::Int(1)],
                );
            }
            // SAFETY: the caller's fcntl arguments
            let h = unsafe { real_fcntl(fd, cmd, arg) };
            if h < 0 {
                let e = std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EMFILE);
                let _ = call(nr::CLOSE, vec![Arg::Int(n)]);
                return Err(e);
            }
            let mut st = state::lock();
            st.is_socket.remove(&h);
            st.fds.insert(h, n);
            Ok(i64::from(h))
        }
        libc::F_GETFD => call_rv(
            nr::FCNTL,
            vec![Arg::Int(r), Arg::Int(nb::F_GETFD), Arg::Int(0)],
        ),
        libc::F_SETFD => {
            call(
                nr::FCNTL,
                vec![Arg::Int(r), Arg::Int(nb::F_SETFD), Arg::Int(arg as i32 & 1)],
            )?;
            // SAFETY: the caller's fcntl arguments
            unsafe { real_fcntl(fd, cmd, arg) };
            Ok(0)
        }
        libc::F_GETFL => {
            let v = call_rv(
                nr::FCNTL,
                vec![Arg::Int(r), Arg::Int(nb::F_GETFL), Arg::Int(0)],
            )?;
            Ok(i64::from(flags::open_to_linux(v as i32)))
        }
        libc::F_SETFL => {
            let n = flags::open_to_netbsd(arg as i32)?;
            call_rv(
                nr::FCNTL,
                vec![Arg::Int(r), Arg::Int(nb::F_SETFL), Arg::Int(n)],
            )
        }
        libc::F_GETLK
        | libc::F_SETLK
        | libc::F_SETLKW
        | libc::F_OFD_GETLK
        | libc::F_OFD_SETLK
        | libc::F_OFD_SETLKW => rump_lock(r, cmd, arg),
        _ => Err(libc::EINVAL),
    }
}

/// fcntl(2); the third argument is read as an unsigned long (int or pointer).
#[no_mangle]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    let real_fn = real!(fcntl: fn(c_int, c_int, c_ulong) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, cmd, arg);
    };
    match rump_fd(fd) {
        None => real_fn(fd, cmd, arg),
        Some(r) => ret(rump_fcntl(fd, r, cmd, arg)),
    }
}

/// fcntl64 (glibc 2.28+).
#[no_mangle]
pub unsafe extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    // SAFETY: forwarded
    unsafe { fcntl(fd, cmd, arg) }
}

macro_rules! fd_only {
    ($(#[$m:meta])* $name:ident, $nr:expr) => {
        $(#[$m])*
        #[no_mangle]
        pub unsafe extern "C" fn $name(fd: c_int) -> c_int {
            let real_fn = real!($name: fn(c_int) -> c_int);
            let Some(_g) = Guard::enter() else {
                return real_fn(fd);
            };
            match rump_fd(fd) {
                None => real_fn(fd),
                Some(r) => ret(call($nr, vec![Arg::Int(r)]).map(|_| 0)),
            }
        }
    };
}

fd_only!(
    /// fsync(2).
    fsync, nr::FSYNC
);
fd_only!(
    /// fdatasync(2).
    fdatasync, nr::FDATASYNC
);

/// ftruncate(2).
#[no_mangle]
pub unsafe extern "C" fn ftruncate(fd: c_int, len: i64) -> c_int {
    let real_fn = real!(ftruncate: fn(c_int, i64) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, len);
    };
    match rump_fd(fd) {
        None => real_fn(fd, len),
        Some(r) => ret(call(
            nr::FTRUNCATE,
            vec![Arg::Int(r), Arg::Word(0), Arg::Word(len as u64)],
        )
        .map(|_| 0)),
    }
}

/// ftruncate64(2).
#[no_mangle]
pub unsafe extern "C" fn ftruncate64(fd: c_int, len: i64) -> c_int {
    // SAFETY: forwarded
    unsafe { ftruncate(fd, len) }
}

/// ioctl(2): on a rump descriptor only FIOCLEX/FIONCLEX, FIONBIO and
/// FIONREAD are served; every other request is ENOTTY (Linux and NetBSD
/// ioctl encodings differ).
#[no_mangle]
pub unsafe extern "C" fn ioctl(fd: c_int, req: c_ulong, arg: c_ulong) -> c_int {
    let real_fn = real!(ioctl: fn(c_int, c_ulong, c_ulong) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, req, arg);
    };
    match rump_fd(fd) {
        None => real_fn(fd, req, arg),
        Some(r) => match req {
            libc::FIOCLEX | libc::FIONCLEX => {
                let on = i32::from(req == libc::FIOCLEX);
                let res = call(
                    nr::FCNTL,
                    vec![Arg::Int(r), Arg::Int(nb::F_SETFD), Arg::Int(on)],
                );
                real_fn(fd, req, arg);
                ret(res.map(|_| 0))
            }
            // SAFETY: the caller's argument
            _ => match unsafe { super::socket::rump_ioctl(r, req, arg) } {
                Some(res) => ret(res),
                None => ret(Err(libc::ENOTTY)),
            },
        },
    }
}

fn any_rump(a: c_int, b: c_int) -> bool {
    let st = state::lock();
    st.fds.contains_key(&a) || st.fds.contains_key(&b)
}

/// copy_file_range(2): EXDEV when a rump descriptor is involved (programs then copy with read/write).
#[no_mangle]
pub unsafe extern "C" fn copy_file_range(
    fd_in: c_int,
    off_in: *mut i64,
    fd_out: c_int,
    off_out: *mut i64,
    len: usize,
    flags: c_uint,
) -> isize {
    let real_fn =
        real!(copy_file_range: fn(c_int, *mut i64, c_int, *mut i64, usize, c_uint) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd_in, off_in, fd_out, off_out, len, flags);
    };
    if any_rump(fd_in, fd_out) {
        set_errno(libc::EXDEV);
        return -1;
    }
    real_fn(fd_in, off_in, fd_out, off_out, len, flags)
}

/// sendfile(2): EINVAL when a rump descriptor is involved.
#[no_mangle]
pub unsafe extern "C" fn sendfile(
    out_fd: c_int,
    in_fd: c_int,
    off: *mut i64,
    count: usize,
) -> isize {
    let real_fn = real!(sendfile: fn(c_int, c_int, *mut i64, usize) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(out_fd, in_fd, off, count);
    };
    if any_rump(out_fd, in_fd) {
        set_errno(libc::EINVAL);
        return -1;
    }
    real_fn(out_fd, in_fd, off, count)
}

/// sendfile64(2).
#[no_mangle]
pub unsafe extern "C" fn sendfile64(
    out_fd: c_int,
    in_fd: c_int,
    off: *mut i64,
    count: usize,
) -> isize {
    // SAFETY: forwarded
    unsafe { sendfile(out_fd, in_fd, off, count) }
}

/// fallocate(2): EOPNOTSUPP on a rump descriptor.
#[no_mangle]
pub unsafe extern "C" fn fallocate(fd: c_int, mode: c_int, off: i64, len: i64) -> c_int {
    let real_fn = real!(fallocate: fn(c_int, c_int, i64, i64) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, mode, off, len);
    };
    if rump_fd(fd).is_some() {
        set_errno(libc::EOPNOTSUPP);
        return -1;
    }
    real_fn(fd, mode, off, len)
}

/// mmap(2) of a rump descriptor: a MAP_PRIVATE mapping is a private copy
/// of the file's bytes (read at map time); a shared one is ENODEV.
#[no_mangle]
pub unsafe extern "C" fn mmap(
    addr: *mut c_void,
    len: usize,
    prot: c_int,
    fl: c_int,
    fd: c_int,
    off: i64,
) -> *mut c_void {
    let real_fn = real!(mmap: fn(*mut c_void, usize, c_int, c_int, c_int, i64) -> *mut c_void);
    let Some(_g) = Guard::enter() else {
        return real_fn(addr, len, prot, fl, fd, off);
    };
    if fl & libc::MAP_ANONYMOUS != 0 {
        return real_fn(addr, len, prot, fl, fd, off);
    }
    let Some(r) = rump_fd(fd) else {
        return real_fn(addr, len, prot, fl, fd, off);
    };
    if fl & libc::MAP_SHARED != 0 {
        set_errno(libc::ENODEV);
        return libc::MAP_FAILED;
    }
    let m = real_fn(
        addr,
        len,
        libc::PROT_READ | libc::PROT_WRITE,
        (fl & !libc::MAP_SHARED) | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        -1,
        0,
    );
    if m == libc::MAP_FAILED {
        return m;
    }
    let mut done = 0usize;
    while done < len {
        // SAFETY: inside the fresh mapping of len bytes
        match rump_pread(
            r,
            unsafe { m.cast::<u8>().add(done) }.cast(),
            len - done,
            off + done as i64,
        ) {
            Ok(0) => break,
            Ok(n) => done += n as usize,
            Err(e) => {
                real!(munmap: fn(*mut c_void, usize) -> c_int)(m, len);
                set_errno(e);
                return libc::MAP_FAILED;
            }
        }
    }
    if prot != libc::PROT_READ | libc::PROT_WRITE {
        // SAFETY: our own mapping
        unsafe { libc::mprotect(m, len, prot) };
    }
    m
}

/// mmap64(2).
#[no_mangle]
pub unsafe extern "C" fn mmap64(
    addr: *mut c_void,
    len: usize,
    prot: c_int,
    fl: c_int,
    fd: c_int,
    off: i64,
) -> *mut c_void {
    // SAFETY: forwarded
    unsafe { mmap(addr, len, prot, fl, fd, off) }
}

/// posix_fadvise: accepted and ignored on a rump descriptor.
#[no_mangle]
pub unsafe extern "C" fn posix_fadvise(fd: c_int, off: i64, len: i64, advice: c_int) -> c_int {
    let real_fn = real!(posix_fadvise: fn(c_int, i64, i64, c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, off, len, advice);
    };
    if rump_fd(fd).is_some() {
        return 0;
    }
    real_fn(fd, off, len, advice)
}

/// posix_fadvise64.
#[no_mangle]
pub unsafe extern "C" fn posix_fadvise64(fd: c_int, off: i64, len: i64, advice: c_int) -> c_int {
    // SAFETY: forwarded
    unsafe { posix_fadvise(fd, off, len, advice) }
}

/// The `syscall()` entry: getdents64 on a rump descriptor is served (see
/// `dir`), every other number goes to the host.
#[no_mangle]
pub unsafe extern "C" fn syscall(
    n: c_long,
    a1: c_long,
    a2: c_long,
    a3: c_long,
    a4: c_long,
    a5: c_long,
    a6: c_long,
) -> c_long {
    let real_fn =
        real!(syscall: fn(c_long, c_long, c_long, c_long, c_long, c_long, c_long) -> c_long);
    if n == libc::SYS_getdents64 {
        let Some(_g) = Guard::enter() else {
            return real_fn(n, a1, a2, a3, a4, a5, a6);
        };
        if let Some(r) = rump_fd(a1 as c_int) {
            // SAFETY: the caller's getdents64 buffer
            return ret(unsafe { super::dir::rump_getdents64(r, a2 as *mut u8, a3 as usize) });
        }
    }
    real_fn(n, a1, a2, a3, a4, a5, a6)
}
