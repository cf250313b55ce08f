//! Running one command on a channel: the wrapper script, and a driver that
//! feeds stdin and drains stdout and stderr side by side without blocking.
//!
//! Every command runs inside a small wrapper (see [`wrap`]) that prints the
//! shell's pid and, on exit, its status to stderr between marker bytes. The
//! driver strips both lines from stderr. The pid is the command's process
//! group (sshd makes every session's shell a session leader), so a command
//! that times out can be killed with all its children. The exit marker says
//! the command finished even when a background process it started keeps
//! stdout open, which would otherwise hold the channel (and the caller)
//! forever: after a short grace the driver stops waiting for end-of-file.

use super::conn::{io_again, is_again, Conn, Fail};
use crate::text::memchr;
use ssh2::Channel;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Start of every marker line on stderr.
const MARK: &[u8] = b"\x01ducktape-";

/// The wrapper's marker lines, `\x01ducktape-pid-<token>:<pid>` and
/// `\x01ducktape-exit-<token>:<status>`, with a token random per process:
/// no command's output can produce one by accident (an exit marker starts
/// the end-of-output grace, a pid marker says which group a timeout kills).
struct Marks {
    token: String,
    pid: Vec<u8>,
    exit: Vec<u8>,
}

static MARKS: once_cell::sync::Lazy<Marks> = once_cell::sync::Lazy::new(|| {
    let token = format!("{:016x}", fastrand::u64(..));
    Marks {
        pid: format!("\x01ducktape-pid-{token}:").into_bytes(),
        exit: format!("\x01ducktape-exit-{token}:").into_bytes(),
        token,
    }
});

/// The `printf` format of the pid marker line (`%d`: the pid), for the
/// wrapper here and the persistent shell's subshells.
pub(crate) fn pid_mark_format() -> String {
    format!("\\001ducktape-pid-{}:%d\\n", MARKS.token)
}
/// Most a single step reads from one stream before attending the others.
const STEP_BYTES: usize = 4 << 20;
/// Read buffer size.
const READ_BUF: usize = 256 << 10;

/// The script sent for `cmd`: report pid and exit status, set the node
/// variables services rely on, and run in the node's root directory
/// (created on first use). The command comes last, on its own lines, so it
/// is parsed only after the wrapper ran. The markers go to a private copy
/// of stderr (fd 9), so a command that redirects its own stderr
/// (`exec 2>&1`, `exec 2>/dev/null`) neither sees nor swallows them.
///
/// `DUCKTAPE_NODE=<node>` tags every process the command starts (children
/// inherit it), so `kill_stale` finds what a killed run left on the node.
/// The wrapper shell itself does not carry it: /proc/PID/environ is the
/// environment a process was started with, and the shell gets it by export.
pub(crate) fn wrap(cmd: &str, root: &Path, hostname: &str, node: &str) -> String {
    let r = crate::remote::quote(root);
    let h = crate::remote::quote_str(hostname);
    let n = crate::remote::quote_str(node);
    let t = &MARKS.token;
    format!(
        "exec 9>&2; printf '\\001ducktape-pid-{t}:%d\\n' \"$$\" >&9; \
         trap 'printf \"\\001ducktape-exit-{t}:%d\\n\" \"$?\" >&9' EXIT\n\
         export DUCKTAPE_NODE={n} DUCKTAPE_NODE_ROOT={r} DUCKTAPE_NODE_HOSTNAME={h}\n\
         cd {r} 2>/dev/null || {{ mkdir -p {r} && cd {r}; }} || exit 1\n\
         {cmd}\n"
    )
}

/// Where a running command is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Still running (or output still arriving).
    Running,
    /// All output read: the remote side sent end-of-file.
    Eof,
    /// The command exited, but something it started still holds its
    /// output open; the driver stopped waiting after the grace period.
    HeldOpen,
    /// A command on a persistent shell finished: both end markers arrived
    /// and nothing it started still holds its output.
    Ended,
}

