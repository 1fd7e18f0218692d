//! NetBSD numbers that travel on the wire: syscall numbers (with their
//! argument slot counts) and errno values (netbsd-abi.md §2–§3).

/// A NetBSD system call: number, name and number of argument slots (PADs included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallInfo {
    /// Syscall number.
    pub number: u32,
    /// Canonical name from syscalls.master.
    pub name: &'static str,
    /// Argument slots in the argument block.
    pub slots: u8,
}

/// The syscalls this project knows by name, sorted by number.
pub const SYSCALLS: &[SyscallInfo] = &[
    SyscallInfo {
        number: 1,
        name: "exit",
        slots: 1,
    },
    SyscallInfo {
        number: 2,
        name: "fork",
        slots: 0,
    },
    SyscallInfo {
        number: 3,
        name: "read",
        slots: 3,
    },
    SyscallInfo {
        number: 4,
        name: "write",
        slots: 3,
    },
    SyscallInfo {
        number: 5,
        name: "open",
        slots: 3,
    },
    SyscallInfo {
        number: 6,
        name: "close",
        slots: 1,
    },
    SyscallInfo {
        number: 9,
        name: "link",
        slots: 2,
    },
    SyscallInfo {
        number: 10,
        name: "unlink",
        slots: 1,
    },
    SyscallInfo {
        number: 12,
        name: "chdir",
        slots: 1,
    },
    SyscallInfo {
        number: 13,
        name: "fchdir",
        slots: 1,
    },
    SyscallInfo {
        number: 15,
        name: "chmod",
        slots: 2,
    },
    SyscallInfo {
        number: 16,
        name: "chown",
        slots: 3,
    },
    SyscallInfo {
        number: 20,
        name: "getpid",
        slots: 0,
    },
    SyscallInfo {
        number: 22,
        name: "unmount",
        slots: 2,
    },
    SyscallInfo {
        number: 23,
        name: "setuid",
        slots: 1,
    },
    SyscallInfo {
        number: 24,
        name: "getuid",
        slots: 0,
    },
    SyscallInfo {
        number: 25,
        name: "geteuid",
        slots: 0,
    },
    SyscallInfo {
        number: 27,
        name: "recvmsg",
        slots: 3,
    },
    SyscallInfo {
        number: 28,
        name: "sendmsg",
        slots: 3,
    },
    SyscallInfo {
        number: 29,
        name: "recvfrom",
        slots: 6,
    },
    SyscallInfo {
        number: 30,
        name: "accept",
        slots: 3,
    },
    SyscallInfo {
        number: 31,
        name: "getpeername",
        slots: 3,
    },
    SyscallInfo {
        number: 32,
        name: "getsockname",
        slots: 3,
    },
    SyscallInfo {
        number: 33,
        name: "access",
        slots: 2,
    },
    SyscallInfo {
        number: 34,
        name: "chflags",
        slots: 2,
    },
    SyscallInfo {
        number: 35,
        name: "fchflags",
        slots: 2,
    },
    SyscallInfo {
        number: 36,
        name: "sync",
        slots: 0,
    },
    SyscallInfo {
        number: 37,
        name: "kill",
        slots: 2,
    },
    SyscallInfo {
        number: 39,
        name: "getppid",
        slots: 0,
    },
    SyscallInfo {
        number: 41,
        name: "dup",
        slots: 1,
    },
    SyscallInfo {
        number: 42,
        name: "pipe",
        slots: 0,
    },
    SyscallInfo {
        number: 43,
        name: "getegid",
        slots: 0,
    },
    SyscallInfo {
        number: 47,
        name: "getgid",
        slots: 0,
    },
    SyscallInfo {
        number: 49,
        name: "__getlogin",
        slots: 2,
    },
    SyscallInfo {
        number: 50,
        name: "__setlogin",
        slots: 1,
    },
    SyscallInfo {
        number: 54,
        name: "ioctl",
        slots: 3,
    },
    SyscallInfo {
        number: 57,
        name: "symlink",
        slots: 2,
    },
    SyscallInfo {
        number: 58,
        name: "readlink",
        slots: 3,
    },
    SyscallInfo {
        number: 60,
        name: "umask",
        slots: 1,
    },
    SyscallInfo {
        number: 61,
        name: "chroot",
        slots: 1,
    },
    SyscallInfo {
        number: 79,
        name: "getgroups",
        slots: 2,
    },
    SyscallInfo {
        number: 80,
        name: "setgroups",
        slots: 2,
    },
    SyscallInfo {
        number: 81,
        name: "getpgrp",
        slots: 0,
    },
    SyscallInfo {
        number: 82,
        name: "setpgid",
        slots: 2,
    },
    SyscallInfo {
        number: 90,
        name: "dup2",
        slots: 2,
    },
    SyscallInfo {
        number: 91,
        name: "getrandom",
        slots: 3,
    },
    SyscallInfo {
        number: 92,
        name: "fcntl",
        slots: 3,
    },
    SyscallInfo {
        number: 95,
        name: "fsync",
        slots: 1,
    },
    SyscallInfo {
        number: 98,
        name: "connect",
        slots: 3,
    },
    SyscallInfo {
        number: 104,
        name: "bind",
        slots: 3,
    },
    SyscallInfo {
        number: 105,
        name: "setsockopt",
        slots: 5,
    },
    SyscallInfo {
        number: 106,
        name: "listen",
        slots: 2,
    },
    SyscallInfo {
        number: 118,
        name: "getsockopt",
        slots: 5,
    },
    SyscallInfo {
        number: 120,
        name: "readv",
        slots: 3,
    },
    SyscallInfo {
        number: 121,
        name: "writev",
        slots: 3,
    },
    SyscallInfo {
        number: 123,
        name: "fchown",
        slots: 3,
    },
    SyscallInfo {
        number: 124,
        name: "fchmod",
        slots: 2,
    },
    SyscallInfo {
        number: 126,
        name: "setreuid",
        slots: 2,
    },
    SyscallInfo {
        number: 127,
        name: "setregid",
        slots: 2,
    },
    SyscallInfo {
        number: 128,
        name: "rename",
        slots: 2,
    },
    SyscallInfo {
        number: 131,
        name: "flock",
        slots: 2,
    },
    SyscallInfo {
        number: 132,
        name: "mkfifo",
        slots: 2,
    },
    SyscallInfo {
        number: 133,
        name: "sendto",
        slots: 6,
    },
    SyscallInfo {
        number: 134,
        name: "shutdown",
        slots: 2,
    },
    SyscallInfo {
        number: 135,
        name: "socketpair",
        slots: 4,
    },
    SyscallInfo {
        number: 136,
        name: "mkdir",
        slots: 2,
    },
    SyscallInfo {
        number: 137,
        name: "rmdir",
        slots: 1,
    },
    SyscallInfo {
        number: 147,
        name: "setsid",
        slots: 0,
    },
    SyscallInfo {
        number: 173,
        name: "pread",
        slots: 5,
    },
    SyscallInfo {
        number: 174,
        name: "pwrite",
        slots: 5,
    },
    SyscallInfo {
        number: 181,
        name: "setgid",
        slots: 1,
    },
    SyscallInfo {
        number: 182,
        name: "setegid",
        slots: 1,
    },
    SyscallInfo {
        number: 183,
        name: "seteuid",
        slots: 1,
    },
    SyscallInfo {
        number: 191,
        name: "pathconf",
        slots: 2,
    },
    SyscallInfo {
        number: 192,
        name: "fpathconf",
        slots: 2,
    },
    SyscallInfo {
        number: 194,
        name: "getrlimit",
        slots: 2,
    },
    SyscallInfo {
        number: 195,
        name: "setrlimit",
        slots: 2,
    },
    SyscallInfo {
        number: 199,
        name: "lseek",
        slots: 4,
    },
    SyscallInfo {
        number: 200,
        name: "truncate",
        slots: 3,
    },
    SyscallInfo {
        number: 201,
        name: "ftruncate",
        slots: 3,
    },
    SyscallInfo {
        number: 202,
        name: "__sysctl",
        slots: 6,
    },
    SyscallInfo {
        number: 207,
        name: "getpgid",
        slots: 1,
    },
    SyscallInfo {
        number: 208,
        name: "reboot",
        slots: 2,
    },
    SyscallInfo {
        number: 209,
        name: "poll",
        slots: 3,
    },
    SyscallInfo {
        number: 241,
        name: "fdatasync",
        slots: 1,
    },
    SyscallInfo {
        number: 246,
        name: "modctl",
        slots: 2,
    },
    SyscallInfo {
        number: 270,
        name: "__posix_rename",
        slots: 2,
    },
    SyscallInfo {
        number: 274,
        name: "lchmod",
        slots: 2,
    },
    SyscallInfo {
        number: 275,
        name: "lchown",
        slots: 3,
    },
    SyscallInfo {
        number: 283,
        name: "__posix_chown",
        slots: 3,
    },
    SyscallInfo {
        number: 284,
        name: "__posix_fchown",
        slots: 3,
    },
    SyscallInfo {
        number: 285,
        name: "__posix_lchown",
        slots: 3,
    },
    SyscallInfo {
        number: 286,
        name: "getsid",
        slots: 1,
    },
    SyscallInfo {
        number: 289,
        name: "preadv",
        slots: 5,
    },
    SyscallInfo {
        number: 290,
        name: "pwritev",
        slots: 5,
    },
    SyscallInfo {
        number: 293,
        name: "__sigprocmask14",
        slots: 3,
    },
    SyscallInfo {
        number: 296,
        name: "__getcwd",
        slots: 2,
    },
    SyscallInfo {
        number: 297,
        name: "fchroot",
        slots: 1,
    },
    SyscallInfo {
        number: 304,
        name: "lchflags",
        slots: 2,
    },
    SyscallInfo {
        number: 305,
        name: "issetugid",
        slots: 0,
    },
    SyscallInfo {
        number: 344,
        name: "kqueue",
        slots: 0,
    },
    SyscallInfo {
        number: 354,
        name: "fsync_range",
        slots: 4,
    },
    SyscallInfo {
        number: 356,
        name: "getvfsstat",
        slots: 3,
    },
    SyscallInfo {
        number: 357,
        name: "statvfs1",
        slots: 3,
    },
    SyscallInfo {
        number: 358,
        name: "fstatvfs1",
        slots: 3,
    },
    SyscallInfo {
        number: 390,
        name: "__getdents30",
        slots: 3,
    },
    SyscallInfo {
        number: 394,
        name: "__socket30",
        slots: 3,
    },
    SyscallInfo {
        number: 410,
        name: "__mount50",
        slots: 5,
    },
    SyscallInfo {
        number: 416,
        name: "__posix_fadvise50",
        slots: 5,
    },
    SyscallInfo {
        number: 417,
        name: "__select50",
        slots: 5,
    },
    SyscallInfo {
        number: 418,
        name: "__gettimeofday50",
        slots: 2,
    },
    SyscallInfo {
        number: 419,
        name: "__settimeofday50",
        slots: 2,
    },
    SyscallInfo {
        number: 420,
        name: "__utimes50",
        slots: 2,
    },
    SyscallInfo {
        number: 423,
        name: "__futimes50",
        slots: 2,
    },
    SyscallInfo {
        number: 424,
        name: "__lutimes50",
        slots: 2,
    },
    SyscallInfo {
        number: 425,
        name: "__setitimer50",
        slots: 3,
    },
    SyscallInfo {
        number: 426,
        name: "__getitimer50",
        slots: 2,
    },
    SyscallInfo {
        number: 427,
        name: "__clock_gettime50",
        slots: 2,
    },
    SyscallInfo {
        number: 428,
        name: "__clock_settime50",
        slots: 2,
    },
    SyscallInfo {
        number: 429,
        name: "__clock_getres50",
        slots: 2,
    },
    SyscallInfo {
        number: 430,
        name: "__nanosleep50",
        slots: 2,
    },
    SyscallInfo {
        number: 435,
        name: "__kevent50",
        slots: 6,
    },
    SyscallInfo {
        number: 437,
        name: "__pollts50",
        slots: 4,
    },
    SyscallInfo {
        number: 439,
        name: "__stat50",
        slots: 2,
    },
    SyscallInfo {
        number: 440,
        name: "__fstat50",
        slots: 2,
    },
    SyscallInfo {
        number: 441,
        name: "__lstat50",
        slots: 2,
    },
    SyscallInfo {
        number: 450,
        name: "__mknod50",
        slots: 3,
    },
    SyscallInfo {
        number: 453,
        name: "pipe2",
        slots: 2,
    },
    SyscallInfo {
        number: 454,
        name: "dup3",
        slots: 3,
    },
    SyscallInfo {
        number: 455,
        name: "kqueue1",
        slots: 1,
    },
    SyscallInfo {
        number: 456,
        name: "paccept",
        slots: 5,
    },
    SyscallInfo {
        number: 457,
        name: "linkat",
        slots: 5,
    },
    SyscallInfo {
        number: 458,
        name: "renameat",
        slots: 4,
    },
    SyscallInfo {
        number: 459,
        name: "mkfifoat",
        slots: 3,
    },
    SyscallInfo {
        number: 460,
        name: "mknodat",
        slots: 5,
    },
    SyscallInfo {
        number: 461,
        name: "mkdirat",
        slots: 3,
    },
    SyscallInfo {
        number: 462,
        name: "faccessat",
        slots: 4,
    },
    SyscallInfo {
        number: 463,
        name: "fchmodat",
        slots: 4,
    },
    SyscallInfo {
        number: 464,
        name: "fchownat",
        slots: 5,
    },
    SyscallInfo {
        number: 466,
        name: "fstatat",
        slots: 4,
    },
    SyscallInfo {
        number: 467,
        name: "utimensat",
        slots: 4,
    },
    SyscallInfo {
        number: 468,
        name: "openat",
        slots: 4,
    },
    SyscallInfo {
        number: 469,
        name: "readlinkat",
        slots: 4,
    },
    SyscallInfo {
        number: 470,
        name: "symlinkat",
        slots: 3,
    },
    SyscallInfo {
        number: 471,
        name: "unlinkat",
        slots: 3,
    },
    SyscallInfo {
        number: 472,
        name: "futimens",
        slots: 2,
    },
    SyscallInfo {
        number: 475,
        name: "recvmmsg",
        slots: 5,
    },
    SyscallInfo {
        number: 476,
        name: "sendmmsg",
        slots: 4,
    },
    SyscallInfo {
        number: 477,
        name: "clock_nanosleep",
        slots: 4,
    },
    SyscallInfo {
        number: 479,
        name: "posix_fallocate",
        slots: 4,
    },
    SyscallInfo {
        number: 483,
        name: "__getvfsstat90",
        slots: 3,
    },
    SyscallInfo {
        number: 484,
        name: "__statvfs190",
        slots: 3,
    },
    SyscallInfo {
        number: 485,
        name: "__fstatvfs190",
        slots: 3,
    },
    SyscallInfo {
        number: 499,
        name: "lpathconf",
        slots: 2,
    },
];

