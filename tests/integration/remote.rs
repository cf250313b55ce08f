//! The remote-account conformance suite: the same checks run against a
//! [`LocalAccount`] and against [`SshAccount`]s on the network-namespace
//! cluster (`scripts/netns-cluster.sh`), which this binary brings up once
//! and tears down at exit. Without root or sshd the SSH half says why and
//! passes without checking anything.
//!
//! Node use: the conformance checks use node1 (and node3 as the second node
//! of `copy_between`); the tests that cut or break connections use node2
//! only, one at a time; the credential tests connect to node3.

use ducktape::cluster::file::{load_json_cluster, NodeConfig};
use ducktape::cluster::spec::ClusterSpec;
use ducktape::cluster::Cluster;
use ducktape::remote::{
    fan_out, HostKeyPolicy, LocalAccount, LogMonitor, RemoteAccount, RemoteAccountExt as _,
    RemoteError, SshAccount, SshOptions,
};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

type Acc = Arc<dyn RemoteAccount>;

/// What one conformance check gets: a node, a second node, and a local
/// scratch directory.
struct Env {
    a: Acc,
    b: Acc,
    local: tempfile::TempDir,
}

// ---------------------------------------------------------------- checks

fn echo(e: &Env) {
    assert_eq!(e.a.ssh_output("echo hello").unwrap(), "hello\n");
    let out =
        e.a.exec("echo out; echo err >&2", Duration::from_secs(30))
            .unwrap();
    assert_eq!(out.status, 0);
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n", "stderr must be the command's only");
    // Commands run in the node's root, with the node variables set.
    let pwd = e.a.ssh_output("pwd").unwrap();
    assert_eq!(Path::new(pwd.trim()), e.a.root());
    let host = e.a.ssh_output("echo $DUCKTAPE_NODE_HOSTNAME").unwrap();
    assert_eq!(host.trim(), e.a.hostname());
    // Commands read no stdin: `cat` sees end-of-file at once.
    assert_eq!(e.a.ssh_output("cat; echo eof").unwrap(), "eof\n");
    // Quoting survives the trip.
    let tricky = "it's \"quoted\" $HOME `x` \\ ;|&";
    let out =
        e.a.ssh_output(&format!(
            "printf %s {}",
            ducktape::remote::quote_str(tricky)
        ))
        .unwrap();
    assert_eq!(out, tricky);
    assert!(e.a.available());
}

fn large_output(e: &Env) {
    const N: usize = 10 << 20;
    let t = Instant::now();
    let out =
        e.a.exec(
            &format!("head -c {N} /dev/zero | tr '\\0' x"),
            Duration::from_secs(60),
        )
        .unwrap();
    assert_eq!(out.status, 0);
    assert_eq!(out.stdout.len(), N);
    assert!(out.stdout.bytes().all(|b| b == b'x'));
    eprintln!("{}: 10 MiB through exec in {:?}", e.a.name(), t.elapsed());

    // Both streams at once, each far beyond a pipe or window: a reader that
    // drains only one of them deadlocks here.
    let out =
        e.a.exec(
            "yes o | head -c 3000000 & yes e | head -c 3000000 >&2; wait",
            Duration::from_secs(60),
        )
        .unwrap();
    assert_eq!((out.stdout.len(), out.stderr.len()), (3_000_000, 3_000_000));

    let t = Instant::now();
    let lines =
        e.a.capture("yes 0123456789abcdef | head -n 600000")
            .unwrap();
    let mut n = 0;
    for line in lines {
        assert_eq!(line.unwrap(), "0123456789abcdef");
        n += 1;
    }
    assert_eq!(n, 600_000);
    eprintln!("{}: 10 MB through capture in {:?}", e.a.name(), t.elapsed());

    // A capture that fails reports it after its lines.
    let items: Vec<_> = e.a.capture("echo one; echo two; exit 4").unwrap().collect();
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[1].as_ref().unwrap(), "two");
    let err = items[2].as_ref().unwrap_err().to_string();
    assert!(err.contains("status 4"), "{err}");

    // Stopping early kills the command.
    let mut lines = e.a.capture("echo first; exec sleep 41").unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "first");
    drop(lines);
    wait_for(
        || e.a.pids("^sleep 41$").unwrap().is_empty(),
        "capture killed",
    );
}

