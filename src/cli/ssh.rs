//! The flags for SSH nodes, and the [`SshOptions`] they make. Like every
//! flag, each is also a `DUCKTAPE_*` variable (`--ssh-root` ≡
//! `DUCKTAPE_SSH_ROOT`) and a config file line, with the same precedence,
//! and a bad value is an error naming where it was set.

use super::{CliError, Options};
use crate::remote::{HostKeyPolicy, SshOptions};
use clap::{ArgAction, Args};
use std::path::PathBuf;

/// How SSH nodes (cluster files, Vagrant) are reached.
#[derive(Clone, Debug, Default, Args, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SshArgs {
    /// known_hosts file that SSH host keys are checked against
    /// (default: ~/.ssh/known_hosts).
    #[arg(long, value_name = "PATH", help_heading = "SSH nodes")]
    pub known_hosts: Option<PathBuf>,
    /// How SSH host keys are checked: strict (a host must be in known_hosts
    /// with the key it presents), accept-new (an unknown host's key is
    /// recorded; a changed key is still an error) or off.
    #[arg(
        long,
        value_name = "POLICY",
        value_parser = host_key_policy,
        help_heading = "SSH nodes"
    )]
    pub ssh_host_keys: Option<HostKeyPolicy>,
    /// Same as --ssh-host-keys accept-new.
    #[arg(long, help_heading = "SSH nodes")]
    pub ssh_accept_new: bool,
    /// Absolute directory on each SSH node for services' files
    /// (default: /tmp/ducktape).
    #[arg(
        long,
        value_name = "DIR",
        value_parser = absolute_dir,
        help_heading = "SSH nodes"
    )]
    pub ssh_root: Option<PathBuf>,
    /// Ciphers to offer, most preferred first, separated by commas
    /// (default: chacha20-poly1305@openssh.com first, then AES-GCM, AES-CTR).
    #[arg(
        long,
        value_name = "LIST",
        action = ArgAction::Set,
        value_delimiter = ',',
        value_parser = cipher,
        help_heading = "SSH nodes"
    )]
    pub ssh_ciphers: Vec<String>,
    /// Run commands without stdin in one long-lived shell per SSH session
    /// (on, the default: ~1 ms a command) or each on an exec channel of its
    /// own (off: a fresh login shell per command, as plain `ssh host cmd`).
    #[arg(
        long,
        value_name = "on|off",
        value_parser = on_off,
        help_heading = "SSH nodes"
    )]
    pub ssh_persistent_shell: Option<bool>,
}

impl SshArgs {
    /// The host key policy the flags ask for: `--ssh-host-keys`, else
    /// accept-new with `--ssh-accept-new`, else strict.
    fn host_keys(&self) -> HostKeyPolicy {
        match (self.ssh_host_keys, self.ssh_accept_new) {
            (Some(policy), _) => policy,
            (None, true) => HostKeyPolicy::AcceptNew,
            (None, false) => HostKeyPolicy::Strict,
        }
    }
}

impl Options {
    /// How SSH accounts connect: `--known-hosts`, `--ssh-host-keys`,
    /// `--ssh-accept-new`, `--ssh-root`, `--ssh-ciphers`,
    /// `--ssh-persistent-shell` and the
    /// `--ssh-checker-function`s. `Err` names a checker no function is
    /// registered as (the parse already refused it; this is for options
    /// made another way).
    pub fn ssh_options(&self) -> Result<SshOptions, String> {
        let s = &self.ssh;
        let mut o = SshOptions::default()
            .with_host_keys(s.host_keys())
            .with_ciphers(s.ssh_ciphers.iter().cloned());
        if let Some(file) = &s.known_hosts {
            o = o.with_known_hosts(file);
        }
        if let Some(root) = &s.ssh_root {
            o = o.with_root(root);
        }
        if let Some(on) = s.ssh_persistent_shell {
            o = o.with_persistent_shell(on);
        }
        o.with_checkers(&self.ssh_checker_function)
    }
}

