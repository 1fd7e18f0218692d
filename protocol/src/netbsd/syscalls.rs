//! The NetBSD syscall table: numbers, canonical names and argument slot
//! counts (netbsd-abi.md §2, `sys/kern/syscalls.master`).

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
        number: 436,
        name: "__pselect50",
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
}