fn sha256_local(p: &Path) -> String {
    let out = Command::new("sha256sum").arg(p).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn sha256_remote(a: &Acc, p: &str) -> String {
    a.ssh_output(&format!("sha256sum {p}"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn large_file(e: &Env) {
    const N: usize = 100 << 20;
    let src = e.local.path().join("big.bin");
    let mut data = vec![0u8; N];
    let mut rng = fastrand::Rng::with_seed(7);
    for chunk in data.chunks_mut(8) {
        let v = rng.u64(..).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    std::fs::write(&src, &data).unwrap();
    drop(data);
    // Mode survives both ways, also when the file moves in parts.
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o640)).unwrap();
    let want = sha256_local(&src);
    e.a.remove(Path::new("t-big"), true).unwrap();
    let t = Instant::now();
    e.a.copy_to(&src, Path::new("t-big/big.bin")).unwrap();
    let up = t.elapsed();
    assert_eq!(sha256_remote(&e.a, "t-big/big.bin"), want);
    let root = e.a.root().join("t-big/big.bin");
    let stat = format!("stat -c %a {}", root.display());
    assert_eq!(e.a.ssh_output(&stat).unwrap().trim(), "640");
    let back = e.local.path().join("back.bin");
    let t = Instant::now();
    e.a.copy_from(Path::new("t-big/big.bin"), &back).unwrap();
    let down = t.elapsed();
    assert_eq!(std::fs::metadata(&back).unwrap().len(), N as u64);
    assert_eq!(sha256_local(&back), want);
    assert_eq!(mode(&back), 0o640);
    eprintln!(
        "{}: 100 MiB copy_to {up:?} ({:.0} MB/s), copy_from {down:?} ({:.0} MB/s)",
        e.a.name(),
        N as f64 / up.as_secs_f64() / 1e6,
        N as f64 / down.as_secs_f64() / 1e6
    );
    e.a.remove(Path::new("t-big"), false).unwrap();
}

fn binary_data(e: &Env) {
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 256) as u8).collect();
    let p = Path::new("t-bin/sub/data");
    e.a.create_file(p, &data).unwrap();
    assert_eq!(e.a.read_file(p).unwrap(), data);
    assert_eq!(e.a.read_from(p, 1000).unwrap(), &data[1000..]);
    assert!(e.a.read_from(p, data.len() as u64).unwrap().is_empty());
    e.a.create_file(p, b"").unwrap();
    assert!(e.a.read_file(p).unwrap().is_empty());
    let err = e.a.read_file(Path::new("t-bin/missing")).unwrap_err();
    match &err {
        RemoteError::Io { source, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound, "{err}")
        }
        other => panic!("expected an I/O error, got {other}"),
    }
    assert!(err.to_string().contains(e.a.name()), "{err}");
}

fn nonzero_exit(e: &Env) {
    let cmd = "echo first >&2; echo oops >&2; exit 3";
    let err = e.a.ssh(cmd, false).unwrap_err();
    let msg = err.to_string();
    match &err {
        RemoteError::Command { status, cmd: c, .. } => {
            assert_eq!(*status, 3);
            assert_eq!(c, cmd);
        }
        other => panic!("expected a command error, got {other}"),
    }
    for part in [e.a.name(), "status 3", "oops", "exit 3"] {
        assert!(msg.contains(part), "{part:?} not in {msg:?}");
    }
    assert!(
        !msg.contains("ducktape-"),
        "wrapper markers leaked: {msg:?}"
    );
    let out = e.a.ssh(cmd, true).unwrap();
    assert_eq!(out.status, 3);
    // Killed by a signal: 128 + N, as a local shell reports it.
    assert_eq!(e.a.ssh("kill -TERM $$", true).unwrap().status, 128 + 15);
}

