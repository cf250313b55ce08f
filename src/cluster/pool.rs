//! A test's own nodes, from which its services take theirs.

use super::spec::ClusterSpec;
use super::{Allocation, ClusterError, Node};
use parking_lot::Mutex;
use std::sync::Arc;

/// The nodes leased to one running test (ducktape's finite subcluster).
/// Services allocate from it and give nodes back when freed; the leases are
/// released when the test's allocation is dropped.
#[derive(Debug)]
pub struct TestCluster {
    nodes: Vec<Arc<Node>>,
    state: Mutex<PoolState>,
    skip_allocation: bool,
    ignore_node_type: bool,
}

#[derive(Debug, Default)]
struct PoolState {
    in_use: Vec<bool>,
    max_used: usize,
}

impl TestCluster {
    /// Wraps a test's allocation. With `skip_allocation`
    /// (`--skip-nodes-allocation`) services get no nodes; with
    /// `ignore_node_type` (`--ignore-node-type`) their specs' types are dropped.
    pub(crate) fn new(
        allocation: &Allocation,
        skip_allocation: bool,
        ignore_node_type: bool,
    ) -> Self {
        let nodes = allocation.nodes().to_vec();
        TestCluster {
            state: Mutex::new(PoolState {
                in_use: vec![false; nodes.len()],
                max_used: 0,
            }),
            nodes,
            skip_allocation,
            ignore_node_type,
        }
    }

    /// Every node of the test.
    pub fn nodes(&self) -> &[Arc<Node>] {
        &self.nodes
    }

    /// Number of nodes the test has.
    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    /// Nodes not held by a service.
    pub fn available(&self) -> usize {
        self.state.lock().in_use.iter().filter(|u| !**u).count()
    }

    /// Most nodes held by services at once: the test's `nodes_used`.
    pub fn max_used(&self) -> usize {
        self.state.lock().max_used
    }

    /// Takes nodes for a service; all or nothing.
    pub fn alloc(&self, spec: &ClusterSpec) -> Result<Vec<Arc<Node>>, ClusterError> {
        if self.skip_allocation {
            return Ok(Vec::new());
        }
        let untyped;
        let spec = if self.ignore_node_type {
            untyped = spec.without_node_types();
            &untyped
        } else {
            spec
        };
        let mut state = self.state.lock();
        let mut picked: Vec<usize> = Vec::with_capacity(spec.size());
        for want in super::ordered(spec) {
            let found = (0..self.nodes.len()).find(|&i| {
                let n = &self.nodes[i];
                !state.in_use[i]
                    && !picked.contains(&i)
                    && want.matches(n.operating_system(), n.node_type())
            });
            match found {
                Some(i) => picked.push(i),
                None => {
                    let free = self.nodes.len() - state.in_use.iter().filter(|u| **u).count();
                    return Err(ClusterError::InsufficientResources {
                        need: spec.clone(),
                        cluster: "test's".into(),
                        have: format!(
                            "{free} free of {} (declare more with cluster(num_nodes = N))",
                            self.nodes.len()
                        ),
                    });
                }
            }
        }
        for &i in &picked {
            state.in_use[i] = true;
        }
        let used = state.in_use.iter().filter(|u| **u).count();
        state.max_used = state.max_used.max(used);
        Ok(picked.into_iter().map(|i| self.nodes[i].clone()).collect())
    }

    /// Gives a service's nodes back.
    pub fn free(&self, nodes: &[Arc<Node>]) {
        let mut state = self.state.lock();
        for n in nodes {
            if let Some(i) = self.nodes.iter().position(|m| Arc::ptr_eq(m, n)) {
                state.in_use[i] = false;
            }
        }
    }
}
