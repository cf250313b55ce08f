//! What `#[ducktape::test]` registers: a descriptor per function whose marks
//! expand into the expected cases.

use ducktape::mark::{expand, ClusterUse, TestCase};
use ducktape::prelude::*;
use ducktape::registry::{TestDescriptor, TESTS};
use serde_json::json;

fn find(name: &str) -> &'static TestDescriptor {
    TESTS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("`{name}` is not registered"))
}

fn cases(name: &str) -> Vec<TestCase> {
    expand(find(name)).unwrap()
}

fn names(cases: &[TestCase]) -> Vec<&str> {
    cases.iter().map(|c| c.name.as_str()).collect()
}

fn declared(spec: ClusterSpec) -> ClusterUse {
    ClusterUse::Declared(spec)
}

/// A test without marks.
#[ducktape::test]
fn plain(_ctx: &TestContext) {}

#[ducktape::test(
    cluster(num_nodes = 2),
    matrix(a = [1, -2], b = ["x"]),
    cluster(num_nodes = 3, node_type = "large"),
    parametrize(b = "y\"z", a = 3),
)]
fn marks_in_order(_ctx: &TestContext, a: i64, b: String) -> ducktape::Result<()> {
    ensure!(a != 0 && !b.is_empty());
    Ok(())
}

#[ducktape::test(
    cluster(cluster_spec = ClusterSpec::simple_linux(1 + 1)),
    defaults(x = [1.5, 2.0]),
    ignore(x = 1.5),
    env(DUCKTAPE_MACROS_SURELY_UNSET = "yes"),
)]
fn spec_defaults_ignore_env(_ctx: &TestContext, x: f64) {
    assert!(x > 0.0);
}

struct Fixture;

impl Test for Fixture {
    fn new(_ctx: &TestContext) -> ducktape::Result<Self> {
        Ok(Fixture)
    }
}

