//! Remote accounts: how services run commands and move files on a node.
//!
//! [`RemoteAccount`] is the seam between services and nodes: a service never
//! knows whether its node is a local virtual node or an SSH host. Required
//! methods are the primitives each transport implements; the rest are built
//! on them, so every transport behaves the same.

mod local;
mod monitor;
#[cfg(feature = "ssh")]
mod ssh;
// The checker registry is SSH configuration, like the options: it lives
// with the SSH code but is built without the `ssh` feature too, so a binary
// that registers checkers compiles either way.
#[path = "ssh/checker.rs"]
mod ssh_checker;
mod ssh_options;

pub use local::LocalAccount;
pub use monitor::LogMonitor;
#[cfg(feature = "ssh")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssh")))]
pub use ssh::SshAccount;
#[cfg(feature = "ssh")]
#[doc(hidden)]
pub use ssh::SshAccounts;
pub(crate) use ssh_checker::ssh_checkers;
pub use ssh_checker::SshChecker;
#[doc(hidden)]
pub use ssh_checker::SSH_CHECKERS;
#[cfg(feature = "ssh")]
pub(crate) use ssh_options::DEFAULT_CIPHER_COUNT;
pub(crate) use ssh_options::SSH_CIPHERS;
pub use ssh_options::{HostKeyPolicy, SshOptions, DEFAULT_SSH_ROOT};

use std::fmt;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The default limit for one command: long enough for real work, short
/// enough that a command that hangs fails the test instead of the run.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Something went wrong running a command or moving a file on a node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    #[error("{node}: {op}")]
    Io {
        /// The node's name.
        node: String,
        /// What was being done.
        op: String,
        /// The cause.
        source: std::io::Error,
    },
    /// No TCP connection (or no SSH handshake) to the node.
    #[error(
        "{node}: cannot connect to {addr} (check that the node is up, reachable from this \
         machine and running sshd on that port)"
    )]
    Connect {
        /// The node's name.
        node: String,
        /// `host:port`.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The node refused every credential tried.
    #[error(
        "{node}: SSH authentication as {user}@{addr} with {method} failed ({reason}); check \
         the user and that the public key is in that user's ~/.ssh/authorized_keys on the node"
    )]
    Auth {
        /// The node's name.
        node: String,
        /// The login name.
        user: String,
        /// `host:port`.
        addr: String,
        /// What was tried: `key FILE`, `password`, `ssh-agent …`.
        method: String,
        /// What each attempt said.
        reason: String,
    },
    /// The node's host key is unknown or does not match known_hosts.
    #[error("{node}: host key check for {addr} against {} failed: {reason}", .file.display())]
    HostKey {
        /// The node's name.
        node: String,
        /// `host:port`.
        addr: String,
        /// The known_hosts file.
        file: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The SSH connection failed during an operation.
    #[error("{node} ({addr}): {op}: {reason}")]
    Ssh {
        /// The node's name.
        node: String,
        /// `host:port`.
        addr: String,
        /// What was being done.
        op: String,
        /// What went wrong.
        reason: String,
    },
    /// The test is over (it timed out, or finished and left a thread
    /// running): its nodes were taken back, so nothing more runs on them.
    #[error(
        "{node}: refused: the test {test} is over (it timed out or finished) and its nodes \
         were revoked; nothing may run on them any more"
    )]
    Revoked {
        /// The node's name.
        node: String,
        /// The test that held it.
        test: String,
    },
    /// A service on the node did not answer in time.
    #[error(
        "{node}: {what} did not answer within {timeout:?} (last attempt: {last}); check that \
         the service started and listens on that port"
    )]
    Unavailable {
        /// The node's name.
        node: String,
        /// What was polled (`GET http://host:port/path`).
        what: String,
        /// How long it waited.
        timeout: Duration,
        /// What the last attempt got.
        last: String,
    },
}

/// The most of a failed command's standard error its error message shows.
const STDERR_TAIL: usize = 2 << 10;

/// The most of a failed command's standard error its error keeps.
const STDERR_KEPT: usize = 64 << 10;

fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(5);
    // Bounded: one stderr line can be megabytes long.
    format!(
        ": {}",
        crate::text::tail(&lines[start..].join(" | "), STDERR_TAIL)
    )
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
///
/// The same calls drive a localhost node and an SSH host:
///
/// ```no_run
/// use ducktape::prelude::*;
/// use ducktape::remote::quote;
///
/// fn inspect(node: &Node) -> ducktape::Result<()> {
///     let account = node.account();
///     let kernel = account.ssh_output("uname -r")?;            // stdout; non-zero exit is an error
///     let probe = account.ssh("test -d /etc/zookeeper", true)?; // allow_fail: look at the status
///     let log = node.path("app.log");
///     let pid = account.spawn("exec sleep 60", &log)?;         // background, output to the log
///     ensure!(account.alive(pid)?);
///     account.kill_process("^sleep 60$", true, true)?;         // TERM every match on this node
///     account.create_file(&node.path("conf/app.properties"), b"port=9000\n")?;
///     let found = account.exec(&format!("ls {}", quote(&node.path("conf"))), Duration::from_secs(5))?;
///     info!("{kernel} {} {}", probe.status, found.stdout);
///     Ok(())
/// }
/// ```
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

    /// This node's live processes (zombies left out), sorted by pid: on the
    /// localhost cluster the ones the node started, on an SSH host all the
    /// host's but the listing's own and the sessions' shells. `pids`,
    /// `java_pids` and `kill_process` pick from them by regex.
    fn processes(&self) -> Result<Vec<Process>, RemoteError>;

    /// Copies a file or directory from this node to a local path.
    fn copy_from(&self, src: &Path, dest: &Path) -> Result<(), RemoteError>;

    /// Copies a local file or directory to this node.
    fn copy_to(&self, src: &Path, dest: &Path) -> Result<(), RemoteError>;

    /// Kills every process this framework started on this node (services,
    /// background jobs, orphaned commands), except the caller's own, and
    /// returns how many. Processes are found by the node's environment
    /// marker (`DUCKTAPE_NODE=<tag>`), never by name, so other nodes'
    /// processes and everything else on the machine are left alone. Safe
    /// while the node is leased: called when a node is leased (to clear
    /// what a killed run left) and when a test is fenced. The default, for
    /// accounts that cannot tell their processes apart, kills nothing.
    fn kill_stale(&self) -> Result<usize, RemoteError> {
        Ok(0)
    }

    /// [`kill_stale`](Self::kill_stale), then the shell script `then`
    /// (clearing other stale state, such as network faults): one remote
    /// command where the account can make it one (SSH), so preparing a
    /// leased node costs the node one command. Returns how many processes
    /// were killed; `then` failing is an error.
    fn kill_stale_then(&self, then: &str) -> Result<usize, RemoteError> {
        let killed = self.kill_stale()?;
        self.ssh(then, false)?;
        Ok(killed)
    }

    /// Runs `cmd`; a non-zero exit is an error unless `allow_fail`.
    fn ssh(&self, cmd: &str, allow_fail: bool) -> Result<Output, RemoteError> {
        let out = self.exec(cmd, DEFAULT_COMMAND_TIMEOUT)?;
        if out.status != 0 && !allow_fail {
            return Err(RemoteError::Command {
                node: self.name().to_string(),
                cmd: cmd.to_string(),
                status: out.status,
                stderr: crate::text::tail(&out.stderr, STDERR_KEPT),
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

    /// Whether `path` is a symbolic link.
    fn islink(&self, path: &Path) -> Result<bool, RemoteError> {
        self.test_path("-L", path)
    }

    /// Whether the node answers a command at all.
    fn available(&self) -> bool {
        self.exec("true", Duration::from_secs(30))
            .is_ok_and(|o| o.status == 0)
    }

    /// Copies a file or directory from this node to `dest` on `dest_node`,
    /// through a temporary directory on this machine (as ducktape does).
    fn copy_between(
        &self,
        src: &Path,
        dest: &Path,
        dest_node: &dyn RemoteAccount,
    ) -> Result<(), RemoteError> {
        let io_err = |op: &str, source| RemoteError::Io {
            node: self.name().to_string(),
            op: op.to_string(),
            source,
        };
        let name = src.file_name().ok_or_else(|| {
            io_err(
                "copy_between",
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{} has no file name", src.display()),
                ),
            )
        })?;
        let tmp = std::env::temp_dir().join(format!(
            "ducktape-copy-{}-{:016x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&tmp).map_err(|e| io_err("create a temporary directory", e))?;
        let local = tmp.join(name);
        let r = self
            .copy_from(src, &local)
            .and_then(|()| dest_node.copy_to(&local, dest));
        let _ = std::fs::remove_dir_all(&tmp);
        r
    }

    /// Waits until `GET http://<externally routable ip>:<port><path>` (with
    /// `headers`) answers 2xx, polling every 250 ms, from this machine.
    fn wait_for_http_service(
        &self,
        port: u16,
        headers: &[(&str, &str)],
        timeout: Duration,
        path: &str,
    ) -> Result<(), RemoteError> {
        let host = self.externally_routable_ip().to_string();
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match http_get_status(
                &host,
                port,
                &path,
                headers,
                left.max(Duration::from_millis(50)),
            ) {
                Ok(code) if (200..300).contains(&code) => return Ok(()),
                Ok(code) => last = format!("HTTP status {code}"),
                Err(e) => last = e.to_string(),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(RemoteError::Unavailable {
                    node: self.name().to_string(),
                    what: format!("GET http://{host}:{port}{path}"),
                    timeout,
                    last,
                });
            }
            std::thread::sleep(Duration::from_millis(250).min(deadline - now));
        }
    }

    /// Names of the node's network devices (`ip -o link`), loopback included.
    fn network_devices(&self) -> Result<Vec<String>, RemoteError> {
        let out = self.ssh_output("ip -o link show 2>/dev/null || ls -1 /sys/class/net")?;
        Ok(parse_network_devices(&out))
    }

    /// Devices reachable from outside: not loopback, named `eth*` or `en*`
    /// (ducktape's `get_external_accessible_network_devices`).
    fn external_network_devices(&self) -> Result<Vec<String>, RemoteError> {
        Ok(self
            .network_devices()?
            .into_iter()
            .filter(|d| d != "lo" && (d.starts_with("eth") || d.starts_with("en")))
            .collect())
    }
}

/// One of a node's processes, as [`RemoteAccount::processes`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Process {
    /// Its pid on the node.
    pub pid: u32,
    /// Its command line, the arguments joined by single spaces.
    pub args: String,
}

impl Process {
    /// A process with this pid and command line (for accounts written
    /// outside this crate; `Process` may gain fields).
    ///
    /// ```
    /// let p = ducktape::remote::Process::new(42, "sleep 5");
    /// assert_eq!((p.pid, p.args.as_str()), (42, "sleep 5"));
    /// ```
    pub fn new(pid: u32, args: impl Into<String>) -> Self {
        Process {
            pid,
            args: args.into(),
        }
    }
}

/// Matching a node's processes by regex, for every [`RemoteAccount`]:
/// `&dyn RemoteAccount` (what [`Node::account`](crate::cluster::Node::account)
/// gives), a concrete account, or a generic `A: RemoteAccount`. In the
/// prelude.
///
/// These are not trait methods of [`RemoteAccount`] because every trait
/// method is linked into every test binary through the accounts' vtables, and
/// the regex engine is a third of an unoptimized test binary's code, whose
/// loading each nextest process pays for (0.3-0.4 ms of CPU) although few
/// tests match processes. A generic method here is compiled only into the
/// binaries that call it.
///
/// ```no_run
/// use ducktape::prelude::*;
///
/// fn stop_brokers(node: &Node) -> ducktape::Result<()> {
///     let account = node.account();
///     let brokers = account.java_pids("kafka\\.Kafka")?;
///     account.kill_process("kafka\\.Kafka", true, false)?; // TERM each
///     info!("stopped {brokers:?}");
///     Ok(())
/// }
///
/// fn sleepers(account: &impl RemoteAccount) -> ducktape::Result<usize> {
///     Ok(account.pids("^sleep ")?.len())
/// }
///
/// fn shared(account: &Arc<dyn RemoteAccount + Send + Sync>) -> ducktape::Result<Vec<u32>> {
///     Ok(account.pids("^redis-server")?)
/// }
/// ```
pub trait RemoteAccountExt: RemoteAccount {
    /// Pids of this node's processes whose command line matches the regex.
    fn pids(&self, pattern: &str) -> Result<Vec<u32>, RemoteError> {
        matching(self, "pids", pattern)
    }

    /// Pids of Java processes whose command line matches `pattern`
    /// (`java.*PATTERN`).
    fn java_pids(&self, pattern: &str) -> Result<Vec<u32>, RemoteError> {
        matching(self, "java_pids", &format!("java.*{pattern}"))
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
        let pids = matching(self, "kill_process", pattern)?;
        for &pid in &pids {
            self.signal(pid, sig, allow_fail)?;
        }
        Ok(pids)
    }
}

impl<A: RemoteAccount + ?Sized> RemoteAccountExt for A {}

/// Pids of `account`'s processes matching `pattern`; a bad pattern's error
/// names the method (`what`) and says what is wrong in one line.
fn matching<A: RemoteAccount + ?Sized>(
    account: &A,
    what: &str,
    pattern: &str,
) -> Result<Vec<u32>, RemoteError> {
    let re = regex::Regex::new(pattern).map_err(|e| RemoteError::Io {
        node: account.name().to_string(),
        op: format!("{what}: bad pattern /{}/", visible(pattern)),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, regex_cause(&e)),
    })?;
    Ok(account
        .processes()?
        .into_iter()
        .filter(|p| re.is_match(&p.args))
        .map(|p| p.pid)
        .collect())
}

/// A pattern as it can be shown in one line: control characters (a newline)
/// escaped, everything else as written (`\d` stays `\d`).
fn visible(pattern: &str) -> String {
    pattern
        .chars()
        .map(|c| match c.is_control() {
            true => c.escape_default().to_string(),
            false => c.to_string(),
        })
        .collect()
}

/// The regex error's own words in one line: a syntax error prints the
/// pattern and a caret over several lines before its last, `error: …`.
fn regex_cause(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim().trim_start_matches("error: ").to_string()
}

/// Device names from `ip -o link` (`2: eth0@if7: <…> …`) or a plain list.
pub(crate) fn parse_network_devices(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() {
                return None;
            }
            let name = match line.split_once(": ") {
                Some((idx, rest)) if idx.chars().all(|c| c.is_ascii_digit()) => {
                    rest.split(':').next().unwrap_or_default()
                }
                _ => line,
            };
            let name = name.split('@').next().unwrap_or_default().trim();
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect()
}

/// One plain HTTP/1.1 GET; returns the status code.
pub(crate) fn http_get_status(
    host: &str,
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> std::io::Result<u16> {
    use std::net::ToSocketAddrs as _;
    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{host} resolves to no address")))?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout.min(Duration::from_secs(5)))?;
    s.set_read_timeout(Some(
        timeout.clamp(Duration::from_millis(50), Duration::from_secs(5)),
    ))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    let host_header = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 8192 {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|c| c.parse::<u16>().ok()),
    ) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => Ok(code),
        _ => Err(std::io::Error::other(format!(
            "not an HTTP response: {:?}",
            line.chars().take(80).collect::<String>()
        ))),
    }
}

