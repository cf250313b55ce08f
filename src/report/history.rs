//! Performance across sessions: each finished test is compared with the same
//! test in earlier sessions, metric by metric (its run time and every number
//! in its data), and a change beyond the threshold that also exceeds the
//! earlier sessions' own spread is recorded as a regression or improvement.
//!
//! The convention (README, "Performance history"):
//! - metrics: `run_time_seconds` and every number of the test's data, nested
//!   objects flattened with dotted names (`latency.p99_ms`); arrays, strings,
//!   booleans and keys starting with `_` are not metrics;
//! - direction: higher is better, unless the data declares it
//!   (`"_better": {"errors": "lower"}`) or the name says time: it ends in
//!   `_ms`, `_us`, `_ns`, `_s`, `_sec(s)`, `_seconds`, or contains `latency`,
//!   `time` or `duration` (run time itself is lower-is-better) and is not a
//!   rate (`ops_per_sec` holds `per_`: higher is better);
//! - baseline: the mean of the metric in the earlier sessions where the test
//!   passed; flagged when `|value - mean| > threshold × |mean|` and
//!   `|value - mean| > max - min` of the earlier values; a baseline of 0 is
//!   never compared; run-time changes under [`RUN_TIME_FLOOR`] are noise;
//!   with `--history K`, a test is compared once it has [`MIN_SESSIONS`]
//!   earlier values (or K, if fewer): one value has no spread, so any
//!   jitter beyond the threshold would be flagged. A `--baseline` is
//!   compared with whatever it holds: the user chose it.
//!
//! Cost per test is O(K), whatever the suite size and however many sessions
//! the results root keeps: the earlier sessions are chosen once per session
//! (its first process lists the root and keeps the choice in the session's
//! `.history-K.json`; the others read that), then each test reads its own
//! `report.json` in each of the last K sessions (the test directory is the
//! same relative path in every session). A `--baseline` report.json is
//! parsed once per process.

use super::error::{IoContext, ReportError};
use super::record::{ChangeKind, Regression, Status, TestRecord, Trend};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Run-time changes smaller than this (seconds) are never flagged: the run
/// time of a trivial test is scheduling noise.
pub const RUN_TIME_FLOOR: f64 = 0.05;
/// Earlier values a test needs under `--history` before it is compared.
pub const MIN_SESSIONS: usize = 3;
/// At most this many metrics of one test are compared and charted, so one
/// test returning a huge object cannot bloat every report.
const MAX_METRICS: usize = 32;
const RUN_TIME: &str = "run_time_seconds";

/// Where earlier results come from.
enum Source {
    /// Earlier session directories, oldest first: (name, dir).
    Sessions(Vec<(String, PathBuf)>),
    /// A `report.json` (ours, merged, or ducktape's): its name and
    /// `test_id` → result object.
    Report(String, HashMap<String, Value>),
}

/// The earlier results one process compares its tests with.
pub struct History {
    source: Source,
    threshold: f64,
    /// Fewer earlier values than this: not compared.
    min_earlier: usize,
}

/// A test's passing results in the earlier sessions, oldest first: read
/// before its record exists (while its body runs, see
/// [`History::earlier_results`]) and compared with it after.
pub struct EarlierResults(Vec<Point>);

/// One earlier result of a test: the session's name and its metrics.
struct Point {
    session: String,
    metrics: BTreeMap<String, f64>,
}

impl History {
    /// The last `k` sessions of `results_root` other than `current`, in
    /// session order (`YYYY-MM-DD--NNN`, numerically; other names after,
    /// by name). `threshold` is a fraction (0.2 = 20 %).
    pub fn from_root(
        results_root: &Path,
        current: &Path,
        k: usize,
        threshold: f64,
    ) -> Result<Self, ReportError> {
        let names = match read_chosen(results_root, current, k) {
            Some(names) => names,
            None => {
                let names = choose(results_root, current, k)?;
                // Best effort: a process that cannot write it chooses again.
                let _ = write_chosen(current, k, &names);
                names
            }
        };
        let sessions = names
            .into_iter()
            .map(|name| {
                let dir = results_root.join(&name);
                (name, dir)
            })
            .collect();
        Ok(History {
            source: Source::Sessions(sessions),
            threshold,
            min_earlier: k.clamp(1, MIN_SESSIONS),
        })
    }

