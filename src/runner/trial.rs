//! Running one case: nodes, context, the body under a timeout, deflake
//! reruns, teardown, and its result record.

use super::interrupt::{Running, Ticket};
use super::progress::Turn;
use super::{RunError, Runtime};
use crate::cluster::spec::ClusterSpec;
use crate::cluster::TestCluster;
use crate::context::{ContextParts, TestContext};
use crate::deadline::Ended;
use crate::logging::TEST_SPAN;
use crate::mark::{ClusterUse, TestCase};
use crate::report::history::EarlierResults;
use crate::report::record::{Status, TestRecord};
use crate::report::session_dir::relative_test_dir;
use crate::text::chain;
use std::cell::OnceCell;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How an attempt's body ended: data, not text, so a test whose own
/// message says "timed out" is still rerun by `--deflake`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It returned success.
    Passed,
    /// It returned an error or panicked (or failed a check after it).
    Failed,
    /// It ran past `--test-runner-timeout` and was abandoned: its thread may
    /// still run, so it is never rerun on top of itself.
    TimedOut,
}

/// How the body of an attempt ended, with its message or data.
enum BodyEnd {
    Returned(Option<serde_json::Value>),
    Failed(String),
    TimedOut(String),
}

/// How one attempt ended.
pub(crate) struct Attempt {
    pub(crate) outcome: Outcome,
    /// Bounded and with control characters escaped (see [`crate::text`]).
    pub(crate) summary: String,
    pub(crate) data: serde_json::Value,
    pub(crate) nodes_allocated: usize,
    pub(crate) nodes_used: usize,
    pub(crate) services: Vec<serde_json::Value>,
    pub(crate) faults: Vec<serde_json::Value>,
    pub(crate) start: f64,
    pub(crate) stop: f64,
    pub(crate) teardown_problems: Vec<String>,
    /// Names of the nodes the attempt held (the report's timeline).
    pub(crate) nodes: Vec<String>,
}

impl Attempt {
    /// An attempt that failed before its body ran.
    fn failed_early(summary: String, start: f64) -> Self {
        Attempt {
            outcome: Outcome::Failed,
            summary,
            data: serde_json::Value::Null,
            nodes_allocated: 0,
            nodes_used: 0,
            services: Vec::new(),
            faults: Vec::new(),
            start,
            stop: unix_now(),
            teardown_problems: Vec::new(),
            nodes: Vec::new(),
        }
    }
}

/// Runs every repetition of a case and reports each; `Err` carries the
/// failure message libtest prints.
pub(crate) fn run_case(
    rt: &Runtime,
    case: &TestCase,
    turn: Option<&Turn>,
) -> Result<Status, String> {
    let mut worst = Status::Pass;
    let mut failures = Vec::new();
    for repeat in 1..=rt.options.repeat {
        if rt.stop_requested() || rt.interrupts.interrupted() {
            break;
        }
        let (status, summary) = run_repetition(rt, case, repeat, turn);
        match status {
            Status::Fail => {
                worst = Status::Fail;
                failures.push(summary);
            }
            Status::Flaky if worst == Status::Pass => worst = Status::Flaky,
            Status::Ignore => worst = Status::Ignore,
            _ => {}
        }
    }
    if failures.is_empty() {
        Ok(worst)
    } else {
        Err(failures.join("\n"))
    }
}

