//! __mount50 (tmpfs), unmount and the statvfs family (both generations of numbers).

use crate::consts::*;
use crate::structs::Statvfs;
use crate::sys::file::{existing, fd_node, lookup};
use crate::vfs::{FsType, Mount, NodeKind, TMPFS_FREE_NODES, TMPFS_FREE_PAGES};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

const TMPFS_ARGS_LEN: u64 = 40;
const VFS_MAX_MOUNT_DATA: u64 = 8192;

/// tmpfs_args as sent.
struct TmpfsArgs {
    version: i32,
    nodes_max: u64,
    size_max: i64,
    uid: u32,
    gid: u32,
    mode: u32,
}

fn parse_args(b: &[u8]) -> TmpfsArgs {
    let u32at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let u64at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    TmpfsArgs {
        version: u32at(0) as i32,
        nodes_max: u64at(8),
        size_max: u64at(16) as i64,
        uid: u32at(24),
        gid: u32at(28),
        mode: u32at(32),
    }
}

pub(crate) fn mount(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (typ, flags, data, mut data_len) = (c.word(0), c.int(2), c.word(3), c.word(4));
    let path = c.path(1)?;
    let r = lookup(k, c.pid, AT_FDCWD, &path, true)?;
    let node = r.node.ok_or(Stop::Errno(ENOENT))?;
    let getargs = flags & MNT_GETARGS != 0;
    let update = flags & MNT_UPDATE != 0;
    if !getargs && !update {
        let name = c.copyinstr(typ, 32).map_err(|e| {
            if e == Stop::Errno(ENAMETOOLONG) {
                Stop::Errno(ENODEV)
            } else {
                e
            }
        })?;
        if name != b"tmpfs" {
            return err(ENODEV);
        }
    }
    if data == 0 {
        return err(EINVAL);
    }
    if data_len == 0 {
        data_len = TMPFS_ARGS_LEN;
    }
    if data_len > VFS_MAX_MOUNT_DATA {
        return err(EINVAL);
    }
    let raw = c.copyin(data, data_len)?;
    if data_len < TMPFS_ARGS_LEN {
        return err(EINVAL);
    }
    let a = parse_args(&raw);
    if a.version != 1 {
        return err(EINVAL);
    }
    let cred = k.proc(c.pid)?.cred.clone();
    if getargs || update {
        // The mount that `path` is the root of.
        let m = k
            .vfs
            .mounts
            .iter()
            .find(|(_, m)| m.root == node && m.fstype == FsType::Tmpfs)
            .map(|(id, _)| *id);
        let Some(mid) = m else { return err(EINVAL) };
        if getargs {
            let m = &k.vfs.mounts[&mid];
            let mut out = vec![0u8; data_len as usize];
            out[0..4].copy_from_slice(&1i32.to_le_bytes());
            out[8..16].copy_from_slice(&m.nodes_max.to_le_bytes());
            out[16..24].copy_from_slice(&m.size_max.to_le_bytes());
            out[24..28].copy_from_slice(&m.args.0.to_le_bytes());
            out[28..32].copy_from_slice(&m.args.1.to_le_bytes());
            out[32..36].copy_from_slice(&m.args.2.to_le_bytes());
            c.copyout(data, out)?;
            return Ok((data_len as i64, 0));
        }
        if !cred.is_root() {
            return err(EPERM);
        }
        if let Some(m) = k.vfs.mounts.get_mut(&mid) {
            m.flags = (m.flags & !MNT_RDONLY) | (flags as u64 & MNT_RDONLY);
        }
        return Ok((0, 0));
    }
    if !cred.is_root() {
        return err(EPERM);
    }
    if !k.vfs.nodes.get(&node).is_some_and(|n| n.is_dir()) {
        return err(ENOTDIR);
    }
    if flags & MNT_EXPORTED != 0 {
        return err(EINVAL);
    }
    if k.vfs
        .nodes
        .get(&node)
        .is_some_and(|n| n.mounted_here.is_some())
    {
        return err(EBUSY);
    }
    if a.uid == u32::MAX || a.gid == u32::MAX {
        return err(EINVAL);
    }
    // tmpfs copies the mount path twice more (for the mount's names), as the real one does.
    c.copyinstr(c.word(1), MAXPATHLEN - 1)?;
    c.copyinstr(c.word(1), MAXPATHLEN)?;
    let now = k.clock.realtime();
    let on = String::from_utf8_lossy(&k.vfs.path_of(k.vfs.cross_mounts(r.parent))).into_owned();
    let on = if r.name == b"." || r.name == b"/" {
        on
    } else if on == "/" {
        format!("/{}", String::from_utf8_lossy(&r.name))
    } else {
        format!("{on}/{}", String::from_utf8_lossy(&r.name))
    };
    let on = if path == b"/" { "/".to_owned() } else { on };
    let size_max = if a.size_max < PAGE_SIZE as i64 {
        0
    } else {
        a.size_max as u64
    };
    let nodes_max = if a.nodes_max <= 3 { 0 } else { a.nodes_max };
    let kept =
        (flags & MNT_KEEP_MASK) as u64 & 0xffff_ffff & !(MNT_UPDATE as u64 | MNT_FORCE as u64);
    // The new root node comes out of the memory pool (tmpfs_alloc_node: ENOSPC).
    k.check_pool(crate::vfs::NODE_MEM, ENOSPC)?;
    k.vfs.mount_tmpfs(
        node,
        on,
        kept & (MNT_RDONLY | 0x7e),
        cred.euid,
        size_max,
        nodes_max,
        (a.uid, a.gid, a.mode & ALLPERMS),
        now,
    );
    Ok((0, 0))
}

