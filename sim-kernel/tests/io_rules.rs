//! NetBSD's argument-check order and tmpfs rules for the data calls:
//! positional and vector I/O, truncation, the fsync family and the utimes
//! family. An unmapped address (`BAD`) shows whether the kernel fetched an
//! argument before failing: fetching it would fail with EFAULT instead.

mod common;

use common::*;

const BAD: u64 = 0xdead_0000;
const PREADV: u32 = 289;
const PWRITEV: u32 = 290;
const FSYNC: u32 = 95;
const FDATASYNC: u32 = 241;
const FSYNC_RANGE: u32 = 354;
const TRUNCATE: u32 = 200;
const UTIMES: u32 = 420;
const FUTIMES: u32 = 423;
const UTIMENSAT: u32 = 467;
const AT_FDCWD: u64 = -100i64 as u64;
const UTIME_NOW: i64 = 0x3fff_ffff;
const UTIME_OMIT: i64 = 0x3fff_fffe;

fn pipe(t: &mut T) -> (i64, i64) {
    let b = t.buf(8);
    t.ok(nr::PIPE2, &[b, 0]);
    let v = t.mem.read(b, 8).unwrap();
    (
        i64::from(i32::from_le_bytes(v[0..4].try_into().unwrap())),
        i64::from(i32::from_le_bytes(v[4..8].try_into().unwrap())),
    )
}

fn iov(t: &mut T, parts: &[(u64, u64)]) -> u64 {
    let raw: Vec<u8> = parts
        .iter()
        .flat_map(|(b, l)| [b.to_le_bytes(), l.to_le_bytes()].concat())
        .collect();
    t.put(&raw)
}

fn times(t: &mut T, a: (i64, i64), m: (i64, i64)) -> u64 {
    let raw: Vec<u8> = [a.0, a.1, m.0, m.1]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    t.put(&raw)
}

#[test]
fn descriptor_and_access_mode_fail_before_counts_offsets_and_memory() {
    let mut t = T::new();
    let (_, w) = t.open("/tmp/f", O_WRONLY | O_CREAT, 0o644);
    let (_, r) = t.open("/tmp/f", O_RDONLY, 0);
    // EBADF wins over a count above SSIZE_MAX and a negative offset.
    assert_eq!(t.e(nr::READ, &[999, BAD, u64::MAX]), EBADF);
    assert_eq!(t.e(nr::READ, &[w as u64, BAD, u64::MAX]), EBADF);
    assert_eq!(t.e(nr::PREAD, &[w as u64, BAD, 4096, 0, u64::MAX]), EBADF);
    assert_eq!(t.e(nr::PWRITE, &[r as u64, BAD, 1, 0, u64::MAX]), EBADF);
    assert_eq!(t.e(nr::READ, &[r as u64, BAD, u64::MAX]), EINVAL);
    // then a negative offset, before the count
    assert_eq!(
        t.e(nr::PREAD, &[r as u64, BAD, u64::MAX, 0, u64::MAX]),
        EINVAL
    );
    // readv on a write-only descriptor does not fetch its iovecs
    assert_eq!(t.e(nr::READV, &[w as u64, BAD, 4]), EBADF);
    assert_eq!(t.e(nr::WRITEV, &[r as u64, BAD, 4]), EBADF);
    // a zero count is refused even before the descriptor is looked at
    assert_eq!(t.e(nr::READV, &[999, BAD, 0]), EINVAL);
    assert_eq!(t.e(nr::READV, &[999, BAD, 1]), EBADF);
    assert_eq!(t.e(nr::READV, &[r as u64, BAD, -1i64 as u64]), EINVAL);
    assert_eq!(t.e(nr::READV, &[r as u64, BAD, 1025]), EINVAL, "IOV_MAX");
    assert_eq!(t.e(nr::READV, &[r as u64, BAD, 1]), EFAULT);
}

#[test]
fn positional_calls_need_a_seekable_vnode() {
    let mut t = T::new();
    let (rd, wr) = pipe(&mut t);
    assert_eq!(t.e(nr::PREAD, &[rd as u64, BAD, 1, 0, 0]), ESPIPE);
    assert_eq!(t.e(nr::PWRITE, &[wr as u64, BAD, 1, 0, 0]), ESPIPE);
    assert_eq!(
        t.e(nr::PWRITE, &[wr as u64, BAD, 1, 0, u64::MAX]),
        ESPIPE,
        "ESPIPE before the negative offset"
    );
    assert_eq!(t.e(PREADV, &[rd as u64, BAD, 1, 0, 0]), ESPIPE);
    assert_eq!(t.e(PWRITEV, &[wr as u64, BAD, 1, 0, 0]), ESPIPE);
    assert_eq!(t.e(nr::LSEEK, &[rd as u64, 0, 0, 0]), ESPIPE);
}

