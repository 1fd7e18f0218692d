//! In-process syscall throughput of the simulated kernel on one core:
//! getpid, 4 KiB pwrite, open+close and stat, each with the ratio to its target.
//!
//! Run: `cargo bench -p rumpsp-sim-kernel --bench kernel`

use std::hint::black_box;
use std::time::{Duration, Instant};

use rumpsp_protocol::kernel::{CallMemory, Fetched, Kernel, MemRequest, SyscallStep};
use rumpsp_protocol::{Abi, SyscallArgs};
use rumpsp_sim_kernel::SimKernel;

fn rate(label: &str, min: Duration, target: Option<f64>, mut f: impl FnMut() -> u64) {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < min {
        calls += f();
    }
    let per_s = calls as f64 / start.elapsed().as_secs_f64();
    match target {
        Some(t) => println!(
            "{label:<40} {per_s:>12.0} calls/s   target {t:>10.0}   ratio {:>5.2}x",
            per_s / t
        ),
        None => println!("{label:<40} {per_s:>12.0} calls/s   (no target)"),
    }
}

fn block(args: &[u64]) -> Vec<u8> {
    args.iter().flat_map(|a| a.to_le_bytes()).collect()
}

/// Runs a call whose memory requests are answered from `data` (the client's buffer).
fn call(k: &mut SimKernel, pid: i32, nr: u32, args: &[u8], data: &[u8]) -> i32 {
    let mut mem = CallMemory::default();
    loop {
        match k.syscall(pid, nr, SyscallArgs::new(args, Abi::Lp64Le), &mem) {
            SyscallStep::Done(d) => return d.error,
            SyscallStep::Need(req) => {
                let got = match req {
                    MemRequest::Bytes { len, .. } => Fetched::Data(data[..len as usize].to_vec()),
                    MemRequest::Str { .. } => Fetched::Data(data.to_vec()),
                    MemRequest::Mmap { .. } => Fetched::Mapped(0),
                };
                mem.push(req, got);
            }
            SyscallStep::NeedAll(reqs) => {
                for req in reqs {
                    let len = match req {
                        MemRequest::Bytes { len, .. } => len as usize,
                        _ => 0,
                    };
                    mem.push(req, Fetched::Data(data[..len].to_vec()));
                }
            }
            SyscallStep::Blocked | SyscallStep::BlockedOn(_) => return -1,
        }
    }
}

fn main() {
    let min = Duration::from_millis(1500);
    let mut k = SimKernel::default();
    let pid = k.spawn_guest(b"bench\0").unwrap();
    let mem = CallMemory::default();

    let getpid = block(&[]);
    rate("getpid", min, Some(2_000_000.0), || {
        for _ in 0..1000 {
            black_box(k.syscall(pid, 20, SyscallArgs::new(&getpid, Abi::Lp64Le), &mem));
        }
        1000
    });

    // a file on the rumpfs root to write to
    let path = b"/tmp/bench\0".to_vec();
    let open = block(&[0x1000, 0x202, 0o644]);
    assert_eq!(call(&mut k, pid, 5, &open, &path), 0);
    let page = vec![0xa5u8; 4096];
    let pwrite = block(&[3, 0x2000, 4096, 0, 0]);
    rate(
        "pwrite 4 KiB (COPYIN included)",
        min,
        Some(1_000_000.0),
        || {
            for _ in 0..1000 {
                assert_eq!(call(&mut k, pid, 174, &pwrite, &page), 0);
            }
            1000
        },
    );

    let close = block(&[4]);
    rate("open + close (2 calls)", min, None, || {
        for _ in 0..500 {
            assert_eq!(call(&mut k, pid, 5, &open, &path), 0);
            assert_eq!(call(&mut k, pid, 6, &close, &[]), 0);
        }
        1000
    });

    let stat = block(&[0x1000, 0x3000]);
    rate("stat", min, None, || {
        for _ in 0..1000 {
            assert_eq!(call(&mut k, pid, 439, &stat, &path), 0);
        }
        1000
    });
}
