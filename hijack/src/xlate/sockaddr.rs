//! Socket addresses: Linux `struct sockaddr_*` (a 16-bit family, no length
//! byte) to NetBSD's (a length byte `sa_len`, an 8-bit family) and back.
//!
//! Layouts (spec/netbsd-abi.md 5.5; NetBSD sys/netinet/in.h,
//! sys/netinet6/in6.h, sys/sys/un.h): sockaddr_in 16 bytes, sockaddr_in6
//! 28 bytes, sockaddr_un 106 bytes (`sun_path[104]`). Linux: sockaddr_in 16,
//! sockaddr_in6 28, sockaddr_un 110 (`sun_path[108]`).

use super::socket::nb;

/// Linux `sizeof(struct sockaddr_storage)`: the longest address a call takes
/// (Linux's move_addr_to_kernel refuses more with EINVAL).
pub const LINUX_MAX_ADDR: usize = 128;
/// Linux `sizeof(struct sockaddr_un)`.
pub const LINUX_SUN_SIZE: usize = 110;
/// NetBSD `sizeof(sun_path)`.
const NB_SUN_PATH: usize = 104;

/// Linux address families the library routes (AF_UNIX, AF_INET, AF_INET6).
pub mod linux_af {
    #![allow(missing_docs)]
    pub const UNSPEC: u16 = libc::AF_UNSPEC as u16;
    pub const UNIX: u16 = libc::AF_UNIX as u16;
    pub const INET: u16 = libc::AF_INET as u16;
    pub const INET6: u16 = libc::AF_INET6 as u16;
}

/// A Linux socket address as NetBSD's; `Err` is a Linux errno: EINVAL for
/// a length too short for its family (Linux's own check in inet_bind,
/// inet6_bind, unix_mkname), for an abstract (leading NUL) or unnamed
/// AF_UNIX name, ENAMETOOLONG for a path longer than NetBSD's 103 bytes,
/// EAFNOSUPPORT for another family; EINVAL too for more than
/// [`LINUX_MAX_ADDR`] bytes.
pub fn to_netbsd(l: &[u8]) -> Result<Vec<u8>, i32> {
    if l.len() < 2 || l.len() > LINUX_MAX_ADDR {
        return Err(libc::EINVAL);
    }
    let family = u16::from_le_bytes([l[0], l[1]]);
    match family {
        linux_af::INET => {
            if l.len() < 16 {
                return Err(libc::EINVAL);
            }
            let mut n = vec![0u8; 16];
            n[0] = 16;
            n[1] = nb::AF_INET;
            n[2..8].copy_from_slice(&l[2..8]); // port, address
            Ok(n)
        }
        linux_af::INET6 => {
            // SIN6_LEN_RFC2133 (24: no scope id) is accepted, as Linux does
            if l.len() < 24 {
                return Err(libc::EINVAL);
            }
            let mut n = vec![0u8; 28];
            n[0] = 28;
            n[1] = nb::AF_INET6;
            let end = l.len().min(28);
            n[2..end].copy_from_slice(&l[2..end]);
            Ok(n)
        }
        linux_af::UNIX => {
            let raw = &l[2..l.len().min(LINUX_SUN_SIZE)];
            if raw.is_empty() || raw[0] == 0 {
                return Err(libc::EINVAL);
            }
            let path = raw.split(|&b| b == 0).next().unwrap_or(raw);
            if path.len() >= NB_SUN_PATH {
                return Err(libc::ENAMETOOLONG);
            }
            let mut n = Vec::with_capacity(2 + path.len() + 1);
            n.push((2 + path.len() + 1) as u8);
            n.push(nb::AF_LOCAL);
            n.extend_from_slice(path);
            n.push(0);
            Ok(n)
        }
        linux_af::UNSPEC => {
            let mut n = vec![0u8; 16];
            n[0] = 16;
            n[1] = nb::AF_UNSPEC;
            Ok(n)
        }
        _ => Err(libc::EAFNOSUPPORT),
    }
}

