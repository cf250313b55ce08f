//! Per-test and per-session result records: the data every report is built from.
//!
//! Field names follow ducktape 0.17's `report.json` so tools that read
//! ducktape's reports read ours.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The final status of one test case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Passed on its first run.
    #[serde(rename = "PASS")]
    Pass,
    /// Failed on every run.
    #[serde(rename = "FAIL")]
    Fail,
    /// Failed, then passed on a `--deflake` rerun.
    #[serde(rename = "FLAKY")]
    Flaky,
    /// Not run: an `ignore` or `env` mark.
    #[serde(rename = "IGNORE")]
    Ignore,
}

impl Status {
    /// `PASS`, `FAIL`, `FLAKY` or `IGNORE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Flaky => "FLAKY",
            Status::Ignore => "IGNORE",
        }
    }
}

/// One test case's result, as written to its `report.json` and appended to
/// the session's reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestRecord {
    /// Unique id: the trial name (`module::fn::a=1,b=x`).
    pub test_id: String,
    /// Module path without the crate (ducktape: the Python module).
    pub module_name: String,
    /// ducktape's test class; here the module path, so JUnit groups by module.
    pub cls_name: String,
    /// The test function's name.
    pub function_name: String,
    /// The case's arguments as an object, or null.
    pub injected_args: Value,
    /// Doc comment of the test, if any.
    #[serde(default)]
    pub description: String,
    /// Final status.
    pub test_status: Status,
    /// `Test Passed`, the failure message, or why it was ignored.
    pub summary: String,
    /// Wall time of the last attempt, seconds.
    pub run_time_seconds: f64,
    /// Unix time the test started, seconds.
    pub start_time: f64,
    /// Unix time the test stopped, seconds.
    pub stop_time: f64,
    /// What the test returned, or null.
    #[serde(default)]
    pub data: Value,
    /// Nodes the test declared (and was given).
    pub nodes_allocated: usize,
    /// Nodes its services actually used.
    pub nodes_used: usize,
    /// Test directory relative to the session directory, ending in `/`.
    pub relative_results_dir: String,
    /// Services the test started: `{service_id, nodes}` objects.
    #[serde(default)]
    pub services: Vec<Value>,
    /// How many times the test ran (more than 1 with `--deflake`).
    #[serde(default = "one")]
    pub attempts: u32,
    /// Faults injected during the test, in order.
    #[serde(default)]
    pub faults: Vec<Value>,
    /// What went wrong tearing the test down (a service's stop or clean
    /// failed or hung, logs not collected, a node not fenced): the test
    /// keeps its status unless `--fail-on-teardown-error`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teardown_problems: Vec<String>,
    /// Failure messages of earlier attempts of a test that passed or failed
    /// on a `--deflake` rerun, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_failures: Vec<String>,
}

fn one() -> u32 {
    1
}

/// Session-wide facts the reports show in their header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// `YYYY-MM-DD--NNN`.
    pub session_id: String,
    /// Version of ducktape-rs that ran the session.
    pub ducktape_version: String,
    /// Nodes in the cluster (0 when unbounded).
    pub cluster_num_nodes: usize,
    /// The options that shaped the run (ducktape's `session_context`).
    pub session_context: Value,
}