    /// `--baseline PATH`: a session directory (each test reads its own
    /// report.json there) or a session `report.json` (read once).
    pub fn from_baseline(path: &Path, threshold: f64) -> Result<Self, ReportError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        if path.is_dir() {
            if !path.join("session.json").is_file() && !path.join("report.json").is_file() {
                return Err(ReportError::invalid(
                    path,
                    "not a session directory (no session.json or report.json)",
                ));
            }
            if !path.join("session.json").is_file() {
                return Self::from_baseline(&path.join("report.json"), threshold);
            }
            let source = Source::Sessions(vec![(name, path.to_path_buf())]);
            return Ok(History {
                source,
                threshold,
                min_earlier: 1,
            });
        }
        let text = std::fs::read_to_string(path).ctx("read baseline", path)?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| ReportError::invalid(path, format!("not a JSON report: {e}")))?;
        let results = value
            .get("results")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ReportError::invalid(path, "expected an object with a \"results\" array")
            })?;
        let mut by_id = HashMap::with_capacity(results.len());
        for (i, r) in results.iter().enumerate() {
            let id = r.get("test_id").and_then(Value::as_str).ok_or_else(|| {
                ReportError::invalid(path, format!("results[{i}] has no string \"test_id\""))
            })?;
            by_id.insert(id.to_owned(), r.clone());
        }
        let session = value
            .get("session_id")
            .and_then(Value::as_str)
            .map_or(name, str::to_owned);
        Ok(History {
            source: Source::Report(session, by_id),
            threshold,
            min_earlier: 1,
        })
    }

    /// Compares `r` with its earlier results: fills `r.history` (the trend)
    /// and `r.regressions`. Only passing runs are compared, and only with
    /// passing earlier runs. Returns whether any change is a regression.
    pub fn annotate(&self, r: &mut TestRecord) -> bool {
        let earlier = self.earlier_results(&r.test_id, &r.relative_results_dir);
        self.annotate_with(r, earlier)
    }

    /// [`History::annotate`] with the test's earlier results already read.
    pub fn annotate_with(&self, r: &mut TestRecord, earlier: EarlierResults) -> bool {
        if !matches!(r.test_status, Status::Pass | Status::Flaky) {
            return false;
        }
        let points = earlier.0;
        if points.is_empty() {
            return false;
        }
        let current = metrics(r.run_time_seconds, &r.data);
        let better = declared_directions(&r.data);
        let mut trend = Trend {
            sessions: points.iter().map(|p| p.session.clone()).collect(),
            metrics: BTreeMap::new(),
        };
        for (name, &value) in &current {
            let earlier: Vec<Option<f64>> = points
                .iter()
                .map(|p| p.metrics.get(name).copied())
                .collect();
            let known: Vec<f64> = earlier.iter().flatten().copied().collect();
            trend.metrics.insert(name.clone(), earlier);
            let lower = better
                .get(name)
                .copied()
                .unwrap_or_else(|| lower_is_better(name));
            if let Some(change) = self.compare(&r.test_id, name, value, &known, lower) {
                r.regressions.push(change);
            }
        }
        r.history = Some(trend);
        r.regressions
            .iter()
            .any(|c| c.kind == ChangeKind::Regression)
    }

    /// A regression or improvement of one metric, if the change is beyond
    /// the threshold and the earlier values' spread.
    fn compare(
        &self,
        test_id: &str,
        metric: &str,
        value: f64,
        earlier: &[f64],
        lower: bool,
    ) -> Option<Regression> {
        if earlier.len() < self.min_earlier.max(1) {
            return None;
        }
        let mean = earlier.iter().sum::<f64>() / earlier.len() as f64;
        let min = earlier.iter().copied().fold(f64::INFINITY, f64::min);
        let max = earlier.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let delta = value - mean;
        let beyond = delta.abs() > self.threshold * mean.abs() && delta.abs() > max - min;
        let noise = metric == RUN_TIME && delta.abs() < RUN_TIME_FLOOR;
        if mean == 0.0 || !beyond || noise {
            return None;
        }
        let worse = if lower { delta > 0.0 } else { delta < 0.0 };
        Some(Regression {
            test_id: test_id.to_owned(),
            metric: metric.to_owned(),
            kind: if worse {
                ChangeKind::Regression
            } else {
                ChangeKind::Improvement
            },
            baseline: mean,
            value,
            change: delta / mean.abs(),
            better: if lower { "lower" } else { "higher" }.to_owned(),
            sessions: earlier.len(),
        })
    }

    /// The passing results of test `test_id` (results in
    /// `relative_results_dir`) in the earlier sessions, oldest first.
    pub fn earlier_results(&self, test_id: &str, relative_results_dir: &str) -> EarlierResults {
        EarlierResults(self.points(test_id, relative_results_dir))
    }

    fn points(&self, test_id: &str, relative_results_dir: &str) -> Vec<Point> {
        let results: Vec<(String, Earlier)> = match &self.source {
            Source::Sessions(sessions) => sessions
                .iter()
                .filter_map(|(name, dir)| {
                    let path = dir.join(relative_results_dir).join("report.json");
                    let text = std::fs::read_to_string(path).ok()?;
                    Some((name.clone(), Earlier::from_report(&text)?))
                })
                .collect(),
            Source::Report(name, by_id) => by_id
                .get(test_id)
                .and_then(|v| Earlier::deserialize(v).ok())
                .map(|e| vec![(name.clone(), e)])
                .unwrap_or_default(),
        };
        results
            .into_iter()
            .filter_map(|(session, earlier)| {
                let same = earlier.test_id == test_id;
                let passed = matches!(earlier.test_status, Status::Pass | Status::Flaky);
                (same && passed).then(|| Point {
                    session,
                    metrics: metrics(earlier.run_time_seconds, &earlier.data),
                })
            })
            .collect()
    }
}