fn timeout(e: &Env) {
    let t = Instant::now();
    let err =
        e.a.exec("sleep 37; echo done", Duration::from_secs(1))
            .unwrap_err();
    let took = t.elapsed();
    assert!(matches!(err, RemoteError::Timeout { .. }), "{err}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert!(err.to_string().contains(e.a.name()), "{err}");
    // The command and its children were killed.
    wait_for(
        || e.a.pids("^sleep 37$").unwrap().is_empty(),
        "sleep 37 killed",
    );
    // The account still works.
    assert_eq!(e.a.ssh_output("echo after").unwrap(), "after\n");
    // A command whose output never pauses stops at its deadline too, and
    // the kill does not sit out its budget (10 s over SSH) with the end of
    // the stream already buffered: closing the channel once waited on the
    // socket after a capped drain, and took 11 s in half the runs.
    let t = Instant::now();
    let err = e.a.exec("yes", Duration::from_secs(1)).unwrap_err();
    assert!(matches!(err, RemoteError::Timeout { .. }), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(6),
        "took {:?}",
        t.elapsed()
    );
    // Markers survive a command that redirects its own stderr.
    let out = e.a.ssh("exec 2>&1; echo hi; exit 3", true).unwrap();
    assert_eq!((out.status, out.stdout.as_str()), (3, "hi\n"));
}

fn background_holds_output(e: &Env) {
    let t = Instant::now();
    let out = e.a.ssh("sleep 23 & echo started", false).unwrap();
    let took = t.elapsed();
    assert_eq!(out.stdout, "started\n");
    assert!(took < Duration::from_secs(3), "ssh() hung for {took:?}");
    e.a.kill_process("^sleep 23$", false, true).unwrap();
    assert_eq!(e.a.ssh_output("echo next").unwrap(), "next\n");
}

fn processes(e: &Env) {
    let log = Path::new("t-proc/logs/spawn.log");
    let pid = e.a.spawn("sleep 29", log).unwrap();
    assert!(e.a.alive(pid).unwrap());
    // (Until its shell has exec'd, the process is still `bash -c …`.)
    wait_for(
        || e.a.pids("^sleep 29$").unwrap() == vec![pid],
        "pids finds the spawned sleep 29",
    );
    // The listing never finds itself.
    assert!(e.a.pids("ps -eo").unwrap().is_empty());
    let procs = e.a.processes().unwrap();
    let sleep = procs.iter().find(|p| p.pid == pid);
    assert_eq!(
        sleep.map(|p| p.args.as_str()),
        Some("sleep 29"),
        "{procs:?}"
    );
    assert!(procs.windows(2).all(|w| w[0].pid < w[1].pid), "{procs:?}");
    let err = e.a.pids("sleep (29").unwrap_err();
    let chain = format!("{:#}", anyhow::Error::from(err));
    assert!(
        chain.contains(": pids: bad pattern /sleep (29/: unclosed group"),
        "{chain}"
    );
    assert!(!chain.contains('\n'), "one line: {chain}");
    let err = e.a.kill_process("sleep [", false, false).unwrap_err();
    assert!(
        err.to_string()
            .contains(": kill_process: bad pattern /sleep [/"),
        "{err}"
    );
    e.a.signal(pid, "TERM", false).unwrap();
    wait_for(|| !e.a.alive(pid).unwrap(), "sleep 29 gone after TERM");
    assert!(e.a.signal(pid, "TERM", false).is_err());

    let p1 = e.a.spawn("sleep 28", log).unwrap();
    let p2 = e.a.spawn("sleep 28", log).unwrap();
    let mut want = vec![p1, p2];
    want.sort_unstable();
    wait_for(
        || e.a.pids("^sleep 28$").unwrap() == want,
        "pids finds both sleep 28",
    );
    let killed = e.a.kill_process("^sleep 28$", false, false).unwrap();
    assert_eq!(killed, want);
    wait_for(
        || !e.a.alive(p1).unwrap() && !e.a.alive(p2).unwrap(),
        "sleep 28 killed",
    );

    // Output goes to the log (relative to the root), appended.
    e.a.spawn("echo spawned-output; echo to-stderr >&2", log)
        .unwrap();
    wait_for(
        || {
            let text = String::from_utf8_lossy(&e.a.read_file(log).unwrap()).into_owned();
            text.contains("spawned-output\n") && text.contains("to-stderr\n")
        },
        "spawn output in the log",
    );
    // A spawned process outlives the command that started it.
    let pid = e.a.spawn("exec sleep 27", log).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(e.a.alive(pid).unwrap());
    assert_eq!(
        e.a.java_pids("nothing-like-this").unwrap(),
        Vec::<u32>::new()
    );
    e.a.kill_process("^sleep 27$", true, false).unwrap();
    wait_for(|| !e.a.alive(pid).unwrap(), "sleep 27 gone");
}

fn monitor_log(e: &Env) {
    let log = Path::new("t-monitor/service.log");
    e.a.create_file(log, b"old: ready\n").unwrap();
    let m = LogMonitor::start(e.a.clone(), log).unwrap();
    let err = m
        .wait_until(
            "ready",
            Duration::from_millis(300),
            Duration::from_millis(50),
            "not yet",
        )
        .unwrap_err();
    assert!(err.to_string().contains("not yet"), "{err}");
    e.a.ssh(&format!("echo 'new: ready' >> {}", log.display()), false)
        .unwrap();
    m.wait_until(
        "new: ready",
        Duration::from_secs(5),
        Duration::from_millis(50),
        "ready",
    )
    .unwrap();
    // A log that does not exist yet counts from its first byte.
    let later = Path::new("t-monitor/later.log");
    e.a.remove(later, true).unwrap();
    let m = LogMonitor::start(e.a.clone(), later).unwrap();
    e.a.create_file(later, b"started\n").unwrap();
    m.wait_until(
        "started",
        Duration::from_secs(5),
        Duration::from_millis(50),
        "start",
    )
    .unwrap();
}

fn file_system(e: &Env) {
    let base = Path::new("t-fs");
    e.a.remove(base, true).unwrap();
    assert!(!e.a.exists(base).unwrap());
    e.a.mkdirs(&base.join("a/b")).unwrap();
    assert!(e.a.isdir(&base.join("a/b")).unwrap());
    assert!(e.a.exists(&base.join("a")).unwrap());
    assert!(!e.a.isfile(&base.join("a")).unwrap());
    e.a.create_file(&base.join("a/f"), b"x").unwrap();
    assert!(e.a.isfile(&base.join("a/f")).unwrap());
    assert!(!e.a.isdir(&base.join("a/f")).unwrap());
    e.a.ssh("ln -s f t-fs/a/link", false).unwrap();
    assert!(e.a.islink(&base.join("a/link")).unwrap());
    assert!(!e.a.islink(&base.join("a/f")).unwrap());
    // Absolute paths work too.
    let abs = e.a.root().join("t-fs/a/f");
    assert!(e.a.isfile(&abs).unwrap());
    e.a.remove(&base.join("a"), false).unwrap();
    assert!(!e.a.exists(&base.join("a")).unwrap());
    e.a.remove(&base.join("never-there"), false).unwrap();
}

fn make_tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let files: [(&str, &[u8], u32); 3] = [
        ("run.sh", b"#!/bin/sh\necho hi\n", 0o755),
        ("sub/secret", b"s3cret\0with nul", 0o600),
        ("sub/deeper/data.txt", b"data\n", 0o644),
    ];
    for (name, body, mode) in files {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::set_permissions(dir.join("sub"), std::fs::Permissions::from_mode(0o750)).unwrap();
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn copy_directories(e: &Env) {
    let src = e.local.path().join("tree");
    make_tree(&src);
    e.a.remove(Path::new("t-copy"), true).unwrap();
    e.a.copy_to(&src, Path::new("t-copy/tree")).unwrap();
    let modes =
        e.a.ssh_output(
            "cd t-copy/tree && stat -c '%n %a' run.sh sub sub/secret sub/deeper/data.txt empty",
        )
        .unwrap();
    assert_eq!(
        modes,
        "run.sh 755\nsub 750\nsub/secret 600\nsub/deeper/data.txt 644\nempty 755\n"
    );
    assert_eq!(
        e.a.read_file(Path::new("t-copy/tree/sub/secret")).unwrap(),
        b"s3cret\0with nul"
    );
    // Into an existing directory: the copy goes inside, under its name.
    e.a.copy_to(&src, Path::new("t-copy")).unwrap();
    assert!(e.a.isfile(Path::new("t-copy/tree/run.sh")).unwrap());
    let file = src.join("run.sh");
    e.a.mkdirs(Path::new("t-copy/dir")).unwrap();
    e.a.copy_to(&file, Path::new("t-copy/dir")).unwrap();
    assert!(e.a.isfile(Path::new("t-copy/dir/run.sh")).unwrap());
    assert_eq!(
        e.a.ssh_output("stat -c %a t-copy/dir/run.sh").unwrap(),
        "755\n"
    );

    // And back.
    let back = e.local.path().join("back");
    e.a.copy_from(Path::new("t-copy/tree"), &back).unwrap();
    assert_eq!(mode(&back.join("run.sh")), 0o755);
    assert_eq!(mode(&back.join("sub")), 0o750);
    assert_eq!(mode(&back.join("sub/secret")), 0o600);
    assert!(back.join("empty").is_dir());
    assert_eq!(
        std::fs::read(back.join("sub/deeper/data.txt")).unwrap(),
        b"data\n"
    );
    // A single file into an existing local directory.
    let into = e.local.path().join("into");
    std::fs::create_dir_all(&into).unwrap();
    e.a.copy_from(Path::new("t-copy/tree/run.sh"), &into)
        .unwrap();
    assert_eq!(mode(&into.join("run.sh")), 0o755);
    // A missing source is a clear error.
    let err =
        e.a.copy_from(Path::new("t-copy/missing"), &into)
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("t-copy/missing") && err.contains(e.a.name()),
        "{err}"
    );
}

fn copy_between(e: &Env) {
    e.a.remove(Path::new("t-between"), true).unwrap();
    e.b.remove(Path::new("t-between"), true).unwrap();
    e.a.create_file(Path::new("t-between/src/f"), b"between nodes\n")
        .unwrap();
    e.a.ssh("chmod 640 t-between/src/f", false).unwrap();
    e.a.copy_between(
        Path::new("t-between/src"),
        Path::new("t-between/dst"),
        &*e.b,
    )
    .unwrap();
    assert_eq!(
        e.b.read_file(Path::new("t-between/dst/f")).unwrap(),
        b"between nodes\n"
    );
    assert_eq!(
        e.b.ssh_output("stat -c %a t-between/dst/f").unwrap(),
        "640\n"
    );
}

fn http_service(e: &Env) {
    let port = 20000 + (std::process::id() % 20000) as u16;
    let log = Path::new("t-http/server.log");
    e.a.mkdirs(Path::new("t-http/www")).unwrap();
    e.a.create_file(Path::new("t-http/www/health"), b"ok")
        .unwrap();
    let pid =
        e.a.spawn(
            &format!("exec python3 -m http.server {port} --bind 0.0.0.0 --directory t-http/www"),
            log,
        )
        .unwrap();
    let r =
        e.a.wait_for_http_service(port, &[("X-Test", "1")], Duration::from_secs(10), "/health");
    let missing =
        e.a.wait_for_http_service(port, &[], Duration::from_millis(600), "/no-such-page");
    e.a.signal(pid, "KILL", true).unwrap();
    r.unwrap();
    let err = missing.unwrap_err().to_string();
    assert!(
        err.contains("404") && err.contains("/no-such-page"),
        "{err}"
    );
}

fn network_devices(e: &Env) {
    let devices = e.a.network_devices().unwrap();
    assert!(devices.iter().any(|d| d == "lo"), "{devices:?}");
    let external = e.a.external_network_devices().unwrap();
    assert!(!external.iter().any(|d| d == "lo"), "{external:?}");
}

fn concurrency(e: &Env) {
    let accounts: Vec<Acc> = (0..16).map(|_| e.a.clone()).collect();
    let outs = fan_out(&accounts, 8, |a| a.ssh_output("echo $$").unwrap());
    assert_eq!(outs.len(), 16);
    let mut pids: Vec<&String> = outs.iter().collect();
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), 16, "each command is its own process");
}

