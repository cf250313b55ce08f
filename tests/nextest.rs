//! The same binaries under `cargo nextest run`: one process per test, options
//! through `DUCKTAPE_*` variables, one session per run.

mod common;

use common::*;
use std::path::Path;

fn sessions(results: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(results)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .filter(|p| p.file_name().is_some_and(|n| n != "latest"))
        .collect()
}

#[test]
fn nextest_j8_on_four_nodes_never_shares_a_node_and_joins_one_session() {
    let state = tempfile::tempdir().unwrap();
    let results = tempfile::tempdir().unwrap();
    let log = state.path().join("windows.log");
    let run = nextest_fixtures(
        &["-E", "test(/^sched::/)", "-j", "8"],
        &[
            ("DUCKTAPE_LOCALHOST_NODES", "4".into()),
            ("DUCKTAPE_LEASE_ROOT", state.path().display().to_string()),
            (
                "DUCKTAPE_RESULTS_ROOT",
                results.path().display().to_string(),
            ),
            (
                "DUCKTAPE_GLOBALS",
                format!(r#"{{"window_log": "{}"}}"#, log.display()),
            ),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(assert_no_overlap(&log), 24);
    let sessions = sessions(results.path());
    assert_eq!(
        sessions.len(),
        1,
        "one nextest run must make one session: {sessions:?}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sessions[0].join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["num_passed"], 17);
    assert_eq!(report["results"].as_array().map(Vec::len), Some(17));
}

#[test]
fn nextest_and_cargo_test_report_the_same_tests_and_statuses() {
    let marker_dir = tempfile::tempdir().unwrap();
    let globals = |name: &str| {
        format!(
            r#"{{"flaky_marker": "{}"}}"#,
            marker_dir.path().join(name).display()
        )
    };
    let results = tempfile::tempdir().unwrap();
    let run = nextest_fixtures(
        &[
            "-E",
            "test(/^basic::(passes|fails|returns_data|flaky|ignored|echo_args)/)",
        ],
        &[
            (
                "DUCKTAPE_RESULTS_ROOT",
                results.path().display().to_string(),
            ),
            ("DUCKTAPE_DEFLAKE", "2".into()),
            ("DUCKTAPE_GLOBALS", globals("nextest")),
        ],
    );
    assert_ne!(run.status, 0, "basic::fails must fail the nextest run");
    let session = &sessions(results.path())[0];
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(session.join("report.json")).unwrap())
            .unwrap();
    let mut under_nextest: Vec<(String, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["test_id"].as_str().unwrap().to_string(),
                r["test_status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    under_nextest.sort();

    let cargo = run_fixtures(
        &[
            "basic::passes",
            "basic::fails",
            "basic::returns_data",
            "basic::flaky",
            "basic::ignored",
            "basic::echo_args",
            "--deflake",
            "2",
            "--globals",
            &globals("cargo"),
        ],
        &[],
    );
    let under_cargo = cargo.statuses();
    // nextest skips ignored tests itself, so they reach no session report.
    assert_eq!(
        under_cargo.get("basic::ignored").map(String::as_str),
        Some("IGNORE")
    );
    let under_cargo: Vec<(String, String)> = under_cargo
        .into_iter()
        .filter(|(_, s)| s != "IGNORE")
        .collect();
    assert_eq!(under_nextest, under_cargo);
    assert!(under_nextest.contains(&("basic::flaky".into(), "FLAKY".into())));
}

#[test]
fn nextest_isolation_bounds_and_teardown_problems() {
    let state = tempfile::tempdir().unwrap();
    let results = tempfile::tempdir().unwrap();
    let marker = state.path().join("flaky-marker");
    nextest_fixtures(
        &[
            "-j",
            "1",
            "-E",
            "test(/^isolation::(a_zombie_writer|b_next_tenant|flaky_remote_timeout|hostile_message)$/) \
             | test(=services::stop_hangs)",
        ],
        &[
            ("DUCKTAPE_RESULTS_ROOT", results.path().display().to_string()),
            ("DUCKTAPE_LEASE_ROOT", state.path().display().to_string()),
            ("DUCKTAPE_LOCALHOST_NODES", "1".into()),
            ("DUCKTAPE_TEST_RUNNER_TIMEOUT", "5000".into()),
            ("DUCKTAPE_DEFLAKE", "2".into()),
            (
                "DUCKTAPE_GLOBALS",
                format!(r#"{{"flaky_marker": "{}"}}"#, marker.display()),
            ),
        ],
    );
    let session = &sessions(results.path())[0];
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(session.join("report.json")).unwrap())
            .unwrap();
    let rec = |id: &str| {
        report["results"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["test_id"] == id).cloned())
            .unwrap_or_else(|| panic!("no record of {id}: {report}"))
    };
    assert_eq!(rec("isolation::a_zombie_writer")["test_status"], "FAIL");
    assert_eq!(rec("isolation::b_next_tenant")["test_status"], "PASS");
    let flaky = rec("isolation::flaky_remote_timeout");
    assert_eq!(flaky["test_status"], "FLAKY", "{flaky}");
    assert!(flaky["earlier_failures"][0]
        .as_str()
        .is_some_and(|s| s.contains("timed out after 1s")));
    let hostile = rec("isolation::hostile_message")["summary"].clone();
    assert!(
        hostile
            .as_str()
            .is_some_and(|s| s.contains("\\x1b]0;pwned") && !s.contains('\u{1b}')),
        "{hostile}"
    );
    let stuck = rec("services::stop_hangs");
    assert_eq!(stuck["test_status"], "PASS");
    assert!(
        stuck["teardown_problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("stuck-1: stop did not finish")),
        "{stuck}"
    );
}
