//! The results tree and the session reports (text, JSON, HTML, JUnit).
//!
//! Tests finish in threads of one process or in many processes (one per test
//! under nextest) that share one session directory, so the session reports are
//! built incrementally: `SessionReports::append` does O(1) work per test
//! under the session's file lock and never reads other tests' records.
//!
//! Files in a session directory:
//! - `records.jsonl`: one [`TestRecord`] per line, appended; the source of
//!   truth that `--rebuild-reports` replays.
//! - `session.json`: the [`SessionMeta`] of the process that created it.
//! - `.report-state.json`: running totals and the byte offsets to rewrite.
//! - `report.txt`, `report.json`, `report.xml` (JUnit), `report.html` +
//!   `report.css` + `report.js`.
//! - `.lock`: the lock file.
//! - `.history-K.json`: the earlier sessions its tests compare with (see
//!   `history.rs`), chosen by its first process.
//! - `records.damaged`: lines of `records.jsonl` a repair found were not
//!   records (a line a kill cut short), if any.
//!
//! A kill at any instant leaves a session that the next process opening it
//! (or the next run of the results root) repairs: see `repair.rs`.

mod error;
pub(crate) mod fsutil;
pub(crate) mod historical;
pub(crate) mod history;
mod html;
mod json_report;
mod jsonfmt;
mod junit;
pub(crate) mod merge;
pub mod record;
mod repair;
pub(crate) mod session_dir;
mod state;
#[cfg(test)]
mod tests;
mod txt;

pub use error::ReportError;
pub use record::{Regression, SessionMeta, Status, TestRecord};
#[doc(hidden)]
pub use repair::{rebuild, Rebuilt};

use error::IoContext;
use parking_lot::{Condvar, Mutex};
use repair::load_or_repair;
use state::State;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LOCK: &str = ".lock";
const STATE: &str = ".report-state.json";
const RECORDS: &str = "records.jsonl";
const META: &str = "session.json";
const TXT: &str = "report.txt";
const JSON: &str = "report.json";
const XML: &str = "report.xml";
const HTML: &str = "report.html";
const CSS: &str = "report.css";
const JS: &str = "report.js";

/// Session totals, for the console's final line.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Summary {
    /// Tests reported so far.
    pub tests: u64,
    /// Tests that passed on the first run.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests that passed on a rerun.
    pub flaky: u64,
    /// Tests that were not run.
    pub ignored: u64,
    /// Wall time from the first test's start to the last one's stop.
    pub run_time_seconds: f64,
    /// Regressions and improvements found against earlier sessions.
    pub regressions: Vec<Regression>,
}

/// A finished test's record as the reports render it, made once per test:
/// its `records.jsonl` line, the record, and its own `report.json` text.
/// serde_json parses floats exactly
/// here (its `float_roundtrip` feature), so the record equals the one a
/// rebuild reads back from the line, and the reports written now and a
/// rebuild agree to the byte.
#[derive(Debug)]
pub(crate) struct Finished {
    record: TestRecord,
    line: String,
    test_json: String,
}

impl Finished {
    /// Refuses a record that would not read back from its line: a float
    /// that is not finite is written as `null`.
    pub(crate) fn new(record: &TestRecord) -> Result<Self, ReportError> {
        let cannot = |why: String| {
            ReportError::invalid(
                Path::new(RECORDS),
                format!("cannot store {}: {why}", record.test_id),
            )
        };
        if let Some(name) = record.non_finite_float() {
            return Err(cannot(format!("{name} is not a finite number")));
        }
        let (test_json, line) = json_report::test_json_and_line(record);
        Ok(Finished {
            record: record.clone(),
            line: line + "\n",
            test_json,
        })
    }

    /// A record read from `line` of `records.jsonl`.
    fn read(record: TestRecord, line: String) -> Self {
        Finished {
            test_json: json_report::test_json(&record),
            record,
            line,
        }
    }
}

/// The reports of one session directory, shared by every thread and process
/// that runs tests of the session. Clones share one batch.
#[derive(Clone, Debug)]
pub(crate) struct SessionReports {
    dir: PathBuf,
    meta: SessionMeta,
    shared: Arc<Shared>,
}

/// The batch, and the flusher thread's wake-up call.
#[derive(Debug, Default)]
struct Shared {
    batch: Mutex<Batch>,
    wake: Condvar,
}

