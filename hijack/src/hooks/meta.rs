//! Path and attribute calls: the stat family (stat/lstat/fstat/fstatat and
//! their 64 forms, statx), access, mkdir, rmdir, unlink, rename, link,
//! symlink, readlink, chmod, chown, utimens, truncate, statfs/statvfs, and
//! the xattr calls (ENOTSUP on rump paths: the rump kernel's tmpfs has none).

use std::os::raw::{c_char, c_int, c_uint, c_void};

use rumpsp_protocol::client::Arg;
use rumpsp_protocol::netbsd::StatBuf;

use super::{bytes, ret, route, rump_fd, set_errno, Guard, Route};
use crate::real;
use crate::rump::{self, call, call_rv, nr};
use crate::xlate::flags::{self, nb, AtCall};
use crate::xlate::{stat as xstat, statvfs as xvfs};

/// NetBSD's `ST_WAIT` flag of statvfs1.
const ST_WAIT: i32 = 1;

/// Stats a rump path (or, with an empty path and AT_EMPTY_PATH, the
/// descriptor itself).
fn rump_stat_at(d: i32, p: &[u8], nofollow: bool) -> Result<StatBuf, i32> {
    let flag = if nofollow { nb::AT_SYMLINK_NOFOLLOW } else { 0 };
    let r = call(
        nr::FSTATAT,
        vec![
            Arg::Int(d),
            rump::path(p),
            Arg::Out(StatBuf::SIZE),
            Arg::Int(flag),
        ],
    )?;
    StatBuf::decode(&rump::first_buf(r)).ok_or(libc::EIO)
}

/// fstat of a rump descriptor.
pub fn rump_fstat(r: i32) -> Result<StatBuf, i32> {
    let rep = call(nr::FSTAT, vec![Arg::Int(r), Arg::Out(StatBuf::SIZE)])?;
    StatBuf::decode(&rump::first_buf(rep)).ok_or(libc::EIO)
}

/// Where an fstatat-like call goes: a rump path, a rump descriptor itself
/// (empty path with AT_EMPTY_PATH), or the host.
enum Target {
    Host,
    Path(i32, Vec<u8>),
    Fd(i32),
}

/// # Safety
/// `path` is NULL or NUL-terminated.
unsafe fn target(dirfd: c_int, path: *const c_char, flags: c_int) -> Target {
    // SAFETY: forwarded
    let p = unsafe { bytes(path) };
    if p.is_empty() && flags & libc::AT_EMPTY_PATH != 0 {
        return match rump_fd(dirfd) {
            Some(r) => Target::Fd(r),
            None => Target::Host,
        };
    }
    // SAFETY: forwarded
    match unsafe { route(dirfd, path) } {
        Route::Host => Target::Host,
        Route::Rump(d, p) => Target::Path(d, p),
    }
}

fn stat_target(t: Target, flags: c_int) -> Option<Result<StatBuf, i32>> {
    match t {
        Target::Host => None,
        Target::Fd(r) => Some(rump_fstat(r)),
        Target::Path(d, p) => Some(rump_stat_at(d, &p, flags & libc::AT_SYMLINK_NOFOLLOW != 0)),
    }
}

