//! A node: one host of the cluster and the account that drives it.

use super::spec::OperatingSystem;
use crate::remote::{LogMonitor, RemoteAccount, RemoteError};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One node of a cluster.
#[derive(Clone)]
pub struct Node {
    index: usize,
    os: OperatingSystem,
    node_type: Option<String>,
    account: Arc<dyn RemoteAccount>,
    own_network: bool,
}

impl Node {
    /// A node with its position in the cluster, properties and account.
    pub fn new(
        index: usize,
        os: OperatingSystem,
        node_type: Option<String>,
        account: Arc<dyn RemoteAccount>,
    ) -> Self {
        Node {
            index,
            os,
            node_type,
            account,
            own_network: true,
        }
    }

    /// Marks a node that shares this machine's network stack (a localhost
    /// virtual node): network faults cannot target it.
    pub fn sharing_host_network(mut self) -> Self {
        self.own_network = false;
        self
    }

    /// The same node driven through another account (the runner's fence).
    pub(crate) fn with_account(mut self, account: Arc<dyn RemoteAccount>) -> Self {
        self.account = account;
        self
    }

    /// Whether the node has its own network stack (a host, a VM, a network
    /// namespace), so packets to and from it can be dropped or delayed.
    pub fn has_own_network(&self) -> bool {
        self.own_network
    }

    /// Position in the cluster (the lease key).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The node's name (`worker1`, or `host` from the cluster file).
    pub fn name(&self) -> &str {
        self.account.name()
    }

    /// Address other nodes and clients use for this node.
    pub fn hostname(&self) -> &str {
        self.account.hostname()
    }

    /// Operating system.
    pub fn operating_system(&self) -> OperatingSystem {
        self.os
    }

    /// Node type label, if any.
    pub fn node_type(&self) -> Option<&str> {
        self.node_type.as_deref()
    }

    /// The account that runs commands on this node.
    pub fn account(&self) -> &Arc<dyn RemoteAccount> {
        &self.account
    }

    /// A path under the node's service directory: where a service keeps its
    /// configs, data and logs on this node.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.account.root().join(rel)
    }

    /// Starts watching a log file on this node.
    pub fn monitor_log(&self, path: impl AsRef<Path>) -> Result<LogMonitor, RemoteError> {
        LogMonitor::start(self.account.clone(), path.as_ref())
    }
}

/// So functions taking any list of nodes (`&[Node]`, `&[Arc<Node>]`,
/// `&[&Node]`) can ask for `AsRef<Node>`.
impl AsRef<Node> for Node {
    fn as_ref(&self) -> &Node {
        self
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.hostname())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
