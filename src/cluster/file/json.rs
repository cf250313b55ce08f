//! ducktape's JSON cluster file.
//!
//! The format is `{"nodes": [{"ssh_config": {"host": …, "hostname": …, "port": …, "user": …,
//! "identityfile": …, "password": …}, "externally_routable_ip": …}, …]}`, exactly as ducktape
//! 0.17 reads it and as its Vagrant cluster caches it. [`write_json_cluster`] writes what
//! [`parse_json_cluster`] reads, so a cache or a script-made file round-trips.
//!
//! Reading is lenient where ducktape is (extra keys, ports as numeric strings, `null`s) and
//! strict where ducktape would fail much later, far from the file (no names, duplicate nodes,
//! a missing key file): every error names the file, the node and the field, and says what to do.

use super::checks::{check_unique, parse_port, validate_identity_files};
use super::error::{ClusterFileError, FieldProblem, NodeRef, Origin};
use super::{expand_home, inferred_os, NodeConfig, DEFAULT_SSH_PORT};
use crate::cluster::spec::OperatingSystem;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Reads, parses and checks a JSON cluster file, including that identity files are readable.
pub fn load_json_cluster(path: &Path) -> Result<Vec<NodeConfig>, ClusterFileError> {
    let origin = Origin::File(path.to_path_buf());
    let text = fs::read_to_string(path).map_err(|error| ClusterFileError::Read {
        origin: origin.clone(),
        error,
    })?;
    let nodes = parse_json_cluster(&text, path)?;
    validate_identity_files(&nodes, &origin)?;
    Ok(nodes)
}

/// Parses the text of a JSON cluster file read from `origin`, without touching the disk:
/// relative identity files are resolved against `origin`'s directory but not checked (see
/// [`validate_identity_files`]), so a file made on another machine can still be inspected.
pub fn parse_json_cluster(text: &str, origin: &Path) -> Result<Vec<NodeConfig>, ClusterFileError> {
    let source = Origin::File(origin.to_path_buf());
    let root: Value = serde_json::from_str(text).map_err(|e| not_json(&source, &e))?;
    let base = origin.parent().unwrap_or(Path::new(""));
    let nodes = node_entries(&root, &source)?
        .iter()
        .enumerate()
        .map(|(index, entry)| parse_node(entry, index, &source, base))
        .collect::<Result<Vec<_>, _>>()?;
    check_unique(&nodes, &source)?;
    Ok(nodes)
}

/// Writes `nodes` in ducktape's format (sorted keys, two-space indent, as ducktape's Vagrant
/// cache), replacing the file atomically so a concurrent reader never sees half a file.
pub fn write_json_cluster(path: &Path, nodes: &[NodeConfig]) -> Result<(), ClusterFileError> {
    let write_error = |error| ClusterFileError::Write {
        origin: Origin::File(path.to_path_buf()),
        error,
    };
    let doc = ClusterDoc {
        nodes: nodes
            .iter()
            .map(NodeDoc::from_config)
            .collect::<io::Result<_>>()
            .map_err(write_error)?,
    };
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| write_error(e.into()))?;
    text.push('\n');
    crate::report::fsutil::write_atomic_with(path, text.as_bytes(), |_, _, error| {
        write_error(error)
    })
}

/// serde_json puts the position at the end of its message; keep it in its own fields.
fn not_json(origin: &Origin, error: &serde_json::Error) -> ClusterFileError {
    let full = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    ClusterFileError::NotJson {
        origin: origin.clone(),
        line: error.line(),
        column: error.column(),
        message: full.strip_suffix(&position).unwrap_or(&full).to_string(),
    }
}

/// The `nodes` array, non-empty.
fn node_entries<'v>(root: &'v Value, origin: &Origin) -> Result<&'v [Value], ClusterFileError> {
    let found = match root {
        Value::Object(map) => match map.get("nodes") {
            Some(Value::Array(items)) if items.is_empty() => {
                return Err(ClusterFileError::Empty {
                    origin: origin.clone(),
                })
            }
            Some(Value::Array(items)) => return Ok(items),
            None => "is missing".to_string(),
            Some(other) => format!("is {}, not an array", kind(other)),
        },
        other => format!("is missing: the file holds {}, not an object", kind(other)),
    };
    Err(ClusterFileError::Nodes {
        origin: origin.clone(),
        found,
    })
}

