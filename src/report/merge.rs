//! `--merge-results OUT SHARD...`: one session built from the sessions of
//! many machines (`--subset` shards, nextest partitions) or from ducktape's
//! own `report.json` files.
//!
//! Each shard's records (its `records.jsonl`, or the `results` of a
//! `report.json` that has none) are gathered, each test once: a test that
//! more than one shard ran (same id and result directory) keeps the first
//! shard's record and is listed under `duplicates`; the suite's tests no
//! shard ran are listed under `missing`. Every kept record names its
//! `shard` (the session directory's name) and `host` (the machine's name
//! from the shard's `session.json`). The test directories are copied, so
//! the merged HTML report links to every log, and every report is rebuilt
//! from the merged records by [`super::rebuild`].

use super::error::{IoContext, ReportError};
use super::record::{MergeInfo, SessionMeta, Status, TestRecord};
use super::{fsutil, load_meta, rebuild, META, RECORDS};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// What a merge did, for the console.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    /// The merged session directory.
    pub dir: PathBuf,
    /// Shards read.
    pub shards: usize,
    /// Records kept (each test once).
    pub records: usize,
    /// Records with status FAIL among them.
    pub failed: usize,
    /// Tests of the suite no shard ran.
    pub missing: Vec<String>,
    /// `test_id (shard, shard, ...)` of each test run more than once.
    pub duplicates: Vec<String>,
}

impl Merged {
    /// True if every test of the suite ran exactly once.
    pub fn complete(&self) -> bool {
        self.missing.is_empty() && self.duplicates.is_empty()
    }
}

impl fmt::Display for Merged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ducktape: merged {} records ({} failed) from {} shards into {}",
            self.records,
            self.failed,
            self.shards,
            self.dir.display()
        )?;
        if !self.duplicates.is_empty() {
            write!(
                f,
                "\nducktape: {} tests ran in more than one shard (the first shard's record is kept): {}",
                self.duplicates.len(),
                self.duplicates.join(", ")
            )?;
        }
        if !self.missing.is_empty() {
            write!(
                f,
                "\nducktape: {} tests of the suite ran in no shard: {}",
                self.missing.len(),
                self.missing.join(", ")
            )?;
        }
        Ok(())
    }
}

/// One input: its records and where they came from.
struct Shard {
    name: String,
    dir: PathBuf,
    meta: Option<SessionMeta>,
    records: Vec<TestRecord>,
}

/// Merges `shards` into a new session `out` (absent or empty). `expected`:
/// the test ids the suite holds, to report the ones no shard ran.
pub fn merge(
    out: &Path,
    shards: &[PathBuf],
    expected: Option<&[String]>,
) -> Result<Merged, ReportError> {
    check_out(out)?;
    let mut loaded = Vec::with_capacity(shards.len());
    for path in shards {
        loaded.push(load_shard(path)?);
    }
    name_shards_uniquely(&mut loaded);
    fsutil::create_dirs(out)?;
    let (kept, duplicates) = dedupe(&loaded);
    let ran: BTreeSet<&str> = loaded
        .iter()
        .flat_map(|s| s.records.iter().map(|r| r.test_id.as_str()))
        .collect();
    let missing: Vec<String> = expected
        .unwrap_or_default()
        .iter()
        .filter(|id| !ran.contains(id.as_str()))
        .cloned()
        .collect();
    let mut records: Vec<TestRecord> = Vec::with_capacity(kept.len());
    for (shard, record) in &kept {
        copy_test_dir(&shard.dir, &record.relative_results_dir, out)?;
        records.push(record.clone());
    }
    records.sort_by(|a, b| a.start_time.total_cmp(&b.start_time));
    write_records(out, &records)?;
    write_rerun_file(out, &records)?;
    let meta = merged_meta(out, &loaded, &missing, &duplicates);
    let text = serde_json::to_string_pretty(&meta)
        .map_err(|e| ReportError::invalid(&out.join(META), e.to_string()))?;
    fsutil::write_atomic(&out.join(META), text.as_bytes())?;
    rebuild(out)?;
    Ok(Merged {
        dir: out.to_path_buf(),
        shards: loaded.len(),
        records: records.len(),
        failed: records
            .iter()
            .filter(|r| r.test_status == Status::Fail)
            .count(),
        missing,
        duplicates: duplicates.iter().map(describe_duplicate).collect(),
    })
}

