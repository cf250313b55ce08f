//! Ctrl-C and SIGTERM (what nextest sends on a timeout): every running test
//! is torn down (services stopped, logs collected, nodes cleaned and freed)
//! and reported as interrupted before the process exits. A second signal
//! exits at once.

use super::trial::{record, teardown, unix_now, Attempt};
use super::Runtime;
use crate::context::TestContext;
use crate::mark::TestCase;
use crate::report::record::Status;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

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

/// The running tests, so a signal can finish them off. Whoever removes a
/// test from the table (its own thread or the signal handler) tears it down.
#[derive(Default)]
pub(crate) struct Interrupts {
    running: Mutex<HashMap<u64, Running>>,
    next: AtomicU64,
}

/// A registration ticket.
pub(crate) struct Ticket(u64);

impl Interrupts {
    pub(crate) fn register(&self, running: Running) -> Ticket {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.running.lock().insert(id, running);
        Ticket(id)
    }

    /// Claims the test back for normal teardown; `false` if a signal
    /// handler already took it.
    pub(crate) fn finish(&self, ticket: Ticket) -> bool {
        self.running.lock().remove(&ticket.0).is_some()
    }
}

/// Installs the handlers. The runtime is held weakly: once the run is over
/// there is nothing to tear down.
pub(crate) fn install(rt: Weak<Runtime>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("ducktape-signals".into())
        .spawn(move || {
            let mut first = true;
            for sig in signals.forever() {
                let code = 128 + sig;
                if !first {
                    eprintln!("ducktape: second signal, exiting now");
                    std::process::exit(code);
                }
                first = false;
                let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
                eprintln!("ducktape: {name}: tearing down running tests (again to exit now)");
                let rt = rt.clone();
                // Teardown runs on its own thread so a second signal is
                // still heard while services stop.
                std::thread::spawn(move || {
                    if let Some(rt) = rt.upgrade() {
                        interrupt_all(&rt, name);
                    }
                    std::process::exit(code);
                });
            }
        })?;
    Ok(())
}

fn interrupt_all(rt: &Arc<Runtime>, signal: &str) {
    let running: Vec<Running> = rt
        .interrupts
        .running
        .lock()
        .drain()
        .map(|(_, r)| r)
        .collect();
    std::thread::scope(|s| {
        for r in &running {
            s.spawn(move || interrupt_one(rt, r, signal));
        }
    });
}

fn interrupt_one(rt: &Runtime, r: &Running, signal: &str) {
    let summary = format!("interrupted by {signal}");
    r.span
        .in_scope(|| tracing::error!("{summary}: tearing down"));
    let services = r.span.in_scope(|| teardown(rt, &r.ctx, false));
    let attempt = Attempt {
        passed: false,
        summary: summary.clone(),
        data: serde_json::Value::Null,
        nodes_allocated: r.nodes_allocated,
        nodes_used: r.ctx.cluster().max_used(),
        services,
        faults: r.ctx.faults().records(),
        start: r.start,
        stop: unix_now(),
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
