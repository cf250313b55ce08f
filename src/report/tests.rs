//! Tests of the session reports: snapshots of every format for a fixed
//! suite, concurrent appends, crash recovery, and rebuild == incremental.

use super::record::Trend;
use super::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::sync::{Arc, Barrier};

fn meta() -> SessionMeta {
    SessionMeta {
        session_id: "2026-11-24--001".into(),
        ducktape_version: "0.1.0".into(),
        cluster_num_nodes: 8,
        session_context: json!({"max_parallel": 2, "deflake": 2, "nested_result_dirs": false}),
        hostname: String::new(),
        merge: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    module: &str,
    function: &str,
    args: Value,
    status: Status,
    summary: &str,
    start: f64,
    run: f64,
    nodes: (usize, usize),
    data: Value,
) -> TestRecord {
    let arg_pairs: Vec<(String, Value)> = args
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let suffix = if arg_pairs.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = arg_pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("::{}", parts.join(","))
    };
    TestRecord {
        test_id: format!("{module}::{function}{suffix}"),
        module_name: module.into(),
        cls_name: module.into(),
        function_name: function.into(),
        injected_args: args,
        description: String::new(),
        test_status: status,
        summary: summary.into(),
        run_time_seconds: run,
        start_time: start,
        stop_time: if start > 0.0 { start + run } else { 0.0 },
        data,
        nodes_allocated: nodes.0,
        nodes_used: nodes.1,
        relative_results_dir: session_dir::relative_test_dir(
            module, function, &arg_pairs, 1, false,
        ),
        binary: String::new(),
        services: vec![],
        attempts: if status == Status::Flaky { 2 } else { 1 },
        faults: vec![],
        teardown_problems: vec![],
        earlier_failures: vec![],
        nodes: vec![],
        shard: String::new(),
        host: String::new(),
        regressions: vec![],
        history: None,
    }
}

/// PASS with data, FAIL with markup in its message, FLAKY, IGNORE, and a
/// PASS whose data holds characters that must be escaped in JS.
fn suite() -> Vec<TestRecord> {
    let t0 = 1_795_548_792.25;
    let mut pass = record(
        "services",
        "test_http",
        Value::Null,
        Status::Pass,
        "Test Passed",
        t0,
        9.5,
        (8, 8),
        json!({"nodes": 8, "start_s": 4.745}),
    );
    pass.description = "Starts an HTTP service on 8 nodes.".into();
    pass.services = vec![json!({"service_id": "http-1", "nodes": ["worker1"]})];
    let fail = record(
        "kafka::bounce",
        "test_bounce",
        json!({"bounce": true, "msg": "a<b>&\"c\""}),
        Status::Fail,
        "AssertionError: expected 3 brokers, saw 2 <&>\n  at kafka/bounce.rs:42",
        t0 + 9.75,
        2.125,
        (3, 2),
        Value::Null,
    );
    let flaky = record(
        "kafka::bounce",
        "test_restart",
        json!({"n": 2}),
        Status::Flaky,
        "run 1 summary:\n  timed out\n~~~~~~~~~~~~~\nrun 2: PASSED",
        t0 + 12.0,
        1.5,
        (2, 2),
        Value::Null,
    );
    let ignore = record(
        "slow",
        "test_soak",
        Value::Null,
        Status::Ignore,
        "ignored: env DUCKTAPE_SLOW=1 is not set",
        0.0,
        0.0,
        (0, 0),
        Value::Null,
    );
    let unicode = record(
        "services",
        "test_echo",
        json!({"text": "é/x"}),
        Status::Pass,
        "Test Passed",
        t0 + 13.5,
        0.25,
        (1, 1),
        json!({"echo": "é\u{2028}</script>"}),
    );
    vec![pass, fail, flaky, ignore, unicode]
}

/// A record's `records.jsonl` line, with its newline, as a writer stores it.
fn line_of(r: &TestRecord) -> String {
    Finished::new(r).unwrap().line
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap()
}

const REPORTS: [&str; 6] = [TXT, JSON, XML, JS, HTML, CSS];

fn report_bytes(dir: &Path) -> BTreeMap<&'static str, Vec<u8>> {
    REPORTS
        .iter()
        .map(|&n| (n, fs::read(dir.join(n)).unwrap()))
        .collect()
}

