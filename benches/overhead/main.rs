//! Per-test overhead of the harness, in the profile users build, side by
//! side with a libtest-mimic floor and Python ducktape.
//!
//! A user's crate gets ducktape's default `test` profile (unoptimized: this
//! repository's `[profile.dev.package."*"]` tuning does not reach it), so
//! this bench writes such a crate under `target/overhead-bench/` (its own
//! workspace and target directory, kept between runs), builds its suites in
//! the test profile and in release, and times them:
//!
//! - per-test cost under `cargo test` (the binary run directly) and under
//!   `cargo nextest run -j 2` (less the start-up of a run that selects no
//!   test), for 200 and 5,000 no-op cases, next to a
//!   libtest-mimic binary with the same test names (the floor), and the
//!   5,000/200 ratio;
//! - one process running one case (`--exact`, as nextest and IDEs do) in a
//!   200- and a 10,000-case binary, and as a nextest process joining its
//!   run's session in a fresh results root and in one that keeps 1,000
//!   earlier sessions;
//! - `--list --format terse` (what nextest asks) of 10,000 cases;
//! - `cargo test` of 200 cases with the results in memory (`/dev/shm`), and
//!   the disk's own cost of the files each test leaves (a plain loop
//!   writing them, in rounds alternating with the suite's and the floor's
//!   runs): results go under the target directory, as a user's go under
//!   their project;
//! - the 200-case suite again with ducktape's `ssh` feature (which links
//!   OpenSSL) under nextest and `--exact`: what SSH users' processes cost;
//! - Python ducktape 0.17 on the same 200-case suite (see `peer.rs`).

mod peer;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A suite: binary name, test function, and its two matrix keys and sizes.
struct Suite {
    bin: &'static str,
    func: &'static str,
    keys: [(&'static str, usize); 2],
}

/// The directory (and workspace) of the suite built with the `ssh` feature.
const SSH_WORKSPACE: &str = "suite-ssh";

/// The 200-case suite, built again with ducktape's `ssh` feature.
const SSH_SUITE: Suite = Suite {
    bin: "s200_ssh",
    func: "trivial",
    keys: [("a", 10), ("b", 20)],
};

const SUITES: [Suite; 3] = [
    Suite {
        bin: "s200",
        func: "trivial",
        keys: [("a", 10), ("b", 20)],
    },
    Suite {
        bin: "s5000",
        func: "trivial",
        keys: [("a", 50), ("b", 100)],
    },
    Suite {
        bin: "s10000",
        func: "many",
        keys: [("x", 100), ("y", 100)],
    },
];

impl Suite {
    fn cases(&self) -> usize {
        self.keys[0].1 * self.keys[1].1
    }

    fn floor(&self) -> String {
        self.bin.replacen('s', "f", 1)
    }

    /// The ducktape test: a matrix of no-op cases.
    fn ducktape_source(&self) -> String {
        let [(k1, n1), (k2, n2)] = self.keys;
        let list = |n: usize| {
            let v: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            format!("[{}]", v.join(", "))
        };
        format!(
            "#[ducktape::test(cluster(num_nodes = 0), matrix({k1} = {}, {k2} = {}))]\n\
             fn {f}(_ctx: &ducktape::TestContext, {k1}: u32, {k2}: u32) {{\n    let _ = ({k1}, {k2});\n}}\n\n\
             fn main() -> std::process::ExitCode {{\n    ducktape::main()\n}}\n",
            list(n1),
            list(n2),
            f = self.func
        )
    }

    /// The floor: libtest-mimic trials with the same names.
    fn floor_source(&self) -> String {
        let [(k1, n1), (k2, n2)] = self.keys;
        format!(
            "fn main() {{\n    let args = libtest_mimic::Arguments::from_args();\n    let mut trials = Vec::new();\n    \
             for a in 0..{n1} {{\n        for b in 0..{n2} {{\n            \
             trials.push(libtest_mimic::Trial::test(format!(\"{f}::{k1}={{a}},{k2}={{b}}\"), || Ok(())));\n        }}\n    }}\n    \
             libtest_mimic::run(&args, trials).exit();\n}}\n",
            f = self.func
        )
    }
}

/// Writes the bench workspace (only files whose text changed, so cargo
/// rebuilds nothing between runs).
fn write_workspace(root: &Path) -> std::io::Result<()> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let write = |rel: &str, text: &str| -> std::io::Result<()> {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap_or(root))?;
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            std::fs::write(&path, text)?;
        }
        Ok(())
    };
    write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"suite\", \"floor\"]\nresolver = \"2\"\n",
    )?;
    for dir in [root.to_path_buf(), root.join(SSH_WORKSPACE)] {
        std::fs::create_dir_all(&dir)?;
        if !dir.join("Cargo.lock").exists() {
            // The repository's versions, so the build works offline.
            std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock"))?;
        }
    }
    let package = |name: &str, dep: String, suites: &[Suite], kind: fn(&Suite) -> String| {
        let mut toml = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\n{dep}\n\n"
        );
        for s in suites {
            let bin = kind(s);
            toml.push_str(&format!(
                "[[test]]\nname = \"{bin}\"\npath = \"{bin}.rs\"\nharness = false\n\n"
            ));
        }
        toml
    };
    let ducktape = |features: &str| {
        format!(
            "ducktape = {{ package = \"ducktape-rs\", path = {:?}{features} }}",
            repo.display().to_string()
        )
    };
    let bin = |s: &Suite| s.bin.to_string();
    write(
        "suite/Cargo.toml",
        &package("overhead-suite", ducktape(""), &SUITES, bin),
    )?;
    // A workspace of its own: built with the others, cargo would unify
    // ducktape's features and give every suite the `ssh` feature.
    let ssh = package(
        "overhead-suite-ssh",
        ducktape(", features = [\"ssh\"]"),
        &[SSH_SUITE],
        bin,
    );
    write(
        &format!("{SSH_WORKSPACE}/Cargo.toml"),
        &format!("{ssh}[workspace]\n"),
    )?;
    write(
        "floor/Cargo.toml",
        &package(
            "overhead-floor",
            "libtest-mimic = \"0.8\"".into(),
            &SUITES,
            Suite::floor,
        ),
    )?;
    for dir in ["suite", SSH_WORKSPACE, "floor"] {
        write(&format!("{dir}/src/lib.rs"), "")?;
    }
    write(
        &format!("{SSH_WORKSPACE}/{}.rs", SSH_SUITE.bin),
        &SSH_SUITE.ducktape_source(),
    )?;
    for s in &SUITES {
        write(&format!("suite/{}.rs", s.bin), &s.ducktape_source())?;
        write(&format!("floor/{}.rs", s.floor()), &s.floor_source())?;
    }
    Ok(())
}

