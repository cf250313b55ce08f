//! The whole command-line grammar: libtest's flags (what cargo, nextest and
//! IDEs send) and ducktape's.

use super::SshArgs;
use clap::{ArgAction, Parser, ValueEnum};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Output format of the test listing and progress (libtest's `--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum Format {
    /// One line per test.
    Pretty,
    /// One character per test.
    Terse,
    /// libtest's JSON lines.
    Json,
}

/// Terminal colors (libtest's `--color`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum Color {
    /// Color when stdout is a terminal.
    Auto,
    /// Always color.
    Always,
    /// Never color.
    Never,
}

/// Every flag a ducktape-rs test binary takes.
///
/// Each long flag can also be set with a `DUCKTAPE_<FLAG>` environment
/// variable (`--subset 2` ≡ `DUCKTAPE_SUBSET=2`), because `cargo nextest run`
/// passes no unknown flags to a test binary.
// Serializable so that nextest's processes can share one parse (see
// `cli/cache.rs`); a `//` comment because the doc comment is `--help`'s text.
#[derive(Clone, Debug, Parser, Serialize, Deserialize)]
#[serde(default)]
#[command(
    name = "ducktape",
    version,
    about = "Runs ducktape-rs system tests (a harness = false test target).",
    disable_help_subcommand = true,
    args_override_self = true
)]
pub struct Options {
    /// Run tests whose name contains any of these (or equals one, with --exact);
    /// a `.yml` suite file runs the tests it names.
    #[arg(value_name = "FILTER")]
    pub filters: Vec<String>,

    // ---- libtest ----
    /// Filters match whole names: a test's path runs all its cases.
    #[arg(long, help_heading = "libtest")]
    pub exact: bool,
    /// Skip tests whose name contains this (or equals it, with --exact).
    #[arg(long, value_name = "FILTER", help_heading = "libtest")]
    pub skip: Vec<String>,
    /// List the tests instead of running them.
    #[arg(long, help_heading = "libtest")]
    pub list: bool,
    /// Output format.
    #[arg(long, value_enum, help_heading = "libtest")]
    pub format: Option<Format>,
    /// Run only ignored tests.
    #[arg(long, help_heading = "libtest")]
    pub ignored: bool,
    /// Run ignored tests too.
    #[arg(long, help_heading = "libtest")]
    pub include_ignored: bool,
    /// Accepted for libtest compatibility: output is never captured (test logs go to files).
    #[arg(long, help_heading = "libtest")]
    pub nocapture: bool,
    /// Accepted for libtest compatibility (IntelliJ sends it).
    #[arg(long, help_heading = "libtest")]
    pub show_output: bool,
    /// Tests run at once (overrides --max-parallel).
    #[arg(long, value_name = "N", help_heading = "libtest")]
    pub test_threads: Option<usize>,
    /// Print less.
    #[arg(short, long, help_heading = "libtest")]
    pub quiet: bool,
    /// Colors.
    #[arg(long, value_enum, help_heading = "libtest")]
    pub color: Option<Color>,
    /// Unstable libtest options (`-Z unstable-options`), accepted.
    #[arg(short = 'Z', value_name = "FLAG", help_heading = "libtest")]
    pub unstable: Vec<String>,
    /// Write the libtest log here as well.
    #[arg(long, value_name = "PATH", help_heading = "libtest")]
    pub logfile: Option<PathBuf>,
    /// Accepted: cargo passes it to test targets.
    #[arg(long, hide = true)]
    pub test: bool,
    /// Accepted: cargo bench passes it; there are no benches in a systest target.
    #[arg(long, hide = true)]
    pub bench: bool,
    /// Accepted and ignored (libtest's timing report).
    #[arg(long, hide = true)]
    pub report_time: bool,
    /// Accepted and ignored (libtest's time limits).
    #[arg(long, hide = true)]
    pub ensure_time: bool,