/// Table size of the rump syscall vector (`SYS_NSYSENT`): numbers at or above it get ENOSYS.
pub const SYS_NSYSENT: u32 = 512;

/// Looks a syscall up by number.
pub fn syscall(number: u32) -> Option<&'static SyscallInfo> {
    SYSCALLS
        .binary_search_by_key(&number, |s| s.number)
        .ok()
        .map(|i| &SYSCALLS[i])
}

/// Looks a syscall up by name.
pub fn syscall_by_name(name: &str) -> Option<&'static SyscallInfo> {
    SYSCALLS.iter().find(|s| s.name == name)
}

/// NetBSD errno names and messages, index = errno (errno.h 1.42, ELAST 98).
const ERRNOS: [(&str, &str); 99] = [
    ("0", "Success"),
    ("EPERM", "Operation not permitted"),
    ("ENOENT", "No such file or directory"),
    ("ESRCH", "No such process"),
    ("EINTR", "Interrupted system call"),
    ("EIO", "Input/output error"),
    ("ENXIO", "Device not configured"),
    ("E2BIG", "Argument list too long"),
    ("ENOEXEC", "Exec format error"),
    ("EBADF", "Bad file descriptor"),
    ("ECHILD", "No child processes"),
    ("EDEADLK", "Resource deadlock avoided"),
    ("ENOMEM", "Cannot allocate memory"),
    ("EACCES", "Permission denied"),
    ("EFAULT", "Bad address"),
    ("ENOTBLK", "Block device required"),
    ("EBUSY", "Device busy"),
    ("EEXIST", "File exists"),
    ("EXDEV", "Cross-device link"),
    ("ENODEV", "Operation not supported by device"),
    ("ENOTDIR", "Not a directory"),
    ("EISDIR", "Is a directory"),
    ("EINVAL", "Invalid argument"),
    ("ENFILE", "Too many open files in system"),
    ("EMFILE", "Too many open files"),
    ("ENOTTY", "Inappropriate ioctl for device"),
    ("ETXTBSY", "Text file busy"),
    ("EFBIG", "File too large"),
    ("ENOSPC", "No space left on device"),
    ("ESPIPE", "Illegal seek"),
    ("EROFS", "Read-only file system"),
    ("EMLINK", "Too many links"),
    ("EPIPE", "Broken pipe"),
    ("EDOM", "Numerical argument out of domain"),
    ("ERANGE", "Result too large or too small"),
    ("EAGAIN", "Resource temporarily unavailable"),
    ("EINPROGRESS", "Operation now in progress"),
    ("EALREADY", "Operation already in progress"),
    ("ENOTSOCK", "Socket operation on non-socket"),
    ("EDESTADDRREQ", "Destination address required"),
    ("EMSGSIZE", "Message too long"),
    ("EPROTOTYPE", "Protocol wrong type for socket"),
    ("ENOPROTOOPT", "Protocol option not available"),
    ("EPROTONOSUPPORT", "Protocol not supported"),
    ("ESOCKTNOSUPPORT", "Socket type not supported"),
    ("EOPNOTSUPP", "Operation not supported"),
    ("EPFNOSUPPORT", "Protocol family not supported"),
    (
        "EAFNOSUPPORT",
        "Address family not supported by protocol family",
    ),
    ("EADDRINUSE", "Address already in use"),
    ("EADDRNOTAVAIL", "Can't assign requested address"),
    ("ENETDOWN", "Network is down"),
    ("ENETUNREACH", "Network is unreachable"),
    ("ENETRESET", "Network dropped connection on reset"),
    ("ECONNABORTED", "Software caused connection abort"),
    ("ECONNRESET", "Connection reset by peer"),
    ("ENOBUFS", "No buffer space available"),
    ("EISCONN", "Socket is already connected"),
    ("ENOTCONN", "Socket is not connected"),
    ("ESHUTDOWN", "Can't send after socket shutdown"),
    ("ETOOMANYREFS", "Too many references: can't splice"),
    ("ETIMEDOUT", "Operation timed out"),
    ("ECONNREFUSED", "Connection refused"),
    ("ELOOP", "Too many levels of symbolic links"),
    ("ENAMETOOLONG", "File name too long"),
    ("EHOSTDOWN", "Host is down"),
    ("EHOSTUNREACH", "No route to host"),
    ("ENOTEMPTY", "Directory not empty"),
    ("EPROCLIM", "Too many processes"),
    ("EUSERS", "Too many users"),
    ("EDQUOT", "Disc quota exceeded"),
    ("ESTALE", "Stale NFS file handle"),
    ("EREMOTE", "Too many levels of remote in path"),
    ("EBADRPC", "RPC struct is bad"),
    ("ERPCMISMATCH", "RPC version wrong"),
    ("EPROGUNAVAIL", "RPC prog. not avail"),
    ("EPROGMISMATCH", "Program version wrong"),
    ("EPROCUNAVAIL", "Bad procedure for program"),
    ("ENOLCK", "No locks available"),
    ("ENOSYS", "Function not implemented"),
    ("EFTYPE", "Inappropriate file type or format"),
    ("EAUTH", "Authentication error"),
    ("ENEEDAUTH", "Need authenticator"),
    ("EIDRM", "Identifier removed"),
    ("ENOMSG", "No message of desired type"),
    ("EOVERFLOW", "Value too large to be stored in data type"),
    ("EILSEQ", "Illegal byte sequence"),
    ("ENOTSUP", "Not supported"),
    ("ECANCELED", "Operation canceled"),
    ("EBADMSG", "Bad or Corrupt message"),
    ("ENODATA", "No message available"),
    ("ENOSR", "No STREAM resources"),
    ("ENOSTR", "Not a STREAM"),
    ("ETIME", "STREAM ioctl timeout"),
    ("ENOATTR", "Attribute not found"),
    ("EMULTIHOP", "Multihop attempted"),
    ("ENOLINK", "Link has been severed"),
    ("EPROTO", "Protocol error"),
    ("EOWNERDEAD", "Previous owner died"),
    ("ENOTRECOVERABLE", "State not recoverable"),
];

