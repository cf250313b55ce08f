//! Services: the processes a test runs on its nodes, and their lifecycle.
//!
//! A user implements [`Service`] (start, stop and clean one node); the
//! framework's [`ServiceHandle`] runs each step on all the service's nodes at
//! once, and the test's registry guarantees that after the test every service
//! is stopped, its logs collected, its nodes cleaned and freed.

use crate::cluster::spec::ClusterSpec;
use crate::cluster::{Node, TestCluster};
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long `restart_node` waits for the old processes to exit.
const RESTART_WAIT: Duration = Duration::from_secs(60);

/// One log a service writes on each node.
#[derive(Clone, Debug)]
pub struct LogSpec {
    /// Short name (`zk_log`).
    pub name: &'static str,
    /// Path on the node (relative paths are under the node's directory).
    pub path: PathBuf,
    /// Collected after every test; the others only after a failure.
    pub collect_default: bool,
}

/// What a user implements to bring a system up on nodes.
pub trait Service: Send + Sync + 'static {
    /// The nodes this service needs.
    fn cluster_spec(&self) -> ClusterSpec;

    /// Short type name used in the service id (`zookeeper`).
    fn name(&self) -> &str;

    /// Starts the service on one node; should return once it is usable.
    fn start_node(&self, svc: &ServiceNodes, node: &Node) -> crate::Result<()>;

    /// Stops the service on one node.
    fn stop_node(&self, svc: &ServiceNodes, node: &Node) -> crate::Result<()>;

    /// Removes what the service left on the node (data, logs, configs).
    fn clean_node(&self, svc: &ServiceNodes, node: &Node) -> crate::Result<()>;

    /// For services that do a fixed amount of work: waits until the node is
    /// done. `Ok(false)` means it did not finish in `timeout`.
    fn wait_node(
        &self,
        _svc: &ServiceNodes,
        _node: &Node,
        _timeout: Duration,
    ) -> crate::Result<bool> {
        Ok(true)
    }

    /// The service's process ids on a node.
    fn pids(&self, _svc: &ServiceNodes, _node: &Node) -> crate::Result<Vec<u32>> {
        Ok(Vec::new())
    }

    /// The logs to collect from each node.
    fn logs(&self) -> Vec<LogSpec> {
        Vec::new()
    }

    /// Whether the service runs on a JVM: with `--enable-jvm-logs` its GC and
    /// error logs (written where [`ServiceNodes::jvm_options`] says) are
    /// collected too.
    fn jvm(&self) -> bool {
        false
    }
}

/// Where JVM logs go on a node, under the node's directory.
pub const JVM_LOG_DIR: &str = "jvm-logs";

/// `<node dir>/<service id>/jvm-logs`: collected as `jvm-logs/`.
fn jvm_dir(node: &Node, service_id: &str) -> PathBuf {
    node.path(service_id).join(JVM_LOG_DIR)
}

/// A service's nodes and identity, as its `*_node` methods see them.
#[derive(Debug)]
pub struct ServiceNodes {
    id: String,
    nodes: Vec<Arc<Node>>,
    workers: Mutex<Vec<JoinHandle<crate::Result<()>>>>,
    jvm_logs: bool,
}

impl ServiceNodes {
    /// Readable id, unique in the test: `zookeeper-1`.
    pub fn service_id(&self) -> &str {
        &self.id
    }

    /// The service's nodes.
    pub fn nodes(&self) -> &[Arc<Node>] {
        &self.nodes
    }

