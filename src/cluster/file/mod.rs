//! Cluster files: the nodes of a cluster of hosts, as ducktape describes them.
//!
//! Two sources, one result (a list of [`NodeConfig`]):
//! - `json.rs`: ducktape's JSON cluster file (`--cluster-file`), read and written;
//! - `vagrant.rs`: the output of `vagrant ssh-config`, cached as a JSON cluster file.
//!
//! `checks.rs` holds what both must pass (unique names and addresses, readable key files,
//! valid ports) and `error.rs` the one error type, whose messages name the file, the node and
//! the field, and say what to do. A test author needs [`NodeConfig`] (to build an
//! `SshAccount`, with the `ssh` feature, in a [`NodeSource`](super::NodeSource)) and
//! [`load_json_cluster`]; the rest is the runner's.

mod checks;
mod error;
mod json;
mod vagrant;

pub use error::{ClusterFileError, FieldProblem, NodeRef, Origin};
pub use json::load_json_cluster;
pub(crate) use vagrant::load_vagrant_cluster;
#[doc(hidden)]
pub use vagrant::parse_ssh_config;

use super::spec::OperatingSystem;
use std::path::PathBuf;

/// The SSH port used when a node does not name one.
pub const DEFAULT_SSH_PORT: u16 = 22;

/// One node of a file-defined cluster (JSON or Vagrant), as ducktape describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// `ssh_config.host`: the node's name in reports and logs.
    pub name: String,
    /// `ssh_config.hostname`: the address to connect to.
    pub hostname: String,
    /// `ssh_config.port`; [`DEFAULT_SSH_PORT`] when absent or `null`.
    pub port: u16,
    /// `ssh_config.user`; `None` lets ssh pick (the current user).
    pub user: Option<String>,
    /// `ssh_config.identityfile`, resolved: a relative path is taken relative to the cluster
    /// file's directory and a leading `~/` is expanded to `$HOME`. `None` uses ssh-agent.
    pub identity_file: Option<PathBuf>,
    /// `ssh_config.password`, kept for compatibility with ducktape files.
    pub password: Option<String>,
    /// The address other nodes use to reach this one. For Vagrant nodes ducktape asks each
    /// machine over ssh; this crate cannot here, so Vagrant nodes leave it `None`.
    pub externally_routable_ip: Option<String>,
    /// From `os` (alias `operating_system`). When neither is given, ducktape's own rule
    /// applies: a host name containing `windows` is a Windows node, anything else Linux.
    pub operating_system: OperatingSystem,
    /// Optional free-form `node_type` label, matched against [`super::spec::NodeSpec`].
    pub node_type: Option<String>,
}

impl NodeConfig {
    /// A node with the given name and address and every other field at its default.
    pub fn new(name: impl Into<String>, hostname: impl Into<String>) -> Self {
        let name = name.into();
        NodeConfig {
            operating_system: inferred_os(&name),
            name,
            hostname: hostname.into(),
            port: DEFAULT_SSH_PORT,
            user: None,
            identity_file: None,
            password: None,
            externally_routable_ip: None,
            node_type: None,
        }
    }
}

/// ducktape's rule for nodes that do not state their OS: `"windows" in ssh_config.host`.
pub(crate) fn inferred_os(host: &str) -> OperatingSystem {
    if host.contains("windows") {
        OperatingSystem::Windows
    } else {
        OperatingSystem::Linux
    }
}

/// Expands a leading `~` or `~/` to `$HOME`, as ssh does; other paths are returned as given.
pub(crate) fn expand_home(raw: &str) -> PathBuf {
    let rest = match raw.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.trim_start_matches('/'),
        _ => return PathBuf::from(raw),
    };
    match std::env::var_os("HOME") {
        Some(home) if rest.is_empty() => PathBuf::from(home),
        Some(home) => PathBuf::from(home).join(rest),
        None => PathBuf::from(raw),
    }
}
