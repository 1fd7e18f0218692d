//! `rumpsp serve URL`: the simulated kernel behind the production server.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use rumpsp_protocol::net::{Server, ServerConfig, StopReason, StopReport};
use rumpsp_protocol::url::{parse_url, Role};
use rumpsp_protocol::Banner;
use rumpsp_sim_kernel::{ClockSource, Components, SimConfig, SimKernel};

/// Options of `rumpsp serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Where to listen: unix://PATH, unix:///ABS/PATH or tcp://ADDR:PORT/ (ADDR may be 0 or *).
    pub url: String,
    /// Seed for everything random in the kernel (prefork cookies come from the OS random source).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Permission bits of a unix socket, octal (every client is root in the rump kernel).
    #[arg(long, default_value = "600", value_parser = parse_octal)]
    pub socket_mode: u32,
    /// Banner ostype.
    #[arg(long, default_value = "NetBSD")]
    pub ostype: String,
    /// Banner osrelease.
    #[arg(long, default_value = "7.99.34")]
    pub osrelease: String,
    /// Banner machine.
    #[arg(long, default_value = "amd64")]
    pub machine: String,
    /// kern.hostname at boot [default: rump-<pid>.<host name>, as a real
    /// rump_server names itself: its process id in five digits and the host's
    /// name].
    #[arg(long)]
    pub hostname: Option<String>,
    /// Seconds a client may take to answer a COPYIN before the call fails with EFAULT.
    #[arg(long, default_value_t = 30)]
    pub copyin_timeout: u64,
    /// Connections served at once (one more is closed without a banner).
    #[arg(long, default_value_t = 16384)]
    pub max_connections: usize,
    /// Runtime worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Processes the simulated kernel holds at once.
    #[arg(long, default_value_t = 32768)]
    pub max_procs: usize,
    /// MiB of memory the simulated kernel gives its file systems and pipes
    /// (file data, nodes, names, symlink targets, pipe buffers; past it tmpfs
    /// says ENOSPC and pipe(2) ENOMEM). 256 by default: with the protocol's
    /// 192 MiB of buffers (ServerLimits::max_buffered_total) a server under
    /// any attack stays under 512 MiB resident. statvfs still reports what a
    /// real rump kernel does (512 MiB free).
    #[arg(long, default_value_t = 256)]
    pub memory_pool_mib: u64,
    /// Where the kernel's time comes from: `host` (file stamps, gettimeofday
    /// and clock_gettime give the host's time, as a real rump server's do) or
    /// `virtual` (starts at a fixed date and moves only with the syscalls:
    /// two runs of the same calls give identical stamps).
    #[arg(long, value_enum, default_value_t = ClockArg::Host)]
    pub clock: ClockArg,
    /// The kernel components, comma-separated, as `rump_server -l` loads them:
    /// vfs (file systems), tmpfs, net (sockets, interfaces), local (AF_LOCAL),
    /// inet (AF_INET, lo0 up at boot), inet6, fifo (fifofs in effect), or
    /// none. The default is what `rump_server -lrumpvfs -lrumpfs_tmpfs` has.
    #[arg(long, default_value = "vfs,tmpfs")]
    pub components: Components,
    /// Testing fuzzers: behave as having this bug (see protocol/src/server/inject.rs).
    #[arg(long, hide = true)]
    pub inject_bug: Option<rumpsp_protocol::server::inject::InjectedBug>,
    #[command(flatten)]
    pub access: AccessArgs,
}

/// `--clock`: the kernel's time source.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockArg {
    /// The host's time.
    Host,
    /// The deterministic virtual clock.
    Virtual,
}

