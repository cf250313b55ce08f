//! A cluster file's hosts as a node source: the nodes a JSON cluster file
//! or `vagrant ssh-config` lists, reached over SSH.

use super::file::NodeConfig;
use super::spec::OperatingSystem;
use super::{ClusterError, Node, NodeSource};
use crate::remote::{RemoteError, SshAccounts, SshOptions};

/// Hosts listed in a cluster file, each with its SSH account.
#[derive(Debug)]
pub(crate) struct HostsSource {
    /// The cluster's name, for messages.
    name: String,
    nodes: Vec<NodeConfig>,
    /// Made once per node and reused, so a node keeps its connections.
    ssh: SshAccounts,
}

/// Most host keys checked at once: a few hundred nodes must not mean as
/// many threads.
const CHECK_WORKERS: usize = 64;

impl HostsSource {
    /// `nodes` of the cluster `name`, connected to with `ssh`.
    pub(crate) fn new(name: &str, nodes: Vec<NodeConfig>, ssh: SshOptions) -> Self {
        HostsSource {
            name: name.to_string(),
            nodes,
            ssh: SshAccounts::new(ssh),
        }
    }
}

impl NodeSource for HostsSource {
    /// One lease directory for all SSH hosts: a host is leased by its
    /// address (see [`lease_key`](Self::lease_key)), whichever cluster file
    /// names it.
    fn identity(&self) -> String {
        "hosts".into()
    }

    fn size(&self) -> Option<usize> {
        Some(self.nodes.len())
    }

    fn props(&self, i: usize) -> Option<(OperatingSystem, Option<&str>)> {
        self.nodes
            .get(i)
            .map(|n| (n.operating_system, n.node_type.as_deref()))
    }

    fn node(&self, i: usize) -> Result<Node, ClusterError> {
        let config = self.nodes.get(i).ok_or_else(|| {
            ClusterError::Config(format!("the {} cluster has no node {i}", self.name))
        })?;
        Ok(Node::new(
            i,
            config.operating_system,
            config.node_type.clone(),
            self.ssh.account(i, config),
        ))
    }

    /// By address, not position: two cluster files naming one host (or one
    /// file, reordered) never lease it twice.
    fn lease_key(&self, i: usize) -> String {
        match self.nodes.get(i) {
            Some(n) => format!("host-{}_{}", n.hostname.to_ascii_lowercase(), n.port),
            None => format!("node-{i}"),
        }
    }

    /// Checks every node's host key against known_hosts, all nodes at once,
    /// before the first test: a missing or changed key is one error naming
    /// the host and the fix, not a failure of every test. A node that
    /// cannot be reached passes here: the tests that use it say why they
    /// cannot.
    fn check(&self) -> Result<(), ClusterError> {
        let indexed: Vec<(usize, &NodeConfig)> = self.nodes.iter().enumerate().collect();
        let checked = crate::remote::fan_out(&indexed, CHECK_WORKERS, |&(i, config)| {
            self.ssh.account(i, config).check_host_key().err()
        });
        let mut bad = checked
            .into_iter()
            .flatten()
            .filter(|e| matches!(e, RemoteError::HostKey { .. }));
        let Some(first) = bad.next() else {
            return Ok(());
        };
        let others: Vec<String> = bad
            .filter_map(|e| match e {
                RemoteError::HostKey { node, addr, .. } => Some(format!("{node} ({addr})")),
                _ => None,
            })
            .collect();
        Err(ClusterError::Config(if others.is_empty() {
            first.to_string()
        } else {
            format!("{first} (the same for {})", others.join(", "))
        }))
    }
}