fn wait_for(mut f: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------- local

fn local_env() -> Env {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let base = DIR.get_or_init(|| tempfile::tempdir().unwrap()).path();
    // Every check gets its own pair of nodes: process scoping is per tag.
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let node = |i: usize| -> Acc {
        let name = format!("worker{}", 2 * n + i);
        let root = base.join(&name);
        let tag = root.display().to_string();
        Arc::new(LocalAccount::new(&name, "127.0.0.1", root, &tag, false))
    };
    Env {
        a: node(1),
        b: node(2),
        local: tempfile::tempdir().unwrap(),
    }
}

// ---------------------------------------------------------------- netns cluster

pub(crate) const SKIP: &str = "skipped: needs root and openssh-server (scripts/install-deps.sh)";

pub(crate) struct Netns {
    pub(crate) dir: PathBuf,
    pub(crate) nodes: Vec<NodeConfig>,
    accounts: Vec<Arc<SshAccount>>,
}

static NETNS: OnceLock<Option<Netns>> = OnceLock::new();
/// Tests that disturb node2 run one at a time.
static NODE2: Mutex<()> = Mutex::new(());

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/netns-cluster.sh")
}

fn netns_cmd(args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(script())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

extern "C" fn teardown() {
    if let Some(Some(n)) = NETNS.get() {
        let out = netns_cmd(&["down", "--dir", &n.dir.display().to_string()]);
        if !out.status.success() {
            eprintln!(
                "netns-cluster.sh down failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

pub(crate) fn options(dir: &Path) -> SshOptions {
    SshOptions::default().with_known_hosts(dir.join("known_hosts"))
}

pub(crate) fn netns() -> Option<&'static Netns> {
    NETNS
        .get_or_init(|| {
            // SAFETY: geteuid cannot fail.
            let root = unsafe { libc::geteuid() } == 0;
            if !root || !Path::new("/usr/sbin/sshd").exists() {
                return None;
            }
            // One namespace cluster per machine: wait for any other user.
            let lock = std::fs::File::create("/tmp/ducktape-netns-cluster.lock").unwrap();
            lock.lock().unwrap();
            std::mem::forget(lock);
            let dir = PathBuf::from(format!("/tmp/ducktape-remote-test-{}", std::process::id()));
            let t = Instant::now();
            let out = netns_cmd(&["up", "3", "--dir", &dir.display().to_string()]);
            // SAFETY: registers a plain function to run at exit.
            unsafe { libc::atexit(teardown) };
            assert!(
                out.status.success(),
                "netns-cluster.sh up failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            eprintln!("namespace cluster up in {:?}", t.elapsed());
            let nodes = load_json_cluster(&dir.join("cluster.json")).unwrap();
            let accounts = nodes
                .iter()
                .map(|n| Arc::new(SshAccount::new(n, options(&dir))))
                .collect();
            Some(Netns {
                dir,
                nodes,
                accounts,
            })
        })
        .as_ref()
}

fn ssh_env() -> Option<Env> {
    let Some(n) = netns() else {
        eprintln!("{SKIP}");
        return None;
    };
    Some(Env {
        a: n.accounts[0].clone(),
        b: n.accounts[2].clone(),
        local: tempfile::tempdir().unwrap(),
    })
}

macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod local {
            $( #[test] fn $check() { super::$check(&super::local_env()); } )*
        }
        mod ssh {
            $(
                #[test]
                fn $check() {
                    if let Some(env) = super::ssh_env() {
                        super::$check(&env);
                    }
                }
            )*
        }
    };
}

conformance!(
    echo,
    large_output,
    large_file,
    binary_data,
    nonzero_exit,
    timeout,
    background_holds_output,
    processes,
    monitor_log,
    file_system,
    copy_directories,
    copy_between,
    http_service,
    network_devices,
    concurrency,
);

/// Accounts on node1 and node3 that run every command on an exec channel
/// of its own (`--ssh-persistent-shell off`).
fn ssh_exec_env() -> Option<Env> {
    static ACCOUNTS: OnceLock<(Acc, Acc)> = OnceLock::new();
    let Some(n) = netns() else {
        eprintln!("{SKIP}");
        return None;
    };
    let (a, b) = ACCOUNTS.get_or_init(|| {
        let account = |i: usize| -> Acc {
            Arc::new(SshAccount::new(
                &n.nodes[i],
                options(&n.dir).with_persistent_shell(false),
            ))
        };
        (account(0), account(2))
    });
    Some(Env {
        a: a.clone(),
        b: b.clone(),
        local: tempfile::tempdir().unwrap(),
    })
}

/// The command-running checks again with the persistent shell off: exit
/// status, stdout and stderr, timeouts and kills, held-open output.
mod ssh_exec_channels {
    macro_rules! checks {
        ($($check:ident),* $(,)?) => {
            $(
                #[test]
                fn $check() {
                    if let Some(env) = super::ssh_exec_env() {
                        super::$check(&env);
                    }
                }
            )*
        };
    }
    checks!(
        echo,
        large_output,
        nonzero_exit,
        timeout,
        background_holds_output,
    );
}

// ---------------------------------------------------------------- SSH only

/// What runs a command: a subshell of the session's persistent shell
/// carries that shell's command line; with the shell off, a login shell
/// runs the command's wrapper on an exec channel of its own.
#[test]
fn ssh_persistent_shell_can_be_switched_off() {
    let Some(n) = netns() else {
        return eprintln!("{SKIP}");
    };
    // (The pid is taken before the fork for `tr`, whose redirection would
    // expand in the child; `; :` keeps bash from exec'ing `tr` in its place.)
    let runner = "p=$BASHPID; tr '\\0' ' ' < /proc/$p/cmdline; :";
    let on = SshAccount::new(&n.nodes[0], options(&n.dir));
    assert!(on.options().persistent_shell);
    let shown = on.ssh_output(runner).unwrap();
    assert!(shown.contains("ducktape-shell"), "{shown:?}");

    let off = SshAccount::new(&n.nodes[0], options(&n.dir).with_persistent_shell(false));
    for _ in 0..3 {
        let shown = off.ssh_output(runner).unwrap();
        assert!(
            shown.contains(" -c ") && !shown.contains("ducktape-shell"),
            "{shown:?}"
        );
    }
    // Still one session for them all.
    assert_eq!(off.connections_opened(), 1);
}

fn node2_account(n: &Netns, tweak: impl FnOnce(&mut SshOptions)) -> SshAccount {
    let mut o = options(&n.dir);
    tweak(&mut o);
    SshAccount::new(&n.nodes[1], o)
}

#[test]
fn ssh_node_cut_off_mid_command() {
    let Some(n) = netns() else {
        return eprintln!("{SKIP}");
    };
    let _g = NODE2.lock().unwrap_or_else(|e| e.into_inner());
    let a = Arc::new(node2_account(n, |o| {
        o.keepalive = Duration::from_secs(1);
        o.dead_after = Duration::from_secs(2);
    }));
    a.ssh_output("true").unwrap();
    let runner = {
        let a = a.clone();
        std::thread::spawn(move || {
            let t = Instant::now();
            (a.exec("sleep 30", Duration::from_secs(10)), t.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let cut = netns_cmd(&["cut", "2"]);
    assert!(cut.status.success());
    let (r, took) = runner.join().unwrap();
    let restore = netns_cmd(&["restore", "2"]);
    assert!(restore.status.success());
    let err = r.unwrap_err();
    let msg = err.to_string();
    eprintln!("cut off after {took:?}: {msg}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(msg.contains("node2") && msg.contains("sleep 30"), "{msg}");
    // Back on the network, the account works again (a new connection).
    let t = Instant::now();
    assert_eq!(a.ssh_output("echo back").unwrap(), "back\n");
    eprintln!("first command after restore: {:?}", t.elapsed());
    a.kill_process("^sleep 30$", false, true).unwrap();
}

#[test]
fn ssh_dropped_session_is_reestablished_once() {
    let Some(n) = netns() else {
        return eprintln!("{SKIP}");
    };
    let _g = NODE2.lock().unwrap_or_else(|e| e.into_inner());
    let a = node2_account(n, |_| {});
    assert_eq!(a.ssh_output("echo one").unwrap(), "one\n");
    assert_eq!((a.connections_opened(), a.idle_sessions()), (1, 1));
    // Kill the server side of every session (as an sshd restart does; the
    // listener is the node's init and must live).
    let out = netns_cmd(&["exec", "2", "pkill", "-f", "^sshd: root@notty"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(a.ssh_output("echo two").unwrap(), "two\n");
    assert_eq!(a.reconnects(), 1);
    assert_eq!(a.connections_opened(), 2);
    // Warm again: no more connections.
    for _ in 0..5 {
        a.ssh_output("true").unwrap();
    }
    assert_eq!(a.connections_opened(), 2);
}

#[test]
fn ssh_wrong_key_names_user_host_and_key() {
    let Some(n) = netns() else {
        return eprintln!("{SKIP}");
    };
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("wrong_key");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut node = n.nodes[2].clone();
    node.identity_file = Some(key.clone());
    let a = SshAccount::new(&node, options(&n.dir));
    let err = a.ssh_output("true").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RemoteError::Auth { .. }), "{msg}");
    for part in ["node3", "root@10.251.0.13:22", &key.display().to_string()] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
    // A key file that does not exist says so.
    node.identity_file = Some(tmp.path().join("nope"));
    let msg = SshAccount::new(&node, options(&n.dir))
        .ssh_output("true")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("does not exist"), "{msg}");
}

#[test]
fn ssh_host_keys_are_checked() {
    let Some(n) = netns() else {
        return eprintln!("{SKIP}");
    };
    let tmp = tempfile::tempdir().unwrap();
    let known = std::fs::read_to_string(n.dir.join("known_hosts")).unwrap();
    let node1_key = known
        .lines()
        .find(|l| l.starts_with("node1,"))
        .unwrap()
        .split_once(' ')
        .unwrap()
        .1;
    // node3's address with node1's key: a mismatch.
    let wrong = tmp.path().join("wrong_known_hosts");
    std::fs::write(&wrong, format!("10.251.0.13 {node1_key}\n")).unwrap();
    let with = |file: &Path, policy| {
        SshOptions::default()
            .with_known_hosts(file)
            .with_host_keys(policy)
    };
    let err = SshAccount::new(&n.nodes[2], with(&wrong, HostKeyPolicy::Strict))
        .ssh_output("true")
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RemoteError::HostKey { .. }), "{msg}");
    for part in [
        "node3",
        "10.251.0.13",
        &wrong.display().to_string(),
        "does not match",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
    // accept-new does not accept a changed key either.
    assert!(
        SshAccount::new(&n.nodes[2], with(&wrong, HostKeyPolicy::AcceptNew))
            .ssh_output("true")
            .is_err()
    );

    // Unknown host: an error when strict, recorded with accept-new.
    let empty = tmp.path().join("ssh/known_hosts");
    let msg = SshAccount::new(&n.nodes[2], with(&empty, HostKeyPolicy::Strict))
        .ssh_output("true")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("is not in it") && msg.contains("DUCKTAPE_SSH_ACCEPT_NEW"),
        "{msg}"
    );
    SshAccount::new(&n.nodes[2], with(&empty, HostKeyPolicy::AcceptNew))
        .ssh_output("true")
        .unwrap();
    let recorded = std::fs::read_to_string(&empty).unwrap();
    assert!(
        recorded.starts_with("10.251.0.13 ssh-ed25519 "),
        "{recorded}"
    );
    SshAccount::new(&n.nodes[2], with(&empty, HostKeyPolicy::Strict))
        .ssh_output("true")
        .unwrap();
}

static CHECKED: AtomicUsize = AtomicUsize::new(0);

fn count_ssh_errors(err: &RemoteError, account: &dyn RemoteAccount) {
    assert_eq!(account.name(), "node3");
    assert!(err.to_string().contains("node3"));
    CHECKED.fetch_add(1, Ordering::SeqCst);
}
ducktape::ssh_checker!(count_ssh_errors);

#[test]
fn ssh_checkers_are_called_and_unknown_names_rejected() {
    let err = SshOptions::default()
        .with_checkers(&["no_such_checker".to_string()])
        .unwrap_err();
    assert!(
        err.contains("no_such_checker") && err.contains("count_ssh_errors"),
        "{err}"
    );
    let o = SshOptions::default()
        .with_checkers(&["remote.count_ssh_errors".to_string()])
        .unwrap();
    assert_eq!(o.checkers.len(), 1);
    let Some(n) = netns() else {
        return eprintln!("{SKIP}");
    };
    let mut node = n.nodes[2].clone();
    node.port = 2; // nothing listens there
    let a = SshAccount::new(&node, {
        let mut with_checkers = options(&n.dir);
        with_checkers.checkers = o.checkers;
        with_checkers
    });
    let before = CHECKED.load(Ordering::SeqCst);
    let err = a.ssh_output("true").unwrap_err();
    assert!(matches!(err, RemoteError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("10.251.0.13:2"), "{err}");
    assert_eq!(CHECKED.load(Ordering::SeqCst), before + 1);
}

#[test]
fn ssh_cluster_nodes_get_reused_accounts() {
    let Some(n) = netns() else {
        return eprintln!("{SKIP}");
    };
    let state = tempfile::tempdir().unwrap();
    // Its own node root, hence its own process tag: leasing node1 kills
    // what node1's earlier holders left (kill_stale), and must not kill
    // the conformance checks running on node1 at the same time.
    let ssh = options(&n.dir).with_root("/tmp/ducktape-reuse");
    let cluster = Cluster::from_nodes("json", vec![n.nodes[0].clone()], state.path(), ssh).unwrap();
    let first = cluster.alloc(&ClusterSpec::simple_linux(1)).unwrap();
    let node = first.nodes()[0].clone();
    assert_eq!(node.name(), "node1");
    assert_eq!(node.hostname(), "10.251.0.11");
    assert_eq!(node.account().ssh_output("hostname").unwrap(), "node1\n");
    drop(first);
    // Tests see their nodes through a fence, so accounts are not compared
    // here; SshAccounts' own unit test checks that one is made per node.
    let second = cluster.alloc(&ClusterSpec::simple_linux(1)).unwrap();
    assert_eq!(
        second.nodes()[0].account().ssh_output("pwd").unwrap(),
        "/tmp/ducktape-reuse\n"
    );
}

#[test]
fn ssh_sessions_are_per_thread_not_per_command() {
    let Some(n) = netns() else {
        return eprintln!("{SKIP}");
    };
    let a = SshAccount::new(&n.nodes[0], options(&n.dir));
    for _ in 0..20 {
        a.ssh_output("true").unwrap();
    }
    assert_eq!(a.connections_opened(), 1);
    let a = Arc::new(a);
    let accounts: Vec<Arc<SshAccount>> = (0..40).map(|_| a.clone()).collect();
    fan_out(&accounts, 4, |a| a.ssh_output("true").unwrap());
    assert!(a.connections_opened() <= 4, "{}", a.connections_opened());
}
