//! Config-file templates (handlebars), found in `templates/` beside the
//! caller's source file as in ducktape, or in the crate's `templates/`.
//!
//! Strict mode: a variable the context lacks is an error naming it. No HTML
//! escaping: these are config files, not web pages.

use handlebars::Handlebars;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A template could not be found or rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// No file of that name in any template directory.
    #[error("template {name:?} not found in {searched}")]
    NotFound {
        /// The name asked for.
        name: String,
        /// The directories searched.
        searched: String,
    },
    /// The file could not be read.
    #[error("template {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Rendering failed (syntax, or a missing variable).
    #[error("template {name}: {reason}")]
    Render {
        /// The template's name.
        name: String,
        /// handlebars' message, which names the missing variable.
        reason: String,
    },
}

fn engine() -> Handlebars<'static> {
    let mut h = Handlebars::new();
    h.set_strict_mode(true);
    h.register_escape_fn(handlebars::no_escape);
    h
}

/// Renders a template string with `context`.
pub fn render_str(
    name: &str,
    template: &str,
    context: &impl Serialize,
) -> Result<String, TemplateError> {
    engine()
        .render_template(template, context)
        .map_err(|e| TemplateError::Render {
            name: name.to_string(),
            reason: render_reason(&e),
        })
}

fn render_reason(e: &handlebars::RenderError) -> String {
    match e.reason() {
        handlebars::RenderErrorReason::MissingVariable(Some(var)) => {
            format!(
                "variable `{var}` is missing from the context (line {:?})",
                e.line_no
            )
        }
        other => other.to_string(),
    }
}

/// The directories searched for `name`, most specific first.
#[doc(hidden)]
pub fn search_dirs(manifest_dir: &str, source_file: &str) -> Vec<PathBuf> {
    let manifest = Path::new(manifest_dir);
    let mut dirs = Vec::new();
    // file!() is relative to the workspace root, which for a member crate is
    // an ancestor of its manifest directory: try each ancestor.
    for base in manifest.ancestors() {
        if let Some(parent) = base.join(source_file).parent() {
            if parent.is_dir() {
                dirs.push(parent.join("templates"));
                break;
            }
        }
    }
    dirs.push(manifest.join("templates"));
    dirs
}

/// Renders the template file `name` found in `dirs` (see [`render!`](crate::render)).
#[doc(hidden)]
pub fn render_in(
    dirs: &[PathBuf],
    name: &str,
    context: &impl Serialize,
) -> Result<String, TemplateError> {
    let path = dirs
        .iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| TemplateError::NotFound {
            name: name.to_string(),
            searched: dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let text = std::fs::read_to_string(&path).map_err(|source| TemplateError::Read {
        path: path.clone(),
        source,
    })?;
    render_str(&path.display().to_string(), &text, context)
}

/// Renders `templates/<name>` found beside the calling source file (or in
/// the calling crate's `templates/`) with a serializable context.
///
/// ```no_run
/// use ducktape::prelude::*;
///
/// fn config(hosts: &[&str]) -> ducktape::Result<String> {
///     // templates/zookeeper.properties beside this file: `{{#each nodes}}…{{/each}}`
///     Ok(ducktape::render!("zookeeper.properties", &json!({ "nodes": hosts }))?)
/// }
/// ```
#[macro_export]
macro_rules! render {
    ($name:expr, $context:expr) => {
        $crate::template::render_in(
            &$crate::template::search_dirs(env!("CARGO_MANIFEST_DIR"), file!()),
            $name,
            $context,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_variable_is_named_and_nothing_is_escaped() {
        let ok = render_str(
            "t",
            "a={{a}} b={{b}}",
            &serde_json::json!({"a": "<x&y>", "b": 2}),
        )
        .unwrap();
        assert_eq!(ok, "a=<x&y> b=2");
        let err = render_str("zk.properties", "port={{port}}", &serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("zk.properties") && err.contains("`port`"),
            "{err}"
        );
    }
}