/// The two profiles: the test profile users build, and release.
#[derive(Clone, Copy)]
enum Profile {
    Test,
    Release,
}

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::Test => "test profile",
            Profile::Release => "release",
        }
    }
    fn cargo_args(self) -> &'static [&'static str] {
        match self {
            Profile::Test => &[],
            Profile::Release => &["--release"],
        }
    }
}

/// Cargo in workspace `dir` (the bench root or [`SSH_WORKSPACE`] under it),
/// with the root's target directory.
fn cargo(root: &Path, dir: &str) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root.join(dir))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env("CARGO_TARGET_DIR", root.join("target"));
    c
}

/// Builds the suites and floors of workspace `dir`; returns each test
/// binary's path by name.
fn build(root: &Path, dir: &str, profile: Profile) -> Result<Vec<(String, PathBuf)>, String> {
    let out = cargo(root, dir)
        .args(["test", "--no-run", "--workspace", "--message-format=json"])
        .args(profile.cargo_args())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the bench suites ({}) failed",
            profile.name()
        ));
    }
    let mut bins = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let (Some(name), Some(exe)) =
            (msg["target"]["name"].as_str(), msg["executable"].as_str())
        {
            bins.push((name.to_string(), PathBuf::from(exe)));
        }
    }
    Ok(bins)
}

/// Runs a binary; checks it succeeded and printed at least `min_lines`.
fn run(exe: &Path, args: &[&str], results: &Path, min_lines: usize) -> Duration {
    let start = Instant::now();
    let out = Command::new(exe)
        .args(args)
        .env("DUCKTAPE_RESULTS_ROOT", results)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("bench binary runs");
    let elapsed = start.elapsed();
    assert!(out.status.success(), "{} {args:?} failed", exe.display());
    let printed = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(printed >= min_lines, "{args:?} printed {printed} lines");
    elapsed
}

fn best_of(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..n).map(|_| f()).min().unwrap_or_default()
}

