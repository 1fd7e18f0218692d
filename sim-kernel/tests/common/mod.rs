//! A test process: a SimKernel, one client process and its local memory.
#![allow(dead_code)]

use rumpsp_protocol::kernel::Kernel;
use rumpsp_sim_kernel::local::{run_syscall, LocalMemory, Outcome};
use rumpsp_sim_kernel::SimKernel;

/// Where [`T::stepwise`] stopped a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// After a memory round; the requests answered so far.
    Fetched(usize),
    /// The call waits.
    Blocked,
}

pub struct T {
    pub k: SimKernel,
    pub mem: LocalMemory,
    pub pid: i32,
    scratch: u64,
}

/// Syscall numbers used by the tests.
pub mod nr {
    pub const READ: u32 = 3;
    pub const WRITE: u32 = 4;
    pub const OPEN: u32 = 5;
    pub const CLOSE: u32 = 6;
    pub const LINK: u32 = 9;
    pub const UNLINK: u32 = 10;
    pub const CHDIR: u32 = 12;
    pub const CHMOD: u32 = 15;
    pub const GETPID: u32 = 20;
    pub const SETUID: u32 = 23;
    pub const ACCESS: u32 = 33;
    pub const DUP: u32 = 41;
    pub const PIPE: u32 = 42;
    pub const SYMLINK: u32 = 57;
    pub const READLINK: u32 = 58;
    pub const UMASK: u32 = 60;
    pub const DUP2: u32 = 90;
    pub const FCNTL: u32 = 92;
    pub const READV: u32 = 120;
    pub const WRITEV: u32 = 121;
    pub const RENAME: u32 = 128;
    pub const MKDIR: u32 = 136;
    pub const RMDIR: u32 = 137;
    pub const PREAD: u32 = 173;
    pub const PWRITE: u32 = 174;
    pub const LSEEK: u32 = 199;
    pub const FTRUNCATE: u32 = 201;
    pub const SYSCTL: u32 = 202;
    pub const GETCWD: u32 = 296;
    pub const STATVFS1: u32 = 357;
    pub const GETDENTS: u32 = 390;
    pub const MOUNT: u32 = 410;
    pub const CLOCK_GETTIME: u32 = 427;
    pub const NANOSLEEP: u32 = 430;
    pub const STAT: u32 = 439;
    pub const FSTAT: u32 = 440;
    pub const LSTAT: u32 = 441;
    pub const PIPE2: u32 = 453;
    pub const DUP3: u32 = 454;
    pub const OPENAT: u32 = 468;
    pub const UNLINKAT: u32 = 471;
}

pub const ENOENT: i32 = 2;
pub const EBADF: i32 = 9;
pub const EACCES: i32 = 13;
pub const EFAULT: i32 = 14;
pub const EBUSY: i32 = 16;
pub const EEXIST: i32 = 17;
pub const EXDEV: i32 = 18;
pub const ENOTDIR: i32 = 20;
pub const EISDIR: i32 = 21;
pub const EINVAL: i32 = 22;
pub const EMFILE: i32 = 24;
pub const EFBIG: i32 = 27;
pub const ENOSPC: i32 = 28;
pub const ESPIPE: i32 = 29;
pub const EROFS: i32 = 30;
pub const EPIPE: i32 = 32;
pub const EAGAIN: i32 = 35;
pub const EOPNOTSUPP: i32 = 45;
pub const ENAMETOOLONG: i32 = 63;
pub const ENOTEMPTY: i32 = 66;
pub const ENOSYS: i32 = 78;
pub const EPERM: i32 = 1;
pub const ENXIO: i32 = 6;
pub const ENOTTY: i32 = 25;

pub const O_RDONLY: u64 = 0;
pub const O_WRONLY: u64 = 1;
pub const O_RDWR: u64 = 2;
pub const O_NONBLOCK: u64 = 4;
pub const O_APPEND: u64 = 8;
pub const O_CREAT: u64 = 0x200;
pub const O_TRUNC: u64 = 0x400;
pub const O_EXCL: u64 = 0x800;
pub const O_DIRECTORY: u64 = 0x20_0000;
pub const O_CLOEXEC: u64 = 0x40_0000;

