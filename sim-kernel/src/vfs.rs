//! The in-memory file systems: the rumpfs root and any number of tmpfs mounts,
//! their nodes, directories (with tmpfs's directory cookies) and path lookup.
//!
//! All state lives in ordered maps and nodes are numbered by counters, so the
//! same calls always give the same numbers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use crate::consts::*;

/// A point in time (seconds and nanoseconds), as the ABI carries it.
pub use rumpsp_protocol::netbsd::Timespec;

/// Node identifier (internal; inode numbers are separate).
pub type NodeId = u64;
/// Mount identifier.
pub type MountId = u32;

/// Which file system a mount is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsType {
    /// The rump kernel's root file system (no rename, a device number per node).
    Rumpfs,
    /// tmpfs.
    Tmpfs,
}

impl FsType {
    /// The statvfs type name.
    pub fn name(self) -> &'static str {
        match self {
            FsType::Rumpfs => "rumpfs",
            FsType::Tmpfs => "tmpfs",
        }
    }
}

/// The node id of a whiteout entry (tmpfs's `TMPFS_NODE_WHITEOUT`): no node
/// is ever allocated with it (ids start at 1).
pub const WHITEOUT: NodeId = 0;

/// A directory entry (creation order is listing order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name.
    pub name: Vec<u8>,
    /// The node, or [`WHITEOUT`] for a whiteout entry.
    pub node: NodeId,
    /// tmpfs directory cookie (3, 4, … in creation order).
    pub cookie: u64,
}

/// A directory's entries: listing (cookie) order, with an index by name so
/// that a lookup in a directory of thousands of entries stays cheap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirEntries {
    /// Entries by increasing cookie (creation order).
    list: Vec<DirEntry>,
    /// Name -> cookie.
    by_name: BTreeMap<Vec<u8>, u64>,
}

impl DirEntries {
    fn pos(&self, name: &[u8]) -> Option<usize> {
        let cookie = *self.by_name.get(name)?;
        self.list.binary_search_by_key(&cookie, |e| e.cookie).ok()
    }

    /// The entry called `name`.
    pub fn get(&self, name: &[u8]) -> Option<&DirEntry> {
        self.list.get(self.pos(name)?)
    }

    /// Appends an entry (its cookie must be above every other).
    pub fn push(&mut self, e: DirEntry) {
        self.by_name.insert(e.name.clone(), e.cookie);
        self.list.push(e);
    }

    /// Removes the entry called `name`.
    pub fn remove(&mut self, name: &[u8]) -> Option<DirEntry> {
        let pos = self.pos(name)?;
        self.by_name.remove(name);
        Some(self.list.remove(pos))
    }

    /// Renames an entry in place (it keeps its cookie and listing position).
    pub fn rename(&mut self, from: &[u8], to: &[u8]) {
        if let Some(pos) = self.pos(from) {
            self.by_name.remove(from);
            self.by_name.insert(to.to_vec(), self.list[pos].cookie);
            self.list[pos].name = to.to_vec();
        }
    }

    /// Entries in listing order from the one with `cookie` on (None if no entry
    /// has it): O(log n) to find, so a listing resumes in O(entries returned).
    pub fn from_cookie(&self, cookie: u64) -> Option<std::slice::Iter<'_, DirEntry>> {
        let pos = self.list.binary_search_by_key(&cookie, |e| e.cookie).ok()?;
        Some(self.list[pos..].iter())
    }

    /// Entries in listing order.
    pub fn iter(&self) -> std::slice::Iter<'_, DirEntry> {
        self.list.iter()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when the directory is empty.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl<'a> IntoIterator for &'a DirEntries {
    type Item = &'a DirEntry;
    type IntoIter = std::slice::Iter<'a, DirEntry>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// What a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A directory: its entries (without "." and "..") and its parent.
    Dir {
        /// Entries in creation order.
        entries: DirEntries,
        /// The next cookie to hand out.
        next_cookie: u64,
        /// The parent directory (itself for a file-system root).
        parent: NodeId,
    },
    /// A regular file.
    File(Vec<u8>),
    /// A symbolic link and its target.
    Symlink(Vec<u8>),
    /// A character (`block` false) or block device node and its device number
    /// (the console, or one made by mknod).
    Device {
        /// S_IFBLK rather than S_IFCHR.
        block: bool,
        /// st_rdev.
        rdev: u64,
    },
    /// A named pipe (mkfifo, or mknod's S_IFIFO refused, see sys/file/names.rs `vop_open`).
    Fifo,
    /// A socket's name in the file system (an AF_LOCAL bind).
    Socket,
}

