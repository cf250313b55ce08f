//! Declarative readiness: what must hold on a node before its start counts
//! as done (in the spirit of testcontainers' `WaitFor`), checked by the
//! framework on every node at once, failing at once when the process it
//! waits for has exited.

use crate::cluster::Node;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often unmet conditions are checked again.
const POLL: Duration = Duration::from_millis(50);

/// A custom readiness check: `Ok(true)` when ready; an error is "not yet"
/// and named if the wait times out.
pub type ReadyCheck = Arc<dyn Fn(&Node) -> crate::Result<bool> + Send + Sync>;

/// One condition a node must meet before its start is done. A service lists
/// them in [`Service::ready`](super::Service::ready); they are checked
/// until all hold, up to [`Service::start_timeout`](super::Service::start_timeout).
#[derive(Clone)]
pub enum WaitFor {
    /// A line matching the regex appears in a log, written after the start
    /// began (`path`: relative to the node's directory; `None`: the output
    /// log of [`ServiceNodes::spawn`](super::ServiceNodes::spawn)).
    LogLine {
        /// The regex.
        pattern: String,
        /// The log file.
        path: Option<PathBuf>,
    },
    /// A TCP connection to the node's externally routable address on this
    /// port succeeds (from the test machine).
    Port(u16),
    /// `GET http://<node>:<port><path>` answers this status (`None`: any 2xx).
    Http {
        /// The port.
        port: u16,
        /// The path, `/health`.
        path: String,
        /// The status wanted.
        status: Option<u16>,
    },
    /// A command on the node exits 0.
    Command(String),
    /// A check of your own, named for the timeout message.
    Check {
        /// What is checked, for messages.
        what: String,
        /// The check.
        check: ReadyCheck,
    },
}

impl WaitFor {
    /// A line matching `pattern` in the output of `svc.spawn`.
    pub fn log_line(pattern: impl Into<String>) -> Self {
        WaitFor::LogLine {
            pattern: pattern.into(),
            path: None,
        }
    }

    /// A line matching `pattern` in the log at `path` (relative to the
    /// node's directory, or absolute).
    pub fn log_line_in(path: impl Into<PathBuf>, pattern: impl Into<String>) -> Self {
        WaitFor::LogLine {
            pattern: pattern.into(),
            path: Some(path.into()),
        }
    }

    /// The port accepts connections.
    pub fn port(port: u16) -> Self {
        WaitFor::Port(port)
    }

    /// `GET` of `path` on `port` answers 2xx.
    pub fn http(port: u16, path: impl Into<String>) -> Self {
        WaitFor::Http {
            port,
            path: path.into(),
            status: None,
        }
    }

    /// For [`WaitFor::http`]: this exact status instead of any 2xx.
    pub fn with_status(self, code: u16) -> Self {
        match self {
            WaitFor::Http { port, path, .. } => WaitFor::Http {
                port,
                path,
                status: Some(code),
            },
            other => other,
        }
    }

    /// `cmd` exits 0 on the node.
    pub fn command(cmd: impl Into<String>) -> Self {
        WaitFor::Command(cmd.into())
    }

    /// `check(node)` returns `Ok(true)`.
    pub fn check(
        what: impl Into<String>,
        check: impl Fn(&Node) -> crate::Result<bool> + Send + Sync + 'static,
    ) -> Self {
        WaitFor::Check {
            what: what.into(),
            check: Arc::new(check),
        }
    }
}

impl fmt::Display for WaitFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitFor::LogLine {
                pattern,
                path: None,
            } => write!(f, "a line matching /{pattern}/ in its output"),
            WaitFor::LogLine {
                pattern,
                path: Some(p),
            } => write!(f, "a line matching /{pattern}/ in {}", p.display()),
            WaitFor::Port(p) => write!(f, "port {p} to accept connections"),
            WaitFor::Http { port, path, status } => match status {
                Some(s) => write!(f, "GET :{port}{path} to answer {s}"),
                None => write!(f, "GET :{port}{path} to answer 2xx"),
            },
            WaitFor::Command(c) => write!(f, "`{c}` to succeed"),
            WaitFor::Check { what, .. } => f.write_str(what),
        }
    }
}

impl fmt::Debug for WaitFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WaitFor({self})")
    }
}

/// A condition being waited for on one node, with what it has seen.
struct Pending {
    cond: WaitFor,
    /// For a log line: the file (absolute), the compiled regex and how far
    /// it has been searched.
    log: Option<(PathBuf, regex::Regex, u64)>,
    /// The service's directory: commands run there.
    dir: PathBuf,
    last_error: Option<String>,
}