/// A NetBSD errno value as it travels in a SYSCALL response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(pub i32);

impl Errno {
    /// The symbolic name (`ENOENT`), if the value is a known errno (1..=98).
    pub fn name(self) -> Option<&'static str> {
        usize::try_from(self.0)
            .ok()
            .filter(|&i| i > 0)
            .and_then(|i| ERRNOS.get(i))
            .map(|e| e.0)
    }

    /// NetBSD's message for it (`No such file or directory`).
    pub fn message(self) -> Option<&'static str> {
        usize::try_from(self.0)
            .ok()
            .filter(|&i| i > 0)
            .and_then(|i| ERRNOS.get(i))
            .map(|e| e.1)
    }

    /// Looks an errno up by name (`EAGAIN`; `EWOULDBLOCK` is accepted as its alias).
    pub fn from_name(name: &str) -> Option<Errno> {
        let name = if name == "EWOULDBLOCK" {
            "EAGAIN"
        } else {
            name
        };
        ERRNOS
            .iter()
            .position(|e| e.0 == name)
            .filter(|&i| i > 0)
            .map(|i| Errno(i as i32))
    }
}

impl std::fmt::Display for Errno {
    /// `No such file or directory (ENOENT)`, or `errno 123` for an unknown value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.message(), self.name()) {
            (Some(m), Some(n)) => write!(f, "{m} ({n})"),
            _ => write!(f, "errno {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(SYSCALLS.windows(2).all(|w| w[0].number < w[1].number));
        assert!(SYSCALLS
            .iter()
            .all(|s| s.number < SYS_NSYSENT && s.slots <= 8));
    }

