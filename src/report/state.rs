//! `.report-state.json`: the running totals that let each finished test
//! update the session reports in O(1), plus the byte offsets of the parts of
//! the report files that get rewritten in place.

use super::error::{IoContext, ReportError};
use super::fsutil;
use super::record::{Regression, Status, TestRecord};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

/// min / max / sum over the tests so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stats {
    #[serde(with = "exact")]
    pub sum: f64,
    #[serde(with = "exact_opt")]
    pub min: Option<f64>,
    #[serde(with = "exact_opt")]
    pub max: Option<f64>,
}

impl Stats {
    fn add(&mut self, x: f64) {
        self.sum += x;
        self.min = Some(self.min.map_or(x, |m| m.min(x)));
        self.max = Some(self.max.map_or(x, |m| m.max(x)));
    }

    /// ducktape's `{"max", "mean", "min"}` (nulls when empty); `integer`
    /// prints min/max as integers, as Python does for node counts.
    fn to_json(&self, n: u64, integer: bool) -> Value {
        let num = |x: Option<f64>| match x {
            Some(x) if integer => json!(x as u64),
            Some(x) => json!(x),
            None => Value::Null,
        };
        let mean = (n > 0).then(|| self.sum / n as f64);
        json!({"max": num(self.max), "mean": mean, "min": num(self.min)})
    }
}

/// The summary fields of the session `report.json`, in sorted key order
/// (serialized straight to text; nested objects as `Value`s are, sorted).
#[derive(Serialize)]
pub(crate) struct SummaryFields {
    cluster_nodes_allocated: Value,
    cluster_nodes_used: Value,
    cluster_utilization: f64,
    num_failed: u64,
    num_flaky: u64,
    num_ignored: u64,
    num_passed: u64,
    parallelism: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    regressions: Option<Value>,
    run_time_seconds: f64,
    run_time_statistics: Value,
    start_time: Option<f64>,
    stop_time: Option<f64>,
}

/// Totals over the records appended so far, and where to rewrite the files.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    /// Bytes of `records.jsonl` these totals cover.
    pub records_len: u64,
    pub tests: u64,
    pub passed: u64,
    pub failed: u64,
    pub flaky: u64,
    pub ignored: u64,
    /// Earliest test start / latest test stop, Unix seconds.
    #[serde(with = "exact_opt")]
    pub start_time: Option<f64>,
    #[serde(with = "exact_opt")]
    pub stop_time: Option<f64>,
    pub run_time: Stats,
    pub nodes_allocated: Stats,
    pub nodes_used: Stats,
    /// Σ nodes_used × run time, for cluster utilization.
    #[serde(with = "exact")]
    pub node_seconds: f64,
    /// Length of the fixed-size header of `report.txt`.
    pub txt_header_len: u64,
    /// Length of `report.txt` (where the next result goes). 0 in a file of
    /// an older version, which had no such offset: such a state is rebuilt.
    #[serde(default)]
    pub txt_end: u64,
    /// Offset just past the last result in `report.json`.
    pub json_results_end: u64,
    /// Length of the fixed-size header of `report.xml`.
    pub xml_header_len: u64,
    /// Offset just past the last `<testcase>` in `report.xml`.
    pub xml_cases_end: u64,
    /// Length of `report.js` (0 in an older version's file, as `txt_end`).
    #[serde(default)]
    pub js_end: u64,
    /// Every regression and improvement so far (few: only flagged changes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regressions: Vec<Regression>,
    /// Loaded from a file of an older version (whole JSON, replaced by
    /// rename, no checksum line): the next save replaces it by rename too,
    /// since an in-place write torn over it could not be told from it.
    #[serde(skip)]
    pub legacy_file: bool,
}

impl State {
    /// Counts one more test.
    pub fn add(&mut self, r: &TestRecord) {
        self.tests += 1;
        match r.test_status {
            Status::Pass => self.passed += 1,
            Status::Fail => self.failed += 1,
            Status::Flaky => self.flaky += 1,
            Status::Ignore => self.ignored += 1,
        }
        // Ignored tests may carry no times (0): they must not stretch the session.
        if r.start_time > 0.0 {
            self.start_time = Some(
                self.start_time
                    .map_or(r.start_time, |t| t.min(r.start_time)),
            );
        }
        if r.stop_time > 0.0 {
            self.stop_time = Some(self.stop_time.map_or(r.stop_time, |t| t.max(r.stop_time)));
        }
        self.run_time.add(r.run_time_seconds);
        self.nodes_allocated.add(r.nodes_allocated as f64);
        self.nodes_used.add(r.nodes_used as f64);
        self.node_seconds += r.nodes_used as f64 * r.run_time_seconds;
        self.regressions.extend(r.regressions.iter().cloned());
    }

