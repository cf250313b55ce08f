//! Services: the processes a test runs on its nodes, and their lifecycle.
//!
//! A user implements [`Service`]: at least how to start one node, usually
//! with [`ServiceNodes::spawn`] and a few [`WaitFor`] readiness conditions.
//! The rest has defaults: a graceful stop (SIGTERM, a grace period, then
//! SIGKILL) of the processes `spawn` started, found by a tag the framework
//! sets (never by a name pattern); a clean that removes the service's
//! directory on the node; their output collected as a log. The framework's
//! [`ServiceHandle`] runs each step on all the service's nodes at once, and
//! the test's registry guarantees that after the test every service is
//! stopped, its logs collected, its nodes cleaned and freed.

mod procs;
mod ready;

pub use procs::SERVICE_TAG_VAR;
pub use ready::{ReadyCheck, WaitFor};

use crate::cluster::spec::ClusterSpec;
use crate::cluster::{Node, TestCluster};
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long `restart_node` waits for the old processes to exit.
const RESTART_WAIT: Duration = Duration::from_secs(60);

/// How long the default stop waits for processes after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// The file name of the output log of the processes `spawn` starts.
pub const OUTPUT_LOG: &str = "output.log";

/// One log a service writes on each node: [`LogSpec::always`] or
/// [`LogSpec::on_failure`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LogSpec {
    /// Short name (`zk_log`).
    pub name: &'static str,
    /// Path on the node (relative paths are under the node's directory).
    pub path: PathBuf,
    /// Collected after every test; the others only after a failure.
    pub collect_default: bool,
}

impl LogSpec {
    /// A log collected after every test.
    pub fn always(name: &'static str, path: impl Into<PathBuf>) -> Self {
        LogSpec {
            name,
            path: path.into(),
            collect_default: true,
        }
    }

    /// A log (or directory: data, snapshots) collected only after a failure.
    pub fn on_failure(name: &'static str, path: impl Into<PathBuf>) -> Self {
        LogSpec {
            name,
            path: path.into(),
            collect_default: false,
        }
    }
}