    // ---- ducktape ----
    /// Print the selected test ids; run nothing.
    #[arg(long)]
    pub collect_only: bool,
    /// Print the total nodes the selected tests request; run nothing.
    #[arg(long)]
    pub collect_num_nodes: bool,
    /// Rebuild every report of this session directory from its
    /// records.jsonl (after a crash, or a copy); run nothing.
    #[arg(long, value_name = "DIR")]
    pub rebuild_reports: Option<PathBuf>,
    /// Merge shard sessions (session directories of other machines, or
    /// report.json files) into the new session OUT, every report rebuilt;
    /// name the tests of this binary's selection no shard ran; run nothing.
    #[arg(long, value_name = "OUT SESSION_DIR", num_args = 1.., action = ArgAction::Append)]
    pub merge_results: Vec<PathBuf>,
    /// Compare each test with this many earlier sessions of the results
    /// root (0: no history).
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub history: usize,
    /// Compare each test with this session directory or report.json
    /// instead of the results root's earlier sessions.
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// Percent change of a metric, beyond the earlier sessions' spread,
    /// that is a regression (or an improvement).
    #[arg(long, default_value_t = 20.0, value_name = "PCT")]
    #[serde(with = "super::cache::f64_bits")]
    pub regression_threshold: f64,
    /// Fail a test that regressed against earlier sessions.
    #[arg(long)]
    pub fail_on_regression: bool,
    /// More verbose console output (debug-level logs).
    #[arg(long)]
    pub debug: bool,
    /// Extra config file (same syntax as the command line).
    #[arg(long, value_name = "PATH")]
    pub config_file: Option<PathBuf>,
    /// Compress service logs on the node before collecting them.
    #[arg(long)]
    pub compress: bool,
    /// Cluster: `localhost` (default), `json`, `vagrant`.
    #[arg(long, default_value = "localhost", value_name = "NAME")]
    pub cluster: String,
    /// Nodes assumed for a test with no `cluster` mark.
    #[arg(long, value_name = "N")]
    pub default_num_nodes: Option<usize>,
    /// JSON cluster file (also the Vagrant cache).
    #[arg(long, value_name = "PATH")]
    pub cluster_file: Option<PathBuf>,
    /// Size of the localhost cluster (default: unbounded).
    #[arg(long, value_name = "N")]
    pub localhost_nodes: Option<usize>,
    /// Where node leases (and localhost node directories) live; runs that
    /// share it never share a node. Default: `$TMPDIR/ducktape-<uid>`.
    #[arg(long, value_name = "DIR")]
    pub lease_root: Option<PathBuf>,
    /// Where session directories go.
    #[arg(long, default_value = "./results", value_name = "PATH")]
    pub results_root: PathBuf,
    /// One directory per parameter (`a=1/b=2/`) instead of `a=1.b=2`.
    #[arg(long)]
    pub nested_result_dirs: bool,
    /// Stop after the first failure.
    #[arg(long)]
    pub exit_first: bool,
    /// Leave processes and files in place after each test.
    #[arg(long)]
    pub no_teardown: bool,
    /// Run the selected tests with exactly these arguments (a JSON object).
    #[arg(long, value_name = "JSON")]
    pub parameters: Option<String>,
    /// User globals: a JSON object, or a file holding one.
    #[arg(long, value_name = "JSON|PATH")]
    pub globals: Option<String>,
    /// Tests run at once.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub max_parallel: usize,
    /// Run every selected test N times.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: usize,
    /// Split the tests into N subsets ...
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub subsets: usize,
    /// ... and run subset I (0-based).
    #[arg(long, default_value_t = 0, value_name = "I")]
    pub subset: usize,
    /// Earlier report.json (ours or ducktape's): balance subsets by run time.
    #[arg(long, value_name = "PATH")]
    pub historical_report: Option<PathBuf>,
    /// Run a random sample of N tests.
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// Seed for --sample (printed when not given).
    #[arg(long, value_name = "SEED")]
    pub sample_seed: Option<u64>,
    /// Fail a test that used fewer nodes than it declared.
    #[arg(long)]
    pub fail_bad_cluster_utilization: bool,
    /// Fail a test whose teardown had problems (a service's stop or clean
    /// failed or hung, logs not collected, a node not fenced); by default
    /// they are reported and the test keeps its status.
    #[arg(long)]
    pub fail_on_teardown_error: bool,
    /// Fail a test with no `cluster` mark (0 nodes must be explicit).
    #[arg(long)]
    pub fail_greedy_tests: bool,
    /// Match any node of the right OS, whatever its node_type.
    #[arg(long)]
    pub ignore_node_type: bool,
    /// Milliseconds a test may run before it is stopped and failed.
    #[arg(long, default_value_t = 1_800_000, value_name = "MS")]
    pub test_runner_timeout: u64,
    /// Seconds after which a running test is reported SLOW (on the console
    /// and in its log), again every as many seconds; 0: never.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub slow_timeout: u64,
    /// Seconds between status lines on stderr when it is not a terminal (on
    /// a terminal: a live line at the bottom); 0: neither.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub status_interval: u64,
    /// Registered functions called with an SSH error and the account.
    #[arg(
        long,
        value_name = "NAME",
        num_args = 1..,
        action = ArgAction::Append,
        help_heading = "SSH nodes"
    )]
    pub ssh_checker_function: Vec<String>,
    /// How SSH nodes are reached.
    #[command(flatten)]
    pub ssh: SshArgs,
    /// Run a failing test up to N times in all; a pass on a rerun is FLAKY.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub deflake: usize,
    /// Services get no nodes (tests against a platform that is already running).
    #[arg(long)]
    pub skip_nodes_allocation: bool,
    /// Collect GC and error logs of services that run on a JVM.
    #[arg(long)]
    pub enable_jvm_logs: bool,
    /// Run only tests of these suite files (`DUCKTAPE_SUITE` under nextest);
    /// a `.yml` file given as a filter adds its tests instead.
    #[arg(long, value_name = "PATH", action = ArgAction::Append)]
    pub suite: Vec<PathBuf>,
    /// Leave these tests out (names or patterns, as filters).
    #[arg(long, value_name = "FILTER", num_args = 1.., action = ArgAction::Append)]
    pub exclude: Vec<String>,
}

