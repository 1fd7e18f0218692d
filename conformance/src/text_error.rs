//! Why a text trace (`rumpsp-trace/1`) could not be read, and the line it starts with.

/// The first line of every text trace.
pub const MAGIC: &str = "rumpsp-trace/1";

/// Why a text trace could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// The first line is not [`MAGIC`].
    #[error("line 1: a text trace starts with {MAGIC:?}")]
    Magic,
    /// A line could not be parsed.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}
