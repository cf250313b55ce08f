use ducktape::prelude::*;

#[ducktape::test]
async fn asynchronous(_ctx: &TestContext) {}

#[ducktape::test(parametrize(n = 1))]
fn generic<T: Default>(_ctx: &TestContext, n: T) {}

#[ducktape::test(parametrize(n = 1))]
fn pattern(_ctx: &TestContext, (n, _): (u32, u32)) {}

struct Suite;

impl Suite {
    #[ducktape::test]
    fn method(&self) {}
}

fn main() {}
