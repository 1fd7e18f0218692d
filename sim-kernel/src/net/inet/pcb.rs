//! The protocol control block table: local and foreign names, the bind and
//! port rules of NetBSD's `in_pcbbind`/`in_pcbbind_port`/`in_pcblookup_port`
//! (sys/netinet/in_pcb.c, netinet6/in6_pcb.c) and ephemeral ports chosen as
//! portalgo.c's `random_start` algorithm chooses them (a random start in
//! 49152–65535, then upwards to the first free port), from the kernel's
//! seeded generator.
//!
//! One rule decides what blocks a bind: `in_pcbbind_port` is the only place
//! that files a PCB under its port (`inph_lhash`). A connection an accept
//! created was given its local name by the SYN cache, never through that
//! function, so it is not in the port list and does not block a bind of its
//! port, in TIME_WAIT or not (the capture binds 127.0.0.1:7778 without
//! SO_REUSEADDR while such a connection is open).

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use super::addr::{self, Endpoint, Family};
use super::errno::{EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EINVAL};
use super::tcp::Tcp;
use super::udp::Udp;

/// SO_REUSEADDR.
pub const SO_REUSEADDR: u32 = 0x0004;
/// SO_BROADCAST.
pub const SO_BROADCAST: u32 = 0x0020;
/// SO_REUSEPORT.
pub const SO_REUSEPORT: u32 = 0x0200;

/// The lowest port the kernel picks (net.inet.ip.anonportmin).
pub const ANON_MIN: u16 = 49152;
/// The highest port the kernel picks (net.inet.ip.anonportmax).
pub const ANON_MAX: u16 = 65535;

/// A PCB's number in the table.
pub type PcbId = u64;

/// The transport protocol of a PCB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proto {
    /// SOCK_STREAM, IPPROTO_TCP.
    Tcp,
    /// SOCK_DGRAM, IPPROTO_UDP.
    Udp,
    /// SOCK_RAW (any protocol): created and closed, carries nothing.
    Raw,
}

/// What the rest of the kernel tells the model: which addresses are the
/// host's and which destinations have a route, and the random source.
pub trait NetEnv {
    /// Whether `a` (IPv4 v4-mapped) is an address of an interface.
    fn is_local(&self, a: &Ipv6Addr) -> bool;
    /// Whether a packet to `a` has a route (and so a source address).
    fn has_route(&self, a: &Ipv6Addr) -> bool {
        self.is_local(a)
    }
    /// 32 random bits from the kernel's seeded generator.
    fn random(&mut self) -> u32;
}

/// One protocol control block (inpcb / in6pcb with its protocol state).
#[derive(Debug, Clone)]
pub struct Pcb {
    /// The socket's family (which sockaddr its names are written as).
    pub family: Family,
    /// The protocol.
    pub proto: Proto,
    /// The local name (wildcard address and port 0 until bound).
    pub local: Endpoint,
    /// The foreign name once connected.
    pub foreign: Option<Endpoint>,
    /// Filed under its port by `in_pcbbind_port` (see the module doc).
    pub in_port_list: bool,
    /// The PCB was detached (tcp_close after a refused connect or a
    /// shutdown of an unconnected socket): every request but close is EINVAL.
    pub detached: bool,
    /// The socket's SO_REUSEADDR / SO_REUSEPORT / SO_BROADCAST bits.
    pub so_options: u32,
    /// IPV6_V6ONLY (v6 sockets; default 1, net.inet6.ip6.v6only).
    pub v6only: bool,
    /// IP_TTL (ip_defttl 64).
    pub ttl: i32,
    /// IP_TOS.
    pub tos: i32,
    /// SO_SNDBUF (sb_hiwat of the send buffer).
    pub snd_hiwat: u32,
    /// SO_RCVBUF (sb_hiwat of the receive buffer).
    pub rcv_hiwat: u32,
    /// An asynchronous error for so_error (ICMP port unreachable, RST).
    pub so_error: i32,
    /// TCP state (TCP PCBs).
    pub tcp: Tcp,
    /// UDP receive queue (UDP PCBs).
    pub udp: Udp,
}

