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
use crate::server::{Accept, ConnId, Output, SeededCookies, ServerCore, ServerLimits};
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
    /// Seed for prefork cookies.
    pub seed: u64,
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

struct Shared<K: Kernel> {
    core: Mutex<ServerCore<K>>,
    writers: Mutex<BTreeMap<ConnId, WriterHandle>>,
    started: Instant,
    max_pending: usize,
    stop: Notify,
}

impl<K: Kernel> Shared<K> {
    /// Runs `f` on the core, then hands every connection's output to its writer.
    fn with_core(&self, f: impl FnOnce(&mut ServerCore<K>)) {
        let outputs = {
            let mut core = self.core.lock().unwrap_or_else(|p| p.into_inner());
            core.set_time(self.started.elapsed().as_millis() as u64);
            f(&mut core);
            core.drain()
        };
        self.deliver(outputs);
    }

    fn deliver(&self, outputs: Vec<(ConnId, Output)>) {
        let mut too_slow = Vec::new();
        {
            let mut writers = self.writers.lock().unwrap_or_else(|p| p.into_inner());
            for (id, out) in outputs {
                let Some(w) = writers.get(&id) else { continue };
                if !out.bytes.is_empty() {
                    let queued =
                        w.queued.fetch_add(out.bytes.len(), Ordering::SeqCst) + out.bytes.len();
                    if queued > self.max_pending {
                        warn!(conn = id, queued, "client is not reading: disconnecting it");
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
        let mut core = ServerCore::new(
            kernel,
            config.limits,
            &config.banner,
            Box::new(SeededCookies::new(config.seed)),
        )?;
        core.set_injected_bug(config.injected_bug);
        let listener = bind(addr, config.socket_mode).await?;
        info!(addr = %addr, "listening");
        Ok(Server {
            listener,
            shared: Arc::new(Shared {
                core: Mutex::new(core),
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
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let shared = self.shared.clone();
        let ticker = {
            let shared = shared.clone();
            let timeout = self.copyin_timeout.as_millis() as u64;
            tokio::spawn(async move {
                let mut t = tokio::time::interval(Duration::from_millis(250));
                loop {
                    t.tick().await;
                    shared.with_core(|core| {
                        core.expire_waits(timeout);
                        core.expire_preforks();
                    });
                }
            })
        };
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => {
                    info!("shutting down");
                    break;
                }
                _ = shared.stop.notified() => {
                    info!("the kernel was rebooted: shutting down");
                    break;
                }
                accepted = self.listener.accept() => match accepted {
                    Ok(stream) => accept(&shared, stream),
                    Err(e) => {
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
            }
        }
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
    }
}

fn accept<K: Kernel + Send + 'static>(shared: &Arc<Shared<K>>, stream: Stream) {
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
            return;
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
            loop {
                tokio::select! {
                    r = rd.read(&mut buf), if reading => match r {
                        Ok(0) | Err(_) => {
                            debug!(conn = id, "peer closed");
                            reading = false;
                            shared.with_core(|core| core.disconnect(id));
                            shared.writers.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                        }
                        Ok(n) => shared.with_core(|core| core.receive(id, &buf[..n])),
                    },
                    msg = rx.recv() => match msg {
                        Some(WriterMsg::Data(bytes)) => {
                            let n = bytes.len();
                            if wr.write_all(&bytes).await.is_err() {
                                break;
                            }
                            queued.fetch_sub(n, Ordering::SeqCst);
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
}