    #[test]
    fn well_known_numbers() {
        for (n, name, slots) in [
            (3, "read", 3),
            (20, "getpid", 0),
            (173, "pread", 5),
            (199, "lseek", 4),
            (202, "__sysctl", 6),
            (208, "reboot", 2),
            (390, "__getdents30", 3),
            (410, "__mount50", 5),
            (439, "__stat50", 2),
            (453, "pipe2", 2),
        ] {
            let s = syscall(n).unwrap();
            assert_eq!((s.name, s.slots), (name, slots));
            assert_eq!(syscall_by_name(name).unwrap().number, n);
        }
        assert!(syscall(600).is_none());
    }

    #[test]
    fn errno_names() {
        assert_eq!(Errno(2).name(), Some("ENOENT"));
        assert_eq!(Errno(35).name(), Some("EAGAIN"));
        assert_eq!(Errno(63).name(), Some("ENAMETOOLONG"));
        assert_eq!(Errno(78).name(), Some("ENOSYS"));
        assert_eq!(Errno(98).name(), Some("ENOTRECOVERABLE"));
        assert_eq!(Errno(0).name(), None);
        assert_eq!(Errno(99).name(), None);
        assert_eq!(Errno(-3).name(), None);
        assert_eq!(Errno::from_name("EWOULDBLOCK"), Some(Errno(35)));
        assert_eq!(Errno(2).to_string(), "No such file or directory (ENOENT)");
        assert_eq!(Errno(200).to_string(), "errno 200");
        let t = Timespec { sec: 17, nsec: 5 };
        assert_eq!(t.to_string(), "17.000000005");
    }
}

