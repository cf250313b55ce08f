use ducktape::prelude::*;

#[ducktape::test]
fn by_value(ctx: TestContext) {}

#[ducktape::test]
fn mutable_context(ctx: &mut TestContext) {}

#[ducktape::test]
fn no_parameters() {}

fn main() {}