/// One nextest process (`--exact`, joining its run's session) in a results
/// root that keeps `earlier` sessions, best of 7: what a test costs once a
/// results root has grown (CI machines and laptops keep every session).
fn exact_in_root(exe: &Path, earlier: usize, results: &Path) -> Duration {
    let root = tempfile::tempdir_in(results).expect("tempdir");
    for n in 0..earlier {
        let dir = root.path().join(format!("2026-01-01--{n:04}"));
        std::fs::create_dir(&dir).expect("session dir");
        std::fs::write(dir.join("session.json"), "{}").expect("session.json");
    }
    let run_id = format!("overhead-bench-{earlier}");
    let once = || {
        let start = Instant::now();
        let status = Command::new(exe)
            .args(["--exact", "trivial::a=3,b=7", "--nocapture"])
            .env("DUCKTAPE_RESULTS_ROOT", root.path())
            .env("NEXTEST", "1")
            .env("NEXTEST_RUN_ID", &run_id)
            .env("NEXTEST_EXECUTION_MODE", "process-per-test")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("bench binary runs");
        assert!(status.success(), "{} --exact failed", exe.display());
        start.elapsed()
    };
    once(); // creates the session: not timed
    best_of(7, once)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Per-test cost of running the whole binary in one process (`cargo test`).
fn cargo_test_per_test(exe: &Path, cases: usize, results: &Path) -> f64 {
    let empty = best_of(3, || run(exe, &["--exact", "no::such::test"], results, 1));
    let all = best_of(2, || run(exe, &[], results, cases));
    ms(all.saturating_sub(empty)) / cases as f64
}

/// `cargo test` per test of a suite, of its libtest-mimic floor and of the
/// result files alone ([`results_files_floor`]), measured in alternating
/// rounds and each the median: on this machine's disk (ext4 without a
/// journal) creating inodes is ~3x slower for a minute or more after many
/// files were deleted, so figures taken minutes apart compare different
/// disks; taken side by side, a slow spell weighs on the suite and on its
/// files alike.
fn cargo_test_rounds(suite: &Path, floor: &Path, cases: usize, results: &Path) -> CargoTest {
    let empty = best_of(3, || run(suite, &["--exact", "no::such::test"], results, 1));
    let floor_empty = best_of(3, || run(floor, &["--exact", "no::such::test"], results, 1));
    let per_test = |all: Duration, empty: Duration| ms(all.saturating_sub(empty)) / cases as f64;
    let mut rows = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..3 {
        rows[0].push(per_test(run(suite, &[], results, cases), empty));
        rows[1].push(per_test(run(floor, &[], results, cases), floor_empty));
        rows[2].push(results_files_floor(results, cases));
    }
    let [suite, floor, files] = rows.map(|mut v| median(&mut v));
    CargoTest {
        suite,
        floor,
        files,
    }
}

/// `cargo test` per test (ms) of a suite, its floor, and its result files.
#[derive(Clone, Copy, Default)]
struct CargoTest {
    suite: f64,
    floor: f64,
    files: f64,
}

/// The disk's own cost of what a test leaves in its results: the files
/// ducktape 0.17 writes per test (its directory and repetition directory,
/// `test_log.info` and `test_log.debug`, `report.json` and `report.txt`
/// replaced by rename) and a `records.jsonl` line, written by a plain loop
/// into `results`, per test. No harness can write its results for less.
fn results_files_floor(results: &Path, cases: usize) -> f64 {
    use std::io::Write as _;
    let write = |path: &Path, bytes: &[u8], append: bool| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(append)
            .write(true)
            .truncate(!append)
            .open(path)?;
        f.write_all(bytes)
    };
    let run = |root: &Path| -> std::io::Result<Duration> {
        let start = Instant::now();
        for i in 0..cases {
            let dir = root.join(format!("floor/a={i}.b=0/1"));
            std::fs::create_dir_all(&dir)?;
            for log in ["test_log.debug", "test_log.info"] {
                write(&dir.join(log), &[b'l'; 180], true)?;
            }
            for report in ["report.json", "report.txt"] {
                let tmp = dir.join(format!("{report}.tmp"));
                write(&tmp, &[b'r'; 700], false)?;
                std::fs::rename(&tmp, dir.join(report))?;
            }
            write(&root.join("records.jsonl"), &[b'j'; 700], true)?;
        }
        Ok(start.elapsed())
    };
    // Kept until the bench ends: deleting them here would slow every inode
    // the next measurement creates (see `cargo_test_rounds`).
    let took = tempfile::tempdir_in(results)
        .ok()
        .and_then(|root| run(&root.keep()).ok());
    took.map_or(f64::NAN, |d| ms(d) / cases as f64)
}

