//! Parsing the attribute's arguments into marks.
//!
//! The syntax is parsed first (`name` or `name(key = expr, ...)`, comma
//! separated), then each mark is checked and its values converted, collecting
//! every error rather than stopping at the first.

use crate::json::to_json_text;
use crate::Errors;
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{token, Expr, ExprLit, Ident, Lit, LitInt, LitStr, Token};

/// One `key = value` inside a mark's parentheses.
pub struct KeyValue {
    /// The key: a parameter, a `cluster` argument or an environment variable.
    pub key: Ident,
    /// The value as written.
    pub value: Expr,
}

impl KeyValue {
    /// The key without any `r#` prefix, as the runner sees it.
    pub fn name(&self) -> String {
        self.key.unraw().to_string()
    }
}

impl Parse for KeyValue {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = Ident::parse_any(input)?;
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(KeyValue { key, value })
    }
}

/// A mark as written: its name and, if any, its parenthesized arguments.
pub struct RawMark {
    name: Ident,
    args: Option<(token::Paren, RawArgs)>,
}

/// What is inside a mark's parentheses.
enum RawArgs {
    /// `key = value, ...`: every mark but `requires`.
    KeyValues(Punctuated<KeyValue, Token![,]>),
    /// `name, ...`: the capabilities of `requires`.
    Names(Punctuated<Ident, Token![,]>),
}

impl Parse for RawMark {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name = Ident::parse_any(input)?;
        let args = if input.peek(token::Paren) {
            let content;
            let paren = syn::parenthesized!(content in input);
            let args = if name == "requires" {
                RawArgs::Names(content.parse_terminated(capability_name, Token![,])?)
            } else {
                RawArgs::KeyValues(content.parse_terminated(KeyValue::parse, Token![,])?)
            };
            Some((paren, args))
        } else {
            None
        };
        Ok(RawMark { name, args })
    }
}

/// One name inside `requires(...)`; `name = value` is refused there.
fn capability_name(input: ParseStream) -> syn::Result<Ident> {
    let name = Ident::parse_any(input)?;
    if input.peek(Token![=]) {
        return Err(syn::Error::new(
            name.span(),
            "requires takes capability names, not `key = value`: like `requires(network_faults)`",
        ));
    }
    Ok(name)
}

/// The whole attribute: marks separated by commas.
pub struct RawMarks(pub Punctuated<RawMark, Token![,]>);

impl Parse for RawMarks {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        input
            .parse_terminated(RawMark::parse, Token![,])
            .map(RawMarks)
    }
}

/// A key and the JSON text of its value.
pub type Pair = (Ident, String);
/// A key and the JSON texts of its values.
pub type List = (Ident, Vec<String>);

/// A checked mark, values converted to JSON text.
pub enum Mark {
    /// `cluster(...)`.
    Cluster(Cluster),
    /// `parametrize(a = 1, ...)`: one case.
    Parametrize(Ident, Vec<Pair>),
    /// `matrix(a = [1, 2], ...)`: the product.
    Matrix(Ident, Vec<List>),
    /// `defaults(a = [1, 2], ...)`: fills missing arguments.
    Defaults(Vec<List>),
    /// `ignore` or `ignore(a = 1, ...)`.
    Ignore(Vec<Pair>),
    /// `env(VAR = "value", ...)`: raw strings, not JSON.
    Env(Vec<(Ident, LitStr)>),
    /// `requires(network_faults, ...)`: what the cluster's nodes must allow.
    Requires(Vec<Capability>),
}

/// A capability a test can require of the cluster, by its mark name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// `network_faults`: nodes with their own network stack, so partitions,
    /// drops, delays and rate limits can target them.
    NetworkFaults,
}

/// Every capability, by the name `requires(...)` takes.
const CAPABILITIES: &[(&str, Capability)] = &[("network_faults", Capability::NetworkFaults)];

