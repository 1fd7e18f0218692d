//! NetBSD's `struct timespec` and `struct stat` (`__stat50`), amd64 layout.

/// A `struct timespec`: seconds and nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds.
    pub nsec: i64,
}

impl std::fmt::Display for Timespec {
    /// `sec.nnnnnnnnn`, e.g. `1796230480.650574411`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:09}", self.sec, self.nsec)
    }
}

/// NetBSD's `struct stat` (`__stat50`), amd64 layout: what the simulated
/// kernel encodes and what the client decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatBuf {
    /// st_dev.
    pub dev: u64,
    /// st_mode (type and permission bits).
    pub mode: u32,
    /// st_ino.
    pub ino: u64,
    /// st_nlink.
    pub nlink: u32,
    /// st_uid.
    pub uid: u32,
    /// st_gid.
    pub gid: u32,
    /// st_rdev.
    pub rdev: u64,
    /// st_atim.
    pub atime: Timespec,
    /// st_mtim.
    pub mtime: Timespec,
    /// st_ctim.
    pub ctime: Timespec,
    /// st_birthtim.
    pub birthtime: Timespec,
    /// st_size.
    pub size: i64,
    /// st_blocks.
    pub blocks: i64,
    /// st_blksize.
    pub blksize: i32,
    /// st_flags.
    pub flags: u32,
    /// st_gen.
    pub gen: u32,
}

/// Byte offsets of the fields in the 152-byte layout.
mod stat_at {
    pub const DEV: usize = 0;
    pub const MODE: usize = 8;
    pub const INO: usize = 16;
    pub const NLINK: usize = 24;
    pub const UID: usize = 28;
    pub const GID: usize = 32;
    pub const RDEV: usize = 40;
    pub const ATIME: usize = 48;
    pub const MTIME: usize = 64;
    pub const CTIME: usize = 80;
    pub const BIRTHTIME: usize = 96;
    pub const SIZE: usize = 112;
    pub const BLOCKS: usize = 120;
    pub const BLKSIZE: usize = 128;
    pub const FLAGS: usize = 132;
    pub const GEN: usize = 136;
}

impl StatBuf {
    /// Size of the encoded structure.
    pub const SIZE: usize = 152;

    /// Decodes the 152-byte amd64 layout; `None` if it is shorter.
    pub fn decode(b: &[u8]) -> Option<StatBuf> {
        use stat_at::*;
        let b: &[u8; Self::SIZE] = b.get(..Self::SIZE)?.try_into().ok()?;
        let u32at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64at = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(w)
        };
        let ts = |i: usize| Timespec {
            sec: u64at(i) as i64,
            nsec: u64at(i + 8) as i64,
        };
        Some(StatBuf {
            dev: u64at(DEV),
            mode: u32at(MODE),
            ino: u64at(INO),
            nlink: u32at(NLINK),
            uid: u32at(UID),
            gid: u32at(GID),
            rdev: u64at(RDEV),
            atime: ts(ATIME),
            mtime: ts(MTIME),
            ctime: ts(CTIME),
            birthtime: ts(BIRTHTIME),
            size: u64at(SIZE) as i64,
            blocks: u64at(BLOCKS) as i64,
            blksize: u32at(BLKSIZE) as i32,
            flags: u32at(FLAGS),
            gen: u32at(GEN),
        })
    }

    /// The 152-byte amd64 encoding (padding zeroed).
    pub fn encode(&self) -> Vec<u8> {
        use stat_at::*;
        let mut b = vec![0u8; Self::SIZE];
        let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
        put(DEV, &self.dev.to_le_bytes());
        put(MODE, &self.mode.to_le_bytes());
        put(INO, &self.ino.to_le_bytes());
        put(NLINK, &self.nlink.to_le_bytes());
        put(UID, &self.uid.to_le_bytes());
        put(GID, &self.gid.to_le_bytes());
        put(RDEV, &self.rdev.to_le_bytes());
        for (at, t) in [
            (ATIME, self.atime),
            (MTIME, self.mtime),
            (CTIME, self.ctime),
            (BIRTHTIME, self.birthtime),
        ] {
            put(at, &t.sec.to_le_bytes());
            put(at + 8, &t.nsec.to_le_bytes());
        }
        put(SIZE, &self.size.to_le_bytes());
        put(BLOCKS, &self.blocks.to_le_bytes());
        put(BLKSIZE, &self.blksize.to_le_bytes());
        put(FLAGS, &self.flags.to_le_bytes());
        put(GEN, &self.gen.to_le_bytes());
        b
    }

    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & 0o170000 == 0o040000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespec_display() {
        let t = Timespec { sec: 17, nsec: 5 };
        assert_eq!(t.to_string(), "17.000000005");
    }

    #[test]
    fn stat_round_trip_and_offsets() {
        assert!(StatBuf::decode(&[0; 100]).is_none());
        let st = StatBuf {
            dev: 0xab01,
            mode: 0o100644,
            ino: 7,
            nlink: 2,
            uid: 1000,
            gid: 100,
            rdev: 3,
            atime: Timespec { sec: 1, nsec: 2 },
            mtime: Timespec { sec: 3, nsec: 4 },
            ctime: Timespec { sec: 5, nsec: 6 },
            birthtime: Timespec { sec: 7, nsec: 8 },
            size: 4096,
            blocks: 8,
            blksize: 512,
            flags: 0x20,
            gen: 9,
        };
        let b = st.encode();
        assert_eq!(b.len(), StatBuf::SIZE);
        assert_eq!(StatBuf::decode(&b), Some(st));
        assert_eq!(&b[64..72], &3i64.to_le_bytes(), "st_mtim.tv_sec at 64");
        assert_eq!(&b[112..120], &4096i64.to_le_bytes(), "st_size at 112");
    }
}
