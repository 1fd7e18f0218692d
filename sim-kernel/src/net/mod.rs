//! The network stack: interfaces and the routing sysctl.

pub mod iface;
pub mod ifioctl;
pub mod route;
