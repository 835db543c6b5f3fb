//! Bounds on a GraphQL document, checked before the graphql engine works on it: what its
//! parser, validation and executor do not bound themselves.
//!
//! - [`check_text`] runs on the raw text, before any recursive parse: a size cap, a token cap,
//!   and a cap on bracket nesting (`{`, `[`, `(`), by one linear scan that skips strings and
//!   comments. The parser recurses once per nesting level, so a list literal nested a few
//!   thousand deep would overflow the wasm stack and trap the instance.
//! - `check_document` runs on the parsed document, before validation: it counts the fields
//!   each operation selects once its fragment spreads are expanded, memoising each fragment's
//!   count, so fragments that spread the next one twice (2^n fields from n lines) are refused
//!   in time linear in the document, before validation walks it. Cycles are refused here too,
//!   so the engine's later walks through fragments end.

use super::graphql::syntax::{Document, Selection, SelectionSet};
use std::collections::HashMap;

/// Largest document accepted, in bytes. GraphiQL's full introspection query is about 2 KB.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024;
/// Most lexical tokens (names, numbers, strings, punctuators) in a document.
pub const MAX_TOKENS: usize = 4_000;
/// Deepest bracket nesting (`{`, `[`, `(` together) in a document.
pub const MAX_NESTING: usize = 32;
/// Most fragment definitions in a document.
pub const MAX_FRAGMENTS: usize = 64;
/// Most selections (fields, fragment spreads and inline fragments, each counting one) all of a
/// document's operations together may make with their fragments expanded; aliases count as
/// fields. Validation and the limits walk expanded selections.
/// The full introspection query expands to about 300.
pub const MAX_EXPANDED_FIELDS: u64 = 2_000;

/// Which bound a document broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Over [`MAX_DOCUMENT_BYTES`].
    Bytes,
    /// Over [`MAX_TOKENS`].
    Tokens,
    /// Over [`MAX_NESTING`].
    Nesting,
    /// Over [`MAX_FRAGMENTS`].
    Fragments,
    /// Over [`MAX_EXPANDED_FIELDS`] selections.
    ExpandedFields,
    /// A fragment spreads itself, directly or through others.
    FragmentCycle,
}

impl Limit {
    /// The message a client sees.
    pub fn message(self) -> String {
        match self {
            Limit::Bytes => format!("The query is too large: at most {MAX_DOCUMENT_BYTES} bytes."),
            Limit::Tokens => format!("The query is too long: at most {MAX_TOKENS} tokens."),
            Limit::Nesting => format!("The query is nested too deeply: at most {MAX_NESTING} levels of brackets."),
            Limit::Fragments => format!("The query has too many fragments: at most {MAX_FRAGMENTS}."),
            Limit::ExpandedFields => {
                format!("The query makes too many selections once its fragments are expanded: at most {MAX_EXPANDED_FIELDS}.")
            }
            Limit::FragmentCycle => "The query's fragments spread each other in a cycle.".into(),
        }
    }
}

/// Checks size, tokens and nesting in one pass over `query`, without parsing it.
pub fn check_text(query: &str) -> Result<(), Limit> {
    if query.len() > MAX_DOCUMENT_BYTES {
        return Err(Limit::Bytes);
    }
    let bytes = query.as_bytes();
    let (mut i, mut tokens, mut depth) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            // A unicode BOM is ignored like white space.
            0xEF if bytes[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => i += 3,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' => {
                tokens += 1;
                i = skip_string(bytes, i);
            }
            b'{' | b'[' | b'(' => {
                tokens += 1;
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Limit::Nesting);
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                tokens += 1;
                // Unbalanced closers are the parser's to report.
                depth = depth.saturating_sub(1);
                i += 1;
            }
            // A name: letters, digits and `_` only, so `...X...X` is four tokens each.
            _ if b.is_ascii_alphabetic() || b == b'_' => {
                tokens += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
            }
            // A number (as the lexer reads it, or more strictly): digits, `.`, `e`, signs.
            _ if b.is_ascii_digit() || b == b'-' => {
                tokens += 1;
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || matches!(bytes[i], b'.' | b'e' | b'E' | b'+' | b'-')) {
                    i += 1;
                }
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                tokens += 1;
                i += 3;
            }
            _ => {
                tokens += 1;
                i += 1;
            }
        }
        if tokens > MAX_TOKENS {
            return Err(Limit::Tokens);
        }
    }
    Ok(())
}

/// The index just past the string (or block string) starting at `start`.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return i;
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            // An unterminated string ends at the line's end; the parser reports it.
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    i
}

