//! The offline HTML report: a static `report.html` + `report.css` written
//! once, and `report.js`, which gets one `ducktape.add({...});` line per test.
//! The page builds the summary and the table itself, so nothing but the
//! append-only script ever changes.

use super::jsonfmt::{ascii_json, escape_non_ascii};
use super::record::SessionMeta;

/// The page; it loads `report.css` and `report.js` from its own directory.
pub(crate) const HTML: &str = include_str!("../../templates/report.html");
/// The page's style sheet.
pub(crate) const CSS: &str = include_str!("../../templates/report.css");

/// First line of `report.js`: the session's facts.
pub(crate) fn script_head(meta: &SessionMeta) -> String {
    format!("ducktape.session({});\n", ascii_json(meta, false))
}

/// One test's line of `report.js`, from its `records.jsonl` line (the same
/// compact JSON) with every non-ASCII character escaped, so no character in
/// the data can end the string or the statement (U+2028/2029 included).
pub(crate) fn script_line(record_line: &str) -> String {
    let json = escape_non_ascii(record_line.trim_end_matches('\n'));
    format!("ducktape.add({json});\n")
}
