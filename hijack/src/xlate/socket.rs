//! Socket calls' numbers: domains, type flags, message flags, socket
//! options (levels, names and values), poll bits and the two ioctls served
//! (FIONBIO, FIONREAD), Linux to NetBSD and back.

/// NetBSD values (spec/netbsd-abi.md 5.1 and 5.5; NetBSD sys/sys/socket.h,
/// sys/netinet/tcp.h, sys/netinet/in.h, sys/netinet6/in6.h, sys/sys/poll.h,
/// sys/sys/filio.h).
pub mod nb {
    #![allow(missing_docs)]
    pub const AF_UNSPEC: u8 = 0;
    pub const AF_LOCAL: u8 = 1;
    pub const AF_INET: u8 = 2;
    pub const AF_INET6: u8 = 24;
    pub const SOCK_CLOEXEC: i32 = 0x1000_0000;
    pub const SOCK_NONBLOCK: i32 = 0x2000_0000;
    pub const SOL_SOCKET: i32 = 0xffff;
    pub const SO_DEBUG: i32 = 0x1;
    pub const SO_ACCEPTCONN: i32 = 0x2;
    pub const SO_REUSEADDR: i32 = 0x4;
    pub const SO_KEEPALIVE: i32 = 0x8;
    pub const SO_DONTROUTE: i32 = 0x10;
    pub const SO_BROADCAST: i32 = 0x20;
    pub const SO_LINGER: i32 = 0x80;
    pub const SO_OOBINLINE: i32 = 0x100;
    pub const SO_REUSEPORT: i32 = 0x200;
    pub const SO_TIMESTAMP: i32 = 0x2000;
    pub const SO_SNDBUF: i32 = 0x1001;
    pub const SO_RCVBUF: i32 = 0x1002;
    pub const SO_SNDLOWAT: i32 = 0x1003;
    pub const SO_RCVLOWAT: i32 = 0x1004;
    pub const SO_ERROR: i32 = 0x1007;
    pub const SO_TYPE: i32 = 0x1008;
    pub const SO_SNDTIMEO: i32 = 0x100b;
    pub const SO_RCVTIMEO: i32 = 0x100c;
    pub const IPPROTO_IP: i32 = 0;
    pub const IPPROTO_TCP: i32 = 6;
    pub const IPPROTO_IPV6: i32 = 41;
    pub const IP_TOS: i32 = 3;
    pub const IP_TTL: i32 = 4;
    pub const IPV6_V6ONLY: i32 = 27;
    pub const TCP_NODELAY: i32 = 1;
    pub const TCP_MAXSEG: i32 = 2;
    pub const TCP_KEEPIDLE: i32 = 3;
    pub const TCP_KEEPINTVL: i32 = 5;
    pub const TCP_KEEPCNT: i32 = 6;
    pub const MSG_OOB: i32 = 0x1;
    pub const MSG_PEEK: i32 = 0x2;
    pub const MSG_DONTROUTE: i32 = 0x4;
    pub const MSG_EOR: i32 = 0x8;
    pub const MSG_TRUNC: i32 = 0x10;
    pub const MSG_CTRUNC: i32 = 0x20;
    pub const MSG_WAITALL: i32 = 0x40;
    pub const MSG_DONTWAIT: i32 = 0x80;
    pub const MSG_NOSIGNAL: i32 = 0x400;
    pub const MSG_CMSG_CLOEXEC: i32 = 0x800;
    pub const POLLIN: i16 = 0x1;
    pub const POLLPRI: i16 = 0x2;
    pub const POLLOUT: i16 = 0x4;
    pub const POLLERR: i16 = 0x8;
    pub const POLLHUP: i16 = 0x10;
    pub const POLLNVAL: i16 = 0x20;
    pub const POLLRDNORM: i16 = 0x40;
    pub const POLLRDBAND: i16 = 0x80;
    pub const POLLWRBAND: i16 = 0x100;
    pub const FIONREAD: u64 = 0x4004_667f;
    pub const FIONBIO: u64 = 0x8004_667e;
}

/// Which domains go to the rump kernel (`RUMPHIJACK=socket=…`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Domains {
    /// AF_INET.
    pub inet: bool,
    /// AF_INET6.
    pub inet6: bool,
    /// AF_UNIX / AF_LOCAL.
    pub local: bool,
}

impl Domains {
    /// Whether sockets of this Linux domain are the rump kernel's.
    pub fn routes(&self, linux_domain: i32) -> bool {
        match linux_domain {
            libc::AF_INET => self.inet,
            libc::AF_INET6 => self.inet6,
            libc::AF_UNIX => self.local,
            _ => false,
        }
    }

