//! Vagrant clusters, read from `vagrant ssh-config`.
//!
//! As in ducktape, a `--cluster-file` doubles as a cache: when it exists it is read as a JSON
//! cluster and Vagrant is not asked; otherwise `vagrant ssh-config` is run in the current
//! directory and its answer is written there for next time.
//!
//! ducktape also logs into every machine to look up its externally routable IP. That needs
//! SSH, which this module does not do, so Vagrant nodes have `externally_routable_ip: None`;
//! a later step that holds a connection can fill it in.

use super::checks::{check_unique, parse_port, validate_identity_files};
use super::error::{ClusterFileError, FieldProblem, NodeRef, Origin};
use super::json::{load_json_cluster, write_json_cluster};
use super::{expand_home, inferred_os, NodeConfig, DEFAULT_SSH_PORT};
use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

/// Parses the output of `vagrant ssh-config`: one `Host <name>` line per machine followed by
/// its options (`HostName`, `User`, `Port`, `IdentityFile`, …; keys case-insensitive, values
/// after a space or `=`, optionally in double quotes). Unknown options are ignored; wildcard
/// `Host` patterns are skipped because they are defaults, not machines.
pub fn parse_ssh_config(text: &str) -> Result<Vec<NodeConfig>, ClusterFileError> {
    let blocks: Vec<HostBlock> = host_blocks(text)?
        .into_iter()
        .filter(|block| !block.is_pattern())
        .collect();
    if blocks.is_empty() {
        return Err(ClusterFileError::VagrantNoMachines);
    }
    let nodes = blocks
        .into_iter()
        .enumerate()
        .map(|(index, block)| block.into_node(index))
        .collect::<Result<Vec<_>, _>>()?;
    check_unique(&nodes, &Origin::VagrantSshConfig)?;
    Ok(nodes)
}

/// The nodes of the Vagrant cluster in the current directory.
///
/// With an existing `cluster_file`, reads it as a JSON cluster (ducktape's cache) and does not
/// run Vagrant. Otherwise runs `vagrant ssh-config`, checks the identity files, and writes the
/// result to `cluster_file` when one was given.
pub fn load_vagrant_cluster(
    cluster_file: Option<&Path>,
) -> Result<Vec<NodeConfig>, ClusterFileError> {
    load_with(OsStr::new("vagrant"), cluster_file)
}

/// [`load_vagrant_cluster`] with the program to run, so tests can stand in for Vagrant.
fn load_with(
    program: &OsStr,
    cluster_file: Option<&Path>,
) -> Result<Vec<NodeConfig>, ClusterFileError> {
    if let Some(cache) = cluster_file.filter(|path| path.exists()) {
        return load_json_cluster(cache);
    }
    let nodes = parse_ssh_config(&run_ssh_config(program)?)?;
    // Checked before caching, so a broken answer is not remembered.
    validate_identity_files(&nodes, &Origin::VagrantSshConfig)?;
    if let Some(cache) = cluster_file {
        write_json_cluster(cache, &nodes)?;
    }
    Ok(nodes)
}

