//! The routing sysctl `net.route.rtable` ({CTL_NET, PF_ROUTE, 0, af, op,
//! arg}): NET_RT_DUMP and NET_RT_FLAGS walk the routing table, NET_RT_IFLIST
//! lists the interfaces with their addresses (getifaddrs(3) reads it).
//! NetBSD sys/net/rtsock.c: sysctl_rtable, sysctl_dumpentry, sysctl_iflist,
//! rt_msg2; the structure layouts of 7.99.34 (route.h, if.h): rt_msghdr 120
//! bytes, if_msghdr 152, ifa_msghdr 24; sockaddrs rounded up to 8 bytes.

use super::iface::{mask6, sockaddr_in, sockaddr_in6, IfAddr, IfTable, Iface, AF_INET, AF_INET6};
use crate::structs::timespec;

/// NET_RT_DUMP.
pub const NET_RT_DUMP: i32 = 1;
/// NET_RT_FLAGS.
pub const NET_RT_FLAGS: i32 = 2;
/// NET_RT_IFLIST.
pub const NET_RT_IFLIST: i32 = 5;
/// RTM_VERSION.
pub const RTM_VERSION: u8 = 4;
/// RTM_GET.
pub const RTM_GET: u8 = 4;
/// RTM_NEWADDR.
pub const RTM_NEWADDR: u8 = 0xc;
/// RTM_IFINFO.
pub const RTM_IFINFO: u8 = 0x14;
/// RTF_UP.
pub const RTF_UP: i32 = 0x1;
/// RTF_HOST.
pub const RTF_HOST: i32 = 0x4;
/// RTF_LLDATA (NET_RT_FLAGS with it dumps the ARP/ND tables).
pub const RTF_LLDATA: i32 = 0x400;
/// RTF_LOCAL.
pub const RTF_LOCAL: i32 = 0x40000;

const EPERM: i32 = 1;
const ENOMEM: i32 = 12;
const EINVAL: i32 = 22;

/// RT_ROUNDUP: a sockaddr's room in a routing message.
pub fn roundup(len: usize) -> usize {
    if len == 0 {
        8
    } else {
        1 + ((len - 1) | 7)
    }
}

/// Appends `sa` padded with zeros to its rounded length.
fn push_sa(msg: &mut Vec<u8>, sa: &[u8]) {
    let n = roundup(sa.len());
    msg.extend_from_slice(sa);
    msg.resize(msg.len() + n - sa.len(), 0);
}

/// A sockaddr_in netmask trimmed as in_socktrim does (sin_len ends at the
/// last nonzero byte of the address).
pub fn trimmed_mask4(mask: [u8; 4]) -> Vec<u8> {
    let last = mask.iter().rposition(|&b| b != 0).map_or(0, |i| 4 + i + 1);
    let mut b = sockaddr_in(mask);
    b.truncate(last.max(2));
    b[0] = last as u8;
    b
}

/// A radix-tree mask of an IPv6 route: its own length, every byte from the
/// family on set up to the prefix (how rn_addmask stores it).
fn radix_mask6(plen: u8) -> Vec<u8> {
    let bytes = 8 + usize::from(plen).div_ceil(8);
    let mut b = vec![0xffu8; bytes];
    b[0] = bytes as u8;
    let m = mask6(plen);
    b[8..].copy_from_slice(&m[..bytes - 8]);
    b
}

/// One entry of the routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Family of the destination.
    pub family: u8,
    /// Destination sockaddr.
    pub dst: Vec<u8>,
    /// Gateway sockaddr.
    pub gateway: Vec<u8>,
    /// Netmask sockaddr (none for host routes).
    pub netmask: Option<Vec<u8>>,
    /// rt_flags.
    pub flags: i32,
    /// The interface's index.
    pub index: u16,
    /// The address the route uses (ifa_addr).
    pub ifa: Vec<u8>,
    /// rmx_mtu.
    pub mtu: u64,
}

