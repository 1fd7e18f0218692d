//! `__sysctl` (202): leaf reads and writes, CTL_QUERY, with the errors and
//! length conventions of kern_sysctl.c (netbsd-abi.md §6.1).

use crate::consts::*;
use crate::sysctl::*;
use crate::{err, Ctx, SimKernel, Stop, SysResult};

const CTL_MAXNAME: u32 = 12;
const CTL_QUERY: i32 = -2;

fn read_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.get(..8).and_then(|s| s.try_into().ok()).unwrap_or([0; 8]))
}

pub(crate) fn sysctl(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (name, namelen, oldp, oldlenp, newp, newlen) = (
        c.word(0),
        c.word(1) as u32,
        c.word(2),
        c.word(3),
        c.word(4),
        c.word(5),
    );
    let oldlen = if oldlenp != 0 {
        read_u64(&c.copyin(oldlenp, 8)?)
    } else {
        0
    };
    if namelen == 0 || namelen > CTL_MAXNAME {
        return err(EINVAL);
    }
    let raw = c.copyin(name, u64::from(namelen) * 4)?;
    let mib: Vec<i32> = raw
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(r) = crate::net::route::rtable_call(k, c, &mib, oldp, oldlen, newp, newlen) {
        let (len, result) = r?;
        if oldlenp != 0 {
            c.copyout(oldlenp, len.to_le_bytes().to_vec())?;
        }
        return result.map(|()| (0, 0));
    }
    // The length goes back to the caller even when the request fails (then unchanged).
    let (reported, result) = match lookup(k, c, &mib, oldp, oldlen, newp, newlen) {
        Ok(n) => (n, Ok(())),
        Err(Stop::Errno(e)) => (oldlen, Err(Stop::Errno(e))),
        Err(other) => return Err(other),
    };
    if oldlenp != 0 {
        c.copyout(oldlenp, reported.to_le_bytes().to_vec())?;
    }
    result?;
    if oldp != 0 && reported > oldlen {
        return err(ENOMEM);
    }
    Ok((0, 0))
}

/// Runs the request; returns the length to report.
fn lookup(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    mib: &[i32],
    oldp: u64,
    oldlen: u64,
    newp: u64,
    newlen: u64,
) -> Result<u64, Stop> {
    // Walk to the node named by the components before any meta operation.
    let mut path = Vec::new();
    let mut node = &k.sysctl.root;
    for (i, &comp) in mib.iter().enumerate() {
        if comp < 0 {
            if i + 1 != mib.len() {
                return err(EINVAL);
            }
            return match comp {
                CTL_QUERY => query(k, c, &path, oldp, oldlen, newp, newlen),
                _ => err(EOPNOTSUPP),
            };
        }
        if node.ctype() != CTLTYPE_NODE {
            return err(ENOTDIR);
        }
        let idx = node.child(comp).ok_or(Stop::Errno(ENOENT))?;
        node = &node.children[idx];
        path.push(node.num);
    }
    if node.ctype() == CTLTYPE_NODE {
        return err(EINVAL);
    }
    if node.needs_more {
        return err(EINVAL);
    }
    let is_root = k.proc(c.pid)?.cred.is_root();
    let (ctype, flags, size, dynamic) = (node.ctype(), node.flags, node.size, node.dynamic);
    let node_min_write = node.min_write;
    let limit = rlimit_node(k, c.pid, mib, &path)?;
    // Handlers that copy out in pieces of their own.
    match dynamic {
        Some(Dynamic::Msgbuf) => return crate::sys::sysctl_stats::msgbuf(c, oldp, oldlen, newp),
        // pool_sysctl looks at no new value; that one is refused for the
        // read-only node as for any other is not confirmed by a capture.
        Some(Dynamic::Pool) if newlen > 0 => return err(EPERM),
        Some(Dynamic::Pool) => return crate::sys::sysctl_stats::pool(c, oldp, oldlen),
        _ => {}
    }
    // The current value, and how much of it a reader gets.
    let current: Vec<u8> = match dynamic {
        _ if limit.is_some() => limit.map_or(0, |l| l.value).to_le_bytes().to_vec(),
        Some(Dynamic::Urandom) => (k.rng.next_u64() as u32).to_le_bytes().to_vec(),
        Some(Dynamic::Arandom) => k.rng.bytes(oldlen.min(256) as usize),
        Some(Dynamic::HardclockTicks) => (k.clock.ticks() as i32).to_le_bytes().to_vec(),
        // Answered above (rtable by net::route::rtable_call).
        Some(Dynamic::Msgbuf | Dynamic::Pool | Dynamic::Rtable) => vec![],
        // A computed list that is empty reports nothing at all.
        None if ctype == CTLTYPE_STRING && size == 0 && node.value.is_empty() => vec![],
        None if ctype == CTLTYPE_STRING => {
            let mut v = node.value.clone();
            v.push(0);
            v
        }
        None => node.value.clone(),
    };
    // Some handlers report a length other than what they copy (recorded per node).
    let reported = match (oldp, node.probe_len, node.read_len) {
        (0, Some(p), _) => p,
        (_, _, Some(r)) if oldp != 0 => r,
        _ => current.len() as u64,
    };
    if dynamic == Some(Dynamic::Arandom) && oldlen > 256 {
        return err(E2BIG);
    }
    // A write: check and fetch the new value before anything changes.
    let mut new_value = None;
    if newlen > 0 {
        if flags & CTLFLAG_READWRITE != CTLFLAG_READWRITE {
            return err(EPERM);
        }
        if !is_root && flags & CTLFLAG_ANYWRITE == 0 {
            return err(EPERM);
        }
        let ok_len = match ctype {
            CTLTYPE_STRING => newlen <= size,
            CTLTYPE_BOOL => newlen == 1,
            _ => newlen == current.len() as u64,
        };
        if !ok_len || newp == 0 {
            return err(EINVAL);
        }
        let mut v = c.copyin(newp, newlen)?;
        if ctype == CTLTYPE_STRING {
            if let Some(nul) = v.iter().position(|&b| b == 0) {
                v.truncate(nul);
            } else if newlen == size {
                return err(EINVAL);
            }
        }
        if ctype == CTLTYPE_BOOL && v[0] > 1 {
            return err(EINVAL);
        }
        new_value = Some(v);
    }
    if oldp != 0 {
        let n = (current.len() as u64).min(oldlen) as usize;
        c.copyout(oldp, current[..n].to_vec())?;
    }
    // A handler that checks the new value after sysctl_lookup (the old one
    // is copied out by then), e.g. uipc_socket.c sysctl_kern_somaxkva.
    if let (Some(v), Some(min)) = (&new_value, node_min_write) {
        if v.len() == 4 && i32::from_le_bytes([v[0], v[1], v[2], v[3]]) < min {
            return err(EINVAL);
        }
    }
    if let Some(v) = new_value {
        if let Some(l) = limit {
            // sysctl_proc_plimit: the new soft or hard value goes through
            // dosetrlimit with the other one unchanged.
            let mut new = k.proc(l.target)?.rlimits[l.which];
            if l.hard {
                new.max = read_u64(&v);
            } else {
                new.cur = read_u64(&v);
            }
            crate::sys::rlimit::set_rlimit(k, c.pid, l.target, l.which as i32, new)?;
        } else if let Some(n) = std::sync::Arc::make_mut(&mut k.sysctl).get_mut(&path) {
            n.value = v;
        }
    }
    Ok(reported)
}