/// Checks of the SSH flags together; an error comes with the flags it is
/// about (see `validate`).
pub(super) fn validate(o: &Options) -> Result<(), (&'static [&'static str], CliError)> {
    let s = &o.ssh;
    if let Some(policy) = s
        .ssh_host_keys
        .filter(|p| s.ssh_accept_new && *p != HostKeyPolicy::AcceptNew)
    {
        let name = match policy {
            HostKeyPolicy::Off => "off",
            _ => "strict",
        };
        let msg = format!("--ssh-accept-new contradicts --ssh-host-keys {name}; give one of them");
        return Err((
            &["--ssh-accept-new", "--ssh-host-keys"],
            CliError::Invalid(msg),
        ));
    }
    if let Err(msg) = crate::remote::ssh_checkers(&o.ssh_checker_function) {
        return Err((&["--ssh-checker-function"], CliError::Invalid(msg)));
    }
    Ok(())
}

/// `--ssh-host-keys`: OpenSSH's `StrictHostKeyChecking` words are accepted
/// too (`yes`, `no`).
fn host_key_policy(value: &str) -> Result<HostKeyPolicy, String> {
    match value {
        "strict" | "yes" => Ok(HostKeyPolicy::Strict),
        "accept-new" => Ok(HostKeyPolicy::AcceptNew),
        "off" | "no" => Ok(HostKeyPolicy::Off),
        _ => Err("expected strict, accept-new or off".into()),
    }
}

/// `--ssh-root`: commands run in it and paths are joined to it, so a
/// relative directory would mean something else in every command.
fn absolute_dir(value: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(value);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err("expected an absolute directory (like /tmp/ducktape)".into())
    }
}

/// `--ssh-persistent-shell`: `on` or `off` (the usual spellings of yes and
/// no too, as a variable set to `1` or `false` would be read).
fn on_off(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "1" | "true" | "yes" => Ok(true),
        "off" | "0" | "false" | "no" => Ok(false),
        _ => Err("expected on or off".into()),
    }
}

