//! Node leases: a node is in use iff its lease file is locked.
//!
//! Locks are `flock`s (std `File::try_lock`), so they work the same between
//! threads of one `cargo test` process (each `open` is its own lock holder)
//! and between `cargo nextest` processes, and a process that dies releases
//! its leases by dying: a stale lease can never block a new run.

use parking_lot::{Condvar, Mutex};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A held lease on one node; dropping it frees the node.
#[derive(Debug)]
pub struct Lease {
    index: usize,
    file: Option<File>,
}

impl Lease {
    /// The node's index in its cluster.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Close the file (releasing the flock) before waking in-process
        // waiters, so the one that wakes finds the node free.
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
    /// Opens (creating) the lease directory for a cluster identity.
    pub fn open(root: &Path, cluster_id: &str) -> io::Result<Self> {
        let dir = root.join("leases").join(sanitize(cluster_id));
        std::fs::create_dir_all(&dir)?;
        Ok(LeaseDir { dir })
    }

    /// The default state directory: `$TMPDIR/ducktape-<uid>`.
    pub fn default_root() -> PathBuf {
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        std::env::temp_dir().join(format!("ducktape-{uid}"))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Tries to lease node `index` without waiting.
    pub fn try_lease(&self, index: usize) -> io::Result<Option<Lease>> {
        self.try_lease_key(index, &format!("node-{index}"))
    }

    /// Tries to lease node `index`, whose lease file is named by `key`
    /// (for hosts: `host-<address>_<port>`, so every cluster file that
    /// lists a host shares its lease), without waiting.
    pub fn try_lease_key(&self, index: usize, key: &str) -> io::Result<Option<Lease>> {
        let file = self.open_file(&format!("{}.lock", sanitize(key)))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Lease {
                index,
                file: Some(file),
            })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// Takes the admission lock: one allocator at a time waits for nodes, so
    /// a large test that is waiting cannot be overtaken by small ones.
    pub fn admission(&self) -> io::Result<File> {
        let file = self.open_file("admission.lock")?;
        file.lock()?;
        Ok(file)
    }

    fn open_file(&self, name: &str) -> io::Result<File> {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(name))
    }
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
        let first = dir.try_lease(0).unwrap().expect("free node");
        assert!(dir.try_lease(0).unwrap().is_none(), "leased twice");
        assert!(dir.try_lease(1).unwrap().is_some());
        drop(first);
        assert!(dir.try_lease(0).unwrap().is_some());
    }
}
