//! Command-line options: the flags, `DUCKTAPE_*` variables and config files.
//!
//! Precedence, lowest first: `<project>/.ducktape/config`,
//! `~/.ducktape/config`, `--config-file`, `DUCKTAPE_*` variables, the command
//! line. Every source is turned into arguments and parsed once, so each flag
//! means the same thing wherever it is written.

mod options;

pub use options::{Color, Format, Options};

use clap::{CommandFactory, FromArgMatches};
use serde_json::{Map, Value};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Bad input on the command line, in a config file or in a variable.
/// The runner prints it on one line and exits with status 2.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// clap's own message (unknown flag, bad number...), first line only.
    #[error("{0}")]
    Parse(String),
    /// A config file could not be read or split.
    #[error("config file {path}: {reason}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Flags that contradict each other or are out of range.
    #[error("{0}")]
    Invalid(String),
    /// `--parameters` or `--globals` is not a JSON object.
    #[error("{flag}: {reason}")]
    Json {
        /// `--parameters` or `--globals`.
        flag: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `--help` or `--version`: print this and exit 0.
    #[error("{0}")]
    Display(String),
}

/// Options after parsing, with the JSON flags decoded.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The flags.
    pub options: Options,
    /// `--parameters`, decoded.
    pub parameters: Option<Map<String, Value>>,
    /// `--globals`, decoded (an empty object when not given).
    pub globals: Value,
}

/// Parses the process's arguments and environment.
pub fn parse_env() -> Result<Parsed, CliError> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let vars: Vec<(String, String)> = std::env::vars().collect();
    parse_from(&argv, &vars, &project_dir(), home_dir().as_deref())
}

/// Parses `argv` (program name first) with the given environment, project
/// directory and home directory.
pub fn parse_from(
    argv: &[OsString],
    vars: &[(String, String)],
    project: &Path,
    home: Option<&Path>,
) -> Result<Parsed, CliError> {
    let program = argv.first().cloned().unwrap_or_else(|| "ducktape".into());
    let cli: Vec<OsString> = argv.iter().skip(1).cloned().collect();
    let mut args = vec![program];
    let mut config = Vec::new();
    for file in config_files(project, home, &cli, vars)? {
        config.extend(read_config(&file)?);
    }
    args.extend(config_args(config, vars));
    args.extend(env_args(vars)?);
    args.extend(cli);

    let matches = Options::command()
        .try_get_matches_from(&args)
        .map_err(clap_error)?;
    let options = Options::from_arg_matches(&matches).map_err(clap_error)?;
    validate(&options)?;
    let parameters = options
        .parameters
        .as_deref()
        .map(|text| json_object("--parameters", text))
        .transpose()?;
    let globals = match options.globals.as_deref() {
        Some(g) => Value::Object(read_globals(g)?),
        None => Value::Object(Map::new()),
    };
    Ok(Parsed {
        options,
        parameters,
        globals,
    })
}

fn clap_error(e: clap::Error) -> CliError {
    use clap::error::ErrorKind;
    let text = e.render().to_string();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => CliError::Display(text),
        _ => {
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            CliError::Parse(format!("{first} (see --help)"))
        }
    }
}

/// The config files that exist, lowest precedence first.
fn config_files(
    project: &Path,
    home: Option<&Path>,
    cli: &[OsString],
    vars: &[(String, String)],
) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    let project_file = project.join(".ducktape/config");
    if project_file.is_file() {
        files.push(project_file);
    }
    if let Some(home) = home {
        let user_file = home.join(".ducktape/config");
        if user_file.is_file() && !files.contains(&user_file) {
            files.push(user_file);
        }
    }
    // An explicit --config-file must exist: a typo should not silently run
    // with other settings.
    if let Some(explicit) = explicit_config_file(cli, vars) {
        files.push(explicit);
    }
    Ok(files)
}

fn explicit_config_file(cli: &[OsString], vars: &[(String, String)]) -> Option<PathBuf> {
    let mut found = vars
        .iter()
        .find(|(k, _)| k == "DUCKTAPE_CONFIG_FILE")
        .map(|(_, v)| PathBuf::from(v));
    let mut it = cli.iter();
    while let Some(arg) = it.next() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if let Some(v) = arg.strip_prefix("--config-file=") {
            found = Some(PathBuf::from(v));
        } else if arg == "--config-file" {
            found = it.next().map(PathBuf::from);
        }
    }
    found
}

fn read_config(path: &Path) -> Result<Vec<OsString>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::ConfigFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut args = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = shell_words::split(line).map_err(|e| CliError::ConfigFile {
            path: path.to_path_buf(),
            reason: format!("line {}: {e}", n + 1),
        })?;
        args.extend(words.into_iter().map(OsString::from));
    }
    Ok(args)
}

