//! The framework's own integration tests for the harness: they run the real
//! test binaries (`systest`, `fixtures`) as cargo, nextest and IDEs do and
//! check what a user would see: exit codes, listings, reports.

use crate::common::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

#[test]
fn listing_is_libtest_terse_and_parametrized_cases_are_named_by_arguments() {
    let run = run_fixtures(&["--list"], &[]);
    run.assert_status(0);
    let names = run.listed();
    assert!(names.contains(&"basic::passes".to_string()), "{names:?}");
    assert!(
        names.contains(&"basic::echo_args::a=1,b=x".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"sched::one_node::i=11".to_string()),
        "{names:?}"
    );
    // Only `name: test` lines on stdout: nextest parses them.
    assert!(
        run.stdout
            .lines()
            .all(|l| l.ends_with(": test") || l.is_empty()),
        "{}",
        run.stdout
    );
    let ignored = run_fixtures(&["--list", "--ignored"], &[]).listed();
    assert_eq!(ignored, ["basic::ignored", "parity::env_gated"]);
    // Listing creates no session.
    assert!(!run.results.join("latest").exists());
}

#[test]
fn rust_analyzer_and_intellij_commands_run_one_test() {
    // rust-analyzer's run button:
    let run = run_fixtures(
        &[
            "basic::passes",
            "--exact",
            "--nocapture",
            "--include-ignored",
        ],
        &[],
    );
    run.assert_status(0);
    assert_eq!(run.statuses().keys().collect::<Vec<_>>(), ["basic::passes"]);
    // IntelliJ's:
    let run = run_fixtures(
        &[
            "basic::passes",
            "--exact",
            "--format=json",
            "-Z",
            "unstable-options",
            "--show-output",
        ],
        &[],
    );
    run.assert_status(0);
    assert!(
        run.stdout.contains(r#""name": "basic::passes""#),
        "{}",
        run.stdout
    );
}

#[test]
fn exact_on_a_test_path_runs_all_its_cases_and_on_a_case_name_just_that_one() {
    let all = run_fixtures(&["--exact", "basic::echo_args"], &[]);
    all.assert_status(0);
    let ids: Vec<String> = all.statuses().into_keys().collect();
    assert_eq!(
        ids,
        ["basic::echo_args::a=1,b=x", "basic::echo_args::a=2,b=x"]
    );
    let one = run_fixtures(&["--exact", "basic::echo_args::a=2,b=x"], &[]);
    assert_eq!(
        one.statuses().into_keys().collect::<Vec<_>>(),
        ["basic::echo_args::a=2,b=x"]
    );
    // Without --exact a filter is a substring, and several filters add up.
    let two = run_fixtures(&["--list", "echo_args", "basic::passes"], &[]);
    assert_eq!(two.listed().len(), 3, "{:?}", two.listed());
}

#[test]
fn subsets_are_disjoint_and_complete_by_count_and_by_history() {
    let all = set(&run_fixtures(&["--list"], &[]).listed());
    let history = format!(
        "{}/tests/fixtures/ducktape-0.17-report.json",
        env!("CARGO_MANIFEST_DIR")
    );
    for extra in [vec![], vec!["--historical-report", history.as_str()]] {
        let mut union = BTreeSet::new();
        for i in 0..3 {
            let i = i.to_string();
            let mut args = vec!["--list", "--subsets", "3", "--subset", &i];
            args.extend(extra.iter().copied());
            let part = set(&run_fixtures(&args, &[]).listed());
            assert!(!part.is_empty());
            assert!(union.is_disjoint(&part), "subset {i} overlaps: {part:?}");
            union.extend(part);
        }
        assert_eq!(union, all, "subsets with {extra:?} are not complete");
    }
    // The same through the environment, as under nextest.
    let via_env = set(&run_fixtures(
        &["--list"],
        &[("DUCKTAPE_SUBSETS", "3"), ("DUCKTAPE_SUBSET", "1")],
    )
    .listed());
    let via_cli = set(&run_fixtures(&["--list", "--subsets", "3", "--subset", "1"], &[]).listed());
    assert_eq!(via_env, via_cli);
}

#[test]
fn a_sample_is_reproducible_with_its_seed() {
    let a = run_fixtures(&["--list", "--sample", "5", "--sample-seed", "42"], &[]).listed();
    let b = run_fixtures(&["--list", "--sample", "5", "--sample-seed", "42"], &[]).listed();
    assert_eq!(a.len(), 5);
    assert_eq!(a, b);
    let c = run_fixtures(&["--list", "--sample", "5", "--sample-seed", "43"], &[]).listed();
    assert_ne!(a, c, "different seeds gave the same sample");
    let printed = run_fixtures(&["--list", "--sample", "3"], &[]);
    assert!(
        printed.stderr.contains("--sample-seed "),
        "{}",
        printed.stderr
    );
}

#[test]
fn deflake_turns_a_test_that_fails_once_into_flaky() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let globals = format!(r#"{{"flaky_marker": "{}"}}"#, marker.display());
    let run = run_fixtures(
        &[
            "--exact",
            "basic::flaky",
            "--deflake",
            "2",
            "--globals",
            &globals,
        ],
        &[],
    );
    run.assert_status(0);
    assert_eq!(run.statuses()["basic::flaky"], "FLAKY");
    assert!(run.stderr.contains("FLAKY basic::flaky"), "{}", run.stderr);
    let report = run.report();
    assert_eq!(report["results"][0]["attempts"], 2);
    // The failed attempt's logs are kept next to the final one.
    let first = run.session().join("basic/flaky/1/test_log.info");
    let second = run.session().join("basic/flaky/1/attempt-2/test_log.info");
    assert!(first.is_file() && second.is_file());
    // Without --deflake the same test just fails.
    std::fs::remove_file(&marker).unwrap();
    let run = run_fixtures(&["--exact", "basic::flaky", "--globals", &globals], &[]);
    run.assert_status(101);
    assert_eq!(run.statuses()["basic::flaky"], "FAIL");
}

#[test]
fn nextest_retries_replace_our_own_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let globals = format!(
        r#"{{"flaky_marker": "{}"}}"#,
        dir.path().join("m").display()
    );
    let run = run_fixtures(
        &[
            "--exact",
            "basic::flaky",
            "--deflake",
            "3",
            "--globals",
            &globals,
        ],
        &[
            ("NEXTEST_TOTAL_ATTEMPTS", "2"),
            ("NEXTEST_ATTEMPT", "1"),
            ("NEXTEST_RUN_ID", "retry-run"),
        ],
    );
    run.assert_status(101);
    // The failed first attempt is not in the session's reports: nextest
    // retries it, in a new process that joins the same session.
    let again = run_in(
        fixtures_bin(),
        &["--exact", "basic::flaky", "--globals", &globals],
        &[
            ("NEXTEST_TOTAL_ATTEMPTS", "2"),
            ("NEXTEST_ATTEMPT", "2"),
            ("NEXTEST_RUN_ID", "retry-run"),
        ],
        &run.results,
    );
    again.assert_status(0);
    assert_eq!(
        again.session(),
        run.session(),
        "the retry joined another session"
    );
    let report = again.report();
    assert_eq!(report["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(report["results"][0]["test_status"], "FLAKY");
    assert_eq!(report["results"][0]["attempts"], 2);
    assert!(again
        .session()
        .join("basic/flaky/1/attempt-2/test_log.info")
        .is_file());
}

#[test]
fn repeat_runs_each_test_n_times_into_numbered_directories() {
    let run = run_fixtures(&["--exact", "basic::passes", "--repeat", "3"], &[]);
    run.assert_status(0);
    assert_eq!(run.report()["num_passed"], 3);
    for n in 1..=3 {
        assert!(run
            .session()
            .join(format!("basic/passes/{n}/report.json"))
            .is_file());
    }
}

#[test]
fn exit_first_stops_after_the_first_failure() {
    let run = run_fixtures(
        &["--exact", "basic::fails", "basic::passes", "--exit-first"],
        &[],
    );
    run.assert_status(101);
    let statuses = run.statuses();
    assert_eq!(
        statuses.get("basic::fails").map(String::as_str),
        Some("FAIL")
    );
    assert!(!statuses.contains_key("basic::passes"), "{statuses:?}");
    assert!(run.stdout.contains("--exit-first"), "{}", run.stdout);
}

#[test]
fn parameters_replace_a_tests_cases() {
    let run = run_fixtures(
        &[
            "--exact",
            "basic::echo_args",
            "--parameters",
            r#"{"b": "y z", "a": 7}"#,
        ],
        &[],
    );
    run.assert_status(0);
    let report = run.report();
    let r = &report["results"][0];
    assert_eq!(r["test_id"], "basic::echo_args::a=7,b=y%20z");
    assert_eq!(r["data"], serde_json::json!({"a": 7, "b": "y z"}));
    assert_eq!(report["results"].as_array().map(Vec::len), Some(1));
    // A value of the wrong type fails the test with the parameter named.
    let run = run_fixtures(
        &[
            "--exact",
            "basic::echo_args",
            "--parameters",
            r#"{"a": "x", "b": "y"}"#,
        ],
        &[],
    );
    run.assert_status(101);
    assert!(run.stdout.contains("parameter `a`"), "{}", run.stdout);
}

#[test]
fn a_hung_test_is_stopped_at_the_timeout_and_the_next_test_runs() {
    fixtures_bin(); // build first: only the run is timed
    let start = Instant::now();
    let run = run_fixtures(
        &[
            "--exact",
            "basic::hangs",
            "basic::passes",
            "--test-runner-timeout",
            "700",
        ],
        &[],
    );
    run.assert_status(101);
    let statuses = run.statuses();
    assert_eq!(statuses["basic::hangs"], "FAIL");
    assert_eq!(statuses["basic::passes"], "PASS");
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(
        run.stdout.contains("timed out after 700 ms"),
        "{}",
        run.stdout
    );
}

#[test]
fn failures_and_panics_are_reported_with_their_message_and_logs() {
    let run = run_fixtures(
        &[
            "--exact",
            "basic::fails",
            "basic::panics",
            "basic::returns_data",
            "basic::ignored",
        ],
        &[],
    );
    run.assert_status(101);
    let report = run.report();
    let by_id = |id: &str| {
        report["results"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["test_id"] == id).cloned())
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    assert_eq!(by_id("basic::fails")["summary"], "deliberate failure");
    // The summary says where the test panicked.
    assert_eq!(
        by_id("basic::panics")["summary"],
        "test panicked: deliberate panic (at tests/fixtures_suite/basic.rs:16:5)"
    );
    assert_eq!(
        by_id("basic::returns_data")["data"],
        serde_json::json!({"ops_per_sec": 1234, "nodes": 2})
    );
    assert_eq!(by_id("basic::ignored")["test_status"], "IGNORE");
    let log = std::fs::read_to_string(run.session().join("basic/fails/1/test_log.info")).unwrap();
    assert!(log.contains("about to fail on purpose"), "{log}");
    let data =
        std::fs::read_to_string(run.session().join("basic/returns_data/1/data.json")).unwrap();
    assert!(data.contains("1234"));
}

#[test]
fn bad_input_is_one_line_exit_2_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let unreadable = dir.path().join("config");
    std::fs::create_dir(&unreadable).unwrap(); // a directory cannot be read as a file
    let unreadable = unreadable.display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--frobnicate"], "--frobnicate"),
        (
            vec!["--subset", "4", "--subsets", "4"],
            "--subset 4 is out of range",
        ),
        (vec!["--parameters", "{\"a\": "], "--parameters"),
        (vec!["--globals", "{oops}"], "--globals"),
        (
            vec!["--exact", "basic::passes", "--parameters", r#"{"nope": 1}"#],
            "takes (), not nope",
        ),
        (vec!["--config-file", &unreadable], "config file"),
        (
            vec!["--historical-report", "/no/such/report.json"],
            "/no/such/report.json",
        ),
        (
            vec!["--cluster", "nosuch", "--collect-num-nodes"],
            "unknown --cluster",
        ),
    ];
    for (args, needle) in cases {
        let run = run_fixtures(&args, &[]);
        assert_eq!(run.status, 2, "{args:?}: {}", run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", run.stderr);
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(needle),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stdout.is_empty(),
            "{args:?} ran something: {}",
            run.stdout
        );
        assert!(
            !run.results.join("latest").exists(),
            "{args:?} made a session"
        );
    }
}

#[test]
fn collect_only_and_collect_num_nodes() {
    let run = run_fixtures(&["--collect-only", "sched::"], &[]);
    run.assert_status(0);
    assert_eq!(run.stdout.lines().count(), 12 + 4 + 1);
    let run = run_fixtures(&["--collect-num-nodes", "sched::"], &[]);
    assert_eq!(run.stdout.trim(), (12 + 4 * 2 + 4).to_string());
}

#[test]
fn cluster_utilization_and_greedy_tests_fail_when_asked() {
    let run = run_fixtures(&["--exact", "basic::underuses", "basic::greedy"], &[]);
    run.assert_status(0);
    let run = run_fixtures(
        &[
            "--exact",
            "basic::underuses",
            "basic::greedy",
            "--fail-bad-cluster-utilization",
            "--fail-greedy-tests",
        ],
        &[],
    );
    run.assert_status(101);
    assert!(
        run.stdout.contains("declared 2 nodes but used 1"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("--fail-greedy-tests"), "{}", run.stdout);
    let report = run.report();
    let underuses = report["results"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["test_id"] == "basic::underuses"))
        .cloned()
        .expect("underuses reported");
    assert_eq!(
        (
            underuses["nodes_allocated"].as_u64(),
            underuses["nodes_used"].as_u64()
        ),
        (Some(2), Some(1))
    );
}

#[test]
fn bad_cluster_files_are_refused_before_any_test_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("garbage.json", "not json at all", "not valid JSON"),
        (
            "nohost.json",
            r#"{"nodes": [{"ssh_config": {"hostname": "10.251.0.11"}}]}"#,
            "host",
        ),
        (
            "dup.json",
            r#"{"nodes": [{"ssh_config": {"host": "a", "hostname": "10.251.0.11"}}, {"ssh_config": {"host": "a", "hostname": "10.251.0.12"}}]}"#,
            "\"a\"",
        ),
        (
            "key.json",
            r#"{"nodes": [{"ssh_config": {"host": "a", "hostname": "10.251.0.11", "identityfile": "/no/such/key"}}]}"#,
            "/no/such/key",
        ),
    ];
    for (name, text, needle) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let file = file.display().to_string();
        let run = run_fixtures(
            &[
                "--exact",
                "basic::passes",
                "--cluster",
                "json",
                "--cluster-file",
                &file,
            ],
            &[],
        );
        assert_eq!(run.status, 2, "{name}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(name) && run.stderr.contains(needle),
            "{name}: {}",
            run.stderr
        );
        assert!(!run.stdout.contains("basic::passes"), "{name}: a test ran");
    }
}

