//! Waiting for a line in a log file (ducktape's `LogMonitor`).

use super::{RemoteAccount, RemoteError};
use regex::Regex;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Watches a log file from the moment it was created: only output written
/// after that counts, so an old "started" line cannot satisfy a new wait.
#[derive(Debug)]
pub struct LogMonitor {
    account: Arc<dyn RemoteAccount>,
    path: PathBuf,
    offset: u64,
}

/// Waiting for a log line failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// The pattern did not appear in time.
    #[error("{node}: {msg} (no line matching /{pattern}/ in {path} within {timeout:?})")]
    Timeout {
        /// The node.
        node: String,
        /// The caller's message.
        msg: String,
        /// The regex.
        pattern: String,
        /// The log file.
        path: PathBuf,
        /// How long it waited.
        timeout: Duration,
    },
    /// The pattern is not a valid regex.
    #[error("bad log pattern /{pattern}/")]
    Pattern {
        /// The regex.
        pattern: String,
        /// Why.
        source: regex::Error,
    },
    /// Reading the file failed.
    #[error(transparent)]
    Remote(#[from] RemoteError),
}

impl LogMonitor {
    /// Starts watching `path` (which may not exist yet) on `account`.
    pub fn start(account: Arc<dyn RemoteAccount>, path: &Path) -> Result<Self, RemoteError> {
        // The size, not the contents: a restarted service's log may be large.
        let size = account.ssh(&format!("stat -c %s {}", super::quote(path)), true)?;
        let offset = if size.status == 0 {
            size.stdout.trim().parse().unwrap_or(0)
        } else {
            0 // not there yet
        };
        Ok(LogMonitor {
            account,
            path: path.to_path_buf(),
            offset,
        })
    }

    /// Waits until a line matching `pattern` is written, checking every
    /// `backoff`; fails with `err_msg` after `timeout`.
    pub fn wait_until(
        &self,
        pattern: &str,
        timeout: Duration,
        backoff: Duration,
        err_msg: &str,
    ) -> Result<(), MonitorError> {
        let re = Regex::new(pattern).map_err(|source| MonitorError::Pattern {
            pattern: pattern.to_string(),
            source,
        })?;
        let deadline = Instant::now() + timeout;
        // Every wait searches from where the monitor started; within one
        // wait, complete lines already searched are not read again.
        let mut cursor = self.offset;
        loop {
            if self.account.exists(&self.path)? {
                let bytes = self.account.read_from(&self.path, cursor)?;
                let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let text = String::from_utf8_lossy(&bytes);
                if text.lines().any(|l| re.is_match(l)) {
                    return Ok(());
                }
                cursor += complete as u64;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(MonitorError::Timeout {
                    node: self.account.name().to_string(),
                    msg: err_msg.to_string(),
                    pattern: pattern.to_string(),
                    path: self.path.clone(),
                    timeout,
                });
            }
            std::thread::sleep(backoff.min(deadline - now));
        }
    }
}
