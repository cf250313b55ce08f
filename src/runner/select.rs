//! Which cases run: filters, suite files, `--exact`, `--skip`, `--exclude`, ignore marks,
//! `--parameters`, subsets and samples.
//!
//! Subsets and samples split the whole suite *before* name filters, so that
//! membership depends only on the suite: under nextest every process runs
//! `--exact <one name>` and must still agree on which subset a test is in.
//! For the same reason, the warning for a selection of zero tests is about
//! the user's filters matching nothing in the whole binary, never about an
//! empty subset or sample.

use super::suite;
use crate::cli::Options;
use crate::mark::{case_name, MarkError, TestCase};
use crate::registry::TestDescriptor;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Bad selection input (exit status 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// `--parameters` names arguments a selected test does not take.
    #[error("--parameters: test {test} takes {takes}, not {given}")]
    Parameters {
        /// The test's path.
        test: String,
        /// Its parameters.
        takes: String,
        /// The argument(s) it does not take.
        given: String,
    },
    /// A suite file is bad.
    #[error(transparent)]
    Suite(#[from] super::suite::SuiteError),
    /// `--sample` without a seed under nextest.
    #[error(
        "--sample under nextest needs --sample-seed (DUCKTAPE_SAMPLE_SEED): every test \
         process must draw the same sample"
    )]
    SampleSeed,
    /// `--parameters` leaves some of a test's parameters without a value.
    #[error("--parameters: test {test} also needs {missing}")]
    MissingParameters {
        /// The test's path.
        test: String,
        /// The parameters with no value.
        missing: String,
    },
    /// `--parameters` was given but no test was selected.
    #[error("--parameters: no test selected (name the test to run with these arguments)")]
    NothingSelected,
}

/// The selected cases and how `--sample` was seeded.
#[derive(Debug)]
pub struct Selection {
    /// Cases to run (ignored ones included; they are reported as IGNORE).
    pub cases: Vec<TestCase>,
    /// The seed `--sample` used, to print.
    pub sample_seed: Option<u64>,
    /// Set when the user's filters match no test of the binary: what
    /// selected nothing, to print as a warning (see `nothing_matches`).
    pub warning: Option<String>,
}

/// Applies every selection flag to `all` (sorted by name).
pub fn select(
    all: Vec<TestCase>,
    o: &Options,
    parameters: Option<&Map<String, Value>>,
    run_times: Option<&HashMap<String, f64>>,
) -> Result<Selection, SelectError> {
    let (suite_files, names): (Vec<&String>, Vec<&String>) =
        o.filters.iter().partition(|f| suite::is_suite_file(f));
    // A suite file where a filter goes adds tests, like any filter;
    // `--suite` restricts the run to its suites (so under nextest, where
    // each process gets `--exact <name>`, it narrows instead of widening).
    let mut suites = Vec::new();
    for f in suite_files {
        suites.extend(suite::load(std::path::Path::new(f))?);
    }
    let mut restrict = Vec::new();
    for f in &o.suite {
        restrict.extend(suite::load(f)?);
    }
    let pairs = || all.iter().map(|c| (c.name.as_str(), c.test.path()));
    suite::check_patterns(&suites, pairs())?;
    suite::check_patterns(&restrict, pairs())?;
    let names: Vec<String> = names.into_iter().cloned().collect();
    let no_filters = names.is_empty() && suites.is_empty();
    let chosen = |c: &TestCase| {
        (no_filters
            || names.iter().any(|f| matches_one(c, f, o.exact))
            || suites.iter().any(|s| s.selects(&c.name, &c.test.path())))
            && (restrict.is_empty() || restrict.iter().any(|s| s.selects(&c.name, &c.test.path())))
            && !o.skip.iter().any(|s| matches_one(c, s, o.exact))
            && !o
                .exclude
                .iter()
                .any(|p| suite::pattern_matches(p, &c.name, &c.test.path()))
    };
    let matched = all.iter().filter(|c| chosen(c)).count();
    let matched_ignored = all
        .iter()
        .filter(|c| chosen(c) && c.ignored.is_some())
        .count();
    let warning = nothing_matches(o, all.len(), matched, matched_ignored);
    // `--parameters` may name one of a test's own cases, wherever the
    // subset split put it.
    let every = parameters.map(|_| all.clone()).unwrap_or_default();
    let cases = subset(all, o.subsets, o.subset, run_times);
    let (cases, sample_seed) = match o.sample {
        Some(n) => {
            // Every nextest process must draw the same sample as the listing.
            if o.sample_seed.is_none() && std::env::var_os("NEXTEST").is_some() {
                return Err(SelectError::SampleSeed);
            }
            let seed = o.sample_seed.unwrap_or_else(|| fastrand::u64(..));
            (sample(cases, n, seed), Some(seed))
        }
        None => (cases, None),
    };
    let mut cases: Vec<TestCase> = cases
        .into_iter()
        .filter(|c| chosen(c) && (!o.ignored || c.ignored.is_some()))
        .collect();
    if let Some(params) = parameters {
        cases = inject(cases, &every, params)?;
    }
    if o.ignored || o.include_ignored {
        for c in &mut cases {
            c.ignored = None;
        }
    }
    Ok(Selection {
        cases,
        sample_seed,
        warning,
    })
}

