//! # rumpsp-conformance
//!
//! Reading recorded rump_sp traffic and checking servers against it.
//!
//! * [`capture`]: the raw JSON-lines captures of the tap proxy, reassembled per
//!   connection and direction and cut into banner and frames.
//! * [`render`]: one-line readable descriptions of frames.
//! * [`show`]: a frame-by-frame view of a whole capture, in recording order.

pub mod capture;
pub mod render;
pub mod show;

pub use capture::{frame_stream, Capture, CaptureError, Dir, FramedStream, Record};
