//! Socket buffers as NetBSD keeps them (sys/kern/uipc_socket2.c): a chain
//! of records, each a list of mbufs, with the byte count `sb_cc`, the mbuf
//! storage count `sb_mbcnt` and the limits `sb_hiwat`/`sb_mbmax` that
//! `sbspace` compares them with. The mbuf sizes are those of an LP64 kernel
//! (MSIZE 512, MCLBYTES 2048), so the capacities come out as NetBSD's do: an
//! AF_LOCAL stream takes 4096 bytes, a FIFO written 1024 bytes at a time 3072.

use std::collections::VecDeque;

use crate::proc::FileId;

/// `MSIZE` on an LP64 kernel (sys/param.h).
pub const MSIZE: usize = 512;
/// `MCLBYTES`: a cluster.
pub const MCLBYTES: usize = 2048;
/// `MLEN`: the data room of a plain mbuf (MSIZE less its 56-byte `m_hdr`).
pub const MLEN: usize = MSIZE - 56;
/// `MHLEN`: the data room of a packet-header mbuf (less the 32-byte `pkthdr`).
pub const MHLEN: usize = MLEN - 32;
/// `MINCLSIZE`: the smallest amount sosend puts in a cluster.
pub const MINCLSIZE: usize = MHLEN + MLEN + 1;
/// `SB_MAX`: the largest buffer reservation (sb_max).
pub const SB_MAX: u64 = 256 * 1024;
/// `max_hdr` (max_linkhdr 16, no protocol headers in an AF_LOCAL kernel).
pub const MAX_HDR: usize = 16;

/// One mbuf of data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mbuf {
    /// The bytes still in it (`m_data`..`m_data + m_len`).
    pub data: Vec<u8>,
    /// Room left after the data (`M_TRAILINGSPACE`).
    pub trailing: usize,
    /// It has a cluster (counts MCLBYTES more in `sb_mbcnt`).
    pub ext: bool,
}

impl Mbuf {
    /// The storage it counts in `sb_mbcnt` (sballoc).
    pub fn mbcnt(&self) -> usize {
        MSIZE + if self.ext { MCLBYTES } else { 0 }
    }
}

/// Control data of a record (`MT_CONTROL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// SCM_RIGHTS: open files in flight (each holds a reference).
    Rights(Vec<FileId>),
    /// Any other message, kept as its bytes.
    Other(Vec<u8>),
}

impl Control {
    /// The control mbuf's length: CMSG_SPACE of the payload.
    pub fn len(&self) -> usize {
        match self {
            Control::Rights(f) => 16 + (f.len() * 4).div_ceil(8) * 8,
            Control::Other(b) => b.len(),
        }
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One record (an `m_nextpkt` chain member): an optional sender address, an
/// optional control message, and data mbufs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The sender's address (`MT_SONAME`), for datagram protocols.
    pub name: Option<Vec<u8>>,
    /// Control data (`MT_CONTROL`).
    pub control: Option<Control>,
    /// Data mbufs.
    pub mbufs: VecDeque<Mbuf>,
    /// The record ends with M_EOR (nothing may be appended to it).
    pub eor: bool,
}

impl Record {
    /// Data bytes in it.
    pub fn data_len(&self) -> usize {
        self.mbufs.iter().map(|m| m.data.len()).sum()
    }
}

/// A socket buffer (`struct sockbuf`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SockBuf {
    /// Records, oldest first.
    pub records: VecDeque<Record>,
    /// `sb_cc`: bytes held (addresses and control included).
    pub cc: usize,
    /// `sb_ctl`: control bytes held.
    pub ctl: usize,
    /// `sb_mbcnt`: mbuf storage held.
    pub mbcnt: usize,
    /// `sb_hiwat`.
    pub hiwat: i64,
    /// `sb_mbmax`.
    pub mbmax: i64,
    /// `sb_lowat`.
    pub lowat: i64,
    /// `sb_timeo` in ticks (0: none).
    pub timeo: i64,
    /// `sb_overflowed`: datagrams dropped for want of room.
    pub overflowed: u32,
}

impl SockBuf {
    /// `sbspace`: what may still be added.
    pub fn space(&self) -> i64 {
        (self.hiwat - self.cc as i64).min(self.mbmax - self.mbcnt as i64)
    }

