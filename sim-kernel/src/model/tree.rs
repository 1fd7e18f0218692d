//! The tree model: a directory tree, for checking the kernel:
//! path operations with the errno NetBSD gives for them, applied to a map
//! from path to entry. The model-based proptest and the deterministic
//! simulation feed it the operations they send to the kernel and compare.
//!
//! Paths are lists of components below some fixed directory; the model knows
//! nothing of permissions, links or mounts.

use std::collections::BTreeMap;

use crate::consts::{EINVAL, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, EPERM};
use crate::vfs::{NodeId, NodeKind, Vfs};

/// A path below the model's root, as components.
pub type ModelPath = Vec<String>;

/// What a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A directory.
    Dir,
    /// A regular file and its contents.
    File(Vec<u8>),
}

/// One path operation, as a single syscall (or, for `Create`, open with
/// O_CREAT|O_TRUNC followed by writing the whole contents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// mkdir.
    Mkdir(ModelPath),
    /// Create or truncate a file and give it these contents.
    Create(ModelPath, Vec<u8>),
    /// unlink.
    Unlink(ModelPath),
    /// rmdir.
    Rmdir(ModelPath),
    /// rename(from, to).
    Rename(ModelPath, ModelPath),
}

/// The tree: every path below the root and what it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsModel {
    /// Every entry, by path.
    pub entries: BTreeMap<ModelPath, Entry>,
}

fn starts_with(k: &[String], p: &[String]) -> bool {
    k.len() >= p.len() && k[..p.len()] == *p
}

impl FsModel {
    /// errno for a missing or non-directory ancestor, if any.
    fn parent_err(&self, p: &[String]) -> Option<i32> {
        for i in 1..p.len() {
            match self.entries.get(&p[..i]) {
                None => return Some(ENOENT),
                Some(Entry::File(_)) => return Some(ENOTDIR),
                Some(Entry::Dir) => {}
            }
        }
        None
    }

    fn has_children(&self, p: &[String]) -> bool {
        self.below(p).next().is_some()
    }

    /// Entries strictly below `p`, in order.
    fn below<'a>(&'a self, p: &'a [String]) -> impl Iterator<Item = (&'a ModelPath, &'a Entry)> {
        self.entries
            .range(p.to_vec()..)
            .skip_while(move |(k, _)| k.as_slice() == p)
            .take_while(move |(k, _)| starts_with(k, p))
    }

    /// What `p` names, or the errno of looking it up (ENOENT, ENOTDIR).
    pub fn lookup(&self, p: &[String]) -> Result<&Entry, i32> {
        if let Some(e) = self.parent_err(p) {
            return Err(e);
        }
        self.entries.get(p).ok_or(ENOENT)
    }

    /// `p` and everything below it, as a separate map.
    pub fn subtree(&self, p: &[String]) -> BTreeMap<ModelPath, Entry> {
        self.entries
            .range(p.to_vec()..)
            .take_while(|(k, _)| starts_with(k, p))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The names directly inside directory `p`, sorted.
    pub fn children(&self, p: &[String]) -> Vec<String> {
        self.below(p)
            .filter(|(k, _)| k.len() == p.len() + 1)
            .map(|(k, _)| k[p.len()].clone())
            .collect()
    }

    /// Applies `op` and returns the errno NetBSD gives for it (0: done).
    pub fn apply(&mut self, op: &Op) -> i32 {
        match op {
            Op::Mkdir(p) => {
                if let Some(e) = self.parent_err(p) {
                    return e;
                }
                if self.entries.contains_key(p) {
                    return crate::consts::EEXIST;
                }
                self.entries.insert(p.clone(), Entry::Dir);
                0
            }
            Op::Create(p, data) => {
                if let Some(e) = self.parent_err(p) {
                    return e;
                }
                match self.entries.get(p) {
                    Some(Entry::Dir) => EISDIR,
                    _ => {
                        self.entries.insert(p.clone(), Entry::File(data.clone()));
                        0
                    }
                }
            }
            Op::Unlink(p) => {
                if let Some(e) = self.parent_err(p) {
                    return e;
                }
                match self.entries.get(p) {
                    None => ENOENT,
                    Some(Entry::Dir) => EPERM,
                    Some(Entry::File(_)) => {
                        self.entries.remove(p);
                        0
                    }
                }
            }
            Op::Rmdir(p) => {
                if let Some(e) = self.parent_err(p) {
                    return e;
                }
                match self.entries.get(p) {
                    None => ENOENT,
                    Some(Entry::File(_)) => ENOTDIR,
                    Some(Entry::Dir) if self.has_children(p) => ENOTEMPTY,
                    Some(Entry::Dir) => {
                        self.entries.remove(p);
                        0
                    }
                }
            }
            Op::Rename(a, b) => self.rename(a, b),
        }
    }

    fn rename(&mut self, a: &ModelPath, b: &ModelPath) -> i32 {
        if let Some(e) = self.parent_err(a) {
            return e;
        }
        let Some(src) = self.entries.get(a).cloned() else {
            return ENOENT;
        };
        if let Some(e) = self.parent_err(b) {
            return e;
        }
        if src == Entry::Dir && b.len() > a.len() && starts_with(b, a) {
            return EINVAL;
        }
        if a == b {
            return 0;
        }
        match (&src, self.entries.get(b)) {
            (Entry::Dir, Some(Entry::File(_))) => return ENOTDIR,
            (Entry::File(_), Some(Entry::Dir)) => return EISDIR,
            (Entry::Dir, Some(Entry::Dir)) if self.has_children(b) => return ENOTEMPTY,
            _ => {}
        }
        let moved: Vec<(ModelPath, Entry)> = self
            .entries
            .range(a.clone()..)
            .take_while(|(k, _)| starts_with(k, a))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.entries
            .retain(|k, _| !starts_with(k, a) && !starts_with(k, b));
        for (k, v) in moved {
            let mut nk = b.clone();
            nk.extend_from_slice(&k[a.len()..]);
            self.entries.insert(nk, v);
        }
        0
    }
}

