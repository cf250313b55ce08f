//! Faults on a real multi-host cluster (network namespaces with sshd, from
//! scripts/netns-cluster.sh): after a test that partitions, drops, limits,
//! pauses and then panics, no nftables table, no tc qdisc and no paused
//! process is left on any node.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn netns(args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/netns-cluster.sh"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("netns-cluster.sh runs")
}

/// A 3-node namespace cluster of its own (named, so it coexists with the
/// other tests' clusters and any other on the machine) for the length of
/// one test; `None` (with the reason printed) where this machine cannot
/// have one.
struct Cluster {
    name: String,
    dir: PathBuf,
}

fn can_have_clusters() -> bool {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/sbin/sshd").exists() {
        eprintln!("skipped: needs root and openssh-server (scripts/install-deps.sh)");
        return false;
    }
    true
}

impl Cluster {
    fn up() -> Option<Cluster> {
        Self::up_nodes(3)
    }

    fn up_nodes(nodes: usize) -> Option<Cluster> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        if !can_have_clusters() {
            return None;
        }
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("faults-{}-{n}", std::process::id());
        let dir = PathBuf::from(format!("/tmp/ducktape-{name}"));
        let cluster = Cluster { name, dir };
        let out = cluster.netns(&[
            "up",
            &nodes.to_string(),
            "--dir",
            &cluster.dir.display().to_string(),
        ]);
        assert!(
            out.status.success(),
            "up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(cluster)
    }

    /// netns-cluster.sh on this cluster.
    fn netns(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["--name", &self.name];
        all.extend_from_slice(args);
        netns(&all)
    }

