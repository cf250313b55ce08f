//! A real system under test: a ZooKeeper ensemble, the service of ducktape's
//! "New Service Example", on the localhost cluster. Every virtual node has its
//! own address (127.0.0.1, 127.0.0.2, …), so all servers use the same ports.
//!
//! Needs Java and Debian's `zookeeper` package (`scripts/install-deps.sh`):
//! the tests run where `DUCKTAPE_ZOOKEEPER=1` and show as ignored elsewhere.

use ducktape::prelude::*;
use ducktape::remote::quote;
use ducktape::wait::{retry_on_error, wait_until};
use serde::Serialize;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// ZooKeeper on `n` nodes: one server per node, which together elect a leader.
pub struct ZookeeperService {
    nodes: usize,
}

impl ZookeeperService {
    /// An ensemble of `nodes` servers.
    pub fn new(nodes: usize) -> Self {
        ZookeeperService { nodes }
    }

    const DIR: &'static str = "zookeeper";
    const DATA_DIR: &'static str = "zookeeper/data";
    const CONFIG: &'static str = "zookeeper/zookeeper.properties";
    const LOG: &'static str = "zookeeper/zookeeper.log";
    const CLIENT_PORT: u16 = 2181;
    /// The JVM: Debian's jars and a small heap. zookeeper.jar names its
    /// dependencies but no logging backend, so slf4j-simple logs to stderr,
    /// which `spawn` appends to LOG, with wall-clock times.
    const JAVA: &'static str = "java -Xmx256m \
        -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar \
        -Dorg.slf4j.simpleLogger.showDateTime=true \
        -Dorg.slf4j.simpleLogger.dateTimeFormat='yyyy-MM-dd HH:mm:ss,SSS'";

    /// What the server on `node` is: `leader` or `follower`. Asked with the
    /// four-letter word `srvr` over TCP; an error while the server is down or
    /// not serving (no quorum).
    pub fn mode(&self, node: &Node) -> ducktape::Result<String> {
        let mut conn = TcpStream::connect((node.hostname(), Self::CLIENT_PORT))?;
        conn.set_read_timeout(Some(Duration::from_secs(5)))?;
        conn.write_all(b"srvr")?;
        let mut reply = String::new();
        conn.read_to_string(&mut reply)?;
        reply
            .lines()
            .find_map(|line| line.strip_prefix("Mode: "))
            .map(str::to_string)
            .with_context(|| format!("{node}: no mode in {reply:?}"))
    }

    /// The node whose server leads.
    pub fn leader(&self, nodes: &[Arc<Node>]) -> ducktape::Result<Arc<Node>> {
        for node in nodes {
            if self.mode(node)? == "leader" {
                return Ok(node.clone());
            }
        }
        bail!("no server is leading")
    }

    /// Waits until exactly one of `nodes` leads and the others follow it
    /// (elections take a moment, and a server answers `srvr` only once it
    /// serves), and returns the leader.
    pub fn wait_for_leader(
        &self,
        nodes: &[Arc<Node>],
        timeout: Duration,
    ) -> ducktape::Result<Arc<Node>> {
        let mut leader = None;
        retry_on_error(
            || -> ducktape::Result<bool> {
                let modes = nodes
                    .iter()
                    .map(|n| self.mode(n))
                    .collect::<ducktape::Result<Vec<_>>>()?;
                let leading: Vec<_> = (0..nodes.len()).filter(|&i| modes[i] == "leader").collect();
                let following = modes.iter().filter(|m| *m == "follower").count();
                leader = leading.first().map(|&i| nodes[i].clone());
                Ok(leading.len() == 1 && following == nodes.len() - 1)
            },
            timeout,
            Duration::from_millis(100),
            &format!("no single leader among {nodes:?}"),
        )?;
        leader.context("no leader")
    }

    /// Runs a command of ZooKeeper's own client (`get /path`) against the
    /// server on `node`, and returns what it printed.
    pub fn cli(&self, node: &Node, command: &str) -> ducktape::Result<String> {
        Ok(node.account().ssh_output(&format!(
            "/usr/share/zookeeper/bin/zkCli.sh -server {}:{} {command}",
            node.hostname(),
            Self::CLIENT_PORT
        ))?)
    }
}

impl Service for ZookeeperService {
    fn cluster_spec(&self) -> ClusterSpec {
        ClusterSpec::simple_linux(self.nodes)
    }

    fn name(&self) -> &str {
        "zookeeper"
    }

    fn start_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        let myid = svc.idx(node).context("node is not in the service")?;
        let servers: Vec<_> = (1..)
            .zip(svc.nodes())
            .map(|(id, n)| json!({"id": id, "host": n.hostname()}))
            .collect();
        let config = ducktape::render!(
            "zookeeper.properties",
            &json!({
                "myid": myid,
                "data_dir": node.path(Self::DATA_DIR),
                "host": node.hostname(),
                "client_port": Self::CLIENT_PORT,
                "servers": servers,
            })
        )?;
        let account = node.account();
        account.create_file(&node.path(Self::CONFIG), config.as_bytes())?;
        account.create_file(
            &node.path(Self::DATA_DIR).join("myid"),
            format!("{myid}\n").as_bytes(),
        )?;