fn put_stat(r: Result<StatBuf, i32>, out: *mut libc::stat) -> c_int {
    match r {
        Ok(s) => {
            // SAFETY: the caller's struct stat
            xstat::to_linux_stat(&s, unsafe { &mut *out });
            0
        }
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}

/// The shared body of the fstatat-shaped hooks.
///
/// # Safety
/// C arguments of fstatat.
unsafe fn do_fstatat(
    dirfd: c_int,
    path: *const c_char,
    out: *mut libc::stat,
    flags: c_int,
) -> c_int {
    let real_fn = real!(fstatat: fn(c_int, *const c_char, *mut libc::stat, c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(dirfd, path, out, flags);
    };
    // SAFETY: forwarded
    match stat_target(unsafe { target(dirfd, path, flags) }, flags) {
        None => real_fn(dirfd, path, out, flags),
        Some(r) => put_stat(r, out),
    }
}

/// stat(2).
#[no_mangle]
pub unsafe extern "C" fn stat(path: *const c_char, out: *mut libc::stat) -> c_int {
    // SAFETY: forwarded
    unsafe { do_fstatat(libc::AT_FDCWD, path, out, 0) }
}

/// stat64(2).
#[no_mangle]
pub unsafe extern "C" fn stat64(path: *const c_char, out: *mut libc::stat) -> c_int {
    // SAFETY: forwarded (struct stat64 is struct stat on x86_64)
    unsafe { do_fstatat(libc::AT_FDCWD, path, out, 0) }
}

/// lstat(2).
#[no_mangle]
pub unsafe extern "C" fn lstat(path: *const c_char, out: *mut libc::stat) -> c_int {
    // SAFETY: forwarded
    unsafe { do_fstatat(libc::AT_FDCWD, path, out, libc::AT_SYMLINK_NOFOLLOW) }
}

/// lstat64(2).
#[no_mangle]
pub unsafe extern "C" fn lstat64(path: *const c_char, out: *mut libc::stat) -> c_int {
    // SAFETY: forwarded
    unsafe { do_fstatat(libc::AT_FDCWD, path, out, libc::AT_SYMLINK_NOFOLLOW) }
}

/// fstatat(2).
#[no_mangle]
pub unsafe extern "C" fn fstatat(
    dirfd: c_int,
    path: *const c_char,
    out: *mut libc::stat,
    flags: c_int,
) -> c_int {
    // SAFETY: forwarded
    unsafe { do_fstatat(dirfd, path, out, flags) }
}

/// fstatat64(2).
#[no_mangle]
pub unsafe extern "C" fn fstatat64(
    dirfd: c_int,
    path: *const c_char,
    out: *mut libc::stat,
    flags: c_int,
) -> c_int {
    // SAFETY: forwarded
    unsafe { do_fstatat(dirfd, path, out, flags) }
}

/// fstat(2).
#[no_mangle]
pub unsafe extern "C" fn fstat(fd: c_int, out: *mut libc::stat) -> c_int {
    let real_fn = real!(fstat: fn(c_int, *mut libc::stat) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, out);
    };
    match rump_fd(fd) {
        None => real_fn(fd, out),
        Some(r) => put_stat(rump_fstat(r), out),
    }
}

/// fstat64(2).
#[no_mangle]
pub unsafe extern "C" fn fstat64(fd: c_int, out: *mut libc::stat) -> c_int {
    // SAFETY: forwarded
    unsafe { fstat(fd, out) }
}

/// statx(2).
#[no_mangle]
pub unsafe extern "C" fn statx(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mask: c_uint,
    out: *mut libc::statx,
) -> c_int {
    let real_fn = real!(statx: fn(c_int, *const c_char, c_int, c_uint, *mut libc::statx) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(dirfd, path, flags, mask, out);
    };
    // SAFETY: forwarded
    match stat_target(unsafe { target(dirfd, path, flags) }, flags) {
        None => real_fn(dirfd, path, flags, mask, out),
        Some(Ok(s)) => {
            // SAFETY: the caller's struct statx
            xstat::to_linux_statx(&s, unsafe { &mut *out });
            0
        }
        Some(Err(e)) => {
            set_errno(e);
            -1
        }
    }
}

/// A path call: routes `path` (relative to `dirfd`), runs `rump_op` on a
/// rump path, `host` otherwise.
///
/// # Safety
/// `path` is NULL or NUL-terminated.
unsafe fn path_call(
    dirfd: c_int,
    path: *const c_char,
    host: impl FnOnce() -> c_int,
    rump_op: impl FnOnce(i32, Vec<u8>) -> Result<i64, i32>,
) -> c_int {
    let Some(_g) = Guard::enter() else {
        return host();
    };
    // SAFETY: forwarded
    match unsafe { route(dirfd, path) } {
        Route::Host => host(),
        Route::Rump(d, p) => ret(rump_op(d, p).map(|_| 0)),
    }
}

/// faccessat(2).
#[no_mangle]
pub unsafe extern "C" fn faccessat(
    dirfd: c_int,
    path: *const c_char,
    mode: c_int,
    flags: c_int,
) -> c_int {
    let real_fn = real!(faccessat: fn(c_int, *const c_char, c_int, c_int) -> c_int);
    // SAFETY: forwarded
    unsafe {
        path_call(
            dirfd,
            path,
            || real_fn(dirfd, path, mode, flags),
            |d, p| {
                let f = flags::at_to_netbsd(flags, AtCall::Access)?;
                call_rv(
                    nr::FACCESSAT,
                    vec![Arg::Int(d), rump::path(&p), Arg::Int(mode), Arg::Int(f)],
                )
            },
        )
    }
}

/// access(2).
#[no_mangle]
pub unsafe extern "C" fn access(path: *const c_char, mode: c_int) -> c_int {
    // SAFETY: forwarded
    unsafe { faccessat(libc::AT_FDCWD, path, mode, 0) }
}

/// euidaccess / eaccess.
#[no_mangle]
pub unsafe extern "C" fn euidaccess(path: *const c_char, mode: c_int) -> c_int {
    // SAFETY: forwarded
    unsafe { faccessat(libc::AT_FDCWD, path, mode, libc::AT_EACCESS) }
}

/// eaccess.
#[no_mangle]
pub unsafe extern "C" fn eaccess(path: *const c_char, mode: c_int) -> c_int {
    // SAFETY: forwarded
    unsafe { faccessat(libc::AT_FDCWD, path, mode, libc::AT_EACCESS) }
}

/// mkdirat(2).
#[no_mangle]
pub unsafe extern "C" fn mkdirat(dirfd: c_int, path: *const c_char, mode: c_uint) -> c_int {
    let real_fn = real!(mkdirat: fn(c_int, *const c_char, c_uint) -> c_int);
    // SAFETY: forwarded
    unsafe {
        path_call(
            dirfd,
            path,
            || real_fn(dirfd, path, mode),
            |d, p| {
                call_rv(
                    nr::MKDIRAT,
                    vec![Arg::Int(d), rump::path(&p), Arg::Int(mode as i32)],
                )
            },
        )
    }
}

/// mkdir(2).
#[no_mangle]
pub unsafe extern "C" fn mkdir(path: *const c_char, mode: c_uint) -> c_int {
    // SAFETY: forwarded
    unsafe { mkdirat(libc::AT_FDCWD, path, mode) }
}

/// unlinkat(2).
#[no_mangle]
pub unsafe extern "C" fn unlinkat(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    let real_fn = real!(unlinkat: fn(c_int, *const c_char, c_int) -> c_int);
    // SAFETY: forwarded
    unsafe {
        path_call(
            dirfd,
            path,
            || real_fn(dirfd, path, flags),
            |d, p| {
                let f = flags::at_to_netbsd(flags, AtCall::Unlink)?;
                call_rv(nr::UNLINKAT, vec![Arg::Int(d), rump::path(&p), Arg::Int(f)])
            },
        )
    }
}

/// unlink(2).
#[no_mangle]
pub unsafe extern "C" fn unlink(path: *const c_char) -> c_int {
    // SAFETY: forwarded
    unsafe { unlinkat(libc::AT_FDCWD, path, 0) }
}

/// rmdir(2).
#[no_mangle]
pub unsafe extern "C" fn rmdir(path: *const c_char) -> c_int {
    // SAFETY: forwarded
    unsafe { unlinkat(libc::AT_FDCWD, path, libc::AT_REMOVEDIR) }
}

/// A rump directory descriptor (or AT_FDCWD) and a path relative to it.
type RumpPath = (i32, Vec<u8>);

/// Two paths of one call: both in the rump kernel, both on the host, or EXDEV.
///
/// # Safety
/// The paths are NULL or NUL-terminated.
unsafe fn two_paths(
    d1: c_int,
    p1: *const c_char,
    d2: c_int,
    p2: *const c_char,
) -> Option<Result<(RumpPath, RumpPath), i32>> {
    // SAFETY: forwarded
    match unsafe { (route(d1, p1), route(d2, p2)) } {
        (Route::Host, Route::Host) => None,
        (Route::Rump(a, x), Route::Rump(b, y)) => Some(Ok(((a, x), (b, y)))),
        _ => Some(Err(libc::EXDEV)),
    }
}

/// renameat2(2): flags 0 only on rump paths (EINVAL otherwise).
#[no_mangle]
pub unsafe extern "C" fn renameat2(
    d1: c_int,
    p1: *const c_char,
    d2: c_int,
    p2: *const c_char,
    flags: c_uint,
) -> c_int {
    let real_fn = real!(renameat2: fn(c_int, *const c_char, c_int, *const c_char, c_uint) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(d1, p1, d2, p2, flags);
    };
    // SAFETY: forwarded
    match unsafe { two_paths(d1, p1, d2, p2) } {
        None => real_fn(d1, p1, d2, p2, flags),
        Some(Err(e)) => ret(Err(e)),
        Some(Ok(_)) if flags != 0 => ret(Err(libc::EINVAL)),
        Some(Ok(((a, x), (b, y)))) => ret(call_rv(
            nr::RENAMEAT,
            vec![Arg::Int(a), rump::path(&x), Arg::Int(b), rump::path(&y)],
        )
        .map(|_| 0)),
    }
}

/// renameat(2).
#[no_mangle]
pub unsafe extern "C" fn renameat(
    d1: c_int,
    p1: *const c_char,
    d2: c_int,
    p2: *const c_char,
) -> c_int {
    // SAFETY: forwarded
    unsafe { renameat2(d1, p1, d2, p2, 0) }
}

/// rename(2).
#[no_mangle]
pub unsafe extern "C" fn rename(p1: *const c_char, p2: *const c_char) -> c_int {
    // SAFETY: forwarded
    unsafe { renameat2(libc::AT_FDCWD, p1, libc::AT_FDCWD, p2, 0) }
}

/// linkat(2).
#[no_mangle]
pub unsafe extern "C" fn linkat(
    d1: c_int,
    p1: *const c_char,
    d2: c_int,
    p2: *const c_char,
    flags: c_int,
) -> c_int {
    let real_fn = real!(linkat: fn(c_int, *const c_char, c_int, *const c_char, c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(d1, p1, d2, p2, flags);
    };
    // SAFETY: forwarded
    match unsafe { two_paths(d1, p1, d2, p2) } {
        None => real_fn(d1, p1, d2, p2, flags),
        Some(Err(e)) => ret(Err(e)),
        Some(Ok(((a, x), (b, y)))) => ret(flags::at_to_netbsd(flags, AtCall::Link)
            .and_then(|f| {
                call_rv(
                    nr::LINKAT,
                    vec![
                        Arg::Int(a),
                        rump::path(&x),
                        Arg::Int(b),
                        rump::path(&y),
                        Arg::Int(f),
                    ],
                )
            })
            .map(|_| 0)),
    }
}

/// link(2).
#[no_mangle]
pub unsafe extern "C" fn link(p1: *const c_char, p2: *const c_char) -> c_int {
    // SAFETY: forwarded
    unsafe { linkat(libc::AT_FDCWD, p1, libc::AT_FDCWD, p2, 0) }
}

/// symlinkat(2): the target is stored as given (it is not a path lookup).
#[no_mangle]
pub unsafe extern "C" fn symlinkat(
    target: *const c_char,
    dirfd: c_int,
    path: *const c_char,
) -> c_int {
    let real_fn = real!(symlinkat: fn(*const c_char, c_int, *const c_char) -> c_int);
    // SAFETY: forwarded
    let t = unsafe { bytes(target) }.to_vec();
    // SAFETY: forwarded
    unsafe {
        path_call(
            dirfd,
            path,
            || real_fn(target, dirfd, path),
            |d, p| {
                call_rv(
                    nr::SYMLINKAT,
                    vec![rump::path(&t), Arg::Int(d), rump::path(&p)],
                )
            },
        )
    }
}

/// symlink(2).
#[no_mangle]
pub unsafe extern "C" fn symlink(target: *const c_char, path: *const c_char) -> c_int {
    // SAFETY: forwarded
    unsafe { symlinkat(target, libc::AT_FDCWD, path) }
}

/// readlinkat(2).
#[no_mangle]
pub unsafe extern "C" fn readlinkat(
    dirfd: c_int,
    path: *const c_char,
    buf: *mut c_char,
    size: usize,
) -> isize {
    let real_fn = real!(readlinkat: fn(c_int, *const c_char, *mut c_char, usize) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(dirfd, path, buf, size);
    };
    // SAFETY: forwarded
    match unsafe { route(dirfd, path) } {
        Route::Host => real_fn(dirfd, path, buf, size),
        Route::Rump(d, p) => {
            let n = size.min(1 << 16);
            let r = call(
                nr::READLINKAT,
                vec![
                    Arg::Int(d),
                    rump::path(&p),
                    Arg::Out(n),
                    Arg::Word(n as u64),
                ],
            );
            match r {
                Ok(rep) => {
                    let got = (rep.retval[0].max(0) as usize).min(n);
                    let data = rump::first_buf(rep);
                    let got = got.min(data.len());
                    // SAFETY: the caller's buffer holds size >= got bytes
                    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf.cast::<u8>(), got) };
                    got as isize
                }
                Err(e) => {
                    set_errno(e);
                    -1
                }
            }
        }
    }
}