/// Most records a batched process keeps out of the report files, and the
/// longest it keeps one out (a flusher thread applies a batch that old even
/// while the next test runs): reports stay live while a suite of trivial
/// tests updates them once per batch.
const BATCH_RECORDS: usize = 64;
const BATCH_AGE: Duration = Duration::from_millis(250);

/// What this process knows of the reports between appends.
#[derive(Debug, Default)]
struct Batch {
    /// Whether appends may leave records out of the report files for a
    /// while (a process running many tests); else every append applies.
    enabled: bool,
    /// The state after this process's last write and the files it is
    /// about; `None`: read it from disk at the next write.
    known: Option<Known>,
    /// Records this process appended to `records.jsonl` since `known`'s
    /// state, not yet in the report files.
    pending: Vec<Finished>,
    /// When the oldest pending record was appended.
    pending_since: Option<Instant>,
    /// How long a record may stay out of the report files ([`BATCH_AGE`]).
    max_age: Duration,
    /// Whether the flusher thread runs.
    flusher: bool,
}

/// The report state as this process left it.
#[derive(Debug)]
struct Known {
    state: State,
    /// `records.jsonl` as `state` and the pending records cover it.
    records: FileId,
    /// The state file as this process saved or read it.
    state_file: Option<FileId>,
}

/// A file's identity and length: any other writer (an append by
/// another process, a repair that rewrote or cut it) changes one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
}

impl FileId {
    fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
        }
    }
}

fn file_id(path: &Path) -> Result<Option<FileId>, ReportError> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some(FileId::of(&m))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).ctx("stat", path),
    }
}

impl SessionReports {
    /// Opens the reports of `session_dir`, creating the directory and the
    /// report files if they are absent. Idempotent and safe to call from many
    /// processes: the first caller's `meta` is kept in `session.json` and used
    /// by everyone (a later caller's `meta` is ignored). Reports a killed
    /// process left behind `records.jsonl` are brought up to date first.
    pub fn open(session_dir: &Path, meta: &SessionMeta) -> Result<Self, ReportError> {
        fsutil::create_dirs(session_dir)?;
        let _lock = fsutil::lock(&session_dir.join(LOCK))?;
        let meta_path = session_dir.join(META);
        let meta = if meta_path.exists() {
            load_meta(&meta_path)?
        } else {
            let text = serde_json::to_string_pretty(meta)
                .map_err(|e| ReportError::invalid(&meta_path, e.to_string()))?;
            fsutil::write_atomic(&meta_path, text.as_bytes())?;
            meta.clone()
        };
        // The process that last wrote this session may have been killed
        // mid-append: repair before this one adds to it.
        let state = load_or_repair(session_dir, &meta)?;
        let reports = SessionReports {
            dir: session_dir.to_path_buf(),
            meta,
            shared: Arc::default(),
        };
        // Kept, so a first append finds it current unless another process
        // wrote since (it would otherwise read it all again).
        if let Some(records) = reports.records_id()? {
            let state_file = reports.state_id()?;
            reports.batch().known = Some(Known {
                state,
                records,
                state_file,
            });
        }
        Ok(reports)
    }

    /// Lets appends keep up to [`BATCH_RECORDS`] records, for at most
    /// [`BATCH_AGE`], out of the report files (never out of
    /// `records.jsonl`): for a process that runs many tests. Call
    /// [`flush`](Self::flush) when the run ends. A process killed meanwhile
    /// loses nothing: the next one to open the session (or the next run of
    /// the results root) brings the reports up to date from `records.jsonl`.
    pub fn set_batched(&self, enabled: bool) {
        let mut batch = self.batch();
        batch.enabled = enabled;
        batch.max_age = BATCH_AGE;
        if enabled && !batch.flusher {
            let me = self.clone();
            let started = std::thread::Builder::new()
                .name("ducktape-reports".into())
                .spawn(move || me.flusher());
            // Without the thread a batch still goes out with a later append
            // or the run's end.
            batch.flusher = started.is_ok();
        }
        self.shared.wake.notify_all();
    }

