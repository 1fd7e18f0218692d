//! The mutation suite: a [`Wire`](crate::wire::Wire) wrapper ([`MutWire`])
//! that sits between the judge (replayer or catalogue) and a correct server
//! and injects one named server bug ([`Mutation`]) at a time, or one of the
//! harmless changes a correct judge must accept (the controls).
//!
//! The verdicts come from the normal replay and catalogue code: the wrapper
//! only changes the bytes the server sends. It counts how often it changed
//! something ([`MutWire::injected`]), so a run where the bug never showed
//! (no stat call in a trace, say) is "not applicable" rather than "survived".

mod kinds;
mod wire;

pub use kinds::{Mutation, MUTATIONS};
pub use wire::{MutWire, MutationCounter};