    /// 1-based index of a node in this service (ducktape's `idx`).
    pub fn idx(&self, node: &Node) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.index() == node.index() && n.name() == node.name())
            .map(|i| i + 1)
    }

    /// The node with 1-based index `idx`.
    pub fn get_node(&self, idx: usize) -> Option<&Arc<Node>> {
        idx.checked_sub(1).and_then(|i| self.nodes.get(i))
    }

    /// JVM options for a Java service's command line: with
    /// `--enable-jvm-logs`, GC logging and error/heap-dump files in the
    /// node's `jvm-logs/` directory (collected after the test); otherwise
    /// empty.
    pub fn jvm_options(&self, node: &Node) -> crate::Result<String> {
        if !self.jvm_logs {
            return Ok(String::new());
        }
        let dir = jvm_dir(node, &self.id);
        // The JVM refuses to start if its log directory is missing.
        node.account().mkdirs(&dir)?;
        let q = |p: std::path::PathBuf| crate::remote::quote(&p);
        Ok(format!(
            "-Xlog:gc*:file={}:time,uptime,level,tags:filecount=2,filesize=20M \
             -XX:ErrorFile={} -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath={}",
            q(dir.join("gc.log")),
            q(dir.join("hs_err_pid%p.log")),
            q(dir.clone()),
        ))
    }

    /// Runs long-lived work (e.g. reading a process's output) on a thread;
    /// [`ServiceHandle::wait`] joins it and an error in it fails the test.
    pub fn background(&self, work: impl FnOnce() -> crate::Result<()> + Send + 'static) {
        let span = tracing::Span::current();
        let handle = std::thread::spawn(move || span.in_scope(work));
        self.workers.lock().push(handle);
    }

    fn join_workers(&self) -> crate::Result<()> {
        let workers: Vec<_> = std::mem::take(&mut *self.workers.lock());
        let mut first_err = None;
        for w in workers {
            let result = w
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a background worker panicked")));
            if let Err(e) = result {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    #[default]
    Allocated,
    Started,
    Stopped,
    Freed,
}

/// A running service, as the test holds it.
pub struct ServiceHandle<S: Service> {
    core: Arc<Core<S>>,
}

impl<S: Service> Clone for ServiceHandle<S> {
    fn clone(&self) -> Self {
        ServiceHandle {
            core: self.core.clone(),
        }
    }
}

struct Core<S: Service> {
    service: S,
    nodes: ServiceNodes,
    phase: Mutex<Phase>,
    pool: Arc<TestCluster>,
}

impl<S: Service> std::ops::Deref for ServiceHandle<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.core.service
    }
}

/// The span a service's work on a node runs in: its events are logged to
/// the test's files prefixed with `[service node]`.
fn service_span(parent: &tracing::Span, service_id: &str, node: Option<&Node>) -> tracing::Span {
    let node = node.map(|n| n.name()).unwrap_or("");
    tracing::info_span!(parent: parent, crate::logging::SERVICE_SPAN, id = service_id, node)
}

/// Runs `f` on every node at once; the first failure, with its node, wins.
fn on_all_nodes(
    nodes: &[Arc<Node>],
    what: &str,
    service_id: &str,
    f: impl Fn(&Node) -> crate::Result<()> + Sync,
) -> crate::Result<()> {
    let span = tracing::Span::current();
    let results: Vec<(String, crate::Result<()>)> = std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .map(|n| {
                let f = &f;
                let span = service_span(&span, service_id, Some(n));
                s.spawn(move || (n.name().to_string(), span.in_scope(|| f(n))))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| ("?".into(), Err(anyhow::anyhow!("panicked"))))
            })
            .collect()
    });
    for (node, r) in results {
        if let Err(e) = r {
            return Err(e.context(format!("{service_id}: {what} failed on {node}")));
        }
    }
    Ok(())
}

impl<S: Service> ServiceHandle<S> {
    fn each(&self, what: &str, f: impl Fn(&Node) -> crate::Result<()> + Sync) -> crate::Result<()> {
        on_all_nodes(&self.core.nodes.nodes, what, &self.core.nodes.id, f)
    }

    /// Starts the service on all its nodes at once.
    pub fn start(&self) -> crate::Result<()> {
        let c = &self.core;
        tracing::info!(service = %c.nodes.id, nodes = ?c.nodes.nodes, "starting");
        self.mark_started();
        self.each("start", |n| c.service.start_node(&c.nodes, n))
    }

    /// Stops the service on all its nodes at once.
    pub fn stop(&self) -> crate::Result<()> {
        let c = &self.core;
        tracing::info!(service = %c.nodes.id, "stopping");
        let r = self.each("stop", |n| c.service.stop_node(&c.nodes, n));
        // A stop that failed on some node leaves the service "started", so
        // teardown tries again.
        if r.is_ok() {
            *c.phase.lock() = Phase::Stopped;
        }
        r
    }

    /// Cleans all nodes at once.
    pub fn clean(&self) -> crate::Result<()> {
        let c = &self.core;
        self.each("clean", |n| c.service.clean_node(&c.nodes, n))
    }

    /// Waits for every node (and background worker) to finish its work.
    pub fn wait(&self, timeout: Duration) -> crate::Result<()> {
        let c = &self.core;
        self.each("wait", |n| {
            if c.service.wait_node(&c.nodes, n, timeout)? {
                Ok(())
            } else {
                Err(anyhow::anyhow!("did not finish within {timeout:?}"))
            }
        })?;
        c.nodes.join_workers()
    }

    /// Start, wait, stop.
    pub fn run(&self, timeout: Duration) -> crate::Result<()> {
        self.start()?;
        self.wait(timeout)?;
        self.stop()
    }

