//! Addresses and display names in quoted history: the one place that finds
//! an address candidate in text.
//!
//! Candidates are strings shaped like `local@domain.tld` (bare, in angle
//! or square brackets, in parentheses, after `mailto:`); the display name
//! is what stands before one on the same line, cleaned: quotes of any
//! style (`"…"`, `'…'`, `«…»`, `„…”`, `“…”`, `「…」`) removed, a leading
//! fragment of a date or time ("46 użytkownik „John Doe”" is John Doe)
//! dropped.

use std::sync::LazyLock;

use regex::Regex;

use crate::core::{Person, address::IN_PROSE};

/// An address candidate: what reads as an address in prose (the program's
/// one pattern for it, [`IN_PROSE`]); it becomes an address only through
/// [`Person::parse`].
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| Regex::new(IN_PROSE).expect("static regex"));

/// Whether `text` has an address candidate in it.
pub(crate) fn has_address(text: &str) -> bool {
    text.contains('@') && ADDRESS.is_match(text)
}

/// Every address in `text` with the display name before it, in order,
/// each address once (compared case-insensitively); a candidate that does
/// not parse as an address is left out.
pub fn addresses(text: &str) -> Vec<Person> {
    let mut out: Vec<Person> = Vec::new();
    if !text.contains('@') {
        return out;
    }
    let mut boundary = 0;
    for m in ADDRESS.find_iter(text) {
        // A quote opened before the last boundary may hold this address
        // ("'a@b.c' <a@b.c>"): the name is still whatever came before.
        let before = if m.start() >= boundary { &text[boundary..m.start()] } else { "" };
        let email = m.as_str().trim_matches(['.', '\'', '-']);
        // Skip what closes this address (`>`, `]`, `)`, a quote) for the next name.
        let rest = &text[m.end()..];
        let closing = rest.len() - rest.trim_start_matches(['>', ']', ')', '"', '\'', ' ']).len();
        boundary = m.end() + closing;
        if email.is_empty() || out.iter().any(|p| p.email.as_str().eq_ignore_ascii_case(email)) {
            continue;
        }
        if let Ok(person) = Person::parse(&display_name(before, email), email) {
            out.push(person);
        }
    }
    out
}

/// The display name in the text before an address: on the same line,
/// after the last field colon or separator, without the bracket that opens
/// the address.
fn display_name(before: &str, email: &str) -> String {
    let line = before.rsplit('\n').next().unwrap_or_default();
    let line = line.trim_end();
    let line = line.strip_suffix("mailto:").unwrap_or(line).trim_end();
    let line = line.strip_suffix(['<', '[', '(']).unwrap_or(line);
    // "From: Name" or "12:46, Name": the name is after the last colon or
    // semicolon that is not inside quotes.
    let name = after_last_unquoted(line, &[':', '：', ';', '>', ']']);
    let name = clean_name(name);
    let name = if name.split_whitespace().count() <= 5 { name } else { String::new() };
    if name.eq_ignore_ascii_case(email) || name.contains('@') { String::new() } else { name }
}

/// The text after the last of `cuts` that is outside quotes.
fn after_last_unquoted<'a>(text: &'a str, cuts: &[char]) -> &'a str {
    let mut open: Option<char> = None;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match open {
            Some(close) if c == close => open = None,
            Some(_) => {}
            None => {
                if let Some(close) = closing_quote(c) {
                    open = Some(close);
                } else if cuts.contains(&c) {
                    start = i + c.len_utf8();
                }
            }
        }
    }
    &text[start..]
}

/// The quote that closes `open`, when `open` opens a quote.
fn closing_quote(open: char) -> Option<char> {
    Some(match open {
        '"' => '"',
        '«' => '»',
        '„' => '”',
        '“' => '”',
        '‘' => '’',
        '‚' => '’',
        '「' => '」',
        '『' => '』',
        '‹' => '›',
        '»' => '«',
        _ => return None,
    })
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\'' | '«' | '»' | '„' | '“' | '”' | '‘' | '’' | '‚' | '「' | '」' | '『' | '』' | '‹' | '›')
}