#[test]
fn preadv_and_pwritev_use_their_offset_and_keep_the_file_offset() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let (a, b) = (t.put(b"abc"), t.put(b"de"));
    let v = iov(&mut t, &[(a, 3), (b, 2)]);
    assert_eq!(t.ok(PWRITEV, &[fd as u64, v, 2, 0, 10]), 5);
    assert_eq!(t.stat("/tmp/f").2, 15);
    assert_eq!(
        t.ok(nr::LSEEK, &[fd as u64, 0, 0, 1]),
        0,
        "offset unchanged"
    );
    let (x, y) = (t.buf(2), t.buf(8));
    let v = iov(&mut t, &[(x, 2), (y, 8)]);
    assert_eq!(t.ok(PREADV, &[fd as u64, v, 2, 0, 11]), 4);
    assert_eq!(t.mem.read(x, 2).unwrap(), b"bc");
    assert_eq!(t.mem.read(y, 2).unwrap(), b"de");
    assert_eq!(t.e(PREADV, &[fd as u64, v, 2, 0, u64::MAX]), EINVAL);
}

#[test]
fn a_zero_byte_write_never_grows_a_file_nor_fetches_memory() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.ok(nr::PWRITE, &[fd as u64, BAD, 0, 0, 1 << 40]), 0);
    assert_eq!(t.ok(nr::LSEEK, &[fd as u64, 0, 1 << 30, 0]), 1 << 30);
    assert_eq!(t.ok(nr::WRITE, &[fd as u64, BAD, 0]), 0);
    assert_eq!(t.stat("/tmp/f").2, 0);
    let v = iov(&mut t, &[(BAD, 0)]);
    assert_eq!(t.ok(PWRITEV, &[fd as u64, v, 1, 0, 4096]), 0);
    assert_eq!(t.stat("/tmp/f").2, 0);
}

#[test]
fn sizes_past_memory_are_enospc_as_tmpfs_reg_resize_says() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let b = t.put(b"x");
    assert_eq!(t.e(nr::PWRITE, &[fd as u64, b, 1, 0, 1 << 40]), ENOSPC);
    assert_eq!(t.e(nr::PWRITE, &[fd as u64, b, 1, 0, 1 << 62]), ENOSPC);
    assert_eq!(t.e(nr::FTRUNCATE, &[fd as u64, 0, i64::MAX as u64]), ENOSPC);
    let p = t.s("/tmp/f");
    assert_eq!(t.e(TRUNCATE, &[p, 0, 1 << 62]), ENOSPC);
    assert_eq!(t.stat("/tmp/f").2, 0);
}

#[test]
fn truncate_checks_the_length_before_the_path_and_ftruncate_the_mode() {
    let mut t = T::new();
    assert_eq!(t.e(TRUNCATE, &[BAD, 0, u64::MAX]), EINVAL);
    assert_eq!(t.e(TRUNCATE, &[BAD, 0, 0]), EFAULT);
    assert_eq!(
        t.e(nr::FTRUNCATE, &[999, 0, u64::MAX]),
        EINVAL,
        "length first"
    );
    let (_, r) = t.open("/tmp/f", O_RDONLY | O_CREAT, 0o644);
    assert_eq!(t.e(nr::FTRUNCATE, &[999, 0, 0]), EBADF);
    assert_eq!(t.e(nr::FTRUNCATE, &[r as u64, 0, 0]), EINVAL);
    let (rd, _) = pipe(&mut t);
    assert_eq!(t.e(nr::FTRUNCATE, &[rd as u64, 0, 0]), EINVAL);
}

