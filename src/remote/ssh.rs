//! SSH remote accounts: the nodes of JSON and Vagrant clusters.
//!
//! An [`SshAccount`] keeps a pool of authenticated sessions to its node. A
//! thread that runs a command takes an idle session (or opens one: TCP with
//! `TCP_NODELAY`, handshake, host key check, auth) and puts it back after,
//! so a node costs one connection per thread that drives it concurrently,
//! never one per command, and no two threads ever share a session (libssh2
//! fails when they do). A pooled session found dead (sshd restarted, idle
//! connection dropped) is replaced once, transparently.
//!
//! Sessions are non-blocking: stdout and stderr are drained side by side,
//! every call has a deadline, keepalives go out while a command runs and
//! `TCP_USER_TIMEOUT` turns a node cut off the network into an error.
//!
//! A command without stdin runs in a subshell of the session's persistent
//! shell (`shell`), saving sshd's fork of a login shell per command; the
//! rest get exec channels. Files move through streamed `cat` and `tar`
//! (libssh2's SFTP is several times slower), keeping permissions; a large
//! file moves in two parts side by side, one stream being bound by one core
//! per end.
//!
//! Here: the account and its session pool. Apart: connecting and host keys
//! (`conn`), driving one command (`run`), file transfer (`transfer`),
//! line captures (`capture`), and the checkers called on an account's
//! errors (`checker`, built without the `ssh` feature too).

mod capture;
mod conn;
mod run;
mod shell;
mod transfer;

pub use super::ssh_options::{HostKeyPolicy, SshOptions};
use super::{
    quote, quote_str, Lines, Output, Process, RemoteAccount, RemoteError, DEFAULT_COMMAND_TIMEOUT,
};
use crate::cluster::file::NodeConfig;
use capture::{far_future, Capture};
use conn::{Conn, Fail, Target};
use parking_lot::Mutex;
use run::{Driver, State};
use ssh2::Channel;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Channel receive window: enough in flight for a fast LAN.
const WINDOW: u32 = 8 << 20;
/// Largest packet libssh2 accepts.
const PACKET: u32 = 32768;
/// Most processes whose environments the stale-process kill reads with
/// bash's own `mapfile` (see [`SshAccount::kill_stale_then`]): about where
/// reading them costs what starting `grep` does (~0.1 ms per process
/// against ~2.5 ms of CPU for `grep`).
const SCAN_IN_SHELL: usize = 32;
/// How long killing a timed-out command may take.
// Generous: a session flooded by the timed-out command's output must get its
// kill through under load, and a process left running is worse than a late
// error.
const KILL_BUDGET: Duration = Duration::from_secs(10);

/// The address other nodes use for this one. A node reached through a
/// forwarded port on loopback (Vagrant's `HostName 127.0.0.1`) is not at
/// 127.0.0.1 for anyone else: as ducktape does, it goes by its host name.
fn advertised_hostname(node: &NodeConfig) -> String {
    let loopback = node.hostname == "localhost"
        || node
            .hostname
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback && node.name != node.hostname {
        node.name.clone()
    } else {
        node.hostname.clone()
    }
}

/// An account on an SSH host (with the crate's `ssh` feature, which a
/// default build leaves out so that it links no OpenSSL).
pub struct SshAccount {
    inner: Arc<Inner>,
}

struct Inner {
    target: Target,
    /// The value of `DUCKTAPE_NODE` in every command's environment:
    /// `<host>:<port>@<root>`, unique per node (see [`SshAccount::node_tag`]).
    tag: String,
    hostname: String,
    external: String,
    opts: SshOptions,
    idle: Mutex<Vec<Conn>>,
    connects: AtomicU64,
    reconnects: AtomicU64,
}

impl fmt::Debug for SshAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.inner.target;
        write!(f, "SshAccount({} {}@{})", t.node, t.user, t.addr())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for c in self.idle.get_mut().drain(..) {
            c.close();
        }
    }
}

