//! Tests that exist to be run by the framework's own integration tests
//! (`tests/integration/harness.rs`): ones that fail, flake, hang, panic or record when
//! they held which nodes. Not examples: `tests/systest` is.

mod basic;
mod isolation;
mod killloop;
mod parity;
mod perf;
mod progress;
mod sched;
mod services;
mod stale;
mod svcapi;

ducktape::main!();
