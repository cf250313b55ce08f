//! One run of a test binary: parse, select, then list or run the trials.

mod capability;
mod error;
mod interrupt;
mod progress;
pub mod select;
pub mod suite;
mod trial;

use crate::cli::{self, CliError, Options};
use crate::cluster::{Cluster, ClusterError};
use crate::mark::{ClusterUse, TestCase};
use crate::registry::TESTS;
use crate::report::history::EarlierResults;
use crate::report::record::{SessionMeta, Status, TestRecord};
use crate::report::{
    session_dir, write_finished_report, write_test_report, Finished, SessionReports,
};
use crate::text::chain;
pub use error::RunError;
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use progress::Turn;
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Exit status for bad input, as libtest uses.
const BAD_INPUT: u8 = 2;

/// The test binary as nextest names it, `<package>::<target>`, when
/// [`main_of`] set it.
static BINARY_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The binary's id (`ducktape-rs::systest`), or "" when unknown.
pub(crate) fn binary_id() -> &'static str {
    BINARY_ID.get().map(String::as_str).unwrap_or("")
}

/// [`main`] for the binary of `package`'s test target `target`: what
/// `ducktape::main!()` calls.
#[doc(hidden)]
pub fn main_of(package: &str, target: &str) -> ExitCode {
    let _ = BINARY_ID.set(format!("{package}::{target}"));
    main()
}

/// Entry point of a `harness = false` target.
pub fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {}", chain(&e));
            ExitCode::from(BAD_INPUT)
        }
    }
}

fn run() -> Result<ExitCode, RunError> {
    let parsed = match cli::parse_env() {
        Ok(p) => p,
        Err(CliError::Display(text)) => {
            print!("{text}");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e.into()),
    };
    let o = &parsed.options;
    if let Some(dir) = &o.rebuild_reports {
        return rebuild_reports(&parsed, dir);
    }
    if !o.merge_results.is_empty() {
        return merge_results(&parsed);
    }
    let cases = selected_cases(&parsed)?;
    if let Some(code) = report_without_running(o, &cases)? {
        return Ok(code);
    }
    run_trials(&parsed, cases)
}

