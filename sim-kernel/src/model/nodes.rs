//! The node model: names bound to numbered nodes, as in tmpfs, so that the
//! operations the tree model cannot express can be checked against the
//! kernel: hard links (two names, one file), symlinks, fifos, and open
//! descriptors that keep their file after it is renamed or removed.
//!
//! Paths are lists of components below some fixed directory, which the model
//! treats as an existing directory it does not count links of. Every symlink
//! points at [`SYMLINK_TARGET`], an absolute path through a directory that
//! does not exist, so following one always gives ENOENT; no permissions and
//! no mounts are modelled.

use std::collections::BTreeMap;

use crate::consts::{EBADF, EEXIST, EINVAL, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, EOPNOTSUPP, EPERM};

use super::tree::ModelPath;

/// A node's number in the model (not the kernel's st_ino).
pub type Ino = u32;

/// What every symlink of the model points at: following it fails with ENOENT.
pub const SYMLINK_TARGET: &[u8] = b"/nx/x";

/// What a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file and its contents.
    File(Vec<u8>),
    /// A symbolic link (its target is always [`SYMLINK_TARGET`]).
    Symlink,
    /// A named pipe.
    Fifo,
}

/// A node and its link count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    /// st_nlink: names of it, plus "." and the ".." of each subdirectory for a directory.
    pub nlink: u32,
}

/// An open descriptor: the node it holds and its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFile {
    /// The node.
    pub ino: Ino,
    /// The file offset.
    pub offset: u64,
}

/// What `stat` shows of a node, as far as the model knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatView {
    /// The S_IFMT bits of st_mode.
    pub format: u32,
    /// st_nlink.
    pub nlink: u32,
    /// st_size, for files, symlinks and fifos (directories: `None`, tmpfs counts its entries).
    pub size: Option<u64>,
}

/// S_IFDIR.
pub const S_IFDIR: u32 = 0o040000;
/// S_IFREG.
pub const S_IFREG: u32 = 0o100000;
/// S_IFLNK.
pub const S_IFLNK: u32 = 0o120000;
/// S_IFIFO.
pub const S_IFIFO: u32 = 0o010000;

/// One operation, as one syscall (or, for `Create`, open with
/// O_WRONLY|O_CREAT|O_TRUNC, one write of the whole contents, and close).
/// Descriptors are named by slot: the n-th successful `Open` is slot n.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeOp {
    /// mkdir(path, 0755).
    Mkdir(ModelPath),
    /// Create or truncate a file and write these contents.
    Create(ModelPath, Vec<u8>),
    /// unlink.
    Unlink(ModelPath),
    /// rmdir.
    Rmdir(ModelPath),
    /// rename(from, to).
    Rename(ModelPath, ModelPath),
    /// __posix_rename(from, to): like rename, but two names of one file both stay.
    PosixRename(ModelPath, ModelPath),
    /// link(existing, new): follows a symlink in `existing`.
    Link(ModelPath, ModelPath),
    /// symlink(SYMLINK_TARGET, path).
    Symlink(ModelPath),
    /// mkfifo(path, 0644).
    Mkfifo(ModelPath),
    /// open(path, O_RDWR).
    Open(ModelPath),
    /// close of a slot.
    Close(usize),
    /// write of these bytes at the slot's offset.
    Write(usize, Vec<u8>),
    /// fstat of a slot.
    Fstat(usize),
    /// lstat of a path.
    Lstat(ModelPath),
}

/// The answer to one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// errno, 0 for success.
    Errno(i32),
    /// A successful stat.
    Stat(StatView),
}

/// The model's state: names, nodes and descriptors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeModel {
    /// Every name below the root, and the node it names.
    pub names: BTreeMap<ModelPath, Ino>,
    /// Every node that a name or a descriptor holds.
    pub nodes: BTreeMap<Ino, Node>,
    /// Descriptor slots, in the order they were opened; `None` once closed.
    pub slots: Vec<Option<OpenFile>>,
    next_ino: Ino,
}

fn starts_with(k: &[String], p: &[String]) -> bool {
    k.len() >= p.len() && k[..p.len()] == *p
}

fn errno(e: i32) -> Answer {
    Answer::Errno(e)
}

impl NodeModel {
    /// The node a name holds.
    fn node_at(&self, p: &[String]) -> Option<&Node> {
        self.names.get(p).and_then(|i| self.nodes.get(i))
    }

    /// errno for an ancestor that is missing (ENOENT), a symlink (followed to
    /// nowhere: ENOENT) or not a directory (ENOTDIR).
    fn parent_err(&self, p: &[String]) -> Option<i32> {
        for i in 1..p.len() {
            match self.node_at(&p[..i]).map(|n| &n.kind) {
                None | Some(Kind::Symlink) => return Some(ENOENT),
                Some(Kind::File(_)) | Some(Kind::Fifo) => return Some(ENOTDIR),
                Some(Kind::Dir) => {}
            }
        }
        None
    }