/// The routing table: a local host route per IPv4 address (in_addlocal;
/// loopback interfaces get no prefix route), and the routes in6_ifattach
/// makes for lo0's IPv6 addresses; IPv4 first, each family in key order
/// (rt_walktree from AF 1 up).
pub fn routes(t: &IfTable) -> Vec<Route> {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for i in &t.ifaces {
        let sdl = i.sockaddr_dl();
        let mut lo6 = None;
        for a in &i.addrs {
            match a {
                IfAddr::Inet { addr, .. } => v4.push(Route {
                    family: AF_INET,
                    dst: sockaddr_in(*addr),
                    gateway: sdl.clone(),
                    netmask: None,
                    flags: RTF_UP | RTF_HOST | RTF_LOCAL,
                    index: i.index,
                    ifa: sockaddr_in(*addr),
                    mtu: i.mtu,
                }),
                IfAddr::Inet6 { addr, plen, .. } if *plen == 128 => {
                    lo6 = Some(*addr);
                    v6.push(Route {
                        family: AF_INET6,
                        dst: sockaddr_in6(*addr),
                        gateway: sockaddr_in6(*addr),
                        netmask: None,
                        flags: RTF_UP | RTF_HOST,
                        index: i.index,
                        ifa: sockaddr_in6(*addr),
                        mtu: i.mtu,
                    });
                }
                IfAddr::Inet6 { addr, plen, .. } => {
                    let m = mask6(*plen);
                    let mut net = *addr;
                    for (b, m) in net.iter_mut().zip(m) {
                        *b &= m;
                    }
                    v6.push(Route {
                        family: AF_INET6,
                        dst: sockaddr_in6(net),
                        gateway: sockaddr_in6(*addr),
                        netmask: Some(radix_mask6(*plen)),
                        flags: RTF_UP,
                        index: i.index,
                        ifa: sockaddr_in6(*addr),
                        mtu: 0,
                    });
                    v6.push(Route {
                        family: AF_INET6,
                        dst: sockaddr_in6(*addr),
                        gateway: sdl.clone(),
                        netmask: None,
                        flags: RTF_UP | RTF_HOST | RTF_LOCAL,
                        index: i.index,
                        ifa: sockaddr_in6(*addr),
                        mtu: 0,
                    });
                }
            }
        }
        // The interface-local and link-local multicast routes through ::1.
        if let Some(lo) = lo6 {
            for scope in [1u8, 2] {
                let mut dst = [0u8; 16];
                dst[0] = 0xff;
                dst[1] = scope;
                dst[2..4].copy_from_slice(&i.index.to_be_bytes());
                v6.push(Route {
                    family: AF_INET6,
                    dst: sockaddr_in6(dst),
                    gateway: sockaddr_in6(lo),
                    netmask: Some(radix_mask6(32)),
                    flags: RTF_UP | 0x100,
                    index: i.index,
                    ifa: sockaddr_in6(lo),
                    mtu: i.mtu,
                });
            }
        }
    }
    v4.sort_by(|a, b| a.dst.cmp(&b.dst));
    v6.sort_by(|a, b| a.dst[8..24].cmp(&b.dst[8..24]));
    v4.extend(v6);
    v4
}

/// The RTM_GET record sysctl_dumpentry makes of a route.
pub fn dump_msg(r: &Route, ifp: &Iface) -> Vec<u8> {
    let mut m = vec![0u8; 120];
    let mut addrs: i32 = 0x1 | 0x2;
    push_sa(&mut m, &r.dst);
    push_sa(&mut m, &r.gateway);
    if let Some(mask) = &r.netmask {
        addrs |= 0x4;
        push_sa(&mut m, mask);
    }
    addrs |= 0x10 | 0x20;
    push_sa(&mut m, &ifp.sockaddr_dl());
    push_sa(&mut m, &r.ifa);
    let len = m.len() as u16;
    m[0..2].copy_from_slice(&len.to_le_bytes());
    m[2] = RTM_VERSION;
    m[3] = RTM_GET;
    m[4..6].copy_from_slice(&r.index.to_le_bytes());
    m[8..12].copy_from_slice(&r.flags.to_le_bytes());
    m[12..16].copy_from_slice(&addrs.to_le_bytes());
    m[48..56].copy_from_slice(&r.mtu.to_le_bytes());
    m
}

