//! Waiting on conditions instead of sleeping (ducktape's `wait_until`).

use std::time::{Duration, Instant};

/// A condition did not become true in time.
#[derive(Debug, thiserror::Error)]
#[error("{msg} (waited {waited:?}){}", last.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default())]
pub struct WaitTimeout {
    msg: String,
    waited: Duration,
    last: Option<String>,
}

/// Polls `condition` every `backoff` until it returns true; fails with
/// `err_msg` after `timeout`. Returns as soon as the condition holds.
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
    let start = Instant::now();
    let mut last = None;
    loop {
        match condition() {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last = Some(e.to_string()),
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
    }
}
