//! [`MutWire`]: a [`Wire`] that changes what the server sends, one [`Mutation`] at a time.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rumpsp_protocol::{
    Abi, CopyoutReq, Frame, FrameDecoder, FrameLimits, HandshakeResp, Message, Raise, RawFrame,
    SyscallResp, HEADER_LEN,
};

use super::Mutation;
use crate::wire::{Wire, WireConn, WireError};

/// How many times a [`MutWire`] changed what the server sent (shared, so it
/// can be read after the wire moved to another thread).
pub type MutationCounter = Arc<AtomicUsize>;

const ABI: Abi = Abi::Lp64Le;
const SYS_GETPID: u32 = 20;
const SYS_SYSCTL: u32 = 202;
const SYS_GETDENTS: u32 = 390;
/// `__stat50`, `__fstat50`, `__lstat50`, `fstatat`: calls whose 152-byte COPYOUT is a `struct stat`.
const SYS_STATS: [u32; 4] = [439, 440, 441, 466];
const STAT_LEN: usize = 152;
const STAT_MODE: usize = 8;
const STAT_TIMES: std::ops::Range<usize> = 48..112;
const STAT_SIZE: usize = 112;
const STAT_NLINK: usize = 24;
const STAT_UID: usize = 28;
const EIO: i32 = 5;
const EINVAL: i32 = 22;
const ENOSYS: i32 = 78;
const SIGUSR1: u32 = 30;
/// [`Mutation::CloseAfterN`]: frames a connection gets before the close.
const CLOSE_AFTER: usize = 3;
/// [`Mutation::NthErrno`]: which syscall answer of a connection fails.
const NTH: usize = 3;

/// Per connection: both directions framed, the calls in flight, what is queued for the client.
struct ConnState {
    up: FrameDecoder,
    down: FrameDecoder,
    down_failed: bool,
    /// reqno → syscall number of the calls not answered yet.
    in_flight: BTreeMap<u64, u32>,
    /// Pieces ready for the client, in order (one read each for the trickling controls).
    queue: VecDeque<Vec<u8>>,
    /// Bytes of the front piece already delivered ([`Mutation::ControlOneByte`]
    /// hands out one byte a read without copying the rest of the piece).
    head: usize,
    /// Held back to the next read ([`Mutation::LateDuplicate`]).
    late: Vec<u8>,
    frames: usize,
    answers: usize,
    inner_closed: bool,
    cut: bool,
}

impl ConnState {
    fn new() -> ConnState {
        ConnState {
            up: FrameDecoder::new(FrameLimits::unlimited()),
            down: FrameDecoder::new(FrameLimits::unlimited()),
            down_failed: false,
            in_flight: BTreeMap::new(),
            queue: VecDeque::new(),
            head: 0,
            late: Vec::new(),
            frames: 0,
            answers: 0,
            inner_closed: false,
            cut: false,
        }
    }
}

/// Every timestamp of a `struct stat` set to (sec, nsec).
fn set_stat_times(data: &mut [u8], (sec, nsec): (i64, i64)) {
    for t in data[STAT_TIMES].chunks_exact_mut(16) {
        t[..8].copy_from_slice(&sec.to_le_bytes());
        t[8..].copy_from_slice(&nsec.to_le_bytes());
    }
}

/// Wraps the wire to a correct server and injects one [`Mutation`].
pub struct MutWire {
    inner: Box<dyn Wire>,
    mutation: Mutation,
    conns: BTreeMap<WireConn, ConnState>,
    injected: MutationCounter,
    rng: u64,
    /// stat answers seen (stat-times-backwards).
    stats: i64,
}

impl MutWire {
    /// `inner` with `mutation` applied; every change is counted in `injected`.
    pub fn new(inner: Box<dyn Wire>, mutation: Mutation, injected: MutationCounter) -> MutWire {
        MutWire {
            inner,
            mutation,
            conns: BTreeMap::new(),
            injected,
            rng: 0x9e37_79b9_7f4a_7c15,
            stats: 0,
        }
    }

