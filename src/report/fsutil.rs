//! File helpers: advisory locks and whole-file writes, with paths in errors.

use super::error::{IoContext, ReportError};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Holds an exclusive `flock`-style lock until dropped (closing the file
/// releases it, also when the process dies). Each `open` is its own open file
/// description, so the lock also excludes other threads of this process.
pub(crate) struct FileLock {
    _file: File,
}

/// Blocks until `path` (created if absent) is locked exclusively.
pub(crate) fn lock(path: &Path) -> Result<FileLock, ReportError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ctx("open lock file", path)?;
    file.lock().ctx("lock", path)?;
    Ok(FileLock { _file: file })
}

/// Reads a whole UTF-8 file.
pub(crate) fn read_string(path: &Path) -> Result<String, ReportError> {
    fs::read_to_string(path).ctx("read", path)
}

/// Creates or truncates `path` and writes `bytes`.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let mut file = File::create(path).ctx("create", path)?;
    file.write_all(bytes).ctx("write", path)
}

/// Replaces `path` by a fully written copy (write to `<path>.tmp`, rename), so
/// a reader or a crash never sees half a file. The caller holds the lock that
/// guards `path`, so the fixed temporary name cannot collide.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    write_file(&tmp, bytes)?;
    fs::rename(&tmp, path).ctx("rename into place", path)
}

/// [`write_atomic`] for a file no lock guards (a test's own reports, which
/// two processes running the same test may write at once): the temporary name
/// is unique to this process and call, so the writers cannot mix their bytes
/// in one temporary file; the last rename wins, whole.
pub(crate) fn write_atomic_unlocked(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut tmp = path.as_os_str().to_owned();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    tmp.push(format!(".{}-{n}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    write_file(&tmp, bytes)?;
    fs::rename(&tmp, path).ctx("rename into place", path)
}

/// Creates a directory and its parents.
pub(crate) fn create_dirs(path: &Path) -> Result<(), ReportError> {
    fs::create_dir_all(path).ctx("create directory", path)
}
