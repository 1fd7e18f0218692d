//! Servers started by `--server-cmd` (conformance, fuzz): a command with
//! `{url}` (and `{hostname}`) placeholders, run in its own process group,
//! ready once it sends a banner, and stopped with its group when dropped.

use std::os::unix::process::CommandExt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rumpsp_conformance::socket::SocketWire;
use rumpsp_conformance::wire::Wire;
use rumpsp_protocol::url::{parse_url, Role, ServerAddr};

/// A server started by `--server-cmd`; killed when dropped.
pub(crate) struct Spawned {
    pub(crate) child: std::process::Child,
    pub(crate) addr: ServerAddr,
    _dir: tempfile::TempDir,
}

impl Spawned {
    /// Starts `cmd` and waits until it serves (10 s at most).
    pub(crate) fn start(cmd: &str, hostname: &str) -> anyhow::Result<Spawned> {
        let dir = tempfile::tempdir()?;
        let url = format!("unix://{}", dir.path().join("rump.sock").display());
        let addr = parse_url(&url, Role::Client)?;
        // `exec`: the shell becomes the server; its own process group: a
        // compound command is stopped whole.
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "exec {}",
                cmd.replace("{url}", &url).replace("{hostname}", hostname)
            ))
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("starting {cmd:?}"))?;
        if let Ok(mut v) = LIVE_SERVERS.lock() {
            v.push(child.id());
        }
        let mut me = Spawned {
            child,
            addr,
            _dir: dir,
        };
        let t = Instant::now();
        let mut reachable_since = None;
        loop {
            // Ready once it sends a whole banner. No handshake: a guest
            // handshake makes a process, which would take the pid the
            // recording's first client had (the pids rule compares pids
            // exactly on a server with the recording's history).
            let mut probe = SocketWire::new(me.addr.clone());
            match probe.connect() {
                Ok((c, banner)) if banner.ends_with(b"\n") => {
                    probe.close(c);
                    SERVERS_SERVED.fetch_add(1, Ordering::Relaxed);
                    return Ok(me);
                }
                Err(e) if t.elapsed() > Duration::from_secs(10) => {
                    bail!("the server started by {cmd:?} did not serve within 10 s: {e}")
                }
                _ => {}
            }
            // It accepts but sends no banner: a server under test, not a
            // harness failure; the verdicts will say so.
            if SocketWire::new(me.addr.clone()).connect().is_ok() {
                let since = *reachable_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(1) {
                    SERVERS_SERVED.fetch_add(1, Ordering::Relaxed);
                    return Ok(me);
                }
            }
            if let Ok(Some(st)) = me.child.try_wait() {
                bail!("the server started by {cmd:?} exited: {st}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Servers started by `--server-cmd` that accepted connections. None at all
/// in a run means the command is not a server: the harness could not run.
pub(crate) static SERVERS_SERVED: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// Process groups of the servers started and not yet stopped: a job
/// abandoned at its timeout still owns its server, so the run stops them at the end.
static LIVE_SERVERS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn kill_group(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(std::process::Stdio::null())
        .status();
}

/// Stops the servers of abandoned jobs.
pub(crate) fn stop_leftover_servers() {
    let pids = LIVE_SERVERS
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default();
    for pid in pids {
        kill_group(pid);
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(mut v) = LIVE_SERVERS.lock() {
            v.retain(|&p| p != self.child.id());
        }
        // the whole group, then the leader
        kill_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