/// A file-system node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Type and contents.
    pub kind: NodeKind,
    /// Permission bits (07777).
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link count.
    pub nlink: u32,
    /// Inode number.
    pub ino: u64,
    /// The mount it belongs to.
    pub mount: MountId,
    /// Access, modification, change and birth times.
    pub atime: Timespec,
    /// Modification time.
    pub mtime: Timespec,
    /// Status change time.
    pub ctime: Timespec,
    /// Birth time.
    pub birthtime: Timespec,
    /// A mount covering this directory.
    pub mounted_here: Option<MountId>,
    /// Open files referring to it (the node lives on after its last link while open).
    pub open_refs: u32,
    /// Processes whose cwd or root (chroot) it is.
    pub cwd_refs: u32,
    /// File flags (st_flags: UF_* and SF_*), as chflags set them.
    pub flags: u32,
}

impl Node {
    /// The S_IFMT bits.
    pub fn type_bits(&self) -> u32 {
        match self.kind {
            NodeKind::Dir { .. } => S_IFDIR,
            NodeKind::File(_) => S_IFREG,
            NodeKind::Symlink(_) => S_IFLNK,
            NodeKind::Device { block: false, .. } => S_IFCHR,
            NodeKind::Device { block: true, .. } => S_IFBLK,
            NodeKind::Fifo => S_IFIFO,
            NodeKind::Socket => S_IFSOCK,
        }
    }

    /// The dirent type.
    pub fn dtype(&self) -> u8 {
        match self.kind {
            NodeKind::Dir { .. } => DT_DIR,
            NodeKind::File(_) => DT_REG,
            NodeKind::Symlink(_) => DT_LNK,
            NodeKind::Device { block: false, .. } => DT_CHR,
            NodeKind::Device { block: true, .. } => DT_BLK,
            NodeKind::Fifo => DT_FIFO,
            NodeKind::Socket => DT_SOCK,
        }
    }

    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, NodeKind::Dir { .. })
    }

    /// Size as stat reports it.
    pub fn size(&self, fs: FsType) -> u64 {
        match (&self.kind, fs) {
            (NodeKind::Dir { .. }, FsType::Rumpfs) => 512,
            (NodeKind::Dir { entries, .. }, FsType::Tmpfs) => 48 * entries.len() as u64,
            (NodeKind::File(d), _) => d.len() as u64,
            (NodeKind::Symlink(t), _) => t.len() as u64,
            (NodeKind::Device { .. } | NodeKind::Fifo | NodeKind::Socket, _) => 0,
        }
    }
}

/// A mounted file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Which file system.
    pub fstype: FsType,
    /// Its root directory.
    pub root: NodeId,
    /// The directory it covers (None for the root file system).
    pub covered: Option<NodeId>,
    /// The path it is mounted on.
    pub on: String,
    /// Visible mount flags (statvfs f_flag).
    pub flags: u64,
    /// Mounting user.
    pub owner: u32,
    /// Device number (st_dev of tmpfs nodes, statvfs fsid).
    pub dev: u64,
    /// Byte limit (0 = unlimited).
    pub size_max: u64,
    /// Node limit (0 = derived).
    pub nodes_max: u64,
    /// Nodes in use.
    pub nodes_used: u64,
    /// Data bytes in use.
    pub bytes_used: u64,
    /// Next inode number.
    pub next_ino: u64,
    /// Root uid/gid/mode as given at mount time (for MNT_GETARGS).
    pub args: (u32, u32, u32),
    /// The usage statistics last taken (`mnt_stat`): pages in use (counting
    /// one for the file system itself) and nodes in use, as at mount time or
    /// at the last statvfs with MNT_WAIT or 0. MNT_NOWAIT, MNT_LAZY and any
    /// other flag value get these, not the live counts (`dostatvfs`). None
    /// until first taken: the root rumpfs is mounted without a VFS_STATVFS, so
    /// until then it reports only what mounting set (no block sizes).
    pub stat_cache: Option<(u64, u64)>,
}

/// Unlimited tmpfs: free pages and free nodes as a rump kernel with the default memory reports them.
pub const TMPFS_FREE_PAGES: u64 = 131_072;
/// See [`TMPFS_FREE_PAGES`].
pub const TMPFS_FREE_NODES: u64 = 2_485_513;

/// Bytes of the memory pool one node costs besides its contents: what
/// tmpfs_node_get charges with tmpfs_mem_incr (the node structure). Set to
/// what a node really takes in this process (the Node, its slot in the node
/// map and the allocator's overhead: about 450 bytes measured with
/// `SYMLINK_TARGET=1 ATTACKS=symlink-flood ci/attacks.sh`), so that a full
/// pool is about as much resident memory as it says.
pub const NODE_MEM: u64 = 512;
/// Bytes one directory entry costs besides its name (tmpfs_dirent_get); the
/// name is counted twice, as it is held twice (the listing and the index).
pub const DIRENT_MEM: u64 = 96;

