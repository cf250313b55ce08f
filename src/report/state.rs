//! `.report-state.json`: the running totals that let each finished test
//! update the session reports in O(1), plus the byte offsets of the parts of
//! the report files that get rewritten in place.

use super::error::{IoContext, ReportError};
use super::fsutil;
use super::jsonfmt::JsonText;
use super::record::{Regression, Status, TestRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
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
    fn write_summary(&self, w: &mut JsonText, n: u64, integer: bool) {
        let num = |w: &mut JsonText, x: Option<f64>| match x {
            Some(x) if integer => w.uint(x as u64),
            Some(x) => w.float(x),
            None => w.raw("null"),
        };
        w.begin('{');
        w.key("max");
        num(w, self.max);
        w.key("mean");
        match (n > 0).then(|| self.sum / n as f64) {
            Some(mean) => w.float(mean),
            None => w.raw("null"),
        }
        w.key("min");
        num(w, self.min);
        w.end('}');
    }

    /// `{"sum","min","max"}` as the state file keeps them.
    fn write_exact(&self, w: &mut JsonText) {
        w.begin('{');
        w.key("sum");
        exact::write(w, Some(self.sum));
        w.key("min");
        exact::write(w, self.min);
        w.key("max");
        exact::write(w, self.max);
        w.end('}');
    }
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

    /// Cluster utilization (node-seconds used over the cluster's in the
    /// session's wall time) and parallelism (test time over wall time).
    fn utilization_and_parallelism(&self, cluster_num_nodes: usize) -> (f64, f64) {
        let wall = self.wall_time();
        if wall <= 0.0 {
            return (0.0, 0.0);
        }
        let util = if cluster_num_nodes > 0 {
            self.node_seconds / (cluster_num_nodes as f64 * wall)
        } else {
            0.0
        };
        (util, self.run_time.sum / wall)
    }

    /// The summary fields of ducktape's session `report.json`, as a pretty
    /// object in sorted key order (written by hand, as a record is: see
    /// [`JsonText`]).
    pub fn summary_json(&self, cluster_num_nodes: usize) -> String {
        let wall = self.wall_time();
        let (utilization, parallelism) = self.utilization_and_parallelism(cluster_num_nodes);
        let time = |w: &mut JsonText, t: Option<f64>| match t {
            Some(t) => w.float(t),
            None => w.raw("null"),
        };
        let mut out = JsonText::pretty(0);
        let w = &mut out;
        w.begin('{');
        w.key("cluster_nodes_allocated");
        self.nodes_allocated.write_summary(w, self.tests, true);
        w.key("cluster_nodes_used");
        self.nodes_used.write_summary(w, self.tests, true);
        w.key("cluster_utilization");
        w.float(utilization);
        w.uint_fields(&[
            ("num_failed", self.failed),
            ("num_flaky", self.flaky),
            ("num_ignored", self.ignored),
            ("num_passed", self.passed),
        ]);
        w.key("parallelism");
        w.float(parallelism);
        if !self.regressions.is_empty() {
            w.key("regressions");
            w.value(&serde_json::to_value(&self.regressions).unwrap_or(Value::Null));
        }
        w.key("run_time_seconds");
        w.float(wall);
        w.key("run_time_statistics");
        self.run_time.write_summary(w, self.tests, false);
        w.key("start_time");
        time(w, self.start_time);
        w.key("stop_time");
        time(w, self.stop_time);
        w.end('}');
        out.finish()
    }

    /// The state as compact JSON, byte for byte what its `Serialize` gives
    /// (a unit test holds them equal), written by hand: it is saved after
    /// every test under nextest, and serde's path was ~0.2M instructions
    /// unoptimized.
    fn to_json(&self) -> String {
        if !self.regressions.is_empty() {
            // Rare (only flagged changes): the generic path.
            return serde_json::to_string(self).unwrap_or_default();
        }
        let mut out = JsonText::compact();
        let w = &mut out;
        w.begin('{');
        w.uint_fields(&[
            ("records_len", self.records_len),
            ("tests", self.tests),
            ("passed", self.passed),
            ("failed", self.failed),
            ("flaky", self.flaky),
            ("ignored", self.ignored),
        ]);
        w.key("start_time");
        exact::write(w, self.start_time);
        w.key("stop_time");
        exact::write(w, self.stop_time);
        w.key("run_time");
        self.run_time.write_exact(w);
        w.key("nodes_allocated");
        self.nodes_allocated.write_exact(w);
        w.key("nodes_used");
        self.nodes_used.write_exact(w);
        w.key("node_seconds");
        exact::write(w, Some(self.node_seconds));
        w.uint_fields(&[
            ("txt_header_len", self.txt_header_len),
            ("txt_end", self.txt_end),
            ("json_results_end", self.json_results_end),
            ("xml_header_len", self.xml_header_len),
            ("xml_cases_end", self.xml_cases_end),
            ("js_end", self.js_end),
        ]);
        w.end('}');
        out.finish()
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
        let json = self.to_json();
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
    use super::JsonText;
    use serde::{Deserialize, Deserializer, Serializer};

    /// What [`serialize`] (or `exact_opt`'s, for `None`) gives, written by hand.
    pub fn write(w: &mut JsonText, x: Option<f64>) {
        match x {
            Some(x) => w.string(&format!("{x:?}")),
            None => w.raw("null"),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::jsonfmt::pretty_indented;
    use crate::report::record::ChangeKind;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn record(fields: Value) -> TestRecord {
        serde_json::from_value(fields).unwrap()
    }

    /// States to write: empty, after a few tests, with a regression.
    fn states() -> Vec<State> {
        let mut states = vec![State::default()];
        let mut s = State {
            records_len: 1234,
            txt_header_len: 11,
            txt_end: 900,
            json_results_end: 77,
            xml_header_len: 5,
            xml_cases_end: 66,
            js_end: 3,
            ..State::default()
        };
        for (i, status) in ["PASS", "FAIL", "FLAKY", "IGNORE"].into_iter().enumerate() {
            s.add(&record(json!({
                "test_id": format!("m::t{i}"), "module_name": "m", "cls_name": "m",
                "function_name": "t", "injected_args": null, "test_status": status,
                "summary": "s", "run_time_seconds": 0.1 + i as f64 / 3.0,
                "start_time": 1796317692.7676206 + i as f64, "stop_time": 1796317693.1 + i as f64,
                "nodes_allocated": i, "nodes_used": i / 2, "relative_results_dir": "t/1/",
            })));
            states.push(s.clone());
        }
        let mut flagged = s.clone();
        flagged.regressions.push(Regression {
            test_id: "m::t0".into(),
            metric: "ops".into(),
            kind: ChangeKind::Regression,
            baseline: 10.0,
            value: 4.5,
            change: -0.55,
            better: "higher".into(),
            sessions: 3,
        });
        states.push(flagged);
        states
    }

    #[test]
    fn the_hand_written_state_is_its_serialization() {
        for s in states() {
            assert_eq!(s.to_json(), serde_json::to_string(&s).unwrap());
            let path = tempfile::NamedTempFile::new().unwrap();
            s.save(path.path()).unwrap();
            assert_eq!(State::load(path.path()).unwrap(), s);
        }
    }

    /// The summary fields as they were made before they were written by
    /// hand: `Value`s, keys sorted, serde_json's pretty printer.
    fn generic_summary(s: &State, nodes: usize) -> String {
        let stats = |st: &Stats, integer: bool| {
            let num = |x: Option<f64>| match x {
                Some(x) if integer => json!(x as u64),
                Some(x) => json!(x),
                None => Value::Null,
            };
            let mean = (s.tests > 0).then(|| st.sum / s.tests as f64);
            json!({"max": num(st.max), "mean": mean, "min": num(st.min)})
        };
        let wall = s.wall_time();
        let (util, par) = s.utilization_and_parallelism(nodes);
        let mut m: BTreeMap<&str, Value> = BTreeMap::new();
        m.insert("cluster_nodes_allocated", stats(&s.nodes_allocated, true));
        m.insert("cluster_nodes_used", stats(&s.nodes_used, true));
        m.insert("cluster_utilization", json!(util));
        m.insert("num_failed", json!(s.failed));
        m.insert("num_flaky", json!(s.flaky));
        m.insert("num_ignored", json!(s.ignored));
        m.insert("num_passed", json!(s.passed));
        m.insert("parallelism", json!(par));
        if !s.regressions.is_empty() {
            m.insert("regressions", serde_json::to_value(&s.regressions).unwrap());
        }
        m.insert("run_time_seconds", json!(wall));
        m.insert("run_time_statistics", stats(&s.run_time, false));
        m.insert("start_time", json!(s.start_time));
        m.insert("stop_time", json!(s.stop_time));
        pretty_indented(&m, 0)
    }

    #[test]
    fn the_hand_written_summary_is_the_generic_one() {
        for s in states() {
            for nodes in [0, 3] {
                assert_eq!(s.summary_json(nodes), generic_summary(&s, nodes));
            }
        }
    }
}
