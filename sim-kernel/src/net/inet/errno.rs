//! The NetBSD errno values the internet domains answer with (kept here so
//! this module needs nothing the other network helpers add to `consts`).

/// Bad argument or a call the PCB's state refuses.
pub const EINVAL: i32 = 22;
/// Broken pipe.
pub const EPIPE: i32 = 32;
/// Would block.
pub const EAGAIN: i32 = 35;
/// Operation now in progress.
pub const EINPROGRESS: i32 = 36;
/// Destination address required.
pub const EDESTADDRREQ: i32 = 39;
/// Message too long.
pub const EMSGSIZE: i32 = 40;
/// Protocol wrong type for socket.
pub const EPROTOTYPE: i32 = 41;
/// Protocol not available (unknown socket option).
pub const ENOPROTOOPT: i32 = 42;
/// Protocol not supported.
pub const EPROTONOSUPPORT: i32 = 43;
/// Operation not supported.
pub const EOPNOTSUPP: i32 = 45;
/// Address family not supported.
pub const EAFNOSUPPORT: i32 = 47;
/// Address already in use.
pub const EADDRINUSE: i32 = 48;
/// Can't assign requested address.
pub const EADDRNOTAVAIL: i32 = 49;
/// Connection reset by peer.
pub const ECONNRESET: i32 = 54;
/// Socket is already connected.
pub const EISCONN: i32 = 56;
/// Socket is not connected.
pub const ENOTCONN: i32 = 57;
/// Connection timed out.
pub const ETIMEDOUT: i32 = 60;
/// Connection refused.
pub const ECONNREFUSED: i32 = 61;
/// No route to host.
pub const EHOSTUNREACH: i32 = 65;
