//! Crash consistency of the session reports.
//!
//! An append writes `records.jsonl` first; the report files and then the
//! state file follow, at once or with a batch (see `SessionReports`). The
//! state's `records_len` is the commit mark: the reports hold exactly the
//! first `records_len` bytes of records, and the state's offsets say where
//! each report file's next bytes go. So a state that loads and is behind
//! `records.jsonl` (a batch not applied yet, a process killed mid-apply) is
//! brought up to date in O(new records) by applying the lines past it at
//! those offsets, overwriting whatever a cut-short write left there. A state
//! that does not load (a write cut short, or none: a rebuild cut short), is
//! ahead of the records, or meets a line that is not a record, means a
//! rebuild. The next process to open or append to the session does this;
//! the next run of the same results root does it for sessions no process
//! will open again (a killed `cargo test`).

use super::error::{IoContext, ReportError};
use super::record::{SessionMeta, TestRecord};
use super::state::State;
use super::{
    fsutil, load_meta, write_empty_reports, Finished, ReportFiles, LOCK, META, RECORDS, STATE,
};
use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, ErrorKind, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Where lines of `records.jsonl` that are not records are moved.
pub(crate) const DAMAGED: &str = "records.damaged";

/// What a rebuild did.
#[derive(Clone, Debug, PartialEq)]
pub struct Rebuilt {
    /// The session directory.
    pub dir: PathBuf,
    /// Records the reports now hold.
    pub records: u64,
    /// 1-based lines of `records.jsonl` that were not records (a line cut
    /// short by a crash, or damaged) and were moved to `records.damaged`.
    pub set_aside: Vec<usize>,
}

impl fmt::Display for Rebuilt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rebuilt the reports of {} from {} records",
            self.dir.display(),
            self.records
        )?;
        if !self.set_aside.is_empty() {
            let lines: Vec<String> = self.set_aside.iter().map(usize::to_string).collect();
            write!(
                f,
                "; line {} of {RECORDS} held no record and moved to {DAMAGED}",
                lines.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Whether the reports of a session hold exactly its records.
enum Check {
    /// They do; the state to continue from.
    Consistent(Box<State>),
    /// They hold a prefix of them: the state to catch up from.
    Behind(Box<State>),
    /// A session with no records and no state yet: nothing to repair.
    Fresh,
    /// They do not (a process was killed mid-append or mid-rebuild).
    Damaged(String),
}

/// O(1): reads the state file and the length of `records.jsonl`. Safe
/// without the lock (the state is replaced atomically); only a result taken
/// under the lock is final.
fn check(dir: &Path) -> Result<Check, ReportError> {
    let records_path = dir.join(RECORDS);
    let stored = match fs::metadata(&records_path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == ErrorKind::NotFound => 0,
        Err(e) => return Err(e).ctx("stat", &records_path),
    };
    let state_path = dir.join(STATE);
    Ok(match State::load(&state_path) {
        Ok(state) if !state.has_offsets() => {
            Check::Damaged("the report state is an older version's".into())
        }
        Ok(state) if state.records_len == stored => Check::Consistent(Box::new(state)),
        Ok(state) if state.records_len < stored => Check::Behind(Box::new(state)),
        Ok(state) => Check::Damaged(format!(
            "the reports hold {} of the {stored} bytes of {RECORDS}",
            state.records_len
        )),
        Err(_) if stored == 0 && !state_path.exists() => Check::Fresh,
        Err(e) => Check::Damaged(format!(
            "no usable report state ({})",
            crate::text::chain(&e)
        )),
    })
}

/// The state of a session whose lock the caller holds, after bringing the
/// reports up to date with its records (rebuilding them if they are damaged).
pub(super) fn load_or_repair(dir: &Path, meta: &SessionMeta) -> Result<State, ReportError> {
    match check(dir)? {
        Check::Consistent(state) => Ok(*state),
        Check::Behind(state) => match catch_up(dir, meta, *state)? {
            Some(state) => Ok(state),
            None => {
                let (state, done) = rebuild_locked(dir, meta)?;
                tracing::warn!("a line past the reports is not a record: {done}");
                Ok(state)
            }
        },
        Check::Fresh => Ok(rebuild_locked(dir, meta)?.0),
        Check::Damaged(why) => {
            let (state, done) = rebuild_locked(dir, meta)?;
            tracing::warn!("{why}: {done}");
            Ok(state)
        }
    }
}

/// Records applied per write of the report files when catching up or
/// rebuilding: bounds the memory a long session's replay needs.
const APPLY_CHUNK: usize = 512;

/// Applies the records of `records.jsonl` past `state` to the reports and
/// saves the state; `None` (nothing saved) if a line there is not a whole
/// record or a report file is shorter than the state says, which needs a
/// rebuild. The caller holds the session lock.
fn catch_up(
    dir: &Path,
    meta: &SessionMeta,
    mut state: State,
) -> Result<Option<State>, ReportError> {
    let path = dir.join(RECORDS);
    let mut reader = BufReader::new(File::open(&path).ctx("open", &path)?);
    reader
        .seek(SeekFrom::Start(state.records_len))
        .ctx("seek in", &path)?;
    let files = ReportFiles::open(dir)?;
    if !files.reach(&state)? {
        return Ok(None);
    }
    let mut chunk = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).ctx("read", &path)?;
        if n > 0 {
            if !line.ends_with(b"\n") {
                return Ok(None);
            }
            let read = serde_json::from_slice::<TestRecord>(&line).ok();
            match (read, String::from_utf8(line.clone())) {
                (Some(record), Ok(text)) => chunk.push(Finished::read(record, text)),
                _ => return Ok(None),
            }
            state.records_len += n as u64;
        }
        if chunk.len() >= APPLY_CHUNK || (n == 0 && !chunk.is_empty()) {
            files.apply(meta, &mut state, &chunk)?;
            chunk.clear();
        }
        if n == 0 {
            break;
        }
    }
    state.save(&dir.join(STATE))?;
    Ok(Some(state))
}

