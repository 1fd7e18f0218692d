//! NetBSD numbers and layouts that travel on the wire (netbsd-abi.md §2–§3):
//! the syscall table, errno, and the amd64 struct layouts the client and the
//! simulated kernel share. One module each; the items are re-exported here so
//! `netbsd::SYSCALLS`, `netbsd::Errno`, `netbsd::StatBuf`, … keep working.

pub mod dirent;
pub mod errno;
pub mod stat;
pub mod statvfs;
pub mod syscalls;

pub use dirent::{parse_dirents, Dirent};
pub use errno::Errno;
pub use stat::{StatBuf, Timespec};
pub use statvfs::Statvfs;
pub use syscalls::{syscall, syscall_by_name, SyscallInfo, SYSCALLS, SYS_NSYSENT};
