//! Fences: a test acts on its nodes only while it holds them.
//!
//! Every node handed to a test carries a [`FencedAccount`]: the node's real
//! account behind a switch the runner turns off before the node goes back
//! to the pool. A body abandoned at `--test-runner-timeout` keeps running on
//! its thread (threads cannot be killed), but from then on each of its
//! remote operations fails with [`RemoteError::Revoked`], every process it
//! started on the node is killed, and operations already under way are
//! waited for. Only then is the lease released; a node that cannot be
//! fenced (unreachable, or an operation that will not end) is kept out of
//! the pool for the rest of the process instead of being handed on.

use crate::cluster::lease::Lease;
use crate::cluster::Node;
use crate::remote::{Lines, Output, Process, RemoteAccount, RemoteError};
use parking_lot::Mutex;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long revoking waits for operations already under way to end once
/// the node's processes are killed.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// The switch shared by one node's [`FencedAccount`] clones.
#[derive(Debug)]
pub(crate) struct Fence {
    test: String,
    revoked: AtomicBool,
    in_flight: AtomicUsize,
    /// Whether the test ran anything on the node (for `nodes_used`).
    used: AtomicBool,
}

/// A node's account as one test sees it: refused once the test is over.
#[derive(Debug)]
pub(crate) struct FencedAccount {
    inner: Arc<dyn RemoteAccount>,
    fence: Arc<Fence>,
}

/// Counts an operation under way; it ends when the guard drops.
struct InFlight<'a>(&'a Fence);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FencedAccount {
    /// Wraps `inner` for the test named `test`.
    pub(crate) fn new(inner: Arc<dyn RemoteAccount>, test: &str) -> Self {
        FencedAccount {
            inner,
            fence: Arc::new(Fence {
                test: test.to_string(),
                revoked: AtomicBool::new(false),
                in_flight: AtomicUsize::new(0),
                used: AtomicBool::new(false),
            }),
        }
    }

    /// Admits one operation, or refuses it once the fence is revoked.
    /// Counting before checking closes the race with [`revoke`]: an
    /// operation either sees the flag or is waited for.
    fn enter(&self) -> Result<InFlight<'_>, RemoteError> {
        let f = &*self.fence;
        f.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(f);
        if f.revoked.load(Ordering::SeqCst) {
            return Err(RemoteError::Revoked {
                node: self.inner.name().to_string(),
                test: f.test.clone(),
            });
        }
        f.used.store(true, Ordering::SeqCst);
        Ok(guard)
    }
}

/// The fences of one test's nodes.
#[derive(Debug, Default)]
pub(crate) struct Fences {
    nodes: Vec<Fenced>,
    revoked: bool,
}

/// One node as the test sees it, its account unwrapped, and its fence.
#[derive(Debug)]
struct Fenced {
    node: Arc<Node>,
    inner: Arc<dyn RemoteAccount>,
    fence: Arc<Fence>,
}

/// Nodes that could not be fenced: their leases are held until the process
/// ends, so no later test of this process gets them.
static QUARANTINE: Mutex<Vec<Lease>> = Mutex::new(Vec::new());

impl Fences {
    /// Puts `node` behind a fence for `test`; returns the node the test sees.
    pub(crate) fn guard(&mut self, node: Node, test: &str) -> Arc<Node> {
        let inner = node.account().clone();
        let fenced = FencedAccount::new(inner.clone(), test);
        let fence = fenced.fence.clone();
        let node = Arc::new(node.with_account(Arc::new(fenced)));
        self.nodes.push(Fenced {
            node: node.clone(),
            inner,
            fence,
        });
        node
    }

    /// Forgets what the framework itself did on the nodes so far (leasing
    /// clears stale faults), so only the test's own use counts.
    pub(crate) fn reset_usage(&self) {
        for n in &self.nodes {
            n.fence.used.store(false, Ordering::SeqCst);
        }
    }