    /// Whether every write offset is known, so the reports can be brought
    /// up to date from this state by writing at those offsets (a state of an
    /// older version lacks some and needs a rebuild).
    pub fn has_offsets(&self) -> bool {
        self.txt_end > 0 && self.js_end > 0
    }

    /// Session wall time: first start to last stop (0 before any test).
    pub fn wall_time(&self) -> f64 {
        match (self.start_time, self.stop_time) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => 0.0,
        }
    }

    /// The summary fields of ducktape's session `report.json`.
    pub fn summary_fields(&self, cluster_num_nodes: usize) -> SummaryFields {
        let wall = self.wall_time();
        let (utilization, parallelism) = if wall > 0.0 {
            let util = if cluster_num_nodes > 0 {
                self.node_seconds / (cluster_num_nodes as f64 * wall)
            } else {
                0.0
            };
            (util, self.run_time.sum / wall)
        } else {
            (0.0, 0.0)
        };
        SummaryFields {
            cluster_nodes_allocated: self.nodes_allocated.to_json(self.tests, true),
            cluster_nodes_used: self.nodes_used.to_json(self.tests, true),
            cluster_utilization: utilization,
            num_failed: self.failed,
            num_flaky: self.flaky,
            num_ignored: self.ignored,
            num_passed: self.passed,
            parallelism,
            regressions: (!self.regressions.is_empty())
                .then(|| serde_json::to_value(&self.regressions).unwrap_or(Value::Null)),
            run_time_seconds: wall,
            run_time_statistics: self.run_time.to_json(self.tests, false),
            start_time: self.start_time,
            stop_time: self.stop_time,
        }
    }

    /// Loads a state [`save`](Self::save) wrote; a torn one (checksum line
    /// wrong, or no whole JSON) is an error, which makes the caller rebuild.
    /// A file without a checksum line is an older version's (or a write cut
    /// just before its checksum, whose JSON is whole: compact JSON has no
    /// valid proper prefix) and is read as it is.
    pub fn load(path: &Path) -> Result<State, ReportError> {
        let text = fsutil::read_string(path)?;
        let bad = |why: String| ReportError::invalid(path, why);
        let parse =
            |json: &str| serde_json::from_str::<State>(json).map_err(|e| bad(e.to_string()));
        match text.trim_end().rsplit_once('\n') {
            Some((json, sum)) if sum.starts_with('#') => {
                if sum != checksum(json) {
                    return Err(bad("checksum mismatch (a write was cut short)".into()));
                }
                parse(json)
            }
            // An older version's file, written whole by rename.
            _ => Ok(State {
                legacy_file: true,
                ..parse(&text)?
            }),
        }
    }

    /// Writes the state (compact JSON: it is rewritten per test) over the old
    /// one in place: one open and one write, no temporary file and rename per
    /// test. The text ends in a checksum line, and is padded with spaces to
    /// the old file's length (so no truncation is needed and no old byte
    /// survives past the new text), so a write cut short is detected by
    /// [`load`](Self::load). Readers hold the session lock.
    pub fn save(&self, path: &Path) -> Result<(), ReportError> {
        let json =
            serde_json::to_string(self).map_err(|e| ReportError::invalid(path, e.to_string()))?;
        let mut text = format!("{json}\n{}\n", checksum(&json)).into_bytes();
        if self.legacy_file {
            return fsutil::write_atomic(path, &text);
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .ctx("open", path)?;
        let old_len = file.metadata().ctx("stat", path)?.len() as usize;
        if text.len() < old_len {
            text.resize(old_len, b' ');
        }
        file.write_all(&text).ctx("write", path)
    }
}

/// `#` and the FNV-1a hash of the state's JSON text, in hex.
fn checksum(json: &str) -> String {
    format!("#{:016x}", super::session_dir::fnv1a(json.as_bytes()))
}

/// f64 stored as its shortest decimal text and parsed back with Rust's
/// correctly rounded parser, so a save/load round trip is bit-exact (serde_json's
/// default float parser is not guaranteed to be). Incremental reports and a
/// rebuild must agree to the byte.
mod exact {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{x:?}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

mod exact_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(x) => super::exact::serialize(x, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| t.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}
