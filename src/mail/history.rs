//! The vocabulary of quoted history: how mail clients mark the original
//! under a forward or a reply, in every locale they ship. Shared by
//! [`super::forward`] (which reads the original out) and [`super::reply`]
//! (which cuts it off); neither defines words of its own.
//!
//! The words are data: `history/locales.tsv` has one row per client ×
//! locale (Gmail, Outlook in its variants, Apple Mail, Thunderbird, Yahoo,
//! HubSpot and a few more), taken from the clients' public localisation
//! sources or from public parsers that record what the clients write
//! (`history/SOURCES.md`). From those rows this module builds:
//! - [`fields`]: header field names (From/To/Cc/Reply-To/Subject/Date/Sent)
//!   and the structural reading of a header block — a run of `Name: value`
//!   lines in any order, any script and any of the clients' punctuation
//!   (full-width colon, tab after the name, space before the colon, bold
//!   markers), recognised by its shape plus a known name or an address;
//! - [`attribution`]: the lines above a quoted original (`On … wrote:`,
//!   `Am … schrieb …:`, `Op … heeft … geschreven:`), matched as templates
//!   with the author and date as slots;
//! - separators ([`separator`]): words between dashes in any language, rules
//!   of underscores, and the clients' own separator and intro lines
//!   (`Begin forwarded message:`, `-----Original Message-----`);
//! - forward subject prefixes ([`is_forward_subject`]).
//!
//! Beside the table: [`address`] (the one address finder, and clean display
//! names in any quote style) and [`footer`] (mobile footers, disclaimers).
//!
//! Pure and total: no input makes anything here panic, and the table is
//! parsed once, on first use.

pub mod address;
pub mod attribution;
pub mod fields;
pub(crate) mod footer;

use std::collections::HashSet;
use std::sync::LazyLock;

pub use address::addresses;
pub use fields::Field;

/// The vocabulary table, as shipped.
const LOCALES_TSV: &str = include_str!("history/locales.tsv");

/// One row of the vocabulary: how one client writes quoted history in one
/// locale. Cells the client has no word for (or the source does not give)
/// are empty lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locale {
    /// The client (`gmail`, `outlook`, `apple_mail`, `thunderbird`, …).
    pub client: &'static str,
    /// The UI language.
    pub locale: &'static str,
    /// Lines the client writes above a forwarded original.
    pub forward: Vec<&'static str>,
    /// Lines the client writes above a quoted original in a reply.
    pub original: Vec<&'static str>,
    /// Field names, by field.
    pub from: Vec<&'static str>,
    /// `To` field names.
    pub to: Vec<&'static str>,
    /// `Cc` field names.
    pub cc: Vec<&'static str>,
    /// `Reply-To` field names.
    pub reply_to: Vec<&'static str>,
    /// `Subject` field names.
    pub subject: Vec<&'static str>,
    /// `Date` (or `Sent`) field names.
    pub date: Vec<&'static str>,
    /// Attribution templates with `{author}`, `{date}` and `{time}` slots.
    pub attribution: Vec<&'static str>,
    /// How the client writes the author in an attribution: `{name}` and
    /// `{address}` with the quotes and brackets around them.
    pub author: &'static str,
    /// The order in which the client writes the fields.
    pub order: Vec<Field>,
    /// What the client writes between a field name and its value.
    pub colon: String,
    /// Subject prefixes the client puts on a forward (`Fwd`, `WG`, `TR`).
    pub prefix: Vec<&'static str>,
    /// Where the row's words come from.
    pub source: &'static str,
}

impl Locale {
    /// The names this row gives `field`.
    pub fn names(&self, field: Field) -> &[&'static str] {
        match field {
            Field::From => &self.from,
            Field::To => &self.to,
            Field::Cc => &self.cc,
            Field::ReplyTo => &self.reply_to,
            Field::Subject => &self.subject,
            Field::Date => &self.date,
        }
    }
}

/// Every row of the vocabulary table.
pub fn locales() -> &'static [Locale] {
    static ROWS: LazyLock<Vec<Locale>> = LazyLock::new(|| parse_table(LOCALES_TSV));
    &ROWS
}

fn parse_table(tsv: &'static str) -> Vec<Locale> {
    let list = |cell: &'static str| -> Vec<&'static str> {
        cell.split('|').map(str::trim).filter(|s| !s.is_empty()).collect()
    };
    tsv.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|line| {
            let c: Vec<&'static str> = line.split('\t').collect();
            // A malformed row is skipped here and reported by the table's
            // own test, never a panic at run time.
            let [
                client,
                locale,
                forward,
                original,
                from,
                to,
                cc,
                reply_to,
                subject,
                date,
                attribution,
                author,
                order,
                colon,
                prefix,
                source,
            ] = c.as_slice()
            else {
                return None;
            };
            Some(Locale {
                client,
                locale,
                forward: list(forward),
                original: list(original),
                from: list(from),
                to: list(to),
                cc: list(cc),
                reply_to: list(reply_to),
                subject: list(subject),
                date: list(date),
                attribution: list(attribution),
                author,
                order: order.split_whitespace().filter_map(Field::from_key).collect(),
                colon: colon.replace("\\t", "\t"),
                prefix: list(prefix),
                source,
            })
        })
        .collect()
}

