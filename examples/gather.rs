//! Issue 15 point 2, measured: a writev of 960 × 64 KiB against a
//! `rumpsp serve` at a URL, beside a pwrite of the same 60 MiB, in one run.
//! Prints both times and their ratio (no target is asserted).
//!
//!     cargo run --release --example gather -- unix:///tmp/rump.sock

use std::time::Instant;

use rumpsp_protocol::net::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: gather URL"))?;
    let c = Client::connect(&url, "gather").await?;
    let buf = vec![0x5a_u8; 64 * 1024];
    let bufs: Vec<&[u8]> = (0..960).map(|_| &buf[..]).collect();
    let total = 960 * buf.len();
    let fd = c
        .open("/tmp/gather-writev", 0x1 | 0x200 | 0x400, 0o644)
        .await?;
    let t = Instant::now();
    let n = c.writev(fd, &bufs).await?;
    let writev = t.elapsed();
    anyhow::ensure!(n == total, "writev wrote {n} of {total} bytes");
    c.close(fd).await?;
    let fd = c
        .open("/tmp/gather-pwrite", 0x1 | 0x200 | 0x400, 0o644)
        .await?;
    let all = vec![0x5a_u8; total];
    let t = Instant::now();
    let mut done = 0;
    while done < total {
        done += c.pwrite(fd, &all[done..], done as i64).await?;
    }
    let pwrite = t.elapsed();
    c.close(fd).await?;
    println!(
        "gather: writev of 960 x 64 KiB {:.3} s, pwrite of the same 60 MiB {:.3} s, ratio {:.2}x",
        writev.as_secs_f64(),
        pwrite.as_secs_f64(),
        writev.as_secs_f64() / pwrite.as_secs_f64()
    );
    Ok(())
}
