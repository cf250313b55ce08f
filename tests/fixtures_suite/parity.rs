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

/// A user-defined cluster type: two local nodes, one "small" and one
/// "large", chosen with `--cluster typed-pair`.
#[derive(Debug)]
struct TypedPair {
    dir: std::path::PathBuf,
}

const TYPES: [&str; 2] = ["small", "large"];

impl ducktape::cluster::custom::NodeSource for TypedPair {
    fn identity(&self) -> String {
        "v1".into()
    }
    fn size(&self) -> Option<usize> {
        Some(2)
    }
    fn props(&self, i: usize) -> Option<(ducktape::cluster::spec::OperatingSystem, Option<&str>)> {
        TYPES
            .get(i)
            .map(|t| (ducktape::cluster::spec::OperatingSystem::Linux, Some(*t)))
    }
    fn node(&self, i: usize) -> Result<Node, ducktape::cluster::ClusterError> {
        let name = format!("{}{}", TYPES[i], i + 1);
        let dir = self.dir.join(&name);
        let account = ducktape::remote::LocalAccount::new(
            &name,
            &format!("127.0.1.{}", i + 1),
            dir.clone(),
            &dir.display().to_string(),
            false,
        );
        Ok(Node::new(
            i,
            ducktape::cluster::spec::OperatingSystem::Linux,
            Some(TYPES[i].to_string()),
            std::sync::Arc::new(account),
        )
        .sharing_host_network())
    }
}

fn typed_pair(
    args: &ducktape::cluster::ClusterArgs,
) -> Result<Box<dyn ducktape::cluster::NodeSource>, ducktape::cluster::ClusterError> {
    Ok(Box::new(TypedPair {
        dir: args.lease_root().join("typed-pair"),
    }))
}

ducktape::cluster_type!("typed-pair", typed_pair);
