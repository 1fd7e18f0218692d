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

use std::net::Ipv6Addr;

use super::addr::{self, Endpoint, Family};
use super::errno::{EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EINVAL};

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

/// The TCP control block: what the model keeps of `struct tcpcb` (the
/// data itself is in the socket's buffers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpCb {
    /// The state.
    pub state: TcpState,
    /// The socket at the other end, while it exists.
    pub peer: Option<PcbId>,
    /// A FIN is to follow the data still in the send buffer.
    pub fin_pending: bool,
    /// Made by a listener's SYN handling and not yet accepted.
    pub embryonic: bool,
    /// TCP_NODELAY (TF_NODELAY).
    pub nodelay: bool,
    /// The urgent byte taken out of band (`t_iobc`, TCPOOB_HAVEDATA).
    pub oob: Option<u8>,
}

/// The TCP states the model tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcpState {
    /// Not connected (a new socket, or a dead connection).
    #[default]
    Closed,
    /// listen(2) was called.
    Listen,
    /// Connected (also after a FIN either way).
    Established,
}

/// One protocol control block (inpcb / in6pcb with its TCP state).
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// IPV6_V6ONLY (v6 sockets; default 1, net.inet6.ip6.v6only).
    pub v6only: bool,
    /// IP_TTL (ip_defttl 64).
    pub ttl: i32,
    /// IP_TOS.
    pub tos: i32,
    /// TCP state (TCP PCBs).
    pub tcp: TcpCb,
}

impl Pcb {
    /// A fresh, unbound PCB.
    pub fn new(family: Family, proto: Proto) -> Pcb {
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
            v6only: true,
            ttl: 64,
            tos: 0,
            tcp: TcpCb::default(),
        }
    }

    /// Whether this PCB's family matches the packet family of `a` for the
    /// port lookups of `in_pcblookup_port` (v4 PCBs see v4 addresses, v6
    /// PCBs v6 ones; a v6 PCB that is not V6ONLY and bound to :: or a
    /// v4-mapped address also sees v4, as in6_pcblookup_port's mapped case).
    fn sees(&self, a: &Ipv6Addr) -> bool {
        match self.family {
            Family::V4 => addr::is_v4(a),
            Family::V6 if addr::is_v4(a) => {
                !self.v6only && (self.local.addr == addr::V6_ANY || addr::is_v4(&self.local.addr))
            }
            Family::V6 => !addr::is_v4(&self.local.addr),
        }
    }

    /// Whether the local address is a wildcard.
    fn laddr_is_any(&self) -> bool {
        addr::is_any(&self.local.addr)
    }
}

/// One PCB as the lookups see it: its socket's id and SO_* options.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The socket's id.
    pub id: PcbId,
    /// The PCB.
    pub pcb: &'a Pcb,
    /// The socket's `so_options`.
    pub options: u32,
}

/// `in_pcblookup_port`: the PCB of `proto` in the port list with local port
/// `port` that best matches `laddr` (fewest wildcards: a connected PCB
/// counts one, a wildcard on either side one; a different specific address
/// is no match). With `wild` false only exact matches count.
pub fn lookup_port(
    v: &[View],
    proto: Proto,
    laddr: &Ipv6Addr,
    port: u16,
    wild: bool,
    skip: Option<PcbId>,
) -> Option<PcbId> {
    let mut best: Option<(u32, PcbId)> = None;
    for x in v {
        let p = x.pcb;
        if Some(x.id) == skip
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
            best = Some((w, x.id));
            if w == 0 {
                break;
            }
        }
    }
    best.map(|(_, id)| id)
}