/// readlink(2).
#[no_mangle]
pub unsafe extern "C" fn readlink(path: *const c_char, buf: *mut c_char, size: usize) -> isize {
    // SAFETY: forwarded
    unsafe { readlinkat(libc::AT_FDCWD, path, buf, size) }
}

/// fchmodat(2).
#[no_mangle]
pub unsafe extern "C" fn fchmodat(
    dirfd: c_int,
    path: *const c_char,
    mode: c_uint,
    flags: c_int,
) -> c_int {
    let real_fn = real!(fchmodat: fn(c_int, *const c_char, c_uint, c_int) -> c_int);
    // SAFETY: forwarded
    unsafe {
        path_call(
            dirfd,
            path,
            || real_fn(dirfd, path, mode, flags),
            |d, p| {
                let f = flags::at_to_netbsd(flags, AtCall::Other)?;
                call_rv(
                    nr::FCHMODAT,
                    vec![
                        Arg::Int(d),
                        rump::path(&p),
                        Arg::Int(mode as i32),
                        Arg::Int(f),
                    ],
                )
            },
        )
    }
}

/// chmod(2).
#[no_mangle]
pub unsafe extern "C" fn chmod(path: *const c_char, mode: c_uint) -> c_int {
    // SAFETY: forwarded
    unsafe { fchmodat(libc::AT_FDCWD, path, mode, 0) }
}

