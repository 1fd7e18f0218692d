//! Encoders for the NetBSD structures the kernel copies out (netbsd-abi.md §5).

use crate::vfs::Timespec;

/// `struct stat`: one definition, in the protocol crate, encoded here and decoded by clients.
pub use rumpsp_protocol::netbsd::StatBuf as Stat;

/// One `struct dirent` record: {u64 ino, u16 reclen, u16 namlen, u8 type, name, NUL, zero padding to 8}.
pub fn dirent(ino: u64, dtype: u8, name: &[u8]) -> Vec<u8> {
    let reclen = (13 + name.len() + 1 + 7) & !7;
    let mut b = vec![0u8; reclen];
    b[0..8].copy_from_slice(&ino.to_le_bytes());
    b[8..10].copy_from_slice(&(reclen as u16).to_le_bytes());
    b[10..12].copy_from_slice(&(name.len() as u16).to_le_bytes());
    b[12] = dtype;
    b[13..13 + name.len()].copy_from_slice(name);
    b
}

/// `struct statvfs`: one definition (both layouts), in the protocol crate.
pub use rumpsp_protocol::netbsd::Statvfs;

/// A `struct timespec`.
pub fn timespec(t: Timespec) -> Vec<u8> {
    let mut b = t.sec.to_le_bytes().to_vec();
    b.extend_from_slice(&t.nsec.to_le_bytes());
    b
}

/// A `struct timeval` (tv_usec is an i32 followed by 4 bytes of padding).
pub fn timeval(t: Timespec) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    b[0..8].copy_from_slice(&t.sec.to_le_bytes());
    b[8..12].copy_from_slice(&((t.nsec / 1000) as i32).to_le_bytes());
    b
}

/// Reads a `struct timespec`.
pub fn read_timespec(b: &[u8]) -> Timespec {
    let w = |i: usize| i64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    Timespec {
        sec: w(0),
        nsec: w(8),
    }
}

/// Reads a `struct timeval` as a timespec.
pub fn read_timeval(b: &[u8]) -> Timespec {
    let sec = i64::from_le_bytes(b[0..8].try_into().unwrap_or([0; 8]));
    let usec = i32::from_le_bytes(b[8..12].try_into().unwrap_or([0; 4]));
    Timespec {
        sec,
        nsec: i64::from(usec) * 1000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirent_records_match_the_fileops_capture() {
        // fileops.jsonl: "." in /tmp/fileops.d, ino 0x96_9ec7_1ccd
        assert_eq!(
            dirent(0x96_9ec7_1ccd, 4, b"."),
            [0xcd, 0x1c, 0xc7, 0x9e, 0x96, 0, 0, 0, 0x10, 0, 1, 0, 4, b'.', 0, 0]
        );
        let r = dirent(0x96_9ec7_1ccc, 8, b"one.txt");
        assert_eq!(r.len(), 24);
        assert_eq!(&r[8..13], &[24, 0, 7, 0, 8]);
        assert_eq!(&r[13..21], b"one.txt\0");
        assert_eq!(dirent(1, 8, &[b'x'; 26]).len(), 40);
    }

    #[test]
    fn stat_layout() {
        let s = Stat {
            dev: 0xab01,
            mode: 0o100644,
            ino: 7,
            nlink: 1,
            size: 19,
            blksize: 4096,
            rdev: u64::MAX,
            ..Default::default()
        };
        let b = s.encode();
        assert_eq!(b.len(), 152);
        assert_eq!(&b[0..8], &0xab01u64.to_le_bytes());
        assert_eq!(&b[8..12], &0o100644u32.to_le_bytes());
        assert_eq!(&b[40..48], &[0xff; 8]);
        assert_eq!(&b[112..120], &19i64.to_le_bytes());
        assert_eq!(&b[128..132], &4096i32.to_le_bytes());
    }
}