/// Who may connect (every client is root in the rump kernel).
#[derive(Args, Debug, Default)]
pub struct AccessArgs {
    /// Allow a TCP address that is not loopback: anyone who can reach it gets root
    /// in the rump kernel.
    #[arg(long)]
    pub allow_remote: bool,
    /// Serve only unix-socket peers with this uid (SO_PEERCRED); repeatable.
    #[arg(long = "allow-uid", value_name = "UID")]
    pub allow_uids: Vec<u32>,
    /// Serve only unix-socket peers with this gid (SO_PEERCRED); repeatable.
    #[arg(long = "allow-gid", value_name = "GID")]
    pub allow_gids: Vec<u32>,
    /// Require the AUTH handshake (HMAC-SHA256 challenge-response) with the key in
    /// FILE (at least 16 bytes); clients set RUMP_AUTH_KEY to the same file.
    #[arg(long, value_name = "FILE")]
    pub auth_key: Option<std::path::PathBuf>,
}

/// Puts the access options into the server configuration, warning about a remote listener.
fn apply_access(
    a: &AccessArgs,
    addr: &rumpsp_protocol::url::ServerAddr,
    config: &mut ServerConfig,
) -> anyhow::Result<()> {
    config.allow_remote = a.allow_remote;
    config.allow_uids = a.allow_uids.clone();
    config.allow_gids = a.allow_gids.clone();
    if let Some(path) = &a.auth_key {
        config.auth_key = Some(rumpsp_protocol::auth::read_key_file(path)?);
    }
    if let rumpsp_protocol::url::ServerAddr::Tcp(t) = addr {
        if a.allow_remote && !t.ip().is_loopback() {
            eprintln!(
                "rumpsp: warning: listening on {t}, not a loopback address: every client that connects gets root in the rump kernel"
            );
        }
    }
    Ok(())
}

fn parse_octal(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .map_err(|e| format!("not an octal mode: {e}"))
}

/// `rump-%05d.%s` of the server's process id and the host's name, as
/// rumpkern's hostname initialisation makes it (a host name that cannot be
/// read is "localhost").
fn default_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length; gethostname writes
    // at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let host = if rc == 0 {
        let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..n]).into_owned()
    } else {
        String::new()
    };
    let host = if host.is_empty() {
        "localhost".to_owned()
    } else {
        host
    };
    format!("rump-{:05}.{host}", std::process::id())
}

/// The simulated kernel's configuration from the options.
fn sim_config(a: &ServeArgs) -> SimConfig {
    SimConfig {
        seed: a.seed,
        hostname: a.hostname.clone().unwrap_or_else(default_hostname),
        max_procs: a.max_procs,
        memory_pool: a.memory_pool_mib.saturating_mul(1 << 20),
        clock: match a.clock {
            ClockArg::Host => ClockSource::Host,
            ClockArg::Virtual => ClockSource::Virtual,
        },
        components: a.components,
        ..Default::default()
    }
}

/// Runs the server until SIGINT/SIGTERM or a client's reboot.
pub fn run(a: ServeArgs) -> anyhow::Result<()> {
    let addr = parse_url(&a.url, Role::Server)
        .with_context(|| format!("invalid server URL {:?}", a.url))?;
    if let rumpsp_protocol::ServerAddr::Unix(p) = &addr {
        if a.url.trim_start_matches("unix://").is_empty() || p.is_dir() {
            anyhow::bail!(
                "invalid server URL {:?}: a unix URL needs a socket file name, e.g. unix:///tmp/rump.sock ({} is a directory)",
                a.url,
                p.display()
            );
        }
    }
    let mut config = ServerConfig {
        banner: Banner::new(&a.ostype, &a.osrelease, &a.machine),
        socket_mode: a.socket_mode,
        copyin_timeout: Duration::from_secs(a.copyin_timeout),
        seed: a.seed,
        injected_bug: a.inject_bug,
        ..Default::default()
    };
    config.limits.max_connections = a.max_connections;
    apply_access(&a.access, &addr, &mut config)?;
    let kernel = SimKernel::new(sim_config(&a));
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = a.threads {
        builder.worker_threads(n.max(1));
    }
    report_fd_limit();
    let rt = builder.enable_all().build()?;
    rt.block_on(async move {
        let server = Server::bind(&addr, kernel, config).await?;
        if let Some(local) = server.local_addr() {
            eprintln!("rumpsp: serving the simulated kernel on {local}");
        }
        let stop = server.run(shutdown_signal()).await;
        eprintln!("rumpsp: {}", stop_line(&stop));
        anyhow::Ok(())
    })
}

