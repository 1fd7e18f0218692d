//! NetBSD's `struct statvfs`, amd64 layout, in both sizes a rump_sp client
//! meets: the old one (statvfs1/fstatvfs1/getvfsstat, 356–358, 2256 bytes,
//! `compat_90`'s `struct statvfs90`) and NetBSD 10's (483–485, 3296 bytes,
//! which adds `f_mntfromlabel` and widens `f_spare`). `sys/sys/statvfs.h`.

/// The fields of a `struct statvfs` (the spare words are always zero).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statvfs {
    /// f_flag: copy of the mount's exported flags.
    pub flag: u64,
    /// f_bsize: file system block size.
    pub bsize: u64,
    /// f_frsize: fundamental file system block size.
    pub frsize: u64,
    /// f_iosize: optimal I/O size.
    pub iosize: u64,
    /// f_blocks: blocks in the file system, in f_frsize units.
    pub blocks: u64,
    /// f_bfree: free blocks.
    pub bfree: u64,
    /// f_bavail: free blocks available to a non-superuser.
    pub bavail: u64,
    /// f_bresvd: blocks reserved for the superuser.
    pub bresvd: u64,
    /// f_files: file nodes in the file system.
    pub files: u64,
    /// f_ffree: free file nodes.
    pub ffree: u64,
    /// f_favail: free file nodes available to a non-superuser.
    pub favail: u64,
    /// f_fresvd: file nodes reserved for the superuser.
    pub fresvd: u64,
    /// f_syncreads: synchronous reads since mount.
    pub syncreads: u64,
    /// f_syncwrites: synchronous writes since mount.
    pub syncwrites: u64,
    /// f_asyncreads: asynchronous reads since mount.
    pub asyncreads: u64,
    /// f_asyncwrites: asynchronous writes since mount.
    pub asyncwrites: u64,
    /// f_fsidx: the NetBSD-compatible file system id (two int32s).
    pub fsidx: [i32; 2],
    /// f_fsid: the POSIX file system id.
    pub fsid: u64,
    /// f_namemax: longest file name.
    pub namemax: u64,
    /// f_owner: uid of who mounted it.
    pub owner: u32,
    /// f_fstypename, e.g. `tmpfs`.
    pub fstypename: String,
    /// f_mntonname: the mount point.
    pub mntonname: String,
    /// f_mntfromname: what is mounted.
    pub mntfromname: String,
}

/// Byte offsets of the string fields: (f_fstypename, f_mntonname,
/// f_mntfromname), by layout.
const fn string_offsets(new: bool) -> (usize, usize, usize) {
    if new {
        (192, 224, 1248)
    } else {
        (172, 204, 1228)
    }
}

/// Offset of f_fsidx; the 16 counters before it are u64s.
const FSIDX: usize = 128;
/// Offset of f_fsid.
const FSID: usize = 136;
/// Offset of f_namemax.
const NAMEMAX: usize = 144;
/// Offset of f_owner.
const OWNER: usize = 152;
/// `_VFS_NAMELEN`.
const NAMELEN: usize = 32;
/// `_VFS_MNAMELEN`.
const MNAMELEN: usize = 1024;

impl Statvfs {
    /// Old layout (statvfs1/fstatvfs1/getvfsstat 356–358): 2256 bytes.
    pub const OLD_SIZE: usize = 2256;
    /// New layout (483–485): 3296 bytes.
    pub const NEW_SIZE: usize = 3296;

    fn counters(&self) -> [u64; 16] {
        [
            self.flag,
            self.bsize,
            self.frsize,
            self.iosize,
            self.blocks,
            self.bfree,
            self.bavail,
            self.bresvd,
            self.files,
            self.ffree,
            self.favail,
            self.fresvd,
            self.syncreads,
            self.syncwrites,
            self.asyncreads,
            self.asyncwrites,
        ]
    }

    /// Encodes in the old (`new == false`) or new layout; strings longer than
    /// their field are cut so that a NUL still ends them.
    pub fn encode(&self, new: bool) -> Vec<u8> {
        let mut b = vec![0u8; if new { Self::NEW_SIZE } else { Self::OLD_SIZE }];
        for (i, w) in self.counters().iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        b[FSIDX..FSIDX + 4].copy_from_slice(&self.fsidx[0].to_le_bytes());
        b[FSIDX + 4..FSIDX + 8].copy_from_slice(&self.fsidx[1].to_le_bytes());
        b[FSID..FSID + 8].copy_from_slice(&self.fsid.to_le_bytes());
        b[NAMEMAX..NAMEMAX + 8].copy_from_slice(&self.namemax.to_le_bytes());
        b[OWNER..OWNER + 4].copy_from_slice(&self.owner.to_le_bytes());
        let (ty, on, from) = string_offsets(new);
        put_str(&mut b, ty, NAMELEN, &self.fstypename);
        put_str(&mut b, on, MNAMELEN, &self.mntonname);
        put_str(&mut b, from, MNAMELEN, &self.mntfromname);
        b
    }

