//! One memory pool for everything the simulated kernel holds for its clients:
//! file data, nodes, directory entries and their names, symlink targets and
//! pipe buffers. Going over it gives NetBSD's errno (ENOSPC for the file
//! systems, ENOMEM for pipe(2)), and the invariant checker catches drift.

mod common;

use common::*;
use rumpsp_sim_kernel::vfs::{DIRENT_MEM, NODE_MEM};
use rumpsp_sim_kernel::{SimConfig, PIPE_MEM, SOCKET_MEM};

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

const ENOBUFS: i32 = 55;

/// A kernel with AF_LOCAL sockets and a pool of `pool` bytes.
fn with_sockets(pool: u64) -> T {
    T::with_config(SimConfig {
        memory_pool: pool,
        components: "vfs,tmpfs,net,local".parse().unwrap(),
        ..Default::default()
    })
}
const ECONNREFUSED: i32 = 61;
const SOCKET: u32 = 394;
const SOCKETPAIR: u32 = 135;
const BIND: u32 = 104;
const CONNECT: u32 = 98;
const LISTEN: u32 = 106;
const AF_LOCAL: u64 = 1;
const SOCK_STREAM: u64 = 1;
const F_SETFL: u64 = 4;
const O_NONBLOCK: u64 = 4;

/// socketpair(AF_LOCAL, SOCK_STREAM): the two descriptors, or the errno.
fn pair(t: &mut T) -> Result<(u64, u64), i32> {
    let sv = t.buf(8);
    let e = t.e(SOCKETPAIR, &[AF_LOCAL, SOCK_STREAM, 0, sv]);
    if e != 0 {
        return Err(e);
    }
    let b = t.mem.read(sv, 8).unwrap();
    let fd = |i: usize| u64::from(u32::from_le_bytes(b[i..i + 4].try_into().unwrap()));
    Ok((fd(0), fd(4)))
}

#[test]
fn sockets_and_the_bytes_in_their_buffers_count_against_the_pool() {
    let mut t = with_sockets(SimConfig::default().memory_pool);
    let before = t.k.pool_used();
    let (a, b) = pair(&mut t).unwrap();
    assert_eq!(t.k.pool_used() - before, 2 * SOCKET_MEM);
    assert_eq!(t.write(a as i64, &[7; 1000]), (0, 1000));
    assert_eq!(
        t.k.pool_used() - before,
        2 * SOCKET_MEM + 1000,
        "held in b's buffer"
    );
    t.k.check_invariants().unwrap();
    assert_eq!(t.read(b as i64, 600).1.len(), 600);
    assert_eq!(t.k.pool_used() - before, 2 * SOCKET_MEM + 400);
    t.ok(nr::CLOSE, &[a]);
    t.ok(nr::CLOSE, &[b]);
    assert_eq!(t.k.pool_used(), before, "closing gives everything back");
}

#[test]
fn a_full_pool_refuses_new_sockets_and_more_buffered_data() {
    // Room for the kernel at boot and a few sockets, no more.
    let base = with_sockets(u64::MAX).k.pool_used();
    let mut t = with_sockets(base + 5 * SOCKET_MEM + 3000);
    let (a, b) = pair(&mut t).unwrap();
    let (c, d) = pair(&mut t).unwrap();
    t.ok(nr::FCNTL, &[a, F_SETFL, O_NONBLOCK]);
    t.ok(nr::FCNTL, &[c, F_SETFL, O_NONBLOCK]);
    assert_eq!(t.write(a as i64, &[1; 2500]), (0, 2500));
    // 500 bytes of pool left: a send that would go past it is ENOBUFS
    assert_eq!(t.write(c as i64, &[2; 2000]).0, ENOBUFS);
    assert_eq!(t.write(c as i64, &[2; 400]), (0, 400));
    // room for one socket, not two: the pair fails and leaves nothing behind
    assert_eq!(pair(&mut t), Err(ENOBUFS));
    t.k.check_invariants().unwrap();
    assert_eq!(t.e(SOCKET, &[AF_LOCAL, SOCK_STREAM, 0]), 0, "one more fits");
    assert_eq!(t.e(SOCKET, &[AF_LOCAL, SOCK_STREAM, 0]), ENOBUFS);
    t.k.check_invariants().unwrap();
    // reading frees the room again
    assert_eq!(t.read(b as i64, 2500).1.len(), 2500);
    assert_eq!(t.write(c as i64, &[3; 2000]), (0, 2000));
    assert_eq!(t.read(d as i64, 4000).1.len(), 2400);
    t.k.check_invariants().unwrap();
}

#[test]
fn a_connection_the_pool_cannot_hold_is_refused() {
    let base = with_sockets(u64::MAX).k.pool_used();
    // two sockets and the listener's node in /tmp
    let mut t = with_sockets(base + 2 * SOCKET_MEM + NODE_MEM + DIRENT_MEM + 100);
    let s = t.ok(SOCKET, &[AF_LOCAL, SOCK_STREAM, 0]) as u64;
    let mut addr = vec![0u8, 1];
    addr.extend_from_slice(b"/tmp/sock");
    let (ap, al) = (t.put(&addr), addr.len() as u64);
    t.ok(BIND, &[s, ap, al]);
    t.ok(LISTEN, &[s, 5]);
    let c = t.ok(SOCKET, &[AF_LOCAL, SOCK_STREAM, 0]) as u64;
    // the listener's new socket for this connection does not fit: unp_connect's ECONNREFUSED
    assert_eq!(t.e(CONNECT, &[c, ap, al]), ECONNREFUSED);
    t.k.check_invariants().unwrap();
}

#[test]
fn the_checker_catches_a_pool_overrun_by_sockets() {
    let mut t = with_sockets(SimConfig::default().memory_pool);
    pair(&mut t).unwrap();
    t.k.check_invariants().unwrap();
    t.k.config.memory_pool = t.k.pool_used() - 1;
    let e = t.k.check_invariants().unwrap_err();
    assert!(e.contains("sockets") && e.contains("pool"), "{e}");
}