/// Pool bytes a directory entry called `name` holds.
pub fn dirent_mem(name: &[u8]) -> u64 {
    DIRENT_MEM + 2 * name.len() as u64
}

/// Pool bytes a node holds besides file data: its structure, a symlink's
/// target and a directory's entries (file data is counted per mount).
pub fn node_meta(n: &NodeKind) -> u64 {
    NODE_MEM
        + match n {
            NodeKind::Symlink(t) => t.len() as u64,
            NodeKind::Dir { entries, .. } => entries.iter().map(|e| dirent_mem(&e.name)).sum(),
            _ => 0,
        }
}

/// The file systems.
#[derive(Debug, Clone)]
pub struct Vfs {
    /// Every node.
    pub nodes: BTreeMap<NodeId, Node>,
    /// Every mount, in mount order.
    pub mounts: BTreeMap<MountId, Mount>,
    /// The root directory.
    pub root: NodeId,
    /// Pool bytes held by nodes, names and symlink targets (everything but
    /// file data): the sum of [`node_meta`] over every node.
    pub meta_bytes: u64,
    next_node: NodeId,
    next_mount: MountId,
    /// vfs_getnewfsid's counter: it advances only past numbers in use by a mount of the same type.
    mntid: u64,
    /// tmpfs directories whose "." the name cache holds (the `(dir, ".")`
    /// entries tmpfs_lookup enters): the only name a removed directory still
    /// answers. Interior so that a lookup, which only reads, can keep it.
    dot_cache: DotCache,
}

/// The set behind [`Vfs`]'s name-cache model, behind a lock so that a
/// lookup through `&Vfs` can keep it and the kernel stays `Sync`.
#[derive(Debug, Default)]
struct DotCache(Mutex<BTreeSet<NodeId>>);

impl DotCache {
    /// The set (a poisoned lock still holds a usable set).
    fn set(&self) -> MutexGuard<'_, BTreeSet<NodeId>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clone for DotCache {
    fn clone(&self) -> DotCache {
        DotCache(Mutex::new(self.set().clone()))
    }
}

/// namei's `cn_nameiop`: what the lookup is for. It decides whether the
/// last component may be cached (`MAKEENTRY`: not for DELETE, nor for
/// rename's target, which is looked up with NOCACHE) and whether tmpfs
/// enters a "." it finds (not for CREATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nameiop {
    /// LOOKUP.
    Lookup,
    /// CREATE.
    Create,
    /// DELETE (unlink, rmdir, rename's source).
    Delete,
    /// RENAME (rename's target, NOCACHE).
    Rename,
}

/// The result of resolving a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The directory holding the last component.
    pub parent: NodeId,
    /// The last component ("." for "/").
    pub name: Vec<u8>,
    /// The node, if it exists.
    pub node: Option<NodeId>,
    /// The path ended in '/'.
    pub trailing_slash: bool,
    /// The last component is the root of a file system reached by crossing
    /// the mount point it covers, or the path is "/" itself: namei refuses to
    /// create (EEXIST), remove or rename (EBUSY) such a name.
    pub crossed: bool,
}

/// Who is asking, for permission checks during lookup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cred {
    /// Real uid.
    pub uid: u32,
    /// Effective uid.
    pub euid: u32,
    /// Real gid.
    pub gid: u32,
    /// Effective gid.
    pub egid: u32,
    /// Saved uid.
    pub svuid: u32,
    /// Saved gid.
    pub svgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

impl Cred {
    /// True for the superuser.
    pub fn is_root(&self) -> bool {
        self.euid == 0
    }

    /// True when `gid` is the effective or a supplementary group.
    pub fn in_group(&self, gid: u32) -> bool {
        self.egid == gid || self.groups.contains(&gid)
    }
}

