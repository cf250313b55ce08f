//! Redis under faults: a primary with replicas, Sentinel failing over when the
//! primary dies, a paused replica catching up, and throughput over a slow
//! link. Services written as a user would: [`RedisService`],
//! [`SentinelService`], [`RedisBenchmark`] (and [`DelayProxy`], a slow link
//! for kernels without netem), and a tiny client for Redis's wire protocol
//! ([`Resp`]) so the test process talks to every server itself.
//!
//! Needs Debian's `redis-server`, `redis-sentinel` and `redis-tools`
//! (`scripts/install-deps.sh`): the tests run where `DUCKTAPE_REDIS=1`, and
//! the one that delays packets also needs nodes with their own network
//! (`DUCKTAPE_NETNS=1`, `scripts/showcase.sh`); they show as ignored
//! elsewhere.

use ducktape::prelude::*;
use ducktape::remote::{quote, LogMonitor};
use ducktape::wait::{retry_on_error, wait_until};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

// ----------------------------------------------------------------- the client

/// A reply in Redis's protocol (RESP 2). Error replies are `Err`s.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`
    Status(String),
    /// `:42`
    Int(i64),
    /// `$5\r\nhello`, or `$-1` (nil)
    Bulk(Option<Vec<u8>>),
    /// `*2\r\n…`, or `*-1` (nil)
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The text of a status or bulk string reply; `None` for nil.
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Status(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    /// The elements of an array reply (nil is empty).
    pub fn items(&self) -> &[Reply] {
        match self {
            Reply::Array(Some(items)) => items,
            _ => &[],
        }
    }
}

/// A connection to a Redis server or sentinel, speaking RESP over plain TCP:
/// a command is an array of bulk strings, a reply is one of [`Reply`].
pub struct Resp {
    conn: BufReader<TcpStream>,
}

impl Resp {
    /// How long connecting, and waiting for any one reply, may take: a
    /// paused or partitioned server fails the call instead of hanging it.
    const TIMEOUT: Duration = Duration::from_secs(5);

