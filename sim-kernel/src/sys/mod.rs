//! Syscall handlers and the dispatch table. Each handler gathers everything
//! it needs from client memory first (`?` suspends it until the memory is
//! fetched) and only then changes kernel state.

mod advice;
mod chroot;
mod dir;
pub(crate) mod file;
mod flags;
pub(crate) mod io;
pub mod kfilter;
pub mod kqueue;
mod lock;
mod mount;
mod pathconf;
mod pipe;
mod poll;
mod procs;
mod rlimit;
mod session;
mod setid;
mod settime;
mod socket;
pub(crate) mod sockio;
mod sockopt;
mod special;
mod sysctl_call;
mod sysctl_stats;
mod time;
pub(crate) mod timers;

pub use lock::lock_key;

use crate::{Ctx, SimKernel, SysResult};

/// A syscall handler.
pub type Handler = fn(&mut SimKernel, &mut Ctx<'_, '_>) -> SysResult;

/// Every implemented syscall: number, name, handler (sorted by number).
pub const TABLE: &[(u32, &str, Handler)] = &[
    (3, "read", io::read),
    (4, "write", io::write),
    (5, "open", file::open),
    (6, "close", io::close),
    (9, "link", file::link),
    (10, "unlink", file::unlink),
    (12, "chdir", dir::chdir),
    (13, "fchdir", dir::fchdir),
    (15, "chmod", file::chmod),
    (16, "chown", file::chown),
    (20, "getpid", procs::getpid),
    (22, "unmount", mount::unmount),
    (23, "setuid", setid::setuid),
    (24, "getuid", procs::getuid),
    (25, "geteuid", procs::geteuid),
    (27, "recvmsg", sockio::recvmsg),
    (28, "sendmsg", sockio::sendmsg),
    (29, "recvfrom", sockio::recvfrom),
    (30, "accept", socket::accept),
    (31, "getpeername", socket::getpeername),
    (32, "getsockname", socket::getsockname),
    (33, "access", file::access),
    (34, "chflags", flags::chflags),
    (35, "fchflags", flags::fchflags),
    (36, "sync", procs::sync),
    (39, "getppid", procs::getppid),
    (41, "dup", io::dup),
    (42, "pipe", pipe::pipe),
    (43, "getegid", procs::getegid),
    (47, "getgid", procs::getgid),
    (49, "__getlogin", session::getlogin),
    (50, "__setlogin", session::setlogin),
    (54, "ioctl", io::ioctl),
    (57, "symlink", file::symlink),
    (58, "readlink", file::readlink),
    (60, "umask", procs::umask),
    (61, "chroot", chroot::chroot),
    (79, "getgroups", procs::getgroups),
    (80, "setgroups", procs::setgroups),
    (81, "getpgrp", session::getpgrp),
    (82, "setpgid", session::setpgid),
    (90, "dup2", io::dup2),
    (92, "fcntl", io::fcntl),
    (95, "fsync", io::fsync),
    (98, "connect", socket::connect),
    (104, "bind", socket::bind),
    (105, "setsockopt", sockopt::setsockopt),
    (106, "listen", socket::listen),
    (118, "getsockopt", sockopt::getsockopt),
    (120, "readv", io::readv),
    (121, "writev", io::writev),
    (123, "fchown", file::fchown),
    (124, "fchmod", file::fchmod),
    (126, "setreuid", setid::setreuid),
    (127, "setregid", setid::setregid),
    (128, "rename", file::rename),
    (131, "flock", lock::flock),
    (132, "mkfifo", special::mkfifo),
    (133, "sendto", sockio::sendto),
    (134, "shutdown", socket::shutdown),
    (135, "socketpair", socket::socketpair),
    (136, "mkdir", file::mkdir),
    (137, "rmdir", file::rmdir),
    (147, "setsid", session::setsid),
    (173, "pread", io::pread),
    (174, "pwrite", io::pwrite),
    (181, "setgid", setid::setgid),
    (182, "setegid", setid::setegid),
    (183, "seteuid", setid::seteuid),
    (191, "pathconf", pathconf::pathconf),
    (192, "fpathconf", pathconf::fpathconf),
    (194, "getrlimit", rlimit::getrlimit),
    (195, "setrlimit", rlimit::setrlimit),
    (199, "lseek", io::lseek),
    (200, "truncate", file::truncate),
    (201, "ftruncate", io::ftruncate),
    (202, "__sysctl", sysctl_call::sysctl),
    (207, "getpgid", session::getpgid),
    (208, "reboot", procs::reboot),
    (209, "poll", poll::poll),
    (241, "fdatasync", io::fdatasync),
    (270, "__posix_rename", file::posix_rename),
    (274, "lchmod", file::lchmod),
    (275, "lchown", file::lchown),
    (283, "__posix_chown", file::posix_chown),
    (284, "__posix_fchown", file::posix_fchown),
    (285, "__posix_lchown", file::posix_lchown),
    (286, "getsid", session::getsid),
    (289, "preadv", io::preadv),
    (290, "pwritev", io::pwritev),
    (296, "__getcwd", dir::getcwd),
    (297, "fchroot", chroot::fchroot),
    (304, "lchflags", flags::lchflags),
    (305, "issetugid", procs::issetugid),
    (344, "kqueue", kqueue::kqueue),
    (354, "fsync_range", io::fsync_range),
    (356, "getvfsstat", mount::getvfsstat_old),
    (357, "statvfs1", mount::statvfs1_old),
    (358, "fstatvfs1", mount::fstatvfs1_old),
    (390, "__getdents30", dir::getdents),
    (394, "__socket30", socket::socket),
    (410, "__mount50", mount::mount),
    (416, "__posix_fadvise50", advice::posix_fadvise),
    (417, "__select50", poll::select),
    (418, "__gettimeofday50", time::gettimeofday),
    (419, "__settimeofday50", settime::settimeofday),
    (420, "__utimes50", file::utimes),
    (423, "__futimes50", file::futimes),
    (424, "__lutimes50", file::lutimes),
    (425, "__setitimer50", timers::setitimer),
    (426, "__getitimer50", timers::getitimer),
    (427, "__clock_gettime50", time::clock_gettime),
    (428, "__clock_settime50", settime::clock_settime),
    (429, "__clock_getres50", time::clock_getres),
    (430, "__nanosleep50", time::nanosleep),
    (435, "__kevent50", kqueue::kevent),
    (436, "__pselect50", poll::pselect),
    (437, "__pollts50", poll::pollts),
    (439, "__stat50", file::stat),
    (440, "__fstat50", io::fstat),
    (441, "__lstat50", file::lstat),
    (450, "__mknod50", special::mknod),
    (453, "pipe2", pipe::pipe2),
    (454, "dup3", io::dup3),
    (455, "kqueue1", kqueue::kqueue1),
    (457, "linkat", file::linkat),
    (458, "renameat", file::renameat),
    (459, "mkfifoat", special::mkfifoat),
    (460, "mknodat", special::mknodat),
    (461, "mkdirat", file::mkdirat),
    (462, "faccessat", file::faccessat),
    (463, "fchmodat", file::fchmodat),
    (464, "fchownat", file::fchownat),
    (466, "fstatat", file::fstatat),
    (467, "utimensat", file::utimensat),
    (468, "openat", file::openat),
    (469, "readlinkat", file::readlinkat),
    (470, "symlinkat", file::symlinkat),
    (471, "unlinkat", file::unlinkat),
    (472, "futimens", file::futimens),
    (477, "clock_nanosleep", timers::clock_nanosleep),
    (479, "posix_fallocate", advice::posix_fallocate),
    (483, "__getvfsstat90", mount::getvfsstat_new),
    (484, "__statvfs190", mount::statvfs1_new),
    (485, "__fstatvfs190", mount::fstatvfs1_new),
];