/// The end of one command on a persistent shell (see `super::shell`):
/// stdout ends with `\x01ducktape-end-<nonce>\n`, stderr with
/// `\x01ducktape-end-<nonce>:<status>:<held>\n`. The nonce is random per
/// command, so no output can fake an end.
pub(crate) struct ShellEnd {
    /// The stdout marker.
    out_mark: Vec<u8>,
    /// The start of the stderr marker.
    err_mark: Vec<u8>,
    /// Stdout not yet passed on: it may be the start of the marker.
    held_back: Vec<u8>,
    /// The stdout marker was seen.
    out_done: bool,
    /// Stdout arrived after the marker (something the command started
    /// still writes): the shell must not be reused.
    pub late_output: bool,
    /// Status and whether something the command started still holds its
    /// output, from the stderr marker.
    pub result: Option<(i32, bool)>,
}

impl ShellEnd {
    /// The markers of the command with this nonce.
    pub fn new(nonce: &str) -> Self {
        ShellEnd {
            out_mark: format!("\x01ducktape-end-{nonce}\n").into_bytes(),
            err_mark: format!("\x01ducktape-end-{nonce}:").into_bytes(),
            held_back: Vec::new(),
            out_done: false,
            late_output: false,
            result: None,
        }
    }

    /// Passes stdout on up to the marker; holds back a tail that could be
    /// the marker's start. Bulk output is passed on without copying: a
    /// held-back tail is joined only with the start of the next read.
    fn filter(&mut self, data: &[u8], out: &mut dyn Write) -> io::Result<()> {
        if self.out_done {
            self.late_output |= !data.is_empty();
            return out.write_all(data);
        }
        if self.held_back.is_empty() {
            return self.pass(data, out);
        }
        let (held, mark) = (self.held_back.len(), self.out_mark.len());
        if data.len() < mark {
            let mut buf = std::mem::take(&mut self.held_back);
            buf.extend_from_slice(data);
            return self.pass(&buf, out);
        }
        // A marker that starts in the held-back tail ends within the first
        // `mark` bytes of `data`.
        let mut joined = std::mem::take(&mut self.held_back);
        joined.extend_from_slice(&data[..mark]);
        match find_mark(&joined, &self.out_mark).filter(|&i| i < held) {
            Some(i) => {
                out.write_all(&joined[..i])?;
                let rest = &data[i + mark - held..];
                if !rest.is_empty() {
                    self.late_output = true;
                    out.write_all(rest)?;
                }
                self.out_done = true;
                Ok(())
            }
            None => {
                out.write_all(&joined[..held])?;
                self.pass(data, out)
            }
        }
    }

    fn pass(&mut self, buf: &[u8], out: &mut dyn Write) -> io::Result<()> {
        if let Some(i) = find_mark(buf, &self.out_mark) {
            out.write_all(&buf[..i])?;
            let rest = i + self.out_mark.len();
            if rest < buf.len() {
                self.late_output = true;
                out.write_all(&buf[rest..])?;
            }
            self.out_done = true;
            return Ok(());
        }
        // Only a tail starting with the marker's first byte can be its start.
        let tail = buf.len().saturating_sub(self.out_mark.len() - 1);
        let keep = buf[tail..]
            .iter()
            .position(|&b| b == self.out_mark[0])
            .map_or(buf.len(), |p| tail + p);
        out.write_all(&buf[..keep])?;
        self.held_back.extend_from_slice(&buf[keep..]);
        Ok(())
    }

    /// Both markers arrived.
    fn done(&self) -> bool {
        self.out_done && self.result.is_some()
    }
}

/// Feeds a command's stdin and drains its stdout and stderr.
pub(crate) struct Driver<'a> {
    stdin: Option<&'a mut (dyn Read + Send)>,
    inbuf: Vec<u8>,
    inpos: usize,
    inlen: usize,
    eof_sent: bool,
    rbuf: Vec<u8>,
    /// Standard error so far, without the wrapper's marker lines.
    pub stderr: Vec<u8>,
    /// Keep at most this much stderr (the tail), if set.
    stderr_cap: Option<usize>,
    scan: usize,
    /// The wrapper shell's pid (= the command's process group).
    pub pid: Option<u32>,
    /// The status the wrapper reported on exit.
    pub exit: Option<i32>,
    /// When the exit marker, or output after it, last arrived.
    exit_seen: Option<Instant>,
    grace: Duration,
    /// Bytes of stdout read.
    pub out_bytes: u64,
    /// Set for a command on a persistent shell.
    pub shell: Option<ShellEnd>,
}

