//! Sockets of the routed domains (`RUMPHIJACK=socket=…`) live in the rump
//! kernel: `socket`/`socketpair` make them there and give them host numbers
//! as rump files get; every socket call on such a number (bind, connect,
//! listen, accept, accept4, names, options, the send and receive family,
//! shutdown) goes to the rump kernel with its addresses, flags and options
//! translated (`xlate::sockaddr`, `xlate::socket`). Sockets of the other
//! domains, and calls on host descriptors, go to the host unchanged.
//!
//! sendmsg/recvmsg are served through sendto/recvfrom (the vectors gathered
//! and scattered here): ancillary data is not carried (sendmsg with control
//! data is EOPNOTSUPP; recvmsg returns msg_controllen 0).

use std::os::raw::{c_int, c_void};

use rumpsp_protocol::client::Arg;

use super::{config, install, ret, rump_fd, set_errno, Guard};
use crate::real;
use crate::rump::{self, call, call_rv, nr};
use crate::xlate::sockaddr;
use crate::xlate::socket::{self as xs, nb, Opt};

/// Largest transfer in one rump call.
const CHUNK: usize = 1 << 20;
/// Room for any NetBSD socket address the kernel returns (sa_len is a byte).
const NAME_ROOM: usize = 256;
/// Largest datagram sendmsg gathers.
const MAX_MSG: usize = 16 << 20;

type Socklen = libc::socklen_t;

/// The caller's address bytes.
///
/// # Safety
/// `addr` is NULL or points at `len` bytes.
unsafe fn addr_bytes<'a>(addr: *const libc::sockaddr, len: Socklen) -> Result<&'a [u8], i32> {
    if len as usize > sockaddr::LINUX_MAX_ADDR {
        return Err(libc::EINVAL);
    }
    if addr.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: the caller's buffer of len (at most 128) bytes
    Ok(unsafe { std::slice::from_raw_parts(addr.cast::<u8>(), len as usize) })
}

/// Writes a NetBSD address into the caller's (addr, *lenp) as Linux does:
/// at most *lenp bytes, *lenp set to the full length.
///
/// # Safety
/// `addr` NULL or writable for `*lenp` bytes; `lenp` NULL or valid.
unsafe fn put_name(n: &[u8], addr: *mut libc::sockaddr, lenp: *mut Socklen) {
    if addr.is_null() || lenp.is_null() {
        return;
    }
    let l = sockaddr::to_linux(n);
    // SAFETY: the caller's length
    let room = unsafe { *lenp } as usize;
    let k = room.min(l.len());
    // SAFETY: the caller's buffer holds room >= k bytes
    unsafe {
        std::ptr::copy_nonoverlapping(l.as_ptr(), addr.cast::<u8>(), k);
        *lenp = l.len() as Socklen;
    }
}

/// The name arguments (buffer, length) of accept/getsockname/recvfrom.
fn name_args(want: bool) -> [Arg; 2] {
    if want {
        [
            Arg::Out(NAME_ROOM),
            Arg::InOut((NAME_ROOM as u32).to_le_bytes().to_vec()),
        ]
    } else {
        [Arg::Null, Arg::Null]
    }
}

/// The NetBSD address of a reply whose name buffers are at `first` and `first + 1`.
fn name_of(bufs: &[Vec<u8>], first: usize) -> Vec<u8> {
    let Some(b) = bufs.get(first) else {
        return Vec::new();
    };
    let len = bufs
        .get(first + 1)
        .and_then(|l| l.get(..4))
        .and_then(|l| l.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0) as usize;
    b[..len.min(b.len())].to_vec()
}

fn rump_socket(domain: c_int, ty: c_int, proto: c_int) -> Result<i64, i32> {
    let nd = xs::domain_to_netbsd(domain).ok_or(libc::EAFNOSUPPORT)?;
    let nt = xs::type_to_netbsd(ty)?;
    let r = call_rv(
        nr::SOCKET,
        vec![Arg::Int(nd), Arg::Int(nt), Arg::Int(proto)],
    )?;
    install_socket(r as i32, ty & libc::SOCK_CLOEXEC != 0)
}

/// socket(2): a socket of a routed domain is made in the rump kernel.
#[no_mangle]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, proto: c_int) -> c_int {
    let real_fn = real!(socket: fn(c_int, c_int, c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(domain, ty, proto);
    };
    if !config().sockets.routes(domain) {
        return real_fn(domain, ty, proto);
    }
    ret(rump_socket(domain, ty, proto))
}

