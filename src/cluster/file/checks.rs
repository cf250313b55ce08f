//! Checks every cluster file passes, whichever format it came in: ports in range, node names
//! and addresses unique, identity files present and readable.

use super::error::{ClusterFileError, FieldProblem, NodeRef, Origin};
use super::NodeConfig;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::Path;

/// Checks that every identity file exists, is a file and can be opened; kept apart from
/// parsing because a file may legitimately be parsed where its keys do not exist.
pub fn validate_identity_files(
    nodes: &[NodeConfig],
    origin: &Origin,
) -> Result<(), ClusterFileError> {
    for (index, node) in nodes.iter().enumerate() {
        if let Some(path) = &node.identity_file {
            check_identity_file(path).map_err(|problem| ClusterFileError::Field {
                origin: origin.clone(),
                node: NodeRef::named(index, &node.name),
                field: origin.identity_field(),
                problem,
            })?;
        }
    }
    Ok(())
}

/// Parses a port given as text (JSON string or `Port` line): 1–65535.
pub(crate) fn parse_port(raw: &str) -> Result<u16, FieldProblem> {
    let trimmed = raw.trim();
    let number: i128 = trimmed
        .parse()
        .map_err(|_| FieldProblem::PortNotANumber(raw.to_string()))?;
    u16::try_from(number)
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| FieldProblem::PortOutOfRange(trimmed.to_string()))
}

/// Rejects duplicate names and duplicate addresses: either would make two entries that
/// reports or leases could not tell apart.
pub(crate) fn check_unique(nodes: &[NodeConfig], origin: &Origin) -> Result<(), ClusterFileError> {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut addresses: HashMap<(String, u16), usize> = HashMap::new();
    for (index, node) in nodes.iter().enumerate() {
        if let Some(first) = names.insert(&node.name, index) {
            return Err(ClusterFileError::DuplicateHost {
                origin: origin.clone(),
                host: node.name.clone(),
                first,
                second: index,
            });
        }
        // Host names are case-insensitive, so `Worker1` and `worker1` are one machine.
        let key = (node.hostname.to_ascii_lowercase(), node.port);
        if let Some(first) = addresses.insert(key, index) {
            return Err(ClusterFileError::DuplicateAddress {
                origin: origin.clone(),
                address: format!("{}:{}", node.hostname, node.port),
                first: NodeRef::named(first, &nodes[first].name),
                second: NodeRef::named(index, &node.name),
            });
        }
    }
    Ok(())
}

/// Exists, is not a directory, and opens: what ssh needs of a key file.
fn check_identity_file(path: &Path) -> Result<(), FieldProblem> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(FieldProblem::FileIsDirectory(path.into())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(FieldProblem::FileMissing(path.into()))
        }
        _ => {}
    }
    File::open(path)
        .map(drop)
        .map_err(|e| FieldProblem::FileUnreadable(path.into(), e))
}

#[cfg(test)]
mod tests {
    use super::super::json::tests::{cluster, message_naming, node, parse};
    use super::super::load_json_cluster;
    use std::fs::{self, File};
    use std::path::{Path, PathBuf};

    #[test]
    fn duplicate_host_names_both_indices() {
        let text = cluster(&[
            node("w1", r#""hostname": "h1""#),
            node("w2", r#""hostname": "h2""#),
            node("w1", r#""hostname": "h3""#),
        ]);
        message_naming(
            parse(&text),
            &[
                "cluster.json",
                "nodes[0] and nodes[2]",
                "`ssh_config.host` \"w1\"",
                "rename",
            ],
        );
    }

    #[test]
    fn duplicate_address_and_port() {
        let text = cluster(&[
            node("w1", r#""hostname": "127.0.0.1", "port": 2222"#),
            node("w2", r#""hostname": "127.0.0.1", "port": 2200"#),
            node("w3", r#""hostname": "127.0.0.1", "port": "2222""#),
        ]);
        message_naming(
            parse(&text),
            &[
                "cluster.json",
                "nodes[0] (host \"w1\") and nodes[2] (host \"w3\")",
                "`ssh_config.hostname` and `ssh_config.port`",
                "127.0.0.1:2222",
            ],
        );
    }

    /// A cluster file in a temp dir whose only node uses `identityfile`.
    fn file_with_key(dir: &Path, identityfile: &str) -> PathBuf {
        let path = dir.join("cluster.json");
        let text = cluster(&[node(
            "w1",
            &format!(r#""hostname": "h1", "identityfile": "{identityfile}""#),
        )]);
        fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn identity_file_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = file_with_key(dir.path(), "keys/id_missing");
        let missing = dir.path().join("keys/id_missing");
        message_naming(
            load_json_cluster(&path),
            &[
                &path.display().to_string(),
                "nodes[0] (host \"w1\")",
                "`ssh_config.identityfile`",
                &missing.display().to_string(),
                "does not exist",
            ],
        );
    }

    #[test]
    fn identity_file_is_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("keys")).unwrap();
        let path = file_with_key(dir.path(), "keys");
        message_naming(
            load_json_cluster(&path),
            &[
                &path.display().to_string(),
                "nodes[0] (host \"w1\")",
                "`ssh_config.identityfile`",
                "is a directory",
            ],
        );
    }

    #[cfg(unix)]
    #[test]
    fn identity_file_unreadable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id");
        fs::write(&key, "key").unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o000)).unwrap();
        if File::open(&key).is_ok() {
            // Running as root: permissions do not stop us, so there is nothing to test.
            return;
        }
        let path = file_with_key(dir.path(), "id");
        message_naming(
            load_json_cluster(&path),
            &[
                &path.display().to_string(),
                "nodes[0] (host \"w1\")",
                "`ssh_config.identityfile`",
                "cannot be read",
            ],
        );
    }

    /// A socket has metadata but cannot be opened, even by root: the "unreadable" path.
    #[cfg(unix)]
    #[test]
    fn identity_file_that_cannot_be_opened() {
        let dir = tempfile::tempdir().unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("id")).unwrap();
        let path = file_with_key(dir.path(), "id");
        message_naming(
            load_json_cluster(&path),
            &[
                &path.display().to_string(),
                "nodes[0] (host \"w1\")",
                "`ssh_config.identityfile`",
                "cannot be read",
            ],
        );
    }

    #[test]
    fn identity_file_present_loads() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("id"), "key").unwrap();
        let path = file_with_key(dir.path(), "id");
        let nodes = load_json_cluster(&path).unwrap();
        assert_eq!(nodes[0].identity_file, Some(dir.path().join("id")));
    }
}