/// fchmod(2).
#[no_mangle]
pub unsafe extern "C" fn fchmod(fd: c_int, mode: c_uint) -> c_int {
    let real_fn = real!(fchmod: fn(c_int, c_uint) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, mode);
    };
    match rump_fd(fd) {
        None => real_fn(fd, mode),
        Some(r) => ret(call_rv(nr::FCHMOD, vec![Arg::Int(r), Arg::Int(mode as i32)]).map(|_| 0)),
    }
}

/// fchownat(2).
#[no_mangle]
pub unsafe extern "C" fn fchownat(
    dirfd: c_int,
    path: *const c_char,
    uid: c_uint,
    gid: c_uint,
    flags: c_int,
) -> c_int {
    let real_fn = real!(fchownat: fn(c_int, *const c_char, c_uint, c_uint, c_int) -> c_int);
    // SAFETY: forwarded
    unsafe {
        path_call(
            dirfd,
            path,
            || real_fn(dirfd, path, uid, gid, flags),
            |d, p| {
                let f = flags::at_to_netbsd(flags, AtCall::Other)?;
                call_rv(
                    nr::FCHOWNAT,
                    vec![
                        Arg::Int(d),
                        rump::path(&p),
                        Arg::Int(uid as i32),
                        Arg::Int(gid as i32),
                        Arg::Int(f),
                    ],
                )
            },
        )
    }
}

