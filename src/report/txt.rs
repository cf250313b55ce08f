//! ducktape's `report.txt`: a header with the session totals, then one block
//! per test. The header is a fixed-size block (value lines padded with spaces)
//! so it can be rewritten in place while test blocks are appended.

use super::jsonfmt::ascii_json;
use super::record::{ChangeKind, SessionMeta, Status, TestRecord};
use super::state::State;

/// ducktape's separator width.
const WIDTH: usize = 100;
/// Width the changing header lines are padded to.
const PADDED: usize = 64;

/// `1 minute 2.500 seconds`, like ducktape's `format_time`.
pub(crate) fn format_time(t: f64) -> String {
    let t = t.max(0.0);
    let minutes = (t / 60.0).floor() as u64;
    let seconds = t % 60.0;
    match minutes {
        0 => format!("{seconds:.3} seconds"),
        1 => format!("1 minute {seconds:.3} seconds"),
        m => format!("{m} minutes {seconds:.3} seconds"),
    }
}

/// The header: always the same length for a given session, whatever the
/// totals (a value too wide for its padding is cut, which no real run reaches).
pub(crate) fn header(meta: &SessionMeta, s: &State) -> String {
    let padded = |label: &str, value: String| {
        let mut line = format!("{label:<18}{value}");
        line.truncate(PADDED);
        format!("{line:<PADDED$}\n")
    };
    let rule = "=".repeat(WIDTH);
    let mut out = format!(
        "{rule}\nSESSION REPORT (ALL TESTS)\nducktape version: {}\nsession_id:       {}\n",
        meta.ducktape_version, meta.session_id
    );
    out += &padded("run time:", format_time(s.wall_time()));
    out += &padded("tests run:", s.tests.to_string());
    out += &padded("passed:", s.passed.to_string());
    out += &padded("flaky:", s.flaky.to_string());
    out += &padded("failed:", s.failed.to_string());
    out += &padded("ignored:", s.ignored.to_string());
    out + &rule + "\n"
}

/// ducktape's `result_string`: id, status, time, the summary of a failed (or
/// flaky) test, and the returned data as one line of JSON.
pub(crate) fn result_string(r: &TestRecord) -> String {
    let mut out = format!(
        "test_id:    {}\nstatus:     {}\nrun time:   {}\n",
        r.test_id,
        r.test_status.as_str(),
        format_time(r.run_time_seconds)
    );
    if matches!(r.test_status, Status::Fail | Status::Flaky) {
        out.push_str("\n\n");
        indented(&mut out, &r.summary);
    }
    for (n, earlier) in r.earlier_failures.iter().enumerate() {
        out.push_str(&format!("attempt {} failed:\n", n + 1));
        indented(&mut out, earlier);
    }
    if !r.teardown_problems.is_empty() {
        out.push_str("teardown problems:\n");
        for p in &r.teardown_problems {
            indented(&mut out, p);
        }
    }
    for c in &r.regressions {
        out.push_str(&format!("{}: {}\n", kind_label(c.kind), c.describe()));
    }
    if !r.data.is_null() {
        out.push_str(&ascii_json(&r.data, true));
        out.push('\n');
    }
    if !r.faults.is_empty() {
        out.push_str("faults:\n");
        for f in &r.faults {
            out.push_str(&fault_line(f, r.start_time));
        }
    }
    out
}

/// `REGRESSION` or `IMPROVEMENT`.
pub(crate) fn kind_label(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Regression => "REGRESSION",
        ChangeKind::Improvement => "IMPROVEMENT",
    }
}

/// `text`, each line indented by four spaces.
fn indented(out: &mut String, text: &str) {
    for line in text.lines() {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
}

/// `  +1.234 s  partition  [node1] [node2 node3]`, times from the test's start.
fn fault_line(f: &serde_json::Value, start: f64) -> String {
    let at = f["time"].as_f64().unwrap_or(start) - start;
    let targets: Vec<&str> = f["targets"]
        .as_array()
        .map(|t| t.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let detail = match &f["detail"] {
        serde_json::Value::Null => String::new(),
        d => format!("  {}", ascii_json(d, true)),
    };
    format!(
        "  +{at:.3} s  {}  {}{detail}\n",
        f["kind"].as_str().unwrap_or("?"),
        targets.join(" ")
    )
}

/// One test's block in the session report.
pub(crate) fn session_block(r: &TestRecord) -> String {
    result_string(r) + &"-".repeat(WIDTH) + "\n"
}

/// A test directory's own `report.txt`.
pub(crate) fn test_report(r: &TestRecord) -> String {
    "=".repeat(WIDTH) + "\n" + &result_string(r)
}

#[cfg(test)]
mod tests {
    use super::format_time;

    #[test]
    fn times_like_ducktape() {
        assert_eq!(format_time(13.394660472869873), "13.395 seconds");
        assert_eq!(format_time(61.5), "1 minute 1.500 seconds");
        assert_eq!(format_time(3600.0), "60 minutes 0.000 seconds");
    }
}