    /// Connects to `host:port`.
    pub fn connect(host: &str, port: u16) -> ducktape::Result<Self> {
        let addr = (host, port)
            .to_socket_addrs()?
            .next()
            .with_context(|| format!("{host} has no address"))?;
        let stream = TcpStream::connect_timeout(&addr, Self::TIMEOUT)
            .with_context(|| format!("connect to redis at {addr}"))?;
        stream.set_read_timeout(Some(Self::TIMEOUT))?;
        stream.set_write_timeout(Some(Self::TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Resp {
            conn: BufReader::new(stream),
        })
    }

    /// Runs one command: `call(&["SET", "k", "v"])`.
    pub fn call(&mut self, args: &[&str]) -> ducktape::Result<Reply> {
        Ok(self.pipeline(&[args.to_vec()])?.remove(0))
    }

    /// Sends every command, then reads every reply: one round trip for all.
    pub fn pipeline(&mut self, commands: &[Vec<&str>]) -> ducktape::Result<Vec<Reply>> {
        let mut out = Vec::new();
        for args in commands {
            out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for arg in args {
                out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
            }
        }
        self.conn.get_mut().write_all(&out)?;
        commands.iter().map(|_| self.read()).collect()
    }

    fn line(&mut self) -> ducktape::Result<String> {
        let mut line = String::new();
        self.conn.read_line(&mut line)?;
        match line.strip_suffix("\r\n") {
            Some(l) => Ok(l.to_string()),
            None => bail!("redis closed the connection or sent a bad line: {line:?}"),
        }
    }

    fn read(&mut self) -> ducktape::Result<Reply> {
        let line = self.line()?;
        let (kind, rest) = line.split_at(line.len().min(1));
        let len = || {
            rest.parse::<i64>()
                .with_context(|| format!("bad length {line:?}"))
        };
        Ok(match kind {
            "+" => Reply::Status(rest.to_string()),
            "-" => bail!("redis error: {rest}"),
            ":" => Reply::Int(len()?),
            "$" if len()? < 0 => Reply::Bulk(None),
            "$" => {
                // The string, then its CRLF.
                let mut buf = vec![0; len()? as usize + 2];
                self.conn.read_exact(&mut buf)?;
                buf.truncate(buf.len() - 2);
                Reply::Bulk(Some(buf))
            }
            "*" if len()? < 0 => Reply::Array(None),
            "*" => Reply::Array(Some(
                (0..len()?).map(|_| self.read()).collect::<Result<_, _>>()?,
            )),
            _ => bail!("not a RESP reply: {line:?}"),
        })
    }

    /// `INFO <section>` as a map (`role` → `master`, …).
    pub fn info(&mut self, section: &str) -> ducktape::Result<HashMap<String, String>> {
        let text = self.call(&["INFO", section])?.text().unwrap_or_default();
        Ok(text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }
}

// ----------------------------------------------------------------- services

/// Redis on `n` nodes: the first node's server is the primary, the others
/// replicate it (`replicaof`). Every server listens on its node's address,
/// port 6379, and keeps nothing on disk.
pub struct RedisService {
    nodes: usize,
}

impl RedisService {
    /// A primary and `nodes - 1` replicas.
    pub fn new(nodes: usize) -> Self {
        RedisService { nodes }
    }

    /// The port every server listens on.
    pub const PORT: u16 = 6379;
    const DIR: &'static str = "redis";
    const CONFIG: &'static str = "redis/redis.conf";
    const LOG: &'static str = "redis/redis.log";
    const PIDFILE: &'static str = "redis/redis.pid";

    /// A connection to the server on `node`.
    pub fn client(&self, node: &Node) -> ducktape::Result<Resp> {
        Resp::connect(node.hostname(), Self::PORT)
    }

    /// `master` or `slave` (Redis's words), from `INFO replication`.
    pub fn role(&self, node: &Node) -> ducktape::Result<String> {
        self.client(node)?
            .info("replication")?
            .remove("role")
            .with_context(|| format!("{node}: no role in INFO replication"))
    }
}

impl Service for RedisService {
    fn cluster_spec(&self) -> ClusterSpec {
        ClusterSpec::simple_linux(self.nodes)
    }

    fn name(&self) -> &str {
        "redis"
    }

    fn start_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        let idx = svc.idx(node).context("node is not in the service")?;
        let primary = svc.get_node(1).context("no first node")?;
        let config = ducktape::render!(
            "redis.conf",
            &json!({
                "idx": idx,
                "host": node.hostname(),
                "port": Self::PORT,
                "dir": node.path(Self::DIR),
                "pidfile": node.path(Self::PIDFILE),
                "primary": if idx == 1 { Value::Null } else { primary.hostname().into() },
            })
        )?;
        node.account()
            .create_file(&node.path(Self::CONFIG), config.as_bytes())?;

        let monitor = node.monitor_log(node.path(Self::LOG))?;
        let pid = node.account().spawn(
            &format!("exec redis-server {}", quote(&node.path(Self::CONFIG))),
            &node.path(Self::LOG),
        )?;
        // A replica is usable once it holds the primary's data. Every node
        // starts at once, so a replica may come up first: it retries each
        // second until the primary answers.
        let (ready, what) = if idx == 1 {
            ("Ready to accept connections", "Redis did not start")
        } else {
            (
                "MASTER <-> REPLICA sync: Finished with success",
                "the replica did not sync with the primary",
            )
        };
        wait_for_line(node, &monitor, pid, ready, what)
    }

    fn stop_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        stop_processes(node, || self.pids(svc, node))
    }