fn session_with(records: &[TestRecord]) -> (tempfile::TempDir, SessionReports) {
    let tmp = tempfile::tempdir().unwrap();
    let reports = SessionReports::open(&tmp.path().join("s"), &meta()).unwrap();
    for r in records {
        reports.append(r).unwrap();
    }
    (tmp, reports)
}

#[test]
fn snapshots_of_every_format() {
    let (_tmp, reports) = session_with(&suite());
    let dir = reports.dir();
    insta::assert_snapshot!("report.txt", read(dir, TXT));
    insta::assert_snapshot!("report.json", read(dir, JSON));
    insta::assert_snapshot!("report.xml", read(dir, XML));
    insta::assert_snapshot!("report.js", read(dir, JS));
}

#[test]
fn empty_session_reports_are_valid() {
    let (_tmp, reports) = session_with(&[]);
    let dir = reports.dir();
    let json: Value = serde_json::from_str(&read(dir, JSON)).unwrap();
    assert_eq!(json["results"], json!([]));
    assert_eq!(json["num_passed"], 0);
    assert_eq!(json["run_time_statistics"]["mean"], Value::Null);
    insta::assert_snapshot!("empty.report.xml", read(dir, XML));
    assert!(read(dir, TXT).contains("tests run:        0"));
    assert_eq!(reports.summary().unwrap(), Summary::default());
}

#[test]
fn json_report_has_ducktape_keys_and_values() {
    let (_tmp, reports) = session_with(&suite());
    let ours: Value = serde_json::from_str(&read(reports.dir(), JSON)).unwrap();
    let theirs: Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/ducktape-0.17-report.json"
    ))
    .unwrap();
    for key in theirs.as_object().unwrap().keys() {
        assert!(ours.get(key).is_some(), "missing top-level key {key}");
    }
    for key in theirs["results"][0].as_object().unwrap().keys() {
        assert!(
            ours["results"][0].get(key).is_some(),
            "missing result key {key}"
        );
    }
    assert_eq!(ours["num_passed"], 2);
    assert_eq!(ours["num_failed"], 1);
    assert_eq!(ours["num_flaky"], 1);
    assert_eq!(ours["num_ignored"], 1);
    assert_eq!(ours["results"].as_array().unwrap().len(), 5);
    assert_eq!(
        ours["cluster_nodes_allocated"],
        json!({"max": 8, "min": 0, "mean": 2.8})
    );
    // First start 0.0 s, last stop 13.75 s: wall time 13.75.
    assert_eq!(ours["run_time_seconds"], 13.75);
    let sum_run = 9.5 + 2.125 + 1.5 + 0.0 + 0.25;
    assert_eq!(ours["parallelism"], sum_run / 13.75);
    let node_seconds = 8.0 * 9.5 + 2.0 * 2.125 + 2.0 * 1.5 + 0.25;
    assert_eq!(ours["cluster_utilization"], node_seconds / (8.0 * 13.75));
    let s = reports.summary().unwrap();
    assert_eq!(
        (s.tests, s.passed, s.failed, s.flaky, s.ignored),
        (5, 2, 1, 1, 1)
    );
    assert_eq!(s.run_time_seconds, 13.75);
}

#[test]
fn rebuild_reproduces_the_incremental_bytes() {
    let (_tmp, reports) = session_with(&suite());
    let dir = reports.dir();
    let before = report_bytes(dir);
    // The state file is rewritten in place and padded to its longest size,
    // so compare what it says, not its bytes.
    let state_before = State::load(&dir.join(STATE)).unwrap();
    for name in REPORTS {
        fs::write(dir.join(name), "damaged").unwrap();
    }
    rebuild(dir).unwrap();
    assert_eq!(report_bytes(dir), before);
    assert_eq!(State::load(&dir.join(STATE)).unwrap(), state_before);
}

/// Floats whose decimal text is hard to read back exactly (serde_json's
/// default parser gets some of them one bit off).
fn awkward_floats() -> Vec<f64> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    // The largest subnormal, 2^53 + 2, 0.1 + 0.2, 1e23: known hard cases.
    let mut out = vec![
        f64::from_bits(0x000f_ffff_ffff_ffff),
        9_007_199_254_740_994.0,
        0.1 + 0.2,
        1e23,
    ];
    while out.len() < 400 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let f = f64::from_bits(x >> 1);
        if f.is_finite() {
            out.push(f);
        }
    }
    out
}

