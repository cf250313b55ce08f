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
/// parallel columns, so a 10,000-case matrix is a few flat static arrays.
///
/// Names and arguments are each one string with the offsets where each
/// entry ends, not a `&str` per entry: every pointer in a static is a
/// relocation the dynamic loader applies at each process start (PIE), and
/// a process that runs one case of a 10,000-case matrix paid for 30,000 of
/// them. One string is also searched for a name in one vectorised pass.
#[derive(Debug)]
pub struct CaseTable {
    /// Each case's name after the test's path (`a=1,b=x`; empty for a test
    /// without parameters), one after another.
    pub names: &'static str,
    /// Where each case's name ends in `names`.
    pub name_ends: &'static [u32],
    /// JSON text of every argument, case after case, one per parameter in
    /// the function's order, one after another.
    pub args: &'static str,
    /// Where each argument's text ends in `args`.
    pub arg_ends: &'static [u32],
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
        names: "",
        name_ends: &[0],
        args: "",
        arg_ends: &[],
        clusters: &[CaseTable::NO_CLUSTER],
        ignored: &[false],
    };

    /// How many cases.
    pub fn len(&self) -> usize {
        self.name_ends.len()
    }

    /// Whether there are none (never, for a table the macro wrote).
    pub fn is_empty(&self) -> bool {
        self.name_ends.is_empty()
    }

    /// Case `index`'s name after the test's path; empty past the end.
    pub fn name(&self, index: usize) -> &'static str {
        entry(self.names, self.name_ends, index)
    }

    /// The JSON text of argument `index` counted over all cases (case
    /// `c`'s are `c * params ..`); empty past the end.
    pub fn arg(&self, index: usize) -> &'static str {
        entry(self.args, self.arg_ends, index)
    }

    /// The case whose name after the test's path is `suffix`.
    pub fn find(&self, suffix: &str) -> Option<usize> {
        if suffix.is_empty() {
            // Only a test without parameters has a case named by its path
            // alone, and it has one case.
            return (self.names.is_empty() && self.len() == 1).then_some(0);
        }
        let hay = self.names.as_bytes();
        let mut from = 0;
        while let Some(at) = crate::text::memmem(&hay[from..], suffix.as_bytes()).map(|p| from + p)
        {
            // A whole name: it ends at a case's end and starts at its start.
            let end = u32::try_from(at + suffix.len()).ok()?;
            if let Ok(i) = self.name_ends.binary_search(&end) {
                let start = i.checked_sub(1).map_or(0, |p| self.name_ends[p] as usize);
                if start == at {
                    return Some(i);
                }
            }
            from = at + 1;
        }
        None
    }

    /// A table from columns, for tests: what the macro writes.
    #[cfg(test)]
    pub(crate) fn leak(
        names: &[&str],
        args: &[&str],
        clusters: &[u16],
        ignored: &[bool],
    ) -> &'static CaseTable {
        fn join(parts: &[&str]) -> (&'static str, &'static [u32]) {
            let mut text = String::new();
            let mut ends = Vec::new();
            for p in parts {
                text.push_str(p);
                ends.push(text.len() as u32);
            }
            (text.leak(), ends.leak())
        }
        let ((names, name_ends), (args, arg_ends)) = (join(names), join(args));
        Box::leak(Box::new(CaseTable {
            names,
            name_ends,
            args,
            arg_ends,
            clusters: clusters.to_vec().leak(),
            ignored: ignored.to_vec().leak(),
        }))
    }
}

/// Entry `index` of a joined column: from the end of the one before to its
/// own end.
fn entry(text: &'static str, ends: &[u32], index: usize) -> &'static str {
    let start = index
        .checked_sub(1)
        .and_then(|p| ends.get(p))
        .map_or(0, |&e| e as usize);
    let end = ends.get(index).map_or(start, |&e| e as usize);
    text.get(start..end).unwrap_or("")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_is_found_by_its_whole_name_only() {
        let names = ["a=1", "a=10", "b=a=1", "a=1,c=2", "x", "a=1,c=2x"];
        let t = CaseTable::leak(&names, &[], &[0; 6], &[false; 6]);
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.find(n), Some(i), "{n}");
            assert_eq!(t.name(i), *n);
        }
        // Inside a name, across two, or a prefix of one: not a case.
        for odd in [
            "=1", "a=", "1a=10", "10b", "c=2", "a=1,c", "xa=1", "a=100", "",
        ] {
            assert_eq!(t.find(odd), None, "{odd}");
        }
        assert_eq!(t.name(6), "");
        assert_eq!(CaseTable::PLAIN.find(""), Some(0));
        assert_eq!(CaseTable::PLAIN.find("a"), None);
        assert_eq!(CaseTable::PLAIN.len(), 1);
        let args = CaseTable::leak(
            &["a=1", "a=2"],
            &["1", "\"x\"", "2", "[]"],
            &[0; 2],
            &[false; 2],
        );
        let texts: Vec<&str> = (0..5).map(|i| args.arg(i)).collect();
        assert_eq!(texts, ["1", "\"x\"", "2", "[]", ""]);
    }
}
