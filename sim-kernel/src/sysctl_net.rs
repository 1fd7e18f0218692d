//! The `net.*` sysctl nodes the network components create (the vfs-only
//! walk in `data/sysctl_walk_nodes.txt` has an empty `net`). Names, numbers,
//! flags, versions and sizes are those the net_ifconfig capture's CTL_QUERY
//! of net, net.inet and net.inet.udp shows (numbers ≥ 1024 are dynamic);
//! values those its reads show (conformance/traces/net/README.md).
//! librumpnet makes net.local, net.route and net.oroute (rtsock.c
//! sysctl_net_route_setup), net.sdl, net.ether and net.interfaces; netinet
//! makes net.inet and net.inet6 (tcp_usrreq.c creates net.inet6.tcp6 too);
//! netinet6 makes net.inet6.ip6.

use crate::components::{Component, Components};
use crate::sysctl::{
    Dynamic, SNode, Tree, CTLTYPE_INT, CTLTYPE_NODE, CTLTYPE_STRUCT, SYSCTL_VERSION,
};

/// Which component a node comes with.
#[derive(Clone, Copy)]
enum Needs {
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
    (&[], "sdl", 1025, NODE, 0x201, 14, 0, 0, Needs::Net),
    (&[], "ether", 1026, NODE, 0x201, 16, 8, 0, Needs::Net),
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
        dynamic: None,
        // Reading a statistics struct is not modelled.
        needs_more: ty == CTLTYPE_STRUCT,
        probe_len: None,
        read_len: None,
        children: vec![],
        csize: if is_node { size } else { 0 },
    }
}

/// `tree` with the net nodes of `components` added.
pub fn with_net_nodes(mut tree: Tree, components: Components) -> Tree {
    if !components.has(Component::Net) {
        return tree;
    }
    for &(parent, name, num, ty, flags, ver, size, value, needs) in ROWS {
        let present = match needs {
            Needs::Net => true,
            Needs::Inet => components.has(Component::Inet),
            Needs::Inet6 => components.has(Component::Inet6),
        };
        if !present {
            continue;
        }
        let mut path = vec![4];
        path.extend_from_slice(parent);
        let Some(p) = tree.get_mut(&path) else {
            continue;
        };
        if p.children.iter().any(|c| c.num == num) {
            continue;
        }
        let mut n = node(name, num, ty, flags, ver, size, value);
        if name == "rtable" {
            n.dynamic = Some(Dynamic::Rtable);
        }
        p.children.push(n);
        p.children.sort_by_key(|c| c.num);
    }
    // A node's version is the newest in its subtree (sysctl_create stamps
    // the new node's version on the path to the root).
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
        with_net_nodes(Tree::boot("h"), c)
    }

    #[test]
    fn nodes_come_with_their_components() {
        let net = Components::NONE.with(Component::Net);
        assert!(tree(Components::NONE)
            .get(&[4])
            .unwrap()
            .children
            .is_empty());
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