#[test]
fn fsync_family_wants_vnodes_and_fsync_range_valid_flags() {
    let mut t = T::new();
    let (_, w) = t.open("/tmp/f", O_WRONLY | O_CREAT, 0o644);
    let (_, r) = t.open("/tmp/f", O_RDONLY, 0);
    let (rd, _) = pipe(&mut t);
    assert_eq!(t.e(FSYNC, &[rd as u64]), EINVAL, "a pipe is not a vnode");
    assert_eq!(t.e(FSYNC, &[999]), EBADF);
    assert_eq!(t.e(FSYNC, &[r as u64]), 0);
    assert_eq!(t.e(FDATASYNC, &[r as u64]), EBADF, "not open for writing");
    assert_eq!(t.e(FDATASYNC, &[w as u64]), 0);
    assert_eq!(t.e(FDATASYNC, &[rd as u64]), EINVAL);
    let fr = |t: &mut T, fd: i64, fl: u64, s: i64, l: i64| {
        t.e(FSYNC_RANGE, &[fd as u64, fl, s as u64, l as u64])
    };
    assert_eq!(fr(&mut t, w, 0x20, 0, 0), 0, "FFILESYNC, whole file");
    assert_eq!(fr(&mut t, w, 0x10, -1, 0), 0, "length 0 ignores the start");
    assert_eq!(fr(&mut t, w, 0x10, 0, 4096), 0);
    assert_eq!(fr(&mut t, w, 0x1, 0, 0), EINVAL, "neither flag");
    assert_eq!(fr(&mut t, w, 0x30, 0, 0), EINVAL, "both flags");
    assert_eq!(fr(&mut t, w, 0x20, 0, -1), EINVAL, "end before start");
    assert_eq!(fr(&mut t, r, 0x1, 0, 0), EBADF, "EBADF before the flags");
    assert_eq!(fr(&mut t, rd, 0x20, 0, 0), EINVAL);
    assert_eq!(fr(&mut t, 999, 0x20, 0, 0), EBADF);
}

#[test]
fn utimes_family_copies_times_before_the_path_and_keeps_any_nsec() {
    let mut t = T::new();
    let p = t.s("/tmp/nx");
    // The times are fetched first: an unmapped times pointer faults even
    // though the path does not exist.
    assert_eq!(t.e(UTIMES, &[p, BAD]), EFAULT);
    assert_eq!(t.e(UTIMENSAT, &[AT_FDCWD, p, BAD, 0]), EFAULT);
    let ok = times(&mut t, (1, 0), (2, 0));
    assert_eq!(t.e(UTIMES, &[p, ok]), ENOENT);
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let f = t.s("/tmp/f");
    // tmpfs stores out-of-range nanoseconds as given
    let odd = times(&mut t, (1_000_000_000, 1_000_000_000), (5, -1));
    assert_eq!(t.e(UTIMENSAT, &[AT_FDCWD, f, odd, 0]), 0);
    let st = t.buf(152);
    t.ok(nr::FSTAT, &[fd as u64, st]);
    let raw = t.mem.read(st, 152).unwrap();
    let mtime = i64::from_le_bytes(raw[64..72].try_into().unwrap());
    assert_eq!(mtime, 5);
    let (rd, _) = pipe(&mut t);
    assert_eq!(t.e(FUTIMES, &[rd as u64, ok]), EINVAL, "not a vnode");
}

#[test]
fn utimes_permissions_follow_genfs_can_chtimes() {
    let mut t = T::new();
    t.ok(nr::UMASK, &[0]);
    let (_, _fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o666);
    let f = t.s("/tmp/f");
    t.ok(nr::SETUID, &[1000]);
    let explicit = times(&mut t, (1, 0), (2, 0));
    assert_eq!(t.e(UTIMENSAT, &[AT_FDCWD, f, explicit, 0]), EPERM);
    let now = times(&mut t, (0, UTIME_NOW), (0, UTIME_NOW));
    assert_eq!(t.e(UTIMENSAT, &[AT_FDCWD, f, now, 0]), 0, "write access");
    assert_eq!(
        t.e(UTIMENSAT, &[AT_FDCWD, f, 0, 0]),
        0,
        "NULL: write access"
    );
    let omit = times(&mut t, (0, UTIME_OMIT), (0, UTIME_OMIT));
    assert_eq!(t.e(UTIMENSAT, &[AT_FDCWD, f, omit, 0]), 0, "nothing to set");
    let half = times(&mut t, (0, UTIME_NOW), (7, 0));
    assert_eq!(t.e(UTIMENSAT, &[AT_FDCWD, f, half, 0]), EPERM);
}

const PATHCONF: u32 = 191;
const FPATHCONF: u32 = 192;

