//! NetBSD `__getdents30` records to Linux `dirent64` records. The DT_*
//! values are the same on both systems.

use rumpsp_protocol::netbsd::Dirent;

/// Size of a Linux dirent64 record for a name of `namlen` bytes
/// (19-byte header, the name, its NUL, rounded up to 8).
pub fn linux_reclen(namlen: usize) -> usize {
    (19 + namlen + 1 + 7) & !7
}

/// How many NetBSD bytes to ask for so that the translated records fit in
/// `linux_room` bytes: a Linux record is at most 1.5 times a NetBSD one
/// (16 -> 24 bytes for names of up to 2 bytes).
pub fn netbsd_request(linux_room: usize) -> usize {
    (linux_room * 2 / 3).min(65536)
}

/// Appends the entries as Linux dirent64 records (d_off: the running index
/// `first_off + i + 1`); returns how many fitted in `room` bytes.
pub fn to_linux(entries: &[Dirent], first_off: i64, out: &mut Vec<u8>, room: usize) -> usize {
    let mut n = 0;
    for (i, e) in entries.iter().enumerate() {
        let rl = linux_reclen(e.name.len());
        if out.len() + rl > room {
            break;
        }
        let start = out.len();
        out.resize(start + rl, 0);
        let r = &mut out[start..];
        r[0..8].copy_from_slice(&e.ino.to_le_bytes());
        r[8..16].copy_from_slice(&(first_off + i as i64 + 1).to_le_bytes());
        r[16..18].copy_from_slice(&(rl as u16).to_le_bytes());
        r[18] = e.dtype;
        r[19..19 + e.name.len()].copy_from_slice(&e.name);
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_have_linux_layout_and_stop_when_full() {
        let es = vec![
            Dirent {
                ino: 5,
                dtype: 4,
                name: b".".to_vec(),
            },
            Dirent {
                ino: 9,
                dtype: 8,
                name: b"hello.txt".to_vec(),
            },
        ];
        let mut out = Vec::new();
        assert_eq!(to_linux(&es, 0, &mut out, 4096), 2);
        assert_eq!(out.len(), 24 + 32);
        assert_eq!(&out[0..8], &5u64.to_le_bytes());
        assert_eq!(u16::from_le_bytes([out[16], out[17]]), 24);
        assert_eq!(out[18], 4);
        assert_eq!(&out[24 + 19..24 + 28], b"hello.txt");
        assert_eq!(out[24 + 28], 0, "NUL after the name");
        let mut small = Vec::new();
        assert_eq!(to_linux(&es, 0, &mut small, 30), 1);
        // the worst-case ratio: 16-byte NetBSD records become 24-byte ones
        assert!(linux_reclen(2) <= 24 && netbsd_request(24) == 16);
    }
}