    fn clean_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        node.account().remove(&node.path(Self::DIR), false)?;
        Ok(())
    }

    fn pids(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<Vec<u32>> {
        pid_from_file(node, &node.path(Self::PIDFILE), "redis-server")
    }

    fn logs(&self) -> Vec<LogSpec> {
        vec![LogSpec {
            name: "redis_log",
            path: Self::LOG.into(),
            collect_default: true,
        }]
    }
}

/// Waits for a line matching `pattern` in the log of the process `pid`
/// started, for up to 30 s, but fails as soon as the process has exited (a
/// bad config, a port in use): its log, collected after the failure, says why.
fn wait_for_line(
    node: &Node,
    monitor: &LogMonitor,
    pid: u32,
    pattern: &str,
    what: &str,
) -> ducktape::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let second = Duration::from_secs(1);
        match monitor.wait_until(pattern, second, Duration::from_millis(50), what) {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e.into()),
            Err(_) => ensure!(
                node.account().alive(pid)?,
                "{node}: {what}: the process exited (see its log)"
            ),
        }
    }
}

/// The pid in a Redis or Sentinel pidfile, if that process still runs.
///
/// Why not `account.pids(pattern)`: Redis rewrites its process title
/// (`redis-server 10.251.0.11:6379`) over the memory that held its
/// environment, and the localhost cluster finds a node's processes by a tag
/// in their environment, so it would never see them. The pidfile works on
/// every kind of node. It outlives a SIGKILL, and a pid may be reused, hence
/// the check that the pid is still `program`'s (and no zombie, which `ps`
/// shows as `[redis-server] <defunct>`).
fn pid_from_file(node: &Node, pidfile: &Path, program: &str) -> ducktape::Result<Vec<u32>> {
    let out = node.account().ssh_output(&format!(
        "pid=$(cat {} 2>/dev/null) || exit 0; \
         ps -o args= -p \"$pid\" | grep -q '^{program} ' && echo \"$pid\"; true",
        quote(pidfile)
    ))?;
    Ok(out
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect())
}

/// SIGTERM, then SIGKILL if the processes outlive 10 s. A paused process
/// (SIGSTOP) only acts on SIGTERM once resumed, hence the second signal.
fn stop_processes(
    node: &Node,
    pids: impl Fn() -> ducktape::Result<Vec<u32>>,
) -> ducktape::Result<()> {
    let stopped = || pids().is_ok_and(|p| p.is_empty());
    for signal in ["TERM", "KILL"] {
        for pid in pids()? {
            node.account().signal(pid, signal, true)?;
        }
        if wait_until(
            stopped,
            Duration::from_secs(10),
            Duration::from_millis(50),
            "",
        )
        .is_ok()
        {
            return Ok(());
        }
    }
    bail!("{node}: processes still run after SIGKILL")
}

/// Redis Sentinel on `n` nodes, watching the primary of a [`RedisService`]
/// under the name `mymaster`: when a quorum of 2 agree it is down (it did not
/// answer for 1 s), they promote a replica and point the others at it.
pub struct SentinelService {
    nodes: usize,
    primary: String,
    replicas: usize,
}

impl SentinelService {
    /// `nodes` sentinels watching `redis`, whose first node is the primary.
    pub fn new(nodes: usize, redis: &ServiceHandle<RedisService>) -> Self {
        SentinelService {
            nodes,
            primary: redis.nodes()[0].hostname().to_string(),
            replicas: redis.nodes().len() - 1,
        }
    }

    /// The port every sentinel listens on.
    pub const PORT: u16 = 26379;
    /// The name the sentinels know the primary by.
    pub const MASTER: &'static str = "mymaster";
    const QUORUM: usize = 2;
    const DIR: &'static str = "sentinel";
    const CONFIG: &'static str = "sentinel/sentinel.conf";
    const LOG: &'static str = "sentinel/sentinel.log";
    const PIDFILE: &'static str = "sentinel/sentinel.pid";

    fn client(&self, node: &Node) -> ducktape::Result<Resp> {
        Resp::connect(node.hostname(), Self::PORT)
    }

