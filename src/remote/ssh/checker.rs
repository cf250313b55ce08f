//! SSH checkers: functions a test binary registers (with
//! [`ssh_checker!`](crate::ssh_checker)) and selects with
//! `--ssh-checker-function`, called with every error of an SSH account.
//!
//! Part of the SSH configuration, so it exists without the `ssh` feature
//! too: a binary that registers checkers builds either way.

use crate::remote::{RemoteAccount, RemoteError};

/// A function called when an SSH account fails (ducktape's
/// `--ssh-checker-function`): it can log diagnostics, check the node, or
/// panic to fail the test with a better message. Register one with
/// [`ssh_checker!`](crate::ssh_checker).
#[derive(Debug)]
pub struct SshChecker {
    /// The name `--ssh-checker-function` selects it by.
    pub name: &'static str,
    /// The module it was registered in.
    pub module_path: &'static str,
    /// The function.
    pub check: fn(&RemoteError, &dyn RemoteAccount),
}

/// Every SSH checker linked into this binary.
#[linkme::distributed_slice]
pub static SSH_CHECKERS: [SshChecker];

/// The checkers `names` select. A name matches a checker's function name,
/// or its full path written with `::` or `.` (`tests.checks.my_check`).
/// An unknown name is an error that lists the known ones.
pub fn ssh_checkers(names: &[String]) -> Result<Vec<&'static SshChecker>, String> {
    let mut out: Vec<&'static SshChecker> = Vec::new();
    for name in names {
        let wanted = name.replace('.', "::");
        let found = SSH_CHECKERS.iter().find(|c| {
            c.name == wanted
                || format!("{}::{}", c.module_path, c.name) == wanted
                || format!("{}::{}", c.module_path, c.name).ends_with(&format!("::{wanted}"))
        });
        match found {
            Some(c) if !out.iter().any(|o| std::ptr::eq(*o, c)) => out.push(c),
            Some(_) => {}
            None => {
                let mut known: Vec<String> = SSH_CHECKERS
                    .iter()
                    .map(|c| format!("{}::{}", c.module_path, c.name))
                    .collect();
                known.sort();
                let known = if known.is_empty() {
                    "none is registered; register one with `ducktape::ssh_checker!(fn_name);`"
                        .to_string()
                } else {
                    format!("registered: {}", known.join(", "))
                };
                return Err(format!(
                    "--ssh-checker-function {name:?} names no registered SSH checker ({known})"
                ));
            }
        }
    }
    Ok(out)
}

/// Calls each checker with an account's error, in the order selected.
#[cfg_attr(not(feature = "ssh"), allow(dead_code))]
pub(crate) fn call(
    checkers: &[&'static SshChecker],
    error: &RemoteError,
    account: &dyn RemoteAccount,
) {
    for c in checkers {
        tracing::debug!(checker = c.name, "calling SSH checker");
        (c.check)(error, account);
    }
}