/// The cases `--exact NAME...` names, found without building the rest of
/// the suite: each name is looked up in each test's case table, so a process
/// running one case (how nextest and IDEs run tests) costs the same in a
/// suite of 200 cases or 10,000. `None` when the flags need the whole suite:
/// suite files, `--suite`, `--sample`, `--parameters`,
/// `--historical-report` (balanced subsets need every case's run time),
/// listing. Finish with [`finish_exact`].
pub fn exact_candidates(
    tests: &'static [TestDescriptor],
    o: &Options,
    parameters: bool,
) -> Result<Option<Vec<TestCase>>, MarkError> {
    let whole_suite = !o.exact
        || o.filters.is_empty()
        || o.filters.iter().any(|f| suite::is_suite_file(f))
        || !o.suite.is_empty()
        || o.sample.is_some()
        || parameters
        || o.historical_report.is_some()
        || o.list
        || o.collect_only
        || o.collect_num_nodes;
    if whole_suite {
        return Ok(None);
    }
    let mut seen = std::collections::HashSet::new();
    let mut found = Vec::new();
    for filter in &o.filters {
        for test in tests {
            let cases = if test.path() == *filter {
                crate::mark::expand(test)?
            } else {
                crate::mark::find(test, filter)?.into_iter().collect()
            };
            found.extend(cases.into_iter().filter(|c| seen.insert(c.name.clone())));
        }
    }
    Ok(Some(found))
}

