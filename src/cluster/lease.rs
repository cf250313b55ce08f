//! Node leases: a node is in use iff its lease file is locked.
//!
//! Locks are `flock`s (std `File::try_lock`), so they work the same between
//! threads of one `cargo test` process (each `open` is its own lock holder)
//! and between `cargo nextest` processes, and a process that dies releases
//! its leases by dying: a stale lease can never block a new run.

use crate::flock::FileLock;
use parking_lot::{Condvar, Mutex};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A held lease on one node; dropping it frees the node.
#[derive(Debug)]
pub struct Lease {
    index: usize,
    file: Option<FileLock>,
}

impl Lease {
    /// The node's index in its cluster.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Release the flock before waking in-process waiters, so the one
        // that wakes finds the node free.
        drop(self.file.take());
        let (lock, cvar) = &*FREED;
        *lock.lock() += 1;
        cvar.notify_all();
    }
}

/// In-process waiters sleep on this and wake when any lease is dropped;
/// waiters in other processes re-check at [`POLL`] intervals.
static FREED: once_cell::sync::Lazy<(Mutex<u64>, Condvar)> =
    once_cell::sync::Lazy::new(|| (Mutex::new(0), Condvar::new()));

/// How often a waiter re-checks for nodes freed by another process.
pub const POLL: Duration = Duration::from_millis(25);

/// The lease files of one cluster.
#[derive(Debug, Clone)]
pub struct LeaseDir {
    dir: PathBuf,
}

impl LeaseDir {
    /// Opens (creating) the lease directory for a cluster identity. The
    /// root must be a directory of this user that no one else can write
    /// (see [`check_root`]); `leases/` and the cluster's directory under it
    /// are made private (see [`private_dir`]).
    pub fn open(root: &Path, cluster_id: &str) -> io::Result<Self> {
        check_root(root)?;
        let leases = root.join("leases");
        private_dir(&leases)?;
        let dir = leases.join(sanitize(cluster_id));
        private_dir(&dir)?;
        Ok(LeaseDir { dir })
    }

    /// The default state directory: `$XDG_RUNTIME_DIR/ducktape` when that
    /// variable names a directory of this user (it is private to the user
    /// by definition), else `$TMPDIR/ducktape-<uid>`.
    pub fn default_root() -> PathBuf {
        use std::os::unix::fs::MetadataExt as _;
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|d| d.is_absolute())
            // Under `sudo` the variable may still name the invoking user's
            // directory: only our own counts.
            .filter(|d| std::fs::metadata(d).is_ok_and(|m| m.is_dir() && m.uid() == euid()));
        match runtime {
            Some(dir) => dir.join("ducktape"),
            None => std::env::temp_dir().join(format!("ducktape-{}", euid())),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Tries to lease node `index`, whose lease file is named by `key`
    /// (for hosts: `host-<address>_<port>`, so every cluster file that
    /// lists a host shares its lease), without waiting.
    pub fn try_lease_key(&self, index: usize, key: &str) -> io::Result<Option<Lease>> {
        let file = self.open_file(&format!("{}.lock", sanitize(key)))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Lease {
                index,
                file: Some(FileLock::held(file)),
            })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// Takes the admission lock: one allocator at a time waits for nodes, so
    /// a large test that is waiting cannot be overtaken by small ones.
    pub(crate) fn admission(&self) -> io::Result<FileLock> {
        let file = self.open_file("admission.lock")?;
        file.lock()?;
        Ok(FileLock::held(file))
    }

    fn open_file(&self, name: &str) -> io::Result<File> {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(name))
    }
}

/// What to do about a directory that is not ours: said at the end of every
/// refusal.
const FIX: &str = "remove it, or set --lease-root DIR (or DUCKTAPE_LEASE_ROOT) to a directory \
                   of your own";

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn refuse(path: &Path, why: String) -> io::Error {
    refuse_with(path, why, FIX)
}

fn refuse_with(path: &Path, why: String, fix: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("refusing to use {}: {why}; {fix}", path.display()),
    )
}

/// Creates `path` (mode 0700) unless it exists, then checks without
/// following symlinks that it is a real directory owned by this user.
/// `mkdir` never follows a symlink in the last component, and the check
/// uses `lstat`, so a symlink planted where a directory should be is
/// refused, never written through.
fn own_dir(path: &Path) -> io::Result<std::fs::Metadata> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        // Made by an earlier run, or by another process just now.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot create {}: {e}", path.display()),
            ))
        }
    }
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "?".into());
        return Err(refuse(
            path,
            format!("it is a symbolic link (to {target}), not a directory"),
        ));
    }
    if !meta.is_dir() {
        return Err(refuse(path, "it is not a directory".into()));
    }
    if meta.uid() != euid() {
        return Err(refuse(
            path,
            format!(
                "it is owned by uid {}, not by this user (uid {})",
                meta.uid(),
                euid()
            ),
        ));
    }
    Ok(meta)
}

