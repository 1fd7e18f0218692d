//! The subcommands of the `rumpsp` binary.

pub mod replay;
pub mod serve;
