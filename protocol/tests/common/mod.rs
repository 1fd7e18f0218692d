//! A small kernel for exercising the server core, and a client-side helper
//! that builds request frames and decodes what the server sends.
#![allow(dead_code)]

use std::collections::BTreeMap;

use rumpsp_protocol::kernel::{
    CallMemory, Kernel, MemError, Pid, ProcessError, SyscallDone, SyscallStep,
};
use rumpsp_protocol::server::{Accept, ConnId, SeededCookies, ServerCore, ServerLimits};
use rumpsp_protocol::*;

pub const SYS_READ: u32 = 3;
pub const SYS_WRITE: u32 = 4;
pub const SYS_OPEN: u32 = 5;
pub const SYS_GETPID: u32 = 20;
pub const SYS_GETPPID: u32 = 39;
pub const SYS_REBOOT: u32 = 208;
/// Not a NetBSD call: asks the client for an anonymous mapping (as proplib paths do).
pub const SYS_TEST_MMAP: u32 = 500;
/// Test-only: copies in 8 bytes from slot 0, then 8 from slot 1 (two memory requests).
pub const SYS_TEST_TWO_COPYINS: u32 = 501;
/// Test-only: the same two copyins, asked for in one batch (`SyscallStep::NeedAll`).
pub const SYS_TEST_BATCH: u32 = 502;
/// Test-only: waits on the object with key slot 0 until it is released.
pub const SYS_TEST_WAIT_KEY: u32 = 503;
/// Test-only: releases the object with key slot 0 (and says it changed).
pub const SYS_TEST_RELEASE_KEY: u32 = 504;

/// The pipe fd every process shares in the test kernel.
pub const PIPE_FD: i32 = 100;
/// A pipe whose reader is gone: writes fail with EPIPE and post SIGPIPE.
pub const BROKEN_PIPE_FD: i32 = 101;

/// Why a test syscall stopped before finishing.
pub enum Stop {
    Mem(MemError),
    Batch(Vec<rumpsp_protocol::kernel::MemRequest>),
    Blocked,
    BlockedOn(u64),
}

impl From<MemError> for Stop {
    fn from(e: MemError) -> Stop {
        Stop::Mem(e)
    }
}

#[derive(Debug, Clone)]
pub struct Proc {
    pub ppid: Pid,
    pub comm: Vec<u8>,
}

/// getpid/getppid, open (ENOENT unless the path is "/ok"), write (to a file or
/// the shared pipe), read (blocks on an empty pipe), reboot, and a test mmap call.
#[derive(Debug, Default)]
pub struct TestKernel {
    pub procs: BTreeMap<Pid, Proc>,
    pub next_pid: Pid,
    pub pipe: Vec<u8>,
    pub written: Vec<u8>,
    pub generation: u64,
    pub shutdown: bool,
    pub refuse_spawn: bool,
    /// Keys released by SYS_TEST_RELEASE_KEY.
    pub released: std::collections::BTreeSet<u64>,
    /// Keys changed since the core last asked.
    pub changed: Vec<u64>,
    /// How many times each wait key's call was run.
    pub wait_runs: BTreeMap<u64, u32>,
}

impl TestKernel {
    pub fn new() -> TestKernel {
        TestKernel {
            next_pid: 2,
            ..Default::default()
        }
    }

    fn new_proc(&mut self, ppid: Pid, comm: &[u8]) -> Pid {
        let pid = self.next_pid;
        self.next_pid += 1;
        let comm = comm.split(|&b| b == 0).next().unwrap_or_default();
        let comm = comm[..comm.len().min(16)].to_vec();
        self.procs.insert(pid, Proc { ppid, comm });
        pid
    }

