//! kern.msgbuf (the boot messages) and kern.pool (pool statistics): their
//! content as a freshly booted rump kernel reports it (recorded in
//! `data/kern_msgbuf.txt` and `data/kern_pool.txt` from
//! traces/real/sysctl_walk.jsonl), copied out as NetBSD's handlers do:
//! `sysctl_msgbuf` (sys/kern/init_sysctl.c) and `pool_sysctl`
//! (sys/kern/subr_pool.c).

use crate::consts::*;
use crate::{err, Ctx, Stop};

/// What the boot wrote into the message buffer (from its start; the rest of
/// the buffer is zero).
const MSGBUF_TEXT: &[u8] = include_bytes!("../../data/kern_msgbuf.txt");
/// msgbufp->msg_bufs: kern.msgbufsize of the recorded kernel.
pub const MSGBUF_SIZE: usize = 16352;
/// sizeof(struct pool_sysctl).
pub const POOL_RECORD: usize = 224;
const POOL_TEXT: &str = include_str!("../../data/kern_pool.txt");

/// The message buffer ring: the text, then zeros; the write pointer
/// (msg_bufx) just after the text.
fn msgbuf_ring() -> (Vec<u8>, usize) {
    let mut ring = vec![0u8; MSGBUF_SIZE];
    let n = MSGBUF_TEXT.len().min(MSGBUF_SIZE);
    ring[..n].copy_from_slice(&MSGBUF_TEXT[..n]);
    (ring, n % MSGBUF_SIZE)
}

/// The recorded pool records, in kernel order (by name, as pool_init keeps
/// the list); each exactly as copied out, including the bytes a shorter name
/// leaves after its NUL (`pool_sysctl` zeroes its buffer once, before the loop).
pub fn pool_records() -> Vec<Vec<u8>> {
    POOL_TEXT
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            (0..l.len() / 2)
                .map(|i| {
                    l.get(2 * i..2 * i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .unwrap_or(0)
                })
                .collect::<Vec<u8>>()
        })
        .filter(|r| r.len() == POOL_RECORD)
        .collect()
}

/// `sysctl_msgbuf` for KERN_MSGBUF: any new value is EPERM; a size probe
/// says the whole buffer; a read copies min(buffer, oldlen) bytes from the
/// write pointer to the end and then from the start (two COPYOUTs) and leaves
/// *oldlenp as the caller gave it. Returns the length to report.
pub(crate) fn msgbuf(c: &mut Ctx<'_, '_>, oldp: u64, oldlen: u64, newp: u64) -> Result<u64, Stop> {
    if newp != 0 {
        return err(EPERM);
    }
    if oldp == 0 {
        return Ok(MSGBUF_SIZE as u64);
    }
    let (ring, bufx) = msgbuf_ring();
    let mut left = (MSGBUF_SIZE as u64).min(oldlen) as usize;
    let mut at = oldp;
    let (mut beg, mut end) = (bufx, MSGBUF_SIZE);
    while left > 0 {
        let len = (end - beg).min(left);
        if len == 0 {
            break;
        }
        c.copyout(at, ring[beg..beg + len].to_vec())?;
        at = at.wrapping_add(len as u64);
        left -= len;
        (beg, end) = (0, bufx);
    }
    Ok(oldlen)
}

/// `pool_sysctl`: a size probe says every record; a read copies out, one
/// COPYOUT each, the records that fit whole and reports the bytes written
/// (never ENOMEM).
pub(crate) fn pool(c: &mut Ctx<'_, '_>, oldp: u64, oldlen: u64) -> Result<u64, Stop> {
    let records = pool_records();
    if oldp == 0 {
        return Ok((records.len() * POOL_RECORD) as u64);
    }
    let mut written = 0u64;
    for r in records {
        if written + POOL_RECORD as u64 > oldlen {
            break;
        }
        c.copyout(oldp.wrapping_add(written), r)?;
        written += POOL_RECORD as u64;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_boot_messages_and_pools_are_whole() {
        let (ring, bufx) = msgbuf_ring();
        assert_eq!(bufx, 642);
        assert!(ring[..bufx].starts_with(b"Copyright (c) 1996"));
        assert!(ring[..bufx].ends_with(b"kern.module.path=/stand/amd64/7.99.34/modules\n"));
        assert!(ring[bufx..].iter().all(|&b| b == 0));
        let pools = pool_records();
        assert_eq!(pools.len(), 91);
        assert_eq!(&pools[0][..6], b"biopl\0");
        let name = |r: &[u8]| r[..16].split(|&b| b == 0).next().map(|n| n.to_vec());
        assert_eq!(name(&pools[90]), Some(b"wapblentrypl".to_vec()));
        // pr_size of tmpfs_node: 216 bytes.
        let tmpfs = pools
            .iter()
            .find(|r| name(r) == Some(b"tmpfs_node".to_vec()));
        let size = tmpfs.map(|r| u64::from_le_bytes(r[24..32].try_into().unwrap_or([0; 8])));
        assert_eq!(size, Some(216));
    }
}