    /// How many changes were made so far.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.injected.fetch_add(1, Ordering::Relaxed);
    }

    /// Deterministic pseudo-random bytes (xorshift64).
    fn random_byte(&mut self) -> u8 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 24) as u8
    }

    fn mutate_banner(&self, line: &[u8]) -> Vec<u8> {
        // RUMPSP-<major>.<minor>-<ostype>-<osrelease>/<machine>\n
        let Some(slash) = line.iter().rposition(|&b| b == b'/') else {
            return line.to_vec();
        };
        let Some(dash) = line[..slash].iter().rposition(|&b| b == b'-') else {
            return line.to_vec();
        };
        let release: &[u8] = if &line[dash + 1..slash] == b"10.0" {
            b"9.4"
        } else {
            b"10.0"
        };
        self.count();
        let mut out = line[..=dash].to_vec();
        out.extend_from_slice(release);
        out.extend_from_slice(&line[slash..]);
        out
    }

    /// Frames the server's bytes, changes them, queues them for the client.
    fn take_in(&mut self, c: WireConn, bytes: &[u8]) {
        let Some(mut st) = self.conns.remove(&c) else {
            return;
        };
        if st.down_failed {
            st.queue.push_back(bytes.to_vec());
        } else {
            st.down.feed(bytes);
            loop {
                match st.down.next_frame() {
                    Ok(Some(raw)) => {
                        if st.cut {
                            continue;
                        }
                        let original = raw.to_vec();
                        let out = self.mutate_frame(&mut st, &raw);
                        let changed = out.len() != 1 || out[0] != original;
                        if changed {
                            self.count();
                        }
                        for f in out {
                            self.queue_frame(&mut st, f);
                        }
                        st.frames += 1;
                        if self.mutation == Mutation::CloseAfterN && st.frames == CLOSE_AFTER {
                            self.count();
                            st.cut = true;
                            st.inner_closed = true;
                            self.inner.close(c);
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        // Not framable: everything left goes through unchanged.
                        st.down_failed = true;
                        let rest = std::mem::take(st.down.buffer_mut());
                        st.queue.push_back(rest.to_vec());
                        break;
                    }
                }
            }
        }
        self.conns.insert(c, st);
    }

    fn queue_frame(&self, st: &mut ConnState, f: Vec<u8>) {
        if self.mutation == Mutation::ControlDelay && f.len() > HEADER_LEN {
            let mut f = f;
            let body = f.split_off(HEADER_LEN);
            st.queue.push_back(f);
            st.queue.push_back(body);
        } else {
            st.queue.push_back(f);
        }
    }

    /// The frames to send in place of `raw` (itself, unchanged, when the mutation does not apply).
    fn mutate_frame(&mut self, st: &mut ConnState, raw: &RawFrame) -> Vec<Vec<u8>> {
        let same = vec![raw.to_vec()];
        let Ok(frame) = raw.frame(ABI) else {
            return same;
        };
        let reqno = frame.reqno;
        let enc = |m: Message<'_>| Frame::new(reqno, m).to_vec(ABI);
        match frame.message {
            Message::SyscallResp(r) => {
                let sysnum = st.in_flight.remove(&reqno);
                st.answers += 1;
                let other = |e: i32| if e == EIO { EINVAL } else { EIO };
                let mut r2 = r;
                match self.mutation {
                    Mutation::ErrnoChange if r.error != 0 => r2.error = other(r.error),
                    Mutation::ErrnoToSuccess if r.error != 0 => r2.error = 0,
                    Mutation::RetvalChange if r.error == 0 => {
                        r2.retval[0] = r.retval[0].wrapping_add(1)
                    }
                    Mutation::Retval12345 if r.error == 0 => {
                        r2.retval[0] = if r.retval[0] == 12345 { 12346 } else { 12345 }
                    }
                    Mutation::Retval1Change if r.error == 0 => {
                        r2.retval[1] = r.retval[1].wrapping_add(1)
                    }
                    Mutation::NthErrno if st.answers == NTH => r2.error = other(r.error),
                    Mutation::GetpidBroken if sysnum == Some(SYS_GETPID) => {
                        r2 = SyscallResp {
                            error: ENOSYS,
                            pad: r.pad,
                            retval: [-1, -1],
                        }
                    }
                    Mutation::GetpidShift if sysnum == Some(SYS_GETPID) && r.error == 0 => {
                        r2.retval[0] = r.retval[0].wrapping_add(1)
                    }
                    Mutation::ControlPadding => {
                        for b in &mut r2.pad {
                            *b = self.random_byte();
                        }
                    }
                    Mutation::EarlyAnswer => {
                        let wrong = SyscallResp {
                            error: EIO,
                            pad: [0; 4],
                            retval: [-1, -1],
                        };
                        return vec![enc(Message::SyscallResp(wrong)), raw.to_vec()];
                    }
                    Mutation::LateDuplicate => {
                        self.count();
                        st.late.extend_from_slice(&raw.to_vec());
                        return same;
                    }
                    Mutation::RaiseInject => {
                        return vec![enc(Message::Raise(Raise { signo: SIGUSR1 })), raw.to_vec()];
                    }
                    _ => {}
                }
                if r2 == r {
                    same
                } else {
                    vec![enc(Message::SyscallResp(r2))]
                }
            }
            Message::Copyout(co) => {
                let sysnum = if st.in_flight.len() == 1 {
                    st.in_flight.values().next().copied()
                } else {
                    None
                };
                let mut data = co.data.to_vec();
                let with = |d: &[u8], addr: u64| {
                    enc(Message::Copyout(CopyoutReq {
                        kind: co.kind,
                        addr,
                        data: d,
                    }))
                };
                let is_stat =
                    sysnum.is_some_and(|s| SYS_STATS.contains(&s)) && data.len() == STAT_LEN;
                let is_dents = sysnum == Some(SYS_GETDENTS);
                match self.mutation {
                    Mutation::CopyoutFlip if !data.is_empty() => data[0] ^= 0xff,
                    Mutation::CopyoutDrop => return vec![],
                    Mutation::CopyoutTruncate if !data.is_empty() => {
                        data.pop();
                    }
                    Mutation::CopyoutExtra => {
                        let past = co.addr.wrapping_add(data.len() as u64);
                        return vec![raw.to_vec(), with(&[0xaa], past)];
                    }
                    Mutation::ControlCopyoutSplit if data.len() >= 2 => {
                        let half = data.len() / 2;
                        return vec![
                            with(&data[..half], co.addr),
                            with(&data[half..], co.addr.wrapping_add(half as u64)),
                        ];
                    }
                    Mutation::StatSize if is_stat => {
                        let mut w = [0u8; 8];
                        w.copy_from_slice(&data[STAT_SIZE..STAT_SIZE + 8]);
                        let v = i64::from_le_bytes(w).wrapping_add(1);
                        data[STAT_SIZE..STAT_SIZE + 8].copy_from_slice(&v.to_le_bytes());
                    }
                    Mutation::StatMode if is_stat => data[STAT_MODE] ^= 0o100,
                    Mutation::StatNlink if is_stat => {
                        data[STAT_NLINK] = data[STAT_NLINK].wrapping_add(1)
                    }
                    Mutation::StatUid if is_stat => data[STAT_UID] = data[STAT_UID].wrapping_add(1),
                    Mutation::StatTimesZero if is_stat => data[STAT_TIMES].fill(0),
                    Mutation::StatTimesFrozen if is_stat => {
                        set_stat_times(&mut data, (1_796_230_000, 1))
                    }
                    Mutation::StatTimesBackwards if is_stat => {
                        self.stats += 1;
                        set_stat_times(&mut data, (1_900_000_000 - self.stats, 0))
                    }
                    Mutation::DirentName | Mutation::DirentType | Mutation::ControlPadding
                        if is_dents =>
                    {
                        self.mutate_dirents(&mut data)
                    }
                    Mutation::SysctlValue if sysnum == Some(SYS_SYSCTL) && !data.is_empty() => {
                        data[0] ^= 0x01
                    }
                    _ => {}
                }
                if data == co.data {
                    same
                } else {
                    vec![with(&data, co.addr)]
                }
            }
            Message::Raise(_) if self.mutation == Mutation::RaiseDrop => vec![],
            Message::Raise(r) if self.mutation == Mutation::RaiseSignal => {
                let signo = if r.signo == SIGUSR1 {
                    SIGUSR1 + 1
                } else {
                    SIGUSR1
                };
                let mut h = raw.header;
                h.word = signo;
                // the reqno of a RAISE is kept as it came (the reference leaves it uninitialised)
                let mut v = h.to_bytes().to_vec();
                v.extend_from_slice(&raw.body);
                vec![v]
            }
            Message::Error(e) if self.mutation == Mutation::ErrorCodeChange => {
                let code = if e.code.to_u32() == 7 { 2 } else { 7 };
                let mut h = raw.header;
                h.word = code;
                let mut v = h.to_bytes().to_vec();
                v.extend_from_slice(&raw.body);
                vec![v]
            }
            Message::HandshakeResp(h)
                if self.mutation == Mutation::HandshakeError && h.error == 0 =>
            {
                vec![enc(Message::HandshakeResp(HandshakeResp { error: 1 }))]
            }
            _ => same,
        }
    }

    /// Walks `__getdents30` records (checked lengths) and changes names, types or padding.
    fn mutate_dirents(&mut self, b: &mut [u8]) {
        let mut i = 0;
        while i + 13 <= b.len() {
            let reclen = usize::from(u16::from_le_bytes([b[i + 8], b[i + 9]]));
            let namlen = usize::from(u16::from_le_bytes([b[i + 10], b[i + 11]]));
            if reclen < 16 || i + reclen > b.len() || 14 + namlen > reclen {
                return;
            }
            match self.mutation {
                Mutation::DirentName if namlen > 0 => {
                    let n = &mut b[i + 13];
                    *n = if *n == b'X' { b'Y' } else { b'X' };
                }
                Mutation::DirentType => b[i + 12] = if b[i + 12] == 4 { 8 } else { 4 },
                Mutation::ControlPadding => {
                    for x in &mut b[i + 14 + namlen..i + reclen] {
                        *x = self.random_byte();
                    }
                }
                _ => {}
            }
            i += reclen;
        }
    }

    fn pull(&mut self, c: WireConn, now: bool) -> Result<(Vec<u8>, bool), WireError> {
        let Some(st) = self.conns.get_mut(&c) else {
            return if now {
                self.inner.recv_now(c)
            } else {
                self.inner.recv(c)
            };
        };
        if !st.late.is_empty() {
            let late = std::mem::take(&mut st.late);
            st.queue.push_back(late);
        }
        // What is queued goes first; the server is read only when it is used up.
        if !st.inner_closed && st.queue.is_empty() {
            let (bytes, closed) = if now {
                self.inner.recv_now(c)?
            } else {
                self.inner.recv(c)?
            };
            if closed {
                st.inner_closed = true;
            }
            self.take_in(c, &bytes);
        }
        let Some(st) = self.conns.get_mut(&c) else {
            return Ok((vec![], true));
        };
        let mut out = Vec::new();
        match self.mutation {
            Mutation::ControlOneByte => {
                while let Some(front) = st.queue.front() {
                    if let Some(&b) = front.get(st.head) {
                        out.push(b);
                        st.head += 1;
                    }
                    if st.head >= front.len() {
                        st.queue.pop_front();
                        st.head = 0;
                    }
                    if !out.is_empty() {
                        break;
                    }
                }
            }
            Mutation::ControlDelay => {
                if let Some(piece) = st.queue.pop_front() {
                    std::thread::sleep(Duration::from_millis(1));
                    out = piece;
                }
            }
            _ => {
                for p in st.queue.drain(..) {
                    out.extend_from_slice(&p);
                }
            }
        }
        let closed = st.inner_closed && st.queue.is_empty() && st.late.is_empty();
        if closed {
            self.conns.remove(&c);
        }
        Ok((out, closed))
    }
}