/// Lowercases without changing byte offsets: a character whose lowercase
/// has another UTF-8 length (`İ`) is kept as it is, so positions found in
/// the result are positions in the input.
pub(crate) fn lower_same_len(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) if l.len_utf8() == c.len_utf8() => out.push(l),
            _ => out.push(c),
        }
    }
    out
}

/// Strips `>` quoting: (depth, rest of the line).
pub(crate) fn unquote(line: &str) -> (usize, &str) {
    let mut depth = 0;
    let mut rest = line;
    loop {
        let t = rest.trim_start();
        match t.strip_prefix('>') {
            Some(r) => {
                depth += 1;
                rest = r.strip_prefix(' ').unwrap_or(r);
            }
            None => return (depth, rest),
        }
    }
}

/// `text` without byte-order marks (U+FEFF), which some clients leave at
/// the start of a body or of a quoted part.
pub(crate) fn without_bom(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\u{feff}') { text.replace('\u{feff}', "").into() } else { text.into() }
}

/// What kind of line separates the new text from the original.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Separator {
    /// Words between runs of dashes or equals signs, in any language
    /// (`---------- Forwarded message ---------`, `-----Original Message-----`).
    Dashed,
    /// A rule of underscores (Outlook).
    Rule,
    /// A client's own separator or intro line without dashes
    /// (`Begin forwarded message:`, `Forwarded message:`).
    Phrase,
}

/// The longest separator, in bytes, dashes and words included.
pub(crate) const SEPARATOR_MAX: usize = 160;

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '=' | '\u{2010}'..='\u{2015}')
}

/// Whether `line` separates new text from an original (see [`Separator`]).
pub(crate) fn separator(line: &str) -> Option<Separator> {
    let t = line.trim();
    if t.is_empty() || t.len() > SEPARATOR_MAX {
        return None;
    }
    if t.len() >= 8 && t.bytes().all(|b| b == b'_') {
        return Some(Separator::Rule);
    }
    // Words between runs of dashes, more dashes among the words allowed
    // ("-------- Preposlaná správa --- Forwarded Message --------").
    let opening = t.chars().take_while(|c| is_dash(*c)).count();
    let closing = t.chars().rev().take_while(|c| is_dash(*c)).count();
    if opening >= 3 && closing >= 3 && t.chars().any(char::is_alphabetic) {
        return Some(Separator::Dashed);
    }
    // A client's intro line ends with a colon ("Begin forwarded message:");
    // only such lines are looked up.
    let phrase = t.trim_matches(|c: char| c == '*' || c.is_whitespace());
    let phrase = phrase.strip_suffix([':', '：'])?;
    let phrase = phrase.trim_end();
    let vocabulary = vocabulary();
    if phrase.chars().count() >= 4
        && phrase.len() <= vocabulary.longest_phrase
        && vocabulary.phrases.contains(&lower_same_len(phrase))
    {
        return Some(Separator::Phrase);
    }
    None
}

/// A line that opens with a run of three or more dashes, has words, and
/// another run of three or more dashes after them: the words, and what
/// follows the second run (`----- Forwarded Message ----- From: …`).
pub(crate) fn dashed_words(line: &str) -> Option<(&str, &str)> {
    let t = line.trim_start();
    let opening = t.chars().take_while(|c| is_dash(*c)).count();
    if opening < 3 {
        return None;
    }
    let after_open = &t[t.char_indices().nth(opening).map_or(t.len(), |(i, _)| i)..];
    // The closing run: the first run of three dashes after some words.
    let mut run_start = None;
    let mut run = 0;
    for (i, c) in after_open.char_indices() {
        if is_dash(c) {
            if run == 0 {
                run_start = Some(i);
            }
            run += 1;
            if run >= 3 {
                break;
            }
        } else {
            run = 0;
            run_start = None;
        }
    }
    let start = run_start.filter(|_| run >= 3)?;
    let words = after_open[..start].trim();
    if !words.chars().any(char::is_alphabetic) || words.contains(':') {
        return None;
    }
    let rest = after_open[start..].trim_start_matches(is_dash);
    Some((words, rest))
}

/// Whether a subject says the mail is a forward (`Fwd:`, `FW:`, `WG:`,
/// `TR:`, `RV:`, `İLT:` …), after any number of such prefixes.
pub(crate) fn is_forward_subject(subject: &str) -> bool {
    forward_prefix_len(subject).is_some()
}