#[test]
fn a_record_reads_back_exactly_and_a_rebuild_agrees_with_awkward_floats() {
    let records: Vec<TestRecord> = awkward_floats()
        .chunks(2)
        .enumerate()
        .map(|(i, f)| {
            let mut r = record(
                "m",
                "t",
                json!({"i": i}),
                Status::Pass,
                "ok",
                1.5,
                0.5,
                (0, 0),
                json!({"x": f[1]}),
            );
            // Times of a real clock's magnitude; any float in the data.
            r.run_time_seconds = f[0].abs() % 1e4;
            r.stop_time = r.start_time + r.run_time_seconds;
            r
        })
        .collect();
    for r in &records {
        let f = Finished::new(r).unwrap();
        let back: TestRecord = serde_json::from_str(&f.line).unwrap();
        assert_eq!(&back, r, "{}", f.line);
    }
    let (_tmp, reports) = session_with(&records);
    let dir = reports.dir();
    let before = report_bytes(dir);
    rebuild(dir).unwrap();
    assert_eq!(report_bytes(dir), before);
}

#[test]
fn a_record_with_a_float_json_cannot_hold_is_refused() {
    let mut r = suite().remove(0);
    r.run_time_seconds = f64::NAN;
    let err = Finished::new(&r).unwrap_err().to_string();
    assert!(
        err.contains("run_time_seconds is not a finite number"),
        "{err}"
    );
    let mut r = suite().remove(0);
    r.history = Some(Trend {
        sessions: vec!["a".into()],
        metrics: [("ops".to_string(), vec![Some(f64::INFINITY)])].into(),
    });
    let err = Finished::new(&r).unwrap_err().to_string();
    assert!(err.contains("history.metrics"), "{err}");
}

#[test]
fn reopening_keeps_the_first_meta_and_the_results() {
    let (_tmp, reports) = session_with(&suite()[..2]);
    let mut other = meta();
    other.session_id = "something-else".into();
    let again = SessionReports::open(reports.dir(), &other).unwrap();
    again.append(&suite()[2]).unwrap();
    let txt = read(reports.dir(), TXT);
    assert!(txt.contains("session_id:       2026-11-24--001"), "{txt}");
    assert_eq!(again.summary().unwrap().tests, 3);
}

#[test]
fn recovers_from_an_interrupted_append() {
    let records = suite();
    let (_tmp, reports) = session_with(&records[..2]);
    let dir = reports.dir().to_path_buf();
    let jsonl = dir.join(RECORDS);
    // Crash after the record was stored but before the reports were updated.
    let line = line_of(&records[2]);
    let mut text = read(&dir, RECORDS) + &line;
    fs::write(&jsonl, &text).unwrap();
    // …then a crash halfway through writing the next line.
    text.push_str("{\"test_id\": \"half");
    fs::write(&jsonl, &text).unwrap();
    reports.append(&records[3]).unwrap();
    reports.append(&records[4]).unwrap();

    let (_tmp2, clean) = session_with(&records);
    assert_eq!(report_bytes(&dir), report_bytes(clean.dir()));
    assert_eq!(read(&dir, RECORDS), read(clean.dir(), RECORDS));
}

#[test]
fn a_line_that_is_not_a_record_is_set_aside_and_appends_go_on() {
    let records = suite();
    let (_tmp, reports) = session_with(&records[..1]);
    let dir = reports.dir();
    let jsonl = dir.join(RECORDS);
    let good = read(dir, RECORDS);
    fs::write(&jsonl, good.clone() + "not json\n" + &good).unwrap();
    let done = rebuild(dir).unwrap();
    assert_eq!(done.records, 2);
    assert_eq!(done.set_aside, [2]);
    let line = done.to_string();
    assert!(
        line.contains("line 2 of records.jsonl") && line.contains(repair::DAMAGED),
        "{line}"
    );
    assert_eq!(read(dir, repair::DAMAGED), "not json\n");
    assert_eq!(read(dir, RECORDS), good.clone() + &good);
    reports.append(&records[1]).unwrap();
    let json: Value = serde_json::from_str(&read(dir, JSON)).unwrap();
    assert_eq!(json["results"].as_array().unwrap().len(), 3);
}

