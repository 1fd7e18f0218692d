//! Model-based test: random file-system operations on the simulated kernel and
//! on a plain reference model must give the same errno each time and leave the
//! same tree (names, types, file contents).

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Dir,
    File(Vec<u8>),
}

/// Paths are component lists under /tmp.
type Path = Vec<String>;

#[derive(Debug, Clone)]
enum Op {
    Mkdir(Path),
    Create(Path, Vec<u8>),
    Unlink(Path),
    Rmdir(Path),
    Rename(Path, Path),
}

#[derive(Default)]
struct Model {
    entries: BTreeMap<Path, Entry>,
}

impl Model {
    /// errno for a missing or non-directory ancestor, if any.
    fn parent_err(&self, p: &Path) -> Option<i32> {
        for i in 1..p.len() {
            match self.entries.get(&p[..i]) {
                None => return Some(ENOENT),
                Some(Entry::File(_)) => return Some(ENOTDIR),
                Some(Entry::Dir) => {}
            }
        }
        None
    }

    fn has_children(&self, p: &Path) -> bool {
        self.entries
            .keys()
            .any(|k| k.len() > p.len() && k.starts_with(p))
    }

    fn apply(&mut self, op: &Op) -> i32 {
        match op {
            Op::Mkdir(p) => {
                if let Some(e) = self.parent_err(p) {
                    return e;
                }
                if self.entries.contains_key(p) {
                    return EEXIST;
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
            Op::Rename(a, b) => {
                if let Some(e) = self.parent_err(a) {
                    return e;
                }
                let Some(src) = self.entries.get(a).cloned() else {
                    return ENOENT;
                };
                if let Some(e) = self.parent_err(b) {
                    return e;
                }
                if src == Entry::Dir && b.len() > a.len() && b.starts_with(a) {
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
                // move a's subtree to b
                let moved: Vec<(Path, Entry)> = self
                    .entries
                    .iter()
                    .filter(|(k, _)| k.starts_with(a))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                self.entries
                    .retain(|k, _| !k.starts_with(a) && !k.starts_with(b));
                for (k, v) in moved {
                    let mut nk = b.clone();
                    nk.extend_from_slice(&k[a.len()..]);
                    self.entries.insert(nk, v);
                }
                0
            }
        }
    }
}

fn full(p: &Path) -> String {
    format!("/tmp/{}", p.join("/"))
}

fn run_kernel(t: &mut T, op: &Op) -> i32 {
    match op {
        Op::Mkdir(p) => t.mkdir(&full(p), 0o755),
        Op::Create(p, data) => {
            let (e, fd) = t.open(&full(p), O_WRONLY | O_CREAT | O_TRUNC, 0o644);
            if e != 0 {
                return e;
            }
            let (we, _) = t.write(fd, data);
            assert_eq!(we, 0);
            t.ok(nr::CLOSE, &[fd as u64]);
            0
        }
        Op::Unlink(p) => {
            let a = t.s(&full(p));
            t.e(nr::UNLINK, &[a])
        }
        Op::Rmdir(p) => {
            let a = t.s(&full(p));
            t.e(nr::RMDIR, &[a])
        }
        Op::Rename(a, b) => {
            let (x, y) = (t.s(&full(a)), t.s(&full(b)));
            t.e(nr::RENAME, &[x, y])
        }
    }
}

/// The tree as the kernel shows it, through getdents, stat and read.
fn kernel_tree(t: &mut T, dir: &Path, out: &mut BTreeMap<Path, Entry>) {
    let names = t.list(&if dir.is_empty() {
        "/tmp".to_owned()
    } else {
        full(dir)
    });
    for n in names.into_iter().filter(|n| n != "." && n != "..") {
        let mut p = dir.clone();
        p.push(n);
        let (_, mode, size, _) = t.stat(&full(&p));
        if mode & 0o170000 == 0o040000 {
            out.insert(p.clone(), Entry::Dir);
            kernel_tree(t, &p, out);
        } else {
            let (_, fd) = t.open(&full(&p), O_RDONLY, 0);
            let (_, data) = t.read(fd, size as usize + 1);
            t.ok(nr::CLOSE, &[fd as u64]);
            out.insert(p, Entry::File(data));
        }
    }
}

fn path() -> impl Strategy<Value = Path> {
    proptest::collection::vec(
        prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(str::to_owned),
        1..4,
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        path().prop_map(Op::Mkdir),
        (path(), proptest::collection::vec(any::<u8>(), 0..40)).prop_map(|(p, d)| Op::Create(p, d)),
        path().prop_map(Op::Unlink),
        path().prop_map(Op::Rmdir),
        (path(), path()).prop_map(|(a, b)| Op::Rename(a, b)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn kernel_matches_the_reference_model(ops in proptest::collection::vec(op(), 1..40)) {
        let mut t = T::new();
        let mut m = Model::default();
        for op in &ops {
            let want = m.apply(op);
            let got = run_kernel(&mut t, op);
            prop_assert_eq!(got, want, "{:?}", op);
            t.k.check_invariants().map_err(TestCaseError::fail)?;
        }
        let mut tree = BTreeMap::new();
        kernel_tree(&mut t, &vec![], &mut tree);
        prop_assert_eq!(tree, m.entries);
    }
}