/// The RTM_IFINFO record of an interface (if_msghdr + its sockaddr_dl).
pub fn ifinfo_msg(i: &Iface) -> Vec<u8> {
    let mut m = vec![0u8; 152];
    push_sa(&mut m, &i.sockaddr_dl());
    let len = m.len() as u16;
    m[0..2].copy_from_slice(&len.to_le_bytes());
    m[2] = RTM_VERSION;
    m[3] = RTM_IFINFO;
    m[4..8].copy_from_slice(&0x10i32.to_le_bytes());
    // if_flags is a short: ifm_flags gets it sign-extended (0x8049 reads
    // 0xffff8049).
    m[8..12].copy_from_slice(&i32::from(i.flags as u16 as i16).to_le_bytes());
    m[12..14].copy_from_slice(&i.index.to_le_bytes());
    // struct if_data at 16
    let d = 16;
    m[d] = i.itype;
    m[d + 8..d + 16].copy_from_slice(&i.mtu.to_le_bytes());
    m[d + 16..d + 24].copy_from_slice(&i.metric.to_le_bytes());
    m[d + 32..d + 40].copy_from_slice(&i.packets.1.to_le_bytes());
    m[d + 48..d + 56].copy_from_slice(&i.packets.0.to_le_bytes());
    m[d + 72..d + 80].copy_from_slice(&i.bytes.1.to_le_bytes());
    m[d + 80..d + 88].copy_from_slice(&i.bytes.0.to_le_bytes());
    m[d + 120..d + 136].copy_from_slice(&timespec(i.lastchange));
    m
}

/// An RTM_NEWADDR record: NETMASK, IFA and BRD of one address.
fn newaddr_msg(index: u16, flags: i32, sas: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut m = vec![0u8; 24];
    let mut addrs = 0i32;
    for (bit, sa) in sas {
        addrs |= 1 << bit;
        push_sa(&mut m, sa);
    }
    let len = m.len() as u16;
    m[0..2].copy_from_slice(&len.to_le_bytes());
    m[2] = RTM_VERSION;
    m[3] = RTM_NEWADDR;
    m[4..8].copy_from_slice(&addrs.to_le_bytes());
    m[8..12].copy_from_slice(&flags.to_le_bytes());
    m[16..18].copy_from_slice(&index.to_le_bytes());
    m
}

/// The records NET_RT_IFLIST gives for one interface: RTM_IFINFO, then an
/// RTM_NEWADDR per address of family `af` (0: all, the AF_LINK one first).
pub fn iflist_msgs(i: &Iface, af: i32) -> Vec<Vec<u8>> {
    let mut out = vec![ifinfo_msg(i)];
    if af == 0 || af == 18 {
        out.push(newaddr_msg(
            i.index,
            0,
            &[(2, i.sockaddr_dl_mask()), (5, i.sockaddr_dl())],
        ));
    }
    for a in &i.addrs {
        if af != 0 && af != i32::from(a.family()) {
            continue;
        }
        let m = match a {
            IfAddr::Inet { addr, mask } => newaddr_msg(
                i.index,
                0,
                &[
                    (2, trimmed_mask4(*mask)),
                    (5, sockaddr_in(*addr)),
                    (7, sockaddr_in(*addr)),
                ],
            ),
            IfAddr::Inet6 {
                addr,
                plen,
                ifa_flags,
                dst_self,
            } => newaddr_msg(
                i.index,
                *ifa_flags as i32,
                &[
                    (2, sockaddr_in6(mask6(*plen))),
                    (5, sockaddr_in6(*addr)),
                    (
                        7,
                        if *dst_self {
                            sockaddr_in6(*addr)
                        } else {
                            vec![]
                        },
                    ),
                ],
            ),
        };
        out.push(m);
    }
    out
}