    fn run(
        &mut self,
        pid: Pid,
        sysnum: u32,
        a: SyscallArgs<'_>,
        mem: &CallMemory,
    ) -> Result<SyscallDone, Stop> {
        let mut m = mem.cursor();
        let proc = self.procs.get(&pid).cloned().expect("live process");
        Ok(match sysnum {
            SYS_GETPID => SyscallDone::ok(i64::from(pid), i64::from(proc.ppid)),
            SYS_GETPPID => SyscallDone::ok(i64::from(proc.ppid), 0),
            SYS_OPEN => {
                let path = m.copyinstr(a.ptr(0).unwrap(), 1024)?;
                match path.iter().position(|&b| b == 0) {
                    None => SyscallDone::err(63),
                    Some(n) if &path[..n] == b"/ok" => SyscallDone::ok(3, 0),
                    Some(_) => SyscallDone::err(2),
                }
            }
            SYS_WRITE => {
                let (fd, buf, n) = (a.int(0).unwrap(), a.ptr(1).unwrap(), a.size(2).unwrap());
                if fd == BROKEN_PIPE_FD {
                    // as the real kernel: no COPYIN, SIGPIPE before the EPIPE answer
                    return Ok(SyscallDone {
                        error: 32,
                        signals: vec![13],
                        ..Default::default()
                    });
                }
                let data = m.copyin(buf, n)?;
                if fd == PIPE_FD {
                    self.pipe.extend_from_slice(data);
                    self.generation += 1;
                } else {
                    self.written.extend_from_slice(data);
                }
                SyscallDone::ok(n as i64, 0)
            }
            SYS_READ => {
                let (fd, buf, n) = (a.int(0).unwrap(), a.ptr(1).unwrap(), a.size(2).unwrap());
                if fd != PIPE_FD {
                    return Ok(SyscallDone::err(9));
                }
                if self.pipe.is_empty() {
                    return Err(Stop::Blocked);
                }
                let k = (n as usize).min(self.pipe.len());
                let data: Vec<u8> = self.pipe.drain(..k).collect();
                self.generation += 1;
                SyscallDone {
                    retval: [k as i64, 0],
                    copyouts: vec![(buf, data)],
                    ..Default::default()
                }
            }
            SYS_REBOOT => {
                self.shutdown = true;
                SyscallDone::ok(0, 0)
            }
            SYS_TEST_TWO_COPYINS => {
                let first = m.copyin(a.ptr(0).unwrap(), 8)?.to_vec();
                let second = m.copyin(a.ptr(1).unwrap(), 8)?;
                SyscallDone::ok(i64::from(first[0]) + i64::from(second[0]), 0)
            }
            SYS_TEST_BATCH => {
                use rumpsp_protocol::kernel::MemRequest;
                let (x, y) = (a.ptr(0).unwrap(), a.ptr(1).unwrap());
                let reqs = [
                    MemRequest::Bytes { addr: x, len: 8 },
                    MemRequest::Bytes { addr: y, len: 8 },
                ];
                let missing = m.missing(&reqs)?;
                if !missing.is_empty() {
                    return Err(Stop::Batch(missing));
                }
                let first = m.copyin(x, 8)?.to_vec();
                let second = m.copyin(y, 8)?;
                SyscallDone::ok(i64::from(first[0]) * 256 + i64::from(second[0]), 0)
            }
            SYS_TEST_WAIT_KEY => {
                let key = a.word(0).unwrap_or(0);
                *self.wait_runs.entry(key).or_default() += 1;
                if self.released.contains(&key) {
                    SyscallDone::ok(key as i64, 0)
                } else {
                    return Err(Stop::BlockedOn(key));
                }
            }
            SYS_TEST_RELEASE_KEY => {
                let key = a.word(0).unwrap_or(0);
                self.released.insert(key);
                self.changed.push(key);
                self.generation += 1;
                SyscallDone::ok(0, 0)
            }
            SYS_TEST_MMAP => {
                let addr = m.anonmmap(4096)?;
                if addr == 0 {
                    SyscallDone::err(12)
                } else {
                    SyscallDone::ok(addr as i64, 0)
                }
            }
            _ => SyscallDone::err(78),
        })
    }
}

impl Kernel for TestKernel {
    fn spawn_guest(&mut self, comm: &[u8]) -> Result<Pid, ProcessError> {
        if self.refuse_spawn {
            return Err(ProcessError::TableFull);
        }
        Ok(self.new_proc(1, comm))
    }
    fn prefork(&mut self, parent: Pid) -> Result<Pid, ProcessError> {
        let comm = self
            .procs
            .get(&parent)
            .ok_or(ProcessError::NoSuchProcess(parent))?
            .comm
            .clone();
        Ok(self.new_proc(parent, &comm))
    }
    fn fork_child(&mut self, intermediate: Pid) -> Result<Pid, ProcessError> {
        let comm = self
            .procs
            .remove(&intermediate)
            .ok_or(ProcessError::NoSuchProcess(intermediate))?
            .comm;
        Ok(self.new_proc(1, &comm))
    }
    fn exec(&mut self, pid: Pid, comm: &[u8]) {
        let name = comm.split(|&b| b == 0).next().unwrap_or_default().to_vec();
        if let Some(p) = self.procs.get_mut(&pid) {
            p.comm = name;
        }
    }
    fn exit(&mut self, pid: Pid) {
        self.procs.remove(&pid);
        self.generation += 1;
    }
    fn syscall(
        &mut self,
        pid: Pid,
        sysnum: u32,
        args: SyscallArgs<'_>,
        mem: &CallMemory,
    ) -> SyscallStep {
        match self.run(pid, sysnum, args, mem) {
            Ok(d) => SyscallStep::Done(d),
            Err(Stop::Blocked) => SyscallStep::Blocked,
            Err(Stop::Batch(v)) => SyscallStep::NeedAll(v),
            Err(Stop::BlockedOn(k)) => SyscallStep::BlockedOn(k),
            Err(Stop::Mem(MemError::Need(r))) => SyscallStep::Need(r),
            Err(Stop::Mem(MemError::Fault)) => SyscallStep::Done(SyscallDone::err(14)),
        }
    }
    fn generation(&self) -> u64 {
        self.generation
    }
    fn shutdown_requested(&self) -> bool {
        self.shutdown
    }
    fn take_changed(&mut self) -> Option<Vec<u64>> {
        Some(std::mem::take(&mut self.changed))
    }
}

