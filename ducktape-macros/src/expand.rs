//! Checking the function's signature and writing the expansion.

use crate::marks::{self, Cluster, Mark, RawMarks};
use crate::{cases, coverage, Errors};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, ExprLit, FnArg, Ident, ItemFn, Lit, Meta, Pat, ReturnType, Signature, Type,
};

/// How the test receives its context.
enum Form {
    /// `fn t(ctx: &TestContext, ...)`.
    Context,
    /// `fn t(fixture: &mut F, ...)` with `F: ducktape::Test`.
    Fixture(Box<Type>),
}

/// What the generated code needs from the signature.
struct Shape {
    form: Form,
    /// The parameters after the first: binding name and type.
    params: Vec<(Ident, Type)>,
}

/// Expands `#[ducktape::test(attr)] item`.
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item) {
        Ok(func) => func,
        Err(e) => {
            let mut error = syn::Error::new(Span::call_site(), "#[ducktape::test] goes on a fn");
            error.combine(e);
            return error.to_compile_error();
        }
    };
    let mut errors = Errors::default();
    let shape = shape(&func.sig, &mut errors);
    let before = errors.len();
    let marks = match syn::parse2::<RawMarks>(attr) {
        Ok(raw) => Some(marks::check(raw, &mut errors)),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    // A mark with errors was left out: checking coverage without it would
    // only add misleading errors.
    let marks = marks.filter(|_| errors.len() == before);
    if let (Some(shape), Some(marks)) = (&shape, &marks) {
        let params: Vec<Ident> = shape.params.iter().map(|(p, _)| p.clone()).collect();
        coverage::check(marks, &params, &func.sig.ident, &mut errors);
        // Duplicates only mean something once every case names every parameter.
        let duplicate = (errors.len() == before)
            .then(|| cases::rows(marks, &params).err())
            .flatten();
        if let Some(twice) = duplicate {
            let name = &func.sig.ident;
            errors.push(syn::Error::new(
                name.span(),
                format!(
                    "the marks list the case `{name}::{twice}` twice (two cases with the same \
                     arguments would share a name and a results directory): remove one"
                ),
            ));
        }
    }
    match (errors.finish(), shape, marks) {
        (Ok(()), Some(shape), Some(marks)) => generate(func, &shape, &marks),
        (result, _, _) => {
            let mut out = result
                .err()
                .unwrap_or_else(|| syn::Error::new(Span::call_site(), "invalid test"))
                .to_compile_error();
            // Keep the function so that code using it still resolves, unless
            // it takes `self`, which would only add a confusing error.
            if !func
                .sig
                .inputs
                .iter()
                .any(|a| matches!(a, FnArg::Receiver(_)))
            {
                out.extend(quote!(#[allow(unused)] #func));
            }
            out
        }
    }
}

/// Checks the signature; `None` when it cannot be used.
fn shape(sig: &Signature, errors: &mut Errors) -> Option<Shape> {
    let before = errors.len();
    if let Some(token) = &sig.asyncness {
        errors.push(syn::Error::new(
            token.span,
            "a ducktape test cannot be async: block on futures inside the test",
        ));
    }
    if let Some(token) = &sig.unsafety {
        errors.push(syn::Error::new(
            token.span,
            "a ducktape test cannot be unsafe: use an unsafe block inside it",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "a ducktape test cannot be generic: its parameters' values come from marks",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "a ducktape test cannot be variadic",
        ));
    }

    let mut inputs = sig.inputs.iter();
    let form = match inputs.next() {
        None => {
            errors.push(syn::Error::new(
                sig.paren_token.span.join(),
                "a ducktape test takes `ctx: &TestContext` or `fixture: &mut F` (F: ducktape::Test) first",
            ));
            None
        }
        Some(first) => errors.ok(first_form(first)),
    };
    let mut params = Vec::new();
    for input in inputs {
        if let Some(param) = errors.ok(param(input)) {
            params.push(param);
        }
    }
    let form = form?;
    (errors.len() == before).then_some(Shape { form, params })
}

fn first_form(arg: &FnArg) -> syn::Result<Form> {
    let typed = match arg {
        FnArg::Receiver(receiver) => return Err(no_self(receiver)),
        FnArg::Typed(typed) => typed,
    };
    let expected = "the first parameter must be `&TestContext` or `&mut F` for a fixture type `F: ducktape::Test`";
    match &*typed.ty {
        Type::Reference(r) => match (r.mutability, is_test_context(&r.elem)) {
            (None, true) => Ok(Form::Context),
            (Some(mutability), true) => Err(syn::Error::new(
                mutability.span,
                "take the context as `&TestContext`, not `&mut`",
            )),
            (Some(_), false) => Ok(Form::Fixture(r.elem.clone())),
            (None, false) => Err(syn::Error::new_spanned(&typed.ty, expected)),
        },
        other => Err(syn::Error::new_spanned(other, expected)),
    }
}

fn is_test_context(ty: &Type) -> bool {
    match ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "TestContext" && s.arguments.is_none()),
        Type::Paren(inner) => is_test_context(&inner.elem),
        Type::Group(inner) => is_test_context(&inner.elem),
        _ => false,
    }
}