/// socketpair(2): AF_UNIX pairs are the rump kernel's when `local` is routed.
#[no_mangle]
pub unsafe extern "C" fn socketpair(
    domain: c_int,
    ty: c_int,
    proto: c_int,
    sv: *mut c_int,
) -> c_int {
    let real_fn = real!(socketpair: fn(c_int, c_int, c_int, *mut c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(domain, ty, proto, sv);
    };
    if !config().sockets.routes(domain) {
        return real_fn(domain, ty, proto, sv);
    }
    if sv.is_null() {
        set_errno(libc::EFAULT);
        return -1;
    }
    let res = (|| {
        let nd = xs::domain_to_netbsd(domain).ok_or(libc::EAFNOSUPPORT)?;
        let nt = xs::type_to_netbsd(ty)?;
        let rep = call(
            nr::SOCKETPAIR,
            vec![Arg::Int(nd), Arg::Int(nt), Arg::Int(proto), Arg::Out(8)],
        )?;
        let b = rump::first_buf(rep);
        if b.len() < 8 {
            return Err(libc::EIO);
        }
        let a = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let c = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        let cloexec = ty & libc::SOCK_CLOEXEC != 0;
        let ha = match install_socket(a, cloexec) {
            Ok(h) => h,
            Err(e) => {
                let _ = call(nr::CLOSE, vec![Arg::Int(c)]);
                return Err(e);
            }
        };
        let hc = install_socket(c, cloexec)?;
        // SAFETY: the caller's two-int array
        unsafe {
            *sv = ha as c_int;
            *sv.add(1) = hc as c_int;
        }
        Ok(0)
    })();
    ret(res)
}

macro_rules! addr_call {
    ($(#[$m:meta])* $name:ident, $nr:expr) => {
        $(#[$m])*
        #[no_mangle]
        pub unsafe extern "C" fn $name(
            fd: c_int,
            addr: *const libc::sockaddr,
            len: Socklen,
        ) -> c_int {
            let real_fn = real!($name: fn(c_int, *const libc::sockaddr, Socklen) -> c_int);
            let Some(_g) = Guard::enter() else {
                return real_fn(fd, addr, len);
            };
            let Some(r) = rump_fd(fd) else {
                return real_fn(fd, addr, len);
            };
            // SAFETY: the caller's address
            let res = unsafe { addr_bytes(addr, len) }
                .and_then(sockaddr::to_netbsd)
                .and_then(|n| {
                    let l = n.len() as i32;
                    call($nr, vec![Arg::Int(r), Arg::In(n), Arg::Int(l)]).map(|_| 0)
                });
            ret(res)
        }
    };
}

addr_call!(
    /// bind(2).
    bind, nr::BIND
);
addr_call!(
    /// connect(2): a non-blocking socket answers EINPROGRESS, then poll and SO_ERROR.
    connect, nr::CONNECT
);

/// listen(2).
#[no_mangle]
pub unsafe extern "C" fn listen(fd: c_int, backlog: c_int) -> c_int {
    let real_fn = real!(listen: fn(c_int, c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, backlog);
    };
    match rump_fd(fd) {
        None => real_fn(fd, backlog),
        Some(r) => ret(call(nr::LISTEN, vec![Arg::Int(r), Arg::Int(backlog)]).map(|_| 0)),
    }
}

/// shutdown(2) (SHUT_RD/WR/RDWR have the same numbers).
#[no_mangle]
pub unsafe extern "C" fn shutdown(fd: c_int, how: c_int) -> c_int {
    let real_fn = real!(shutdown: fn(c_int, c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, how);
    };
    match rump_fd(fd) {
        None => real_fn(fd, how),
        Some(r) => ret(call(nr::SHUTDOWN, vec![Arg::Int(r), Arg::Int(how)]).map(|_| 0)),
    }
}

/// accept on a rump socket (`flags`: accept4's, through paccept).
///
/// # Safety
/// As accept4(2).
unsafe fn rump_accept(
    r: i32,
    addr: *mut libc::sockaddr,
    lenp: *mut Socklen,
    flags: Option<c_int>,
) -> Result<i64, i32> {
    let want = !addr.is_null() && !lenp.is_null();
    let [a, b] = name_args(want);
    let rep = match flags {
        None => call(nr::ACCEPT, vec![Arg::Int(r), a, b])?,
        Some(f) => {
            let nf = xs::accept_flags_to_netbsd(f)?;
            call(
                nr::PACCEPT,
                vec![Arg::Int(r), a, b, Arg::Null, Arg::Int(nf)],
            )?
        }
    };
    let nfd = rep.retval[0] as i32;
    if want {
        // SAFETY: the caller's name buffer
        unsafe { put_name(&name_of(&rep.buffers, 0), addr, lenp) };
    }
    install_socket(nfd, flags.is_some_and(|f| f & libc::SOCK_CLOEXEC != 0))
}

/// accept(2).
#[no_mangle]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut libc::sockaddr, lenp: *mut Socklen) -> c_int {
    let real_fn = real!(accept: fn(c_int, *mut libc::sockaddr, *mut Socklen) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, addr, lenp);
    };
    match rump_fd(fd) {
        None => real_fn(fd, addr, lenp),
        // SAFETY: forwarded
        Some(r) => ret(unsafe { rump_accept(r, addr, lenp, None) }),
    }
}

/// accept4(2): SOCK_NONBLOCK/SOCK_CLOEXEC become paccept's flags.
#[no_mangle]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut libc::sockaddr,
    lenp: *mut Socklen,
    flags: c_int,
) -> c_int {
    let real_fn = real!(accept4: fn(c_int, *mut libc::sockaddr, *mut Socklen, c_int) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, addr, lenp, flags);
    };
    match rump_fd(fd) {
        None => real_fn(fd, addr, lenp, flags),
        // SAFETY: forwarded
        Some(r) => ret(unsafe { rump_accept(r, addr, lenp, Some(flags)) }),
    }
}

