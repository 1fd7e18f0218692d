//! The errno values the internet protocols answer: the kernel's
//! (`crate::consts`) and the socket layer's (`crate::net::errno`), in one
//! place for the inet modules.

pub use crate::consts::{EAFNOSUPPORT, EAGAIN, EINVAL, EOPNOTSUPP, EPIPE};
pub use crate::net::errno::*;
