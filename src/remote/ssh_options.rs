//! How SSH nodes are reached, independent of the SSH library: host key
//! policy, known_hosts, the node root, and the registered checkers that run
//! when an SSH account fails. Kept apart from the libssh2 accounts so a
//! build without the `ssh` feature still parses the same configuration.

use super::{RemoteAccount, RemoteError};
use std::path::PathBuf;
use std::time::Duration;

/// Where services keep their files on an SSH node unless configured.
pub const DEFAULT_SSH_ROOT: &str = "/tmp/ducktape";

/// How host keys are checked against the known_hosts file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HostKeyPolicy {
    /// A host must be in the file with the key it presents (OpenSSH's
    /// `StrictHostKeyChecking yes`).
    #[default]
    Strict,
    /// An unknown host's key is accepted and appended to the file; a changed
    /// key is still an error (`StrictHostKeyChecking accept-new`).
    AcceptNew,
    /// No checking at all (throw-away VMs whose keys change every boot).
    Off,
}

/// How SSH accounts connect and where they keep files. Start from
/// [`SshOptions::default`] (or [`from_env`](SshOptions::from_env)) and
/// change what you need, so fields can be added:
///
/// ```
/// use ducktape::remote::{HostKeyPolicy, SshOptions};
///
/// let o = SshOptions::default()
///     .with_known_hosts("/tmp/cluster/known_hosts")
///     .with_host_keys(HostKeyPolicy::AcceptNew)
///     .with_root("/mnt/ducktape");
/// assert_eq!(o.root, std::path::PathBuf::from("/mnt/ducktape"));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SshOptions {
    /// The known_hosts file; `None`: `$DUCKTAPE_KNOWN_HOSTS`, else
    /// `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
    /// How host keys are checked.
    pub host_keys: HostKeyPolicy,
    /// The node directory for services' files (created on first use).
    pub root: PathBuf,
    /// Limit for TCP connect plus SSH handshake and auth, and for opening a
    /// channel on an existing session.
    pub connect_timeout: Duration,
    /// Keepalive interval while a command runs or a session idles in use.
    pub keepalive: Duration,
    /// A connection whose sent data (a keepalive, a command) stays
    /// unacknowledged this long is dropped (`TCP_USER_TIMEOUT`).
    pub dead_after: Duration,
    /// How long to wait for end-of-file after a command exited while
    /// something it started in the background holds its output open.
    pub output_grace: Duration,
    /// Functions called with every SSH error of an account
    /// (`--ssh-checker-function`).
    pub checkers: Vec<&'static SshChecker>,
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions {
            known_hosts: None,
            host_keys: HostKeyPolicy::Strict,
            root: PathBuf::from(DEFAULT_SSH_ROOT),
            connect_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(15),
            dead_after: Duration::from_secs(30),
            output_grace: Duration::from_millis(200),
            checkers: Vec::new(),
        }
    }
}

impl SshOptions {
    /// Checks host keys against this known_hosts file.
    pub fn with_known_hosts(mut self, file: impl Into<PathBuf>) -> Self {
        self.known_hosts = Some(file.into());
        self
    }

    /// Checks host keys this way.
    pub fn with_host_keys(mut self, policy: HostKeyPolicy) -> Self {
        self.host_keys = policy;
        self
    }

    /// Keeps services' files under this directory on each node.
    pub fn with_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = root.into();
        self
    }
    /// Defaults, adjusted by the environment: `DUCKTAPE_KNOWN_HOSTS=FILE`,
    /// `DUCKTAPE_SSH_ACCEPT_NEW=1`, `DUCKTAPE_SSH_HOST_KEYS=strict|accept-new|off`,
    /// `DUCKTAPE_SSH_ROOT=DIR`.
    pub fn from_env() -> Self {
        let mut o = SshOptions::default();
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(f) = var("DUCKTAPE_KNOWN_HOSTS") {
            o.known_hosts = Some(PathBuf::from(f));
        }
        if var("DUCKTAPE_SSH_ACCEPT_NEW").is_some_and(|v| v != "0") {
            o.host_keys = HostKeyPolicy::AcceptNew;
        }
        match var("DUCKTAPE_SSH_HOST_KEYS").as_deref() {
            Some("off" | "no") => o.host_keys = HostKeyPolicy::Off,
            Some("accept-new") => o.host_keys = HostKeyPolicy::AcceptNew,
            Some("strict" | "yes") => o.host_keys = HostKeyPolicy::Strict,
            _ => {}
        }
        if let Some(r) = var("DUCKTAPE_SSH_ROOT") {
            o.root = PathBuf::from(r);
        }
        o
    }

    /// Selects the registered checkers named by `--ssh-checker-function`.
    pub fn with_checkers(mut self, names: &[String]) -> Result<Self, String> {
        self.checkers = ssh_checkers(names)?;
        Ok(self)
    }

    /// The known_hosts file in use.
    pub fn known_hosts_file(&self) -> PathBuf {
        if let Some(f) = &self.known_hosts {
            return f.clone();
        }
        if let Some(f) = std::env::var_os("DUCKTAPE_KNOWN_HOSTS").filter(|v| !v.is_empty()) {
            return PathBuf::from(f);
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root"));
        home.join(".ssh").join("known_hosts")
    }
}

/// A function called when an SSH account fails (ducktape's
/// `--ssh-checker-function`): it can log diagnostics, check the node, or
/// panic to fail the test with a better message. Register one with
/// [`ssh_checker!`](crate::ssh_checker).
#[derive(Debug)]
pub struct SshChecker {
    /// The name `--ssh-checker-function` selects it by.
    pub name: &'static str,
    /// The module it was registered in.
    pub module_path: &'static str,
    /// The function.
    pub check: fn(&RemoteError, &dyn RemoteAccount),
}

/// Every SSH checker linked into this binary.
#[linkme::distributed_slice]
pub static SSH_CHECKERS: [SshChecker];

/// The checkers `names` select. A name matches a checker's function name,
/// or its full path written with `::` or `.` (`tests.checks.my_check`).
/// An unknown name is an error that lists the known ones.
pub fn ssh_checkers(names: &[String]) -> Result<Vec<&'static SshChecker>, String> {
    let mut out: Vec<&'static SshChecker> = Vec::new();
    for name in names {
        let wanted = name.replace('.', "::");
        let found = SSH_CHECKERS.iter().find(|c| {
            c.name == wanted
                || format!("{}::{}", c.module_path, c.name) == wanted
                || format!("{}::{}", c.module_path, c.name).ends_with(&format!("::{wanted}"))
        });
        match found {
            Some(c) if !out.iter().any(|o| std::ptr::eq(*o, c)) => out.push(c),
            Some(_) => {}
            None => {
                let mut known: Vec<String> = SSH_CHECKERS
                    .iter()
                    .map(|c| format!("{}::{}", c.module_path, c.name))
                    .collect();
                known.sort();
                let known = if known.is_empty() {
                    "none is registered; register one with `ducktape::ssh_checker!(fn_name);`"
                        .to_string()
                } else {
                    format!("registered: {}", known.join(", "))
                };
                return Err(format!(
                    "--ssh-checker-function {name:?} names no registered SSH checker ({known})"
                ));
            }
        }
    }
    Ok(out)
}
