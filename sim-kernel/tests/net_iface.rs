//! Interfaces, their ioctls and the routing sysctl through the syscalls, on
//! a kernel with the net components (conformance/traces/net/README.md,
//! "Interface ioctls" and "Boot state"). The ioctls go through an AF_LOCAL
//! datagram socket: the commands if_ioctl (loioctl) answers work on any
//! socket; the address ones are in_control's (AF_INET), which AF_LOCAL's
//! pr_ioctl refuses with EOPNOTSUPP.

mod common;

use common::*;
use rumpsp_sim_kernel::{Component, Components, SimConfig};

const SOCKET: u32 = 394;
const IOCTL: u32 = 54;
const SYSCTL: u32 = 202;

const SIOCGIFFLAGS: u64 = 0xc090_6911;
const SIOCSIFFLAGS: u64 = 0x8090_6910;
const SIOCGIFADDR: u64 = 0xc090_6921;
const SIOCGIFMTU: u64 = 0xc090_697e;
const SIOCSIFMTU: u64 = 0x8090_697f;
const SIOCGIFINDEX: u64 = 0xc090_698c;
const SIOCGIFMETRIC: u64 = 0xc090_6917;
const SIOCGIFCONF: u64 = 0xc010_6926;
const SIOCIFCREATE: u64 = 0x8090_697a;
const SIOCIFDESTROY: u64 = 0x8090_6979;
const SIOCIFGCLONERS: u64 = 0xc010_6978;

fn kernel(extra: &[Component]) -> (T, u64) {
    let mut c = Components::FILE_SYSTEMS
        .with(Component::Net)
        .with(Component::Local);
    for x in extra {
        c = c.with(*x);
    }
    let mut t = T::with_config(SimConfig {
        components: c,
        ..SimConfig::default()
    });
    let s = t.ok(SOCKET, &[1, 2, 0]) as u64;
    (t, s)
}

fn full() -> (T, u64) {
    kernel(&[Component::Inet, Component::Inet6])
}

/// An ifreq naming `name` with `v` in the union; (errno, the ifreq after).
fn ifr(t: &mut T, s: u64, com: u64, name: &str, v: i32) -> (i32, Vec<u8>) {
    let mut b = vec![0u8; 144];
    b[..name.len()].copy_from_slice(name.as_bytes());
    b[16..20].copy_from_slice(&v.to_le_bytes());
    let a = t.put(&b);
    let e = t.e(IOCTL, &[s, com, a]);
    (e, t.mem.read(a, 144).unwrap())
}

