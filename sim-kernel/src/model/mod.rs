//! Plain reference models of the file system, for checking the kernel: they
//! give the errno NetBSD gives for each operation and the state it leaves,
//! without any of the kernel's machinery.
//!
//! - [`tree`]: a map from path to directory or file contents, used by the
//!   model-based proptest and the deterministic simulation;
//! - [`nodes`]: names bound to numbered nodes, so that hard links, symlinks,
//!   fifos and open descriptors of renamed or removed files can be checked.

pub mod nodes;
pub mod tree;

pub use tree::{tree_of, Entry, FsModel, ModelPath, Op};
