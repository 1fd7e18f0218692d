//! The `net.*` sysctl nodes the network components create (the vfs-only
//! walk in `data/sysctl_walk_nodes.txt` has an empty `net`). Names, numbers,
//! flags and sizes are those the net_ifconfig capture's CTL_QUERY of net,
//! net.inet and net.inet.udp shows; values those its reads show
//! (conformance/traces/net/README.md).
//!
//! The nodes the network libraries' SYSCTL_SETUP functions create run
//! before librump's (`sysctl_boot.rs`): net.sdl, net.ether and
//! net.ether.multicast (NetBSD net/if_ethersubr.c sysctl_net_ether_setup);
//! their versions (14, 15, 16) and dynamic numbers (1025, 1026) follow by
//! rule and match the capture. Of the nodes the components' init creates
//! (domains, protocols, lo0), the setup functions below the nodes the
//! captures query are transcribed call by call (`Named` tables: tcp, ip,
//! icmp, igmp, carp, raw, arp, local, route, the ifq nodes, lo0's sndq,
//! net.inet6's children), so every child count and array size the
//! captures show follows; the grandchildren of net.inet6 are not, nor is
//! the exact creation order across setup functions, so the versions and
//! dynamic numbers of the rows of [`ROWS`] are still the observed ones
//! ([`with_net_nodes`]), not derived.
//! librumpnet makes net.local, net.route and net.oroute (rtsock.c
//! sysctl_net_route_setup), net.sdl, net.ether and net.interfaces; netinet
//! makes net.inet and net.inet6 (tcp_usrreq.c creates net.inet6.tcp6 too);
//! netinet6 makes net.inet6.ip6.

use crate::components::{Component, Components};
use crate::sysctl::{
    Dynamic, SNode, Tree, CTLTYPE_INT, CTLTYPE_NODE, CTLTYPE_STRING, CTLTYPE_STRUCT, SYSCTL_VERSION,
};
use crate::sysctl_boot::{Creation, Phase};

/// Which component a node comes with, and whether a SYSCTL_SETUP
/// function of its library (`NetSetup`) or the component's init creates it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    NetSetup,
    Net,
    Inet,
    Inet6,
}

/// (parent path under net, name, num, type, flags, ver, csize or size, value, needs)
type Row = (
    &'static [i32],
    &'static str,
    i32,
    u32,
    u32,
    u32,
    u32,
    i32,
    Needs,
);

const NODE: u32 = CTLTYPE_NODE;
const INT: u32 = CTLTYPE_INT;
const STRUCT: u32 = CTLTYPE_STRUCT;
/// CTLFLAG_PERMANENT | CTLFLAG_READWRITE, as the udp leaves have it.
const RW: u32 = 0x272 & !0xf;

const ROWS: &[Row] = &[
    (&[], "local", 1, NODE, 0x001, 131, 8, 0, Needs::Net),
    (&[], "inet", 2, NODE, 0x201, 393, 16, 0, Needs::Net),
    (&[], "oroute", 17, NODE, 0x201, 403, 8, 0, Needs::Net),
    (&[], "inet6", 24, NODE, 0x201, 397, 8, 0, Needs::Net),
    (&[], "route", 34, NODE, 0x201, 400, 8, 0, Needs::Net),
    // SYSCTL_SETUP nodes first, in creation order (versions by rule).
    (&[], "sdl", 1025, NODE, 0x201, 0, 0, 0, Needs::NetSetup),
    (&[], "ether", 1026, NODE, 0x201, 0, 8, 0, Needs::NetSetup),
    // Not in any capture's CTL_QUERY: NetBSD if_ethersubr.c
    // sysctl_net_ether_setup creates it with CTLFLAG_PERMANENT.
    (
        &[1026],
        "multicast",
        1027,
        NODE,
        0x200,
        0,
        0,
        0,
        Needs::NetSetup,
    ),
    (&[], "interfaces", 1156, NODE, 0x001, 431, 8, 0, Needs::Net),
    // net.route.rtable / net.oroute.rtable: sysctl_rtable
    (&[34], "rtable", 0, NODE, 0x200, 398, 0, 0, Needs::Net),
    (&[17], "rtable", 0, NODE, 0x200, 401, 0, 0, Needs::Net),
    (&[2], "ip", 0, NODE, 0x201, 393, 32, 0, Needs::Inet),
    (&[2], "icmp", 1, NODE, 0x201, 379, 8, 0, Needs::Inet),
    (&[2], "igmp", 2, NODE, 0x201, 387, 8, 0, Needs::Inet),
    (&[2], "tcp", 6, NODE, 0x201, 242, 64, 0, Needs::Inet),
    (&[2], "udp", 17, NODE, 0x201, 371, 8, 0, Needs::Inet),
    (&[2], "carp", 112, NODE, 0x201, 385, 8, 0, Needs::Inet),
    (&[2], "raw", 255, NODE, 0x201, 389, 8, 0, Needs::Inet),
    (&[2], "arp", 1132, NODE, 0x201, 336, 8, 0, Needs::Inet),
    (&[2], "multicast", 1141, NODE, 0x201, 337, 0, 0, Needs::Inet),
    (&[2, 17], "checksum", 1, INT, RW, 366, 4, 1, Needs::Inet),
    (&[2, 17], "sendspace", 2, INT, RW, 367, 4, 9216, Needs::Inet),
    (
        &[2, 17],
        "recvspace",
        3,
        INT,
        RW,
        368,
        4,
        41600,
        Needs::Inet,
    ),
    (
        &[2, 17],
        "do_loopback_cksum",
        4,
        INT,
        RW,
        369,
        4,
        0,
        Needs::Inet,
    ),
    (&[2, 17], "stats", 5, STRUCT, 0x200, 371, 0, 0, Needs::Inet),
    (
        &[2, 17],
        "pcblist",
        1147,
        STRUCT,
        0x200,
        370,
        0,
        0,
        Needs::Inet,
    ),
    (&[24], "ip6", 41, NODE, 0x201, 0, 32, 0, Needs::Inet6),
    (&[24, 41], "forwarding", 1, INT, RW, 0, 4, 0, Needs::Inet6),
];

