//! NetBSD numbers the kernel works with (netbsd-abi.md §3–§4, §6–§7).
#![allow(missing_docs)]

// errno
pub const EPERM: i32 = 1;
pub const ENOENT: i32 = 2;
pub const ESRCH: i32 = 3;
pub const EINTR: i32 = 4;
pub const EIO: i32 = 5;
pub const ENXIO: i32 = 6;
pub const E2BIG: i32 = 7;
pub const EBADF: i32 = 9;
pub const ENOMEM: i32 = 12;
pub const EACCES: i32 = 13;
pub const EFAULT: i32 = 14;
pub const EBUSY: i32 = 16;
pub const EEXIST: i32 = 17;
pub const EXDEV: i32 = 18;
pub const ENODEV: i32 = 19;
pub const ENOTDIR: i32 = 20;
pub const EISDIR: i32 = 21;
pub const EINVAL: i32 = 22;
pub const EMFILE: i32 = 24;
pub const ENOTTY: i32 = 25;
pub const EFBIG: i32 = 27;
pub const ENOSPC: i32 = 28;
pub const ESPIPE: i32 = 29;
pub const EROFS: i32 = 30;
pub const EMLINK: i32 = 31;
pub const EPIPE: i32 = 32;
pub const ERANGE: i32 = 34;
pub const EDEADLK: i32 = 11;
pub const EAGAIN: i32 = 35;
pub const EAFNOSUPPORT: i32 = 47;
pub const EOPNOTSUPP: i32 = 45;
pub const ELOOP: i32 = 62;
pub const ENAMETOOLONG: i32 = 63;
pub const ENOTEMPTY: i32 = 66;
pub const ENOSYS: i32 = 78;
pub const EFTYPE: i32 = 79;

// open flags
pub const O_ACCMODE: i32 = 0x3;
pub const O_WRONLY: i32 = 0x1;
pub const O_RDWR: i32 = 0x2;
pub const O_NONBLOCK: i32 = 0x4;
pub const O_APPEND: i32 = 0x8;
pub const O_ASYNC: i32 = 0x40;
pub const O_SYNC: i32 = 0x80;
pub const O_NOFOLLOW: i32 = 0x100;
pub const O_CREAT: i32 = 0x200;
pub const O_TRUNC: i32 = 0x400;
pub const O_EXCL: i32 = 0x800;
pub const O_DSYNC: i32 = 0x10000;
pub const O_RSYNC: i32 = 0x20000;
pub const O_ALT_IO: i32 = 0x40000;
pub const O_DIRECT: i32 = 0x80000;
pub const O_DIRECTORY: i32 = 0x20_0000;
pub const O_CLOEXEC: i32 = 0x40_0000;
pub const O_SEARCH: i32 = 0x80_0000;
pub const O_NOSIGPIPE: i32 = 0x100_0000;
/// Flags F_SETFL may change.
pub const SETFL_MASK: i32 = O_APPEND
    | O_ASYNC
    | O_SYNC
    | O_NONBLOCK
    | O_DSYNC
    | O_RSYNC
    | O_ALT_IO
    | O_DIRECT
    | O_NOSIGPIPE;

// fcntl
/// fsync_range: sync data only.
pub const FDATASYNC: i32 = 0x10;
/// fsync_range: sync data and metadata.
pub const FFILESYNC: i32 = 0x20;
pub const F_DUPFD: i32 = 0;
pub const F_GETFD: i32 = 1;
pub const F_SETFD: i32 = 2;
pub const F_GETFL: i32 = 3;
pub const F_SETFL: i32 = 4;
pub const F_CLOSEM: i32 = 10;
pub const F_MAXFD: i32 = 11;
pub const F_DUPFD_CLOEXEC: i32 = 12;
/// fcntl: a file-system command.
pub const F_FSCTL: i32 = 0x8000_0000_u32 as i32;
/// fcntl: a file-system command with an input parameter.
pub const F_FSIN: i32 = 0x1000_0000;
pub const F_GETNOSIGPIPE: i32 = 13;
pub const F_SETNOSIGPIPE: i32 = 14;
pub const FD_CLOEXEC: i32 = 1;

// *at
pub const AT_FDCWD: i32 = -100;
pub const AT_EACCESS: i32 = 0x100;
pub const AT_SYMLINK_NOFOLLOW: i32 = 0x200;
pub const AT_SYMLINK_FOLLOW: i32 = 0x400;
pub const AT_REMOVEDIR: i32 = 0x800;
pub const UTIME_NOW: i64 = 0x3fff_ffff;
pub const UTIME_OMIT: i64 = 0x3fff_fffe;

