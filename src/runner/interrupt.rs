//! Ctrl-C and SIGTERM (what nextest sends on a timeout): every running test
//! is torn down (services stopped, logs collected, nodes cleaned and freed)
//! and reported as interrupted before the process exits. A second signal
//! exits at once.

use super::trial::{record, teardown, unix_now, Attempt, Outcome};
use super::Runtime;
use crate::context::TestContext;
use crate::mark::TestCase;
use crate::report::record::Status;
use parking_lot::{Condvar, Mutex};
use std::collections::HashMap;
use std::os::fd::{AsRawFd as _, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// A test whose body is running.
pub(crate) struct Running {
    pub(crate) ctx: TestContext,
    pub(crate) span: tracing::Span,
    pub(crate) case: TestCase,
    pub(crate) dir: PathBuf,
    pub(crate) rel: String,
    pub(crate) start: f64,
    pub(crate) nodes_allocated: usize,
}

/// Where a registered test is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Its body runs: a signal handler takes it over.
    Body,
    /// It is tearing down or writing its record: a signal handler waits.
    Finishing,
}

/// The tests in flight, so a signal can finish them off. A test stays
/// registered until its record is written; whoever moves it out of `Body`
/// (its own thread or the signal handler) tears it down.
#[derive(Default)]
pub(crate) struct Interrupts {
    running: Mutex<Table>,
    finished: Condvar,
    next: AtomicU64,
    interrupted: AtomicBool,
}

#[derive(Default)]
struct Table {
    tests: HashMap<u64, (Phase, Running)>,
    /// Repetitions under way: each ends with a record written.
    repetitions: usize,
}

/// A registration ticket.
pub(crate) struct Ticket(u64);

/// A repetition under way; a signal waits for it to write its record.
pub(crate) struct Repetition<'a>(&'a Interrupts);

impl Drop for Repetition<'_> {
    fn drop(&mut self) {
        let mut table = self.0.running.lock();
        table.repetitions = table.repetitions.saturating_sub(1);
        self.0.finished.notify_all();
    }
}

/// How long a signal waits for tests already tearing down.
const FINISHING_WAIT: Duration = Duration::from_secs(120);

impl Interrupts {
    /// Registers a test whose body is about to run; `None` once a signal
    /// arrived (the test must not start).
    pub(crate) fn register(&self, running: Running) -> Option<Ticket> {
        let mut table = self.running.lock();
        if self.interrupted() {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        table.tests.insert(id, (Phase::Body, running));
        Some(Ticket(id))
    }

    /// A repetition of a test begins; it ends when the guard drops, after
    /// its record is written.
    pub(crate) fn begin(&self) -> Repetition<'_> {
        self.running.lock().repetitions += 1;
        Repetition(self)
    }

    /// Claims the test back for its own teardown; `false` if a signal
    /// handler already took it.
    pub(crate) fn finish(&self, ticket: &Ticket) -> bool {
        match self.running.lock().tests.get_mut(&ticket.0) {
            Some(entry) => {
                entry.0 = Phase::Finishing;
                true
            }
            None => false,
        }
    }

    /// The test's record is written: a signal no longer needs to wait.
    pub(crate) fn done(&self, ticket: Ticket) {
        self.running.lock().tests.remove(&ticket.0);
        self.finished.notify_all();
    }

