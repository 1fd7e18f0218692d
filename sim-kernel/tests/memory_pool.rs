//! One memory pool for everything the simulated kernel holds for its clients:
//! file data, nodes, directory entries and their names, symlink targets and
//! pipe buffers. Going over it gives NetBSD's errno (ENOSPC for the file
//! systems, ENOMEM for pipe(2)), and the invariant checker catches drift.

mod common;

use common::*;
use rumpsp_sim_kernel::vfs::{DIRENT_MEM, NODE_MEM};
use rumpsp_sim_kernel::{SimConfig, PIPE_MEM};

const ENOMEM: i32 = 12;

fn small(pool: u64) -> T {
    T::with_config(SimConfig {
        memory_pool: pool,
        ..Default::default()
    })
}

#[test]
fn nodes_names_and_symlink_targets_count_against_the_pool() {
    let mut t = T::new();
    let before = t.k.pool_used();
    let target = "t".repeat(1000);
    let (tp, lp) = (t.s(&target), t.s("/tmp/link"));
    t.ok(nr::SYMLINK, &[tp, lp]);
    assert_eq!(
        t.k.pool_used() - before,
        NODE_MEM + 1000 + DIRENT_MEM + 2 * 4,
        "node, target and the entry 'link'"
    );
    assert_eq!(t.mkdir("/tmp/dir", 0o755), 0);
    let (_, fd) = t.open("/tmp/dir/file", O_RDWR | O_CREAT, 0o644);
    t.k.check_invariants().unwrap();
    let (a, b) = (t.s("/tmp/dir/file"), t.s("/tmp/dir/a-longer-name"));
    t.ok(nr::LINK, &[a, b]);
    let c = t.s("/tmp/dir/c");
    t.ok(nr::RENAME, &[b, c]);
    t.k.check_invariants().unwrap();
    let d = t.s("/tmp/d");
    t.ok(nr::RENAME, &[c, d]);
    t.k.check_invariants().unwrap();
    // everything removed: back to where it started (the open file lives until closed)
    t.ok(nr::UNLINK, &[lp]);
    t.ok(nr::UNLINK, &[a]);
    t.ok(nr::UNLINK, &[d]);
    t.k.check_invariants().unwrap();
    assert!(t.k.pool_used() > before, "the unlinked open file's node");
    t.ok(nr::CLOSE, &[fd as u64]);
    let dir = t.s("/tmp/dir");
    t.ok(nr::RMDIR, &[dir]);
    t.k.check_invariants().unwrap();
    assert_eq!(t.k.pool_used(), before);
}

#[test]
fn a_symlink_flood_ends_in_enospc_and_removal_frees_the_room() {
    let mut t = small(256 << 10);
    let target = t.s(&"x".repeat(1000));
    let mut made = 0;
    let err = loop {
        let p = t.s(&format!("/tmp/l{made}"));
        let (e, _, _) = t.sys(nr::SYMLINK, &[target, p]);
        if e != 0 {
            break e;
        }
        made += 1;
        assert!(made < 1000, "the pool never filled");
    };
    assert_eq!(err, ENOSPC, "tmpfs out of memory");
    assert!(made > 100, "{made} symlinks");
    t.k.check_invariants().unwrap();
    assert!(t.k.pool_used() <= 256 << 10);
    // the other ways to take pool memory end the same way: files until no
    // node fits (then no directory either), links until no entry fits
    let mut files = 0;
    while t.open(&format!("/tmp/f{files}"), O_RDWR | O_CREAT, 0o644).0 == 0 {
        files += 1;
        assert!(files < 1000);
    }
    assert_eq!(
        t.open(&format!("/tmp/f{files}"), O_RDWR | O_CREAT, 0o644).0,
        ENOSPC
    );
    assert_eq!(t.mkdir(&format!("/tmp/f{files}"), 0o755), ENOSPC);
    // (a file: link(2) may follow a symlink)
    let a = t.s("/tmp/f0");
    let mut links = 0;
    let e = loop {
        let b = t.s(&format!("/tmp/k{links}"));
        let (e, _, _) = t.sys(nr::LINK, &[a, b]);
        if e != 0 {
            break e;
        }
        links += 1;
        assert!(links < 1000);
    };
    assert_eq!(e, ENOSPC, "link(2) needs an entry");
    assert!((256 << 10) - t.k.pool_used() < DIRENT_MEM + 2 * 4);
    t.k.check_invariants().unwrap();
    // unlinking one makes room for one more
    let victim = t.s("/tmp/l1");
    t.ok(nr::UNLINK, &[victim]);
    let p = t.s("/tmp/again");
    t.ok(nr::SYMLINK, &[target, p]);
    t.k.check_invariants().unwrap();
}