impl Capability {
    /// The variant's name in `ducktape::mark::Capability`.
    pub fn variant(self) -> &'static str {
        match self {
            Capability::NetworkFaults => "NetworkFaults",
        }
    }
}

/// What a `cluster` mark declares.
pub enum Cluster {
    /// `num_nodes = N[, node_type = "t"]`.
    NumNodes {
        /// The literal, already checked to be a `usize`.
        num_nodes: LitInt,
        /// Optional node type.
        node_type: Option<LitStr>,
    },
    /// `cluster_spec = EXPR`.
    Spec(Expr),
}

const MARK_NAMES: &str = "cluster, matrix, parametrize, defaults, ignore, env or requires";

/// Checks the marks and converts their values; all problems go to `errors`,
/// and marks with a problem are left out.
pub fn check(raw: RawMarks, errors: &mut Errors) -> Vec<Mark> {
    raw.0
        .into_iter()
        .filter_map(|mark| match check_one(mark) {
            Ok(mark) => Some(mark),
            Err(e) => {
                errors.push(e);
                None
            }
        })
        .collect()
}

fn check_one(raw: RawMark) -> syn::Result<Mark> {
    let name = raw.name.unraw().to_string();
    if !matches!(
        name.as_str(),
        "cluster" | "matrix" | "parametrize" | "defaults" | "ignore" | "env" | "requires"
    ) {
        return Err(syn::Error::new(
            raw.name.span(),
            format!("unknown mark `{name}`: expected {MARK_NAMES}"),
        ));
    }
    let (paren, args) = match raw.args {
        Some((paren, RawArgs::Names(names))) => return requires(paren.span.join(), names),
        Some((paren, RawArgs::KeyValues(args))) => (paren, args.into_iter().collect::<Vec<_>>()),
        None if name == "ignore" => return Ok(Mark::Ignore(Vec::new())),
        None => {
            let example = match name.as_str() {
                "cluster" => "cluster(num_nodes = 3)",
                "matrix" => "matrix(a = [1, 2])",
                "parametrize" => "parametrize(a = 1)",
                "defaults" => "defaults(a = [1, 2])",
                "requires" => "requires(network_faults)",
                _ => "env(VAR = \"value\")",
            };
            return Err(syn::Error::new(
                raw.name.span(),
                format!("`{name}` needs arguments, like `{example}`"),
            ));
        }
    };
    let mut errors = Errors::default();
    no_duplicate_keys(&args, &mut errors);
    let mark = match name.as_str() {
        "cluster" => cluster(paren.span.join(), args, &mut errors).map(Mark::Cluster),
        "matrix" => Some(Mark::Matrix(raw.name, lists(args, "matrix", &mut errors))),
        "defaults" => Some(Mark::Defaults(lists(args, "defaults", &mut errors))),
        "parametrize" => Some(Mark::Parametrize(
            raw.name,
            pairs(args, "parametrize", &mut errors),
        )),
        "ignore" => Some(Mark::Ignore(pairs(args, "ignore", &mut errors))),
        _ => Some(Mark::Env(env(args, &mut errors))),
    };
    errors.finish()?;
    // `None` only comes with an error, which `finish` returned.
    mark.ok_or_else(|| syn::Error::new(paren.span.join(), "invalid mark"))
}

/// `requires(name, ...)`: every name a known capability, none twice.
fn requires(span: Span, names: Punctuated<Ident, Token![,]>) -> syn::Result<Mark> {
    let mut errors = Errors::default();
    let mut capabilities = Vec::new();
    for ident in names {
        let name = ident.unraw().to_string();
        match CAPABILITIES.iter().find(|(n, _)| *n == name) {
            Some((_, c)) if capabilities.contains(c) => errors.push(syn::Error::new(
                ident.span(),
                format!("capability `{name}` is required twice"),
            )),
            Some((_, c)) => capabilities.push(*c),
            None => {
                let known: Vec<&str> = CAPABILITIES.iter().map(|(n, _)| *n).collect();
                errors.push(syn::Error::new(
                    ident.span(),
                    format!("unknown capability `{name}`: expected {}", known.join(", ")),
                ));
            }
        }
    }
    if capabilities.is_empty() && errors.len() == 0 {
        errors.push(syn::Error::new(
            span,
            "`requires` needs a capability, like `requires(network_faults)`",
        ));
    }
    errors.finish()?;
    Ok(Mark::Requires(capabilities))
}