#[test]
fn a_torn_last_line_is_cut_on_open_and_a_line_missing_its_newline_is_completed() {
    let records = suite();
    let (_tmp, reports) = session_with(&records[..2]);
    let dir = reports.dir().to_path_buf();
    let before = read(&dir, RECORDS);
    // A kill halfway through a line, inside a two-byte character.
    let mut torn = before.clone().into_bytes();
    torn.extend_from_slice(&"{\"test_id\": \"é".as_bytes()[..15]);
    fs::write(dir.join(RECORDS), &torn).unwrap();
    SessionReports::open(&dir, &meta()).unwrap();
    assert_eq!(read(&dir, RECORDS), before);
    let mut set_aside = torn[before.len()..].to_vec();
    set_aside.push(b'\n');
    assert_eq!(fs::read(dir.join(repair::DAMAGED)).unwrap(), set_aside);
    // A kill just before the newline: the record is whole, so it is kept.
    let line = line_of(&records[2]).trim_end().to_string();
    fs::write(dir.join(RECORDS), before.clone() + &line).unwrap();
    let reports = SessionReports::open(&dir, &meta()).unwrap();
    assert_eq!(read(&dir, RECORDS), before + &line + "\n");
    reports.append(&records[3]).unwrap();
    let (_clean_tmp, clean) = session_with(&records[..4]);
    assert_eq!(report_bytes(&dir), report_bytes(clean.dir()));
}

/// Every file a crash mid-append can leave half-written: the records line,
/// then each report somewhere between its old and new contents, with the old
/// state. Whatever the mix, the next open makes the reports match the records.
#[test]
fn reports_cut_anywhere_mid_append_are_repaired_on_open() {
    let records = suite();
    let (_tmp_a, a) = session_with(&records[..3]);
    let (_tmp_b, b) = session_with(&records[..4]);
    let (old, new) = (report_bytes(a.dir()), report_bytes(b.dir()));
    let old_records = fs::read(a.dir().join(RECORDS)).unwrap();
    let new_records = fs::read(b.dir().join(RECORDS)).unwrap();
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    for round in 0..150 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        fs::create_dir(&dir).unwrap();
        for name in [META, STATE] {
            fs::copy(a.dir().join(name), dir.join(name)).unwrap();
        }
        // At least one byte: the reports are not touched before the record is.
        let cut = rng.usize(old_records.len() + 1..=new_records.len());
        fs::write(dir.join(RECORDS), &new_records[..cut]).unwrap();
        for (name, old_bytes) in &old {
            // Old bytes overwritten by a prefix of the new ones, then cut.
            let new_bytes = &new[name];
            let written = rng.usize(..=new_bytes.len());
            let mut bytes = new_bytes[..written].to_vec();
            if written < old_bytes.len() {
                bytes.extend_from_slice(&old_bytes[written..]);
            }
            bytes.truncate(rng.usize(written.min(old_bytes.len())..=bytes.len()));
            fs::write(dir.join(name), bytes).unwrap();
        }
        SessionReports::open(&dir, &meta()).unwrap();
        // A record cut just before its newline is whole, and kept.
        let want = if cut + 1 >= new_records.len() {
            &new
        } else {
            &old
        };
        assert!(
            report_bytes(&dir) == *want,
            "seed {seed}, round {round}: records cut at {cut}"
        );
    }
}

#[test]
fn a_new_session_repairs_the_sessions_a_killed_run_left() {
    let root = tempfile::tempdir().unwrap();
    let killed = session_dir::create_session(root.path()).unwrap();
    let reports = SessionReports::open(&killed.dir, &meta()).unwrap();
    let records = suite();
    reports.append(&records[0]).unwrap();
    // Killed after storing a record, before the reports were updated.
    let mut jsonl = fs::OpenOptions::new()
        .append(true)
        .open(killed.dir.join(RECORDS))
        .unwrap();
    write!(jsonl, "{}", line_of(&records[1])).unwrap();
    fs::write(killed.dir.join(JSON), "{\"results\": [").unwrap();
    let next = session_dir::create_session(root.path()).unwrap();
    assert_ne!(next.dir, killed.dir);
    let json: Value = serde_json::from_str(&read(&killed.dir, JSON)).unwrap();
    assert_eq!(json["results"].as_array().unwrap().len(), 2);
    // The new session itself is left for its own process to open.
    assert!(!next.dir.join(STATE).exists());
}