pub(crate) fn unmount(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let path = c.path(0)?;
    let flags = c.int(1);
    let node = existing(k, c.pid, AT_FDCWD, &path, true)?;
    if !k.proc(c.pid)?.cred.is_root() {
        return err(EPERM);
    }
    let Some((mid, m)) = k.vfs.mounts.iter().find(|(_, m)| m.root == node) else {
        return err(EINVAL);
    };
    if m.covered.is_none() {
        return err(EINVAL);
    }
    let mid = *mid;
    if k.vfs.mount_busy(mid) && flags & MNT_FORCE == 0 {
        return err(EBUSY);
    }
    k.vfs.unmount(mid);
    k.bump();
    Ok((0, 0))
}

/// The statvfs of a mount, with the numbers a rump kernel reports.
/// Pages (plus one for the file system) and nodes a tmpfs uses now.
fn live_usage(k: &SimKernel, m: &Mount) -> (u64, u64) {
    let pages: u64 = 1 + k
        .vfs
        .nodes
        .values()
        .filter(|n| k.vfs.mounts.get(&n.mount).is_some_and(|x| x.root == m.root))
        .map(|n| match &n.kind {
            NodeKind::File(d) => (d.len() as u64).div_ceil(PAGE_SIZE),
            _ => 0,
        })
        .sum::<u64>();
    (pages, m.nodes_used)
}

/// `dostatvfs`'s flags: MNT_WAIT (1) or 0 take the statistics now (and keep
/// them as the mount's); anything else reports the kept ones.
fn takes_stats_now(flags: i32) -> bool {
    flags == 0 || flags == 1
}

/// The statvfs of mount `id`: live statistics (which become the kept ones)
/// when `now`, else those last kept.
fn statvfs_for(k: &mut SimKernel, id: crate::vfs::MountId, now: bool) -> Option<Statvfs> {
    let m = k.vfs.mounts.get(&id)?;
    let usage = if now {
        Some(live_usage(k, m))
    } else {
        m.stat_cache
    };
    let st = statvfs_of(m, usage);
    if now {
        if let Some(m) = k.vfs.mounts.get_mut(&id) {
            m.stat_cache = usage;
        }
    }
    Some(st)
}

