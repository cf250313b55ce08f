//! Command-line options: the flags, `DUCKTAPE_*` variables and config files.
//!
//! Precedence, lowest first: `<project>/.ducktape/config`,
//! `~/.ducktape/config`, `--config-file`, `DUCKTAPE_*` variables, the command
//! line. Every source is turned into arguments and parsed once, so each flag
//! means the same thing wherever it is written. Each argument remembers its
//! source, so an error names the variable or the file and line it came from.

mod cache;
mod options;
mod origin;
mod ssh;

pub use options::{Color, Format, Options};
pub use ssh::SshArgs;

use clap::{CommandFactory, FromArgMatches};
use origin::{Origin, Origins};
use serde_json::{Map, Value};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Bad input on the command line, in a config file or in a variable.
/// The runner prints it on one line and exits with status 2.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// An error in a value that came from a variable or a config file:
    /// `DUCKTAPE_SUBSET=abc: …` or `path/config:3: …`.
    #[error("{at}: {error}")]
    At {
        /// The variable with its value, or `file:line`.
        at: String,
        /// The error itself.
        error: Box<CliError>,
    },
    /// `--help` or `--version`: print this and exit 0.
    #[error("{0}")]
    Display(String),
}

/// Options after parsing, with the JSON flags decoded.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Parsed {
    /// The flags.
    pub options: Options,
    /// `--parameters`, decoded.
    pub parameters: Option<Map<String, Value>>,
    /// `--globals`, decoded (an empty object when not given).
    pub globals: Value,
    /// Where each flag's value came from.
    origins: Origins,
}

impl Parsed {
    /// The variable or config-file line that set `flag`, when it was not
    /// the command line: errors found after parsing (a suite file, a
    /// historical report, a cluster) are blamed on it.
    pub fn origin(&self, flag: &str) -> Option<String> {
        self.origins.describe(flag)
    }
}

/// Parses the process's arguments and environment; a nextest process's
/// parse may come from the one an earlier process stored (`cli/cache.rs`).
pub fn parse_env() -> Result<Parsed, CliError> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let vars = utf8_vars(std::env::vars_os())?;
    let (project, home) = (project_dir(), home_dir());
    cache::parse(&argv, &vars, &project, home.as_deref(), || {
        parse_from(&argv, &vars, &project, home.as_deref())
    })
}

/// The environment's variables that are UTF-8 (`std::env::vars` would
/// panic on another); a `DUCKTAPE_*` variable that is not is an error.
fn utf8_vars(
    vars: impl Iterator<Item = (OsString, OsString)>,
) -> Result<Vec<(String, String)>, CliError> {
    let mut out = Vec::new();
    for (k, v) in vars {
        match (k.into_string(), v.into_string()) {
            (Ok(k), Ok(v)) => out.push((k, v)),
            (Ok(k), Err(_)) if k.starts_with("DUCKTAPE_") => {
                return Err(CliError::Invalid(format!("{k}: the value is not UTF-8")));
            }
            _ => {}
        }
    }
    Ok(out)
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
    let mut args = vec![(program.clone(), Origin::Cli)];
    // Built once: in the unoptimized profile test binaries are built in,
    // building clap's command is a good part of a process's start, and a
    // nextest run starts one process per test.
    let mut cmd = command();
    cmd.build();
    for (file, named_by) in config_files(project, home, &cli, vars) {
        let lines = read_config(&file).map_err(|e| named_by.blame(e))?;
        let tokens = config_args(&cmd, lines, vars);
        check_config(&cmd, &program, &file, &tokens)?;
        args.extend(tokens.into_iter().map(|(token, line)| {
            let path = file.clone();
            (token, Origin::Config { path, line })
        }));
    }
    let env = env_args(&cmd, vars)?;
    args.extend(env.iter().cloned());
    args.extend(cli.into_iter().map(|a| (a, Origin::Cli)));

    let matches = match cmd.try_get_matches_from_mut(args.iter().map(|(a, _)| a)) {
        Ok(matches) => matches,
        Err(e) => {
            // A variable's bad value is blamed on the variable: each parsed
            // alone finds it (only now, as each parse clones the grammar).
            for (token, origin) in &env {
                try_parse(&cmd, &program, [token]).map_err(|e| origin.blame(e))?;
            }
            return Err(clap_error(e));
        }
    };
    let options = Options::from_arg_matches(&matches).map_err(clap_error)?;
    let origins = Origins::of(args.iter().map(|(a, o)| (a, o)));
    validate(&options).map_err(|(flags, e)| origins.blame(flags, e))?;
    let parameters = options
        .parameters
        .as_deref()
        .map(|text| json_object("--parameters", text))
        .transpose()
        .map_err(|e| origins.blame(&["--parameters"], e))?;
    let globals = match options.globals.as_deref() {
        Some(g) => Value::Object(read_globals(g).map_err(|e| origins.blame(&["--globals"], e))?),
        None => Value::Object(Map::new()),
    };
    Ok(Parsed {
        options,
        parameters,
        globals,
        origins,
    })
}

