//! The production server: a tokio accept loop, one reader and one writer task
//! per connection, all protocol state in one [`ServerCore`] behind a mutex.
//!
//! Reading a frame, running it through the core and collecting every
//! connection's output is one short critical section (the kernel never waits
//! in it: blocked calls are parked in the core). Output goes to per-connection
//! writer tasks through unbounded channels whose queued bytes are counted: a
//! client that stops reading is disconnected once it has more than
//! `max_pending_output` bytes waiting, so it can never stall the server.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};
use tracing::{debug, info, warn};

use super::listener::{bind, Listener, ListenerError, Stream};
use crate::banner::{Banner, BannerError};
use crate::kernel::Kernel;
use crate::server::{Accept, ConnId, OsCookies, Output, SeededCookies, ServerCore, ServerLimits};
use crate::url::ServerAddr;

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Protocol limits.
    pub limits: ServerLimits,
    /// The banner (defaults to what the real captures show).
    pub banner: Banner,
    /// Permission bits of a unix socket (0600 by default).
    pub socket_mode: u32,
    /// How long a client may take to answer a COPYIN/ANONMMAP before the call gets EFAULT.
    pub copyin_timeout: Duration,
    /// Seed for prefork cookies, used only when `os_cookies` is false.
    pub seed: u64,
    /// Prefork cookies from the OS random source (the default); false draws them
    /// from the stream seeded by `seed` (reproducible runs only: a client that
    /// sees its own cookie could then predict the next one).
    pub os_cookies: bool,
    /// Allow a TCP address that is not loopback (every client is root in the
    /// rump kernel, so exposing it to a network must be asked for).
    pub allow_remote: bool,
    /// Peer uids allowed on a unix socket (SO_PEERCRED); empty with `allow_gids`
    /// empty: everyone who can open the socket. A peer matching either list is served.
    pub allow_uids: Vec<u32>,
    /// Peer gids allowed on a unix socket (SO_PEERCRED).
    pub allow_gids: Vec<u32>,
    /// Require the AUTH handshake with this shared key (see [`crate::auth`]).
    pub auth_key: Option<Vec<u8>>,
    /// A bug to behave as having, for testing fuzzers (none by default).
    pub injected_bug: Option<crate::server::inject::InjectedBug>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: ServerLimits::default(),
            banner: Banner::default(),
            socket_mode: 0o600,
            copyin_timeout: Duration::from_secs(30),
            seed: 0,
            os_cookies: true,
            allow_remote: false,
            allow_uids: Vec::new(),
            allow_gids: Vec::new(),
            auth_key: None,
            injected_bug: None,
        }
    }
}

