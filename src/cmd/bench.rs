//! `rumpsp bench`: round-trip latency and concurrency of a rump_sp server,
//! with a plain-socket ping-pong of the same frame sizes measured in the same
//! run as the floor. Figures are printed with their ratio to the floor and to
//! the targets; nothing here is a pass/fail test.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use hdrhistogram::Histogram;
use rumpsp_protocol::url::{parse_url, Role};
use rumpsp_protocol::{Abi, Frame, Handshake, Message, ServerAddr, SyscallReq};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

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

/// The round trip measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// getpid: 24 bytes out, 48 back.
    Getpid,
    /// pwrite 4 KiB: the data travels in a COPYIN answer.
    Pwrite,
    /// pread 4 KiB: the data comes back in a COPYOUT.
    Pread,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn connect(addr: &ServerAddr) -> anyhow::Result<Box<dyn Io>> {
    Ok(match addr {
        ServerAddr::Tcp(a) => {
            let s = TcpStream::connect(a).await?;
            s.set_nodelay(true)?;
            Box::new(s)
        }
        ServerAddr::Unix(p) => Box::new(UnixStream::connect(p).await?),
    })
}

/// Reads one whole frame into `buf`; returns its length.
async fn read_frame(s: &mut Box<dyn Io>, buf: &mut Vec<u8>) -> anyhow::Result<usize> {
    buf.resize(24, 0);
    s.read_exact(&mut buf[..24]).await?;
    let len = u64::from_le_bytes(buf[..8].try_into().unwrap_or([0; 8])) as usize;
    if !(24..=(64 << 20)).contains(&len) {
        bail!("bad frame length {len}");
    }
    buf.resize(len, 0);
    s.read_exact(&mut buf[24..len]).await?;
    Ok(len)
}

/// A connected, handshaken rump_sp client (raw frames, one call at a time).
struct Raw {
    s: Box<dyn Io>,
    buf: Vec<u8>,
    reqno: u64,
}

impl Raw {
    async fn new(addr: &ServerAddr) -> anyhow::Result<Raw> {
        let mut s = connect(addr).await?;
        let mut banner = Vec::new();
        let mut b = [0u8; 1];
        while !banner.ends_with(b"\n") {
            if s.read(&mut b).await? == 0 {
                bail!("connection closed before the banner");
            }
            banner.push(b[0]);
        }
        let mut r = Raw {
            s,
            buf: Vec::with_capacity(64),
            reqno: 1,
        };
        let hs = Frame::new(1, Message::Handshake(Handshake::Guest { name: b"bench\0" }))
            .to_vec(Abi::Lp64Le);
        r.s.write_all(&hs).await?;
        read_frame(&mut r.s, &mut r.buf).await?;
        Ok(r)
    }

    /// One syscall; COPYIN requests are answered with `data`. Returns (error, retval0, copyin round trips).
    async fn call(
        &mut self,
        sysnum: u32,
        args: &[u64],
        data: &[u8],
    ) -> anyhow::Result<(i32, i64, u32)> {
        self.reqno += 1;
        let block: Vec<u8> = args.iter().flat_map(|a| a.to_le_bytes()).collect();
        let req = Frame::new(
            self.reqno,
            Message::Syscall(SyscallReq {
                sysnum,
                args: &block,
            }),
        )
        .to_vec(Abi::Lp64Le);
        self.s.write_all(&req).await?;
        let mut copyins = 0;
        loop {
            let n = read_frame(&mut self.s, &mut self.buf).await?;
            let (class, ty) = (
                u16::from_le_bytes([self.buf[16], self.buf[17]]),
                u16::from_le_bytes([self.buf[18], self.buf[19]]),
            );
            match (class, ty) {
                (1, 1) => {
                    let e = i32::from_le_bytes(self.buf[24..28].try_into().unwrap_or([0; 4]));
                    let r = i64::from_le_bytes(self.buf[32..40].try_into().unwrap_or([0; 8]));
                    return Ok((e, r, copyins));
                }
                (0, 2) | (0, 3) => {
                    copyins += 1;
                    let len =
                        u64::from_le_bytes(self.buf[24..32].try_into().unwrap_or([0; 8])) as usize;
                    let reqno = u64::from_le_bytes(self.buf[8..16].try_into().unwrap_or([0; 8]));
                    let mut hdr = Vec::with_capacity(24);
                    rumpsp_protocol::Header {
                        len: (24 + len) as u64,
                        reqno,
                        class: 1,
                        ty: 2,
                        word: 0,
                    }
                    .encode(&mut hdr);
                    self.s.write_all(&hdr).await?;
                    let mut sent = 0;
                    while sent < len {
                        let k = (len - sent).min(data.len());
                        self.s.write_all(&data[..k]).await?;
                        sent += k;
                    }
                }
                (2, _) => bail!(
                    "ERROR frame code {}",
                    u32::from_le_bytes(self.buf[20..24].try_into().unwrap_or([0; 4]))
                ),
                _ => {
                    let _ = n;
                }
            }
        }
    }
}