fn param(arg: &FnArg) -> syn::Result<(Ident, Type)> {
    let typed = match arg {
        FnArg::Receiver(receiver) => return Err(no_self(receiver)),
        FnArg::Typed(typed) => typed,
    };
    let ident = match &*typed.pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => p.ident.clone(),
        other => return Err(syn::Error::new_spanned(
            other,
            "ducktape test parameters must be plain names (`name: Type`): marks give them by name",
        )),
    };
    if let Type::ImplTrait(_) = &*typed.ty {
        return Err(syn::Error::new_spanned(
            &typed.ty,
            "a test parameter needs a concrete type: its value is deserialized from the marks",
        ));
    }
    Ok((ident, (*typed.ty).clone()))
}

fn no_self(receiver: &syn::Receiver) -> syn::Error {
    syn::Error::new_spanned(
        receiver,
        "a ducktape test is a free function: it cannot take `self`",
    )
}

/// The doc comment's text, one line per `///` line: the test's
/// description in the reports (`TestDescriptor::doc`).
fn doc_text(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|doc| {
            doc.split('\n')
                .map(|line| line.trim_end_matches('\r').to_string())
                .collect::<Vec<_>>()
        })
        .map(|line| line.strip_prefix(' ').map(str::to_string).unwrap_or(line))
        .collect();
    lines.join("\n").trim().to_string()
}