/// `in_pcbbind` / `in6_pcbbind` for the PCB `me` (in `v`): the local name
/// it gets for `want` (None: the wildcard address and an ephemeral port,
/// as connect/listen/sendto bind an unbound socket). Order of checks: a
/// bound PCB EINVAL; a v4-mapped address on a V6ONLY socket and a
/// non-wildcard address that is not the host's EADDRNOTAVAIL; port 0 picks
/// an ephemeral port; a fixed port fails EADDRINUSE when
/// `in_pcblookup_port` (wildcards allowed unless the new socket has
/// SO_REUSEADDR) finds a PCB whose options share none of the new socket's
/// SO_REUSEPORT bit (for multicast either SO_REUSE* counts). The caller
/// stores the result and sets `in_port_list`.
pub fn bind(
    v: &[View],
    me: PcbId,
    want: Option<Endpoint>,
    env: &mut dyn NetEnv,
) -> Result<Endpoint, i32> {
    let x = v.iter().find(|x| x.id == me).ok_or(EINVAL)?;
    let p = x.pcb;
    if p.detached || p.local.port != 0 || !p.laddr_is_any() {
        return Err(EINVAL);
    }
    let mut want = want.unwrap_or(Endpoint {
        addr: addr::any(p.family),
        port: 0,
    });
    if p.family == Family::V4 && !addr::is_v4(&want.addr) {
        return Err(EAFNOSUPPORT);
    }
    if p.family == Family::V6 && addr::is_v4(&want.addr) && p.v6only {
        return Err(EADDRNOTAVAIL);
    }
    let multicast = addr::as_v4(&want.addr).map_or(want.addr.is_multicast(), |a| a.is_multicast());
    if !addr::is_any(&want.addr) && !multicast && !env.is_local(&want.addr) {
        return Err(EADDRNOTAVAIL);
    }
    if want.port == 0 {
        want.port = ephemeral(v, p.proto, &want.addr, env)?;
        return Ok(want);
    }
    let mut reuseport = x.options & SO_REUSEPORT;
    if multicast && x.options & (SO_REUSEADDR | SO_REUSEPORT) != 0 {
        reuseport = SO_REUSEADDR | SO_REUSEPORT;
    }
    let wild = x.options & SO_REUSEADDR == 0;
    if let Some(t) = lookup_port(v, p.proto, &want.addr, want.port, wild, Some(me)) {
        let topts = v.iter().find(|y| y.id == t).map_or(0, |y| y.options);
        if reuseport & topts == 0 {
            return Err(EADDRINUSE);
        }
    }
    Ok(want)
}

/// portalgo.c `algo_random_start`: a random port in ANON_MIN..=ANON_MAX,
/// then the next ones (wrapping) until one no PCB of the protocol holds
/// for `laddr` (wildcards count). EINVAL when every port is taken.
pub fn ephemeral(
    v: &[View],
    proto: Proto,
    laddr: &Ipv6Addr,
    env: &mut dyn NetEnv,
) -> Result<u16, i32> {
    let n = u32::from(ANON_MAX - ANON_MIN) + 1;
    let mut port = u32::from(ANON_MIN) + env.random() % n;
    for _ in 0..n {
        let p = port as u16;
        if lookup_port(v, proto, laddr, p, true, None).is_none() {
            return Ok(p);
        }
        port = if p == ANON_MAX {
            u32::from(ANON_MIN)
        } else {
            port + 1
        };
    }
    Err(EINVAL)
}

/// The PCB a packet of `proto` from `src` to `dst` is delivered to
/// (`in_pcblookup_connect`, then `in_pcblookup_bind`): a connected PCB
/// with exactly this 4-tuple first, then an unconnected one bound to `dst`,
/// then one bound to the wildcard. `want` filters candidates (a SYN only
/// reaches listeners).
pub fn deliver_to(
    v: &[View],
    proto: Proto,
    src: &Endpoint,
    dst: &Endpoint,
    want: &dyn Fn(&View) -> bool,
) -> Option<PcbId> {
    let mut bound = None;
    let mut wildcard = None;
    for x in v {
        let p = x.pcb;
        if p.proto != proto
            || p.detached
            || p.local.port != dst.port
            || !p.sees(&dst.addr)
            || !want(x)
        {
            continue;
        }
        match &p.foreign {
            Some(f) if f == src && p.local.addr == dst.addr => return Some(x.id),
            Some(_) => {}
            None if p.local.addr == dst.addr => bound = bound.or(Some(x.id)),
            None if p.laddr_is_any() => wildcard = wildcard.or(Some(x.id)),
            None => {}
        }
    }
    bound.or(wildcard)
}

