//! Each test's cases, worked out at compile time.
//!
//! This replays `ducktape::mark::expand` on the marks' JSON texts so the
//! runner can find one case by name (`--exact`, how nextest and IDEs run a
//! case) and list every case without expanding and sorting the whole suite
//! in every process. `ducktape::mark` keeps the runtime expansion for
//! descriptors written by hand, and its tests check that both agree.

use crate::marks::Mark;
use serde_json::Value;
use syn::ext::IdentExt;
use syn::Ident;

/// One case: its name after the test's path, argument texts in parameter
/// order, the cluster mark that applies (its ordinal among the `cluster`
/// marks), and whether an `ignore` mark matches it.
pub struct Row {
    pub suffix: String,
    pub args: Vec<String>,
    pub cluster: Option<usize>,
    pub ignored: bool,
}

struct Pending {
    args: Vec<(String, String)>,
    cluster: Option<usize>,
}

/// The rows in mark order, or the name (after the test's path) of a case the
/// marks list twice: two such cases would share a name and a results
/// directory, so the macro refuses them.
pub fn rows(marks: &[Mark], params: &[Ident]) -> Result<Vec<Row>, String> {
    let params: Vec<String> = params.iter().map(|p| p.unraw().to_string()).collect();
    let mut pending = Vec::new();
    let (mut current, mut first, mut ordinal) = (None, None, 0usize);
    let mut defaults: Vec<(String, Vec<String>, Option<usize>)> = Vec::new();
    let mut ignores: Vec<Vec<(String, Value)>> = Vec::new();
    for mark in marks {
        match mark {
            Mark::Cluster(_) => {
                first.get_or_insert(ordinal);
                current = Some(ordinal);
                ordinal += 1;
            }
            Mark::Parametrize(_, kv) => pending.push(Pending {
                args: kv.iter().map(|(k, v)| (key(k), v.clone())).collect(),
                cluster: current,
            }),
            Mark::Matrix(_, lists) => {
                let lists: Vec<(String, Vec<String>)> =
                    lists.iter().map(|(k, vs)| (key(k), vs.clone())).collect();
                for args in product(&lists) {
                    pending.push(Pending {
                        args,
                        cluster: current,
                    });
                }
            }
            Mark::Defaults(lists) => {
                defaults.extend(lists.iter().map(|(k, vs)| (key(k), vs.clone(), current)));
            }
            Mark::Ignore(kv) => ignores.push(kv.iter().map(|(k, v)| (key(k), json(v))).collect()),
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for p in apply_defaults(pending, &defaults) {
        let mut args = p.args;
        args.sort_by_key(|(k, _)| params.iter().position(|p| p == k).unwrap_or(usize::MAX));
        let ignored = ignores.iter().any(|m| {
            m.iter()
                .all(|(k, v)| args.iter().any(|(a, b)| a == k && json(b) == *v))
        });
        let suffix = suffix(&args);
        if !seen.insert(suffix.clone()) {
            return Err(suffix);
        }
        rows.push(Row {
            suffix,
            args: args.into_iter().map(|(_, v)| v).collect(),
            cluster: p.cluster.or(first),
            ignored,
        });
    }
    Ok(rows)
}

fn key(k: &Ident) -> String {
    k.unraw().to_string()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The cartesian product, first key varying slowest.
fn product(lists: &[(String, Vec<String>)]) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (k, values) in lists {
        let mut next = Vec::with_capacity(out.len() * values.len());
        for prefix in &out {
            for v in values {
                let mut args = prefix.clone();
                args.push((k.clone(), v.clone()));
                next.push(args);
            }
        }
        out = next;
    }
    out
}

/// Fills each case's missing arguments with the product of the defaults;
/// with no case at all, the defaults act as a matrix.
fn apply_defaults(
    pending: Vec<Pending>,
    defaults: &[(String, Vec<String>, Option<usize>)],
) -> Vec<Pending> {
    if defaults.is_empty() && pending.is_empty() {
        return vec![Pending {
            args: Vec::new(),
            cluster: None,
        }];
    }
    if defaults.is_empty() {
        return pending;
    }
    let seed = if pending.is_empty() {
        vec![Pending {
            args: Vec::new(),
            cluster: defaults[0].2,
        }]
    } else {
        pending
    };
    let mut out = Vec::new();
    for p in seed {
        let missing: Vec<(String, Vec<String>)> = defaults
            .iter()
            .filter(|(k, _, _)| !p.args.iter().any(|(a, _)| a == k))
            .map(|(k, vs, _)| (k.clone(), vs.clone()))
            .collect();
        for extra in product(&missing) {
            let mut args = p.args.clone();
            args.extend(extra);
            out.push(Pending {
                args,
                cluster: p.cluster,
            });
        }
    }
    out
}

/// `a=1,b=x`: what `ducktape::mark::case_name` appends to the test's path.
fn suffix(args: &[(String, String)]) -> String {
    let parts: Vec<String> = args
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(&json(v))))
        .collect();
    parts.join(",")
}

/// The same encoding as `ducktape::mark::encode_value`.
fn encode(v: &Value) -> String {
    let raw = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
