//! How the replayer reaches a server: an in-process [`ServerCore`] or (later) a socket.

use rumpsp_protocol::kernel::Kernel;
use rumpsp_protocol::server::{Accept, ConnId, ServerCore};

/// A connection handle of a [`Wire`].
pub type WireConn = u64;

/// Why the wire failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The server refused or dropped the connection.
    #[error("connection closed")]
    Closed,
    /// An I/O failure.
    #[error("{0}")]
    Io(String),
}

/// Byte transport to a server under test.
pub trait Wire {
    /// Opens a connection; returns it and everything received so far (the banner first).
    fn connect(&mut self) -> Result<(WireConn, Vec<u8>), WireError>;
    /// Sends bytes.
    fn send(&mut self, c: WireConn, bytes: &[u8]) -> Result<(), WireError>;
    /// Bytes received since the last call, and whether the server closed the connection.
    fn recv(&mut self, c: WireConn) -> Result<(Vec<u8>, bool), WireError>;
    /// Like [`Wire::recv`], but only collects what is already on its way
    /// (used before closing, where no answer is expected).
    fn recv_now(&mut self, c: WireConn) -> Result<(Vec<u8>, bool), WireError> {
        self.recv(c)
    }
    /// Closes our end.
    fn close(&mut self, c: WireConn);
}

/// A [`ServerCore`] driven in the same process: no sockets, fully deterministic.
pub struct InProcess<K: Kernel> {
    /// The server.
    pub core: ServerCore<K>,
}

impl<K: Kernel> InProcess<K> {
    /// A fresh server for `kernel` as replays use it: default limits and
    /// banner, prefork cookies from seed 1 (deterministic).
    pub fn with_kernel(kernel: K) -> Result<InProcess<K>, rumpsp_protocol::banner::BannerError> {
        let core = ServerCore::new(
            kernel,
            rumpsp_protocol::server::ServerLimits::default(),
            &rumpsp_protocol::Banner::default(),
            Box::new(rumpsp_protocol::server::SeededCookies::new(1)),
        )?;
        Ok(InProcess { core })
    }
}

impl<K: Kernel> Wire for InProcess<K> {
    fn connect(&mut self) -> Result<(WireConn, Vec<u8>), WireError> {
        match self.core.accept() {
            Accept::Open(id) => {
                let out = self
                    .core
                    .take_output(id)
                    .map(|o| o.bytes)
                    .unwrap_or_default();
                Ok((id, out))
            }
            Accept::Refused => Err(WireError::Closed),
        }
    }

    fn send(&mut self, c: WireConn, bytes: &[u8]) -> Result<(), WireError> {
        if self.core.state(c as ConnId).is_none() {
            return Err(WireError::Closed);
        }
        self.core.receive(c as ConnId, bytes);
        Ok(())
    }

    fn recv(&mut self, c: WireConn) -> Result<(Vec<u8>, bool), WireError> {
        match self.core.take_output(c as ConnId) {
            Some(out) => {
                if out.close {
                    self.core.disconnect(c as ConnId);
                }
                Ok((out.bytes, out.close))
            }
            None => Ok((vec![], true)),
        }
    }

    fn close(&mut self, c: WireConn) {
        self.core.disconnect(c as ConnId);
    }
}
