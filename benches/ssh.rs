//! SSH remote accounts against the alternatives, side by side, on a
//! network-namespace cluster of 64 nodes (`scripts/netns-cluster.sh up 64
//! --name sshbench`, brought up and torn down here; needs root):
//!
//! * exec latency of `true` on a warm session: SshAccount vs the link's own
//!   round trip (the floor), OpenSSH with a ControlMaster and Python
//!   paramiko (what ducktape uses), with and without TCP_NODELAY;
//! * capture throughput of 10 MiB of lines;
//! * copy_to / copy_from of a 100 MB file vs `scp` and `ssh host 'cat > f'`
//!   (medians of interleaved rounds, `DUCKTAPE_BENCH_COPY_RUNS`, default 5,
//!   with the client CPU each used: this process's, or OpenSSH's client and
//!   ControlMaster's; and the whole machine's, with the ceiling it implies
//!   when both ends share the cores);
//! * `true` on 8 and on 64 warm nodes: the worker pool vs one node after
//!   another;
//! * lease to body of a 64-node test: `Cluster::alloc` (lease, connect,
//!   clear stale processes and faults on every node), cold and warm; beside
//!   the cold one, OpenSSH's client opening a new connection to each of the
//!   64 nodes at once and running `true` (a new `ssh` process per node,
//!   for comparison).
//!
//! Loops are bounded and all traffic goes to the namespace nodes.
//! `cargo bench --features ssh --bench ssh`; `DUCKTAPE_BENCH_ITERS=N` changes the
//! latency loop (default 200).

use ducktape::cluster::file::{load_json_cluster, NodeConfig};
use ducktape::cluster::spec::ClusterSpec;
use ducktape::cluster::Cluster;
use ducktape::remote::{fan_out, RemoteAccount, SshAccount, SshOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

fn main() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        println!("ssh bench skipped: the namespace cluster needs root (run as root)");
        return;
    }
    if !Path::new("/usr/sbin/sshd").exists() {
        println!("ssh bench skipped: no /usr/sbin/sshd (scripts/install-deps.sh installs it)");
        return;
    }
    let iters: usize = std::env::var("DUCKTAPE_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
        .clamp(10, 10_000);
    // DUCKTAPE_BENCH_ONLY=latency,capture,copies,fan-out,lease picks parts.
    let only = std::env::var("DUCKTAPE_BENCH_ONLY").unwrap_or_default();
    let run = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);
    // Only fan-out and lease use more than two nodes (paramiko's latency
    // figure is taken on a second one): the rest need not wait for 64.
    let nodes = if run("fan-out") || run("lease") {
        NODES
    } else {
        2
    };
    let cluster = NetnsCluster::up(nodes);
    let b = Bench::new(&cluster);
    println!("SSH remote accounts vs alternatives ({iters} iterations per latency figure)\n");
    if run("latency") {
        b.latency(iters);
    }
    if run("capture") {
        b.capture();
    }
    if run("copies") {
        b.copies();
    }
    if run("fan-out") {
        b.fan_out(8);
        b.fan_out(NODES);
    }
    if run("lease") {
        b.lease_to_body(NODES);
    }
    println!(
        "\ntargets: exec <= 2 ms, capture >= 150 MB/s, copy >= 0.9x ssh cat both ways, \
         fan-out of `true` to 64 warm nodes <= 100 ms, 64-node lease to body <= 1 s"
    );
}

/// Nodes in the bench's cluster.
const NODES: usize = 64;
/// The bench's own named cluster: it coexists with any other.
const CLUSTER_NAME: &str = "sshbench";

/// The namespace cluster, torn down when dropped.
struct NetnsCluster {
    dir: PathBuf,
    nodes: Vec<NodeConfig>,
    lock: std::fs::File,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/netns-cluster.sh")
}

