//! Tests that exist to be run by the framework's own integration tests
//! (`tests/harness.rs`): ones that fail, flake, hang, panic or record when
//! they held which nodes. Not examples: `tests/systest` is.

mod basic;
mod isolation;
mod killloop;
mod parity;
mod sched;
mod services;
mod stale;

ducktape::main!();
