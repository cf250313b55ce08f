//! The `#[ducktape::test]` attribute.

use proc_macro::TokenStream;

/// Registers a system test. See the `ducktape` crate.
#[proc_macro_attribute]
pub fn test(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
