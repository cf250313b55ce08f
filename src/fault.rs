//! Faults injected on purpose — partitions, one-way drops, slow or lossy
//! links, killed and paused processes — logged, recorded in the test's
//! report, and always healed at teardown, even when the test fails or
//! panics.
//!
//! Network faults use the kernel on the nodes themselves: an nftables table
//! `inet ducktape` that drops packets by source address, and a `tc netem`
//! qdisc on the node's interface. They need nodes with their own network
//! stack (hosts, VMs, the namespace cluster of `scripts/netns-cluster.sh`);
//! the localhost cluster's nodes share this machine's network, so network
//! faults on them are refused.

use crate::cluster::Node;
use crate::remote::quote_str;
use crate::service::{Service, ServiceHandle};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A fault could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    /// The test is over: its nodes may belong to another test now.
    #[error("the test is over (it timed out or was interrupted): no new faults")]
    Closed,
    /// The node shares the test machine's network stack.
    #[error(
        "network faults need nodes with their own network stack, and {node} is a localhost \
         node sharing this machine's network: run on the namespace cluster \
         (scripts/netns-cluster.sh up N, then --cluster json --cluster-file <its cluster.json>) \
         or on real hosts"
    )]
    Unsupported {
        /// The node.
        node: String,
    },
    /// A command on a node failed.
    #[error("{node}: {what}: {reason}")]
    Node {
        /// The node.
        node: String,
        /// The fault.
        what: String,
        /// Why.
        reason: String,
    },
}

/// Link trouble for `tc netem`: each field is optional. Built from its
/// constructors and `with_*` methods, so fields can be added:
/// `Netem::loss(5.0).with_rate_kbit(8000)`.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Netem {
    /// Added one-way delay.
    pub delay: Option<Duration>,
    /// Random variation of the delay.
    pub jitter: Option<Duration>,
    /// Percentage of packets lost (0–100).
    pub loss_percent: Option<f64>,
    /// Bandwidth limit, kbit/s.
    pub rate_kbit: Option<u64>,
}

impl Netem {
    /// Just a delay.
    pub fn delay(delay: Duration) -> Self {
        Netem::default().with_delay(delay)
    }

    /// Just a loss of `percent` % of packets.
    pub fn loss(percent: f64) -> Self {
        Netem::default().with_loss(percent)
    }

    /// Just a bandwidth limit.
    pub fn rate_kbit(kbit_per_sec: u64) -> Self {
        Netem::default().with_rate_kbit(kbit_per_sec)
    }

    /// Adds a one-way delay.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Adds a random variation of the delay.
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = Some(jitter);
        self
    }

    /// Adds a loss of `percent` % of packets.
    pub fn with_loss(mut self, percent: f64) -> Self {
        self.loss_percent = Some(percent);
        self
    }

    /// Adds a bandwidth limit.
    pub fn with_rate_kbit(mut self, kbit_per_sec: u64) -> Self {
        self.rate_kbit = Some(kbit_per_sec);
        self
    }

    fn args(&self) -> String {
        let mut a = Vec::new();
        if let Some(d) = self.delay {
            a.push(format!("delay {}us", d.as_micros()));
            if let Some(j) = self.jitter {
                a.push(format!("{}us", j.as_micros()));
            }
        }
        if let Some(l) = self.loss_percent {
            a.push(format!("loss {l}%"));
        }
        if let Some(r) = self.rate_kbit {
            a.push(format!("rate {r}kbit"));
        }
        a.join(" ")
    }
}

/// Which part of a group of nodes a process fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// One node.
    One,
    /// Fewer than half.
    Minority,
    /// More than half.
    Majority,
    /// Every node.
    All,
}

type Undo = Box<dyn Fn() -> crate::Result<()> + Send + Sync>;

/// The handle of every qdisc ducktape adds, so healing removes only ours.
const QDISC_HANDLE: &str = "d7:";

/// Most nodes healed at once.
const HEAL_WORKERS: usize = 16;