    /// Decodes either layout, chosen by the buffer's length (exactly
    /// [`Self::OLD_SIZE`] or [`Self::NEW_SIZE`] bytes); `None` otherwise.
    pub fn decode(b: &[u8]) -> Option<Statvfs> {
        let new = match b.len() {
            Self::OLD_SIZE => false,
            Self::NEW_SIZE => true,
            _ => return None,
        };
        let u64at = |i: usize| -> u64 {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(w)
        };
        let u32at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let c: Vec<u64> = (0..16).map(|i| u64at(i * 8)).collect();
        let (ty, on, from) = string_offsets(new);
        Some(Statvfs {
            flag: c[0],
            bsize: c[1],
            frsize: c[2],
            iosize: c[3],
            blocks: c[4],
            bfree: c[5],
            bavail: c[6],
            bresvd: c[7],
            files: c[8],
            ffree: c[9],
            favail: c[10],
            fresvd: c[11],
            syncreads: c[12],
            syncwrites: c[13],
            asyncreads: c[14],
            asyncwrites: c[15],
            fsidx: [u32at(FSIDX) as i32, u32at(FSIDX + 4) as i32],
            fsid: u64at(FSID),
            namemax: u64at(NAMEMAX),
            owner: u32at(OWNER),
            fstypename: get_str(&b[ty..ty + NAMELEN]),
            mntonname: get_str(&b[on..on + MNAMELEN]),
            mntfromname: get_str(&b[from..from + MNAMELEN]),
        })
    }

    /// One `name: expected X got Y` line per field that differs, with
    /// NetBSD's field names.
    pub fn diff(&self, actual: &Statvfs) -> Vec<String> {
        const NAMES: [&str; 16] = [
            "f_flag",
            "f_bsize",
            "f_frsize",
            "f_iosize",
            "f_blocks",
            "f_bfree",
            "f_bavail",
            "f_bresvd",
            "f_files",
            "f_ffree",
            "f_favail",
            "f_fresvd",
            "f_syncreads",
            "f_syncwrites",
            "f_asyncreads",
            "f_asyncwrites",
        ];
        let mut out = Vec::new();
        for ((name, e), a) in NAMES.iter().zip(self.counters()).zip(actual.counters()) {
            if e != a {
                if *name == "f_flag" {
                    out.push(format!("{name}: expected {e:#x} got {a:#x}"));
                } else {
                    out.push(format!("{name}: expected {e} got {a}"));
                }
            }
        }
        let mut field = |name: &str, e: String, a: String| {
            if e != a {
                out.push(format!("{name}: expected {e} got {a}"));
            }
        };
        field(
            "f_fsidx",
            format!("{:?}", self.fsidx),
            format!("{:?}", actual.fsidx),
        );
        field("f_fsid", self.fsid.to_string(), actual.fsid.to_string());
        field(
            "f_namemax",
            self.namemax.to_string(),
            actual.namemax.to_string(),
        );
        field("f_owner", self.owner.to_string(), actual.owner.to_string());
        field(
            "f_fstypename",
            format!("{:?}", self.fstypename),
            format!("{:?}", actual.fstypename),
        );
        field(
            "f_mntonname",
            format!("{:?}", self.mntonname),
            format!("{:?}", actual.mntonname),
        );
        field(
            "f_mntfromname",
            format!("{:?}", self.mntfromname),
            format!("{:?}", actual.mntfromname),
        );
        out
    }
}

fn put_str(b: &mut [u8], at: usize, cap: usize, s: &str) {
    let n = s.len().min(cap - 1);
    b[at..at + n].copy_from_slice(&s.as_bytes()[..n]);
}

fn get_str(field: &[u8]) -> String {
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Statvfs {
        Statvfs {
            flag: 0x1000,
            bsize: 4096,
            frsize: 4096,
            iosize: 4096,
            blocks: 100,
            bfree: 90,
            bavail: 90,
            files: 2_485_002,
            ffree: 2_485_001,
            favail: 2_485_001,
            syncwrites: 3,
            fsidx: [-1_020_000, 27_051],
            fsid: 0xfff0_5c00,
            namemax: 255,
            owner: 0,
            fstypename: "tmpfs".into(),
            mntonname: "/tmp".into(),
            mntfromname: "tmpfs".into(),
            ..Default::default()
        }
    }

    #[test]
    fn both_layouts_put_fields_where_netbsd_does_and_round_trip() {
        let v = sample();
        let old = v.encode(false);
        assert_eq!(old.len(), 2256);
        assert_eq!(&old[8..16], &4096u64.to_le_bytes());
        assert_eq!(&old[64..72], &2_485_002u64.to_le_bytes());
        assert_eq!(&old[104..112], &3u64.to_le_bytes(), "f_syncwrites");
        assert_eq!(&old[172..178], b"tmpfs\0");
        assert_eq!(&old[204..209], b"/tmp\0");
        assert_eq!(&old[1228..1234], b"tmpfs\0");
        let new = v.encode(true);
        assert_eq!(new.len(), 3296);
        assert_eq!(&new[192..197], b"tmpfs");
        assert_eq!(&new[224..229], b"/tmp\0");
        assert_eq!(Statvfs::decode(&old), Some(v.clone()));
        assert_eq!(Statvfs::decode(&new), Some(v));
        assert_eq!(Statvfs::decode(&old[..2255]), None);
        assert_eq!(Statvfs::decode(&[]), None);
    }

    #[test]
    fn overlong_names_are_cut_and_decode_stops_at_the_field_end() {
        let v = Statvfs {
            fstypename: "x".repeat(40),
            ..Default::default()
        };
        let b = v.encode(false);
        assert_eq!(b[172 + 31], 0, "a NUL still ends the field");
        let back = Statvfs::decode(&b).map(|d| d.fstypename);
        assert_eq!(back.as_deref(), Some("x".repeat(31).as_str()));
    }

    #[test]
    fn diff_names_each_differing_field_and_nothing_else() {
        let e = sample();
        assert!(e.diff(&e).is_empty());
        let mut a = sample();
        a.files = 2_485_006;
        a.mntonname = "/".into();
        a.flag = 0x1001;
        assert_eq!(
            e.diff(&a),
            [
                "f_flag: expected 0x1000 got 0x1001",
                "f_files: expected 2485002 got 2485006",
                "f_mntonname: expected \"/tmp\" got \"/\"",
            ]
        );
    }
}
