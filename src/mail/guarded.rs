//! Patterns behind a cheap test of the words they cannot match without.
//!
//! Mail understanding runs a dozen case-insensitive, many-language patterns
//! over every line of every mail. Most lines contain none of the words
//! those patterns need ("wrote", "sent", "confidential"…), and finding
//! words is far cheaper than running, or even compiling, such a pattern: a
//! [`Guarded`] pattern is compiled on the first line that has one of its
//! words and run only on such lines. A one-file `introbot inspect` then
//! never compiles a pattern its mail gives no reason for.
//!
//! The guard words must be *necessary*: every text the pattern matches
//! contains one of them (compared ASCII-case-insensitively). Each pattern's
//! guard is listed next to it, and the tests check them on samples.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use regex::{Match, Regex};

/// A regex and the words it cannot match without.
pub(crate) struct Guarded {
    words: &'static [&'static str],
    pattern: &'static str,
    guard: OnceLock<AhoCorasick>,
    regex: OnceLock<Regex>,
}

impl Guarded {
    /// `pattern` (a valid regex), guarded by `words`.
    pub(crate) const fn new(words: &'static [&'static str], pattern: &'static str) -> Guarded {
        Guarded { words, pattern, guard: OnceLock::new(), regex: OnceLock::new() }
    }

    fn admits(&self, text: &str) -> bool {
        self.guard
            .get_or_init(|| {
                AhoCorasick::builder().ascii_case_insensitive(true).build(self.words).expect("static guard words")
            })
            .is_match(text)
    }

    fn regex(&self) -> &Regex {
        self.regex.get_or_init(|| Regex::new(self.pattern).expect("static regex"))
    }

    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.admits(text) && self.regex().is_match(text)
    }

    pub(crate) fn find<'t>(&self, text: &'t str) -> Option<Match<'t>> {
        if self.admits(text) { self.regex().find(text) } else { None }
    }
}

/// Checks `pattern`'s guard on every line of every fixture mail (the
/// shared corpus, the client formats, the decision table): wherever the
/// bare regex matches, the guard must let it.
#[cfg(test)]
pub(crate) fn assert_guard_holds_on_fixtures(name: &str, pattern: &Guarded) {
    let bare = Regex::new(pattern.pattern).expect("pattern");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut texts = vec![std::fs::read_to_string(root.join("decisions.tsv")).expect("decisions")];
    for dir in ["corpus/forward", "corpus/replies", "clients/forward", "clients/replies"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "eml") {
                let raw = std::fs::read(&path).expect("fixture");
                if let Some(msg) = mail_parser::MessageParser::default().parse(&raw) {
                    texts.extend(super::body_text(&msg).map(|t| t.into_owned()));
                }
            }
        }
    }
    let mut matched = 0;
    for line in texts.iter().flat_map(|t| t.lines()) {
        let line = line.trim_end_matches('\r');
        if bare.is_match(line) {
            matched += 1;
            assert!(pattern.is_match(line), "{name}: the guard turns away a line the pattern matches: {line:?}");
        }
    }
    assert!(matched > 0, "{name} matches some fixture line");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_runs_only_where_a_guard_word_is() {
        static P: Guarded = Guarded::new(&["wrote"], r"(?i)^on .+ wrote:$");
        assert!(P.is_match("On Mon, Bob WROTE:"));
        assert!(!P.is_match("On Mon, Bob said:"));
        assert!(P.regex.get().is_some(), "compiled once a line had the word");
        static Q: Guarded = Guarded::new(&["never"], r"x");
        assert!(!Q.is_match("x"), "no guard word, no match");
        assert!(Q.regex.get().is_none(), "and nothing compiled");
    }
}
