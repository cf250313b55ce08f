//! JSON text in the two shapes the reports need beyond serde_json's defaults.

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};
use std::io::{self, Write};

/// Compact JSON with every non-ASCII character written as `\uXXXX`.
///
/// With `python` it also uses `", "` and `": "` between items, which is what
/// Python's `json.dumps` prints (ducktape's `report.txt` data line). The ASCII
/// escaping makes the text safe inside JavaScript source whatever the page's
/// encoding, including U+2028/U+2029, which serde_json leaves raw.
struct AsciiFormatter {
    python: bool,
}

impl AsciiFormatter {
    fn separator<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        match (first, self.python) {
            (true, _) => Ok(()),
            (false, true) => w.write_all(b", "),
            (false, false) => w.write_all(b","),
        }
    }
}

impl Formatter for AsciiFormatter {
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.separator(w, first)
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.separator(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(if self.python { b": " } else { b":" })
    }

    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        write_ascii(w, s)
    }
}

/// Writes `s` with each non-ASCII character as `\uXXXX` (UTF-16 units, as
/// JSON and JavaScript read them); ASCII runs in one write each.
fn write_ascii<W: ?Sized + Write>(w: &mut W, s: &str) -> io::Result<()> {
    let mut run = 0;
    for (i, c) in s.char_indices().filter(|(_, c)| !c.is_ascii()) {
        w.write_all(&s.as_bytes()[run..i])?;
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            write!(w, "\\u{unit:04x}")?;
        }
        run = i + c.len_utf8();
    }
    w.write_all(&s.as_bytes()[run..])
}

/// `text` (JSON) with each non-ASCII character escaped as
/// [`ascii_json`] writes it. Outside strings JSON is ASCII, so this is the
/// same JSON.
pub(crate) fn escape_non_ascii(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii() {
        return text.into();
    }
    let mut out = Vec::with_capacity(text.len() + 16);
    // Writing to memory cannot fail; the output is ASCII.
    let _ = write_ascii(&mut out, text);
    String::from_utf8_lossy(&out).into_owned().into()
}

/// `value` as compact, ASCII-only JSON (`python`: with Python's separators).
pub(crate) fn ascii_json(value: &impl Serialize, python: bool) -> String {
    let mut out = Vec::new();
    let mut ser = Serializer::with_formatter(&mut out, AsciiFormatter { python });
    // Serializing a serde_json::Value or a derived struct into memory cannot
    // fail (all map keys are strings), so an error here would be a bug.
    if value.serialize(&mut ser).is_err() {
        return "null".to_owned();
    }
    // The formatter writes ASCII only.
    String::from_utf8(out).unwrap_or_default()
}

/// Pretty JSON (2-space indent) with every line after the first indented by
/// `indent` spaces, for nesting inside a larger hand-assembled document.
/// serde_json never puts a raw newline inside a string, so this is safe.
pub(crate) fn pretty_indented(value: &impl Serialize, indent: usize) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned());
    if indent == 0 {
        return text;
    }
    text.replace('\n', &format!("\n{}", " ".repeat(indent)))
}

/// The compact form of serde_json's pretty text, less the top-level members
/// whose line starts with one of `skip` (each a one-line member, not the
/// last one).
/// serde_json's pretty printer puts whitespace in two places only, each
/// line's indent and the space after a key's colon, so this is a cut per
/// line, not a parse: about half what a second serialization costs in the
/// unoptimized profile tests are built in.
pub(crate) fn compact_of_pretty(pretty: &str, skip: &[&str]) -> String {
    // Bytes and indices, not `split`/`trim` iterators: this runs once per
    // test in the unoptimized profile, where each iterator step is a call.
    let b = pretty.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut start = 0;
    while start < b.len() {
        let end = line_end(b, start);
        let line = &pretty[start..end];
        if !skip.iter().any(|s| line.starts_with(s)) {
            let mut i = 0;
            while i < line.len() && line.as_bytes()[i] == b' ' {
                i += 1;
            }
            let line = &line[i..];
            match string_end(line) {
                Some(key) if line.as_bytes().get(key..key + 2) == Some(b": ") => {
                    out.push_str(&line[..key]);
                    out.push(':');
                    out.push_str(&line[key + 2..]);
                }
                _ => out.push_str(line),
            }
        }
        start = end + 1;
    }
    out
}

/// The index of the newline ending the line that starts at `start` (or the
/// text's end).
fn line_end(b: &[u8], start: usize) -> usize {
    crate::text::memchr(b'\n', &b[start..]).map_or(b.len(), |i| start + i)
}

/// Where the JSON string `line` starts with ends (after its closing quote).
fn string_end(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_text_of_pretty_text_is_serde_jsons_compact_text() {
        let values = [
            json!({"a": [1, 2.5, [], {}], "b": {"c": "x\": \"y\\\": z", "d\": e": [" ", "\\"]}}),
            json!({"s": "  indented\n  \"k\": v", "empty": {}, "n": null, "t": true}),
            json!([["a", {"b": ["c\\", "\\\"d\": "]}], -0.0, 1e300, "é\u{2028}"]),
            json!({"keep": 1, "drop": "x", "z": "after"}),
        ];
        for v in &values {
            let pretty = serde_json::to_string_pretty(v).unwrap();
            assert_eq!(compact_of_pretty(&pretty, &[]), v.to_string(), "{pretty}");
        }
        let pretty = serde_json::to_string_pretty(&values[3]).unwrap();
        let want = r#"{"keep":1,"z":"after"}"#;
        assert_eq!(compact_of_pretty(&pretty, &["  \"drop\": "]), want);
    }

    #[test]
    fn python_style_and_ascii() {
        let v = json!({"a": [1, 2.5], "b": "é\u{2028}😀"});
        assert_eq!(
            ascii_json(&v, true),
            r#"{"a": [1, 2.5], "b": "\u00e9\u2028\ud83d\ude00"}"#
        );
        assert_eq!(
            ascii_json(&v, false),
            r#"{"a":[1,2.5],"b":"\u00e9\u2028\ud83d\ude00"}"#
        );
    }
}
