//! Progress on the console while tests run: a live status line on a
//! terminal, a periodic status line otherwise, and SLOW notices for tests
//! running past `--slow-timeout`.
//!
//! libtest's stdout (`test NAME ... ok`, or its JSON) must stay whole: IDEs
//! and nextest parse it. So:
//! - when stderr is a terminal, the status lives on its bottom row, kept out
//!   of the scroll region (apt's approach), and every redraw is one
//!   `write()` that saves the cursor, draws, and restores it: a line libtest
//!   has half written (`test NAME ... ` with one thread) goes on where it was;
//! - otherwise status and SLOW notices are whole lines on stderr. With one
//!   test thread libtest prints `test NAME ... ` before the test runs and
//!   `ok` after, and a line in between would split it when stdout and stderr
//!   share a pipe (`2>&1 | tee`).
//!
//! So with one test thread (ducktape's default, `--max-parallel 1`) libtest
//! gets two, and the trials take [`Turn`]s, in order: libtest prints each
//! line whole when its test ends, as it does with several threads. A turn
//! has two steps. Trial N+1 runs its test (nodes, body, teardown) once
//! trial N's test has run and its nodes are free, while trial N writes its
//! results; N+1 then writes its own after N's. Tests still run one at a
//! time and results are written in their order, but writing results (half
//! of a short test's time or more, mostly the disk's) overlaps the next test.
//!
//! Under nextest (one process per test, its own SLOW notices) nothing is
//! printed; a SLOW test still gets a WARN in its own log.
//!
//! The process's one background thread, which also waits for signals (see
//! `interrupt.rs`), calls [`Progress::tick`] on a timer: it reads counters
//! and the table of running tests (as many as run at once), so a test's
//! hooks cost an atomic add and a map insert and remove, whatever the
//! suite's size. Sharing that thread saves a thread's start and end in
//! every nextest process (one per test).

use crate::cli::{Format, Options};
use libtest_mimic::{Completion, Failed};
use parking_lot::{Condvar, Mutex};
use std::cell::Cell;
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where progress goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A live line on the bottom row of the terminal on stderr.
    Terminal,
    /// Whole lines on stderr: a status every `--status-interval`, and SLOW.
    Lines,
    /// Only the SLOW notice in the test's log (nextest, `--quiet`, a terse
    /// format whose dots a line would split, or everything turned off).
    LogOnly,
}

/// The console's progress for one test process.
pub(crate) struct Progress {
    shared: Arc<Shared>,
    mode: Mode,
    /// `--status-interval`; zero: no status.
    interval: Duration,
    /// `--slow-timeout`; zero: no SLOW notices.
    slow: Duration,
    /// Trials take turns (see the module's documentation).
    ordered: bool,
}

/// What the hooks update and the ticks read.
#[derive(Default)]
struct Shared {
    total: AtomicUsize,
    passed: AtomicUsize,
    failed: AtomicUsize,
    ignored: AtomicUsize,
    next_id: AtomicU64,
    running: Mutex<HashMap<u64, Running>>,
    /// While progress is shown: since when, and when the next status line
    /// is due. A tick holds the lock while it draws, so once
    /// [`Shown`] has dropped nothing more is drawn.
    clock: Mutex<Option<Clock>>,
    /// Whose turn it is, when trials take turns.
    turn: Mutex<Turns>,
    turn_passed: Condvar,
}

/// The trials whose turn it is (indices in run order): `run` may run its
/// test, `report` may write its results. `report <= run`.
#[derive(Default)]
struct Turns {
    run: usize,
    report: usize,
}

/// The clock of progress being shown.
struct Clock {
    start: Instant,
    next_status: Instant,
}

/// A test whose body runs.
struct Running {
    name: String,
    nodes: Vec<String>,
    since: Instant,
    /// When its next SLOW notice is due.
    slow_at: Instant,
    span: tracing::Span,
}

