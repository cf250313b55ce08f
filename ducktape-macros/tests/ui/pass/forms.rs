//! Valid tests in every form, compiled as a binary with warnings denied.
#![deny(warnings)]

use ducktape::prelude::*;
use serde::Serialize;

/// A documented, public test returning nothing.
#[ducktape::test]
pub fn unit(_ctx: &ducktape::TestContext) {}

#[derive(Serialize)]
struct Data {
    ok: bool,
}

#[ducktape::test(cluster(num_nodes = 0x2), matrix(n = [1u8, 2], name = ["a"]))]
fn data(_ctx: &TestContext, mut n: u8, name: String) -> ducktape::Result<Data> {
    n += 1;
    Ok(Data {
        ok: n > 1 && !name.is_empty(),
    })
}

#[ducktape::test(defaults(ctx = [1], args = [2]))]
fn shadowing_names(context: &TestContext, ctx: u32, args: u32) -> Result<(), std::io::Error> {
    let _ = (context, ctx + args);
    Ok(())
}

struct Fixture;

impl Test for Fixture {
    fn new(_ctx: &TestContext) -> ducktape::Result<Self> {
        Ok(Fixture)
    }
}

#[ducktape::test(cluster(cluster_spec = ClusterSpec::empty()))]
fn fixture(_f: &mut Fixture) {}

#[ducktape::test(parametrize(x = -1.5e3, v = [[true], []]), ignore)]
fn fixture_with_parameters(_f: &mut Fixture, x: f64, v: Vec<Vec<bool>>) -> ducktape::Result<()> {
    ensure!(x < 0.0 && v.len() == 2);
    Ok(())
}

mod nested {
    #[ducktape::test(env(HOME = "/nowhere"), requires(network_faults))]
    fn in_a_module(_ctx: &ducktape::TestContext) {}
}

fn main() {
    assert_eq!(ducktape::registry::TESTS.len(), 6);
}
