//! Where each key stands in the file, from the TOML parser's spans.
//!
//! The document is parsed once into a spanned table; a dotted path such as
//! `fax.rescan_secs`, `estates[1].tag` or `sip.allow[0]` (indices count from
//! 0) finds the line of its key, and a byte offset (where the parser or a
//! value type found something wrong) finds the innermost key it belongs to.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A parsed document with the spans of its keys and values.
pub(super) struct Doc<'i> {
    text: &'i str,
    root: Spanned<DeTable<'i>>,
}

/// One key found in the document.
pub(super) struct Found {
    /// Its dotted path, e.g. `estates[1].tag`.
    pub path: String,
    /// The 1-based line where the key (or the array element) stands.
    pub line: usize,
    /// Where its value stands.
    pub value: Range<usize>,
}

impl<'i> Doc<'i> {
    pub fn parse(text: &'i str) -> Result<Doc<'i>, toml::de::Error> {
        Ok(Doc {
            text,
            root: DeTable::parse(text)?,
        })
    }

    /// The spanned document, for deserialising.
    pub fn table(&self) -> Spanned<DeTable<'i>> {
        self.root.clone()
    }

    /// The 1-based line of byte offset `at`.
    pub fn line_at(&self, at: usize) -> usize {
        self.text
            .get(..at)
            .map_or(1, |s| s.matches('\n').count() + 1)
    }

    /// The key at `path`, if the file writes it.
    pub fn get(&self, path: &str) -> Option<Found> {
        let mut table = self.root.get_ref();
        let mut found: Option<(Range<usize>, &Spanned<DeValue<'i>>)> = None;
        for seg in path.split('.') {
            if let Some((_, v)) = &found {
                table = v.get_ref().as_table()?;
            }
            let (name, indices) = split_indices(seg)?;
            let (k, v) = table.get_key_value(name)?;
            let mut at = (k.span(), v);
            for i in indices {
                let item = at.1.get_ref().as_array()?.get(i)?;
                at = (item.span(), item);
            }
            found = Some(at);
        }
        let (key, value) = found?;
        Some(Found {
            path: path.to_string(),
            line: self.line_at(key.start),
            value: value.span(),
        })
    }

    /// The line of the key at `path`, or of its nearest ancestor the file
    /// writes (a key left to its default), or 1.
    pub fn line(&self, path: &str) -> usize {
        let mut p = path;
        loop {
            if let Some(f) = self.get(p) {
                return f.line;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return 1,
            }
        }
    }

    /// The innermost key whose key or value covers byte `at` (a table's
    /// value is its header).
    pub fn key_at(&self, at: usize) -> Option<Found> {
        let mut best = None;
        self.walk(|f, key| {
            if key.contains(&at) || f.value.contains(&at) {
                best = Some(f);
            }
        });
        best
    }

    /// The table at `keys` (a dotted path without indices, as serde names
    /// it) whose span is `span`: which element of an array of tables, or
    /// which of several tables that share a span.
    pub fn table_at(&self, keys: &str, span: Range<usize>) -> Option<Found> {
        let mut found = None;
        self.walk(|f, _| {
            if found.is_none() && f.value == span && without_indices(&f.path) == keys {
                found = Some(f);
            }
        });
        found
    }

    /// Every key and array element, parents before children.
    #[cfg(test)]
    pub fn keys(&self) -> Vec<Found> {
        let mut out = Vec::new();
        self.walk(|f, _| out.push(f));
        out
    }

    /// Visits every key and array element with the span of its key (or element).
    fn walk(&self, mut visit: impl FnMut(Found, Range<usize>)) {
        fn table<'i>(
            doc: &Doc<'i>,
            t: &DeTable<'i>,
            prefix: &str,
            visit: &mut dyn FnMut(Found, Range<usize>),
        ) {
            for (k, v) in t.iter() {
                let path = if prefix.is_empty() {
                    k.get_ref().to_string()
                } else {
                    format!("{prefix}.{}", k.get_ref())
                };
                value(doc, v, path, k.span(), visit);
            }
        }
        fn value<'i>(
            doc: &Doc<'i>,
            v: &Spanned<DeValue<'i>>,
            path: String,
            key: Range<usize>,
            visit: &mut dyn FnMut(Found, Range<usize>),
        ) {
            visit(
                Found {
                    path: path.clone(),
                    line: doc.line_at(key.start),
                    value: v.span(),
                },
                key,
            );
            match v.get_ref() {
                DeValue::Table(t) => table(doc, t, &path, visit),
                DeValue::Array(a) => {
                    for (i, item) in a.iter().enumerate() {
                        value(doc, item, format!("{path}[{i}]"), item.span(), visit);
                    }
                }
                _ => {}
            }
        }
        table(self, self.root.get_ref(), "", &mut visit);
    }
}

/// `estates[1].tag` → `estates.tag`.
fn without_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// `name[1][2]` → (`name`, [1, 2]); None when malformed.
fn split_indices(seg: &str) -> Option<(&str, Vec<usize>)> {
    let (name, mut rest) = seg.split_once('[').map_or((seg, ""), |(n, r)| (n, r));
    let mut indices = Vec::new();
    while !rest.is_empty() {
        let (i, after) = rest.split_once(']')?;
        indices.push(i.parse().ok()?);
        rest = after.strip_prefix('[').unwrap_or(after);
    }
    Some((name, indices))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "top = 1\n[a]\nx = 1\ny = [\"p\", \"q\"]\n[[e]]\nt = \"1\"\n[[e]]\nt = \"2\"\n";

    #[test]
    fn paths_find_their_lines() {
        let d = Doc::parse(TEXT).unwrap();
        assert_eq!(d.line("top"), 1);
        assert_eq!(d.line("a"), 2);
        assert_eq!(d.line("a.x"), 3);
        assert_eq!(d.line("a.y[1]"), 4);
        assert_eq!(d.line("e[1].t"), 8);
        assert_eq!(d.line("e[1]"), 7);
        // Not written: the nearest written ancestor.
        assert_eq!(d.line("e[1].u"), 7);
        assert_eq!(d.line("nothing.here"), 1);
    }

    #[test]
    fn offsets_find_their_keys() {
        let d = Doc::parse(TEXT).unwrap();
        let at = |needle: &str| d.key_at(TEXT.find(needle).unwrap()).unwrap().path;
        assert_eq!(at("\"q\""), "a.y[1]");
        assert_eq!(at("\"2\""), "e[1].t");
        assert_eq!(at("x ="), "a.x");
        assert_eq!(at("[a]"), "a");
    }
}
