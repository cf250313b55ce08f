//! The local account: a virtual node of the localhost cluster, whose
//! commands are processes on this machine.
//!
//! All virtual nodes share one process table, so every process a node starts
//! carries `DUCKTAPE_NODE=<tag>` in its environment, and
//! [`processes`](RemoteAccount::processes) (so [`pids`](super::RemoteAccountExt::pids)
//! and `kill_process`)
//! only sees processes with this node's tag (children inherit it).

use super::{Lines, Output, Process, RemoteAccount, RemoteError};
use crate::deadline::Ended;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long `exec` waits for output pipes after the command exited: a
/// background process that kept the pipe open must not hang the caller.
const PIPE_GRACE: Duration = Duration::from_millis(200);

/// A virtual node's account.
#[derive(Debug)]
pub struct LocalAccount {
    name: String,
    hostname: String,
    root: PathBuf,
    tag: String,
    keep_processes: bool,
    /// Processes `spawn` started, as (pid, start time): they and their
    /// descendants belong to this node even if they rewrite their
    /// environment (servers that set their process title do).
    spawned: parking_lot::Mutex<Vec<(u32, u64)>>,
}

impl LocalAccount {
    /// An account for node `name` reachable at `hostname`, keeping its files
    /// under `root`. With `keep_processes` (`--no-teardown`) background
    /// processes outlive the test process; otherwise they die with it.
    pub fn new(name: &str, hostname: &str, root: PathBuf, tag: &str, keep_processes: bool) -> Self {
        LocalAccount {
            name: name.to_string(),
            hostname: hostname.to_string(),
            root,
            tag: tag.to_string(),
            keep_processes,
            spawned: parking_lot::Mutex::new(Vec::new()),
        }
    }

    fn command(&self, cmd: &str) -> Command {
        let mut c = Command::new("bash");
        c.arg("-c")
            .arg(cmd)
            .current_dir(&self.root)
            .env("DUCKTAPE_NODE", &self.tag)
            .env("DUCKTAPE_NODE_ROOT", &self.root)
            .env("DUCKTAPE_NODE_HOSTNAME", &self.hostname)
            .stdin(Stdio::null())
            .process_group(0);
        c
    }

    fn io_err(&self, op: impl Into<String>) -> impl FnOnce(std::io::Error) -> RemoteError + '_ {
        let op = op.into();
        move |source| RemoteError::Io {
            node: self.name.clone(),
            op,
            source,
        }
    }

    /// Before anything is written, read, run or removed there: the node's
    /// directory is (made if absent) a real directory of this user, never a
    /// symlink planted to send the node's files somewhere else.
    fn ensure_root(&self) -> Result<(), RemoteError> {
        use crate::cluster::lease::private_dir;
        let r = match private_dir(&self.root) {
            // A custom cluster's base directory, made on first use (the
            // localhost cluster's was checked when the cluster was built).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match self.root.parent().map(std::fs::create_dir_all) {
                    Some(Err(e)) => Err(e),
                    _ => private_dir(&self.root),
                }
            }
            r => r,
        };
        r.map_err(self.io_err("node directory"))
    }

    /// `path` (absolute, or relative to the node's directory) if it lies
    /// inside the node's directory, lexically: no `..` may climb out.
    fn inside(&self, path: &Path) -> Option<PathBuf> {
        use std::path::Component;
        let full = self.root.join(path);
        let rel = full.strip_prefix(&self.root).ok()?;
        rel.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
            .then_some(full)
    }
}

/// Output read so far by a reader job, and the job (done when the pipe
/// closes).
type Collected = (
    std::sync::Arc<parking_lot::Mutex<Vec<u8>>>,
    Option<crate::deadline::Pending<()>>,
);

/// Reads `r` to its end on a pooled thread, storing what arrives.
fn read_all(mut r: impl Read + Send + 'static) -> Collected {
    let buf = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let sink = buf.clone();
    let reader = crate::deadline::start("an output reader", move || {
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            match r.read(&mut chunk) {
                Ok(0) => break,
                // Once the caller has its output and let go, a background
                // process still writing to the pipe is drained, not stored.
                Ok(n) if std::sync::Arc::strong_count(&sink) > 1 => {
                    sink.lock().extend_from_slice(&chunk[..n])
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    });
    // Without a thread the output is lost, not the command: `exec` still
    // returns its status.
    if let Err(e) = &reader {
        tracing::warn!("{e}");
    }
    (buf, reader.ok())
}

/// Kills a captured command's process group if the capture is dropped
/// before the command ended.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            kill_group(child.id());
            let _ = child.wait();
        }
    }
}