/// chown(2).
#[no_mangle]
pub unsafe extern "C" fn chown(path: *const c_char, uid: c_uint, gid: c_uint) -> c_int {
    // SAFETY: forwarded
    unsafe { fchownat(libc::AT_FDCWD, path, uid, gid, 0) }
}

/// lchown(2).
#[no_mangle]
pub unsafe extern "C" fn lchown(path: *const c_char, uid: c_uint, gid: c_uint) -> c_int {
    // SAFETY: forwarded
    unsafe { fchownat(libc::AT_FDCWD, path, uid, gid, libc::AT_SYMLINK_NOFOLLOW) }
}

/// fchown(2).
#[no_mangle]
pub unsafe extern "C" fn fchown(fd: c_int, uid: c_uint, gid: c_uint) -> c_int {
    let real_fn = real!(fchown: fn(c_int, c_uint, c_uint) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, uid, gid);
    };
    match rump_fd(fd) {
        None => real_fn(fd, uid, gid),
        Some(r) => ret(call_rv(
            nr::FCHOWN,
            vec![Arg::Int(r), Arg::Int(uid as i32), Arg::Int(gid as i32)],
        )
        .map(|_| 0)),
    }
}

/// The times argument of utimensat/futimens (NULL: now).
///
/// # Safety
/// `times` is NULL or points at two timespecs.
unsafe fn times_arg(times: *const libc::timespec) -> Arg {
    if times.is_null() {
        Arg::Null
    } else {
        // SAFETY: the caller's two timespecs
        Arg::In(xstat::timespecs_to_netbsd(unsafe {
            &*times.cast::<[libc::timespec; 2]>()
        }))
    }
}