    /// The primary's address as the sentinel on `node` sees it.
    pub fn primary_addr(&self, node: &Node) -> ducktape::Result<String> {
        let reply =
            self.client(node)?
                .call(&["SENTINEL", "get-master-addr-by-name", Self::MASTER])?;
        match reply.items() {
            [host, _port] => host.text().context("no host"),
            _ => bail!("{node}: sentinel does not know {}", Self::MASTER),
        }
    }

    /// What the sentinel on `node` knows of the primary (`SENTINEL master`:
    /// `num-slaves`, `num-other-sentinels`, `flags`, …).
    pub fn primary_state(&self, node: &Node) -> ducktape::Result<HashMap<String, String>> {
        let reply = self
            .client(node)?
            .call(&["SENTINEL", "master", Self::MASTER])?;
        Ok(reply
            .items()
            .chunks(2)
            .filter_map(|kv| Some((kv.first()?.text()?, kv.get(1)?.text()?)))
            .collect())
    }
}

impl Service for SentinelService {
    fn cluster_spec(&self) -> ClusterSpec {
        ClusterSpec::simple_linux(self.nodes)
    }

    fn name(&self) -> &str {
        "sentinel"
    }

    fn start_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        let config = ducktape::render!(
            "sentinel.conf",
            &json!({
                "idx": svc.idx(node).context("node is not in the service")?,
                "host": node.hostname(),
                "port": Self::PORT,
                "dir": node.path(Self::DIR),
                "pidfile": node.path(Self::PIDFILE),
                "master": Self::MASTER,
                "primary": self.primary,
                "primary_port": RedisService::PORT,
                "quorum": Self::QUORUM,
            })
        )?;
        node.account()
            .create_file(&node.path(Self::CONFIG), config.as_bytes())?;
        let monitor = node.monitor_log(node.path(Self::LOG))?;
        let pid = node.account().spawn(
            &format!("exec redis-sentinel {}", quote(&node.path(Self::CONFIG))),
            &node.path(Self::LOG),
        )?;
        wait_for_line(
            node,
            &monitor,
            pid,
            "\\+monitor master",
            "the sentinel did not start",
        )?;
        // A sentinel can only fail over once it knows the replicas (from the
        // primary's INFO) and enough other sentinels to make a quorum (from
        // their hello messages, every 2 s). All sentinels start at once, so
        // each waits here for the others.
        let want = (self.nodes - 1, self.replicas);
        retry_on_error(
            || -> ducktape::Result<bool> {
                let state = self.primary_state(node)?;
                let count = |k: &str| state.get(k).and_then(|v| v.parse::<usize>().ok());
                Ok((count("num-other-sentinels"), count("num-slaves"))
                    == (Some(want.0), Some(want.1)))
            },
            Duration::from_secs(30),
            Duration::from_millis(200),
            &format!(
                "{node}: the sentinel did not discover {} other sentinels and {} replicas",
                want.0, want.1
            ),
        )?;
        Ok(())
    }

    fn stop_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        stop_processes(node, || self.pids(svc, node))
    }

    fn clean_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        node.account().remove(&node.path(Self::DIR), false)?;
        Ok(())
    }

    fn pids(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<Vec<u32>> {
        pid_from_file(node, &node.path(Self::PIDFILE), "redis-sentinel")
    }

    /// The log, and the config as Sentinel rewrote it (what it discovered,
    /// which primary it ended with).
    fn logs(&self) -> Vec<LogSpec> {
        vec![
            LogSpec {
                name: "sentinel_log",
                path: Self::LOG.into(),
                collect_default: true,
            },
            LogSpec {
                name: "sentinel_config",
                path: Self::CONFIG.into(),
                collect_default: true,
            },
        ]
    }
}

/// `redis-benchmark` on one node against a Redis server: a service that does
/// a fixed amount of work, like ducktape's performance services. `run` starts
/// it, waits for it to finish and stops it; `results` reads what it measured.
pub struct RedisBenchmark {
    target: String,
    port: u16,
    requests: u32,
    clients: u32,
}

