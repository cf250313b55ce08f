//! ducktape's session `report.json`, laid out so that appending a result is
//! O(1): the constant fields come first, then `"results": [`, then the
//! summary fields, which are rewritten after each new result.

use super::jsonfmt::{pretty_indented, JsonText};
use super::record::{SessionMeta, Status, TestRecord};
use super::state::State;
use serde_json::{json, Value};
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
/// the test's own object (see [`test_json`]) with the two paths relative to
/// the session directory instead, indented to sit in `"results"`.
pub(crate) fn entry(r: &TestRecord, first: bool) -> String {
    let text = SortedRecord::new(r).write(Place::Entry, Some(("./", &r.relative_results_dir)));
    let sep = if first { "" } else { "," };
    format!("{sep}\n    {text}")
}

/// A test's own `report.json` text, without its final newline: its record
/// with `base_results_dir` (the session directory, relative to the test's)
/// and `results_dir` (`./`).
pub(crate) fn test_json(r: &TestRecord) -> String {
    own_json(&SortedRecord::new(r), r)
}

fn own_json(sorted: &SortedRecord, r: &TestRecord) -> String {
    sorted.write(Place::Own, Some((&test_base_dir(r), "./")))
}

/// A test's own `report.json` text and its `records.jsonl` line (without
/// the newline): the same object, compact and without the two directories.
pub(crate) fn test_json_and_line(r: &TestRecord) -> (String, String) {
    let sorted = SortedRecord::new(r);
    (own_json(&sorted, r), sorted.write(Place::Line, None))
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
    let text = s.summary_json(meta.cluster_num_nodes);
    let fields = text
        .strip_prefix("{\n")
        .and_then(|t| t.strip_suffix("\n}"))
        .unwrap_or(&text);
    format!("\n  ],\n{fields}\n}}\n")
}

/// Where a record's text goes: its own `report.json`, its entry in the
/// session's (indented to sit in `"results"`), its `records.jsonl` line.
#[derive(Clone, Copy)]
enum Place {
    Own = 0,
    Entry = 1,
    Line = 2,
}

