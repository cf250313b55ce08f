//! report.html opened in a real browser (Debian's headless Chromium): the
//! page must render every test from report.js, offline, from file://.

use crate::common::*;
use std::process::{Command, Stdio};

fn chromium(args: &[&str], url: &str) -> Option<std::process::Output> {
    let profile = tempfile::tempdir().ok()?;
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .ok()
}

#[test]
fn report_html_renders_every_test_in_headless_chromium() {
    if Command::new("chromium").arg("--version").output().is_err() {
        eprintln!("skipped: needs chromium (scripts/install-deps.sh installs it)");
        return;
    }
    let run = run_fixtures(
        &[
            "--exact",
            "basic::passes",
            "basic::fails",
            "basic::returns_data",
            "basic::ignored",
            "basic::echo_args",
        ],
        &[],
    );
    run.assert_status(101);
    let url = format!("file://{}", run.session().join("report.html").display());
    let dom = chromium(&["--dump-dom"], &url).expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    let rows = |class: &str| dom.matches(&format!("<tr class=\"row {class}\"")).count();
    assert_eq!(
        (rows("pass"), rows("fail"), rows("ignore")),
        (4, 1, 1),
        "{dom}"
    );
    for id in [
        "basic::passes",
        "basic::fails",
        "basic::returns_data",
        "basic::echo_args::a=2,b=x",
    ] {
        assert!(dom.contains(id), "{id} not rendered");
    }
    assert!(
        dom.contains("deliberate failure"),
        "failure message not shown"
    );
    // Links point into the results tree, relative to the page.
    assert!(
        dom.contains("href=\"basic/fails/1/test_log.info\""),
        "no relative log link"
    );

    let shot = run.results.join("report.png");
    let out =
        chromium(&[&format!("--screenshot={}", shot.display())], &url).expect("chromium runs");
    assert!(out.status.success());
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "blank screenshot ({} bytes)",
        png.len()
    );
}

