//! Thin tokio adapters around the sans-IO core: listeners built from server
//! URLs and the production [`Server`]. They only move bytes and timers; every
//! protocol decision is made by [`crate::server::ServerCore`].

mod listener;
mod server;

pub use listener::{bind, Listener, ListenerError, Stream};
pub use server::{ServeError, Server, ServerConfig};
