//! The subcommands of the `rumpsp` binary.

pub mod bench;
pub mod replay;
pub mod seeds;
pub mod serve;
pub mod tools;
