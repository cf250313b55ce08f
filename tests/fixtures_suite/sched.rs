//! Tests that record which nodes they held and when, into the file named by
//! the `window_log` global, so the harness can check no node was leased twice.

use ducktape::prelude::*;
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn hold(ctx: &TestContext, millis: u64) -> ducktape::Result<()> {
    let log = ctx
        .global("window_log")
        .and_then(|v| v.as_str())
        .context("--globals must set window_log")?;
    let start = now();
    std::thread::sleep(Duration::from_millis(millis));
    let end = now();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    for node in ctx.cluster().nodes() {
        // One short write per line: O_APPEND keeps concurrent lines whole.
        f.write_all(format!("{} {} {start:.6} {end:.6}\n", ctx.test_id(), node.name()).as_bytes())?;
    }
    Ok(())
}

#[ducktape::test(cluster(num_nodes = 1), matrix(i = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))]
fn one_node(ctx: &TestContext, i: u32) -> ducktape::Result<()> {
    let _ = i;
    hold(ctx, 150)
}

#[ducktape::test(cluster(num_nodes = 2), matrix(i = [0, 1, 2, 3]))]
fn two_nodes(ctx: &TestContext, i: u32) -> ducktape::Result<()> {
    let _ = i;
    hold(ctx, 150)
}

/// Named to sort last: under nextest it queues behind the 1- and 2-node
/// tests and must still get its four nodes (no starvation).
#[ducktape::test(cluster(num_nodes = 4))]
fn z_four_nodes(ctx: &TestContext) -> ducktape::Result<()> {
    hold(ctx, 150)
}