/// Removes ducktape's nftables table and qdiscs from a node, then the
/// node's fault mark (see [`mark`]) unless a qdisc could not be removed.
/// `tc qdisc show` lists every device's qdiscs at once (`qdisc KIND
/// HANDLE dev DEV root …`): one process, whatever the number of devices.
/// The table is listed before it is deleted: deleting a table that is not
/// there makes the kernel abort the transaction, which waits for an RCU
/// grace period (~16 ms), while listing it does not.
fn heal_script(node: &Node) -> String {
    format!(
        "__dt_ok=1; \
         if nft list table inet ducktape >/dev/null 2>&1; then \
         nft delete table inet ducktape || __dt_ok=0; fi; \
         for __dt_q in $(tc qdisc show 2>/dev/null | while read -r _ _ h _ d r _; do \
         if [ \"$h\" = {QDISC_HANDLE} ] && [ \"$r\" = root ]; then echo \"$d\"; fi; done); do \
         tc qdisc del dev \"$__dt_q\" root || __dt_ok=0; done; \
         if [ \"$__dt_ok\" = 1 ]; then rm -f {}; fi; true",
        mark(node)
    )
}

/// The file, in the node's root directory, that says ducktape may have left
/// network faults on the node: made by the same command as each fault,
/// before the fault, and removed only by a heal that removed everything.
/// So a node leased without it has no fault of ducktape's to heal, and
/// preparing it skips `nft` and `tc` (two programs per node, most of the
/// node's share of a warm lease). Named by the node's address, for roots on
/// a file system that several nodes share.
fn mark(node: &Node) -> String {
    let host: String = node
        .hostname()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(".ducktape-faults-{host}")
}

/// `cmd`, a fault on `node`, after the node's fault mark is made (see
/// [`mark`]).
fn marked(node: &Node, cmd: &str) -> String {
    format!(": >{} && {cmd}", mark(node))
}

/// The script that clears a leased node's stale network faults, if it has
/// a network of its own: run when the node is leased (with the stale
/// process kill, in one command), since a test process killed before its
/// teardown could not heal.
/// Only a node with the fault mark is healed (see [`mark`]).
pub(crate) fn stale_heal_script(node: &Node) -> Option<String> {
    node.has_own_network()
        .then(|| format!("if [ -e {} ]; then {}; fi", mark(node), heal_script(node)))
}

/// A test's faults: what was done, and how to undo it (`ctx.faults()`).
///
/// ```no_run
/// use ducktape::prelude::*;
///
/// fn split_brain(ctx: &TestContext) -> ducktape::Result<()> {
///     let nodes = ctx.cluster().nodes();
///     let (minority, majority) = nodes.split_at(1);
///     ctx.faults().partition(&[minority.to_vec(), majority.to_vec()])?; // both ways, until healed
///     ctx.faults().netem(&nodes[1], &Netem::loss(5.0).with_rate_kbit(8000))?;
///     ctx.faults().heal()?; // early; teardown heals whatever is left anyway
///     Ok(())
/// }
/// ```
#[derive(Default)]
pub struct Faults {
    log: Mutex<Vec<Value>>,
    net_nodes: Mutex<Vec<Node>>,
    paused: Mutex<Vec<(String, Undo)>>,
    closed: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Faults({} recorded)", self.log.lock().len())
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn names<N: AsRef<Node>>(nodes: &[N]) -> Vec<String> {
    nodes
        .iter()
        .map(|n| n.as_ref().name().to_string())
        .collect()
}

/// Whether two handles name the same node of the test's cluster.
fn same(a: &Node, b: &Node) -> bool {
    a.index() == b.index() && a.name() == b.name()
}

impl Faults {
    fn record(&self, kind: &str, targets: Vec<String>, detail: Value) {
        // Healing and resuming end faults; everything else is one.
        match kind {
            "heal" => tracing::warn!(targets = ?targets, %detail, "faults healed"),
            "resume" => tracing::warn!(targets = ?targets, %detail, "paused processes resumed"),
            _ => tracing::warn!(fault = kind, targets = ?targets, %detail, "fault injected"),
        }
        self.log.lock().push(json!({
            "time": unix_now(),
            "kind": kind,
            "targets": targets,
            "detail": detail,
        }));
    }

