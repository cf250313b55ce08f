//! What a running test sees: its name, arguments, globals, results directory
//! and nodes.

use crate::cluster::TestCluster;
use crate::fault::Faults;
use crate::registry::{IntoTestOutcome, TestOutcome};
use crate::service::{Registry, Service, ServiceHandle, Teardown};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A running test's context. Cheap to clone: fixtures may keep one.
///
/// A test's first parameter; the case's values follow it:
///
/// ```no_run
/// use ducktape::prelude::*;
///
/// #[ducktape::test(cluster(num_nodes = 2), matrix(size = [10, 1000]))]
/// fn copy_between_nodes(ctx: &TestContext, size: usize) -> ducktape::Result<()> {
///     let nodes = ctx.cluster().nodes();              // the nodes leased to this test
///     let (a, b) = (&nodes[0], &nodes[1]);
///     a.account().create_file(&a.path("blob"), &vec![7u8; size])?;
///     a.account().copy_between(&a.path("blob"), &b.path("blob"), b.account().as_ref())?;
///     ensure!(b.account().read_file(&b.path("blob"))?.len() == size);
///     info!("{} bytes in {}", size, ctx.results_dir().display()); // to the test's log
///     Ok(())
/// }
///
/// ducktape::main!();
/// ```
#[derive(Clone, Debug)]
pub struct TestContext {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    test_id: String,
    function: String,
    module: String,
    args: Vec<(String, Value)>,
    globals: Arc<Value>,
    results_dir: PathBuf,
    cluster: Arc<TestCluster>,
    services: Registry,
    jvm_logs: bool,
    faults: Faults,
    closed: std::sync::atomic::AtomicBool,
}

/// Everything needed to build a [`TestContext`]; filled in by the runner.
#[doc(hidden)]
#[derive(Debug)]
pub struct ContextParts {
    /// Trial name.
    pub test_id: String,
    /// Function name.
    pub function: String,
    /// Module path without the crate.
    pub module: String,
    /// Case arguments.
    pub args: Vec<(String, Value)>,
    /// `--globals`.
    pub globals: Arc<Value>,
    /// The test's results directory (created).
    pub results_dir: PathBuf,
    /// The test's nodes.
    pub cluster: Arc<TestCluster>,
    /// `--enable-jvm-logs`.
    pub jvm_logs: bool,
}

impl TestContext {
    /// Builds a context from its parts.
    #[doc(hidden)]
    pub fn new(parts: ContextParts) -> Self {
        TestContext {
            inner: Arc::new(Inner {
                test_id: parts.test_id,
                function: parts.function,
                module: parts.module,
                args: parts.args,
                globals: parts.globals,
                results_dir: parts.results_dir,
                cluster: parts.cluster,
                services: Registry::default(),
                jvm_logs: parts.jvm_logs,
                faults: Faults::default(),
                closed: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// The trial name, unique in the session.
    pub fn test_id(&self) -> &str {
        &self.inner.test_id
    }

    /// The test function's name.
    pub fn function_name(&self) -> &str {
        &self.inner.function
    }

    /// The module path without the crate.
    pub fn module_name(&self) -> &str {
        &self.inner.module
    }

    /// The case's arguments (ducktape's `injected_args`).
    pub fn injected_args(&self) -> &[(String, Value)] {
        &self.inner.args
    }

    /// User globals from `--globals` (an object; empty when not given).
    pub fn globals(&self) -> &Value {
        &self.inner.globals
    }

    /// One global, if set.
    pub fn global(&self, key: &str) -> Option<&Value> {
        self.inner.globals.get(key)
    }

    /// This test's results directory: logs, `data.json`, service logs.
    pub fn results_dir(&self) -> &Path {
        &self.inner.results_dir
    }

    /// The nodes leased to this test; services take theirs from here.
    pub fn cluster(&self) -> &Arc<TestCluster> {
        &self.inner.cluster
    }

    /// Creates a service on nodes of this test. After the test it is stopped,
    /// its logs are collected, its nodes cleaned and freed, whatever happened.
    pub fn service<S: Service>(&self, service: S) -> crate::Result<ServiceHandle<S>> {
        if self.inner.closed.load(std::sync::atomic::Ordering::SeqCst) {
            anyhow::bail!(
                "{}: the test is over (it timed out or was interrupted): no new services",
                self.test_id()
            );
        }
        self.inner
            .services
            .add(&self.inner.cluster, service, self.inner.jvm_logs)
    }

    /// Fault injection for this test: partitions, slow links, killed and
    /// paused processes; all healed at teardown.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Marks the test over: an abandoned (timed-out) body can start no new
    /// services or faults on nodes that now belong to other tests.
    pub(crate) fn close(&self) {
        self.inner
            .closed
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.faults.close();
    }

    pub(crate) fn services(&self) -> Vec<Arc<dyn Teardown>> {
        self.inner.services.all()
    }
}

/// A fixture: ducktape's `Test` class with `setUp`/`tearDown`.
///
/// A test whose first parameter is `&mut F` gets a fresh `F` per case:
/// `new`, then `setup`, the test body, and `teardown` whatever happened.
///
/// ```no_run
/// use ducktape::prelude::*;
///
/// struct Scratch {
///     node: Arc<Node>,
/// }
///
/// impl Test for Scratch {
///     fn new(ctx: &TestContext) -> ducktape::Result<Self> {
///         Ok(Scratch { node: ctx.cluster().nodes()[0].clone() })
///     }
///     fn setup(&mut self, _ctx: &TestContext) -> ducktape::Result<()> {
///         self.node.account().mkdirs(&self.node.path("scratch"))?;
///         Ok(())
///     }
///     fn teardown(&mut self, _ctx: &TestContext) {
///         let _ = self.node.account().remove(&self.node.path("scratch"), true);
///     }
/// }
///
/// #[ducktape::test(cluster(num_nodes = 1))]
/// fn writes_scratch(t: &mut Scratch) -> ducktape::Result<()> {
///     t.node.account().create_file(&t.node.path("scratch/x"), b"x")?;
///     Ok(())
/// }
///
/// ducktape::main!();
/// ```
pub trait Test: Sized {
    /// Builds the fixture for one case.
    fn new(ctx: &TestContext) -> crate::Result<Self>;

    /// Runs before the test body (start services here).
    fn setup(&mut self, _ctx: &TestContext) -> crate::Result<()> {
        Ok(())
    }

    /// Runs after the test body, even when it failed or panicked.
    fn teardown(&mut self, _ctx: &TestContext) {}
}

/// Runs a fixture-style test body: `new`, `setup`, body, then `teardown`
/// even if the body panicked.
#[doc(hidden)]
pub fn run_fixture<F: Test, R: IntoTestOutcome>(
    ctx: &TestContext,
    body: impl FnOnce(&mut F) -> R,
) -> TestOutcome {
    use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
    let mut fixture = F::new(ctx)?;
    let setup = catch_unwind(AssertUnwindSafe(|| fixture.setup(ctx)));
    let result = match setup {
        Ok(Ok(())) => catch_unwind(AssertUnwindSafe(|| body(&mut fixture).into_outcome())),
        Ok(Err(e)) => Ok(Err(e.context("setup failed"))),
        Err(panic) => Err(panic),
    };
    // A panic in teardown must not hide what the body did.
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| fixture.teardown(ctx))) {
        if result.is_ok() {
            resume_unwind(panic);
        }
    }
    match result {
        Ok(outcome) => outcome,
        Err(panic) => resume_unwind(panic),
    }
}
