//! A persistent shell per session: commands without stdin run in a subshell
//! of one long-lived `bash` instead of a new exec channel each.
//!
//! An exec channel costs the node a fork of sshd's session process and a
//! fresh login shell per command (~2-3 ms of node CPU, most of a warm
//! `ssh("true")`); a subshell of a running `bash` is one fork (~0.2 ms). The
//! shell reads commands on its stdin as `__dt_n NONCE LEN` followed by the
//! script's LEN bytes (read whole by `read -N`: bash reads a line from a
//! pipe one byte per system call), or, for a script that is not plain
//! ASCII, as `__dt_r NONCE 'SCRIPT'` (the script quoted). Either way no
//! command text can reach the shell's parser: it runs through `eval` in the
//! subshell. After each command the shell prints end markers carrying the
//! random nonce on stdout and stderr (see [`super::run::ShellEnd`]).
//!
//! What stays as with an exec channel:
//!
//! * the subshell leads its own process group (the shell runs with job
//!   control, the subshell without), so a timed-out command is killed with
//!   all its children by the same `kill -- -PID`;
//! * stdin is `/dev/null`, the node variables are exported and the command
//!   runs in the node root;
//! * a command that leaves a process holding its stdout or stderr: the shell
//!   looks for one (while the command's process group has members, every
//!   process's fds; otherwise those of processes newer than the subshell)
//!   and says so,
//!   the driver waits out the grace for more output as before, and the
//!   shell is closed instead of reused, so that output can never mix into a
//!   later command's.
//!
//! * a stopped command (SIGSTOP) has not ended (the shell waits again while
//!   the subshell exists; bash 5.1 or later, an older bash makes the session
//!   use exec channels);
//! * the command sees no trace of the wrapper's nonce (`$1`, `$#` are
//!   empty), and a connection lost once the command went out is an error
//!   ("may or may not have run"), never a second run.
//!
//! What differs, as documented: the script runs through `eval` in a
//! function's subshell, so `return` and `local` work at its top level,
//! `$0`, `$-`, `FUNCNAME` and `BASH_SUBSHELL` differ, bash's error messages
//! start `main: eval: line N:`, and a `set -u` failure exits 1 (not 127).
//!
//! Commands with stdin (so copies to a node), captures and commands that
//! mention `$$` (in a subshell it would be the shell's pid) keep exec
//! channels; copies from a node stream through the shell (its end-marker
//! filter costs one `memchr` pass over the data).
//! Any doubt about the shell (no bash on the node, the shell gone before the
//! command started, output after the end marker) closes it; a command that
//! had not started then runs on an exec channel.

use super::conn::{io_again, Conn, Fail};
use super::run::{self, Driver, State};
use super::{Inner, Ran, PACKET, WINDOW};
use crate::remote::RemoteError;
use ssh2::Channel;
use std::io::Write;
use std::time::{Duration, Instant};

/// What the login shell runs on the shell channel. The trailing word makes
/// the shell easy to tell apart in `ps` (see [`SHELL_ARGS`]).
const START: &str = "exec bash --noprofile --norc -s ducktape-shell";

/// The shell's command line as `ps -o args` shows it.
pub(crate) const SHELL_ARGS: &str = "bash --noprofile --norc -s ducktape-shell";