/// What an earlier result is compared by. The rest of its report is
/// skipped, not built: reading whole records was most of what the history
/// cost a test (once per earlier session).
#[derive(Debug, Deserialize, PartialEq)]
struct Earlier {
    test_id: String,
    test_status: Status,
    run_time_seconds: f64,
    #[serde(default)]
    data: Value,
}

impl Earlier {
    /// An earlier test's `report.json`, read by [`Earlier::from_own_report`]
    /// when it is one this crate wrote and holds no data, else parsed.
    fn from_report(text: &str) -> Option<Earlier> {
        Earlier::from_own_report(text).or_else(|| serde_json::from_str(text).ok())
    }

    /// The fields of a report in this crate's layout (pretty, two spaces):
    /// only a top-level key's line starts with two spaces and a quote (a
    /// JSON string holds no raw newline), and each of these fields is on
    /// one line. Only each value is parsed, not the rest (the trend and
    /// the other fields, most of the text): in the unoptimized profile
    /// tests are built in, a whole parse was most of the history's cost
    /// per test. `None` (parse it all) for data other than `null`, a field
    /// not found on its own line or found twice, or text that is not one
    /// object in that layout (another indent, cut short, more after it).
    /// The rest is not checked: this crate writes its reports whole (by
    /// rename), and a hand-edited one that breaks elsewhere is still read.
    fn from_own_report(text: &str) -> Option<Earlier> {
        let body = text.strip_prefix("{\n  \"")?;
        body.trim_end_matches('\n').strip_suffix("\n}")?;
        let (mut id, mut status, mut run_time, mut data) = (None, None, None, None);
        // Each field once: a repeated one is left to the whole parse.
        fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
            slot.replace(value).is_none().then_some(())
        }
        // Lines found with memchr and values read without serde_json: a
        // `split` and four small parses per line were most of this read in
        // the unoptimized profile, which runs once per test and earlier
        // session.
        let mut rest = text;
        while !rest.is_empty() {
            let end = crate::text::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
            let line = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or("");
            let Some(field) = line.strip_prefix("  \"") else {
                continue;
            };
            let value = |key: &str| {
                let v = field.strip_prefix(key)?.strip_prefix("\": ")?;
                Some(v.strip_suffix(',').unwrap_or(v))
            };
            if let Some(v) = value("test_id") {
                set(&mut id, json_string(v)?)?;
            } else if let Some(v) = value("test_status") {
                set(&mut status, json_status(v)?)?;
            } else if let Some(v) = value("run_time_seconds") {
                set(&mut run_time, json_number(v)?)?;
            } else if let Some(v) = value("data") {
                (v == "null").then_some(())?;
                set(&mut data, Value::Null)?;
            }
        }
        Some(Earlier {
            test_id: id?,
            test_status: status?,
            run_time_seconds: run_time?,
            data: data?,
        })
    }
}

