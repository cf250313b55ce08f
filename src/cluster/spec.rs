//! What a test or service asks of a cluster: how many nodes, of which kind.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The operating system a node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperatingSystem {
    /// Linux (the default, as in ducktape).
    Linux,
    /// Windows.
    Windows,
}

impl OperatingSystem {
    /// Lower-case name, as in cluster files.
    pub fn as_str(self) -> &'static str {
        match self {
            OperatingSystem::Linux => "linux",
            OperatingSystem::Windows => "windows",
        }
    }

    /// Parses `linux` or `windows` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "linux" => Some(OperatingSystem::Linux),
            "windows" => Some(OperatingSystem::Windows),
            _ => None,
        }
    }
}

/// One node a test or service needs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeSpec {
    /// Required operating system.
    pub operating_system: OperatingSystem,
    /// Optional free-form label (size, architecture); `None` matches any node.
    pub node_type: Option<String>,
}

impl NodeSpec {
    /// A Linux node of any type.
    pub fn linux() -> Self {
        NodeSpec {
            operating_system: OperatingSystem::Linux,
            node_type: None,
        }
    }

    /// Whether a node with these properties satisfies this spec: same OS, and
    /// same type when the spec names one.
    pub fn matches(&self, os: OperatingSystem, node_type: Option<&str>) -> bool {
        self.operating_system == os
            && self
                .node_type
                .as_deref()
                .is_none_or(|want| Some(want) == node_type)
    }
}

/// A multiset of [`NodeSpec`]s: what a test or service needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterSpec {
    nodes: Vec<NodeSpec>,
}

impl ClusterSpec {
    /// No nodes.
    pub fn empty() -> Self {
        ClusterSpec::default()
    }

    /// `n` Linux nodes of any type.
    pub fn simple_linux(n: usize) -> Self {
        Self::typed_linux(n, None)
    }

    /// `n` Linux nodes, of `node_type` when given.
    pub fn typed_linux(n: usize, node_type: Option<&str>) -> Self {
        let spec = NodeSpec {
            operating_system: OperatingSystem::Linux,
            node_type: node_type.map(str::to_string),
        };
        ClusterSpec {
            nodes: vec![spec; n],
        }
    }

    /// From a list of node specs.
    pub fn from_nodes(nodes: impl IntoIterator<Item = NodeSpec>) -> Self {
        ClusterSpec {
            nodes: nodes.into_iter().collect(),
        }
    }

    /// This spec plus another's nodes.
    pub fn union(mut self, other: &ClusterSpec) -> Self {
        self.nodes.extend(other.nodes.iter().cloned());
        self
    }

    /// Adds one node.
    pub fn add(&mut self, node: NodeSpec) {
        self.nodes.push(node);
    }

    /// Number of nodes.
    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    /// The node specs.
    pub fn nodes(&self) -> &[NodeSpec] {
        &self.nodes
    }

    /// The same spec with every `node_type` dropped (`--ignore-node-type`).
    pub fn without_node_types(&self) -> Self {
        ClusterSpec {
            nodes: self
                .nodes
                .iter()
                .map(|n| NodeSpec {
                    operating_system: n.operating_system,
                    node_type: None,
                })
                .collect(),
        }
    }
}

impl fmt::Display for ClusterSpec {
    /// `3 linux, 1 windows`; typed nodes read `2 linux(large)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nodes.is_empty() {
            return f.write_str("0 nodes");
        }
        let mut counts: BTreeMap<(OperatingSystem, Option<&str>), usize> = BTreeMap::new();
        for n in &self.nodes {
            *counts
                .entry((n.operating_system, n.node_type.as_deref()))
                .or_default() += 1;
        }
        let parts: Vec<String> = counts
            .into_iter()
            .map(|((os, ty), n)| match ty {
                Some(ty) => format!("{n} {}({ty})", os.as_str()),
                None => format!("{n} {}", os.as_str()),
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_counts_by_os_and_type() {
        let spec = ClusterSpec::simple_linux(3)
            .union(&ClusterSpec::from_nodes([NodeSpec {
                operating_system: OperatingSystem::Windows,
                node_type: None,
            }]))
            .union(&ClusterSpec::typed_linux(2, Some("large")));
        assert_eq!(spec.to_string(), "3 linux, 2 linux(large), 1 windows");
        assert_eq!(spec.size(), 6);
        assert_eq!(spec.without_node_types().to_string(), "5 linux, 1 windows");
        assert_eq!(ClusterSpec::empty().to_string(), "0 nodes");
    }

    #[test]
    fn typed_spec_matches_only_its_type() {
        let large = ClusterSpec::typed_linux(1, Some("large")).nodes()[0].clone();
        assert!(large.matches(OperatingSystem::Linux, Some("large")));
        assert!(!large.matches(OperatingSystem::Linux, Some("small")));
        assert!(!large.matches(OperatingSystem::Linux, None));
        assert!(NodeSpec::linux().matches(OperatingSystem::Linux, Some("small")));
        assert!(!NodeSpec::linux().matches(OperatingSystem::Windows, None));
    }
}