/// A display name as a person would write it: the last quoted span when
/// there is one, else the words after the last date or time fragment;
/// quotes, brackets, commas and spaces around it removed.
pub(crate) fn clean_name(raw: &str) -> String {
    let raw = raw.trim();
    let name = match last_quoted(raw) {
        Some(quoted) => quoted,
        None => after_date_fragment(raw),
    };
    let name =
        name.trim_matches(|c: char| is_quote(c) || c.is_whitespace() || matches!(c, ',' | ';' | ':' | '(' | ')'));
    // Doubly quoted names ("'Walter Sheltan'") lose both quotes.
    let name = name.trim_matches(|c: char| is_quote(c) || c.is_whitespace());
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The contents of the last quoted span (any quote style) in `text`.
fn last_quoted(text: &str) -> Option<&str> {
    let mut found = None;
    let mut open: Option<(usize, char)> = None;
    for (i, c) in text.char_indices() {
        match open {
            Some((start, close)) if c == close => {
                let inner = text[start..i].trim();
                if inner.chars().any(char::is_alphanumeric) {
                    found = Some(inner);
                }
                open = None;
            }
            Some(_) => {}
            None => {
                if let Some(close) = closing_quote(c) {
                    open = Some((i + c.len_utf8(), close));
                } else if c == '\'' && text[..i].chars().next_back().is_none_or(|p| !p.is_alphanumeric()) {
                    // An apostrophe inside a word (O'Brien) opens nothing.
                    open = Some((i + 1, '\''));
                }
            }
        }
    }
    found
}

/// The words after the last one that holds a digit: what follows a date or
/// a time ("Wed, Oct 27, 2021 at 9:31 AM John Doe" is "John Doe"), with
/// the time-of-day marker after it dropped. Text without digits is kept.
fn after_date_fragment(text: &str) -> &str {
    let mut start = 0;
    let mut after_digit = false;
    for (i, word) in word_spans(text) {
        if word.chars().any(|c| c.is_ascii_digit()) {
            start = i + word.len();
            after_digit = true;
        } else if after_digit && is_day_marker(word) {
            start = i + word.len();
        } else {
            after_digit = false;
        }
    }
    let rest = &text[start..];
    if rest.trim_matches(|c: char| !c.is_alphabetic()).is_empty() { text } else { rest }
}

fn is_day_marker(word: &str) -> bool {
    let word = word.trim_matches(|c: char| matches!(c, ',' | '.'));
    matches!(word.to_ascii_lowercase().as_str(), "am" | "pm" | "a.m" | "p.m" | "uhr" | "h" | "hs" | "godz" | "klo")
        || matches!(word, "г" | "р")
}

fn word_spans(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_whitespace().map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> (String, String) {
        let p = addresses(text).into_iter().next().expect("an address");
        (p.name, p.email.to_string())
    }

    #[test]
    fn names_in_any_quote_style() {
        for text in [
            "John Doe <john.doe@acme.com>",
            "\"John Doe\" <john.doe@acme.com>",
            "'John Doe' <john.doe@acme.com>",
            "\"'John Doe'\" <john.doe@acme.com>",
            "« John Doe » <john.doe@acme.com>",
            "„John Doe” <john.doe@acme.com>",
            "“John Doe” <john.doe@acme.com>",
            "「John Doe」 <john.doe@acme.com>",
            "John Doe [mailto:john.doe@acme.com]",
            "John Doe (john.doe@acme.com)",
            "From: John Doe <john.doe@acme.com>",
            "28.10.2021 o 12:46 użytkownik „John Doe” <john.doe@acme.com> napisał:",
            "Wed, Oct 27, 2021 at 9:31 AM John Doe <john.doe@acme.com>",
            "John Doe <john.doe@acme.com<mailto:john.doe@acme.com>>",
        ] {
            assert_eq!(one(text), ("John Doe".into(), "john.doe@acme.com".into()), "{text}");
        }
    }

    #[test]
    fn lists_and_bare_addresses() {
        let got =
            addresses("Walter Sheltan <w@acme.com>, Nicholas <n@globex.corp>; bare@x.org, \"Doe, John\" <j@x.org>");
        let got: Vec<(&str, &str)> = got.iter().map(|p| (p.name.as_str(), p.email.as_str())).collect();
        assert_eq!(
            got,
            [
                ("Walter Sheltan", "w@acme.com"),
                ("Nicholas", "n@globex.corp"),
                ("", "bare@x.org"),
                ("Doe, John", "j@x.org")
            ]
        );
        assert_eq!(one("\"b@acme.com\" <b@acme.com>"), (String::new(), "b@acme.com".into()));
        assert_eq!(one("O'Brien <ob@x.org>"), ("O'Brien".into(), "ob@x.org".into()));
        assert!(addresses("no address here").is_empty());
        // A candidate the address parser rejects is none.
        assert!(addresses("a..b@example.org").is_empty());
    }
}