/// Why the server could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listener could not be set up.
    #[error(transparent)]
    Listen(#[from] ListenerError),
    /// The banner cannot be sent (over 95 bytes or unparseable components).
    #[error("invalid banner: {0}")]
    Banner(#[from] BannerError),
    /// The OS random source (for prefork cookies) does not work.
    #[error("no OS random source for prefork cookies: {0}")]
    Random(getrandom::Error),
    /// A non-loopback TCP address without [`ServerConfig::allow_remote`].
    #[error("{0} is not a loopback address: every client gets root in the rump kernel; allow it explicitly (serve --allow-remote) to listen there")]
    Remote(ServerAddr),
}

enum WriterMsg {
    Data(Vec<u8>),
    Close,
}

struct WriterHandle {
    tx: mpsc::UnboundedSender<WriterMsg>,
    queued: Arc<AtomicUsize>,
    /// The connection's task (aborted to drop the socket at once).
    tasks: Vec<tokio::task::AbortHandle>,
}

/// Who may connect to a unix socket, by SO_PEERCRED.
#[derive(Debug, Clone, Default)]
struct PeerFilter {
    uids: Vec<u32>,
    gids: Vec<u32>,
}

impl PeerFilter {
    /// True if the peer may be served (always, with both lists empty or on TCP).
    fn allows(&self, stream: &Stream) -> bool {
        if self.uids.is_empty() && self.gids.is_empty() {
            return true;
        }
        match stream {
            Stream::Tcp(_) => true,
            Stream::Unix(u) => match u.peer_cred() {
                Ok(c) => self.uids.contains(&c.uid()) || self.gids.contains(&c.gid()),
                Err(_) => false,
            },
        }
    }
}

struct Shared<K: Kernel> {
    core: Mutex<ServerCore<K>>,
    peers: PeerFilter,
    writers: Mutex<BTreeMap<ConnId, WriterHandle>>,
    started: Instant,
    max_pending: usize,
    stop: Notify,
}

impl<K: Kernel> Shared<K> {
    /// Runs `f` on the core, then hands every connection's output to its writer.
    fn with_core(&self, f: impl FnOnce(&mut ServerCore<K>)) {
        self.with_core_then(f);
    }

    /// [`Shared::with_core`], also telling whether `id`'s input is paused afterwards
    /// (its queued output is over the pause threshold).
    fn with_core_paused(&self, id: ConnId, f: impl FnOnce(&mut ServerCore<K>)) -> bool {
        let mut paused = false;
        self.with_core_then(|core| {
            f(core);
            paused = core.input_paused(id);
        });
        paused
    }

    fn with_core_then(&self, f: impl FnOnce(&mut ServerCore<K>)) {
        let mut over_budget = Vec::new();
        let outputs = {
            let mut core = self.core.lock().unwrap_or_else(|p| p.into_inner());
            core.set_time(self.started.elapsed().as_millis() as u64);
            f(&mut core);
            let outputs = core.drain();
            // What each writer still holds counts towards its connection's pause.
            let writers = self.writers.lock().unwrap_or_else(|p| p.into_inner());
            for (id, out) in &outputs {
                if let Some(w) = writers.get(id) {
                    let backlog = w.queued.load(Ordering::SeqCst) + out.bytes.len();
                    core.set_backlog(*id, backlog);
                }
            }
            // Over the server-wide budget, whoever is not reading its output goes.
            for (id, _) in &outputs {
                if core.output_over_budget(*id) {
                    over_budget.push(*id);
                }
            }
            outputs
        };
        self.deliver(outputs, &over_budget);
    }

    fn deliver(&self, outputs: Vec<(ConnId, Output)>, over_budget: &[ConnId]) {
        let mut too_slow = Vec::new();
        {
            let mut writers = self.writers.lock().unwrap_or_else(|p| p.into_inner());
            for (id, out) in outputs {
                let Some(w) = writers.get(&id) else { continue };
                if !out.bytes.is_empty() {
                    let queued =
                        w.queued.fetch_add(out.bytes.len(), Ordering::SeqCst) + out.bytes.len();
                    if queued > self.max_pending || over_budget.contains(&id) {
                        warn!(conn = id, queued, "client is not reading (its queue is over max_pending_output, or over output_pause with the server over max_buffered_total): disconnecting it");
                        too_slow.push(id);
                        if let Some(w) = writers.remove(&id) {
                            w.tasks.iter().for_each(tokio::task::AbortHandle::abort);
                        }
                        continue;
                    }
                    let _ = w.tx.send(WriterMsg::Data(out.bytes));
                }
                if out.close {
                    let _ = w.tx.send(WriterMsg::Close);
                    writers.remove(&id);
                }
            }
        }
        if !too_slow.is_empty() {
            self.with_core(|core| too_slow.iter().for_each(|id| core.disconnect(*id)));
        }
        let down = self
            .core
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .shutting_down();
        if down {
            self.stop.notify_one();
        }
    }
}

/// Why [`Server::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The shutdown future completed (a signal, in `rumpsp serve`).
    Shutdown,
    /// A client rebooted the kernel.
    Rebooted,
}

/// What [`Server::run`] reports when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopReport {
    /// Why it stopped.
    pub reason: StopReason,
    /// Connections accepted and served (refused ones not counted).
    pub connections: u64,
    /// Connections closed without a banner, over the connection limit.
    pub refused: u64,
}

/// A bound server, ready to run.
pub struct Server<K: Kernel> {
    listener: Listener,
    shared: Arc<Shared<K>>,
    copyin_timeout: Duration,
}

