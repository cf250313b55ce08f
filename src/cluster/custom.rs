//! User-defined clusters: a type registered under a name, chosen with
//! `--cluster <name>`. Leases, allocation and scheduling are the same as
//! for the built-in clusters; the type only says which nodes exist.
//!
//! ```ignore
//! #[derive(Debug)]
//! struct Lab(Vec<Node>);
//! impl ducktape::cluster::custom::NodeSource for Lab { /* size, props, node, identity */ }
//! fn lab(_: &ducktape::cli::Options) -> Result<Box<dyn NodeSource>, ClusterError> { … }
//! ducktape::cluster_type!("lab", lab);
//! ```

use super::spec::OperatingSystem;
use super::{ClusterError, Node};
use crate::cli::Options;
use std::fmt;

/// The nodes of a user-defined cluster.
pub trait NodeSource: Send + Sync + fmt::Debug {
    /// A stable identity: runs that share it share node leases.
    fn identity(&self) -> String;

    /// Number of nodes; `None` when nodes are made on demand.
    fn size(&self) -> Option<usize>;

    /// Operating system and type of node `i`; `None` past the end.
    fn props(&self, i: usize) -> Option<(OperatingSystem, Option<&str>)>;

    /// Node `i` with its remote account.
    fn node(&self, i: usize) -> Result<Node, ClusterError>;

    /// Whether every node has its own network stack (a host, a VM, a
    /// network namespace). A source of nodes sharing this machine's network
    /// returns `false`: tests marked `requires(network_faults)` are then
    /// ignored before anything starts.
    fn has_own_network(&self) -> bool {
        true
    }
}

/// A named cluster type.
pub struct ClusterType {
    /// The name `--cluster` takes.
    pub name: &'static str,
    /// Builds the node source from the run's options.
    pub build: fn(&Options) -> Result<Box<dyn NodeSource>, ClusterError>,
}

/// Every registered cluster type.
#[linkme::distributed_slice]
pub static CLUSTER_TYPES: [ClusterType];

/// Looks up a registered cluster type.
pub fn find(name: &str) -> Option<&'static ClusterType> {
    CLUSTER_TYPES.iter().find(|t| t.name == name)
}

/// Registers a cluster type: `ducktape::cluster_type!("name", build_fn);`
/// where `build_fn: fn(&Options) -> Result<Box<dyn NodeSource>, ClusterError>`.
#[macro_export]
macro_rules! cluster_type {
    ($name:expr, $build:path) => {
        const _: () = {
            #[$crate::__private::linkme::distributed_slice($crate::cluster::custom::CLUSTER_TYPES)]
            #[linkme(crate = $crate::__private::linkme)]
            static CLUSTER_TYPE: $crate::cluster::custom::ClusterType =
                $crate::cluster::custom::ClusterType {
                    name: $name,
                    build: $build,
                };
        };
    };
}