impl NetnsCluster {
    fn up(n: usize) -> Self {
        // Named clusters coexist; two benches at once would share the name.
        let lock = std::fs::File::create(format!("/tmp/ducktape-netns-{CLUSTER_NAME}.lock"))
            .expect("lock file");
        lock.lock().expect("lock");
        let dir = PathBuf::from(format!("/tmp/ducktape-bench-ssh-{}", std::process::id()));
        let out = Command::new("bash")
            .arg(script())
            .args(["up", &n.to_string(), "--name", CLUSTER_NAME, "--dir"])
            .arg(&dir)
            .stdin(Stdio::null())
            .output()
            .expect("run netns-cluster.sh");
        let mut cluster = NetnsCluster {
            nodes: Vec::new(),
            dir,
            lock,
        };
        assert!(
            out.status.success(),
            "netns-cluster.sh up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.nodes = load_json_cluster(&cluster.dir.join("cluster.json")).expect("cluster.json");
        cluster
    }
}

impl Drop for NetnsCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["down", "--name", CLUSTER_NAME, "--dir"])
            .arg(&self.dir)
            .stdin(Stdio::null())
            .output();
        // Not left to the close: a child still being forked would hold it.
        let _ = self.lock.unlock();
    }
}

struct Bench<'a> {
    c: &'a NetnsCluster,
    accounts: Vec<Arc<SshAccount>>,
    tmp: tempfile::TempDir,
}

/// Mean and median of a sample, in milliseconds.
fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort_unstable();
    let mean = v.iter().map(Duration::as_secs_f64).sum::<f64>() / v.len() as f64;
    (mean * 1e3, v[v.len() / 2].as_secs_f64() * 1e3)
}

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

/// CPU time (user + system) of this process, all threads.
fn cpu_self() -> Duration {
    rusage(libc::RUSAGE_SELF)
}

/// CPU time of the OpenSSH client side: the waited-for children (`ssh`,
/// `scp` and their shells) and the ControlMaster processes that do their
/// ciphering.
fn cpu_openssh() -> Duration {
    rusage(libc::RUSAGE_CHILDREN) + mux_cpu()
}

/// CPU time of the running OpenSSH ControlMaster processes (`[mux]` in
/// their process titles).
fn mux_cpu() -> Duration {
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let dir = entry.path();
        let is_mux = std::fs::read(dir.join("cmdline"))
            .is_ok_and(|c| c.starts_with(b"ssh: ") && c.windows(5).any(|w| w == b"[mux]"));
        if !is_mux {
            continue;
        }
        if let Ok(stat) = std::fs::read_to_string(dir.join("stat")) {
            // Fields after the parenthesised name: utime and stime are the
            // 12th and 13th.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<u64> = rest
                .split_whitespace()
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            ticks += f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
        }
    }
    from_clock_ticks(ticks)
}

/// `/proc`'s CPU times are in clock ticks.
fn from_clock_ticks(ticks: u64) -> Duration {
    // SAFETY: sysconf cannot fail for _SC_CLK_TCK.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

fn rusage(who: libc::c_int) -> Duration {
    // SAFETY: getrusage writes only into the struct passed.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// CPU time the whole machine spent busy (every process and the kernel,
/// all cores), from `/proc/stat`: what a copy costs both its ends, which
/// share this machine's cores.
fn machine_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    let busy: u64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum();
    from_clock_ticks(busy)
}

/// The 1-minute load average, as `uptime` shows it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn best_of<T>(n: usize, mut f: impl FnMut() -> (Duration, T)) -> Duration {
    (0..n).map(|_| f().0).min().unwrap_or_default()
}

