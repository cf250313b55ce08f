//! One SSH connection: TCP (with `TCP_NODELAY` set before the handshake),
//! handshake, host key check, authentication, and the non-blocking helpers
//! every operation on it uses.
//!
//! After authentication a session is non-blocking: every libssh2 call that
//! would block returns `EAGAIN`, and [`Conn::nb`] waits on the socket (with
//! `poll(2)`, sending keepalives when due) until the call completes or the
//! caller's deadline passes. So no call can hang past its deadline, and
//! stdout and stderr of a command can be drained side by side.

use super::{HostKeyPolicy, SshOptions};
use crate::remote::RemoteError;
use ssh2::{BlockDirections, CheckResult, ErrorCode, KnownHostFileKind, MethodType, Session};
use std::fmt;
use std::io::{self, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// libssh2's "would block".
const EAGAIN: i32 = -37;
/// libssh2's "timed out" (blocking calls with a session timeout).
const ETIMEOUT: i32 = -9;

/// Where and as whom to connect.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    /// The node's name, for messages.
    pub node: String,
    /// Host name or address to connect to.
    pub host: String,
    /// SSH port.
    pub port: u16,
    /// User to log in as.
    pub user: String,
    /// Private key file, if the cluster file names one.
    pub key: Option<PathBuf>,
    /// Password, if the cluster file has one.
    pub password: Option<String>,
}

impl Target {
    /// `host:port`, as messages show it.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Why a non-blocking step did not complete.
#[derive(Debug)]
pub(crate) enum Fail {
    /// The caller's deadline passed.
    Deadline,
    /// libssh2 failed (on a socket error too: the connection is gone).
    Ssh(ssh2::Error),
    /// A channel stream failed (the connection is gone).
    Chan(io::Error),
    /// A local source or sink (file, pipe) failed.
    Local(io::Error),
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Deadline => f.write_str("deadline passed"),
            Fail::Ssh(e) => write!(f, "{}", describe(e)),
            Fail::Chan(e) => write!(
                f,
                "{e} (the connection broke: network cut, host down or sshd killed)"
            ),
            Fail::Local(e) => write!(f, "{e}"),
        }
    }
}

/// A libssh2 error in words a user can act on.
pub(crate) fn describe(e: &ssh2::Error) -> String {
    let hint = match e.code() {
        ErrorCode::Session(-13) => " (the server closed the connection)",
        ErrorCode::Session(-43) | ErrorCode::Session(-7) => {
            " (the connection broke: network cut, host down or sshd killed)"
        }
        ErrorCode::Session(-9) => " (no answer in time)",
        _ => "",
    };
    format!("{}{hint}", e.message())
}

pub(crate) fn is_again(e: &ssh2::Error) -> bool {
    matches!(e.code(), ErrorCode::Session(EAGAIN))
}

/// Whether an I/O error from a channel stream means "try again later".
pub(crate) fn io_again(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// An authenticated, non-blocking SSH session.
pub(crate) struct Conn {
    /// The session (shared with its channels).
    pub sess: Session,
    /// A second handle on the session's socket, to poll and shut it down.
    tcp: TcpStream,
    /// A number for debug logs.
    pub id: u64,
    /// The session's persistent shell, if one is open (see `super::shell`).
    pub shell: Option<ssh2::Channel>,
    /// The node has no usable shell for that: use exec channels only.
    pub no_shell: bool,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Conn#{}", self.id)
    }
}

impl Conn {
    /// Repeats a libssh2 call until it stops saying "would block", waiting
    /// on the socket in between; fails with [`Fail::Deadline`] at `until`.
    pub fn nb<T>(
        &self,
        until: Instant,
        mut f: impl FnMut() -> Result<T, ssh2::Error>,
    ) -> Result<T, Fail> {
        loop {
            match f() {
                Err(e) if is_again(&e) => self.wait(until)?,
                r => return r.map_err(Fail::Ssh),
            }
        }
    }