macro_rules! name_call {
    ($(#[$m:meta])* $name:ident, $nr:expr) => {
        $(#[$m])*
        #[no_mangle]
        pub unsafe extern "C" fn $name(
            fd: c_int,
            addr: *mut libc::sockaddr,
            lenp: *mut Socklen,
        ) -> c_int {
            let real_fn = real!($name: fn(c_int, *mut libc::sockaddr, *mut Socklen) -> c_int);
            let Some(_g) = Guard::enter() else {
                return real_fn(fd, addr, lenp);
            };
            let Some(r) = rump_fd(fd) else {
                return real_fn(fd, addr, lenp);
            };
            if addr.is_null() || lenp.is_null() {
                set_errno(libc::EFAULT);
                return -1;
            }
            let [a, b] = name_args(true);
            let res = call($nr, vec![Arg::Int(r), a, b]).map(|rep| {
                // SAFETY: the caller's buffer and length
                unsafe { put_name(&name_of(&rep.buffers, 0), addr, lenp) };
                0
            });
            ret(res)
        }
    };
}

name_call!(
    /// getsockname(2).
    getsockname, nr::GETSOCKNAME
);
name_call!(
    /// getpeername(2).
    getpeername, nr::GETPEERNAME
);

/// The socket's NetBSD address family (for SO_DOMAIN).
fn family_of(r: i32) -> Result<u8, i32> {
    let [a, b] = name_args(true);
    let rep = call(nr::GETSOCKNAME, vec![Arg::Int(r), a, b])?;
    Ok(name_of(&rep.buffers, 0).get(1).copied().unwrap_or(0))
}

fn int_opt(r: i32, level: i32, name: i32) -> Result<i32, i32> {
    let rep = call(
        nr::GETSOCKOPT,
        vec![
            Arg::Int(r),
            Arg::Int(level),
            Arg::Int(name),
            Arg::Out(4),
            Arg::InOut(4u32.to_le_bytes().to_vec()),
        ],
    )?;
    let b = rump::first_buf(rep);
    Ok(b.get(..4)
        .and_then(|b| b.try_into().ok())
        .map(i32::from_le_bytes)
        .unwrap_or(0))
}

/// getsockopt on a rump socket.
///
/// # Safety
/// As getsockopt(2).
unsafe fn rump_getsockopt(
    r: i32,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    lenp: *mut Socklen,
) -> Result<i64, i32> {
    if val.is_null() || lenp.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: the caller's length
    let room = unsafe { *lenp } as usize;
    let out = match xs::sockopt_to_netbsd(level, name)? {
        Opt::Domain => xs::domain_to_linux(family_of(r)?).to_le_bytes().to_vec(),
        Opt::Protocol => {
            let ty = int_opt(r, nb::SOL_SOCKET, nb::SO_TYPE)?;
            let fam = family_of(r)?;
            let p = match (fam, ty) {
                (nb::AF_INET | nb::AF_INET6, 1) => libc::IPPROTO_TCP,
                (nb::AF_INET | nb::AF_INET6, 2) => libc::IPPROTO_UDP,
                _ => 0,
            };
            p.to_le_bytes().to_vec()
        }
        Opt::Mapped(nl, nn, v) => {
            let nlen = xs::optlen_to_netbsd(v, room).min(4096);
            let rep = call(
                nr::GETSOCKOPT,
                vec![
                    Arg::Int(r),
                    Arg::Int(nl),
                    Arg::Int(nn),
                    Arg::Out(nlen),
                    Arg::InOut((nlen as u32).to_le_bytes().to_vec()),
                ],
            )?;
            let got = name_of(&rep.buffers, 0);
            xs::optval_to_linux(v, &got)
        }
    };
    let k = room.min(out.len());
    // SAFETY: the caller's buffer of room >= k bytes
    unsafe {
        std::ptr::copy_nonoverlapping(out.as_ptr(), val.cast::<u8>(), k);
        *lenp = k as Socklen;
    }
    Ok(0)
}

/// getsockopt(2): Linux levels and names translated; an option NetBSD has
/// no counterpart for is ENOPROTOOPT.
#[no_mangle]
pub unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    lenp: *mut Socklen,
) -> c_int {
    let real_fn = real!(getsockopt: fn(c_int, c_int, c_int, *mut c_void, *mut Socklen) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, level, name, val, lenp);
    };
    match rump_fd(fd) {
        None => real_fn(fd, level, name, val, lenp),
        // SAFETY: forwarded
        Some(r) => ret(unsafe { rump_getsockopt(r, level, name, val, lenp) }),
    }
}

