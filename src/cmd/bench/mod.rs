//! `rumpsp bench`: round-trip latency and concurrency of a rump_sp server,
//! with a plain-socket ping-pong of the same frame sizes measured in the same
//! run as the floor. Figures are printed with their ratio to the floor and to
//! the targets; nothing here is a pass/fail test.

mod client;
mod floor;
mod plot;
mod report;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use hdrhistogram::Histogram;
use rumpsp_protocol::url::{parse_url, Role};
use rumpsp_protocol::ServerAddr;

use client::{many_clients, server_rtt, wait_for, Op, Raw};
use floor::floor_rtt;
pub use floor::run_floor;
use plot::{plot_svg, Curve, Source};
use report::{row, us};

/// Options of `rumpsp bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Round trips per latency measurement.
    #[arg(long, default_value_t = 20_000)]
    pub iterations: u32,
    /// Client counts for the concurrency runs.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub clients: Vec<usize>,
    /// Seconds each concurrency run lasts.
    #[arg(long, default_value_t = 3)]
    pub seconds: u64,
    /// Skip the round-trip and 1 MiB figures (only the concurrency runs).
    #[arg(long)]
    pub skip_rtt: bool,
    /// A second server measured side by side (e.g. a real NetBSD rump_server).
    #[arg(long, value_name = "URL")]
    pub against: Option<String>,
    /// Draw the round-trip latency distributions (percentile curves) into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// A child process (a server or a floor) killed when dropped.
struct Child_(Child);

