//! Tests for the console's progress drivers (tests/integration/harness.rs): one that
//! runs long enough to be reported SLOW, and quick ones around it.

use ducktape::prelude::*;
use std::time::Duration;

/// Sleeps `globals.sleep_ms` milliseconds (default 2500) on one node.
#[ducktape::test(cluster(num_nodes = 1))]
fn sleeps(ctx: &TestContext) {
    let ms = ctx
        .global("sleep_ms")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(2500);
    std::thread::sleep(Duration::from_millis(ms));
}

#[ducktape::test(cluster(num_nodes = 0))]
fn quick_a(_ctx: &TestContext) {}

#[ducktape::test(cluster(num_nodes = 0))]
fn quick_b(_ctx: &TestContext) {}