/// Regenerates every session report of `session_dir` from its
/// `records.jsonl` and `session.json` (for a results directory copied or
/// damaged after the run). The output is byte-identical to what the
/// incremental appends produced. Refuses, naming it, a path that is not a
/// session directory (no `session.json`) and creates nothing there.
pub fn rebuild(session_dir: &Path) -> Result<Rebuilt, ReportError> {
    if !session_dir.is_dir() {
        return Err(ReportError::invalid(session_dir, "no such directory"));
    }
    if !session_dir.join(META).is_file() {
        return Err(ReportError::invalid(
            session_dir,
            format!("not a session directory (it has no {META})"),
        ));
    }
    let _lock = fsutil::lock(&session_dir.join(LOCK))?;
    let meta = load_meta(&session_dir.join(META))?;
    Ok(rebuild_locked(session_dir, &meta)?.1)
}

/// Repairs, best effort, every session under `results_root` but `skip`
/// whose reports a killed process left behind their records, printing one
/// line per repair. A session another process holds locked is skipped: that
/// process leaves it consistent, or its successor repairs it.
pub(crate) fn repair_sessions(results_root: &Path, skip: &Path) {
    let Ok(entries) = fs::read_dir(results_root) else {
        return;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        // Not following links: `latest` points at a session listed anyway.
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || dir == skip || !dir.join(META).is_file() {
            continue;
        }
        if matches!(check(&dir), Ok(Check::Consistent(_))) {
            continue;
        }
        // Behind (a batch a killed process never applied), damaged, or
        // fresh: its creator writes `session.json`, the empty reports and
        // `records.jsonl` under the lock, so one that left `session.json`
        // alone and holds no lock was killed in between.
        match repair_unless_busy(&dir) {
            Ok(Some(done)) => eprintln!("ducktape: {done} (a process was killed mid-write)"),
            Ok(None) => {}
            Err(e) => eprintln!(
                "ducktape: cannot repair the reports of a session: {}",
                crate::text::chain(&e)
            ),
        }
    }
}

/// Brings `dir`'s reports up to date once its lock is taken: `Some` if that
/// took a rebuild; `None` if they were consistent, only behind (caught up
/// silently: applying a batch is no repair), or another process holds the
/// lock.
fn repair_unless_busy(dir: &Path) -> Result<Option<Rebuilt>, ReportError> {
    let lock_path = dir.join(LOCK);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .ctx("open lock file", &lock_path)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(e)) => return Err(e).ctx("lock", &lock_path),
    }
    let _lock = fsutil::FileLock::held(lock);
    let meta = load_meta(&dir.join(META))?;
    match check(dir)? {
        Check::Consistent(_) => Ok(None),
        Check::Fresh => Ok(Some(rebuild_locked(dir, &meta)?.1)),
        Check::Behind(state) => match catch_up(dir, &meta, *state)? {
            Some(_) => Ok(None),
            None => Ok(Some(rebuild_locked(dir, &meta)?.1)),
        },
        Check::Damaged(_) => Ok(Some(rebuild_locked(dir, &meta)?.1)),
    }
}

