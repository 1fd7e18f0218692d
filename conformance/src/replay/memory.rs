//! The client memory model: what the recording reveals of the client's
//! memory, used to answer the server's COPYIN/COPYINSTR requests.

use rumpsp_protocol::kernel::MemRequest;
use rumpsp_protocol::CopyinKind;

use crate::script::Step;

/// The largest COPYIN the replayer answers (a server asking for more gets zeros up to this).
pub const MAX_COPYIN: usize = 64 << 20;

/// Sparse client memory: segments written in order (later ones win).
#[derive(Debug, Clone, Default)]
pub struct Memory {
    pub(crate) segs: Vec<(u64, Vec<u8>)>,
}

impl Memory {
    /// Records that `data` lies at `addr`.
    pub fn write(&mut self, addr: u64, data: &[u8]) {
        if !data.is_empty() {
            self.segs.push((addr, data.to_vec()));
        }
    }

    /// Bytes at [addr, addr+len): known bytes, zeros elsewhere; and whether all were known.
    pub fn read(&self, addr: u64, len: usize) -> (Vec<u8>, bool) {
        let mut out = vec![0u8; len];
        let mut known = vec![false; len];
        let end = addr.saturating_add(len as u64);
        for (a, d) in &self.segs {
            let (s, e) = (*a, a.saturating_add(d.len() as u64));
            if e <= addr || s >= end {
                continue;
            }
            let lo = s.max(addr);
            let hi = e.min(end);
            let dst = (lo - addr) as usize..(hi - addr) as usize;
            let src = (lo - s) as usize..(hi - s) as usize;
            out[dst.clone()].copy_from_slice(&d[src]);
            known[dst].iter_mut().for_each(|k| *k = true);
        }
        (out, known.iter().all(|k| *k))
    }
}

/// The bytes a COPYIN/COPYINSTR asks for, from what the recording revealed.
pub fn fetch(step: &Step, conn_mem: &Memory, kind: CopyinKind, addr: u64, len: u64) -> Vec<u8> {
    let want = match kind {
        CopyinKind::Bytes => MemRequest::Bytes { addr, len },
        CopyinKind::Str => MemRequest::Str { addr, max: len },
    };
    if let Some((_, d)) = step.memory.iter().find(|(r, _)| *r == want) {
        return d.clone();
    }
    // Assemble from everything this step and earlier ones revealed.
    let mut mem = conn_mem.clone();
    for (r, d) in &step.memory {
        if let MemRequest::Bytes { addr, .. } | MemRequest::Str { addr, .. } = r {
            mem.write(*addr, d);
        }
    }
    let n = usize::try_from(len).unwrap_or(MAX_COPYIN).min(MAX_COPYIN);
    let (bytes, _) = mem.read(addr, n);
    match kind {
        CopyinKind::Bytes => bytes,
        CopyinKind::Str => match bytes.iter().position(|&b| b == 0) {
            Some(i) => bytes[..=i].to_vec(),
            None => bytes,
        },
    }
}

/// Whether `addr` lies in client memory this step is known to hand the
/// server: an argument pointer, or a range its recorded requests covered.
pub fn step_covers(step: &Step, addr: u64) -> bool {
    let in_range = |a: u64, len: u64| addr >= a && addr < a.saturating_add(len.max(1));
    step.memory.iter().any(|(r, d)| match r {
        MemRequest::Bytes { addr: a, len } => in_range(*a, *len),
        MemRequest::Str { addr: a, .. } => in_range(*a, d.len() as u64),
        MemRequest::Mmap { .. } => false,
    }) || (0..8).any(|i| {
        let a = step.arg(i);
        a > 4096 && a == addr
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_writes_win_and_unknown_bytes_are_reported() {
        let mut m = Memory::default();
        m.write(100, b"abcd");
        m.write(102, b"XY");
        assert_eq!(m.read(100, 4), (b"abXY".to_vec(), true));
        assert_eq!(m.read(99, 2), (vec![0, b'a'], false));
    }
}
