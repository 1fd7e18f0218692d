//! NetBSD's `struct dirent` as `__getdents30` packs it, amd64 layout.

/// One directory entry from `__getdents30`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirent {
    /// d_fileno.
    pub ino: u64,
    /// d_type (DT_*).
    pub dtype: u8,
    /// The name.
    pub name: Vec<u8>,
}

/// Splits a `__getdents30` buffer into entries (stops at the first malformed record).
pub fn parse_dirents(b: &[u8]) -> Vec<Dirent> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 13 <= b.len() {
        let reclen = u16::from_le_bytes([b[i + 8], b[i + 9]]) as usize;
        let namlen = u16::from_le_bytes([b[i + 10], b[i + 11]]) as usize;
        if reclen < 16 || i + reclen > b.len() || 13 + namlen > reclen {
            break;
        }
        out.push(Dirent {
            ino: u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8])),
            dtype: b[i + 12],
            name: b[i + 13..i + 13 + namlen].to_vec(),
        });
        i += reclen;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirents_from_the_fileops_capture() {
        let rec = |ino: u64, t: u8, name: &[u8]| {
            let reclen = (13 + name.len() + 1 + 7) & !7;
            let mut v = vec![0u8; reclen];
            v[..8].copy_from_slice(&ino.to_le_bytes());
            v[8..10].copy_from_slice(&(reclen as u16).to_le_bytes());
            v[10..12].copy_from_slice(&(name.len() as u16).to_le_bytes());
            v[12] = t;
            v[13..13 + name.len()].copy_from_slice(name);
            v
        };
        let mut b = rec(5, 4, b".");
        b.extend(rec(6, 4, b".."));
        b.extend(rec(7, 8, b"one.txt"));
        let d = parse_dirents(&b);
        assert_eq!(d.len(), 3);
        assert_eq!(
            d[2],
            Dirent {
                ino: 7,
                dtype: 8,
                name: b"one.txt".to_vec()
            }
        );
        assert_eq!(parse_dirents(&b[..20]).len(), 1, "a cut record is dropped");
    }
}