/// Builds field errors for one node; the name is filled in once it has been read.
struct NodeCtx<'a> {
    origin: &'a Origin,
    node: NodeRef,
}

impl NodeCtx<'_> {
    fn error(&self, field: &'static str, problem: FieldProblem) -> ClusterFileError {
        ClusterFileError::Field {
            origin: self.origin.clone(),
            node: self.node.clone(),
            field,
            problem,
        }
    }
}

/// One entry of `nodes`.
fn parse_node(
    entry: &Value,
    index: usize,
    origin: &Origin,
    base: &Path,
) -> Result<NodeConfig, ClusterFileError> {
    let node = entry
        .as_object()
        .ok_or_else(|| ClusterFileError::NodeNotObject {
            origin: origin.clone(),
            index,
            found: kind(entry),
        })?;
    let mut ctx = NodeCtx {
        origin,
        node: NodeRef { index, host: None },
    };
    let ssh = ssh_config(node, &ctx)?;
    let name = required_str(ssh, "host", "ssh_config.host", &ctx)?;
    ctx.node.host = Some(name.clone());
    Ok(NodeConfig {
        hostname: required_str(ssh, "hostname", "ssh_config.hostname", &ctx)?,
        port: json_port(ssh.get("port"), &ctx)?,
        user: optional_str(ssh, "user", "ssh_config.user", &ctx)?.and_then(non_blank),
        identity_file: optional_str(ssh, "identityfile", "ssh_config.identityfile", &ctx)?
            .and_then(non_blank)
            .map(|raw| resolve_path(&raw, base)),
        password: optional_str(ssh, "password", "ssh_config.password", &ctx)?,
        externally_routable_ip: optional_str(
            node,
            "externally_routable_ip",
            "externally_routable_ip",
            &ctx,
        )?
        .and_then(non_blank),
        operating_system: operating_system(node, &name, &ctx)?,
        node_type: optional_str(node, "node_type", "node_type", &ctx)?.and_then(non_blank),
        name,
    })
}

/// The node's `ssh_config` object.
fn ssh_config<'v>(
    node: &'v Map<String, Value>,
    ctx: &NodeCtx<'_>,
) -> Result<&'v Map<String, Value>, ClusterFileError> {
    match node.get("ssh_config") {
        None | Some(Value::Null) => Err(ctx.error("ssh_config", FieldProblem::Missing)),
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(ctx.error("ssh_config", wrong_type("an object", other))),
    }
}

/// A string that must be present and non-blank; returned trimmed.
fn required_str(
    map: &Map<String, Value>,
    key: &str,
    field: &'static str,
    ctx: &NodeCtx<'_>,
) -> Result<String, ClusterFileError> {
    let value = optional_str(map, key, field, ctx)?
        .ok_or_else(|| ctx.error(field, FieldProblem::Missing))?;
    non_blank(value).ok_or_else(|| ctx.error(field, FieldProblem::Blank))
}

/// A string that may be absent or `null` (ducktape writes `null` for unset fields).
fn optional_str(
    map: &Map<String, Value>,
    key: &str,
    field: &'static str,
    ctx: &NodeCtx<'_>,
) -> Result<Option<String>, ClusterFileError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ctx.error(field, wrong_type("a string", other))),
    }
}

/// `ssh_config.port`: a number or a numeric string (ducktape calls `int()` on it).
fn json_port(value: Option<&Value>, ctx: &NodeCtx<'_>) -> Result<u16, ClusterFileError> {
    let parsed = match value {
        None | Some(Value::Null) => Ok(DEFAULT_SSH_PORT),
        Some(Value::Number(n)) => parse_port(&n.to_string()),
        Some(Value::String(s)) => parse_port(s),
        Some(other) => Err(wrong_type("a number", other)),
    };
    parsed.map_err(|problem| ctx.error("ssh_config.port", problem))
}