impl<'a> Bench<'a> {
    fn new(c: &'a NetnsCluster) -> Self {
        let options = SshOptions::default().with_known_hosts(c.dir.join("known_hosts"));
        let accounts = c
            .nodes
            .iter()
            .map(|n| Arc::new(SshAccount::new(n, options.clone())))
            .collect();
        Bench {
            c,
            accounts,
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn ip(&self, i: usize) -> &str {
        &self.c.nodes[i].hostname
    }

    fn key(&self) -> PathBuf {
        self.c.dir.join("id_ed25519")
    }

    /// OpenSSH client options: the cluster's key and known_hosts, and a
    /// shared master connection per node.
    fn ssh_args(&self) -> Vec<String> {
        let d = self.c.dir.display();
        [
            "-F",
            "/dev/null",
            "-i",
            &self.key().display().to_string(),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            &format!("UserKnownHostsFile={d}/known_hosts"),
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "KexAlgorithms=curve25519-sha256",
            "-o",
            "ControlMaster=auto",
            "-o",
            &format!("ControlPath={}/cm-%h", self.tmp.path().display()),
            "-o",
            "ControlPersist=60",
            "-o",
            "LogLevel=ERROR",
            "-l",
            "root",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn ssh(&self, node: usize, cmd: &str) -> Command {
        let mut c = Command::new("ssh");
        c.args(self.ssh_args()).arg(self.ip(node)).arg(cmd);
        c
    }

    fn latency(&self, iters: usize) {
        let a = &self.accounts[0];
        let t = Instant::now();
        a.connect().expect("connect");
        let connect = t.elapsed();
        for _ in 0..10 {
            a.ssh_output("true").expect("warm up");
        }
        let ours = stats(
            (0..iters)
                .map(|_| {
                    let t = Instant::now();
                    a.ssh_output("true").expect("exec");
                    t.elapsed()
                })
                .collect(),
        );
        assert_eq!(a.connections_opened(), 1, "one session for a serial loop");

        // OpenSSH through a warm ControlMaster: a new client process per
        // command, but no new connection.
        let run_ssh = |cmd: &str| {
            let st = self
                .ssh(0, cmd)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .expect("ssh");
            assert!(st.success(), "ssh {cmd} failed");
        };
        run_ssh("true");
        let openssh = stats(
            (0..iters)
                .map(|_| {
                    let t = Instant::now();
                    run_ssh("true");
                    t.elapsed()
                })
                .collect(),
        );

        let rtt = self.round_trip(iters);
        println!("exec latency of `true`, warm session (mean / median):");
        println!(
            "  link round trip (TCP SYN)   {:7.3} / {:7.3} ms   (the floor: one exchange)",
            rtt.0, rtt.1
        );
        println!(
            "  SshAccount                  {:7.3} / {:7.3} ms   (connect + auth {:.1} ms)",
            ours.0,
            ours.1,
            connect.as_secs_f64() * 1e3
        );
        println!(
            "  OpenSSH ControlMaster       {:7.3} / {:7.3} ms   SshAccount is {:.2}x its time",
            openssh.0,
            openssh.1,
            ours.1 / openssh.1
        );
        match self.paramiko(iters) {
            Ok(rows) => {
                for (label, connect_ms, mean, median) in rows {
                    println!(
                        "  paramiko {label:<18} {mean:7.3} / {median:7.3} ms   \
                         (connect {connect_ms:.1} ms) SshAccount is {:.1}x faster",
                        median / ours.1
                    );
                }
            }
            Err(why) => println!("  paramiko: skipped ({why})"),
        }
    }

    /// The link's own round trip to node 0: a TCP connect to its sshd
    /// (SYN out, SYN-ACK back, answered by the node's kernel).
    fn round_trip(&self, iters: usize) -> (f64, f64) {
        let addr: std::net::SocketAddr = format!("{}:{}", self.ip(0), self.c.nodes[0].port)
            .parse()
            .expect("node address");
        stats(
            (0..iters)
                .map(|_| {
                    let t = Instant::now();
                    let s = std::net::TcpStream::connect(addr).expect("tcp connect");
                    let d = t.elapsed();
                    drop(s);
                    d
                })
                .collect(),
        )
    }

    /// Runs paramiko's exec loop like ducktape does (exec_command, read
    /// stdout, exit status), without and with TCP_NODELAY.
    fn paramiko(&self, iters: usize) -> Result<Vec<(String, f64, f64, f64)>, String> {
        let have = |py: &str| {
            Command::new(py)
                .args(["-c", "import paramiko"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let py = "python3";
        if !have(py) {
            println!("  (installing paramiko with pip for the comparison)");
            let st = Command::new(py)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "paramiko",
                ])
                .stdin(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run {py}: {e}"))?;
            if !st.success() || !have(py) {
                return Err("paramiko could not be installed with pip".into());
            }
        }
        let code = r#"
import socket, sys, time
import paramiko
host, key, n, nodelay, known = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
c = paramiko.SSHClient()
c.load_host_keys(known)
t0 = time.perf_counter()
c.connect(host, username="root", key_filename=key, look_for_keys=False, allow_agent=False)
connect = time.perf_counter() - t0
c.get_transport().sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if nodelay else 0)
def run():
    stdin, stdout, stderr = c.exec_command("true")
    stdout.read()
    stdout.channel.recv_exit_status()
for _ in range(5):
    run()
ts = []
for _ in range(n):
    t = time.perf_counter()
    run()
    ts.append(time.perf_counter() - t)
ts.sort()
print("%.3f %.3f %.3f" % (connect * 1e3, sum(ts) / len(ts) * 1e3, ts[len(ts) // 2] * 1e3))
"#;
        let file = self.tmp.path().join("paramiko_bench.py");
        std::fs::write(&file, code).map_err(|e| e.to_string())?;
        let mut rows = Vec::new();
        for (label, nodelay) in [("(ducktape, Nagle)", "0"), ("with TCP_NODELAY", "1")] {
            let out = Command::new(py)
                .arg(&file)
                .arg(self.ip(1))
                .arg(self.key())
                .arg(iters.to_string())
                .arg(nodelay)
                .arg(self.c.dir.join("known_hosts"))
                .stdin(Stdio::null())
                .output()
                .map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!(
                    "paramiko script failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            let v: Vec<f64> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if v.len() != 3 {
                return Err("unexpected paramiko output".into());
            }
            rows.push((label.to_string(), v[0], v[1], v[2]));
        }
        Ok(rows)
    }

    fn capture(&self) {
        let a = &self.accounts[0];
        // 10 MiB of 100-byte lines.
        let lines = 10 * MIB / 100;
        let n = lines * 100;
        let cmd = format!(
            "yes {} | head -n {lines}",
            "0123456789".repeat(10).chars().take(99).collect::<String>()
        );
        let time = best_of(5, || {
            let t = Instant::now();
            let mut bytes = 0;
            for line in a.capture(&cmd).expect("capture") {
                bytes += line.expect("line").len() + 1;
            }
            assert_eq!(bytes, n);
            (t.elapsed(), ())
        });
        let exec = best_of(5, || {
            let t = Instant::now();
            let out = a.ssh_output(&cmd).expect("exec");
            assert_eq!(out.len(), n);
            (t.elapsed(), ())
        });
        let openssh = best_of(5, || {
            let t = Instant::now();
            let out = self
                .ssh(0, &cmd)
                .stdin(Stdio::null())
                .output()
                .expect("ssh");
            assert_eq!(out.stdout.len(), n);
            (t.elapsed(), ())
        });
        println!("\n10 MiB of output (best of 5):");
        println!("  SshAccount capture (lines)  {:7.1} MB/s", mbps(n, time));
        println!("  SshAccount ssh_output       {:7.1} MB/s", mbps(n, exec));
        println!(
            "  OpenSSH ssh host cmd        {:7.1} MB/s   capture is {:.2}x its rate",
            mbps(n, openssh),
            openssh.as_secs_f64() / time.as_secs_f64()
        );
    }

    fn copies(&self) {
        let a = &self.accounts[0];
        let n = 100 * MIB;
        let src = self.tmp.path().join("big.bin");
        let mut data = vec![0u8; n];
        let mut rng = fastrand::Rng::with_seed(1);
        for chunk in data.chunks_mut(8) {
            let v = rng.u64(..).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        std::fs::write(&src, &data).expect("write");
        drop(data);
        let back = self.tmp.path().join("back.bin");
        let remote = "/tmp/bench-big.bin";
        let ip = self.ip(0).to_string();
        let sh = |script: &str| {
            let st = Command::new("bash")
                .args(["-c", script])
                .stdin(Stdio::null())
                .status()
                .expect("bash");
            assert!(st.success(), "{script} failed");
        };
        let args = self
            .ssh_args()
            .iter()
            .map(|a| shell_words::quote(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let scp_args = args.replace("-l root", "");
        let (s, b) = (src.display(), back.display());
        // Rounds interleave the contenders, so a burst of other work on the
        // machine slows all of them alike; medians, not bests, are compared.
        let runs: usize = std::env::var("DUCKTAPE_BENCH_COPY_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5)
            .clamp(1, 50);
        // What to run, and the clock of the client CPU it uses.
        type Contender<'f> = (Box<dyn Fn() + 'f>, fn() -> Duration);
        let contenders: Vec<Contender> = vec![
            (
                Box::new(|| a.copy_to(&src, Path::new(remote)).expect("copy_to")),
                cpu_self,
            ),
            (
                Box::new(|| a.copy_from(Path::new(remote), &back).expect("copy_from")),
                cpu_self,
            ),
            (
                Box::new(|| sh(&format!("ssh {args} {ip} 'cat > {remote}' < {s}"))),
                cpu_openssh,
            ),
            (
                Box::new(|| sh(&format!("ssh {args} {ip} 'cat {remote}' > {b}"))),
                cpu_openssh,
            ),
            (
                Box::new(|| sh(&format!("scp -q {scp_args} {s} root@{ip}:{remote}"))),
                cpu_openssh,
            ),
            (
                Box::new(|| sh(&format!("scp -q {scp_args} root@{ip}:{remote} {b}"))),
                cpu_openssh,
            ),
        ];
        let mut wall = vec![Vec::new(); contenders.len()];
        let mut cpu = vec![Vec::new(); contenders.len()];
        let mut machine = vec![Vec::new(); contenders.len()];
        let load = load_average();
        for _ in 0..runs {
            for (i, (f, clock)) in contenders.iter().enumerate() {
                let (c0, m0, t) = (clock(), machine_cpu(), Instant::now());
                f();
                wall[i].push(t.elapsed());
                cpu[i].push(clock().saturating_sub(c0));
                machine[i].push(machine_cpu().saturating_sub(m0));
            }
        }
        assert_eq!(
            std::fs::metadata(&back).map(|m| m.len()).unwrap_or(0),
            n as u64
        );
        let median = |v: &[Duration]| {
            let mut v = v.to_vec();
            v.sort_unstable();
            v[v.len() / 2]
        };
        let m: Vec<(Duration, Duration, Duration)> = (0..contenders.len())
            .map(|i| (median(&wall[i]), median(&cpu[i]), median(&machine[i])))
            .collect();
        println!(
            "\n100 MiB file, median of {runs} (load {load} before):  to node      from node   \
             (CPU ms up/down: client; whole machine)"
        );
        type Row = (Duration, Duration, Duration);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let row = |label: &str, u: Row, d: Row| {
            println!(
                "  {label:<26} {:7.1} MB/s {:7.1} MB/s   ({:.0}/{:.0}; {:.0}/{:.0})",
                mbps(n, u.0),
                mbps(n, d.0),
                ms(u.1),
                ms(d.1),
                ms(u.2),
                ms(d.2)
            )
        };
        row("SshAccount copy_to/_from", m[0], m[1]);
        row("ssh host 'cat > f' / cat f", m[2], m[3]);
        row("scp", m[4], m[5]);
        println!(
            "  SshAccount vs ssh cat:     {:7.2}x      {:7.2}x",
            m[2].0.as_secs_f64() / m[0].0.as_secs_f64(),
            m[3].0.as_secs_f64() / m[1].0.as_secs_f64()
        );
        // Both ends share this machine's cores: a copy cannot finish before
        // its whole-machine CPU spread over every core.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let ceiling =
            |ours: Duration, cat: Duration| cat.as_secs_f64() * cores / ours.as_secs_f64();
        println!(
            "  ceiling on {cores} cores:       {:7.2}x      {:7.2}x   (ssh cat's time / \
             our machine CPU spread over the cores)",
            ceiling(m[0].2, m[2].0),
            ceiling(m[1].2, m[3].0)
        );
        let _ = a.remove(Path::new(remote), true);
    }

    /// `true` on the first `n` warm nodes: the worker pool vs one node
    /// after another.
    fn fan_out(&self, n: usize) {
        let cmd = "true";
        let accounts = &self.accounts[..n];
        // Warm every node's pool from the pool's threads.
        fan_out(accounts, accounts.len(), |a| {
            a.ssh_output("true").expect("warm")
        });
        let opened_before: u64 = accounts.iter().map(|a| a.connections_opened()).sum();
        let one = best_of(5, || {
            let t = Instant::now();
            accounts[0].ssh_output(cmd).expect("one");
            (t.elapsed(), ())
        });
        let parallel = best_of(5, || {
            let t = Instant::now();
            let outs = fan_out(accounts, accounts.len(), |a| {
                a.ssh_output(cmd).expect("fan-out")
            });
            assert_eq!(outs.len(), accounts.len());
            (t.elapsed(), ())
        });
        let serial = best_of(3, || {
            let t = Instant::now();
            for a in accounts {
                a.ssh_output(cmd).expect("serial");
            }
            (t.elapsed(), ())
        });
        let opened: u64 = accounts.iter().map(|a| a.connections_opened()).sum();
        println!("\n`{cmd}` on {n} warm nodes (best of 5):");
        println!(
            "  one node                    {:7.1} ms",
            one.as_secs_f64() * 1e3
        );
        println!(
            "  fan-out on the worker pool  {:7.1} ms   ({:.2}x one node)",
            parallel.as_secs_f64() * 1e3,
            parallel.as_secs_f64() / one.as_secs_f64()
        );
        println!(
            "  one node after another      {:7.1} ms   ({:.2}x one node)",
            serial.as_secs_f64() * 1e3,
            serial.as_secs_f64() / one.as_secs_f64()
        );
        println!(
            "  SSH connections opened while timed: {}",
            opened - opened_before
        );
    }

    /// What a cold lease compares with: OpenSSH's client connecting to the first
    /// `n` nodes at once, each a new connection (no ControlMaster) running
    /// `true`, as a lease connects and runs one command per node.
    fn openssh_new_connections(&self, n: usize) -> Duration {
        let multiplexing = ["ControlMaster=auto", "ControlPersist=60"];
        let mut args: Vec<String> = Vec::new();
        for a in self.ssh_args() {
            if multiplexing.contains(&a.as_str()) || a.starts_with("ControlPath=") {
                // Drop the `-o` before it too.
                if args.last().is_some_and(|p| p == "-o") {
                    args.pop();
                }
                continue;
            }
            args.push(a);
        }
        args.extend(["-o", "ControlMaster=no", "-o", "ControlPath=none"].map(String::from));
        let t = Instant::now();
        let children: Vec<_> = (0..n)
            .map(|i| {
                Command::new("ssh")
                    .args(&args)
                    .arg(self.ip(i))
                    .arg("true")
                    .stdin(Stdio::null())
                    .spawn()
                    .expect("spawn ssh")
            })
            .collect();
        for mut c in children {
            assert!(c.wait().expect("wait for ssh").success(), "ssh failed");
        }
        t.elapsed()
    }

    /// A test of `n` nodes, from lease to body: `Cluster::alloc` leases the
    /// nodes and prepares them (connect, kill stale processes, heal stale
    /// faults). Cold: a new cluster (every node connects); warm: the same
    /// cluster again (sessions pooled, as for a run's later tests).
    fn lease_to_body(&self, n: usize) {
        let state = tempfile::tempdir().expect("lease root");
        let options = SshOptions::default().with_known_hosts(self.c.dir.join("known_hosts"));
        let spec = ClusterSpec::simple_linux(n);
        let alloc = |cluster: &Cluster| {
            let t = Instant::now();
            let a = cluster.alloc(&spec).expect("alloc");
            let d = t.elapsed();
            assert_eq!(a.nodes().len(), n);
            drop(a);
            d
        };
        let cold = best_of(3, || {
            let nodes = self.c.nodes.clone();
            let cluster = Cluster::from_nodes("bench", nodes, state.path(), options.clone())
                .expect("cluster");
            (alloc(&cluster), ())
        });
        let cluster = Cluster::from_nodes("bench", self.c.nodes.clone(), state.path(), options)
            .expect("cluster");
        alloc(&cluster);
        let warm = best_of(3, || (alloc(&cluster), ()));
        let openssh = best_of(3, || (self.openssh_new_connections(n), ()));
        println!("\n{n}-node test, lease to body (Cluster::alloc, best of 3):");
        println!(
            "  cold (new connections)      {:7.1} ms   (OpenSSH, `ssh node true` on all {n} at \
             once, new connections: {:.1} ms)",
            cold.as_secs_f64() * 1e3,
            openssh.as_secs_f64() * 1e3
        );
        println!(
            "  warm (pooled sessions)      {:7.1} ms",
            warm.as_secs_f64() * 1e3
        );
    }
}