/// The user running this process (ssh's default login name).
fn current_user() -> String {
    if let Some(u) = ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    {
        return u;
    }
    // SAFETY: getuid cannot fail; getpwuid_r writes only into the buffers
    // passed, whose sizes are given.
    unsafe {
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        if libc::getpwuid_r(
            libc::getuid(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut out,
        ) == 0
            && !out.is_null()
            && !pw.pw_name.is_null()
        {
            if let Ok(name) = std::ffi::CStr::from_ptr(pw.pw_name).to_str() {
                return name.to_string();
            }
        }
    }
    "root".to_string()
}

impl SshAccount {
    /// An account for a cluster-file node. Nothing connects until the first
    /// command.
    pub fn new(node: &NodeConfig, options: SshOptions) -> Self {
        let target = Target {
            node: node.name.clone(),
            host: node.hostname.clone(),
            port: node.port,
            user: node.user.clone().unwrap_or_else(current_user),
            key: node.identity_file.clone(),
            password: node.password.clone(),
        };
        let hostname = advertised_hostname(node);
        let tag = format!(
            "{}:{}@{}",
            node.hostname.to_ascii_lowercase(),
            node.port,
            options.root.display()
        );
        SshAccount {
            inner: Arc::new(Inner {
                tag,
                external: node
                    .externally_routable_ip
                    .clone()
                    .unwrap_or_else(|| hostname.clone()),
                hostname,
                target,
                opts: options,
                idle: Mutex::new(Vec::new()),
                connects: AtomicU64::new(0),
                reconnects: AtomicU64::new(0),
            }),
        }
    }

    /// Checks the node's host key against known_hosts without logging in
    /// (nothing to check under [`HostKeyPolicy::Off`]).
    pub fn check_host_key(&self) -> Result<(), RemoteError> {
        if self.inner.opts.host_keys == HostKeyPolicy::Off {
            return Ok(());
        }
        conn::check_host(&self.inner.target, &self.inner.opts)
    }

    /// The tag every process this account starts carries in its
    /// environment as `DUCKTAPE_NODE=<tag>`: `<host>:<port>@<node root>`.
    /// Address and root together tell this node's processes from those of
    /// any other node, even where nodes share a process table.
    pub fn node_tag(&self) -> &str {
        &self.inner.tag
    }

    /// The options in use.
    pub fn options(&self) -> &SshOptions {
        &self.inner.opts
    }

    /// The user commands run as.
    pub fn user(&self) -> &str {
        &self.inner.target.user
    }

    /// Connections opened so far (one per thread that used the node at the
    /// same time, plus reconnects).
    pub fn connections_opened(&self) -> u64 {
        self.inner.connects.load(Ordering::Relaxed)
    }

    /// Times a pooled session was found dead and replaced.
    pub fn reconnects(&self) -> u64 {
        self.inner.reconnects.load(Ordering::Relaxed)
    }

    /// Sessions idle in the pool now.
    pub fn idle_sessions(&self) -> usize {
        self.inner.idle.lock().len()
    }

    /// Opens a session now (if none is idle) and keeps it: checks that the
    /// node is reachable and the credentials work.
    pub fn connect(&self) -> Result<(), RemoteError> {
        let r = self.inner.take().map(|(c, _)| self.inner.put(c));
        self.checked(r)
    }

    /// Closes every idle session (the next command reconnects).
    pub fn disconnect(&self) {
        let conns: Vec<Conn> = self.inner.idle.lock().drain(..).collect();
        for c in conns {
            c.close();
        }
    }

    /// Runs the selected checkers on an error, then returns it.
    fn checked<T>(&self, r: Result<T, RemoteError>) -> Result<T, RemoteError> {
        if let Err(e) = &r {
            let error = crate::text::chain(e);
            tracing::debug!(node = %self.inner.target.node, %error, "SSH error");
            super::ssh_checker::call(&self.inner.opts.checkers, e, self);
        }
        r
    }

    fn abs(&self, path: &Path) -> PathBuf {
        self.inner.opts.root.join(path)
    }

    /// Runs `cmd` in the wrapper and returns stdout (into `out`), stderr,
    /// status and the shell's pid.
    fn run(
        &self,
        cmd: &str,
        stdin: Option<&mut (dyn Read + Send)>,
        out: &mut dyn Write,
        timeout: Duration,
    ) -> Result<Ran, RemoteError> {
        let script = self.inner.wrap(cmd);
        self.inner.run(cmd, &script, stdin, out, timeout)
    }

    /// Runs `cmd`, collecting stdout; a non-zero status becomes an I/O
    /// error about `op` (for file operations).
    fn run_ok(
        &self,
        op: &str,
        cmd: &str,
        stdin: Option<&mut (dyn Read + Send)>,
        out: &mut dyn Write,
    ) -> Result<Ran, RemoteError> {
        let ran = self.run(cmd, stdin, out, DEFAULT_COMMAND_TIMEOUT)?;
        if ran.status != 0 {
            return Err(self.inner.file_err(op, &ran));
        }
        Ok(ran)
    }
}

/// What a finished command left.
struct Ran {
    status: i32,
    stderr: Vec<u8>,
    pid: Option<u32>,
}

impl Inner {
    /// The wrapper script for `cmd` on this node (see [`run::wrap`]).
    fn wrap(&self, cmd: &str) -> String {
        run::wrap(cmd, &self.opts.root, &self.hostname, &self.tag)
    }

    fn io_err(&self, op: impl Into<String>, source: io::Error) -> RemoteError {
        RemoteError::Io {
            node: self.target.node.clone(),
            op: op.into(),
            source,
        }
    }

    /// A failed file command as an I/O error (NotFound when it says so).
    fn file_err(&self, op: &str, ran: &Ran) -> RemoteError {
        let msg = String::from_utf8_lossy(&ran.stderr).trim().to_string();
        let kind = if msg.contains("No such file") {
            io::ErrorKind::NotFound
        } else if msg.contains("Permission denied") {
            io::ErrorKind::PermissionDenied
        } else {
            io::ErrorKind::Other
        };
        let msg = if msg.is_empty() {
            format!("exited with status {}", ran.status)
        } else {
            msg
        };
        self.io_err(op, io::Error::new(kind, msg))
    }

    /// After a command's deadline: kills its process group (`pid`) and pools
    /// the session again, or drops it if the kill did not go through. An
    /// exec channel is closed (its streams may still carry the killed
    /// command's output); a persistent shell's (`on_shell`) is not waited
    /// for — the shell outlives the command and may be slow to end under
    /// load, so its whole session is dropped instead.
    pub(super) fn timed_out(
        &self,
        conn: Conn,
        mut ch: Channel,
        pid: Option<u32>,
        cmd: &str,
        timeout: Duration,
        on_shell: bool,
    ) -> RemoteError {
        let killed = if on_shell {
            kill_group(&conn, pid)
        } else {
            kill(&conn, &mut ch, pid)
        };
        drop(ch);
        match killed {
            Ok(()) => {
                if on_shell {
                    conn.discard();
                } else {
                    self.put(conn);
                }
                tracing::debug!(node = %self.target.node, cmd, ?timeout, "timed out; killed");
                RemoteError::Timeout {
                    node: self.target.node.clone(),
                    cmd: cmd.to_string(),
                    timeout,
                }
            }
            Err(f) => {
                conn.discard();
                self.ssh_err(
                    format!(
                        "`{cmd}` timed out after {timeout:?}, and killing it failed \
                         (it may still run)"
                    ),
                    &f,
                )
            }
        }
    }

    fn ssh_err(&self, op: impl Into<String>, f: &Fail) -> RemoteError {
        match f {
            Fail::Local(e) => self.io_err(op, io::Error::new(e.kind(), e.to_string())),
            _ => RemoteError::Ssh {
                node: self.target.node.clone(),
                addr: self.target.addr(),
                op: op.into(),
                reason: f.to_string(),
            },
        }
    }

    fn take(&self) -> Result<(Conn, bool), RemoteError> {
        if let Some(c) = self.idle.lock().pop() {
            return Ok((c, false));
        }
        let c = conn::connect(&self.target, &self.opts)?;
        self.connects.fetch_add(1, Ordering::Relaxed);
        Ok((c, true))
    }

    fn put(&self, c: Conn) {
        self.idle.lock().push(c);
    }

    /// Opens a channel running `script`. A pooled session that fails here
    /// (dropped connection) is replaced by a new one once.
    fn start(
        &self,
        cmd: &str,
        script: &str,
        until: Instant,
    ) -> Result<(Conn, Channel), RemoteError> {
        let mut retried = false;
        loop {
            let (conn, fresh) = self.take()?;
            let t0 = Instant::now();
            let open_until = until.min(t0 + self.opts.connect_timeout);
            // Only a failed channel open says the pooled session was dead
            // before the command: once the exec request went out, sshd may
            // have started the command (which may itself have cut the
            // connection), so it is never sent again.
            let mut requested = false;
            let opened = conn
                .nb(open_until, || {
                    conn.sess.channel_open("session", WINDOW, PACKET, None)
                })
                .and_then(|mut ch| {
                    requested = true;
                    conn.nb(open_until, || ch.exec(script)).map(|()| ch)
                });
            match opened {
                Ok(ch) => return Ok((conn, ch)),
                Err(f) => {
                    conn.discard();
                    if requested {
                        let what = match f {
                            Fail::Deadline => format!(
                                "start `{cmd}`: the node did not answer within {:?}; it may or \
                                 may not have run",
                                open_until.saturating_duration_since(t0)
                            ),
                            _ => format!(
                                "lost the connection while starting `{cmd}`; it may or may \
                                 not have run"
                            ),
                        };
                        return Err(self.ssh_err(what, &f));
                    }
                    if !fresh && !retried {
                        retried = true;
                        self.reconnects.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(
                            node = %self.target.node,
                            error = %f,
                            "pooled SSH session is dead; reconnecting"
                        );
                        continue;
                    }
                    let what = match f {
                        Fail::Deadline => format!(
                            "start `{cmd}`: the node did not answer within {:?}",
                            open_until.saturating_duration_since(t0)
                        ),
                        _ => format!("start `{cmd}`"),
                    };
                    return Err(self.ssh_err(what, &f));
                }
            }
        }
    }

    fn run(
        &self,
        cmd: &str,
        script: &str,
        stdin: Option<&mut (dyn Read + Send)>,
        out: &mut dyn Write,
        timeout: Duration,
    ) -> Result<Ran, RemoteError> {
        if stdin.is_none() && self.opts.persistent_shell && shell::eligible(cmd) {
            if let shell::Tried::Done(r) = self.run_shell(cmd, out, timeout) {
                return r;
            }
        }
        let started = Instant::now();
        let until = started + timeout;
        tracing::debug!(node = %self.target.node, cmd, "exec");
        let (conn, mut ch) = self.start(cmd, script, until)?;
        let mut d = Driver::new(stdin, self.opts.output_grace);
        let result = (|| {
            let state = loop {
                match d.step(&conn, &mut ch, until, out)? {
                    State::Running => continue,
                    s => break s,
                }
            };
            d.finish(&conn, &mut ch, state, until)
        })();
        match result {
            Ok((status, clean)) => {
                tracing::debug!(
                    node = %self.target.node,
                    cmd,
                    status,
                    stdout_bytes = d.out_bytes,
                    ms = started.elapsed().as_millis() as u64,
                    "exit"
                );
                drop(ch);
                if clean {
                    self.put(conn);
                } else {
                    conn.discard();
                }
                Ok(Ran {
                    status,
                    stderr: std::mem::take(&mut d.stderr),
                    pid: d.pid,
                })
            }
            Err(Fail::Deadline) => {
                let pid = d.pid;
                drop(d);
                Err(self.timed_out(conn, ch, pid, cmd, timeout, false))
            }
            Err(f) => {
                conn.discard();
                drop(ch);
                Err(self.ssh_err(
                    format!(
                        "lost the connection while running `{cmd}`; it may or may not have run"
                    ),
                    &f,
                ))
            }
        }
    }
}

/// Kills a timed-out command's process group and closes its channel.
fn kill(conn: &Conn, ch: &mut Channel, pid: Option<u32>) -> Result<(), Fail> {
    let killed = kill_group(conn, pid);
    run::close_channel(conn, ch, KILL_BUDGET)?;
    killed
}

/// Kills process group `pid` (the command's) with a plain command on the
/// same session.
fn kill_group(conn: &Conn, pid: Option<u32>) -> Result<(), Fail> {
    let Some(pid) = pid else {
        return Err(Fail::Local(io::Error::other(
            "the command's pid is unknown (the login shell printed no pid marker)",
        )));
    };
    let until = Instant::now() + KILL_BUDGET;
    run::run_plain(
        conn,
        &format!("kill -KILL -- -{pid} 2>/dev/null || kill -KILL {pid} 2>/dev/null; true"),
        until,
    )?;
    Ok(())
}

impl RemoteAccount for SshAccount {
    fn name(&self) -> &str {
        &self.inner.target.node
    }

    fn hostname(&self) -> &str {
        &self.inner.hostname
    }

    fn externally_routable_ip(&self) -> &str {
        &self.inner.external
    }

    fn root(&self) -> &Path {
        &self.inner.opts.root
    }

    fn exec(&self, cmd: &str, timeout: Duration) -> Result<Output, RemoteError> {
        let mut out = Vec::new();
        let r = self.run(cmd, None, &mut out, timeout).map(|ran| Output {
            status: ran.status,
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stderr: String::from_utf8_lossy(&ran.stderr).into_owned(),
        });
        self.checked(r)
    }

    fn spawn(&self, cmd: &str, log: &Path) -> Result<u32, RemoteError> {
        let log = self.abs(log);
        let dir = log.parent().map(quote).unwrap_or_else(|| ".".into());
        // The background job is nohup alone (no `cd d && …` list, which
        // would background a subshell that holds the channel); setsid puts
        // the service in its own session, out of reach of a timed-out
        // command's group kill. The group's redirection is made before the
        // fork, so the job never holds the command's stdout, not even
        // until it reaches its own redirections (which would make a
        // persistent shell see a background holder).
        let script = format!(
            "mkdir -p -- {dir} || exit 1\n\
             {{ nohup setsid bash -c {} </dev/null & }} >>{} 2>&1 || exit 1\n\
             echo $!",
            quote_str(cmd),
            quote(&log)
        );
        let mut out = Vec::new();
        let r = self
            .run_ok(&format!("start `{cmd}`"), &script, None, &mut out)
            .and_then(|_| {
                String::from_utf8_lossy(&out)
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| {
                        self.inner.io_err(
                            format!("start `{cmd}`"),
                            io::Error::other(format!(
                                "expected a pid, got {:?}",
                                String::from_utf8_lossy(&out)
                            )),
                        )
                    })
            });
        if let Ok(pid) = &r {
            tracing::debug!(node = %self.name(), cmd, pid, "spawned");
        }
        self.checked(r)
    }

    fn capture(&self, cmd: &str) -> Result<Lines, RemoteError> {
        let script = self.inner.wrap(cmd);
        tracing::debug!(node = %self.name(), cmd, "capture");
        let r = self
            .inner
            .start(cmd, &script, far_future())
            .map(|(conn, ch)| -> Lines { Box::new(Capture::new(&self.inner, conn, ch, cmd)) });
        self.checked(r)
    }

    fn read_from(&self, path: &Path, offset: u64) -> Result<Vec<u8>, RemoteError> {
        let path = self.abs(path);
        let cmd = if offset == 0 {
            format!("cat -- {}", quote(&path))
        } else {
            format!("tail -c +{} -- {}", offset + 1, quote(&path))
        };
        let mut out = Vec::new();
        let r = self
            .run_ok(&format!("read {}", path.display()), &cmd, None, &mut out)
            .map(|_| out);
        self.checked(r)
    }

    fn create_file(&self, path: &Path, contents: &[u8]) -> Result<(), RemoteError> {
        let path = self.abs(path);
        let dir = path.parent().map(quote).unwrap_or_else(|| ".".into());
        let cmd = format!("mkdir -p -- {dir} && cat > {}", quote(&path));
        let mut src: &[u8] = contents;
        let r = self
            .run_ok(
                &format!("write {}", path.display()),
                &cmd,
                Some(&mut src),
                &mut io::sink(),
            )
            .map(drop);
        self.checked(r)
    }

    fn processes(&self) -> Result<Vec<Process>, RemoteError> {
        let mut out = Vec::new();
        let r = self.run_ok(
            "list processes",
            "ps -eo pid=,ppid=,stat=,args=",
            None,
            &mut out,
        );
        let ran = self.checked(r)?;
        // Leave out the listing itself: its shell and the ps it started.
        let me = ran.pid.unwrap_or(0);
        let mut procs = Vec::new();
        for line in String::from_utf8_lossy(&out).lines() {
            let mut f = line.split_whitespace();
            let (Some(pid), Some(ppid), Some(stat)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let (Ok(pid), Ok(ppid)) = (pid.parse::<u32>(), ppid.parse::<u32>()) else {
                continue;
            };
            let args = f.collect::<Vec<_>>().join(" ");
            // Nor the sessions' persistent shells.
            if pid == me || ppid == me || stat.starts_with('Z') || args == shell::SHELL_ARGS {
                continue;
            }
            procs.push(Process { pid, args });
        }
        procs.sort_unstable_by_key(|p| p.pid);
        Ok(procs)
    }

    /// One remote command: `grep -z` finds the processes whose initial
    /// environment holds exactly `DUCKTAPE_NODE=<tag>`, and each is killed
    /// with the process group it leads (a service started by `spawn` leads
    /// its own session). The command drops the tag before it starts
    /// anything, so it never matches itself; its wrapper shell never carried
    /// it (see `run::wrap`).
    fn kill_stale(&self) -> Result<usize, RemoteError> {
        self.kill_stale_then("true")
    }

    /// One command: the kill (its count on the first line), then `then`.
    ///
    /// With few processes to look at (a node of the namespace cluster has
    /// its own process table of a handful), bash 5 reads their environments
    /// itself (`mapfile -d ''`): starting `grep` costs more CPU than reading
    /// them, and where many nodes share a machine's CPUs that was a large
    /// part of preparing a node. With more processes, or another shell (an
    /// exec channel runs the login shell), one `grep` reads them all. Either
    /// way a process matches when one NUL-terminated entry of its
    /// environment is exactly the tag.
    fn kill_stale_then(&self, then: &str) -> Result<usize, RemoteError> {
        let script = format!(
            "unset DUCKTAPE_NODE\n\
             t={}\n\
             set -- /proc/[0-9]*\n\
             s=\n\
             case $BASH_VERSION in [5-9].*) [ \"$#\" -le {SCAN_IN_SHELL} ] && s=1;; esac\n\
             if [ -n \"$s\" ]; then\n\
             m=\n\
             for d do\n\
             mapfile -d '' -t a 2>/dev/null <\"$d/environ\" || continue\n\
             for e in \"${{a[@]}}\"; do\n\
             if [ \"$e\" = \"$t\" ]; then m=\"$m $d/environ\"; break; fi\n\
             done\n\
             done\n\
             else\n\
             m=$(grep -lszxF -e \"$t\" /proc/[0-9]*/environ)\n\
             fi\n\
             n=0\n\
             for f in $m; do\n\
             p=${{f#/proc/}}; p=${{p%/environ}}\n\
             kill -KILL -- \"-$p\" 2>/dev/null\n\
             kill -KILL \"$p\" 2>/dev/null && n=$((n + 1))\n\
             done\n\
             echo \"$n\"\n\
             {then}",
            quote_str(&format!("DUCKTAPE_NODE={}", self.inner.tag))
        );
        let mut out = Vec::new();
        let r = self
            .run_ok("kill stale processes", &script, None, &mut out)
            .and_then(|_| {
                let text = String::from_utf8_lossy(&out);
                let text = text.lines().next().unwrap_or_default();
                text.trim().parse::<usize>().map_err(|_| {
                    self.inner.io_err(
                        "kill stale processes",
                        io::Error::other(format!("expected a count, got {:?}", text.trim())),
                    )
                })
            });
        self.checked(r)
    }

    fn copy_from(&self, src: &Path, dest: &Path) -> Result<(), RemoteError> {
        let r = transfer::copy_from(self, &self.abs(src), dest);
        self.checked(r)
    }

    fn copy_to(&self, src: &Path, dest: &Path) -> Result<(), RemoteError> {
        let r = transfer::copy_to(self, src, &self.abs(dest));
        self.checked(r)
    }
}

/// SSH accounts of a file-defined cluster: one per node, made when the node
/// is first allocated and kept, so every test that gets the node reuses its
/// sessions.
#[derive(Default)]
pub struct SshAccounts {
    options: SshOptions,
    accounts: Mutex<HashMap<usize, Arc<SshAccount>>>,
}

impl fmt::Debug for SshAccounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshAccounts")
            .field("options", &self.options)
            .field("accounts", &self.accounts.lock().len())
            .finish()
    }
}

