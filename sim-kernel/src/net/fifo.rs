//! fifofs (sys/miscfs/fifofs/fifo_vnops.c): a FIFO's data goes through a
//! pair of connected AF_LOCAL stream sockets made at its first open, the
//! write socket unable to receive and the read socket unable to send.
//! Opens count readers and writers: a non-blocking writer without a reader
//! is ENXIO, the last reader's close makes writes EPIPE, the last writer's
//! close gives the readers EOF. The pair goes when the last end closes.

use super::*;
use crate::consts::*;
use crate::vfs::NodeId;

/// `struct fifoinfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FifoInfo {
    /// `fi_readsock`.
    pub rso: SockId,
    /// `fi_writesock`.
    pub wso: SockId,
    /// `fi_readers`.
    pub readers: u32,
    /// `fi_writers`.
    pub writers: u32,
}

/// Whether opens of FIFOs reach fifofs (otherwise librumpvfs's placeholder
/// operations answer EOPNOTSUPP).
pub fn enabled(k: &SimKernel) -> bool {
    k.config.components.has(Component::Fifo)
}

/// The wait key of a FIFO's opens.
pub fn fifo_key(node: NodeId) -> u64 {
    (1 << 60) | node
}

/// `fifo_open` with the open(2) flags: the socket pair made on first use,
/// the reader and writer counts, ENXIO for a non-blocking writer with no
/// reader; a blocking open waits for the other end (it is not counted
/// while it waits).
pub fn open(k: &mut SimKernel, node: NodeId, flags: i32) -> Result<(), Stop> {
    let fflags = flags + 1;
    let (read, write) = (fflags & 1 != 0, fflags & 2 != 0);
    let nonblock = flags & O_NONBLOCK != 0;
    let fi = match k.t.fifos.get(&node) {
        Some(f) => *f,
        None => {
            k.check_pool(2 * crate::SOCKET_MEM, ENOBUFS)?;
            let rso = k.sock_insert(local::attach(SOCK_STREAM, 0)?);
            let wso = k.sock_insert(local::attach(SOCK_STREAM, 0)?);
            local::connect2(k, wso, rso)?;
            k.sock_mut(wso)?.state |= SS_CANTRCVMORE;
            k.sock_mut(rso)?.state |= SS_CANTSENDMORE;
            let fi = FifoInfo {
                rso,
                wso,
                readers: 0,
                writers: 0,
            };
            k.t.fifos.insert(node, fi);
            fi
        }
    };
    // The waits of blocking opens come before anything is counted here.
    if read && !nonblock && fi.writers == 0 && !write {
        let s = k.sock(fi.rso)?;
        let readable = s.rcv.cc as i64 >= s.rcv.lowat || s.state & SS_CANTRCVMORE != 0;
        if !readable {
            drop_if_unused(k, node);
            return Err(Stop::BlockedOn(fifo_key(node)));
        }
    }
    if write && !read && fi.readers == 0 {
        drop_if_unused(k, node);
        if nonblock {
            return err(ENXIO);
        }
        return Err(Stop::BlockedOn(fifo_key(node)));
    }
    let f = k.t.fifos.get_mut(&node).ok_or(Stop::Errno(EBADF))?;
    if read {
        f.readers += 1;
        if f.readers == 1 {
            let wso = f.wso;
            if let Some(s) = k.t.sockets.get_mut(&wso) {
                s.state &= !SS_CANTSENDMORE;
            }
        }
    }
    let f = k.t.fifos.get_mut(&node).ok_or(Stop::Errno(EBADF))?;
    if write {
        f.writers += 1;
        if f.writers == 1 {
            let rso = f.rso;
            if let Some(s) = k.t.sockets.get_mut(&rso) {
                s.state &= !SS_CANTRCVMORE;
            }
        }
    }
    k.bump_key(fifo_key(node));
    Ok(())
}

/// Frees a FIFO's sockets when no end is open.
fn drop_if_unused(k: &mut SimKernel, node: NodeId) {
    if let Some(f) = k.t.fifos.get(&node).copied() {
        if f.readers + f.writers == 0 {
            k.t.fifos.remove(&node);
            close(k, f.rso);
            close(k, f.wso);
        }
    }
}

/// `fifo_close` of an open file with these open(2) flags.
pub fn close_end(k: &mut SimKernel, node: NodeId, flags: i32) {
    let fflags = flags + 1;
    let Some(f) = k.t.fifos.get_mut(&node) else {
        return;
    };
    let (rso, wso) = (f.rso, f.wso);
    let mut no_readers = false;
    let mut no_writers = false;
    if fflags & 1 != 0 && f.readers > 0 {
        f.readers -= 1;
        no_readers = f.readers == 0;
    }
    if fflags & 2 != 0 && f.writers > 0 {
        f.writers -= 1;
        no_writers = f.writers == 0;
    }
    if no_readers {
        cantsendmore(k, wso);
    }
    if no_writers {
        cantrcvmore(k, rso);
    }
    drop_if_unused(k, node);
    k.bump_key(fifo_key(node));
}

/// The FIFO behind a node, if it is open.
pub fn info(k: &SimKernel, node: NodeId) -> Option<FifoInfo> {
    k.t.fifos.get(&node).copied()
}