fn int_at(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// SIOCGIFCONF with a buffer of `len` bytes (None: a NULL buffer):
/// (ifc_len, the entries' names and sockaddr families).
fn ifconf(t: &mut T, s: u64, len: Option<usize>) -> (i32, Vec<(String, u8)>) {
    let buf = len.map_or(0, |n| t.buf(n));
    let mut ifc = vec![0u8; 16];
    ifc[0..4].copy_from_slice(&(len.unwrap_or(0) as i32).to_le_bytes());
    ifc[8..16].copy_from_slice(&buf.to_le_bytes());
    let a = t.put(&ifc);
    assert_eq!(t.e(IOCTL, &[s, SIOCGIFCONF, a]), 0);
    let n = int_at(&t.mem.read(a, 16).unwrap(), 0);
    let mut out = vec![];
    if buf != 0 {
        let d = t.mem.read(buf, n as usize).unwrap();
        for e in d.chunks(144) {
            let name = String::from_utf8_lossy(&e[..16])
                .trim_end_matches('\0')
                .to_owned();
            out.push((name, e[17]));
        }
    }
    (n, out)
}

/// A sysctl read: (errno, reported length, data).
fn sysctl(
    t: &mut T,
    mib: &[i32],
    oldlen: Option<usize>,
    new: Option<&[u8]>,
) -> (i32, u64, Vec<u8>) {
    let name: Vec<u8> = mib.iter().flat_map(|m| m.to_le_bytes()).collect();
    let np = t.put(&name);
    let oldp = oldlen.map_or(0, |n| t.buf(n));
    let lenp = t.put(&(oldlen.unwrap_or(0) as u64).to_le_bytes());
    let (newp, newlen) = match new {
        Some(v) => (t.put(v), v.len() as u64),
        None => (0, 0),
    };
    let e = t.e(SYSCTL, &[np, mib.len() as u64, oldp, lenp, newp, newlen]);
    let len = u64::from_le_bytes(t.mem.read(lenp, 8).unwrap().try_into().unwrap());
    let data = if oldp != 0 && e == 0 {
        t.mem.read(oldp, len as usize).unwrap()
    } else {
        vec![]
    };
    (e, len, data)
}

#[test]
fn lo0_is_configured_at_boot_with_inet_and_inet6() {
    let (mut t, s) = full();
    let (e, r) = ifr(&mut t, s, SIOCGIFFLAGS, "lo0", 0);
    assert_eq!((e, u16::from_le_bytes([r[16], r[17]])), (0, 0x8049));
    assert_eq!(int_at(&ifr(&mut t, s, SIOCGIFMTU, "lo0", 0).1, 16), 33624);
    assert_eq!(int_at(&ifr(&mut t, s, SIOCGIFINDEX, "lo0", 0).1, 16), 1);
    assert_eq!(int_at(&ifr(&mut t, s, SIOCGIFMETRIC, "lo0", 7).1, 16), 0);
    assert_eq!(ifconf(&mut t, s, None).0, 576, "4 entries of 144 bytes");
    assert_eq!(
        ifconf(&mut t, s, Some(100)).0,
        0,
        "under 144 bytes: nothing"
    );
    let (n, one) = ifconf(&mut t, s, Some(144));
    assert_eq!((n, one), (144, vec![("lo0".to_owned(), 18)]));
    let (_, all) = ifconf(&mut t, s, Some(1600));
    let fams: Vec<u8> = all.iter().map(|e| e.1).collect();
    assert_eq!(fams, [18, 24, 24, 2], "AF_LINK, ::1, fe80:1::1, 127.0.0.1");
}

#[test]
fn without_inet_lo0_is_down_and_has_no_address() {
    let (mut t, s) = kernel(&[]);
    let (_, r) = ifr(&mut t, s, SIOCGIFFLAGS, "lo0", 0);
    assert_eq!(u16::from_le_bytes([r[16], r[17]]), 0x8048);
    assert_eq!(ifconf(&mut t, s, None).0, 144);
}

#[test]
fn cloners_are_lo_and_carp() {
    let (mut t, s) = full();
    let names = t.buf(16 * 16);
    let mut req = vec![0u8; 16];
    req[4..8].copy_from_slice(&16i32.to_le_bytes());
    req[8..16].copy_from_slice(&names.to_le_bytes());
    let a = t.put(&req);
    assert_eq!(t.e(IOCTL, &[s, SIOCIFGCLONERS, a]), 0);
    assert_eq!(int_at(&t.mem.read(a, 16).unwrap(), 0), 2);
    let n = t.mem.read(names, 32).unwrap();
    assert_eq!(&n[..3], b"lo\0");
    assert_eq!(&n[16..21], b"carp\0");
}

#[test]
fn create_flags_mtu_destroy() {
    let (mut t, s) = full();
    assert_eq!(ifr(&mut t, s, SIOCIFCREATE, "lo1", 0).0, 0);
    let (_, r) = ifr(&mut t, s, SIOCGIFFLAGS, "lo1", 0);
    assert_eq!(u16::from_le_bytes([r[16], r[17]]), 0x8048, "not up");
    assert_eq!(int_at(&ifr(&mut t, s, SIOCGIFINDEX, "lo1", 0).1, 16), 2);
    assert_eq!(ifr(&mut t, s, SIOCIFCREATE, "lo1", 0).0, EEXIST);
    assert_eq!(ifr(&mut t, s, SIOCIFCREATE, "nosuch7", 0).0, EINVAL);
    assert_eq!(ifr(&mut t, s, SIOCIFCREATE, "lo", 0).0, EINVAL);
    assert_eq!(ifr(&mut t, s, SIOCSIFFLAGS, "lo1", 0).0, 0);
    let (_, r) = ifr(&mut t, s, SIOCGIFFLAGS, "lo1", 0);
    assert_eq!(
        u16::from_le_bytes([r[16], r[17]]),
        0x8040,
        "LOOPBACK cleared too"
    );
    assert_eq!(ifr(&mut t, s, SIOCSIFFLAGS, "lo1", 1).0, 0);
    let (_, r) = ifr(&mut t, s, SIOCGIFFLAGS, "lo1", 0);
    assert_eq!(u16::from_le_bytes([r[16], r[17]]), 0x8041);
    assert_eq!(ifr(&mut t, s, SIOCSIFMTU, "lo1", 1500).0, 0);
    assert_eq!(int_at(&ifr(&mut t, s, SIOCGIFMTU, "lo1", 0).1, 16), 1500);
    assert_eq!(ifr(&mut t, s, SIOCSIFMTU, "lo1", 100_000).0, EINVAL);
    assert_eq!(ifr(&mut t, s, SIOCIFDESTROY, "lo1", 0).0, 0);
    assert_eq!(ifr(&mut t, s, SIOCGIFFLAGS, "lo1", 0).0, ENXIO);
    assert_eq!(ifr(&mut t, s, SIOCIFDESTROY, "lo1", 0).0, ENXIO);
    assert_eq!(ifr(&mut t, s, SIOCIFDESTROY, "nosuch0", 0).0, EINVAL);
}

#[test]
fn unknown_names_and_commands() {
    let (mut t, s) = full();
    assert_eq!(ifr(&mut t, s, SIOCGIFFLAGS, "nosuch0", 0).0, ENXIO);
    assert_eq!(ifr(&mut t, s, SIOCGIFFLAGS, "", 0).0, ENXIO);
    // What if_ioctl does not know goes to the protocol: AF_LOCAL's
    // unp_ioctl refuses everything (AF_INET's in_control answers ENOTTY
    // for an unknown command: ifioctl.rs's unit tests).
    assert_eq!(ifr(&mut t, s, 0xc090_69fa, "lo0", 0).0, EOPNOTSUPP);
    assert_eq!(ifr(&mut t, s, SIOCGIFADDR, "lo0", 0).0, EOPNOTSUPP);
}

#[test]
fn destroying_lo0_is_refused_and_disables_its_ioctls() {
    let (mut t, s) = full();
    assert_eq!(ifr(&mut t, s, SIOCIFDESTROY, "lo0", 0).0, EPERM);
    assert_eq!(ifr(&mut t, s, SIOCGIFFLAGS, "lo0", 0).0, ENXIO);
    assert_eq!(ifr(&mut t, s, SIOCGIFMTU, "lo0", 0).0, ENXIO);
    assert_eq!(ifconf(&mut t, s, None).0, 576, "still listed");
}

#[test]
fn routing_sysctl_sizes_and_errors() {
    let (mut t, _) = full();
    let iflist = [4, 34, 0, 0, 5, 0];
    assert_eq!(sysctl(&mut t, &iflist, None, None).1, 554, "11/10 of 504");
    let (e, n, d) = sysctl(&mut t, &iflist, Some(1066), None);
    assert_eq!((e, n, d.len()), (0, 504, 504));
    assert_eq!(&d[0..4], &[168, 0, 4, 0x14], "RTM_IFINFO first");
    assert_eq!(
        &d[8..12],
        &[0x49, 0x80, 0xff, 0xff],
        "if_flags sign-extended"
    );
    let (e, n, _) = sysctl(&mut t, &iflist, Some(300), None);
    assert_eq!((e, n), (12, 224), "ENOMEM, with what fitted (168 + 56)");
    assert_eq!(sysctl(&mut t, &[4, 34, 0, 2, 5, 0], None, None).1, 255);
    assert_eq!(sysctl(&mut t, &[4, 34, 0, 0, 1, 0], None, None).1, 1513);
    let (e, n, _) = sysctl(&mut t, &[4, 34, 0, 0, 1, 0], Some(2025), None);
    assert_eq!((e, n), (0, 1376));
    for mib in [
        &[4, 34, 0, 0, 3, 0][..],
        &[4, 34, 0, 0, 4, 0],
        &[4, 17, 0, 0, 3, 0],
    ] {
        assert_eq!(sysctl(&mut t, mib, None, None).0, EINVAL, "{mib:?}");
    }
    assert_eq!(sysctl(&mut t, &[4, 34, 0, 0], None, None).0, EINVAL);
    assert_eq!(sysctl(&mut t, &iflist, None, Some(&[1, 0, 0, 0])).0, EPERM);
}

#[test]
fn the_routing_sysctl_exists_only_with_net() {
    let mut t = T::new();
    assert_eq!(sysctl(&mut t, &[4, 34, 0, 0, 5, 0], None, None).0, ENOENT);
}

#[test]
fn a_created_interface_shows_in_the_iflist() {
    let (mut t, s) = full();
    assert_eq!(ifr(&mut t, s, SIOCIFCREATE, "lo1", 0).0, 0);
    let (_, n, d) = sysctl(&mut t, &[4, 34, 0, 0, 5, 0], Some(4096), None);
    assert_eq!(n, 504 + 168 + 56);
    assert_eq!(&d[504 + 12..504 + 14], &[2, 0], "index 2");
    assert_eq!(&d[504 + 152 + 8..504 + 152 + 11], b"lo1");
}

#[test]
fn net_inet_sysctls_read_and_write() {
    let (mut t, _) = full();
    let udp_send = [4, 2, 17, 2];
    let (_, _, d) = sysctl(&mut t, &udp_send, Some(4), None);
    assert_eq!(d, 9216i32.to_le_bytes());
    assert_eq!(sysctl(&mut t, &udp_send, None, Some(&[1, 2])).0, EINVAL);
    assert_eq!(
        sysctl(&mut t, &udp_send, None, Some(&(-1i32).to_le_bytes())).0,
        0
    );
    let (_, _, d) = sysctl(&mut t, &udp_send, Some(4), None);
    assert_eq!(d, (-1i32).to_le_bytes());
    assert_eq!(
        rumpsp_sim_kernel::sysctl_net::socket_spaces(&t.k.sysctl, 17),
        Some((-1, 41600))
    );
    let fwd = [4, 2, 0, 1];
    assert_eq!(sysctl(&mut t, &fwd, Some(4), None).2, 1i32.to_le_bytes());
    assert_eq!(sysctl(&mut t, &fwd, None, Some(&5i32.to_le_bytes())).0, 0);
    assert_eq!(sysctl(&mut t, &fwd, Some(4), None).2, 5i32.to_le_bytes());
    assert_eq!(
        sysctl(&mut t, &[4, 24, 41, 1], Some(4), None).2,
        0i32.to_le_bytes()
    );
    // CTL_QUERY of net: its 8 children.
    let mut q = vec![0u8; 96];
    q[0..4].copy_from_slice(&0x0100_0000u32.to_le_bytes());
    let (e, n, _) = sysctl(&mut t, &[4, -2], None, Some(&q));
    assert_eq!((e, n), (0, 768));
}

#[test]
fn an_address_added_on_lo1_carries_udp_and_counts_it() {
    let (mut t, _) = full();
    let s = t.ok(SOCKET, &[2, 2, 0]) as u64;
    assert_eq!(ifr(&mut t, s, SIOCIFCREATE, "lo1", 0).0, 0);
    let mut a = vec![0u8; 64];
    a[..3].copy_from_slice(b"lo1");
    a[16..24].copy_from_slice(&[16, 2, 0, 0, 10, 9, 8, 7]);
    a[48..56].copy_from_slice(&[16, 2, 0, 0, 255, 255, 255, 0]);
    let ap = t.put(&a);
    assert_eq!(t.e(IOCTL, &[s, 0x8040_691a, ap]), 0, "SIOCAIFADDR");
    let (e, r) = ifr(&mut t, s, SIOCGIFADDR, "lo1", 0);
    assert_eq!((e, &r[16..24]), (0, &[16, 2, 0, 0, 10, 9, 8, 7][..]));
    let (_, r) = ifr(&mut t, s, SIOCGIFFLAGS, "lo1", 0);
    assert_eq!(
        u16::from_le_bytes([r[16], r[17]]),
        0x8049,
        "SIOCAIFADDR sets IFF_UP"
    );
    // a datagram to itself through 10.9.8.7:6000
    let u = t.ok(SOCKET, &[2, 2, 0]) as u64;
    let sin = t.put(&[16, 2, 0x17, 0x70, 10, 9, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(t.e(104, &[u, sin, 16]), 0, "bind");
    let msg = t.put(b"via lo1");
    assert_eq!(t.sys(133, &[u, msg, 7, 0, sin, 16]).1, 7, "sendto");
    let buf = t.buf(64);
    assert_eq!(t.sys(29, &[u, buf, 64, 0, 0, 0]).1, 7, "recvfrom");
    let (_, _, d) = sysctl(&mut t, &[4, 34, 0, 0, 5, 0], Some(4096), None);
    // lo0's records (504 bytes), then lo1's RTM_IFINFO: ipackets at 16+32,
    // opackets at 16+48, ibytes at 16+72, obytes at 16+80.
    let lo1 = &d[504..];
    let q = |at: usize| u64::from_le_bytes(lo1[16 + at..24 + at].try_into().unwrap());
    assert_eq!((q(32), q(48), q(72), q(80)), (1, 1, 35, 35));
    let lo0 = &d[..168];
    assert_eq!(u64::from_le_bytes(lo0[48..56].try_into().unwrap()), 0);
    // SIOCDIFADDR twice: the second finds nothing
    let mut dreq = vec![0u8; 144];
    dreq[..3].copy_from_slice(b"lo1");
    dreq[16..24].copy_from_slice(&[16, 2, 0, 0, 10, 9, 8, 7]);
    let dp = t.put(&dreq);
    assert_eq!(t.e(IOCTL, &[s, 0x8090_6919, dp]), 0);
    let dp = t.put(&dreq);
    assert_eq!(t.e(IOCTL, &[s, 0x8090_6919, dp]), 49, "EADDRNOTAVAIL");
}