/// Writes fresh report files and replays `records.jsonl` into them; the
/// caller holds the session lock. Lines that are not records are moved to
/// `records.damaged` (a last line cut short by a crash is cut off; one that
/// only lacks its newline is completed), so they cannot block later appends.
/// Returns the saved state.
pub(super) fn rebuild_locked(
    dir: &Path,
    meta: &SessionMeta,
) -> Result<(State, Rebuilt), ReportError> {
    // Until the rebuild completes there is no valid state: a rebuild cut
    // short must make the next append rebuild again, not write at offsets
    // into files that were just emptied.
    match fs::remove_file(dir.join(STATE)) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).ctx("remove", &dir.join(STATE)),
    }
    let mut state = write_empty_reports(dir, meta)?;
    let records_path = dir.join(RECORDS);
    let records = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&records_path)
        .ctx("open", &records_path)?;
    let files = ReportFiles::open(dir)?;
    let mut chunk = Vec::new();
    let scan = replay(&records, &records_path, |record, line| {
        chunk.push(Finished::read(record, line));
        if chunk.len() >= APPLY_CHUNK {
            files.apply(meta, &mut state, &chunk)?;
            chunk.clear();
        }
        Ok(())
    })?;
    files.apply(meta, &mut state, &chunk)?;
    state.records_len = scan.kept_len;
    scan.fix_records(&records, &records_path, dir)?;
    state.save(&dir.join(STATE))?;
    let done = Rebuilt {
        dir: dir.to_path_buf(),
        records: state.tests,
        set_aside: scan.bad.iter().map(|(n, _)| *n).collect(),
    };
    Ok((state, done))
}

/// What one pass over `records.jsonl` found.
struct Scan {
    /// Bytes of the lines kept, counting the newline of a completed last line.
    kept_len: u64,
    /// Lines that are not records: 1-based number and bytes.
    bad: Vec<(usize, Vec<u8>)>,
    /// The last line is a record that lacks its newline.
    complete_last: bool,
    /// Lines read.
    lines: usize,
}

/// Reads `records.jsonl` line by line (as bytes: a cut can split a UTF-8
/// character) and hands each record to `apply`.
fn replay(
    records: &File,
    path: &Path,
    mut apply: impl FnMut(TestRecord, String) -> Result<(), ReportError>,
) -> Result<Scan, ReportError> {
    let mut scan = Scan {
        kept_len: 0,
        bad: Vec::new(),
        complete_last: false,
        lines: 0,
    };
    let mut reader = BufReader::new(records);
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).ctx("read", path)?;
        if n == 0 {
            break;
        }
        scan.lines = number;
        match serde_json::from_slice::<TestRecord>(&line) {
            Ok(record) => {
                // A line that parses is UTF-8 (JSON outside strings is ASCII).
                apply(record, String::from_utf8_lossy(&line).into_owned())?;
                scan.kept_len += n as u64;
                if !line.ends_with(b"\n") {
                    scan.kept_len += 1;
                    scan.complete_last = true;
                }
            }
            Err(_) => scan.bad.push((number, line.clone())),
        }
    }
    Ok(scan)
}

impl Scan {
    /// Makes `records.jsonl` hold exactly the kept lines, each ending in a
    /// newline: cheap when only the last line needs fixing (the crash
    /// case), a rewrite by rename otherwise.
    fn fix_records(&self, records: &File, path: &Path, dir: &Path) -> Result<(), ReportError> {
        if !self.bad.is_empty() {
            set_aside(&dir.join(DAMAGED), &self.bad)?;
        }
        if self.complete_last && self.bad.is_empty() {
            let mut f = records;
            f.seek(SeekFrom::End(0)).ctx("seek in", path)?;
            return f.write_all(b"\n").ctx("write", path);
        }
        let only_tail_bad = self.bad.len() == 1 && self.bad[0].0 == self.lines;
        if self.bad.is_empty() {
            Ok(())
        } else if only_tail_bad {
            records.set_len(self.kept_len).ctx("truncate", path)
        } else {
            self.rewrite(records, path)
        }
    }

    /// Writes the kept lines to a copy and renames it over `records.jsonl`.
    fn rewrite(&self, records: &File, path: &Path) -> Result<(), ReportError> {
        let mut reader = BufReader::new(records);
        reader.seek(SeekFrom::Start(0)).ctx("seek in", path)?;
        let mut kept = Vec::with_capacity(self.kept_len as usize);
        let mut line = Vec::new();
        let mut bad = self.bad.iter().map(|(n, _)| *n).peekable();
        for number in 1.. {
            line.clear();
            if reader.read_until(b'\n', &mut line).ctx("read", path)? == 0 {
                break;
            }
            if bad.peek() == Some(&number) {
                bad.next();
                continue;
            }
            kept.extend_from_slice(&line);
            if !line.ends_with(b"\n") {
                kept.push(b'\n');
            }
        }
        fsutil::write_atomic(path, &kept)
    }
}

/// Appends the bad lines, each ending in a newline, to `records.damaged`.
fn set_aside(path: &Path, bad: &[(usize, Vec<u8>)]) -> Result<(), ReportError> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ctx("open", path)?;
    let mut bytes = Vec::new();
    for (_, line) in bad {
        bytes.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            bytes.push(b'\n');
        }
    }
    file.write_all(&bytes).ctx("write", path)
}
