//! Network interfaces: the table of `struct ifnet`s with their addresses, as
//! a rump kernel with librumpnet_net has them (NetBSD sys/net/if.c,
//! if_loop.c, netinet/in.c, netinet6/in6.c).
//!
//! lo0 exists with the net component (`loopattach`); with netinet it is
//! configured at boot (`RUMP_COMPONENT_NET_IFCFG`: 127.0.0.1/8 and up), and
//! with netinet6 it also has ::1/128 and fe80::1/64 (KAME embedded scope:
//! `fe80:1::1`). Interfaces come and go through the cloners "lo" and "carp".

use crate::components::{Component, Components};
use crate::vfs::Timespec;

/// IFF_UP.
pub const IFF_UP: u32 = 0x1;
/// IFF_BROADCAST.
pub const IFF_BROADCAST: u32 = 0x2;
/// IFF_LOOPBACK.
pub const IFF_LOOPBACK: u32 = 0x8;
/// IFF_POINTOPOINT.
pub const IFF_POINTOPOINT: u32 = 0x10;
/// IFF_RUNNING.
pub const IFF_RUNNING: u32 = 0x40;
/// IFF_SIMPLEX.
pub const IFF_SIMPLEX: u32 = 0x800;
/// IFF_MULTICAST.
pub const IFF_MULTICAST: u32 = 0x8000;
/// The flags SIOCSIFFLAGS cannot change (if.h IFF_CANTCHANGE).
pub const IFF_CANTCHANGE: u32 = 0x2 | 0x10 | 0x40 | 0x400 | 0x800 | 0x8000 | 0x200 | 0x100;

/// IFT_LOOP.
pub const IFT_LOOP: u8 = 0x18;
/// IFT_CARP.
pub const IFT_CARP: u8 = 0xf8;
/// LOMTU: 32768 + MHLEN + MLEN on amd64.
pub const LOMTU: u64 = 33624;
/// LOMTU_MAX: 65536 + MHLEN + MLEN.
pub const LOMTU_MAX: u64 = 66392;

/// AF_INET.
pub const AF_INET: u8 = 2;
/// AF_INET6.
pub const AF_INET6: u8 = 24;
/// AF_LINK.
pub const AF_LINK: u8 = 18;

/// IFNAMSIZ.
pub const IFNAMSIZ: usize = 16;

/// The cloners, in the order SIOCIFGCLONERS lists them.
pub const CLONERS: [&str; 2] = ["lo", "carp"];

/// One address of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfAddr {
    /// An IPv4 address with its netmask (ia_sockmask, 4 bytes).
    Inet {
        /// The address.
        addr: [u8; 4],
        /// The netmask.
        mask: [u8; 4],
    },
    /// An IPv6 address (KAME form: a link-local's scope in bytes 2..4).
    Inet6 {
        /// The address.
        addr: [u8; 16],
        /// The prefix length.
        plen: u8,
        /// ifa_flags (IFA_ROUTE for ::1).
        ifa_flags: u32,
        /// ifa_dstaddr: the address itself (::1) or an empty sockaddr.
        dst_self: bool,
    },
}

impl IfAddr {
    /// The address family.
    pub fn family(&self) -> u8 {
        match self {
            IfAddr::Inet { .. } => AF_INET,
            IfAddr::Inet6 { .. } => AF_INET6,
        }
    }

    /// The sockaddr of the address (16 or 28 bytes).
    pub fn sockaddr(&self) -> Vec<u8> {
        match self {
            IfAddr::Inet { addr, .. } => sockaddr_in(*addr),
            IfAddr::Inet6 { addr, .. } => sockaddr_in6(*addr),
        }
    }
}

/// A `sockaddr_in` (16 bytes, port 0).
pub fn sockaddr_in(addr: [u8; 4]) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    b[0] = 16;
    b[1] = AF_INET;
    b[4..8].copy_from_slice(&addr);
    b
}

/// A `sockaddr_in6` (28 bytes, port, flowinfo and scope_id 0).
pub fn sockaddr_in6(addr: [u8; 16]) -> Vec<u8> {
    let mut b = vec![0u8; 28];
    b[0] = 28;
    b[1] = AF_INET6;
    b[8..24].copy_from_slice(&addr);
    b
}

