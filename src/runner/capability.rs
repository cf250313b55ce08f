//! Whether the cluster chosen for this run can give tests what their
//! `requires(...)` marks ask for, known from the options before any test
//! runs (and while listing), so unsupported tests are ignored up front.

use crate::cli::Options;
use crate::cluster::ClusterError;
use crate::mark::Capability;

/// Why the run's cluster lacks `capability`, or `None` when it has it.
pub(super) fn lacks(o: &Options, capability: Capability) -> Result<Option<String>, ClusterError> {
    match capability {
        Capability::NetworkFaults => lacks_own_network(o),
    }
}

/// Built-in clusters are known by name alone; a custom one is asked
/// through its node source (see [`crate::cluster::own_network`]).
fn lacks_own_network(o: &Options) -> Result<Option<String>, ClusterError> {
    let own = crate::cluster::own_network(o)?;
    Ok((!own).then(|| {
        format!(
            "the {} cluster's nodes share this machine's network stack; run it on a \
             cluster of hosts (--cluster json, e.g. from scripts/netns-cluster.sh)",
            o.cluster
        )
    }))
}