fn no_duplicate_keys(args: &[KeyValue], errors: &mut Errors) {
    for (i, kv) in args.iter().enumerate() {
        let name = kv.name();
        if args[..i].iter().any(|earlier| earlier.name() == name) {
            errors.push(syn::Error::new(
                kv.key.span(),
                format!("duplicate key `{name}` in this mark"),
            ));
        }
    }
}

fn pairs(args: Vec<KeyValue>, mark: &str, errors: &mut Errors) -> Vec<Pair> {
    args.into_iter()
        .filter_map(|kv| errors.ok(to_json_text(&kv.value, mark).map(|json| (kv.key, json))))
        .collect()
}

fn lists(args: Vec<KeyValue>, mark: &str, errors: &mut Errors) -> Vec<List> {
    args.into_iter()
        .filter_map(|kv| {
            let elems = match strip_group(&kv.value) {
                Expr::Array(array) if array.elems.is_empty() => {
                    errors.push(syn::Error::new_spanned(
                        &kv.value,
                        format!("`{}` has no values: give at least one", kv.name()),
                    ));
                    return None;
                }
                Expr::Array(array) => &array.elems,
                other => {
                    errors.push(syn::Error::new_spanned(
                        other,
                        format!("{mark} takes a list of values per key, like `a = [1, 2]`"),
                    ));
                    return None;
                }
            };
            let texts = elems
                .iter()
                .map(|e| to_json_text(e, mark))
                .collect::<syn::Result<Vec<_>>>();
            errors.ok(texts).map(|texts| (kv.key, texts))
        })
        .collect()
}

fn env(args: Vec<KeyValue>, errors: &mut Errors) -> Vec<(Ident, LitStr)> {
    args.into_iter()
        .filter_map(|kv| match strip_group(&kv.value) {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Some((kv.key, s.clone())),
            other => {
                errors.push(syn::Error::new_spanned(
                    other,
                    "env values must be string literals, like `VAR = \"1\"`",
                ));
                None
            }
        })
        .collect()
}

fn cluster(span: Span, args: Vec<KeyValue>, errors: &mut Errors) -> Option<Cluster> {
    let errors_before = errors.len();
    let mut num_nodes = None;
    let mut node_type = None;
    let mut spec = None;
    for kv in args {
        match kv.name().as_str() {
            "num_nodes" => match strip_group(&kv.value) {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(n), ..
                }) => match n.base10_parse::<usize>() {
                    Ok(_) => num_nodes = Some(n.clone()),
                    Err(e) => errors.push(e),
                },
                other => errors.push(syn::Error::new_spanned(
                    other,
                    "num_nodes must be an integer literal; use `cluster_spec = ...` for a computed cluster",
                )),
            },
            "node_type" => match strip_group(&kv.value) {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => node_type = Some((kv.key, s.clone())),
                other => errors.push(syn::Error::new_spanned(
                    other,
                    "node_type must be a string literal",
                )),
            },
            "cluster_spec" => spec = Some((kv.key, kv.value)),
            other => errors.push(syn::Error::new(
                kv.key.span(),
                format!(
                    "unknown cluster argument `{other}`: expected num_nodes, node_type or cluster_spec"
                ),
            )),
        }
    }
    if errors.len() > errors_before {
        return None;
    }
    match (num_nodes, spec, node_type) {
        (Some(num_nodes), None, node_type) => Some(Cluster::NumNodes {
            num_nodes,
            node_type: node_type.map(|(_, s)| s),
        }),
        (None, Some((_, spec)), None) => Some(Cluster::Spec(spec)),
        (None, Some(_), Some((key, _))) => {
            errors.push(syn::Error::new(
                key.span(),
                "node_type goes with num_nodes; a cluster_spec sets node types itself",
            ));
            None
        }
        (Some(_), Some((key, _)), _) => {
            errors.push(syn::Error::new(
                key.span(),
                "give either num_nodes or cluster_spec, not both",
            ));
            None
        }
        (None, None, _) => {
            errors.push(syn::Error::new(
                span,
                "cluster needs `num_nodes = N` or `cluster_spec = ...`",
            ));
            None
        }
    }
}

