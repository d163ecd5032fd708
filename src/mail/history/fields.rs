//! Header fields of a quoted or forwarded original, read structurally.
//!
//! A header block is a run of `Name: value` lines. The name is a short
//! phrase in any script (`From`, `Kopie (CC)`, `Від кого`, `差出人`,
//! `보낸 사람`), optionally in bold (`*From:*`), followed by an ASCII or
//! full-width colon, maybe with space or a tab around it. A run of at least
//! two such lines is a block when it has a known field name (from the
//! vocabulary table) and another known name or an address, or, with no
//! known name at all, an address and a date among three or more lines.
//! Fields whose names the table lacks are told apart by their values: the
//! first address is the author, later ones the recipients, a value with a
//! date or time in it the date, and what is left the subject.
//!
//! Some clients run the fields together on one line
//! (`Od: a <a@b.cz>Komu: …Předmět: …`); those are split at every known
//! field name followed by a colon.

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use super::{address, locales, lower_same_len, unquote};

/// A header field of an original.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Field {
    /// The author.
    From,
    /// The recipients.
    To,
    /// The copied recipients.
    Cc,
    /// Where replies go; read so that it is not taken for a recipient.
    ReplyTo,
    /// The subject.
    Subject,
    /// When it was written or sent.
    Date,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 6] = [Field::From, Field::To, Field::Cc, Field::ReplyTo, Field::Subject, Field::Date];

    /// The field a key of the table's `order` column names.
    pub(crate) fn from_key(key: &str) -> Option<Field> {
        Some(match key {
            "from" => Field::From,
            "to" => Field::To,
            "cc" => Field::Cc,
            "reply_to" => Field::ReplyTo,
            "subject" => Field::Subject,
            "date" => Field::Date,
            _ => return None,
        })
    }
}

/// Every field name of the table, lowercased, with the fields it means,
/// the one most rows give first. A name two locales give different fields
/// (Breton `Da` is To, Italian `Da` From) means the first of them that a
/// block has not used yet (see [`read_block`]).
static NAMES: LazyLock<HashMap<String, Vec<Field>>> = LazyLock::new(|| {
    let mut votes: HashMap<String, HashMap<Field, usize>> = HashMap::new();
    for row in locales() {
        for field in Field::ALL {
            for name in row.names(field) {
                *votes.entry(lower_same_len(name.trim())).or_default().entry(field).or_default() += 1;
            }
        }
    }
    // Names every client writes in some form, whatever the table says.
    for (name, field) in
        [("bcc", Field::Cc), ("sent", Field::Date), ("date", Field::Date), ("reply-to", Field::ReplyTo)]
    {
        votes.entry(name.to_owned()).or_default().entry(field).or_insert(1);
    }
    votes
        .into_iter()
        .map(|(name, fields)| {
            let mut fields: Vec<(Field, usize)> = fields.into_iter().collect();
            fields.sort_by_key(|(f, n)| (std::cmp::Reverse(*n), *f as u8));
            (name, fields.into_iter().map(|(f, _)| f).collect())
        })
        .collect()
});

/// The fields a name may mean, most likely first.
fn meanings(name: &str) -> &'static [Field] {
    let name = name.trim().trim_matches('*').trim();
    if name.is_empty() || name.len() > NAME_MAX_BYTES {
        return &[];
    }
    NAMES.get(&lower_same_len(name)).map_or(&[], Vec::as_slice)
}

/// Which field a name is, if the table knows it.
pub(crate) fn field_of(name: &str) -> Option<Field> {
    meanings(name).first().copied()
}

/// The longest field name, in characters.
const NAME_MAX_CHARS: usize = 30;
const NAME_MAX_BYTES: usize = NAME_MAX_CHARS * 4;