/// `os`, or its alias `operating_system`, or ducktape's inference from the host name.
fn operating_system(
    node: &Map<String, Value>,
    host: &str,
    ctx: &NodeCtx<'_>,
) -> Result<OperatingSystem, ClusterFileError> {
    match (
        os_field(node, "os", ctx)?,
        os_field(node, "operating_system", ctx)?,
    ) {
        (Some(os), Some(alias)) if os != alias => Err(ctx.error(
            "os",
            FieldProblem::Conflicts {
                other: "operating_system",
            },
        )),
        (Some(os), _) | (None, Some(os)) => Ok(os),
        (None, None) => Ok(inferred_os(host)),
    }
}

/// One of the OS keys, when present.
fn os_field(
    node: &Map<String, Value>,
    key: &'static str,
    ctx: &NodeCtx<'_>,
) -> Result<Option<OperatingSystem>, ClusterFileError> {
    optional_str(node, key, key, ctx)?
        .map(|raw| {
            OperatingSystem::parse(raw.trim())
                .ok_or_else(|| ctx.error(key, FieldProblem::UnknownOs(raw)))
        })
        .transpose()
}

/// Trimmed, or `None` when blank: a blank user or key path means "not set", not "empty".
fn non_blank(value: String) -> Option<String> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// Relative paths are relative to the cluster file, not to wherever tests happen to run.
fn resolve_path(raw: &str, base: &Path) -> PathBuf {
    let path = expand_home(raw);
    if path.is_relative() {
        base.join(path)
    } else {
        path
    }
}

fn wrong_type(expected: &'static str, found: &Value) -> FieldProblem {
    FieldProblem::WrongType {
        expected,
        found: kind(found),
    }
}

/// A JSON value's kind, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The file as ducktape writes it; fields in alphabetical order because ducktape sorts keys.
#[derive(Serialize)]
struct ClusterDoc<'a> {
    nodes: Vec<NodeDoc<'a>>,
}

#[derive(Serialize)]
struct NodeDoc<'a> {
    externally_routable_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_type: Option<&'a str>,
    /// Only written when the host name would not imply it, so plain files stay ducktape's.
    #[serde(skip_serializing_if = "Option::is_none")]
    os: Option<&'static str>,
    ssh_config: SshDoc<'a>,
}

#[derive(Serialize)]
struct SshDoc<'a> {
    host: &'a str,
    hostname: &'a str,
    identityfile: Option<&'a str>,
    password: Option<&'a str>,
    port: u16,
    user: Option<&'a str>,
}

