//! The network stack: the internet domains ([`inet`]).

pub mod inet;
