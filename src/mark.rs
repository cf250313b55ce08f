//! Marks as plain data, and their expansion into test cases.
//!
//! Marks read left to right as ducktape's decorators read top to bottom:
//! a `cluster` mark applies to the `parametrize`/`matrix`/`defaults` entries
//! after it, until the next `cluster`.

use crate::cluster::spec::ClusterSpec;
use crate::registry::{CaseTable, TestDescriptor};
use serde_json::Value;

/// A value list of one `matrix`/`defaults` key: JSON texts the macro wrote.
pub type ValueList = &'static [&'static str];

/// One mark of `#[ducktape::test(...)]`. Values are JSON texts.
#[derive(Debug)]
pub enum Mark {
    /// `cluster(num_nodes = N[, node_type = "t"])` or `cluster(cluster_spec = EXPR)`.
    Cluster(ClusterMark),
    /// `parametrize(a = 1, b = "x")`: one case.
    Parametrize(&'static [(&'static str, &'static str)]),
    /// `matrix(a = [..], b = [..])`: the cartesian product.
    Matrix(&'static [(&'static str, ValueList)]),
    /// `defaults(a = [..])`: fills arguments every case lacks.
    Defaults(&'static [(&'static str, ValueList)]),
    /// `ignore` (empty: every case) or `ignore(a = 2)` (matching cases).
    Ignore(&'static [(&'static str, &'static str)]),
    /// `env(VAR = "value")`: ignored unless each variable has that value.
    Env(&'static [(&'static str, &'static str)]),
    /// `requires(network_faults)`: every case is ignored on a cluster that
    /// cannot provide these (see [`ignore_unsupported`]).
    Requires(&'static [Capability]),
}

/// Something a test needs from the cluster's nodes beyond running commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capability {
    /// `requires(network_faults)`: partitions, drops, delays and rate limits
    /// ([`crate::fault`]), which need nodes with their own network stack.
    NetworkFaults,
}

impl Capability {
    /// The name the mark takes, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Capability::NetworkFaults => "network_faults",
        }
    }
}

/// What a `cluster` mark declares.
#[derive(Debug)]
pub enum ClusterMark {
    /// `num_nodes = N`, optionally of one node type.
    NumNodes {
        /// How many Linux nodes.
        num_nodes: usize,
        /// Optional node type label.
        node_type: Option<&'static str>,
    },
    /// `cluster_spec = EXPR`, evaluated when the cases are built.
    Spec(fn() -> ClusterSpec),
}

impl ClusterMark {
    fn spec(&self) -> ClusterSpec {
        match self {
            ClusterMark::NumNodes {
                num_nodes,
                node_type,
            } => ClusterSpec::typed_linux(*num_nodes, *node_type),
            ClusterMark::Spec(f) => f(),
        }
    }
}

/// How many nodes a case declared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterUse {
    /// A `cluster` mark gave this spec.
    Declared(ClusterSpec),
    /// No `cluster` mark: the whole cluster, or `--default-num-nodes`.
    Undeclared,
}

/// One runnable case of a test: a test function with one set of arguments.
#[derive(Clone, Debug)]
pub struct TestCase {
    /// The function.
    pub test: &'static TestDescriptor,
    /// The trial name: `module::fn` or `module::fn::a=1,b=x`.
    pub name: String,
    /// Arguments in parameter order.
    pub args: Vec<(String, Value)>,
    /// Declared cluster use.
    pub cluster: ClusterUse,
    /// Why the case is ignored, if it is.
    pub ignored: Option<String>,
}

impl TestCase {
    /// The function's path (`module::fn`), shared by all its cases.
    pub fn base(&self) -> String {
        self.test.path()
    }

    /// The capabilities the test's `requires` marks name (they apply to
    /// every case of the test).
    pub fn requires(&self) -> impl Iterator<Item = Capability> + '_ {
        self.test
            .marks
            .iter()
            .flat_map(|m| match m {
                Mark::Requires(c) => *c,
                _ => &[],
            })
            .copied()
    }

    /// The arguments as a JSON object (ducktape's `injected_args`), or null.
    pub fn injected_args(&self) -> Value {
        if self.args.is_empty() {
            Value::Null
        } else {
            Value::Object(self.args.iter().cloned().collect())
        }
    }
}