/// The grammar, with numeric flags taking `-1` as their (refused) value
/// rather than as an unknown flag, so the error says what is wrong.
fn command() -> clap::Command {
    Options::command().mut_args(|a| {
        if a.get_action().takes_values() && !a.is_positional() {
            a.allow_negative_numbers(true)
        } else {
            a
        }
    })
}

/// Parses `tokens` alone (`--help` and `--version` count as fine).
fn try_parse<I, T>(cmd: &clap::Command, program: &OsString, tokens: I) -> Result<(), CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let argv = std::iter::once(program.clone()).chain(tokens.into_iter().map(Into::into));
    match cmd.clone().try_get_matches_from(argv).map_err(clap_error) {
        Err(CliError::Display(_)) | Ok(_) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Parses a config file's arguments alone; on an error, names the first
/// line at which the file's arguments give that same error.
fn check_config(
    cmd: &clap::Command,
    program: &OsString,
    file: &Path,
    tokens: &[(OsString, usize)],
) -> Result<(), CliError> {
    refuse_config_file_flag(file, tokens)?;
    let Err(error) = try_parse(cmd, program, up_to(tokens, usize::MAX)) else {
        return refuse_filters(cmd, program, file, tokens);
    };
    let same = error.to_string();
    let line = tokens
        .iter()
        .map(|(_, l)| *l)
        .find(|&l| try_parse(cmd, program, up_to(tokens, l)).is_err_and(|e| e.to_string() == same))
        .or_else(|| tokens.last().map(|(_, l)| *l))
        .unwrap_or(1);
    Err(at_line(file, line, error))
}

/// A config file's words on lines up to `last`.
fn up_to(tokens: &[(OsString, usize)], last: usize) -> impl Iterator<Item = &OsString> {
    tokens
        .iter()
        .filter(move |(_, l)| *l <= last)
        .map(|(t, _)| t)
}

/// `error`, blamed on line `line` of config file `file`.
fn at_line(file: &Path, line: usize, error: CliError) -> CliError {
    Origin::Config {
        path: file.to_path_buf(),
        line,
    }
    .blame(error)
}

/// A word that is not a flag's nor its value is a test filter: in a config
/// file it is almost surely a flag missing its `--` (`history 0`), which
/// would quietly select no test in every run; it is refused, naming it.
fn refuse_filters(
    cmd: &clap::Command,
    program: &OsString,
    file: &Path,
    tokens: &[(OsString, usize)],
) -> Result<(), CliError> {
    let filters = |last: usize| -> Vec<String> {
        let argv = std::iter::once(program).chain(up_to(tokens, last));
        cmd.clone()
            .try_get_matches_from(argv)
            .ok()
            .and_then(|m| {
                m.get_many::<String>("filters")
                    .map(|v| v.cloned().collect())
            })
            .unwrap_or_default()
    };
    let Some(first) = filters(usize::MAX).into_iter().next() else {
        return Ok(());
    };
    let line = tokens
        .iter()
        .map(|(_, l)| *l)
        .find(|&l| !filters(l).is_empty())
        .unwrap_or(1);
    let error = CliError::Invalid(format!(
        "unexpected word {first:?}: a config file holds flags only (each with its leading --; \
         test names and suite files go on the command line)"
    ));
    Err(at_line(file, line, error))
}

/// Which files are read is settled before any is read, so a `--config-file`
/// inside one would be parsed and then ignored: it is refused instead.
fn refuse_config_file_flag(file: &Path, tokens: &[(OsString, usize)]) -> Result<(), CliError> {
    let is_flag = |t: &OsString| {
        let t = t.to_string_lossy();
        t == "--config-file" || t.starts_with("--config-file=")
    };
    let Some(&(_, line)) = tokens.iter().find(|(t, _)| is_flag(t)) else {
        return Ok(());
    };
    let error = CliError::Invalid(
        "--config-file cannot be set in a config file; give it on the command line or as \
         DUCKTAPE_CONFIG_FILE"
            .into(),
    );
    Err(at_line(file, line, error))
}

fn clap_error(e: clap::Error) -> CliError {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let text = e.render().to_string();
    let context = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => CliError::Display(text),
        ErrorKind::ValueValidation => {
            // clap says `'--subset <I>'`; the flag is enough.
            let arg = context(ContextKind::InvalidArg).unwrap_or_default();
            let flag = arg.split_whitespace().next().unwrap_or("the flag");
            let value = context(ContextKind::InvalidValue).unwrap_or_default();
            let reason = std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_else(|| "invalid".into());
            if value.trim().parse::<i128>().is_ok_and(|n| n < 0) {
                CliError::Parse(format!("{flag} takes a non-negative number, not {value}"))
            } else {
                CliError::Parse(format!("invalid value '{value}' for {flag}: {reason}"))
            }
        }
        _ => {
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            // clap's tip is on a later line; the one line keeps it.
            match e.get(ContextKind::SuggestedArg) {
                Some(ContextValue::String(s)) => {
                    CliError::Parse(format!("{first}; did you mean '{s}'? (see --help)"))
                }
                _ => CliError::Parse(format!("{first} (see --help)")),
            }
        }
    }
}

