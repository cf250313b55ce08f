//! Tests that exist to be run by the framework's own integration tests
//! (`tests/harness.rs`): ones that fail, flake, hang, panic or record when
//! they held which nodes. Not examples: `tests/systest` is.

mod basic;
mod parity;
mod sched;
mod services;

ducktape::main!();