/// The tree below directory node `dir` of a kernel's file systems, read
/// straight from its nodes (mount points crossed, symlinks and devices skipped),
/// in the model's shape.
pub fn tree_of(vfs: &Vfs, dir: NodeId) -> FsModel {
    let mut m = FsModel::default();
    walk(vfs, vfs.cross_mounts(dir), &mut Vec::new(), &mut m);
    m
}

fn walk(vfs: &Vfs, dir: NodeId, at: &mut ModelPath, out: &mut FsModel) {
    let Some(NodeKind::Dir { entries, .. }) = vfs.nodes.get(&dir).map(|n| &n.kind) else {
        return;
    };
    for e in entries {
        if e.name == b"." || e.name == b".." {
            continue;
        }
        let node = vfs.cross_mounts(e.node);
        at.push(String::from_utf8_lossy(&e.name).into_owned());
        match vfs.nodes.get(&node).map(|n| &n.kind) {
            Some(NodeKind::Dir { .. }) => {
                out.entries.insert(at.clone(), Entry::Dir);
                walk(vfs, node, at, out);
            }
            Some(NodeKind::File(data)) => {
                out.entries.insert(at.clone(), Entry::File(data.clone()));
            }
            _ => {}
        }
        at.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ModelPath {
        s.split('/').map(str::to_owned).collect()
    }

    #[test]
    fn rename_moves_a_subtree_and_refuses_loops() {
        let mut m = FsModel::default();
        assert_eq!(m.apply(&Op::Mkdir(p("a"))), 0);
        assert_eq!(m.apply(&Op::Create(p("a/f"), b"x".to_vec())), 0);
        assert_eq!(m.apply(&Op::Rename(p("a"), p("a/b"))), EINVAL);
        assert_eq!(m.apply(&Op::Rename(p("a"), p("c"))), 0);
        assert_eq!(m.children(&[]), vec!["c".to_string()]);
        assert_eq!(m.entries.get(&p("c/f")), Some(&Entry::File(b"x".to_vec())));
        assert_eq!(m.apply(&Op::Rmdir(p("c"))), ENOTEMPTY);
        assert_eq!(m.apply(&Op::Unlink(p("c"))), EPERM);
        assert_eq!(m.apply(&Op::Mkdir(p("c/f/g"))), ENOTDIR);
        assert_eq!(m.subtree(&p("c")).len(), 2);
    }

    #[test]
    fn tree_of_reads_a_booted_kernel() {
        let k = crate::SimKernel::default();
        let tmp = k
            .vfs
            .child(k.vfs.root, b"tmp")
            .expect("/tmp exists at boot");
        assert!(tree_of(&k.vfs, tmp).entries.is_empty());
        assert!(tree_of(&k.vfs, k.vfs.root).entries.contains_key(&p("tmp")));
    }
}
