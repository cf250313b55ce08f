//! report.html opened in a real browser (Debian's headless Chromium): the
//! page must render every test from report.js, offline, from file://.

mod common;

use common::*;
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