pub mod statvfs;
pub use statvfs::Statvfs;

/// A `struct timespec`: seconds and nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds.
    pub nsec: i64,
}

impl std::fmt::Display for Timespec {
    /// `sec.nnnnnnnnn`, e.g. `1796230480.650574411`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:09}", self.sec, self.nsec)
    }
}

/// NetBSD's `struct stat` (`__stat50`), amd64 layout: what the simulated
/// kernel encodes and what the client decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatBuf {
    /// st_dev.
    pub dev: u64,
    /// st_mode (type and permission bits).
    pub mode: u32,
    /// st_ino.
    pub ino: u64,
    /// st_nlink.
    pub nlink: u32,
    /// st_uid.
    pub uid: u32,
    /// st_gid.
    pub gid: u32,
    /// st_rdev.
    pub rdev: u64,
    /// st_atim.
    pub atime: Timespec,
    /// st_mtim.
    pub mtime: Timespec,
    /// st_ctim.
    pub ctime: Timespec,
    /// st_birthtim.
    pub birthtime: Timespec,
    /// st_size.
    pub size: i64,
    /// st_blocks.
    pub blocks: i64,
    /// st_blksize.
    pub blksize: i32,
    /// st_flags.
    pub flags: u32,
    /// st_gen.
    pub gen: u32,
}

