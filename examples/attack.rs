//! Runs one of issue 15's attacks against a `rumpsp serve` on a unix socket
//! (loopback only) for a bounded time while a well-behaved client health-checks
//! it with getpid, then prints one line: peak server RSS (VmHWM of --pid) and the
//! health check's p99 and worst stall. `ci/attacks.sh` runs every attack.
//!
//! Usage: attack ATTACK SOCKET_PATH SERVER_PID SECONDS
//! ATTACK: amplification | silent | copyin-flood | copyout-flood | prefork-flood |
//! blocked-storm | symlink-flood | held-writes | none

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumpsp_protocol::decoder::FrameDecoder;
use rumpsp_protocol::limits::FrameLimits;
use rumpsp_protocol::{Abi, CopyinResp, Frame, Handshake, Message, PreforkReq, SyscallReq};

const SYS_READ: u32 = 3;
const SYS_WRITE: u32 = 4;
const SYS_OPEN: u32 = 5;
const SYS_GETPID: u32 = 20;
const SYS_PIPE: u32 = 42;
const SYS_SYMLINK: u32 = 57;
const SYS_PREAD: u32 = 173;
const SYS_FTRUNCATE: u32 = 201;

fn args(slots: &[u64]) -> Vec<u8> {
    slots.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn syscall(reqno: u64, sysnum: u32, a: &[u64]) -> Vec<u8> {
    let a = args(a);
    Frame::new(reqno, Message::Syscall(SyscallReq { sysnum, args: &a })).to_vec(Abi::Lp64Le)
}

/// A blocking raw client: banner, GUEST handshake, calls answered from `mem`.
struct Raw {
    s: UnixStream,
    dec: FrameDecoder,
    mem: BTreeMap<u64, Vec<u8>>,
    /// What the server wrote (COPYOUT), by address.
    out: BTreeMap<u64, Vec<u8>>,
}

impl Raw {
    fn connect(path: &Path, timeout: Duration) -> std::io::Result<Raw> {
        let mut s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(timeout))?;
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\n") {
            if s.read(&mut b)? == 0 {
                return Err(std::io::Error::other("closed before the banner"));
            }
            line.push(b[0]);
        }
        let hs = Frame::new(
            1,
            Message::Handshake(Handshake::Guest { name: b"attack\0" }),
        )
        .to_vec(Abi::Lp64Le);
        s.write_all(&hs)?;
        let mut r = Raw {
            s,
            dec: FrameDecoder::new(FrameLimits::unlimited()),
            mem: BTreeMap::new(),
            out: BTreeMap::new(),
        };
        r.wait(1)?;
        Ok(r)
    }

    /// Reads until the answer to `reqno` (answering COPYINs); returns (error, retval0).
    fn wait(&mut self, reqno: u64) -> std::io::Result<(i32, i64)> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            while let Ok(Some(f)) = self.dec.next_frame() {
                let Ok(frame) = f.frame(Abi::Lp64Le) else {
                    continue;
                };
                match frame.message {
                    Message::HandshakeResp(r) if f.header.reqno == reqno => {
                        return Ok((r.error, 0))
                    }
                    Message::SyscallResp(r) if f.header.reqno == reqno => {
                        return Ok((r.error, r.retval[0]))
                    }
                    Message::Error(e) if f.header.reqno == reqno => {
                        return Err(std::io::Error::other(format!("ERROR {:?}", e.code)))
                    }
                    Message::Copyin(req) => {
                        let data = self.mem.get(&req.addr).cloned().unwrap_or_default();
                        let resp = Frame::new(
                            f.header.reqno,
                            Message::CopyinResp(CopyinResp {
                                label: req.kind,
                                data: &data,
                            }),
                        )
                        .to_vec(Abi::Lp64Le);
                        self.s.write_all(&resp)?;
                    }
                    Message::Copyout(req) => {
                        self.out.insert(req.addr, req.data.to_vec());
                    }
                    _ => {}
                }
            }
            let n = self.s.read(&mut buf)?;
            if n == 0 {
                return Err(std::io::Error::other("server closed"));
            }
            self.dec.feed(&buf[..n]);
        }
    }

    fn call(&mut self, reqno: u64, sysnum: u32, a: &[u64]) -> std::io::Result<(i32, i64)> {
        self.s.write_all(&syscall(reqno, sysnum, a))?;
        self.wait(reqno)
    }
}