/// The config files that exist, lowest precedence first, each with what
/// named it (`DUCKTAPE_CONFIG_FILE`, or nothing the user must be told of).
fn config_files(
    project: &Path,
    home: Option<&Path>,
    cli: &[OsString],
    vars: &[(String, String)],
) -> Vec<(PathBuf, Origin)> {
    let mut files = Vec::new();
    let project_file = project.join(".ducktape/config");
    if project_file.is_file() {
        files.push((project_file, Origin::Cli));
    }
    if let Some(home) = home {
        let user_file = home.join(".ducktape/config");
        if user_file.is_file() && !files.iter().any(|(f, _)| *f == user_file) {
            files.push((user_file, Origin::Cli));
        }
    }
    // An explicit --config-file must exist: a typo should not silently run
    // with other settings.
    if let Some(explicit) = explicit_config_file(cli, vars) {
        files.push(explicit);
    }
    files
}

fn explicit_config_file(cli: &[OsString], vars: &[(String, String)]) -> Option<(PathBuf, Origin)> {
    let mut found = vars
        .iter()
        .find(|(k, _)| k == "DUCKTAPE_CONFIG_FILE")
        .map(|(var, value)| {
            let origin = Origin::Env {
                var: var.clone(),
                value: value.clone(),
            };
            (PathBuf::from(value), origin)
        });
    let mut it = cli.iter();
    while let Some(arg) = it.next() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if let Some(v) = arg.strip_prefix("--config-file=") {
            found = Some((PathBuf::from(v), Origin::Cli));
        } else if arg == "--config-file" {
            found = it.next().map(|v| (PathBuf::from(v), Origin::Cli));
        }
    }
    found
}