/// Byte offsets of the fields in the 152-byte layout.
mod stat_at {
    pub const DEV: usize = 0;
    pub const MODE: usize = 8;
    pub const INO: usize = 16;
    pub const NLINK: usize = 24;
    pub const UID: usize = 28;
    pub const GID: usize = 32;
    pub const RDEV: usize = 40;
    pub const ATIME: usize = 48;
    pub const MTIME: usize = 64;
    pub const CTIME: usize = 80;
    pub const BIRTHTIME: usize = 96;
    pub const SIZE: usize = 112;
    pub const BLOCKS: usize = 120;
    pub const BLKSIZE: usize = 128;
    pub const FLAGS: usize = 132;
    pub const GEN: usize = 136;
}

impl StatBuf {
    /// Size of the encoded structure.
    pub const SIZE: usize = 152;

    /// Decodes the 152-byte amd64 layout; `None` if it is shorter.
    pub fn decode(b: &[u8]) -> Option<StatBuf> {
        use stat_at::*;
        let b: &[u8; Self::SIZE] = b.get(..Self::SIZE)?.try_into().ok()?;
        let u32at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64at = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(w)
        };
        let ts = |i: usize| Timespec {
            sec: u64at(i) as i64,
            nsec: u64at(i + 8) as i64,
        };
        Some(StatBuf {
            dev: u64at(DEV),
            mode: u32at(MODE),
            ino: u64at(INO),
            nlink: u32at(NLINK),
            uid: u32at(UID),
            gid: u32at(GID),
            rdev: u64at(RDEV),
            atime: ts(ATIME),
            mtime: ts(MTIME),
            ctime: ts(CTIME),
            birthtime: ts(BIRTHTIME),
            size: u64at(SIZE) as i64,
            blocks: u64at(BLOCKS) as i64,
            blksize: u32at(BLKSIZE) as i32,
            flags: u32at(FLAGS),
            gen: u32at(GEN),
        })
    }

    /// The 152-byte amd64 encoding (padding zeroed).
    pub fn encode(&self) -> Vec<u8> {
        use stat_at::*;
        let mut b = vec![0u8; Self::SIZE];
        let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
        put(DEV, &self.dev.to_le_bytes());
        put(MODE, &self.mode.to_le_bytes());
        put(INO, &self.ino.to_le_bytes());
        put(NLINK, &self.nlink.to_le_bytes());
        put(UID, &self.uid.to_le_bytes());
        put(GID, &self.gid.to_le_bytes());
        put(RDEV, &self.rdev.to_le_bytes());
        for (at, t) in [
            (ATIME, self.atime),
            (MTIME, self.mtime),
            (CTIME, self.ctime),
            (BIRTHTIME, self.birthtime),
        ] {
            put(at, &t.sec.to_le_bytes());
            put(at + 8, &t.nsec.to_le_bytes());
        }
        put(SIZE, &self.size.to_le_bytes());
        put(BLOCKS, &self.blocks.to_le_bytes());
        put(BLKSIZE, &self.blksize.to_le_bytes());
        put(FLAGS, &self.flags.to_le_bytes());
        put(GEN, &self.gen.to_le_bytes());
        b
    }

    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & 0o170000 == 0o040000
    }
}

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
mod decode_tests {
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
        assert!(StatBuf::decode(&[0; 100]).is_none());
        let st = StatBuf {
            dev: 0xab01,
            mode: 0o100644,
            ino: 7,
            nlink: 2,
            uid: 1000,
            gid: 100,
            rdev: 3,
            atime: Timespec { sec: 1, nsec: 2 },
            mtime: Timespec { sec: 3, nsec: 4 },
            ctime: Timespec { sec: 5, nsec: 6 },
            birthtime: Timespec { sec: 7, nsec: 8 },
            size: 4096,
            blocks: 8,
            blksize: 512,
            flags: 0x20,
            gen: 9,
        };
        let b = st.encode();
        assert_eq!(b.len(), StatBuf::SIZE);
        assert_eq!(StatBuf::decode(&b), Some(st));
        assert_eq!(&b[64..72], &3i64.to_le_bytes(), "st_mtim.tv_sec at 64");
        assert_eq!(&b[112..120], &4096i64.to_le_bytes(), "st_size at 112");
    }
}
