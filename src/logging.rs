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

/// The `[service node] ` prefix stored in a service span.
struct Prefix(String);

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

/// An `.info` + `.debug` pair of log files.
#[derive(Debug)]
struct LogPair {
    info: Mutex<File>,
    debug: Mutex<File>,
}

impl LogPair {
    fn create(dir: &Path, stem: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let open = |ext: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(format!("{stem}.{ext}")))
        };
        Ok(LogPair {
            info: Mutex::new(open("info")?),
            debug: Mutex::new(open("debug")?),
        })
    }

    fn write(&self, level: Level, line: &str) {
        let _ = self.debug.lock().write_all(line.as_bytes());
        if level <= Level::INFO {
            let _ = self.info.lock().write_all(line.as_bytes());
        }
    }
}

struct FilesLayer {
    session: Option<Arc<LogPair>>,
    console_level: Level,
}

struct DirVisitor(Option<PathBuf>);

impl Visit for DirVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "dir" {
            self.0 = Some(PathBuf::from(value));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "dir" {
            self.0 = Some(PathBuf::from(format!("{value:?}").trim_matches('"')));
        }
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
    let now = jiff::Timestamp::now();
    format!(
        "[{:<5} {}] {}: {prefix}{}\n",
        event.metadata().level(),
        now.strftime("%Y-%m-%d %H:%M:%S%.3f"),
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
        let mut dir = DirVisitor(None);
        attrs.record(&mut dir);
        if let (Some(dir), Some(span)) = (dir.0, ctx.span(id)) {
            match LogPair::create(&dir, "test_log") {
                Ok(pair) => span.extensions_mut().insert(Arc::new(pair)),
                Err(e) => eprintln!(
                    "ducktape: cannot create test logs in {}: {e}",
                    dir.display()
                ),
            }
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
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(pair) = span.extensions().get::<Arc<LogPair>>() {
                    pair.write(level, &line);
                    break;
                }
            }
        }
        if let Some(session) = &self.session {
            session.write(level, &line);
        }
        if level <= self.console_level {
            eprint!("{line}");
        }
    }
}

/// Installs the subscriber: console at info (debug with `--debug`), warnings
/// only with `quiet`; session files in `session_dir` when given.
pub fn init(session_dir: Option<&Path>, debug: bool, quiet: bool) -> std::io::Result<()> {
    let session = session_dir
        .map(|d| LogPair::create(d, "session_log").map(Arc::new))
        .transpose()?;
    let console_level = match (debug, quiet) {
        (true, _) => Level::DEBUG,
        (false, true) => Level::WARN,
        (false, false) => Level::INFO,
    };
    let layer = FilesLayer {
        session,
        console_level,
    };
    // A second init (tests calling main twice) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(layer).try_init();
    Ok(())
}
