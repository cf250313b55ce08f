//! Tests that try to reach past their own lifetime or their own bounds: a
//! body that outlives its timeout, huge and hostile failure messages, a
//! flaky failure that mentions a timeout.

use ducktape::prelude::*;
use std::path::Path;
use std::time::Duration;

/// Writes to a file on its node every 200 ms for 12 s, through a command,
/// an in-process write and a background process. Run with a shorter
/// `--test-runner-timeout` it is abandoned while it still writes.
#[ducktape::test(cluster(num_nodes = 1))]
fn a_zombie_writer(ctx: &TestContext) -> ducktape::Result<()> {
    let node = ctx.cluster().nodes()[0].clone();
    let shared = node.path("shared.txt");
    node.account().spawn(
        &format!(
            "while true; do echo zombie-bg >> {}; sleep 0.2; done",
            ducktape::remote::quote(&shared)
        ),
        Path::new("zombie-bg.log"),
    )?;
    for i in 0..60 {
        node.account()
            .ssh(&format!("echo zombie-{i} >> shared.txt"), false)?;
        let mut text = node.account().read_file(&shared).unwrap_or_default();
        text.extend_from_slice(format!("zombie-write-{i}\n").as_bytes());
        node.account().create_file(&shared, &text)?;
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// Takes the node after the zombie: clears the file, waits, and expects
/// nobody else wrote to it.
#[ducktape::test(cluster(num_nodes = 1))]
fn b_next_tenant(ctx: &TestContext) -> ducktape::Result<()> {
    let node = &ctx.cluster().nodes()[0];
    let shared = node.path("shared.txt");
    node.account().create_file(&shared, b"")?;
    std::thread::sleep(Duration::from_secs(3));
    let text = node.account().read_file(&shared)?;
    let lines: Vec<String> = String::from_utf8_lossy(&text)
        .lines()
        .map(str::to_string)
        .collect();
    ensure!(
        lines.is_empty(),
        "foreign writes on my node {}: {lines:?}",
        node.name()
    );
    Ok(())
}

/// Fails the first time with a message that says "timed out" (as a remote
/// command's timeout does), then passes: `--deflake` must rerun it.
#[ducktape::test(cluster(num_nodes = 0))]
fn flaky_remote_timeout(ctx: &TestContext) -> ducktape::Result<()> {
    let marker = ctx
        .global("flaky_marker")
        .and_then(|v| v.as_str())
        .context("--globals must set flaky_marker")?;
    if std::fs::metadata(marker).is_ok() {
        return Ok(());
    }
    std::fs::write(marker, b"failed once")?;
    bail!("worker1: `curl -s leader:8080` timed out after 1s and was killed")
}

/// A command that fails with 50 MB of standard error on one line.
#[ducktape::test(cluster(num_nodes = 1))]
fn huge_stderr(ctx: &TestContext) -> ducktape::Result<()> {
    let node = &ctx.cluster().nodes()[0];
    node.account()
        .ssh("head -c 50000000 /dev/zero | tr '\\0' x >&2; exit 3", false)?;
    Ok(())
}

/// Fails with a 50 MB message of its own, which ends in the cause.
#[ducktape::test(cluster(num_nodes = 0))]
fn huge_message(_ctx: &TestContext) -> ducktape::Result<()> {
    bail!("{}the real cause is at the end", "y".repeat(50_000_000))
}

/// Fails with terminal escapes in its message (a title change, a bell).
#[ducktape::test(cluster(num_nodes = 0))]
fn hostile_message(_ctx: &TestContext) -> ducktape::Result<()> {
    bail!("before \u{1b}]0;pwned\u{7} after \u{1b}[2J cleared")
}

/// Uses both its nodes directly, without services: utilization counts them.
#[ducktape::test(cluster(num_nodes = 2))]
fn uses_nodes_directly(ctx: &TestContext) -> ducktape::Result<()> {
    for node in ctx.cluster().nodes() {
        node.account().ssh("true", false)?;
    }
    Ok(())
}