/// The output must be new (or empty): merging into a session would mix two.
fn check_out(out: &Path) -> Result<(), ReportError> {
    let used = fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_some());
    if used {
        return Err(ReportError::invalid(
            out,
            "the merge output directory must be new or empty",
        ));
    }
    Ok(())
}

/// Reads one shard: a session directory (its `records.jsonl`), a directory
/// holding only a `report.json` (ducktape's), or a `report.json` file.
fn load_shard(path: &Path) -> Result<Shard, ReportError> {
    // `results/latest` names the session it points at.
    let canonical = fs::canonicalize(path).ctx("find shard", path)?;
    let (dir, report) = if canonical.is_file() {
        let parent = canonical.parent().unwrap_or(Path::new("/")).to_path_buf();
        (parent, Some(canonical.clone()))
    } else if canonical.join(RECORDS).is_file() && canonical.join(META).is_file() {
        (canonical.clone(), None)
    } else if canonical.join("report.json").is_file() {
        (canonical.clone(), Some(canonical.join("report.json")))
    } else {
        return Err(ReportError::invalid(
            path,
            "not a shard: expected a session directory (records.jsonl and session.json) \
             or a report.json",
        ));
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let meta = dir
        .join(META)
        .is_file()
        .then(|| load_meta(&dir.join(META)))
        .transpose()?;
    let records = match report {
        Some(report) => report_records(&report)?,
        None => session_records(&dir.join(RECORDS))?,
    };
    Ok(Shard {
        name,
        dir,
        meta,
        records,
    })
}

/// The records of a `records.jsonl`; a line that is not a record (a crash
/// cut it short) is named on the console and left out.
fn session_records(path: &Path) -> Result<Vec<TestRecord>, ReportError> {
    let text = fsutil::read_string(path)?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        match serde_json::from_str(line) {
            Ok(r) => out.push(r),
            Err(e) => eprintln!(
                "ducktape: {} line {}: not a record, left out ({e})",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(out)
}

/// The `results` of a session `report.json` (ours or ducktape 0.17's).
fn report_records(path: &Path) -> Result<Vec<TestRecord>, ReportError> {
    super::historical::read_results(path)?
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            serde_json::from_value(r)
                .map_err(|e| ReportError::invalid(path, format!("results[{i}]: {e}")))
        })
        .collect()
}

/// Shards of different machines often share a session name (each
/// machine's first session of the day): those are named by their path.
fn name_shards_uniquely(shards: &mut [Shard]) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for s in shards.iter() {
        *counts.entry(s.name.clone()).or_default() += 1;
    }
    for s in shards.iter_mut() {
        if counts[&s.name] > 1 {
            s.name = s.dir.display().to_string();
        }
    }
}

/// One kept record per (test id, result directory), naming its shard and
/// host; and the tests that more than one shard ran, with those shards.
#[allow(clippy::type_complexity)]
fn dedupe(
    shards: &[Shard],
) -> (
    Vec<(&Shard, TestRecord)>,
    Vec<(String, String, Vec<String>)>,
) {
    let mut kept: Vec<(&Shard, TestRecord)> = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let mut dups: Vec<(String, String, Vec<String>)> = Vec::new();
    for shard in shards {
        let host = shard
            .meta
            .as_ref()
            .map(|m| m.hostname.clone())
            .unwrap_or_default();
        for r in &shard.records {
            let key = (r.test_id.clone(), r.relative_results_dir.clone());
            if let Some(&first) = seen.get(&key) {
                match dups.iter_mut().find(|d| d.0 == key.0 && d.1 == key.1) {
                    Some(d) => d.2.push(shard.name.clone()),
                    None => dups.push((
                        key.0.clone(),
                        key.1.clone(),
                        vec![kept[first].1.shard.clone(), shard.name.clone()],
                    )),
                }
                continue;
            }
            let mut r = r.clone();
            r.shard = shard.name.clone();
            r.host = host.clone();
            seen.insert(key, kept.len());
            kept.push((shard, r));
        }
    }
    (kept, dups)
}