/// Runs the floor server in this process until killed (`rumpsp bench-floor URL`).
pub fn run_floor(url: &str) -> anyhow::Result<()> {
    let addr = parse_url(url, Role::Server)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        floor_server(addr).await?;
        std::future::pending::<()>().await;
        anyhow::Ok(())
    })
}

/// A ping-pong server with the frame sizes of the real exchanges and no work at all:
/// getpid (24 → 48) and pwrite 4 KiB (64 → 40, 4120 → 48).
async fn floor_server(addr: ServerAddr) -> anyhow::Result<ServerAddr> {
    async fn serve(mut s: Box<dyn Io>) {
        let _ = s.write_all(b"RUMPSP-0.4-floor-0/amd64\n").await;
        let mut buf = Vec::new();
        let mut resp48 = [0u8; 48];
        resp48[..8].copy_from_slice(&48u64.to_le_bytes());
        resp48[16] = 1;
        resp48[18] = 1;
        let mut copyin40 = [0u8; 40];
        copyin40[..8].copy_from_slice(&40u64.to_le_bytes());
        copyin40[18] = 2;
        // pread: a COPYOUT of 4 KiB (header, len, addr, data), then the response
        let mut copyout = vec![0u8; 24 + 16 + 4096];
        copyout[..8].copy_from_slice(&((24 + 16 + 4096) as u64).to_le_bytes());
        copyout[18] = 4;
        copyout.extend_from_slice(&resp48);
        loop {
            let Ok(n) = read_frame(&mut s, &mut buf).await else {
                return;
            };
            let reply: &[u8] = match (
                buf[16],
                buf[18],
                u32::from_le_bytes(buf[20..24].try_into().unwrap_or([0; 4])),
            ) {
                (0, 1, 174) => {
                    // ask for as many bytes as the pwrite names (slot 2), from its buffer (slot 1)
                    if n >= 24 + 24 {
                        copyin40[24..32].copy_from_slice(&buf[24 + 16..24 + 24]);
                        copyin40[32..40].copy_from_slice(&buf[24 + 8..24 + 16]);
                    }
                    &copyin40
                }
                (0, 1, 173) => &copyout,
                _ => &resp48,
            };
            if s.write_all(reply).await.is_err() {
                return;
            }
        }
    }
    match addr {
        ServerAddr::Unix(p) => {
            let l = UnixListener::bind(&p)?;
            tokio::spawn(async move {
                while let Ok((s, _)) = l.accept().await {
                    tokio::spawn(serve(Box::new(s)));
                }
            });
            Ok(ServerAddr::Unix(p))
        }
        ServerAddr::Tcp(a) => {
            let l = TcpListener::bind(a).await?;
            let local = match l.local_addr()? {
                std::net::SocketAddr::V4(v) => v,
                _ => bail!("IPv4 only"),
            };
            tokio::spawn(async move {
                while let Ok((s, _)) = l.accept().await {
                    let _ = s.set_nodelay(true);
                    tokio::spawn(serve(Box::new(s)));
                }
            });
            Ok(ServerAddr::Tcp(local))
        }
    }
}

