//! The service API's defaults, driven by tests/integration/lifecycle.rs: fail-fast start
//! with the log tail, readiness on every node at once, a whole-service stop
//! in the service's own order, graceful stop and pids by the framework's tag.

use ducktape::prelude::*;
use std::sync::Mutex;
use std::time::Instant;

/// A service made of a shell command per node and readiness conditions.
struct Shell {
    nodes: usize,
    cmd: &'static str,
    ready: Vec<WaitFor>,
    start_timeout: Duration,
    stop_timeout: Duration,
    /// Nodes in the order `stop_node` was called on them.
    stopped: Arc<Mutex<Vec<String>>>,
    /// Stop the first node last (a leader), the others first.
    leader_last: bool,
}

fn shell(nodes: usize, cmd: &'static str) -> Shell {
    Shell {
        nodes,
        cmd,
        ready: Vec::new(),
        start_timeout: Duration::from_secs(60),
        stop_timeout: Duration::from_secs(10),
        stopped: Arc::default(),
        leader_last: false,
    }
}

impl Service for Shell {
    fn cluster_spec(&self) -> ClusterSpec {
        ClusterSpec::simple_linux(self.nodes)
    }
    fn name(&self) -> &str {
        "shell"
    }
    fn start_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        svc.spawn(node, self.cmd)?;
        Ok(())
    }
    fn ready(&self, _: &ServiceNodes, _: &Node) -> Vec<WaitFor> {
        self.ready.clone()
    }
    fn start_timeout(&self) -> Duration {
        self.start_timeout
    }
    fn stop_timeout(&self) -> Duration {
        self.stop_timeout
    }
    fn stop_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        // Slow, so an order that is not kept shows.
        std::thread::sleep(Duration::from_millis(200));
        self.stopped.lock().unwrap().push(node.name().to_string());
        svc.stop_gracefully(self, node, self.stop_timeout)
    }
    fn stop(&self, svc: &ServiceNodes) -> ducktape::Result<()> {
        if !self.leader_last {
            return svc.stop_nodes(self, svc.nodes());
        }
        let leader = svc.get_node(1).context("a first node")?;
        svc.stop_nodes(self, &svc.all_but(leader))?;
        svc.stop_nodes(self, &[leader])
    }
}

/// The process dies at once after printing why: the start fails now, not
/// after the 60 s readiness timeout, with what it printed.
#[ducktape::test(cluster(num_nodes = 2))]
fn start_fails_fast(ctx: &TestContext) -> ducktape::Result<()> {
    let svc = ctx.service(Shell {
        ready: vec![WaitFor::log_line("never printed")],
        ..shell(
            2,
            "echo starting; echo 'config error: bad port 99999' >&2; exit 3",
        )
    })?;
    svc.start()
}

/// Three nodes, each ready 3 s after its start by four kinds of
/// condition: checked at once, the start takes ~3 s, not 9 s.
#[ducktape::test(cluster(num_nodes = 3))]
fn ready_on_every_node_at_once(ctx: &TestContext) -> ducktape::Result<()> {
    const PORT: u16 = 18431;
    let svc = ctx.service(Shell {
        ready: vec![
            WaitFor::log_line("Serving HTTP"),
            WaitFor::port(PORT),
            WaitFor::http(PORT, "/"),
            WaitFor::command("test -f flag"),
        ],
        ..shell(
            3,
            "sleep 3; touch flag; \
             exec python3 -u -m http.server --bind $DUCKTAPE_NODE_HOSTNAME 18431",
        )
    })?;
    let t = Instant::now();
    svc.start()?;
    let took = t.elapsed();
    info!("ready after {took:?}");
    ensure!(took >= Duration::from_secs(3), "ready too early: {took:?}");
    ensure!(
        took < Duration::from_secs(7),
        "nodes not checked at once: {took:?}"
    );
    for node in svc.nodes() {
        // Commands run in the service's directory.
        let flag = svc.service_nodes().path(node, "flag");
        ensure!(node.account().exists(&flag)?, "no flag on {node}");
    }
    Ok(())
}

/// A condition that never holds: the start fails after the service's
/// timeout, naming what it waited for and the last error.
#[ducktape::test(cluster(num_nodes = 1))]
fn ready_times_out(ctx: &TestContext) -> ducktape::Result<()> {
    let svc = ctx.service(Shell {
        ready: vec![WaitFor::http(18432, "/missing").with_status(200)],
        start_timeout: Duration::from_secs(2),
        ..shell(
            1,
            "exec python3 -u -m http.server --bind $DUCKTAPE_NODE_HOSTNAME 18432",
        )
    })?;
    svc.start()
}

/// The whole-service stop in the service's order: followers, then the
/// leader; teardown stops the same way.
#[ducktape::test(cluster(num_nodes = 3))]
fn stop_in_the_services_order(ctx: &TestContext) -> ducktape::Result<()> {
    let svc = ctx.service(Shell {
        leader_last: true,
        ..shell(3, "exec sleep 3600")
    })?;
    svc.start()?;
    svc.stop()?;
    let order = svc.stopped.lock().unwrap().clone();
    let leader = svc.nodes()[0].name();
    ensure!(
        order.len() == 3 && order[2] == leader,
        "stopped in the order {order:?}, the leader {leader} not last"
    );
    for node in svc.nodes() {
        ensure!(!svc.alive(node)?, "still running on {node}");
    }
    Ok(())
}

/// Processes are found by the framework's tag, children and a daemon that
/// left the process group included; one that ignores SIGTERM is killed
/// after the grace period; one that handles it exits cleanly.
#[ducktape::test(cluster(num_nodes = 2))]
fn graceful_stop_and_tagged_pids(ctx: &TestContext) -> ducktape::Result<()> {
    let stubborn = ctx.service(Shell {
        stop_timeout: Duration::from_millis(500),
        // Ignored signals stay ignored in children: none of the three
        // processes acts on SIGTERM. One leaves the process group.
        ..shell(
            1,
            "trap '' TERM; setsid sleep 3600 & sleep 3600 & exec sleep 3600",
        )
    })?;
    stubborn.start()?;
    let node = stubborn.nodes()[0].clone();
    let pids = retry(
        || -> ducktape::Result<Vec<u32>> {
            let pids = stubborn.pids(&node)?;
            ensure!(pids.len() == 3, "found {pids:?}");
            Ok(pids)
        },
        Duration::from_secs(5),
        Duration::from_millis(20),
        "the three sleeps, one in its own session, are not all found",
    )?;
    let t = Instant::now();
    stubborn.stop()?;
    let took = t.elapsed();
    ensure!(
        took >= Duration::from_millis(500),
        "no grace period: {took:?}"
    );
    ensure!(stubborn.pids(&node)?.is_empty(), "left running of {pids:?}");
    for pid in &pids {
        ensure!(!node.account().alive(*pid)?, "{pid} of {pids:?} still runs");
    }

    let polite = ctx.service(shell(
        1,
        "trap 'echo got TERM; exit 0' TERM; while true; do sleep 0.1; done",
    ))?;
    polite.start()?;
    let node = polite.nodes()[0].clone();
    let t = Instant::now();
    polite.stop()?;
    ensure!(
        t.elapsed() < Duration::from_secs(5),
        "a clean stop waited for SIGKILL"
    );
    let log = node
        .account()
        .read_file(&polite.service_nodes().output_log(&node))?;
    ensure!(String::from_utf8_lossy(&log).contains("got TERM"));
    Ok(())
}
