//! Work under a time limit: a job runs on a pooled thread, in the caller's
//! tracing span, with its panic caught, and the caller waits for it at most
//! so long. This is how a test body, each teardown step and a local
//! command's wait are bounded.
//!
//! Threads are reused from one job to the next, so a trivial test pays no
//! thread spawn. A job that overruns its limit keeps its thread (a thread
//! cannot be killed) and the pool starts another when none is idle, so an
//! abandoned job never delays the next one.

use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    slot: Arc<Slot<std::thread::Result<T>>>,
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
        match self.slot.take() {
            Some(Ok(value)) => Ok(value),
            Some(Err(panic)) => Err(panic_message(&*panic)),
            None => Err(format!("{} ended without a result", self.name)),
        }
    }

    /// Waits at most `limit` for the job to end.
    pub(crate) fn wait(self, limit: Duration) -> Ended<T> {
        let taken = match Instant::now().checked_add(limit) {
            Some(deadline) => self.slot.take_until(deadline),
            // Too far to name: as good as forever.
            None => self.slot.take(),
        };
        match taken {
            Some(Ok(value)) => Ended::Finished(value),
            Some(Err(panic)) => Ended::Panicked(panic_message(&*panic)),
            // Jobs catch their own panics, so this takes a panic while
            // dropping a panic's payload: rare, but not a hang.
            None if self.slot.is_closed() => {
                Ended::Panicked(format!("{} ended without a result", self.name))
            }
            None => Ended::TimedOut,
        }
    }
}

/// One value handed from one thread to another. A wait parks the thread
/// at once: `crossbeam_channel`'s waits spin and yield first, which on a
/// busy machine takes the core from the thread being waited for (in the
/// unoptimized test profile, ~10% of a no-op test's time under `cargo
/// test`, where every body and every idle pooled thread waits so).
struct Slot<T> {
    /// The value, and whether none will come.
    state: Mutex<(Option<T>, bool)>,
    changed: Condvar,
}

impl<T> Slot<T> {
    fn new() -> Self {
        Slot {
            state: Mutex::new((None, false)),
            changed: Condvar::new(),
        }
    }

    /// Hands the value over (a slot carries one at a time).
    fn put(&self, value: T) {
        self.state.lock().0 = Some(value);
        self.changed.notify_one();
    }

    /// No value will come: its sender is gone.
    fn close(&self) {
        self.state.lock().1 = true;
        self.changed.notify_one();
    }

    fn is_closed(&self) -> bool {
        self.state.lock().1
    }

    /// The value, once there; `None` if the slot closed without one.
    fn take(&self) -> Option<T> {
        let mut state = self.state.lock();
        loop {
            if let Some(value) = state.0.take() {
                return Some(value);
            }
            if state.1 {
                return None;
            }
            self.changed.wait(&mut state);
        }
    }

    /// The value, if there by `deadline`; `None` if not, or if the slot
    /// closed without one.
    fn take_until(&self, deadline: Instant) -> Option<T> {
        let mut state = self.state.lock();
        loop {
            if let Some(value) = state.0.take() {
                return Some(value);
            }
            if state.1 || self.changed.wait_until(&mut state, deadline).timed_out() {
                return state.0.take();
            }
        }
    }
}

/// Closes a [`Slot`] when dropped, so a job that never puts its value
/// (its thread died) does not leave the waiter waiting.
struct Closer<T>(Arc<Slot<T>>);

impl<T> Drop for Closer<T> {
    fn drop(&mut self) {
        self.0.close();
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
    let slot = Arc::new(Slot::new());
    let closer = Closer(slot.clone());
    // The caller's subscriber as well as its span (see `remote::fan_out`).
    let dispatch = tracing::dispatcher::get_default(|d| d.clone());
    let span = tracing::Span::current();
    workers::run(Box::new(move || {
        // A panic resumed with `resume_unwind` calls no hook: not an old one's place.
        LAST_PANIC.set(None);
        let r = tracing::dispatcher::with_default(&dispatch, || {
            span.in_scope(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)))
        })
        .map_err(located);
        // The caller may have stopped waiting: nobody to tell.
        closer.0.put(r);
    }))
    .map_err(|e| std::io::Error::new(e.kind(), format!("cannot start a thread for {name}: {e}")))?;
    Ok(Pending {
        name: name.to_string(),
        slot,
    })
}

thread_local! {
    /// Where this thread last panicked, noted by [`note_panic_locations`]'s
    /// hook: a caught panic's payload does not say.
    static LAST_PANIC: std::cell::Cell<Option<String>> = const { std::cell::Cell::new(None) };
}

