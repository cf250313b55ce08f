use ducktape::prelude::*;

#[ducktape::test(cluster(node_type = "large"))]
fn no_size(_ctx: &TestContext) {}

#[ducktape::test(cluster(num_nodes = 2, cluster_spec = ClusterSpec::simple_linux(2)))]
fn both(_ctx: &TestContext) {}

#[ducktape::test(cluster(num_nodes = 2.5))]
fn fractional(_ctx: &TestContext) {}

#[ducktape::test(cluster(num_nodes = 1, nodes_type = "large"))]
fn misspelt_argument(_ctx: &TestContext) {}

fn main() {}