/// A results root in memory (`/dev/shm`), where there is one: the harness's
/// own cost per test, apart from the disk's.
fn ram_results() -> Option<tempfile::TempDir> {
    tempfile::tempdir_in("/dev/shm").ok()
}

/// Per-test cost under `cargo nextest run -j 2` (one process per test) of
/// a suite and of another binary with the same tests (its floor): each
/// figure is a run's wall time less that of a run selecting no test (cargo's
/// and nextest's start-up and the binary's listing), per test. The two are
/// measured in alternating rounds, so a slow spell of the shared machine
/// weighs on both alike, and each is the median over the rounds (measured
/// one after the other, minutes apart, the floor moved by 0.3-0.6 ms per
/// test between runs of this bench, as much as what is compared).
fn nextest_pair(
    root: &Path,
    profile: Profile,
    bins: [&str; 2],
    cases: usize,
    results: &Path,
) -> (f64, f64) {
    let nextest = |bin: &str, extra: &[&str]| {
        let dir = if bin == SSH_SUITE.bin {
            SSH_WORKSPACE
        } else {
            ""
        };
        let start = Instant::now();
        let status = cargo(root, dir)
            .args(["nextest", "run", "-j", "2", "--no-fail-fast", "--workspace"])
            .args(["--test", bin])
            .args(profile.cargo_args())
            .args(extra)
            .env("DUCKTAPE_RESULTS_ROOT", results)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let elapsed = start.elapsed();
        status.ok().filter(|s| s.success()).map(|_| elapsed)
    };
    let none = ["--no-tests=pass", "-E", "test(=no::such::test)"];
    for bin in bins {
        // The first run also builds what nextest needs: not timed.
        let _ = nextest(bin, &none);
    }
    // A 200-case run is ~1.5 s, a 5,000-case one ~30 s.
    let rounds = if cases <= 1_000 { 5 } else { 2 };
    let mut per_test = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, bin) in bins.into_iter().enumerate() {
            if let (Some(empty), Some(all)) = (nextest(bin, &none), nextest(bin, &[])) {
                per_test[i].push(ms(all.saturating_sub(empty)) / cases as f64);
            }
        }
    }
    (median(&mut per_test[0]), median(&mut per_test[1]))
}

/// The median (the mean of the middle two of an even count); NaN if empty.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Everything measured in one profile.
struct Figures {
    cargo_test: [CargoTest; 2],
    /// `cargo test` of 200 cases with the results in memory, if measured.
    cargo_test_ram: Option<f64>,
    nextest: [(f64, f64); 2],
    exact: (f64, f64),
    /// One nextest process in a results root of no / 1,000 earlier sessions.
    grown_root: (f64, f64),
    list: f64,
    /// The 200-case suite with the `ssh` feature: nextest per test, and
    /// one `--exact` case.
    ssh: (f64, f64),
}

fn measure(root: &Path, profile: Profile, results: &Path) -> Result<Figures, String> {
    let mut bins = build(root, "", profile)?;
    bins.extend(build(root, SSH_WORKSPACE, profile)?);
    let exe = |name: &str| {
        bins.iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
            .ok_or_else(|| format!("no binary {name}"))
    };
    let mut cargo_test = [CargoTest::default(); 2];
    let mut nextest = [(0.0, 0.0); 2];
    for (i, s) in SUITES[..2].iter().enumerate() {
        let (suite, floor) = (exe(s.bin)?, exe(&s.floor())?);
        cargo_test[i] = cargo_test_rounds(&suite, &floor, s.cases(), results);
        nextest[i] = nextest_pair(root, profile, [s.bin, &s.floor()], s.cases(), results);
    }
    let (s200, s10k) = (exe("s200")?, exe("s10000")?);
    let cargo_test_ram = ram_results().map(|ram| cargo_test_per_test(&s200, 200, ram.path()));
    let exact = (
        ms(best_of(7, || {
            run(&s200, &["--exact", "trivial::a=3,b=7"], results, 1)
        })),
        ms(best_of(7, || {
            run(&s10k, &["--exact", "many::x=3,y=7"], results, 1)
        })),
    );
    let grown_root = (
        ms(exact_in_root(&s200, 0, results)),
        ms(exact_in_root(&s200, 1_000, results)),
    );
    let list = ms(best_of(5, || {
        run(&s10k, &["--list", "--format", "terse"], results, 10_000)
    }));
    let s200_ssh = exe(SSH_SUITE.bin)?;
    let floor200 = SUITES[0].floor();
    let ssh = (
        nextest_pair(root, profile, [SSH_SUITE.bin, &floor200], 200, results).0,
        ms(best_of(7, || {
            run(&s200_ssh, &["--exact", "trivial::a=3,b=7"], results, 1)
        })),
    );
    Ok(Figures {
        cargo_test,
        cargo_test_ram,
        nextest,
        exact,
        grown_root,
        list,
        ssh,
    })
}