impl Pcb {
    /// A fresh, unbound PCB.
    pub fn new(family: Family, proto: Proto, snd: u32, rcv: u32) -> Pcb {
        Pcb {
            family,
            proto,
            local: Endpoint {
                addr: addr::any(family),
                port: 0,
            },
            foreign: None,
            in_port_list: false,
            detached: false,
            so_options: 0,
            v6only: true,
            ttl: 64,
            tos: 0,
            snd_hiwat: snd,
            rcv_hiwat: rcv,
            so_error: 0,
            tcp: Tcp::default(),
            udp: Udp::default(),
        }
    }

    /// Whether this PCB's family matches the packet family of `a` for the
    /// port lookups of `in_pcblookup_port` (v4 PCBs see v4 addresses, v6
    /// PCBs v6 ones; a v6 PCB that is not V6ONLY and bound to :: or a
    /// v4-mapped address also sees v4, as in6_pcblookup_port's mapped case).
    fn sees(&self, a: &Ipv6Addr) -> bool {
        match self.family {
            Family::V4 => addr::is_v4(a),
            Family::V6 => {
                if addr::is_v4(a) {
                    !self.v6only && (self.local.addr == addr::V6_ANY || addr::is_v4(&self.local.addr))
                } else {
                    !addr::is_v4(&self.local.addr) || self.local.addr == addr::V4_ANY
                }
            }
        }
    }

    /// The local address as the wildcard logic sees it (:: of a dual v6
    /// socket counts as a wildcard for v4 too).
    fn laddr_is_any(&self) -> bool {
        addr::is_any(&self.local.addr)
    }
}

/// The table of every internet PCB (TCP and UDP tables share the numbering;
/// lookups only compare PCBs of one protocol).
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The PCBs by id.
    pub pcbs: BTreeMap<PcbId, Pcb>,
    next: PcbId,
    /// PCBs whose state changed in a way a blocked call may wait for (the
    /// glue turns them into wake-ups and clears the set).
    pub woken: std::collections::BTreeSet<PcbId>,
}

impl Table {
    /// Adds a PCB, returning its id.
    pub fn insert(&mut self, p: Pcb) -> PcbId {
        self.next += 1;
        self.pcbs.insert(self.next, p);
        self.next
    }

    /// `in_pcblookup_port`: the PCB of `proto` in the port list with local
    /// port `port` that best matches `laddr` (fewest wildcards: a
    /// connected PCB counts one, a wildcard on either side one; a different
    /// specific address is no match). With `wild` false only exact matches.
    pub fn lookup_port(
        &self,
        proto: Proto,
        laddr: &Ipv6Addr,
        port: u16,
        wild: bool,
        skip: Option<PcbId>,
    ) -> Option<PcbId> {
        let mut best: Option<(u32, PcbId)> = None;
        for (&id, p) in &self.pcbs {
            if Some(id) == skip
                || p.proto != proto
                || !p.in_port_list
                || p.detached
                || p.local.port != port
                || !p.sees(laddr)
            {
                continue;
            }
            let mut w = 0;
            if p.foreign.is_some() {
                w += 1;
            }
            if p.laddr_is_any() {
                if !addr::is_any(laddr) {
                    w += 1;
                }
            } else if addr::is_any(laddr) {
                w += 1;
            } else if p.local.addr != *laddr {
                continue;
            }
            if w > 0 && !wild {
                continue;
            }
            if best.is_none_or(|(bw, _)| w < bw) {
                best = Some((w, id));
                if w == 0 {
                    break;
                }
            }
        }
        best.map(|(_, id)| id)
    }

