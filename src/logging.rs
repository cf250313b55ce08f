//! Logging through `tracing`: the console, the session's log files, and each
//! test's own `test_log.info` / `test_log.debug`.
//!
//! A test runs inside a `ducktape_test` span that carries its directory; every
//! event inside it (from the test, its services and their worker threads,
//! which enter the span) is written to that test's files. Files are written
//! line by line, unbuffered, so nothing is lost when a test panics or hangs.

use parking_lot::Mutex;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// The name of the span a test runs in; its `dir` field is the test's
/// results directory.
pub const TEST_SPAN: &str = "ducktape_test";

/// The name of the span a service's work runs in (fields `id`, `node`):
/// its events are prefixed with `[id node]`.
pub const SERVICE_SPAN: &str = "ducktape_service";

/// The target of events that go to the log files only, never the console
/// (a SLOW notice, which the console shows its own way).
pub(crate) const FILE_ONLY: &str = "ducktape::progress";

/// The `[service node] ` prefix stored in a service span.
struct Prefix(String);

/// The test a span belongs to, for console lines: with several tests at
/// once, a line must say whose it is.
struct TestName(String);

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

struct FilesLayer {
    session: Option<Arc<LogPair>>,
    console_level: Level,
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

impl<S> Layer<S> for FilesLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() == SERVICE_SPAN {
            let mut v = PrefixVisitor::default();
            attrs.record(&mut v);
            let prefix = if v.node.is_empty() {
                format!("[{}] ", v.id)
            } else {
                format!("[{} {}] ", v.id, v.node)
            };
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(Prefix(prefix));
            }
            return;
        }
        if attrs.metadata().name() != TEST_SPAN {
            return;
        }
        let mut fields = TestSpanVisitor::default();
        attrs.record(&mut fields);
        let Some(span) = ctx.span(id) else {
            return;
        };
        if let Some(test) = fields.test {
            span.extensions_mut().insert(TestName(test));
        }
        if let Some(dir) = fields.dir {
            span.extensions_mut()
                .insert(Arc::new(LogPair::new(&dir, "test_log")));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        let prefix = ctx
            .event_scope(event)
            .and_then(|mut scope| {
                scope.find_map(|s| s.extensions().get::<Prefix>().map(|p| p.0.clone()))
            })
            .unwrap_or_default();
        let line = format_line(event, &prefix);
        let mut test = None;
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                let ext = span.extensions();
                if let Some(pair) = ext.get::<Arc<LogPair>>() {
                    pair.write(level, &line);
                }
                if let Some(name) = ext.get::<TestName>() {
                    test = Some(name.0.clone());
                    break;
                }
            }
        }
        if let Some(session) = &self.session {
            session.write(level, &line);
        }
        if level <= self.console_level && event.metadata().target() != FILE_ONLY {
            // One write per line, so lines of parallel tests never interleave
            // mid-line; control characters from remote output are escaped.
            let shown = crate::text::escape_controls(line.trim_end_matches('\n'));
            let shown = match test {
                Some(test) => format!("{test}: {shown}\n"),
                None => format!("{shown}\n"),
            };
            let _ = std::io::stderr().lock().write_all(shown.as_bytes());
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
    let layer = FilesLayer {
        session,
        console_level,
    };
    // A second init (tests calling main twice) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(layer).try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer() -> impl Subscriber {
        tracing_subscriber::registry().with(FilesLayer {
            session: None,
            console_level: Level::ERROR,
        })
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
}