/// The handler for a syscall number, if implemented.
pub fn handler(sysnum: u32) -> Option<Handler> {
    TABLE
        .binary_search_by_key(&sysnum, |(n, _, _)| *n)
        .ok()
        .map(|i| TABLE[i].2)
}

/// The implemented syscalls that lack part of what NetBSD does: number and
/// what is missing (sorted by number; every number is also in [`TABLE`]).
/// A syscall in `TABLE` and not here is implemented fully.
pub const PARTIAL: &[(u32, &str)] = &[
    (
        5,
        "open: a blocking open of a FIFO that must wait for the other end is not counted \
         as a reader or writer while it waits (fifo_open counts it first), so a \
         non-blocking writer meanwhile still gets ENXIO",
    ),
    (
        27,
        "recvmsg: MSG_WAITALL for more than the receive buffer holds returns what is there; \
         LOCAL_CREDS (SCM_CREDS) messages are not added",
    ),
    (
        29,
        "recvfrom: MSG_WAITALL for more than the receive buffer holds returns what is there",
    ),
    (
        54,
        "ioctl: 4 commands (FIOCLEX, FIONCLEX, FIONBIO, FIONREAD) and the console's TIOCGETA, \
         on sockets also FIONWRITE and FIONSPACE and the interface ioctls of loopback and carp \
         interfaces (SIOCGIFCONF, SIOCIFGCLONERS, SIOCIFCREATE/DESTROY, SIOCG/SIFFLAGS, MTU, \
         METRIC, SIOCGIFINDEX, SIOCADD/DELMULTI, and on AF_INET sockets SIOCAIFADDR, \
         SIOCDIFADDR, SIOCGIFADDR/NETMASK/DSTADDR/BRDADDR; no SIOCSIFADDR, SIOCGIFALIAS, \
         SIOCGIFDATA, the IPv6 *_IN6 ones or media), on kqueues KFILTER_BYFILTER and \
         KFILTER_BYNAME; elsewhere FIOASYNC, FIONWRITE, FIONSPACE, FIOGETOWN and FIOSETOWN \
         answer ENOTTY, on sockets FIOASYNC, FIOGETOWN, FIOSETOWN and SIOCATMARK EOPNOTSUPP",
    ),
    (92, "fcntl: F_GETOWN and F_SETOWN answer EINVAL"),
    (
        105,
        "setsockopt: SO_ACCEPTFILTER is ENOPROTOOPT (no accept filters); SO_SNDBUF/SO_RCVBUF \
         do not check the RLIMIT_SBSIZE total",
    ),
    (
        202,
        "__sysctl: the tree recorded from a fresh kernel, re-created in boot order so that \
         versions and dynamic numbers follow kern_sysctl.c's rules (kern.pool's counters \
         stay those of the recorded kernel, kern.msgbuf its boot messages), plus the nodes \
         the net components add: librumpnet's kern.mbuf, kern.somaxkva and kern.sbmax, and \
         of net.* only those a capture shows, with the observed versions \
         (net.route.rtable answers NET_RT_DUMP, NET_RT_FLAGS and NET_RT_IFLIST, \
         net.oroute.rtable EINVAL); only CTL_QUERY of the meta operations (CTL_DESCRIBE, \
         CTL_CREATE, CTL_DESTROY answer EOPNOTSUPP)",
    ),
    (
        208,
        "reboot: with RB_STRING the boot string is not copied in (sys_reboot fetches it); \
         the howto flags are not told apart (RB_HALT, RB_DUMP, RB_NOSYNC all shut the \
         server down alike)",
    ),
    (
        209,
        "poll: the descriptor-table size for the nfds check is taken from the highest open fd; \
         on the host's clock a timed poll ends within 5 ms after its deadline (the server's \
         wake check); on the virtual clock, when no other process could end it, the clock \
         jumps to the deadline",
    ),
    (
        394,
        "__socket30: SOCK_RAW sockets of AF_INET/AF_INET6 and AF_ROUTE sockets are \
         created and closed but carry nothing (bind, connect and send on them EOPNOTSUPP, \
         no routing messages); AF_INET/AF_INET6 have no broadcast, multicast or IP \
         options beyond IP_TTL, IP_TOS, IPV6_V6ONLY, TCP_NODELAY and TCP_MAXSEG, and TCP \
         keeps no TIME_WAIT state and runs no timers",
    ),
    (
        410,
        "__mount50: tmpfs only (any other type ENODEV); MNT_UPDATE changes only MNT_RDONLY",
    ),
    (
        417,
        "__select50: the descriptor-table size nd is cut to is taken from the highest open fd; \
         a timed select ends as a timed poll does",
    ),
    (
        430,
        "__nanosleep50: on the host's clock it waits, ended within 5 ms after its time; on the \
         virtual clock the clock jumps ahead by the interval instead; no signal reaches a \
         sleeping call, so it is never interrupted (no EINTR) and the remainder is always 0",
    ),
    (
        435,
        "__kevent50: EVFILT_SIGNAL knotes attach but never fire (no signal reaches a process's \
         knote list); EVFILT_VNODE tells NOTE_DELETE, NOTE_LINK, NOTE_RENAME, NOTE_ATTRIB and a \
         truncate's NOTE_EXTEND from the watched vnode before and after each call, so a \
         chmod/chown/utimes that changes no attribute or time notes nothing, and there is \
         no NOTE_REVOKE; EVFILT_PROC does not \
         follow forks (NOTE_TRACK) and its NOTE_EXIT data is 0; the error entries are copied \
         out after all the changes are copied in (NetBSD interleaves them per chunk of 8); a \
         timed wait ends as a timed poll does",
    ),
    (
        436,
        "__pselect50: as __select50 (descriptor-table size from the highest open fd, timed \
         waits as poll's)",
    ),
    (
        437,
        "__pollts50: as poll (descriptor-table size from the highest open fd, timed waits \
         end as poll's)",
    ),
    (
        450,
        "__mknod50: an S_IFWHT whiteout is kept on tmpfs only (on the rumpfs root it is \
         answered but not kept); a second whiteout of a whited-out name is not added \
         (tmpfs would attach another dirent of that name)",
    ),
    (
        460,
        "mknodat: an S_IFWHT whiteout is kept on tmpfs only (on the rumpfs root it is \
         answered but not kept); a second whiteout of a whited-out name is not added \
         (tmpfs would attach another dirent of that name)",
    ),
    (
        477,
        "clock_nanosleep: sleeps as __nanosleep50 (waits on the host's clock, jumps the virtual \
         one; no EINTR, no remainder)",
    ),
];