/// Installs, once, a panic hook that notes where each panic happened for
/// [`start`]'s jobs (so a test's failure says `at tests/x.rs:15:14`), then
/// calls the hook that was there before (by default Rust's, which prints
/// the panic on stderr).
pub(crate) fn note_panic_locations() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(at) = info.location() {
                LAST_PANIC.set(Some(format!("{}:{}:{}", at.file(), at.line(), at.column())));
            }
            previous(info);
        }));
    });
}

/// The payload of a panic caught on this thread, its message followed by
/// where it happened when the hook noted it.
fn located(panic: Box<dyn std::any::Any + Send>) -> Box<dyn std::any::Any + Send> {
    match LAST_PANIC.take() {
        Some(at) => Box::new(format!("{} (at {at})", panic_message(&*panic))),
        None => panic,
    }
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
    use super::Slot;
    use parking_lot::Mutex;
    use std::sync::Arc;

    type Job = Box<dyn FnOnce() + Send>;

    /// Idle workers, each waiting on its own slot for one job.
    static IDLE: Mutex<Vec<Arc<Slot<Job>>>> = Mutex::new(Vec::new());

    /// Most workers kept idle: a burst of long jobs (services' spawner
    /// threads, abandoned bodies) must not leave as many threads parked
    /// for the rest of the run.
    const MAX_IDLE: usize = 64;

    /// Runs `job` on an idle worker, or on a new one. Jobs catch their own
    /// panics (see [`super::start`]), so a worker that finishes a job is
    /// always fit for the next.
    pub(super) fn run(job: Job) -> std::io::Result<()> {
        // Popped apart from the hand-over, so the lock is not held while a
        // job changes hands. An idle worker waits on its slot until given
        // a job: it is never gone.
        let idle = IDLE.lock().pop();
        if let Some(worker) = idle {
            worker.put(job);
            return Ok(());
        }
        let slot = Arc::new(Slot::new());
        std::thread::Builder::new()
            .name("ducktape-worker".into())
            .spawn(move || {
                let mut next = Some(job);
                while let Some(job) = next.take() {
                    job();
                    {
                        let mut idle = IDLE.lock();
                        if idle.len() >= MAX_IDLE {
                            // Enough spares: this thread ends.
                            return;
                        }
                        idle.push(slot.clone());
                    }
                    next = slot.take();
                }
            })?;
        Ok(())
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
        // With the hook of `a_panic_says_where_it_happened`, the place follows.
        assert!(
            matches!(&r, Ended::Panicked(m) if m == "boom 7" || m.starts_with("boom 7 (at src/deadline.rs:")),
            "{r:?}"
        );
        let (tx, rx) = crossbeam_channel::bounded::<()>(0);
        let r = run_with_deadline("hang", Duration::from_millis(20), move || rx.recv()).unwrap();
        assert!(matches!(r, Ended::TimedOut), "{r:?}");
        drop(tx); // lets the abandoned job end
    }

    #[test]
    fn a_panic_says_where_it_happened() {
        note_panic_locations();
        let before = line!();
        let r = run_with_deadline("boom", Duration::from_secs(5), || -> () { panic!("boom") });
        let at = |m: &str| -> Option<u32> {
            let rest = m.strip_prefix("boom (at src/deadline.rs:")?;
            rest.split(':').next()?.parse().ok()
        };
        let line = match r {
            Ok(Ended::Panicked(m)) => at(&m),
            _ => None,
        };
        assert_eq!(line, Some(before + 1));
        // The next job's result is its own, whatever the last one did.
        let r = run_with_deadline("add", Duration::from_secs(5), || 1 + 1).unwrap();
        assert!(matches!(r, Ended::Finished(2)), "{r:?}");
    }

    #[test]
    fn a_slot_hands_over_one_value_and_a_closed_one_ends_the_wait() {
        let slot = Arc::new(Slot::new());
        let soon = || Instant::now() + Duration::from_millis(20);
        assert_eq!(slot.take_until(soon()), None, "nothing put: times out");
        let sender = slot.clone();
        let put = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sender.put(7);
        });
        assert_eq!(slot.take(), Some(7), "a wait that starts first gets it");
        put.join().unwrap();
        slot.put(8);
        assert_eq!(slot.take_until(soon()), Some(8), "a value already there");
        assert_eq!(slot.take_until(soon()), None, "taken once");
        // A job whose thread dies before its result: the waiter is told.
        let closer = Closer(slot.clone());
        let dies = std::thread::spawn(move || {
            let _closer = closer;
            std::thread::sleep(Duration::from_millis(20));
        });
        let far = Instant::now() + Duration::from_secs(60);
        let started = Instant::now();
        assert_eq!(slot.take_until(far), None);
        assert!(slot.is_closed());
        assert!(started.elapsed() < Duration::from_secs(30), "not woken");
        assert_eq!(slot.take(), None);
        dies.join().unwrap();
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