impl Wire for MutWire {
    fn connect(&mut self) -> Result<(WireConn, Vec<u8>), WireError> {
        let (c, bytes) = self.inner.connect()?;
        let cut = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        let mut banner = bytes[..cut].to_vec();
        if self.mutation == Mutation::BannerVersion {
            banner = self.mutate_banner(&banner);
        }
        self.conns.insert(c, ConnState::new());
        self.take_in(c, &bytes[cut..]);
        if !matches!(
            self.mutation,
            Mutation::ControlOneByte | Mutation::ControlDelay
        ) {
            if let Some(st) = self.conns.get_mut(&c) {
                for p in st.queue.drain(..) {
                    banner.extend_from_slice(&p);
                }
            }
        }
        Ok((c, banner))
    }

    fn send(&mut self, c: WireConn, bytes: &[u8]) -> Result<(), WireError> {
        if let Some(st) = self.conns.get_mut(&c) {
            if st.cut {
                return Err(WireError::Closed);
            }
            st.up.feed(bytes);
            while let Ok(Some(f)) = st.up.next_frame() {
                if let Ok(Frame {
                    reqno,
                    message: Message::Syscall(s),
                }) = f.frame(ABI)
                {
                    st.in_flight.insert(reqno, s.sysnum);
                }
            }
        }
        self.inner.send(c, bytes)
    }