/// A line shaped like a header field, `Name: value`: its name and value.
/// Leading space, a bold marker around the name (`*From:*`), space or a
/// tab on either side of the colon (ASCII or full-width) are allowed. The
/// name is one to four words of letters (hyphens, dots, brackets and
/// apostrophes inside), starting with a letter. Read by hand, not by a
/// pattern: it runs on every line of every mail.
pub(crate) fn field_line(line: &str) -> Option<(&str, &str)> {
    let text = line.trim_start();
    let text = text.strip_prefix('*').unwrap_or(text);
    let colon = text.find([':', '：'])?;
    let name = text[..colon].trim_end();
    let name = name.strip_suffix('*').unwrap_or(name).trim_end();
    if !is_field_name(name) {
        return None;
    }
    let colon_len = text[colon..].chars().next().map_or(1, char::len_utf8);
    let value = &text[colon + colon_len..];
    // `http://…` and `mailto:…` are not fields.
    if value.starts_with("//") {
        return None;
    }
    let value = value.strip_prefix('*').unwrap_or(value);
    Some((name, value.trim_start_matches([' ', '\t', '\u{a0}', '*'])))
}

fn is_field_name(name: &str) -> bool {
    let mut chars = 0;
    for c in name.chars() {
        chars += 1;
        if chars > NAME_MAX_CHARS
            || !(c.is_alphabetic()
                || c == ' '
                || c == '\u{a0}'
                || c == '\u{200f}'
                || matches!(c, '-' | '.' | '(' | ')' | '\'' | '/' | '‘' | '’' | 'ʻ' | 'ʼ')
                || is_mark(c))
        {
            return false;
        }
    }
    name.chars().next().is_some_and(char::is_alphabetic) && name.split_whitespace().count() <= 4
}

/// Combining marks (Devanagari, Thai, Arabic vowel signs…), which
/// `char::is_alphabetic` does not always count as letters.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05C7 | 0x0610..=0x061A | 0x064B..=0x065F
        | 0x0900..=0x0DFF | 0x0E31..=0x0E4E | 0x0EB1..=0x0ECD | 0x200C | 0x200D)
}

/// A line with a known field name: the field and the value.
pub(crate) fn known_field(line: &str) -> Option<(Field, &str)> {
    let (name, value) = field_line(line)?;
    Some((field_of(name)?, value))
}

/// A header block read from the start of some lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Block {
    /// The fields in the order written; values trimmed, a field's
    /// continuation lines joined to it.
    pub(crate) fields: Vec<(Field, String)>,
    /// How many lines the block took, blank lines before it included.
    pub(crate) lines: usize,
}

impl Block {
    /// The first value of `field`.
    pub(crate) fn get(&self, field: Field) -> Option<&str> {
        self.fields.iter().find(|(f, _)| *f == field).map(|(_, v)| v.as_str())
    }
}

/// One line of a block before the fields are told apart.
struct Raw {
    field: Option<Field>,
    value: String,
}