/// Applies `--skip`, `--exclude`, `--subsets` (by name hash), `--ignored`
/// and `--include-ignored` to what [`exact_candidates`] found, exactly as
/// [`select`] would; `total` counts the binary's cases for the warning.
pub fn finish_exact(
    found: Vec<TestCase>,
    o: &Options,
    total: impl FnOnce() -> Result<usize, MarkError>,
) -> Result<Selection, MarkError> {
    let chosen = |c: &TestCase| {
        !o.skip.iter().any(|s| matches_one(c, s, true))
            && !o
                .exclude
                .iter()
                .any(|p| suite::pattern_matches(p, &c.name, &c.test.path()))
    };
    let mut cases: Vec<TestCase> = found.into_iter().filter(|c| chosen(c)).collect();
    let ignored = cases.iter().filter(|c| c.ignored.is_some()).count();
    let warning = if cases.is_empty() || (o.ignored && ignored == 0) {
        nothing_matches(o, total()?, cases.len(), ignored)
    } else {
        None
    };
    cases.retain(|c| {
        (o.subsets <= 1 || subset_of(&c.name, o.subsets) == o.subset)
            && (!o.ignored || c.ignored.is_some())
    });
    if o.ignored || o.include_ignored {
        for c in &mut cases {
            c.ignored = None;
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Selection {
        cases,
        sample_seed: None,
        warning,
    })
}

/// What to warn about when the user's own selection flags (filters, suite
/// files, `--suite`, `--skip`, `--exclude`, `--ignored`) match no test of
/// the whole binary, like `no test matches the filter "nosuch" (57 tests in
/// this binary)`.
///
/// Counted before `--subsets` and `--sample`: an empty subset or sample of
/// tests that do exist is expected (more shards than tests; a nextest
/// process whose test is outside `DUCKTAPE_SUBSET`), and is not a filter
/// that matched nothing. Not a warning for `--list` either (the runner
/// decides), which nextest sends to every binary.
fn nothing_matches(o: &Options, total: usize, matched: usize, ignored: usize) -> Option<String> {
    let mut asked: Vec<String> = Vec::new();
    if !o.filters.is_empty() {
        let quoted: Vec<String> = o.filters.iter().map(|f| format!("{f:?}")).collect();
        let noun = if quoted.len() == 1 {
            "filter"
        } else {
            "filters"
        };
        let exact = if o.exact { " (--exact)" } else { "" };
        asked.push(format!("the {noun} {}{exact}", quoted.join(", ")));
    }
    asked.extend(o.suite.iter().map(|s| format!("--suite {}", s.display())));
    asked.extend(o.skip.iter().map(|s| format!("--skip {s:?}")));
    asked.extend(o.exclude.iter().map(|s| format!("--exclude {s:?}")));
    if o.ignored {
        asked.push("--ignored".into());
    }
    if asked.is_empty() {
        return None;
    }
    let total = format!("{total} tests in this binary");
    match (matched, o.ignored && ignored == 0) {
        (0, _) => Some(format!("no test matches {} ({total})", asked.join(", "))),
        (n, true) => Some(format!(
            "no test matches {} ({total}; {n} match but none is ignored)",
            asked.join(", ")
        )),
        _ => None,
    }
}

/// `--exact` matches the whole case name or the test's path (all its cases);
/// otherwise a substring of the case name.
fn matches_one(c: &TestCase, filter: &str, exact: bool) -> bool {
    if exact {
        c.name == filter || c.test.path() == filter
    } else {
        c.name.contains(filter)
    }
}

/// Replaces each selected test's cases by one case with exactly `params`.
fn inject(
    cases: Vec<TestCase>,
    all: &[TestCase],
    params: &Map<String, Value>,
) -> Result<Vec<TestCase>, SelectError> {
    if cases.is_empty() {
        return Err(SelectError::NothingSelected);
    }
    let mut out: Vec<TestCase> = Vec::new();
    for c in cases {
        if out.iter().any(|o| std::ptr::eq(o.test, c.test)) {
            continue;
        }
        let takes = || format!("({})", c.test.params.join(", "));
        let unknown: Vec<&str> = params
            .keys()
            .filter(|k| !c.test.params.contains(&k.as_str()))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(SelectError::Parameters {
                test: c.test.path(),
                takes: takes(),
                given: unknown.join(", "),
            });
        }
        let missing: Vec<&str> = c
            .test
            .params
            .iter()
            .filter(|p| !params.contains_key(**p))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(SelectError::MissingParameters {
                test: c.test.path(),
                missing: missing.join(", "),
            });
        }
        let args: Vec<(String, Value)> = c
            .test
            .params
            .iter()
            .filter_map(|p| params.get(*p).map(|v| (p.to_string(), v.clone())))
            .collect();
        // Arguments of one of the test's own cases: that case, with its
        // cluster and ignore marks. Others: a new case on the test's first
        // case's cluster.
        let name = case_name(&c.test.path(), &args);
        let own = all
            .iter()
            .find(|a| std::ptr::eq(a.test, c.test) && a.name == name);
        out.push(match own {
            Some(own) => own.clone(),
            None => TestCase { name, args, ..c },
        });
    }
    Ok(out)
}

