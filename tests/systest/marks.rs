//! Marks: which cases a test has, and what each case needs.
//!
//! Every mark `#[ducktape::test(...)]` takes is used here, in both forms of
//! test: a function that takes the `&TestContext`, and one that takes a
//! fixture (`&mut F` for a type implementing [`Test`]), built, set up and torn
//! down around every case. Marks read left to right, as ducktape's decorators
//! read top to bottom.
//!
//! Mark values are literals: integers, floats, bools, strings and arrays of
//! them. A parameter that some case leaves without a value does not compile.

use ducktape::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// No marks: one case, named `marks::no_marks`, given the whole cluster.
#[ducktape::test]
fn no_marks(ctx: &TestContext) {
    assert!(ctx.injected_args().is_empty());
}

/// `matrix` runs the cartesian product of its lists, here four cases named
/// `marks::produce::acks=1,compression=none` and so on. The `cluster` mark
/// before it gives each case two nodes.
#[ducktape::test(
    cluster(num_nodes = 2),
    matrix(acks = [1, -1], compression = ["none", "zstd"]),
)]
fn produce(ctx: &TestContext, acks: i32, compression: String) -> ducktape::Result<()> {
    ensure!(acks == 1 || acks == -1, "no such acks setting: {acks}");
    ensure!(["none", "zstd"].contains(&compression.as_str()));
    ensure!(ctx.injected_args().len() == 2);
    Ok(())
}

/// What a test returns in `Ok` is the case's data, written to its
/// `data.json` and shown in the reports.
#[derive(Debug, Serialize)]
struct Throughput {
    records: u64,
    records_per_sec: f64,
}

/// Each `parametrize` is one case. A `cluster` mark applies to the cases
/// after it, until the next one: the smoke case runs on one node, the
/// replicated one on two, spelled out as a `cluster_spec`.
#[ducktape::test(
    cluster(num_nodes = 1),
    parametrize(replicas = 1, topic = "smoke"),
    cluster(cluster_spec = ClusterSpec::from_nodes([NodeSpec::linux(), NodeSpec::linux()])),
    parametrize(replicas = 2, topic = "replicated"),
)]
fn replicate(_ctx: &TestContext, replicas: u32, topic: String) -> ducktape::Result<Throughput> {
    ensure!(!topic.is_empty());
    Ok(Throughput {
        records: 1000 * u64::from(replicas),
        records_per_sec: 2.5e5,
    })
}

/// `defaults` fill in the arguments a case leaves out: `size = 10` runs with
/// both codecs, while `size = 1000` keeps its own. Three cases.
#[ducktape::test(
    parametrize(size = 10),
    parametrize(size = 1000, codec = "lz4"),
    defaults(codec = ["none", "gzip"]),
)]
fn compress(_ctx: &TestContext, size: u64, codec: String) -> ducktape::Result<Throughput> {
    ensure!(size > 0 && !codec.is_empty());
    Ok(Throughput {
        records: size,
        records_per_sec: 1.0e6,
    })
}

/// With no other case, `defaults` act as a matrix: two cases here. Values
/// can be floats, and arrays become `Vec`s.
#[ducktape::test(defaults(ratio = [0.5, 1.0], ports = [[9092, 9093]]))]
fn defaults_alone(_ctx: &TestContext, ratio: f64, ports: Vec<u16>) {
    assert!(ratio > 0.0);
    assert_eq!(ports, [9092, 9093]);
}

/// A fixture, like a ducktape `Test` class: `new`, then `setup` before each
/// case and `teardown` after it, even when the case failed. Here a stand-in
/// for a service the tests start.
#[derive(Debug, Default)]
struct KeyValueStore {
    running: bool,
    data: BTreeMap<String, String>,
}

impl KeyValueStore {
    fn put(&mut self, key: &str, value: &str) -> ducktape::Result<()> {
        ensure!(self.running, "the store is not running");
        self.data.insert(key.to_string(), value.to_string());
        Ok(())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }
}

impl Test for KeyValueStore {
    fn new(_ctx: &TestContext) -> ducktape::Result<Self> {
        Ok(KeyValueStore::default())
    }

    fn setup(&mut self, _ctx: &TestContext) -> ducktape::Result<()> {
        self.running = true;
        Ok(())
    }

    fn teardown(&mut self, _ctx: &TestContext) {
        self.running = false;
        self.data.clear();
    }
}

/// The fixture form: the first parameter is `&mut` the fixture. `ignore(...)`
/// ignores the cases it matches, here the one with `keys = 3, durable = true`:
/// five cases run, one is ignored.
#[ducktape::test(
    cluster(num_nodes = 1),
    matrix(keys = [1, 2, 3], durable = [true, false]),
    ignore(keys = 3, durable = true),
)]
fn put_then_get(store: &mut KeyValueStore, keys: usize, durable: bool) -> ducktape::Result<()> {
    for i in 0..keys {
        store.put(&format!("key{i}"), if durable { "disk" } else { "memory" })?;
    }
    ensure!(store.get("key0").is_some());
    Ok(())
}

/// A bare `ignore` ignores every case: the test still compiles and is listed.
#[ducktape::test(ignore)]
fn not_ready_yet(store: &mut KeyValueStore) {
    assert!(store.get("anything").is_none());
}

/// `env` ignores the test unless each variable has the given value; the
/// `node_type` asks for nodes of that type. Set
/// `DUCKTAPE_EXAMPLE_LARGE_NODES=1` where the cluster has large nodes.
#[ducktape::test(
    env(DUCKTAPE_EXAMPLE_LARGE_NODES = "1"),
    cluster(num_nodes = 1, node_type = "large")
)]
fn on_large_nodes(store: &mut KeyValueStore) -> ducktape::Result<()> {
    store.put("size", "large")
}
