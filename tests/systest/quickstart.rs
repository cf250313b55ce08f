//! The README's first tests: one node, one service, one report.

use ducktape::prelude::*;
use ducktape::remote::quote;
use std::time::Duration;

/// A tiny service: a process per node that announces itself in its log and
/// then ticks. Real services (ZooKeeper, Redis) have the same shape.
pub struct Ticker {
    nodes: usize,
}

impl Ticker {
    /// A ticker on `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        Ticker { nodes }
    }

    const LOG: &'static str = "ticker/ticker.log";
}

impl Service for Ticker {
    fn cluster_spec(&self) -> ClusterSpec {
        ClusterSpec::simple_linux(self.nodes)
    }

    fn name(&self) -> &str {
        "ticker"
    }

    fn start_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        let idx = svc.idx(node).context("node is not in the service")?;
        let monitor = node.monitor_log(node.path(Self::LOG))?;
        node.account().spawn(
            &format!(
                "exec bash -c 'echo ticker {idx} started on $DUCKTAPE_NODE_HOSTNAME; \
                 while true; do sleep 0.2; echo tick; done'"
            ),
            &node.path(Self::LOG),
        )?;
        monitor.wait_until(
            "ticker \\d+ started",
            Duration::from_secs(10),
            Duration::from_millis(20),
            "ticker did not start",
        )?;
        Ok(())
    }

    fn stop_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        for pid in self.pids(svc, node)? {
            node.account().signal(pid, "TERM", true)?;
        }
        Ok(())
    }

    fn clean_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        node.account().remove(&node.path("ticker"), false)?;
        Ok(())
    }

    fn pids(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<Vec<u32>> {
        Ok(node.account().pids("ticker .* started")?)
    }

    fn logs(&self) -> Vec<LogSpec> {
        vec![LogSpec {
            name: "ticker_log",
            path: Self::LOG.into(),
            collect_default: true,
        }]
    }
}

/// The smallest system test: run a command on a node.
#[ducktape::test(cluster(num_nodes = 1))]
fn hello(ctx: &TestContext) -> ducktape::Result<()> {
    let node = &ctx.cluster().nodes()[0];
    let out = node
        .account()
        .ssh_output("echo hello from $DUCKTAPE_NODE_HOSTNAME")?;
    ensure!(
        out.trim() == format!("hello from {}", node.hostname()),
        "unexpected output {out:?}"
    );
    let file = node.path("greeting.txt");
    node.account().create_file(&file, b"hi\n")?;
    ensure!(node.account().read_file(&file)? == b"hi\n");
    node.account().ssh(&format!("rm {}", quote(&file)), false)?;
    Ok(())
}

/// A service on two nodes, bounced: kill one node's process, wait until it is
/// gone, restart it, and check both run.
#[ducktape::test(cluster(num_nodes = 2))]
fn ticker_bounce(ctx: &TestContext) -> ducktape::Result<()> {
    let ticker = ctx.service(Ticker::new(2))?;
    ticker.start()?;
    let node = ticker.get_node(2).context("two nodes")?.clone();
    ticker.signal_node(&node, "KILL")?;
    ducktape::wait::wait_until(
        || !ticker.alive(&node).unwrap_or(true),
        Duration::from_secs(5),
        Duration::from_millis(20),
        "the killed ticker is still alive",
    )?;
    ticker.restart_node(&node, true)?;
    for n in ticker.nodes() {
        ensure!(ticker.alive(n)?, "ticker not running on {n}");
    }
    Ok(())
}