    /// Whether any domain is routed.
    pub fn any(&self) -> bool {
        self.inet || self.inet6 || self.local
    }
}

/// A Linux domain as NetBSD's (`None`: not one the library routes).
pub fn domain_to_netbsd(l: i32) -> Option<i32> {
    match l {
        libc::AF_INET => Some(i32::from(nb::AF_INET)),
        libc::AF_INET6 => Some(i32::from(nb::AF_INET6)),
        libc::AF_UNIX => Some(i32::from(nb::AF_LOCAL)),
        _ => None,
    }
}

/// A NetBSD domain as Linux's.
pub fn domain_to_linux(n: u8) -> i32 {
    match n {
        nb::AF_INET => libc::AF_INET,
        nb::AF_INET6 => libc::AF_INET6,
        nb::AF_LOCAL => libc::AF_UNIX,
        other => i32::from(other),
    }
}

/// A Linux socket type with SOCK_NONBLOCK/SOCK_CLOEXEC as NetBSD's (the base
/// types have the same numbers); `Err(EINVAL)` for another flag bit, as
/// Linux's sock_create.
pub fn type_to_netbsd(l: i32) -> Result<i32, i32> {
    let base = l & 0xf;
    let flags = l & !0xf;
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(libc::EINVAL);
    }
    Ok(base | accept_flags_to_netbsd(flags)?)
}

/// accept4's SOCK_NONBLOCK/SOCK_CLOEXEC as paccept's flags; another bit is EINVAL.
pub fn accept_flags_to_netbsd(l: i32) -> Result<i32, i32> {
    if l & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(libc::EINVAL);
    }
    let mut n = 0;
    if l & libc::SOCK_NONBLOCK != 0 {
        n |= nb::SOCK_NONBLOCK;
    }
    if l & libc::SOCK_CLOEXEC != 0 {
        n |= nb::SOCK_CLOEXEC;
    }
    Ok(n)
}

/// Message flags (Linux, NetBSD) translated one for one.
const MSG_BITS: [(i32, i32); 10] = [
    (libc::MSG_OOB, nb::MSG_OOB),
    (libc::MSG_PEEK, nb::MSG_PEEK),
    (libc::MSG_DONTROUTE, nb::MSG_DONTROUTE),
    (libc::MSG_EOR, nb::MSG_EOR),
    (libc::MSG_TRUNC, nb::MSG_TRUNC),
    (libc::MSG_CTRUNC, nb::MSG_CTRUNC),
    (libc::MSG_WAITALL, nb::MSG_WAITALL),
    (libc::MSG_DONTWAIT, nb::MSG_DONTWAIT),
    (libc::MSG_NOSIGNAL, nb::MSG_NOSIGNAL),
    (libc::MSG_CMSG_CLOEXEC, nb::MSG_CMSG_CLOEXEC),
];

/// Linux send/recv flags as NetBSD's. MSG_MORE and MSG_CONFIRM (hints NetBSD
/// has no use for) are dropped; any other bit is EOPNOTSUPP.
pub fn msg_to_netbsd(l: i32) -> Result<i32, i32> {
    let mut rest = l & !(libc::MSG_MORE | libc::MSG_CONFIRM);
    let mut n = 0;
    for (lb, nbit) in MSG_BITS {
        if rest & lb != 0 {
            n |= nbit;
            rest &= !lb;
        }
    }
    if rest != 0 {
        return Err(libc::EOPNOTSUPP);
    }
    Ok(n)
}

/// NetBSD message flags (recvmsg's msg_flags) as Linux's; unknown bits dropped.
pub fn msg_to_linux(n: i32) -> i32 {
    MSG_BITS
        .iter()
        .filter(|(_, nbit)| n & nbit != 0)
        .fold(0, |l, (lb, _)| l | lb)
}

/// How an option's value is translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptValue {
    /// An int (or struct linger, two ints): the same bytes on both.
    Same,
    /// A struct timeval: Linux {i64 sec, i64 usec}, NetBSD {i64 sec, i32 usec, pad}.
    Timeval,
    /// SO_ERROR: an int holding a NetBSD errno, returned as Linux's.
    Errno,
}

/// What a Linux (level, name) is on NetBSD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    /// The NetBSD level, name and value translation.
    Mapped(i32, i32, OptValue),
    /// SO_DOMAIN (Linux only): answered from the socket's address family.
    Domain,
    /// SO_PROTOCOL (Linux only): answered from the socket's type.
    Protocol,
}

