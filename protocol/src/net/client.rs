//! The production client: librumpclient's equivalent over tokio.
//!
//! One reader task per connection serves the server's requests in stream
//! order (through [`ClientSession`]); any number of tasks may have calls in
//! flight on one connection, each matched by its request number.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

use crate::banner::{find_banner_line, BannerError, ReceivedBanner};
use crate::client::{Arg, CallId, CallOutcome, ClientSession};
use crate::codes::{ErrorCode, HandshakeKind};
use crate::decoder::FrameDecoder;
use crate::frame::PreforkCookie;
use crate::limits::FrameLimits;
use crate::netbsd::Errno;
use crate::url::{parse_url, Role, ServerAddr, UrlError};

/// What went wrong with a call: three kinds, kept apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The kernel answered with a NetBSD errno.
    #[error("{0}")]
    Errno(Errno),
    /// The server answered with an ERROR frame.
    #[error("protocol error {}", .0.name().unwrap_or("(unknown code)"))]
    Protocol(ErrorCode),
    /// The connection failed or closed.
    #[error("transport: {0}")]
    Transport(String),
    /// RUMP_SERVER is not set.
    #[error("RUMP_SERVER is not set (give --server or export RUMP_SERVER=unix:///path or tcp://addr:port/)")]
    NoServer,
    /// The server URL is invalid.
    #[error("invalid server URL {url:?}: {error} ({})", error.errno_name())]
    Url {
        /// The URL given.
        url: String,
        /// Why it was refused.
        error: UrlError,
    },
    /// No banner (or no newline within 95 bytes).
    #[error("bad banner: {0}")]
    Banner(BannerError),
    /// The handshake was answered with an error value.
    #[error("handshake refused with error {0}")]
    Handshake(i32),
    /// The server did not get far enough in time (a hostile or hung server).
    #[error("timed out after {:.1} s waiting for the server: {stage}", .after.as_secs_f64())]
    Timeout {
        /// What was awaited: "connect", "banner", "handshake" or "call".
        stage: &'static str,
        /// The limit that ran out.
        after: Duration,
    },
    /// The AUTH extension failed (bad key file, refused key, odd challenge).
    #[error("authentication: {0}")]
    Auth(String),
    /// The reconnect policy gave up.
    #[error("connection to the rump kernel lost; gave up reconnecting after {attempts} attempts")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
    },
}

/// When to reconnect after the connection is lost (rumpclient_setconnretry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetryPolicy {
    /// Never: calls fail with a transport error (the default, as in librumpclient).
    #[default]
    Never,
    /// One reconnect attempt.
    Once,
    /// Keep trying for this long.
    For(Duration),
    /// Keep trying forever.
    Forever,
}

impl RetryPolicy {
    /// librumpclient's back-off before attempt `k` (from 0): k×100 ms for k < 10, then min(10, k−9) s.
    pub fn backoff(k: u32) -> Duration {
        if k < 10 {
            Duration::from_millis(100 * u64::from(k))
        } else {
            Duration::from_secs(u64::from((k - 9).min(10)))
        }
    }
}

/// How long the client waits for a server at each stage, and how often it
/// resends a call answered ERROR TRYAGAIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTimeouts {
    /// Opening the socket.
    pub connect: Duration,
    /// From connected to a complete banner line.
    pub banner: Duration,
    /// From the handshake sent to its answer.
    pub handshake: Duration,
    /// A call fails once no complete frame has arrived from the server for this
    /// long while it is outstanding (None: wait forever, for long blocking calls).
    pub call_idle: Option<Duration>,
    /// Resends of one call answered TRYAGAIN before it fails with that error.
    pub tryagain_retries: u32,
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        ClientTimeouts {
            connect: Duration::from_secs(10),
            banner: Duration::from_secs(10),
            handshake: Duration::from_secs(10),
            call_idle: Some(Duration::from_secs(30)),
            tryagain_retries: 30,
        }
    }
}

