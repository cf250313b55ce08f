use ducktape::prelude::*;

struct NotAFixture;

#[ducktape::test]
fn not_a_fixture(_f: &mut NotAFixture) {}

#[ducktape::test]
fn returns_a_number(_ctx: &TestContext) -> u32 {
    1
}

#[derive(Default)]
struct NotSerialize;

#[ducktape::test]
fn returns_data_that_is_not_json(_ctx: &TestContext) -> ducktape::Result<NotSerialize> {
    Ok(NotSerialize)
}

#[ducktape::test(parametrize(name = "borrowed"))]
fn borrowed_parameter(_ctx: &TestContext, name: &str) {
    let _ = name;
}

fn main() {}