    fn batch(&self) -> parking_lot::MutexGuard<'_, Batch> {
        self.shared.batch.lock()
    }

    /// Applies each batch once its oldest record is [`BATCH_AGE`] old, also
    /// while no test ends (the next may run for minutes). Ends when batching
    /// is turned off or nobody else holds these reports.
    fn flusher(self) {
        let mut batch = self.batch();
        loop {
            if !batch.enabled || Arc::strong_count(&self.shared) == 1 {
                batch.flusher = false;
                return;
            }
            let Some(since) = batch.pending_since else {
                // Idle: look again now and then for the end of the reports.
                self.shared
                    .wake
                    .wait_for(&mut batch, Duration::from_secs(1));
                continue;
            };
            let due = since + batch.max_age;
            if Instant::now() < due {
                self.shared.wake.wait_until(&mut batch, due);
                continue;
            }
            let applied =
                fsutil::lock(&self.dir.join(LOCK)).and_then(|_lock| self.apply_locked(&mut batch));
            if let Err(e) = applied {
                tracing::error!("session reports: {}", crate::text::chain(&e));
                // Not again until the next record (or the run's end).
                batch.pending_since = None;
            }
        }
    }

    /// The session directory.
    #[cfg(test)]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds one finished test (see [`add`](Self::add)).
    #[cfg(test)]
    pub fn append(&self, record: &TestRecord) -> Result<(), ReportError> {
        self.add(Finished::new(record)?)
    }

    /// Adds one finished test: its line goes to `records.jsonl` at once,
    /// under the session lock; the report files get it now, or with the
    /// batch when batching (O(1) work per record either way).
    pub fn add(&self, finished: Finished) -> Result<(), ReportError> {
        let records_path = self.dir.join(RECORDS);
        let line = &finished.line;
        let mut batch = self.batch();
        let _lock = fsutil::lock(&self.dir.join(LOCK))?;
        let open = || {
            // Created if something removed it: the session goes on.
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&records_path)
                .ctx("open", &records_path)?;
            let id = FileId::of(&file.metadata().ctx("stat", &records_path)?);
            Ok::<_, ReportError>((file, id))
        };
        let (mut records, mut id) = open()?;
        if batch.known.as_ref().is_none_or(|k| k.records != id) {
            // Another process wrote since (or this is the first append): make
            // the reports whole first, which also cuts off a line a killed
            // writer left half written so this one does not join it.
            batch.pending.clear();
            let state = load_or_repair(&self.dir, &self.meta)?;
            (records, id) = open()?;
            batch.known = Some(Known {
                state,
                records: id,
                state_file: self.state_id()?,
            });
        }
        records
            .write_all(line.as_bytes())
            .ctx("append to", &records_path)?;
        if let Some(known) = &mut batch.known {
            known.records.len = id.len + line.len() as u64;
        }
        batch.pending.push(finished);
        let since = *batch.pending_since.get_or_insert_with(Instant::now);
        let due = !batch.enabled
            || !batch.flusher
            || batch.pending.len() >= BATCH_RECORDS
            || since.elapsed() >= batch.max_age;
        if due {
            self.apply_locked(&mut batch)?;
        } else if batch.pending.len() == 1 {
            // The flusher waits for a first record.
            self.shared.wake.notify_all();
        }
        Ok(())
    }

    /// Brings the report files up to date with every record appended so far.
    /// (Nothing to do, and no lock taken, when every append was applied, as
    /// a nextest process's one record is; after an apply that failed, this
    /// process knows no state, and the flush catches the reports up.)
    pub fn flush(&self) -> Result<(), ReportError> {
        let mut batch = self.batch();
        if batch.pending.is_empty() && batch.known.is_some() {
            return Ok(());
        }
        let _lock = fsutil::lock(&self.dir.join(LOCK))?;
        self.apply_locked(&mut batch)
    }

    /// Applies the pending records (or whatever `records.jsonl` holds past
    /// the state on disk, if this process's view is stale); the caller holds
    /// the session lock.
    fn apply_locked(&self, batch: &mut Batch) -> Result<(), ReportError> {
        let pending = std::mem::take(&mut batch.pending);
        batch.pending_since = None;
        let state = match batch.known.take() {
            Some(mut k) if self.still_known(&k)? => {
                if !pending.is_empty() {
                    ReportFiles::open(&self.dir)?.apply(&self.meta, &mut k.state, &pending)?;
                    k.state.records_len = k.records.len;
                    k.state.save(&self.dir.join(STATE))?;
                }
                k.state
            }
            _ => load_or_repair(&self.dir, &self.meta)?,
        };
        batch.known = match self.records_id()? {
            Some(records) => Some(Known {
                state,
                records,
                state_file: self.state_id()?,
            }),
            None => None,
        };
        Ok(())
    }

    /// Whether nobody but this process wrote the records or the state since
    /// `known` was taken (another process's append, repair or rebuild,
    /// finished or killed halfway, changes one of them).
    fn still_known(&self, known: &Known) -> Result<bool, ReportError> {
        Ok(self.records_id()? == Some(known.records) && self.state_id()? == known.state_file)
    }

    /// `records.jsonl`'s identity now (`None` before the first record).
    fn records_id(&self) -> Result<Option<FileId>, ReportError> {
        file_id(&self.dir.join(RECORDS))
    }

    /// The state file's identity now.
    fn state_id(&self) -> Result<Option<FileId>, ReportError> {
        file_id(&self.dir.join(STATE))
    }

    /// The totals so far, after bringing the reports up to date.
    pub fn summary(&self) -> Result<Summary, ReportError> {
        self.flush()?;
        let s = {
            let _lock = fsutil::lock(&self.dir.join(LOCK))?;
            State::load(&self.dir.join(STATE))?
        };
        Ok(Summary {
            tests: s.tests,
            passed: s.passed,
            failed: s.failed,
            flaky: s.flaky,
            ignored: s.ignored,
            run_time_seconds: s.wall_time(),
            regressions: s.regressions,
        })
    }
}

