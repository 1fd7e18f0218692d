//! open(2) flags, *at() flags, fcntl(2) commands and locks, lseek whence,
//! access modes: Linux values to NetBSD ones and back.

/// NetBSD open flags (fcntl.h 1.54).
pub mod nb {
    /// O_NONBLOCK.
    pub const O_NONBLOCK: i32 = 0x4;
    /// O_APPEND.
    pub const O_APPEND: i32 = 0x8;
    /// O_ASYNC.
    pub const O_ASYNC: i32 = 0x40;
    /// O_SYNC.
    pub const O_SYNC: i32 = 0x80;
    /// O_NOFOLLOW.
    pub const O_NOFOLLOW: i32 = 0x100;
    /// O_CREAT.
    pub const O_CREAT: i32 = 0x200;
    /// O_TRUNC.
    pub const O_TRUNC: i32 = 0x400;
    /// O_EXCL.
    pub const O_EXCL: i32 = 0x800;
    /// O_NOCTTY.
    pub const O_NOCTTY: i32 = 0x8000;
    /// O_DSYNC.
    pub const O_DSYNC: i32 = 0x1_0000;
    /// O_DIRECT.
    pub const O_DIRECT: i32 = 0x8_0000;
    /// O_DIRECTORY.
    pub const O_DIRECTORY: i32 = 0x20_0000;
    /// O_CLOEXEC.
    pub const O_CLOEXEC: i32 = 0x40_0000;
    /// AT_FDCWD (the same value as Linux's).
    pub const AT_FDCWD: i32 = -100;
    /// AT_EACCESS.
    pub const AT_EACCESS: i32 = 0x100;
    /// AT_SYMLINK_NOFOLLOW.
    pub const AT_SYMLINK_NOFOLLOW: i32 = 0x200;
    /// AT_SYMLINK_FOLLOW.
    pub const AT_SYMLINK_FOLLOW: i32 = 0x400;
    /// AT_REMOVEDIR.
    pub const AT_REMOVEDIR: i32 = 0x800;
    /// F_DUPFD.
    pub const F_DUPFD: i32 = 0;
    /// F_GETFD.
    pub const F_GETFD: i32 = 1;
    /// F_SETFD.
    pub const F_SETFD: i32 = 2;
    /// F_GETFL.
    pub const F_GETFL: i32 = 3;
    /// F_SETFL.
    pub const F_SETFL: i32 = 4;
    /// F_GETLK.
    pub const F_GETLK: i32 = 7;
    /// F_SETLK.
    pub const F_SETLK: i32 = 8;
    /// F_SETLKW.
    pub const F_SETLKW: i32 = 9;
    /// F_DUPFD_CLOEXEC.
    pub const F_DUPFD_CLOEXEC: i32 = 12;
}

/// Pairs (Linux bit, NetBSD bit) translated one for one.
const OPEN_BITS: [(i32, i32); 11] = [
    (libc::O_CREAT, nb::O_CREAT),
    (libc::O_EXCL, nb::O_EXCL),
    (libc::O_NOCTTY, nb::O_NOCTTY),
    (libc::O_TRUNC, nb::O_TRUNC),
    (libc::O_APPEND, nb::O_APPEND),
    (libc::O_NONBLOCK, nb::O_NONBLOCK),
    (libc::O_ASYNC, nb::O_ASYNC),
    (libc::O_DIRECT, nb::O_DIRECT),
    (libc::O_DIRECTORY, nb::O_DIRECTORY),
    (libc::O_NOFOLLOW, nb::O_NOFOLLOW),
    (libc::O_CLOEXEC, nb::O_CLOEXEC),
];

/// Linux open flags to NetBSD ones. `Err(errno)` (Linux) for what NetBSD
/// cannot do: O_TMPFILE (EOPNOTSUPP). O_PATH opens read-only; O_LARGEFILE and
/// O_NOATIME are dropped.
pub fn open_to_netbsd(l: i32) -> Result<i32, i32> {
    if l & libc::O_TMPFILE == libc::O_TMPFILE {
        return Err(libc::EOPNOTSUPP);
    }
    let mut n = if l & libc::O_PATH != 0 {
        0
    } else {
        l & libc::O_ACCMODE
    };
    for (lb, nbit) in OPEN_BITS {
        if l & lb != 0 {
            n |= nbit;
        }
    }
    if l & libc::O_SYNC == libc::O_SYNC {
        n |= nb::O_SYNC;
    } else if l & libc::O_DSYNC != 0 {
        n |= nb::O_DSYNC;
    }
    Ok(n)
}

