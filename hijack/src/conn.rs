//! One blocking connection to the rump kernel: the project's sans-IO
//! [`ClientSession`] driven over a plain socket descriptor (no runtime, no
//! threads: the library lives inside arbitrary programs and across fork).
//!
//! The socket is moved to a high descriptor number ([`HIGH_FD`] or above)
//! with close-on-exec set, so it stays out of the way of the program's own
//! descriptors; across exec it is inherited on purpose (see `state`).

use std::os::fd::{IntoRawFd, RawFd};

use rumpsp_protocol::banner::find_banner_line;
use rumpsp_protocol::client::{Arg, CallId, CallOutcome, ClientSession};
use rumpsp_protocol::url::{parse_url, Role, ServerAddr};
use rumpsp_protocol::{FrameDecoder, FrameLimits, HandshakeKind, PreforkCookie};

/// The lowest descriptor number the connection's socket is moved to.
pub const HIGH_FD: RawFd = 1000;

/// Why a call could not be made (the kernel's own errors are [`CallError::Errno`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The kernel answered with this NetBSD errno.
    #[error("NetBSD errno {0}")]
    Errno(i32),
    /// The connection failed, closed, or the server broke the protocol.
    #[error("rump kernel connection: {0}")]
    Transport(String),
}

/// What a successful syscall returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The two return values.
    pub retval: [i64; 2],
    /// The contents of the writable buffers, in argument order.
    pub buffers: Vec<Vec<u8>>,
}

/// The session's mutable half: the sans-IO state, the frame decoder and
/// whether some thread is reading the socket (the others wait on the
/// condition variable for their answers).
#[derive(Debug)]
struct Inner {
    session: ClientSession,
    decoder: FrameDecoder,
    reading: bool,
    broken: Option<String>,
}

/// A connected, handshaken session, shared by the process's threads: each
/// call is sent with its own request number, and one waiting thread at a
/// time reads the socket and hands every answer to its caller (as
/// librumpclient's `waitresp` does, NetBSD lib/librumpclient/rumpclient.c),
/// so a call blocked in the kernel (accept, poll, recv) never holds up the
/// other threads' calls.
#[derive(Debug)]
pub struct Conn {
    fd: std::sync::atomic::AtomicI32,
    inner: std::sync::Mutex<Inner>,
    answered: std::sync::Condvar,
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Moves `fd` to [`HIGH_FD`] or above with close-on-exec set.
fn move_high(fd: RawFd) -> Result<RawFd, CallError> {
    // SAFETY: plain descriptor calls on a descriptor we own
    let hi = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, HIGH_FD) };
    if hi < 0 {
        return Ok(fd); // keep the low number rather than fail
    }
    // SAFETY: fd is ours and now duplicated
    unsafe { libc::close(fd) };
    Ok(hi)
}

fn connect_socket(url: &str) -> Result<RawFd, CallError> {
    let addr = parse_url(url, Role::Client)
        .map_err(|e| CallError::Transport(format!("invalid RUMP_SERVER {url:?}: {e}")))?;
    let fd = match &addr {
        ServerAddr::Tcp(a) => {
            let s = std::net::TcpStream::connect(a)
                .map_err(|e| CallError::Transport(format!("{addr}: {e}")))?;
            let _ = s.set_nodelay(true);
            s.into_raw_fd()
        }
        ServerAddr::Unix(p) => std::os::unix::net::UnixStream::connect(p)
            .map_err(|e| CallError::Transport(format!("{addr}: {e}")))?
            .into_raw_fd(),
    };
    move_high(fd)
}

impl Conn {
    /// Connects to `url`, reads the banner and makes a GUEST handshake
    /// (`cookie: None`) or the FORK handshake of a forked child.
    pub fn connect(
        url: &str,
        name: &[u8],
        cookie: Option<PreforkCookie>,
    ) -> Result<Conn, CallError> {
        let fd = connect_socket(url)?;
        let c = Conn::new(fd, 1);
        if let Err(e) = c.read_banner() {
            c.close();
            return Err(e);
        }
        let kind = if cookie.is_some() {
            HandshakeKind::Fork
        } else {
            HandshakeKind::Guest
        };
        let id = c.inner().session.handshake(kind, name, cookie);
        match c.wait(id) {
            Ok(CallOutcome::Handshake(0)) => Ok(c),
            Ok(other) => {
                c.close();
                Err(CallError::Transport(format!(
                    "handshake refused: {other:?}"
                )))
            }
            Err(e) => {
                c.close();
                Err(e)
            }
        }
    }

    /// Re-attaches a freshly exec'd image to its inherited, handshaken socket
    /// with the EXEC handshake (first request number 0, no banner).
    pub fn exec(fd: RawFd, name: &[u8]) -> Result<Conn, CallError> {
        let c = Conn::new(fd, 0);
        let id = c.inner().session.handshake(HandshakeKind::Exec, name, None);
        match c.wait(id)? {
            CallOutcome::Handshake(0) => Ok(c),
            other => Err(CallError::Transport(format!(
                "EXEC handshake refused: {other:?}"
            ))),
        }
    }

