use ducktape::prelude::*;

const SIZES: [u32; 2] = [1, 2];

#[ducktape::test(matrix(size = [1, SIZES[0]]))]
fn from_a_const(_ctx: &TestContext, size: u32) {}

#[ducktape::test(parametrize(name = "a".to_string()))]
fn from_a_call(_ctx: &TestContext, name: String) {}

#[ducktape::test(matrix(size = SIZES))]
fn not_a_list(_ctx: &TestContext, size: u32) {}

#[ducktape::test(env(FLAG = 1))]
fn env_not_a_string(_ctx: &TestContext) {}

fn main() {}
