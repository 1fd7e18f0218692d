//! Calls into the rump kernel: the connection is made on first use (GUEST
//! handshake to `RUMP_SERVER`), NetBSD errno values come back as Linux ones,
//! and a broken connection makes every later call fail with EIO (after one
//! message on standard error), never fall back to the host.

use std::sync::Arc;

use rumpsp_protocol::client::Arg;

use crate::conn::{CallError, Conn, Reply};
use crate::state::{self, State};
use crate::xlate::errno;

/// NetBSD syscall numbers used here.
pub mod nr {
    #![allow(missing_docs)]
    pub const READ: u32 = 3;
    pub const WRITE: u32 = 4;
    pub const CLOSE: u32 = 6;
    pub const LINK: u32 = 9;
    pub const CHDIR: u32 = 12;
    pub const FCHDIR: u32 = 13;
    pub const CHMOD: u32 = 15;
    pub const CHOWN: u32 = 16;
    pub const UMASK: u32 = 60;
    pub const DUP: u32 = 41;
    pub const DUP2: u32 = 90;
    pub const FCNTL: u32 = 92;
    pub const FSYNC: u32 = 95;
    pub const READV: u32 = 120;
    pub const WRITEV: u32 = 121;
    pub const FCHOWN: u32 = 123;
    pub const FCHMOD: u32 = 124;
    pub const RENAME: u32 = 128;
    pub const PREAD: u32 = 173;
    pub const PWRITE: u32 = 174;
    pub const LSEEK: u32 = 199;
    pub const TRUNCATE: u32 = 200;
    pub const FTRUNCATE: u32 = 201;
    pub const FDATASYNC: u32 = 241;
    pub const GETCWD: u32 = 296;
    pub const STATVFS1: u32 = 357;
    pub const FSTATVFS1: u32 = 358;
    pub const GETDENTS: u32 = 390;
    pub const FSTAT: u32 = 440;
    pub const DUP3: u32 = 454;
    pub const LINKAT: u32 = 457;
    pub const RENAMEAT: u32 = 458;
    pub const MKDIRAT: u32 = 461;
    pub const FACCESSAT: u32 = 462;
    pub const FCHMODAT: u32 = 463;
    pub const FCHOWNAT: u32 = 464;
    pub const FSTATAT: u32 = 466;
    pub const UTIMENSAT: u32 = 467;
    pub const OPENAT: u32 = 468;
    pub const READLINKAT: u32 = 469;
    pub const SYMLINKAT: u32 = 470;
    pub const UNLINKAT: u32 = 471;
    pub const FUTIMENS: u32 = 472;
    pub const STATVFS190: u32 = 484;
    pub const RECVFROM: u32 = 29;
    pub const ACCEPT: u32 = 30;
    pub const GETPEERNAME: u32 = 31;
    pub const GETSOCKNAME: u32 = 32;
    pub const IOCTL: u32 = 54;
    pub const CONNECT: u32 = 98;
    pub const BIND: u32 = 104;
    pub const SETSOCKOPT: u32 = 105;
    pub const LISTEN: u32 = 106;
    pub const GETSOCKOPT: u32 = 118;
    pub const SENDTO: u32 = 133;
    pub const SHUTDOWN: u32 = 134;
    pub const SOCKETPAIR: u32 = 135;
    pub const POLL: u32 = 209;
    pub const SOCKET: u32 = 394;
    pub const PACCEPT: u32 = 456;
    pub const FSTATVFS190: u32 = 485;
}

/// The program name sent in the handshake (`/proc/self/comm`).
fn progname() -> Vec<u8> {
    let mut n = std::fs::read("/proc/self/comm").unwrap_or_else(|_| b"hijacked".to_vec());
    while n.last() == Some(&b'\n') {
        n.pop();
    }
    n
}

fn fail(st: &mut State, e: &CallError) -> i32 {
    if !st.dead {
        eprintln!("rumpsp-hijack: {e}; rump paths and descriptors now fail with EIO");
    }
    st.dead = true;
    if let Some(c) = st.conn.take() {
        c.close();
    }
    libc::EIO
}

/// The host's umask, read without changing it.
fn host_umask() -> u32 {
    // SAFETY: umask has no failure mode; the value is put back at once
    unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    }
}

/// The connection, made now if needed (GUEST handshake, then the rump
/// process gets the host's umask).
pub fn connected(st: &mut State) -> Result<Arc<Conn>, i32> {
    if st.dead {
        return Err(libc::EIO);
    }
    if st.conn.is_none() {
        let url = match std::env::var("RUMP_SERVER") {
            Ok(u) => u,
            Err(_) => {
                return Err(fail(
                    st,
                    &CallError::Transport("RUMP_SERVER is not set".into()),
                ))
            }
        };
        match Conn::connect(&url, &progname(), None) {
            Ok(c) => {
                let _ = c.syscall(nr::UMASK, vec![Arg::Int(host_umask() as i32)]);
                st.conn = Some(Arc::new(c));
            }
            Err(e) => return Err(fail(st, &e)),
        }
    }
    st.conn.clone().ok_or(libc::EIO)
}

/// One syscall; `Err` is a Linux errno. The state is not locked while the
/// call runs (it may block in the kernel while other threads make theirs).
pub fn call(nr: u32, args: Vec<Arg>) -> Result<Reply, i32> {
    let c = connected(&mut state::lock())?;
    match c.syscall(nr, args) {
        Ok(r) => Ok(r),
        Err(CallError::Errno(e)) => Err(errno::to_linux(e)),
        Err(e) => Err(fail(&mut state::lock(), &e)),
    }
}

/// One syscall, its first return value.
pub fn call_rv(nr: u32, args: Vec<Arg>) -> Result<i64, i32> {
    call(nr, args).map(|r| r.retval[0])
}

/// A NUL-free path argument.
pub fn path(p: &[u8]) -> Arg {
    Arg::Str(p.to_vec())
}

/// The first writable buffer of a reply.
pub fn first_buf(r: Reply) -> Vec<u8> {
    r.buffers.into_iter().next().unwrap_or_default()
}