#[test]
fn pathconf_answers_as_tmpfs_and_fpathconf_dispatches_on_the_file_type() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let p = t.s("/tmp/f");
    assert_eq!(t.ok(PATHCONF, &[p, 1]), 32767, "LINK_MAX");
    assert_eq!(t.ok(PATHCONF, &[p, 4]), 255, "NAME_MAX");
    assert_eq!(t.ok(PATHCONF, &[p, 5]), 1024, "PATH_MAX");
    assert_eq!(t.ok(PATHCONF, &[p, 6]), 512, "PIPE_BUF");
    assert_eq!(t.ok(PATHCONF, &[p, 11]), 64, "FILESIZEBITS");
    assert_eq!(t.e(PATHCONF, &[p, 99]), EINVAL);
    assert_eq!(t.e(PATHCONF, &[p, 0]), EINVAL);
    let nx = t.s("/tmp/nx");
    assert_eq!(t.e(PATHCONF, &[nx, 99]), ENOENT, "lookup before the name");
    assert_eq!(t.ok(FPATHCONF, &[fd as u64, 10]), 1, "SYNC_IO");
    assert_eq!(t.e(FPATHCONF, &[999, 1]), EBADF);
    let (rd, _) = pipe(&mut t);
    assert_eq!(t.ok(FPATHCONF, &[rd as u64, 6]), 512);
    assert_eq!(
        t.e(FPATHCONF, &[rd as u64, 1]),
        EINVAL,
        "pipes answer PIPE_BUF only"
    );
}

#[test]
fn fcntl_closem_maxfd_locks_and_fs_commands() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let (_, r) = t.open("/tmp/f", O_RDONLY, 0);
    assert_eq!(
        t.ok(nr::FCNTL, &[999, 11, 0]),
        r,
        "F_MAXFD needs no valid fd"
    );
    assert_eq!(t.ok(nr::FCNTL, &[999, 10, 0]), 0, "F_CLOSEM above every fd");
    assert_eq!(t.e(nr::FCNTL, &[-1i64 as u64, 10, 0]), EBADF);
    assert_eq!(t.ok(nr::FCNTL, &[r as u64, 10, 0]), 0);
    assert_eq!(t.ok(nr::FCNTL, &[0, 11, 0]), fd, "F_CLOSEM closed the rest");
    // locks: the flock is copied in before the descriptor is checked
    assert_eq!(t.e(nr::FCNTL, &[999, 7, BAD]), EFAULT);
    let fl = |t: &mut T, start: i64, len: i64, ty: i16, wh: i16| {
        let mut b = Vec::new();
        b.extend(start.to_le_bytes());
        b.extend(len.to_le_bytes());
        b.extend(0i32.to_le_bytes());
        b.extend(ty.to_le_bytes());
        b.extend(wh.to_le_bytes());
        t.put(&b)
    };
    let get = fl(&mut t, 0, 100, 3, 0);
    assert_eq!(t.e(nr::FCNTL, &[999, 7, get]), EBADF);
    assert_eq!(t.ok(nr::FCNTL, &[fd as u64, 7, get]), 0);
    let out = t.mem.read(get, 24).unwrap();
    assert_eq!(
        i16::from_le_bytes([out[20], out[21]]),
        2,
        "no conflict: F_UNLCK"
    );
    let bad = fl(&mut t, 0, 0, 7, 0);
    assert_eq!(t.e(nr::FCNTL, &[fd as u64, 7, bad]), EINVAL, "bad type");
    assert_eq!(t.e(nr::FCNTL, &[fd as u64, 8, bad]), EINVAL);
    let neg = fl(&mut t, 0, -5, 1, 0);
    assert_eq!(
        t.e(nr::FCNTL, &[fd as u64, 8, neg]),
        EINVAL,
        "range before 0"
    );
    let wr = fl(&mut t, 0, 0, 3, 0);
    let (_, ro) = t.open("/tmp/f", O_RDONLY, 0);
    assert_eq!(
        t.e(nr::FCNTL, &[ro as u64, 8, wr]),
        EBADF,
        "write lock, read-only"
    );
    assert_eq!(t.e(nr::FCNTL, &[fd as u64, 8, wr]), 0);
    let (rd, _) = pipe(&mut t);
    assert_eq!(t.e(nr::FCNTL, &[rd as u64, 8, wr]), EINVAL, "not a vnode");
    // file-system commands: EFAULT for a NULL parameter, then the file
    // system's answer after the copy: EOPNOTSUPP from tmpfs (genfs_fcntl),
    // EINVAL for a rumpfs directory, EOPNOTSUPP for a pipe (fnullop_fcntl).
    assert_eq!(t.e(nr::FCNTL, &[fd as u64, 0xffff_ffff, 0]), EFAULT);
    let p = t.buf(4096);
    assert_eq!(t.e(nr::FCNTL, &[fd as u64, 0xffff_ffff, p]), EOPNOTSUPP);
    let (_, root) = t.open("/", O_RDONLY, 0);
    assert_eq!(t.e(nr::FCNTL, &[root as u64, 0xffff_ffff, p]), EINVAL);
    assert_eq!(t.e(nr::FCNTL, &[rd as u64, 0xffff_ffff, p]), EOPNOTSUPP);
    assert_eq!(t.e(nr::FCNTL, &[fd as u64, 99, 0]), EINVAL);
}

