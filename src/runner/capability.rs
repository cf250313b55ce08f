//! Whether the cluster chosen for this run can give tests what their
//! `requires(...)` marks ask for, known from the options before any test
//! runs (and while listing), so unsupported tests are ignored up front.

use crate::cli::Options;
use crate::mark::Capability;

/// Why the run's cluster lacks `capability`, or `None` when it has it.
pub(super) fn lacks(o: &Options, capability: Capability) -> Result<Option<String>, String> {
    match capability {
        Capability::NetworkFaults => lacks_own_network(o),
    }
}

/// The same cluster names as `build_cluster`. Built-in clusters are known by
/// name alone (building one may read files or run `vagrant`); a custom one
/// is asked through its node source.
fn lacks_own_network(o: &Options) -> Result<Option<String>, String> {
    let own = match o.cluster.as_str() {
        "localhost" | "ducktape.cluster.localhost.LocalhostCluster" => false,
        "json" | "ducktape.cluster.json.JsonCluster" => true,
        "vagrant" | "ducktape.cluster.vagrant.VagrantCluster" => true,
        other => match crate::cluster::custom::find(other) {
            Some(t) => (t.build)(o).map_err(|e| e.to_string())?.has_own_network(),
            // Unknown: running reports it; listing has nothing to decide.
            None => true,
        },
    };
    Ok((!own).then(|| {
        format!(
            "the {} cluster's nodes share this machine's network stack; run it on a \
             cluster of hosts (--cluster json, e.g. from scripts/netns-cluster.sh)",
            o.cluster
        )
    }))
}
