//! The tests a `harness = false` target defines, collected at link time.
//!
//! `#[ducktape::test]` emits one [`TestDescriptor`] per function into the
//! `TESTS` distributed slice; nothing runs before `main`.

use crate::context::TestContext;
use crate::mark::Mark;

/// What a test function returned, already converted: `Some(data)` becomes the
/// test's `data.json`.
pub type TestOutcome = anyhow::Result<Option<serde_json::Value>>;

/// The arguments of one case, in the function's parameter order.
pub type Args = [(String, serde_json::Value)];

/// One `#[ducktape::test]` function, as the macro describes it.
#[derive(Debug)]
pub struct TestDescriptor {
    /// The function's name.
    pub name: &'static str,
    /// `module_path!()` where the function is defined (crate name first).
    pub module_path: &'static str,
    /// Source file, for messages.
    pub file: &'static str,
    /// Source line, for messages.
    pub line: u32,
    /// The function's doc comment (the report's `description`).
    pub doc: &'static str,
    /// Names of the parameters after the context/fixture one, in order.
    pub params: &'static [&'static str],
    /// Marks, left to right as written in the attribute.
    pub marks: &'static [Mark],
    /// Runs the function with one case's arguments.
    pub body: fn(&TestContext, &Args) -> TestOutcome,
    /// The cases the marks make, worked out by the macro (the one place
    /// marks are expanded), so one case is found by name without building
    /// the others.
    pub cases: &'static CaseTable,
}

/// A test's cases as the macro computes them from its marks, in mark order:
/// parallel columns, so a 10,000-case matrix is four flat static arrays.
#[derive(Debug)]
pub struct CaseTable {
    /// Each case's name after the test's path (`a=1,b=x`; empty for a test
    /// without parameters).
    pub names: &'static [&'static str],
    /// JSON text of every argument, case after case, one per parameter in
    /// the function's order.
    pub args: &'static [&'static str],
    /// Each case's `cluster` mark as its ordinal among the test's `cluster`
    /// marks; [`CaseTable::NO_CLUSTER`] when none applies.
    pub clusters: &'static [u16],
    /// Whether an `ignore` mark matches the case.
    pub ignored: &'static [bool],
}

impl CaseTable {
    /// The `clusters` entry of a case no `cluster` mark applies to.
    pub const NO_CLUSTER: u16 = u16::MAX;

    /// The table of a test without parameters or marks: one case, named by
    /// the test's path.
    pub const PLAIN: CaseTable = CaseTable {
        names: &[""],
        args: &[],
        clusters: &[CaseTable::NO_CLUSTER],
        ignored: &[false],
    };

    /// How many cases.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none (never, for a table the macro wrote).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl TestDescriptor {
    /// The test's path without the crate: `module::fn`, what IDEs pass to `--exact`.
    pub fn path(&self) -> String {
        match self.module_path.split_once("::") {
            Some((_, rest)) => format!("{rest}::{}", self.name),
            None => self.name.to_string(),
        }
    }

    /// The module part of [`path`](Self::path), empty for the crate root.
    pub fn module(&self) -> &'static str {
        self.module_path
            .split_once("::")
            .map(|(_, rest)| rest)
            .unwrap_or("")
    }
}

/// Every test linked into this binary.
#[linkme::distributed_slice]
pub static TESTS: [TestDescriptor];

/// Reads one argument of a case as the parameter's type.
///
/// Used by the code `#[ducktape::test]` generates; the error names the
/// parameter and the value so a bad `--parameters` is easy to fix.
pub fn arg<T: serde::de::DeserializeOwned>(args: &Args, name: &str) -> anyhow::Result<T> {
    let value = args
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .ok_or_else(|| anyhow::anyhow!("no value for parameter `{name}`"))?;
    serde_json::from_value(value.clone()).map_err(|e| {
        anyhow::anyhow!(
            "parameter `{name}`: cannot use {value} as {}: {e}",
            std::any::type_name::<T>()
        )
    })
}

/// Converts what a test function returns into a [`TestOutcome`].
pub trait IntoTestOutcome {
    /// The conversion.
    fn into_outcome(self) -> TestOutcome;
}

impl IntoTestOutcome for () {
    fn into_outcome(self) -> TestOutcome {
        Ok(None)
    }
}

impl<T, E> IntoTestOutcome for Result<T, E>
where
    T: serde::Serialize,
    E: Into<anyhow::Error>,
{
    fn into_outcome(self) -> TestOutcome {
        let value = self.map_err(Into::into)?;
        let data = serde_json::to_value(value)
            .map_err(|e| anyhow::anyhow!("the test's returned data is not JSON: {e}"))?;
        Ok((!data.is_null()).then_some(data))
    }
}
