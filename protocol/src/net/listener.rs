//! Listening sockets from a [`ServerAddr`], with the unix-socket lifecycle:
//! mode 0600 by default (every client is root in the rump kernel, so the
//! socket's permission is the access control), a leftover socket file with
//! nobody listening is replaced, a live one is an error, and the file is
//! removed when the listener is dropped.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use crate::url::ServerAddr;

/// Why a listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// Another server answers on the unix socket path.
    #[error("a server is already listening on {0}")]
    LiveSocket(PathBuf),
    /// The path exists and is not a socket.
    #[error("{0} exists and is not a socket")]
    NotASocket(PathBuf),
    /// bind/listen failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A bound listener.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A unix socket and the path to remove at the end.
    Unix(UnixListener, PathBuf),
}

/// An accepted connection.
#[derive(Debug)]
pub enum Stream {
    /// TCP (TCP_NODELAY set).
    Tcp(TcpStream),
    /// A unix socket.
    Unix(UnixStream),
}

impl Stream {
    /// Splits into owned read and write halves.
    pub fn split(
        self,
    ) -> (
        Box<dyn AsyncRead + Send + Unpin>,
        Box<dyn AsyncWrite + Send + Unpin>,
    ) {
        match self {
            Stream::Tcp(s) => {
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w))
            }
            Stream::Unix(s) => {
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w))
            }
        }
    }
}

fn is_socket(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_socket())
}

/// Binds a listener for `addr`; a unix socket gets permission bits `socket_mode`.
pub async fn bind(addr: &ServerAddr, socket_mode: u32) -> Result<Listener, ListenerError> {
    match addr {
        ServerAddr::Tcp(a) => {
            let l = TcpListener::bind(SocketAddr::V4(*a))
                .await
                .map_err(|source| ListenerError::Bind {
                    addr: addr.to_string(),
                    source,
                })?;
            Ok(Listener::Tcp(l))
        }
        ServerAddr::Unix(path) => {
            if std::fs::symlink_metadata(path).is_ok() {
                if !is_socket(path) {
                    return Err(ListenerError::NotASocket(path.clone()));
                }
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(ListenerError::LiveSocket(path.clone()));
                }
                // Nobody listens: a leftover of a server that died.
                let _ = std::fs::remove_file(path);
            }
            let l = UnixListener::bind(path).map_err(|source| ListenerError::Bind {
                addr: addr.to_string(),
                source,
            })?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(socket_mode)).map_err(
                |source| ListenerError::Bind {
                    addr: addr.to_string(),
                    source,
                },
            )?;
            Ok(Listener::Unix(l, path.clone()))
        }
    }
}

impl Listener {
    /// Accepts the next connection.
    pub async fn accept(&self) -> std::io::Result<Stream> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                let _ = s.set_nodelay(true);
                Ok(Stream::Tcp(s))
            }
            Listener::Unix(l, _) => Ok(Stream::Unix(l.accept().await?.0)),
        }
    }

    /// The address clients connect to (with the real port for `tcp://…:0`).
    pub fn local_addr(&self) -> Option<ServerAddr> {
        match self {
            Listener::Tcp(l) => match l.local_addr().ok()? {
                SocketAddr::V4(a) => Some(ServerAddr::Tcp(a)),
                SocketAddr::V6(_) => None,
            },
            Listener::Unix(_, p) => Some(ServerAddr::Unix(p.clone())),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}