/// What `redis-benchmark --csv` measured for one command.
#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    /// Requests per second.
    pub rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
}

impl RedisBenchmark {
    /// `requests` SETs then as many GETs, from `clients` connections at once,
    /// against the server at `target:port`.
    pub fn new(target: &Node, port: u16, requests: u32, clients: u32) -> Self {
        RedisBenchmark {
            target: target.hostname().to_string(),
            port,
            requests,
            clients,
        }
    }

    const DIR: &'static str = "redis-benchmark";
    const OUTPUT: &'static str = "redis-benchmark/output.csv";

    /// Each command's throughput (`SET`, `GET`) as measured on `node`.
    pub fn results(&self, node: &Node) -> ducktape::Result<HashMap<String, Throughput>> {
        let csv = node.account().read_file(&node.path(Self::OUTPUT))?;
        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",…
        let mut results = HashMap::new();
        for line in String::from_utf8_lossy(&csv).lines().skip(1) {
            let f: Vec<&str> = line.split(',').map(|f| f.trim_matches('"')).collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
            if let (Some(rps), Some(p50_ms)) = (num(1), num(4)) {
                results.insert(f[0].to_string(), Throughput { rps, p50_ms });
            }
        }
        Ok(results)
    }
}

impl Service for RedisBenchmark {
    fn cluster_spec(&self) -> ClusterSpec {
        ClusterSpec::simple_linux(1)
    }

    fn name(&self) -> &str {
        "redis-benchmark"
    }

    fn start_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        node.account().mkdirs(&node.path(Self::DIR))?;
        node.account().spawn(
            &format!(
                "exec redis-benchmark -h {} -p {} -t set,get -n {} -c {} -q --csv",
                self.target, self.port, self.requests, self.clients
            ),
            &node.path(Self::OUTPUT),
        )?;
        Ok(())
    }

    /// Done when the process has exited.
    fn wait_node(
        &self,
        svc: &ServiceNodes,
        node: &Node,
        timeout: Duration,
    ) -> ducktape::Result<bool> {
        let done = || self.pids(svc, node).is_ok_and(|p| p.is_empty());
        Ok(wait_until(done, timeout, Duration::from_millis(100), "").is_ok())
    }

    fn stop_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        stop_processes(node, || self.pids(svc, node))
    }

    fn clean_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        node.account().remove(&node.path(Self::DIR), false)?;
        Ok(())
    }

    fn pids(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<Vec<u32>> {
        Ok(node.account().pids("^redis-benchmark ")?)
    }

    fn logs(&self) -> Vec<LogSpec> {
        vec![LogSpec {
            name: "benchmark_output",
            path: Self::OUTPUT.into(),
            collect_default: true,
        }]
    }
}

/// A TCP proxy on one node in front of a server, passing what the server
/// sends back `delay` later (`templates/delay_proxy.py`): a slow link made
/// in user space, for kernels without `netem` (`tc` says "Specified qdisc
/// kind is unknown"), where `ctx.faults().netem` cannot delay packets.
pub struct DelayProxy {
    target: String,
    target_port: u16,
    delay: Duration,
}

impl DelayProxy {
    /// A proxy to `target:target_port` adding `delay` to every reply.
    pub fn new(target: &Node, target_port: u16, delay: Duration) -> Self {
        DelayProxy {
            target: target.hostname().to_string(),
            target_port,
            delay,
        }
    }

    /// The port the proxy listens on.
    pub const PORT: u16 = 16379;
    const DIR: &'static str = "delay-proxy";
    const SCRIPT: &'static str = "delay-proxy/delay_proxy.py";
    const LOG: &'static str = "delay-proxy/proxy.log";
}

impl Service for DelayProxy {
    fn cluster_spec(&self) -> ClusterSpec {
        ClusterSpec::simple_linux(1)
    }

