use ducktape::prelude::*;
use serde::Serialize;
use std::time::Duration;

#[ducktape::test(cluster(num_nodes = 1))]
fn passes(_ctx: &TestContext) {}

#[ducktape::test(cluster(num_nodes = 1))]
fn fails(_ctx: &TestContext) -> ducktape::Result<()> {
    tracing::info!("about to fail on purpose");
    bail!("deliberate failure")
}

#[ducktape::test(cluster(num_nodes = 0))]
fn panics(_ctx: &TestContext) {
    panic!("deliberate panic");
}

#[derive(Serialize)]
struct Throughput {
    ops_per_sec: u64,
    nodes: usize,
}

#[ducktape::test(cluster(num_nodes = 2))]
fn returns_data(ctx: &TestContext) -> ducktape::Result<Throughput> {
    Ok(Throughput {
        ops_per_sec: 1234,
        nodes: ctx.cluster().size(),
    })
}

/// Fails the first time it runs against a given marker file, then passes.
#[ducktape::test(cluster(num_nodes = 0))]
fn flaky(ctx: &TestContext) -> ducktape::Result<()> {
    let marker = ctx
        .global("flaky_marker")
        .and_then(|v| v.as_str())
        .context("--globals must set flaky_marker")?;
    if std::fs::metadata(marker).is_ok() {
        Ok(())
    } else {
        std::fs::write(marker, b"failed once")?;
        bail!("first attempt fails")
    }
}

#[ducktape::test(cluster(num_nodes = 0))]
fn hangs(_ctx: &TestContext) {
    std::thread::sleep(Duration::from_secs(3600));
}

#[ducktape::test(cluster(num_nodes = 0), matrix(a = [1, 2], b = ["x"]))]
fn echo_args(_ctx: &TestContext, a: i64, b: String) -> ducktape::Result<serde_json::Value> {
    Ok(serde_json::json!({"a": a, "b": b}))
}

#[ducktape::test(ignore, cluster(num_nodes = 0))]
fn ignored(_ctx: &TestContext) {
    panic!("ignored tests must not run");
}

/// Declares two nodes and uses one: fails with --fail-bad-cluster-utilization.
#[ducktape::test(cluster(num_nodes = 2))]
fn underuses(ctx: &TestContext) -> ducktape::Result<()> {
    let nodes = ctx.cluster().alloc(&ClusterSpec::simple_linux(1))?;
    ensure!(nodes.len() == 1);
    Ok(())
}

/// No cluster mark: fails with --fail-greedy-tests.
#[ducktape::test]
fn greedy(_ctx: &TestContext) {}
