//! The server under fuzzing: one started by `--server-cmd` (its pid known, so
//! exits, signals and memory growth are seen, and it is restarted after a
//! crash) or one at a `--server` URL (seen only through its sockets).

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rumpsp_conformance::socket::SocketWire;
use rumpsp_conformance::wire::Wire;
use rumpsp_protocol::url::{parse_url, Role, ServerAddr};

use crate::cmd::spawned::Spawned;

/// Where the server is.
pub(crate) enum Server {
    /// Started by us.
    Spawn {
        /// The command, with `{url}`.
        cmd: String,
        /// The running process.
        sp: Box<Spawned>,
        /// Its resident memory when it was started, in KiB.
        rss0: Option<u64>,
    },
    /// A server someone else runs.
    Url(ServerAddr),
}

const HOSTNAME: &str = "rumpsp";

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Server {
    /// Starts `cmd` and waits until it serves.
    pub(crate) fn spawn(cmd: &str) -> anyhow::Result<Server> {
        let sp = Spawned::start(cmd, HOSTNAME)?;
        let rss0 = rss_kib(sp.child.id());
        Ok(Server::Spawn {
            cmd: cmd.to_owned(),
            sp: Box::new(sp),
            rss0,
        })
    }

    /// A server at `url`, which must serve a client now.
    pub(crate) fn at(url: &str) -> anyhow::Result<Server> {
        let addr =
            parse_url(url, Role::Client).with_context(|| format!("invalid server URL {url:?}"))?;
        let mut probe = SocketWire::new(addr.clone());
        match probe.connect() {
            Ok((c, _)) => probe.close(c),
            Err(e) => bail!("the server at {url} does not serve a client: {e}"),
        }
        Ok(Server::Url(addr))
    }

    /// A transport to it that waits at most 20 ms for each read.
    pub(crate) fn wire(&self) -> SocketWire {
        let addr = match self {
            Server::Spawn { sp, .. } => sp.addr.clone(),
            Server::Url(a) => a.clone(),
        };
        let mut w = SocketWire::new(addr);
        w.patience = Duration::from_millis(20);
        w
    }

    /// The banner line (with its newline) a new connection gets.
    pub(crate) fn banner(&self) -> anyhow::Result<Vec<u8>> {
        let mut w = self.wire();
        let (c, got) = w.connect().map_err(|e| anyhow::anyhow!("no banner: {e}"))?;
        w.close(c);
        let end = got
            .iter()
            .position(|&b| b == b'\n')
            .map_or(got.len(), |i| i + 1);
        Ok(got[..end].to_vec())
    }

    /// How the process ended, if it did (waiting up to `wait` for it).
    pub(crate) fn exited(&mut self, wait: Duration) -> Option<String> {
        let Server::Spawn { sp, .. } = self else {
            return None;
        };
        let t = Instant::now();
        loop {
            match sp.child.try_wait() {
                Ok(Some(st)) => {
                    return Some(match (st.code(), st.signal()) {
                        (_, Some(sig)) => {
                            format!("the server was killed by signal {sig}{}", signal_name(sig))
                        }
                        (Some(code), _) => format!("the server exited with status {code}"),
                        _ => format!("the server ended: {st}"),
                    })
                }
                Ok(None) if t.elapsed() < wait => std::thread::sleep(Duration::from_millis(5)),
                _ => return None,
            }
        }
    }

    /// Growth of resident memory since the start, in KiB (spawned servers only).
    pub(crate) fn rss_growth_kib(&self) -> Option<u64> {
        match self {
            Server::Spawn { sp, rss0, .. } => {
                Some(rss_kib(sp.child.id())?.saturating_sub((*rss0)?))
            }
            Server::Url(_) => None,
        }
    }

    /// A fresh server in place of this one (a URL server cannot be restarted).
    pub(crate) fn restart(&mut self) -> anyhow::Result<()> {
        match self {
            Server::Spawn { cmd, .. } => {
                let cmd = cmd.clone();
                *self = Server::spawn(&cmd)?;
                Ok(())
            }
            Server::Url(a) => bail!("the server at {a:?} stopped serving and cannot be restarted"),
        }
    }

    /// Whether it can be restarted.
    pub(crate) fn restartable(&self) -> bool {
        matches!(self, Server::Spawn { .. })
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGBUS => " (SIGBUS)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGILL => " (SIGILL)",
        libc::SIGFPE => " (SIGFPE)",
        _ => "",
    }
}