/// Runs `<program> ssh-config` and returns its standard output.
fn run_ssh_config(program: &OsStr) -> Result<String, ClusterFileError> {
    let output = Command::new(program)
        .arg("ssh-config")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => ClusterFileError::VagrantNotInstalled,
            _ => ClusterFileError::VagrantRun { error },
        })?;
    if !output.status.success() {
        return Err(ClusterFileError::VagrantFailed {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// One `Host` block, as read; ssh takes the first value of a repeated option, and so do we.
struct HostBlock {
    name: String,
    hostname: Option<String>,
    user: Option<String>,
    port: Option<String>,
    identity_file: Option<String>,
}

impl HostBlock {
    fn new(name: String) -> Self {
        HostBlock {
            name,
            hostname: None,
            user: None,
            port: None,
            identity_file: None,
        }
    }

    /// `Host *` and the like apply to other hosts; Vagrant never prints them for a machine.
    fn is_pattern(&self) -> bool {
        self.name.contains(['*', '?', '!', ' '])
    }

    fn set(&mut self, key: &str, value: String) {
        let slot = match key.to_ascii_lowercase().as_str() {
            "hostname" => &mut self.hostname,
            "user" => &mut self.user,
            "port" => &mut self.port,
            "identityfile" => &mut self.identity_file,
            _ => return,
        };
        slot.get_or_insert(value);
    }

    fn into_node(self, index: usize) -> Result<NodeConfig, ClusterFileError> {
        let field_error = |field, problem| ClusterFileError::Field {
            origin: Origin::VagrantSshConfig,
            node: NodeRef {
                index,
                host: Some(self.name.clone()),
            },
            field,
            problem,
        };
        let hostname = self
            .hostname
            .clone()
            .ok_or_else(|| field_error("HostName", FieldProblem::Missing))?;
        let port = match &self.port {
            Some(raw) => parse_port(raw).map_err(|problem| field_error("Port", problem))?,
            None => DEFAULT_SSH_PORT,
        };
        Ok(NodeConfig {
            operating_system: inferred_os(&self.name),
            port,
            user: self.user,
            identity_file: self.identity_file.as_deref().map(expand_home),
            password: None,
            externally_routable_ip: None,
            node_type: None,
            name: self.name,
            hostname,
        })
    }
}

/// Splits the text into `Host` blocks; an option before any `Host` means this is not
/// `vagrant ssh-config` output (an error page, a banner), and is reported as such.
fn host_blocks(text: &str) -> Result<Vec<HostBlock>, ClusterFileError> {
    let mut blocks: Vec<HostBlock> = Vec::new();
    for (number, raw) in (1..).zip(text.lines()) {
        let line = raw.trim();
        if is_ignorable(line) {
            continue;
        }
        let syntax = |problem: String| ClusterFileError::SshConfig {
            line: number,
            text: line.to_string(),
            problem,
        };
        let (key, value) = split_option(line).map_err(syntax)?;
        if key.eq_ignore_ascii_case("host") {
            blocks.push(HostBlock::new(value));
            continue;
        }
        let block = blocks.last_mut().ok_or_else(|| {
            syntax(format!(
                "`{key}` comes before any `Host` line, so this is not `vagrant ssh-config` \
                 output; run `vagrant ssh-config` yourself to see what it prints"
            ))
        })?;
        block.set(key, value);
    }
    Ok(blocks)
}

/// Blank lines, comments, and Vagrant's own `==> machine: …` status lines.
fn is_ignorable(line: &str) -> bool {
    line.is_empty() || line.starts_with('#') || line.starts_with("==>")
}

/// `Key value`, `Key=value` or `Key "quoted value"` → (key, value).
fn split_option(line: &str) -> Result<(&str, String), String> {
    let key_end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (key, rest) = line.split_at(key_end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    if rest.is_empty() {
        return Err(format!("`{key}` has no value; expected `{key} <value>`"));
    }
    Ok((key, unquote(rest)?))
}

/// Vagrant quotes values with spaces, such as key paths under `C:/Users/Jane Doe`.
fn unquote(value: &str) -> Result<String, String> {
    let Some(inner) = value.strip_prefix('"') else {
        return Ok(value.to_string());
    };
    match inner.split_once('"') {
        Some((quoted, "")) => Ok(quoted.to_string()),
        Some((_, after)) => Err(format!(
            "unexpected {after:?} after the closing quote; quote the whole value"
        )),
        None => Err("the opening `\"` is never closed; close the quote".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::json::tests::message_naming;
    use super::*;
    use crate::cluster::spec::OperatingSystem;
    use std::fs;
    use std::path::PathBuf;

    const FIXTURE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cluster/vagrant-ssh-config.txt"
    ));

    #[test]
    fn recorded_output_parses_to_three_machines() {
        let nodes = parse_ssh_config(FIXTURE).unwrap();
        let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
        assert_eq!(ports, [2222, 2200, 2201]);
        for (i, node) in nodes.iter().enumerate() {
            let name = format!("worker{}", i + 1);
            assert_eq!(node.hostname, "127.0.0.1");
            assert_eq!(node.user.as_deref(), Some("vagrant"));
            let key =
                format!("/home/dev/kafka-tests/.vagrant/machines/{name}/virtualbox/private_key");
            assert_eq!(node.identity_file, Some(PathBuf::from(key)));
            assert_eq!(node.name, name);
            assert_eq!(node.password, None);
            assert_eq!(node.externally_routable_ip, None);
            assert_eq!(node.operating_system, OperatingSystem::Linux);
        }
    }

    #[test]
    fn quoted_identity_file_with_spaces_and_other_spellings() {
        let text = "Host default\n  hostname=127.0.0.1\n  PORT 2222\n  \
                    identityFile \"/Users/Jane Doe/vm/.vagrant/machines/default/virtualbox/private_key\"\n\
                    Host windows-10\n  HostName = 10.0.0.9\n";
        let nodes = parse_ssh_config(text).unwrap();
        assert_eq!(nodes[0].hostname, "127.0.0.1");
        assert_eq!(nodes[0].port, 2222);
        assert_eq!(
            nodes[0].identity_file.as_deref(),
            Some(Path::new(
                "/Users/Jane Doe/vm/.vagrant/machines/default/virtualbox/private_key"
            ))
        );
        assert_eq!(nodes[1].hostname, "10.0.0.9");
        assert_eq!(nodes[1].port, 22);
        assert_eq!(nodes[1].operating_system, OperatingSystem::Windows);
    }

    #[test]
    fn wildcard_blocks_and_status_lines_are_skipped() {
        let text = "==> worker1: checking\n# comment\nHost *\n  User nobody\n\n\
                    Host worker1\n  HostName 10.0.0.1\n";
        let nodes = parse_ssh_config(text).unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].user, None);
    }

    #[test]
    fn garbage_is_rejected_with_its_line() {
        message_naming(
            parse_ssh_config("Bringing machine 'default' up with 'virtualbox' provider...\n"),
            &["line 1", "Bringing machine", "before any `Host` line"],
        );
        message_naming(
            parse_ssh_config("Host w1\n  garbage\n"),
            &["line 2", "`garbage` has no value"],
        );
        message_naming(
            parse_ssh_config("Host w1\n  IdentityFile \"/a b\n"),
            &["line 2", "never closed"],
        );
        message_naming(
            parse_ssh_config("Host w1\n  IdentityFile \"/a b\" c\n"),
            &["line 2", "after the closing quote"],
        );
        message_naming(
            parse_ssh_config("\n\n"),
            &["no `Host` entries", "vagrant up"],
        );
    }

    #[test]
    fn missing_hostname_and_bad_port_name_the_machine() {
        message_naming(
            parse_ssh_config("Host w1\n  HostName a\nHost w2\n  Port 2200\n"),
            &[
                "`vagrant ssh-config` output",
                "nodes[1] (host \"w2\")",
                "`HostName` is missing",
            ],
        );
        message_naming(
            parse_ssh_config("Host w1\n  HostName a\n  Port 0\n"),
            &["nodes[0] (host \"w1\")", "`Port` is 0, outside 1-65535"],
        );
    }

    #[test]
    fn duplicates_are_rejected() {
        message_naming(
            parse_ssh_config("Host w1\n HostName a\nHost w1\n HostName b\n"),
            &["nodes[0] and nodes[1]", "`Host` \"w1\""],
        );
        message_naming(
            parse_ssh_config(
                "Host w1\n HostName a\n Port 2222\nHost w2\n HostName a\n Port 2222\n",
            ),
            &["`HostName` and `Port`", "a:2222"],
        );
    }

    #[test]
    fn missing_vagrant_says_so_plainly() {
        let error = load_with(OsStr::new("/nonexistent/bin/vagrant"), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "vagrant cluster: `vagrant` is not installed or not on PATH; use --cluster \
             localhost (the default) or --cluster-file with a JSON cluster"
        );
    }

    #[test]
    fn existing_cache_is_read_without_running_vagrant() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cluster.json");
        let nodes = vec![NodeConfig::new("worker1", "10.0.0.1")];
        write_json_cluster(&cache, &nodes).unwrap();
        let loaded = load_with(OsStr::new("/nonexistent/bin/vagrant"), Some(&cache)).unwrap();
        assert_eq!(loaded, nodes);
    }

    /// A stand-in `vagrant` that prints `stdout`, `stderr` and exits with `code`.
    #[cfg(unix)]
    fn fake_vagrant(dir: &Path, stdout: &str, stderr: &str, code: i32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("vagrant");
        let body = format!(
            "#!/bin/sh\n[ \"$1\" = ssh-config ] || exit 99\ncat <<'EOF'\n{stdout}EOF\n\
             printf '%s' '{stderr}' >&2\nexit {code}\n"
        );
        fs::write(&script, body).unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        // A child another test's thread forked while the script was open for
        // writing holds that descriptor until it execs, and running the
        // script meanwhile fails with ETXTBSY: wait until it can run (no new
        // writer can appear once it has been closed here).
        for _ in 0..1000 {
            match std::process::Command::new(&script).output() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(2))
                }
                _ => return script,
            }
        }
        panic!("{} still busy (ETXTBSY) after 2 s", script.display())
    }

    #[cfg(unix)]
    #[test]
    fn vagrant_answer_is_cached() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("private key");
        fs::write(&key, "key").unwrap();
        let output = format!(
            "Host worker1\n  HostName 127.0.0.1\n  User vagrant\n  Port 2222\n  \
             IdentityFile \"{}\"\n  IdentitiesOnly yes\n\n",
            key.display()
        );
        let program = fake_vagrant(dir.path(), &output, "", 0);
        let cache = dir.path().join("cache.json");
        let nodes = load_with(program.as_os_str(), Some(&cache)).unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].identity_file.as_deref(), Some(key.as_path()));
        // Vagrant is not asked again: the cache answers even once the program is gone.
        fs::remove_file(&program).unwrap();
        assert_eq!(load_with(program.as_os_str(), Some(&cache)).unwrap(), nodes);
    }

    #[cfg(unix)]
    #[test]
    fn vagrant_failure_shows_its_stderr_and_writes_no_cache() {
        let dir = tempfile::tempdir().unwrap();
        let stderr = "The provider for this Vagrant-managed machine is reporting that it is not yet ready for SSH.";
        let program = fake_vagrant(dir.path(), "", stderr, 1);
        let cache = dir.path().join("cache.json");
        let error = load_with(program.as_os_str(), Some(&cache)).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("`vagrant ssh-config` failed"), "{message}");
        assert!(message.contains("not yet ready for SSH"), "{message}");
        assert!(message.contains("vagrant up"), "{message}");
        assert!(!cache.exists());
    }

    #[cfg(unix)]
    #[test]
    fn missing_vagrant_key_is_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let program = fake_vagrant(dir.path(), FIXTURE, "", 0);
        let cache = dir.path().join("cache.json");
        let error = load_with(program.as_os_str(), Some(&cache)).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("`vagrant ssh-config` output"), "{message}");
        assert!(message.contains("nodes[0] (host \"worker1\")"), "{message}");
        assert!(message.contains("`IdentityFile`"), "{message}");
        assert!(!cache.exists());
    }
}
