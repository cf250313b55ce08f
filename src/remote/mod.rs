//! Remote accounts: how services run commands and move files on a node.
//!
//! [`RemoteAccount`] is the seam between services and nodes: a service never
//! knows whether its node is a local virtual node or an SSH host. Required
//! methods are the primitives each transport implements; the rest are built
//! on them, so every transport behaves the same.

mod local;
mod monitor;

pub use local::LocalAccount;
pub use monitor::LogMonitor;

use std::fmt;
use std::path::Path;
use std::time::Duration;

/// The default limit for one command: long enough for real work, short
/// enough that a command that hangs fails the test instead of the run.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Something went wrong running a command or moving a file on a node.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The command exited non-zero (ducktape's RemoteCommandError).
    #[error("{node}: `{cmd}` exited with status {status}{}", tail(.stderr))]
    Command {
        /// The node's name.
        node: String,
        /// The command as run.
        cmd: String,
        /// Exit status (128+N for signal N).
        status: i32,
        /// The last lines of its standard error.
        stderr: String,
    },
    /// The command ran longer than its timeout and was killed.
    #[error("{node}: `{cmd}` timed out after {timeout:?} and was killed")]
    Timeout {
        /// The node's name.
        node: String,
        /// The command.
        cmd: String,
        /// The limit.
        timeout: Duration,
    },
    /// The transport failed (spawn, connection, file I/O).
    #[error("{node}: {op}: {source}")]
    Io {
        /// The node's name.
        node: String,
        /// What was being done.
        op: String,
        /// The cause.
        source: std::io::Error,
    },
}

fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(5);
    format!(": {}", lines[start..].join(" | "))
}

/// What a finished command printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Exit status.
    pub status: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A line iterator over a running command's output (`ssh_capture`).
pub type Lines = Box<dyn Iterator<Item = std::io::Result<String>> + Send>;

/// A node's account: run commands, move files, manage processes.
pub trait RemoteAccount: Send + Sync + fmt::Debug {
    /// The node's name in reports and logs.
    fn name(&self) -> &str;

    /// The address other nodes use to reach this one.
    fn hostname(&self) -> &str;

    /// The address routable from outside the cluster (ducktape's
    /// `externally_routable_ip`); the hostname unless configured.
    fn externally_routable_ip(&self) -> &str {
        self.hostname()
    }

    /// Where this node keeps files (data, logs, configs) of services.
    fn root(&self) -> &Path;

    /// Runs `cmd` with the shell and waits for it, killing it after `timeout`.
    fn exec(&self, cmd: &str, timeout: Duration) -> Result<Output, RemoteError>;

    /// Starts `cmd` in the background with stdin from /dev/null and output
    /// appended to `log`; returns its pid at once. It cannot hold the channel.
    fn spawn(&self, cmd: &str, log: &Path) -> Result<u32, RemoteError>;

    /// Runs `cmd` and streams its standard output line by line.
    fn capture(&self, cmd: &str) -> Result<Lines, RemoteError>;

    /// Reads a file from byte `offset` on.
    fn read_from(&self, path: &Path, offset: u64) -> Result<Vec<u8>, RemoteError>;

    /// Writes `contents` to `path`, creating parent directories.
    fn create_file(&self, path: &Path, contents: &[u8]) -> Result<(), RemoteError>;

    /// Pids of this node's processes whose command line matches the regex.
    fn pids(&self, pattern: &str) -> Result<Vec<u32>, RemoteError>;

    /// Copies a file or directory from this node to a local path.
    fn copy_from(&self, src: &Path, dest: &Path) -> Result<(), RemoteError>;

    /// Copies a local file or directory to this node.
    fn copy_to(&self, src: &Path, dest: &Path) -> Result<(), RemoteError>;

    /// Runs `cmd`; a non-zero exit is an error unless `allow_fail`.
    fn ssh(&self, cmd: &str, allow_fail: bool) -> Result<Output, RemoteError> {
        let out = self.exec(cmd, DEFAULT_COMMAND_TIMEOUT)?;
        if out.status != 0 && !allow_fail {
            return Err(RemoteError::Command {
                node: self.name().to_string(),
                cmd: cmd.to_string(),
                status: out.status,
                stderr: out.stderr,
            });
        }
        Ok(out)
    }

    /// Runs `cmd` and returns its standard output; a non-zero exit is an error.
    fn ssh_output(&self, cmd: &str) -> Result<String, RemoteError> {
        Ok(self.ssh(cmd, false)?.stdout)
    }

    /// Reads a whole file.
    fn read_file(&self, path: &Path) -> Result<Vec<u8>, RemoteError> {
        self.read_from(path, 0)
    }

    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> Result<bool, RemoteError> {
        self.test_path("-e", path)
    }

    /// Whether `path` is a regular file.
    fn isfile(&self, path: &Path) -> Result<bool, RemoteError> {
        self.test_path("-f", path)
    }

    /// Whether `path` is a directory.
    fn isdir(&self, path: &Path) -> Result<bool, RemoteError> {
        self.test_path("-d", path)
    }

    /// `test <flag> <path>`.
    fn test_path(&self, flag: &str, path: &Path) -> Result<bool, RemoteError> {
        Ok(self
            .ssh(&format!("test {flag} {}", quote(path)), true)?
            .status
            == 0)
    }

    /// Creates a directory and its parents.
    fn mkdirs(&self, path: &Path) -> Result<(), RemoteError> {
        self.ssh(&format!("mkdir -p {}", quote(path)), false)
            .map(drop)
    }

    /// Removes a file or directory tree.
    fn remove(&self, path: &Path, allow_fail: bool) -> Result<(), RemoteError> {
        self.ssh(&format!("rm -rf {}", quote(path)), allow_fail)
            .map(drop)
    }

    /// Whether process `pid` is running (zombies do not count).
    fn alive(&self, pid: u32) -> Result<bool, RemoteError> {
        let out = self.ssh(&format!("ps -o stat= -p {pid}"), true)?;
        Ok(out.status == 0 && !out.stdout.trim_start().starts_with('Z'))
    }

    /// Sends `signal` (a number or a name like `TERM`) to `pid`.
    fn signal(&self, pid: u32, signal: &str, allow_fail: bool) -> Result<(), RemoteError> {
        self.ssh(&format!("kill -{} {pid}", quote_str(signal)), allow_fail)
            .map(drop)
    }

    /// Signals every process matching `pattern`: TERM when `clean_shutdown`,
    /// else KILL. Returns the pids signalled.
    fn kill_process(
        &self,
        pattern: &str,
        clean_shutdown: bool,
        allow_fail: bool,
    ) -> Result<Vec<u32>, RemoteError> {
        let sig = if clean_shutdown { "TERM" } else { "KILL" };
        let pids = self.pids(pattern)?;
        for &pid in &pids {
            self.signal(pid, sig, allow_fail)?;
        }
        Ok(pids)
    }

    /// Pids of Java processes whose command line matches `pattern`.
    fn java_pids(&self, pattern: &str) -> Result<Vec<u32>, RemoteError> {
        self.pids(&format!("java.*{pattern}"))
    }
}

/// Shell-quotes a path for a command line.
pub fn quote(path: &Path) -> String {
    quote_str(&path.to_string_lossy())
}

/// Shell-quotes a string for a command line.
pub fn quote_str(s: &str) -> String {
    shell_words::quote(s).into_owned()
}
