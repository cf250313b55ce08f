//! Test suite files (ducktape's `.yml` suites), in trial-name patterns.
//!
//! ```yaml
//! import: common.yml            # or a list; relative to this file
//! smoke:                        # a suite: a list of patterns…
//!   - quickstart::hello
//!   - marks::produce            # a test path: all its cases
//! nightly:                      # …or included/excluded lists
//!   included: ["zookeeper::*", "marks::*"]
//!   excluded: ["marks::ignored_*"]
//! ```
//!
//! A pattern is a case name, a test path (all its cases), or a glob where
//! `*` matches anything. Passing a suite file where a filter goes runs the
//! tests of every suite in it (and in the files it imports).

use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

/// A bad suite file: the message names the file and the problem.
#[derive(Debug, thiserror::Error)]
#[error("suite file {}: {reason}", file.display())]
pub struct SuiteError {
    file: PathBuf,
    reason: String,
}

/// One suite: what it includes and excludes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Suite {
    /// Suite name.
    pub name: String,
    /// Patterns of tests to run.
    pub included: Vec<String>,
    /// Patterns of tests to leave out.
    pub excluded: Vec<String>,
    /// The file it came from (for messages).
    pub file: PathBuf,
}

impl Suite {
    /// Whether the suite runs the case called `name` of the test at `base`.
    pub fn selects(&self, name: &str, base: &str) -> bool {
        let hit = |p: &String| pattern_matches(p, name, base);
        self.included.iter().any(hit) && !self.excluded.iter().any(hit)
    }
}

/// Whether a filter looks like a suite file rather than a name.
pub fn is_suite_file(filter: &str) -> bool {
    filter.ends_with(".yml") || filter.ends_with(".yaml")
}

/// Loads a suite file and everything it imports.
pub fn load(path: &Path) -> Result<Vec<Suite>, SuiteError> {
    let mut suites = Vec::new();
    let mut seen = Vec::new();
    load_into(path, &mut suites, &mut seen)?;
    Ok(suites)
}

fn err(file: &Path, reason: impl Into<String>) -> SuiteError {
    SuiteError {
        file: file.to_path_buf(),
        reason: reason.into(),
    }
}

fn load_into(path: &Path, out: &mut Vec<Suite>, seen: &mut Vec<PathBuf>) -> Result<(), SuiteError> {
    let canonical = path
        .canonicalize()
        .map_err(|e| err(path, format!("cannot read: {e}")))?;
    if seen.contains(&canonical) {
        return Ok(()); // imported twice, or an import cycle
    }
    seen.push(canonical);
    let text = std::fs::read_to_string(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    let docs = YamlLoader::load_from_str(&text).map_err(|e| err(path, format!("not YAML: {e}")))?;
    let Some(Yaml::Hash(top)) = docs.into_iter().next() else {
        return Err(err(path, "expected a mapping of suite names to test lists"));
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    for (key, value) in top {
        let Some(key) = key.as_str() else {
            return Err(err(
                path,
                format!("suite names must be strings, not {key:?}"),
            ));
        };
        if key == "import" {
            for file in strings(path, "import", &value)? {
                let target = dir.join(&file);
                if !target.is_file() {
                    return Err(err(
                        path,
                        format!("import {file}: no such file ({})", target.display()),
                    ));
                }
                load_into(&target, out, seen)?;
            }
        } else {
            out.push(suite(path, key, &value)?);
        }
    }
    Ok(())
}

fn suite(file: &Path, name: &str, value: &Yaml) -> Result<Suite, SuiteError> {
    let mut suite = Suite {
        name: name.to_string(),
        file: file.to_path_buf(),
        ..Suite::default()
    };
    match value {
        Yaml::Hash(h) => {
            for (k, v) in h {
                match k.as_str() {
                    Some("included") => suite.included = strings(file, name, v)?,
                    Some("excluded") => suite.excluded = strings(file, name, v)?,
                    _ => {
                        return Err(err(
                            file,
                            format!("suite {name}: unknown key {k:?} (use included/excluded)"),
                        ))
                    }
                }
            }
        }
        other => suite.included = strings(file, name, other)?,
    }
    if suite.included.is_empty() {
        return Err(err(file, format!("suite {name} includes no tests")));
    }
    Ok(suite)
}

fn strings(file: &Path, what: &str, value: &Yaml) -> Result<Vec<String>, SuiteError> {
    match value {
        Yaml::String(s) => Ok(vec![s.clone()]),
        Yaml::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| err(file, format!("{what}: expected strings, found {i:?}")))
            })
            .collect(),
        other => Err(err(
            file,
            format!("{what}: expected a list of strings, found {other:?}"),
        )),
    }
}

/// Exact case name, test path, or glob (`*` matches anything).
pub fn pattern_matches(pattern: &str, name: &str, base: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == name || pattern == base;
    }
    glob(pattern, name) || glob(pattern, base)
}

fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Checks that every pattern of every suite matches some test: a typo must
/// not silently run nothing.
pub fn check_patterns<'a>(
    suites: &[Suite],
    cases: impl Iterator<Item = (&'a str, String)> + Clone,
) -> Result<(), SuiteError> {
    for s in suites {
        for p in s.included.iter().chain(&s.excluded) {
            if !cases
                .clone()
                .any(|(name, base)| pattern_matches(p, name, &base))
            {
                return Err(err(
                    &s.file,
                    format!("suite {}: pattern {p:?} matches no test", s.name),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_exact_patterns() {
        assert!(pattern_matches("m::t", "m::t::a=1", "m::t"));
        assert!(pattern_matches("m::t::a=1", "m::t::a=1", "m::t"));
        assert!(!pattern_matches("m::t", "m::t2", "m::t2"));
        assert!(pattern_matches("m::*", "m::t::a=1", "m::t"));
        assert!(pattern_matches("*::a=1", "m::t::a=1", "m::t"));
        assert!(pattern_matches("m::*::a=*", "m::t::a=1", "m::t"));
        assert!(!pattern_matches("x::*", "m::t", "m::t"));
    }

    #[test]
    fn suites_import_and_exclude() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/common.yml"), "common:\n  - m::a\n").unwrap();
        std::fs::write(
            dir.path().join("main.yml"),
            "import: sub/common.yml\nnightly:\n  included: ['m::*']\n  excluded: [m::b]\n",
        )
        .unwrap();
        let suites = load(&dir.path().join("main.yml")).unwrap();
        assert_eq!(suites.len(), 2);
        assert!(suites[0].selects("m::a", "m::a"));
        assert!(suites[1].selects("m::c", "m::c"));
        assert!(!suites[1].selects("m::b", "m::b"));
    }

    #[test]
    fn bad_suite_files_name_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let cases: &[(&str, &str)] = &[
            ("s:\n  include: [a]\n", "unknown key"),
            ("import: nope.yml\n", "import nope.yml: no such file"),
            ("s: [a\n", "not YAML"),
            ("- a\n", "expected a mapping"),
            ("s: []\n", "includes no tests"),
        ];
        for (text, needle) in cases {
            let f = dir.path().join("bad.yml");
            std::fs::write(&f, text).unwrap();
            let e = load(&f).unwrap_err().to_string();
            assert!(e.contains("bad.yml") && e.contains(needle), "{text:?}: {e}");
        }
        let suites = vec![Suite {
            name: "s".into(),
            included: vec!["zz::*".into()],
            excluded: vec![],
            file: "f.yml".into(),
        }];
        let e = check_patterns(&suites, [("m::t", "m::t".to_string())].into_iter())
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"zz::*\" matches no test"), "{e}");
    }
}