/// utimensat(2).
#[no_mangle]
pub unsafe extern "C" fn utimensat(
    dirfd: c_int,
    path: *const c_char,
    times: *const libc::timespec,
    flags: c_int,
) -> c_int {
    let real_fn = real!(utimensat: fn(c_int, *const c_char, *const libc::timespec, c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(dirfd, path, times, flags);
    };
    // SAFETY: forwarded
    let t = unsafe { target(dirfd, path, flags) };
    // SAFETY: forwarded
    let arg = unsafe { times_arg(times) };
    match t {
        Target::Host => real_fn(dirfd, path, times, flags),
        Target::Fd(r) => ret(call_rv(nr::FUTIMENS, vec![Arg::Int(r), arg]).map(|_| 0)),
        Target::Path(d, p) => ret(flags::at_to_netbsd(flags, AtCall::Other)
            .and_then(|f| {
                call_rv(
                    nr::UTIMENSAT,
                    vec![Arg::Int(d), rump::path(&p), arg, Arg::Int(f)],
                )
            })
            .map(|_| 0)),
    }
}

/// futimens(2).
#[no_mangle]
pub unsafe extern "C" fn futimens(fd: c_int, times: *const libc::timespec) -> c_int {
    let real_fn = real!(futimens: fn(c_int, *const libc::timespec) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, times);
    };
    match rump_fd(fd) {
        None => real_fn(fd, times),
        // SAFETY: forwarded
        Some(r) => {
            ret(call_rv(nr::FUTIMENS, vec![Arg::Int(r), unsafe { times_arg(times) }]).map(|_| 0))
        }
    }
}

/// utimes(2) (microseconds), through utimensat.
#[no_mangle]
pub unsafe extern "C" fn utimes(path: *const c_char, tv: *const libc::timeval) -> c_int {
    if tv.is_null() {
        // SAFETY: forwarded
        return unsafe { utimensat(libc::AT_FDCWD, path, std::ptr::null(), 0) };
    }
    // SAFETY: the caller's two timevals
    let tv = unsafe { std::slice::from_raw_parts(tv, 2) };
    let ts = [0, 1].map(|i| libc::timespec {
        tv_sec: tv[i].tv_sec,
        tv_nsec: tv[i].tv_usec * 1000,
    });
    // SAFETY: forwarded
    unsafe { utimensat(libc::AT_FDCWD, path, ts.as_ptr(), 0) }
}

/// truncate(2).
#[no_mangle]
pub unsafe extern "C" fn truncate(path: *const c_char, len: i64) -> c_int {
    let real_fn = real!(truncate: fn(*const c_char, i64) -> c_int);
    // SAFETY: forwarded
    unsafe {
        path_call(
            libc::AT_FDCWD,
            path,
            || real_fn(path, len),
            |d, p| {
                if d != nb::AT_FDCWD {
                    return Err(libc::EXDEV);
                }
                call_rv(
                    nr::TRUNCATE,
                    vec![rump::path(&p), Arg::Word(0), Arg::Word(len as u64)],
                )
            },
        )
    }
}

/// truncate64(2).
#[no_mangle]
pub unsafe extern "C" fn truncate64(path: *const c_char, len: i64) -> c_int {
    // SAFETY: forwarded
    unsafe { truncate(path, len) }
}

fn rump_statvfs_path(p: &[u8]) -> Result<xvfs::Vfs, i32> {
    let rep = call(
        nr::STATVFS1,
        vec![
            rump::path(p),
            Arg::Out(xvfs::Vfs::OLD_SIZE),
            Arg::Int(ST_WAIT),
        ],
    )?;
    xvfs::decode(&rump::first_buf(rep)).ok_or(libc::EIO)
}

fn rump_statvfs_fd(r: i32) -> Result<xvfs::Vfs, i32> {
    let rep = call(
        nr::FSTATVFS1,
        vec![
            Arg::Int(r),
            Arg::Out(xvfs::Vfs::OLD_SIZE),
            Arg::Int(ST_WAIT),
        ],
    )?;
    xvfs::decode(&rump::first_buf(rep)).ok_or(libc::EIO)
}

