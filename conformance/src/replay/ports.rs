//! Ports the kernel chooses: NetBSD picks an ephemeral port at random per
//! boot (in 49152–65535) for a bind to port 0, a connect or a send from an
//! unbound socket, so two correct kernels give different ones. The replayer
//! learns, while it runs, which port of the server under test stands for
//! each recorded one (from the socket addresses the server copies out where
//! the recording shows one), and gives the server its own port wherever the
//! recorded client passes a recorded one back (bind, connect, sendto,
//! sendmsg): a client that sends to the address getsockname told it must
//! reach the same socket on both kernels.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// The range NetBSD's ephemeral ports come from (net.inet.ip.anonportmin..max).
pub const EPHEMERAL: RangeInclusive<u16> = 49152..=65535;

/// Syscalls that copy a socket address out: recvmsg, recvfrom, accept,
/// getpeername, getsockname, paccept.
pub const NAMES_OUT: &[u32] = &[27, 29, 30, 31, 32, 456];

/// Syscalls that copy a socket address in: sendmsg, connect, bind, sendto.
pub const NAMES_IN: &[u32] = &[28, 98, 104, 133];

/// Where the socket address a call of `NAMES_OUT` copies out goes: the
/// name argument of accept, getpeername, getsockname and paccept (slot 1),
/// recvfrom's `from` (slot 4), recvmsg's `msg_name` (the first word of the
/// msghdr the call copied in).
pub fn name_addr(step: &crate::script::Step) -> Option<u64> {
    let at = match step.sysnum()? {
        30 | 31 | 32 | 456 => step.arg(1),
        29 => step.arg(4),
        27 => {
            let m = step.copied_in(step.arg(1))?;
            u64::from_le_bytes(m.get(..8)?.try_into().ok()?)
        }
        _ => return None,
    };
    (at != 0).then_some(at)
}

/// The socket address at `name` inside a region of copied-out memory that
/// starts at `addr` (copies of adjacent buffers may be merged), if a whole
/// `sockaddr_in` or `sockaddr_in6` lies there: its offset in the region.
pub fn address_in(addr: u64, data: &[u8], name: u64) -> Option<usize> {
    let off = usize::try_from(name.checked_sub(addr)?).ok()?;
    let len = usize::from(*data.get(off)?);
    port_of(data.get(off..off.checked_add(len)?)?).map(|_| off)
}

/// The port of `d` if it is exactly one `sockaddr_in` (length 16, AF_INET)
/// or `sockaddr_in6` (length 28, AF_INET6), its `sa_len` agreeing.
pub fn port_of(d: &[u8]) -> Option<u16> {
    match (d.len(), d.first(), d.get(1)) {
        (16, Some(16), Some(2)) | (28, Some(28), Some(24)) => {
            Some(u16::from_be_bytes([d[2], d[3]]))
        }
        _ => None,
    }
}

/// Recorded kernel-chosen ports and the server's ports for them, one to one.
#[derive(Debug, Default, Clone)]
pub struct PortMap {
    fwd: BTreeMap<u16, u16>,
    back: BTreeMap<u16, u16>,
}

impl PortMap {
    /// Learns from one socket address the recording shows the kernel
    /// copying out (`recorded`) and the one the server copied out at the
    /// same place (`actual`): an ephemeral recorded port stands for the
    /// server's, when neither is mapped to another port yet.
    pub fn learn(&mut self, recorded: &[u8], actual: &[u8]) {
        let (Some(r), Some(a)) = (port_of(recorded), port_of(actual)) else {
            return;
        };
        if EPHEMERAL.contains(&r) && !self.fwd.contains_key(&r) && !self.back.contains_key(&a) {
            self.fwd.insert(r, a);
            self.back.insert(a, r);
        }
    }

    /// The server's port for a recorded one, if learnt.
    pub fn ours(&self, recorded: u16) -> Option<u16> {
        self.fwd.get(&recorded).copied()
    }

    /// Rewrites a socket address the recorded client passes in (`data`,
    /// when it is one) to carry the server's port for a learnt recorded one.
    pub fn translate(&self, data: &mut [u8]) {
        if let Some(ours) = port_of(data).and_then(|p| self.ours(p)) {
            data[2..4].copy_from_slice(&ours.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sin(port: u16) -> Vec<u8> {
        let mut v = vec![16, 2];
        v.extend(port.to_be_bytes());
        v.extend([127, 0, 0, 1]);
        v.extend([0; 8]);
        v
    }

    #[test]
    fn only_exact_inet_socket_addresses_have_ports() {
        assert_eq!(port_of(&sin(50484)), Some(50484));
        let mut six = vec![28, 24, 0xc7, 0x5f];
        six.extend([0; 24]);
        assert_eq!(port_of(&six), Some(0xc75f));
        // Wrong length byte, wrong family, or a longer buffer: not an address.
        let mut bad = sin(50484);
        bad[0] = 17;
        assert_eq!(port_of(&bad), None);
        bad[0] = 16;
        bad[1] = 1;
        assert_eq!(port_of(&bad), None);
        let mut long = sin(50484);
        long.push(0);
        assert_eq!(port_of(&long), None);
    }

    #[test]
    fn learnt_ephemeral_ports_are_translated_one_to_one() {
        let mut m = PortMap::default();
        m.learn(&sin(53373), &sin(61000));
        let mut d = sin(53373);
        m.translate(&mut d);
        assert_eq!(d, sin(61000));
        // A fixed port is never mapped; nor is a second recorded port to the same one of ours.
        m.learn(&sin(7777), &sin(7778));
        m.learn(&sin(50000), &sin(61000));
        for p in [7777, 50000] {
            let mut d = sin(p);
            m.translate(&mut d);
            assert_eq!(d, sin(p));
        }
        // The first mapping stays.
        m.learn(&sin(53373), &sin(62000));
        assert_eq!(m.ours(53373), Some(61000));
    }
}
