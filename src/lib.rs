//! ducktape-rs: system integration and performance tests for distributed
//! systems, written as plain Rust functions and run by `cargo test`.
//!
//! ```ignore
//! use ducktape::prelude::*;
//!
//! #[ducktape::test(cluster(num_nodes = 3), matrix(bounce = [true, false]))]
//! fn zk_bounce(ctx: &TestContext, bounce: bool) -> ducktape::Result<()> {
//!     Ok(())
//! }
//!
//! ducktape::main!();
//! ```
#![warn(missing_docs)]

pub mod cli;
pub mod cluster;
pub mod context;
pub mod fault;
pub mod logging;
pub mod mark;
pub mod registry;
pub mod remote;
pub mod report;
pub mod runner;
pub mod service;
pub mod template;
mod text;
pub mod wait;

pub use context::{Test, TestContext};
pub use ducktape_macros::test;
pub use registry::TestDescriptor;

/// The error type tests return: any error converts into it with `?`.
pub type Error = anyhow::Error;
/// `Result<T, ducktape::Error>`.
pub type Result<T = (), E = Error> = std::result::Result<T, E>;

/// What most test files need.
pub mod prelude {
    pub use crate::cluster::spec::{ClusterSpec, NodeSpec};
    pub use crate::cluster::Node;
    pub use crate::fault::{Netem, Pick};
    pub use crate::remote::RemoteAccount;
    pub use crate::service::{LogSpec, Service, ServiceHandle, ServiceNodes};
    pub use crate::{Test, TestContext};
    pub use anyhow::{anyhow, bail, ensure, Context as _};
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
            $crate::main()
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
    pub use crate::mark::{ClusterMark, Mark};
    pub use crate::registry::{arg, Args, IntoTestOutcome, TestDescriptor, TestOutcome, TESTS};
    pub use linkme;
}