    fn recv(&mut self, c: WireConn) -> Result<(Vec<u8>, bool), WireError> {
        self.pull(c, false)
    }

    fn recv_now(&mut self, c: WireConn) -> Result<(Vec<u8>, bool), WireError> {
        self.pull(c, true)
    }

    fn close(&mut self, c: WireConn) {
        self.conns.remove(&c);
        self.inner.close(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::InProcess;
    use rumpsp_protocol::{Handshake, SyscallReq};

    fn getpid_exchange(m: Mutation) -> (Vec<u8>, bool, usize) {
        let n = MutationCounter::default();
        let inner = InProcess::with_kernel(rumpsp_sim_kernel::SimKernel::default()).unwrap();
        let mut w = MutWire::new(Box::new(inner), m, n.clone());
        let (c, banner) = w.connect().unwrap();
        let mut out =
            Frame::new(1, Message::Handshake(Handshake::Guest { name: b"t\0" })).to_vec(ABI);
        out.extend(
            Frame::new(
                2,
                Message::Syscall(SyscallReq {
                    sysnum: SYS_GETPID,
                    args: &[],
                }),
            )
            .to_vec(ABI),
        );
        w.send(c, &out).unwrap();
        let mut got = banner;
        let mut closed = false;
        for _ in 0..1000 {
            let (b, cl) = w.recv(c).unwrap();
            got.extend(b);
            if cl {
                closed = true;
                break;
            }
        }
        (got, closed, n.load(Ordering::Relaxed))
    }

    fn frames(bytes: &[u8]) -> Vec<String> {
        let cut = bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut d = FrameDecoder::new(FrameLimits::unlimited());
        d.feed(&bytes[cut..]);
        let mut v = Vec::new();
        while let Ok(Some(f)) = d.next_frame() {
            v.push(format!("{:?}", f.frame(ABI).map(|f| f.message)));
        }
        v
    }

    #[test]
    fn controls_keep_the_bytes_and_mutants_change_them() {
        let (plain, _, n) = getpid_exchange(Mutation::RaiseDrop);
        assert_eq!(n, 0, "nothing to drop");
        // 1-byte reads and split header/body deliver the same bytes
        for m in [Mutation::ControlOneByte, Mutation::ControlDelay] {
            let (got, _, _) = getpid_exchange(m);
            assert_eq!(got, plain, "{}", m.name());
        }
        let (early, _, n) = getpid_exchange(Mutation::EarlyAnswer);
        assert_eq!(n, 1);
        let f = frames(&early);
        assert_eq!(f.len(), 3, "{f:?}");
        assert!(f[1].contains("error: 5"), "{f:?}");
        assert_eq!(f[2], frames(&plain)[1]);
        let (broken, _, n) = getpid_exchange(Mutation::GetpidBroken);
        assert_eq!(n, 1);
        assert!(frames(&broken)[1].contains("error: 78"));
        let (banner, _, _) = getpid_exchange(Mutation::BannerVersion);
        assert!(banner.starts_with(b"RUMPSP-0.4-NetBSD-10.0/amd64\n"));
        let (hs, _, _) = getpid_exchange(Mutation::HandshakeError);
        assert!(frames(&hs)[0].contains("error: 1"));
    }

    #[test]
    fn close_after_n_frames_closes() {
        let (got, closed, _) = getpid_exchange(Mutation::Retval12345);
        assert!(!closed);
        assert!(frames(&got)[1].contains("12345"));
        // two frames come back here, fewer than the limit: nothing is cut
        let (got, closed, n) = getpid_exchange(Mutation::CloseAfterN);
        assert_eq!((frames(&got).len(), closed, n), (2, false, 0));
    }

    #[test]
    fn dirent_walk_changes_names_types_and_padding_only_inside_records() {
        let rec = |name: &[u8], t: u8| {
            let reclen = (13 + name.len() + 1 + 7) & !7;
            let mut v = vec![0u8; reclen];
            v[8..10].copy_from_slice(&(reclen as u16).to_le_bytes());
            v[10..12].copy_from_slice(&(name.len() as u16).to_le_bytes());
            v[12] = t;
            v[13..13 + name.len()].copy_from_slice(name);
            v
        };
        let mut buf = rec(b"one", 8);
        buf.extend(rec(b"two", 4));
        let inner = InProcess::with_kernel(rumpsp_sim_kernel::SimKernel::default()).unwrap();
        for (m, check) in [(Mutation::DirentName, 13usize), (Mutation::DirentType, 12)] {
            let mut w = MutWire::new(
                Box::new(InProcess::with_kernel(rumpsp_sim_kernel::SimKernel::default()).unwrap()),
                m,
                MutationCounter::default(),
            );
            let mut b = buf.clone();
            w.mutate_dirents(&mut b);
            assert_ne!(b[check], buf[check], "{}", m.name());
            let d = rumpsp_protocol::netbsd::parse_dirents(&b);
            assert_eq!(d.len(), 2);
        }
        let mut w = MutWire::new(
            Box::new(inner),
            Mutation::ControlPadding,
            MutationCounter::default(),
        );
        let mut b = buf.clone();
        w.mutate_dirents(&mut b);
        assert_eq!(
            rumpsp_protocol::netbsd::parse_dirents(&b),
            rumpsp_protocol::netbsd::parse_dirents(&buf)
        );
        // a bad reclen stops the walk: nothing is touched
        let mut bad = buf.clone();
        bad[8] = 200;
        let copy = bad.clone();
        w.mutate_dirents(&mut bad);
        assert_eq!(bad, copy);
    }
}