pub fn server(limits: ServerLimits) -> ServerCore<TestKernel> {
    ServerCore::new(
        TestKernel::new(),
        limits,
        &Banner::default(),
        Box::new(SeededCookies::new(1)),
    )
    .unwrap()
}

/// A decoded server frame in owned form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    HandshakeOk(u64),
    Syscall {
        reqno: u64,
        error: i32,
        rv: [i64; 2],
    },
    Copyin {
        reqno: u64,
        str: bool,
        len: u64,
        addr: u64,
    },
    Copyout {
        reqno: u64,
        addr: u64,
        data: Vec<u8>,
    },
    Mmap {
        reqno: u64,
        len: u64,
    },
    Prefork {
        reqno: u64,
        cookie: [u8; 16],
    },
    Raise(u32),
    Error {
        reqno: u64,
        code: ErrorCode,
    },
}

/// One client connection to a core under test.
pub struct Peer {
    pub id: ConnId,
    pub banner: Vec<u8>,
    pub closed: bool,
    dec: FrameDecoder,
}

impl Peer {
    pub fn connect(s: &mut ServerCore<TestKernel>) -> Peer {
        let Accept::Open(id) = s.accept() else {
            panic!("refused")
        };
        let out = s.take_output(id).unwrap();
        let n = banner::find_banner_line(&out.bytes).unwrap().unwrap();
        let mut dec = FrameDecoder::new(FrameLimits::unlimited());
        dec.feed(&out.bytes[n..]);
        Peer {
            id,
            banner: out.bytes[..n].to_vec(),
            closed: false,
            dec,
        }
    }

    pub fn send_raw(&mut self, s: &mut ServerCore<TestKernel>, bytes: &[u8]) {
        s.receive(self.id, bytes);
    }

    pub fn send(&mut self, s: &mut ServerCore<TestKernel>, f: Frame<'_>) {
        s.receive(self.id, &f.to_vec(Abi::Lp64Le));
    }

    pub fn guest(&mut self, s: &mut ServerCore<TestKernel>, reqno: u64, name: &[u8]) -> Vec<Got> {
        self.send(
            s,
            Frame::new(reqno, Message::Handshake(Handshake::Guest { name })),
        );
        self.recv(s)
    }

    pub fn syscall(
        &mut self,
        s: &mut ServerCore<TestKernel>,
        reqno: u64,
        sysnum: u32,
        args: &[u8],
    ) -> Vec<Got> {
        self.send(
            s,
            Frame::new(reqno, Message::Syscall(SyscallReq { sysnum, args })),
        );
        self.recv(s)
    }

    pub fn answer(&mut self, s: &mut ServerCore<TestKernel>, reqno: u64, data: &[u8]) -> Vec<Got> {
        self.send(
            s,
            Frame::new(
                reqno,
                Message::CopyinResp(CopyinResp {
                    label: CopyinKind::Bytes,
                    data,
                }),
            ),
        );
        self.recv(s)
    }

    /// Everything the server queued for this peer since the last call.
    pub fn recv(&mut self, s: &mut ServerCore<TestKernel>) -> Vec<Got> {
        let Some(out) = s.take_output(self.id) else {
            self.closed = true;
            return vec![];
        };
        self.dec.feed(&out.bytes);
        if out.close {
            self.closed = true;
            s.disconnect(self.id);
        }
        let mut got = Vec::new();
        while let Some(raw) = self.dec.next_frame().unwrap() {
            let f = raw.frame(Abi::Lp64Le).expect("server sent a valid frame");
            got.push(match f.message {
                Message::HandshakeResp(r) => {
                    assert_eq!(r.error, 0);
                    Got::HandshakeOk(f.reqno)
                }
                Message::SyscallResp(r) => Got::Syscall {
                    reqno: f.reqno,
                    error: r.error,
                    rv: r.retval,
                },
                Message::Copyin(c) => Got::Copyin {
                    reqno: f.reqno,
                    str: c.kind == CopyinKind::Str,
                    len: c.len,
                    addr: c.addr,
                },
                Message::Copyout(c) => Got::Copyout {
                    reqno: f.reqno,
                    addr: c.addr,
                    data: c.data.to_vec(),
                },
                Message::Anonmmap(a) => Got::Mmap {
                    reqno: f.reqno,
                    len: a.len,
                },
                Message::PreforkResp(p) => Got::Prefork {
                    reqno: f.reqno,
                    cookie: p.cookie.0,
                },
                Message::Raise(r) => Got::Raise(r.signo),
                Message::Error(e) => Got::Error {
                    reqno: f.reqno,
                    code: e.code,
                },
                other => panic!("server sent a client frame {other:?}"),
            });
        }
        got
    }
}

pub fn args(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

pub fn ok(reqno: u64, rv0: i64, rv1: i64) -> Got {
    Got::Syscall {
        reqno,
        error: 0,
        rv: [rv0, rv1],
    }
}

pub fn errno(reqno: u64, error: i32) -> Got {
    Got::Syscall {
        reqno,
        error,
        rv: [0, 0],
    }
}
