//! The README's first tests: one node, one service, one report.

use ducktape::prelude::*;
use ducktape::remote::quote;

/// A tiny service: a process per node that announces itself in its output
/// and then ticks. Real services (ZooKeeper, Redis) have the same shape: the
/// framework finds, stops, watches and collects the output of what `spawn`
/// started, and checks `ready` on every node at once.
pub struct Ticker {
    nodes: usize,
}

impl Ticker {
    /// A ticker on `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        Ticker { nodes }
    }
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
        svc.spawn(
            node,
            &format!(
                "echo ticker {idx} started on $DUCKTAPE_NODE_HOSTNAME; \
                 while true; do sleep 0.2; echo tick; done"
            ),
        )?;
        Ok(())
    }

    fn ready(&self, _svc: &ServiceNodes, _node: &Node) -> Vec<WaitFor> {
        vec![WaitFor::log_line("ticker \\d+ started")]
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
    retry_on_error(
        || ticker.alive(&node).map(|alive| !alive),
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
