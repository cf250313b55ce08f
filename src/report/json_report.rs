//! ducktape's session `report.json`, laid out so that appending a result is
//! O(1): the constant fields come first, then `"results": [`, then the
//! summary fields, which are rewritten after each new result.

use super::jsonfmt::pretty_indented;
use super::record::{SessionMeta, TestRecord};
use super::state::State;
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
pub(crate) fn entry(r: &TestRecord, first: bool) -> String {
    let value = record_json(r, "./", &r.relative_results_dir);
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

/// ducktape's per-test object: the record plus `base_results_dir` and
/// `results_dir`, which are relative to the directory of the report holding
/// them (ducktape writes absolute paths, which break when results move).
pub(crate) fn record_json(r: &TestRecord, base_results_dir: &str, results_dir: &str) -> Value {
    let mut map = match serde_json::to_value(r) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    map.insert("base_results_dir".into(), base_results_dir.into());
    map.insert("results_dir".into(), results_dir.into());
    sorted(Value::Object(map))
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
