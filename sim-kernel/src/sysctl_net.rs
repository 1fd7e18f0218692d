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
//! rule and match the capture. The nodes the components' init creates
//! (domains, protocols, lo0) are only those the captures name, not every
//! node NetBSD creates (net.inet.ip has 24 children, net.inet.tcp 44, …):
//! their versions and dynamic numbers are the observed ones
//! ([`with_net_nodes`]), not derived, until the table is complete.
//! librumpnet makes net.local, net.route and net.oroute (rtsock.c
//! sysctl_net_route_setup), net.sdl, net.ether and net.interfaces; netinet
//! makes net.inet and net.inet6 (tcp_usrreq.c creates net.inet6.tcp6 too);
//! netinet6 makes net.inet6.ip6.

use crate::components::{Component, Components};
use crate::sysctl::{
    Dynamic, SNode, Tree, CTLTYPE_INT, CTLTYPE_NODE, CTLTYPE_STRUCT, SYSCTL_VERSION,
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
    (&[2, 0], "forwarding", 1, INT, RW, 0, 4, 1, Needs::Inet),
    (&[2, 0], "ttl", 3, INT, RW, 0, 4, 64, Needs::Inet),
    (&[2, 6], "sendspace", 2, INT, RW, 0, 4, 32768, Needs::Inet),
    (&[2, 6], "recvspace", 3, INT, RW, 0, 4, 32768, Needs::Inet),
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
    kern.chain(net.map(|mut c| {
        c.seq += base;
        c
    }))
    .collect()
}

/// `tree` with the observed versions of the net nodes the components' init
/// creates (the table of those is incomplete, so numbering them by rule
/// would be wrong): each such node takes its recorded version, and every
/// node of net the newest version in its subtree (sysctl_create stamps the
/// path to the root). The child-array sizes of the queried nodes are the
/// observed ones too (their children are not all modelled).
pub fn with_net_nodes(mut tree: Tree, components: Components) -> Tree {
    if !components.has(Component::Net) {
        return tree;
    }
    for &(parent, _, num, ty, _, ver, size, _, needs) in ROWS {
        if needs == Needs::NetSetup || !present(needs, components) {
            continue;
        }
        let mut path = vec![4];
        path.extend_from_slice(parent);
        path.push(num);
        if let Some(n) = tree.get_mut(&path) {
            n.ver = ver;
            if ty == CTLTYPE_NODE {
                n.csize = size;
            }
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
        net.csize = 8;
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
}