/// A config file's words, each with its 1-based line number.
fn read_config(path: &Path) -> Result<Vec<(OsString, usize)>, CliError> {
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
        let words = shell_words::split(line).map_err(|e| {
            let at = Origin::Config {
                path: path.to_path_buf(),
                line: n + 1,
            };
            at.blame(CliError::Invalid(e.to_string()))
        })?;
        args.extend(words.into_iter().map(|w| (OsString::from(w), n + 1)));
    }
    Ok(args)
}

/// Config-file arguments, made safe to put before the others: a flag that
/// takes several values (`--exclude a b`) becomes one `--flag=value` per
/// value, so it cannot swallow the command line's filters; and a switch a
/// `DUCKTAPE_<FLAG>=0` variable turns off is dropped (variables outrank
/// config files). Each word keeps its line.
fn config_args(
    cmd: &clap::Command,
    tokens: Vec<(OsString, usize)>,
    vars: &[(String, String)],
) -> Vec<(OsString, usize)> {
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
            let var = env_var(long);
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
    for (token, line) in tokens {
        let text = token.to_string_lossy().into_owned();
        if let Some(flag) = &open_multi {
            if !text.starts_with('-') {
                out.push((OsString::from(format!("{flag}={text}")), line));
                continue;
            }
            open_multi = None;
        }
        if multi.contains(&text) {
            open_multi = Some(text);
        } else if !off.contains(&text) {
            out.push((token, line));
        }
    }
    out
}

/// The variable that sets `--long`: `DUCKTAPE_LONG`.
fn env_var(long: &str) -> String {
    format!("DUCKTAPE_{}", long.to_ascii_uppercase().replace('-', "_"))
}

/// Turns `DUCKTAPE_<FLAG>` variables into arguments, each with its
/// variable. Flags take `1`/`true` (set) or `0`/`false`/empty (unset);
/// multi-valued flags split like a shell.
fn env_args(
    cmd: &clap::Command,
    vars: &[(String, String)],
) -> Result<Vec<(OsString, Origin)>, CliError> {
    let mut out = Vec::new();
    // Most processes have no DUCKTAPE_ variable at all.
    if !vars.iter().any(|(k, _)| k.starts_with("DUCKTAPE_")) {
        return Ok(out);
    }
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "config-file" {
            continue;
        }
        let var = env_var(long);
        let Some((_, value)) = vars.iter().find(|(k, _)| *k == var) else {
            continue;
        };
        let origin = Origin::Env {
            var: var.clone(),
            value: value.clone(),
        };
        let mut push = |token: String| out.push((OsString::from(token), origin.clone()));
        if !arg.get_action().takes_values() {
            match value.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => push(format!("--{long}")),
                "0" | "false" | "no" | "off" | "" => {}
                _ => {
                    return Err(origin.blame(CliError::Invalid(format!(
                        "--{long} is a switch: expected 1/true or 0/false"
                    ))))
                }
            }
        } else if matches!(arg.get_action(), clap::ArgAction::Append) {
            let words = shell_words::split(value)
                .map_err(|e| origin.blame(CliError::Invalid(format!("--{long}: {e}"))))?;
            words.iter().for_each(|w| push(format!("--{long}={w}")));
        } else {
            push(format!("--{long}={value}"));
        }
    }
    Ok(out)
}

