//! Tests for ducktape 0.17 parity: node types, env marks, long parameters,
//! services without nodes, JVM logs.

use ducktape::prelude::*;
use std::time::Duration;

/// Needs a node of type "large": the localhost cluster has none.
#[ducktape::test(cluster(num_nodes = 1, node_type = "large"))]
fn typed_node(ctx: &TestContext) -> ducktape::Result<()> {
    ensure!(ctx.cluster().size() == 1);
    Ok(())
}

/// Runs only when DUCKTAPE_FIXTURE_ENV=yes.
#[ducktape::test(cluster(num_nodes = 0), env(DUCKTAPE_FIXTURE_ENV = "yes"))]
fn env_gated(_ctx: &TestContext) {}

/// Asks for a node for a service and reports how many it got.
#[ducktape::test(cluster(num_nodes = 1))]
fn service_nodes(ctx: &TestContext) -> ducktape::Result<serde_json::Value> {
    let got = ctx.cluster().alloc(&ClusterSpec::simple_linux(1))?;
    Ok(serde_json::json!({"got": got.len()}))
}

/// A parameter far longer than a file name may be.
#[ducktape::test(
    cluster(num_nodes = 0),
    parametrize(
        text = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        n = 1
    )
)]
fn long_param(_ctx: &TestContext, text: String, n: u32) {
    assert!(text.len() > 255 && n == 1);
}

/// A JVM that starts and exits at once: enough to write a GC log.
struct Jvm;

impl Service for Jvm {
    fn cluster_spec(&self) -> ClusterSpec {
        ClusterSpec::simple_linux(1)
    }
    fn name(&self) -> &str {
        "jvm"
    }
    fn start_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        let opts = svc.jvm_options(node)?;
        node.account()
            .ssh(&format!("java {opts} -version"), false)?;
        Ok(())
    }
    fn stop_node(&self, _: &ServiceNodes, _: &Node) -> ducktape::Result<()> {
        Ok(())
    }
    fn clean_node(&self, _: &ServiceNodes, _: &Node) -> ducktape::Result<()> {
        Ok(())
    }
    fn jvm(&self) -> bool {
        true
    }
}

#[ducktape::test(cluster(num_nodes = 1))]
fn jvm_service(ctx: &TestContext) -> ducktape::Result<()> {
    let jvm = ctx.service(Jvm)?;
    jvm.start()?;
    jvm.wait(Duration::from_secs(10))
}
