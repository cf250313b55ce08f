//! `report.xml` in JUnit form: one `<testsuite>` for the whole session (so a
//! result is a pure append), with the totals in padded opening tags that are
//! rewritten in place. FLAKY is a passing `<testcase>` holding a
//! `<flakyFailure>`, the Maven Surefire convention CI servers understand.

use super::record::{SessionMeta, Status, TestRecord};
use super::state::State;
use super::txt::kind_label;

/// Width the two opening tags are padded to (spaces before `>` are legal).
const TAG_WIDTH: usize = 240;
/// What follows the last test case.
pub(crate) const TAIL: &str = "</testsuite>\n</testsuites>\n";

/// XML declaration plus the `<testsuites>` and `<testsuite>` opening tags, of
/// a length that depends only on the session id (unless a total outgrows the
/// padding, which the writer checks).
pub(crate) fn header(meta: &SessionMeta, s: &State) -> String {
    let counts = format!(
        "tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" disabled=\"0\" time=\"{}\"",
        s.tests,
        s.failed,
        s.ignored,
        s.wall_time()
    );
    let name = escape(&meta.session_id, true);
    let outer = format!("<testsuites name=\"ducktape\" {counts}");
    let inner = format!("<testsuite name=\"{name}\" {counts}");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n{}\n",
        padded_tag(outer, 0),
        padded_tag(inner, name.len())
    )
}

/// Pads `tag` to `TAG_WIDTH + extra` and closes it with `>`.
/// Bytes, not chars: the in-place rewrite needs an exact byte length.
fn padded_tag(tag: String, extra: usize) -> String {
    let pad = (TAG_WIDTH + extra - 1).saturating_sub(tag.len());
    tag + &" ".repeat(pad) + ">"
}

/// One `<testcase>` line.
pub(crate) fn testcase(r: &TestRecord) -> String {
    // As nextest names them: the binary is the class, the whole trial name
    // the test. Records without a binary (ducktape's own) keep ducktape's
    // names: the module is the class, the id without it the test.
    let (class, name) = if r.binary.is_empty() {
        let prefix = format!("{}::", r.module_name);
        let name = r.test_id.strip_prefix(&prefix).unwrap_or(&r.test_id);
        (r.cls_name.as_str(), name)
    } else {
        (r.binary.as_str(), r.test_id.as_str())
    };
    let open = format!(
        "<testcase name=\"{}\" classname=\"{}\" time=\"{}\" status=\"{}\" assertions=\"\"",
        escape(name, true),
        escape(class, true),
        r.run_time_seconds,
        r.test_status.as_str().to_ascii_lowercase(),
    );
    let first_line = |s: &str| escape(s.lines().next().unwrap_or(""), true);
    let message = first_line(&r.summary);
    let text = escape(&r.summary, false);
    // Teardown problems do not change the status: CI servers show them as
    // the test's standard error.
    let err = if r.teardown_problems.is_empty() {
        String::new()
    } else {
        format!(
            "<system-err>teardown problems:\n{}</system-err>",
            escape(&r.teardown_problems.join("\n"), false)
        )
    };
    // Regressions as properties (CI servers show them with the case); put
    // first, where the JUnit schema has a test case's properties.
    let props: String = r
        .regressions
        .iter()
        .map(|c| {
            format!(
                "<property name=\"{}\" value=\"{}\"/>",
                kind_label(c.kind).to_ascii_lowercase(),
                escape(&c.describe(), true)
            )
        })
        .collect();
    let open = if props.is_empty() {
        open
    } else {
        // Closed by the arms below, which all add `>` first.
        format!("{open}><properties>{props}</properties")
    };
    match r.test_status {
        Status::Pass if err.is_empty() && props.is_empty() => format!("{open}/>\n"),
        Status::Pass => format!("{open}>{err}</testcase>\n"),
        Status::Fail => format!(
            "{open}><failure message=\"{message}\" type=\"FAIL\">{text}</failure>{err}</testcase>\n"
        ),
        Status::Ignore => format!("{open}><skipped message=\"{message}\"/></testcase>\n"),
        // One <flakyFailure> per failed attempt, holding its real message.
        Status::Flaky => {
            let flaky: String = r
                .earlier_failures
                .iter()
                .map(|f| {
                    format!(
                        "<flakyFailure message=\"{}\" type=\"FLAKY\"><stackTrace>{}</stackTrace>\
                         </flakyFailure>",
                        first_line(f),
                        escape(f, false)
                    )
                })
                .collect();
            let flaky = if flaky.is_empty() {
                format!(
                    "<flakyFailure message=\"{message}\" type=\"FLAKY\"><stackTrace>{text}\
                     </stackTrace></flakyFailure>"
                )
            } else {
                flaky
            };
            format!(
                "{open}>{flaky}<system-out>FLAKY: passed on attempt {n}</system-out>{err}\
                 </testcase>\n",
                n = r.attempts
            )
        }
    }
}

/// Escapes text for XML 1.0 content (`attr`: for a double-quoted attribute,
/// where line breaks and tabs must be character references to survive).
/// Characters XML 1.0 cannot carry at all become U+FFFD.
pub(crate) fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\t' | '\n' => out.push(c),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes() {
        assert_eq!(
            escape("a<b>&\"c\"\n\u{1}", true),
            "a&lt;b&gt;&amp;&quot;c&quot;&#10;\u{FFFD}"
        );
        assert_eq!(escape("x\n\"y\"\r", false), "x\n\"y\"&#13;");
    }
}