/// Writes a test directory's own `report.json` and `report.txt`, and
/// `data.json` when the test returned data. Paths inside are relative to
/// `test_dir`, which is created if needed.
pub(crate) fn write_test_report(test_dir: &Path, record: &TestRecord) -> Result<(), ReportError> {
    write_test_report_of(test_dir, record, &json_report::test_json(record))
}

/// [`write_test_report`] of a record made ready for the session reports.
pub(crate) fn write_finished_report(test_dir: &Path, f: &Finished) -> Result<(), ReportError> {
    write_test_report_of(test_dir, &f.record, &f.test_json)
}

fn write_test_report_of(
    test_dir: &Path,
    record: &TestRecord,
    test_json: &str,
) -> Result<(), ReportError> {
    // The runner made the directory already: only a `mkdir` when it is gone.
    if !test_dir.is_dir() {
        fsutil::create_dirs(test_dir)?;
    }
    let text = format!("{test_json}\n");
    // By rename: a kill mid-write leaves the old file or the new, never half
    // (the kill loop checks it). A rename costs ~15 µs here, a tenth of
    // creating the file's inode, so this guarantee is kept.
    let write = fsutil::write_atomic;
    write(&test_dir.join(JSON), text.as_bytes())?;
    write(&test_dir.join(TXT), txt::test_report(record).as_bytes())?;
    if !record.data.is_null() {
        let data = jsonfmt::ascii_json(&record.data, true) + "\n";
        write(&test_dir.join("data.json"), data.as_bytes())?;
    }
    Ok(())
}

/// This machine's host name (empty if it cannot be read), recorded in the
/// session metadata so a merged report names the machine of each shard.
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most
    // that many bytes and we stop at the first NUL (or the end).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

pub(crate) fn load_meta(path: &Path) -> Result<SessionMeta, ReportError> {
    let text = fsutil::read_string(path)?;
    serde_json::from_str(&text).map_err(|e| ReportError::invalid(path, e.to_string()))
}

/// Writes every report for a session with no tests yet; returns the matching
/// state (offsets set, `records_len` 0).
fn write_empty_reports(dir: &Path, meta: &SessionMeta) -> Result<State, ReportError> {
    let mut state = State::default();
    let txt = txt::header(meta, &state);
    state.txt_header_len = txt.len() as u64;
    state.txt_end = state.txt_header_len;
    fsutil::write_file(&dir.join(TXT), txt.as_bytes())?;

    let prefix = json_report::prefix(meta);
    state.json_results_end = prefix.len() as u64;
    let json = prefix + &json_report::tail(meta, &state);
    fsutil::write_file(&dir.join(JSON), json.as_bytes())?;

    let xml = junit::header(meta, &state);
    state.xml_header_len = xml.len() as u64;
    state.xml_cases_end = state.xml_header_len;
    fsutil::write_file(&dir.join(XML), (xml + junit::TAIL).as_bytes())?;

    let js = html::script_head(meta);
    state.js_end = js.len() as u64;
    fsutil::write_file(&dir.join(JS), js.as_bytes())?;
    fsutil::write_file(&dir.join(HTML), html::HTML.as_bytes())?;
    fsutil::write_file(&dir.join(CSS), html::CSS.as_bytes())?;
    Ok(state)
}

