//! The sysctl tree of a freshly booted rump kernel, built from the recorded
//! walk of a real one (`data/sysctl_walk_nodes.txt` for names, numbers, types
//! and flags; `data/sysctl_walk.txt` for values). Values that depend on the
//! host or on time come from the configuration, the seed and the virtual clock.
//! kern.msgbuf and kern.pool have handlers of their own (`sys/sysctl_stats.rs`,
//! data in `data/kern_msgbuf.txt` and `data/kern_pool.txt`).

/// CTLTYPE_NODE.
pub const CTLTYPE_NODE: u32 = 1;
/// CTLTYPE_INT.
pub const CTLTYPE_INT: u32 = 2;
/// CTLTYPE_STRING.
pub const CTLTYPE_STRING: u32 = 3;
/// CTLTYPE_QUAD.
pub const CTLTYPE_QUAD: u32 = 4;
/// CTLTYPE_STRUCT.
pub const CTLTYPE_STRUCT: u32 = 5;
/// CTLTYPE_BOOL.
pub const CTLTYPE_BOOL: u32 = 6;
/// CTLFLAG_READWRITE.
pub const CTLFLAG_READWRITE: u32 = 0x70;
/// CTLFLAG_ANYWRITE.
pub const CTLFLAG_ANYWRITE: u32 = 0x80;
/// CTLFLAG_IMMEDIATE.
pub const CTLFLAG_IMMEDIATE: u32 = 0x800;
/// CTLFLAG_ANYNUMBER.
pub const CTLFLAG_ANYNUMBER: u32 = 0x4000;
/// SYSCTL_VERSION.
pub const SYSCTL_VERSION: u32 = 0x0100_0000;

/// A value computed when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dynamic {
    /// kern.urandom: a random int.
    Urandom,
    /// kern.arandom: up to 256 random bytes.
    Arandom,
    /// kern.hardclock_ticks: virtual clock ticks.
    HardclockTicks,
    /// kern.msgbuf: the boot messages, copied out as a ring (sys/sysctl_stats.rs).
    Msgbuf,
    /// kern.pool: one record per pool (sys/sysctl_stats.rs).
    Pool,
    /// net.route.rtable / net.oroute.rtable: sysctl_rtable (net/route.rs).
    Rtable,
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SNode {
    /// Name.
    pub name: String,
    /// Number.
    pub num: i32,
    /// The flags word: version | flags | type.
    pub flags: u32,
    /// sysctl_size.
    pub size: u64,
    /// sysctl_ver.
    pub ver: u32,
    /// The current value (leaves): strings without their NUL.
    pub value: Vec<u8>,
    /// Computed value, if any.
    pub dynamic: Option<Dynamic>,
    /// Reading it as a plain leaf fails with EINVAL (it wants more MIB components).
    pub needs_more: bool,
    /// Length a size probe reports, when the handler computes it differently (recorded).
    pub probe_len: Option<u64>,
    /// Length a read reports, when it differs from the bytes copied out (recorded).
    pub read_len: Option<u64>,
    /// Children, sorted by number.
    pub children: Vec<SNode>,
    /// csize for nodes.
    pub csize: u32,
    /// The smallest int its handler accepts as a new value (EINVAL below).
    pub min_write: Option<i32>,
}

impl SNode {
    /// The type (low 4 bits of flags).
    pub fn ctype(&self) -> u32 {
        self.flags & 0xf
    }

    /// The child numbered `num`, or one that accepts any number.
    pub fn child(&self, num: i32) -> Option<usize> {
        self.children.iter().position(|c| c.num == num).or_else(|| {
            self.children
                .iter()
                .position(|c| c.flags & CTLFLAG_ANYNUMBER != 0)
        })
    }

    /// The 96-byte `struct sysctlnode` a CTL_QUERY returns.
    pub fn record(&self) -> [u8; 96] {
        let mut b = [0u8; 96];
        b[0..4].copy_from_slice(&self.flags.to_le_bytes());
        b[4..8].copy_from_slice(&self.num.to_le_bytes());
        let n = self.name.len().min(31);
        b[8..8 + n].copy_from_slice(&self.name.as_bytes()[..n]);
        b[40..44].copy_from_slice(&self.ver.to_le_bytes());
        if self.ctype() == CTLTYPE_NODE {
            b[48..52].copy_from_slice(&self.csize.to_le_bytes());
            b[52..56].copy_from_slice(&(self.children.len() as u32).to_le_bytes());
        } else if self.flags & CTLFLAG_IMMEDIATE != 0 {
            let v = &self.value;
            b[48..48 + v.len().min(8)].copy_from_slice(&v[..v.len().min(8)]);
        }
        b[64..72].copy_from_slice(&self.size.to_le_bytes());
        b
    }
}

