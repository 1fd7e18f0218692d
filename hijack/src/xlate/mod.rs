//! ABI translation between Linux (what the program speaks) and NetBSD (what
//! the rump kernel speaks): flags, errno values and structure layouts. Pure
//! functions, tested here; the NetBSD values are those of
//! `spec/netbsd-abi.md` and `rumpsp_protocol::netbsd`.

pub mod dirent;
pub mod errno;
pub mod flags;
pub mod sockaddr;
pub mod socket;
pub mod stat;
pub mod statvfs;