fn run_repetition(
    rt: &Runtime,
    case: &TestCase,
    repeat: usize,
    turn: Option<&Turn>,
) -> (Status, String) {
    let _under_way = rt.interrupts.begin();
    let rel = relative_test_dir(
        case.test.module(),
        case.test.name,
        &case.args,
        repeat,
        rt.options.nested_result_dirs,
    );
    let dir = rt.session_dir.join(&rel);
    if let Some(reason) = &case.ignored {
        let now = unix_now();
        let record = record(case, &rel, Status::Ignore, reason.clone(), None, now, 1);
        pass_turn(rt, turn, repeat, &record);
        rt.report(&dir, &record);
        return (Status::Ignore, reason.clone());
    }
    let max_attempts = rt.attempts();
    let mut attempts = Vec::new();
    let mut final_ticket = None;
    // Under nextest retries each attempt is its own process: attempt N
    // keeps its files apart, and only the last one's result is final.
    let retry = super::nextest_retry();
    let first = retry.map_or(1, |(attempt, _)| attempt as usize);
    // Read while the first body runs (see `run_body`).
    let earlier_results = OnceCell::new();
    for n in first..first + max_attempts {
        let attempt_dir = if n == 1 {
            dir.clone()
        } else {
            dir.join(format!("attempt-{n}"))
        };
        let (a, ticket) = run_attempt(rt, case, &attempt_dir, &rel, &earlier_results);
        let outcome = a.outcome;
        attempts.push(a);
        // A timed-out body may still run: no rerun on top of it.
        if outcome != Outcome::Failed || rt.stop_requested() || n + 1 == first + max_attempts {
            final_ticket = ticket;
            break;
        }
        if let Some(t) = ticket {
            rt.interrupts.done(t);
        }
        tracing::warn!(test = %case.name, attempt = n, "failed; rerunning (--deflake)");
    }
    let count = (first - 1 + attempts.len()) as u32;
    let (status, last) = match attempts.pop() {
        Some(last) if last.outcome == Outcome::Passed && count > 1 => (Status::Flaky, last),
        Some(last) if last.outcome == Outcome::Passed => (Status::Pass, last),
        Some(last) => (Status::Fail, last),
        None => {
            // No record to pass the turn with: `--exit-first` still stops.
            rt.failed.store(true, Ordering::SeqCst);
            return (Status::Fail, "no attempt ran".into());
        }
    };
    let earlier: Vec<String> = attempts.into_iter().map(|a| a.summary).collect();
    if status == Status::Flaky {
        eprintln!("FLAKY {} (passed on attempt {count})", case.name);
    }
    let summary = last.summary.clone();
    let mut record = record(case, &rel, status, summary.clone(), Some(last), 0.0, count);
    record.earlier_failures = earlier;
    rt.compare_with_history(&mut record, earlier_results.into_inner());
    let (status, summary) = (record.test_status, record.summary.clone());
    pass_turn(rt, turn, repeat, &record);
    match retry {
        // nextest will run it again: keep this attempt's report with its
        // files, out of the session's reports.
        Some((attempt, total)) if status == Status::Fail && attempt < total => {
            let attempt_dir = if attempt == 1 {
                dir.clone()
            } else {
                dir.join(format!("attempt-{attempt}"))
            };
            if let Err(e) = crate::report::write_test_report(&attempt_dir, &record) {
                tracing::error!("test report for {}: {}", record.test_id, chain(&e));
            }
        }
        _ => rt.report(&dir, &record),
    }
    if let Some(t) = final_ticket {
        rt.interrupts.done(t);
    }
    let shown = if status == Status::Fail {
        let last_dir = if count == 1 {
            dir.clone()
        } else {
            dir.join(format!("attempt-{count}"))
        };
        failure_block(&last_dir, &record)
    } else {
        summary
    };
    (status, shown)
}

/// A repetition has run and its nodes are free. With trials taking turns,
/// after the last one the next trial may run while this one's results are
/// written; any repetition writes its results only after the trial before.
/// A failure is known first, so `--exit-first` stops the next trial.
fn pass_turn(rt: &Runtime, turn: Option<&Turn>, repeat: usize, record: &TestRecord) {
    if record.test_status == Status::Fail {
        rt.failed.store(true, Ordering::SeqCst);
    }
    match turn {
        Some(turn) if repeat == rt.options.repeat => turn.ran(),
        Some(turn) => turn.may_write(),
        None => {}
    }
}

/// How many lines of the test log a failure block shows.
const LOG_TAIL_LINES: usize = 8;

/// What libtest prints under `---- name ----` for a failed test: the
/// summary, then where the evidence is — nodes, the test's log and results
/// directory — and the log's last lines.
fn failure_block(test_dir: &Path, record: &TestRecord) -> String {
    let mut out = record.summary.clone();
    if !record.nodes.is_empty() {
        out += &format!("\n  nodes:   {}", record.nodes.join(" "));
    }
    let log = test_dir.join("test_log.info");
    out += &format!(
        "\n  log:     {}\n  results: {}",
        log.display(),
        test_dir.join("").display()
    );
    let tail = log_tail(&log, LOG_TAIL_LINES);
    if !tail.is_empty() {
        out += "\n  last lines of the test log:";
        for line in tail {
            out += "\n    ";
            out += &line;
        }
    }
    out
}

/// The last `n` lines of a log, read from its last 16 KiB at most, each
/// bounded and with control characters escaped.
fn log_tail(path: &Path, n: usize) -> Vec<String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(len.saturating_sub(16 << 10)))
        .is_err()
        || f.read_to_end(&mut buf).is_err()
    {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| crate::text::escape_controls(&crate::text::bounded(l, 500, "the test log")))
        .collect()
}