/// Range and consistency checks; an error comes with the flags it is about,
/// so that it can name where they were set.
fn validate(o: &Options) -> Result<(), (&'static [&'static str], CliError)> {
    let positive: [(&[&str], usize); 4] = [
        (&["--subsets"], o.subsets),
        (&["--repeat"], o.repeat),
        (&["--deflake"], o.deflake),
        (&["--max-parallel"], o.max_parallel),
    ];
    for (flag, value) in positive {
        if value == 0 {
            let msg = format!("{} must be at least 1", flag[0]);
            return Err((flag, CliError::Invalid(msg)));
        }
    }
    if o.subset >= o.subsets {
        let msg = format!(
            "--subset {} is out of range: with --subsets {} it must be 0 to {}",
            o.subset,
            o.subsets,
            o.subsets - 1
        );
        return Err((&["--subset", "--subsets"], CliError::Invalid(msg)));
    }
    if o.test_threads == Some(0) {
        let msg = "--test-threads must be at least 1".into();
        return Err((&["--test-threads"], CliError::Invalid(msg)));
    }
    if o.ignored && o.include_ignored {
        let msg = "--ignored and --include-ignored cannot be used together".into();
        return Err((&["--ignored", "--include-ignored"], CliError::Invalid(msg)));
    }
    if o.test_runner_timeout == 0 {
        let msg = "--test-runner-timeout must be at least 1 ms".into();
        return Err((&["--test-runner-timeout"], CliError::Invalid(msg)));
    }
    ssh::validate(o)
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
pub(super) mod tests {
    use super::*;

    /// Parses `args` after a program name, with `vars` as the environment
    /// and `project` as the directory config files are looked for in.
    pub(in crate::cli) fn parse(
        args: &[&str],
        vars: &[(&str, &str)],
        project: &Path,
    ) -> Result<Parsed, CliError> {
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
    fn errors_from_variables_name_the_variable_and_the_flag() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("DUCKTAPE_SUBSET", "abc")],
                "DUCKTAPE_SUBSET=abc: invalid value 'abc' for --subset: invalid digit found in string",
            ),
            (
                &[("DUCKTAPE_SUBSET", "-1")],
                "DUCKTAPE_SUBSET=-1: --subset takes a non-negative number, not -1",
            ),
            (
                &[("DUCKTAPE_REPEAT", "0")],
                "DUCKTAPE_REPEAT=0: --repeat must be at least 1",
            ),
            (
                &[("DUCKTAPE_SUBSETS", "2"), ("DUCKTAPE_SUBSET", "2")],
                "DUCKTAPE_SUBSET=2, DUCKTAPE_SUBSETS=2: --subset 2 is out of range",
            ),
            (
                &[("DUCKTAPE_DEBUG", "maybe")],
                "DUCKTAPE_DEBUG=maybe: --debug is a switch",
            ),
            (
                &[("DUCKTAPE_PARAMETERS", "{oops")],
                "DUCKTAPE_PARAMETERS={oops: --parameters: not valid JSON",
            ),
            (
                &[("DUCKTAPE_FORMAT", "xml")],
                "DUCKTAPE_FORMAT=xml: invalid value 'xml' for '--format",
            ),
            (
                &[("DUCKTAPE_EXCLUDE", "'open")],
                "DUCKTAPE_EXCLUDE='open: --exclude:",
            ),
            (
                &[("DUCKTAPE_CONFIG_FILE", "/no/such/config")],
                "DUCKTAPE_CONFIG_FILE=/no/such/config: config file /no/such/config",
            ),
        ];
        for (vars, needle) in cases {
            let err = parse(&[], vars, &no_project()).unwrap_err().to_string();
            assert!(err.starts_with(needle), "{vars:?}: {err}");
            assert!(!err.contains('\n'), "{vars:?}: multi-line: {err}");
        }
        // The command line overrides a variable, and is then to blame.
        let err = parse(
            &["--repeat", "0"],
            &[("DUCKTAPE_REPEAT", "2")],
            &no_project(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, "--repeat must be at least 1");
    }

    #[test]
    fn errors_from_config_files_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        let cases = [
            (
                "--deflake 2\n# c\n--frobnicate\n",
                3,
                "unexpected argument '--frobnicate'",
            ),
            ("\n--repeat abc\n", 2, "invalid value 'abc' for --repeat"),
            (
                "--exact\n--repeat=-3\n",
                2,
                "--repeat takes a non-negative number, not -3",
            ),
            ("--deflake\n--repeat 2\n", 1, "--deflake"),
            (
                "--repeat 2\n--max-parallel 0\n",
                2,
                "--max-parallel must be at least 1",
            ),
            (
                "--max-parallel 2\n--subset 3\n",
                2,
                "--subset 3 is out of range",
            ),
            ("--exclude 'a\n", 1, "missing closing quote"),
            (
                "--repeat 2\n--config-file /etc/other\n",
                2,
                "--config-file cannot be set in a config file",
            ),
            (
                "--config-file=/etc/other\n",
                1,
                "--config-file cannot be set in a config file",
            ),
            (
                "--deflake 2\nhistory 0\n",
                2,
                "unexpected word \"history\": a config file holds flags only",
            ),
            (
                "--exclude x\n--exact quickstart\n",
                2,
                "unexpected word \"quickstart\"",
            ),
        ];
        for (text, line, needle) in cases {
            std::fs::write(&file, text).unwrap();
            let path = file.to_str().unwrap();
            let err = parse(&["--config-file", path], &[], &no_project())
                .unwrap_err()
                .to_string();
            let at = format!("{path}:{line}: ");
            assert!(
                err.starts_with(&at) && err.contains(needle),
                "{text:?}: {err}"
            );
            assert!(!err.contains('\n'), "{text:?}: multi-line: {err}");
        }
        // A value split from its flag across lines is still one argument.
        std::fs::write(&file, "--deflake\n3\n").unwrap();
        let p = parse(
            &["--config-file", file.to_str().unwrap()],
            &[],
            &no_project(),
        )
        .unwrap();
        assert_eq!(p.options.deflake, 3);
    }

    #[test]
    fn negative_numbers_are_refused_by_name() {
        let numeric = [
            "--test-threads",
            "--default-num-nodes",
            "--localhost-nodes",
            "--max-parallel",
            "--repeat",
            "--subsets",
            "--subset",
            "--sample",
            "--sample-seed",
            "--test-runner-timeout",
            "--deflake",
        ];
        for flag in numeric {
            for args in [vec![flag, "-1"], vec![&format!("{flag}=-1")]] {
                let args: Vec<&str> = args.iter().map(|a| a.as_ref()).collect();
                let err = parse(&args, &[], &no_project()).unwrap_err().to_string();
                assert_eq!(err, format!("{flag} takes a non-negative number, not -1"));
            }
        }
        // A flag taking text takes `-1` as its value.
        let p = parse(&["--skip", "-1"], &[], &no_project()).unwrap();
        assert_eq!(p.options.skip, ["-1"]);
    }

    #[test]
    fn blame_names_the_source_of_a_flag_checked_after_parsing() {
        let p = parse(&[], &[("DUCKTAPE_SUITE", "x.yml")], &no_project()).unwrap();
        assert_eq!(p.origin("--suite").as_deref(), Some("DUCKTAPE_SUITE=x.yml"));
        assert_eq!(p.origin("--cluster"), None);
    }

    #[test]
    fn a_variable_that_is_not_utf8_is_skipped_unless_it_is_ours() {
        use std::os::unix::ffi::OsStringExt as _;
        let bad = || OsString::from_vec(vec![b'x', 0xff]);
        let vars = vec![
            (OsString::from("JUNK"), bad()),
            (OsString::from_vec(vec![0xff]), OsString::from("1")),
            (OsString::from("DUCKTAPE_REPEAT"), OsString::from("2")),
        ];
        let kept = utf8_vars(vars.into_iter()).unwrap();
        assert_eq!(kept, [("DUCKTAPE_REPEAT".to_string(), "2".to_string())]);
        let ours = vec![(OsString::from("DUCKTAPE_GLOBALS"), bad())];
        let err = utf8_vars(ours.into_iter()).unwrap_err().to_string();
        assert_eq!(err, "DUCKTAPE_GLOBALS: the value is not UTF-8");
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
