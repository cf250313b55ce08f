//! The results tree: `<results-root>/<YYYY-MM-DD>--<NNN>/` session
//! directories, the `latest` link, and the per-test directory names.
//!
//! Bookkeeping lives in `<results-root>/.ducktape/` (not the working
//! directory, unlike ducktape): `session_id` (the last id handed out), `lock`,
//! and `runs/<key>` (which session a nextest run joined).

use super::error::{IoContext, ReportError};
use super::fsutil;
use serde_json::Value;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A session directory, and whether this call created it (the creator writes
/// the session's static files).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// `YYYY-MM-DD--NNN`.
    pub id: String,
    /// `<results-root>/<id>`.
    pub dir: PathBuf,
    /// True if this call created the directory.
    pub created: bool,
}

/// `runs/` entries older than this are removed when a new run is recorded.
const RUN_MAP_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// The longest file name most file systems accept.
const MAX_SEGMENT: usize = 255;

/// Creates the next session directory of today (local date) under
/// `results_root` and points `latest` at it. Concurrent callers, in threads
/// or processes, get distinct ids. Then repairs the other sessions of the
/// root whose reports a killed run left behind their records.
pub fn create_session(results_root: &Path) -> Result<Session, ReportError> {
    let session = {
        let _lock = lock_root(results_root)?;
        create_locked(results_root, &today())?
    };
    // A session of a killed run is opened by no one again: repair it now.
    super::repair::repair_sessions(results_root, &session.dir);
    Ok(session)
}

/// Joins the session of the run named `key` (nextest's `NEXTEST_RUN_ID`):
/// the first caller creates it, every later caller with the same key gets the
/// same directory with `created == false`. The creator repairs the other
/// sessions of the root, as [`create_session`] does.
pub fn join_session(results_root: &Path, key: &str) -> Result<Session, ReportError> {
    let root_lock = lock_root(results_root)?;
    let runs = results_root.join(".ducktape").join("runs");
    let map = runs.join(segment(key));
    if let Ok(id) = fs::read_to_string(&map) {
        let id = id.trim();
        let dir = results_root.join(id);
        // The id must name a directory directly under the root.
        if !id.is_empty() && segment(id) == id && dir.is_dir() {
            return Ok(Session {
                id: id.to_owned(),
                dir,
                created: false,
            });
        }
    }
    let session = create_locked(results_root, &today())?;
    fsutil::create_dirs(&runs)?;
    prune_old_runs(&runs);
    fsutil::write_atomic(&map, session.id.as_bytes())?;
    drop(root_lock);
    super::repair::repair_sessions(results_root, &session.dir);
    Ok(session)
}

/// Locks `<results-root>/.ducktape/lock`, creating both if needed.
fn lock_root(results_root: &Path) -> Result<fsutil::FileLock, ReportError> {
    let meta_dir = results_root.join(".ducktape");
    fsutil::create_dirs(&meta_dir)?;
    fsutil::lock(&meta_dir.join("lock"))
}

fn today() -> String {
    crate::clock::local_date()
}