/// Killed while opening a new session: `session.json` written, the empty
/// reports half written, no `records.jsonl` or state. The next run makes
/// its reports whole (the kill loop in tests/integration found it).
#[test]
fn a_session_killed_while_it_was_created_is_repaired_by_the_next() {
    let root = tempfile::tempdir().unwrap();
    let killed = session_dir::create_session(root.path()).unwrap();
    let text = serde_json::to_string_pretty(&meta()).unwrap();
    fs::write(killed.dir.join(META), text).unwrap();
    fs::write(killed.dir.join(TXT), "=====").unwrap();
    let next = session_dir::create_session(root.path()).unwrap();
    assert_ne!(next.dir, killed.dir);
    assert_eq!(read(&killed.dir, RECORDS), "");
    let json: Value = serde_json::from_str(&read(&killed.dir, JSON)).unwrap();
    assert_eq!(json["results"].as_array().map(Vec::len), Some(0));
    let state = State::load(&killed.dir.join(STATE)).unwrap();
    assert_eq!((state.tests, state.records_len), (0, 0));
    assert!(read(&killed.dir, TXT).len() > "=====".len());
}

#[test]
fn rebuild_refuses_what_is_not_a_session_and_creates_nothing_there() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = rebuild(&missing).unwrap_err().to_string();
    assert!(
        err.contains("nope") && err.contains("no such directory"),
        "{err}"
    );
    assert!(!missing.exists());
    let err = rebuild(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("not a session directory"), "{err}");
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "left a .lock behind"
    );
}

/// A session whose appends batch for as long as the test needs.
fn batched_session() -> (tempfile::TempDir, SessionReports) {
    let tmp = tempfile::tempdir().unwrap();
    let reports = SessionReports::open(&tmp.path().join("s"), &meta()).unwrap();
    reports.set_batched(true);
    reports.batch().max_age = std::time::Duration::from_secs(3600);
    (tmp, reports)
}

fn results_in_json(dir: &Path) -> usize {
    let json: Value = serde_json::from_str(&read(dir, JSON)).unwrap();
    json["results"].as_array().unwrap().len()
}

#[test]
fn a_batch_is_in_records_at_once_and_in_the_reports_after_flush() {
    let records = suite();
    let (_tmp, reports) = batched_session();
    let dir = reports.dir();
    for r in &records {
        reports.append(r).unwrap();
    }
    // Every record is stored; the reports wait for the batch.
    assert_eq!(read(dir, RECORDS).lines().count(), records.len());
    assert_eq!(results_in_json(dir), 0);
    reports.flush().unwrap();
    let (_clean_tmp, clean) = session_with(&records);
    assert_eq!(report_bytes(dir), report_bytes(clean.dir()));
    assert_eq!(read(dir, RECORDS), read(clean.dir(), RECORDS));
}

#[test]
fn a_full_batch_applies_itself() {
    let (_tmp, reports) = batched_session();
    for i in 0..=BATCH_RECORDS {
        let mut r = suite()[i % 5].clone();
        r.test_id = format!("{}#{i}", r.test_id);
        reports.append(&r).unwrap();
    }
    // The first BATCH_RECORDS filled a batch; the last one waits.
    assert_eq!(results_in_json(reports.dir()), BATCH_RECORDS);
}

/// A batch goes out once its oldest record is old enough, also when no
/// other test ends meanwhile (the next one may run for minutes).
#[test]
fn a_batch_goes_out_by_age_while_no_test_ends() {
    let (_tmp, reports) = batched_session();
    reports.batch().max_age = std::time::Duration::from_millis(50);
    let records = suite();
    for r in &records[..2] {
        reports.append(r).unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while results_in_json(reports.dir()) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the batch never went out"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(reports.batch().pending.is_empty());
}

/// `records.jsonl` removed under a running session: the next record
/// starts it again and the reports hold what it holds.
/// An apply that fails (here: a report file that cannot be opened) leaves
/// records past the reports; the run's flush catches them up.
#[test]
fn a_flush_after_a_failed_apply_catches_the_reports_up() {
    let records = suite();
    for batched in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        let reports = SessionReports::open(&dir, &meta()).unwrap();
        reports.set_batched(batched);
        reports.append(&records[0]).unwrap();
        reports.flush().unwrap();
        let txt = dir.join(TXT);
        let saved = fs::read(&txt).unwrap();
        fs::remove_file(&txt).unwrap();
        fs::create_dir(&txt).unwrap();
        let failed = reports.append(&records[1]).and_then(|()| reports.flush());
        assert!(failed.is_err(), "batched={batched}: the apply fails");
        fs::remove_dir(&txt).unwrap();
        fs::write(&txt, saved).unwrap();
        reports.flush().unwrap();
        assert_eq!(reports.summary().unwrap().tests, 2, "batched={batched}");
        assert_eq!(results_in_json(&dir), 2, "batched={batched}");
    }
}

