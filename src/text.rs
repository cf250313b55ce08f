//! Text from the systems under test, made safe to show: bounded in size and
//! with control characters escaped.
//!
//! A failing command's stderr can be 50 MB on one line, and remote output
//! can hold terminal escapes (a title change, a screen clear). Messages are
//! copied into the console, every report and several logs, so each copy is
//! bounded here, once, where the message is made.

/// The longest failure summary shown on the console and in the reports.
pub(crate) const SUMMARY_LIMIT: usize = 4 << 10;

/// The longest text kept in a test's `failure.txt`.
pub(crate) const FAILURE_FILE_LIMIT: usize = 1 << 20;

/// The first `limit` bytes of `text` (cut at a character boundary), with a
/// note of how much more there is and where to find it.
pub(crate) fn bounded(text: &str, limit: usize, rest_in: &str) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let head = &text[..floor_boundary(text, limit)];
    format!(
        "{head}… ({} bytes more in {rest_in})",
        text.len() - head.len()
    )
}

/// `text` cut to about `limit` bytes by keeping its head and its tail (the
/// end of an error usually says the most), marking what was left out.
pub(crate) fn head_and_tail(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let half = limit / 2;
    let head = &text[..floor_boundary(text, half)];
    let tail_start = ceil_boundary(text, text.len() - half);
    let tail = &text[tail_start..];
    format!(
        "{head}\n… ({} bytes left out) …\n{tail}",
        tail_start - head.len()
    )
}

/// The last `limit` bytes of `text`, marked as cut when it was longer.
pub(crate) fn tail(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let start = ceil_boundary(text, text.len() - limit);
    format!("…{}", &text[start..])
}

/// An error and its causes on one line, joined with ": ", each cause once.
///
/// Error messages here never repeat their cause (it is the `source`), so
/// this walk is how a cause reaches the user. A cause whose text the
/// message before it already ends with (a third-party error that both
/// prints and exposes its cause) is skipped rather than printed twice.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut last = out.clone();
    let mut cause = error.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !text.is_empty() && !last.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        last = text;
        cause = e.source();
    }
    out
}

/// Control characters (but newline and tab) as visible escapes, so remote
/// output cannot move the cursor, retitle the terminal or hide text.
pub(crate) fn escape_controls(text: &str) -> String {
    if !text.chars().any(is_hidden_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hidden_control(c) {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn is_hidden_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The first `byte` in `hay`, found by libc's `memchr`: vectorised in every
/// profile, where a byte loop in the unoptimized one users build tests in
/// costs a few nanoseconds a byte (report lines, remote output).
pub(crate) fn memchr(byte: u8, hay: &[u8]) -> Option<usize> {
    // SAFETY: memchr reads at most `hay.len()` bytes from `hay`, and a
    // non-null result points into it.
    let p = unsafe { libc::memchr(hay.as_ptr().cast(), libc::c_int::from(byte), hay.len()) };
    (!p.is_null()).then(|| p as usize - hay.as_ptr() as usize)
}

/// Where `needle` first occurs in `hay`, found by libc's `memmem` (see
/// [`memchr`]).
pub(crate) fn memmem(hay: &[u8], needle: &[u8]) -> Option<usize> {
    // SAFETY: memmem reads at most the lengths given of each, and a
    // non-null result points into `hay`.
    let p = unsafe {
        libc::memmem(
            hay.as_ptr().cast(),
            hay.len(),
            needle.as_ptr().cast(),
            needle.len(),
        )
    };
    (!p.is_null()).then(|| p as usize - hay.as_ptr() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memchr_finds_the_first_byte() {
        assert_eq!(memchr(b'x', b"abxcx"), Some(2));
        assert_eq!(memchr(b'y', b"abxcx"), None);
        assert_eq!(memchr(b'y', b""), None);
        assert_eq!(memmem(b"a=1,b=2a=1", b"a=1"), Some(0));
        assert_eq!(memmem(b"xa=1,b=2", b"b=2"), Some(5));
        assert_eq!(memmem(b"abc", b"abcd"), None);
        assert_eq!(memmem(b"", b"a"), None);
    }

    #[test]
    fn bounded_keeps_short_text_and_cuts_long_text_at_a_character() {
        assert_eq!(bounded("short", 10, "f"), "short");
        let long = "é".repeat(100); // 200 bytes
        let cut = bounded(&long, 11, "failure.txt");
        assert!(cut.starts_with(&"é".repeat(5)), "{cut}");
        assert!(cut.ends_with("… (190 bytes more in failure.txt)"), "{cut}");
    }

    #[test]
    fn head_and_tail_keep_both_ends() {
        let text = format!("start{}end", "x".repeat(10_000));
        let cut = head_and_tail(&text, 100);
        assert!(cut.starts_with("start") && cut.ends_with("end"), "{cut}");
        assert!(cut.len() < 200, "{}", cut.len());
        assert!(cut.contains("bytes left out"), "{cut}");
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("abcdef", 3), "…def");
        assert_eq!(tail("abc", 3), "abc");
    }

    #[test]
    fn chain_prints_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        #[derive(Debug, thiserror::Error)]
        #[error("repeats: {0}")]
        struct Repeats(#[source] std::io::Error);
        let io = || std::io::Error::other("disk on fire");
        assert_eq!(chain(&Outer(io())), "outer: disk on fire");
        assert_eq!(chain(&Repeats(io())), "repeats: disk on fire");
        assert_eq!(chain(&io()), "disk on fire");
    }

    #[test]
    fn controls_are_escaped_but_newlines_and_tabs_kept() {
        let title = "\u{1b}]0;pwned\u{7}ok\r\n\tnext\u{9b}";
        assert_eq!(
            escape_controls(title),
            "\\x1b]0;pwned\\x07ok\\x0d\n\tnext\\x9b"
        );
        assert_eq!(escape_controls("plain"), "plain");
    }
}