/// setsockopt(2), translated as getsockopt.
#[no_mangle]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: Socklen,
) -> c_int {
    let real_fn = real!(setsockopt: fn(c_int, c_int, c_int, *const c_void, Socklen) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, level, name, val, len);
    };
    let Some(r) = rump_fd(fd) else {
        return real_fn(fd, level, name, val, len);
    };
    let res = (|| {
        let Opt::Mapped(nl, nn, v) = xs::sockopt_to_netbsd(level, name)? else {
            return Err(libc::ENOPROTOOPT); // SO_DOMAIN, SO_PROTOCOL are read-only
        };
        if val.is_null() {
            return Err(libc::EFAULT);
        }
        // every option served is an int, a struct linger or a timeval
        if !(4..=64).contains(&len) {
            return Err(libc::EINVAL);
        }
        // SAFETY: the caller's value of len bytes
        let l = unsafe { std::slice::from_raw_parts(val.cast::<u8>(), len as usize) };
        let n = xs::optval_to_netbsd(v, l)?;
        let nlen = n.len() as i32;
        call(
            nr::SETSOCKOPT,
            vec![
                Arg::Int(r),
                Arg::Int(nl),
                Arg::Int(nn),
                Arg::In(n),
                Arg::Int(nlen),
            ],
        )
        .map(|_| 0)
    })();
    ret(res)
}

/// Whether host number `h` (rump descriptor `r`) is a socket: known for
/// the sockets made here, else asked once (fstat) and remembered.
pub fn is_socket(h: c_int, r: i32) -> bool {
    if let Some(&k) = crate::state::lock().is_socket.get(&h) {
        return k;
    }
    let k = call(nr::FSTAT, vec![Arg::Int(r), Arg::Out(152)])
        .ok()
        .and_then(|rep| rumpsp_protocol::netbsd::StatBuf::decode(&rump::first_buf(rep)))
        .is_some_and(|st| st.mode & 0o170_000 == 0o140_000);
    let mut st = crate::state::lock();
    if st.fds.get(&h) == Some(&r) {
        st.is_socket.insert(h, k);
    }
    k
}

/// `install` for a rump socket (remembered as one).
fn install_socket(r: i32, cloexec: bool) -> Result<i64, i32> {
    let h = install(r, cloexec)?;
    crate::state::lock().is_socket.insert(h as c_int, true);
    Ok(h)
}