#[ducktape::test(parametrize(r#type = "t", pair = [1, [2, 3]]), ignore)]
fn fixture_form(_f: &mut Fixture, r#type: String, pair: (u8, Vec<u8>)) -> ducktape::Result<u32> {
    Ok(u32::from(pair.0) + r#type.len() as u32)
}

macro_rules! sized {
    ($name:ident, $n:expr) => {
        #[ducktape::test(parametrize(n = $n))]
        fn $name(_ctx: &TestContext, n: u32) {
            assert!(n > 0);
        }
    };
}

sized!(from_macro_rules, 7);

#[ducktape::test]
#[cfg(any())]
fn configured_out(_ctx: &TestContext) {}

mod imported {
    use ducktape::prelude::*;
    // Shadows the built-in `#[test]`, which the expansion must not rely on.
    use ducktape::test;

    #[test(parametrize(n = 1))]
    pub fn via_use(_ctx: &TestContext, n: u8) {
        assert_eq!(n, 1);
    }
    pub const FN_LINE: u32 = line!() - 3;
}

#[test]
fn descriptor_fields() {
    let t = find("plain");
    assert_eq!(t.module_path, "registration");
    assert!(t.file.ends_with("registration.rs"), "{}", t.file);
    assert!(t.line > 1);
    assert!(t.params.is_empty() && t.marks.is_empty());
    let cases = cases("plain");
    assert_eq!(names(&cases), ["plain"]);
    assert_eq!(cases[0].cluster, ClusterUse::Undeclared);
    assert_eq!(find("marks_in_order").params, ["a", "b"]);
    assert_eq!(find("fixture_form").params, ["type", "pair"]);
}

#[test]
fn marks_expand_left_to_right() {
    let cases = cases("marks_in_order");
    assert_eq!(
        names(&cases),
        [
            "marks_in_order::a=1,b=x",
            "marks_in_order::a=-2,b=x",
            "marks_in_order::a=3,b=y%22z",
        ]
    );
    assert_eq!(
        cases[2].args,
        [("a".into(), json!(3)), ("b".into(), json!("y\"z"))]
    );
    assert_eq!(cases[0].cluster, declared(ClusterSpec::simple_linux(2)));
    assert_eq!(
        cases[2].cluster,
        declared(ClusterSpec::typed_linux(3, Some("large")))
    );
    assert!(cases.iter().all(|c| c.ignored.is_none()));
}

#[test]
fn cluster_spec_defaults_ignore_and_env() {
    let cases = cases("spec_defaults_ignore_env");
    assert_eq!(
        names(&cases),
        [
            "spec_defaults_ignore_env::x=1.5",
            "spec_defaults_ignore_env::x=2.0"
        ]
    );
    assert_eq!(cases[0].cluster, declared(ClusterSpec::simple_linux(2)));
    for case in &cases {
        let reason = case.ignored.as_deref().unwrap();
        assert!(reason.contains("DUCKTAPE_MACROS_SURELY_UNSET"), "{reason}");
    }
}

#[test]
fn raw_identifiers_nested_arrays_and_bare_ignore() {
    let cases = cases("fixture_form");
    assert_eq!(
        cases[0].args,
        [
            ("type".into(), json!("t")),
            ("pair".into(), json!([1, [2, 3]]))
        ]
    );
    assert!(cases[0].ignored.is_some());
}

#[test]
fn values_from_macro_rules_and_cfg() {
    assert_eq!(names(&cases("from_macro_rules")), ["from_macro_rules::n=7"]);
    assert!(TESTS.iter().all(|t| t.name != "configured_out"));
}

#[test]
fn imported_attribute_and_line_of_the_fn() {
    let t = find("via_use");
    assert_eq!(t.module_path, "registration::imported");
    assert_eq!(t.line, imported::FN_LINE);
    assert_eq!(names(&cases("via_use")), ["imported::via_use::n=1"]);
}

/// Marks with defaults after a matrix, an ignore matching some cases, and
/// a value that needs encoding in the case name.
#[ducktape::test(
    matrix(a = [1, 2]),
    cluster(num_nodes = 1),
    parametrize(a = 3, s = "p q"),
    defaults(s = ["x", "y/z"]),
    ignore(s = "x"),
)]
fn table_mix(_ctx: &TestContext, a: u8, s: String) {
    let _ = (a, s);
}

/// Every case of every test is found by its name, as that same case, and
/// the count agrees (the runtime reads the macro's table and nothing else).
#[test]
fn cases_are_found_by_name_and_counted() {
    for test in TESTS.iter() {
        let all = expand(test).unwrap();
        for case in &all {
            let found = ducktape::mark::find(test, &case.name).unwrap().unwrap();
            assert_eq!((&found.name, &found.args), (&case.name, &case.args));
        }
        assert_eq!(ducktape::mark::count(test).unwrap(), all.len());
    }
    let mix = cases("table_mix");
    assert_eq!(
        names(&mix),
        [
            "table_mix::a=1,s=x",
            "table_mix::a=1,s=y%2Fz",
            "table_mix::a=2,s=x",
            "table_mix::a=2,s=y%2Fz",
            "table_mix::a=3,s=p%20q"
        ]
    );
    let ignored: Vec<bool> = mix.iter().map(|c| c.ignored.is_some()).collect();
    assert_eq!(ignored, [true, false, true, false, false]);
    assert_eq!(mix[4].cluster, declared(ClusterSpec::simple_linux(1)));
}

#[ducktape::test(cluster(num_nodes = 3), requires(network_faults), matrix(n = [1, 2]))]
fn needs_network_faults(_ctx: &TestContext, n: u8) {
    assert!(n > 0);
}

#[test]
fn requires_is_carried_by_every_case() {
    use ducktape::mark::Capability;
    let needing = cases("needs_network_faults");
    assert_eq!(needing.len(), 2);
    for case in &needing {
        assert_eq!(
            case.requires().collect::<Vec<_>>(),
            [Capability::NetworkFaults]
        );
        // Not ignored by the marks themselves: that depends on the cluster.
        assert_eq!(case.ignored, None);
    }
    assert_eq!(cases("plain")[0].requires().count(), 0);
}