/// Floor round trips through the ping-pong server (raw frames, no handshake semantics).
async fn floor_rtt(addr: &ServerAddr, iterations: u32, op: Op) -> anyhow::Result<Histogram<u64>> {
    let mut s = connect(addr).await?;
    let mut line = [0u8; 25];
    s.read_exact(&mut line).await?;
    let mut h = Histogram::<u64>::new(3)?;
    let mut buf = Vec::new();
    let getpid = Frame::new(
        2,
        Message::Syscall(SyscallReq {
            sysnum: 20,
            args: &[],
        }),
    )
    .to_vec(Abi::Lp64Le);
    let pw_args = [0u8; 40];
    let pw = Frame::new(
        2,
        Message::Syscall(SyscallReq {
            sysnum: 174,
            args: &pw_args,
        }),
    )
    .to_vec(Abi::Lp64Le);
    let pr = Frame::new(
        2,
        Message::Syscall(SyscallReq {
            sysnum: 173,
            args: &pw_args,
        }),
    )
    .to_vec(Abi::Lp64Le);
    let data = vec![0u8; 4096];
    let answer = Frame::new(
        0,
        Message::CopyinResp(rumpsp_protocol::CopyinResp {
            label: rumpsp_protocol::CopyinKind::Bytes,
            data: &data,
        }),
    )
    .to_vec(Abi::Lp64Le);
    for i in 0..iterations + 1000 {
        let t = Instant::now();
        match op {
            Op::Pwrite => {
                s.write_all(&pw).await?;
                read_frame(&mut s, &mut buf).await?;
                s.write_all(&answer).await?;
            }
            Op::Pread => {
                s.write_all(&pr).await?;
                read_frame(&mut s, &mut buf).await?;
            }
            Op::Getpid => s.write_all(&getpid).await?,
        }
        read_frame(&mut s, &mut buf).await?;
        if i >= 1000 {
            h.record(t.elapsed().as_nanos() as u64)?;
        }
    }
    Ok(h)
}

async fn server_rtt(addr: &ServerAddr, iterations: u32, op: Op) -> anyhow::Result<Histogram<u64>> {
    let mut c = Raw::new(addr).await?;
    let data = vec![0xa5u8; 4096];
    let mut h = Histogram::<u64>::new(3)?;
    if op != Op::Getpid {
        let path = b"/tmp/bench-file\0";
        // open("/tmp/bench-file", O_RDWR|O_CREAT, 0644): the path comes from the COPYINSTR answer
        let (e, fd, _) = c.call(5, &[0x1000, 0x202, 0o644], path).await?;
        if e != 0 {
            bail!("open failed with errno {e}");
        }
        // the file holds 4 KiB before any pread
        let (e, _, _) = c.call(174, &[fd as u64, 0x2000, 4096, 0, 0], &data).await?;
        if e != 0 {
            bail!("pwrite failed with errno {e}");
        }
        let sysnum = if op == Op::Pread { 173 } else { 174 };
        for i in 0..iterations + 1000 {
            let t = Instant::now();
            let (e, _, _) = c
                .call(sysnum, &[fd as u64, 0x2000, 4096, 0, 0], &data)
                .await?;
            if e != 0 {
                bail!("syscall {sysnum} failed with errno {e}");
            }
            if i >= 1000 {
                h.record(t.elapsed().as_nanos() as u64)?;
            }
        }
    } else {
        for i in 0..iterations + 1000 {
            let t = Instant::now();
            c.call(20, &[], &[]).await?;
            if i >= 1000 {
                h.record(t.elapsed().as_nanos() as u64)?;
            }
        }
    }
    Ok(h)
}

fn us(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}

