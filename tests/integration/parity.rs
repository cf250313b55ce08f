//! ducktape 0.17 parity: suite files, exclusions, the rerun file, node
//! types, env marks, result directory names, services without nodes, JVM
//! logs — under `cargo test` and, through `DUCKTAPE_*`, under nextest.

use crate::common::*;
use std::path::Path;
use std::process::{Command, Stdio};

fn ids(run: &Run) -> Vec<String> {
    run.statuses().into_keys().collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn a_suite_file_runs_what_it_includes_minus_what_it_excludes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("more")).unwrap();
    write(
        &dir.path().join("more"),
        "common.yml",
        "common:\n  - basic::passes\n",
    );
    let suite = write(
        dir.path(),
        "ci.yml",
        "import: more/common.yml\nargs:\n  included: ['basic::echo_*']\n  excluded: ['basic::echo_args::a=2,b=x']\n",
    );
    let run = run_fixtures(&[&suite], &[]);
    run.assert_status(0);
    assert_eq!(ids(&run), ["basic::echo_args::a=1,b=x", "basic::passes"]);
    // --suite restricts (here to the suite's tests containing "echo"), and
    // --exclude applies to suites too.
    let run = run_fixtures(&["--suite", &suite, "echo"], &[]);
    assert_eq!(ids(&run), ["basic::echo_args::a=1,b=x"]);
    let run = run_fixtures(&["--suite", &suite, "--exclude", "basic::passes"], &[]);
    assert_eq!(ids(&run), ["basic::echo_args::a=1,b=x"]);
}

#[test]
fn bad_suite_files_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown.yml",
            "s:\n  include: [basic::passes]\n",
            "unknown key",
        ),
        (
            "import.yml",
            "import: missing.yml\n",
            "import missing.yml: no such file",
        ),
        (
            "nothing.yml",
            "s:\n  - basic::no_such_test\n",
            "matches no test",
        ),
        ("broken.yml", "s: [basic::passes\n", "not YAML"),
    ];
    for (name, text, needle) in cases {
        let file = write(dir.path(), name, text);
        let run = run_fixtures(&[&file], &[]);
        assert_eq!(run.status, 2, "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains(name) && run.stderr.contains(needle),
            "{name}: {}",
            run.stderr
        );
        assert!(!run.results.join("latest").exists());
    }
}

#[test]
fn exclude_removes_tests_from_the_selection() {
    let run = run_fixtures(
        &["basic::echo_args", "--exclude", "basic::echo_args::a=1,b=x"],
        &[],
    );
    assert_eq!(ids(&run), ["basic::echo_args::a=2,b=x"]);
    let run = run_fixtures(
        &["--list", "basic::"],
        &[("DUCKTAPE_EXCLUDE", "basic::echo_args basic::hangs")],
    );
    let listed = run.listed();
    assert!(
        listed
            .iter()
            .all(|n| !n.starts_with("basic::echo_args") && n != "basic::hangs"),
        "{listed:?}"
    );
    assert!(listed.contains(&"basic::passes".to_string()));
}

#[test]
fn the_rerun_file_reruns_exactly_the_failed_tests() {
    let results = tempfile::tempdir().unwrap();
    let first = run_in(
        fixtures_bin(),
        &[
            "--exact",
            "basic::fails",
            "basic::passes",
            "basic::echo_args",
        ],
        &[],
        results.path(),
    );
    first.assert_status(101);
    let rerun = first.session().join("rerun-failed.yml");
    assert!(rerun.is_file(), "no rerun-failed.yml");
    let again = run_in(
        fixtures_bin(),
        &[&rerun.display().to_string()],
        &[],
        results.path(),
    );
    again.assert_status(101);
    assert_eq!(ids(&again), ["basic::fails"]);
    // A session with no failure writes none.
    let ok = run_fixtures(&["--exact", "basic::passes"], &[]);
    assert!(!ok.session().join("rerun-failed.yml").exists());
}

#[test]
fn node_types_must_match_unless_ignored() {
    let run = run_fixtures(&["--exact", "parity::typed_node"], &[]);
    run.assert_status(101);
    assert!(
        run.stdout.contains("InsufficientResources") && run.stdout.contains("1 linux(large)"),
        "{}",
        run.stdout
    );
    run_fixtures(
        &["--exact", "parity::typed_node", "--ignore-node-type"],
        &[],
    )
    .assert_status(0);
}

#[test]
fn env_marks_ignore_unless_the_variable_matches() {
    let run = run_fixtures(&["--exact", "parity::env_gated"], &[]);
    run.assert_status(0);
    assert_eq!(run.statuses()["parity::env_gated"], "IGNORE");
    let run = run_fixtures(
        &["--exact", "parity::env_gated"],
        &[("DUCKTAPE_FIXTURE_ENV", "yes")],
    );
    assert_eq!(run.statuses()["parity::env_gated"], "PASS");
}