/// One NetBSD sendto of `data` with the caller's flags (the rump kernel
/// blocks a blocking send itself, honouring SO_SNDTIMEO).
fn sendto_once(r: i32, data: &[u8], nflags: i32, to: &Option<Vec<u8>>) -> Result<usize, i32> {
    let (a, al) = match to {
        Some(t) => (Arg::In(t.clone()), Arg::Int(t.len() as i32)),
        None => (Arg::Null, Arg::Int(0)),
    };
    call_rv(
        nr::SENDTO,
        vec![
            Arg::Int(r),
            Arg::In(data.to_vec()),
            Arg::Word(data.len() as u64),
            Arg::Int(nflags),
            a,
            al,
        ],
    )
    .map(|w| (w.max(0) as usize).min(data.len()))
}

/// sendto on a rump socket: a datagram (to an address) in one piece, a
/// stream in pieces of at most [`CHUNK`] bytes (so one call's memory stays
/// bounded), each sent as the caller asked; a piece that goes short (a
/// non-blocking socket or MSG_DONTWAIT, a send timeout) ends the call with
/// what was sent, as does an error after some data went.
///
/// # Safety
/// `buf` holds `n` bytes.
pub unsafe fn rump_sendto(
    r: i32,
    buf: *const c_void,
    n: usize,
    flags: c_int,
    to: Option<Vec<u8>>,
) -> Result<i64, i32> {
    let nf = xs::msg_to_netbsd(flags)?;
    if buf.is_null() && n > 0 {
        return Err(libc::EFAULT);
    }
    let data: &[u8] = if n == 0 {
        &[]
    } else {
        // SAFETY: the caller's buffer of n bytes
        unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), n) }
    };
    if to.is_some() {
        return sendto_once(r, data, nf, &to).map(|w| w as i64);
    }
    let mut done = 0usize;
    loop {
        let len = (n - done).min(CHUNK);
        match sendto_once(r, &data[done..done + len], nf, &None) {
            Ok(w) => {
                done += w;
                if done >= n || w < len {
                    return Ok(done as i64);
                }
            }
            Err(_) if done > 0 => return Ok(done as i64),
            Err(e) => return Err(e),
        }
    }
}

/// recvfrom on a rump socket: at most one chunk.
///
/// # Safety
/// `buf` is writable for `n` bytes; `addr`/`lenp` as recvfrom(2).
unsafe fn rump_recvfrom(
    r: i32,
    buf: *mut c_void,
    n: usize,
    flags: c_int,
    addr: *mut libc::sockaddr,
    lenp: *mut Socklen,
) -> Result<i64, i32> {
    let nf = xs::msg_to_netbsd(flags)?;
    if buf.is_null() && n > 0 {
        return Err(libc::EFAULT);
    }
    let n = n.min(CHUNK);
    let want = !addr.is_null() && !lenp.is_null();
    let [a, b] = name_args(want);
    let rep = call(
        nr::RECVFROM,
        vec![
            Arg::Int(r),
            Arg::Out(n),
            Arg::Word(n as u64),
            Arg::Int(nf),
            a,
            b,
        ],
    )?;
    let got = (rep.retval[0].max(0) as usize).min(n);
    if let Some(data) = rep.buffers.first() {
        // SAFETY: the caller's buffer holds n >= got bytes
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf.cast(), got.min(data.len())) };
    }
    if want {
        // SAFETY: the caller's name buffer
        unsafe { put_name(&name_of(&rep.buffers, 1), addr, lenp) };
    }
    Ok(got as i64)
}

/// send(2).
#[no_mangle]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, n: usize, flags: c_int) -> isize {
    let real_fn = real!(send: fn(c_int, *const c_void, usize, c_int) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, buf, n, flags);
    };
    match rump_fd(fd) {
        None => real_fn(fd, buf, n, flags),
        // SAFETY: forwarded
        Some(r) => ret(unsafe { rump_sendto(r, buf, n, flags, None) }),
    }
}

/// sendto(2).
#[no_mangle]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    n: usize,
    flags: c_int,
    to: *const libc::sockaddr,
    tolen: Socklen,
) -> isize {
    let real_fn = real!(sendto: fn(c_int, *const c_void, usize, c_int, *const libc::sockaddr, Socklen) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, buf, n, flags, to, tolen);
    };
    let Some(r) = rump_fd(fd) else {
        return real_fn(fd, buf, n, flags, to, tolen);
    };
    let to = if to.is_null() {
        Ok(None)
    } else {
        // SAFETY: the caller's address
        unsafe { addr_bytes(to, tolen) }
            .and_then(sockaddr::to_netbsd)
            .map(Some)
    };
    // SAFETY: forwarded
    ret(to.and_then(|t| unsafe { rump_sendto(r, buf, n, flags, t) }))
}

