//! One run of a test binary: parse, select, then list or run the trials.

mod interrupt;
pub mod select;
pub mod suite;
mod trial;

use crate::cli::{self, CliError, Options};
use crate::cluster::{json, vagrant, Cluster, ClusterError};
use crate::mark::{ClusterUse, TestCase};
use crate::registry::TESTS;
use crate::report::record::{SessionMeta, Status, TestRecord};
use crate::report::{session_dir, write_test_report, SessionReports};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Exit status for bad input, as libtest uses.
const BAD_INPUT: u8 = 2;

/// Entry point of a `harness = false` target.
pub fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(BAD_INPUT)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let parsed = match cli::parse_env() {
        Ok(p) => p,
        Err(CliError::Display(text)) => {
            print!("{text}");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e.to_string()),
    };
    let o = &parsed.options;
    if let Some(dir) = &o.rebuild_reports {
        return rebuild_reports(&parsed, dir);
    }
    let cases = selected_cases(&parsed)?;
    if let Some(code) = report_without_running(o, &cases)? {
        return Ok(code);
    }
    run_trials(&parsed, cases)
}

/// Expands every test and applies the selection flags.
fn selected_cases(parsed: &cli::Parsed) -> Result<Vec<TestCase>, String> {
    let o = &parsed.options;
    let all = all_cases()?;
    let run_times = o
        .historical_report
        .as_deref()
        .map(|path| {
            check_history_path(path)?;
            crate::report::historical::load_run_times(path).map_err(|e| e.to_string())
        })
        .transpose()
        .map_err(|e| parsed.blame("--historical-report", e))?;
    let selection = select::select(all, o, parsed.parameters.as_ref(), run_times.as_ref())
        .map_err(|e| blame_selection(parsed, e))?;
    if let Some(seed) = selection.sample_seed {
        eprintln!(
            "ducktape: --sample {} with --sample-seed {seed}",
            o.sample.unwrap_or(0)
        );
    }
    // Not for `--list`: nextest lists every binary, and libtest is silent.
    if let (Some(warning), false) = (&selection.warning, o.list) {
        eprintln!("ducktape: warning: {warning}");
    }
    Ok(selection.cases)
}

/// A selection error, naming the variable or config line behind the flag
/// it is about (a suite file given as a filter is on the command line).
fn blame_selection(parsed: &cli::Parsed, e: select::SelectError) -> String {
    use select::SelectError as E;
    let positional_suite = parsed
        .options
        .filters
        .iter()
        .any(|f| suite::is_suite_file(f));
    match e {
        E::Parameters { .. } | E::MissingParameters { .. } | E::NothingSelected => {
            parsed.blame("--parameters", e.to_string())
        }
        E::Suite(_) if !positional_suite => parsed.blame("--suite", e.to_string()),
        _ => e.to_string(),
    }
}

/// Each nextest process reads the historical report itself, after the run's
/// first process has repointed `latest` at the new session.
fn check_history_path(path: &Path) -> Result<(), String> {
    if std::env::var_os("NEXTEST").is_some() && path.components().any(|c| c.as_os_str() == "latest")
    {
        return Err(format!(
            "--historical-report {}: under nextest, name the session directory \
             (results/<session>/report.json), not `latest`, which this run repoints",
            path.display()
        ));
    }
    Ok(())
}

/// `--collect-only`, `--collect-num-nodes` and `--list`: print, run nothing.
fn report_without_running(o: &Options, cases: &[TestCase]) -> Result<Option<ExitCode>, String> {
    if o.collect_only {
        let mut out = std::io::stdout().lock();
        for c in cases {
            let _ = writeln!(out, "{}", c.name);
        }
    } else if o.collect_num_nodes {
        let cluster = build_cluster(o).map_err(|e| e.to_string())?;
        println!("{}", total_nodes(cases, o, cluster.size()));
    } else if o.list {
        let trials = cases
            .iter()
            .map(|c| Trial::test(c.name.clone(), || Ok(())).with_ignored_flag(c.ignored.is_some()))
            .collect();
        let _ = libtest_mimic::run(&libtest_args(o, true), trials);
    } else {
        return Ok(None);
    }
    Ok(Some(ExitCode::SUCCESS))
}