/// Looks through the invisible group `macro_rules!` puts around `$e:expr`.
fn strip_group(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => strip_group(&group.expr),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn parse(raw: RawMarks) -> Result<Vec<Mark>, Vec<String>> {
        let mut errors = Errors::default();
        let marks = check(raw, &mut errors);
        match errors.finish() {
            Ok(()) => Ok(marks),
            Err(e) => Err(e.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    #[test]
    fn every_mark_parses() {
        let marks = parse(parse_quote!(
            cluster(num_nodes = 3, node_type = "large"),
            matrix(a = [1, 2], b = ["x"]),
            parametrize(a = 3, b = "y"),
            cluster(cluster_spec = ClusterSpec::simple_linux(2)),
            defaults(b = [true]),
            ignore,
            ignore(a = 1),
            env(HOME = "/root"),
            requires(network_faults),
        ))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(marks.len(), 9);
        match &marks[0] {
            Mark::Cluster(Cluster::NumNodes {
                num_nodes,
                node_type,
            }) => {
                assert_eq!(num_nodes.base10_digits(), "3");
                assert_eq!(node_type.as_ref().unwrap().value(), "large");
            }
            _ => panic!("not a num_nodes cluster"),
        }
        match &marks[1] {
            Mark::Matrix(_, lists) => {
                assert_eq!(lists[0].1, ["1", "2"]);
                assert_eq!(lists[1].1, ["\"x\""]);
            }
            _ => panic!("not a matrix"),
        }
        assert!(matches!(&marks[3], Mark::Cluster(Cluster::Spec(_))));
        assert!(matches!(&marks[5], Mark::Ignore(kv) if kv.is_empty()));
        assert!(matches!(&marks[7], Mark::Env(kv) if kv[0].1.value() == "/root"));
        assert!(
            matches!(&marks[8], Mark::Requires(c) if c.as_slice() == [Capability::NetworkFaults])
        );
    }

    #[test]
    fn errors_are_collected() {
        let errors = parse(parse_quote!(
            clustr(num_nodes = 1),
            cluster(node_type = "x"),
            cluster(num_nodes = 1, cluster_spec = s()),
            cluster(num_nodes = n),
            matrix(a = [], b = 1, a = [2]),
            parametrize,
            env(V = 1),
            requires(network_fault, network_faults, network_faults),
            requires(),
            requires,
        ))
        .err()
        .unwrap();
        assert_eq!(
            errors,
            [
                "unknown mark `clustr`: expected cluster, matrix, parametrize, defaults, ignore, env or requires",
                "cluster needs `num_nodes = N` or `cluster_spec = ...`",
                "give either num_nodes or cluster_spec, not both",
                "num_nodes must be an integer literal; use `cluster_spec = ...` for a computed cluster",
                "duplicate key `a` in this mark",
                "`a` has no values: give at least one",
                "matrix takes a list of values per key, like `a = [1, 2]`",
                "`parametrize` needs arguments, like `parametrize(a = 1)`",
                "env values must be string literals, like `VAR = \"1\"`",
                "unknown capability `network_fault`: expected network_faults",
                "capability `network_faults` is required twice",
                "`requires` needs a capability, like `requires(network_faults)`",
                "`requires` needs arguments, like `requires(network_faults)`",
            ]
        );
    }
}
