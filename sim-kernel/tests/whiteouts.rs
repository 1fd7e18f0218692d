//! Whiteouts on tmpfs: `__mknod50`/`mknodat` with S_IFWHT make a directory
//! entry that lookups skip (tmpfs_lookup), getdents lists as DT_WHT with
//! d_fileno WINO (tmpfs_dir_getdents), the directory's size counts
//! (tmpfs_dir_attach), a creation replaces (tmpfs_alloc_file, with UF_OPAQUE
//! on the new node) and rmdir destroys (tmpfs_rmdir).

mod common;

use common::*;

const MKNOD: u32 = 450;
const MKNODAT: u32 = 460;
const MKFIFO: u32 = 132;
const S_IFWHT: u64 = 0o160000;
const DT_WHT: u8 = 14;
const DT_REG: u8 = 8;
const WINO: u64 = 1;
const UF_OPAQUE: u32 = 0x8;
const ENOTEMPTY: i32 = 66;

/// Makes a whiteout at `path` (expects success).
fn whiteout(t: &mut T, path: &str) {
    let p = t.s(path);
    t.ok(MKNOD, &[p, S_IFWHT | 0o644, 0]);
}

/// The entries of `path` other than "." and "..": (d_type, name).
fn names(t: &mut T, path: &str) -> Vec<(u8, String)> {
    t.dents(path)
        .into_iter()
        .skip(2)
        .map(|(_, ty, n)| (ty, n))
        .collect()
}

/// tmpfs_whiteout(CREATE) attaches a dirent with TMPFS_NODE_WHITEOUT:
/// tmpfs_dir_getdents gives it DT_WHT and d_fileno WINO, and
/// tmpfs_dir_attach adds it to the directory's tn_size like any entry.
#[test]
fn a_whiteout_is_listed_as_dt_wht_with_wino_and_counts_in_the_size() {
    let mut t = T::new();
    assert_eq!(t.stat("/tmp").2, 0);
    whiteout(&mut t, "/tmp/w");
    assert_eq!(t.open("/tmp/f", O_RDWR | O_CREAT, 0o644).0, 0);
    let d = t.dents("/tmp");
    assert_eq!(d.len(), 4, "{d:?}");
    assert_eq!(d[2], (WINO, DT_WHT, "w".to_string()));
    assert_eq!((d[3].1, d[3].2.as_str()), (DT_REG, "f"));
    assert_ne!(d[3].0, WINO);
    assert_eq!(t.stat("/tmp").2, 2 * 48, "two dirents in tn_size");
    // mknodat makes one too, relative to its dirfd.
    let (e, dfd) = t.open("/tmp", O_RDONLY | O_DIRECTORY, 0);
    assert_eq!(e, 0);
    let rel = t.s("w2");
    t.ok(MKNODAT, &[dfd as u64, rel, S_IFWHT | 0o600, 0, 0]);
    assert_eq!(names(&mut t, "/tmp").last(), Some(&(DT_WHT, "w2".into())));
    assert_eq!(t.stat("/tmp").2, 3 * 48);
    t.k.check_invariants().unwrap();
}

/// tmpfs_lookup: a whiteout entry is "not found" (ENOENT) for every lookup
/// but a creation's; so unlink, rmdir, stat, open without O_CREAT and chdir
/// of the name fail with ENOENT and leave the whiteout in place, while a
/// whiteout over a real entry is EEXIST (do_sys_mknodat's namei).
#[test]
fn lookups_of_a_whiteout_answer_enoent_and_leave_it_alone() {
    let mut t = T::new();
    whiteout(&mut t, "/tmp/w");
    assert_eq!(t.stat("/tmp/w").0, ENOENT);
    assert_eq!(t.st_flags("/tmp/w").0, ENOENT);
    assert_eq!(t.open("/tmp/w", O_RDONLY, 0).0, ENOENT);
    assert_eq!(t.open("/tmp/w/x", O_RDWR | O_CREAT, 0o644).0, ENOENT);
    let p = t.s("/tmp/w");
    assert_eq!(t.e(nr::UNLINK, &[p]), ENOENT);
    assert_eq!(t.e(nr::RMDIR, &[p]), ENOENT);
    assert_eq!(t.e(nr::CHDIR, &[p]), ENOENT);
    let (b, link) = (t.buf(64), t.s("/tmp/l"));
    assert_eq!(t.e(nr::READLINK, &[p, b, 64]), ENOENT);
    assert_eq!(t.e(nr::LINK, &[p, link]), ENOENT);
    assert_eq!(t.e(nr::RENAME, &[p, link]), ENOENT);
    assert_eq!(names(&mut t, "/tmp"), vec![(DT_WHT, "w".to_string())]);
    // A whiteout over an existing entry: EEXIST, nothing added.
    assert_eq!(t.mkdir("/tmp/d", 0o755), 0);
    let d = t.s("/tmp/d");
    assert_eq!(t.e(MKNOD, &[d, S_IFWHT | 0o644, 0]), EEXIST);
    assert_eq!(names(&mut t, "/tmp").len(), 2);
    t.k.check_invariants().unwrap();
}