/// `--rebuild-reports DIR`: one line saying what was rebuilt; a path that is
/// not a session directory is bad input, blamed on the flag's source.
fn rebuild_reports(parsed: &cli::Parsed, dir: &Path) -> Result<ExitCode, String> {
    let done = crate::report::rebuild(dir).map_err(|e| {
        let message = e.to_string();
        let blamed = parsed.blame("--rebuild-reports", message.clone());
        if blamed == message {
            format!("--rebuild-reports: {message}")
        } else {
            blamed
        }
    })?;
    println!("ducktape: {done}");
    Ok(ExitCode::SUCCESS)
}

/// Runs the cases as libtest-mimic trials sharing one runtime.
fn run_trials(parsed: &cli::Parsed, mut cases: Vec<TestCase>) -> Result<ExitCode, String> {
    let o = &parsed.options;
    if o.test_threads.unwrap_or(o.max_parallel) > 1 {
        // Large tests first: they get an empty cluster, small ones fill gaps.
        cases.sort_by_key(|c| std::cmp::Reverse(declared_nodes(c)));
    }
    let args = libtest_args(o, false);
    if cases.is_empty() {
        // Nothing to run: no cluster, no session directory.
        return Ok(libtest_mimic::run(&args, Vec::new()).exit_code());
    }
    // Built before any test runs, so a bad cluster file or results root is
    // bad input (exit 2), not a failure of every test.
    let rt = Runtime::start(parsed)?;
    let trials = cases
        .into_iter()
        .map(|case| {
            let rt = rt.clone();
            Trial::ignorable_test(case.name.clone(), move || run_trial(&rt, &case))
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if rt.interrupts.interrupted() {
        // The signal handler is finishing teardown and exits with 128+N.
        loop {
            std::thread::park();
        }
    }
    rt.print_summary();
    Ok(conclusion.exit_code())
}

fn run_trial(rt: &Runtime, case: &TestCase) -> Result<Completion, Failed> {
    if rt.interrupts.interrupted() {
        return Ok(Completion::ignored_with("not run: interrupted"));
    }
    if rt.stop_requested() {
        return Ok(Completion::ignored_with(
            "not run: an earlier test failed (--exit-first)",
        ));
    }
    match trial::run_case(rt, case) {
        Ok(Status::Ignore) => Ok(Completion::ignored_with(
            case.ignored.clone().unwrap_or_default(),
        )),
        Ok(_) => Ok(Completion::Completed),
        Err(msg) => Err(msg.into()),
    }
}

/// Every case of every registered test, sorted by name.
fn all_cases() -> Result<Vec<TestCase>, String> {
    let mut cases = Vec::new();
    for t in TESTS.iter() {
        cases.extend(crate::mark::expand(t).map_err(|e| e.to_string())?);
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

fn declared_nodes(c: &TestCase) -> usize {
    match &c.cluster {
        ClusterUse::Declared(spec) => spec.size(),
        ClusterUse::Undeclared => 0,
    }
}

fn total_nodes(cases: &[TestCase], o: &Options, cluster_size: Option<usize>) -> usize {
    cases
        .iter()
        .map(|c| match &c.cluster {
            ClusterUse::Declared(spec) => spec.size(),
            ClusterUse::Undeclared => o.default_num_nodes.or(cluster_size).unwrap_or(1),
        })
        .sum()
}

/// libtest-mimic only prints and runs: selection (including `--ignored`)
/// is already done.
fn libtest_args(o: &Options, listing: bool) -> Arguments {
    use crate::cli::{Color, Format};
    Arguments {
        list: listing,
        quiet: o.quiet,
        nocapture: true,
        test_threads: Some(o.test_threads.unwrap_or(o.max_parallel)),
        logfile: o.logfile.as_ref().map(|p| p.display().to_string()),
        color: o.color.map(|c| match c {
            Color::Auto => libtest_mimic::ColorSetting::Auto,
            Color::Always => libtest_mimic::ColorSetting::Always,
            Color::Never => libtest_mimic::ColorSetting::Never,
        }),
        format: o.format.map(|f| match f {
            Format::Pretty => libtest_mimic::FormatSetting::Pretty,
            Format::Terse => libtest_mimic::FormatSetting::Terse,
            Format::Json => libtest_mimic::FormatSetting::Json,
        }),
        ..Arguments::default()
    }
}

/// A cluster error, naming the variable or config line behind the flag
/// that caused it.
fn blame_cluster(parsed: &cli::Parsed, e: &ClusterError) -> String {
    // Other cluster errors name their path and fix themselves.
    match e {
        ClusterError::File(_) => parsed.blame("--cluster-file", e.to_string()),
        ClusterError::Unknown(_) => parsed.blame("--cluster", e.to_string()),
        _ => e.to_string(),
    }
}

/// Builds the cluster `--cluster` names.
pub fn build_cluster(o: &Options) -> Result<Cluster, ClusterError> {
    let state = o
        .lease_root
        .clone()
        .unwrap_or_else(crate::cluster::lease::LeaseDir::default_root);
    // An unknown --ssh-checker-function is bad input whatever the cluster.
    let ssh = crate::remote::SshOptions::from_env()
        .with_checkers(&o.ssh_checker_function)
        .map_err(ClusterError::Config)?;
    match o.cluster.as_str() {
        "localhost" | "ducktape.cluster.localhost.LocalhostCluster" => {
            Cluster::localhost(o.localhost_nodes, &state, o.no_teardown)
        }
        "json" | "ducktape.cluster.json.JsonCluster" => {
            let file = o.cluster_file.as_deref().ok_or_else(|| {
                ClusterError::Config("--cluster json needs --cluster-file PATH".into())
            })?;
            Cluster::from_nodes(
                "json",
                json::load_json_cluster(file)?,
                &state,
                o.no_teardown,
            )
            .map(|c| c.with_ssh_options(ssh))
        }
        "vagrant" | "ducktape.cluster.vagrant.VagrantCluster" => Cluster::from_nodes(
            "vagrant",
            vagrant::load_vagrant_cluster(o.cluster_file.as_deref())?,
            &state,
            o.no_teardown,
        )
        // `vagrant ssh-config` says `StrictHostKeyChecking no` and
        // `UserKnownHostsFile /dev/null`: VMs get new host keys each boot.
        .map(|c| {
            c.with_ssh_options(crate::remote::SshOptions {
                host_keys: crate::remote::HostKeyPolicy::Off,
                ..ssh
            })
        }),
        other => match crate::cluster::custom::find(other) {
            Some(t) => Cluster::from_source(t.name, (t.build)(o)?, &state),
            None => Err(ClusterError::Unknown(other.to_string())),
        },
    }
}

/// What every trial of the process shares, built when the first one runs
/// (listing builds none of it).
pub(crate) struct Runtime {
    options: Options,
    globals: Arc<Value>,
    cluster: Cluster,
    session_id: String,
    session_dir: PathBuf,
    reports: SessionReports,
    failed: AtomicBool,
    interrupts: interrupt::Interrupts,
}

impl Runtime {
    /// Builds the runtime and starts listening for Ctrl-C / SIGTERM.
    fn start(parsed: &cli::Parsed) -> Result<Arc<Self>, String> {
        let rt = Arc::new(Self::new(parsed)?);
        interrupt::install(Arc::downgrade(&rt)).map_err(|e| format!("signal handlers: {e}"))?;
        Ok(rt)
    }

    fn new(parsed: &cli::Parsed) -> Result<Self, String> {
        let o = &parsed.options;
        let cluster = build_cluster(o).map_err(|e| blame_cluster(parsed, &e))?;
        let session = match std::env::var("NEXTEST_RUN_ID") {
            Ok(run_id) => session_dir::join_session(&o.results_root, &run_id),
            Err(_) => session_dir::create_session(&o.results_root),
        }
        .map_err(|e| e.to_string())?;
        crate::logging::init(Some(&session.dir), o.debug, o.quiet)
            .map_err(|e| format!("session logs in {}: {e}", session.dir.display()))?;
        let meta = SessionMeta {
            session_id: session.id.clone(),
            ducktape_version: env!("CARGO_PKG_VERSION").to_string(),
            cluster_num_nodes: cluster.size().unwrap_or(0),
            session_context: session_context(o, &session.id, &session.dir, &parsed.globals),
        };
        let reports = SessionReports::open(&session.dir, &meta).map_err(|e| e.to_string())?;
        Ok(Runtime {
            options: o.clone(),
            globals: Arc::new(parsed.globals.clone()),
            cluster,
            session_id: session.id,
            session_dir: session.dir,
            reports,
            failed: AtomicBool::new(false),
            interrupts: interrupt::Interrupts::default(),
        })
    }

    /// Whether `--exit-first` should stop the run.
    fn stop_requested(&self) -> bool {
        self.options.exit_first && self.failed.load(Ordering::SeqCst)
    }

    /// How many times a failing test runs: `--deflake`, unless nextest is
    /// already retrying it.
    fn attempts(&self) -> usize {
        if nextest_retry().is_some() {
            1
        } else {
            self.options.deflake
        }
    }

    /// Writes a test's own report and adds it to the session's.
    fn report(&self, dir: &Path, record: &TestRecord) {
        if let Err(e) = write_test_report(dir, record) {
            tracing::error!("test report for {}: {e}", record.test_id);
        }
        if let Err(e) = self.reports.append(record) {
            tracing::error!("session report for {}: {e}", record.test_id);
        }
        if record.test_status == Status::Fail {
            if let Err(e) = self.note_failed(&record.test_id) {
                tracing::error!("rerun-failed.yml: {e}");
            }
        }
    }

    /// Adds a failed test to `rerun-failed.yml`, a suite file that reruns
    /// exactly the failed tests: `cargo test -- results/latest/rerun-failed.yml`.
    fn note_failed(&self, test_id: &str) -> std::io::Result<()> {
        let lock = std::fs::File::create(self.session_dir.join(".rerun.lock"))?;
        lock.lock()?;
        let path = self.session_dir.join("rerun-failed.yml");
        let mut text = String::new();
        if !path.exists() {
            text.push_str(
                "# The tests that failed in this session. Rerun them with
",
            );
            text.push_str(
                "#   cargo test --test <target> -- <this file>
",
            );
            text.push_str(
                "rerun-failed:
",
            );
        }
        // A JSON string is a valid YAML scalar, whatever the name holds.
        text.push_str(&format!("  - {}\n", Value::String(test_id.to_string())));
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        f.write_all(text.as_bytes())
    }

    fn print_summary(&self) {
        let Ok(s) = self.reports.summary() else {
            return;
        };
        eprintln!(
            "ducktape session {}: {} PASS, {} FLAKY, {} FAIL, {} IGNORE in {:.2} s; report: {}",
            self.session_id,
            s.passed,
            s.flaky,
            s.failed,
            s.ignored,
            s.run_time_seconds,
            self.session_dir.join("report.html").display()
        );
    }
}

/// Under `cargo nextest run --retries`: this process's attempt and the
/// total (`NEXTEST_ATTEMPT`, `NEXTEST_TOTAL_ATTEMPTS`), when retries are on.
pub(crate) fn nextest_retry() -> Option<(u32, u32)> {
    let var = |name| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
    match (var("NEXTEST_ATTEMPT"), var("NEXTEST_TOTAL_ATTEMPTS")) {
        (Some(attempt), Some(total)) if total > 1 => Some((attempt, total)),
        _ => None,
    }
}

fn session_context(o: &Options, id: &str, dir: &Path, globals: &Value) -> Value {
    serde_json::json!({
        "_globals": globals,
        "compress": o.compress,
        "debug": o.debug,
        "default_expected_num_nodes": o.default_num_nodes,
        "deflake_num": o.deflake,
        "enable_jvm_logs": o.enable_jvm_logs,
        "exit_first": o.exit_first,
        "fail_bad_cluster_utilization": o.fail_bad_cluster_utilization,
        "fail_greedy_tests": o.fail_greedy_tests,
        "ignore_node_type": o.ignore_node_type,
        "max_parallel": o.test_threads.unwrap_or(o.max_parallel),
        "nested_result_dirs": o.nested_result_dirs,
        "no_teardown": o.no_teardown,
        "results_dir": dir.display().to_string(),
        "session_id": id,
        "test_runner_timeout": o.test_runner_timeout,
    })
}
