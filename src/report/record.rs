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
#[non_exhaustive]
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
    /// The test binary as nextest names it (`<package>::<target>`): JUnit
    /// reports use it as the class name, as nextest's do.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub binary: String,
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
    /// Names of the nodes the test held, for the report's timeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// In a merged session: the shard (session directory name) that ran it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub shard: String,
    /// In a merged session: the host name of the machine that ran it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// Metrics that changed beyond the threshold and the earlier sessions'
    /// spread (see `report::history`): regressions and improvements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regressions: Vec<Regression>,
    /// This test's metrics in the earlier sessions it was compared with,
    /// oldest first, for the report's trend charts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Trend>,
}

impl TestRecord {
    /// The first float field that is not finite (JSON has no such number:
    /// it would be written as `null` and not read back), if any.
    pub(crate) fn non_finite_float(&self) -> Option<&'static str> {
        let times = [
            ("run_time_seconds", self.run_time_seconds),
            ("start_time", self.start_time),
            ("stop_time", self.stop_time),
        ];
        let regressions = self.regressions.iter().flat_map(|c| {
            [
                ("regressions.baseline", c.baseline),
                ("regressions.value", c.value),
                ("regressions.change", c.change),
            ]
        });
        let history = self.history.iter().flat_map(|t| {
            t.metrics
                .values()
                .flatten()
                .flatten()
                .map(|&x| ("history.metrics", x))
        });
        times
            .into_iter()
            .chain(regressions)
            .chain(history)
            .find(|(_, x)| !x.is_finite())
            .map(|(name, _)| name)
    }
}

/// Whether a change of a metric is for the worse or the better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Worse than the earlier sessions.
    Regression,
    /// Better than the earlier sessions.
    Improvement,
}

/// One metric of one test that moved beyond the threshold and beyond the
/// spread of the earlier sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Regression {
    /// The test's id.
    pub test_id: String,
    /// `run_time_seconds`, or a data field (nested names dotted: `a.b`).
    pub metric: String,
    /// Regression or improvement.
    pub kind: ChangeKind,
    /// Mean of the earlier sessions' values.
    pub baseline: f64,
    /// This session's value.
    pub value: f64,
    /// Relative change, `(value - baseline) / |baseline|` (-0.6 is 60 % less).
    pub change: f64,
    /// `higher` or `lower`: which direction is better for this metric.
    pub better: String,
    /// How many earlier sessions the baseline is the mean of.
    pub sessions: usize,
}

impl Regression {
    /// `throughput 100 -> 40 (-60.0%, higher is better, 3 sessions)`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} -> {} ({:+.1}%, {} is better, baseline of {} session{})",
            self.metric,
            short(self.baseline),
            short(self.value),
            self.change * 100.0,
            self.better,
            self.sessions,
            if self.sessions == 1 { "" } else { "s" }
        )
    }
}

/// A number in at most 4 significant decimals, without trailing zeros.
fn short(x: f64) -> String {
    let text = format!("{x:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_owned()
}

/// A test's metrics across the earlier sessions: `sessions[i]` holds
/// `metrics[name][i]` (null where the metric was absent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Trend {
    /// Session ids (or names), oldest first.
    pub sessions: Vec<String>,
    /// Metric name → one value per session.
    pub metrics: std::collections::BTreeMap<String, Vec<Option<f64>>>,
}

fn one() -> u32 {
    1
}

/// Session-wide facts the reports show in their header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionMeta {
    /// `YYYY-MM-DD--NNN`.
    pub session_id: String,
    /// Version of ducktape-rs that ran the session.
    pub ducktape_version: String,
    /// Nodes in the cluster (0 when unbounded).
    pub cluster_num_nodes: usize,
    /// The options that shaped the run (ducktape's `session_context`).
    pub session_context: Value,
    /// Host name of the machine that created the session.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    /// A merged session: what was merged and what was found (see
    /// `report::merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeInfo>,
}

/// How a merged session came to be: its shards, and the tests that ran
/// more than once or not at all.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MergeInfo {
    /// One `{name, path, host, session_id, records}` object per shard.
    pub shards: Vec<Value>,
    /// Tests of the binary's suite that no shard ran.
    pub missing: Vec<String>,
    /// Tests more than one shard ran: `{test_id, relative_results_dir,
    /// kept, also}` (shard names); the first shard's record is kept.
    pub duplicates: Vec<Value>,
}
