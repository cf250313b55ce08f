//! Clusters, leases and the service lifecycle, checked from outside the
//! test process: real processes, real signals, real lease files.

use crate::common::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn globals_with_window_log(log: &Path) -> String {
    format!(r#"{{"window_log": "{}"}}"#, log.display())
}

#[test]
fn eight_threads_on_four_nodes_never_share_a_node_and_the_big_test_runs() {
    let state = tempfile::tempdir().unwrap();
    let log = state.path().join("windows.log");
    let lease_root = state.path().display().to_string();
    let globals = globals_with_window_log(&log);
    let run = run_fixtures(
        &[
            "sched::",
            "--test-threads",
            "8",
            "--localhost-nodes",
            "4",
            "--lease-root",
            &lease_root,
            "--globals",
            &globals,
        ],
        &[],
    );
    run.assert_status(0);
    assert_eq!(run.statuses().len(), 17);
    assert_eq!(run.statuses()["sched::z_four_nodes"], "PASS");
    // 12 one-node, 4 two-node and 1 four-node test: 24 node windows.
    assert_eq!(assert_no_overlap(&log), 24);
    assert_eq!(windows(&log).len(), 4, "more than 4 nodes were used");
}

/// Starts `services::long_running` on a private 2-node cluster and waits
/// until its two service processes run.
fn start_long_running() -> (tempfile::TempDir, tempfile::TempDir, std::process::Child) {
    let state = tempfile::tempdir().unwrap();
    let results = tempfile::tempdir().unwrap();
    let lease_root = state.path().display().to_string();
    let child = spawn_fixtures(
        &[
            "--exact",
            "services::long_running",
            "--localhost-nodes",
            "2",
            "--lease-root",
            &lease_root,
        ],
        results.path(),
    );
    assert!(
        eventually(20, || node_processes(state.path()).len() == 2),
        "services did not start"
    );
    (state, results, child)
}

#[test]
fn a_killed_process_releases_its_nodes_and_its_services_die_with_it() {
    let (state, _results, mut child) = start_long_running();
    let lease_root = state.path().display().to_string();
    child.kill().unwrap(); // SIGKILL: no teardown can run
    let _ = child.wait();
    assert!(
        eventually(5, || node_processes(state.path()).is_empty()),
        "services outlived their test process"
    );
    let start = Instant::now();
    let run = run_bin(
        fixtures_bin(),
        &[
            "--exact",
            "basic::returns_data",
            "--localhost-nodes",
            "2",
            "--lease-root",
            &lease_root,
        ],
        &[],
    );
    run.assert_status(0);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "the stale lease blocked the next run"
    );
}

