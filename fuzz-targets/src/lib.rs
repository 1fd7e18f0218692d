//! # rumpsp-fuzz-targets
//!
//! What each fuzz target does and checks, as plain functions over the fuzz
//! input. `fuzz/` (cargo-fuzz, nightly) calls them from `fuzz_target!`, and
//! `tests/corpus.rs` replays every stored input through them on stable, so a
//! regression is caught without nightly. Every invariant is asserted here:
//! a broken one panics, which is what the fuzzer reports.

pub mod banner_url;
pub mod client_session;
pub mod kernel_syscalls;
pub mod server_session;
pub mod wire_decode;

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by name (the names of `fuzz/fuzz_targets/*.rs` and of the corpus directories).
pub const TARGETS: &[(&str, Target)] = &[
    ("wire_decode", wire_decode::run),
    ("banner_url", banner_url::run),
    ("server_session", server_session::run),
    ("client_session", client_session::run),
    ("kernel_syscalls", kernel_syscalls::run),
];

/// A booted simulated kernel as the fuzz targets use it: every component
/// (file systems, sockets of every domain, fifofs), with a 4 MiB file-data
/// pool so that one input cannot make the kernel allocate hundreds of MiB (a
/// write far into a file is dense in the simulated kernel).
/// Booted once per process and cloned per input.
pub fn booted() -> rumpsp_sim_kernel::SimKernel {
    static KERNEL: std::sync::OnceLock<rumpsp_sim_kernel::SimKernel> = std::sync::OnceLock::new();
    KERNEL
        .get_or_init(|| {
            rumpsp_sim_kernel::SimKernel::new(rumpsp_sim_kernel::SimConfig {
                memory_pool: 4 << 20,
                components: rumpsp_sim_kernel::Components::ALL,
                ..Default::default()
            })
        })
        .clone()
}