/// The conditions of one node's start, set up before the start so only
/// what the start writes counts.
pub(crate) struct Readiness {
    pending: Vec<Pending>,
}

impl Readiness {
    /// Records where each log condition's file ends now. `dir` is the
    /// service's directory on the node: it holds the default output log,
    /// and commands run there.
    pub(crate) fn before_start(
        node: &Node,
        conds: Vec<WaitFor>,
        dir: &std::path::Path,
    ) -> crate::Result<Self> {
        let output = dir.join(super::OUTPUT_LOG);
        let mut pending = Vec::new();
        for cond in conds {
            let log = match &cond {
                WaitFor::LogLine { pattern, path } => {
                    let re = regex::Regex::new(pattern)
                        .map_err(|e| anyhow::anyhow!("bad readiness pattern /{pattern}/: {e}"))?;
                    let file = path.as_ref().map_or(output.clone(), |p| node.path(p));
                    let offset = super::procs::file_size(node, &file)?;
                    Some((file, re, offset))
                }
                _ => None,
            };
            pending.push(Pending {
                cond,
                log,
                dir: dir.to_path_buf(),
                last_error: None,
            });
        }
        Ok(Readiness { pending })
    }

    /// Whether there is anything to wait for.
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Checks every unmet condition until all hold. `exited` is asked
    /// between rounds: `Some(message)` when the process waited for is gone,
    /// which fails the wait at once with that message.
    pub(crate) fn wait(
        mut self,
        node: &Node,
        timeout: Duration,
        mut exited: impl FnMut() -> crate::Result<Option<String>>,
    ) -> crate::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            self.pending.retain_mut(|p| !p.met(node));
            if self.pending.is_empty() {
                return Ok(());
            }
            if let Some(why) = exited()? {
                anyhow::bail!("{why}");
            }
            if Instant::now() >= deadline {
                anyhow::bail!(self.timed_out(timeout));
            }
            std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    /// The unmet conditions for a message.
    pub(crate) fn describe(&self) -> String {
        let what: Vec<String> = self.pending.iter().map(|p| p.cond.to_string()).collect();
        what.join(", ")
    }

    fn timed_out(&self, timeout: Duration) -> String {
        let mut msg = format!(
            "not ready within {timeout:?}: waited for {}",
            self.describe()
        );
        if let Some(e) = self.pending.iter().find_map(|p| p.last_error.as_deref()) {
            msg.push_str(&format!("; last error: {e}"));
        }
        msg
    }
}

impl Pending {
    fn met(&mut self, node: &Node) -> bool {
        let r = self.check(node);
        match r {
            Ok(met) => met,
            Err(e) => {
                self.last_error = Some(format!("{e:#}"));
                false
            }
        }
    }

    fn check(&mut self, node: &Node) -> crate::Result<bool> {
        let account = node.account();
        let host = account.externally_routable_ip().to_string();
        match &self.cond {
            WaitFor::LogLine { .. } => {
                let Some((file, re, cursor)) = &mut self.log else {
                    return Ok(false);
                };
                // Absent until the process writes: "not yet", not an error.
                let Ok(bytes) = account.read_from(file, *cursor) else {
                    return Ok(false);
                };
                let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let text = String::from_utf8_lossy(&bytes[..complete]);
                *cursor += complete as u64;
                Ok(text.lines().any(|l| re.is_match(l)))
            }
            WaitFor::Port(port) => connect(&host, *port).map(|_| true),
            WaitFor::Http { port, path, status } => {
                let got = crate::remote::http_get_status(&host, *port, path, &[], POLL * 20)?;
                match status {
                    Some(want) if got == *want => Ok(true),
                    None if (200..300).contains(&got) => Ok(true),
                    _ => anyhow::bail!("GET :{port}{path} answered {got}"),
                }
            }
            WaitFor::Command(cmd) => {
                let script = format!("{}\n{cmd}", super::procs::in_dir(&self.dir));
                let out = account.exec(&script, Duration::from_secs(30))?;
                if out.status == 0 {
                    return Ok(true);
                }
                let err = crate::text::tail(out.stderr.trim(), 512);
                anyhow::bail!("`{cmd}` exited with status {}: {err}", out.status)
            }
            WaitFor::Check { check, .. } => check(node),
        }
    }
}

fn connect(host: &str, port: u16) -> crate::Result<()> {
    use std::net::ToSocketAddrs as _;
    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{host} resolves to no address"))?;
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))
        .map_err(|e| anyhow::anyhow!("connect to {addr}: {e}"))?;
    Ok(())
}
