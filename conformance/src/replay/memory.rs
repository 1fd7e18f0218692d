//! The client memory model: what the recording reveals of the client's
//! memory, used to answer the server's COPYIN/COPYINSTR requests.

use rumpsp_protocol::kernel::MemRequest;
use rumpsp_protocol::{Abi, CopyinKind, Frame, Message};

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

/// The bytes a COPYIN/COPYINSTR asks for, from what the recording revealed:
/// the owner `step`'s answer to that very request, else that of another call
/// in flight with it (`others`; the attribution of interleaved requests can
/// differ between two schedules), else assembled from what this step and
/// earlier ones revealed.
pub fn fetch(
    step: &Step,
    others: &[&Step],
    conn_mem: &Memory,
    kind: CopyinKind,
    addr: u64,
    len: u64,
) -> Vec<u8> {
    let want = match kind {
        CopyinKind::Bytes => MemRequest::Bytes { addr, len },
        CopyinKind::Str => MemRequest::Str { addr, max: len },
    };
    for s in std::iter::once(step).chain(others.iter().copied()) {
        if let Some((_, d)) = s.memory.iter().find(|(r, _)| *r == want) {
            return d.clone();
        }
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

/// The largest extent an argument pointer is taken to cover (a size slot beyond it is not a size).
const MAX_EXTENT: u64 = 64 << 20;

/// How far `addr` lies into client memory this step is known to hand the
/// server, or `None` when it lies in none: an argument pointer (with any
/// later-or-earlier size slot as its extent), a {base, len} pair inside data
/// the step copied in (an iovec array), or a range its earlier requests
/// covered or the recording shows it writing (COPYOUT; each with the byte
/// just past it, where a split request continues).
/// With several calls in flight, a memory request belongs to the call that
/// gives the smallest distance.
pub fn distance(step: &Step, addr: u64) -> Option<u64> {
    let mut best: Option<u64> = None;
    let mut consider = |base: u64, extent: u64, inclusive_end: bool| {
        let end = base.saturating_add(extent.max(1));
        if addr >= base && (addr < end || (inclusive_end && addr == end)) {
            let d = addr - base;
            best = Some(best.map_or(d, |b| b.min(d)));
        }
    };
    let args: Vec<u64> = (0..8).map(|i| step.arg(i)).collect();
    let sizes: Vec<u64> = args
        .iter()
        .copied()
        .filter(|v| (1..=MAX_EXTENT).contains(v))
        .collect();
    for &p in args.iter().filter(|p| **p > 4096) {
        consider(p, 1, false);
        for &n in &sizes {
            consider(p, n, false);
        }
    }
    for (r, d) in &step.memory {
        match r {
            MemRequest::Bytes { addr: a, len } => {
                consider(*a, *len, true);
                for pair in d.chunks_exact(16) {
                    let base = u64::from_le_bytes(pair[..8].try_into().unwrap_or([0; 8]));
                    let len = u64::from_le_bytes(pair[8..].try_into().unwrap_or([0; 8]));
                    if base > 4096 && len <= MAX_EXTENT {
                        consider(base, len, false);
                    }
                }
            }
            MemRequest::Str { addr: a, .. } => consider(*a, d.len() as u64, false),
            MemRequest::Mmap { .. } => {}
        }
    }
    for f in &step.recorded {
        if let Ok(Frame {
            message: Message::Copyout(co),
            ..
        }) = f.frame(Abi::Lp64Le)
        {
            consider(co.addr, co.data.len() as u64, true);
        }
    }
    best
}

/// The call, among `calls` (oldest first), that a server frame touching
/// `addr` belongs to: the smallest [`distance`], the oldest on a tie, and
/// the oldest when no call covers the address. With one call in flight it is
/// that call, and no distance is computed.
pub fn owner<'a>(
    calls: impl IntoIterator<Item = (usize, &'a Step)>,
    addr: Option<u64>,
) -> Option<usize> {
    let calls: Vec<(usize, &Step)> = calls.into_iter().collect();
    if let [(only, _)] = calls[..] {
        return Some(only);
    }
    let mut first = None;
    let mut best: Option<(u64, usize)> = None;
    for (i, s) in calls {
        first.get_or_insert(i);
        if let Some(d) = addr.and_then(|a| distance(s, a)) {
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, i));
            }
        }
    }
    best.map(|(_, i)| i).or(first)
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
