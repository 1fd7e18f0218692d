//! The order a rump kernel creates its sysctl nodes at boot, and NetBSD's
//! numbering rules applied to that order.
//!
//! NetBSD sys/kern/kern_sysctl.c sysctl_create: every node created bumps the
//! root's version by one and stamps the new value on the new node and on
//! every node on its path to the root, so a node's `sysctl_ver` is the
//! number of the last creation in its subtree. A node created with
//! CTL_CREATE takes the next dynamic number (CREATE_BASE 1024, counted over
//! the whole tree). A create of a node that exists (same name) answers
//! EEXIST and changes nothing (sysctl_createv treats that as success for
//! nodes).
//!
//! The order, as rump.c rump_init runs it: the root's thirteen nodes
//! (sysctl_init's root setup); the SYSCTL_SETUP functions, registered by
//! constructors with LIST_INSERT_HEAD (sys/sysctl.h under RUMP_USE_CTOR)
//! and so run last-loaded library first: the component libraries' ones
//! (rump_server loads them after librump), then librump's own; then the
//! file-system layer's init (vfsinit: vfs.*, the buffer cache); then the
//! network components' init (domain and protocol init); last the built-in
//! modules (ksem: kern.posix, secmodel_suser: security.models).
//!
//! The recorded walk of the file-system kernel (`data/sysctl_walk_nodes.txt`)
//! gives the order of its own nodes: a leaf's recorded version is its
//! creation number, an inner node was created just before its first child.
//! [`tests`] check that replaying that order by these rules gives back every
//! recorded version and dynamic number.

use crate::sysctl::SNode;

/// When, during boot, a node is created (the order of rump.c rump_init).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// sysctl_init's root nodes (kern, vm, vfs, net, …, security).
    Root,
    /// The network libraries' SYSCTL_SETUP functions (loaded last, run first).
    NetSetup,
    /// librumpvfs's SYSCTL_SETUP functions (hw.firmware, firmload.c).
    VfsSetup,
    /// librump's own SYSCTL_SETUP functions.
    BaseSetup,
    /// The file-system layer's init (vfsinit, the buffer cache).
    VfsInit,
    /// The network components' init (domains, protocols, interfaces).
    NetInit,
    /// The built-in modules (ksem, secmodel_suser).
    Modules,
}

/// One node to create: where, when, and the node (its children are ignored).
#[derive(Debug, Clone)]
pub struct Creation {
    /// The boot phase.
    pub phase: Phase,
    /// The order within the phase.
    pub seq: u32,
    /// The names of the nodes on the path from the root to the parent.
    pub parent: Vec<String>,
    /// The node; `num` is ignored when `dynamic` is set.
    pub node: SNode,
    /// Created with CTL_CREATE: numbered from the dynamic counter.
    pub dynamic: bool,
}

/// A tree built by creations: the root and its counters.
#[derive(Debug)]
pub struct Built {
    /// The root node (its `ver` is the number of creations).
    pub root: SNode,
    /// The last dynamic number handed out.
    pub last_dynamic: i32,
}

/// NetBSD sys/kern/kern_sysctl.c CREATE_BASE.
pub const CREATE_BASE: i32 = 1024;

/// Creates `creations` in boot order under `root` (sysctl_create's rules).
/// A creation whose parent does not exist is skipped (ENOENT); one whose
/// name exists under its parent is skipped without a version bump (EEXIST).
pub fn create_all(mut root: SNode, mut creations: Vec<Creation>) -> Built {
    creations.sort_by_key(|c| (c.phase, c.seq));
    let mut last_dynamic = CREATE_BASE;
    for c in creations {
        // Resolve the parent by names.
        let mut idx = Vec::with_capacity(c.parent.len());
        let mut cur = &root;
        let mut found = true;
        for name in &c.parent {
            match cur.children.iter().position(|n| &n.name == name) {
                Some(i) => {
                    idx.push(i);
                    cur = &cur.children[i];
                }
                None => {
                    found = false;
                    break;
                }
            }
        }
        if !found || cur.children.iter().any(|n| n.name == c.node.name) {
            continue;
        }
        let mut node = c.node;
        node.children.clear();
        node.csize = 0;
        if c.dynamic {
            last_dynamic += 1;
            node.num = last_dynamic;
        }
        root.ver += 1;
        let ver = root.ver;
        node.ver = ver;
        let mut p = &mut root;
        for i in idx {
            p = &mut p.children[i];
            p.ver = ver;
        }
        // sysctl_create grows a full child array: a first child takes
        // SYSCTL_DEFSIZE (8) places, or one for a CTLFLAG_ANYNUMBER child;
        // a full array doubles.
        if p.children.len() as u32 >= p.csize {
            p.csize = match p.csize {
                0 if node.flags & crate::sysctl::CTLFLAG_ANYNUMBER != 0 => 1,
                0 => 8,
                n => n * 2,
            };
        }
        let at = p.children.partition_point(|n| n.num < node.num);
        p.children.insert(at, node);
    }
    Built { root, last_dynamic }
}

#[cfg(test)]
mod tests {
    use crate::sysctl::Tree;

    /// Every recorded version and number of the file-system kernel's walk
    /// comes back from its creation order by sysctl_create's rules.
    #[test]
    fn the_recorded_walk_follows_from_its_creation_order() {
        let t = Tree::boot("h");
        let recorded = Tree::recorded("h");
        let key = |t: &Tree| -> Vec<(String, i32, u32, u32, u32)> {
            t.walk()
                .into_iter()
                .map(|(n, s)| (n, s.num, s.ver, s.csize, s.flags))
                .collect()
        };
        let (a, b) = (key(&t), key(&recorded));
        assert_eq!(a.len(), 137);
        assert_eq!(a, b);
        assert_eq!(t.root.ver, 137);
    }

    /// A kernel without librumpvfs creates fewer nodes first, so every
    /// later node has a smaller version and dynamic number.
    #[test]
    fn without_vfs_later_nodes_move_down() {
        let t = Tree::boot_with("h", crate::Components::NONE);
        let hw = t.get(&[6]).unwrap();
        assert_eq!(hw.children.len(), 13, "no hw.firmware");
        assert_eq!(hw.ver, 57, "hw.iostats, two creations earlier than 59");
        assert_eq!(t.get(&[10]).unwrap().ver, 106, "proc");
        assert_eq!(t.get(&[3]).unwrap().ver, 3, "vfs keeps its root version");
        assert_eq!(t.get(&[2]).unwrap().ver, 2, "vm has no children");
        let kern = t.get(&[1]).unwrap();
        let tc = kern
            .children
            .iter()
            .find(|c| c.name == "timecounter")
            .unwrap();
        assert_eq!(
            tc.num, 1025,
            "the first dynamic number, hw.firmware's before"
        );
        assert_eq!(t.root.ver, 137 - 22);
    }
}
