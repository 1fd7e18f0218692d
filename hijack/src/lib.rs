//! # rumpsp-hijack: unmodified Linux programs as rump kernel clients
//!
//! `librumpsp_hijack.so` (this crate's cdylib) is an `LD_PRELOAD` library in
//! the manner of NetBSD's rumphijack(3): calls on paths under the prefix
//! (`RUMPHIJACK=path=/rump`, the default; the prefix is stripped) and on the
//! descriptors opened there go to the rump kernel named by `RUMP_SERVER`;
//! everything else goes to the next definition (glibc). With
//! `RUMPHIJACK=socket=inet:inet6:local` (`rumpsp run --sockets`), so do
//! the sockets of those domains and the calls on them. `rumpsp run -- CMD`
//! runs a program under it. Linux x86_64 with glibc only.
//!
//! * [`hooks`]: the interposed functions (files, metadata, directories, the
//!   current directory, stdio streams, fork and exec, sockets, poll/select).
//! * [`config`]: `RUMPHIJACK` parsing and the prefix test.
//! * [`xlate`]: Linux <-> NetBSD translation of open/AT_* flags, fcntl locks,
//!   errno, struct stat/statx, dirent64, statvfs/statfs, timespecs, socket
//!   addresses, socket types, message flags, socket options and poll bits.
//! * [`conn`]: one connection, shared by the process's threads, that drives
//!   the project's sans-IO `ClientSession` over a plain socket (GUEST, FORK
//!   and EXEC handshakes, PREFORK).
//! * [`state`]: the process state (connection, descriptor table, cwd) and its
//!   encoding for hand-over across exec.
//! * [`rump`]: syscalls by NetBSD number, with errno translated to Linux.
//!
//! Not hijacked: sockets of unrouted domains, epoll on rump sockets (EPERM),
//! ancillary socket data, signals, mmap of rump files
//! beyond private read copies (MAP_SHARED is ENODEV), ioctls other than
//! FIOCLEX/FIONCLEX/FIONBIO/FIONREAD (ENOTTY), and children made by `posix_spawn`/`system`
//! (glibc spawns them through internal calls: they start without the
//! parent's rump descriptors). A hijacked path never falls back to the host:
//! a lost connection makes it fail with EIO.

pub mod config;
pub mod conn;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod hooks;
pub mod rump;
pub mod state;
pub mod xlate;