/// The one line `rumpsp serve` prints when it stops: why, and how many
/// connections it served.
fn stop_line(stop: &StopReport) -> String {
    let why = match stop.reason {
        StopReason::Shutdown => "stopped by a signal (SIGINT or SIGTERM)",
        StopReason::Rebooted => "stopped: a client rebooted the kernel",
    };
    let n = stop.connections;
    let mut line = format!(
        "{why}; served {n} connection{}",
        if n == 1 { "" } else { "s" }
    );
    if stop.refused > 0 {
        line.push_str(&format!(", refused {}", stop.refused));
    }
    line
}

/// Raises the soft open-file limit to the hard one and says what it got.
fn report_fd_limit() {
    match rumpsp_protocol::net::raise_fd_limit() {
        Ok(l) if l.now > l.before => {
            eprintln!(
                "rumpsp: open-file limit raised from {} to {}",
                l.before, l.now
            )
        }
        Ok(l) => eprintln!("rumpsp: open-file limit {} (hard limit {})", l.now, l.hard),
        Err(e) => eprintln!("rumpsp: cannot raise the open-file limit: {e}"),
    }
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> ServeArgs {
        use clap::Parser;
        let mut v = vec!["serve", "unix:///tmp/x.sock"];
        v.extend_from_slice(args);
        Cli::parse_from(v).serve
    }

    #[test]
    fn the_kernel_pool_is_256_mib_by_default_and_set_in_mib() {
        assert_eq!(sim_config(&parse(&[])).memory_pool, 256 << 20);
        let a = parse(&["--memory-pool-mib", "1"]);
        assert_eq!(sim_config(&a).memory_pool, 1 << 20);
        // a kernel booted with it refuses growth past the pool
        let mut k = SimKernel::new(sim_config(&a));
        assert!(k.pool_used() < 1 << 20);
        k.config.memory_pool = k.pool_used();
        assert!(k.check_invariants().is_ok());
        k.config.memory_pool -= 1;
        assert!(k.check_invariants().is_err());
    }

    #[test]
    fn the_clock_is_the_hosts_by_default_and_virtual_on_request() {
        assert_eq!(sim_config(&parse(&[])).clock, ClockSource::Host);
        let v = sim_config(&parse(&["--clock", "virtual"]));
        assert_eq!(v.clock, ClockSource::Virtual);
        assert_eq!(
            sim_config(&parse(&["--clock", "host"])).clock,
            ClockSource::Host
        );
        use clap::Parser;
        assert!(Cli::try_parse_from(["serve", "unix:///tmp/x", "--clock", "cpu"]).is_err());
    }

    #[test]
    fn kern_hostname_is_rump_pid_dot_host_unless_given() {
        let h = sim_config(&parse(&[])).hostname;
        let pid = format!("rump-{:05}.", std::process::id());
        assert!(h.starts_with(&pid), "{h}");
        assert!(h.len() > pid.len(), "a host name follows: {h}");
        assert_eq!(sim_config(&parse(&["--hostname", "box"])).hostname, "box");
    }

    #[test]
    fn the_stop_line_says_why_and_how_many() {
        let s = |reason, connections, refused| {
            stop_line(&StopReport {
                reason,
                connections,
                refused,
            })
        };
        assert_eq!(
            s(StopReason::Shutdown, 1, 0),
            "stopped by a signal (SIGINT or SIGTERM); served 1 connection"
        );
        assert_eq!(
            s(StopReason::Rebooted, 3, 2),
            "stopped: a client rebooted the kernel; served 3 connections, refused 2"
        );
    }
}
