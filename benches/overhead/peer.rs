//! The peer: Python ducktape 0.17 from PyPI, in a venv under `target/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Python ducktape's figures.
pub struct Peer {
    /// Wall time per trivial test, ms.
    pub per_test_ms: f64,
    /// `--collect-only` of 200 tests, ms.
    pub collect_200_ms: f64,
}

const SUITE: &str = r#"
from ducktape.tests.test import Test
from ducktape.mark import matrix
from ducktape.mark.resource import cluster

class TrivialTest(Test):
    @cluster(num_nodes=0)
    @matrix(a=list(range(10)), b=list(range(20)))
    def test_trivial(self, a, b):
        pass
"#;

fn venv() -> Result<PathBuf, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let venv = target.join("bench-venv");
    let ducktape = venv.join("bin/ducktape");
    if ducktape.is_file() {
        return Ok(ducktape);
    }
    let ok = |c: &mut Command| {
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !ok(Command::new("python3").args(["-m", "venv"]).arg(&venv)) {
        return Err("python3 -m venv failed".into());
    }
    if !ok(Command::new(venv.join("bin/pip")).args(["install", "-q", "ducktape==0.17.0"])) {
        return Err("pip install ducktape==0.17.0 failed (PyPI unreachable?)".into());
    }
    Ok(ducktape)
}

fn timed(cmd: &mut Command) -> Result<f64, String> {
    let start = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("{cmd:?} failed"));
    }
    Ok(start.elapsed().as_secs_f64() * 1000.0)
}

/// Runs Python ducktape on 200 trivial tests.
pub fn measure() -> Result<Peer, String> {
    let ducktape = venv()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let suite = dir.path().join("test_trivial.py");
    std::fs::write(&suite, SUITE).map_err(|e| e.to_string())?;
    let collect = timed(
        Command::new(&ducktape)
            .arg("--collect-only")
            .arg(&suite)
            .current_dir(dir.path()),
    )?;
    let run = timed(
        Command::new(&ducktape)
            .arg(&suite)
            .args([
                "--cluster",
                "ducktape.cluster.localhost.LocalhostCluster",
                "--results-root",
            ])
            .arg(dir.path().join("results"))
            .current_dir(dir.path()),
    )?;
    Ok(Peer {
        per_test_ms: (run - collect).max(0.0) / 200.0,
        collect_200_ms: collect,
    })
}