/// An IPv6 netmask of `plen` bits.
pub fn mask6(plen: u8) -> [u8; 16] {
    let mut m = [0u8; 16];
    for (i, b) in m.iter_mut().enumerate() {
        let bits = (i32::from(plen) - 8 * i as i32).clamp(0, 8);
        *b = (0xff00u16 >> bits) as u8;
    }
    m
}

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    /// if_xname.
    pub name: String,
    /// if_index.
    pub index: u16,
    /// if_type.
    pub itype: u8,
    /// if_flags.
    pub flags: u32,
    /// if_mtu.
    pub mtu: u64,
    /// if_metric.
    pub metric: u64,
    /// Protocol addresses in list order (the AF_LINK one is implied first).
    pub addrs: Vec<IfAddr>,
    /// ifi_ipackets / ifi_opackets.
    pub packets: (u64, u64),
    /// ifi_ibytes / ifi_obytes.
    pub bytes: (u64, u64),
    /// ifi_lastchange.
    pub lastchange: Timespec,
    /// SIOCIFDESTROY was refused after if_clone_destroy had set its ioctl
    /// hook to `if_nullioctl`: every ioctl naming it is ENXIO.
    pub ioctl_disabled: bool,
}

impl Iface {
    fn new(name: &str, index: u16, itype: u8, flags: u32, mtu: u64, now: Timespec) -> Iface {
        Iface {
            name: name.to_owned(),
            index,
            itype,
            flags,
            mtu,
            metric: 0,
            addrs: vec![],
            packets: (0, 0),
            bytes: (0, 0),
            lastchange: now,
            ioctl_disabled: false,
        }
    }

    /// The interface's `sockaddr_dl` (8 bytes + its name, no link address).
    pub fn sockaddr_dl(&self) -> Vec<u8> {
        let n = self.name.len().min(IFNAMSIZ);
        let mut b = vec![0u8; 8 + n];
        b[0] = (8 + n) as u8;
        b[1] = AF_LINK;
        b[2..4].copy_from_slice(&self.index.to_le_bytes());
        b[4] = self.itype;
        b[5] = n as u8;
        b[8..].copy_from_slice(&self.name.as_bytes()[..n]);
        b
    }

    /// The netmask of the AF_LINK address: family 0, ones over the name.
    pub fn sockaddr_dl_mask(&self) -> Vec<u8> {
        let mut b = self.sockaddr_dl();
        b[1..8].fill(0);
        b[8..].fill(0xff);
        b
    }

    /// The first IPv4 address (IFP_TO_IA).
    pub fn first_inet(&self) -> Option<usize> {
        self.addrs.iter().position(|a| a.family() == AF_INET)
    }
}

/// Why an interface operation failed (a NetBSD errno).
pub type IfError = i32;

const EPERM: i32 = 1;
const ENXIO: i32 = 6;
const EEXIST: i32 = 17;
const EINVAL: i32 = 22;

/// All interfaces, in attach order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfTable {
    /// The interfaces (IFNET list order).
    pub ifaces: Vec<Iface>,
    /// if.c's `if_index`: where the search for a free index starts
    /// (if_getindex keeps it at the last index given out).
    pub next_index: u16,
}

/// 127.0.0.1.
pub const LOCALHOST: [u8; 4] = [127, 0, 0, 1];

impl IfTable {
    /// The interfaces a kernel with `components` boots with, stamped `now`.
    pub fn boot(components: Components, now: Timespec) -> IfTable {
        let mut t = IfTable::default();
        if !components.has(Component::Net) {
            return t;
        }
        let mut lo0 = Iface::new(
            "lo0",
            1,
            IFT_LOOP,
            IFF_LOOPBACK | IFF_MULTICAST | IFF_RUNNING,
            LOMTU,
            now,
        );
        if components.has(Component::Inet6) {
            let mut lo6 = [0u8; 16];
            lo6[15] = 1;
            lo0.addrs.push(IfAddr::Inet6 {
                addr: lo6,
                plen: 128,
                ifa_flags: 1,
                dst_self: true,
            });
            let mut ll = [0u8; 16];
            ll[0] = 0xfe;
            ll[1] = 0x80;
            ll[3] = 1;
            ll[15] = 1;
            lo0.addrs.push(IfAddr::Inet6 {
                addr: ll,
                plen: 64,
                ifa_flags: 0,
                dst_self: false,
            });
        }
        if components.has(Component::Inet) {
            lo0.addrs.push(IfAddr::Inet {
                addr: LOCALHOST,
                mask: [255, 0, 0, 0],
            });
            lo0.flags |= IFF_UP;
        }
        t.ifaces.push(lo0);
        t.next_index = 2;
        t
    }

