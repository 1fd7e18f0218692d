//! Field-level differences between an expected and an actual outcome:
//! errno by name, struct stat, statvfs, dirent and timespec fields, sysctl
//! nodes.
//! Raw hex stays in the transcript (`-v`).

use rumpsp_protocol::netbsd::{parse_dirents, StatBuf, Statvfs};

use super::normalise::stat_slot;
use super::outcome::{errno_name, Answer, Outcome};
use crate::script::Step;

/// One line per differing field, e.g. `st_mode: expected 0100644 got 0100600`.
pub fn field_diffs(step: &Step, e: &Outcome, a: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    match (e.answers.first(), a.answers.first()) {
        (
            Some(Answer::Syscall {
                error: ee,
                retval: er,
            }),
            Some(Answer::Syscall {
                error: ae,
                retval: ar,
            }),
        ) => {
            if ee != ae {
                out.push(format!(
                    "errno: expected {} got {}",
                    errno_name(*ee),
                    errno_name(*ae)
                ));
            }
            for i in 0..2 {
                if er[i] != ar[i] {
                    out.push(format!("retval[{i}]: expected {} got {}", er[i], ar[i]));
                }
            }
        }
        (x, y) if x != y => out.push(format!("answer: expected {x:?} got {y:?}")),
        _ => {}
    }
    if e.answers.len() != a.answers.len() {
        out.push(format!(
            "answers: expected {} got {}",
            e.answers.len(),
            a.answers.len()
        ));
    }
    if e.closed != a.closed {
        let s = |c: bool| if c { "closed" } else { "open" };
        out.push(format!(
            "connection: expected {} got {}",
            s(e.closed),
            s(a.closed)
        ));
    }
    if e.raises != a.raises {
        out.push(format!(
            "raises: expected {:?} got {:?}",
            e.raises, a.raises
        ));
    }
    let Some(sysnum) = step.sysnum() else {
        return out;
    };
    for (addr, ed) in &e.memory {
        let Some((_, ad)) = a.memory.iter().find(|(x, _)| x == addr) else {
            out.push(format!(
                "no write at {addr:#x} ({} bytes expected)",
                ed.len()
            ));
            continue;
        };
        if ed == ad {
            continue;
        }
        if stat_slot(sysnum).is_some_and(|s| step.arg(s) == *addr) {
            if let (Some(x), Some(y)) = (StatBuf::decode(ed), StatBuf::decode(ad)) {
                stat_diffs(&x, &y, &mut out);
                continue;
            }
        }
        if let Some(lines) = statvfs_diffs(sysnum, ed, ad) {
            out.extend(lines);
            continue;
        }
        match sysnum {
            390 => {
                let (x, y) = (parse_dirents(ed), parse_dirents(ad));
                if x.len() != y.len() {
                    out.push(format!("dirents: expected {} got {}", x.len(), y.len()));
                }
                for (i, (p, q)) in x.iter().zip(&y).enumerate() {
                    if p.name != q.name {
                        out.push(format!(
                            "dirent[{i}].d_name: expected {:?} got {:?}",
                            String::from_utf8_lossy(&p.name),
                            String::from_utf8_lossy(&q.name)
                        ));
                    }
                    if p.dtype != q.dtype {
                        out.push(format!(
                            "dirent[{i}].d_type: expected {} got {}",
                            p.dtype, q.dtype
                        ));
                    }
                    if p.ino != q.ino {
                        out.push(format!(
                            "dirent[{i}].d_fileno: expected {} got {}",
                            p.ino, q.ino
                        ));
                    }
                }
                continue;
            }
            418 | 427 if ed.len() == 16 && ad.len() == 16 => {
                let t = |d: &[u8]| {
                    (
                        i64::from_le_bytes(d[0..8].try_into().unwrap_or([0; 8])),
                        i64::from_le_bytes(d[8..16].try_into().unwrap_or([0; 8])),
                    )
                };
                out.push(format!(
                    "timespec: expected {:?} got {:?} (outside the clock rule's range)",
                    t(ed),
                    t(ad)
                ));
                continue;
            }
            202 if ed.len() % 96 == 0 && ad.len() % 96 == 0 && ed.len() >= 96 => {
                for (i, (p, q)) in ed.chunks(96).zip(ad.chunks(96)).enumerate() {
                    let name = |r: &[u8]| {
                        let n = &r[8..40];
                        let end = n.iter().position(|&b| b == 0).unwrap_or(n.len());
                        String::from_utf8_lossy(&n[..end]).into_owned()
                    };
                    let num = |r: &[u8]| i32::from_le_bytes([r[4], r[5], r[6], r[7]]);
                    let flags = |r: &[u8]| u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
                    if p != q {
                        out.push(format!(
                            "sysctlnode[{i}]: expected {} num={} flags={:#x} got {} num={} flags={:#x}",
                            name(p),
                            num(p),
                            flags(p),
                            name(q),
                            num(q),
                            flags(q)
                        ));
                    }
                }
                continue;
            }
            _ => {}
        }
        let i = ed.iter().zip(ad).position(|(x, y)| x != y);
        match i {
            Some(i) => out.push(format!(
                "write at {addr:#x}: first difference at byte {i}: expected {} got {}",
                crate::render::short_hex(&ed[i..ed.len().min(i + 16)]),
                crate::render::short_hex(&ad[i..ad.len().min(i + 16)])
            )),
            None => out.push(format!(
                "write at {addr:#x}: expected {} bytes got {}",
                ed.len(),
                ad.len()
            )),
        }
    }
    for (addr, ad) in &a.memory {
        if !e.memory.iter().any(|(x, _)| x == addr) {
            out.push(format!(
                "unexpected write of {} bytes at {addr:#x}",
                ad.len()
            ));
        }
    }
    out
}