/// A JSON string's value: its text between the quotes when it escapes
/// nothing, else serde_json's reading.
fn json_string(v: &str) -> Option<String> {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) if !inner.contains(['\\', '"']) => Some(inner.to_owned()),
        _ => serde_json::from_str(v).ok(),
    }
}

/// A status as this crate writes it (`"PASS"`).
fn json_status(v: &str) -> Option<Status> {
    match v {
        "\"PASS\"" => Some(Status::Pass),
        "\"FAIL\"" => Some(Status::Fail),
        "\"FLAKY\"" => Some(Status::Flaky),
        "\"IGNORE\"" => Some(Status::Ignore),
        _ => None,
    }
}

/// A finite JSON number. Rust's `f64` parse rounds correctly, as
/// serde_json's `float_roundtrip` does, so both read the same value; text
/// that is not a JSON number (`inf`, `+1`, `.5`) is left to the whole parse.
fn json_number(v: &str) -> Option<f64> {
    let b = v.as_bytes();
    let digits = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let starts = digits(0) || (b.first() == Some(&b'-') && digits(1));
    let chars = b.iter().all(|c| c.is_ascii_digit() || b"-+.eE".contains(c));
    let dot_ok = !v.contains(".e") && !v.contains(".E") && !v.ends_with('.');
    let x = v.parse::<f64>().ok().filter(|x| x.is_finite())?;
    (starts && chars && dot_ok).then_some(x)
}

/// The names of the last `k` sessions of `results_root` other than
/// `current` that have a `session.json`, oldest first. Costs a listing and
/// a sort of the whole root, which keeps every session ever run.
fn choose(results_root: &Path, current: &Path, k: usize) -> Result<Vec<String>, ReportError> {
    let mut dirs = Vec::new();
    let entries = std::fs::read_dir(results_root).ctx("list", results_root)?;
    for entry in entries.flatten() {
        // The entry's type comes with the listing: no stat per entry.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            dirs.push((order_key(&name), name, entry.path()));
        }
    }
    dirs.sort();
    // Newest first, stopping at `k`: only the candidates are stat'ed for
    // their `session.json`.
    let mut names: Vec<String> = dirs
        .into_iter()
        .rev()
        .filter(|(_, _, dir)| dir != current && dir.join("session.json").is_file())
        .take(k)
        .map(|(_, name, _)| name)
        .collect();
    names.reverse();
    Ok(names)
}

/// The file in a session's directory that keeps the earlier sessions its
/// tests compare with under `--history K`: its first process chooses them,
/// every later process (one per test under nextest) reads them instead of
/// listing the results root. One file per K: test binaries of one nextest
/// run may be given different K, and would otherwise undo each other's.
fn chosen_file(k: usize) -> String {
    format!(".history-{k}.json")
}
/// The longest `.history-K.json` read (bytes): K names of a few dozen bytes.
const MAX_CHOSEN: u64 = 64 << 10;

#[derive(serde::Serialize, Deserialize)]
struct Chosen {
    k: usize,
    sessions: Vec<String>,
}

/// The choice kept in `current` for this `k`; `None` if there is none, it
/// was made for another `k`, or it is not one [`choose`] could have made
/// (then it is made again).
fn read_chosen(results_root: &Path, current: &Path, k: usize) -> Option<Vec<String>> {
    let text = read_small_file(&current.join(chosen_file(k)))?;
    let chosen: Chosen = serde_json::from_str(&text).ok()?;
    let names = chosen.sessions;
    let distinct: std::collections::HashSet<&String> = names.iter().collect();
    let own = current
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let is_session = |n: &String| {
        // One plain path component, written as `choose` writes it (not
        // `X/`, which would name session X a second time).
        let one = !n.contains('/') && !matches!(n.as_str(), "" | "." | "..");
        // A real directory of the root (not a link out of it) with a
        // session.json: what `choose` takes. K stats, once per process.
        let dir = results_root.join(n);
        one && own.as_ref() != Some(n)
            && std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir())
            && dir.join("session.json").is_file()
    };
    let fits = chosen.k == k && names.len() <= k && distinct.len() == names.len();
    (fits && names.iter().all(is_session)).then_some(names)
}