impl<K: Kernel + Send + 'static> Server<K> {
    /// Binds `addr` and prepares to serve `kernel`.
    pub async fn bind(
        addr: &ServerAddr,
        kernel: K,
        config: ServerConfig,
    ) -> Result<Server<K>, ServeError> {
        if let ServerAddr::Tcp(a) = addr {
            if !a.ip().is_loopback() {
                if !config.allow_remote {
                    return Err(ServeError::Remote(addr.clone()));
                }
                warn!(addr = %addr, "listening on a non-loopback address: every client that connects gets root in the rump kernel");
            }
        }
        let cookies: Box<dyn crate::server::CookieSource> = if config.os_cookies {
            Box::new(OsCookies::new().map_err(ServeError::Random)?)
        } else {
            Box::new(SeededCookies::new(config.seed))
        };
        let mut core = ServerCore::new(kernel, config.limits, &config.banner, cookies)?;
        if let Some(key) = config.auth_key.clone() {
            core.require_auth(key);
        }
        core.set_injected_bug(config.injected_bug);
        let listener = bind(addr, config.socket_mode).await?;
        info!(addr = %addr, "listening");
        Ok(Server {
            listener,
            shared: Arc::new(Shared {
                core: Mutex::new(core),
                peers: PeerFilter {
                    uids: config.allow_uids.clone(),
                    gids: config.allow_gids.clone(),
                },
                writers: Mutex::new(BTreeMap::new()),
                started: Instant::now(),
                max_pending: config.limits.max_pending_output,
                stop: Notify::new(),
            }),
            copyin_timeout: config.copyin_timeout,
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> Option<ServerAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes or a client reboots the kernel; then
    /// closes every connection (queued answers are flushed first) and removes
    /// the unix socket file.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> StopReport {
        let (mut connections, mut refused) = (0u64, 0u64);
        let shared = self.shared.clone();
        let ticker = {
            let shared = shared.clone();
            let timeout = self.copyin_timeout.as_millis() as u64;
            // Every 250 ms the periodic work; in between, every
            // WAKE_CHECK, the kernel's timed waits that came due (a
            // nanosleep or a poll timeout ends within WAKE_CHECK of its time).
            tokio::spawn(async move {
                const PERIOD: Duration = Duration::from_millis(250);
                const WAKE_CHECK: Duration = Duration::from_millis(5);
                let mut last = tokio::time::Instant::now();
                loop {
                    tokio::time::sleep(WAKE_CHECK.min(PERIOD.saturating_sub(last.elapsed()))).await;
                    if last.elapsed() >= PERIOD {
                        last = tokio::time::Instant::now();
                        shared.with_core(|core| {
                            core.expire_waits(timeout);
                            core.expire_preforks();
                            core.expire_handshakes();
                        });
                    } else {
                        shared.with_core(|core| {
                            if core.next_wake_ns() == Some(0) {
                                core.wake_timed();
                            }
                        });
                    }
                }
            })
        };
        tokio::pin!(shutdown);
        let mut failures = AcceptFailures::default();
        let reason = loop {
            tokio::select! {
                _ = &mut shutdown => {
                    info!("shutting down");
                    break StopReason::Shutdown;
                }
                _ = shared.stop.notified() => {
                    info!("the kernel was rebooted: shutting down");
                    break StopReason::Rebooted;
                }
                accepted = self.listener.accept() => match accepted {
                    Ok(stream) => {
                        if accept(&shared, stream) {
                            connections += 1;
                        } else {
                            refused += 1;
                        }
                    }
                    Err(e) => {
                        failures.failed(&e, Instant::now());
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
            }
        };
        ticker.abort();
        // Close everyone; writers flush what is queued, then close.
        shared.with_core(|core| {
            let ids: Vec<ConnId> = core.connections().collect();
            for id in ids {
                core.close(id);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(2);
        while !shared
            .writers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(self.listener);
        StopReport {
            reason,
            connections,
            refused,
        }
    }
}

/// Accept failures (EMFILE and the like) are logged once per interval with a count,
/// not every time the loop retries.
#[derive(Debug, Default)]
struct AcceptFailures {
    last_logged: Option<Instant>,
    suppressed: u64,
}

impl AcceptFailures {
    const INTERVAL: Duration = Duration::from_secs(5);

    /// Records a failure; returns true if it was logged.
    fn failed(&mut self, e: &std::io::Error, now: Instant) -> bool {
        if self
            .last_logged
            .is_some_and(|t| now.duration_since(t) < Self::INTERVAL)
        {
            self.suppressed += 1;
            return false;
        }
        warn!(error = %e, repeated = self.suppressed, "accept failed (logged at most every 5 s)");
        self.last_logged = Some(now);
        self.suppressed = 0;
        true
    }
}

/// Serves one accepted stream; false when it was refused (over the limit,
/// or a peer outside the uid/gid allow-list).
fn accept<K: Kernel + Send + 'static>(shared: &Arc<Shared<K>>, stream: Stream) -> bool {
    if !shared.peers.allows(&stream) {
        debug!("peer not in the uid/gid allow-list: closed without a banner");
        return false;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<WriterMsg>();
    let queued = Arc::new(AtomicUsize::new(0));
    // Accept and register the writer in one critical section, so that no other
    // task can drain this connection's banner before its writer exists.
    let decision = {
        let mut core = shared.core.lock().unwrap_or_else(|p| p.into_inner());
        let d = core.accept();
        if let Accept::Open(id) = d {
            shared
                .writers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(
                    id,
                    WriterHandle {
                        tx,
                        queued: queued.clone(),
                        tasks: Vec::new(),
                    },
                );
        }
        d
    };
    let id = match decision {
        Accept::Open(id) => id,
        Accept::Refused => {
            debug!("over the connection limit: closed without a banner");
            drop(stream);
            return false;
        }
    };
    debug!(conn = id, "accepted");
    let (mut rd, mut wr) = stream.split();
    // One task per connection: it reads requests into the core and writes what
    // the core (or another connection's activity) queued for it, whichever comes first.
    let task = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            let mut reading = true;
            let mut open = true;
            loop {
                tokio::select! {
                    r = rd.read(&mut buf), if reading => match r {
                        Ok(0) | Err(_) => {
                            debug!(conn = id, "peer closed");
                            reading = false;
                            open = false;
                            shared.with_core(|core| core.disconnect(id));
                            shared.writers.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                        }
                        // Backpressure: while this client's queued output is over the
                        // pause threshold, nothing more is read from it.
                        Ok(n) => {
                            let paused = shared.with_core_paused(id, |core| core.receive(id, &buf[..n]));
                            reading = open && !paused;
                        }
                    },
                    msg = rx.recv() => match msg {
                        Some(WriterMsg::Data(bytes)) => {
                            let n = bytes.len();
                            if wr.write_all(&bytes).await.is_err() {
                                break;
                            }
                            let left = queued.fetch_sub(n, Ordering::SeqCst) - n;
                            if !reading || left == 0 {
                                let paused = shared.with_core_paused(id, |core| core.output_written(id, left));
                                reading = open && !paused;
                            }
                        }
                        Some(WriterMsg::Close) | None => break,
                    },
                }
            }
            let _ = wr.shutdown().await;
            shared.with_core(|core| core.disconnect(id));
            shared
                .writers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            debug!(conn = id, "closed");
        })
    };
    if let Some(w) = shared
        .writers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(&id)
    {
        w.tasks = vec![task.abort_handle()];
    }
    // The banner.
    shared.with_core(|_| {});
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_are_logged_once_per_interval() {
        let mut f = AcceptFailures::default();
        let e = std::io::Error::from_raw_os_error(24);
        let t0 = Instant::now();
        assert!(f.failed(&e, t0));
        assert!(!f.failed(&e, t0 + Duration::from_millis(10)));
        assert!(!f.failed(&e, t0 + Duration::from_millis(4999)));
        assert_eq!(f.suppressed, 2);
        assert!(f.failed(&e, t0 + Duration::from_secs(5)));
        assert_eq!(f.suppressed, 0);
    }
}