    /// The interface named `name` (ifunit).
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        self.ifaces.iter().position(|i| i.name.as_bytes() == name)
    }

    /// The interface with index `index`.
    pub fn by_index(&self, index: u16) -> Option<&Iface> {
        self.ifaces.iter().find(|i| i.index == index)
    }

    /// Splits "lo12" into the cloner and the unit (if_clone_lookup): EINVAL
    /// for an unknown cloner or a name without a unit.
    fn clone_lookup(name: &[u8]) -> Result<(&'static str, u32), IfError> {
        let digits = name.iter().position(|b| b.is_ascii_digit());
        let Some(d) = digits else { return Err(EINVAL) };
        let (prefix, unit) = name.split_at(d);
        let cloner = CLONERS
            .iter()
            .find(|c| c.as_bytes() == prefix)
            .ok_or(EINVAL)?;
        if !unit.iter().all(u8::is_ascii_digit) || (unit.len() > 1 && unit[0] == b'0') {
            return Err(EINVAL);
        }
        let unit = std::str::from_utf8(unit)
            .ok()
            .and_then(|u| u.parse::<u32>().ok())
            .ok_or(EINVAL)?;
        Ok((cloner, unit))
    }

    /// SIOCIFCREATE (if_clone_create): EINVAL for a name no cloner makes,
    /// EEXIST when it exists.
    pub fn create(&mut self, name: &[u8], now: Timespec) -> Result<(), IfError> {
        let (cloner, _unit) = Self::clone_lookup(name)?;
        if self.find(name).is_some() {
            return Err(EEXIST);
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let mut index = self.next_index.max(1);
        while self.by_index(index).is_some() {
            index = if index >= u16::MAX - 1 { 1 } else { index + 1 };
        }
        self.next_index = index;
        let iface = if cloner == "lo" {
            Iface::new(
                &name,
                index,
                IFT_LOOP,
                IFF_LOOPBACK | IFF_MULTICAST | IFF_RUNNING,
                LOMTU,
                now,
            )
        } else {
            // carp_clone_create: an Ethernet-like interface (not confirmed
            // by a capture).
            Iface::new(
                &name,
                index,
                IFT_CARP,
                IFF_BROADCAST | IFF_SIMPLEX | IFF_MULTICAST,
                1500,
                now,
            )
        };
        self.ifaces.push(iface);
        Ok(())
    }

    /// SIOCIFDESTROY (if_clone_destroy): EINVAL for a name no cloner makes,
    /// ENXIO for a missing interface; lo0 is refused with EPERM by
    /// loop_clone_destroy after its ioctl hook was already disabled.
    pub fn destroy(&mut self, name: &[u8]) -> Result<(), IfError> {
        Self::clone_lookup(name)?;
        let i = self.find(name).ok_or(ENXIO)?;
        if name == b"lo0" {
            self.ifaces[i].ioctl_disabled = true;
            return Err(EPERM);
        }
        self.ifaces.remove(i);
        Ok(())
    }

    /// Which interface has `addr` as one of its addresses (ifa_ifwithaddr),
    /// by index.
    pub fn is_local_addr(&self, addr: &IfAddr) -> Option<u16> {
        self.ifaces.iter().find_map(|i| {
            i.addrs
                .iter()
                .any(|a| match (a, addr) {
                    (IfAddr::Inet { addr: x, .. }, IfAddr::Inet { addr: y, .. }) => x == y,
                    (IfAddr::Inet6 { addr: x, .. }, IfAddr::Inet6 { addr: y, .. }) => x == y,
                    _ => false,
                })
                .then_some(i.index)
        })
    }

    /// The interface holding IPv4 address `addr`, by index.
    pub fn is_local_inet(&self, addr: [u8; 4]) -> Option<u16> {
        self.is_local_addr(&IfAddr::Inet { addr, mask: [0; 4] })
    }

    /// The interface holding IPv6 address `addr`, by index.
    pub fn is_local_inet6(&self, addr: [u8; 16]) -> Option<u16> {
        self.is_local_addr(&IfAddr::Inet6 {
            addr,
            plen: 0,
            ifa_flags: 0,
            dst_self: false,
        })
    }

    /// Every address of every interface as the internet PCB code sees
    /// them: IPv4 v4-mapped (::ffff:a.b.c.d), IPv6 without the KAME scope
    /// bytes (fe80:1::1 is fe80::1), with the index of its interface.
    pub fn local_addrs(&self) -> Vec<(std::net::Ipv6Addr, u16)> {
        let mut v = Vec::new();
        for i in &self.ifaces {
            for a in &i.addrs {
                let ip = match a {
                    IfAddr::Inet { addr, .. } => std::net::Ipv4Addr::from(*addr).to_ipv6_mapped(),
                    IfAddr::Inet6 { addr, .. } => {
                        let mut a = *addr;
                        if a[0] == 0xfe && a[1] & 0xc0 == 0x80 {
                            a[2] = 0;
                            a[3] = 0;
                        }
                        std::net::Ipv6Addr::from(a)
                    }
                };
                v.push((ip, i.index));
            }
        }
        v
    }

    /// The index of the interface holding `addr` (an IPv4 address
    /// v4-mapped, as [`IfTable::local_addrs`] gives them), for
    /// [`IfTable::count_traffic`].
    pub fn index_of(&self, addr: &std::net::Ipv6Addr) -> Option<u16> {
        self.local_addrs()
            .into_iter()
            .find(|(a, _)| a == addr)
            .map(|(_, i)| i)
    }

    /// Counts one datagram of `bytes` bytes (IP header included) looped
    /// through the interface with index `index`: one packet out, one in.
    pub fn count_traffic(&mut self, index: u16, bytes: u64) {
        if let Some(i) = self.ifaces.iter_mut().find(|i| i.index == index) {
            i.packets.0 += 1;
            i.packets.1 += 1;
            i.bytes.0 += bytes;
            i.bytes.1 += bytes;
        }
    }

    /// SIOCGIFCONF's records: (interface name, sockaddr) for every address
    /// of every interface, the AF_LINK one first (ifconf).
    pub fn conf_entries(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for i in &self.ifaces {
            out.push((i.name.clone(), i.sockaddr_dl()));
            for a in &i.addrs {
                out.push((i.name.clone(), a.sockaddr()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Timespec {
        Timespec { sec: 5, nsec: 0 }
    }

    #[test]
    fn lo0_at_boot_follows_the_components() {
        let net = Components::NONE.with(Component::Net);
        let t = IfTable::boot(net, t0());
        assert_eq!(t.ifaces[0].flags, 0x8048);
        assert!(t.ifaces[0].addrs.is_empty());
        let inet = net.with(Component::Inet);
        let t = IfTable::boot(inet, t0());
        assert_eq!(t.ifaces[0].flags, 0x8049);
        assert_eq!(t.is_local_inet(LOCALHOST), Some(1));
        let t = IfTable::boot(inet.with(Component::Inet6), t0());
        let e = t.conf_entries();
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].1, vec![11, 18, 1, 0, 24, 3, 0, 0, b'l', b'o', b'0']);
        assert_eq!(e[2].1[8..12], [0xfe, 0x80, 0, 1]);
        assert_eq!(e[3].1, sockaddr_in(LOCALHOST));
        let l = t.local_addrs();
        assert_eq!(l[1].0, "fe80::1".parse::<std::net::Ipv6Addr>().unwrap());
        assert_eq!(t.index_of(&"::ffff:127.0.0.1".parse().unwrap()), Some(1));
        assert_eq!(t.index_of(&"::ffff:127.0.0.2".parse().unwrap()), None);
        assert!(IfTable::boot(Components::NONE, t0()).ifaces.is_empty());
    }

    #[test]
    fn cloning_rules() {
        let mut t = IfTable::boot(Components::NONE.with(Component::Net), t0());
        assert_eq!(t.create(b"lo1", t0()), Ok(()));
        assert_eq!(t.ifaces[1].index, 2);
        assert_eq!(t.ifaces[1].flags, 0x8048);
        assert_eq!(t.create(b"lo1", t0()), Err(EEXIST));
        assert_eq!(t.create(b"lo", t0()), Err(EINVAL));
        assert_eq!(t.create(b"nosuch7", t0()), Err(EINVAL));
        assert_eq!(t.destroy(b"lo1"), Ok(()));
        assert_eq!(t.destroy(b"lo1"), Err(ENXIO));
        assert_eq!(t.destroy(b"nosuch0"), Err(EINVAL));
        assert_eq!(t.destroy(b"lo0"), Err(EPERM));
        assert!(t.ifaces[0].ioctl_disabled);
    }

    #[test]
    fn masks() {
        assert_eq!(mask6(64)[7..9], [0xff, 0]);
        assert_eq!(mask6(128), [0xff; 16]);
        assert_eq!(mask6(4)[0], 0xf0);
    }

    #[test]
    fn traffic_is_counted_both_ways() {
        let mut t = IfTable::boot(Components::NONE.with(Component::Net), t0());
        t.count_traffic(1, 35);
        assert_eq!(t.ifaces[0].packets, (1, 1));
        assert_eq!(t.ifaces[0].bytes, (35, 35));
    }
}
