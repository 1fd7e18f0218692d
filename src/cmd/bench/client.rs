//! The bench's rump_sp client: raw frames over a unix or TCP socket, one call
//! at a time per connection, and the measurements made with it.

use std::time::{Duration, Instant};

use anyhow::bail;
use hdrhistogram::Histogram;
use rumpsp_protocol::{Abi, Frame, Handshake, Message, ServerAddr, SyscallReq};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use super::report::us;

/// The round trip measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// getpid: 24 bytes out, 48 back.
    Getpid,
    /// pwrite 4 KiB: the data travels in a COPYIN answer.
    Pwrite,
    /// pread 4 KiB: the data comes back in a COPYOUT.
    Pread,
}

/// A byte stream to a server: unix or TCP.
pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Connects to `addr` (TCP without Nagle).
pub(super) async fn connect(addr: &ServerAddr) -> anyhow::Result<Box<dyn Io>> {
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
pub(super) async fn read_frame(s: &mut Box<dyn Io>, buf: &mut Vec<u8>) -> anyhow::Result<usize> {
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
pub(super) struct Raw {
    s: Box<dyn Io>,
    buf: Vec<u8>,
    reqno: u64,
}

impl Raw {
    /// Connects, reads the banner and completes a guest handshake.
    pub(super) async fn new(addr: &ServerAddr) -> anyhow::Result<Raw> {
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
    pub(super) async fn call(
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

/// Round trips of `op` through the server at `addr` (1000 warm-up calls not counted).
pub(super) async fn server_rtt(
    addr: &ServerAddr,
    iterations: u32,
    op: Op,
) -> anyhow::Result<Histogram<u64>> {
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

/// `n` clients connected at once, each calling getpid back to back (`pace` None:
/// saturation) or once per `pace` at an evenly spread phase (clients held under a steady load).
pub(super) async fn many_clients(
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

/// Waits up to 10 s for a server to accept connections.
pub(super) async fn wait_for(addr: &ServerAddr) -> anyhow::Result<()> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("server at {addr} did not come up")
}