fn interrupted_with(signal: i32, name: &str) {
    let (state, results, mut child) = start_long_running();
    let lease_root = state.path().display().to_string();
    // SAFETY: signalling our own child process by pid.
    unsafe { libc::kill(child.id() as i32, signal) };
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(128 + signal),
        "exit status after {name}"
    );
    assert!(
        node_processes(state.path()).is_empty(),
        "a service survived {name}"
    );
    let session = std::fs::canonicalize(results.path().join("latest")).unwrap();
    let test_dir = session.join("services/long_running/1");
    // A failure collects every log, default or not.
    for node in ["worker1", "worker2"] {
        assert!(
            test_dir.join(format!("sleeper-1/{node}/out.log")).is_file(),
            "{node} out.log"
        );
        assert!(
            test_dir
                .join(format!("sleeper-1/{node}/debug.log"))
                .is_file(),
            "{node} debug.log"
        );
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(test_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["test_status"], "FAIL");
    assert_eq!(report["summary"], format!("interrupted by {name}"));
    let start = Instant::now();
    run_bin(
        fixtures_bin(),
        &[
            "--exact",
            "basic::returns_data",
            "--localhost-nodes",
            "2",
            "--lease-root",
            &lease_root,
        ],
        &[],
    )
    .assert_status(0);
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn sigterm_mid_test_tears_down_collects_logs_and_reports_interrupted() {
    interrupted_with(libc::SIGTERM, "SIGTERM");
}

#[test]
fn sigint_mid_test_tears_down_collects_logs_and_reports_interrupted() {
    interrupted_with(libc::SIGINT, "SIGINT");
}

#[test]
fn teardown_runs_after_a_panic_and_a_failed_start() {
    let (state, run) = run_fixtures_with_own_leases(
        &[
            "--exact",
            "services::panics_with_service",
            "services::start_fails",
            "services::passes_with_service",
        ],
        &[],
    );
    run.assert_status(101);
    let statuses = run.statuses();
    assert_eq!(statuses["services::panics_with_service"], "FAIL");
    assert_eq!(statuses["services::start_fails"], "FAIL");
    assert_eq!(statuses["services::passes_with_service"], "PASS");
    assert!(
        node_processes(state.path()).is_empty(),
        "services left running"
    );
    let s = run.session();
    // Failed: all logs. Passed: only the default ones.
    assert!(s
        .join("services/panics_with_service/1/sleeper-1/worker1/debug.log")
        .is_file());
    assert!(s
        .join("services/passes_with_service/1/sleeper-1/worker1/out.log")
        .is_file());
    assert!(!s
        .join("services/passes_with_service/1/sleeper-1/worker1/debug.log")
        .exists());
    let report = run.report();
    let start_fails = report["results"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["test_id"] == "services::start_fails"))
        .cloned()
        .unwrap();
    let summary = start_fails["summary"].as_str().unwrap();
    assert!(
        summary.contains("sleeper-1: start failed on worker2")
            && summary.contains("refusing to start on node 2"),
        "{summary}"
    );
    // Node directories were cleaned.
    for node in ["worker1", "worker2", "worker3"] {
        assert!(
            !state
                .path()
                .join("localhost")
                .join(node)
                .join("sleeper")
                .exists(),
            "{node} not cleaned"
        );
    }
}

#[test]
fn no_teardown_leaves_processes_running() {
    let (state, run) = run_fixtures_with_own_leases(
        &["--exact", "services::passes_with_service", "--no-teardown"],
        &[],
    );
    run.assert_status(0);
    let left = node_processes(state.path());
    assert_eq!(left.len(), 2, "expected both sleepers to be left running");
    for pid in left {
        // SAFETY: killing the processes this test left behind.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    assert!(
        state
            .path()
            .join("localhost/worker1/sleeper/out.log")
            .is_file(),
        "files were removed"
    );
}

#[test]
fn eight_nodes_start_in_parallel() {
    let (_leases, run) = run_fixtures_with_own_leases(&["--exact", "services::slow_start_8"], &[]);
    run.assert_status(0);
    let t = run.report()["results"][0]["run_time_seconds"]
        .as_f64()
        .unwrap();
    assert!(t < 3.0, "8 one-second starts took {t:.2} s: not parallel");
}