    /// Records a fault the test injected by its own means (a proxy, a
    /// service's own API) so the report shows it with the others.
    pub fn note(&self, kind: &str, targets: &[&Node], detail: Value) {
        self.record(
            kind,
            targets.iter().map(|n| n.name().to_string()).collect(),
            detail,
        );
    }

    /// Every fault so far, in order (the report's `faults` section).
    pub fn records(&self) -> Vec<Value> {
        self.log.lock().clone()
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn check_open(&self) -> Result<(), FaultError> {
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(FaultError::Closed);
        }
        Ok(())
    }

    fn check_network(nodes: &[&Node]) -> Result<(), FaultError> {
        match nodes.iter().find(|n| !n.has_own_network()) {
            Some(n) => Err(FaultError::Unsupported {
                node: n.name().to_string(),
            }),
            None => Ok(()),
        }
    }

    fn run(node: &Node, what: &str, cmd: &str) -> Result<String, FaultError> {
        node.account()
            .ssh_output(cmd)
            .map_err(|e| FaultError::Node {
                node: node.name().to_string(),
                what: what.to_string(),
                reason: crate::text::chain(&e),
            })
    }

    fn remember(&self, node: &Node) {
        let mut nodes = self.net_nodes.lock();
        if !nodes.iter().any(|n| same(n, node)) {
            nodes.push(node.clone());
        }
    }

    /// Makes `node` drop every packet whose source is one of `sources`.
    fn drop_from(&self, node: &Node, sources: &[&Node]) -> Result<(), FaultError> {
        if sources.is_empty() {
            return Ok(());
        }
        let addrs: Vec<String> = sources.iter().map(|s| quote_str(s.hostname())).collect();
        let cmd = format!(
            "nft add table inet ducktape && \
             nft 'add chain inet ducktape input {{ type filter hook input priority -10; policy accept; }}' && \
             nft add rule inet ducktape input ip saddr '{{' {} '}}' drop",
            addrs.join(", ")
        );
        self.remember(node);
        Self::run(node, "drop packets", &marked(node, &cmd)).map(drop)
    }

    /// A complete partition: no node of one group hears any node of
    /// another (every node drops what the other groups send). Groups may
    /// hold `Node`s or `Arc<Node>`s (as `svc.nodes()` gives them).
    pub fn partition<N: AsRef<Node>>(&self, groups: &[Vec<N>]) -> Result<(), FaultError> {
        let groups: Vec<Vec<&Node>> = groups
            .iter()
            .map(|g| g.iter().map(AsRef::as_ref).collect())
            .collect();
        self.cut(&groups)?;
        let targets = groups
            .iter()
            .map(|g| format!("[{}]", names(g).join(" ")))
            .collect();
        self.record("partition", targets, Value::Null);
        Ok(())
    }

    /// Drops every packet between nodes of different groups.
    fn cut(&self, groups: &[Vec<&Node>]) -> Result<(), FaultError> {
        self.check_open()?;
        let all: Vec<&Node> = groups.iter().flatten().copied().collect();
        Self::check_network(&all)?;
        for (g, group) in groups.iter().enumerate() {
            let others: Vec<&Node> = groups
                .iter()
                .enumerate()
                .filter(|(h, _)| *h != g)
                .flat_map(|(_, nodes)| nodes.iter().copied())
                .collect();
            for node in group {
                self.drop_from(node, &others)?;
            }
        }
        Ok(())
    }

    /// Cuts `node` off from `others` (both directions); recorded as
    /// `isolate`. `others` may include `node` itself (`svc.nodes()`).
    pub fn isolate<N: AsRef<Node>>(&self, node: &Node, others: &[N]) -> Result<(), FaultError> {
        let rest: Vec<&Node> = others
            .iter()
            .map(AsRef::as_ref)
            .filter(|n| !same(n, node))
            .collect();
        self.cut(&[vec![node], rest.clone()])?;
        self.record(
            "isolate",
            vec![node.name().to_string()],
            json!({"from": names(&rest)}),
        );
        Ok(())
    }