/// Reads a header block at the start of `lines` (after up to two blank
/// lines), each line `>`-quoted at least `depth` deep; `None` when the
/// lines there are not one (see the module docs).
pub(crate) fn read_block(lines: &[&str], depth: usize) -> Option<Block> {
    let mut i = 0;
    while i < lines.len() && i < 2 && unquote(lines[i]).1.trim().is_empty() {
        i += 1;
    }
    let first = lines.get(i).map(|l| unquote(l))?;
    if first.0 < depth {
        return None;
    }
    // Fields run together on one line: three of them take three colons
    // that close a name (most lines with a colon have one, or a time, and
    // are not looked up).
    if name_colons(first.1) >= 3 {
        let run = split_run_together(first.1);
        if run.len() >= 3 {
            return Some(Block { fields: run, lines: i + 1 });
        }
    }
    // A block has two lines at least: a field line, then another, or the
    // first one's value going on (indented, or more addresses). Most lines
    // with a colon are alone, and are turned away here.
    field_line(first.1)?;
    let second = lines.get(i + 1).map_or("", |l| unquote(l).1);
    if second.trim().is_empty()
        || !(second.starts_with([' ', '\t']) || second.contains('@') || field_line(second).is_some())
    {
        return None;
    }
    let mut raws: Vec<Raw> = Vec::new();
    while let Some(line) = lines.get(i) {
        let text = unquote(line).1;
        if text.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = field_line(text) {
            let meanings = meanings(name);
            let free = meanings.iter().find(|f| !raws.iter().any(|r| r.field == Some(**f)));
            raws.push(Raw { field: free.or(meanings.first()).copied(), value: value.trim().to_owned() });
        } else if let Some(last) = raws.last_mut()
            && (text.starts_with([' ', '\t']) || (text.contains('@') && last.field != Some(Field::Subject)))
        {
            // A value wrapped onto the next line, or more recipients.
            last.value.push(' ');
            last.value.push_str(text.trim());
        } else {
            break;
        }
        i += 1;
    }
    let known = raws.iter().filter(|r| r.field.is_some()).count();
    let addressed = raws.iter().filter(|r| address::has_address(&r.value)).count();
    let dated = raws.iter().any(|r| r.field.is_none() && looks_like_date(&r.value));
    let is_block = raws.len() >= 2
        && (known >= 2 || (known == 1 && addressed >= 1) || (known == 0 && addressed >= 1 && dated && raws.len() >= 3));
    if !is_block {
        return None;
    }
    Some(Block { fields: resolve(raws), lines: i })
}

/// Tells apart the fields whose names the table lacks, by their values.
fn resolve(raws: Vec<Raw>) -> Vec<(Field, String)> {
    let has = |raws: &[Raw], f: Field| raws.iter().any(|r| r.field == Some(f));
    let mut raws = raws;
    for k in 0..raws.len() {
        if raws[k].field.is_some() {
            continue;
        }
        let value = &raws[k].value;
        let guess = if address::has_address(value) {
            [Field::From, Field::To, Field::Cc].into_iter().find(|f| !has(&raws, *f))
        } else if looks_like_date(value) && !has(&raws, Field::Date) {
            Some(Field::Date)
        } else {
            None
        };
        raws[k].field = guess;
    }
    // What is left, a subject: the longest value that is not an address or a date.
    if !has(&raws, Field::Subject)
        && let Some(k) = (0..raws.len()).filter(|k| raws[*k].field.is_none()).max_by_key(|k| raws[*k].value.len())
    {
        raws[k].field = Some(Field::Subject);
    }
    raws.into_iter().filter_map(|r| Some((r.field?, r.value))).collect()
}

/// Whether a value reads as a date or a time: digits with a time (`9:31`,
/// `12.46`), a year, or the date characters of CJK scripts.
fn looks_like_date(value: &str) -> bool {
    if value.contains(['年', '月', '日', '년', '월', '일']) && value.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    let bytes = value.as_bytes();
    let time = bytes.windows(4).any(|w| {
        w[0].is_ascii_digit() && matches!(w[1], b':' | b'.') && w[2].is_ascii_digit() && w[3].is_ascii_digit()
    });
    let year = value
        .split(|c: char| !c.is_ascii_digit())
        .any(|d| d.len() == 4 && (d.starts_with("19") || d.starts_with("20")));
    time || year
}

/// How many colons in `text` may close a field name: those after a
/// character that is neither white space nor an ASCII digit, since no
/// name of the table ends with one (see the tests). A run of fields
/// ([`split_run_together`]) has a colon like that after each name.
fn name_colons(text: &str) -> usize {
    let mut count = 0;
    let mut before = None;
    for c in text.chars() {
        if matches!(c, ':' | '：') && before.is_some_and(|b: char| !b.is_whitespace() && !b.is_ascii_digit()) {
            count += 1;
        }
        before = Some(c);
    }
    count
}