#[test]
fn link_and_a_longer_rename_need_room_for_the_name() {
    let mut t = small(64 << 10);
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    // fill the pool exactly with file data
    let room = ((64 << 10) - t.k.pool_used()) as usize;
    assert_eq!(t.write(fd, &vec![0; room]).1, room as i64);
    let (f, g) = (t.s("/tmp/f"), t.s("/tmp/g"));
    assert_eq!(t.sys(nr::LINK, &[f, g]).0, ENOSPC);
    let long = t.s("/tmp/much-longer");
    assert_eq!(t.sys(nr::RENAME, &[f, long]).0, ENOSPC, "a longer name");
    t.ok(nr::RENAME, &[f, g]);
    t.k.check_invariants().unwrap();
    let h = t.s("/tmp/h");
    t.ok(nr::RENAME, &[g, h]);
    assert_eq!(
        t.k.pool_used(),
        64 << 10,
        "same-length renames keep the count"
    );
    t.k.check_invariants().unwrap();
}

#[test]
fn pipes_take_their_buffer_from_the_pool_and_pipe_fails_with_enomem() {
    let mut t = small(8 * PIPE_MEM);
    let mut fds = Vec::new();
    let e = loop {
        let (e, r, w) = t.sys(nr::PIPE, &[]);
        if e != 0 {
            break e;
        }
        fds.push((r, w));
        assert!(fds.len() <= 8);
    };
    assert_eq!(e, ENOMEM, "pipespace failed");
    assert_eq!(fds.len(), 7, "the nodes took part of the eighth");
    t.k.check_invariants().unwrap();
    // a write into a pipe needs no more memory
    let (_, w) = fds[0];
    let used = t.k.pool_used();
    assert_eq!(t.write(w, &[1; 100]).1, 100);
    assert_eq!(t.k.pool_used(), used, "the buffer was already counted");
    // closing both ends returns the buffer
    let (r, w) = fds.pop().unwrap();
    t.ok(nr::CLOSE, &[r as u64]);
    assert_eq!(t.sys(nr::PIPE, &[]).0, ENOMEM, "one end still open");
    t.ok(nr::CLOSE, &[w as u64]);
    assert_eq!(t.sys(nr::PIPE, &[]).0, 0);
    t.k.check_invariants().unwrap();
}

#[test]
fn unmount_returns_the_mount_s_nodes_and_names() {
    let mut t = T::new();
    assert_eq!(t.mkdir("/mnt", 0o755), 0);
    let before = t.k.pool_used();
    t.mount_tmpfs("/mnt");
    assert_eq!(t.mkdir("/mnt/a", 0o755), 0);
    let (tp, lp) = (t.s("target"), t.s("/mnt/a/l"));
    t.ok(nr::SYMLINK, &[tp, lp]);
    assert!(t.k.pool_used() > before);
    t.k.check_invariants().unwrap();
    let p = t.s("/mnt");
    t.ok(22, &[p, 0]);
    t.k.check_invariants().unwrap();
    assert_eq!(t.k.pool_used(), before);
}

#[test]
fn the_checker_catches_node_accounting_that_drifts() {
    let mut t = T::new();
    let (tp, lp) = (t.s("target"), t.s("/tmp/l"));
    t.ok(nr::SYMLINK, &[tp, lp]);
    t.k.check_invariants().unwrap();
    t.k.vfs.meta_bytes += 1;
    let e = t.k.check_invariants().unwrap_err();
    assert!(e.contains("node and name bytes"), "{e}");
    t.k.vfs.meta_bytes -= 1;
    // a target grown behind the accounting's back
    for n in t.k.vfs.nodes.values_mut() {
        if let rumpsp_sim_kernel::vfs::NodeKind::Symlink(s) = &mut n.kind {
            s.push(b'x');
        }
    }
    assert!(t.k.check_invariants().is_err());
}

#[test]
fn the_checker_catches_a_pool_overrun_by_pipes() {
    let mut t = small(4 * PIPE_MEM);
    t.ok(nr::PIPE, &[]);
    t.k.check_invariants().unwrap();
    t.k.config.memory_pool = PIPE_MEM;
    let e = t.k.check_invariants().unwrap_err();
    assert!(e.contains("pool"), "{e}");
}
