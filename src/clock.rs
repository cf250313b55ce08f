//! Calendar dates and log timestamps, from the C library's `gmtime_r` and
//! `localtime_r`.
//!
//! Why not a date crate: the one place that needs the local time zone (a
//! session's name) runs in every test process that starts a session, and a
//! pure-Rust time zone lookup built in the unoptimized profile walks and
//! parses the zoneinfo database there (about 9 million instructions, half of
//! what such a process ran). glibc reads `/etc/localtime` or `TZ` once, in
//! optimized code.

use std::time::{SystemTime, UNIX_EPOCH};

/// The date and time of `secs` after the epoch, in UTC or the local zone.
fn broken_down(secs: i64, local: bool) -> Option<libc::tm> {
    let t = libc::time_t::try_from(secs).ok()?;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: `t` and `tm` are valid for the call, which writes only `tm`;
    // the `_r` variants keep no shared result buffer.
    let out = unsafe {
        if local {
            libc::localtime_r(&t, tm.as_mut_ptr())
        } else {
            libc::gmtime_r(&t, tm.as_mut_ptr())
        }
    };
    // SAFETY: a non-null result means `tm` was filled in.
    (!out.is_null()).then(|| unsafe { tm.assume_init() })
}

/// Seconds and milliseconds since the epoch (0 for a clock set before it).
fn now() -> (i64, u32) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        d.subsec_millis(),
    )
}

fn date(tm: &libc::tm) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        i64::from(tm.tm_year) + 1900,
        tm.tm_mon + 1,
        tm.tm_mday
    )
}

/// Today in the local time zone, `YYYY-MM-DD` (UTC if the zone cannot be
/// read).
pub(crate) fn local_date() -> String {
    let (secs, _) = now();
    broken_down(secs, true)
        .or_else(|| broken_down(secs, false))
        .map(|tm| date(&tm))
        .unwrap_or_else(|| "1970-01-01".to_owned())
}

/// Now in UTC to the millisecond, `YYYY-MM-DD HH:MM:SS.mmm`, as log lines
/// carry it.
pub(crate) fn utc_timestamp() -> String {
    let (secs, millis) = now();
    match broken_down(secs, false) {
        Some(tm) => format!(
            "{} {:02}:{:02}:{:02}.{millis:03}",
            date(&tm),
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        ),
        None => format!("@{secs}.{millis:03}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_the_calendar_ones() {
        // 2026-12-03 06:19:32 UTC, and a leap day.
        let tm = broken_down(1_796_278_772, false).unwrap();
        assert_eq!(date(&tm), "2026-12-03");
        assert_eq!((tm.tm_hour, tm.tm_min, tm.tm_sec), (6, 19, 32));
        assert_eq!(
            date(&broken_down(1_709_164_800, false).unwrap()),
            "2024-02-29"
        );
        let stamp = utc_timestamp();
        assert_eq!(stamp.len(), "2026-12-03 06:19:32.996".len(), "{stamp}");
        let today = local_date();
        assert_eq!(today.len(), 10, "{today}");
        assert!(today.starts_with("20"), "{today}");
    }

    #[test]
    fn the_local_date_follows_tz() {
        // Run in a child: TZ is process-wide and read once by the C library.
        let exe = std::env::current_exe().unwrap();
        let date_in = |tz: &str| {
            let out = std::process::Command::new(&exe)
                .args(["--exact", "clock::tests::print_local_date", "--nocapture"])
                .arg("--ignored")
                .env("TZ", tz)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.lines()
                .find_map(|l| l.strip_prefix("local date: "))
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("no date in {text}"))
        };
        // POSIX zone strings need no zoneinfo files ("ABC-14" is UTC+14).
        // The day may turn between the child's clock and ours: either side.
        for (tz, offset) in [("UTC0", 0), ("ABC-14", 14 * 3600), ("ABC+11", -11 * 3600)] {
            let day = |secs: i64| date(&broken_down(secs + offset, false).unwrap());
            let before = day(now().0);
            let got = date_in(tz);
            let after = day(now().0);
            assert!(
                got == before || got == after,
                "TZ={tz}: {got}, want {before}"
            );
        }
    }

    /// The child of `the_local_date_follows_tz`, not a test of its own.
    #[test]
    #[ignore = "run by the_local_date_follows_tz in a child process"]
    fn print_local_date() {
        println!("local date: {}", local_date());
    }
}