/// Fields a client ran together on one line (`Od: …>Komu: …Předmět: …`):
/// split at every known field name followed by a colon.
pub(crate) fn split_run_together(line: &str) -> Vec<(Field, String)> {
    // Every field name followed by a colon (ASCII or full-width),
    // lowercased, in one automaton.
    static AUTOMATON: LazyLock<(AhoCorasick, Vec<(Field, usize)>)> = LazyLock::new(|| {
        let all: Vec<(Field, String)> = NAMES
            .iter()
            .filter_map(|(name, fields)| Some((name, *fields.first()?)))
            .flat_map(|(name, field)| [(field, format!("{name}:")), (field, format!("{name}："))])
            .collect();
        // Built as a plain NFA: it reads the few lines with three name
        // colons, and a DFA of a thousand names takes longer to build than
        // those take to read.
        let automaton = AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
            .build(all.iter().map(|(_, p)| p))
            .expect("static patterns");
        let fields = all.iter().map(|(f, p)| (*f, p.chars().count() - 1)).collect();
        (automaton, fields)
    });
    // Running together takes at least two fields, so at least two colons.
    if line.chars().filter(|c| matches!(c, ':' | '：')).count() < 2 {
        return Vec::new();
    }
    let lower = lower_same_len(line);
    let (automaton, fields) = &*AUTOMATON;
    // All matches, overlapping ones included; the longest name wins where
    // two overlap ("bcc:" over "cc:").
    let mut found: Vec<(usize, usize, Field, usize)> = automaton
        .find_overlapping_iter(&lower)
        .map(|m| {
            let (field, name_chars) = fields[m.pattern().as_usize()];
            (m.start(), m.end(), field, name_chars)
        })
        .collect();
    found.sort_by_key(|&(start, end, _, _)| (std::cmp::Reverse(end - start), start));
    let mut marks: Vec<(usize, usize, Field)> = Vec::new();
    for (at, end, field, name_chars) in found {
        let before = lower[..at].chars().next_back();
        // Long names may be glued to the value before them ("GMT+1Subject:");
        // short ones must not be ("mailto:" is not "to:").
        let glued_to_word = name_chars <= 3 && before.is_some_and(char::is_alphanumeric);
        // A one-letter name ("A:") only right after an address or a space.
        let loose = name_chars == 1 && !before.is_none_or(|c| c == '>' || c.is_whitespace());
        let overlaps = marks.iter().any(|(s, e, _)| at < *e && end > *s);
        if !glued_to_word && !loose && !overlaps {
            marks.push((at, end, field));
        }
    }
    marks.sort_by_key(|m| m.0);
    let mut out = Vec::new();
    for (k, (_, end, field)) in marks.iter().enumerate() {
        let next = marks.get(k + 1).map_or(line.len(), |m| m.0);
        out.push((*field, line[*end..next].trim().to_owned()));
    }
    out
}