impl<'a> Driver<'a> {
    /// A driver sending `stdin` (none: end-of-file at once) and waiting
    /// `grace` for end-of-file after the command reported its exit.
    pub fn new(stdin: Option<&'a mut (dyn Read + Send)>, grace: Duration) -> Self {
        Driver {
            inbuf: if stdin.is_some() {
                vec![0; READ_BUF]
            } else {
                Vec::new()
            },
            stdin,
            inpos: 0,
            inlen: 0,
            eof_sent: false,
            rbuf: vec![0; READ_BUF],
            stderr: Vec::new(),
            stderr_cap: None,
            scan: 0,
            pid: None,
            exit: None,
            exit_seen: None,
            grace,
            out_bytes: 0,
            shell: None,
        }
    }

    /// A driver for a command on a persistent shell: no stdin (the shell's
    /// stdin is its command stream and stays open), and the end is the
    /// markers with `nonce`.
    pub fn for_shell(nonce: &str, grace: Duration) -> Self {
        let mut d = Driver::new(None, grace);
        d.eof_sent = true;
        d.shell = Some(ShellEnd::new(nonce));
        d
    }

    /// Keeps only the last `cap` bytes of stderr (long-running captures).
    pub fn cap_stderr(mut self, cap: usize) -> Self {
        self.stderr_cap = Some(cap);
        self
    }

    /// One round: write what stdin can take, read what stdout and stderr
    /// have, and if nothing moved wait on the socket (until `until` at most).
    pub fn step(
        &mut self,
        conn: &Conn,
        ch: &mut Channel,
        until: Instant,
        out: &mut dyn Write,
    ) -> Result<State, Fail> {
        // Checked first: a command whose output never pauses must still
        // stop at its deadline.
        if Instant::now() >= until {
            return Err(Fail::Deadline);
        }
        let mut progress = self.feed(ch)?;
        progress |= self.drain_stdout(ch, out)?;
        progress |= self.drain_stderr(ch)?;
        // Output the reads above left in libssh2's queue is read next
        // round, not waited for on the socket (see `queued`).
        progress |= queued(ch);
        if ch.eof() {
            return Ok(State::Eof);
        }
        if let Some(s) = &self.shell {
            // Held open: wait out the grace below, as for an exec channel.
            if s.done() && s.result.is_some_and(|(_, held)| !held) && !s.late_output {
                return Ok(State::Ended);
            }
        }
        let now = Instant::now();
        // The grace runs from the exit marker or the last output after it,
        // whichever is later: output still draining is never cut short.
        if self.exit.is_some() && (progress || self.exit_seen.is_none()) {
            self.exit_seen = Some(now);
        }
        let grace_end = self.exit_seen.map(|t| t + self.grace);
        if grace_end.is_some_and(|g| now >= g) {
            return Ok(State::HeldOpen);
        }
        if !progress {
            let wake = grace_end.map_or(until, |g| g.min(until));
            match conn.wait(wake) {
                Err(Fail::Deadline) if wake < until => return Ok(State::HeldOpen),
                r => r?,
            }
        }
        Ok(State::Running)
    }