#[test]
fn skip_nodes_allocation_gives_services_no_nodes() {
    let data = |run: &Run| run.report()["results"][0]["data"]["got"].clone();
    assert_eq!(
        data(&run_fixtures(&["--exact", "parity::service_nodes"], &[])),
        1
    );
    assert_eq!(
        data(&run_fixtures(
            &[
                "--exact",
                "parity::service_nodes",
                "--skip-nodes-allocation"
            ],
            &[]
        )),
        0
    );
}

#[test]
fn result_directories_flat_nested_and_never_too_long() {
    let flat = run_fixtures(&["--exact", "basic::echo_args::a=1,b=x"], &[]);
    assert!(flat
        .session()
        .join("basic/echo_args/a=1.b=x/1/report.json")
        .is_file());
    let nested = run_fixtures(
        &[
            "--exact",
            "basic::echo_args::a=1,b=x",
            "--nested-result-dirs",
        ],
        &[],
    );
    assert!(nested
        .session()
        .join("basic/echo_args/a=1/b=x/1/report.json")
        .is_file());
    for extra in [&[][..], &["--nested-result-dirs"][..]] {
        let mut args = vec!["--exact", "parity::long_param"];
        args.extend_from_slice(extra);
        let run = run_fixtures(&args, &[]);
        run.assert_status(0);
        let rel = run.report()["results"][0]["relative_results_dir"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(rel.split('/').all(|seg| seg.len() <= 255), "{rel}");
        assert!(run.session().join(&rel).join("report.json").is_file());
    }
}

#[test]
fn enable_jvm_logs_collects_gc_logs_of_jvm_services() {
    if Command::new("java")
        .arg("-version")
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("skipped: needs java (scripts/install-deps.sh installs it with zookeeper)");
        return;
    }
    // A private lease root, so the service lands on worker1.
    let (_leases, run) = run_fixtures_with_own_leases(
        &["--exact", "parity::jvm_service", "--enable-jvm-logs"],
        &[],
    );
    run.assert_status(0);
    let gc = run
        .session()
        .join("parity/jvm_service/1/jvm-1/worker1/jvm-logs/gc.log");
    assert!(gc.is_file(), "no GC log at {}", gc.display());
    let without = run_fixtures(&["--exact", "parity::jvm_service"], &[]);
    assert!(!without
        .session()
        .join("parity/jvm_service/1/jvm-1")
        .exists());
}

#[test]
fn the_same_flags_work_under_nextest_through_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let results = tempfile::tempdir().unwrap();
    let suite = write(
        dir.path(),
        "s.yml",
        "s:\n  - parity::*\n  - basic::echo_args\n",
    );
    let run = nextest_fixtures(
        &[],
        &[
            (
                "DUCKTAPE_RESULTS_ROOT",
                results.path().display().to_string(),
            ),
            ("DUCKTAPE_SUITE", suite),
            (
                "DUCKTAPE_EXCLUDE",
                "parity::jvm_service basic::echo_args::a=2,b=x".into(),
            ),
            ("DUCKTAPE_IGNORE_NODE_TYPE", "1".into()),
            ("DUCKTAPE_SKIP_NODES_ALLOCATION", "true".into()),
            ("DUCKTAPE_NESTED_RESULT_DIRS", "1".into()),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let latest = std::fs::canonicalize(results.path().join("latest")).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(latest.join("report.json")).unwrap())
            .unwrap();
    let mut ids: Vec<String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["test_id"].as_str().unwrap(),
                r["test_status"].as_str().unwrap()
            )
        })
        .collect();
    ids.sort();
    // env_gated is ignored by its mark, so nextest skips it.
    assert_eq!(
        ids,
        [
            "basic::echo_args::a=1,b=x PASS",
            "parity::long_param::text=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,n=1 PASS",
            "parity::service_nodes PASS",
            "parity::typed_node PASS",
        ]
    );
    assert!(
        latest
            .join("basic/echo_args/a=1/b=x/1/report.json")
            .is_file(),
        "nested dirs"
    );
    let service_nodes = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["test_id"] == "parity::service_nodes")
        .unwrap()
        .clone();
    assert_eq!(service_nodes["data"]["got"], 0);
}

#[test]
fn a_registered_cluster_type_serves_typed_nodes() {
    let state = tempfile::tempdir().unwrap();
    let lease_root = state.path().display().to_string();
    let run = run_fixtures(
        &[
            "--exact",
            "parity::typed_node",
            "--cluster",
            "typed-pair",
            "--lease-root",
            &lease_root,
        ],
        &[],
    );
    run.assert_status(0);
    let run = run_fixtures(
        &[
            "--exact",
            "basic::returns_data",
            "sched::z_four_nodes",
            "--cluster",
            "typed-pair",
            "--lease-root",
            &lease_root,
        ],
        &[],
    );
    run.assert_status(101);
    assert_eq!(run.statuses()["basic::returns_data"], "PASS");
    assert!(
        run.stdout.contains(
            "needs 4 linux but the typed-pair cluster has 1 linux(large), 1 linux(small)"
        ),
        "{}",
        run.stdout
    );
}
