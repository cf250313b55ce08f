//! Session, selection, scheduling and trials.

/// Entry point of a `harness = false` target.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
