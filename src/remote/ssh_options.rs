//! How SSH nodes are reached, independent of the SSH library: host key
//! policy, known_hosts, the node root, ciphers and the checkers to call when
//! an SSH account fails. Kept apart from the libssh2 accounts so a build
//! without the `ssh` feature still parses the same configuration.
//!
//! Nothing here reads the environment: the runner builds these options from
//! its parsed flags (`--known-hosts`, `--ssh-*`, each also a `DUCKTAPE_*`
//! variable or a config file line; see `cli`), so a bad value is an error
//! that names where it was set.

use super::SshChecker;
use std::path::PathBuf;
use std::time::Duration;

/// Where services keep their files on an SSH node unless configured.
pub const DEFAULT_SSH_ROOT: &str = "/tmp/ducktape";

/// How host keys are checked against the known_hosts file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
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
/// [`SshOptions::default`] and change what you need, so fields can be added
/// (a test binary's runner builds them from its flags):
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
    /// The known_hosts file; `None`: `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
    /// How host keys are checked.
    pub host_keys: HostKeyPolicy,
    /// The node directory for services' files (created on first use);
    /// absolute, since commands run in it.
    pub root: PathBuf,
    /// Ciphers to offer, most preferred first; empty: ducktape's order
    /// (ChaCha20-Poly1305 first). Names the server or libssh2 lacks are
    /// skipped.
    pub ciphers: Vec<String>,
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
    /// Commands without stdin run in a subshell of one long-lived shell per
    /// session instead of an exec channel each (`--ssh-persistent-shell`;
    /// default on): ~1 ms instead of a login shell's ~3 ms a command.
    pub persistent_shell: bool,
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions {
            known_hosts: None,
            host_keys: HostKeyPolicy::Strict,
            root: PathBuf::from(DEFAULT_SSH_ROOT),
            ciphers: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(15),
            dead_after: Duration::from_secs(30),
            output_grace: Duration::from_millis(200),
            checkers: Vec::new(),
            persistent_shell: true,
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

    /// Offers these ciphers, most preferred first (`--ssh-ciphers`).
    pub fn with_ciphers<S: Into<String>>(mut self, ciphers: impl IntoIterator<Item = S>) -> Self {
        self.ciphers = ciphers.into_iter().map(Into::into).collect();
        self
    }

    /// Runs commands without stdin on a persistent shell per session (`true`,
    /// the default) or each on an exec channel of its own
    /// (`--ssh-persistent-shell`).
    pub fn with_persistent_shell(mut self, on: bool) -> Self {
        self.persistent_shell = on;
        self
    }

    /// Selects the registered checkers named by `--ssh-checker-function`.
    pub fn with_checkers(mut self, names: &[String]) -> Result<Self, String> {
        self.checkers = super::ssh_checkers(names)?;
        Ok(self)
    }

    /// The known_hosts file in use.
    pub fn known_hosts_file(&self) -> PathBuf {
        if let Some(f) = &self.known_hosts {
            return f.clone();
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root"));
        home.join(".ssh").join("known_hosts")
    }
}

/// Every cipher name libssh2 can negotiate, what `--ssh-ciphers` accepts;
/// the first `DEFAULT_CIPHER_COUNT` are the default preference. libssh2
/// hands ChaCha20-Poly1305 whole packets but AES (GCM and CTR) one 16-byte
/// block per OpenSSL call, so on this path ChaCha20 needs 20-30% less client
/// CPU and moves data faster despite AES-NI; AES-GCM is next (no separate
/// MAC), the rest of the default are fallbacks for old servers, and the
/// others are accepted when asked for by name.
pub(crate) const SSH_CIPHERS: &[&str] = &[
    "chacha20-poly1305@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes256-cbc",
    "aes192-cbc",
    "aes128-cbc",
    "rijndael-cbc@lysator.liu.se",
    "blowfish-cbc",
    "arcfour128",
    "arcfour",
    "cast128-cbc",
    "3des-cbc",
];

/// How many of [`SSH_CIPHERS`] are offered when `--ssh-ciphers` is not given.
#[cfg(feature = "ssh")]
pub(crate) const DEFAULT_CIPHER_COUNT: usize = 9;