    /// Waits until the socket is ready in the direction libssh2 is blocked
    /// on, sending a keepalive when one is due. Returns early (without
    /// error) at the next keepalive time; fails at `until`.
    pub fn wait(&self, until: Instant) -> Result<(), Fail> {
        let now = Instant::now();
        if now >= until {
            return Err(Fail::Deadline);
        }
        let mut ms = (until - now).as_millis().min(60_000) as i32 + 1;
        // Sends a keepalive if the interval passed; says in whole seconds,
        // rounded down, when the next is due.
        match self.sess.keepalive_send() {
            Ok(next) => ms = ms.min((next.min(3600) as i32 + 1) * 1000),
            Err(e) if is_again(&e) => {}
            Err(e) => return Err(Fail::Ssh(e)),
        }
        let events = match self.sess.block_directions() {
            BlockDirections::Inbound => libc::POLLIN,
            BlockDirections::Outbound => libc::POLLOUT,
            BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
            BlockDirections::None => {
                ms = ms.min(5);
                libc::POLLIN
            }
        };
        let mut fds = libc::pollfd {
            fd: self.tcp.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let rc = unsafe { libc::poll(&mut fds, 1, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(Fail::Local(e));
            }
        }
        Ok(())
    }

    /// Drops a connection that may be broken without waiting on it: the
    /// socket is shut down first, so libssh2's clean-up cannot block.
    pub fn discard(self) {
        tracing::debug!(conn = self.id, "discarding SSH connection");
        let _ = self.tcp.shutdown(Shutdown::Both);
        drop(self.shell);
    }

    /// Closes a healthy connection politely (used when an account is dropped).
    pub fn close(mut self) {
        // Closing the session ends the shell (its stdin closes).
        drop(self.shell.take());
        let _ = self.sess.disconnect(None, "ducktape: account closed", None);
        let _ = self.tcp.shutdown(Shutdown::Both);
    }
}

/// Opens, checks and authenticates a connection to `t`.
pub(crate) fn connect(t: &Target, o: &SshOptions) -> Result<Conn, RemoteError> {
    let started = Instant::now();
    let tcp = tcp_connect(t, o)?;
    let sock = tcp.try_clone().map_err(|e| ssh_err(t, "connect", e))?;
    let mut sess = Session::new().map_err(|e| ssh_err(t, "start an SSH session", describe(&e)))?;
    sess.set_tcp_stream(tcp);
    // Blocking, with a limit, until authenticated.
    sess.set_blocking(true);
    sess.set_timeout(o.connect_timeout.as_millis().clamp(1, u32::MAX as u128) as u32);
    set_preferences(&sess, t, o);
    sess.handshake().map_err(|e| {
        if matches!(e.code(), ErrorCode::Session(ETIMEOUT)) {
            RemoteError::Connect {
                node: t.node.clone(),
                addr: t.addr(),
                source: io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the SSH handshake did not finish within {:?}",
                        o.connect_timeout
                    ),
                ),
            }
        } else {
            ssh_err(t, "SSH handshake", describe(&e))
        }
    })?;
    check_host_key(&sess, t, o)?;
    authenticate(&sess, t)?;
    sess.set_keepalive(true, o.keepalive.as_secs().clamp(2, u32::MAX as u64) as u32);
    sess.set_timeout(0);
    sess.set_blocking(false);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(
        node = %t.node,
        addr = %t.addr(),
        user = %t.user,
        conn = id,
        ms = started.elapsed().as_millis() as u64,
        "SSH connected"
    );
    Ok(Conn {
        sess,
        tcp: sock,
        id,
        shell: None,
        no_shell: false,
    })
}

/// Checks `t`'s host key against known_hosts without logging in: TCP
/// connect, handshake, key check, disconnect. The runner calls it once per
/// node before the first test, so a missing or changed key stops the run
/// with one error instead of failing every test.
pub(crate) fn check_host(t: &Target, o: &SshOptions) -> Result<(), RemoteError> {
    let tcp = tcp_connect(t, o)?;
    let sock = tcp.try_clone().map_err(|e| ssh_err(t, "connect", e))?;
    let mut sess = Session::new().map_err(|e| ssh_err(t, "start an SSH session", describe(&e)))?;
    sess.set_tcp_stream(tcp);
    sess.set_blocking(true);
    sess.set_timeout(o.connect_timeout.as_millis().clamp(1, u32::MAX as u128) as u32);
    set_preferences(&sess, t, o);
    sess.handshake()
        .map_err(|e| ssh_err(t, "SSH handshake", describe(&e)))?;
    let checked = check_host_key(&sess, t, o);
    let _ = sess.disconnect(None, "ducktape: host key checked", None);
    let _ = sock.shutdown(Shutdown::Both);
    checked
}