pub(crate) fn record(
    case: &TestCase,
    rel: &str,
    status: Status,
    summary: String,
    attempt: Option<Attempt>,
    now: f64,
    attempts: u32,
) -> TestRecord {
    let a = attempt.unwrap_or_else(|| Attempt {
        stop: now,
        ..Attempt::failed_early(String::new(), now)
    });
    let nodes = a.nodes;
    let (start, stop, data, allocated, used, services, faults, teardown_problems) = (
        a.start,
        a.stop,
        a.data,
        a.nodes_allocated,
        a.nodes_used,
        a.services,
        a.faults,
        a.teardown_problems,
    );
    TestRecord {
        test_id: case.name.clone(),
        module_name: case.test.module().to_string(),
        cls_name: case.test.module().to_string(),
        function_name: case.test.name.to_string(),
        injected_args: case.injected_args(),
        description: case.test.doc.to_string(),
        test_status: status,
        summary,
        run_time_seconds: stop - start,
        start_time: start,
        stop_time: stop,
        data,
        nodes_allocated: allocated,
        nodes_used: used,
        relative_results_dir: rel.to_string(),
        binary: super::binary_id().to_string(),
        services,
        attempts,
        faults,
        teardown_problems,
        earlier_failures: Vec::new(),
        nodes,
        shard: String::new(),
        host: String::new(),
        regressions: Vec::new(),
        history: None,
    }
}

pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The nodes a case asks for, after `--default-num-nodes`,
/// `--fail-greedy-tests` and `--ignore-node-type`.
fn requested_spec(rt: &Runtime, case: &TestCase) -> Result<ClusterSpec, RunError> {
    let spec = match &case.cluster {
        ClusterUse::Declared(spec) => spec.clone(),
        ClusterUse::Undeclared if rt.options.fail_greedy_tests => {
            return Err(RunError::Greedy {
                test: case.test.path(),
            })
        }
        ClusterUse::Undeclared => ClusterSpec::simple_linux(
            rt.options
                .default_num_nodes
                .or(rt.cluster.size())
                .unwrap_or(1),
        ),
    };
    Ok(if rt.options.ignore_node_type {
        spec.without_node_types()
    } else {
        spec
    })
}