fn describe_duplicate(d: &(String, String, Vec<String>)) -> String {
    format!("{} ({})", d.0, d.2.join(", "))
}

fn merged_meta(
    out: &Path,
    shards: &[Shard],
    missing: &[String],
    duplicates: &[(String, String, Vec<String>)],
) -> SessionMeta {
    let shard_info = shards
        .iter()
        .map(|s| {
            let m = s.meta.as_ref();
            json!({
                "name": s.name,
                "path": s.dir.display().to_string(),
                "host": m.map(|m| m.hostname.as_str()).unwrap_or(""),
                "session_id": m.map(|m| m.session_id.as_str()).unwrap_or(""),
                "records": s.records.len(),
            })
        })
        .collect();
    let dups = duplicates
        .iter()
        .map(|(id, rel, shards)| {
            json!({"test_id": id, "relative_results_dir": rel, "kept": shards[0], "also": shards[1..]})
        })
        .collect();
    let names: Vec<&str> = shards.iter().map(|s| s.name.as_str()).collect();
    SessionMeta {
        session_id: out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "merged".into()),
        ducktape_version: env!("CARGO_PKG_VERSION").to_string(),
        cluster_num_nodes: shards
            .iter()
            .filter_map(|s| s.meta.as_ref())
            .map(|m| m.cluster_num_nodes)
            .sum(),
        session_context: json!({"merged_from": names}),
        hostname: super::hostname(),
        merge: Some(MergeInfo {
            shards: shard_info,
            missing: missing.to_vec(),
            duplicates: dups,
        }),
    }
}

fn write_records(out: &Path, records: &[TestRecord]) -> Result<(), ReportError> {
    let path = out.join(RECORDS);
    let mut text = String::new();
    for r in records {
        // As a session's own writer makes it (its keys sorted).
        text.push_str(&super::Finished::new(r)?.line);
    }
    fsutil::write_atomic(&path, text.as_bytes())
}

/// `rerun-failed.yml` for the merged session: every failed test of every
/// shard, so one command reruns them on one machine.
fn write_rerun_file(out: &Path, records: &[TestRecord]) -> Result<(), ReportError> {
    let failed: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.test_status == Status::Fail)
        .map(|r| r.test_id.as_str())
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let mut text = String::from(
        "# The tests that failed in the merged shards. Rerun them with\n\
         #   cargo test --test <target> -- <this file>\nrerun-failed:\n",
    );
    for id in failed {
        text.push_str(&format!("  - {}\n", Value::String(id.to_owned())));
    }
    fsutil::write_atomic(&out.join("rerun-failed.yml"), text.as_bytes())
}

/// Copies a test's directory from its shard (logs, data.json, its own
/// reports), if the shard has it and the path stays inside both.
fn copy_test_dir(shard: &Path, rel: &str, out: &Path) -> Result<(), ReportError> {
    let rel = Path::new(rel);
    let inside = rel.components().all(|c| matches!(c, Component::Normal(_)));
    if !inside || rel.as_os_str().is_empty() {
        return Ok(());
    }
    let from = shard.join(rel);
    if !from.is_dir() {
        return Ok(());
    }
    copy_tree(&from, &out.join(rel))
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), ReportError> {
    fsutil::create_dirs(to)?;
    for entry in fs::read_dir(from).ctx("list", from)?.flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().ctx("stat", &src)?;
        if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            fs::copy(&src, &dst).ctx("copy", &src)?;
        }
    }
    Ok(())
}
