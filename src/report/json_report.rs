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

/// One result, as it follows the previous one (or the opening bracket).
pub(crate) fn entry(r: &TestRecord, object: &RecordObject, first: bool) -> String {
    let value = object.with_dirs("./", &r.relative_results_dir);
    let sep = if first { "" } else { "," };
    format!("{sep}\n    {}", pretty_indented(&value, 4))
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
pub(crate) struct RecordObject(Map<String, Value>);

/// The two keys ducktape adds to a record's object.
const DIR_KEYS: [&str; 2] = ["base_results_dir", "results_dir"];

impl RecordObject {
    pub(crate) fn new(r: &TestRecord) -> Self {
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
    pub(crate) fn with_dirs<'a>(
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