impl Progress {
    /// Decides where progress goes from the options and the environment.
    pub(crate) fn new(o: &Options) -> Self {
        let nextest = std::env::var_os("NEXTEST").is_some();
        let interval = Duration::from_secs(o.status_interval);
        let slow = Duration::from_secs(o.slow_timeout);
        let terse = o.quiet || o.format == Some(Format::Terse);
        let pretty = matches!(o.format, None | Some(Format::Pretty));
        let mode = if nextest || terse || (interval.is_zero() && slow.is_zero()) {
            Mode::LogOnly
        } else if !interval.is_zero() && pretty && terminal::usable() {
            // Not for JSON: whoever reads it may show stderr in a console
            // that moves no cursor.
            Mode::Terminal
        } else {
            Mode::Lines
        };
        let threads = o.test_threads.unwrap_or(o.max_parallel);
        Progress {
            shared: Arc::default(),
            mode,
            interval,
            slow,
            // Not for JSON, whose readers may expect each test's `started`
            // event before it runs.
            ordered: !nextest && (pretty || o.format == Some(Format::Terse)) && threads == 1,
        }
    }

    /// The threads libtest-mimic gets for `threads` test threads: two when
    /// the trials take turns, so it prints each line whole (even a single
    /// trial's, run from an IDE with stdout and stderr in one console) and
    /// a trial's results are written while the next runs.
    pub(crate) fn libtest_threads(&self, threads: usize) -> usize {
        if self.ordered {
            2
        } else {
            threads
        }
    }

    /// How often [`Progress::tick`] should be called: often enough for a
    /// live line's seconds and for short thresholds, at most once a second
    /// otherwise; `None` when nothing is ever shown or noted.
    pub(crate) fn tick_period(&self) -> Option<Duration> {
        if self.mode == Mode::LogOnly && self.slow.is_zero() {
            return None;
        }
        let live = if self.mode == Mode::Terminal {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(1)
        };
        let period = [self.interval / 4, self.slow / 4]
            .into_iter()
            .filter(|d| !d.is_zero())
            .fold(live, Duration::min)
            .max(Duration::from_millis(50));
        Some(period)
    }

    /// Starts showing progress for `total` trials; it stops, and the
    /// terminal is restored, when the guard drops.
    pub(crate) fn show(&self, total: usize) -> Shown {
        self.shared.total.store(total, Ordering::Relaxed);
        if self.tick_period().is_none() {
            return Shown(None);
        }
        if self.mode == Mode::Terminal {
            terminal::reserve();
        }
        let start = Instant::now();
        *self.shared.clock.lock() = Some(Clock {
            start,
            next_status: start + self.interval,
        });
        Shown(Some(self.shared.clone()))
    }

    /// One tick of the timer while progress is shown: SLOW notices, then
    /// the live line or a status line due.
    pub(crate) fn tick(&self) {
        let mut clock = self.shared.clock.lock();
        let Some(clock) = clock.as_mut() else {
            return;
        };
        let now = Instant::now();
        let slow = self.slow_notices(now);
        match self.mode {
            Mode::Terminal => terminal::draw(&self.status(clock.start, now)),
            Mode::Lines => {
                let mut lines: String = slow.iter().map(|s| self.slow_line(s)).collect();
                if !self.interval.is_zero() && now >= clock.next_status {
                    clock.next_status += self.interval;
                    lines += &format!("ducktape: {}\n", self.status(clock.start, now));
                }
                // One write, so parallel tests' lines never split it.
                let _ = std::io::stderr().lock().write_all(lines.as_bytes());
            }
            Mode::LogOnly => {}
        }
    }