/// recv(2).
#[no_mangle]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, n: usize, flags: c_int) -> isize {
    let real_fn = real!(recv: fn(c_int, *mut c_void, usize, c_int) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, buf, n, flags);
    };
    match rump_fd(fd) {
        None => real_fn(fd, buf, n, flags),
        Some(r) => ret(unsafe {
            // SAFETY: forwarded
            rump_recvfrom(r, buf, n, flags, std::ptr::null_mut(), std::ptr::null_mut())
        }),
    }
}

/// The fortified recv.
#[no_mangle]
pub unsafe extern "C" fn __recv_chk(
    fd: c_int,
    buf: *mut c_void,
    n: usize,
    _buflen: usize,
    flags: c_int,
) -> isize {
    // SAFETY: forwarded
    unsafe { recv(fd, buf, n, flags) }
}

/// recvfrom(2).
#[no_mangle]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    n: usize,
    flags: c_int,
    addr: *mut libc::sockaddr,
    lenp: *mut Socklen,
) -> isize {
    let real_fn = real!(recvfrom: fn(c_int, *mut c_void, usize, c_int, *mut libc::sockaddr, *mut Socklen) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, buf, n, flags, addr, lenp);
    };
    match rump_fd(fd) {
        None => real_fn(fd, buf, n, flags, addr, lenp),
        // SAFETY: forwarded
        Some(r) => ret(unsafe { rump_recvfrom(r, buf, n, flags, addr, lenp) }),
    }
}

/// The fortified recvfrom.
#[no_mangle]
pub unsafe extern "C" fn __recvfrom_chk(
    fd: c_int,
    buf: *mut c_void,
    n: usize,
    _buflen: usize,
    flags: c_int,
    addr: *mut libc::sockaddr,
    lenp: *mut Socklen,
) -> isize {
    // SAFETY: forwarded
    unsafe { recvfrom(fd, buf, n, flags, addr, lenp) }
}

/// The caller's iovecs.
///
/// # Safety
/// `m` is a valid msghdr.
unsafe fn iovecs<'a>(m: &libc::msghdr) -> Result<&'a [libc::iovec], i32> {
    if m.msg_iovlen == 0 {
        return Ok(&[]);
    }
    if m.msg_iov.is_null() || m.msg_iovlen > 1024 {
        return Err(if m.msg_iov.is_null() {
            libc::EFAULT
        } else {
            libc::EMSGSIZE
        });
    }
    // SAFETY: the caller's array
    Ok(unsafe { std::slice::from_raw_parts(m.msg_iov, m.msg_iovlen) })
}

/// sendmsg(2): the vectors gathered into one sendto (no ancillary data).
#[no_mangle]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const libc::msghdr, flags: c_int) -> isize {
    let real_fn = real!(sendmsg: fn(c_int, *const libc::msghdr, c_int) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, msg, flags);
    };
    let Some(r) = rump_fd(fd) else {
        return real_fn(fd, msg, flags);
    };
    let res = (|| {
        if msg.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: the caller's msghdr
        let m = unsafe { &*msg };
        if m.msg_controllen > 0 && !m.msg_control.is_null() {
            return Err(libc::EOPNOTSUPP);
        }
        // SAFETY: the caller's iovecs
        let iov = unsafe { iovecs(m) }?;
        let total: usize = iov.iter().map(|v| v.iov_len).sum();
        if total > MAX_MSG {
            return Err(libc::EMSGSIZE);
        }
        let mut data = Vec::with_capacity(total);
        for v in iov {
            if v.iov_len > 0 {
                // SAFETY: the caller's buffer
                data.extend_from_slice(unsafe {
                    std::slice::from_raw_parts(v.iov_base.cast::<u8>(), v.iov_len)
                });
            }
        }
        let to = if m.msg_name.is_null() || m.msg_namelen == 0 {
            None
        } else {
            // SAFETY: the caller's address
            Some(sockaddr::to_netbsd(unsafe {
                addr_bytes(m.msg_name.cast(), m.msg_namelen)
            }?)?)
        };
        // SAFETY: our buffer
        unsafe { rump_sendto(r, data.as_ptr().cast(), data.len(), flags, to) }
    })();
    ret(res)
}

