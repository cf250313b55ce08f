//! A real system under test: a ZooKeeper ensemble, the service of ducktape's
//! "New Service Example", on the localhost cluster. Every virtual node has its
//! own address (127.0.0.1, 127.0.0.2, …), so all servers use the same ports.
//!
//! Needs Java and Debian's `zookeeper` package (`scripts/install-deps.sh`):
//! the tests run where `DUCKTAPE_ZOOKEEPER=1` and show as ignored elsewhere.

use ducktape::prelude::*;
use ducktape::remote::quote;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// ZooKeeper on `n` nodes: one server per node, which together elect a leader.
pub struct ZookeeperService {
    nodes: usize,
}

impl ZookeeperService {
    /// An ensemble of `nodes` servers.
    pub fn new(nodes: usize) -> Self {
        ZookeeperService { nodes }
    }

    const CLIENT_PORT: u16 = 2181;
    /// The JVM: Debian's jars and a small heap. zookeeper.jar names its
    /// dependencies but no logging backend, so slf4j-simple logs to stderr,
    /// which `spawn` appends to the output log, with wall-clock times.
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
        Ok(retry(
            || -> ducktape::Result<Arc<Node>> {
                let modes = nodes
                    .iter()
                    .map(|n| self.mode(n))
                    .collect::<ducktape::Result<Vec<_>>>()?;
                let followers = modes.iter().filter(|m| *m == "follower").count();
                let leaders: Vec<_> = nodes
                    .iter()
                    .zip(&modes)
                    .filter(|(_, m)| *m == "leader")
                    .collect();
                ensure!(
                    leaders.len() == 1 && followers == nodes.len() - 1,
                    "modes are {modes:?}"
                );
                Ok(leaders[0].0.clone())
            },
            timeout,
            Duration::from_millis(100),
            &format!("no single leader among {nodes:?}"),
        )?)
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
                "data_dir": svc.path(node, "data"),
                "host": node.hostname(),
                "client_port": Self::CLIENT_PORT,
                "servers": servers,
            })
        )?;
        let (account, config_file) = (node.account(), svc.path(node, "zookeeper.properties"));
        account.create_file(&config_file, config.as_bytes())?;
        account.create_file(&svc.path(node, "data/myid"), format!("{myid}\n").as_bytes())?;
        svc.spawn(
            node,
            &format!(
                "exec {} {} org.apache.zookeeper.server.quorum.QuorumPeerMain {}",
                Self::JAVA,
                // GC and error logs, when run with --enable-jvm-logs.
                svc.jvm_options(node)?,
                quote(&config_file)
            ),
        )?;
        Ok(())
    }

    /// A server serves only once a quorum has elected a leader, so this also
    /// waits for the other servers: the framework checks every node at once.
    fn ready(&self, _svc: &ServiceNodes, _node: &Node) -> Vec<WaitFor> {
        vec![WaitFor::log_line(
            "Peer state changed: (leading|following) - broadcast",
        )]
    }

    fn jvm(&self) -> bool {
        true
    }

    /// The data (snapshots, transaction logs) after a failure; the server's
    /// output (its log) is collected after every test anyway.
    fn logs_on(&self, svc: &ServiceNodes, node: &Node) -> Vec<LogSpec> {
        vec![LogSpec::on_failure("zk_data", svc.path(node, "data"))]
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

    write_and_read(&zk, &zk.nodes()[0], &zk.nodes()[2], "/ducktape", "hello")
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
    let follower = zk.all_but(&leader)[0].clone();

    zk.signal_node(&follower, if clean { "TERM" } else { "KILL" })?;
    gone(&zk, &follower)?;
    // Two of three servers are still a majority: the leader keeps leading.
    ensure!(zk.mode(&leader)? == "leader", "{leader} stopped leading");

    let restarted = Instant::now();
    zk.start_node(&follower)?;
    zk.wait_for_leader(zk.nodes(), Duration::from_secs(30))?;
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
    // Another server may lag a moment behind a write: retry the read.
    retry(
        || -> ducktape::Result<()> {
            let out = zk.cli(reader, &format!("get {path}"))?;
            ensure!(out.lines().any(|l| l == value), "got {out:?}");
            Ok(())
        },
        Duration::from_secs(30),
        Duration::from_millis(200),
        &format!("{path}, written through {writer}, is not read through {reader}"),
    )?;
    Ok(())
}

/// Waits until the server on `node` no longer runs.
fn gone(zk: &ServiceHandle<ZookeeperService>, node: &Node) -> ducktape::Result<()> {
    retry_on_error(
        || zk.alive(node).map(|alive| !alive),
        Duration::from_secs(10),
        Duration::from_millis(20),
        &format!("the server on {node} still runs"),
    )?;
    Ok(())
}

/// Kills the leader (SIGKILL): the two other servers, still a majority,
/// elect a new leader among themselves and serve; the old leader, restarted,
/// rejoins as a follower.
#[ducktape::test(env(DUCKTAPE_ZOOKEEPER = "1"), cluster(num_nodes = 3))]
fn zk_leader_kill(ctx: &TestContext) -> ducktape::Result<Election> {
    let zk = ctx.service(ZookeeperService::new(3))?;
    zk.start()?;
    let old = zk.leader(zk.nodes())?;
    let others = zk.all_but(&old);

    ctx.faults().kill(&zk, &old, false)?;
    let killed = Instant::now();
    gone(&zk, &old)?;
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
    env(DUCKTAPE_ZOOKEEPER = "1"),
    requires(network_faults),
    cluster(num_nodes = 3)
)]
fn zk_partition_leader(ctx: &TestContext) -> ducktape::Result<Election> {
    let zk = ctx.service(ZookeeperService::new(3))?;
    zk.start()?;
    let old = zk.leader(zk.nodes())?;
    let others = zk.all_but(&old);

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
    retry(
        || -> ducktape::Result<()> {
            let mode = zk.mode(&old)?;
            ensure!(mode == "follower", "it is {mode}");
            Ok(())
        },
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
    write_and_read(&zk, &new, &old, "/after-heal", "caught-up")?;
    ensure!(
        zk.cli(&old, "get /partitioned")?
            .lines()
            .any(|l| l == "majority"),
        "the old leader did not catch up with what the majority wrote"
    );
    Ok(Election {
        election_s,
        rejoin_s,
    })
}
