//! Faults on a real multi-host cluster (network namespaces with sshd, from
//! scripts/netns-cluster.sh): after a test that partitions, drops, limits,
//! pauses and then panics, no nftables table, no tc qdisc and no paused
//! process is left on any node.

mod common;

use common::*;
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

/// A 3-node namespace cluster for the length of one test; `None` (with the
/// reason printed) where this machine cannot have one.
struct Cluster {
    dir: PathBuf,
    _lock: std::fs::File,
}

impl Cluster {
    fn up() -> Option<Cluster> {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/sbin/sshd").exists() {
            eprintln!("skipped: needs root and openssh-server (scripts/install-deps.sh)");
            return None;
        }
        // One namespace cluster per machine: wait for other users.
        let lock = std::fs::File::create("/tmp/ducktape-netns-cluster.lock").ok()?;
        lock.lock().ok()?;
        let dir = PathBuf::from(format!("/tmp/ducktape-faults-test-{}", std::process::id()));
        let out = netns(&["up", "3", "--dir", &dir.display().to_string()]);
        assert!(
            out.status.success(),
            "up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Cluster { dir, _lock: lock })
    }

    fn exec(&self, node: usize, cmd: &str) -> String {
        let out = netns(&["exec", &node.to_string(), "bash", "-c", cmd]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        netns(&["down", "--dir", &self.dir.display().to_string()]);
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
        "timeout 2 bash -c 'echo > /dev/tcp/10.251.0.12/22' && echo ok",
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
