//! Performance tests for the history and merge drivers (tests/integration/html_report.rs):
//! their numbers come from `--globals`, so a driver can stage a regression.

use ducktape::prelude::*;
use serde_json::{json, Value};

/// Returns `{"throughput": <globals.throughput or 100>, "latency_ms": ...}`.
#[ducktape::test(cluster(num_nodes = 1))]
fn throughput(ctx: &TestContext) -> ducktape::Result<Value> {
    let global =
        |name: &str, default: f64| ctx.global(name).and_then(Value::as_f64).unwrap_or(default);
    Ok(json!({
        "throughput": global("throughput", 100.0),
        "latency_ms": global("latency_ms", 5.0),
    }))
}

/// Does nothing: its run time is noise and must never be flagged.
#[ducktape::test(cluster(num_nodes = 1))]
fn noop(_ctx: &TestContext) {}

/// Holds two nodes for a moment, so the timeline has overlapping rows.
#[ducktape::test(cluster(num_nodes = 2))]
fn two_nodes(ctx: &TestContext) -> ducktape::Result<Value> {
    std::thread::sleep(std::time::Duration::from_millis(100));
    Ok(json!({"nodes": ctx.cluster().size()}))
}