fn print(profile: Profile, f: &Figures) {
    let p = profile.name();
    let [c200, c5k] = f.cargo_test;
    println!(
        "{p}: cargo test, per test: 200 cases {:.2} ms (floor {:.2}, {:+.2}), 5,000 cases {:.2} ms \
         (floor {:.2}, {:+.2}); ratio 5,000/200 {:.2} (floor {:.2})",
        c200.suite,
        c200.floor,
        c200.suite - c200.floor,
        c5k.suite,
        c5k.floor,
        c5k.suite - c5k.floor,
        c5k.suite / c200.suite,
        c5k.floor / c200.floor
    );
    let [(d200, f200), (d5k, f5k)] = f.nextest;
    println!(
        "{p}: cargo nextest run -j 2, per test: 200 cases {d200:.2} ms (floor {f200:.2}, {:+.2}), \
         5,000 cases {d5k:.2} ms (floor {f5k:.2}, {:+.2}); ratio 5,000/200 {:.2} (floor {:.2})",
        d200 - f200,
        d5k - f5k,
        d5k / d200,
        f5k / f200
    );
    println!(
        "{p}: cargo test, per test, results on this disk: 200 cases {:.2} ms, of which the \
         disk's cost of the result files alone {:.2} ms; 5,000 cases {:.2} ms, files alone {:.2} \
         ms; results in memory (/dev/shm), 200 cases: {}",
        c200.suite,
        c200.files,
        c5k.suite,
        c5k.files,
        f.cargo_test_ram
            .map_or("not measured".to_string(), |ms| format!("{ms:.2} ms"))
    );
    println!(
        "{p}: one --exact case: 200-case binary {:.1} ms, 10,000-case binary {:.1} ms ({:.2}x)",
        f.exact.0,
        f.exact.1,
        f.exact.1 / f.exact.0
    );
    println!(
        "{p}: a later nextest process (--exact, joining its run's session), 200-case binary: \
         {:.1} ms with a fresh results root, {:.1} ms with 1,000 earlier sessions in it",
        f.grown_root.0, f.grown_root.1
    );
    println!("{p}: --list of 10,000 cases: {:.1} ms", f.list);
    println!(
        "{p}: with the ssh feature (OpenSSL linked), 200 cases: cargo nextest run -j 2 {:.2} ms \
         per test (floor {:.2}), one --exact case {:.1} ms",
        f.ssh.0, f.nextest[0].1, f.ssh.1
    );
}

fn main() -> std::process::ExitCode {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let root = target.join("overhead-bench");
    if let Err(e) = write_workspace(&root) {
        eprintln!("overhead bench: cannot write {}: {e}", root.display());
        return std::process::ExitCode::FAILURE;
    }
    // Under the target directory, as a user's `results/` is under their
    // project: on this machine's disk, where a directory sits decides what
    // creating files costs (ext4 searches fuller inode bitmaps longer).
    let results = tempfile::tempdir_in(&root).expect("tempdir");
    for profile in [Profile::Test, Profile::Release] {
        match measure(&root, profile, results.path()) {
            Ok(f) => print(profile, &f),
            Err(e) => {
                eprintln!("overhead bench: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    match peer::measure() {
        Ok(p) => println!(
            "python ducktape 0.17: 200 cases, per test {:.1} ms; --collect-only {:.0} ms",
            p.per_test_ms, p.collect_200_ms
        ),
        Err(e) => println!("python ducktape 0.17: not measured: {e}"),
    }
    std::process::ExitCode::SUCCESS
}
