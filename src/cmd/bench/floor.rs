//! The floor: a plain-socket ping-pong server answering with the frame sizes
//! of the real exchanges and doing no work, and the round trips through it.

use std::time::Instant;

use anyhow::bail;
use hdrhistogram::Histogram;
use rumpsp_protocol::url::{parse_url, Role};
use rumpsp_protocol::{Abi, Frame, Message, ServerAddr, SyscallReq};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};

use super::client::{connect, read_frame, Io, Op};

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
pub(super) async fn floor_rtt(
    addr: &ServerAddr,
    iterations: u32,
    op: Op,
) -> anyhow::Result<Histogram<u64>> {
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