/// A NetBSD socket address (the `len` bytes the kernel wrote) as Linux's:
/// the bytes and the length Linux reports (for AF_UNIX: the path and its
/// NUL, as Linux's unix_getname). An empty or short address (an unbound
/// socket, a kernel that wrote less) is zero-filled, never read past.
pub fn to_linux(n: &[u8]) -> Vec<u8> {
    if n.len() < 2 {
        return Vec::new();
    }
    let byte = |i: usize| n.get(i).copied().unwrap_or(0);
    let copy = |out: &mut Vec<u8>, from: usize, to: usize| {
        for i in from..to {
            out.push(byte(i));
        }
    };
    match n[1] {
        nb::AF_INET => {
            let mut l = linux_af::INET.to_le_bytes().to_vec();
            copy(&mut l, 2, 8);
            l.resize(16, 0);
            l
        }
        nb::AF_INET6 => {
            let mut l = linux_af::INET6.to_le_bytes().to_vec();
            copy(&mut l, 2, 28);
            l
        }
        nb::AF_LOCAL => {
            let mut l = linux_af::UNIX.to_le_bytes().to_vec();
            let end = usize::from(n[0]).clamp(2, n.len());
            let path = n[2..end].split(|&b| b == 0).next().unwrap_or(&[]);
            if !path.is_empty() {
                l.extend_from_slice(path);
                l.push(0);
            }
            l
        }
        f => {
            // another family: the same bytes behind a 16-bit family
            let mut l = u16::from(f).to_le_bytes().to_vec();
            let end = usize::from(n[0]).clamp(2, n.len());
            l.extend_from_slice(&n[2..end]);
            l
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux_in(port: u16, addr: [u8; 4]) -> Vec<u8> {
        let mut l = vec![2, 0];
        l.extend_from_slice(&port.to_be_bytes());
        l.extend_from_slice(&addr);
        l.extend_from_slice(&[0; 8]);
        l
    }

    #[test]
    fn inet_both_ways() {
        let l = linux_in(8080, [127, 0, 0, 1]);
        let n = to_netbsd(&l).unwrap();
        assert_eq!(&n[..8], &[16, 2, 0x1f, 0x90, 127, 0, 0, 1]);
        assert_eq!(n.len(), 16);
        assert_eq!(to_linux(&n), l);
        // the length byte is not a Linux family byte
        assert_ne!(to_linux(&n)[0], n[0]);
        assert_eq!(to_netbsd(&l[..15]), Err(libc::EINVAL));
        assert_eq!(to_netbsd(&l[..1]), Err(libc::EINVAL));
        // a longer buffer (sockaddr_storage) is fine
        let mut big = l.clone();
        big.resize(128, 0xee);
        assert_eq!(to_netbsd(&big).unwrap(), n);
        big.push(0);
        assert_eq!(
            to_netbsd(&big),
            Err(libc::EINVAL),
            "longer than sockaddr_storage"
        );
    }

    #[test]
    fn inet6_family_numbers_differ() {
        let mut l = vec![10, 0, 0x00, 0x50, 1, 2, 3, 4];
        l.extend_from_slice(&[0; 15]);
        l.push(1); // ::1
        l.extend_from_slice(&7u32.to_le_bytes()); // scope id
        assert_eq!(l.len(), 28);
        let n = to_netbsd(&l).unwrap();
        assert_eq!((n[0], n[1]), (28, 24), "AF_INET6 is 24 on NetBSD");
        assert_eq!(&n[2..], &l[2..]);
        assert_eq!(to_linux(&n), l);
        // RFC 2133 length: no scope id
        let short = to_netbsd(&l[..24]).unwrap();
        assert_eq!(&short[24..], &[0, 0, 0, 0]);
        assert_eq!(to_netbsd(&l[..23]), Err(libc::EINVAL));
    }

    #[test]
    fn local_paths() {
        let mut l = vec![1, 0];
        l.extend_from_slice(b"/tmp/s\0junk");
        let n = to_netbsd(&l).unwrap();
        assert_eq!(n, b"\x09\x01/tmp/s\0");
        let back = to_linux(&n);
        assert_eq!(back, b"\x01\x00/tmp/s\0");
        // abstract and unnamed names have no NetBSD form
        assert_eq!(to_netbsd(b"\x01\x00\x00abs"), Err(libc::EINVAL));
        assert_eq!(to_netbsd(b"\x01\x00"), Err(libc::EINVAL));
        let mut long = vec![1, 0];
        long.extend(std::iter::repeat_n(b'a', 104));
        assert_eq!(to_netbsd(&long), Err(libc::ENAMETOOLONG));
        long.truncate(2 + 103);
        assert_eq!(to_netbsd(&long).unwrap().len(), 2 + 103 + 1);
        // an unbound AF_LOCAL socket's name: just the family
        assert_eq!(to_linux(&[2, 1]), vec![1, 0]);
    }

    #[test]
    fn bad_netbsd_input_is_zero_filled_not_read_past() {
        assert!(to_linux(&[]).is_empty());
        assert!(to_linux(&[16]).is_empty());
        // an AF_INET address cut short by the kernel
        assert_eq!(to_linux(&[16, 2, 0, 80]), {
            let mut v = vec![2, 0, 0, 80];
            v.resize(16, 0);
            v
        });
        // sun_len larger than the bytes present
        assert_eq!(to_linux(&[200, 1, b'/', b'x']), b"\x01\x00/x\0".to_vec());
        assert_eq!(to_netbsd(&[99, 0, 0, 0]), Err(libc::EAFNOSUPPORT));
    }
}