impl T {
    /// A kernel with one client process and /tmp mounted as tmpfs.
    pub fn new() -> T {
        T::with_config(rumpsp_sim_kernel::SimConfig::default())
    }

    pub fn with_config(config: rumpsp_sim_kernel::SimConfig) -> T {
        let mut k = SimKernel::new(config);
        let pid = k.spawn_guest(b"test\0").unwrap();
        let mut t = T {
            k,
            mem: LocalMemory::default(),
            pid,
            scratch: 0x10_0000,
        };
        t.mount_tmpfs("/tmp");
        t
    }

    /// Places bytes in client memory; returns their address.
    pub fn put(&mut self, data: &[u8]) -> u64 {
        let a = self.scratch;
        self.mem.write(a, data);
        self.scratch += (data.len() as u64 + 64).next_multiple_of(64);
        a
    }

    /// A NUL-terminated string in client memory.
    pub fn s(&mut self, s: &str) -> u64 {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.put(&v)
    }

    /// A zeroed buffer in client memory.
    pub fn buf(&mut self, n: usize) -> u64 {
        self.put(&vec![0; n])
    }

    /// Runs a syscall for the test process: (errno, retval0, retval1).
    pub fn sys(&mut self, nr: u32, args: &[u64]) -> (i32, i64, i64) {
        self.sys_as(self.pid, nr, args)
    }

    /// Runs a syscall for another process.
    pub fn sys_as(&mut self, pid: i32, nr: u32, args: &[u64]) -> (i32, i64, i64) {
        let block: Vec<u8> = args.iter().flat_map(|a| a.to_le_bytes()).collect();
        match run_syscall(&mut self.k, &mut self.mem, pid, nr, &block) {
            Outcome::Done(d) => (d.error, d.retval[0], d.retval[1]),
            Outcome::Blocked => (-1, -1, -1),
        }
    }

    /// Runs a syscall step by step as the server does: its fetched memory
    /// kept across runs, `between` called after each memory round
    /// (`Pause::Fetched` with the count of requests answered so far) and at
    /// each wait (`Pause::Blocked`), so a test can change the kernel in
    /// between. Panics after 1000 rounds.
    pub fn stepwise(
        &mut self,
        nr: u32,
        args: &[u64],
        mut between: impl FnMut(&mut T, Pause),
    ) -> rumpsp_protocol::kernel::SyscallDone {
        use rumpsp_protocol::kernel::{CallMemory, SyscallStep};
        use rumpsp_protocol::{Abi, SyscallArgs};
        let block: Vec<u8> = args.iter().flat_map(|a| a.to_le_bytes()).collect();
        let mut mem = CallMemory::default();
        for _ in 0..1000 {
            let step = self
                .k
                .syscall(self.pid, nr, SyscallArgs::new(&block, Abi::Lp64Le), &mem);
            let reqs = match step {
                SyscallStep::Done(d) => return d,
                SyscallStep::Need(r) => vec![r],
                SyscallStep::NeedAll(rs) => rs,
                SyscallStep::Blocked | SyscallStep::BlockedOn(_) => {
                    between(self, Pause::Blocked);
                    continue;
                }
            };
            for r in reqs {
                let got = self.mem.fetch(r);
                mem.push(r, got);
            }
            between(self, Pause::Fetched(mem.len()));
        }
        panic!("syscall {nr} {args:x?} did not finish in 1000 rounds");
    }

    /// errno only.
    pub fn e(&mut self, nr: u32, args: &[u64]) -> i32 {
        self.sys(nr, args).0
    }

    /// Expects success; returns retval[0].
    pub fn ok(&mut self, nr: u32, args: &[u64]) -> i64 {
        let (e, r, _) = self.sys(nr, args);
        assert_eq!(e, 0, "syscall {nr} {args:x?} failed with {e}");
        r
    }

