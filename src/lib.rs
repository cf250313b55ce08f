#![doc = include_str!("../README.md")]
// The README's walkthrough continues one `impl` across several blocks: those
// fragments are marked `ignore` and cannot parse on their own.
#![allow(rustdoc::invalid_rust_codeblocks)]
#![warn(missing_docs)]
// docs.rs marks what needs the `ssh` feature (Cargo.toml's docs.rs metadata).
#![cfg_attr(docsrs, feature(doc_cfg))]

// The localhost cluster drives processes through Linux interfaces (the
// parent-death signal, /proc for process trees and environments), and so
// do the faults (nftables, tc). Say so once instead of failing in libc.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "ducktape-rs runs tests on Linux only (its localhost cluster uses prctl and /proc, its \
     faults nftables and tc): build and run the tests on Linux, e.g. in a container or VM"
);

#[doc(hidden)]
pub mod cli;
mod clock;
pub mod cluster;
pub mod context;
mod deadline;
pub mod fault;
mod flock;
#[doc(hidden)]
pub mod logging;
#[doc(hidden)]
pub mod mark;
#[doc(hidden)]
pub mod registry;
pub mod remote;
pub mod report;
#[doc(hidden)]
pub mod runner;
pub mod service;
pub mod template;
mod text;
pub mod wait;

pub use context::{Test, TestContext};
pub use ducktape_macros::test;

// What tests need beyond ducktape, re-exported so the versions match and
// `ducktape = "0.1"` (plus `serde` for `#[derive(Serialize)]`, whose
// expansion names the `serde` crate) is every dependency a test crate needs.
/// Serialization (test results are `Serialize`); `derive` is enabled.
pub use serde;
/// JSON values: globals, injected arguments, template contexts (`json!`).
pub use serde_json;
/// Logging from tests and services: events inside a test go to its
/// `test_log.info`/`.debug` (`info!("leader is {node}")`).
pub use tracing;

/// The error type tests return: any error converts into it with `?`.
pub type Error = anyhow::Error;
/// `Result<T, ducktape::Error>`.
pub type Result<T = (), E = Error> = std::result::Result<T, E>;

/// What most test files need.
pub mod prelude {
    pub use crate::cluster::spec::{ClusterSpec, NodeSpec};
    pub use crate::cluster::Node;
    pub use crate::fault::{Netem, Pick};
    pub use crate::remote::{RemoteAccount, RemoteAccountExt};
    pub use crate::service::{LogSpec, Service, ServiceHandle, ServiceNodes, WaitFor};
    pub use crate::wait::{retry, retry_on_error, wait_until};
    pub use crate::{Test, TestContext};
    pub use anyhow::{anyhow, bail, ensure, Context as _};
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::json;
    pub use std::sync::Arc;
    pub use std::time::Duration;
    pub use tracing::{debug, info, warn};
}

/// Runs the tests linked into this `harness = false` target and returns the
/// process's exit code (0 all passed, 101 a test failed, 2 bad input).
pub fn main() -> std::process::ExitCode {
    runner::main()
}

/// Defines `fn main` for a `harness = false` test target.
#[macro_export]
macro_rules! main {
    () => {
        fn main() -> ::std::process::ExitCode {
            // The package and target name the binary as nextest does
            // (`<package>::<target>`), for JUnit names that agree with its.
            $crate::__private::main_of(env!("CARGO_PKG_NAME"), env!("CARGO_CRATE_NAME"))
        }
    };
}

/// Registers a function to call when an SSH account fails, selectable with
/// `--ssh-checker-function NAME` (the function's name). The function has
/// the signature `fn(&ducktape::remote::RemoteError, &dyn ducktape::remote::RemoteAccount)`.
///
/// ```ignore
/// fn log_node_state(err: &RemoteError, account: &dyn RemoteAccount) {
///     eprintln!("{}: {err}", account.name());
/// }
/// ducktape::ssh_checker!(log_node_state);
/// ```
#[macro_export]
macro_rules! ssh_checker {
    ($f:ident) => {
        const _: () = {
            #[$crate::__private::linkme::distributed_slice($crate::remote::SSH_CHECKERS)]
            #[linkme(crate = $crate::__private::linkme)]
            static CHECKER: $crate::remote::SshChecker = $crate::remote::SshChecker {
                name: ::core::stringify!($f),
                module_path: ::core::module_path!(),
                check: $f,
            };
        };
    };
}

/// Items the `#[ducktape::test]` expansion refers to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::cluster::spec::ClusterSpec;
    pub use crate::context::{run_fixture, Test, TestContext};
    pub use crate::mark::{Capability, ClusterMark, Mark};
    pub use crate::registry::{
        arg, Args, CaseTable, IntoTestOutcome, TestDescriptor, TestOutcome, TESTS,
    };
    pub use crate::runner::main_of;
    pub use linkme;
}