/// What a user implements to bring a system up on nodes.
///
/// Only `cluster_spec`, `name` and `start_node` are required:
///
/// ```no_run
/// use ducktape::prelude::*;
///
/// struct Echo;
///
/// impl Service for Echo {
///     fn cluster_spec(&self) -> ClusterSpec { ClusterSpec::simple_linux(3) }
///     fn name(&self) -> &str { "echo" }
///     fn start_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
///         svc.spawn(node, "exec python3 -m http.server --bind $DUCKTAPE_NODE_HOSTNAME 8000")?;
///         Ok(())
///     }
///     fn ready(&self, _: &ServiceNodes, _: &Node) -> Vec<WaitFor> {
///         vec![WaitFor::port(8000)]
///     }
/// }
/// ```
pub trait Service: Send + Sync + 'static {
    /// The nodes this service needs.
    fn cluster_spec(&self) -> ClusterSpec;

    /// Short type name used in the service id (`zookeeper`).
    fn name(&self) -> &str;

    /// Starts the service on one node: write its config, start its
    /// processes (with [`ServiceNodes::spawn`], so the framework can find,
    /// stop and watch them). The framework then waits for [`ready`](Self::ready).
    fn start_node(&self, svc: &ServiceNodes, node: &Node) -> crate::Result<()>;

    /// What must hold on a node before its start is done: a log line, a
    /// port, an HTTP status, a command. Checked on every node at once after
    /// `start_node`; a process `spawn` started that exits meanwhile fails
    /// the start at once with the tail of its output. Default: nothing.
    fn ready(&self, _svc: &ServiceNodes, _node: &Node) -> Vec<WaitFor> {
        Vec::new()
    }

    /// How long a node may take to become [`ready`](Self::ready). Default 60 s.
    fn start_timeout(&self) -> Duration {
        Duration::from_secs(60)
    }

    /// Starts the whole service ([`ServiceHandle::start`]). Default: every
    /// node at once. Override for an order, e.g. a seed node first:
    /// `svc.start_nodes(self, &seed)?; svc.start_nodes(self, &svc.all_but(&seed[0]))`.
    fn start(&self, svc: &ServiceNodes) -> crate::Result<()> {
        svc.start_nodes(self, svc.nodes())
    }

    /// Stops the service on one node. Default: [`ServiceNodes::stop_gracefully`]
    /// with [`stop_timeout`](Self::stop_timeout).
    fn stop_node(&self, svc: &ServiceNodes, node: &Node) -> crate::Result<()> {
        svc.stop_gracefully(self, node, self.stop_timeout())
    }

    /// How long the default stop waits after SIGTERM before SIGKILL. Default 10 s.
    fn stop_timeout(&self) -> Duration {
        Duration::from_secs(10)
    }

    /// Stops the whole service ([`ServiceHandle::stop`], and teardown).
    /// Default: every node at once. Override for an order, e.g. followers
    /// first and the leader last.
    fn stop(&self, svc: &ServiceNodes) -> crate::Result<()> {
        svc.stop_nodes(self, svc.nodes())
    }

    /// Removes what the service left on the node. Default: its directory,
    /// [`ServiceNodes::dir`].
    fn clean_node(&self, svc: &ServiceNodes, node: &Node) -> crate::Result<()> {
        node.account().remove(&svc.dir(node), false)?;
        Ok(())
    }

    /// For services that do a fixed amount of work: waits until the node is
    /// done. `Ok(false)` means it did not finish in `timeout`. Default: done
    /// when the processes `spawn` started have exited.
    fn wait_node(&self, svc: &ServiceNodes, node: &Node, timeout: Duration) -> crate::Result<bool> {
        let done = crate::wait::retry(
            || match self.pids(svc, node) {
                Ok(p) if p.is_empty() => Ok(()),
                Ok(p) => Err(anyhow::anyhow!("still running: {p:?}")),
                Err(e) => Err(e),
            },
            timeout,
            Duration::from_millis(50),
            "",
        );
        Ok(done.is_ok())
    }

    /// The service's process ids on a node. Default: the processes
    /// [`ServiceNodes::spawn`] started there and their descendants.
    fn pids(&self, svc: &ServiceNodes, node: &Node) -> crate::Result<Vec<u32>> {
        svc.spawned_pids(node)
    }

    /// The logs to collect from every node (paths relative to the node's
    /// directory). The output of `spawn` is always collected too.
    fn logs(&self) -> Vec<LogSpec> {
        Vec::new()
    }

    /// The logs to collect from one node. Default: [`logs`](Self::logs).
    fn logs_on(&self, _svc: &ServiceNodes, _node: &Node) -> Vec<LogSpec> {
        self.logs()
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
    workers: Mutex<Vec<std::io::Result<crate::deadline::Pending<crate::Result<()>>>>>,
    jvm_logs: bool,
    /// The value of `DUCKTAPE_SERVICE` (with the node name appended).
    tag: String,
    spawned: Mutex<Vec<procs::Spawned>>,
}

impl ServiceNodes {
    /// The service's directory on `node`: `<node dir>/<service id>`, where
    /// its configs, data and output go; the default `clean_node` removes it.
    pub fn dir(&self, node: &Node) -> PathBuf {
        node.path(&self.id)
    }

    /// A path in the service's directory on `node`.
    pub fn path(&self, node: &Node, rel: impl AsRef<Path>) -> PathBuf {
        self.dir(node).join(rel)
    }

    /// Where the output of [`spawn`](Self::spawn) goes on `node`.
    pub fn output_log(&self, node: &Node) -> PathBuf {
        self.path(node, OUTPUT_LOG)
    }

    /// Starts `cmd` in the background on `node`, in the service's
    /// [directory](Self::dir) (stdin from /dev/null, stdout and stderr to
    /// [`output_log`](Self::output_log)), and returns
    /// its pid. The framework tags it: the default `pids`, `stop_node` and
    /// `wait_node` find it and its children, readiness fails at once if it
    /// exits before it is ready, and its output is collected after the
    /// test. Start servers with `exec` so the pid is the server's.
    pub fn spawn(&self, node: &Node, cmd: &str) -> crate::Result<u32> {
        self.spawn_logged(node, cmd, self.output_log(node))
    }

    /// [`spawn`](Self::spawn) with the output going to `log` (relative to
    /// the node's directory, or absolute) instead.
    pub fn spawn_logged(
        &self,
        node: &Node,
        cmd: &str,
        log: impl AsRef<Path>,
    ) -> crate::Result<u32> {
        let log = node.path(log);
        let offset = procs::file_size(node, &log)?;
        let pid = node.account().spawn(
            &procs::tagged_command(&self.tag, node, &self.dir(node), cmd),
            &log,
        )?;
        tracing::debug!(service = %self.id, node = %node, pid, cmd, "spawned");
        self.spawned.lock().push(procs::Spawned {
            node: procs::key(node),
            pgid: pid,
            cmd: cmd.to_string(),
            log,
            offset,
            live: true,
        });
        Ok(pid)
    }