    /// Whether a signal arrived: no new test or attempt may start.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}

/// Installs the handlers and starts the process's one background thread:
/// it waits for these signals and, every `tick` (when given), calls
/// [`super::progress::Progress::tick`]. The runtime is held weakly: once the
/// run is over there is nothing to tear down.
pub(crate) fn install(rt: Weak<Runtime>, tick: Option<Duration>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::backend::SignalDelivery;
    use signal_hook::iterator::exfiltrator::SignalOnly;
    let (read, write) = std::os::unix::net::UnixStream::pair()?;
    let mut signals = SignalDelivery::with_pipe(read, write, SignalOnly, [SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("ducktape-signals".into())
        .spawn(move || {
            let mut first = true;
            loop {
                if readable(signals.get_read().as_raw_fd(), tick) {
                    for sig in signals.pending() {
                        on_signal(&rt, sig, first);
                        first = false;
                    }
                }
                if tick.is_some() {
                    if let Some(rt) = rt.upgrade() {
                        rt.progress.tick();
                    }
                }
            }
        })?;
    Ok(())
}

/// Waits up to `timeout` (`None`: for ever) for `fd` to be readable.
fn readable(fd: RawFd, timeout: Option<Duration>) -> bool {
    let ms = timeout.map_or(-1, |d| i32::try_from(d.as_millis()).unwrap_or(i32::MAX));
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the length given.
    match unsafe { libc::poll(&mut pfd, 1, ms) } {
        n if n > 0 => true,
        0 => false,
        _ => {
            // EINTR: go round again. Anything else would repeat at once: wait
            // out the tick instead of spinning.
            if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                std::thread::sleep(timeout.unwrap_or(Duration::from_secs(1)));
            }
            false
        }
    }
}

/// The first signal tears the running tests down on a thread of its own (so
/// a second one is still heard while services stop) and exits with 128+N;
/// a second exits at once.
fn on_signal(rt: &Weak<Runtime>, sig: i32, first: bool) {
    use signal_hook::consts::SIGINT;
    let code = 128 + sig;
    if !first {
        super::progress::restore_terminal();
        eprintln!("ducktape: second signal, exiting now");
        std::process::exit(code);
    }
    let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
    eprintln!("ducktape: {name}: tearing down running tests (again to exit now)");
    let rt = rt.clone();
    std::thread::spawn(move || {
        if let Some(rt) = rt.upgrade() {
            interrupt_all(&rt, name);
        }
        super::progress::restore_terminal();
        std::process::exit(code);
    });
}

fn interrupt_all(rt: &Arc<Runtime>, signal: &str) {
    let bodies: Vec<Running> = {
        let mut table = rt.interrupts.running.lock();
        rt.interrupts.interrupted.store(true, Ordering::SeqCst);
        let ids: Vec<u64> = table
            .tests
            .iter()
            .filter(|(_, (phase, _))| *phase == Phase::Body)
            .map(|(id, _)| *id)
            .collect();
        let bodies: Vec<Running> = ids
            .into_iter()
            .filter_map(|id| table.tests.remove(&id).map(|(_, r)| r))
            .collect();
        // Their threads stay parked: this handler writes their records.
        table.repetitions = table.repetitions.saturating_sub(bodies.len());
        bodies
    };
    std::thread::scope(|s| {
        for r in &bodies {
            s.spawn(move || {
                let torn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    interrupt_one(rt, r, signal)
                }));
                if torn.is_err() {
                    eprintln!("ducktape: tearing down {} panicked", r.case.name);
                }
            });
        }
    });
    // Tests already tearing down (or just starting, which now stop at
    // once) finish on their own threads and write their records.
    let mut table = rt.interrupts.running.lock();
    let deadline = std::time::Instant::now() + FINISHING_WAIT;
    while !table.tests.is_empty() || table.repetitions > 0 {
        if rt
            .interrupts
            .finished
            .wait_until(&mut table, deadline)
            .timed_out()
        {
            eprintln!("ducktape: tests still tearing down after {FINISHING_WAIT:?}; exiting");
            break;
        }
    }
    drop(table);
    rt.flush_reports();
}

fn interrupt_one(rt: &Runtime, r: &Running, signal: &str) {
    let summary = format!("interrupted by {signal}");
    r.span
        .in_scope(|| tracing::error!("{summary}: tearing down"));
    let (services, teardown_problems) = r.span.in_scope(|| teardown(rt, &r.ctx, false));
    let attempt = Attempt {
        outcome: Outcome::Failed,
        summary: summary.clone(),
        data: serde_json::Value::Null,
        nodes_allocated: r.nodes_allocated,
        nodes_used: r.ctx.cluster().max_used(),
        services,
        faults: r.ctx.faults().records(),
        start: r.start,
        stop: unix_now(),
        teardown_problems,
        nodes: Vec::new(),
    };
    let rec = record(
        &r.case,
        &r.rel,
        Status::Fail,
        summary,
        Some(attempt),
        0.0,
        1,
    );
    rt.report(&r.dir, &rec);
}