/// What parsing no arguments gives (the `default_value`s above; a test
/// holds the two equal). A stored parse (`cli/cache.rs`) keeps only the
/// options that differ from these, and reading one back fills in the rest
/// from here: deserializing every field was most of a nextest process's
/// parse.
impl Default for Options {
    fn default() -> Self {
        Options {
            filters: Vec::new(),
            exact: false,
            skip: Vec::new(),
            list: false,
            format: None,
            ignored: false,
            include_ignored: false,
            nocapture: false,
            show_output: false,
            test_threads: None,
            quiet: false,
            color: None,
            unstable: Vec::new(),
            logfile: None,
            test: false,
            bench: false,
            report_time: false,
            ensure_time: false,
            collect_only: false,
            collect_num_nodes: false,
            rebuild_reports: None,
            merge_results: Vec::new(),
            history: 5,
            baseline: None,
            regression_threshold: 20.0,
            fail_on_regression: false,
            debug: false,
            config_file: None,
            compress: false,
            cluster: "localhost".to_string(),
            default_num_nodes: None,
            cluster_file: None,
            localhost_nodes: None,
            lease_root: None,
            results_root: PathBuf::from("./results"),
            nested_result_dirs: false,
            exit_first: false,
            no_teardown: false,
            parameters: None,
            globals: None,
            max_parallel: 1,
            repeat: 1,
            subsets: 1,
            subset: 0,
            historical_report: None,
            sample: None,
            sample_seed: None,
            fail_bad_cluster_utilization: false,
            fail_on_teardown_error: false,
            fail_greedy_tests: false,
            ignore_node_type: false,
            test_runner_timeout: 1_800_000,
            slow_timeout: 60,
            status_interval: 30,
            ssh_checker_function: Vec::new(),
            ssh: SshArgs::default(),
            deflake: 1,
            skip_nodes_allocation: false,
            enable_jvm_logs: false,
            suite: Vec::new(),
            exclude: Vec::new(),
        }
    }
}
