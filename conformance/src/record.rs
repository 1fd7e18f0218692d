//! `rumpsp record`: a transparent proxy between any rump_sp client and server
//! that forwards every byte unchanged (malformed frames included) and writes
//! every connection of the session into one capture, in the `rumpsp-tap/1`
//! JSON-lines format of `traces/real/` (so the replayer and every other reader
//! of captures take it as it is).

use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rumpsp_protocol::net::{bind, Stream};
use rumpsp_protocol::ServerAddr;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The output file.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The listening socket.
    #[error(transparent)]
    Listen(#[from] rumpsp_protocol::net::ListenerError),
}

struct Sink {
    file: std::fs::File,
    start: Instant,
}

impl Sink {
    fn line(&mut self, v: serde_json::Value) {
        let _ = writeln!(self.file, "{v}");
        let _ = self.file.flush();
    }

    fn t_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

/// An RFC 3339 UTC timestamp of the host clock (recording metadata only).
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (year, month, day, rem) = crate::render::utc_civil(d.as_secs() as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_micros()
    )
}

async fn dial(
    addr: &ServerAddr,
) -> std::io::Result<(
    Box<dyn AsyncRead + Send + Unpin>,
    Box<dyn AsyncWrite + Send + Unpin>,
)> {
    Ok(match addr {
        ServerAddr::Tcp(a) => {
            let s = tokio::net::TcpStream::connect(a).await?;
            let _ = s.set_nodelay(true);
            let (r, w) = s.into_split();
            (Box::new(r), Box::new(w))
        }
        ServerAddr::Unix(p) => {
            let (r, w) = tokio::net::UnixStream::connect(p).await?.into_split();
            (Box::new(r), Box::new(w))
        }
    })
}

/// Copies one direction, recording every chunk; returns when the source ends.
async fn pump(
    mut from: Box<dyn AsyncRead + Send + Unpin>,
    mut to: Box<dyn AsyncWrite + Send + Unpin>,
    sink: Arc<Mutex<Sink>>,
    conn: u64,
    dir: &'static str,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        {
            let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
            let t = s.t_ns();
            let hex: String = buf[..n].iter().map(|b| format!("{b:02x}")).collect();
            s.line(json!({"conn": conn, "dir": dir, "t_ns": t, "hex": hex}));
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    {
        let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
        let t = s.t_ns();
        s.line(json!({"conn": conn, "event": "eof", "t_ns": t, "dir": dir}));
    }
    let _ = to.shutdown().await;
}

/// Proxies `listen` → `upstream`, recording into `out`, until `stop` completes.
pub async fn record(
    listen: &ServerAddr,
    upstream: &ServerAddr,
    out: &Path,
    scenario: &str,
    stop: impl Future<Output = ()>,
) -> Result<(), RecordError> {
    let file = std::fs::File::create(out).map_err(|source| RecordError::Output {
        path: out.display().to_string(),
        source,
    })?;
    let sink = Arc::new(Mutex::new(Sink {
        file,
        start: Instant::now(),
    }));
    sink.lock().unwrap_or_else(|p| p.into_inner()).line(json!({
        "type": "meta",
        "format": "rumpsp-tap/1",
        "scenario": scenario,
        "server_cmd": "",
        "client_cmd": "",
        "date": now_rfc3339(),
        "upstream": upstream.to_string(),
        "listen": [listen.to_string()],
        "server_run": scenario,
        "recorder": concat!("rumpsp record ", env!("CARGO_PKG_VERSION")),
    }));
    let listener = bind(listen, 0o600).await?;
    let mut next = 1u64;
    let mut tasks = Vec::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok(stream) = accepted else { continue };
                let conn = next;
                next += 1;
                let sink = sink.clone();
                let upstream = upstream.clone();
                tasks.push(tokio::spawn(async move {
                    let t = sink.lock().unwrap_or_else(|p| p.into_inner()).t_ns();
                    sink.lock().unwrap_or_else(|p| p.into_inner()).line(json!({"conn": conn, "event": "open", "t_ns": t, "upstream": upstream.to_string()}));
                    let (cr, cw) = match stream { Stream::Tcp(s) => { let (r, w) = s.into_split(); (Box::new(r) as Box<dyn AsyncRead + Send + Unpin>, Box::new(w) as Box<dyn AsyncWrite + Send + Unpin>) } Stream::Unix(s) => { let (r, w) = s.into_split(); (Box::new(r) as _, Box::new(w) as _) } };
                    match dial(&upstream).await {
                        Ok((ur, uw)) => {
                            let a = tokio::spawn(pump(cr, uw, sink.clone(), conn, "c2s"));
                            let b = tokio::spawn(pump(ur, cw, sink.clone(), conn, "s2c"));
                            let _ = a.await;
                            let _ = b.await;
                        }
                        Err(e) => {
                            let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                            let t = s.t_ns();
                            s.line(json!({"conn": conn, "event": "error", "t_ns": t, "error": e.to_string()}));
                        }
                    }
                    {
                        let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                        let t = s.t_ns();
                        s.line(json!({"conn": conn, "event": "close", "t_ns": t}));
                    }
                }));
            }
        }
    }
    drop(listener);
    for t in tasks {
        t.abort();
        let _ = t.await;
    }
    let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
    let t = s.t_ns();
    s.line(json!({"type": "end", "t_ns": t, "connections": next - 1}));
    Ok(())
}