/// A mount's statvfs from its usage (pages, nodes); None: never taken.
fn statvfs_of(m: &Mount, usage: Option<(u64, u64)>) -> Statvfs {
    let taken = usage.is_some();
    let (pages, nodes_used) = usage.unwrap_or((1, m.nodes_used));
    match m.fstype {
        // genfs_statvfs's block size and two blocks once taken; before that
        // only the I/O size rumpfs_mountfs set.
        FsType::Rumpfs => Statvfs {
            flag: m.flags,
            bsize: if taken { 512 } else { 0 },
            frsize: if taken { 512 } else { 0 },
            iosize: 512,
            blocks: if taken { 2 } else { 0 },
            fsidx: [m.dev as i32, 106_667],
            fsid: m.dev,
            namemax: 255,
            owner: m.owner,
            fstypename: "rumpfs".into(),
            mntonname: m.on.clone(),
            mntfromname: "rumpfs".into(),
            ..Default::default()
        },
        FsType::Tmpfs => {
            let (blocks, bfree) = if m.size_max > 0 {
                let b = m.size_max / PAGE_SIZE;
                (b, b.saturating_sub(1))
            } else {
                (TMPFS_FREE_PAGES + pages, TMPFS_FREE_PAGES)
            };
            let (files, ffree) = if m.nodes_max > 0 {
                (m.nodes_max, m.nodes_max.saturating_sub(1))
            } else {
                (TMPFS_FREE_NODES + nodes_used, TMPFS_FREE_NODES)
            };
            Statvfs {
                flag: m.flags,
                bsize: PAGE_SIZE,
                frsize: PAGE_SIZE,
                iosize: PAGE_SIZE,
                blocks,
                bfree,
                bavail: bfree,
                files,
                ffree,
                favail: ffree,
                fsidx: [m.dev as i32, 27_051],
                fsid: m.dev,
                namemax: TMPFS_NAME_MAX as u64,
                owner: m.owner,
                fstypename: "tmpfs".into(),
                mntonname: m.on.clone(),
                mntfromname: "tmpfs".into(),
                ..Default::default()
            }
        }
    }
}

fn statvfs_node(
    k: &mut SimKernel,
    node: crate::vfs::NodeId,
    flags: i32,
    new: bool,
) -> Result<Vec<u8>, Stop> {
    let id = k.vfs.nodes.get(&node).ok_or(Stop::Errno(ENOENT))?.mount;
    let st = statvfs_for(k, id, takes_stats_now(flags)).ok_or(Stop::Errno(ENOENT))?;
    Ok(st.encode(new))
}

fn statvfs1(k: &mut SimKernel, c: &mut Ctx<'_, '_>, new: bool) -> SysResult {
    let path = c.path(0)?;
    let (buf, flags) = (c.word(1), c.int(2));
    let node = existing(k, c.pid, AT_FDCWD, &path, true)?;
    let out = statvfs_node(k, node, flags, new)?;
    c.copyout(buf, out)?;
    Ok((0, 0))
}

fn fstatvfs1(k: &mut SimKernel, c: &mut Ctx<'_, '_>, new: bool) -> SysResult {
    let node = fd_node(k, c.pid, c.int(0))?;
    let out = statvfs_node(k, node, c.int(2), new)?;
    c.copyout(c.word(1), out)?;
    Ok((0, 0))
}

fn getvfsstat(k: &mut SimKernel, c: &mut Ctx<'_, '_>, new: bool) -> SysResult {
    let (buf, bufsize, flags) = (c.word(0), c.word(1), c.int(2));
    let size = if new {
        Statvfs::NEW_SIZE
    } else {
        Statvfs::OLD_SIZE
    } as u64;
    let ids: Vec<crate::vfs::MountId> = k.vfs.mounts.keys().copied().collect();
    // Without a buffer only the number of mounts is asked for: nothing is taken.
    if buf == 0 {
        return Ok((ids.len() as i64, 0));
    }
    let all: Vec<Vec<u8>> = ids
        .into_iter()
        .filter_map(|id| statvfs_for(k, id, takes_stats_now(flags)))
        .map(|st| st.encode(new))
        .collect();
    if buf == 0 {
        return Ok((all.len() as i64, 0));
    }
    let n = (bufsize / size) as usize;
    let mut count = 0;
    for (i, rec) in all.into_iter().take(n).enumerate() {
        // The address wraps as do_sys_getvfsstat's pointer arithmetic does
        // (a remote copyout goes to whatever address that gives).
        c.copyout(buf.wrapping_add(i as u64 * size), rec)?;
        count += 1;
    }
    Ok((count, 0))
}

pub(crate) fn statvfs1_old(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    statvfs1(k, c, false)
}
pub(crate) fn statvfs1_new(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    statvfs1(k, c, true)
}
pub(crate) fn fstatvfs1_old(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    fstatvfs1(k, c, false)
}
pub(crate) fn fstatvfs1_new(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    fstatvfs1(k, c, true)
}
pub(crate) fn getvfsstat_old(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    getvfsstat(k, c, false)
}
pub(crate) fn getvfsstat_new(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    getvfsstat(k, c, true)
}