    /// Waits for trial `index`'s turn to run its test, when trials take
    /// turns; see [`Turn`] for how it passes on.
    pub(crate) fn turn(&self, index: usize) -> Option<Turn<'_>> {
        if !self.ordered {
            return None;
        }
        let mut turns = self.shared.turn.lock();
        while turns.run < index {
            self.shared.turn_passed.wait(&mut turns);
        }
        Some(Turn {
            shared: &self.shared,
            index,
            ran: Cell::new(false),
        })
    }

    /// A test's body starts: it is shown as running, and reported SLOW
    /// past `--slow-timeout`, until the guard drops.
    pub(crate) fn running(&self, name: &str, nodes: &[String], span: &tracing::Span) -> Watch<'_> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let since = Instant::now();
        let test = Running {
            name: name.to_string(),
            nodes: nodes.to_vec(),
            since,
            slow_at: since + self.slow,
            span: span.clone(),
        };
        self.shared.running.lock().insert(id, test);
        Watch(&self.shared, id)
    }

    /// Counts a finished trial.
    pub(crate) fn done(&self, result: &Result<Completion, Failed>) {
        let counter = match result {
            Ok(Completion::Completed) => &self.shared.passed,
            Ok(Completion::Ignored { .. }) => &self.shared.ignored,
            Err(_) => &self.shared.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Progress being shown; dropping it stops the ticks and restores the
/// terminal.
pub(crate) struct Shown(Option<Arc<Shared>>);

impl Drop for Shown {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            // Waits for a tick drawing now: none draws after this.
            *shared.clock.lock() = None;
        }
        terminal::release();
    }
}

/// A trial's turn. The next trial may run its test after [`Turn::ran`]
/// (or the drop, also on a panic), and write its results after the drop.
pub(crate) struct Turn<'a> {
    shared: &'a Shared,
    index: usize,
    ran: Cell<bool>,
}

impl Turn<'_> {
    /// This trial's test has run and its nodes are free: the next trial
    /// may run its test. Returns once this trial may write its results
    /// (the trial before has written its own).
    pub(crate) fn ran(&self) {
        if self.ran.replace(true) {
            return;
        }
        let mut turns = self.shared.turn.lock();
        turns.run = self.index + 1;
        self.shared.turn_passed.notify_all();
        self.wait_to_write(&mut turns);
    }

    /// Returns once this trial may write its results: the trial before has
    /// written its own. The next trial may not run yet (an earlier
    /// repetition of this one writes its results this way).
    pub(crate) fn may_write(&self) {
        self.wait_to_write(&mut self.shared.turn.lock());
    }

    /// Waits, under the turns' lock, until the trial before has written.
    fn wait_to_write(&self, turns: &mut parking_lot::MutexGuard<'_, Turns>) {
        while turns.report < self.index {
            self.shared.turn_passed.wait(turns);
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.ran();
        self.shared.turn.lock().report = self.index + 1;
        self.shared.turn_passed.notify_all();
    }
}

/// A running test's entry in the table; removed when it drops.
pub(crate) struct Watch<'a>(&'a Shared, u64);

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        self.0.running.lock().remove(&self.1);
    }
}

/// Restores the terminal if a status line is drawn: for paths that end the
/// process without unwinding (a signal's `exit`).
pub(crate) fn restore_terminal() {
    terminal::release();
}

/// A SLOW notice: the test, its nodes and how long it has run.
struct Slow {
    name: String,
    nodes: Vec<String>,
    elapsed: Duration,
}

impl Progress {
    /// The tests past their SLOW time, each noted once more in its own log
    /// and due again an interval later.
    fn slow_notices(&self, now: Instant) -> Vec<Slow> {
        if self.slow.is_zero() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for t in self.shared.running.lock().values_mut() {
            if now < t.slow_at {
                continue;
            }
            t.slow_at = now + self.slow;
            let elapsed = now - t.since;
            t.span.in_scope(|| {
                tracing::warn!(
                    target: crate::logging::FILE_ONLY,
                    "SLOW: running for {} (--slow-timeout {})",
                    secs(elapsed),
                    self.slow.as_secs()
                )
            });
            out.push(Slow {
                name: t.name.clone(),
                nodes: t.nodes.clone(),
                elapsed,
            });
        }
        out
    }

    fn slow_line(&self, s: &Slow) -> String {
        let nodes = if s.nodes.is_empty() {
            "no nodes".to_string()
        } else {
            format!("nodes {}", s.nodes.join(" "))
        };
        format!(
            "ducktape: SLOW {} ({nodes}): running for {} (--slow-timeout {})\n",
            s.name,
            secs(s.elapsed),
            self.slow.as_secs()
        )
    }

