//! `soreceive` (sys/kern/uipc_socket.c), in two halves: [`check`] decides,
//! without changing anything, whether a receive waits, fails or returns at
//! once (so a call can fetch what it copies in after the receive first),
//! and [`take`] takes the data, the sender's name and the control message.

use super::errno::*;
use super::sosend::sbwait;
use super::*;
use crate::{SimKernel, Stop, TimedWait};

/// What a receive found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// The data.
    pub data: Vec<u8>,
    /// The sender's name (PR_ADDR protocols).
    pub name: Option<Vec<u8>>,
    /// The control message.
    pub control: Option<Control>,
    /// MSG_TRUNC / MSG_EOR flags to return.
    pub flags: i32,
}

/// Whether a receive of `resid` bytes can go ahead now (`Ok(true)`), ends
/// at once with nothing (`Ok(false)`: EOF or a zero-byte read), or fails,
/// waits (SO_RCVTIMEO: EAGAIN once it runs out), as soreceive's first test.
pub fn check(
    k: &mut SimKernel,
    so: SockId,
    resid: usize,
    flags: i32,
    nbio: bool,
    key: &TimedWait,
) -> Result<bool, Stop> {
    if flags & MSG_OOB != 0 {
        return match k.sock(so)?.domain {
            AF_LOCAL => err(EOPNOTSUPP),
            _ => super::rcvoob(k, so, true).map(|_| true),
        };
    }
    let s = k.sock(so)?;
    let rcv = &s.rcv;
    let first = rcv.records.front();
    let atomic = s.atomic();
    let must_wait = match first {
        None => true,
        Some(r) => {
            flags & MSG_DONTWAIT == 0
                && (rcv.cc as i64) < resid as i64
                && ((rcv.cc as i64) < rcv.lowat
                    || (flags & MSG_WAITALL != 0 && resid as i64 <= rcv.hiwat))
                && rcv.records.len() == 1
                && !atomic
                && !r.eor
        }
    };
    if !must_wait {
        k.timed_waits.remove(key);
        return Ok(true);
    }
    if s.error != 0 {
        if first.is_some() {
            return Ok(true);
        }
        let e = s.error;
        if flags & MSG_PEEK == 0 {
            k.sock_mut(so)?.error = 0;
        }
        return err(e);
    }
    if s.state & SS_CANTRCVMORE != 0 {
        return Ok(first.is_some());
    }
    if s.state & (SS_ISCONNECTED | SS_ISCONNECTING) == 0 && s.prflags & prflags::CONNREQUIRED != 0 {
        return err(ENOTCONN);
    }
    if resid == 0 {
        return Ok(false);
    }
    if nbio || flags & (MSG_DONTWAIT | MSG_NBIO) != 0 {
        return err(EAGAIN);
    }
    let timeo = s.rcv.timeo;
    Err(sbwait(k, key.clone(), so, timeo, &[]))
}

/// Takes what [`check`] found ready: the first record's name, control and
/// up to `resid` bytes (`MSG_PEEK` leaves them). A PR_ATOMIC record read
/// short loses the rest (MSG_TRUNC). Then PRU_RCVD tells the sender.
pub fn take(k: &mut SimKernel, so: SockId, resid: usize, flags: i32) -> Result<Received, Stop> {
    let peek = flags & MSG_PEEK != 0;
    let s = k.sock_mut(so)?;
    let atomic = s.atomic();
    let want_addr = s.prflags & prflags::ADDR != 0;
    let rcv = &mut s.rcv;
    let mut out = Received::default();
    if rcv.records.is_empty() {
        return Ok(out);
    }
    if want_addr {
        out.name = if peek {
            rcv.records.front().and_then(|r| r.name.clone())
        } else {
            rcv.take_name()
        };
    }
    out.control = if peek {
        rcv.records.front().and_then(|r| r.control.clone())
    } else {
        rcv.take_control()
    };
    // soreceive: a read stops at the out-of-band mark; taking data clears
    // SS_RCVATMARK and moves the mark, which is set again once reached.
    let mark = s.oobmark;
    let resid = if mark != 0 && !atomic {
        resid.min(usize::try_from(mark).unwrap_or(usize::MAX))
    } else {
        resid
    };
    let rcv = &mut s.rcv;
    let (data, left) = rcv.take_data(resid, peek);
    if !peek && !data.is_empty() && !atomic {
        s.state &= !SS_RCVATMARK;
        if mark != 0 {
            s.oobmark = mark.saturating_sub(data.len() as u64);
            if s.oobmark == 0 {
                s.state |= SS_RCVATMARK;
            }
        }
    }
    let rcv = &mut s.rcv;
    out.data = data;
    let eor = rcv.records.front().is_some_and(|r| r.eor);
    if !left && eor {
        out.flags |= MSG_EOR;
    }
    let mut dropped = Vec::new();
    if left && atomic {
        out.flags |= MSG_TRUNC;
        if !peek {
            dropped = rcv.drop_record();
        }
    }
    if !peek {
        rcv.drop_empty_front();
    }
    for f in dropped {
        k.file_unref(f);
    }
    if !peek {
        if k.sock(so)?.prflags & prflags::WANTRCVD != 0 {
            super::rcvd(k, so);
        }
        k.sock_wakeup(so);
    }
    Ok(out)
}