impl ClientTimeouts {
    /// The defaults, each overridden by an environment variable holding seconds
    /// (fractions allowed): `RUMPSP_CONNECT_TIMEOUT`, `RUMPSP_BANNER_TIMEOUT`,
    /// `RUMPSP_HANDSHAKE_TIMEOUT`, `RUMPSP_CALL_TIMEOUT` (0 = none). Unparseable
    /// values are ignored.
    pub fn from_env() -> ClientTimeouts {
        let secs = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(Duration::from_secs_f64)
        };
        let d = ClientTimeouts::default();
        ClientTimeouts {
            connect: secs("RUMPSP_CONNECT_TIMEOUT").unwrap_or(d.connect),
            banner: secs("RUMPSP_BANNER_TIMEOUT").unwrap_or(d.banner),
            handshake: secs("RUMPSP_HANDSHAKE_TIMEOUT").unwrap_or(d.handshake),
            call_idle: match secs("RUMPSP_CALL_TIMEOUT") {
                Some(z) if z.is_zero() => None,
                Some(t) => Some(t),
                None => d.call_idle,
            },
            tryagain_retries: d.tryagain_retries,
        }
    }

    /// Back-off before TRYAGAIN resend `k` (from 0): 1 ms doubling, at most 250 ms.
    pub fn tryagain_backoff(k: u32) -> Duration {
        Duration::from_millis((1u64 << k.min(8)).min(250))
    }
}

type Reply = oneshot::Sender<Result<CallOutcome, ClientError>>;

struct Conn {
    session: ClientSession,
    waiters: BTreeMap<CallId, Reply>,
    alive: bool,
    /// When the last complete frame arrived (or the link was set up).
    last_frame: Instant,
}

type Writer = Arc<tokio::sync::Mutex<Box<dyn AsyncWrite + Send + Unpin>>>;

struct Link {
    conn: Arc<Mutex<Conn>>,
    writer: Writer,
    reader: tokio::task::JoinHandle<()>,
}

