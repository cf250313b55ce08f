//! ducktape's session `report.json`, laid out so that appending a result is
//! O(1): the constant fields come first, then `"results": [`, then the
//! summary fields, which are rewritten after each new result.

use super::jsonfmt::pretty_indented;
use super::record::{SessionMeta, TestRecord};
use super::state::State;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Everything up to and including `"results": [`.
pub(crate) fn prefix(meta: &SessionMeta) -> String {
    let mut constant = json!({
        "client_status": {},
        "cluster_num_nodes": meta.cluster_num_nodes,
        "ducktape_version": meta.ducktape_version,
        "session_context": meta.session_context,
        "session_id": meta.session_id,
    });
    if !meta.hostname.is_empty() {
        constant["hostname"] = json!(meta.hostname);
    }
    // A merged session says what it was merged from and what was wrong.
    if let Some(m) = &meta.merge {
        constant["shards"] = json!(m.shards);
        constant["missing"] = json!(m.missing);
        constant["duplicates"] = json!(m.duplicates);
    }
    let text = pretty_indented(&sorted(constant), 0);
    // Reopen the object: drop the closing "\n}".
    let open = text.strip_suffix("\n}").unwrap_or(&text);
    format!("{open},\n  \"results\": [")
}

/// One result, as it follows the previous one (or the opening bracket):
/// the test's own object (`test_json`, see [`test_json`]) with the two
/// paths relative to the session directory instead. Made from that text
/// rather than serialized again (a record's serialization is most of what a
/// trivial test costs in the unoptimized profile tests are built in); the
/// two lines are found exactly: only a top-level key's line starts with a
/// newline and two spaces and a quote (a JSON string holds no raw newline).
pub(crate) fn entry(r: &TestRecord, test_json: &str, first: bool) -> String {
    let line = |key: &str, value: &str| format!("\n  \"{key}\": {}", Value::from(value));
    let text = test_json
        .replacen(
            &line(DIR_KEYS[0], &test_base_dir(r)),
            &line(DIR_KEYS[0], "./"),
            1,
        )
        .replacen(
            &line(DIR_KEYS[1], "./"),
            &line(DIR_KEYS[1], &r.relative_results_dir),
            1,
        );
    let sep = if first { "" } else { "," };
    format!("{sep}\n    {}", text.replace('\n', "\n    "))
}

/// A test's own `report.json` text, without its final newline: its record
/// with `base_results_dir` (the session directory, relative to the test's)
/// and `results_dir` (`./`).
pub(crate) fn test_json(r: &TestRecord) -> String {
    let object = RecordObject::new(r);
    let base = test_base_dir(r);
    let with_dirs = object.with_dirs(&base, "./");
    pretty_indented(&with_dirs, 0)
}

/// The session directory relative to a test's directory.
fn test_base_dir(r: &TestRecord) -> String {
    let depth = r
        .relative_results_dir
        .split('/')
        .filter(|s| !s.is_empty())
        .count();
    if depth == 0 {
        "./".to_owned()
    } else {
        "../".repeat(depth)
    }
}

/// Closes the results array and the object, with the summary fields.
pub(crate) fn tail(meta: &SessionMeta, s: &State) -> String {
    let text = pretty_indented(&sorted(s.summary_json(meta.cluster_num_nodes)), 0);
    let fields = text
        .strip_prefix("{\n")
        .and_then(|t| t.strip_suffix("\n}"))
        .unwrap_or(&text);
    format!("\n  ],\n{fields}\n}}\n")
}

/// A record as a JSON object with its keys sorted (as ducktape's
/// `sort_keys=True`): made once per test for its own `report.json` and the
/// session's.
#[derive(Clone, Debug)]
struct RecordObject(Map<String, Value>);

/// The two keys ducktape adds to a record's object.
const DIR_KEYS: [&str; 2] = ["base_results_dir", "results_dir"];

impl RecordObject {
    fn new(r: &TestRecord) -> Self {
        match serde_json::to_value(r) {
            Ok(value @ Value::Object(_)) => match sorted(value) {
                Value::Object(map) => RecordObject(map),
                _ => RecordObject(Map::new()),
            },
            _ => RecordObject(Map::new()),
        }
    }

    /// ducktape's per-test object: the record plus `base_results_dir` and
    /// `results_dir`, which are relative to the directory of the report
    /// holding them (ducktape writes absolute paths, which break when results
    /// move). Serialized in sorted key order without copying the record.
    fn with_dirs<'a>(
        &'a self,
        base_results_dir: &'a str,
        results_dir: &'a str,
    ) -> impl Serialize + 'a {
        WithDirs {
            object: &self.0,
            dirs: [base_results_dir, results_dir],
        }
    }
}

struct WithDirs<'a> {
    object: &'a Map<String, Value>,
    dirs: [&'a str; 2],
}

impl Serialize for WithDirs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        // Both lists are sorted: merge them.
        let mut extra = DIR_KEYS.iter().zip(self.dirs).peekable();
        for (key, value) in self.object {
            if DIR_KEYS.contains(&key.as_str()) {
                continue;
            }
            while let Some((k, v)) = extra.next_if(|(k, _)| **k < key.as_str()) {
                map.serialize_entry(k, v)?;
            }
            map.serialize_entry(key, value)?;
        }
        for (k, v) in extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Top-level keys in sorted order (as ducktape's `sort_keys=True`), whatever
/// serde_json's map type is built with.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let map: BTreeMap<String, Value> = map.into_iter().collect();
            Value::Object(map.into_iter().collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::record::Status;
    use serde_json::json;

    /// The entry made from the test's own text is the one a serialization
    /// with the session's paths gives, whatever the strings hold.
    #[test]
    fn an_entry_from_the_tests_own_text_is_the_serialized_one() {
        let mut r: TestRecord = serde_json::from_value(json!({
            "test_id": "m::t::s=\"\\n  \\\"results_dir\\\": \\\"./\\\"\"",
            "module_name": "m", "cls_name": "m", "function_name": "t",
            "injected_args": {"results_dir": "./", "base_results_dir": "x"},
            "test_status": "PASS", "summary": "\n  \"results_dir\": \"./\"",
            "run_time_seconds": 0.1, "start_time": 1.0, "stop_time": 1.1,
            "data": {"nested": {"results_dir": "./"}},
            "nodes_allocated": 0, "nodes_used": 0,
            "relative_results_dir": "m/t/s=é\"/1/",
        }))
        .unwrap();
        for rel in ["m/t/s=é\"/1/", "", "a/"] {
            r.relative_results_dir = rel.into();
            assert_eq!(r.test_status, Status::Pass);
            let serialized = RecordObject::new(&r);
            let want = format!(
                ",\n    {}",
                pretty_indented(&serialized.with_dirs("./", rel), 4)
            );
            assert_eq!(entry(&r, &test_json(&r), false), want, "{rel}");
        }
    }
}