impl Drop for Child_ {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> anyhow::Result<Child_> {
    let exe = std::env::current_exe().context("locating the rumpsp binary")?;
    let child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(Child_(child))
}

fn spawn_server(url: &str) -> anyhow::Result<Child_> {
    spawn(&["serve", url, "--max-connections", "20000"])
}

/// Runs the benchmark against `server` (default: `rumpsp serve` children it starts).
pub fn run(a: BenchArgs, server: Option<&str>) -> anyhow::Result<()> {
    let server = server.map(str::to_owned);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let dir = tempfile::tempdir()?;
        let mut children = Vec::new();
        let (unix, tcp) = match &server {
            Some(url) => {
                let addr = parse_url(url, Role::Client)?;
                match addr {
                    ServerAddr::Unix(_) => (Some(addr), None),
                    ServerAddr::Tcp(_) => (None, Some(addr)),
                }
            }
            None => {
                let sock: PathBuf = dir.path().join("bench.sock");
                let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
                children.push(spawn_server(&format!("unix://{}", sock.display()))?);
                children.push(spawn_server(&format!("tcp://127.0.0.1:{port}/"))?);
                (Some(ServerAddr::Unix(sock)), Some(parse_url(&format!("tcp://127.0.0.1:{port}/"), Role::Client)?))
            }
        };
        for addr in unix.iter().chain(tcp.iter()) {
            wait_for(addr).await?;
        }
        println!("rumpsp bench: {} round trips per latency figure; floor = plain socket ping-pong of the same frame sizes, same run", a.iterations);
        match &server {
            Some(url) => println!("server: {url}"),
            None => println!(
                "server: rumpsp serve, started by bench on a private unix socket and on TCP 127.0.0.1"
            ),
        }
        // The floor runs in its own process, as the server does.
        let floor_sock = dir.path().join("floor.sock");
        let floor_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        children.push(spawn(&["bench-floor", &format!("unix://{}", floor_sock.display())])?);
        children.push(spawn(&["bench-floor", &format!("tcp://127.0.0.1:{floor_port}/")])?);
        let floor_unix = ServerAddr::Unix(floor_sock);
        let floor_tcp = parse_url(&format!("tcp://127.0.0.1:{floor_port}/"), Role::Client)?;
        wait_for(&floor_unix).await?;
        wait_for(&floor_tcp).await?;
        let against = match &a.against {
            Some(url) => {
                let addr = parse_url(url, Role::Client)
                    .with_context(|| format!("invalid --against URL {url:?}"))?;
                wait_for(&addr).await?;
                Some((url.clone(), addr))
            }
            None => None,
        };
        let mut curves: Vec<Curve> = Vec::new();
        let ops = [(Op::Getpid, "getpid", a.iterations, Some(1.3)), (Op::Pwrite, "pwrite 4 KiB", a.iterations / 4, None), (Op::Pread, "pread 4 KiB", a.iterations / 4, None)];
        for (name, addr, floor) in [("unix", &unix, &floor_unix), ("tcp", &tcp, &floor_tcp)] {
            if a.skip_rtt {
                break;
            }
            let Some(addr) = addr.as_ref() else { continue };
            for (op, what, n, target) in ops {
                let f = floor_rtt(floor, n, op).await?;
                let s = server_rtt(addr, n, op).await?;
                row(&format!("{what} round trip ({name})"), &s, &f, target);
                curves.push(Curve::new(what, name, Source::Rumpsp, s));
                curves.push(Curve::new(what, name, Source::Floor, f));
            }
        }
        if let Some((url, addr)) = against.as_ref().filter(|_| !a.skip_rtt) {
            let floor = if matches!(addr, ServerAddr::Unix(_)) { &floor_unix } else { &floor_tcp };
            for (op, what, n, _) in ops {
                let f = floor_rtt(floor, n, op).await?;
                match server_rtt(addr, n, op).await {
                    Ok(s) => {
                        row(&format!("{what} round trip (against)"), &s, &f, None);
                        let transport = if matches!(addr, ServerAddr::Unix(_)) { "unix" } else { "tcp" };
                        curves.push(Curve::new(what, transport, Source::Against(url.clone()), s));
                    }
                    Err(e) => println!("{what} round trip (against {url}): could not run: {e:#}"),
                }
            }
        }
        if let Some(path) = &a.plot {
            std::fs::write(path, plot_svg(&curves))
                .with_context(|| format!("writing {}", path.display()))?;
            println!("latency distributions drawn into {}", path.display());
        }
        if let Some(addr) = unix.as_ref().or(tcp.as_ref()) {
            let floor_unix_or_tcp = if unix.is_some() { floor_unix.clone() } else { floor_tcp.clone() };
            let mut c = Raw::new(addr).await?;
            let (e, fd, _) = if a.skip_rtt { (-1, 0, 0) } else { c.call(5, &[0x1000, 0x202, 0o644], b"/tmp/bench-1m\0").await? };
            if e == 0 {
                let data = vec![0x5au8; 1 << 20];
                let mut h = Histogram::<u64>::new(3)?;
                let mut last = (0, 0, 0);
                for _ in 0..20 {
                    let t = Instant::now();
                    last = c.call(174, &[fd as u64, 0x10_0000, 1 << 20, 0, 0], &data).await?;
                    h.record(t.elapsed().as_nanos() as u64)?;
                }
                let (e, n, copyins) = last;
                // the floor: the same frames (request, 1 MiB COPYIN answer, response) ping-ponged
                let mut f = Histogram::<u64>::new(3)?;
                let mut fc = Raw::new(&floor_unix_or_tcp).await?;
                for _ in 0..20 {
                    let t = Instant::now();
                    fc.call(174, &[3, 0x10_0000, 1 << 20, 0, 0], &data).await?;
                    f.record(t.elapsed().as_nanos() as u64)?;
                }
                row("1 MiB pwrite round trip (20 runs)", &h, &f, None);
                println!(
                    "{:<34} {n} bytes each (errno {e}) in {copyins} COPYIN round trip(s); the real server needs 256 of 4 KiB",
                    ""
                );
            }
            for &n in &a.clients {
                // Up to 1,000 clients call back to back (saturation: throughput); 10,000
                // are held connected and call once a second each (latency under load).
                let pace = (n >= 10_000).then_some(Duration::from_secs(1));
                match many_clients(addr, n, a.seconds, pace).await {
                    Ok((calls, h, setup)) => {
                        println!(
                            "{:<34} {:>10.0} getpid/s   p50 {:>10}  p99 {:>10}   ({n} connected in {:.2} s){}",
                            if pace.is_some() { format!("{n} clients, 1 getpid/s each") } else { format!("{n} clients, back to back") },
                            calls as f64 / a.seconds as f64,
                            us(h.value_at_quantile(0.5)),
                            us(h.value_at_quantile(0.99)),
                            setup.as_secs_f64(),
                            if n >= 10_000 { format!("   target p99 ≤ 5 ms: {}", if h.value_at_quantile(0.99) <= 5_000_000 { "met" } else { "MISSED" }) } else { String::new() }
                        );
                        // the same load on the ping-pong floor
                        match many_clients(&floor_unix_or_tcp, n, a.seconds, pace).await {
                            Ok((fcalls, f, _)) => println!(
                                "{:<34} {:>10.0} getpid/s   p50 {:>10}  p99 {:>10}   ratio p50 {:.2}x, p99 {:.2}x",
                                "  floor, same load",
                                fcalls as f64 / a.seconds as f64,
                                us(f.value_at_quantile(0.5)),
                                us(f.value_at_quantile(0.99)),
                                h.value_at_quantile(0.5) as f64 / f.value_at_quantile(0.5).max(1) as f64,
                                h.value_at_quantile(0.99) as f64 / f.value_at_quantile(0.99).max(1) as f64,
                            ),
                            Err(e) => println!("  floor with {n} clients: could not run: {e:#}"),
                        }
                    }
                    Err(e) => println!("{n} concurrent clients: could not run: {e:#}"),
                }
            }
        }
        drop(children);
        anyhow::Ok(())
    })
}