/// Creates `<day>--<NNN>` with the first free number after both the counter
/// file and the directories already there (so a lost or stale counter cannot
/// reuse an id). The caller holds the root lock.
fn create_locked(results_root: &Path, day: &str) -> Result<Session, ReportError> {
    let counter = results_root.join(".ducktape").join("session_id");
    let after_counter = fs::read_to_string(&counter)
        .ok()
        .and_then(|id| number_of(id.trim(), day))
        .unwrap_or(0);
    let mut n = after_counter.max(max_existing(results_root, day)?) + 1;
    loop {
        let id = format!("{day}--{n:03}");
        let dir = results_root.join(&id);
        match fs::create_dir(&dir) {
            Ok(()) => {
                // In place, not by rename: the counter is only a hint (the
                // directories are the truth), so a torn write costs nothing.
                fsutil::write_file(&counter, id.as_bytes())?;
                point_latest(results_root, &id);
                return Ok(Session {
                    id,
                    dir,
                    created: true,
                });
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(e).ctx("create session directory", &dir),
        }
    }
}

/// `NNN` of `<day>--NNN`, if `id` is of that day.
fn number_of(id: &str, day: &str) -> Option<u32> {
    let digits = id.strip_prefix(day)?.strip_prefix("--")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The highest `NNN` among `<day>--NNN` directories in the root (0 if none).
fn max_existing(results_root: &Path, day: &str) -> Result<u32, ReportError> {
    let entries = fs::read_dir(results_root).ctx("list", results_root)?;
    Ok(entries
        .filter_map(Result::ok)
        .filter_map(|e| number_of(e.file_name().to_str()?, day))
        .max()
        .unwrap_or(0))
}

/// Replaces `<root>/latest` with a link to `id`, atomically (a new link is
/// renamed over the old one). A failure only costs the convenience link, so
/// it is logged, not returned.
fn point_latest(results_root: &Path, id: &str) {
    #[cfg(unix)]
    {
        let tmp = results_root.join(".latest.tmp");
        let latest = results_root.join("latest");
        let _ = fs::remove_file(&tmp);
        let result = std::os::unix::fs::symlink(id, &tmp).and_then(|()| fs::rename(&tmp, &latest));
        if let Err(e) = result {
            tracing::warn!("cannot point {} at {id}: {e}", latest.display());
        }
    }
    #[cfg(not(unix))]
    let _ = (results_root, id);
}

/// Best effort: run maps are tiny, but one is left per nextest run.
fn prune_old_runs(runs: &Path) {
    let Ok(entries) = fs::read_dir(runs) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.filter_map(Result::ok) {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > RUN_MAP_MAX_AGE);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A test's directory relative to the session directory, ending in `/`:
/// `<module path, :: as />/<fn>/<params>/<repeat_index>/`, where `<params>`
/// is `a=1.b=x` (ducktape's style) or, with `nested`, `a=1/b=x/`, and is
/// absent without arguments. String arguments are written without quotes,
/// others as compact JSON. Each name is escaped (see [`segment`]).
pub fn relative_test_dir(
    module: &str,
    function: &str,
    args: &[(String, Value)],
    repeat_index: usize,
    nested: bool,
) -> String {
    let mut segments: Vec<String> = module
        .split("::")
        .filter(|m| !m.is_empty())
        .map(segment)
        .collect();
    segments.push(segment(function));
    let params: Vec<String> = args
        .iter()
        .map(|(name, value)| format!("{name}={}", render_arg(value)))
        .collect();
    if nested {
        segments.extend(params.iter().map(|p| segment(p)));
    } else if !params.is_empty() {
        segments.push(segment(&params.join(".")));
    }
    segments.push(repeat_index.to_string());
    segments.join("/") + "/"
}

fn render_arg(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One safe path segment: `%`, `/`, `\`, control characters and a leading
/// `.` are percent-escaped (so distinct names stay distinct and no name is
/// `.`, `..` or hidden), an empty name becomes `_`, and a name over 255 bytes
/// is cut and ends in `~` plus a stable 16-hex-digit hash of the whole name.
pub fn segment(name: &str) -> String {
    if name.is_empty() {
        return "_".to_owned();
    }
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.char_indices() {
        match c {
            '%' | '/' | '\\' => push_escaped(&mut out, c),
            '.' if i == 0 => push_escaped(&mut out, c),
            c if c.is_control() => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    if out.len() <= MAX_SEGMENT {
        return out;
    }
    let hash = format!("~{:016x}", fnv1a(out.as_bytes()));
    let mut cut = MAX_SEGMENT - hash.len();
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    out + &hash
}

fn push_escaped(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        out.push_str(&format!("%{b:02X}"));
    }
}

/// FNV-1a, 64 bit: tiny and stable across Rust versions (std's hasher is not
/// guaranteed to be), so a long name maps to the same directory every run.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::{Arc, Barrier};

    fn args(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn ids_increment_per_day_and_roll_over() {
        let root = tempfile::tempdir().unwrap();
        let a = create_session(root.path()).unwrap();
        let b = create_session(root.path()).unwrap();
        assert!(
            a.id.ends_with("--001") && b.id.ends_with("--002"),
            "{a:?} {b:?}"
        );
        assert_eq!(a.id[..10], b.id[..10]);
        assert!(a.created && b.created && b.dir.is_dir());
        assert_eq!(
            fs::read_link(root.path().join("latest")).unwrap(),
            Path::new(&b.id)
        );

        let _lock = lock_root(root.path()).unwrap();
        let next_day = create_locked(root.path(), "2999-01-01").unwrap();
        assert_eq!(next_day.id, "2999-01-01--001");
        assert_eq!(
            fs::read_link(root.path().join("latest")).unwrap(),
            Path::new(&next_day.id)
        );
    }

    #[test]
    fn lost_counter_does_not_reuse_ids() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("2999-01-01--007")).unwrap();
        fs::create_dir_all(root.path().join(".ducktape")).unwrap();
        let _lock = lock_root(root.path()).unwrap();
        assert_eq!(
            create_locked(root.path(), "2999-01-01").unwrap().id,
            "2999-01-01--008"
        );
        // A counter ahead of the directories (sessions deleted) wins too.
        fs::write(root.path().join(".ducktape/session_id"), "2999-01-01--020").unwrap();
        assert_eq!(
            create_locked(root.path(), "2999-01-01").unwrap().id,
            "2999-01-01--021"
        );
    }

    #[test]
    fn concurrent_creates_get_distinct_ids() {
        let root = tempfile::tempdir().unwrap();
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let root = root.path().to_path_buf();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    create_session(&root).unwrap().id
                })
            })
            .collect();
        let mut ids: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 8);
        let newest = ids.last().unwrap();
        assert_eq!(
            fs::read_link(root.path().join("latest")).unwrap(),
            Path::new(newest)
        );
    }

    #[test]
    fn join_with_same_key_shares_the_session() {
        let root = tempfile::tempdir().unwrap();
        let barrier = Arc::new(Barrier::new(6));
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let root = root.path().to_path_buf();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    join_session(&root, "run-1234").unwrap()
                })
            })
            .collect();
        let sessions: Vec<Session> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(sessions.iter().filter(|s| s.created).count(), 1);
        assert!(sessions.iter().all(|s| s.dir == sessions[0].dir));
        let other = join_session(root.path(), "run-5678").unwrap();
        assert!(other.created);
        assert_ne!(other.dir, sessions[0].dir);
    }

    #[test]
    fn test_dir_names() {
        let a = args(&[("a", json!(1)), ("b", json!("x")), ("c", json!([1, 2]))]);
        assert_eq!(
            relative_test_dir("kafka::bounce", "test_it", &a, 1, false),
            "kafka/bounce/test_it/a=1.b=x.c=[1,2]/1/"
        );
        assert_eq!(
            relative_test_dir("kafka::bounce", "test_it", &a, 2, true),
            "kafka/bounce/test_it/a=1/b=x/c=[1,2]/2/"
        );
        assert_eq!(relative_test_dir("", "f", &[], 1, false), "f/1/");
        assert_eq!(relative_test_dir("m", "f", &[], 3, true), "m/f/3/");
    }

    #[test]
    fn unsafe_names_are_escaped() {
        assert_eq!(segment("p=a/b"), "p=a%2Fb");
        assert_eq!(segment(".."), "%2E.");
        assert_eq!(segment("x=\0%"), "x=%00%25");
        assert_eq!(segment(""), "_");
        let long = "é".repeat(200);
        let cut = segment(&long);
        assert!(cut.len() <= 255, "{}", cut.len());
        assert!(cut.contains('~'));
        assert_eq!(cut, segment(&long), "stable");
        assert_ne!(cut, segment(&"é".repeat(201)));
        let a = args(&[("s", json!("v".repeat(300)))]);
        let dir = relative_test_dir("m", "f", &a, 1, false);
        assert!(dir.split('/').all(|s| s.len() <= 255));
    }
}
