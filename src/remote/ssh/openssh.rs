//! Large file copies through OpenSSH's client.
//!
//! libssh2 encrypts and decrypts 16 bytes per OpenSSL call, so a copy over
//! it spends about twice OpenSSH's CPU per byte and reaches ~0.75x of
//! `ssh host 'cat > f'` on the same machine (measured by `cargo bench
//! --bench ssh`). A large copy therefore goes through the `ssh` program when
//! there is one and the node logs in without a password: the same host, port,
//! user and key, host keys checked against the same known_hosts file with
//! the same policy, the user's `~/.ssh/config` ignored (as libssh2 does).
//! When the client cannot be used (not installed, login refused: its exit
//! status 255), the copy goes through libssh2 and this node's copies stay
//! there for the rest of the process.

use super::{Ran, SshAccount};
use crate::remote::{HostKeyPolicy, RemoteError};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::fs::File;
use std::io::Read as _;
use std::process::{Command, Stdio};

/// Nodes (client and `host:port`) whose client failed to log in: their
/// copies go through libssh2 from then on.
static REFUSED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// The exit status OpenSSH's client reserves for its own errors.
const CLIENT_ERROR: i32 = 255;

/// Runs `cmd` on the node through OpenSSH's client with the file as its
/// input (`copy_to`) or output (`copy_from`). `Ok(false)`: the client could
/// not be used, nothing was copied, the caller copies through libssh2.
pub(super) fn run(a: &SshAccount, op: &str, cmd: &str, io: Io) -> Result<bool, RemoteError> {
    let Some(mut client) = client(a) else {
        return Ok(false);
    };
    let (stdin, stdout) = match io {
        Io::From(file) => (Stdio::from(file), Stdio::null()),
        Io::Into(file) => (Stdio::null(), Stdio::from(file)),
    };
    let child = client
        .arg(a.inner.wrap(cmd))
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        // Not installed (or not runnable): libssh2 it is.
        refuse(a, "the client does not start");
        return Ok(false);
    };
    let mut stderr = Vec::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_end(&mut stderr);
    }
    let status = child.wait().map_err(|e| a.inner.io_err(op, e))?;
    let status = status.code().unwrap_or(CLIENT_ERROR);
    // The wrapper's markers go to stderr: they are not the command's words.
    let stderr: Vec<u8> = String::from_utf8_lossy(&stderr)
        .lines()
        .filter(|l| !l.starts_with('\u{1}'))
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    match status {
        0 => Ok(true),
        CLIENT_ERROR => {
            refuse(a, String::from_utf8_lossy(&stderr).trim());
            Ok(false)
        }
        _ => Err(a.inner.file_err(
            op,
            &Ran {
                status,
                stderr,
                pid: None,
            },
        )),
    }
}

/// The file a copy reads (`From`) or writes (`Into`).
pub(super) enum Io {
    From(File),
    Into(File),
}

/// The client's command line for this account, or `None` when copies go
/// through libssh2 (no client configured, a password login, or the client
/// failed here before).
fn client(a: &SshAccount) -> Option<Command> {
    let (t, o) = (&a.inner.target, &a.inner.opts);
    let program = o.copy_client.as_ref()?;
    if t.password.is_some() && t.key.is_none() {
        return None;
    }
    if REFUSED
        .lock()
        .as_ref()
        .is_some_and(|r| r.contains(&refusal_key(a)))
    {
        return None;
    }
    let (strict, known_hosts) = match o.host_keys {
        HostKeyPolicy::Strict => ("yes", o.known_hosts_file()),
        HostKeyPolicy::AcceptNew => ("accept-new", o.known_hosts_file()),
        HostKeyPolicy::Off => ("no", "/dev/null".into()),
    };
    let mut c = Command::new(program);
    c.args(["-F", "/dev/null", "-T", "-x", "-a"])
        .args(["-o", "BatchMode=yes", "-o", "LogLevel=ERROR"])
        .args([
            "-o",
            "Compression=no",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
        ])
        .arg("-o")
        .arg(format!("StrictHostKeyChecking={strict}"))
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .arg("-o")
        .arg(format!(
            "ConnectTimeout={}",
            o.connect_timeout.as_secs().max(1)
        ))
        .arg("-o")
        .arg(format!(
            "ServerAliveInterval={}",
            o.keepalive.as_secs().max(1)
        ))
        .args(["-p", &t.port.to_string(), "-l", &t.user]);
    if let Some(key) = &t.key {
        c.arg("-i").arg(key).args(["-o", "IdentitiesOnly=yes"]);
    }
    if !o.ciphers.is_empty() {
        c.arg("-c").arg(o.ciphers.join(","));
    }
    c.arg("--").arg(&t.host);
    Some(c)
}

/// The client and node a refusal is about.
fn refusal_key(a: &SshAccount) -> String {
    let program = a.inner.opts.copy_client.as_deref().unwrap_or("".as_ref());
    format!("{} {}", program.display(), a.inner.target.addr())
}

/// Sends this node's copies through libssh2 from now on, saying why once.
fn refuse(a: &SshAccount, why: &str) {
    let key = refusal_key(a);
    let first = REFUSED.lock().get_or_insert_with(HashSet::new).insert(key);
    if first {
        tracing::info!(
            node = %a.inner.target.node,
            "large copies go through libssh2: OpenSSH's client cannot log in ({why})"
        );
    }
}