#[test]
fn systest_listing_collection_and_node_count_snapshots() {
    let list = run_systest(&["--list"], &[]);
    list.assert_status(0);
    insta::assert_snapshot!("systest_list", list.stdout);
    let ignored = run_systest(&["--list", "--ignored"], &[]);
    insta::assert_snapshot!("systest_list_ignored", ignored.stdout);
    let collect = run_systest(&["--collect-only"], &[]);
    insta::assert_snapshot!("systest_collect_only", collect.stdout);
    let nodes = run_systest(&["--collect-num-nodes"], &[]);
    insta::assert_snapshot!("systest_collect_num_nodes", nodes.stdout);
}

#[test]
fn parameters_naming_an_existing_case_keep_its_cluster_and_missing_ones_are_refused() {
    // marks::replicate's replicas=2 case declares two nodes.
    let run = run_systest(
        &[
            "--exact",
            "marks::replicate",
            "--parameters",
            r#"{"replicas": 2, "topic": "replicated"}"#,
            "--collect-num-nodes",
        ],
        &[],
    );
    run.assert_status(0);
    assert_eq!(run.stdout.trim(), "2");
    let run = run_fixtures(
        &["--exact", "basic::echo_args", "--parameters", r#"{"a": 1}"#],
        &[],
    );
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("basic::echo_args also needs b"),
        "{}",
        run.stderr
    );
}