/// Makes `path` a directory private to this user: created 0700 if absent,
/// refused if it is a symlink, not a directory, or someone else's, and
/// narrowed to 0700 if it is ours but looser (made by an older version).
/// Used for every directory the framework makes under the lease root.
pub fn private_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let meta = own_dir(path)?;
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| io::Error::new(e.kind(), format!("chmod 700 {}: {e}", path.display())))?;
    }
    Ok(())
}

/// Checks (creating it 0700 if absent, with its parents) the lease root:
/// it must be a real directory owned by this user that no one else can
/// write, since everything below it is trusted because of that. An existing
/// root's mode is otherwise left alone: `--lease-root` may name a directory
/// the user keeps other things in.
pub fn check_root(root: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", parent.display()))
        })?;
    }
    let mode = own_dir(root)?.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(refuse_with(
            root,
            format!("it is writable by group or others (mode {mode:o})"),
            "run `chmod 700` on it, or set --lease-root DIR (or DUCKTAPE_LEASE_ROOT) to a \
             directory of your own",
        ));
    }
    Ok(())
}

/// Blocks until a lease is dropped in this process or [`POLL`] passes.
pub fn wait_for_free() {
    let (lock, cvar) = &*FREED;
    let mut seen = lock.lock();
    let _ = cvar.wait_for(&mut seen, POLL);
}

fn sanitize(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_excludes_others_until_dropped() {
        let root = tempfile::tempdir().unwrap();
        let dir = LeaseDir::open(root.path(), "t").unwrap();
        let first = dir.try_lease_key(0, "node-0").unwrap().expect("free node");
        assert!(
            dir.try_lease_key(0, "node-0").unwrap().is_none(),
            "leased twice"
        );
        assert!(dir.try_lease_key(1, "node-1").unwrap().is_some());
        drop(first);
        assert!(dir.try_lease_key(0, "node-0").unwrap().is_some());
    }
}

#[cfg(test)]
mod dir_tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().mode() & 0o777
    }

    #[test]
    fn directories_are_made_private() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("state");
        let dir = LeaseDir::open(&root, "c").unwrap();
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("leases")), 0o700);
        assert_eq!(mode(dir.path()), 0o700);
        // One of ours made looser by an older version is narrowed.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        LeaseDir::open(&root, "c").unwrap();
        assert_eq!(mode(dir.path()), 0o700);
    }

    #[test]
    fn a_symlink_where_a_directory_should_be_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let root = tmp.path().join("state");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(&elsewhere, root.join("leases")).unwrap();
        let err = LeaseDir::open(&root, "c").unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "refusing to use {}",
                root.join("leases").display()
            )) && err.contains("symbolic link")
                && err.contains("--lease-root")
                && !err.contains('\n'),
            "{err}"
        );
        assert_eq!(
            std::fs::read_dir(&elsewhere).unwrap().count(),
            0,
            "wrote through"
        );
        // A symlinked root is refused just the same.
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        let err = check_root(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
    }

    #[test]
    fn a_root_others_can_write_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("shared");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = LeaseDir::open(&root, "c").unwrap_err().to_string();
        assert!(
            err.contains("writable by group or others (mode 777)"),
            "{err}"
        );
        assert!(!root.join("leases").exists());
    }

    #[test]
    fn a_root_owned_by_someone_else_is_refused() {
        if euid() != 0 {
            eprintln!("skipped: needs root to give a directory to another user");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("theirs");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::chown(&root, Some(65534), Some(65534)).unwrap();
        let err = LeaseDir::open(&root, "c").unwrap_err().to_string();
        assert!(
            err.contains("owned by uid 65534, not by this user (uid 0)")
                && err.contains(&root.display().to_string()),
            "{err}"
        );
        assert!(!root.join("leases").exists());
        assert_eq!(std::fs::metadata(&root).unwrap().uid(), 65534);
    }

    #[test]
    fn the_default_root_is_this_users() {
        let root = LeaseDir::default_root();
        let name = root.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name == "ducktape" || name == format!("ducktape-{}", euid()),
            "{}",
            root.display()
        );
    }
}
