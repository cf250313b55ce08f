//! Per-test overhead of the harness, side by side with Python ducktape.
//!
//! This binary is both the suite and the driver: run by `cargo bench` it
//! re-runs itself as a ducktape test binary (`DUCKTAPE_BENCH_CHILD=1`) to
//! time 200 trivial parametrized tests and `--collect-only` on 10,000 cases,
//! then, when Python ducktape 0.17 is available (`pip install ducktape==0.17.0`
//! into `target/bench-venv`, done here if missing), the same with it.

mod peer;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// 200 cases that do nothing: what is left is the harness's cost.
#[ducktape::test(cluster(num_nodes = 0), matrix(a = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], b = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]))]
fn trivial(_ctx: &ducktape::TestContext, a: u32, b: u32) {
    let _ = (a, b);
}

/// 10,000 cases, only ever collected.
#[ducktape::test(cluster(num_nodes = 0), matrix(x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99], y = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99]))]
fn many(_ctx: &ducktape::TestContext, x: u32, y: u32) {
    let _ = (x, y);
}

/// Runs this binary as a test binary; checks it printed `lines` lines.
fn child(args: &[&str], results: &std::path::Path, lines: usize) -> Duration {
    let exe = std::env::current_exe().expect("own path");
    let start = Instant::now();
    let out = Command::new(exe)
        .args(args)
        .arg("--results-root")
        .arg(results)
        .env("DUCKTAPE_BENCH_CHILD", "1")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("bench child runs");
    let elapsed = start.elapsed();
    assert!(out.status.success(), "bench child failed: {args:?}");
    let printed = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(printed, lines, "{args:?} printed {printed} lines");
    elapsed
}

fn best_of(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..n).map(|_| f()).min().unwrap_or_default()
}

fn main() -> std::process::ExitCode {
    if std::env::var_os("DUCKTAPE_BENCH_CHILD").is_some() {
        return ducktape::main();
    }
    let results = tempfile::tempdir().expect("tempdir");
    // libtest prints a blank line, `running N tests`, one line per test,
    // a blank line, the result line and a blank line.
    let empty = best_of(5, || {
        child(&["--exact", "no::such::test"], results.path(), 5)
    });
    let run200 = best_of(3, || child(&["--exact", "trivial"], results.path(), 205));
    let collect = best_of(5, || {
        child(&["--collect-only", "many"], results.path(), 10_000)
    });
    let list = best_of(5, || child(&["--list"], results.path(), 10_200));
    let per_test = run200.saturating_sub(empty).as_secs_f64() * 1000.0 / 200.0;
    println!(
        "ducktape-rs: run 200 trivial tests: {:.1} ms total, {:.3} ms per test (startup {:.1} ms)",
        run200.as_secs_f64() * 1000.0,
        per_test,
        empty.as_secs_f64() * 1000.0
    );
    println!(
        "ducktape-rs: --collect-only 10,000 cases: {:.1} ms",
        collect.as_secs_f64() * 1000.0
    );
    println!(
        "ducktape-rs: --list 10,200 cases: {:.1} ms",
        list.as_secs_f64() * 1000.0
    );
    match peer::measure() {
        Ok(p) => {
            println!(
                "python ducktape 0.17: run 200 trivial tests: {:.0} ms per test",
                p.per_test_ms
            );
            println!(
                "python ducktape 0.17: --collect-only 200 tests: {:.0} ms",
                p.collect_200_ms
            );
            println!(
                "ratio per test (python / rust): {:.0}x",
                p.per_test_ms / per_test.max(1e-6)
            );
            println!(
                "ratio collect (python 200 / rust 10,000): {:.0}x",
                p.collect_200_ms / (collect.as_secs_f64() * 1000.0)
            );
        }
        Err(e) => println!("python ducktape 0.17: not measured: {e}"),
    }
    std::process::ExitCode::SUCCESS
}
