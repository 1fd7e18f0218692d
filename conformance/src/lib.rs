//! # rumpsp-conformance
//!
//! Reading recorded rump_sp traffic and checking servers against it.
//!
//! * [`capture`]: the raw JSON-lines captures of the tap proxy, reassembled per
//!   connection and direction and cut into banner and frames.
//! * [`render`]: one-line readable descriptions of frames.
//! * [`show`]: a frame-by-frame view of a whole capture, in recording order.
//! * [`script`]: a capture turned into a replay script (requests with their
//!   recorded answers and the client memory they reveal).
//! * [`replay`]: plays a script against a server and compares under named
//!   normalisation rules.
//! * [`wire`]: how the replayer reaches a server.
//! * [`mutate`]: a wire that injects one named server bug, for the mutation suite.

pub mod capture;
pub mod catalog;
pub mod dir;
pub mod embedded;
pub mod load;
pub mod mutate;
pub mod raw;
pub mod record;
pub mod render;
pub mod replay;
pub mod script;
pub mod seeds;
pub mod show;
pub mod socket;
pub mod split;
pub mod text;
pub mod text_error;
pub mod watch;
pub mod wire;

pub use capture::{frame_stream, Capture, CaptureError, Dir, FramedStream, Record};