/// How much of a syscall the simulated kernel implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// As NetBSD does it (what the model leaves out is not observable).
    Full,
    /// Implemented in part; the text says what is missing.
    Partial(&'static str),
    /// Not implemented: the call answers ENOSYS.
    None,
}

impl Support {
    /// The level's name: "full", "partial" or "none".
    pub fn name(self) -> &'static str {
        match self {
            Support::Full => "full",
            Support::Partial(_) => "partial",
            Support::None => "none",
        }
    }

    /// What is missing, for a partial syscall.
    pub fn missing(self) -> Option<&'static str> {
        match self {
            Support::Partial(m) => Some(m),
            _ => None,
        }
    }
}

/// The support level of a syscall number: in [`PARTIAL`] partial, in
/// [`TABLE`] full, otherwise none.
pub fn support(sysnum: u32) -> Support {
    if let Ok(i) = PARTIAL.binary_search_by_key(&sysnum, |(n, _)| *n) {
        return Support::Partial(PARTIAL[i].1);
    }
    if handler(sysnum).is_some() {
        Support::Full
    } else {
        Support::None
    }
}

/// The syscall coverage table: every syscall number below 512 that NetBSD
/// names or we implement, its name, and how much of it the kernel implements.
pub fn coverage() -> Vec<(u32, &'static str, Support)> {
    let mut rows: std::collections::BTreeMap<u32, &'static str> = Default::default();
    for s in rumpsp_protocol::netbsd::SYSCALLS {
        rows.insert(s.number, s.name);
    }
    for (n, name, _) in TABLE {
        rows.insert(*n, name);
    }
    rows.into_iter()
        .map(|(n, name)| (n, name, support(n)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_named_as_netbsd_names_them() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        for (n, name, _) in TABLE {
            if let Some(s) = rumpsp_protocol::netbsd::syscall(*n) {
                assert_eq!(s.name, *name, "syscall {n}");
            }
        }
        // kill (37) and __sigprocmask14 (293) are STD without the RUMP mark in
        // syscalls.master (1.285, the 7.99.34 one): a rump kernel's syscall
        // table has the ENOSYS stub there, and a real rump_server answers
        // ENOSYS. rumpkern/signals.c has sigprocmask1 and the "raise" signal
        // model only for signals the kernel itself posts (SIGPIPE, SIGXFSZ).
        assert!(handler(37).is_none(), "kill is not in a rump kernel");
        assert!(
            handler(293).is_none(),
            "__sigprocmask14 is not in a rump kernel"
        );
        // 91 is "UNIMPL getdopt" in that syscalls.master: getrandom came later.
        assert!(handler(91).is_none(), "getrandom is not in NetBSD 7.99.34");
        assert!(handler(2).is_none(), "fork is not in a rump kernel");
    }

    #[test]
    fn partial_rows_are_sorted_implemented_and_say_what_is_missing() {
        assert!(PARTIAL.windows(2).all(|w| w[0].0 < w[1].0));
        for (n, missing) in PARTIAL {
            let row = TABLE.iter().find(|r| r.0 == *n);
            let Some((_, name, _)) = row else {
                panic!("PARTIAL lists {n}, which TABLE does not implement");
            };
            assert!(
                missing.starts_with(&format!("{name}: ")),
                "{n}: the text names the call first: {missing}"
            );
        }
    }

    #[test]
    fn levels_follow_partial_then_table() {
        assert_eq!(support(54).name(), "partial");
        assert!(support(92)
            .missing()
            .is_some_and(|m| m.contains("F_GETOWN")));
        assert_eq!(support(3), Support::Full);
        assert_eq!(support(37), Support::None, "kill");
        let rows = coverage();
        assert_eq!(
            rows.iter().filter(|r| r.2 != Support::None).count(),
            TABLE.len()
        );
        assert_eq!(
            rows.iter()
                .filter(|r| matches!(r.2, Support::Partial(_)))
                .count(),
            PARTIAL.len()
        );
    }
}
