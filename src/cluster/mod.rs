//! Clusters hand out nodes; specs say what a test needs.

pub mod json;
pub mod spec;
pub mod vagrant;
