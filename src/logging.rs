//! Logging through `tracing`: the console, the session's log files, and each
//! test's own `test_log.info` / `test_log.debug`.
//!
//! A test runs inside a `ducktape_test` span that carries its directory; every
//! event inside it (from the test, its services and their worker threads,
//! which enter the span) is written to that test's files. Files are written
//! line by line, unbuffered, so nothing is lost when a test panics or hangs.

use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_core::span::Current;

/// The name of the span a test runs in; its `dir` field is the test's
/// results directory.
pub const TEST_SPAN: &str = "ducktape_test";

/// The name of the span a service's work runs in (fields `id`, `node`):
/// its events are prefixed with `[id node]`.
pub const SERVICE_SPAN: &str = "ducktape_service";

/// The target of events that go to the log files only, never the console
/// (a SLOW notice, which the console shows its own way).
pub(crate) const FILE_ONLY: &str = "ducktape::progress";

#[derive(Default)]
struct PrefixVisitor {
    id: String,
    node: String,
}

impl Visit for PrefixVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "id" => self.id = value.to_string(),
            "node" => self.node = value.to_string(),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, format!("{value:?}").trim_matches('"'));
    }
}

/// An `.info` + `.debug` pair of log files, each created on its first line
/// (a test that logs nothing at INFO gets no empty `.info`, and a trivial
/// test pays no `mkdir` or `open` before it logs).
#[derive(Debug)]
struct LogPair {
    info: LazyFile,
    debug: LazyFile,
}

impl LogPair {
    fn new(dir: &Path, stem: &str) -> Self {
        let file = |ext: &str| LazyFile {
            path: dir.join(format!("{stem}.{ext}")),
            state: Mutex::new(Lazy::Unopened),
        };
        LogPair {
            info: file("info"),
            debug: file("debug"),
        }
    }

    /// Opens both files now (the session's logs: a failure is the caller's
    /// error rather than a line on the console).
    fn create(dir: &Path, stem: &str) -> std::io::Result<Self> {
        let pair = LogPair::new(dir, stem);
        for file in [&pair.info, &pair.debug] {
            *file.state.lock() = Lazy::Open(file.open()?);
        }
        Ok(pair)
    }

    fn write(&self, level: Level, line: &str) {
        self.debug.write(line);
        if level <= Level::INFO {
            self.info.write(line);
        }
    }
}

/// A log file opened (and its directory made) on its first line.
#[derive(Debug)]
struct LazyFile {
    path: PathBuf,
    state: Mutex<Lazy>,
}

#[derive(Debug)]
enum Lazy {
    Unopened,
    Open(File),
    /// Creating it failed (said once on the console); its lines are dropped.
    Failed,
}

impl LazyFile {
    /// Opens for appending; makes the directory only if it is missing (the
    /// runner has usually made it).
    fn open(&self) -> std::io::Result<File> {
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
        };
        match open() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = self.path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                open()
            }
            other => other,
        }
    }

    fn write(&self, line: &str) {
        let mut state = self.state.lock();
        if matches!(*state, Lazy::Unopened) {
            *state = match self.open() {
                Ok(file) => Lazy::Open(file),
                Err(e) => {
                    eprintln!("ducktape: cannot create {}: {e}", self.path.display());
                    Lazy::Failed
                }
            };
        }
        if let Lazy::Open(file) = &mut *state {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

/// The `dir` and `test` fields of a test span.
#[derive(Default)]
struct TestSpanVisitor {
    dir: Option<PathBuf>,
    test: Option<String>,
}

impl Visit for TestSpanVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "dir" => self.dir = Some(PathBuf::from(value)),
            "test" => self.test = Some(value.to_string()),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, format!("{value:?}").trim_matches('"'));
    }
}

struct LineVisitor(String);

impl Visit for LineVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

fn format_line(event: &Event<'_>, prefix: &str) -> String {
    let mut v = LineVisitor(String::new());
    event.record(&mut v);
    format!(
        "[{:<5} {}] {}: {prefix}{}\n",
        event.metadata().level(),
        crate::clock::utc_timestamp(),
        event.metadata().target(),
        v.0
    )
}

/// The subscriber. Spans live in a map by id while a handle to them (or a
/// child) is alive, each knowing its parent; each thread's entered spans
/// are a stack. This is all the bookkeeping the log files need, and it
/// replaces tracing-subscriber's registry, whose lock-free slab sets up
/// 4,096 shard slots (~0.6M instructions unoptimized) in every process:
/// under nextest, every test.
struct Logger {
    /// Which logger a thread's stack entries belong to (tests install
    /// their own for a while next to the global one).
    tag: u64,
    session: Option<Arc<LogPair>>,
    console_level: Level,
    spans: Mutex<HashMap<u64, SpanData>>,
    next_id: AtomicU64,
}