/// Runs `f` for every item on a pool of at most `max_threads` worker
/// threads and returns the results in input order: a command fanned out to
/// N nodes takes about as long as on one. Each worker uses its own SSH
/// session per node (the accounts' session pools), so nothing is shared.
///
/// This is how the framework does all its per-node work side by side
/// (services' steps, log collection, fault healing, node preparation and
/// fencing). Workers are named `ducktape-fan-out` and run in the caller's
/// tracing span, so what they log lands in the test's log. A panic in `f`
/// reaches the caller once every item is done.
#[doc(hidden)]
pub fn fan_out<A, T, F>(items: &[A], max_threads: usize, f: F) -> Vec<T>
where
    A: Sync,
    T: Send,
    F: Fn(&A) -> T + Sync,
{
    let workers = max_threads.clamp(1, items.len().max(1));
    if workers == 1 {
        return items.iter().map(&f).collect();
    }
    let (work_tx, work_rx) = crossbeam_channel::unbounded::<usize>();
    for i in 0..items.len() {
        let _ = work_tx.send(i);
    }
    drop(work_tx);
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<(usize, T)>();
    // The caller's subscriber too, not only its span: one set for this
    // thread alone (a test's `with_default`) must still get the events.
    let dispatch = tracing::dispatcher::get_default(|d| d.clone());
    let span = tracing::Span::current();
    let work = |work_rx: crossbeam_channel::Receiver<usize>,
                done_tx: crossbeam_channel::Sender<(usize, T)>| {
        for i in work_rx.iter() {
            let _ = done_tx.send((i, f(&items[i])));
        }
    };
    std::thread::scope(|s| {
        let mut started = 0;
        for _ in 0..workers {
            let (work_rx, done_tx, span, work, dispatch) = (
                work_rx.clone(),
                done_tx.clone(),
                span.clone(),
                &work,
                &dispatch,
            );
            let spawned = std::thread::Builder::new()
                .name("ducktape-fan-out".into())
                .spawn_scoped(s, move || {
                    tracing::dispatcher::with_default(dispatch, || {
                        span.in_scope(|| work(work_rx, done_tx))
                    })
                });
            match spawned {
                Ok(_) => started += 1,
                // Out of threads: the workers there are share the items.
                Err(e) => {
                    tracing::warn!("fan-out: cannot start a worker thread: {e}");
                    break;
                }
            }
        }
        if started == 0 {
            // Not even one: the caller's thread does the work.
            work(work_rx.clone(), done_tx.clone());
        }
    });
    drop(done_tx);
    let mut out: Vec<(usize, T)> = done_rx.iter().collect();
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

/// Shell-quotes a path for a command line.
pub fn quote(path: &Path) -> String {
    quote_str(&path.to_string_lossy())
}

/// Shell-quotes a string for a command line.
pub fn quote_str(s: &str) -> String {
    shell_words::quote(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The regex's complaint without the pattern and caret it prints first.
    #[test]
    fn a_bad_pattern_is_explained_in_one_line() {
        let cause = |p: &str| regex_cause(&regex::Regex::new(p).unwrap_err());
        assert_eq!(cause("sleep (29"), "unclosed group");
        assert_eq!(cause("sleep ["), "unclosed character class");
        assert_eq!(
            cause("a{2,1}"),
            "invalid repetition count range, the start must be <= the end"
        );
        assert_eq!(visible("a\n(\\d\t"), "a\\n(\\d\\t");
    }

    #[test]
    fn network_devices_from_ip_link_and_plain_lists() {
        let ip = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue\\    link/loopback 00:00\n\
                  2: eth0@if143: <BROADCAST,MULTICAST,UP> mtu 1500\\    link/ether f2:dd\n\
                  3: enp0s3: <BROADCAST> mtu 1500\n";
        assert_eq!(parse_network_devices(ip), vec!["lo", "eth0", "enp0s3"]);
        assert_eq!(parse_network_devices("lo\neth0\n"), vec!["lo", "eth0"]);
    }

    #[test]
    fn fan_out_keeps_input_order() {
        let items: Vec<u32> = (0..50).collect();
        let out = fan_out(&items, 8, |i| {
            std::thread::sleep(Duration::from_millis(u64::from(50 - i) % 5));
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(fan_out(&Vec::<u32>::new(), 4, |i| *i).is_empty());
    }

    #[test]
    fn fan_out_workers_are_named_and_log_in_the_callers_span() {
        tracing::subscriber::with_default(crate::logging::quiet(), || {
            let span = tracing::info_span!("the_test");
            let seen = span.in_scope(|| {
                fan_out(&[1, 2, 3, 4], 4, |_| {
                    let name = std::thread::current().name().map(String::from);
                    let current = tracing::Span::current();
                    (name, current.metadata().map(|m| m.name()), current.id())
                })
            });
            for (thread, span_name, id) in seen {
                assert_eq!(thread.as_deref(), Some("ducktape-fan-out"));
                assert_eq!(span_name, Some("the_test"));
                assert_eq!(id, span.id());
            }
        });
    }
}