impl Vfs {
    /// A rumpfs root with /dev/console and /tmp, as a rump kernel boots.
    pub fn new(now: Timespec) -> Vfs {
        let mut v = Vfs {
            nodes: BTreeMap::new(),
            mounts: BTreeMap::new(),
            root: 0,
            meta_bytes: 0,
            next_node: 1,
            next_mount: 1,
            mntid: 1,
            dot_cache: DotCache::default(),
        };
        let m = v.next_mount;
        v.next_mount += 1;
        v.mounts.insert(
            m,
            Mount {
                fstype: FsType::Rumpfs,
                root: 0,
                covered: None,
                on: "/".into(),
                flags: MNT_LOCAL | MNT_ROOTFS,
                owner: 0,
                dev: 0xab01,
                size_max: 0,
                nodes_max: 0,
                nodes_used: 0,
                bytes_used: 0,
                next_ino: 3,
                args: (0, 0, 0o755),
                stat_cache: None,
            },
        );
        let root = v.alloc(
            m,
            NodeKind::Dir {
                entries: DirEntries::default(),
                next_cookie: 3,
                parent: 0,
            },
            0o755,
            0,
            0,
            now,
        );
        if let Some(NodeKind::Dir { parent, .. }) = v.nodes.get_mut(&root).map(|n| &mut n.kind) {
            *parent = root;
        }
        v.root = root;
        if let Some(mt) = v.mounts.get_mut(&m) {
            mt.root = root;
        }
        let dev = v.alloc(
            m,
            NodeKind::Dir {
                entries: DirEntries::default(),
                next_cookie: 3,
                parent: root,
            },
            0o755,
            0,
            0,
            now,
        );
        v.link(root, b"dev", dev);
        let console = v.alloc(
            m,
            NodeKind::Device {
                block: false,
                rdev: 0,
            },
            0o600,
            0,
            0,
            now,
        );
        v.link(dev, b"console", console);
        let tmp = v.alloc(
            m,
            NodeKind::Dir {
                entries: DirEntries::default(),
                next_cookie: 3,
                parent: root,
            },
            0o1777,
            0,
            0,
            now,
        );
        v.link(root, b"tmp", tmp);
        v
    }

    /// Creates a node (not yet linked anywhere; nlink 0 for files, 2 for directories).
    pub fn alloc(
        &mut self,
        mount: MountId,
        kind: NodeKind,
        perm: u32,
        uid: u32,
        gid: u32,
        now: Timespec,
    ) -> NodeId {
        let id = self.next_node;
        self.next_node += 1;
        let mt = self.mounts.get_mut(&mount).expect("mount exists");
        let ino = mt.next_ino;
        mt.next_ino += 1;
        mt.nodes_used += 1;
        self.meta_bytes += node_meta(&kind);
        let nlink = if matches!(kind, NodeKind::Dir { .. }) {
            1
        } else {
            0
        };
        self.nodes.insert(
            id,
            Node {
                kind,
                perm: perm & ALLPERMS,
                uid,
                gid,
                nlink,
                ino,
                mount,
                atime: now,
                mtime: now,
                ctime: now,
                birthtime: now,
                mounted_here: None,
                open_refs: 0,
                cwd_refs: 0,
                flags: 0,
            },
        );
        id
    }

    /// Adds `name` → `node` to `dir` (a subdirectory also gets its parent and
    /// bumps the link counts). A whiteout entry of that name goes first, as
    /// tmpfs_alloc_file removes it before attaching the new entry.
    pub fn link(&mut self, dir: NodeId, name: &[u8], node: NodeId) {
        self.remove_whiteout(dir, name);
        let is_dir = self.nodes.get(&node).is_some_and(Node::is_dir);
        if let Some(NodeKind::Dir {
            entries,
            next_cookie,
            ..
        }) = self.nodes.get_mut(&dir).map(|n| &mut n.kind)
        {
            entries.push(DirEntry {
                name: name.to_vec(),
                node,
                cookie: *next_cookie,
            });
            *next_cookie += 1;
            self.meta_bytes += dirent_mem(name);
        }
        if let Some(n) = self.nodes.get_mut(&node) {
            n.nlink += 1;
            if let NodeKind::Dir { parent, .. } = &mut n.kind {
                *parent = dir;
            }
        }
        if is_dir {
            if let Some(d) = self.nodes.get_mut(&dir) {
                d.nlink += 1;
            }
        }
    }

    /// True when `dir` holds a whiteout entry called `name`.
    pub fn is_whiteout(&self, dir: NodeId, name: &[u8]) -> bool {
        matches!(&self.nodes.get(&dir).map(|n| &n.kind),
            Some(NodeKind::Dir { entries, .. }) if entries.get(name).is_some_and(|e| e.node == WHITEOUT))
    }

    /// Adds a whiteout entry `name` to `dir` (VOP_WHITEOUT CREATE: a dirent
    /// that counts in the directory's size but names no node).
    pub fn add_whiteout(&mut self, dir: NodeId, name: &[u8]) {
        if let Some(NodeKind::Dir {
            entries,
            next_cookie,
            ..
        }) = self.nodes.get_mut(&dir).map(|n| &mut n.kind)
        {
            if entries.get(name).is_some() {
                return;
            }
            entries.push(DirEntry {
                name: name.to_vec(),
                node: WHITEOUT,
                cookie: *next_cookie,
            });
            *next_cookie += 1;
            self.meta_bytes += dirent_mem(name);
        }
    }

