//! Interface ioctls on a socket (group 'i'), as NetBSD's sys_ioctl →
//! soo_ioctl → ifioctl chain answers them: sys/net/if.c (doifioctl, ifconf,
//! if_clone_list, ifioctl_common), sys/net/if_loop.c (loioctl) and
//! sys/netinet/in.c (in_control) for AF_INET sockets.
//!
//! Order of checks (doifioctl): SIOCGIFCONF; SIOCIFCREATE/SIOCIFDESTROY;
//! SIOCIFGCLONERS; then the interface by name (ENXIO); its if_ioctl (loioctl
//! → ifioctl_common), and on ENOTTY the protocol's pr_ioctl (in_control,
//! which hands unknown commands back to if_ioctl: ENOTTY).

use super::iface::{
    sockaddr_in, IfAddr, IfTable, Iface, AF_INET, IFF_BROADCAST, IFF_CANTCHANGE, IFF_POINTOPOINT,
    IFF_UP, IFNAMSIZ, LOMTU_MAX,
};
use crate::net::SockId;
use crate::{err, Ctx, SimKernel, Stop};

/// SIOCSIFFLAGS.
pub const SIOCSIFFLAGS: u32 = 0x8090_6910;
/// SIOCGIFFLAGS.
pub const SIOCGIFFLAGS: u32 = 0xc090_6911;
/// SIOCGIFMETRIC.
pub const SIOCGIFMETRIC: u32 = 0xc090_6917;
/// SIOCSIFMETRIC.
pub const SIOCSIFMETRIC: u32 = 0x8090_6918;
/// SIOCDIFADDR.
pub const SIOCDIFADDR: u32 = 0x8090_6919;
/// SIOCAIFADDR.
pub const SIOCAIFADDR: u32 = 0x8040_691a;
/// SIOCGIFADDR.
pub const SIOCGIFADDR: u32 = 0xc090_6921;
/// SIOCGIFDSTADDR.
pub const SIOCGIFDSTADDR: u32 = 0xc090_6922;
/// SIOCGIFBRDADDR.
pub const SIOCGIFBRDADDR: u32 = 0xc090_6923;
/// SIOCGIFNETMASK.
pub const SIOCGIFNETMASK: u32 = 0xc090_6925;
/// SIOCGIFCONF.
pub const SIOCGIFCONF: u32 = 0xc010_6926;
/// SIOCADDMULTI.
pub const SIOCADDMULTI: u32 = 0x8090_6931;
/// SIOCDELMULTI.
pub const SIOCDELMULTI: u32 = 0x8090_6932;
/// SIOCIFGCLONERS.
pub const SIOCIFGCLONERS: u32 = 0xc010_6978;
/// SIOCIFDESTROY.
pub const SIOCIFDESTROY: u32 = 0x8090_6979;
/// SIOCIFCREATE.
pub const SIOCIFCREATE: u32 = 0x8090_697a;
/// SIOCGIFMTU.
pub const SIOCGIFMTU: u32 = 0xc090_697e;
/// SIOCSIFMTU.
pub const SIOCSIFMTU: u32 = 0x8090_697f;
/// SIOCGIFINDEX.
pub const SIOCGIFINDEX: u32 = 0xc090_698c;

#[cfg(test)]
const EPERM: i32 = 1;
const ENXIO: i32 = 6;
const EINVAL: i32 = 22;
const ENOTTY: i32 = 25;
const EOPNOTSUPP: i32 = 45;
const EAFNOSUPPORT: i32 = 47;
const EADDRNOTAVAIL: i32 = 49;
const ENAMETOOLONG: i32 = 63;

/// One `struct ifreq`.
pub const IFREQ_SIZE: usize = 144;

/// Whether `com` is an interface ioctl (group 'i').
pub fn is_ifioctl(com: u32) -> bool {
    (com >> 8) & 0xff == u32::from(b'i')
}