/// Field lines for the statvfs buffers of statvfs1, fstatvfs1 and
/// getvfsstat (old and NetBSD 10 numbers), one structure after another;
/// `None` for other calls or buffers that are not whole structures.
fn statvfs_diffs(sysnum: u32, e: &[u8], a: &[u8]) -> Option<Vec<String>> {
    let size = match sysnum {
        356..=358 => Statvfs::OLD_SIZE,
        483..=485 => Statvfs::NEW_SIZE,
        _ => return None,
    };
    if e.is_empty() || !e.len().is_multiple_of(size) || !a.len().is_multiple_of(size) {
        return None;
    }
    let mut out = Vec::new();
    let (n, m) = (e.len() / size, a.len() / size);
    if n != m {
        out.push(format!("statvfs entries: expected {n} got {m}"));
    }
    for (i, (x, y)) in e.chunks(size).zip(a.chunks(size)).enumerate() {
        let (Some(x), Some(y)) = (Statvfs::decode(x), Statvfs::decode(y)) else {
            return None;
        };
        let prefix = if n > 1 {
            format!("statvfs[{i}].")
        } else {
            String::new()
        };
        out.extend(x.diff(&y).into_iter().map(|l| format!("{prefix}{l}")));
    }
    Some(out)
}

fn stat_diffs(e: &StatBuf, a: &StatBuf, out: &mut Vec<String>) {
    macro_rules! field {
        ($name:literal, $f:ident, $fmt:literal) => {
            if e.$f != a.$f {
                out.push(format!(
                    concat!($name, ": expected ", $fmt, " got ", $fmt),
                    e.$f, a.$f
                ));
            }
        };
    }
    field!("st_dev", dev, "{}");
    field!("st_mode", mode, "{:#o}");
    field!("st_ino", ino, "{}");
    field!("st_nlink", nlink, "{}");
    field!("st_uid", uid, "{}");
    field!("st_gid", gid, "{}");
    field!("st_rdev", rdev, "{}");
    field!("st_atim", atime, "{}");
    field!("st_mtim", mtime, "{}");
    field!("st_ctim", ctime, "{}");
    field!("st_birthtim", birthtime, "{}");
    field!("st_size", size, "{}");
    field!("st_blocks", blocks, "{}");
    field!("st_blksize", blksize, "{}");
    field!("st_flags", flags, "{:#x}");
    field!("st_gen", gen, "{}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpfs() -> Statvfs {
        Statvfs {
            bsize: 4096,
            files: 2_485_002,
            fstypename: "tmpfs".into(),
            mntonname: "/tmp".into(),
            ..Default::default()
        }
    }

    #[test]
    fn statvfs_buffers_are_compared_field_by_field_in_both_layouts() {
        let e = tmpfs();
        let mut a = tmpfs();
        a.files = 2_485_006;
        for (sysnum, new) in [(357, false), (358, false), (485, true)] {
            assert_eq!(
                statvfs_diffs(sysnum, &e.encode(new), &a.encode(new)),
                Some(vec!["f_files: expected 2485002 got 2485006".to_string()]),
                "sysnum {sysnum}"
            );
            assert_eq!(
                statvfs_diffs(sysnum, &e.encode(new), &e.encode(new)),
                Some(vec![])
            );
        }
        // A buffer that is not a whole structure falls back to the byte diff.
        assert_eq!(statvfs_diffs(357, &e.encode(false)[..100], &[0; 100]), None);
        assert_eq!(statvfs_diffs(390, &e.encode(false), &a.encode(false)), None);
    }

    #[test]
    fn getvfsstat_arrays_name_the_entry_and_count() {
        let e = [tmpfs().encode(false), tmpfs().encode(false)].concat();
        let mut other = tmpfs();
        other.mntonname = "/".into();
        let a = [tmpfs().encode(false), other.encode(false)].concat();
        assert_eq!(
            statvfs_diffs(356, &e, &a),
            Some(vec![
                "statvfs[1].f_mntonname: expected \"/tmp\" got \"/\"".to_string()
            ])
        );
        let one = tmpfs().encode(false);
        let lines = statvfs_diffs(356, &e, &one).unwrap_or_default();
        assert_eq!(
            lines.first().map(String::as_str),
            Some("statvfs entries: expected 2 got 1")
        );
    }
}