impl Link {
    /// Gives the connection up: calls fail, the reader stops.
    fn kill(&self) {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        c.alive = false;
        c.session.abandon_all();
        c.waiters.clear();
        drop(c);
        self.reader.abort();
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// A connection to a rump kernel, usable from many tasks at once.
pub struct Client {
    addr: ServerAddr,
    name: Vec<u8>,
    banner: ReceivedBanner,
    retry: RetryPolicy,
    timeouts: ClientTimeouts,
    /// The AUTH extension's shared key, if the server requires one.
    auth_key: Option<Vec<u8>>,
    link: tokio::sync::RwLock<Link>,
}

/// The AUTH key named by `RUMP_AUTH_KEY` (a file holding the key), if set.
pub fn auth_key_from_env() -> Result<Option<Vec<u8>>, ClientError> {
    match std::env::var_os("RUMP_AUTH_KEY") {
        None => Ok(None),
        Some(p) => crate::auth::read_key_file(std::path::Path::new(&p))
            .map(Some)
            .map_err(|e| ClientError::Auth(e.to_string())),
    }
}

/// Reads one frame (header and body, at most 64 body bytes) during the AUTH exchange.
async fn read_small_frame(
    rd: &mut (dyn AsyncRead + Send + Unpin),
) -> Result<(crate::header::Header, Vec<u8>), ClientError> {
    let t = |e: std::io::Error| ClientError::Transport(format!("during AUTH: {e}"));
    let mut h = [0u8; 24];
    rd.read_exact(&mut h).await.map_err(t)?;
    let header = crate::header::Header::decode(&h)
        .ok_or_else(|| ClientError::Transport("during AUTH: no header".into()))?;
    let body_len = header.len.saturating_sub(24);
    if body_len > 64 {
        return Err(ClientError::Transport(format!(
            "during AUTH: a {body_len}-byte answer"
        )));
    }
    let mut body = vec![0u8; body_len as usize];
    rd.read_exact(&mut body).await.map_err(t)?;
    Ok((header, body))
}

/// The client side of the AUTH extension (see [`crate::auth`]), on a fresh connection.
async fn authenticate(
    rd: &mut (dyn AsyncRead + Send + Unpin),
    wr: &mut (dyn AsyncWrite + Send + Unpin),
    key: &[u8],
) -> Result<(), ClientError> {
    use crate::codes::Class;
    use crate::frame::{Frame, Handshake, Message};
    let t = |e: std::io::Error| ClientError::Transport(format!("during AUTH: {e}"));
    // An ERROR frame carries its code in the header's word.
    let refused = |h: &crate::header::Header, _body: &[u8]| {
        (Class::from_u16(h.class) == Some(Class::Error))
            .then(|| ClientError::Protocol(ErrorCode::from_u32(h.word)))
    };
    let ask = Frame::new(0, Message::Handshake(Handshake::Auth { body: &[] }))
        .to_vec(crate::abi::Abi::Lp64Le);
    wr.write_all(&ask).await.map_err(t)?;
    let (h, body) = read_small_frame(rd).await?;
    if let Some(e) = refused(&h, &body) {
        return Err(e);
    }
    if body.len() != 4 + crate::auth::NONCE_LEN || body[..4] != [0; 4] {
        return Err(ClientError::Auth(format!(
            "the server's challenge is {} bytes, not {}",
            body.len(),
            4 + crate::auth::NONCE_LEN
        )));
    }
    let proof = crate::auth::proof(key, &body[4..]);
    let answer = Frame::new(0, Message::Handshake(Handshake::Auth { body: &proof }))
        .to_vec(crate::abi::Abi::Lp64Le);
    wr.write_all(&answer).await.map_err(t)?;
    let (h, body) = read_small_frame(rd).await?;
    if let Some(e) = refused(&h, &body) {
        return Err(ClientError::Auth(format!(
            "the server refused the key ({e})"
        )));
    }
    if body != [0; 4] {
        return Err(ClientError::Auth(
            "unexpected answer to the AUTH proof".into(),
        ));
    }
    Ok(())
}

async fn open(
    addr: &ServerAddr,
    timeouts: &ClientTimeouts,
) -> Result<
    (
        Box<dyn AsyncRead + Send + Unpin>,
        Box<dyn AsyncWrite + Send + Unpin>,
        ReceivedBanner,
    ),
    ClientError,
> {
    let t = |e: std::io::Error| ClientError::Transport(format!("{addr}: {e}"));
    let (mut rd, wr): (
        Box<dyn AsyncRead + Send + Unpin>,
        Box<dyn AsyncWrite + Send + Unpin>,
    ) = match addr {
        ServerAddr::Tcp(a) => {
            let s = within(
                timeouts.connect,
                "connect",
                tokio::net::TcpStream::connect(a),
            )
            .await?
            .map_err(t)?;
            let _ = s.set_nodelay(true);
            let (r, w) = s.into_split();
            (Box::new(r), Box::new(w))
        }
        ServerAddr::Unix(p) => {
            let s = within(
                timeouts.connect,
                "connect",
                tokio::net::UnixStream::connect(p),
            )
            .await?
            .map_err(t)?;
            let (r, w) = s.into_split();
            (Box::new(r), Box::new(w))
        }
    };
    // The banner, byte by byte so nothing after it is consumed.
    let mut line = Vec::new();
    let read_banner = async {
        let mut b = [0u8; 1];
        loop {
            match find_banner_line(&line) {
                Ok(Some(_)) => break,
                Ok(None) => {}
                Err(e) => return Err(ClientError::Banner(e)),
            }
            if rd.read(&mut b).await.map_err(t)? == 0 {
                return Err(ClientError::Transport(format!(
                    "{addr}: closed before the banner"
                )));
            }
            line.push(b[0]);
        }
        Ok(())
    };
    within(timeouts.banner, "banner", read_banner).await??;
    let banner = ReceivedBanner::from_line(&line);
    if let Some(w) = banner.version_warning() {
        tracing::warn!("{w}");
    }
    Ok((rd, wr, banner))
}

/// Runs `f` with a deadline; past it the stage's [`ClientError::Timeout`].
async fn within<T>(
    limit: Duration,
    stage: &'static str,
    f: impl std::future::Future<Output = T>,
) -> Result<T, ClientError> {
    tokio::time::timeout(limit, f)
        .await
        .map_err(|_| ClientError::Timeout {
            stage,
            after: limit,
        })
}

fn spawn_reader(
    mut rd: Box<dyn AsyncRead + Send + Unpin>,
    conn: Arc<Mutex<Conn>>,
    writer: Writer,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut dec = FrameDecoder::new(FrameLimits::default());
        let mut buf = vec![0u8; 64 * 1024];
        let failure = loop {
            let n = match rd.read(&mut buf).await {
                Ok(0) => break ClientError::Transport("the server closed the connection".into()),
                Ok(n) => n,
                Err(e) => break ClientError::Transport(e.to_string()),
            };
            dec.feed(&buf[..n]);
            let mut replies = Vec::new();
            let mut failed = None;
            {
                let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    match dec.next_frame() {
                        Ok(Some(f)) => {
                            c.last_frame = Instant::now();
                            if let Err(e) = c.session.receive(&f) {
                                failed = Some(ClientError::Transport(e.to_string()));
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            failed = Some(ClientError::Transport(format!(
                                "undecodable stream from the server: {e}"
                            )));
                            break;
                        }
                    }
                }
                replies.extend(c.session.take_output());
                let ids: Vec<CallId> = c.waiters.keys().copied().collect();
                for id in ids {
                    if let Some(o) = c.session.take_outcome(id) {
                        if let Some(w) = c.waiters.remove(&id) {
                            let _ = w.send(Ok(o));
                        }
                    }
                }
            }
            if !replies.is_empty() && writer.lock().await.write_all(&replies).await.is_err() {
                break ClientError::Transport("write failed".into());
            }
            if let Some(e) = failed {
                break e;
            }
        };
        let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
        c.alive = false;
        c.session.abandon_all();
        for (_, w) in std::mem::take(&mut c.waiters) {
            let _ = w.send(Err(failure.clone()));
        }
    })
}

