//! Model-based test: random file-system operations on the simulated kernel and
//! on a plain reference model must give the same errno each time and leave the
//! same tree (names, types, file contents).

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use rumpsp_sim_kernel::model::{Entry, FsModel, ModelPath, Op};

/// Paths are component lists under /tmp.
type Path = ModelPath;

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
        let mut m = FsModel::default();
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
