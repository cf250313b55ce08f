//! Advisory `flock` locks held by a value: leases, the admission lock, the
//! session and results-root locks, the rerun list's.
//!
//! Dropping a [`FileLock`] unlocks the file before closing it. Closing
//! alone releases a `flock` only once every descriptor of that open file is
//! closed, and a child that another thread is forking holds a copy of each
//! until it execs (`O_CLOEXEC` acts at `exec`, not at `fork`). This crate's
//! threads start processes all the time (local commands, services), so a
//! lock released by closing could outlive its holder by that child's
//! start-up: a waiter woken for a freed node could find it still leased, and
//! a new session skipped repairing one whose lock looked held (a unit test
//! failed so under load).

use std::fs::File;

/// A locked file, unlocked when dropped.
#[derive(Debug)]
pub(crate) struct FileLock {
    file: File,
}

impl FileLock {
    /// Takes ownership of `file`, which the caller has just locked. The
    /// open file must be this value's alone (not a `try_clone` kept
    /// elsewhere): dropping it unlocks the open file for every descriptor.
    pub(crate) fn held(file: File) -> Self {
        FileLock { file }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Unlocks the open file itself, whoever else holds a descriptor of
        // it; an error leaves the lock to the close that follows.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A descriptor of the locked file that outlives the holder (as a
    /// forked child's copy does until it execs) does not keep it locked.
    #[test]
    fn dropping_unlocks_even_while_a_copy_of_the_descriptor_lives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let file = File::create(&path).unwrap();
        file.lock().unwrap();
        let copy = file.try_clone().unwrap(); // a dup, as fork makes
        drop(FileLock::held(file));
        let other = File::open(&path).unwrap();
        assert!(other.try_lock().is_ok(), "still locked through the copy");
        drop(copy);
    }
}
