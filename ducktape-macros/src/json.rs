//! Rust literals in mark arguments, turned into JSON at compile time.
//!
//! Marks carry their values as JSON text (`ducktape::mark::Mark`), so the
//! runner can name, match and hand out arguments without knowing their Rust
//! types. Only literals are accepted: the values must be known when the macro
//! runs.

use serde_json::{Number, Value};
use syn::{Expr, ExprLit, ExprUnary, Lit, UnOp};

/// Converts a literal — int (optionally negated), float, bool, string, or an
/// array of these, nested freely — into a JSON value.
///
/// `mark` names the mark in the error for anything else, which points at the
/// offending expression.
pub fn to_json(expr: &Expr, mark: &str) -> syn::Result<Value> {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => lit_to_json(lit, false, mark),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr: inner,
            ..
        }) => match &**inner {
            Expr::Lit(ExprLit {
                lit: lit @ (Lit::Int(_) | Lit::Float(_)),
                ..
            }) => lit_to_json(lit, true, mark),
            _ => Err(not_a_literal(expr, mark)),
        },
        Expr::Array(array) => array
            .elems
            .iter()
            .map(|e| to_json(e, mark))
            .collect::<syn::Result<Vec<_>>>()
            .map(Value::Array),
        // What `macro_rules!` wraps around an `$e:expr` it passes on.
        Expr::Group(group) => to_json(&group.expr, mark),
        _ => Err(not_a_literal(expr, mark)),
    }
}

/// [`to_json`], then the compact JSON text the generated code embeds.
pub fn to_json_text(expr: &Expr, mark: &str) -> syn::Result<String> {
    to_json(expr, mark).map(|value| value.to_string())
}

fn lit_to_json(lit: &Lit, negative: bool, mark: &str) -> syn::Result<Value> {
    match lit {
        Lit::Int(int) => {
            let magnitude: u128 = int.base10_parse()?;
            let number = if negative {
                i64::try_from(magnitude)
                    .ok()
                    .map(|m| Number::from(-m))
                    .or_else(|| (magnitude == 1 << 63).then(|| Number::from(i64::MIN)))
            } else {
                u64::try_from(magnitude).ok().map(Number::from)
            };
            number.map(Value::Number).ok_or_else(|| {
                syn::Error::new_spanned(lit, "integer out of range for JSON (i64 or u64)")
            })
        }
        Lit::Float(float) => {
            let value: f64 = float.base10_parse()?;
            let value = if negative { -value } else { value };
            Number::from_f64(value)
                .map(Value::Number)
                .ok_or_else(|| syn::Error::new_spanned(lit, "float out of range for JSON"))
        }
        Lit::Bool(b) => Ok(Value::Bool(b.value)),
        Lit::Str(s) => Ok(Value::String(s.value())),
        _ => Err(not_a_literal(lit, mark)),
    }
}

fn not_a_literal(tokens: impl quote::ToTokens, mark: &str) -> syn::Error {
    syn::Error::new_spanned(
        tokens,
        format!("{mark} values must be literals (int, float, bool, string, or arrays of them)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn text(expr: Expr) -> String {
        to_json_text(&expr, "matrix").unwrap()
    }

    fn error(expr: Expr) -> String {
        to_json(&expr, "matrix").unwrap_err().to_string()
    }

    #[test]
    fn scalars() {
        assert_eq!(text(parse_quote!(3)), "3");
        assert_eq!(text(parse_quote!(-3)), "-3");
        assert_eq!(text(parse_quote!(1_000u64)), "1000");
        assert_eq!(text(parse_quote!(0x10)), "16");
        assert_eq!(text(parse_quote!(2.5)), "2.5");
        assert_eq!(text(parse_quote!(-0.5f32)), "-0.5");
        assert_eq!(text(parse_quote!(1.0)), "1.0");
        assert_eq!(text(parse_quote!(true)), "true");
        assert_eq!(text(parse_quote!(false)), "false");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(text(parse_quote!("plain")), r#""plain""#);
        assert_eq!(
            text(parse_quote!("quote \" back \\ tab \t é")),
            r#""quote \" back \\ tab \t é""#
        );
        assert_eq!(text(parse_quote!(r"C:\dir")), r#""C:\\dir""#);
    }

    #[test]
    fn arrays_nest() {
        assert_eq!(text(parse_quote!([])), "[]");
        assert_eq!(
            text(parse_quote!([1, "a", [true, -2.0]])),
            r#"[1,"a",[true,-2.0]]"#
        );
    }

    #[test]
    fn integer_limits() {
        assert_eq!(
            text(parse_quote!(18446744073709551615)),
            "18446744073709551615"
        );
        assert_eq!(
            text(parse_quote!(-9223372036854775808)),
            "-9223372036854775808"
        );
        assert!(error(parse_quote!(18446744073709551616)).contains("out of range"));
        assert!(error(parse_quote!(-9223372036854775809)).contains("out of range"));
        assert!(error(parse_quote!(1e999)).contains("out of range"));
    }

    #[test]
    fn anything_else_is_rejected() {
        let msg = "matrix values must be literals (int, float, bool, string, or arrays of them)";
        assert_eq!(error(parse_quote!(SIZE)), msg);
        assert_eq!(error(parse_quote!(f(1))), msg);
        assert_eq!(error(parse_quote!(-x)), msg);
        assert_eq!(error(parse_quote!(!true)), msg);
        assert_eq!(error(parse_quote!('c')), msg);
        assert_eq!(error(parse_quote!(b"bytes")), msg);
        assert_eq!(error(parse_quote!([1, two])), msg);
        assert_eq!(error(parse_quote!(1 + 1)), msg);
    }
}