#[test]
fn exclude_takes_names_paths_and_globs_and_a_missing_suite_file_is_an_error() {
    let listed = run_fixtures(
        &[
            "--list",
            "basic::",
            "--exclude",
            "basic::e*",
            "basic::passes",
        ],
        &[],
    )
    .listed();
    assert!(
        !listed
            .iter()
            .any(|n| n.starts_with("basic::e") || n == "basic::passes"),
        "{listed:?}"
    );
    assert!(listed.contains(&"basic::fails".to_string()), "{listed:?}");
    let run = run_fixtures(&["--collect-only", "tests/no-such-suite.yml"], &[]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no-such-suite.yml"), "{}", run.stderr);
}

/// Runs the fixtures binary expecting bad input: exit 2, nothing run, and
/// exactly one stderr line, which is returned.
fn one_error_line(args: &[&str], envs: &[(&str, &str)]) -> String {
    let run = run_fixtures(args, envs);
    assert_eq!(run.status, 2, "{args:?} {envs:?}: {}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "{args:?} {envs:?} ran: {}",
        run.stdout
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?} {envs:?}: {}", run.stderr);
    lines[0].to_string()
}

#[test]
fn errors_from_variables_and_config_files_name_them_and_negative_numbers_are_refused() {
    let env_cases: &[(&str, &str, &str)] = &[
        (
            "DUCKTAPE_SUBSET",
            "abc",
            "error: DUCKTAPE_SUBSET=abc: invalid value 'abc' for --subset: invalid digit found in string",
        ),
        (
            "DUCKTAPE_MAX_PARALLEL",
            "-2",
            "error: DUCKTAPE_MAX_PARALLEL=-2: --max-parallel takes a non-negative number, not -2",
        ),
        (
            "DUCKTAPE_REPEAT",
            "0",
            "error: DUCKTAPE_REPEAT=0: --repeat must be at least 1",
        ),
        (
            "DUCKTAPE_EXIT_FIRST",
            "maybe",
            "error: DUCKTAPE_EXIT_FIRST=maybe: --exit-first is a switch",
        ),
        (
            "DUCKTAPE_GLOBALS",
            "{oops}",
            "error: DUCKTAPE_GLOBALS={oops}: --globals: not valid JSON",
        ),
    ];
    let later: &[(&str, &str, &str)] = &[
        (
            "DUCKTAPE_HISTORICAL_REPORT",
            "/no/such/report.json",
            "error: DUCKTAPE_HISTORICAL_REPORT=/no/such/report.json: ",
        ),
        (
            "DUCKTAPE_SUITE",
            "tests/no-such-suite.yml",
            "error: DUCKTAPE_SUITE=tests/no-such-suite.yml: ",
        ),
        (
            "DUCKTAPE_PARAMETERS",
            r#"{"nope": 1}"#,
            r#"error: DUCKTAPE_PARAMETERS={"nope": 1}: --parameters: test basic::passes takes ()"#,
        ),
    ];
    for (var, value, start) in env_cases.iter().chain(later) {
        let line = one_error_line(&["--exact", "basic::passes"], &[(var, value)]);
        assert!(line.starts_with(start), "{var}={value}: {line}");
    }

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ducktape.conf");
    let path = config.display().to_string();
    let file_cases = [
        (
            "--deflake 2\n\n--frobnicate\n",
            3,
            "unexpected argument '--frobnicate'",
        ),
        (
            "--repeat 2\n--test-runner-timeout soon\n",
            2,
            "invalid value 'soon' for --test-runner-timeout",
        ),
        (
            "# settings\n--subset -1\n",
            2,
            "--subset takes a non-negative number, not -1",
        ),
        ("--deflake 0\n", 1, "--deflake must be at least 1"),
    ];
    for (text, n, needle) in file_cases {
        std::fs::write(&config, text).unwrap();
        let start = format!("error: {path}:{n}: ");
        for (args, envs) in [
            (vec!["--config-file", path.as_str()], vec![]),
            (vec![], vec![("DUCKTAPE_CONFIG_FILE", path.as_str())]),
        ] {
            let line = one_error_line(&args, &envs);
            assert!(
                line.starts_with(&start) && line.contains(needle),
                "{text:?}: {line}"
            );
        }
    }

    for flag in [
        "--subset",
        "--subsets",
        "--repeat",
        "--max-parallel",
        "--test-threads",
        "--test-runner-timeout",
        "--deflake",
        "--sample",
    ] {
        let line = one_error_line(&[flag, "-1"], &[]);
        assert_eq!(
            line,
            format!("error: {flag} takes a non-negative number, not -1")
        );
    }
}

#[test]
fn a_selection_of_zero_tests_warns_once_and_exits_0() {
    // The listing holds ignored tests too.
    let total = run_fixtures(&["--list"], &[]).listed().len();
    let run = run_fixtures(&["nosuch"], &[]);
    run.assert_status(0);
    assert_eq!(
        run.stderr.trim_end(),
        format!("ducktape: warning: no test matches the filter \"nosuch\" ({total} tests in this binary)")
    );
    assert!(run.stdout.contains("running 0 tests"), "{}", run.stdout);
    assert!(
        !run.results.join("latest").exists(),
        "a session for no test"
    );

    let run = run_fixtures(&["--ignored", "basic::passes"], &[]);
    run.assert_status(0);
    assert!(
        run.stderr
            .contains("warning: no test matches the filter \"basic::passes\", --ignored")
            && run.stderr.contains("1 match but none is ignored"),
        "{}",
        run.stderr
    );
    let run = run_fixtures(&["--collect-only", "--exact", "nosuch"], &[]);
    assert!(
        run.stderr.contains("\"nosuch\" (--exact)"),
        "{}",
        run.stderr
    );

    // No warning when listing (nextest lists every binary), for an existing
    // test, or for a test the subset leaves out (as under nextest with
    // DUCKTAPE_SUBSET): the filter matched, the split left it elsewhere.
    let quiet = |run: &Run| assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    quiet(run_fixtures(&["--list", "nosuch"], &[]).assert_status(0));
    quiet(run_fixtures(&["--list", "--ignored", "basic::passes"], &[]).assert_status(0));
    quiet(run_fixtures(&["--exact", "basic::passes"], &[]).assert_status(0));
    let in_first = run_fixtures(&["--list", "--subsets", "2", "--subset", "0"], &[])
        .listed()
        .contains(&"basic::passes".to_string());
    let other = if in_first { "1" } else { "0" };
    let run = run_fixtures(
        &["--exact", "basic::passes"],
        &[("DUCKTAPE_SUBSETS", "2"), ("DUCKTAPE_SUBSET", other)],
    );
    run.assert_status(0);
    quiet(&run);
    assert!(run.stdout.contains("running 0 tests"), "{}", run.stdout);
}

#[test]
fn cluster_errors_from_variables_name_the_variable() {
    let run = run_fixtures(&["basic::passes"], &[("DUCKTAPE_CLUSTER", "nosuch")]);
    run.assert_status(2);
    assert!(
        run.stderr
            .starts_with("error: DUCKTAPE_CLUSTER=nosuch: unknown --cluster \"nosuch\""),
        "{}",
        run.stderr
    );
    let run = run_fixtures(
        &["basic::passes", "--cluster", "json"],
        &[("DUCKTAPE_CLUSTER_FILE", "/no/such/cluster.json")],
    );
    run.assert_status(2);
    assert!(
        run.stderr
            .starts_with("error: DUCKTAPE_CLUSTER_FILE=/no/such/cluster.json: cannot read"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_console_keeps_libtest_lines_whole_and_info_logs_for_nocapture() {
    let run = run_systest(
        &["--exact", "quickstart::hello", "quickstart::ticker_bounce"],
        &[],
    );
    run.assert_status(0);
    for name in ["quickstart::hello", "quickstart::ticker_bounce"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with(&format!("test {name} "))
                    && l.ends_with(" ... ok")
                    && !l.contains('[')),
            "{}",
            run.stdout
        );
    }
    assert!(!run.stderr.contains("[INFO"), "{}", run.stderr);
    let loud = run_systest(&["--exact", "quickstart::hello", "--nocapture"], &[]);
    loud.assert_status(0);
    assert!(
        loud.stderr
            .lines()
            .any(|l| l.starts_with("quickstart::hello: [INFO ")),
        "{}",
        loud.stderr
    );
}

#[test]
fn a_failure_block_points_at_the_evidence() {
    let run = run_fixtures(&["--exact", "basic::fails"], &[]);
    run.assert_status(101);
    let session = run.session();
    let log = session.join("basic/fails/1/test_log.info");
    let block = run
        .stdout
        .split("---- basic::fails ----")
        .nth(1)
        .unwrap_or_else(|| panic!("no failure block:\n{}", run.stdout));
    assert!(
        run.stderr.contains(&format!(
            "ducktape: rerun the failed tests with: cargo test --test fixtures -- {}",
            run.results
                .join(session.file_name().unwrap())
                .join("rerun-failed.yml")
                .display()
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("report.html"), "{}", run.stderr);
    for want in [
        "deliberate failure".to_string(),
        "  nodes:   worker".to_string(),
        format!("  log:     {}", log.display()),
        "  last lines of the test log:".to_string(),
        "about to fail on purpose".to_string(),
    ] {
        assert!(block.contains(&want), "{want:?} not in:\n{block}");
    }
}

/// The fixtures binary with stdout and stderr in one file, as `2>&1 | tee`
/// or a CI log has them.
fn run_merged(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, std::path::PathBuf) {
    let results = tempfile::tempdir().expect("tempdir").keep();
    let out = results.join("console.txt");
    let file = std::fs::File::create(&out).expect("console file");
    let mut cmd = std::process::Command::new(fixtures_bin());
    cmd.args(args)
        .arg("--results-root")
        .arg(&results)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().expect("dup"))
        .stderr(file);
    for (k, _) in std::env::vars() {
        if k.starts_with("DUCKTAPE_") || k.starts_with("NEXTEST") {
            cmd.env_remove(&k);
        }
    }
    cmd.envs(envs.iter().copied());
    let status = cmd.status().expect("fixtures run").code().unwrap_or(-1);
    let text = std::fs::read_to_string(&out).expect("console text");
    (status, text, results)
}

const SLEEPER: &[&str] = &[
    "progress::",
    "--globals",
    r#"{"sleep_ms": 2600}"#,
    "--history",
    "0",
];

#[test]
fn without_a_terminal_status_and_slow_lines_are_whole_lines_even_with_one_thread() {
    let args = [SLEEPER, &["--status-interval", "1"]].concat();
    let (status, text, results) = run_merged(&args, &[("DUCKTAPE_SLOW_TIMEOUT", "1")]);
    assert_eq!(status, 0, "{text}");
    // stdout and stderr share the file: libtest's lines are still whole.
    for name in ["quick_a", "quick_b", "sleeps "] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("test progress::{name}")) && l.ends_with(" ... ok")),
            "{name}: {text}"
        );
    }
    // Its node depends on what tests running at the same time hold.
    for secs in [1, 2] {
        let slow = text.lines().find(|l| {
            l.starts_with("ducktape: SLOW progress::sleeps (nodes worker")
                && l.ends_with(&format!("): running for {secs}s (--slow-timeout 1)"))
        });
        assert!(slow.is_some(), "no SLOW line at {secs}s:\n{text}");
    }
    for want in [
        "ducktape: 2/3 done: 2 passed, 0 failed, 0 ignored; 1s elapsed",
        "running SLOW progress::sleeps ",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    // The notice is in the test's own log as a WARN, not echoed as a log line.
    assert!(!text.contains("[WARN"), "{text}");
    let log = std::fs::read_to_string(results.join("latest/progress/sleeps/1/test_log.info"))
        .expect("the sleeper's log");
    assert!(
        log.lines()
            .any(|l| l.starts_with("[WARN")
                && l.ends_with("SLOW: running for 1s (--slow-timeout 1)")),
        "{log}"
    );
}