#[test]
fn a_removed_records_file_does_not_stop_the_session() {
    let records = suite();
    let (_tmp, reports) = session_with(&records[..2]);
    fs::remove_file(reports.dir().join(RECORDS)).unwrap();
    reports.append(&records[2]).unwrap();
    reports.append(&records[3]).unwrap();
    let (_clean_tmp, clean) = session_with(&records[2..4]);
    assert_eq!(read(reports.dir(), RECORDS), read(clean.dir(), RECORDS));
    assert_eq!(report_bytes(reports.dir()), report_bytes(clean.dir()));
}

/// A process killed with records it had not applied yet loses none: the next
/// process to open the session, or the next run of the results root, brings
/// the reports up to date from `records.jsonl` (without a rebuild).
#[test]
fn records_a_killed_batch_left_out_reach_the_reports() {
    let records = suite();
    let (_clean_tmp, clean) = session_with(&records);
    for next in ["open", "new run"] {
        let root = tempfile::tempdir().unwrap();
        let killed = session_dir::create_session(root.path()).unwrap();
        let reports = SessionReports::open(&killed.dir, &meta()).unwrap();
        reports.set_batched(true);
        reports.batch().max_age = std::time::Duration::from_secs(3600);
        for r in &records {
            reports.append(r).unwrap();
        }
        drop(reports); // SIGKILL: no flush.
        assert_eq!(results_in_json(&killed.dir), 0);
        match next {
            "open" => drop(SessionReports::open(&killed.dir, &meta()).unwrap()),
            _ => drop(session_dir::create_session(root.path()).unwrap()),
        }
        assert_eq!(
            report_bytes(&killed.dir),
            report_bytes(clean.dir()),
            "{next}"
        );
        assert!(!killed.dir.join(repair::DAMAGED).exists());
    }
}

/// Another process's append between two of a batching process's: both
/// processes' records reach the reports, in `records.jsonl`'s order.
#[test]
fn a_batch_and_another_process_interleave() {
    let records = suite();
    let (_tmp, batched) = batched_session();
    let other = SessionReports::open(batched.dir(), &meta()).unwrap();
    batched.append(&records[0]).unwrap();
    batched.append(&records[1]).unwrap();
    other.append(&records[2]).unwrap();
    batched.append(&records[3]).unwrap();
    other.append(&records[4]).unwrap();
    batched.flush().unwrap();
    let (_clean_tmp, clean) = session_with(&records);
    assert_eq!(report_bytes(batched.dir()), report_bytes(clean.dir()));
}

/// What a rebuild killed halfway leaves (no state, empty reports) under a
/// process that batches: its next write notices and rebuilds instead of
/// writing at offsets past the ends of emptied files.
#[test]
fn a_batch_notices_a_rebuild_cut_short_under_it() {
    let records = suite();
    let (_tmp, reports) = batched_session();
    for r in &records[..3] {
        reports.append(r).unwrap();
    }
    reports.flush().unwrap();
    fs::remove_file(reports.dir().join(STATE)).unwrap();
    write_empty_reports(reports.dir(), &meta()).unwrap();
    for r in &records[3..] {
        reports.append(r).unwrap();
    }
    reports.flush().unwrap();
    let (_clean_tmp, clean) = session_with(&records);
    assert_eq!(report_bytes(reports.dir()), report_bytes(clean.dir()));
}

