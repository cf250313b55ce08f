//! Waiting on conditions instead of sleeping (ducktape's `wait_until`), and
//! retrying an attempt until it yields a value ([`retry`]).

use std::time::{Duration, Instant};

/// A condition did not become true in time.
#[derive(Debug, thiserror::Error)]
#[error("{msg} (waited {waited:?}){}", last.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default())]
#[non_exhaustive]
pub struct WaitTimeout {
    msg: String,
    waited: Duration,
    last: Option<String>,
}

impl WaitTimeout {
    /// The last error the condition returned, if it returned one.
    pub fn last_error(&self) -> Option<&str> {
        self.last.as_deref()
    }
}

/// Polls `condition` every `backoff` until it returns true; fails with
/// `err_msg` after `timeout`. Returns as soon as the condition holds.
///
/// ```no_run
/// use ducktape::prelude::*;
///
/// fn wait_for_marker(node: &Node) -> ducktape::Result<()> {
///     let marker = node.path("ready");
///     wait_until(
///         || node.account().exists(&marker).unwrap_or(false),
///         Duration::from_secs(30),
///         Duration::from_millis(100),
///         "the marker file never appeared",
///     )?;
///     Ok(())
/// }
/// ```
pub fn wait_until(
    mut condition: impl FnMut() -> bool,
    timeout: Duration,
    backoff: Duration,
    err_msg: &str,
) -> Result<(), WaitTimeout> {
    retry_on_error(
        || Ok::<_, std::convert::Infallible>(condition()),
        timeout,
        backoff,
        err_msg,
    )
}

/// Like [`wait_until`], but the condition may fail; an error counts as "not
/// yet" and the last one is named in the timeout message.
pub fn retry_on_error<E: std::fmt::Display>(
    mut condition: impl FnMut() -> Result<bool, E>,
    timeout: Duration,
    backoff: Duration,
    err_msg: &str,
) -> Result<(), WaitTimeout> {
    poll(
        |last| match condition() {
            Ok(true) => Some(()),
            Ok(false) => None,
            Err(e) => {
                *last = Some(format!("{e:#}"));
                None
            }
        },
        timeout,
        backoff,
        err_msg,
    )
}

/// Calls `attempt` every `backoff` until it succeeds and returns its value;
/// an error means "not yet". After `timeout` it fails with `err_msg` and the
/// last error (with its causes), so a wait that never succeeded says why:
///
/// ```no_run
/// # use std::time::Duration;
/// # fn mode() -> ducktape::Result<String> { Ok("leader".into()) }
/// let leader = ducktape::wait::retry(
///     || -> ducktape::Result<String> {
///         let m = mode()?;                           // an error: try again
///         anyhow::ensure!(m == "leader", "mode is {m}");  // so is this
///         Ok(m)
///     },
///     Duration::from_secs(30),
///     Duration::from_millis(100),
///     "no leader",
/// )?;
/// # Ok::<(), ducktape::Error>(())
/// ```
pub fn retry<T, E: std::fmt::Display>(
    mut attempt: impl FnMut() -> Result<T, E>,
    timeout: Duration,
    backoff: Duration,
    err_msg: &str,
) -> Result<T, WaitTimeout> {
    poll(
        |last| match attempt() {
            Ok(value) => Some(value),
            Err(e) => {
                // `{:#}`: an anyhow error with its causes, not just the outermost.
                *last = Some(format!("{e:#}"));
                None
            }
        },
        timeout,
        backoff,
        err_msg,
    )
}

/// The loop under every wait: `attempt` returns the value once there is
/// one, and may leave its latest error in `last` for the timeout message.
fn poll<T>(
    mut attempt: impl FnMut(&mut Option<String>) -> Option<T>,
    timeout: Duration,
    backoff: Duration,
    err_msg: &str,
) -> Result<T, WaitTimeout> {
    let start = Instant::now();
    let mut last = None;
    loop {
        if let Some(value) = attempt(&mut last) {
            return Ok(value);
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(WaitTimeout {
                msg: err_msg.to_string(),
                waited,
                last,
            });
        }
        std::thread::sleep(backoff.min(timeout - waited));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_as_soon_as_true_and_times_out_with_the_message() {
        let mut n = 0;
        let start = Instant::now();
        wait_until(
            || {
                n += 1;
                n == 3
            },
            Duration::from_secs(5),
            Duration::from_millis(1),
            "x",
        )
        .unwrap();
        assert!(start.elapsed() < Duration::from_secs(1));
        let err = wait_until(
            || false,
            Duration::from_millis(30),
            Duration::from_millis(5),
            "never",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("never (waited"), "{err}");
        let err = retry_on_error(
            || Err::<bool, _>("boom"),
            Duration::from_millis(10),
            Duration::from_millis(2),
            "x",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("last error: boom"), "{err}");
        // A plain `false` is not named as an error.
        let err = retry_on_error(
            || Ok::<_, String>(false),
            Duration::from_millis(10),
            Duration::from_millis(2),
            "x",
        )
        .unwrap_err();
        assert_eq!(err.last_error(), None);
    }

    #[test]
    fn retry_returns_the_value_and_names_the_last_error_with_its_causes() {
        let mut n = 0;
        let v = retry(
            || {
                n += 1;
                if n < 3 {
                    anyhow::bail!("attempt {n}")
                }
                Ok(n * 10)
            },
            Duration::from_secs(5),
            Duration::from_millis(1),
            "x",
        )
        .unwrap();
        assert_eq!(v, 30);
        let mut n = 0;
        let err = retry(
            || -> anyhow::Result<()> {
                n += 1;
                Err(anyhow::anyhow!("connection refused"))
                    .map_err(|e| e.context(format!("try {n}")))
            },
            Duration::from_millis(30),
            Duration::from_millis(5),
            "no leader",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("no leader (waited"), "{msg}");
        // The last attempt, not the first, with its cause.
        assert!(
            msg.contains(&format!("last error: try {n}: connection refused")),
            "{msg}"
        );
        assert!(n > 1);
    }
}
