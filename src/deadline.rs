//! Work under a time limit: a job runs on a pooled thread, in the caller's
//! tracing span, with its panic caught, and the caller waits for it at most
//! so long. This is how a test body, each teardown step and a local
//! command's wait are bounded.
//!
//! Threads are reused from one job to the next, so a trivial test pays no
//! thread spawn. A job that overruns its limit keeps its thread (a thread
//! cannot be killed) and the pool starts another when none is idle, so an
//! abandoned job never delays the next one.

use std::time::Duration;

/// How a job run under a limit ended.
#[derive(Debug)]
pub(crate) enum Ended<T> {
    /// It returned this.
    Finished(T),
    /// It panicked with this message.
    Panicked(String),
    /// It ran past the limit and was abandoned; it may still run.
    TimedOut,
}

/// A job started on the pool, whose end is awaited with [`Pending::wait`].
/// Dropping it abandons the job's result, not the job.
pub(crate) struct Pending<T> {
    name: String,
    rx: crossbeam_channel::Receiver<std::thread::Result<T>>,
}

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pending({})", self.name)
    }
}

impl<T> Pending<T> {
    /// Waits for the job to end, however long it takes; `Err` is its
    /// panic's message.
    pub(crate) fn join(self) -> Result<T, String> {
        match self.rx.recv() {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => Err(panic_message(&*panic)),
            Err(_) => Err(format!("{} ended without a result", self.name)),
        }
    }

    /// Waits at most `limit` for the job to end.
    pub(crate) fn wait(self, limit: Duration) -> Ended<T> {
        match self.rx.recv_timeout(limit) {
            Ok(Ok(value)) => Ended::Finished(value),
            Ok(Err(panic)) => Ended::Panicked(panic_message(&*panic)),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Ended::TimedOut,
            // Jobs catch their own panics, so this takes a panic while
            // dropping a panic's payload: rare, but not a hang.
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                Ended::Panicked(format!("{} ended without a result", self.name))
            }
        }
    }
}

/// Runs `job` on the pool and waits at most `limit` for it. `Err` only when
/// no thread could be started for it; `name` says what the job is in that
/// error (`"the test body"`).
pub(crate) fn run_with_deadline<T: Send + 'static>(
    name: &str,
    limit: Duration,
    job: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<Ended<T>> {
    Ok(start(name, job)?.wait(limit))
}

/// Starts `job` on the pool, in the caller's span, and returns at once.
pub(crate) fn start<T: Send + 'static>(
    name: &str,
    job: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<Pending<T>> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    // The caller's subscriber as well as its span (see `remote::fan_out`).
    let dispatch = tracing::dispatcher::get_default(|d| d.clone());
    let span = tracing::Span::current();
    workers::run(Box::new(move || {
        let r = tracing::dispatcher::with_default(&dispatch, || {
            span.in_scope(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)))
        });
        // The caller may have stopped waiting: nobody to tell.
        let _ = tx.send(r);
    }))
    .map_err(|e| std::io::Error::new(e.kind(), format!("cannot start a thread for {name}: {e}")))?;
    Ok(Pending {
        name: name.to_string(),
        rx,
    })
}

/// A panic's message, when it has one (`panic!` with a string).
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

/// The pooled threads.
mod workers {
    use parking_lot::Mutex;

    type Job = Box<dyn FnOnce() + Send>;

    /// Idle workers, each waiting on its own channel for one job.
    static IDLE: Mutex<Vec<crossbeam_channel::Sender<Job>>> = Mutex::new(Vec::new());

    /// Most workers kept idle: a burst of long jobs (services' spawner
    /// threads, abandoned bodies) must not leave as many threads parked
    /// for the rest of the run.
    const MAX_IDLE: usize = 64;

    /// Runs `job` on an idle worker, or on a new one. Jobs catch their own
    /// panics (see [`super::start`]), so a worker that finishes a job is
    /// always fit for the next.
    pub(super) fn run(job: Job) -> std::io::Result<()> {
        let mut job = job;
        loop {
            // Popped apart from the send, so the lock is not held while a
            // job changes hands.
            let Some(worker) = IDLE.lock().pop() else {
                break;
            };
            match worker.send(job) {
                Ok(()) => return Ok(()),
                Err(returned) => job = returned.0,
            }
        }
        let (tx, rx) = crossbeam_channel::bounded::<Job>(1);
        let me = tx.clone();
        std::thread::Builder::new()
            .name("ducktape-worker".into())
            .spawn(move || {
                for job in rx.iter() {
                    job();
                    let mut idle = IDLE.lock();
                    if idle.len() >= MAX_IDLE {
                        // Enough spares: this thread ends (dropping `me`
                        // ends `rx.iter()` after this job).
                        return;
                    }
                    idle.push(me.clone());
                }
            })?;
        // The new worker is not idle yet: it receives this job first.
        tx.send(job)
            .map_err(|_| std::io::Error::other("the worker thread ended"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_finishes_panics_or_times_out() {
        let r = run_with_deadline("add", Duration::from_secs(5), || 1 + 1).unwrap();
        assert!(matches!(r, Ended::Finished(2)), "{r:?}");
        let r = run_with_deadline("boom", Duration::from_secs(5), || -> () {
            panic!("boom {}", 7)
        })
        .unwrap();
        assert!(matches!(&r, Ended::Panicked(m) if m == "boom 7"), "{r:?}");
        let (tx, rx) = crossbeam_channel::bounded::<()>(0);
        let r = run_with_deadline("hang", Duration::from_millis(20), move || rx.recv()).unwrap();
        assert!(matches!(r, Ended::TimedOut), "{r:?}");
        drop(tx); // lets the abandoned job end
    }

    #[test]
    fn threads_are_reused_and_the_span_is_carried() {
        let first = run_with_deadline("id", Duration::from_secs(5), || std::thread::current().id());
        let second =
            run_with_deadline("id", Duration::from_secs(5), || std::thread::current().id());
        // Other tests use the pool at the same time: the same thread is
        // likely, not certain; what must hold is that no job runs on the
        // caller's thread.
        for r in [first, second] {
            match r.unwrap() {
                Ended::Finished(id) => assert_ne!(id, std::thread::current().id()),
                other => panic!("{other:?}"),
            }
        }
        tracing::subscriber::with_default(crate::logging::quiet(), || {
            let span = tracing::info_span!("outer");
            let inside = span.in_scope(|| {
                run_with_deadline("span", Duration::from_secs(5), || {
                    let current = tracing::Span::current();
                    (current.metadata().map(|m| m.name()), current.id())
                })
            });
            match inside.unwrap() {
                Ended::Finished((name, id)) => {
                    assert_eq!(name, Some("outer"));
                    assert!(id.is_some() && id == span.id());
                }
                other => panic!("{other:?}"),
            }
        });
    }
}
