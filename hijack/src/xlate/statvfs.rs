//! NetBSD `struct statvfs` (both layouts agree up to byte 152; the
//! filesystem type name is at 192 in the new 3296-byte layout and at 172 in
//! the old 2256-byte one) to Linux `struct statvfs` and `struct statfs`.

/// What a NetBSD statvfs says, layout-independent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vfs {
    /// f_flag (MNT_*).
    pub flag: u64,
    /// f_bsize.
    pub bsize: u64,
    /// f_frsize.
    pub frsize: u64,
    /// f_blocks.
    pub blocks: u64,
    /// f_bfree.
    pub bfree: u64,
    /// f_bavail.
    pub bavail: u64,
    /// f_files.
    pub files: u64,
    /// f_ffree.
    pub ffree: u64,
    /// f_favail.
    pub favail: u64,
    /// f_fsid.
    pub fsid: u64,
    /// f_namemax.
    pub namemax: u64,
    /// f_fstypename.
    pub fstype: Vec<u8>,
}

/// Size of the new layout (`__statvfs190`).
pub const NEW_SIZE: usize = 3296;
/// Size of the old layout (`statvfs1`).
pub const OLD_SIZE: usize = 2256;

/// Decodes either layout (told by its length); `None` if too short.
pub fn decode(b: &[u8]) -> Option<Vfs> {
    let name_at = match b.len() {
        NEW_SIZE => 192,
        OLD_SIZE => 172,
        _ => return None,
    };
    let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    let name = &b[name_at..name_at + 32];
    let n = name.iter().position(|&c| c == 0).unwrap_or(32);
    Some(Vfs {
        flag: u(0),
        bsize: u(8),
        frsize: u(16),
        blocks: u(32),
        bfree: u(40),
        bavail: u(48),
        files: u(64),
        ffree: u(72),
        favail: u(80),
        fsid: u(136),
        namemax: u(144),
        fstype: name[..n].to_vec(),
    })
}

/// MNT_RDONLY and MNT_NOSUID, NetBSD's values.
const MNT_RDONLY: u64 = 0x1;
const MNT_NOSUID: u64 = 0x8;

/// Linux f_type for a NetBSD filesystem type name (0 when unknown).
pub fn fs_magic(name: &[u8]) -> i64 {
    match name {
        b"tmpfs" => 0x0102_1994,
        b"ffs" => 0x1954_0119,
        b"msdos" => 0x4d44,
        b"nfs" => 0x6969,
        b"kernfs" | b"ptyfs" | b"procfs" => 0x9fa0,
        _ => 0,
    }
}

/// Fills a Linux `struct statvfs`.
pub fn to_linux_statvfs(v: &Vfs, out: &mut libc::statvfs) {
    // SAFETY: plain old data
    *out = unsafe { std::mem::zeroed() };
    out.f_bsize = v.bsize;
    out.f_frsize = v.frsize;
    out.f_blocks = v.blocks;
    out.f_bfree = v.bfree;
    out.f_bavail = v.bavail;
    out.f_files = v.files;
    out.f_ffree = v.ffree;
    out.f_favail = v.favail;
    out.f_fsid = v.fsid;
    out.f_namemax = v.namemax;
    let mut f = 0;
    if v.flag & MNT_RDONLY != 0 {
        f |= libc::ST_RDONLY;
    }
    if v.flag & MNT_NOSUID != 0 {
        f |= libc::ST_NOSUID;
    }
    out.f_flag = f;
}

/// Fills a Linux `struct statfs`.
pub fn to_linux_statfs(v: &Vfs, out: &mut libc::statfs) {
    // SAFETY: plain old data
    *out = unsafe { std::mem::zeroed() };
    out.f_type = fs_magic(&v.fstype);
    out.f_bsize = v.bsize as i64;
    out.f_blocks = v.blocks;
    out.f_bfree = v.bfree;
    out.f_bavail = v.bavail;
    out.f_files = v.files;
    out.f_ffree = v.ffree;
    out.f_namelen = v.namemax as i64;
    out.f_frsize = v.frsize as i64;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, name_at: usize) -> Vec<u8> {
        let mut b = vec![0u8; size];
        b[8..16].copy_from_slice(&4096u64.to_le_bytes());
        b[32..40].copy_from_slice(&1000u64.to_le_bytes());
        b[144..152].copy_from_slice(&255u64.to_le_bytes());
        b[0] = 1;
        b[name_at..name_at + 5].copy_from_slice(b"tmpfs");
        b
    }

    #[test]
    fn both_layouts_decode_and_translate() {
        for (size, at) in [(NEW_SIZE, 192), (OLD_SIZE, 172)] {
            let v = decode(&layout(size, at)).unwrap();
            assert_eq!((v.bsize, v.blocks, v.namemax), (4096, 1000, 255));
            assert_eq!(v.fstype, b"tmpfs");
            // SAFETY: plain old data
            let mut s: libc::statfs = unsafe { std::mem::zeroed() };
            to_linux_statfs(&v, &mut s);
            assert_eq!(s.f_type, 0x0102_1994);
            // SAFETY: plain old data
            let mut s2: libc::statvfs = unsafe { std::mem::zeroed() };
            to_linux_statvfs(&v, &mut s2);
            assert_eq!(s2.f_flag & libc::ST_RDONLY, libc::ST_RDONLY);
        }
        assert!(decode(&[0u8; 100]).is_none());
        assert_eq!(fs_magic(b"zfs"), 0);
    }
}