/// What a `net.route.rtable` request answers: the records to copy out (in
/// order, at consecutive offsets), the length to report, and an errno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtableAnswer {
    /// Records that fit, in order.
    pub records: Vec<Vec<u8>>,
    /// The length written back to *oldlenp.
    pub len: u64,
    /// The error, if any.
    pub errno: Option<i32>,
}

/// sysctl_rtable: `name` is what follows the rtable node (af, op, arg),
/// `where_` whether the caller gave a buffer, `given` its length, `newp`
/// whether it passed a new value.
pub fn sysctl_rtable(
    t: &IfTable,
    oroute: bool,
    name: &[i32],
    where_: bool,
    given: u64,
    newp: bool,
) -> RtableAnswer {
    let fail = |errno, len| RtableAnswer {
        records: vec![],
        len,
        errno: Some(errno),
    };
    if newp {
        return fail(EPERM, given);
    }
    let [af, op, arg] = *name else {
        return fail(EINVAL, given);
    };
    let af = af & 0xff; // u_char af = name[0]
    let mut msgs: Vec<Vec<u8>> = Vec::new();
    let mut error = None;
    match op {
        // The compat (oroute) tables' formats are not modelled.
        _ if oroute => error = Some(EINVAL),
        NET_RT_FLAGS if arg == 0 || arg & RTF_LLDATA != 0 => {
            // lltable_sysctl_dumparp: loopback interfaces have no entries.
            if af == 0 {
                error = Some(EINVAL);
            }
        }
        NET_RT_DUMP | NET_RT_FLAGS => {
            for r in routes(t) {
                if af != 0 && af != i32::from(r.family) {
                    continue;
                }
                if op == NET_RT_FLAGS && r.flags & arg == 0 {
                    continue;
                }
                if let Some(ifp) = t.by_index(r.index) {
                    msgs.push(dump_msg(&r, ifp));
                }
            }
        }
        NET_RT_IFLIST => {
            for i in &t.ifaces {
                if arg != 0 && arg != i32::from(i.index) {
                    continue;
                }
                msgs.extend(iflist_msgs(i, af));
            }
        }
        _ => error = Some(EINVAL),
    }
    // rt_msg2 with a walkarg: a record is copied while the running total fits.
    let mut needed = 0u64;
    let mut written = 0u64;
    let mut records = Vec::new();
    for m in msgs {
        needed += m.len() as u64;
        if where_ && needed <= given {
            written += m.len() as u64;
            records.push(m);
        }
    }
    if where_ {
        if error.is_none() && written < needed {
            error = Some(ENOMEM);
        }
        RtableAnswer {
            records,
            len: written,
            errno: error,
        }
    } else {
        RtableAnswer {
            records,
            len: 11 * needed / 10,
            errno: error,
        }
    }
}