/// Splits into `n` disjoint subsets that together hold every case: by
/// historical run time when known (longest first, onto the lightest subset),
/// else by a stable hash of each case's name ([`subset_of`]), so that a
/// process running one case knows its subset without the rest of the suite.
fn subset(
    cases: Vec<TestCase>,
    n: usize,
    which: usize,
    run_times: Option<&HashMap<String, f64>>,
) -> Vec<TestCase> {
    if n <= 1 {
        return cases;
    }
    let Some(times) = run_times else {
        return cases
            .into_iter()
            .filter(|c| subset_of(&c.name, n) == which)
            .collect();
    };
    // Unknown tests count as the mean, so new tests spread evenly too.
    let known: Vec<f64> = cases
        .iter()
        .filter_map(|c| times.get(&c.name).copied())
        .collect();
    let mean = if known.is_empty() {
        1.0
    } else {
        known.iter().sum::<f64>() / known.len() as f64
    };
    let mut order: Vec<(usize, f64)> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| (i, times.get(&c.name).copied().unwrap_or(mean)))
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut load = vec![0.0f64; n];
    let mut owner = vec![0usize; cases.len()];
    for (i, t) in order {
        let lightest = (0..n)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]))
            .unwrap_or(0);
        load[lightest] += t;
        owner[i] = lightest;
    }
    cases
        .into_iter()
        .enumerate()
        .filter(|(i, _)| owner[*i] == which)
        .map(|(_, c)| c)
        .collect()
}

/// The subset (of `n`) a case belongs to when no run times are known:
/// FNV-1a of its name, the same in every process, build and platform.
pub fn subset_of(name: &str, n: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % n.max(1) as u64) as usize
}