fn generate(func: ItemFn, shape: &Shape, marks: &[Mark]) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    let name = sig.ident.clone();
    let name_str = name.unraw().to_string();
    let real = format_ident!("__ducktape_test_{}", name_str, span = name.span());
    let descriptor = format_ident!(
        "__DUCKTAPE_TEST_{}",
        name_str.to_ascii_uppercase(),
        span = name.span()
    );
    sig.ident = real.clone();
    // A `#[cfg]` on the test must remove its shim and registration too.
    let cfgs: Vec<&Attribute> = attrs.iter().filter(|a| a.path().is_ident("cfg")).collect();

    let p = quote!(::ducktape::__private);
    let ctx = Ident::new("__ctx", Span::mixed_site());
    let args = Ident::new("__args", Span::mixed_site());
    let bindings = shape.params.iter().map(|(ident, ty)| {
        let key = ident.unraw().to_string();
        // Located on the type, so that a type serde cannot deserialize into
        // is reported there.
        let span = ty.span();
        let args = Ident::new("__args", Span::mixed_site().located_at(span));
        quote_spanned!(span=> let #ident: #ty = ::ducktape::__private::arg(#args, #key)?;)
    });
    let idents: Vec<&Ident> = shape.params.iter().map(|(ident, _)| ident).collect();
    // A return type that is not an `IntoTestOutcome` is reported on it.
    let ret = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let call = match &shape.form {
        Form::Context => {
            let span = ret.span();
            // Not mixed-site: rustc reports errors on mixed-site tokens at
            // the attribute, not where they are located.
            let out = Ident::new("__ducktape_outcome", span);
            quote_spanned! {span=>
                let #out = #real(#ctx, #(#idents),*);
                ::ducktape::__private::IntoTestOutcome::into_outcome(#out)
            }
        }
        Form::Fixture(fixture) => {
            let f = Ident::new("__fixture", Span::mixed_site());
            quote!(#p::run_fixture::<#fixture, #ret>(#ctx, |#f| #real(#f, #(#idents),*)))
        }
    };
    // The line of the function's name, not of the attribute.
    let line = quote_spanned!(name.span()=> ::core::line!());
    let param_names = idents.iter().map(|i| i.unraw().to_string());
    let marks_in = marks;
    let marks = marks.iter().map(mark_tokens);
    let doc = doc_text(&attrs);
    let cases = case_table(marks_in, &idents);

    quote! {
        #(#attrs)*
        #vis #sig #block

        // The IDE shim: `::core::prelude::v1::test` even where a
        // `use ducktape::test;` shadows `test`.
        #(#cfgs)*
        #[::core::prelude::v1::test]
        fn #name() {}

        #(#cfgs)*
        #[#p::linkme::distributed_slice(#p::TESTS)]
        #[linkme(crate = #p::linkme)]
        #[allow(non_upper_case_globals)]
        static #descriptor: #p::TestDescriptor = #p::TestDescriptor {
            name: #name_str,
            module_path: ::core::module_path!(),
            file: ::core::file!(),
            line: #line,
            doc: #doc,
            params: &[#(#param_names),*],
            marks: &[#(#marks),*],
            cases: #cases,
            body: {
                fn __run(#ctx: &#p::TestContext, #args: &#p::Args) -> #p::TestOutcome {
                    #(#bindings)*
                    #call
                }
                __run
            },
        };
    }
}

/// The test's cases as a static `CaseTable` (see `cases.rs`). Only called
/// once `test` has checked that the marks list no case twice.
fn case_table(marks: &[Mark], params: &[&Ident]) -> TokenStream {
    let params: Vec<Ident> = params.iter().map(|p| (*p).clone()).collect();
    let rows = cases::rows(marks, &params).unwrap_or_default();
    let p = quote!(::ducktape::__private);
    let (Some((names, name_ends)), Some((args, arg_ends))) = (
        joined(rows.iter().map(|r| r.suffix.as_str())),
        joined(rows.iter().flat_map(|r| &r.args).map(String::as_str)),
    ) else {
        return quote!(::core::compile_error!(
            "this test's cases are too many to name (over 4 GB of names or arguments)"
        ));
    };
    let clusters = rows.iter().map(|r| {
        r.cluster
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(u16::MAX)
    });
    let ignored = rows.iter().map(|r| r.ignored);
    quote! {
        &#p::CaseTable {
            names: #names,
            name_ends: &[#(#name_ends),*],
            args: #args,
            arg_ends: &[#(#arg_ends),*],
            clusters: &[#(#clusters),*],
            ignored: &[#(#ignored),*],
        }
    }
}

/// `parts` as one string and the offset where each ends (the layout of
/// `CaseTable`'s columns); `None` past `u32` offsets.
fn joined<'a>(parts: impl Iterator<Item = &'a str>) -> Option<(String, Vec<u32>)> {
    let mut text = String::new();
    let mut ends = Vec::new();
    for part in parts {
        text.push_str(part);
        ends.push(u32::try_from(text.len()).ok()?);
    }
    Some((text, ends))
}

fn mark_tokens(mark: &Mark) -> TokenStream {
    let p = quote!(::ducktape::__private);
    let pairs = |pairs: &[(Ident, String)]| {
        let pairs = pairs.iter().map(|(k, v)| {
            let k = k.unraw().to_string();
            quote!((#k, #v))
        });
        quote!(&[#(#pairs),*])
    };
    let lists = |lists: &[(Ident, Vec<String>)]| {
        let lists = lists.iter().map(|(k, vs)| {
            let k = k.unraw().to_string();
            quote!((#k, &[#(#vs),*]))
        });
        quote!(&[#(#lists),*])
    };
    match mark {
        Mark::Cluster(Cluster::NumNodes {
            num_nodes,
            node_type,
        }) => {
            let num_nodes = syn::LitInt::new(num_nodes.base10_digits(), num_nodes.span());
            let node_type = match node_type {
                Some(t) => quote!(::core::option::Option::Some(#t)),
                None => quote!(::core::option::Option::None),
            };
            quote! {
                #p::Mark::Cluster(#p::ClusterMark::NumNodes { num_nodes: #num_nodes, node_type: #node_type })
            }
        }
        Mark::Cluster(Cluster::Spec(expr)) => {
            let expr = expr.to_token_stream();
            quote! {
                #p::Mark::Cluster(#p::ClusterMark::Spec({
                    fn __spec() -> #p::ClusterSpec { #expr }
                    __spec
                }))
            }
        }
        Mark::Parametrize(_, kv) => {
            let kv = pairs(kv);
            quote!(#p::Mark::Parametrize(#kv))
        }
        Mark::Matrix(_, kv) => {
            let kv = lists(kv);
            quote!(#p::Mark::Matrix(#kv))
        }
        Mark::Defaults(kv) => {
            let kv = lists(kv);
            quote!(#p::Mark::Defaults(#kv))
        }
        Mark::Ignore(kv) => {
            let kv = pairs(kv);
            quote!(#p::Mark::Ignore(#kv))
        }
        Mark::Env(kv) => {
            let kv = kv.iter().map(|(k, v)| {
                let k = k.unraw().to_string();
                quote!((#k, #v))
            });
            quote!(#p::Mark::Env(&[#(#kv),*]))
        }
        Mark::Requires(capabilities) => {
            let variants = capabilities
                .iter()
                .map(|c| format_ident!("{}", c.variant()));
            quote!(#p::Mark::Requires(&[#(#p::Capability::#variants),*]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn doc_text_joins_lines() {
        let func: ItemFn = parse_quote! {
            /// Bounces a broker.
            ///
            /// Checks that  nothing is lost.
            #[inline]
            fn t() {}
        };
        assert_eq!(
            doc_text(&func.attrs),
            "Bounces a broker.\n\nChecks that  nothing is lost."
        );
    }

    fn messages(attr: TokenStream, item: TokenStream) -> String {
        test(attr, item).to_string()
    }

    #[test]
    fn signature_errors() {
        let out = messages(
            quote!(),
            quote!(
                async unsafe fn t<T>(self) {}
            ),
        );
        assert!(out.contains("cannot be async"), "{out}");
        assert!(out.contains("cannot be unsafe"), "{out}");
        assert!(out.contains("cannot be generic"), "{out}");
        assert!(out.contains("cannot take `self`"), "{out}");
        let out = messages(
            quote!(),
            quote!(
                fn t() {}
            ),
        );
        assert!(out.contains("takes `ctx: &TestContext`"), "{out}");
        let out = messages(
            quote!(),
            quote!(
                fn t(ctx: TestContext) {}
            ),
        );
        assert!(out.contains("the first parameter must be"), "{out}");
        let out = messages(
            quote!(),
            quote!(
                fn t(ctx: &mut ducktape::TestContext) {}
            ),
        );
        assert!(out.contains("not `&mut`"), "{out}");
        let out = messages(
            quote!(parametrize(a = 1)),
            quote!(
                fn t(ctx: &TestContext, (a, b): (u8, u8)) {}
            ),
        );
        assert!(out.contains("plain names"), "{out}");
    }

    #[test]
    fn a_valid_test_registers() {
        let out = messages(
            quote!(cluster(num_nodes = 2), matrix(a = [1, 2])),
            quote!(
                /// Doc.
                fn t(fixture: &mut Fixture, a: u32) -> ducktape::Result<()> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains("fn __ducktape_test_t"), "{out}");
        assert!(out.contains("static __DUCKTAPE_TEST_T"), "{out}");
        assert!(
            out.contains("run_fixture :: < Fixture , ducktape :: Result < () > >"),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }
}