fn node(name: &str, num: i32, ty: u32, flags: u32, ver: u32, size: u32, value: i32) -> SNode {
    let is_node = ty == CTLTYPE_NODE;
    SNode {
        name: name.to_owned(),
        num,
        flags: SYSCTL_VERSION | flags | ty,
        size: if is_node { 96 } else { u64::from(size) },
        ver,
        value: if ty == CTLTYPE_INT {
            value.to_le_bytes().to_vec()
        } else {
            vec![]
        },
        dynamic: if name == "rtable" {
            Some(Dynamic::Rtable)
        } else {
            None
        },
        // Reading a statistics struct is not modelled.
        needs_more: ty == CTLTYPE_STRUCT,
        probe_len: None,
        read_len: None,
        children: vec![],
        csize: 0,
        min_write: None,
    }
}

/// (parent under kern, name, num, type, flags, value, smallest new value
/// the handler accepts).
type KernRow = (
    &'static [i32],
    &'static str,
    i32,
    u32,
    u32,
    i32,
    Option<i32>,
);

/// The kern.* nodes librumpnet's init creates before the domains
/// (NetBSD sys/rump/net/librumpnet/rump_net.c: mbinit, then soinit), in
/// creation order: (parent under kern, name, num, type, flags, value).
/// uipc_mbuf.c 1.163 sysctl_kern_mbuf_setup (no MBUFTRACE): KERN_MBUF 39
/// and MBUF_MSIZE 1 … MBUF_STATS 6; uipc_socket.c sysctl_kern_socket_setup:
/// KERN_SOMAXKVA 73, KERN_SBMAX 58. The nofs capture's kern has 29
/// children: the file-system kernel's 27, less kern.buf, plus these three.
/// Values: MSIZE 512 and MCLBYTES 2048 (amd64); nmbclusters
/// MAX(1024, physmem / MCLBYTES / 16) for the 512 MB of hw.physmem, 16384
/// (its cap, nmbclusters_limit, not confirmed for rump); MBLOWAT 16,
/// MCLLOWAT 8; SOMAXKVA 16 MB; SB_MAX 256 KB. No capture reads them.
const KERN_ROWS: &[KernRow] = &[
    (&[], "mbuf", 39, NODE, 0x200, 0, None),
    (&[39], "msize", 1, INT, 0xa00, 512, None),
    (&[39], "mclbytes", 2, INT, 0xa00, 2048, None),
    // sysctl_kern_mbuf: EINVAL below 0, and nmbclusters below its
    // current value (or above nmbclusters_limit(), not modelled).
    (&[39], "nmbclusters", 3, INT, RW, 16384, Some(16384)),
    (&[39], "mblowat", 4, INT, RW, 16, Some(0)),
    (&[39], "mcllowat", 5, INT, RW, 8, Some(0)),
    (&[39], "stats", 6, STRUCT, 0x200, 0, None),
    // sysctl_kern_somaxkva: EINVAL below 16 MB.
    (
        &[],
        "somaxkva",
        73,
        INT,
        RW,
        16 * 1024 * 1024,
        Some(16 * 1024 * 1024),
    ),
    // sysctl_kern_sbmax → sb_max_set (uipc_socket2.c): EINVAL below 16 KB.
    (&[], "sbmax", 58, INT, RW, 256 * 1024, Some(16 * 1024)),
];

