//! tmpfs enforces the IMMUTABLE and APPEND file flags (tmpfs_vnops.c,
//! tmpfs_subr.c, genfs_rename.c); rumpfs keeps them and ignores them.

mod common;

use common::*;

const CHFLAGS: u32 = 34;
const CHOWN: u32 = 16;
const UTIMES: u32 = 420;
const TRUNCATE: u32 = 200;
const UF_IMMUTABLE: u64 = 0x2;
const UF_APPEND: u64 = 0x4;
const SF_IMMUTABLE: u64 = 0x2_0000;
const W_OK: u64 = 2;

fn file(t: &mut T, path: &str, data: &[u8]) {
    let (e, fd) = t.open(path, O_WRONLY | O_CREAT, 0o644);
    assert_eq!(e, 0, "create {path}");
    assert_eq!(t.write(fd, data), (0, data.len() as i64));
    t.ok(nr::CLOSE, &[fd as u64]);
}

fn chflags(t: &mut T, path: &str, flags: u64) -> i32 {
    let p = t.s(path);
    t.e(CHFLAGS, &[p, flags])
}

/// The calls that change a node: (what, errno).
fn changes(t: &mut T, path: &str) -> Vec<(&'static str, i32)> {
    let p = t.s(path);
    let other = t.s("/tmp/other-name");
    let renamed = t.s("/tmp/renamed");
    vec![
        ("open O_WRONLY", t.open(path, O_WRONLY, 0).0),
        ("access W_OK", t.e(nr::ACCESS, &[p, W_OK])),
        ("chmod", t.e(nr::CHMOD, &[p, 0o600])),
        ("chown", t.e(CHOWN, &[p, 0, 0])),
        ("utimes", t.e(UTIMES, &[p, 0])),
        ("truncate", t.e(TRUNCATE, &[p, 0, 0])),
        ("link", t.e(nr::LINK, &[p, other])),
        ("rename", t.e(nr::RENAME, &[p, renamed])),
        ("unlink", t.e(nr::UNLINK, &[p])),
    ]
}

#[test]
fn an_immutable_tmpfs_file_refuses_every_change_with_eperm_even_to_root() {
    let mut t = T::new();
    file(&mut t, "/tmp/f", b"data");
    for flag in [UF_IMMUTABLE, SF_IMMUTABLE] {
        assert_eq!(chflags(&mut t, "/tmp/f", flag), 0);
        for (what, e) in changes(&mut t, "/tmp/f") {
            assert_eq!(e, EPERM, "{what} with flags {flag:#x}");
        }
        // Reading is fine, and so is clearing the flag.
        let (e, fd) = t.open("/tmp/f", O_RDONLY, 0);
        assert_eq!(e, 0);
        assert_eq!(t.read(fd, 16), (0, b"data".to_vec()));
        t.ok(nr::CLOSE, &[fd as u64]);
        assert_eq!(chflags(&mut t, "/tmp/f", 0), 0);
    }
    // Without the flag every change goes through.
    for (what, e) in changes(&mut t, "/tmp/f") {
        assert_ne!(e, EPERM, "{what} without flags");
    }
}

#[test]
fn an_append_only_tmpfs_file_takes_data_only_at_its_end() {
    let mut t = T::new();
    file(&mut t, "/tmp/log", b"one");
    assert_eq!(chflags(&mut t, "/tmp/log", UF_APPEND), 0);
    assert_eq!(t.open("/tmp/log", O_WRONLY, 0).0, EPERM, "no O_APPEND");
    assert_eq!(t.open("/tmp/log", O_RDWR | O_TRUNC, 0).0, EPERM, "O_TRUNC");
    let (e, fd) = t.open("/tmp/log", O_WRONLY | O_APPEND, 0);
    assert_eq!(e, 0);
    assert_eq!(t.write(fd, b"two"), (0, 3));
    t.ok(nr::CLOSE, &[fd as u64]);
    assert_eq!(t.stat("/tmp/log").2, 6);
    // The access bits are not touched by APPEND: W_OK is granted.
    let p = t.s("/tmp/log");
    assert_eq!(t.e(nr::ACCESS, &[p, W_OK]), 0);
    // A descriptor opened before the flag was set: writes only at the end.
    assert_eq!(chflags(&mut t, "/tmp/log", 0), 0);
    let (_, fd) = t.open("/tmp/log", O_RDWR, 0);
    assert_eq!(chflags(&mut t, "/tmp/log", UF_APPEND), 0);
    let b = t.put(b"X");
    assert_eq!(t.e(nr::PWRITE, &[fd as u64, b, 1, 0, 0]), EPERM, "at 0");
    assert_eq!(
        t.sys(nr::PWRITE, &[fd as u64, b, 1, 0, 6]).1,
        1,
        "at the end"
    );
    for what in [
        "chmod", "chown", "utimes", "truncate", "link", "rename", "unlink",
    ] {
        let got = changes(&mut t, "/tmp/log")
            .into_iter()
            .find(|(w, _)| *w == what)
            .map(|(_, e)| e);
        assert_eq!(got, Some(EPERM), "{what}");
    }
}

#[test]
fn directory_flags_guard_their_entries() {
    let mut t = T::new();
    assert_eq!(t.mkdir("/tmp/a", 0o755), 0);
    file(&mut t, "/tmp/a/old", b"");
    assert_eq!(chflags(&mut t, "/tmp/a", UF_APPEND), 0);
    // Append-only: entries may be added, not removed or renamed away.
    file(&mut t, "/tmp/a/new", b"");
    let (old, moved) = (t.s("/tmp/a/old"), t.s("/tmp/moved"));
    assert_eq!(t.e(nr::UNLINK, &[old]), EPERM);
    assert_eq!(t.e(nr::RENAME, &[old, moved]), EPERM);
    // Immutable: nothing may be added either.
    assert_eq!(chflags(&mut t, "/tmp/a", UF_IMMUTABLE), 0);
    assert_eq!(t.open("/tmp/a/third", O_WRONLY | O_CREAT, 0o644).0, EPERM);
    assert_eq!(t.mkdir("/tmp/a/sub", 0o755), EPERM);
    let a = t.s("/tmp/a");
    assert_eq!(t.e(nr::RMDIR, &[a]), ENOTEMPTY, "ENOTEMPTY comes first");
    assert_eq!(chflags(&mut t, "/tmp/a", 0), 0);
    assert_eq!(t.e(nr::UNLINK, &[old]), 0);
}

#[test]
fn rumpfs_keeps_the_flags_without_enforcing_them() {
    let mut t = T::new();
    file(&mut t, "/f", b"x");
    assert_eq!(chflags(&mut t, "/f", UF_IMMUTABLE), 0);
    assert_eq!(t.st_flags("/f"), (0, UF_IMMUTABLE as u32));
    let p = t.s("/f");
    assert_eq!(t.e(nr::UNLINK, &[p]), 0);
}
