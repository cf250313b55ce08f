//! The `#[ducktape::test]` attribute.
//!
//! It turns a function into a registered system test: the function itself is
//! kept under a hidden name, a [`TestDescriptor`] carrying its marks goes into
//! the `TESTS` distributed slice, and an empty `#[test] fn` of the original
//! name gives IDEs their run button.
//!
//! Modules: `marks` parses the attribute, `json` turns literals into JSON,
//! `coverage` checks that every case gives every parameter a value, and
//! `expand` checks the signature and writes the code.
//!
//! [`TestDescriptor`]: https://docs.rs/ducktape/latest/ducktape/registry/struct.TestDescriptor.html

mod cases;
mod coverage;
mod expand;
mod json;
mod marks;

use proc_macro::TokenStream;

/// Registers a system test.
///
/// ```ignore
/// use ducktape::prelude::*;
///
/// /// Restarts a broker while clients write; checks nothing was lost.
/// #[ducktape::test(cluster(num_nodes = 3), matrix(bounce = [true, false]))]
/// fn broker_bounce(ctx: &TestContext, bounce: bool) -> ducktape::Result<()> {
///     Ok(())
/// }
/// ```
///
/// The first parameter is `&TestContext`, or `&mut F` for a fixture type
/// `F: ducktape::Test` (built, set up and torn down around each case). Every
/// other parameter gets its value from the marks, which read left to right:
///
/// - `cluster(num_nodes = N)`, `cluster(num_nodes = N, node_type = "t")` or
///   `cluster(cluster_spec = EXPR)`: the nodes the cases after it need;
/// - `parametrize(a = 1, b = "x")`: one case;
/// - `matrix(a = [1, 2], b = ["x", "y"])`: the cartesian product;
/// - `defaults(a = [1, 2])`: fills arguments the other cases lack;
/// - `ignore` or `ignore(a = 1)`: ignores all cases, or the matching ones;
/// - `env(VAR = "value")`: ignored unless each variable has that value;
/// - `requires(network_faults)`: every case is ignored, with the reason, on
///   a cluster whose nodes share one network stack (localhost).
///
/// Values are literals: integers, floats, bools, strings and arrays of them.
/// A parameter some case leaves without a value is a compile error.
///
/// The function may return `()` or `Result<T, E>` with `T: Serialize` (the
/// test's data) and `E: Into<anyhow::Error>`.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::test(attr.into(), item.into()).into()
}

/// Errors gathered while checking, reported together.
#[derive(Default)]
struct Errors(Vec<syn::Error>);

impl Errors {
    /// Adds an error.
    fn push(&mut self, error: syn::Error) {
        self.0.push(error);
    }

    /// The value, or `None` after recording the error.
    fn ok<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// How many errors so far.
    fn len(&self) -> usize {
        self.0.len()
    }

    /// All errors combined into one, if there were any.
    fn finish(self) -> syn::Result<()> {
        let mut errors = self.0.into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                first.extend(errors);
                Err(first)
            }
        }
    }
}