impl SshAccounts {
    /// No accounts yet; new ones use `options`.
    pub fn new(options: SshOptions) -> Self {
        SshAccounts {
            options,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// The options new accounts get.
    pub fn options(&self) -> &SshOptions {
        &self.options
    }

    /// The account of node `index`, made from `node` the first time.
    pub fn account(&self, index: usize, node: &NodeConfig) -> Arc<SshAccount> {
        self.accounts
            .lock()
            .entry(index)
            .or_insert_with(|| Arc::new(SshAccount::new(node, self.options.clone())))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_account_per_node_and_a_tag_unique_to_it() {
        let accounts = SshAccounts::new(SshOptions::default());
        let n1 = NodeConfig::new("node1", "10.0.0.1");
        let a = accounts.account(0, &n1);
        assert!(Arc::ptr_eq(&a, &accounts.account(0, &n1)));
        assert_eq!(a.node_tag(), format!("10.0.0.1:{}@/tmp/ducktape", n1.port));
        let other_root = SshAccount::new(
            &n1,
            SshOptions {
                root: PathBuf::from("/srv/dt"),
                ..SshOptions::default()
            },
        );
        assert_ne!(a.node_tag(), other_root.node_tag());
        let b = accounts.account(1, &NodeConfig::new("node2", "10.0.0.2"));
        assert_ne!(a.node_tag(), b.node_tag());
    }

    #[test]
    fn loopback_forwarded_nodes_go_by_their_host_name() {
        let vagrant = NodeConfig::new("worker1", "127.0.0.1");
        assert_eq!(advertised_hostname(&vagrant), "worker1");
        let real = NodeConfig::new("node1", "10.251.0.11");
        assert_eq!(advertised_hostname(&real), "10.251.0.11");
    }
}