    /// Sends stdin; end-of-file once it is used up.
    fn feed(&mut self, ch: &mut Channel) -> Result<bool, Fail> {
        if self.eof_sent {
            return Ok(false);
        }
        let mut progress = false;
        loop {
            if self.inpos == self.inlen {
                let n = match self.stdin.as_mut() {
                    Some(r) => loop {
                        match r.read(&mut self.inbuf) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(e) => return Err(Fail::Local(e)),
                        }
                    },
                    None => 0,
                };
                if n == 0 {
                    match ch.send_eof() {
                        Ok(()) => {
                            self.eof_sent = true;
                            return Ok(true);
                        }
                        Err(e) if is_again(&e) => return Ok(progress),
                        Err(_) if ch.eof() => {
                            self.eof_sent = true;
                            return Ok(true);
                        }
                        Err(e) => return Err(Fail::Ssh(e)),
                    }
                }
                self.inpos = 0;
                self.inlen = n;
            }
            match ch.write(&self.inbuf[self.inpos..self.inlen]) {
                Ok(n) => {
                    self.inpos += n;
                    progress = true;
                }
                Err(e) if io_again(&e) => return Ok(progress),
                // The command stopped reading and its side closed: the rest
                // of stdin has nowhere to go (like EPIPE on a local pipe).
                Err(_) if ch.eof() => {
                    self.eof_sent = true;
                    return Ok(true);
                }
                Err(e) => return Err(Fail::Chan(e)),
            }
        }
    }

    fn drain_stdout(&mut self, ch: &mut Channel, out: &mut dyn Write) -> Result<bool, Fail> {
        let mut got = 0;
        while got < STEP_BYTES {
            match ch.read(&mut self.rbuf) {
                Ok(0) => break,
                Ok(n) => {
                    match self.shell.as_mut() {
                        Some(s) => s.filter(&self.rbuf[..n], out),
                        None => out.write_all(&self.rbuf[..n]),
                    }
                    .map_err(Fail::Local)?;
                    got += n;
                }
                Err(e) if io_again(&e) => break,
                Err(e) => return Err(Fail::Chan(e)),
            }
        }
        self.out_bytes += got as u64;
        Ok(got > 0)
    }

    fn drain_stderr(&mut self, ch: &mut Channel) -> Result<bool, Fail> {
        let mut got = 0;
        let mut err = ch.stderr();
        while got < STEP_BYTES {
            match err.read(&mut self.rbuf) {
                Ok(0) => break,
                Ok(n) => {
                    self.stderr.extend_from_slice(&self.rbuf[..n]);
                    got += n;
                }
                Err(e) if io_again(&e) => break,
                Err(e) => return Err(Fail::Chan(e)),
            }
        }
        if got > 0 {
            self.scan_markers();
            if let Some(cap) = self.stderr_cap {
                if self.stderr.len() > 2 * cap {
                    let cut = self.stderr.len() - cap;
                    self.stderr.drain(..cut);
                    self.scan = self.scan.saturating_sub(cut);
                }
            }
        }
        Ok(got > 0)
    }

    /// Finds, parses and removes the wrapper's marker lines.
    fn scan_markers(&mut self) {
        loop {
            let from = self.scan.min(self.stderr.len());
            let Some(i) = find(&self.stderr[from..], MARK) else {
                // Keep a possible partial marker at the end for next time.
                self.scan = self.stderr.len().saturating_sub(MARK.len() - 1);
                return;
            };
            let start = from + i;
            let Some(nl) = self.stderr[start..].iter().position(|&b| b == b'\n') else {
                self.scan = start;
                return;
            };
            let line = &self.stderr[start..start + nl];
            let number = |mark: &[u8]| {
                std::str::from_utf8(&line[mark.len()..])
                    .ok()
                    .and_then(|s| s.trim().parse::<i64>().ok())
            };
            let marks = &*MARKS;
            // The first pid marker is the wrapper's: it comes before the
            // command runs, so a later one is the command's output.
            let parsed = if line.starts_with(&marks.pid) && self.pid.is_none() {
                number(&marks.pid).map(|n| self.pid = u32::try_from(n).ok())
            } else if line.starts_with(&marks.exit) {
                number(&marks.exit).map(|n| self.exit = Some(n as i32))
            } else if let Some(s) = self
                .shell
                .as_mut()
                .filter(|s| line.starts_with(&s.err_mark))
            {
                // `<status>:<held>`
                let rest = String::from_utf8_lossy(&line[s.err_mark.len()..]).into_owned();
                let mut f = rest.trim().split(':');
                let status = f.next().and_then(|v| v.parse::<i32>().ok());
                let held = f.next().map(|v| v != "0");
                match (status, held) {
                    (Some(st), Some(h)) => {
                        s.result = Some((st, h));
                        self.exit = Some(st);
                        Some(())
                    }
                    _ => None,
                }
            } else {
                None
            };
            if parsed.is_some() {
                self.stderr.drain(start..=start + nl);
                self.scan = start;
            } else {
                self.scan = start + 1;
            }
        }
    }

    /// After the command finished: waits for the channel to close (the exit
    /// status arrives before that) and returns the status, and whether the
    /// channel closed cleanly (if not, the connection should not be reused).
    pub fn finish(
        &mut self,
        conn: &Conn,
        ch: &mut Channel,
        state: State,
        until: Instant,
    ) -> Result<(i32, bool), Fail> {
        match state {
            State::Eof | State::Running => {
                // sshd closes the channel once the command exited and its
                // output is drained; the exit status comes first.
                conn.nb(until, || ch.wait_close())?;
                let close_by = Instant::now() + Duration::from_secs(5);
                let clean = conn.nb(close_by, || ch.close()).is_ok();
                Ok((self.status(ch), clean))
            }
            State::Ended => Ok((self.exit.unwrap_or(0), true)),
            State::HeldOpen => {
                tracing::debug!(
                    pid = self.pid,
                    "command exited but its output is held open by a background process; \
                     closing the channel"
                );
                let clean = close_channel(conn, ch, Duration::from_secs(2)).is_ok();
                Ok((self.exit.unwrap_or(0), clean))
            }
        }
    }

    fn status(&self, ch: &Channel) -> i32 {
        if let Some(sig) = ch.exit_signal().ok().and_then(|s| s.exit_signal) {
            return 128 + signal_number(&sig);
        }
        match ch.exit_status() {
            Ok(0) | Err(_) => self.exit.unwrap_or(0),
            Ok(n) => n,
        }
    }
}

