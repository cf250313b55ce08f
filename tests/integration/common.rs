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

/// The features this test binary was built with, passed to the cargo runs
/// below so they reuse its build of ducktape instead of making another.
const FEATURES: &[&str] = if cfg!(feature = "ssh") {
    &["--features", "ssh"]
} else {
    &[]
};

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
            .args(FEATURES)
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
        if (k.starts_with("DUCKTAPE_") || k.starts_with("NEXTEST"))
            && !envs.iter().any(|(e, _)| *e == k)
        {
            cmd.env_remove(&k);
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

/// Pids of processes started on the localhost nodes under `lease_root`
/// (their environment carries the node tag).
pub fn node_processes(lease_root: &Path) -> Vec<u32> {
    let prefix = format!("DUCKTAPE_NODE={}", lease_root.join("localhost").display());
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let tagged = env
            .split(|&b| b == 0)
            .any(|kv| kv.starts_with(prefix.as_bytes()));
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
            .unwrap_or(true);
        if tagged && !zombie {
            pids.push(pid);
        }
    }
    pids
}

/// Waits up to `secs` for `cond`.
pub fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    cond()
}

/// Starts the fixtures binary without waiting for it.
pub fn spawn_fixtures(args: &[&str], results: &Path) -> std::process::Child {
    let mut cmd = Command::new(fixtures_bin());
    cmd.args(args)
        .arg("--results-root")
        .arg(results)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("DUCKTAPE_") || k.starts_with("NEXTEST") {
            cmd.env_remove(&k);
        }
    }
    cmd.spawn().expect("fixtures binary starts")
}

/// Node → list of (test, start, end) windows from a `window_log` file.
pub fn windows(log: &Path) -> std::collections::BTreeMap<String, Vec<(String, f64, f64)>> {
    let mut by_node: std::collections::BTreeMap<String, Vec<(String, f64, f64)>> =
        Default::default();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [test, node, start, end] = f[..] {
            by_node.entry(node.to_string()).or_default().push((
                test.to_string(),
                start.parse().unwrap_or(0.0),
                end.parse().unwrap_or(0.0),
            ));
        }
    }
    by_node
}

/// Panics if two tests held one node at overlapping times.
pub fn assert_no_overlap(log: &Path) -> usize {
    let mut lines = 0;
    for (node, mut ws) in windows(log) {
        ws.sort_by(|a, b| a.1.total_cmp(&b.1));
        lines += ws.len();
        for pair in ws.windows(2) {
            assert!(
                pair[0].2 <= pair[1].1,
                "{node} leased twice: {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
    }
    lines
}

/// What a `cargo nextest run` printed.
pub struct Nextest {
    pub status: i32,
    pub stderr: String,
}

/// `cargo nextest run --test fixtures <extra>` with exactly `envs` among
/// the DUCKTAPE_*/NEXTEST* variables.
pub fn nextest_fixtures(extra: &[&str], envs: &[(&str, String)]) -> Nextest {
    let mut cmd = Command::new("cargo");
    cmd.args([
        "nextest",
        "run",
        "--test",
        "fixtures",
        "--no-fail-fast",
        "--color",
        "never",
    ])
    .args(FEATURES)
    .args(extra)
    .current_dir(env!("CARGO_MANIFEST_DIR"))
    .stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("DUCKTAPE_") || k.starts_with("NEXTEST") {
            cmd.env_remove(&k);
        }
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("cargo nextest runs");
    Nextest {
        status: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the fixtures on a lease root of their own (`--lease-root`, a new
/// temporary directory returned with the run), so the test can look at the
/// node directories and processes its run left without seeing others'.
pub fn run_fixtures_with_own_leases(
    args: &[&str],
    envs: &[(&str, &str)],
) -> (tempfile::TempDir, Run) {
    let state = tempfile::tempdir().unwrap();
    let lease_root = state.path().display().to_string();
    let mut all = args.to_vec();
    all.extend(["--lease-root", &lease_root]);
    let run = run_fixtures(&all, envs);
    (state, run)
}