/// The whole tree (the root's children).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// Top-level nodes.
    pub root: SNode,
}

const NODES: &str = include_str!("../data/sysctl_walk_nodes.txt");
const VALUES: &str = include_str!("../data/sysctl_walk.txt");

fn type_code(name: &str) -> u32 {
    match name {
        "NODE" => CTLTYPE_NODE,
        "INT" => CTLTYPE_INT,
        "STRING" => CTLTYPE_STRING,
        "QUAD" => CTLTYPE_QUAD,
        "STRUCT" => CTLTYPE_STRUCT,
        "BOOL" => CTLTYPE_BOOL,
        _ => 0,
    }
}

fn field<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    words.iter().find_map(|w| w.strip_prefix(key))
}

fn parse_num(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap_or(0),
        None => s.parse().unwrap_or(0),
    }
}

/// Decodes a recorded value for a node of type `ty`.
fn value_of(text: &str, ty: u32) -> (Vec<u8>, bool) {
    if text.starts_with("[error") {
        return (vec![], true);
    }
    if ty != CTLTYPE_STRUCT && text.starts_with('(') && text.contains(" bytes)") {
        return value_of(text, CTLTYPE_STRUCT);
    }
    match ty {
        CTLTYPE_INT => (
            (text.parse::<i64>().unwrap_or(0) as i32)
                .to_le_bytes()
                .to_vec(),
            false,
        ),
        CTLTYPE_QUAD => (
            text.parse::<i64>().unwrap_or(0).to_le_bytes().to_vec(),
            false,
        ),
        CTLTYPE_BOOL => (vec![text.parse::<u8>().unwrap_or(0)], false),
        CTLTYPE_STRING => (text.replace("\\n", "\n").into_bytes(), false),
        _ => {
            // "(N bytes) hex" or "(N bytes) hex... (+M bytes, …)": the full length, data if complete
            let n = text
                .strip_prefix('(')
                .and_then(|t| t.split_once(" bytes)"))
                .map_or(0, |(n, _)| n.parse::<usize>().unwrap_or(0));
            let hex = text.split_once(") ").map_or("", |(_, h)| h);
            let complete = !hex.contains("...");
            let mut v = vec![0u8; n];
            if complete {
                for (i, b) in v.iter_mut().enumerate() {
                    *b = hex
                        .get(2 * i..2 * i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .unwrap_or(0);
                }
            }
            (v, false)
        }
    }
}

impl Tree {
    /// The tree a kernel with these components boots with: the recorded
    /// walk's nodes the components create, re-created in boot order
    /// (`sysctl_boot.rs`), so versions and dynamic numbers follow NetBSD's
    /// rules. Without librumpvfs the vfs layer's nodes are never created:
    /// everything under vfs (the node itself is the base kernel's, and a
    /// CTL_QUERY of it answers no children), the buffer cache's kern.buf and
    /// vm.buf* (vfs_bio.c) and hw.firmware (firmload.c), as the captured
    /// server without file systems shows (vfs empty, vm with no children,
    /// vfs.generic ENOENT).
    pub fn boot_with(hostname: &str, components: crate::Components) -> Tree {
        let recorded = Tree::recorded(hostname);
        let vfs = components.has(crate::Component::Vfs);
        let mut creations = Vec::new();
        for (parent, node, stamp) in creation_order(&recorded.root) {
            let phase = boot_phase(&parent, &node.name);
            let from_vfs = matches!(phase, Phase::VfsSetup | Phase::VfsInit);
            if from_vfs && !vfs {
                continue;
            }
            // proc.curproc is PROC_CURPROC (0x7fffffff), a fixed number.
            let dynamic = (crate::sysctl_boot::CREATE_BASE..i32::MAX).contains(&node.num);
            creations.push(Creation {
                phase,
                seq: stamp,
                parent,
                node,
                dynamic,
            });
        }
        creations.extend(crate::sysctl_net::net_creations(components));
        let root = SNode {
            ver: 0,
            csize: 0,
            children: vec![],
            ..recorded.root
        };
        let built = crate::sysctl_boot::create_all(root, creations);
        Tree { root: built.root }
    }

    /// The tree a rump kernel with file systems boots with; kern.hostname is `hostname`.
    pub fn boot(hostname: &str) -> Tree {
        Tree::boot_with(hostname, crate::Components::FILE_SYSTEMS)
    }

    /// The recorded walk of the file-system kernel as it was recorded
    /// (names, numbers, flags, versions, values); kern.hostname is `hostname`.
    pub fn recorded(hostname: &str) -> Tree {
        let mut values: std::collections::BTreeMap<&str, &str> = Default::default();
        // "# name: probe said A bytes, read returned B"
        let mut lens: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
        for line in VALUES.lines().filter_map(|l| l.strip_prefix("# ")) {
            if let Some((name, rest)) = line.split_once(": probe said ") {
                if let Some((a, b)) = rest.split_once(" bytes, read returned ") {
                    let b = b.trim_end_matches(" bytes");
                    lens.insert(name, (a.parse().unwrap_or(0), b.parse().unwrap_or(0)));
                }
            }
        }
        for line in VALUES.lines().filter(|l| !l.starts_with('#')) {
            if let Some((k, v)) = line.split_once(" = ") {
                values.insert(k, v);
            } else if let Some(k) = line.strip_suffix(" =") {
                values.insert(k, "");
            }
        }
        let mut root = SNode {
            name: String::new(),
            num: 0,
            flags: SYSCTL_VERSION | CTLTYPE_NODE,
            size: 96,
            ver: 137,
            value: vec![],
            dynamic: None,
            needs_more: false,
            probe_len: None,
            read_len: None,
            children: vec![],
            csize: 16,
            min_write: None,
        };
        for line in NODES
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (Some(mib), Some(name)) = (words.first(), words.get(1)) else {
                continue;
            };
            let path: Vec<i32> = mib
                .split('.')
                .map(|c| c.parse::<i64>().unwrap_or(0) as i32)
                .collect();
            let ty = type_code(field(&words, "type=").unwrap_or(""));
            let flags = parse_num(field(&words, "flags=").unwrap_or("0")) as u32;
            let mut node = SNode {
                name: name.rsplit('.').next().unwrap_or(name).to_owned(),
                num: parse_num(field(&words, "num=").unwrap_or("0")) as i32,
                flags,
                size: parse_num(field(&words, "size=").unwrap_or("0")),
                ver: parse_num(field(&words, "ver=").unwrap_or("0")) as u32,
                value: vec![],
                dynamic: None,
                needs_more: false,
                probe_len: lens.get(name).map(|l| l.0),
                read_len: lens.get(name).map(|l| l.1),
                children: vec![],
                csize: parse_num(field(&words, "csize=").unwrap_or("0")) as u32,
                min_write: None,
            };
            if let Some(imm) = field(&words, "imm=") {
                let v = parse_num(imm);
                node.value = if ty == CTLTYPE_QUAD {
                    v.to_le_bytes().to_vec()
                } else {
                    (v as u32).to_le_bytes().to_vec()
                };
            } else if ty != CTLTYPE_NODE {
                let (v, needs_more) = value_of(values.get(name).copied().unwrap_or(""), ty);
                node.value = v;
                node.needs_more = needs_more;
            }
            node.dynamic = match *name {
                "kern.urandom" => Some(Dynamic::Urandom),
                "kern.arandom" => Some(Dynamic::Arandom),
                "kern.hardclock_ticks" => Some(Dynamic::HardclockTicks),
                "kern.msgbuf" => Some(Dynamic::Msgbuf),
                "kern.pool" => Some(Dynamic::Pool),
                _ => None,
            };
            if *name == "kern.hostname" {
                node.value = hostname.as_bytes().to_vec();
            }
            // insert under its parent
            let mut cur = &mut root;
            for comp in &path[..path.len() - 1] {
                match cur.children.iter().position(|c| c.num == *comp) {
                    Some(i) => cur = &mut cur.children[i],
                    None => break,
                }
            }
            cur.children.push(node);
            cur.children.sort_by_key(|c| c.num);
        }
        Tree { root }
    }

    /// The node at a MIB path (without meta components).
    pub fn get(&self, mib: &[i32]) -> Option<&SNode> {
        let mut cur = &self.root;
        for c in mib {
            cur = &cur.children[cur.child(*c)?];
        }
        Some(cur)
    }

    /// The node at a MIB path, mutably.
    pub fn get_mut(&mut self, mib: &[i32]) -> Option<&mut SNode> {
        let mut cur = &mut self.root;
        for c in mib {
            let i = cur.child(*c)?;
            cur = &mut cur.children[i];
        }
        Some(cur)
    }

    /// Every (dotted name, node) in walk order, for listing.
    pub fn walk(&self) -> Vec<(String, &SNode)> {
        fn go<'a>(n: &'a SNode, prefix: &str, out: &mut Vec<(String, &'a SNode)>) {
            for c in &n.children {
                let name = if prefix.is_empty() {
                    c.name.clone()
                } else {
                    format!("{prefix}.{}", c.name)
                };
                out.push((name.clone(), c));
                go(c, &name, out);
            }
        }
        let mut out = Vec::new();
        go(&self.root, "", &mut out);
        out
    }
}