    fn exec(&self, node: usize, cmd: &str) -> String {
        let out = self.netns(&["exec", &node.to_string(), "bash", "-c", cmd]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Node `node`'s address, from the cluster file.
    fn ip(&self, node: usize) -> String {
        let text = std::fs::read_to_string(self.dir.join("cluster.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["nodes"][node - 1]["ssh_config"]["hostname"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.netns(&["down", "--dir", &self.dir.display().to_string()]);
    }
}

#[test]
fn every_fault_is_healed_after_a_panic_on_a_real_cluster() {
    let Some(cluster) = Cluster::up() else { return };
    let file = cluster.dir.join("cluster.json").display().to_string();
    let known_hosts = cluster.dir.join("known_hosts").display().to_string();
    let run = run_fixtures(
        &[
            "--exact",
            "services::faults_then_panic",
            "--cluster",
            "json",
            "--cluster-file",
            &file,
        ],
        &[("DUCKTAPE_KNOWN_HOSTS", &known_hosts)],
    );
    run.assert_status(101);
    assert!(
        run.stdout.contains("deliberate panic with faults in place"),
        "{}",
        run.stdout
    );
    let report = run.report();
    let kinds: Vec<&str> = report["results"][0]["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["partition", "drop", "netem", "pause", "heal"]);
    for node in 1..=3 {
        let tables = cluster.exec(node, "nft list tables");
        assert!(
            !tables.contains("ducktape"),
            "node{node} still has {tables}"
        );
        let qdiscs = cluster.exec(node, "tc qdisc show");
        assert!(
            !qdiscs.contains("tbf") && !qdiscs.contains("netem"),
            "node{node}: {qdiscs}"
        );
        let procs = cluster.exec(
            node,
            "ps -eo stat=,args= | grep -v grep | grep 'sleep 3600' || true",
        );
        assert!(procs.trim().is_empty(), "node{node} left: {procs}");
    }
    // The network is whole again: node1 reaches node2.
    let reach = cluster.exec(
        1,
        &format!(
            "timeout 2 bash -c 'echo > /dev/tcp/{}/22' && echo ok",
            cluster.ip(2)
        ),
    );
    assert_eq!(reach.trim(), "ok");
    // And the report shows the faults.
    let txt = std::fs::read_to_string(run.session().join("report.txt")).unwrap();
    assert!(
        txt.contains("faults:") && txt.contains("partition"),
        "{txt}"
    );

    // Delay needs the kernel's netem: it works, or says clearly that it cannot.
    let run = run_fixtures(
        &[
            "--exact",
            "services::delay_or_clear_error",
            "--cluster",
            "json",
            "--cluster-file",
            &file,
        ],
        &[("DUCKTAPE_KNOWN_HOSTS", &known_hosts)],
    );
    run.assert_status(0);
    let data = run.report()["results"][0]["data"].clone();
    eprintln!("netem delay on this kernel: {data}");
    assert!(
        data["delay"] == "netem" || data["delay"] == "unsupported",
        "{data}"
    );
    for node in 1..=3 {
        assert!(!cluster.exec(node, "tc qdisc show").contains("netem"));
    }
}

#[test]
fn nodes_without_an_identity_file_authenticate_through_ssh_agent() {
    let Some(cluster) = Cluster::up() else { return };
    // The same cluster, but no identityfile: the key is only in an agent.
    let text = std::fs::read_to_string(cluster.dir.join("cluster.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for node in json["nodes"].as_array_mut().unwrap() {
        node["ssh_config"]["identityfile"] = serde_json::Value::Null;
    }
    let file = cluster.dir.join("agent-cluster.json");
    std::fs::write(&file, json.to_string()).unwrap();
    let sock = cluster.dir.join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .expect("ssh-agent runs");
    assert!(eventually(10, || sock.exists()), "ssh-agent did not start");
    let added = Command::new("ssh-add")
        .arg(cluster.dir.join("id_ed25519"))
        .env("SSH_AUTH_SOCK", &sock)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(added.success(), "ssh-add failed");
    let known_hosts = cluster.dir.join("known_hosts").display().to_string();
    let sock_s = sock.display().to_string();
    let file_s = file.display().to_string();
    // quickstart::hello runs a command on its node: it needs a session.
    let run = run_systest(
        &[
            "--exact",
            "quickstart::hello",
            "--cluster",
            "json",
            "--cluster-file",
            &file_s,
        ],
        &[
            ("DUCKTAPE_KNOWN_HOSTS", &known_hosts),
            ("SSH_AUTH_SOCK", &sock_s),
        ],
    );
    let _ = agent.kill();
    let _ = agent.wait();
    run.assert_status(0);
    // Without the agent the same file fails, naming what was tried.
    let run = run_systest(
        &[
            "--exact",
            "quickstart::hello",
            "--cluster",
            "json",
            "--cluster-file",
            &file_s,
        ],
        &[
            ("DUCKTAPE_KNOWN_HOSTS", &known_hosts),
            ("SSH_AUTH_SOCK", "/nonexistent/agent.sock"),
        ],
    );
    assert_eq!(run.status, 101, "{}", run.stdout);
    assert!(
        run.stdout.contains("ssh-agent"),
        "the error should say what was tried: {}",
        run.stdout
    );
}

impl Cluster {
    /// How many processes on `node` have exactly `args` as command line.
    fn count(&self, node: usize, args: &str) -> usize {
        self.exec(node, &format!("pgrep -xf '{args}' | wc -l"))
            .trim()
            .parse()
            .unwrap_or(0)
    }
}

/// Issue 12: a SIGKILLed run leaves its service, a `nohup … &` job and the
/// command it was waiting for running on an SSH node. Leasing the node
/// again kills exactly those (found by the node's `DUCKTAPE_NODE` tag): a
/// process with the same command line but no tag, or another node's tag,
/// or a tag that merely starts with this node's, survives.
#[test]
fn leasing_an_ssh_node_kills_what_a_killed_run_left_there() {
    use ducktape::cluster::file::load_json_cluster;
    use ducktape::cluster::spec::ClusterSpec;
    use ducktape::remote::{RemoteAccount as _, SshAccount, SshOptions};
    let Some(cluster) = Cluster::up() else { return };
    let file = cluster.dir.join("cluster.json");
    let known_hosts = cluster.dir.join("known_hosts");
    let opts = SshOptions::default().with_known_hosts(known_hosts.clone());
    let nodes = load_json_cluster(&file).unwrap();
    let tag1 = SshAccount::new(&nodes[0], opts.clone())
        .node_tag()
        .to_string();
    // Bystanders: same command line on node1 untagged and with a longer
    // tag; on node2 with node2's own tag.
    cluster.exec(1, "setsid nohup sleep 4203 >/dev/null 2>&1 &");
    cluster.exec(
        1,
        &format!("DUCKTAPE_NODE='{tag1}/x' setsid nohup sleep 4203 >/dev/null 2>&1 &"),
    );
    SshAccount::new(&nodes[1], opts.clone())
        .ssh("nohup sleep 4203 >/dev/null 2>&1 &", false)
        .unwrap();
    assert!(eventually(10, || cluster.count(1, "sleep 4203") == 2
        && cluster.count(2, "sleep 4203") == 1));

    let state = tempfile::tempdir().unwrap();
    let results = tempfile::tempdir().unwrap();
    let mut child = Command::new(fixtures_bin())
        .args(["--exact", "stale::left_behind", "--cluster", "json"])
        .arg("--cluster-file")
        .arg(&file)
        .arg("--lease-root")
        .arg(state.path())
        .arg("--results-root")
        .arg(results.path())
        .env("DUCKTAPE_FIXTURE_STALE", "yes")
        .env("DUCKTAPE_KNOWN_HOSTS", &known_hosts)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = eventually(60, || {
        cluster.count(1, "sleep 4201") == 1
            && cluster.count(1, "sleep 4202") == 1
            && cluster.count(1, "sleep 4203") == 3
    });
    child.kill().unwrap(); // SIGKILL: no teardown runs.
    child.wait().unwrap();
    assert!(started, "the fixture did not start its processes on node1");
    // Orphaned, not dead: this is what the next holder of node1 finds.
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(cluster.count(1, "sleep 4201"), 1);
    assert_eq!(cluster.count(1, "sleep 4202"), 1);
    assert_eq!(cluster.count(1, "sleep 4203"), 3);

    let again = ducktape::cluster::Cluster::from_nodes("json", nodes, state.path(), opts).unwrap();
    let alloc = again.alloc(&ClusterSpec::simple_linux(1)).unwrap();
    assert_eq!(alloc.nodes()[0].name(), "node1");
    assert!(
        eventually(10, || cluster.count(1, "sleep 4201") == 0
            && cluster.count(1, "sleep 4202") == 0
            && cluster.count(1, "sleep 4203") == 2),
        "node1 still runs: {}",
        cluster.exec(1, "ps -eo pid,args")
    );
    assert_eq!(cluster.count(2, "sleep 4203"), 1, "node2's process died");
    // Nothing tagged is left, and the call is safe on a leased node.
    assert_eq!(alloc.nodes()[0].account().kill_stale().unwrap(), 0);
}

/// A run killed before its teardown leaves its network faults (and, here,
/// more tagged processes than the lease's kill reads with bash alone, so
/// `grep` finds them): leasing the nodes again heals the faults, which left
/// their mark in the node's root, kills the processes and removes the marks.
#[test]
fn leasing_ssh_nodes_heals_the_faults_a_killed_run_left_there() {
    use ducktape::cluster::file::load_json_cluster;
    use ducktape::cluster::spec::ClusterSpec;
    use ducktape::fault::{Faults, Netem};
    use ducktape::remote::SshOptions;
    let Some(cluster) = Cluster::up_nodes(2) else {
        return;
    };
    let opts = SshOptions::default().with_known_hosts(cluster.dir.join("known_hosts"));
    let nodes = load_json_cluster(&cluster.dir.join("cluster.json")).unwrap();
    let state = tempfile::tempdir().unwrap();
    let lease = |nodes| {
        ducktape::cluster::Cluster::from_nodes("json", nodes, state.path(), opts.clone())
            .unwrap()
            .alloc(&ClusterSpec::simple_linux(2))
            .unwrap()
    };
    let first = lease(nodes.clone());
    let (a, b) = (&first.nodes()[0], &first.nodes()[1]);
    let faults = Faults::default();
    faults.drop_one_way(a, b).unwrap();
    faults.netem(a, &Netem::rate_kbit(8000)).unwrap();
    a.account()
        .ssh(
            "for i in $(seq 40); do setsid nohup sleep 4301 >/dev/null 2>&1 & done",
            false,
        )
        .unwrap();
    // The run dies here: no teardown heals or stops anything.
    drop(faults);
    drop(first);
    assert!(cluster.exec(2, "nft list tables").contains("ducktape"));
    assert!(cluster.exec(1, "tc qdisc show").contains("tbf"));
    assert!(eventually(10, || cluster.count(1, "sleep 4301") == 40));

    let again = lease(nodes);
    assert!(!cluster.exec(2, "nft list tables").contains("ducktape"));
    assert!(!cluster.exec(1, "tc qdisc show").contains("tbf"));
    assert!(
        eventually(10, || cluster.count(1, "sleep 4301") == 0),
        "node1 still runs: {}",
        cluster.exec(1, "ps -eo pid,args")
    );
    for node in 1..=2 {
        let root = cluster.exec(node, "ls -A /tmp/ducktape");
        assert!(!root.contains("ducktape-faults"), "node{node}: {root}");
    }
    drop(again);
}

/// Issue 12: another user pre-created the lease root with
/// `localhost/worker1` pointing elsewhere. The run refuses with one line
/// naming the path and what to do, and writes nothing there.
#[test]
fn a_hijacked_lease_root_is_refused_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("precious"), b"keep").unwrap();
    let state = tmp.path().join("state");
    std::fs::create_dir_all(state.join("localhost")).unwrap();
    let worker1 = state.join("localhost/worker1");
    std::os::unix::fs::symlink(&victim, &worker1).unwrap();
    let root = state.display().to_string();
    let run = run_systest(
        &["--exact", "quickstart::hello", "--lease-root", &root],
        &[],
    );
    run.assert_status(101);
    let line = format!(
        "refusing to use {}: it is a symbolic link (to {}), not a directory; remove it, or set \
         --lease-root DIR (or DUCKTAPE_LEASE_ROOT) to a directory of your own",
        worker1.display(),
        victim.display()
    );
    assert!(run.stdout.lines().any(|l| l == line), "{}", run.stdout);
    let left: Vec<_> = std::fs::read_dir(&victim).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "{left:?}");

    // A root that belongs to someone else stops the run before any test.
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped the other-owner half: needs root to chown");
        return;
    }
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let root = theirs.display().to_string();
    let run = run_systest(
        &["--exact", "quickstart::hello", "--lease-root", &root],
        &[],
    );
    assert_ne!(run.status, 0);
    let want = format!(
        "error: refusing to use {root}: it is owned by uid 65534, not by this user (uid 0)"
    );
    assert!(
        run.stderr.lines().any(|l| l.starts_with(&want)),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 0);
}

#[test]
fn a_timed_out_test_is_fenced_off_its_ssh_node_before_the_next_test_gets_it() {
    let Some(cluster) = Cluster::up() else { return };
    let file = cluster.dir.join("cluster.json").display().to_string();
    let known_hosts = cluster.dir.join("known_hosts").display().to_string();
    let run = run_fixtures(
        &[
            "--exact",
            "isolation::a_zombie_writer",
            "isolation::b_next_tenant",
            "--test-runner-timeout",
            "5000",
            "--test-threads",
            "1",
            "--cluster",
            "json",
            "--cluster-file",
            &file,
        ],
        &[("DUCKTAPE_KNOWN_HOSTS", &known_hosts)],
    );
    let statuses = run.statuses();
    assert_eq!(
        statuses
            .get("isolation::a_zombie_writer")
            .map(String::as_str),
        Some("FAIL"),
        "{}",
        run.stderr
    );
    assert_eq!(
        statuses.get("isolation::b_next_tenant").map(String::as_str),
        Some("PASS"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    // The zombie's background writer died with the fence, on every node.
    for node in 1..=3 {
        let left = cluster.exec(node, "pgrep -f 'echo zombie-b[g]' || true");
        assert!(left.trim().is_empty(), "node{node} still runs: {left}");
    }
}

/// Issue 15: two named namespace clusters are up side by side, each on its
/// own subnet and answering commands; a second `up` of a name that is up is
/// refused (not a silent teardown), and bringing one down leaves the other
/// answering, over SSH too.
#[test]
fn two_named_namespace_clusters_coexist_and_go_down_separately() {
    let Some(a) = Cluster::up_nodes(2) else {
        return;
    };
    let Some(b) = Cluster::up_nodes(2) else {
        return;
    };
    assert_ne!(a.ip(1), b.ip(1), "the clusters share a subnet");
    assert_eq!(a.exec(1, "hostname").trim(), "node1");
    assert_eq!(b.exec(2, "hostname").trim(), "node2");
    // Each node sees its own cluster's peer, not the other's.
    let peer = |c: &Cluster, other: &Cluster| {
        c.exec(
            1,
            &format!(
                "timeout 2 bash -c 'echo > /dev/tcp/{}/22' && echo ok; \
                 timeout 1 bash -c 'echo > /dev/tcp/{}/22' 2>/dev/null && echo leak; true",
                c.ip(2),
                other.ip(2)
            ),
        )
    };
    assert_eq!(peer(&a, &b).trim(), "ok");
    assert_eq!(peer(&b, &a).trim(), "ok");

    let again = a.netns(&["up", "2"]);
    assert!(
        !again.status.success(),
        "a second up of {} succeeded",
        a.name
    );
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains(&format!("a cluster named {} is already up", a.name))
            && err.contains(&format!("down --name {}", a.name)),
        "{err}"
    );
    assert_eq!(
        a.exec(1, "hostname").trim(),
        "node1",
        "the refused up broke it"
    );

    let listed = String::from_utf8_lossy(&a.netns(&["list"]).stdout).into_owned();
    assert!(
        listed.contains(&a.name) && listed.contains(&b.name),
        "{listed}"
    );
    let a_name = a.name.clone();
    drop(a);
    let listed = String::from_utf8_lossy(&b.netns(&["list"]).stdout).into_owned();
    assert!(
        !listed.contains(&a_name) && listed.contains(&b.name),
        "{listed}"
    );
    assert_eq!(b.exec(1, "hostname").trim(), "node1");
    let status = b.netns(&["status"]);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    // A down of a cluster that is not up touches nothing.
    let gone = netns(&["down", "--name", &a_name]);
    assert!(gone.status.success());
    assert_eq!(b.exec(2, "hostname").trim(), "node2");
}

/// Issue 15: a cluster file's host keys are checked once, before any test
/// runs: with an empty known_hosts the run stops with exit 2 and one error
/// naming a host and how to add its key, and no test runs.
#[test]
fn unknown_host_keys_stop_the_run_before_the_first_test() {
    let Some(cluster) = Cluster::up() else { return };
    let file = cluster.dir.join("cluster.json").display().to_string();
    let empty = cluster.dir.join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.display().to_string();
    // quickstart::hello on the cluster, trusting the host keys in `known_hosts`.
    let hello = |known_hosts: &str| {
        run_systest(
            &[
                "--exact",
                "quickstart::hello",
                "--cluster",
                "json",
                "--cluster-file",
                &file,
            ],
            &[("DUCKTAPE_KNOWN_HOSTS", known_hosts)],
        )
    };
    let run = hello(&empty);
    assert_eq!(run.status, 2, "{}\n{}", run.stdout, run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    let line = errors[0];
    assert!(
        line.contains(&empty) && line.contains("is not in it") && line.contains("ssh-keyscan"),
        "{line}"
    );
    for node in 1..=3 {
        assert!(line.contains(&cluster.ip(node)), "{line}");
    }
    assert!(
        !run.stdout.contains("quickstart::hello"),
        "a test ran: {}",
        run.stdout
    );
    // A changed key names the fix for that too.
    let wrong = cluster.dir.join("wrong_known_hosts");
    let known = std::fs::read_to_string(cluster.dir.join("known_hosts")).unwrap();
    let mut lines: Vec<&str> = known.lines().collect();
    // node1's address with node2's key.
    let node2_key = lines[1].split_once(' ').unwrap().1.to_string();
    let forged = format!("{} {node2_key}", cluster.ip(1));
    lines[0] = &forged;
    std::fs::write(&wrong, lines.join("\n") + "\n").unwrap();
    let wrong = wrong.display().to_string();
    let run = hello(&wrong);
    assert_eq!(run.status, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("does not match") && run.stderr.contains("ssh-keygen -R"),
        "{}",
        run.stderr
    );
    // With the cluster's own known_hosts the same run passes.
    let known = cluster.dir.join("known_hosts").display().to_string();
    let run = hello(&known);
    run.assert_status(0);
}

/// Issue 15: an example marked `requires(network_faults)` is ignored with
/// the reason on the localhost cluster, whose nodes share one network stack
/// (listed by `--list --ignored`, so nextest skips it), and is not ignored
/// on a cluster of hosts: no environment switch decides it.
#[test]
fn tests_needing_network_faults_are_ignored_only_where_nodes_share_a_network() {
    let systems = [("DUCKTAPE_ZOOKEEPER", "1")];
    let test = "zookeeper::zk_partition_leader".to_string();
    let local = run_systest(&["--list", "--ignored"], &systems);
    local.assert_status(0);
    assert!(local.listed().contains(&test), "{}", local.stdout);
    let hosts = run_systest(&["--list", "--ignored", "--cluster", "json"], &systems);
    hosts.assert_status(0);
    assert!(!hosts.listed().contains(&test), "{}", hosts.stdout);
    let all = run_systest(&["--list", "--cluster", "json"], &systems);
    assert!(all.listed().contains(&test), "{}", all.stdout);
    // Under cargo test it shows as ignored, with the reason, before any
    // service starts.
    let run = run_systest(&["--exact", &test], &systems);
    run.assert_status(0);
    assert!(
        run.stdout.contains(&format!(
            "{test} ... ignored (requires network_faults: the localhost cluster's nodes share \
             this machine's network stack"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.statuses().get(&test).map(String::as_str),
        Some("IGNORE")
    );
}
