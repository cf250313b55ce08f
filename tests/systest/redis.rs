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
//! (`requires(network_faults)`: a cluster of hosts, like the namespace
//! cluster of `scripts/showcase.sh`); they show as ignored elsewhere.

use ducktape::prelude::*;
use ducktape::remote::quote;
use ducktape::serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

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
                "dir": svc.dir(node),
                "primary": if idx == 1 { Value::Null } else { primary.hostname().into() },
            })
        )?;
        let config_file = svc.path(node, "redis.conf");
        node.account()
            .create_file(&config_file, config.as_bytes())?;
        svc.spawn(node, &format!("exec redis-server {}", quote(&config_file)))?;
        Ok(())
    }

    /// A replica is usable once it holds the primary's data. Every node
    /// starts at once, so a replica may come up first: it retries each
    /// second until the primary answers.
    fn ready(&self, svc: &ServiceNodes, node: &Node) -> Vec<WaitFor> {
        vec![WaitFor::log_line(if svc.idx(node) == Some(1) {
            "Ready to accept connections"
        } else {
            "MASTER <-> REPLICA sync: Finished with success"
        })]
    }
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

    /// The primary's address as the sentinel on `node` sees it.
    pub fn primary_addr(&self, node: &Node) -> ducktape::Result<String> {
        let reply = Resp::connect(node.hostname(), Self::PORT)?.call(&[
            "SENTINEL",
            "get-master-addr-by-name",
            Self::MASTER,
        ])?;
        match reply.items() {
            [host, _port] => host.text().context("no host"),
            _ => bail!("{node}: sentinel does not know {}", Self::MASTER),
        }
    }

    /// What the sentinel on `node` knows of the primary (`SENTINEL master`:
    /// `num-slaves`, `num-other-sentinels`, `flags`, …).
    pub fn primary_state(node: &Node) -> ducktape::Result<HashMap<String, String>> {
        let reply = Resp::connect(node.hostname(), Self::PORT)?.call(&[
            "SENTINEL",
            "master",
            Self::MASTER,
        ])?;
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
                "dir": svc.dir(node),
                "master": Self::MASTER,
                "primary": self.primary,
                "primary_port": RedisService::PORT,
                "quorum": Self::QUORUM,
            })
        )?;
        let config_file = svc.path(node, "sentinel.conf");
        node.account()
            .create_file(&config_file, config.as_bytes())?;
        svc.spawn(
            node,
            &format!("exec redis-sentinel {}", quote(&config_file)),
        )?;
        Ok(())
    }

    /// A sentinel can only fail over once it knows the replicas (from the
    /// primary's INFO) and enough other sentinels to make a quorum (from
    /// their hello messages, every 2 s): all are checked at once, so each
    /// node's wait overlaps the others'.
    fn ready(&self, _svc: &ServiceNodes, _node: &Node) -> Vec<WaitFor> {
        let want = (self.nodes - 1, self.replicas);
        vec![
            WaitFor::log_line("\\+monitor master"),
            WaitFor::check(
                format!("{} other sentinels and {} replicas", want.0, want.1),
                move |node| {
                    let state = Self::primary_state(node)?;
                    let count = |k: &str| state.get(k).and_then(|v| v.parse::<usize>().ok());
                    let got = (count("num-other-sentinels"), count("num-slaves"));
                    ensure!(got == (Some(want.0), Some(want.1)), "it knows {got:?}");
                    Ok(true)
                },
            ),
        ]
    }

    /// The config as Sentinel rewrote it (what it discovered, which primary
    /// it ended with).
    fn logs_on(&self, svc: &ServiceNodes, node: &Node) -> Vec<LogSpec> {
        vec![LogSpec::always(
            "sentinel_config",
            svc.path(node, "sentinel.conf"),
        )]
    }
}

/// `redis-benchmark` on one node against a Redis server: a service that does
/// a fixed amount of work, like ducktape's performance services. `run` starts
/// it, waits for it to finish (the default `wait_node`: its process exited)
/// and stops it; `results` reads what it measured.
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

    /// Each command's throughput (`SET`, `GET`) as measured by the service.
    pub fn results(svc: &ServiceHandle<Self>) -> ducktape::Result<HashMap<String, Throughput>> {
        let node = &svc.nodes()[0];
        let csv = node
            .account()
            .read_file(&svc.service_nodes().output_log(node))?;
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

    fn start_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        svc.spawn(
            node,
            &format!(
                "exec redis-benchmark -h {} -p {} -t set,get -n {} -c {} -q --csv",
                self.target, self.port, self.requests, self.clients
            ),
        )?;
        Ok(())
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
}

impl Service for DelayProxy {
    fn cluster_spec(&self) -> ClusterSpec {
        ClusterSpec::simple_linux(1)
    }

    fn name(&self) -> &str {
        "delay-proxy"
    }

    fn start_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        let script = svc.path(node, "delay_proxy.py");
        let source = include_str!("templates/delay_proxy.py");
        node.account().create_file(&script, source.as_bytes())?;
        svc.spawn(
            node,
            &format!(
                "exec python3 {} {} {} {} {} {}",
                quote(&script),
                node.hostname(),
                Self::PORT,
                self.target,
                self.target_port,
                self.delay.as_millis()
            ),
        )?;
        Ok(())
    }

    fn ready(&self, _svc: &ServiceNodes, _node: &Node) -> Vec<WaitFor> {
        vec![WaitFor::log_line("delay proxy listening")]
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
    let promoted = retry(
        || -> ducktape::Result<String> {
            let addrs: Vec<String> = sentinels
                .nodes()
                .iter()
                .map(|s| sentinels.primary_addr(s))
                .collect::<ducktape::Result<_>>()?;
            let first = &addrs[0];
            ensure!(
                first != old.hostname() && addrs.iter().all(|a| a == first),
                "the sentinels name {addrs:?}"
            );
            Ok(first.clone())
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
    let other = &redis
        .all_but(&old)
        .into_iter()
        .find(|n| n.name() != new.name())
        .context("three nodes")?;
    retry(
        || -> ducktape::Result<()> {
            let value = redis.client(other)?.call(&["GET", "after"])?;
            ensure!(
                value.text().as_deref() == Some("failover"),
                "it has {value:?}"
            );
            Ok(())
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
    retry(
        || -> ducktape::Result<()> {
            let mut client = redis.client(&replica)?;
            let applied = offset(
                client
                    .info("replication")?
                    .get("slave_repl_offset")
                    .context("no slave_repl_offset")?,
            )?;
            let has_last = client.call(&["GET", last])?.text().is_some();
            let size = client.call(&["DBSIZE"])?;
            ensure!(
                applied >= head && has_last && size == Reply::Int(KEYS as i64),
                "at offset {applied} of {head}, last key there: {has_last}, size {size:?}"
            );
            Ok(())
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
    env(DUCKTAPE_REDIS = "1"),
    requires(network_faults),
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
                warn!("no netem in this kernel ({e}): delaying through a proxy");
                let proxy = ctx.service(DelayProxy::new(&primary, RedisService::PORT, delay))?;
                proxy.start()?;
                ctx.faults().note(
                    "delay-proxy",
                    &[&primary],
                    json!({"delay_ms": latency_ms, "via": proxy.nodes()[0].name()}),
                );
                (target, port, delay_by) = (proxy.nodes()[0].clone(), DelayProxy::PORT, "proxy");
            }
            Err(e) => return Err(e.into()),
        }
    }

    let bench = ctx.service(RedisBenchmark::new(&target, port, 10_000, 50))?;
    bench.run(Duration::from_secs(120))?;
    let results = RedisBenchmark::results(&bench)?;
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
