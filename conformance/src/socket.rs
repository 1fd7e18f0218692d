//! A [`Wire`] over real sockets to any server URL (`unix://…`, `tcp://…`).

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use rumpsp_protocol::banner::find_banner_line;
use rumpsp_protocol::ServerAddr;

use crate::wire::{Wire, WireConn, WireError};

trait Conn: Read + Write + Send {
    fn set_timeout(&self, t: Duration) -> std::io::Result<()>;
    fn set_send_timeout(&self, t: Duration) -> std::io::Result<()>;
    fn set_nonblock(&self, on: bool) -> std::io::Result<()>;
}

impl Conn for std::net::TcpStream {
    fn set_timeout(&self, t: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(t))
    }
    fn set_send_timeout(&self, t: Duration) -> std::io::Result<()> {
        self.set_write_timeout(Some(t))
    }
    fn set_nonblock(&self, on: bool) -> std::io::Result<()> {
        self.set_nonblocking(on)
    }
}

impl Conn for std::os::unix::net::UnixStream {
    fn set_timeout(&self, t: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(t))
    }
    fn set_send_timeout(&self, t: Duration) -> std::io::Result<()> {
        self.set_write_timeout(Some(t))
    }
    fn set_nonblock(&self, on: bool) -> std::io::Result<()> {
        self.set_nonblocking(on)
    }
}

/// The longest one write may block on a server that does not read; the
/// connection then counts as closed.
pub const SEND_BOUND: Duration = Duration::from_secs(30);

/// Connections to one server address.
pub struct SocketWire {
    addr: ServerAddr,
    conns: BTreeMap<WireConn, Box<dyn Conn>>,
    next: WireConn,
    /// How long to wait for an answer before deciding the call is blocked.
    pub patience: Duration,
}

impl SocketWire {
    /// A wire to `addr`.
    pub fn new(addr: ServerAddr) -> SocketWire {
        SocketWire {
            addr,
            conns: BTreeMap::new(),
            next: 1,
            patience: Duration::from_millis(300),
        }
    }
}

fn io(e: std::io::Error) -> WireError {
    WireError::Io(e.to_string())
}

impl Wire for SocketWire {
    fn connect(&mut self) -> Result<(WireConn, Vec<u8>), WireError> {
        let mut s: Box<dyn Conn> = match &self.addr {
            ServerAddr::Tcp(a) => {
                let s = std::net::TcpStream::connect(a).map_err(io)?;
                let _ = s.set_nodelay(true);
                Box::new(s)
            }
            ServerAddr::Unix(p) => {
                Box::new(std::os::unix::net::UnixStream::connect(p).map_err(io)?)
            }
        };
        s.set_timeout(Duration::from_secs(5)).map_err(io)?;
        // A server that stops reading cannot hold a sender forever.
        s.set_send_timeout(SEND_BOUND).map_err(io)?;
        // The banner: one line of at most 95 bytes.
        let mut got = Vec::new();
        let mut b = [0u8; 128];
        loop {
            match find_banner_line(&got) {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) => {}
            }
            match s.read(&mut b) {
                Ok(0) => return Err(WireError::Closed),
                Ok(n) => got.extend_from_slice(&b[..n]),
                Err(e) => return Err(io(e)),
            }
        }
        let id = self.next;
        self.next += 1;
        self.conns.insert(id, s);
        Ok((id, got))
    }

    fn send(&mut self, c: WireConn, bytes: &[u8]) -> Result<(), WireError> {
        let s = self.conns.get_mut(&c).ok_or(WireError::Closed)?;
        s.write_all(bytes).map_err(|_| WireError::Closed)
    }

    fn recv(&mut self, c: WireConn) -> Result<(Vec<u8>, bool), WireError> {
        self.recv_within(c, self.patience)
    }

    fn recv_now(&mut self, c: WireConn) -> Result<(Vec<u8>, bool), WireError> {
        self.recv_within(c, Duration::from_millis(20))
    }

    fn close(&mut self, c: WireConn) {
        self.conns.remove(&c);
    }
}

impl SocketWire {
    fn recv_within(
        &mut self,
        c: WireConn,
        patience: Duration,
    ) -> Result<(Vec<u8>, bool), WireError> {
        let Some(s) = self.conns.get_mut(&c) else {
            return Ok((vec![], true));
        };
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        // Wait (up to the patience) for the first bytes, then take whatever else is
        // already there without waiting.
        s.set_timeout(patience).map_err(io)?;
        let mut nonblocking = false;
        let closed = loop {
            match s.read(&mut buf) {
                Ok(0) => break true,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if !nonblocking {
                        s.set_nonblock(true).map_err(io)?;
                        nonblocking = true;
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    break false
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break true,
            }
        };
        if closed {
            self.conns.remove(&c);
            return Ok((out, true));
        }
        if nonblocking {
            s.set_nonblock(false).map_err(io)?;
        }
        Ok((out, false))
    }
}
