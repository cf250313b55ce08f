//! Why a cluster file (or `vagrant ssh-config` output) could not be used: one error type
//! for both sources, naming where the problem is and what to do about it.

use std::fmt;
use std::io;
use std::path::PathBuf;

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
    pub(crate) fn identity_field(&self) -> &'static str {
        match self {
            Origin::File(_) => "ssh_config.identityfile",
            Origin::VagrantSshConfig => "IdentityFile",
        }
    }

    /// How this origin spells the node-name field.
    pub(crate) fn host_field(&self) -> &'static str {
        match self {
            Origin::File(_) => "ssh_config.host",
            Origin::VagrantSshConfig => "Host",
        }
    }

    /// How this origin spells the address fields.
    pub(crate) fn address_fields(&self) -> &'static str {
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
    pub(crate) fn named(index: usize, host: &str) -> Self {
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
