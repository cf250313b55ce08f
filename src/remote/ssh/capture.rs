//! Captures: a remote command's stdout as lines while it runs (log
//! monitors, `tail -F`). Lines are cut from a buffer that is compacted as it
//! is read, stderr is kept bounded, and dropping a capture early kills the
//! command and gives its session back.

use super::conn::Conn;
use super::run::{Driver, State};
use super::{kill, Inner};
use ssh2::Channel;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// "No timeout" for captures: they end when the command does.
pub(super) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(10 * 365 * 24 * 3600)
}

/// A running `capture`: yields stdout lines as they arrive. Dropping it
/// early kills the command.
pub(super) struct Capture {
    inner: Arc<Inner>,
    conn: Option<Conn>,
    ch: Option<Channel>,
    driver: Driver<'static>,
    buf: Vec<u8>,
    pos: usize,
    finished: bool,
    pending: Option<io::Error>,
    cmd: String,
}

/// Most stderr a capture keeps (for its error message): a command that
/// floods stderr must not grow memory while its stdout is read.
const STDERR_CAP: usize = 64 << 10;

impl Capture {
    /// Reads the command `cmd` running on `ch` of `conn`.
    pub(super) fn new(inner: &Arc<Inner>, conn: Conn, ch: Channel, cmd: &str) -> Self {
        Capture {
            inner: inner.clone(),
            conn: Some(conn),
            ch: Some(ch),
            driver: Driver::new(None, inner.opts.output_grace).cap_stderr(STDERR_CAP),
            buf: Vec::new(),
            pos: 0,
            finished: false,
            pending: None,
            cmd: cmd.to_string(),
        }
    }

    fn line(&mut self, end: usize) -> String {
        let mut line = &self.buf[self.pos..end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let s = String::from_utf8_lossy(line).into_owned();
        self.pos = (end + 1).min(self.buf.len());
        if self.pos > (1 << 20) && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        s
    }

    /// The command ended: close the channel and give the session back.
    fn finish(&mut self, state: State) -> Option<io::Error> {
        let (Some(conn), Some(mut ch)) = (self.conn.take(), self.ch.take()) else {
            return None;
        };
        let r = self.driver.finish(&conn, &mut ch, state, far_future());
        drop(ch);
        match r {
            Ok((status, clean)) => {
                if clean {
                    self.inner.put(conn);
                } else {
                    conn.discard();
                }
                tracing::debug!(node = %self.inner.target.node, cmd = %self.cmd, status, "capture exit");
                (status != 0).then(|| {
                    io::Error::other(format!(
                        "{}: `{}` exited with status {status}",
                        self.inner.target.node, self.cmd
                    ))
                })
            }
            Err(f) => {
                conn.discard();
                Some(io::Error::other(
                    self.inner.ssh_err(format!("capture `{}`", self.cmd), &f),
                ))
            }
        }
    }
}

impl Iterator for Capture {
    type Item = io::Result<String>;

    fn next(&mut self) -> Option<io::Result<String>> {
        loop {
            if let Some(i) = self.buf[self.pos..].iter().position(|&b| b == b'\n') {
                let end = self.pos + i;
                return Some(Ok(self.line(end)));
            }
            if self.finished {
                if self.pos < self.buf.len() {
                    let end = self.buf.len();
                    return Some(Ok(self.line(end)));
                }
                // Lines first, then how the command ended.
                return self.pending.take().map(Err);
            }
            let (Some(conn), Some(ch)) = (self.conn.as_ref(), self.ch.as_mut()) else {
                self.finished = true;
                continue;
            };
            match self.driver.step(conn, ch, far_future(), &mut self.buf) {
                Ok(State::Running) => {}
                Ok(state) => {
                    self.finished = true;
                    self.pending = self.finish(state);
                }
                Err(f) => {
                    self.finished = true;
                    let err = self.inner.ssh_err(format!("capture `{}`", self.cmd), &f);
                    if let (Some(conn), Some(ch)) = (self.conn.take(), self.ch.take()) {
                        conn.discard();
                        drop(ch);
                    }
                    self.pending = Some(io::Error::other(err));
                }
            }
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let (Some(conn), Some(mut ch)) = (self.conn.take(), self.ch.take()) else {
            return;
        };
        // Stopped early: kill the command (a `tail -F` never ends by itself).
        match kill(&conn, &mut ch, self.driver.pid) {
            Ok(()) => {
                drop(ch);
                self.inner.put(conn);
            }
            Err(_) => {
                conn.discard();
                drop(ch);
            }
        }
    }
}
