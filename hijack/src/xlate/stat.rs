//! NetBSD `struct stat` (152 bytes, `rumpsp_protocol::netbsd::StatBuf`) to
//! Linux `struct stat` and `struct statx`; Linux timespecs to NetBSD's.

use rumpsp_protocol::netbsd::StatBuf;

/// NetBSD major(dev): bits 8..20.
pub fn dev_major(d: u64) -> u32 {
    ((d & 0x000f_ff00) >> 8) as u32
}

/// NetBSD minor(dev): bits 0..8 and 20..32.
pub fn dev_minor(d: u64) -> u32 {
    (((d & 0xfff0_0000) >> 12) | (d & 0xff)) as u32
}

/// A NetBSD dev_t as a Linux one (same major and minor numbers).
pub fn dev_to_linux(d: u64) -> u64 {
    libc::makedev(dev_major(d), dev_minor(d))
}

/// Fills a Linux `struct stat` (x86_64 layout) from a NetBSD one. The mode
/// bits are the same on both systems (S_IF* and permissions).
pub fn to_linux_stat(s: &StatBuf, out: &mut libc::stat) {
    // SAFETY: libc::stat is plain old data; all-zero is a valid value
    *out = unsafe { std::mem::zeroed() };
    out.st_dev = dev_to_linux(s.dev);
    out.st_ino = s.ino;
    out.st_nlink = u64::from(s.nlink);
    out.st_mode = s.mode;
    out.st_uid = s.uid;
    out.st_gid = s.gid;
    out.st_rdev = dev_to_linux(s.rdev);
    out.st_size = s.size;
    out.st_blksize = i64::from(s.blksize);
    out.st_blocks = s.blocks;
    out.st_atime = s.atime.sec;
    out.st_atime_nsec = s.atime.nsec;
    out.st_mtime = s.mtime.sec;
    out.st_mtime_nsec = s.mtime.nsec;
    out.st_ctime = s.ctime.sec;
    out.st_ctime_nsec = s.ctime.nsec;
}

fn ts(t: rumpsp_protocol::netbsd::Timespec) -> libc::statx_timestamp {
    // SAFETY: plain old data
    let mut x: libc::statx_timestamp = unsafe { std::mem::zeroed() };
    x.tv_sec = t.sec;
    x.tv_nsec = t.nsec.clamp(0, 999_999_999) as u32;
    x
}

/// Fills a Linux `struct statx`: every basic field plus the birth time.
pub fn to_linux_statx(s: &StatBuf, out: &mut libc::statx) {
    // SAFETY: plain old data
    *out = unsafe { std::mem::zeroed() };
    out.stx_mask = libc::STATX_BASIC_STATS | libc::STATX_BTIME;
    out.stx_blksize = s.blksize as u32;
    out.stx_nlink = s.nlink;
    out.stx_uid = s.uid;
    out.stx_gid = s.gid;
    out.stx_mode = s.mode as u16;
    out.stx_ino = s.ino;
    out.stx_size = s.size as u64;
    out.stx_blocks = s.blocks as u64;
    out.stx_atime = ts(s.atime);
    out.stx_btime = ts(s.birthtime);
    out.stx_ctime = ts(s.ctime);
    out.stx_mtime = ts(s.mtime);
    out.stx_rdev_major = dev_major(s.rdev);
    out.stx_rdev_minor = dev_minor(s.rdev);
    out.stx_dev_major = dev_major(s.dev);
    out.stx_dev_minor = dev_minor(s.dev);
}

/// Two Linux timespecs (utimensat's array; UTIME_NOW and UTIME_OMIT have the
/// same values on both systems) as NetBSD's 32 bytes.
pub fn timespecs_to_netbsd(t: &[libc::timespec; 2]) -> Vec<u8> {
    let mut b = Vec::with_capacity(32);
    for x in t {
        b.extend_from_slice(&x.tv_sec.to_le_bytes());
        b.extend_from_slice(&x.tv_nsec.to_le_bytes());
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumpsp_protocol::netbsd::Timespec;

    fn sample() -> StatBuf {
        StatBuf {
            dev: 0x0000_0603,
            mode: 0o100644,
            ino: 42,
            nlink: 3,
            uid: 1000,
            gid: 100,
            rdev: 0x0030_0105,
            atime: Timespec { sec: 10, nsec: 1 },
            mtime: Timespec { sec: 20, nsec: 2 },
            ctime: Timespec { sec: 30, nsec: 3 },
            birthtime: Timespec { sec: 5, nsec: 4 },
            size: 12345,
            blocks: 25,
            blksize: 4096,
            flags: 0,
            gen: 0,
        }
    }

    #[test]
    fn stat_fields_land_in_the_linux_layout() {
        let s = sample();
        // SAFETY: plain old data
        let mut l: libc::stat = unsafe { std::mem::zeroed() };
        to_linux_stat(&s, &mut l);
        assert_eq!((l.st_ino, l.st_mode, l.st_nlink), (42, 0o100644, 3));
        assert_eq!(
            (l.st_uid, l.st_gid, l.st_size, l.st_blocks),
            (1000, 100, 12345, 25)
        );
        assert_eq!((l.st_mtime, l.st_mtime_nsec), (20, 2));
        assert_eq!((l.st_ctime, l.st_atime), (30, 10));
        assert_eq!(libc::major(l.st_dev), 6);
        assert_eq!(libc::minor(l.st_dev), 3);
        assert_eq!(libc::major(l.st_rdev), 1);
        assert_eq!(libc::minor(l.st_rdev), 0x305);
        // SAFETY: plain old data
        let mut x: libc::statx = unsafe { std::mem::zeroed() };
        to_linux_statx(&s, &mut x);
        assert_eq!(x.stx_btime.tv_sec, 5);
        assert_eq!((x.stx_size, x.stx_mode), (12345, 0o100644));
        assert_ne!(x.stx_mask & libc::STATX_BTIME, 0);
    }

    #[test]
    fn timespec_array_is_two_sec_nsec_pairs() {
        let t = [
            libc::timespec {
                tv_sec: 7,
                tv_nsec: libc::UTIME_OMIT,
            },
            libc::timespec {
                tv_sec: 1_700_000_000,
                tv_nsec: 5,
            },
        ];
        let b = timespecs_to_netbsd(&t);
        assert_eq!(b.len(), 32);
        assert_eq!(&b[8..16], &0x3fff_fffei64.to_le_bytes());
        assert_eq!(&b[16..24], &1_700_000_000i64.to_le_bytes());
    }
}