/// getpid every 10 ms until `stop`; returns the latencies.
fn health(path: PathBuf, stop: Arc<AtomicBool>) -> (Vec<Duration>, u64) {
    let mut lat = Vec::new();
    let mut failures = 0u64;
    let mut reqno = 2;
    let mut client: Option<Raw> = None;
    while !stop.load(Ordering::SeqCst) {
        let t0 = Instant::now();
        let c = match client.take() {
            Some(c) => Ok(c),
            None => Raw::connect(&path, Duration::from_secs(5)),
        };
        match c.and_then(|mut c| c.call(reqno, SYS_GETPID, &[]).map(|_| c)) {
            Ok(c) => {
                lat.push(t0.elapsed());
                client = Some(c);
            }
            Err(_) => {
                failures += 1;
                lat.push(t0.elapsed());
            }
        }
        reqno += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    (lat, failures)
}

/// The victim's file: written before the attack, read back after it.
const VICTIM: &[u8] = b"/victim-data\0";

/// 64 KiB that are not all alike.
fn victim_payload() -> Vec<u8> {
    (0..65_536u32)
        .map(|i| (i.wrapping_mul(7) ^ (i >> 8)) as u8)
        .collect()
}

/// Writes the victim's file and closes it (the data is then the kernel's).
fn write_victim(path: &Path) -> std::io::Result<()> {
    let mut c = Raw::connect(path, Duration::from_secs(10))?;
    c.mem.insert(0x1000, VICTIM.to_vec());
    c.mem.insert(0x10_0000, victim_payload());
    let (e, fd) = c.call(2, SYS_OPEN, &[0x1000, 0x202, 0o644])?;
    let (e2, n) = c.call(3, SYS_WRITE, &[fd as u64, 0x10_0000, 65_536])?;
    if e != 0 || e2 != 0 || n != 65_536 {
        return Err(std::io::Error::other(format!("open {e}, write {e2} {n}")));
    }
    Ok(())
}

/// Reads the victim's file back on a fresh connection: is every byte there?
fn victim_intact(path: &Path) -> bool {
    let check = || -> std::io::Result<bool> {
        let mut c = Raw::connect(path, Duration::from_secs(10))?;
        c.mem.insert(0x1000, VICTIM.to_vec());
        let (e, fd) = c.call(2, SYS_OPEN, &[0x1000, 0, 0])?;
        let (e2, n) = c.call(3, SYS_READ, &[fd as u64, 0x20_0000, 65_536])?;
        let mut got = vec![0u8; 65_536];
        for (addr, data) in &c.out {
            let off = addr.saturating_sub(0x20_0000) as usize;
            if off + data.len() <= got.len() {
                got[off..off + data.len()].copy_from_slice(data);
            }
        }
        Ok(e == 0 && e2 == 0 && n == 65_536 && got == victim_payload())
    };
    check().unwrap_or(false)
}

fn vmhwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs the attack until `stop`, keeping whatever it opened alive meanwhile.
fn attack(name: &str, path: &Path, stop: &Arc<AtomicBool>) -> Result<String, String> {
    let e = |e: std::io::Error| e.to_string();
    let mut held: Vec<UnixStream> = Vec::new();
    let mut note = String::new();
    match name {
        "none" => {}
        "amplification" => {
            // ftruncate to 100 MiB, then 40 pread(fd, buf, 2^40) in one write, never read
            // (AMPLIFY_CONNS connections, default 1 as in the issue)
            let conns: usize = std::env::var("AMPLIFY_CONNS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            for i in 0..conns {
                let mut c = Raw::connect(path, Duration::from_secs(10)).map_err(e)?;
                c.mem.insert(0x1000, format!("/amp{i}\0").into_bytes());
                let (_, fd) = c.call(2, SYS_OPEN, &[0x1000, 0x202, 0o644]).map_err(e)?;
                c.call(3, SYS_FTRUNCATE, &[fd as u64, 0, 100 << 20])
                    .map_err(e)?;
                let mut burst = Vec::new();
                for r in 0..40 {
                    burst.extend(syscall(
                        10 + r,
                        SYS_PREAD,
                        &[fd as u64, 0x10_0000, 1 << 40, 0, 0],
                    ));
                }
                c.s.write_all(&burst).map_err(e)?;
                note = format!("burst={}B conns={conns}", burst.len());
                held.push(c.s);
            }
        }
        "silent" => {
            // connections that never read the banner nor handshake, reopened as they are shed
            let mut opened = 0u64;
            while !stop.load(Ordering::SeqCst) && held.len() < 3000 {
                match UnixStream::connect(path) {
                    Ok(s) => {
                        held.push(s);
                        opened += 1;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            note = format!("opened={opened}");
        }
        "copyin-flood" | "copyout-flood" => {
            // 30 connections each send a 64 MiB COPYIN answer nobody asked for
            // (copyout-flood: a 64 MiB COPYOUT request, a type only the server sends)
            let (class, ty) = if name == "copyin-flood" {
                (1u16, 2u16)
            } else {
                (0, 4)
            };
            let mut sent = 0u64;
            for _ in 0..30 {
                let mut c = Raw::connect(path, Duration::from_secs(10)).map_err(e)?;
                let mut h = Vec::new();
                // the largest frame the limits let through (64 MiB, 64 bytes under the data limit)
                h.extend(((64u64 << 20) - 40).to_le_bytes());
                h.extend(7u64.to_le_bytes());
                h.extend(class.to_le_bytes());
                h.extend(ty.to_le_bytes());
                h.extend(0u32.to_le_bytes());
                let _ = c.s.write_all(&h);
                c.s.set_write_timeout(Some(Duration::from_millis(200)))
                    .map_err(e)?;
                // all of the body but its last byte: the frame is never complete
                let chunk = vec![0u8; 1 << 20];
                for i in 0..64 {
                    let n = if i == 63 { (1 << 20) - 65 } else { 1 << 20 };
                    if c.s.write_all(&chunk[..n]).is_err() {
                        break;
                    }
                    sent += 1;
                }
                held.push(c.s);
            }
            note = format!("sent_mib={sent}");
        }
        "prefork-flood" => {
            // a victim's prefork survives 1024 preforks by another connection
            let mut victim = Raw::connect(path, Duration::from_secs(10)).map_err(e)?;
            let cookie = prefork(&mut victim, 2).map_err(e)?;
            let mut a = Raw::connect(path, Duration::from_secs(10)).map_err(e)?;
            let mut ok = 0;
            for r in 0..1024 {
                if prefork(&mut a, 10 + r).is_ok() {
                    ok += 1;
                }
            }
            let mut child = UnixStream::connect(path).map_err(e)?;
            child
                .set_read_timeout(Some(Duration::from_secs(5)))
                .map_err(e)?;
            let mut line = [0u8; 32];
            let _ = child.read(&mut line);
            let fork = Frame::new(1, Message::Handshake(Handshake::Fork { cookie, cancel: 0 }))
                .to_vec(Abi::Lp64Le);
            child.write_all(&fork).map_err(e)?;
            let mut resp = [0u8; 28];
            let redeemed = child.read_exact(&mut resp).is_ok() && resp[8..10] == [1, 0];
            note = format!("attacker_preforks={ok} victim_cookie_redeemed={redeemed}");
            held.push(child);
        }
        "blocked-storm" => {
            // 200 connections x 256 reads blocked on their own empty pipe, then all closed
            let mut conns = Vec::new();
            for _ in 0..200 {
                let mut c = Raw::connect(path, Duration::from_secs(10)).map_err(e)?;
                let (_, rfd) = c.call(2, SYS_PIPE, &[]).map_err(e)?;
                let mut burst = Vec::new();
                for r in 0..256 {
                    burst.extend(syscall(10 + r, SYS_READ, &[rfd as u64, 0x1000, 16]));
                }
                c.s.write_all(&burst).map_err(e)?;
                conns.push(c);
                if stop.load(Ordering::SeqCst) {
                    break;
                }
            }
            note = format!("parked={}", conns.len() * 256);
            std::thread::sleep(Duration::from_millis(500));
            drop(conns);
        }
        "held-writes" => {
            // HELD_CONNS (4) connections each pipeline 16 writes of 64 MiB into
            // their own pipe and answer every COPYIN: the pipe fills after the
            // first, and each later write would block holding its 64 MiB
            let conns = std::env::var("HELD_CONNS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(4);
            let (mut enomem, mut answered) = (0, 0);
            for _ in 0..conns {
                let mut c = Raw::connect(path, Duration::from_secs(10)).map_err(e)?;
                let (_, rfd) = c.call(2, SYS_PIPE, &[]).map_err(e)?;
                let wfd = rfd as u64 + 1;
                c.mem.insert(0x10_0000, vec![7u8; (64 << 20) - 64]);
                let mut burst = Vec::new();
                for r in 0..16 {
                    burst.extend(syscall(
                        10 + r,
                        SYS_WRITE,
                        &[wfd, 0x10_0000, (64 << 20) - 64],
                    ));
                }
                c.s.write_all(&burst).map_err(e)?;
                c.s.set_read_timeout(Some(Duration::from_millis(1500)))
                    .map_err(e)?;
                // answers COPYINs until nothing more comes; counts the answers
                for r in 10..26 {
                    match c.wait(r) {
                        Ok((12, _)) => enomem += 1,
                        Ok(_) => answered += 1,
                        Err(_) => break,
                    }
                }
                c.mem.clear();
                held.push(c.s);
            }
            note = format!("conns={conns} writes_done={answered} enomem={enomem}");
        }
        "symlink-flood" => {
            // symlinks with long targets (SYMLINK_TARGET bytes, default 1000) from
            // SYMLINK_CONNS connections (default 4), 64 calls per burst, until
            // the time is up; the kernel's memory pool must end it with ENOSPC
            let env = |k: &str, d: usize| {
                std::env::var(k)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(d)
            };
            let (tlen, nconns) = (env("SYMLINK_TARGET", 1000), env("SYMLINK_CONNS", 4));
            let made = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let refused = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let mut threads = Vec::new();
            for ci in 0..nconns {
                let mut c = Raw::connect(path, Duration::from_secs(30)).map_err(e)?;
                let (made, refused) = (made.clone(), refused.clone());
                let stop = stop.clone();
                threads.push(std::thread::spawn(move || {
                    let mut t = vec![b'x'; tlen];
                    t.push(0);
                    c.mem.insert(0x1000, t);
                    let mut reqno = 10u64;
                    let mut n = 0u64;
                    while !stop.load(Ordering::SeqCst) {
                        let mut burst = Vec::new();
                        for _ in 0..64 {
                            let addr = 0x10_0000 + reqno * 0x100;
                            c.mem.insert(addr, format!("/tmp/s{ci}-{n}\0").into_bytes());
                            burst.extend(syscall(reqno, SYS_SYMLINK, &[0x1000, addr]));
                            reqno += 1;
                            n += 1;
                        }
                        if c.s.write_all(&burst).is_err() {
                            break;
                        }
                        match c.wait(reqno - 1) {
                            Ok((0, _)) => {
                                made.fetch_add(64, Ordering::SeqCst);
                            }
                            Ok(_) => {
                                refused.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(_) => break,
                        }
                        c.mem.retain(|a, _| *a == 0x1000);
                    }
                }));
            }
            for t in threads {
                let _ = t.join();
            }
            note = format!(
                "symlinks~{} refused_bursts={} target={tlen} conns={nconns}",
                made.load(Ordering::SeqCst),
                refused.load(Ordering::SeqCst)
            );
        }
        other => return Err(format!("unknown attack {other:?}")),
    }
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(held);
    Ok(note)
}

fn prefork(c: &mut Raw, reqno: u64) -> std::io::Result<rumpsp_protocol::PreforkCookie> {
    let f = Frame::new(reqno, Message::Prefork(PreforkReq::default())).to_vec(Abi::Lp64Le);
    c.s.write_all(&f)?;
    let mut buf = vec![0u8; 4096];
    loop {
        while let Ok(Some(f)) = c.dec.next_frame() {
            if f.header.reqno != reqno {
                continue;
            }
            return match f.frame(Abi::Lp64Le).map(|x| x.message) {
                Ok(Message::PreforkResp(p)) => Ok(p.cookie),
                _ => Err(std::io::Error::other("prefork refused")),
            };
        }
        let n = c.s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::other("closed"));
        }
        c.dec.feed(&buf[..n]);
    }
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 5 {
        eprintln!("usage: attack ATTACK SOCKET_PATH SERVER_PID SECONDS");
        std::process::exit(2);
    }
    let (name, path) = (a[1].clone(), PathBuf::from(&a[2]));
    let (Ok(pid), Ok(secs)) = (a[3].parse::<u32>(), a[4].parse::<u64>()) else {
        eprintln!("attack: SERVER_PID and SECONDS are numbers");
        std::process::exit(2);
    };
    let victim = write_victim(&path);
    let stop = Arc::new(AtomicBool::new(false));
    let h = {
        let (p, s) = (path.clone(), stop.clone());
        std::thread::spawn(move || health(p, s))
    };
    let at = {
        let (p, s, n) = (path.clone(), stop.clone(), name.clone());
        std::thread::spawn(move || attack(&n, &p, &s))
    };
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::SeqCst);
    let note = at
        .join()
        .unwrap_or_else(|_| Err("attack thread panicked".into()));
    let (mut lat, failures) = h.join().unwrap_or_default();
    lat.sort();
    let p99 = lat
        .get((lat.len() * 99 / 100).min(lat.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default();
    let max = lat.last().copied().unwrap_or_default();
    // The victim's data, written before the attack, must still be there.
    let intact = victim.is_ok() && victim_intact(&path);
    println!(
        "attack={name} secs={secs} vmhwm_mib={:.1} health_calls={} health_failures={failures} p99_ms={:.1} max_stall_ms={:.1} victim_data_intact={intact} {}",
        vmhwm_kib(pid) as f64 / 1024.0,
        lat.len(),
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        match note {
            Ok(n) => n,
            Err(e) => format!("attack_error={e:?}"),
        }
    );
}