/// A regular file's text, read only if it is one (not a link, FIFO or
/// device: opening a FIFO would block) and at most [`MAX_CHOSEN`] long.
fn read_small_file(path: &Path) -> Option<String> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_CHOSEN {
        return None;
    }
    let mut text = String::new();
    file.take(MAX_CHOSEN).read_to_string(&mut text).ok()?;
    Some(text)
}

fn write_chosen(current: &Path, k: usize, sessions: &[String]) -> Result<(), ReportError> {
    let chosen = Chosen {
        k,
        sessions: sessions.to_vec(),
    };
    match serde_json::to_vec(&chosen) {
        Ok(text) => super::fsutil::write_atomic(&current.join(chosen_file(k)), &text),
        Err(_) => Ok(()), // (never: a number and strings)
    }
}

/// Sorts `YYYY-MM-DD--NNN` by date then number (NNN may outgrow 3 digits);
/// other names (a merged session named by hand) after them, by name.
fn order_key(name: &str) -> (u8, String, u64) {
    if let Some((day, n)) = name.rsplit_once("--") {
        if let Ok(n) = n.parse::<u64>() {
            return (0, day.to_owned(), n);
        }
    }
    (1, name.to_owned(), 0)
}

/// A result's metrics: its run time and the numbers of its data.
fn metrics(run_time_seconds: f64, data: &Value) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    out.insert(RUN_TIME.to_owned(), run_time_seconds);
    flatten(data, "", &mut out);
    out
}

/// Numbers of `value` under dotted names (a bare number is `data`).
fn flatten(value: &Value, prefix: &str, out: &mut BTreeMap<String, f64>) {
    if out.len() >= MAX_METRICS {
        return;
    }
    match value {
        Value::Number(n) => {
            let name = if prefix.is_empty() { "data" } else { prefix };
            if let Some(x) = n.as_f64().filter(|x| x.is_finite()) {
                out.insert(name.to_owned(), x);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter().filter(|(k, _)| !k.starts_with('_')) {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, &name, out);
            }
        }
        _ => {}
    }
}