fn status_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

fn kill_group(pid: u32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory
    // is touched and a stale group only yields ESRCH.
    unsafe {
        libc::kill(-(pid as i32), libc::SIGKILL);
    }
}

impl RemoteAccount for LocalAccount {
    fn name(&self) -> &str {
        &self.name
    }

    fn hostname(&self) -> &str {
        &self.hostname
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn exec(&self, cmd: &str, timeout: Duration) -> Result<Output, RemoteError> {
        self.ensure_root()?;
        tracing::debug!(node = %self.name, cmd, "exec");
        let mut child = self
            .command(cmd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(self.io_err(format!("start `{cmd}`")))?;
        let out_rx = child.stdout.take().map(read_all);
        let err_rx = child.stderr.take().map(read_all);
        let pid = child.id();
        let waited =
            crate::deadline::run_with_deadline("a command's wait", timeout, move || child.wait());
        let status = match waited.map_err(self.io_err(format!("wait for `{cmd}`")))? {
            Ended::Finished(status) => status.map_err(self.io_err(format!("wait for `{cmd}`")))?,
            Ended::Panicked(msg) => {
                kill_group(pid);
                let e = std::io::Error::other(format!("the wait panicked: {msg}"));
                return Err(self.io_err(format!("wait for `{cmd}`"))(e));
            }
            Ended::TimedOut => {
                kill_group(pid);
                return Err(RemoteError::Timeout {
                    node: self.name.clone(),
                    cmd: cmd.to_string(),
                    timeout,
                });
            }
        };
        // Whatever arrived: a background process that kept the pipe open
        // must not hang the caller, nor hide what the command printed.
        let collect = |c: Option<Collected>| {
            c.map(|(buf, reader)| {
                if let Some(reader) = reader {
                    let _ = reader.wait(PIPE_GRACE);
                }
                let bytes = std::mem::take(&mut *buf.lock());
                String::from_utf8_lossy(&bytes).into_owned()
            })
            .unwrap_or_default()
        };
        let output = Output {
            status: status_code(status),
            stdout: collect(out_rx),
            stderr: collect(err_rx),
        };
        tracing::debug!(node = %self.name, cmd, status = output.status, "exit");
        Ok(output)
    }

    fn spawn(&self, cmd: &str, log: &Path) -> Result<u32, RemoteError> {
        self.ensure_root()?;
        let log = self.root.join(log);
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(self.io_err("create log directory"))?;
        }
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
        };
        let (out, err) = (
            open().map_err(self.io_err(format!("open log {}", log.display())))?,
            open().map_err(self.io_err(format!("open log {}", log.display())))?,
        );
        let mut command = self.command(cmd);
        command.stdout(out).stderr(err);
        if !self.keep_processes {
            // SAFETY: prctl is async-signal-safe; it only sets this child's
            // parent-death signal so it dies if the test process is killed.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        // The parent-death signal fires when the *thread* that forked exits,
        // so the child is started by a pooled thread that stays with it
        // until it exits (and reaps it, so a dead service is never a zombie);
        // pooled threads end only after their job.
        let (tx, rx) = crossbeam_channel::bounded(1);
        let spawner = crate::deadline::start("a spawner", move || match command.spawn() {
            Ok(mut child) => {
                let _ = tx.send(Ok(child.id()));
                let _ = child.wait();
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        });
        let pid = spawner
            .and_then(|_| {
                rx.recv()
                    .map_err(|_| std::io::Error::other("the spawner thread died"))
            })
            .and_then(|r| r)
            .map_err(self.io_err(format!("start `{cmd}`")))?;
        tracing::debug!(node = %self.name, cmd, pid, "spawned");
        if let Some(start) = start_time(pid) {
            let mut spawned = self.spawned.lock();
            spawned.retain(|&(p, t)| start_time(p) == Some(t));
            spawned.push((pid, start));
        }
        Ok(pid)
    }

    fn capture(&self, cmd: &str) -> Result<Lines, RemoteError> {
        self.ensure_root()?;
        let mut child = self
            .command(cmd)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(self.io_err(format!("start `{cmd}`")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout pipe"))
            .map_err(self.io_err("capture"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut child = KillOnDrop(Some(child));
        let cmd = cmd.to_string();
        Ok(Box::new(std::iter::from_fn(move || match lines.next() {
            Some(line) => Some(line),
            None => {
                let status = child.0.take()?.wait();
                match status {
                    Ok(s) if s.success() => None,
                    Ok(s) => Some(Err(std::io::Error::other(format!(
                        "`{cmd}` exited with status {}",
                        status_code(s)
                    )))),
                    Err(e) => Some(Err(e)),
                }
            }
        })))
    }

    fn read_from(&self, path: &Path, offset: u64) -> Result<Vec<u8>, RemoteError> {
        self.ensure_root()?;
        let path = self.root.join(path);
        let op = format!("read {}", path.display());
        let mut f = std::fs::File::open(&path).map_err(self.io_err(op.clone()))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(self.io_err(op.clone()))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map_err(self.io_err(op))?;
        Ok(buf)
    }

    fn create_file(&self, path: &Path, contents: &[u8]) -> Result<(), RemoteError> {
        self.ensure_root()?;
        let path = self.root.join(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(self.io_err(format!("create {}", dir.display())))?;
        }
        std::fs::write(&path, contents).map_err(self.io_err(format!("write {}", path.display())))
    }

    fn processes(&self) -> Result<Vec<Process>, RemoteError> {
        let tag = format!("DUCKTAPE_NODE={}", self.tag);
        let mut procs = Vec::new();
        for pid in other_processes().map_err(self.io_err("list /proc"))? {
            if !(has_env(pid, &tag) || self.descends_from_spawned(pid)) {
                continue;
            }
            // A process may exit between listing and reading: skip it.
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                continue;
            };
            let args = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if !is_zombie(pid) {
                let args = args.trim_end().to_string();
                procs.push(Process { pid, args });
            }
        }
        procs.sort_unstable_by_key(|p| p.pid);
        Ok(procs)
    }

    /// Removes a file or tree inside the node's directory, in-process and
    /// without following symlinks (`remove_dir_all` unlinks a link, never
    /// its target). A path outside the node's directory is refused: on the
    /// localhost cluster that is the machine's, or another node's.
    fn remove(&self, path: &Path, allow_fail: bool) -> Result<(), RemoteError> {
        self.ensure_root()?;
        let full = self.inside(path).ok_or_else(|| RemoteError::Io {
            node: self.name.clone(),
            op: format!("remove {}", path.display()),
            source: std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "refused: it is outside the node's directory {}; a localhost node only \
                     removes its own files",
                    self.root.display()
                ),
            ),
        })?;
        let r = match std::fs::symlink_metadata(&full) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&full),
            Ok(_) => std::fs::remove_file(&full),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        };
        match r {
            Err(e) if !allow_fail && e.kind() != std::io::ErrorKind::NotFound => {
                Err(self.io_err(format!("remove {}", full.display()))(e))
            }
            _ => Ok(()),
        }
    }

    /// Kills every process carrying this node's tag (children inherit it),
    /// and the process groups they lead (commands and services each lead
    /// one), so a server that rewrote its environment dies with its group.
    /// This process is never matched, whatever its environment.
    fn kill_stale(&self) -> Result<usize, RemoteError> {
        let tag = format!("DUCKTAPE_NODE={}", self.tag);
        // SAFETY: getpgrp has no preconditions and cannot fail.
        let own_group = unsafe { libc::getpgrp() } as u32;
        let mut killed = 0;
        for pid in other_processes().map_err(self.io_err("list /proc"))? {
            if has_env(pid, &tag) && !is_zombie(pid) {
                // Never our own group (a runner started by a node command).
                if pid != own_group {
                    kill_group(pid);
                }
                // SAFETY: kill(2) on a pid we just found; a race with its
                // exit only yields ESRCH.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                killed += 1;
            }
        }
        Ok(killed)
    }

    fn copy_from(&self, src: &Path, dest: &Path) -> Result<(), RemoteError> {
        self.ensure_root()?;
        copy(&self.root.join(src), dest).map_err(self.io_err(format!(
            "copy {} to {}",
            src.display(),
            dest.display()
        )))
    }

    fn copy_to(&self, src: &Path, dest: &Path) -> Result<(), RemoteError> {
        self.ensure_root()?;
        copy(src, &self.root.join(dest)).map_err(self.io_err(format!(
            "copy {} to {}",
            src.display(),
            dest.display()
        )))
    }
}

impl LocalAccount {
    /// Whether `pid` is a process `spawn` started, or a descendant of one.
    fn descends_from_spawned(&self, pid: u32) -> bool {
        let spawned = self.spawned.lock();
        if spawned.is_empty() {
            return false;
        }
        let mut p = pid;
        // Bounded: process trees are shallow, and pid 1 ends every chain.
        for _ in 0..64 {
            if spawned
                .iter()
                .any(|&(s, t)| s == p && start_time(p) == Some(t))
            {
                return true;
            }
            match parent(p) {
                Some(pp) if pp > 1 => p = pp,
                _ => return false,
            }
        }
        false
    }
}

/// Every process on the machine but this one.
fn other_processes() -> std::io::Result<impl Iterator<Item = u32>> {
    let me = std::process::id();
    Ok(std::fs::read_dir("/proc")?
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(move |&pid| pid != me))
}

/// Fields of /proc/<pid>/stat after the command name.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Parent pid (field 4 of /proc/<pid>/stat).
fn parent(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// Start time in clock ticks since boot (field 22): with the pid, it names
/// one process even after pids are reused.
fn start_time(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

fn has_env(pid: u32, tag: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|&b| b == 0).any(|kv| kv == tag.as_bytes()))
        .unwrap_or(false)
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(false)
}

/// `cp -a`: recursive, keeps permissions and times.
fn copy(src: &Path, dest: &Path) -> std::io::Result<()> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let out = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(dest)
        .stdin(Stdio::null())
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::RemoteAccountExt as _;