/// Marks that cannot be expanded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MarkError {
    /// A value is not JSON: only possible when the registration was written
    /// by hand rather than by the macro.
    #[error("{test}: mark value `{text}` is not JSON")]
    NotJson {
        /// The test's path.
        test: String,
        /// The value.
        text: &'static str,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// A test's cases, in the order its marks write them (the macro's table).
pub fn expand(test: &'static TestDescriptor) -> Result<Vec<TestCase>, MarkError> {
    let table = test.cases;
    let env = env_reason(test);
    (0..table.len())
        .map(|i| table_case(test, table, i, env.as_deref()))
        .collect()
}

/// Ignores every case that requires a capability the cluster lacks, before
/// anything runs: `lacks` gives the reason a capability is missing (`None`
/// when the cluster has it) and is asked only about required capabilities.
/// A case already ignored keeps its reason.
pub fn ignore_unsupported<E>(
    cases: &mut [TestCase],
    mut lacks: impl FnMut(Capability) -> Result<Option<String>, E>,
) -> Result<(), E> {
    let mut known: Vec<(Capability, Option<String>)> = Vec::new();
    for case in cases.iter_mut().filter(|c| c.ignored.is_none()) {
        for capability in case.requires().collect::<Vec<_>>() {
            let reason = match known.iter().find(|(c, _)| *c == capability) {
                Some((_, reason)) => reason.clone(),
                None => {
                    let reason = lacks(capability)?;
                    known.push((capability, reason.clone()));
                    reason
                }
            };
            if let Some(why) = reason {
                case.ignored = Some(format!("requires {}: {why}", capability.name()));
                break;
            }
        }
    }
    Ok(())
}

/// Why every case of the test is ignored by its `env` marks, if one is.
fn env_reason(test: &TestDescriptor) -> Option<String> {
    test.marks
        .iter()
        .filter_map(|m| match m {
            Mark::Env(kv) => Some(*kv),
            _ => None,
        })
        .flatten()
        .find_map(|(var, want)| {
            let have = std::env::var(var).ok();
            (have.as_deref() != Some(*want)).then(|| format!("env {var} is not {want:?}"))
        })
}

/// The `ordinal`-th `cluster` mark of the test.
fn nth_cluster(test: &TestDescriptor, ordinal: u16) -> Option<&ClusterMark> {
    test.marks
        .iter()
        .filter_map(|m| match m {
            Mark::Cluster(c) => Some(c),
            _ => None,
        })
        .nth(usize::from(ordinal))
}

/// Case `index` of the test's table, its arguments parsed: only the cases
/// that run pay for that. `env` is [`env_reason`], shared by all cases.
fn table_case(
    test: &'static TestDescriptor,
    table: &'static CaseTable,
    index: usize,
    env: Option<&str>,
) -> Result<TestCase, MarkError> {
    let n = test.params.len();
    let texts = (index * n..(index + 1) * n).map(|i| table.arg(i));
    let mut args = Vec::with_capacity(n);
    for (param, text) in test.params.iter().zip(texts) {
        let value = serde_json::from_str(text).map_err(|source| MarkError::NotJson {
            test: test.path(),
            text,
            source,
        })?;
        args.push((param.to_string(), value));
    }
    let cluster = table
        .clusters
        .get(index)
        .and_then(|&c| nth_cluster(test, c))
        .map_or(ClusterUse::Undeclared, |c| ClusterUse::Declared(c.spec()));
    let ignored = env
        .map(str::to_string)
        .or_else(|| table.ignored[index].then(|| "ignored by mark".to_string()));
    Ok(TestCase {
        test,
        name: table_name(test, table, index),
        args,
        cluster,
        ignored,
    })
}

fn table_name(test: &TestDescriptor, table: &CaseTable, index: usize) -> String {
    let path = test.path();
    match table.name(index) {
        "" => path,
        suffix => format!("{path}::{suffix}"),
    }
}

/// The test's cases with their names and ignore reasons only: arguments
/// empty, cluster undeclared. For listing (`--list`, `--collect-only`),
/// which prints names and must not pay for parsing every case's arguments;
/// never run these.
pub fn expand_names(test: &'static TestDescriptor) -> Result<Vec<TestCase>, MarkError> {
    let table = test.cases;
    let env = env_reason(test);
    let path = test.path();
    Ok((0..table.len())
        .map(|index| TestCase {
            test,
            name: match table.name(index) {
                "" => path.clone(),
                suffix => format!("{path}::{suffix}"),
            },
            args: Vec::new(),
            cluster: ClusterUse::Undeclared,
            ignored: env
                .clone()
                .or_else(|| table.ignored[index].then(|| "ignored by mark".to_string())),
        })
        .collect())
}

/// How many cases the test has, without naming them.
pub fn count(test: &'static TestDescriptor) -> Result<usize, MarkError> {
    Ok(test.cases.len())
}

/// The case of `test` called `name` (the test's path, then `::` and its
/// arguments, or the path alone), looked up without building the others.
pub fn find(test: &'static TestDescriptor, name: &str) -> Result<Option<TestCase>, MarkError> {
    let path = test.path();
    let Some(rest) = name.strip_prefix(path.as_str()) else {
        return Ok(None);
    };
    let suffix = match rest.strip_prefix("::") {
        Some(suffix) => suffix,
        None if rest.is_empty() => "",
        None => return Ok(None),
    };
    let table = test.cases;
    match table.find(suffix) {
        Some(i) => table_case(test, table, i, env_reason(test).as_deref()).map(Some),
        None => Ok(None),
    }
}

/// The trial name of a case: the test path, then `::a=1,b=x` when it has
/// arguments. Values stay readable and shell-safe: anything outside
/// `[A-Za-z0-9_.+-]` is percent-encoded.
pub fn case_name(base: &str, args: &[(String, Value)]) -> String {
    if args.is_empty() {
        return base.to_string();
    }
    let parts: Vec<String> = args
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_value(v)))
        .collect();
    format!("{base}::{}", parts.join(","))
}

