//! JSON text in the two shapes the reports need beyond serde_json's defaults.

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};
use serde_json::Value;
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

/// JSON text written member by member, byte for byte as serde_json writes
/// the same data: `pretty` as `to_string_pretty` (2-space indent, `": "`,
/// `[]`/`{}` when empty), otherwise compact. A record is written three times
/// per test (its `report.json`, its `records.jsonl` line, its session
/// entry), and serde's generic path cost ~0.25M instructions for one ~600-byte
/// record in the unoptimized profile tests are built in; this is a tenth.
pub(crate) struct JsonText {
    out: String,
    pretty: bool,
    /// Spaces that start every line after the first (nesting in a larger
    /// document).
    indent: usize,
    /// One entry per open object or array: whether it has a member yet.
    open: Vec<bool>,
}

impl JsonText {
    /// Pretty text whose lines after the first start with `indent` spaces.
    pub(crate) fn pretty(indent: usize) -> Self {
        JsonText {
            out: String::with_capacity(1024),
            pretty: true,
            indent,
            open: Vec::with_capacity(4),
        }
    }

    /// Compact text.
    pub(crate) fn compact() -> Self {
        JsonText {
            pretty: false,
            ..JsonText::pretty(0)
        }
    }

    /// The text written.
    pub(crate) fn finish(self) -> String {
        self.out
    }

    /// A newline and the indent of the current depth (one `push_str` where
    /// it fits: each call is dozens of instructions unoptimized).
    fn newline(&mut self) {
        self.separator(false);
    }

    /// `,` when `comma`, then (pretty) a newline and the current indent.
    fn separator(&mut self, comma: bool) {
        const SEP: &str = ",\n                                                              ";
        let start = usize::from(!comma);
        if !self.pretty {
            self.out.push_str(&SEP[start..1]);
            return;
        }
        let n = self.indent + 2 * self.open.len();
        if 2 + n <= SEP.len() {
            self.out.push_str(&SEP[start..2 + n]);
            return;
        }
        self.out.push_str(&SEP[start..2]);
        for _ in 0..n {
            self.out.push(' ');
        }
    }

    /// Before an array's value or an object's key.
    fn item(&mut self) {
        let comma = match self.open.last_mut() {
            Some(has) => std::mem::replace(has, true),
            None => false,
        };
        if comma || self.pretty {
            self.separator(comma);
        }
    }

    /// Opens an object (`'{'`) or an array (`'['`).
    pub(crate) fn begin(&mut self, bracket: char) {
        self.out.push(bracket);
        self.open.push(false);
    }

    /// Closes what [`JsonText::begin`] opened with `bracket`'s partner.
    pub(crate) fn end(&mut self, bracket: char) {
        let had = self.open.pop().unwrap_or(false);
        if self.pretty && had {
            self.newline();
        }
        self.out.push(bracket);
    }

    /// An object member's key text as given: a comma, the newline and
    /// indent of this depth (pretty), the quoted key and its colon. The
    /// comma is left out before the first member.
    pub(crate) fn member(&mut self, with_comma: &str) {
        let first = match self.open.last_mut() {
            Some(has) => !std::mem::replace(has, true),
            None => true,
        };
        self.out
            .push_str(if first { &with_comma[1..] } else { with_comma });
    }

    /// An object key (escaped as any string), then its colon.
    pub(crate) fn key(&mut self, key: &str) {
        self.item();
        self.string(key);
        self.out.push_str(if self.pretty { ": " } else { ":" });
    }

    /// Text that is already JSON (a number, `null`, `true`).
    pub(crate) fn raw(&mut self, json: &str) {
        self.out.push_str(json);
    }

    /// A float as serde_json writes an `f64` (`null` when not finite).
    pub(crate) fn float(&mut self, x: f64) {
        match serde_json::Number::from_f64(x) {
            Some(n) => {
                use std::fmt::Write as _;
                let _ = write!(self.out, "{n}");
            }
            None => self.out.push_str("null"),
        }
    }