fn row(name: &str, ours: &Histogram<u64>, floor: &Histogram<u64>, target: Option<f64>) {
    let ratio = ours.value_at_quantile(0.5) as f64 / floor.value_at_quantile(0.5).max(1) as f64;
    let t = target.map_or_else(String::new, |t| {
        format!(
            "  target ≤ {t:.1}x: {}",
            if ratio <= t { "met" } else { "MISSED" }
        )
    });
    println!(
        "{name:<34} median {:>10}  p99 {:>10}   floor median {:>10}  p99 {:>10}   ratio {ratio:>5.2}x{t}",
        us(ours.value_at_quantile(0.5)),
        us(ours.value_at_quantile(0.99)),
        us(floor.value_at_quantile(0.5)),
        us(floor.value_at_quantile(0.99)),
    );
}

/// `n` clients connected at once, each calling getpid back to back (`pace` None:
/// saturation) or once per `pace` at an evenly spread phase (clients held under a steady load).
async fn many_clients(
    addr: &ServerAddr,
    n: usize,
    seconds: u64,
    pace: Option<Duration>,
) -> anyhow::Result<(u64, Histogram<u64>, Duration)> {
    let t0 = Instant::now();
    let mut conns = Vec::with_capacity(n);
    // connect in waves so the listen backlog never overflows
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let futs: Vec<_> = chunk.iter().map(|_| Raw::new(addr)).collect();
        for f in futs {
            conns.push(f.await?);
        }
    }
    let setup = t0.elapsed();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            tokio::spawn(async move {
                // raw latencies, merged into one histogram at the end (a histogram per
                // task would cost more memory than the clients themselves)
                let mut lat: Vec<u64> = Vec::with_capacity(if pace.is_some() {
                    seconds as usize + 2
                } else {
                    1024
                });
                let mut next = Instant::now();
                if let Some(p) = pace {
                    next += p.mul_f64((i as f64 * 0.618_034).fract());
                }
                while Instant::now() < deadline {
                    if let Some(p) = pace {
                        tokio::time::sleep_until(next.into()).await;
                        next += p;
                    }
                    let t = Instant::now();
                    if c.call(20, &[], &[]).await.is_err() {
                        break;
                    }
                    lat.push(t.elapsed().as_nanos() as u64);
                }
                lat
            })
        })
        .collect();
    let mut total = Histogram::<u64>::new(3)?;
    let mut calls = 0;
    let debug = std::env::var_os("RUMPSP_BENCH_DEBUG").is_some();
    let mut slow_clients = 0;
    let mut slow_positions = [0u32; 16];
    for t in tasks {
        let lat = t.await?;
        calls += lat.len() as u64;
        if debug && lat.iter().any(|l| *l > 100_000_000) {
            slow_clients += 1;
            for (i, l) in lat.iter().enumerate().take(16) {
                if *l > 100_000_000 {
                    slow_positions[i] += 1;
                }
            }
        }
        for l in lat {
            total.record(l)?;
        }
    }
    if debug {
        eprintln!(
            "  clients with a call over 100 ms: {slow_clients}; by call index: {slow_positions:?}"
        );
    }
    if std::env::var_os("RUMPSP_BENCH_DEBUG").is_some() {
        eprintln!("  (see per-client figures above)");
        for q in [0.5, 0.9, 0.95, 0.98, 0.99, 0.999, 1.0] {
            eprintln!("  q{q}: {}", us(total.value_at_quantile(q)));
        }
        eprintln!(
            "  over 100 ms: {}",
            total
                .iter_recorded()
                .filter(|v| v.value_iterated_to() > 100_000_000)
                .map(|v| v.count_at_value())
                .sum::<u64>()
        );
    }
    Ok((calls, total, setup))
}

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

async fn wait_for(addr: &ServerAddr) -> anyhow::Result<()> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("server at {addr} did not come up")
}

/// Runs the benchmark.
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

/// Whose latencies a curve shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// The server measured (rumpsp's, or --server's).
    Rumpsp,
    /// The plain-socket floor, same frames.
    Floor,
    /// The --against server.
    Against(String),
}

/// One latency distribution of the plot.
struct Curve {
    op: String,
    transport: String,
    source: Source,
    h: Histogram<u64>,
}