fn encode_value(v: &Value) -> String {
    let raw = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::TestOutcome;

    fn body(_: &crate::TestContext, _: &crate::registry::Args) -> TestOutcome {
        Ok(None)
    }

    /// A descriptor as the macro writes one, with a hand-written table (the
    /// macro's own expansion of marks is tested in ducktape-macros).
    fn leak(
        marks: Vec<Mark>,
        params: &'static [&'static str],
        cases: &'static CaseTable,
    ) -> &'static TestDescriptor {
        Box::leak(Box::new(TestDescriptor {
            name: "t",
            module_path: "systest::m",
            file: file!(),
            line: line!(),
            doc: "",
            params,
            marks: Box::leak(marks.into_boxed_slice()),
            body,
            cases,
        }))
    }

    fn names(cases: &[TestCase]) -> Vec<&str> {
        cases.iter().map(|c| c.name.as_str()).collect()
    }

    fn plain(marks: Vec<Mark>) -> &'static TestDescriptor {
        leak(marks, &[], &CaseTable::PLAIN)
    }

    #[test]
    fn plain_test_is_one_case_named_by_path() {
        let cases = expand(plain(vec![])).unwrap();
        assert_eq!(names(&cases), ["m::t"]);
        assert_eq!(cases[0].cluster, ClusterUse::Undeclared);
        assert_eq!(count(plain(vec![])).unwrap(), 1);
    }

    /// Two `cluster` marks and three cases: the first two under the first
    /// mark, the third under the second, the second case ignored by a mark.
    fn two_clusters() -> &'static TestDescriptor {
        let table = CaseTable::leak(
            &["a=1,b=true", "a=2,b=x%20y", "a=9,b=false"],
            &["1", "true", "2", "\"x y\"", "9", "false"],
            &[0, 0, 1],
            &[false, true, false],
        );
        let cluster = |n| {
            Mark::Cluster(ClusterMark::NumNodes {
                num_nodes: n,
                node_type: None,
            })
        };
        leak(vec![cluster(2), cluster(5)], &["a", "b"], table)
    }

    #[test]
    fn cases_come_from_the_table_with_their_cluster_mark_and_arguments() {
        let test = two_clusters();
        let cases = expand(test).unwrap();
        assert_eq!(
            names(&cases),
            ["m::t::a=1,b=true", "m::t::a=2,b=x%20y", "m::t::a=9,b=false"]
        );
        assert_eq!(
            cases[1].args,
            [
                ("a".to_string(), serde_json::json!(2)),
                ("b".to_string(), serde_json::json!("x y"))
            ]
        );
        assert_eq!(
            cases[0].cluster,
            ClusterUse::Declared(ClusterSpec::simple_linux(2))
        );
        assert_eq!(
            cases[2].cluster,
            ClusterUse::Declared(ClusterSpec::simple_linux(5))
        );
        let ignored: Vec<bool> = cases.iter().map(|c| c.ignored.is_some()).collect();
        assert_eq!(ignored, [false, true, false]);
        // One case by name is that case; names alone carry no arguments.
        let found = find(test, "m::t::a=9,b=false").unwrap().unwrap();
        assert_eq!((&found.name, &found.args), (&cases[2].name, &cases[2].args));
        assert!(find(test, "m::t::a=3,b=false").unwrap().is_none());
        assert!(find(test, "m::tt").unwrap().is_none());
        let listed = expand_names(test).unwrap();
        assert_eq!(names(&listed), names(&cases));
        assert!(listed.iter().all(|c| c.args.is_empty()));
    }

    #[test]
    fn an_argument_that_is_not_json_names_the_test_and_the_text() {
        let table = CaseTable::leak(&["a=x"], &["{x"], &[CaseTable::NO_CLUSTER], &[false]);
        let err = expand(leak(vec![], &["a"], table)).unwrap_err();
        assert_eq!(err.to_string(), "m::t: mark value `{x` is not JSON");
    }

    #[test]
    fn env_mark_ignores_unless_the_variable_matches() {
        let cases = expand(plain(vec![Mark::Env(&[(
            "DUCKTAPE_TEST_SURELY_UNSET_VAR",
            "1",
        )])]))
        .unwrap();
        assert!(cases[0]
            .ignored
            .as_deref()
            .unwrap()
            .contains("DUCKTAPE_TEST_SURELY_UNSET_VAR"));
    }

    #[test]
    fn a_capability_the_cluster_lacks_ignores_every_case_with_the_reason() {
        let table = CaseTable::leak(
            &["a=1", "a=2"],
            &["1", "2"],
            &[CaseTable::NO_CLUSTER; 2],
            &[false; 2],
        );
        let needs = || vec![Mark::Requires(&[Capability::NetworkFaults])];
        let mut cases = expand(leak(needs(), &["a"], table)).unwrap();
        cases.extend(expand(plain(vec![])).unwrap());
        let mut asked = 0;
        ignore_unsupported::<()>(&mut cases, |c| {
            asked += 1;
            assert_eq!(c, Capability::NetworkFaults);
            Ok(Some("nodes share one network".into()))
        })
        .unwrap();
        assert_eq!(asked, 1, "asked once per capability");
        let reasons: Vec<Option<&str>> = cases.iter().map(|c| c.ignored.as_deref()).collect();
        assert_eq!(
            reasons,
            [
                Some("requires network_faults: nodes share one network"),
                Some("requires network_faults: nodes share one network"),
                None
            ]
        );
        // On a cluster that has it, nothing changes.
        let mut cases = expand(plain(needs())).unwrap();
        ignore_unsupported::<()>(&mut cases, |_| Ok(None)).unwrap();
        assert_eq!(cases[0].ignored, None);
    }
}