/// Whether a block of header fields (see [`read_block`]) starts at line
/// `i`: the quoted header of an earlier message.
pub(crate) fn block_starts(lines: &[&str], i: usize) -> bool {
    // Most lines have no colon: turn them away before anything else.
    let Some(line) = lines.get(i) else { return false };
    if !line.contains([':', '：']) {
        return false;
    }
    read_block(&lines[i..], 0).is_some_and(|b| b.lines > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<(Field, String)> {
        let lines: Vec<&str> = text.lines().collect();
        read_block(&lines, 0).map(|b| b.fields).unwrap_or_default()
    }

    #[test]
    fn run_together_fields_are_split() {
        let line = "Od: John Doe <john.doe@acme.com>Komu: \"b@acme.com\" <b@acme.com>Datum: 2. listopadu 2021 09:26:50 SEČPředmět: Integer";
        let fields: Vec<Field> = split_run_together(line).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, [Field::From, Field::To, Field::Date, Field::Subject]);
    }

    #[test]
    fn field_lines_in_the_clients_punctuation() {
        assert_eq!(field_line("Betreff: \tInteger"), Some(("Betreff", "Integer")));
        assert_eq!(field_line("Subject\t: Integer"), Some(("Subject", "Integer")));
        assert_eq!(field_line("De : John"), Some(("De", "John")));
        assert_eq!(field_line("件名：Integer"), Some(("件名", "Integer")));
        assert_eq!(field_line("*From:* John"), Some(("From", "John")));
        assert_eq!(field_line("Kopie (CC): \tW"), Some(("Kopie (CC)", "W")));
        assert_eq!(field_line("https://example.com"), None);
        assert_eq!(field_line("At 12:30 we meet"), None);
        assert_eq!(field_line("This is a long sentence: with a colon"), None);
    }

    #[test]
    fn blocks_in_scripts_the_table_has_not_seen() {
        // Names the table lacks: the address is the author, the date a date,
        // the rest the subject.
        let got = fields("Ilgalo: Alice <alice@example.org>\nEkanto: 23.11.2026 09:00\nMeppa: Intro: Alice <> Bob");
        assert_eq!(
            got,
            [
                (Field::From, "Alice <alice@example.org>".into()),
                (Field::Date, "23.11.2026 09:00".into()),
                (Field::Subject, "Intro: Alice <> Bob".into())
            ]
        );
        // Known names in any order, any script, full-width colons.
        let got = fields("件名：Intro\n差出人：Alice <alice@example.org>\n送信日時：2026年11月23日 9:00");
        assert_eq!(got[0].0, Field::Subject);
        assert_eq!(got[1].0, Field::From);
        assert_eq!(got[2].0, Field::Date);
        // A note with colons is not a block.
        assert!(fields("Note: call me\nTime: tomorrow").is_empty());
        assert!(fields("Name: Alice\nEmail: alice@example.org").is_empty());
    }

    /// The cheap count that decides whether a line is split at all
    /// (`name_colons`) holds for every name: none ends with white space
    /// or a digit, and a run of three of them counts three.
    #[test]
    fn every_name_ends_like_a_name() {
        for name in NAMES.keys() {
            let last = name.chars().next_back().expect("no empty name");
            assert!(!last.is_whitespace() && !last.is_ascii_digit(), "{name:?}");
            assert_eq!(name_colons(&format!("{name}: a{name}：b {name}:c")), 3, "{name:?}");
        }
        assert_eq!(name_colons("at 12:30:45, see: x"), 1);
        let line = "Od: John Doe <john.doe@acme.com>Komu: \"b@acme.com\" <b@acme.com>Datum: 2. listopadu 2021 09:26:50 SEČPředmět: Integer";
        assert!(name_colons(line) >= 3 && split_run_together(line).len() == 4);
    }

    /// Names that mean different fields in different locales: the majority
    /// wins (see [`NAMES`]); any other such name needs a look.
    const SHARED_NAMES: &[&str] = &["da"];

    #[test]
    fn the_names_of_the_table_mean_one_field_each() {
        let mut seen: HashMap<String, (Field, String)> = HashMap::new();
        let mut conflicts = Vec::new();
        for row in locales() {
            for field in Field::ALL {
                for name in row.names(field) {
                    let key = lower_same_len(name.trim());
                    let here = format!("{} {}", row.client, row.locale);
                    match seen.get(&key) {
                        Some((f, there)) if *f != field && !SHARED_NAMES.contains(&key.as_str()) => {
                            conflicts.push(format!("{name}: {f:?} in {there}, {field:?} in {here}"))
                        }
                        Some(_) => {}
                        None => {
                            seen.insert(key, (field, here));
                        }
                    }
                }
            }
        }
        assert!(conflicts.is_empty(), "{conflicts:#?}");
        // Italian From, and Breton To when a From came before it.
        assert_eq!(field_of("Da"), Some(Field::From));
        let breton = fields("A-berzh: Alice <alice@example.org>\nDa: Carol <carol@example.com>");
        assert_eq!(breton.iter().map(|(f, _)| *f).collect::<Vec<_>>(), [Field::From, Field::To]);
    }
}