impl Curve {
    fn new(op: &str, transport: &str, source: Source, h: Histogram<u64>) -> Curve {
        Curve {
            op: op.to_owned(),
            transport: transport.to_owned(),
            source,
            h,
        }
    }
}

/// Distinct colours (Okabe-Ito, colour-blind safe), one per operation.
const COLOURS: [&str; 7] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000",
];

/// Percentile curves as a standalone SVG document: one panel per transport
/// (unix, TCP), one colour per operation, the server solid, the floor dashed
/// and an --against server dotted in the operation's colour. x: percentile on
/// the usual 1/(1-q) log scale; y: round-trip latency in µs, log scale.
fn plot_svg(curves: &[Curve]) -> String {
    use std::fmt::Write;
    const PW: f64 = 560.0; // panel width
    const PH: f64 = 420.0; // panel height
    const L: f64 = 96.0; // left margin (y labels), also the gap between panels
    const T: f64 = 64.0; // top margin
    const B: f64 = 56.0; // bottom margin (x labels)
    let mut ops: Vec<&str> = Vec::new();
    let mut transports: Vec<&str> = Vec::new();
    for c in curves {
        if !ops.contains(&c.op.as_str()) {
            ops.push(&c.op);
        }
        if !transports.contains(&c.transport.as_str()) {
            transports.push(&c.transport);
        }
    }
    let colour = |op: &str| {
        let i = ops.iter().position(|o| *o == op).unwrap_or(0);
        COLOURS[i % COLOURS.len()]
    };
    let qs: Vec<f64> = (0..=400)
        .map(|i| 1.0 - 10f64.powf(-(i as f64) / 100.0))
        .collect();
    let xmax = 4.0; // up to the 99.99th percentile
    let (mut lo, mut hi) = (f64::MAX, 1.0f64);
    for c in curves {
        lo = lo.min(c.h.min().max(1) as f64 / 1e3);
        hi = hi.max(c.h.value_at_quantile(0.9999) as f64 / 1e3);
    }
    if lo == f64::MAX {
        lo = 1.0;
    }
    let (ylo, yhi) = (
        lo.max(0.1).log10().floor(),
        hi.log10().ceil().max(lo.max(0.1).log10().floor() + 1.0),
    );
    let panels = transports.len().max(1) as f64;
    let legend_rows = ops.len() + 1;
    let width = panels * (PW + L) + 40.0;
    let height = T + PH + B + 22.0 * legend_rows as f64 + 20.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">"#
    );
    let _ = write!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{L}" y="22" font-size="16">rumpsp bench: round-trip latency by percentile (lower is better)</text>"#
    );
    for (pi, transport) in transports.iter().enumerate() {
        let x0 = L + pi as f64 * (PW + L);
        let x = |q: f64| x0 + (-(1.0 - q).max(1e-4).log10() / xmax) * PW;
        let y = |us: f64| T + PH - ((us.max(1e-3).log10() - ylo) / (yhi - ylo)) * PH;
        let title = if *transport == "tcp" {
            "TCP"
        } else {
            transport
        };
        let _ = write!(
            s,
            r#"<rect x="{x0}" y="{T}" width="{PW}" height="{PH}" fill="none" stroke="black"/><text x="{0}" y="{1}" text-anchor="middle" font-size="15" font-weight="bold">{2}</text>"#,
            x0 + PW / 2.0,
            T - 8.0,
            xml_escape(title)
        );
        for (i, label) in ["0%", "90%", "99%", "99.9%", "99.99%"].iter().enumerate() {
            let q = 1.0 - 10f64.powi(-(i as i32));
            let _ = write!(
                s,
                r#"<line x1="{0:.1}" x2="{0:.1}" y1="{T}" y2="{1}" stroke="lightgrey"/><text x="{0:.1}" y="{2}" text-anchor="middle">{label}</text>"#,
                x(q),
                T + PH,
                T + PH + 18.0
            );
        }
        let _ = write!(
            s,
            r#"<text x="{0}" y="{1}" text-anchor="middle">percentile of round trips (log scale of 1/(1 − q))</text>"#,
            x0 + PW / 2.0,
            T + PH + 40.0
        );
        let mut d = ylo;
        while d <= yhi {
            let us = 10f64.powf(d);
            let _ = write!(
                s,
                r#"<line x1="{x0}" x2="{0}" y1="{1:.1}" y2="{1:.1}" stroke="lightgrey"/><text x="{2}" y="{3:.1}" text-anchor="end">{4} µs</text>"#,
                x0 + PW,
                y(us),
                x0 - 6.0,
                y(us) + 4.0,
                us
            );
            d += 1.0;
        }
        for c in curves.iter().filter(|c| c.transport == *transport) {
            let dash = match c.source {
                Source::Rumpsp => "",
                Source::Floor => r#" stroke-dasharray="7,4""#,
                Source::Against(_) => r#" stroke-dasharray="2,3""#,
            };
            let pts: Vec<String> = qs
                .iter()
                .map(|&q| {
                    format!(
                        "{:.1},{:.1}",
                        x(q),
                        y(c.h.value_at_quantile(q) as f64 / 1e3)
                    )
                })
                .collect();
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"#,
                colour(&c.op),
                pts.join(" ")
            );
        }
    }
    let _ = write!(
        s,
        r#"<text x="16" y="{0}" transform="rotate(-90 16 {0})" text-anchor="middle">round-trip latency (µs, log scale)</text>"#,
        T + PH / 2.0
    );
    // Legend: a row per operation, then what solid, dashed and dotted mean.
    let ly0 = T + PH + B + 16.0;
    for (i, op) in ops.iter().enumerate() {
        let ly = ly0 + 22.0 * i as f64;
        let _ = write!(
            s,
            r#"<line x1="{L}" x2="{0}" y1="{ly}" y2="{ly}" stroke="{1}" stroke-width="3"/><text x="{2}" y="{3}">{4}</text>"#,
            L + 36.0,
            colour(op),
            L + 44.0,
            ly + 5.0,
            xml_escape(op)
        );
    }
    let against: Vec<&str> = curves
        .iter()
        .filter_map(|c| match &c.source {
            Source::Against(u) => Some(u.as_str()),
            _ => None,
        })
        .collect();
    let mut key = String::from("solid: rumpsp server · dashed: plain-socket floor (same frames)");
    if let Some(u) = against.first() {
        key.push_str(&format!(" · dotted: {u}"));
    }
    let _ = write!(
        s,
        r#"<text x="{L}" y="{0}">{1}</text>"#,
        ly0 + 22.0 * ops.len() as f64 + 5.0,
        xml_escape(&key)
    );
    s.push_str("</svg>\n");
    s
}