/// A proc.<pid>.rlimit.<limit>.{soft,hard} leaf: whose limit, which one.
#[derive(Clone, Copy)]
struct LimitNode {
    target: i32,
    which: usize,
    hard: bool,
    value: u64,
}

/// PROC_CURPROC: the caller's own node under proc.
const PROC_CURPROC: i32 = 0x7fff_ffff;

/// The process limit a proc.<pid>.rlimit leaf names (`sysctl_proc_plimit`):
/// the caller for PROC_CURPROC, else the process with that pid (ESRCH).
fn rlimit_node(
    k: &SimKernel,
    caller: i32,
    mib: &[i32],
    path: &[i32],
) -> Result<Option<LimitNode>, Stop> {
    let [10, PROC_CURPROC, 2, n, t] = *path else {
        return Ok(None);
    };
    let which = match usize::try_from(n) {
        Ok(n) if (1..=RLIM_NLIMITS).contains(&n) && (t == 1 || t == 2) => n - 1,
        _ => return Ok(None),
    };
    let target = match mib.get(1) {
        Some(&PROC_CURPROC) | None => caller,
        Some(&pid) => pid,
    };
    let l = k.proc(target)?.rlimits[which];
    Ok(Some(LimitNode {
        target,
        which,
        hard: t == 2,
        value: if t == 2 { l.max } else { l.cur },
    }))
}

fn query(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    path: &[i32],
    oldp: u64,
    oldlen: u64,
    newp: u64,
    newlen: u64,
) -> Result<u64, Stop> {
    let parent = k.sysctl.get(path).ok_or(Stop::Errno(ENOENT))?;
    if parent.ctype() != CTLTYPE_NODE {
        return err(ENOTDIR);
    }
    if newp != 0 {
        // The version word first, then the whole template.
        let v = c.copyin(newp, 4)?;
        let flags = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
        if flags & 0xff00_0000 != SYSCTL_VERSION || newlen != 96 {
            return err(EINVAL);
        }
        let t = c.copyin(newp, 96)?;
        let ver = u32::from_le_bytes([t[40], t[41], t[42], t[43]]);
        if ver != 0 && ver != parent.ver && ver != k.sysctl.root.ver {
            return err(EINVAL);
        }
    } else if newlen != 0 {
        return err(EINVAL);
    }
    let parent = k.sysctl.get(path).ok_or(Stop::Errno(ENOENT))?;
    let records: Vec<[u8; 96]> = parent.children.iter().map(|n| n.record()).collect();
    if oldp != 0 {
        let fit = (oldlen / 96) as usize;
        for (i, r) in records.iter().take(fit).enumerate() {
            c.copyout(oldp + 96 * i as u64, r.to_vec())?;
        }
    }
    Ok(96 * records.len() as u64)
}
