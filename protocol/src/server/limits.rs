//! The limits a server enforces on its peers.

use crate::limits::FrameLimits;

/// Server-wide and per-connection limits. Every one of them has a test that crosses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Frame size limits, checked before a body is buffered.
    pub frame: FrameLimits,
    /// Connections served at once; one more is accepted and closed without a banner
    /// (as the reference does past its 255 slots).
    pub max_connections: usize,
    /// Syscalls outstanding on one connection; one more is answered ERROR TRYAGAIN.
    pub max_outstanding: usize,
    /// Unredeemed preforks kept server-wide; a connection asking for one more
    /// loses its own oldest, or is refused (ERROR RFORK_FAILED) if it has none.
    pub max_preforks: usize,
    /// Unredeemed preforks one connection may hold; past it its own oldest is discarded.
    pub max_preforks_per_conn: usize,
    /// Milliseconds an unredeemed prefork is kept before it is discarded.
    pub prefork_ttl_ms: u64,
    /// Client memory bytes one syscall may hold; a request past it is a fault (EFAULT).
    pub max_call_memory: u64,
    /// Bytes queued for one client before it is disconnected as too slow a reader.
    pub max_pending_output: usize,
    /// Bytes queued for one client (not yet written to its socket) at which the
    /// server stops taking its frames; the rest of its input stays buffered
    /// (and the I/O adapter stops reading) until the queue drains below it.
    pub output_pause: usize,
    /// Bytes one read(2)/pread(2) may return: a larger count is served as a
    /// short read of this many bytes, so no single answer exceeds it.
    pub max_answer: u64,
    /// Milliseconds a connection may take from accept to a finished handshake
    /// before it is closed (see [`crate::server::ServerCore::expire_handshakes`]).
    pub handshake_deadline_ms: u64,
    /// Bytes the server holds for all its clients together, at most: client
    /// memory asked for by outstanding calls (reserved when the COPYINs are
    /// sent, returned when the call finishes, so a call blocked on a full pipe
    /// keeps its 64 MiB counted), requests being received, and output not yet
    /// written. A call whose memory would not fit fails with ENOMEM; a request
    /// that would not fit closes its connection (ERROR NOMEM) before its body
    /// is buffered; a connection that does not read its output while the
    /// server is over the budget is dropped. Default 192 MiB: with `rumpsp
    /// serve`'s 256 MiB kernel pool the server stays under 512 MiB resident,
    /// and three 64 MiB calls ([`ServerLimits::max_call_memory`]) still fit at once.
    pub max_buffered_total: u64,
    /// Connections that have not finished their handshake, at most (like sshd's
    /// MaxStartups): a new one past it sheds the oldest idle one (no byte received)
    /// first, else the oldest one.
    pub max_startups: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            frame: FrameLimits::default(),
            max_connections: 16 * 1024,
            max_outstanding: 256,
            max_preforks: 1024,
            max_preforks_per_conn: 16,
            prefork_ttl_ms: 60_000,
            max_call_memory: 64 << 20,
            max_pending_output: 128 << 20,
            output_pause: 1 << 20,
            max_answer: 16 << 20,
            handshake_deadline_ms: 5_000,
            max_startups: 1024,
            max_buffered_total: 192 << 20,
        }
    }
}