fn xml_escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(base: u64) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for i in 1..1000u64 {
            h.record(base + i * 10).unwrap();
        }
        h
    }

    #[test]
    fn plot_has_a_colour_per_operation_a_dashed_floor_and_a_panel_per_transport() {
        let mut curves = Vec::new();
        for t in ["unix", "tcp"] {
            for op in ["getpid", "pwrite 4 KiB", "pread <x> & y"] {
                curves.push(Curve::new(op, t, Source::Rumpsp, hist(20_000)));
                curves.push(Curve::new(op, t, Source::Floor, hist(5_000)));
            }
        }
        let svg = plot_svg(&curves);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 12);
        assert!(svg.contains("pread &lt;x&gt; &amp; y"));
        // one colour per operation, shared by its server and floor curves, both panels
        for (i, c) in COLOURS.iter().take(3).enumerate() {
            let n = svg
                .matches(&format!(r#"<polyline fill="none" stroke="{c}""#))
                .count();
            assert_eq!(n, 4, "colour {i}");
        }
        assert_eq!(svg.matches(r#"stroke-dasharray="7,4""#).count(), 6);
        // two panels, titled, and axes with units
        assert!(svg.contains(">unix</text>") && svg.contains(">TCP</text>"));
        assert!(svg.contains("round-trip latency (µs, log scale)"));
        assert!(svg.contains("percentile of round trips"));
    }
}