    /// An unsigned integer.
    pub(crate) fn uint(&mut self, n: u64) {
        use std::fmt::Write as _;
        let _ = write!(self.out, "{n}");
    }

    /// Object members whose values are unsigned integers.
    pub(crate) fn uint_fields(&mut self, fields: &[(&str, u64)]) {
        for &(key, n) in fields {
            self.key(key);
            self.uint(n);
        }
    }

    /// A string, quoted and escaped as serde_json does: `"` `\` and control
    /// characters only (short forms for `\b\t\n\f\r`, else `\u00XX`).
    pub(crate) fn string(&mut self, s: &str) {
        let b = s.as_bytes();
        self.out.push('"');
        let mut run = 0;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c >= 0x20 && c != b'"' && c != b'\\' {
                i += 1;
                continue;
            }
            self.out.push_str(&s[run..i]);
            let short = match c {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                0x08 => "\\b",
                0x09 => "\\t",
                0x0a => "\\n",
                0x0c => "\\f",
                0x0d => "\\r",
                _ => "",
            };
            if short.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.out.push_str("\\u00");
                self.out.push(char::from(HEX[usize::from(c >> 4)]));
                self.out.push(char::from(HEX[usize::from(c & 0xf)]));
            } else {
                self.out.push_str(short);
            }
            i += 1;
            run = i;
        }
        self.out.push_str(&s[run..]);
        self.out.push('"');
    }

    /// An array of strings.
    pub(crate) fn strings(&mut self, items: &[String]) {
        self.begin('[');
        for s in items {
            self.item();
            self.string(s);
        }
        self.end(']');
    }

    /// An array of values.
    pub(crate) fn values(&mut self, items: &[Value]) {
        self.begin('[');
        for v in items {
            self.item();
            self.value(v);
        }
        self.end(']');
    }

    /// Any value, object members in the map's order (as serde_json).
    pub(crate) fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.raw("null"),
            Value::Bool(b) => self.raw(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                use std::fmt::Write as _;
                let _ = write!(self.out, "{n}");
            }
            Value::String(s) => self.string(s),
            Value::Array(items) => self.values(items),
            Value::Object(map) => {
                self.begin('{');
                for (k, v) in map {
                    self.key(k);
                    self.value(v);
                }
                self.end('}');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What `JsonText` writes is serde_json's text, pretty at any indent
    /// and compact, whatever the strings and numbers hold.
    #[test]
    fn hand_written_text_is_serde_jsons_text() {
        let controls: String = (0u8..0x20).map(char::from).collect();
        let values = [
            json!({"a": [1, 2.5, [], {}], "b": {"c": "x\": \"y\\\": z", "d\": e": [" ", "\\"]}}),
            json!({"s": "  indented\n  \"k\": v", "empty": {}, "n": null, "t": true, "f": false}),
            json!([["a", {"b": ["c\\", "\\\"d\": "]}], -0.0, 1e300, 1e-7, -17, u64::MAX, "é\u{2028}\u{7f}"]),
            json!({"ctl": controls, "": [[[]]], "nested": {"deeper": {"deepest": [{"x": 0.1}]}}}),
            json!([]),
            json!("plain"),
        ];
        for v in &values {
            for indent in [0, 4, 40] {
                let mut w = JsonText::pretty(indent);
                w.value(v);
                assert_eq!(w.finish(), pretty_indented(v, indent), "{v}");
            }
            let mut w = JsonText::compact();
            w.value(v);
            assert_eq!(w.finish(), v.to_string());
        }
        for x in [
            0.1,
            1796317692.7676206,
            2.5e-5,
            f64::MIN_POSITIVE,
            -0.0,
            1e21,
        ] {
            let mut w = JsonText::compact();
            w.float(x);
            assert_eq!(w.finish(), serde_json::to_string(&x).unwrap());
        }
        let mut w = JsonText::compact();
        w.float(f64::NAN);
        assert_eq!(w.finish(), "null");
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