/// Runs a statvfs/statfs hook: `fill` gets the rump answer.
fn vfs_result(r: Result<xvfs::Vfs, i32>, fill: impl FnOnce(&xvfs::Vfs)) -> c_int {
    match r {
        Ok(v) => {
            fill(&v);
            0
        }
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}

macro_rules! vfs_hooks {
    ($path_fn:ident, $fd_fn:ident, $ty:ty, $fill:path) => {
        /// A statfs/statvfs-family call.
        #[no_mangle]
        pub unsafe extern "C" fn $path_fn(path: *const c_char, out: *mut $ty) -> c_int {
            let real_fn = real!($path_fn: fn(*const c_char, *mut $ty) -> c_int);
            let Some(_g) = Guard::enter() else {
                return real_fn(path, out);
            };
            // SAFETY: forwarded
            match unsafe { route(libc::AT_FDCWD, path) } {
                Route::Rump(nb::AT_FDCWD, p) => {
                    // SAFETY: the caller's struct
                    vfs_result(rump_statvfs_path(&p), |v| $fill(v, unsafe { &mut *out }))
                }
                Route::Rump(..) => ret(Err(libc::EXDEV)),
                Route::Host => real_fn(path, out),
            }
        }

        /// A fstatfs/fstatvfs-family call.
        #[no_mangle]
        pub unsafe extern "C" fn $fd_fn(fd: c_int, out: *mut $ty) -> c_int {
            let real_fn = real!($fd_fn: fn(c_int, *mut $ty) -> c_int);
            let Some(_g) = Guard::enter() else {
                return real_fn(fd, out);
            };
            match rump_fd(fd) {
                // SAFETY: the caller's struct
                Some(r) => vfs_result(rump_statvfs_fd(r), |v| $fill(v, unsafe { &mut *out })),
                None => real_fn(fd, out),
            }
        }
    };
}

vfs_hooks!(statvfs, fstatvfs, libc::statvfs, xvfs::to_linux_statvfs);
vfs_hooks!(statvfs64, fstatvfs64, libc::statvfs, xvfs::to_linux_statvfs);
vfs_hooks!(statfs, fstatfs, libc::statfs, xvfs::to_linux_statfs);
vfs_hooks!(statfs64, fstatfs64, libc::statfs, xvfs::to_linux_statfs);

macro_rules! xattr_path {
    ($name:ident, $($a:ident: $t:ty),*) => {
        /// An xattr call: ENOTSUP on a rump path (its file systems keep none).
        #[no_mangle]
        pub unsafe extern "C" fn $name(path: *const c_char, $($a: $t),*) -> isize {
            let real_fn = real!($name: fn(*const c_char, $($t),*) -> isize);
            let Some(_g) = Guard::enter() else {
                return real_fn(path, $($a),*);
            };
            // SAFETY: forwarded
            match unsafe { route(libc::AT_FDCWD, path) } {
                Route::Host => real_fn(path, $($a),*),
                Route::Rump(..) => {
                    set_errno(libc::ENOTSUP);
                    -1
                }
            }
        }
    };
}

xattr_path!(getxattr, name: *const c_char, value: *mut c_void, size: usize);
xattr_path!(lgetxattr, name: *const c_char, value: *mut c_void, size: usize);
xattr_path!(listxattr, list: *mut c_char, size: usize);
xattr_path!(llistxattr, list: *mut c_char, size: usize);

macro_rules! xattr_fd {
    ($name:ident, $($a:ident: $t:ty),*) => {
        /// An xattr call on a descriptor: ENOTSUP on a rump descriptor.
        #[no_mangle]
        pub unsafe extern "C" fn $name(fd: c_int, $($a: $t),*) -> isize {
            let real_fn = real!($name: fn(c_int, $($t),*) -> isize);
            if rump_fd(fd).is_some() {
                set_errno(libc::ENOTSUP);
                return -1;
            }
            real_fn(fd, $($a),*)
        }
    };
}

xattr_fd!(fgetxattr, name: *const c_char, value: *mut c_void, size: usize);
xattr_fd!(flistxattr, list: *mut c_char, size: usize);

/// mkostemps(3) on a rump template: the `XXXXXX` before `suffix_len` bytes
/// are replaced (in the caller's buffer) until an O_CREAT|O_EXCL open
/// succeeds; the host versions open through glibc-internal calls.
///
/// # Safety
/// `template` is a writable NUL-terminated string.
unsafe fn do_mkostemps(template: *mut c_char, suffix_len: c_int, flags: c_int) -> c_int {
    let real_fn = real!(mkostemps: fn(*mut c_char, c_int, c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(template, suffix_len, flags);
    };
    // SAFETY: forwarded
    let Route::Rump(..) = (unsafe { route(libc::AT_FDCWD, template) }) else {
        return real_fn(template, suffix_len, flags);
    };
    // SAFETY: the caller's string
    let len = unsafe { bytes(template) }.len();
    let suffix = usize::try_from(suffix_len).unwrap_or(usize::MAX);
    if suffix > len || len - suffix < 6 {
        return ret(Err(libc::EINVAL));
    }
    let x = len - suffix - 6;
    // SAFETY: the caller's buffer of len bytes
    let t = unsafe { std::slice::from_raw_parts_mut(template.cast::<u8>(), len) };
    if &t[x..x + 6] != b"XXXXXX" {
        return ret(Err(libc::EINVAL));
    }
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for _ in 0..100 {
        let mut rnd = [0u8; 6];
        // SAFETY: a 6-byte buffer
        if unsafe { libc::getrandom(rnd.as_mut_ptr().cast(), 6, 0) } != 6 {
            return ret(Err(libc::EIO));
        }
        for (dst, r) in t[x..x + 6].iter_mut().zip(rnd) {
            *dst = CHARS[r as usize % CHARS.len()];
        }
        // SAFETY: still NUL-terminated
        let Route::Rump(d, p) = (unsafe { route(libc::AT_FDCWD, template) }) else {
            return ret(Err(libc::EINVAL));
        };
        let oflags = libc::O_RDWR
            | libc::O_CREAT
            | libc::O_EXCL
            | (flags & (libc::O_CLOEXEC | libc::O_APPEND | libc::O_SYNC));
        match crate::hooks::file::rump_openat(d, &p, oflags, 0o600) {
            Err(libc::EEXIST) => continue,
            r => return ret(r),
        }
    }
    ret(Err(libc::EEXIST))
}

/// mkstemp(3).
#[no_mangle]
pub unsafe extern "C" fn mkstemp(template: *mut c_char) -> c_int {
    // SAFETY: forwarded
    unsafe { do_mkostemps(template, 0, 0) }
}

/// mkstemp64(3).
#[no_mangle]
pub unsafe extern "C" fn mkstemp64(template: *mut c_char) -> c_int {
    // SAFETY: forwarded
    unsafe { do_mkostemps(template, 0, 0) }
}

/// mkostemp(3).
#[no_mangle]
pub unsafe extern "C" fn mkostemp(template: *mut c_char, flags: c_int) -> c_int {
    // SAFETY: forwarded
    unsafe { do_mkostemps(template, 0, flags) }
}

/// mkstemps(3).
#[no_mangle]
pub unsafe extern "C" fn mkstemps(template: *mut c_char, suffix_len: c_int) -> c_int {
    // SAFETY: forwarded
    unsafe { do_mkostemps(template, suffix_len, 0) }
}

/// mkostemps(3).
#[no_mangle]
pub unsafe extern "C" fn mkostemps(
    template: *mut c_char,
    suffix_len: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: forwarded
    unsafe { do_mkostemps(template, suffix_len, flags) }
}

/// `__xstat` (what binaries built against glibc before 2.33 call for stat).
#[no_mangle]
pub unsafe extern "C" fn __xstat(_ver: c_int, path: *const c_char, out: *mut libc::stat) -> c_int {
    // SAFETY: forwarded
    unsafe { do_fstatat(libc::AT_FDCWD, path, out, 0) }
}

/// `__xstat64`.
#[no_mangle]
pub unsafe extern "C" fn __xstat64(
    _ver: c_int,
    path: *const c_char,
    out: *mut libc::stat,
) -> c_int {
    // SAFETY: forwarded
    unsafe { do_fstatat(libc::AT_FDCWD, path, out, 0) }
}

/// `__lxstat`.
#[no_mangle]
pub unsafe extern "C" fn __lxstat(_ver: c_int, path: *const c_char, out: *mut libc::stat) -> c_int {
    // SAFETY: forwarded
    unsafe { do_fstatat(libc::AT_FDCWD, path, out, libc::AT_SYMLINK_NOFOLLOW) }
}

/// `__lxstat64`.
#[no_mangle]
pub unsafe extern "C" fn __lxstat64(
    _ver: c_int,
    path: *const c_char,
    out: *mut libc::stat,
) -> c_int {
    // SAFETY: forwarded
    unsafe { do_fstatat(libc::AT_FDCWD, path, out, libc::AT_SYMLINK_NOFOLLOW) }
}

/// `__fxstat`.
#[no_mangle]
pub unsafe extern "C" fn __fxstat(_ver: c_int, fd: c_int, out: *mut libc::stat) -> c_int {
    // SAFETY: forwarded
    unsafe { fstat(fd, out) }
}

/// `__fxstat64`.
#[no_mangle]
pub unsafe extern "C" fn __fxstat64(_ver: c_int, fd: c_int, out: *mut libc::stat) -> c_int {
    // SAFETY: forwarded
    unsafe { fstat(fd, out) }
}

/// `__fxstatat`.
#[no_mangle]
pub unsafe extern "C" fn __fxstatat(
    _ver: c_int,
    dirfd: c_int,
    path: *const c_char,
    out: *mut libc::stat,
    flags: c_int,
) -> c_int {
    // SAFETY: forwarded
    unsafe { do_fstatat(dirfd, path, out, flags) }
}

/// `__fxstatat64`.
#[no_mangle]
pub unsafe extern "C" fn __fxstatat64(
    _ver: c_int,
    dirfd: c_int,
    path: *const c_char,
    out: *mut libc::stat,
    flags: c_int,
) -> c_int {
    // SAFETY: forwarded
    unsafe { do_fstatat(dirfd, path, out, flags) }
}