#[test]
fn dup3_refuses_flags_other_than_cloexec_and_nonblock() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.e(nr::DUP3, &[fd as u64, 9, 0x40_0000]), 0);
    assert_eq!(
        t.e(nr::DUP3, &[fd as u64, 10, 0x100_0000]),
        EINVAL,
        "O_NOSIGPIPE"
    );
}

#[test]
fn writev_gathers_every_buffer_in_one_memory_round() {
    use rumpsp_protocol::kernel::{CallMemory, Kernel, SyscallStep};
    use rumpsp_protocol::{Abi, SyscallArgs};
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/v", O_WRONLY | O_CREAT, 0o644);
    let parts: Vec<(u64, u64)> = (0..960u64)
        .map(|i| (t.put(&[(i % 251) as u8; 64]), 64))
        .collect();
    let v = iov(&mut t, &parts);
    let words = [fd as u64, v, parts.len() as u64];
    let args: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    // Drive the call by hand, counting executions and memory rounds.
    let mut mem = CallMemory::default();
    let (mut runs, mut rounds, mut largest) = (0, 0, 0);
    let done = loop {
        runs += 1;
        match t
            .k
            .syscall(t.pid, 121, SyscallArgs::new(&args, Abi::Lp64Le), &mem)
        {
            SyscallStep::Done(d) => break d,
            SyscallStep::Need(r) => {
                rounds += 1;
                largest = largest.max(1);
                mem.push(r, t.mem.fetch(r));
            }
            SyscallStep::NeedAll(rs) => {
                rounds += 1;
                largest = largest.max(rs.len());
                for r in rs {
                    mem.push(r, t.mem.fetch(r));
                }
            }
            SyscallStep::Blocked | SyscallStep::BlockedOn(_) => panic!("writev blocked"),
        }
        assert!(runs < 100, "writev re-ran {runs} times");
    };
    assert_eq!((done.error, done.retval[0]), (0, 960 * 64));
    // the iovec array, then all 960 buffers at once
    assert_eq!((rounds, runs, largest), (2, 3, 960));
    let (_, rfd) = t.open("/tmp/v", O_RDONLY, 0);
    let (e, data) = t.read(rfd, 960 * 64);
    assert_eq!((e, data.len()), (0, 960 * 64));
    assert!(data
        .chunks(64)
        .enumerate()
        .all(|(i, c)| c.iter().all(|&b| b == (i % 251) as u8)));
}