    /// `in_pcbbind`: binds `id` to `want` (None: the wildcard address and an
    /// ephemeral port, as connect/listen/sendto bind an unbound socket).
    /// Order of checks: a bound PCB EINVAL; a non-wildcard address must be
    /// the host's (EADDRNOTAVAIL); port 0 picks an ephemeral port; a fixed
    /// port fails EADDRINUSE when `in_pcblookup_port` (wildcards allowed
    /// unless the new socket has SO_REUSEADDR) finds a PCB whose options
    /// share none of the new socket's SO_REUSEPORT bit (multicast: either
    /// SO_REUSE* counts).
    pub fn bind(&mut self, id: PcbId, want: Option<Endpoint>, env: &mut dyn NetEnv) -> Result<(), i32> {
        let p = self.pcbs.get(&id).ok_or(EINVAL)?;
        if p.detached || p.local.port != 0 || !p.laddr_is_any() {
            return Err(EINVAL);
        }
        let (family, proto, opts) = (p.family, p.proto, p.so_options);
        let mut want = want.unwrap_or(Endpoint {
            addr: addr::any(family),
            port: 0,
        });
        if family == Family::V6 && addr::is_v4(&want.addr) && p.v6only {
            // in6_pcbbind: a v4-mapped address on a V6ONLY socket.
            return Err(EADDRNOTAVAIL);
        }
        if family == Family::V4 && !addr::is_v4(&want.addr) {
            return Err(EAFNOSUPPORT);
        }
        let multicast = want.addr.is_multicast()
            || addr::as_v4(&want.addr).is_some_and(|a| a.is_multicast());
        if !addr::is_any(&want.addr) && !multicast && !env.is_local(&want.addr) {
            return Err(EADDRNOTAVAIL);
        }
        if want.port == 0 {
            want.port = self.ephemeral(proto, &want.addr, env)?;
        } else {
            let mut reuseport = opts & SO_REUSEPORT;
            if multicast && opts & (SO_REUSEADDR | SO_REUSEPORT) != 0 {
                reuseport = SO_REUSEADDR | SO_REUSEPORT;
            }
            let wild = opts & SO_REUSEADDR == 0;
            if let Some(t) = self.lookup_port(proto, &want.addr, want.port, wild, Some(id)) {
                let topts = self.pcbs.get(&t).map_or(0, |t| t.so_options);
                if reuseport & topts == 0 {
                    return Err(EADDRINUSE);
                }
            }
        }
        let p = self.pcbs.get_mut(&id).ok_or(EINVAL)?;
        p.local = want;
        p.in_port_list = true;
        Ok(())
    }

    /// portalgo.c `algo_random_start`: a random port in ANON_MIN..=ANON_MAX,
    /// then the next ones (wrapping) until one no PCB of the protocol holds
    /// for `laddr` (wildcards count). EINVAL when every port is taken.
    pub fn ephemeral(&self, proto: Proto, laddr: &Ipv6Addr, env: &mut dyn NetEnv) -> Result<u16, i32> {
        let n = u32::from(ANON_MAX - ANON_MIN) + 1;
        let mut port = ANON_MIN as u32 + env.random() % n;
        for _ in 0..n {
            let p = port as u16;
            if self.lookup_port(proto, laddr, p, true, None).is_none() {
                return Ok(p);
            }
            port = if p == ANON_MAX { ANON_MIN as u32 } else { port + 1 };
        }
        Err(EINVAL)
    }

    /// The PCB a packet of `proto` from `src` to `dst` is delivered to
    /// (`in_pcblookup_connect`, then `in_pcblookup_bind`): a connected PCB
    /// with exactly this 4-tuple first, then an unconnected one bound to
    /// `dst` or the wildcard (the specific address preferred). `want` filters
    /// candidates (a TCP SYN only reaches listeners).
    pub fn deliver_to(
        &self,
        proto: Proto,
        src: &Endpoint,
        dst: &Endpoint,
        want: &dyn Fn(&Pcb) -> bool,
    ) -> Option<PcbId> {
        let mut wildcard = None;
        for (&id, p) in &self.pcbs {
            if p.proto != proto || p.detached || p.local.port != dst.port || !p.sees(&dst.addr) || !want(p) {
                continue;
            }
            match &p.foreign {
                Some(f) => {
                    if f == src && p.local.addr == dst.addr {
                        return Some(id);
                    }
                }
                None => {
                    if p.local.addr == dst.addr {
                        wildcard = Some((0, id));
                    } else if p.laddr_is_any() && wildcard.is_none() {
                        wildcard = Some((1, id));
                    }
                }
            }
        }
        wildcard.map(|(_, id)| id)
    }
}

