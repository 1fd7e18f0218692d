//! The subcommands of the `rumpsp` binary.

pub mod bench;
pub mod conformance;
pub mod fuzz;
pub mod ifconfig;
pub mod mutants;
pub mod replay;
pub mod run;
pub mod seeds;
pub mod serve;
pub mod simulate;
pub mod spawned;
pub mod syscalls;
pub mod sysctl_print;
pub mod tools;