/// The `__sysctl` of a MIB below net.route.rtable (or net.oroute.rtable),
/// other than its CTL_QUERY: None for any other MIB. Copies the records out
/// one by one at consecutive offsets of `oldp`; answers the length for
/// *oldlenp and the call's result.
#[allow(clippy::type_complexity)]
pub(crate) fn rtable_call(
    k: &mut crate::SimKernel,
    c: &mut crate::Ctx<'_, '_>,
    mib: &[i32],
    oldp: u64,
    oldlen: u64,
    newp: u64,
    _newlen: u64,
) -> Option<Result<(u64, Result<(), crate::Stop>), crate::Stop>> {
    let [4, domain @ (17 | 34), 0, rest @ ..] = mib else {
        return None;
    };
    if rest == [-2] {
        return None;
    }
    let node = k.sysctl.get(&mib[..3])?;
    if node.dynamic != Some(crate::sysctl::Dynamic::Rtable) {
        return None;
    }
    let a = sysctl_rtable(&k.ifaces, *domain == 17, rest, oldp != 0, oldlen, newp != 0);
    let mut at = oldp;
    for r in a.records {
        let n = r.len() as u64;
        if let Err(e) = c.copyout(at, r) {
            return Some(Err(e));
        }
        at += n;
    }
    Some(Ok((
        a.len,
        a.errno.map_or(Ok(()), |e| Err(crate::Stop::Errno(e))),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::{Component, Components};
    use crate::vfs::Timespec;

    fn full() -> IfTable {
        let c = Components::NONE
            .with(Component::Net)
            .with(Component::Inet)
            .with(Component::Inet6);
        IfTable::boot(c, Timespec { sec: 1, nsec: 2 })
    }

    #[test]
    fn boot_iflist_and_dump_sizes_match_the_capture() {
        let t = full();
        let probe = sysctl_rtable(&t, false, &[0, NET_RT_IFLIST, 0], false, 0, false);
        assert_eq!((probe.len, probe.errno), (554, None));
        let read = sysctl_rtable(&t, false, &[0, NET_RT_IFLIST, 0], true, 1066, false);
        assert_eq!(read.len, 504);
        let lens: Vec<usize> = read.records.iter().map(Vec::len).collect();
        assert_eq!(lens, [168, 56, 120, 96, 64]);
        let v4 = sysctl_rtable(&t, false, &[2, NET_RT_IFLIST, 0], false, 0, false);
        assert_eq!(v4.len, 255);
        let dump = sysctl_rtable(&t, false, &[0, NET_RT_DUMP, 0], true, 2025, false);
        assert_eq!(dump.len, 1376);
        let lens: Vec<usize> = dump.records.iter().map(Vec::len).collect();
        assert_eq!(lens, [184, 232, 248, 216, 248, 248]);
        assert_eq!(
            sysctl_rtable(&t, false, &[0, NET_RT_DUMP, 0], false, 0, false).len,
            1513
        );
    }

    #[test]
    fn records_are_laid_out_as_netbsd_does() {
        let t = full();
        let read = sysctl_rtable(&t, false, &[0, NET_RT_IFLIST, 0], true, 1066, false);
        let inet = &read.records[4];
        assert_eq!(
            inet[24..32],
            [5, 2, 0, 0, 255, 0, 0, 0],
            "trimmed netmask padded to 8"
        );
        let ll = &read.records[3];
        assert_eq!(ll[88..96], [0; 8], "an empty BRD takes 8 bytes");
        let dump = sysctl_rtable(&t, false, &[0, NET_RT_DUMP, 0], true, 2025, false);
        assert_eq!(dump.records[0][8..16], [5, 0, 4, 0, 0x33, 0, 0, 0]);
        assert_eq!(dump.records[2][184..200][..4], [0x10, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn errors() {
        let t = full();
        for name in [&[0, 3, 0][..], &[0, 4, 0], &[0, 99, 0]] {
            let a = sysctl_rtable(&t, false, name, false, 7, false);
            assert_eq!((a.len, a.errno), (0, Some(EINVAL)));
        }
        let a = sysctl_rtable(&t, false, &[0], false, 7, false);
        assert_eq!((a.len, a.errno), (7, Some(EINVAL)));
        let a = sysctl_rtable(&t, false, &[0, 1, 0], false, 7, true);
        assert_eq!(a.errno, Some(EPERM));
        let a = sysctl_rtable(&t, false, &[0, NET_RT_DUMP, 0], true, 200, false);
        assert_eq!((a.len, a.errno, a.records.len()), (184, Some(ENOMEM), 1));
    }
}