/// One test run alone (an IDE's run button, `--exact NAME 2>&1`): its
/// SLOW lines and echoed log lines do not split libtest's line either.
#[test]
fn a_single_test_keeps_its_libtest_line_whole_in_a_shared_console() {
    let args = [SLEEPER, &["--exact", "progress::sleeps"]].concat();
    let (status, text, _) = run_merged(&args, &[("DUCKTAPE_SLOW_TIMEOUT", "1")]);
    assert_eq!(status, 0, "{text}");
    assert!(
        text.lines().any(|l| l == "test progress::sleeps ... ok"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("ducktape: SLOW progress::sleeps (nodes worker")),
        "{text}"
    );
    // A failing test's ERROR line is echoed to stderr: still not inside.
    let (status, text, _) = run_merged(&["--exact", "basic::fails", "--history", "0"], &[]);
    assert_eq!(status, 101, "{text}");
    assert!(
        text.lines().any(|l| l == "test basic::fails ... FAILED"),
        "{text}"
    );
}

#[test]
fn no_status_for_runs_shorter_than_the_interval_none_when_off_and_none_under_nextest() {
    let quiet_enough = |text: &str| !text.contains("done:") && !text.contains("SLOW");
    // Defaults: 30 s between status lines, SLOW after 60 s.
    let (status, text, _) = run_merged(SLEEPER, &[]);
    assert_eq!(status, 0, "{text}");
    assert!(quiet_enough(&text), "{text}");
    let off = [SLEEPER, &["--slow-timeout", "0"]].concat();
    let (status, text, _) = run_merged(&off, &[("DUCKTAPE_STATUS_INTERVAL", "0")]);
    assert_eq!(status, 0, "{text}");
    assert!(quiet_enough(&text), "{text}");
    // No status lines, but SLOW lines still.
    let slow_only = [SLEEPER, &["--slow-timeout", "1"]].concat();
    let (status, text, _) = run_merged(&slow_only, &[("DUCKTAPE_STATUS_INTERVAL", "0")]);
    assert_eq!(status, 0, "{text}");
    assert!(!text.contains("done:"), "{text}");
    assert!(text.contains("ducktape: SLOW progress::sleeps"), "{text}");
    // nextest prints its own SLOW; the test's log still notes it.
    let nextest = [SLEEPER, &["--exact", "progress::sleeps"]].concat();
    let short = [
        ("NEXTEST", "1"),
        ("DUCKTAPE_SLOW_TIMEOUT", "1"),
        ("DUCKTAPE_STATUS_INTERVAL", "1"),
    ];
    let (status, text, results) = run_merged(&nextest, &short);
    assert_eq!(status, 0, "{text}");
    assert!(quiet_enough(&text), "{text}");
    let log = std::fs::read_to_string(results.join("latest/progress/sleeps/1/test_log.info"))
        .expect("the sleeper's log");
    assert!(log.contains("SLOW: running for 1s"), "{log}");
}

