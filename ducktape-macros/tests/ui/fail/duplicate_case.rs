use ducktape::prelude::*;

// Two cases with the same arguments would share a name and a results directory.
#[ducktape::test(matrix(a = [1, 2]), parametrize(a = 1))]
fn twice(_ctx: &TestContext, a: u8) {
    assert!(a > 0);
}

fn main() {}
