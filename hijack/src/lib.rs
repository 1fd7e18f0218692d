//! # rumpsp-hijack (core only, work in progress)
//!
//! The parts of a future `LD_PRELOAD` library (issue 19) that run unmodified
//! Linux programs as rump kernel clients. It has no interposed glibc symbols
//! yet and builds no `librumpsp_hijack.so`. What is here:
//!
//! * [`config`]: `RUMPHIJACK` parsing (`path=/rump`) and the prefix test.
//! * [`xlate`]: Linux <-> NetBSD translation of open/AT_* flags, fcntl locks,
//!   errno, struct stat/statx, dirent64, statvfs/statfs, timespecs.
//! * [`conn`]: one blocking connection that drives the project's sans-IO
//!   `ClientSession` over a plain socket (GUEST, FORK and EXEC handshakes, PREFORK).
//! * [`state`]: the process state (connection, descriptor table, cwd) and its
//!   encoding for hand-over across exec.
//! * [`rump`]: syscalls by NetBSD number, with errno translated to Linux.

pub mod config;
pub mod conn;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod hooks;
pub mod rump;
pub mod state;
pub mod xlate;