/// Expands every test and applies the selection flags.
fn selected_cases(parsed: &cli::Parsed) -> Result<Vec<TestCase>, RunError> {
    let o = &parsed.options;
    refuse_two_splitters(parsed)?;
    let tests: &'static [crate::registry::TestDescriptor] = &TESTS;
    if let Some(mut found) = select::exact_candidates(tests, o, parsed.parameters.is_some())? {
        crate::mark::ignore_unsupported(&mut found, |c| capability::lacks(o, c))?;
        let count = || tests.iter().map(crate::mark::count).sum();
        let selection = select::finish_exact(found, o, count)?;
        if let Some(warning) = &selection.warning {
            eprintln!("ducktape: warning: {warning}");
        }
        return Ok(selection.cases);
    }
    // Listing prints names: it need not parse every case's arguments.
    let mut all = all_cases((o.list || o.collect_only) && parsed.parameters.is_none())?;
    // Before selection, so `--ignored` lists these too.
    crate::mark::ignore_unsupported(&mut all, |c| capability::lacks(o, c))?;
    let run_times = o
        .historical_report
        .as_deref()
        .map(|path| {
            check_history_path(path)?;
            crate::report::historical::load_run_times(path).map_err(RunError::from)
        })
        .transpose()
        .map_err(|e| RunError::at(parsed.origin("--historical-report"), e))?;
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
fn blame_selection(parsed: &cli::Parsed, e: select::SelectError) -> RunError {
    use select::SelectError as E;
    let positional_suite = parsed
        .options
        .filters
        .iter()
        .any(|f| suite::is_suite_file(f));
    match e {
        E::Parameters { .. } | E::MissingParameters { .. } | E::NothingSelected => {
            RunError::at(parsed.origin("--parameters"), e)
        }
        E::Suite(_) if !positional_suite => RunError::at(parsed.origin("--suite"), e),
        _ => e.into(),
    }
}

/// Under nextest, `--partition` is the one way to split a suite: a test
/// runs only if both splits keep it, so `--subsets` on top of a partition
/// would select almost nothing, and the test binary cannot see nextest's
/// partition to correct for it.
fn refuse_two_splitters(parsed: &cli::Parsed) -> Result<(), RunError> {
    if std::env::var_os("NEXTEST").is_none() || parsed.options.subsets <= 1 {
        return Ok(());
    }
    Err(RunError::at(
        parsed.origin("--subsets"),
        RunError::TwoSplitters,
    ))
}

/// Each nextest process reads the historical report itself, after the run's
/// first process has repointed `latest` at the new session.
fn check_history_path(path: &Path) -> Result<(), RunError> {
    if std::env::var_os("NEXTEST").is_some() && path.components().any(|c| c.as_os_str() == "latest")
    {
        return Err(RunError::HistoryLatest {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// `--collect-only`, `--collect-num-nodes` and `--list`: print, run nothing.
fn report_without_running(o: &Options, cases: &[TestCase]) -> Result<Option<ExitCode>, RunError> {
    if o.collect_only {
        let mut out = std::io::stdout().lock();
        for c in cases {
            let _ = writeln!(out, "{}", c.name);
        }
    } else if o.collect_num_nodes {
        let cluster = crate::cluster::from_options(o)?;
        println!("{}", total_nodes(cases, o, cluster.size()));
    } else if o.list && o.logfile.is_none() {
        // libtest's list format, written directly: libtest-mimic's printer
        // strips colours byte by byte, most of the cost of listing 10,000
        // cases in an unoptimized build. A closed pipe (`| head`) ends it.
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for c in cases {
            if writeln!(out, "{}: test", c.name).is_err() {
                break;
            }
        }
        let _ = out.flush();
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
fn rebuild_reports(parsed: &cli::Parsed, dir: &Path) -> Result<ExitCode, RunError> {
    let done =
        crate::report::rebuild(dir).map_err(|e| match parsed.origin("--rebuild-reports") {
            Some(at) => RunError::at(Some(at), e),
            None => RunError::flag("--rebuild-reports", e),
        })?;
    println!("ducktape: {done}");
    Ok(ExitCode::SUCCESS)
}

/// `--merge-results OUT SHARD...`: the tests this binary selects (all of
/// them, without filters) are the suite the shards should cover. Exit 1 if
/// a test ran in no shard or in several.
fn merge_results(parsed: &cli::Parsed) -> Result<ExitCode, RunError> {
    let paths = &parsed.options.merge_results;
    let [out, shards @ ..] = paths.as_slice() else {
        return Err(RunError::MergeArguments);
    };
    if shards.is_empty() {
        return Err(RunError::at(
            parsed.origin("--merge-results"),
            RunError::MergeNoShards { out: out.clone() },
        ));
    }
    let expected: Vec<String> = selected_cases(parsed)?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let merged = crate::report::merge::merge(out, shards, Some(&expected)).map_err(|e| {
        RunError::at(
            parsed.origin("--merge-results"),
            RunError::flag("--merge-results", e),
        )
    })?;
    println!("{merged}");
    Ok(if merged.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs the cases as libtest-mimic trials sharing one runtime.
fn run_trials(parsed: &cli::Parsed, mut cases: Vec<TestCase>) -> Result<ExitCode, RunError> {
    let o = &parsed.options;
    if o.test_threads.unwrap_or(o.max_parallel) > 1 {
        // Large tests first: they get an empty cluster, small ones fill gaps.
        cases.sort_by_key(|c| std::cmp::Reverse(declared_nodes(c)));
    }
    let mut args = libtest_args(o, false);
    if cases.is_empty() {
        // Nothing to run: no cluster, no session directory.
        return Ok(libtest_mimic::run(&args, Vec::new()).exit_code());
    }
    // Built before any test runs, so a bad cluster file or results root is
    // bad input (exit 2), not a failure of every test.
    let rt = Runtime::start(parsed)?;
    crate::deadline::note_panic_locations();
    // One process, many tests: update the report files in batches.
    rt.reports.set_batched(cases.len() > 1);
    args.test_threads = args.test_threads.map(|n| rt.progress.libtest_threads(n));
    let shown = rt.progress.show(cases.len());
    let trials = cases
        .into_iter()
        .enumerate()
        .map(|(i, case)| {
            let rt = rt.clone();
            Trial::ignorable_test(case.name.clone(), move || {
                let turn = rt.progress.turn(i);
                let result = run_trial(&rt, &case, turn.as_ref());
                rt.progress.done(&result);
                result
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(shown);
    if rt.interrupts.interrupted() {
        // The signal handler is finishing teardown and exits with 128+N.
        loop {
            std::thread::park();
        }
    }
    rt.flush_reports();
    rt.print_summary();
    Ok(conclusion.exit_code())
}

fn run_trial(rt: &Runtime, case: &TestCase, turn: Option<&Turn>) -> Result<Completion, Failed> {
    if rt.interrupts.interrupted() {
        return Ok(Completion::ignored_with("not run: interrupted"));
    }
    if rt.stop_requested() {
        return Ok(Completion::ignored_with(
            "not run: an earlier test failed (--exit-first)",
        ));
    }
    match trial::run_case(rt, case, turn) {
        Ok(Status::Ignore) => Ok(Completion::ignored_with(
            case.ignored.clone().unwrap_or_default(),
        )),
        Ok(_) => Ok(Completion::Completed),
        Err(msg) => Err(msg.into()),
    }
}

/// Every case of every registered test, sorted by name; with `names_only`,
/// without arguments or clusters (see [`crate::mark::expand_names`]).
fn all_cases(names_only: bool) -> Result<Vec<TestCase>, RunError> {
    let expand = if names_only {
        crate::mark::expand_names
    } else {
        crate::mark::expand
    };
    let mut cases = Vec::new();
    for t in TESTS.iter() {
        cases.extend(expand(t)?);
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
fn blame_cluster(parsed: &cli::Parsed, e: ClusterError) -> RunError {
    // Other cluster errors name their path and fix themselves.
    let flag = match e {
        ClusterError::File(_) => "--cluster-file",
        ClusterError::Unknown(_) => "--cluster",
        _ => return e.into(),
    };
    RunError::at(parsed.origin(flag), e)
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
    /// Earlier results each test is compared with (`--history`, `--baseline`).
    pub(crate) history: Option<crate::report::history::History>,
    failed: AtomicBool,
    interrupts: interrupt::Interrupts,
    /// The console's live line, status lines and SLOW notices.
    progress: progress::Progress,
}

impl Runtime {
    /// Builds the runtime and starts its background thread: it listens for
    /// Ctrl-C / SIGTERM and ticks the progress shown.
    fn start(parsed: &cli::Parsed) -> Result<Arc<Self>, RunError> {
        let rt = Arc::new(Self::new(parsed)?);
        let tick = rt.progress.tick_period();
        interrupt::install(Arc::downgrade(&rt), tick).map_err(RunError::Signals)?;
        Ok(rt)
    }

    fn new(parsed: &cli::Parsed) -> Result<Self, RunError> {
        let o = &parsed.options;
        let cluster = crate::cluster::from_options(o).map_err(|e| blame_cluster(parsed, e))?;
        // Once, before any test: a missing host key is one error, not every test's.
        cluster.check_host_keys()?;
        let session = match std::env::var("NEXTEST_RUN_ID") {
            Ok(run_id) => session_dir::join_session(&o.results_root, &run_id),
            Err(_) => session_dir::create_session(&o.results_root),
        }?;
        let console = crate::logging::console_level(o.debug, o.nocapture || o.show_output, o.quiet);
        crate::logging::init(Some(&session.dir), console).map_err(|source| RunError::Logs {
            dir: session.dir.clone(),
            source,
        })?;
        let meta = SessionMeta {
            session_id: session.id.clone(),
            ducktape_version: env!("CARGO_PKG_VERSION").to_string(),
            cluster_num_nodes: cluster.size().unwrap_or(0),
            session_context: session_context(o, &session.id, &session.dir, &parsed.globals),
            hostname: crate::report::hostname(),
            merge: None,
        };
        let history = load_history(parsed, &session.dir)?;
        let reports = SessionReports::open(&session.dir, &meta)?;
        Ok(Runtime {
            options: o.clone(),
            globals: Arc::new(parsed.globals.clone()),
            cluster,
            session_id: session.id,
            session_dir: session.dir,
            reports,
            history,
            failed: AtomicBool::new(false),
            interrupts: interrupt::Interrupts::default(),
            progress: progress::Progress::new(o),
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

    /// Compares a finished test with earlier sessions: notes regressions and
    /// improvements in its record and on the console; with
    /// `--fail-on-regression` a regressed passing test fails.
    /// `earlier`: the test's earlier results, when read already.
    fn compare_with_history(&self, record: &mut TestRecord, earlier: Option<EarlierResults>) {
        let Some(history) = &self.history else {
            return;
        };
        let regressed = match earlier {
            Some(earlier) => history.annotate_with(record, earlier),
            None => history.annotate(record),
        };
        for c in &record.regressions {
            let label = match c.kind {
                crate::report::record::ChangeKind::Regression => "REGRESSION",
                crate::report::record::ChangeKind::Improvement => "improvement",
            };
            eprintln!("ducktape: {label} {}: {}", record.test_id, c.describe());
        }
        if regressed && self.options.fail_on_regression {
            let what: Vec<String> = record
                .regressions
                .iter()
                .filter(|c| c.kind == crate::report::record::ChangeKind::Regression)
                .map(|c| c.describe())
                .collect();
            record.test_status = Status::Fail;
            record.summary = format!(
                "performance regression (--fail-on-regression): {}",
                what.join("; ")
            );
        }
    }

    /// Writes a test's own report and adds it to the session's.
    fn report(&self, dir: &Path, record: &TestRecord) {
        let id = &record.test_id;
        // Rendered once for the test's own report and the session's.
        let written = match Finished::new(record) {
            Ok(finished) => {
                if let Err(e) = write_finished_report(dir, &finished) {
                    tracing::error!("test report for {id}: {}", chain(&e));
                }
                self.reports.add(finished)
            }
            Err(e) => {
                if let Err(e) = write_test_report(dir, record) {
                    tracing::error!("test report for {id}: {}", chain(&e));
                }
                Err(e)
            }
        };
        if let Err(e) = written {
            tracing::error!("session report for {id}: {}", chain(&e));
        }
        if record.test_status == Status::Fail {
            if let Err(e) = self.note_failed(&record.test_id) {
                tracing::error!("rerun-failed.yml: {e}");
            }
        }
    }

    /// Brings the session reports up to date with every record this process
    /// wrote (they are batched while tests run).
    pub(crate) fn flush_reports(&self) {
        if let Err(e) = self.reports.flush() {
            tracing::error!("session reports: {}", chain(&e));
        }
    }

    /// Adds a failed test to `rerun-failed.yml`, a suite file that reruns
    /// exactly the failed tests: `cargo test -- results/latest/rerun-failed.yml`.
    fn note_failed(&self, test_id: &str) -> std::io::Result<()> {
        let lock = std::fs::File::create(self.session_dir.join(".rerun.lock"))?;
        lock.lock()?;
        let _lock = crate::flock::FileLock::held(lock);
        let path = self.session_dir.join("rerun-failed.yml");
        let mut text = String::new();
        if !path.exists() {
            text.push_str("# The tests that failed in this session. Rerun them with\n");
            text.push_str(&format!(
                "#   cargo test --test {} -- <this file>\n",
                target_name()
            ));
            text.push_str("rerun-failed:\n");
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
        // Under nextest each process runs one test and nextest prints the
        // run's tally: a session tally here would read like the test's result.
        if std::env::var_os("NEXTEST").is_some() {
            return;
        }
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
        for c in &s.regressions {
            let label = match c.kind {
                crate::report::record::ChangeKind::Regression => "REGRESSION",
                crate::report::record::ChangeKind::Improvement => "improvement",
            };
            eprintln!("  {label} {}: {}", c.test_id, c.describe());
        }
        if s.failed > 0 {
            eprintln!(
                "ducktape: rerun the failed tests with: cargo test --test {} -- {}",
                target_name(),
                self.session_dir.join("rerun-failed.yml").display()
            );
        }
    }
}

/// The test target's name, from the binary's (`systest-<hash>` → `systest`).
fn target_name() -> String {
    let exe = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .unwrap_or_default();
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            name.to_string()
        }
        _ => stem,
    }
}

/// The earlier results tests are compared with: `--baseline`, else the
/// last `--history` sessions of the results root (none with 0).
fn load_history(
    parsed: &cli::Parsed,
    session_dir: &Path,
) -> Result<Option<crate::report::history::History>, RunError> {
    use crate::report::history::History;
    let o = &parsed.options;
    if !(o.regression_threshold.is_finite() && o.regression_threshold >= 0.0) {
        return Err(RunError::at(
            parsed.origin("--regression-threshold"),
            RunError::RegressionThreshold(o.regression_threshold),
        ));
    }
    let threshold = o.regression_threshold / 100.0;
    if let Some(path) = &o.baseline {
        return History::from_baseline(path, threshold)
            .map(Some)
            .map_err(|e| {
                RunError::at(parsed.origin("--baseline"), RunError::flag("--baseline", e))
            });
    }
    if o.history == 0 {
        return Ok(None);
    }
    Ok(Some(History::from_root(
        &o.results_root,
        session_dir,
        o.history,
        threshold,
    )?))
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