    /// Gives the nodes back to the test.
    pub fn free(&self) {
        let c = &self.core;
        let mut phase = c.phase.lock();
        if *phase != Phase::Freed {
            c.pool.free(&c.nodes.nodes);
            *phase = Phase::Freed;
        }
    }

    /// The service's nodes.
    pub fn nodes(&self) -> &[Arc<Node>] {
        &self.core.nodes.nodes
    }

    /// The node with 1-based index `idx`.
    pub fn get_node(&self, idx: usize) -> Option<&Arc<Node>> {
        self.core.nodes.get_node(idx)
    }

    /// 1-based index of `node` in this service.
    pub fn idx(&self, node: &Node) -> Option<usize> {
        self.core.nodes.idx(node)
    }

    /// The service id (`zookeeper-1`).
    pub fn service_id(&self) -> &str {
        &self.core.nodes.id
    }

    /// Whether the service still holds its nodes.
    pub fn allocated(&self) -> bool {
        *self.core.phase.lock() != Phase::Freed
    }

    /// The service's nodes and id, as passed to its `*_node` methods.
    pub fn service_nodes(&self) -> &ServiceNodes {
        &self.core.nodes
    }

    /// The service's pids on a node.
    pub fn pids(&self, node: &Node) -> crate::Result<Vec<u32>> {
        self.core.service.pids(&self.core.nodes, node)
    }

    /// Whether the service has a live process on `node`.
    pub fn alive(&self, node: &Node) -> crate::Result<bool> {
        for pid in self.pids(node)? {
            if node.account().alive(pid)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The service's logger: events inside this span (on `node`, if given)
    /// go to the test's logs prefixed with the service id and node.
    ///
    /// ```ignore
    /// let _log = zk.logger(Some(&node)).entered();
    /// tracing::info!("checking the leader");
    /// ```
    pub fn logger(&self, node: Option<&Node>) -> tracing::Span {
        service_span(&tracing::Span::current(), self.service_id(), node)
    }

    /// Sends a signal (`KILL`, `TERM`, `STOP`, …) to the service's processes on a node.
    pub fn signal_node(&self, node: &Node, signal: &str) -> crate::Result<()> {
        tracing::info!(service = %self.service_id(), node = %node, signal, "signal");
        for pid in self.pids(node)? {
            node.account().signal(pid, signal, true)?;
        }
        Ok(())
    }

    /// Starts the service on one node (ducktape's `start_node`).
    pub fn start_node(&self, node: &Node) -> crate::Result<()> {
        let _log = self.logger(Some(node)).entered();
        self.mark_started();
        self.core.service.start_node(&self.core.nodes, node)
    }

    /// From now on teardown stops this service (whichever way it started).
    fn mark_started(&self) {
        let mut phase = self.core.phase.lock();
        if *phase != Phase::Freed {
            *phase = Phase::Started;
        }
    }

    /// Stops the service on one node.
    pub fn stop_node(&self, node: &Node) -> crate::Result<()> {
        let _log = self.logger(Some(node)).entered();
        self.core.service.stop_node(&self.core.nodes, node)
    }

    /// Cleans one node.
    pub fn clean_node(&self, node: &Node) -> crate::Result<()> {
        let _log = self.logger(Some(node)).entered();
        self.core.service.clean_node(&self.core.nodes, node)
    }

    /// Restarts one node: a clean stop, or a SIGKILL when `clean` is false;
    /// either way the old processes are gone (so their ports are free)
    /// before the node starts again.
    pub fn restart_node(&self, node: &Node, clean: bool) -> crate::Result<()> {
        if clean {
            self.stop_node(node)?;
        } else {
            self.signal_node(node, "KILL")?;
        }
        crate::wait::retry_on_error(
            || self.alive(node).map(|alive| !alive),
            RESTART_WAIT,
            Duration::from_millis(20),
            &format!(
                "{}: old processes on {node} did not exit",
                self.service_id()
            ),
        )?;
        self.start_node(node)
    }

    /// Pauses the service's processes on a node (SIGSTOP).
    pub fn pause_node(&self, node: &Node) -> crate::Result<()> {
        self.signal_node(node, "STOP")
    }

    /// Resumes paused processes on a node (SIGCONT).
    pub fn resume_node(&self, node: &Node) -> crate::Result<()> {
        self.signal_node(node, "CONT")
    }
}

/// Starts several services at once (each on all its nodes).
pub fn run_parallel(starts: &[&(dyn Fn() -> crate::Result<()> + Sync)]) -> crate::Result<()> {
    std::thread::scope(|s| {
        let handles: Vec<_> = starts.iter().map(|f| s.spawn(f)).collect();
        let mut first = Ok(());
        for h in handles {
            let r = h
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a service start panicked")));
            if first.is_ok() {
                first = r;
            }
        }
        first
    })
}

/// What teardown needs of any service, whatever its type.
pub(crate) trait Teardown: Send + Sync {
    fn id(&self) -> &str;
    fn running(&self) -> bool;
    fn stop(&self) -> crate::Result<()>;
    fn collect_logs(&self, dest: &Path, all: bool, compress: bool) -> Vec<String>;
    fn clean(&self) -> crate::Result<()>;
    fn free(&self);
    fn describe(&self) -> serde_json::Value;
}

impl<S: Service> Teardown for ServiceHandle<S> {
    fn id(&self) -> &str {
        self.service_id()
    }
    fn running(&self) -> bool {
        *self.core.phase.lock() == Phase::Started
    }
    fn stop(&self) -> crate::Result<()> {
        ServiceHandle::stop(self)
    }
    fn collect_logs(&self, dest: &Path, all: bool, compress: bool) -> Vec<String> {
        let mut logs: Vec<LogSpec> = self
            .core
            .service
            .logs()
            .into_iter()
            .filter(|l| all || l.collect_default)
            .collect();
        if self.core.nodes.jvm_logs && self.core.service.jvm() {
            logs.push(LogSpec {
                name: "jvm_logs",
                path: Path::new(self.service_id()).join(JVM_LOG_DIR),
                collect_default: true,
            });
        }
        let mut problems = Vec::new();
        for node in self.nodes() {
            let dir = dest.join(self.service_id()).join(node.name());
            for log in &logs {
                if let Err(e) = collect_one(node, &log.path, &dir, compress) {
                    problems.push(format!("{}: {}: {e:#}", node.name(), log.name));
                }
            }
        }
        problems
    }
    fn clean(&self) -> crate::Result<()> {
        if self.core.nodes.jvm_logs && self.core.service.jvm() {
            for node in self.nodes() {
                node.account().remove(&node.path(self.service_id()), true)?;
            }
        }
        ServiceHandle::clean(self)
    }
    fn free(&self) {
        ServiceHandle::free(self)
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "service_id": self.service_id(),
            "nodes": self.nodes().iter().map(|n| n.name()).collect::<Vec<_>>(),
        })
    }
}

