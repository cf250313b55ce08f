//! Crash consistency of the session reports, from outside: a 500-test run
//! SIGKILLed at random moments again and again, in new sessions and in
//! sessions that later processes join (as nextest's do), must leave every
//! report of every session parseable and holding every record of its
//! `records.jsonl`, once the next process has opened the session or the
//! next run has started. And `--rebuild-reports`.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills wanted, at least this many must land on a running process, and the
/// time the loop may take.
const KILLS: usize = 36;
const MIN_KILLS: usize = 30;
const BUDGET: Duration = Duration::from_secs(45);

/// Starts the 500 kill-loop cases at 8 in parallel, or just one (`one`),
/// as nextest's process for run `run_id` would when given one.
/// Its stderr goes to `<results>/stderr.log` (repairs are reported there).
fn start(results: &Path, lease_root: &Path, run_id: Option<&str>, one: bool) -> Child {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(results.join("stderr.log"))
        .unwrap();
    let mut cmd = Command::new(fixtures_bin());
    if one {
        cmd.args(["--exact", "killloop::case::a=0,b=0"]);
    } else {
        cmd.arg("killloop::");
    }
    cmd.args(["--max-parallel", "8", "-q", "--results-root"])
        .arg(results)
        .arg("--lease-root")
        .arg(lease_root)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    for (k, _) in std::env::vars() {
        if k.starts_with("DUCKTAPE_") || k.starts_with("NEXTEST") {
            cmd.env_remove(&k);
        }
    }
    if let Some(id) = run_id {
        cmd.env("NEXTEST_RUN_ID", id);
    }
    cmd.spawn().expect("fixtures binary starts")
}

/// SIGKILLs `child` after `delay` unless it finished; true if it was killed.
fn kill_after(mut child: Child, delay: Duration) -> bool {
    std::thread::sleep(delay);
    let running = child.try_wait().expect("wait").is_none();
    if running {
        child.kill().expect("SIGKILL");
    }
    child.wait().expect("wait");
    running
}

