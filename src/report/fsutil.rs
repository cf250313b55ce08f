//! File helpers: advisory locks and whole-file writes, with paths in errors.

use super::error::{IoContext, ReportError};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use crate::flock::FileLock;

/// Blocks until `path` (created if absent) is locked exclusively; the lock
/// is held until the value is dropped (or the process dies). Each `open` is
/// its own open file description, so the lock also excludes other threads
/// of this process.
pub(crate) fn lock(path: &Path) -> Result<FileLock, ReportError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ctx("open lock file", path)?;
    file.lock().ctx("lock", path)?;
    Ok(FileLock::held(file))
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

/// Replaces `path` by a fully written copy, so a reader or a crash never
/// sees half a file (see [`write_atomic_with`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_atomic_with(path, bytes, |op, path, source| ReportError::Io {
        op,
        path: path.to_path_buf(),
        source,
    })
}

/// The crate's one whole-file replace: writes `bytes` to a sibling temporary
/// file and renames it over `path`, so a reader or a crash never sees half a
/// file and the last writer wins, whole. The temporary name is unique to this
/// process and call, so writers need no lock to keep their bytes apart (two
/// processes running the same test write its reports at once; a Vagrant
/// cache may be written by two runs). On failure the temporary file is
/// removed (best effort: the write error is what the caller needs). Nothing
/// is fsynced: the files are rewritten as a run goes, and a crash loses at
/// most the last version, never the whole file. `error` turns a failed step
/// (what was done, to which path, the OS error) into the caller's error.
pub(crate) fn write_atomic_with<E>(
    path: &Path,
    bytes: &[u8],
    error: impl Fn(&'static str, &Path, io::Error) -> E,
) -> Result<(), E> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut tmp = path.as_os_str().to_owned();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    tmp.push(format!(".{}-{n}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = File::create(&tmp)
        .map_err(|e| error("create", &tmp, e))
        .and_then(|mut file| file.write_all(bytes).map_err(|e| error("write", &tmp, e)))
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| error("rename into place", path, e)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Creates a directory and its parents.
pub(crate) fn create_dirs(path: &Path) -> Result<(), ReportError> {
    fs::create_dir_all(path).ctx("create directory", path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed replace leaves the old file and no temporary file behind.
    #[test]
    fn a_failed_replace_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory cannot be renamed over.
        let target = dir.path().join("target");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("kept"), b"x").unwrap();
        let err = write_atomic(&target, b"new").unwrap_err().to_string();
        assert!(err.contains("rename into place"), "{err}");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary file left behind");
        write_atomic(&dir.path().join("file"), b"new").unwrap();
        assert_eq!(fs::read(dir.path().join("file")).unwrap(), b"new");
    }
}