    fn name(&self) -> &str {
        "delay-proxy"
    }

    fn start_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        let script = include_str!("templates/delay_proxy.py");
        node.account()
            .create_file(&node.path(Self::SCRIPT), script.as_bytes())?;
        let monitor = node.monitor_log(node.path(Self::LOG))?;
        let pid = node.account().spawn(
            &format!(
                "exec python3 {} {} {} {} {} {}",
                quote(&node.path(Self::SCRIPT)),
                node.hostname(),
                Self::PORT,
                self.target,
                self.target_port,
                self.delay.as_millis()
            ),
            &node.path(Self::LOG),
        )?;
        wait_for_line(
            node,
            &monitor,
            pid,
            "delay proxy listening",
            "the delay proxy did not start",
        )
    }

    fn stop_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        stop_processes(node, || self.pids(svc, node))
    }

    fn clean_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        node.account().remove(&node.path(Self::DIR), false)?;
        Ok(())
    }

    fn pids(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<Vec<u32>> {
        Ok(node.account().pids("python3 .*delay_proxy\\.py")?)
    }

    fn logs(&self) -> Vec<LogSpec> {
        vec![LogSpec {
            name: "proxy_log",
            path: Self::LOG.into(),
            collect_default: true,
        }]
    }
}

// ----------------------------------------------------------------- tests

/// How long Sentinel took to promote a replica after the primary died.
#[derive(Debug, Serialize)]
struct Failover {
    failover_s: f64,
}

/// Kills the primary (SIGKILL): the sentinels agree it is down, promote one
/// of the replicas and point the other at it; what was written before the
/// crash is still there, and writes go on through the new primary.
#[ducktape::test(env(DUCKTAPE_REDIS = "1"), cluster(num_nodes = 6))]
fn redis_sentinel_failover(ctx: &TestContext) -> ducktape::Result<Failover> {
    let redis = ctx.service(RedisService::new(3))?;
    redis.start()?;
    let sentinels = ctx.service(SentinelService::new(3, &redis))?;
    sentinels.start()?;
    let old = redis.nodes()[0].clone();

    // A write every replica has acknowledged (WAIT) survives the crash.
    let mut primary = redis.client(&old)?;
    primary.call(&["SET", "before", "crash"])?;
    let acked = primary.call(&["WAIT", "2", "5000"])?;
    ensure!(
        acked == Reply::Int(2),
        "replicas acknowledged {acked:?}, not 2"
    );

    ctx.faults().kill(&redis, &old, false)?;
    let killed = Instant::now();

    // Every sentinel names the same new primary, a former replica.
    let mut promoted = String::new();
    retry_on_error(
        || -> ducktape::Result<bool> {
            let addrs: Vec<String> = sentinels
                .nodes()
                .iter()
                .map(|s| sentinels.primary_addr(s))
                .collect::<ducktape::Result<_>>()?;
            promoted = addrs[0].clone();
            Ok(promoted != old.hostname() && addrs.iter().all(|a| *a == promoted))
        },
        Duration::from_secs(30),
        Duration::from_millis(100),
        "the sentinels did not agree on a new primary",
    )?;
    let new = redis
        .nodes()
        .iter()
        .find(|n| n.hostname() == promoted)
        .with_context(|| format!("the new primary {promoted} is not a replica"))?
        .clone();
    // Sentinel has switched its address once the replica accepted the
    // promotion (REPLICAOF NO ONE): it takes writes at once.
    ensure!(redis.role(&new)? == "master", "{new} was not promoted");
    let failover_s = killed.elapsed().as_secs_f64();

    let mut client = redis.client(&new)?;
    ensure!(client.call(&["GET", "before"])?.text().as_deref() == Some("crash"));
    client.call(&["SET", "after", "failover"])?;

    // The remaining replica follows the new primary and gets the write.
    let other = redis
        .nodes()
        .iter()
        .find(|n| !Arc::ptr_eq(n, &old) && !Arc::ptr_eq(n, &new))
        .context("three nodes")?;
    retry_on_error(
        || -> ducktape::Result<bool> {
            let value = redis.client(other)?.call(&["GET", "after"])?;
            Ok(value.text().as_deref() == Some("failover"))
        },
        Duration::from_secs(30),
        Duration::from_millis(200),
        "the other replica did not follow the new primary",
    )?;
    Ok(Failover { failover_s })
}