impl Client {
    /// Connects to `url` (a client URL: no wildcard) and does the GUEST handshake as `name`.
    pub async fn connect(url: &str, name: &str) -> Result<Client, ClientError> {
        let addr = parse_url(url, Role::Client).map_err(|error| ClientError::Url {
            url: url.to_owned(),
            error,
        })?;
        Client::connect_with(addr, name, RetryPolicy::Never, ClientTimeouts::from_env()).await
    }

    /// Connects to the server named by `RUMP_SERVER`.
    pub async fn from_env(name: &str) -> Result<Client, ClientError> {
        let url = std::env::var("RUMP_SERVER").map_err(|_| ClientError::NoServer)?;
        Client::connect(&url, name).await
    }

    /// Connects to a parsed address with a reconnect policy (default timeouts,
    /// overridden from the environment as [`ClientTimeouts::from_env`] says).
    pub async fn connect_addr(
        addr: ServerAddr,
        name: &str,
        retry: RetryPolicy,
    ) -> Result<Client, ClientError> {
        Client::connect_with(addr, name, retry, ClientTimeouts::from_env()).await
    }

    /// Connects to a parsed address with a reconnect policy and timeouts.
    /// The AUTH key comes from `RUMP_AUTH_KEY` (a key file), if set.
    pub async fn connect_with(
        addr: ServerAddr,
        name: &str,
        retry: RetryPolicy,
        timeouts: ClientTimeouts,
    ) -> Result<Client, ClientError> {
        let key = auth_key_from_env()?;
        Client::connect_auth(addr, name, retry, timeouts, key).await
    }

    /// Connects with an explicit AUTH key (None: no AUTH, as NetBSD clients).
    pub async fn connect_auth(
        addr: ServerAddr,
        name: &str,
        retry: RetryPolicy,
        timeouts: ClientTimeouts,
        auth_key: Option<Vec<u8>>,
    ) -> Result<Client, ClientError> {
        let (link, banner) = Client::establish(
            &addr,
            name.as_bytes(),
            HandshakeKind::Guest,
            None,
            &timeouts,
            auth_key.as_deref(),
        )
        .await?;
        Ok(Client {
            addr,
            name: name.as_bytes().to_vec(),
            banner,
            retry,
            timeouts,
            auth_key,
            link: tokio::sync::RwLock::new(link),
        })
    }

    /// The timeouts in force.
    pub fn timeouts(&self) -> &ClientTimeouts {
        &self.timeouts
    }

