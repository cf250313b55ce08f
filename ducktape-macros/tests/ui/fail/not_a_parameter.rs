use ducktape::prelude::*;

#[ducktape::test(matrix(size = [1, 2], sise = [3]))]
fn grow(_ctx: &TestContext, size: u32) {}

#[ducktape::test(parametrize(n = 1), ignore(m = 2))]
fn shrink(_ctx: &TestContext, n: u32) {}

fn main() {}
