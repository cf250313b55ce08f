//! Work left behind by a killed run (driven by tests/integration/faults.rs on the
//! namespace cluster): a test that starts a service, a background job and a
//! command that never ends, and is then SIGKILLed from outside.

use ducktape::prelude::*;
use std::time::Duration;

/// A service whose process is `sleep 4201`.
struct Idle;

impl Service for Idle {
    fn cluster_spec(&self) -> ClusterSpec {
        ClusterSpec::simple_linux(1)
    }
    fn name(&self) -> &str {
        "idle"
    }
    fn start_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        node.account()
            .spawn("exec sleep 4201", &node.path("idle/out.log"))?;
        Ok(())
    }
    fn stop_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        node.account().kill_process("^sleep 4201$", false, true)?;
        Ok(())
    }
    fn clean_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        node.account().remove(&node.path("idle"), true)?;
        Ok(())
    }
}

/// Starts `sleep 4201` as a service, `nohup sleep 4202 &`, then runs
/// `sleep 4203` in the foreground until the harness kills this process.
/// Without DUCKTAPE_FIXTURE_STALE=yes it passes at once (so whole-suite
/// runs neither hang nor list one more ignored test).
#[ducktape::test(cluster(num_nodes = 1))]
fn left_behind(ctx: &TestContext) -> ducktape::Result<()> {
    if std::env::var("DUCKTAPE_FIXTURE_STALE").as_deref() != Ok("yes") {
        return Ok(());
    }
    ctx.service(Idle)?.start()?;
    let node = &ctx.cluster().nodes()[0];
    node.account()
        .ssh("nohup sleep 4202 >/dev/null 2>&1 &", false)?;
    node.account()
        .exec("sleep 4203", Duration::from_secs(3600))?;
    Ok(())
}
