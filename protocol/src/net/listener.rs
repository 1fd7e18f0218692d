//! Listening sockets from a [`ServerAddr`], with the unix-socket lifecycle:
//! mode 0600 by default (every client is root in the rump kernel, so the
//! socket's permission is the access control), a leftover socket file with
//! nobody listening is replaced, a live one is an error, and the file is
//! removed when the listener is dropped if it is still the one we bound (same
//! device and inode).
//!
//! The socket is bound and given its mode inside a fresh private (0700)
//! directory next to the final path, then renamed into place: there is no
//! moment at which it is reachable with wider permissions.

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
    /// A socket mode with bits beyond 0777.
    #[error("socket mode {0:o} has bits beyond 0777")]
    BadMode(u32),
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
    /// A unix socket, the path to remove at the end and the (device, inode) bound there.
    Unix(UnixListener, PathBuf, (u64, u64)),
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

fn dev_ino(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(p)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// Binds `path` safely: in a new 0700 directory beside it, chmod to `mode`, then
/// rename into place. Returns the listener and the socket's (device, inode).
fn bind_private(path: &Path, mode: u32) -> std::io::Result<(UnixListener, (u64, u64))> {
    use std::os::unix::fs::DirBuilderExt;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut n = 0u32;
    let dir = loop {
        let d = parent.join(format!(".rsp{}.{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&d) {
            Ok(()) => break d,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    };
    let tmp = dir.join("s");
    let result = (|| {
        let l = UnixListener::bind(&tmp)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
        let id = dev_ino(&tmp).ok_or_else(|| std::io::Error::other("socket vanished"))?;
        std::fs::rename(&tmp, path)?;
        Ok((l, id))
    })();
    let _ = std::fs::remove_file(&tmp);
    let _ = std::fs::remove_dir(&dir);
    result
}

/// Binds a listener for `addr`; a unix socket gets permission bits `socket_mode`
/// (bits beyond 0777 are refused).
pub async fn bind(addr: &ServerAddr, socket_mode: u32) -> Result<Listener, ListenerError> {
    if socket_mode & !0o777 != 0 {
        return Err(ListenerError::BadMode(socket_mode));
    }
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
            let bind_err = |source| ListenerError::Bind {
                addr: addr.to_string(),
                source,
            };
            let (l, id) = bind_private(path, socket_mode).map_err(bind_err)?;
            Ok(Listener::Unix(l, path.clone(), id))
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
            Listener::Unix(l, _, _) => Ok(Stream::Unix(l.accept().await?.0)),
        }
    }

    /// The address clients connect to (with the real port for `tcp://…:0`).
    pub fn local_addr(&self) -> Option<ServerAddr> {
        match self {
            Listener::Tcp(l) => match l.local_addr().ok()? {
                SocketAddr::V4(a) => Some(ServerAddr::Tcp(a)),
                SocketAddr::V6(_) => None,
            },
            Listener::Unix(_, p, _) => Some(ServerAddr::Unix(p.clone())),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path, id) = self {
            // Only our own socket: another server may have replaced it since.
            if dev_ino(path) == Some(*id) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn unix(p: &Path) -> ServerAddr {
        ServerAddr::Unix(p.to_path_buf())
    }

    #[tokio::test]
    async fn modes_beyond_0777_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s");
        assert!(matches!(
            bind(&unix(&p), 0o7777).await,
            Err(ListenerError::BadMode(0o7777))
        ));
        assert!(matches!(
            bind(&unix(&p), 0o1600).await,
            Err(ListenerError::BadMode(_))
        ));
        assert!(!p.exists());
        let l = bind(&unix(&p), 0o777).await.unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o7777, 0o777);
        drop(l);
    }

    #[tokio::test]
    async fn the_socket_appears_with_its_mode_and_no_private_dir_is_left() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s");
        let l = bind(&unix(&p), 0o600).await.unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the socket");
        drop(l);
        assert!(!p.exists());
    }

    #[tokio::test]
    async fn drop_leaves_a_socket_that_replaced_ours() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s");
        let l = bind(&unix(&p), 0o600).await.unwrap();
        // someone else's server now lives at the path
        std::fs::remove_file(&p).unwrap();
        let other = std::os::unix::net::UnixListener::bind(&p).unwrap();
        drop(l);
        assert!(p.exists(), "the other server's socket was kept");
        drop(other);
    }
}