/// fds 0, 1 and 2 are the rump console (rumpkern/cons.c): one write-only
/// DTYPE_MISC file, not a vnode. Every answer below is one the real kernel
/// gave in the differential captures or follows from cons.c.
#[test]
fn fds_0_1_2_are_the_write_only_console_not_a_vnode() {
    let mut t = T::new();
    // write works, read is EBADF (FWRITE only), fcntl F_GETFL says O_WRONLY.
    assert_eq!(t.write(1, b"hello\n"), (0, 6));
    assert_eq!(t.read(0, 4).0, EBADF);
    assert_eq!(t.sys(nr::FCNTL, &[2, 3, 0]), (0, 1, 0));
    // fstat: S_IFCHR | 0600, nlink 0, blksize 0, no inode.
    let b = t.buf(152);
    t.ok(nr::FSTAT, &[0, b]);
    let st = t.mem.read(b, 152).unwrap();
    assert_eq!(u32::from_le_bytes(st[8..12].try_into().unwrap()), 0o020600);
    assert_eq!(
        u32::from_le_bytes(st[24..28].try_into().unwrap()),
        0,
        "nlink"
    );
    assert_eq!(u64::from_le_bytes(st[16..24].try_into().unwrap()), 0, "ino");
    assert_eq!(
        i32::from_le_bytes(st[128..132].try_into().unwrap()),
        0,
        "blksize"
    );
    // Calls that need a vnode (fd_getvnode): EINVAL.
    let (fchmod, fchown, fsync, fchdir) = (124, 123, 95, 13);
    assert_eq!(t.e(fchmod, &[1, 0o644]), EINVAL);
    assert_eq!(t.e(fchown, &[1, 0, 0]), EINVAL);
    assert_eq!(t.e(fsync, &[2]), EINVAL);
    assert_eq!(t.e(fchdir, &[0]), EINVAL);
    assert_eq!(t.e(nr::FTRUNCATE, &[1, 0, 0]), EINVAL);
    let b = t.buf(4096);
    assert_eq!(t.e(nr::GETDENTS, &[1, b, 4096]), EINVAL);
    // Not seekable: ESPIPE, whatever the whence.
    assert_eq!(t.e(nr::LSEEK, &[1, 0, 0, 0]), ESPIPE);
    assert_eq!(t.e(nr::LSEEK, &[1, 0, 0, 99]), ESPIPE);
    let d = t.put(b"x");
    assert_eq!(t.e(nr::PWRITE, &[1, d, 1, 0, 0]), ESPIPE);
    // fpathconf: neither vnode nor pipe.
    assert_eq!(t.e(192, &[1, 1]), EOPNOTSUPP);
    // A console dirfd: EINVAL, even for an absolute path; a bad one EBADF.
    let abs = t.s("/tmp");
    assert_eq!(t.e(nr::OPENAT, &[0, abs, 0, 0]), EINVAL);
    assert_eq!(t.e(nr::OPENAT, &[999, abs, 0, 0]), EBADF);
    // ioctl: TIOCGETA succeeds (isatty), FIONREAD is ENOTTY; F_SETFL of
    // O_NONBLOCK asks the file (FIONBIO): ENOTTY, and the flags stay.
    let tio = t.buf(44);
    t.ok(54, &[1, 0x402c_7413, tio]);
    assert_eq!(t.e(54, &[1, 0x4004_667f, tio]), ENOTTY);
    assert_eq!(t.e(nr::FCNTL, &[1, 4, O_NONBLOCK]), ENOTTY);
    assert_eq!(t.sys(nr::FCNTL, &[1, 3, 0]), (0, 1, 0));
    assert_eq!(t.e(nr::FCNTL, &[1, 4, O_APPEND]), 0);
    // The console stays the console after dup, and closing one of the three
    // leaves the others.
    let d = t.ok(nr::DUP, &[2]);
    t.ok(nr::CLOSE, &[2]);
    assert_eq!(t.write(d, b"x"), (0, 1));
    assert_eq!(t.write(0, b"x"), (0, 1));
    t.k.check_invariants().unwrap();
}

