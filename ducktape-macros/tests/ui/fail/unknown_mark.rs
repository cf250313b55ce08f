use ducktape::prelude::*;

#[ducktape::test(clusters(num_nodes = 1))]
fn misspelt(_ctx: &TestContext) {}

#[ducktape::test(parametrize(a = 1, a = 2), matrix(b = []))]
fn duplicate_and_empty(_ctx: &TestContext, a: u32, b: u32) {}

fn main() {}