/// recvmsg(2): one recvfrom scattered over the vectors (no ancillary data:
/// msg_controllen comes back 0).
#[no_mangle]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut libc::msghdr, flags: c_int) -> isize {
    let real_fn = real!(recvmsg: fn(c_int, *mut libc::msghdr, c_int) -> isize);
    let Some(_g) = Guard::enter() else {
        return real_fn(fd, msg, flags);
    };
    let Some(r) = rump_fd(fd) else {
        return real_fn(fd, msg, flags);
    };
    let res = (|| {
        if msg.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: the caller's msghdr
        let m = unsafe { &mut *msg };
        // SAFETY: the caller's iovecs
        let iov = unsafe { iovecs(m) }?;
        let total: usize = iov.iter().map(|v| v.iov_len).sum::<usize>().min(CHUNK);
        let mut data = vec![0u8; total];
        let mut name = [0u8; 128];
        let want = !m.msg_name.is_null();
        let mut nlen = name.len() as Socklen;
        let (np, lp): (*mut libc::sockaddr, *mut Socklen) = if want {
            (name.as_mut_ptr().cast(), &mut nlen)
        } else {
            (std::ptr::null_mut(), std::ptr::null_mut())
        };
        // SAFETY: our buffers
        let got =
            unsafe { rump_recvfrom(r, data.as_mut_ptr().cast(), total, flags, np, lp) }? as usize;
        let mut off = 0usize;
        for v in iov {
            if off >= got {
                break;
            }
            let k = v.iov_len.min(got - off);
            // SAFETY: the caller's buffer of iov_len >= k bytes
            unsafe { std::ptr::copy_nonoverlapping(data[off..].as_ptr(), v.iov_base.cast(), k) };
            off += k;
        }
        if want {
            let k = (nlen as usize).min(m.msg_namelen as usize).min(name.len());
            // SAFETY: the caller's name buffer of msg_namelen >= k bytes
            unsafe { std::ptr::copy_nonoverlapping(name.as_ptr(), m.msg_name.cast(), k) };
            m.msg_namelen = nlen;
        }
        m.msg_controllen = 0;
        m.msg_flags = 0;
        Ok(got as i64)
    })();
    ret(res)
}

/// FIONBIO and FIONREAD on a rump socket (the only ioctls translated
/// besides FIOCLEX/FIONCLEX: their Linux and NetBSD encodings differ).
///
/// # Safety
/// `arg` points at an int.
pub unsafe fn rump_ioctl(
    r: i32,
    req: libc::c_ulong,
    arg: libc::c_ulong,
) -> Option<Result<i64, i32>> {
    let p = arg as *mut c_int;
    match req {
        libc::FIONBIO => Some((|| {
            if p.is_null() {
                return Err(libc::EFAULT);
            }
            // SAFETY: the caller's int
            let v = unsafe { *p };
            call(
                nr::IOCTL,
                vec![
                    Arg::Int(r),
                    Arg::Word(nb::FIONBIO),
                    Arg::In(v.to_le_bytes().to_vec()),
                ],
            )
            .map(|_| 0)
        })()),
        libc::FIONREAD => Some((|| {
            if p.is_null() {
                return Err(libc::EFAULT);
            }
            let rep = call(
                nr::IOCTL,
                vec![Arg::Int(r), Arg::Word(nb::FIONREAD), Arg::Out(4)],
            )?;
            let b = rump::first_buf(rep);
            let v = b
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .map(i32::from_le_bytes)
                .unwrap_or(0);
            // SAFETY: the caller's int
            unsafe { *p = v };
            Ok(0)
        })()),
        _ => None,
    }
}

/// epoll_ctl(2): a rump descriptor cannot be watched by a host epoll
/// (EPERM, what Linux answers for a descriptor epoll does not support).
#[no_mangle]
pub unsafe extern "C" fn epoll_ctl(
    epfd: c_int,
    op: c_int,
    fd: c_int,
    ev: *mut libc::epoll_event,
) -> c_int {
    let real_fn = real!(epoll_ctl: fn(c_int, c_int, c_int, *mut libc::epoll_event) -> c_int);
    let Some(_g) = Guard::enter() else {
        return real_fn(epfd, op, fd, ev);
    };
    if rump_fd(fd).is_some() && op != libc::EPOLL_CTL_DEL {
        set_errno(libc::EPERM);
        return -1;
    }
    real_fn(epfd, op, fd, ev)
}
