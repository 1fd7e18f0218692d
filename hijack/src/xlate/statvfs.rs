//! NetBSD `struct statvfs` (either layout, decoded by the protocol crate's
//! one definition, [`rumpsp_protocol::netbsd::Statvfs`]) to Linux
//! `struct statvfs` and `struct statfs`.

pub use rumpsp_protocol::netbsd::Statvfs as Vfs;

/// Decodes either layout (told by its length); `None` otherwise.
pub fn decode(b: &[u8]) -> Option<Vfs> {
    Vfs::decode(b)
}

/// MNT_RDONLY and MNT_NOSUID, NetBSD's values.
const MNT_RDONLY: u64 = 0x1;
const MNT_NOSUID: u64 = 0x8;

/// Linux f_type for a NetBSD filesystem type name (0 when unknown).
pub fn fs_magic(name: &str) -> i64 {
    match name {
        "tmpfs" => 0x0102_1994,
        "ffs" => 0x1954_0119,
        "msdos" => 0x4d44,
        "nfs" => 0x6969,
        "kernfs" | "ptyfs" | "procfs" => 0x9fa0,
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
    out.f_type = fs_magic(&v.fstypename);
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

    #[test]
    fn both_layouts_decode_and_translate() {
        let v = Vfs {
            flag: 1,
            bsize: 4096,
            frsize: 4096,
            blocks: 1000,
            namemax: 255,
            fstypename: "tmpfs".into(),
            ..Default::default()
        };
        for new in [true, false] {
            let d = decode(&v.encode(new)).unwrap();
            assert_eq!((d.bsize, d.blocks, d.namemax), (4096, 1000, 255));
            // SAFETY: plain old data
            let mut s: libc::statfs = unsafe { std::mem::zeroed() };
            to_linux_statfs(&d, &mut s);
            assert_eq!(s.f_type, 0x0102_1994);
            assert_eq!(s.f_namelen, 255);
            // SAFETY: plain old data
            let mut s2: libc::statvfs = unsafe { std::mem::zeroed() };
            to_linux_statvfs(&d, &mut s2);
            assert_eq!(s2.f_flag & libc::ST_RDONLY, libc::ST_RDONLY);
            assert_eq!(s2.f_blocks, 1000);
        }
        assert!(decode(&[0u8; 100]).is_none());
        assert_eq!(fs_magic("zfs"), 0);
    }
}
