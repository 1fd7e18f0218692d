//! Internet addresses and their sockaddr layouts (NetBSD amd64: a leading
//! `sa_len` byte, `sockaddr_in` 16 bytes, `sockaddr_in6` 28 bytes, ports and
//! addresses in network byte order).
//!
//! Inside the model every address is an [`Ipv6Addr`]: an IPv4 address is
//! kept in its v4-mapped form (`::ffff:a.b.c.d`), as NetBSD's in6pcb keeps
//! the addresses of a v6 socket that talks IPv4. A PCB's family says which
//! sockaddr its names are written as.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::errno::{EAFNOSUPPORT, EINVAL};

/// AF_INET.
pub const AF_INET: u8 = 2;
/// AF_INET6.
pub const AF_INET6: u8 = 24;
/// sizeof(struct sockaddr_in).
pub const SIN_LEN: usize = 16;
/// sizeof(struct sockaddr_in6).
pub const SIN6_LEN: usize = 28;

/// The address family of a socket (which sockaddr its names use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// AF_INET: `sockaddr_in`.
    V4,
    /// AF_INET6: `sockaddr_in6`.
    V6,
}

/// An endpoint: an address (IPv4 as v4-mapped) and a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    /// The address.
    pub addr: Ipv6Addr,
    /// The port (host order).
    pub port: u16,
}

/// INADDR_ANY in the model's form (`::ffff:0.0.0.0`).
pub const V4_ANY: Ipv6Addr = Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0);
/// in6addr_any.
pub const V6_ANY: Ipv6Addr = Ipv6Addr::UNSPECIFIED;

/// The model's form of an IPv4 address.
pub fn v4(a: Ipv4Addr) -> Ipv6Addr {
    a.to_ipv6_mapped()
}

/// The IPv4 address of a v4-mapped address (None for a true IPv6 one).
pub fn as_v4(a: &Ipv6Addr) -> Option<Ipv4Addr> {
    let s = a.segments();
    if s[..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff {
        let o = a.octets();
        Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]))
    } else {
        None
    }
}

/// Whether `a` is an IPv4 address (v4-mapped in the model).
pub fn is_v4(a: &Ipv6Addr) -> bool {
    as_v4(a).is_some()
}

/// The wildcard address of a family.
pub fn any(f: Family) -> Ipv6Addr {
    match f {
        Family::V4 => V4_ANY,
        Family::V6 => V6_ANY,
    }
}

/// Whether `a` is a wildcard (INADDR_ANY or in6addr_any).
pub fn is_any(a: &Ipv6Addr) -> bool {
    *a == V4_ANY || *a == V6_ANY
}

/// Parses the sockaddr a bind/connect/sendto passed (`buf` is what was
/// copied in, `addrlen` bytes). IPv4: the length must be 16 (in_pcbbind and
/// in_pcbconnect compare `sin_len`, which the socket layer set to the
/// addrlen: EINVAL) and the family AF_INET (EAFNOSUPPORT); the sin_len byte
/// itself is ignored. IPv6: the family must be AF_INET6 (EAFNOSUPPORT),
/// then the length 28 (EINVAL), the order the real kernel answers in.
pub fn parse(f: Family, buf: &[u8]) -> Result<Endpoint, i32> {
    match f {
        Family::V4 => {
            if buf.len() != SIN_LEN {
                return Err(EINVAL);
            }
            if buf[1] != AF_INET {
                return Err(EAFNOSUPPORT);
            }
            let port = u16::from_be_bytes([buf[2], buf[3]]);
            let a = Ipv4Addr::new(buf[4], buf[5], buf[6], buf[7]);
            Ok(Endpoint { addr: v4(a), port })
        }
        Family::V6 => {
            if buf.len() < 2 || buf[1] != AF_INET6 {
                return Err(EAFNOSUPPORT);
            }
            if buf.len() != SIN6_LEN {
                return Err(EINVAL);
            }
            let port = u16::from_be_bytes([buf[2], buf[3]]);
            let mut o = [0u8; 16];
            o.copy_from_slice(&buf[8..24]);
            Ok(Endpoint {
                addr: Ipv6Addr::from(o),
                port,
            })
        }
    }
}

/// Writes an endpoint as a socket of family `f` names it: `sockaddr_in`
/// (16 bytes) or `sockaddr_in6` (28 bytes, flowinfo and scope_id 0; an IPv4
/// peer of a v6 socket as `::ffff:a.b.c.d`).
pub fn encode(f: Family, e: &Endpoint) -> Vec<u8> {
    match f {
        Family::V4 => {
            let mut b = vec![0u8; SIN_LEN];
            b[0] = SIN_LEN as u8;
            b[1] = AF_INET;
            b[2..4].copy_from_slice(&e.port.to_be_bytes());
            let a = as_v4(&e.addr).unwrap_or(Ipv4Addr::UNSPECIFIED);
            b[4..8].copy_from_slice(&a.octets());
            b
        }
        Family::V6 => {
            let mut b = vec![0u8; SIN6_LEN];
            b[0] = SIN6_LEN as u8;
            b[1] = AF_INET6;
            b[2..4].copy_from_slice(&e.port.to_be_bytes());
            let a = if e.addr == V4_ANY { V6_ANY } else { e.addr };
            b[8..24].copy_from_slice(&a.octets());
            b
        }
    }
}

/// Whether `a` is the IPv4 limited broadcast address or a multicast address.
pub fn is_broadcast_or_multicast(a: &Ipv6Addr) -> bool {
    match as_v4(a) {
        Some(v) => v.is_broadcast() || v.is_multicast(),
        None => a.is_multicast(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_in_round_trip_and_errors() {
        let b = encode(
            Family::V4,
            &Endpoint {
                addr: v4(Ipv4Addr::new(127, 0, 0, 1)),
                port: 7777,
            },
        );
        assert_eq!(b, [16, 2, 0x1e, 0x61, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut short = b.clone();
        short[0] = 5; // sin_len is ignored
        assert_eq!(parse(Family::V4, &short).map(|e| e.port), Ok(7777));
        assert_eq!(parse(Family::V4, &b[..8]), Err(EINVAL));
        let mut fam = b.clone();
        fam[1] = 1;
        assert_eq!(parse(Family::V4, &fam), Err(EAFNOSUPPORT));
    }

    #[test]
    fn sockaddr_in6_checks_family_before_length() {
        let e = Endpoint {
            addr: Ipv6Addr::LOCALHOST,
            port: 7780,
        };
        let b = encode(Family::V6, &e);
        assert_eq!(b.len(), 28);
        assert_eq!(parse(Family::V6, &b), Ok(e));
        assert_eq!(parse(Family::V6, &b[..24]), Err(EINVAL));
        let v4b = encode(
            Family::V4,
            &Endpoint {
                addr: V4_ANY,
                port: 0,
            },
        );
        assert_eq!(parse(Family::V6, &v4b), Err(EAFNOSUPPORT));
        // A v4 peer of a v6 socket is written v4-mapped; INADDR_ANY as ::.
        let m = encode(
            Family::V6,
            &Endpoint {
                addr: v4(Ipv4Addr::LOCALHOST),
                port: 1,
            },
        );
        assert_eq!(&m[18..24], &[0xff, 0xff, 127, 0, 0, 1]);
        let a = encode(
            Family::V6,
            &Endpoint {
                addr: V4_ANY,
                port: 1,
            },
        );
        assert_eq!(&a[8..24], &[0u8; 16]);
    }
}