/// An interface ioctl `cmd` on socket `so`: the hook `soo_ioctl` calls
/// (sys/sockio.rs). `data` is the argument buffer, copied in for IOC_IN
/// commands and out for IOC_OUT ones by the caller, as sys_ioctl does.
pub(crate) fn ioctl(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    so: SockId,
    cmd: u32,
    data: &mut [u8],
) -> Result<(), Stop> {
    let family = k.sock(so)?.domain;
    match cmd {
        SIOCGIFCONF => ifconf(k, c, data),
        SIOCIFGCLONERS => clone_list(c, data),
        _ => {
            let now = k.clock.realtime();
            ifioctl(&mut k.ifaces, family, cmd, data, now).or_else(err)
        }
    }
}

fn i32_at(b: &[u8], at: usize) -> i32 {
    b.get(at..at + 4)
        .map_or(0, |s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// ifconf: one 144-byte ifreq per address (the AF_LINK one first), straight
/// to ifc_buf; a NULL buffer asks for the length. The bytes after each
/// sockaddr are zeros here (uninitialised stack memory in NetBSD).
fn ifconf(k: &SimKernel, c: &mut Ctx<'_, '_>, ifc: &mut [u8]) -> Result<(), Stop> {
    let entries = k.ifaces.conf_entries();
    let buf = u64_at(ifc, 8);
    if buf == 0 {
        let len = (entries.len() * IFREQ_SIZE) as i32;
        ifc[0..4].copy_from_slice(&len.to_le_bytes());
        return Ok(());
    }
    let mut space = i64::from(i32_at(ifc, 0));
    let mut at = buf;
    let mut given = 0i32;
    for (name, sa) in entries {
        if space < IFREQ_SIZE as i64 {
            break;
        }
        let mut r = vec![0u8; IFREQ_SIZE];
        let n = name.len().min(IFNAMSIZ);
        r[..n].copy_from_slice(&name.as_bytes()[..n]);
        r[16..16 + sa.len()].copy_from_slice(&sa);
        c.copyout(at, r)?;
        at += IFREQ_SIZE as u64;
        space -= IFREQ_SIZE as i64;
        given += IFREQ_SIZE as i32;
    }
    ifc[0..4].copy_from_slice(&given.to_le_bytes());
    Ok(())
}

/// if_clone_list: the total, and up to ifcr_count names of IFNAMSIZ bytes.
fn clone_list(c: &mut Ctx<'_, '_>, req: &mut [u8]) -> Result<(), Stop> {
    let names = super::iface::CLONERS;
    req[0..4].copy_from_slice(&(names.len() as i32).to_le_bytes());
    let count = i32_at(req, 4);
    let dst = u64_at(req, 8);
    if dst == 0 {
        return Ok(());
    }
    if count < 0 {
        return err(EINVAL);
    }
    for (i, name) in names.iter().take(count as usize).enumerate() {
        let mut out = vec![0u8; IFNAMSIZ];
        out[..name.len()].copy_from_slice(name.as_bytes());
        c.copyout(dst + (i * IFNAMSIZ) as u64, out)?;
    }
    Ok(())
}

/// The interface name at the start of an ifreq (up to its NUL).
fn ifr_name(b: &[u8]) -> &[u8] {
    let n = &b[..IFNAMSIZ.min(b.len())];
    let end = n.iter().position(|&x| x == 0).unwrap_or(n.len());
    &n[..end]
}

/// The rest of doifioctl on the interface table: `ifr` is the argument
/// copied in (an ifreq or ifaliasreq), changed in place for the copyout.
pub fn ifioctl(
    t: &mut IfTable,
    family: i32,
    com: u32,
    ifr: &mut [u8],
    now: crate::vfs::Timespec,
) -> Result<(), i32> {
    if ifr.len() < IFNAMSIZ {
        return Err(ENOTTY);
    }
    let name = ifr_name(ifr).to_vec();
    match com {
        SIOCIFCREATE => {
            if name.len() >= IFNAMSIZ {
                return Err(ENAMETOOLONG);
            }
            return t.create(&name, now);
        }
        SIOCIFDESTROY => return t.destroy(&name),
        _ => {}
    }
    let i = t.find(&name).ok_or(ENXIO)?;
    let ifp = &mut t.ifaces[i];
    if ifp.ioctl_disabled {
        // if_nullioctl
        return Err(ENXIO);
    }
    match loioctl(ifp, com, ifr, now) {
        Err(ENOTTY) => {}
        r => return r,
    }
    match family {
        2 => in_control(t, i, com, ifr),
        // in6_control hands the IPv4 commands back to if_ioctl (not confirmed).
        24 => Err(ENOTTY),
        _ => Err(EOPNOTSUPP),
    }
}

/// loioctl and ifioctl_common.
fn loioctl(
    ifp: &mut Iface,
    com: u32,
    ifr: &mut [u8],
    now: crate::vfs::Timespec,
) -> Result<(), i32> {
    if ifr.len() < IFREQ_SIZE {
        return Err(ENOTTY);
    }
    let arg = i32_at(ifr, 16);
    match com {
        SIOCSIFMTU => {
            if arg as u32 as u64 > LOMTU_MAX {
                return Err(EINVAL);
            }
            ifp.mtu = arg as u32 as u64;
        }
        SIOCADDMULTI | SIOCDELMULTI => {
            if !matches!(ifr[17], 2 | 24) {
                return Err(EAFNOSUPPORT);
            }
        }
        SIOCGIFFLAGS => ifr[16..18].copy_from_slice(&(ifp.flags as u16).to_le_bytes()),
        SIOCSIFFLAGS => {
            let new = u32::from(u16::from_le_bytes([ifr[16], ifr[17]]));
            if (ifp.flags & IFF_UP != 0) != (new & IFF_UP != 0) {
                // if_down / if_up stamp the change.
                ifp.lastchange = now;
            }
            ifp.flags = (ifp.flags & IFF_CANTCHANGE) | (new & !IFF_CANTCHANGE);
        }
        SIOCGIFMETRIC => ifr[16..20].copy_from_slice(&(ifp.metric as i32).to_le_bytes()),
        SIOCSIFMETRIC => ifp.metric = arg as i64 as u64,
        SIOCGIFMTU => ifr[16..20].copy_from_slice(&(ifp.mtu as i32).to_le_bytes()),
        SIOCGIFINDEX => ifr[16..20].copy_from_slice(&i32::from(ifp.index).to_le_bytes()),
        _ => return Err(ENOTTY),
    }
    Ok(())
}

/// ifreq_setaddr: the union cleared, the sockaddr copied in.
fn set_addr(ifr: &mut [u8], sa: &[u8]) {
    ifr[16..IFREQ_SIZE].fill(0);
    ifr[16..16 + sa.len()].copy_from_slice(sa);
}

/// The classful default netmask in_ifinit gives an address without one.
fn default_mask(a: [u8; 4]) -> [u8; 4] {
    match a[0] {
        0..=127 => [255, 0, 0, 0],
        128..=191 => [255, 255, 0, 0],
        _ => [255, 255, 255, 0],
    }
}

/// in_control for the commands of an AF_INET socket.
fn in_control(t: &mut IfTable, i: usize, com: u32, ifr: &mut [u8]) -> Result<(), i32> {
    let ifp = &mut t.ifaces[i];
    // IFP_TO_IA: the interface's first IPv4 address.
    let mut ia = ifp.first_inet();
    let sin_addr = |b: &[u8], at: usize| -> [u8; 4] {
        let mut a = [0u8; 4];
        if let Some(s) = b.get(at + 4..at + 8) {
            a.copy_from_slice(s);
        }
        a
    };
    match com {
        SIOCAIFADDR | SIOCDIFADDR => {
            let (len, fam) = (ifr[16], ifr[17]);
            let want = sin_addr(ifr, 16);
            if fam == AF_INET {
                ia = ifp
                    .addrs
                    .iter()
                    .position(|a| matches!(a, IfAddr::Inet { addr, .. } if *addr == want));
            }
            if com == SIOCDIFADDR && ia.is_none() {
                return Err(EADDRNOTAVAIL);
            }
            let fam = if com == SIOCDIFADDR && fam == 0 {
                AF_INET
            } else {
                fam
            };
            let mut host = want;
            let mut host_is_new = true;
            if let Some(IfAddr::Inet { addr, .. }) = ia.and_then(|x| ifp.addrs.get(x)) {
                if len == 0 {
                    host = *addr;
                    host_is_new = false;
                } else if *addr == want {
                    host_is_new = false;
                }
            }
            if fam != AF_INET {
                return Err(EAFNOSUPPORT);
            }
            if com == SIOCDIFADDR {
                if let Some(x) = ia {
                    ifp.addrs.remove(x);
                }
                return Ok(());
            }
            // SIOCAIFADDR (an ifaliasreq: addr 16, dstaddr 32, mask 48).
            let mask_len = ifr.get(48).copied().unwrap_or(0);
            let new_mask = (mask_len != 0).then(|| sin_addr(ifr, 48));
            match ia {
                Some(x) => {
                    if let Some(IfAddr::Inet { addr, mask }) = ifp.addrs.get_mut(x) {
                        if let Some(m) = new_mask {
                            *mask = m;
                        }
                        *addr = host;
                    }
                }
                None => ifp.addrs.push(IfAddr::Inet {
                    addr: host,
                    mask: new_mask.unwrap_or_else(|| default_mask(host)),
                }),
            }
            if host_is_new || new_mask.is_some() {
                // in_ifinit → if_addr_init → loioctl(SIOCINITIFADDR)
                ifp.flags |= IFF_UP;
            }
            Ok(())
        }
        SIOCGIFADDR | SIOCGIFNETMASK | SIOCGIFDSTADDR | SIOCGIFBRDADDR => {
            let Some(IfAddr::Inet { addr, mask }) = ia.and_then(|x| ifp.addrs.get(x)).cloned()
            else {
                return Err(EADDRNOTAVAIL);
            };
            match com {
                SIOCGIFADDR => set_addr(ifr, &sockaddr_in(addr)),
                // ia_sockmask keeps a trimmed length; in_control passes it
                // back with sin_len 16.
                SIOCGIFNETMASK => set_addr(ifr, &sockaddr_in(mask)),
                SIOCGIFBRDADDR if ifp.flags & IFF_BROADCAST == 0 => return Err(EINVAL),
                SIOCGIFDSTADDR if ifp.flags & IFF_POINTOPOINT == 0 => return Err(EINVAL),
                // A broadcast or point-to-point interface is not modelled.
                _ => return Err(EINVAL),
            }
            Ok(())
        }
        // in_control's default: back to if_ioctl, which knows no more.
        _ => Err(ENOTTY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::{Component, Components};
    use crate::vfs::Timespec;

    fn table() -> IfTable {
        let c = Components::NONE.with(Component::Net).with(Component::Inet);
        IfTable::boot(c, Timespec { sec: 1, nsec: 0 })
    }

    fn ifreq(name: &str, v: i32) -> Vec<u8> {
        let mut b = vec![0u8; IFREQ_SIZE];
        b[..name.len()].copy_from_slice(name.as_bytes());
        b[16..20].copy_from_slice(&v.to_le_bytes());
        b
    }

    fn now() -> Timespec {
        Timespec { sec: 2, nsec: 0 }
    }

    #[test]
    fn flags_and_mtu() {
        let mut t = table();
        let mut r = ifreq("lo0", 0);
        assert_eq!(ifioctl(&mut t, 2, SIOCGIFFLAGS, &mut r, now()), Ok(()));
        assert_eq!(r[16..18], [0x49, 0x80]);
        let mut r = ifreq("lo0", 0);
        assert_eq!(ifioctl(&mut t, 2, SIOCSIFFLAGS, &mut r, now()), Ok(()));
        assert_eq!(t.ifaces[0].flags, 0x8040);
        let mut r = ifreq("lo0", 1);
        assert_eq!(ifioctl(&mut t, 2, SIOCSIFFLAGS, &mut r, now()), Ok(()));
        assert_eq!(t.ifaces[0].flags, 0x8041);
        let mut r = ifreq("lo0", 100_000);
        assert_eq!(ifioctl(&mut t, 2, SIOCSIFMTU, &mut r, now()), Err(EINVAL));
        let mut r = ifreq("lo0", 1500);
        assert_eq!(ifioctl(&mut t, 2, SIOCSIFMTU, &mut r, now()), Ok(()));
        assert_eq!(t.ifaces[0].mtu, 1500);
        let mut r = ifreq("nosuch0", 0);
        assert_eq!(ifioctl(&mut t, 2, SIOCGIFFLAGS, &mut r, now()), Err(ENXIO));
        let mut r = ifreq("lo0", 0);
        assert_eq!(ifioctl(&mut t, 2, 0xc090_69fa, &mut r, now()), Err(ENOTTY));
        assert_eq!(
            ifioctl(&mut t, 1, SIOCGIFADDR, &mut r, now()),
            Err(EOPNOTSUPP)
        );
    }

    #[test]
    fn addresses() {
        let mut t = table();
        let mut r = ifreq("lo1", 0);
        assert_eq!(ifioctl(&mut t, 2, SIOCIFCREATE, &mut r, now()), Ok(()));
        assert_eq!(
            ifioctl(&mut t, 2, SIOCGIFADDR, &mut r, now()),
            Err(EADDRNOTAVAIL)
        );
        let mut a = vec![0u8; 64];
        a[..3].copy_from_slice(b"lo1");
        a[16..24].copy_from_slice(&sockaddr_in([10, 9, 8, 7])[..8]);
        a[48..56].copy_from_slice(&sockaddr_in([255, 255, 255, 0])[..8]);
        assert_eq!(ifioctl(&mut t, 2, SIOCAIFADDR, &mut a, now()), Ok(()));
        assert_eq!(t.ifaces[1].flags, 0x8049, "SIOCAIFADDR sets IFF_UP");
        let mut r = ifreq("lo1", 0);
        assert_eq!(ifioctl(&mut t, 2, SIOCGIFNETMASK, &mut r, now()), Ok(()));
        assert_eq!(r[16..24], [16, 2, 0, 0, 255, 255, 255, 0]);
        assert_eq!(
            ifioctl(&mut t, 2, SIOCGIFDSTADDR, &mut r, now()),
            Err(EINVAL)
        );
        a[17] = 99;
        assert_eq!(
            ifioctl(&mut t, 2, SIOCAIFADDR, &mut a, now()),
            Err(EAFNOSUPPORT)
        );
        let mut d = ifreq("lo1", 0);
        d[16..24].copy_from_slice(&sockaddr_in([10, 9, 8, 7])[..8]);
        assert_eq!(
            ifioctl(&mut t, 2, SIOCDIFADDR, &mut d.clone(), now()),
            Ok(())
        );
        assert_eq!(
            ifioctl(&mut t, 2, SIOCDIFADDR, &mut d, now()),
            Err(EADDRNOTAVAIL)
        );
        let mut r = ifreq("lo0", 0);
        assert_eq!(ifioctl(&mut t, 2, SIOCIFDESTROY, &mut r, now()), Err(EPERM));
        assert_eq!(ifioctl(&mut t, 2, SIOCGIFFLAGS, &mut r, now()), Err(ENXIO));
    }
}
