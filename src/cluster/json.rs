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

use super::spec::OperatingSystem;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// The SSH port used when a node does not name one.
pub const DEFAULT_SSH_PORT: u16 = 22;

/// One node of a file-defined cluster (JSON or Vagrant), as ducktape describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// `ssh_config.host`: the node's name in reports and logs.
    pub name: String,
    /// `ssh_config.hostname`: the address to connect to.
    pub hostname: String,
    /// `ssh_config.port`; [`DEFAULT_SSH_PORT`] when absent or `null`.
    pub port: u16,
    /// `ssh_config.user`; `None` lets ssh pick (the current user).
    pub user: Option<String>,
    /// `ssh_config.identityfile`, resolved: a relative path is taken relative to the cluster
    /// file's directory and a leading `~/` is expanded to `$HOME`. `None` uses ssh-agent.
    pub identity_file: Option<PathBuf>,
    /// `ssh_config.password`, kept for compatibility with ducktape files.
    pub password: Option<String>,
    /// The address other nodes use to reach this one. For Vagrant nodes ducktape asks each
    /// machine over ssh; this crate cannot here, so Vagrant nodes leave it `None`.
    pub externally_routable_ip: Option<String>,
    /// From `os` (alias `operating_system`). When neither is given, ducktape's own rule
    /// applies: a host name containing `windows` is a Windows node, anything else Linux.
    pub operating_system: OperatingSystem,
    /// Optional free-form `node_type` label, matched against [`super::spec::NodeSpec`].
    pub node_type: Option<String>,
}

impl NodeConfig {
    /// A node with the given name and address and every other field at its default.
    pub fn new(name: impl Into<String>, hostname: impl Into<String>) -> Self {
        let name = name.into();
        NodeConfig {
            operating_system: inferred_os(&name),
            name,
            hostname: hostname.into(),
            port: DEFAULT_SSH_PORT,
            user: None,
            identity_file: None,
            password: None,
            externally_routable_ip: None,
            node_type: None,
        }
    }
}

/// ducktape's rule for nodes that do not state their OS: `"windows" in ssh_config.host`.
pub(crate) fn inferred_os(host: &str) -> OperatingSystem {
    if host.contains("windows") {
        OperatingSystem::Windows
    } else {
        OperatingSystem::Linux
    }
}

/// Where a cluster description came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A JSON cluster file (given with `--cluster-file`, or a Vagrant cache).
    File(PathBuf),
    /// The output of `vagrant ssh-config`.
    VagrantSshConfig,
}

impl Origin {
    /// How this origin spells the identity-file field.
    fn identity_field(&self) -> &'static str {
        match self {
            Origin::File(_) => "ssh_config.identityfile",
            Origin::VagrantSshConfig => "IdentityFile",
        }
    }

    /// How this origin spells the node-name field.
    fn host_field(&self) -> &'static str {
        match self {
            Origin::File(_) => "ssh_config.host",
            Origin::VagrantSshConfig => "Host",
        }
    }

    /// How this origin spells the address fields.
    fn address_fields(&self) -> &'static str {
        match self {
            Origin::File(_) => "`ssh_config.hostname` and `ssh_config.port`",
            Origin::VagrantSshConfig => "`HostName` and `Port`",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "cluster file {}", path.display()),
            Origin::VagrantSshConfig => f.write_str("`vagrant ssh-config` output"),
        }
    }
}

/// A node in an error message: its position and, once known, its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRef {
    /// Zero-based position in `nodes` (or among the `Host` blocks).
    pub index: usize,
    /// `ssh_config.host` (or `Host`), when it was readable.
    pub host: Option<String>,
}

impl NodeRef {
    fn named(index: usize, host: &str) -> Self {
        NodeRef {
            index,
            host: Some(host.to_string()),
        }
    }
}

impl fmt::Display for NodeRef {
    /// `nodes[1] (host "worker2")`, or `nodes[1]` before the name is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nodes[{}]", self.index)?;
        match &self.host {
            Some(host) => write!(f, " (host {host:?})"),
            None => Ok(()),
        }
    }
}

