//! Clusters hand out nodes to tests; specs say what a test needs.
//!
//! A [`Cluster`] is a source of nodes plus a lease directory. Every kind of
//! cluster is a [`NodeSource`]: the built-in localhost and cluster-file
//! ones as much as a registered type's. So allocation is one algorithm: a
//! test gets its nodes by locking their lease files, all or nothing, waits
//! (without spinning) while they are busy, and fails at once if the cluster
//! can never satisfy it.

mod build;
pub mod custom;
mod fence;
pub mod file;
#[cfg(feature = "ssh")]
mod hosts;
pub(crate) mod lease;
mod localhost;
mod node;
mod pool;
pub mod spec;

pub(crate) use build::{from_options, own_network};
pub use custom::{ClusterArgs, NodeSource};
pub use node::Node;
pub use pool::TestCluster;

use lease::{Lease, LeaseDir};
use spec::{ClusterSpec, NodeSpec, OperatingSystem};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::remote::SshOptions;

/// Why a cluster could not be built or could not serve a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The request can never be met by this cluster.
    #[error("InsufficientResources: the test needs {need} but the {cluster} cluster has {have}")]
    InsufficientResources {
        /// What was asked.
        need: ClusterSpec,
        /// The cluster's name.
        cluster: String,
        /// What the cluster has.
        have: String,
    },
    /// The cluster file is bad.
    #[error(transparent)]
    File(#[from] file::ClusterFileError),
    /// `--cluster` names no known cluster.
    #[error("unknown --cluster {0:?}: use localhost (default), json, vagrant, or a type registered with ducktape::cluster_type!")]
    Unknown(String),
    /// Something the cluster needs is missing.
    #[error("{0}")]
    Config(String),
    /// Lease files could not be used.
    #[error("node leases in {dir}")]
    Lease {
        /// The lease directory.
        dir: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl ClusterError {
    /// The `name` cluster's nodes are SSH hosts, which a build without the
    /// `ssh` feature cannot reach: said before its file is read.
    #[cfg(not(feature = "ssh"))]
    pub(crate) fn no_ssh(name: &str) -> Self {
        ClusterError::Config(format!(
            "the {name} cluster's nodes are SSH hosts, and this test binary was built without \
             ducktape-rs's `ssh` feature: enable it (`ducktape-rs = {{ version = \"0.1\", \
             features = [\"ssh\"] }}`) or use the localhost cluster"
        ))
    }
}

/// A cluster: where tests get their nodes. The runner builds it from the
/// options (`--cluster`); tests and benches of this crate build one directly.
#[doc(hidden)]
#[derive(Debug)]
pub struct Cluster {
    name: String,
    source: Box<dyn NodeSource>,
    leases: LeaseDir,
}

impl Cluster {
    /// The embedded localhost cluster: virtual nodes `worker1..` at
    /// 127.0.0.1, 127.0.0.2, … each with its own directory; `limit` nodes at
    /// most (unbounded when `None`). With `keep_processes` (`--no-teardown`)
    /// what a test started is left running.
    pub fn localhost(
        limit: Option<usize>,
        state: &Path,
        keep_processes: bool,
    ) -> Result<Self, ClusterError> {
        let root = state.join("localhost");
        let source = localhost::LocalhostSource::new(limit, root.clone(), keep_processes);
        let cluster = Self::with_source("localhost", Box::new(source), state)?;
        // After the lease root was checked: node directories live here.
        lease::private_dir(&root).map_err(|e| ClusterError::Config(e.to_string()))?;
        Ok(cluster)
    }

    /// A cluster of the nodes a cluster file lists, reached over SSH with
    /// `ssh` (known_hosts, host key policy, node root, checkers).
    #[cfg(feature = "ssh")]
    pub fn from_nodes(
        name: &str,
        nodes: Vec<file::NodeConfig>,
        state: &Path,
        ssh: SshOptions,
    ) -> Result<Self, ClusterError> {
        let source = hosts::HostsSource::new(name, nodes, ssh);
        Self::with_source(name, Box::new(source), state)
    }

    /// A cluster of the nodes a cluster file lists: refused, since this
    /// build cannot reach SSH nodes.
    #[cfg(not(feature = "ssh"))]
    pub fn from_nodes(
        name: &str,
        _nodes: Vec<file::NodeConfig>,
        _state: &Path,
        _ssh: SshOptions,
    ) -> Result<Self, ClusterError> {
        Err(ClusterError::no_ssh(name))
    }

    /// A cluster of a registered type's nodes: its leases are its own,
    /// keyed by the type's name and the source's identity.
    pub fn from_source(
        name: &str,
        source: Box<dyn NodeSource>,
        state: &Path,
    ) -> Result<Self, ClusterError> {
        let id = format!("{name}-{}", source.identity());
        Self::with_lease_id(name, &id, source, state)
    }

    /// A built-in source, whose identity alone names its leases: every
    /// cluster of SSH hosts shares one lease directory, keyed by address.
    fn with_source(
        name: &str,
        source: Box<dyn NodeSource>,
        state: &Path,
    ) -> Result<Self, ClusterError> {
        let id = source.identity();
        Self::with_lease_id(name, &id, source, state)
    }

    fn with_lease_id(
        name: &str,
        id: &str,
        source: Box<dyn NodeSource>,
        state: &Path,
    ) -> Result<Self, ClusterError> {
        // Every error names its directory (and, for one that is not ours,
        // what to do): no prefix needed.
        let leases = LeaseDir::open(state, id).map_err(|e| ClusterError::Config(e.to_string()))?;
        Ok(Cluster {
            name: name.to_string(),
            source,
            leases,
        })
    }

    /// The cluster's name (`localhost`, `json`, …).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of nodes, `None` when unbounded.
    pub fn size(&self) -> Option<usize> {
        self.source.size()
    }

    /// The source's check before the first test (for cluster-file nodes:
    /// every host key against known_hosts, so a missing or changed key is
    /// one error naming the host and the fix, not a failure of every test).
    pub(crate) fn check_host_keys(&self) -> Result<(), ClusterError> {
        self.source.check()
    }

    /// What the cluster has, for a request it can never meet. An
    /// unbounded cluster serves untyped Linux nodes (see `check_feasible`).
    fn describe(&self) -> String {
        match self.size() {
            None => "unbounded linux nodes".into(),
            Some(n) => ClusterSpec::from_nodes((0..n).filter_map(|i| {
                self.props(i).map(|(os, ty)| NodeSpec {
                    operating_system: os,
                    node_type: ty.map(str::to_string),
                })
            }))
            .to_string(),
        }
    }

    /// Properties of node `i`, or `None` past the end.
    fn props(&self, i: usize) -> Option<(OperatingSystem, Option<&str>)> {
        self.source.props(i)
    }

    /// Whether the request can ever be met: typed specs are matched first,
    /// since untyped ones fit any node of their OS.
    fn check_feasible(&self, spec: &ClusterSpec) -> Result<(), ClusterError> {
        let Some(size) = self.size() else {
            return match spec
                .nodes()
                .iter()
                .find(|n| n.operating_system != OperatingSystem::Linux || n.node_type.is_some())
            {
                None => Ok(()),
                Some(_) => Err(self.insufficient(spec)),
            };
        };
        let mut taken = vec![false; size];
        for want in ordered(spec) {
            let found = (0..size)
                .find(|&i| !taken[i] && self.props(i).is_some_and(|(os, ty)| want.matches(os, ty)));
            match found {
                Some(i) => taken[i] = true,
                None => return Err(self.insufficient(spec)),
            }
        }
        Ok(())
    }

    fn insufficient(&self, spec: &ClusterSpec) -> ClusterError {
        ClusterError::InsufficientResources {
            need: spec.clone(),
            cluster: self.name.clone(),
            have: self.describe(),
        }
    }

    /// Leases nodes for `spec`, waiting while they are busy. All or nothing:
    /// on error no node stays leased.
    pub fn alloc(&self, spec: &ClusterSpec) -> Result<Allocation, ClusterError> {
        self.alloc_for(spec, "(no test)")
    }

    /// [`alloc`](Self::alloc) for the test named `test`: its nodes are
    /// fenced, so once the allocation is released nothing the test still
    /// holds can act on them (see [`Allocation::release`]).
    pub(crate) fn alloc_for(
        &self,
        spec: &ClusterSpec,
        test: &str,
    ) -> Result<Allocation, ClusterError> {
        self.check_feasible(spec)?;
        if spec.size() == 0 {
            // Nothing to wait for: never queue behind a large test.
            return Ok(Allocation::default());
        }
        let lease_err = |source| ClusterError::Lease {
            dir: self.leases.path().to_path_buf(),
            source,
        };
        let _admission = self.leases.admission().map_err(lease_err)?;
        let wants = ordered(spec);
        let mut held: Vec<Lease> = Vec::with_capacity(wants.len());
        let mut next_want = 0;
        loop {
            while next_want < wants.len() {
                match self.lease_one(wants[next_want], &held).map_err(lease_err)? {
                    Some(lease) => {
                        held.push(lease);
                        next_want += 1;
                    }
                    None => break,
                }
            }
            if next_want == wants.len() {
                break;
            }
            lease::wait_for_free();
        }
        let raw = held
            .iter()
            .map(|lease| self.node(lease.index()))
            .collect::<Result<Vec<_>, _>>()?;
        prepare(&raw);
        let mut fences = fence::Fences::default();
        let nodes = raw
            .into_iter()
            .map(|node| fences.guard(Arc::unwrap_or_clone(node), test))
            .collect();
        Ok(Allocation {
            nodes,
            leases: held,
            fences,
        })
    }

    fn lease_one(&self, want: &NodeSpec, held: &[Lease]) -> std::io::Result<Option<Lease>> {
        let mut i = 0;
        while let Some((os, ty)) = self.props(i) {
            if want.matches(os, ty) && !held.iter().any(|l| l.index() == i) {
                if let Some(lease) = self.leases.try_lease_key(i, &self.lease_key(i))? {
                    return Ok(Some(lease));
                }
            }
            i += 1;
        }
        Ok(None)
    }

    /// The lease file name of node `i` (an SSH host is leased by address,
    /// whichever cluster file, or position in it, names it).
    fn lease_key(&self, i: usize) -> String {
        self.source.lease_key(i)
    }

    /// Node `i`, just leased, not yet prepared (see [`prepare`]).
    fn node(&self, i: usize) -> Result<Arc<Node>, ClusterError> {
        self.source.node(i).map(Arc::new)
    }
}

/// Most nodes prepared at once: enough for a large test's nodes to connect
/// side by side, bounded so a huge cluster does not start a thread per node.
const PREPARE_WORKERS: usize = 64;

/// Readies just-leased nodes, side by side on the worker pool, before the
/// test sees them: what an earlier holder left is cleared (the lease proves
/// it stale: a SIGKILLed test process, a `--no-teardown` run, a daemon that
/// escaped), i.e. its processes are killed and its network faults healed.
/// The first command also connects an SSH node. Errors are logged per node,
/// not fatal: a node that cannot be reached fails the test on its first
/// command, with that command in the message. Returns once every node is
/// done.
fn prepare(nodes: &[Arc<Node>]) {
    crate::remote::fan_out(nodes, PREPARE_WORKERS, |node| kill_stale(node));
}

/// Kills what an earlier holder of `node` left running and heals the
/// network faults it left (where a fault's mark says there may be some:
/// see `fault::stale_heal_script`), in one remote command (the node starts
/// one shell instead of two). Not fatal: a node that cannot be reached now
/// fails the test on its first command, with that command in the message.
fn kill_stale(node: &Node) {
    let cleared = match crate::fault::stale_heal_script(node) {
        Some(heal) => node.account().kill_stale_then(&heal),
        None => node.account().kill_stale(),
    };
    match cleared {
        Ok(0) => {}
        Ok(killed) => tracing::warn!(
            node = %node,
            killed,
            "killed processes a previous holder of the node left running"
        ),
        Err(e) => tracing::warn!(
            node = %node,
            error = %crate::text::chain(&e),
            "could not clear stale processes"
        ),
    }
}

/// Typed node specs first: they can only use nodes of their type.
fn ordered(spec: &ClusterSpec) -> Vec<&NodeSpec> {
    let mut wants: Vec<&NodeSpec> = spec.nodes().iter().collect();
    wants.sort_by_key(|n| n.node_type.is_none());
    wants
}

/// Nodes leased to one test; dropping it revokes and frees them.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Allocation {
    nodes: Vec<Arc<Node>>,
    leases: Vec<Lease>,
    fences: fence::Fences,
}

impl Allocation {
    /// The leased nodes.
    pub fn nodes(&self) -> &[Arc<Node>] {
        &self.nodes
    }

    /// Forgets the framework's own use of the nodes so far (preparing
    /// them), so [`nodes_touched`](Self::nodes_touched) counts the test's.
    pub(crate) fn reset_usage(&self) {
        self.fences.reset_usage();
    }

    /// How many nodes the test ran anything on, whichever way it reached
    /// them (services, `ctx.cluster().nodes()`, a kept `Node`).
    pub(crate) fn nodes_touched(&self) -> usize {
        self.fences.used()
    }

    /// Takes the nodes back from the test, then frees them. From now on
    /// every operation through the test's node handles is refused. With
    /// `kill` (the test's body was abandoned and may still run), every
    /// process the framework started on the nodes is killed first, and
    /// operations under way are waited for. A node that cannot be fenced is
    /// kept out of the pool until the process ends; the returned lines say
    /// which and why.
    pub(crate) fn release(mut self, kill: bool) -> Vec<String> {
        let bad = self.fences.revoke(kill);
        let leases = std::mem::take(&mut self.leases);
        self.leases = self.fences.quarantine(leases, &bad);
        bad.iter()
            .map(|(i, why)| {
                let node = &self.nodes[*i];
                tracing::error!(node = %node, "could not be fenced ({why}): kept out of the pool");
                format!(
                    "node {node} could not be fenced ({why}): kept out of the pool for the rest \
                     of this process"
                )
            })
            .collect()
    }
}

impl Drop for Allocation {
    fn drop(&mut self) {
        // Revoke before the leases go, whoever drops the allocation.
        if !self.leases.is_empty() {
            self.fences.revoke(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::LocalAccount;

    #[test]
    fn localhost_nodes_get_their_own_address_and_directory() {
        let cluster = Cluster::localhost(None, &LeaseDir::default_root(), false).unwrap();
        let a = cluster.alloc(&ClusterSpec::simple_linux(2)).unwrap();
        let b = cluster.alloc(&ClusterSpec::simple_linux(1)).unwrap();
        let mut all: Vec<&str> = a
            .nodes()
            .iter()
            .chain(b.nodes())
            .map(|n| n.hostname())
            .collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 3, "a node was leased twice: {all:?}");
        assert_ne!(a.nodes()[0].path("x"), a.nodes()[1].path("x"));
    }

    /// The hijack of issue 12: another user pre-creates the lease root with
    /// `localhost/worker1` pointing at a directory of someone else's. The
    /// node is refused with one line, and nothing is written there.
    #[test]
    fn a_planted_node_symlink_is_refused_and_never_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        std::fs::write(victim.join("precious"), b"keep me").unwrap();
        let state = tmp.path().join("state");
        let cluster = Cluster::localhost(Some(2), &state, false).unwrap();
        let worker1 = state.join("localhost/worker1");
        std::os::unix::fs::symlink(&victim, &worker1).unwrap();
        let err = cluster
            .alloc(&ClusterSpec::simple_linux(2))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("refusing to use {}", worker1.display()))
                && err.contains("symbolic link")
                && err.contains("remove it")
                && !err.contains('\n'),
            "{err}"
        );
        // All or nothing: worker2's lease was let go.
        assert!(cluster.leases.try_lease_key(1, "node-1").unwrap().is_some());
        assert_eq!(std::fs::read(victim.join("precious")).unwrap(), b"keep me");
        assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 1);
    }

    /// Where every node of a test meets: each waits until all have
    /// arrived, so one node prepared after another never gets through.
    #[derive(Debug, Default)]
    struct Meeting {
        state: parking_lot::Mutex<(usize, usize, bool)>,
        all_here: parking_lot::Condvar,
    }

    impl Meeting {
        /// Arrives at meeting `round` (0, 1, …) of `n` nodes; whether all
        /// `n` came (false once anyone gave up waiting).
        fn attend(&self, round: usize, n: usize) -> bool {
            let mut s = self.state.lock();
            let want = (round + 1) * n;
            s.0 += 1;
            self.all_here.notify_all();
            let give_up = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while s.0 < want && !s.2 {
                if self.all_here.wait_until(&mut s, give_up).timed_out() {
                    s.2 = true;
                    self.all_here.notify_all();
                }
            }
            s.1 += 1;
            !s.2
        }
    }

    /// A node of the meeting cluster: a local account whose stale-process
    /// kill and fault heal (the only command preparation runs on a node
    /// with its own network) attend the meeting instead of running.
    #[derive(Debug)]
    struct MeetingAccount {
        local: LocalAccount,
        meeting: Arc<Meeting>,
        n: usize,
        met: Arc<parking_lot::Mutex<Vec<(usize, bool)>>>,
    }

    impl MeetingAccount {
        fn attend(&self, round: usize) {
            let all = self.meeting.attend(round, self.n);
            self.met.lock().push((round, all));
        }
    }

    impl crate::remote::RemoteAccount for MeetingAccount {
        fn name(&self) -> &str {
            self.local.name()
        }
        fn hostname(&self) -> &str {
            self.local.hostname()
        }
        fn root(&self) -> &Path {
            self.local.root()
        }
        fn exec(
            &self,
            _cmd: &str,
            _timeout: std::time::Duration,
        ) -> Result<crate::remote::Output, crate::remote::RemoteError> {
            self.attend(1);
            Ok(crate::remote::Output {
                status: 0,
                stdout: String::new(),
                stderr: String::new(),
            })
        }
        fn spawn(&self, cmd: &str, log: &Path) -> Result<u32, crate::remote::RemoteError> {
            self.local.spawn(cmd, log)
        }
        fn capture(&self, cmd: &str) -> Result<crate::remote::Lines, crate::remote::RemoteError> {
            self.local.capture(cmd)
        }
        fn read_from(&self, p: &Path, o: u64) -> Result<Vec<u8>, crate::remote::RemoteError> {
            self.local.read_from(p, o)
        }
        fn create_file(&self, p: &Path, c: &[u8]) -> Result<(), crate::remote::RemoteError> {
            self.local.create_file(p, c)
        }
        fn processes(&self) -> Result<Vec<crate::remote::Process>, crate::remote::RemoteError> {
            self.local.processes()
        }
        fn copy_from(&self, s: &Path, d: &Path) -> Result<(), crate::remote::RemoteError> {
            self.local.copy_from(s, d)
        }
        fn copy_to(&self, s: &Path, d: &Path) -> Result<(), crate::remote::RemoteError> {
            self.local.copy_to(s, d)
        }
        fn kill_stale(&self) -> Result<usize, crate::remote::RemoteError> {
            self.attend(0);
            Ok(0)
        }
    }

    #[derive(Debug)]
    struct MeetingSource {
        n: usize,
        dir: PathBuf,
        meeting: Arc<Meeting>,
        met: Arc<parking_lot::Mutex<Vec<(usize, bool)>>>,
    }

    impl NodeSource for MeetingSource {
        fn identity(&self) -> String {
            self.dir.display().to_string()
        }
        fn size(&self) -> Option<usize> {
            Some(self.n)
        }
        fn props(&self, i: usize) -> Option<(OperatingSystem, Option<&str>)> {
            (i < self.n).then_some((OperatingSystem::Linux, None))
        }
        fn node(&self, i: usize) -> Result<Node, ClusterError> {
            let dir = self.dir.join(format!("n{i}"));
            let local = LocalAccount::new(&format!("n{i}"), "127.0.0.1", dir.clone(), "t", true);
            let account = MeetingAccount {
                local,
                meeting: self.meeting.clone(),
                n: self.n,
                met: self.met.clone(),
            };
            Ok(Node::new(
                i,
                OperatingSystem::Linux,
                None,
                Arc::new(account),
            ))
        }
    }

    /// Leasing many nodes prepares them side by side: every node's
    /// stale-process kill, then every node's fault heal, is under way at
    /// the same time as all the others' (each waits for all), and all of
    /// it is done when `alloc` returns, without counting as the test's use.
    #[test]
    fn a_many_node_allocation_prepares_its_nodes_side_by_side() {
        let n = 12;
        let tmp = tempfile::tempdir().unwrap();
        let met = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let source = MeetingSource {
            n,
            dir: tmp.path().join("nodes"),
            meeting: Arc::default(),
            met: met.clone(),
        };
        let cluster = Cluster::from_source("meeting", Box::new(source), tmp.path()).unwrap();
        let a = cluster.alloc(&ClusterSpec::simple_linux(n)).unwrap();
        let met = met.lock().clone();
        assert_eq!(met.len(), 2 * n, "not every node was prepared: {met:?}");
        assert!(met.iter().all(|&(_, all)| all), "a node met alone: {met:?}");
        let kills_first = met.iter().take(n).all(|&(round, _)| round == 0);
        assert!(kills_first, "a heal ran before every kill: {met:?}");
        assert_eq!(a.nodes_touched(), 0, "preparing counted as the test's use");
    }

    #[test]
    fn impossible_requests_fail_at_once_naming_need_and_size() {
        let cluster = Cluster::localhost(Some(2), &LeaseDir::default_root(), false).unwrap();
        let err = cluster
            .alloc(&ClusterSpec::simple_linux(3))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("needs 3 linux") && err.contains("has 2 linux"),
            "{err}"
        );
        let err = cluster
            .alloc(&ClusterSpec::typed_linux(1, Some("large")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("InsufficientResources"), "{err}");
    }
}