/// A Linux socket option as NetBSD's; `Err(ENOPROTOOPT)` for one that has
/// no NetBSD counterpart (the errno NetBSD's sosetopt/sogetopt give for an
/// unknown option).
pub fn sockopt_to_netbsd(level: i32, name: i32) -> Result<Opt, i32> {
    use OptValue::*;
    let m = |n: i32, v: OptValue| Ok(Opt::Mapped(level_to_netbsd(level), n, v));
    match (level, name) {
        (libc::SOL_SOCKET, libc::SO_DEBUG) => m(nb::SO_DEBUG, Same),
        (libc::SOL_SOCKET, libc::SO_REUSEADDR) => m(nb::SO_REUSEADDR, Same),
        (libc::SOL_SOCKET, libc::SO_REUSEPORT) => m(nb::SO_REUSEPORT, Same),
        (libc::SOL_SOCKET, libc::SO_TYPE) => m(nb::SO_TYPE, Same),
        (libc::SOL_SOCKET, libc::SO_ERROR) => m(nb::SO_ERROR, Errno),
        (libc::SOL_SOCKET, libc::SO_DONTROUTE) => m(nb::SO_DONTROUTE, Same),
        (libc::SOL_SOCKET, libc::SO_BROADCAST) => m(nb::SO_BROADCAST, Same),
        (libc::SOL_SOCKET, libc::SO_SNDBUF) => m(nb::SO_SNDBUF, Same),
        (libc::SOL_SOCKET, libc::SO_RCVBUF) => m(nb::SO_RCVBUF, Same),
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => m(nb::SO_KEEPALIVE, Same),
        (libc::SOL_SOCKET, libc::SO_OOBINLINE) => m(nb::SO_OOBINLINE, Same),
        (libc::SOL_SOCKET, libc::SO_LINGER) => m(nb::SO_LINGER, Same),
        (libc::SOL_SOCKET, libc::SO_RCVLOWAT) => m(nb::SO_RCVLOWAT, Same),
        (libc::SOL_SOCKET, libc::SO_SNDLOWAT) => m(nb::SO_SNDLOWAT, Same),
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => m(nb::SO_RCVTIMEO, Timeval),
        (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => m(nb::SO_SNDTIMEO, Timeval),
        (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => m(nb::SO_ACCEPTCONN, Same),
        (libc::SOL_SOCKET, libc::SO_TIMESTAMP) => m(nb::SO_TIMESTAMP, Same),
        (libc::SOL_SOCKET, libc::SO_DOMAIN) => Ok(Opt::Domain),
        (libc::SOL_SOCKET, libc::SO_PROTOCOL) => Ok(Opt::Protocol),
        (libc::IPPROTO_TCP, libc::TCP_NODELAY) => m(nb::TCP_NODELAY, Same),
        (libc::IPPROTO_TCP, libc::TCP_MAXSEG) => m(nb::TCP_MAXSEG, Same),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) => m(nb::TCP_KEEPIDLE, Same),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) => m(nb::TCP_KEEPINTVL, Same),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) => m(nb::TCP_KEEPCNT, Same),
        (libc::IPPROTO_IP, libc::IP_TOS) => m(nb::IP_TOS, Same),
        (libc::IPPROTO_IP, libc::IP_TTL) => m(nb::IP_TTL, Same),
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) => m(nb::IPV6_V6ONLY, Same),
        _ => Err(libc::ENOPROTOOPT),
    }
}

fn level_to_netbsd(l: i32) -> i32 {
    match l {
        libc::SOL_SOCKET => nb::SOL_SOCKET,
        libc::IPPROTO_TCP => nb::IPPROTO_TCP,
        libc::IPPROTO_IPV6 => nb::IPPROTO_IPV6,
        _ => nb::IPPROTO_IP,
    }
}

/// A Linux option value as NetBSD's (`Err(EINVAL)`: a timeval too short).
pub fn optval_to_netbsd(v: OptValue, l: &[u8]) -> Result<Vec<u8>, i32> {
    match v {
        OptValue::Same | OptValue::Errno => Ok(l.to_vec()),
        OptValue::Timeval => {
            if l.len() < 16 {
                return Err(libc::EINVAL);
            }
            let usec = i64::from_le_bytes(l[8..16].try_into().map_err(|_| libc::EINVAL)?);
            let usec = i32::try_from(usec).map_err(|_| libc::EDOM)?;
            let mut n = l[0..8].to_vec();
            n.extend_from_slice(&usec.to_le_bytes());
            n.extend_from_slice(&[0; 4]);
            Ok(n)
        }
    }
}