    /// One-way loss: `to` drops what `from` sends; `from` still hears `to`.
    pub fn drop_one_way(&self, from: &Node, to: &Node) -> Result<(), FaultError> {
        self.check_open()?;
        Self::check_network(&[from, to])?;
        self.drop_from(to, &[from])?;
        self.record(
            "drop",
            vec![from.name().to_string(), to.name().to_string()],
            json!({"direction": format!("{} -> {}", from.name(), to.name())}),
        );
        Ok(())
    }

    /// Delay, jitter, loss or a bandwidth limit on everything `node` sends.
    ///
    /// Delay and jitter need the kernel's `netem` qdisc. Without delay, loss
    /// is an nftables random drop and a bandwidth limit a `tbf` qdisc, so
    /// both work on kernels built without `netem` too.
    pub fn netem(&self, node: &Node, netem: &Netem) -> Result<(), FaultError> {
        self.check_open()?;
        Self::check_network(&[node])?;
        let dev = Self::device(node)?;
        let q = quote_str(&dev);
        if netem.delay.is_some() || netem.jitter.is_some() {
            let cmd = format!(
                "tc qdisc replace dev {q} root handle {QDISC_HANDLE} netem {}",
                netem.args()
            );
            Self::run(node, "tc netem", &marked(node, &cmd)).map_err(no_netem)?;
        } else {
            if let Some(rate) = netem.rate_kbit {
                let cmd = format!(
                    "tc qdisc replace dev {q} root handle {QDISC_HANDLE} tbf rate {rate}kbit burst 32kbit latency 400ms"
                );
                Self::run(node, "tc tbf", &marked(node, &cmd))?;
            }
            if let Some(loss) = netem.loss_percent {
                let per_mille = (loss.clamp(0.0, 100.0) * 10.0).round() as u32;
                let cmd = format!(
                    "nft add table inet ducktape && \
                     nft 'add chain inet ducktape output {{ type filter hook output priority -10; policy accept; }}' && \
                     nft add rule inet ducktape output numgen random mod 1000 '<' {per_mille} drop"
                );
                self.remember(node);
                Self::run(node, "nft random drop", &marked(node, &cmd))?;
            }
        }
        self.remember(node);
        self.record(
            "netem",
            vec![node.name().to_string()],
            json!({"device": dev, "netem": netem.args()}),
        );
        Ok(())
    }

