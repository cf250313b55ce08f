//! User-defined clusters: a type registered under a name, chosen with
//! `--cluster <name>`. Leases, allocation and scheduling are the same as
//! for the built-in clusters (which are node sources too); the type only
//! says which nodes exist.
//!
//! ```
//! use ducktape::cluster::spec::OperatingSystem;
//! use ducktape::cluster::{ClusterArgs, ClusterError, Node, NodeSource};
//! use ducktape::remote::LocalAccount;
//! use std::path::PathBuf;
//! use std::sync::Arc;
//!
//! /// Two local nodes, one "small" and one "large".
//! #[derive(Debug)]
//! struct Lab {
//!     dir: PathBuf,
//!     keep_processes: bool,
//! }
//!
//! const TYPES: [&str; 2] = ["small", "large"];
//!
//! impl NodeSource for Lab {
//!     fn identity(&self) -> String {
//!         "lab-v1".into()
//!     }
//!     fn size(&self) -> Option<usize> {
//!         Some(TYPES.len())
//!     }
//!     fn props(&self, i: usize) -> Option<(OperatingSystem, Option<&str>)> {
//!         TYPES.get(i).map(|t| (OperatingSystem::Linux, Some(*t)))
//!     }
//!     fn node(&self, i: usize) -> Result<Node, ClusterError> {
//!         let name = format!("{}{}", TYPES[i], i + 1);
//!         let dir = self.dir.join(&name);
//!         let tag = dir.display().to_string();
//!         let account = LocalAccount::new(&name, "127.0.0.1", dir, &tag, self.keep_processes);
//!         let node = Node::new(i, OperatingSystem::Linux, Some(TYPES[i].into()), Arc::new(account));
//!         Ok(node.sharing_host_network())
//!     }
//!     fn has_own_network(&self) -> bool {
//!         false
//!     }
//! }
//!
//! fn lab(args: &ClusterArgs) -> Result<Box<dyn NodeSource>, ClusterError> {
//!     Ok(Box::new(Lab {
//!         dir: args.lease_root().join("lab"),
//!         keep_processes: args.keep_processes(),
//!     }))
//! }
//!
//! ducktape::cluster_type!("lab", lab);
//! ```

use super::spec::OperatingSystem;
use super::{ClusterError, Node};
use crate::cli::Options;
use crate::remote::SshOptions;
use std::fmt;
use std::path::{Path, PathBuf};

/// The nodes of a cluster: what a registered cluster type builds, and what
/// the built-in clusters (localhost, cluster files) are.
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

    /// The name of node `i`'s lease file: two nodes with one key are never
    /// leased at once, by any run sharing the lease directory. By default
    /// the node's position; a source whose nodes can be listed in another
    /// order (or by another source) keys them by address instead.
    fn lease_key(&self, i: usize) -> String {
        format!("node-{i}")
    }

    /// Checked once before the first test runs (for cluster files: every
    /// node's SSH host key), so a problem every test would hit is one
    /// error. By default nothing is checked.
    fn check(&self) -> Result<(), ClusterError> {
        Ok(())
    }
}

/// What a cluster is built from: the run's cluster options, taken from the
/// command line (or its environment variables and config file).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClusterArgs {
    cluster_file: Option<PathBuf>,
    lease_root: PathBuf,
    localhost_nodes: Option<usize>,
    keep_processes: bool,
    ssh: SshOptions,
}

impl ClusterArgs {
    /// The run's cluster options. An `--ssh-checker-function` that names
    /// no registered checker is an error whatever the cluster.
    pub(crate) fn from_options(o: &Options) -> Result<Self, ClusterError> {
        let ssh = o.ssh_options().map_err(ClusterError::Config)?;
        Ok(ClusterArgs {
            cluster_file: o.cluster_file.clone(),
            lease_root: o
                .lease_root
                .clone()
                .unwrap_or_else(super::lease::LeaseDir::default_root),
            localhost_nodes: o.localhost_nodes,
            keep_processes: o.no_teardown,
            ssh,
        })
    }

    /// `--cluster-file`: the JSON cluster file (also the Vagrant cache).
    pub fn cluster_file(&self) -> Option<&Path> {
        self.cluster_file.as_deref()
    }

    /// `--lease-root`, or its default: where node leases live. Runs that
    /// share it never share a node; a source may keep its nodes'
    /// directories under it too.
    pub fn lease_root(&self) -> &Path {
        &self.lease_root
    }

    /// `--localhost-nodes`: the size of the localhost cluster (`None`:
    /// unbounded).
    pub fn localhost_nodes(&self) -> Option<usize> {
        self.localhost_nodes
    }

    /// `--no-teardown`: what a test started is left running on its nodes.
    pub fn keep_processes(&self) -> bool {
        self.keep_processes
    }

    /// How SSH nodes are reached (known_hosts, host key policy, node root,
    /// `--ssh-checker-function`s).
    pub fn ssh_options(&self) -> &SshOptions {
        &self.ssh
    }
}

/// A named cluster type.
#[doc(hidden)]
pub struct ClusterType {
    /// The name `--cluster` takes.
    pub name: &'static str,
    /// Builds the node source from the run's cluster options.
    pub build: fn(&ClusterArgs) -> Result<Box<dyn NodeSource>, ClusterError>,
}

/// Every registered cluster type.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static CLUSTER_TYPES: [ClusterType];

/// Looks up a registered cluster type.
pub(crate) fn find(name: &str) -> Option<&'static ClusterType> {
    CLUSTER_TYPES.iter().find(|t| t.name == name)
}

/// Registers a cluster type: `ducktape::cluster_type!("name", build_fn);`
/// where `build_fn: fn(&ClusterArgs) -> Result<Box<dyn NodeSource>, ClusterError>`
/// (see [`cluster::custom`](crate::cluster::custom) for an example).
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
