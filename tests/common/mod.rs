//! Helpers for the integration tests: build and locate the harness=false
//! test binaries, run them, read their session reports.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// What a run of a test binary printed.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub results: PathBuf,
}

/// Paths of the `systest` and `fixtures` executables, built once.
fn binaries() -> &'static (PathBuf, PathBuf) {
    static BINS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BINS.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args([
                "test",
                "--no-run",
                "--message-format=json",
                "--test",
                "systest",
                "--test",
                "fixtures",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo runs");
        assert!(out.status.success(), "building the test binaries failed");
        let mut systest = None;
        let mut fixtures = None;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(msg) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let (Some(name), Some(exe)) =
                (msg["target"]["name"].as_str(), msg["executable"].as_str())
            else {
                continue;
            };
            match name {
                "systest" => systest = Some(PathBuf::from(exe)),
                "fixtures" => fixtures = Some(PathBuf::from(exe)),
                _ => {}
            }
        }
        (
            systest.expect("systest binary"),
            fixtures.expect("fixtures binary"),
        )
    })
}

pub fn systest_bin() -> &'static Path {
    &binaries().0
}

pub fn fixtures_bin() -> &'static Path {
    &binaries().1
}

/// Runs `bin` with `args` (plus a fresh `--results-root`) and `envs`.
pub fn run_bin(bin: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let results = tempfile::tempdir().expect("tempdir").keep();
    run_in(bin, args, envs, &results)
}

/// Like [`run_bin`] with a given results root.
pub fn run_in(bin: &Path, args: &[&str], envs: &[(&str, &str)], results: &Path) -> Run {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .arg("--results-root")
        .arg(results)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    // Our own DUCKTAPE_*/NEXTEST_* settings must not leak into the child.
    for (k, _) in std::env::vars() {
        if k.starts_with("DUCKTAPE_") || k.starts_with("NEXTEST") {
            if !envs.iter().any(|(e, _)| *e == k) {
                cmd.env_remove(&k);
            }
        }
    }
    let out = cmd.output().expect("test binary runs");
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        results: results.to_path_buf(),
    }
}

pub fn run_fixtures(args: &[&str], envs: &[(&str, &str)]) -> Run {
    run_bin(fixtures_bin(), args, envs)
}

pub fn run_systest(args: &[&str], envs: &[(&str, &str)]) -> Run {
    run_bin(systest_bin(), args, envs)
}

impl Run {
    /// The newest session directory.
    pub fn session(&self) -> PathBuf {
        let latest = self.results.join("latest");
        std::fs::canonicalize(&latest).unwrap_or_else(|e| {
            panic!(
                "no session in {}: {e}\n{}",
                self.results.display(),
                self.stderr
            )
        })
    }

    /// The session's report.json.
    pub fn report(&self) -> Value {
        let path = self.session().join("report.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// `test_id → test_status` from report.json.
    pub fn statuses(&self) -> std::collections::BTreeMap<String, String> {
        self.report()["results"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .map(|r| {
                        (
                            r["test_id"].as_str().unwrap_or("").to_string(),
                            r["test_status"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The listing lines (`name: test`) printed by `--list`.
    pub fn listed(&self) -> Vec<String> {
        self.stdout
            .lines()
            .filter_map(|l| l.strip_suffix(": test"))
            .map(str::to_string)
            .collect()
    }

    pub fn assert_status(&self, code: i32) -> &Self {
        assert_eq!(
            self.status, code,
            "exit status\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}