/// How far the paused replica fell behind, and how long it took to catch up.
#[derive(Debug, Serialize)]
struct CatchUp {
    keys: usize,
    behind_bytes: i64,
    catch_up_s: f64,
}

/// Pauses a replica (SIGSTOP) while the primary takes writes: the replica
/// falls behind, and once resumed (SIGCONT) it catches up from the
/// primary's backlog.
#[ducktape::test(env(DUCKTAPE_REDIS = "1"), cluster(num_nodes = 3))]
fn redis_replica_pause(ctx: &TestContext) -> ducktape::Result<CatchUp> {
    const KEYS: usize = 1000;
    let redis = ctx.service(RedisService::new(3))?;
    redis.start()?;
    let (primary_node, replica) = (redis.nodes()[0].clone(), redis.nodes()[1].clone());

    ctx.faults().pause(&redis, &replica)?;
    let mut primary = redis.client(&primary_node)?;
    let keys: Vec<String> = (0..KEYS).map(|i| format!("key:{i}")).collect();
    let writes: Vec<Vec<&str>> = keys.iter().map(|k| vec!["SET", k, "v"]).collect();
    for chunk in writes.chunks(100) {
        primary.pipeline(chunk)?;
    }

    // Only the running replica acknowledges the writes (WAIT returns how
    // many did, here after its 1 s timeout)…
    let acks = primary.call(&["WAIT", "2", "1000"])?;
    ensure!(
        acks == Reply::Int(1),
        "{acks:?} replicas acknowledged, not 1"
    );
    // …and the primary's offset runs ahead of what the paused one acked.
    let info = primary.info("replication")?;
    let offset = |v: &str| {
        v.parse::<i64>()
            .with_context(|| format!("bad offset {v:?}"))
    };
    let head = offset(
        info.get("master_repl_offset")
            .context("no master_repl_offset")?,
    )?;
    let acked = replica_offset(&info, replica.hostname())?;
    let behind_bytes = head - acked;
    ensure!(
        behind_bytes > 0,
        "the paused replica is not behind ({acked} of {head})"
    );

    ctx.faults().resume(&redis, &replica)?;
    let resumed = Instant::now();
    let last = keys.last().context("no keys")?;
    retry_on_error(
        || -> ducktape::Result<bool> {
            let mut client = redis.client(&replica)?;
            let applied = offset(
                client
                    .info("replication")?
                    .get("slave_repl_offset")
                    .context("no slave_repl_offset")?,
            )?;
            let has_last = client.call(&["GET", last])?.text().is_some();
            let size = client.call(&["DBSIZE"])?;
            Ok(applied >= head && has_last && size == Reply::Int(KEYS as i64))
        },
        Duration::from_secs(30),
        Duration::from_millis(100),
        "the resumed replica did not catch up",
    )?;
    Ok(CatchUp {
        keys: KEYS,
        behind_bytes,
        catch_up_s: resumed.elapsed().as_secs_f64(),
    })
}

/// The offset a replica acknowledged, from the primary's `INFO replication`
/// line `slaveN:ip=…,port=…,state=online,offset=…,lag=…`.
fn replica_offset(info: &HashMap<String, String>, host: &str) -> ducktape::Result<i64> {
    info.iter()
        .filter(|(k, _)| k.starts_with("slave") && k[5..].parse::<u32>().is_ok())
        .map(|(_, v)| {
            v.split(',')
                .filter_map(|f| f.split_once('='))
                .collect::<HashMap<_, _>>()
        })
        .find(|f| f.get("ip") == Some(&host))
        .and_then(|f| f.get("offset")?.parse().ok())
        .with_context(|| format!("the primary lists no replica {host}: {info:?}"))
}