    /// The live processes `spawn` started on `node`, and their descendants.
    pub fn spawned_pids(&self, node: &Node) -> crate::Result<Vec<u32>> {
        let key = procs::key(node);
        let groups: Vec<u32> = {
            let spawned = self.spawned.lock();
            if !spawned.iter().any(|s| s.node == key) {
                return Ok(Vec::new());
            }
            let live = spawned.iter().filter(|s| s.node == key && s.live);
            live.map(|s| s.pgid).collect()
        };
        let (pids, live_groups) = procs::find(node, &self.tag, &groups)?;
        // A group found empty is over: forget it, so its number, once
        // reused by an unrelated process, is never taken for ours.
        for s in self.spawned.lock().iter_mut() {
            if s.node == key && groups.contains(&s.pgid) && !live_groups.contains(&s.pgid) {
                s.live = false;
            }
        }
        Ok(pids)
    }

    /// SIGTERM (and SIGCONT, so a paused process acts on it) to the
    /// service's processes on `node`, then SIGKILL to those still running
    /// after `grace`. Processes are found by the service's `pids`.
    pub fn stop_gracefully<S: Service + ?Sized>(
        &self,
        service: &S,
        node: &Node,
        grace: Duration,
    ) -> crate::Result<()> {
        let mut left = Vec::new();
        for (signal, wait) in [("TERM", grace), ("KILL", KILL_WAIT)] {
            let pids = service.pids(self, node)?;
            if pids.is_empty() {
                return Ok(());
            }
            if signal == "KILL" {
                tracing::info!(service = %self.id, node = %node, pids = ?pids, "still running {grace:?} after SIGTERM: SIGKILL");
            }
            procs::signal(node, &pids, signal)?;
            let gone = crate::wait::retry(
                || match service.pids(self, node) {
                    Ok(p) if p.is_empty() => Ok(()),
                    Ok(p) => Err(anyhow::anyhow!("{p:?}")),
                    Err(e) => Err(e),
                },
                wait,
                Duration::from_millis(20),
                "",
            );
            match gone {
                Ok(()) => return Ok(()),
                Err(e) => left = e.last_error().map(str::to_string).into_iter().collect(),
            }
        }
        anyhow::bail!("{node}: still running after SIGKILL: {}", left.join(""))
    }

    /// Starts the service on `nodes` at once: on each, `start_node` and
    /// then its readiness conditions. The first failure, with its node, wins.
    pub fn start_nodes<S: Service + ?Sized, N: AsRef<Node> + Sync>(
        &self,
        service: &S,
        nodes: &[N],
    ) -> crate::Result<()> {
        self.each(nodes, "start", |node| self.start_one(service, node))
    }

    /// Stops the service on `nodes` at once (`stop_node` on each).
    pub fn stop_nodes<S: Service + ?Sized, N: AsRef<Node> + Sync>(
        &self,
        service: &S,
        nodes: &[N],
    ) -> crate::Result<()> {
        self.each(nodes, "stop", |node| service.stop_node(self, node))
    }

    /// Runs `f` on each of `nodes` at once (in the node's log span); the
    /// first failure is returned, naming the node and `what` was done.
    pub fn each<N: AsRef<Node> + Sync>(
        &self,
        nodes: &[N],
        what: &str,
        f: impl Fn(&Node) -> crate::Result<()> + Sync,
    ) -> crate::Result<()> {
        on_all_nodes(nodes, what, &self.id, f)
    }

    /// Every node of the service but `node` (e.g. the followers of a leader).
    pub fn all_but(&self, node: &Node) -> Vec<Arc<Node>> {
        let key = procs::key(node);
        self.nodes
            .iter()
            .filter(|n| procs::key(n) != key)
            .cloned()
            .collect()
    }