/// Config-file arguments, made safe to put before the others: a flag that
/// takes several values (`--exclude a b`) becomes one `--flag=value` per
/// value, so it cannot swallow the command line's filters; and a switch a
/// `DUCKTAPE_<FLAG>=0` variable turns off is dropped (variables outrank
/// config files).
fn config_args(tokens: Vec<OsString>, vars: &[(String, String)]) -> Vec<OsString> {
    let mut cmd = Options::command();
    cmd.build();
    let multi: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1))
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    let off: Vec<String> = cmd
        .get_arguments()
        .filter(|a| !a.get_action().takes_values())
        .filter_map(|a| a.get_long())
        .filter(|long| {
            let var = format!("DUCKTAPE_{}", long.to_ascii_uppercase().replace('-', "_"));
            vars.iter().any(|(k, v)| {
                *k == var
                    && matches!(
                        v.to_ascii_lowercase().as_str(),
                        "0" | "false" | "no" | "off" | ""
                    )
            })
        })
        .map(|long| format!("--{long}"))
        .collect();
    let mut out = Vec::with_capacity(tokens.len());
    let mut open_multi: Option<String> = None;
    for token in tokens {
        let text = token.to_string_lossy().into_owned();
        if let Some(flag) = &open_multi {
            if !text.starts_with('-') {
                out.push(OsString::from(format!("{flag}={text}")));
                continue;
            }
            open_multi = None;
        }
        if multi.contains(&text) {
            open_multi = Some(text);
        } else if !off.contains(&text) {
            out.push(token);
        }
    }
    out
}

/// Turns `DUCKTAPE_<FLAG>` variables into arguments. Flags take `1`/`true`
/// (set) or `0`/`false`/empty (unset); multi-valued flags split like a shell.
fn env_args(vars: &[(String, String)]) -> Result<Vec<OsString>, CliError> {
    let cmd = Options::command();
    let mut out = Vec::new();
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "config-file" {
            continue;
        }
        let var = format!("DUCKTAPE_{}", long.to_ascii_uppercase().replace('-', "_"));
        let Some((_, value)) = vars.iter().find(|(k, _)| *k == var) else {
            continue;
        };
        if !arg.get_action().takes_values() {
            match value.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => out.push(format!("--{long}").into()),
                "0" | "false" | "no" | "off" | "" => {}
                other => {
                    return Err(CliError::Invalid(format!(
                        "{var}={other}: expected 1/true or 0/false"
                    )))
                }
            }
        } else if matches!(arg.get_action(), clap::ArgAction::Append) {
            let words =
                shell_words::split(value).map_err(|e| CliError::Invalid(format!("{var}: {e}")))?;
            out.extend(
                words
                    .iter()
                    .map(|w| OsString::from(format!("--{long}={w}"))),
            );
        } else {
            out.push(format!("--{long}={value}").into());
        }
    }
    Ok(out)
}

fn validate(o: &Options) -> Result<(), CliError> {
    let positive = [
        ("--subsets", o.subsets),
        ("--repeat", o.repeat),
        ("--deflake", o.deflake),
        ("--max-parallel", o.max_parallel),
    ];
    for (flag, value) in positive {
        if value == 0 {
            return Err(CliError::Invalid(format!("{flag} must be at least 1")));
        }
    }
    if o.subset >= o.subsets {
        return Err(CliError::Invalid(format!(
            "--subset {} is out of range: with --subsets {} it must be 0 to {}",
            o.subset,
            o.subsets,
            o.subsets - 1
        )));
    }
    if o.test_threads == Some(0) {
        return Err(CliError::Invalid(
            "--test-threads must be at least 1".into(),
        ));
    }
    if o.ignored && o.include_ignored {
        return Err(CliError::Invalid(
            "--ignored and --include-ignored cannot be used together".into(),
        ));
    }
    if o.test_runner_timeout == 0 {
        return Err(CliError::Invalid(
            "--test-runner-timeout must be at least 1 ms".into(),
        ));
    }
    Ok(())
}

fn json_object(flag: &'static str, text: &str) -> Result<Map<String, Value>, CliError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(CliError::Json {
            flag,
            reason: format!("expected a JSON object like {{\"a\": 1}}, got {other}"),
        }),
        Err(e) => Err(CliError::Json {
            flag,
            reason: format!("not valid JSON ({e}): {text}"),
        }),
    }
}

/// `--globals` is a JSON object or a file holding one; a value that looks
/// like JSON is never taken for a file name.
fn read_globals(value: &str) -> Result<Map<String, Value>, CliError> {
    let trimmed = value.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return json_object("--globals", value);
    }
    let text = std::fs::read_to_string(value).map_err(|e| CliError::Json {
        flag: "--globals",
        reason: format!("{value} is neither a JSON object nor a readable file: {e}"),
    })?;
    json_object("--globals", &text).map_err(|e| match e {
        CliError::Json { reason, .. } => CliError::Json {
            flag: "--globals",
            reason: format!("file {value}: {reason}"),
        },
        other => other,
    })
}