    /// `sbreserve`: sets the high-water mark (false: 0 or past sb_max's
    /// adjusted value, for which setsockopt answers ENOBUFS).
    pub fn reserve(&mut self, cc: u64) -> bool {
        let max_adj = SB_MAX * MCLBYTES as u64 / (MSIZE + MCLBYTES) as u64;
        if cc == 0 || cc > max_adj {
            return false;
        }
        self.hiwat = cc as i64;
        self.mbmax = (cc * 2).min(SB_MAX) as i64;
        if self.lowat > self.hiwat {
            self.lowat = self.hiwat;
        }
        true
    }

    /// `sbcompress` of data mbufs into the last record (a new record when
    /// there is none or it ended with M_EOR).
    pub fn append_stream(&mut self, mbufs: Vec<Mbuf>) {
        if mbufs.iter().all(|m| m.data.is_empty()) {
            return;
        }
        if self.records.back().is_none_or(|r| r.eor) {
            self.records.push_back(Record::default());
        }
        for m in mbufs {
            self.compress_one(m);
        }
    }

    /// Appends one mbuf to the last record, merging it into the previous
    /// one when sbcompress would.
    fn compress_one(&mut self, m: Mbuf) {
        let Some(rec) = self.records.back_mut() else {
            return;
        };
        if m.data.is_empty() {
            return;
        }
        if let Some(n) = rec.mbufs.back_mut() {
            if m.data.len() <= MCLBYTES / 4 && m.data.len() <= n.trailing {
                n.trailing -= m.data.len();
                n.data.extend_from_slice(&m.data);
                self.cc += m.data.len();
                return;
            }
        }
        self.cc += m.data.len();
        self.mbcnt += m.mbcnt();
        rec.mbufs.push_back(m);
    }

    /// `sbappendrecord` / `sbappendaddr` / `sbappendcontrol`: a new record.
    pub fn append_record(
        &mut self,
        name: Option<Vec<u8>>,
        control: Option<Control>,
        mbufs: Vec<Mbuf>,
        eor: bool,
    ) {
        if let Some(n) = &name {
            self.cc += n.len();
            self.mbcnt += MSIZE;
        }
        if let Some(c) = &control {
            self.cc += c.len();
            self.ctl += c.len();
            self.mbcnt += MSIZE;
        }
        self.records.push_back(Record {
            name,
            control,
            mbufs: VecDeque::new(),
            eor: false,
        });
        for m in mbufs {
            self.compress_one(m);
        }
        if let Some(r) = self.records.back_mut() {
            r.eor = eor;
        }
    }

    /// Takes the first record's name out (`sbfree` of the MT_SONAME mbuf).
    pub fn take_name(&mut self) -> Option<Vec<u8>> {
        let n = self.records.front_mut()?.name.take()?;
        self.cc -= n.len();
        self.mbcnt -= MSIZE;
        Some(n)
    }

    /// Takes the first record's control message out.
    pub fn take_control(&mut self) -> Option<Control> {
        let c = self.records.front_mut()?.control.take()?;
        self.cc -= c.len();
        self.ctl -= c.len();
        self.mbcnt -= MSIZE;
        Some(c)
    }

    /// Copies up to `n` data bytes of the first record, consuming them
    /// unless `peek`; fully read mbufs are freed. Returns the bytes and
    /// whether the record has data left.
    pub fn take_data(&mut self, n: usize, peek: bool) -> (Vec<u8>, bool) {
        let Some(rec) = self.records.front_mut() else {
            return (Vec::new(), false);
        };
        let mut out = Vec::new();
        let mut i = 0;
        while out.len() < n && i < rec.mbufs.len() {
            let want = n - out.len();
            let m = &mut rec.mbufs[i];
            let take = want.min(m.data.len());
            out.extend_from_slice(&m.data[..take]);
            if peek {
                i += 1;
                continue;
            }
            self.cc -= take;
            if take == m.data.len() {
                self.mbcnt -= m.mbcnt();
                rec.mbufs.remove(i);
            } else {
                m.data.drain(..take);
            }
        }
        let left = if peek {
            rec.data_len() > out.len()
        } else {
            !rec.mbufs.is_empty()
        };
        (out, left)
    }

    /// Removes the first record if nothing of it is left.
    pub fn drop_empty_front(&mut self) {
        if self
            .records
            .front()
            .is_some_and(|r| r.mbufs.is_empty() && r.name.is_none() && r.control.is_none())
        {
            self.records.pop_front();
        }
    }