/// Checks the fragment count, cycles, and each operation's field count with fragments
/// expanded, in time linear in the document.
pub(crate) fn check_document(doc: &Document) -> Result<(), Limit> {
    if doc.fragments.len() > MAX_FRAGMENTS {
        return Err(Limit::Fragments);
    }
    let mut counter = Counter { doc, memo: HashMap::new() };
    let mut total: u64 = 0;
    for operation in &doc.operations {
        total = total.saturating_add(counter.count(&operation.selection_set, 0)?);
        if total > MAX_EXPANDED_FIELDS {
            return Err(Limit::ExpandedFields);
        }
    }
    Ok(())
}

/// A fragment being expanded (on the current path) or its finished field count.
#[derive(Clone, Copy)]
enum Count {
    InProgress,
    Done(u64),
}

struct Counter<'a> {
    doc: &'a Document,
    memo: HashMap<&'a str, Count>,
}

impl<'a> Counter<'a> {
    /// Fields selected by `set` with spreads expanded, saturating just past the cap so the sums
    /// cannot overflow. `fragments_deep` bounds the recursion through fragments (the text's
    /// nesting bound already bounds it within one).
    fn count(&mut self, set: &'a SelectionSet, fragments_deep: usize) -> Result<u64, Limit> {
        let mut total: u64 = 0;
        for selection in &set.items {
            let n = match selection {
                Selection::Field(field) => 1 + self.count(&field.selection_set, fragments_deep)?,
                Selection::Inline { selection_set, .. } => 1 + self.count(selection_set, fragments_deep)?,
                Selection::Spread { name, .. } => 1 + {
                    let name = name.name.as_str();
                    match self.memo.get(name) {
                        Some(Count::Done(n)) => *n,
                        Some(Count::InProgress) => return Err(Limit::FragmentCycle),
                        // An unknown fragment: validation reports it.
                        None => match self.doc.fragment(name) {
                            None => 0,
                            Some(fragment) => {
                                if fragments_deep >= MAX_FRAGMENTS {
                                    return Err(Limit::FragmentCycle);
                                }
                                self.memo.insert(name, Count::InProgress);
                                let n = self.count(&fragment.selection_set, fragments_deep + 1)?;
                                self.memo.insert(name, Count::Done(n));
                                n
                            }
                        },
                    }
                }
            };
            total = total.saturating_add(n).min(MAX_EXPANDED_FIELDS + 1);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(q: &str) -> Document {
        crate::dialects::graphql::syntax::parse(q).unwrap()
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("mutation {{ tokenAuth(username: {}\"a\"{}, password: \"p\") {{ token }} }}", "[".repeat(2000), "]".repeat(2000));
        assert_eq!(check_text(&deep), Err(Limit::Nesting));
        let fine = format!("{{ a(x: {}1{}) }}", "[".repeat(20), "]".repeat(20));
        assert_eq!(check_text(&fine), Ok(()));
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let q = format!("{{ a(x: \"{}\") # {}\n }}", "[".repeat(100), "{".repeat(100));
        assert_eq!(check_text(&q), Ok(()));
        let block = format!("{{ a(x: \"\"\"{} \\\"\"\" {}\"\"\") }}", "(".repeat(100), "[".repeat(100));
        assert_eq!(check_text(&block), Ok(()));
    }

    #[test]
    fn size_and_tokens_are_capped() {
        assert_eq!(check_text(&" ".repeat(MAX_DOCUMENT_BYTES + 1)), Err(Limit::Bytes));
        assert_eq!(check_text(&"a ".repeat(MAX_TOKENS + 1)), Err(Limit::Tokens));
    }

    #[test]
    fn a_fragment_bomb_is_counted_without_expanding_it() {
        let mut q = String::from("query { ...F0 }\n");
        for i in 0..40 {
            q.push_str(&format!("fragment F{i} on Query {{ ...F{} ...F{} }}\n", i + 1, i + 1));
        }
        q.push_str("fragment F40 on Query { __typename }\n");
        assert_eq!(check_text(&q), Ok(()));
        assert_eq!(check_document(&parsed(&q)), Err(Limit::ExpandedFields));
        // `...X...X` is not one name: spreads are counted as the lexer reads them.
        assert_eq!(check_text(&"...X".repeat(MAX_TOKENS)), Err(Limit::Tokens));
    }

    #[test]
    fn fragment_cycles_are_refused() {
        let q = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert_eq!(check_document(&parsed(q)), Err(Limit::FragmentCycle));
    }

    #[test]
    fn ordinary_documents_pass() {
        let q = "mutation { tokenAuth(username: \"a\", password: \"b\") { token payload refreshExpiresIn } }";
        assert_eq!(check_text(q), Ok(()));
        assert_eq!(check_document(&parsed(q)), Ok(()));
    }
}