    fn new(fd: RawFd, first_reqno: u64) -> Conn {
        Conn {
            fd: std::sync::atomic::AtomicI32::new(fd),
            inner: std::sync::Mutex::new(Inner {
                session: ClientSession::new(first_reqno),
                decoder: FrameDecoder::new(FrameLimits::default()),
                reading: false,
                broken: None,
            }),
            answered: std::sync::Condvar::new(),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The socket's descriptor.
    pub fn fd(&self) -> RawFd {
        self.fd.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Closes the socket (the server ends this connection's process); a
    /// thread still reading it is woken first (shutdown), as close alone
    /// would leave it blocked.
    pub fn close(&self) {
        let fd = self.fd.swap(-1, std::sync::atomic::Ordering::Relaxed);
        if fd >= 0 {
            // SAFETY: our own descriptor
            unsafe {
                libc::shutdown(fd, libc::SHUT_RDWR);
                libc::close(fd)
            };
        }
    }

    /// The banner line, byte by byte so nothing after it is consumed.
    fn read_banner(&self) -> Result<(), CallError> {
        let mut line = Vec::new();
        loop {
            match find_banner_line(&line) {
                Ok(Some(_)) => return Ok(()),
                Ok(None) => {}
                Err(e) => return Err(CallError::Transport(format!("bad banner: {e}"))),
            }
            let mut b = 0u8;
            // SAFETY: reading one byte into a local
            let n = unsafe { libc::recv(self.fd(), (&mut b as *mut u8).cast(), 1, 0) };
            match n {
                1 => line.push(b),
                0 => return Err(CallError::Transport("closed before the banner".into())),
                _ if errno() == libc::EINTR => {}
                _ => {
                    return Err(CallError::Transport(
                        std::io::Error::last_os_error().to_string(),
                    ))
                }
            }
        }
    }

    /// Sends what the session has queued (under the lock, so frames never interleave).
    fn flush(&self, g: &mut Inner) -> Result<(), CallError> {
        let out = g.session.take_output();
        let mut off = 0;
        while off < out.len() {
            // SAFETY: sending from a live buffer
            let n = unsafe {
                libc::send(
                    self.fd(),
                    out[off..].as_ptr().cast(),
                    out.len() - off,
                    libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                if errno() == libc::EINTR {
                    continue;
                }
                return Err(CallError::Transport(format!(
                    "send: {}",
                    std::io::Error::last_os_error()
                )));
            }
            off += n as usize;
        }
        Ok(())
    }

    /// Feeds received bytes to the session and answers what the server asked.
    fn feed(&self, g: &mut Inner, data: &[u8]) -> Result<(), CallError> {
        g.decoder.feed(data);
        loop {
            match g.decoder.next_frame() {
                Ok(Some(f)) => g
                    .session
                    .receive(&f)
                    .map_err(|e| CallError::Transport(e.to_string()))?,
                Ok(None) => break,
                Err(e) => {
                    return Err(CallError::Transport(format!(
                        "undecodable stream from the server: {e}"
                    )))
                }
            }
        }
        self.flush(g)
    }

    /// Sends what is queued, then waits until `id` ends: one waiting thread
    /// reads the socket (without the lock) and wakes the others.
    fn wait(&self, id: CallId) -> Result<CallOutcome, CallError> {
        let mut g = self.inner();
        if let Err(e) = self.flush(&mut g) {
            g.broken = Some(e.to_string());
            self.answered.notify_all();
            return Err(e);
        }
        let mut buf = Vec::new();
        loop {
            if let Some(o) = g.session.take_outcome(id) {
                return Ok(o);
            }
            if let Some(b) = &g.broken {
                return Err(CallError::Transport(b.clone()));
            }
            if g.reading {
                g = self.answered.wait(g).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            g.reading = true;
            drop(g);
            if buf.is_empty() {
                buf = vec![0u8; 256 * 1024];
            }
            // SAFETY: receiving into a live buffer
            let n = unsafe { libc::recv(self.fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            let err = errno();
            g = self.inner();
            g.reading = false;
            let res = match n {
                0 => Err(CallError::Transport(
                    "the server closed the connection".into(),
                )),
                n if n < 0 && err == libc::EINTR => Ok(()),
                n if n < 0 => Err(CallError::Transport(format!(
                    "recv: {}",
                    std::io::Error::from_raw_os_error(err)
                ))),
                n => self.feed(&mut g, &buf[..n as usize]),
            };
            if let Err(e) = res {
                g.broken = Some(e.to_string());
            }
            self.answered.notify_all();
        }
    }

    /// One syscall, by NetBSD number.
    pub fn syscall(&self, nr: u32, args: Vec<Arg>) -> Result<Reply, CallError> {
        let id = self.inner().session.syscall(nr, args);
        match self.wait(id)? {
            CallOutcome::Syscall {
                errno: 0,
                retval,
                buffers,
            } => Ok(Reply { retval, buffers }),
            CallOutcome::Syscall { errno, .. } => Err(CallError::Errno(errno)),
            other => Err(CallError::Transport(format!("unexpected answer {other:?}"))),
        }
    }

    /// PREFORK: the cookie a forked child presents.
    pub fn prefork(&self) -> Result<PreforkCookie, CallError> {
        let id = self.inner().session.prefork();
        match self.wait(id)? {
            CallOutcome::Prefork(c) => Ok(c),
            other => Err(CallError::Transport(format!("PREFORK refused: {other:?}"))),
        }
    }
}