/// What is wrong with one field of one node.
#[derive(Debug)]
pub enum FieldProblem {
    /// Required and absent (or `null`).
    Missing,
    /// Present but empty or only whitespace.
    Blank,
    /// A JSON value of the wrong kind.
    WrongType {
        /// What the field must be, e.g. `a string`.
        expected: &'static str,
        /// What it is, e.g. `a number`.
        found: &'static str,
    },
    /// A port that is not a whole number.
    PortNotANumber(String),
    /// A port outside 1–65535.
    PortOutOfRange(String),
    /// An `os` other than `linux` or `windows`.
    UnknownOs(String),
    /// `os` and `operating_system` both given, with different values.
    Conflicts {
        /// The other field.
        other: &'static str,
    },
    /// The identity file does not exist.
    FileMissing(PathBuf),
    /// The identity file exists but cannot be opened.
    FileUnreadable(PathBuf, io::Error),
    /// The identity file is a directory.
    FileIsDirectory(PathBuf),
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldProblem::Missing => f.write_str("is missing; add it"),
            FieldProblem::Blank => f.write_str("is blank; give it a non-empty value"),
            FieldProblem::WrongType { expected, found } => {
                write!(f, "must be {expected}, not {found}; fix its value")
            }
            FieldProblem::PortNotANumber(v) => write!(
                f,
                "is {v:?}, not a whole number; use the node's SSH port, such as 22"
            ),
            FieldProblem::PortOutOfRange(v) => write!(
                f,
                "is {v}, outside 1-65535; use the node's SSH port, such as 22"
            ),
            FieldProblem::UnknownOs(v) => {
                write!(f, "is {v:?}; use \"linux\" or \"windows\"")
            }
            FieldProblem::Conflicts { other } => {
                write!(f, "disagrees with `{other}`; keep only one of them")
            }
            FieldProblem::FileMissing(p) => write!(
                f,
                "{} does not exist; fix the path (a relative path is relative to the \
                 cluster file's directory) or remove the field to use ssh-agent",
                p.display()
            ),
            FieldProblem::FileUnreadable(p, e) => write!(
                f,
                "{} cannot be read ({e}); make it readable by this user",
                p.display()
            ),
            FieldProblem::FileIsDirectory(p) => write!(
                f,
                "{} is a directory; point it at the private key file itself",
                p.display()
            ),
        }
    }
}