/// Whether libssh2 holds output of `ch` that no read has taken yet.
///
/// Reading either stream makes libssh2 take in every packet the socket
/// has, for both streams: the stderr read of a round can take in stdout
/// that arrived just after that round's stdout read, with the channel's EOF
/// and close when it was the command's last output. That stdout then waits
/// in libssh2's queue, `ch.eof()` stays false while it does, and nothing
/// more comes on the socket to end a wait on it: the command ran into its
/// deadline. A CI run under load hit this on `trap 'echo trapped' EXIT;
/// exit 4` (its trap replaces the wrapper's, so no exit marker started the
/// grace): a 10 s timeout instead of status 4. (After an exit marker the
/// wait ends with the grace instead, and the queued stdout would be dropped
/// as "held open".) The window is a thread preempted between the reads.
fn queued(ch: &Channel) -> bool {
    ch.read_window().available > 0
}

/// Closes a channel whose command may still run or write: sends close, then
/// reads and drops whatever still arrives until the server's close.
pub(crate) fn close_channel(conn: &Conn, ch: &mut Channel, budget: Duration) -> Result<(), Fail> {
    let until = Instant::now() + budget;
    conn.nb(until, || ch.close())?;
    let mut sink = io::sink();
    let mut d = Driver::new(None, Duration::ZERO);
    d.eof_sent = true;
    loop {
        // A drain stops after STEP_BYTES with more already buffered in
        // libssh2: waiting on the socket then would sleep out the budget
        // with the end of the stream in hand.
        let read = d.drain_stdout(ch, &mut sink)? | d.drain_stderr(ch)? | queued(ch);
        if ch.eof() {
            break;
        }
        if !read {
            conn.wait(until)?;
        } else if Instant::now() >= until {
            return Err(Fail::Deadline);
        }
    }
    conn.nb(until, || ch.wait_close())
}

/// Runs a plain command (no wrapper) and returns its exit status; used to
/// kill a timed-out command's process group.
pub(crate) fn run_plain(conn: &Conn, cmd: &str, until: Instant) -> Result<i32, Fail> {
    let mut ch = conn.nb(until, || conn.sess.channel_session())?;
    conn.nb(until, || ch.exec(cmd))?;
    let mut d = Driver::new(None, Duration::ZERO);
    let mut sink = io::sink();
    loop {
        match d.step(conn, &mut ch, until, &mut sink)? {
            State::Running => continue,
            s => return d.finish(conn, &mut ch, s, until).map(|(st, _)| st),
        }
    }
}

