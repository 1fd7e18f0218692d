//! ERROR: a protocol-level failure answer (spec §5.9). Type 0, empty body, the code in `u`.

use crate::codes::ErrorCode;

/// An ERROR frame; its reqno is the one of the request it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorFrame {
    /// The protocol error code.
    pub code: ErrorCode,
}
