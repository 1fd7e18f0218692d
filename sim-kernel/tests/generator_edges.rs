//! Edge cases the differential generator can draw (its argument pools) that
//! the visible captures exercise rarely or never, checked against NetBSD's code.

mod common;

use common::*;

fn symlink(t: &mut T, target: &str, link: &str) -> i32 {
    let a = t.s(target);
    let b = t.s(link);
    t.e(nr::SYMLINK, &[a, b])
}

#[test]
fn an_empty_symlink_is_enoent_wherever_namei_follows_it() {
    // vfs_lookup.c namei_follow: linklen == 0 is ENOENT, also with a rest
    let mut t = T::new();
    assert_eq!(symlink(&mut t, "", "/tmp/sd"), 0);
    assert_eq!(t.open("/tmp/sd", O_RDONLY, 0).0, ENOENT);
    assert_eq!(t.open("/tmp/sd/", O_RDONLY, 0).0, ENOENT, "not the root");
    assert_eq!(t.stat("/tmp/sd/.").0, ENOENT);
    assert_eq!(t.mkdir("/tmp/sd/x", 0o755), ENOENT);
    assert_eq!(t.stat("/x").0, ENOENT, "nothing made in the root");
    assert_eq!(t.mkdir("/tmp/sd", 0o755), EEXIST, "the link itself exists");
}

#[test]
fn a_link_text_and_the_rest_of_the_path_must_fit_in_maxpathlen() {
    // namei_follow: linklen + ni_pathlen >= MAXPATHLEN is ENAMETOOLONG;
    // ni_pathlen is what follows the link's name, slashes and NUL included
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/a", O_RDWR | O_CREAT, 0o644);
    assert!(fd >= 0);
    let p = t.s("/tmp");
    t.ok(nr::CHDIR, &[p]);
    let t1023 = "./".repeat(511) + "a";
    assert_eq!(symlink(&mut t, &t1023, "sl"), 0, "1023 bytes and NUL fit");
    assert_eq!(t.open("sl", O_RDONLY, 0).0, ENAMETOOLONG);
    assert_eq!(t.stat("sl/").0, ENAMETOOLONG);
    let t1021 = "./".repeat(510) + "a";
    assert_eq!(symlink(&mut t, &t1021, "s2"), 0);
    assert_eq!(t.open("s2", O_RDONLY, 0).0, 0, "1021 + 1 < 1024");
    assert_eq!(t.open("./s2", O_RDONLY, 0).0, 0);
    assert_eq!(t.open("s2/", O_RDONLY, 0).0, ENOTDIR, "1021 + 2 fits");
    assert_eq!(t.open("s2//", O_RDONLY, 0).0, ENAMETOOLONG, "1021 + 3");
}
