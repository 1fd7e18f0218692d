//! The current directory: chdir/fchdir into rump paths and getcwd there
//! (the prefix is put back in front of the rump kernel's answer).

use std::os::raw::{c_char, c_int};

use rumpsp_protocol::client::Arg;

use super::{config, ret, route, rump_fd, set_errno, Guard, Route};
use crate::real;
use crate::rump::{self, call, call_rv, nr};
use crate::state;

/// chdir(2): into the rump kernel for a rump path (relative paths then go
/// there), to the host otherwise.
#[no_mangle]
pub unsafe extern "C" fn chdir(path: *const c_char) -> c_int {
    let real_fn = real!(chdir: fn(*const c_char) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(path);
    };
    // SAFETY: forwarded
    match unsafe { route(libc::AT_FDCWD, path) } {
        Route::Host => {
            let r = real_fn(path);
            if r == 0 {
                state::lock().cwd_in_rump = false;
            }
            r
        }
        Route::Rump(d, p) => {
            if d != libc::AT_FDCWD {
                return ret(Err(libc::EXDEV));
            }
            let r = call_rv(nr::CHDIR, vec![rump::path(&p)]);
            if r.is_ok() {
                state::lock().cwd_in_rump = true;
            }
            ret(r.map(|_| 0))
        }
    }
}

/// fchdir(2).
#[no_mangle]
pub unsafe extern "C" fn fchdir(fd: c_int) -> c_int {
    let real_fn = real!(fchdir: fn(c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd);
    };
    match rump_fd(fd) {
        None => {
            let r = real_fn(fd);
            if r == 0 {
                state::lock().cwd_in_rump = false;
            }
            r
        }
        Some(r) => {
            let res = call_rv(nr::FCHDIR, vec![Arg::Int(r)]);
            if res.is_ok() {
                state::lock().cwd_in_rump = true;
            }
            ret(res.map(|_| 0))
        }
    }
}

/// The rump kernel's current directory with the prefix in front.
fn rump_cwd() -> Result<Vec<u8>, i32> {
    const MAX: usize = 4096;
    let rep = call(nr::GETCWD, vec![Arg::Out(MAX), Arg::Word(MAX as u64)])?;
    let b = rump::first_buf(rep);
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let mut out = config().prefix.clone();
    if &b[..end] != b"/" {
        out.extend_from_slice(&b[..end]);
    }
    Ok(out)
}

/// getcwd(3).
#[no_mangle]
pub unsafe extern "C" fn getcwd(buf: *mut c_char, size: usize) -> *mut c_char {
    let real_fn = real!(getcwd: fn(*mut c_char, usize) -> *mut c_char);
    let Some(_g) = Guard::enter() else {
        return real_fn(buf, size);
    };
    if !state::lock().cwd_in_rump {
        return real_fn(buf, size);
    }
    let cwd = match rump_cwd() {
        Ok(c) => c,
        Err(e) => {
            set_errno(e);
            return std::ptr::null_mut();
        }
    };
    let need = cwd.len() + 1;
    let out = if buf.is_null() {
        let n = if size == 0 { need } else { size };
        if n < need {
            set_errno(libc::ERANGE);
            return std::ptr::null_mut();
        }
        // SAFETY: malloc'd for the caller, who frees it
        let p = unsafe { libc::malloc(n) }.cast::<c_char>();
        if p.is_null() {
            set_errno(libc::ENOMEM);
            return p;
        }
        p
    } else {
        if size < need {
            set_errno(libc::ERANGE);
            return std::ptr::null_mut();
        }
        buf
    };
    // SAFETY: out holds at least need bytes
    unsafe {
        std::ptr::copy_nonoverlapping(cwd.as_ptr(), out.cast::<u8>(), cwd.len());
        *out.add(cwd.len()) = 0;
    }
    out
}

/// get_current_dir_name(3).
#[no_mangle]
pub unsafe extern "C" fn get_current_dir_name() -> *mut c_char {
    // SAFETY: forwarded
    unsafe { getcwd(std::ptr::null_mut(), 0) }
}