fn ssh_err(t: &Target, op: &str, reason: impl fmt::Display) -> RemoteError {
    RemoteError::Ssh {
        node: t.node.clone(),
        addr: t.addr(),
        op: op.to_string(),
        reason: reason.to_string(),
    }
}

fn tcp_connect(t: &Target, o: &SshOptions) -> Result<TcpStream, RemoteError> {
    let connect_err = |source: io::Error| RemoteError::Connect {
        node: t.node.clone(),
        addr: t.addr(),
        source,
    };
    let addrs: Vec<SocketAddr> = (t.host.as_str(), t.port)
        .to_socket_addrs()
        .map_err(connect_err)?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolves to no address");
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, o.connect_timeout) {
            Ok(tcp) => {
                tcp.set_nodelay(true).map_err(connect_err)?;
                set_user_timeout(&tcp, o.dead_after);
                return Ok(tcp);
            }
            Err(e) => last = e,
        }
    }
    Err(connect_err(last))
}

/// `TCP_USER_TIMEOUT`: the kernel drops the connection when data it sent
/// (a command, a keepalive) stays unacknowledged this long, so a cut-off
/// node surfaces as an error instead of a hang.
fn set_user_timeout(tcp: &TcpStream, after: Duration) {
    let ms: libc::c_uint = after.as_millis().clamp(1, u32::MAX as u128) as libc::c_uint;
    // SAFETY: setsockopt on a valid socket with a pointer to a c_uint of the
    // size passed; failure only leaves the kernel default.
    unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_USER_TIMEOUT,
            (&ms as *const libc::c_uint).cast(),
            std::mem::size_of::<libc::c_uint>() as libc::socklen_t,
        );
    }
}

fn set_preferences(sess: &Session, t: &Target, o: &SshOptions) {
    let wanted: Vec<String> = if o.ciphers.is_empty() {
        crate::remote::SSH_CIPHERS[..crate::remote::DEFAULT_CIPHER_COUNT]
            .iter()
            .map(|c| c.to_string())
            .collect()
    } else {
        o.ciphers.clone()
    };
    for kind in [MethodType::CryptCs, MethodType::CryptSc] {
        if let Ok(have) = sess.supported_algs(kind) {
            let pref: Vec<&str> = wanted
                .iter()
                .map(String::as_str)
                .filter(|c| have.contains(c))
                .collect();
            if !pref.is_empty() {
                let _ = sess.method_pref(kind, &pref.join(","));
            }
        }
    }
    // Ask for a host key type the known_hosts file has for this host, as
    // OpenSSH does, so a host with several keys is not reported unknown.
    if o.host_keys == HostKeyPolicy::Off {
        return;
    }
    let known = known_key_types(&o.known_hosts_file(), &t.host, t.port);
    if known.is_empty() {
        return;
    }
    if let Ok(have) = sess.supported_algs(MethodType::HostKey) {
        let mut pref: Vec<&str> = Vec::new();
        for k in &known {
            let names: &[&str] = if k == "ssh-rsa" {
                &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
            } else {
                &[]
            };
            for n in names.iter().copied().chain(std::iter::once(k.as_str())) {
                if have.contains(&n) && !pref.contains(&n) {
                    pref.push(n);
                }
            }
        }
        for n in have {
            if !pref.contains(&n) {
                pref.push(n);
            }
        }
        let _ = sess.method_pref(MethodType::HostKey, &pref.join(","));
    }
}

/// Key types of the plain (not hashed) known_hosts entries for a host.
fn known_key_types(file: &Path, host: &str, port: u16) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let want = host_pattern(host, port);
    let mut types = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(hosts) = fields.next() else {
            continue;
        };
        if hosts.starts_with('#') {
            continue;
        }
        // @revoked / @cert-authority lines and hashed names are skipped.
        if hosts.starts_with('@') || hosts.starts_with('|') {
            continue;
        }
        if hosts.split(',').any(|h| h == want) {
            if let Some(ty) = fields.next() {
                if !types.iter().any(|t: &String| t == ty) {
                    types.push(ty.to_string());
                }
            }
        }
    }
    types
}