        // Watch the log from before the start, so only this run's lines count.
        let monitor = node.monitor_log(node.path(Self::LOG))?;
        account.spawn(
            &format!(
                "exec {} {} org.apache.zookeeper.server.quorum.QuorumPeerMain {}",
                Self::JAVA,
                // GC and error logs, when run with --enable-jvm-logs.
                svc.jvm_options(node)?,
                quote(&node.path(Self::CONFIG))
            ),
            &node.path(Self::LOG),
        )?;
        // A server serves only once a quorum has elected a leader, so this
        // also waits for the other servers: the framework starts every node
        // at once, each waiting here on its own log.
        monitor.wait_until(
            "Peer state changed: (leading|following) - broadcast",
            Duration::from_secs(60),
            Duration::from_millis(100),
            "ZooKeeper did not join a quorum",
        )?;
        Ok(())
    }

    /// A clean shutdown (SIGTERM), or SIGKILL if that takes over 10 s.
    fn stop_node(&self, svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        let stopped = || self.pids(svc, node).is_ok_and(|pids| pids.is_empty());
        let (timeout, backoff) = (Duration::from_secs(10), Duration::from_millis(50));
        for signal in ["TERM", "KILL"] {
            for pid in self.pids(svc, node)? {
                node.account().signal(pid, signal, true)?;
            }
            if wait_until(stopped, timeout, backoff, "").is_ok() {
                return Ok(());
            }
        }
        bail!("ZooKeeper still runs after SIGKILL")
    }

    fn clean_node(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<()> {
        node.account().remove(&node.path(Self::DIR), false)?;
        Ok(())
    }

    fn pids(&self, _svc: &ServiceNodes, node: &Node) -> ducktape::Result<Vec<u32>> {
        Ok(node.account().java_pids("QuorumPeerMain")?)
    }

    fn jvm(&self) -> bool {
        true
    }

    /// The server log after every test; the data (snapshots, transaction
    /// logs) only after a failure.
    fn logs(&self) -> Vec<LogSpec> {
        vec![
            LogSpec {
                name: "zk_log",
                path: Self::LOG.into(),
                collect_default: true,
            },
            LogSpec {
                name: "zk_data",
                path: Self::DATA_DIR.into(),
                collect_default: false,
            },
        ]
    }
}

/// Three servers elect exactly one leader, and what a client writes through
/// one server it reads through another.
#[ducktape::test(env(DUCKTAPE_ZOOKEEPER = "1"), cluster(num_nodes = 3))]
fn zk_ensemble_serves(ctx: &TestContext) -> ducktape::Result<()> {
    let zk = ctx.service(ZookeeperService::new(3))?;
    zk.start()?;
    let mut modes = zk
        .nodes()
        .iter()
        .map(|n| zk.mode(n))
        .collect::<ducktape::Result<Vec<_>>>()?;
    modes.sort();
    ensure!(
        modes == ["follower", "follower", "leader"],
        "expected one leader and two followers, got {modes:?}"
    );

    let (first, last) = (&zk.nodes()[0], &zk.nodes()[2]);
    zk.cli(first, "create /ducktape hello")?;
    // Another server may lag a moment behind a write: retry the read.
    retry_on_error(
        || {
            zk.cli(last, "get /ducktape")
                .map(|out| out.lines().any(|l| l == "hello"))
        },
        Duration::from_secs(10),
        Duration::from_millis(200),
        "the value written through the first server is not read through the last",
    )?;
    Ok(())
}

/// How long the bounced follower took to serve again.
#[derive(Debug, Serialize)]
struct Recovery {
    recovery_s: f64,
}

/// Bounces a follower, with a clean stop (SIGTERM) or a crash (SIGKILL): the
/// two others keep a quorum meanwhile, and the follower rejoins.
#[ducktape::test(
    env(DUCKTAPE_ZOOKEEPER = "1"),
    cluster(num_nodes = 3),
    matrix(clean = [true, false]),
)]
fn zk_bounce_follower(ctx: &TestContext, clean: bool) -> ducktape::Result<Recovery> {
    let zk = ctx.service(ZookeeperService::new(3))?;
    zk.start()?;
    let leader = zk.leader(zk.nodes())?;
    let follower = zk
        .nodes()
        .iter()
        .find(|n| n.index() != leader.index())
        .context("three nodes")?
        .clone();

    zk.signal_node(&follower, if clean { "TERM" } else { "KILL" })?;
    wait_until(
        || !zk.alive(&follower).unwrap_or(true),
        Duration::from_secs(10),
        Duration::from_millis(50),
        "the follower is still running",
    )?;
    // Two of three servers are still a majority: the leader keeps leading.
    ensure!(zk.mode(&leader)? == "leader", "{leader} stopped leading");

    let restarted = Instant::now();
    zk.start_node(&follower)?;
    let serving = |n: &Arc<Node>| zk.mode(n).is_ok_and(|m| m == "leader" || m == "follower");
    wait_until(
        || zk.nodes().iter().all(serving),
        Duration::from_secs(30),
        Duration::from_millis(100),
        "the ensemble does not serve again after the bounce",
    )?;
    Ok(Recovery {
        recovery_s: restarted.elapsed().as_secs_f64(),
    })
}

