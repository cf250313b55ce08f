//! Which cases run: filters, suite files, `--exact`, `--skip`, `--exclude`, ignore marks,
//! `--parameters`, subsets and samples.
//!
//! Subsets and samples split the whole suite *before* name filters, so that
//! membership depends only on the suite: under nextest every process runs
//! `--exact <one name>` and must still agree on which subset a test is in.

use super::suite;
use crate::cli::Options;
use crate::mark::{case_name, TestCase};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Bad selection input (exit status 2).
#[derive(Debug, thiserror::Error)]
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
        .filter(|c| {
            no_filters
                || names.iter().any(|f| matches_one(c, f, o.exact))
                || suites.iter().any(|s| s.selects(&c.name, &c.test.path()))
        })
        .filter(|c| {
            restrict.is_empty() || restrict.iter().any(|s| s.selects(&c.name, &c.test.path()))
        })
        .filter(|c| !o.skip.iter().any(|s| matches_one(c, s, o.exact)))
        .filter(|c| {
            !o.exclude
                .iter()
                .any(|p| suite::pattern_matches(p, &c.name, &c.test.path()))
        })
        .filter(|c| !o.ignored || c.ignored.is_some())
        .collect();
    if let Some(params) = parameters {
        cases = inject(cases, &every, params)?;
    }
    if o.ignored || o.include_ignored {
        for c in &mut cases {
            c.ignored = None;
        }
    }
    Ok(Selection { cases, sample_seed })
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
/// else round-robin by count.
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
            .enumerate()
            .filter(|(i, _)| i % n == which)
            .map(|(_, c)| c)
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