#[test]
fn network_faults_on_localhost_are_refused_naming_the_clusters_that_can() {
    let run = run_fixtures(&["--exact", "services::partition_on_localhost"], &[]);
    run.assert_status(101);
    assert!(
        run.stdout
            .contains("network faults need nodes with their own network stack"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("scripts/netns-cluster.sh"),
        "{}",
        run.stdout
    );
}

#[test]
fn faults_are_recorded_and_healed_after_a_panic() {
    let (state, run) =
        run_fixtures_with_own_leases(&["--exact", "services::pause_then_panic"], &[]);
    run.assert_status(101);
    let report = run.report();
    let summary = report["results"][0]["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("deliberate panic with a paused process"),
        "the test failed before its faults: {summary}\n{}",
        run.stderr
    );
    let kinds: Vec<&str> = report["results"][0]["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["pause", "heal"]);
    assert!(
        node_processes(state.path()).is_empty(),
        "a paused service survived teardown"
    );
}

#[test]
fn compress_archives_logs_on_the_node_before_collecting_them() {
    let (state, run) = run_fixtures_with_own_leases(
        &["--exact", "services::passes_with_service", "--compress"],
        &[],
    );
    run.assert_status(0);
    let dir = run
        .session()
        .join("services/passes_with_service/1/sleeper-1/worker1");
    let archive = std::fs::read(dir.join("out.log.tgz")).expect("out.log.tgz collected");
    assert_eq!(&archive[..2], b"\x1f\x8b", "not gzip");
    assert!(!dir.join("out.log").exists());
    // The archive is not left on the node.
    assert!(!state
        .path()
        .join("localhost/worker1/sleeper/out.log.tgz")
        .exists());
}

#[test]
fn leasing_a_node_kills_what_an_earlier_holder_left_running() {
    let state = tempfile::tempdir().unwrap();
    let lease_root = state.path().display().to_string();
    let args = [
        "--exact",
        "services::passes_with_service",
        "--lease-root",
        &lease_root,
    ];
    run_fixtures(&[&args[..], &["--no-teardown"]].concat(), &[]).assert_status(0);
    assert_eq!(
        node_processes(state.path()).len(),
        2,
        "left running on purpose"
    );
    run_fixtures(
        &[
            "--exact",
            "basic::returns_data",
            "--lease-root",
            &lease_root,
        ],
        &[],
    )
    .assert_status(0);
    assert!(
        eventually(5, || node_processes(state.path()).is_empty()),
        "stale processes survived a new lease"
    );
}

#[test]
fn a_signal_between_tests_or_during_teardown_loses_no_record() {
    let state = tempfile::tempdir().unwrap();
    let results = tempfile::tempdir().unwrap();
    let lease_root = state.path().display().to_string();
    let mut child = spawn_fixtures(
        &[
            "--exact",
            "services::passes_with_service",
            "--repeat",
            "1000",
            "--lease-root",
            &lease_root,
        ],
        results.path(),
    );
    let session = || std::fs::canonicalize(results.path().join("latest")).ok();
    let runs = |s: &std::path::Path| {
        std::fs::read_dir(s.join("services/passes_with_service"))
            .map(|d| d.flatten().count())
            .unwrap_or(0)
    };
    // Let a good number of repetitions go by, so the signal lands mid-cycle.
    assert!(
        eventually(30, || session().is_some_and(|s| runs(&s) > 15)),
        "too slow to start"
    );
    // SAFETY: signalling our own child process by pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let s = session().unwrap();
    let dirs = runs(&s);
    let records = std::fs::read_to_string(s.join("records.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(dirs, records, "a started repetition has no record");
    for n in 1..=dirs {
        assert!(
            s.join(format!("services/passes_with_service/{n}/report.json"))
                .is_file(),
            "run {n}"
        );
    }
    // A service the signal caught mid-start dies by its parent-death signal,
    // a moment after the process exits.
    assert!(
        eventually(5, || node_processes(state.path()).is_empty()),
        "services survived the signal"
    );
}

#[test]
fn a_teardown_step_that_hangs_is_abandoned_and_the_run_goes_on() {
    fixtures_bin();
    let start = Instant::now();
    let run = run_fixtures(
        &[
            "--exact",
            "services::stop_hangs",
            "basic::passes",
            "--test-runner-timeout",
            "1000",
        ],
        &[],
    );
    run.assert_status(0);
    assert_eq!(run.statuses().len(), 2);
    assert!(start.elapsed() < Duration::from_secs(30));
    let log =
        std::fs::read_to_string(run.session().join("services/stop_hangs/1/test_log.info")).unwrap();
    assert!(
        log.contains("stuck-1: stop did not finish within 1s; abandoned"),
        "{log}"
    );
}

/// One record of a session's report.json, by test id.
fn record_of(run: &Run, id: &str) -> serde_json::Value {
    run.report()["results"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["test_id"] == id).cloned())
        .unwrap_or_else(|| panic!("no record of {id}\n{}", run.stderr))
}

#[test]
fn a_timed_out_test_can_no_longer_touch_the_node_the_next_test_gets() {
    let (state, run) = run_fixtures_with_own_leases(
        &[
            "--exact",
            "isolation::a_zombie_writer",
            "isolation::b_next_tenant",
            "--test-runner-timeout",
            "5000",
            "--localhost-nodes",
            "1",
        ],
        &[],
    );
    let zombie = record_of(&run, "isolation::a_zombie_writer");
    assert_eq!(zombie["test_status"], "FAIL");
    assert!(
        zombie["summary"]
            .as_str()
            .is_some_and(|s| s.contains("timed out") && s.contains("revoked")),
        "{zombie}"
    );
    let tenant = record_of(&run, "isolation::b_next_tenant");
    assert_eq!(tenant["test_status"], "PASS", "{tenant}\n{}", run.stderr);
    assert!(
        node_processes(state.path()).is_empty(),
        "the zombie's background writer survived its test"
    );
}

#[test]
fn deflake_reruns_a_failure_whose_message_says_timed_out() {
    let markers = tempfile::tempdir().unwrap();
    let globals = format!(
        r#"{{"flaky_marker": "{}"}}"#,
        markers.path().join("m").display()
    );
    let run = run_fixtures(
        &[
            "--exact",
            "isolation::flaky_remote_timeout",
            "--deflake",
            "2",
            "--globals",
            &globals,
        ],
        &[],
    );
    run.assert_status(0);
    let rec = record_of(&run, "isolation::flaky_remote_timeout");
    assert_eq!(rec["test_status"], "FLAKY");
    assert!(
        rec["earlier_failures"][0]
            .as_str()
            .is_some_and(|s| s.contains("timed out after 1s")),
        "the first failure was lost: {rec}"
    );
    let session = run.session();
    let xml = std::fs::read_to_string(session.join("report.xml")).unwrap();
    assert!(
        xml.contains("<flakyFailure message=\"worker1: `curl -s leader:8080` timed out after 1s"),
        "{xml}"
    );
    let txt = std::fs::read_to_string(session.join("report.txt")).unwrap();
    assert!(
        txt.contains("attempt 1 failed:\n    worker1: `curl"),
        "{txt}"
    );
}

/// Bytes under `dir`, recursively.
fn tree_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => tree_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn huge_and_hostile_failure_messages_are_bounded_and_escaped_everywhere() {
    let run = run_fixtures(
        &[
            "--exact",
            "isolation::huge_stderr",
            "isolation::huge_message",
            "isolation::hostile_message",
        ],
        &[],
    );
    run.assert_status(101);
    // 100 MB of messages went in; the console and the session stay small.
    assert!(
        run.stdout.len() + run.stderr.len() < 256 << 10,
        "console output: {} bytes",
        run.stdout.len() + run.stderr.len()
    );
    let session = run.session();
    assert!(
        tree_size(&session) < 8 << 20,
        "session: {} bytes",
        tree_size(&session)
    );
    for id in ["isolation::huge_stderr", "isolation::huge_message"] {
        let rec = record_of(&run, id);
        let summary = rec["summary"].as_str().unwrap();
        assert!(summary.len() < 5 << 10, "{id}: {} bytes", summary.len());
    }
    let summary = record_of(&run, "isolation::huge_message")["summary"].clone();
    assert!(
        summary
            .as_str()
            .is_some_and(|s| s.contains("bytes more in")
                && s.contains("isolation/huge_message/1/failure.txt")),
        "{summary:.300}"
    );
    let failure = std::fs::read_to_string(session.join("isolation/huge_message/1/failure.txt"))
        .expect("failure.txt");
    assert!(failure.len() < (1 << 20) + 4096, "{} bytes", failure.len());
    assert!(failure.trim_end().ends_with("the real cause is at the end"));
    // Terminal escapes are shown, never sent.
    let txt = std::fs::read_to_string(session.join("report.txt")).unwrap();
    for (what, text) in [
        ("stdout", &run.stdout),
        ("stderr", &run.stderr),
        ("report.txt", &txt),
    ] {
        assert!(!text.contains('\u{1b}'), "raw escape in {what}");
    }
    assert!(
        txt.contains("before \\x1b]0;pwned\\x07 after"),
        "{txt:.2000}"
    );
    let hostile =
        std::fs::read_to_string(session.join("isolation/hostile_message/1/failure.txt")).unwrap();
    assert!(hostile.contains("\\x1b[2J cleared") && !hostile.contains('\u{1b}'));
}

#[test]
fn teardown_problems_are_reported_and_fail_the_test_on_request() {
    let run = run_fixtures(
        &[
            "--exact",
            "services::stop_hangs",
            "--test-runner-timeout",
            "1000",
        ],
        &[],
    );
    run.assert_status(0);
    let rec = record_of(&run, "services::stop_hangs");
    assert_eq!(rec["test_status"], "PASS");
    assert!(
        rec["teardown_problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("stuck-1: stop did not finish within 1s")),
        "{rec}"
    );
    assert!(
        run.stderr
            .contains("services::stop_hangs: teardown problems: stuck-1: stop"),
        "{}",
        run.stderr
    );
    let session = run.session();
    let txt = std::fs::read_to_string(session.join("report.txt")).unwrap();
    assert!(
        txt.contains("teardown problems:\n    stuck-1: stop did not finish"),
        "{txt}"
    );
    let xml = std::fs::read_to_string(session.join("report.xml")).unwrap();
    assert!(
        xml.contains("<system-err>teardown problems:\nstuck-1: stop did not finish"),
        "{xml}"
    );
    let strict = run_fixtures(
        &[
            "--exact",
            "services::stop_hangs",
            "--test-runner-timeout",
            "1000",
            "--fail-on-teardown-error",
        ],
        &[],
    );
    strict.assert_status(101);
    let rec = record_of(&strict, "services::stop_hangs");
    assert_eq!(rec["test_status"], "FAIL");
    assert!(rec["summary"]
        .as_str()
        .is_some_and(|s| s.starts_with("teardown failed (--fail-on-teardown-error)")));
}

#[test]
fn utilization_counts_nodes_a_test_reached_without_services() {
    let run = run_fixtures(
        &[
            "--exact",
            "isolation::uses_nodes_directly",
            "--fail-bad-cluster-utilization",
        ],
        &[],
    );
    run.assert_status(0);
    let rec = record_of(&run, "isolation::uses_nodes_directly");
    assert_eq!(rec["nodes_used"], 2, "{rec}");
    let readme = run_systest(
        &[
            "--exact",
            "quickstart::hello",
            "--fail-bad-cluster-utilization",
        ],
        &[],
    );
    readme.assert_status(0);
}

/// The service API's defaults (tests/fixtures_suite/svcapi.rs): a start
/// whose process died fails at once with its output; readiness is checked on
/// every node at once and a timeout names what it waited for; a service's
/// own stop order is kept; the graceful stop kills what ignores SIGTERM,
/// found by the framework's tag even outside its process group.
#[test]
fn services_fail_fast_wait_for_readiness_and_stop_in_their_order() {
    let run = run_fixtures(&["svcapi::"], &[]);
    run.assert_status(101);
    let statuses = run.statuses();
    assert_eq!(statuses.len(), 5, "{statuses:?}");
    for passing in [
        "ready_on_every_node_at_once",
        "stop_in_the_services_order",
        "graceful_stop_and_tagged_pids",
    ] {
        let id = format!("svcapi::{passing}");
        assert_eq!(statuses[&id], "PASS", "{}", record_of(&run, &id));
    }

    let fast = record_of(&run, "svcapi::start_fails_fast");
    let summary = fast["summary"].as_str().unwrap();
    assert!(summary.contains("exited before it was ready"), "{summary}");
    // The node's copy of the output is gone after teardown: the kept one is named.
    assert!(
        summary.contains("(kept as shell-1/worker1/output.log in the test's results)"),
        "{summary}"
    );
    assert!(
        summary.contains("config error: bad port 99999"),
        "{summary}"
    );
    // Not the 60 s readiness timeout.
    assert!(fast["run_time_seconds"].as_f64().unwrap() < 10.0, "{fast}");

    let timeout = record_of(&run, "svcapi::ready_times_out");
    let summary = timeout["summary"].as_str().unwrap();
    assert!(
        summary.contains("not ready within 2s: waited for GET :18432/missing to answer 200")
            && summary.contains("last error: GET :18432/missing answered 404"),
        "{summary}"
    );
    // The service's output is collected with its logs.
    let out = run
        .session()
        .join("svcapi/start_fails_fast/1/shell-1/worker1/output.log");
    let out = std::fs::read_to_string(&out).unwrap();
    assert!(out.contains("config error"), "{out}");
}