/// `in_pcbconnect`'s checks on a destination, shared by TCP connect and
/// UDP connect/sendto: port 0 EADDRNOTAVAIL; INADDR_ANY (and ::) means the
/// first local address (127.0.0.1, ::1); a destination with no route
/// EADDRNOTAVAIL when the source address is still to be chosen (in_selectsrc
/// finds nothing; 255.255.255.255 without a broadcast interface is such a
/// destination). Returns the destination and the source address to use.
pub fn connect_target(
    p: &Pcb,
    dst: Endpoint,
    env: &dyn NetEnv,
) -> Result<(Endpoint, Ipv6Addr), i32> {
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
    if p.proto == Proto::Tcp
        && addr::is_broadcast_or_multicast(&dst.addr)
        && !addr::is_v4(&dst.addr)
    {
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
            self.0 >> 8
        }
    }

    fn ep(a: [u8; 4], port: u16) -> Endpoint {
        Endpoint {
            addr: addr::v4(Ipv4Addr::from(a)),
            port,
        }
    }

    /// PCBs with their options, as the socket table holds them.
    #[derive(Default)]
    struct T(Vec<(Pcb, u32)>);

    impl T {
        fn add(&mut self, proto: Proto, opts: u32) -> PcbId {
            self.0.push((Pcb::new(Family::V4, proto), opts));
            self.0.len() as PcbId - 1
        }
        fn bind(&mut self, id: PcbId, want: Option<Endpoint>, env: &mut Env) -> Result<(), i32> {
            let v: Vec<View> = self
                .0
                .iter()
                .enumerate()
                .map(|(i, (p, o))| View {
                    id: i as PcbId,
                    pcb: p,
                    options: *o,
                })
                .collect();
            let e = bind(&v, id, want, env)?;
            let p = &mut self.0[id as usize].0;
            p.local = e;
            p.in_port_list = true;
            Ok(())
        }
    }

    #[test]
    fn bind_rules_match_the_capture() {
        let mut env = Env(1);
        let mut t = T::default();
        let l = t.add(Proto::Tcp, SO_REUSEADDR);
        assert_eq!(t.bind(l, Some(ep([127, 0, 0, 1], 7777)), &mut env), Ok(()));
        assert_eq!(
            t.bind(l, Some(ep([127, 0, 0, 1], 7778)), &mut env),
            Err(EINVAL)
        );
        let n = t.add(Proto::Tcp, 0);
        assert_eq!(
            t.bind(n, Some(ep([127, 0, 0, 1], 7777)), &mut env),
            Err(EADDRINUSE)
        );
        assert_eq!(
            t.bind(n, Some(ep([0, 0, 0, 0], 7777)), &mut env),
            Err(EADDRINUSE)
        );
        let r = t.add(Proto::Tcp, SO_REUSEADDR);
        assert_eq!(
            t.bind(r, Some(ep([127, 0, 0, 1], 7777)), &mut env),
            Err(EADDRINUSE)
        );
        assert_eq!(t.bind(r, Some(ep([0, 0, 0, 0], 7777)), &mut env), Ok(()));
        let x = t.add(Proto::Tcp, 0);
        assert_eq!(
            t.bind(x, Some(ep([127, 0, 0, 2], 0)), &mut env),
            Err(EADDRNOTAVAIL)
        );
        assert_eq!(
            t.bind(x, Some(ep([10, 1, 2, 3], 0)), &mut env),
            Err(EADDRNOTAVAIL)
        );
        assert_eq!(t.bind(x, Some(ep([127, 0, 0, 1], 80)), &mut env), Ok(()));
    }

    #[test]
    fn pcbs_outside_the_port_list_do_not_block_a_bind() {
        let mut env = Env(2);
        let mut t = T::default();
        let a = t.add(Proto::Tcp, 0);
        t.0[a as usize].0.local = ep([127, 0, 0, 1], 7778);
        t.0[a as usize].0.foreign = Some(ep([127, 0, 0, 1], 50000));
        let n = t.add(Proto::Tcp, 0);
        assert_eq!(t.bind(n, Some(ep([127, 0, 0, 1], 7778)), &mut env), Ok(()));
    }

    #[test]
    fn udp_reuse_on_the_new_socket_only_is_not_enough() {
        let mut env = Env(3);
        let mut t = T::default();
        let u = t.add(Proto::Udp, 0);
        assert_eq!(t.bind(u, Some(ep([127, 0, 0, 1], 5555)), &mut env), Ok(()));
        let x = t.add(Proto::Udp, SO_REUSEADDR | SO_REUSEPORT);
        assert_eq!(
            t.bind(x, Some(ep([127, 0, 0, 1], 5555)), &mut env),
            Err(EADDRINUSE)
        );
        let c = t.add(Proto::Tcp, 0);
        assert_eq!(t.bind(c, Some(ep([127, 0, 0, 1], 5555)), &mut env), Ok(()));
        // Both with SO_REUSEPORT: shared.
        t.0[u as usize].1 = SO_REUSEPORT;
        let y = t.add(Proto::Udp, SO_REUSEPORT);
        assert_eq!(t.bind(y, Some(ep([127, 0, 0, 1], 5555)), &mut env), Ok(()));
    }

    #[test]
    fn ephemeral_ports_are_random_in_range_and_free() {
        let mut env = Env(4);
        let mut t = T::default();
        let mut seen = Vec::new();
        for _ in 0..50 {
            let s = t.add(Proto::Tcp, 0);
            t.bind(s, None, &mut env).unwrap();
            let port = t.0[s as usize].0.local.port;
            assert!(port >= ANON_MIN);
            assert!(!seen.contains(&port));
            seen.push(port);
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        assert_ne!(sorted, seen, "not sequential");
    }

    #[test]
    fn delivery_prefers_the_4_tuple_then_the_bound_address() {
        let mut t = T::default();
        let w = t.add(Proto::Udp, 0);
        t.0[w as usize].0.local = ep([0, 0, 0, 0], 9);
        let b = t.add(Proto::Udp, 0);
        t.0[b as usize].0.local = ep([127, 0, 0, 1], 9);
        let c = t.add(Proto::Udp, 0);
        t.0[c as usize].0.local = ep([127, 0, 0, 1], 9);
        t.0[c as usize].0.foreign = Some(ep([127, 0, 0, 1], 1000));
        let v: Vec<View> =
            t.0.iter()
                .enumerate()
                .map(|(i, (p, o))| View {
                    id: i as PcbId,
                    pcb: p,
                    options: *o,
                })
                .collect();
        let all = |_: &View| true;
        assert_eq!(
            deliver_to(
                &v,
                Proto::Udp,
                &ep([127, 0, 0, 1], 1000),
                &ep([127, 0, 0, 1], 9),
                &all
            ),
            Some(c)
        );
        assert_eq!(
            deliver_to(
                &v,
                Proto::Udp,
                &ep([127, 0, 0, 1], 1001),
                &ep([127, 0, 0, 1], 9),
                &all
            ),
            Some(b)
        );
        assert_eq!(
            deliver_to(
                &v,
                Proto::Tcp,
                &ep([127, 0, 0, 1], 1001),
                &ep([127, 0, 0, 1], 9),
                &all
            ),
            None
        );
    }

    #[test]
    fn connect_target_errors() {
        let env = Env(5);
        let p = Pcb::new(Family::V4, Proto::Tcp);
        assert_eq!(
            connect_target(&p, ep([127, 0, 0, 1], 0), &env),
            Err(EADDRNOTAVAIL)
        );
        assert_eq!(
            connect_target(&p, ep([10, 1, 2, 3], 7777), &env),
            Err(EADDRNOTAVAIL)
        );
        assert_eq!(
            connect_target(&p, ep([255, 255, 255, 255], 7777), &env),
            Err(EADDRNOTAVAIL)
        );
        let (d, s) = connect_target(&p, ep([0, 0, 0, 0], 7777), &env).unwrap();
        assert_eq!(d, ep([127, 0, 0, 1], 7777));
        assert_eq!(s, addr::v4(Ipv4Addr::LOCALHOST));
        let mut m = Pcb::new(Family::V6, Proto::Tcp);
        assert_eq!(
            connect_target(&m, ep([127, 0, 0, 1], 7777), &env),
            Err(EINVAL)
        );
        m.v6only = false;
        assert!(connect_target(&m, ep([127, 0, 0, 1], 7777), &env).is_ok());
    }
}
