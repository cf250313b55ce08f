//! `--cluster` and its options to a [`Cluster`]: the one place that knows
//! the built-in cluster names (ours and ducktape's class names).

use super::custom::{self, ClusterArgs, ClusterType};
use super::{file, Cluster, ClusterError};
use crate::cli::Options;
use crate::remote::HostKeyPolicy;

/// What a `--cluster` name stands for.
enum Kind {
    Localhost,
    Json,
    Vagrant,
    Custom(&'static ClusterType),
}

/// The kind `name` names; `None` for an unknown name.
fn kind(name: &str) -> Option<Kind> {
    match name {
        "localhost" | "ducktape.cluster.localhost.LocalhostCluster" => Some(Kind::Localhost),
        "json" | "ducktape.cluster.json.JsonCluster" => Some(Kind::Json),
        "vagrant" | "ducktape.cluster.vagrant.VagrantCluster" => Some(Kind::Vagrant),
        other => custom::find(other).map(Kind::Custom),
    }
}

/// Builds the cluster `--cluster` names, with the run's options.
pub(crate) fn from_options(o: &Options) -> Result<Cluster, ClusterError> {
    // Before the name: a bad option is bad input whatever the cluster.
    let args = ClusterArgs::from_options(o)?;
    let state = args.lease_root();
    match kind(&o.cluster) {
        Some(Kind::Localhost) => {
            Cluster::localhost(args.localhost_nodes(), state, args.keep_processes())
        }
        Some(Kind::Json) => {
            ssh_feature("json")?;
            let path = args.cluster_file().ok_or_else(|| {
                ClusterError::Config("--cluster json needs --cluster-file PATH".into())
            })?;
            let nodes = file::load_json_cluster(path)?;
            Cluster::from_nodes("json", nodes, state, args.ssh_options().clone())
        }
        Some(Kind::Vagrant) => {
            ssh_feature("vagrant")?;
            let nodes = file::load_vagrant_cluster(args.cluster_file())?;
            // `vagrant ssh-config` says `StrictHostKeyChecking no` and
            // `UserKnownHostsFile /dev/null`: VMs get new host keys each boot.
            let ssh = args
                .ssh_options()
                .clone()
                .with_host_keys(HostKeyPolicy::Off);
            Cluster::from_nodes("vagrant", nodes, state, ssh)
        }
        Some(Kind::Custom(t)) => Cluster::from_source(t.name, (t.build)(&args)?, state),
        None => Err(ClusterError::Unknown(o.cluster.clone())),
    }
}

/// Refuses a cluster of SSH hosts in a build without the `ssh` feature,
/// before its file is read or `vagrant` is run: the nodes could not be
/// used, whatever the file says.
fn ssh_feature(name: &str) -> Result<(), ClusterError> {
    #[cfg(not(feature = "ssh"))]
    return Err(ClusterError::no_ssh(name));
    #[cfg(feature = "ssh")]
    {
        let _ = name;
        Ok(())
    }
}

/// Whether the nodes of the cluster `--cluster` names have their own
/// network stack, known before any test runs (and while listing). Built-in
/// clusters are known by name alone (building one may read files or run
/// `vagrant`); a registered type is asked through its node source. An
/// unknown name answers `true`: running reports it, listing has nothing to
/// decide.
pub(crate) fn own_network(o: &Options) -> Result<bool, ClusterError> {
    Ok(match kind(&o.cluster) {
        Some(Kind::Localhost) => false,
        Some(Kind::Json | Kind::Vagrant) | None => true,
        Some(Kind::Custom(t)) => (t.build)(&ClusterArgs::from_options(o)?)?.has_own_network(),
    })
}

#[cfg(all(test, not(feature = "ssh")))]
mod tests {
    use super::*;

    /// Without the `ssh` feature a cluster of SSH hosts is refused first,
    /// not after its file is checked (here: missing) or `vagrant` is run.
    #[test]
    fn a_cluster_of_ssh_hosts_is_refused_before_its_file_is_read() {
        for (cluster, file) in [
            ("json", "/no/such/cluster.json"),
            ("vagrant", "/no/such/dir"),
        ] {
            let argv = ["t", "--cluster", cluster, "--cluster-file", file];
            let argv: Vec<std::ffi::OsString> = argv.iter().map(Into::into).collect();
            let parsed =
                crate::cli::parse_from(&argv, &[], std::path::Path::new("/nonexistent"), None)
                    .expect("the flags parse");
            let err = from_options(&parsed.options).unwrap_err().to_string();
            let want = format!("the {cluster} cluster's nodes are SSH hosts, and this test binary was built without ducktape-rs's `ssh` feature");
            assert!(err.starts_with(&want), "{err}");
        }
    }
}
