//! Where each argument came from, so that an error names the variable or
//! the config file line that caused it rather than a flag the user never
//! typed.

use super::CliError;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The source of one argument.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) enum Origin {
    /// The command line (errors need no further name).
    Cli,
    /// A `DUCKTAPE_*` variable and its whole value.
    Env {
        /// `DUCKTAPE_SUBSET`.
        var: String,
        /// Its value as set.
        value: String,
    },
    /// A line of a config file.
    Config {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Cli => f.write_str("the command line"),
            Origin::Env { var, value } => write!(f, "{var}={value}"),
            Origin::Config { path, line } => write!(f, "{}:{line}", path.display()),
        }
    }
}

impl Origin {
    /// `error`, prefixed with this origin unless it is the command line.
    pub(super) fn blame(&self, error: CliError) -> CliError {
        match self {
            Origin::Cli => error,
            other => CliError::At {
                at: other.to_string(),
                error: Box::new(error),
            },
        }
    }
}

/// The origin of the value each long flag ended up with: the last
/// occurrence wins (`args_override_self`), as in the parse.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Origins(BTreeMap<String, Origin>);

impl Origins {
    /// Records the origin of every `--flag` / `--flag=value` token.
    pub(super) fn of<'a>(
        args: impl IntoIterator<Item = (&'a std::ffi::OsString, &'a Origin)>,
    ) -> Self {
        let mut map = BTreeMap::new();
        for (token, origin) in args {
            let token = token.to_string_lossy();
            if let Some(flag) = token.strip_prefix("--").filter(|f| !f.is_empty()) {
                let long = flag.split_once('=').map_or(flag, |(l, _)| l);
                map.insert(format!("--{long}"), origin.clone());
            }
        }
        Origins(map)
    }

    /// `error` about `flags`, prefixed with wherever those flags were set
    /// outside the command line (`DUCKTAPE_REPEAT=0: --repeat must be …`).
    pub(super) fn blame(&self, flags: &[&str], error: CliError) -> CliError {
        let mut named: Vec<String> = Vec::new();
        for origin in flags.iter().filter_map(|f| self.0.get(*f)) {
            let text = origin.to_string();
            if *origin != Origin::Cli && !named.contains(&text) {
                named.push(text);
            }
        }
        if named.is_empty() {
            error
        } else {
            CliError::At {
                at: named.join(", "),
                error: Box::new(error),
            }
        }
    }

    /// The variable or file line that set `flag`, if not the command line.
    pub(super) fn describe(&self, flag: &str) -> Option<String> {
        self.0
            .get(flag)
            .filter(|o| **o != Origin::Cli)
            .map(Origin::to_string)
    }
}