    async fn establish(
        addr: &ServerAddr,
        name: &[u8],
        kind: HandshakeKind,
        cookie: Option<PreforkCookie>,
        timeouts: &ClientTimeouts,
        auth_key: Option<&[u8]>,
    ) -> Result<(Link, ReceivedBanner), ClientError> {
        let (mut rd, mut wr, banner) = open(addr, timeouts).await?;
        if let Some(key) = auth_key {
            within(
                timeouts.handshake,
                "handshake",
                authenticate(&mut *rd, &mut *wr, key),
            )
            .await??;
        }
        let conn = Arc::new(Mutex::new(Conn {
            session: ClientSession::new(1),
            waiters: BTreeMap::new(),
            alive: true,
            last_frame: Instant::now(),
        }));
        let writer: Writer = Arc::new(tokio::sync::Mutex::new(wr));
        let reader = spawn_reader(rd, conn.clone(), writer.clone());
        let link = Link {
            conn,
            writer,
            reader,
        };
        let hs = Client::call_on(&link, |s| s.handshake(kind, name, cookie), None);
        match within(timeouts.handshake, "handshake", hs).await?? {
            CallOutcome::Handshake(0) => Ok((link, banner)),
            CallOutcome::Handshake(e) => Err(ClientError::Handshake(e)),
            CallOutcome::Protocol(code) => Err(ClientError::Protocol(code)),
            other => Err(ClientError::Transport(format!(
                "unexpected answer to the handshake: {other:?}"
            ))),
        }
    }

    async fn call_on(
        link: &Link,
        start: impl FnOnce(&mut ClientSession) -> CallId,
        idle: Option<Duration>,
    ) -> Result<CallOutcome, ClientError> {
        let (tx, rx) = oneshot::channel();
        let bytes = {
            let mut c = link.conn.lock().unwrap_or_else(|p| p.into_inner());
            if !c.alive {
                return Err(ClientError::Transport("not connected".into()));
            }
            let id = start(&mut c.session);
            c.waiters.insert(id, tx);
            c.session.take_output()
        };
        link.writer
            .lock()
            .await
            .write_all(&bytes)
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let Some(idle) = idle else {
            return rx
                .await
                .map_err(|_| ClientError::Transport("connection dropped".into()))?;
        };
        tokio::pin!(rx);
        let started = Instant::now();
        loop {
            let heard = link
                .conn
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .last_frame;
            let last = heard.max(started);
            let deadline = tokio::time::Instant::from_std(last + idle);
            tokio::select! {
                r = &mut rx => {
                    return r.map_err(|_| ClientError::Transport("connection dropped".into()))?;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let c = link.conn.lock().unwrap_or_else(|p| p.into_inner());
                    if c.last_frame.max(started).elapsed() >= idle {
                        drop(c);
                        // The stream's state is unknown: the link is given up.
                        link.kill();
                        return Err(ClientError::Timeout { stage: "call", after: idle });
                    }
                }
            }
        }
    }

    /// The banner the server sent.
    pub fn banner(&self) -> &ReceivedBanner {
        &self.banner
    }

