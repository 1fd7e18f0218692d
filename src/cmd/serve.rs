//! `rumpsp serve URL`: the simulated kernel behind the production server.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use rumpsp_protocol::net::{Server, ServerConfig};
use rumpsp_protocol::url::{parse_url, Role};
use rumpsp_protocol::Banner;
use rumpsp_sim_kernel::{SimConfig, SimKernel};

/// Options of `rumpsp serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Where to listen: unix://PATH, unix:///ABS/PATH or tcp://ADDR:PORT/ (ADDR may be 0 or *).
    pub url: String,
    /// Seed for everything random in the kernel and for prefork cookies.
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
    /// kern.hostname at boot.
    #[arg(long, default_value = "rump-00001.rumpsp")]
    pub hostname: String,
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
    /// Testing fuzzers: behave as having this bug (see protocol/src/server/inject.rs).
    #[arg(long, hide = true)]
    pub inject_bug: Option<rumpsp_protocol::server::inject::InjectedBug>,
}

fn parse_octal(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .map_err(|e| format!("not an octal mode: {e}"))
}

/// Runs the server until SIGINT/SIGTERM or a client's reboot.
pub fn run(a: ServeArgs) -> anyhow::Result<()> {
    let addr = parse_url(&a.url, Role::Server)
        .with_context(|| format!("invalid server URL {:?}", a.url))?;
    let mut config = ServerConfig {
        banner: Banner::new(&a.ostype, &a.osrelease, &a.machine),
        socket_mode: a.socket_mode,
        copyin_timeout: Duration::from_secs(a.copyin_timeout),
        seed: a.seed,
        injected_bug: a.inject_bug,
        ..Default::default()
    };
    config.limits.max_connections = a.max_connections;
    let kernel = SimKernel::new(SimConfig {
        seed: a.seed,
        hostname: a.hostname,
        max_procs: a.max_procs,
        ..Default::default()
    });
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = a.threads {
        builder.worker_threads(n.max(1));
    }
    let rt = builder.enable_all().build()?;
    rt.block_on(async move {
        let server = Server::bind(&addr, kernel, config).await?;
        if let Some(local) = server.local_addr() {
            eprintln!("rumpsp: serving the simulated kernel on {local}");
        }
        server.run(shutdown_signal()).await;
        anyhow::Ok(())
    })
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