/// One `--ssh-ciphers` name: one libssh2 can negotiate.
fn cipher(value: &str) -> Result<String, String> {
    let name = value.trim();
    if crate::remote::SSH_CIPHERS.contains(&name) {
        Ok(name.to_string())
    } else {
        Err(format!(
            "not a cipher libssh2 knows (known: {})",
            crate::remote::SSH_CIPHERS.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Parsed;
    use super::*;
    use std::path::Path;

    fn parse(args: &[&str], vars: &[(&str, &str)]) -> Result<Parsed, CliError> {
        let nowhere = Path::new("/nonexistent-ducktape-project");
        super::super::tests::parse(args, vars, nowhere)
    }

    fn ssh(args: &[&str], vars: &[(&str, &str)]) -> SshOptions {
        parse(args, vars).unwrap().options.ssh_options().unwrap()
    }

    #[test]
    fn defaults_variables_and_flags_with_the_command_line_winning() {
        let o = ssh(&[], &[]);
        assert_eq!(o.host_keys, HostKeyPolicy::Strict);
        assert_eq!(o.root, PathBuf::from(crate::remote::DEFAULT_SSH_ROOT));
        assert!(o.known_hosts.is_none() && o.ciphers.is_empty());
        assert!(o.persistent_shell);

        let vars = [
            ("DUCKTAPE_KNOWN_HOSTS", "/k/known_hosts"),
            ("DUCKTAPE_SSH_HOST_KEYS", "off"),
            ("DUCKTAPE_SSH_ROOT", "/srv/dt"),
            ("DUCKTAPE_SSH_CIPHERS", "aes128-ctr, aes256-ctr"),
            ("DUCKTAPE_SSH_PERSISTENT_SHELL", "off"),
        ];
        let o = ssh(&[], &vars);
        assert_eq!(o.known_hosts, Some(PathBuf::from("/k/known_hosts")));
        assert_eq!(o.host_keys, HostKeyPolicy::Off);
        assert_eq!(o.root, PathBuf::from("/srv/dt"));
        assert_eq!(o.ciphers, ["aes128-ctr", "aes256-ctr"]);
        assert!(!o.persistent_shell);

        let o = ssh(
            &[
                "--ssh-host-keys=accept-new",
                "--ssh-root",
                "/mnt/x",
                "--ssh-ciphers",
                "chacha20-poly1305@openssh.com",
                "--ssh-persistent-shell=on",
            ],
            &vars,
        );
        assert_eq!(o.host_keys, HostKeyPolicy::AcceptNew);
        assert_eq!(o.root, PathBuf::from("/mnt/x"));
        assert_eq!(o.ciphers, ["chacha20-poly1305@openssh.com"]);
        assert!(o.persistent_shell);

        let o = ssh(&[], &[("DUCKTAPE_SSH_ACCEPT_NEW", "1")]);
        assert_eq!(o.host_keys, HostKeyPolicy::AcceptNew);
        let o = ssh(&[], &[("DUCKTAPE_SSH_HOST_KEYS", "no")]);
        assert_eq!(o.host_keys, HostKeyPolicy::Off);
    }

    #[test]
    fn a_config_file_sets_them_under_variables() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        std::fs::write(&file, "--ssh-root /from/config\n--ssh-host-keys off\n").unwrap();
        let config = file.to_str().unwrap();
        let o = ssh(
            &["--config-file", config],
            &[("DUCKTAPE_SSH_ROOT", "/from/env")],
        );
        assert_eq!(o.root, PathBuf::from("/from/env"));
        assert_eq!(o.host_keys, HostKeyPolicy::Off);

        std::fs::write(&file, "--ssh-root /ok\n--ssh-root relative\n").unwrap();
        let err = parse(&["--config-file", config], &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "{config}:2: invalid value 'relative' for --ssh-root: expected an absolute \
                 directory (like /tmp/ducktape)"
            )
        );
    }

    #[test]
    fn a_bad_ssh_variable_is_one_line_naming_it() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("DUCKTAPE_SSH_HOST_KEYS", "maybe")],
                "DUCKTAPE_SSH_HOST_KEYS=maybe: invalid value 'maybe' for --ssh-host-keys: \
                 expected strict, accept-new or off",
            ),
            (
                &[("DUCKTAPE_SSH_ROOT", "ducktape")],
                "DUCKTAPE_SSH_ROOT=ducktape: invalid value 'ducktape' for --ssh-root: \
                 expected an absolute directory",
            ),
            (
                &[("DUCKTAPE_SSH_CIPHERS", "aes128-ctr,rot13")],
                "DUCKTAPE_SSH_CIPHERS=aes128-ctr,rot13: invalid value 'rot13' for \
                 --ssh-ciphers: not a cipher libssh2 knows (known: chacha20-poly1305",
            ),
            (
                &[("DUCKTAPE_SSH_PERSISTENT_SHELL", "sometimes")],
                "DUCKTAPE_SSH_PERSISTENT_SHELL=sometimes: invalid value 'sometimes' for \
                 --ssh-persistent-shell: expected on or off",
            ),
            (
                &[("DUCKTAPE_SSH_ACCEPT_NEW", "please")],
                "DUCKTAPE_SSH_ACCEPT_NEW=please: --ssh-accept-new is a switch",
            ),
            (&[("DUCKTAPE_KNOWN_HOSTS", "")], "DUCKTAPE_KNOWN_HOSTS=: "),
            (
                &[
                    ("DUCKTAPE_SSH_ACCEPT_NEW", "1"),
                    ("DUCKTAPE_SSH_HOST_KEYS", "strict"),
                ],
                "DUCKTAPE_SSH_ACCEPT_NEW=1, DUCKTAPE_SSH_HOST_KEYS=strict: --ssh-accept-new \
                 contradicts --ssh-host-keys strict",
            ),
            (
                &[("DUCKTAPE_SSH_CHECKER_FUNCTION", "no_such_checker")],
                "DUCKTAPE_SSH_CHECKER_FUNCTION=no_such_checker: --ssh-checker-function \
                 \"no_such_checker\" names no registered SSH checker",
            ),
        ];
        for (vars, start) in cases {
            let err = parse(&[], vars).unwrap_err().to_string();
            assert!(err.starts_with(start), "{vars:?}: {err}");
            assert!(!err.contains('\n'), "{vars:?}: multi-line: {err}");
        }
        // Typed on the command line, the flag is enough.
        let err = parse(&["--ssh-host-keys", "maybe"], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid value 'maybe' for --ssh-host-keys"),
            "{err}"
        );
        let err = parse(&["--ssh-persistent-shell", "maybe"], &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid value 'maybe' for --ssh-persistent-shell: expected on or off"
        );
    }
}