/// tmpfs_alloc_file (open O_CREAT, mkdir, symlink, mknod, mkfifo): with
/// ISWHITEOUT set by tmpfs_lookup, the whiteout dirent is detached and freed
/// before the new entry is attached (at the end of the listing), and the new
/// node gets UF_OPAQUE.
#[test]
fn creating_over_a_whiteout_replaces_it_and_makes_the_node_opaque() {
    let mut t = T::new();
    for n in ["f", "d", "s", "c", "p", "x"] {
        whiteout(&mut t, &format!("/tmp/{n}"));
    }
    assert_eq!(t.stat("/tmp").2, 6 * 48);
    assert_eq!(t.open("/tmp/f", O_RDWR | O_CREAT, 0o644).0, 0);
    assert_eq!(t.mkdir("/tmp/d", 0o755), 0);
    let (target, s) = (t.s("f"), t.s("/tmp/s"));
    t.ok(nr::SYMLINK, &[target, s]);
    let c = t.s("/tmp/c");
    t.ok(MKNOD, &[c, 0o020644, 0xfff07]);
    let p = t.s("/tmp/p");
    t.ok(MKFIFO, &[p, 0o644]);
    for n in ["f", "d", "s", "c", "p"] {
        assert_eq!(
            t.st_flags(&format!("/tmp/{n}")),
            (0, UF_OPAQUE),
            "{n} made over a whiteout is opaque"
        );
    }
    // The whiteouts are gone, not doubled: one entry per name, the new ones
    // after the remaining whiteout in creation order.
    let listed = names(&mut t, "/tmp");
    let order: Vec<&str> = listed.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(order, ["x", "f", "d", "s", "c", "p"]);
    assert_eq!(listed[0].0, DT_WHT);
    assert!(listed[1..].iter().all(|(ty, _)| *ty != DT_WHT));
    assert_eq!(t.stat("/tmp").2, 6 * 48);
    // A name never whited out is not opaque.
    assert_eq!(t.open("/tmp/plain", O_RDWR | O_CREAT, 0o644).0, 0);
    assert_eq!(t.st_flags("/tmp/plain"), (0, 0));
    t.k.check_invariants().unwrap();
}

/// link and rename onto a whiteout name: the target lookup treats it as
/// free (tmpfs_lookup, CREATE/RENAME), and this model replaces the whiteout
/// entry (no second entry of the name) without making the node opaque.
#[test]
fn link_and_rename_onto_a_whiteout_replace_it() {
    let mut t = T::new();
    assert_eq!(t.open("/tmp/f", O_RDWR | O_CREAT, 0o644).0, 0);
    assert_eq!(t.open("/tmp/g", O_RDWR | O_CREAT, 0o644).0, 0);
    assert_eq!(t.mkdir("/tmp/d", 0o755), 0);
    whiteout(&mut t, "/tmp/l");
    whiteout(&mut t, "/tmp/r");
    whiteout(&mut t, "/tmp/d/m");
    assert_eq!(t.stat("/tmp").2, 5 * 48, "f, g, d and two whiteouts");
    assert_eq!(t.stat("/tmp/d").2, 48);
    let (f, l) = (t.s("/tmp/f"), t.s("/tmp/l"));
    t.ok(nr::LINK, &[f, l]);
    let (g, r) = (t.s("/tmp/g"), t.s("/tmp/r"));
    t.ok(nr::RENAME, &[g, r]);
    let (rr, m) = (t.s("/tmp/r"), t.s("/tmp/d/m"));
    t.ok(nr::RENAME, &[rr, m]);
    assert_eq!(t.stat("/tmp/l").3, 2);
    assert_eq!(t.st_flags("/tmp/l"), (0, 0));
    assert_eq!(t.st_flags("/tmp/d/m"), (0, 0));
    let top: Vec<String> = names(&mut t, "/tmp").into_iter().map(|(_, n)| n).collect();
    assert_eq!(top, ["f", "d", "l"]);
    assert_eq!(names(&mut t, "/tmp/d"), vec![(DT_REG, "m".to_string())]);
    assert_eq!(
        t.stat("/tmp/d").2,
        48,
        "the whiteout was replaced, not doubled"
    );
    assert_eq!(t.stat("/tmp").2, 3 * 48);
    t.k.check_invariants().unwrap();
}

/// tmpfs_rmdir: a directory whose only entries are whiteouts is empty
/// enough; they are destroyed with it. One real entry is ENOTEMPTY.
#[test]
fn rmdir_removes_a_directory_of_whiteouts_and_them_with_it() {
    let mut t = T::new();
    let before = t.k.pool_used();
    assert_eq!(t.mkdir("/tmp/d", 0o755), 0);
    whiteout(&mut t, "/tmp/d/a");
    whiteout(&mut t, "/tmp/d/b");
    assert_eq!(t.stat("/tmp/d").2, 2 * 48);
    let (e, fd) = t.open("/tmp/d/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!(e, 0);
    t.ok(nr::CLOSE, &[fd as u64]);
    let (d, f) = (t.s("/tmp/d"), t.s("/tmp/d/f"));
    assert_eq!(t.e(nr::RMDIR, &[d]), ENOTEMPTY);
    t.ok(nr::UNLINK, &[f]);
    t.ok(nr::RMDIR, &[d]);
    assert_eq!(t.stat("/tmp/d").0, ENOENT);
    assert!(names(&mut t, "/tmp").is_empty());
    assert_eq!(t.k.pool_used(), before, "the whiteouts' dirents were freed");
    t.k.check_invariants().unwrap();
}

/// Only tmpfs keeps whiteouts in this model: on the rumpfs root the call
/// succeeds and nothing is listed (PARTIAL in sys/mod.rs).
#[test]
fn a_whiteout_on_the_rumpfs_root_is_answered_but_not_kept() {
    let mut t = T::new();
    whiteout(&mut t, "/w");
    assert!(!t.list("/").iter().any(|n| n == "w"));
    assert_eq!(t.stat("/w").0, ENOENT);
    t.k.check_invariants().unwrap();
}
