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
use repair::load_or_repair;
use state::State;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

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

/// The reports of one session directory, shared by every thread and process
/// that runs tests of the session.
#[derive(Clone, Debug)]
pub(crate) struct SessionReports {
    dir: PathBuf,
    meta: SessionMeta,
}

impl SessionReports {
    /// Opens the reports of `session_dir`, creating the directory and the
    /// report files if they are absent. Idempotent and safe to call from many
    /// processes: the first caller's `meta` is kept in `session.json` and used
    /// by everyone (a later caller's `meta` is ignored). Reports a killed
    /// process left behind `records.jsonl` are rebuilt first.
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
        load_or_repair(session_dir, &meta)?;
        Ok(SessionReports {
            dir: session_dir.to_path_buf(),
            meta,
        })
    }

    /// The session directory.
    #[cfg(test)]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds one finished test to every session report: O(1) work, under the
    /// session lock. If the last append was cut short (a crash), the reports
    /// are first rebuilt from `records.jsonl`.
    pub fn append(&self, record: &TestRecord) -> Result<(), ReportError> {
        let records_path = self.dir.join(RECORDS);
        let line = serde_json::to_string(record).map_err(|e| {
            ReportError::invalid(
                &records_path,
                format!("cannot store {}: {e}", record.test_id),
            )
        })? + "\n";
        // Render from the record as a rebuild will read it back, so both give
        // the same bytes even where a float's text round trip is inexact.
        let record: TestRecord = serde_json::from_str(&line).map_err(|e| {
            ReportError::invalid(
                &records_path,
                format!("cannot store {}: {e}", record.test_id),
            )
        })?;

        let _lock = fsutil::lock(&self.dir.join(LOCK))?;
        let state_path = self.dir.join(STATE);
        let mut state = load_or_repair(&self.dir, &self.meta)?;
        let mut records = OpenOptions::new()
            .append(true)
            .open(&records_path)
            .ctx("open", &records_path)?;
        records
            .write_all(line.as_bytes())
            .ctx("append to", &records_path)?;
        let files = ReportFiles::open(&self.dir)?;
        files.apply(&self.meta, &mut state, &record)?;
        state.records_len += line.len() as u64;
        state.save(&state_path)
    }

    /// The totals so far. Reads only the state file, under the lock (it is
    /// rewritten in place).
    pub fn summary(&self) -> Result<Summary, ReportError> {
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
    // The runner made the directory already: only a `mkdir` when it is gone.
    if !test_dir.is_dir() {
        fsutil::create_dirs(test_dir)?;
    }
    let depth = record
        .relative_results_dir
        .split('/')
        .filter(|s| !s.is_empty())
        .count();
    let base = if depth == 0 {
        "./".to_owned()
    } else {
        "../".repeat(depth)
    };
    let json = json_report::record_json(record, &base, "./");
    let text = jsonfmt::pretty_indented(&json, 0) + "\n";
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
    fsutil::write_file(&dir.join(TXT), txt.as_bytes())?;

    let prefix = json_report::prefix(meta);
    state.json_results_end = prefix.len() as u64;
    let json = prefix + &json_report::tail(meta, &state);
    fsutil::write_file(&dir.join(JSON), json.as_bytes())?;

    let xml = junit::header(meta, &state);
    state.xml_header_len = xml.len() as u64;
    state.xml_cases_end = state.xml_header_len;
    fsutil::write_file(&dir.join(XML), (xml + junit::TAIL).as_bytes())?;

    fsutil::write_file(&dir.join(JS), html::script_head(meta).as_bytes())?;
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

    /// Adds `r` to the totals and to each report. Each write touches only the
    /// new record, the fixed-size headers and the fixed-size JSON tail.
    fn apply(
        &self,
        meta: &SessionMeta,
        state: &mut State,
        r: &TestRecord,
    ) -> Result<(), ReportError> {
        let first = state.tests == 0;
        state.add(r);

        let (file, path) = &self.txt;
        append(file, path, txt::session_block(r).as_bytes())?;
        rewrite_header(file, path, &txt::header(meta, state), state.txt_header_len)?;

        let (file, path) = &self.json;
        let entry = json_report::entry(r, first);
        write_at(file, path, state.json_results_end, entry.as_bytes())?;
        state.json_results_end += entry.len() as u64;
        replace_from(
            file,
            path,
            state.json_results_end,
            &json_report::tail(meta, state),
        )?;

        let (file, path) = &self.xml;
        let case = junit::testcase(r);
        write_at(file, path, state.xml_cases_end, case.as_bytes())?;
        state.xml_cases_end += case.len() as u64;
        replace_from(file, path, state.xml_cases_end, junit::TAIL)?;
        rewrite_header(
            file,
            path,
            &junit::header(meta, state),
            state.xml_header_len,
        )?;

        let (file, path) = &self.js;
        append(file, path, html::script_line(r).as_bytes())
    }
}

fn write_at(mut file: &File, path: &Path, offset: u64, bytes: &[u8]) -> Result<(), ReportError> {
    file.seek(SeekFrom::Start(offset)).ctx("seek in", path)?;
    file.write_all(bytes).ctx("write", path)
}

fn append(mut file: &File, path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    file.seek(SeekFrom::End(0)).ctx("seek in", path)?;
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
