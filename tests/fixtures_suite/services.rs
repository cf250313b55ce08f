//! Services whose lifecycle the harness checks from outside: teardown after
//! failures and panics, parallel start, log collection.

use ducktape::prelude::*;
use std::time::Duration;

/// A process per node that logs a start line; `fail_on` makes one node's
/// start fail, `start_delay` makes every start slow.
struct Sleeper {
    nodes: usize,
    fail_on: Option<usize>,
    start_delay: Duration,
}

impl Service for Sleeper {
    fn cluster_spec(&self) -> ClusterSpec {
        ClusterSpec::simple_linux(self.nodes)
    }
    fn name(&self) -> &str {
        "sleeper"
    }
    fn start_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        std::thread::sleep(self.start_delay);
        let idx = svc.idx(node).context("node of the service")?;
        if self.fail_on == Some(idx) {
            bail!("refusing to start on node {idx}");
        }
        node.account().spawn(
            "exec bash -c 'echo dt-sleeper started; exec sleep 3600'",
            &node.path("sleeper/out.log"),
        )?;
        node.account()
            .create_file(&node.path("sleeper/debug.log"), b"debug details\n")?;
        Ok(())
    }
    fn stop_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        node.account().kill_process("sleep 3600", false, true)?;
        Ok(())
    }
    fn clean_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        node.account().remove(&node.path("sleeper"), true)?;
        Ok(())
    }
    fn pids(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<Vec<u32>> {
        Ok(node.account().pids("sleep 3600")?)
    }
    fn logs(&self) -> Vec<LogSpec> {
        vec![
            LogSpec::always("out", "sleeper/out.log"),
            LogSpec::on_failure("debug", "sleeper/debug.log"),
        ]
    }
}

fn sleeper(nodes: usize) -> Sleeper {
    Sleeper {
        nodes,
        fail_on: None,
        start_delay: Duration::ZERO,
    }
}

#[ducktape::test(cluster(num_nodes = 2))]
fn passes_with_service(ctx: &TestContext) -> ducktape::Result<()> {
    ctx.service(sleeper(2))?.start()
}

#[ducktape::test(cluster(num_nodes = 2))]
fn panics_with_service(ctx: &TestContext) -> ducktape::Result<()> {
    ctx.service(sleeper(2))?.start()?;
    panic!("deliberate panic with a running service");
}

#[ducktape::test(cluster(num_nodes = 3))]
fn start_fails(ctx: &TestContext) -> ducktape::Result<()> {
    let svc = ctx.service(Sleeper {
        nodes: 3,
        fail_on: Some(2),
        start_delay: Duration::ZERO,
    })?;
    svc.start()
}

/// Eight nodes whose start takes a second each: started in parallel.
#[ducktape::test(cluster(num_nodes = 8))]
fn slow_start_8(ctx: &TestContext) -> ducktape::Result<()> {
    let svc = ctx.service(Sleeper {
        nodes: 8,
        fail_on: None,
        start_delay: Duration::from_secs(1),
    })?;
    svc.start()
}

/// Starts a service, then waits long enough to be interrupted by a signal.
#[ducktape::test(cluster(num_nodes = 2))]
fn long_running(ctx: &TestContext) -> ducktape::Result<()> {
    ctx.service(sleeper(2))?.start()?;
    tracing::info!("service started; sleeping");
    std::thread::sleep(Duration::from_secs(60));
    Ok(())
}

/// Network faults on the localhost cluster are refused with a clear message.
#[ducktape::test(cluster(num_nodes = 2))]
fn partition_on_localhost(ctx: &TestContext) -> ducktape::Result<()> {
    let nodes = ctx.cluster().nodes();
    ctx.faults()
        .partition(&[vec![nodes[0].clone()], vec![nodes[1].clone()]])?;
    Ok(())
}

/// Pauses a service's process, then panics: teardown resumes it (heal) and
/// records the faults in the report.
#[ducktape::test(cluster(num_nodes = 2))]
fn pause_then_panic(ctx: &TestContext) -> ducktape::Result<()> {
    let svc = ctx.service(sleeper(2))?;
    svc.start()?;
    let node = svc.get_node(1).context("node 1")?.clone();
    ctx.faults().pause(&svc, &node)?;
    let picked = ducktape::fault::pick(svc.nodes(), ducktape::fault::Pick::Majority, 7);
    ensure!(picked.len() == 2);
    panic!("deliberate panic with a paused process");
}

/// Every kind of fault at once on a real cluster, then a panic: teardown
/// must heal them all (run on the namespace cluster by tests/integration/faults.rs).
#[ducktape::test(cluster(num_nodes = 3))]
fn faults_then_panic(ctx: &TestContext) -> ducktape::Result<()> {
    let svc = ctx.service(sleeper(3))?;
    svc.start()?;
    let n = svc.nodes().to_vec();
    let faults = ctx.faults();
    faults.partition(&[vec![n[0].clone()], vec![n[1].clone(), n[2].clone()]])?;
    faults.drop_one_way(&n[1], &n[2])?;
    faults.netem(
        &n[1],
        &ducktape::fault::Netem::loss(10.0).with_rate_kbit(8000),
    )?;
    faults.pause(&svc, &n[2])?;
    // The partition is real: node 1 cannot reach node 2's sshd.
    let probe = format!("timeout 2 bash -c 'echo > /dev/tcp/{}/22'", n[1].hostname());
    ensure!(
        n[0].account().ssh(&probe, true)?.status != 0,
        "partition let traffic through"
    );
    panic!("deliberate panic with faults in place");
}

/// Adds 20 ms of delay on node 1: either the kernel has netem and the delay
/// shows in a round trip, or the error says the kernel lacks it.
#[ducktape::test(cluster(num_nodes = 2))]
fn delay_or_clear_error(ctx: &TestContext) -> ducktape::Result<serde_json::Value> {
    let nodes = ctx.cluster().nodes().to_vec();
    match ctx.faults().netem(
        &nodes[0],
        &ducktape::fault::Netem::delay(Duration::from_millis(20)),
    ) {
        Ok(()) => {
            let ping = nodes[1]
                .account()
                .ssh_output(&format!("ping -c 3 -q {}", nodes[0].hostname()))?;
            Ok(serde_json::json!({"delay": "netem", "ping": ping}))
        }
        Err(e) => {
            let msg = e.to_string();
            ensure!(msg.contains("no netem qdisc"), "unclear error: {msg}");
            Ok(serde_json::json!({"delay": "unsupported", "error": msg}))
        }
    }
}

/// A service whose stop never returns.
struct Stuck;

impl Service for Stuck {
    fn cluster_spec(&self) -> ClusterSpec {
        ClusterSpec::simple_linux(1)
    }
    fn name(&self) -> &str {
        "stuck"
    }
    fn start_node(&self, _: &ServiceNodes, _: &Node) -> ducktape::Result<()> {
        Ok(())
    }
    fn stop_node(&self, _: &ServiceNodes, _: &Node) -> ducktape::Result<()> {
        std::thread::sleep(Duration::from_secs(3600));
        Ok(())
    }
    fn clean_node(&self, _: &ServiceNodes, _: &Node) -> ducktape::Result<()> {
        Ok(())
    }
}

/// Teardown gives up on a stop that hangs and moves on.
#[ducktape::test(cluster(num_nodes = 1))]
fn stop_hangs(ctx: &TestContext) -> ducktape::Result<()> {
    ctx.service(Stuck)?.start()
}