/// The size of the NetBSD value for a Linux buffer of `len` bytes.
pub fn optlen_to_netbsd(v: OptValue, len: usize) -> usize {
    match v {
        OptValue::Timeval => 16,
        _ => len,
    }
}

/// A NetBSD option value as Linux's.
pub fn optval_to_linux(v: OptValue, n: &[u8]) -> Vec<u8> {
    match v {
        OptValue::Same => n.to_vec(),
        OptValue::Errno => {
            let mut b = [0u8; 4];
            let k = n.len().min(4);
            b[..k].copy_from_slice(&n[..k]);
            let e = i32::from_le_bytes(b);
            let l = if e == 0 { 0 } else { super::errno::to_linux(e) };
            l.to_le_bytes()[..k].to_vec()
        }
        OptValue::Timeval => {
            let mut b = [0u8; 16];
            let k = n.len().min(12);
            b[..k].copy_from_slice(&n[..k]);
            let usec = i32::from_le_bytes([b[8], b[9], b[10], b[11]]);
            let mut l = b[0..8].to_vec();
            l.extend_from_slice(&i64::from(usec).to_le_bytes());
            l
        }
    }
}

/// Poll bits (Linux, NetBSD) with the same meaning; Linux's POLLWRNORM is
/// NetBSD's POLLOUT, Linux's POLLWRBAND (0x200) NetBSD's 0x100.
const POLL_BITS: [(i16, i16); 9] = [
    (libc::POLLIN, nb::POLLIN),
    (libc::POLLPRI, nb::POLLPRI),
    (libc::POLLOUT, nb::POLLOUT),
    (libc::POLLERR, nb::POLLERR),
    (libc::POLLHUP, nb::POLLHUP),
    (libc::POLLNVAL, nb::POLLNVAL),
    (libc::POLLRDNORM, nb::POLLRDNORM),
    (libc::POLLRDBAND, nb::POLLRDBAND),
    (libc::POLLWRBAND, nb::POLLWRBAND),
];

/// Linux poll events as NetBSD's (POLLRDHUP, Linux only, is dropped).
pub fn poll_to_netbsd(l: i16) -> i16 {
    let mut n = POLL_BITS
        .iter()
        .filter(|(lb, _)| l & lb != 0)
        .fold(0, |n, (_, nbit)| n | nbit);
    if l & libc::POLLWRNORM != 0 {
        n |= nb::POLLOUT;
    }
    n
}

