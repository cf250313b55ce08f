//! Compile errors of `#[ducktape::test]`, each pointing at the offending
//! token, and one file of unusual but valid tests.
//!
//! Regenerate the `.stderr` snapshots with `TRYBUILD=overwrite` and read them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