/// Sent once when the shell starts: bash 5.1 or later (an older shell
/// exits, and the session uses exec channels), job control on
/// (every command's subshell leads its own process group), and the function
/// that runs one command and prints its end markers.
///
/// `__dt_r NONCE SCRIPT`: the subshell (stdin `/dev/null`, job control off
/// so what it starts stays in its group) prints its pid marker, forgets the
/// function's arguments and variables (the nonce must not reach the
/// command) and evals the script; its stderr goes through fd 8 so the
/// shell's own job messages ("Killed") go to /dev/null instead. The shell
/// waits for the command to end, not merely to stop (SIGSTOP): `wait`
/// returns for a stopped job too (status 147-150), so it waits again (every
/// 50 ms) while the subshell exists; any other status is the command's,
/// even if its pid was meanwhile reused. Not `wait -f`: bash 5.2's
/// `wait -f` re-reads the job's process record after `wait_for` has freed
/// it (a job killed by a signal bash reports, such as SIGKILL, is reported
/// and deleted inside the wait), and in the one bash process in 256 whose
/// glibc tcache key makes that freed record look stopped it loops forever
/// ("wait_for: No record of process N"): `kill -9 $BASHPID` then hung a
/// fresh shell. Then: does
/// any process the command started hold the shell's stdout or stderr (a
/// background job)? While the command's process group has members, every
/// process but the shell and its sshd is looked at; otherwise only
/// processes newer than the subshell (one that left the group with
/// `setsid`). Then the markers: `\x01ducktape-end-NONCE` on stdout, with
/// `:STATUS:HELD` on stderr.
///
/// `__dt_n NONCE LEN` reads the script as the LEN bytes that follow its
/// line, then runs it as `__dt_r` does (see [`line`]); a shell that cannot
/// read them all exits instead of running part of a script.
fn init() -> String {
    let pid_mark = super::run::pid_mark_format();
    format!(
        r#"set -m
if [ "${{BASH_VERSINFO[0]}}" -lt 5 ] || {{ [ "${{BASH_VERSINFO[0]}}" -eq 5 ] && [ "${{BASH_VERSINFO[1]}}" -lt 1 ]; }}; then exit 3; fi
__dt_r() {{
{{ ( set +m; exec 8>&-; printf '{pid_mark}' "$BASHPID" >&2; __dt_x=$2; set --; unset -f __dt_r __dt_n; unset __dt_c __dt_s __dt_h __dt_g __dt_d __dt_p __dt_f __dt_y; eval "$__dt_x" ) </dev/null 2>&8 &
__dt_c=$!; while :; do wait "$__dt_c"; __dt_s=$?; case $__dt_s in 14[789]|150) kill -0 "$__dt_c" 2>/dev/null || break;; *) break;; esac; sleep 0.05; done; }} 8>&2 2>/dev/null
__dt_h=0 __dt_g=0
kill -0 -- "-$__dt_c" 2>/dev/null && __dt_g=1
for __dt_d in /proc/[0-9]*; do
__dt_p=${{__dt_d#/proc/}}
case $__dt_p in "$$"|"$PPID") continue;; esac
[ "$__dt_g" = 1 ] || [ "$__dt_p" -gt "$__dt_c" ] 2>/dev/null || continue
for __dt_f in "$__dt_d"/fd/*; do
if [ "$__dt_f" -ef /proc/$$/fd/1 ] || [ "$__dt_f" -ef /proc/$$/fd/2 ]; then __dt_h=1; break 2; fi
done
done
printf '\001ducktape-end-%s\n' "$1"
printf '\001ducktape-end-%s:%d:%d\n' "$1" "$__dt_s" "$__dt_h" >&2
}}
__dt_n() {{
IFS= read -r -N "$2" __dt_y && [ "${{#__dt_y}}" -eq "$2" ] || exit 4
__dt_r "$1" "$__dt_y"
}}
"#
    )
}

/// Whether `cmd` may run on the persistent shell: it must not read the
/// wrapper's `$$`, which a subshell cannot give it.
pub(crate) fn eligible(cmd: &str) -> bool {
    !cmd.contains("$$") && !cmd.contains("${$}")
}

/// The text that runs `cmd` (node variables, root directory, then the
/// command) with end markers tagged `nonce`: `__dt_n NONCE LEN` and the
/// script's LEN bytes, or (a script that cannot be counted, see
/// [`counted`]) `__dt_r NONCE 'SCRIPT'` on one line.
fn line(inner: &Inner, cmd: &str, nonce: &str) -> String {
    let r = crate::remote::quote(&inner.opts.root);
    let h = crate::remote::quote_str(&inner.hostname);
    let n = crate::remote::quote_str(&inner.tag);
    let script = format!(
        "export DUCKTAPE_NODE={n} DUCKTAPE_NODE_ROOT={r} DUCKTAPE_NODE_HOSTNAME={h}\n\
         cd {r} 2>/dev/null || {{ mkdir -p {r} && cd {r}; }} || exit 1\n\
         {cmd}\n"
    );
    if counted(&script) {
        format!("__dt_n {nonce} {}\n{script}", script.len())
    } else {
        format!("__dt_r {nonce} {}\n", crate::remote::quote_str(&script))
    }
}

/// What the shell reads first on a new shell channel: the init (see
/// [`init`]), as a counted block where it can be one (see [`line`]).
fn opening() -> String {
    let init = init();
    if counted(&init) {
        format!(
            "IFS= read -r -N {} __dt_i && eval \"$__dt_i\"; unset __dt_i\n{init}",
            init.len()
        )
    } else {
        init
    }
}

/// Whether `text` can go to the shell as a counted block read with
/// `read -N`: bash reads lines from a pipe one byte per system call (so
/// as not to consume input past the line), which for a command of a few
/// hundred bytes costs the node more CPU than running it, while `read -N`
/// takes the whole block in one call. `-N` counts characters, so only
/// ASCII text (whose bytes are characters in every locale bash runs in)
/// without NUL (which `read` drops) is sent this way; the rest goes as a
/// quoted argument on the command's line.
fn counted(text: &str) -> bool {
    text.bytes().all(|b| b != 0 && b.is_ascii())
}

/// A random nonce: commands cannot guess their end marker.
fn nonce() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// Writes all of `data` to the shell's stdin.
fn send(conn: &Conn, ch: &mut Channel, data: &[u8], until: Instant) -> Result<(), Fail> {
    let mut pos = 0;
    while pos < data.len() {
        match ch.write(&data[pos..]) {
            Ok(n) => pos += n,
            Err(e) if io_again(&e) => conn.wait(until)?,
            Err(e) => return Err(Fail::Chan(e)),
        }
    }
    Ok(())
}

/// How a try on the shell ended.
pub(crate) enum Tried {
    /// The command ran (or failed in a way that says it may have).
    Done(Result<Ran, RemoteError>),
    /// It did not start: run it on an exec channel.
    Fallback,
}

impl Inner {
    /// Runs `cmd` on a session's persistent shell, opening the shell if the
    /// session has none.
    pub(super) fn run_shell(&self, cmd: &str, out: &mut dyn Write, timeout: Duration) -> Tried {
        let started = Instant::now();
        let until = started + timeout;
        let (mut conn, fresh) = match self.take() {
            Ok(c) => c,
            Err(e) => return Tried::Done(Err(e)),
        };
        if conn.no_shell {
            self.put(conn);
            return Tried::Fallback;
        }
        let nonce = nonce();
        let mut text = String::new();
        let mut ch = match conn.shell.take() {
            Some(ch) => ch,
            None => {
                let open_until = until.min(started + self.opts.connect_timeout);
                let opened = conn
                    .nb(open_until, || {
                        conn.sess.channel_open("session", WINDOW, PACKET, None)
                    })
                    .and_then(|mut ch| conn.nb(open_until, || ch.exec(START)).map(|()| ch));
                match opened {
                    Ok(ch) => {
                        text.push_str(&opening());
                        ch
                    }
                    Err(f) => {
                        // A dead pooled session: the exec path reconnects.
                        tracing::debug!(node = %self.target.node, error = %f, fresh, "no shell channel");
                        conn.discard();
                        return Tried::Fallback;
                    }
                }
            }
        };
        // The shell was opened just now: its init goes first.
        let opened_now = !text.is_empty();
        text.push_str(&line(self, cmd, &nonce));
        tracing::debug!(node = %self.target.node, cmd, "exec (shell)");
        let mut d = Driver::for_shell(&nonce, self.opts.output_grace);
        let mut sent = false;
        let result = send(&conn, &mut ch, text.as_bytes(), until).and_then(|()| {
            sent = true;
            loop {
                match d.step(&conn, &mut ch, until, out)? {
                    State::Running => continue,
                    s => break Ok(s),
                }
            }
        });
        let ran = |d: &mut Driver, status| Ran {
            status,
            stderr: std::mem::take(&mut d.stderr),
            pid: d.pid,
        };
        match result {
            Ok(State::Ended) => {
                let status = d.exit.unwrap_or(0);
                tracing::debug!(
                    node = %self.target.node,
                    cmd,
                    status,
                    stdout_bytes = d.out_bytes,
                    us = started.elapsed().as_micros() as u64,
                    "exit (shell)"
                );
                conn.shell = Some(ch);
                self.put(conn);
                Tried::Done(Ok(ran(&mut d, status)))
            }
            Ok(State::HeldOpen) => {
                // Something the command started holds its output: this
                // shell's streams are no longer its own.
                let status = d.exit.unwrap_or(0);
                tracing::debug!(node = %self.target.node, cmd, "output held open; closing the shell");
                self.retire(conn, ch);
                Tried::Done(Ok(ran(&mut d, status)))
            }
            Ok(_) if d.pid.is_none() && d.out_bytes == 0 => {
                // The shell ended before the command started (no bash, or
                // killed while idle): nothing ran.
                tracing::debug!(
                    node = %self.target.node,
                    cmd,
                    stderr = %String::from_utf8_lossy(&d.stderr),
                    "shell gone; using an exec channel"
                );
                // A shell that ends as it starts will always: no bash.
                conn.no_shell = opened_now;
                self.retire(conn, ch);
                Tried::Fallback
            }
            Ok(_) => {
                self.retire(conn, ch);
                Tried::Done(Err(RemoteError::Ssh {
                    node: self.target.node.clone(),
                    addr: self.target.addr(),
                    op: format!("run `{cmd}`"),
                    reason: "the shell running it ended before it finished (was it killed?)".into(),
                }))
            }
            Err(Fail::Deadline) => {
                let pid = d.pid;
                drop(d);
                Tried::Done(Err(self.timed_out(conn, ch, pid, cmd, timeout, true)))
            }
            Err(f) => {
                drop(ch);
                conn.discard();
                if !sent && !fresh {
                    // The pooled session died while idle, as the exec path
                    // finds at channel open: reconnect (there) once. Once
                    // the command went out it may have run (even without
                    // its pid marker arriving): never run it twice.
                    self.reconnects
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::debug!(
                        node = %self.target.node,
                        error = %f,
                        sent,
                        "pooled SSH session is dead; reconnecting"
                    );
                    return Tried::Fallback;
                }
                Tried::Done(Err(self.ssh_err(
                    format!(
                        "lost the connection while running `{cmd}`; it may or may not have run"
                    ),
                    &f,
                )))
            }
        }
    }

    /// Closes a session's shell and pools the session (or drops it if the
    /// close does not go through).
    fn retire(&self, conn: Conn, mut ch: Channel) {
        match run::close_channel(&conn, &mut ch, Duration::from_secs(2)) {
            Ok(()) => {
                drop(ch);
                self.put(conn);
            }
            Err(_) => {
                drop(ch);
                conn.discard();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_naming_the_shell_pid_keep_exec_channels() {
        assert!(eligible("true"));
        assert!(eligible("echo $PPID $BASHPID $!"));
        assert!(!eligible("kill -TERM $$"));
        assert!(!eligible("echo ${$} > pid"));
    }

    #[test]
    fn only_ascii_without_nul_is_sent_counted() {
        assert!(counted("echo ok\n\u{1}\t'\"$x"));
        assert!(!counted("echo 'grüße'"));
        assert!(!counted("printf 'a\0b'"));
        assert!(opening().starts_with("IFS= read -r -N "));
        assert!(opening().ends_with(&init()));
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
        assert_eq!(nonce().len(), 32);
    }

    /// bash 5.2's `wait -f` hung about one fresh shell in 256 on a command
    /// killed by SIGKILL (see [`init`]): each of 1,200 fresh local shells
    /// runs `kill -9 $BASHPID` once and must print its end marker. With
    /// `wait -f` this fails in about 99 runs in 100.
    #[test]
    fn a_sigkilled_command_ends_in_every_fresh_shell() {
        use std::io::{BufRead as _, BufReader};
        use std::process::{Command, Stdio};
        const SHELLS: usize = 1200;
        const AT_ONCE: usize = 4;
        let script = format!("{}__dt_r n1 'kill -9 $BASHPID'\nexit 0\n", init());
        let one = |i: usize| -> Result<(), String> {
            let mut child = Command::new("bash")
                .args(["--noprofile", "--norc", "-s"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("bash: {e}"))?;
            let mut stdin = child.stdin.take().ok_or("no stdin")?;
            stdin
                .write_all(script.as_bytes())
                .map_err(|e| format!("shell {i}: write: {e}"))?;
            drop(stdin);
            let stdout = child.stdout.take().ok_or("no stdout")?;
            let pid = child.id();
            // A hung shell spins: it is killed after 10 s and named.
            let (done, wait_done) = std::sync::mpsc::channel::<()>();
            let watchdog = std::thread::spawn(move || {
                let late = wait_done.recv_timeout(Duration::from_secs(10)).is_err();
                if late {
                    // SAFETY: kill(2) on our own child's pid.
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                }
                late
            });
            let ended = BufReader::new(stdout)
                .split(b'\n')
                .map_while(Result::ok)
                .any(|l| l == b"\x01ducktape-end-n1");
            let _ = done.send(());
            let _ = child.wait();
            let hung = watchdog.join().unwrap_or(true);
            match (ended, hung) {
                (true, false) => Ok(()),
                _ => Err(format!(
                    "shell {i} of {SHELLS}: no end marker (hung: {hung})"
                )),
            }
        };
        let failures: Vec<String> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..AT_ONCE)
                .map(|w| {
                    s.spawn(move || {
                        (w..SHELLS)
                            .step_by(AT_ONCE)
                            .filter_map(|i| one(i).err())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_default())
                .collect()
        });
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