    /// Signals the server asked this process to raise (NetBSD numbers), taken out.
    pub async fn take_signals(&self) -> Vec<u32> {
        let link = self.link.read().await;
        let mut c = link.conn.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut c.session.signals)
    }

    /// Reconnects after a loss, as the policy allows (always a GUEST handshake, as librumpclient).
    async fn reconnect(&self, since: Instant) -> Result<(), ClientError> {
        let mut attempts = 0u32;
        loop {
            let allowed = match self.retry {
                RetryPolicy::Never => false,
                RetryPolicy::Once => attempts < 1,
                RetryPolicy::For(d) => since.elapsed() < d,
                RetryPolicy::Forever => true,
            };
            if !allowed {
                return Err(ClientError::GaveUp { attempts });
            }
            tokio::time::sleep(RetryPolicy::backoff(attempts)).await;
            attempts += 1;
            if let Ok((link, _)) = Client::establish(
                &self.addr,
                &self.name,
                HandshakeKind::Guest,
                None,
                &self.timeouts,
                self.auth_key.as_deref(),
            )
            .await
            {
                *self.link.write().await = link;
                return Ok(());
            }
        }
    }

    /// A raw syscall: NetBSD number and arguments. `Ok((retval, buffers))` on
    /// success, with the final contents of the `Out`/`InOut` buffers.
    pub async fn syscall(
        &self,
        sysnum: u32,
        args: Vec<Arg>,
    ) -> Result<([i64; 2], Vec<Vec<u8>>), ClientError> {
        let mut lost_at: Option<Instant> = None;
        let mut tryagain = 0u32;
        loop {
            let outcome = {
                let link = self.link.read().await;
                let a = args.clone();
                Client::call_on(
                    &link,
                    move |s| s.syscall(sysnum, a),
                    self.timeouts.call_idle,
                )
                .await
            };
            match outcome {
                Ok(CallOutcome::Syscall {
                    errno: 0,
                    retval,
                    buffers,
                }) => return Ok((retval, buffers)),
                Ok(CallOutcome::Syscall { errno, .. }) => {
                    return Err(ClientError::Errno(Errno(errno)))
                }
                // TRYAGAIN: resend with a growing back-off, a bounded number of times.
                Ok(CallOutcome::Protocol(ErrorCode::TryAgain))
                    if tryagain < self.timeouts.tryagain_retries =>
                {
                    tokio::time::sleep(ClientTimeouts::tryagain_backoff(tryagain)).await;
                    tryagain += 1;
                    continue;
                }
                Ok(CallOutcome::Protocol(code)) => return Err(ClientError::Protocol(code)),
                Ok(other) => {
                    return Err(ClientError::Transport(format!(
                        "unexpected answer {other:?}"
                    )))
                }
                Err(ClientError::Transport(e)) => {
                    if self.retry == RetryPolicy::Never {
                        return Err(ClientError::Transport(e));
                    }
                    let since = *lost_at.get_or_insert_with(Instant::now);
                    self.reconnect(since).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// PREFORK: a cookie a child connection redeems with [`Client::fork_child`].
    pub async fn prefork(&self) -> Result<PreforkCookie, ClientError> {
        let link = self.link.read().await;
        match Client::call_on(&link, |s| s.prefork(), self.timeouts.call_idle).await? {
            CallOutcome::Prefork(c) => Ok(c),
            CallOutcome::Protocol(code) => Err(ClientError::Protocol(code)),
            other => Err(ClientError::Transport(format!(
                "unexpected answer {other:?}"
            ))),
        }
    }

    /// The child side of a fork: a new connection with the FORK handshake. It
    /// shares the parent's rump-side descriptors.
    pub async fn fork_child(&self, cookie: PreforkCookie) -> Result<Client, ClientError> {
        let (link, banner) = Client::establish(
            &self.addr,
            &self.name,
            HandshakeKind::Fork,
            Some(cookie),
            &self.timeouts,
            self.auth_key.as_deref(),
        )
        .await?;
        Ok(Client {
            addr: self.addr.clone(),
            name: self.name.clone(),
            banner,
            retry: self.retry,
            timeouts: self.timeouts,
            auth_key: self.auth_key.clone(),
            link: tokio::sync::RwLock::new(link),
        })
    }

    /// prefork + fork_child in one: the child's client.
    pub async fn fork(&self) -> Result<Client, ClientError> {
        let cookie = self.prefork().await?;
        self.fork_child(cookie).await
    }

    /// The EXEC handshake on this connection: the process keeps its pid and
    /// descriptors (close-on-exec ones are closed) and takes `name`.
    pub async fn exec(&self, name: &str) -> Result<(), ClientError> {
        let link = self.link.read().await;
        match Client::call_on(
            &link,
            |s| s.handshake(HandshakeKind::Exec, name.as_bytes(), None),
            self.timeouts.call_idle,
        )
        .await?
        {
            CallOutcome::Handshake(0) => Ok(()),
            CallOutcome::Handshake(e) => Err(ClientError::Handshake(e)),
            CallOutcome::Protocol(code) => Err(ClientError::Protocol(code)),
            other => Err(ClientError::Transport(format!(
                "unexpected answer {other:?}"
            ))),
        }
    }
}