    /// `start_node` and readiness on one node, failing fast when what it
    /// spawned exits first.
    fn start_one<S: Service + ?Sized>(&self, service: &S, node: &Node) -> crate::Result<()> {
        let readiness =
            ready::Readiness::before_start(node, service.ready(self, node), &self.dir(node))?;
        let key = procs::key(node);
        let before = self.spawned.lock().len();
        service.start_node(self, node)?;
        if readiness.is_empty() {
            return Ok(());
        }
        let started: Vec<procs::Spawned> = self.spawned.lock()[before..]
            .iter()
            .filter(|s| s.node == key)
            .cloned()
            .collect();
        readiness.wait(node, service.start_timeout(), || {
            if started.is_empty() || !service.pids(self, node)?.is_empty() {
                return Ok(None);
            }
            let s = &started[started.len() - 1];
            // The node's copy goes at teardown: say where the kept one is.
            let kept = Path::new(&self.id)
                .join(node.name())
                .join(s.log.file_name().unwrap_or(s.log.as_os_str()));
            Ok(Some(format!(
                "`{}` exited before it was ready; the last lines of {} (kept as {} in the \
                 test's results):\n{}",
                s.cmd,
                s.log.display(),
                kept.display(),
                procs::log_tail(node, &s.log, s.offset)
            )))
        })
    }
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
        // On the pool, in the caller's span; a thread that cannot be
        // started is the error `wait` reports.
        let job = crate::deadline::start("background work", work);
        self.workers.lock().push(job);
    }

    fn join_workers(&self) -> crate::Result<()> {
        let workers: Vec<_> = std::mem::take(&mut *self.workers.lock());
        let mut first_err = None;
        for w in workers {
            let result = match w.map(crate::deadline::Pending::join) {
                Ok(Ok(r)) => r,
                Ok(Err(panic)) => Err(anyhow::anyhow!("a background worker panicked: {panic}")),
                Err(e) => Err(e.into()),
            };
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

/// A running service, as the test holds it (`ctx.service(...)`): every
/// step runs on all its nodes at once, and it derefs to the service, so
/// your own methods are at hand too.
///
/// ```no_run
/// use ducktape::prelude::*;
///
/// struct Echo;
///
/// impl Service for Echo {
///     fn cluster_spec(&self) -> ClusterSpec { ClusterSpec::simple_linux(3) }
///     fn name(&self) -> &str { "echo" }
///     fn start_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
///         svc.spawn(node, "exec python3 -m http.server --bind $DUCKTAPE_NODE_HOSTNAME 8000")?;
///         Ok(())
///     }
///     fn ready(&self, _: &ServiceNodes, _: &Node) -> Vec<WaitFor> {
///         vec![WaitFor::http(8000, "/")]
///     }
/// }
///
/// #[ducktape::test(cluster(num_nodes = 3))]
/// fn echo_survives_a_bounce(ctx: &TestContext) -> ducktape::Result<()> {
///     let echo = ctx.service(Echo)?;
///     echo.start()?;                                   // all nodes at once, each until ready
///     let first = echo.get_node(1).context("node 1")?.clone();
///     echo.restart_node(&first, true)?;                // clean stop, start, readiness
///     for node in echo.all_but(&first) {
///         ensure!(!echo.pids(&node)?.is_empty(), "{node} lost its server");
///     }
///     Ok(())                                           // stopped, logs collected, cleaned after
/// }
///
/// ducktape::main!();
/// ```
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

/// `[worker1 worker2]`, for log lines.
fn node_names(nodes: &[Arc<Node>]) -> String {
    let names: Vec<&str> = nodes.iter().map(|n| n.name()).collect();
    format!("[{}]", names.join(" "))
}

/// Runs `f` on every node at once, each in its node's service span, on the
/// fan-out pool; the first failure (or panic), with its node, wins. One
/// worker per node: a node's start may wait for the others (a quorum), so
/// none may wait for a free worker.
fn on_all_nodes<N: AsRef<Node> + Sync>(
    nodes: &[N],
    what: &str,
    service_id: &str,
    f: impl Fn(&Node) -> crate::Result<()> + Sync,
) -> crate::Result<()> {
    let span = tracing::Span::current();
    let results = crate::remote::fan_out(nodes, nodes.len(), |n| {
        let n: &Node = n.as_ref();
        let span = service_span(&span, service_id, Some(n));
        // Caught here so one node's panic fails the step, named, instead of
        // unwinding through the others.
        let r = span.in_scope(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(n))));
        let r = r.unwrap_or_else(|panic| {
            let msg = crate::deadline::panic_message(&*panic);
            Err(anyhow::anyhow!("panicked: {msg}"))
        });
        (n.name().to_string(), r)
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

    /// Starts the service ([`Service::start`]: on all its nodes at once,
    /// each until ready, unless the service orders it).
    pub fn start(&self) -> crate::Result<()> {
        let c = &self.core;
        self.mark_started();
        self.timed("start", "started", || c.service.start(&c.nodes))
    }

    /// Stops the service ([`Service::stop`]: on all its nodes at once,
    /// unless the service orders it).
    pub fn stop(&self) -> crate::Result<()> {
        let c = &self.core;
        let r = self.timed("stop", "stopped", || c.service.stop(&c.nodes));
        // A stop that failed on some node leaves the service "started", so
        // teardown tries again.
        if r.is_ok() {
            *c.phase.lock() = Phase::Stopped;
        }
        r
    }

    /// Runs a whole-service step with an INFO line of its outcome, how long
    /// it took and on which nodes.
    fn timed(
        &self,
        what: &str,
        done: &str,
        step: impl FnOnce() -> crate::Result<()>,
    ) -> crate::Result<()> {
        let c = &self.core;
        let nodes = node_names(&c.nodes.nodes);
        let t = Instant::now();
        let r = step();
        let secs = format!("{:.3}s", t.elapsed().as_secs_f64());
        match &r {
            Ok(()) => tracing::info!(service = %c.nodes.id, nodes, duration = secs, "{done}"),
            Err(e) => {
                tracing::warn!(service = %c.nodes.id, nodes, duration = secs, "{what} failed: {e:#}")
            }
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

    /// Every node of the service but `node`.
    pub fn all_but(&self, node: &Node) -> Vec<Arc<Node>> {
        self.core.nodes.all_but(node)
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

    /// Starts the service on one node (ducktape's `start_node`), and waits
    /// until it is [ready](Service::ready).
    pub fn start_node(&self, node: &Node) -> crate::Result<()> {
        self.mark_started();
        let c = &self.core;
        c.nodes.start_nodes(&c.service, &[node])
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

impl<S: Service> ServiceHandle<S> {
    /// What to collect from `node`: the service's logs there (all of them
    /// when `all`, else those collected by default), the output of what it
    /// spawned there, and its JVM logs with `--enable-jvm-logs`.
    fn logs_on(&self, node: &Node, all: bool) -> Vec<LogSpec> {
        let c = &self.core;
        let mut logs: Vec<LogSpec> = c.service.logs_on(&c.nodes, node);
        let key = procs::key(node);
        for s in c.nodes.spawned.lock().iter().filter(|s| s.node == key) {
            logs.push(LogSpec::always("output", s.log.clone()));
        }
        if c.nodes.jvm_logs && c.service.jvm() {
            logs.push(LogSpec::always(
                "jvm_logs",
                jvm_dir(node, self.service_id()),
            ));
        }
        logs.retain(|l| all || l.collect_default);
        // One copy of each file, whichever spec named it first.
        let mut seen = std::collections::HashSet::new();
        logs.retain(|l| seen.insert(node.path(&l.path)));
        logs
    }
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
        let t = Instant::now();
        let per_node = crate::remote::fan_out(self.nodes(), LOG_WORKERS, |node| {
            let dir = dest.join(self.service_id()).join(node.name());
            let (mut files, mut problems) = (0, Vec::new());
            for log in self.logs_on(node, all) {
                match collect_one(node, &log.path, &dir, compress) {
                    Ok(found) => files += usize::from(found),
                    Err(e) => problems.push(format!("{}: {}: {e:#}", node.name(), log.name)),
                }
            }
            (files, problems)
        });
        let files: usize = per_node.iter().map(|(n, _)| n).sum();
        let problems: Vec<String> = per_node.into_iter().flat_map(|(_, p)| p).collect();
        tracing::info!(
            service = %self.service_id(),
            nodes = node_names(self.nodes()),
            files,
            problems = problems.len(),
            duration = format!("{:.3}s", t.elapsed().as_secs_f64()),
            "logs collected"
        );
        problems
    }
    fn clean(&self) -> crate::Result<()> {
        if self.core.nodes.jvm_logs && self.core.service.jvm() {
            self.each("clean", |node| {
                node.account().remove(&node.path(self.service_id()), true)?;
                Ok(())
            })?;
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

/// Most nodes whose logs are collected at once: copies are bound by the
/// network and this machine's disk, not by waiting.
const LOG_WORKERS: usize = 16;

/// Copies one log (file or directory) into `dir`; `Ok(false)` when the
/// node has no such file.
fn collect_one(node: &Node, path: &Path, dir: &Path, compress: bool) -> crate::Result<bool> {
    let account = node.account();
    let src = account.root().join(path);
    if !account.exists(&src)? {
        return Ok(false);
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
    Ok(true)
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
                    tag: format!("{id}.{:016x}", fastrand::u64(..)),
                    id,
                    nodes,
                    workers: Mutex::new(Vec::new()),
                    jvm_logs,
                    spawned: Mutex::new(Vec::new()),
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