/// The project whose `.ducktape/config` applies: cargo sets
/// `CARGO_MANIFEST_DIR` for test binaries; otherwise the working directory.
fn project_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], vars: &[(&str, &str)], project: &Path) -> Result<Parsed, CliError> {
        let mut argv: Vec<OsString> = vec!["systest".into()];
        argv.extend(args.iter().map(OsString::from));
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_from(&argv, &vars, project, None)
    }

    fn no_project() -> PathBuf {
        PathBuf::from("/nonexistent-ducktape-project")
    }

    #[test]
    fn libtest_flags_ides_send_are_accepted() {
        let p = parse(
            &[
                "m::t",
                "other",
                "--exact",
                "--nocapture",
                "--include-ignored",
                "--format=json",
                "-Z",
                "unstable-options",
                "--show-output",
                "--test-threads",
                "3",
            ],
            &[],
            &no_project(),
        )
        .unwrap();
        assert_eq!(p.options.filters, ["m::t", "other"]);
        assert!(p.options.exact && p.options.include_ignored);
        assert_eq!(p.options.format, Some(Format::Json));
        assert_eq!(p.options.test_threads, Some(3));
    }

    #[test]
    fn env_vars_set_flags_and_the_command_line_wins() {
        let p = parse(
            &["--subset", "1"],
            &[
                ("DUCKTAPE_SUBSETS", "4"),
                ("DUCKTAPE_SUBSET", "3"),
                ("DUCKTAPE_EXIT_FIRST", "1"),
                ("DUCKTAPE_DEBUG", "0"),
                ("DUCKTAPE_EXCLUDE", "a 'b c'"),
            ],
            &no_project(),
        )
        .unwrap();
        assert_eq!((p.options.subsets, p.options.subset), (4, 1));
        assert!(p.options.exit_first && !p.options.debug);
        assert_eq!(p.options.exclude, ["a", "b c"]);
    }

    #[test]
    fn config_files_stack_under_env_and_cli() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".ducktape")).unwrap();
        std::fs::write(
            dir.path().join(".ducktape/config"),
            "# comment\n--deflake 3\n--repeat=2 --results-root '/tmp/with space'\n",
        )
        .unwrap();
        let p = parse(&["--repeat", "5"], &[("DUCKTAPE_DEFLAKE", "4")], dir.path()).unwrap();
        assert_eq!(p.options.deflake, 4);
        assert_eq!(p.options.repeat, 5);
        assert_eq!(p.options.results_root, PathBuf::from("/tmp/with space"));
    }

    #[test]
    fn config_files_cannot_swallow_filters_and_variables_can_turn_switches_off() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".ducktape")).unwrap();
        std::fs::write(
            dir.path().join(".ducktape/config"),
            "--exact\n--exclude a b\n--debug\n",
        )
        .unwrap();
        let p = parse(&["quickstart"], &[("DUCKTAPE_EXACT", "0")], dir.path()).unwrap();
        assert_eq!(p.options.filters, ["quickstart"]);
        assert_eq!(p.options.exclude, ["a", "b"]);
        assert!(
            !p.options.exact,
            "DUCKTAPE_EXACT=0 must outrank the config file"
        );
        assert!(p.options.debug);
    }

    #[test]
    fn bad_input_is_one_clear_line() {
        let cases: &[(&[&str], &str)] = &[
            (&["--no-such-flag"], "--no-such-flag"),
            (
                &["--subset", "4", "--subsets", "4"],
                "--subset 4 is out of range",
            ),
            (
                &["--parameters", "{not json"],
                "--parameters: not valid JSON",
            ),
            (&["--parameters", "[1]"], "expected a JSON object"),
            (
                &["--globals", "/no/such/globals.json"],
                "/no/such/globals.json",
            ),
            (&["--config-file", "/no/such/config"], "/no/such/config"),
            (&["--repeat", "0"], "--repeat must be at least 1"),
            (&["--subsets", "x"], "invalid value 'x'"),
        ];
        for (args, needle) in cases {
            let err = parse(args, &[], &no_project()).unwrap_err().to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
            assert!(!err.contains('\n'), "{args:?}: multi-line: {err}");
        }
    }

    #[test]
    fn globals_from_a_file_or_a_string() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.json");
        std::fs::write(&file, r#"{"zk_version": "3.8"}"#).unwrap();
        let p = parse(&["--globals", file.to_str().unwrap()], &[], &no_project()).unwrap();
        assert_eq!(p.globals["zk_version"], "3.8");
        let p = parse(&["--globals", r#"{"a": 1}"#], &[], &no_project()).unwrap();
        assert_eq!(p.globals["a"], 1);
        std::fs::write(&file, "[1, 2]").unwrap();
        let err = parse(&["--globals", file.to_str().unwrap()], &[], &no_project())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("g.json") && err.contains("JSON object"),
            "{err}"
        );
    }
}