/// `subject` without its forward prefix (`Fwd: Hello` → `Hello`).
pub(crate) fn without_forward_prefix(subject: &str) -> &str {
    match forward_prefix_len(subject) {
        Some(n) => subject[n..].trim(),
        None => subject.trim(),
    }
}

fn forward_prefix_len(subject: &str) -> Option<usize> {
    let start = subject.len() - subject.trim_start().len();
    let rest = &subject[start..];
    let colon = rest.find([':', '：'])?;
    let word = rest[..colon].trim_end();
    if word.is_empty() || word.chars().count() > 12 {
        return None;
    }
    vocabulary().prefixes.contains(&lower_same_len(word)).then(|| {
        let colon_len = rest[colon..].chars().next().map_or(1, char::len_utf8);
        start + colon + colon_len
    })
}

/// What the table says, indexed for the questions asked on every line.
struct Vocabulary {
    /// Separator and intro lines without their dashes, colons and bold
    /// markers, lowercased.
    phrases: HashSet<String>,
    /// The longest of them, in bytes.
    longest_phrase: usize,
    /// Forward subject prefixes, lowercased, without the colon.
    prefixes: HashSet<String>,
}

fn vocabulary() -> &'static Vocabulary {
    static VOCABULARY: LazyLock<Vocabulary> = LazyLock::new(|| {
        let mut phrases = HashSet::new();
        let mut prefixes: HashSet<String> = HashSet::new();
        for row in locales() {
            for line in row.forward.iter().chain(&row.original) {
                let words = line.trim().trim_matches(|c: char| is_dash(c) || c == '_' || c == '>' || c.is_whitespace());
                let words = words.trim_end_matches([':', '：']).trim();
                if !words.is_empty() {
                    phrases.insert(lower_same_len(words));
                }
            }
            prefixes.extend(row.prefix.iter().map(|p| lower_same_len(p.trim_end_matches([':', '：']))));
        }
        let longest_phrase = phrases.iter().map(String::len).max().unwrap_or(0);
        Vocabulary { phrases, longest_phrase, prefixes }
    });
    &VOCABULARY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table_is_well_formed() {
        let rows = LOCALES_TSV.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).count();
        assert_eq!(locales().len(), rows, "a row without all sixteen cells");
        for row in locales() {
            let what = format!("{} {}", row.client, row.locale);
            assert!(!row.source.trim().is_empty(), "{what}: no source");
            assert!(
                !row.forward.is_empty() || !row.attribution.is_empty() || !row.from.is_empty(),
                "{what}: neither a separator, an attribution nor field names"
            );
            for template in &row.attribution {
                assert!(template.contains("{author}"), "{what}: attribution without an author: {template}");
            }
            if !row.attribution.is_empty() {
                assert!(row.author.contains("{name}"), "{what}: attributions without the author's format");
            }
            if !row.from.is_empty() {
                assert!(!row.order.is_empty() && !row.colon.is_empty(), "{what}: fields without an order or colon");
            }
        }
    }

    #[test]
    fn separators_in_any_language() {
        assert_eq!(separator("---------- Forwarded message ---------"), Some(Separator::Dashed));
        assert_eq!(separator("-------- Preposlaná správa --- Forwarded Message --------"), Some(Separator::Dashed));
        assert_eq!(separator("‐‐‐‐‐‐‐ Forwarded Message ‐‐‐‐‐‐‐"), Some(Separator::Dashed));
        assert_eq!(separator("________________________________"), Some(Separator::Rule));
        assert_eq!(separator("Begin forwarded message:"), Some(Separator::Phrase));
        assert_eq!(separator("Začátek přeposílané zprávy:"), Some(Separator::Phrase));
        assert_eq!(separator("*Anfang der weitergeleiteten Nachricht:*"), Some(Separator::Phrase));
        assert_eq!(separator("-- "), None);
        assert_eq!(separator("---"), None);
        assert_eq!(separator("Begin:"), None);
        assert_eq!(
            dashed_words("----- Weitergeleitete Nachricht ----- Von: A"),
            Some(("Weitergeleitete Nachricht", " Von: A"))
        );
    }

    #[test]
    fn forward_subjects_in_the_clients_languages() {
        for s in ["Fwd: x", "FW: x", "WG: x", "TR : x", "RV: x", "İLT: x", "Redir.: x", "VB: x", "Fwd：x"] {
            assert!(is_forward_subject(s), "{s}");
        }
        for s in ["Re: x", "Intro: Alice <> Bob", "Fwdx: y", ""] {
            assert!(!is_forward_subject(s), "{s}");
        }
        assert_eq!(without_forward_prefix("Fwd: Intro: A <> B"), "Intro: A <> B");
    }

    #[test]
    fn lowercasing_keeps_offsets() {
        assert_eq!(lower_same_len("ÄBC İx"), "äbc İx");
        assert_eq!(without_bom("\u{feff}Hi\u{feff}"), "Hi");
    }
}