/// What a span adds to the lines logged inside it.
struct SpanData {
    meta: &'static Metadata<'static>,
    parent: Option<u64>,
    /// Handles to it and spans inside it.
    refs: usize,
    /// A service span's `[service node] ` prefix.
    prefix: Option<String>,
    /// A test span's name, for console lines: with several tests at once, a
    /// line must say whose it is.
    test: Option<String>,
    /// A test span's log files.
    log: Option<Arc<LogPair>>,
}

thread_local! {
    /// Spans entered on this thread, innermost last: (logger tag, span id).
    static ENTERED: RefCell<Vec<(u64, u64)>> = const { RefCell::new(Vec::new()) };
}

/// Where a line logged inside a span goes, found from the innermost span out.
#[derive(Default)]
struct Scope {
    prefix: String,
    logs: Vec<Arc<LogPair>>,
    test: Option<String>,
}

impl Logger {
    fn new(session: Option<Arc<LogPair>>, console_level: Level) -> Self {
        static TAGS: AtomicU64 = AtomicU64::new(1);
        Logger {
            tag: TAGS.fetch_add(1, Ordering::Relaxed),
            session,
            console_level,
            spans: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// The innermost span this thread entered, of this logger.
    fn current(&self) -> Option<u64> {
        ENTERED.with(|stack| {
            let stack = stack.borrow();
            let tag = self.tag;
            stack.iter().rev().find(|e| e.0 == tag).map(|e| e.1)
        })
    }

    /// The parent of a new span or event: explicit, the current span, or
    /// none (a root).
    fn parent_of(&self, explicit: Option<&Id>, contextual: bool) -> Option<u64> {
        match explicit {
            Some(id) => Some(id.into_u64()),
            None if contextual => self.current(),
            None => None,
        }
    }

    /// The prefix, log files and test of the spans from `span` out, up to
    /// and including the first test span.
    fn scope(&self, mut span: Option<u64>) -> Scope {
        let spans = self.spans.lock();
        let mut scope = Scope::default();
        let mut prefixed = false;
        while let Some(data) = span.and_then(|id| spans.get(&id)) {
            if let (false, Some(p)) = (prefixed, &data.prefix) {
                scope.prefix.clone_from(p);
                prefixed = true;
            }
            if let Some(log) = &data.log {
                scope.logs.push(Arc::clone(log));
            }
            if data.test.is_some() {
                scope.test.clone_from(&data.test);
                break;
            }
            span = data.parent;
        }
        scope
    }
}

impl Subscriber for Logger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let meta = attrs.metadata();
        let mut data = SpanData {
            meta,
            parent: self.parent_of(attrs.parent(), attrs.is_contextual()),
            refs: 1,
            prefix: None,
            test: None,
            log: None,
        };
        if meta.name() == SERVICE_SPAN {
            let mut v = PrefixVisitor::default();
            attrs.record(&mut v);
            data.prefix = Some(if v.node.is_empty() {
                format!("[{}] ", v.id)
            } else {
                format!("[{} {}] ", v.id, v.node)
            });
        } else if meta.name() == TEST_SPAN {
            let mut v = TestSpanVisitor::default();
            attrs.record(&mut v);
            data.test = v.test;
            data.log = v.dir.map(|dir| Arc::new(LogPair::new(&dir, "test_log")));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut spans = self.spans.lock();
        // A child keeps its parent (and so the parent's files) alive.
        if let Some(parent) = data.parent.and_then(|p| spans.get_mut(&p)) {
            parent.refs += 1;
        } else {
            data.parent = None;
        }
        spans.insert(id, data);
        Id::from_u64(id)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let level = *meta.level();
        let scope = self.scope(self.parent_of(event.parent(), event.is_contextual()));
        let line = format_line(event, &scope.prefix);
        for log in &scope.logs {
            log.write(level, &line);
        }
        if let Some(session) = &self.session {
            session.write(level, &line);
        }
        if level <= self.console_level && meta.target() != FILE_ONLY {
            // One write per line, so lines of parallel tests never interleave
            // mid-line; control characters from remote output are escaped.
            let shown = crate::text::escape_controls(line.trim_end_matches('\n'));
            let shown = match scope.test {
                Some(test) => format!("{test}: {shown}\n"),
                None => format!("{shown}\n"),
            };
            let _ = std::io::stderr().lock().write_all(shown.as_bytes());
        }
    }

    fn enter(&self, span: &Id) {
        let entry = (self.tag, span.into_u64());
        ENTERED.with(|stack| stack.borrow_mut().push(entry));
    }

    fn exit(&self, span: &Id) {
        let entry = (self.tag, span.into_u64());
        ENTERED.with(|stack| {
            let mut stack = stack.borrow_mut();
            if let Some(i) = stack.iter().rposition(|e| *e == entry) {
                stack.remove(i);
            }
        });
    }

    fn clone_span(&self, span: &Id) -> Id {
        if let Some(data) = self.spans.lock().get_mut(&span.into_u64()) {
            data.refs += 1;
        }
        span.clone()
    }

    fn try_close(&self, span: Id) -> bool {
        let mut spans = self.spans.lock();
        let mut next = Some(span.into_u64());
        let mut closed = false;
        // Closing a span lets go of its parent, which may close in turn.
        while let Some(id) = next.take() {
            let Some(data) = spans.get_mut(&id) else {
                break;
            };
            data.refs -= 1;
            if data.refs > 0 {
                break;
            }
            closed |= id == span.into_u64();
            next = spans.remove(&id).and_then(|d| d.parent);
        }
        closed
    }

    fn current_span(&self) -> Current {
        let spans = self.spans.lock();
        match self
            .current()
            .and_then(|id| Some((id, spans.get(&id)?.meta)))
        {
            Some((id, meta)) => Current::new(Id::from_u64(id), meta),
            None => Current::none(),
        }
    }
}

/// The console's log level: warnings and errors by default, so libtest's
/// `test NAME ... ok` lines stay whole; a test's INFO logs with
/// `--nocapture`/`--show-output` (what IDEs send); DEBUG with `--debug`;
/// errors only with `--quiet`. Every level always goes to the log files.
pub fn console_level(debug: bool, nocapture: bool, quiet: bool) -> Level {
    match (debug, nocapture, quiet) {
        (true, _, _) => Level::DEBUG,
        (false, _, true) => Level::ERROR,
        (false, true, false) => Level::INFO,
        (false, false, false) => Level::WARN,
    }
}

/// Installs the subscriber: the console at `console_level` (each line
/// prefixed with its test's name), session files in `session_dir` when
/// given.
pub fn init(session_dir: Option<&Path>, console_level: Level) -> std::io::Result<()> {
    let session = session_dir
        .map(|d| LogPair::create(d, "session_log").map(Arc::new))
        .transpose()?;
    // A second init (tests calling main twice) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(Logger::new(session, console_level));
    Ok(())
}

/// A subscriber that writes test logs only (no session files; errors on
/// the console), for unit tests of code that enters spans.
#[cfg(test)]
pub(crate) fn quiet() -> impl Subscriber {
    Logger::new(None, Level::ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer() -> impl Subscriber {
        quiet()
    }

    #[test]
    fn test_logs_are_created_on_their_first_line() {
        let tmp = tempfile::tempdir().unwrap();
        let (quiet, debug_only, both) = (
            tmp.path().join("quiet/1"),
            tmp.path().join("debug/1"),
            tmp.path().join("both/1"),
        );
        tracing::subscriber::with_default(layer(), || {
            let span =
                |dir: &Path| tracing::info_span!(TEST_SPAN, dir = %dir.display(), test = "t");
            span(&quiet).in_scope(|| {});
            span(&debug_only).in_scope(|| tracing::debug!("detail"));
            span(&both).in_scope(|| tracing::info!("running"));
        });
        // No line, no file (and no directory made for it).
        assert!(!quiet.exists());
        assert!(debug_only.join("test_log.debug").is_file());
        assert!(!debug_only.join("test_log.info").exists());
        for ext in ["info", "debug"] {
            let text = std::fs::read_to_string(both.join(format!("test_log.{ext}"))).unwrap();
            assert!(text.contains("running"), "{ext}: {text}");
        }
    }

    /// A span's data (its log files) lives while a handle to it or a span
    /// inside it does, and no longer; a line inside a service span inside a
    /// test span goes to the test's files with the service's prefix.
    #[test]
    fn spans_live_while_held_and_lines_find_their_test() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("t/1");
        let dispatch = tracing::Dispatch::new(Logger::new(None, Level::ERROR));
        let live = || match dispatch.downcast_ref::<Logger>() {
            Some(logger) => logger.spans.lock().len(),
            None => panic!("not a Logger"),
        };
        tracing::dispatcher::with_default(&dispatch, || {
            let test = tracing::info_span!(TEST_SPAN, dir = %dir.display(), test = "t");
            let service =
                test.in_scope(|| tracing::info_span!(SERVICE_SPAN, id = "zk", node = "n1"));
            assert_eq!(live(), 2);
            drop(test);
            assert_eq!(live(), 2, "the service span keeps its test's");
            service.in_scope(|| {
                assert_eq!(tracing::Span::current().id(), service.id());
                tracing::info!("started");
            });
            let copy = service.clone();
            drop(service);
            assert_eq!(live(), 2);
            drop(copy);
            assert_eq!(live(), 0, "closed spans are gone");
            assert!(tracing::Span::current().is_none());
            // Outside any span a line goes nowhere but the console.
            tracing::info!("outside");
        });
        let text = std::fs::read_to_string(dir.join("test_log.info")).unwrap();
        assert!(text.contains("[zk n1] started"), "{text}");
        assert!(!text.contains("outside"), "{text}");
    }
}