/// `in_pcbconnect`'s checks on a destination, shared by TCP connect and
/// UDP connect/sendto: port 0 EADDRNOTAVAIL; INADDR_ANY (and ::) means the
/// first local address (127.0.0.1, ::1); a destination with no route
/// EADDRNOTAVAIL when the source address is still to be chosen (in_selectsrc
/// finds nothing; 255.255.255.255 without a broadcast interface is such a
/// destination). Returns the destination and the source address to use.
pub fn connect_target(p: &Pcb, dst: Endpoint, env: &dyn NetEnv) -> Result<(Endpoint, Ipv6Addr), i32> {
    if dst.port == 0 {
        return Err(EADDRNOTAVAIL);
    }
    let mut dst = dst;
    if p.family == Family::V6 && addr::is_v4(&dst.addr) && p.v6only {
        // in6_pcbconnect: a v4-mapped destination on a V6ONLY socket.
        return Err(EINVAL);
    }
    if dst.addr == addr::V4_ANY {
        dst.addr = addr::v4(std::net::Ipv4Addr::LOCALHOST);
    } else if dst.addr == addr::V6_ANY {
        dst.addr = Ipv6Addr::LOCALHOST;
    }
    if p.proto == Proto::Tcp && addr::is_broadcast_or_multicast(&dst.addr) && !addr::is_v4(&dst.addr) {
        return Err(EADDRNOTAVAIL);
    }
    let src = if addr::is_any(&p.local.addr) {
        if !env.has_route(&dst.addr) {
            return Err(EADDRNOTAVAIL);
        }
        // The outgoing interface's address: on loopback the destination
        // itself when it is local.
        if env.is_local(&dst.addr) {
            dst.addr
        } else if addr::is_v4(&dst.addr) {
            addr::v4(std::net::Ipv4Addr::LOCALHOST)
        } else {
            Ipv6Addr::LOCALHOST
        }
    } else {
        p.local.addr
    };
    Ok((dst, src))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    struct Env(u32);
    impl NetEnv for Env {
        fn is_local(&self, a: &Ipv6Addr) -> bool {
            *a == addr::v4(Ipv4Addr::LOCALHOST) || *a == Ipv6Addr::LOCALHOST
        }
        fn random(&mut self) -> u32 {
            self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12345);
            self.0
        }
    }

    fn ep(a: [u8; 4], port: u16) -> Endpoint {
        Endpoint {
            addr: addr::v4(Ipv4Addr::from(a)),
            port,
        }
    }

    fn tcp(t: &mut Table, opts: u32) -> PcbId {
        let mut p = Pcb::new(Family::V4, Proto::Tcp, 32768, 32768);
        p.so_options = opts;
        t.insert(p)
    }

    #[test]
    fn bind_rules_match_the_capture() {
        let mut env = Env(1);
        let mut t = Table::default();
        let l = tcp(&mut t, SO_REUSEADDR);
        assert_eq!(t.bind(l, Some(ep([127, 0, 0, 1], 7777)), &mut env), Ok(()));
        // Bound again: EINVAL.
        assert_eq!(t.bind(l, Some(ep([127, 0, 0, 1], 7778)), &mut env), Err(EINVAL));
        let n = tcp(&mut t, 0);
        assert_eq!(t.bind(n, Some(ep([127, 0, 0, 1], 7777)), &mut env), Err(EADDRINUSE));
        assert_eq!(t.bind(n, Some(ep([0, 0, 0, 0], 7777)), &mut env), Err(EADDRINUSE));
        let r = tcp(&mut t, SO_REUSEADDR);
        assert_eq!(t.bind(r, Some(ep([127, 0, 0, 1], 7777)), &mut env), Err(EADDRINUSE));
        assert_eq!(t.bind(r, Some(ep([0, 0, 0, 0], 7777)), &mut env), Ok(()));
        let x = tcp(&mut t, 0);
        assert_eq!(t.bind(x, Some(ep([127, 0, 0, 2], 0)), &mut env), Err(EADDRNOTAVAIL));
        assert_eq!(t.bind(x, Some(ep([10, 1, 2, 3], 0)), &mut env), Err(EADDRNOTAVAIL));
        assert_eq!(t.bind(x, Some(ep([127, 0, 0, 1], 80)), &mut env), Ok(()));
    }

    #[test]
    fn accepted_pcbs_do_not_block_a_bind() {
        let mut env = Env(2);
        let mut t = Table::default();
        let mut acc = Pcb::new(Family::V4, Proto::Tcp, 1, 1);
        acc.local = ep([127, 0, 0, 1], 7778);
        acc.foreign = Some(ep([127, 0, 0, 1], 50000));
        t.insert(acc);
        let n = tcp(&mut t, 0);
        assert_eq!(t.bind(n, Some(ep([127, 0, 0, 1], 7778)), &mut env), Ok(()));
    }

    #[test]
    fn udp_reuse_on_the_new_socket_only_is_not_enough() {
        let mut env = Env(3);
        let mut t = Table::default();
        let u = t.insert(Pcb::new(Family::V4, Proto::Udp, 9216, 41600));
        assert_eq!(t.bind(u, Some(ep([127, 0, 0, 1], 5555)), &mut env), Ok(()));
        let mut p = Pcb::new(Family::V4, Proto::Udp, 9216, 41600);
        p.so_options = SO_REUSEADDR | SO_REUSEPORT;
        let x = t.insert(p);
        assert_eq!(t.bind(x, Some(ep([127, 0, 0, 1], 5555)), &mut env), Err(EADDRINUSE));
        // A TCP PCB on the same port is no conflict.
        let c = tcp(&mut t, 0);
        assert_eq!(t.bind(c, Some(ep([127, 0, 0, 1], 5555)), &mut env), Ok(()));
    }

    #[test]
    fn ephemeral_ports_are_random_in_range_and_free() {
        let mut env = Env(4);
        let mut t = Table::default();
        let mut seen = Vec::new();
        for _ in 0..50 {
            let s = tcp(&mut t, 0);
            t.bind(s, None, &mut env).unwrap();
            let port = t.pcbs[&s].local.port;
            assert!(port >= ANON_MIN);
            assert!(!seen.contains(&port));
            seen.push(port);
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        assert_ne!(sorted, seen, "not sequential");
    }

    #[test]
    fn connect_target_errors() {
        let env = Env(5);
        let p = Pcb::new(Family::V4, Proto::Tcp, 1, 1);
        assert_eq!(connect_target(&p, ep([127, 0, 0, 1], 0), &env), Err(EADDRNOTAVAIL));
        assert_eq!(connect_target(&p, ep([10, 1, 2, 3], 7777), &env), Err(EADDRNOTAVAIL));
        assert_eq!(connect_target(&p, ep([255, 255, 255, 255], 7777), &env), Err(EADDRNOTAVAIL));
        let (d, s) = connect_target(&p, ep([0, 0, 0, 0], 7777), &env).unwrap();
        assert_eq!(d, ep([127, 0, 0, 1], 7777));
        assert_eq!(s, addr::v4(Ipv4Addr::LOCALHOST));
        let mut m = Pcb::new(Family::V6, Proto::Tcp, 1, 1);
        assert_eq!(connect_target(&m, ep([127, 0, 0, 1], 7777), &env), Err(EINVAL));
        m.v6only = false;
        assert!(connect_target(&m, ep([127, 0, 0, 1], 7777), &env).is_ok());
    }
}
