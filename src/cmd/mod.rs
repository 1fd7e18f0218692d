//! The subcommands of the `rumpsp` binary.

pub mod bench;
pub mod replay;
pub mod serve;
pub mod tools;
