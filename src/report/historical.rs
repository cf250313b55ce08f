//! Run times from an earlier session's `report.json` (ours or Python
//! ducktape's), for balancing `--subsets` by time (`--historical-report`).

use super::error::{IoContext, ReportError};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// Reads `results[].test_id` and `results[].run_time_seconds` from a session
/// `report.json`. A test that appears more than once (`--repeat`) keeps its
/// last time, as ducktape does. Fails, naming the file, if it cannot be read,
/// is not JSON, or has no `results` array of such objects.
pub fn load_run_times(path: &Path) -> Result<HashMap<String, f64>, ReportError> {
    let results = read_results(path)?;
    let mut times = HashMap::with_capacity(results.len());
    for (i, result) in results.iter().enumerate() {
        let id = result.get("test_id").and_then(Value::as_str);
        let time = result.get("run_time_seconds").and_then(Value::as_f64);
        match (id, time) {
            (Some(id), Some(time)) => times.insert(id.to_owned(), time),
            _ => {
                return Err(ReportError::invalid(
                    path,
                    format!(
                        "results[{i}] lacks a string \"test_id\" or a numeric \"run_time_seconds\""
                    ),
                ))
            }
        };
    }
    Ok(times)
}

/// The `results` array of a session `report.json` (ours or Python
/// ducktape's), naming the file when it cannot be read, is not JSON or has
/// no such array.
pub(crate) fn read_results(path: &Path) -> Result<Vec<Value>, ReportError> {
    let text = std::fs::read_to_string(path).ctx("read report", path)?;
    let mut value: Value = serde_json::from_str(&text)
        .map_err(|e| ReportError::invalid(path, format!("not a JSON report: {e}")))?;
    match value.get_mut("results").map(Value::take) {
        Some(Value::Array(results)) => Ok(results),
        _ => Err(ReportError::invalid(
            path,
            "expected an object with a \"results\" array",
        )),
    }
}
