//! # rumpsp-sim-kernel
//!
//! The deterministic simulated NetBSD kernel (issue 3) will live here. Nothing
//! is implemented yet; the crate exists so the workspace has its final shape.