#[test]
fn concurrent_appends_from_many_threads() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 50;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (dir, barrier) = (dir.clone(), barrier.clone());
            std::thread::spawn(move || {
                // Each thread opens the session itself, as a nextest process
                // would; every other one batches, as `cargo test` does.
                let reports = SessionReports::open(&dir, &meta()).unwrap();
                reports.set_batched(t % 2 == 0);
                barrier.wait();
                for i in 0..PER_THREAD {
                    let mut r = suite()[(t + i) % 5].clone();
                    r.test_id = format!("{}#{t}.{i}", r.test_id);
                    reports.append(&r).unwrap();
                }
                reports.flush().unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total = THREADS * PER_THREAD;
    let mut expected = [0usize; 4]; // pass, fail, flaky, ignore
    for t in 0..THREADS {
        for i in 0..PER_THREAD {
            expected[[0, 1, 2, 3, 0][(t + i) % 5]] += 1;
        }
    }

    let json: Value = serde_json::from_str(&read(&dir, JSON)).unwrap();
    assert_eq!(json["results"].as_array().unwrap().len(), total);
    assert_eq!(json["num_passed"], expected[0]);
    assert_eq!(json["num_failed"], expected[1]);
    assert_eq!(json["num_flaky"], expected[2]);
    assert_eq!(json["num_ignored"], expected[3]);

    let xml = read(&dir, XML);
    assert_eq!(xml.matches("<testcase ").count(), total);
    let header = format!("tests=\"{total}\" failures=\"{}\"", expected[1]);
    assert_eq!(xml.matches(&header).count(), 2, "{}", &xml[..600]);
    assert!(xml.contains(&format!("skipped=\"{}\"", expected[3])));
    assert!(xml.ends_with(">\n</testsuite>\n</testsuites>\n"));

    let txt = read(&dir, TXT);
    assert!(txt.contains(&format!("tests run:        {total} ")));
    assert!(txt.contains(&format!("failed:           {} ", expected[1])));
    assert_eq!(txt.matches("test_id:    ").count(), total);
    assert_eq!(read(&dir, JS).lines().count(), total + 1);

    // Incremental, in whatever order the threads interleaved == rebuild.
    let before = report_bytes(&dir);
    rebuild(&dir).unwrap();
    assert_eq!(report_bytes(&dir), before);
}

#[test]
fn per_test_report_files() {
    let tmp = tempfile::tempdir().unwrap();
    let records = suite();
    let pass = &records[0];
    let test_dir = tmp.path().join(&pass.relative_results_dir);
    write_test_report(&test_dir, pass).unwrap();
    insta::assert_snapshot!("test.report.json", read(&test_dir, JSON));
    insta::assert_snapshot!("test.report.txt", read(&test_dir, TXT));
    assert_eq!(
        read(&test_dir, "data.json"),
        "{\"nodes\": 8, \"start_s\": 4.745}\n"
    );

    let fail = &records[1];
    let test_dir = tmp.path().join(&fail.relative_results_dir);
    write_test_report(&test_dir, fail).unwrap();
    let json: Value = serde_json::from_str(&read(&test_dir, JSON)).unwrap();
    assert_eq!(json["base_results_dir"], "../../../../../");
    assert_eq!(json["results_dir"], "./");
    assert!(!test_dir.join("data.json").exists());
    assert!(read(&test_dir, TXT).contains("\n      at kafka/bounce.rs:42\n"));
}

#[test]
fn js_lines_cannot_break_out() {
    let (_tmp, reports) = session_with(&suite());
    let js = read(reports.dir(), JS);
    assert!(js.is_ascii());
    for line in js.lines().skip(1) {
        let json = line
            .strip_prefix("ducktape.add(")
            .and_then(|l| l.strip_suffix(");"))
            .unwrap();
        let back: TestRecord = serde_json::from_str(json).unwrap();
        assert!(suite().contains(&back));
    }
}

#[test]
fn historical_reads_ducktape_and_ours() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ducktape-0.17-report.json");
    let times = historical::load_run_times(&fixture).unwrap();
    assert_eq!(times.len(), 2);
    assert_eq!(
        times["ducktape_suite.services.ServiceTest.test_http_8_nodes"],
        9.581135511398315
    );

    let (_tmp, reports) = session_with(&suite());
    let ours = historical::load_run_times(&reports.dir().join(JSON)).unwrap();
    assert_eq!(ours.len(), 5);
    assert_eq!(ours["services::test_http"], 9.5);
}

#[test]
fn historical_errors_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("garbage.json", "\u{0}\u{1}not json"),
        ("shape.json", "{\"results\": 3}"),
        ("entry.json", "{\"results\": [{\"test_id\": 1}]}"),
    ];
    for (name, text) in cases {
        let path = tmp.path().join(name);
        fs::write(&path, text).unwrap();
        let err = historical::load_run_times(&path).unwrap_err().to_string();
        assert!(err.contains(name), "{err}");
    }
    let missing = tmp.path().join("missing.json");
    let err = historical::load_run_times(&missing)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing.json") && err.contains("read"),
        "{err}"
    );
}

