//! Running syscalls in-process, without the protocol: a sparse client memory
//! that answers the kernel's memory requests and receives its copyouts. Used
//! by tests, benchmarks, fuzzers and simulations that exercise the kernel alone.

use std::collections::BTreeMap;

use rumpsp_protocol::kernel::{
    CallMemory, Fetched, Kernel, MemRequest, Pid, SyscallDone, SyscallStep,
};
use rumpsp_protocol::{Abi, SyscallArgs};

/// Sparse client memory: pages of 4 KiB, created when written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalMemory {
    pages: BTreeMap<u64, Box<[u8; 4096]>>,
    next_map: u64,
}

impl LocalMemory {
    /// Writes bytes at `addr`; bytes that would fall past the end of the
    /// address space are dropped.
    pub fn write(&mut self, addr: u64, data: &[u8]) {
        let mut done = 0;
        while done < data.len() {
            let Some(a) = addr.checked_add(done as u64) else {
                return;
            };
            let (page, off) = (a & !4095, (a & 4095) as usize);
            let n = (4096 - off).min(data.len() - done);
            let p = self
                .pages
                .entry(page)
                .or_insert_with(|| Box::new([0; 4096]));
            p[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
    }

    /// Reads `len` bytes at `addr`; `None` if any of them was never written (a fault).
    pub fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        // no more than is mapped can be read: check before allocating
        if len > self.pages.len().saturating_mul(4096) || addr.checked_add(len as u64).is_none() {
            return None;
        }
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let a = addr + out.len() as u64;
            let (page, off) = (a & !4095, (a & 4095) as usize);
            let n = (4096 - off).min(len - out.len());
            out.extend_from_slice(&self.pages.get(&page)?[off..off + n]);
        }
        Some(out)
    }

    /// Reads a NUL-terminated string of at most `max` bytes (the NUL included when it fits).
    pub fn read_str(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        while out.len() < max {
            let b = self.read(addr.checked_add(out.len() as u64)?, 1)?[0];
            out.push(b);
            if b == 0 {
                break;
            }
        }
        Some(out)
    }

    /// Answers one memory request as a real client would.
    pub fn fetch(&mut self, req: MemRequest) -> Fetched {
        match req {
            MemRequest::Bytes { addr, len } => {
                match usize::try_from(len).ok().and_then(|n| self.read(addr, n)) {
                    Some(d) => Fetched::Data(d),
                    None => Fetched::Fault,
                }
            }
            MemRequest::Str { addr, max } => match self.read_str(addr, max.min(1 << 20) as usize) {
                Some(d) if !d.is_empty() => Fetched::Data(d),
                _ => Fetched::Fault,
            },
            MemRequest::Mmap { len } => {
                let base = 0x7f00_0000_0000 + self.next_map;
                self.next_map += len.div_ceil(4096) * 4096 + 4096;
                self.write(base, &vec![0; len.min(1 << 20) as usize]);
                Fetched::Mapped(base)
            }
        }
    }
}

/// The outcome of a syscall run to completion locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Finished (copyouts already applied to the memory).
    Done(SyscallDone),
    /// The kernel reports the call blocked.
    Blocked,
}

/// Runs a syscall until it finishes or blocks, answering memory requests from
/// `mem` and applying the copyouts to it. At most `max_rounds` memory round trips.
pub fn run_syscall<K: Kernel>(
    k: &mut K,
    mem: &mut LocalMemory,
    pid: Pid,
    sysnum: u32,
    args: &[u8],
) -> Outcome {
    let mut fetched = CallMemory::default();
    for _ in 0..4096 {
        match k.syscall(pid, sysnum, SyscallArgs::new(args, Abi::Lp64Le), &fetched) {
            SyscallStep::Done(d) => {
                for (addr, data) in &d.copyouts {
                    mem.write(*addr, data);
                }
                return Outcome::Done(d);
            }
            SyscallStep::Need(req) => {
                let got = mem.fetch(req);
                fetched.push(req, got);
            }
            SyscallStep::NeedAll(reqs) => {
                for req in reqs {
                    let got = mem.fetch(req);
                    fetched.push(req, got);
                }
            }
            SyscallStep::Blocked | SyscallStep::BlockedOn(_) => return Outcome::Blocked,
        }
    }
    Outcome::Done(SyscallDone::err(crate::consts::EFAULT))
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_at_the_top_of_the_address_space_stop_there() {
        let mut m = super::LocalMemory::default();
        m.write(u64::MAX - 1, &[1, 2, 3, 4]);
        assert_eq!(m.read(u64::MAX - 1, 1), Some(vec![1]));
        assert_eq!(m.read_str(u64::MAX, 8), None);
    }

    use super::*;

    #[test]
    fn memory_spans_pages_and_faults_on_unwritten_bytes() {
        let mut m = LocalMemory::default();
        m.write(4090, b"hello world");
        assert_eq!(m.read(4090, 11).unwrap(), b"hello world");
        assert_eq!(m.read(8190, 10), None);
        m.write(100, b"/tmp\0junk");
        assert_eq!(m.read_str(100, 1024).unwrap(), b"/tmp\0");
        assert_eq!(m.read_str(100, 3).unwrap(), b"/tm");
    }
}
