use ducktape::prelude::*;

#[ducktape::test(cluster(num_nodes = 1))]
fn nothing_given(_ctx: &TestContext, size: u32) {}

#[ducktape::test(matrix(size = [1, 2], fast = [true]), parametrize(size = 3))]
fn one_case_lacks_it(_ctx: &TestContext, size: u32, fast: bool) {}

fn main() {}