    /// Removes the whiteout entry `name` of `dir`, if it has one; true if it did.
    pub fn remove_whiteout(&mut self, dir: NodeId, name: &[u8]) -> bool {
        if !self.is_whiteout(dir, name) {
            return false;
        }
        if let Some(NodeKind::Dir { entries, .. }) = self.nodes.get_mut(&dir).map(|n| &mut n.kind) {
            entries.remove(name);
            self.meta_bytes = self.meta_bytes.saturating_sub(dirent_mem(name));
        }
        true
    }

    /// Removes every whiteout entry of `dir` (tmpfs_rmdir destroys them
    /// with the directory).
    pub fn clear_whiteouts(&mut self, dir: NodeId) {
        let names: Vec<Vec<u8>> = match self.nodes.get(&dir).map(|n| &n.kind) {
            Some(NodeKind::Dir { entries, .. }) => entries
                .iter()
                .filter(|e| e.node == WHITEOUT)
                .map(|e| e.name.clone())
                .collect(),
            _ => return,
        };
        for name in names {
            self.remove_whiteout(dir, &name);
        }
    }

    /// Removes `name` from `dir`; returns the node it named.
    pub fn unlink_entry(&mut self, dir: NodeId, name: &[u8]) -> Option<NodeId> {
        let NodeKind::Dir { entries, .. } = &mut self.nodes.get_mut(&dir)?.kind else {
            return None;
        };
        let node = entries.remove(name)?.node;
        self.meta_bytes = self.meta_bytes.saturating_sub(dirent_mem(name));
        let is_dir = self.nodes.get(&node).is_some_and(Node::is_dir);
        if let Some(n) = self.nodes.get_mut(&node) {
            n.nlink = n.nlink.saturating_sub(if is_dir { 2 } else { 1 });
        }
        if is_dir {
            if let Some(d) = self.nodes.get_mut(&dir) {
                d.nlink = d.nlink.saturating_sub(1);
            }
        }
        self.maybe_free(node);
        Some(node)
    }

    /// Frees a node with no links, no open files and no cwd references.
    pub fn maybe_free(&mut self, node: NodeId) {
        let Some(n) = self.nodes.get(&node) else {
            return;
        };
        if n.nlink == 0 && n.open_refs == 0 && n.cwd_refs == 0 {
            let mount = n.mount;
            let bytes = match &n.kind {
                NodeKind::File(d) => d.len() as u64,
                _ => 0,
            };
            let meta = node_meta(&n.kind);
            self.meta_bytes = self.meta_bytes.saturating_sub(meta);
            self.nodes.remove(&node);
            // the vnode's reclaim purges its name-cache entries
            self.dot_cache.set().remove(&node);
            if let Some(m) = self.mounts.get_mut(&mount) {
                m.nodes_used = m.nodes_used.saturating_sub(1);
                m.bytes_used = m.bytes_used.saturating_sub(bytes);
            }
        }
    }

    /// Renames the entry `from` of `dir` to `to` in place (it keeps its cookie
    /// and listing position, as tmpfs does), keeping the pool count.
    pub fn rename_entry(&mut self, dir: NodeId, from: &[u8], to: &[u8]) {
        self.remove_whiteout(dir, to);
        if let Some(NodeKind::Dir { entries, .. }) = self.nodes.get_mut(&dir).map(|n| &mut n.kind) {
            if entries.get(from).is_some() {
                entries.rename(from, to);
                self.meta_bytes = self.meta_bytes.saturating_sub(dirent_mem(from)) + dirent_mem(to);
            }
        }
    }

    /// The sum of [`node_meta`] over every node: what [`Vfs::meta_bytes`] must equal.
    pub fn recount_meta(&self) -> u64 {
        self.nodes.values().map(|n| node_meta(&n.kind)).sum()
    }

    /// Looks `name` up in directory `dir` (no "." / ".." handling, no mount
    /// crossing). A whiteout is no entry: tmpfs_lookup answers ENOENT for it
    /// (or EJUSTRETURN for a creation).
    pub fn child(&self, dir: NodeId, name: &[u8]) -> Option<NodeId> {
        match &self.nodes.get(&dir)?.kind {
            NodeKind::Dir { entries, .. } => {
                entries.get(name).map(|e| e.node).filter(|&n| n != WHITEOUT)
            }
            _ => None,
        }
    }

    /// The file system a node belongs to.
    pub fn fstype(&self, node: NodeId) -> FsType {
        self.nodes
            .get(&node)
            .and_then(|n| self.mounts.get(&n.mount))
            .map_or(FsType::Rumpfs, |m| m.fstype)
    }