    /// `sbdroprecord`: drops the first record; returns its rights in flight.
    pub fn drop_record(&mut self) -> Vec<FileId> {
        let Some(r) = self.records.pop_front() else {
            return Vec::new();
        };
        self.uncount(&r)
    }

    fn uncount(&mut self, r: &Record) -> Vec<FileId> {
        for m in &r.mbufs {
            self.cc -= m.data.len();
            self.mbcnt -= m.mbcnt();
        }
        if let Some(n) = &r.name {
            self.cc -= n.len();
            self.mbcnt -= MSIZE;
        }
        match &r.control {
            Some(c) => {
                self.cc -= c.len();
                self.ctl -= c.len();
                self.mbcnt -= MSIZE;
                match c {
                    Control::Rights(f) => f.clone(),
                    Control::Other(_) => Vec::new(),
                }
            }
            None => Vec::new(),
        }
    }

    /// `sbrelease`/`sbflush`: empties the buffer; returns the rights that were in flight.
    pub fn flush(&mut self) -> Vec<FileId> {
        let mut files = Vec::new();
        while !self.records.is_empty() {
            files.extend(self.drop_record());
        }
        files
    }

    /// The open files in flight in it (SCM_RIGHTS).
    pub fn rights(&self) -> impl Iterator<Item = FileId> + '_ {
        self.records
            .iter()
            .flat_map(|r| match &r.control {
                Some(Control::Rights(f)) => f.as_slice(),
                _ => &[],
            })
            .copied()
    }
}

/// How `sosend` cuts `resid` bytes into mbufs when it may put `space`
/// bytes in the buffer: one pass of its loop. `atomic` protocols send the
/// pass as one chain (the first mbuf a packet header, its cluster's data
/// after max_hdr); others send each mbuf alone, each a packet header.
/// Returns the mbuf lengths, their cluster flags and trailing room.
pub fn sosend_chunks(mut resid: usize, mut space: i64, atomic: bool) -> Vec<(usize, bool, usize)> {
    let mut out = Vec::new();
    let mut first = true;
    loop {
        let mlen = if first || !atomic { MHLEN } else { MLEN };
        let (len, ext, trailing);
        if resid >= MINCLSIZE && space >= MCLBYTES as i64 {
            if atomic && first {
                len = (MCLBYTES - MAX_HDR).min(resid);
                trailing = MCLBYTES - MAX_HDR - len;
            } else {
                len = MCLBYTES.min(resid);
                trailing = MCLBYTES - len;
            }
            ext = true;
        } else {
            len = mlen.min(resid).min(space.max(0) as usize);
            ext = false;
            // MH_ALIGN puts a short first mbuf of an atomic send at the end.
            trailing = if atomic && first && len < mlen {
                0
            } else {
                mlen - len
            };
        }
        space -= len as i64;
        resid -= len;
        out.push((len, ext, trailing));
        first = false;
        if resid == 0 || space <= 0 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_fill(sb: &mut SockBuf, snd_hiwat: i64, snd_mbmax: i64, write: usize) -> usize {
        // The sender's space is its hiwat/mbmax less what the peer holds.
        let mut total = 0;
        loop {
            let space = (snd_hiwat - sb.cc as i64).min(snd_mbmax - sb.mbcnt as i64);
            if space < write as i64 && space < 2048 {
                return total;
            }
            let mut resid = write;
            let mut space = space;
            while resid > 0 && space > 0 {
                let c = sosend_chunks(resid, space, false);
                let (len, ext, trailing) = c[0];
                sb.append_stream(vec![Mbuf {
                    data: vec![0; len],
                    trailing,
                    ext,
                }]);
                resid -= len;
                space -= len as i64;
                total += len;
            }
        }
    }

    #[test]
    fn a_stream_takes_4096_bytes_in_512_byte_writes() {
        let mut sb = SockBuf::default();
        assert!(sb.reserve(4096));
        assert_eq!(stream_fill(&mut sb, 4096, 8192, 512), 4096);
    }

    #[test]
    fn reserve_limits() {
        let mut sb = SockBuf::default();
        assert!(!sb.reserve(0));
        assert!(!sb.reserve(1 << 30));
        assert!(sb.reserve(1));
        assert_eq!((sb.hiwat, sb.mbmax), (1, 2));
    }
}