/// The report files that change per test, open for in-place updates.
struct ReportFiles {
    txt: (File, PathBuf),
    json: (File, PathBuf),
    xml: (File, PathBuf),
    js: (File, PathBuf),
}

impl ReportFiles {
    fn open(dir: &Path) -> Result<Self, ReportError> {
        let open = |name: &str| {
            let path = dir.join(name);
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .ctx("open", &path)?;
            Ok::<_, ReportError>((file, path))
        };
        Ok(ReportFiles {
            txt: open(TXT)?,
            json: open(JSON)?,
            xml: open(XML)?,
            js: open(JS)?,
        })
    }

    /// Whether each file still holds everything up to the state's offset for
    /// it (what a catch-up keeps and writes after): a file cut below it was
    /// damaged by something other than a write cut short, and is rebuilt.
    fn reach(&self, state: &State) -> Result<bool, ReportError> {
        let len = |(file, path): &(File, PathBuf)| -> Result<u64, ReportError> {
            Ok(file.metadata().ctx("stat", path)?.len())
        };
        Ok(len(&self.txt)? >= state.txt_end
            && len(&self.json)? >= state.json_results_end
            && len(&self.xml)? >= state.xml_cases_end
            && len(&self.js)? >= state.js_end)
    }

    /// Adds `records` to the totals and to each report, each file in one
    /// write at the offset the state keeps for it, then cut after it. So
    /// the result depends only on the state and the records: whatever a
    /// write cut short left past those offsets is overwritten, and applying
    /// the same records again from the same state gives the same bytes.
    fn apply(
        &self,
        meta: &SessionMeta,
        state: &mut State,
        records: &[Finished],
    ) -> Result<(), ReportError> {
        let (mut txt, mut json, mut xml, mut js) =
            (String::new(), String::new(), String::new(), String::new());
        for Finished {
            record: r, line, ..
        } in records
        {
            json += &json_report::entry(r, state.tests == 0);
            state.add(r);
            txt += &txt::session_block(r);
            xml += &junit::testcase(r);
            js += &html::script_line(line);
        }

        let (file, path) = &self.txt;
        replace_from(file, path, state.txt_end, &txt)?;
        state.txt_end += txt.len() as u64;
        rewrite_header(file, path, &txt::header(meta, state), state.txt_header_len)?;

        let (file, path) = &self.json;
        let entries_len = json.len() as u64;
        json += &json_report::tail(meta, state);
        replace_from(file, path, state.json_results_end, &json)?;
        state.json_results_end += entries_len;

        let (file, path) = &self.xml;
        let cases_len = xml.len() as u64;
        xml += junit::TAIL;
        replace_from(file, path, state.xml_cases_end, &xml)?;
        state.xml_cases_end += cases_len;
        rewrite_header(
            file,
            path,
            &junit::header(meta, state),
            state.xml_header_len,
        )?;

        let (file, path) = &self.js;
        replace_from(file, path, state.js_end, &js)?;
        state.js_end += js.len() as u64;
        Ok(())
    }
}

fn write_at(mut file: &File, path: &Path, offset: u64, bytes: &[u8]) -> Result<(), ReportError> {
    file.seek(SeekFrom::Start(offset)).ctx("seek in", path)?;
    file.write_all(bytes).ctx("write", path)
}

/// Writes `text` at `offset` and cuts the file after it.
fn replace_from(file: &File, path: &Path, offset: u64, text: &str) -> Result<(), ReportError> {
    write_at(file, path, offset, text.as_bytes())?;
    file.set_len(offset + text.len() as u64)
        .ctx("truncate", path)
}

/// Overwrites the fixed-size header; refuses (rather than corrupt the file)
/// if its size changed.
fn rewrite_header(file: &File, path: &Path, header: &str, len: u64) -> Result<(), ReportError> {
    if header.len() as u64 != len {
        return Err(ReportError::invalid(
            path,
            format!(
                "header outgrew its reserved {len} bytes ({} needed)",
                header.len()
            ),
        ));
    }
    write_at(file, path, 0, header.as_bytes())
}