    /// The mount a node belongs to.
    pub fn mount_of(&self, node: NodeId) -> Option<&Mount> {
        self.mounts.get(&self.nodes.get(&node)?.mount)
    }

    /// Follows mounts stacked on a directory down to the topmost root.
    pub fn cross_mounts(&self, mut node: NodeId) -> NodeId {
        for _ in 0..64 {
            match self
                .nodes
                .get(&node)
                .and_then(|n| n.mounted_here)
                .and_then(|m| self.mounts.get(&m))
            {
                Some(m) => node = m.root,
                None => break,
            }
        }
        node
    }

    /// The parent of a directory for "..": a mount root goes to the parent of what it covers.
    pub fn dotdot(&self, mut dir: NodeId) -> NodeId {
        for _ in 0..64 {
            let Some(n) = self.nodes.get(&dir) else {
                return dir;
            };
            let Some(m) = self.mounts.get(&n.mount) else {
                return dir;
            };
            if m.root == dir {
                match m.covered {
                    Some(c) => dir = c,
                    None => return dir,
                }
            } else {
                break;
            }
        }
        match self.nodes.get(&dir).map(|n| &n.kind) {
            Some(NodeKind::Dir { parent, .. }) => self.cross_mounts(*parent),
            _ => dir,
        }
    }

    /// May `cred` access `node` with `want` (R_OK | W_OK | X_OK bits)?
    pub fn permits(&self, node: NodeId, cred: &Cred, want: i32) -> bool {
        let Some(n) = self.nodes.get(&node) else {
            return false;
        };
        if cred.is_root() {
            // root may read and write anything; execute/search needs some x bit (or a directory)
            return want & X_OK == 0 || n.is_dir() || n.perm & 0o111 != 0;
        }
        let shift = if cred.euid == n.uid {
            6
        } else if cred.in_group(n.gid) {
            3
        } else {
            0
        };
        let bits = (n.perm >> shift) & 7;
        (bits as i32 & want) == want
    }

    /// The directory "/" names for a process whose chroot directory is
    /// `chroot` (`None`: not chrooted).
    pub fn root_for(&self, chroot: Option<NodeId>) -> NodeId {
        chroot.unwrap_or_else(|| self.cross_mounts(self.root))
    }

    /// Resolves `path` starting at `start` (the cwd or a directory fd), with
    /// `root` as "/" (absolute paths and symlinks start there, ".." there
    /// stays there, as namei does with the process's cwdi_rdir).
    /// `follow_last`: follow a symlink in the last component.
    pub fn resolve(
        &self,
        start: NodeId,
        root: NodeId,
        path: &[u8],
        follow_last: bool,
        cred: &Cred,
        iop: Nameiop,
    ) -> Result<Resolved, i32> {
        if path.is_empty() {
            return Err(ENOENT);
        }
        let mut pending: Vec<u8> = path.to_vec();
        let mut cur = if pending.first() == Some(&b'/') {
            root
        } else {
            start
        };
        let mut links = 0usize;
        loop {
            let trailing_slash =
                pending.last() == Some(&b'/') && pending.iter().any(|&b| b != b'/');
            // each component with the offset just past it in `pending`: what
            // follows (its slashes included) is NetBSD's ni_next
            let mut comps: Vec<(&[u8], usize)> = Vec::new();
            let mut at = 0usize;
            for part in pending.split(|&b| b == b'/') {
                let end = at + part.len();
                if !part.is_empty() {
                    comps.push((part, end));
                }
                at = end + 1;
            }
            if comps.is_empty() {
                // "/" or "///": the root itself
                return Ok(Resolved {
                    parent: cur,
                    name: b".".to_vec(),
                    node: Some(cur),
                    trailing_slash: false,
                    crossed: true,
                });
            }
            let mut restart: Option<Vec<u8>> = None;
            for (i, &(comp, end)) in comps.iter().enumerate() {
                let last = i + 1 == comps.len();
                let dir = self.nodes.get(&cur).ok_or(ENOENT)?;
                if !dir.is_dir() {
                    return Err(ENOTDIR);
                }
                if !self.permits(cur, cred, X_OK) {
                    return Err(EACCES);
                }
                let name_max = match self.fstype(cur) {
                    FsType::Tmpfs => TMPFS_NAME_MAX,
                    FsType::Rumpfs => RUMPFS_NAME_MAX,
                };
                if comp.len() > name_max {
                    return Err(ENAMETOOLONG);
                }
                if self.fstype(cur) == FsType::Tmpfs {
                    self.tmpfs_cache_step(cur, dir.nlink == 0, comp, last, iop)?;
                }
                let mut crossed = false;
                let found = match comp {
                    b"." => Some(cur),
                    b".." if cur == root => Some(cur),
                    b".." => Some(self.dotdot(cur)),
                    _ => self.child(cur, comp).map(|c| {
                        let top = self.cross_mounts(c);
                        crossed = top != c;
                        top
                    }),
                };
                // a symlink in the middle is always followed; the last one on request
                // (or when a trailing slash asks for a directory)
                let follow = !last || follow_last || trailing_slash;
                if let Some(NodeKind::Symlink(target)) =
                    found.and_then(|f| self.nodes.get(&f)).map(|n| &n.kind)
                {
                    if follow {
                        // namei_follow: the loop count, then the link's
                        // text: an empty one is ENOENT, and the text with the
                        // rest of the path (ni_pathlen counts the NUL) must
                        // stay under MAXPATHLEN
                        links += 1;
                        if links > MAXSYMLINKS {
                            return Err(ELOOP);
                        }
                        if target.is_empty() {
                            return Err(ENOENT);
                        }
                        let rest = pending.get(end..).unwrap_or_default();
                        if target.len() + rest.len() + 1 >= MAXPATHLEN as usize {
                            return Err(ENAMETOOLONG);
                        }
                        let mut p = target.clone();
                        p.extend_from_slice(rest);
                        if p.first() == Some(&b'/') {
                            cur = root;
                        }
                        restart = Some(p);
                        break;
                    }
                }
                if last {
                    if let Some(f) = found {
                        if trailing_slash && !self.nodes.get(&f).is_some_and(Node::is_dir) {
                            return Err(ENOTDIR);
                        }
                    }
                    return Ok(Resolved {
                        parent: cur,
                        name: comp.to_vec(),
                        node: found,
                        trailing_slash,
                        crossed,
                    });
                }
                cur = found.ok_or(ENOENT)?;
            }
            match restart {
                Some(p) if p.is_empty() => return Err(ENOENT),
                Some(p) => pending = p,
                None => return Err(ENOENT),
            }
        }
    }