/// NetBSD open flags (F_GETFL) to Linux ones.
pub fn open_to_linux(n: i32) -> i32 {
    let mut l = n & 3;
    for (lb, nbit) in OPEN_BITS {
        if n & nbit != 0 {
            l |= lb;
        }
    }
    if n & nb::O_SYNC != 0 {
        l |= libc::O_SYNC;
    } else if n & nb::O_DSYNC != 0 {
        l |= libc::O_DSYNC;
    }
    l
}

/// Which *at() call a flags word belongs to (the same Linux bit means
/// different things: 0x200 is AT_REMOVEDIR for unlinkat, AT_EACCESS for faccessat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtCall {
    /// faccessat: AT_EACCESS, AT_SYMLINK_NOFOLLOW.
    Access,
    /// unlinkat: AT_REMOVEDIR.
    Unlink,
    /// linkat: AT_SYMLINK_FOLLOW.
    Link,
    /// fstatat, fchmodat, fchownat, utimensat: AT_SYMLINK_NOFOLLOW.
    Other,
}

/// Linux AT_* flags to NetBSD ones; `Err(EINVAL)` for a bit the call does not take
/// (AT_EMPTY_PATH and AT_NO_AUTOMOUNT are handled or dropped by the caller).
pub fn at_to_netbsd(l: i32, call: AtCall) -> Result<i32, i32> {
    let l = l & !(libc::AT_EMPTY_PATH | libc::AT_NO_AUTOMOUNT);
    let table: &[(i32, i32)] = match call {
        AtCall::Access => &[
            (libc::AT_EACCESS, nb::AT_EACCESS),
            (libc::AT_SYMLINK_NOFOLLOW, nb::AT_SYMLINK_NOFOLLOW),
        ],
        AtCall::Unlink => &[(libc::AT_REMOVEDIR, nb::AT_REMOVEDIR)],
        AtCall::Link => &[(libc::AT_SYMLINK_FOLLOW, nb::AT_SYMLINK_FOLLOW)],
        AtCall::Other => &[(libc::AT_SYMLINK_NOFOLLOW, nb::AT_SYMLINK_NOFOLLOW)],
    };
    let mut n = 0;
    let mut rest = l;
    for &(lb, nbit) in table {
        if l & lb != 0 {
            n |= nbit;
            rest &= !lb;
        }
    }
    if rest != 0 {
        return Err(libc::EINVAL);
    }
    Ok(n)
}

/// Linux lock type to NetBSD's (F_RDLCK 1, F_UNLCK 2, F_WRLCK 3).
pub fn lock_type_to_netbsd(l: i16) -> Option<i16> {
    match i32::from(l) {
        libc::F_RDLCK => Some(1),
        libc::F_UNLCK => Some(2),
        libc::F_WRLCK => Some(3),
        _ => None,
    }
}

/// NetBSD lock type to Linux's.
pub fn lock_type_to_linux(n: i16) -> i16 {
    (match n {
        1 => libc::F_RDLCK,
        3 => libc::F_WRLCK,
        _ => libc::F_UNLCK,
    }) as i16
}

/// A Linux `struct flock` as NetBSD's 24-byte layout (l_start @0, l_len @8,
/// l_pid @16, l_type @20, l_whence @22); `None` for an unknown lock type.
pub fn flock_to_netbsd(f: &libc::flock) -> Option<[u8; 24]> {
    let mut b = [0u8; 24];
    b[0..8].copy_from_slice(&f.l_start.to_le_bytes());
    b[8..16].copy_from_slice(&f.l_len.to_le_bytes());
    b[16..20].copy_from_slice(&f.l_pid.to_le_bytes());
    b[20..22].copy_from_slice(&lock_type_to_netbsd(f.l_type)?.to_le_bytes());
    b[22..24].copy_from_slice(&f.l_whence.to_le_bytes());
    Some(b)
}

