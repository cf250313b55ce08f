//! The embedded localhost cluster as a node source: virtual nodes made on
//! demand on this machine, each with its own address and directory.

use super::lease;
use super::spec::OperatingSystem;
use super::{ClusterError, Node, NodeSource};
use crate::remote::LocalAccount;
use std::path::PathBuf;
use std::sync::Arc;

/// Virtual local nodes `worker1..` at 127.0.0.1, 127.0.0.2, …; `limit`
/// bounds their number.
#[derive(Debug)]
pub(crate) struct LocalhostSource {
    limit: Option<usize>,
    /// Where the nodes' directories live.
    root: PathBuf,
    /// `--no-teardown`: leave what a test started running.
    keep_processes: bool,
}

impl LocalhostSource {
    /// Nodes under `root` (the caller makes it private once the lease root
    /// was checked), at most `limit` of them.
    pub(crate) fn new(limit: Option<usize>, root: PathBuf, keep_processes: bool) -> Self {
        LocalhostSource {
            limit,
            root,
            keep_processes,
        }
    }
}

impl NodeSource for LocalhostSource {
    /// One lease directory for every localhost cluster of a lease root.
    fn identity(&self) -> String {
        "localhost".into()
    }

    fn size(&self) -> Option<usize> {
        self.limit
    }

    fn props(&self, i: usize) -> Option<(OperatingSystem, Option<&str>)> {
        self.limit
            .is_none_or(|n| i < n)
            .then_some((OperatingSystem::Linux, None))
    }

    fn node(&self, i: usize) -> Result<Node, ClusterError> {
        let name = format!("worker{}", i + 1);
        let n = i + 1;
        let hostname = format!("127.0.{}.{}", n / 256, n % 256);
        // The node's directory is unique per lease root and node, so it
        // doubles as the tag that scopes the node's processes.
        let dir = self.root.join(&name);
        lease::private_dir(&dir).map_err(|e| ClusterError::Config(e.to_string()))?;
        let tag = dir.display().to_string();
        let account = LocalAccount::new(&name, &hostname, dir, &tag, self.keep_processes);
        Ok(Node::new(i, OperatingSystem::Linux, None, Arc::new(account)).sharing_host_network())
    }

    fn has_own_network(&self) -> bool {
        false
    }
}
