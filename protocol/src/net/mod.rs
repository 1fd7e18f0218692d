//! Thin tokio adapters around the sans-IO core: listeners built from server
//! URLs, the production [`Server`] and the production [`Client`]. They only move bytes and timers; every
//! protocol decision is made by [`crate::server::ServerCore`].

mod client;
mod fdlimit;
mod listener;
mod ops;
mod server;

pub use client::{auth_key_from_env, Client, ClientError, ClientTimeouts, RetryPolicy};
pub use fdlimit::{raise_fd_limit, FdLimit};
pub use listener::{bind, Listener, ListenerError, Stream};
pub use ops::{SysctlNode, TmpfsArgs};
pub use server::{ServeError, Server, ServerConfig, StopReason, StopReport};
