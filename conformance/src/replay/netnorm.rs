//! The normalisations of network answers: kernel-chosen ports, and bytes
//! the real kernel leaves uninitialised or stamps with host time (see the
//! rules `ephemeral-ports`, `uninitialised-padding`, `ifconf-padding` and
//! `routing-volatile` in [`super::normalise::RULES`]).

use super::normalise::IdMap;
use crate::script::Step;

/// SOL_SOCKET, and the two options whose value is a `struct timeval`.
const SOL_SOCKET: u64 = 0xffff;
const SO_TIMEOUTS: [u64; 2] = [0x100b, 0x100c];

/// getsockopt of a socket timeout: the padding after tv_usec.
pub(super) fn timeval_padding(
    step: &Step,
    addr: u64,
    e: &mut [u8],
    a: &mut [u8],
    rules: &mut Vec<&'static str>,
) {
    let is_timeout = step.arg(1) == SOL_SOCKET && SO_TIMEOUTS.contains(&step.arg(2));
    if is_timeout && addr == step.arg(3) && e.len() == 16 && a.len() == 16 && e[12..] != a[12..] {
        a[12..].copy_from_slice(&e[12..]);
        rules.push("uninitialised-padding");
    }
}

/// A socket address the kernel copied out at `name`, within the region at
/// `addr`, whose port it chose.
pub(super) fn ephemeral_port(
    addr: u64,
    name: u64,
    e: &mut [u8],
    a: &mut [u8],
    ports: &mut IdMap,
    rules: &mut Vec<&'static str>,
) {
    use super::ports::{address_in, port_of, EPHEMERAL};
    let (Some(oe), Some(oa)) = (address_in(addr, e, name), address_in(addr, a, name)) else {
        return;
    };
    if oe != oa {
        return;
    }
    let len = usize::from(e[oe]);
    let (Some(pe), Some(pa)) = (port_of(&e[oe..oe + len]), port_of(&a[oa..oa + len])) else {
        return;
    };
    if EPHEMERAL.contains(&pe)
        && EPHEMERAL.contains(&pa)
        && ports.matches(i64::from(pe), i64::from(pa))
        && pe != pa
    {
        a[oa + 2..oa + 4].copy_from_slice(&e[oe + 2..oe + 4]);
        rules.push("ephemeral-ports");
    }
}

/// SIOCGIFCONF.
const SIOCGIFCONF: u64 = 0xc010_6926;
/// sizeof(struct ifreq) on amd64.
const IFREQ: usize = 144;

/// SIOCGIFCONF's entries: the union past each address's sa_len.
pub(super) fn ifconf_padding(
    step: &Step,
    addr: u64,
    e: &mut [u8],
    a: &mut [u8],
    rules: &mut Vec<&'static str>,
) {
    if step.arg(1) & 0xffff_ffff != SIOCGIFCONF {
        return;
    }
    // struct ifconf: ifc_len, 4 bytes of padding, ifc_buf
    let Some(buf) = step
        .copied_in(step.arg(2))
        .and_then(|c| c.get(8..16))
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
    else {
        return;
    };
    if addr != buf || e.len() != a.len() || !e.len().is_multiple_of(IFREQ) {
        return;
    }
    let mut changed = false;
    for (re, ra) in e.chunks_mut(IFREQ).zip(a.chunks_mut(IFREQ)) {
        let sa_len = usize::from(re[16]).max(2);
        if re[16] != ra[16] || 16 + sa_len > IFREQ {
            return;
        }
        let slack = 16 + sa_len..IFREQ;
        if re[slack.clone()] != ra[slack.clone()] {
            ra[slack.clone()].copy_from_slice(&re[slack]);
            changed = true;
        }
    }
    if changed {
        rules.push("ifconf-padding");
    }
}

/// RTM_GET and RTM_IFINFO.
const RTM_GET: u8 = 4;
const RTM_IFINFO: u8 = 0x14;

/// NET_RT_IFLIST / NET_RT_DUMP answers: the records' volatile fields.
pub(super) fn routing_messages(
    step: &Step,
    addr: u64,
    e: &mut [u8],
    a: &mut [u8],
    rules: &mut Vec<&'static str>,
) {
    if addr != step.arg(2) || e.len() != a.len() {
        return;
    }
    let mut at = 0;
    let mut changed = false;
    while at + 4 <= e.len() {
        let len = usize::from(u16::from_le_bytes([e[at], e[at + 1]]));
        if len < 4 || at + len > e.len() || e[at..at + 4] != a[at..at + 4] {
            return;
        }
        let rec = at..at + len;
        let (re, ra) = (&e[rec.clone()], &mut a[rec]);
        match re[3] {
            RTM_IFINFO if len >= 152 => {
                let (sec, nsec) = (i64_at(ra, 136), i64_at(ra, 144));
                let zero = |d: &[u8]| d[136..152].iter().all(|&b| b == 0);
                let valid = (0..1_000_000_000).contains(&nsec) && sec >= 0;
                if valid && zero(re) == zero(ra) && re[136..152] != ra[136..152] {
                    ra[136..152].copy_from_slice(&re[136..152]);
                    changed = true;
                }
            }
            RTM_GET if len >= 40 && re[32..40] != ra[32..40] => {
                ra[32..40].copy_from_slice(&re[32..40]);
                changed = true;
            }
            _ => {}
        }
        at += len;
    }
    if changed {
        rules.push("routing-volatile");
    }
}

fn i64_at(d: &[u8], at: usize) -> i64 {
    d.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, i64::from_le_bytes)
}