    /// How many nodes the test ran anything on.
    pub(crate) fn used(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.fence.used.load(Ordering::SeqCst))
            .count()
    }

    /// Revokes the test's right to its nodes. With `kill` (the body may
    /// still run) or when an operation is still under way, every process the
    /// framework started on each node is killed and the operations are
    /// waited for. Returns, per node that could not be fenced, why.
    /// Revoking twice does nothing the second time.
    pub(crate) fn revoke(&mut self, kill: bool) -> Vec<(usize, String)> {
        if std::mem::replace(&mut self.revoked, true) {
            return Vec::new();
        }
        for n in &self.nodes {
            n.fence.revoked.store(true, Ordering::SeqCst);
        }
        let busy = |f: &Fence| f.in_flight.load(Ordering::SeqCst) > 0;
        let work: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| kill || busy(&self.nodes[i].fence))
            .collect();
        let problems = crate::remote::fan_out(&work, 16, |&i| {
            let n = &self.nodes[i];
            fence_one(&n.node, n.inner.as_ref(), &n.fence)
                .err()
                .map(|e| (i, e))
        });
        problems.into_iter().flatten().collect()
    }

    /// Moves the lease of each node in `bad` into the quarantine, where it
    /// is held until the process ends; returns the other leases.
    pub(crate) fn quarantine(&self, leases: Vec<Lease>, bad: &[(usize, String)]) -> Vec<Lease> {
        let bad: Vec<usize> = bad
            .iter()
            .map(|&(i, _)| self.nodes[i].node.index())
            .collect();
        let (held, free): (Vec<Lease>, Vec<Lease>) =
            leases.into_iter().partition(|l| bad.contains(&l.index()));
        QUARANTINE.lock().extend(held);
        free
    }
}

/// Kills what the test left on one node and waits for its operations.
fn fence_one(node: &Node, inner: &dyn RemoteAccount, fence: &Fence) -> Result<(), String> {
    let killed = inner.kill_stale().map_err(|e| {
        format!(
            "its processes could not be killed: {}",
            crate::text::chain(&e)
        )
    })?;
    if killed > 0 {
        tracing::warn!(node = %node, killed, "killed processes of the revoked test");
    }
    let deadline = Instant::now() + DRAIN_LIMIT;
    while fence.in_flight.load(Ordering::SeqCst) > 0 {
        if Instant::now() >= deadline {
            return Err(format!(
                "an operation of the revoked test was still under way after {DRAIN_LIMIT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

impl RemoteAccount for FencedAccount {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn hostname(&self) -> &str {
        self.inner.hostname()
    }

    fn externally_routable_ip(&self) -> &str {
        self.inner.externally_routable_ip()
    }

    fn root(&self) -> &Path {
        self.inner.root()
    }

    fn exec(&self, cmd: &str, timeout: Duration) -> Result<Output, RemoteError> {
        let _op = self.enter()?;
        self.inner.exec(cmd, timeout)
    }

    fn spawn(&self, cmd: &str, log: &Path) -> Result<u32, RemoteError> {
        let _op = self.enter()?;
        self.inner.spawn(cmd, log)
    }

    fn capture(&self, cmd: &str) -> Result<Lines, RemoteError> {
        let _op = self.enter()?;
        self.inner.capture(cmd)
    }

    fn read_from(&self, path: &Path, offset: u64) -> Result<Vec<u8>, RemoteError> {
        let _op = self.enter()?;
        self.inner.read_from(path, offset)
    }

    fn create_file(&self, path: &Path, contents: &[u8]) -> Result<(), RemoteError> {
        let _op = self.enter()?;
        self.inner.create_file(path, contents)
    }

    fn processes(&self) -> Result<Vec<Process>, RemoteError> {
        let _op = self.enter()?;
        self.inner.processes()
    }

    fn copy_from(&self, src: &Path, dest: &Path) -> Result<(), RemoteError> {
        let _op = self.enter()?;
        self.inner.copy_from(src, dest)
    }

    fn copy_to(&self, src: &Path, dest: &Path) -> Result<(), RemoteError> {
        let _op = self.enter()?;
        self.inner.copy_to(src, dest)
    }

    fn remove(&self, path: &Path, allow_fail: bool) -> Result<(), RemoteError> {
        let _op = self.enter()?;
        self.inner.remove(path, allow_fail)
    }

    fn kill_stale(&self) -> Result<usize, RemoteError> {
        let _op = self.enter()?;
        self.inner.kill_stale()
    }

    fn available(&self) -> bool {
        let Ok(_op) = self.enter() else {
            return false;
        };
        self.inner.available()
    }
}
