//! The framework's own integration tests, in one binary (one link step
//! instead of seven on a 2-core machine). Most drive the `harness = false`
//! targets (`systest`, `fixtures`) as users and CI run them and read what
//! they print and write; `remote` and `faults` bring up real OpenSSH nodes
//! in network namespaces (root only; they say why they skip otherwise).

mod common;
#[cfg(feature = "ssh")]
mod faults;
mod harness;
mod html_report;
mod kill_loop;
mod lifecycle;
mod nextest;
mod parity;
#[cfg(feature = "ssh")]
mod remote;
#[cfg(feature = "ssh")]
mod ssh_shell;