/// A reproducible random sample of `n` cases, kept in suite order.
fn sample(cases: Vec<TestCase>, n: usize, seed: u64) -> Vec<TestCase> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut idx: Vec<usize> = (0..cases.len()).collect();
    rng.shuffle(&mut idx);
    idx.truncate(n);
    idx.sort_unstable();
    let mut keep = vec![false; cases.len()];
    for i in idx {
        keep[i] = true;
    }
    cases
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(c, _)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mark::ClusterUse;
    use crate::registry::{Args, TestDescriptor, TestOutcome};
    use clap::Parser;

    fn body(_: &crate::TestContext, _: &Args) -> TestOutcome {
        Ok(None)
    }

    /// A test `m::<name>` without marks or parameters, with `cases` as its table.
    fn descriptor(
        name: &'static str,
        cases: &'static crate::registry::CaseTable,
    ) -> TestDescriptor {
        TestDescriptor {
            name,
            module_path: "systest::m",
            file: file!(),
            line: line!(),
            doc: "",
            params: &[],
            marks: &[],
            body,
            cases,
        }
    }

    /// Cases `m::a`, `m::b`, and `m::c` (ignored).
    fn cases() -> Vec<TestCase> {
        ["a", "b", "c"]
            .into_iter()
            .map(|name| {
                let test: &'static TestDescriptor = Box::leak(Box::new(descriptor(
                    name,
                    &crate::registry::CaseTable::PLAIN,
                )));
                TestCase {
                    test,
                    name: test.path(),
                    args: Vec::new(),
                    cluster: ClusterUse::Undeclared,
                    ignored: (name == "c").then(|| "slow".to_string()),
                }
            })
            .collect()
    }

    fn run(args: &[&str]) -> Selection {
        let o = Options::parse_from(std::iter::once("t").chain(args.iter().copied()));
        select(cases(), &o, None, None).unwrap()
    }

    #[test]
    fn a_filter_that_matches_nothing_is_named_in_a_warning() {
        let s = run(&["nosuch", "--exact"]);
        assert!(s.cases.is_empty());
        assert_eq!(
            s.warning.as_deref(),
            Some(r#"no test matches the filter "nosuch" (--exact) (3 tests in this binary)"#)
        );
        let s = run(&["m::", "--skip", "m::a", "--exclude", "m::*"]);
        let w = s.warning.unwrap();
        assert!(w.contains(r#"--skip "m::a", --exclude "m::*""#), "{w}");
    }

    #[test]
    fn ignored_without_an_ignored_match_says_so() {
        let w = run(&["m::a", "--ignored"]).warning.unwrap();
        assert!(
            w.contains("--ignored") && w.contains("1 match but none is ignored"),
            "{w}"
        );
        let s = run(&["m::c", "--ignored"]);
        assert_eq!((s.cases.len(), s.warning), (1, None));
        assert!(run(&["--ignored", "m::a", "m::c"]).warning.is_none());
    }

    #[test]
    fn no_warning_for_matches_left_out_by_a_subset_or_for_no_filters() {
        // By name hash over 3 subsets: m::a is in subset 0 only.
        let s = run(&["--exact", "m::a", "--subsets", "3", "--subset", "1"]);
        assert!(s.cases.is_empty());
        assert_eq!(s.warning, None);
        // A seed, as nextest (which runs this test too) requires for --sample.
        let s = run(&["--exact", "m::a", "--sample", "0", "--sample-seed", "1"]);
        assert_eq!((s.cases.len(), s.warning), (0, None));
        assert_eq!(run(&[]).warning, None);
        assert_eq!(run(&["--exact", "m::b"]).warning, None);
    }

    #[test]
    fn a_case_subset_depends_on_its_name_only() {
        // FNV-1a of the name: pinned, so shards agree across builds.
        let of = |n: &str| subset_of(n, 3);
        assert_eq!([of("m::a"), of("m::b"), of("m::c")], [0, 1, 2]);
        for which in 0..3 {
            let s = run(&["--subsets", "3", "--subset", &which.to_string()]);
            let names: Vec<&str> = s.cases.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, [["m::a"], ["m::b"], ["m::c"]][which]);
        }
    }

    #[test]
    fn the_exact_fast_path_selects_what_the_whole_suite_path_does() {
        // m::c is ignored by its mark, so `--ignored` has something to find.
        use crate::registry::CaseTable;
        static IGNORED: CaseTable = CaseTable {
            ignored: &[true],
            ..CaseTable::PLAIN
        };
        let desc = descriptor;
        let tests: &'static [TestDescriptor] = Box::leak(Box::new([
            desc("a", &CaseTable::PLAIN),
            desc("b", &CaseTable::PLAIN),
            desc("c", &IGNORED),
        ]));
        let all = || {
            let mut v: Vec<TestCase> = tests
                .iter()
                .flat_map(|t| crate::mark::expand(t).unwrap())
                .collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            v
        };
        let flags: &[&[&str]] = &[
            &["--exact", "m::a", "m::c"],
            &["--exact", "m::c", "--ignored"],
            &["--exact", "m::a", "m::b", "--subsets", "3", "--subset", "1"],
            &["--exact", "m::a", "--skip", "m::a"],
            &["--exact", "m::b", "--exclude", "m::*"],
            &["--exact", "nosuch"],
        ];
        for args in flags {
            let o = Options::parse_from(std::iter::once("t").chain(args.iter().copied()));
            let found = exact_candidates(tests, &o, false).unwrap().unwrap();
            let fast = finish_exact(found, &o, || Ok(tests.len())).unwrap();
            let slow = select(all(), &o, None, None).unwrap();
            let names = |s: &Selection| -> Vec<(String, bool)> {
                s.cases
                    .iter()
                    .map(|c| (c.name.clone(), c.ignored.is_some()))
                    .collect()
            };
            assert_eq!(names(&fast), names(&slow), "{args:?}");
            assert_eq!(fast.warning, slow.warning, "{args:?}");
        }
        let o = Options::parse_from(["t", "--exact", "m::a", "--sample", "1"]);
        assert!(exact_candidates(tests, &o, false).unwrap().is_none());
    }
}