    fn account(root: PathBuf) -> LocalAccount {
        let tag = root.display().to_string();
        LocalAccount::new("worker1", "127.0.0.1", root, &tag, false)
    }

    /// The node directory turned into a symlink after the node was leased:
    /// nothing runs, is written or removed through it.
    #[test]
    fn a_symlinked_node_directory_is_never_used() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::create_dir_all(victim.join("svc")).unwrap();
        std::fs::write(victim.join("svc/data"), b"keep me").unwrap();
        let root = tmp.path().join("worker1");
        std::os::unix::fs::symlink(&victim, &root).unwrap();
        let a = account(root.clone());
        let refused = |e: RemoteError| {
            // The refusal is the cause of the I/O error: print the chain.
            let msg = crate::text::chain(&e);
            assert!(
                msg.contains(&format!("refusing to use {}", root.display()))
                    && msg.contains("symbolic link"),
                "{msg}"
            );
        };
        refused(a.exec("touch written", Duration::from_secs(5)).unwrap_err());
        refused(a.create_file(Path::new("svc/conf"), b"x").unwrap_err());
        refused(a.remove(&root.join("svc"), true).unwrap_err());
        refused(a.ssh("rm -rf svc", true).unwrap_err());
        refused(a.spawn("sleep 1", Path::new("svc/log")).unwrap_err());
        assert_eq!(std::fs::read(victim.join("svc/data")).unwrap(), b"keep me");
        assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 1);
    }

    #[test]
    fn remove_stays_inside_the_node_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let a = account(tmp.path().join("worker1"));
        a.create_file(Path::new("svc/data"), b"x").unwrap();
        // A link inside the node's directory is removed, not followed.
        std::os::unix::fs::symlink(&outside, a.root().join("svc/link")).unwrap();
        for bad in [
            outside.clone(),
            a.root().join("../outside"),
            PathBuf::from(".."),
        ] {
            let err = crate::text::chain(&a.remove(&bad, true).unwrap_err());
            assert!(err.contains("outside the node's directory"), "{err}");
        }
        assert!(outside.exists());
        a.remove(&a.root().join("svc"), false).unwrap();
        assert!(!a.root().join("svc").exists() && outside.exists());
        a.remove(Path::new("never-there"), false).unwrap();
    }

    /// kill_stale kills this node's tagged processes and their groups, and
    /// leaves a same-named process of another node alone.
    #[test]
    fn kill_stale_kills_only_this_nodes_processes() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (
            account(tmp.path().join("worker1")),
            account(tmp.path().join("worker10")),
        );
        a.spawn("exec sleep 4101", Path::new("a.log")).unwrap();
        a.exec("nohup sleep 4101 >/dev/null 2>&1 &", Duration::from_secs(5))
            .unwrap();
        b.spawn("exec sleep 4101", Path::new("b.log")).unwrap();
        // The backgrounded one is `nohup` until it execs `sleep`.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while a.pids("^sleep 4101$").unwrap().len() < 2 {
            assert!(std::time::Instant::now() < deadline, "not both started");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(a.pids("^sleep 4101$").unwrap().len(), 2);
        assert_eq!(a.kill_stale().unwrap(), 2);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !a.pids("^sleep 4101$").unwrap().is_empty() {
            assert!(std::time::Instant::now() < deadline, "still running");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            b.pids("^sleep 4101$").unwrap().len(),
            1,
            "another node's died"
        );
        assert_eq!(b.kill_stale().unwrap(), 1);
    }
}