/// Whether a fault failed because the node's kernel has no `netem` qdisc.
/// There is no error variant to match, so this reads the message: the
/// framework's ("no netem qdisc (sch_netem)") or `tc`'s own.
fn lacks_netem(e: &ducktape::fault::FaultError) -> bool {
    let msg = e.to_string();
    msg.contains("sch_netem") || msg.contains("qdisc kind is unknown")
}

/// Throughput of one benchmark run, for the report.
#[derive(Debug, Serialize)]
struct Benchmark {
    latency_ms: u64,
    /// How the delay was added: `netem`, or `proxy` where the kernel has no
    /// netem (see [`DelayProxy`]).
    delay_by: &'static str,
    set_rps: f64,
    get_rps: f64,
    set_p50_ms: f64,
    get_p50_ms: f64,
}

/// SET and GET throughput from another node, over a normal link and with
/// `latency_ms` of delay added to everything the Redis node sends (`tc
/// netem`; where the kernel has no netem, a [`DelayProxy`] adds it). 50
/// clients at once: with 50 ms each waits per request, so the slow case does
/// ~1000 requests per second and its 10 000 requests take ~10 s per command.
#[ducktape::test(
    env(DUCKTAPE_REDIS = "1", DUCKTAPE_NETNS = "1"),
    cluster(num_nodes = 3),
    matrix(latency_ms = [0, 50]),
)]
fn redis_benchmark_latency(ctx: &TestContext, latency_ms: u64) -> ducktape::Result<Benchmark> {
    let redis = ctx.service(RedisService::new(1))?;
    redis.start()?;
    let primary = redis.nodes()[0].clone();

    // Where the benchmark connects: the server itself, or a delaying proxy
    // in front of it where the kernel cannot delay packets.
    let (mut target, mut port, mut delay_by) = (primary.clone(), RedisService::PORT, "none");
    if latency_ms > 0 {
        let delay = Duration::from_millis(latency_ms);
        match ctx.faults().netem(&primary, &Netem::delay(delay)) {
            Ok(()) => delay_by = "netem",
            Err(e) if lacks_netem(&e) => {
                tracing::warn!("no netem in this kernel ({e}): delaying through a proxy");
                let proxy = ctx.service(DelayProxy::new(&primary, RedisService::PORT, delay))?;
                proxy.start()?;
                ctx.faults().note(
                    "delay-proxy",
                    &[&primary],
                    serde_json::json!({"delay_ms": latency_ms, "via": proxy.nodes()[0].name()}),
                );
                (target, port, delay_by) = (proxy.nodes()[0].clone(), DelayProxy::PORT, "proxy");
            }
            Err(e) => return Err(e.into()),
        }
    }

    let bench = ctx.service(RedisBenchmark::new(&target, port, 10_000, 50))?;
    bench.run(Duration::from_secs(120))?;
    let results = bench.results(&bench.nodes()[0])?;
    let get = |cmd: &str| {
        results
            .get(cmd)
            .cloned()
            .with_context(|| format!("redis-benchmark measured no {cmd}: {results:?}"))
    };
    let (set, get) = (get("SET")?, get("GET")?);
    // The delay shows in every request: a check that it was added.
    ensure!(
        get.p50_ms >= latency_ms as f64 * 0.9,
        "GET median {} ms under {latency_ms} ms of added delay",
        get.p50_ms
    );
    Ok(Benchmark {
        latency_ms,
        delay_by,
        set_rps: set.rps,
        get_rps: get.rps,
        set_p50_ms: set.p50_ms,
        get_p50_ms: get.p50_ms,
    })
}
