//! The tests a `harness = false` target defines, collected at link time.
//!
//! `#[ducktape::test]` emits one [`TestDescriptor`] per function into the
//! [`TESTS`] distributed slice; nothing runs before `main`.

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