/// tmux on this machine, or why not.
fn tmux() -> Result<(), String> {
    match std::process::Command::new("tmux").arg("-V").output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "tmux -V failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!("no tmux ({e}); apt-get install tmux")),
    }
}

/// A tmux server of its own, killed when dropped.
struct Tmux(String);

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("tmux")
            .args(["-L", &self.0, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// The pane's rows, top to bottom.
    fn screen(&self) -> Vec<String> {
        let out = self.cmd(&["capture-pane", "-p", "-t", "t"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// Drops the DUCKTAPE_*/NEXTEST* variables the tmux server inherited.
const UNSET: &str = r#"for v in $(env | sed -n 's/^\(DUCKTAPE_[A-Z_]*\|NEXTEST[A-Z_]*\)=.*/\1/p'); do unset "$v"; done"#;

/// Runs the sleeper suite in a 120x20 tmux pane with `threads`: while it
/// runs the status is the bottom row; at the end it is gone and libtest's
/// lines are whole.
fn live_line_in_tmux(threads: &str) {
    const ROWS: usize = 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("run.sh");
    let quoted: Vec<String> = [SLEEPER, &["--test-threads", threads, "--slow-timeout", "1"]]
        .concat()
        .iter()
        .map(|a| format!("'{a}'"))
        .collect();
    std::fs::write(
        &script,
        format!(
            "seq 1 30\n{UNSET}\n'{}' {} --results-root '{}'\necho EXIT=$?\nexec sleep 600\n",
            fixtures_bin().display(),
            quoted.join(" "),
            dir.path().display()
        ),
    )
    .expect("script");
    let tmux = Tmux(format!(
        "ducktape-progress-{}-{threads}",
        std::process::id()
    ));
    let rows = ROWS.to_string();
    let started = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "120",
        "-y",
        &rows,
        "sh",
        &script.display().to_string(),
    ]);
    assert!(started.status.success(), "{started:?}");
    let mut during = Vec::new();
    let slow_shown = eventually(20, || {
        during = tmux.screen();
        during.len() == ROWS && during[ROWS - 1].contains("running SLOW progress::sleeps")
    });
    assert!(
        slow_shown,
        "no status on the bottom row:\n{}",
        during.join("\n")
    );
    assert!(
        during[ROWS - 1].starts_with("2/3 done: 2 passed, 0 failed, 0 ignored;"),
        "{}",
        during.join("\n")
    );
    let mut after = Vec::new();
    assert!(
        eventually(30, || {
            after = tmux.screen();
            after.iter().any(|l| l.starts_with("EXIT="))
        }),
        "the run did not end:\n{}",
        after.join("\n")
    );
    let screen = after.join("\n");
    assert!(after.iter().any(|l| l == "EXIT=0"), "{screen}");
    assert!(
        !screen.contains("done:"),
        "the status line stayed:\n{screen}"
    );
    for name in ["quick_a ", "quick_b ", "sleeps  "] {
        assert!(
            after
                .iter()
                .any(|l| l == &format!("test progress::{name}... ok")),
            "{name}: {screen}"
        );
    }
}

#[test]
fn on_a_terminal_the_status_is_the_bottom_row_and_gone_at_the_end() {
    if let Err(why) = tmux() {
        eprintln!("skipped: {why}");
        return;
    }
    live_line_in_tmux("1");
    live_line_in_tmux("3");
}

#[test]
fn under_nextest_subsets_are_refused_for_partitions() {
    let run = run_fixtures(
        &["--exact", "basic::passes"],
        &[
            ("NEXTEST", "1"),
            ("DUCKTAPE_SUBSETS", "2"),
            ("DUCKTAPE_SUBSET", "0"),
        ],
    );
    run.assert_status(2);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].starts_with("error: DUCKTAPE_SUBSETS=2: under cargo nextest run")
            && lines[0].contains("--partition hash:I/N"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_bad_ssh_variable_is_one_line_naming_it() {
    let cases = [
        (
            "DUCKTAPE_SSH_HOST_KEYS",
            "maybe",
            "error: DUCKTAPE_SSH_HOST_KEYS=maybe: invalid value 'maybe' for --ssh-host-keys: \
             expected strict, accept-new or off",
        ),
        (
            "DUCKTAPE_SSH_ROOT",
            "relative/dir",
            "error: DUCKTAPE_SSH_ROOT=relative/dir: invalid value 'relative/dir' for --ssh-root",
        ),
        (
            "DUCKTAPE_SSH_CIPHERS",
            "rot13",
            "error: DUCKTAPE_SSH_CIPHERS=rot13: invalid value 'rot13' for --ssh-ciphers",
        ),
        (
            "DUCKTAPE_SSH_ACCEPT_NEW",
            "please",
            "error: DUCKTAPE_SSH_ACCEPT_NEW=please: --ssh-accept-new is a switch",
        ),
    ];
    for (var, value, start) in cases {
        let line = one_error_line(&["--exact", "basic::passes"], &[(var, value)]);
        assert!(line.starts_with(start), "{var}={value}: {line}");
    }
}