impl<'a> NodeDoc<'a> {
    /// Fails only for a key path that is not UTF-8, which JSON cannot hold faithfully.
    fn from_config(node: &'a NodeConfig) -> io::Result<Self> {
        let identityfile = node
            .identity_file
            .as_deref()
            .map(|path| {
                path.to_str().ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "identity file {} of node {:?} is not valid UTF-8",
                            path.display(),
                            node.name
                        ),
                    )
                })
            })
            .transpose()?;
        Ok(NodeDoc {
            externally_routable_ip: node.externally_routable_ip.as_deref(),
            node_type: node.node_type.as_deref(),
            os: (node.operating_system != inferred_os(&node.name))
                .then(|| node.operating_system.as_str()),
            ssh_config: SshDoc {
                host: &node.name,
                hostname: &node.hostname,
                identityfile,
                password: node.password.as_deref(),
                port: node.port,
                user: node.user.as_deref(),
            },
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const DUCKTAPE_FIXTURE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cluster/ducktape-0.17.json"
    ));

    fn origin() -> &'static Path {
        Path::new("/etc/ducktape/cluster.json")
    }

    pub(crate) fn parse(text: &str) -> Result<Vec<NodeConfig>, ClusterFileError> {
        parse_json_cluster(text, origin())
    }

    /// The error's message, after checking it mentions every part (shared
    /// with the Vagrant tests).
    #[track_caller]
    pub(crate) fn message_naming(
        result: Result<Vec<NodeConfig>, ClusterFileError>,
        parts: &[&str],
    ) -> String {
        let message = match result {
            Ok(nodes) => panic!("expected an error, parsed {nodes:?}"),
            Err(e) => e.to_string(),
        };
        for part in parts {
            assert!(
                message.contains(part),
                "{message:?} does not mention {part:?}"
            );
        }
        message
    }

    pub(crate) fn node(host: &str, ssh: &str) -> String {
        format!(r#"{{"ssh_config": {{"host": "{host}", {ssh}}}}}"#)
    }

    pub(crate) fn cluster(nodes: &[String]) -> String {
        format!(r#"{{"nodes": [{}]}}"#, nodes.join(", "))
    }

    #[test]
    fn ducktape_fixture_parses_to_three_nodes() {
        let nodes = parse(DUCKTAPE_FIXTURE).unwrap();
        assert_eq!(nodes.len(), 3);
        for (i, node) in nodes.iter().enumerate() {
            let n = i + 1;
            assert_eq!(node.name, format!("worker{n}"));
            assert_eq!(node.hostname, format!("10.251.0.1{n}"));
            assert_eq!(node.port, 22);
            assert_eq!(node.user.as_deref(), Some("root"));
            assert_eq!(
                node.identity_file.as_deref(),
                Some(Path::new("/path/to/id_ed25519"))
            );
            assert_eq!(node.password, None);
            assert_eq!(
                node.externally_routable_ip.as_deref(),
                Some(format!("10.251.0.1{n}").as_str())
            );
            assert_eq!(node.operating_system, OperatingSystem::Linux);
            assert_eq!(node.node_type, None);
        }
    }

    #[test]
    fn ducktape_fixture_fails_load_only_for_its_placeholder_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.json");
        fs::write(&path, DUCKTAPE_FIXTURE).unwrap();
        message_naming(
            load_json_cluster(&path),
            &[
                "cluster.json",
                "nodes[0]",
                "\"worker1\"",
                "ssh_config.identityfile",
                "/path/to/id_ed25519",
                "does not exist",
            ],
        );
    }

    #[test]
    fn documented_vagrant_example_parses() {
        let text = r#"{ "nodes": [
            { "externally_routable_ip": "192.168.50.151", "ssh_config": { "host": "worker1",
              "hostname": "127.0.0.1", "identityfile": "/path/to/private_key", "password": null,
              "port": 2222, "user": "vagrant" } },
            { "externally_routable_ip": "192.168.50.151", "ssh_config": { "host": "worker2",
              "hostname": "127.0.0.1", "identityfile": "/path/to/private_key", "password": null,
              "port": 2223, "user": "vagrant" } } ] }"#;
        let nodes = parse(text).unwrap();
        assert_eq!(
            nodes.iter().map(|n| n.port).collect::<Vec<_>>(),
            [2222, 2223]
        );
    }

    #[test]
    fn lenient_where_ducktape_is() {
        // A ducktape Vagrant cache carries every paramiko key; ports may be strings.
        let text = r#"{"generated_by": "ducktape", "nodes": [{"ssh_config": {
            "host": "w1", "hostname": "10.0.0.1", "port": "2200", "user": null,
            "identityfile": null, "password": null, "stricthostkeychecking": "no",
            "identitiesonly": "yes"}, "externally_routable_ip": null, "rack": "r1"},
            {"ssh_config": {"host": "w2", "hostname": "10.0.0.2"}}]}"#;
        let nodes = parse(text).unwrap();
        assert_eq!(nodes[0].port, 2200);
        assert_eq!(nodes[0].user, None);
        assert_eq!(nodes[0].identity_file, None);
        assert_eq!(nodes[0].externally_routable_ip, None);
        assert_eq!(nodes[1], NodeConfig::new("w2", "10.0.0.2"));
    }

    #[test]
    fn os_node_type_and_ducktape_windows_rule() {
        let text = cluster(&[
            r#"{"os": "Windows", "node_type": "large", "ssh_config": {"host": "a", "hostname": "h1"}}"#.into(),
            r#"{"operating_system": "linux", "ssh_config": {"host": "b", "hostname": "h2"}}"#.into(),
            node("windows-1", r#""hostname": "h3""#),
            r#"{"os": "linux", "ssh_config": {"host": "windows-2", "hostname": "h4"}}"#.into(),
        ]);
        let nodes = parse(&text).unwrap();
        let os: Vec<_> = nodes.iter().map(|n| n.operating_system).collect();
        use OperatingSystem::{Linux, Windows};
        assert_eq!(os, [Windows, Linux, Windows, Linux]);
        assert_eq!(nodes[0].node_type.as_deref(), Some("large"));
        assert_eq!(nodes[1].node_type, None);
    }

    #[test]
    fn identity_paths_resolve_against_the_cluster_file() {
        let text = cluster(&[
            node("a", r#""hostname": "h1", "identityfile": "keys/id""#),
            node("b", r#""hostname": "h2", "identityfile": "~/.ssh/id""#),
            node("c", r#""hostname": "h3", "identityfile": "/abs/id""#),
            node("d", r#""hostname": "h4", "identityfile": "  ""#),
        ]);
        let nodes = parse(&text).unwrap();
        let paths: Vec<_> = nodes.iter().map(|n| n.identity_file.clone()).collect();
        assert_eq!(
            paths[0].as_deref(),
            Some(Path::new("/etc/ducktape/keys/id"))
        );
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(paths[1], Some(PathBuf::from(home).join(".ssh/id")));
        }
        assert_eq!(paths[2].as_deref(), Some(Path::new("/abs/id")));
        assert_eq!(paths[3], None);
    }

    #[test]
    fn unreadable_file_is_reported_with_its_path() {
        let message = message_naming(
            load_json_cluster(Path::new("/nonexistent/dir/cluster.json")),
            &[
                "/nonexistent/dir/cluster.json",
                "cannot read",
                "--cluster-file",
            ],
        );
        assert!(message.contains("No such file"), "{message}");
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let message = message_naming(
            parse("{\"nodes\": [\n  {\"ssh_config\": }\n]}"),
            &[
                "/etc/ducktape/cluster.json",
                "not valid JSON",
                "line 2, column",
            ],
        );
        assert!(!message.contains("at line 2 column"), "{message}");
    }

    #[test]
    fn nodes_missing_or_not_an_array() {
        message_naming(parse("{}"), &["cluster.json", "`nodes` is missing"]);
        message_naming(
            parse(r#"{"nodes": {"a": 1}}"#),
            &["cluster.json", "`nodes` is an object, not an array"],
        );
        message_naming(
            parse("[]"),
            &["cluster.json", "`nodes` is missing", "holds an array"],
        );
    }

    #[test]
    fn empty_cluster() {
        message_naming(
            parse(r#"{"nodes": []}"#),
            &["cluster.json", "`nodes` is empty", "at least one node"],
        );
    }

    #[test]
    fn node_that_is_not_an_object() {
        message_naming(
            parse(r#"{"nodes": ["worker1"]}"#),
            &["cluster.json", "nodes[0]", "not a string"],
        );
    }

    #[test]
    fn node_without_ssh_config() {
        let text = cluster(&[
            node("a", r#""hostname": "h1""#),
            r#"{"externally_routable_ip": "10.0.0.2"}"#.into(),
        ]);
        message_naming(
            parse(&text),
            &["cluster.json", "nodes[1]", "`ssh_config` is missing"],
        );
        message_naming(
            parse(r#"{"nodes": [{"ssh_config": "worker1"}]}"#),
            &["nodes[0]", "`ssh_config` must be an object, not a string"],
        );
    }

    #[test]
    fn missing_or_blank_host_and_hostname() {
        message_naming(
            parse(r#"{"nodes": [{"ssh_config": {"hostname": "h1"}}]}"#),
            &["cluster.json", "nodes[0]", "`ssh_config.host` is missing"],
        );
        message_naming(
            parse(r#"{"nodes": [{"ssh_config": {"host": " ", "hostname": "h1"}}]}"#),
            &["cluster.json", "nodes[0]", "`ssh_config.host` is blank"],
        );
        message_naming(
            parse(&cluster(&[node("w1", r#""port": 22"#)])),
            &["nodes[0] (host \"w1\")", "`ssh_config.hostname` is missing"],
        );
        message_naming(
            parse(&cluster(&[node("w1", r#""hostname": """#)])),
            &["nodes[0] (host \"w1\")", "`ssh_config.hostname` is blank"],
        );
        message_naming(
            parse(&cluster(&[node("w1", r#""hostname": 10"#)])),
            &["`ssh_config.hostname` must be a string, not a number"],
        );
    }

    #[test]
    fn bad_ports() {
        let cases = [
            (r#""port": 0"#, "is 0, outside 1-65535"),
            (r#""port": 70000"#, "is 70000, outside 1-65535"),
            (r#""port": -1"#, "is -1, outside 1-65535"),
            (r#""port": "99999""#, "is 99999, outside 1-65535"),
            (r#""port": "ssh""#, "is \"ssh\", not a whole number"),
            (r#""port": 22.5"#, "is \"22.5\", not a whole number"),
            (r#""port": true"#, "must be a number, not a boolean"),
        ];
        for (port, problem) in cases {
            let text = cluster(&[node("w1", &format!(r#""hostname": "h1", {port}"#))]);
            message_naming(
                parse(&text),
                &[
                    "cluster.json",
                    "nodes[0] (host \"w1\")",
                    "`ssh_config.port`",
                    problem,
                ],
            );
        }
    }

    #[test]
    fn unknown_or_conflicting_os() {
        let text =
            cluster(&[r#"{"os": "macos", "ssh_config": {"host": "m", "hostname": "h"}}"#.into()]);
        message_naming(
            parse(&text),
            &[
                "cluster.json",
                "nodes[0] (host \"m\")",
                "`os` is \"macos\"",
                "\"linux\" or \"windows\"",
            ],
        );
        let text = cluster(&[
            r#"{"os": "linux", "operating_system": "windows", "ssh_config": {"host": "m", "hostname": "h"}}"#.into(),
        ]);
        message_naming(
            parse(&text),
            &[
                "nodes[0] (host \"m\")",
                "`os` disagrees with `operating_system`",
            ],
        );
        let text = cluster(&[
            r#"{"operating_system": 1, "ssh_config": {"host": "m", "hostname": "h"}}"#.into(),
        ]);
        message_naming(parse(&text), &["`operating_system` must be a string"]);
    }

    #[test]
    fn write_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id_ed25519");
        fs::write(&key, "key").unwrap();
        let mut a = NodeConfig::new("worker1", "10.0.0.1");
        a.user = Some("root".into());
        a.identity_file = Some(key);
        a.externally_routable_ip = Some("192.168.0.1".into());
        let mut b = NodeConfig::new("win", "10.0.0.2");
        b.port = 5986;
        b.password = Some("secret".into());
        b.operating_system = OperatingSystem::Windows;
        b.node_type = Some("large".into());
        let mut c = NodeConfig::new("windows-but-linux", "10.0.0.3");
        c.operating_system = OperatingSystem::Linux;
        let nodes = vec![a, b, c, NodeConfig::new("windows-1", "10.0.0.4")];

        let path = dir.path().join("cluster.json");
        write_json_cluster(&path, &nodes).unwrap();
        assert_eq!(load_json_cluster(&path).unwrap(), nodes);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 2, "temporary file left behind");
    }

    #[test]
    fn written_file_is_ducktapes_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.json");
        let mut node = NodeConfig::new("worker1", "127.0.0.1");
        node.port = 2222;
        node.user = Some("vagrant".into());
        write_json_cluster(&path, &[node]).unwrap();
        let expected = r#"{
  "nodes": [
    {
      "externally_routable_ip": null,
      "ssh_config": {
        "host": "worker1",
        "hostname": "127.0.0.1",
        "identityfile": null,
        "password": null,
        "port": 2222,
        "user": "vagrant"
      }
    }
  ]
}
"#;
        assert_eq!(fs::read_to_string(&path).unwrap(), expected);
    }

    #[test]
    fn write_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir/cluster.json");
        let error = write_json_cluster(&path, &[NodeConfig::new("a", "b")]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("cannot write"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
    }
}