/// NetBSD's 24-byte `struct flock` into a Linux one.
pub fn flock_to_linux(b: &[u8], f: &mut libc::flock) {
    if b.len() < 24 {
        return;
    }
    let i64at = |i: usize| i64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    f.l_start = i64at(0);
    f.l_len = i64at(8);
    f.l_pid = i32::from_le_bytes(b[16..20].try_into().unwrap_or([0; 4]));
    f.l_type = lock_type_to_linux(i16::from_le_bytes([b[20], b[21]]));
    f.l_whence = i16::from_le_bytes([b[22], b[23]]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_round_trip_and_differ_where_the_systems_do() {
        let l = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
        let n = open_to_netbsd(l).unwrap();
        assert_eq!(n, 1 | 0x200 | 0x400 | 0x40_0000);
        assert_eq!(open_to_linux(n), l);
        // O_CREAT is 0x40 on Linux, O_ASYNC on NetBSD: never passed through raw
        assert_eq!(open_to_netbsd(libc::O_CREAT).unwrap() & nb::O_ASYNC, 0);
        assert_eq!(
            open_to_netbsd(libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW).unwrap(),
            nb::O_DIRECTORY | nb::O_NOFOLLOW
        );
        assert_eq!(
            open_to_netbsd(libc::O_RDWR | libc::O_APPEND | libc::O_EXCL).unwrap(),
            2 | nb::O_APPEND | nb::O_EXCL
        );
        assert_eq!(open_to_netbsd(libc::O_SYNC).unwrap(), nb::O_SYNC);
        assert_eq!(open_to_netbsd(libc::O_DSYNC).unwrap(), nb::O_DSYNC);
        assert_eq!(open_to_linux(nb::O_SYNC), libc::O_SYNC);
        assert_eq!(open_to_netbsd(libc::O_PATH | libc::O_WRONLY).unwrap(), 0);
        assert_eq!(
            open_to_netbsd(libc::O_TMPFILE | libc::O_RDWR),
            Err(libc::EOPNOTSUPP)
        );
    }

    #[test]
    fn at_flags_depend_on_the_call() {
        assert_eq!(
            at_to_netbsd(libc::AT_REMOVEDIR, AtCall::Unlink),
            Ok(nb::AT_REMOVEDIR)
        );
        assert_eq!(
            at_to_netbsd(libc::AT_EACCESS, AtCall::Access),
            Ok(nb::AT_EACCESS)
        );
        assert_eq!(
            at_to_netbsd(libc::AT_SYMLINK_NOFOLLOW, AtCall::Other),
            Ok(nb::AT_SYMLINK_NOFOLLOW)
        );
        assert_eq!(
            at_to_netbsd(libc::AT_SYMLINK_FOLLOW, AtCall::Link),
            Ok(nb::AT_SYMLINK_FOLLOW)
        );
        assert_eq!(
            at_to_netbsd(libc::AT_SYMLINK_NOFOLLOW, AtCall::Unlink),
            Err(libc::EINVAL)
        );
        assert_eq!(at_to_netbsd(libc::AT_EMPTY_PATH, AtCall::Other), Ok(0));
    }

    #[test]
    fn flock_layouts() {
        let mut f: libc::flock = unsafe { std::mem::zeroed() };
        f.l_type = libc::F_WRLCK as i16;
        f.l_whence = libc::SEEK_SET as i16;
        f.l_start = 1 << 30;
        f.l_len = 510;
        let b = flock_to_netbsd(&f).unwrap();
        assert_eq!(&b[0..8], &(1i64 << 30).to_le_bytes());
        assert_eq!(&b[20..22], &3i16.to_le_bytes(), "F_WRLCK is 3 on NetBSD");
        let mut g: libc::flock = unsafe { std::mem::zeroed() };
        flock_to_linux(&b, &mut g);
        assert_eq!(
            (g.l_type, g.l_start, g.l_len),
            (f.l_type, f.l_start, f.l_len)
        );
        f.l_type = 9;
        assert!(flock_to_netbsd(&f).is_none());
        assert_eq!(lock_type_to_linux(2), libc::F_UNLCK as i16);
    }
}