/// A node's value in a [`Named`] row.
#[derive(Clone, Copy)]
enum Val {
    /// A node, or a struct its handler computes (reading it is not modelled).
    None,
    /// An int.
    Int(i32),
    /// A string; `size` is its buffer (0: the string's length and NUL).
    Str(&'static str, u64),
    /// A struct of this many bytes, zero at boot.
    Zeros(u64),
}

/// The sequence numbers each row of [`ROWS`] spans (it and the setup
/// functions run with it).
const ROOM: u32 = 1000;

/// Marks a row created with CTL_CREATE (a dynamic number).
const DYN: i32 = -1;
/// CTLFLAG_PERMANENT.
const PERM: u32 = 0x200;
/// CTLFLAG_PERMANENT | CTLFLAG_IMMEDIATE.
const IMM: u32 = 0xa00;
const STR: u32 = CTLTYPE_STRING;

/// One sysctl_createv call of a setup function, by names: (parent path
/// below the function's base node, name, number or [`DYN`], type, flags
/// without the type, value).
type Named = (&'static [&'static str], &'static str, i32, u32, u32, Val);

/// NetBSD sys/netinet/tcp_usrreq.c sysctl_net_inet_tcp_setup2, in call
/// order, below net.<pf>.<tcpname> (the first row is that node; its parent
/// net.<pf> exists, so the function's create of it answers EEXIST). No
/// TCP_DEBUG (no debug, debx); the `#if 0` rows (syn_cache_interval,
/// rstratelimit) are left out. Numbers: netinet/tcp_var.h TCPCTL_*.
/// 44 children of tcp, as the net_ifconfig capture's CTL_QUERY of net.inet
/// shows (clen 44, csize 64). Values: the compiled defaults (tcp_subr.c,
/// tcp_input.c, tcp_sack.c, tcp_congctl.c, tcp_vtw.c; slow ticks at
/// PR_SLOWHZ 2, hz 100); sendspace and recvspace are confirmed by the
/// capture's reads, the others are not.
const TCP_SETUP: &[Named] = &[
    (&[], "", 6, NODE, PERM, Val::None),
    (&[], "rfc1323", 1, INT, RW, Val::Int(1)),
    (&[], "sendspace", 2, INT, RW, Val::Int(32768)),
    (&[], "recvspace", 3, INT, RW, Val::Int(32768)),
    (&[], "mssdflt", 4, INT, RW, Val::Int(536)),
    (&[], "minmss", DYN, INT, RW, Val::Int(216)),
    (&[], "msl", 33, INT, RW, Val::Int(30)),
    (&[], "syn_cache_limit", 5, INT, RW, Val::Int(10255)),
    (&[], "syn_bucket_limit", 6, INT, RW, Val::Int(105)),
    (&[], "init_win", 8, INT, RW, Val::Int(4)),
    (&[], "mss_ifmtu", 9, INT, RW, Val::Int(0)),
    (&[], "sack", 10, NODE, PERM, Val::None),
    (&[], "congctl", DYN, NODE, PERM, Val::None),
    (
        &["congctl"],
        "available",
        DYN,
        STR,
        PERM,
        Val::Str("reno newreno cubic", 0),
    ),
    (
        &["congctl"],
        "selected",
        DYN,
        STR,
        RW,
        Val::Str("newreno", 16),
    ),
    (&[], "win_scale", 11, INT, RW, Val::Int(1)),
    (&[], "timestamps", 12, INT, RW, Val::Int(1)),
    (&[], "compat_42", 13, INT, RW, Val::Int(0)),
    (&[], "cwm", 14, INT, RW, Val::Int(0)),
    (&[], "cwm_burstsize", 15, INT, RW, Val::Int(4)),
    (&[], "ack_on_push", 16, INT, RW, Val::Int(0)),
    (&[], "keepidle", 17, INT, RW, Val::Int(28800)),
    (&[], "keepintvl", 18, INT, RW, Val::Int(150)),
    (&[], "keepcnt", 19, INT, RW, Val::Int(8)),
    (&[], "slowhz", 20, INT, IMM, Val::Int(2)),
    (&[], "log_refused", 22, INT, RW, Val::Int(0)),
    (&[], "rstppslimit", 24, INT, RW, Val::Int(100)),
    (&[], "delack_ticks", 25, INT, RW, Val::Int(20)),
    (&[], "init_win_local", 26, INT, RW, Val::Int(4)),
    (&[], "ident", 27, STRUCT, RW, Val::None),
    (&[], "do_loopback_cksum", 28, INT, RW, Val::Int(0)),
    (&[], "pcblist", DYN, STRUCT, PERM, Val::None),
    (&[], "keepinit", DYN, INT, RW, Val::Int(150)),
    (&[], "recvbuf_auto", DYN, INT, RW, Val::Int(1)),
    (&[], "recvbuf_inc", DYN, INT, RW, Val::Int(16384)),
    (&[], "recvbuf_max", DYN, INT, RW, Val::Int(262144)),
    (&[], "sendbuf_auto", DYN, INT, RW, Val::Int(1)),
    (&[], "sendbuf_inc", DYN, INT, RW, Val::Int(8192)),
    (&[], "sendbuf_max", DYN, INT, RW, Val::Int(262144)),
    (&[], "ecn", DYN, NODE, PERM, Val::None),
    (&["ecn"], "enable", DYN, INT, RW, Val::Int(0)),
    (&["ecn"], "maxretries", DYN, INT, RW, Val::Int(1)),
    (&["sack"], "enable", DYN, INT, RW, Val::Int(1)),
    (&["sack"], "maxholes", DYN, INT, RW, Val::Int(32)),
    (&["sack"], "globalmaxholes", DYN, INT, RW, Val::Int(1024)),
    (&["sack"], "globalholes", DYN, INT, PERM, Val::Int(0)),
    (&[], "stats", 29, STRUCT, PERM, Val::None),
    (&[], "local_by_rtt", DYN, INT, RW, Val::Int(0)),
    (&[], "drop", 32, STRUCT, RW, Val::None),
    (&[], "iss_hash", DYN, INT, RW, Val::Int(1)),
    (&[], "abc", DYN, NODE, PERM, Val::None),
    (&["abc"], "enable", DYN, INT, RW, Val::Int(1)),
    (&["abc"], "aggressive", DYN, INT, RW, Val::Int(1)),
    (&[], "mslt", DYN, NODE, PERM, Val::None),
    (&["mslt"], "enable", DYN, INT, RW, Val::Int(1)),
    (&["mslt"], "loopback", DYN, INT, RW, Val::Int(2)),
    (&["mslt"], "local", DYN, INT, RW, Val::Int(10)),
    (&["mslt"], "remote", DYN, INT, RW, Val::Int(60)),
    (&["mslt"], "remote_threshold", DYN, INT, RW, Val::Int(6)),
    (&[], "vtw", DYN, NODE, PERM, Val::None),
    (&["vtw"], "enable", DYN, INT, RW, Val::Int(0)),
    (&["vtw"], "entries", DYN, INT, PERM, Val::Int(0)),
];

/// CTLTYPE_QUAD.
const QUAD: u32 = crate::sysctl::CTLTYPE_QUAD;

/// net.inet.ip's children, in creation order (ip_input.c 1.324 ip_init):
/// in.c in_sysctl_init (subnetsarelocal, hostzerobroadcast), then
/// ip_input.c sysctl_net_inet_ip_setup (no IPCTL_DEFMTU; NGIF and NGRE
/// are 0 in rump's netinet, opt/gif.h and gre.h being dummies; NARP set),
/// ip_reass.c sysctl_ip_reass_setup (maxfragpackets), ip_flow.c
/// ipflow_sysctl_init (rump's opt_gateway.h defines GATEWAY, which also
/// makes forwarding 1, as the capture reads); numbers netinet/in.h
/// IPCTL_*. With the ifq node (`IFQ_SETUP`) 24 children, as the
/// net_ifconfig capture's CTL_QUERY of net.inet shows (clen 24). Values:
/// the compiled defaults; forwarding and ttl are confirmed by the capture.
const IP_SETUP: &[Named] = &[
    (&[], "subnetsarelocal", 8, INT, RW, Val::Int(0)),
    (&[], "hostzerobroadcast", 14, INT, RW, Val::Int(1)),
    (&[], "forwarding", 1, INT, RW, Val::Int(1)),
    (&[], "redirect", 2, INT, RW, Val::Int(1)),
    (&[], "ttl", 3, INT, RW, Val::Int(64)),
    (&[], "forwsrcrt", 5, INT, RW, Val::Int(1)),
    (&[], "directed-broadcast", 6, INT, RW, Val::Int(0)),
    (&[], "allowsrcrt", 7, INT, RW, Val::Int(1)),
    (&[], "mtudisc", 9, INT, RW, Val::Int(1)),
    (&[], "anonportmin", 10, INT, RW, Val::Int(49152)),
    (&[], "anonportmax", 11, INT, RW, Val::Int(65535)),
    (&[], "mtudisctimeout", 12, INT, RW, Val::Int(600)),
    (&[], "lowportmin", 16, INT, RW, Val::Int(600)),
    (&[], "lowportmax", 17, INT, RW, Val::Int(1023)),
    (&[], "checkinterface", 20, INT, RW, Val::Int(0)),
    (&[], "random_id", 22, INT, RW, Val::Int(0)),
    (&[], "do_loopback_cksum", 23, INT, RW, Val::Int(0)),
    (&[], "stats", 24, STRUCT, PERM, Val::None),
    (&[], "dad_count", 25, INT, RW, Val::Int(3)),
    (&[], "anonportalgo", DYN, NODE, PERM, Val::None),
    // portalgo.c: the algorithm names; rump's netinet Makefile.inc sets
    // PORTALGO_INET4_DEFAULT=PORTALGO_RANDOM_START. PORTALGO_MAXLEN 16.
    (
        &["anonportalgo"],
        "available",
        DYN,
        STR,
        PERM,
        Val::Str("bsd random_start random_pick hash doublehash randinc", 16),
    ),
    (
        &["anonportalgo"],
        "selected",
        DYN,
        STR,
        RW,
        Val::Str("random_start", 16),
    ),
    (&["anonportalgo"], "reserve", DYN, STRUCT, RW, Val::None),
    (&[], "maxfragpackets", 18, INT, RW, Val::Int(200)),
    (&[], "maxflows", 13, INT, RW, Val::Int(256)),
    (&[], "hashsize", DYN, INT, RW, Val::Int(64)),
];

/// net/if.c sysctl_net_pktq_setup (ifinit, for PF_INET and PF_INET6): the
/// protocol input queue below net.inet.ip (IPCTL_IFQ 21) or net.inet6.ip6
/// (IPV6CTL_IFQ 42); numbers net/if.h IFQCTL_LEN 1, IFQCTL_MAXLEN 2,
/// IFQCTL_DROPS 4; maxlen IFQ_MAXLEN 256.
const fn ifq_setup(num: i32) -> [Named; 4] {
    [
        (&[], "ifq", num, NODE, PERM, Val::None),
        (&["ifq"], "len", 1, QUAD, PERM, Val::Zeros(8)),
        (&["ifq"], "maxlen", 2, INT, RW, Val::Int(256)),
        (&["ifq"], "drops", 4, QUAD, PERM, Val::Zeros(8)),
    ]
}
const IFQ_IP: [Named; 4] = ifq_setup(21);
const IFQ_IP6: [Named; 4] = ifq_setup(42);

/// netinet/ip_icmp.c sysctl_net_inet_icmp_setup: 7 children, as the
/// capture shows; numbers netinet/icmp_var.h ICMPCTL_*.
const ICMP_SETUP: &[Named] = &[
    (&[], "maskrepl", 1, INT, RW, Val::Int(0)),
    (&[], "returndatabytes", 2, INT, RW, Val::Int(8)),
    (&[], "errppslimit", 3, INT, RW, Val::Int(100)),
    (&[], "rediraccept", 4, INT, RW, Val::Int(1)),
    (&[], "redirtimeout", 5, INT, RW, Val::Int(600)),
    (&[], "stats", 6, STRUCT, PERM, Val::None),
    (&[], "bmcastecho", 7, INT, RW, Val::Int(0)),
];

/// netinet/igmp.c sysctl_net_inet_igmp_setup: one child.
const IGMP_SETUP: &[Named] = &[(&[], "stats", DYN, STRUCT, PERM, Val::None)];

/// netinet/raw_ip.c sysctl_net_inet_raw_setup: one child.
const RAW_SETUP: &[Named] = &[(&[], "pcblist", DYN, STRUCT, PERM, Val::None)];

/// netinet/ip_carp.c sysctl_net_inet_carp_setup: 5 children; carp_opts
/// { 0, 1 (allow), 0, LOG_CRIT (log), 0 }; CARPCTL_STATS 5.
const CARP_SETUP: &[Named] = &[
    (&[], "preempt", DYN, INT, RW, Val::Int(0)),
    (&[], "arpbalance", DYN, INT, RW, Val::Int(0)),
    (&[], "allow", DYN, INT, RW, Val::Int(1)),
    (&[], "log", DYN, INT, RW, Val::Int(2)),
    (&[], "stats", 5, STRUCT, PERM, Val::None),
];

/// netinet/if_arp.c sysctl_net_inet_arp_setup, the revision with eight
/// children (keep … debug, all CTL_CREATE), as the capture shows (clen 8,
/// and net.inet.arp 1132 followed by net.inet.multicast 1141: eight
/// dynamic numbers between). Values arpt_keep 20 min, arpt_down 20 s.
const ARP_SETUP: &[Named] = &[
    (&[], "keep", DYN, INT, RW, Val::Int(1200)),
    (&[], "down", DYN, INT, RW, Val::Int(20)),
    (&[], "stats", DYN, STRUCT, PERM, Val::None),
    (&[], "log_movements", DYN, INT, RW, Val::Int(1)),
    (&[], "log_permanent_modify", DYN, INT, RW, Val::Int(1)),
    (&[], "log_wrong_iface", DYN, INT, RW, Val::Int(1)),
    (&[], "log_unknown_network", DYN, INT, RW, Val::Int(1)),
    (&[], "debug", DYN, INT, RW, Val::Int(0)),
];

/// The children of net.inet6 besides tcp6 (`TCP_SETUP`), the nodes the
/// netinet6 component's setup functions create: ip6_input.c
/// sysctl_net_inet6_ip6_setup's ip6 (a row of [`ROWS`]), icmp6.c
/// sysctl_net_inet6_icmp6_setup (IPPROTO_ICMPV6 58), udp6_usrreq.c
/// sysctl_net_inet6_udp6_setup (IPPROTO_UDP 17), raw_ip6.c
/// sysctl_net_inet6_raw6_setup (IPPROTO_RAW 255), ip6_mroute.c
/// sysctl_net_inet6_pim6_setup (IPPROTO_PIM 103) and mld6.c 1.63
/// sysctl_in6_mklude_setup (multicast, multicast_kludge, CTL_CREATE):
/// eight children with tcp6, as the net_ifconfig capture's CTL_QUERY of
/// net shows (clen 8). Only these nodes are transcribed, not their
/// children (ip6 has its forwarding and ifq only).
const INET6_SETUP: &[Named] = &[
    (&[], "icmp6", 58, NODE, PERM, Val::None),
    (&[], "udp6", 17, NODE, PERM, Val::None),
    (&[], "raw6", 255, NODE, PERM, Val::None),
    (&[], "pim6", 103, NODE, PERM, Val::None),
    (&[], "multicast", DYN, NODE, PERM, Val::None),
    (&[], "multicast_kludge", DYN, NODE, PERM, Val::None),
];

/// net/if.c sysctl_sndq_setup for lo0 (if_attach; its create of
/// net.interfaces, CTL_CREATE, is the row of [`ROWS`]): the interface's
/// node and its output queue, all CTL_CREATE; ifq_maxlen IFQ_MAXLEN 256.
/// One child of net.interfaces, as the capture's CTL_QUERY of net shows.
const LO0_SNDQ: &[Named] = &[
    (&[], "lo0", DYN, NODE, PERM, Val::None),
    (&["lo0"], "sndq", DYN, NODE, PERM, Val::None),
    (&["lo0", "sndq"], "len", DYN, INT, PERM, Val::Int(0)),
    (&["lo0", "sndq"], "maxlen", DYN, INT, RW, Val::Int(256)),
    (&["lo0", "sndq"], "drops", DYN, INT, PERM, Val::Int(0)),
];

/// NetBSD sys/kern/uipc_domain.c sysctl_net_setup (librumpnet's
/// domaininit), below net.local: three children (SOCK_STREAM 1,
/// SOCK_SEQPACKET 5, SOCK_DGRAM 2), as the net_ifconfig capture's
/// CTL_QUERY of net shows (clen 3), each with its pcblist.
const LOCAL_SETUP: &[Named] = &[
    (&[], "stream", 1, NODE, PERM, Val::None),
    (&[], "seqpacket", 5, NODE, PERM, Val::None),
    (&[], "dgram", 2, NODE, PERM, Val::None),
    (&["stream"], "pcblist", DYN, STRUCT, PERM, Val::None),
    (&["seqpacket"], "pcblist", DYN, STRUCT, PERM, Val::None),
    (&["dgram"], "pcblist", DYN, STRUCT, PERM, Val::None),
];

/// NetBSD sys/net/rtsock.c sysctl_net_route_setup, the create after
/// rtable, below net.route and net.oroute (two children each, as the
/// capture's CTL_QUERY of net shows): "stats", &rtstat, sizeof(rtstat)
/// (net/route.h struct rtstat: five uint64_t counters, zero at boot).
const ROUTE_SETUP: &[Named] = &[(&[], "stats", DYN, STRUCT, PERM, Val::Zeros(40))];

/// The creations of `rows` below net.`base`, from `seq` on; the row
/// named "" is net.`base` itself.
fn named_creations(base: &[&str], rows: &[Named], seq: u32) -> Vec<Creation> {
    let (last, above) = match base.split_last() {
        Some((l, a)) => (*l, a),
        None => ("", base),
    };
    rows.iter()
        .enumerate()
        .map(|(i, &(parent, name, num, ty, flags, val))| {
            let mut names: Vec<String> = vec!["net".to_owned()];
            if name.is_empty() {
                names.extend(above.iter().map(|s| (*s).to_owned()));
            } else {
                names.extend(base.iter().map(|s| (*s).to_owned()));
                names.extend(parent.iter().map(|s| (*s).to_owned()));
            }
            let name = if name.is_empty() { last } else { name };
            let mut n = node(name, num.max(0), ty, flags, 0, 4, 0);
            match val {
                Val::None => {}
                Val::Int(v) => n.value = v.to_le_bytes().to_vec(),
                Val::Str(s, size) => {
                    n.value = s.as_bytes().to_vec();
                    // sysctl_create: a string of size 0 takes its length and NUL.
                    n.size = if size == 0 { s.len() as u64 + 1 } else { size };
                }
                Val::Zeros(len) => {
                    n.value = vec![0; usize::try_from(len).unwrap_or(0)];
                    n.size = len;
                    n.needs_more = false;
                }
            }
            if ty == NODE {
                n.size = 96;
            } else if matches!(val, Val::None) {
                n.size = if ty == STRUCT && name == "ident" {
                    4
                } else {
                    0
                };
            }
            Creation {
                phase: Phase::NetInit,
                seq: seq + i as u32,
                parent: names,
                node: n,
                dynamic: num == DYN,
            }
        })
        .collect()
}

/// The setup functions transcribed by names, in the order the network
/// init runs them (after the rows of [`ROWS`]; their versions are not yet
/// those of the captures, see [`with_net_nodes`]).
fn setup_creations(components: Components, base: u32) -> Vec<Creation> {
    // The setup functions that run with the creation of a row of ROWS
    // (right after it, in the room its sequence numbers leave).
    let with_row = |parent: &[i32], name: &str| -> u32 {
        let i = ROWS
            .iter()
            .position(|r| r.0 == parent && r.1 == name)
            .unwrap_or(ROWS.len());
        base + i as u32 * ROOM + 1
    };
    let mut out = vec![];
    // uipc_domain.c sysctl_net_setup runs with the creation of net.local.
    out.extend(named_creations(
        &["local"],
        LOCAL_SETUP,
        with_row(&[], "local"),
    ));
    if components.has(Component::Inet) {
        let inet: [(&str, &[Named]); 6] = [
            ("ip", IP_SETUP),
            ("icmp", ICMP_SETUP),
            ("igmp", IGMP_SETUP),
            ("carp", CARP_SETUP),
            ("raw", RAW_SETUP),
            ("arp", ARP_SETUP),
        ];
        for (name, rows) in inet {
            out.extend(named_creations(&["inet", name], rows, with_row(&[2], name)));
        }
        // tcp_usrreq.c tcp_usrreq_init: PF_INET "tcp", then PF_INET6 "tcp6".
        let at = with_row(&[2], "tcp");
        out.extend(named_creations(&["inet", "tcp"], TCP_SETUP, at));
        if components.has(Component::Inet6) {
            let at = at + TCP_SETUP.len() as u32;
            out.extend(named_creations(&["inet6", "tcp6"], TCP_SETUP, at));
        }
    }
    let mut seq = base + ROWS.len() as u32 * ROOM;
    let mut add = |base: &[&str], rows: &[Named]| {
        out.extend(named_creations(base, rows, seq));
        seq += rows.len() as u32;
    };
    if components.has(Component::Inet) {
        if components.has(Component::Inet6) {
            add(&["inet6"], INET6_SETUP);
        }
        // if.c ifinit: sysctl_net_pktq_setup for PF_INET, then PF_INET6.
        add(&["inet", "ip"], &IFQ_IP);
        if components.has(Component::Inet6) {
            add(&["inet6", "ip6"], &IFQ_IP6);
        }
    }
    add(&["route"], ROUTE_SETUP);
    add(&["oroute"], ROUTE_SETUP);
    // lo0's attach, last (net.interfaces is the newest top node of net).
    add(&["interfaces"], LO0_SNDQ);
    out
}

/// Whether a row's component is loaded.
fn present(needs: Needs, components: Components) -> bool {
    match needs {
        Needs::NetSetup | Needs::Net => components.has(Component::Net),
        Needs::Inet => components.has(Component::Inet),
        Needs::Inet6 => components.has(Component::Inet6),
    }
}

/// The names of the nodes on the path `net` + `parent` (numbers of rows above).
fn parent_names(parent: &[i32]) -> Vec<String> {
    let mut names = vec!["net".to_owned()];
    let mut path: Vec<i32> = vec![];
    for &n in parent {
        let name = ROWS
            .iter()
            .find(|r| r.0 == path.as_slice() && r.2 == n)
            .map_or("?", |r| r.1);
        names.push(name.to_owned());
        path.push(n);
    }
    names
}

/// The net nodes `components` create, for the boot sequence (`sysctl_boot.rs`).
pub fn net_creations(components: Components) -> Vec<Creation> {
    if !components.has(Component::Net) {
        return vec![];
    }
    let kern = KERN_ROWS.iter().enumerate().map(
        |(i, &(parent, name, num, ty, flags, value, min_write))| {
            let mut names = vec!["kern".to_owned()];
            if !parent.is_empty() {
                names.push("mbuf".to_owned());
            }
            let size = if ty == INT { 4 } else { 0 };
            Creation {
                phase: Phase::NetInit,
                seq: i as u32,
                parent: names,
                node: SNode {
                    min_write,
                    ..node(name, num, ty, flags, 0, size, value)
                },
                dynamic: false,
            }
        },
    );
    let net = ROWS
        .iter()
        .enumerate()
        .filter(|(_, r)| present(r.8, components))
        .map(
            |(i, &(parent, name, num, ty, flags, _, size, value, needs))| {
                let setup = needs == Needs::NetSetup;
                Creation {
                    phase: if setup {
                        Phase::NetSetup
                    } else {
                        Phase::NetInit
                    },
                    seq: i as u32,
                    parent: parent_names(parent),
                    node: node(name, num, ty, flags, 0, size, value),
                    // The init nodes keep their observed numbers.
                    dynamic: setup && num >= crate::sysctl_boot::CREATE_BASE,
                }
            },
        );
    // librumpnet's kern nodes come first in the init (mbinit, soinit).
    let base = KERN_ROWS.len() as u32;
    // Room after each row for the setup functions run with it.
    let mut out: Vec<Creation> = kern
        .chain(net.map(|mut c| {
            c.seq = base + c.seq * ROOM;
            c
        }))
        .collect();
    out.extend(setup_creations(components, base));
    out
}

/// `tree` with the observed versions of the net nodes the components' init
/// creates (the table of those is incomplete, so numbering them by rule
/// would be wrong): each such node takes its recorded version, and every
/// node of net the newest version in its subtree (sysctl_create stamps the
/// path to the root). The child-array sizes follow by rule
/// (`sysctl_boot.rs` create_all) and match the captured ones.
pub fn with_net_nodes(mut tree: Tree, components: Components) -> Tree {
    if !components.has(Component::Net) {
        return tree;
    }
    for &(parent, _, num, _, _, ver, _, _, needs) in ROWS {
        if needs == Needs::NetSetup || !present(needs, components) {
            continue;
        }
        let mut path = vec![4];
        path.extend_from_slice(parent);
        path.push(num);
        if let Some(n) = tree.get_mut(&path) {
            n.ver = ver;
        }
    }
    fn settle(n: &mut SNode) -> u32 {
        let mut v = n.ver;
        for c in &mut n.children {
            v = v.max(settle(c));
        }
        n.ver = v;
        v
    }
    if let Some(net) = tree.get_mut(&[4]) {
        net.ver = 0;
        settle(net);
        // The child versions above are those of a server with netinet6;
        // one with only netinet creates fewer nodes first, and its net shows
        // 336 (nofs_fstypes).
        if !components.has(Component::Inet6) {
            net.ver = 336;
        }
    }
    tree
}

/// The (sendspace, recvspace) a new socket of `proto` (6 TCP, 17 UDP)
/// takes (net.inet.tcp/udp.sendspace and .recvspace); None without netinet.
pub fn socket_spaces(tree: &Tree, proto: i32) -> Option<(i32, i32)> {
    let int = |n: &SNode| {
        let v = n.value.get(..4)?;
        Some(i32::from_le_bytes([v[0], v[1], v[2], v[3]]))
    };
    let s = int(tree.get(&[4, 2, proto, 2])?)?;
    let r = int(tree.get(&[4, 2, proto, 3])?)?;
    Some((s, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(c: Components) -> Tree {
        with_net_nodes(Tree::boot_with("h", c), c)
    }

    #[test]
    fn nodes_come_with_their_components() {
        let net = Components::NONE.with(Component::Net);
        assert!(tree(Components::NONE)
            .get(&[4])
            .unwrap()
            .children
            .is_empty());
        // The SYSCTL_SETUP nodes come first, by rule: sdl 14 (1025),
        // ether 15 (1026) and its multicast 16, as the net_ifconfig
        // capture's CTL_QUERY of net shows (ver 14 and 16).
        let t = tree(net);
        assert_eq!(t.get(&[4, 1025]).unwrap().ver, 14);
        assert_eq!(t.get(&[4, 1026]).unwrap().ver, 16);
        assert_eq!(t.get(&[4, 1026]).unwrap().csize, 8);
        // librump's first dynamic node comes after them.
        assert_eq!(t.get(&[1, 1028]).unwrap().name, "timecounter");
        let t = tree(net);
        assert_eq!(t.get(&[4]).unwrap().children.len(), 8);
        assert!(t.get(&[4, 2, 0]).is_none());
        assert_eq!(t.get(&[4, 34, 0]).unwrap().dynamic, Some(Dynamic::Rtable));
        let inet = net.with(Component::Inet);
        let t = tree(inet);
        assert_eq!(socket_spaces(&t, 17), Some((9216, 41600)));
        assert_eq!(socket_spaces(&t, 6), Some((32768, 32768)));
        assert_eq!(t.get(&[4, 2]).unwrap().children.len(), 9);
        assert_eq!(t.get(&[4, 2, 17]).unwrap().children.len(), 6);
        // librumpnet's init adds kern.mbuf, kern.somaxkva and kern.sbmax:
        // 29 children as the nofs capture's root query shows.
        assert_eq!(t.get(&[1]).unwrap().children.len(), 29);
        assert_eq!(
            t.get(&[1, 39, 1]).unwrap().record()[48..52],
            512u32.to_le_bytes()
        );
        assert_eq!(t.get(&[1, 73]).unwrap().flags, 0x0100_0272);
        assert_eq!(t.get(&[1, 58]).unwrap().min_write, Some(16 * 1024));
        assert!(t.get(&[4, 24, 41]).is_none());
        assert_eq!(t.get(&[4]).unwrap().ver, 336);
        let t = tree(inet.with(Component::Inet6));
        assert_eq!(t.get(&[4, 24, 41, 1]).unwrap().value, 0i32.to_le_bytes());
        assert_eq!(t.get(&[4, 2]).unwrap().ver, 393);
        let udp = t.get(&[4, 2, 17, 2]).unwrap();
        assert_eq!(udp.flags, 0x0100_0272);
        assert_eq!(udp.record()[40..44], 367u32.to_le_bytes());
    }

    /// The transcribed setup functions give the child counts the
    /// net_ifconfig capture's CTL_QUERY answers show, and the array sizes
    /// follow by rule (8 doubling).
    #[test]
    fn setup_functions_give_the_captured_child_counts() {
        let c = Components::NONE
            .with(Component::Net)
            .with(Component::Inet)
            .with(Component::Inet6);
        let t = tree(c);
        let count = |mib: &[i32]| {
            let n = t.get(mib).unwrap();
            (n.children.len(), n.csize)
        };
        assert_eq!(count(&[4, 1]), (3, 8), "local");
        assert_eq!(count(&[4, 17]), (2, 8), "oroute");
        assert_eq!(count(&[4, 24]), (8, 8), "inet6");
        assert_eq!(count(&[4, 34]), (2, 8), "route");
        assert_eq!(count(&[4, 1156]), (1, 8), "interfaces");
        assert_eq!(count(&[4, 2, 0]), (24, 32), "ip");
        assert_eq!(count(&[4, 2, 1]), (7, 8), "icmp");
        assert_eq!(count(&[4, 2, 2]), (1, 8), "igmp");
        assert_eq!(count(&[4, 2, 6]), (44, 64), "tcp");
        assert_eq!(count(&[4, 2, 112]), (5, 8), "carp");
        assert_eq!(count(&[4, 2, 255]), (1, 8), "raw");
        assert_eq!(count(&[4, 2, 1132]), (8, 8), "arp");
        assert_eq!(count(&[4, 24, 6]), (44, 64), "tcp6");
        // A fixed number, a CTL_CREATE one and a subtree's leaf.
        let tcp = t.get(&[4, 2, 6]).unwrap();
        assert_eq!(t.get(&[4, 2, 6, 4]).unwrap().value, 536i32.to_le_bytes());
        let minmss = tcp.children.iter().find(|n| n.name == "minmss").unwrap();
        assert!(minmss.num > crate::sysctl_boot::CREATE_BASE);
        let sack = t.get(&[4, 2, 6, 10]).unwrap();
        assert_eq!(sack.children.len(), 4);
        assert_eq!(t.get(&[4, 2, 6, 20]).unwrap().flags, 0x0100_0a02, "slowhz");
        assert_eq!(t.get(&[4, 2, 0, 21]).unwrap().children.len(), 3, "ifq");
        // Without netinet6 neither tcp6 nor the inet6 children.
        let t = tree(Components::NONE.with(Component::Net).with(Component::Inet));
        assert!(t.get(&[4, 24]).unwrap().children.is_empty());
        assert_eq!(t.get(&[4, 2, 6]).unwrap().children.len(), 44);
    }
}