/// A write reaching past RLIMIT_FSIZE (RLIM_INFINITY, 2^63 - 1) raises
/// SIGXFSZ and fails with EFBIG before its data is fetched (the captures show
/// pwrite at 2^63 - 2 of 64 KiB doing so); one that ends at the limit is
/// refused only for space.
#[test]
fn a_write_past_the_file_size_limit_is_efbig_with_sigxfsz() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let run = |t: &mut T, off: u64, n: u64| {
        let block: Vec<u8> = [fd as u64, BAD, n, 0, off]
            .iter()
            .flat_map(|a| a.to_le_bytes())
            .collect();
        match rumpsp_sim_kernel::local::run_syscall(&mut t.k, &mut t.mem, t.pid, nr::PWRITE, &block)
        {
            rumpsp_sim_kernel::local::Outcome::Done(d) => (d.error, d.signals),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(run(&mut t, i64::MAX as u64 - 1, 65536), (EFBIG, vec![25]));
    assert_eq!(run(&mut t, i64::MAX as u64, 1), (EFBIG, vec![25]));
    assert_eq!(run(&mut t, i64::MAX as u64 - 1, 1), (ENOSPC, vec![]));
    t.k.check_invariants().unwrap();
}

/// dup3 in dodup's order: the target's range (EBADF), then the same
/// descriptor (success whatever the flags, nothing changed), then the flags
/// (EINVAL past O_CLOEXEC | O_NONBLOCK); retval[0] is the target throughout.
#[test]
fn dup3_checks_the_target_then_sameness_then_flags() {
    let mut t = T::new();
    let (_, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    let fd = fd as u64;
    let o_append = 0x8;
    assert_eq!(t.sys(nr::DUP3, &[fd, fd, o_append]), (0, fd as i64, 0));
    assert_eq!(t.sys(nr::DUP3, &[fd, fd, O_CLOEXEC]), (0, fd as i64, 0));
    assert_eq!(t.sys(nr::FCNTL, &[fd, 1, 0]).1, 0, "FD_CLOEXEC untouched");
    assert_eq!(
        t.sys(nr::DUP3, &[fd, u32::MAX as u64, o_append]),
        (EBADF, -1, 0)
    );
    assert_eq!(t.sys(nr::DUP3, &[fd, 9, o_append]), (EINVAL, 9, 0));
    assert_eq!(
        t.sys(nr::DUP3, &[fd, 9, 0x100_0000]),
        (EINVAL, 9, 0),
        "O_NOSIGPIPE"
    );
    assert_eq!(t.sys(nr::DUP3, &[fd, 9, O_CLOEXEC]), (0, 9, 0));
    assert_eq!(t.sys(nr::FCNTL, &[9, 1, 0]).1, 1);
}

/// rumpfs refuses a read that starts past the end of a file (EINVAL: its
/// chunk, MIN(resid, dlen - offset), is negative); at the end it reads 0, and
/// tmpfs reads 0 past the end too.
#[test]
fn a_rumpfs_read_past_the_end_is_einval() {
    let mut t = T::new();
    let (_, rf) = t.open("/r", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.write(rf, b"abc").1, 3);
    let b = t.buf(16);
    assert_eq!(t.e(nr::PREAD, &[rf as u64, b, 16, 0, 4]), EINVAL);
    assert_eq!(t.sys(nr::PREAD, &[rf as u64, b, 16, 0, 3]), (0, 0, 0));
    assert_eq!(t.sys(nr::PREAD, &[rf as u64, b, 16, 0, 1]), (0, 2, 0));
    t.ok(nr::LSEEK, &[rf as u64, 0, 100, 0]);
    assert_eq!(t.read(rf, 4).0, EINVAL);
    let (_, tf) = t.open("/tmp/t", O_RDWR | O_CREAT, 0o644);
    assert_eq!(t.write(tf, b"abc").1, 3);
    assert_eq!(t.sys(nr::PREAD, &[tf as u64, b, 16, 0, 100]), (0, 0, 0));
}

/// A write into a pipe fetches only what fits in the pipe's free space
/// (pipe_write moves no more): with the client's buffer mapped only that far,
/// the write succeeds short instead of faulting. truncate(2) of a fifo or a
/// device ignores the size (tmpfs_chsize).
#[test]
fn a_pipe_write_fetches_only_what_fits_and_truncate_ignores_special_files() {
    let mut t = T::new();
    let fds = t.buf(8);
    t.ok(nr::PIPE2, &[fds, O_NONBLOCK]);
    let pair = t.mem.read(fds, 8).unwrap();
    let w = u32::from_le_bytes(pair[4..8].try_into().unwrap()) as u64;
    assert_eq!(t.write(w as i64, &[1; 5000]).1, 5000);
    // 11384 bytes of room; the buffer is mapped for exactly that much.
    let base = 0x5000_0000u64 - 11_384;
    t.mem.write(base, &[2; 11_384]);
    assert_eq!(t.sys(nr::WRITE, &[w, base, 20_000]), (0, 11_384, 0));
    assert_eq!(t.e(nr::WRITE, &[w, base, 1]), EAGAIN);
    // truncate of a fifo and of a device node: success, nothing changes.
    let (f, d) = (t.s("/tmp/fifo"), t.s("/tmp/dev"));
    t.ok(132, &[f, 0o644]);
    t.ok(450, &[d, 0o020644, 0xfff07]);
    t.ok(TRUNCATE, &[f, 0, 4096]);
    t.ok(TRUNCATE, &[d, 0, 4096]);
    assert_eq!(t.stat("/tmp/fifo").2, 0);
}
