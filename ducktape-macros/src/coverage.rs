//! Checks at compile time that every case gives every parameter a value.
//!
//! This replays `ducktape::mark::expand` on key names only: `parametrize` is
//! one case, `matrix` one case holding all its keys (the product of its lists
//! has the same keys in every case), `defaults` add their keys to every case
//! (or make one case when there is no other), and no such mark at all is one
//! case without arguments.

use crate::marks::Mark;
use crate::Errors;
use std::collections::BTreeSet;
use syn::ext::IdentExt;
use syn::Ident;

/// The keys of one case and the mark that made it, if any.
struct Case<'a> {
    origin: Option<&'a Ident>,
    keys: BTreeSet<String>,
}

/// Reports mark keys that are not parameters of `function`, and parameters
/// that some case leaves without a value.
pub fn check(marks: &[Mark], params: &[Ident], function: &Ident, errors: &mut Errors) {
    let names: Vec<String> = params.iter().map(|p| p.unraw().to_string()).collect();
    for key in param_keys(marks) {
        let name = key.unraw().to_string();
        if !names.contains(&name) {
            errors.push(syn::Error::new(
                key.span(),
                format!("`{name}` is not a parameter of `{}`", function.unraw()),
            ));
        }
    }

    let cases = cases(marks);
    for (param, name) in params.iter().zip(&names) {
        let Some(lacking) = cases.iter().find(|c| !c.keys.contains(name)) else {
            continue;
        };
        let mut error = syn::Error::new(
            param.span(),
            format!(
                "parameter `{name}` has no value: give it in matrix(...), parametrize(...) or defaults(...)"
            ),
        );
        // When other cases do have it, point at the mark that forgot it.
        if let Some(origin) = lacking.origin {
            if cases.iter().any(|c| c.keys.contains(name)) {
                error.combine(syn::Error::new(
                    origin.span(),
                    format!("this `{origin}` gives no value for `{name}`"),
                ));
            }
        }
        errors.push(error);
    }
}

/// Every key that must name a parameter.
fn param_keys(marks: &[Mark]) -> Vec<&Ident> {
    let mut keys = Vec::new();
    for mark in marks {
        match mark {
            Mark::Parametrize(_, pairs) | Mark::Ignore(pairs) => {
                keys.extend(pairs.iter().map(|(k, _)| k));
            }
            Mark::Matrix(_, lists) | Mark::Defaults(lists) => {
                keys.extend(lists.iter().map(|(k, _)| k));
            }
            Mark::Cluster(_) | Mark::Env(_) | Mark::Requires(_) => {}
        }
    }
    keys
}

/// The key sets of the cases `expand` will build.
fn cases(marks: &[Mark]) -> Vec<Case<'_>> {
    let mut cases = Vec::new();
    let mut defaults = BTreeSet::new();
    for mark in marks {
        match mark {
            Mark::Parametrize(origin, pairs) => cases.push(Case {
                origin: Some(origin),
                keys: pairs.iter().map(|(k, _)| k.unraw().to_string()).collect(),
            }),
            Mark::Matrix(origin, lists) => cases.push(Case {
                origin: Some(origin),
                keys: lists.iter().map(|(k, _)| k.unraw().to_string()).collect(),
            }),
            Mark::Defaults(lists) => {
                defaults.extend(lists.iter().map(|(k, _)| k.unraw().to_string()));
            }
            Mark::Cluster(_) | Mark::Ignore(_) | Mark::Env(_) | Mark::Requires(_) => {}
        }
    }
    if cases.is_empty() {
        cases.push(Case {
            origin: None,
            keys: BTreeSet::new(),
        });
    }
    for case in &mut cases {
        case.keys.extend(defaults.iter().cloned());
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marks::{self, RawMarks};
    use syn::parse_quote;

    /// The messages for a test `t` with these marks and parameters.
    fn errors(raw: RawMarks, params: &[&str]) -> Vec<String> {
        let mut errors = Errors::default();
        let marks = marks::check(raw, &mut errors);
        let params: Vec<Ident> = params.iter().map(|p| syn::parse_str(p).unwrap()).collect();
        check(&marks, &params, &parse_quote!(t), &mut errors);
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    fn no_value(param: &str) -> String {
        format!(
            "parameter `{param}` has no value: give it in matrix(...), parametrize(...) or defaults(...)"
        )
    }

    #[test]
    fn no_parameters_need_no_marks() {
        assert!(errors(parse_quote!(), &[]).is_empty());
        assert!(errors(parse_quote!(cluster(num_nodes = 1), ignore), &[]).is_empty());
    }

    #[test]
    fn a_parameter_without_any_mark_has_no_value() {
        assert_eq!(errors(parse_quote!(), &["a"]), [no_value("a")]);
        assert_eq!(errors(parse_quote!(ignore(a = 1)), &["a"]), [no_value("a")]);
    }

    #[test]
    fn matrix_and_parametrize_cover_their_keys() {
        let ok = errors(
            parse_quote!(
                matrix(a = [1, 2], b = [true]),
                parametrize(b = false, a = 3)
            ),
            &["a", "b"],
        );
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn every_case_must_cover_every_parameter() {
        assert_eq!(
            errors(
                parse_quote!(matrix(a = [1, 2], b = [true]), parametrize(a = 3)),
                &["a", "b"],
            ),
            [
                no_value("b"),
                "this `parametrize` gives no value for `b`".into()
            ]
        );
    }

    #[test]
    fn defaults_fill_every_case_or_act_as_a_matrix() {
        assert!(errors(
            parse_quote!(
                parametrize(a = 1),
                parametrize(a = 2, b = 3),
                defaults(b = [4, 5])
            ),
            &["a", "b"],
        )
        .is_empty());
        assert!(errors(parse_quote!(defaults(a = [1], b = [2])), &["a", "b"]).is_empty());
        assert_eq!(
            errors(parse_quote!(defaults(a = [1])), &["a", "b"]),
            [no_value("b")]
        );
    }

    #[test]
    fn keys_must_be_parameters() {
        assert_eq!(
            errors(
                parse_quote!(matrix(a = [1]), ignore(c = 2), env(c = "x")),
                &["a"]
            ),
            ["`c` is not a parameter of `t`"]
        );
    }

    #[test]
    fn raw_identifiers_match_plain_keys() {
        assert!(errors(parse_quote!(parametrize(r#type = "x")), &["r#type"]).is_empty());
        assert!(errors(parse_quote!(parametrize(type = "x")), &["r#type"]).is_empty());
    }
}