    /// `3/10 done: 2 passed, 1 failed, 0 ignored; 12s elapsed, ETA 28s;
    /// running a::b 5s`: the longest running first, SLOW past the timeout.
    fn status(&self, start: Instant, now: Instant) -> String {
        let s = &self.shared;
        let (passed, failed, ignored) = (
            s.passed.load(Ordering::Relaxed),
            s.failed.load(Ordering::Relaxed),
            s.ignored.load(Ordering::Relaxed),
        );
        let (done, total) = (passed + failed + ignored, s.total.load(Ordering::Relaxed));
        let elapsed = now - start;
        let mut text = format!(
            "{done}/{total} done: {passed} passed, {failed} failed, {ignored} ignored; {} elapsed",
            secs(elapsed)
        );
        if done > 0 && done < total {
            let eta = elapsed.mul_f64((total - done) as f64 / done as f64);
            text += &format!(", ETA {}", secs(eta));
        }
        let mut running: Vec<(String, Duration, String)> = s
            .running
            .lock()
            .values()
            .map(|t| (t.name.clone(), now - t.since, t.nodes.join(" ")))
            .collect();
        running.sort_by_key(|r| std::cmp::Reverse(r.1));
        const SHOWN: usize = 3;
        for (i, (name, d, nodes)) in running.iter().take(SHOWN).enumerate() {
            text += if i == 0 { "; running " } else { ", " };
            if !self.slow.is_zero() && *d >= self.slow {
                text += &format!("SLOW {name}");
                if !nodes.is_empty() {
                    text += &format!(" [{nodes}]");
                }
            } else {
                text += name;
            }
            text += &format!(" {}", secs(*d));
        }
        if running.len() > SHOWN {
            text += &format!(" and {} more", running.len() - SHOWN);
        }
        crate::text::escape_controls(&text)
    }
}