    pub fn open(&mut self, path: &str, flags: u64, mode: u64) -> (i32, i64) {
        let p = self.s(path);
        let (e, r, _) = self.sys(nr::OPEN, &[p, flags, mode]);
        (e, r)
    }

    pub fn mkdir(&mut self, path: &str, mode: u64) -> i32 {
        let p = self.s(path);
        self.e(nr::MKDIR, &[p, mode])
    }

    pub fn write(&mut self, fd: i64, data: &[u8]) -> (i32, i64) {
        let b = self.put(data);
        let (e, r, _) = self.sys(nr::WRITE, &[fd as u64, b, data.len() as u64]);
        (e, r)
    }

    pub fn read(&mut self, fd: i64, n: usize) -> (i32, Vec<u8>) {
        let b = self.buf(n);
        let (e, r, _) = self.sys(nr::READ, &[fd as u64, b, n as u64]);
        let data = if e == 0 {
            self.mem.read(b, r as usize).unwrap()
        } else {
            vec![]
        };
        (e, data)
    }

    /// stat of a path: (errno, mode, size, nlink).
    pub fn stat(&mut self, path: &str) -> (i32, u32, i64, u32) {
        let p = self.s(path);
        let b = self.buf(152);
        let e = self.e(nr::STAT, &[p, b]);
        let st = self.mem.read(b, 152).unwrap();
        let mode = u32::from_le_bytes(st[8..12].try_into().unwrap());
        let size = i64::from_le_bytes(st[112..120].try_into().unwrap());
        let nlink = u32::from_le_bytes(st[24..28].try_into().unwrap());
        (e, mode, size, nlink)
    }

    pub fn mount_tmpfs(&mut self, dir: &str) {
        let mut args = vec![0u8; 40];
        args[0] = 1;
        args[32..36].copy_from_slice(&0o1777u32.to_le_bytes());
        let a = self.put(&args);
        let ty = self.s("tmpfs");
        let p = self.s(dir);
        assert_eq!(self.e(nr::MOUNT, &[ty, p, 0, a, 40]), 0);
    }

    /// Names in a directory, via getdents.
    pub fn list(&mut self, path: &str) -> Vec<String> {
        self.dents(path).into_iter().map(|(_, _, n)| n).collect()
    }

    /// getdents of a directory: (d_fileno, d_type, name) of each record.
    pub fn dents(&mut self, path: &str) -> Vec<(u64, u8, String)> {
        let (e, fd) = self.open(path, O_RDONLY | O_DIRECTORY, 0);
        assert_eq!(e, 0, "open {path}");
        let mut out = Vec::new();
        loop {
            let b = self.buf(4096);
            let n = self.ok(nr::GETDENTS, &[fd as u64, b, 4096]);
            if n == 0 {
                break;
            }
            let data = self.mem.read(b, n as usize).unwrap();
            let mut i = 0;
            while i < data.len() {
                let ino = u64::from_le_bytes(data[i..i + 8].try_into().unwrap());
                let reclen = u16::from_le_bytes([data[i + 8], data[i + 9]]) as usize;
                let namlen = u16::from_le_bytes([data[i + 10], data[i + 11]]) as usize;
                let name = String::from_utf8_lossy(&data[i + 13..i + 13 + namlen]).into_owned();
                out.push((ino, data[i + 12], name));
                i += reclen;
            }
        }
        self.ok(nr::CLOSE, &[fd as u64]);
        out
    }

    /// lstat st_flags of a path: (errno, flags).
    pub fn st_flags(&mut self, path: &str) -> (i32, u32) {
        let p = self.s(path);
        let b = self.buf(152);
        let e = self.e(nr::LSTAT, &[p, b]);
        let st = self.mem.read(b, 152).unwrap();
        (e, u32::from_le_bytes(st[132..136].try_into().unwrap()))
    }
}