use crate::sysctl_boot::{Creation, Phase};

/// Every node of a recorded tree with its parent's name path and its
/// creation number: a leaf's recorded version; an inner node's is one less
/// than its first child's (created just before it); a top-level node's is
/// its number (sysctl_init creates kern 1 … security 13 in order).
fn creation_order(root: &SNode) -> Vec<(Vec<String>, SNode, u32)> {
    fn stamp(n: &SNode, top: bool) -> u32 {
        if top {
            return n.num as u32;
        }
        match n.children.iter().map(|c| stamp(c, false)).min() {
            Some(m) => m.saturating_sub(1),
            None => n.ver,
        }
    }
    fn go(n: &SNode, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, SNode, u32)>) {
        for c in &n.children {
            let node = SNode {
                children: vec![],
                ..c.clone()
            };
            out.push((path.clone(), node, stamp(c, path.is_empty())));
            path.push(c.name.clone());
            go(c, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    go(root, &mut Vec::new(), &mut out);
    out
}

/// Which boot phase creates a recorded node (see `sysctl_boot.rs`):
/// hw.firmware is librumpvfs's SYSCTL_SETUP (dev/firmload.c); vfs.*,
/// kern.buf and vm.buf* come from vfsinit and the buffer cache (vfs_init.c,
/// vfs_bio.c); kern.posix from the ksem module (uipc_sem.c) and
/// security.models from secmodel_suser, both built-in modules initialised
/// last; the rest is librump's own SYSCTL_SETUPs.
fn boot_phase(parent: &[String], name: &str) -> Phase {
    let top = parent.first().map_or(name, |s| s.as_str());
    let second = if parent.is_empty() {
        None
    } else {
        Some(parent.get(1).map_or(name, |s| s.as_str()))
    };
    match (top, second) {
        (_, None) => Phase::Root,
        ("hw", Some("firmware")) => Phase::VfsSetup,
        ("vfs", _) | ("kern", Some("buf")) => Phase::VfsInit,
        ("vm", Some(s)) if s.starts_with("buf") => Phase::VfsInit,
        ("kern", Some("posix")) | ("security", _) => Phase::Modules,
        _ => Phase::BaseSetup,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_tree_is_complete() {
        let t = Tree::boot("rump-00001.test");
        let all = t.walk();
        assert_eq!(all.len(), 137, "nodes in sysctl_walk_nodes.txt");
        assert_eq!(t.root.children.len(), 13);
        let ostype = t.get(&[1, 1]).unwrap();
        assert_eq!(ostype.value, b"NetBSD");
        assert_eq!(ostype.flags, 0x0100_0203);
        assert_eq!(t.get(&[1, 10]).unwrap().value, b"rump-00001.test");
        assert_eq!(t.get(&[1, 3]).unwrap().value, 799_003_400u32.to_le_bytes());
        assert_eq!(t.get(&[6, 7]).unwrap().value, 4096u32.to_le_bytes());
        assert_eq!(t.get(&[3, 0, 1043]).unwrap().name, "fstypes");
        assert!(t.get(&[1, 77]).unwrap().needs_more, "kern.file2");
        assert!(
            t.get(&[1, 83]).is_none(),
            "kern.boottime is absent in a rump kernel"
        );
        assert_eq!(
            t.get(&[10, 12345]).unwrap().name,
            "curproc",
            "proc.curproc takes any number"
        );
        let rec = ostype.record();
        assert_eq!(&rec[0..8], &[0x03, 0x02, 0, 1, 1, 0, 0, 0]);
        assert_eq!(&rec[8..15], b"ostype\0");
    }
}