/// NetBSD revents as Linux's, for a caller that asked for `asked` (Linux
/// bits): POLLOUT also answers POLLWRNORM when that was asked.
pub fn poll_to_linux(n: i16, asked: i16) -> i16 {
    let mut l = POLL_BITS
        .iter()
        .filter(|(_, nbit)| n & nbit != 0)
        .fold(0, |l, (lb, _)| l | lb);
    if n & nb::POLLOUT != 0 && asked & libc::POLLWRNORM != 0 {
        l |= libc::POLLWRNORM;
    }
    if n & nb::POLLOUT != 0 && asked & libc::POLLOUT == 0 {
        l &= !libc::POLLOUT;
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_accept_flags() {
        assert_eq!(type_to_netbsd(libc::SOCK_STREAM), Ok(1));
        assert_eq!(
            type_to_netbsd(libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK),
            Ok(1 | 0x1000_0000 | 0x2000_0000)
        );
        assert_eq!(type_to_netbsd(libc::SOCK_DGRAM | 0x4000), Err(libc::EINVAL));
        assert_eq!(
            accept_flags_to_netbsd(libc::SOCK_CLOEXEC),
            Ok(nb::SOCK_CLOEXEC)
        );
        assert_eq!(
            accept_flags_to_netbsd(libc::SOCK_NONBLOCK),
            Ok(nb::SOCK_NONBLOCK)
        );
        assert_eq!(accept_flags_to_netbsd(1), Err(libc::EINVAL));
        assert_eq!(domain_to_netbsd(libc::AF_INET6), Some(24));
        assert_eq!(domain_to_netbsd(libc::AF_NETLINK), None);
        assert_eq!(domain_to_linux(24), libc::AF_INET6);
        assert_eq!(domain_to_linux(1), libc::AF_UNIX);
    }

    #[test]
    fn message_flags() {
        assert_eq!(msg_to_netbsd(libc::MSG_NOSIGNAL), Ok(0x400));
        assert_eq!(msg_to_netbsd(libc::MSG_DONTWAIT), Ok(0x80));
        assert_eq!(msg_to_netbsd(libc::MSG_WAITALL | libc::MSG_PEEK), Ok(0x42));
        assert_eq!(msg_to_netbsd(libc::MSG_MORE), Ok(0));
        assert_eq!(msg_to_netbsd(libc::MSG_FASTOPEN), Err(libc::EOPNOTSUPP));
        assert_eq!(
            msg_to_linux(nb::MSG_TRUNC | nb::MSG_EOR),
            libc::MSG_TRUNC | libc::MSG_EOR
        );
    }

    #[test]
    fn socket_options() {
        assert_eq!(
            sockopt_to_netbsd(libc::SOL_SOCKET, libc::SO_REUSEADDR),
            Ok(Opt::Mapped(0xffff, 0x4, OptValue::Same))
        );
        assert_eq!(
            sockopt_to_netbsd(libc::SOL_SOCKET, libc::SO_ERROR),
            Ok(Opt::Mapped(0xffff, 0x1007, OptValue::Errno))
        );
        assert_eq!(
            sockopt_to_netbsd(libc::IPPROTO_TCP, libc::TCP_NODELAY),
            Ok(Opt::Mapped(6, 1, OptValue::Same))
        );
        assert_eq!(
            sockopt_to_netbsd(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE),
            Ok(Opt::Mapped(6, 3, OptValue::Same)),
            "TCP_KEEPIDLE is 4 on Linux, 3 on NetBSD"
        );
        assert_eq!(
            sockopt_to_netbsd(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
            Ok(Opt::Mapped(41, 27, OptValue::Same))
        );
        assert_eq!(
            sockopt_to_netbsd(libc::SOL_SOCKET, libc::SO_PEERCRED),
            Err(libc::ENOPROTOOPT)
        );
        assert_eq!(
            sockopt_to_netbsd(libc::IPPROTO_TCP, libc::TCP_CORK),
            Err(libc::ENOPROTOOPT)
        );
        assert_eq!(
            sockopt_to_netbsd(libc::SOL_SOCKET, libc::SO_DOMAIN),
            Ok(Opt::Domain)
        );
    }

    #[test]
    fn option_values() {
        // SO_ERROR carries a NetBSD errno: ECONNREFUSED 61 is Linux's 111
        assert_eq!(
            optval_to_linux(OptValue::Errno, &61i32.to_le_bytes()),
            111i32.to_le_bytes().to_vec()
        );
        assert_eq!(
            optval_to_linux(OptValue::Errno, &0i32.to_le_bytes()),
            vec![0; 4]
        );
        let mut tv = 5i64.to_le_bytes().to_vec();
        tv.extend_from_slice(&250_000i64.to_le_bytes());
        let n = optval_to_netbsd(OptValue::Timeval, &tv).unwrap();
        assert_eq!(&n[8..12], &250_000i32.to_le_bytes());
        assert_eq!(&n[12..], &[0; 4]);
        assert_eq!(optval_to_linux(OptValue::Timeval, &n), tv);
        assert_eq!(
            optval_to_netbsd(OptValue::Timeval, &tv[..8]),
            Err(libc::EINVAL)
        );
        assert_eq!(optlen_to_netbsd(OptValue::Timeval, 16), 16);
    }

    #[test]
    fn poll_bits() {
        assert_eq!(poll_to_netbsd(libc::POLLIN | libc::POLLOUT), 0x5);
        assert_eq!(poll_to_netbsd(libc::POLLWRNORM), nb::POLLOUT);
        assert_eq!(poll_to_netbsd(libc::POLLWRBAND), 0x100);
        assert_eq!(poll_to_netbsd(libc::POLLRDHUP), 0);
        assert_eq!(
            poll_to_linux(nb::POLLOUT | nb::POLLHUP, libc::POLLWRNORM),
            libc::POLLWRNORM | libc::POLLHUP
        );
        assert_eq!(poll_to_linux(nb::POLLOUT, libc::POLLOUT), libc::POLLOUT);
        assert_eq!(poll_to_linux(0x100, libc::POLLWRBAND), libc::POLLWRBAND);
        assert_eq!(poll_to_linux(nb::POLLNVAL, libc::POLLIN), libc::POLLNVAL);
    }
}