    /// What tmpfs_lookup does in tmpfs directory `dir` before it looks for
    /// `comp`, with the name cache's `(dir, ".")` entry: `cache_lookup` drops
    /// it for a last component that may not be cached (and misses), and hits
    /// it otherwise; a miss in a removed directory (`tn_links` 0: "Treat an
    /// unlinked directory as empty (no "." or "..")") is ENOENT, for any
    /// name; a "." found in a live directory is entered (`done:`), unless the
    /// lookup is a CREATE or may not cache.
    fn tmpfs_cache_step(
        &self,
        dir: NodeId,
        removed: bool,
        comp: &[u8],
        last: bool,
        iop: Nameiop,
    ) -> Result<(), i32> {
        let makeentry = !last || matches!(iop, Nameiop::Lookup | Nameiop::Create);
        if comp != b"." {
            return if removed { Err(ENOENT) } else { Ok(()) };
        }
        let mut cache = self.dot_cache.set();
        let cached = cache.contains(&dir);
        if cached && !makeentry {
            cache.remove(&dir);
        }
        if cached && makeentry {
            return Ok(());
        }
        if removed {
            return Err(ENOENT);
        }
        if makeentry && iop != Nameiop::Create {
            cache.insert(dir);
        }
        Ok(())
    }

    /// `cache_purge` of a vnode: drops the `(dir, ".")` entry it heads.
    pub fn purge_dot(&self, dir: NodeId) {
        self.dot_cache.set().remove(&dir);
    }

    /// Whether the name cache holds tmpfs directory `dir`'s "." (tests).
    pub fn dot_cached(&self, dir: NodeId) -> bool {
        self.dot_cache.set().contains(&dir)
    }

    /// The absolute path of a directory (for __getcwd).
    pub fn path_of(&self, dir: NodeId) -> Vec<u8> {
        self.path_below(dir, None).unwrap_or_else(|| b"/".to_vec())
    }

    /// Is `dir` `root` or below it (`vn_isunder`)?
    pub fn is_under(&self, mut dir: NodeId, root: NodeId) -> bool {
        for _ in 0..=self.nodes.len() {
            if dir == root {
                return true;
            }
            let up = self.dotdot(dir);
            if up == dir {
                return false;
            }
            dir = up;
        }
        false
    }

