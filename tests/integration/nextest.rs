//! The same binaries under `cargo nextest run`: one process per test, options
//! through `DUCKTAPE_*` variables, one session per run.

use crate::common::*;
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

/// The README's CI recipe for nextest: shard `i` of 2 runs
/// `cargo nextest run --partition hash:i/2` into its own results root.
fn partitioned_shards(filter: &str) -> Vec<tempfile::TempDir> {
    let roots: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    for (i, root) in roots.iter().enumerate() {
        let partition = format!("hash:{}/2", i + 1);
        nextest_fixtures(
            &["-E", filter, "--partition", &partition],
            &[("DUCKTAPE_RESULTS_ROOT", root.path().display().to_string())],
        );
    }
    roots
}

#[test]
fn two_nextest_shards_merge_into_the_whole_selection() {
    let filter = "test(/^basic::(passes|fails|returns_data|echo_args)/)";
    let roots = partitioned_shards(filter);
    let shards: Vec<String> = roots
        .iter()
        .flat_map(|r| sessions(r.path()))
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(shards.len(), 2, "{shards:?}");
    let out = tempfile::tempdir().unwrap().keep().join("merged");
    let out = out.display().to_string();
    let mut args = vec![
        "basic::passes",
        "basic::fails",
        "basic::returns_data",
        "basic::echo_args",
        "--merge-results",
        &out,
    ];
    args.extend(shards.iter().map(String::as_str));
    let merge = run_fixtures(&args, &[]);
    merge.assert_status(0);
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&out).join("report.json")).unwrap(),
    )
    .unwrap();
    let mut ids: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["test_id"].as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "basic::echo_args::a=1,b=x",
            "basic::echo_args::a=2,b=x",
            "basic::fails",
            "basic::passes",
            "basic::returns_data"
        ],
        "{}",
        merge.stdout
    );
    assert_eq!(report["missing"], serde_json::json!([]));
    assert_eq!(report["duplicates"], serde_json::json!([]));
}

/// `(classname, name)` of every `<testcase>` in a JUnit file.
fn junit_cases(xml: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, key: &str| {
        let start = tag.find(&format!(" {key}=\""))? + key.len() + 3;
        let len = tag[start..].find('"')?;
        Some(tag[start..start + len].to_string())
    };
    let mut cases: Vec<(String, String)> = xml
        .split("<testcase ")
        .skip(1)
        .filter_map(|t| {
            let tag = format!(" {}", &t[..t.find('>')?]);
            let tag = tag.as_str();
            Some((attr(tag, "classname")?, attr(tag, "name")?))
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn nextest_junit_and_report_xml_name_tests_alike() {
    let config = tempfile::tempdir().unwrap();
    let config_file = config.path().join("nextest.toml");
    std::fs::write(
        &config_file,
        "[profile.junit-names.junit]\npath = \"junit.xml\"\n",
    )
    .unwrap();
    let results = tempfile::tempdir().unwrap();
    nextest_fixtures(
        &[
            "--config-file",
            config_file.to_str().unwrap(),
            "--profile",
            "junit-names",
            "-E",
            "test(/^basic::(passes|fails|echo_args)/)",
        ],
        &[(
            "DUCKTAPE_RESULTS_ROOT",
            results.path().display().to_string(),
        )],
    );
    let junit = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/nextest/junit-names/junit.xml");
    let theirs = junit_cases(&std::fs::read_to_string(&junit).unwrap());
    let session = &sessions(results.path())[0];
    let ours = junit_cases(&std::fs::read_to_string(session.join("report.xml")).unwrap());
    assert_eq!(ours.len(), 4, "{ours:?}");
    assert_eq!(ours, theirs);
    assert!(ours.contains(&("ducktape-rs::fixtures".into(), "basic::fails".into())));
}

#[test]
fn nextest_refuses_ducktape_subsets_before_listing_and_names_partition() {
    let run = nextest_fixtures(
        &["-E", "test(=basic::passes)"],
        &[
            ("DUCKTAPE_SUBSETS", "2".into()),
            ("DUCKTAPE_SUBSET", "0".into()),
        ],
    );
    assert_ne!(run.status, 0);
    assert!(
        run.stderr.contains(
            "error: DUCKTAPE_SUBSETS=2: under cargo nextest run, split the suite with \
             nextest's own `--partition hash:I/N`"
        ),
        "{}",
        run.stderr
    );
}
