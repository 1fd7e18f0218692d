//! The sans-IO rump_sp server: [`ServerCore`] holds every connection's state,
//! the prefork table and a [`crate::kernel::Kernel`], and is driven by plain
//! calls (accept, receive bytes, take output, disconnect).

mod conn;
mod cookies;
mod core;
pub mod inject;
mod limits;

pub use self::conn::ConnState;
pub use self::cookies::{CookieSource, OsCookies, SeededCookies};
pub use self::core::{Accept, ConnId, ConnUsage, Output, ServerCore};
pub use self::limits::ServerLimits;