/// How known_hosts names a host: `host`, or `[host]:port` off port 22.
fn host_pattern(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Serialises checks and appends of known_hosts within this process.
static KNOWN_HOSTS_LOCK: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

fn check_host_key(sess: &Session, t: &Target, o: &SshOptions) -> Result<(), RemoteError> {
    if o.host_keys == HostKeyPolicy::Off {
        return Ok(());
    }
    let file = o.known_hosts_file();
    let hk_err = |reason: String| RemoteError::HostKey {
        node: t.node.clone(),
        addr: t.addr(),
        file: file.clone(),
        reason,
    };
    let Some((key, _)) = sess.host_key() else {
        return Err(hk_err("the server sent no host key".into()));
    };
    let key = key.to_vec();
    if t.host.contains('\0') {
        return Err(hk_err("the host name contains a NUL byte".into()));
    }
    let _guard = KNOWN_HOSTS_LOCK.lock();
    let mut kh = sess
        .known_hosts()
        .map_err(|e| hk_err(format!("libssh2 cannot check host keys: {}", describe(&e))))?;
    match std::fs::read_to_string(&file) {
        Ok(text) => {
            // Line by line: a line libssh2 cannot parse (a key type it does
            // not know, @cert-authority) must not hide the rest of the file.
            // Lines that plainly name other hosts are skipped unparsed: 64
            // nodes connecting at once each parsed every node's line here,
            // under the lock.
            let names = [t.host.clone(), host_pattern(&t.host, t.port)];
            for line in text.lines() {
                let l = line.trim();
                if l.is_empty() || l.starts_with('#') || names_other_host(l, &names) {
                    continue;
                }
                let _ = kh.read_str(l, KnownHostFileKind::OpenSSH);
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(hk_err(format!("cannot read it: {e}"))),
    }
    let ty = key_type(&key).unwrap_or("unknown");
    match kh.check_port(&t.host, t.port, &key) {
        CheckResult::Match => Ok(()),
        CheckResult::Mismatch => Err(hk_err(format!(
            "the {ty} host key the server sent does not match the one recorded for {}: the host \
             was reinstalled, or someone is intercepting the connection. If the new key is \
             expected, remove the old one with `ssh-keygen -R {} -f {}`",
            host_pattern(&t.host, t.port),
            host_pattern(&t.host, t.port),
            file.display()
        ))),
        CheckResult::NotFound if o.host_keys == HostKeyPolicy::AcceptNew => {
            append_known_host(&file, &t.host, t.port, &key)
                .map_err(|e| hk_err(format!("cannot record the new {ty} host key: {e}")))?;
            tracing::info!(
                node = %t.node,
                addr = %t.addr(),
                file = %file.display(),
                "accepted and recorded a new {ty} host key"
            );
            Ok(())
        }
        CheckResult::NotFound => Err(hk_err(format!(
            "{} is not in it (the server offered a {ty} key). Add its key \
             (`ssh-keyscan -p {} {} >> {}`), point DUCKTAPE_KNOWN_HOSTS at a file that has it, \
             or set DUCKTAPE_SSH_ACCEPT_NEW=1 to accept and record new host keys",
            host_pattern(&t.host, t.port),
            t.port,
            t.host,
            file.display()
        ))),
        CheckResult::Failure => Err(hk_err("libssh2 could not check the key".into())),
    }
}

/// Whether a known_hosts line names plain hosts only (no hashed name, no
/// pattern, no marker) and none of `names`.
fn names_other_host(line: &str, names: &[String]) -> bool {
    let hosts = line.split_whitespace().next().unwrap_or_default();
    if hosts.starts_with('@') || hosts.contains(['|', '*', '?', '!']) {
        return false;
    }
    !hosts.split(',').any(|h| names.iter().any(|n| n == h))
}

/// The key type named at the start of an SSH public key blob.
fn key_type(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4 + len)?).ok()
}

fn append_known_host(file: &Path, host: &str, port: u16, key: &[u8]) -> io::Result<()> {
    let ty = key_type(key).ok_or_else(|| io::Error::other("unreadable host key"))?;
    if let Some(dir) = file.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    let line = format!("{} {ty} {}\n", host_pattern(host, port), base64(key));
    f.write_all(line.as_bytes())
}

/// Standard base64 with padding (known_hosts keys).
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Key auth with the cluster file's identity file; password auth when it
/// gives a password; otherwise ssh-agent, then the default key files.
fn authenticate(sess: &Session, t: &Target) -> Result<(), RemoteError> {
    let auth_err = |method: String, reason: String| RemoteError::Auth {
        node: t.node.clone(),
        user: t.user.clone(),
        addr: t.addr(),
        method,
        reason,
    };
    let mut tried: Vec<String> = Vec::new();
    if let Some(key) = &t.key {
        if !key.is_file() {
            return Err(auth_err(
                format!("key {}", key.display()),
                "the key file does not exist or is not a file; fix `identityfile` in the \
                 cluster file"
                    .into(),
            ));
        }
        match sess.userauth_pubkey_file(&t.user, None, key, t.password.as_deref()) {
            Ok(()) if sess.authenticated() => return Ok(()),
            Ok(()) => tried.push(format!("key {}: not accepted", key.display())),
            Err(e) => tried.push(format!("key {}: {}", key.display(), describe(&e))),
        }
    }
    if let Some(password) = &t.password {
        match sess.userauth_password(&t.user, password) {
            Ok(()) if sess.authenticated() => return Ok(()),
            Ok(()) => tried.push("password: not accepted".into()),
            Err(e) => tried.push(format!("password: {}", describe(&e))),
        }
    }
    if t.key.is_none() && t.password.is_none() {
        if std::env::var_os("SSH_AUTH_SOCK").is_some() {
            match sess.userauth_agent(&t.user) {
                Ok(()) if sess.authenticated() => return Ok(()),
                Ok(()) => tried.push("ssh-agent: no key accepted".into()),
                Err(e) => tried.push(format!("ssh-agent: {}", describe(&e))),
            }
        } else {
            tried.push("ssh-agent: not running (SSH_AUTH_SOCK is unset)".into());
        }
        if let Some(home) = std::env::var_os("HOME") {
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                let key = Path::new(&home).join(".ssh").join(name);
                if !key.is_file() {
                    continue;
                }
                match sess.userauth_pubkey_file(&t.user, None, &key, None) {
                    Ok(()) if sess.authenticated() => return Ok(()),
                    Ok(()) => tried.push(format!("key {}: not accepted", key.display())),
                    Err(e) => tried.push(format!("key {}: {}", key.display(), describe(&e))),
                }
            }
        }
    }
    let method = match (&t.key, &t.password) {
        (Some(k), None) => format!("key {}", k.display()),
        (Some(k), Some(_)) => format!("key {} and password", k.display()),
        (None, Some(_)) => "password".to_string(),
        (None, None) => "ssh-agent and default keys".to_string(),
    };
    Err(auth_err(method, tried.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn known_hosts_patterns_and_types() {
        let dir = std::env::temp_dir().join(format!("dt-kh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("known_hosts");
        std::fs::write(
            &f,
            "# c\nnode1,10.0.0.1 ssh-ed25519 AAAA\n[10.0.0.2]:2222 ssh-rsa BBBB\n|1|x|y ssh-rsa C\n",
        )
        .unwrap();
        assert_eq!(known_key_types(&f, "10.0.0.1", 22), vec!["ssh-ed25519"]);
        assert_eq!(known_key_types(&f, "10.0.0.2", 2222), vec!["ssh-rsa"]);
        assert!(known_key_types(&f, "10.0.0.2", 22).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn known_hosts_lines_of_other_hosts_are_skipped() {
        let names = ["10.0.0.1".to_string(), "10.0.0.1".to_string()];
        assert!(!names_other_host("10.0.0.1 ssh-ed25519 AAAA", &names));
        assert!(!names_other_host("n1,10.0.0.1 ssh-ed25519 AAAA", &names));
        assert!(names_other_host("10.0.0.2 ssh-ed25519 AAAA", &names));
        assert!(!names_other_host("|1|x|y ssh-rsa C", &names));
        assert!(!names_other_host("10.0.0.* ssh-rsa C", &names));
        assert!(!names_other_host("@revoked 10.0.0.2 ssh-rsa C", &names));
    }

    #[test]
    fn key_type_reads_the_blob_header() {
        let mut blob = vec![0, 0, 0, 11];
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&[0, 0, 0, 1, 7]);
        assert_eq!(key_type(&blob), Some("ssh-ed25519"));
        assert_eq!(key_type(&[0, 0]), None);
    }
}
