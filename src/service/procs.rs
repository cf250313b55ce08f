//! The processes a service started, found by a tag the framework controls.
//!
//! [`ServiceNodes::spawn`](super::ServiceNodes::spawn) starts a process with
//! `DUCKTAPE_SERVICE=<tag>` in its environment and remembers the process
//! group it leads (both accounts start a background process as a group
//! leader). A service's processes on a node are then the members of those
//! groups and every process carrying the tag: the group still finds a
//! server that rewrote its environment with its process title (Redis does),
//! the tag one that left the group to daemonize. No pattern a user writes,
//! and nothing of another node or service, is ever matched.

use crate::cluster::Node;
use crate::remote::{quote, quote_str};
use std::path::{Path, PathBuf};

/// The environment variable that tags a service's processes.
pub const SERVICE_TAG_VAR: &str = "DUCKTAPE_SERVICE";

/// One process started by `spawn`.
#[derive(Clone, Debug)]
pub(crate) struct Spawned {
    /// The node's index and name (unique in a test's cluster).
    pub node: (usize, String),
    /// The process group it leads (its pid).
    pub pgid: u32,
    /// The command, as the user wrote it.
    pub cmd: String,
    /// Where its output goes, absolute on the node.
    pub log: PathBuf,
    /// The log's size before the process started: its own output follows.
    pub offset: u64,
    /// Whether it may still have processes (pruned once its group is empty).
    pub live: bool,
}

/// A node's key in the records: index and name.
pub(crate) fn key(node: &Node) -> (usize, String) {
    (node.index(), node.name().to_string())
}

/// The tag value for one node: the nodes of the localhost cluster share one
/// process table, so the node is part of it.
pub(crate) fn node_tag(tag: &str, node: &Node) -> String {
    format!("{tag}/{}", node.name())
}

/// The command line `spawn` runs: the tag exported, in the service's
/// directory `dir`, then the user's command (an `exec` in it still replaces
/// the shell, keeping the pid).
pub(crate) fn tagged_command(tag: &str, node: &Node, dir: &Path, cmd: &str) -> String {
    format!(
        "export {SERVICE_TAG_VAR}={}\n{}\n{cmd}",
        quote_str(&node_tag(tag, node)),
        in_dir(dir)
    )
}

/// A shell line that enters `dir`, creating it first.
pub(crate) fn in_dir(dir: &Path) -> String {
    let d = quote(dir);
    format!("mkdir -p -- {d} && cd -- {d} || exit 1")
}

/// The size of a file on the node, 0 if it does not exist yet.
pub(crate) fn file_size(node: &Node, path: &Path) -> crate::Result<u64> {
    let out = node
        .account()
        .ssh(&format!("stat -c %s {} 2>/dev/null", quote(path)), true)?;
    Ok(out.stdout.trim().parse().unwrap_or(0))
}

/// The live processes of `groups` and those tagged `tag` on `node`, and
/// which of the groups still have members. One command on the node.
pub(crate) fn find(node: &Node, tag: &str, groups: &[u32]) -> crate::Result<(Vec<u32>, Vec<u32>)> {
    let script = format!(
        "ps -eo pid=,pgid=,stat=; echo --; \
         grep -lszxF -e {} /proc/[0-9]*/environ 2>/dev/null; true",
        quote_str(&format!("{SERVICE_TAG_VAR}={}", node_tag(tag, node)))
    );
    let out = node.account().ssh_output(&script)?;
    Ok(parse(&out, groups))
}

/// Parses [`find`]'s output: `pid pgid stat` lines, `--`, then the
/// `/proc/PID/environ` files holding the tag.
fn parse(out: &str, groups: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let (table, tagged) = out.split_once("\n--\n").unwrap_or((out, ""));
    let mut pids = Vec::new();
    let mut live_groups = Vec::new();
    let mut zombies = Vec::new();
    for line in table.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(pid), Some(pgid), Some(stat)) = (
            f.first().and_then(|p| p.parse::<u32>().ok()),
            f.get(1).and_then(|p| p.parse::<u32>().ok()),
            f.get(2),
        ) else {
            continue;
        };
        if stat.starts_with('Z') {
            zombies.push(pid);
        } else if groups.contains(&pgid) {
            pids.push(pid);
            live_groups.push(pgid);
        }
    }
    for file in tagged.lines() {
        let pid = file
            .strip_prefix("/proc/")
            .and_then(|p| p.strip_suffix("/environ"))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid.filter(|p| !zombies.contains(p)) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids.dedup();
    live_groups.sort_unstable();
    live_groups.dedup();
    (pids, live_groups)
}

/// Sends `signal` to every pid (those already gone are no error); after a
/// TERM also CONT, so a paused process acts on it now.
pub(crate) fn signal(node: &Node, pids: &[u32], signal: &str) -> crate::Result<()> {
    if pids.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = pids.iter().map(u32::to_string).collect();
    let list = list.join(" ");
    let sig = quote_str(signal);
    let mut cmd = format!("kill -s {sig} {list} 2>/dev/null");
    if signal == "TERM" {
        cmd.push_str(&format!("; kill -s CONT {list} 2>/dev/null"));
    }
    cmd.push_str("; true");
    node.account().ssh(&cmd, false)?;
    Ok(())
}

/// The last lines a process wrote to its log since `offset`, bounded.
pub(crate) fn log_tail(node: &Node, log: &Path, offset: u64) -> String {
    const LINES: usize = 20;
    match node.account().read_from(log, offset) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.trim_end().lines().collect();
            if lines.is_empty() {
                return "(it wrote nothing)".into();
            }
            let shown = lines[lines.len().saturating_sub(LINES)..].join("\n  ");
            let shown = crate::text::tail(&shown, 4 << 10);
            crate::text::escape_controls(&format!("  {shown}"))
        }
        Err(e) => format!("(its log could not be read: {})", crate::text::chain(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_group_members_and_tagged_processes_but_no_zombies() {
        let out = "  10    10 Ss   \n  11    10 S\n  12    10 Z\n  20    20 S\n  30    30 S\n\
                   --\n/proc/31/environ\n/proc/12/environ\n/proc/x/environ\n";
        let (pids, live) = parse(out, &[10, 40]);
        assert_eq!(pids, vec![10, 11, 31]);
        assert_eq!(live, vec![10]);
        let (pids, live) = parse("  5 5 S\n--\n", &[]);
        assert!(pids.is_empty() && live.is_empty());
    }
}