/// How long the servers took to elect a new leader, and the old one to
/// rejoin.
#[derive(Debug, Serialize)]
struct Election {
    election_s: f64,
    rejoin_s: f64,
}

/// Writes `value` at `path` through the server on `writer` and waits until
/// the server on `reader` returns it: the ensemble serves.
fn write_and_read(
    zk: &ZookeeperService,
    writer: &Node,
    reader: &Node,
    path: &str,
    value: &str,
) -> ducktape::Result<()> {
    zk.cli(writer, &format!("create {path} {value}"))?;
    retry_on_error(
        || {
            zk.cli(reader, &format!("get {path}"))
                .map(|out| out.lines().any(|l| l == value))
        },
        Duration::from_secs(30),
        Duration::from_millis(200),
        &format!("{path}, written through {writer}, is not read through {reader}"),
    )?;
    Ok(())
}

/// Every node of `nodes` but `node`.
fn all_but(nodes: &[Arc<Node>], node: &Arc<Node>) -> Vec<Arc<Node>> {
    nodes
        .iter()
        .filter(|n| !Arc::ptr_eq(n, node))
        .cloned()
        .collect()
}

/// Kills the leader (SIGKILL): the two other servers, still a majority,
/// elect a new leader among themselves and serve; the old leader, restarted,
/// rejoins as a follower.
#[ducktape::test(env(DUCKTAPE_ZOOKEEPER = "1"), cluster(num_nodes = 3))]
fn zk_leader_kill(ctx: &TestContext) -> ducktape::Result<Election> {
    let zk = ctx.service(ZookeeperService::new(3))?;
    zk.start()?;
    let old = zk.leader(zk.nodes())?;
    let others = all_but(zk.nodes(), &old);

    ctx.faults().kill(&zk, &old, false)?;
    let killed = Instant::now();
    wait_until(
        || !zk.alive(&old).unwrap_or(true),
        Duration::from_secs(10),
        Duration::from_millis(20),
        "the killed leader still runs",
    )?;
    let new = zk.wait_for_leader(&others, Duration::from_secs(30))?;
    let election_s = killed.elapsed().as_secs_f64();
    write_and_read(&zk, &others[0], &others[1], "/after-kill", "elected")?;

    // start_node returns once the server has joined the quorum.
    let restarted = Instant::now();
    zk.start_node(&old)?;
    let rejoin_s = restarted.elapsed().as_secs_f64();
    ensure!(
        zk.mode(&old)? == "follower",
        "{old} did not rejoin as a follower"
    );
    ensure!(
        zk.mode(&new)? == "leader",
        "{new} lost the lead to the old leader"
    );
    write_and_read(&zk, &new, &old, "/after-rejoin", "caught-up")?;
    Ok(Election {
        election_s,
        rejoin_s,
    })
}

/// Cuts the leader off from the two other servers (both directions; the
/// test machine still reaches every node): the majority elects a new leader
/// and serves, the old leader, alone, stops serving; once the network heals
/// it rejoins as a follower and catches up with what it missed.
#[ducktape::test(
    env(DUCKTAPE_ZOOKEEPER = "1", DUCKTAPE_NETNS = "1"),
    cluster(num_nodes = 3)
)]
fn zk_partition_leader(ctx: &TestContext) -> ducktape::Result<Election> {
    let zk = ctx.service(ZookeeperService::new(3))?;
    zk.start()?;
    let old = zk.leader(zk.nodes())?;
    let others = all_but(zk.nodes(), &old);

    ctx.faults().isolate(&old, zk.nodes())?;
    let cut = Instant::now();
    // The followers notice the silence after syncLimit ticks, then elect.
    let new = zk.wait_for_leader(&others, Duration::from_secs(60))?;
    let election_s = cut.elapsed().as_secs_f64();
    write_and_read(&zk, &others[0], &others[1], "/partitioned", "majority")?;
    // Without a quorum the old leader gives up leading and serves nobody.
    wait_until(
        || zk.mode(&old).is_err(),
        Duration::from_secs(60),
        Duration::from_millis(200),
        "the isolated leader still serves",
    )?;

    ctx.faults().heal()?;
    let healed = Instant::now();
    wait_until(
        || zk.mode(&old).is_ok_and(|m| m == "follower"),
        Duration::from_secs(90),
        Duration::from_millis(200),
        "the old leader did not rejoin as a follower",
    )?;
    let rejoin_s = healed.elapsed().as_secs_f64();
    ensure!(
        zk.mode(&new)? == "leader",
        "{new} lost the lead after the heal"
    );
    // It has what the majority wrote while it was cut off.
    retry_on_error(
        || {
            zk.cli(&old, "get /partitioned")
                .map(|out| out.lines().any(|l| l == "majority"))
        },
        Duration::from_secs(30),
        Duration::from_millis(200),
        "the old leader did not catch up",
    )?;
    Ok(Election {
        election_s,
        rejoin_s,
    })
}
