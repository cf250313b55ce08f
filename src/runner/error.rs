//! The runner's one error type: what stops a run before any test runs (bad
//! input, exit status 2).
//!
//! The seams the runner calls keep their own error types; `RunError` wraps
//! them unchanged (`#[from]`, transparent), so a cause is never turned into
//! text on the way up. Each message names its context only and leaves the
//! cause to the chain, which [`crate::text::chain`] prints once.

use crate::cli::CliError;
use crate::cluster::ClusterError;
use crate::mark::MarkError;
use crate::remote::RemoteError;
use crate::report::ReportError;
use std::path::PathBuf;

use super::select::SelectError;
use super::suite::SuiteError;

/// Why a run could not start (or list, merge, rebuild): printed as one
/// `error:` line with its causes, and the process exits with status 2.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The command line, a variable or a config file is bad.
    #[error(transparent)]
    Cli(#[from] CliError),
    /// The cluster could not be built or checked.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A node could not be reached.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// A results file could not be read or written.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The selection flags are bad.
    #[error(transparent)]
    Select(#[from] SelectError),
    /// A suite file is bad.
    #[error(transparent)]
    Suite(#[from] SuiteError),
    /// A test's marks cannot be expanded.
    #[error(transparent)]
    Mark(#[from] MarkError),
    /// The error is about a flag that a variable or a config-file line set:
    /// `at` names that source (`DUCKTAPE_SUITE=x.yml`, `path/config:3`).
    #[error("{at}")]
    At {
        /// The variable with its value, or `file:line`.
        at: String,
        /// The error itself.
        #[source]
        source: Box<RunError>,
    },
    /// The error is about a flag's value, named first (`--baseline: …`).
    #[error("{flag}")]
    Flag {
        /// The flag, e.g. `--merge-results`.
        flag: &'static str,
        /// The error itself.
        #[source]
        source: Box<RunError>,
    },
    /// Both nextest's `--partition` and `--subsets` split the suite.
    #[error(
        "under cargo nextest run, split the suite with nextest's own `--partition hash:I/N` \
         (1-based); --subsets/--subset (0-based) are for cargo test, and the two splits \
         combined would select almost nothing"
    )]
    TwoSplitters,
    /// `--historical-report` names `latest`, which the run itself repoints.
    #[error(
        "--historical-report {}: under nextest, name the session directory \
         (results/<session>/report.json), not `latest`, which this run repoints",
        .path.display()
    )]
    HistoryLatest {
        /// The path given.
        path: PathBuf,
    },
    /// `--merge-results` without OUT or without any shard.
    #[error("--merge-results needs OUT and at least one shard")]
    MergeArguments,
    /// `--merge-results OUT` names no shard after OUT.
    #[error(
        "--merge-results {}: name at least one shard session directory after OUT",
        .out.display()
    )]
    MergeNoShards {
        /// The OUT directory given.
        out: PathBuf,
    },
    /// `--regression-threshold` is negative or not a number.
    #[error("--regression-threshold takes a percentage of 0 or more, not {0}")]
    RegressionThreshold(f64),
    /// The Ctrl-C / SIGTERM handlers could not be installed.
    #[error("signal handlers")]
    Signals(#[source] std::io::Error),
    /// The session's log files could not be created.
    #[error("session logs in {}", .dir.display())]
    Logs {
        /// The session directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A test without a cluster mark under `--fail-greedy-tests`.
    #[error(
        "{test} has no cluster mark and --fail-greedy-tests is set: declare its nodes with \
         cluster(num_nodes = N) (0 is allowed)"
    )]
    Greedy {
        /// The test's path.
        test: String,
    },
    /// A test's results directory could not be created.
    #[error("cannot create {}", .dir.display())]
    ResultsDir {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl RunError {
    /// `error`, blamed on `at` when a flag came from somewhere other than the
    /// command line (`None` leaves it as it is).
    pub(crate) fn at(at: Option<String>, error: impl Into<RunError>) -> Self {
        let error = error.into();
        match at {
            Some(at) => RunError::At {
                at,
                source: Box::new(error),
            },
            None => error,
        }
    }

    /// `error`, prefixed with the flag it is about.
    pub(crate) fn flag(flag: &'static str, error: impl Into<RunError>) -> Self {
        RunError::Flag {
            flag,
            source: Box::new(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::chain;
    use anyhow::Context as _;

    /// Each cause appears exactly once in `text`.
    fn once(text: &str, parts: &[&str]) {
        for part in parts {
            assert_eq!(text.matches(part).count(), 1, "{part:?} in {text:?}");
        }
    }

    fn remote_io() -> RemoteError {
        RemoteError::Io {
            node: "worker1".into(),
            op: "read /x".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "entity not found"),
        }
    }

    #[test]
    fn a_nested_chain_prints_each_cause_once() {
        let leases = ClusterError::Lease {
            dir: "/var/leases".into(),
            source: std::io::Error::other("permission denied"),
        };
        let run = RunError::at(
            Some("DUCKTAPE_CLUSTER=json".into()),
            RunError::flag("--cluster", RunError::from(remote_io())),
        );
        let text = chain(&run);
        assert_eq!(
            text,
            "DUCKTAPE_CLUSTER=json: --cluster: worker1: read /x: entity not found"
        );
        once(&text, &["worker1", "read /x", "entity not found"]);
        let text = chain(&RunError::from(leases));
        assert_eq!(text, "node leases in /var/leases: permission denied");

        // Through a test body: anyhow's `{:#}` walks the same chain.
        let body: anyhow::Result<()> = Err(remote_io()).context("starting zookeeper");
        let Err(e) = body else { panic!("an error") };
        let text = format!("{e:#}");
        assert_eq!(
            text,
            "starting zookeeper: worker1: read /x: entity not found"
        );
        once(&text, &["worker1", "read /x", "entity not found"]);
        assert_eq!(chain(e.as_ref()), text);
    }

    #[test]
    fn every_message_keeps_its_cause_out_of_its_own_text() {
        let io = || std::io::Error::other("CAUSE");
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(remote_io()),
            Box::new(RemoteError::Connect {
                node: "n".into(),
                addr: "h:22".into(),
                source: io(),
            }),
            Box::new(ReportError::Io {
                op: "open",
                path: "/r".into(),
                source: io(),
            }),
            Box::new(crate::template::TemplateError::Read {
                path: "/t".into(),
                source: io(),
            }),
            Box::new(ClusterError::Lease {
                dir: "/l".into(),
                source: io(),
            }),
            Box::new(RunError::Signals(io())),
            Box::new(MarkError::NotJson {
                test: "m::t".into(),
                text: "{",
                source: serde_json::from_str::<serde_json::Value>("{").unwrap_err(),
            }),
        ];
        for e in errors {
            assert!(e.source().is_some(), "{e}");
            let text = chain(e.as_ref());
            assert_eq!(
                text.matches(&e.source().unwrap().to_string()).count(),
                1,
                "{text}"
            );
        }
    }
}
