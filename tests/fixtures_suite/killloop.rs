//! 500 trivial cases for the kill loop (`tests/integration/kill_loop.rs`): a run
//! that appends to the session reports as fast as the harness can, so that
//! random SIGKILLs land mid-append.

use ducktape::prelude::*;

#[ducktape::test(
    cluster(num_nodes = 0),
    matrix(a = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19], b = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24])
)]
fn case(_ctx: &TestContext, a: i64, b: i64) -> ducktape::Result<serde_json::Value> {
    Ok(serde_json::json!({"sum": a + b}))
}