/// A record's key as each [`Place`] writes it, with the comma that comes
/// before every member but the first: one `push_str` per key instead of
/// five calls, which is most of a record's cost unoptimized.
struct Key([&'static str; 3]);

macro_rules! key {
    ($name:literal) => {
        Key([
            concat!(",\n  \"", $name, "\": "),
            concat!(",\n      \"", $name, "\": "),
            concat!(",\"", $name, "\":"),
        ])
    };
}

/// ducktape's per-test object: a record's fields plus `base_results_dir`
/// and `results_dir`, which are relative to the directory of the report
/// holding them (ducktape writes absolute paths, which break when results
/// move), in sorted key order (ducktape's `sort_keys=True`). Borrowed and
/// written straight to text by [`JsonText`]: this is most of what a trivial
/// test costs in the unoptimized profile tests are built in, and serde's
/// generic path cost ten times as much. Nested objects are written as a
/// `Value` is serialized, so their keys are sorted too (unless a crate turns
/// on serde_json's `preserve_order`). Every field of [`TestRecord`] must be
/// here: `new` names them all, and a test checks the text against a
/// whole-record serialization.
struct SortedRecord<'a> {
    attempts: u32,
    binary: &'a str,
    cls_name: &'a str,
    data: &'a Value,
    description: &'a str,
    earlier_failures: &'a [String],
    faults: &'a [Value],
    function_name: &'a str,
    history: Option<Value>,
    host: &'a str,
    injected_args: &'a Value,
    module_name: &'a str,
    nodes: &'a [String],
    nodes_allocated: usize,
    nodes_used: usize,
    regressions: Option<Value>,
    relative_results_dir: &'a str,
    run_time_seconds: f64,
    services: &'a [Value],
    shard: &'a str,
    start_time: f64,
    stop_time: f64,
    summary: &'a str,
    teardown_problems: &'a [String],
    test_id: &'a str,
    test_status: Status,
}

impl<'a> SortedRecord<'a> {
    fn new(r: &'a TestRecord) -> Self {
        // Every field by name, none left to `..`: a field added to
        // `TestRecord` does not compile until it is here too.
        let TestRecord {
            test_id,
            module_name,
            cls_name,
            function_name,
            injected_args,
            description,
            test_status,
            summary,
            run_time_seconds,
            start_time,
            stop_time,
            data,
            nodes_allocated,
            nodes_used,
            binary,
            relative_results_dir,
            services,
            attempts,
            faults,
            teardown_problems,
            earlier_failures,
            nodes,
            shard,
            host,
            regressions,
            history,
        } = r;
        // Nested structs as the `Value` a whole-record conversion made of
        // them, so their keys are sorted as before.
        let value = |v: serde_json::Result<Value>| v.unwrap_or(Value::Null);
        SortedRecord {
            attempts: *attempts,
            binary,
            cls_name,
            data,
            description,
            earlier_failures,
            faults,
            function_name,
            history: history.as_ref().map(|h| value(serde_json::to_value(h))),
            host,
            injected_args,
            module_name,
            nodes,
            nodes_allocated: *nodes_allocated,
            nodes_used: *nodes_used,
            regressions: (!regressions.is_empty())
                .then(|| value(serde_json::to_value(regressions))),
            relative_results_dir,
            run_time_seconds: *run_time_seconds,
            services,
            shard,
            start_time: *start_time,
            stop_time: *stop_time,
            summary,
            teardown_problems,
            test_id,
            test_status: *test_status,
        }
    }

    /// The object as `place` lays it out, keys in sorted order; `dirs`
    /// gives `base_results_dir` and `results_dir` (a `records.jsonl` line
    /// has neither). Optional fields are left out when empty, as the
    /// record's serialization does.
    fn write(&self, place: Place, dirs: Option<(&str, &str)>) -> String {
        let mut out = match place {
            Place::Own => JsonText::pretty(0),
            Place::Entry => JsonText::pretty(4),
            Place::Line => JsonText::compact(),
        };
        let w = &mut out;
        let key = |w: &mut JsonText, k: &Key| w.member(k.0[place as usize]);
        let text = |w: &mut JsonText, k: &Key, s: &str| {
            key(w, k);
            w.string(s);
        };
        let strings = |w: &mut JsonText, k: &Key, items: &[String]| {
            if !items.is_empty() {
                key(w, k);
                w.strings(items);
            }
        };
        w.begin('{');
        key(w, &key!("attempts"));
        w.uint(u64::from(self.attempts));
        if let Some((base, _)) = dirs {
            text(w, &key!("base_results_dir"), base);
        }
        if !self.binary.is_empty() {
            text(w, &key!("binary"), self.binary);
        }
        text(w, &key!("cls_name"), self.cls_name);
        key(w, &key!("data"));
        w.value(self.data);
        text(w, &key!("description"), self.description);
        strings(w, &key!("earlier_failures"), self.earlier_failures);
        key(w, &key!("faults"));
        w.values(self.faults);
        text(w, &key!("function_name"), self.function_name);
        if let Some(h) = &self.history {
            key(w, &key!("history"));
            w.value(h);
        }
        if !self.host.is_empty() {
            text(w, &key!("host"), self.host);
        }
        key(w, &key!("injected_args"));
        w.value(self.injected_args);
        text(w, &key!("module_name"), self.module_name);
        strings(w, &key!("nodes"), self.nodes);
        key(w, &key!("nodes_allocated"));
        w.uint(self.nodes_allocated as u64);
        key(w, &key!("nodes_used"));
        w.uint(self.nodes_used as u64);
        if let Some(r) = &self.regressions {
            key(w, &key!("regressions"));
            w.value(r);
        }
        text(w, &key!("relative_results_dir"), self.relative_results_dir);
        if let Some((_, dir)) = dirs {
            text(w, &key!("results_dir"), dir);
        }
        key(w, &key!("run_time_seconds"));
        w.float(self.run_time_seconds);
        key(w, &key!("services"));
        w.values(self.services);
        if !self.shard.is_empty() {
            text(w, &key!("shard"), self.shard);
        }
        key(w, &key!("start_time"));
        w.float(self.start_time);
        key(w, &key!("stop_time"));
        w.float(self.stop_time);
        text(w, &key!("summary"), self.summary);
        strings(w, &key!("teardown_problems"), self.teardown_problems);
        text(w, &key!("test_id"), self.test_id);
        text(w, &key!("test_status"), self.test_status.as_str());
        w.end('}');
        out.finish()
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
    use serde_json::json;

    /// The object ducktape writes, made the slow, obvious way: the whole
    /// record as a `Value`, the two directories added, top-level keys sorted.
    fn generic(r: &TestRecord, base: &str, dir: &str) -> BTreeMap<String, Value> {
        let Value::Object(map) = serde_json::to_value(r).unwrap() else {
            panic!("a record is an object");
        };
        let mut sorted: BTreeMap<String, Value> = map.into_iter().collect();
        sorted.insert("base_results_dir".into(), base.into());
        sorted.insert("results_dir".into(), dir.into());
        sorted
    }

    fn record(fields: Value) -> TestRecord {
        serde_json::from_value(fields).unwrap()
    }

    /// The entry written from the record is the one a serialization
    /// with the session's paths gives, whatever the strings hold.
    #[test]
    fn an_entry_is_the_serialized_one() {
        let mut r = record(json!({
            "test_id": "m::t::s=\"\\n  \\\"results_dir\\\": \\\"./\\\"\"",
            "module_name": "m", "cls_name": "m", "function_name": "t",
            "injected_args": {"results_dir": "./", "base_results_dir": "x"},
            "test_status": "PASS", "summary": "\n  \"results_dir\": \"./\"",
            "run_time_seconds": 0.1, "start_time": 1.0, "stop_time": 1.1,
            "data": {"nested": {"results_dir": "./"}},
            "nodes_allocated": 0, "nodes_used": 0,
            "relative_results_dir": "m/t/s=é\"/1/",
        }));
        for rel in ["m/t/s=é\"/1/", "", "a/"] {
            r.relative_results_dir = rel.into();
            assert_eq!(r.test_status, Status::Pass);
            let want = format!(",\n    {}", pretty_indented(&generic(&r, "./", rel), 4));
            assert_eq!(entry(&r, false), want, "{rel}");
        }
    }

    /// The sorted view holds every field of a record, each as the record's
    /// own serialization has it: a field added to `TestRecord` and not to
    /// `SortedRecord` fails here.
    #[test]
    fn a_tests_report_is_its_whole_record_sorted() {
        let regression = json!({
            "test_id": "m::t", "metric": "ops", "kind": "regression", "baseline": 10.0,
            "value": 5.5, "change": -0.45, "better": "higher", "sessions": 2,
        });
        let r = record(json!({
            "test_id": "m::t", "module_name": "m", "cls_name": "m", "function_name": "t",
            "injected_args": {"z": 1, "a": [true, null]}, "description": "d",
            "test_status": "FLAKY", "summary": "s", "run_time_seconds": 0.25,
            "start_time": 1796278772.9961789, "stop_time": 1796278773.0039475,
            "data": {"ops": 5.5, "b": {"y": 1, "x": 2}}, "nodes_allocated": 3,
            "nodes_used": 2, "binary": "p::systest", "relative_results_dir": "t/1/",
            "services": [{"service_id": "zk", "nodes": ["n1"]}], "attempts": 2,
            "faults": [{"kind": "partition"}], "teardown_problems": ["stop hung"],
            "earlier_failures": ["boom"], "nodes": ["n1", "n2"], "shard": "2026-12-03--001",
            "host": "ci-7", "regressions": [regression],
            "history": {"sessions": ["a", "b"], "metrics": {"ops": [10.0, null]}},
        }));
        let whole = serde_json::to_value(&r).unwrap();
        for (key, value) in whole.as_object().unwrap() {
            let empty = value.as_array().is_some_and(Vec::is_empty) || value == "";
            assert!(!empty, "{key} is set in this test's record");
        }
        let want = pretty_indented(&generic(&r, "../../", "./"), 0);
        assert_eq!(test_json(&r), want);
        // Its records line: the same object, compact, without the two dirs.
        let mut fields = generic(&r, "", "");
        fields.remove("base_results_dir");
        fields.remove("results_dir");
        let (json, line) = test_json_and_line(&r);
        assert_eq!(
            (json, line.clone()),
            (want, serde_json::to_string(&fields).unwrap())
        );
        assert_eq!(serde_json::from_str::<TestRecord>(&line).unwrap(), r);
        // And a record with nothing optional set.
        let mut bare = r.clone();
        bare.binary.clear();
        bare.teardown_problems.clear();
        bare.earlier_failures.clear();
        bare.nodes.clear();
        bare.shard.clear();
        bare.host.clear();
        bare.regressions.clear();
        bare.history = None;
        let want = pretty_indented(&generic(&bare, "../../", "./"), 0);
        assert_eq!(test_json(&bare), want);
    }
}