    /// Names strictly below `p`.
    fn below<'a>(&'a self, p: &'a [String]) -> impl Iterator<Item = &'a ModelPath> {
        self.names
            .range(p.to_vec()..)
            .map(|(k, _)| k)
            .skip_while(move |k| k.as_slice() == p)
            .take_while(move |k| starts_with(k, p))
    }

    /// Adds `d` to the link count of the directory holding `p` (the root is not counted).
    fn parent_links(&mut self, p: &[String], d: i32) {
        if p.len() < 2 {
            return;
        }
        if let Some(n) = self
            .names
            .get(&p[..p.len() - 1])
            .and_then(|i| self.nodes.get_mut(i))
        {
            n.nlink = n.nlink.saturating_add_signed(d);
        }
    }

    fn new_node(&mut self, p: &[String], kind: Kind) {
        let ino = self.next_ino;
        self.next_ino += 1;
        let dir = kind == Kind::Dir;
        let nlink = if dir { 2 } else { 1 };
        self.nodes.insert(ino, Node { kind, nlink });
        self.names.insert(p.to_vec(), ino);
        if dir {
            self.parent_links(p, 1);
        }
    }

    /// Drops a name (and its node, when nothing holds the node any more).
    fn drop_name(&mut self, p: &[String]) {
        let Some(ino) = self.names.remove(p) else {
            return;
        };
        let dir = self.is_dir_ino(ino);
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.nlink = if dir { 0 } else { n.nlink.saturating_sub(1) };
        }
        if dir {
            self.parent_links(p, -1);
        }
        self.collect(ino);
    }

    fn is_dir_ino(&self, ino: Ino) -> bool {
        matches!(self.nodes.get(&ino).map(|n| &n.kind), Some(Kind::Dir))
    }

    /// Forgets a node no name and no descriptor holds.
    fn collect(&mut self, ino: Ino) {
        let named = self.nodes.get(&ino).is_some_and(|n| n.nlink > 0);
        let open = self.slots.iter().flatten().any(|f| f.ino == ino);
        if !named && !open {
            self.nodes.remove(&ino);
        }
    }

    fn slot(&self, s: usize) -> Option<OpenFile> {
        self.slots.get(s).copied().flatten()
    }

    fn view(n: &Node) -> StatView {
        let (format, size) = match &n.kind {
            Kind::Dir => (S_IFDIR, None),
            Kind::File(d) => (S_IFREG, Some(d.len() as u64)),
            Kind::Symlink => (S_IFLNK, Some(SYMLINK_TARGET.len() as u64)),
            Kind::Fifo => (S_IFIFO, Some(0)),
        };
        StatView {
            format,
            nlink: n.nlink,
            size,
        }
    }

    /// Applies `op` and returns NetBSD's answer to it.
    pub fn apply(&mut self, op: &NodeOp) -> Answer {
        match op {
            NodeOp::Mkdir(p) => self.make(p, Kind::Dir),
            NodeOp::Symlink(p) => self.make(p, Kind::Symlink),
            NodeOp::Mkfifo(p) => self.make(p, Kind::Fifo),
            NodeOp::Create(p, data) => self.create(p, data),
            NodeOp::Unlink(p) => self.unlink(p),
            NodeOp::Rmdir(p) => self.rmdir(p),
            NodeOp::Rename(a, b) => self.rename(a, b, false),
            NodeOp::PosixRename(a, b) => self.rename(a, b, true),
            NodeOp::Link(a, b) => self.link(a, b),
            NodeOp::Open(p) => self.open(p),
            NodeOp::Close(s) => match self.slot(*s) {
                None => errno(EBADF),
                Some(f) => {
                    self.slots[*s] = None;
                    self.collect(f.ino);
                    errno(0)
                }
            },
            NodeOp::Write(s, data) => self.write(*s, data),
            NodeOp::Fstat(s) => match self.slot(*s).and_then(|f| self.nodes.get(&f.ino)) {
                None => errno(EBADF),
                Some(n) => Answer::Stat(Self::view(n)),
            },
            NodeOp::Lstat(p) => {
                if let Some(e) = self.parent_err(p) {
                    return errno(e);
                }
                match self.node_at(p) {
                    None => errno(ENOENT),
                    Some(n) => Answer::Stat(Self::view(n)),
                }
            }
        }
    }

    /// mkdir, symlink, mkfifo: a new name for a new node.
    fn make(&mut self, p: &[String], kind: Kind) -> Answer {
        if let Some(e) = self.parent_err(p) {
            return errno(e);
        }
        if self.names.contains_key(p) {
            return errno(EEXIST);
        }
        self.new_node(p, kind);
        errno(0)
    }

    fn create(&mut self, p: &[String], data: &[u8]) -> Answer {
        if let Some(e) = self.parent_err(p) {
            return errno(e);
        }
        let Some(&ino) = self.names.get(p) else {
            self.new_node(p, Kind::File(data.to_vec()));
            return errno(0);
        };
        let Some(n) = self.nodes.get_mut(&ino) else {
            return errno(ENOENT);
        };
        match &mut n.kind {
            Kind::Dir => errno(EISDIR),
            // O_CREAT without O_EXCL follows the link, to a directory that does not exist.
            Kind::Symlink => errno(ENOENT),
            // The fifo ops of a kernel without fifofs refuse VOP_OPEN.
            Kind::Fifo => errno(EOPNOTSUPP),
            Kind::File(d) => {
                *d = data.to_vec();
                errno(0)
            }
        }
    }

    fn unlink(&mut self, p: &[String]) -> Answer {
        if let Some(e) = self.parent_err(p) {
            return errno(e);
        }
        match self.node_at(p).map(|n| &n.kind) {
            None => errno(ENOENT),
            Some(Kind::Dir) => errno(EPERM),
            Some(_) => {
                self.drop_name(p);
                errno(0)
            }
        }
    }

    fn rmdir(&mut self, p: &[String]) -> Answer {
        if let Some(e) = self.parent_err(p) {
            return errno(e);
        }
        match self.node_at(p).map(|n| &n.kind) {
            None => errno(ENOENT),
            Some(Kind::Dir) if self.below(p).next().is_some() => errno(ENOTEMPTY),
            Some(Kind::Dir) => {
                self.drop_name(p);
                errno(0)
            }
            Some(_) => errno(ENOTDIR),
        }
    }

    fn rename(&mut self, a: &ModelPath, b: &ModelPath, posix: bool) -> Answer {
        if let Some(e) = self.parent_err(a) {
            return errno(e);
        }
        let Some(&src) = self.names.get(a) else {
            return errno(ENOENT);
        };
        if let Some(e) = self.parent_err(b) {
            return errno(e);
        }
        let src_dir = self.is_dir_ino(src);
        if src_dir && b.len() > a.len() && starts_with(b, a) {
            return errno(EINVAL);
        }
        if a == b {
            return errno(0);
        }
        if let Some(&dst) = self.names.get(b) {
            if dst == src {
                // Two names of one file: rename removes the source name,
                // __posix_rename leaves both.
                if !posix {
                    self.drop_name(a);
                }
                return errno(0);
            }
            match (src_dir, self.is_dir_ino(dst)) {
                (true, false) => return errno(ENOTDIR),
                (false, true) => return errno(EISDIR),
                (true, true) if self.below(b).next().is_some() => return errno(ENOTEMPTY),
                _ => {}
            }
            self.drop_name(b);
        }
        let moved: Vec<(ModelPath, Ino)> = self
            .names
            .range(a.clone()..)
            .take_while(|(k, _)| starts_with(k, a))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        self.names.retain(|k, _| !starts_with(k, a));
        if src_dir {
            self.parent_links(a, -1);
        }
        for (k, v) in moved {
            let mut nk = b.clone();
            nk.extend_from_slice(&k[a.len()..]);
            self.names.insert(nk, v);
        }
        if src_dir {
            self.parent_links(b, 1);
        }
        errno(0)
    }

    fn link(&mut self, a: &ModelPath, b: &ModelPath) -> Answer {
        if let Some(e) = self.parent_err(a) {
            return errno(e);
        }
        let Some(&src) = self.names.get(a) else {
            return errno(ENOENT);
        };
        // link(2) follows a symlink in its first path.
        if matches!(
            self.nodes.get(&src).map(|n| &n.kind),
            Some(Kind::Symlink) | None
        ) {
            return errno(ENOENT);
        }
        // do_sys_linkat: the new name is looked up (EEXIST) before a
        // directory source is refused (EPERM).
        if let Some(e) = self.parent_err(b) {
            return errno(e);
        }
        if self.names.contains_key(b) {
            return errno(EEXIST);
        }
        if self.is_dir_ino(src) {
            return errno(EPERM);
        }
        self.names.insert(b.clone(), src);
        if let Some(n) = self.nodes.get_mut(&src) {
            n.nlink += 1;
        }
        errno(0)
    }

    fn open(&mut self, p: &[String]) -> Answer {
        if let Some(e) = self.parent_err(p) {
            return errno(e);
        }
        let Some(&ino) = self.names.get(p) else {
            return errno(ENOENT);
        };
        match self.nodes.get(&ino).map(|n| &n.kind) {
            None | Some(Kind::Symlink) => errno(ENOENT),
            Some(Kind::Dir) => errno(EISDIR),
            Some(Kind::Fifo) => errno(EOPNOTSUPP),
            Some(Kind::File(_)) => {
                self.slots.push(Some(OpenFile { ino, offset: 0 }));
                errno(0)
            }
        }
    }

    fn write(&mut self, s: usize, data: &[u8]) -> Answer {
        let Some(f) = self.slot(s) else {
            return errno(EBADF);
        };
        // A write of nothing changes nothing, not even at an offset past the end.
        if data.is_empty() {
            return errno(0);
        }
        if let Some(Node {
            kind: Kind::File(d),
            ..
        }) = self.nodes.get_mut(&f.ino)
        {
            let at = f.offset as usize;
            let end = at + data.len();
            if d.len() < end {
                d.resize(end, 0);
            }
            d[at..end].copy_from_slice(data);
        }
        if let Some(Some(o)) = self.slots.get_mut(s) {
            o.offset += data.len() as u64;
        }
        errno(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ModelPath {
        s.split('/').map(str::to_owned).collect()
    }

    fn stat(m: &mut NodeModel, s: &str) -> StatView {
        match m.apply(&NodeOp::Lstat(p(s))) {
            Answer::Stat(v) => v,
            other => panic!("lstat {s}: {other:?}"),
        }
    }

    #[test]
    fn links_share_one_file_and_count_its_names() {
        let mut m = NodeModel::default();
        assert_eq!(m.apply(&NodeOp::Create(p("a"), b"xy".to_vec())), errno(0));
        assert_eq!(m.apply(&NodeOp::Link(p("a"), p("b"))), errno(0));
        assert_eq!(m.apply(&NodeOp::Link(p("a"), p("b"))), errno(EEXIST));
        assert_eq!(stat(&mut m, "b").nlink, 2);
        assert_eq!(m.apply(&NodeOp::Create(p("b"), b"z".to_vec())), errno(0));
        assert_eq!(stat(&mut m, "a").size, Some(1));
        // rename of one name onto the other removes the source; __posix_rename keeps both.
        assert_eq!(m.apply(&NodeOp::PosixRename(p("a"), p("b"))), errno(0));
        assert_eq!(stat(&mut m, "a").nlink, 2);
        assert_eq!(m.apply(&NodeOp::Rename(p("a"), p("b"))), errno(0));
        assert_eq!(m.apply(&NodeOp::Lstat(p("a"))), errno(ENOENT));
        assert_eq!(stat(&mut m, "b").nlink, 1);
    }

    #[test]
    fn an_open_file_outlives_its_name() {
        let mut m = NodeModel::default();
        m.apply(&NodeOp::Create(p("a"), b"abc".to_vec()));
        assert_eq!(m.apply(&NodeOp::Open(p("a"))), errno(0));
        assert_eq!(m.apply(&NodeOp::Unlink(p("a"))), errno(0));
        assert_eq!(m.apply(&NodeOp::Write(0, b"x".to_vec())), errno(0));
        let Answer::Stat(v) = m.apply(&NodeOp::Fstat(0)) else {
            panic!("fstat of an open slot")
        };
        assert_eq!((v.nlink, v.size), (0, Some(3)));
        assert_eq!(m.apply(&NodeOp::Close(0)), errno(0));
        assert!(m.nodes.is_empty(), "the last close frees the node");
        assert_eq!(m.apply(&NodeOp::Fstat(0)), errno(EBADF));
    }

    #[test]
    fn directories_count_their_subdirectories_and_refuse_what_netbsd_refuses() {
        let mut m = NodeModel::default();
        m.apply(&NodeOp::Mkdir(p("d")));
        m.apply(&NodeOp::Mkdir(p("d/e")));
        assert_eq!(stat(&mut m, "d").nlink, 3);
        assert_eq!(m.apply(&NodeOp::Link(p("d"), p("x"))), errno(EPERM));
        assert_eq!(m.apply(&NodeOp::Rename(p("d/e"), p("e"))), errno(0));
        assert_eq!(stat(&mut m, "d").nlink, 2);
        assert_eq!(m.apply(&NodeOp::Rename(p("e"), p("e/f"))), errno(EINVAL));
        m.apply(&NodeOp::Symlink(p("s")));
        assert_eq!(m.apply(&NodeOp::Open(p("s"))), errno(ENOENT));
        assert_eq!(m.apply(&NodeOp::Mkdir(p("s/t"))), errno(ENOENT));
        m.apply(&NodeOp::Mkfifo(p("f")));
        assert_eq!(m.apply(&NodeOp::Open(p("f"))), errno(EOPNOTSUPP));
        assert_eq!(m.apply(&NodeOp::Mkdir(p("f/t"))), errno(ENOTDIR));
        assert_eq!(m.apply(&NodeOp::Rename(p("f"), p("d"))), errno(EISDIR));
    }
}
