use ducktape::prelude::*;

#[ducktape::test(cluster(num_nodes = 3), requires(network_fault))]
fn misspelt_capability(_ctx: &TestContext) {}

#[ducktape::test(requires(network_faults, network_faults))]
fn twice(_ctx: &TestContext) {}

#[ducktape::test(requires)]
fn no_capability(_ctx: &TestContext) {}

#[ducktape::test(requires(network_faults = true))]
fn not_a_key(_ctx: &TestContext) {}

fn main() {}