#[test]
fn random_sigkills_during_a_500_test_run_leave_every_report_complete() {
    let seed = std::env::var("KILL_LOOP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("kill loop seed {seed} (KILL_LOOP_SEED={seed} repeats it)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let results = tempfile::tempdir().unwrap();
    let leases = tempfile::tempdir().unwrap();
    let (results, leases) = (results.path(), leases.path());
    fixtures_bin();
    // Kills come within the time one whole run takes on this machine,
    // measured once (a run that is not killed), so they land on a running
    // process however fast the machine is: a fixed range of up to a second
    // missed most runs on a host where one takes a third of that. A kill that
    // finds the run over narrows the range (later runs may be faster).
    let t = Instant::now();
    let whole = start(results, leases, None, false).wait().unwrap();
    assert!(
        whole.success(),
        "seed {seed}: an uninterrupted run: {whole}"
    );
    let run_ms = u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut latest_kill = (run_ms * 9 / 10).clamp(30, 1000);
    eprintln!("a whole run takes {run_ms} ms; kills within 10-{latest_kill} ms");

    let mut run_ids: Vec<String> = Vec::new();
    let (mut kills, mut rounds) = (0, 0);
    let start_time = Instant::now();
    while kills < KILLS && start_time.elapsed() < BUDGET {
        rounds += 1;
        // A cargo-test run (new session), a new nextest run, or more
        // processes of an earlier nextest run: one, or two at once.
        let run_id = match rng.u8(..4) {
            0 => None,
            1 => {
                run_ids.push(format!("kill-loop-{rounds}"));
                run_ids.last().cloned()
            }
            _ if run_ids.is_empty() => None,
            _ => Some(run_ids[rng.usize(..run_ids.len())].clone()),
        };
        let twins = run_id.is_some() && rng.bool();
        let children: Vec<Child> = (0..1 + usize::from(twins))
            .map(|_| start(results, leases, run_id.as_deref(), false))
            .collect();
        let handles: Vec<_> = children
            .into_iter()
            .map(|c| {
                let delay = Duration::from_millis(rng.u64(10..latest_kill));
                std::thread::spawn(move || kill_after(c, delay))
            })
            .collect();
        for killed in handles.into_iter().map(|h| h.join().unwrap()) {
            if killed {
                kills += 1;
            } else {
                latest_kill = (latest_kill * 9 / 10).max(30);
            }
        }
    }
    eprintln!(
        "{kills} SIGKILLs in {rounds} rounds, {:.1} s (kills within 10-{latest_kill} ms at the end)",
        start_time.elapsed().as_secs_f64()
    );
    assert!(
        kills >= MIN_KILLS,
        "seed {seed}: only {kills} kills landed in {BUDGET:?}"
    );

    let sessions = sessions(results);
    let damaged = sessions.iter().filter(|s| check(s).is_err()).count();
    eprintln!(
        "{damaged} of {} sessions left damaged by the kills",
        sessions.len()
    );

    // The next process of each nextest run repairs its session on open.
    for id in &run_ids {
        let status = start(results, leases, Some(id), true).wait().unwrap();
        assert!(status.success(), "seed {seed}: rerun of {id}: {status}");
    }
    for (id, dir) in run_sessions(results, &run_ids) {
        if let Err(e) = check(&dir) {
            panic!("seed {seed}: run {id} after its next process: {e}");
        }
    }
    // The next run repairs every other session.
    let status = start(results, leases, None, true).wait().unwrap();
    assert!(status.success(), "seed {seed}: last run: {status}");
    let mut repairs = count_repairs(&results.join("stderr.log"));
    for dir in &self::sessions(results) {
        if let Err(e) = check(dir) {
            panic!("seed {seed}: {e}");
        }
        repairs += count_repairs(&dir.join("session_log.info"));
    }
    eprintln!("{repairs} repairs by the next process or run");
}

/// Lines of `log` saying a session's reports were repaired.
fn count_repairs(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("rebuilt the reports of")
        .count()
}

/// The session directories under `results`.
fn sessions(results: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(results)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| p.join("session.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// `run id → session directory` from the results root's run map.
fn run_sessions(results: &Path, run_ids: &[String]) -> Vec<(String, PathBuf)> {
    run_ids
        .iter()
        .map(|id| {
            let map = results.join(".ducktape/runs").join(id);
            let session = std::fs::read_to_string(&map).unwrap();
            (id.clone(), results.join(session.trim()))
        })
        .collect()
}

/// Every report of `dir` parses and lists exactly the records of
/// `records.jsonl`, in order; so does every test's own report.
fn check(dir: &Path) -> Result<(), String> {
    let at = |name: &str, e: String| format!("{}: {e}", dir.join(name).display());
    let read =
        |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| at(name, e.to_string()));
    let records = records_ids(&read("records.jsonl")?).map_err(|e| at("records.jsonl", e))?;
    let n = records.len();
    let same = |name: &str, got: Vec<String>| {
        if got == records {
            Ok(())
        } else {
            Err(at(
                name,
                format!("{} results, records.jsonl has {n}", got.len()),
            ))
        }
    };
    serde_json::from_str::<Value>(&read("session.json")?)
        .map_err(|e| at("session.json", e.to_string()))?;

    let json: Value = serde_json::from_str(&read("report.json")?)
        .map_err(|e| at("report.json", e.to_string()))?;
    let ids = json["results"]
        .as_array()
        .ok_or_else(|| at("report.json", "no results".into()))?
        .iter()
        .map(|r| r["test_id"].as_str().unwrap_or("").to_string())
        .collect();
    same("report.json", ids)?;
    if json["num_passed"] != n {
        return Err(at(
            "report.json",
            format!("num_passed {} ≠ {n}", json["num_passed"]),
        ));
    }

    let txt = read("report.txt")?;
    if !txt.contains(&format!("tests run:        {n} ")) {
        return Err(at("report.txt", format!("header does not say {n} tests")));
    }
    let ids = txt
        .lines()
        .filter_map(|l| l.strip_prefix("test_id:    "))
        .map(str::to_string)
        .collect();
    same("report.txt", ids)?;

    let xml = read("report.xml")?;
    well_formed_xml(&xml).map_err(|e| at("report.xml", e))?;
    if xml.matches(&format!(" tests=\"{n}\" ")).count() != 2 {
        return Err(at("report.xml", format!("totals do not say {n} tests")));
    }
    let ids = xml
        .split("<testcase name=\"")
        .skip(1)
        // Named as nextest names them: the whole test name.
        .map(|t| t.split('"').next().unwrap_or("").to_string())
        .collect();
    same("report.xml", ids)?;

    let js = read("report.js")?;
    let mut lines = js.lines();
    if !lines
        .next()
        .is_some_and(|l| l.starts_with("ducktape.session(") && l.ends_with(");"))
        || !js.ends_with('\n')
    {
        return Err(at("report.js", "no session line or a cut last line".into()));
    }
    let ids = lines
        .map(|l| {
            let json = l
                .strip_prefix("ducktape.add(")
                .and_then(|l| l.strip_suffix(");"))
                .ok_or_else(|| at("report.js", format!("not a result line: {l}")))?;
            let v: Value =
                serde_json::from_str(json).map_err(|e| at("report.js", e.to_string()))?;
            Ok(v["test_id"].as_str().unwrap_or("").to_string())
        })
        .collect::<Result<_, String>>()?;
    same("report.js", ids)?;
    for name in ["report.html", "report.css"] {
        if read(name)?.is_empty() {
            return Err(at(name, "empty".into()));
        }
    }
    per_test_reports(dir)
}

/// The test ids of `records.jsonl`; every line must be a whole record.
fn records_ids(text: &str) -> Result<Vec<String>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("a cut last line".into());
    }
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1))?;
            Ok(v["test_id"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

/// Every `report.json` / `data.json` under the test directories parses.
fn per_test_reports(session: &Path) -> Result<(), String> {
    let mut stack = vec![session.join("killloop")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else if path
                .file_name()
                .is_some_and(|n| n == "report.json" || n == "data.json")
            {
                let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
                serde_json::from_str::<Value>(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// A small well-formedness check: tags nest and close, one root element,
/// attribute quotes pair up, and `&` starts an entity.
fn well_formed_xml(xml: &str) -> Result<(), String> {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .ok_or("no XML declaration")?;
    let mut open: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        check_text(&rest[..lt])?;
        let gt = rest[lt..].find('>').ok_or("a tag is not closed")? + lt;
        let tag = &rest[lt + 1..gt];
        if tag.contains('<') || tag.matches('"').count() % 2 != 0 {
            return Err(format!("malformed tag <{tag}>"));
        }
        if let Some(name) = tag.strip_prefix('/') {
            if open.pop() != Some(name.trim()) {
                return Err(format!("</{name}> closes nothing open"));
            }
        } else {
            let name = tag.split_whitespace().next().unwrap_or("");
            if open.is_empty() {
                roots += 1;
            }
            if !tag.ends_with('/') {
                open.push(name);
            }
        }
        rest = &rest[gt + 1..];
    }
    check_text(rest)?;
    if !open.is_empty() || roots != 1 {
        return Err(format!("unclosed {open:?} or {roots} root elements"));
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), String> {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..text[i..].find(';').map_or(text.len(), |e| i + e + 1)];
        let known = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity)
            || entity.starts_with("&#") && entity.ends_with(';');
        if !known {
            return Err(format!("bad entity {entity}"));
        }
    }
    Ok(())
}

#[test]
fn rebuild_reports_repairs_a_session_and_refuses_other_paths() {
    let run = run_fixtures(&["--exact", "basic::passes", "basic::fails"], &[]);
    let session = run.session();
    for name in ["report.json", "report.xml", "report.txt", "report.js"] {
        std::fs::write(session.join(name), "damaged").unwrap();
    }
    let dir = session.display().to_string();
    let rebuilt = run_fixtures(&["--rebuild-reports", &dir], &[]);
    rebuilt.assert_status(0);
    assert_eq!(
        rebuilt.stdout,
        format!("ducktape: rebuilt the reports of {dir} from 2 records\n")
    );
    assert_eq!(run.statuses().len(), 2);
    let xml = std::fs::read_to_string(session.join("report.xml")).unwrap();
    well_formed_xml(&xml).unwrap();
    // The variable works as every other flag's does.
    let by_env = run_fixtures(&[], &[("DUCKTAPE_REBUILD_REPORTS", &dir)]);
    by_env.assert_status(0);
    assert!(
        by_env.stdout.contains("from 2 records"),
        "{}",
        by_env.stdout
    );

    let missing = session.join("no-such-session");
    let not_a_session = run.results.clone();
    for (path, why) in [
        (&missing, "no such directory"),
        (&not_a_session, "not a session directory"),
    ] {
        let bad = run_fixtures(&["--rebuild-reports", &path.display().to_string()], &[]);
        bad.assert_status(2);
        let lines: Vec<&str> = bad.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{}", bad.stderr);
        assert!(
            lines[0].contains(&path.display().to_string()) && lines[0].contains(why),
            "{}",
            lines[0]
        );
    }
    assert!(!missing.exists() && !not_a_session.join(".lock").exists());
    let missing = missing.display().to_string();
    let bad = run_fixtures(&[], &[("DUCKTAPE_REBUILD_REPORTS", &missing)]);
    bad.assert_status(2);
    assert_eq!(
        bad.stderr,
        format!("error: DUCKTAPE_REBUILD_REPORTS={missing}: {missing}: no such directory\n")
    );
}