// access
pub const X_OK: i32 = 1;
pub const W_OK: i32 = 2;
pub const R_OK: i32 = 4;

// mode bits
pub const S_IFMT: u32 = 0o170000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFWHT: u32 = 0o160000;
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISTXT: u32 = 0o1000;
pub const ALLPERMS: u32 = 0o7777;

// dirent types
pub const DT_FIFO: u8 = 1;
/// DT_SOCK.
pub const DT_SOCK: u8 = 12;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
/// Dirent type of a whiteout entry.
pub const DT_WHT: u8 = 14;
/// d_fileno of a whiteout entry (WINO, sys/dirent.h).
pub const WINO: u64 = 1;

// limits
pub const MAXPATHLEN: u64 = 1024;
pub const TMPFS_NAME_MAX: usize = 255;
pub const RUMPFS_NAME_MAX: usize = 511;
pub const OPEN_MAX: i32 = 128;
pub const IOV_MAX: i32 = 1024;
pub const MAXSYMLINKS: usize = 32;
pub const PIPE_SIZE: usize = 16384;
/// The size pipe_write grows an empty pipe's buffer to for a large write.
pub const BIG_PIPE_SIZE: usize = 65536;
/// sys_pipe.c maxbigpipes (LIMITBIGPIPES): at most this many big pipes.
pub const MAX_BIG_PIPES: usize = 32;
pub const PIPE_BUF: usize = 512;
pub const NGROUPS_MAX: usize = 16;
pub const PAGE_SIZE: u64 = 4096;
pub const VNOVAL: u64 = u64::MAX;

// mount
pub const MNT_RDONLY: u64 = 0x1;
pub const MNT_LOCAL: u64 = 0x1000;
pub const MNT_ROOTFS: u64 = 0x4000;
pub const MNT_UPDATE: i32 = 0x10000;
pub const MNT_FORCE: i32 = 0x80000;
pub const MNT_GETARGS: i32 = 0x40_0000;
pub const MNT_EXPORTED: i32 = 0x100;
/// MNT_BASIC_FLAGS ∪ MNT_FORCE ∪ MNT_IGNORE as kept on a new mount (the visible subset).
pub const MNT_KEEP_MASK: i32 = 0x0c00_807f | 0x0010_0000 | 0x0400_0000;

// signals
pub const SIGPIPE: u32 = 13;
/// SIGALRM: an ITIMER_REAL or ITIMER_MONOTONIC timer expired.
pub const SIGALRM: u32 = 14;
pub const SIGXFSZ: u32 = 25;

// resource limits (sys/resource.h)
pub const RLIMIT_FSIZE: usize = 1;
pub const RLIMIT_DATA: usize = 2;
pub const RLIMIT_STACK: usize = 3;
pub const RLIMIT_NPROC: usize = 7;
pub const RLIMIT_NOFILE: usize = 8;
pub const RLIMIT_NTHR: usize = 11;
pub const RLIM_NLIMITS: usize = 12;
pub const RLIM_INFINITY: u64 = i64::MAX as u64;
/// MAXSSIZ (amd64): the ceiling setrlimit puts on RLIMIT_STACK (maxsmap).
pub const MAXSSIZ: u64 = 134_217_728;
/// maxfiles of the recorded kernel (its RLIMIT_NOFILE hard limit).
pub const MAXFILES: u64 = 1772;
/// maxproc of the recorded kernel (its RLIMIT_NPROC hard limit).
pub const MAXPROC: u64 = 532;
/// maxlwp of the recorded kernel (its RLIMIT_NTHR hard limit).
pub const MAXLWP: u64 = 2048;

// sessions
/// MAXLOGNAME: the size of a session's login name (s_login).
pub const MAXLOGNAME: usize = 16;

// file flags (sys/stat.h)
pub const UF_SETTABLE: u32 = 0x0000_ffff;
pub const SF_SETTABLE: u32 = 0xffff_0000;
pub const UF_IMMUTABLE: u32 = 0x2;
pub const UF_APPEND: u32 = 0x4;
/// The node was created over a whiteout (tmpfs_alloc_file sets it).
pub const UF_OPAQUE: u32 = 0x8;
pub const SF_IMMUTABLE: u32 = 0x2_0000;
pub const SF_APPEND: u32 = 0x4_0000;

// clocks
pub const CLOCK_REALTIME: i32 = 0;
pub const CLOCK_MONOTONIC: i32 = 3;

// reboot
pub const RB_HALT: i32 = 0x8;