    /// The interface that holds the node's address.
    fn device(node: &Node) -> Result<String, FaultError> {
        let out = Self::run(node, "find network device", "ip -o -4 addr show")?;
        let want = format!("{}/", node.hostname());
        out.lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() > 3 && f[3].starts_with(&want)).then(|| f[1].to_string())
            })
            .ok_or_else(|| FaultError::Node {
                node: node.name().to_string(),
                what: "find network device".into(),
                reason: format!("no interface has address {}", node.hostname()),
            })
    }

    /// Kills a service's processes on `node` (SIGTERM when `clean`, else SIGKILL).
    pub fn kill<S: Service>(
        &self,
        svc: &ServiceHandle<S>,
        node: &Node,
        clean: bool,
    ) -> crate::Result<()> {
        let signal = if clean { "TERM" } else { "KILL" };
        self.check_open()?;
        require_processes(svc, node, "kill")?;
        svc.signal_node(node, signal)?;
        self.record(
            "kill",
            vec![node.name().to_string()],
            json!({"service": svc.service_id(), "signal": signal}),
        );
        Ok(())
    }

    /// Pauses a service's processes on `node` (SIGSTOP); resumed at heal.
    pub fn pause<S: Service>(&self, svc: &ServiceHandle<S>, node: &Node) -> crate::Result<()> {
        self.check_open()?;
        require_processes(svc, node, "pause")?;
        svc.pause_node(node)?;
        let (svc2, node2) = (svc.clone(), node.clone());
        let key = format!("{}/{}", svc.service_id(), node.name());
        self.paused
            .lock()
            .push((key, Box::new(move || svc2.resume_node(&node2))));
        self.record(
            "pause",
            vec![node.name().to_string()],
            json!({"service": svc.service_id()}),
        );
        Ok(())
    }

    /// Resumes what [`pause`](Self::pause) stopped on `node`.
    pub fn resume<S: Service>(&self, svc: &ServiceHandle<S>, node: &Node) -> crate::Result<()> {
        svc.resume_node(node)?;
        let key = format!("{}/{}", svc.service_id(), node.name());
        self.paused.lock().retain(|(k, _)| *k != key);
        self.record(
            "resume",
            vec![node.name().to_string()],
            json!({"service": svc.service_id()}),
        );
        Ok(())
    }

    /// Whether a network fault or a paused process is left to undo.
    pub(crate) fn anything_to_heal(&self) -> bool {
        !self.net_nodes.lock().is_empty() || !self.paused.lock().is_empty()
    }

    /// Undoes every network fault and resumes every paused process. Runs at
    /// teardown whatever happened; a test may also call it to heal early.
    /// Every node is tried; the first error is returned.
    pub fn heal(&self) -> crate::Result<()> {
        let nodes: Vec<Node> = std::mem::take(&mut *self.net_nodes.lock());
        let paused: Vec<(String, Undo)> = std::mem::take(&mut *self.paused.lock());
        if nodes.is_empty() && paused.is_empty() {
            return Ok(());
        }
        // Side by side: a test that cut many nodes off heals them all in
        // about the time of one.
        let healed = crate::remote::fan_out(&nodes, HEAL_WORKERS, |node| {
            node.account()
                .ssh(&heal_script(node), false)
                .map(drop)
                .map_err(anyhow::Error::from)
        });
        let resumed = crate::remote::fan_out(&paused, HEAL_WORKERS, |(_, undo)| undo());
        self.record("heal", names(&nodes), json!({"resumed": paused.len()}));
        healed.into_iter().chain(resumed).collect()
    }
}

/// A process fault that finds nothing to signal is an error, not a no-op
/// that would let the test pass without the fault.
fn require_processes<S: Service>(
    svc: &ServiceHandle<S>,
    node: &Node,
    what: &str,
) -> crate::Result<()> {
    if svc.pids(node)?.is_empty() {
        anyhow::bail!(
            "{}: no processes on {node} to {what} (does the service's pids() find them?)",
            svc.service_id()
        );
    }
    Ok(())
}

/// A clearer message when the kernel lacks the netem qdisc.
fn no_netem(e: FaultError) -> FaultError {
    match e {
        FaultError::Node { node, what, reason } if reason.contains("qdisc kind is unknown") => {
            FaultError::Node {
                node,
                what,
                reason: "this kernel has no netem qdisc (sch_netem), so delay and jitter \
                         cannot be injected here; loss (nftables) and bandwidth limits (tbf) \
                         still work"
                    .into(),
            }
        }
        other => other,
    }
}

/// Picks nodes for a fault, reproducibly for a given seed.
pub fn pick(nodes: &[Arc<Node>], which: Pick, seed: u64) -> Vec<Arc<Node>> {
    let n = nodes.len();
    let count = match which {
        Pick::One => n.min(1),
        Pick::Minority => n.saturating_sub(1) / 2,
        Pick::Majority => n / 2 + 1,
        Pick::All => n,
    }
    .min(n);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut idx: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut idx);
    idx.truncate(count);
    idx.sort_unstable();
    idx.into_iter().map(|i| nodes[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netem_arguments() {
        let n = Netem {
            delay: Some(Duration::from_millis(50)),
            jitter: Some(Duration::from_millis(5)),
            loss_percent: Some(1.5),
            rate_kbit: Some(800),
        };
        assert_eq!(n.args(), "delay 50000us 5000us loss 1.5% rate 800kbit");
    }
}