/// Why a cluster file (or `vagrant ssh-config` output) could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterFileError {
    /// The file could not be read.
    #[error("cannot read {origin}: {error}; check the path given to --cluster-file")]
    Read {
        /// The file.
        origin: Origin,
        /// What the OS said.
        error: io::Error,
    },
    /// The file is not JSON.
    #[error(
        "{origin} is not valid JSON: {message} at line {line}, column {column}; fix the syntax \
         (a cluster file looks like {{\"nodes\": [{{\"ssh_config\": {{\"host\": \"worker1\", \
         \"hostname\": \"10.0.0.1\"}}}}]}})"
    )]
    NotJson {
        /// The file.
        origin: Origin,
        /// One-based line of the syntax error.
        line: usize,
        /// One-based column of the syntax error.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// No `nodes` array at the top level.
    #[error(
        "{origin}: `nodes` {found}; a cluster file is a JSON object like {{\"nodes\": \
         [{{\"ssh_config\": {{\"host\": \"worker1\", \"hostname\": \"10.0.0.1\"}}}}]}}"
    )]
    Nodes {
        /// The file.
        origin: Origin,
        /// What was found instead, e.g. `is missing`.
        found: String,
    },
    /// `nodes` is an empty array.
    #[error("{origin}: `nodes` is empty; list at least one node, or use --cluster localhost")]
    Empty {
        /// The file.
        origin: Origin,
    },
    /// An entry of `nodes` is not a JSON object.
    #[error(
        "{origin}, nodes[{index}]: the node must be an object with `ssh_config`, not {found}; \
         write {{\"ssh_config\": {{\"host\": \"worker1\", \"hostname\": \"10.0.0.1\"}}}}"
    )]
    NodeNotObject {
        /// The file.
        origin: Origin,
        /// Position in `nodes`.
        index: usize,
        /// The kind of JSON value found.
        found: &'static str,
    },
    /// One field of one node is wrong.
    #[error("{origin}, {node}: `{field}` {problem}")]
    Field {
        /// The file.
        origin: Origin,
        /// The node.
        node: NodeRef,
        /// The field's path, e.g. `ssh_config.port`.
        field: &'static str,
        /// What is wrong.
        problem: FieldProblem,
    },
    /// Two nodes share a name.
    #[error(
        "{origin}: nodes[{first}] and nodes[{second}] have the same `{}` {host:?}; \
         node names identify nodes in reports, so rename one of them",
        .origin.host_field()
    )]
    DuplicateHost {
        /// The file.
        origin: Origin,
        /// The shared name.
        host: String,
        /// Position of the first node with it.
        first: usize,
        /// Position of the second node with it.
        second: usize,
    },
    /// Two nodes share an address and port, so they are one machine.
    #[error(
        "{origin}: {first} and {second} have the same {} ({address}), so they are \
         one machine; change the hostname or port of one of them, or remove it",
        .origin.address_fields()
    )]
    DuplicateAddress {
        /// The file.
        origin: Origin,
        /// `hostname:port`.
        address: String,
        /// The first node with it.
        first: NodeRef,
        /// The second node with it.
        second: NodeRef,
    },
    /// The file could not be written.
    #[error("cannot write {origin}: {error}; check that its directory exists and is writable")]
    Write {
        /// The file.
        origin: Origin,
        /// What the OS said.
        error: io::Error,
    },
    /// `vagrant` could not be found.
    #[error(
        "vagrant cluster: `vagrant` is not installed or not on PATH; use --cluster localhost \
         (the default) or --cluster-file with a JSON cluster"
    )]
    VagrantNotInstalled,
    /// `vagrant ssh-config` could not be started for another reason.
    #[error("vagrant cluster: cannot run `vagrant ssh-config`: {error}")]
    VagrantRun {
        /// What the OS said.
        error: io::Error,
    },
    /// `vagrant ssh-config` exited with an error.
    #[error(
        "vagrant cluster: `vagrant ssh-config` failed ({status}){}; run `vagrant up` in the \
         directory with the Vagrantfile (`vagrant status` shows which machines are down)",
        colon_detail(.stderr)
    )]
    VagrantFailed {
        /// The exit status.
        status: String,
        /// What vagrant printed on stderr.
        stderr: String,
    },
    /// `vagrant ssh-config` printed no machines.
    #[error(
        "vagrant cluster: `vagrant ssh-config` printed no `Host` entries; start the machines \
         with `vagrant up`"
    )]
    VagrantNoMachines,
    /// A line of `vagrant ssh-config` output could not be understood.
    #[error("`vagrant ssh-config` output, line {line} ({text:?}): {problem}")]
    SshConfig {
        /// One-based line number.
        line: usize,
        /// The line itself.
        text: String,
        /// What is wrong, and what to do.
        problem: String,
    },
}

/// `: detail` when there is any, so an empty stderr does not leave a dangling colon.
fn colon_detail(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

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
    write_atomically(path, text.as_bytes()).map_err(write_error)
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

/// Expands a leading `~` or `~/` to `$HOME`, as ssh does; other paths are returned as given.
pub(crate) fn expand_home(raw: &str) -> PathBuf {
    let rest = match raw.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.trim_start_matches('/'),
        _ => return PathBuf::from(raw),
    };
    match std::env::var_os("HOME") {
        Some(home) if rest.is_empty() => PathBuf::from(home),
        Some(home) => PathBuf::from(home).join(rest),
        None => PathBuf::from(raw),
    }
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

/// Writes a sibling temporary file and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let mut temp_name = OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".tmp{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let result = fs::write(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        // Best effort: the write error is what the user needs to see.
        let _ = fs::remove_file(&temp);
    }
    result
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

    fn parse(text: &str) -> Result<Vec<NodeConfig>, ClusterFileError> {
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

    fn node(host: &str, ssh: &str) -> String {
        format!(r#"{{"ssh_config": {{"host": "{host}", {ssh}}}}}"#)
    }

    fn cluster(nodes: &[String]) -> String {
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