fn collect_one(node: &Node, path: &Path, dir: &Path, compress: bool) -> crate::Result<()> {
    let account = node.account();
    let src = account.root().join(path);
    if !account.exists(&src)? {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "log".into());
    if compress {
        // Compress on the node so only the archive crosses the network.
        let archive = src.with_file_name(format!("{name}.tgz"));
        account.ssh(
            &format!(
                "tar czf {} -C {} {}",
                crate::remote::quote(&archive),
                crate::remote::quote(src.parent().unwrap_or(Path::new("/"))),
                crate::remote::quote_str(&name)
            ),
            false,
        )?;
        account.copy_from(&archive, &dir.join(format!("{name}.tgz")))?;
        account.remove(&archive, true)?;
    } else {
        account.copy_from(&src, &dir.join(&name))?;
    }
    Ok(())
}

/// Every service a test created, for teardown.
#[derive(Default)]
pub(crate) struct Registry {
    services: Mutex<Vec<Arc<dyn Teardown>>>,
    counters: Mutex<std::collections::HashMap<String, usize>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registry({} services)", self.services.lock().len())
    }
}

impl Registry {
    /// Allocates nodes for `service` from the test's pool and registers it.
    pub(crate) fn add<S: Service>(
        &self,
        pool: &Arc<TestCluster>,
        service: S,
        jvm_logs: bool,
    ) -> crate::Result<ServiceHandle<S>> {
        let nodes = pool.alloc(&service.cluster_spec())?;
        let id = {
            let mut counters = self.counters.lock();
            let n = counters.entry(service.name().to_string()).or_default();
            *n += 1;
            format!("{}-{}", service.name(), n)
        };
        let handle = ServiceHandle {
            core: Arc::new(Core {
                service,
                nodes: ServiceNodes {
                    id,
                    nodes,
                    workers: Mutex::new(Vec::new()),
                    jvm_logs,
                },
                phase: Mutex::new(Phase::Allocated),
                pool: pool.clone(),
            }),
        };
        self.services.lock().push(Arc::new(handle.clone()));
        Ok(handle)
    }

    pub(crate) fn all(&self) -> Vec<Arc<dyn Teardown>> {
        self.services.lock().clone()
    }
}