/// [`find`] for a needle whose first byte is rare in the haystack: the
/// first byte is looked for with `memchr` (vectorised; bulk output goes
/// through here).
fn find_mark(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = memchr(needle[0], &hay[from..]) {
        let at = from + p;
        if hay[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Signal numbers for the names sshd reports in `exit-signal` (Linux).
fn signal_number(name: &str) -> i32 {
    match name.trim_start_matches("SIG") {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "TRAP" => 5,
        "ABRT" => 6,
        "BUS" => 7,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_parsed_and_removed_even_when_split() {
        let mut d = Driver::new(None, Duration::ZERO);
        let (pid, exit) = (&MARKS.pid, &MARKS.exit);
        let all = [pid, &b"123\nwarn: x\n"[..], exit, b"3\n"].concat();
        for chunk in all.chunks(5) {
            d.stderr.extend_from_slice(chunk);
            d.scan_markers();
        }
        assert_eq!(d.pid, Some(123));
        assert_eq!(d.exit, Some(3));
        assert_eq!(d.stderr, b"warn: x\n");
    }

    #[test]
    fn a_marker_glued_to_output_without_newline_is_still_found() {
        let mut d = Driver::new(None, Duration::ZERO);
        d.stderr
            .extend_from_slice(&[&b"oops"[..], &MARKS.exit, b"1\n"].concat());
        d.scan_markers();
        assert_eq!(d.exit, Some(1));
        assert_eq!(d.stderr, b"oops");
    }

    #[test]
    fn markers_without_the_token_or_after_the_first_pid_are_output() {
        let mut d = Driver::new(None, Duration::ZERO);
        let forged = b"\x01ducktape-exit:0\n\x01ducktape-pid:1\n".to_vec();
        let all = [&MARKS.pid, &b"7\n"[..], &forged, &MARKS.pid, b"8\n"].concat();
        d.stderr.extend_from_slice(&all);
        d.scan_markers();
        assert_eq!((d.pid, d.exit), (Some(7), None));
        let kept = [&forged[..], &MARKS.pid, b"8\n"].concat();
        assert_eq!(d.stderr, kept);
    }

    #[test]
    fn shell_end_marker_is_found_across_reads_and_cut_from_stdout() {
        let mut s = ShellEnd::new("abc");
        let mut out = Vec::new();
        let all = b"data\x01x\x01ducktape-end-abc\n";
        for chunk in all.chunks(3) {
            s.filter(chunk, &mut out).unwrap();
        }
        assert!(s.out_done && !s.late_output);
        assert_eq!(out, b"data\x01x");
        let mut s = ShellEnd::new("abc");
        let mut out = Vec::new();
        s.filter(b"a\x01ducktape-end-abd\n", &mut out).unwrap();
        s.filter(b"\x01ducktape-end-abc\nlate", &mut out).unwrap();
        assert!(s.out_done && s.late_output);
        assert_eq!(out, b"a\x01ducktape-end-abd\nlate");
    }

    #[test]
    fn shell_end_marker_is_found_wherever_reads_split_it() {
        let mark = b"\x01ducktape-end-abc\n";
        let mut all = Vec::new();
        for i in 0..300u32 {
            all.push(if i % 7 == 0 { 1 } else { (i % 251) as u8 });
        }
        let body = all.len();
        all.extend_from_slice(mark);
        for late in [&b""[..], b"late"] {
            let mut stream = all.clone();
            stream.extend_from_slice(late);
            for cut in 0..stream.len() {
                for second in [cut, (cut + 40).min(stream.len()), stream.len()] {
                    let mut s = ShellEnd::new("abc");
                    let mut out = Vec::new();
                    for part in [&stream[..cut], &stream[cut..second], &stream[second..]] {
                        s.filter(part, &mut out).unwrap();
                    }
                    assert!(s.out_done, "cut {cut}/{second}");
                    assert_eq!(s.late_output, !late.is_empty(), "cut {cut}/{second}");
                    let mut want = all[..body].to_vec();
                    want.extend_from_slice(late);
                    assert_eq!(out, want, "cut {cut}/{second}");
                }
            }
        }
    }

    #[test]
    fn wrapper_quotes_root_and_hostname() {
        let s = wrap("echo hi", Path::new("/tmp/a b"), "h'x", "n:22@/tmp/a b");
        assert!(s.contains("cd '/tmp/a b'"), "{s}");
        assert!(s.contains("DUCKTAPE_NODE='n:22@/tmp/a b'"), "{s}");
        assert!(s.ends_with("\necho hi\n"), "{s}");
    }
}