#[test]
fn an_append_after_a_rebuild_cut_short_rebuilds_first() {
    let tmp = tempfile::tempdir().unwrap();
    let reports = SessionReports::open(&tmp.path().join("s"), &meta()).unwrap();
    let records = suite();
    for r in &records {
        reports.append(r).unwrap();
    }
    // What a rebuild killed halfway leaves behind: no state, empty reports.
    fs::remove_file(reports.dir().join(STATE)).unwrap();
    write_empty_reports(reports.dir(), &meta()).unwrap();
    reports.append(&records[0]).unwrap();
    let json: Value = serde_json::from_str(&read(reports.dir(), JSON)).unwrap();
    assert_eq!(json["results"].as_array().unwrap().len(), records.len() + 1);
    assert!(!read(reports.dir(), JSON).contains('\0'));
}

#[test]
fn a_state_write_cut_short_is_repaired_on_open() {
    // The state is rewritten in place: a kill mid-write leaves a prefix of
    // the new state over the old one. Every such file must be refused (not
    // read as a state with mixed offsets) and the reports rebuilt.
    let records = suite();
    let (_tmp_a, a) = session_with(&records[..3]);
    let (_tmp_b, b) = session_with(&records[..4]);
    let old_state = fs::read(a.dir().join(STATE)).unwrap();
    let new_state = fs::read(b.dir().join(STATE)).unwrap();
    let want_state = State::load(&b.dir().join(STATE)).unwrap();
    let want = report_bytes(b.dir());
    for cut in 0..new_state.len() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        fs::create_dir(&dir).unwrap();
        for name in [META, RECORDS] {
            fs::copy(b.dir().join(name), dir.join(name)).unwrap();
        }
        for name in REPORTS {
            fs::copy(b.dir().join(name), dir.join(name)).unwrap();
        }
        let mut torn = new_state[..cut].to_vec();
        torn.extend_from_slice(old_state.get(cut..).unwrap_or_default());
        fs::write(dir.join(STATE), &torn).unwrap();
        SessionReports::open(&dir, &meta()).unwrap();
        assert_eq!(
            State::load(&dir.join(STATE)).unwrap(),
            want_state,
            "state cut at {cut}"
        );
        assert!(report_bytes(&dir) == want, "state cut at {cut}");
    }
}

#[test]
fn the_state_shrinks_in_place_and_an_older_versions_state_is_read() {
    let (_tmp, reports) = session_with(&suite()[..2]);
    let path = reports.dir().join(STATE);
    let mut state = State::load(&path).unwrap();
    let long = fs::metadata(&path).unwrap().len();
    // Shorter text than the file: padded, still read back exactly.
    state.regressions.clear();
    state.tests = 1;
    state.save(&path).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().len(), long);
    assert_eq!(State::load(&path).unwrap(), state);

    // An older version wrote the state whole, without a checksum line.
    state.tests = 2;
    fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    let legacy = State::load(&path).unwrap();
    assert!(legacy.legacy_file);
    assert_eq!(legacy.tests, 2);
    reports.append(&suite()[2]).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let last = text.trim_end().lines().last().unwrap();
    assert!(last.starts_with('#'), "{last}");
    let now = State::load(&path).unwrap();
    assert!(!now.legacy_file);
    assert_eq!(now.tests, 3);
}

#[test]
fn writers_of_the_same_test_report_never_mix_their_bytes() {
    // Two processes running the same test (nextest retries, twin runs) write
    // one directory's reports at once, with no lock: each file must end up
    // whole, one writer's or the other's.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t/1");
    let records = suite();
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (dir, barrier) = (dir.clone(), barrier.clone());
            // Records of different lengths, so mixed bytes would show.
            let mut r = records[i % 2].clone();
            r.summary = "x".repeat(i * 50);
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..50 {
                    write_test_report(&dir, &r).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let json: Value = serde_json::from_str(&read(&dir, JSON)).unwrap();
    let summary = json["summary"].as_str().unwrap();
    assert!(summary.chars().all(|c| c == 'x'), "{summary}");
    let txt = read(&dir, TXT);
    assert!(
        txt.ends_with('\n') && txt.matches("test_id:").count() == 1,
        "{txt}"
    );
    let left: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}