    /// The path of a directory as seen from `root` (a chroot directory;
    /// `None`: the file system root), or `None` when it is not below it.
    pub fn path_below(&self, mut dir: NodeId, root: Option<NodeId>) -> Option<Vec<u8>> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        // Every step goes one directory up a tree, so the walk ends within
        // as many steps as there are nodes.
        for _ in 0..=self.nodes.len() {
            if Some(dir) == root {
                break;
            }
            let up = self.dotdot(dir);
            if up == dir {
                if root.is_some() {
                    return None;
                }
                break;
            }
            // the name of `dir` in `up`: for a mount root, of the directory it
            // covers, down through file systems stacked on one another
            let mut me = dir;
            while let Some(c) = self
                .mount_of(me)
                .filter(|m| m.root == me)
                .and_then(|m| m.covered)
            {
                me = c;
            }
            let name = match self.nodes.get(&self.raw_parent(me)).map(|n| &n.kind) {
                Some(NodeKind::Dir { entries, .. }) => entries
                    .iter()
                    .find(|e| e.node == me)
                    .map(|e| e.name.clone()),
                _ => None,
            };
            parts.push(name.unwrap_or_default());
            dir = up;
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        Some(out)
    }

    fn raw_parent(&self, dir: NodeId) -> NodeId {
        match self.nodes.get(&dir).map(|n| &n.kind) {
            Some(NodeKind::Dir { parent, .. }) => *parent,
            _ => dir,
        }
    }

    /// Mounts a new tmpfs on directory `covered` (already checked); returns the mount.
    #[allow(clippy::too_many_arguments)]
    pub fn mount_tmpfs(
        &mut self,
        covered: NodeId,
        on: String,
        flags: u64,
        owner: u32,
        size_max: u64,
        nodes_max: u64,
        root: (u32, u32, u32),
        now: Timespec,
    ) -> MountId {
        let m = self.next_mount;
        self.next_mount += 1;
        let mut dev = 0xab00 + self.mntid;
        while self
            .mounts
            .values()
            .any(|x| x.fstype == FsType::Tmpfs && x.dev == dev)
        {
            dev += 1;
            self.mntid += 1;
        }
        self.mounts.insert(
            m,
            Mount {
                fstype: FsType::Tmpfs,
                root: 0,
                covered: Some(covered),
                on,
                flags: flags | MNT_LOCAL,
                owner,
                dev,
                size_max,
                nodes_max,
                nodes_used: 0,
                bytes_used: 0,
                next_ino: 2,
                args: root,
                stat_cache: Some((1, 1)),
            },
        );
        let r = self.alloc(
            m,
            NodeKind::Dir {
                entries: DirEntries::default(),
                next_cookie: 3,
                parent: 0,
            },
            root.2,
            root.0,
            root.1,
            now,
        );
        if let Some(n) = self.nodes.get_mut(&r) {
            n.nlink = 2;
            if let NodeKind::Dir { parent, .. } = &mut n.kind {
                *parent = r;
            }
        }
        if let Some(mt) = self.mounts.get_mut(&m) {
            mt.root = r;
        }
        if let Some(c) = self.nodes.get_mut(&covered) {
            c.mounted_here = Some(m);
        }
        m
    }

    /// True when a node of the mount is open, somebody's cwd, or covered by another mount.
    pub fn mount_busy(&self, m: MountId) -> bool {
        self.nodes.values().any(|n| {
            n.mount == m && (n.open_refs > 0 || n.cwd_refs > 0 || n.mounted_here.is_some())
        })
    }

    /// Removes a mount and its nodes.
    pub fn unmount(&mut self, m: MountId) {
        let Some(mt) = self.mounts.remove(&m) else {
            return;
        };
        if let Some(c) = mt.covered.and_then(|c| self.nodes.get_mut(&c)) {
            c.mounted_here = None;
        }
        let freed: u64 = self
            .nodes
            .values()
            .filter(|n| n.mount == m)
            .map(|n| node_meta(&n.kind))
            .sum();
        self.meta_bytes = self.meta_bytes.saturating_sub(freed);
        self.nodes.retain(|_, n| n.mount != m);
    }
}

#[cfg(test)]
mod dir_entries_tests {
    use super::*;

    #[test]
    fn from_cookie_resumes_at_that_entry_and_refuses_unknown_cookies() {
        let mut d = DirEntries::default();
        for (i, name) in [&b"a"[..], b"b", b"c", b"d"].iter().enumerate() {
            d.push(DirEntry {
                name: name.to_vec(),
                node: NodeId::default(),
                cookie: 3 + i as u64,
            });
        }
        d.remove(b"b");
        let names =
            |it: std::slice::Iter<'_, DirEntry>| it.map(|e| e.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(d.from_cookie(5).unwrap()),
            [b"c".to_vec(), b"d".to_vec()]
        );
        assert_eq!(names(d.from_cookie(3).unwrap()).len(), 3);
        assert!(d.from_cookie(4).is_none(), "removed entry's cookie");
        assert!(d.from_cookie(7).is_none());
    }
}