fn has_chromium() -> bool {
    let ok = Command::new("chromium").arg("--version").output().is_ok();
    if !ok {
        eprintln!("skipped: needs chromium (scripts/install-deps.sh installs it)");
    }
    ok
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `test_id → status` of a report.json.
fn statuses(report: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["test_id"].as_str().unwrap().to_owned(),
                r["test_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const SHARDED: [&str; 6] = [
    "basic::passes",
    "basic::fails",
    "basic::ignored",
    "perf::noop",
    "perf::two_nodes",
    "perf::throughput",
];

fn args_with<'a>(names: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--exact"];
    args.extend_from_slice(names);
    args.extend_from_slice(extra);
    args
}

// ---- merged shards (--merge-results) ----

#[test]
fn two_shards_merged_equal_one_full_run_with_every_report() {
    let full = run_fixtures(&args_with(&SHARDED, &["--max-parallel", "2"]), &[]);
    full.assert_status(101);
    // Two "machines": separate results roots, like two CI jobs.
    let shards: Vec<Run> = (0..2)
        .map(|i| {
            let i = i.to_string();
            run_fixtures(
                &args_with(&SHARDED, &["--subsets", "2", "--subset", &i]),
                &[],
            )
        })
        .collect();
    let out = tempfile::tempdir().unwrap().keep().join("merged");
    let (s0, s1) = (shards[0].session(), shards[1].session());
    let (s0, s1, o) = (
        s0.to_str().unwrap(),
        s1.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let merge = run_fixtures(&args_with(&SHARDED, &["--merge-results", o, s0, s1]), &[]);
    merge.assert_status(0);
    assert!(
        merge
            .stdout
            .contains("merged 6 records (1 failed) from 2 shards"),
        "{}",
        merge.stdout
    );

    let merged = read_json(&out.join("report.json"));
    assert_eq!(statuses(&merged), statuses(&full.report()));
    assert_eq!(merged["missing"], serde_json::json!([]));
    assert_eq!(merged["duplicates"], serde_json::json!([]));
    for name in [
        "report.txt",
        "report.json",
        "report.xml",
        "report.html",
        "report.css",
        "report.js",
    ] {
        assert!(
            out.join(name).is_file(),
            "{name} missing from the merged session"
        );
    }
    let xml = std::fs::read_to_string(out.join("report.xml")).unwrap();
    assert!(xml.contains("tests=\"6\" failures=\"1\""), "{xml}");
    // Each record names its shard and machine; logs were copied along.
    let shard_names: Vec<String> = shards
        .iter()
        .map(|s| {
            s.session()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for r in merged["results"].as_array().unwrap() {
        let shard = r["shard"].as_str().unwrap_or_default();
        assert!(
            shard_names.iter().any(|n| n == shard) || shard.ends_with(shard_names[0].as_str()),
            "{r}"
        );
        assert!(!r["host"].as_str().unwrap_or_default().is_empty(), "{r}");
    }
    assert!(out.join("basic/fails/1/test_log.info").is_file());
    assert!(std::fs::read_to_string(out.join("rerun-failed.yml"))
        .unwrap()
        .contains("basic::fails"));
}

#[test]
fn a_missing_or_duplicated_test_is_reported() {
    let shard = run_fixtures(&["--exact", "basic::passes", "perf::noop"], &[]);
    shard.assert_status(0);
    let other = run_fixtures(&["--exact", "perf::noop"], &[]);
    let out = tempfile::tempdir().unwrap().keep().join("merged");
    let (a, b, o) = (shard.session(), other.session(), out.to_str().unwrap());
    let merge = run_fixtures(
        &[
            "--exact",
            "basic::passes",
            "perf::noop",
            "perf::throughput",
            "--merge-results",
            o,
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
        &[],
    );
    merge.assert_status(1);
    assert!(
        merge
            .stdout
            .contains("1 tests of the suite ran in no shard: perf::throughput"),
        "{}",
        merge.stdout
    );
    assert!(
        merge.stdout.contains("1 tests ran in more than one shard")
            && merge.stdout.contains("perf::noop ("),
        "{}",
        merge.stdout
    );
    let report = read_json(&out.join("report.json"));
    assert_eq!(report["missing"], serde_json::json!(["perf::throughput"]));
    assert_eq!(report["duplicates"][0]["test_id"], "perf::noop");
    assert_eq!(
        report["results"].as_array().unwrap().len(),
        2,
        "each test once"
    );
    // An output that is in use is refused, naming it.
    let again = run_fixtures(&["--merge-results", o, a.to_str().unwrap()], &[]);
    again.assert_status(2);
    assert!(
        again.stderr.contains("must be new or empty") && again.stderr.contains(o),
        "{}",
        again.stderr
    );
}

#[test]
fn ducktape_reports_merge_where_their_fields_allow() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ducktape-0.17-report.json"
    );
    let out = tempfile::tempdir().unwrap().keep().join("merged");
    let o = out.to_str().unwrap();
    let merge = run_fixtures(
        &["--exact", "perf::noop", "--merge-results", o, fixture],
        &[],
    );
    // The Python tests are not this binary's: its own test is missing.
    merge.assert_status(1);
    let report = read_json(&out.join("report.json"));
    let ids = statuses(&report);
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains_key("ducktape_suite.services.ServiceTest.test_http_8_nodes"));
    assert_eq!(report["missing"], serde_json::json!(["perf::noop"]));
    assert!(out.join("report.html").is_file() && out.join("report.xml").is_file());
}

// ---- history: regressions against earlier sessions ----

#[test]
fn a_throughput_drop_is_flagged_in_console_json_junit_and_html() {
    let root = tempfile::tempdir().unwrap().keep();
    let tests = ["perf::throughput", "perf::noop", "perf::two_nodes"];
    for _ in 0..3 {
        let run = run_in(
            fixtures_bin(),
            &args_with(&tests, &["--globals", r#"{"throughput": 100}"#]),
            &[],
            &root,
        );
        run.assert_status(0);
        assert!(!run.stderr.contains("REGRESSION"), "{}", run.stderr);
    }
    let run = run_in(
        fixtures_bin(),
        &args_with(
            &tests,
            &[
                "--globals",
                r#"{"throughput": 40}"#,
                "--fail-on-regression",
                "--max-parallel",
                "2",
            ],
        ),
        &[],
        &root,
    );
    run.assert_status(101);
    // Before the --baseline run below repoints `latest`.
    let session = run.session();
    assert!(
        run.stderr.contains("REGRESSION perf::throughput: throughput 100 -> 40 (-60.0%, higher is better, baseline of 3 sessions)"),
        "{}",
        run.stderr
    );
    let report = run.report();
    let regressions = report["regressions"].as_array().expect("regressions key");
    // Unchanged tests (the no-op's run time is noise) are not flagged.
    assert_eq!(regressions.len(), 1, "{regressions:?}");
    let r = &regressions[0];
    assert_eq!(
        (
            &r["test_id"],
            &r["metric"],
            &r["kind"],
            &r["baseline"],
            &r["value"]
        ),
        (
            &"perf::throughput".into(),
            &"throughput".into(),
            &"regression".into(),
            &100.0.into(),
            &40.0.into()
        )
    );
    let statuses = statuses(&report);
    assert_eq!(statuses["perf::throughput"], "FAIL");
    assert_eq!(statuses["perf::noop"], "PASS");
    let record = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["test_id"] == "perf::throughput")
        .unwrap();
    assert_eq!(record["regressions"][0]["metric"], "throughput");
    assert_eq!(
        record["history"]["metrics"]["throughput"],
        serde_json::json!([100.0, 100.0, 100.0])
    );
    let xml = std::fs::read_to_string(session.join("report.xml")).unwrap();
    assert!(
        xml.contains("<properties><property name=\"regression\" value=\"throughput 100 -&gt; 40"),
        "{xml}"
    );

    // --baseline: one earlier session instead of the root's history.
    let first = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("session.json").is_file())
        .min()
        .unwrap();
    let base = run_in(
        fixtures_bin(),
        &[
            "--exact",
            "perf::throughput",
            "--globals",
            r#"{"throughput": 150}"#,
            "--baseline",
            first.to_str().unwrap(),
        ],
        &[],
        &root,
    );
    base.assert_status(0);
    assert!(
        base.stderr
            .contains("improvement perf::throughput: throughput 100 -> 150 (+50.0%"),
        "{}",
        base.stderr
    );

    if !has_chromium() {
        return;
    }
    let url = format!("file://{}", session.join("report.html").display());
    let dom = chromium(&["--dump-dom"], &url).expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("badge regression"), "no regression badge");
    assert!(dom.contains("id=\"timeline-chart\""), "no timeline");
    // Two-node and one-node tests: bars on the node rows.
    assert!(dom.matches("class=\"tl-bar ").count() >= 4, "{dom}");
    assert!(dom.contains("class=\"trend-chart regression\" width=\"170\" height=\"46\" viewBox=\"0 0 170 46\" data-metric=\"throughput\""), "no trend chart of the regressed metric");
    assert!(
        dom.contains("data-metric=\"run_time_seconds\""),
        "no run-time trend"
    );

    let shot = root.join("trend.png");
    let out =
        chromium(&[&format!("--screenshot={}", shot.display())], &url).expect("chromium runs");
    assert!(out.status.success());
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "blank screenshot ({} bytes)",
        png.len()
    );
}
