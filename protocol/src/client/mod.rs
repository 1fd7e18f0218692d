//! The sans-IO client session: what librumpclient does, without sockets.
//!
//! A call exposes exactly its own buffers, at addresses the session assigns
//! from a private range, so that several calls can be in flight on one
//! connection without their memory overlapping. Server requests are served
//! strictly in stream order: COPYIN/COPYINSTR are answered from the buffer
//! that contains the address, COPYOUT writes into it, ANONMMAP gets a fresh
//! zeroed mapping, RAISE is recorded. Answers complete calls by reqno.
//!
//! A server request for memory that no call exposes cannot be refused within
//! the protocol (spec §9 item 7). We answer it with zeros of the requested
//! length (a COPYINSTR with a single NUL): that is safe with every server,
//! including the C one that would read past a short answer, and it never
//! crashes the client. Such requests are counted in [`ClientSession::stray`].
//! One larger than [`MAX_STRAY`] bytes is a protocol violation: the session
//! reports it and the connection is closed, rather than allocating it.

mod session;

pub use session::{Arg, CallId, CallOutcome, ClientSession, SessionError, MAX_STRAY};