/// One attempt, and its interrupt ticket: the caller marks it done once the
/// record is written.
fn run_attempt(
    rt: &Runtime,
    case: &TestCase,
    dir: &Path,
    rel: &str,
    earlier: &OnceCell<EarlierResults>,
) -> (Attempt, Option<Ticket>) {
    let start = unix_now();
    // The error with its causes, each once: the summary reports show.
    let failed = |e: &(dyn std::error::Error + 'static)| Attempt::failed_early(chain(e), start);
    if let Err(source) = std::fs::create_dir_all(dir) {
        let e = RunError::ResultsDir {
            dir: dir.to_path_buf(),
            source,
        };
        return (failed(&e), None);
    }
    let spec = match requested_spec(rt, case) {
        Ok(spec) => spec,
        Err(e) => return (failed(&e), None),
    };
    let allocation = match rt.cluster.alloc_for(&spec, &case.name) {
        Ok(a) => a,
        Err(e) => return (failed(&e), None),
    };
    // Leasing prepared the nodes (stale processes killed, stale faults
    // healed, side by side); whatever of that went through the fences is
    // the framework's, not the test's.
    allocation.reset_usage();
    // The run time counts from here: waiting for nodes is not the test's.
    let start = unix_now();
    let (pool, ctx) = new_context(rt, case, dir, &allocation);
    let span = tracing::info_span!(TEST_SPAN, dir = %dir.display(), test = %case.name);
    let nodes: Vec<&str> = allocation.nodes().iter().map(|n| n.name()).collect();
    span.in_scope(|| tracing::info!(nodes = ?nodes, "running {}", case.name));
    let held: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
    let started = Instant::now();
    let _watch = rt.progress.running(&case.name, &held, &span);
    let Some(ticket) = rt.interrupts.register(Running {
        ctx: ctx.clone(),
        span: span.clone(),
        case: case.clone(),
        dir: dir.to_path_buf(),
        rel: rel.to_string(),
        start,
        nodes_allocated: spec.size(),
    }) else {
        let summary = "interrupted before it started".to_string();
        return (Attempt::failed_early(summary, start), None);
    };
    let end = run_body(rt, case, &ctx, &span, || {
        if let Some(history) = &rt.history {
            earlier.get_or_init(|| history.earlier_results(&case.name, rel));
        }
    });
    if !rt.interrupts.finish(&ticket) {
        // An interrupt is tearing this test down and will end the process.
        loop {
            std::thread::park();
        }
    }
    let (mut outcome, mut message, data) = match end {
        BodyEnd::Returned(data) => (Outcome::Passed, String::new(), data.unwrap_or_default()),
        BodyEnd::Failed(msg) => (Outcome::Failed, msg, serde_json::Value::Null),
        BodyEnd::TimedOut(msg) => (Outcome::TimedOut, msg, serde_json::Value::Null),
    };
    // Decided before teardown, so a failure here collects all logs too.
    let used = pool.max_used().max(allocation.nodes_touched());
    if outcome == Outcome::Passed {
        if let Some(msg) = underused(rt, spec.size(), used) {
            (outcome, message) = (Outcome::Failed, msg);
        }
    }
    let mut summary = summarize(dir, outcome, &message);
    span.in_scope(|| match outcome {
        Outcome::Passed => tracing::info!(elapsed = ?started.elapsed(), "PASS"),
        _ => tracing::error!("FAIL: {summary}"),
    });
    let (services, mut problems) = span.in_scope(|| teardown(rt, &ctx, outcome == Outcome::Passed));
    // The body may still run: take the nodes back before anyone else gets them.
    problems.extend(span.in_scope(|| allocation.release(outcome == Outcome::TimedOut)));
    if !problems.is_empty() {
        eprintln!(
            "ducktape: {}: teardown problems: {}",
            case.name,
            crate::text::escape_controls(&problems.join("; "))
        );
        if rt.options.fail_on_teardown_error && outcome == Outcome::Passed {
            outcome = Outcome::Failed;
            let msg = format!(
                "teardown failed (--fail-on-teardown-error): {}",
                problems.join("; ")
            );
            summary = summarize(dir, outcome, &msg);
        }
    }
    let attempt = Attempt {
        outcome,
        summary,
        data,
        nodes_allocated: spec.size(),
        nodes_used: used,
        services,
        faults: ctx.faults().records(),
        start,
        stop: unix_now(),
        teardown_problems: problems,
        nodes: held,
    };
    (attempt, Some(ticket))
}

/// The summary reports show: `Test Passed`, or the failure message bounded
/// and with control characters escaped. A failure's fuller text (itself
/// bounded, head and tail kept) goes to the test's `failure.txt`, which the
/// summary points at when it had to be cut.
fn summarize(dir: &Path, outcome: Outcome, message: &str) -> String {
    use crate::text::{bounded, escape_controls, head_and_tail};
    if outcome == Outcome::Passed {
        return "Test Passed".into();
    }
    let kept = escape_controls(&head_and_tail(message, crate::text::FAILURE_FILE_LIMIT));
    let file = dir.join("failure.txt");
    if let Err(e) = std::fs::write(&file, format!("{kept}\n")) {
        tracing::error!("cannot write {}: {e}", file.display());
    }
    bounded(
        &kept,
        crate::text::SUMMARY_LIMIT,
        &file.display().to_string(),
    )
}

/// The test's node pool and context.
fn new_context(
    rt: &Runtime,
    case: &TestCase,
    dir: &Path,
    allocation: &crate::cluster::Allocation,
) -> (Arc<TestCluster>, TestContext) {
    let pool = Arc::new(TestCluster::new(
        allocation,
        rt.options.skip_nodes_allocation,
        rt.options.ignore_node_type,
    ));
    let ctx = TestContext::new(ContextParts {
        test_id: case.name.clone(),
        function: case.test.name.to_string(),
        module: case.test.module().to_string(),
        args: case.args.clone(),
        globals: rt.globals.clone(),
        results_dir: dir.to_path_buf(),
        cluster: pool.clone(),
        jvm_logs: rt.options.enable_jvm_logs,
    });
    (pool, ctx)
}

/// `--fail-bad-cluster-utilization`: the failure message for a test that
/// used fewer nodes than it declared.
fn underused(rt: &Runtime, declared: usize, used: usize) -> Option<String> {
    (rt.options.fail_bad_cluster_utilization && used < declared).then(|| {
        format!(
            "cluster utilization: the test declared {declared} nodes but used {used} \
             (--fail-bad-cluster-utilization)"
        )
    })
}

/// Runs the body on its own thread so a hung test can be abandoned at the
/// timeout: its services are torn down and the next test still runs.
/// Runs the test's body on a pooled thread, and `meanwhile` on this one
/// while it runs: this thread would only wait, and for a short test the
/// hand-over to the pool and back is longer than the body.
fn run_body(
    rt: &Runtime,
    case: &TestCase,
    ctx: &TestContext,
    span: &tracing::Span,
    meanwhile: impl FnOnce(),
) -> BodyEnd {
    let (body, ctx2, args, span2) = (case.test.body, ctx.clone(), case.args.clone(), span.clone());
    let timeout = Duration::from_millis(rt.options.test_runner_timeout);
    let started = Instant::now();
    let job = move || span2.in_scope(|| body(&ctx2, &args));
    let ended = crate::deadline::start("the test body", job).map(|pending| {
        meanwhile();
        pending.wait(timeout.saturating_sub(started.elapsed()))
    });
    match ended {
        Ok(Ended::Finished(Ok(data))) => BodyEnd::Returned(data),
        Ok(Ended::Finished(Err(e))) => BodyEnd::Failed(format!("{e:#}")),
        Ok(Ended::Panicked(msg)) => BodyEnd::Failed(format!("test panicked: {msg}")),
        Ok(Ended::TimedOut) => BodyEnd::TimedOut(format!(
            "test timed out after {} ms (--test-runner-timeout) and was abandoned; its nodes \
             were revoked and its processes on them killed",
            rt.options.test_runner_timeout
        )),
        Err(e) => BodyEnd::Failed(e.to_string()),
    }
}

/// Stops, collects, cleans and frees every service of the test, last
/// created first. Errors are logged and returned as problems, never lost,
/// and never stop the rest.
pub(crate) fn teardown(
    rt: &Runtime,
    ctx: &TestContext,
    passed: bool,
) -> (Vec<serde_json::Value>, Vec<String>) {
    let limit = Duration::from_millis(rt.options.test_runner_timeout).min(TEARDOWN_STEP_LIMIT);
    let mut problems = Vec::new();
    let mut step = |r: Result<(), String>| problems.extend(r.err());
    // Heal first, so services stop on a healthy network. (Only when there
    // is something to heal: a step costs a pooled thread's round trip.)
    if ctx.faults().anything_to_heal() {
        let c = ctx.clone();
        step(guarded("healing faults", limit, move || c.faults().heal()));
    }
    let services = ctx.services();
    let no_teardown = rt.options.no_teardown;
    if no_teardown && !services.is_empty() {
        tracing::warn!("--no-teardown: leaving services' processes and files in place");
    }
    let mut lost_logs = Vec::new();
    for svc in services.iter().rev() {
        let id = svc.id().to_string();
        if svc.running() && !no_teardown {
            let s = svc.clone();
            step(guarded(&format!("{id}: stop"), limit, move || s.stop()));
        }
        let (s, dir, compress) = (
            svc.clone(),
            ctx.results_dir().to_path_buf(),
            rt.options.compress,
        );
        let logs = guarded(&format!("{id}: collecting logs"), limit, move || {
            Ok(s.collect_logs(&dir, !passed, compress))
        });
        match logs {
            Ok(lost) => lost_logs.extend(lost.into_iter().map(|p| {
                tracing::warn!(service = %id, "log not collected: {p}");
                format!("{id}: log not collected: {p}")
            })),
            Err(problem) => lost_logs.push(problem),
        }
        if !no_teardown {
            let s = svc.clone();
            step(guarded(&format!("{id}: clean"), limit, move || s.clean()));
        }
        svc.free();
    }
    problems.extend(lost_logs);
    ctx.close();
    (services.iter().map(|s| s.describe()).collect(), problems)
}

/// The longest one teardown step (a service's stop, log collection or
/// clean) may take before it is abandoned and teardown moves on.
const TEARDOWN_STEP_LIMIT: Duration = Duration::from_secs(300);

/// Runs one teardown step on a pooled thread, in the test's span: an error,
/// a panic (user code: a service's stop, logs or pids) or a hang past
/// `limit` is logged and returned as one line, and the next step still runs.
fn guarded<T: Send + 'static>(
    what: &str,
    limit: Duration,
    step: impl FnOnce() -> crate::Result<T> + Send + 'static,
) -> Result<T, String> {
    let problem = match crate::deadline::run_with_deadline(what, limit, step) {
        Ok(Ended::Finished(Ok(value))) => return Ok(value),
        Ok(Ended::Finished(Err(e))) => format!("{what} failed: {e:#}"),
        Ok(Ended::Panicked(msg)) => format!("{what} panicked: {msg}"),
        Ok(Ended::TimedOut) => format!("{what} did not finish within {limit:?}; abandoned"),
        Err(e) => e.to_string(),
    };
    let problem = crate::text::bounded(
        &crate::text::escape_controls(&problem),
        crate::text::SUMMARY_LIMIT,
        "the test log",
    );
    tracing::error!("{problem}");
    Err(problem)
}