/// `42s`, `3m05s`, `2h07m`.
fn secs(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// The reserved bottom row of the terminal on stderr.
mod terminal {
    use parking_lot::Mutex;
    use std::io::Write as _;

    /// The rows and columns the status row was reserved for; `None` when no
    /// row is reserved. Drawing and releasing hold the lock, so nothing is
    /// drawn after the terminal is restored.
    static RESERVED: Mutex<Option<(u16, u16)>> = Mutex::new(None);

    /// Whether stderr is a terminal a status row can be drawn on.
    pub(super) fn usable() -> bool {
        // SAFETY: isatty only reads the descriptor's state.
        let tty = unsafe { libc::isatty(libc::STDERR_FILENO) } == 1;
        tty && std::env::var("TERM").is_ok_and(|t| t != "dumb") && size().is_some()
    }

    /// The terminal's rows and columns, if it has room for a status row.
    fn size() -> Option<(u16, u16)> {
        // SAFETY: TIOCGWINSZ fills the zeroed winsize it is given.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
        (ok && ws.ws_row >= 3 && ws.ws_col >= 20).then_some((ws.ws_row, ws.ws_col))
    }

    /// Keeps the scroll region off the bottom row. Index (ESC D) first, so
    /// a cursor on the last row moves up with its text, keeping its column
    /// (libtest may have half a line there); DECSTBM homes the cursor, so it
    /// is saved and restored around it.
    fn reserve_seq(rows: u16) -> String {
        format!("\x1bD\x1b7\x1b[1;{}r\x1b8\x1b[A", rows - 1)
    }

    /// Gives the whole screen back to scrolling and erases from the cursor
    /// down: below where output goes there is only the status row (on a
    /// terminal that keeps its bottom rows on resize) or blank rows and the
    /// status row (on one that adds or removes rows at the bottom).
    const RELEASE: &str = "\x1b7\x1b[r\x1b8\x1b[J";

    fn write(seq: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(seq.as_bytes());
        let _ = err.flush();
    }

    pub(super) fn reserve() {
        let mut reserved = RESERVED.lock();
        if let (None, Some(size)) = (*reserved, size()) {
            write(&reserve_seq(size.0));
            *reserved = Some(size);
        }
    }

    /// Draws `text` on the bottom row, first following a resize: the old
    /// row is blanked and the region set for the new size.
    pub(super) fn draw(text: &str) {
        let mut reserved = RESERVED.lock();
        let (Some(old), Some(size)) = (*reserved, size()) else {
            return;
        };
        let mut seq = String::new();
        if size != old {
            // A terminal resets the region on resize, and may have moved
            // the status row.
            seq += RELEASE;
            seq += &reserve_seq(size.0);
            *reserved = Some(size);
        }
        let shown: String = text.chars().take(usize::from(size.1) - 1).collect();
        seq += &format!("\x1b7\x1b[{};1H\x1b[2K{shown}\x1b8", size.0);
        write(&seq);
    }

    pub(super) fn release() {
        let mut reserved = RESERVED.lock();
        if reserved.take().is_some() {
            write(RELEASE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_seconds_minutes_and_hours() {
        assert_eq!(secs(Duration::from_millis(42_900)), "42s");
        assert_eq!(secs(Duration::from_secs(185)), "3m05s");
        assert_eq!(secs(Duration::from_secs(7620)), "2h07m");
    }

    /// Progress printing lines, with a status every 30 s and SLOW past 60 s.
    fn lines(total: usize) -> Progress {
        let p = Progress {
            shared: Arc::default(),
            mode: Mode::Lines,
            interval: Duration::from_secs(30),
            slow: Duration::from_secs(60),
            ordered: false,
        };
        p.shared.total.store(total, Ordering::Relaxed);
        p
    }

    #[test]
    fn the_status_counts_estimates_and_names_the_longest_running_tests() {
        let t = lines(10);
        let start = Instant::now() - Duration::from_secs(20);
        t.shared.passed.store(3, Ordering::Relaxed);
        t.shared.failed.store(1, Ordering::Relaxed);
        let now = Instant::now();
        for (i, age) in [5u64, 50, 1, 9, 2].into_iter().enumerate() {
            t.shared.running.lock().insert(
                i as u64,
                Running {
                    name: format!("m::t{i}"),
                    nodes: Vec::new(),
                    since: now - Duration::from_secs(age),
                    slow_at: now + Duration::from_secs(60),
                    span: tracing::Span::none(),
                },
            );
        }
        let text = t.status(start, now);
        assert!(
            text.starts_with("4/10 done: 3 passed, 1 failed, 0 ignored; 20s elapsed, ETA 30s"),
            "{text}"
        );
        assert!(
            text.ends_with("; running m::t1 50s, m::t3 9s, m::t0 5s and 2 more"),
            "{text}"
        );
        let mut running = t.shared.running.lock();
        let slow = running.get_mut(&1).unwrap();
        slow.since = now - Duration::from_secs(61);
        slow.nodes = vec!["worker1".into(), "worker2".into()];
        drop(running);
        let text = t.status(start, now);
        assert!(
            text.ends_with(
                "; running SLOW m::t1 [worker1 worker2] 1m01s, m::t3 9s, m::t0 5s and 2 more"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_test_past_the_slow_timeout_is_noted_once_per_interval() {
        let t = lines(1);
        let now = Instant::now();
        t.shared.running.lock().insert(
            7,
            Running {
                name: "m::slow".into(),
                nodes: vec!["worker1".into()],
                since: now - Duration::from_secs(61),
                slow_at: now - Duration::from_secs(1),
                span: tracing::Span::none(),
            },
        );
        let first = t.slow_notices(now);
        assert_eq!(first.len(), 1);
        assert_eq!(
            t.slow_line(&first[0]),
            "ducktape: SLOW m::slow (nodes worker1): running for 1m01s (--slow-timeout 60)\n"
        );
        assert!(t.slow_notices(now + Duration::from_secs(59)).is_empty());
        assert_eq!(t.slow_notices(now + Duration::from_secs(60)).len(), 1);
    }

    #[test]
    fn ticks_note_slow_tests_only_while_progress_is_shown() {
        let p = Progress {
            mode: Mode::LogOnly,
            ..lines(1)
        };
        assert_eq!(p.tick_period(), Some(Duration::from_secs(1)));
        let now = Instant::now();
        let due = now - Duration::from_secs(1);
        p.shared.running.lock().insert(
            1,
            Running {
                name: "m::slow".into(),
                nodes: Vec::new(),
                since: now - Duration::from_secs(61),
                slow_at: due,
                span: tracing::Span::none(),
            },
        );
        let slow_at = || p.shared.running.lock()[&1].slow_at;
        p.tick();
        assert_eq!(slow_at(), due, "noted before progress was shown");
        let shown = p.show(1);
        p.tick();
        assert!(slow_at() > now, "not noted while shown");
        p.shared.running.lock().get_mut(&1).unwrap().slow_at = due;
        drop(shown);
        p.tick();
        assert_eq!(slow_at(), due, "noted after the guard dropped");
        let quiet = Progress {
            slow: Duration::ZERO,
            ..p
        };
        assert_eq!(quiet.tick_period(), None);
    }

    fn ordered() -> Progress {
        Progress {
            shared: Arc::default(),
            mode: Mode::Lines,
            interval: Duration::ZERO,
            slow: Duration::ZERO,
            ordered: true,
        }
    }

    #[test]
    fn turns_pass_in_order_even_when_a_trial_panics() {
        let p = ordered();
        let order = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for i in (0..4).rev() {
                let (p, order) = (&p, &order);
                s.spawn(move || {
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let turn = p.turn(i);
                        order.lock().push(("run", i));
                        assert!(i != 1, "a panicking trial");
                        if let Some(t) = &turn {
                            t.ran();
                        }
                        order.lock().push(("report", i));
                    }));
                });
            }
        });
        let order = order.into_inner();
        let of =
            |step| -> Vec<usize> { order.iter().filter(|o| o.0 == step).map(|o| o.1).collect() };
        assert_eq!(of("run"), [0, 1, 2, 3], "{order:?}");
        assert_eq!(of("report"), [0, 2, 3], "{order:?}");
        let at = |o| order.iter().position(|x| *x == o);
        for i in [0, 2, 3] {
            assert!(at(("run", i)) < at(("report", i)), "{order:?}");
        }
    }

    #[test]
    fn an_earlier_repetition_writes_after_the_trial_before() {
        let p = ordered();
        let order = Mutex::new(Vec::new());
        let (running, seen) = crossbeam_channel::bounded::<()>(1);
        std::thread::scope(|s| {
            let (p, order) = (&p, &order);
            s.spawn(move || {
                let turn = p.turn(0).expect("trials take turns");
                turn.ran();
                // Trial 1's first repetition runs meanwhile; this one's
                // results are still being written.
                let _ = seen.recv_timeout(Duration::from_secs(10));
                std::thread::sleep(Duration::from_millis(50));
                order.lock().push(0);
            });
            s.spawn(move || {
                let turn = p.turn(1).expect("trials take turns");
                let _ = running.send(());
                turn.may_write();
                order.lock().push(1);
                turn.ran();
            });
        });
        assert_eq!(*order.lock(), [0, 1]);
    }

    #[test]
    fn the_next_trial_runs_while_one_writes_its_results() {
        let p = ordered();
        let (next_ran, seen) = crossbeam_channel::bounded::<()>(1);
        std::thread::scope(|s| {
            let p = &p;
            let first = s.spawn(move || {
                let turn = p.turn(0).expect("trials take turns");
                turn.ran();
                // Writing results: trial 1 runs meanwhile.
                seen.recv_timeout(Duration::from_secs(10)).is_ok()
            });
            s.spawn(move || {
                let turn = p.turn(1).expect("trials take turns");
                let _ = next_ran.send(());
                turn.ran();
            });
            assert!(
                first.join().unwrap_or(false),
                "trial 1 did not run while trial 0 wrote its results"
            );
        });
    }
}