/// `"_better": {"metric": "lower" | "higher"}` in the data: metric → lower
/// is better.
fn declared_directions(data: &Value) -> HashMap<String, bool> {
    data.get("_better")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| match v.as_str() {
                    Some("lower") => Some((k.clone(), true)),
                    Some("higher") => Some((k.clone(), false)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a smaller value of `metric` is better, by its (dotted) name:
/// times and latencies are (`latency.p99`, `commit_ms`).
pub fn lower_is_better(metric: &str) -> bool {
    let name = metric.to_ascii_lowercase();
    // A rate (`ops_per_sec`, `msgs_per_s`) is a count per time: more is better.
    if name.contains("per_") {
        return false;
    }
    const SUFFIXES: [&str; 7] = ["_ms", "_us", "_ns", "_s", "_sec", "_secs", "_seconds"];
    SUFFIXES.iter().any(|s| name.ends_with(s))
        || ["latency", "time", "duration"]
            .iter()
            .any(|w| name.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A record as the history meets it, from JSON fields over defaults.
    fn record(fields: Value) -> TestRecord {
        let mut r = json!({
            "test_id": "m::t::a=1", "module_name": "m", "cls_name": "m",
            "function_name": "t", "injected_args": {"a": 1}, "test_status": "PASS",
            "summary": "Test Passed", "run_time_seconds": 0.125, "start_time": 1.0,
            "stop_time": 1.125, "nodes_allocated": 0, "nodes_used": 0,
            "relative_results_dir": "t/a=1/1/",
        });
        for (k, v) in fields.as_object().unwrap() {
            r[k] = v.clone();
        }
        serde_json::from_value(r).unwrap()
    }

    /// The quick read of an earlier report gives what a whole parse gives,
    /// or declines; it declines what it cannot read exactly.
    #[test]
    fn an_earlier_report_reads_as_a_whole_parse_would() {
        let trend = json!({"sessions": ["a"], "metrics": {"run_time_seconds": [0.5]}});
        let tricky = "m::t::s=\"\\n  \\\"test_status\\\": \\\"FAIL\\\",\",";
        let cases = [
            (json!({}), true),
            (
                json!({"test_status": "FLAKY", "history": trend, "run_time_seconds": 0.1 + 0.2}),
                true,
            ),
            (
                json!({"test_id": tricky, "summary": "\n  \"test_status\": \"FAIL\""}),
                true,
            ),
            (
                json!({"test_status": "FAIL", "description": "\"data\": {"}),
                true,
            ),
            (json!({"data": {"ops": 5, "nested": {"x": 1}}}), false),
            (json!({"data": 7.5}), false),
        ];
        for (fields, quick) in cases {
            let r = record(fields);
            let text = crate::report::json_report::test_json(&r);
            let whole: Earlier = serde_json::from_str(&text).unwrap();
            assert_eq!(whole.test_id, r.test_id);
            assert_eq!(Earlier::from_own_report(&text).is_some(), quick, "{text}");
            if let Some(q) = Earlier::from_own_report(&text) {
                assert_eq!(q, whole, "{text}");
            }
            assert_eq!(Earlier::from_report(&text), Some(whole));
        }
        // Not one object in this layout, or a field twice: the whole parse
        // decides (here: it refuses each).
        let text = crate::report::json_report::test_json(&record(json!({})));
        let one_space = text.replace("\n  ", "\n ");
        let twice = text.replacen("{\n", "{\n  \"test_status\": \"FAIL\",\n", 1);
        let cut = &text[..text.len() - 2];
        let more = format!("{text}\n{{}}");
        let listed = format!("[{text}]");
        for odd in [one_space.as_str(), &twice, cut, &more, &listed] {
            assert_eq!(Earlier::from_own_report(odd), None, "{odd}");
            assert_eq!(
                Earlier::from_report(odd),
                serde_json::from_str::<Earlier>(odd).ok()
            );
        }
        // Another layout (compact, or ducktape's) is parsed whole.
        let r = record(json!({}));
        let compact = serde_json::to_string(&r).unwrap();
        assert!(Earlier::from_own_report(&compact).is_none());
        assert_eq!(
            Earlier::from_report(&compact).unwrap().run_time_seconds,
            0.125
        );
        assert_eq!(Earlier::from_report("{\"test_id\": 1}"), None);
    }

    /// Run times as serde_json writes them read back to the same bits as
    /// its own parse gives; what is not a JSON number is declined.
    #[test]
    fn run_times_read_back_exactly() {
        let mut times = vec![0.0, 3.0, 0.1 + 0.2, 1e-7, 1.5e300, 5e-324, 123456.789];
        let mut x: f64 = 0.000_123;
        for _ in 0..200 {
            x = (x * 7.3 + 0.011).fract() * 10f64.powi((x * 1000.0) as i32 % 40 - 20);
            times.push(x);
        }
        for t in times {
            let r = record(json!({ "run_time_seconds": t }));
            let text = crate::report::json_report::test_json(&r);
            let quick = Earlier::from_own_report(&text).expect("read quickly");
            let whole: Earlier = serde_json::from_str(&text).unwrap();
            assert_eq!(
                quick.run_time_seconds.to_bits(),
                whole.run_time_seconds.to_bits()
            );
            assert_eq!(quick.run_time_seconds.to_bits(), t.to_bits(), "{text}");
        }
        for odd in [
            "inf", "NaN", "+1", ".5", "1.", "1.e5", "-", "1e999", "\"1\"", "0x1",
        ] {
            assert_eq!(json_number(odd), None, "{odd}");
        }
        assert_eq!(json_number("-2.5E+3"), Some(-2500.0));
        assert_eq!(json_status("\"PASS\""), Some(Status::Pass));
        assert_eq!(json_status("\"pass\""), None);
        assert_eq!(json_string("\"a\\\"b\""), Some("a\"b".to_string()));
        assert_eq!(json_string("\"a=1,b=2\""), Some("a=1,b=2".to_string()));
        assert_eq!(json_string("a"), None);
    }

    fn history(threshold: f64) -> History {
        History {
            source: Source::Report(String::new(), HashMap::new()),
            threshold,
            min_earlier: 1,
        }
    }

    #[test]
    fn directions_follow_the_name() {
        for lower in [
            "run_time_seconds",
            "latency.p99",
            "check_s",
            "commit_ms",
            "gc_time",
        ] {
            assert!(lower_is_better(lower), "{lower}");
        }
        for higher in [
            "throughput",
            "ops_per_sec",
            "msgs_per_s",
            "nodes",
            "records",
        ] {
            assert!(!lower_is_better(higher), "{higher}");
        }
        let d = declared_directions(&json!({"_better": {"errors": "lower", "x": "sideways"}}));
        assert_eq!(d.get("errors"), Some(&true));
        assert!(!d.contains_key("x"));
    }

    #[test]
    fn flattening_names_nested_numbers() {
        let mut out = BTreeMap::new();
        flatten(
            &json!({"a": {"b": 1, "c": "x"}, "d": [1], "_better": {}, "e": 2.5}),
            "",
            &mut out,
        );
        assert_eq!(
            out.into_iter().collect::<Vec<_>>(),
            [("a.b".to_owned(), 1.0), ("e".to_owned(), 2.5)]
        );
    }

    #[test]
    fn a_drop_beyond_threshold_and_spread_is_a_regression() {
        let h = history(0.2);
        let c = h
            .compare("t", "throughput", 40.0, &[100.0, 100.0, 100.0], false)
            .unwrap();
        assert_eq!(c.kind, ChangeKind::Regression);
        assert_eq!((c.baseline, c.value, c.sessions), (100.0, 40.0, 3));
        assert!((c.change + 0.6).abs() < 1e-12);
        // Within the threshold, or within the earlier spread: not flagged.
        assert!(h
            .compare("t", "throughput", 90.0, &[100.0], false)
            .is_none());
        assert!(h
            .compare("t", "throughput", 70.0, &[60.0, 140.0], false)
            .is_none());
        // Faster is better for times; tiny run-time changes are noise.
        let faster = h
            .compare("t", "commit_ms", 5.0, &[10.0, 10.0], true)
            .unwrap();
        assert_eq!(faster.kind, ChangeKind::Improvement);
        assert!(h.compare("t", RUN_TIME, 0.004, &[0.001], true).is_none());
        assert!(h.compare("t", "errors", 3.0, &[0.0], true).is_none());
    }

    #[test]
    fn under_history_a_test_needs_three_earlier_values_or_k() {
        let root = tempfile::tempdir().unwrap();
        let current = root.path().join("now");
        let drop = |h: &History, earlier: &[f64]| {
            h.compare("t", "throughput", 40.0, earlier, false).is_some()
        };
        let h = History::from_root(root.path(), &current, 5, 0.2).unwrap();
        assert!(!drop(&h, &[100.0]));
        assert!(!drop(&h, &[100.0, 100.0]));
        assert!(drop(&h, &[100.0, 100.0, 100.0]));
        // Asked for fewer sessions: that many will do.
        let h = History::from_root(root.path(), &current, 1, 0.2).unwrap();
        assert!(drop(&h, &[100.0]));
        // A chosen baseline of one session is compared.
        let base = root.path().join("base");
        std::fs::create_dir(&base).unwrap();
        std::fs::write(base.join("session.json"), "{}").unwrap();
        let h = History::from_baseline(&base, 0.2).unwrap();
        assert!(drop(&h, &[100.0]));
    }

    #[test]
    fn the_last_k_sessions_are_the_newest_with_a_session_json() {
        let root = tempfile::tempdir().unwrap();
        let session = |name: &str, with_json: bool| {
            let dir = root.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            if with_json {
                std::fs::write(dir.join("session.json"), "{}").unwrap();
            }
            dir
        };
        for n in 1..=30 {
            session(&format!("2026-01-01--{n:03}"), true);
        }
        session("2026-01-02--001", true);
        session("2026-01-02--002", false); // interrupted before its state
        let current = session("2026-01-02--003", true);
        std::fs::write(root.path().join("2026-01-02--004"), "").unwrap(); // a file
        session(".ducktape", false);
        let h = History::from_root(root.path(), &current, 3, 0.2).unwrap();
        let Source::Sessions(chosen) = &h.source else {
            panic!("sessions expected")
        };
        let names: Vec<&str> = chosen.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["2026-01-01--029", "2026-01-01--030", "2026-01-02--001"]
        );
        let all = History::from_root(root.path(), &current, 100, 0.2).unwrap();
        let Source::Sessions(all) = &all.source else {
            panic!("sessions expected")
        };
        assert_eq!(all.len(), 31, "every finished session but the current one");
        assert_eq!(all[0].0, "2026-01-01--001");
    }

    /// The session's first process chooses; later ones (a nextest process
    /// per test) read the choice, so a results root of many sessions is
    /// listed once per session, and every test of it compares with the same
    /// sessions even when a newer one appears meanwhile.
    #[test]
    fn the_choice_is_made_once_per_session() {
        let root = tempfile::tempdir().unwrap();
        let session = |name: &str| {
            let dir = root.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("session.json"), "{}").unwrap();
            dir
        };
        let names = |h: &History| match &h.source {
            Source::Sessions(s) => s.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
            Source::Report(..) => panic!("sessions expected"),
        };
        session("2026-01-01--001");
        session("2026-01-01--002");
        let current = session("2026-01-01--003");
        let first = History::from_root(root.path(), &current, 5, 0.2).unwrap();
        assert_eq!(names(&first), ["2026-01-01--001", "2026-01-01--002"]);
        let kept_5 = current.join(chosen_file(5));
        assert!(kept_5.is_file());
        // Not listed again: a session that appears meanwhile is not seen ...
        session("2026-01-01--000");
        let later = History::from_root(root.path(), &current, 5, 0.2).unwrap();
        assert_eq!(names(&later), names(&first));
        // ... unless another K is asked for (K = 1 takes the newest only),
        // which keeps a choice of its own and leaves K = 5's alone,
        let other_k = History::from_root(root.path(), &current, 1, 0.2).unwrap();
        assert_eq!(names(&other_k), ["2026-01-01--002"]);
        let again = History::from_root(root.path(), &current, 5, 0.2).unwrap();
        assert_eq!(names(&again), names(&first));
        // or the kept choice is damaged, or names what `choose` never
        // would: outside the root, through a link, twice, more than K, the
        // session itself.
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("session.json"), "{}").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("elsewhere")).unwrap();
        let huge = format!("{{\"k\":5,\"sessions\":[\"{}\"]}}", "x".repeat(2 << 20));
        let kept = |names: &[&str]| serde_json::json!({ "k": 5, "sessions": names }).to_string();
        let bad = [
            "{\"k\":5,".to_string(),
            kept(&["../../etc"]),
            huge,
            kept(&["elsewhere"]),
            kept(&["2026-01-01--001", "2026-01-01--001", "2026-01-01--001"]),
            kept(&["2026-01-01--001", "2026-01-01--001/", "2026-01-01--001/."]),
            kept(&["2026-01-01--002/"]),
            kept(&["2026-01-01--003"]),
            kept(&["latest"]),
        ];
        for text in bad {
            std::fs::write(&kept_5, &text).unwrap();
            let h = History::from_root(root.path(), &current, 5, 0.2).unwrap();
            assert_eq!(
                names(&h),
                ["2026-01-01--000", "2026-01-01--001", "2026-01-01--002"],
                "{}",
                &text[..text.len().min(80)]
            );
        }
        // More names than K.
        let three = r#"{"k":2,"sessions":["2026-01-01--000","2026-01-01--001","2026-01-01--002"]}"#;
        std::fs::write(current.join(chosen_file(2)), three).unwrap();
        let h = History::from_root(root.path(), &current, 2, 0.2).unwrap();
        assert_eq!(names(&h), ["2026-01-01--001", "2026-01-01--002"]);
        // A FIFO in its place is not opened for reading (that would block).
        std::fs::remove_file(&kept_5).unwrap();
        let fifo = std::ffi::CString::new(kept_5.into_os_string().into_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let h = History::from_root(root.path(), &current, 5, 0.2).unwrap();
        assert_eq!(names(&h).len(), 3);
    }

    #[test]
    fn sessions_sort_by_date_then_number() {
        let mut names = [
            "2026-01-02--002",
            "merged",
            "2026-01-02--1000",
            "2026-01-01--999",
        ];
        names.sort_by_key(|n| order_key(n));
        assert_eq!(
            names,
            [
                "2026-01-01--999",
                "2026-01-02--002",
                "2026-01-02--1000",
                "merged"
            ]
        );
    }
}
